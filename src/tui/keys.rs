//! Every key of the main view, once: what it does (`Action`), how the help, the
//! footer and README.md's key table name it. Inputs become `Action`s here and in
//! `App::on_mouse`; only `App::apply` changes state.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::engine::{Side, WireEnd};

/// What an input asks of the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    /// One socket call on each side (also the autoplay tick).
    Step,
    RunToEnd,
    /// Back one step in the run's history.
    StepBack,
    /// Back to before the first call.
    ToStart,
    /// To the end of what has run: following the run again.
    ToEnd,
    /// To this point of the run's history (a click on the timeline bar).
    StepTo(usize),
    NewSeed,
    TypeSeed,
    NextMode,
    /// Both sides' code: Rust ↔ Python, restarted with the same seed.
    SwitchLanguage,
    PreviousLesson,
    NextLesson,
    ListLessons,
    ToggleHex,
    /// Presenter mode on / off.
    TogglePresent,
    ToggleText,
    /// Each side's path pane: where its bytes are, box by box.
    TogglePath,
    SwitchSide,
    ToggleAutoplay,
    Faster,
    Slower,
    Help,
    /// The lesson's next hint.
    Hint,
    /// Scrolls the lesson text by this many lines.
    ScrollText(i16),
    /// The mouse wheel over a pane.
    Scroll(Pane, i16),
    /// Closes whatever covers the main view.
    CloseOverlay,
    /// In the lesson list: the lesson highlighted.
    Select(usize),
    /// Opens this lesson (0-based).
    OpenLesson(usize),
    /// In the seed box.
    SeedDigit(char),
    SeedBackspace,
    SeedSubmit,
    /// Asks what the run about to play will show, before it plays.
    Predict,
    /// In the question: the learner's choice (0-based); the run then plays.
    PredictPick(usize),
    /// Wire mode on (a fresh run the user cuts by hand) or off (the cuts made,
    /// replayed step by step).
    ToggleWire,
    /// Wire mode: the caret this many bytes on (back, if negative).
    MoveCaret(i16),
    /// Wire mode: the caret after the first / the last byte on the wire.
    CaretToFirst,
    CaretToLast,
    /// Wire mode: delivers up to the caret as one piece, then ends the stream there
    /// if it says how.
    Deliver(Option<WireEnd>),
}

/// Panes the mouse wheel can scroll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Code(Side),
    Timeline(Side),
    Text,
    LessonList,
    /// The timeline bar: a click steps there.
    Steps,
    /// The choices of a prediction question, one per row.
    Choices,
}

/// Which layouts' footers name a row of keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    Always,
    Wide,
    Narrow,
}

/// How the footer names a row of keys.
pub struct Footer {
    pub key: &'static str,
    pub what: &'static str,
    pub shown: Shown,
}

/// One row of the help: keys, what they do, and the actions they map to.
pub struct KeyRow {
    pub keys: &'static str,
    pub does: &'static str,
    pub footer: Option<Footer>,
    pub bindings: &'static [(KeyCode, Action)],
}

const fn footer(key: &'static str, what: &'static str, shown: Shown) -> Option<Footer> {
    Some(Footer { key, what, shown })
}

/// Lines the lesson text scrolls per PgUp/PgDn.
const PAGE: i16 = 5;

/// The main view's keys. Ctrl-C quits from anywhere, overlays included.
pub const KEYS: &[KeyRow] = &[
    KeyRow {
        keys: "space",
        does: "one step: the next socket call on both sides",
        footer: footer("space", "step", Shown::Always),
        bindings: &[(KeyCode::Char(' '), Action::Step)],
    },
    KeyRow {
        keys: "enter",
        does: "run both sides to the end",
        footer: footer("enter", "run", Shown::Always),
        bindings: &[(KeyCode::Enter, Action::RunToEnd)],
    },
    KeyRow {
        keys: "b / Backspace",
        does: "step back one call (space: forward)",
        footer: footer("b", "back", Shown::Wide),
        bindings: &[
            (KeyCode::Char('b'), Action::StepBack),
            (KeyCode::Backspace, Action::StepBack),
        ],
    },
    KeyRow {
        keys: "Home / End",
        does: "to the start / the end (or click the bar)",
        footer: None,
        bindings: &[
            (KeyCode::Home, Action::ToStart),
            (KeyCode::End, Action::ToEnd),
        ],
    },
    KeyRow {
        keys: "r",
        does: "run again with a new seed",
        footer: footer("r", "new seed", Shown::Wide),
        bindings: &[(KeyCode::Char('r'), Action::NewSeed)],
    },
    KeyRow {
        keys: "s",
        does: "type a seed",
        footer: footer("s", "seed", Shown::Wide),
        bindings: &[(KeyCode::Char('s'), Action::TypeSeed)],
    },
    KeyRow {
        keys: "f",
        does: "mode: lockstep → free-run → direct",
        footer: footer("f", "mode", Shown::Wide),
        bindings: &[(KeyCode::Char('f'), Action::NextMode)],
    },
    KeyRow {
        keys: "L",
        does: "language: Rust ↔ Python",
        footer: footer("L", "language", Shown::Wide),
        bindings: &[(KeyCode::Char('L'), Action::SwitchLanguage)],
    },
    KeyRow {
        keys: "← → / n",
        does: "previous / next lesson",
        footer: footer("←→", "lesson", Shown::Always),
        bindings: &[
            (KeyCode::Left, Action::PreviousLesson),
            (KeyCode::Right, Action::NextLesson),
            (KeyCode::Char('n'), Action::NextLesson),
        ],
    },
    KeyRow {
        keys: "w",
        does: "be the wire: cut the stream by hand",
        footer: footer("w", "wire", Shown::Wide),
        bindings: &[(KeyCode::Char('w'), Action::ToggleWire)],
    },
    KeyRow {
        keys: "p",
        does: "predict what this run will show, then watch",
        footer: None,
        bindings: &[(KeyCode::Char('p'), Action::Predict)],
    },
    KeyRow {
        keys: "l",
        does: "lesson list (✓ = completed)",
        footer: footer("l", "list", Shown::Wide),
        bindings: &[(KeyCode::Char('l'), Action::ListLessons)],
    },
    KeyRow {
        keys: "x",
        does: "bytes as text ↔ hex",
        footer: footer("x", "hex", Shown::Wide),
        bindings: &[(KeyCode::Char('x'), Action::ToggleHex)],
    },
    KeyRow {
        keys: "P",
        does: "presenter mode for a room (--present)",
        footer: None,
        bindings: &[(KeyCode::Char('P'), Action::TogglePresent)],
    },
    KeyRow {
        keys: "t",
        does: "show / hide the lesson text",
        footer: footer("t", "text", Shown::Always),
        bindings: &[(KeyCode::Char('t'), Action::ToggleText)],
    },
    KeyRow {
        keys: "B",
        does: "show / hide where the bytes are (shown when there is room)",
        footer: None,
        bindings: &[(KeyCode::Char('B'), Action::TogglePath)],
    },
    KeyRow {
        keys: "PgUp PgDn",
        does: "scroll the lesson text (or the mouse wheel)",
        footer: None,
        bindings: &[
            (KeyCode::PageUp, Action::ScrollText(-PAGE)),
            (KeyCode::PageDown, Action::ScrollText(PAGE)),
            (KeyCode::Char('K'), Action::ScrollText(-PAGE)),
            (KeyCode::Char('J'), Action::ScrollText(PAGE)),
        ],
    },
    KeyRow {
        keys: "tab",
        does: "naive ↔ correct code (narrow terminals)",
        footer: footer("tab", "side", Shown::Narrow),
        bindings: &[
            (KeyCode::Tab, Action::SwitchSide),
            (KeyCode::BackTab, Action::SwitchSide),
        ],
    },
    KeyRow {
        keys: "a",
        does: "autoplay on / off",
        footer: footer("a", "autoplay", Shown::Wide),
        bindings: &[(KeyCode::Char('a'), Action::ToggleAutoplay)],
    },
    KeyRow {
        keys: "+ / -",
        does: "autoplay faster / slower",
        footer: None,
        bindings: &[
            (KeyCode::Char('+'), Action::Faster),
            (KeyCode::Char('='), Action::Faster),
            (KeyCode::Char('-'), Action::Slower),
        ],
    },
    KeyRow {
        keys: "?",
        does: "this help",
        footer: footer("?", "help", Shown::Always),
        bindings: &[(KeyCode::Char('?'), Action::Help)],
    },
    KeyRow {
        keys: "h",
        does: "the lesson's next hint (of three)",
        footer: footer("h", "hint", Shown::Always),
        bindings: &[(KeyCode::Char('h'), Action::Hint)],
    },
    KeyRow {
        keys: "q, Esc, Ctrl-C",
        does: "quit",
        footer: footer("q", "quit", Shown::Always),
        bindings: &[
            (KeyCode::Char('q'), Action::Quit),
            (KeyCode::Esc, Action::Quit),
        ],
    },
];

/// Wire mode's own keys, looked up before the main view's (which still work, but
/// for stepping: the user is the wire, and the programs move when it delivers).
pub const WIRE_KEYS: &[KeyRow] = &[
    KeyRow {
        keys: "← →",
        does: "move the caret over the bytes on the wire",
        footer: footer("←→", "caret", Shown::Always),
        bindings: &[
            (KeyCode::Left, Action::MoveCaret(-1)),
            (KeyCode::Right, Action::MoveCaret(1)),
        ],
    },
    KeyRow {
        keys: "Home / End",
        does: "caret after the first / the last byte on the wire",
        footer: None,
        bindings: &[
            (KeyCode::Home, Action::CaretToFirst),
            (KeyCode::End, Action::CaretToLast),
        ],
    },
    KeyRow {
        keys: "c / space",
        does: "deliver up to the caret to both receivers, as one piece",
        footer: footer("c", "deliver", Shown::Always),
        bindings: &[
            (KeyCode::Char('c'), Action::Deliver(None)),
            (KeyCode::Char(' '), Action::Deliver(None)),
        ],
    },
    KeyRow {
        keys: "F",
        does: "deliver up to the caret, then close the sender's side (FIN)",
        footer: footer("F", "FIN", Shown::Wide),
        bindings: &[(KeyCode::Char('F'), Action::Deliver(Some(WireEnd::Close)))],
    },
    KeyRow {
        keys: "R",
        does: "deliver up to the caret, then reset the connection (RST)",
        footer: footer("R", "RST", Shown::Wide),
        bindings: &[(KeyCode::Char('R'), Action::Deliver(Some(WireEnd::Reset)))],
    },
    KeyRow {
        keys: "w",
        does: "leave wire mode: step through the cuts made",
        footer: footer("w", "leave", Shown::Always),
        bindings: &[(KeyCode::Char('w'), Action::ToggleWire)],
    },
];

/// Main-view actions that wire mode does not take: the wire, not a step, moves
/// the programs.
pub fn steps_through_time(action: Action) -> bool {
    matches!(
        action,
        Action::Step
            | Action::RunToEnd
            | Action::StepBack
            | Action::ToStart
            | Action::ToEnd
            | Action::StepTo(_)
            | Action::ToggleAutoplay
            | Action::Predict
    )
}

/// Wire mode's action for a key: its own keys first, then the main view's.
pub fn wire_action(code: KeyCode) -> Option<Action> {
    WIRE_KEYS
        .iter()
        .flat_map(|row| row.bindings)
        .find(|(bound, _)| *bound == code)
        .map(|(_, action)| *action)
        .or_else(|| main_action(code))
}

/// Ctrl-C, which quits whatever is shown.
pub fn is_interrupt(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c')
}

/// The main view's action for a key; unknown keys have none.
pub fn main_action(code: KeyCode) -> Option<Action> {
    KEYS.iter()
        .flat_map(|row| row.bindings)
        .find(|(bound, _)| *bound == code)
        .map(|(_, action)| *action)
}

/// The footer's keys: all in a wide terminal, the essential ones in a narrow one;
/// in wire mode, its own keys, then help and quit.
pub fn footer_keys(narrow: bool, wire: bool) -> impl Iterator<Item = &'static Footer> {
    let rows: Vec<&'static KeyRow> = if wire {
        let always =
            |row: &&KeyRow| matches!(row.bindings.first(), Some((KeyCode::Char('?' | 'q'), _)));
        WIRE_KEYS.iter().chain(KEYS.iter().filter(always)).collect()
    } else {
        KEYS.iter().collect()
    };
    rows.into_iter()
        .filter_map(|row| row.footer.as_ref())
        .filter(move |footer| match footer.shown {
            Shown::Always => true,
            Shown::Wide => !narrow,
            Shown::Narrow => narrow,
        })
}

/// README.md's key table, as it must read.
pub fn markdown_table() -> String {
    table_of("key", KEYS)
}

/// README.md's table of wire mode's keys, as it must read.
pub fn wire_markdown_table() -> String {
    table_of("wire mode key", WIRE_KEYS)
}

fn table_of(heading: &str, rows: &[KeyRow]) -> String {
    let mut table = format!("| {heading} | does |\n| --- | --- |\n");
    for row in rows {
        table.push_str(&format!("| {} | {} |\n", row.keys, row.does));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_one_action() {
        for table in [KEYS, WIRE_KEYS] {
            let codes: Vec<KeyCode> = table
                .iter()
                .flat_map(|row| row.bindings)
                .map(|(code, _)| *code)
                .collect();
            for (i, code) in codes.iter().enumerate() {
                assert!(!codes[i + 1..].contains(code), "{code:?} is bound twice");
            }
        }
    }

    #[test]
    fn wire_keys_take_over_the_stepping_keys_only() {
        // A main-view key that wire mode rebinds is one for moving through time
        // (space, Home, End), or a lesson change (← →), or w itself.
        for (code, _) in WIRE_KEYS.iter().flat_map(|row| row.bindings) {
            if let Some(main) = main_action(*code) {
                assert!(
                    steps_through_time(main)
                        || matches!(
                            main,
                            Action::PreviousLesson | Action::NextLesson | Action::ToggleWire
                        ),
                    "wire mode hides {main:?} on {code:?}"
                );
            }
        }
        assert_eq!(wire_action(KeyCode::Char('x')), Some(Action::ToggleHex));
        assert_eq!(wire_action(KeyCode::Char(' ')), Some(Action::Deliver(None)));
    }
}
