//! Lesson pages (CommonMark) as styled terminal text.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme::Theme;
use crate::lesson::Lang;

/// The language a fenced code block's info string names (`rust`, `rust,ignore`,
/// `python`), if one of the lessons' languages.
fn block_lang(event: &Event) -> Option<Lang> {
    let Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) = event else {
        return None;
    };
    match info.split([',', ' ']).next()? {
        "rust" => Some(Lang::Rust),
        "python" | "py" => Some(Lang::Python),
        _ => None,
    }
}

/// The page's events without the code blocks of the other language: a ```rust block
/// right after which comes a ```python block is the same code twice, and only the
/// one in `lang` is kept. Every other block stays.
fn in_lang<'a>(events: Vec<Event<'a>>, lang: Lang) -> Vec<Event<'a>> {
    // Where the code block starting at `start` ends (its End event).
    let end_of = |start: usize| {
        (start..events.len()).find(|&i| matches!(events[i], Event::End(TagEnd::CodeBlock)))
    };
    let mut dropped = vec![false; events.len()];
    let mut i = 0;
    while i < events.len() {
        let pair = (block_lang(&events[i]) == Some(Lang::Rust))
            .then(|| end_of(i))
            .flatten()
            // Only HTML (a page's own tab markup, never drawn here) may come between.
            .and_then(|rust_end| {
                let python = (rust_end + 1..events.len())
                    .find(|&i| {
                        !matches!(
                            events[i],
                            Event::Html(_)
                                | Event::Start(Tag::HtmlBlock)
                                | Event::End(TagEnd::HtmlBlock)
                        )
                    })
                    .filter(|&i| block_lang(&events[i]) == Some(Lang::Python))?;
                Some((rust_end, python, end_of(python)?))
            });
        let Some((rust_end, python, python_end)) = pair else {
            i += 1;
            continue;
        };
        let other = match lang {
            Lang::Rust => python..=python_end,
            Lang::Python => i..=rust_end,
        };
        dropped[other].fill(true);
        i = python_end + 1;
    }
    events
        .into_iter()
        .zip(dropped)
        .filter_map(|(event, dropped)| (!dropped).then_some(event))
        .collect()
}

/// The page as lines, its code in `lang` where it shows both languages; long lines
/// are left for the paragraph widget to wrap.
pub fn render(markdown: &str, theme: &Theme, lang: Lang) -> Vec<Line<'static>> {
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
    for event in in_lang(Parser::new(markdown).collect(), lang) {
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
        let lines = plain(&render(text, &Theme::new(false), Lang::Rust));
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

    #[test]
    fn a_rust_block_followed_by_a_python_block_shows_the_chosen_language_only() {
        let text = "Before.\n\n```rust\nlet n = sock.recv(&mut buf)?;\n```\n\n\
            ```python\nn = sock.recv(5)\n```\n\nBetween.\n\n\
            ```rust,ignore\nfn alone() {}\n```\n\n```text\nplain\n```\n\n\
            ```python\nalone = True\n```\n\n\
            <div class=\"tab\">\n\n```rust\nlet tabbed = 1;\n```\n\n</div>\n<div class=\"tab\">\n\n\
            ```python\ntabbed = 1\n```\n\n</div>\n";
        let shown = |lang| plain(&render(text, &Theme::new(false), lang)).join("\n");
        let rust = shown(Lang::Rust);
        assert!(rust.contains("sock.recv(&mut buf)") && !rust.contains("sock.recv(5)"));
        assert!(rust.contains("let tabbed") && !rust.contains("    tabbed = 1"));
        let python = shown(Lang::Python);
        assert!(python.contains("sock.recv(5)") && !python.contains("sock.recv(&mut buf)"));
        assert!(python.contains("    tabbed = 1") && !python.contains("let tabbed"));
        // Blocks that are not such a pair stay in both.
        for page in [rust, python] {
            for kept in [
                "Before.",
                "Between.",
                "fn alone() {}",
                "plain",
                "alone = True",
            ] {
                assert!(page.contains(kept), "{kept} in {page}");
            }
        }
    }
}
