//! `sockstep challenge` and `sockstep grade` end to end: the real binary against the
//! reference servers (Python, and C built with `cc`) and against hostile programs.
//! Each gives its documented verdict and exit code, and leaves no process behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{sockstep, stdout};

fn fixture(path: &str) -> String {
    format!(
        "{}/tests/fixtures/challenge/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn python() -> &'static str {
    let found = Command::new("python3").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "python3 must be installed to run the challenge tests"
    );
    "python3"
}

/// `sockstep challenge ARGS... -- python3 FIXTURE {port} {level}`.
fn challenge_python(args: &[&str], script: &str) -> Output {
    let script = fixture(script);
    let mut all: Vec<&str> = vec!["challenge"];
    all.extend_from_slice(args);
    all.extend(["--", python(), &script, "{port}", "{level}"]);
    sockstep(&all)
}

/// Every process whose command line names `marker` (a fixture's path).
fn processes_naming(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(marker) {
                found.push(format!("{pid}: {cmdline}"));
            }
        }
    }
    found
}

/// `text` with the `len` characters after each `marker` replaced by `*`.
fn masked(text: &str, marker: &str, len: usize) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let end = at + marker.len();
        out.push_str(&rest[..end]);
        let skipped: String = rest[end..].chars().take(len).collect();
        out.push_str(&"*".repeat(skipped.chars().count()));
        rest = &rest[end + skipped.len()..];
    }
    out.push_str(rest);
    out
}

/// A report's text with its wrapped lines joined, to find a sentence in it.
fn flat(text: &str) -> String {
    text.replace("\n           ", " ")
}

/// A report's text with its measured durations and the Python tracer's temporary
/// folder (in a traceback) taken out.
fn without_durations(text: &str) -> String {
    let folder = masked(text, "/tmp/sockstep-trace-", 6);
    folder
        .lines()
        .map(|line| {
            let line = match line.rfind(" (") {
                Some(at) if line.ends_with(" s)") => &line[..at],
                _ => line,
            };
            match line.rfind(" · ") {
                Some(at) if line.ends_with(" s") => line[..at].to_string(),
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_correct_server_passes_every_level() {
    let output = challenge_python(&["all", "--seed", "3"], "correct_server.py");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("10 of 10 levels passed"), "{text}");
    assert!(text.contains("lockstep delivery"), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("[sockstep] replay: sockstep challenge all --seed 3 -- python3 "),
        "{text}"
    );
}

#[test]
fn the_naive_server_fails_with_a_report_a_newcomer_can_read() {
    let output = challenge_python(&["length-prefix", "--seed", "3"], "naive_server.py");
    let text = flat(&stdout(&output));
    assert_eq!(output.status.code(), Some(1), "{text}");
    for needed in [
        "length-prefix ✗ failed: wrong bytes on connection 1",
        "[sockstep] expected",
        "[sockstep] received",
        "^ first difference",
        "hint: you replied after ",
        "one recv() is not one message",
        "see `sockstep tui length-prefix`",
    ] {
        assert!(text.contains(needed), "{needed:?} missing from:\n{text}");
    }
    // The learner's own line, from the Python trace.
    assert!(text.contains("naive_server.py:"), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("[sockstep] replay: sockstep challenge length-prefix --seed 3 -- "),
        "{text}"
    );
}

#[test]
fn all_stops_at_the_first_failure_unless_told_to_keep_going() {
    let output = challenge_python(&["all", "--seed", "4"], "naive_server.py");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("fixed-length  ✗"), "{text}");
    assert!(text.contains("0 of 10 levels passed"), "{text}");
    assert!(text.contains("skipped"), "{text}");
    let output = challenge_python(
        &["fixed-length,errors", "--seed", "4", "--keep-going"],
        "naive_server.py",
    );
    let text = stdout(&output);
    assert!(text.contains("errors        ✗ crashed"), "{text}");
}

#[test]
fn lockstep_gives_the_same_report_twice() {
    let run = || {
        let output = challenge_python(
            &[
                "length-prefix,leftover,errors",
                "--seed",
                "11",
                "--keep-going",
            ],
            "naive_server.py",
        );
        assert_eq!(output.status.code(), Some(1));
        without_durations(&stdout(&output))
    };
    let first = run();
    assert_eq!(first, run());
}

#[test]
fn json_and_junit_reports_of_a_real_run_are_valid() {
    let folder = tempfile::tempdir().unwrap();
    let json = folder.path().join("report.json");
    let junit = folder.path().join("report.xml");
    let output = challenge_python(
        &[
            "delimiter,errors",
            "--seed",
            "2",
            "--keep-going",
            "--json",
            json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
        "naive_server.py",
    );
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/challenge-report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{report:#}");
    assert_eq!(report["status"], "fail");
    assert_eq!(report["levels"][0]["failure"]["kind"], "wrong-bytes");
    assert_eq!(report["levels"][1]["status"], "crash");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let document = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = document
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 2, "{xml}");
}

#[test]
fn a_program_that_never_listens_exits_3() {
    let output = challenge_python(&["delimiter", "--seed", "1"], "hostile/never_listens.py");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(3), "{text}");
    assert!(text.contains("did not listen on 127.0.0.1:"), "{text}");
    assert!(processes_naming(&fixture("hostile/never_listens.py")).is_empty());
}

#[test]
fn a_hang_says_what_sockstep_waited_for() {
    let output = challenge_python(&["length-prefix", "--seed", "1"], "hostile/hangs.py");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("timed out"), "{text}");
    assert!(text.contains("no reply after 2,000 ms"), "{text}");
    assert!(processes_naming(&fixture("hostile/hangs.py")).is_empty());
}

#[test]
fn a_busy_loop_after_a_close_is_named() {
    // The naive recv-zero server spins on recv() returning b"".
    let output = challenge_python(&["recv-zero", "--seed", "1"], "naive_server.py");
    let text = flat(&stdout(&output));
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("a busy loop"), "{text}");
    assert!(text.contains("% of a core"), "{text}");
    assert!(text.contains("recv() returning 0 means"), "{text}");
}

#[test]
fn a_death_by_sigpipe_is_named() {
    let output = challenge_python(&["errors", "--seed", "1"], "hostile/sigpipe_reply.py");
    let text = flat(&stdout(&output));
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("crashed"), "{text}");
    assert!(text.contains("killed by SIGPIPE"), "{text}");
    assert!(
        text.contains("ignore the signal (or use MSG_NOSIGNAL)"),
        "{text}"
    );
}

#[test]
fn ten_megabytes_of_output_are_cut_and_said_so() {
    let output = challenge_python(&["delimiter", "--seed", "1"], "hostile/prints_10mb.py");
    let text = stdout(&output);
    assert!(
        output.stdout.len() < 200 * 1024,
        "{} bytes",
        output.stdout.len()
    );
    assert!(text.contains("[sockstep] replay:"), "{text}");
    assert!(processes_naming(&fixture("hostile/prints_10mb.py")).is_empty());
}

#[test]
fn a_lingering_child_is_killed_with_the_program() {
    let script = fixture("hostile/forks_child.py");
    let output = challenge_python(&["delimiter", "--seed", "1"], "hostile/forks_child.py");
    assert!(stdout(&output).contains("[sockstep] replay:"));
    let left = processes_naming(&script);
    assert!(left.is_empty(), "left running: {left:#?}");
}

/// Builds a C fixture with `cc` into `dir`.
fn build_c(source: &str, dir: &Path) -> PathBuf {
    let binary = dir.join(Path::new(source).file_stem().unwrap());
    let built = Command::new("cc")
        .args(["-O2", "-Wall", "-o"])
        .arg(&binary)
        .arg(fixture(source))
        .status()
        .expect("cc must be installed to run the challenge tests");
    assert!(built.success(), "cc could not build {source}");
    binary
}

#[test]
fn c_servers_built_with_cc_pass_and_fail_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let correct = build_c("c/length_prefix_correct.c", dir.path());
    let naive = build_c("c/length_prefix_naive.c", dir.path());
    let run = |binary: &Path| {
        sockstep(&[
            "challenge",
            "length-prefix",
            "--seed",
            "6",
            "--",
            binary.to_str().unwrap(),
            "{port}",
        ])
    };
    let output = run(&correct);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    // The naive one takes the first recv()'s "0" as the whole prefix, so asks
    // recv() for 0 bytes, takes its 0 for a close, and hangs up on the rest.
    let output = run(&naive);
    let text = flat(&stdout(&output));
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("length-prefix ✗ failed"), "{text}");
    assert!(text.contains("hint: "), "{text}");
}

#[test]
fn grade_prints_a_matrix_and_groups_failures_by_hint() {
    let root = tempfile::tempdir().unwrap();
    for (student, script) in [
        ("ada", "correct_server.py"),
        ("bob", "naive_server.py"),
        ("cy", "naive_server.py"),
    ] {
        let dir = root.path().join(student);
        std::fs::create_dir(&dir).unwrap();
        std::fs::copy(fixture(script), dir.join("server.py")).unwrap();
    }
    let dirs: Vec<String> = ["ada", "bob", "cy"]
        .iter()
        .map(|s| root.path().join(s).to_string_lossy().into_owned())
        .collect();
    let mut args = vec![
        "grade",
        "length-prefix,leftover",
        "--seed",
        "8",
        "--cmd",
        "python3 {dir}/server.py {port} {level}",
    ];
    args.extend(dirs.iter().map(String::as_str));
    let output = sockstep(&args);
    let text = stdout(&output);
    let ada = text.lines().find(|l| l.starts_with("ada")).expect(&text);
    assert!(ada.contains("2/2"), "{text}");
    let bob = text.lines().find(|l| l.starts_with("bob")).expect(&text);
    assert!(bob.contains("0/2"), "{text}");
    assert!(text.contains("2 submissions: "), "{text}");
    assert!(processes_naming(&root.path().to_string_lossy()).is_empty());
}
