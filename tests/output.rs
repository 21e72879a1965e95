//! Output that cannot be written: every command, as a user runs it, with its
//! standard output closed (`| head`, `| true`) or on a full disk (`>/dev/full`).

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sockstep");

/// Every command that prints to standard output, with arguments that make it print.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["list"],
    &["list", "--json"],
    &["run", "13", "--json"],
    &["run", "length-prefix", "--calls"],
    &["check", "length-prefix", "--seeds", "1"],
    &["progress"],
    &["progress", "--reset"],
    &["--help"],
    &["--version"],
    &["list", "--help"],
    &["completions", "bash"],
    &["completions", "zsh"],
    &["man"],
];

fn sockstep(args: &[&str], stdout: Stdio, state: &std::path::Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("SOCKSTEP_STATE_DIR", state)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("the binary runs")
}

fn state_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("sockstep-{name}-"))
        .tempdir()
        .expect("a temporary folder")
}

#[test]
fn a_closed_pipe_ends_every_command_quietly_with_exit_0() {
    let state = state_dir("closed");
    for args in COMMANDS {
        // The reader is gone before the first byte is written: every write fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = sockstep(args, writer.into(), state.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "sockstep {args:?} with stdout closed: {:?}\n{stderr}",
            output.status
        );
    }
}

#[test]
fn a_full_disk_is_one_sentence_and_exit_1() {
    let state = state_dir("full");
    for args in COMMANDS {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full exists (Linux)");
        let output = sockstep(args, full.into(), state.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(1),
            "sockstep {args:?} >/dev/full: {stderr}"
        );
        assert_eq!(
            stderr,
            "error: could not write to standard output: No space left on device (os error 28)\n",
            "sockstep {args:?} >/dev/full"
        );
    }
}

#[test]
fn json_cut_short_by_head_ends_quietly() {
    for args in [&["run", "13", "--json"][..], &["list", "--json"][..]] {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `head -c 10`: read ten bytes, then close the pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 10];
        std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
        drop(stdout);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "sockstep {args:?} | head -c 10: {:?}\n{stderr}",
            output.status
        );
    }
}

#[test]
fn an_error_names_its_cause_once() {
    // A folder where the progress file should be: reading it fails.
    let state = state_dir("cause");
    std::fs::create_dir_all(state.path().join("progress.json")).unwrap();
    let output = sockstep(&["progress"], Stdio::piped(), state.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("Is a directory").count(),
        1,
        "the cause once: {stderr}"
    );
}

#[test]
fn lessons_given_a_file_says_it_is_a_file() {
    let output = sockstep(
        &["--lessons", "Cargo.toml", "list"],
        Stdio::piped(),
        &std::env::temp_dir(),
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: --lessons Cargo.toml is a file, not a folder\n"
    );
}
