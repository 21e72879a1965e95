//! The real binary in a pseudo-terminal, driven by keys, read back through a
//! terminal emulator (vt100). Waits on what the screen shows, with a time limit,
//! never on fixed sleeps. Each pty test file uses some of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::termios::LocalFlags;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

pub struct Screen {
    pub parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote, for tests of escape codes.
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    // Closing the master would hang up the program: keep it as long as the screen.
    master: Box<dyn portable_pty::MasterPty + Send>,
}

/// The binary with a clean, known environment: xterm-256color without truecolor.
pub fn sockstep(args: &[&str], state_dir: &Path) -> CommandBuilder {
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_sockstep"));
    command.args(args);
    command.env("TERM", "xterm-256color");
    command.env("SOCKSTEP_STATE_DIR", state_dir);
    command.env_remove("NO_COLOR");
    command.env_remove("COLORTERM");
    command
}

impl Screen {
    pub fn start(args: &[&str], rows: u16, cols: u16, state_dir: &Path) -> Screen {
        Screen::spawn(sockstep(args, state_dir), rows, cols)
    }

    pub fn spawn(command: CommandBuilder, rows: u16, cols: u16) -> Screen {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let child = pty.slave.spawn_command(command).expect("the binary starts");
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZero::new(rows).unwrap(),
            std::num::NonZero::new(cols).unwrap(),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let (sink, raw_sink) = (Arc::clone(&parser), Arc::clone(&raw));
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().process(&buf[..n]);
                raw_sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let writer = pty.master.take_writer().unwrap();
        Screen {
            parser,
            raw,
            writer,
            child,
            master: pty.master,
        }
    }

    /// Waits for the program to exit; kills it and fails if it does not within 30 s.
    pub fn wait_exit(&mut self, what: &str) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{what}: the program did not exit; the screen shows:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Fails unless the terminal is back as it was: main screen, cursor shown, no
    /// mouse reporting, cooked (canonical, echoing) input.
    pub fn assert_restored(&self) {
        // Restoring is the last thing written: wait for the reader to catch up.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let restored = {
                let parser = self.parser.lock().unwrap();
                let screen = parser.screen();
                !screen.alternate_screen()
                    && !screen.hide_cursor()
                    && screen.mouse_protocol_mode() == vt100::MouseProtocolMode::None
            };
            if restored {
                break;
            }
            let parser = self.parser.lock().unwrap();
            let screen = parser.screen();
            assert!(
                Instant::now() < deadline,
                "not restored: alternate screen {}, cursor hidden {}, mouse {:?}",
                screen.alternate_screen(),
                screen.hide_cursor(),
                screen.mouse_protocol_mode()
            );
            drop(parser);
            std::thread::sleep(Duration::from_millis(20));
        }
        let termios = self.master.get_termios().expect("the pty's settings");
        let cooked = LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG;
        assert!(
            termios.local_flags.contains(cooked),
            "the tty was left raw: {:?}",
            termios.local_flags
        );
    }

    pub fn raw_output(&self) -> String {
        String::from_utf8_lossy(&self.raw.lock().unwrap()).into_owned()
    }

    pub fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn wait_for(&self, what: &str, condition: impl Fn(&str) -> bool) -> String {
        self.wait_screen(what, |screen| condition(&screen.contents()));
        self.text()
    }

    /// Waits until `condition` holds of the emulated screen (its modes too).
    pub fn wait_screen(&self, what: &str, condition: impl Fn(&vt100::Screen) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if condition(self.parser.lock().unwrap().screen()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen shows:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Presses q and waits for the binary to exit successfully.
    pub fn quit(mut self) {
        self.send("q");
        let status = self.wait_exit("q");
        assert!(status.success(), "exit status {status:?}");
    }
}
