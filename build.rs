//! Lists the lessons' Python files (`src/teaching/python/MODULE.py`) for the
//! registry: it writes `python_file!`, a macro that gives a lesson module's Python
//! file, embedded, or `None` when the lesson has none yet. So a new Python file
//! joins its lesson without another edit.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/teaching/python");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut modules: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter_map(|name| name.strip_suffix(".py").map(str::to_string))
                .filter(|module| {
                    module
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                })
                .collect()
        })
        .unwrap_or_default();
    modules.sort();
    let mut arms = String::new();
    for module in &modules {
        let path = dir.join(format!("{module}.py"));
        writeln!(
            arms,
            "    ({module}) => {{ Some(crate::python::PythonFile {{ \
             path: \"src/teaching/python/{module}.py\", source: include_str!({path:?}) }}) }};"
        )
        .unwrap();
    }
    let code = format!(
        "/// The Python file of a lesson module, if it has one.\n\
         macro_rules! python_file {{\n{arms}    ($other:ident) => {{ None }};\n}}\n"
    );
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("python_files.rs");
    std::fs::write(out, code).unwrap();
}
