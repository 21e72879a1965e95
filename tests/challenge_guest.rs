//! The learner's program as a guest, with real processes: the hostile programs in
//! tests/fixtures/challenge/hostile each give their verdict, and whatever happens
//! no process of the program's group and no port is left behind. The time limits
//! here are limits, never asserts of speed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sockstep::challenge::guest::{DEFAULT_MEMORY_LIMIT, Guest, GuestError, GuestOptions};
use sockstep::challenge::{Delivery, ProgramEnd, Target, Waiting, procfs};

/// Generous bound for things that happen by themselves (a crash, a busy loop
/// showing in CPU time): a test stuck past it fails instead of hanging.
const EVENTUALLY: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/challenge/hostile")
        .join(name);
    assert!(path.exists(), "missing fixture {}", path.display());
    path.display().to_string()
}

fn python() -> String {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .expect("these tests need python3 on PATH");
    assert!(found.status.success(), "python3 --version failed");
    "python3".to_string()
}

fn options(script: &str) -> GuestOptions {
    GuestOptions {
        argv: vec![python(), fixture(script), "{port}".into()],
        level: "delimiter".into(),
        slow: 1.0,
        memory_limit: Some(DEFAULT_MEMORY_LIMIT),
        trace: false,
    }
}

fn start(script: &str) -> Guest {
    Guest::start(&options(script)).unwrap_or_else(|e| panic!("{script} did not start: {e}"))
}

/// Every process whose process group is `group` (zombies included).
fn group_members(group: i32) -> Vec<i32> {
    procfs::group_processes(group)
}

/// The guest's process group: its main process's id, found by its port's listener.
fn group_of(guest: &Guest) -> i32 {
    let table = procfs::tcp_sockets().expect("/proc/net/tcp is readable here");
    let listener = procfs::find_listener(&table, guest.port()).expect("it listens");
    let owner = procfs::socket_owners(listener.inode)[0];
    procfs::stat(owner).unwrap().pgrp
}

/// Nothing of the program remains: no process in its group, and its port can be
/// bound again.
fn assert_nothing_left(group: i32, port: u16) {
    let left = group_members(group);
    assert!(
        left.is_empty(),
        "processes of group {group} remain: {left:?}"
    );
    TcpListener::bind(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("port {port} is still in use: {e}"));
}

/// No process runs the fixture `script` (for programs whose group is unknown
/// here: they never listened).
fn assert_no_process_runs(script: &str) {
    let path = fixture(script);
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let state = procfs::stat(
            entry
                .file_name()
                .to_str()
                .unwrap_or("")
                .parse()
                .unwrap_or(0),
        );
        assert!(
            !String::from_utf8_lossy(&cmdline).contains(&path) || state.is_none(),
            "{script} still runs as {:?}",
            entry.file_name()
        );
    }
}

fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + EVENTUALLY;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn exited(guest: &mut Guest) -> ProgramEnd {
    wait_for("the program to exit", || guest.exited())
}

#[test]
fn a_program_that_never_listens_is_stopped_at_the_start_deadline() {
    let mut options = options("never_listens.py");
    options.slow = 0.1; // a 1 s deadline
    let error = Guest::start(&options).unwrap_err();
    let GuestError::NeverListened { port, end, .. } = &error else {
        panic!("{error}");
    };
    assert!(end.killed, "{end:?}");
    let message = error.to_string();
    assert!(
        message.contains("did not listen on 127.0.0.1:"),
        "{message}"
    );
    assert!(message.contains("within 1 s"), "{message}");
    assert!(
        message.contains("[your program] starting, but never listening"),
        "{message}"
    );
    assert_no_process_runs("never_listens.py");
    TcpListener::bind(("127.0.0.1", *port)).unwrap();
}

#[test]
fn a_program_that_exits_early_is_told_with_its_code_and_output() {
    let error = Guest::start(&options("exits_early.py")).unwrap_err();
    let GuestError::Exited { end, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(end.exit_code, Some(7));
    assert!(!end.killed);
    assert_eq!(end.describe(), "exited with code 7");
    let message = error.to_string();
    assert!(
        message.contains("exited with code 7 before it listened"),
        "{message}"
    );
    assert!(
        message.contains("[your program] oops: bad configuration"),
        "{message}"
    );
}

#[test]
fn a_command_that_cannot_run_says_so() {
    let options = GuestOptions {
        argv: vec!["/no/such/server".into(), "{port}".into()],
        ..options("hangs.py")
    };
    let error = Guest::start(&options).unwrap_err();
    assert!(matches!(error, GuestError::Spawn { .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("could not run `/no/such/server "),
        "{error}"
    );
}

#[test]
fn a_script_that_backgrounds_its_server_is_told_to_run_it_in_the_foreground() {
    let error = Guest::start(&options("backgrounds_server.py")).unwrap_err();
    let GuestError::LeftBehind { end, port, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(end.exit_code, Some(0));
    assert!(
        error
            .to_string()
            .contains("run your server in the foreground")
    );
    assert_no_process_runs("backgrounds_server.py");
    TcpListener::bind(("127.0.0.1", *port)).unwrap();
}

#[test]
fn a_hanging_program_waits_in_a_call_and_is_killed_with_the_reason() {
    let mut guest = start("hangs.py");
    let (group, port) = (group_of(&guest), guest.port());
    let mut conn = guest.connect().unwrap();
    conn.write_all(b"hello\n").unwrap();
    let waiting = wait_for("the program to sleep", || match guest.waiting(&conn) {
        Waiting::InCall(call) if call == "sleep" => Some(call),
        _ => None,
    });
    assert_eq!(waiting, "sleep");
    // It never reads: settle returns at its deadline.
    guest.settle(&conn, Instant::now() + Duration::from_millis(50));
    assert_eq!(guest.exited(), None);
    let end = guest.finish("no reply after 2,000 ms");
    assert!(end.killed);
    assert_eq!(end.signal, Some(15));
    assert_eq!(
        end.describe(),
        "was stopped by sockstep: no reply after 2,000 ms"
    );
    drop(conn);
    assert_nothing_left(group, port);
}

#[test]
fn a_busy_loop_after_close_shows_in_cpu_time() {
    let mut guest = start("busy_after_close.py");
    let (group, port) = (group_of(&guest), guest.port());
    let mut conn = guest.connect().unwrap();
    conn.write_all(b"x").unwrap();
    let mut reply = [0u8; 1];
    conn.read_exact(&mut reply).unwrap();
    let waiting = guest.waiting(&conn);
    assert!(
        matches!(
            waiting,
            Waiting::InRead {
                call: "recv",
                asked: 1024
            }
        ),
        "{waiting:?}"
    );
    let before = guest.cpu_time().expect("cpu time is readable");
    drop(conn);
    wait_for("CPU time to rise by 200 ms", || {
        (guest.cpu_time()? >= before + Duration::from_millis(200)).then_some(())
    });
    let end = guest.finish("it used a core after the client closed");
    assert!(end.killed);
    assert_nothing_left(group, port);
}

#[test]
fn sigpipe_is_named() {
    let mut guest = start("sigpipe.py");
    let (group, port) = (group_of(&guest), guest.port());
    let mut conn = guest.connect().unwrap();
    conn.write_all(b"00005hello").unwrap();
    drop(conn);
    let end = exited(&mut guest);
    assert_eq!(end.signal, Some(13));
    assert!(!end.killed);
    assert_eq!(
        end.describe(),
        "was killed by SIGPIPE: it wrote to a connection the client had closed"
    );
    let finished = guest.finish("the level ended");
    assert!(!finished.killed, "it had exited by itself: {finished:?}");
    assert_eq!(finished.signal, Some(13));
    assert_nothing_left(group, port);
}

#[test]
fn ten_megabytes_of_output_are_kept_to_their_last_64_kib() {
    let mut guest = start("prints_10mb.py");
    let (group, port) = (group_of(&guest), guest.port());
    let mut conn = guest.connect().unwrap();
    conn.write_all(b"ping").unwrap();
    let mut echo = [0u8; 4];
    conn.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"ping");
    drop(conn);
    let end = guest.finish("the level ended");
    assert!(end.output_cut);
    assert!(end.output_tail.len() <= 64 * 1024);
    assert!(
        end.output_tail.len() > 60 * 1024,
        "{}",
        end.output_tail.len()
    );
    assert!(end.output_tail.ends_with("END OF THE 10 MB\n"));
    assert_nothing_left(group, port);
}

#[test]
fn a_forked_child_is_killed_with_the_program() {
    let guest = start("forks_child.py");
    let (group, port) = (group_of(&guest), guest.port());
    wait_for("the child to be forked", || {
        (group_members(group).len() >= 2).then_some(())
    });
    let end = guest.finish("the level ended");
    assert!(end.killed);
    assert_nothing_left(group, port);
}

#[test]
fn dropping_a_guest_kills_its_group() {
    let guest = start("forks_child.py");
    let (group, port) = (group_of(&guest), guest.port());
    wait_for("the child to be forked", || {
        (group_members(group).len() >= 2).then_some(())
    });
    drop(guest);
    assert_nothing_left(group, port);
}

#[test]
fn a_panic_while_a_guest_runs_kills_its_group() {
    let (tx, rx) = std::sync::mpsc::channel();
    let result = std::panic::catch_unwind(move || {
        let guest = start("forks_child.py");
        let group = group_of(&guest);
        tx.send((group, guest.port())).unwrap();
        wait_for("the child to be forked", || {
            (group_members(group).len() >= 2).then_some(())
        });
        panic!("a test's deliberate panic with a guest running");
    });
    assert!(result.is_err());
    let (group, port) = rx.recv().unwrap();
    assert_nothing_left(group, port);
}

#[test]
fn the_memory_limit_turns_a_huge_allocation_into_a_memory_error() {
    let mut guest = start("allocates_big.py");
    let mut conn = guest.connect().unwrap();
    conn.write_all(b"\xff\xff\xff\xff").unwrap();
    let end = exited(&mut guest);
    assert_eq!(end.exit_code, Some(1), "{end:?}");
    assert!(
        end.output_tail.contains("MemoryError"),
        "{}",
        end.output_tail
    );
    assert_eq!(end.describe(), "ran out of memory under its 1 GiB limit");
}

/// One line of the reply per read the server made: the size it returned. A line
/// that never comes fails the test (after `EVENTUALLY`) instead of hanging it.
fn read_line(reader: &mut BufReader<TcpStream>) -> String {
    reader.get_ref().set_read_timeout(Some(EVENTUALLY)).unwrap();
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("no reply line ({e}); got {line:?}"));
    line.trim_end().to_string()
}

/// Writes "ab", "cde", "f" with `settle` before each, and returns the sizes of
/// the reads the server reports, until they account for all six bytes.
fn settled_read_sizes(target: &mut dyn Target, conn: &TcpStream) -> Vec<String> {
    let mut replies = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn.try_clone().unwrap();
    for piece in [&b"ab"[..], b"cde", b"f"] {
        target.settle(conn, Instant::now() + Duration::from_secs(5));
        writer.write_all(piece).unwrap();
    }
    let mut sizes = Vec::new();
    let mut read = 0;
    while read < 6 {
        let size = read_line(&mut replies);
        read += size.parse::<usize>().unwrap();
        sizes.push(size);
    }
    sizes
}

#[test]
fn lockstep_settles_so_that_each_read_sees_exactly_one_piece() {
    // It pauses 50 ms after each reply: pieces written meanwhile would meet.
    let mut guest = Guest::start(&GuestOptions {
        argv: vec![
            python(),
            fixture("read_lengths.py"),
            "{port}".into(),
            "50".into(),
        ],
        ..options("read_lengths.py")
    })
    .unwrap();
    assert_eq!(guest.delivery(), Delivery::Lockstep);

    // Settled between pieces: three reads of 2, 3 and 1 bytes.
    let conn = guest.connect().unwrap();
    conn.set_nodelay(true).unwrap();
    assert_eq!(settled_read_sizes(&mut guest, &conn), ["2", "3", "1"]);

    // Unsettled: the same pieces, written while the server still serves the first
    // connection, wait in the second's queue and come out in one read.
    let mut second = guest.connect().unwrap();
    second.set_nodelay(true).unwrap();
    for piece in [&b"ab"[..], b"cde", b"f"] {
        second.write_all(piece).unwrap();
    }
    let (local, peer) = (second.peer_addr().unwrap(), second.local_addr().unwrap());
    wait_for("the six bytes to be queued", || {
        (procfs::diag(local, peer).ok()??.rx_queue == 6).then_some(())
    });
    drop(conn);
    let mut replies = BufReader::new(second.try_clone().unwrap());
    assert_eq!(read_line(&mut replies), "6");
    guest.finish("the level ended");
}

#[test]
fn lockstep_sees_a_c_server_wait_in_read() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("read_lengths");
    let built = std::process::Command::new("cc")
        .arg(fixture("read_lengths.c"))
        .arg("-o")
        .arg(&binary)
        .status()
        .expect("this test needs cc on PATH");
    assert!(built.success(), "cc failed");
    let mut guest = Guest::start(&GuestOptions {
        argv: vec![binary.display().to_string(), "{port}".into()],
        ..options("read_lengths.py")
    })
    .unwrap();
    assert_eq!(guest.delivery(), Delivery::Lockstep);
    let conn = guest.connect().unwrap();
    conn.set_nodelay(true).unwrap();
    assert_eq!(settled_read_sizes(&mut guest, &conn), ["2", "3", "1"]);
    let waiting = wait_for("the server to read", || match guest.waiting(&conn) {
        Waiting::InRead { call, asked } => Some((call, asked)),
        _ => None,
    });
    assert_eq!(waiting, ("read", 1024));
    drop(conn);
    guest.finish("the level ended");
}

#[test]
fn lockstep_sees_an_asyncio_server_wait_in_epoll() {
    let mut guest = start("read_lengths_asyncio.py");
    assert_eq!(guest.delivery(), Delivery::Lockstep);
    let conn = guest.connect().unwrap();
    conn.set_nodelay(true).unwrap();
    assert_eq!(settled_read_sizes(&mut guest, &conn), ["2", "3", "1"]);
    let waiting = wait_for("the server to wait", || match guest.waiting(&conn) {
        Waiting::InCall(call) if call == "epoll_wait()" => Some(call),
        _ => None,
    });
    assert_eq!(waiting, "epoll_wait()");
    drop(conn);
    guest.finish("the level ended");
}

#[test]
fn a_forking_server_is_seen_reading_in_its_child() {
    let mut guest = start("read_lengths_forking.py");
    let (group, port) = (group_of(&guest), guest.port());
    let conn = guest.connect().unwrap();
    assert_eq!(settled_read_sizes(&mut guest, &conn), ["2", "3", "1"]);
    let waiting = wait_for("the child to read", || match guest.waiting(&conn) {
        Waiting::InRead { call, asked } => Some((call, asked)),
        _ => None,
    });
    assert_eq!(waiting, ("recv", 1024));
    drop(conn);
    guest.finish("the level ended");
    assert_nothing_left(group, port);
}

/// A server this test starts itself, as a learner would for `--connect`: in the
/// test's own process group.
struct OwnServer(std::process::Child);

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_server_the_learner_started_is_played_in_lockstep() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = OwnServer(
        std::process::Command::new(python())
            .args([fixture("read_lengths.py"), port.to_string()])
            .spawn()
            .unwrap(),
    );
    let address = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for("the server to listen", || TcpStream::connect(address).ok());
    let mut target = sockstep::challenge::guest::Connected::new(address);
    assert_eq!(target.delivery(), Delivery::Lockstep);
    assert_eq!(target.exited(), None);
    let conn = target.connect().unwrap();
    assert_eq!(settled_read_sizes(&mut target, &conn), ["2", "3", "1"]);
    assert!(target.cpu_time().is_some());
}

#[test]
fn nobody_listening_for_connect_means_pauses() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target =
        sockstep::challenge::guest::Connected::new(format!("127.0.0.1:{port}").parse().unwrap());
    assert_eq!(target.delivery(), Delivery::Paused { pause_ms: 20 });
}

/// Set in the copy of this test binary that plays sockstep being interrupted.
const REAPER_CHILD: &str = "SOCKSTEP_TEST_REAPER_CHILD";

#[test]
fn an_interrupted_sockstep_kills_every_guest_and_exits_130() {
    if std::env::var_os(REAPER_CHILD).is_some() {
        sockstep::challenge::guest::install_reaper().unwrap();
        // Traced, so that the tracer's temporary folder must go too.
        let guest = Guest::start(&GuestOptions {
            trace: true,
            ..options("forks_child.py")
        })
        .unwrap();
        let group = group_of(&guest);
        wait_for("the child to be forked", || {
            (group_members(group).len() >= 2).then_some(())
        });
        let environ = std::fs::read(format!("/proc/{group}/environ")).unwrap();
        let trace_file = environ
            .split(|&b| b == 0)
            .find_map(|v| v.strip_prefix(b"SOCKSTEP_TRACE_FILE="))
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .expect("a traced guest is told its trace file");
        println!("TRACE {trace_file}");
        println!("GUEST {group} {}", guest.port());
        std::thread::sleep(EVENTUALLY);
        panic!("no signal came");
    }
    let mut copy = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "an_interrupted_sockstep_kills_every_guest_and_exits_130",
            "--nocapture",
        ])
        .env(REAPER_CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(copy.stdout.take().unwrap()).lines();
    let mut trace_file = None;
    let (group, port) = loop {
        let line = lines
            .next()
            .expect("the copy ended before starting its guest")
            .unwrap();
        if let Some(file) = line.strip_prefix("TRACE ") {
            trace_file = Some(std::path::PathBuf::from(file));
        }
        if let Some(rest) = line.strip_prefix("GUEST ") {
            let (group, port) = rest.split_once(' ').unwrap();
            break (group.parse::<i32>().unwrap(), port.parse::<u16>().unwrap());
        }
    };
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &copy.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(copy.wait().unwrap().code(), Some(130));
    assert_nothing_left(group, port);
    let trace_dir = trace_file.expect("the copy named its trace file");
    let trace_dir = trace_dir.parent().unwrap();
    assert!(
        !trace_dir.exists(),
        "{} outlived the run",
        trace_dir.display()
    );
}

#[test]
fn a_program_that_ignores_sigterm_gets_sigkill() {
    let guest = start("ignores_term.py");
    let (group, port) = (group_of(&guest), guest.port());
    wait_for("the child to be forked", || {
        (group_members(group).len() >= 2).then_some(())
    });
    let end = guest.finish("the level ended");
    assert!(end.killed);
    assert_eq!(end.signal, Some(9), "{end:?}");
    assert_nothing_left(group, port);
}
