//! A student's progress is never overwritten with less: the real binary in a
//! pseudo-terminal, with a progress file that is broken, unreadable, reset under it,
//! or shared with a second TUI.

#[path = "common/screen.rs"]
mod screen;

use std::path::{Path, PathBuf};

use screen::Screen;
use sockstep::progress::Progress;

const FIRST_SCREEN: &str = "paused before line";
const RIGHT: &str = "\x1b[C";

fn state_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("sockstep-{name}-"))
        .tempdir()
        .expect("a temporary folder")
}

fn saved(state: &Path) -> Progress {
    Progress::load(&state.join("progress.json")).expect("valid progress JSON")
}

fn completed(state: &Path) -> Vec<String> {
    saved(state).completed.into_iter().collect()
}

/// Runs the shown lesson to the end and waits for both verdicts.
fn run_to_end(screen: &mut Screen) {
    screen.send("\r");
    screen.wait_for("both verdicts", |s| {
        s.contains("Naive ✗") && s.contains("Correct ✓")
    });
}

#[test]
fn a_progress_file_that_is_not_json_is_kept_aside_and_the_screen_says_so() {
    let state = state_dir("broken");
    // The issue's file: a trailing comma.
    let original = r#"{"completed":["welcome","peers","flush",],"last_seed":5}"#;
    std::fs::write(state.path().join("progress.json"), original).unwrap();
    let mut screen = Screen::start(&["tui"], 40, 200, state.path());
    let text = screen.wait_for("the notice", |s| {
        s.contains(FIRST_SCREEN) && s.contains("kept it as")
    });
    assert!(
        text.contains("not valid JSON (line 1, column 41)"),
        "{text}"
    );
    screen.send(RIGHT);
    screen.wait_for("the next lesson", |s| s.contains("2/"));
    screen.quit();
    let kept: Vec<PathBuf> = std::fs::read_dir(state.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("progress.json.bad-"))
        .collect();
    assert_eq!(kept.len(), 1, "one file set aside: {kept:?}");
    assert_eq!(std::fs::read_to_string(&kept[0]).unwrap(), original);
    // What the session did is saved, in a file that reads back.
    assert!(saved(state.path()).last_lesson.is_some());
}

#[test]
fn a_progress_file_that_cannot_be_read_is_left_alone_and_nothing_is_saved() {
    let state = state_dir("unreadable");
    // Root reads a mode-000 file; a folder in its place cannot be read by anyone.
    std::fs::create_dir(state.path().join("progress.json")).unwrap();
    std::fs::write(state.path().join("progress.json").join("keep"), "mine").unwrap();
    let mut screen = Screen::start(&["tui"], 40, 200, state.path());
    screen.wait_for("the notice", |s| {
        s.contains(FIRST_SCREEN) && s.contains("progress will not be saved")
    });
    run_to_end(&mut screen);
    screen.send(RIGHT);
    screen.quit();
    assert_eq!(
        std::fs::read_to_string(state.path().join("progress.json").join("keep")).unwrap(),
        "mine"
    );
    let names: Vec<String> = std::fs::read_dir(state.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "progress.json.lock")
        .collect();
    assert_eq!(names, ["progress.json"]);
}

#[test]
fn a_reset_while_a_tui_is_open_is_not_undone_by_it() {
    let state = state_dir("reset");
    std::fs::write(
        state.path().join("progress.json"),
        r#"{"completed":["welcome","peers"],"last_seed":3}"#,
    )
    .unwrap();
    let mut screen = Screen::start(
        &["tui", "length-prefix", "--seed", "3"],
        40,
        120,
        state.path(),
    );
    screen.wait_for("the first screen", |s| s.contains(FIRST_SCREEN));
    let reset = std::process::Command::new(env!("CARGO_BIN_EXE_sockstep"))
        .args(["progress", "--reset"])
        .env("SOCKSTEP_STATE_DIR", state.path())
        .output()
        .unwrap();
    assert!(reset.status.success());
    run_to_end(&mut screen);
    screen.quit();
    // The reset forgot welcome and peers; the lesson finished after it is kept.
    assert_eq!(completed(state.path()), ["length-prefix"]);
}

#[test]
fn two_tuis_at_once_keep_each_others_lessons() {
    let state = state_dir("two");
    let mut first = Screen::start(
        &["tui", "length-prefix", "--seed", "3"],
        40,
        120,
        state.path(),
    );
    let mut second = Screen::start(&["tui", "recv-zero"], 40, 120, state.path());
    first.wait_for("the first TUI", |s| s.contains(FIRST_SCREEN));
    second.wait_for("the second TUI", |s| s.contains(FIRST_SCREEN));
    run_to_end(&mut first);
    run_to_end(&mut second);
    first.quit();
    second.quit();
    assert_eq!(completed(state.path()), ["length-prefix", "recv-zero"]);
}

#[test]
fn progress_that_can_be_read_but_not_locked_is_shown_and_left_alone() {
    let state = state_dir("nolock");
    let original = r#"{"completed":["welcome"],"last_seed":3}"#;
    std::fs::write(state.path().join("progress.json"), original).unwrap();
    // A folder where the lock file goes: it cannot be opened, even by root.
    std::fs::create_dir(state.path().join("progress.json.lock")).unwrap();
    let mut screen = Screen::start(&["tui"], 40, 200, state.path());
    // Welcome is done, so the tutorial opens at lesson 2, and says it will not save.
    screen.wait_for("lesson 2 and the notice", |s| {
        s.contains(FIRST_SCREEN) && s.contains(" 2/") && s.contains("progress will not be saved")
    });
    run_to_end(&mut screen);
    screen.quit();
    assert_eq!(
        std::fs::read_to_string(state.path().join("progress.json")).unwrap(),
        original
    );
}
