//! How many colours the terminal shows, from the environment, and bringing every
//! colour of a frame within that: the syntax theme is 24-bit, which a terminal that
//! does not announce truecolor gets as its nearest 256 or 16 palette colours.

use anstyle::{Ansi256Color, RgbColor};
use ratatui::buffer::Buffer;
use ratatui::style::Color;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Palette {
    /// NO_COLOR, or a monochrome terminal (`TERM=xterm-mono`).
    Mono,
    /// The 16 colours every colour terminal has (and the user's theme sets).
    Ansi16,
    /// `TERM=*256color*`.
    Ansi256,
    /// `COLORTERM=truecolor` or `24bit`.
    TrueColor,
}

impl Palette {
    /// The palette the environment announces.
    pub fn from_env() -> Palette {
        let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        Palette::detect(
            var("TERM").as_deref(),
            var("COLORTERM").as_deref(),
            var("NO_COLOR").is_some(),
        )
    }

    pub fn detect(term: Option<&str>, colorterm: Option<&str>, no_color: bool) -> Palette {
        let term = term.unwrap_or("");
        // terminfo names monochrome variants `-mono` or `-m` (xterm-mono, linux-m).
        if no_color || is_dumb(term) || term.ends_with("-mono") || term.ends_with("-m") {
            Palette::Mono
        } else if matches!(colorterm, Some("truecolor" | "24bit")) {
            Palette::TrueColor
        } else if term.contains("256color") {
            Palette::Ansi256
        } else {
            Palette::Ansi16
        }
    }

    pub fn has_color(self) -> bool {
        self != Palette::Mono
    }

    /// The nearest colour this palette has.
    pub fn fit(self, color: Color) -> Color {
        match (self, color) {
            (Palette::TrueColor, _) | (_, Color::Reset) => color,
            (Palette::Mono, _) => Color::Reset,
            (Palette::Ansi256, Color::Rgb(r, g, b)) => {
                Color::Indexed(anstyle_lossy::rgb_to_xterm(RgbColor(r, g, b)).0)
            }
            (Palette::Ansi16, Color::Rgb(r, g, b)) => ansi16(anstyle_lossy::rgb_to_ansi(
                RgbColor(r, g, b),
                anstyle_lossy::palette::DEFAULT,
            )),
            (Palette::Ansi16, Color::Indexed(index)) if index >= 16 => ansi16(
                anstyle_lossy::xterm_to_ansi(Ansi256Color(index), anstyle_lossy::palette::DEFAULT),
            ),
            _ => color,
        }
    }

    /// Brings every cell's colours within this palette.
    pub fn fit_buffer(self, buffer: &mut Buffer) {
        if self == Palette::TrueColor {
            return;
        }
        for cell in &mut buffer.content {
            cell.fg = self.fit(cell.fg);
            cell.bg = self.fit(cell.bg);
            cell.underline_color = self.fit(cell.underline_color);
        }
    }
}

/// `TERM=dumb`: no cursor addressing, so no full screen.
pub fn is_dumb(term: &str) -> bool {
    term == "dumb"
}

fn ansi16(color: anstyle::AnsiColor) -> Color {
    Color::Indexed(Ansi256Color::from_ansi(color).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_what_the_environment_announces() {
        let detect = Palette::detect;
        assert_eq!(
            detect(Some("xterm-256color"), Some("truecolor"), false),
            Palette::TrueColor
        );
        assert_eq!(
            detect(Some("xterm-256color"), Some("24bit"), false),
            Palette::TrueColor
        );
        assert_eq!(
            detect(Some("xterm-256color"), None, false),
            Palette::Ansi256
        );
        assert_eq!(detect(Some("xterm"), None, false), Palette::Ansi16);
        assert_eq!(detect(None, None, false), Palette::Ansi16);
        assert_eq!(
            detect(Some("xterm-mono"), Some("truecolor"), false),
            Palette::Mono
        );
        assert_eq!(detect(Some("dumb"), None, false), Palette::Mono);
        assert_eq!(
            detect(Some("xterm-256color"), Some("truecolor"), true),
            Palette::Mono
        );
    }

    #[test]
    fn fits_colours_to_the_palette() {
        let orange = Color::Rgb(249, 145, 87);
        assert_eq!(Palette::TrueColor.fit(orange), orange);
        assert!(matches!(Palette::Ansi256.fit(orange), Color::Indexed(i) if i >= 16));
        assert!(matches!(Palette::Ansi16.fit(orange), Color::Indexed(i) if i < 16));
        assert!(matches!(Palette::Ansi16.fit(Color::Indexed(208)), Color::Indexed(i) if i < 16));
        assert_eq!(Palette::Ansi16.fit(Color::Green), Color::Green);
        assert_eq!(Palette::Mono.fit(Color::Green), Color::Reset);
    }
}
