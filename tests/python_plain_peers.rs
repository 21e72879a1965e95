//! Every lesson's Python code is real Python, correct outside sockstep: run by plain
//! `python3` (`tests/peers/python_part.py`, no relay, no shim, no step gate) over one
//! loopback connection against std peers, the correct side delivers every message of
//! the Rust scenario, and the naive side fails as the lesson says when the stream is
//! cut as a lockstep run cuts it.
//!
//! These tests need Python 3.8 or newer (`SOCKSTEP_PYTHON`, else `python3`): without
//! it they fail, never skip. Every child runs under a time limit and is killed and
//! reaped whatever happens.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, SockRef, Socket, Type};
use sockstep::engine::{Inbox, OutcomeKind, Pacing, Report, Sock, SocketTuning, is_report};
use sockstep::lesson::Lesson;
use sockstep::teaching;

mod common;

use common::{FAST, SLOW, SLOWLY};

/// How long anything may take before the test fails instead of hanging.
const BACKSTOP: Duration = Duration::from_secs(20);
/// How long a std peer waits in vain before the test looks at whether the Python
/// side waits too (a deadlock is then proven by the kernel's queues, not by time).
const QUIET: Duration = Duration::from_secs(1);
/// CPU time (clock ticks, 1/100 s) a receiver may burn after the end of its stream
/// without returning before it counts as spinning.
const SPIN_TICKS: u64 = 20;
/// `python -S -B`: no `site` module, so no site-packages (the lessons need only the
/// standard library, and so prove it; Python starts in a quarter of the time), and
/// no `__pycache__` written next to the lesson files.
const PYTHON_FLAGS: [&str; 2] = ["-S", "-B"];
/// The modules a Python lesson may import (i11-spec.md).
const STDLIB: [&str; 7] = ["socket", "struct", "json", "io", "select", "errno", "time"];
/// The lockstep seeds each naive receiver is cut with.
const NAIVE_SEEDS: u64 = 5;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The interpreter: `SOCKSTEP_PYTHON`, else `python3`, as the path of the real
/// executable (a launcher such as pyenv's shim costs more than Python's own start).
/// Fails the test, loudly, when it is missing or older than 3.8.
fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(find_python)
}

fn find_python() -> String {
    let python = std::env::var("SOCKSTEP_PYTHON").unwrap_or_else(|_| "python3".into());
    let check = "import sys\n\
        if sys.version_info < (3, 8): sys.exit('it is Python ' + sys.version.split()[0])\n\
        print(sys.executable)";
    match output_within(&python, &["-c".as_ref(), check.as_ref()]) {
        Ok(out) if out.status.success() => {
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        }
        Ok(out) => panic!(
            "these tests need Python 3.8 or newer, and {python} fails: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!(
            "these tests need Python 3.8 or newer, from SOCKSTEP_PYTHON or python3 on \
             PATH; running {python} failed: {e}"
        ),
    }
}

/// Every lesson that has a Python file, with the file, in teaching order.
fn python_lessons() -> Vec<(&'static Lesson, PathBuf)> {
    let dir = repo("src/teaching/python");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "py") {
            continue;
        }
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        let rust = format!("src/teaching/{module}.rs");
        let (index, lesson) = teaching::all()
            .iter()
            .enumerate()
            .find(|(_, l)| l.source_path == rust)
            .unwrap_or_else(|| panic!("{} is the Python twin of no lesson", path.display()));
        found.push((index, lesson, path));
    }
    assert!(!found.is_empty(), "no Python lessons in {}", dir.display());
    found.sort_by_key(|(index, ..)| *index);
    found.into_iter().map(|(_, l, p)| (l, p)).collect()
}

/// The messages the sender is given (all but the reports).
fn data(lesson: &Lesson) -> Vec<Vec<u8>> {
    (lesson.scenario)()
        .messages
        .into_iter()
        .filter(|m| !is_report(m))
        .collect()
}

fn shown(messages: &[Vec<u8>]) -> Vec<String> {
    messages
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect()
}

/// A listener on loopback; `recv_buffer` as `loopback_pair` sets it for the receiver.
fn listen(recv_buffer: Option<usize>) -> TcpListener {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(1).unwrap();
    socket.into()
}

/// One Python part in its own process. Dropping it kills and reaps the process.
struct Part {
    child: Child,
    label: String,
    lines: Receiver<String>,
    /// The Python end's port, and ours, once connected.
    ports: Option<(u16, u16)>,
}

/// How to start a part.
struct Spawn<'a> {
    lesson: &'a Lesson,
    file: &'a Path,
    role: &'a str,
    side: &'a str,
    /// Socket options for the Python end (see python_part.py).
    tuning: SocketTuning,
    interrupt: bool,
}

impl Spawn<'_> {
    fn start(&self, listener: &TcpListener) -> Part {
        let port = listener.local_addr().unwrap().port();
        let mut command = Command::new(python());
        command
            .args(PYTHON_FLAGS)
            .arg(repo("tests/peers/python_part.py"))
            .arg(self.file)
            .args([self.role, self.side])
            .env("PORT", port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let t = self.tuning;
        for (name, value) in [
            ("SOCKSTEP_SNDBUF", t.send_buffer.map(|b| b.to_string())),
            ("SOCKSTEP_RCVBUF", t.recv_buffer.map(|b| b.to_string())),
            (
                "SOCKSTEP_SNDTIMEO_MS",
                t.send_timeout.map(|d| d.as_millis().to_string()),
            ),
        ] {
            if let Some(value) = value {
                command.env(name, value);
            }
        }
        if self.interrupt {
            command.env("SOCKSTEP_INTERRUPT", "1");
        }
        let mut child = command.spawn().expect("start python");
        let mut stdin = child.stdin.take().unwrap();
        if self.role == "sender" {
            let hex: Vec<String> = data(self.lesson)
                .iter()
                .map(|m| m.iter().map(|b| format!("{b:02x}")).collect())
                .collect();
            stdin
                .write_all(serde_json::to_string(&hex).unwrap().as_bytes())
                .unwrap();
        }
        drop(stdin);
        let lines = read_lines(child.stdout.take().unwrap());
        Part {
            child,
            label: format!(
                "{} ({} {}, {})",
                self.lesson.slug,
                self.side,
                self.role,
                self.file.display()
            ),
            lines,
            ports: None,
        }
    }
}

fn read_lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

impl Part {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut text);
        }
        text
    }

    /// Waits for the part to connect to `listener`.
    fn accept(&mut self, listener: &TcpListener) -> TcpStream {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + BACKSTOP;
        loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    stream.set_nonblocking(false).unwrap();
                    stream.set_nodelay(true).unwrap();
                    stream.set_read_timeout(Some(BACKSTOP)).unwrap();
                    stream.set_write_timeout(Some(BACKSTOP)).unwrap();
                    let ours = stream.local_addr().unwrap().port();
                    self.ports = Some((peer.port(), ours));
                    return stream;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Some(status) = self.child.try_wait().unwrap() {
                        let stderr = self.stderr();
                        panic!(
                            "{}: python exited ({status}) unconnected:\n{stderr}",
                            self.label
                        );
                    }
                    assert!(Instant::now() < deadline, "{}: never connected", self.label);
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("{}: accept: {e}", self.label),
            }
        }
    }

    /// Waits for the process to end; kills it and fails after BACKSTOP.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + BACKSTOP;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{}: did not end within {BACKSTOP:?}; killed", self.label);
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Ends the process (killing it if it still runs) and returns every item the
    /// receiver printed, as the bytes the application is handed (a report as
    /// `Report::message`), and what it wrote on stderr.
    fn finish(&mut self) -> (Vec<Vec<u8>>, String) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let delivered = self
            .lines
            .iter()
            .map(|line| delivered_item(&self.label, &line))
            .collect();
        (delivered, self.stderr())
    }

    /// Waits for the process to end and expects it to have returned.
    fn expect_success(&mut self) {
        let status = self.wait();
        if !status.success() {
            let stderr = self.stderr();
            panic!("{}: python failed ({status}):\n{stderr}", self.label);
        }
    }

    /// The kernel's view of the Python process: is it asleep in a call with nothing
    /// left to read? Then only its peer can wake it.
    fn blocked_with_nothing_to_read(&self) -> bool {
        let (python, ours) = self.ports.expect("connected");
        proc_state(self.pid()) == Some('S') && rx_queue(python, ours) == Some(0)
    }

    /// Waits until the process has read every byte sent to it and sleeps in a call
    /// (true), or has ended (false).
    fn wait_drained(&mut self) -> bool {
        let deadline = Instant::now() + BACKSTOP;
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if self.blocked_with_nothing_to_read() {
                return true;
            }
            assert!(Instant::now() < deadline, "{}: never drained", self.label);
            thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn delivered_item(label: &str, line: &str) -> Vec<u8> {
    let item: BTreeMap<String, String> =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{label}: {line:?}: {e}"));
    if let Some(hex) = item.get("message") {
        return (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
    }
    let kind = &item["report"];
    let report = Report::ALL
        .into_iter()
        .find(|r| r.message() == format!("<{kind}>").as_bytes())
        .unwrap_or_else(|| panic!("{label}: unknown report {kind:?}"));
    report.message()
}

/// The state letter of a process (`R`, `S`, `Z`...), from /proc.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// The CPU time a process has used, in clock ticks (utime + stime).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The bytes waiting in the receive queue of the loopback socket on `local` whose
/// peer is on `remote`, from /proc/net/tcp.
fn rx_queue(local: u16, remote: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next()?, 16).ok();
        if port(fields.get(1)?)? != local || port(fields.get(2)?)? != remote {
            return None;
        }
        u64::from_str_radix(fields.get(4)?.split(':').nth(1)?, 16).ok()
    })
}

/// Sets the options of the sender's socket on a std stream (after accept).
fn tune_sender(stream: &TcpStream, tuning: SocketTuning) {
    if let Some(size) = tuning.send_buffer {
        SockRef::from(stream).set_send_buffer_size(size).unwrap();
    }
    if tuning.send_timeout.is_some() {
        stream.set_write_timeout(tuning.send_timeout).unwrap();
    }
}

/// The lesson's Python sender for `side` against the lesson's correct Rust receiver
/// on a plain std socket, read with `pacing`. Returns what the receiver delivered;
/// fails if either end fails.
fn python_sender(
    lesson: &Lesson,
    file: &Path,
    side: &str,
    pacing: Pacing,
    interrupt: bool,
) -> Vec<Vec<u8>> {
    let tuning = (lesson.scenario)().sender_socket;
    let listener = listen(tuning.recv_buffer);
    let mut part = Spawn {
        lesson,
        file,
        role: "sender",
        side,
        tuning: SocketTuning {
            recv_buffer: None,
            ..tuning
        },
        interrupt,
    }
    .start(&listener);
    let stream = part.accept(&listener);
    let mut inbox = Inbox::plain();
    let mut sock = Sock::plain(stream, pacing);
    let received = (lesson.correct.recv)(&mut sock, &mut inbox);
    drop(sock);
    if let Err(e) = received {
        let status = part.wait();
        let stderr = part.stderr();
        panic!(
            "{}: the Rust receiver failed: {e}; python {status}:\n{stderr}",
            part.label
        );
    }
    part.expect_success();
    inbox.delivered()
}

/// What a Python receiver did against the lesson's correct Rust sender.
struct Received {
    delivered: Vec<Vec<u8>>,
    sent: io::Result<()>,
    status: ExitStatus,
    stderr: String,
    label: String,
}

/// The lesson's correct Rust sender, writing with `pacing` on a plain std socket,
/// against its Python receiver for `side`.
fn run_python_receiver(
    lesson: &Lesson,
    file: &Path,
    side: &str,
    pacing: Pacing,
    interrupt: bool,
) -> Received {
    let tuning = (lesson.scenario)().sender_socket;
    let listener = listen(None);
    let mut part = Spawn {
        lesson,
        file,
        role: "receiver",
        side,
        tuning: SocketTuning {
            recv_buffer: tuning.recv_buffer,
            ..SocketTuning::default()
        },
        interrupt,
    }
    .start(&listener);
    let stream = part.accept(&listener);
    tune_sender(&stream, tuning);
    let sent = (lesson.correct.send)(&mut Sock::plain(stream, pacing), &data(lesson));
    let status = part.wait();
    let (delivered, stderr) = part.finish();
    Received {
        delivered,
        sent,
        status,
        stderr,
        label: part.label.clone(),
    }
}

/// As `run_python_receiver`, for a side that must deliver: fails if either end fails.
fn python_receiver(
    lesson: &Lesson,
    file: &Path,
    side: &str,
    pacing: Pacing,
    interrupt: bool,
) -> Vec<Vec<u8>> {
    let run = run_python_receiver(lesson, file, side, pacing, interrupt);
    if let Err(e) = &run.sent {
        panic!(
            "{}: the Rust sender failed: {e}; python {}:\n{}",
            run.label, run.status, run.stderr
        );
    }
    assert!(
        run.status.success(),
        "{}: python failed ({}):\n{}",
        run.label,
        run.status,
        run.stderr
    );
    run.delivered
}

fn assert_all_arrive(lesson: &Lesson, delivered: &[Vec<u8>], how: &str) {
    assert_eq!(
        shown(delivered),
        shown(&(lesson.scenario)().messages),
        "{} ({how}): every message arrives",
        lesson.slug
    );
}

fn every_python_sender(pacing: Pacing, interrupt: bool) {
    for (lesson, file) in python_lessons() {
        let delivered = python_sender(lesson, &file, "correct", pacing, interrupt);
        let how = format!("Python sender, std reader {pacing:?}, interrupt {interrupt}");
        assert_all_arrive(lesson, &delivered, &how);
    }
}

fn every_python_receiver(pacing: Pacing, interrupt: bool) {
    for (lesson, file) in python_lessons() {
        let delivered = python_receiver(lesson, &file, "correct", pacing, interrupt);
        let how = format!("Python receiver, std writer {pacing:?}, interrupt {interrupt}");
        assert_all_arrive(lesson, &delivered, &how);
    }
}

#[test]
fn python_is_there() {
    python();
}

#[test]
fn correct_python_senders_deliver_to_a_fast_std_reader() {
    every_python_sender(FAST, false);
}

#[test]
fn correct_python_senders_deliver_to_a_slow_std_reader() {
    every_python_sender(SLOWLY, false);
}

/// Python retries a call a signal interrupts (PEP 475): the lessons have no EINTR
/// loop, and need none. A signal every millisecond proves it.
#[test]
fn correct_python_senders_need_no_retry_for_signals() {
    every_python_sender(FAST, true);
}

#[test]
fn correct_python_receivers_deliver_from_a_fast_std_writer() {
    every_python_receiver(FAST, false);
}

#[test]
fn correct_python_receivers_deliver_from_a_slow_std_writer() {
    every_python_receiver(SLOWLY, false);
}

#[test]
fn correct_python_receivers_need_no_retry_for_signals() {
    every_python_receiver(FAST, true);
}

/// Every correct Python receiver against a std writer that writes the lesson's
/// stream in pieces of 1 to 7 bytes, 2 ms apart, then ends its stream and reads
/// whatever the receiver answered. A scenario that lists reports needs its own
/// failing peer to make them: the tests above give it the lesson's own.
#[test]
fn correct_python_receivers_deliver_from_a_std_writer_of_tiny_pieces() {
    for (lesson, file) in python_lessons() {
        let scenario = (lesson.scenario)();
        if scenario.messages.iter().any(|m| is_report(m)) {
            continue;
        }
        let (stream, _) = scenario.framing.encode(&scenario.messages);
        let listener = listen(None);
        let mut part = Spawn {
            lesson,
            file: &file,
            role: "receiver",
            side: "correct",
            tuning: SocketTuning::default(),
            interrupt: false,
        }
        .start(&listener);
        let mut socket = part.accept(&listener);
        let written = (|| -> io::Result<()> {
            let mut at = 0;
            for size in (1..=7).cycle() {
                if at == stream.len() {
                    break;
                }
                let end = (at + size).min(stream.len());
                thread::sleep(Duration::from_millis(2));
                socket.write_all(&stream[at..end])?;
                at = end;
            }
            socket.shutdown(Shutdown::Write)?;
            socket.read_to_end(&mut Vec::new()).map(|_| ())
        })();
        match written {
            // A receiver that refuses the stream (max-frame's lie) hangs up with bytes
            // unread: its kernel resets the connection, and the writer sees that.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ) => {}
            other => other.unwrap_or_else(|e| panic!("{}: the writer failed: {e}", part.label)),
        }
        part.expect_success();
        assert_all_arrive(lesson, &part.finish().0, "std writer of tiny pieces");
    }
}

/// partial-send's correct client, with its tight socket (small buffers, a 2 ms send
/// timeout), against a std reader that reads every 20 ms: some of its send() calls
/// find no room at all for the whole timeout, and raise BlockingIOError.
#[test]
fn partial_send_correct_python_client_fills_a_slow_std_reader() {
    let (lesson, file) = python_lessons()
        .into_iter()
        .find(|(l, _)| l.slug == "partial-send")
        .expect("partial-send has a Python file");
    for interrupt in [false, true] {
        let tuning = (lesson.scenario)().sender_socket;
        let listener = listen(tuning.recv_buffer);
        let mut part = Spawn {
            lesson,
            file: &file,
            role: "sender",
            side: "correct",
            tuning: SocketTuning {
                recv_buffer: None,
                ..tuning
            },
            interrupt,
        }
        .start(&listener);
        let mut socket = part.accept(&listener);
        let mut all = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            thread::sleep(SLOW * 4);
            match socket
                .read(&mut chunk)
                .expect("the reader reads to the end")
            {
                0 => break,
                n => all.extend_from_slice(&chunk[..n]),
            }
        }
        part.expect_success();
        assert_eq!(all, data(lesson).concat(), "{}", part.label);
    }
}

/// What a naive side did, in the words of `OutcomeKind`.
fn verdict(
    lesson: &Lesson,
    delivered: &[Vec<u8>],
    ended: Option<ExitStatus>,
    blocked: bool,
) -> OutcomeKind {
    let expected = (lesson.scenario)().messages;
    let wrong = delivered
        .iter()
        .enumerate()
        .any(|(i, m)| expected.get(i) != Some(m));
    match ended {
        _ if wrong => OutcomeKind::Wrong,
        None if blocked => OutcomeKind::Stuck,
        None => OutcomeKind::Spinning,
        Some(status) if !status.success() => OutcomeKind::Error,
        Some(_) if delivered.len() < expected.len() => OutcomeKind::Lost,
        Some(_) => OutcomeKind::Delivered,
    }
}

/// A naive Python receiver against a std writer that writes the stream in the pieces
/// a lockstep run with `seed` cuts, each one only when the receiver has read all before
/// it and sleeps in a call, as the relay hands it a piece only inside recv(). Then
/// the writer ends its stream, or, when the lesson's sender waits for an answer
/// instead (a stuck lesson), keeps it open.
fn naive_receiver_in_lockstep(lesson: &Lesson, file: &Path, seed: u64) -> (OutcomeKind, String) {
    let scenario = (lesson.scenario)();
    let (stream, spans) = scenario.framing.encode(&data(lesson));
    let cuts = scenario.cuts.resolve(stream.len(), &spans, seed);
    let listener = listen(None);
    let mut part = Spawn {
        lesson,
        file,
        role: "receiver",
        side: "naive",
        tuning: SocketTuning::default(),
        interrupt: false,
    }
    .start(&listener);
    let mut socket = part.accept(&listener);
    let mut at = 0;
    for end in cuts.into_iter().chain([stream.len()]) {
        // A receiver that has failed and gone may leave the last pieces unsent.
        if socket.write_all(&stream[at..end]).is_err() || !part.wait_drained() {
            break;
        }
        at = end;
    }
    let mut ends_stream = lesson.teaches != OutcomeKind::Stuck;
    if ends_stream {
        let _ = socket.shutdown(Shutdown::Write);
    }
    // Whichever comes first: it ends; it waits with nothing to read and its peer
    // waits for an answer (stuck); it burns CPU past the end of its stream (spinning).
    let pid = part.pid();
    let mut start = cpu_ticks(pid).unwrap_or(0);
    let deadline = Instant::now() + BACKSTOP;
    let (ended, blocked) = loop {
        if let Some(status) = part.child.try_wait().unwrap() {
            break (Some(status), false);
        }
        if !ends_stream && part.blocked_with_nothing_to_read() {
            socket.set_nonblocking(true).unwrap();
            let answered = !matches!(
                socket.read(&mut [0u8; 1]),
                Err(ref e) if e.kind() == io::ErrorKind::WouldBlock
            );
            socket.set_nonblocking(false).unwrap();
            if !answered {
                break (None, true);
            }
            // It answered and waits for more, as a correct server does: end the
            // stream as the client would, and see what it does then.
            let _ = socket.shutdown(Shutdown::Write);
            ends_stream = true;
            start = cpu_ticks(pid).unwrap_or(0);
        }
        if ends_stream && cpu_ticks(pid).is_some_and(|t| t >= start + SPIN_TICKS) {
            break (None, false);
        }
        assert!(
            Instant::now() < deadline,
            "{}: neither ended nor failed",
            part.label
        );
        thread::sleep(Duration::from_millis(2));
    };
    let (delivered, stderr) = part.finish();
    let kind = verdict(lesson, &delivered, ended, blocked);
    let detail = format!(
        "{} with seed {seed}'s cuts: delivered {:?}, ended {ended:?}\n{stderr}",
        part.label,
        shown(&delivered)
    );
    (kind, detail)
}

/// A naive Python sender against the lesson's correct std receiver. A receiver that
/// waits QUIET in vain gives up; if Python then sleeps in a call with nothing to
/// read, both waited for the other: stuck.
fn naive_sender(lesson: &Lesson, file: &Path) -> (OutcomeKind, String) {
    let tuning = (lesson.scenario)().sender_socket;
    let listener = listen(tuning.recv_buffer);
    let mut part = Spawn {
        lesson,
        file,
        role: "sender",
        side: "naive",
        tuning: SocketTuning {
            recv_buffer: None,
            ..tuning
        },
        interrupt: false,
    }
    .start(&listener);
    let stream = part.accept(&listener);
    stream.set_read_timeout(Some(QUIET)).unwrap();
    if tuning != SocketTuning::default() {
        // As the relay does for a tuned sender: nobody reads while it sends. A naive
        // sender ends then; one that waits for room (as the correct one does) waits
        // QUIET, asleep, before the reader starts.
        let quiet = Instant::now() + QUIET;
        while part.child.try_wait().unwrap().is_none()
            && (Instant::now() < quiet || proc_state(part.pid()) != Some('S'))
        {
            thread::sleep(Duration::from_millis(1));
        }
    }
    let mut inbox = Inbox::plain();
    let mut sock = Sock::plain(stream, FAST);
    let received = (lesson.correct.recv)(&mut sock, &mut inbox);
    let stuck = received.as_ref().is_err_and(|e| {
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    }) && part.wait_drained();
    // Closing wakes a Python side that waits: it ends, whatever it did before.
    drop(sock);
    let status = part.wait();
    let ended = if stuck { None } else { Some(status) };
    let delivered = inbox.delivered();
    let kind = verdict(lesson, &delivered, ended, stuck);
    let (_, stderr) = part.finish();
    let detail = format!(
        "{}: the std receiver delivered {:?} and returned {received:?}; python {status}\n{stderr}",
        part.label,
        shown(&delivered)
    );
    (kind, detail)
}

/// The names of the functions each side's PARTS entry plays, from Python itself.
fn parts(file: &Path) -> BTreeMap<String, (String, String)> {
    let script = "import importlib.util, json, sys\n\
        spec = importlib.util.spec_from_file_location('lesson', sys.argv[1])\n\
        m = importlib.util.module_from_spec(spec)\n\
        spec.loader.exec_module(m)\n\
        print(json.dumps({side: [f.__name__ for f in fs] for side, fs in m.PARTS.items()}))";
    let out = run_python_script(script, file);
    let parts: BTreeMap<String, Vec<String>> = serde_json::from_str(&out).unwrap();
    parts
        .into_iter()
        .map(|(side, names)| match &names[..] {
            [send, recv] => (side, (send.clone(), recv.clone())),
            _ => panic!(
                "{}: PARTS[{side:?}] is not (sender, receiver)",
                file.display()
            ),
        })
        .collect()
}

/// Each naive Python side fails as the Rust lesson's `teaches` says: the naive
/// receiver where it differs from the correct one, else the naive sender.
#[test]
fn naive_python_sides_fail_as_their_lessons_say() {
    let mut broken = Vec::new();
    for (lesson, file) in python_lessons() {
        let parts = parts(&file);
        let runs: Vec<(OutcomeKind, String)> = if parts["naive"].1 != parts["correct"].1 {
            if (lesson.scenario)().messages.iter().any(|m| is_report(m)) {
                // The failure is the network's: the lesson's own client makes it.
                let run = run_python_receiver(lesson, &file, "naive", FAST, false);
                let kind = verdict(lesson, &run.delivered, Some(run.status), false);
                let detail = format!(
                    "{}: delivered {:?}, ended {}\n{}",
                    run.label,
                    shown(&run.delivered),
                    run.status,
                    run.stderr
                );
                vec![(kind, detail)]
            } else {
                (1..=NAIVE_SEEDS)
                    .map(|seed| naive_receiver_in_lockstep(lesson, &file, seed))
                    .collect()
            }
        } else {
            vec![naive_sender(lesson, &file)]
        };
        for (kind, detail) in runs {
            if kind != lesson.teaches {
                broken.push(format!(
                    "{}: the naive side should be {} but was {}. {detail}",
                    lesson.slug,
                    lesson.teaches.name(),
                    kind.name()
                ));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The lines of `source` between `# ANCHOR: name` and `# ANCHOR_END: name`.
fn anchor(source: &str, name: &str) -> Option<String> {
    let start = format!("ANCHOR: {name}");
    let end = format!("ANCHOR_END: {name}");
    let is = |line: &str, mark: &str| {
        let line = line.trim();
        line.starts_with('#') && line.trim_start_matches('#').trim() == mark
    };
    let first = source.lines().position(|l| is(l, &start))?;
    let last = first + source.lines().skip(first).position(|l| is(l, &end))?;
    Some(
        source
            .lines()
            .take(last)
            .skip(first + 1)
            .filter(|l| !l.contains("ANCHOR"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// PARTS names functions that exist, and each side's anchor holds the functions it
/// plays, except what both sides share, shown in an anchor of its own.
#[test]
fn every_python_file_shows_the_functions_it_plays() {
    for (_, file) in python_lessons() {
        let source = std::fs::read_to_string(&file).unwrap();
        let parts = parts(&file);
        assert_eq!(
            parts.keys().collect::<Vec<_>>(),
            ["correct", "naive"],
            "{}",
            file.display()
        );
        for (side, (send, recv)) in &parts {
            let code = anchor(&source, side)
                .unwrap_or_else(|| panic!("{} has no {side} anchor", file.display()));
            let other = if side == "naive" { "correct" } else { "naive" };
            let (other_send, other_recv) = &parts[other];
            for (name, shared) in [(send, send == other_send), (recv, recv == other_recv)] {
                let shown_here = code.contains(&format!("def {name}("));
                let shown_elsewhere = source
                    .lines()
                    .filter(|l| l.trim().starts_with("# ANCHOR: "))
                    .filter_map(|l| anchor(&source, l.trim().trim_start_matches("# ANCHOR: ")))
                    .any(|code| code.contains(&format!("def {name}(")));
                assert!(
                    shown_here || (shared && shown_elsewhere),
                    "{}: the {side} anchor does not hold {name}, which PARTS plays",
                    file.display()
                );
            }
        }
        // Standard library only, and no sockstep in sight.
        for line in source.lines().filter(|l| {
            let l = l.trim_start();
            l.starts_with("import ") || l.starts_with("from ")
        }) {
            let module = line.split_whitespace().nth(1).unwrap_or_default();
            assert!(
                STDLIB.contains(&module),
                "{}: `{line}`: a lesson imports only {STDLIB:?}",
                file.display()
            );
        }
        // The end of the file is sockstep's, outside every anchor.
        assert!(
            source.trim_end().ends_with(&format!(
                "PARTS = {{\"naive\": ({}, {}), \"correct\": ({}, {})}}",
                parts["naive"].0, parts["naive"].1, parts["correct"].0, parts["correct"].1
            )),
            "{}: PARTS ends the file",
            file.display()
        );
    }
}

/// Runs `python` with `args` and returns its output; killed, and the test failed,
/// after BACKSTOP. Err: it could not be started.
fn output_within(python: &str, args: &[&std::ffi::OsStr]) -> io::Result<Output> {
    let mut child = Command::new(python)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + BACKSTOP;
    while child.try_wait()?.is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{python} {args:?} did not end within {BACKSTOP:?}; killed");
        }
        thread::sleep(Duration::from_millis(2));
    }
    child.wait_with_output()
}

/// Runs `script` with `python -c`, with `arg` as sys.argv[1], and returns what it
/// printed. Fails with its stderr if it fails.
fn run_python_script(script: &str, arg: &Path) -> String {
    let args = [PYTHON_FLAGS[0], PYTHON_FLAGS[1], "-c", script].map(std::ffi::OsStr::new);
    let out =
        output_within(python(), &[&args[..], &[arg.as_os_str()]].concat()).expect("start python");
    assert!(
        out.status.success(),
        "{}: {}",
        arg.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The Python HOWTO's Python 3 pitfalls, as the lessons show them (msglen_mistake in
/// fixed_length.py, join_mistake in read_to_eof.py; bytes compared to '' is
/// recv-zero's naive side, proven to spin above), run over a real loopback
/// connection: each fails the way its comment says. And partial_send.py's reason
/// for its own send loop: sendall() under a send timeout raises BlockingIOError.
#[test]
fn python_pitfalls_fail_when_run() {
    for (file, name) in [
        ("fixed_length.py", "msglen_mistake"),
        ("read_to_eof.py", "join_mistake"),
    ] {
        let source = std::fs::read_to_string(repo("src/teaching/python").join(file)).unwrap();
        assert!(anchor(&source, name).is_some(), "{file} shows {name}");
    }
    let script = r#"
import importlib.util, socket, struct, sys

def load(name):
    spec = importlib.util.spec_from_file_location(name, f"{sys.argv[1]}/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

def pair():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        near = socket.create_connection(listener.getsockname())
        far, _ = listener.accept()
    return near, far

def outcome(call):
    try:
        return f"returned {call()!r}"
    except Exception as error:
        return f"{type(error).__name__}: {error}"

near, far = pair()
print(outcome(lambda: load("fixed_length").send_unpadded(near, b"hello")))
near.close()
print(far.recv(64))
near, far = pair()
near.sendall(b"GET /hello.txt HTTP/1.0\r\n\r\n")
near.close()
print(outcome(lambda: load("read_to_eof").read_to_end_as_text(far)))
# partial_send.py's claim: under a send timeout, sendall() raises and cannot say how
# much it sent, when the peer does not read.
near, far = pair()
near.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2048)
near.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, 2000))
print(outcome(lambda: near.sendall(bytes(9_000 * 100))).split(":")[0])
"#;
    let out = run_python_script(script, &repo("src/teaching/python"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            // send() of nothing left returns 0, taken for a broken connection.
            "RuntimeError: socket connection broken",
            // What went out: the message alone, no padding.
            "b'hello'",
            "TypeError: sequence item 0: expected str instance, bytes found",
            "BlockingIOError",
        ]
    );
}
