//! The three delivery modes, through the engine and through the real binary.

mod common;

use common::{run, sockstep, stdout};
use sockstep::engine::{Call, Mode, Role, Side, Trace};

#[test]
fn direct_has_no_relay_and_every_correct_side_delivers() {
    for lesson in sockstep::teaching::all() {
        for seed in 1..=3 {
            let trace = run(lesson.slug, seed, Mode::Direct);
            assert_eq!(trace.mode, Mode::Direct);
            assert!(trace.cuts.is_empty(), "{}: nothing cuts", lesson.slug);
            for side in Side::BOTH {
                assert!(
                    trace
                        .side(side)
                        .events
                        .iter()
                        .all(|e| e.role != Role::Relay),
                    "{} seed {seed}: a relay event in direct",
                    lesson.slug
                );
            }
            assert!(
                trace.correct.outcome.is_delivered(),
                "{} seed {seed}: {}",
                lesson.slug,
                trace.correct.outcome.describe()
            );
        }
    }
}

#[test]
fn direct_still_finds_stuck_and_spinning_code_exactly() {
    // peers' naive receiver waits for bytes that never come; recv-zero's spins.
    let stuck = run("peers", 1, Mode::Direct);
    let text = stuck.naive.outcome.describe();
    assert!(
        text.starts_with("stuck") && text.contains("nothing else could move"),
        "{text}"
    );
    let spinning = run("recv-zero", 1, Mode::Direct);
    assert!(spinning.naive.outcome.describe().starts_with("spinning"));
}

#[test]
fn direct_traces_every_byte_the_sender_wrote_and_the_receiver_read() {
    let trace = run("length-prefix", 2, Mode::Direct);
    let moved = |trace: &Trace, role: Role, call: Call| -> Vec<u8> {
        trace
            .correct
            .events
            .iter()
            .filter(|e| e.role == role && e.call == call)
            .flat_map(|e| e.bytes.clone())
            .collect()
    };
    assert_eq!(moved(&trace, Role::Sender, Call::Send), trace.stream);
    assert_eq!(moved(&trace, Role::Receiver, Call::Recv), trace.stream);
}

#[test]
fn run_takes_a_mode_and_the_old_free_run_flag() {
    for (args, mode) in [
        (
            &["run", "welcome", "--mode", "direct", "--json"][..],
            Mode::Direct,
        ),
        (
            &["run", "welcome", "--mode", "free-run", "--json"][..],
            Mode::FreeRun,
        ),
        (
            &["run", "welcome", "--free-run", "--json"][..],
            Mode::FreeRun,
        ),
        (&["run", "welcome", "--json"][..], Mode::Lockstep),
    ] {
        let output = sockstep(args);
        assert!(output.status.success(), "{args:?}");
        let trace: Trace = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(trace.mode, mode, "{args:?}");
    }
    let text = stdout(&sockstep(&["run", "welcome", "--mode", "direct"]));
    assert!(text.contains("· direct ·"), "{text}");
    let bad = sockstep(&["run", "welcome", "--mode", "fast"]);
    assert_eq!(bad.status.code(), Some(2));
    let error = String::from_utf8_lossy(&bad.stderr);
    assert!(
        error.contains("lockstep") && error.contains("direct"),
        "{error}"
    );
}

#[test]
fn check_in_direct_measures_and_judges_only_the_correct_side() {
    let output = sockstep(&[
        "check", "welcome", "--mode", "direct", "--seeds", "3", "--json",
    ]);
    assert!(output.status.success(), "{}", stdout(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let lesson = &json.as_array().unwrap()[0];
    assert_eq!(lesson["slug"], "welcome");
    assert_eq!(lesson["mode"], "direct");
    assert_eq!(lesson["runs"], 3);
    assert_eq!(lesson["correct_delivered"], 3);
    assert_eq!(lesson["holds"], true);
    let failed: u64 = lesson["naive_failed"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(failed + lesson["naive_lucky"].as_u64().unwrap(), 3);
}

#[test]
fn check_prints_a_table_with_the_mode_and_what_must_hold() {
    let output = sockstep(&[
        "check",
        "partial-recv",
        "--mode",
        "free-run",
        "--seeds",
        "2",
    ]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.starts_with("free-run · seeds 1 to 2 · must hold: correct delivers"));
    let row = text.lines().find(|l| l.contains("partial-recv")).unwrap();
    assert!(row.starts_with('✓') && row.contains("2/2"), "{row}");
    assert!(
        text.contains("1 of 1 lesson holds on 2 seeds in free-run"),
        "{text}"
    );
}
