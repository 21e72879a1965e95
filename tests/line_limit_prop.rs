//! Property: delimiter's and leftover's correct receivers enforce their line limit
//! (8,192 bytes) on the line's length, whatever the cuts: every cutting of the same
//! stream is accepted, or every cutting is refused.

use proptest::prelude::*;

use sockstep::engine::{
    self, CutAt, CutPlan, Limits, Outcome, RunOptions, Scenario, SocketTuning, Trace,
};
use sockstep::teaching;

const LIMIT: usize = 8192;

fn run_correct(slug: &str, messages: Vec<Vec<u8>>, cuts: &[usize]) -> Trace {
    let lesson = teaching::find(slug).unwrap().1;
    let scenario = Scenario {
        messages,
        framing: (lesson.scenario)().framing,
        cuts: cuts.iter().fold(CutPlan::default(), |plan, &offset| {
            plan.with_cut(CutAt::Offset { offset })
        }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    };
    engine::run(
        slug,
        &scenario,
        lesson.correct,
        lesson.correct,
        RunOptions::default(),
    )
    .unwrap()
}

/// Accepted: the side delivered every line. Refused: its receiver failed with
/// invalid-data before delivering the long line.
fn accepted(trace: &Trace, lines: &[Vec<u8>]) -> Result<bool, TestCaseError> {
    match &trace.correct.outcome {
        Outcome::Delivered { .. } => {
            prop_assert_eq!(&trace.correct.delivered, lines);
            Ok(true)
        }
        Outcome::Error { error, .. } if error == "invalid-data" => {
            prop_assert_eq!(trace.correct.delivered.as_slice(), &lines[..1]);
            Ok(false)
        }
        other => Err(TestCaseError::fail(format!(
            "unexpected {}",
            other.describe()
        ))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_line_limit_does_not_depend_on_the_cuts(
        len in prop_oneof![LIMIT - 4..LIMIT + 4, 9_990usize..10_010],
        cuts in prop::collection::vec(0usize..10_100, 0..8),
        leftover_lesson in any::<bool>(),
    ) {
        let slug = if leftover_lesson { "leftover" } else { "delimiter" };
        // A short line, the line under test, and one more: the long line starts
        // mid-stream, so the cuts fall at any place relative to it.
        let lines = vec![b"HELLO".to_vec(), vec![b'x'; len], b"QUIT".to_vec()];
        let trace = run_correct(slug, lines.clone(), &cuts);
        let ok = accepted(&trace, &lines)?;
        prop_assert_eq!(ok, len <= LIMIT, "{} with a line of {} bytes, cuts {:?}", slug, len, cuts);
    }
}

/// The cuts the issue found: leftover accepted a 10,000-byte line cut 4096/4096/1809
/// and refused it cut 4096/4096/100/1709; delimiter accepted it.
#[test]
fn a_ten_thousand_byte_line_is_refused_however_it_is_cut() {
    let lines = vec![vec![b'x'; 10_000]];
    for slug in ["delimiter", "leftover"] {
        for cuts in [&[4096, 8192][..], &[4096, 8192, 8292]] {
            let trace = run_correct(slug, lines.clone(), cuts);
            assert!(
                matches!(&trace.correct.outcome, Outcome::Error { error, .. } if error == "invalid-data"),
                "{slug} {cuts:?}: {}",
                trace.correct.outcome.describe()
            );
        }
    }
    // ...and a line of exactly the limit is accepted.
    let lines = vec![vec![b'x'; LIMIT]];
    for slug in ["delimiter", "leftover"] {
        let trace = run_correct(slug, lines.clone(), &[4096, 8192]);
        assert!(accepted(&trace, &lines).unwrap(), "{slug}");
    }
}
