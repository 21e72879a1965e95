//! Real-socket tests of the framing lessons (welcome, no-eot, fixed-length, type-byte,
//! delimiter, leftover, max-frame, protocol): each one shows what its page says.

mod common;

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use sockstep::engine::{
    self, Call, Limits, Mode, Outcome, OutcomeKind, Role, RunOptions, Side, SideTrace,
};
use sockstep::lesson::Lesson;
use sockstep::teaching::{fixed_length, leftover, max_frame, type_byte};

use common::{lesson, run};

const SLUGS: [&str; 8] = [
    "welcome",
    "no-eot",
    "fixed-length",
    "type-byte",
    "delimiter",
    "leftover",
    "max-frame",
    "protocol",
];

/// Source lines (1-based) strictly between `ANCHOR: name` and `ANCHOR_END: name`.
fn anchor_lines(lesson: &Lesson, name: &str) -> RangeInclusive<u32> {
    let find = |marker: String| {
        lesson
            .source
            .lines()
            .position(|l| l.trim() == marker)
            .unwrap_or_else(|| panic!("{}: no `{marker}`", lesson.slug)) as u32
            + 1
    };
    find(format!("// ANCHOR: {name}")) + 1..=find(format!("// ANCHOR_END: {name}")) - 1
}

/// What the relay wrote to the receiver, joined.
fn wire(side: &SideTrace) -> Vec<u8> {
    side.pieces().flat_map(|e| e.bytes.clone()).collect()
}

/// Everything the sender received back (answers), joined.
fn answers(side: &SideTrace) -> Vec<u8> {
    side.events
        .iter()
        .filter(|e| e.role == Role::Sender && e.call == Call::Recv)
        .flat_map(|e| e.bytes.clone())
        .collect()
}

#[test]
fn every_lesson_holds_its_claim_on_fifty_seeds() {
    for slug in SLUGS {
        let broken = lesson(slug).check(50, |_| {}).unwrap();
        assert!(broken.is_empty(), "{slug}: {}", broken[0]);
    }
}

#[test]
fn senders_write_exactly_the_stream_the_framing_describes() {
    for slug in SLUGS {
        for seed in 1..=3 {
            let trace = run(slug, seed, Mode::Lockstep);
            let got = wire(&trace.correct);
            if slug == "max-frame" {
                // The correct receiver hangs up after the lying prefix.
                assert!(trace.stream.starts_with(&got), "{slug}");
            } else {
                assert_eq!(got, trace.stream, "{slug} seed {seed}");
            }
            // Both sides saw the same pieces, as far as the naive one read.
            let naive: Vec<_> = trace.naive.pieces().map(|e| &e.bytes).collect();
            let correct: Vec<_> = trace.correct.pieces().map(|e| &e.bytes).collect();
            let shared = naive.len().min(correct.len());
            assert_eq!(naive[..shared], correct[..shared], "{slug} seed {seed}");
        }
    }
}

#[test]
fn in_lockstep_every_read_stays_inside_one_piece() {
    for slug in SLUGS {
        for seed in 1..=4 {
            let trace = run(slug, seed, Mode::Lockstep);
            for side in Side::BOTH {
                let mut at = 0;
                for read in trace.side(side).receiver_reads().filter(|e| e.moved > 0) {
                    let (start, end) = (at, at + read.moved);
                    assert!(
                        !trace.cuts.iter().any(|&c| start < c && c < end),
                        "{slug} seed {seed} {side:?}: read {start}..{end} spans a cut"
                    );
                    at = end;
                }
            }
        }
    }
}

#[test]
fn welcome_has_one_cut_inside_hello_that_moves_with_the_seed() {
    let mut places = std::collections::BTreeSet::new();
    for seed in 1..=40 {
        let trace = run("welcome", seed, Mode::Lockstep);
        assert_eq!(trace.cuts.len(), 1, "one visible cut");
        let cut = trace.cuts[0];
        assert!((1..=4).contains(&cut), "inside \"hello\": {cut}");
        places.insert(cut);
        match &trace.naive.outcome {
            Outcome::Wrong { index: 0, got, .. } => assert_eq!(got[..], b"hello"[..cut]),
            other => panic!("naive: {other:?}"),
        }
        assert_eq!(
            trace.correct.delivered,
            [b"hello".to_vec(), b"world".to_vec()]
        );
    }
    assert_eq!(places.len(), 4, "every place inside the word comes up");
}

#[test]
fn no_eot_naive_waits_for_a_close_and_is_found_stuck_exactly() {
    let lesson = lesson("no-eot");
    let mut scenario = (lesson.scenario)();
    // Far beyond the test's patience: only the exact detection can end the run.
    scenario.limits = Limits {
        quiet_ms: 600_000,
        ..Limits::default()
    };
    let started = Instant::now();
    let trace = engine::run(
        lesson.slug,
        &scenario,
        lesson.naive,
        lesson.correct,
        lesson.options(RunOptions::default()),
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(60));
    match trace.naive.outcome {
        Outcome::Stuck {
            role: Role::Receiver,
            line: Some(line),
            waited_ms,
        } => {
            assert!(anchor_lines(lesson, "naive").contains(&line), "line {line}");
            assert!(waited_ms < 600_000);
        }
        ref other => panic!("naive: {other:?}"),
    }
    // The naive server read the whole first request, then waited for more.
    assert_eq!(wire(&trace.naive), b"GET /time\n");
    assert!(trace.naive.delivered.is_empty());
    // The correct server answered each request as it came.
    assert_eq!(answers(&trace.correct), b"OK\nOK\nOK\n");
    assert!(trace.correct.outcome.is_delivered());
}

#[test]
fn fixed_length_frames_are_padded_and_the_naive_side_takes_a_part_for_a_message() {
    for seed in 1..=10 {
        let trace = run("fixed-length", seed, Mode::Lockstep);
        assert_eq!(
            trace.stream.len(),
            fixed_length::MSGLEN * trace.messages.len()
        );
        assert!(trace.cuts[0] < fixed_length::MSGLEN, "first frame cut");
        let first = &trace.naive.receiver_reads().next().unwrap().bytes;
        assert_eq!(first.len(), trace.cuts[0], "one read, one piece");
        assert_eq!(trace.naive.outcome.kind(), OutcomeKind::Wrong);
        // The correct receiver read exactly MSGLEN bytes per message, no more.
        let read: usize = trace.correct.receiver_reads().map(|e| e.moved).sum();
        assert_eq!(read, trace.stream.len());
    }
}

#[test]
fn type_byte_arrives_alone_and_the_naive_side_pads_the_body_with_zeros() {
    let trace = run("type-byte", 4, Mode::Lockstep);
    assert_eq!(trace.cuts[0], 1);
    let mut expected = b"T".to_vec();
    expected.resize(1 + type_byte::body_len(b'T').unwrap(), 0);
    assert_eq!(trace.naive.delivered[0], expected);
    assert_eq!(trace.correct.delivered, trace.messages);
    // The correct side asked for the type byte alone, then for exactly the body.
    let asked: Vec<usize> = trace
        .correct
        .receiver_reads()
        .take(2)
        .map(|e| e.asked)
        .collect();
    assert_eq!(asked, [1, 8]);
}

#[test]
fn delimiter_naive_takes_the_first_read_for_a_line() {
    for seed in 1..=20 {
        let trace = run("delimiter", seed, Mode::Lockstep);
        let first_line = &trace.messages[0];
        let first_read = &trace.naive.receiver_reads().next().unwrap().bytes;
        // The cut is inside the first line's frame: before its newline or on it.
        assert!(first_read.len() <= first_line.len(), "seed {seed}");
        assert_eq!(&trace.naive.delivered[0], first_read, "seed {seed}");
        if first_read.len() == first_line.len() {
            // Cut just before the newline: the line looks whole, and the newline
            // alone starts the next read, which is then wrong.
            assert!(matches!(
                trace.naive.outcome,
                Outcome::Wrong { index: 1, .. }
            ));
        } else {
            assert!(matches!(
                trace.naive.outcome,
                Outcome::Wrong { index: 0, .. }
            ));
        }
        assert_eq!(trace.correct.delivered, trace.messages);
    }
}

#[test]
fn leftover_every_piece_holds_more_than_a_line_and_the_naive_side_drops_it() {
    let longest = leftover::LINES.iter().map(|l| l.len() + 1).max().unwrap();
    for seed in 1..=20 {
        let trace = run("leftover", seed, Mode::Lockstep);
        let pieces: Vec<_> = trace.correct.pieces().collect();
        assert!(pieces.len() >= 2);
        for piece in &pieces[..pieces.len() - 1] {
            assert!(
                piece.moved > longest,
                "seed {seed}: a piece of {}",
                piece.moved
            );
        }
        // The first line survives; the second is what the naive side threw away.
        assert_eq!(trace.naive.delivered[0], trace.messages[0]);
        match &trace.naive.outcome {
            Outcome::Wrong { index: 1, .. } => {}
            other => panic!("seed {seed}: {other:?}"),
        }
        // The correct side never asked the kernel for the same bytes twice.
        let read: usize = trace.correct.receiver_reads().map(|e| e.moved).sum();
        assert_eq!(read, trace.stream.len());
        assert_eq!(trace.correct.delivered, trace.messages);
    }
}

#[test]
fn max_frame_naive_collects_only_what_arrives_and_the_correct_side_refuses() {
    let lesson = lesson("max-frame");
    let mut scenario = (lesson.scenario)();
    scenario.limits = Limits {
        quiet_ms: 600_000,
        ..Limits::default()
    };
    let started = Instant::now();
    let trace = engine::run(
        lesson.slug,
        &scenario,
        lesson.naive,
        lesson.correct,
        lesson.options(RunOptions::default()),
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(60));
    match trace.naive.outcome {
        Outcome::Stuck {
            role: Role::Receiver,
            line: Some(line),
            ..
        } => assert!(anchor_lines(lesson, "naive").contains(&line)),
        ref other => panic!("naive: {other:?}"),
    }
    // Memory stays bounded: every read asked for at most one chunk, and the naive
    // side got no more than the peer sent.
    assert!(trace.naive.receiver_reads().all(|e| e.asked <= 4096));
    assert_eq!(wire(&trace.naive), trace.stream);
    assert_eq!(trace.naive.delivered, trace.messages, "honest frames first");
    // The correct side delivered the honest frames, stopped reading at the lying
    // prefix, and told the peer why.
    assert_eq!(trace.correct.delivered, trace.messages);
    let read: usize = trace.correct.receiver_reads().map(|e| e.moved).sum();
    assert_eq!(read, trace.stream.len() - max_frame::SENT_OF_IT.len());
    let answer = String::from_utf8(answers(&trace.correct)).unwrap();
    assert_eq!(
        answer,
        "ERR a frame of 4000000000 bytes is over the limit of 65536\n"
    );
}

#[test]
fn protocol_naive_fails_to_parse_a_json_header_cut_short() {
    for seed in 1..=10 {
        let trace = run("protocol", seed, Mode::Lockstep);
        match &trace.naive.outcome {
            Outcome::Error {
                role: Role::Receiver,
                error,
                message,
            } => {
                assert_eq!(error, "unexpected-eof");
                assert!(message.contains("EOF while parsing"), "{message}");
            }
            other => panic!("seed {seed}: {other:?}"),
        }
        assert_eq!(trace.correct.delivered, trace.messages);
        // Each request got its answer, read by the client through the same framing.
        let answers = answers(&trace.correct);
        for request in &trace.messages {
            let reply = format!("got {} bytes", request.len());
            assert!(
                answers.windows(reply.len()).any(|w| w == reply.as_bytes()),
                "seed {seed}: no {reply:?}"
            );
        }
    }
}

#[test]
fn free_run_correct_sides_deliver() {
    for slug in SLUGS {
        for seed in 1..=4 {
            let trace = run(slug, seed, Mode::FreeRun);
            assert!(
                trace.correct.outcome.is_delivered(),
                "{slug} seed {seed}: {:?}",
                trace.correct.outcome
            );
            // Stuck naive sides are stuck however the kernel splits reads.
            if matches!(slug, "no-eot" | "max-frame") {
                assert_eq!(trace.naive.outcome.kind(), OutcomeKind::Stuck, "{slug}");
            }
        }
    }
}

#[test]
fn every_lesson_can_be_stepped_to_its_end_as_the_tui_does() {
    for slug in SLUGS {
        let lesson = lesson(slug);
        let handle = lesson
            .start(RunOptions {
                seed: 2,
                stepping: true,
                ..RunOptions::default()
            })
            .unwrap();
        let mut steps = 0;
        while !handle.is_finished() && steps < 2_000 {
            handle.step();
            steps += 1;
            for side in Side::BOTH {
                assert!(
                    handle.wait_for(side, Duration::from_secs(30), |s| s.is_paused()),
                    "{slug}: step {steps} did not settle"
                );
            }
        }
        let trace = handle.join().unwrap();
        assert_eq!(trace.naive.outcome.kind(), lesson.teaches, "{slug}");
        assert!(trace.correct.outcome.is_delivered(), "{slug}");
    }
}

#[test]
fn every_teaching_file_has_naive_and_correct_anchors_holding_the_calls() {
    for slug in SLUGS {
        let lesson = lesson(slug);
        let trace = run(slug, 1, Mode::Lockstep);
        for (side, name) in [(Side::Naive, "naive"), (Side::Correct, "correct")] {
            let lines = anchor_lines(lesson, name);
            assert!(lesson.anchor(name).unwrap().contains("fn "));
            let shown: Vec<u32> = lesson.side_code(side).iter().map(|(n, _)| *n).collect();
            // The receiver's program is on screen: at least its delivery happens in
            // the anchor the TUI shows for that side.
            let delivers = trace
                .side(side)
                .events
                .iter()
                .filter(|e| e.call == Call::Deliver);
            for event in delivers {
                let line = event.line.unwrap();
                assert!(lines.contains(&line), "{slug} {name}: line {line}");
                assert!(
                    shown.contains(&line),
                    "{slug} {name}: line {line} on screen"
                );
            }
        }
    }
}
