//! Rendering snapshots of the TUI, driven through the app's own event handling with
//! synthetic keys, over real runs (lockstep, fixed seed, so the screen is the same
//! every time).

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::PathBuf;

use sockstep::engine::{ActorState, FixedCuts, Mode, Side};
use sockstep::lesson::Lang;
use sockstep::teaching;
use sockstep::tui::keys;
use sockstep::tui::view::{self, Cache};
use sockstep::tui::{App, AppConfig, AppEvent};

struct Harness {
    app: App,
    events: Receiver<AppEvent>,
    cache: Cache,
}

impl Harness {
    fn new(slug: &str, seed: u64) -> Harness {
        Harness::start(slug, seed, false)
    }

    fn start(slug: &str, seed: u64, color: bool) -> Harness {
        Harness::with(slug, seed, color, None, None)
    }

    fn python(slug: &str, seed: u64) -> Harness {
        Harness::with(slug, seed, false, Some(Lang::Python), None)
    }

    fn with(
        slug: &str,
        seed: u64,
        color: bool,
        lang: Option<Lang>,
        progress_path: Option<PathBuf>,
    ) -> Harness {
        let start = teaching::find(slug).unwrap().0 - 1;
        Harness::from_config(AppConfig {
            lessons: teaching::all(),
            pages_dir: None,
            start: Some(start),
            seed: Some(seed),
            mode: Mode::Lockstep,
            lang,
            cuts: None,
            color,
            progress_path,
        })
    }

    fn from_config(config: AppConfig) -> Harness {
        let (tx, events) = mpsc::channel();
        let app = App::new(config, tx);
        let mut harness = Harness {
            app,
            events,
            cache: Cache::default(),
        };
        harness.wait_at_the_gate();
        harness
    }

    /// Waits until a new run's programs all wait at the gate, before their first call.
    fn wait_at_the_gate(&mut self) {
        self.pump_until("both programs wait at the gate", |app| {
            app.session()
                .run()
                .and_then(|r| r.status.as_ref())
                .is_some_and(|s| {
                    s.iter().all(|side| {
                        matches!(side.receiver, ActorState::AtGate { .. })
                            && matches!(side.sender, ActorState::AtGate { .. })
                    })
                })
        });
    }

    fn key(&mut self, code: KeyCode) {
        self.app
            .handle(AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// Feeds engine events to the app until `done` holds.
    fn pump_until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(&self.app) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => self.app.handle(event),
                Err(_) => panic!(
                    "timed out waiting until {what}; status {:?}; events {:?}",
                    self.app.session().run().and_then(|r| r.status.clone()),
                    self.app
                        .session()
                        .run()
                        .map(|r| [r.events[0].len(), r.events[1].len()])
                ),
            }
        }
    }

    fn run_to_end(&mut self) {
        self.key(KeyCode::Enter);
        self.pump_until("the run finishes", |app| {
            app.session().run().is_some_and(|r| r.trace.is_some())
        });
    }

    fn draw(&mut self, width: u16, height: u16) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let mut drawn = None;
        terminal
            .draw(|frame| drawn = Some(view::render(frame, &self.app, &mut self.cache)))
            .unwrap();
        self.app.after_draw(drawn.expect("drawn"));
        terminal
    }

    fn screen(&mut self, width: u16, height: u16) -> String {
        self.draw(width, height).backend().to_string()
    }
}

#[test]
fn first_screen_paused_before_the_first_call() {
    let mut h = Harness::new("length-prefix", 3);
    insta::assert_snapshot!(h.screen(120, 40));
}

#[test]
fn finished_run_naive_fails_correct_delivers_wide() {
    let mut h = Harness::new("length-prefix", 3);
    h.run_to_end();
    let screen = h.screen(120, 40);
    assert!(screen.contains("Naive ✗") && screen.contains("Correct ✓"));
    assert!(screen.contains("00┃005"), "the split prefix is marked");
    insta::assert_snapshot!(screen);
}

/// `tui LESSON --cuts 2,7,19`: both sides get those pieces, the header names the
/// flag that replays them, and another lesson (another stream) is cut by its seed.
#[test]
fn cuts_given_by_hand_cut_the_run_and_show_as_a_flag() {
    let start = teaching::find("length-prefix").unwrap().0 - 1;
    let mut h = Harness::from_config(AppConfig {
        lessons: teaching::all(),
        pages_dir: None,
        start: Some(start),
        seed: Some(3),
        mode: Mode::Lockstep,
        lang: None,
        cuts: Some(FixedCuts::parse("2,7,19").unwrap()),
        color: false,
        progress_path: None,
    });
    h.run_to_end();
    assert_eq!(h.app.session().run().unwrap().cuts, [2, 7, 19]);
    let screen = h.screen(120, 40);
    assert!(screen.contains("seed 3 · --cuts 2,7,19 · step"), "{screen}");
    insta::assert_snapshot!(screen);
    h.key(KeyCode::Char('n'));
    h.wait_at_the_gate();
    assert_ne!(h.app.session().run().unwrap().cuts, [2, 7, 19]);
    assert!(!h.screen(120, 40).contains("--cuts"));
    h.key(KeyCode::Char('p'));
    h.wait_at_the_gate();
    assert_eq!(h.app.session().run().unwrap().cuts, [2, 7, 19]);
    // A new seed asks for the seed's cuts: the hand-made ones are dropped.
    h.key(KeyCode::Char('r'));
    h.wait_at_the_gate();
    assert_ne!(h.app.session().run().unwrap().cuts, [2, 7, 19]);
    assert!(!h.screen(120, 40).contains("--cuts"));
}

/// The theme's colours, cell by cell (code plain: the highlighter is not loaded).
#[test]
fn finished_run_in_colour_with_autoplay_on() {
    let mut h = Harness::start("length-prefix", 3, true);
    h.key(KeyCode::Char('a'));
    h.run_to_end();
    let terminal = h.draw(120, 40);
    insta::assert_snapshot!(format!("{:?}", terminal.backend().buffer()));
}

#[test]
fn finished_run_compact_shows_one_side_and_tab_switches() {
    let mut h = Harness::new("length-prefix", 3);
    h.run_to_end();
    insta::assert_snapshot!("compact_naive", h.screen(80, 24));
    h.key(KeyCode::Tab);
    insta::assert_snapshot!("compact_correct", h.screen(80, 24));
}

#[test]
fn help_overlay_lists_every_key() {
    let mut h = Harness::new("partial-recv", 1);
    h.key(KeyCode::Char('?'));
    let screen = h.screen(120, 40);
    for row in keys::KEYS {
        assert!(screen.contains(row.keys), "help lists {}", row.keys);
    }
    insta::assert_snapshot!(screen);
    // Any key closes it.
    h.key(KeyCode::Char('z'));
    assert!(!h.screen(120, 40).contains("Keys (any key closes)"));
}

#[test]
fn lesson_list_and_hex_view() {
    let mut h = Harness::new("partial-recv", 1);
    h.key(KeyCode::Char('l'));
    insta::assert_snapshot!("lesson_list", h.screen(120, 40));
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('x'));
    h.run_to_end();
    let screen = h.screen(120, 40);
    assert!(screen.contains("bytes received (hex)"));
    assert!(screen.contains("48 45 4c 4f"), "HELO in hex");
}

#[test]
fn a_tiny_terminal_gets_a_message_not_a_broken_screen() {
    let mut h = Harness::new("partial-recv", 1);
    let screen = h.screen(40, 10);
    assert!(screen.contains("needs a terminal of at least"), "{screen}");
}

#[test]
fn keys_change_lesson_mode_and_seed() {
    let first = teaching::all()[0].slug;
    let mut h = Harness::new(first, 1);
    h.key(KeyCode::Right);
    assert_eq!(h.app.session().lesson().slug, teaching::all()[1].slug);
    h.key(KeyCode::Left);
    h.key(KeyCode::Left); // already first: stays
    assert_eq!(h.app.session().index(), 0);
    h.key(KeyCode::Char('f'));
    assert_eq!(h.app.session().mode(), Mode::FreeRun);
    h.key(KeyCode::Char('s'));
    for c in "42".chars() {
        h.key(KeyCode::Char(c));
    }
    h.key(KeyCode::Enter);
    assert_eq!(h.app.session().seed(), 42);
    let before = h.app.session().seed();
    h.key(KeyCode::Char('r'));
    assert_ne!(h.app.session().seed(), before);
    // Unknown keys change nothing.
    for code in [KeyCode::Char('z'), KeyCode::F(5), KeyCode::Insert] {
        h.key(code);
    }
    assert!(!h.app.should_quit());
    h.key(KeyCode::Char('q'));
    assert!(h.app.should_quit());
}

#[test]
fn stepping_shows_the_first_piece_on_both_sides() {
    let mut h = Harness::new("length-prefix", 3);
    // Step until each side's receiver has read something.
    for _ in 0..20 {
        let read = |app: &App, side: Side| {
            app.session().run().is_some_and(|r| {
                r.events[side as usize]
                    .iter()
                    .any(|e| e.call == sockstep::engine::Call::Recv)
            })
        };
        if read(&h.app, Side::Naive) && read(&h.app, Side::Correct) {
            break;
        }
        let before = h.app.session().engine_events();
        h.key(KeyCode::Char(' '));
        // A step either completes a call or starts a recv() that waits: both report.
        h.pump_until("the step is reported and both sides settle again", |app| {
            app.session().engine_events() > before
                && app
                    .session()
                    .run()
                    .and_then(|r| r.status.as_ref())
                    .is_some_and(|s| s.iter().all(|side| side.settled || side.stopped))
        });
    }
    let screen = h.screen(120, 40);
    assert!(screen.contains("recv 5 → 2  \"00\""), "{screen}");
    assert!(h.app.session().steps() > 0);
}

#[test]
fn mouse_wheel_scrolls_the_pane_under_the_pointer_and_clicks_pick_a_lesson() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut h = Harness::new("partial-recv", 1);
    let screen = h.screen(120, 40);
    let text_row = screen
        .lines()
        .position(|l| l.contains("Lesson (t hides"))
        .unwrap() as u16
        + 2;
    let mouse = |kind, column, row| {
        AppEvent::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    h.app
        .handle(mouse(MouseEventKind::ScrollDown, 10, text_row));
    assert_eq!(h.app.view().text_scroll(), 3);
    h.app.handle(mouse(MouseEventKind::ScrollUp, 10, text_row));
    assert_eq!(h.app.view().text_scroll(), 0);

    // Click the second row of the lesson list.
    h.key(KeyCode::Char('l'));
    let screen = h.screen(120, 40);
    let slug = teaching::all()[0].slug;
    let first_row = screen
        .lines()
        .position(|l| l.contains(" 1 ") && l.contains(slug))
        .unwrap();
    let line = screen.lines().nth(first_row).unwrap();
    let column = line[..line.find(slug).unwrap()].chars().count() as u16;
    h.app.handle(mouse(
        MouseEventKind::Down(MouseButton::Left),
        column,
        first_row as u16 + 1,
    ));
    assert_eq!(h.app.session().index(), 1, "the click opened lesson 2");
}

#[test]
fn autoplay_steps_on_each_tick_and_speed_keys_change_the_interval() {
    let mut h = Harness::new("partial-recv", 1);
    assert_eq!(h.app.tick_interval(), None);
    h.key(KeyCode::Char('a'));
    let normal = h.app.tick_interval().expect("autoplay is on");
    h.key(KeyCode::Char('+'));
    assert!(h.app.tick_interval().unwrap() < normal);
    h.key(KeyCode::Char('-'));
    h.key(KeyCode::Char('-'));
    assert!(h.app.tick_interval().unwrap() > normal);
    h.app.handle(AppEvent::Tick);
    h.app.handle(AppEvent::Tick);
    assert_eq!(h.app.session().steps(), 2);
    h.key(KeyCode::Char('a'));
    assert_eq!(h.app.tick_interval(), None);
}

#[test]
fn an_authors_live_pages_are_read_again_at_the_next_key() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("lessons");
    std::fs::create_dir_all(&pages).unwrap();
    let slug = teaching::all()[0].slug;
    std::fs::write(pages.join(format!("{slug}.md")), "# First draft\n").unwrap();
    let (tx, _events) = mpsc::channel();
    let mut app = App::new(
        AppConfig {
            lessons: teaching::all(),
            pages_dir: Some(pages.clone()),
            start: Some(0),
            seed: Some(1),
            mode: Mode::Lockstep,
            lang: None,
            cuts: None,
            color: false,
            progress_path: None,
        },
        tx,
    );
    assert!(app.session().page().contains("First draft"));
    std::fs::write(pages.join(format!("{slug}.md")), "# Second draft\n").unwrap();
    app.handle(AppEvent::Key(KeyEvent::new(
        KeyCode::Char('x'),
        KeyModifiers::NONE,
    )));
    assert!(
        app.session().page().contains("Second draft"),
        "{}",
        app.session().page()
    );
}

#[test]
fn a_tick_after_the_run_ends_stops_autoplay() {
    let mut h = Harness::new("partial-recv", 1);
    h.key(KeyCode::Char('a'));
    h.run_to_end();
    let steps = h.app.session().steps();
    assert!(h.app.tick_interval().is_some());
    h.app.handle(AppEvent::Tick);
    assert_eq!(h.app.tick_interval(), None, "autoplay is off");
    assert_eq!(h.app.session().steps(), steps, "and no step was taken");
}

#[test]
fn lesson_list_keys_move_the_selection_and_open_a_lesson() {
    let mut h = Harness::new(teaching::all()[0].slug, 1);
    let last = teaching::all().len() - 1;
    for (keys, opened) in [
        (&[KeyCode::Down, KeyCode::Enter][..], 1),
        (&[KeyCode::Char('3'), KeyCode::Enter], 2),
        (&[KeyCode::End, KeyCode::Down, KeyCode::Enter], last),
        (&[KeyCode::Home, KeyCode::Up, KeyCode::Enter], 0),
        (&[KeyCode::Char('j'), KeyCode::Esc], 0),
    ] {
        h.key(KeyCode::Char('l'));
        for key in keys {
            h.key(*key);
        }
        assert_eq!(h.app.session().index(), opened, "after {keys:?}");
        assert!(!h.screen(120, 40).contains(" Lessons ("), "the list closed");
    }
}

#[test]
fn the_seed_box_takes_only_digits_that_keep_a_u64_and_closes_when_empty() {
    let mut h = Harness::new("partial-recv", 1);
    h.key(KeyCode::Char('s'));
    for c in "18446744073709551615".chars().chain("9x".chars()) {
        h.key(KeyCode::Char(c));
    }
    h.key(KeyCode::Backspace);
    h.key(KeyCode::Char('4'));
    h.key(KeyCode::Enter);
    assert_eq!(h.app.session().seed(), 18446744073709551614);
    h.key(KeyCode::Char('s'));
    h.key(KeyCode::Enter); // nothing typed: closes
    assert!(!h.screen(120, 40).contains("Run with seed"));
}

#[test]
fn python_first_screen_paused_before_the_first_call() {
    let mut h = Harness::python("length-prefix", 3);
    let screen = h.screen(120, 40);
    assert!(
        screen.contains("length-prefix · python · lockstep · seed 3"),
        "{screen}"
    );
    assert!(screen.contains("code · src/teaching/python/length_prefix.py"));
    assert!(screen.contains("sock.recv(PREFIX_LEN)"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn python_finished_run_naive_fails_correct_delivers() {
    let mut h = Harness::python("length-prefix", 3);
    h.run_to_end();
    let screen = h.screen(120, 40);
    assert!(
        screen.contains("Naive ✗") && screen.contains("Correct ✓"),
        "{screen}"
    );
    assert!(screen.contains("00┃005"), "the split prefix is marked");
    insta::assert_snapshot!(screen);
}

/// The rows of the code panes that carry the receiver's mark.
fn marked_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter(|line| line.contains("│▶"))
        .map(str::to_string)
        .collect()
}

#[test]
fn l_switches_both_sides_to_python_and_restarts_with_the_same_seed() {
    let mut h = Harness::new("length-prefix", 3);
    h.key(KeyCode::Char('f'));
    h.wait_at_the_gate();
    h.key(KeyCode::Char(' '));
    let run = h.app.session().run().map(|r| r.id);
    h.key(KeyCode::Char('L'));
    h.wait_at_the_gate();
    let session = h.app.session();
    assert_eq!(session.lang(), Lang::Python);
    assert_ne!(session.run().map(|r| r.id), run, "a new run");
    assert_eq!((session.seed(), session.mode()), (3, Mode::FreeRun));
    assert_eq!(session.steps(), 0);
    let screen = h.screen(120, 40);
    assert!(
        screen.contains("· python · free-run · seed 3 · step 0"),
        "{screen}"
    );
    assert!(screen.contains("def naive(sock):"), "{screen}");
    assert!(!screen.contains("pub fn naive"), "{screen}");
    // Both sides are marked on the Python lines their receivers wait at.
    let marked = marked_rows(&screen);
    assert!(
        marked
            .iter()
            .any(|row| row.contains("sock.recv(PREFIX_LEN)")),
        "{marked:?}"
    );
    h.key(KeyCode::Char('L'));
    h.wait_at_the_gate();
    assert_eq!(h.app.session().lang(), Lang::Rust);
    assert!(h.screen(120, 40).contains("pub fn naive"));
}

#[test]
fn the_language_chosen_is_remembered_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("progress.json");
    let mut h = Harness::with("length-prefix", 3, false, None, Some(path.clone()));
    assert_eq!(h.app.session().lang(), Lang::Rust);
    h.key(KeyCode::Char('L'));
    h.wait_at_the_gate();
    drop(h);
    let h = Harness::with("length-prefix", 3, false, None, Some(path.clone()));
    assert_eq!(h.app.session().lang(), Lang::Python);
    drop(h);
    // `--lang` wins over what was remembered.
    let h = Harness::with("length-prefix", 3, false, Some(Lang::Rust), Some(path));
    assert_eq!(h.app.session().lang(), Lang::Rust);
}
