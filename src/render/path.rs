//! Where the bytes are after a side's first calls: the path every textbook draws,
//! from the sender's own buffer through the kernel's queues and the wire to the
//! receiver's own buffer and the messages it delivered; and what became of each
//! byte the receiver read (its fate). One model for the TUI's path pane, the fate
//! row of every byte view, and the tests.
//!
//! The kernel queues are what the traced socket measured right after its last call
//! (`Event::queues`); the wire and the receiver's buffer follow from the recorded
//! bytes: what the sender wrote, what the relay handed on, what `recv()` returned
//! and which of those bytes the receiver delivered.

use super::diagram::ByteRole;
use crate::engine::{Call, Event, Role, Span};

/// What became of one byte the receiver read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fate {
    /// Part of the body of the `n`-th message the receiver delivered (from 0).
    Message(usize),
    /// Framing consumed with the `n`-th delivered message: its prefix, type byte,
    /// delimiter or padding.
    Framing(usize),
    /// Read and kept by the receiver, not yet part of a delivered message.
    Held,
    /// Read, but never part of any delivered message: the receiver let it go.
    Dropped,
}

impl Fate {
    /// One column for the fate row: the message number (1 to 9, then 0 again),
    /// `=` for framing, `~` held, `✗` dropped.
    pub fn symbol(self) -> char {
        match self {
            Fate::Message(n) => char::from_digit(((n + 1) % 10) as u32, 10).unwrap_or('?'),
            Fate::Framing(_) => '=',
            Fate::Held => '~',
            Fate::Dropped => '✗',
        }
    }

    /// A byte delivered or framing, as the role it had in its message: every view
    /// draws those as it draws the message's bytes on the wire.
    pub fn role(self) -> Option<ByteRole> {
        match self {
            Fate::Message(n) => Some(ByteRole::Body(n)),
            Fate::Framing(n) => Some(ByteRole::Framing(n)),
            Fate::Held | Fate::Dropped => None,
        }
    }

    /// What the symbols mean, for legends.
    pub const LEGEND: [(&'static str, &'static str); 4] = [
        ("1-9", "delivered as message n"),
        ("=", "framing"),
        ("~", "held: read, not yet delivered"),
        ("✗", "dropped: read, never delivered"),
    ];
}

/// The bytes the receiver read, in order, with the event that returned each.
fn received(events: &[Event]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut arrived = Vec::new();
    for (index, event) in events.iter().enumerate() {
        if event.role == Role::Receiver && event.call == Call::Recv {
            bytes.extend_from_slice(&event.bytes);
            arrived.extend(std::iter::repeat_n(index, event.bytes.len()));
        }
    }
    (bytes, arrived)
}

/// The fate of every byte the receiver read in `events` (the calls made by the
/// step shown), knowing only those: each delivered message is matched to the
/// bytes it came from, in order (the first place at or after the end of the one
/// before where the message's bytes stand, read before it was delivered); framing
/// is what the lesson's framing puts around a message (`spans`' shape); bytes a
/// delivery skipped over are dropped; bytes after the last delivery are held, or
/// dropped once the receiver has `ended`. A message found nowhere (a report of a
/// failure, or bytes the program made up) accounts for no bytes.
///
/// A program may let bytes go before a later delivery shows it (leftover's naive
/// reader drops them when it returns a line): they show as held until then, so a
/// step shows the same whether reached going forward or back.
pub fn fates(
    events: &[Event],
    stream: &[u8],
    spans: &[Span],
    upto: usize,
    ended: bool,
) -> Vec<Fate> {
    read_and_fates(&events[..upto.min(events.len())], stream, spans, ended).1
}

/// The bytes the receiver read in `known` (the calls made by a step) and the fate
/// of each: see [`fates`].
fn read_and_fates(
    known: &[Event],
    stream: &[u8],
    spans: &[Span],
    ended: bool,
) -> (Vec<u8>, Vec<Fate>) {
    let (bytes, arrived) = received(known);
    let mut fates = vec![Fate::Held; bytes.len()];
    let mut cursor = 0;
    let mut delivered = 0;
    for (index, event) in known.iter().enumerate() {
        if event.call != Call::Deliver {
            continue;
        }
        let k = delivered;
        delivered += 1;
        let message = &event.bytes;
        let read_by_then = arrived.partition_point(|&at| at < index);
        let shape = spans.get(k).or(spans.last());
        let header = shape.map_or(0, |s| s.body - s.start);
        let trailer = shape.map_or(0, |s| s.end - s.body_end);
        // The trailer the framing puts after the message (a delimiter), as the
        // stream has it.
        let expected_trailer = shape.and_then(|s| stream.get(s.body_end..s.end));
        let trailer_follows = |at: usize| match expected_trailer {
            Some(expected) if !expected.is_empty() => {
                bytes.get(at + message.len()..at + message.len() + expected.len()) == Some(expected)
            }
            _ => true,
        };
        // Where the framing puts the message: after its header (a message found
        // inside its own prefix is not taken for it; an empty one goes after as
        // much of its header as was read) and before its trailer; failing that,
        // anywhere after the last one.
        let last_start = read_by_then.checked_sub(message.len());
        let find = |from: usize, framed: bool| {
            last_start.and_then(|last| {
                (from..=last).find(|&at| {
                    bytes[at..at + message.len()] == message[..] && (!framed || trailer_follows(at))
                })
            })
        };
        let after_header = (cursor + header).min(read_by_then);
        let found = find(after_header, true)
            .or_else(|| find(cursor, true))
            .or_else(|| find(after_header, false))
            .or_else(|| find(cursor, false));
        let Some(at) = found else {
            continue;
        };
        let framing_start = at.saturating_sub(header).max(cursor);
        let end = at + message.len();
        let trailer_end = (end + trailer).min(read_by_then);
        fates[cursor..framing_start].fill(Fate::Dropped);
        fates[framing_start..at].fill(Fate::Framing(k));
        fates[at..end].fill(Fate::Message(k));
        fates[end..trailer_end].fill(Fate::Framing(k));
        cursor = trailer_end;
    }
    if ended {
        fates[cursor..].fill(Fate::Dropped);
    }
    (bytes, fates)
}

/// How many of the bytes a receiver dropped the path keeps, the first.
pub const DROPPED_SHOWN: usize = 256;

/// What one box of the path holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    /// Bytes in it: as measured, for a kernel queue (which counts a FIN too).
    pub len: usize,
    /// Where its first byte stands in the stream.
    pub at: usize,
    /// The socket buffer's size as the kernel reports it (SO_SNDBUF, SO_RCVBUF).
    pub limit: Option<usize>,
    /// The bytes themselves: the last `len` bytes written (send queue) or the next
    /// `len` bytes to read (receive queue).
    pub bytes: Vec<u8>,
}

/// One side's path after its first calls. A box is `None` where it does not apply
/// (no buffered writer) or was not measured (no ioctl, or no call yet).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path {
    /// Bytes a buffered writer accepted and has not flushed, and its capacity.
    pub sender_buffer: Option<Queue>,
    /// The sender socket's send queue (SIOCOUTQ).
    pub send_queue: Option<Queue>,
    /// Bytes past the sender's kernel and not yet handed to the receiver's: what
    /// the relay holds (`None` with no relay, in direct mode).
    pub wire: Option<Queue>,
    /// Where the next cut falls in `wire`, if inside it.
    pub next_cut: Option<usize>,
    /// The receiver socket's receive queue: counted with a relay, else FIONREAD.
    pub recv_queue: Option<Queue>,
    /// The fate of each byte the receiver read (see [`fates`]).
    pub fates: Vec<Fate>,
    /// Bytes the receiver read and holds, not yet delivered.
    pub held: Vec<u8>,
    /// Bytes the receiver read and let go.
    pub dropped: usize,
    /// The first bytes it let go (at most `DROPPED_SHOWN`).
    pub dropped_bytes: Vec<u8>,
    /// The messages delivered.
    pub delivered: Vec<Vec<u8>>,
}

/// The path of a side after its first `upto` events, knowing only those (see
/// [`fates`]). `cuts` are the wire's cuts; `relayed`: a relay stands between the
/// sockets (not direct mode); `ended`: the receiver is done as of that step.
pub fn path_at(
    events: &[Event],
    stream: &[u8],
    spans: &[Span],
    cuts: &[usize],
    relayed: bool,
    upto: usize,
    ended: bool,
) -> Path {
    let shown = &events[..upto.min(events.len())];
    let (received, fates) = read_and_fates(shown, stream, spans, ended);
    let with_fate = |fate: Fate| {
        received
            .iter()
            .zip(&fates)
            .filter(move |(_, f)| **f == fate)
            .map(|(byte, _)| *byte)
    };
    let held = with_fate(Fate::Held).collect();
    let dropped = with_fate(Fate::Dropped).count();
    let dropped_bytes = with_fate(Fate::Dropped).take(DROPPED_SHOWN).collect();

    let mut sent = Vec::new();
    let mut buffered = Vec::new();
    let mut flushed = 0;
    let mut flushing = 0;
    let mut writer_capacity = None;
    let mut relayed_bytes = 0;
    for event in shown {
        match (event.role, event.call) {
            (Role::Sender, Call::Send) => {
                sent.extend_from_slice(&event.bytes);
                // A flush's sends come before its own event: those bytes have left
                // the buffer already.
                flushing += event.moved;
            }
            (Role::Sender, Call::Buffer) => {
                buffered.extend_from_slice(&event.bytes);
                writer_capacity = event
                    .writer_capacity
                    .map(|c| c as usize)
                    .or(writer_capacity);
            }
            (Role::Sender, Call::Flush) => {
                flushed += event.moved;
                flushing = 0;
            }
            (Role::Relay, Call::Piece) => relayed_bytes += event.moved,
            _ => {}
        }
    }
    let sender_buffer = (!buffered.is_empty()).then(|| {
        let bytes = buffered[(flushed + flushing).min(buffered.len())..].to_vec();
        Queue {
            len: bytes.len(),
            at: sent.len(),
            limit: writer_capacity,
            bytes,
        }
    });

    let limit = |role: Role, pick: fn(&crate::engine::BufferLimits) -> u32| {
        shown
            .iter()
            .find(|e| e.role == role && e.buffer_limits.is_some())
            .and_then(|e| e.buffer_limits.as_ref())
            .map(|limits| pick(limits) as usize)
    };
    let last_measured = |role: Role| {
        shown
            .iter()
            .rev()
            .find(|e| e.role == role && e.queues.is_some())
            .and_then(|e| e.queues)
    };
    // Before the sender's first call its queue is trivially empty.
    let sender_called = shown.iter().any(|e| e.role == Role::Sender);
    let send_queue = if sender_called {
        last_measured(Role::Sender).map(|queues| queues.send)
    } else {
        Some(0)
    };
    let send_queue = send_queue.map(|queued| {
        // Measured at the sender's last call: bytes the relay has handed on since
        // have left it, whatever that measurement said (a sender that wrote, then
        // closed, is measured no more).
        let past_the_relay = if relayed { relayed_bytes } else { 0 };
        let len = (queued as usize).min(sent.len().saturating_sub(past_the_relay));
        let at = sent.len().saturating_sub(len);
        Queue {
            len,
            at,
            limit: limit(Role::Sender, |l| l.send),
            bytes: sent[at..].to_vec(),
        }
    });
    let received_len = received.len();
    let (wire, next_cut) = if relayed {
        let queued = send_queue.as_ref().map_or(0, |q| q.len);
        let past_sender = sent.len().saturating_sub(queued).max(relayed_bytes);
        let bytes = sent
            .get(relayed_bytes..past_sender)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let next_cut = cuts
            .iter()
            .find(|&&cut| cut > relayed_bytes && cut < relayed_bytes + bytes.len())
            .map(|cut| cut - relayed_bytes);
        let wire = Queue {
            len: bytes.len(),
            at: relayed_bytes,
            limit: None,
            bytes,
        };
        (Some(wire), next_cut)
    } else {
        (None, None)
    };
    // With a relay, what it handed on and the receiver has not read is exact by
    // counting (a test holds it to what FIONREAD measured); in direct mode only the
    // measurement knows.
    let recv_len = if relayed {
        Some(relayed_bytes.saturating_sub(received_len))
    } else {
        last_measured(Role::Receiver).map(|queues| queues.recv as usize)
    };
    let recv_queue = recv_len.map(|len| Queue {
        len,
        at: received_len,
        limit: limit(Role::Receiver, |l| l.recv),
        bytes: sent
            .get(received_len..received_len + len)
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
    });
    let delivered = shown
        .iter()
        .filter(|e| e.call == Call::Deliver)
        .map(|e| e.bytes.clone())
        .collect();
    Path {
        sender_buffer,
        send_queue,
        wire,
        next_cut,
        recv_queue,
        fates,
        held,
        dropped,
        dropped_bytes,
        delivered,
    }
}

/// A path's sizes in bytes, for `run --upto` and the book's player.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sizes {
    /// In the sender's own buffer (`None`: no buffered writer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_buffer: Option<usize>,
    /// In the kernel's send queue (`None`: not measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_queue: Option<usize>,
    /// The send buffer's size as the kernel reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_limit: Option<usize>,
    /// On the wire (`None`: no relay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<usize>,
    /// In the kernel's receive queue (`None`: not measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recv_queue: Option<usize>,
    /// Held in the receiver's own buffer.
    pub held: usize,
    /// Read and let go.
    pub dropped: usize,
    /// Messages delivered.
    pub delivered: usize,
}

impl Path {
    pub fn sizes(&self) -> Sizes {
        Sizes {
            sender_buffer: self.sender_buffer.as_ref().map(|q| q.len),
            send_queue: self.send_queue.as_ref().map(|q| q.len),
            send_limit: self.send_queue.as_ref().and_then(|q| q.limit),
            wire: self.wire.as_ref().map(|q| q.len),
            recv_queue: self.recv_queue.as_ref().map(|q| q.len),
            held: self.held.len(),
            dropped: self.dropped,
            delivered: self.delivered.len(),
        }
    }
}

impl Sizes {
    /// One line for people: `send queue 3072 B (of 4608) · wire 0 B · …`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.sender_buffer {
            parts.push(format!("own buffer {n} B"));
        }
        parts.push(match (self.send_queue, self.send_limit) {
            (Some(n), Some(limit)) => format!("send queue {n} B (of {limit})"),
            (Some(n), None) => format!("send queue {n} B"),
            (None, _) => "send queue not measured".to_string(),
        });
        if let Some(n) = self.wire {
            parts.push(format!("wire {n} B"));
        }
        parts.push(match self.recv_queue {
            Some(n) => format!("receive queue {n} B"),
            None => "receive queue not measured".to_string(),
        });
        parts.push(format!("held {} B", self.held));
        if self.dropped > 0 {
            parts.push(format!("dropped {} B", self.dropped));
        }
        parts.push(format!(
            "{} message{} delivered",
            self.delivered,
            if self.delivered == 1 { "" } else { "s" }
        ));
        parts.join(" · ")
    }
}

/// The path of `side` after its first `calls` events of a finished run; `ended`:
/// the step is the run's last (a side whose calls are all made may still be
/// waiting in a `recv()` that never returns, holding what it read).
pub fn of_trace(
    trace: &crate::engine::Trace,
    side: crate::engine::Side,
    calls: usize,
    ended: bool,
) -> Path {
    let events = &trace.side(side).events;
    path_at(
        events,
        &trace.stream,
        &trace.spans,
        &trace.cuts,
        trace.mode != crate::engine::Mode::Direct,
        calls,
        ended,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::CallResult;

    fn recv(bytes: &[u8]) -> Event {
        Event::new(
            Role::Receiver,
            Call::Recv,
            4096,
            bytes,
            CallResult::Ok,
            None,
        )
    }

    fn deliver(bytes: &[u8]) -> Event {
        Event::new(
            Role::Receiver,
            Call::Deliver,
            bytes.len(),
            bytes,
            CallResult::Ok,
            None,
        )
    }

    fn symbols(fates: &[Fate]) -> String {
        fates.iter().map(|f| f.symbol()).collect()
    }

    /// Lines ended by a newline: "ab\n" and "cd\n".
    const LINES: &[u8] = b"ab\ncd\n";
    const LINE_SPANS: [Span; 2] = [
        Span {
            start: 0,
            body: 0,
            body_end: 2,
            end: 3,
        },
        Span {
            start: 3,
            body: 3,
            body_end: 5,
            end: 6,
        },
    ];

    #[test]
    fn a_kept_leftover_is_held_and_then_delivered() {
        let events = [recv(b"ab\ncd"), deliver(b"ab"), recv(b"\n"), deliver(b"cd")];
        let at = |upto, ended| symbols(&fates(&events, LINES, &LINE_SPANS, upto, ended));
        assert_eq!(at(1, false), "~~~~~");
        assert_eq!(at(2, false), "11=~~");
        assert_eq!(at(4, true), "11=22=");
    }

    #[test]
    fn bytes_a_delivery_skips_are_dropped_from_that_step_and_the_rest_at_the_end() {
        // A reader that lost "cd\n" with its buffer, then read "ef\n" and "gh".
        let events = [
            recv(b"ab\ncd\n"),
            deliver(b"ab"),
            recv(b"ef\ngh"),
            deliver(b"ef"),
        ];
        let at = |upto, ended| symbols(&fates(&events, LINES, &LINE_SPANS, upto, ended));
        assert_eq!(at(2, false), "11=~~~", "not known to be dropped yet");
        assert_eq!(at(4, false), "11=✗✗✗22=~~");
        assert_eq!(at(4, true), "11=✗✗✗22=✗✗");
    }

    #[test]
    fn an_empty_line_is_the_newline_it_ends_at() {
        let events = [recv(b"ab\ncd"), deliver(b"ab"), recv(b"\nxy"), deliver(b"")];
        let fates = fates(&events, LINES, &LINE_SPANS, 4, false);
        assert_eq!(symbols(&fates), "11=✗✗=~~");
    }

    #[test]
    fn a_prefix_is_framing_and_a_message_inside_it_is_not_taken_for_it() {
        // "00001" then the one-byte message "0": not the 0s of the prefix.
        let stream = b"000010";
        let spans = [Span {
            start: 0,
            body: 5,
            body_end: 6,
            end: 6,
        }];
        let events = [recv(b"000010"), deliver(b"0")];
        let fates = fates(&events, stream, &spans, 2, true);
        assert_eq!(symbols(&fates), "=====1");
        // A message found nowhere accounts for no bytes.
        let events = [recv(b"00001x"), deliver(b"report")];
        let fates = super::fates(&events, stream, &spans, 2, false);
        assert_eq!(symbols(&fates), "~~~~~~");
    }
}
