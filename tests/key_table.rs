//! The key tables in README.md and on the welcome page are the TUI's key table
//! (`sockstep::tui::keys::KEYS`), row for row: a key added, removed or reworded in one
//! and not the others fails here.

use sockstep::tui::keys;

/// The table headed `| HEADING | does |` in `file` reads as `expected`.
fn assert_table_in(file: &str, heading: &str, expected: String) {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("the file is readable");
    let head = format!("| {heading} | does |");
    let start = text
        .find(&head)
        .unwrap_or_else(|| panic!("{file} has a table headed `{head}`"));
    let table: String = text[start..]
        .lines()
        .take_while(|line| line.starts_with('|'))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(
        table, expected,
        "{file}'s `{heading}` table differs from src/tui/keys.rs; paste the right-hand side in"
    );
}

fn assert_key_table_in(file: &str) {
    assert_table_in(file, "key", keys::markdown_table());
}

fn assert_wire_key_table_in(file: &str) {
    assert_table_in(file, "wire mode key", keys::wire_markdown_table());
}

#[test]
fn the_readme_key_table_is_the_tuis() {
    assert_key_table_in("README.md");
}

#[test]
fn the_welcome_page_key_table_is_the_tuis() {
    assert_key_table_in("lessons/welcome.md");
}

#[test]
fn the_readme_wire_key_table_is_the_tuis() {
    assert_wire_key_table_in("README.md");
}

#[test]
fn the_welcome_page_wire_key_table_is_the_tuis() {
    assert_wire_key_table_in("lessons/welcome.md");
}
