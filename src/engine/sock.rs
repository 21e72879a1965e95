//! The traced socket the teaching code uses for every call. Each call is a real
//! system call on a real `TcpStream`; the wrapper only reports it, waits at the step
//! gate when the controller steps, and stops code that would run forever.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, poll};
use socket2::SockRef;

use super::monitor::{Actor, CallKind, LinkState, Monitor, Stop, WireId};
use super::report::{error_kind_name, report};
use super::trace::{BufferLimits, Call, CallResult, Event, Queues};

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

pub(super) fn cancel() -> ! {
    std::panic::resume_unwind(Box::new(Cancelled))
}

/// Where a call was made: the caller of a `#[track_caller]` method.
type Site = &'static Location<'static>;

/// Calls `call` with how much of `len` bytes is done so far, until it has moved
/// them all: the loop of `write_all` and `read_exact`. A call moving nothing ends
/// it with `stalled` (`WriteZero`, `UnexpectedEof`); an interrupted call is made
/// again. Returns how many bytes moved, even when it failed.
fn move_all(
    len: usize,
    stalled: io::ErrorKind,
    mut call: impl FnMut(usize) -> io::Result<usize>,
) -> (usize, io::Result<()>) {
    let mut done = 0;
    while done < len {
        match call(done) {
            Ok(0) => return (done, Err(stalled.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}

/// Makes the system call again while a signal interrupts it (EINTR). No lesson
/// sends a signal, so one comes only from outside the lesson: the process was
/// stopped and continued (SIGSTOP, a debugger, a suspended laptop; Linux then fails
/// a read or write that has a timeout with EINTR), or the terminal was resized. Such
/// a pause must not change what a run shows. (A retried call waits its whole timeout
/// again.)
fn uninterrupted(mut call: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match call() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// `write_all` over `write`: writes what is left until all of `buf` is taken.
fn write_all_with(buf: &[u8], mut write: impl FnMut(&[u8]) -> io::Result<usize>) -> io::Result<()> {
    move_all(buf.len(), io::ErrorKind::WriteZero, |done| {
        write(&buf[done..])
    })
    .1
}

/// The runner's handle on a teaching socket, kept to wake a blocked call when the run
/// stops. `Sock::abort` empties it, so that the program's close is the socket's last.
pub(crate) type WakerSlot = Arc<Mutex<Option<TcpStream>>>;

/// A TCP stream whose every call is recorded.
pub struct Sock {
    /// `None` once `abort()` has closed it.
    stream: Option<TcpStream>,
    monitor: Arc<Monitor>,
    actor: Actor,
    in_wire: WireId,
    out_wire: WireId,
    reads_after_eof: u32,
    waker: WakerSlot,
    /// Each write waits until the relay has taken what was written before, so it
    /// starts with empty socket buffers (set with small buffers: partial sends).
    settle_writes: bool,
    pacing: Pacing,
    /// With `pacing.interrupt`: the next read or write is the real one.
    interrupted: bool,
    /// Whether an event has recorded this socket's buffer limits yet.
    limits_recorded: AtomicBool,
    /// The capacity of the buffered writer over this socket, for its `Buffer` events.
    writer_capacity: Option<u32>,
}

/// How a plain socket (`Sock::plain`) paces the program using it, to try teaching
/// code against slow and interrupted peers outside the engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pacing {
    /// Sleep this long before each read, write or wait: a slow peer.
    pub pause: Duration,
    /// Fail each read, write or wait once with `Interrupted` before making it, as a
    /// signal arriving during the call does (EINTR).
    pub interrupt: bool,
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
            stream: Some(stream),
            monitor,
            actor,
            in_wire,
            out_wire,
            reads_after_eof: 0,
            waker: Arc::default(),
            settle_writes: false,
            pacing: Pacing::default(),
            interrupted: false,
            limits_recorded: AtomicBool::new(false),
            writer_capacity: None,
        }
    }

    /// A socket on its own: no relay, no step gate, no limits but the call count.
    /// Its calls are real and recorded, as in a run; nobody reads the record.
    /// For running teaching code against plain peers (`std::net` on the other end).
    pub fn plain(stream: TcpStream, pacing: Pacing) -> Self {
        let monitor = Arc::new(Monitor::plain());
        let mut sock = Sock::new(stream, monitor, Actor::Sender, WireId::BackDown, WireId::Up);
        sock.pacing = pacing;
        sock
    }

    /// The runner's other handle on this socket (see `WakerSlot`).
    pub(crate) fn with_waker(mut self, waker: WakerSlot) -> Self {
        self.waker = waker;
        self
    }

    pub(crate) fn settling_writes(mut self, settle: bool) -> Self {
        self.settle_writes = settle;
        self
    }

    fn stream(&mut self) -> io::Result<&mut TcpStream> {
        self.stream.as_mut().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotConnected,
                "the socket was closed by abort()",
            )
        })
    }

    /// Waits until the relay has read every byte written before on this socket and
    /// is not busy with them, or cannot take them now (holding a piece, refusing
    /// them, finished).
    /// Without this, a write would race the relay's thread for buffer space, and
    /// with a send timeout could fail for want of CPU rather than of buffer.
    fn settle(&self) {
        let out = self.out_wire;
        let settled = self.monitor.wait_for(|state| {
            let link = state.link(out.link());
            let drained = state.wire(out).in_flight() == 0 && link != LinkState::Busy;
            (drained
                || matches!(
                    link,
                    LinkState::Holding | LinkState::Refusing | LinkState::Finished
                ))
            .then_some(())
        });
        if settled.is_err() {
            cancel();
        }
    }

    fn begin(&self, call: CallKind, line: Option<u32>) {
        if self.monitor.begin_call(self.actor, call, line).is_err() {
            cancel();
        }
    }

    /// Applies `pacing` before a read, write or wait: `Err` if this call is to be
    /// interrupted instead of made.
    fn pace(&mut self) -> io::Result<()> {
        if !self.pacing.pause.is_zero() {
            std::thread::sleep(self.pacing.pause);
        }
        if self.pacing.interrupt {
            self.interrupted = !self.interrupted;
            if self.interrupted {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "interrupted by a signal (a plain-peer test)",
                ));
            }
        }
        Ok(())
    }

    /// A read, write or wait on the stream, paced (see `pace`) and made again while
    /// a signal interrupts it (see `uninterrupted`).
    fn system_call(
        &mut self,
        mut call: impl FnMut(&mut TcpStream) -> io::Result<usize>,
    ) -> io::Result<usize> {
        self.pace()?;
        let stream = self.stream()?;
        uninterrupted(|| call(stream))
    }

    /// One `write()`: returns how many bytes the kernel accepted, which may be fewer
    /// than `buf.len()`.
    #[track_caller]
    pub fn send(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send_from(Location::caller(), buf)
    }

    fn send_from(&mut self, site: Site, buf: &[u8]) -> io::Result<usize> {
        let line = self.monitor.line_of(site);
        self.begin(CallKind::Write(self.out_wire), line);
        if self.settle_writes {
            self.settle();
        }
        let result = self.system_call(|stream| stream.write(buf));
        let out = self.out_wire;
        self.finish_moving(Call::Send, buf, &result, line, |state, moved| {
            state.count_written(out, moved);
        });
        result
    }

    /// One `read()`: returns what has arrived, at most `buf.len()` bytes; 0 means
    /// the peer closed its side.
    #[track_caller]
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(Location::caller(), buf)
    }

    fn recv_from(&mut self, site: Site, buf: &mut [u8]) -> io::Result<usize> {
        let line = self.monitor.line_of(site);
        self.begin(CallKind::Read(self.in_wire), line);
        let result = self.system_call(|stream| stream.read(buf));
        let end_of_stream = matches!(result, Ok(0)) && !buf.is_empty();
        let wire = self.in_wire;
        self.finish_moving(Call::Recv, buf, &result, line, |state, moved| {
            state.count_read(wire, moved);
        });
        if end_of_stream {
            self.reads_after_eof += 1;
            if self.reads_after_eof > self.monitor.limits.reads_after_eof {
                self.monitor.stop(Stop::Spinning { line });
                cancel();
            }
        }
        result
    }

    /// Waits until the socket can take more bytes: `poll()` for `POLLOUT`, as
    /// Python's `select.select([], [sock], [])`. Returns at once if it already can,
    /// and also when the connection has failed (the next write says how).
    #[track_caller]
    pub fn wait_writable(&mut self) -> io::Result<()> {
        let line = self.monitor.line_of(Location::caller());
        self.begin(CallKind::Poll(self.out_wire), line);
        let result = self.system_call(|stream| {
            let mut fds = [PollFd::new(&*stream, PollFlags::OUT)];
            poll(&mut fds, None).map(|_| 0).map_err(io::Error::from)
        });
        self.finish(Call::Poll, 0, &[], &result, line, |_| {});
        result.map(|_| ())
    }

    /// Calls `send()` until every byte is accepted.
    #[track_caller]
    pub fn send_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let site = Location::caller();
        write_all_with(buf, |rest| self.send_from(site, rest))
    }

    /// `std::io::Write::write_all`: the same loop as `send_all`. Defined here so the
    /// line of the caller, not a line of std, is recorded for each `send()`.
    #[track_caller]
    pub fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.send_all(buf)
    }

    /// Calls `recv()` until `buf` is full; end of stream first is `UnexpectedEof`.
    #[track_caller]
    pub fn recv_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let site = Location::caller();
        move_all(buf.len(), io::ErrorKind::UnexpectedEof, |done| {
            self.recv_from(site, &mut buf[done..])
        })
        .1
    }

    /// `std::io::Read::read_exact`: the same loop as `recv_exact`. Defined here so
    /// the line of the caller, not a line of std, is recorded for each `recv()`.
    #[track_caller]
    pub fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.recv_exact(buf)
    }

    /// Shuts down one or both directions: `Shutdown::Write` sends end of stream.
    #[track_caller]
    pub fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        let closes_output = matches!(how, Shutdown::Write | Shutdown::Both);
        let out = self.out_wire;
        let shut = |stream: &TcpStream| stream.shutdown(how);
        self.control(Location::caller(), Call::Shutdown, shut, |state, _| {
            if closes_output {
                state.close_wire(out);
            }
        })
    }

    /// Sets SO_RCVTIMEO: a later `recv()` that waits this long with nothing arriving
    /// fails with `WouldBlock` (EAGAIN) on Unix, `TimedOut` on Windows. `None`: wait forever.
    #[track_caller]
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let actor = self.actor;
        let set = |stream: &TcpStream| stream.set_read_timeout(timeout);
        self.control(Location::caller(), Call::SetTimeout, set, |state, done| {
            // A read that will time out can always move: it is never stuck.
            state.set_timed_reads(actor, done && timeout.is_some());
        })
    }

    /// A call that moves no bytes and does not block, begun and recorded like the
    /// others; `effect` notes on the board what it changed (told whether it worked).
    fn control(
        &mut self,
        site: Site,
        call: Call,
        operation: impl FnOnce(&TcpStream) -> io::Result<()>,
        effect: impl FnOnce(&mut super::monitor::State, bool),
    ) -> io::Result<()> {
        let line = self.monitor.line_of(site);
        self.begin(CallKind::Other, line);
        let result = self
            .stream()
            .and_then(|stream| operation(stream))
            .map(|()| 0);
        let done = result.is_ok();
        self.finish(call, 0, &[], &result, line, |state| effect(state, done));
        result.map(|_| ())
    }

    /// Aborts the connection: sets SO_LINGER to zero and closes the socket, so the
    /// kernel throws away anything unsent and sends RST instead of FIN. The peer's
    /// next call fails with `ConnectionReset`. Every later call on this `Sock` fails
    /// with `NotConnected`.
    #[track_caller]
    pub fn abort(&mut self) -> io::Result<()> {
        let line = self.monitor.line_of(Location::caller());
        self.begin(CallKind::Other, line);
        let result = match self.stream.take() {
            None => self.stream().map(|_| 0),
            Some(stream) => {
                // The stream ends here; say so before the peer can see it.
                self.monitor.update(|state| state.close_wire(self.out_wire));
                let linger = SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                // The runner's handle closes first, so the close below is the last
                // one: only the last close of a socket sends the RST.
                drop(self.waker.lock().unwrap_or_else(|e| e.into_inner()).take());
                drop(stream);
                linger.map(|()| 0)
            }
        };
        self.finish(Call::Abort, 0, &[], &result, line, |_| {});
        result.map(|_| ())
    }

    /// A buffered writer over this socket, like `std::io::BufWriter` with its default
    /// capacity of 8 KiB: see `BufferedSock`.
    pub fn buffered(&mut self) -> BufferedSock<'_> {
        self.buffered_with_capacity(DEFAULT_BUFFER)
    }

    /// A buffered writer holding at most `capacity` bytes in user space.
    pub fn buffered_with_capacity(&mut self, capacity: usize) -> BufferedSock<'_> {
        BufferedSock {
            sock: self,
            buf: Vec::with_capacity(capacity),
            capacity: capacity.max(1),
        }
    }

    /// Records a read or write of `buf`, which moved the first bytes `result` counts,
    /// and lets `count` count them on the wire.
    fn finish_moving(
        &self,
        call: Call,
        buf: &[u8],
        result: &io::Result<usize>,
        line: Option<u32>,
        count: impl FnOnce(&mut super::monitor::State, usize),
    ) {
        let moved = *result.as_ref().unwrap_or(&0);
        self.finish(call, buf.len(), &buf[..moved], result, line, |state| {
            count(state, moved)
        });
    }

    /// Records a call made here, with the kernel's queues as they are now.
    fn finish(
        &self,
        call: Call,
        asked: usize,
        bytes: &[u8],
        result: &io::Result<usize>,
        line: Option<u32>,
        count: impl FnOnce(&mut super::monitor::State),
    ) {
        let queues = self.stream.as_ref().and_then(kernel_queues);
        self.finish_measured(call, asked, bytes, result, line, queues, count);
    }

    /// Records a call, with `queues` as measured just after it (outside the
    /// monitor's lock: the measuring is two system calls).
    #[allow(clippy::too_many_arguments)]
    fn finish_measured(
        &self,
        call: Call,
        asked: usize,
        bytes: &[u8],
        result: &io::Result<usize>,
        line: Option<u32>,
        queues: Option<Queues>,
        count: impl FnOnce(&mut super::monitor::State),
    ) {
        let buffer_limits = if self.limits_recorded.load(Ordering::Relaxed) {
            None
        } else {
            self.stream.as_ref().and_then(buffer_limits)
        };
        let stopped = self.monitor.update(|state| {
            state.call_returned(self.actor);
            if state.stopped().is_some() {
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
                    error: error_kind_name(e.kind()).to_string(),
                    message: e.to_string(),
                },
            };
            let mut event = Event::new(self.actor.role(), call, asked, bytes, result, line);
            event.queues = queues;
            event.buffer_limits = buffer_limits;
            if call == Call::Buffer {
                event.writer_capacity = self.writer_capacity;
            }
            if buffer_limits.is_some() {
                self.limits_recorded.store(true, Ordering::Relaxed);
            }
            self.monitor.record(state, event);
            false
        });
        if stopped {
            cancel();
        }
    }
}

/// A call that code in another process makes on this socket itself (see
/// `engine::external`): the socket here only keeps the board up to date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RemoteGate {
    Read,
    Write,
    Other,
}

/// A call another process made on this socket, as it reported it.
pub(crate) struct RemoteCall<'a> {
    pub call: Call,
    pub asked: usize,
    pub bytes: &'a [u8],
    pub result: io::Result<usize>,
    pub line: Option<u32>,
    /// A shutdown that ends this side's output.
    pub closes_output: bool,
    /// A timeout set (or cleared): reads now return by themselves.
    pub timed_reads: bool,
    /// The kernel's queues, as the other process measured them after the call.
    pub queues: Option<Queues>,
    /// For a `Buffer` call: the capacity of the writer that took the bytes.
    pub writer_capacity: Option<u32>,
}

impl Sock {
    /// Waits at the gate, as each of this socket's own calls does, before another
    /// process makes a call on it; unwinds (`Cancelled`) if the side is stopped.
    pub(crate) fn remote_begin(&self, gate: RemoteGate, line: Option<u32>) {
        match gate {
            RemoteGate::Read => self.begin(CallKind::Read(self.in_wire), line),
            RemoteGate::Write => {
                self.begin(CallKind::Write(self.out_wire), line);
                if self.settle_writes {
                    self.settle();
                }
            }
            RemoteGate::Other => self.begin(CallKind::Other, line),
        }
    }

    /// Records a call another process made, with the same effects on the board as
    /// the same call made here (see `send`, `recv`, `shutdown`, `set_read_timeout`).
    pub(crate) fn remote_finish(&mut self, made: RemoteCall<'_>) {
        let moved = *made.result.as_ref().unwrap_or(&0);
        let (in_wire, out_wire, actor) = (self.in_wire, self.out_wire, self.actor);
        let end_of_stream =
            made.call == Call::Recv && matches!(made.result, Ok(0)) && made.asked > 0;
        if made.writer_capacity.is_some() {
            self.writer_capacity = made.writer_capacity;
        }
        self.finish_measured(
            made.call,
            made.asked,
            made.bytes,
            &made.result,
            made.line,
            made.queues,
            |state| match made.call {
                Call::Send => state.count_written(out_wire, moved),
                Call::Recv => state.count_read(in_wire, moved),
                Call::Shutdown if made.closes_output => state.close_wire(out_wire),
                Call::SetTimeout => {
                    state.set_timed_reads(actor, made.result.is_ok() && made.timed_reads)
                }
                _ => {}
            },
        );
        if end_of_stream {
            self.reads_after_eof += 1;
            if self.reads_after_eof > self.monitor.limits.reads_after_eof {
                self.monitor.stop(Stop::Spinning { line: made.line });
                cancel();
            }
        }
    }

    /// Another process is about to close the socket: the stream ends here, and this
    /// process lets go of its handles first, so that the other's close is the last
    /// one and really closes the connection (FIN, or RST with SO_LINGER 0).
    pub(crate) fn remote_release(&mut self) {
        if let Some(stream) = self.stream.take() {
            self.monitor.update(|state| state.close_wire(self.out_wire));
            drop(self.waker.lock().unwrap_or_else(|e| e.into_inner()).take());
            drop(stream);
        }
    }

    /// The socket, to hand to another process; `None` once released.
    pub(crate) fn stream_ref(&self) -> Option<&TcpStream> {
        self.stream.as_ref()
    }

    /// True once the side has been stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.monitor.lock().stopped().is_some()
    }
}

/// Hands the receiver's inbox a message another process delivered, on its line.
impl Inbox {
    pub(crate) fn deliver_at(&mut self, message: &[u8], line: Option<u32>) {
        self.monitor.deliver(message, line);
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        if let Some(stream) = &self.stream {
            // Closing sends end of stream; say so before the peer can see it.
            self.monitor.update(|state| state.close_wire(self.out_wire));
            let _ = stream.shutdown(Shutdown::Both);
        }
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

    /// An inbox on its own, for teaching code run on a `Sock::plain`.
    pub fn plain() -> Self {
        Inbox::new(Arc::new(Monitor::plain()))
    }

    /// Every message and report delivered so far, in order.
    pub fn delivered(&self) -> Vec<Vec<u8>> {
        self.monitor.lock().delivered().to_vec()
    }

    /// The receiver found that the connection failed, and tells the application how.
    ///
    /// A report reaches the application like a message: its bytes are `report(kind)`.
    /// So a scenario in which the network fails lists, among its messages, the
    /// reports a correct receiver gives, in the order it gives them; the run is judged
    /// like any other (a missing, extra or misnamed report makes the side wrong), and
    /// the sender is never given them to send.
    #[track_caller]
    pub fn report(&mut self, error: &io::Error) {
        self.deliver(&report(error.kind()));
    }

    /// The receiver has framed one whole message.
    #[track_caller]
    pub fn deliver(&mut self, message: &[u8]) {
        let line = self.monitor.line_of(Location::caller());
        self.monitor.deliver(message, line);
    }
}

/// std's `BufWriter` default capacity.
const DEFAULT_BUFFER: usize = 8 * 1024;

/// A buffered writer over a `Sock`, as `std::io::BufWriter` is over a `TcpStream`:
/// a write that fits lands in a buffer in user space (recorded as `Buffer`, no system
/// call, nothing on the wire); the bytes reach the socket only when the buffer is
/// full, on `flush()`, or when the writer is dropped (each recorded as `Flush`, with
/// the real `send()` calls it makes).
pub struct BufferedSock<'a> {
    sock: &'a mut Sock,
    buf: Vec<u8>,
    capacity: usize,
}

impl BufferedSock<'_> {
    /// Takes `buf` into the buffer, first flushing what is there if `buf` does not
    /// fit; a `buf` as large as the whole buffer goes straight to the socket.
    #[track_caller]
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_from(Location::caller(), buf)
    }

    fn write_from(&mut self, site: Site, buf: &[u8]) -> io::Result<usize> {
        if self.buf.len() + buf.len() > self.capacity {
            self.flush_from(site)?;
        }
        if buf.len() >= self.capacity {
            return self.sock.send_from(site, buf);
        }
        let line = self.sock.monitor.line_of(site);
        self.sock.begin(CallKind::Other, line);
        self.buf.extend_from_slice(buf);
        self.sock.writer_capacity = u32::try_from(self.capacity).ok();
        let accepted = Ok(buf.len());
        self.sock
            .finish(Call::Buffer, buf.len(), buf, &accepted, line, |_| {});
        accepted
    }

    /// Calls `write()` until all of `buf` is buffered or sent.
    #[track_caller]
    pub fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let site = Location::caller();
        write_all_with(buf, |rest| self.write_from(site, rest))
    }

    /// Sends everything buffered, with as many `send()` calls as it takes.
    #[track_caller]
    pub fn flush(&mut self) -> io::Result<()> {
        self.flush_from(Location::caller())
    }

    /// The bytes written but not yet sent.
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// The socket underneath, for reading (as `BufWriter::get_mut`).
    pub fn get_mut(&mut self) -> &mut Sock {
        self.sock
    }

    fn flush_from(&mut self, site: Site) -> io::Result<()> {
        let line = self.sock.monitor.line_of(site);
        let (written, result) = move_all(self.buf.len(), io::ErrorKind::WriteZero, |done| {
            self.sock.send_from(site, &self.buf[done..])
        });
        // What was sent leaves the buffer even if the rest failed, as in BufWriter.
        let sent: Vec<u8> = self.buf.drain(..written).collect();
        let recorded = match &result {
            Ok(()) => Ok(written),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        };
        self.sock.finish(
            Call::Flush,
            written + self.buf.len(),
            &sent,
            &recorded,
            line,
            |_| {},
        );
        result
    }
}

impl Write for BufferedSock<'_> {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        BufferedSock::write(self, buf)
    }

    #[track_caller]
    fn flush(&mut self) -> io::Result<()> {
        BufferedSock::flush(self)
    }
}

impl Drop for BufferedSock<'_> {
    fn drop(&mut self) {
        // As BufWriter does: flush what is left, unless unwinding (a stopped run is
        // unwinding; its bytes stay where they were, in user space).
        if !self.buf.is_empty() && !std::thread::panicking() {
            // Not a call the teaching code wrote: the site is this line, no line of its.
            let _ = self.flush_from(Location::caller());
        }
    }
}

/// The kernel's send and receive queues of `stream`, right now.
#[cfg(target_os = "linux")]
fn kernel_queues(stream: &TcpStream) -> Option<Queues> {
    use rustix::ioctl::{Getter, Opcode, ioctl};
    // SAFETY: TIOCOUTQ (on a socket, SIOCOUTQ: the same number) writes an int.
    let send = unsafe {
        ioctl(
            stream,
            Getter::<{ libc::TIOCOUTQ as Opcode }, libc::c_int>::new(),
        )
    };
    let recv = rustix::io::ioctl_fionread(stream);
    Some(Queues {
        send: u32::try_from(send.ok()?).ok()?,
        recv: u32::try_from(recv.ok()?).ok()?,
    })
}

/// Not measured here: no ioctl tells the queues.
#[cfg(not(target_os = "linux"))]
fn kernel_queues(_stream: &TcpStream) -> Option<Queues> {
    None
}

/// SO_SNDBUF and SO_RCVBUF of `stream`, as the kernel reports them.
#[cfg(target_os = "linux")]
fn buffer_limits(stream: &TcpStream) -> Option<BufferLimits> {
    let sock = SockRef::from(stream);
    Some(BufferLimits {
        send: u32::try_from(sock.send_buffer_size().ok()?).ok()?,
        recv: u32::try_from(sock.recv_buffer_size().ok()?).ok()?,
    })
}

/// Not measured where the queues are not (see `kernel_queues`).
#[cfg(not(target_os = "linux"))]
fn buffer_limits(_stream: &TcpStream) -> Option<BufferLimits> {
    None
}
