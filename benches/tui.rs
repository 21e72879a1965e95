//! Speed of the TUI's drawing, measured (not asserted): `cargo bench --bench tui`.
//! Prints the time to build the app and draw its first frame, and the mean time of
//! a full redraw at 200x60 of a finished run.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sockstep::engine::Mode;
use sockstep::teaching;
use sockstep::tui::view::{self, Cache};
use sockstep::tui::{App, AppConfig, AppEvent};

/// Launch to first frame of the real binary in a pseudo-terminal, 120x40.
fn first_frame_of_the_binary() -> Duration {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::Read;
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_sockstep"));
    command.args(["tui", "1"]);
    command.env(
        "SOCKSTEP_STATE_DIR",
        std::env::temp_dir().join("sockstep-bench"),
    );
    let mut reader = pty.master.try_clone_reader().unwrap();
    let mut child = pty.slave.spawn_command(command).unwrap();
    // Timed from the moment the process exists, not including portable-pty's spawn.
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("step 0") {
        let n = reader.read(&mut buf).unwrap();
        assert!(n > 0, "the binary exited before drawing");
        seen.extend_from_slice(&buf[..n]);
    }
    let elapsed = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn main() {
    let mut launches: Vec<Duration> = (0..10).map(|_| first_frame_of_the_binary()).collect();
    launches.sort();
    println!(
        "launch to first frame of the binary (120x40 pty): median {:?}, worst {:?} of 10",
        launches[5], launches[9]
    );
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    let mut app = App::new(
        AppConfig {
            lessons: teaching::all(),
            pages_dir: None,
            start: Some(teaching::find("length-prefix").unwrap().0 - 1),
            seed: Some(3),
            mode: Mode::Lockstep,
            lang: None,
            cuts: None,
            color: true,
            progress_path: None,
            predict: false,
            present: false,
            wire: false,
        },
        tx,
    );
    let mut cache = Cache::default();
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    terminal
        .draw(|frame| {
            view::render(frame, &app, &mut cache);
        })
        .unwrap();
    println!(
        "app start and first frame (200x60, highlighter still loading): {:?}",
        started.elapsed()
    );

    sockstep::tui::code::load_now();
    // Stepped through to the end, so each step is a point to step back to.
    let points = |app: &App| app.session().run().map_or(0, |r| r.history.len());
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.session().run().is_none_or(|r| r.trace.is_none()) {
        let before = points(&app);
        app.handle(key(KeyCode::Char(' ')));
        while points(&app) == before {
            let event = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the step is recorded and the run finishes");
            app.handle(event);
        }
    }
    // Warm the caches (highlighted code, rendered page).
    terminal
        .draw(|frame| {
            view::render(frame, &app, &mut cache);
        })
        .unwrap();

    let rounds = 2_000;
    let started = Instant::now();
    for _ in 0..rounds {
        terminal.clear().unwrap(); // forces every cell to be drawn and flushed again
        terminal
            .draw(|frame| {
                view::render(frame, &app, &mut cache);
            })
            .unwrap();
    }
    println!(
        "full redraw at 200x60 of a finished run, state unchanged (a resize or expose): {:?} per frame (mean of {rounds})",
        started.elapsed() / rounds
    );
    let started = Instant::now();
    for _ in 0..rounds {
        // As if an engine event had arrived: both sides' panes are rebuilt.
        cache.forget_content();
        terminal.clear().unwrap();
        terminal
            .draw(|frame| {
                view::render(frame, &app, &mut cache);
            })
            .unwrap();
    }
    println!(
        "full redraw at 200x60 after an engine event (panes rebuilt): {:?} per frame",
        started.elapsed() / rounds
    );

    // Back through every point to the start, then from the end again: each step
    // back draws a point not drawn just before, so both sides' panes are rebuilt.
    let last = points(&app) - 1;
    let mut times = Vec::with_capacity(rounds as usize);
    for round in 0..rounds as usize {
        let started = Instant::now();
        let code = if round % last == 0 {
            KeyCode::End
        } else {
            KeyCode::Char('b')
        };
        app.handle(key(code));
        terminal.clear().unwrap();
        terminal
            .draw(|frame| {
                view::render(frame, &app, &mut cache);
            })
            .unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "one step back (b) and its full redraw at 200x60, over {} points: median {:?}, 99th percentile {:?}, worst {:?} of {rounds}",
        last + 1,
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        times[times.len() - 1]
    );
}

fn key(code: KeyCode) -> AppEvent {
    AppEvent::Key(crossterm::event::KeyEvent::from(code))
}
