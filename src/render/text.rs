//! The text view of a run: the byte stream with a marker at every cut the wire made
//! and at every `recv()` boundary of each side, each message set apart, and each
//! side's outcome, as laid out by the byte-view grid (`diagram`). Colour is
//! optional; without it every distinction is a symbol.

use std::fmt::Write as _;

use crossterm::style::{Color, StyledContent, Stylize};

use super::diagram::{self, ByteRole, Cell, Mark, Source};
pub use super::diagram::{CUT, RECV};
use super::path::Fate;
use crate::engine::{Call, CallResult, Event, Outcome, Role, Side, SideTrace, Trace};

/// How to draw.
#[derive(Clone, Copy, Debug)]
pub struct TextOptions {
    /// ANSI colours (messages, outcomes); off for pipes and when `NO_COLOR` is set.
    pub color: bool,
    /// Stream bytes per line of the diagram.
    pub bytes_per_line: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            color: false,
            bytes_per_line: 64,
        }
    }
}

const PALETTE: [Color; 6] = [
    Color::Cyan,
    Color::Yellow,
    Color::Magenta,
    Color::Green,
    Color::Blue,
    Color::Red,
];

/// The whole diagram: legend, stream rows in blocks, and the outcomes.
pub fn diagram(trace: &Trace, options: TextOptions) -> String {
    let mut out = String::new();
    let legend: Vec<String> = diagram::legend()
        .into_iter()
        .map(|entry| format!("{} {}", entry.glyph, entry.meaning))
        .collect();
    let _ = writeln!(
        out,
        "  {}{}",
        legend.join("    "),
        if options.color {
            "\n  colours: one per message, framing bytes dimmed and underlined"
        } else {
            "\n  message row: = framing bytes, 1-9 the message (by number, modulo 10)"
        }
    );
    let _ = writeln!(out, "  {}", fate_legend());
    // Without colour, a row of message numbers tells the messages apart.
    let layout = diagram::Options {
        wire: true,
        messages: !options.color,
        fates: true,
        bytes_per_line: options.bytes_per_line,
        ..diagram::Options::default()
    };
    out.push_str(&grid(&Source::of_trace(trace), &layout, options.color));
    out.push('\n');
    for side in Side::BOTH {
        let _ = writeln!(
            out,
            "{}",
            outcome_line(side, &trace.side(side).outcome, options.color)
        );
    }
    out
}

/// The grid's rows, one text line each, labelled, a blank line before each block.
pub fn grid(source: &Source, layout: &diagram::Options, color: bool) -> String {
    grid_labelled(source, layout, color, &|row| row.label)
}

/// As [`grid`], each row labelled by `label` (a challenge report names its rows
/// `sent` and `back` rather than by side).
pub fn grid_labelled(
    source: &Source,
    layout: &diagram::Options,
    color: bool,
    label: &dyn Fn(&diagram::Row) -> &str,
) -> String {
    let mut out = String::new();
    for rows in diagram::build(source, layout) {
        out.push('\n');
        for row in rows {
            let _ = write!(out, "  {:<9}", label(&row));
            for cell in &row.cells {
                draw_cell(&mut out, *cell, color);
            }
            // Trailing spaces of bracket rows carry nothing.
            let trimmed = out.trim_end_matches(' ').len();
            out.truncate(trimmed);
            out.push('\n');
        }
    }
    out
}

fn draw_cell(out: &mut String, cell: Cell, color: bool) {
    if !color {
        cell.push_to(out);
        return;
    }
    let text = cell.text();
    let styled = match cell {
        // A byte delivered or framing is drawn by its role in its message.
        Cell::Byte {
            fate: Some(fate), ..
        }
        | Cell::Fate { fate, .. } => match (fate.role(), fate) {
            (Some(role), _) => role_styled(role, text),
            (None, Fate::Held) => text.italic().reverse(),
            (None, _) => text.with(Color::DarkGrey).crossed_out(),
        },
        Cell::Byte { role, .. } | Cell::Message { role, .. } => role_styled(role, text),
        Cell::Boundary(Mark::None) => text.stylize(),
        Cell::Boundary(_) => text.with(Color::Red).bold(),
        Cell::Bracket(_) => text.with(Color::DarkGrey),
    };
    let _ = write!(out, "{styled}");
}

/// One colour per message, framing dimmed and underlined.
fn role_styled(role: ByteRole, text: String) -> StyledContent<String> {
    match role {
        ByteRole::Body(n) => text.with(PALETTE[n % PALETTE.len()]).bold(),
        ByteRole::Framing(n) => text.with(PALETTE[n % PALETTE.len()]).dim().underlined(),
        ByteRole::Extra => text.with(Color::DarkGrey),
    }
}

/// What the fate row's symbols mean, in one line.
pub fn fate_legend() -> String {
    let entries: Vec<String> = Fate::LEGEND
        .iter()
        .map(|(symbol, meaning)| format!("{symbol} {meaning}"))
        .collect();
    format!("fate row: {}", entries.join(" · "))
}

/// `naive    ✗ wrong: …` / `correct  ✓ delivered …`
pub fn outcome_line(side: Side, outcome: &Outcome, color: bool) -> String {
    let (mark, tint) = if outcome.is_delivered() {
        ('✓', Color::Green)
    } else {
        ('✗', Color::Red)
    };
    let mark = if color {
        mark.with(tint).bold().to_string()
    } else {
        mark.to_string()
    };
    format!("  {:<9}{mark} {}", side.name(), outcome.describe())
}

/// One line per call: what the side's programs and the relay did, in order.
pub fn timeline(side: &SideTrace) -> String {
    let mut out = String::new();
    for event in &side.events {
        let _ = writeln!(out, "    {}", call_line(event));
    }
    out
}

/// `receiver  recv 5 → 2  "00"  (line 71)`
pub fn call_line(event: &Event) -> String {
    let bytes = quoted_bytes(event)
        .map(|bytes| format!("  {bytes}"))
        .unwrap_or_default();
    let line = event
        .line
        .map(|l| format!("  (line {l})"))
        .unwrap_or_default();
    format!(
        "{:<8}  {}{bytes}{line}",
        role_word(event.role),
        call_words(event)
    )
}

/// Who made a call, in a word: `sender`, `receiver` or `wire` (the relay).
pub fn role_word(role: Role) -> &'static str {
    match role {
        Role::Sender => "sender",
        Role::Receiver => "receiver",
        Role::Relay => "wire",
    }
}

/// What a call did, in the words of the calls list: `recv 5 → 2`, `piece @2 of 6`.
pub fn call_words(event: &Event) -> String {
    match (event.call, &event.result) {
        (Call::Recv, CallResult::EndOfStream) => format!("recv {} → 0 (closed)", event.asked),
        (Call::Recv, CallResult::Ok) => format!("recv {} → {}", event.asked, event.moved),
        (Call::Send, CallResult::Ok) => format!("send {} → {}", event.asked, event.moved),
        (Call::Piece, _) => format!(
            "piece @{} of {}",
            event.offset.unwrap_or_default(),
            event.moved
        ),
        (Call::Deliver, _) => format!("deliver {} bytes", event.moved),
        (Call::Shutdown, CallResult::Ok) => "shutdown".to_string(),
        (Call::Abort, CallResult::Ok) if event.role == Role::Relay => {
            "passes on a reset (RST)".to_string()
        }
        (Call::Abort, CallResult::Ok) => "abort: close with a reset (RST)".to_string(),
        (Call::SetTimeout, CallResult::Ok) => "set a read timeout".to_string(),
        (Call::Poll, CallResult::Ok) => "poll: wait until writable".to_string(),
        (Call::Flush, CallResult::Ok) => format!("flush → {}", event.moved),
        (Call::Buffer, CallResult::Ok) => format!("buffer {}", event.moved),
        (call, CallResult::TimedOut) => format!("{call:?} timed out").to_lowercase(),
        (call, CallResult::Error { error, .. }) => {
            format!("{} → error {error}", format!("{call:?}").to_lowercase())
        }
        (call, result) => format!("{call:?} {result:?}").to_lowercase(),
    }
}

/// The bytes a call moved, quoted; `None` when it moved none.
pub fn quoted_bytes(event: &Event) -> Option<String> {
    (!event.bytes.is_empty()).then(|| crate::engine::trace::quote(&event.bytes))
}
