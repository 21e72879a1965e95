//! The relay between a program's sender and its receiver: it reads the stream from
//! one real socket and writes it to another, cut into pieces at the plan's offsets.
//! In lockstep it writes a piece only when the receiver waits in `read()` with
//! nothing unread, so each `read()` returns exactly that piece.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use socket2::{SockAddr, SockAddrStorage, SockRef, sa_family_t, socklen_t};

use super::monitor::{Activity, LinkId, LinkState, Monitor, Stop};
use super::trace::{Call, CallResult, Event, Role};

/// How one direction of the relay runs.
pub(crate) struct LinkPlan<'a> {
    pub link: LinkId,
    /// Stream offsets at which pieces end (sorted).
    pub cuts: &'a [usize],
    /// Record each piece as an event (the forward direction).
    pub record: bool,
    /// Do not read while the writer is inside `write()`, so its buffers fill and a
    /// send timeout makes `write()` return a short count.
    pub hold_while_writing: bool,
    /// Free-run: at each cut pause up to this long (or not at all), and never wait
    /// for the reader.
    pub free_run: Option<(Duration, u64)>,
}

enum Gather {
    /// The next piece is all there: deliver it.
    Covered,
    Read(usize),
    /// The writer is inside a `write()` that may not finish until someone reads:
    /// read what has arrived, waiting only briefly.
    ReadAhead(usize),
    EndOfStream,
    /// The writer waits for a reply: deliver what is held as a shorter piece.
    Short,
    /// The reader has gone, and there are bytes for it.
    ReaderGone,
}

/// Runs one direction until end of stream, until the reader has gone, or until the
/// side is stopped. Never panics; an I/O error just ends the link.
pub(crate) fn run_link(
    monitor: &Monitor,
    plan: LinkPlan<'_>,
    mut upstream: TcpStream,
    mut downstream: TcpStream,
) {
    let link = plan.link;
    // Reads of upstream wait at most this long, then look at the monitor again.
    if upstream.set_read_timeout(Some(READ_POLL)).is_ok() {
        let _ = relay(monitor, &plan, &mut upstream, &mut downstream);
    }
    monitor.update(|state| state.set_link(link, LinkState::Finished));
}

const READ_POLL: Duration = Duration::from_millis(2);

/// A read that returned for no reason of the peer's: its timeout ran out, or a
/// signal interrupted it (after SIGSTOP and SIGCONT, a read with a timeout fails
/// with EINTR). Either way the relay just looks again.
fn is_timeout(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::Interrupted
    )
}

/// The upstream peer aborted the connection: the relay passes the reset on.
fn is_reset(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::ConnectionReset
}

/// Resets a connection as `close()` with SO_LINGER 0 would (RST, unsent data
/// dropped), while the relay's other handles on the socket stay open: `connect()` to
/// an AF_UNSPEC address runs the same kernel disconnect as such a close.
fn reset(stream: &TcpStream) -> std::io::Result<()> {
    let socket = SockRef::from(stream);
    socket.set_linger(Some(Duration::ZERO))?;
    // SAFETY: zeroed storage is a valid address of family AF_UNSPEC (0), and the
    // length covers exactly its family field, all the kernel reads.
    let unspec = unsafe {
        SockAddr::new(
            SockAddrStorage::zeroed(),
            std::mem::size_of::<sa_family_t>() as socklen_t,
        )
    };
    socket.connect(&unspec)
}

/// How the upstream's stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StreamEnd {
    /// A close (FIN).
    Closed,
    /// A reset (RST): the writer aborted the connection.
    Reset,
}

/// One read of upstream into `pending`, the bytes counted as read: how the stream
/// ended, if this read found its end. A read that returned for no reason of the
/// peer's (see `is_timeout`) brings nothing, and the relay looks again.
fn read_upstream(
    monitor: &Monitor,
    link: LinkId,
    upstream: &mut TcpStream,
    buf: &mut [u8],
    pending: &mut Vec<u8>,
) -> Result<Option<StreamEnd>, LinkEnd> {
    match upstream.read(buf) {
        Ok(got) => {
            monitor.update(|state| state.count_read(link.upstream(), got));
            pending.extend_from_slice(&buf[..got]);
            Ok((got == 0).then_some(StreamEnd::Closed))
        }
        Err(e) if is_timeout(&e) => Ok(None),
        Err(e) if is_reset(&e) => Ok(Some(StreamEnd::Reset)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug)]
enum LinkEnd {
    Stopped,
    ReaderGone,
    Io,
}

impl From<Stop> for LinkEnd {
    fn from(_: Stop) -> Self {
        LinkEnd::Stopped
    }
}

impl From<std::io::Error> for LinkEnd {
    fn from(_: std::io::Error) -> Self {
        LinkEnd::Io
    }
}

fn relay(
    monitor: &Monitor,
    plan: &LinkPlan<'_>,
    upstream: &mut TcpStream,
    downstream: &mut TcpStream,
) -> Result<(), LinkEnd> {
    let link = plan.link;
    let mut rng = ChaCha8Rng::seed_from_u64(plan.free_run.map_or(0, |(_, seed)| seed));
    let mut pending: Vec<u8> = Vec::new();
    // Stream offset of pending[0].
    let mut offset = 0usize;
    let mut ended: Option<StreamEnd> = None;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let target = plan.cuts.iter().copied().find(|&cut| cut > offset);
        // Gather the next piece, or as much as comes before the writer waits. In
        // lockstep, while the writer is inside `write()`, read on past the cut: the
        // write then never waits for the relay, and the piece is written only after
        // the write has returned, so the calls happen in the same order every time.
        let mut short = false;
        let lockstep = plan.free_run.is_none();
        while ended.is_none() && !short {
            let covered = target.is_some_and(|t| offset + pending.len() >= t);
            let want = match target {
                Some(t) if !covered => t - offset - pending.len(),
                _ => buf.len(),
            };
            let held = pending.len();
            let step = monitor.wait_for(|state| {
                let up = state.wire(link.upstream());
                let reader_gone = state.activity(link.reader()) == Activity::Done;
                let writing = state.writer_is_writing(link) && !plan.hold_while_writing;
                let step = if covered && !(lockstep && writing) {
                    Gather::Covered
                } else if reader_gone && (held > 0 || up.in_flight() > 0) {
                    Gather::ReaderGone
                } else if up.in_flight() > 0 {
                    Gather::Read(want.min(up.in_flight() as usize).min(buf.len()))
                } else if up.closed() {
                    Gather::EndOfStream
                } else if writing {
                    Gather::ReadAhead(want.min(buf.len()))
                } else if held > 0
                    && state.writer_is_waiting(link)
                    && (!lockstep || state.may_cut_short(link))
                {
                    Gather::Short
                } else {
                    state.set_link(link, LinkState::Gathering { pending: held });
                    return None;
                };
                state.set_link(link, LinkState::Busy);
                Some(step)
            })?;
            match step {
                Gather::Read(n) | Gather::ReadAhead(n) => {
                    ended = read_upstream(monitor, link, upstream, &mut buf[..n], &mut pending)?;
                }
                Gather::EndOfStream => {
                    // Every counted byte has been read, so this read sees the close
                    // (or times out if the close is a moment away: then look again).
                    ended = read_upstream(monitor, link, upstream, &mut buf[..1], &mut pending)?;
                }
                Gather::Short => short = true,
                Gather::Covered => break,
                Gather::ReaderGone => return refuse(monitor, plan, upstream),
            }
        }

        let len = target.map_or(pending.len(), |t| (t - offset).min(pending.len()));
        if len > 0 {
            match deliver(monitor, plan, &mut rng, downstream, &pending[..len], offset) {
                Err(LinkEnd::ReaderGone) => return refuse(monitor, plan, upstream),
                delivered => delivered?,
            }
            pending.drain(..len);
            offset += len;
        }
        if let Some(end) = ended
            && pending.is_empty()
        {
            let was_reset = end == StreamEnd::Reset;
            // Pass the end of stream on: a close as a close (FIN), as soon as every
            // piece before it is written (a reader sees it only after reading them
            // anyway); a reset as a reset (RST), in its turn like a piece, so that
            // the reader meets it in recv() whatever it does meanwhile.
            wait_for_reader(monitor, plan, was_reset)?;
            monitor.update(|state| {
                state.close_wire(link.downstream());
                if was_reset && plan.record {
                    let event = Event::new(Role::Relay, Call::Abort, 0, &[], CallResult::Ok, None);
                    monitor.record(state, event);
                }
            });
            if was_reset {
                reset(downstream)?;
            } else {
                downstream.shutdown(Shutdown::Write)?;
            }
            return Ok(());
        }
    }
}

/// Waits until a piece, or what ends the stream, may be written: in lockstep and
/// `in_turn`, until the reader waits in `read()` with nothing unread. Fails with
/// `ReaderGone` when the reader returned.
fn wait_for_reader(monitor: &Monitor, plan: &LinkPlan<'_>, in_turn: bool) -> Result<(), LinkEnd> {
    let link = plan.link;
    let lockstep = plan.free_run.is_none() && in_turn;
    let reader_gone = monitor.wait_for(|state| {
        if lockstep && !state.reader_is_ready(link) {
            state.set_link(link, LinkState::Holding);
            return None;
        }
        state.set_link(link, LinkState::Busy);
        Some(state.activity(link.reader()) == Activity::Done)
    })?;
    if reader_gone {
        Err(LinkEnd::ReaderGone)
    } else {
        Ok(())
    }
}

/// The reader has gone, so the writer's bytes can never be delivered. A closed
/// socket's kernel answers such bytes with a reset, after the end of stream it sent
/// when it closed: so does the relay, once the other direction has passed that end
/// of stream on (or finished), and if the writer is still there to be told. Its next
/// write then fails with a broken pipe. Not recorded: like the kernel's reset, it
/// shows only in what the writer's calls return.
fn refuse(monitor: &Monitor, plan: &LinkPlan<'_>, upstream: &TcpStream) -> Result<(), LinkEnd> {
    let link = plan.link;
    let reverse = link.reverse();
    let writer_is_there = monitor.wait_for(|state| {
        if state.activity(link.writer()) == Activity::Done {
            return Some(false);
        }
        if state.link(reverse) != LinkState::Finished {
            state.set_link(link, LinkState::Refusing);
            return None;
        }
        state.set_link(link, LinkState::Busy);
        Some(true)
    })?;
    if writer_is_there {
        reset(upstream)?;
    }
    Err(LinkEnd::ReaderGone)
}

fn deliver(
    monitor: &Monitor,
    plan: &LinkPlan<'_>,
    rng: &mut ChaCha8Rng,
    downstream: &mut TcpStream,
    piece: &[u8],
    offset: usize,
) -> Result<(), LinkEnd> {
    if let Some((longest_pause, _)) = plan.free_run
        && offset > 0
    {
        // A cut is the only pause: half the time none at all, so the piece follows
        // the last one back to back and a reader not yet back in recv() gets both.
        if rng.random_bool(0.5) {
            let pause = rng.random_range(0..=longest_pause.as_micros() as u64);
            std::thread::sleep(Duration::from_micros(pause));
        }
    }
    wait_for_reader(monitor, plan, true)?;
    monitor.update(|state| {
        // Count before writing, so a reader can never have read uncounted bytes.
        state.count_written(plan.link.downstream(), piece.len());
        if plan.record {
            let event = Event {
                offset: Some(offset),
                ..Event::new(
                    Role::Relay,
                    Call::Piece,
                    piece.len(),
                    piece,
                    CallResult::Ok,
                    None,
                )
            };
            monitor.record(state, event);
        }
    });
    downstream.write_all(piece)?;
    Ok(())
}
