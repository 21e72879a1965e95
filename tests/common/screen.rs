//! The real binary in a pseudo-terminal, driven by keys, read back through a
//! terminal emulator (vt100). Waits on what the screen shows, with a time limit,
//! never on fixed sleeps.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

pub struct Screen {
    pub parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    // Closing the master would hang up the program: keep it as long as the screen.
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Screen {
    pub fn start(args: &[&str], rows: u16, cols: u16, state_dir: &Path) -> Screen {
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

    pub fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn wait_for(&self, what: &str, condition: impl Fn(&str) -> bool) -> String {
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

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Presses q and waits for the binary to exit successfully.
    pub fn quit(mut self) {
        self.send("q");
        let status = self.child.wait().expect("the binary exits");
        assert!(status.success(), "exit status {status:?}");
    }
}
