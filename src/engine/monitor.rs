//! The shared state of one side's run: who is doing what, how many bytes are in
//! flight on each wire, and the recorded events. Every thread of the side reports
//! here, which lets the runner tell *exactly* when nothing can move any more
//! (stuck) instead of guessing from a timeout, and lets the relay deliver pieces in
//! lockstep with the receiver's reads.

use std::panic::Location;
use std::sync::mpsc::Sender;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::cut::{CutsError, FixedCuts, WireEnd};
use super::trace::{Call, CallResult, Event, Mode, Role, Side, causal_indices};

/// The four one-way byte paths of a side: sender → relay → receiver, and back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireId {
    /// Sender to relay.
    Up = 0,
    /// Relay to receiver.
    Down = 1,
    /// Receiver to relay (replies).
    BackUp = 2,
    /// Relay to sender (replies).
    BackDown = 3,
}

impl WireId {
    /// The relay direction this wire belongs to.
    pub fn link(self) -> LinkId {
        match self {
            WireId::Up | WireId::Down => LinkId::Forward,
            WireId::BackUp | WireId::BackDown => LinkId::Backward,
        }
    }
}

/// The two teaching-code threads of a side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Actor {
    Sender = 0,
    Receiver = 1,
}

impl Actor {
    pub fn role(self) -> Role {
        match self {
            Actor::Sender => Role::Sender,
            Actor::Receiver => Role::Receiver,
        }
    }
}

/// The relay's two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkId {
    Forward = 0,
    Backward = 1,
}

impl LinkId {
    pub fn upstream(self) -> WireId {
        match self {
            LinkId::Forward => WireId::Up,
            LinkId::Backward => WireId::BackUp,
        }
    }
    pub fn downstream(self) -> WireId {
        match self {
            LinkId::Forward => WireId::Down,
            LinkId::Backward => WireId::BackDown,
        }
    }
    pub fn writer(self) -> Actor {
        match self {
            LinkId::Forward => Actor::Sender,
            LinkId::Backward => Actor::Receiver,
        }
    }
    pub fn reader(self) -> Actor {
        match self {
            LinkId::Forward => Actor::Receiver,
            LinkId::Backward => Actor::Sender,
        }
    }
    pub fn reverse(self) -> LinkId {
        match self {
            LinkId::Forward => LinkId::Backward,
            LinkId::Backward => LinkId::Forward,
        }
    }
}

/// The kind of call a teaching thread is about to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallKind {
    Read(WireId),
    Write(WireId),
    /// Waits until the wire can take more bytes (`poll()` for `POLLOUT`).
    Poll(WireId),
    Other,
}

/// What a teaching-code thread is doing now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activity {
    /// Executing code, or inside a call that will return by itself.
    Running,
    /// Waiting for the controller's permission to make its next call.
    AtGate { line: Option<u32> },
    /// Blocked (or about to block) in `read()` on a wire.
    Reading { wire: WireId, line: Option<u32> },
    /// Inside `write()` on a wire, or (`poll`) waiting until it can write there; it
    /// blocks while the socket buffers are full.
    Writing {
        wire: WireId,
        line: Option<u32>,
        poll: bool,
    },
    /// Returned; its socket is closed.
    Done,
}

/// Byte counters of one wire. The relay counts its writes before the bytes can be
/// read, so a program's reads never run ahead of `written`; the relay itself may
/// read a little ahead while a program is still inside a large `write()`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Wire {
    written: u64,
    read: u64,
    /// The writer shut down or closed its side.
    closed: bool,
}

impl Wire {
    /// The writer shut down or closed its side.
    pub fn closed(&self) -> bool {
        self.closed
    }
    pub fn in_flight(&self) -> u64 {
        self.written.saturating_sub(self.read)
    }
    /// A `read()` on this wire would return without waiting.
    pub fn readable(&self) -> bool {
        self.in_flight() > 0 || self.closed
    }
}

/// What the relay is waiting for on one link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkState {
    /// Waiting for bytes (or end of stream) from upstream; `pending` bytes held.
    Gathering {
        pending: usize,
    },
    /// Holding a piece until the reader waits in `read()` with nothing unread.
    Holding,
    /// Wire mode: holding `pending` bytes (and the end of stream, if `ended`) until
    /// the user cuts.
    AwaitingCut {
        pending: usize,
        ended: bool,
    },
    /// Writing, or pausing between pieces in free-run.
    Busy,
    /// The reader has gone: waiting for the other direction to finish before
    /// answering the writer's bytes with a reset.
    Refusing,
    Finished,
}

/// Why a side was stopped before its programs finished by themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Both programs returned; the relay is told to wind down.
    Finished,
    /// Nothing could move: every thread waits for bytes that will never come.
    Stuck { role: Role, line: Option<u32> },
    /// No call completed within the time limit.
    TimeLimit { role: Role, line: Option<u32> },
    /// `recv()` kept being called after end of stream.
    Spinning { line: Option<u32> },
    /// The run was abandoned by its controller (the UI moved on).
    Abandoned,
}

/// Limits that keep naive code from running forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Calls of `recv()` allowed after it has returned end of stream.
    pub reads_after_eof: u32,
    /// Calls allowed in all, per side.
    pub max_calls: u32,
    /// Longest wait with no call completing before the side is declared stuck;
    /// a backstop behind the exact stuck detection.
    pub quiet_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            reads_after_eof: 25,
            max_calls: 20_000,
            quiet_ms: 5_000,
        }
    }
}

/// Something the engine reports while a run is in progress.
#[derive(Clone, Debug)]
pub enum LiveEvent {
    Call {
        side: Side,
        event: Event,
    },
    /// A program now waits: at the step gate, or inside `recv()`.
    Waiting {
        side: Side,
    },
    Finished {
        side: Side,
    },
}

/// The side's shared board. Its fields are private: other threads change it only
/// through the transitions below, so what stuck detection relies on is kept here.
pub(crate) struct State {
    activity: [Activity; 2],
    wires: [Wire; 4],
    links: [LinkState; 2],
    stop: Option<Stop>,
    events: Vec<Event>,
    calls: u32,
    /// `Some(n)`: stepping, `n` calls may start. `None`: free running.
    permits: Option<u32>,
    /// Counts recorded calls: the backstop's sign that something moved.
    progress: u64,
    delivered: Vec<Vec<u8>>,
    /// Per actor: its socket has a read timeout, so a `read()` returns by itself.
    timed_reads: [bool; 2],
    /// Events sent to the observer so far (the first `announced` of `events`).
    announced: usize,
    /// Wire mode: the cuts the user has made so far, which the relay follows.
    hand_cuts: FixedCuts,
}

impl State {
    pub fn wire(&self, id: WireId) -> &Wire {
        &self.wires[id as usize]
    }
    pub fn activity(&self, actor: Actor) -> Activity {
        self.activity[actor as usize]
    }
    pub fn link(&self, link: LinkId) -> LinkState {
        self.links[link as usize]
    }
    /// Why the side was stopped, if it was.
    pub fn stopped(&self) -> Option<Stop> {
        self.stop
    }
    /// Every call recorded so far, in the order recorded.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
    /// Every message and report the receiver delivered, in order.
    pub fn delivered(&self) -> &[Vec<u8>] {
        &self.delivered
    }
    /// Calls recorded so far: changes whenever something moved.
    pub fn progress(&self) -> u64 {
        self.progress
    }
    /// Wire mode: the cuts the user has made so far.
    pub fn hand_cuts(&self) -> &FixedCuts {
        &self.hand_cuts
    }

    /// Wire mode: the user cuts at `offset` (unless a cut is there already), then
    /// ends the stream there if `end` says so. A cut before the last is refused.
    pub fn cut_by_hand(&mut self, offset: usize, end: Option<WireEnd>) -> Result<(), CutsError> {
        if self.hand_cuts.end().is_some() {
            return Ok(()); // The stream has ended: nothing more to cut.
        }
        if offset > 0 && self.hand_cuts.offsets().last() != Some(&offset) {
            self.hand_cuts.push(offset)?;
        }
        if let Some(end) = end {
            self.hand_cuts.end_with(end);
        }
        Ok(())
    }

    /// Wire mode: the relay of `link` awaits a cut, and the user has made one it
    /// has not acted on yet (it wakes a moment later): it will move.
    fn has_a_new_cut(&self, link: LinkId) -> bool {
        let passed = self.wire(link.downstream()).written as usize;
        matches!(self.link(link), LinkState::AwaitingCut { .. })
            && (self.hand_cuts.end().is_some()
                || self
                    .hand_cuts
                    .offsets()
                    .last()
                    .is_some_and(|&cut| cut > passed))
    }

    /// Wire mode: the relay of `link` holds bytes for a reader that waits, and only
    /// the user's cut can deliver them.
    pub fn needs_a_cut(&self, link: LinkId) -> bool {
        matches!(self.link(link), LinkState::AwaitingCut { pending, .. } if pending > 0)
            && self.reader_is_ready(link)
            && !self.has_a_new_cut(link)
    }

    /// Bytes the sender has written, and bytes the relay has passed on to the
    /// receiver, so far: what is between them is on the wire.
    pub fn stream_counts(&self) -> (u64, u64) {
        (
            self.wire(WireId::Up).written,
            self.wire(WireId::Down).written,
        )
    }

    /// `bytes` more were written to `wire` (by a program, or by the relay before
    /// it writes them, so that a read never sees uncounted bytes).
    pub fn count_written(&mut self, wire: WireId, bytes: usize) {
        self.wires[wire as usize].written += bytes as u64;
    }
    /// `bytes` more were read from `wire`.
    pub fn count_read(&mut self, wire: WireId, bytes: usize) {
        self.wires[wire as usize].read += bytes as u64;
    }
    /// The writer of `wire` shut it down or closed it: a read there will not wait.
    pub fn close_wire(&mut self, wire: WireId) {
        self.wires[wire as usize].closed = true;
    }
    /// The actor's socket now has (or no longer has) a read timeout: a read with
    /// one returns by itself, so it is never stuck.
    pub fn set_timed_reads(&mut self, actor: Actor, timed: bool) {
        self.timed_reads[actor as usize] = timed;
    }
    /// The actor's call returned: it runs its own code until its next call.
    pub fn call_returned(&mut self, actor: Actor) {
        self.activity[actor as usize] = Activity::Running;
    }
    /// The actor's program returned (or was stopped) and its socket is closed.
    pub fn actor_done(&mut self, actor: Actor) {
        self.activity[actor as usize] = Activity::Done;
    }
    /// The relay says what it now waits for on `link`.
    pub fn set_link(&mut self, link: LinkId, state: LinkState) {
        self.links[link as usize] = state;
    }
    /// Stops the side; the first reason wins.
    pub fn stop(&mut self, reason: Stop) {
        self.stop.get_or_insert(reason);
    }

    /// The writer of a link cannot send more without something happening first.
    pub fn writer_is_waiting(&self, link: LinkId) -> bool {
        match self.activity(link.writer()) {
            Activity::Done => true,
            Activity::Reading { wire, .. } => !self.wire(wire).readable(),
            Activity::Running | Activity::AtGate { .. } | Activity::Writing { .. } => false,
        }
    }

    /// The writer of a link is inside `write()` on the link's upstream, or polls
    /// until it can write there.
    pub fn writer_is_writing(&self, link: LinkId) -> bool {
        matches!(self.activity(link.writer()), Activity::Writing { wire, .. } if wire == link.upstream())
    }

    /// The writer of a link waits in `poll()` until it can write: only the relay
    /// reading makes room.
    pub fn writer_is_polling(&self, link: LinkId) -> bool {
        matches!(self.activity(link.writer()), Activity::Writing { wire, poll: true, .. } if wire == link.upstream())
    }

    /// The reader of a link waits in `read()` with nothing unread, or has gone.
    pub fn reader_is_ready(&self, link: LinkId) -> bool {
        match self.activity(link.reader()) {
            Activity::Done => true,
            Activity::Reading { wire, .. } => {
                wire == link.downstream() && self.wire(wire).in_flight() == 0
            }
            Activity::Running | Activity::AtGate { .. } | Activity::Writing { .. } => false,
        }
    }

    /// The relay has something to do on this upstream.
    pub fn upstream_ready(&self, link: LinkId, pending: usize) -> bool {
        let up = self.wire(link.upstream());
        up.readable()
            || self.writer_is_writing(link)
            || (pending > 0 && self.writer_is_waiting(link))
    }

    /// Lockstep: a link holding part of a piece, whose writer now waits, delivers it
    /// short only once nothing else could change whether the writer waits: its
    /// reader waits too, and the other direction has nothing to do (or only the same
    /// choice, which the forward direction makes first). Then it happens at the same
    /// point of every run.
    pub fn may_cut_short(&self, link: LinkId) -> bool {
        let reader_waits = match self.activity(link.reader()) {
            Activity::AtGate { .. } | Activity::Done => true,
            Activity::Reading { wire, .. } => !self.wire(wire).readable(),
            Activity::Running | Activity::Writing { .. } => false,
        };
        let other = link.reverse();
        let other_waits = match self.link(other) {
            LinkState::Gathering { pending } => {
                // The forward direction's own short piece goes first.
                let forward_cuts_short =
                    link == LinkId::Backward && pending > 0 && self.writer_is_waiting(other);
                !(self.wire(other.upstream()).readable()
                    || self.writer_is_writing(other)
                    || forward_cuts_short)
            }
            LinkState::Holding => !self.reader_is_ready(other),
            LinkState::AwaitingCut { .. } => !self.link_can_move(other, true),
            LinkState::Busy => false,
            LinkState::Refusing | LinkState::Finished => true,
        };
        reader_waits && other_waits
    }

    fn actor_can_move(&self, actor: Actor) -> bool {
        match self.activity(actor) {
            Activity::Running | Activity::AtGate { .. } | Activity::Writing { .. } => true,
            // A read with a timeout returns by itself, data or not.
            Activity::Reading { wire, .. } => {
                self.wire(wire).readable() || self.timed_reads[actor as usize]
            }
            Activity::Done => false,
        }
    }

    fn link_can_move(&self, link: LinkId, lockstep: bool) -> bool {
        match self.link(link) {
            LinkState::Gathering { pending } => self.upstream_ready(link, pending),
            LinkState::Holding => !lockstep || self.reader_is_ready(link),
            // It reads what comes, and a reader that waits makes it ask the user: the
            // programs then wait for the cut, as they would for the piece.
            LinkState::AwaitingCut { ended, .. } => {
                let up = self.wire(link.upstream());
                (!ended && (up.readable() || self.writer_is_writing(link)))
                    || self.has_a_new_cut(link)
                    || self.needs_a_cut(link)
            }
            LinkState::Busy => true,
            // Moves when the other direction finishes, which is tracked on its own.
            LinkState::Refusing | LinkState::Finished => false,
        }
    }

    /// The link can move without the user: `link_can_move` but for a cut asked for.
    fn link_moves_by_itself(&self, link: LinkId, lockstep: bool) -> bool {
        self.link_can_move(link, lockstep) && !self.needs_a_cut(link)
    }

    /// In lockstep (and when stepping) one call starts at a time, by a fixed rule,
    /// so the same seed gives the same run and each step the same screen: an actor's
    /// call may start once nothing else can move but through the gate (the other
    /// actor waits at the gate, in a `read()` with nothing to read, or is done; the
    /// relay waits too), and when both wait at the gate the sender goes first.
    /// A read with a timeout and nothing to read counts as waiting: only bytes or its
    /// clock end it; so does a poll for room to write.
    pub fn has_turn(&self, actor: Actor, lockstep: bool) -> bool {
        let others_wait = [Actor::Sender, Actor::Receiver]
            .into_iter()
            .filter(|&other| other != actor)
            .all(|other| match self.activity(other) {
                Activity::AtGate { .. } | Activity::Done => true,
                Activity::Reading { wire, .. } => !self.wire(wire).readable(),
                // A poll for room returns only once the relay reads, which it may not
                // do before this actor's call (it holds a piece for the reader, say).
                Activity::Writing { poll: true, .. } => true,
                Activity::Running | Activity::Writing { .. } => false,
            });
        let relay_waits = [LinkId::Forward, LinkId::Backward]
            .into_iter()
            .all(|link| !self.link_can_move(link, lockstep));
        let first_at_gate = [Actor::Sender, Actor::Receiver]
            .into_iter()
            .find(|&a| a == actor || matches!(self.activity(a), Activity::AtGate { .. }));
        others_wait && relay_waits && first_at_gate == Some(actor)
    }

    /// Nothing can move until the user steps or, in wire mode, cuts (see
    /// `SideStatus::settled`).
    pub fn settled(&self, lockstep: bool) -> bool {
        let waits = |actor: Actor| match self.activity(actor) {
            Activity::AtGate { .. } | Activity::Done => true,
            Activity::Reading { .. } => !self.actor_can_move(actor),
            Activity::Running | Activity::Writing { .. } => false,
        };
        let links = [LinkId::Forward, LinkId::Backward];
        (self.permits == Some(0) || links.iter().any(|&link| self.needs_a_cut(link)))
            && waits(Actor::Sender)
            && waits(Actor::Receiver)
            && links
                .into_iter()
                .all(|link| !self.link_moves_by_itself(link, lockstep))
    }

    /// A teaching thread waits at the gate for the user to step, or the wire for
    /// the user to cut.
    pub fn waits_for_user(&self) -> bool {
        let at_gate = self
            .activity
            .iter()
            .any(|a| matches!(a, Activity::AtGate { .. }));
        (self.permits == Some(0) && at_gate)
            || [LinkId::Forward, LinkId::Backward]
                .into_iter()
                .any(|link| self.needs_a_cut(link))
    }

    pub fn all_done(&self) -> bool {
        self.activity.iter().all(|a| *a == Activity::Done)
    }

    /// If no thread can ever move again, who is waiting and where.
    pub fn stuck(&self, lockstep: bool) -> Option<(Role, Option<u32>)> {
        if self.all_done()
            || [Actor::Sender, Actor::Receiver]
                .iter()
                .any(|&a| self.actor_can_move(a))
            || [LinkId::Forward, LinkId::Backward]
                .iter()
                .any(|&l| self.link_can_move(l, lockstep))
        {
            return None;
        }
        self.waiting_actor()
    }

    /// The teaching thread that waits in `read()`, receiver first.
    pub fn waiting_actor(&self) -> Option<(Role, Option<u32>)> {
        [Actor::Receiver, Actor::Sender]
            .iter()
            .find_map(|&a| match self.activity(a) {
                Activity::Reading { line, .. } | Activity::AtGate { line } => {
                    Some((a.role(), line))
                }
                _ => None,
            })
    }
}

/// One side's monitor: state behind a mutex, and a condvar every change notifies.
/// Its public fields are settings, fixed when the run starts.
pub(crate) struct Monitor {
    pub side: Side,
    started: Instant,
    pub limits: Limits,
    mode: Mode,
    pub lockstep: bool,
    /// The file the programs are written in (as `file!()` names it).
    teaching_file: Option<&'static str>,
    state: Mutex<State>,
    changed: Condvar,
    observer: Option<Mutex<Sender<LiveEvent>>>,
}

impl Monitor {
    pub fn new(
        side: Side,
        limits: Limits,
        mode: Mode,
        stepping: bool,
        observer: Option<Sender<LiveEvent>>,
        teaching_file: Option<&'static str>,
    ) -> Self {
        Monitor {
            side,
            started: Instant::now(),
            limits,
            mode,
            lockstep: mode == Mode::Lockstep,
            teaching_file,
            state: Mutex::new(State {
                activity: [Activity::Running; 2],
                wires: [Wire::default(); 4],
                links: [LinkState::Gathering { pending: 0 }; 2],
                stop: None,
                events: Vec::new(),
                calls: 0,
                permits: stepping.then_some(0),
                progress: 0,
                delivered: Vec::new(),
                timed_reads: [false; 2],
                announced: 0,
                hand_cuts: FixedCuts::default(),
            }),
            changed: Condvar::new(),
            observer: observer.map(Mutex::new),
        }
    }

    /// The monitor of a socket used on its own (`Sock::plain`): nobody reads it.
    pub fn plain() -> Self {
        Monitor::new(
            Side::Correct,
            Limits::default(),
            Mode::Direct,
            false,
            None,
            None,
        )
    }

    /// The line a call made at `site` records: its line when it is in the teaching
    /// file, none when the call comes from anywhere else (std, the engine, a test).
    pub fn line_of(&self, site: &Location<'_>) -> Option<u32> {
        (Some(site.file()) == self.teaching_file).then(|| site.line())
    }

    /// Locks the state. A panic while holding the lock cannot leave counters
    /// half-updated in a way that matters more than stopping, so poison is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the state and wakes every waiter.
    pub fn update<R>(&self, change: impl FnOnce(&mut State) -> R) -> R {
        let result = change(&mut self.lock());
        self.changed.notify_all();
        result
    }

    /// Waits until `ready` returns `Some`, or the side is stopped.
    pub fn wait_for<R>(&self, mut ready: impl FnMut(&mut State) -> Option<R>) -> Result<R, Stop> {
        let mut state = self.lock();
        loop {
            if let Some(stop) = state.stop {
                return Err(stop);
            }
            let before = (state.activity, state.links);
            let result = ready(&mut state);
            // Tell the others only about a real change: waiters that woke each other
            // for nothing would spin.
            if result.is_some() || (state.activity, state.links) != before {
                self.changed.notify_all();
            }
            if let Some(result) = result {
                return Ok(result);
            }
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Waits for a change, at most `timeout`.
    pub fn wait_change<'a>(
        &self,
        state: MutexGuard<'a, State>,
        timeout: Duration,
    ) -> MutexGuard<'a, State> {
        self.changed
            .wait_timeout(state, timeout)
            .map(|(guard, _)| guard)
            .unwrap_or_else(|e| e.into_inner().0)
    }

    /// Stops the side (the first reason wins).
    pub fn stop(&self, reason: Stop) {
        self.update(|state| state.stop(reason));
    }

    /// Records a completed call. Its news goes to the observer at once, except when
    /// stepping: then it waits until the step is over (see `announce_held`).
    pub fn record(&self, state: &mut State, mut event: Event) {
        event.seq = state.events.len() as u32;
        event.at_us = self.started.elapsed().as_micros() as u64;
        state.progress += 1;
        state.events.push(event);
        // Once stopped, the runner has told the observer all it held: tell it at once.
        if state.permits.is_none() || state.stop.is_some() {
            self.announce_new(state);
        }
    }

    /// The receiver hands the application one message (or report): delivered and
    /// recorded at once, so the two never disagree.
    pub fn deliver(&self, message: &[u8], line: Option<u32>) {
        self.update(|state| {
            state.delivered.push(message.to_vec());
            let event = Event::new(
                Role::Receiver,
                Call::Deliver,
                message.len(),
                message,
                CallResult::Ok,
                line,
            );
            self.record(state, event);
        });
    }

    /// Sends the observer the calls it has not heard of, in the order of
    /// `causal_order`: within a step, the relay and a blocked reader may finish in
    /// any order, and a step must show the same calls in the same order every time.
    pub fn announce_held(&self, state: &mut State) {
        if self.announce_new(state) {
            // A step is settled only once its calls are announced.
            self.changed.notify_all();
        }
    }

    /// Sends the observer the calls recorded since the last it heard of, in causal
    /// order; false if there were none.
    fn announce_new(&self, state: &mut State) -> bool {
        let first_new = state.announced;
        state.announced = state.events.len();
        if first_new == state.announced {
            return false;
        }
        if self.observer.is_some() {
            // Free running, each call is told as it is recorded: one alone needs no
            // ordering (and ordering the whole run at each call would be quadratic).
            let order = if first_new + 1 == state.announced {
                vec![first_new]
            } else {
                causal_indices(&state.events, self.mode)
            };
            for index in order.into_iter().filter(|&index| index >= first_new) {
                self.announce(LiveEvent::Call {
                    side: self.side,
                    event: state.events[index].clone(),
                });
            }
        }
        true
    }

    /// Tells the observer the side now waits (for the user, say).
    pub fn announce_waiting(&self) {
        self.announce(LiveEvent::Waiting { side: self.side });
    }

    pub fn announce_finished(&self) {
        self.announce(LiveEvent::Finished { side: self.side });
    }

    fn announce(&self, event: LiveEvent) {
        if let Some(observer) = &self.observer {
            // A controller that has gone away no longer needs live events.
            let _ = observer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .send(event);
        }
    }

    /// Called before each teaching-code call: waits at the gate for its turn (see
    /// `State::has_turn`) and, when stepping, for a permit; counts the call, and marks
    /// the actor as reading, writing or running.
    pub fn begin_call(&self, actor: Actor, call: CallKind, line: Option<u32>) -> Result<(), Stop> {
        let mut state = self.lock();
        let scheduled = self.lockstep || state.permits.is_some();
        loop {
            if let Some(stop) = state.stop {
                return Err(stop);
            }
            let permitted = state.permits.is_none_or(|n| n > 0);
            if permitted && (!scheduled || state.has_turn(actor, self.lockstep)) {
                if let Some(n) = &mut state.permits {
                    *n -= 1;
                    // The last step is over (nothing else moves): tell what it did
                    // before this one begins.
                    self.announce_held(&mut state);
                }
                break;
            }
            let at_gate = Activity::AtGate { line };
            if state.activity[actor as usize] != at_gate {
                state.activity[actor as usize] = at_gate;
                self.changed.notify_all();
                self.announce(LiveEvent::Waiting { side: self.side });
            }
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.calls += 1;
        if state.calls > self.limits.max_calls {
            let stop = Stop::Spinning { line };
            state.stop(stop);
            self.changed.notify_all();
            return Err(stop);
        }
        state.activity[actor as usize] = match call {
            CallKind::Read(wire) => Activity::Reading { wire, line },
            CallKind::Write(wire) => Activity::Writing {
                wire,
                line,
                poll: false,
            },
            CallKind::Poll(wire) => Activity::Writing {
                wire,
                line,
                poll: true,
            },
            CallKind::Other => Activity::Running,
        };
        self.changed.notify_all();
        if let CallKind::Read(_) = call {
            self.announce(LiveEvent::Waiting { side: self.side });
        }
        Ok(())
    }

    /// Lets `n` more calls start when stepping.
    pub fn grant(&self, n: u32) {
        self.update(|state| {
            if let Some(permits) = &mut state.permits {
                *permits += n;
            }
        });
    }

    /// Stops stepping: every call may start.
    pub fn release(&self) {
        self.update(|state| state.permits = None);
    }
}

/// What one teaching-code thread is doing, as a controller sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorState {
    Running,
    /// Paused before its next call, which is on this line.
    AtGate {
        line: Option<u32>,
    },
    /// Inside `recv()` on this line, waiting for bytes.
    Receiving {
        line: Option<u32>,
    },
    Done,
}

/// A snapshot of one side of a run in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideStatus {
    pub side: Side,
    pub sender: ActorState,
    pub receiver: ActorState,
    /// Calls recorded so far (including the relay's pieces).
    pub events: usize,
    /// The side has stopped: its programs finished or were stopped.
    pub stopped: bool,
    /// Nothing moves until the next step: each program waits at the gate, in a
    /// `recv()` that has nothing to return, or is done, and the relay waits too. A
    /// step is over when its side is settled (or stopped).
    pub settled: bool,
    /// Bytes of the stream the sender has written so far.
    pub sent: u64,
    /// Bytes of the stream the relay has passed on to the receiver so far.
    pub passed: u64,
    /// Wire mode: the relay holds bytes for a reader that waits, and waits for the
    /// user to cut.
    pub awaits_cut: bool,
}

impl SideStatus {
    /// Neither program is running: each waits at the gate, in `recv()`, or is done.
    pub fn is_paused(&self) -> bool {
        self.stopped
            || [self.sender, self.receiver]
                .iter()
                .all(|a| *a != ActorState::Running)
    }
}

impl Monitor {
    pub fn status(&self) -> SideStatus {
        self.status_of(&self.lock())
    }

    fn status_of(&self, state: &State) -> SideStatus {
        let actor = |a: Actor| match state.activity(a) {
            Activity::Running | Activity::Writing { .. } => ActorState::Running,
            Activity::AtGate { line } => ActorState::AtGate { line },
            Activity::Reading { line, .. } => ActorState::Receiving { line },
            Activity::Done => ActorState::Done,
        };
        SideStatus {
            side: self.side,
            sender: actor(Actor::Sender),
            receiver: actor(Actor::Receiver),
            events: state.events.len(),
            stopped: state.stop.is_some(),
            // Settled once the step's calls are announced too.
            settled: state.announced == state.events.len()
                && (state.stop.is_some() || state.settled(self.lockstep)),
            sent: state.stream_counts().0,
            passed: state.stream_counts().1,
            awaits_cut: state.stop.is_none() && state.needs_a_cut(LinkId::Forward),
        }
    }

    /// Waits until `done` holds for this side's status, at most `timeout`.
    pub fn wait_status(&self, timeout: Duration, done: impl Fn(&SideStatus) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if done(&self.status_of(&state)) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self.wait_change(state, deadline - now);
        }
    }
}
