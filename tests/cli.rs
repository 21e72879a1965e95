//! The headless commands, run as a user runs them: the real binary, its output and
//! its exit code.

mod common;

use std::process::Command;

use common::{sockstep, stdout};

#[test]
fn list_shows_number_slug_and_title() {
    let output = sockstep(&["list"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(
        text.lines()
            .any(|l| l.contains("length-prefix") && l.contains("split"))
    );
    let json: serde_json::Value =
        serde_json::from_slice(&sockstep(&["list", "--json"]).stdout).unwrap();
    let first = &json.as_array().unwrap()[0];
    assert_eq!(first["number"], 1);
    assert!(first["slug"].is_string() && first["title"].is_string());
}

#[test]
fn run_json_is_the_whole_trace() {
    let output = sockstep(&["run", "length-prefix", "--seed", "3", "--json"]);
    assert!(output.status.success());
    let trace: sockstep::engine::Trace = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(trace.lesson, "length-prefix");
    assert_eq!(trace.seed, 3);
    assert_eq!(trace.cuts[0], 2);
    assert_eq!(trace.naive.outcome.kind().name(), "wrong");
    assert!(trace.correct.outcome.is_delivered());
}

#[test]
fn run_text_marks_the_cut_inside_the_prefix_and_both_outcomes() {
    let output = sockstep(&["run", "length-prefix", "--seed", "3"]);
    assert!(output.status.success());
    let text = stdout(&output);
    let wire = text
        .lines()
        .find(|l| l.trim_start().starts_with("wire"))
        .unwrap();
    assert!(
        wire.contains("00┊005"),
        "the cut after two prefix digits: {wire}"
    );
    assert!(text.contains("naive    ✗ wrong"), "{text}");
    assert!(
        text.contains("correct  ✓ delivered all 4 messages"),
        "{text}"
    );
    // Piped output has no colour codes, and messages are told apart by symbols.
    assert!(!text.contains('\x1b'));
    assert!(text.lines().any(|l| l.trim_start().starts_with("message")));
}

#[test]
fn run_with_calls_lists_every_call() {
    let text = stdout(&sockstep(&["run", "recv-zero", "--calls"]));
    assert!(text.contains("recv 16 → 0 (closed)"), "{text}");
    assert!(text.contains("naive    ✗ spinning"), "{text}");
}

#[test]
fn an_unknown_lesson_says_how_to_find_one_and_exits_2() {
    for args in [&["run", "xyz"][..], &["check", "xyz"][..]] {
        let output = sockstep(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("no lesson 'xyz'; run 'sockstep list'"),
            "{stderr}"
        );
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let output = sockstep(&["run", "length-prefix", "--seed", "minus-one"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--seed"));
}

#[test]
fn check_proves_every_lesson() {
    let output = sockstep(&["check", "--seeds", "5"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    let lessons = sockstep::teaching::all().len();
    assert_eq!(text.lines().filter(|l| l.starts_with('✓')).count(), lessons);
    assert!(text.contains(&format!("{lessons} of {lessons} lessons hold on 5 seeds")));
}

#[test]
fn every_command_has_help() {
    for command in ["list", "run", "check"] {
        let output = sockstep(&[command, "--help"]);
        assert!(output.status.success());
        assert!(stdout(&output).contains("Usage: sockstep"));
    }
}

#[test]
fn without_a_terminal_sockstep_prints_a_hint_instead_of_drawing() {
    let output = sockstep(&[]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.contains("sockstep list") && text.contains("sockstep run"));
    assert!(!text.contains('\x1b'), "no terminal control codes");
    let tui = sockstep(&["tui"]);
    assert!(!tui.status.success());
    assert!(String::from_utf8_lossy(&tui.stderr).contains("needs a terminal"));
}

#[test]
fn progress_shows_and_resets() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let slug = sockstep::teaching::all()[0].slug;
    std::fs::write(
        dir.join("progress.json"),
        format!("{{\"completed\": [\"{slug}\"], \"last_seed\": 4, \"lang\": \"python\"}}"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sockstep"))
            .args(args)
            .env("SOCKSTEP_STATE_DIR", dir)
            .output()
            .unwrap()
    };
    let shown = stdout(&run(&["progress"]));
    let total = sockstep::teaching::all().len();
    assert!(
        shown.contains(&format!("1 of {total} lessons completed")),
        "{shown}"
    );
    assert!(shown.contains(&format!("✓  1 {slug}")), "{shown}");
    assert!(
        shown.contains("language: python (L switches it in the tutorial)"),
        "{shown}"
    );
    assert!(run(&["progress", "--reset"]).status.success());
    assert!(!stdout(&run(&["progress"])).contains("language:"));
    assert!(stdout(&run(&["progress"])).contains(&format!("0 of {total} lessons completed")));
    // A broken file is named in the error.
    std::fs::write(dir.join("progress.json"), "{ nope").unwrap();
    let broken = run(&["progress"]);
    assert!(!broken.status.success());
    assert!(String::from_utf8_lossy(&broken.stderr).contains("progress.json"));
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockstep"))
        .args(["run", "partial-send", "--width", "8"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one byte, then close the pipe while the diagram is still being written.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert!(output.status.success());
}

/// Asks bash's completion function what it offers after `words`, as a Tab would.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let script = stdout(&sockstep(&["completions", "bash"]));
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let program = format!(
        "{script}\nCOMP_WORDS=({words}); COMP_CWORD={cword}; \
         _sockstep sockstep '{current}' '{previous}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words = quoted.join(" "),
        current = words[cword],
        previous = words[cword - 1],
    );
    let output = Command::new("bash")
        .args(["-c", &program])
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(&output).lines().map(str::to_owned).collect()
}

#[test]
fn bash_completion_offers_commands_and_modes() {
    assert_eq!(bash_completes(&["sockstep", "che"]), ["check"]);
    let commands = bash_completes(&["sockstep", ""]);
    for command in [
        "tui",
        "list",
        "run",
        "check",
        "progress",
        "completions",
        "man",
    ] {
        assert!(
            commands.iter().any(|c| c == command),
            "{command} in {commands:?}"
        );
    }
    assert_eq!(
        bash_completes(&["sockstep", "run", "--mode", ""]),
        ["lockstep", "free-run", "direct"]
    );
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = sockstep(&["completions", shell]);
        assert!(output.status.success(), "{shell}");
        assert!(stdout(&output).contains("check"), "{shell}");
    }
    let unknown = sockstep(&["completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("possible values"));
}

#[test]
fn man_prints_a_page_with_every_command() {
    let page = stdout(&sockstep(&["man"]));
    assert!(page.contains(".TH sockstep 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for command in ["run", "check", "completions"] {
        assert!(
            page.contains(&format!("sockstep\\-{command}(1)")),
            "{command}"
        );
    }
}

#[test]
fn man_dir_writes_one_page_per_command() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let output = sockstep(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(output.status.success());
    let mut pages: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    for page in [
        "sockstep.1",
        "sockstep-run.1",
        "sockstep-check.1",
        "sockstep-man.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "{page} in {pages:?}");
    }
    let missing = sockstep(&["man", "--dir", "/no/such/folder"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "error: man --dir /no/such/folder: no such folder\n"
    );
}
