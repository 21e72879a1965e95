//! The interactive terminal UI: app state (`app`), drawing (`view`) and this event
//! loop, which merges keys, mouse, resizes, engine events, autoplay ticks and
//! signals into one channel and redraws only after something happened.

pub mod app;
pub mod bytes;
pub mod code;
pub mod markdown;
pub mod view;

use std::io::{self, Stdout, stdout};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Instant;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub use app::{App, AppConfig, AppEvent};

/// Puts the terminal back as it was: mouse capture off, main screen, cooked mode.
/// Safe to call more than once.
pub fn restore_terminal() {
    let _ = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen);
    let _ = disable_raw_mode();
}

/// Restores the terminal before any panic message is printed, except for panics
/// in teaching code: those are outcomes the run records, and the UI stays up.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if crate::engine::in_teaching_thread() {
            return;
        }
        restore_terminal();
        previous(info);
    }));
}

fn forward_input(events: Sender<AppEvent>) {
    let _ = std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            loop {
                let event = match event::read() {
                    Ok(TermEvent::Key(key)) => AppEvent::Key(key),
                    Ok(TermEvent::Mouse(mouse)) => AppEvent::Mouse(mouse),
                    Ok(TermEvent::Resize(..)) => AppEvent::Resize,
                    Ok(_) => continue,
                    Err(_) => AppEvent::Terminate,
                };
                if events.send(event).is_err() {
                    return;
                }
            }
        });
}

fn forward_signals(events: Sender<AppEvent>) -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                let _ = events.send(AppEvent::Terminate);
            }
        })?;
    Ok(())
}

/// Runs the TUI until the user quits.
pub fn run(config: AppConfig) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel();
    install_panic_hook();
    enable_raw_mode()?;
    let mut terminal = match setup(&tx) {
        Ok(terminal) => terminal,
        Err(error) => {
            restore_terminal();
            return Err(error.into());
        }
    };
    let result = event_loop(&mut terminal, config, tx, rx);
    restore_terminal();
    let _ = terminal.show_cursor();
    result
}

fn setup(tx: &Sender<AppEvent>) -> io::Result<Terminal<CrosstermBackend<Stdout>>> {
    execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    // No `clear()`: the alternate screen starts empty, and clearing would ask the
    // terminal for the cursor position, an answer the input thread could swallow.
    let terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    forward_signals(tx.clone())?;
    forward_input(tx.clone());
    let ready = tx.clone();
    code::warm_up(move || {
        let _ = ready.send(AppEvent::HighlightReady);
    });
    Ok(terminal)
}

fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    config: AppConfig,
    tx: Sender<AppEvent>,
    rx: mpsc::Receiver<AppEvent>,
) -> anyhow::Result<()> {
    let mut app = App::new(config, tx);
    let mut cache = view::Cache::default();
    let mut next_tick: Option<Instant> = None;
    loop {
        terminal.draw(|frame| view::render(frame, &mut app, &mut cache))?;
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
        app.handle(event);
        // Merge a burst (a run's events, a resize storm) into one redraw.
        while let Ok(event) = rx.try_recv() {
            app.handle(event);
        }
        if app.should_quit {
            break;
        }
    }
    Ok(())
}
