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

/// The first `shown` hints in a box over `area`.
pub fn render(
    frame: &mut Frame,
    theme: &Theme,
    lang: Lang,
    area: Rect,
    hints: &Result<Vec<Hint>, String>,
    shown: usize,
) {
    let text = match hints {
        Ok(hints) => hints
            .iter()
            .take(shown)
            .enumerate()
            .map(|(i, hint)| format!("**Hint {}: {}**\n\n{}\n\n", i + 1, hint.title, hint.text))
            .collect(),
        Err(error) => error.clone(),
    };
    let lines: Vec<Line> = markdown::render(&text, theme, lang);
    let width = area.width.saturating_sub(4).min(76);
    // Lines wrap inside the border: a rough count is enough to size the box.
    let inner = width.saturating_sub(2).max(1) as usize;
    let rows: usize = lines
        .iter()
        .map(|line| line.width().div_ceil(inner).max(1))
        .sum();
    let height = (rows as u16).saturating_add(2).min(area.height);
    let box_area = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let title = match hints {
        Ok(hints) if shown < hints.len() => {
            format!(" Hint {shown} of {} (h: next, Esc: close) ", hints.len())
        }
        Ok(hints) => format!(" Hint {shown} of {} (Esc: close) ", hints.len()),
        Err(_) => " Hints (Esc: close) ".to_string(),
    };
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title)),
        box_area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teaching;

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
