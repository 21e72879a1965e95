//! Lockstep is reproducible: the same seed gives the same outcome on both sides, the
//! same calls with the same results, listed in the same order (timestamps aside).

mod common;

use std::time::Duration;

use common::run;
use sockstep::engine::{LiveEvent, Mode, RunOptions, Side, Trace};
use sockstep::render::text;

/// The run as `run --json` prints it, without the timestamps and the one duration
/// computed from them (how long a stuck side had waited, `waited_ms`), and without
/// the send queues: the bytes not yet acknowledged just after a write depend, like
/// the timestamps, on when the kernel got round to delivering them on loopback and
/// acknowledging them (seen: 0 or 5 after the first write of length-prefix, seed 4,
/// under load). The receive queues are compared: in lockstep the next piece waits
/// until the reader has read the last.
fn without_times(trace: &Trace) -> serde_json::Value {
    let mut json = serde_json::to_value(trace).unwrap();
    for side in ["naive", "correct"] {
        for event in json[side]["events"].as_array_mut().unwrap() {
            let event = event.as_object_mut().unwrap();
            event.remove("at_us");
            if let Some(queues) = event.get_mut("queues") {
                queues.as_object_mut().unwrap().remove("send");
            }
        }
        json[side]["outcome"]
            .as_object_mut()
            .unwrap()
            .remove("waited_ms");
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
    for lesson in sockstep::teaching::all() {
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

/// Steps a lockstep run to its end; after each step, once both sides have settled,
/// notes every call each side made during that step, in the order it came. (The two
/// sides run side by side, each on its own, so only each side's order is fixed.)
fn steps_of(slug: &str, seed: u64) -> Vec<[Vec<String>; 2]> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = common::lesson(slug)
        .start(RunOptions {
            seed,
            stepping: true,
            observer: Some(tx),
            ..RunOptions::default()
        })
        .unwrap();
    let mut screens = Vec::new();
    while !handle.status().iter().all(|side| side.stopped) && screens.len() < 500 {
        handle.step();
        for side in Side::BOTH {
            assert!(
                handle.wait_for(side, Duration::from_secs(60), |s| s.settled),
                "{slug}: a step did not settle"
            );
        }
        let mut calls: [Vec<String>; 2] = Default::default();
        while let Ok(event) = rx.try_recv() {
            if let LiveEvent::Call { side, event } = event {
                calls[side as usize].push(text::call_line(&event));
            }
        }
        screens.push(calls);
    }
    handle.join().unwrap();
    // The last steps may find the programs done before the side says it stopped.
    while screens
        .last()
        .is_some_and(|calls| calls.iter().all(Vec::is_empty))
    {
        screens.pop();
    }
    screens
}

#[test]
fn stepping_shows_the_same_calls_after_each_step_every_time() {
    for lesson in sockstep::teaching::all() {
        let first = steps_of(lesson.slug, 2);
        assert!(first.len() > 2, "{}: {} steps", lesson.slug, first.len());
        let again = steps_of(lesson.slug, 2);
        assert_eq!(first, again, "{}: the steps differ", lesson.slug);
    }
}
