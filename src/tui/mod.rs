//! The interactive terminal UI: keys and what they ask (`keys`), app state
//! (`app`), drawing (`view`) and this event loop, which merges keys, mouse, resizes, engine events, autoplay ticks and
//! signals into one channel and redraws only after something happened.

pub mod app;
pub mod bytes;
pub mod code;
pub mod explain;
pub mod hints;
pub mod history;
pub mod keys;
pub mod markdown;
pub mod notes;
pub mod palette;
pub mod path;
pub mod prediction;
pub mod theme;
pub mod view;
pub mod wire;

use std::io::{self, Stdout, stdout};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::cursor::Show;
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub use app::{App, AppConfig, AppEvent};
pub use palette::Palette;

/// Puts the terminal back as it was: mouse capture off, main screen, cursor shown,
/// cooked mode; and the speaker notes' socket is gone. Safe to call more than once.
pub fn restore_terminal() {
    notes::remove_socket();
    let _ = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, Show);
    let _ = disable_raw_mode();
}

/// How the TUI ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The user quit.
    Quit,
    /// A signal (SIGINT, SIGQUIT, SIGTERM, SIGHUP) asked it to stop.
    Signal(i32),
}

impl Ending {
    /// The conventional exit status: 0, or 128 + the signal's number.
    pub fn exit_status(self) -> u8 {
        match self {
            Ending::Quit => 0,
            Ending::Signal(signal) => 128u8.saturating_add(signal as u8),
        }
    }
}

/// Signals that end the TUI, each with the terminal restored.
const ENDING_SIGNALS: [i32; 4] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGQUIT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];

/// Restores the terminal before any panic message is printed, except for panics
/// in teaching code: those are outcomes the run records, and the UI stays up. A
/// panic on any other thread than the UI's own ends the process too: the UI would
/// otherwise draw on over a restored terminal, or wait for input that never comes.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    let ui_thread = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if crate::engine::in_teaching_thread() {
            return;
        }
        restore_terminal();
        previous(info);
        if std::thread::current().id() != ui_thread {
            std::process::exit(101);
        }
    }));
}

/// Hands every key, mouse event and resize to the event loop. A read that fails
/// (the terminal went away) is kept in `failure` and ends the loop.
fn forward_input(events: Sender<AppEvent>, failure: Arc<Mutex<Option<io::Error>>>) {
    let _ = std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            loop {
                let read = match event::read() {
                    Ok(TermEvent::Key(_)) if input_error_requested() => {
                        Err(io::Error::other("a test made this read fail"))
                    }
                    read => read,
                };
                let event = match read {
                    Ok(TermEvent::Key(key)) => AppEvent::Key(key),
                    Ok(TermEvent::Mouse(mouse)) => AppEvent::Mouse(mouse),
                    Ok(TermEvent::Resize(..)) => AppEvent::Resize,
                    Ok(_) => continue,
                    Err(error) => {
                        *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
                        let _ = events.send(AppEvent::Terminate);
                        return;
                    }
                };
                if events.send(event).is_err() {
                    return;
                }
            }
        });
}

/// The first ending signal is recorded in `received` and handed to the event loop,
/// which leaves cleanly. Should the loop not answer (stuck drawing to a blocked
/// terminal, say), a second one restores the terminal and exits from here.
fn forward_signals(events: Sender<AppEvent>, received: Arc<AtomicI32>) -> io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(ENDING_SIGNALS)?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if received.swap(signal, Ordering::SeqCst) == 0 {
                    let _ = events.send(AppEvent::Terminate);
                } else {
                    restore_terminal();
                    std::process::exit(Ending::Signal(signal).exit_status().into());
                }
            }
        })?;
    Ok(())
}

/// Runs the TUI until the user quits or a signal ends it.
pub fn run(config: AppConfig, palette: Palette) -> anyhow::Result<Ending> {
    let (tx, rx) = mpsc::channel();
    let signal = Arc::new(AtomicI32::new(0));
    let input_failure = Arc::new(Mutex::new(None));
    install_panic_hook();
    enable_raw_mode()?;
    let mut terminal = match setup(&tx, &signal, &input_failure) {
        Ok(terminal) => terminal,
        Err(error) => {
            restore_terminal();
            return Err(error.into());
        }
    };
    let result = event_loop(&mut terminal, config, palette, tx, rx);
    restore_terminal();
    let _ = terminal.show_cursor();
    result?;
    if let Some(error) = input_failure
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        anyhow::bail!("could not read the terminal's input: {error}");
    }
    Ok(match signal.load(Ordering::SeqCst) {
        0 => Ending::Quit,
        signal => Ending::Signal(signal),
    })
}

fn setup(
    tx: &Sender<AppEvent>,
    signal: &Arc<AtomicI32>,
    input_failure: &Arc<Mutex<Option<io::Error>>>,
) -> io::Result<Terminal<CrosstermBackend<Stdout>>> {
    execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    // No `clear()`: the alternate screen starts empty, and clearing would ask the
    // terminal for the cursor position, an answer the input thread could swallow.
    let terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    // Opens crossterm's input reader (its descriptors) now, before a run takes
    // descriptors of its own: opened lazily by the input thread, it could fail
    // when they were short (ulimit -n), and the TUI quit without a word.
    event::poll(Duration::ZERO).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("could not read the terminal's input: {error}"),
        )
    })?;
    forward_signals(tx.clone(), Arc::clone(signal))?;
    forward_input(tx.clone(), Arc::clone(input_failure));
    Ok(terminal)
}

/// Where tests of the panic path (debug builds only) make the first key panic.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PanicOnKey {
    Never,
    /// On the UI's own thread.
    Here,
    /// On a thread of its own, as a panic in the input or engine threads would.
    OtherThread,
}

fn panic_on_key_requested() -> PanicOnKey {
    if !cfg!(debug_assertions) {
        return PanicOnKey::Never;
    }
    match std::env::var("SOCKSTEP_DEBUG_PANIC_ON_KEY").as_deref() {
        Err(_) => PanicOnKey::Never,
        Ok("thread") => PanicOnKey::OtherThread,
        Ok(_) => PanicOnKey::Here,
    }
}

/// Tests of a failing terminal (debug builds only) make the first key a read error.
fn input_error_requested() -> bool {
    cfg!(debug_assertions) && std::env::var_os("SOCKSTEP_DEBUG_INPUT_ERROR").is_some()
}

fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    config: AppConfig,
    palette: Palette,
    tx: Sender<AppEvent>,
    rx: mpsc::Receiver<AppEvent>,
) -> anyhow::Result<()> {
    let mut ready = Some(tx.clone());
    let mut app = App::new(config, tx);
    let mut cache = view::Cache::default();
    // Speaker notes are extra: a TUI that cannot publish them still teaches.
    let mut notes = notes::socket_path()
        .and_then(|path| notes::Publisher::start(&path))
        .ok()
        .flatten();
    let mut next_tick: Option<Instant> = None;
    let panic_on_key = panic_on_key_requested();
    loop {
        let mut drawn = app::Drawn::default();
        terminal.draw(|frame| {
            drawn = view::render(frame, &app, &mut cache);
            palette.fit_buffer(frame.buffer_mut());
        })?;
        app.after_draw(drawn);
        if let Some(notes) = &mut notes {
            notes.update(&app);
        }
        if let Some(ready) = ready.take() {
            // Only now: loading the highlighter is CPU-heavy for tens of
            // milliseconds, and on a busy machine it slowed the first frame.
            code::warm_up(move || {
                let _ = ready.send(AppEvent::HighlightReady);
            });
        }
        // Wait for the next event, or the next autoplay tick.
        next_tick = match (app.tick_interval(), next_tick) {
            (None, _) => None,
            (Some(_), Some(at)) => Some(at),
            (Some(interval), None) => Some(Instant::now() + interval),
        };
        let event = match next_tick {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        let event = match event {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => {
                next_tick = None;
                AppEvent::Tick
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // Merge a burst (a run's events, a resize storm) into one redraw.
        let burst = std::iter::once(event).chain(std::iter::from_fn(|| rx.try_recv().ok()));
        for event in burst {
            if matches!(event, AppEvent::Key(_)) {
                let message = "a key arrived and SOCKSTEP_DEBUG_PANIC_ON_KEY is set (a test of the panic path)";
                match panic_on_key {
                    PanicOnKey::Never => {}
                    PanicOnKey::Here => panic!("{message}"),
                    PanicOnKey::OtherThread => {
                        let _ = std::thread::spawn(move || panic!("{message}")).join();
                    }
                }
            }
            app.handle(event);
        }
        if app.should_quit() {
            break;
        }
    }
    Ok(())
}
