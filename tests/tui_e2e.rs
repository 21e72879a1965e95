//! End to end: the real binary in a pseudo-terminal, driven by keys, read back
//! through a terminal emulator (vt100). Waits on what the screen shows, with a time
//! limit, never on fixed sleeps.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    // Closing the master would hang up the program: keep it as long as the screen.
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Screen {
    fn start(args: &[&str], rows: u16, cols: u16, state_dir: &std::path::Path) -> Screen {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_sockstep"));
        command.args(args);
        command.env("TERM", "xterm-256color");
        command.env("SOCKSTEP_STATE_DIR", state_dir);
        command.env_remove("NO_COLOR");
        let child = pty.slave.spawn_command(command).expect("the binary starts");
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZero::new(rows).unwrap(),
            std::num::NonZero::new(cols).unwrap(),
            0,
        )));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let sink = Arc::clone(&parser);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pty.master.take_writer().unwrap();
        Screen {
            parser,
            writer,
            child,
            _master: pty.master,
        }
    }

    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, what: &str, condition: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.text();
            if condition(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen shows:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }
}

#[test]
fn step_through_a_lesson_then_quit_back_to_the_shell() {
    let state = std::env::temp_dir().join(format!("sockstep-e2e-{}", std::process::id()));
    let mut screen = Screen::start(&["tui", "length-prefix", "--seed", "3"], 40, 120, &state);
    screen.wait_for("the first lesson screen", |s| {
        s.contains("length-prefix") && s.contains("paused before line")
    });
    assert!(screen.parser.lock().unwrap().screen().alternate_screen());

    // Step until the naive side's first read shows the split prefix.
    let mut steps = 0;
    while !screen.text().contains("recv 5 → 2") {
        screen.send(" ");
        steps += 1;
        assert!(steps < 50, "no read after 50 steps:\n{}", screen.text());
        screen.wait_for("the step count to move", |s| {
            s.contains(&format!("step {steps} "))
        });
    }
    // Run to the end: the cut marker and both verdicts appear.
    screen.send("\r");
    let text = screen.wait_for("both verdicts", |s| {
        s.contains("Naive ✗") && s.contains("Correct ✓")
    });
    assert!(
        text.contains("00┃005"),
        "the cut inside the prefix:\n{text}"
    );
    assert!(text.contains('✓') && text.contains('✗'));

    // Help, then quit.
    screen.send("?");
    screen.wait_for("the help overlay", |s| s.contains("Keys (any key closes)"));
    screen.send("q");
    let status = screen.child.wait().expect("the binary exits");
    assert!(status.success(), "exit status {status:?}");
    let parser = screen.parser.lock().unwrap();
    assert!(
        !parser.screen().alternate_screen(),
        "the alternate screen was left"
    );
    // The lesson was run to the end: progress remembers it.
    let progress = std::fs::read_to_string(state.join("progress.json")).unwrap();
    assert!(progress.contains("length-prefix"), "{progress}");
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn too_small_a_terminal_gets_a_clear_message_and_q_still_quits() {
    let state = std::env::temp_dir().join(format!("sockstep-e2e-small-{}", std::process::id()));
    let mut screen = Screen::start(&["tui"], 12, 40, &state);
    screen.wait_for("the size message", |s| {
        s.contains("needs a terminal of at least")
    });
    screen.send("q");
    assert!(screen.child.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn sigterm_restores_the_terminal() {
    let state = std::env::temp_dir().join(format!("sockstep-e2e-term-{}", std::process::id()));
    let mut screen = Screen::start(&["tui"], 40, 120, &state);
    screen.wait_for("the first screen", |s| s.contains("paused before line"));
    let pid = screen.child.process_id().expect("a process id");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    screen.child.wait().unwrap();
    // Leaving the alternate screen is the last thing the binary writes.
    let deadline = Instant::now() + Duration::from_secs(10);
    while screen.parser.lock().unwrap().screen().alternate_screen() {
        assert!(Instant::now() < deadline, "still on the alternate screen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&state);
}
