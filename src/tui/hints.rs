//! `h`: the lesson's hints, one more each time it is pressed. They are kept out of
//! the lesson text, so that none is read before it is asked for.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::markdown;
use super::theme::Theme;
use crate::lesson::Lang;
use crate::lesson::hints::{self, Hint};

/// What the lesson text says where the page's hints were.
const IN_THEIR_PLACE: &str = "## Stuck?\n\nPress `h` for a hint, and again for the next one.\n";

/// The page to show (its hints taken out) and its hints, or why they cannot be read
/// (an author's page, say).
pub fn split(page: String) -> (String, Result<Vec<Hint>, String>) {
    let parsed = hints::parse(&page).map_err(|error| format!("this page's hints: {error}"));
    (hints::strip(&page, IN_THEIR_PLACE), parsed)
}

/// The first `shown` hints in a box over `area`; only the newest when they do not
/// all fit.
pub fn render(
    frame: &mut Frame,
    theme: &Theme,
    lang: Lang,
    area: Rect,
    hints: &Result<Vec<Hint>, String>,
    shown: usize,
) {
    let width = area.width.saturating_sub(4).min(76);
    let title = match hints {
        Ok(hints) if shown < hints.len() => {
            format!(" Hint {shown} of {} (h: next, Esc: close) ", hints.len())
        }
        Ok(hints) => format!(" Hint {shown} of {} (Esc: close) ", hints.len()),
        Err(_) => " Hints (Esc: close) ".to_string(),
    };
    let lines_of = |from: usize| -> Vec<Line<'static>> {
        let text: String = match hints {
            Ok(hints) => hints
                .iter()
                .enumerate()
                .take(shown)
                .skip(from)
                .map(|(i, hint)| format!("**Hint {}: {}**\n\n{}\n\n", i + 1, hint.title, hint.text))
                .collect(),
            Err(error) => error.clone(),
        };
        markdown::render(&text, theme, lang)
    };
    let inner = width.saturating_sub(2) as usize;
    let mut lines = lines_of(0);
    if rows(&lines, inner) + 2 > area.height as usize {
        lines = lines_of(shown.saturating_sub(1));
    }
    let height = rows(&lines, inner) + 2;
    let paragraph = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::bordered().title(title));
    let height = (height as u16).min(area.height);
    let box_area = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, box_area);
    frame.render_widget(paragraph, box_area);
}

/// The rows `lines` take when wrapped at word boundaries to `width` columns.
fn rows(lines: &[Line], width: usize) -> usize {
    let width = width.max(1);
    lines
        .iter()
        .map(|line| {
            let text: String = line.spans.iter().map(|span| &*span.content).collect();
            let (mut rows, mut used) = (1, 0);
            for word in text.split(' ') {
                let len = word.chars().count();
                let needed = if used == 0 { len } else { used + 1 + len };
                if needed <= width {
                    used = needed;
                } else {
                    // A new row, unless this one is empty; a word too long for one
                    // row is cut.
                    rows += usize::from(used > 0) + len.saturating_sub(1) / width;
                    used = if len == 0 { 0 } else { (len - 1) % width + 1 };
                }
            }
            rows
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teaching;

    #[test]
    fn rows_count_word_wrapped_lines() {
        let lines = [
            Line::from("aaa bbb ccc"),
            Line::from(""),
            Line::from("abcdefghij"),
        ];
        assert_eq!(rows(&lines[..1], 7), 2, "aaa bbb | ccc");
        assert_eq!(rows(&lines[..1], 11), 1);
        assert_eq!(rows(&lines[1..2], 7), 1, "an empty line is a row");
        assert_eq!(rows(&lines[2..], 4), 3, "a long word is cut");
    }

    #[test]
    fn the_shown_page_has_no_hint_in_it_but_says_how_to_get_them() {
        for lesson in teaching::all() {
            let (page, parsed) = split(lesson.builtin_page_text());
            let hints = parsed.unwrap();
            assert!(!page.contains("<details>"), "{}", lesson.slug);
            for hint in &hints {
                assert!(!page.contains(&hint.text), "{}: {}", lesson.slug, hint.text);
            }
            assert!(page.contains("Press `h` for a hint"), "{}", lesson.slug);
        }
    }
}
