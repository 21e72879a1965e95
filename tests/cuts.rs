//! `--cuts`: a run cut exactly where the user says, for both sides, replayable.

mod common;

use common::{lesson, pieces, sockstep, stdout};
use sockstep::engine::{Call, CutsError, EngineError, FixedCuts, Mode, RunOptions, Side, Trace};

fn run_json(args: &[&str]) -> Trace {
    let output = sockstep(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a trace")
}

/// Both sides get exactly the pieces `2,7,19` makes of the delimiter lesson's
/// 47-byte stream, whatever the seed would have cut.
fn assert_cut_exactly(lang: &str) {
    let expected = [(0, 2), (2, 5), (7, 12), (19, 28)];
    for seed in ["1", "5"] {
        let trace = run_json(&[
            "run",
            "delimiter",
            "--cuts",
            "2,7,19",
            "--seed",
            seed,
            "--lang",
            lang,
            "--json",
        ]);
        assert_eq!(trace.language, lang);
        assert_eq!(trace.stream.len(), 47);
        assert_eq!(trace.cuts, [2, 7, 19]);
        for side in Side::BOTH {
            assert_eq!(
                pieces(&trace, side),
                expected,
                "{lang} seed {seed} {side:?}"
            );
        }
    }
}

#[test]
fn run_cuts_gives_exactly_those_pieces_to_both_sides() {
    assert_cut_exactly("rust");
    // Without --cuts the seed cuts elsewhere: the flag is what made these pieces.
    let seeded = run_json(&["run", "delimiter", "--seed", "1", "--json"]);
    assert_ne!(seeded.cuts, [2, 7, 19]);
}

#[test]
fn free_run_forwards_the_same_pieces() {
    let trace = run_json(&[
        "run",
        "delimiter",
        "--cuts",
        "2,7,19",
        "--mode",
        "free-run",
        "--json",
    ]);
    assert_eq!(trace.mode, Mode::FreeRun);
    for side in Side::BOTH {
        assert_eq!(pieces(&trace, side), [(0, 2), (2, 5), (7, 12), (19, 28)]);
    }
}

#[test]
fn the_engine_refuses_cuts_past_the_end_of_the_stream() {
    let error = lesson("welcome")
        .run(RunOptions {
            cuts: Some(FixedCuts::parse("4,10").unwrap()),
            ..RunOptions::default()
        })
        .unwrap_err();
    assert!(
        matches!(
            error,
            EngineError::Cuts(CutsError::PastTheEnd { cut: 10, len: 10 })
        ),
        "{error:?}"
    );
}

#[test]
fn run_cuts_cuts_python_code_the_same() {
    assert_cut_exactly("python");
}

#[test]
fn run_cuts_shows_the_cuts_and_the_flag_that_replays_them() {
    let text = stdout(&sockstep(&[
        "run",
        "length-prefix",
        "--cuts",
        "2,7,19",
        "--calls",
    ]));
    let header = text.lines().nth(1).unwrap();
    assert!(header.ends_with("3 cuts · --cuts 2,7,19"), "{header}");
    let wire = text
        .lines()
        .find(|l| l.trim_start().starts_with("wire"))
        .unwrap();
    assert!(wire.contains("00┊005 he┊llo 00012 how␣┊are"), "{wire}");
    for piece in [
        "piece @0 of 2",
        "piece @2 of 5",
        "piece @7 of 12",
        "piece @19 of 35",
    ] {
        assert!(text.contains(piece), "{piece}: {text}");
    }
    // A run without --cuts names no flag: its seed replays it.
    let plain = stdout(&sockstep(&["run", "length-prefix"]));
    assert!(!plain.contains("--cuts"), "{plain}");
}

#[test]
fn bad_cuts_exit_2_naming_the_value() {
    let cases: [(&[&str], &str); 7] = [
        (&["run", "welcome", "--cuts", "2,x"], "'x' is not a number"),
        (
            &["run", "welcome", "--cuts", "0,3"],
            "a cut at 0 cuts nothing off",
        ),
        (&["run", "welcome", "--cuts", "5,3"], "3 comes after 5"),
        (&["run", "welcome", "--cuts", "4,4"], "4 comes after 4"),
        (
            &["run", "welcome", "--cuts", "3,10"],
            "--cuts for welcome: a cut at 10 is past the end: the stream is 10 bytes, so cuts go from 1 to 9",
        ),
        (
            &["run", "welcome", "--cuts", "3", "--mode", "direct"],
            "--mode direct has none",
        ),
        (
            &["tui", "welcome", "--cuts", "3,99"],
            "a cut at 99 is past the end",
        ),
    ];
    for (args, message) in cases {
        let output = sockstep(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

/// `fin` and `rst` at the end of the list end the stream at the last cut, as wire
/// mode's F and R do: the receivers get the bytes before it, then the end.
#[test]
fn run_cuts_can_end_the_stream_by_hand() {
    for (end, reset) in [("fin", false), ("rst", true)] {
        let flag = format!("5,{end}");
        let trace = run_json(&["run", "length-prefix", "--cuts", &flag, "--json"]);
        assert_eq!(trace.cuts, [5]);
        for side in Side::BOTH {
            assert_eq!(pieces(&trace, side), [(0, 5)], "{end} {side:?}");
            let aborted = trace
                .side(side)
                .events
                .iter()
                .any(|event| event.call == Call::Abort);
            assert_eq!(aborted, reset, "{end} {side:?}");
        }
        let text = stdout(&sockstep(&["run", "length-prefix", "--cuts", &flag]));
        let header = text.lines().nth(1).unwrap();
        assert!(header.ends_with(&format!("--cuts {flag}")), "{header}");
    }
}

#[test]
fn wire_mode_needs_lockstep_from_the_command_line_too() {
    let output = sockstep(&["tui", "welcome", "--wire", "--mode", "free-run"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--wire needs --mode lockstep"), "{stderr}");
}
