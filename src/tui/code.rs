//! Syntax highlighting of the teaching code with syntect. The syntaxes and theme
//! load once, on a background thread, so the first frame never waits for them; until
//! they are ready the code is drawn plain.
//!
//! syntect compiles each regex on its first use, 30-50 ms for Rust code: the
//! loading thread highlights a teaching file once in each language, so that cost is
//! paid there, not by whichever frame first draws highlighted code (it made the
//! first frame take ~40 ms instead of ~5 whenever loading won the race against it).

use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};
use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, Theme, ThemeSet};
use syntect::parsing::SyntaxSet;

use crate::lesson::Lang;

struct Highlighter {
    syntaxes: SyntaxSet,
    theme: Theme,
}

static HIGHLIGHTER: OnceLock<Highlighter> = OnceLock::new();

fn load() -> Highlighter {
    let syntaxes = SyntaxSet::load_defaults_newlines();
    let mut themes = ThemeSet::load_defaults();
    let theme = themes
        .themes
        .remove("base16-eighties.dark")
        .or_else(|| themes.themes.into_values().next())
        .unwrap_or_default();
    let highlighter = Highlighter { syntaxes, theme };
    if let Some(lesson) = crate::teaching::all().first() {
        for lang in Lang::ALL {
            let lines: Vec<&str> = lesson.source_in(lang).unwrap_or("").lines().collect();
            let _ = highlight_with(&highlighter, &lines, lang);
        }
    }
    highlighter
}

/// Starts loading in the background; `on_ready` runs once it has loaded.
pub fn warm_up(on_ready: impl FnOnce() + Send + 'static) {
    // Without a thread (out of resources) nothing loads: the code stays plain.
    let _ = std::thread::Builder::new()
        .name("highlighter".into())
        .spawn(move || {
            HIGHLIGHTER.get_or_init(load);
            on_ready();
        });
}

/// Styled pieces of each line, or `None` while the highlighter is still loading.
pub fn highlight(lines: &[&str], lang: Lang) -> Option<Vec<Vec<(Style, String)>>> {
    highlight_with(HIGHLIGHTER.get()?, lines, lang)
}

fn highlight_with(
    highlighter: &Highlighter,
    lines: &[&str],
    lang: Lang,
) -> Option<Vec<Vec<(Style, String)>>> {
    let extension = match lang {
        Lang::Rust => "rs",
        Lang::Python => "py",
    };
    let syntax = highlighter
        .syntaxes
        .find_syntax_by_extension(extension)
        .unwrap_or_else(|| highlighter.syntaxes.find_syntax_plain_text());
    let mut lines_out = Vec::with_capacity(lines.len());
    let mut state = HighlightLines::new(syntax, &highlighter.theme);
    for line in lines {
        let with_newline = format!("{line}\n");
        let pieces = state
            .highlight_line(&with_newline, &highlighter.syntaxes)
            .ok()?;
        lines_out.push(
            pieces
                .into_iter()
                .map(|(style, text)| (convert(style), text.trim_end_matches('\n').to_string()))
                .filter(|(_, text)| !text.is_empty())
                .collect(),
        );
    }
    Some(lines_out)
}

fn convert(style: syntect::highlighting::Style) -> Style {
    let fg = style.foreground;
    let mut out = Style::new().fg(Color::Rgb(fg.r, fg.g, fg.b));
    if style.font_style.contains(FontStyle::BOLD) {
        out = out.add_modifier(Modifier::BOLD);
    }
    if style.font_style.contains(FontStyle::ITALIC) {
        out = out.add_modifier(Modifier::ITALIC);
    }
    out
}

/// Loads synchronously (tests, benchmarks).
pub fn load_now() {
    HIGHLIGHTER.get_or_init(load);
}
