//! The traced socket the teaching code uses for every call. Each call is a real
//! system call on a real `TcpStream`; the wrapper only reports it, waits at the step
//! gate when the controller steps, and stops code that would run forever.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::panic::Location;
use std::sync::Arc;

use super::monitor::{Activity, Actor, CallKind, Monitor, Stop, WireId};
use super::trace::{Call, CallResult, Event};

thread_local! {
    static TEACHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True on a thread running teaching code. A panic there is an outcome the trace
/// records, not a crash: panic hooks use this to stay quiet (and keep the TUI drawn).
pub fn in_teaching_thread() -> bool {
    TEACHING.with(|t| t.get())
}

pub(crate) fn mark_teaching_thread() {
    TEACHING.with(|t| t.set(true));
}

/// Unwinds a teaching thread that the runner has stopped. Carried by
/// `resume_unwind`, so no panic message is printed.
pub(crate) struct Cancelled;

fn cancel() -> ! {
    std::panic::resume_unwind(Box::new(Cancelled))
}

/// The line of the call site, when it is in the teaching code.
fn teaching_line(location: &Location<'_>) -> Option<u32> {
    location
        .file()
        .contains("teaching")
        .then(|| location.line())
}

/// A TCP stream whose every call is recorded.
pub struct Sock {
    stream: TcpStream,
    monitor: Arc<Monitor>,
    actor: Actor,
    in_wire: WireId,
    out_wire: WireId,
    reads_after_eof: u32,
}

impl Sock {
    pub(crate) fn new(
        stream: TcpStream,
        monitor: Arc<Monitor>,
        actor: Actor,
        in_wire: WireId,
        out_wire: WireId,
    ) -> Self {
        Sock {
            stream,
            monitor,
            actor,
            in_wire,
            out_wire,
            reads_after_eof: 0,
        }
    }

    fn begin(&self, call: CallKind, line: Option<u32>) {
        if self.monitor.begin_call(self.actor, call, line).is_err() {
            cancel();
        }
    }

    /// One `write()`: returns how many bytes the kernel accepted, which may be fewer
    /// than `buf.len()`.
    #[track_caller]
    pub fn send(&mut self, buf: &[u8]) -> io::Result<usize> {
        let line = teaching_line(Location::caller());
        self.begin(CallKind::Write(self.out_wire), line);
        let result = self.stream.write(buf);
        let moved = *result.as_ref().unwrap_or(&0);
        self.finish(
            Call::Send,
            buf.len(),
            &buf[..moved],
            &result,
            line,
            |state| {
                state.wire_mut(self.out_wire).written += moved as u64;
            },
        );
        result
    }

    /// One `read()`: returns what has arrived, at most `buf.len()` bytes; 0 means
    /// the peer closed its side.
    #[track_caller]
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let line = teaching_line(Location::caller());
        self.begin(CallKind::Read(self.in_wire), line);
        let result = self.stream.read(buf);
        let moved = *result.as_ref().unwrap_or(&0);
        let end_of_stream = moved == 0 && !buf.is_empty() && result.is_ok();
        self.finish(
            Call::Recv,
            buf.len(),
            &buf[..moved],
            &result,
            line,
            |state| {
                state.wire_mut(self.in_wire).read += moved as u64;
            },
        );
        if end_of_stream {
            self.reads_after_eof += 1;
            if self.reads_after_eof > self.monitor.limits.reads_after_eof {
                self.monitor.stop(Stop::Spinning { line });
                cancel();
            }
        }
        result
    }

    /// Calls `send()` until every byte is accepted.
    #[track_caller]
    pub fn send_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.send(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Calls `recv()` until `buf` is full; end of stream first is `UnexpectedEof`.
    #[track_caller]
    pub fn recv_exact(&mut self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.recv(buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => buf = &mut buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Shuts down one or both directions: `Shutdown::Write` sends end of stream.
    #[track_caller]
    pub fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        let line = teaching_line(Location::caller());
        self.begin(CallKind::Other, line);
        let result = self.stream.shutdown(how).map(|()| 0);
        let closes_output = matches!(how, Shutdown::Write | Shutdown::Both);
        self.finish(Call::Shutdown, 0, &[], &result, line, |state| {
            if closes_output {
                state.wire_mut(self.out_wire).closed = true;
            }
        });
        result.map(|_| ())
    }

    fn finish(
        &self,
        call: Call,
        asked: usize,
        bytes: &[u8],
        result: &io::Result<usize>,
        line: Option<u32>,
        count: impl FnOnce(&mut super::monitor::State),
    ) {
        let stopped = self.monitor.update(|state| {
            state.activity[self.actor as usize] = Activity::Running;
            if state.stop.is_some() {
                // The runner shut the socket down to wake this call: not a real result.
                return true;
            }
            count(state);
            let result = match result {
                Ok(0) if call == Call::Recv && asked > 0 => CallResult::EndOfStream,
                Ok(_) => CallResult::Ok,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    CallResult::TimedOut
                }
                Err(e) => CallResult::Error {
                    error: super::error_kind_name(e.kind()),
                    message: e.to_string(),
                },
            };
            let event = Event {
                seq: 0,
                at_us: 0,
                role: self.actor.role(),
                call,
                asked,
                moved: bytes.len(),
                offset: None,
                bytes: bytes.to_vec(),
                result,
                line,
            };
            self.monitor.record(state, event);
            false
        });
        if stopped {
            cancel();
        }
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        // Closing sends end of stream; say so before the peer can see it.
        self.monitor
            .update(|state| state.wire_mut(self.out_wire).closed = true);
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

impl Read for Sock {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }
}

impl Write for Sock {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        // A socket has no user-space buffer: every write() already went to the kernel.
        Ok(())
    }
}

/// Where the receiver hands each complete message to the application.
pub struct Inbox {
    monitor: Arc<Monitor>,
}

impl Inbox {
    pub(crate) fn new(monitor: Arc<Monitor>) -> Self {
        Inbox { monitor }
    }

    /// The receiver has framed one whole message.
    #[track_caller]
    pub fn deliver(&mut self, message: &[u8]) {
        let line = teaching_line(Location::caller());
        self.monitor.update(|state| {
            state.delivered.push(message.to_vec());
            let event = Event {
                seq: 0,
                at_us: 0,
                role: super::trace::Role::Receiver,
                call: Call::Deliver,
                asked: message.len(),
                moved: message.len(),
                offset: None,
                bytes: message.to_vec(),
                result: CallResult::Ok,
                line,
            };
            self.monitor.record(state, event);
        });
    }
}
