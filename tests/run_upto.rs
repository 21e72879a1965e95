//! `sockstep run LESSON --seed N --upto K [--json]`: the run as it stood after its
//! first K calls, the state the book's player shows at step K.

mod common;

use common::{sockstep, stdout};
use sockstep::engine::Trace;
use sockstep::render::steps::{self, StepState};

fn state(args: &[&str]) -> StepState {
    let output = sockstep(args);
    assert!(output.status.success(), "{args:?}: {output:?}");
    serde_json::from_slice(&output.stdout).expect("one StepState as JSON")
}

#[test]
fn upto_json_is_the_state_of_the_runs_first_k_calls() {
    let output = sockstep(&["run", "length-prefix", "--seed", "3", "--json"]);
    let trace: Trace = serde_json::from_slice(&output.stdout).unwrap();
    let n = steps::steps(&trace).len();
    for k in [0, 1, 17, n / 2, n - 1, n] {
        let upto = k.to_string();
        let got = state(&[
            "run",
            "length-prefix",
            "--seed",
            "3",
            "--upto",
            &upto,
            "--json",
        ]);
        // Two runs of the seed: the same but for what the kernel measured.
        assert_eq!(
            got.without_measurements(),
            steps::state_at(&trace, k).unwrap().without_measurements(),
            "step {k}"
        );
    }
}

#[test]
fn upto_json_has_the_fields_the_player_and_its_test_read() {
    let json: serde_json::Value = serde_json::from_slice(
        &sockstep(&[
            "run",
            "length-prefix",
            "--seed",
            "3",
            "--upto",
            "30",
            "--json",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(json["lesson"], "length-prefix");
    assert_eq!(json["seed"], 3);
    assert_eq!(json["step"], 30);
    assert_eq!(
        json["text"],
        "step 30 of 52: correct receiver recv 5 → 5 \"00012\""
    );
    let naive = &json["sides"]["naive"];
    // "00" then "005he": the naive server's two reads.
    assert_eq!(naive["received_hex"], "30303030356865");
    assert_eq!(naive["call"], "receiver recv 5 → 5 \"005he\"");
    assert!(naive["line"].is_u64(), "{json}");
    assert!(naive["verdict"].is_null(), "{json}");
    // "00005hello00012": the correct server's reads up to there.
    assert_eq!(
        json["sides"]["correct"]["received_hex"],
        "303030303568656c6c6f3030303132"
    );
}

#[test]
fn upto_the_last_step_shows_both_verdicts() {
    let last = state(&[
        "run",
        "length-prefix",
        "--seed",
        "3",
        "--upto",
        "52",
        "--json",
    ]);
    assert_eq!(last.steps, 52);
    assert_eq!(
        last.sides.naive.verdict.as_deref(),
        Some("✗ wrong: message 1 is \"\" but \"hello\" was sent")
    );
    assert_eq!(
        last.sides.correct.verdict.as_deref(),
        Some("✓ delivered all 4 messages")
    );
    let text = stdout(&sockstep(&[
        "run",
        "length-prefix",
        "--seed",
        "3",
        "--upto",
        "52",
    ]));
    assert!(text.contains("step 52 of 52: "), "{text}");
    assert!(text.contains("naive    ✗ wrong"), "{text}");
    assert!(
        text.contains("correct  ✓ delivered all 4 messages"),
        "{text}"
    );
}

#[test]
fn upto_text_shows_the_step_the_bytes_so_far_and_each_sides_last_call() {
    let text = stdout(&sockstep(&[
        "run",
        "length-prefix",
        "--seed",
        "3",
        "--upto",
        "30",
    ]));
    assert!(
        text.contains("step 30 of 52: correct receiver recv 5 → 5 \"00012\""),
        "{text}"
    );
    let row = |label: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("a {label} row in\n{text}"))
            .to_string()
    };
    assert!(row("naive").ends_with("00┃005 he"), "{text}");
    assert!(row("correct").ends_with("lo│00012"), "{text}");
    assert!(
        text.contains("naive    receiver  recv 5 → 5  \"005he\"  (line"),
        "{text}"
    );
    assert!(!text.contains('✓'), "no verdict before the end: {text}");

    let start = stdout(&sockstep(&["run", "welcome", "--upto", "0"]));
    assert!(start.contains("step 0 of "), "{start}");
    assert!(start.contains(": before the first call"), "{start}");
    assert!(start.contains("naive    no call yet"), "{start}");
}

#[test]
fn upto_in_python_steps_the_python_run() {
    let python = state(&[
        "run",
        "length-prefix",
        "--seed",
        "3",
        "--lang",
        "python",
        "--upto",
        "30",
        "--json",
    ]);
    assert_eq!(python.lang, "python");
    assert_eq!(python.sides.naive.received_hex, "30303030356865");
    let output = sockstep(&[
        "run",
        "length-prefix",
        "--seed",
        "3",
        "--lang",
        "python",
        "--json",
    ]);
    let trace: Trace = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        python.without_measurements(),
        steps::state_at(&trace, 30).unwrap().without_measurements()
    );
}

#[test]
fn upto_past_the_end_names_the_last_step() {
    let output = sockstep(&["run", "length-prefix", "--seed", "3", "--upto", "53"]);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains(
            "--upto 53: step 53 is past the end of this run, which has 52 steps (0 is before the first call, 52 the end)"
        ),
        "{error}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn upto_needs_lockstep() {
    let output = sockstep(&["run", "welcome", "--mode", "free-run", "--upto", "2"]);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("--upto steps through a lockstep run"),
        "{error}"
    );
    assert!(error.contains("--mode free-run"), "{error}");
}

#[test]
fn run_help_explains_upto() {
    let help = stdout(&sockstep(&["run", "--help"]));
    assert!(help.contains("--upto <K>"), "{help}");
    assert!(help.contains("Step 0 is before the first call"), "{help}");
}
