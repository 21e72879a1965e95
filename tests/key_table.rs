//! README.md's key table is the TUI's key table (`sockstep::tui::keys::KEYS`), row
//! for row: a key added, removed or reworded in one and not the other fails here.

use sockstep::tui::keys;

#[test]
fn the_readme_key_table_is_the_tuis() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let start = readme
        .find("| key | does |")
        .expect("README.md has a table headed `| key | does |`");
    let table: String = readme[start..]
        .lines()
        .take_while(|line| line.starts_with('|'))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(
        table,
        keys::markdown_table(),
        "README.md's key table differs from src/tui/keys.rs; paste the right-hand side in"
    );
}
