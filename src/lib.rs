//! sockstep: learn how TCP really moves bytes, by running real code over loopback.
//!
//! Modules, each importing only from those listed above it:
//! - [`engine`]: real sockets, the relay that cuts the stream, the runner and its trace.
//! - [`python`]: lessons in Python: the interpreter and the shim that traces its calls.
//! - [`lesson`]: the lesson model: a lesson's page, code and run, and what its runs prove.
//! - [`predict`]: predict, then reveal: multiple-choice questions about a finished run.
//! - [`teaching`]: the naive and correct code each lesson runs and shows, and the
//!   registry of lessons (in teaching order, found by slug or number).
//! - [`render`]: the diagram grid of a run and its text and HTML views.
//! - [`challenge`]: challenge mode: the learner's own server attacked over real TCP.
//! - [`progress`]: the student's saved progress.
//! - [`tui`]: the interactive tutorial.
//! - [`book`]: the mdbook preprocessor that puts diagrams of real runs in the book.
//! - [`cli`]: the command line.

pub mod book;
pub mod challenge;
pub mod cli;
pub mod engine;
pub mod lesson;
pub mod predict;
pub mod progress;
pub mod python;
pub mod render;
pub mod teaching;
pub mod tui;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The modules of the list above, lowest floor first.
    const FLOORS: [&str; 11] = [
        "engine",
        "python",
        "lesson",
        "predict",
        "teaching",
        "render",
        "challenge",
        "progress",
        "tui",
        "book",
        "cli",
    ];

    fn src() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    /// The module's file, or every `.rs` file in its folder.
    fn files_of(module: &str) -> Vec<PathBuf> {
        let file = src().join(format!("{module}.rs"));
        if file.exists() {
            return vec![file];
        }
        let mut files = Vec::new();
        let mut dirs = vec![src().join(module)];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        files
    }

    /// The top-level modules a line of code names as `crate::NAME`, comments aside.
    fn crate_paths(line: &str) -> Vec<&str> {
        let code = line.split("//").next().unwrap_or("");
        code.match_indices("crate::")
            .filter(|(at, _)| !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
            .map(|(at, text)| {
                let rest = &code[at + text.len()..];
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .collect()
    }

    #[test]
    fn every_module_imports_only_from_floors_below_it() {
        let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
        for line in lib.lines() {
            if let Some(module) = line.strip_prefix("pub mod ") {
                let module = module.trim_end_matches(';');
                assert!(FLOORS.contains(&module), "lib.rs: {module} has no floor");
            }
        }
        for (floor, module) in FLOORS.iter().enumerate() {
            for file in files_of(module) {
                let text = std::fs::read_to_string(&file).unwrap();
                for (number, line) in text.lines().enumerate() {
                    for used in crate_paths(line) {
                        let below = FLOORS[..=floor].contains(&used);
                        assert!(
                            below,
                            "{}:{}: {module} uses crate::{used}, a floor above it",
                            file.display(),
                            number + 1
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn crate_paths_are_read_from_code_only() {
        assert_eq!(crate_paths("use crate::engine::{Mode, Side};"), ["engine"]);
        assert_eq!(
            crate_paths("let x = crate::teaching::all(); // crate::cli"),
            ["teaching"]
        );
        assert!(crate_paths("/// the registry (`crate::teaching`)").is_empty());
        assert!(crate_paths("let y = mycrate::cli::x;").is_empty());
    }
}
