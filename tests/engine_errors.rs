//! Real-socket tests of the engine's failure support: aborts and resets passed on by
//! the relay, read timeouts, the buffered writer, settled writes and reports.

mod common;

use std::io;
use std::time::Duration;

use sockstep::engine::{
    self, Call, CallResult, CutPlan, Event, Framing, Inbox, Limits, Outcome, Program, Role,
    RunOptions, Scenario, Side, SideTrace, Sock, SocketTuning, Trace, is_report, report,
};

use common::{read_to_end, send_all};

/// Long enough that only the exact detection can end a stuck run within a test.
const QUIET_MS: u64 = 60_000;

fn scenario(messages: Vec<Vec<u8>>) -> Scenario {
    Scenario {
        messages,
        framing: Framing::Raw,
        cuts: CutPlan::default(),
        limits: Limits {
            quiet_ms: QUIET_MS,
            ..Limits::default()
        },
        sender_socket: SocketTuning::default(),
    }
}

fn run(scenario: &Scenario, naive: Program, correct: Program) -> Trace {
    engine::run("test", scenario, naive, correct, RunOptions::default()).expect("run completes")
}

fn run_both(scenario: &Scenario, program: Program) -> Trace {
    run(scenario, program, program)
}

fn calls(side: &SideTrace, role: Role, call: Call) -> Vec<&Event> {
    side.events
        .iter()
        .filter(|e| e.role == role && e.call == call)
        .collect()
}

fn error(kind: &str) -> CallResult {
    CallResult::Error {
        error: kind.to_string(),
        message: String::new(),
    }
}

/// The result without the system's wording of the message.
fn kind_of(result: &CallResult) -> CallResult {
    match result {
        CallResult::Error { error: kind, .. } => error(kind),
        other => other.clone(),
    }
}

fn expect_kind(result: io::Result<usize>, kind: io::ErrorKind) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(e),
        Ok(n) => Err(io::Error::other(format!("expected {kind:?}, got Ok({n})"))),
    }
}

// --- abort and reset -----------------------------------------------------------

/// Sends its messages, then aborts instead of closing.
fn send_then_abort(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    send_all(sock, messages)?;
    sock.abort()?;
    // After abort() the socket is gone, as after a close.
    expect_kind(sock.send(b"x"), io::ErrorKind::NotConnected)
}

/// Delivers what arrives; a reset is reported, an end of stream delivers as is.
fn read_until_reset(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut all = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match sock.recv(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) => {
                inbox.deliver(&all);
                inbox.report(&e);
                return Ok(());
            }
        }
    }
    inbox.deliver(&all);
    Ok(())
}

#[test]
fn an_aborting_sender_is_a_reset_at_the_receiver_after_its_data() {
    let program = Program {
        send: send_then_abort,
        recv: read_until_reset,
    };
    let trace = run_both(
        &scenario(vec![
            b"last words".to_vec(),
            report(io::ErrorKind::ConnectionReset),
        ]),
        program,
    );
    for side in Side::BOTH {
        let side = trace.side(side);
        assert!(side.outcome.is_delivered(), "{:?}", side.outcome);
        let abort = calls(side, Role::Sender, Call::Abort);
        assert_eq!(abort.len(), 1);
        assert!(abort[0].line.is_none(), "the test is not teaching code");
        assert_eq!(calls(side, Role::Relay, Call::Abort).len(), 1);
        let reads: Vec<CallResult> = side.receiver_reads().map(|e| kind_of(&e.result)).collect();
        // The data sent before the RST arrives first; then the reset, not a close.
        assert_eq!(reads, [CallResult::Ok, error("connection-reset")]);
        // The sender's call after abort() failed without reaching the kernel.
        assert_eq!(
            calls(side, Role::Sender, Call::Send)
                .last()
                .map(|e| kind_of(&e.result)),
            Some(error("not-connected"))
        );
    }
}

/// Sends a request, then expects the server to vanish with a reset: the next read
/// says so, and the write after it fails with a broken pipe.
fn request_to_a_server_that_aborts(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    send_all(sock, messages)?;
    expect_kind(sock.recv(&mut [0u8; 8]), io::ErrorKind::ConnectionReset)?;
    expect_kind(sock.send(b"anyone?"), io::ErrorKind::BrokenPipe)
}

fn read_one_then_abort(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut request = [0u8; 7];
    sock.recv_exact(&mut request)?;
    inbox.deliver(&request);
    sock.abort()
}

#[test]
fn an_aborting_receiver_resets_the_sender_and_a_later_write_is_a_broken_pipe() {
    let program = Program {
        send: request_to_a_server_that_aborts,
        recv: read_one_then_abort,
    };
    let trace = run_both(&scenario(vec![b"request".to_vec()]), program);
    for side in Side::BOTH {
        let side = trace.side(side);
        assert!(side.outcome.is_delivered(), "{:?}", side.outcome);
        let sender: Vec<(Call, CallResult)> = side
            .events
            .iter()
            .filter(|e| e.role == Role::Sender)
            .map(|e| (e.call, kind_of(&e.result)))
            .collect();
        assert_eq!(
            sender,
            [
                (Call::Send, CallResult::Ok),
                (Call::Recv, error("connection-reset")),
                (Call::Send, error("broken-pipe")),
            ]
        );
    }
}

/// More writes than the reset can take to arrive, however busy the machine.
const WRITES: u32 = 500_000;

/// Sends a request and reads the 3-byte answer, but not the close after it (as a
/// client that keeps a connection for later), then writes on until a write fails;
/// the failure must be a broken pipe.
fn write_until_broken_pipe(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    send_all(sock, messages)?;
    sock.recv_exact(&mut [0u8; 3])?;
    for _ in 0..WRITES {
        match sock.send(b"more") {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("every write succeeded"))
}

fn answer_then_close(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut request = [0u8; 7];
    sock.recv_exact(&mut request)?;
    inbox.deliver(&request);
    sock.send_all(b"bye")?;
    Ok(()) // returning closes: whatever comes next is for nobody
}

#[test]
fn writing_on_after_the_receiver_has_closed_ends_in_a_broken_pipe() {
    let program = Program {
        send: write_until_broken_pipe,
        recv: answer_then_close,
    };
    let mut scenario = scenario(vec![b"request".to_vec()]);
    scenario.limits.max_calls = 2 * WRITES;
    let trace = run_both(&scenario, program);
    for side in Side::BOTH {
        let side = trace.side(side);
        assert!(side.outcome.is_delivered(), "{:?}", side.outcome);
        // The relay refused the bytes for the closed receiver with a reset, after
        // passing its close on: the sender's write then failed as with a real peer.
        let sends = calls(side, Role::Sender, Call::Send);
        assert_eq!(kind_of(&sends.last().unwrap().result), error("broken-pipe"));
    }
}

// --- read timeouts -------------------------------------------------------------

/// Sends, then waits for any answer and returns.
fn send_then_await_answer(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    send_all(sock, messages)?;
    sock.recv(&mut [0u8; 8])?;
    Ok(())
}

/// Reads the request, then waits for more with a timeout; reports the silence and
/// answers so the sender can finish.
fn timed_reader(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    sock.set_read_timeout(Some(Duration::from_millis(20)))?;
    let mut request = [0u8; 4];
    sock.recv_exact(&mut request)?;
    inbox.deliver(&request);
    match sock.recv(&mut [0u8; 1]) {
        Err(e) => inbox.report(&e),
        Ok(_) => return Err(io::Error::other("expected silence")),
    }
    sock.send_all(b"bye")
}

/// The same, but it clears the timeout first: then the wait is for ever.
fn untimed_reader(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    sock.set_read_timeout(Some(Duration::from_millis(20)))?;
    sock.set_read_timeout(None)?;
    timed_reader_without_setting(sock, inbox)
}

fn timed_reader_without_setting(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut request = [0u8; 4];
    sock.recv_exact(&mut request)?;
    inbox.deliver(&request);
    sock.recv(&mut [0u8; 1])?;
    Ok(())
}

#[test]
fn a_read_with_a_timeout_times_out_for_real_instead_of_being_stuck() {
    let trace = run(
        &scenario(vec![b"ping".to_vec(), report(io::ErrorKind::TimedOut)]),
        Program {
            send: send_then_await_answer,
            recv: untimed_reader,
        },
        Program {
            send: send_then_await_answer,
            recv: timed_reader,
        },
    );
    // Without a timeout both programs wait for each other: stuck, found exactly.
    match trace.naive.outcome {
        Outcome::Stuck {
            role: Role::Receiver,
            waited_ms,
            ..
        } => assert!(waited_ms < QUIET_MS, "found by detection"),
        ref other => panic!("expected stuck, got {other:?}"),
    }
    // With one, the same wait ends with the kernel's timeout error.
    assert!(
        trace.correct.outcome.is_delivered(),
        "{:?}",
        trace.correct.outcome
    );
    let last_read = trace.correct.receiver_reads().last().unwrap();
    assert_eq!(last_read.result, CallResult::TimedOut);
    assert_eq!(
        calls(&trace.correct, Role::Receiver, Call::SetTimeout).len(),
        1
    );
    assert_eq!(trace.correct.delivered[1], b"<timed-out>");
}

// --- the buffered writer ---------------------------------------------------------

fn buffered_then_flushed(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    let mut out = sock.buffered();
    for message in messages {
        out.write_all(message)?;
    }
    assert_eq!(out.buffer().len(), 6, "all of it is still in user space");
    out.flush()?;
    assert!(out.buffer().is_empty());
    Ok(())
}

fn buffered_then_waits(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    let mut out = sock.buffered();
    for message in messages {
        out.write_all(message)?;
    }
    out.get_mut().recv(&mut [0u8; 1])?; // waits for an answer to nothing
    Ok(())
}

#[test]
fn buffered_bytes_stay_in_user_space_until_flushed() {
    let trace = run(
        &scenario(vec![b"abc".to_vec(), b"def".to_vec()]),
        Program {
            send: buffered_then_waits,
            recv: read_to_end,
        },
        Program {
            send: buffered_then_flushed,
            recv: read_to_end,
        },
    );
    // Unflushed: two Buffer events, no system call, nothing on the wire, stuck.
    let naive = &trace.naive;
    assert!(
        matches!(naive.outcome, Outcome::Stuck { waited_ms, .. } if waited_ms < QUIET_MS),
        "{:?}",
        naive.outcome
    );
    let buffered: Vec<&[u8]> = calls(naive, Role::Sender, Call::Buffer)
        .iter()
        .map(|e| e.bytes.as_slice())
        .collect();
    assert_eq!(buffered, [b"abc", b"def"]);
    assert!(calls(naive, Role::Sender, Call::Send).is_empty());
    assert!(calls(naive, Role::Sender, Call::Flush).is_empty());
    assert_eq!(naive.pieces().count(), 0);
    // Flushed: one send() for both writes, then the Flush that made it.
    let correct = &trace.correct;
    let sender: Vec<(Call, usize)> = correct
        .events
        .iter()
        .filter(|e| e.role == Role::Sender)
        .map(|e| (e.call, e.moved))
        .collect();
    assert_eq!(
        sender,
        [
            (Call::Buffer, 3),
            (Call::Buffer, 3),
            (Call::Send, 6),
            (Call::Flush, 6)
        ]
    );
    assert_eq!(correct.delivered, [b"abcdef".to_vec()]);
}

fn small_buffer_overflows(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    let mut out = sock.buffered_with_capacity(4);
    out.write_all(&messages[0][..3])?; // fits
    out.write_all(&messages[0][3..8])?; // does not fit: the 3 go first, then these
    // 5, as large as the buffer, straight through
    out.write_all(&messages[0][8..])?; // fits
    Ok(()) // dropping the writer flushes the 2 it still holds, as BufWriter does
}

#[test]
fn a_full_buffer_flushes_a_large_write_bypasses_it_and_drop_flushes_the_rest() {
    let program = Program {
        send: small_buffer_overflows,
        recv: read_to_end,
    };
    let trace = run_both(&scenario(vec![b"abcdefghij".to_vec()]), program);
    let sender: Vec<(Call, Vec<u8>)> = trace
        .correct
        .events
        .iter()
        .filter(|e| e.role == Role::Sender)
        .map(|e| (e.call, e.bytes.clone()))
        .collect();
    let expected: Vec<(Call, Vec<u8>)> = [
        (Call::Buffer, &b"abc"[..]),
        (Call::Send, b"abc"),
        (Call::Flush, b"abc"),
        (Call::Send, b"defgh"),
        (Call::Buffer, b"ij"),
        (Call::Send, b"ij"),
        (Call::Flush, b"ij"),
    ]
    .iter()
    .map(|(call, bytes)| (*call, bytes.to_vec()))
    .collect();
    assert_eq!(sender, expected);
    assert!(trace.correct.outcome.is_delivered());
}

// --- settled writes on a tuned socket -------------------------------------------

#[test]
fn on_a_tuned_socket_every_write_of_a_long_send_all_is_short_and_none_fails() {
    let mut tuned = scenario(vec![vec![b'x'; 40_000]]);
    tuned.sender_socket = SocketTuning {
        send_buffer: Some(2048),
        recv_buffer: Some(2048),
        send_timeout: Some(Duration::from_millis(2)),
    };
    let program = Program {
        send: send_all,
        recv: read_to_end,
    };
    let trace = run_both(&tuned, program);
    for side in Side::BOTH {
        let side = trace.side(side);
        assert!(side.outcome.is_delivered(), "{:?}", side.outcome);
        let sends = calls(side, Role::Sender, Call::Send);
        assert!(sends.len() >= 4, "{} sends", sends.len());
        // Each write started with the relay caught up, so each one made progress
        // before its timeout: short counts, never a timeout error.
        assert!(
            sends
                .iter()
                .all(|e| e.result == CallResult::Ok && e.moved > 0)
        );
        assert!(sends[..sends.len() - 1].iter().all(|e| e.moved < e.asked));
        assert_eq!(sends.iter().map(|e| e.moved).sum::<usize>(), 40_000);
    }
}

// --- reports ----------------------------------------------------------------------

/// Fails unless it is given exactly the data messages, never a report.
fn send_data_only(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    if messages.iter().any(|m| is_report(m)) {
        return Err(io::Error::other("a report was given to the sender"));
    }
    send_all(sock, messages)?;
    sock.abort()
}

fn reports_wrong_kind(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut data = [0u8; 4];
    sock.recv_exact(&mut data)?;
    inbox.deliver(&data);
    let _ = sock.recv(&mut data);
    inbox.report(&io::ErrorKind::BrokenPipe.into());
    Ok(())
}

fn reports_nothing(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut data = [0u8; 4];
    sock.recv_exact(&mut data)?;
    inbox.deliver(&data);
    let _ = sock.recv(&mut data);
    Ok(())
}

#[test]
fn reports_are_judged_like_messages_and_never_sent() {
    let expected = vec![b"data".to_vec(), report(io::ErrorKind::ConnectionReset)];
    let trace = run(
        &scenario(expected.clone()),
        Program {
            send: send_data_only,
            recv: reports_wrong_kind,
        },
        Program {
            send: send_data_only,
            recv: reports_nothing,
        },
    );
    // Only the data is on the wire.
    assert_eq!(trace.stream, b"data");
    assert_eq!(trace.messages, expected);
    match &trace.naive.outcome {
        Outcome::Wrong {
            index: 1,
            expected: Some(want),
            got,
        } => {
            assert_eq!(want, b"<connection-reset>");
            assert_eq!(got, b"<broken-pipe>");
            let text = trace.naive.outcome.describe();
            assert!(text.contains("the report"), "{text}");
        }
        other => panic!("a misnamed report is wrong, was {other:?}"),
    }
    assert_eq!(
        trace.correct.outcome,
        Outcome::Lost {
            delivered: 1,
            expected: 2
        },
        "a missing report is a lost message"
    );
}

#[test]
fn report_names_follow_the_error_kind_and_a_timeout_is_one_name() {
    assert_eq!(
        report(io::ErrorKind::ConnectionReset),
        b"<connection-reset>"
    );
    assert_eq!(report(io::ErrorKind::BrokenPipe), b"<broken-pipe>");
    assert_eq!(report(io::ErrorKind::WouldBlock), b"<timed-out>");
    assert_eq!(report(io::ErrorKind::TimedOut), b"<timed-out>");
    assert!(is_report(b"<timed-out>"));
    assert!(!is_report(b"<hello>"), "only failure kinds are reports");
    assert!(!is_report(b"timed-out"));
}
