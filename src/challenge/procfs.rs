//! What Linux tells about a running program, read without touching it: its process
//! group's processes and threads (`/proc`), the system call each thread waits in
//! (`/proc/PID/task/TID/syscall`), which descriptor is which socket
//! (`/proc/PID/fd/N`), a connection's queues (a `sock_diag` netlink query, or
//! `/proc/net/tcp`), and the CPU time it used (`/proc/PID/stat`).
//!
//! Everything answers `None` (or nothing) when `/proc` is missing or unreadable: the
//! caller then knows less, and falls back to pauses. Nothing here panics on what it
//! reads.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// A process or thread id.
pub type Pid = i32;

/// What one thread is doing, from its `syscall` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadState {
    /// Runnable: on a CPU or about to be.
    Running,
    /// Blocked in this system call, with these arguments.
    InCall { nr: i64, args: [u64; 6] },
    /// Blocked, but not in a system call (a page fault, stopped by a debugger).
    Blocked,
}

/// Parses a `syscall` file: `running`, `-1 SP PC`, or `NR ARG0 … ARG5 SP PC`.
pub fn parse_syscall(text: &str) -> Option<ThreadState> {
    let mut words = text.split_whitespace();
    let first = words.next()?;
    if first == "running" {
        return Some(ThreadState::Running);
    }
    let nr: i64 = first.parse().ok()?;
    if nr < 0 {
        return Some(ThreadState::Blocked);
    }
    let mut args = [0u64; 6];
    for arg in &mut args {
        let word = words.next()?;
        *arg = u64::from_str_radix(word.strip_prefix("0x")?, 16).ok()?;
    }
    Some(ThreadState::InCall { nr, args })
}

/// What a thread's system call means for a server, named as a learner knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// A read-family call on `fd`, asking `asked` bytes where the call says
    /// (`recvmsg` and `readv` keep the size in memory: `None`).
    Read {
        name: &'static str,
        fd: i32,
        asked: Option<usize>,
    },
    /// Waiting for any of several descriptors (`poll`, `select`, `epoll_wait`).
    Poll(&'static str),
    /// Any other call we know by name (`accept`, `send`, `sleep`, …).
    Other(&'static str),
    /// A call we have no name for.
    Unknown(i64),
}

#[cfg(target_arch = "x86_64")]
mod numbers {
    pub const READ: i64 = 0;
    pub const WRITE: i64 = 1;
    pub const POLL: i64 = 7;
    pub const READV: i64 = 19;
    pub const WRITEV: i64 = 20;
    pub const SELECT: i64 = 23;
    pub const PAUSE: i64 = 34;
    pub const NANOSLEEP: i64 = 35;
    pub const CONNECT: i64 = 42;
    pub const ACCEPT: i64 = 43;
    pub const SENDTO: i64 = 44;
    pub const RECVFROM: i64 = 45;
    pub const SENDMSG: i64 = 46;
    pub const RECVMSG: i64 = 47;
    pub const WAIT4: i64 = 61;
    pub const FUTEX: i64 = 202;
    pub const CLOCK_NANOSLEEP: i64 = 230;
    pub const EPOLL_WAIT: i64 = 232;
    pub const WAITID: i64 = 247;
    pub const PSELECT6: i64 = 270;
    pub const PPOLL: i64 = 271;
    pub const EPOLL_PWAIT: i64 = 281;
    pub const ACCEPT4: i64 = 288;
    pub const RECVMMSG: i64 = 299;
    pub const EPOLL_PWAIT2: i64 = 441;
}

/// aarch64 uses the generic table, which has no `poll`, `select`, `epoll_wait`,
/// `pause` or `nanosleep`-free variants: those entries can never match.
#[cfg(target_arch = "aarch64")]
mod numbers {
    pub const READ: i64 = 63;
    pub const WRITE: i64 = 64;
    pub const POLL: i64 = -100;
    pub const READV: i64 = 65;
    pub const WRITEV: i64 = 66;
    pub const SELECT: i64 = -101;
    pub const PAUSE: i64 = -102;
    pub const NANOSLEEP: i64 = 101;
    pub const CONNECT: i64 = 203;
    pub const ACCEPT: i64 = 202;
    pub const SENDTO: i64 = 206;
    pub const RECVFROM: i64 = 207;
    pub const SENDMSG: i64 = 211;
    pub const RECVMSG: i64 = 212;
    pub const WAIT4: i64 = 260;
    pub const FUTEX: i64 = 98;
    pub const CLOCK_NANOSLEEP: i64 = 115;
    pub const EPOLL_WAIT: i64 = -103;
    pub const WAITID: i64 = 95;
    pub const PSELECT6: i64 = 72;
    pub const PPOLL: i64 = 73;
    pub const EPOLL_PWAIT: i64 = 22;
    pub const ACCEPT4: i64 = 242;
    pub const RECVMMSG: i64 = 243;
    pub const EPOLL_PWAIT2: i64 = 441;
}

/// Names a system call by this machine's table (x86_64 or aarch64).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub fn classify(nr: i64, args: &[u64; 6]) -> Call {
    use numbers::*;
    let fd = args[0] as i32;
    let asked = usize::try_from(args[2]).ok();
    let read = |name, asked| Call::Read { name, fd, asked };
    match nr {
        READ => read("read", asked),
        RECVFROM => read("recv", asked),
        RECVMSG => read("recvmsg", None),
        READV => read("readv", None),
        RECVMMSG => read("recvmmsg", None),
        POLL | PPOLL => Call::Poll("poll"),
        SELECT | PSELECT6 => Call::Poll("select"),
        EPOLL_WAIT | EPOLL_PWAIT | EPOLL_PWAIT2 => Call::Poll("epoll_wait"),
        ACCEPT | ACCEPT4 => Call::Other("accept"),
        WRITE => Call::Other("write"),
        WRITEV => Call::Other("writev"),
        SENDTO => Call::Other("send"),
        SENDMSG => Call::Other("sendmsg"),
        CONNECT => Call::Other("connect"),
        NANOSLEEP | CLOCK_NANOSLEEP => Call::Other("sleep"),
        PAUSE => Call::Other("pause"),
        WAIT4 | WAITID => Call::Other("wait"),
        FUTEX => Call::Other("futex"),
        _ => Call::Unknown(nr),
    }
}

/// Elsewhere no call has a name: lockstep falls back to pauses.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub fn classify(nr: i64, _args: &[u64; 6]) -> Call {
    Call::Unknown(nr)
}

/// The thread's state now; `None` if it has gone or its file cannot be read (it
/// needs the right to trace the process).
pub fn thread_state(pid: Pid, tid: Pid) -> Option<ThreadState> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")).ok()?;
    parse_syscall(&text)
}

/// The threads of a process (its own id first among them, as `/proc` lists them).
pub fn threads(pid: Pid) -> Vec<Pid> {
    numbered_entries(format!("/proc/{pid}/task"))
}

fn numbered_entries(dir: impl AsRef<Path>) -> Vec<Pid> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut ids: Vec<Pid> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids
}

/// The fields of `/proc/PID/stat` that matter here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// `R`, `S`, `D`, `Z`, …
    pub state: char,
    pub pgrp: Pid,
    /// CPU time in clock ticks: its own (user, system) and its reaped children's.
    pub utime: u64,
    pub stime: u64,
    pub cutime: u64,
    pub cstime: u64,
}

/// Parses `/proc/PID/stat`. The command name is in parentheses and may hold
/// spaces and parentheses itself, so the fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state) of proc(5).
    let field = |n: usize| fields.get(n - 3).copied();
    let number = |n: usize| field(n)?.parse::<u64>().ok();
    Some(Stat {
        state: field(3)?.chars().next()?,
        pgrp: field(5)?.parse().ok()?,
        utime: number(14)?,
        stime: number(15)?,
        cutime: number(16)?,
        cstime: number(17)?,
    })
}

pub fn stat(pid: Pid) -> Option<Stat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process whose process group is `pgid` (zombies included), by scanning
/// `/proc`; empty when `/proc` cannot be read.
pub fn group_processes(pgid: Pid) -> Vec<Pid> {
    numbered_entries("/proc")
        .into_iter()
        .filter(|&pid| stat(pid).is_some_and(|s| s.pgrp == pgid))
        .collect()
}

/// Clock ticks per second, for the times in `/proc/PID/stat`.
pub fn clock_ticks() -> u64 {
    rustix::param::clock_ticks_per_second().max(1)
}

/// The CPU time used by the group's processes, including the children they have
/// reaped; `None` if no process of the group could be read.
pub fn group_cpu_time(pgid: Pid) -> Option<Duration> {
    cpu_time_of(&group_processes(pgid))
}

/// The CPU time used by these processes and the children they have reaped.
pub fn cpu_time_of(pids: &[Pid]) -> Option<Duration> {
    let stats: Vec<Stat> = pids.iter().filter_map(|&pid| stat(pid)).collect();
    if stats.is_empty() {
        return None;
    }
    let ticks: u64 = stats
        .iter()
        .map(|s| s.utime + s.stime + s.cutime + s.cstime)
        .sum();
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

/// The socket inode a `/proc/PID/fd/N` link names (`socket:[INODE]`).
pub fn parse_socket_link(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The inode of the socket open as `fd` in `pid`, if it is a socket.
pub fn socket_inode(pid: Pid, fd: i32) -> Option<u64> {
    let link = fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    parse_socket_link(link.to_str()?)
}

/// Every socket descriptor of `pid`: (fd, inode).
pub fn socket_fds(pid: Pid) -> Vec<(i32, u64)> {
    numbered_entries(format!("/proc/{pid}/fd"))
        .into_iter()
        .filter_map(|fd| Some((fd, socket_inode(pid, fd)?)))
        .collect()
}

/// The (process, descriptor) pairs among `pids` that hold the socket `inode`.
pub fn holders(pids: &[Pid], inode: u64) -> Vec<(Pid, i32)> {
    pids.iter()
        .flat_map(|&pid| {
            socket_fds(pid)
                .into_iter()
                .filter(move |&(_, i)| i == inode)
                .map(move |(fd, _)| (pid, fd))
        })
        .collect()
}

/// The processes (of all we may read) holding the socket `inode`.
pub fn socket_owners(inode: u64) -> Vec<Pid> {
    let mut owners: Vec<Pid> = holders(&numbered_entries("/proc"), inode)
        .into_iter()
        .map(|(pid, _)| pid)
        .collect();
    owners.dedup();
    owners
}

/// TCP states as the kernel numbers them.
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_SYN_RECV: u8 = 3;
pub const TCP_LISTEN: u8 = 10;

/// One TCP socket as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSocket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: u8,
    /// Bytes sent and not yet acknowledged by the peer (for a listener: 0).
    pub tx_queue: u32,
    /// Bytes received and not yet read by the program (for a listener: its
    /// accept queue's length).
    pub rx_queue: u32,
    /// 0 when no descriptor holds it (not accepted yet, or closed).
    pub inode: u64,
    /// From `tcp_info` (sock_diag only): the sequence space acknowledged by the
    /// peer, and received from it (data bytes, and a FIN as one). A sender's
    /// `bytes_acked + tx_queue` equals its receiver's `bytes_received` once
    /// everything sent has arrived, acknowledged or not (ACKs may be delayed).
    pub bytes_acked: Option<u64>,
    pub bytes_received: Option<u64>,
}

/// Whether everything the connecting end `client` has written (a FIN counts as a
/// byte) has reached `server`, read or not. Acknowledged bytes have; with
/// `tcp_info`, unacknowledged ones are counted too (the server may delay its ACK
/// by tens of milliseconds): the client's `bytes_acked` counts its SYN, the
/// server's `bytes_received` does not.
pub fn arrived(client: &TcpSocket, server: &TcpSocket) -> bool {
    if client.tx_queue == 0 {
        return true;
    }
    match (client.bytes_acked, server.bytes_received) {
        (Some(acked), Some(received)) => acked + u64::from(client.tx_queue) == received + 1,
        _ => false,
    }
}

/// Parses an address of `/proc/net/tcp` (`0100007F:1F90`) or `tcp6`: the
/// address words are printed in the host's byte order, the port in ours.
fn parse_proc_addr(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |at: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(ip.get(at..at + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(&word(i * 8)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Parses `/proc/net/tcp` or `/proc/net/tcp6` (the header line is skipped).
pub fn parse_net_tcp(text: &str) -> Vec<TcpSocket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (tx, rx) = f.get(4)?.split_once(':')?;
            Some(TcpSocket {
                local: parse_proc_addr(f.get(1)?)?,
                remote: parse_proc_addr(f.get(2)?)?,
                state: u8::from_str_radix(f.get(3)?, 16).ok()?,
                tx_queue: u32::from_str_radix(tx, 16).ok()?,
                rx_queue: u32::from_str_radix(rx, 16).ok()?,
                inode: f.get(9)?.parse().ok()?,
                bytes_acked: None,
                bytes_received: None,
            })
        })
        .collect()
}

/// Every TCP socket of this network namespace (IPv4 and IPv6; a dual-stack
/// server's IPv4 connections show as `::ffff:127.0.0.1`). `None` if neither file
/// can be read. Slow on big machines (milliseconds: the kernel walks its whole
/// hash table): use [`diag`] for one known connection.
pub fn tcp_sockets() -> Option<Vec<TcpSocket>> {
    let v4 = fs::read_to_string("/proc/net/tcp").ok();
    let v6 = fs::read_to_string("/proc/net/tcp6").ok();
    if v4.is_none() && v6.is_none() {
        return None;
    }
    let mut sockets = v4.as_deref().map(parse_net_tcp).unwrap_or_default();
    sockets.extend(v6.as_deref().map(parse_net_tcp).unwrap_or_default());
    Some(sockets)
}

/// The socket among `sockets` whose local port is `local_port` and remote port
/// `remote_port`.
pub fn find_connection(
    sockets: &[TcpSocket],
    local_port: u16,
    remote_port: u16,
) -> Option<TcpSocket> {
    sockets
        .iter()
        .find(|s| s.local.port() == local_port && s.remote.port() == remote_port)
        .copied()
}

/// The listening socket on `port` (any address), if there is one.
pub fn find_listener(sockets: &[TcpSocket], port: u16) -> Option<TcpSocket> {
    sockets
        .iter()
        .find(|s| s.state == TCP_LISTEN && s.local.port() == port)
        .copied()
}

/// The TCP socket whose local end is `local` and remote end `remote`, asked of the
/// kernel by `sock_diag` (a hash lookup: microseconds, where `/proc/net/tcp` takes
/// milliseconds). `Ok(None)` if there is no such socket; `Err` if the query itself
/// fails (no netlink here): use [`tcp_sockets`] then.
pub fn diag(local: SocketAddr, remote: SocketAddr) -> std::io::Result<Option<TcpSocket>> {
    let socket = diag::Socket::get()?;
    // An IPv4 connection may belong to a dual-stack IPv6 socket: the kernel finds
    // it either way for AF_INET; AF_INET6 with mapped addresses is the second try.
    match socket.query(local, remote)? {
        Some(found) => Ok(Some(found)),
        None => match (local, remote) {
            (SocketAddr::V4(l), SocketAddr::V4(r)) => socket.query(
                SocketAddr::new(IpAddr::V6(l.ip().to_ipv6_mapped()), l.port()),
                SocketAddr::new(IpAddr::V6(r.ip().to_ipv6_mapped()), r.port()),
            ),
            _ => Ok(None),
        },
    }
}

mod diag {
    use std::cell::RefCell;
    use std::io;
    use std::net::{IpAddr, SocketAddr};
    use std::os::fd::OwnedFd;

    use rustix::net::netlink::{self, SocketAddrNetlink};
    use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

    use super::TcpSocket;

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST: u16 = 1;
    const NLMSG_ERROR: u16 = 2;
    const HEADER: usize = 16;
    const REQUEST: usize = 56;
    const MESSAGE: usize = 72;
    const AF_INET: u8 = 2;
    const AF_INET6: u8 = 10;
    const IPPROTO_TCP: u8 = 6;
    /// `INET_DIAG_INFO`: the answer carries the socket's `struct tcp_info`.
    const INET_DIAG_INFO: u16 = 2;
    /// Offsets in `struct tcp_info` (Linux 4.1 and later).
    const TCPI_BYTES_ACKED: usize = 120;
    const TCPI_BYTES_RECEIVED: usize = 128;

    /// A netlink socket per thread (queries on it are answered in order).
    pub(super) struct Socket(OwnedFd);

    thread_local! {
        static SOCKET: RefCell<Option<std::rc::Rc<Socket>>> = const { RefCell::new(None) };
    }

    impl Socket {
        pub fn get() -> io::Result<std::rc::Rc<Socket>> {
            SOCKET.with(|cell| {
                if let Some(socket) = cell.borrow().as_ref() {
                    return Ok(socket.clone());
                }
                let fd = rustix::net::socket_with(
                    AddressFamily::NETLINK,
                    SocketType::DGRAM,
                    SocketFlags::CLOEXEC,
                    Some(netlink::SOCK_DIAG),
                )?;
                let socket = std::rc::Rc::new(Socket(fd));
                *cell.borrow_mut() = Some(socket.clone());
                Ok(socket)
            })
        }

        pub fn query(
            &self,
            local: SocketAddr,
            remote: SocketAddr,
        ) -> io::Result<Option<TcpSocket>> {
            let family = if local.is_ipv4() { AF_INET } else { AF_INET6 };
            let mut request = [0u8; HEADER + REQUEST];
            request[0..4].copy_from_slice(&((HEADER + REQUEST) as u32).to_ne_bytes());
            request[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
            request[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
            let body = &mut request[HEADER..];
            body[0] = family;
            body[1] = IPPROTO_TCP;
            body[2] = 1 << (INET_DIAG_INFO - 1);
            body[4..8].copy_from_slice(&u32::MAX.to_ne_bytes()); // every state
            put_id(&mut body[8..56], local, remote);
            rustix::net::sendto(
                &self.0,
                &request,
                SendFlags::empty(),
                &SocketAddrNetlink::new(0, 0),
            )?;
            let mut reply = [0u8; 2048];
            let (n, _) = rustix::net::recv(&self.0, &mut reply, RecvFlags::empty())?;
            let reply = &reply[..n.min(reply.len())];
            let kind = u16::from_ne_bytes([reply[4], reply[5]]);
            if kind == NLMSG_ERROR {
                let errno = i32::from_ne_bytes(
                    reply[HEADER..HEADER + 4]
                        .try_into()
                        .map_err(|_| io::Error::other("a short netlink error"))?,
                );
                return match -errno {
                    // ENOENT: no such socket.
                    2 => Ok(None),
                    e => Err(io::Error::from_raw_os_error(e)),
                };
            }
            if kind != SOCK_DIAG_BY_FAMILY || reply.len() < HEADER + MESSAGE {
                return Err(io::Error::other("an unexpected netlink answer"));
            }
            let m = &reply[HEADER..HEADER + MESSAGE];
            let u32_at = |at: usize| u32::from_ne_bytes([m[at], m[at + 1], m[at + 2], m[at + 3]]);
            let info = tcp_info(&reply[HEADER + MESSAGE..]);
            let u64_at = |at: usize| {
                let bytes = info?.get(at..at + 8)?;
                Some(u64::from_ne_bytes(bytes.try_into().ok()?))
            };
            Ok(Some(TcpSocket {
                local,
                remote,
                state: m[1],
                rx_queue: u32_at(56),
                tx_queue: u32_at(60),
                inode: u64::from(u32_at(68)),
                bytes_acked: u64_at(TCPI_BYTES_ACKED),
                bytes_received: u64_at(TCPI_BYTES_RECEIVED),
            }))
        }
    }

    /// The `INET_DIAG_INFO` attribute's payload among the answer's attributes
    /// (`struct rtattr`: length, type, payload, padded to 4 bytes).
    fn tcp_info(mut attributes: &[u8]) -> Option<&[u8]> {
        while attributes.len() >= 4 {
            let len = usize::from(u16::from_ne_bytes([attributes[0], attributes[1]]));
            let kind = u16::from_ne_bytes([attributes[2], attributes[3]]);
            let payload = attributes.get(4..len)?;
            if kind == INET_DIAG_INFO {
                return Some(payload);
            }
            attributes = attributes.get(len.next_multiple_of(4)..)?;
        }
        None
    }

    /// `struct inet_diag_sockid`: ports and addresses in network order, no
    /// interface, no cookie.
    fn put_id(id: &mut [u8], local: SocketAddr, remote: SocketAddr) {
        id[0..2].copy_from_slice(&local.port().to_be_bytes());
        id[2..4].copy_from_slice(&remote.port().to_be_bytes());
        let octets = |addr: SocketAddr| -> [u8; 16] {
            let mut bytes = [0u8; 16];
            match addr.ip() {
                IpAddr::V4(ip) => bytes[..4].copy_from_slice(&ip.octets()),
                IpAddr::V6(ip) => bytes = ip.octets(),
            }
            bytes
        };
        id[4..20].copy_from_slice(&octets(local));
        id[20..36].copy_from_slice(&octets(remote));
        id[40..48].copy_from_slice(&[0xff; 8]); // INET_DIAG_NOCOOKIE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_syscall_line_gives_the_call_its_fd_and_size() {
        let line = "45 0x3 0x7f5bd57f1d60 0x5 0x0 0x0 0x0 0x7ffc 0x7f5b\n";
        let Some(ThreadState::InCall { nr, args }) = parse_syscall(line) else {
            panic!("not parsed");
        };
        assert_eq!((nr, args[0], args[2]), (45, 3, 5));
        assert_eq!(parse_syscall("running\n"), Some(ThreadState::Running));
        assert_eq!(
            parse_syscall("-1 0x7ffc 0x7f5b\n"),
            Some(ThreadState::Blocked)
        );
        assert_eq!(parse_syscall(""), None);
        assert_eq!(parse_syscall("0 0x3"), None);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_x86_64_table_names_reads_and_polls() {
        let args = [3, 0, 5, 0, 0, 0];
        assert_eq!(
            classify(45, &args),
            Call::Read {
                name: "recv",
                fd: 3,
                asked: Some(5)
            }
        );
        assert_eq!(classify(232, &args), Call::Poll("epoll_wait"));
        assert_eq!(classify(43, &args), Call::Other("accept"));
        assert_eq!(classify(9999, &args), Call::Unknown(9999));
    }

    #[test]
    fn a_stat_line_with_parentheses_in_its_name_parses() {
        let line = "42 (a (b) c) S 1 77 77 0 -1 4194560 100 0 0 0 12 34 5 6 20 0 1 0 99 0 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!(
            (
                stat.state,
                stat.pgrp,
                stat.utime,
                stat.stime,
                stat.cutime,
                stat.cstime
            ),
            ('S', 77, 12, 34, 5, 6)
        );
        assert_eq!(parse_stat("42 (x) S 1"), None);
    }

    #[test]
    fn net_tcp_lines_parse_in_both_families() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 0100007F:C350 01 00000003:00000005 00:00000000 00000000  1000        0 12345 1 0 20 4 30 10 -1\n";
        let sockets = parse_net_tcp(v4);
        let first = sockets[0];
        assert_eq!(first.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(first.remote.port(), 50000);
        assert_eq!(
            (first.state, first.tx_queue, first.rx_queue, first.inode),
            (1, 3, 5, 12345)
        );
        let v6 = "header\n   0: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 777 1\n";
        let mapped = parse_net_tcp(v6)[0];
        assert_eq!(mapped.local, "[::ffff:127.0.0.1]:8080".parse().unwrap());
        assert_eq!(find_connection(&[first, mapped], 8080, 50000), Some(first));
        assert_eq!(parse_net_tcp("header\ngarbage line\n"), Vec::new());
    }

    #[test]
    fn this_process_is_found_in_its_own_group_with_cpu_time() {
        let me = std::process::id() as Pid;
        let group = stat(me).unwrap().pgrp;
        assert!(group_processes(group).contains(&me));
        assert!(threads(me).contains(&me));
        assert!(cpu_time_of(&[me]).is_some());
        assert_eq!(group_cpu_time(-5), None);
    }

    #[test]
    fn a_connection_is_found_with_its_queues_by_diag_and_by_proc() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        client.write_all(b"hello").unwrap();
        let server_end = |local: SocketAddr, remote: SocketAddr| {
            // The bytes may still be on their way: wait for them, by event.
            loop {
                let found = diag(local, remote).unwrap().unwrap();
                if found.rx_queue == 5 {
                    return found;
                }
                std::thread::yield_now();
            }
        };
        let found = server_end(server.local_addr().unwrap(), server.peer_addr().unwrap());
        assert_eq!(found.state, TCP_ESTABLISHED);
        let sent = diag(client.local_addr().unwrap(), client.peer_addr().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(found.bytes_received, Some(5));
        assert_eq!(
            sent.bytes_acked.map(|a| a + u64::from(sent.tx_queue)),
            Some(6)
        );
        assert!(arrived(&sent, &found));
        let unacked = TcpSocket {
            tx_queue: 2,
            bytes_acked: Some(4),
            ..sent
        };
        assert!(arrived(&unacked, &found));
        assert!(!arrived(
            &TcpSocket {
                tx_queue: 3,
                ..unacked
            },
            &found
        ));
        let me = std::process::id() as Pid;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&server);
        assert_eq!(socket_inode(me, fd), Some(found.inode));
        assert_eq!(holders(&[me], found.inode), vec![(me, fd)]);
        let table = tcp_sockets().unwrap();
        let row = find_connection(
            &table,
            server.local_addr().unwrap().port(),
            server.peer_addr().unwrap().port(),
        )
        .unwrap();
        assert_eq!((row.inode, row.rx_queue), (found.inode, 5));
        assert!(find_listener(&table, listener.local_addr().unwrap().port()).is_some());
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).unwrap();
        let after = diag(server.local_addr().unwrap(), server.peer_addr().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(after.rx_queue, 0);
        let nobody = diag(
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        );
        assert_eq!(nobody.unwrap(), None);
    }

    #[test]
    fn a_dual_stack_servers_end_is_found_from_the_ipv4_client() {
        let Ok(listener) = TcpListener::bind("[::]:0") else {
            return; // no IPv6 on this machine: nothing to find
        };
        let port = listener.local_addr().unwrap().port();
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.write_all(b"abc").unwrap();
        let (local, peer) = (client.local_addr().unwrap(), client.peer_addr().unwrap());
        let found = loop {
            let found = diag(peer, local).unwrap().expect("the server's end");
            if found.rx_queue == 3 {
                break found;
            }
            std::thread::yield_now();
        };
        let me = std::process::id() as Pid;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&server);
        assert_eq!(socket_inode(me, fd), Some(found.inode));
    }

    #[test]
    fn a_thread_blocked_in_recv_shows_the_call_and_its_fd() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&server);
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            // "/proc/thread-self" links to "PID/task/TID".
            let link = fs::read_link("/proc/thread-self").unwrap();
            let tid: Pid = link.file_name().unwrap().to_str().unwrap().parse().unwrap();
            tid_tx.send(tid).unwrap();
            let mut buf = [0u8; 7];
            let _ = server.read(&mut buf);
        });
        let tid = tid_rx.recv().unwrap();
        let me = std::process::id() as Pid;
        // Poll until the thread is in its read (it may still be on its way there).
        let call = loop {
            if let Some(ThreadState::InCall { nr, args }) = thread_state(me, tid) {
                let call = classify(nr, &args);
                if matches!(call, Call::Read { .. }) {
                    break call;
                }
            }
            std::thread::yield_now();
        };
        match call {
            Call::Read {
                fd: seen, asked, ..
            } => {
                assert_eq!(seen, fd);
                assert_eq!(asked, Some(7));
            }
            other => panic!("{other:?}"),
        }
        drop(client);
        reader.join().unwrap();
    }
}
