//! Real-socket tests of the lessons peers, flush, partial-send, read-to-eof and
//! errors: each shows what its page says, for the reason it says.

mod common;

use std::io;

use sockstep::engine::{
    self, Call, CallResult, Event, Mode, Outcome, OutcomeKind, Role, RunOptions, Side, SideTrace,
    Trace, report,
};
use sockstep::teaching;
use sockstep::teaching::{errors, flush, partial_send, peers, read_to_eof};

use common::lesson;

/// Long enough that only the exact stuck detection can end these runs in a test.
const QUIET_MS: u64 = 60_000;

const SLUGS: [&str; 5] = ["peers", "flush", "partial-send", "read-to-eof", "errors"];

/// Runs the lesson with the quiet backstop pushed far out of reach.
fn run(slug: &str, seed: u64, mode: Mode) -> Trace {
    let lesson = lesson(slug);
    let mut scenario = (lesson.scenario)();
    scenario.limits.quiet_ms = QUIET_MS;
    engine::run(
        slug,
        &scenario,
        lesson.naive,
        lesson.correct,
        lesson.options(RunOptions {
            seed,
            mode,
            ..RunOptions::default()
        }),
    )
    .expect("run completes")
}

fn calls(side: &SideTrace, role: Role, call: Call) -> Vec<&Event> {
    side.events
        .iter()
        .filter(|e| e.role == role && e.call == call)
        .collect()
}

/// The side is stuck, found by the exact detection rather than the time limit.
fn assert_stuck(side: &SideTrace) {
    match side.outcome {
        Outcome::Stuck { waited_ms, .. } => assert!(waited_ms < QUIET_MS),
        ref other => panic!("expected stuck, got {other:?}"),
    }
}

#[test]
fn every_lesson_here_holds_its_claim_over_seeds() {
    for slug in SLUGS {
        let broken = lesson(slug).check(5, |_| {}).unwrap();
        assert!(broken.is_empty(), "{slug}: {}", broken[0]);
    }
}

#[test]
fn the_lessons_sit_at_their_numbers() {
    for (number, slug) in [
        (2, "peers"),
        (3, "flush"),
        (4, "partial-send"),
        (7, "read-to-eof"),
        (15, "errors"),
    ] {
        assert_eq!(teaching::find(&number.to_string()).unwrap().1.slug, slug);
    }
}

#[test]
fn peers_that_both_wait_to_read_never_send_a_byte() {
    let trace = run("peers", 1, Mode::Lockstep);
    assert_stuck(&trace.naive);
    // Both programs are inside recv(), neither ever sent anything.
    assert!(trace.naive.events.iter().all(|e| e.call != Call::Send));
    assert_eq!(trace.naive.pieces().count(), 0);
    assert!(trace.correct.outcome.is_delivered());
    assert_eq!(trace.correct.delivered, [b"hello from alice".to_vec()]);
    // The correct client got the server's answer, whole.
    let answer: Vec<u8> = calls(&trace.correct, Role::Sender, Call::Recv)
        .iter()
        .flat_map(|e| e.bytes.clone())
        .collect();
    assert_eq!(answer, peers::WELCOME);
}

#[test]
fn flush_naive_holds_every_request_in_user_space() {
    let trace = run("flush", 2, Mode::Lockstep);
    let naive = &trace.naive;
    assert_stuck(naive);
    let buffered: Vec<u8> = calls(naive, Role::Sender, Call::Buffer)
        .iter()
        .flat_map(|e| e.bytes.clone())
        .collect();
    assert_eq!(buffered, trace.messages.concat(), "all of it was buffered");
    assert!(
        calls(naive, Role::Sender, Call::Send).is_empty(),
        "no syscall"
    );
    assert!(calls(naive, Role::Sender, Call::Flush).is_empty());
    assert_eq!(naive.pieces().count(), 0, "nothing on the wire");
    // The correct client sends all three requests with one send(), then flushes.
    let correct = &trace.correct;
    assert!(correct.outcome.is_delivered(), "{:?}", correct.outcome);
    let sends = calls(correct, Role::Sender, Call::Send);
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].moved, 3 * flush::REQUEST_LEN);
    let flushes = calls(correct, Role::Sender, Call::Flush);
    assert_eq!(flushes.len(), 1);
    assert!(flushes[0].seq > sends[0].seq);
    assert!(flushes[0].line.is_some(), "the flush() line is recorded");
}

#[test]
fn partial_send_naive_write_really_comes_back_short_and_the_rest_is_lost() {
    for seed in 1..=3 {
        let trace = run("partial-send", seed, Mode::Lockstep);
        let upload = partial_send::upload();
        let naive = &trace.naive;
        let sends = calls(naive, Role::Sender, Call::Send);
        assert_eq!(sends.len(), 1);
        let (asked, moved) = (sends[0].asked, sends[0].moved);
        assert_eq!(asked, upload.len());
        assert!(
            0 < moved && moved < asked,
            "write() took {moved} of {asked}"
        );
        match &naive.outcome {
            Outcome::Wrong { index: 0, got, .. } => {
                assert_eq!(got[..], upload[..moved], "exactly what the kernel took")
            }
            other => panic!("a truncated upload is wrong, was {other:?}"),
        }
        let correct = &trace.correct;
        assert!(correct.outcome.is_delivered(), "{:?}", correct.outcome);
        let sends = calls(correct, Role::Sender, Call::Send);
        assert!(sends.len() >= 2, "write_all needed more than one write()");
        assert!(sends[0].moved < sends[0].asked);
        assert_eq!(sends.iter().map(|e| e.moved).sum::<usize>(), upload.len());
        assert!(sends.iter().all(|e| e.line == sends[0].line));
    }
}

#[test]
fn read_to_eof_needs_the_half_close_and_the_answer_still_comes_back() {
    let trace = run("read-to-eof", 3, Mode::Lockstep);
    assert_stuck(&trace.naive);
    assert!(matches!(
        trace.naive.outcome,
        Outcome::Stuck {
            role: Role::Receiver,
            ..
        }
    ));
    assert!(calls(&trace.naive, Role::Sender, Call::Shutdown).is_empty());
    let correct = &trace.correct;
    assert!(correct.outcome.is_delivered(), "{:?}", correct.outcome);
    let shutdown = calls(correct, Role::Sender, Call::Shutdown);
    assert_eq!(shutdown.len(), 1);
    // The server's end of stream came after the half-close...
    let end = correct
        .receiver_reads()
        .find(|e| e.result == CallResult::EndOfStream)
        .expect("the server saw the end of the request");
    assert!(end.seq > shutdown[0].seq);
    // ...and the answer came back on the same connection, then its end.
    let replies = calls(correct, Role::Sender, Call::Recv);
    let answer: Vec<u8> = replies.iter().flat_map(|e| e.bytes.clone()).collect();
    assert_eq!(answer, read_to_eof::RESPONSE);
    assert_eq!(replies.last().unwrap().result, CallResult::EndOfStream);
}

#[test]
fn errors_correct_server_reports_a_real_timeout_then_a_real_reset() {
    let trace = run("errors", 1, Mode::Lockstep);
    let correct = &trace.correct;
    assert!(correct.outcome.is_delivered(), "{:?}", correct.outcome);
    assert_eq!(
        correct.delivered,
        [
            b"fetch report 01\n".to_vec(),
            report(io::ErrorKind::TimedOut),
            report(io::ErrorKind::ConnectionReset),
        ]
    );
    // What the kernel returned, in order: data, data, the timeout, the client's last
    // bytes, the reset.
    let reads: Vec<String> = correct
        .receiver_reads()
        .map(|e| match &e.result {
            CallResult::Error { error, .. } => error.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(reads, ["Ok", "Ok", "TimedOut", "Ok", "connection-reset"]);
    // The client aborted, and the wire passed the reset on.
    assert_eq!(calls(correct, Role::Sender, Call::Abort).len(), 1);
    assert_eq!(calls(correct, Role::Relay, Call::Abort).len(), 1);
    // The wire carried only real bytes: no report was ever sent.
    assert_eq!(trace.stream, b"fetch report 01\n");
    let asked: Vec<u8> = calls(correct, Role::Receiver, Call::Send)
        .iter()
        .flat_map(|e| e.bytes.clone())
        .collect();
    assert_eq!(asked, [&errors::REPLY[..], errors::ARE_YOU_THERE].concat());
}

#[test]
fn errors_naive_server_takes_the_silence_for_the_end_of_a_request() {
    let trace = run("errors", 2, Mode::Lockstep);
    match &trace.naive.outcome {
        Outcome::Wrong {
            index: 1,
            expected: Some(expected),
            got,
        } => {
            assert_eq!(expected, &report(io::ErrorKind::TimedOut));
            assert_eq!(got, &errors::UNFINISHED[..errors::REQUEST_LEN / 2]);
        }
        other => panic!("naive should deliver half a request, was {other:?}"),
    }
    // It saw the reset too, and took it for the end as well: it delivered the bytes
    // before it as one more request, and answered into a broken pipe.
    let last = trace.naive.receiver_reads().last().unwrap();
    assert!(
        matches!(&last.result, CallResult::Error { error, .. } if error == "connection-reset"),
        "{last:?}"
    );
    assert_eq!(
        trace.naive.delivered,
        [
            b"fetch report 01\n".to_vec(),
            errors::UNFINISHED[..8].to_vec(),
            errors::UNFINISHED[8..12].to_vec()
        ],
        "and reported nothing"
    );
    let answers = calls(&trace.naive, Role::Receiver, Call::Send);
    assert!(
        matches!(&answers.last().unwrap().result, CallResult::Error { error, .. } if error == "broken-pipe")
    );
}

#[test]
fn free_run_keeps_every_claim_of_these_lessons() {
    for slug in SLUGS {
        let trace = run(slug, 4, Mode::FreeRun);
        assert!(
            trace.correct.outcome.is_delivered(),
            "{slug}: {:?}",
            trace.correct.outcome
        );
        assert_eq!(
            trace.naive.outcome.kind(),
            lesson(slug).teaches,
            "{slug}: {:?}",
            trace.naive.outcome
        );
    }
}

#[test]
fn the_pages_name_the_code_they_show() {
    for slug in SLUGS {
        let lesson = lesson(slug);
        for anchor in ["naive", "correct"] {
            assert!(
                lesson
                    .page
                    .contains(&format!("{}:{anchor}}}}}", lesson.source_path)),
                "{slug} includes its {anchor} code"
            );
        }
        assert!(lesson.page.contains("## Try this"), "{slug}");
    }
    // The naive partial send is the bug clippy's lint names, silenced on purpose.
    let naive = lesson("partial-send").anchor("naive").unwrap();
    assert!(naive.contains("allow(clippy::unused_io_amount)"));
    assert!(lesson("partial-send").page.contains("unused_io_amount"));
}

#[test]
fn each_side_shows_only_code_it_runs() {
    // Anchors overlap where both sides share a program: the shared one is in both.
    let peers = lesson("peers");
    assert!(peers.anchor("naive").unwrap().contains("pub fn server"));
    assert!(peers.anchor("correct").unwrap().contains("pub fn server"));
    assert!(!peers.anchor("naive").unwrap().contains("pub fn client("));
    assert!(!peers.anchor("correct").unwrap().contains("naive_client"));
    let side_of = |trace: &Trace, side: Side| trace.side(side).outcome.kind();
    let trace = run("peers", 2, Mode::Lockstep);
    assert_eq!(side_of(&trace, Side::Naive), OutcomeKind::Stuck);
    assert_eq!(side_of(&trace, Side::Correct), OutcomeKind::Delivered);
}

/// The run without its timing: who called what, asked, moved and got.
fn calls_of(side: &SideTrace, role: Role) -> Vec<(Call, usize, usize, Vec<u8>, CallResult)> {
    side.events
        .iter()
        .filter(|e| e.role == role)
        .map(|e| {
            let result = match &e.result {
                // The system's wording of an error is not part of the run.
                CallResult::Error { error, .. } => CallResult::Error {
                    error: error.clone(),
                    message: String::new(),
                },
                other => other.clone(),
            };
            (e.call, e.asked, e.moved, e.bytes.clone(), result)
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_run_even_when_the_network_fails() {
    for slug in SLUGS {
        let (a, b) = (run(slug, 9, Mode::Lockstep), run(slug, 9, Mode::Lockstep));
        for side in Side::BOTH {
            // The programs and the relay run concurrently; each one's calls are in order.
            for role in [Role::Sender, Role::Receiver, Role::Relay] {
                assert_eq!(
                    calls_of(a.side(side), role),
                    calls_of(b.side(side), role),
                    "{slug} {side:?} {role:?}"
                );
            }
        }
    }
}
