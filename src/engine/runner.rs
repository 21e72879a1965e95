//! Runs a scenario: the naive and the correct program side by side, each over its
//! own real loopback connections through a relay that cuts the stream the same way.

use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};

use socket2::{Domain, Protocol, Socket, Type};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::cut::{CutPlan, CutsError, FixedCuts, Framing, WireEnd};
use super::external::{External, run_part};
use super::monitor::{
    Actor, Limits, LinkId, LinkState, LiveEvent, Monitor, SideStatus, Stop, WireId,
};
use super::relay::{CutSource, LinkPlan, run_link};
use super::report::{Failure, is_report};
use super::sock::{Cancelled, Inbox, Sock, WakerSlot};
use super::trace::{Call, CallResult, Mode, Outcome, Role, Side, SideTrace, Trace, causal_order};

/// What can go wrong running a scenario (as opposed to what the teaching code does wrong).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("could not open a listening socket on 127.0.0.1: {0}")]
    Bind(#[source] io::Error),
    #[error("could not connect to the relay at {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("could not set up a loopback socket: {0}")]
    Socket(#[source] io::Error),
    #[error("could not start a thread for the run: {0}")]
    Thread(#[source] io::Error),
    #[error("internal error in the engine: {0}")]
    Internal(String),
    #[error(transparent)]
    Cuts(#[from] CutsError),
    #[error("wire mode needs lockstep, where the relay waits for each recv() ({} does not)", .0.name())]
    WireNeedsLockstep(Mode),
}

/// A sender: writes the given messages to the socket.
pub type SendFn = fn(&mut Sock, &[Vec<u8>]) -> io::Result<()>;
/// A receiver: reads the socket and delivers each message to the inbox.
pub type RecvFn = fn(&mut Sock, &mut Inbox) -> io::Result<()>;

/// One side's code.
#[derive(Clone, Copy)]
pub struct Program {
    pub send: SendFn,
    pub recv: RecvFn,
}

/// One side's code: Rust functions called here, or a program in another language
/// run in child processes (see `engine::external`).
#[derive(Clone, Debug)]
pub enum Code {
    Native(Program),
    External(External),
}

impl Code {
    /// The language the code is written in, as traces record it.
    pub fn language(&self) -> &'static str {
        match self {
            Code::Native(_) => "rust",
            Code::External(external) => external.server.language,
        }
    }
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program").finish_non_exhaustive()
    }
}

/// What a lesson runs: the messages, how they are framed, and how the wire cuts them.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// What the receiver should hand to the application, in order. Reports
    /// (`engine::report`) stand for failures a correct receiver reports; the sender
    /// is given, and the wire carries, only the other messages.
    pub messages: Vec<Vec<u8>>,
    pub framing: Framing,
    pub cuts: CutPlan,
    pub limits: Limits,
    /// Socket settings of the sender's connection (small buffers for partial sends).
    pub sender_socket: SocketTuning,
}

/// Socket options for the sender's connection. Any of them set also makes the relay
/// stop reading while the sender is inside `write()`: with small buffers and a send
/// timeout, a large `write()` then really returns a short count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SocketTuning {
    /// SO_SNDBUF of the sender's socket, in bytes (the kernel may double it).
    pub send_buffer: Option<usize>,
    /// SO_RCVBUF of the relay's end, in bytes.
    pub recv_buffer: Option<usize>,
    /// SO_SNDTIMEO of the sender's socket.
    pub send_timeout: Option<Duration>,
}

impl Scenario {
    /// The stream a correct sender writes, and where each message sits in it.
    pub fn stream(&self) -> (Vec<u8>, Vec<super::trace::Span>) {
        self.framing.encode(&self.data())
    }

    /// The messages the sender sends: all but the reports.
    fn data(&self) -> Vec<Vec<u8>> {
        self.messages
            .iter()
            .filter(|m| !is_report(m))
            .cloned()
            .collect()
    }
}

/// A side's messages: what the receiver should deliver, and what the sender sends.
#[derive(Clone, Copy)]
struct Messages<'a> {
    expected: &'a [Vec<u8>],
    sent: &'a [Vec<u8>],
}

impl SocketTuning {
    fn is_set(&self) -> bool {
        *self != SocketTuning::default()
    }
}

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub seed: u64,
    pub mode: Mode,
    /// Start paused: each call waits for `RunHandle::step`.
    pub stepping: bool,
    /// Receives every call as it completes.
    pub observer: Option<Sender<LiveEvent>>,
    /// The file the programs are written in, as `file!()` names it there: each
    /// call made from that file records its line (see `Event::line`). Calls made
    /// anywhere else (std's `write_all`, a test's own code) record none.
    pub teaching_file: Option<&'static str>,
    /// Cut the stream exactly here instead of where the lesson's plan cuts it
    /// (`--cuts`). Direct has no relay, so nothing to cut with.
    pub cuts: Option<FixedCuts>,
    /// Wire mode: the user cuts the stream while it runs (`RunHandle::cut`), and the
    /// relay holds what the sender writes until then. Lockstep only.
    pub cut_by_hand: bool,
}

/// A run in progress.
pub struct RunHandle {
    lesson: String,
    language: &'static str,
    seed: u64,
    mode: Mode,
    scenario: Scenario,
    stream: Vec<u8>,
    spans: Vec<super::trace::Span>,
    cuts: Vec<usize>,
    cut_by_hand: bool,
    monitors: [Arc<Monitor>; 2],
    threads: [Option<JoinHandle<Result<SideTrace, EngineError>>>; 2],
}

/// Runs both sides to the end and returns what they did.
pub fn run(
    lesson: &str,
    scenario: &Scenario,
    naive: Program,
    correct: Program,
    options: RunOptions,
) -> Result<Trace, EngineError> {
    start(lesson, scenario, naive, correct, options)?.join()
}

/// Runs both sides' code, in any language, to the end.
pub fn run_code(
    lesson: &str,
    scenario: &Scenario,
    code: [Code; 2],
    options: RunOptions,
) -> Result<Trace, EngineError> {
    start_code(lesson, scenario, code, options)?.join()
}

/// Starts both sides and returns at once.
pub fn start(
    lesson: &str,
    scenario: &Scenario,
    naive: Program,
    correct: Program,
    options: RunOptions,
) -> Result<RunHandle, EngineError> {
    start_code(
        lesson,
        scenario,
        [Code::Native(naive), Code::Native(correct)],
        options,
    )
}

/// Starts both sides' code, in any language, and returns at once.
pub fn start_code(
    lesson: &str,
    scenario: &Scenario,
    code: [Code; 2],
    options: RunOptions,
) -> Result<RunHandle, EngineError> {
    let language = code[1].language();
    let data = scenario.data();
    let (stream, spans) = scenario.stream();
    if let Some(fixed) = &options.cuts {
        fixed.fit(stream.len())?;
    }
    if options.cut_by_hand && options.mode != Mode::Lockstep {
        return Err(EngineError::WireNeedsLockstep(options.mode));
    }
    let end = options.cuts.as_ref().and_then(FixedCuts::end);
    let plan = options.cuts.as_ref().map(FixedCuts::plan);
    let plan = plan.as_ref().unwrap_or(&scenario.cuts);
    // Direct has no relay, so nothing cuts the stream but the kernel; in wire mode
    // the cuts come as the user makes them.
    let cuts = match options.mode {
        _ if options.cut_by_hand => Vec::new(),
        Mode::Direct => Vec::new(),
        Mode::Lockstep | Mode::FreeRun => plan.resolve(stream.len(), &spans, options.seed),
    };
    let monitors = Side::BOTH.map(|side| {
        Arc::new(Monitor::new(
            side,
            scenario.limits,
            options.mode,
            options.stepping,
            options.observer.clone(),
            options.teaching_file,
        ))
    });
    let mut threads = [None, None];
    for (index, (side, program)) in Side::BOTH.into_iter().zip(code).enumerate() {
        let monitor = Arc::clone(&monitors[index]);
        let messages = scenario.messages.clone();
        let data = data.clone();
        let cuts = cuts.clone();
        let (seed, mode, tuning) = (options.seed, options.mode, scenario.sender_socket);
        let cut_by_hand = options.cut_by_hand;
        let stream_len = stream.len();
        let handle = thread::Builder::new()
            .name(format!("{}-side", side.name()))
            .spawn(move || {
                let messages = Messages {
                    expected: &messages,
                    sent: &data,
                };
                let route = Route {
                    mode,
                    cuts: if cut_by_hand {
                        CutSource::ByHand { stream_len }
                    } else {
                        CutSource::Fixed { at: &cuts, end }
                    },
                    seed,
                    tuning,
                };
                let result = run_side(&monitor, &program, messages, route);
                if result.is_err() {
                    // A side that could not set up still ends: its watcher waits for this.
                    monitor.announce_finished();
                }
                result
            })
            .map_err(EngineError::Thread)?;
        threads[index] = Some(handle);
    }
    Ok(RunHandle {
        lesson: lesson.to_string(),
        language,
        seed: options.seed,
        mode: options.mode,
        scenario: scenario.clone(),
        stream,
        spans,
        cuts,
        cut_by_hand: options.cut_by_hand,
        monitors,
        threads,
    })
}

impl RunHandle {
    /// Lets the next call of each program start (when stepping).
    pub fn step(&self) {
        for monitor in &self.monitors {
            monitor.grant(1);
        }
    }

    /// Wire mode: cuts both sides' streams at `offset` (where a cut is already,
    /// nothing more), then ends them there if `end` says so. The relays deliver
    /// each piece in turn, as they would from `--cuts`.
    pub fn cut(&self, offset: usize, end: Option<WireEnd>) -> Result<(), CutsError> {
        if offset > self.stream.len() {
            let len = self.stream.len();
            return Err(CutsError::PastTheEnd { cut: offset, len });
        }
        // Both sides take the cut at once: no one sees one side cut and the other not.
        let mut states: Vec<_> = self.monitors.iter().map(|monitor| monitor.lock()).collect();
        for state in &mut states {
            state.cut_by_hand(offset, end)?;
        }
        drop(states);
        for monitor in &self.monitors {
            monitor.update(|_| {}); // Wakes its relay.
        }
        Ok(())
    }

    /// Wire mode: the cuts made by hand so far.
    pub fn cuts_by_hand(&self) -> FixedCuts {
        self.monitors[0].lock().hand_cuts().clone()
    }

    /// Stops stepping and lets both programs run to the end.
    pub fn release(&self) {
        for monitor in &self.monitors {
            monitor.release();
        }
    }

    /// Stops both sides now; `join` then returns promptly.
    pub fn abandon(&self) {
        for monitor in &self.monitors {
            monitor.stop(Stop::Abandoned);
        }
    }

    /// True when both sides have finished.
    pub fn is_finished(&self) -> bool {
        self.threads
            .iter()
            .all(|t| t.as_ref().is_none_or(|t| t.is_finished()))
    }

    /// What each side is doing now.
    pub fn status(&self) -> [SideStatus; 2] {
        [self.monitors[0].status(), self.monitors[1].status()]
    }

    /// Waits until `done` holds for `side`, at most `timeout`; false if it timed out.
    pub fn wait_for(
        &self,
        side: Side,
        timeout: Duration,
        done: impl Fn(&SideStatus) -> bool,
    ) -> bool {
        let monitor = &self.monitors[side as usize];
        monitor.wait_status(timeout, done)
    }

    /// The cut offsets of this run.
    pub fn cuts(&self) -> &[usize] {
        &self.cuts
    }

    /// The framed stream a correct sender writes, and where each message sits in it.
    pub fn stream(&self) -> (&[u8], &[super::trace::Span]) {
        (&self.stream, &self.spans)
    }

    /// The messages the senders were given.
    pub fn messages(&self) -> &[Vec<u8>] {
        &self.scenario.messages
    }

    /// Waits for both sides and assembles the trace.
    pub fn join(mut self) -> Result<Trace, EngineError> {
        let mut sides = Vec::with_capacity(2);
        for slot in &mut self.threads {
            let handle = slot.take().expect("each side is joined once");
            let side = handle.join().unwrap_or_else(|_| {
                Err(EngineError::Internal("a side's thread panicked".into()))
            })?;
            sides.push(side);
        }
        let correct = sides.pop().expect("two sides");
        let naive = sides.pop().expect("two sides");
        if self.cut_by_hand {
            self.cuts = self.cuts_by_hand().offsets().to_vec();
        }
        Ok(Trace {
            lesson: std::mem::take(&mut self.lesson),
            language: self.language.to_string(),
            seed: self.seed,
            mode: self.mode,
            messages: std::mem::take(&mut self.scenario.messages),
            stream: std::mem::take(&mut self.stream),
            spans: std::mem::take(&mut self.spans),
            cuts: std::mem::take(&mut self.cuts),
            naive,
            correct,
        })
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        // Leaving a run early must not leave its threads and sockets behind.
        if self.threads.iter().any(Option::is_some) {
            self.abandon();
            for handle in self.threads.iter_mut().filter_map(Option::take) {
                let _ = handle.join();
            }
        }
    }
}

/// How a teaching thread ended.
pub(crate) enum ActorEnd {
    Returned,
    Failed(Failure),
    Stopped,
    Panicked(String),
}

/// A connected pair of loopback sockets: (connecting end, accepted end). Buffer
/// sizes are set before connecting, so the window the peers agree on honours them.
pub fn loopback_pair(tuning: SocketTuning) -> Result<(TcpStream, TcpStream), EngineError> {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let listener =
        Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(EngineError::Bind)?;
    if let Some(size) = tuning.recv_buffer {
        listener
            .set_recv_buffer_size(size)
            .map_err(EngineError::Socket)?;
    }
    listener.bind(&loopback.into()).map_err(EngineError::Bind)?;
    listener.listen(1).map_err(EngineError::Bind)?;
    let listener: TcpListener = listener.into();
    let addr = listener.local_addr().map_err(EngineError::Bind)?;
    let near = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
        .map_err(EngineError::Socket)?;
    if let Some(size) = tuning.send_buffer {
        near.set_send_buffer_size(size)
            .map_err(EngineError::Socket)?;
    }
    near.set_write_timeout(tuning.send_timeout)
        .map_err(EngineError::Socket)?;
    near.connect(&addr.into())
        .map_err(|source| EngineError::Connect { addr, source })?;
    let near: TcpStream = near.into();
    let (far, _) = listener
        .accept()
        .map_err(|source| EngineError::Connect { addr, source })?;
    for stream in [&near, &far] {
        // Small pieces must leave at once, not wait for Nagle's algorithm.
        stream.set_nodelay(true).map_err(EngineError::Socket)?;
    }
    Ok((near, far))
}

fn clone(stream: &TcpStream) -> Result<TcpStream, EngineError> {
    stream.try_clone().map_err(EngineError::Socket)
}

/// How a side's bytes travel from its sender to its receiver.
#[derive(Clone, Copy)]
struct Route<'a> {
    mode: Mode,
    /// Where the relay cuts the stream.
    cuts: CutSource<'a>,
    /// Seeds the relay's pauses in free-run.
    seed: u64,
    tuning: SocketTuning,
}

fn run_side(
    monitor: &Arc<Monitor>,
    program: &Code,
    messages: Messages<'_>,
    route: Route<'_>,
) -> Result<SideTrace, EngineError> {
    let mode = route.mode;
    let (sender, receiver) = match mode {
        Mode::Direct => run_direct(monitor, program, messages, route.tuning)?,
        Mode::Lockstep | Mode::FreeRun => run_relayed(monitor, program, messages, route)?,
    };
    let state = monitor.lock();
    let outcome = classify(
        messages.expected,
        state.delivered(),
        state.stopped(),
        &sender,
        &receiver,
        state.events(),
        monitor.limits.quiet_ms,
    );
    Ok(SideTrace {
        side: monitor.side,
        events: causal_order(state.events().to_vec(), mode),
        delivered: state.delivered().to_vec(),
        outcome,
    })
}

/// Spawns the side's sender and receiver on their sockets.
fn spawn_actors<'scope>(
    scope: &'scope thread::Scope<'scope, '_>,
    monitor: &'scope Arc<Monitor>,
    program: &'scope Code,
    messages: Messages<'scope>,
    [sender_sock, receiver_sock]: [Sock; 2],
) -> [Result<thread::ScopedJoinHandle<'scope, ActorEnd>, EngineError>; 2] {
    let side = monitor.side.name();
    let sender = thread::Builder::new()
        .name(format!("{side}-sender"))
        .spawn_scoped(scope, move || {
            run_actor(monitor, Actor::Sender, sender_sock, |sock| match program {
                Code::Native(program) => (program.send)(sock, messages.sent).map_err(Failure::from),
                Code::External(program) => {
                    run_part(program, Role::Sender, sock, messages.sent, None)
                }
            })
        })
        .map_err(EngineError::Thread);
    let receiver = thread::Builder::new()
        .name(format!("{side}-receiver"))
        .spawn_scoped(scope, move || {
            let mut inbox = Inbox::new(Arc::clone(monitor));
            run_actor(
                monitor,
                Actor::Receiver,
                receiver_sock,
                |sock| match program {
                    Code::Native(program) => {
                        (program.recv)(sock, &mut inbox).map_err(Failure::from)
                    }
                    Code::External(program) => {
                        run_part(program, Role::Receiver, sock, &[], Some(&mut inbox))
                    }
                },
            )
        })
        .map_err(EngineError::Thread);
    [sender, receiver]
}

fn join_actor(
    handle: Result<thread::ScopedJoinHandle<'_, ActorEnd>, EngineError>,
    name: &str,
) -> Result<ActorEnd, EngineError> {
    Ok(handle?
        .join()
        .unwrap_or(ActorEnd::Panicked(format!("{name} thread"))))
}

/// The programs' two sockets, each with the runner's handle on it in a slot (see
/// `WakerSlot`). The sender writes the `Up` wire and reads `sender_reads`; the
/// receiver writes `BackUp` (replies) and reads `receiver_reads`.
fn teaching_socks(
    monitor: &Arc<Monitor>,
    [sender_end, receiver_end]: [TcpStream; 2],
    [sender_reads, receiver_reads]: [WireId; 2],
    settle_writes: bool,
) -> Result<([Sock; 2], [WakerSlot; 2]), EngineError> {
    let slots: [WakerSlot; 2] = [
        Arc::new(Mutex::new(Some(clone(&sender_end)?))),
        Arc::new(Mutex::new(Some(clone(&receiver_end)?))),
    ];
    let socks = [
        Sock::new(
            sender_end,
            Arc::clone(monitor),
            Actor::Sender,
            sender_reads,
            WireId::Up,
        )
        .with_waker(Arc::clone(&slots[0]))
        .settling_writes(settle_writes),
        Sock::new(
            receiver_end,
            Arc::clone(monitor),
            Actor::Receiver,
            receiver_reads,
            WireId::BackUp,
        )
        .with_waker(Arc::clone(&slots[1])),
    ];
    Ok((socks, slots))
}

/// A thread of the relay, or why it could not start.
type RelayThread<'scope> = io::Result<thread::ScopedJoinHandle<'scope, ()>>;

/// Runs the programs on `socks`, beside the relay threads `spawn_relays` starts,
/// supervises the side until it ends, and waits for every thread.
fn run_threads<'env>(
    monitor: &'env Arc<Monitor>,
    program: &'env Code,
    messages: Messages<'env>,
    (socks, slots): ([Sock; 2], [WakerSlot; 2]),
    wakers: &[TcpStream],
    spawn_relays: impl for<'scope> FnOnce(
        &'scope thread::Scope<'scope, 'env>,
    ) -> Vec<RelayThread<'scope>>,
) -> Result<(ActorEnd, ActorEnd), EngineError> {
    thread::scope(|scope| {
        let [sender, receiver] = spawn_actors(scope, monitor, program, messages, socks);
        let relays = spawn_relays(scope);
        if sender.is_err() || receiver.is_err() || relays.iter().any(Result::is_err) {
            monitor.stop(Stop::Abandoned);
        }
        supervise(monitor, wakers, &slots);
        let sender = join_actor(sender, "sender")?;
        let receiver = join_actor(receiver, "receiver")?;
        for relay in relays {
            let _ = relay.map_err(EngineError::Thread)?.join();
        }
        Ok((sender, receiver))
    })
}

/// Direct: the sender's socket is connected straight to the receiver's, with no
/// relay between them. The sender writes the `Up` wire and the receiver reads it;
/// replies go the other way on `BackUp`. Each side counts its own calls, so the
/// monitor still knows exactly what is in flight, and stuck code is still found.
fn run_direct(
    monitor: &Arc<Monitor>,
    program: &Code,
    messages: Messages<'_>,
    tuning: SocketTuning,
) -> Result<(ActorEnd, ActorEnd), EngineError> {
    let (sender_end, receiver_end) = loopback_pair(tuning)?;
    // No relay: both of its links are finished from the start.
    monitor.update(|state| {
        for link in [LinkId::Forward, LinkId::Backward] {
            state.set_link(link, LinkState::Finished);
        }
    });
    let socks = teaching_socks(
        monitor,
        [sender_end, receiver_end],
        [WireId::BackUp, WireId::Up],
        false,
    )?;
    run_threads(monitor, program, messages, socks, &[], |_| Vec::new())
}

/// Lockstep and free-run: sender → relay → receiver over two connections, the relay
/// cutting the stream at `cuts`.
fn run_relayed(
    monitor: &Arc<Monitor>,
    program: &Code,
    messages: Messages<'_>,
    Route {
        mode,
        cuts,
        seed,
        tuning,
    }: Route<'_>,
) -> Result<(ActorEnd, ActorEnd), EngineError> {
    let (sender_end, relay_up) = loopback_pair(tuning)?;
    let (relay_down, receiver_end) = loopback_pair(SocketTuning::default())?;
    // Handles that wake blocked calls when the side stops. A teaching end's handle
    // sits in a slot its `Sock` can empty, so that `abort()` really closes it.
    let wakers = [clone(&relay_up)?, clone(&relay_down)?];
    let relay_up_back = clone(&relay_up)?;
    let relay_down_back = clone(&relay_down)?;
    let socks = teaching_socks(
        monitor,
        [sender_end, receiver_end],
        [WireId::BackDown, WireId::Down],
        tuning.is_set(),
    )?;
    let free_run = (mode == Mode::FreeRun).then_some((FREE_RUN_LONGEST_PAUSE, seed));
    let side = monitor.side.name();
    let forward = LinkPlan {
        link: LinkId::Forward,
        cuts,
        record: true,
        hold_while_writing: tuning.is_set(),
        free_run,
    };
    let backward = LinkPlan {
        link: LinkId::Backward,
        cuts: CutSource::Fixed { at: &[], end: None },
        record: false,
        hold_while_writing: false,
        free_run,
    };
    run_threads(monitor, program, messages, socks, &wakers, |scope| {
        vec![
            thread::Builder::new()
                .name(format!("{side}-relay-fwd"))
                .spawn_scoped(scope, || run_link(monitor, forward, relay_up, relay_down)),
            thread::Builder::new()
                .name(format!("{side}-relay-back"))
                .spawn_scoped(scope, || {
                    run_link(monitor, backward, relay_down_back, relay_up_back)
                }),
        ]
    })
}

/// Free-run: the relay pauses at most this long at a cut before writing the next
/// piece (see `relay::deliver`).
const FREE_RUN_LONGEST_PAUSE: Duration = Duration::from_millis(1);

/// Runs teaching code on its socket; the socket is closed before the thread says it is done.
fn run_actor(
    monitor: &Monitor,
    actor: Actor,
    sock: Sock,
    code: impl FnOnce(&mut Sock) -> Result<(), Failure>,
) -> ActorEnd {
    super::sock::mark_teaching_thread();
    let result = catch_unwind(AssertUnwindSafe(move || {
        let mut sock = sock;
        code(&mut sock)
    }));
    monitor.update(|state| state.actor_done(actor));
    match result {
        Ok(Ok(())) => ActorEnd::Returned,
        Ok(Err(error)) => ActorEnd::Failed(error),
        Err(payload) if payload.is::<Cancelled>() => ActorEnd::Stopped,
        Err(payload) => ActorEnd::Panicked(
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string()),
        ),
    }
}

/// How often the supervisor looks at a side that is quiet.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// Watches the side until its programs finish or it must be stopped, then wakes
/// every blocked call by shutting the sockets down.
fn supervise(monitor: &Monitor, wakers: &[TcpStream], slots: &[WakerSlot]) {
    let quiet_limit = Duration::from_millis(monitor.limits.quiet_ms);
    // Quiet time counts only while the process runs: between two looks at most
    // `2 * LOOK_EVERY` is counted, so a pause (SIGSTOP, a debugger, a suspended
    // laptop, a starved machine) does not make a waiting side look stuck.
    let mut quiet = Duration::ZERO;
    let mut last_look = Instant::now();
    let mut state = monitor.lock();
    let mut seen = state.progress();
    let mut told_settled = false;
    loop {
        if state.stopped().is_some() {
            break;
        }
        if state.all_done() {
            state.stop(Stop::Finished);
            break;
        }
        if let Some((role, line)) = state.stuck(monitor.lockstep) {
            state.stop(Stop::Stuck { role, line });
            break;
        }
        if state.settled(monitor.lockstep) {
            // The step is over: tell the observer what it did, and, once, that the
            // side has settled: the last call may have been told before it did
            // (the relay settles after it), and the observer reads the status it
            // shows at each event.
            monitor.announce_held(&mut state);
            if !told_settled {
                monitor.announce_waiting();
                told_settled = true;
            }
        } else {
            told_settled = false;
        }
        let now = Instant::now();
        quiet += now.duration_since(last_look).min(2 * LOOK_EVERY);
        last_look = now;
        // Waiting for the user to step is not being stuck.
        if state.progress() != seen || state.waits_for_user() {
            seen = state.progress();
            quiet = Duration::ZERO;
        }
        if quiet >= quiet_limit {
            let (role, line) = state.waiting_actor().unwrap_or((Role::Receiver, None));
            state.stop(Stop::TimeLimit { role, line });
            break;
        }
        state = monitor.wait_change(state, LOOK_EVERY);
    }
    monitor.announce_held(&mut state);
    drop(state);
    monitor.update(|_| {});
    for stream in wakers {
        // Wakes any read() blocked on these sockets; errors mean it is closed already.
        let _ = stream.shutdown(Shutdown::Both);
    }
    for slot in slots {
        // An empty slot: the program aborted that socket, nothing blocks on it.
        if let Some(stream) = slot.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
    monitor.announce_finished();
}

/// What the side's receiver achieved, judged against the messages sent.
fn classify(
    expected: &[Vec<u8>],
    delivered: &[Vec<u8>],
    stop: Option<Stop>,
    sender: &ActorEnd,
    receiver: &ActorEnd,
    events: &[super::trace::Event],
    quiet_ms: u64,
) -> Outcome {
    if let Some(index) = (0..delivered.len()).find(|&i| expected.get(i) != Some(&delivered[i])) {
        return Outcome::Wrong {
            index,
            expected: expected.get(index).cloned(),
            got: delivered[index].clone(),
        };
    }
    let waited_ms = |role: Role| {
        let last = events
            .iter()
            .filter(|e| e.role == role)
            .map(|e| e.at_us)
            .max();
        let end = events.iter().map(|e| e.at_us).max();
        match (last, end) {
            (Some(last), Some(end)) => (end - last) / 1000,
            _ => 0,
        }
    };
    match stop {
        Some(Stop::Spinning { line }) => {
            let calls = events
                .iter()
                .filter(|e| e.call == Call::Recv && e.result == CallResult::EndOfStream)
                .count() as u32;
            let total_calls = events
                .iter()
                .filter(|e| e.role != Role::Relay && e.call != Call::Deliver)
                .count() as u32;
            return Outcome::Spinning {
                calls,
                total_calls,
                line,
            };
        }
        Some(Stop::Stuck { role, line }) => {
            return Outcome::Stuck {
                role,
                line,
                waited_ms: waited_ms(role),
            };
        }
        Some(Stop::TimeLimit { role, line }) => {
            return Outcome::Stuck {
                role,
                line,
                waited_ms: quiet_ms,
            };
        }
        Some(Stop::Abandoned) | Some(Stop::Finished) | None => {}
    }
    for (role, end) in [(Role::Receiver, receiver), (Role::Sender, sender)] {
        match end {
            ActorEnd::Failed(failure) => {
                return Outcome::Error {
                    role,
                    error: failure.error.clone(),
                    message: failure.message.clone(),
                };
            }
            ActorEnd::Panicked(message) => {
                return Outcome::Error {
                    role,
                    error: "panic".into(),
                    message: message.clone(),
                };
            }
            ActorEnd::Returned | ActorEnd::Stopped => {}
        }
    }
    if delivered.len() < expected.len() {
        return Outcome::Lost {
            delivered: delivered.len(),
            expected: expected.len(),
        };
    }
    let reports = delivered.iter().filter(|m| is_report(m)).count();
    Outcome::Delivered {
        messages: delivered.len() - reports,
        reports,
    }
}
