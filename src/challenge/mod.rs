//! Challenge mode: the learner's own server, in any language, attacked over real
//! loopback TCP the way the lessons attack the naive code (`sockstep challenge`).
//!
//! The parts, each importing only from those listed above it:
//! - this module: the shared model: what a run did and found ([`Run`], [`LevelResult`],
//!   [`Failure`]) and what an attack needs from the program ([`Target`]);
//! - [`level`]: the levels as data: names, the lesson each practises, the protocol
//!   exactly, and each level's seeded schedule of connections, writes and closes;
//! - [`procfs`]: what Linux's `/proc` tells about the program: the call it waits in,
//!   its sockets' queues, its CPU time;
//! - [`guest`]: the learner's program: started in its own process group on a fresh
//!   port, under limits, watched, and killed with everything it started;
//! - [`pytrace`]: the learner's Python socket calls, traced with no change to the code;
//! - [`attack`]: playing a level's schedule against a [`Target`], and the verdict;
//! - [`play`]: a whole run: each level against the program, in order;
//! - [`report`]: the text, JSON and JUnit reports;
//! - [`grade`]: many submissions against the same seed;
//! - [`starter`]: skeleton servers, framing left to the learner.

pub mod attack;
pub mod grade;
pub mod guest;
pub mod level;
pub mod play;
pub mod procfs;
pub mod pytrace;
pub mod report;
pub mod starter;

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde::Serialize;

/// The JSON report's schema version; bump it on any change a reader could notice.
pub const SCHEMA_VERSION: u32 = 1;

/// How the pieces of a schedule reached the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// Each piece written only once `/proc` showed the program had read everything
    /// before it and was waiting for more: each read sees one piece; reproducible.
    Lockstep,
    /// `TCP_NODELAY` and a pause between pieces (where `/proc` cannot be read).
    Paused { pause_ms: u64 },
}

/// How a level ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Timeout,
    Crash,
    Error,
    Skipped,
}

/// What went wrong in a level that did not pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The bytes that came back differ from the expected reply.
    WrongBytes,
    /// More bytes came back than every expected reply.
    ExtraBytes,
    /// No (complete) reply within the time limit.
    Hang,
    /// The program used CPU while no byte moved (after a close, say).
    BusyLoop,
    /// The program closed the connection before its reply was complete.
    EarlyClose,
    /// The program kept a connection open that it should have closed.
    NotClosed,
    /// The program refused or dropped a connection it should have served.
    ConnectionLost,
    /// The program exited (a crash, a signal, its memory limit).
    Crash,
}

/// One thing the client did or saw on a connection, in order: the schedule as played.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Step {
    /// A connection opened (connections are numbered from 1 in a level).
    Connect { connection: usize },
    /// One write of these bytes: one piece on the wire.
    Write {
        connection: usize,
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
    /// `shutdown(SHUT_WR)`: the client will send no more.
    HalfClose { connection: usize },
    /// The client closed the connection.
    Close { connection: usize },
    /// The client reset the connection (`SO_LINGER` 0, then close: an RST).
    Reset { connection: usize },
    /// Bytes that came back.
    Read {
        connection: usize,
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
    /// The program closed its side (a read returned 0).
    PeerClosed { connection: usize },
}

/// Why a level did not pass, said so that a newcomer understands it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// The connection it happened on (from 1).
    pub connection: usize,
    /// What sockstep expected back on that connection, and what came back.
    #[serde(rename = "expected_hex", with = "hex_bytes")]
    pub expected: Vec<u8>,
    #[serde(rename = "actual_hex", with = "hex_bytes")]
    pub actual: Vec<u8>,
    /// The offset of the first byte that differs, if any differs.
    pub first_diff: Option<usize>,
    /// What happened, in one or two sentences ("no reply after 2,000 ms; 7 bytes
    /// received; your program is waiting in read()").
    pub detail: String,
    /// The pitfall, in one sentence ("one recv() is not one message").
    pub hint: String,
    /// The learner's own socket calls, where traced (Python).
    pub calls: Vec<TracedCall>,
}

/// One socket call the learner's program made, as the Python trace saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TracedCall {
    /// The learner's file and line that made the call.
    pub file: String,
    pub line: u32,
    /// `recv`, `recv_into`, `send`, `sendall`, `accept`, `close`, …
    pub call: String,
    /// The size asked, where the call takes one.
    pub asked: Option<usize>,
    /// The bytes it moved (received or sent).
    #[serde(with = "hex_bytes")]
    pub bytes: Vec<u8>,
    /// The exception it raised, if it raised one.
    pub error: Option<String>,
    /// The client port of the connection it was made on, to tell connections apart.
    pub peer_port: Option<u16>,
}

/// One level's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct LevelResult {
    /// The level's name (a lesson slug).
    pub id: &'static str,
    pub status: Status,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// Everything the client did and saw, in order.
    pub schedule: Vec<Step>,
    pub failure: Option<Failure>,
}

/// How the program ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProgramEnd {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Whether sockstep killed it, and why ("the run ended", "no reply after 2,000 ms").
    pub killed: bool,
    pub kill_reason: Option<String>,
    /// The end of what it printed (stdout and stderr as they came), at most 64 KiB.
    pub output_tail: String,
    /// Whether its output was longer than what was kept.
    pub output_cut: bool,
    /// The address-space limit it ran under (`RLIMIT_AS`), to say "ran out of
    /// memory under its 1 GiB limit"; not part of the JSON report.
    #[serde(skip)]
    pub memory_limit: Option<u64>,
}

/// A whole `sockstep challenge` run.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    pub seed: u64,
    pub delivery: Delivery,
    /// The program's command line as given (`{port}` not yet filled in), or empty with
    /// `--connect`.
    pub argv: Vec<String>,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    pub levels: Vec<LevelResult>,
    /// The program's end, per level where it was started per level: the last one.
    pub program: Option<ProgramEnd>,
    /// The command that replays this run exactly.
    pub replay: String,
}

impl Run {
    /// (levels passed, levels run or skipped).
    pub fn score(&self) -> (usize, usize) {
        let passed = self
            .levels
            .iter()
            .filter(|l| l.status == Status::Pass)
            .count();
        (passed, self.levels.len())
    }
}

/// Where the program waits, as `/proc` shows it (for reports and for lockstep).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// Blocked reading the connection: the call's name and the size it asked.
    InRead { call: &'static str, asked: usize },
    /// Blocked in another call (`accept`, `poll`, `sleep`, a read on another fd…).
    InCall(String),
    /// On a CPU, not in a call.
    Running,
    /// Unknown (no `/proc`, or the program has exited).
    Unknown,
}

/// What an attack needs from the program under test: a started guest, or a server
/// the learner started (`--connect`).
pub trait Target {
    /// A new connection to the program (the first may already be open: the start-up
    /// check's).
    fn connect(&mut self) -> io::Result<TcpStream>;
    /// The program's listening address, for a connection the attack must tune before
    /// connecting (partial-send's small MSS and receive buffer); never the first one.
    fn address(&self) -> SocketAddr;
    /// How pieces reach the program.
    fn delivery(&self) -> Delivery;
    /// Returns once the program has read every byte sent on `connection` and waits
    /// for more (lockstep), or after the pause (paused), or at `deadline`.
    fn settle(&mut self, connection: &TcpStream, deadline: Instant);
    /// Returns once the program waits for its next connection (in `accept()` or a
    /// poll, no thread running) or has exited, or at `deadline`; at once where it
    /// cannot tell. Played between connections, so that a crash is seen on the
    /// connection that caused it, run after run.
    fn await_next(&mut self, deadline: Instant) {
        let _ = deadline;
    }
    /// Where the program waits now, on `connection`'s behalf where it can tell.
    fn waiting(&mut self, connection: &TcpStream) -> Waiting;
    /// The CPU time the program (its whole process group) has used so far.
    fn cpu_time(&mut self) -> Option<Duration>;
    /// How it ended, once it has exited (it is not waited for).
    fn exited(&mut self) -> Option<ProgramEnd>;
    /// The socket calls traced since the last call of this (Python only).
    fn traced_calls(&mut self) -> Vec<TracedCall>;
}

fn millis<S: serde::Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// Bytes as lowercase hex in JSON ("0a3f").
mod hex_bytes {
    use std::fmt::Write;

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            let _ = write!(out, "{b:02x}");
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        if !text.is_ascii() || !text.len().is_multiple_of(2) {
            return Err(serde::de::Error::custom("not an even number of hex digits"));
        }
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).map_err(serde::de::Error::custom))
            .collect()
    }
}
