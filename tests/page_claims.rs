//! Sentences on the lesson pages that `sockstep check` does not prove by itself,
//! each shown here by real runs over real sockets.

mod common;

use std::io::{Read, Write};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{lesson, run};
use sockstep::engine::{
    Call, CallResult, Limits, Mode, Outcome, Role, Side, SocketTuning, Trace, loopback_pair,
};

fn receiver_calls(trace: &Trace) -> Vec<&sockstep::engine::Event> {
    trace
        .naive
        .events
        .iter()
        .filter(|e| e.role == Role::Receiver)
        .collect()
}

/// partial-send: "reading the sizes back gives 4,608 and 4,096" (Linux).
#[cfg(target_os = "linux")]
#[test]
fn partial_send_buffers_read_back_as_linux_sizes_them() {
    let tuning = (lesson("partial-send").scenario)().sender_socket;
    let (client, server) = loopback_pair(tuning).unwrap();
    let client = socket2::SockRef::from(&client);
    let server = socket2::SockRef::from(&server);
    assert_eq!(tuning.send_buffer, Some(2048));
    assert_eq!(tuning.recv_buffer, Some(2048));
    assert_eq!(client.send_buffer_size().unwrap(), 4608);
    assert_eq!(server.recv_buffer_size().unwrap(), 4096);
}

/// partial-send: "On an ordinary blocking socket, with no send timeout, Linux's
/// write() waits until it has taken every byte, however big the write and however
/// slow the reader."
#[cfg(target_os = "linux")]
#[test]
fn a_blocking_write_without_timeout_takes_every_byte() {
    let (mut client, mut server) = loopback_pair(SocketTuning::default()).unwrap();
    let reader = thread::spawn(move || {
        let mut total = 0;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            thread::sleep(Duration::from_millis(5));
            match server.read(&mut chunk).unwrap() {
                0 => return total,
                n => total += n,
            }
        }
    });
    let big = vec![b'x'; 1 << 20];
    assert_eq!(client.write(&big).unwrap(), big.len());
    drop(client);
    assert_eq!(reader.join().unwrap(), big.len());
}

/// partial-send: against a plain reader "the short counts still happen ... and a
/// write that finds no room at all for the whole 2 ms fails instead". Shown against
/// a reader that reads nothing until both writes are done.
#[test]
fn a_tight_socket_returns_short_then_fails_with_would_block() {
    let tuning = (lesson("partial-send").scenario)().sender_socket;
    let (mut client, mut server) = loopback_pair(tuning).unwrap();
    let (done, writes_done) = mpsc::channel::<()>();
    let reader = thread::spawn(move || {
        writes_done.recv().unwrap();
        let mut all = Vec::new();
        server.read_to_end(&mut all).unwrap();
        all.len()
    });
    let upload = vec![b'x'; 9000];
    let first = client.write(&upload).unwrap();
    assert!(
        0 < first && first < upload.len(),
        "first write took {first}"
    );
    let second = client.write(&upload[first..]).unwrap_err();
    assert!(
        matches!(
            second.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{second}"
    );
    done.send(()).unwrap();
    drop(client);
    assert_eq!(reader.join().unwrap(), first);
}

/// errors: "after its recv() has failed with connection-reset, the naive server still
/// answers, and that send → error broken-pipe"; the correct server never writes
/// after the reset.
#[test]
fn errors_naive_server_writes_into_a_broken_pipe() {
    for seed in 1..=30 {
        let trace = run("errors", seed, Mode::Lockstep);
        let naive = receiver_calls(&trace);
        let reset = naive
            .iter()
            .position(|e| {
                matches!(&e.result, CallResult::Error { error, .. } if error == "connection-reset")
            })
            .expect("the naive server's recv meets the reset");
        assert_eq!(naive[reset].call, Call::Recv);
        let last = naive.last().unwrap();
        assert_eq!(last.call, Call::Send, "seed {seed}");
        assert!(
            matches!(&last.result, CallResult::Error { error, .. } if error == "broken-pipe"),
            "seed {seed}: {:?}",
            last.result
        );
        let correct = &trace.correct.events;
        let reset = correct
            .iter()
            .position(|e| matches!(&e.result, CallResult::Error { error, .. } if error == "connection-reset"))
            .expect("the correct server meets the reset");
        assert!(
            correct[reset..]
                .iter()
                .all(|e| !(e.role == Role::Receiver && e.call == Call::Send)),
            "seed {seed}: the correct server writes after the reset"
        );
    }
}

/// length-prefix: "the naive server ... delivers an empty message where hello was
/// sent ... parse_length fails ... On seeds 1 to 200 it ends this way every time,
/// after one to six wrong messages ... the calls list ends with the recv of the
/// bytes it could not parse", and with seed 3 those bytes are `005he`.
#[test]
fn length_prefix_naive_server_ends_on_a_prefix_it_cannot_parse() {
    for seed in 1..=200 {
        let trace = run("length-prefix", seed, Mode::Lockstep);
        let delivered = &trace.naive.delivered;
        assert_eq!(delivered.first().map(Vec::len), Some(0), "seed {seed}");
        assert!(
            (1..=6).contains(&delivered.len()),
            "seed {seed}: {}",
            delivered.len()
        );
        assert!(matches!(
            trace.naive.outcome,
            Outcome::Wrong { index: 0, .. }
        ));
        let last = *receiver_calls(&trace).last().unwrap();
        assert_eq!(last.call, Call::Recv, "seed {seed}");
        let text = String::from_utf8_lossy(&last.bytes);
        assert!(
            text.trim().parse::<usize>().is_err(),
            "seed {seed}: {text:?} parses"
        );
        if seed == 3 {
            assert_eq!(last.bytes, b"005he");
        }
    }
}

/// recv-zero: "the naive side's recv() returns 0 26 times, the first and 25 more".
#[test]
fn recv_zero_naive_loop_gets_26_zeros() {
    assert_eq!(Limits::default().reads_after_eof, 25);
    for seed in 1..=5 {
        let trace = run("recv-zero", seed, Mode::Lockstep);
        let zeros = receiver_calls(&trace)
            .iter()
            .filter(|e| e.result == CallResult::EndOfStream)
            .count();
        assert_eq!(zeros, 26);
        assert!(
            trace
                .naive
                .outcome
                .describe()
                .contains("returned 0 (peer closed) 26 times"),
            "{}",
            trace.naive.outcome.describe()
        );
    }
}

/// fixed-length: "The correct side delivers all 10 bytes intact ... stopping at the
/// first NUL (strlen()) would deliver `id` and lose the rest."
#[test]
fn fixed_length_carries_nul_bytes_that_a_c_string_length_would_cut() {
    let binary = &(lesson("fixed-length").scenario)().messages[2];
    assert_eq!(binary.len(), 10);
    assert!(binary.contains(&0) && binary.last() != Some(&0));
    let c_string_len = binary.iter().position(|&b| b == 0).unwrap();
    assert_eq!(&binary[..c_string_len], b"id");
    for seed in 1..=20 {
        let trace = run("fixed-length", seed, Mode::Lockstep);
        assert_eq!(&trace.correct.delivered[2], binary, "seed {seed}");
    }
}

/// fixed-length: the HOWTO's loop to MSGLEN over the message: "With hello it sends
/// the 5 bytes, then calls send() with nothing left to send, which returns 0, and
/// reports a broken connection ... With a 20-byte message, one send() takes all 20 ...
/// the next frame starts with the message's last 4 bytes."
#[test]
fn fixed_length_msglen_mistake_on_a_real_socket() {
    use sockstep::engine::{Pacing, Sock};
    use sockstep::teaching::fixed_length::{MSGLEN, send_unpadded};

    let connect = || {
        let (client, server) = loopback_pair(SocketTuning::default()).unwrap();
        (Sock::plain(client, Pacing::default()), server)
    };
    let read_all = |mut server: std::net::TcpStream| {
        let mut wire = Vec::new();
        server.read_to_end(&mut wire).unwrap();
        wire
    };

    let (mut sock, server) = connect();
    let error = send_unpadded(&mut sock, b"hello").unwrap_err();
    assert_eq!(error.to_string(), "socket connection broken");
    // ...on a connection that is fine: the next write goes out.
    sock.write_all(b"!").unwrap();
    drop(sock);
    assert_eq!(read_all(server), b"hello!");

    let (mut sock, server) = connect();
    let long = b"twenty bytes, not 16";
    assert_eq!(long.len(), 20);
    send_unpadded(&mut sock, long).unwrap();
    drop(sock);
    let wire = read_all(server);
    assert_eq!(wire, long);
    // Read as MSGLEN-byte frames: the second frame starts with its last 4 bytes.
    assert_eq!(wire.chunks(MSGLEN).nth(1), Some(&long[16..]));
}

/// errors: the correct side's outcome counts its one message and two reports apart.
#[test]
fn errors_outcome_counts_messages_and_reports_apart() {
    let trace = run("errors", 1, Mode::Lockstep);
    assert_eq!(
        trace.correct.outcome.describe(),
        "delivered the message and 2 reports"
    );
    let trace = run("welcome", 1, Mode::Lockstep);
    assert_eq!(trace.correct.outcome.describe(), "delivered all 2 messages");
}

/// partial-send: "That write() takes 4,096 bytes (on every seed)"; the correct
/// upload takes "send 9000 → 4096, send 4904 → 3072 and send 1832 → 1832"; "the
/// counts are the same on every run" (Linux's buffer sizes).
#[cfg(target_os = "linux")]
#[test]
fn partial_send_counts_are_the_same_on_every_seed() {
    let sends = |side: &sockstep::engine::SideTrace| -> Vec<(usize, usize)> {
        side.events
            .iter()
            .filter(|e| e.role == Role::Sender && e.call == Call::Send)
            .map(|e| (e.asked, e.moved))
            .collect()
    };
    for seed in 1..=30 {
        let trace = run("partial-send", seed, Mode::Lockstep);
        assert_eq!(sends(&trace.naive), [(9000, 4096)], "seed {seed}");
        assert_eq!(
            sends(&trace.correct),
            [(9000, 4096), (4904, 3072), (1832, 1832)],
            "seed {seed}"
        );
    }
}

/// What `python3 tests/peers/SCRIPT` prints; it must succeed. Fails, never skips,
/// without python3.
fn python_peer(script: &str) -> String {
    let path = format!("{}/tests/peers/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(path)
        .output()
        .expect("python3 must be installed for this test");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// errors: "In Python the same failures are exceptions, ConnectionResetError and
/// BrokenPipeError (both ConnectionErrors) ... Python ... ignore[s] SIGPIPE when a
/// program starts". Needs python3: fails, never skips, without it.
#[test]
fn errors_python_raises_connection_reset_then_broken_pipe() {
    assert_eq!(
        python_peer("reset.py"),
        "SIG_IGN\nConnectionResetError True\nBrokenPipeError True\n"
    );
}

/// errors: "In C a write to a broken connection also sends the process a SIGPIPE
/// signal, which kills it unless the program ignores that signal ...; then send()
/// returns -1 with errno set to EPIPE." Needs cc: fails, never skips, without it.
#[cfg(unix)]
#[test]
fn errors_c_gets_sigpipe_unless_it_ignores_it() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;

    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let binary = dir.join("sigpipe");
    let built = Command::new("cc")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/peers/sigpipe.c"
        ))
        .arg("-o")
        .arg(&binary)
        .status()
        .expect("cc must be installed for this test");
    assert!(built.success());
    let killed = Command::new(&binary).output().unwrap();
    let survivors = ["ignore", "nosignal"].map(|how| Command::new(&binary).arg(how).output());
    assert_eq!(
        killed.status.signal(),
        Some(13),
        "SIGPIPE: {:?}",
        killed.status
    );
    for survivor in survivors {
        let survivor = survivor.unwrap();
        assert!(survivor.status.success(), "{:?}", survivor.status);
        assert_eq!(String::from_utf8_lossy(&survivor.stdout), "EPIPE\n");
    }
}

/// errors: "a process that dies with nothing unread in its sockets ends them with a
/// FIN, and its peer sees Ok(0) ... Only if bytes sat unread in its socket does its
/// kernel send a reset ... a connect() to a port where nobody listens ...
/// ConnectionRefused". A real process is killed with SIGKILL. Needs python3.
#[test]
fn errors_a_crashed_process_closes_with_fin_unless_bytes_sat_unread() {
    assert_eq!(
        python_peer("crash.py"),
        "clean b''\nunread ConnectionResetError\nnobody listening ConnectionRefusedError\n"
    );
}

/// errors: a read timeout that runs out is `WouldBlock` (EAGAIN) on Unix; std's
/// documentation of `set_read_timeout` says Windows may give `TimedOut` instead.
#[cfg(target_os = "linux")]
#[test]
fn errors_a_read_timeout_is_would_block_on_unix() {
    let (_client, mut server) = loopback_pair(SocketTuning::default()).unwrap();
    server
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    let error = server.read(&mut [0u8; 1]).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    assert_eq!(error.raw_os_error(), Some(11), "EAGAIN");
}

/// The path sizes `sockstep run SLUG --seed N --upto K` prints for a side.
fn path_at_step(trace: &Trace, step: usize, side: Side) -> sockstep::render::path::Sizes {
    let state = sockstep::render::steps::state_at(trace, step).unwrap();
    state.sides.side(side).path.clone()
}

/// The bytes of a side's reads whose fate is `fate`, at `step`.
fn bytes_by_fate(
    trace: &Trace,
    step: usize,
    side: Side,
    fate: sockstep::render::path::Fate,
) -> Vec<u8> {
    let state = sockstep::render::steps::state_at(trace, step).unwrap();
    let calls = state.sides.side(side).calls;
    let events = &trace.side(side).events;
    let received: Vec<u8> = events[..calls]
        .iter()
        .filter(|e| e.role == Role::Receiver && e.call == Call::Recv)
        .flat_map(|e| e.bytes.clone())
        .collect();
    let fates = sockstep::render::path::fates(
        events,
        &trace.stream,
        &trace.spans,
        calls,
        state.step == state.steps,
    );
    received
        .into_iter()
        .zip(fates)
        .filter(|(_, f)| *f == fate)
        .map(|(b, _)| b)
        .collect()
}

/// partial-send, "Where the bytes are": after each side's first, short, write the
/// send queue holds 3,072 bytes against a limit of 4,608 and the wire the other
/// 1,024 (steps 1 and 2).
#[cfg(target_os = "linux")]
#[test]
fn partial_send_path_after_the_short_writes() {
    for seed in [1, 2, 3] {
        let trace = run("partial-send", seed, Mode::Lockstep);
        for (step, side) in [(1, Side::Naive), (2, Side::Correct)] {
            let state = sockstep::render::steps::state_at(&trace, step).unwrap();
            let call = state.sides.side(side).call.clone().unwrap();
            assert!(call.starts_with("sender send 9000 → 4096"), "{call}");
            let path = path_at_step(&trace, step, side);
            assert_eq!(path.send_queue, Some(3072), "seed {seed} step {step}");
            assert_eq!(path.send_limit, Some(4608));
            assert_eq!(path.wire, Some(1024));
        }
    }
}

/// flush, "Where the bytes are": the naive client's 24 bytes stay in its own buffer
/// (of 8,192) with the send queue, the wire and the receive queue empty from its
/// third write to the end; the correct client's leave with its send (steps 6, 7).
#[test]
fn flush_path_keeps_the_requests_in_the_clients_buffer() {
    let trace = run("flush", 1, Mode::Lockstep);
    let steps = sockstep::render::steps::steps(&trace).len();
    let third_write = 5;
    let state = sockstep::render::steps::state_at(&trace, third_write).unwrap();
    assert_eq!(state.sides.naive.calls, 3);
    for step in third_write..=steps {
        let path = path_at_step(&trace, step, Side::Naive);
        assert_eq!(path.sender_buffer, Some(24), "step {step}");
        assert_eq!(
            (path.send_queue, path.wire, path.recv_queue),
            (Some(0), Some(0), Some(0)),
            "step {step}"
        );
    }
    let capacity = trace
        .naive
        .events
        .iter()
        .find_map(|e| e.writer_capacity)
        .unwrap();
    assert_eq!(capacity, 8192);
    assert_eq!(
        path_at_step(&trace, 6, Side::Correct).sender_buffer,
        Some(24)
    );
    let state = sockstep::render::steps::state_at(&trace, 7).unwrap();
    assert!(
        state.text.contains("correct sender send 24 → 24"),
        "{}",
        state.text
    );
    assert_eq!(
        path_at_step(&trace, 7, Side::Correct).sender_buffer,
        Some(0)
    );
}

/// no-eot, "Where the bytes are": from step 20 to the step before the end, the naive
/// server holds the 10 bytes of the first request, its receive queue and the wire
/// empty.
#[test]
fn no_eot_path_the_naive_server_holds_the_whole_request() {
    let trace = run("no-eot", 1, Mode::Lockstep);
    let steps = sockstep::render::steps::steps(&trace).len();
    for step in 20..steps {
        let path = path_at_step(&trace, step, Side::Naive);
        assert_eq!(path.held, 10, "step {step}");
        assert_eq!(
            (path.recv_queue, path.wire),
            (Some(0), Some(0)),
            "step {step}"
        );
    }
    assert_eq!(
        bytes_by_fate(&trace, 20, Side::Naive, sockstep::render::path::Fate::Held),
        b"GET /time\n"
    );
    assert_eq!(path_at_step(&trace, 19, Side::Naive).held, 9);
}

/// leftover, "Where the bytes are" (seed 4, step 16): the correct server holds
/// `PART #socket`; the naive one has dropped the 32 bytes after `NICK ada` in its
/// first read, and 54 of 90 by the end.
#[test]
fn leftover_path_held_and_dropped_at_step_16() {
    use sockstep::render::path::Fate;
    let trace = run("leftover", 4, Mode::Lockstep);
    let state = sockstep::render::steps::state_at(&trace, 16).unwrap();
    assert!(
        state
            .text
            .contains("correct receiver deliver 24 bytes \"PRIVMSG #sockets :hi all\""),
        "{}",
        state.text
    );
    assert_eq!(
        state.sides.naive.call.as_deref(),
        Some("receiver deliver 24 bytes \"PRIVMSG #sockets :hi all\"")
    );
    assert_eq!(
        bytes_by_fate(&trace, 16, Side::Correct, Fate::Held),
        b"PART #socket"
    );
    assert_eq!(
        bytes_by_fate(&trace, 16, Side::Naive, Fate::Dropped),
        b"USER ada 0 * :Ada\nJOIN #sockets\n"
    );
    let first_read = trace.naive.receiver_reads().next().unwrap();
    assert_eq!(
        first_read.bytes,
        b"NICK ada\nUSER ada 0 * :Ada\nJOIN #sockets\n"
    );
    let steps = sockstep::render::steps::steps(&trace).len();
    let end = path_at_step(&trace, steps, Side::Naive);
    let read: usize = trace.naive.receiver_reads().map(|e| e.moved).sum();
    assert_eq!((end.dropped, read), (54, 90));
}

/// max-frame, "Where the bytes are" (seed 3): at step 85 the naive server holds 46
/// bytes (the prefix and 42 after it) with 7 in its receive queue; at the end the
/// correct one has dropped the 4 bytes of the prefix and 49 are on its wire.
#[test]
fn max_frame_path_the_naive_buffer_grows_the_correct_one_refuses() {
    use sockstep::render::path::Fate;
    let trace = run("max-frame", 3, Mode::Lockstep);
    let naive = path_at_step(&trace, 85, Side::Naive);
    assert_eq!((naive.held, naive.recv_queue), (46, Some(7)));
    let held = bytes_by_fate(&trace, 85, Side::Naive, Fate::Held);
    assert_eq!(held[..4], 4_000_000_000u32.to_be_bytes());
    // From the read of the prefix (step 67) it only grew, with every read.
    let sizes: Vec<usize> = (67..=85)
        .map(|step| path_at_step(&trace, step, Side::Naive).held)
        .collect();
    assert_eq!(sizes[0], 4);
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}");
    let steps = sockstep::render::steps::steps(&trace).len();
    assert_eq!(steps, 86);
    let correct = path_at_step(&trace, steps, Side::Correct);
    assert_eq!((correct.dropped, correct.wire), (4, Some(49)));
    assert_eq!(
        bytes_by_fate(&trace, steps, Side::Correct, Fate::Dropped),
        4_000_000_000u32.to_be_bytes()
    );
}
