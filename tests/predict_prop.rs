//! Predict, then reveal: over every lesson and many seeds, each question has exactly
//! one right answer, its choices are distinct, and the right one is what the run shows.

mod common;

use proptest::prelude::*;
use sockstep::engine::{Mode, Trace};
use sockstep::predict::{self, Kind, Question};
use sockstep::teaching;

/// What the run shows for a kind, read from the trace independently of the model.
fn shown_by_run(trace: &Trace, kind: Kind) -> String {
    match kind {
        Kind::FirstRecv => match trace.naive.receiver_reads().next() {
            None => "nothing".to_string(),
            Some(read) if read.moved == 0 => "0".to_string(),
            Some(read) => predict::shown(&read.bytes),
        },
        Kind::FirstWrong => {
            let delivered = &trace.naive.delivered;
            match (0..delivered.len()).find(|&i| trace.messages.get(i) != Some(&delivered[i])) {
                Some(i) => format!("message {}", i + 1),
                None => "none".to_string(),
            }
        }
        Kind::Ending => format!(
            "naive {}, correct {}",
            trace.naive.outcome.kind(),
            trace.correct.outcome.kind()
        ),
    }
}

/// Whether a choice says what the run shows.
fn says(choice: &str, kind: Kind, shown: &str) -> bool {
    match kind {
        Kind::FirstRecv => choice.starts_with(shown),
        // "message 1 (…" is not "message 10 (…".
        Kind::FirstWrong => choice
            .strip_prefix(shown)
            .is_some_and(|rest| rest.starts_with([' ', ':'])),
        Kind::Ending => choice == shown,
    }
}

fn check(trace: &Trace, question: &Question) {
    let context = format!("{} seed {} {:?}", trace.lesson, trace.seed, question.kind);
    assert!(question.choices.len() >= 2, "{context}: {question:?}");
    assert!(question.choices.len() <= predict::CHOICES, "{context}");
    assert!(question.answer < question.choices.len(), "{context}");
    for (i, a) in question.choices.iter().enumerate() {
        for b in &question.choices[i + 1..] {
            assert_ne!(a, b, "{context}: a choice is offered twice");
        }
    }
    let right = &question.choices[question.answer];
    let shown = shown_by_run(trace, question.kind);
    assert!(
        says(right, question.kind, &shown),
        "{context}: the right choice {right:?} is not what the run shows ({shown})"
    );
    if question.kind == Kind::FirstWrong {
        // Exactly one right: the right choice names the message and what it got.
        if let Some(i) = shown.strip_prefix("message ") {
            let got = &trace.naive.delivered[i.parse::<usize>().unwrap() - 1];
            let delivers = format!("it delivers {}", predict::shown(got));
            assert!(right.ends_with(&delivers), "{context}: {right}");
            let prefix = format!("message {i} (");
            let same = question
                .choices
                .iter()
                .filter(|c| c.starts_with(&prefix) && c.ends_with(&delivers))
                .count();
            assert_eq!(same, 1, "{context}: two choices say the same");
        }
    } else {
        let also = question
            .choices
            .iter()
            .enumerate()
            .filter(|&(i, c)| i != question.answer && c == right)
            .count();
        assert_eq!(also, 0, "{context}");
    }
}

fn lesson_and_seed() -> impl Strategy<Value = (usize, u64)> {
    (0..teaching::all().len(), 1..100_000u64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_question_has_one_right_answer_the_run_shows((lesson, seed) in lesson_and_seed()) {
        let slug = teaching::all()[lesson].slug;
        let trace = common::run(slug, seed, Mode::Lockstep);
        for question in predict::questions(&trace) {
            check(&trace, &question);
        }
    }
}

#[test]
fn every_lesson_asks_every_kind_on_the_first_seeds() {
    for lesson in teaching::all() {
        for seed in 1..=4 {
            let trace = common::run(lesson.slug, seed, Mode::Lockstep);
            for question in predict::questions(&trace) {
                check(&trace, &question);
            }
        }
    }
}

#[test]
fn the_same_seed_asks_the_same_questions() {
    for lesson in ["welcome", "leftover", "length-prefix", "recv-zero"] {
        let first = predict::questions(&common::run(lesson, 7, Mode::Lockstep));
        let again = predict::questions(&common::run(lesson, 7, Mode::Lockstep));
        assert_eq!(first, again, "{lesson}");
    }
}

#[test]
fn the_right_answer_moves_with_the_seed() {
    let positions: std::collections::BTreeSet<usize> = (1..=24)
        .map(|seed| {
            predict::question(
                &common::run("delimiter", seed, Mode::Lockstep),
                Kind::FirstRecv,
            )
            .answer
        })
        .collect();
    assert_eq!(positions.len(), predict::CHOICES, "{positions:?}");
}

#[test]
fn a_first_recv_that_never_returns_is_answered_nothing() {
    // peers: the naive receiver waits for a greeting no one sends.
    let trace = common::run("peers", 1, Mode::Lockstep);
    let question = predict::question(&trace, Kind::FirstRecv);
    assert!(
        question.choices[question.answer].starts_with("nothing"),
        "{question:?}"
    );
    assert_eq!(question.decided_by.seq, None);
    assert!(question.decided_by.line.is_some());
}

#[test]
fn the_decider_is_the_recv_before_the_wrong_delivery() {
    // leftover: one read carries two lines; the naive side keeps the first and
    // drops the second, so message 2 is wrong after the first recv().
    let trace = common::run("leftover", 3, Mode::Lockstep);
    let question = predict::question(&trace, Kind::FirstWrong);
    assert!(
        question.choices[question.answer].starts_with("message 2"),
        "{question:?}"
    );
    let decider = question.decided_by;
    let event = trace
        .naive
        .events
        .iter()
        .find(|e| Some(e.seq) == decider.seq)
        .unwrap();
    assert_eq!(event.call, sockstep::engine::Call::Recv);
    assert_eq!(event.line, decider.line);
}
