//! Challenge mode's extras: the Python call tracer, the starter servers and the C
//! reference servers, each run for real (python3, cc and rustc must be installed).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sockstep::challenge::TracedCall;
use sockstep::challenge::level;
use sockstep::challenge::pytrace::{PyTrace, TRACE_FILE_VAR};
use sockstep::challenge::starter::{self, LANGUAGES};

/// How long a program may take to start listening, or a compiler to run: a bound
/// against hanging, never a measure.
const PATIENCE: Duration = Duration::from_secs(30);

/// A child process killed and reaped when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sockstep-extras-")
        .tempdir()
        .unwrap()
}

/// Runs a tool to completion; panics, naming it, if it is not installed.
fn run_tool(command: &mut Command) -> Output {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not run {shown} (this test needs it): {e}"));
    assert!(
        output.status.success(),
        "{shown} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn spawn(command: &mut Command) -> Running {
    let shown = format!("{command:?}");
    Running(
        command
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {shown} (this test needs it): {e}")),
    )
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Connects once the program listens; panics if it exits first.
fn connect_when_listening(program: &mut Running, port: u16) -> TcpStream {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream.set_read_timeout(Some(PATIENCE)).unwrap();
            return stream;
        }
        if let Some(status) = program.0.try_wait().unwrap() {
            panic!("the program exited ({status}) before listening on {port}");
        }
        assert!(Instant::now() < deadline, "nothing listened on {port}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    all
}

fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).unwrap();
    buf
}

// ---- The Python tracer -----------------------------------------------------------

/// The 1-based line of `source` holding `marker`.
fn line_of(source: &str, marker: &str) -> u32 {
    let at = source.lines().position(|l| l.contains(marker)).unwrap();
    u32::try_from(at).unwrap() + 1
}

/// A Python program in its own folder, run there as `python3 NAME`.
struct PythonProgram {
    dir: tempfile::TempDir,
    name: &'static str,
}

impl PythonProgram {
    fn new(name: &'static str, source: &str) -> PythonProgram {
        let dir = temp_dir();
        std::fs::write(dir.path().join(name), source).unwrap();
        PythonProgram { dir, name }
    }

    fn command(&self, env: &[(OsString, OsString)]) -> Command {
        let mut command = Command::new("python3");
        command
            .arg(self.name)
            .current_dir(self.dir.path())
            .env_remove("PYTHONPATH")
            .env_remove(TRACE_FILE_VAR)
            .envs(env.iter().map(|(k, v)| (k, v)));
        command
    }
}

const ECHO_PREFIX: &str = r#"import socket

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
print(server.getsockname()[1], flush=True)
conn, _ = server.accept()
prefix = conn.recv(5)  # RECV
payload = conn.recv(5)  # all read: the close is a FIN, not a reset
conn.sendall(prefix[::-1])  # SENDALL
conn.close()
server.close()
"#;

/// Runs ECHO_PREFIX with `env`: sends it a prefix and a payload in one write, and
/// returns what came back and the client's port.
fn run_echo_prefix(program: &PythonProgram, env: &[(OsString, OsString)]) -> (Vec<u8>, u16) {
    let mut running = spawn(program.command(env).stdout(Stdio::piped()));
    let mut port = String::new();
    BufReader::new(running.0.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port: u16 = port.trim().parse().expect("the program prints its port");
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    client.write_all(b"00005hello").unwrap();
    let reply = read_to_end(&mut client);
    let status = running.0.wait().unwrap();
    assert!(status.success(), "the program failed: {status}");
    (reply, client.local_addr().unwrap().port())
}

#[test]
fn pytrace_reports_a_recv_at_the_learners_line_with_its_bytes_and_peer() {
    let program = PythonProgram::new("server.py", ECHO_PREFIX);
    let mut trace = PyTrace::new().unwrap();
    let (reply, client_port) = run_echo_prefix(&program, &trace.env(None));
    assert_eq!(reply, b"50000", "the program behaves as it does untraced");

    let calls = trace.take_calls();
    let recv = TracedCall {
        file: "server.py".into(),
        line: line_of(ECHO_PREFIX, "# RECV"),
        call: "recv".into(),
        asked: Some(5),
        bytes: b"00005".to_vec(),
        error: None,
        peer_port: Some(client_port),
    };
    let sendall = TracedCall {
        line: line_of(ECHO_PREFIX, "# SENDALL"),
        call: "sendall".into(),
        bytes: b"50000".to_vec(),
        ..recv.clone()
    };
    assert!(calls.contains(&recv), "{calls:#?}");
    assert!(calls.contains(&sendall), "{calls:#?}");
    let accept = calls.iter().find(|c| c.call == "accept").expect("accept");
    assert_eq!(accept.peer_port, Some(client_port));
    assert!(
        trace.take_calls().is_empty(),
        "a second take has nothing new"
    );
}

#[test]
fn pytrace_keeps_the_learners_pythonpath_and_sitecustomize() {
    let source = r#"import builtins, os, socket, sys
import sitecustomize
import mylib

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
client = socket.create_connection(server.getsockname())
conn, _ = server.accept()
print(builtins.LEARNER_SITE, mylib.VALUE, os.path.basename(os.path.dirname(sitecustomize.__file__)),
      any("sockstep-trace" in p for p in sys.path))
"#;
    let program = PythonProgram::new("prog.py", source);
    let library = program.dir.path().join("lib");
    std::fs::create_dir(&library).unwrap();
    std::fs::write(
        library.join("sitecustomize.py"),
        "import builtins\nbuiltins.LEARNER_SITE = 'ran'\n",
    )
    .unwrap();
    std::fs::write(library.join("mylib.py"), "VALUE = 42\n").unwrap();

    let mut trace = PyTrace::new().unwrap();
    let env = trace.env(Some(library.as_os_str()));
    let output = run_tool(&mut program.command(&env));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "ran 42 lib False\n",
        "the learner's sitecustomize ran, their PYTHONPATH holds, ours is gone from sys.path"
    );
    assert!(
        trace.take_calls().iter().any(|c| c.call == "accept"),
        "and the calls are still traced"
    );
}

#[test]
fn pytrace_records_a_reset_and_raises_it_unchanged() {
    let source = r#"import socket, struct, traceback

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
client = socket.create_connection(server.getsockname())
conn, _ = server.accept()
client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
client.close()
try:
    conn.recv(5)  # RESET
except Exception as error:
    print(type(error).__name__, error.errno, error.args, error.__context__)
    print(traceback.format_exception_only(type(error), error))
"#;
    let program = PythonProgram::new("reset.py", source);
    let untraced = run_tool(&mut program.command(&[]));
    let mut trace = PyTrace::new().unwrap();
    let traced = run_tool(&mut program.command(&trace.env(None)));
    let printed = String::from_utf8_lossy(&traced.stdout);
    assert!(printed.starts_with("ConnectionResetError 104"), "{printed}");
    assert_eq!(printed, String::from_utf8_lossy(&untraced.stdout));

    let calls = trace.take_calls();
    let recv = calls.iter().find(|c| c.call == "recv").expect("the recv");
    assert_eq!(recv.line, line_of(source, "# RESET"));
    assert_eq!(recv.error.as_deref(), Some("ConnectionResetError"));
    assert_eq!((recv.asked, recv.bytes.len()), (Some(5), 0));
}

#[test]
fn pytrace_follows_makefile_files_into_a_forked_child() {
    let source = r#"import os, socket

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
client = socket.create_connection(server.getsockname())
conn, _ = server.accept()
client.sendall(b"12345")
reader = conn.makefile("rb")
writer = conn.makefile("wb")
pid = os.fork()
if pid == 0:
    got = reader.read(5)  # READ
    writer.write(got[::-1])
    writer.flush()  # FLUSH
    os._exit(0)
os.waitpid(pid, 0)
print(client.recv(5))
"#;
    let program = PythonProgram::new("forks.py", source);
    let mut trace = PyTrace::new().unwrap();
    let output = run_tool(&mut program.command(&trace.env(None)));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "b'54321'\n");

    let calls = trace.take_calls();
    let seen: Vec<_> = calls
        .iter()
        .map(|c| (c.line, c.call.as_str(), c.asked, c.bytes.as_slice()))
        .collect();
    let read = (
        line_of(source, "# READ"),
        "makefile-read",
        Some(8192),
        &b"12345"[..],
    );
    let flush = (
        line_of(source, "# FLUSH"),
        "makefile-write",
        Some(5),
        &b"54321"[..],
    );
    assert!(seen.contains(&read) && seen.contains(&flush), "{seen:?}");
}

#[test]
fn pytrace_takes_and_refuses_arguments_exactly_as_the_real_methods_do() {
    let source = r#"import socket

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
client = socket.create_connection(server.getsockname())
conn, _ = server.accept()
client.sendall(b"abcdef")
buf = bytearray(3)
print(conn.recv_into(buf, flags=0), bytes(buf))
print(conn.recv_into(buffer=buf, nbytes=2), bytes(buf))
for wrong in (lambda: conn.recv(), lambda: conn.recv(bufsize=1), lambda: conn.send()):
    try:
        wrong()
    except TypeError as error:
        print("TypeError:", error)
"#;
    let program = PythonProgram::new("arguments.py", source);
    let untraced = run_tool(&mut program.command(&[]));
    let mut trace = PyTrace::new().unwrap();
    let traced = run_tool(&mut program.command(&trace.env(None)));
    let printed = String::from_utf8_lossy(&traced.stdout);
    assert!(printed.starts_with("3 b'abc'\n2 b'dec'\n"), "{printed}");
    assert_eq!(printed, String::from_utf8_lossy(&untraced.stdout));
    let asked: Vec<_> = trace
        .take_calls()
        .into_iter()
        .filter(|c| c.call == "recv_into")
        .map(|c| c.asked)
        .collect();
    assert_eq!(asked, [Some(3), Some(2)]);
}

#[test]
fn pytrace_without_the_trace_file_variable_writes_nothing() {
    let program = PythonProgram::new("server.py", ECHO_PREFIX);
    let mut trace = PyTrace::new().unwrap();
    let env: Vec<_> = trace
        .env(None)
        .into_iter()
        .filter(|(name, _)| name != TRACE_FILE_VAR)
        .collect();
    assert_eq!(env.len(), 1, "PYTHONPATH alone");
    let (reply, _) = run_echo_prefix(&program, &env);
    assert_eq!(reply, b"50000");
    assert!(!trace.calls_file().exists());
    assert!(trace.take_calls().is_empty());
}

#[test]
fn pytrace_folder_is_private_and_gone_after_drop() {
    let trace = PyTrace::new().unwrap();
    let env = trace.env(Some("/learner/lib".as_ref()));
    let pythonpath = &env.iter().find(|(k, _)| k == "PYTHONPATH").unwrap().1;
    let pythonpath = PathBuf::from(pythonpath);
    let text = pythonpath.to_str().unwrap();
    let (dir, rest) = text.split_once(':').unwrap();
    assert_eq!(
        rest, "/learner/lib",
        "the learner's PYTHONPATH comes after ours"
    );
    let dir = PathBuf::from(dir);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(dir.join("sitecustomize.py").is_file());
    assert!(trace.calls_file().starts_with(&dir));
    drop(trace);
    assert!(!dir.exists());
}

#[test]
fn pytrace_take_skips_garbage_and_waits_for_a_torn_last_line() {
    let mut trace = PyTrace::new().unwrap();
    let call = r#"{"file": "s.py", "line": 3, "call": "recv", "asked": 5, "bytes": "3030", "error": null, "peer_port": 4000}"#;
    let (head, tail) = call.split_at(40);
    let written = format!("{call}\nnot json at all\n{{\"file\": 1}}\n\n{head}");
    std::fs::write(trace.calls_file(), written).unwrap();
    let first = trace.take_calls();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!((first[0].line, first[0].bytes.as_slice()), (3, &b"00"[..]));
    assert!(
        trace.take_calls().is_empty(),
        "the torn line is not done yet"
    );

    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(trace.calls_file())
        .unwrap();
    writeln!(file, "{tail}").unwrap();
    assert_eq!(trace.take_calls(), first, "the torn line, once whole");
}

// ---- The starters ----------------------------------------------------------------

/// Saves the starter for `language` in `dir` and builds it; returns how to run it.
fn build_starter(language: &str, level: &level::Level, dir: &Path) -> Command {
    let name = starter::file_name(language).unwrap();
    let source = dir.join(name);
    std::fs::write(&source, starter::starter(language, level).unwrap()).unwrap();
    let program = dir.join("server");
    match language {
        "python" => {
            run_tool(
                Command::new("python3")
                    .args(["-m", "py_compile"])
                    .arg(&source),
            );
            let mut command = Command::new("python3");
            command.arg(&source);
            command
        }
        "c" => {
            run_tool(
                Command::new("cc")
                    .args(["-Wall", "-Wextra", "-Werror", "-o"])
                    .arg(&program)
                    .arg(&source),
            );
            Command::new(&program)
        }
        "rust" => {
            run_tool(
                Command::new("rustc")
                    .args(["--edition", "2021", "-D", "warnings", "-o"])
                    .arg(&program)
                    .arg(&source),
            );
            Command::new(&program)
        }
        other => panic!("no way to build {other}"),
    }
}

#[test]
fn starters_compile_cleanly_for_every_level() {
    let dir = temp_dir();
    for level in level::levels() {
        for language in LANGUAGES {
            let source = dir.path().join(starter::file_name(language).unwrap());
            std::fs::write(&source, starter::starter(language, level).unwrap()).unwrap();
            let mut check = match language {
                "python" => {
                    let mut c = Command::new("python3");
                    c.args(["-m", "py_compile"]);
                    c
                }
                "c" => {
                    let mut c = Command::new("cc");
                    c.args(["-fsyntax-only", "-Wall", "-Wextra", "-Werror"]);
                    c
                }
                "rust" => {
                    let mut c = Command::new("rustc");
                    c.args(["--edition", "2021", "-D", "warnings", "--emit=metadata"])
                        .arg("--out-dir")
                        .arg(dir.path());
                    c
                }
                other => panic!("no check for {other}"),
            };
            run_tool(check.arg(&source));
        }
    }
}

#[test]
fn starters_listen_accept_and_serve_one_connection_after_another() {
    let level = level::find("length-prefix").unwrap();
    for language in LANGUAGES {
        let dir = temp_dir();
        let mut command = build_starter(language, level, dir.path());
        // The port from argv[1]:
        let port = free_port();
        let mut program = spawn(command.arg(port.to_string()).env_remove("SOCKSTEP_PORT"));
        for _ in 0..2 {
            // handle() does nothing yet, so the server closes the connection: that
            // end of file shows it was accepted (a connection only queued stays open).
            let mut client = connect_when_listening(&mut program, port);
            assert_eq!(read_to_end(&mut client), b"", "{language}");
        }
        drop(program);
        // The port from SOCKSTEP_PORT:
        let mut command = build_starter(language, level, dir.path());
        let port = free_port();
        let mut program = spawn(command.env("SOCKSTEP_PORT", port.to_string()));
        let mut client = connect_when_listening(&mut program, port);
        assert_eq!(read_to_end(&mut client), b"", "{language}");
    }
}

// ---- The C reference servers -----------------------------------------------------

/// Builds tests/fixtures/challenge/c/NAME.c with cc into `dir`.
fn build_c_fixture(name: &str, dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/challenge/c")
        .join(format!("{name}.c"));
    let program = dir.join(name);
    run_tool(
        Command::new("cc")
            .args(["-O1", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&program)
            .arg(&source),
    );
    program
}

fn start_c_fixture(name: &str, dir: &Path) -> (Running, u16) {
    let program = build_c_fixture(name, dir);
    let port = free_port();
    (spawn(Command::new(program).arg(port.to_string())), port)
}

fn framed(payload: &[u8]) -> Vec<u8> {
    let mut message = format!("{:05}", payload.len()).into_bytes();
    message.extend_from_slice(payload);
    message
}

fn reversed(payload: &[u8]) -> Vec<u8> {
    framed(&payload.iter().rev().copied().collect::<Vec<_>>())
}

/// The system calls that read a socket, by number on this architecture.
#[cfg(target_arch = "x86_64")]
const READ_CALLS: [u64; 2] = [0, 45]; // read, recvfrom
#[cfg(target_arch = "aarch64")]
const READ_CALLS: [u64; 2] = [63, 207];

/// Waits until the (single-threaded) program is blocked reading `asked` bytes, as
/// /proc/PID/syscall shows ("NR FD BUF COUNT ..."): it has taken what came before.
fn wait_until_reading(program: &Running, asked: u64) {
    let path = format!("/proc/{}/syscall", program.0.id());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let line = std::fs::read_to_string(&path).unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        let number = fields.first().and_then(|n| n.parse::<u64>().ok());
        let count = fields
            .get(3)
            .and_then(|c| u64::from_str_radix(c.trim_start_matches("0x"), 16).ok());
        if number.is_some_and(|n| READ_CALLS.contains(&n)) && count == Some(asked) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the program never waited to read {asked} bytes: {line}"
        );
        std::thread::yield_now();
    }
}

#[test]
fn c_correct_length_prefix_server_frames_every_way_the_bytes_come() {
    let dir = temp_dir();
    let (mut program, port) = start_c_fixture("length_prefix_correct", dir.path());
    let mut client = connect_when_listening(&mut program, port);

    // Two messages in one write.
    let mut two = framed(b"hello");
    two.extend(framed(b"abc"));
    client.write_all(&two).unwrap();
    let mut expected = reversed(b"hello");
    expected.extend(reversed(b"abc"));
    assert_eq!(read_exactly(&mut client, expected.len()), expected);

    // A prefix cut after 3 bytes: the server has read those 3, and asks for 2 more.
    client.write_all(b"000").unwrap();
    wait_until_reading(&program, 2);
    client.write_all(b"05hello").unwrap();
    assert_eq!(read_exactly(&mut client, 10), reversed(b"hello"));

    // The largest message and an empty one, in one go.
    let big: Vec<u8> = (0..99_999u32).map(|i| (i % 251) as u8).collect();
    let mut both = framed(&big);
    both.extend(framed(b""));
    client.write_all(&both).unwrap();
    let mut expected = reversed(&big);
    expected.extend(reversed(b""));
    assert_eq!(read_exactly(&mut client, expected.len()), expected);

    // The client closes: the server sees recv() == 0, closes, and takes the next.
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b"");

    // A client that closes mid-message gets no reply, only the close.
    let mut client = connect_when_listening(&mut program, port);
    client.write_all(b"00010abc").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b"");

    // A client that resets after a big request, without reading the reply: the
    // server's write fails (EPIPE or ECONNRESET), and it lives on.
    let mut client = connect_when_listening(&mut program, port);
    client.write_all(&framed(&big)).unwrap();
    socket2::SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);

    let mut client = connect_when_listening(&mut program, port);
    client.write_all(&framed(b"still here")).unwrap();
    assert_eq!(read_exactly(&mut client, 15), reversed(b"still here"));
    assert!(
        program.0.try_wait().unwrap().is_none(),
        "it is still running"
    );
}

#[test]
fn c_naive_length_prefix_server_breaks_on_a_cut_prefix() {
    let dir = temp_dir();
    let (mut program, port) = start_c_fixture("length_prefix_naive", dir.path());
    let mut client = connect_when_listening(&mut program, port);

    // Whole messages one at a time: it passes.
    client.write_all(&framed(b"hello")).unwrap();
    assert_eq!(read_exactly(&mut client, 10), reversed(b"hello"));

    // Three bytes of a prefix: its one recv() takes "000" for the whole prefix, the
    // length 0, and waits in a recv() of 0 bytes (which on Linux waits for data).
    wait_until_reading(&program, 5);
    client.write_all(b"000").unwrap();
    wait_until_reading(&program, 0);
    // Then that recv() returns 0, which it takes for the client's close: it hangs up
    // (with the rest unread, by a reset) and the message is never answered.
    client.write_all(b"05hello").unwrap();
    let mut reply = Vec::new();
    let end = client.read_to_end(&mut reply);
    assert_eq!(reply, b"", "no reply");
    assert!(
        end.is_ok()
            || end
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::ConnectionReset),
        "{end:?}"
    );
}
