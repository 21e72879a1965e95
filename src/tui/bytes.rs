//! The byte pane: one side's rows of the byte-view model (`render::diagram`), the
//! bytes it received with their cut and `recv()` marks and the bracket and byte
//! count of each `recv()`, drawn in terminal styles. The layout is the model's, the
//! same as the text diagram's and the book's; only the styles are decided here.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::engine::{Side, Span as FrameSpan};
use crate::render::diagram::{self, ByteRole, Cell, Mark, RowKind, Source};
use crate::render::path::Fate;

pub use crate::render::diagram::CUT_AND_RECV;

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
    pub side: Side,
    /// The bytes of each `recv()` that returned data, in order.
    pub reads: Vec<&'a [u8]>,
    /// Where the wire cut the stream.
    pub cuts: &'a [usize],
    /// Where each message sits in the stream.
    pub spans: &'a [FrameSpan],
    /// What became of each byte read, where known: colours the bytes and adds a row
    /// of fate symbols (so the fates read without colour too).
    pub fates: Vec<Fate>,
    pub hex: bool,
    /// A column between bytes, for a room (presenter mode).
    pub spaced: bool,
    pub color: bool,
}

/// The style of a byte with this role.
pub fn byte_style(role: ByteRole, color: bool) -> Style {
    match (role, color) {
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

/// The style of a byte read, or of its symbol in the fate row, by its fate: the
/// message's colour, framing dimmed, held bytes reversed, dropped ones struck out.
pub fn fate_style(fate: Fate, color: bool) -> Style {
    match (fate.role(), fate, color) {
        (Some(role), _, _) => byte_style(role, color),
        (None, Fate::Held, _) => Style::new().add_modifier(Modifier::ITALIC | Modifier::REVERSED),
        (None, _, true) => Style::new()
            .fg(Color::DarkGray)
            .add_modifier(Modifier::CROSSED_OUT),
        (None, _, false) => Style::new().add_modifier(Modifier::CROSSED_OUT | Modifier::DIM),
    }
}

impl ByteView<'_> {
    fn style(&self, cell: Cell) -> Style {
        match (cell, self.color) {
            (
                Cell::Byte {
                    fate: Some(fate), ..
                }
                | Cell::Fate { fate, .. },
                color,
            ) => fate_style(fate, color),
            (Cell::Byte { role, .. } | Cell::Message { role, .. }, color) => {
                byte_style(role, color)
            }
            (Cell::Boundary(Mark::None), _) => Style::new(),
            (Cell::Boundary(_), true) => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            (Cell::Boundary(_), false) => Style::new().add_modifier(Modifier::BOLD),
            (Cell::Bracket(_), true) => Style::new().fg(Color::Gray),
            (Cell::Bracket(_), false) => Style::new(),
        }
    }

    /// Two lines (bytes, brackets) per row of at most `width` columns.
    pub fn lines(&self, width: usize) -> Vec<Line<'static>> {
        let source = Source {
            stream: &[],
            spans: self.spans,
            cuts: self.cuts,
            sides: vec![(self.side, self.reads.clone())],
            fates: vec![self.fates.clone()],
        };
        let layout = diagram::Options {
            hex: self.hex,
            spaced: self.spaced,
            fates: true,
            columns: width,
            ..diagram::Options::default()
        };
        diagram::build(&source, &layout)
            .into_iter()
            .flatten()
            .filter(|row| {
                matches!(
                    row.kind,
                    RowKind::Reads(_) | RowKind::Fates(_) | RowKind::Brackets(_)
                )
            })
            .map(|row| {
                let spans: Vec<Span<'static>> = row
                    .cells
                    .iter()
                    .map(|&cell| Span::styled(cell.text(), self.style(cell)))
                    .collect();
                Line::from(spans)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(reads: Vec<&[u8]>, cuts: &[usize], hex: bool, width: usize) -> Vec<String> {
        let view = ByteView {
            side: Side::Correct,
            reads,
            cuts,
            spans: &[],
            fates: Vec::new(),
            hex,
            spaced: false,
            color: false,
        };
        view.lines(width).iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn cuts_and_reads_get_separators_and_brackets() {
        assert_eq!(
            text(vec![b"00", b"005", b"he"], &[2, 7], false, 80),
            ["00┃005│he", "╰╯ ╰3╯ ╰╯"]
        );
    }

    #[test]
    fn a_cut_inside_one_read_shows_as_a_cut_only() {
        // Free-run: the kernel merged two pieces into one read.
        assert_eq!(text(vec![b"abcd"], &[2], false, 80), ["ab┊cd", "╰─4─╯"]);
    }

    #[test]
    fn hex_mode_and_wrapping() {
        let reads: Vec<&[u8]> = vec![b"\x00\x01", b"\xff"];
        assert_eq!(text(reads.clone(), &[], true, 80), ["00 01│ff", "╰─2─╯ ╰╯"]);
        assert_eq!(
            text(reads, &[], true, 5),
            ["00 01", "╰─2─╯", "│ff", " ╰╯"],
            "the mark that starts a line is kept"
        );
    }
}
