//! The challenge levels against the reference servers: the careful one passes every
//! level, the naive one fails each the way its lesson shows.
//!
//! Each server runs as the CLI runs it: a `Guest` in lockstep delivery.

use std::path::Path;
use std::time::Instant;

use sockstep::challenge::attack::play_level;
use sockstep::challenge::guest::{Guest, GuestOptions};
use sockstep::challenge::level::{self, Level};
use sockstep::challenge::{Delivery, FailureKind, LevelResult, Status, Step, Target};

const SEED: u64 = 12;

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/challenge/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// `python3 SCRIPT {port} ARG` as a guest: its own process group, lockstep delivery,
/// killed with its group when dropped.
fn guest(script: &str, arg: &str) -> Guest {
    Guest::start(&GuestOptions {
        argv: vec!["python3".into(), script.into(), "{port}".into(), arg.into()],
        level: arg.into(),
        slow: 1.0,
        memory_limit: Some(1 << 30),
        trace: false,
    })
    .unwrap_or_else(|e| panic!("python3 must be installed to run the challenge tests: {e}"))
}

fn play(script: &str, level: &Level, seed: u64) -> LevelResult {
    let script = fixture(script);
    assert!(Path::new(&script).exists());
    let mut server = guest(&script, level.id);
    assert_eq!(server.delivery(), Delivery::Lockstep);
    play_level(level, seed, 1.0, &mut server)
}

fn describe(result: &LevelResult) -> String {
    match &result.failure {
        Some(f) => format!(
            "{} {:?}: {:?} on connection {}: {} / hint: {}",
            result.id, result.status, f.kind, f.connection, f.detail, f.hint
        ),
        None => format!("{} {:?}", result.id, result.status),
    }
}

#[test]
fn the_correct_server_passes_every_level() {
    // The wall time is for BENCHMARKS.md (printed with --nocapture), never asserted.
    let started = Instant::now();
    let mut pieces = 0;
    for level in level::levels() {
        let result = play("correct_server.py", level, SEED);
        let writes = result
            .schedule
            .iter()
            .filter(|s| matches!(s, Step::Write { .. } | Step::HalfClose { .. }))
            .count();
        pieces += writes;
        println!(
            "{:>14}: {:?} in {} ms, {} steps, {writes} pieces",
            level.id,
            result.status,
            result.duration.as_millis(),
            result.schedule.len()
        );
        assert_eq!(result.status, Status::Pass, "{}", describe(&result));
    }
    println!(
        "all ten levels: {} ms wall, {pieces} pieces in lockstep",
        started.elapsed().as_millis(),
    );
}

/// The naive server fails `id` with `kind`, and its hint names the pitfall.
fn naive_fails(id: &str, kind: FailureKind, status: Status, phrase: &str) {
    let level = level::find(id).expect("a level");
    let result = play("naive_server.py", level, SEED);
    println!("{}", describe(&result));
    let failure = result
        .failure
        .as_ref()
        .unwrap_or_else(|| panic!("{id} passed"));
    assert_eq!(failure.kind, kind, "{}", describe(&result));
    assert_eq!(result.status, status, "{}", describe(&result));
    assert!(failure.hint.contains(phrase), "{}", describe(&result));
}

#[test]
fn naive_fixed_length_replies_to_part_of_a_request() {
    naive_fails(
        "fixed-length",
        FailureKind::WrongBytes,
        Status::Fail,
        "one recv() is not one message",
    );
}

#[test]
fn naive_delimiter_replies_before_the_newline() {
    naive_fails(
        "delimiter",
        FailureKind::WrongBytes,
        Status::Fail,
        "before its \\n arrived",
    );
}

#[test]
fn naive_leftover_drops_the_start_of_the_next_line() {
    naive_fails(
        "leftover",
        FailureKind::WrongBytes,
        Status::Fail,
        "are the start of the next line; keep them",
    );
}

#[test]
fn naive_length_prefix_takes_a_part_of_the_prefix_as_the_length() {
    naive_fails(
        "length-prefix",
        FailureKind::WrongBytes,
        Status::Fail,
        "of the 5 prefix bytes: one recv() is not one message",
    );
}

#[test]
fn naive_type_byte_replies_without_the_body() {
    naive_fails(
        "type-byte",
        FailureKind::WrongBytes,
        Status::Fail,
        "the body can arrive in a later recv() than the type byte",
    );
}

#[test]
fn naive_max_frame_trusts_a_lying_length() {
    naive_fails(
        "max-frame",
        FailureKind::NotClosed,
        Status::Fail,
        "as a length and kept reading: refuse lengths over 65,536",
    );
}

#[test]
fn naive_recv_zero_spins_after_the_close() {
    naive_fails(
        "recv-zero",
        FailureKind::BusyLoop,
        Status::Fail,
        "recv() returning 0 means closed",
    );
}

#[test]
fn naive_read_to_eof_replies_before_the_half_close() {
    naive_fails(
        "read-to-eof",
        FailureKind::WrongBytes,
        Status::Fail,
        "before the client half-closed",
    );
}

#[test]
fn naive_partial_send_cuts_its_reply_short() {
    naive_fails(
        "partial-send",
        FailureKind::Hang,
        Status::Timeout,
        "send() can send less than asked",
    );
}

#[test]
fn naive_errors_dies_of_a_reset() {
    naive_fails(
        "errors",
        FailureKind::Crash,
        Status::Crash,
        "a peer can reset or leave at any time",
    );
}

/// What the client did, without what it saw (which paused delivery may group
/// differently from run to run).
fn client_actions(result: &LevelResult) -> Vec<Step> {
    result
        .schedule
        .iter()
        .filter(|s| !matches!(s, Step::Read { .. } | Step::PeerClosed { .. }))
        .cloned()
        .collect()
}

#[test]
fn the_same_seed_plays_the_same_writes_and_closes() {
    for id in ["length-prefix", "errors"] {
        let level = level::find(id).expect("a level");
        let first = play("correct_server.py", level, 77);
        let second = play("correct_server.py", level, 77);
        assert_eq!(first.status, Status::Pass, "{}", describe(&first));
        assert_eq!(client_actions(&first), client_actions(&second));
        let other = play("correct_server.py", level, 78);
        assert_ne!(client_actions(&first), client_actions(&other));
    }
}

/// Length-prefix servers with one flaw each, chosen by their second argument.
const FLAWED: &str = r#"
import socket, struct, sys

port, flaw = int(sys.argv[1]), sys.argv[2]
kept = []

def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data

def serve(conn):
    while True:
        prefix = recv_exactly(conn, 5)
        if prefix is None:
            if flaw == "linger":
                kept.append(conn)  # never closed
            return
        payload = recv_exactly(conn, int(prefix))
        if payload is None:
            return
        if flaw == "silent":
            continue
        if flaw == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        reply = prefix + payload[::-1]
        conn.sendall(reply)
        if flaw == "twice":
            conn.sendall(reply)
        if flaw == "early-close":
            conn.shutdown(socket.SHUT_WR)  # done sending after one reply
            while conn.recv(4096):
                pass
            return

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen()
while True:
    conn, _ = listener.accept()
    serve(conn)
    if flaw != "linger":
        conn.close()
"#;

/// Plays `level` against the server with `flaw`; its failure.
fn flawed(flaw: &str, id: &str) -> (LevelResult, sockstep::challenge::Failure) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let script = dir.path().join("flawed.py");
    std::fs::write(&script, FLAWED).expect("write the script");
    let mut server = guest(script.to_str().expect("UTF-8 path"), flaw);
    let result = play_level(level::find(id).expect("a level"), SEED, 1.0, &mut server);
    println!("{flaw}: {}", describe(&result));
    let failure = result
        .failure
        .clone()
        .unwrap_or_else(|| panic!("{flaw} passed"));
    (result, failure)
}

#[test]
fn a_second_reply_is_extra_bytes() {
    let (result, failure) = flawed("twice", "length-prefix");
    assert_eq!(failure.kind, FailureKind::ExtraBytes);
    assert_eq!(result.status, Status::Fail);
    assert!(failure.hint.contains("answer each message exactly once"));
}

#[test]
fn a_reply_that_never_comes_is_a_hang_that_says_what_came() {
    let (result, failure) = flawed("silent", "length-prefix");
    assert_eq!(failure.kind, FailureKind::Hang);
    assert_eq!(result.status, Status::Timeout);
    assert!(
        failure
            .detail
            .starts_with("no reply after 2,000 ms; 0 bytes received"),
        "{}",
        failure.detail
    );
    assert_eq!(failure.first_diff, Some(0));
}

#[test]
fn a_close_before_the_last_reply_is_an_early_close() {
    let (result, failure) = flawed("early-close", "length-prefix");
    assert_eq!(failure.kind, FailureKind::EarlyClose);
    assert_eq!(result.status, Status::Fail);
    assert_eq!(failure.connection, 1);
    assert!(failure.hint.contains("close only when recv() returns 0"));
}

#[test]
fn a_reset_instead_of_a_reply_is_a_lost_connection() {
    let (_, failure) = flawed("reset", "length-prefix");
    assert_eq!(failure.kind, FailureKind::ConnectionLost);
    assert!(
        failure.detail.contains("reset connection 1"),
        "{}",
        failure.detail
    );
}

#[test]
fn a_connection_kept_open_after_the_client_closed_is_not_closed() {
    let (_, failure) = flawed("linger", "recv-zero");
    assert_eq!(failure.kind, FailureKind::NotClosed);
    assert!(failure.detail.contains("still open"), "{}", failure.detail);
    assert!(
        failure
            .hint
            .contains("recv() returning 0 means the client closed")
    );
}

/// In lockstep a seed fixes everything the client saw too: the same steps, reads
/// included, and the same failure, run after run.
#[test]
fn lockstep_plays_the_same_level_twice() {
    for script in ["correct_server.py", "naive_server.py"] {
        for level in level::levels() {
            let first = play(script, level, 5);
            let second = play(script, level, 5);
            assert_eq!(
                first.schedule,
                second.schedule,
                "{script} {}: {} / {}",
                level.id,
                describe(&first),
                describe(&second)
            );
            // A busy loop's share of a core is measured, so it may differ; the rest
            // of the failure may not.
            let without_share = |result: &LevelResult| {
                result.failure.clone().map(|mut failure| {
                    if failure.kind == FailureKind::BusyLoop {
                        failure.detail = failure.detail.split('%').nth(1).unwrap_or("").into();
                    }
                    failure
                })
            };
            assert_eq!(
                without_share(&first),
                without_share(&second),
                "{script} {}",
                level.id
            );
        }
    }
}

/// A beginner's delimiter server that keeps its leftover but `strip()`s each line:
/// the hint names the stripping, not the leftover.
#[test]
fn a_server_that_strips_its_lines_is_told_so() {
    const STRIPS: &str = r#"
import socket, sys
listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    conn, _ = listener.accept()
    buf = b""
    while True:
        data = conn.recv(1024)
        if not data:
            break
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            conn.sendall(line.decode().strip()[::-1].encode() + b"\n")
    conn.close()
"#;
    let dir = tempfile::tempdir().expect("a temp dir");
    let script = dir.path().join("strips.py");
    std::fs::write(&script, STRIPS).expect("write the script");
    let level = level::find("delimiter").expect("a level");
    // Some seeds have no line with a space at an end; one of these does.
    let failed = (1..=20).find_map(|seed| {
        let mut server = guest(script.to_str().expect("UTF-8 path"), "delimiter");
        play_level(level, seed, 1.0, &mut server).failure
    });
    let failure = failed.expect("a line with a space at its end in 20 seeds");
    assert_eq!(failure.kind, FailureKind::WrongBytes);
    assert!(failure.hint.contains("strip()"), "{}", failure.hint);
    assert!(!failure.hint.contains("keep them"), "{}", failure.hint);
}
