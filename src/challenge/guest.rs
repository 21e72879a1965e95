//! The learner's program as a guest: started on a fresh port in its own process
//! group, under a memory limit, its output kept (the last 64 KiB), watched through
//! `/proc` (where it waits, its sockets' queues, its CPU time), and killed with
//! every process it started however the run ends: `finish`, drop, a panic, or a
//! signal to sockstep (`install_reaper`).
//!
//! [`Connected`] is the same watch over a server the learner started
//! (`--connect`), which sockstep neither starts nor stops.

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, Signal, WaitOptions, kill_process_group, test_kill_process_group};

use super::procfs::{self, Call, ThreadState};
use super::pytrace::PyTrace;
use super::{Delivery, ProgramEnd, Target, TracedCall, Waiting};

/// How much of the program's output is kept: its end.
pub const OUTPUT_KEPT: usize = 64 * 1024;
/// The CLI's default address-space limit.
pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;
/// The start deadline, times `slow`.
const START_LIMIT: Duration = Duration::from_secs(10);
/// Between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// The delivery where `/proc` cannot show the program waiting.
pub const PAUSED: Delivery = Delivery::Paused { pause_ms: 20 };
/// How often lockstep looks at the program while it is busy.
const LOOK_EVERY: Duration = Duration::from_micros(500);
/// Connect-and-retry's first and longest pause. A refused connect on loopback
/// costs microseconds, and a 50 ms cap made Python servers wait for its steps
/// (median start 116 ms against 110 ms with 10 ms, and up to 40 ms more).
const RETRY_FIRST: Duration = Duration::from_millis(2);
const RETRY_MAX: Duration = Duration::from_millis(10);

/// How to start the learner's program.
#[derive(Clone, Debug)]
pub struct GuestOptions {
    /// The command and its arguments; `{port}` and `{level}` are filled in, also
    /// inside words (`--port={port}`).
    pub argv: Vec<String>,
    pub level: String,
    /// The start deadline is multiplied by this (the CLI keeps it at 1 or more;
    /// a test may shorten the deadline).
    pub slow: f64,
    /// `RLIMIT_AS` in bytes; `None`: no limit.
    pub memory_limit: Option<u64>,
    /// Trace a Python program's socket calls.
    pub trace: bool,
}

/// Why the program could not be started and reached.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    #[error("there is no command to run: give your server's command after `--`")]
    NoCommand,
    #[error("could not run `{command}`: {reason}")]
    Spawn { command: String, reason: String },
    #[error("`{command}` {how} before it listened on 127.0.0.1:{port}{tail}", how = end.describe(), tail = tail_note(end))]
    Exited {
        command: String,
        port: u16,
        end: ProgramEnd,
    },
    #[error(
        "`{command}` did not listen on 127.0.0.1:{port} within {seconds} s (does it take {{port}} from its arguments or SOCKSTEP_PORT from its environment?){tail}",
        tail = tail_note(end)
    )]
    NeverListened {
        command: String,
        port: u16,
        seconds: f64,
        end: ProgramEnd,
    },
    #[error(
        "`{command}` {how}, leaving another process of its own listening on port {port}: run your server in the foreground (`exec` it from a script)",
        how = end.describe()
    )]
    LeftBehind {
        command: String,
        port: u16,
        end: ProgramEnd,
    },
    #[error(
        "something else is listening on port {port}: sockstep connected to it, but `{command}` had already {how}",
        how = end.describe()
    )]
    SomethingElse {
        command: String,
        port: u16,
        end: ProgramEnd,
    },
}

impl GuestError {
    /// How the program ended, where it was started.
    pub fn program_end(&self) -> Option<&ProgramEnd> {
        match self {
            GuestError::NoCommand | GuestError::Spawn { .. } => None,
            GuestError::Exited { end, .. }
            | GuestError::NeverListened { end, .. }
            | GuestError::LeftBehind { end, .. }
            | GuestError::SomethingElse { end, .. } => Some(end),
        }
    }
}

/// The last lines of the program's output, to follow an error's sentence.
fn tail_note(end: &ProgramEnd) -> String {
    const LINES: usize = 20;
    let text = end.output_tail.trim_end();
    if text.is_empty() {
        return "; it printed nothing".to_string();
    }
    let lines: Vec<&str> = text.lines().collect();
    let shown = &lines[lines.len().saturating_sub(LINES)..];
    let mut note = String::from("; its output ended with:");
    for line in shown {
        note.push_str("\n[your program] ");
        note.push_str(line);
    }
    note
}

impl ProgramEnd {
    /// How it ended, in one sentence without a subject ("exited with code 1").
    pub fn describe(&self) -> String {
        if self.killed {
            let reason = self.kill_reason.as_deref().unwrap_or("the run ended");
            return format!("was stopped by sockstep: {reason}");
        }
        if self.ran_out_of_memory() {
            return match self.memory_limit {
                Some(limit) => format!("ran out of memory under its {} limit", bytes(limit)),
                None => "ran out of memory".to_string(),
            };
        }
        match (self.signal, self.exit_code) {
            (Some(13), _) => {
                "was killed by SIGPIPE: it wrote to a connection the client had closed".into()
            }
            (Some(signal), _) => format!("was killed by {}", signal_name(signal)),
            (None, Some(code)) => format!("exited with code {code}"),
            (None, None) => "ended".into(),
        }
    }

    /// Whether its output says an allocation failed.
    pub fn ran_out_of_memory(&self) -> bool {
        ran_out_of_memory(&self.output_tail)
    }
}

/// What runtimes print when an allocation fails.
fn ran_out_of_memory(output: &str) -> bool {
    const SIGNS: [&str; 8] = [
        "MemoryError",
        "std::bad_alloc",
        "Cannot allocate memory",
        "out of memory",
        "memory allocation of",
        "Out of memory",
        // A JVM under RLIMIT_AS (it reserves gigabytes of address space at start).
        "Could not reserve enough space",
        "Could not allocate compressed class space",
    ];
    SIGNS.iter().any(|sign| output.contains(sign))
}

fn bytes(n: u64) -> String {
    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;
    if n >= GIB && n.is_multiple_of(GIB) {
        format!("{} GiB", n / GIB)
    } else if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n}-byte")
    }
}

/// The usual name of a signal ("SIGSEGV"), or its number.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

// --- The live groups, for the reaper ---------------------------------------------

/// A guest still running: what the reaper must end and remove if sockstep is
/// interrupted (its exit runs no destructor).
struct LiveGuest {
    group: Pid,
    /// The Python tracer's temporary folder, where it traces.
    trace_dir: Option<PathBuf>,
}

/// Every guest still running, so that a signal to sockstep can end them all.
static LIVE: Mutex<Vec<LiveGuest>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<LiveGuest>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Kills every running guest's process group when sockstep is interrupted
/// (SIGINT, SIGTERM, SIGHUP): SIGTERM, then SIGKILL after 2 s; then exits with 130.
/// Installing it twice does nothing more.
pub fn install_reaper() -> io::Result<()> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("guest-reaper".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                INTERRUPTED.store(true, Ordering::SeqCst);
                let guests = std::mem::take(&mut *live());
                let groups: Vec<Pid> = guests.iter().map(|guest| guest.group).collect();
                stop_groups(&groups, None);
                for dir in guests.iter().filter_map(|guest| guest.trace_dir.as_ref()) {
                    let _ = std::fs::remove_dir_all(dir);
                }
                eprintln!(
                    "[sockstep] interrupted: your program and every process it started were stopped"
                );
                std::process::exit(130);
            }
        })?;
    let _ = INSTALLED.set(());
    Ok(())
}

/// Set once sockstep is interrupted: what happens to a guest after that is the
/// reaper's doing, not the program's.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// When sockstep has been interrupted, parks the calling thread until the reaper
/// exits the process, so that no report blames the program for being killed.
pub fn park_if_interrupted() {
    while INTERRUPTED.load(Ordering::SeqCst) {
        std::thread::park_timeout(Duration::from_secs(1));
    }
}

/// SIGTERM to each group, up to 2 s for them to be gone (reaping what is ours),
/// then SIGKILL. Returns whether SIGKILL was needed.
///
/// `reap_main` reaps a guest's main process and says whether it has been reaped:
/// until then its group is not reaped wholesale, which would lose its status.
fn stop_groups(groups: &[Pid], mut reap_main: Option<&mut dyn FnMut() -> bool>) -> bool {
    for &group in groups {
        let _ = kill_process_group(group, Signal::TERM);
    }
    let gone = |reap_main: &mut Option<&mut dyn FnMut() -> bool>| {
        let main_reaped = reap_main.as_mut().is_none_or(|reap| reap());
        groups.iter().all(|&group| {
            if main_reaped {
                reap_group(group);
            }
            test_kill_process_group(group).is_err()
        })
    };
    if wait_until(STOP_GRACE, || gone(&mut reap_main)) {
        return false;
    }
    for &group in groups {
        let _ = kill_process_group(group, Signal::KILL);
    }
    // SIGKILL cannot be caught: this wait is short, and bounded all the same.
    wait_until(STOP_GRACE, || gone(&mut reap_main));
    true
}

/// Reaps every exited child of ours in `group`: its processes whose parent died
/// come to us, sockstep being their subreaper (see `become_subreaper`).
fn reap_group(group: Pid) {
    while let Ok(Some(_)) = rustix::process::waitpgid(group, WaitOptions::NOHANG) {}
}

/// Polls `done` with a short, growing pause until it holds or `limit` passes.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        if done() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Makes sockstep the reaper of its descendants' orphans: a process the learner's
/// program forked, whose parent was killed, is then our child, reaped by its
/// process group, instead of a zombie that an init which reaps nothing (as in some
/// containers) would keep in the group forever.
fn become_subreaper() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    });
}

// --- The program's output ---------------------------------------------------------

#[derive(Default)]
struct OutputState {
    /// The end of the output: at most twice `OUTPUT_KEPT` (trimmed in halves).
    kept: Vec<u8>,
    total: u64,
    /// The pipe reached its end (every writer closed), or the reader was stopped.
    ended: bool,
}

#[derive(Default)]
struct Output {
    state: Mutex<OutputState>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Output {
    fn lock(&self) -> std::sync::MutexGuard<'_, OutputState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kept end as text, and whether anything before it was dropped.
    fn tail(&self) -> (String, bool) {
        let state = self.lock();
        let start = state.kept.len().saturating_sub(OUTPUT_KEPT);
        let mut tail = &state.kept[start..];
        let cut = state.total > tail.len() as u64;
        if cut {
            // Start at a character, not inside one.
            while let Some((&b, rest)) = tail.split_first()
                && b & 0xC0 == 0x80
            {
                tail = rest;
            }
        }
        (String::from_utf8_lossy(tail).into_owned(), cut)
    }

    /// Waits up to `limit` for the pipe's end (the output is complete then).
    fn wait_ended(&self, limit: Duration) {
        let state = self.lock();
        let _ = self
            .changed
            .wait_timeout_while(state, limit, |s| !s.ended)
            .unwrap_or_else(|e| e.into_inner());
    }
}

/// Reads the program's output until every writer has closed the pipe, or until
/// told to stop (a process that left the group may hold it open).
fn read_output(pipe: io::PipeReader, output: Arc<Output>) {
    let mut buf = vec![0u8; 16 * 1024];
    let look = Timespec::try_from(Duration::from_millis(50)).unwrap_or_default();
    let now = Timespec::default();
    loop {
        let stopping = output.stop.load(Ordering::SeqCst);
        let mut fds = [PollFd::new(&pipe, PollFlags::IN)];
        match poll(&mut fds, Some(if stopping { &now } else { &look })) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => break,
            Ok(0) if stopping => break,
            Ok(0) => continue,
            Ok(_) => {}
        }
        match (&pipe).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let mut state = output.lock();
                state.kept.extend_from_slice(&buf[..n]);
                state.total += n as u64;
                if state.kept.len() > 2 * OUTPUT_KEPT {
                    let drop = state.kept.len() - OUTPUT_KEPT;
                    state.kept.drain(..drop);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    output.lock().ended = true;
    output.changed.notify_all();
}

// --- Watching a server through /proc ----------------------------------------------

/// Whose threads and sockets to look at.
#[derive(Clone, Copy, Debug)]
enum Scope {
    Group(Pid),
    /// One process (a `--connect` server in sockstep's own process group).
    Process(Pid),
}

impl Scope {
    fn processes(self) -> Vec<procfs::Pid> {
        match self {
            Scope::Group(group) => procfs::group_processes(group.as_raw_nonzero().get()),
            Scope::Process(pid) => vec![pid.as_raw_nonzero().get()],
        }
    }
}

/// What one look at a connection's server end found.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// It has read everything sent and waits for more.
    Settled,
    /// Bytes in flight or unread, or the program busy.
    Busy,
    /// Nothing will read from it again: it is closed.
    Closed,
    /// Not visible to us (not the program's, no netlink, no `/proc`).
    Unseen,
}

/// The server's end of one connection, as last found.
struct ServerEnd {
    inode: u64,
    holders: Vec<(procfs::Pid, i32)>,
    found: Instant,
}

/// How long a list of a socket's holders is trusted while the program seems busy
/// (a forking server hands the socket to a child, and closes its own copy).
const HOLDERS_KEPT: Duration = Duration::from_millis(50);

/// Lockstep's eyes on a server: which processes, and the last connection seen.
struct Watch {
    scope: Scope,
    last: Option<ServerEnd>,
}

impl Watch {
    fn new(scope: Scope) -> Watch {
        Watch { scope, last: None }
    }

    /// Who holds the socket `inode` (cached while it stays the same).
    fn holders(&mut self, inode: u64) -> &[(procfs::Pid, i32)] {
        let stale = self
            .last
            .as_ref()
            .is_none_or(|last| last.inode != inode || last.holders.is_empty());
        if stale {
            let holders = procfs::holders(&self.scope.processes(), inode);
            self.last = Some(ServerEnd {
                inode,
                holders,
                found: Instant::now(),
            });
        }
        self.last.as_ref().map_or(&[], |last| &last.holders)
    }

    /// The server's end of `connection`, if the kernel can tell.
    fn server_end(connection: &TcpStream) -> Result<Option<procfs::TcpSocket>, ()> {
        let (Ok(local), Ok(peer)) = (connection.local_addr(), connection.peer_addr()) else {
            return Ok(None);
        };
        procfs::diag(peer, local).map_err(|_| ())
    }

    fn look(&mut self, connection: &TcpStream) -> Look {
        let (Ok(local), Ok(peer)) = (connection.local_addr(), connection.peer_addr()) else {
            return Look::Closed;
        };
        let (client, server) = match (procfs::diag(local, peer), procfs::diag(peer, local)) {
            (Ok(Some(client)), Ok(Some(server))) => (client, server),
            (Ok(_), Ok(_)) => return Look::Closed,
            _ => return Look::Unseen,
        };
        if server.inode == 0 {
            // Not accepted yet, or closed by the program.
            return match server.state {
                procfs::TCP_ESTABLISHED | procfs::TCP_SYN_RECV => Look::Busy,
                _ => Look::Closed,
            };
        }
        if !procfs::arrived(&client, &server) || server.rx_queue > 0 {
            return Look::Busy;
        }
        let holders = self.holders(server.inode).to_vec();
        if holders.is_empty() {
            return Look::Unseen;
        }
        let mut polling = false;
        let mut running = false;
        let mut pids: Vec<procfs::Pid> = holders.iter().map(|&(pid, _)| pid).collect();
        pids.dedup();
        for pid in pids {
            for tid in procfs::threads(pid) {
                match procfs::thread_state(pid, tid) {
                    Some(ThreadState::Running) => running = true,
                    Some(ThreadState::InCall { nr, args }) => match procfs::classify(nr, &args) {
                        Call::Read { fd, .. } if holders.contains(&(pid, fd)) => {
                            return Look::Settled;
                        }
                        Call::Poll(_) => polling = true,
                        _ => {}
                    },
                    _ => {}
                }
            }
        }
        if polling && !running {
            return Look::Settled;
        }
        if self
            .last
            .as_ref()
            .is_some_and(|last| last.found.elapsed() > HOLDERS_KEPT)
        {
            self.last = None;
        }
        Look::Busy
    }

    /// Lockstep: returns once the program has read everything sent on
    /// `connection` and waits for more, or the connection is closed, or `ended()`,
    /// or `deadline`. Where the program cannot be seen, pauses instead.
    fn settle(
        &mut self,
        connection: &TcpStream,
        deadline: Instant,
        ended: &mut dyn FnMut() -> bool,
    ) {
        loop {
            match self.look(connection) {
                Look::Settled | Look::Closed => return,
                Look::Unseen => {
                    pause(deadline);
                    return;
                }
                Look::Busy => {}
            }
            let now = Instant::now();
            if now >= deadline || ended() {
                return;
            }
            std::thread::sleep(LOOK_EVERY.min(deadline - now));
        }
    }

    /// Whether the program waits for a new connection: no thread on a CPU, and one
    /// in `accept()` or a poll.
    fn awaits_connection(&self) -> bool {
        let mut waits = false;
        for pid in self.scope.processes() {
            for tid in procfs::threads(pid) {
                match procfs::thread_state(pid, tid) {
                    Some(ThreadState::Running) => return false,
                    Some(ThreadState::InCall { nr, args }) => {
                        if matches!(
                            procfs::classify(nr, &args),
                            Call::Other("accept") | Call::Poll(_)
                        ) {
                            waits = true;
                        }
                    }
                    _ => {}
                }
            }
        }
        waits
    }

    /// Where the program waits, on `connection`'s behalf where it can tell.
    fn waiting(&mut self, connection: &TcpStream) -> Waiting {
        // Found afresh: this is no hot path, and who holds it may have changed.
        let holders = match Watch::server_end(connection) {
            Ok(Some(end)) if end.inode != 0 => {
                self.last = None;
                self.holders(end.inode).to_vec()
            }
            _ => Vec::new(),
        };
        let mut pids: Vec<procfs::Pid> = holders.iter().map(|&(pid, _)| pid).collect();
        pids.extend(self.scope.processes());
        pids.sort_unstable();
        pids.dedup();
        // (rank, what): the lowest rank wins; a lock (futex) says least.
        let mut best: Option<(u8, String)> = None;
        let mut running = false;
        for &pid in &pids {
            for tid in procfs::threads(pid) {
                let (rank, what) = match procfs::thread_state(pid, tid) {
                    Some(ThreadState::Running) => {
                        running = true;
                        continue;
                    }
                    Some(ThreadState::InCall { nr, args }) => match procfs::classify(nr, &args) {
                        Call::Read { name, fd, asked } if holders.contains(&(pid, fd)) => {
                            return Waiting::InRead {
                                call: name,
                                asked: asked.unwrap_or(0),
                            };
                        }
                        Call::Read { name, fd, .. } => {
                            let other = if procfs::socket_inode(pid, fd).is_some() {
                                "another socket"
                            } else {
                                "a file"
                            };
                            (1, format!("{name}() on {other}"))
                        }
                        Call::Poll(name) => (1, format!("{name}()")),
                        Call::Other("sleep") => (1, "sleep".to_string()),
                        Call::Other("futex") => (3, "a lock (futex)".to_string()),
                        Call::Other(name) => (1, format!("{name}()")),
                        Call::Unknown(nr) => (2, format!("system call {nr}")),
                    },
                    Some(ThreadState::Blocked) | None => continue,
                };
                if best.as_ref().is_none_or(|(r, _)| rank < *r) {
                    best = Some((rank, what));
                }
            }
        }
        match best {
            Some((_, what)) => Waiting::InCall(what),
            None if running => Waiting::Running,
            None => Waiting::Unknown,
        }
    }

    fn cpu_time(&self) -> Option<Duration> {
        procfs::cpu_time_of(&self.scope.processes())
    }

    /// Whether lockstep can work here: the kernel answers about `connection`, and
    /// the program's threads can be read.
    fn can_see(&self, connection: &TcpStream) -> bool {
        matches!(Watch::server_end(connection), Ok(Some(_)))
            && self.scope.processes().iter().any(|&pid| {
                procfs::threads(pid)
                    .first()
                    .is_some_and(|&tid| procfs::thread_state(pid, tid).is_some())
            })
    }
}

/// The paused delivery's pause, cut short by `deadline`.
fn pause(deadline: Instant) {
    let Delivery::Paused { pause_ms } = PAUSED else {
        return;
    };
    let left = deadline.saturating_duration_since(Instant::now());
    std::thread::sleep(Duration::from_millis(pause_ms).min(left));
}

// --- The guest --------------------------------------------------------------------

/// How the program's main process ended, once reaped.
#[derive(Clone, Copy, Debug)]
struct Status {
    exit_code: Option<i32>,
    signal: Option<i32>,
}

/// The learner's program, started on a fresh port. Its whole process group is
/// killed when it is finished or dropped.
pub struct Guest {
    pid: Pid,
    /// Readable once the program's main process has exited.
    exit_fd: Option<OwnedFd>,
    port: u16,
    command: String,
    memory_limit: Option<u64>,
    status: Option<Status>,
    output: Arc<Output>,
    reader: Option<JoinHandle<()>>,
    /// The start-up check's connection, handed out by the first `connect`.
    first: Option<TcpStream>,
    watch: Watch,
    delivery: Delivery,
    /// Set once the group is gone.
    end: Option<ProgramEnd>,
    /// `exited` has given the output its time to arrive.
    output_settled: bool,
    /// The Python call trace, where asked for (its folder goes with the guest).
    trace: Option<PyTrace>,
}

impl std::fmt::Debug for Guest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guest")
            .field("pid", &self.pid)
            .field("port", &self.port)
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

/// `slow` as a factor: a positive number (the CLI keeps it at 1 or more; tests
/// may shorten the limits).
fn slow_factor(slow: f64) -> f64 {
    if slow.is_finite() && slow > 0.0 {
        slow
    } else {
        1.0
    }
}

/// A port free on 127.0.0.1 now (bound, read, released).
fn free_port() -> io::Result<u16> {
    // Below the kernel's ephemeral range, which every connect() and bind(:0) draws
    // from: a port found free in it may be a client socket's before the program
    // binds it (seen: "Address already in use" with tests running in parallel).
    // Random, and never one already handed out here, for guests started at once.
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    const LOWEST: u16 = 10_000;
    let below = ephemeral_start().unwrap_or(32_768);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    if below > LOWEST + 1_000 {
        for _ in 0..100 {
            let port = rand::random_range(LOWEST..below);
            if handed_out.contains(&port) {
                continue;
            }
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                if handed_out.len() >= 4_096 {
                    handed_out.remove(0);
                }
                handed_out.push(port);
                return Ok(port);
            }
        }
    }
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// The first port of the kernel's ephemeral range (Linux).
fn ephemeral_start() -> Option<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `word` with `{port}` and `{level}` filled in.
fn fill(word: &str, port: u16, level: &str) -> String {
    word.replace("{port}", &port.to_string())
        .replace("{level}", level)
}

impl Guest {
    /// Starts the program and waits until it accepts a connection (kept for the
    /// first `connect`). Its direct process gets SIGKILL if the thread that
    /// started it ends first (Linux's parent-death signal follows the thread):
    /// start it on the thread that finishes it.
    pub fn start(options: &GuestOptions) -> Result<Guest, GuestError> {
        let Some(program) = options.argv.first() else {
            return Err(GuestError::NoCommand);
        };
        let setup = |reason: io::Error| GuestError::Spawn {
            command: options.argv.join(" "),
            reason: format!("sockstep could not prepare its start ({reason})"),
        };
        let port = free_port().map_err(setup)?;
        let argv: Vec<String> = options
            .argv
            .iter()
            .map(|word| fill(word, port, &options.level))
            .collect();
        let command_line = argv.join(" ");
        let (pipe, output_end) = io::pipe().map_err(setup)?;
        let mut command = Command::new(fill(program, port, &options.level));
        command
            .args(&argv[1..])
            .env("SOCKSTEP_PORT", port.to_string())
            .env("SOCKSTEP_HOST", "127.0.0.1")
            .env("SOCKSTEP_LEVEL", &options.level)
            .stdin(Stdio::null())
            .stdout(output_end.try_clone().map_err(setup)?)
            .stderr(output_end)
            .process_group(0);
        if std::env::var_os("PYTHONUNBUFFERED").is_none() {
            // Python buffers a pipe's output and loses it when killed: the report
            // would miss the lines before a hang.
            command.env("PYTHONUNBUFFERED", "1");
        }
        // A Python program's socket calls are traced through a sitecustomize on
        // its PYTHONPATH (kept after ours); other languages ignore the variables.
        let trace = if options.trace {
            let trace = PyTrace::new().map_err(setup)?;
            command.envs(trace.env(std::env::var_os("PYTHONPATH").as_deref()));
            Some(trace)
        } else {
            None
        };
        let limit = options.memory_limit;
        // SAFETY: between fork and exec this makes only system calls (setrlimit,
        // prctl), which allocate nothing and take no lock.
        unsafe {
            command.pre_exec(move || {
                if let Some(limit) = limit {
                    let limit = rustix::process::Rlimit {
                        current: Some(limit),
                        maximum: Some(limit),
                    };
                    rustix::process::setrlimit(rustix::process::Resource::As, limit)?;
                }
                rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
                Ok(())
            });
        }
        become_subreaper();
        let child = command.spawn().map_err(|e| GuestError::Spawn {
            command: command_line.clone(),
            reason: match e.kind() {
                io::ErrorKind::NotFound => {
                    format!("there is no program {program:?} (is it on PATH?)")
                }
                io::ErrorKind::PermissionDenied => format!("{program:?} is not executable"),
                _ => e.to_string(),
            },
        })?;
        // The Command held the pipe's write ends: only the program's remain.
        drop(command);
        let pid = Pid::from_child(&child);
        drop(child);
        live().push(LiveGuest {
            group: pid,
            trace_dir: trace.as_ref().map(|trace| trace.dir().to_path_buf()),
        });
        let output = Arc::new(Output::default());
        let reader = {
            let output = Arc::clone(&output);
            std::thread::Builder::new()
                .name("guest-output".into())
                .spawn(move || read_output(pipe, output))
                .ok()
        };
        let mut guest = Guest {
            pid,
            exit_fd: rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok(),
            port,
            command: command_line,
            memory_limit: options.memory_limit,
            status: None,
            output,
            reader,
            first: None,
            watch: Watch::new(Scope::Group(pid)),
            delivery: PAUSED,
            end: None,
            output_settled: false,
            trace,
        };
        if guest.reader.is_none() {
            let command = guest.command.clone();
            guest.finish("sockstep could not read its output");
            return Err(GuestError::Spawn {
                command,
                reason: "sockstep could not start a thread to read its output".into(),
            });
        }
        let first = guest.wait_listening(START_LIMIT.mul_f64(slow_factor(options.slow)))?;
        if guest.watch.can_see(&first) {
            guest.delivery = Delivery::Lockstep;
        }
        guest.first = Some(first);
        Ok(guest)
    }

    /// Connect-and-retry until the program accepts, it exits, or `limit` passes.
    /// A main process that exits leaving others in its group (a script that put
    /// the server in the background) is waited for until one of them listens,
    /// to say so.
    fn wait_listening(&mut self, limit: Duration) -> Result<TcpStream, GuestError> {
        let address = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + limit;
        let mut pause = RETRY_FIRST;
        loop {
            let exited = self.reap().is_some();
            if exited && !self.group_remains() {
                let end = self.finish_inner("it exited before listening");
                return Err(GuestError::Exited {
                    command: self.command.clone(),
                    port: self.port,
                    end,
                });
            }
            if let Ok(stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
                if self.reap().is_none() {
                    return Ok(stream);
                }
                return Err(self.listening_but_exited(stream));
            }
            let now = Instant::now();
            if now >= deadline {
                let end = self.finish_inner(&format!(
                    "it did not listen within {} s",
                    limit.as_secs_f64()
                ));
                return Err(GuestError::NeverListened {
                    command: self.command.clone(),
                    port: self.port,
                    seconds: limit.as_secs_f64(),
                    end,
                });
            }
            if exited {
                std::thread::sleep(pause.min(deadline - now));
            } else {
                self.wait_exit(pause.min(deadline - now));
            }
            pause = (pause * 2).min(RETRY_MAX);
        }
    }

    /// Some process of the program's group is still there (exited ones reaped).
    fn group_remains(&self) -> bool {
        reap_group(self.pid);
        test_kill_process_group(self.pid).is_ok()
    }

    /// A connection succeeded, but the program's main process had exited: who
    /// answered?
    fn listening_but_exited(&mut self, stream: TcpStream) -> GuestError {
        let group_left = self.group_remains();
        let other_end_open = matches!(
            Watch::server_end(&stream),
            Ok(Some(end)) if matches!(end.state, procfs::TCP_ESTABLISHED | procfs::TCP_SYN_RECV)
        );
        drop(stream);
        let end = self.finish_inner("its main process had exited");
        let (command, port) = (self.command.clone(), self.port);
        if group_left {
            GuestError::LeftBehind { command, port, end }
        } else if other_end_open {
            GuestError::SomethingElse { command, port, end }
        } else {
            GuestError::Exited { command, port, end }
        }
    }

    /// Waits up to `limit`, returning early if the main process exits.
    fn wait_exit(&self, limit: Duration) {
        match &self.exit_fd {
            Some(fd) => {
                let timeout = Timespec::try_from(limit).unwrap_or_default();
                let mut fds = [PollFd::new(fd, PollFlags::IN)];
                let _ = poll(&mut fds, Some(&timeout));
            }
            None => std::thread::sleep(limit),
        }
    }

    /// Reaps the main process if it has exited (never waits).
    fn reap(&mut self) -> Option<Status> {
        if self.status.is_none()
            && let Ok(Some((_, status))) =
                rustix::process::waitpid(Some(self.pid), WaitOptions::NOHANG)
        {
            self.status = Some(Status {
                exit_code: status.exit_status(),
                signal: status.terminating_signal(),
            });
        }
        self.status
    }

    /// The port it was told to listen on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The command line as run (`{port}` and `{level}` filled in).
    pub fn command(&self) -> &str {
        &self.command
    }

    fn program_end(&self, killed: bool, reason: &str) -> ProgramEnd {
        let (output_tail, output_cut) = self.output.tail();
        ProgramEnd {
            exit_code: self.status.and_then(|s| s.exit_code),
            signal: self.status.and_then(|s| s.signal),
            killed,
            kill_reason: killed.then(|| reason.to_string()),
            output_tail,
            output_cut,
            memory_limit: self.memory_limit,
        }
    }

    /// Kills the program's process group (SIGTERM, then SIGKILL after 2 s),
    /// reaps it, and says how it ended: killed with `reason` if it was still
    /// running, else its own exit.
    pub fn finish(mut self, reason: &str) -> ProgramEnd {
        self.finish_inner(reason)
    }

    fn finish_inner(&mut self, reason: &str) -> ProgramEnd {
        if let Some(end) = &self.end {
            return end.clone();
        }
        self.first = None;
        let running = self.reap().is_none();
        let pid = self.pid;
        let mut reap_main = || self.reap().is_some();
        stop_groups(&[pid], Some(&mut reap_main));
        if self.status.is_none() {
            // Killed by SIGKILL by now: this returns.
            if let Ok(Some((_, status))) = rustix::process::waitpid(Some(pid), WaitOptions::empty())
            {
                self.status = Some(Status {
                    exit_code: status.exit_status(),
                    signal: status.terminating_signal(),
                });
            }
        }
        live().retain(|guest| guest.group != pid);
        self.output.stop.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let end = self.program_end(running, reason);
        self.end = Some(end.clone());
        end
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        self.finish_inner("sockstep ended the run");
    }
}

impl Target for Guest {
    fn connect(&mut self) -> io::Result<TcpStream> {
        if let Some(first) = self.first.take() {
            return Ok(first);
        }
        TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
    }

    fn address(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn delivery(&self) -> Delivery {
        self.delivery
    }

    fn settle(&mut self, connection: &TcpStream, deadline: Instant) {
        if self.delivery != Delivery::Lockstep {
            pause(deadline);
            return;
        }
        let pid = self.pid;
        let exited = self.status.is_some();
        // Only looks (`exited` reaps and records how it ended).
        self.watch
            .settle(connection, deadline, &mut || exited || zombie(pid));
    }

    fn await_next(&mut self, deadline: Instant) {
        if self.delivery != Delivery::Lockstep {
            return;
        }
        while self.reap().is_none() && !self.watch.awaits_connection() && Instant::now() < deadline
        {
            std::thread::sleep(LOOK_EVERY);
        }
    }

    fn waiting(&mut self, connection: &TcpStream) -> Waiting {
        if self.reap().is_some() {
            return Waiting::Unknown;
        }
        self.watch.waiting(connection)
    }

    fn cpu_time(&mut self) -> Option<Duration> {
        self.watch.cpu_time()
    }

    fn exited(&mut self) -> Option<ProgramEnd> {
        park_if_interrupted();
        if let Some(end) = &self.end {
            return Some(end.clone());
        }
        self.reap()?;
        if !self.output_settled {
            // What it printed last may still be in the pipe (held open, perhaps,
            // by a process it left behind: so not for long, and only once).
            self.output.wait_ended(Duration::from_millis(100));
            self.output_settled = true;
        }
        Some(self.program_end(false, ""))
    }

    fn traced_calls(&mut self) -> Vec<TracedCall> {
        self.trace
            .as_mut()
            .map(PyTrace::take_calls)
            .unwrap_or_default()
    }
}

/// The process has exited and waits to be reaped.
fn zombie(pid: Pid) -> bool {
    procfs::stat(pid.as_raw_nonzero().get()).is_none_or(|s| s.state == 'Z')
}

// --- A server the learner started ---------------------------------------------------

/// A server the learner started (`--connect ADDR`): sockstep dials it, watches it
/// through `/proc` where it can (the listening socket's owner is readable by us:
/// lockstep), else pauses between pieces. It is never stopped by sockstep.
pub struct Connected {
    address: SocketAddr,
    watch: Option<Watch>,
    delivery: Delivery,
}

impl Connected {
    /// Finds who listens on `address` (by `/proc`), to decide the delivery.
    pub fn new(address: SocketAddr) -> Connected {
        let watch = owner_of_listener(address).map(|owner| {
            let own_group = rustix::process::getpgrp();
            let scope = match procfs::stat(owner.as_raw_nonzero().get())
                .and_then(|s| Pid::from_raw(s.pgrp))
            {
                Some(group) if group != own_group => Scope::Group(group),
                _ => Scope::Process(owner),
            };
            Watch::new(scope)
        });
        let readable = watch.as_ref().is_some_and(|watch| {
            watch
                .scope
                .processes()
                .iter()
                .any(|&pid| procfs::thread_state(pid, pid).is_some())
        });
        let netlink = procfs::diag(address, address).is_ok();
        Connected {
            address,
            delivery: if readable && netlink {
                Delivery::Lockstep
            } else {
                PAUSED
            },
            watch,
        }
    }
}

/// The process holding the socket that listens on `address`, if we may see it.
fn owner_of_listener(address: SocketAddr) -> Option<Pid> {
    let sockets = procfs::tcp_sockets()?;
    let listener = sockets.iter().find(|s| {
        s.state == procfs::TCP_LISTEN
            && s.local.port() == address.port()
            && (s.local.ip().is_unspecified()
                || s.local.ip() == address.ip()
                || s.local.ip().to_canonical() == address.ip())
    })?;
    if listener.inode == 0 {
        return None;
    }
    procfs::socket_owners(listener.inode)
        .first()
        .and_then(|&pid| Pid::from_raw(pid))
}

impl Target for Connected {
    fn connect(&mut self) -> io::Result<TcpStream> {
        TcpStream::connect_timeout(&self.address, Duration::from_secs(5))
    }

    fn address(&self) -> SocketAddr {
        self.address
    }

    fn delivery(&self) -> Delivery {
        self.delivery
    }

    fn settle(&mut self, connection: &TcpStream, deadline: Instant) {
        match (&mut self.watch, self.delivery) {
            (Some(watch), Delivery::Lockstep) => watch.settle(connection, deadline, &mut || false),
            _ => pause(deadline),
        }
    }

    fn waiting(&mut self, connection: &TcpStream) -> Waiting {
        match &mut self.watch {
            Some(watch) => watch.waiting(connection),
            None => Waiting::Unknown,
        }
    }

    fn cpu_time(&mut self) -> Option<Duration> {
        self.watch.as_ref()?.cpu_time()
    }

    fn exited(&mut self) -> Option<ProgramEnd> {
        None
    }

    fn traced_calls(&mut self) -> Vec<TracedCall> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guest's port is never one a client socket could be holding (the kernel's
    /// ephemeral range), and never one already handed out.
    #[test]
    fn ports_are_below_the_ephemeral_range_and_never_handed_out_twice() {
        let below = ephemeral_start().expect("Linux tells its ephemeral range");
        let ports: Vec<u16> = (0..200).map(|_| free_port().unwrap()).collect();
        assert!(ports.iter().all(|&p| p < below), "{ports:?}");
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), ports.len());
    }

    #[test]
    fn port_and_level_are_filled_inside_words() {
        assert_eq!(fill("--port={port}", 4242, "delimiter"), "--port=4242");
        assert_eq!(fill("{level}/{port}", 1, "x"), "x/1");
        assert_eq!(fill("plain", 1, "x"), "plain");
    }

    #[test]
    fn each_ending_is_one_sentence() {
        let end = |f: fn(&mut ProgramEnd)| {
            let mut end = ProgramEnd::default();
            f(&mut end);
            end.describe()
        };
        assert_eq!(end(|e| e.exit_code = Some(1)), "exited with code 1");
        assert_eq!(
            end(|e| e.signal = Some(13)),
            "was killed by SIGPIPE: it wrote to a connection the client had closed"
        );
        assert_eq!(end(|e| e.signal = Some(11)), "was killed by SIGSEGV");
        assert_eq!(
            end(|e| {
                e.exit_code = Some(1);
                e.output_tail = "Traceback...\nMemoryError\n".into();
                e.memory_limit = Some(1 << 30);
            }),
            "ran out of memory under its 1 GiB limit"
        );
        assert_eq!(
            end(|e| {
                e.killed = true;
                e.signal = Some(15);
                e.kill_reason = Some("no reply after 2,000 ms".into());
            }),
            "was stopped by sockstep: no reply after 2,000 ms"
        );
        assert_eq!(
            end(|e| {
                e.exit_code = Some(1);
                e.output_tail = "Error occurred during initialization of VM\nCould not reserve enough space for object heap\n".into();
                e.memory_limit = Some(512 << 20);
            }),
            "ran out of memory under its 512 MiB limit"
        );
        assert_eq!(bytes(512 << 20), "512 MiB");
    }

    #[test]
    fn the_tail_note_shows_the_last_lines_prefixed() {
        let end = ProgramEnd {
            output_tail: (1..=30).map(|n| format!("line {n}\n")).collect(),
            ..ProgramEnd::default()
        };
        let note = tail_note(&end);
        assert!(note.starts_with("; its output ended with:\n[your program] line 11\n"));
        assert!(note.ends_with("[your program] line 30"));
        assert_eq!(tail_note(&ProgramEnd::default()), "; it printed nothing");
    }
}
