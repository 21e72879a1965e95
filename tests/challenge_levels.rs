//! The challenge levels against the reference servers: the careful one passes every
//! level, the naive one fails each the way its lesson shows.
//!
//! `PyServer` is a minimal stand-in for the guest helper's `Guest` (no tracing; it
//! settles by watching /proc for the server to have read every byte and to sleep);
//! the integrator replaces it with `Guest` at merge.

use std::fs::File;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};
use sockstep::challenge::attack::play_level;
use sockstep::challenge::level::{self, Level};
use sockstep::challenge::{
    Delivery, FailureKind, LevelResult, ProgramEnd, Status, Step, Target, TracedCall, Waiting,
};

const SEED: u64 = 12;
/// The least time between pieces, and the most a settle waits for the server.
const PAUSE: Duration = Duration::from_millis(20);
const SETTLE_LIMIT: Duration = Duration::from_millis(500);

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/challenge/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A Python server in its own process group, killed with its group on drop.
struct PyServer {
    child: Child,
    port: u16,
    first: Option<TcpStream>,
    output: tempfile::NamedTempFile,
}

impl PyServer {
    /// Starts `python3 SCRIPT PORT ARG` and waits until it listens.
    fn start(script: &str, arg: &str) -> PyServer {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let output = tempfile::NamedTempFile::new().expect("a temp file");
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(arg)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(output.reopen().expect("reopen"))
            .stderr(output.reopen().expect("reopen"))
            .spawn()
            .expect("python3 must be installed to run the challenge tests");
        let mut server = PyServer {
            child,
            port,
            first: None,
            output,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(end) = server.exited() {
                panic!("{script} {arg} exited before listening: {end:?}");
            }
            if let Ok(stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
                server.first = Some(stream);
                return server;
            }
            assert!(Instant::now() < deadline, "{script} never listened");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Field `n` (from 1) of /proc/PID/stat, counted after the command's ")".
    fn stat(&self, n: usize) -> Option<String> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        let rest = &stat[stat.rfind(')')? + 2..];
        rest.split(' ').nth(n - 3).map(str::to_string)
    }
}

impl Target for PyServer {
    fn connect(&mut self) -> std::io::Result<TcpStream> {
        match self.first.take() {
            Some(stream) => Ok(stream),
            None => TcpStream::connect(self.address()),
        }
    }

    fn address(&self) -> SocketAddr {
        (Ipv4Addr::LOCALHOST, self.port).into()
    }

    fn delivery(&self) -> Delivery {
        Delivery::Paused { pause_ms: 20 }
    }

    /// Waits until the server has read everything sent on `connection` and sleeps
    /// (so each read sees one piece however loaded the machine), at least `PAUSE`.
    fn settle(&mut self, connection: &TcpStream, deadline: Instant) {
        let started = Instant::now();
        let deadline = deadline.min(started + SETTLE_LIMIT);
        let client = connection.local_addr().map_or(0, |a| a.port());
        loop {
            let now = Instant::now();
            let settled = now >= started + PAUSE
                && self.stat(3).as_deref() != Some("R")
                && server_unread(self.port, client) == 0;
            if settled || now >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn waiting(&mut self, _connection: &TcpStream) -> Waiting {
        match self.stat(3).as_deref() {
            Some("R") => Waiting::Running,
            _ => Waiting::Unknown,
        }
    }

    fn cpu_time(&mut self) -> Option<Duration> {
        // utime + stime, in clock ticks of 1/100 s (USER_HZ on Linux).
        let ticks: u64 =
            self.stat(14)?.parse::<u64>().ok()? + self.stat(15)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 10))
    }

    fn exited(&mut self) -> Option<ProgramEnd> {
        let status = self.child.try_wait().ok()??;
        let mut output = String::new();
        let _ = File::open(self.output.path()).and_then(|mut f| f.read_to_string(&mut output));
        Some(ProgramEnd {
            exit_code: status.code(),
            signal: status.signal(),
            output_tail: output,
            ..ProgramEnd::default()
        })
    }

    fn traced_calls(&mut self) -> Vec<TracedCall> {
        Vec::new()
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        if let Some(pid) = Pid::from_raw(self.child.id() as i32) {
            let _ = kill_process_group(pid, Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

/// The bytes the server has not read yet on its side of the connection from
/// `client` (its socket's receive queue in /proc/net/tcp); 0 once it is gone.
fn server_unread(server: u16, client: u16) -> u64 {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let port = |address: &str| {
        address
            .rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 4 && port(f[1]) == Some(server) && port(f[2]) == Some(client))
        .and_then(|f| f[4].split(':').nth(1).map(str::to_string))
        .and_then(|rx| u64::from_str_radix(&rx, 16).ok())
        .unwrap_or(0)
}

fn play(script: &str, level: &Level, seed: u64) -> LevelResult {
    let script = fixture(script);
    assert!(Path::new(&script).exists());
    let mut server = PyServer::start(&script, level.id);
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
        "all ten levels: {} ms wall, of which at least {} ms are the {pieces} pauses of {} ms",
        started.elapsed().as_millis(),
        pieces as u128 * PAUSE.as_millis(),
        PAUSE.as_millis()
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
    let mut server = PyServer::start(script.to_str().expect("UTF-8 path"), flaw);
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
