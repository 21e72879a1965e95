//! Real-socket integration tests of the engine and the lessons wired to it.

mod common;

use std::io;
use std::time::Duration;

use sockstep::engine::{
    self, ActorState, Call, CallResult, CutAt, CutPlan, Framing, Inbox, Limits, LiveEvent, Mode,
    Outcome, OutcomeKind, Pieces, Program, Role, RunOptions, Scenario, Side, SideTrace, Sock,
    SocketTuning,
};

use common::{lesson, read_to_end, run, send_all};

/// (start, end) stream offsets of each `recv()` that returned bytes.
fn read_ranges(side: &SideTrace) -> Vec<(usize, usize)> {
    let mut at = 0;
    side.receiver_reads()
        .filter(|e| e.moved > 0)
        .map(|e| {
            at += e.moved;
            (at - e.moved, at)
        })
        .collect()
}

/// The pieces the relay wrote: (offset, bytes).
fn pieces(side: &SideTrace) -> Vec<(usize, Vec<u8>)> {
    side.pieces()
        .map(|e| (e.offset.unwrap(), e.bytes.clone()))
        .collect()
}

#[test]
fn length_prefix_splits_the_prefix_and_only_the_correct_side_delivers() {
    let trace = run("length-prefix", 3, Mode::Lockstep);
    assert_eq!(
        trace.cuts.first(),
        Some(&2),
        "the first prefix is cut after 2 digits"
    );
    match &trace.naive.outcome {
        Outcome::Wrong {
            index: 0,
            expected: Some(expected),
            got,
        } => {
            assert_eq!(expected, b"hello");
            assert!(got.is_empty(), "naive parsed \"00\" as length 0");
        }
        other => panic!("naive should be wrong at message 1, was {other:?}"),
    }
    assert_eq!(
        trace.correct.outcome,
        Outcome::Delivered {
            messages: 4,
            reports: 0
        }
    );
    assert_eq!(trace.correct.delivered, trace.messages);
    // The naive side's first read got exactly the first piece: two digits.
    let first = trace.naive.receiver_reads().next().unwrap();
    assert_eq!(first.bytes, b"00");
    assert!(
        first.line.is_some(),
        "the call site in the teaching code is recorded"
    );
}

#[test]
fn in_lockstep_every_read_stays_inside_one_piece() {
    for slug in ["partial-recv", "recv-zero", "length-prefix"] {
        for seed in 1..=5 {
            let trace = run(slug, seed, Mode::Lockstep);
            for side in Side::BOTH {
                for (start, end) in read_ranges(trace.side(side)) {
                    assert!(
                        !trace.cuts.iter().any(|&cut| start < cut && cut < end),
                        "{slug} seed {seed} {side:?}: read {start}..{end} spans a cut {:?}",
                        trace.cuts
                    );
                }
            }
        }
    }
}

#[test]
fn both_sides_get_the_same_pieces() {
    for slug in ["partial-recv", "recv-zero", "length-prefix"] {
        let trace = run(slug, 4, Mode::Lockstep);
        let naive = pieces(&trace.naive);
        let correct = pieces(&trace.correct);
        assert!(!naive.is_empty());
        // The naive side may stop reading early; what it got is what the correct side got.
        assert_eq!(naive[..], correct[..naive.len()], "{slug}");
        let offsets: Vec<usize> = correct.iter().skip(1).map(|(at, _)| *at).collect();
        assert_eq!(
            offsets, trace.cuts,
            "{slug}: pieces start exactly at the cuts"
        );
        let joined: Vec<u8> = correct.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(
            joined, trace.stream,
            "{slug}: the pieces make up the stream"
        );
    }
}

/// The run without its timing: what was called, asked, moved and returned.
fn calls(side: &SideTrace) -> Vec<(Role, Call, usize, usize, Vec<u8>)> {
    side.events
        .iter()
        .map(|e| (e.role, e.call, e.asked, e.moved, e.bytes.clone()))
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_run() {
    for slug in ["partial-recv", "length-prefix"] {
        let a = run(slug, 11, Mode::Lockstep);
        let b = run(slug, 11, Mode::Lockstep);
        assert_eq!(a.cuts, b.cuts);
        for side in Side::BOTH {
            let mut a = calls(a.side(side));
            let mut b = calls(b.side(side));
            // Sender and relay run concurrently; each one's own calls are in order.
            for role in [Role::Sender, Role::Receiver, Role::Relay] {
                let only = |v: &Vec<(Role, Call, usize, usize, Vec<u8>)>| {
                    v.iter()
                        .filter(|c| c.0 == role)
                        .cloned()
                        .collect::<Vec<_>>()
                };
                assert_eq!(only(&a), only(&b), "{slug} {side:?} {role:?}");
            }
            a.clear();
            b.clear();
        }
    }
}

#[test]
fn recv_zero_naive_spins_and_is_stopped_by_the_call_budget() {
    let trace = run("recv-zero", 1, Mode::Lockstep);
    match trace.naive.outcome {
        Outcome::Spinning { calls, line, .. } => {
            assert!(calls > Limits::default().reads_after_eof, "calls {calls}");
            assert!(line.is_some());
        }
        ref other => panic!("naive should spin, was {other:?}"),
    }
    assert!(trace.correct.outcome.is_delivered());
    let end_reads = trace
        .correct
        .receiver_reads()
        .filter(|e| e.result == CallResult::EndOfStream)
        .count();
    assert_eq!(end_reads, 1, "the correct loop stops at the first 0");
}

#[test]
fn free_run_delivers_on_the_correct_side() {
    for slug in ["partial-recv", "recv-zero", "length-prefix"] {
        for seed in 1..=3 {
            let trace = run(slug, seed, Mode::FreeRun);
            assert!(
                trace.correct.outcome.is_delivered(),
                "{slug} seed {seed}: {:?}",
                trace.correct.outcome
            );
            assert_eq!(trace.mode, Mode::FreeRun);
            // The wire still cuts where the plan says; only how reads split is up to the kernel.
            let offsets: Vec<usize> = pieces(&trace.correct)
                .iter()
                .skip(1)
                .map(|(at, _)| *at)
                .collect();
            assert_eq!(offsets, trace.cuts);
        }
    }
    // recv-zero's naive loop spins whatever the kernel does.
    assert_eq!(
        run("recv-zero", 2, Mode::FreeRun).naive.outcome.kind(),
        OutcomeKind::Spinning
    );
}

/// Sends, then waits for a reply that never comes (the receiver never replies).
fn send_then_wait_for_reply(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    send_all(sock, messages)?;
    let mut reply = [0u8; 8];
    sock.recv(&mut reply)?;
    Ok(())
}

fn panics(_: &mut Sock, _: &mut Inbox) -> io::Result<()> {
    panic!("teaching code gave up")
}

fn fails(sock: &mut Sock, _: &mut Inbox) -> io::Result<()> {
    let mut buf = [0u8; 4];
    sock.recv(&mut buf)?;
    Err(io::Error::new(io::ErrorKind::InvalidData, "bad frame"))
}

fn scenario(messages: &[&[u8]], cuts: CutPlan) -> Scenario {
    Scenario {
        messages: messages.iter().map(|m| m.to_vec()).collect(),
        framing: Framing::Raw,
        cuts,
        limits: Limits {
            // Long enough that only the exact detection can end these runs.
            quiet_ms: 60_000,
            ..Limits::default()
        },
        sender_socket: SocketTuning::default(),
    }
}

#[test]
fn waiting_for_bytes_that_never_come_is_detected_as_stuck() {
    let stuck = Program {
        send: send_then_wait_for_reply,
        recv: read_to_end,
    };
    let trace = engine::run(
        "test",
        &scenario(&[b"ping"], CutPlan::default()),
        stuck,
        stuck,
        RunOptions::default(),
    )
    .unwrap();
    for side in Side::BOTH {
        match trace.side(side).outcome {
            Outcome::Stuck {
                role, waited_ms, ..
            } => {
                assert_eq!(role, Role::Receiver);
                assert!(
                    waited_ms < 60_000,
                    "{side:?}: found by detection, not by the time limit"
                );
            }
            ref other => panic!("{side:?}: expected stuck, got {other:?}"),
        }
    }
    // The receiver got the bytes before it got stuck.
    assert_eq!(trace.naive.receiver_reads().next().unwrap().bytes, b"ping");
}

#[test]
fn a_panic_and_an_error_in_teaching_code_are_outcomes_not_crashes() {
    let trace = engine::run(
        "test",
        &scenario(&[b"data"], CutPlan::default()),
        Program {
            send: send_all,
            recv: panics,
        },
        Program {
            send: send_all,
            recv: fails,
        },
        RunOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        &trace.naive.outcome,
        Outcome::Error { role: Role::Receiver, error, message }
            if error == "panic" && message == "teaching code gave up"
    ));
    assert!(matches!(
        &trace.correct.outcome,
        Outcome::Error { error, .. } if error == "invalid-data"
    ));
}

#[test]
fn a_receiver_that_stops_early_loses_data() {
    fn first_only(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
        let mut buf = [0u8; 3];
        sock.recv_exact(&mut buf)?;
        inbox.deliver(&buf);
        Ok(())
    }
    let program = Program {
        send: send_all,
        recv: first_only,
    };
    let trace = engine::run(
        "test",
        &scenario(&[b"one", b"two"], CutPlan::default()),
        program,
        program,
        RunOptions::default(),
    )
    .unwrap();
    assert_eq!(
        trace.naive.outcome,
        Outcome::Lost {
            delivered: 1,
            expected: 2
        }
    );
}

#[test]
fn stepping_lets_one_call_through_per_step() {
    let lesson = lesson("partial-recv");
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = lesson
        .start(RunOptions {
            seed: 1,
            stepping: true,
            observer: Some(tx),
            ..RunOptions::default()
        })
        .unwrap();
    let both_at_gate = |s: &engine::SideStatus| {
        matches!(s.sender, ActorState::AtGate { .. })
            && matches!(s.receiver, ActorState::AtGate { .. })
    };
    for side in Side::BOTH {
        assert!(handle.wait_for(side, Duration::from_secs(30), both_at_gate));
    }
    // Nothing has run yet: every thread waits for its first step (the only news is
    // that they wait).
    while let Ok(event) = rx.try_recv() {
        assert!(
            matches!(event, LiveEvent::Waiting { .. }),
            "a call before the first step: {event:?}"
        );
    }
    let mut teaching_calls = [0usize; 2];
    let mut steps = 0;
    while !handle.is_finished() && steps < 100 {
        handle.step();
        steps += 1;
        for side in Side::BOTH {
            assert!(handle.wait_for(side, Duration::from_secs(30), |s| s.is_paused()));
        }
        while let Ok(event) = rx.try_recv() {
            if let LiveEvent::Call { side, event } = event
                && event.role != Role::Relay
                && event.call != Call::Deliver
            {
                teaching_calls[side as usize] += 1;
            }
        }
        for side in Side::BOTH {
            assert!(
                teaching_calls[side as usize] <= steps,
                "{side:?}: {} calls after {steps} steps",
                teaching_calls[side as usize]
            );
        }
    }
    let trace = handle.join().unwrap();
    assert!(trace.correct.outcome.is_delivered());
    assert!(
        steps > 3,
        "the correct side needed several steps, took {steps}"
    );
}

#[test]
fn abandoning_a_stepping_run_ends_it_promptly() {
    let handle = lesson("length-prefix")
        .start(RunOptions {
            stepping: true,
            ..RunOptions::default()
        })
        .unwrap();
    handle.step();
    handle.abandon();
    let trace = handle.join().unwrap();
    assert!(!trace.correct.outcome.is_delivered());
}

#[test]
fn a_large_write_with_small_buffers_really_returns_a_short_count() {
    fn one_send(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
        sock.send(&messages[0])?; // one write(): may take only part
        Ok(())
    }
    let mut scenario = scenario(&[&vec![b'x'; 1 << 20]], CutPlan::default());
    scenario.sender_socket = SocketTuning {
        send_buffer: Some(4096),
        recv_buffer: Some(4096),
        send_timeout: Some(Duration::from_millis(100)),
    };
    let program = Program {
        send: one_send,
        recv: read_to_end,
    };
    let trace = engine::run("test", &scenario, program, program, RunOptions::default()).unwrap();
    let send = trace
        .naive
        .events
        .iter()
        .find(|e| e.call == Call::Send)
        .unwrap();
    assert_eq!(send.asked, 1 << 20);
    assert!(
        0 < send.moved && send.moved < send.asked,
        "write() took {} of {} bytes",
        send.moved,
        send.asked
    );
    // What the receiver got is exactly what the kernel accepted.
    match &trace.naive.outcome {
        Outcome::Wrong { got, .. } => assert_eq!(got.len(), send.moved),
        other => panic!("a truncated message is wrong, was {other:?}"),
    }
}

#[test]
fn a_large_write_without_tuning_goes_through_whole() {
    // The relay reads while the sender is inside write(), so nothing deadlocks.
    fn read_to_end_in_big_chunks(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
        let mut all = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match sock.recv(&mut buf)? {
                0 => break,
                n => all.extend_from_slice(&buf[..n]),
            }
        }
        inbox.deliver(&all);
        Ok(())
    }
    let program = Program {
        send: send_all,
        recv: read_to_end_in_big_chunks,
    };
    let big = vec![7u8; 4 << 20];
    let trace = engine::run(
        "test",
        &scenario(
            &[&big],
            CutPlan::pieces(Pieces::Slicer {
                average: 300_000,
                variation: 100_000,
            }),
        ),
        program,
        program,
        RunOptions::default(),
    )
    .unwrap();
    assert!(
        trace.correct.outcome.is_delivered(),
        "{:?}",
        trace.correct.outcome
    );
}

#[test]
fn explicit_cuts_inside_frames_are_honoured() {
    let mut scenario = (lesson("length-prefix").scenario)();
    scenario.cuts = CutPlan::default()
        .with_cut(CutAt::InFrame { message: 1, at: 1 })
        .with_cut(CutAt::InFrame { message: 1, at: 4 });
    let lesson = lesson("length-prefix");
    let trace = engine::run(
        lesson.slug,
        &scenario,
        lesson.naive,
        lesson.correct,
        RunOptions::default(),
    )
    .unwrap();
    let second = trace.spans[1].start;
    assert_eq!(trace.cuts, vec![second + 1, second + 4]);
    assert!(trace.correct.outcome.is_delivered());
}

/// Sends from lines marked `// site: NAME`, through every wrapper that passes its
/// caller's line on, and once through std's `write_all`, which does not.
fn send_from_marked_sites(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    sock.send_all(&messages[0])?; // site: send_all
    sock.write_all(&messages[1])?; // site: write_all
    let mut out = sock.buffered();
    out.write_all(&messages[2])?; // site: buffered write_all
    out.flush()?; // site: flush
    drop(out);
    io::Write::write_all(sock, &messages[3])?; // std's write_all: its own line, not this one
    sock.shutdown(std::net::Shutdown::Write) // site: shutdown
}

fn recv_from_marked_sites(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    for _ in 0..4 {
        let mut message = [0u8; 4];
        sock.read_exact(&mut message)?; // site: read_exact
        inbox.deliver(&message); // site: deliver
    }
    let mut end = [0u8; 1];
    sock.recv(&mut end)?; // site: recv
    Ok(())
}

/// The line of this file marked `// site: NAME`.
fn marked_line(name: &str) -> u32 {
    let marker = format!("// site: {name}");
    let lines: Vec<u32> = include_str!("engine.rs")
        .lines()
        .enumerate()
        .filter(|(_, line)| line.ends_with(&marker))
        .map(|(index, _)| index as u32 + 1)
        .collect();
    assert_eq!(lines.len(), 1, "one line marked {marker}");
    lines[0]
}

#[test]
fn each_call_records_the_line_it_was_made_on_in_the_teaching_file() {
    let messages: [&[u8]; 4] = [b"aaaa", b"bbbb", b"cccc", b"dddd"];
    let program = Program {
        send: send_from_marked_sites,
        recv: recv_from_marked_sites,
    };
    let run_with = |teaching_file| {
        let options = RunOptions {
            teaching_file,
            ..RunOptions::default()
        };
        let scenario = scenario(&messages, CutPlan::default());
        engine::run("test", &scenario, program, program, options).unwrap()
    };
    let site = |name| Some(marked_line(name));
    let trace = run_with(Some(file!()));
    for side in Side::BOTH {
        let side = trace.side(side);
        assert!(side.outcome.is_delivered(), "{:?}", side.outcome);
        let mut seen = std::collections::BTreeSet::new();
        for event in side.events.iter().filter(|e| e.role != Role::Relay) {
            let expected = match event.call {
                Call::Send if event.bytes.starts_with(b"a") => site("send_all"),
                Call::Send if event.bytes.starts_with(b"b") => site("write_all"),
                // The flush's own send() calls are made from where flush() was.
                Call::Send if event.bytes.starts_with(b"c") => site("flush"),
                Call::Send => None,
                Call::Buffer => site("buffered write_all"),
                Call::Flush => site("flush"),
                Call::Shutdown => site("shutdown"),
                Call::Recv if event.moved > 0 => site("read_exact"),
                Call::Recv => site("recv"),
                Call::Deliver => site("deliver"),
                other => panic!("no such call in this program: {other:?}"),
            };
            assert_eq!(event.line, expected, "{event:?}");
            seen.insert(event.line);
        }
        // Every site was met, and std's write_all too.
        assert_eq!(seen.len(), 9, "{seen:?}");
    }
    // Told no teaching file, the engine records no lines at all.
    let untold = run_with(None);
    for side in Side::BOTH {
        let side = untold.side(side);
        assert!(side.outcome.is_delivered());
        assert!(side.events.iter().all(|e| e.line.is_none()));
    }
}
