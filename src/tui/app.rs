//! The TUI's state and what every `Action` does to it. Nothing here draws, and nothing
//! here touches a socket: runs are started and stepped through the engine's
//! `RunHandle`, whose live events arrive as `AppEvent::Engine`.

use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::hints;
use super::history::{History, Point};
use super::keys::{self, Action, Pane};
use super::prediction::Prediction;
use super::theme::Theme;
use crate::engine::{
    Event, FixedCuts, LiveEvent, Mode, RunHandle, RunOptions, Side, SideStatus, Span, Trace,
    WireEnd,
};
use crate::lesson::hints::Hint;
use crate::lesson::{Lang, Lesson};
use crate::predict::{self, Kind, Question};
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
    LessonList {
        selected: usize,
    },
    SeedInput {
        typed: String,
    },
    /// The lesson's first `ViewState::hints_shown` hints.
    Hints,
    Predict(Box<Prediction>),
}

/// Autoplay intervals, slowest first.
pub const AUTOPLAY_SPEEDS_MS: [u64; 6] = [1500, 1000, 600, 300, 150, 60];

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
    /// The points it settled at, to step back to.
    pub history: History,
    /// Running to the end: where it settles on the way depends on timing, so only
    /// its end is noted.
    released: bool,
}

impl LiveRun {
    pub fn is_done(&self) -> bool {
        self.trace.is_some() || self.error.is_some()
    }

    /// Whether the run has settled at a point of its history (the bar then names
    /// the step) rather than being between points.
    pub fn is_at_a_point(&self) -> bool {
        self.history.shown(None, &self.live_point()).is_some()
    }

    /// Where the run is now, as a point of its history.
    fn live_point(&self) -> Point {
        Point {
            calls: self.events.each_ref().map(Vec::len),
            status: self.status.clone(),
            done: self.is_done(),
        }
    }
}

/// Wire mode: the user cuts the run's stream by hand (`w`).
#[derive(Clone, Debug, Default)]
pub struct Wire {
    /// The cuts made so far, and the end made by hand, if any.
    pub made: FixedCuts,
    /// The caret, as the stream offset it delivers up to; `None`: after the last
    /// byte on the wire, wherever that is.
    caret: Option<usize>,
}

/// What the screen shows of the run: all of it live, or its first calls at a point.
pub struct Shown<'a> {
    pub run: &'a LiveRun,
    pub events: [&'a [Event]; 2],
    pub status: Option<&'a [SideStatus; 2]>,
    /// The verdicts, once the point shown is the run's end.
    pub trace: Option<&'a Trace>,
    /// The point shown (`None`: live, between points), and the points there are.
    pub point: Option<usize>,
    pub points: usize,
    /// Stepped back: not following the live run.
    pub back: bool,
}

/// The lesson and its run, and what the user has achieved: what the TUI is about.
pub struct Session {
    lessons: &'static [Lesson],
    /// An author's live lesson pages (`--lessons DIR`).
    pages_dir: Option<PathBuf>,
    index: usize,
    mode: Mode,
    /// The language both sides' code is shown and run in.
    lang: Lang,
    seed: u64,
    /// Cuts given by hand, and the index of the lesson they cut: other lessons'
    /// streams differ, so there they do not apply.
    cuts: Option<(usize, FixedCuts)>,
    /// Wire mode, when on: each run is cut by hand.
    wire: Option<Wire>,
    steps: u32,
    run: Option<LiveRun>,
    next_run_id: u64,
    /// Engine events handled so far (of the current run or earlier ones).
    engine_events: u64,
    progress: Progress,
    progress_path: Option<PathBuf>,
    /// A problem to show in the footer (saving progress failed, say).
    notice: Option<String>,
    /// The lesson page, with includes resolved; reloaded on every lesson change.
    page: String,
    /// The page's hints, kept out of `page` until asked for.
    hints: Result<Vec<Hint>, String>,
    events: Sender<AppEvent>,
}

/// How the session is shown: nothing here changes what a run does.
pub struct ViewState {
    hex: bool,
    /// Presenter mode: a layout for a room (`P`, `--present`).
    present: bool,
    /// Lesson text shown; `None` follows the layout (shown when wide).
    show_text: Option<bool>,
    /// Path panes shown; `None` follows the room there is (see `shows_path`).
    show_path: Option<bool>,
    /// The last frame had room for the path panes.
    path_room: bool,
    /// The last frame used the narrow layout.
    compact: bool,
    /// In the compact layout, the side shown.
    focus: Side,
    /// Stepped back to this point of the run's history; `None` follows the run.
    at: Option<usize>,
    overlay: Overlay,
    /// Index into `AUTOPLAY_SPEEDS_MS` when autoplay is on.
    autoplay: Option<usize>,
    speed: usize,
    text_scroll: u16,
    code_scroll: [u16; 2],
    timeline_scroll: [u16; 2],
    list_scroll: u16,
    /// How many of the lesson's hints `h` has shown; a lesson change resets it.
    hints_shown: usize,
    theme: Theme,
    /// Where each pane was drawn last, for the mouse.
    hit_areas: Vec<(Pane, Rect)>,
}

/// What drawing a frame found out, for the app to keep: the next click and key
/// depend on it.
#[derive(Debug, Default)]
pub struct Drawn {
    pub hit_areas: Vec<(Pane, Rect)>,
    pub compact: bool,
    /// There was room for the path panes.
    pub path_room: bool,
    /// The lesson text's scroll as drawn (within its length), when it was drawn.
    pub text_scroll: Option<u16>,
    /// The lesson list's scroll as drawn (the selection in sight), when it was drawn.
    pub list_scroll: Option<u16>,
}

/// The whole state of the TUI.
pub struct App {
    session: Session,
    view: ViewState,
    should_quit: bool,
}

/// How the TUI starts.
pub struct AppConfig {
    pub lessons: &'static [Lesson],
    pub pages_dir: Option<PathBuf>,
    pub start: Option<usize>,
    pub seed: Option<u64>,
    pub mode: Mode,
    /// The language to start in; `None`: the one last chosen (progress), else Rust.
    pub lang: Option<Lang>,
    /// Cuts given by hand (`--cuts`) for the starting lesson.
    pub cuts: Option<FixedCuts>,
    pub color: bool,
    pub progress_path: Option<PathBuf>,
    /// Ask a prediction question before the first run (`--predict`).
    pub predict: bool,
    /// Start in presenter mode (`--present`).
    pub present: bool,
    /// Start in wire mode (`--wire`).
    pub wire: bool,
}

impl Session {
    fn new(config: AppConfig, events: Sender<AppEvent>) -> Session {
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
        let mut session = Session {
            lessons: config.lessons,
            pages_dir: config.pages_dir,
            index,
            mode: config.mode,
            lang: config.lang.or(progress.lang).unwrap_or_default(),
            seed,
            cuts: config.cuts.map(|cuts| (index, cuts)),
            wire: None,
            steps: 0,
            run: None,
            next_run_id: 0,
            engine_events: 0,
            progress,
            progress_path,
            notice,
            page: String::new(),
            hints: Ok(Vec::new()),
            events,
        };
        session.start_run();
        session
    }

    pub fn lessons(&self) -> &'static [Lesson] {
        self.lessons
    }

    pub fn lesson(&self) -> &'static Lesson {
        &self.lessons[self.index]
    }

    /// The lesson's place in `lessons()`.
    pub fn index(&self) -> usize {
        self.index
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The cuts given by hand, when they are for the lesson shown.
    pub fn cuts(&self) -> Option<&FixedCuts> {
        self.cuts
            .as_ref()
            .filter(|(index, _)| *index == self.index)
            .map(|(_, cuts)| cuts)
    }

    /// Wire mode, when on.
    pub fn wire(&self) -> Option<&Wire> {
        self.wire.as_ref()
    }

    /// Wire mode: the stream offsets the caret can deliver between — after the
    /// last cut made, and up to the most any sender has written (within the
    /// lesson's stream). `None` outside wire mode, or once the stream was ended by
    /// hand.
    pub fn wire_span(&self) -> Option<(usize, usize)> {
        let wire = self
            .wire
            .as_ref()
            .filter(|wire| wire.made.end().is_none())?;
        let run = self.run.as_ref()?;
        let first = wire.made.offsets().last().copied().unwrap_or(0);
        let sent = run
            .status
            .iter()
            .flatten()
            .map(|status| status.sent as usize)
            .max()
            .unwrap_or(0);
        Some((first, sent.min(run.stream.len()).max(first)))
    }

    /// Wire mode: the cuts made so far, as `--cuts` replays them (`None` before the
    /// first).
    pub fn wire_cuts(&self) -> Option<FixedCuts> {
        let wire = self.wire.as_ref()?;
        let len = self.run.as_ref().map_or(0, |run| run.stream.len());
        Some(wire.made.for_stream(len)).filter(|cuts| !cuts.is_empty())
    }

    /// Wire mode: where the caret is (the offset it delivers up to), when the wire
    /// holds bytes.
    pub fn caret(&self) -> Option<usize> {
        let (first, last) = self.wire_span()?;
        let caret = self.wire.as_ref()?.caret.unwrap_or(last);
        (last > first).then(|| caret.clamp(first + 1, last))
    }

    /// Wire mode on or off; false (and a notice) when it cannot be on. Leaving it,
    /// the cuts made become the cuts given by hand, so the run replays step by step.
    fn toggle_wire(&mut self) -> bool {
        if self.wire.is_some() {
            self.cuts = self.wire_cuts().map(|cuts| (self.index, cuts));
            self.wire = None;
            return true;
        }
        if self.mode != Mode::Lockstep {
            self.notice = Some(format!(
                "wire mode needs lockstep, where the wire waits for each recv() ({} does not): press f",
                self.mode.name()
            ));
            return false;
        }
        self.wire = Some(Wire::default());
        true
    }

    fn move_caret(&mut self, to: impl Fn(usize, usize, usize) -> usize) {
        let (Some((first, last)), Some(caret)) = (self.wire_span(), self.caret()) else {
            return;
        };
        if let Some(wire) = &mut self.wire {
            let at = to(first, last, caret).clamp(first + 1, last);
            wire.caret = (at != last).then_some(at);
        }
    }

    /// Wire mode: delivers what is on the wire up to the caret, as one piece to both
    /// receivers, and ends the stream there if `end` says so.
    fn deliver(&mut self, end: Option<WireEnd>) {
        let Some(wire) = &self.wire else { return };
        if wire.made.end().is_some() {
            self.notice = Some("the stream has ended: w leaves wire mode".into());
            return;
        }
        let Some((first, _)) = self.wire_span() else {
            return;
        };
        let caret = self.caret().unwrap_or(first);
        if end.is_none() && caret <= first {
            self.notice = Some("nothing on the wire yet: the sender has written no more".into());
            return;
        }
        let Some(handle) = self.run.as_ref().and_then(|run| run.handle.as_ref()) else {
            self.notice = Some("the run is over: w leaves wire mode and replays your cuts".into());
            return;
        };
        if let Err(error) = handle.cut(caret, end) {
            self.notice = Some(error.to_string());
            return;
        }
        let Some(wire) = &mut self.wire else { return };
        if caret > first {
            // Made as the engine took it: ascending, so this cannot fail.
            let _ = wire.made.push(caret);
        }
        if let Some(end) = end {
            wire.made.end_with(end);
        }
        wire.caret = None;
        let made = wire.made.offsets().to_vec();
        if let Some(run) = &mut self.run {
            // The byte views mark the cuts made, as they mark a plan's.
            run.cuts = made;
        }
        self.steps += 1;
    }

    /// Runs from now on with `seed`, which asks for the seed's cuts: the ones given
    /// by hand are dropped.
    fn use_seed(&mut self, seed: u64) {
        self.seed = seed;
        self.cuts = None;
    }

    /// The language the code is shown and run in.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Steps taken in this run.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    pub fn run(&self) -> Option<&LiveRun> {
        self.run.as_ref()
    }

    /// Engine events handled so far: a frame built from fewer is out of date.
    pub fn engine_events(&self) -> u64 {
        self.engine_events
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// The lesson page, with includes resolved.
    pub fn page(&self) -> &str {
        &self.page
    }

    pub fn hints(&self) -> &Result<Vec<Hint>, String> {
        &self.hints
    }

    /// Starts the current lesson afresh, paused before its first call.
    fn start_run(&mut self) {
        self.run = None; // Dropping the old handle stops its run and frees its sockets.
        self.steps = 0;
        self.load_page();
        let id = self.next_run_id;
        self.next_run_id += 1;
        let (tx, rx) = mpsc::channel();
        // Wire mode: no steps, the programs move when the wire delivers.
        let wired = self.wire.is_some();
        if let Some(wire) = &mut self.wire {
            *wire = Wire::default();
        }
        let options = RunOptions {
            seed: self.seed,
            mode: self.mode,
            stepping: !wired,
            observer: Some(tx),
            cuts: self.cuts().filter(|_| !wired).cloned(),
            cut_by_hand: wired,
            ..RunOptions::default()
        };
        if let Err(error) = self.lesson().can_run(self.lang) {
            // A remembered language that cannot run here: say why, and show Rust.
            self.notice = Some(format!("{error}; showing Rust"));
            self.lang = Lang::Rust;
        }
        match self.lesson().start_in(self.lang, options) {
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
                    history: if wired {
                        History::wired()
                    } else {
                        History::default()
                    },
                    released: false,
                };
                if let Err(error) = forwarder {
                    run.error = Some(format!("could not start a thread: {error}"));
                }
                // The programs may be at the gate already: the first point. In wire
                // mode they run until the wire asks for a cut: the first point then.
                if !wired {
                    let now = run.live_point();
                    run.history.observe(now);
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
                    history: History::default(),
                    released: false,
                });
            }
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
        let mut completed = false;
        if run.finished == [true; 2]
            && let Some(handle) = run.handle.take()
        {
            match handle.join() {
                Ok(trace) => {
                    run.trace = Some(trace);
                    completed = true;
                }
                Err(error) => run.error = Some(error.to_string()),
            }
        }
        if !run.released || run.is_done() {
            let now = run.live_point();
            // Both sides stopped is the end once the verdicts are in; in wire mode,
            // where nothing steps, only that end is a point, not the moment before.
            let ending = now.status.iter().flatten().all(|side| side.stopped) && !now.done;
            if !(self.wire.is_some() && ending) {
                run.history.observe(now);
            }
        }
        if completed {
            self.complete_lesson();
        }
    }

    /// Loads the lesson's page; an author's page that cannot be shown is named on
    /// screen, above the built-in page shown instead.
    fn load_page(&mut self) {
        let page = match self.lesson().page_text(self.pages_dir.as_deref()) {
            Ok(page) => page,
            Err(error) => {
                self.notice = Some(error.to_string());
                format!(
                    "**{error}**; showing the built-in page.\n\n{}",
                    self.lesson().builtin_page_text()
                )
            }
        };
        (self.page, self.hints) = hints::split(page);
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

    /// The question about the run the current settings give, from the same run done
    /// headless first: a lockstep run is the same every time, so the one about to
    /// play will show the answer. None (and a notice) when it cannot be asked.
    fn question(&mut self) -> Option<Question> {
        if self.mode != Mode::Lockstep {
            self.notice = Some(format!(
                "predictions need lockstep, where a seed fixes the run ({} does not): press f",
                self.mode.name()
            ));
            return None;
        }
        let options = RunOptions {
            seed: self.seed,
            mode: self.mode,
            ..RunOptions::default()
        };
        match self.lesson().run_in(self.lang, options) {
            Ok(trace) => Some(predict::question(&trace, Kind::for_seed(self.seed))),
            Err(error) => {
                self.notice = Some(format!("could not ask a question: {error}"));
                None
            }
        }
    }

    fn is_done(&self) -> bool {
        self.run.as_ref().is_some_and(LiveRun::is_done)
    }

    /// One socket call on each side.
    fn step(&mut self) {
        if let Some(handle) = self.run.as_ref().and_then(|r| r.handle.as_ref()) {
            handle.step();
            self.steps += 1;
        }
    }

    /// Lets both sides run to the end.
    fn run_to_end(&mut self) {
        if let Some(run) = self.run.as_mut()
            && let Some(handle) = &run.handle
        {
            handle.release();
            if !run.released {
                // Stepping back from the end returns here.
                let now = run.live_point();
                run.history.note(now);
            }
            run.released = true;
        }
    }

    /// Switches both sides to the next language, remembered for next time; when it
    /// cannot run here, stays and says why. True when it switched.
    fn switch_language(&mut self) -> bool {
        let lang = self.lang.next();
        if let Err(error) = self.lesson().can_run(lang) {
            self.notice = Some(error.to_string());
            return false;
        }
        self.lang = lang;
        self.change_progress(|progress| progress.lang = Some(lang));
        true
    }

    /// Moves to lesson `index`, remembered as the last one; false if already there.
    fn move_to(&mut self, index: usize) -> bool {
        if index == self.index {
            return false;
        }
        self.index = index;
        let slug = self.lesson().slug;
        self.change_progress(|progress| progress.last_lesson = Some(slug.to_string()));
        true
    }
}

impl ViewState {
    pub fn hex(&self) -> bool {
        self.hex
    }

    /// Whether the presenter layout is on.
    pub fn present(&self) -> bool {
        self.present
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// Whether the lesson text is shown in a layout that is `compact` or not.
    pub fn shows_text(&self, compact: bool) -> bool {
        self.show_text.unwrap_or(!compact)
    }

    /// Whether the path panes are shown, given whether there is `room` for them
    /// without crushing the code.
    pub fn shows_path(&self, room: bool) -> bool {
        self.show_path.unwrap_or(room)
    }

    /// The side a compact layout shows.
    pub fn focus(&self) -> Side {
        self.focus
    }

    pub fn overlay(&self) -> &Overlay {
        &self.overlay
    }

    /// The autoplay interval, if autoplay is on.
    pub fn autoplay_ms(&self) -> Option<u64> {
        self.autoplay.map(|speed| AUTOPLAY_SPEEDS_MS[speed])
    }

    pub fn text_scroll(&self) -> u16 {
        self.text_scroll
    }

    /// How far the user scrolled the code pane of `side`; 0 follows the run.
    pub fn code_scroll(&self, side: Side) -> u16 {
        self.code_scroll[side as usize]
    }

    /// How far the user scrolled the calls pane of `side`; 0 follows the last call.
    pub fn timeline_scroll(&self, side: Side) -> u16 {
        self.timeline_scroll[side as usize]
    }

    pub fn list_scroll(&self) -> u16 {
        self.list_scroll
    }

    pub fn hints_shown(&self) -> usize {
        self.hints_shown
    }

    fn scroll(&mut self, pane: Pane, by: i16) {
        let value = match pane {
            Pane::Code(side) => &mut self.code_scroll[side as usize],
            Pane::Timeline(side) => &mut self.timeline_scroll[side as usize],
            Pane::Text => &mut self.text_scroll,
            Pane::LessonList => &mut self.list_scroll,
            Pane::Steps => return,
            Pane::Choices => return,
        };
        *value = value.saturating_add_signed(by);
    }

    /// Back to following the run, as for a new one.
    fn follow_run(&mut self) {
        self.code_scroll = [0; 2];
        self.timeline_scroll = [0; 2];
        self.at = None;
    }
}

impl App {
    pub fn new(config: AppConfig, events: Sender<AppEvent>) -> App {
        let color = config.color;
        let ask = config.predict;
        let present = config.present;
        let wire = config.wire;
        let mut app = App {
            session: Session::new(config, events),
            view: ViewState {
                hex: false,
                present,
                show_text: None,
                show_path: None,
                path_room: false,
                compact: false,
                focus: Side::Naive,
                at: None,
                overlay: Overlay::None,
                autoplay: None,
                speed: 2,
                text_scroll: 0,
                code_scroll: [0; 2],
                timeline_scroll: [0; 2],
                list_scroll: 0,
                hints_shown: 0,
                theme: Theme::new(color),
                hit_areas: Vec::new(),
            },
            should_quit: false,
        };
        if ask {
            app.apply(Action::Predict);
        }
        if wire {
            app.apply(Action::ToggleWire);
        }
        app
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn view(&self) -> &ViewState {
        &self.view
    }

    /// What the screen shows of the run: live, or stepped back to a point.
    pub fn shown(&self) -> Option<Shown<'_>> {
        let run = self.session.run()?;
        let history = &run.history;
        let live = run.live_point();
        let point = history.shown(self.view.at, &live);
        let mut shown = Shown {
            run,
            events: run.events.each_ref().map(Vec::as_slice),
            status: run.status.as_ref(),
            trace: run.trace.as_ref(),
            point,
            points: history.len(),
            back: self.view.at.is_some(),
        };
        if let Some(at) = self.view.at.and_then(|at| history.get(at)) {
            shown.events = [0, 1].map(|side| &run.events[side][..at.calls[side]]);
            shown.status = at.status.as_ref();
            shown.trace = run.trace.as_ref().filter(|_| at.done);
        }
        Some(shown)
    }

    /// Where the screen goes for a move in time, if anywhere.
    fn moved_in_time(&self, action: Action) -> Option<Option<usize>> {
        let run = self.session.run()?;
        let history = &run.history;
        let last = history.len().checked_sub(1)?;
        Some(match action {
            Action::StepBack => history.back(self.view.at, &run.live_point()),
            Action::ToStart => Some(0),
            Action::ToEnd => None,
            Action::StepTo(at) if at >= last => None,
            Action::StepTo(at) => Some(at),
            _ => return None,
        })
    }

    pub fn should_quit(&self) -> bool {
        self.should_quit
    }

    /// How long until the next autoplay step, if autoplay is on.
    pub fn tick_interval(&self) -> Option<Duration> {
        self.view.autoplay_ms().map(Duration::from_millis)
    }

    /// Keeps what the last frame found out (see `Drawn`).
    pub fn after_draw(&mut self, drawn: Drawn) {
        self.view.hit_areas = drawn.hit_areas;
        self.view.compact = drawn.compact;
        self.view.path_room = drawn.path_room;
        if let Some(scroll) = drawn.text_scroll {
            self.view.text_scroll = scroll;
        }
        if let Some(scroll) = drawn.list_scroll {
            self.view.list_scroll = scroll;
        }
    }

    pub fn handle(&mut self, event: AppEvent) {
        let action = match event {
            AppEvent::Key(key) => self.on_key(key),
            AppEvent::Mouse(mouse) => self.on_mouse(mouse),
            AppEvent::Resize | AppEvent::HighlightReady => None,
            AppEvent::Engine { run, event } => {
                self.session.on_engine(run, event);
                None
            }
            AppEvent::Tick => Some(Action::Step),
            AppEvent::Terminate => Some(Action::Quit),
        };
        if let Some(action) = action {
            self.apply(action);
        }
    }

    /// Changes the state as `action` asks.
    pub fn apply(&mut self, action: Action) {
        if self.session.wire.is_some() && keys::steps_through_time(action) {
            if action == Action::Step && self.view.autoplay.is_some() {
                return; // A tick of autoplay left on: wire mode turned it off.
            }
            self.session.notice = Some(
                "in wire mode the wire moves the programs: c delivers up to the caret, w leaves"
                    .into(),
            );
            return;
        }
        let view = &mut self.view;
        let last = self.session.lessons.len().saturating_sub(1);
        match action {
            Action::Quit => self.should_quit = true,
            Action::ToggleWire => {
                if self.session.toggle_wire() {
                    self.view.autoplay = None;
                    self.restart();
                }
            }
            Action::MoveCaret(by) => self
                .session
                .move_caret(|_, _, caret| caret.saturating_add_signed(by as isize)),
            Action::CaretToFirst => self.session.move_caret(|first, _, _| first + 1),
            Action::CaretToLast => self.session.move_caret(|_, last, _| last),
            Action::Deliver(end) => self.session.deliver(end),
            // A step past the end stops autoplay.
            // Stepped back: forward through what was recorded, then live again.
            Action::Step if view.at.is_some() => {
                let history = self.session.run.as_ref().map(|run| &run.history);
                view.at = view.at.zip(history).and_then(|(at, h)| h.forward(at));
            }
            Action::Step if self.session.is_done() => view.autoplay = None,
            Action::Step => self.session.step(),
            Action::RunToEnd => {
                view.at = None;
                self.session.run_to_end();
            }
            Action::StepBack | Action::ToStart | Action::ToEnd | Action::StepTo(_) => {
                if let Some(at) = self.moved_in_time(action) {
                    self.view.at = at;
                }
            }
            Action::NewSeed => {
                self.session.use_seed(fresh_seed(self.session.seed));
                self.restart();
            }
            Action::TypeSeed => {
                view.overlay = Overlay::SeedInput {
                    typed: String::new(),
                }
            }
            Action::NextMode => {
                self.session.mode = self.session.mode.next();
                if self.session.wire.take().is_some() {
                    self.session.notice = Some("wire mode needs lockstep: left wire mode".into());
                }
                self.restart();
            }
            Action::SwitchLanguage => {
                if self.session.switch_language() {
                    self.restart();
                }
            }
            Action::PreviousLesson => self.go_to(self.session.index.saturating_sub(1)),
            Action::NextLesson => self.go_to((self.session.index + 1).min(last)),
            Action::ListLessons => {
                view.overlay = Overlay::LessonList {
                    selected: self.session.index,
                }
            }
            Action::ToggleHex => view.hex = !view.hex,
            Action::TogglePresent => view.present = !view.present,
            Action::ToggleText => view.show_text = Some(!view.shows_text(view.compact)),
            Action::TogglePath => view.show_path = Some(!view.shows_path(view.path_room)),
            Action::SwitchSide => {
                view.focus = match view.focus {
                    Side::Naive => Side::Correct,
                    Side::Correct => Side::Naive,
                }
            }
            Action::ToggleAutoplay => {
                view.autoplay = match view.autoplay {
                    Some(_) => None,
                    None => Some(view.speed),
                }
            }
            Action::Faster | Action::Slower => {
                view.speed = match action {
                    Action::Faster => (view.speed + 1).min(AUTOPLAY_SPEEDS_MS.len() - 1),
                    _ => view.speed.saturating_sub(1),
                };
                view.autoplay = view.autoplay.map(|_| view.speed);
            }
            Action::Help => view.overlay = Overlay::Help,
            Action::Hint => {
                let count = self.session.hints.as_ref().map_or(1, Vec::len);
                view.hints_shown = (view.hints_shown + 1).min(count.max(1));
                view.overlay = Overlay::Hints;
            }
            Action::ScrollText(by) => view.scroll(Pane::Text, by),
            Action::Scroll(pane, by) => view.scroll(pane, by),
            Action::CloseOverlay => view.overlay = Overlay::None,
            Action::Select(selected) => view.overlay = Overlay::LessonList { selected },
            Action::OpenLesson(index) => {
                view.overlay = Overlay::None;
                self.go_to(index.min(last));
            }
            Action::SeedDigit(digit) => {
                if let Overlay::SeedInput { typed } = &mut view.overlay {
                    // Any u64, like the command line: a digit that would overflow is not taken.
                    let longer = format!("{typed}{digit}");
                    if longer.parse::<u64>().is_ok() {
                        *typed = longer;
                    }
                }
            }
            Action::SeedBackspace => {
                if let Overlay::SeedInput { typed } = &mut view.overlay {
                    typed.pop();
                }
            }
            Action::SeedSubmit => {
                let Overlay::SeedInput { typed } = &view.overlay else {
                    return;
                };
                if let Ok(seed) = typed.parse::<u64>() {
                    view.overlay = Overlay::None;
                    self.session.use_seed(seed);
                    self.restart();
                } else if typed.is_empty() {
                    view.overlay = Overlay::None;
                } else {
                    self.session.notice =
                        Some(format!("'{typed}' is not a seed: type a whole number"));
                }
            }
            Action::Predict => {
                if let Some(question) = self.session.question() {
                    self.restart();
                    self.view.autoplay = None;
                    self.view.overlay = Overlay::Predict(Box::new(Prediction::new(question)));
                }
            }
            Action::PredictPick(choice) => {
                let Overlay::Predict(prediction) = &mut view.overlay else {
                    return;
                };
                if prediction.picked.is_some() || choice >= prediction.question.choices.len() {
                    return;
                }
                prediction.picked = Some(choice);
                let right = prediction.question.is_right(choice);
                let slug = self.session.lesson().slug;
                self.session
                    .change_progress(|progress| progress.record_prediction(slug, right));
                self.session.run_to_end();
            }
        }
    }

    /// Runs the current lesson afresh, its panes following the new run.
    fn restart(&mut self) {
        self.view.follow_run();
        self.session.start_run();
    }

    fn go_to(&mut self, index: usize) {
        if self.session.move_to(index) {
            self.view.text_scroll = 0;
            self.view.hints_shown = 0;
        }
        self.restart();
    }

    fn on_key(&mut self, key: KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        // A notice has been seen once a key is pressed.
        self.session.notice = None;
        if self.session.pages_dir.is_some() {
            // An author editing the pages sees each change at the next key.
            self.session.load_page();
        }
        if keys::is_interrupt(&key) {
            return Some(Action::Quit);
        }
        let last = self.session.lessons.len().saturating_sub(1);
        match &self.view.overlay {
            Overlay::None if self.session.wire.is_some() => keys::wire_action(key.code),
            Overlay::None => keys::main_action(key.code),
            // Any key closes the help; q also quits.
            Overlay::Help if key.code == KeyCode::Char('q') => Some(Action::Quit),
            Overlay::Help => Some(Action::CloseOverlay),
            Overlay::LessonList { selected } => match key.code {
                KeyCode::Esc | KeyCode::Char('l') => Some(Action::CloseOverlay),
                KeyCode::Char('q') => Some(Action::Quit),
                KeyCode::Enter => Some(Action::OpenLesson(*selected)),
                KeyCode::Up | KeyCode::Char('k') => {
                    Some(Action::Select(selected.saturating_sub(1)))
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    Some(Action::Select((selected + 1).min(last)))
                }
                KeyCode::Home => Some(Action::Select(0)),
                KeyCode::End => Some(Action::Select(last)),
                // Typing a number (1-9) jumps to that lesson.
                KeyCode::Char(c) => c
                    .to_digit(10)
                    .map(|n| n as usize)
                    .filter(|n| (1..=last + 1).contains(n))
                    .map(|n| Action::Select(n - 1)),
                _ => None,
            },
            // h shows the next hint; q quits; any other key closes, Esc too.
            Overlay::Hints => match key.code {
                KeyCode::Char('h') => Some(Action::Hint),
                KeyCode::Char('q') => Some(Action::Quit),
                _ => Some(Action::CloseOverlay),
            },
            Overlay::Predict(prediction) => match key.code {
                KeyCode::Char('q') => Some(Action::Quit),
                KeyCode::Esc => Some(Action::CloseOverlay),
                KeyCode::Char(c) if prediction.picked.is_none() => c
                    .to_digit(10)
                    .map(|n| n as usize)
                    .filter(|n| (1..=prediction.question.choices.len()).contains(n))
                    .map(|n| Action::PredictPick(n - 1)),
                // Once the answer is shown, any key goes back to the run.
                _ if prediction.picked.is_some() && self.session.is_done() => {
                    Some(Action::CloseOverlay)
                }
                _ => None,
            },
            Overlay::SeedInput { .. } => match key.code {
                KeyCode::Esc => Some(Action::CloseOverlay),
                KeyCode::Enter => Some(Action::SeedSubmit),
                KeyCode::Backspace => Some(Action::SeedBackspace),
                KeyCode::Char(c) if c.is_ascii_digit() => Some(Action::SeedDigit(c)),
                _ => None,
            },
        }
    }

    /// The wheel scrolls the pane under the pointer; a click in the lesson list
    /// opens the lesson clicked.
    fn on_mouse(&self, mouse: MouseEvent) -> Option<Action> {
        let at = Position::new(mouse.column, mouse.row);
        let (pane, area) = self
            .view
            .hit_areas
            .iter()
            .rev()
            .find(|(_, area)| area.contains(at))?;
        match mouse.kind {
            MouseEventKind::ScrollDown => Some(Action::Scroll(*pane, WHEEL)),
            MouseEventKind::ScrollUp => Some(Action::Scroll(*pane, -WHEEL)),
            MouseEventKind::Down(_) if *pane == Pane::Steps => {
                let history = &self.session.run()?.history;
                history
                    .at_column(mouse.column - area.x, area.width)
                    .map(Action::StepTo)
            }
            MouseEventKind::Down(_)
                if *pane == Pane::LessonList
                    && matches!(self.view.overlay, Overlay::LessonList { .. }) =>
            {
                let row = (mouse.row.saturating_sub(area.y + 1) + self.view.list_scroll) as usize;
                (row < self.session.lessons.len()).then_some(Action::OpenLesson(row))
            }
            MouseEventKind::Down(_) if *pane == Pane::Choices => {
                let Overlay::Predict(prediction) = &self.view.overlay else {
                    return None;
                };
                let row = mouse.row.saturating_sub(area.y) as usize;
                (prediction.picked.is_none() && row < prediction.question.choices.len())
                    .then_some(Action::PredictPick(row))
            }
            _ => None,
        }
    }
}

/// Lines one notch of the mouse wheel scrolls.
const WHEEL: i16 = 3;

/// A new seed for `r`: small enough to read out and type back.
fn fresh_seed(old: u64) -> u64 {
    loop {
        let seed = rand::random_range(1..10_000);
        if seed != old {
            return seed;
        }
    }
}
