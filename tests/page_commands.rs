//! The commands the pages and the README tell a reader to type are real: each one
//! parses with the real command line, and where a page quotes the wire of a seeded
//! run (`hel┊lo`), that run's wire row shows it.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use sockstep::cli::Cli;

/// Every file a reader reads commands from.
fn documents() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("lessons"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files.extend(["README.md", "CONTRIBUTING.md"].map(|f| root.join(f)));
    files
}

/// The inline code spans of a Markdown text, with the line each starts on.
fn code_spans(text: &str) -> Vec<(usize, String)> {
    let mut spans = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let mut parts = line.split('`');
        parts.next();
        while let (Some(code), Some(_)) = (parts.next(), parts.next()) {
            spans.push((number + 1, code.to_string()));
        }
    }
    spans
}

/// Commands with placeholders (`LESSON`, `[--reset]`) are a synopsis, not a command.
fn is_synopsis(command: &str) -> bool {
    command.contains('[')
        || command
            .split_whitespace()
            .any(|word| word.len() > 1 && word.chars().all(|c| c.is_ascii_uppercase()))
}

#[test]
fn every_sockstep_command_in_the_docs_parses() {
    let mut checked = 0;
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, code) in code_spans(&text) {
            if !code.starts_with("sockstep ") || is_synopsis(&code) {
                continue;
            }
            let words: Vec<&str> = code.split_whitespace().collect();
            if let Err(error) = Cli::try_parse_from(&words) {
                panic!(
                    "{}:{line}: `{code}` does not parse:\n{error}",
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 40,
        "only {checked} commands found: is the scan broken?"
    );
}

/// The wire row of `sockstep run SLUG --seed N`, as a reader sees it.
fn wire_row(slug: &str, seed: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sockstep"))
        .args(["run", slug, "--seed", seed, "--width", "4096"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "sockstep run {slug} --seed {seed}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("wire").map(str::to_owned))
        .expect("a wire row")
}

#[test]
fn every_quoted_wire_is_what_its_seeded_run_shows() {
    let mut checked = 0;
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        let spans = code_spans(&text);
        for (i, (line, code)) in spans.iter().enumerate() {
            let words: Vec<&str> = code.split_whitespace().collect();
            let ["sockstep", "run", slug, "--seed", seed] = words[..] else {
                continue;
            };
            // The quotes that follow on the same line, before the next command.
            let quotes = spans[i + 1..]
                .iter()
                .take_while(|(l, c)| l == line && !c.starts_with("sockstep "))
                .filter(|(_, c)| c.contains('┊'));
            for (_, quote) in quotes {
                let wire = wire_row(slug, seed);
                assert!(
                    wire.contains(quote.as_str()),
                    "{}:{line}: `{code}` should show `{quote}`; its wire is:\n{wire}",
                    file.display()
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 3,
        "only {checked} quoted wires found: is the scan broken?"
    );
}
