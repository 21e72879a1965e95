//! Lockstep is reproducible: the same seed gives the same outcome on both sides, the
//! same calls with the same results, listed in the same order (timestamps aside).

mod common;

use common::run;
use sockstep::engine::{Mode, Side, Trace};
use sockstep::render::text;

/// The run as `run --json` prints it, without the timestamps.
fn without_times(trace: &Trace) -> serde_json::Value {
    let mut json = serde_json::to_value(trace).unwrap();
    for side in ["naive", "correct"] {
        for event in json[side]["events"].as_array_mut().unwrap() {
            event.as_object_mut().unwrap().remove("at_us");
        }
    }
    json
}

/// The run as `run --calls` lists it.
fn listing(trace: &Trace) -> String {
    Side::BOTH
        .map(|side| text::timeline(trace.side(side)))
        .join("\n")
}

#[test]
fn every_lesson_lists_the_same_calls_in_the_same_order_for_the_same_seed() {
    for lesson in sockstep::lesson::all() {
        for seed in 1..=6 {
            let first = run(lesson.slug, seed, Mode::Lockstep);
            for _ in 0..3 {
                let again = run(lesson.slug, seed, Mode::Lockstep);
                assert_eq!(
                    listing(&first),
                    listing(&again),
                    "{} seed {seed}: the calls differ between two runs",
                    lesson.slug
                );
                assert_eq!(
                    without_times(&first),
                    without_times(&again),
                    "{} seed {seed}: the JSON differs between two runs",
                    lesson.slug
                );
            }
        }
    }
}

#[test]
fn a_sender_whose_receiver_fails_early_ends_the_same_way_every_time() {
    // The naive receiver of these lessons gives up after a few pieces, while its
    // sender may still be writing: whether the sender then meets a broken pipe must
    // not depend on which thread ran first.
    for slug in ["type-byte", "length-prefix"] {
        for seed in 1..=40 {
            let runs: Vec<Trace> = (0..2).map(|_| run(slug, seed, Mode::Lockstep)).collect();
            for side in Side::BOTH {
                assert_eq!(
                    listing(&runs[0]),
                    listing(&runs[1]),
                    "{slug} seed {seed}: {} side",
                    side.name()
                );
                assert_eq!(
                    runs[0].side(side).outcome,
                    runs[1].side(side).outcome,
                    "{slug} seed {seed}: {} side",
                    side.name()
                );
            }
        }
    }
}
