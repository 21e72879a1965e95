//! The TUI's state and what every input does to it. Nothing here draws, and nothing
//! here touches a socket: runs are started and stepped through the engine's
//! `RunHandle`, whose live events arrive as `AppEvent::Engine`.

use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use crate::engine::{Event, LiveEvent, Mode, RunHandle, RunOptions, Side, SideStatus, Span, Trace};
use crate::lesson::Lesson;
use crate::progress::Progress;

/// Everything the event loop feeds the app.
#[derive(Debug)]
pub enum AppEvent {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    /// A live event of run `run`.
    Engine {
        run: u64,
        event: LiveEvent,
    },
    /// Syntax highlighting finished loading.
    HighlightReady,
    /// Time for the next autoplay step.
    Tick,
    /// An ending signal, or the terminal stopped answering: leave now.
    Terminate,
}

/// What covers the main view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    LessonList { selected: usize },
    SeedInput { typed: String },
}

/// Autoplay intervals, slowest first.
pub const AUTOPLAY_SPEEDS_MS: [u64; 6] = [1500, 1000, 600, 300, 150, 60];

/// Panes the mouse wheel can scroll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Code(Side),
    Timeline(Side),
    Text,
    LessonList,
}

/// A run being shown.
pub struct LiveRun {
    pub id: u64,
    handle: Option<RunHandle>,
    pub stream: Vec<u8>,
    pub spans: Vec<Span>,
    pub cuts: Vec<usize>,
    pub messages: Vec<Vec<u8>>,
    /// Completed calls of each side, in order.
    pub events: [Vec<Event>; 2],
    pub status: Option<[SideStatus; 2]>,
    pub finished: [bool; 2],
    /// Both sides done: the engine's verdicts.
    pub trace: Option<Trace>,
    pub error: Option<String>,
}

impl LiveRun {
    pub fn is_done(&self) -> bool {
        self.trace.is_some() || self.error.is_some()
    }
}

/// The whole state of the TUI.
pub struct App {
    pub lessons: &'static [Lesson],
    /// An author's live lesson pages (`--lessons DIR`).
    pub pages_dir: Option<PathBuf>,
    pub index: usize,
    pub mode: Mode,
    pub seed: u64,
    pub steps: u32,
    pub run: Option<LiveRun>,
    next_run_id: u64,
    pub hex: bool,
    /// Lesson text shown; `None` follows the layout (shown when wide).
    pub show_text: Option<bool>,
    /// The last frame used the narrow layout.
    pub compact: bool,
    /// In the compact layout, the side shown.
    pub focus: Side,
    pub overlay: Overlay,
    /// Index into `AUTOPLAY_SPEEDS_MS` when autoplay is on.
    pub autoplay: Option<usize>,
    pub speed: usize,
    pub text_scroll: u16,
    pub code_scroll: [u16; 2],
    pub timeline_scroll: [u16; 2],
    pub list_scroll: u16,
    pub color: bool,
    pub progress: Progress,
    pub progress_path: Option<PathBuf>,
    /// A problem to show in the footer (saving progress failed, say).
    pub notice: Option<String>,
    pub should_quit: bool,
    /// Engine events handled so far (of the current run or earlier ones).
    pub engine_events: u64,
    /// Where each pane was drawn last, for the mouse.
    pub hit_areas: Vec<(Pane, Rect)>,
    /// The lesson page, with includes resolved; reloaded on every lesson change.
    pub page: String,
    events: Sender<AppEvent>,
}

/// How the TUI starts.
pub struct AppConfig {
    pub lessons: &'static [Lesson],
    pub pages_dir: Option<PathBuf>,
    pub start: Option<usize>,
    pub seed: Option<u64>,
    pub mode: Mode,
    pub color: bool,
    pub progress_path: Option<PathBuf>,
}

impl App {
    pub fn new(config: AppConfig, events: Sender<AppEvent>) -> App {
        let mut progress_path = config.progress_path;
        let (progress, notice) = match progress_path.as_deref().map(Progress::open) {
            Some(Ok((progress, set_aside))) => (progress, set_aside.map(|s| s.to_string())),
            // What cannot be read (or locked) must not be written over; what can be
            // read is still shown.
            Some(Err(error)) => {
                let shown = progress_path
                    .take()
                    .and_then(|path| Progress::load(&path).ok())
                    .unwrap_or_default();
                (shown, Some(format!("{error}; progress will not be saved")))
            }
            None => (Progress::default(), None),
        };
        let slugs: Vec<&str> = config.lessons.iter().map(|l| l.slug).collect();
        let index = config
            .start
            .unwrap_or_else(|| progress.first_open(&slugs))
            .min(config.lessons.len().saturating_sub(1));
        let seed = config.seed.or(progress.last_seed).unwrap_or(1);
        let mut app = App {
            lessons: config.lessons,
            pages_dir: config.pages_dir,
            index,
            mode: config.mode,
            seed,
            steps: 0,
            run: None,
            next_run_id: 0,
            hex: false,
            show_text: None,
            compact: false,
            focus: Side::Naive,
            overlay: Overlay::None,
            autoplay: None,
            speed: 2,
            text_scroll: 0,
            code_scroll: [0; 2],
            timeline_scroll: [0; 2],
            list_scroll: 0,
            color: config.color,
            progress,
            progress_path,
            notice,
            should_quit: false,
            engine_events: 0,
            hit_areas: Vec::new(),
            page: String::new(),
            events,
        };
        app.start_run();
        app
    }

    pub fn lesson(&self) -> &'static Lesson {
        &self.lessons[self.index]
    }

    /// Starts the current lesson afresh, paused before its first call.
    pub fn start_run(&mut self) {
        self.run = None; // Dropping the old handle stops its run and frees its sockets.
        self.steps = 0;
        self.code_scroll = [0; 2];
        self.timeline_scroll = [0; 2];
        self.load_page();
        let id = self.next_run_id;
        self.next_run_id += 1;
        let (tx, rx) = mpsc::channel();
        let options = RunOptions {
            seed: self.seed,
            mode: self.mode,
            stepping: true,
            observer: Some(tx),
            ..RunOptions::default()
        };
        match self.lesson().start(options) {
            Ok(handle) => {
                // Forward the run's events, tagged, until the run ends.
                let events = self.events.clone();
                let forwarder = std::thread::Builder::new()
                    .name("engine-events".into())
                    .spawn(move || {
                        for event in rx {
                            if events.send(AppEvent::Engine { run: id, event }).is_err() {
                                break;
                            }
                        }
                    });
                let (stream, spans) = handle.stream();
                let mut run = LiveRun {
                    id,
                    stream: stream.to_vec(),
                    spans: spans.to_vec(),
                    cuts: handle.cuts().to_vec(),
                    messages: handle.messages().to_vec(),
                    status: Some(handle.status()),
                    handle: Some(handle),
                    events: [Vec::new(), Vec::new()],
                    finished: [false; 2],
                    trace: None,
                    error: None,
                };
                if let Err(error) = forwarder {
                    run.error = Some(format!("could not start a thread: {error}"));
                }
                self.run = Some(run);
            }
            Err(error) => {
                self.run = Some(LiveRun {
                    id,
                    handle: None,
                    stream: Vec::new(),
                    spans: Vec::new(),
                    cuts: Vec::new(),
                    messages: Vec::new(),
                    events: [Vec::new(), Vec::new()],
                    status: None,
                    finished: [true; 2],
                    trace: None,
                    error: Some(error.to_string()),
                });
            }
        }
    }

    /// How long until the next autoplay step, if autoplay is on.
    pub fn tick_interval(&self) -> Option<Duration> {
        self.autoplay
            .map(|speed| Duration::from_millis(AUTOPLAY_SPEEDS_MS[speed]))
    }

    pub fn handle(&mut self, event: AppEvent) {
        match event {
            AppEvent::Key(key) => self.on_key(key),
            AppEvent::Mouse(mouse) => self.on_mouse(mouse),
            AppEvent::Resize | AppEvent::HighlightReady => {}
            AppEvent::Engine { run, event } => self.on_engine(run, event),
            AppEvent::Tick => {
                if self.run.as_ref().is_some_and(LiveRun::is_done) {
                    self.autoplay = None;
                } else {
                    self.step();
                }
            }
            AppEvent::Terminate => self.should_quit = true,
        }
    }

    fn on_engine(&mut self, id: u64, event: LiveEvent) {
        self.engine_events += 1;
        let Some(run) = self.run.as_mut().filter(|run| run.id == id) else {
            return; // An event of a run that has been replaced.
        };
        match event {
            LiveEvent::Call { side, event } => run.events[side as usize].push(event),
            LiveEvent::Waiting { .. } => {}
            LiveEvent::Finished { side } => run.finished[side as usize] = true,
        }
        if let Some(handle) = &run.handle {
            run.status = Some(handle.status());
        }
        if run.finished == [true; 2]
            && let Some(handle) = run.handle.take()
        {
            match handle.join() {
                Ok(trace) => {
                    run.trace = Some(trace);
                    self.complete_lesson();
                }
                Err(error) => run.error = Some(error.to_string()),
            }
        }
    }

    /// Loads the lesson's page; an author's page that cannot be shown is named on
    /// screen, above the built-in page shown instead.
    fn load_page(&mut self) {
        self.page = match self.lesson().page_text(self.pages_dir.as_deref()) {
            Ok(page) => page,
            Err(error) => {
                self.notice = Some(error.to_string());
                format!(
                    "**{error}**; showing the built-in page.\n\n{}",
                    self.lesson().builtin_page_text()
                )
            }
        };
    }

    fn complete_lesson(&mut self) {
        let slug = self.lesson().slug;
        let seed = self.seed;
        self.change_progress(|progress| {
            progress.completed.insert(slug.to_string());
            progress.last_lesson = Some(slug.to_string());
            progress.last_seed = Some(seed);
        });
    }

    /// Applies `change` to the progress on disk (merged there with other TUIs' and
    /// resets' work) and shows the result; without a file, to the shown one only.
    fn change_progress(&mut self, change: impl Fn(&mut Progress)) {
        let Some(path) = &self.progress_path else {
            change(&mut self.progress);
            return;
        };
        match Progress::update(path, &change) {
            Ok((progress, set_aside)) => {
                self.progress = progress;
                if let Some(set_aside) = set_aside {
                    self.notice = Some(set_aside.to_string());
                }
            }
            Err(error) => {
                change(&mut self.progress);
                self.notice = Some(error.to_string());
            }
        }
    }

    /// One socket call on each side.
    pub fn step(&mut self) {
        if let Some(handle) = self.run.as_ref().and_then(|r| r.handle.as_ref()) {
            handle.step();
            self.steps += 1;
        }
    }

    /// Lets both sides run to the end.
    pub fn run_to_end(&mut self) {
        if let Some(handle) = self.run.as_ref().and_then(|r| r.handle.as_ref()) {
            handle.release();
        }
    }

    fn go_to(&mut self, index: usize) {
        if index != self.index {
            self.index = index;
            self.text_scroll = 0;
            let slug = self.lesson().slug;
            self.change_progress(|progress| progress.last_lesson = Some(slug.to_string()));
        }
        self.start_run();
    }

    fn on_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        // A notice has been seen once a key is pressed.
        self.notice = None;
        if self.pages_dir.is_some() {
            // An author editing the pages sees each change at the next key.
            self.load_page();
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.should_quit = true;
            return;
        }
        match std::mem::replace(&mut self.overlay, Overlay::None) {
            Overlay::None => self.on_main_key(key),
            Overlay::Help => {
                // Any key closes the help; q also quits.
                if key.code == KeyCode::Char('q') {
                    self.should_quit = true;
                }
            }
            Overlay::LessonList { selected } => self.on_list_key(key, selected),
            Overlay::SeedInput { typed } => self.on_seed_key(key, typed),
        }
    }

    fn on_main_key(&mut self, key: KeyEvent) {
        let last = self.lessons.len().saturating_sub(1);
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => self.should_quit = true,
            KeyCode::Char(' ') => self.step(),
            KeyCode::Enter => self.run_to_end(),
            KeyCode::Char('r') => {
                self.seed = fresh_seed(self.seed);
                self.start_run();
            }
            KeyCode::Char('s') => {
                self.overlay = Overlay::SeedInput {
                    typed: String::new(),
                }
            }
            KeyCode::Char('f') => {
                self.mode = self.mode.next();
                self.start_run();
            }
            KeyCode::Left | KeyCode::Char('p') => self.go_to(self.index.saturating_sub(1)),
            KeyCode::Right | KeyCode::Char('n') => self.go_to((self.index + 1).min(last)),
            KeyCode::Char('l') => {
                self.overlay = Overlay::LessonList {
                    selected: self.index,
                }
            }
            KeyCode::Char('x') => self.hex = !self.hex,
            KeyCode::Char('t') => {
                self.show_text = Some(!self.show_text.unwrap_or(!self.compact));
            }
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = match self.focus {
                    Side::Naive => Side::Correct,
                    Side::Correct => Side::Naive,
                }
            }
            KeyCode::Char('a') => {
                self.autoplay = match self.autoplay {
                    Some(_) => None,
                    None => Some(self.speed),
                }
            }
            KeyCode::Char('+') | KeyCode::Char('=') => {
                self.speed = (self.speed + 1).min(AUTOPLAY_SPEEDS_MS.len() - 1);
                self.autoplay = self.autoplay.map(|_| self.speed);
            }
            KeyCode::Char('-') => {
                self.speed = self.speed.saturating_sub(1);
                self.autoplay = self.autoplay.map(|_| self.speed);
            }
            KeyCode::Char('?') | KeyCode::Char('h') => self.overlay = Overlay::Help,
            KeyCode::PageDown | KeyCode::Char('J') => {
                self.text_scroll = self.text_scroll.saturating_add(5)
            }
            KeyCode::PageUp | KeyCode::Char('K') => {
                self.text_scroll = self.text_scroll.saturating_sub(5)
            }
            _ => {} // Unknown keys do nothing.
        }
    }

    fn on_list_key(&mut self, key: KeyEvent, selected: usize) {
        let last = self.lessons.len().saturating_sub(1);
        let selected = match key.code {
            KeyCode::Esc | KeyCode::Char('l') => return,
            KeyCode::Char('q') => {
                self.should_quit = true;
                return;
            }
            KeyCode::Enter => {
                self.go_to(selected);
                return;
            }
            KeyCode::Up | KeyCode::Char('k') => selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => (selected + 1).min(last),
            KeyCode::Home => 0,
            KeyCode::End => last,
            KeyCode::Char(c) if c.is_ascii_digit() => {
                // Typing a number jumps to that lesson (two digits within a second are not needed: 1-9).
                let n = c.to_digit(10).unwrap_or(0) as usize;
                if (1..=self.lessons.len()).contains(&n) {
                    n - 1
                } else {
                    selected
                }
            }
            _ => selected,
        };
        self.overlay = Overlay::LessonList { selected };
    }

    fn on_seed_key(&mut self, key: KeyEvent, mut typed: String) {
        match key.code {
            KeyCode::Esc => return,
            KeyCode::Enter => {
                if let Ok(seed) = typed.parse::<u64>() {
                    self.seed = seed;
                    self.start_run();
                    return;
                }
                if typed.is_empty() {
                    return;
                }
                self.notice = Some(format!("'{typed}' is not a seed: type a whole number"));
            }
            KeyCode::Backspace => {
                typed.pop();
            }
            // Any u64, like the command line: a digit that would overflow is not taken.
            KeyCode::Char(c)
                if c.is_ascii_digit() && format!("{typed}{c}").parse::<u64>().is_ok() =>
            {
                typed.push(c)
            }
            _ => {}
        }
        self.overlay = Overlay::SeedInput { typed };
    }

    fn on_mouse(&mut self, mouse: MouseEvent) {
        let at = Position::new(mouse.column, mouse.row);
        let pane = self
            .hit_areas
            .iter()
            .rev()
            .find(|(_, area)| area.contains(at))
            .map(|(pane, area)| (*pane, *area));
        let Some((pane, area)) = pane else {
            return;
        };
        let delta: i32 = match mouse.kind {
            MouseEventKind::ScrollDown => 3,
            MouseEventKind::ScrollUp => -3,
            MouseEventKind::Down(_) => {
                if let (Pane::LessonList, Overlay::LessonList { .. }) = (pane, &self.overlay) {
                    let row = (mouse.row.saturating_sub(area.y + 1) + self.list_scroll) as usize;
                    if row < self.lessons.len() {
                        self.overlay = Overlay::None;
                        self.go_to(row);
                    }
                }
                return;
            }
            _ => return,
        };
        let scroll = |value: &mut u16| *value = (*value as i32 + delta).max(0) as u16;
        match pane {
            Pane::Code(side) => scroll(&mut self.code_scroll[side as usize]),
            Pane::Timeline(side) => scroll(&mut self.timeline_scroll[side as usize]),
            Pane::Text => scroll(&mut self.text_scroll),
            Pane::LessonList => scroll(&mut self.list_scroll),
        }
    }
}

/// A new seed for `r`: small enough to read out and type back.
fn fresh_seed(old: u64) -> u64 {
    loop {
        let seed = rand::random_range(1..10_000);
        if seed != old {
            return seed;
        }
    }
}
