//! Speaker notes: `sockstep notes` follows a real TUI in a pseudo-terminal over
//! the Unix socket it publishes on. Waits on what each side shows, with a time
//! limit, never on fixed sleeps.

#[path = "common/screen.rs"]
mod screen;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use screen::{Screen, sockstep};

const SOCKET: &str = "sockstep-notes.sock";

fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("sockstep-{name}-"))
        .tempdir()
        .expect("a temporary folder")
}

/// `sockstep notes` with its output collected as it comes.
struct Notes {
    child: Child,
    text: Arc<Mutex<String>>,
}

impl Notes {
    fn start(env: &[(&str, &Path)]) -> Notes {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sockstep"));
        command
            .arg("notes")
            .env_remove("XDG_RUNTIME_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("sockstep notes starts");
        let mut stdout = child.stdout.take().unwrap();
        let text = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&text);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        Notes { child, text }
    }

    fn wait_for(&self, what: &str, condition: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.text.lock().unwrap().clone();
            if condition(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the notes say:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn header_step(screen: &str) -> u32 {
    let first = screen.lines().next().unwrap_or_default();
    first
        .split(" · step ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The TUI on `length-prefix`, its notes published in `runtime`.
fn presenter(state: &Path, runtime: &Path) -> Screen {
    let mut command = sockstep(&["tui", "length-prefix", "--seed", "3"], state);
    command.env("XDG_RUNTIME_DIR", runtime);
    let screen = Screen::spawn(command, 40, 120);
    screen.wait_for("the first lesson screen", |s| {
        s.contains("length-prefix") && s.contains("paused before line")
    });
    screen
}

#[test]
fn notes_follow_the_tui_step_by_step_and_end_with_it() {
    let (state, runtime) = (temp_dir("notes-state"), temp_dir("notes-run"));
    let socket = runtime.path().join(SOCKET);
    // A crashed TUI's socket: nobody listens, and it must not stop the next TUI.
    drop(UnixListener::bind(&socket).unwrap());
    let mut screen = presenter(state.path(), runtime.path());
    assert_eq!(mode(&socket), 0o600, "the socket is the user's only");

    let notes = Notes::start(&[("XDG_RUNTIME_DIR", runtime.path())]);
    let text = notes.wait_for("the lesson and the first step", |t| {
        t.contains("\nstep 0 · naive: paused before line")
    });
    assert!(
        text.starts_with("══ lesson ") && text.contains("· length-prefix — "),
        "{text}"
    );
    // The page's text, once.
    let page_line = text.lines().nth(2).unwrap().to_string();
    assert!(!page_line.is_empty(), "{text}");

    let mut seen = 0;
    for _ in 0..3 {
        let before = header_step(&screen.text());
        screen.send(" ");
        let after = header_step(&screen.wait_for("the step to move", |s| header_step(s) > before));
        let expected = format!("\nstep {after} · naive: ");
        let text = notes.wait_for(&format!("step {after} in the notes"), |t| {
            t.contains(&expected)
        });
        seen = after;
        assert_eq!(
            text.matches(&page_line).count(),
            1,
            "the page is told once, not per step:\n{text}"
        );
    }
    // Each side's last call is named once it made one.
    let text = notes.wait_for("a last call", |t| t.contains("(last call: "));
    assert!(text.contains(&format!("step {seen} ·")), "{text}");

    // The next lesson: its place, slug and page, then its steps from 0.
    screen.send("n");
    let text = notes.wait_for("the next lesson and its first step", |t| {
        t.rsplit_once("══ lesson ").is_some_and(|(before, next)| {
            before.contains("══ lesson ") && next.contains("\nstep 0 · naive: paused before line")
        })
    });
    let (_, next) = text.rsplit_once("══ lesson ").unwrap();
    assert!(
        !next.contains("· length-prefix — "),
        "a new lesson:\n{next}"
    );
    screen.send("q");
    assert!(screen.wait_exit("after q").success());
    screen.assert_restored();
    let mut notes = notes;
    let status = notes.child.wait().unwrap();
    assert!(status.success(), "notes exit {status:?}");
    let text = notes.wait_for("the end", |t| t.ends_with("The tutorial ended.\n"));
    assert!(text.contains("step"), "{text}");
    assert!(!socket.exists(), "the socket outlived the TUI");
}

#[test]
fn notes_with_no_tui_running_say_so_in_one_sentence_and_exit_1() {
    let runtime = temp_dir("notes-none");
    let output = Command::new(env!("CARGO_BIN_EXE_sockstep"))
        .arg("notes")
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: no sockstep tutorial is running to follow")
            && stderr.trim_end().lines().count() == 1,
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    // A stale socket (a crashed TUI's) reads the same.
    drop(UnixListener::bind(runtime.path().join(SOCKET)).unwrap());
    let output = Command::new(env!("CARGO_BIN_EXE_sockstep"))
        .arg("notes")
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no sockstep tutorial is running"));
}

#[test]
fn without_a_runtime_dir_the_socket_is_in_a_private_dir_under_tmp() {
    let (state, tmp) = (temp_dir("notes-state2"), temp_dir("notes-tmp"));
    let mut command = sockstep(&["tui", "length-prefix", "--seed", "3"], state.path());
    command.env_remove("XDG_RUNTIME_DIR");
    command.env("TMPDIR", tmp.path());
    let screen = Screen::spawn(command, 40, 120);
    screen.wait_for("the first lesson screen", |s| {
        s.contains("paused before line")
    });
    let uid = rustix::process::getuid().as_raw();
    let dir = tmp.path().join(format!("sockstep-{uid}"));
    assert_eq!(mode(&dir), 0o700, "the directory is the user's only");
    assert_eq!(
        mode(&dir.join(SOCKET)),
        0o600,
        "the socket is the user's only"
    );

    let notes = Notes::start(&[("TMPDIR", tmp.path())]);
    notes.wait_for("the lesson", |t| t.contains("· length-prefix — "));
    screen.quit();
    assert!(!dir.join(SOCKET).exists(), "the socket outlived the TUI");
}

/// The socket goes on every way out, not only q: here a signal, and a panic on a
/// thread other than the UI's (which exits from the panic hook, unwinding nothing).
fn the_socket_goes_when_the_tui_ends(end: &str) {
    let (state, runtime) = (temp_dir("notes-end-state"), temp_dir("notes-end-run"));
    let socket = runtime.path().join(SOCKET);
    let mut command = sockstep(&["tui", "length-prefix", "--seed", "3"], state.path());
    command.env("XDG_RUNTIME_DIR", runtime.path());
    command.env("RUST_BACKTRACE", "0");
    if end == "panic" {
        // Read only by debug builds, which the tests run.
        command.env("SOCKSTEP_DEBUG_PANIC_ON_KEY", "thread");
    }
    let mut screen = Screen::spawn(command, 40, 120);
    screen.wait_for("the first screen", |s| s.contains("paused before line"));
    assert!(socket.exists());
    if end == "panic" {
        screen.send("x");
    } else {
        let pid = screen.child.process_id().expect("a process id");
        let killed = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
    }
    let exit = screen.wait_exit(&format!("after the {end}"));
    assert!(!exit.success());
    assert!(!socket.exists(), "the socket outlived the TUI ({end})");
}

#[test]
fn the_socket_goes_on_sigterm() {
    the_socket_goes_when_the_tui_ends("sigterm");
}

#[test]
fn the_socket_goes_on_a_panic_off_the_ui_thread() {
    the_socket_goes_when_the_tui_ends("panic");
}
