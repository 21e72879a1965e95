//! What a run recorded: every socket call, every piece the wire delivered, and
//! what each side concluded. Serialisable so headless commands can print it.

use serde::{Deserialize, Serialize};

/// Which of the two programs a run belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    Naive,
    Correct,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Naive, Side::Correct];

    pub fn name(self) -> &'static str {
        match self {
            Side::Naive => "naive",
            Side::Correct => "correct",
        }
    }
}

/// Who made a call: the lesson's sender, its receiver, or the relay that cuts the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Sender,
    Receiver,
    Relay,
}

/// How the stream gets from the sender to the receiver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A relay cuts the stream at the plan's offsets and writes each piece only once
    /// the receiver waits in `recv()` with nothing unread, so every `recv()` returns
    /// exactly one piece. Reproducible.
    #[default]
    Lockstep,
    /// The relay cuts the stream at the same offsets but writes each piece as soon as
    /// it has it, never waiting for the reader: the kernel may merge pieces that
    /// arrive back to back, and a reader slow to call `recv()` gets them merged.
    FreeRun,
    /// No relay: the sender's socket is connected straight to the receiver's, as in
    /// a program written at home. The kernel alone decides how reads split.
    Direct,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Lockstep, Mode::FreeRun, Mode::Direct];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Lockstep => "lockstep",
            Mode::FreeRun => "free-run",
            Mode::Direct => "direct",
        }
    }

    /// The next mode, in the order of `ALL` (the TUI's `f` key cycles them).
    pub fn next(self) -> Mode {
        match self {
            Mode::Lockstep => Mode::FreeRun,
            Mode::FreeRun => Mode::Direct,
            Mode::Direct => Mode::Lockstep,
        }
    }

    /// One line for people: what the mode does.
    pub fn describe(self) -> &'static str {
        match self {
            Mode::Lockstep => "the relay cuts the stream and hands over one piece per recv()",
            Mode::FreeRun => "the relay cuts the stream and forwards each piece at once",
            Mode::Direct => "no relay: sender and receiver talk straight over loopback",
        }
    }
}

/// The kind of socket call an event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Call {
    /// One `write()`.
    Send,
    /// One `read()`.
    Recv,
    /// `flush()` of a buffered writer: moves bytes from user space to the socket.
    Flush,
    /// Bytes a buffered writer accepted into user space (not yet on the wire).
    Buffer,
    Shutdown,
    /// The connection was aborted: a program closed it with SO_LINGER 0, or the relay
    /// passed on a reset (RST) it received.
    Abort,
    /// `set_read_timeout()`: later reads give up after the time set.
    SetTimeout,
    /// `poll()`: waited until the socket could take more bytes.
    Poll,
    /// The relay wrote one piece of the stream to the receiver.
    Piece,
    /// The teaching code handed a finished message to the application.
    Deliver,
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum CallResult {
    Ok,
    /// `recv()` returned 0: the peer closed its side.
    EndOfStream,
    TimedOut,
    Error {
        error: String,
        message: String,
    },
}

/// One recorded call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Place in its side's listing (see `causal_order`): the same for the same seed
    /// in lockstep, whatever thread the kernel ran first.
    pub seq: u32,
    /// Microseconds since the run started (monotonic clock).
    pub at_us: u64,
    pub role: Role,
    pub call: Call,
    /// Bytes the call asked to move (buffer size for `recv()`, slice length for `send()`).
    pub asked: usize,
    /// Bytes it did move.
    pub moved: usize,
    /// For `Piece`: where in the stream the piece starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// The bytes moved.
    pub bytes: Vec<u8>,
    pub result: CallResult,
    /// Line of the call site, when it is in the teaching file (see
    /// `RunOptions::teaching_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// What the kernel held for the calling socket just after the call; `None` for
    /// the relay's and the application's events, and where it is not measured (not
    /// Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queues: Option<Queues>,
    /// The calling socket's buffer limits, on the first event of each socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer_limits: Option<BufferLimits>,
    /// For `Buffer`: how many bytes the buffered writer holds at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_capacity: Option<u32>,
}

/// The kernel's queues of one socket, in bytes, measured with ioctl on Linux.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queues {
    /// Written and not yet acknowledged by the peer (SIOCOUTQ): the send queue.
    pub send: u32,
    /// Arrived and not yet read (FIONREAD, also called SIOCINQ): the receive queue.
    pub recv: u32,
}

/// One socket's buffer limits in bytes, SO_SNDBUF and SO_RCVBUF as the kernel
/// reports them (Linux doubles the size set, to leave room for its bookkeeping).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferLimits {
    pub send: u32,
    pub recv: u32,
}

impl Event {
    /// An event of a call that moved `bytes`; its order and time are set when the
    /// monitor records it.
    pub(crate) fn new(
        role: Role,
        call: Call,
        asked: usize,
        bytes: &[u8],
        result: CallResult,
        line: Option<u32>,
    ) -> Event {
        Event {
            seq: 0,
            at_us: 0,
            role,
            call,
            asked,
            moved: bytes.len(),
            offset: None,
            bytes: bytes.to_vec(),
            result,
            line,
            queues: None,
            buffer_limits: None,
            writer_capacity: None,
        }
    }
}

/// Where one framed message sits in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// First byte of the frame (prefix, type byte...).
    pub start: usize,
    /// First byte of the message body.
    pub body: usize,
    /// One past the body.
    pub body_end: usize,
    /// One past the frame (trailing delimiter, padding...).
    pub end: usize,
}

/// What a side's receiver made of the stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Outcome {
    /// Every message, in order, byte for byte.
    Delivered {
        /// Data messages.
        messages: usize,
        /// Reports of how the connection failed (`engine::report`), counted apart.
        #[serde(default, skip_serializing_if = "is_zero")]
        reports: usize,
    },
    /// A message differs from what was sent.
    Wrong {
        index: usize,
        expected: Option<Vec<u8>>,
        got: Vec<u8>,
    },
    /// The receiver stopped early: some messages never reached the application.
    Lost { delivered: usize, expected: usize },
    /// The program waited with nothing more coming and was stopped.
    Stuck {
        role: Role,
        line: Option<u32>,
        waited_ms: u64,
    },
    /// The receiver kept calling `recv()` after the end of the stream (`calls`
    /// returned 0), or made more calls in all than the budget allows.
    Spinning {
        calls: u32,
        total_calls: u32,
        line: Option<u32>,
    },
    /// The program ended with an error, or panicked.
    Error {
        role: Role,
        error: String,
        message: String,
    },
}

/// The outcome without its details: what a lesson claims its naive side shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    Delivered,
    Wrong,
    Lost,
    Stuck,
    Spinning,
    Error,
}

impl OutcomeKind {
    pub fn name(self) -> &'static str {
        match self {
            OutcomeKind::Delivered => "delivered",
            OutcomeKind::Wrong => "wrong",
            OutcomeKind::Lost => "lost data",
            OutcomeKind::Stuck => "stuck",
            OutcomeKind::Spinning => "spinning",
            OutcomeKind::Error => "error",
        }
    }
}

impl std::fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Outcome {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Delivered { .. } => OutcomeKind::Delivered,
            Outcome::Wrong { .. } => OutcomeKind::Wrong,
            Outcome::Lost { .. } => OutcomeKind::Lost,
            Outcome::Stuck { .. } => OutcomeKind::Stuck,
            Outcome::Spinning { .. } => OutcomeKind::Spinning,
            Outcome::Error { .. } => OutcomeKind::Error,
        }
    }

    pub fn is_delivered(&self) -> bool {
        self.kind() == OutcomeKind::Delivered
    }

    /// One sentence for people.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Delivered {
                messages,
                reports: 0,
            } => format!("delivered {}", all_of(*messages, "message")),
            Outcome::Delivered { messages, reports } => format!(
                "delivered {} and {reports} report{}",
                all_of(*messages, "message"),
                plural(*reports)
            ),
            Outcome::Wrong {
                index,
                expected: Some(expected),
                got,
            } if super::report::is_report(expected) => format!(
                "wrong: message {} is {} but the report {} was expected",
                index + 1,
                quote(got),
                quote(expected)
            ),
            Outcome::Wrong {
                index,
                expected: Some(expected),
                got,
            } => format!(
                "wrong: message {} is {} but {} was sent",
                index + 1,
                quote(got),
                quote(expected)
            ),
            Outcome::Wrong {
                index,
                expected: None,
                got,
            } => format!(
                "wrong: got an extra message {} ({}) that was never sent",
                index + 1,
                quote(got)
            ),
            Outcome::Lost {
                delivered,
                expected,
            } => format!(
                "lost data: only {delivered} of {expected} message{} reached the application",
                plural(*expected)
            ),
            Outcome::Stuck {
                role,
                line,
                waited_ms,
            } if *waited_ms < 1000 => format!(
                "stuck: the {} waits{} for bytes that will never come (nothing else could move, so it was stopped)",
                role_name(*role),
                at_line(*line)
            ),
            Outcome::Stuck {
                role,
                line,
                waited_ms,
            } => format!(
                "stuck: the {} waits{} for bytes that will never come (stopped after {waited_ms} ms)",
                role_name(*role),
                at_line(*line)
            ),
            Outcome::Spinning {
                calls: 0,
                total_calls,
                line,
            } => format!(
                "spinning: the loop{} made {total_calls} calls without finishing and was stopped",
                at_line(*line)
            ),
            Outcome::Spinning { calls, line, .. } => format!(
                "spinning: recv() returned 0 (peer closed) {calls} times: the loop{} kept calling it until it was stopped",
                at_line(*line)
            ),
            Outcome::Error {
                role,
                error,
                message,
            } => format!("error in the {}: {error}: {message}", role_name(*role)),
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Sender => "sender",
        Role::Receiver => "receiver",
        Role::Relay => "relay",
    }
}

fn at_line(line: Option<u32>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "the message", "all 3 messages": never "all 1 message".
fn all_of(count: usize, noun: &str) -> String {
    match count {
        1 => format!("the {noun}"),
        _ => format!("all {count} {noun}s"),
    }
}

/// Bytes as a short quoted string for messages to people.
pub fn quote(bytes: &[u8]) -> String {
    const MAX: usize = 40;
    let shown: String = bytes
        .iter()
        .take(MAX)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if bytes.len() > MAX {
        format!("\"{shown}…\" ({} bytes)", bytes.len())
    } else {
        format!("\"{shown}\"")
    }
}

/// Everything one side recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideTrace {
    pub side: Side,
    pub events: Vec<Event>,
    /// Messages the receiver handed to the application.
    pub delivered: Vec<Vec<u8>>,
    pub outcome: Outcome,
}

impl SideTrace {
    /// The `recv()` calls of the receiver, in order.
    pub fn receiver_reads(&self) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .filter(|e| e.role == Role::Receiver && e.call == Call::Recv)
    }

    /// The pieces the relay delivered to the receiver.
    pub fn pieces(&self) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .filter(|e| e.call == Call::Piece && e.offset.is_some())
    }
}

/// A whole run: the stream, how it was cut, and both sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub lesson: String,
    /// The language the programs are written in ("rust", "python"): each event's
    /// `line` is a line of the file in that language.
    #[serde(default = "rust")]
    pub language: String,
    pub seed: u64,
    pub mode: Mode,
    /// The messages the receiver should hand to the application, in order. The sender
    /// is given all but the reports (see `engine::report`).
    pub messages: Vec<Vec<u8>>,
    /// The framed byte stream a correct sender writes.
    pub stream: Vec<u8>,
    /// Where each message sits in `stream`.
    pub spans: Vec<Span>,
    /// Offsets where the relay cut the stream.
    pub cuts: Vec<usize>,
    pub naive: SideTrace,
    pub correct: SideTrace,
}

fn rust() -> String {
    "rust".to_string()
}

impl Trace {
    pub fn side(&self, side: Side) -> &SideTrace {
        match side {
            Side::Naive => &self.naive,
            Side::Correct => &self.correct,
        }
    }
}

/// Puts a side's events in an order that does not depend on thread timing: each
/// role's events (sender, relay, receiver) keep their program order, and the roles
/// are merged by what each event needs to have happened first, by stream position:
/// a piece comes after the sends of its bytes, a `recv()` after the pieces (in
/// direct, the sends) of the bytes it returned, an end of stream or a reset after
/// the peer's last write, a failed write after the peer's last call. Of the events
/// whose needs are met, the sender's comes first, then the relay's, then the
/// receiver's (the order in which lockstep lets them move). In lockstep a piece also
/// waits until its receiver has read everything before it and is in `recv()`.
///
/// The same calls with the same results therefore list the same way, whichever
/// thread the kernel ran first. Each event's `seq` becomes its place in this order.
pub(crate) fn causal_order(events: Vec<Event>, mode: Mode) -> Vec<Event> {
    let order = causal_indices(&events, mode);
    let mut slots: Vec<Option<Event>> = events.into_iter().map(Some).collect();
    order
        .into_iter()
        .enumerate()
        .map(|(place, index)| {
            let mut event = slots[index].take().expect("each event is placed once");
            event.seq = place as u32;
            event
        })
        .collect()
}

/// The order of `causal_order`, as indices into `events`.
pub(crate) fn causal_indices(events: &[Event], mode: Mode) -> Vec<usize> {
    use std::collections::VecDeque;
    const ORDER: [Role; 3] = [Role::Sender, Role::Relay, Role::Receiver];
    const SENDER: usize = 0;
    const RELAY: usize = 1;
    const RECEIVER: usize = 2;
    let role_index = |role: Role| ORDER.iter().position(|&r| r == role).unwrap_or(0);
    let is_write = |e: &Event| matches!(e.call, Call::Send | Call::Shutdown | Call::Abort);
    let mut queues: [VecDeque<usize>; 3] = Default::default();
    let mut writes_left = [0usize; 3];
    let mut pieces_left = 0usize;
    for (index, event) in events.iter().enumerate() {
        let i = role_index(event.role);
        writes_left[i] += usize::from(is_write(event));
        pieces_left += usize::from(event.call == Call::Piece);
        queues[i].push_back(index);
    }
    let (mut sent, mut pieced, mut read) = (0usize, 0usize, 0usize);
    let (mut sent_back, mut read_back) = (0usize, 0usize);
    let mut ordered = Vec::with_capacity(events.len());
    while ordered.len() < events.len() {
        let front = |i: usize| queues[i].front().map(|&index| &events[index]);
        let ready = |i: usize| -> bool {
            let Some(event) = front(i) else {
                return false;
            };
            let ok = event.result == CallResult::Ok;
            let peer = if i == SENDER { RECEIVER } else { SENDER };
            match (i, event.call) {
                (RELAY, Call::Piece) => {
                    let offset = event.offset.unwrap_or(0);
                    sent >= offset + event.moved
                        && (mode != Mode::Lockstep
                            || (read >= offset
                                && front(RECEIVER).is_some_and(|e| e.call == Call::Recv)))
                }
                (RELAY, Call::Abort) => writes_left[SENDER] == 0,
                (RECEIVER, Call::Recv) if ok => {
                    let arrived = if mode == Mode::Direct { sent } else { pieced };
                    arrived >= read + event.moved
                }
                (SENDER, Call::Recv) if ok => sent_back >= read_back + event.moved,
                (_, Call::Recv) if !matches!(event.result, CallResult::TimedOut) => {
                    writes_left[peer] == 0 && (i != RECEIVER || pieces_left == 0)
                }
                (_, Call::Send) if !ok && !matches!(event.result, CallResult::TimedOut) => {
                    queues[peer].is_empty()
                }
                _ => true,
            }
        };
        // When no event's needs are met (calls the rules do not foresee), the first
        // role in order goes, so the result is still the same every time.
        let i = (0..3)
            .find(|&i| ready(i))
            .or_else(|| (0..3).find(|&i| !queues[i].is_empty()))
            .expect("an event is left");
        let index = queues[i].pop_front().expect("the queue has an event");
        let event = &events[index];
        writes_left[i] -= usize::from(is_write(event));
        match (i, event.call) {
            (SENDER, Call::Send) => sent += event.moved,
            (RELAY, Call::Piece) => {
                pieced += event.moved;
                pieces_left -= 1;
            }
            (RECEIVER, Call::Recv) => read += event.moved,
            (RECEIVER, Call::Send) => sent_back += event.moved,
            (SENDER, Call::Recv) => read_back += event.moved,
            _ => {}
        }
        ordered.push(index);
    }
    ordered
}
