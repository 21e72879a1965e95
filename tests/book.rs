//! The mdbook preprocessor, spoken to as mdbook speaks to it: the real binary,
//! `supports RENDERER`, then `[context, book]` JSON in and the book JSON out.

use std::io::Write;
use std::process::{Command, Stdio};

use mdbook_preprocessor::PreprocessorContext;
use mdbook_preprocessor::book::{Book, BookItem, Chapter};
use mdbook_preprocessor::config::Config;

fn sockstep() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sockstep"))
}

fn preprocess(pages: &[(&str, &str)]) -> std::process::Output {
    preprocess_in(".".as_ref(), pages)
}

/// As mdbook calls the preprocessor for a book at `root` whose pages are in
/// `root/lessons`; `pages` are their contents as mdbook passes them (includes
/// already expanded).
fn preprocess_in(root: &std::path::Path, pages: &[(&str, &str)]) -> std::process::Output {
    let mut config = Config::default();
    config.book.src = "lessons".into();
    let context = PreprocessorContext::new(root.into(), config, "html".into());
    let mut book = Book::new();
    for (name, content) in pages {
        book.push_item(BookItem::Chapter(Chapter::new(
            name,
            content.to_string(),
            format!("{name}.md"),
            vec![],
        )));
    }
    let input = serde_json::to_vec(&(context, book)).unwrap();
    let mut child = sockstep()
        .arg("mdbook")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn supports_html_only() {
    let status = |renderer: &str| {
        sockstep()
            .args(["mdbook", "supports", renderer])
            .status()
            .unwrap()
            .success()
    };
    assert!(status("html"));
    assert!(status("markdown"));
    assert!(!status("pdf"));
}

#[test]
fn a_block_becomes_the_diagram_of_a_real_run() {
    let output = preprocess(&[
        ("intro", "# Intro\n\nNo blocks here.\n"),
        (
            "length-prefix",
            "# Split prefix\n\n```sockstep\nlength-prefix seed=3\n```\n\nAfter.\n",
        ),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let book: Book = serde_json::from_slice(&output.stdout).unwrap();
    let pages: Vec<&Chapter> = book.chapters().collect();
    assert_eq!(pages[0].content, "# Intro\n\nNo blocks here.\n");
    let page = &pages[1].content;
    assert!(!page.contains("```sockstep"));
    assert!(page.contains("<div class=\"sockstep-run\">"));
    // The cut after the prefix's second digit, and both verdicts.
    assert!(
        page.contains("00</span><span class=\"cut\">┊</span>"),
        "{page}"
    );
    assert!(page.contains(
        "<li class=\"fail\"><span class=\"mark\">✗</span> <strong>naive</strong>: wrong"
    ));
    assert!(page.contains("<li class=\"ok\"><span class=\"mark\">✓</span> <strong>correct</strong>: delivered all 4 messages"));
    assert!(page.contains("After."));
    // No blank line inside the HTML: markdown would end the block there.
    let html = &page[page.find("<div").unwrap()..page.find("</div>").unwrap()];
    assert!(!html.contains("\n\n"));
}

#[test]
fn a_bad_block_fails_naming_the_page_and_the_block() {
    let output = preprocess(&[(
        "broken",
        "# B\n\ntext\n\n```sockstep\nno-such-lesson\n```\n",
    )]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "lessons/broken.md: the sockstep block at line 5: no lesson 'no-such-lesson'"
        ),
        "{stderr}"
    );
    let output = preprocess(&[("opts", "```sockstep\nlength-prefix speed=9\n```\n")]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown option 'speed'"));
}

/// Pages are processed several at a time; a build with two bad pages still names
/// the first in the book's order, and every good page keeps its own result.
#[test]
fn pages_processed_at_once_keep_their_order_and_the_first_bad_one_fails() {
    let good = "```sockstep\nwelcome seed=2\n```\n";
    let output = preprocess(&[
        ("one", good),
        ("first-bad", "```sockstep\nxyz\n```\n"),
        ("two", good),
        ("second-bad", "```sockstep\nabc\n```\n"),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("lessons/first-bad.md"), "{stderr}");
    assert!(!stderr.contains("second-bad"), "{stderr}");

    let slugs = ["welcome", "recv-zero", "length-prefix", "peers", "flush"];
    let pages: Vec<(String, String)> = slugs
        .iter()
        .map(|slug| (slug.to_string(), format!("```sockstep\n{slug}\n```\n")))
        .collect();
    let named: Vec<(&str, &str)> = pages
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    let output = preprocess(&named);
    assert!(output.status.success());
    let book: Book = serde_json::from_slice(&output.stdout).unwrap();
    for (slug, page) in slugs.iter().zip(book.chapters()) {
        assert_eq!(page.name, *slug);
        assert!(
            page.content
                .contains(&format!("data-lesson=\"{slug}\" data-seed=\"1\"")),
            "{slug}: {}",
            page.content
        );
    }
}

/// The line of book.toml that sets `key`.
fn setting(key: &str) -> String {
    let config = std::fs::read_to_string(repo("book.toml")).unwrap();
    config
        .lines()
        .find(|line| line.starts_with(&format!("{key} =")))
        .unwrap_or_else(|| panic!("book.toml sets no {key}"))
        .to_string()
}

/// The player ships with the book as one script and one stylesheet that mdbook
/// copies, loaded after the tabs it follows, and fetches nothing.
#[test]
fn the_book_loads_the_player_which_fetches_nothing() {
    let js = setting("additional-js");
    let (tabs, player) = (
        js.find("\"assets/lang-tabs.js\"").unwrap(),
        js.find("\"assets/sockstep-player.js\"").unwrap(),
    );
    assert!(tabs < player, "the player loads after the tabs: {js}");
    assert!(setting("additional-css").contains("\"assets/sockstep-player.css\""));
    let script = std::fs::read_to_string(repo("assets/sockstep-player.js")).unwrap();
    for needed in [
        "aria-live",
        "data-action",
        "data-received-hex",
        "sockstep-line-now",
        "sockstep-lang",
    ] {
        assert!(script.contains(needed), "sockstep-player.js lacks {needed}");
    }
    for fetches in ["fetch(", "XMLHttpRequest", "import(", "<script", ".src ="] {
        assert!(
            !script.contains(fetches),
            "sockstep-player.js has {fetches}"
        );
    }
    let style = std::fs::read_to_string(repo("assets/sockstep-player.css")).unwrap();
    assert!(style.contains("@media print"), "the player hides on paper");
    assert!(!style.contains("@import") && !style.contains("url("));
}

#[test]
fn a_bad_block_names_the_line_of_the_page_itself_not_after_includes() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path();
    std::fs::create_dir_all(root.join("lessons")).unwrap();
    // On disk the bad block is at line 5; mdbook hands over the page with the
    // include expanded to twenty lines, which puts it at line 24.
    let source = "# P\n\n{{#include ../src/x.rs:code}}\n\n```sockstep\nxyz\n```\n";
    std::fs::write(root.join("lessons/p.md"), source).unwrap();
    let code = "let x = 1;\n".repeat(20);
    let expanded = source.replace("{{#include ../src/x.rs:code}}", code.trim_end());
    let output = preprocess_in(root, &[("p", &expanded)]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("lessons/p.md: the sockstep block at line 5: no lesson 'xyz'"),
        "{stderr}"
    );
}

#[test]
fn a_window_past_the_end_of_the_stream_is_an_error_not_an_empty_diagram() {
    let stream = sockstep::teaching::find("welcome")
        .unwrap()
        .1
        .run(Default::default())
        .unwrap()
        .stream
        .len();
    let block = format!(
        "```sockstep\nwelcome from={stream} to={}\n```\n",
        stream + 100
    );
    let output = preprocess(&[("w", &block)]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "rendered a window with no bytes");
    assert!(
        stderr.contains(&format!(
            "from={stream} is past the end of the run's stream, which is {stream} bytes"
        )),
        "{stderr}"
    );
}

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The listings of `page` that lack their Python twin: each ```rust block that
/// includes `../src/teaching/MODULE.rs:ANCHOR` must be followed, after one blank
/// line, by a ```python block including `../src/teaching/python/MODULE.py:ANCHOR`,
/// where `python(MODULE)` (that file's text) has that anchor.
fn listings_without_python(page: &str, python: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let prefix = "```rust\n{{#include ../src/teaching/";
    let mut missing = Vec::new();
    for (at, _) in page.match_indices(prefix) {
        let rest = &page[at + prefix.len()..];
        let Some((target, _)) = rest.split_once("}}") else {
            continue;
        };
        let Some((module, anchor)) = target
            .split_once(':')
            .and_then(|(file, anchor)| Some((file.strip_suffix(".rs")?, anchor)))
        else {
            continue;
        };
        let has_anchor = python(module).is_some_and(|source| {
            source
                .lines()
                .any(|line| line.trim() == format!("# ANCHOR: {anchor}"))
        });
        let twin = format!(
            "{prefix}{target}}}}}\n```\n\n```python\n{{{{#include ../src/teaching/python/{module}.py:{anchor}}}}}\n```\n"
        );
        if has_anchor && !page[at..].starts_with(&twin) {
            missing.push(format!("{module}:{anchor}"));
        }
    }
    missing
}

/// Every Rust listing on every page is followed by the same anchor of the lesson's
/// Python file (the book turns each such pair into Rust / Python tabs).
#[test]
fn every_rust_listing_is_followed_by_its_python_twin() {
    let python = |module: &str| {
        std::fs::read_to_string(repo(&format!("src/teaching/python/{module}.py"))).ok()
    };
    let mut pairs = 0;
    for entry in std::fs::read_dir(repo("lessons")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let page = std::fs::read_to_string(&path).unwrap();
        let missing = listings_without_python(&page, python);
        assert!(
            missing.is_empty(),
            "{} shows Rust without its Python twin: {missing:?}",
            path.display()
        );
        pairs += page.matches("```\n\n```python\n{{#include").count();
    }
    assert!(pairs >= 50, "only {pairs} Rust/Python pairs");

    // The check itself: a listing whose twin is absent, or names another anchor.
    let source = |_: &str| Some("# ANCHOR: naive\npass\n# ANCHOR_END: naive\n".to_string());
    let rust = "```rust\n{{#include ../src/teaching/x.rs:naive}}\n```\n";
    let twin = "\n```python\n{{#include ../src/teaching/python/x.py:naive}}\n```\n";
    assert_eq!(listings_without_python(rust, source), ["x:naive"]);
    assert!(listings_without_python(&format!("{rust}{twin}"), source).is_empty());
    let wrong = twin.replace(":naive", ":correct");
    assert_eq!(
        listings_without_python(&format!("{rust}{wrong}"), source),
        ["x:naive"]
    );
    // A Python file without that anchor: no twin is asked for.
    assert!(listings_without_python(rust, |_| Some(String::new())).is_empty());
}

/// The tab switch ships with the book, as additional files mdbook copies: no
/// plugin for the reader to install.
#[test]
fn the_book_loads_the_language_tabs() {
    assert!(setting("additional-js").contains("\"assets/lang-tabs.js\""));
    assert!(setting("additional-css").contains("\"assets/lang-tabs.css\""));
    let script = std::fs::read_to_string(repo("assets/lang-tabs.js")).unwrap();
    for needed in ["localStorage", "role", "aria-selected", "keydown"] {
        assert!(script.contains(needed), "lang-tabs.js lacks {needed}");
    }
    assert!(repo("assets/lang-tabs.css").is_file());
}

/// Every Python name the "Python ↔ Rust" appendix's tables show is real: each `sock.NAME`
/// is a method of `socket.socket`, each `socket.`/`select.`/`struct.` name exists,
/// each `...Error` is a built-in exception; and what its text says of them holds:
/// `socket.timeout` is `TimeoutError` since 3.10, and the three named
/// `ConnectionError`s are ones.
#[test]
fn the_appendix_names_only_real_python() {
    let page = std::fs::read_to_string(repo("lessons/python-rust.md")).unwrap();
    let mut names = std::collections::BTreeSet::new();
    // The second column of both tables is Python's.
    let python_cells = page
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| ---"))
        .filter_map(|line| line.split(" | ").nth(1));
    for span in python_cells.flat_map(|cell| cell.split('`').skip(1).step_by(2)) {
        for token in span.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')) {
            let token = token.trim_end_matches('.');
            let python = ["sock.", "socket.", "select.", "struct."]
                .iter()
                .any(|module| token.starts_with(module))
                || token.ends_with("Error");
            if python && token != "sock." {
                names.insert(token.to_string());
            }
        }
    }
    assert!(names.len() >= 20, "{names:?}");
    let script = r#"
import builtins, select, socket, struct, sys
sock = socket.socket()
modules = {"sock": sock, "socket": socket, "select": select, "struct": struct}
for name in sys.argv[1:]:
    owner, _, attr = name.rpartition(".")
    found = getattr(modules[owner], attr, None) if owner else getattr(builtins, name, None)
    if found is None:
        print("not real:", name)
sock.close()
if sys.version_info >= (3, 10) and socket.timeout is not TimeoutError:
    print("socket.timeout is not TimeoutError")
for error in (ConnectionResetError, BrokenPipeError, ConnectionRefusedError):
    if not issubclass(error, ConnectionError):
        print(error.__name__, "is not a ConnectionError")
"#;
    let python = std::env::var("SOCKSTEP_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(&names)
        .output()
        .unwrap_or_else(|e| panic!("this test runs Python: {python}: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{names:?}");
}

/// Every lesson page, as mdbook hands it over, gets a player of its block's run in
/// Rust and in Python, and the player can mark the running line in at least one of
/// the page's listings in each language: every page has a working player.
#[test]
fn every_lesson_page_gets_a_player_that_can_mark_its_code() {
    let lessons = sockstep::teaching::all();
    let pages: Vec<(String, String)> = lessons
        .iter()
        .map(|lesson| (lesson.slug.to_string(), lesson.builtin_page_text()))
        .collect();
    let named: Vec<(&str, &str)> = pages
        .iter()
        .map(|(slug, text)| (slug.as_str(), text.as_str()))
        .collect();
    let output = preprocess(&named);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let book: Book = serde_json::from_slice(&output.stdout).unwrap();
    for (lesson, page) in lessons.iter().zip(book.chapters()) {
        let content = &page.content;
        let player = format!(
            "<div class=\"sockstep-player\" data-lesson=\"{}\"",
            lesson.slug
        );
        assert!(content.contains(&player), "{}: no player", lesson.slug);
        for lang in ["rust", "python"] {
            let json = |class: &str| -> serde_json::Value {
                let open = format!(
                    "<script type=\"application/json\" class=\"{class}\" data-lang=\"{lang}\">"
                );
                let start = content
                    .find(&open)
                    .unwrap_or_else(|| panic!("{}: no {lang} {class}", lesson.slug))
                    + open.len();
                let end = start + content[start..].find("</script>").unwrap();
                serde_json::from_str(&content[start..end]).unwrap()
            };
            let states = json("sockstep-steps");
            let states = states.as_array().unwrap();
            assert!(states.len() > 2, "{} {lang}", lesson.slug);
            assert_eq!(states[0]["step"], 0);
            assert!(states.last().unwrap()["sides"]["correct"]["verdict"].is_string());
            let listings = json("sockstep-views")["listings"].clone();
            assert!(
                listings.as_array().unwrap().iter().any(|l| l.is_array()),
                "{} {lang}: no listing of the lesson's code to mark: {listings}",
                lesson.slug
            );
        }
    }
}
