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

use super::cut::WireEnd;
use super::monitor::{Activity, LinkId, LinkState, Monitor, State, Stop};
use super::trace::{Call, CallResult, Event, Role};

/// Where a link's pieces end.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CutSource<'a> {
    /// Known before the run: stream offsets (sorted), after the last of which the
    /// rest goes as it comes, unless `end` ends the stream there by hand.
    Fixed {
        at: &'a [usize],
        end: Option<WireEnd>,
    },
    /// Wire mode: the user's cuts as they are made (`State::hand_cuts`); after the
    /// last, the relay holds what comes until the next. Past the lesson's stream
    /// (`stream_len` bytes: some senders write more, after a reply), the rest goes as
    /// it comes, as `--cuts`, whose cuts are inside that stream, would send it.
    ByHand { stream_len: usize },
}

/// What a link does after the piece that ends at `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// Deliver up to this cut.
    Cut(usize),
    /// Deliver the rest as it comes.
    Rest,
    /// End the stream here, by hand.
    End(WireEnd),
    /// Wait for the user to cut.
    Await,
}

impl CutSource<'_> {
    fn next(&self, state: &State, offset: usize) -> Next {
        let (at, end) = match self {
            CutSource::Fixed { at, end } => (*at, *end),
            CutSource::ByHand { .. } => (state.hand_cuts().offsets(), state.hand_cuts().end()),
        };
        match (at.iter().copied().find(|&cut| cut > offset), end, self) {
            (Some(cut), _, _) => Next::Cut(cut),
            (None, Some(end), _) => Next::End(end),
            (None, None, CutSource::ByHand { stream_len }) if offset < *stream_len => Next::Await,
            (None, None, _) => Next::Rest,
        }
    }
}

/// How one direction of the relay runs.
pub(crate) struct LinkPlan<'a> {
    pub link: LinkId,
    /// Where pieces end.
    pub cuts: CutSource<'a>,
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
    /// Wire mode: the user cut, or the stream ended with nothing held: look again
    /// at what comes next.
    Replan,
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
        let next = monitor.update(|state| plan.cuts.next(state, offset));
        if let Next::End(end) = next {
            return end_by_hand(monitor, plan, end, upstream, downstream, &mut buf);
        }
        if let Some(end) = ended
            && pending.is_empty()
        {
            return pass_end_on(monitor, plan, end, downstream);
        }
        let target = match next {
            Next::Cut(cut) => Some(cut),
            _ => None,
        };
        let awaiting = next == Next::Await;
        // Gather the next piece, or as much as comes before the writer waits. In
        // lockstep, while the writer is inside `write()`, read on past the cut: the
        // write then never waits for the relay, and the piece is written only after
        // the write has returned, so the calls happen in the same order every time.
        // Awaiting a cut, gather all that comes, and ask once the reader waits.
        let mut short = false;
        let mut replan = false;
        let lockstep = plan.free_run.is_none();
        while (ended.is_none() || awaiting) && !short && !replan {
            let covered = target.is_some_and(|t| offset + pending.len() >= t);
            let want = match target {
                Some(t) if !covered => t - offset - pending.len(),
                _ => buf.len(),
            };
            let held = pending.len();
            let open = ended.is_none();
            let step = monitor.wait_for(|state| {
                if awaiting && plan.cuts.next(state, offset) != Next::Await {
                    state.set_link(link, LinkState::Busy);
                    return Some(Gather::Replan);
                }
                let up = state.wire(link.upstream());
                let reader_gone = state.activity(link.reader()) == Activity::Done;
                // Holding back while the writer polls for room would wait forever.
                let writing = state.writer_is_writing(link)
                    && (!plan.hold_while_writing || state.writer_is_polling(link));
                let step = if covered && !(lockstep && writing) {
                    Gather::Covered
                } else if reader_gone && (held > 0 || up.in_flight() > 0) {
                    Gather::ReaderGone
                } else if open && up.in_flight() > 0 {
                    Gather::Read(want.min(up.in_flight() as usize).min(buf.len()))
                } else if open && up.closed() {
                    Gather::EndOfStream
                } else if open && writing {
                    Gather::ReadAhead(want.min(buf.len()))
                } else if awaiting {
                    if !open && held == 0 {
                        Gather::Replan
                    } else {
                        let ended = !open;
                        let asked = state.needs_a_cut(link);
                        let awaiting = LinkState::AwaitingCut {
                            pending: held,
                            ended,
                        };
                        state.set_link(link, awaiting);
                        if !asked && state.needs_a_cut(link) {
                            // Nothing else may happen until the user cuts: say so.
                            monitor.announce_waiting();
                        }
                        return None;
                    }
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
                Gather::Replan => replan = true,
                Gather::ReaderGone => return refuse(monitor, plan, upstream),
            }
        }
        if replan {
            continue;
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
    }
}

/// Passes the writer's end of stream on: a close as a close (FIN), as soon as every
/// piece before it is written (a reader sees it only after reading them anyway); a
/// reset as a reset (RST), in its turn like a piece, so that the reader meets it in
/// recv() whatever it does meanwhile.
fn pass_end_on(
    monitor: &Monitor,
    plan: &LinkPlan<'_>,
    end: StreamEnd,
    downstream: &TcpStream,
) -> Result<(), LinkEnd> {
    let was_reset = end == StreamEnd::Reset;
    wait_for_reader(monitor, plan, was_reset)?;
    monitor.update(|state| {
        state.close_wire(plan.link.downstream());
        if was_reset && plan.record {
            record_abort(monitor, state);
        }
    });
    if was_reset {
        reset(downstream)?;
    } else {
        downstream.shutdown(Shutdown::Write)?;
    }
    Ok(())
}

fn record_abort(monitor: &Monitor, state: &mut State) {
    let event = Event::new(Role::Relay, Call::Abort, 0, &[], CallResult::Ok, None);
    monitor.record(state, event);
}

/// The wire ends the stream by hand where the pieces so far end. A close tells the
/// receiver the stream ended, as the writer's own close would, and what the writer
/// sends after is lost on the wire (read and dropped, so it never waits for a
/// reader). A reset resets both connections, as a reset from the network does:
/// the reader meets it in recv(), the writer in its next call.
fn end_by_hand(
    monitor: &Monitor,
    plan: &LinkPlan<'_>,
    end: WireEnd,
    upstream: &mut TcpStream,
    downstream: &TcpStream,
    buf: &mut [u8],
) -> Result<(), LinkEnd> {
    let stream_end = match end {
        WireEnd::Close => StreamEnd::Closed,
        WireEnd::Reset => StreamEnd::Reset,
    };
    match pass_end_on(monitor, plan, stream_end, downstream) {
        Err(LinkEnd::ReaderGone) => return refuse(monitor, plan, upstream),
        passed => passed?,
    }
    match end {
        WireEnd::Close => drop_the_rest(monitor, plan.link, upstream, buf),
        WireEnd::Reset => Ok(reset(upstream)?),
    }
}

/// Reads what the writer sends until its end of stream, and drops it.
fn drop_the_rest(
    monitor: &Monitor,
    link: LinkId,
    upstream: &mut TcpStream,
    buf: &mut [u8],
) -> Result<(), LinkEnd> {
    let mut dropped = Vec::new();
    loop {
        monitor.wait_for(|state| {
            let up = state.wire(link.upstream());
            if up.readable() || state.writer_is_writing(link) {
                state.set_link(link, LinkState::Busy);
                Some(())
            } else {
                state.set_link(link, LinkState::Gathering { pending: 0 });
                None
            }
        })?;
        if read_upstream(monitor, link, upstream, buf, &mut dropped)?.is_some() {
            return Ok(());
        }
        dropped.clear();
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
