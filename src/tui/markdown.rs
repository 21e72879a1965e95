//! Lesson pages (CommonMark) as styled terminal text.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme::Theme;

/// The page as lines; long lines are left for the paragraph widget to wrap.
pub fn render(markdown: &str, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut current: Vec<Span<'static>> = Vec::new();
    let mut styles: Vec<Style> = vec![Style::new()];
    let mut in_code_block = false;
    let mut in_sockstep_block = false;
    let mut list_depth = 0usize;
    let flush = |current: &mut Vec<Span<'static>>, lines: &mut Vec<Line<'static>>| {
        if !current.is_empty() {
            lines.push(Line::from(std::mem::take(current)));
        }
    };
    for event in Parser::new(markdown) {
        let style = *styles.last().unwrap_or(&Style::new());
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut current, &mut lines);
                if !lines.is_empty() {
                    lines.push(Line::default());
                }
                let heading = match level {
                    HeadingLevel::H1 => theme.heading.add_modifier(Modifier::UNDERLINED),
                    _ => theme.heading,
                };
                styles.push(heading);
            }
            Event::End(TagEnd::Heading(_)) => {
                styles.pop();
                flush(&mut current, &mut lines);
            }
            Event::Start(Tag::Paragraph) if list_depth == 0 && !lines.is_empty() => {
                lines.push(Line::default());
            }
            Event::End(TagEnd::Paragraph) => flush(&mut current, &mut lines),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if info.as_ref() == "sockstep" =>
            {
                // The book draws a recorded run here; the TUI is showing a live one.
                flush(&mut current, &mut lines);
                lines.push(Line::default());
                lines.push(Line::styled(
                    "    (The book shows a run's diagram here: the run above is the live one.)",
                    Style::new().add_modifier(Modifier::ITALIC),
                ));
                in_sockstep_block = true;
            }
            Event::End(TagEnd::CodeBlock) if in_sockstep_block => in_sockstep_block = false,
            Event::Text(_) if in_sockstep_block => {}
            Event::Start(Tag::CodeBlock(_)) => {
                flush(&mut current, &mut lines);
                lines.push(Line::default());
                in_code_block = true;
                styles.push(theme.code_block);
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                styles.pop();
            }
            Event::Start(Tag::List(_)) => {
                flush(&mut current, &mut lines);
                if list_depth == 0 {
                    lines.push(Line::default());
                }
                list_depth += 1;
            }
            Event::End(TagEnd::List(_)) => list_depth = list_depth.saturating_sub(1),
            Event::Start(Tag::Item) => {
                flush(&mut current, &mut lines);
                current.push(Span::raw(format!(
                    "{}• ",
                    "  ".repeat(list_depth.saturating_sub(1))
                )));
            }
            Event::End(TagEnd::Item) => flush(&mut current, &mut lines),
            Event::Start(Tag::Emphasis) => styles.push(style.add_modifier(Modifier::ITALIC)),
            Event::Start(Tag::Strong) => styles.push(style.add_modifier(Modifier::BOLD)),
            Event::Start(Tag::Link { .. }) => styles.push(style.add_modifier(Modifier::UNDERLINED)),
            Event::End(TagEnd::Emphasis | TagEnd::Strong | TagEnd::Link) => {
                styles.pop();
            }
            Event::Text(text) if in_code_block => {
                for line in text.lines() {
                    lines.push(Line::from(Span::styled(format!("    {line}"), style)));
                }
            }
            Event::Text(text) => current.push(Span::styled(text.into_string(), style)),
            Event::Code(code) => current.push(Span::styled(code.into_string(), theme.inline_code)),
            Event::SoftBreak => current.push(Span::raw(" ")),
            Event::HardBreak => flush(&mut current, &mut lines),
            Event::Rule => {
                flush(&mut current, &mut lines);
                lines.push(Line::from("────────"));
            }
            Event::Html(_) | Event::InlineHtml(_) => {}
            _ => {}
        }
    }
    flush(&mut current, &mut lines);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn headings_paragraphs_lists_and_code() {
        let text =
            "# Title\n\nSome *words* and `code`.\n\n- one\n- two\n\n```rust\nfn main() {}\n```\n";
        let lines = plain(&render(text, &Theme::new(false)));
        assert_eq!(
            lines,
            [
                "Title",
                "",
                "Some words and code.",
                "",
                "• one",
                "• two",
                "",
                "    fn main() {}"
            ]
        );
    }
}
