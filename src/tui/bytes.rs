//! The byte view: the bytes a side has received, each message in its own colour,
//! framing bytes set apart, a separator wherever the wire cut the stream or a
//! `recv()` ended, and under the bytes a bracket per `recv()` showing exactly which
//! bytes that call returned.

use std::collections::BTreeSet;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::engine::Span as FrameSpan;
use crate::render::text::{ByteRole, CUT, RECV, byte_role, glyph};

/// Both a cut and the end of a `recv()`.
pub const CUT_AND_RECV: char = '┃';

/// One colour per message, in turn.
pub const PALETTE: [Color; 6] = [
    Color::Cyan,
    Color::Yellow,
    Color::Magenta,
    Color::Green,
    Color::LightBlue,
    Color::LightRed,
];

/// What to draw.
pub struct ByteView<'a> {
    /// The bytes of each `recv()` that returned data, in order.
    pub reads: Vec<&'a [u8]>,
    /// Where the wire cut the stream.
    pub cuts: &'a [usize],
    /// Where each message sits in the stream.
    pub spans: &'a [FrameSpan],
    pub hex: bool,
    pub color: bool,
}

struct Cell {
    text: String,
    style: Style,
    under: String,
    under_style: Style,
}

/// The style of the byte at stream offset `at`.
pub fn byte_style(spans: &[FrameSpan], at: usize, color: bool) -> Style {
    match (byte_role(spans, at), color) {
        (ByteRole::Body(n), true) => Style::new()
            .fg(PALETTE[n % PALETTE.len()])
            .add_modifier(Modifier::BOLD),
        (ByteRole::Framing(n), true) => Style::new()
            .fg(PALETTE[n % PALETTE.len()])
            .add_modifier(Modifier::DIM | Modifier::UNDERLINED),
        (ByteRole::Extra, true) => Style::new().fg(Color::DarkGray),
        // Without colour: alternate messages bold and plain, framing underlined.
        (ByteRole::Body(n), false) if n % 2 == 0 => Style::new().add_modifier(Modifier::BOLD),
        (ByteRole::Body(_), false) => Style::new(),
        (ByteRole::Framing(_), false) => Style::new().add_modifier(Modifier::UNDERLINED),
        (ByteRole::Extra, false) => Style::new().add_modifier(Modifier::DIM),
    }
}

impl ByteView<'_> {
    fn cells(&self) -> Vec<Cell> {
        let total: usize = self.reads.iter().map(|r| r.len()).sum();
        let cuts: BTreeSet<usize> = self.cuts.iter().copied().filter(|&c| c < total).collect();
        let mut read_ends = BTreeSet::new();
        let mut read_of = Vec::with_capacity(total);
        let mut at = 0;
        for (index, read) in self.reads.iter().enumerate() {
            at += read.len();
            read_ends.insert(at);
            read_of.extend(std::iter::repeat_n(index, read.len()));
        }
        let separator_style = if self.color {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        };
        let bracket_style = if self.color {
            Style::new().fg(Color::Gray)
        } else {
            Style::new()
        };
        let mut cells = Vec::with_capacity(total * 2);
        let bytes = self.reads.iter().flat_map(|r| r.iter().copied());
        for (at, byte) in bytes.enumerate() {
            if at > 0 {
                let mark = match (cuts.contains(&at), read_ends.contains(&at)) {
                    (true, true) => Some(CUT_AND_RECV),
                    (true, false) => Some(CUT),
                    (false, true) => Some(RECV),
                    (false, false) => None,
                };
                if let Some(mark) = mark {
                    cells.push(Cell {
                        text: mark.to_string(),
                        style: separator_style,
                        under: " ".into(),
                        under_style: bracket_style,
                    });
                }
            }
            let read = read_of[at];
            let first = at == 0 || read_of[at - 1] != read;
            let last = at + 1 == total || read_of[at + 1] != read;
            let text = if self.hex {
                format!("{byte:02x}")
            } else {
                glyph(byte).to_string()
            };
            let width = text.chars().count();
            let under: String = (0..width)
                .map(|i| match (first && i == 0, last && i + 1 == width) {
                    (true, true) => '╰',
                    (true, false) => '╰',
                    (false, true) => '╯',
                    (false, false) => '─',
                })
                .collect();
            // A one-byte read in text mode still gets a visible bracket.
            let under = if first && last && width == 1 {
                "^".to_string()
            } else {
                under
            };
            cells.push(Cell {
                text,
                style: byte_style(self.spans, at, self.color),
                under,
                under_style: bracket_style,
            });
            if self.hex && !last {
                cells.push(Cell {
                    text: " ".into(),
                    style: Style::new(),
                    under: "─".into(),
                    under_style: bracket_style,
                });
            }
        }
        cells
    }

    /// Two lines (bytes, brackets) per row of at most `width` columns.
    pub fn lines(&self, width: usize) -> Vec<Line<'static>> {
        let width = width.max(4);
        let mut lines = Vec::new();
        let mut top: Vec<Span<'static>> = Vec::new();
        let mut bottom: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for cell in self.cells() {
            let cell_width = cell.text.chars().count();
            if used + cell_width > width {
                lines.push(Line::from(std::mem::take(&mut top)));
                lines.push(Line::from(std::mem::take(&mut bottom)));
                used = 0;
            }
            used += cell_width;
            top.push(Span::styled(cell.text, cell.style));
            bottom.push(Span::styled(cell.under, cell.under_style));
        }
        if !top.is_empty() {
            lines.push(Line::from(top));
            lines.push(Line::from(bottom));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn cuts_and_reads_get_separators_and_brackets() {
        let view = ByteView {
            reads: vec![b"00", b"005", b"he"],
            cuts: &[2, 7],
            spans: &[],
            hex: false,
            color: false,
        };
        assert_eq!(text(&view.lines(80)), ["00┃005│he", "╰╯ ╰─╯ ╰╯"]);
    }

    #[test]
    fn a_cut_inside_one_read_shows_as_a_cut_only() {
        // Free-run: the kernel merged two pieces into one read.
        let view = ByteView {
            reads: vec![b"abcd"],
            cuts: &[2],
            spans: &[],
            hex: false,
            color: false,
        };
        assert_eq!(text(&view.lines(80)), ["ab┊cd", "╰─ ─╯"]);
    }

    #[test]
    fn hex_mode_and_wrapping() {
        let view = ByteView {
            reads: vec![b"\x00\x01", b"\xff"],
            cuts: &[],
            spans: &[],
            hex: true,
            color: false,
        };
        assert_eq!(text(&view.lines(80)), ["00 01│ff", "╰───╯ ╰╯"]);
        let wrapped = text(&view.lines(5));
        assert_eq!(wrapped.len(), 4, "{wrapped:?}");
    }
}
