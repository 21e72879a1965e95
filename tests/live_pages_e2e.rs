//! `--lessons DIR`: an author's page that cannot be used is named on screen, never
//! silently replaced by the built-in page. The real binary in a pseudo-terminal.

#[path = "common/screen.rs"]
mod screen;

use screen::Screen;

fn pages_dir(name: &str, page: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("sockstep-pages-{name}-"))
        .tempdir()
        .unwrap();
    std::fs::write(dir.path().join("welcome.md"), page).unwrap();
    dir
}

fn shows(dir: &std::path::Path, what: &str) {
    let args = ["--lessons", dir.to_str().unwrap(), "tui", "welcome"];
    let screen = Screen::start(&args, 40, 200, dir);
    screen.wait_for(what, |s| {
        s.contains("paused before line") && s.contains(what)
    });
    screen.quit();
}

#[test]
fn a_page_that_is_not_utf8_is_named_on_screen() {
    let dir = pages_dir("utf8", b"# Welcome\n\nCaf\xe9 is not UTF-8 here.\n");
    shows(dir.path(), "welcome.md is not UTF-8 text (line 3)");
}

#[test]
fn a_page_over_one_megabyte_is_refused_with_a_message() {
    let dir = pages_dir("large", &vec![b'x'; 1_500_000]);
    shows(
        dir.path(),
        "welcome.md is 1500000 bytes; pages over 1 MB are refused",
    );
}

#[test]
fn a_page_that_cannot_be_read_is_named_on_screen() {
    let dir = pages_dir("unreadable", b"");
    // A folder where the page should be: reading it fails, even for root.
    std::fs::remove_file(dir.path().join("welcome.md")).unwrap();
    std::fs::create_dir(dir.path().join("welcome.md")).unwrap();
    shows(dir.path(), "could not read");
}
