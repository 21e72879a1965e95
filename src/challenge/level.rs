//! The levels as data: each one's name (a lesson slug), the lesson it practises, its
//! protocol exactly (`spec()`), and its seeded schedule: the connections, each a list
//! of client actions, with the requests the written pieces carry and the replies due.

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::{CutAt, CutPlan, Framing, Pieces};

/// The largest max-frame payload a server must accept.
pub const MAX_FRAME: usize = 65_536;
/// The longest delimiter line, `\n` excluded.
pub const MAX_LINE: usize = 4_096;
/// The partial-send request's payload length.
pub const BIG_PAYLOAD: usize = 99_999;
/// Unscaled time limits (each multiplied by `--slow`).
pub const REPLY_LIMIT: Duration = Duration::from_secs(2);
pub const LEVEL_LIMIT: Duration = Duration::from_secs(15);
pub const CLOSE_LIMIT: Duration = Duration::from_secs(1);

/// How a level's requests are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Exactly 10 bytes.
    FixedLength,
    /// Printable ASCII up to and including `\n`.
    Lines,
    /// 5 ASCII digits, then that many bytes.
    LengthPrefix,
    /// `P`, `T` + 8 bytes, or `N` + 20 bytes.
    TypeByte,
    /// A 4-byte big-endian length (at most 65,536), then that many bytes.
    MaxFrame,
    /// Everything until the client half-closes.
    ReadToEof,
}

impl Protocol {
    /// The bytes that say how long a request is, before its body (1: the type byte).
    pub fn prefix_len(self) -> usize {
        match self {
            Protocol::LengthPrefix => 5,
            Protocol::MaxFrame => 4,
            Protocol::TypeByte => 1,
            _ => 0,
        }
    }

    /// What one request is called in a sentence.
    pub fn noun(self) -> &'static str {
        match self {
            Protocol::Lines => "line",
            Protocol::FixedLength => "request",
            _ => "message",
        }
    }

    fn framing(self) -> Framing {
        match self {
            Protocol::FixedLength | Protocol::ReadToEof => Framing::Raw,
            Protocol::Lines => Framing::Delimiter { delimiter: b'\n' },
            Protocol::LengthPrefix => Framing::AsciiLength { digits: 5 },
            Protocol::TypeByte => Framing::TypeByte,
            Protocol::MaxFrame => Framing::BinaryLength { width: 4 },
        }
    }

    /// The whole frame of a request whose message is `message` (for type-byte, the
    /// type byte and the body).
    pub fn frame(self, message: &[u8]) -> Vec<u8> {
        self.framing().encode(&[message.to_vec()]).0
    }

    /// The reply to the request whose message is `message`: the same framing, the
    /// body reversed (the type byte stays first).
    pub fn reply(self, message: &[u8]) -> Vec<u8> {
        let mut reversed = message.to_vec();
        match self {
            Protocol::TypeByte if !reversed.is_empty() => reversed[1..].reverse(),
            _ => reversed.reverse(),
        }
        self.frame(&reversed)
    }
}

/// What each level adds to the common connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Only the common connections, closed by the client.
    Plain,
    /// Plus a connection of many lines cut into pieces of seeded sizes: most writes
    /// end inside a line and carry the ends of others.
    Leftover,
    /// Lying lengths: the server must close those connections.
    MaxFrame,
    /// Every connection ends with the client's close, which the server must follow.
    RecvZero,
    /// One request per connection, ended by a half-close.
    ReadToEof,
    /// A 99,999-byte request on a tight connection, read back slowly.
    PartialSend,
    /// A reset mid-message and a client that leaves before its reply.
    Errors,
}

/// One level of the challenge.
#[derive(Debug)]
pub struct Level {
    /// The level's name: the slug of the lesson it practises.
    pub id: &'static str,
    /// One line: what each request is, for `--list`.
    pub summary: &'static str,
    /// How its requests are framed.
    pub protocol: Protocol,
    shape: Shape,
}

/// Socket options a connection sets before it connects, and how it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// `SO_RCVBUF`, asked (Linux doubles it).
    pub receive_buffer: usize,
    /// `TCP_MAXSEG`: the largest segment the client accepts.
    pub max_segment: u32,
    /// The client reads at most this much at a time…
    pub read_chunk: usize,
    /// …and pauses this long between reads.
    pub read_pause: Duration,
}

/// Why the client waits for the server to close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseCause {
    /// The client closed its side (`shutdown(SHUT_WR)`: the server's recv() returns 0).
    ClientClosed,
    /// The server was sent a length over the limit and must refuse it.
    RefusedLength(u64),
}

/// One thing the client does on a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// One write: one piece on the wire.
    Write(Vec<u8>),
    /// Wait until every reply due so far has come back (2 s each, scaled).
    AwaitReplies,
    /// `shutdown(SHUT_WR)`.
    HalfClose,
    /// Wait for the server to close its side (a read of 0, or a reset).
    AwaitClose { within: Duration, cause: CloseCause },
    /// Close the connection.
    Close,
    /// Reset the connection (`SO_LINGER` 0, then close).
    Reset,
    /// Close at once after the write before it, without waiting for the program
    /// to read it or reading what comes back: its reply then meets a closed
    /// socket (a reset, then EPIPE or SIGPIPE for a second write).
    Leave,
}

/// One request a connection's pieces carry, and the reply due to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The request's bytes as written (frame included).
    pub request: Vec<u8>,
    /// Where it starts in the bytes the client writes on its connection.
    pub start: usize,
    /// The reply due.
    pub reply: Vec<u8>,
    /// The action after which the request is complete and its reply due.
    pub due_after: usize,
}

/// One connection of a schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    /// Set before connecting (never on a level's first connection).
    pub tuning: Option<Tuning>,
    pub actions: Vec<Action>,
    pub exchanges: Vec<Exchange>,
}

impl Connection {
    /// Every byte the client writes, in order.
    pub fn written(&self) -> Vec<u8> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Write(bytes) => Some(bytes.as_slice()),
                _ => None,
            })
            .flatten()
            .copied()
            .collect()
    }

    /// Every reply byte due on the connection, in order.
    pub fn expected(&self) -> Vec<u8> {
        self.exchanges
            .iter()
            .flat_map(|e| e.reply.iter().copied())
            .collect()
    }

    /// Writes `frames` (whole requests, with `replies`) cut at `cuts` (offsets into
    /// their concatenation), waiting for the replies after each write that completes
    /// a request if `wait`.
    fn requests(&mut self, frames: &[Vec<u8>], replies: Vec<Vec<u8>>, cuts: &[usize], wait: bool) {
        let stream: Vec<u8> = frames.concat();
        let base = self.written().len();
        let mut ends = Vec::with_capacity(frames.len());
        let mut at = 0;
        for (frame, reply) in frames.iter().zip(replies) {
            self.exchanges.push(Exchange {
                request: frame.clone(),
                start: base + at,
                reply,
                due_after: usize::MAX,
            });
            at += frame.len();
            ends.push(at);
        }
        let first = self.exchanges.len() - frames.len();
        let mut from = 0;
        for to in cuts.iter().copied().chain([stream.len()]) {
            if to <= from {
                continue;
            }
            self.actions.push(Action::Write(stream[from..to].to_vec()));
            let write = self.actions.len() - 1;
            let mut completed = false;
            for (i, &end) in ends.iter().enumerate() {
                if end > from && end <= to {
                    self.exchanges[first + i].due_after = write;
                    completed = true;
                }
            }
            if completed && wait {
                self.actions.push(Action::AwaitReplies);
            }
            from = to;
        }
        // Empty frames (read-to-eof's empty upload) complete with nothing written.
        for exchange in &mut self.exchanges[first..] {
            if exchange.due_after == usize::MAX {
                exchange.due_after = self.actions.len().saturating_sub(1);
            }
        }
    }

    /// Writes bytes that complete no request, cut at `cuts`.
    fn partial(&mut self, bytes: &[u8], cuts: &[usize]) {
        let mut from = 0;
        for to in cuts.iter().copied().chain([bytes.len()]) {
            if to > from {
                self.actions.push(Action::Write(bytes[from..to].to_vec()));
                from = to;
            }
        }
    }

    /// The client closes, then waits for the server to close within the limit.
    fn close_and_await_close(&mut self) {
        self.actions.push(Action::HalfClose);
        self.actions.push(Action::AwaitClose {
            within: CLOSE_LIMIT,
            cause: CloseCause::ClientClosed,
        });
        self.actions.push(Action::Close);
    }
}

/// A level's connections, in the order they are played (one at a time).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    pub connections: Vec<Connection>,
}

impl Level {
    /// The lesson it practises (`sockstep tui LESSON`).
    pub fn lesson(&self) -> &'static str {
        self.id
    }

    /// The seeded schedule: the same seed gives the same schedule.
    pub fn schedule(&self, seed: u64) -> Schedule {
        let index = LEVELS.iter().position(|l| l.id == self.id).unwrap_or(0) as u64;
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed ^ (index + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut connections = Vec::new();
        let p = self.protocol;
        if self.shape == Shape::ReadToEof {
            return Schedule {
                connections: uploads(p, &mut rng),
            };
        }
        let mut common = common_connections(p, &mut rng);
        for c in &mut common {
            if self.shape == Shape::RecvZero {
                c.close_and_await_close();
            } else {
                c.actions.push(Action::Close);
            }
        }
        let mut common = common.into_iter();
        let mut next = || common.next().expect("four common connections");
        match self.shape {
            Shape::Plain => connections.extend([next(), next(), next(), next()]),
            Shape::Leftover => {
                let mut runs = Connection::default();
                let lines: Vec<Vec<u8>> = (0..rng.random_range(10..=16))
                    .map(|_| printable(&mut rng, 0..=24))
                    .collect();
                let (stream, spans) = p.framing().encode(&lines);
                let cuts = CutPlan::pieces(Pieces::Uniform { min: 5, max: 40 }).resolve(
                    stream.len(),
                    &spans,
                    rng.random(),
                );
                add_messages(&mut runs, p, &lines, &cuts, true);
                runs.actions.push(Action::Close);
                connections.extend([next(), runs, next(), next(), next()]);
            }
            Shape::MaxFrame => {
                // Valid messages, then a lie of 0xFFFFFFFF cut inside its prefix.
                let mut lie_after = Connection::default();
                let messages: Vec<Vec<u8>> = (0..rng.random_range(1..=3))
                    .map(|_| random_bytes(&mut rng, 0..=30))
                    .collect();
                add_messages(&mut lie_after, p, &messages, &[], true);
                push_lie(&mut lie_after, 0xFFFF_FFFF, &mut rng);
                // A lie as the first thing on a connection, just over the limit or more.
                let mut lie_first = Connection::default();
                let lie = if rng.random_bool(0.5) {
                    MAX_FRAME as u64 + 1
                } else {
                    rng.random_range(MAX_FRAME as u64 + 2..=0xFFFF_FFFE)
                };
                push_lie(&mut lie_first, lie, &mut rng);
                connections.extend([next(), next(), lie_after, next(), lie_first, next()]);
            }
            Shape::RecvZero => {
                // The client closes mid-message: inside the prefix or the payload.
                let message = random_bytes(&mut rng, 4..=30);
                let frame = p.frame(&message);
                let stop = rng.random_range(1..frame.len());
                let mut mid = Connection::default();
                let cut = rng.random_range(0..stop);
                mid.partial(&frame[..stop], &[cut]);
                mid.close_and_await_close();
                connections.extend([next(), next(), mid, next(), next()]);
            }
            Shape::PartialSend => {
                let payload = random_bytes(&mut rng, BIG_PAYLOAD..=BIG_PAYLOAD);
                let frame = p.frame(&payload);
                let mut cuts = vec![rng.random_range(1..5)];
                cuts.extend(
                    CutPlan::pieces(Pieces::Uniform {
                        min: 8_000,
                        max: 40_000,
                    })
                    .resolve(frame.len(), &[], rng.random())
                    .into_iter()
                    .filter(|&c| c > 5),
                );
                let mut big = Connection {
                    tuning: Some(Tuning {
                        receive_buffer: 4_096,
                        max_segment: 536,
                        read_chunk: 2_048,
                        read_pause: Duration::from_millis(2),
                    }),
                    ..Connection::default()
                };
                big.requests(&[frame], vec![p.reply(&payload)], &cuts, true);
                big.actions.push(Action::Close);
                connections.extend([next(), big, next(), next(), next()]);
            }
            Shape::Errors => {
                // A reset in the middle of a message (prefix or payload).
                let message = random_bytes(&mut rng, 4..=30);
                let frame = p.frame(&message);
                let stop = rng.random_range(1..frame.len());
                let mut reset = Connection::default();
                reset.partial(&frame[..stop], &[]);
                reset.actions.push(Action::Reset);
                // A whole message, then a close before the reply can come.
                let mut leave = Connection::default();
                let message = random_bytes(&mut rng, 0..=30);
                leave.partial(&p.frame(&message), &[]);
                leave.actions.push(Action::Leave);
                connections.extend([next(), reset, next(), leave, next(), next()]);
            }
            Shape::ReadToEof => unreachable!("returned above"),
        }
        Schedule { connections }
    }

    /// The protocol, exactly, for `--spec`.
    pub fn spec(&self) -> String {
        let request = match self.protocol {
            Protocol::FixedLength => {
                "A request is exactly 10 bytes, any byte values (0-255). The reply is those 10 \
                 bytes in reverse order. Nothing separates requests: the 11th byte starts the \
                 next one."
                    .to_string()
            }
            Protocol::Lines => format!(
                "A request is a line: printable ASCII bytes (no \\n), 0 to {MAX_LINE} of them \
                 (empty lines occur), then \\n. The reply is the line's bytes reversed, then \\n. \
                 Example: \"abc\\n\" -> \"cba\\n\"."
            ),
            Protocol::LengthPrefix => {
                "A request is 5 ASCII digits giving the payload's length in decimal, zero-padded \
                 (00000 to 99999), then that many bytes of payload (any byte values). The reply \
                 is framed the same way, with the payload reversed. Example: \"00003abc\" -> \
                 \"00003cba\"."
                    .to_string()
            }
            Protocol::TypeByte => {
                "A request starts with a type byte: \"P\" (no body), \"T\" (an 8-byte body) or \
                 \"N\" (a 20-byte body); the body follows, any byte values. The reply is the type \
                 byte, then the body reversed (\"P\" alone for P). Example: \"T12345678\" -> \
                 \"T87654321\"."
                    .to_string()
            }
            Protocol::MaxFrame => format!(
                "A request is a 4-byte big-endian unsigned length, then that many bytes of \
                 payload. Lengths from 0 to 65,536 are valid, 65,536 ({MAX_FRAME:#x}) included. \
                 The reply is framed the same way, with the payload reversed. A length over \
                 65,536 is a lie: close that connection within 2 s, without reading the payload \
                 and without replying, and go on serving new connections (the client counts a \
                 read of 0 or a reset as your close). The client sends lengths up to \
                 4,294,967,295 (0xFFFFFFFF)."
            ),
            Protocol::ReadToEof => {
                "A request is every byte the client sends (0 to several thousand, any values) \
                 until it half-closes (shutdown(SHUT_WR)): your recv() returns 0 (read() returns \
                 0, end of file). The reply is all of those bytes reversed; then close the \
                 connection. One request per connection."
                    .to_string()
            }
        };
        let connections = match self.shape {
            Shape::Plain | Shape::Leftover | Shape::MaxFrame => {
                "Each connection carries one or more requests. When every reply on a connection \
                 has come back, the client closes it: your recv() returns 0; close the connection \
                 and accept the next one."
            }
            Shape::RecvZero => {
                "Each connection carries one or more requests; then the client closes its side \
                 (shutdown(SHUT_WR), which your recv() sees as 0 exactly like a close), once in \
                 the middle of a request. Reply to every complete request, never to the partial \
                 one, and close the connection within 1 s of the client's close, without \
                 spinning: the CPU your program uses while no byte moves is measured."
            }
            Shape::ReadToEof => {
                "After your reply the client waits for your close (a read of 0): close within 1 \
                 s of sending the reply."
            }
            Shape::PartialSend => {
                "One connection carries a single request of 99,999 bytes (\"99999\" + payload); \
                 its client asks for a small receive buffer (SO_RCVBUF 4,096) and a small \
                 segment size (TCP_MAXSEG 536) before connecting, and reads the 100,004-byte \
                 reply slowly (2,048 bytes every 2 ms). The reply must arrive whole and \
                 byte-exact: one send() can send less than asked. The other connections carry \
                 short requests. The client closes each connection once its replies are in."
            }
            Shape::Errors => {
                "One client resets its connection (RST) in the middle of a request; another \
                 sends a whole request and closes before reading the reply, so your send() or \
                 your next recv() may fail (EPIPE, ECONNRESET; a SIGPIPE if not ignored). Survive \
                 both: serve the next connection correctly. Other connections are closed by the \
                 client once their replies are in."
            }
        };
        format!(
            "{id}: {summary}\n\n\
             Protocol. {request}\n\n\
             Connections. Your server listens on 127.0.0.1, on the port in {{port}} / \
             SOCKSTEP_PORT (the level's name is in {{level}} / SOCKSTEP_LEVEL); it is started \
             fresh for this level. The client opens several connections, ONE AT A TIME: each \
             is finished before the next opens, so a plain accept loop serving one connection \
             at a time is enough. {connections}\n\n\
             The cuts. The client writes each connection's bytes in pieces chosen by the seed: \
             {cuts}. One recv() may return part of a request, or several.\n\n\
             Time limits. 2 s for each reply due, 15 s for the whole level (both times --slow). \
             Pass or fail depends only on the bytes that come back (and, where said, on your \
             close): a byte that differs, or that comes back before the request it answers is \
             complete, fails the level.\n",
            id = self.id,
            summary = self.summary,
            cuts = match (self.protocol, self.protocol.prefix_len()) {
                _ if self.shape == Shape::Leftover => {
                    "lines cut at seeded offsets, a connection of one-byte pieces, many lines in \
                     one write, lines split across writes, and a connection of many lines in \
                     pieces of 5 to 40 bytes, most ending inside a line"
                }
                (Protocol::ReadToEof, _) => {
                    "one upload in one-byte pieces, one in pieces of seeded sizes, one in a \
                     single write, and an empty one"
                }
                (_, 0) => {
                    "requests cut at seeded offsets, a connection of one-byte pieces, many \
                     requests in one write, and requests split across writes"
                }
                (_, 1) => {
                    "a cut right after a type byte, a connection of one-byte pieces, many \
                     requests in one write, and requests split across writes"
                }
                _ => {
                    "cuts at every offset inside a length prefix, a connection of one-byte \
                     pieces, many requests in one write, and requests split across writes"
                }
            },
        )
    }
}

/// Read-to-eof's connections, one upload each: in one-byte pieces, in pieces of
/// seeded sizes, in one write, and empty; each ended by a half-close.
fn uploads(p: Protocol, rng: &mut ChaCha8Rng) -> Vec<Connection> {
    let short = random_bytes(rng, 12..=24);
    let long = random_bytes(rng, 1_000..=6_000);
    let whole = random_bytes(rng, 100..=3_000);
    let one_byte: Vec<usize> = (1..short.len()).collect();
    let split = CutPlan::pieces(Pieces::Uniform {
        min: 200,
        max: 1_500,
    })
    .resolve(long.len(), &[], rng.random());
    let mut connections = Vec::new();
    for (upload, cuts) in [
        (short, one_byte),
        (long, split),
        (whole, vec![]),
        (vec![], vec![]),
    ] {
        let mut c = Connection::default();
        c.requests(
            std::slice::from_ref(&upload),
            vec![p.reply(&upload)],
            &cuts,
            false,
        );
        // The request is complete only when the client says so.
        c.actions.push(Action::HalfClose);
        c.exchanges[0].due_after = c.actions.len() - 1;
        c.actions.push(Action::AwaitReplies);
        c.actions.push(Action::AwaitClose {
            within: CLOSE_LIMIT,
            cause: CloseCause::ClientClosed,
        });
        c.actions.push(Action::Close);
        connections.push(c);
    }
    connections
}

/// The four connections every framed level plays: cuts at every offset inside a
/// prefix, one-byte pieces, many requests in one write, requests split at seeded points.
fn common_connections(p: Protocol, rng: &mut ChaCha8Rng) -> Vec<Connection> {
    let prefix = p.prefix_len();
    // Cut message i after i+1 bytes of its prefix (after the type byte: T and N only).
    let mut prefix_cuts = Connection::default();
    let mut messages = Vec::new();
    let mut plan = CutPlan::default();
    let offsets: Vec<usize> = if prefix >= 2 {
        (1..prefix).collect()
    } else if prefix == 1 {
        vec![1, 1]
    } else {
        // No prefix: cut each of three requests at a seeded offset inside it.
        vec![0, 0, 0]
    };
    for (i, &offset) in offsets.iter().enumerate() {
        let message = match p {
            Protocol::TypeByte => typed(rng, if i % 2 == 0 { b'T' } else { b'N' }),
            _ => random_message(p, rng, 1..=30),
        };
        plan = if offset == 0 {
            plan.with_cut(CutAt::Within { message: i })
        } else {
            plan.with_cut(CutAt::InFrame {
                message: i,
                at: offset,
            })
        };
        messages.push(message);
    }
    let (stream, spans) = p.framing().encode(&messages);
    let cuts = plan.resolve(stream.len(), &spans, rng.random());
    add_messages(&mut prefix_cuts, p, &messages, &cuts, true);

    // One-byte pieces.
    let mut one_byte = Connection::default();
    let messages: Vec<Vec<u8>> = (0..2).map(|_| random_message(p, rng, 0..=6)).collect();
    let len: usize = messages.iter().map(|m| p.frame(m).len()).sum();
    add_messages(
        &mut one_byte,
        p,
        &messages,
        &(1..len).collect::<Vec<_>>(),
        true,
    );

    // Many requests in one write (an empty one among them where that exists).
    let mut coalesced = Connection::default();
    let mut messages: Vec<Vec<u8>> = (0..rng.random_range(3..=8))
        .map(|_| random_message(p, rng, 0..=30))
        .collect();
    if p != Protocol::FixedLength {
        let at = rng.random_range(0..messages.len());
        messages[at] = random_message(p, rng, 0..=0);
    }
    add_messages(&mut coalesced, p, &messages, &[], true);

    // Requests split across writes at seeded points, with a long one among them.
    let mut split = Connection::default();
    let mut messages: Vec<Vec<u8>> = (0..rng.random_range(4..=8))
        .map(|_| random_message(p, rng, 0..=30))
        .collect();
    let long = rng.random_range(0..messages.len());
    messages[long] = match p {
        Protocol::MaxFrame => random_bytes(rng, MAX_FRAME..=MAX_FRAME),
        Protocol::Lines => printable(rng, 500..=MAX_LINE),
        Protocol::LengthPrefix => random_bytes(rng, 1_000..=5_000),
        _ => random_message(p, rng, 0..=30),
    };
    let mut plan = CutPlan::default();
    for i in 0..messages.len() {
        if i == long || rng.random_bool(0.6) {
            plan = plan.with_cut(CutAt::Within { message: i });
        }
    }
    let (stream, spans) = p.framing().encode(&messages);
    let cuts = plan.resolve(stream.len(), &spans, rng.random());
    add_messages(&mut split, p, &messages, &cuts, true);

    vec![prefix_cuts, one_byte, coalesced, split]
}

fn add_messages(c: &mut Connection, p: Protocol, messages: &[Vec<u8>], cuts: &[usize], wait: bool) {
    let frames: Vec<Vec<u8>> = messages.iter().map(|m| p.frame(m)).collect();
    let replies = messages.iter().map(|m| p.reply(m)).collect();
    c.requests(&frames, replies, cuts, wait);
}

/// A lying max-frame length cut inside its 4 bytes, some payload after it, and the
/// wait for the server's close.
fn push_lie(c: &mut Connection, length: u64, rng: &mut ChaCha8Rng) {
    let mut bytes = (length as u32).to_be_bytes().to_vec();
    bytes.extend(random_bytes(rng, 16..=64));
    // The payload rides with the end of the prefix: nothing is written after it.
    c.partial(&bytes, &[rng.random_range(1..4)]);
    c.actions.push(Action::AwaitClose {
        within: REPLY_LIMIT,
        cause: CloseCause::RefusedLength(length),
    });
    c.actions.push(Action::Close);
}

/// A request message for `p` (for lines, without the `\n`; for type-byte, with the
/// type byte), of a length in `lengths` where the protocol lets it vary.
fn random_message(
    p: Protocol,
    rng: &mut ChaCha8Rng,
    lengths: std::ops::RangeInclusive<usize>,
) -> Vec<u8> {
    match p {
        Protocol::FixedLength => random_bytes(rng, 10..=10),
        Protocol::Lines => printable(rng, lengths),
        Protocol::TypeByte => {
            let kind = [b'P', b'T', b'N'][rng.random_range(0..3)];
            typed(rng, kind)
        }
        _ => random_bytes(rng, lengths),
    }
}

fn typed(rng: &mut ChaCha8Rng, kind: u8) -> Vec<u8> {
    let body = match kind {
        b'T' => 8,
        b'N' => 20,
        _ => 0,
    };
    let mut message = vec![kind];
    message.extend(random_bytes(rng, body..=body));
    message
}

fn random_bytes(rng: &mut ChaCha8Rng, lengths: std::ops::RangeInclusive<usize>) -> Vec<u8> {
    let len = rng.random_range(lengths);
    (0..len).map(|_| rng.random()).collect()
}

fn printable(rng: &mut ChaCha8Rng, lengths: std::ops::RangeInclusive<usize>) -> Vec<u8> {
    let len = rng.random_range(lengths);
    (0..len).map(|_| rng.random_range(0x20..=0x7e)).collect()
}

const LEVELS: &[Level] = &[
    Level {
        id: "fixed-length",
        summary: "exactly 10 bytes; reply: the 10 bytes reversed",
        protocol: Protocol::FixedLength,
        shape: Shape::Plain,
    },
    Level {
        id: "delimiter",
        summary: "a line ending in \\n; reply: the line reversed, then \\n",
        protocol: Protocol::Lines,
        shape: Shape::Plain,
    },
    Level {
        id: "leftover",
        summary: "as delimiter, many lines per write, lines split across writes",
        protocol: Protocol::Lines,
        shape: Shape::Leftover,
    },
    Level {
        id: "length-prefix",
        summary: "5 ASCII digits, then that many bytes; reply: same framing, reversed",
        protocol: Protocol::LengthPrefix,
        shape: Shape::Plain,
    },
    Level {
        id: "type-byte",
        summary: "P, T + 8 bytes or N + 20 bytes; reply: the type, the body reversed",
        protocol: Protocol::TypeByte,
        shape: Shape::Plain,
    },
    Level {
        id: "max-frame",
        summary: "a 4-byte big-endian length, at most 65,536; close on a longer one",
        protocol: Protocol::MaxFrame,
        shape: Shape::MaxFrame,
    },
    Level {
        id: "recv-zero",
        summary: "length-prefix; the client closes, once mid-message: close too",
        protocol: Protocol::LengthPrefix,
        shape: Shape::RecvZero,
    },
    Level {
        id: "read-to-eof",
        summary: "any bytes, then the client half-closes; reply: all of them reversed",
        protocol: Protocol::ReadToEof,
        shape: Shape::ReadToEof,
    },
    Level {
        id: "partial-send",
        summary: "length-prefix, one 99,999-byte request read back slowly",
        protocol: Protocol::LengthPrefix,
        shape: Shape::PartialSend,
    },
    Level {
        id: "errors",
        summary: "length-prefix; clients reset and leave early: survive, serve the next",
        protocol: Protocol::LengthPrefix,
        shape: Shape::Errors,
    },
];

/// Every level, in the order `all` plays them.
pub fn levels() -> &'static [Level] {
    LEVELS
}

/// The level named `id`.
pub fn find(id: &str) -> Option<&'static Level> {
    LEVELS.iter().find(|level| level.id == id)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The complete requests in `stream`, decoded independently of the schedule's
    /// own framing code, as (frame, reply).
    fn decode(p: Protocol, stream: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < stream.len() {
            let rest = &stream[at..];
            let (len, reply) = match p {
                Protocol::FixedLength if rest.len() >= 10 => {
                    (10, rest[..10].iter().rev().copied().collect())
                }
                Protocol::Lines => match rest.iter().position(|&b| b == b'\n') {
                    Some(end) => {
                        let mut reply: Vec<u8> = rest[..end].iter().rev().copied().collect();
                        reply.push(b'\n');
                        (end + 1, reply)
                    }
                    None => break,
                },
                Protocol::LengthPrefix if rest.len() >= 5 => {
                    let n: usize = std::str::from_utf8(&rest[..5]).unwrap().parse().unwrap();
                    if rest.len() < 5 + n {
                        break;
                    }
                    let mut reply = rest[..5].to_vec();
                    reply.extend(rest[5..5 + n].iter().rev());
                    (5 + n, reply)
                }
                Protocol::TypeByte => {
                    let n = match rest[0] {
                        b'P' => 0,
                        b'T' => 8,
                        b'N' => 20,
                        other => panic!("type byte {other}"),
                    };
                    if rest.len() < 1 + n {
                        break;
                    }
                    let mut reply = vec![rest[0]];
                    reply.extend(rest[1..1 + n].iter().rev());
                    (1 + n, reply)
                }
                Protocol::MaxFrame if rest.len() >= 4 => {
                    let n = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
                    if n > MAX_FRAME || rest.len() < 4 + n {
                        break;
                    }
                    let mut reply = rest[..4].to_vec();
                    reply.extend(rest[4..4 + n].iter().rev());
                    (4 + n, reply)
                }
                Protocol::ReadToEof => (rest.len(), rest.iter().rev().copied().collect()),
                _ => break,
            };
            out.push((rest[..len].to_vec(), reply));
            at += len;
        }
        out
    }

    fn writes(c: &Connection) -> Vec<&[u8]> {
        c.actions
            .iter()
            .filter_map(|a| match a {
                Action::Write(bytes) => Some(bytes.as_slice()),
                _ => None,
            })
            .collect()
    }

    /// Write boundaries as offsets into the connection's stream.
    fn boundaries(c: &Connection) -> Vec<usize> {
        writes(c)
            .iter()
            .scan(0, |at, w| {
                *at += w.len();
                Some(*at)
            })
            .collect()
    }

    fn check_schedule(level: &Level, seed: u64) {
        let schedule = level.schedule(seed);
        let p = level.protocol;
        assert!(schedule.connections.len() >= 4, "{}", level.id);
        assert!(
            schedule.connections[0].tuning.is_none(),
            "the first is the start-up check's"
        );
        let mut prefix_cuts = std::collections::BTreeSet::new();
        let (mut one_byte, mut coalesced, mut split) = (false, false, false);
        for c in &schedule.connections {
            // The pieces reassemble to the requests, each answered as the protocol says.
            let written = c.written();
            let mut decoded = decode(p, &written);
            if p == Protocol::ReadToEof && written.is_empty() {
                decoded.push((vec![], vec![]));
            }
            if c.actions.last() == Some(&Action::Leave) {
                // A client that leaves awaits no reply.
                assert_eq!(decoded.len(), 1, "{} seed {seed}", level.id);
                decoded.clear();
            }
            let carried: Vec<(Vec<u8>, Vec<u8>)> = c
                .exchanges
                .iter()
                .map(|e| (e.request.clone(), e.reply.clone()))
                .collect();
            assert_eq!(carried, decoded, "{} seed {seed}", level.id);
            let mut at = 0;
            for e in &c.exchanges {
                assert_eq!(e.start, at);
                at += e.request.len();
                // Due right after the action that completes it, never before.
                let sent: usize = c.actions[..=e.due_after]
                    .iter()
                    .map(|a| match a {
                        Action::Write(b) => b.len(),
                        _ => 0,
                    })
                    .sum();
                if p == Protocol::ReadToEof {
                    assert_eq!(c.actions[e.due_after], Action::HalfClose);
                } else {
                    assert!(matches!(c.actions[e.due_after], Action::Write(_)));
                    assert!(sent >= at && (sent - at) < c.actions[e.due_after].len());
                }
            }
            // The cuts this connection makes.
            let cuts = boundaries(c);
            let ws = writes(c);
            let all_one_byte = ws.len() >= 2 && ws.iter().all(|w| w.len() == 1);
            one_byte |= all_one_byte;
            for e in &c.exchanges {
                let end = e.start + e.request.len();
                let inside: Vec<usize> = cuts
                    .iter()
                    .filter(|&&b| e.start < b && b < end)
                    .map(|b| b - e.start)
                    .collect();
                split |= !inside.is_empty() && e.request.len() > 1;
                // A prefix cut in two, not one byte at a time.
                if !all_one_byte {
                    prefix_cuts.extend(inside.into_iter().filter(|&o| o <= p.prefix_len().max(1)));
                }
            }
            let mut from = 0;
            for to in &cuts {
                let whole = c
                    .exchanges
                    .iter()
                    .filter(|e| e.start >= from && e.start + e.request.len() <= *to)
                    .count();
                coalesced |=
                    whole >= 3 || (p == Protocol::ReadToEof && whole >= 1 && to - from > 1);
                from = *to;
            }
        }
        let wanted: std::collections::BTreeSet<usize> = match p.prefix_len() {
            0 => Default::default(),
            1 => [1].into(),
            n => (1..n).collect(),
        };
        assert!(
            wanted.is_subset(&prefix_cuts),
            "{} seed {seed}: {prefix_cuts:?}",
            level.id
        );
        assert!(one_byte, "{} seed {seed}: no one-byte connection", level.id);
        assert!(coalesced, "{} seed {seed}: nothing coalesced", level.id);
        assert!(split, "{} seed {seed}: no request split", level.id);
    }

    impl Action {
        fn len(&self) -> usize {
            match self {
                Action::Write(b) => b.len(),
                _ => 0,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn every_seed_gives_every_level_its_cuts(seed in any::<u64>()) {
            for level in levels() {
                check_schedule(level, seed);
            }
        }

        #[test]
        fn a_seed_fixes_the_schedule(seed in any::<u64>()) {
            for level in levels() {
                let schedule = level.schedule(seed);
                prop_assert_eq!(&schedule, &level.schedule(seed));
                prop_assert_ne!(&schedule, &level.schedule(seed.wrapping_add(1)));
            }
        }
    }

    #[test]
    fn max_frame_sends_the_limit_itself_and_lies_over_it() {
        for seed in 0..8 {
            let schedule = find("max-frame").unwrap().schedule(seed);
            let exchanges = schedule.connections.iter().flat_map(|c| &c.exchanges);
            assert!(exchanges.clone().any(|e| e.request.len() == 4 + MAX_FRAME));
            let lies: Vec<u64> = schedule
                .connections
                .iter()
                .flat_map(|c| &c.actions)
                .filter_map(|a| match a {
                    Action::AwaitClose {
                        cause: CloseCause::RefusedLength(n),
                        ..
                    } => Some(*n),
                    _ => None,
                })
                .collect();
            assert!(lies.contains(&0xFFFF_FFFF), "{lies:?}");
            assert!(lies.iter().all(|&n| n > MAX_FRAME as u64));
        }
    }

    #[test]
    fn recv_zero_closes_once_mid_message_and_waits_for_every_close() {
        let schedule = find("recv-zero").unwrap().schedule(5);
        for c in &schedule.connections {
            assert!(c.actions.contains(&Action::HalfClose));
            assert!(matches!(
                c.actions[c.actions.len() - 2],
                Action::AwaitClose { .. }
            ));
        }
        let partial = schedule
            .connections
            .iter()
            .filter(|c| c.exchanges.is_empty() && !c.written().is_empty())
            .count();
        assert_eq!(partial, 1);
    }

    #[test]
    fn partial_send_carries_the_big_request_on_a_tuned_connection() {
        let schedule = find("partial-send").unwrap().schedule(3);
        let big: Vec<&Connection> = schedule
            .connections
            .iter()
            .filter(|c| c.tuning.is_some())
            .collect();
        assert_eq!(big.len(), 1);
        assert_eq!(big[0].exchanges.len(), 1);
        assert_eq!(&big[0].exchanges[0].request[..5], b"99999");
        assert_eq!(big[0].exchanges[0].reply.len(), 5 + BIG_PAYLOAD);
    }

    #[test]
    fn errors_resets_one_connection_and_leaves_another_early() {
        let schedule = find("errors").unwrap().schedule(9);
        let resets = schedule
            .connections
            .iter()
            .filter(|c| c.actions.last() == Some(&Action::Reset));
        assert_eq!(resets.count(), 1);
        let leaves = schedule
            .connections
            .iter()
            .filter(|c| c.actions.last() == Some(&Action::Leave));
        assert_eq!(leaves.count(), 1);
        // Something is served after both.
        let last = schedule.connections.last().unwrap();
        assert!(last.actions.contains(&Action::AwaitReplies));
    }

    #[test]
    fn the_spec_gives_the_protocol_and_the_limits() {
        for level in levels() {
            let spec = level.spec();
            assert!(spec.starts_with(level.id), "{spec}");
            assert!(spec.contains("2 s for each reply"), "{spec}");
            assert!(spec.contains("15 s for the whole level"), "{spec}");
            assert!(spec.contains("ONE AT A TIME"), "{spec}");
        }
        assert!(find("max-frame").unwrap().spec().contains("65,536"));
        assert!(
            find("read-to-eof")
                .unwrap()
                .spec()
                .contains("shutdown(SHUT_WR)")
        );
    }
}
