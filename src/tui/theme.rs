//! The TUI's colours, decided once: each style names what it marks. Without colour
//! (`NO_COLOR`, a monochrome terminal) the colours fall away and bold and reverse
//! video remain.

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Whether the terminal shows colour (the byte view and the page ask too).
    pub color: bool,
    /// The program's name in the header.
    pub brand: Style,
    pub bold: Style,
    /// Secondary text: the header's details, the footer's descriptions, statuses.
    pub muted: Style,
    /// Line numbers and the relay's calls.
    pub faint: Style,
    /// Delivered as sent; autoplay running.
    pub ok: Style,
    /// Not delivered as sent, or a run that could not start.
    pub bad: Style,
    /// A notice in the footer, bytes held in a buffer.
    pub notice: Style,
    /// The sender's calls.
    pub sender: Style,
    /// Where the receiver waits (and keys in the help, the seed typed).
    pub highlight: Style,
    /// The lesson page's headings, code blocks and `code`.
    pub heading: Style,
    pub code_block: Style,
    pub inline_code: Style,
    /// The lesson picked in the list.
    pub selected: Style,
    /// The side shown, in the compact layout's title.
    pub chosen: Style,
}

impl Theme {
    pub fn new(color: bool) -> Theme {
        let tint = |fg: Color| {
            if color {
                Style::new().fg(fg)
            } else {
                Style::new()
            }
        };
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Theme {
            color,
            brand: if color {
                bold.fg(Color::Black).bg(Color::Cyan)
            } else {
                bold.add_modifier(Modifier::REVERSED)
            },
            bold,
            muted: tint(Color::Gray),
            faint: tint(Color::DarkGray),
            ok: tint(Color::Green),
            bad: tint(Color::Red),
            notice: tint(Color::Yellow),
            sender: tint(Color::Cyan),
            highlight: tint(Color::Yellow).add_modifier(Modifier::BOLD),
            heading: tint(Color::Cyan).add_modifier(Modifier::BOLD),
            code_block: tint(Color::Green),
            // Without colour, bold sets code apart.
            inline_code: if color { tint(Color::Yellow) } else { bold },
            selected: Style::new().add_modifier(Modifier::REVERSED),
            chosen: bold.add_modifier(Modifier::REVERSED),
        }
    }

    /// A verdict's mark and its style: ✓ delivered as sent, ✗ not.
    pub fn verdict(&self, ok: bool) -> (&'static str, Style) {
        if ok {
            ("✓", self.ok.add_modifier(Modifier::BOLD))
        } else {
            ("✗", self.bad.add_modifier(Modifier::BOLD))
        }
    }
}
