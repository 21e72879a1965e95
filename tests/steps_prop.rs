//! The steps of a run (what the book's player and `sockstep run --upto K` show):
//! over every lesson and many seeds, step 0 is empty, what each receiver got only
//! grows, every call is taken once in its side's order, and the last step carries
//! both verdicts and exactly what the trace says each receiver read.

mod common;

use proptest::prelude::*;
use sockstep::engine::{Mode, Side, Trace};
use sockstep::lesson::Lang;
use sockstep::render::steps::{self, PastTheEnd, StepState};
use sockstep::teaching;

fn hex(bytes: impl IntoIterator<Item = u8>) -> String {
    bytes.into_iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything each receiver read, as the trace records it.
fn read_by(trace: &Trace, side: Side) -> String {
    hex(trace
        .side(side)
        .receiver_reads()
        .flat_map(|e| e.bytes.iter().copied()))
}

fn check(trace: &Trace) {
    let context = format!("{} ({}) seed {}", trace.lesson, trace.language, trace.seed);
    let all = steps::states(trace);
    let order = steps::steps(trace);
    let n = order.len();
    assert_eq!(all.len(), n + 1, "{context}");
    let events: usize = Side::BOTH.iter().map(|&s| trace.side(s).events.len()).sum();
    assert_eq!(n, events, "{context}: every call is a step");
    // Each side's calls are taken once each, in the order they were made.
    for side in Side::BOTH {
        let taken: Vec<usize> = order
            .iter()
            .filter(|s| s.side == side)
            .map(|s| s.index)
            .collect();
        let made: Vec<usize> = (0..trace.side(side).events.len()).collect();
        assert_eq!(taken, made, "{context} {side:?}");
    }

    let first = &all[0];
    assert_eq!(
        first.text,
        format!("step 0 of {n}: before the first call"),
        "{context}"
    );
    for side in Side::BOTH {
        let at_start = first.sides.side(side);
        assert_eq!(at_start.received_hex, "", "{context}");
        assert_eq!(at_start.call, None, "{context}");
        assert_eq!(at_start.calls, 0, "{context}");
    }

    for (k, pair) in all.windows(2).enumerate() {
        let (before, after) = (&pair[0], &pair[1]);
        assert_eq!(after.step, k + 1, "{context}");
        assert!(
            after.text.starts_with(&format!("step {} of {n}: ", k + 1)),
            "{context}: {}",
            after.text
        );
        let moved = order[k].side;
        assert!(
            after.text.contains(&format!(": {} ", moved.name())),
            "{context}: step {} is {moved:?}'s: {}",
            k + 1,
            after.text
        );
        for side in Side::BOTH {
            let (was, is) = (before.sides.side(side), after.sides.side(side));
            assert!(
                is.received_hex.starts_with(&was.received_hex),
                "{context}: {side:?} lost bytes at step {}",
                k + 1
            );
            assert_eq!(
                is.calls,
                was.calls + usize::from(side == moved),
                "{context}: step {}",
                k + 1
            );
            if side != moved {
                assert_eq!(is.call, was.call, "{context}: step {}", k + 1);
            }
        }
    }

    for (k, state) in all.iter().enumerate() {
        let last = k == n;
        for side in Side::BOTH {
            assert_eq!(
                state.sides.side(side).verdict.is_some(),
                last,
                "{context}: a verdict at step {k} of {n}"
            );
        }
        assert_eq!(
            (&state.lesson, &state.lang, state.seed, state.steps),
            (&trace.lesson, &trace.language, trace.seed, n),
            "{context}"
        );
    }
    let end = &all[n];
    for side in Side::BOTH {
        let at_end = end.sides.side(side);
        assert_eq!(at_end.received_hex, read_by(trace, side), "{context}");
        assert_eq!(at_end.calls, trace.side(side).events.len(), "{context}");
        let outcome = &trace.side(side).outcome;
        assert!(
            at_end
                .verdict
                .as_deref()
                .is_some_and(|v| v.ends_with(&outcome.describe())),
            "{context}: {:?}",
            at_end.verdict
        );
    }
    assert!(end.text.contains("The end: naive "), "{context}");

    // One step at a time gives the same states; one past the end is refused.
    for k in [0, n / 2, n] {
        assert_eq!(steps::state_at(trace, k).as_ref(), Ok(&all[k]), "{context}");
    }
    assert_eq!(
        steps::state_at(trace, n + 1),
        Err(PastTheEnd {
            asked: n + 1,
            steps: n
        }),
        "{context}"
    );
}

fn run_in(lang: Lang, lesson: usize, seed: u64) -> Trace {
    teaching::all()[lesson]
        .run_in(
            lang,
            sockstep::engine::RunOptions {
                seed,
                ..Default::default()
            },
        )
        .expect("the run completes")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_lessons_steps_are_consistent(lesson in 0..teaching::all().len(), seed in 1..100_000u64) {
        check(&run_in(Lang::Rust, lesson, seed));
    }
}

#[test]
fn every_lesson_on_several_seeds_in_both_languages() {
    for lesson in 0..teaching::all().len() {
        for seed in 1..=3 {
            check(&run_in(Lang::Rust, lesson, seed));
        }
        check(&run_in(Lang::Python, lesson, 1));
    }
}

#[test]
fn the_same_seed_gives_the_same_steps() {
    let states = |slug: &str| -> Vec<StepState> {
        steps::states(&common::run(slug, 5, Mode::Lockstep))
            .into_iter()
            .map(StepState::without_measurements)
            .collect()
    };
    for slug in ["length-prefix", "leftover", "partial-send", "errors"] {
        assert_eq!(states(slug), states(slug), "{slug}");
    }
}
