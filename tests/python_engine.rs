//! Lessons in Python run for real: real python3 processes on the same relay with the
//! same cuts, traced call by call through the shim, judged as the Rust code is; and
//! Python code that is stuck, spins, loops or raises is named, stopped and killed.
//! These tests need python3 (3.8 or newer): without it they fail, never skip.

mod common;

use std::process::Command;

use sockstep::engine::{
    self, Call, CallResult, Code, Event, Limits, Mode, Outcome, OutcomeKind, Role, RunOptions,
    Scenario, Side, Trace,
};
use sockstep::lesson::{Lang, Lesson};
use sockstep::python::{self, PythonFile};

/// The interpreter, or a failure that says what is missing.
fn interpreter() -> std::path::PathBuf {
    python::interpreter()
        .unwrap_or_else(|e| panic!("these tests need Python 3.8 or newer, and none was found: {e}"))
}

fn run_python(slug: &str, seed: u64, mode: Mode) -> Trace {
    let trace = common::lesson(slug)
        .run_in(
            Lang::Python,
            RunOptions {
                seed,
                mode,
                ..RunOptions::default()
            },
        )
        .expect("the Python run completes");
    assert_eq!(trace.language, "python");
    trace
}

/// What a call did, without when and where: the Rust and the Python code of a
/// lesson make the same calls in lockstep.
fn calls(events: &[Event]) -> Vec<(Role, Call, usize, Vec<u8>, CallResult)> {
    events
        .iter()
        .map(|e| (e.role, e.call, e.asked, e.bytes.clone(), e.result.clone()))
        .collect()
}

/// The processes whose parent is this test process: the interpreters still alive
/// (or not yet reaped).
fn children() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .expect("/proc is readable on Linux")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // The parent's id is the second field after the command, which is in
            // parentheses and may hold spaces.
            let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
            after.split_whitespace().nth(1) == Some(&me.to_string())
        })
        .collect()
}

const LESSONS: [&str; 2] = ["welcome", "length-prefix"];

/// One test at a time: each counts this process's children, which another test's
/// interpreters would be.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn in_lockstep_python_makes_the_same_calls_as_rust_and_is_judged_the_same() {
    let _serial = serial();
    interpreter();
    for slug in LESSONS {
        let lesson = common::lesson(slug);
        for seed in 1..=4 {
            let rust = common::run(slug, seed, Mode::Lockstep);
            let python = run_python(slug, seed, Mode::Lockstep);
            assert_eq!(python.cuts, rust.cuts, "{slug} seed {seed}");
            assert_eq!(
                python.naive.outcome.kind(),
                lesson.teaches,
                "{slug} seed {seed}: {:?}",
                python.naive.outcome
            );
            assert!(
                python.correct.outcome.is_delivered(),
                "{slug} seed {seed}: {:?}",
                python.correct.outcome
            );
            for side in Side::BOTH {
                assert_eq!(
                    calls(&python.side(side).events),
                    calls(&rust.side(side).events),
                    "{slug} seed {seed} {side:?}"
                );
                assert_eq!(python.side(side).outcome, rust.side(side).outcome);
            }
        }
    }
}

#[test]
fn in_free_run_and_direct_the_python_correct_side_delivers() {
    let _serial = serial();
    interpreter();
    for slug in LESSONS {
        for mode in [Mode::FreeRun, Mode::Direct] {
            for seed in 1..=3 {
                let trace = run_python(slug, seed, mode);
                assert!(
                    trace.correct.outcome.is_delivered(),
                    "{slug} {mode:?} seed {seed}: {:?}",
                    trace.correct.outcome
                );
            }
        }
    }
    assert!(children().is_empty(), "every interpreter was reaped");
}

/// The words a line must hold to make a call of this kind.
fn made_by(call: Call) -> &'static [&'static str] {
    match call {
        Call::Recv => &[".recv(", ".recv_into(", ".read("],
        Call::Send => &[".send(", ".sendall(", ".write(", ".flush("],
        Call::Buffer => &[".write("],
        Call::Flush => &[".flush(", ".close("],
        Call::Shutdown => &[".shutdown("],
        Call::Abort => &[".close("],
        Call::SetTimeout => &[".settimeout("],
        Call::Poll => &["select"],
        Call::Deliver => &["yield "],
        Call::Piece => &[],
    }
}

#[test]
fn each_traced_line_of_the_python_file_holds_the_call_it_records() {
    let _serial = serial();
    interpreter();
    let mut total = 0;
    for lesson in sockstep::teaching::all() {
        let slug = lesson.slug;
        let file = lesson.python.expect("every lesson has a Python file");
        let lines: Vec<&str> = file.source.lines().collect();
        let trace = run_python(slug, 2, Mode::Lockstep);
        let mut checked = 0;
        for side in Side::BOTH {
            for event in trace
                .side(side)
                .events
                .iter()
                .filter(|e| e.role != Role::Relay)
            {
                let line = event.line.unwrap_or_else(|| {
                    panic!("{slug}: {:?} {:?} records no line", event.role, event.call)
                });
                let text = lines[line as usize - 1];
                assert!(
                    made_by(event.call).iter().any(|word| text.contains(word)),
                    "{}:{line} records {:?} but reads {text:?}",
                    file.path,
                    event.call
                );
                checked += 1;
            }
        }
        assert!(checked > 0, "{slug}: no call checked");
        total += checked;
    }
    assert!(total > 200, "only {total} calls checked in all");
}

/// A lesson of the test's own, on welcome's scenario (two words, one cut).
fn run_fixture(source: &'static str, limits: Limits, mode: Mode) -> Trace {
    let interpreter = interpreter();
    let file = PythonFile {
        path: "fixture.py",
        source,
    };
    let scenario = Scenario {
        limits,
        ..(common::lesson("welcome").scenario)()
    };
    let code = python::programs(&interpreter, file)
        .unwrap()
        .map(Code::External);
    engine::run_code(
        "fixture",
        &scenario,
        code,
        RunOptions {
            mode,
            ..RunOptions::default()
        },
    )
    .expect("the fixture runs")
}

/// The 1-based line of `source` holding `text`.
fn line_of(source: &str, text: &str) -> u32 {
    source
        .lines()
        .position(|line| line.contains(text))
        .map(|i| i as u32 + 1)
        .unwrap_or_else(|| panic!("no line holds {text:?}"))
}

const STUCK: &str = r#"
def send(sock, words):
    for word in words:
        sock.sendall(word)
    sock.recv(1)  # waits for a reply that never comes

def receive(sock):
    data = b''
    while len(data) < 10:
        data += sock.recv(10 - len(data))
    yield data[:5]
    yield data[5:]
    sock.recv(1)  # waits for more: nobody will send it

PARTS = {"naive": (send, receive), "correct": (send, receive)}
"#;

#[test]
fn python_waiting_for_bytes_that_never_come_is_stuck_at_its_line_and_killed() {
    let _serial = serial();
    for mode in [Mode::Lockstep, Mode::Direct] {
        let trace = run_fixture(STUCK, Limits::default(), mode);
        let line = line_of(STUCK, "waits for more");
        for side in Side::BOTH {
            match &trace.side(side).outcome {
                Outcome::Stuck {
                    role: Role::Receiver,
                    line: Some(at),
                    waited_ms,
                } => {
                    assert_eq!(*at, line, "{mode:?}");
                    // Found exactly, not by the time limit.
                    assert!(*waited_ms < Limits::default().quiet_ms, "{mode:?}");
                }
                other => panic!("{mode:?} {side:?}: {other:?}"),
            }
        }
        assert!(children().is_empty(), "every interpreter was reaped");
    }
}

/// The Python 3 pitfall of the HOWTO: bytes never equal `''`, so the loop never ends.
const SPINNING: &str = r#"
def send(sock, words):
    for word in words:
        sock.sendall(word)

def receive(sock):
    data = b''
    while True:
        chunk = sock.recv(5)
        if chunk == '':  # bytes never equal a str: this never matches
            break
        data += chunk
    yield data

PARTS = {"naive": (send, receive), "correct": (send, receive)}
"#;

#[test]
fn python_comparing_bytes_to_an_empty_str_spins_and_is_stopped() {
    let _serial = serial();
    let trace = run_fixture(SPINNING, Limits::default(), Mode::Lockstep);
    let line = line_of(SPINNING, "sock.recv(5)");
    match &trace.naive.outcome {
        Outcome::Spinning {
            calls,
            line: Some(at),
            ..
        } => {
            assert_eq!(*at, line);
            assert_eq!(*calls, Limits::default().reads_after_eof + 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(children().is_empty(), "every interpreter was reaped");
}

/// A loop that makes no call at all: only the time limit can stop it, by killing it.
const BUSY: &str = r#"
import os

def send(sock, words):
    for word in words:
        sock.sendall(word)

def receive(sock):
    if os.fork() == 0:
        while True:  # a child of the interpreter: killed with it
            pass
    while True:
        pass
    yield b''

PARTS = {"naive": (send, receive), "correct": (send, receive)}
"#;

#[test]
fn python_busy_without_calls_is_stopped_by_the_time_limit_and_killed_with_its_children() {
    let _serial = serial();
    let limits = Limits {
        quiet_ms: 300,
        ..Limits::default()
    };
    let trace = run_fixture(BUSY, limits, Mode::Lockstep);
    for side in Side::BOTH {
        assert_eq!(
            trace.side(side).outcome.kind(),
            OutcomeKind::Stuck,
            "{:?}",
            trace.side(side).outcome
        );
    }
    assert!(children().is_empty(), "every interpreter was reaped");
    // The interpreters' own children were in their process groups, and were killed:
    // soon no process runs this fixture (SIGKILL is delivered, not awaited, so this
    // waits for it: a stray would still run after a minute).
    let strays = || -> Vec<String> {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let state = stat[stat.rfind(')')? + 1..]
                    .split_whitespace()
                    .next()?
                    .to_string();
                let ours = cmdline.windows(BUSY.len()).any(|w| w == BUSY.as_bytes());
                (ours && state != "Z").then(|| format!("{pid} ({state})"))
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !strays().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(strays().is_empty(), "still running: {:?}", strays());
}

/// The HOWTO's other pitfall: `''.join()` of bytes raises TypeError.
const RAISES: &str = r#"
def send(sock, words):
    for word in words:
        sock.sendall(word)

def receive(sock):
    chunks = []
    while True:
        chunk = sock.recv(5)
        if chunk == b'':
            break
        chunks.append(chunk)
    yield ''.join(chunks)

PARTS = {"naive": (send, receive), "correct": (send, receive)}
"#;

#[test]
fn a_python_exception_is_the_sides_error_named_by_its_class() {
    let _serial = serial();
    let trace = run_fixture(RAISES, Limits::default(), Mode::Lockstep);
    match &trace.naive.outcome {
        Outcome::Error {
            role: Role::Receiver,
            error,
            message,
        } => {
            assert_eq!(error, "TypeError");
            assert!(message.starts_with("TypeError: "), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(children().is_empty(), "every interpreter was reaped");
}

#[test]
fn an_abandoned_python_run_kills_its_interpreters() {
    let _serial = serial();
    interpreter();
    let lesson: &Lesson = common::lesson("length-prefix");
    for seed in 1..=3 {
        let handle = lesson
            .start_in(
                Lang::Python,
                RunOptions {
                    seed,
                    stepping: true,
                    ..RunOptions::default()
                },
            )
            .unwrap();
        handle.step();
        // Wait until the step is over: the interpreters are up and at the gate.
        for side in Side::BOTH {
            assert!(handle.wait_for(side, std::time::Duration::from_secs(30), |s| s.settled));
        }
        assert!(!children().is_empty(), "the interpreters run");
        drop(handle);
        assert!(
            children().is_empty(),
            "seed {seed}: every interpreter was reaped"
        );
    }
}

#[test]
fn run_json_names_the_language_and_lines_of_the_python_file() {
    let _serial = serial();
    interpreter();
    let output = Command::new(env!("CARGO_BIN_EXE_sockstep"))
        .args(["run", "length-prefix", "--lang", "python", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let trace: Trace = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(trace.language, "python");
    let source = common::lesson("length-prefix").python.unwrap().source;
    let first = trace
        .correct
        .events
        .iter()
        .find(|e| e.call == Call::Recv)
        .unwrap();
    let line = source
        .lines()
        .nth(first.line.unwrap() as usize - 1)
        .unwrap();
    assert!(line.contains("sock.recv("), "{line}");
}

#[test]
fn without_a_usable_python_the_cli_says_so_in_one_sentence() {
    let _serial = serial();
    // The tutorial says so before it opens its screen.
    for args in [["run", "welcome"], ["tui", "length-prefix"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_sockstep"))
            .args(args)
            .args(["--lang", "python"])
            .env("SOCKSTEP_PYTHON", "/nonexistent/python3")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: SOCKSTEP_PYTHON=/nonexistent/python3 could not be run"),
            "{stderr}"
        );
    }
    let output = Command::new(env!("CARGO_BIN_EXE_sockstep"))
        .args(["run", "welcome", "--lang", "python"])
        .env_remove("SOCKSTEP_PYTHON")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: --lang python needs Python 3.8 or newer: set SOCKSTEP_PYTHON or put python3 on PATH\n"
    );
    // A python3 on PATH that is too old, or does not say its version.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("python3");
    for (script, expected) in [
        (
            "#!/bin/sh\necho 3.6\n",
            format!(
                "error: {} is Python 3.6; --lang python needs Python 3.8 or newer: set SOCKSTEP_PYTHON to a newer one\n",
                fake.display()
            ),
        ),
        (
            "#!/bin/sh\nexit 1\n",
            format!(
                "error: {} could not be run (it did not tell its version: exit status: 1); --lang python needs Python 3.8 or newer\n",
                fake.display()
            ),
        ),
    ] {
        std::fs::write(&fake, script).unwrap();
        let mut permissions = std::fs::metadata(&fake).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&fake, permissions).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_sockstep"))
            .args(["run", "welcome", "--lang", "python"])
            .env_remove("SOCKSTEP_PYTHON")
            .env("PATH", dir.path())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stderr), expected);
    }
    // Rust lessons keep working without Python.
    let output = Command::new(env!("CARGO_BIN_EXE_sockstep"))
        .args(["run", "welcome"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(output.status.success());
}

/// The flush lesson's protocol with `makefile('wb')`: a real io.BufferedWriter whose
/// writes stay in user space (traced as buffer) until flush() sends them.
const BUFFERED: &str = r#"
REPLY = b"OK\n"

def recv_exact(sock, n):
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if chunk == b'':
            raise EOFError("closed early")
        data += chunk
    return data

def naive(sock, requests):
    out = sock.makefile('wb')
    for request in requests:
        out.write(request)
    for _ in requests:
        recv_exact(sock, len(REPLY))

def correct(sock, requests):
    out = sock.makefile('wb')
    for request in requests:
        out.write(request)
    out.flush()
    for _ in requests:
        if recv_exact(sock, len(REPLY)) != REPLY:
            raise ValueError("the server did not answer OK")

def server(sock):
    while True:
        request = b''
        while len(request) < 8:
            chunk = sock.recv(8 - len(request))
            if chunk == b'':
                if request == b'':
                    return
                raise EOFError("closed in a request")
            request += chunk
        yield request
        sock.sendall(REPLY)

PARTS = {"naive": (naive, server), "correct": (correct, server)}
"#;

#[test]
fn makefile_wb_buffers_in_user_space_and_flush_sends_as_rusts_buffered_writer_does() {
    let _serial = serial();
    let interpreter = interpreter();
    let lesson = common::lesson("flush");
    let file = PythonFile {
        path: "buffered.py",
        source: BUFFERED,
    };
    for seed in 1..=3 {
        let code = python::programs(&interpreter, file)
            .unwrap()
            .map(Code::External);
        let options = RunOptions {
            seed,
            ..RunOptions::default()
        };
        let python =
            engine::run_code("flush", &(lesson.scenario)(), code, options.clone()).unwrap();
        let rust = lesson.run(options).unwrap();
        for side in Side::BOTH {
            assert_eq!(
                calls(&python.side(side).events),
                calls(&rust.side(side).events),
                "seed {seed} {side:?}"
            );
            assert_eq!(
                python.side(side).outcome.kind(),
                rust.side(side).outcome.kind()
            );
        }
        let buffered = python
            .correct
            .events
            .iter()
            .filter(|e| e.call == Call::Buffer);
        assert_eq!(buffered.count(), 3, "seed {seed}");
    }
    assert!(children().is_empty(), "every interpreter was reaped");
}

#[test]
fn check_lang_python_and_all_prove_the_python_lessons() {
    let _serial = serial();
    interpreter();
    let sockstep = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_sockstep"))
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let text = sockstep(&["check", "--lang", "python", "--seeds", "2"]);
    assert!(
        text.starts_with("lockstep · python · seeds 1 to 2 · "),
        "{text}"
    );
    for lesson in ["  1 welcome ", " 13 length-prefix "] {
        assert!(text.contains(&format!("✓{lesson}")), "{text}");
    }
    let json = sockstep(&[
        "check",
        "length-prefix",
        "--lang",
        "all",
        "--seeds",
        "2",
        "--mode",
        "free-run",
        "--json",
    ]);
    let checked: serde_json::Value = serde_json::from_str(&json).unwrap();
    let langs: Vec<(&str, bool)> = checked
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["lang"].as_str().unwrap(), c["holds"].as_bool().unwrap()))
        .collect();
    assert_eq!(langs, [("rust", true), ("python", true)]);
    assert!(children().is_empty());
}

/// A receiver that sets a timeout, catches `TimeoutError` and yields it: the
/// report Rust's `inbox.report(&err)` gives for a timed-out read.
const TIMES_OUT: &str = r#"
import socket

def send(sock, words):
    for word in words:
        sock.sendall(word)
    sock.recv(1)  # waits until the receiver closes

def receive(sock):
    sock.settimeout(0.05)
    data = b''
    while len(data) < 10:
        data += sock.recv(10 - len(data))
    yield data[:5]
    yield data[5:]
    try:
        sock.recv(1)  # nothing more comes: times out
    except socket.timeout as error:  # TimeoutError since Python 3.10
        yield error

PARTS = {"naive": (send, receive), "correct": (send, receive)}
"#;

#[test]
fn a_yielded_timeout_is_the_timed_out_report_and_a_timed_read_is_never_stuck() {
    let _serial = serial();
    let interpreter = interpreter();
    let file = PythonFile {
        path: "times_out.py",
        source: TIMES_OUT,
    };
    let mut scenario = (common::lesson("welcome").scenario)();
    scenario
        .messages
        .push(engine::report(std::io::ErrorKind::TimedOut));
    let code = python::programs(&interpreter, file)
        .unwrap()
        .map(Code::External);
    let trace = engine::run_code("fixture", &scenario, code, RunOptions::default()).unwrap();
    assert_eq!(
        trace.correct.outcome,
        Outcome::Delivered {
            messages: 2,
            reports: 1
        }
    );
    let timed_out = trace
        .correct
        .events
        .iter()
        .find(|e| e.result == CallResult::TimedOut)
        .expect("a recv() timed out");
    assert_eq!(timed_out.line, Some(line_of(TIMES_OUT, "times out")));
    assert!(children().is_empty(), "every interpreter was reaped");
}

/// A part that ends its process without returning: the side's error says how it
/// ended and what it printed.
const EXITS: &str = r#"
import os, sys

def send(sock, words):
    for word in words:
        sock.sendall(word)

def receive(sock):
    print("about to leave", file=sys.stderr, flush=True)
    os._exit(7)
    yield b''

PARTS = {"naive": (send, receive), "correct": (send, receive)}
"#;

#[test]
fn a_python_process_that_exits_midway_is_an_error_with_its_output() {
    let _serial = serial();
    let trace = run_fixture(EXITS, Limits::default(), Mode::Lockstep);
    match &trace.naive.outcome {
        Outcome::Error {
            role: Role::Receiver,
            error,
            message,
        } => {
            assert_eq!(error, "exited");
            assert!(
                message.contains("ended without finishing its part"),
                "{message}"
            );
            assert!(message.ends_with("about to leave"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(children().is_empty(), "every interpreter was reaped");
}

#[test]
fn stepping_python_pauses_at_the_line_of_each_call_and_runs_as_unstepped() {
    let _serial = serial();
    interpreter();
    let lesson = common::lesson("length-prefix");
    let source: Vec<&str> = lesson.python.unwrap().source.lines().collect();
    let handle = lesson
        .start_in(
            Lang::Python,
            RunOptions {
                seed: 3,
                stepping: true,
                ..RunOptions::default()
            },
        )
        .unwrap();
    let wait = std::time::Duration::from_secs(30);
    let mut lines_seen = std::collections::BTreeSet::new();
    let mut steps = 0;
    loop {
        for side in Side::BOTH {
            assert!(handle.wait_for(side, wait, |s| s.settled), "step {steps}");
        }
        let statuses = handle.status();
        if statuses.iter().all(|s| s.stopped) {
            break;
        }
        for status in statuses {
            for actor in [status.sender, status.receiver] {
                if let engine::ActorState::AtGate { line } = actor {
                    let line = line.expect("a gate in the lesson file");
                    let text = source[line as usize - 1];
                    assert!(
                        text.contains(".recv(") || text.contains(".sendall("),
                        "step {steps}: waits at line {line}: {text:?}"
                    );
                    lines_seen.insert(line);
                }
            }
        }
        assert!(steps < 200, "the run ends");
        handle.step();
        steps += 1;
    }
    let stepped = handle.join().unwrap();
    assert!(
        lines_seen.len() >= 3,
        "the waiting line moves: {lines_seen:?}"
    );
    let released = run_python("length-prefix", 3, Mode::Lockstep);
    for side in Side::BOTH {
        assert_eq!(
            calls(&stepped.side(side).events),
            calls(&released.side(side).events),
            "{side:?}"
        );
    }
    assert!(children().is_empty(), "every interpreter was reaped");
}

/// Busy parts that make no call, in a run with a time limit far off: only killing
/// them ends them.
const FOREVER: &str = r#"
# the fixture of a_process_killed_midway_leaves_no_python_running
def send(sock, words):
    while True:
        pass

def receive(sock):
    while True:
        pass
    yield b''

PARTS = {"naive": (send, receive), "correct": (send, receive)}
"#;

/// Not a test on its own: the process that `a_process_killed_midway_...` kills.
#[test]
#[ignore = "run by a_process_killed_midway_leaves_no_python_running"]
fn helper_runs_python_that_never_ends() {
    if std::env::var_os("SOCKSTEP_TEST_HELPER").is_none() {
        return;
    }
    let limits = Limits {
        quiet_ms: 600_000,
        ..Limits::default()
    };
    run_fixture(FOREVER, limits, Mode::Lockstep);
}

/// Whether `pid` runs `FOREVER` and is not a zombie.
fn runs_forever(pid: u32) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat[stat.rfind(')').map_or(0, |i| i + 1)..]
        .split_whitespace()
        .next();
    state.is_some_and(|s| s != "Z")
        && cmdline
            .windows(FOREVER.len())
            .any(|w| w == FOREVER.as_bytes())
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Processes running `FOREVER` below `root` (its fork server and its parts), zombies
/// aside. Only `root`'s own: another checkout's tests may run the same fixture.
fn running_forever_under(root: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| runs_forever(pid))
        .filter(|&pid| {
            let mut at = pid;
            while let Some(parent) = parent_of(at).filter(|&p| p > 1) {
                if parent == root {
                    return true;
                }
                at = parent;
            }
            false
        })
        .collect()
}

/// Kills the helper process however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_process_killed_midway_leaves_no_python_running() {
    let _serial = serial();
    interpreter();
    let mut helper = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "helper_runs_python_that_never_ends", "--ignored"])
            .env("SOCKSTEP_TEST_HELPER", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let root = helper.0.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // The fork server and the four busy parts.
    while running_forever_under(root).len() < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let seen = running_forever_under(root);
    assert_eq!(seen.len(), 5, "the server and four parts run: {seen:?}");
    helper.0.kill().unwrap();
    helper.0.wait().unwrap();
    // SIGKILL is delivered, not awaited: wait for their end (a minute means never).
    // Orphaned, they are no longer below the helper: look for those seen.
    let still = || -> Vec<u32> {
        seen.iter()
            .copied()
            .filter(|&pid| runs_forever(pid))
            .collect()
    };
    while !still().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(still(), Vec::<u32>::new(), "still running after the kill");
}
