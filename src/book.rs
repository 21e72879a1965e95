//! `sockstep mdbook`: an mdbook preprocessor that replaces each fenced `sockstep`
//! block in a lesson page with the diagram of a real loopback run made while the
//! book builds.
//!
//! ````markdown
//! ```sockstep
//! length-prefix seed=3
//! ```
//! ````
//!
//! Options: `seed=N` (default 1), `width=N` (stream bytes per diagram line,
//! default 40), and `from=N` / `to=N` to draw only those stream offsets of a long
//! run. Runs are in lockstep, so the book is the same on every build.

use std::io::{Read, Write};
use std::path::Path;

use mdbook_preprocessor::book::{Book, BookItem};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::engine::{Mode, RunOptions};
use crate::render::html;
use crate::teaching;

/// A `sockstep` block the preprocessor cannot render.
#[derive(Debug, thiserror::Error)]
#[error("{page}: the sockstep block at line {line}: {problem}")]
pub struct BlockError {
    pub page: String,
    pub line: usize,
    pub problem: String,
}

/// What a block asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Block {
    pub lesson: String,
    pub seed: u64,
    pub width: usize,
    /// Stream offsets drawn.
    pub from: usize,
    pub to: usize,
}

/// Parses a block's body: a lesson, then `key=value` options.
pub fn parse_block(body: &str) -> Result<Block, String> {
    let mut words = body.split_whitespace();
    let lesson = words
        .next()
        .ok_or("it is empty; write a lesson slug, e.g. 'length-prefix seed=3'")?
        .to_string();
    let mut block = Block {
        lesson,
        seed: 1,
        width: 40,
        from: 0,
        to: usize::MAX,
    };
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("'{word}' is not an option; options look like seed=3"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{key}={value}: {key} takes a whole number"))
        };
        match key {
            "seed" => block.seed = number()?,
            "width" => block.width = number()?.clamp(8, 4096) as usize,
            "from" => block.from = number()? as usize,
            "to" => block.to = number()? as usize,
            _ => {
                return Err(format!(
                    "unknown option '{key}' (known: seed, width, from, to)"
                ));
            }
        }
    }
    if block.from >= block.to {
        return Err(format!(
            "from={} must come before to={}",
            block.from, block.to
        ));
    }
    Ok(block)
}

/// The diagram of a real run for one block.
pub fn render_block(block: &Block) -> Result<String, String> {
    let (number, lesson) = teaching::find(&block.lesson).map_err(|e| e.to_string())?;
    let trace = lesson
        .run(RunOptions {
            seed: block.seed,
            mode: Mode::Lockstep,
            ..RunOptions::default()
        })
        .map_err(|e| format!("the run failed: {e}"))?;
    if block.from > 0 && block.from >= trace.stream.len() {
        return Err(format!(
            "from={} is past the end of the run's stream, which is {} bytes",
            block.from,
            trace.stream.len()
        ));
    }
    let part = if block.from > 0 || block.to < trace.stream.len() {
        format!(
            ", bytes {} to {} of {}",
            block.from,
            block.to.min(trace.stream.len()),
            trace.stream.len()
        )
    } else {
        String::new()
    };
    let caption = format!(
        "Lesson {number}, {}: a real run over loopback, seed {}{part} (sockstep run {} --seed {})",
        lesson.slug, block.seed, lesson.slug, block.seed
    );
    Ok(html::diagram(
        &trace,
        &caption,
        block.width,
        block.from..block.to,
    ))
}

/// A `sockstep` block as the Markdown parser found it in a page.
struct Found {
    /// Byte range of the whole block, fences included.
    range: std::ops::Range<usize>,
    /// 1-based line of its opening fence.
    line: usize,
    body: String,
    closed: bool,
}

/// Options as mdbook's own parser sets them, so blocks are found where mdbook finds
/// them.
fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_DEFINITION_LIST
        | Options::ENABLE_GFM
}

/// Every fenced block whose info string is `sockstep`, wherever CommonMark puts one
/// (block quotes and list items too; never inside other code).
fn find_blocks(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut current: Option<Found> = None;
    for (event, range) in Parser::new_ext(text, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if info.split_whitespace().next() == Some("sockstep") =>
            {
                current = Some(Found {
                    line: text[..range.start].matches('\n').count() + 1,
                    closed: is_closed(&text[range.clone()]),
                    range,
                    body: String::new(),
                });
            }
            Event::Text(body) => {
                if let Some(block) = &mut current {
                    block.body.push_str(&body);
                }
            }
            Event::End(TagEnd::CodeBlock) => found.extend(current.take()),
            _ => {}
        }
    }
    found
}

/// Whether a fenced block's text ends with a closing fence: the parser runs an
/// unclosed one to the end of its container without a word.
fn is_closed(block: &str) -> bool {
    let fence = |line: &str| {
        let line = line.trim_start_matches([' ', '\t', '>']).trim_end();
        let marker = line.chars().next().filter(|c| matches!(c, '`' | '~'))?;
        let length = line.len() - line.trim_start_matches(marker).len();
        Some((marker, length, line.len() == length))
    };
    let mut lines = block.lines();
    let Some((marker, length, _)) = lines.next().and_then(fence) else {
        return false;
    };
    lines
        .rfind(|line| !line.trim_start_matches([' ', '\t', '>']).trim().is_empty())
        .and_then(fence)
        .is_some_and(|(m, l, only)| m == marker && l >= length && only)
}

/// Replaces every `sockstep` block of one page. `source` is the page as its author
/// wrote it (before mdbook expanded includes), when it can be read: errors then name
/// the author's line.
pub fn process_page(page: &str, content: &str, source: Option<&str>) -> Result<String, BlockError> {
    let blocks = find_blocks(content);
    // The same blocks in the same order in the author's file, unless an include
    // brought in blocks of its own.
    let author_lines: Option<Vec<usize>> = source
        .map(|source| find_blocks(source).iter().map(|b| b.line).collect())
        .filter(|lines: &Vec<usize>| lines.len() == blocks.len());
    let mut out = String::with_capacity(content.len());
    let mut written = 0;
    for (index, found) in blocks.iter().enumerate() {
        let error = |problem: String| BlockError {
            page: page.to_string(),
            line: author_lines
                .as_ref()
                .map_or(found.line, |lines| lines[index]),
            problem,
        };
        if !found.closed {
            return Err(error("the block is never closed".into()));
        }
        let block = parse_block(&found.body).map_err(error)?;
        let html = render_block(&block).map_err(error)?;
        out.push_str(&content[written..found.range.start]);
        out.push_str(&in_container(
            &html,
            container_prefix(content, found.range.start),
        ));
        // The HTML ends its last line; the parser's range may stop short of it.
        written = found.range.end;
        if !content[..written].ends_with('\n') && content[written..].starts_with('\n') {
            written += 1;
        }
    }
    out.push_str(&content[written..]);
    Ok(out)
}

/// What each further line of a block must start with to stay in the same block quote
/// or list item as the block's first line: its `>` markers, and spaces for the rest.
fn container_prefix(content: &str, start: usize) -> String {
    let line_start = content[..start].rfind('\n').map_or(0, |i| i + 1);
    content[line_start..start]
        .chars()
        .map(|c| if matches!(c, '>' | '\t') { c } else { ' ' })
        .collect()
}

/// `html`'s lines after the first, each behind `prefix`.
fn in_container(html: &str, prefix: String) -> String {
    if prefix.is_empty() {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len());
    for (i, line) in html.lines().enumerate() {
        if i > 0 {
            out.push_str(&prefix);
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Runs every block of the book; the first bad one fails the build. `pages` is the
/// folder of the page sources (`root/src` of the book).
pub fn process_book(mut book: Book, pages: &Path, shown_as: &Path) -> Result<Book, BlockError> {
    let mut failure = None;
    book.for_each_mut(|item| {
        if failure.is_some() {
            return;
        }
        if let BookItem::Chapter(chapter) = item {
            let (page, source) = match &chapter.source_path {
                Some(path) => (
                    shown_as.join(path).display().to_string(),
                    std::fs::read_to_string(pages.join(path)).ok(),
                ),
                None => (chapter.name.clone(), None),
            };
            match process_page(&page, &chapter.content, source.as_deref()) {
                Ok(content) => chapter.content = content,
                Err(error) => failure = Some(error),
            }
        }
    });
    match failure {
        Some(error) => Err(error),
        None => Ok(book),
    }
}

/// The preprocessor protocol: `[context, book]` JSON in, the book JSON out.
pub fn run_preprocessor(input: impl Read, output: impl Write) -> anyhow::Result<()> {
    let (context, book) = mdbook_preprocessor::parse_input(input)?;
    let src = &context.config.book.src;
    let book = process_book(book, &context.root.join(src), src)?;
    serde_json::to_writer(output, &book)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lesson_and_options() {
        assert_eq!(
            parse_block("length-prefix seed=3 width=32\n").unwrap(),
            Block {
                lesson: "length-prefix".into(),
                seed: 3,
                width: 32,
                from: 0,
                to: usize::MAX,
            }
        );
        let window = parse_block("partial-send from=4000 to=4200").unwrap();
        assert_eq!((window.from, window.to), (4000, 4200));
        assert!(
            parse_block("x from=9 to=3")
                .unwrap_err()
                .contains("must come before")
        );
        assert!(parse_block("").unwrap_err().contains("empty"));
        assert!(
            parse_block("x colour=red")
                .unwrap_err()
                .contains("unknown option 'colour'")
        );
        assert!(
            parse_block("x seed=-1")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(parse_block("x seed").unwrap_err().contains("not an option"));
    }

    #[test]
    fn replaces_only_sockstep_blocks() {
        let page =
            "# T\n\n```rust\nlet x = 1;\n```\n\n```sockstep\nlength-prefix seed=3\n```\n\nafter\n";
        let out = process_page("lessons/t.md", page, None).unwrap();
        assert!(out.contains("```rust\nlet x = 1;\n```"));
        assert!(out.contains("<div class=\"sockstep-run\">"));
        assert!(out.contains("<span class=\"cut\">┊</span>"));
        assert!(out.contains("after"));
        assert!(!out.contains("```sockstep"));
    }

    #[test]
    fn a_sockstep_block_inside_another_fence_is_left_alone() {
        let page = "````markdown\n```sockstep\nlength-prefix\n```\n````\n";
        assert_eq!(process_page("p", page, None).unwrap(), page);
    }

    /// The `<div class="sockstep-run">` diagrams in `out`.
    fn diagrams(out: &str) -> usize {
        out.matches("<div class=\"sockstep-run\">").count()
    }

    #[test]
    fn a_closing_fence_longer_than_its_opener_ends_the_block() {
        let page =
            "```sockstep\nlength-prefix seed=3\n`````\n\ntext\n\n```sockstep\nrecv-zero\n```\n";
        let out = process_page("p", page, None).unwrap();
        assert_eq!(diagrams(&out), 2, "{out}");
        assert!(!out.contains("```"), "{out}");
        assert!(out.contains("\ntext\n"));
    }

    #[test]
    fn a_block_in_a_block_quote_is_rendered_inside_the_quote() {
        let page = "> Look:\n>\n> ```sockstep\n> length-prefix seed=3\n> ```\n\nafter\n";
        let out = process_page("p", page, None).unwrap();
        assert_eq!(diagrams(&out), 1, "{out}");
        let quoted = &out[..out.find("\n\nafter").unwrap()];
        assert!(quoted.lines().all(|l| l.starts_with('>')), "{out}");
        // Markdown sees the diagram as HTML inside the quote.
        let html: String = pulldown_cmark::Parser::new(&out)
            .skip_while(|e| {
                !matches!(
                    e,
                    pulldown_cmark::Event::Start(pulldown_cmark::Tag::BlockQuote(_))
                )
            })
            .take_while(|e| {
                !matches!(
                    e,
                    pulldown_cmark::Event::End(pulldown_cmark::TagEnd::BlockQuote(_))
                )
            })
            .filter_map(|e| match e {
                pulldown_cmark::Event::Html(html) => Some(html.into_string()),
                _ => None,
            })
            .collect();
        assert!(
            html.contains("<div class=\"sockstep-run\">") && html.contains("</div>"),
            "{html}"
        );
    }

    #[test]
    fn a_block_in_a_list_item_stays_in_the_item() {
        let page = "- first\n- ```sockstep\n  length-prefix seed=3\n  ```\n- third\n";
        let out = process_page("p", page, None).unwrap();
        assert_eq!(diagrams(&out), 1, "{out}");
        let items = pulldown_cmark::Parser::new(&out)
            .filter(|e| matches!(e, pulldown_cmark::Event::Start(pulldown_cmark::Tag::Item)))
            .count();
        assert_eq!(items, 3, "{out}");
        assert!(out.ends_with("</div>\n- third\n"), "{out}");
    }

    #[test]
    fn an_indented_fake_fence_is_code_not_a_block() {
        let page = "text\n\n    ```sockstep\n    xyz\n    ```\n";
        assert_eq!(process_page("p", page, None).unwrap(), page);
    }

    #[test]
    fn a_block_never_closed_is_an_error() {
        let error = process_page("p", "a\n\n```sockstep\nlength-prefix\n", None).unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.problem.contains("never closed"), "{error}");
    }

    #[test]
    fn a_bad_block_names_page_line_and_problem() {
        let page = "intro\n\n```sockstep\nxyz seed=1\n```\n";
        let error = process_page("lessons/bad.md", page, None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "lessons/bad.md: the sockstep block at line 3: no lesson 'xyz'; run 'sockstep list'"
        );
    }
}
