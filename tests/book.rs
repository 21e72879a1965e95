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
    let context = PreprocessorContext::new(".".into(), Config::default(), "html".into());
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
