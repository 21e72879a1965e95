//! Teaching code that runs in another process (a Python interpreter, say): an actor
//! whose socket calls are made by the child on a socket it inherits, and reported
//! back here over a control channel, so that the monitor sees them exactly as it
//! sees a `Sock`'s own calls: the same gate, the same transitions, the same events.
//!
//! Each part runs in a process forked by a `ForkServer`: one warm process per
//! program, started once, which forks a part on request (a line of arguments, with
//! the part's teaching socket, control channel and output as three descriptors
//! passed with SCM_RIGHTS) and answers with its process id. So a part costs a fork,
//! not an interpreter's start.
//!
//! The protocol, one JSON object a line on the part's control channel (a Unix
//! socketpair):
//! - first the engine sends `{"messages": [[bytes...], ...]}`: what a sender sends;
//! - before each call the child sends `{"op": "begin", "kind": "read" | "write" |
//!   "other" | "release", "line": N}` and waits for the line `"go"` (the step gate;
//!   `release` passes no gate: the engine lets go of its handles on the socket,
//!   which the child is about to close);
//! - after it, `{"op": "end", "call": "recv", "asked": N, "bytes": [...], "line": N,
//!   "failed": null | FAILED, "closes_output": bool, "timed_reads": bool,
//!   "queues": {"send": N, "recv": N} | null, "writer_capacity": N}` (the socket's
//!   kernel queues just after the call, null where the child cannot measure them;
//!   for a `buffer` call, the buffered writer's capacity);
//! - a receiver's messages and reports: `{"op": "deliver", "bytes": [...], "line": N}`,
//!   `{"op": "report", "line": N, ...FAILED}`;
//! - at the end `{"op": "returned"}` or `{"op": "raised", ...FAILED}`,
//!
//! where FAILED is `{"errno": N | null, "timeout": bool, "error": NAME | null,
//! "message": TEXT}`. Each part leads its own process group, with no stdin, its
//! output bounded (see `OUTPUT_LIMIT`), its memory limited to `MEMORY_LIMIT`; it and
//! every process it started are killed however the part ends, and the part waited
//! for (by pidfd: the server, its parent, reaps it). The server is killed and
//! reaped when the program is dropped.

use std::io::{self, BufRead, BufReader, IoSlice, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, sendmsg};
use rustix::process::{Pid, Signal, kill_process, kill_process_group};

use serde::Deserialize;

use super::report::{Failure, error_kind_name, report};
use super::sock::{Inbox, RemoteCall, RemoteGate, Sock, cancel};
use super::trace::{Call, Queues, Role};

/// One side's code in another language: the server that forks its parts, and what
/// to tell it (before the role, `sender` or `receiver`) to start one of this side's.
#[derive(Clone, Debug)]
pub struct External {
    pub server: Arc<ForkServer>,
    pub args: Vec<String>,
}

/// The environment variable naming the server's end of its request channel.
pub const SERVER_FD_VAR: &str = "SOCKSTEP_SERVER_FD";

/// How long a fork may take to be answered before the server counts as broken.
const FORK_REPLY_LIMIT: Duration = Duration::from_secs(30);

/// A process that forks the parts of a program on request (see the module's
/// documentation). Killed, with its process group, and reaped when dropped.
pub struct ForkServer {
    /// The language's name, as traces record it ("python").
    pub language: &'static str,
    child: Mutex<Child>,
    requests: Mutex<UnixStream>,
}

impl std::fmt::Debug for ForkServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForkServer")
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

impl ForkServer {
    /// Starts `command` as a fork server: in its own process group, with no stdin
    /// or output, its memory limited, and its request channel's descriptor named by
    /// `SOCKSTEP_SERVER_FD` (the only descriptor of ours it inherits). It is killed
    /// if this process dies without dropping it (SIGKILL, say), or if the thread that
    /// started it ends (Linux's parent-death signal counts threads): start it on a
    /// thread that outlives its runs. The server is to do the same for its parts.
    pub fn start(language: &'static str, mut command: Command) -> io::Result<ForkServer> {
        let (ours, theirs) = UnixStream::pair()?;
        let fd = theirs.as_raw_fd();
        command
            .env_clear()
            .env(SERVER_FD_VAR, fd.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        // SAFETY: between fork and exec this makes only system calls (fcntl,
        // setrlimit), which allocate nothing and take no lock.
        unsafe {
            command.pre_exec(move || {
                let fd = BorrowedFd::borrow_raw(fd);
                rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
                let limit = rustix::process::Rlimit {
                    current: Some(MEMORY_LIMIT),
                    maximum: Some(MEMORY_LIMIT),
                };
                rustix::process::setrlimit(rustix::process::Resource::As, limit)?;
                rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
                Ok(())
            });
        }
        let child = command.spawn()?;
        drop(theirs);
        ours.set_read_timeout(Some(FORK_REPLY_LIMIT))?;
        Ok(ForkServer {
            language,
            child: Mutex::new(child),
            requests: Mutex::new(ours),
        })
    }

    /// Forks a part, told `args`, handing it `fds` (its socket, its control channel,
    /// its output); returns its process id once it leads its own process group.
    fn fork(&self, args: &[&str], fds: [BorrowedFd<'_>; 3]) -> io::Result<Pid> {
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let line = serde_json::to_vec(args)?;
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&fds));
        let sent = sendmsg(
            &*requests,
            &[IoSlice::new(&line)],
            &mut control,
            SendFlags::NOSIGNAL,
        )?;
        if sent != line.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "request cut short",
            ));
        }
        let mut reply = Vec::new();
        let mut byte = [0u8];
        while reply.len() < 24 {
            (&*requests).read_exact(&mut byte)?;
            if byte[0] == b'\n' {
                let pid = std::str::from_utf8(&reply)
                    .ok()
                    .and_then(|text| text.parse::<i32>().ok())
                    .and_then(Pid::from_raw);
                return pid.ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the server answered no process id",
                    )
                });
            }
            reply.push(byte[0]);
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the server's answer is too long",
        ))
    }
}

impl Drop for ForkServer {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
            // Not reaped yet, so its group still exists under its id.
            let _ = kill_process_group(pid, Signal::KILL);
        }
        let _ = child.wait();
    }
}

/// Output (stdout and stderr together) read from a child once it has ended. Its
/// output is a pipe nobody reads while it runs, so the pipe's buffer bounds it: a
/// child that prints more waits, makes no call, and is stopped by the time limit.
const OUTPUT_LIMIT: usize = 64 * 1024;
/// The child's address space (RLIMIT_AS).
const MEMORY_LIMIT: u64 = 512 * 1024 * 1024;
/// How often a part waiting for its child looks whether the side was stopped (a
/// child busy in a loop with no socket call is stopped only by being killed).
const LOOK_EVERY: Duration = Duration::from_millis(50);

/// One line from the child.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
enum Said {
    Begin {
        kind: Gate,
        line: Option<u32>,
    },
    End {
        call: Call,
        asked: usize,
        bytes: Vec<u8>,
        line: Option<u32>,
        failed: Option<Failed>,
        #[serde(default)]
        closes_output: bool,
        #[serde(default)]
        timed_reads: bool,
        /// Measured by the child after the call; absent where it cannot measure.
        #[serde(default)]
        queues: Option<Queues>,
        /// For a `buffer` call: the buffered writer's capacity.
        #[serde(default)]
        writer_capacity: Option<u32>,
    },
    Deliver {
        bytes: Vec<u8>,
        line: Option<u32>,
    },
    Report {
        line: Option<u32>,
        #[serde(flatten)]
        failed: Failed,
    },
    Returned,
    Raised {
        #[serde(flatten)]
        failed: Failed,
    },
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Gate {
    Read,
    Write,
    Other,
    Release,
}

/// A failure as the child names it.
#[derive(Deserialize)]
struct Failed {
    errno: Option<i32>,
    timeout: bool,
    error: Option<String>,
    message: String,
}

impl Failed {
    /// The kind of I/O error it is, if it is one.
    fn kind(&self) -> Option<io::ErrorKind> {
        if self.timeout {
            // As Rust's WouldBlock on a timed-out read: the same report, the same result.
            return Some(io::ErrorKind::TimedOut);
        }
        self.errno
            .map(|errno| io::Error::from_raw_os_error(errno).kind())
    }

    fn io_error(&self) -> io::Error {
        io::Error::new(
            self.kind().unwrap_or(io::ErrorKind::Other),
            self.message.clone(),
        )
    }

    fn failure(&self) -> Failure {
        let error = match (self.kind(), &self.error) {
            (Some(kind), _) => error_kind_name(kind).to_string(),
            (None, Some(name)) => name.clone(),
            (None, None) => "other".to_string(),
        };
        Failure {
            error,
            message: self.message.clone(),
        }
    }
}

/// A running part: killed (with its process group) and waited for when dropped.
struct Guest {
    pid: Pid,
    /// Readable once the part has ended.
    ended: OwnedFd,
    control: BufReader<UnixStream>,
    /// A line being read, kept across reads that time out.
    pending: Vec<u8>,
    /// `None` once the part has been killed and has ended.
    output: Option<io::PipeReader>,
    language: &'static str,
}

impl Guest {
    fn start(program: &External, role: Role, sock: &Sock) -> io::Result<Guest> {
        let stream = sock
            .stream_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no socket to hand over"))?;
        let (ours, theirs) = UnixStream::pair()?;
        let (output, output_end) = io::pipe()?;
        // Read only what is there once the part has ended: a process it left
        // behind holding the pipe must not keep this one waiting.
        rustix::io::ioctl_fionbio(&output, true)?;
        let role = match role {
            Role::Sender => "sender",
            Role::Receiver | Role::Relay => "receiver",
        };
        let mut args: Vec<&str> = program.args.iter().map(String::as_str).collect();
        args.push(role);
        let pid = program
            .server
            .fork(&args, [stream.as_fd(), theirs.as_fd(), output_end.as_fd()])?;
        // The part waits for its first line from us, so it is still there to watch.
        let ended = match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = kill_process_group(pid, Signal::KILL);
                return Err(e.into());
            }
        };
        let guest = Guest {
            pid,
            ended,
            control: BufReader::new(ours),
            pending: Vec::new(),
            output: Some(output),
            language: program.server.language,
        };
        guest.control.get_ref().set_read_timeout(Some(LOOK_EVERY))?;
        Ok(guest)
    }

    fn say(&mut self, json: &serde_json::Value) -> io::Result<()> {
        let mut line = serde_json::to_vec(json)?;
        line.push(b'\n');
        self.control.get_mut().write_all(&line)
    }

    /// The part's next line; `None` when it has closed the channel (it ended).
    /// Unwinds (`Cancelled`) if the side is stopped meanwhile.
    fn next(&mut self, sock: &Sock) -> io::Result<Option<Vec<u8>>> {
        loop {
            match self.control.read_until(b'\n', &mut self.pending) {
                Ok(_) if self.pending.ends_with(b"\n") => {
                    return Ok(Some(std::mem::take(&mut self.pending)));
                }
                Ok(_) => return Ok(None),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    if sock.is_stopped() {
                        cancel();
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Kills the part's process group and waits until the part has ended; returns
    /// what it printed.
    fn end(&mut self) -> Vec<u8> {
        if kill_process_group(self.pid, Signal::KILL).is_err() {
            let _ = kill_process(self.pid, Signal::KILL);
        }
        loop {
            let mut fds = [PollFd::new(&self.ended, PollFlags::IN)];
            match poll(&mut fds, None) {
                Err(rustix::io::Errno::INTR) => continue,
                _ => break,
            }
        }
        let mut output = Vec::new();
        if let Some(pipe) = self.output.take() {
            let _ = pipe.take(OUTPUT_LIMIT as u64).read_to_end(&mut output);
        }
        output
    }

    /// The child ended without saying how its part ended.
    fn vanished(&mut self) -> Failure {
        let output = self.end();
        let output = String::from_utf8_lossy(&output);
        let tail: String = {
            let text = output.trim_end();
            let start = text.char_indices().rev().nth(1999).map_or(0, |(i, _)| i);
            text[start..].to_string()
        };
        Failure {
            error: "exited".into(),
            message: format!(
                "the {} process ended without finishing its part{}{tail}",
                self.language,
                if tail.is_empty() { "" } else { ": " }
            ),
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if self.output.is_some() {
            self.end();
        }
    }
}

/// Runs one part of `program` (its sender or receiver) in a child process on
/// `sock`, driving the side's monitor from what the child reports. A sender is
/// given `messages`; a receiver's messages and reports go to `inbox`.
pub(crate) fn run_part(
    program: &External,
    role: Role,
    sock: &mut Sock,
    messages: &[Vec<u8>],
    mut inbox: Option<&mut Inbox>,
) -> Result<(), Failure> {
    let mut guest = Guest::start(program, role, sock).map_err(|e| Failure {
        error: "spawn".into(),
        message: format!(
            "could not start the {} process: {e}",
            program.server.language
        ),
    })?;
    if guest
        .say(&serde_json::json!({ "messages": messages }))
        .is_err()
    {
        return Err(guest.vanished());
    }
    loop {
        let line = match guest.next(sock) {
            Ok(Some(line)) => line,
            Ok(None) | Err(_) => return Err(guest.vanished()),
        };
        let said: Said = match serde_json::from_slice(&line) {
            Ok(said) => said,
            Err(e) => {
                guest.end();
                return Err(Failure {
                    error: "protocol".into(),
                    message: format!(
                        "the {} process said something the engine cannot read ({e}): {}",
                        program.server.language,
                        String::from_utf8_lossy(&line).trim_end()
                    ),
                });
            }
        };
        match said {
            Said::Begin { kind, line } => {
                match kind {
                    Gate::Release => sock.remote_release(),
                    Gate::Read => sock.remote_begin(RemoteGate::Read, line),
                    Gate::Write => sock.remote_begin(RemoteGate::Write, line),
                    Gate::Other => sock.remote_begin(RemoteGate::Other, line),
                }
                if guest.say(&serde_json::json!("go")).is_err() {
                    return Err(guest.vanished());
                }
            }
            Said::End {
                call,
                asked,
                bytes,
                line,
                failed,
                closes_output,
                timed_reads,
                queues,
                writer_capacity,
            } => sock.remote_finish(RemoteCall {
                call,
                asked,
                bytes: &bytes,
                result: failed.map_or(Ok(bytes.len()), |f| Err(f.io_error())),
                line,
                closes_output,
                timed_reads,
                queues,
                writer_capacity,
            }),
            Said::Deliver { bytes, line } => {
                if let Some(inbox) = inbox.as_deref_mut() {
                    inbox.deliver_at(&bytes, line);
                }
            }
            Said::Report { line, failed } => {
                if let Some(inbox) = inbox.as_deref_mut() {
                    let kind = failed.kind().unwrap_or(io::ErrorKind::Other);
                    inbox.deliver_at(&report(kind), line);
                }
            }
            Said::Returned => return Ok(()),
            Said::Raised { failed } => return Err(failed.failure()),
        }
    }
}
