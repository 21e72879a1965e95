//! The text view of a run: the byte stream with a marker at every cut the wire made
//! and at every `recv()` boundary of each side, each message set apart, and each
//! side's outcome. Colour is optional; without it every distinction is a symbol.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crossterm::style::{Color, Stylize};

use crate::engine::{Call, CallResult, Event, Outcome, Role, Side, SideTrace, Span, Trace};

/// Marks the wire's cuts.
pub const CUT: char = '┊';
/// Marks where one `recv()` ended and the next began.
pub const RECV: char = '│';

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

/// What a stream position is part of.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ByteRole {
    /// Prefix, type byte, delimiter or padding of message `n`.
    Framing(usize),
    /// Body of message `n`.
    Body(usize),
    /// Not part of any expected message.
    Extra,
}

/// The role of stream position `at` given the message layout.
pub fn byte_role(spans: &[Span], at: usize) -> ByteRole {
    match spans.iter().position(|s| s.start <= at && at < s.end) {
        Some(n) if (spans[n].body..spans[n].body_end).contains(&at) => ByteRole::Body(n),
        Some(n) => ByteRole::Framing(n),
        None => ByteRole::Extra,
    }
}

/// One glyph a byte, so columns line up: spaces and control bytes get visible stand-ins.
pub fn glyph(byte: u8) -> char {
    match byte {
        b' ' => '␣',
        b'\n' => '↵',
        b'\r' => '←',
        b'\t' => '→',
        0x21..=0x7e => byte as char,
        _ => '·',
    }
}

/// Where the `recv()` calls of a side's receiver ended, as stream offsets.
pub fn recv_boundaries(side: &SideTrace) -> (Vec<u8>, BTreeSet<usize>) {
    let mut bytes = Vec::new();
    let mut ends = BTreeSet::new();
    for event in side.receiver_reads() {
        if event.moved > 0 {
            bytes.extend_from_slice(&event.bytes);
            ends.insert(bytes.len());
        }
    }
    (bytes, ends)
}

struct Row {
    label: &'static str,
    bytes: Vec<u8>,
    marks: BTreeSet<usize>,
    marker: char,
}

/// The whole diagram: legend, stream rows in blocks, and the outcomes.
pub fn diagram(trace: &Trace, options: TextOptions) -> String {
    let mut rows = vec![Row {
        label: "wire",
        bytes: trace.stream.clone(),
        marks: trace.cuts.iter().copied().collect(),
        marker: CUT,
    }];
    for side in Side::BOTH {
        let (bytes, marks) = recv_boundaries(trace.side(side));
        rows.push(Row {
            label: side.name(),
            bytes,
            marks,
            marker: RECV,
        });
    }
    let boundaries: BTreeSet<usize> = rows.iter().flat_map(|r| r.marks.iter().copied()).collect();
    let longest = rows.iter().map(|r| r.bytes.len()).max().unwrap_or(0);
    let width = options.bytes_per_line.max(8);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {CUT} the wire cut the stream here    {RECV} one recv() ended here{}",
        if options.color {
            "    colours: one per message, framing dimmed"
        } else {
            "\n  message row: = framing bytes, 1-9 the message (by number, modulo 10)"
        }
    );
    let mut start = 0;
    while start < longest {
        let end = (start + width).min(longest);
        out.push('\n');
        for row in &rows {
            draw_row(
                &mut out,
                row,
                start,
                end,
                &boundaries,
                &trace.spans,
                options,
            );
            if row.marker == CUT && !options.color {
                draw_message_row(
                    &mut out,
                    start,
                    end.min(row.bytes.len()),
                    &boundaries,
                    &trace.spans,
                );
            }
        }
        start = end;
    }
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

fn separator(
    out: &mut String,
    at: usize,
    start: usize,
    boundaries: &BTreeSet<usize>,
    mark: Option<char>,
) {
    if at > 0 && at != start && boundaries.contains(&at) {
        out.push(mark.unwrap_or(' '));
    }
}

fn draw_row(
    out: &mut String,
    row: &Row,
    start: usize,
    end: usize,
    boundaries: &BTreeSet<usize>,
    spans: &[Span],
    options: TextOptions,
) {
    let _ = write!(out, "  {:<9}", row.label);
    for at in start..end.min(row.bytes.len()) {
        let mark = row.marks.contains(&at).then_some(row.marker);
        if options.color {
            let mut styled = String::new();
            separator(&mut styled, at, start, boundaries, mark);
            let _ = write!(out, "{}", styled.with(Color::Red).bold());
        } else {
            separator(out, at, start, boundaries, mark);
        }
        let glyph = glyph(row.bytes[at]);
        if options.color {
            let styled = match byte_role(spans, at) {
                ByteRole::Body(n) => glyph.with(PALETTE[n % PALETTE.len()]).bold(),
                ByteRole::Framing(n) => glyph.with(PALETTE[n % PALETTE.len()]).dim().underlined(),
                ByteRole::Extra => glyph.with(Color::DarkGrey),
            };
            let _ = write!(out, "{styled}");
        } else {
            out.push(glyph);
        }
    }
    out.push('\n');
}

fn draw_message_row(
    out: &mut String,
    start: usize,
    end: usize,
    boundaries: &BTreeSet<usize>,
    spans: &[Span],
) {
    let _ = write!(out, "  {:<9}", "message");
    for at in start..end {
        separator(out, at, start, boundaries, None);
        out.push(match byte_role(spans, at) {
            ByteRole::Body(n) => char::from_digit(((n + 1) % 10) as u32, 10).unwrap_or('?'),
            ByteRole::Framing(_) => '=',
            ByteRole::Extra => ' ',
        });
    }
    out.push('\n');
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

/// `recv 5 → 2 "00"  (line 71)`
pub fn call_line(event: &Event) -> String {
    let who = match event.role {
        Role::Sender => "sender  ",
        Role::Receiver => "receiver",
        Role::Relay => "wire    ",
    };
    let what = match (event.call, &event.result) {
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
        (Call::Flush, CallResult::Ok) => format!("flush → {}", event.moved),
        (Call::Buffer, CallResult::Ok) => format!("buffer {}", event.moved),
        (call, CallResult::TimedOut) => format!("{call:?} timed out").to_lowercase(),
        (call, CallResult::Error { error, .. }) => {
            format!("{} → error {error}", format!("{call:?}").to_lowercase())
        }
        (call, result) => format!("{call:?} {result:?}").to_lowercase(),
    };
    let bytes = if event.bytes.is_empty() {
        String::new()
    } else {
        format!("  {}", crate::engine::trace::quote(&event.bytes))
    };
    let line = event
        .line
        .map(|l| format!("  (line {l})"))
        .unwrap_or_default();
    format!("{who}  {what}{bytes}{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_one_visible_glyph() {
        for byte in 0..=255u8 {
            let g = glyph(byte);
            assert!(!g.is_whitespace(), "byte {byte} shows as whitespace");
        }
        assert_eq!(glyph(b'a'), 'a');
        assert_eq!(glyph(b' '), '␣');
    }

    #[test]
    fn byte_roles_follow_the_spans() {
        let spans = [Span {
            start: 0,
            body: 5,
            body_end: 10,
            end: 10,
        }];
        assert_eq!(byte_role(&spans, 4), ByteRole::Framing(0));
        assert_eq!(byte_role(&spans, 5), ByteRole::Body(0));
        assert_eq!(byte_role(&spans, 10), ByteRole::Extra);
    }
}
