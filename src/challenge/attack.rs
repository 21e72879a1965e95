//! Playing one level's schedule against the program, and the verdict.
//!
//! Each connection's pieces are written one at a time, the program is let to settle
//! after each, and what comes back is compared with the replies due at once: a byte
//! that differs, or that comes back before the request it answers is complete, fails
//! the level. Pass or fail depends only on the bytes that come back (and on the
//! program's closes where the level asks for them), never on timing luck; time only
//! bounds the waits.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, SockRef, Socket, Type};

use super::level::{
    Action, CloseCause, Connection, LEVEL_LIMIT, Level, MAX_FRAME, Protocol, REPLY_LIMIT,
};
use super::{Failure, FailureKind, LevelResult, ProgramEnd, Status, Step, Target, Waiting};

/// How long a wait sleeps at most before it looks at the program again.
const SLICE: Duration = Duration::from_millis(100);
/// After a connection broke, how long the program may take to be seen as exited.
const EXIT_GRACE: Duration = Duration::from_millis(500);
/// A wait in which no byte moved counts as a busy loop from this share of a core.
const BUSY_SHARE: f64 = 0.5;

/// Plays `level` with `seed` against `target`; every time limit is multiplied by `slow`.
pub fn play_level(level: &Level, seed: u64, slow: f64, target: &mut dyn Target) -> LevelResult {
    let started = Instant::now();
    let slow = if slow.is_finite() && slow >= 1.0 {
        slow
    } else {
        1.0
    };
    let schedule = level.schedule(seed);
    let mut play = Play {
        level,
        slow,
        target,
        steps: Vec::new(),
        calls: Vec::new(),
        level_deadline: started + LEVEL_LIMIT.mul_f64(slow),
    };
    let mut failure = None;
    for (i, connection) in schedule.connections.iter().enumerate() {
        if let Err(f) = play.connection(i + 1, connection) {
            failure = Some(*f);
            break;
        }
    }
    let status = match failure.as_ref().map(|f| f.kind) {
        None => Status::Pass,
        Some(FailureKind::Hang) => Status::Timeout,
        Some(FailureKind::Crash) => Status::Crash,
        Some(_) => Status::Fail,
    };
    LevelResult {
        id: level.id,
        status,
        duration: started.elapsed(),
        schedule: play.steps,
        failure,
    }
}

struct Play<'a> {
    level: &'a Level,
    slow: f64,
    target: &'a mut dyn Target,
    steps: Vec<Step>,
    /// Every call traced so far in this level.
    calls: Vec<super::TracedCall>,
    level_deadline: Instant,
}

/// One connection being played.
struct Live<'a> {
    number: usize,
    plan: &'a Connection,
    stream: TcpStream,
    /// The client's port, which tells this connection's traced calls apart.
    port: u16,
    /// Bytes written so far.
    written: usize,
    /// The last action done.
    done: Option<usize>,
    received: Vec<u8>,
    expected: Vec<u8>,
    /// The program closed its side (a read of 0) or reset the connection.
    closed: Option<Closed>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closed {
    Eof,
    Reset,
}

/// What one wait for bytes saw.
enum Got {
    Bytes,
    Closed,
    Nothing,
}

impl Live<'_> {
    /// Reply bytes due after the actions done so far.
    fn due(&self) -> usize {
        let Some(done) = self.done else { return 0 };
        self.plan
            .exchanges
            .iter()
            .filter(|e| e.due_after <= done)
            .map(|e| e.reply.len())
            .sum()
    }

    /// The exchange whose reply holds reply byte `offset` (the last one past the end).
    fn exchange_at(&self, offset: usize) -> usize {
        let mut end = 0;
        for (i, e) in self.plan.exchanges.iter().enumerate() {
            end += e.reply.len();
            if offset < end {
                return i;
            }
        }
        self.plan.exchanges.len().saturating_sub(1)
    }

    /// Closes the connection now (an RST if a reset was asked for), keeping what
    /// was seen on it; false if no socket could stand in for it (then it closes at
    /// the end of the connection as usual).
    fn close(&mut self) -> bool {
        match Socket::new(Domain::IPV4, Type::STREAM, None) {
            Ok(unconnected) => {
                drop(std::mem::replace(&mut self.stream, unconnected.into()));
                true
            }
            Err(_) => false,
        }
    }

    /// Where exchange `i`'s reply ends in the reply stream.
    fn reply_end(&self, i: usize) -> usize {
        self.plan.exchanges[..=i]
            .iter()
            .map(|e| e.reply.len())
            .sum()
    }
}

impl Play<'_> {
    fn scaled(&self, limit: Duration) -> Duration {
        limit.mul_f64(self.slow)
    }

    fn deadline(&self, limit: Duration) -> Instant {
        (Instant::now() + self.scaled(limit)).min(self.level_deadline)
    }

    fn connection(&mut self, number: usize, plan: &Connection) -> Result<(), Box<Failure>> {
        if let Some(end) = self.target.exited() {
            return Err(self.crashed(number, None, &end));
        }
        let stream = match self.open(plan) {
            Ok(stream) => stream,
            Err(error) => {
                let detail = format!("connection {number} could not be opened: {error}");
                return Err(self.lost(number, None, detail));
            }
        };
        let port = stream.local_addr().map(|a| a.port()).unwrap_or(0);
        self.steps.push(Step::Connect { connection: number });
        let mut live = Live {
            number,
            plan,
            stream,
            port,
            written: 0,
            done: None,
            received: Vec::new(),
            expected: plan.expected(),
            closed: None,
        };
        for (index, action) in plan.actions.iter().enumerate() {
            self.act(&mut live, index, action)?;
        }
        // Close now (a reset's RST goes with it) and wait for the program to be back
        // in accept(), so that a crash this connection caused is seen on it, run
        // after run, and not on the next one (or not at all).
        if live.close() {
            let deadline = self.deadline(REPLY_LIMIT);
            self.target.await_next(deadline);
            if let Some(end) = self.target.exited() {
                return Err(self.crashed(number, Some(&live), &end));
            }
        }
        self.calls.extend(self.target.traced_calls());
        Ok(())
    }

    /// A new connection: from the target, or tuned before connecting to its address.
    fn open(&mut self, plan: &Connection) -> io::Result<TcpStream> {
        let stream = match plan.tuning {
            None => self.target.connect()?,
            Some(tuning) => {
                let address = self.target.address();
                let socket = Socket::new(Domain::for_address(address), Type::STREAM, None)?;
                socket.set_recv_buffer_size(tuning.receive_buffer)?;
                socket.set_tcp_mss(tuning.max_segment)?;
                socket.connect_timeout(&address.into(), self.scaled(REPLY_LIMIT))?;
                socket.into()
            }
        };
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(self.scaled(REPLY_LIMIT)))?;
        Ok(stream)
    }

    fn act(&mut self, live: &mut Live, index: usize, action: &Action) -> Result<(), Box<Failure>> {
        let connection = live.number;
        if Instant::now() >= self.level_deadline {
            return Err(self.hang(live, "the level's time limit ran out".into()));
        }
        let writes = matches!(action, Action::Write(_) | Action::HalfClose);
        if writes && live.closed.is_some() {
            return Err(self.closed_early(live));
        }
        match action {
            Action::Write(bytes) => {
                self.steps.push(Step::Write {
                    connection,
                    bytes: bytes.clone(),
                });
                if let Err(error) = live.stream.write_all(bytes) {
                    return Err(self.write_failed(live, error));
                }
                live.written += bytes.len();
                live.done = Some(index);
                if live.plan.actions.get(index + 1) != Some(&Action::Leave) {
                    let deadline = self.deadline(REPLY_LIMIT);
                    self.target.settle(&live.stream, deadline);
                    self.read_now(live)?;
                }
            }
            Action::AwaitReplies => {
                live.done = Some(index);
                self.await_replies(live)?;
            }
            Action::HalfClose => {
                self.steps.push(Step::HalfClose { connection });
                if let Err(error) = live.stream.shutdown(Shutdown::Write) {
                    return Err(self.write_failed(live, error));
                }
                live.done = Some(index);
                let deadline = self.deadline(REPLY_LIMIT);
                self.target.settle(&live.stream, deadline);
                self.read_now(live)?;
            }
            Action::AwaitClose { within, cause } => {
                live.done = Some(index);
                self.await_close(live, *within, *cause)?;
            }
            Action::Close => {
                live.done = Some(index);
                self.read_now(live)?;
                self.steps.push(Step::Close { connection });
                let _ = live.stream.shutdown(Shutdown::Both);
            }
            Action::Leave => {
                live.done = Some(index);
                self.steps.push(Step::Close { connection });
                live.close();
            }
            Action::Reset => {
                live.done = Some(index);
                self.steps.push(Step::Reset { connection });
                // Dropping the stream at the end of the connection sends the RST.
                let _ = SockRef::from(&live.stream).set_linger(Some(Duration::ZERO));
            }
        }
        Ok(())
    }

    /// Reads what has come back without waiting, and judges it.
    fn read_now(&mut self, live: &mut Live) -> Result<(), Box<Failure>> {
        if live.closed.is_some() {
            return Ok(());
        }
        let _ = live.stream.set_nonblocking(true);
        let mut buf = vec![0u8; 64 * 1024];
        let outcome = loop {
            match live.stream.read(&mut buf) {
                Ok(0) => break Some(Closed::Eof),
                Ok(n) => {
                    self.received(live, &buf[..n]);
                    self.judge(live)?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break Some(Closed::Reset),
            }
        };
        let _ = live.stream.set_nonblocking(false);
        if let Some(closed) = outcome {
            self.peer_closed(live, closed);
        }
        Ok(())
    }

    /// Waits until `deadline` (at most one slice) for bytes or a close.
    fn read_wait(&mut self, live: &mut Live, deadline: Instant) -> Result<Got, Box<Failure>> {
        let now = Instant::now();
        if now >= deadline || live.closed.is_some() {
            return Ok(Got::Nothing);
        }
        let chunk = live.plan.tuning.map_or(64 * 1024, |t| t.read_chunk);
        let mut buf = vec![0u8; chunk];
        let _ = live.stream.set_read_timeout(Some(
            (deadline - now).min(SLICE).max(Duration::from_millis(1)),
        ));
        match live.stream.read(&mut buf) {
            Ok(0) => {
                self.peer_closed(live, Closed::Eof);
                Ok(Got::Closed)
            }
            Ok(n) => {
                self.received(live, &buf[..n]);
                self.judge(live)?;
                if let Some(t) = live.plan.tuning {
                    std::thread::sleep(t.read_pause);
                }
                Ok(Got::Bytes)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(Got::Nothing)
            }
            Err(_) => {
                self.peer_closed(live, Closed::Reset);
                Ok(Got::Closed)
            }
        }
    }

    /// Records bytes read, merged with the bytes read since the client's last action.
    fn received(&mut self, live: &mut Live, bytes: &[u8]) {
        live.received.extend_from_slice(bytes);
        if let Some(Step::Read {
            connection,
            bytes: so_far,
        }) = self.steps.last_mut()
            && *connection == live.number
        {
            so_far.extend_from_slice(bytes);
            return;
        }
        self.steps.push(Step::Read {
            connection: live.number,
            bytes: bytes.to_vec(),
        });
    }

    fn peer_closed(&mut self, live: &mut Live, closed: Closed) {
        if live.closed.is_none() {
            live.closed = Some(closed);
            self.steps.push(Step::PeerClosed {
                connection: live.number,
            });
        }
    }

    /// Fails at the first byte that differs from the replies due, or that came back
    /// before the request it answers was complete.
    fn judge(&mut self, live: &Live) -> Result<(), Box<Failure>> {
        let got = &live.received;
        let want = &live.expected;
        let differs = got.iter().zip(want.iter()).position(|(a, b)| a != b);
        let due = live.due();
        let (kind, at) = match differs {
            Some(at) => (FailureKind::WrongBytes, at),
            None if got.len() > want.len() => (FailureKind::ExtraBytes, want.len()),
            None if got.len() > due => (FailureKind::WrongBytes, due),
            None => return Ok(()),
        };
        // A byte past the replies due answers a request not yet complete.
        let early = kind == FailureKind::WrongBytes && at >= due;
        Err(self.wrong(live, kind, at, early))
    }

    fn await_replies(&mut self, live: &mut Live) -> Result<(), Box<Failure>> {
        let due = live.due();
        let mut deadline = self.deadline(REPLY_LIMIT);
        let mut watch = Watch::start(self);
        while live.received.len() < due {
            if live.closed.is_some() {
                return Err(self.closed_early(live));
            }
            if Instant::now() >= deadline {
                let waited = watch.elapsed();
                if let Some(share) = watch.busy(self) {
                    return Err(self.busy(live, share, waited, None));
                }
                let detail = if deadline >= self.level_deadline {
                    "the level's time limit ran out".to_string()
                } else {
                    format!("no reply after {}", millis(self.scaled(REPLY_LIMIT)))
                };
                return Err(self.hang(live, detail));
            }
            let before = live.received.len();
            if let Got::Bytes = self.read_wait(live, deadline)? {
                // A reply completed: the next one has its own time.
                let completed = |n: usize| {
                    live.plan
                        .exchanges
                        .iter()
                        .scan(0, |end, e| {
                            *end += e.reply.len();
                            Some(*end)
                        })
                        .filter(|&end| end <= n)
                        .count()
                };
                if completed(live.received.len()) > completed(before) {
                    deadline = self.deadline(REPLY_LIMIT);
                    watch = Watch::start(self);
                }
            } else {
                watch.sample(self, live);
            }
        }
        Ok(())
    }

    fn await_close(
        &mut self,
        live: &mut Live,
        within: Duration,
        cause: CloseCause,
    ) -> Result<(), Box<Failure>> {
        let deadline = self.deadline(within);
        let mut watch = Watch::start(self);
        while live.closed.is_none() {
            if Instant::now() >= deadline {
                let waited = watch.elapsed();
                if let Some(share) = watch.busy(self) {
                    return Err(self.busy(live, share, waited, Some(cause)));
                }
                // The limit, not the time measured past it: a replay says the same.
                return Err(self.not_closed(live, waited.min(self.scaled(within)), cause));
            }
            if let Got::Nothing = self.read_wait(live, deadline)? {
                watch.sample(self, live);
            }
        }
        Ok(())
    }

    // The verdicts.

    fn failure(
        &mut self,
        live: &Live,
        kind: FailureKind,
        detail: String,
        hint: String,
    ) -> Box<Failure> {
        let expected = live.expected.clone();
        let actual = live.received.clone();
        let first_diff = first_diff(&expected, &actual);
        self.calls.extend(self.target.traced_calls());
        let calls = self
            .calls
            .iter()
            .filter(|c| c.peer_port == Some(live.port))
            .cloned()
            .collect();
        Box::new(Failure {
            kind,
            connection: live.number,
            expected,
            actual,
            first_diff,
            detail,
            hint,
            calls,
        })
    }

    /// Wrong or early bytes: `at` is the first offending reply byte.
    fn wrong(&mut self, live: &Live, kind: FailureKind, at: usize, early: bool) -> Box<Failure> {
        let p = self.level.protocol;
        let noun = p.noun();
        if kind == FailureKind::ExtraBytes {
            let extra = live.received.len() - live.expected.len();
            let detail = format!(
                "{} more byte{} came back on connection {} than every reply due ({} bytes)",
                number(extra),
                plural(extra),
                live.number,
                number(live.expected.len())
            );
            let hint = if p == Protocol::ReadToEof || live.plan.exchanges.is_empty() {
                "you replied to bytes that were not a whole request: reply only when a request is complete".to_string()
            } else {
                format!("you sent more than one reply per {noun}: answer each {noun} exactly once")
            };
            return self.failure(live, kind, detail, hint);
        }
        let i = live.exchange_at(at);
        let exchange = &live.plan.exchanges[i];
        let had = live
            .written
            .saturating_sub(exchange.start)
            .min(exchange.request.len());
        let total = exchange.request.len();
        let ordinal = i + 1;
        // Past the replies due: a repeat of the last reply, or bytes before the next
        // request has begun, answer nothing the client asked.
        let past = &live.received[live.due().min(live.received.len())..];
        let repeat = i > 0 && {
            let last = &live.plan.exchanges[i - 1].reply;
            let n = past.len().min(last.len());
            n > 0 && past[..n] == last[..n]
        };
        if early && (had == 0 || repeat) {
            let detail = format!(
                "on connection {}, {} bytes came back past the {} due{}",
                live.number,
                number(past.len()),
                number(live.due()),
                if repeat {
                    format!(": the reply to {noun} {} again", i)
                } else {
                    String::new()
                }
            );
            let hint = format!(
                "you sent a reply nobody asked for (a second reply, or one to nothing): answer each {noun} exactly once"
            );
            return self.failure(live, FailureKind::ExtraBytes, detail, hint);
        }
        if early {
            let detail = format!(
                "on connection {}, bytes came back for {noun} {ordinal} when only {} of its {} bytes had been sent",
                live.number,
                number(had),
                number(total)
            );
            let prefix = p.prefix_len();
            let hint = match p {
                Protocol::ReadToEof => format!(
                    "you replied after {} of the {} bytes, before the client half-closed: read until recv() returns 0 (end of file), then reply",
                    number(had),
                    number(total)
                ),
                Protocol::Lines => format!(
                    "you replied to line {ordinal} before its \\n arrived: one recv() is not one line; keep reading until the \\n"
                ),
                Protocol::TypeByte => format!(
                    "you replied after {had} of the {total} bytes of a {} message: the body can arrive in a later recv() than the type byte",
                    exchange.request[0] as char
                ),
                _ if had < prefix => format!(
                    "you replied after {had} of the {prefix} prefix bytes: one recv() is not one message"
                ),
                _ => format!(
                    "you replied after {} of the {} bytes of {noun} {ordinal}: one recv() is not one message; read until the whole {noun} is in",
                    number(had),
                    number(total)
                ),
            };
            return self.failure(live, kind, detail, hint);
        }
        let start = self.reply_start(live, i);
        let detail = format!(
            "the reply to {noun} {ordinal} on connection {} differs from the expected one at its byte {}",
            live.number,
            number(at - start)
        );
        let hint = if p == Protocol::Lines && stripped_a_line(live, i, start) {
            format!(
                "the reply to line {ordinal} lost the spaces at its ends: every byte before the \\n is part of the line; remove only the \\n (strip() removes spaces too)"
            )
        } else if self.started_mid_write(live, i) {
            let rest = match p {
                Protocol::Lines => {
                    "the bytes after the first \\n in one recv() are the start of the next line; keep them"
                }
                _ => {
                    "the bytes after the first message in one recv() are the start of the next; keep them"
                }
            };
            format!(
                "the reply to {noun} {ordinal} is wrong: {rest}{}",
                self.see("leftover")
            )
        } else {
            format!(
                "the reply to {noun} {ordinal} is wrong: {}",
                match p {
                    Protocol::FixedLength => "it is the request's 10 bytes in reverse order",
                    Protocol::Lines => "it is the line's bytes reversed, then \\n",
                    Protocol::TypeByte => "it is the type byte, then the body reversed",
                    Protocol::ReadToEof => "it is every byte sent before the half-close, reversed",
                    _ => "it is the same length prefix, then the payload reversed",
                }
            )
        };
        self.failure(live, kind, detail, hint)
    }

    /// " (see `sockstep tui LESSON`)" when the pitfall is another lesson's than the
    /// level's own (the report links the level's lesson itself).
    fn see(&self, lesson: &str) -> String {
        if lesson == self.level.lesson() {
            String::new()
        } else {
            format!(" (see `sockstep tui {lesson}`)")
        }
    }

    fn reply_start(&self, live: &Live, i: usize) -> usize {
        live.reply_end(i) - live.plan.exchanges[i].reply.len()
    }

    /// Whether request `i` began inside a write that also carried an earlier request's
    /// end (a leftover in the program's buffer).
    fn started_mid_write(&self, live: &Live, i: usize) -> bool {
        if i == 0 {
            return false;
        }
        let start = live.plan.exchanges[i].start;
        let mut at = 0;
        for action in &live.plan.actions {
            if let Action::Write(bytes) = action {
                if at < start && start < at + bytes.len() {
                    return true;
                }
                at += bytes.len();
            }
        }
        false
    }

    fn hang(&mut self, live: &Live, why: String) -> Box<Failure> {
        if let Some(end) = self.target.exited() {
            return self.crashed(live.number, Some(live), &end);
        }
        let due = live.due();
        let got = live.received.len();
        let i = live.exchange_at(got.min(due.saturating_sub(1)));
        let noun = self.level.protocol.noun();
        let waiting = self.target.waiting(&live.stream);
        let reply = live.plan.exchanges.get(i).map_or(0, |e| e.reply.len());
        let start = if live.plan.exchanges.is_empty() {
            0
        } else {
            self.reply_start(live, i)
        };
        let of_it = got.saturating_sub(start);
        let mut detail = format!("{why}; {} bytes received", number(of_it));
        if let Some(w) = describe_waiting(&waiting) {
            detail.push_str(&format!("; your program is {w}"));
        }
        detail.push_str(&format!(
            " (the reply to {noun} {} on connection {}, {} bytes)",
            i + 1,
            live.number,
            number(reply)
        ));
        let in_read = matches!(waiting, Waiting::InRead { .. });
        let hint = if of_it > 0 {
            format!(
                "your reply was cut short after {} of {} bytes: send() can send less than asked; loop or use sendall(){}",
                number(of_it),
                number(reply),
                self.see("partial-send")
            )
        } else if self.started_mid_write(live, i) {
            match self.level.protocol {
                Protocol::Lines => format!(
                    "the reply to line {} never came: the bytes after the first \\n in one recv() are the start of the next line; keep them{}",
                    i + 1,
                    self.see("leftover")
                ),
                _ => format!(
                    "the reply to {noun} {} never came: the bytes after the first {noun} in one recv() are the start of the next; keep them{}",
                    i + 1,
                    self.see("leftover")
                ),
            }
        } else if in_read {
            format!(
                "your program waits for more input having sent nothing: the reply may be sitting in a buffer; flush it{}",
                self.see("flush")
            )
        } else if self.level.protocol == Protocol::ReadToEof {
            "the client half-closed and waited: recv() returning 0 is the end of the request; reply then".to_string()
        } else {
            format!(
                "the reply to {noun} {} never came: answer every whole {noun} as soon as it is in",
                i + 1
            )
        };
        self.failure(live, FailureKind::Hang, detail, hint)
    }

    fn busy(
        &mut self,
        live: &Live,
        share: f64,
        waited: Duration,
        cause: Option<CloseCause>,
    ) -> Box<Failure> {
        let after = match cause {
            Some(CloseCause::ClientClosed) => "after the client closed",
            Some(CloseCause::RefusedLength(_)) => "after a length over the limit",
            None => "while no byte moved",
        };
        let detail = format!(
            "your program used {:.0}% of a core for {:.1} s {after} on connection {}",
            share * 100.0,
            waited.as_secs_f64(),
            live.number
        );
        let hint = match cause {
            Some(CloseCause::ClientClosed) => {
                format!(
                "recv() returning 0 means closed: close the connection and stop reading{}",
                self.see("recv-zero")
            )
            }
            _ => "your program spins instead of waiting: a loop that calls recv() must stop when it returns 0".to_string(),
        };
        self.failure(live, FailureKind::BusyLoop, detail, hint)
    }

    fn not_closed(&mut self, live: &Live, waited: Duration, cause: CloseCause) -> Box<Failure> {
        if let Some(end) = self.target.exited() {
            return self.crashed(live.number, Some(live), &end);
        }
        let waiting = describe_waiting(&self.target.waiting(&live.stream))
            .map(|w| format!("; your program is {w}"))
            .unwrap_or_default();
        let (detail, hint) = match cause {
            CloseCause::ClientClosed => (
                format!(
                    "connection {} was still open {} after the client closed{waiting}",
                    live.number,
                    millis(waited)
                ),
                format!(
                    "recv() returning 0 means the client closed: close your side then, and accept the next connection{}",
                    self.see("recv-zero")
                ),
            ),
            CloseCause::RefusedLength(length) => (
                format!(
                    "connection {} was still open {} after a length of {} (over the {} limit){waiting}",
                    live.number,
                    millis(waited),
                    number(length as usize),
                    number(MAX_FRAME)
                ),
                format!(
                    "your server read {} as a length and kept reading: refuse lengths over {}{}",
                    number(length as usize),
                    number(MAX_FRAME),
                    self.see("max-frame")
                ),
            ),
        };
        self.failure(live, FailureKind::NotClosed, detail, hint)
    }

    fn closed_early(&mut self, live: &Live) -> Box<Failure> {
        if let Some(end) = self.exited_soon() {
            return self.crashed(live.number, Some(live), &end);
        }
        let due = live.due();
        let got = live.received.len();
        let i = live.exchange_at(got.min(due.saturating_sub(1)));
        let noun = self.level.protocol.noun();
        let how = if live.closed == Some(Closed::Reset) {
            "reset"
        } else {
            "closed"
        };
        let detail = if got < due {
            format!(
                "your program {how} connection {} with the reply to {noun} {} due ({} of {} reply bytes received)",
                live.number,
                i + 1,
                number(got),
                number(due)
            )
        } else {
            format!(
                "your program {how} connection {} after {} of the {} bytes the client had to send",
                live.number,
                number(live.written),
                number(live.plan.written().len())
            )
        };
        let (kind, hint) = if live.closed == Some(Closed::Reset) {
            (
                FailureKind::ConnectionLost,
                "the connection was reset: closing a socket with unread bytes sends a reset; read every request before closing".to_string(),
            )
        } else {
            (
                FailureKind::EarlyClose,
                format!(
                    "you closed before answering every {noun}: close only when recv() returns 0"
                ),
            )
        };
        self.failure(live, kind, detail, hint)
    }

    fn write_failed(&mut self, live: &Live, error: io::Error) -> Box<Failure> {
        if let Some(end) = self.exited_soon() {
            return self.crashed(live.number, Some(live), &end);
        }
        if live.closed.is_some() {
            return self.closed_early(live);
        }
        if matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            return self.hang(live, "your program stopped reading".to_string());
        }
        let detail = format!(
            "writing to connection {} failed ({error}): your program closed or reset it while requests were still coming",
            live.number
        );
        let hint = "keep the connection open and keep reading until recv() returns 0".to_string();
        self.failure(live, FailureKind::ConnectionLost, detail, hint)
    }

    fn lost(&mut self, number: usize, live: Option<&Live>, detail: String) -> Box<Failure> {
        if let Some(end) = self.exited_soon() {
            return self.crashed(number, live, &end);
        }
        let hint = "your program stopped accepting connections: serve each connection, then go back to accept()".to_string();
        match live {
            Some(live) => self.failure(live, FailureKind::ConnectionLost, detail, hint),
            None => bare(number, FailureKind::ConnectionLost, detail, hint),
        }
    }

    fn crashed(
        &mut self,
        connection: usize,
        live: Option<&Live>,
        end: &ProgramEnd,
    ) -> Box<Failure> {
        // The last lines that say something (not a traceback's carets).
        let said = |line: &&str| line.chars().any(|c| c.is_alphanumeric());
        let tail: Vec<&str> = end.output_tail.lines().rev().filter(said).take(3).collect();
        let last_lines: Vec<&str> = tail.into_iter().rev().map(str::trim).collect();
        let mut detail = format!("{} (seen on connection {connection})", describe_end(end));
        if !last_lines.is_empty() {
            detail.push_str(&format!("; its last output: {}", last_lines.join(" | ")));
        }
        let output = &end.output_tail;
        let hint = if end.signal == Some(13) {
            "SIGPIPE killed it: a send() to a peer that left raises SIGPIPE; ignore the signal (or use MSG_NOSIGNAL) and handle EPIPE".to_string()
        } else if end.ran_out_of_memory() {
            format!(
                "it ran out of memory: never allocate a length a peer sent without checking it (at most {})",
                number(MAX_FRAME)
            )
        } else if [
            "ConnectionResetError",
            "BrokenPipeError",
            "Connection reset",
            "Broken pipe",
        ]
        .iter()
        .any(|e| output.contains(e))
        {
            format!(
                "a peer can reset or leave at any time: catch the connection's error, close it, and serve the next connection{}",
                self.see("errors")
            )
        } else {
            "your program must keep serving: catch errors per connection instead of exiting"
                .to_string()
        };
        match live {
            Some(live) => {
                let mut f = self.failure(live, FailureKind::Crash, detail, hint);
                f.first_diff = None;
                f
            }
            None => bare(connection, FailureKind::Crash, detail, hint),
        }
    }

    /// The program's end if it exits within a short grace (its sockets close first).
    fn exited_soon(&mut self) -> Option<ProgramEnd> {
        let until = Instant::now() + EXIT_GRACE.mul_f64(self.slow);
        loop {
            if let Some(end) = self.target.exited() {
                return Some(end);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Whether the reply that came back for line `i` (starting at `start` in what
/// came back) is the line with the spaces at its ends stripped, reversed.
fn stripped_a_line(live: &Live, i: usize, start: usize) -> bool {
    let Some(exchange) = live.plan.exchanges.get(i) else {
        return false;
    };
    let line = exchange
        .request
        .strip_suffix(b"\n")
        .unwrap_or(&exchange.request);
    let stripped = line.trim_ascii();
    if stripped.len() == line.len() {
        return false;
    }
    let mut wanted: Vec<u8> = stripped.iter().rev().copied().collect();
    wanted.push(b'\n');
    live.received.get(start..start + wanted.len()) == Some(wanted.as_slice())
}

/// CPU time and `/proc` samples over a wait in which no byte moved.
struct Watch {
    started: Instant,
    cpu: Option<Duration>,
    /// (samples, samples that found the program on a CPU rather than waiting).
    samples: usize,
    running: usize,
}

impl Watch {
    fn start(play: &mut Play) -> Watch {
        Watch {
            started: Instant::now(),
            cpu: play.target.cpu_time(),
            samples: 0,
            running: 0,
        }
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn sample(&mut self, play: &mut Play, live: &Live) {
        self.samples += 1;
        if play.target.waiting(&live.stream) == Waiting::Running {
            self.running += 1;
        }
    }

    /// The share of a core used, if the program spun: half a core or more, or found
    /// running (never blocked) at every look of a wait with several (a loaded machine
    /// can give a spinning program less than half a core).
    fn busy(&self, play: &mut Play) -> Option<f64> {
        let wall = self.started.elapsed().as_secs_f64();
        let used = play
            .target
            .cpu_time()?
            .checked_sub(self.cpu?)?
            .as_secs_f64();
        let share = if wall > 0.0 { used / wall } else { 0.0 };
        let always_running = self.samples >= 3 && self.running == self.samples && used > 0.0;
        (share >= BUSY_SHARE || always_running).then_some(share)
    }
}

fn bare(number: usize, kind: FailureKind, detail: String, hint: String) -> Box<Failure> {
    Box::new(Failure {
        kind,
        connection: number,
        expected: Vec::new(),
        actual: Vec::new(),
        first_diff: None,
        detail,
        hint,
        calls: Vec::new(),
    })
}

/// The first offset where the two differ (a byte present in one only counts).
fn first_diff(expected: &[u8], actual: &[u8]) -> Option<usize> {
    expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .or_else(|| (expected.len() != actual.len()).then(|| expected.len().min(actual.len())))
}

fn describe_waiting(waiting: &Waiting) -> Option<String> {
    match waiting {
        Waiting::InRead { call, asked } => Some(format!("waiting in {call}({asked})")),
        Waiting::InCall(call) => Some(format!("waiting in {call}")),
        Waiting::Running => Some("running, not waiting in any call".to_string()),
        Waiting::Unknown => None,
    }
}

/// "your program exited with code 1" / "… was killed by SIGPIPE: …".
fn describe_end(end: &ProgramEnd) -> String {
    format!("your program {}", end.describe())
}

/// 65536 -> "65,536".
fn number(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn millis(d: Duration) -> String {
    format!("{} ms", number(d.as_millis() as usize))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use std::net::{SocketAddr, TcpListener};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread::JoinHandle;

    use super::*;
    use crate::challenge::level::find;
    use crate::challenge::{Delivery, TracedCall};

    /// A length-prefix server in a thread that reads every request and never replies
    /// (`silent`), or replies and never closes after the client's close.
    struct Fake {
        address: SocketAddr,
        waiting: Waiting,
        /// Its CPU time runs with the wall clock: a program spinning on a core.
        spinning: bool,
        started: Instant,
        stop: Arc<AtomicBool>,
        server: Option<JoinHandle<()>>,
        /// The client ports of the connections it accepted, for its traced calls.
        peers: Arc<std::sync::Mutex<Vec<u16>>>,
    }

    impl Fake {
        fn start(silent: bool, waiting: Waiting, spinning: bool) -> Fake {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let address = listener.local_addr().unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let stopped = Arc::clone(&stop);
            let peers = Arc::new(std::sync::Mutex::new(Vec::new()));
            let accepted = Arc::clone(&peers);
            let server = std::thread::spawn(move || {
                let mut kept = Vec::new();
                while !stopped.load(Ordering::Relaxed) {
                    let Ok((mut conn, peer)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    accepted.lock().unwrap().push(peer.port());
                    conn.set_nonblocking(false).unwrap();
                    conn.set_read_timeout(Some(Duration::from_millis(50)))
                        .unwrap();
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !stopped.load(Ordering::Relaxed) {
                        match conn.read(&mut chunk) {
                            Ok(0) => break,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                            Err(_) => continue,
                        }
                        while buffer.len() >= 5 {
                            let len: usize =
                                std::str::from_utf8(&buffer[..5]).unwrap().parse().unwrap();
                            if buffer.len() < 5 + len {
                                break;
                            }
                            let mut reply = buffer[..5].to_vec();
                            reply.extend(buffer[5..5 + len].iter().rev());
                            buffer.drain(..5 + len);
                            if !silent {
                                conn.write_all(&reply).unwrap();
                            }
                        }
                    }
                    kept.push(conn);
                }
            });
            Fake {
                address,
                waiting,
                spinning,
                started: Instant::now(),
                stop,
                server: Some(server),
                peers,
            }
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(server) = self.server.take() {
                let _ = server.join();
            }
        }
    }

    impl Target for Fake {
        fn connect(&mut self) -> io::Result<TcpStream> {
            TcpStream::connect(self.address)
        }
        fn address(&self) -> SocketAddr {
            self.address
        }
        fn delivery(&self) -> Delivery {
            Delivery::Paused { pause_ms: 20 }
        }
        fn settle(&mut self, _: &TcpStream, deadline: Instant) {
            let pause = Duration::from_millis(20);
            std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
        }
        fn waiting(&mut self, _: &TcpStream) -> Waiting {
            self.waiting.clone()
        }
        fn cpu_time(&mut self) -> Option<Duration> {
            Some(if self.spinning {
                self.started.elapsed()
            } else {
                Duration::ZERO
            })
        }
        fn exited(&mut self) -> Option<ProgramEnd> {
            None
        }
        /// One `recv` per connection accepted so far, and one on a port of none.
        fn traced_calls(&mut self) -> Vec<TracedCall> {
            let ports = std::mem::take(&mut *self.peers.lock().unwrap());
            ports
                .into_iter()
                .chain([1])
                .map(|port| TracedCall {
                    file: "server.py".into(),
                    line: 14,
                    call: "recv".into(),
                    asked: Some(5),
                    bytes: Vec::new(),
                    error: None,
                    peer_port: Some(port),
                })
                .collect()
        }
    }

    #[test]
    fn a_program_that_reads_and_never_answers_may_hold_its_reply_in_a_buffer() {
        let waiting = Waiting::InRead {
            call: "recv",
            asked: 5,
        };
        let mut fake = Fake::start(true, waiting, false);
        let result = play_level(find("length-prefix").unwrap(), 1, 1.0, &mut fake);
        let failure = result.failure.expect("a hang");
        assert_eq!(result.status, Status::Timeout);
        assert_eq!(failure.kind, FailureKind::Hang);
        assert!(
            failure.detail.starts_with(
                "no reply after 2,000 ms; 0 bytes received; your program is waiting in recv(5)"
            ),
            "{}",
            failure.detail
        );
        assert!(
            failure.hint.contains("sitting in a buffer; flush it"),
            "{}",
            failure.hint
        );
        assert!(
            failure.hint.contains("sockstep tui flush"),
            "{}",
            failure.hint
        );
        // Only the failing connection's calls.
        assert_eq!(failure.calls.len(), 1);
        assert_ne!(failure.calls[0].peer_port, Some(1));
    }

    #[test]
    fn cpu_used_while_waiting_for_a_close_is_a_busy_loop() {
        let mut fake = Fake::start(false, Waiting::Running, true);
        let result = play_level(find("recv-zero").unwrap(), 1, 1.0, &mut fake);
        let failure = result.failure.expect("a busy loop");
        assert_eq!(failure.kind, FailureKind::BusyLoop);
        assert!(
            failure.detail.contains("% of a core for 1."),
            "{}",
            failure.detail
        );
        assert!(
            failure.detail.contains("after the client closed"),
            "{}",
            failure.detail
        );
        assert!(failure.hint.starts_with("recv() returning 0 means closed"));
    }

    #[test]
    fn the_same_program_blocked_instead_is_a_connection_not_closed() {
        let mut fake = Fake::start(false, Waiting::Unknown, false);
        let result = play_level(find("recv-zero").unwrap(), 1, 1.0, &mut fake);
        assert_eq!(
            result.failure.expect("not closed").kind,
            FailureKind::NotClosed
        );
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(65_536), "65,536");
        assert_eq!(number(4_294_967_295), "4,294,967,295");
        assert_eq!(millis(Duration::from_secs(2)), "2,000 ms");
    }

    #[test]
    fn first_diff_counts_a_missing_byte() {
        assert_eq!(first_diff(b"abc", b"abc"), None);
        assert_eq!(first_diff(b"abc", b"abd"), Some(2));
        assert_eq!(first_diff(b"abc", b"ab"), Some(2));
        assert_eq!(first_diff(b"ab", b"abc"), Some(2));
    }

    #[test]
    fn a_signal_is_named() {
        let end = ProgramEnd {
            signal: Some(13),
            ..ProgramEnd::default()
        };
        assert_eq!(
            describe_end(&end),
            "your program was killed by SIGPIPE: it wrote to a connection the client had closed"
        );
    }
}
