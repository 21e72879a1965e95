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

use mdbook_preprocessor::book::{Book, BookItem};

use crate::engine::{Mode, RunOptions};
use crate::lesson;
use crate::render::html;

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
    let (number, lesson) = lesson::find(&block.lesson).map_err(|e| e.to_string())?;
    let trace = lesson
        .run(RunOptions {
            seed: block.seed,
            mode: Mode::Lockstep,
            ..RunOptions::default()
        })
        .map_err(|e| format!("the run failed: {e}"))?;
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

/// Replaces every `sockstep` block of one page.
pub fn process_page(page: &str, content: &str) -> Result<String, BlockError> {
    let mut out = String::with_capacity(content.len());
    let mut lines = content.lines().enumerate();
    let mut fence: Option<String> = None;
    while let Some((index, line)) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(open) = &fence {
            if trimmed.starts_with(open.as_str()) && trimmed.trim_end() == open {
                fence = None;
            }
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let ticks = trimmed.len() - trimmed.trim_start_matches(['`', '~']).len();
        if ticks >= 3 {
            let marker = &trimmed[..ticks];
            let info = trimmed[ticks..].trim();
            if info == "sockstep" {
                let mut body = String::new();
                let mut closed = false;
                for (_, line) in lines.by_ref() {
                    if line.trim() == marker {
                        closed = true;
                        break;
                    }
                    body.push_str(line);
                    body.push('\n');
                }
                let error = |problem: String| BlockError {
                    page: page.to_string(),
                    line: index + 1,
                    problem,
                };
                if !closed {
                    return Err(error("the block is never closed".into()));
                }
                let block = parse_block(&body).map_err(error)?;
                out.push_str(&render_block(&block).map_err(error)?);
                continue;
            }
            fence = Some(marker.to_string());
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// Runs every block of the book; the first bad one fails the build.
pub fn process_book(mut book: Book) -> Result<Book, BlockError> {
    let mut failure = None;
    book.for_each_mut(|item| {
        if failure.is_some() {
            return;
        }
        if let BookItem::Chapter(chapter) = item {
            let page = chapter
                .source_path
                .as_ref()
                .map(|p| format!("lessons/{}", p.display()))
                .unwrap_or_else(|| chapter.name.clone());
            match process_page(&page, &chapter.content) {
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
    let (_context, book) = mdbook_preprocessor::parse_input(input)?;
    let book = process_book(book)?;
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
        let out = process_page("lessons/t.md", page).unwrap();
        assert!(out.contains("```rust\nlet x = 1;\n```"));
        assert!(out.contains("<div class=\"sockstep-run\">"));
        assert!(out.contains("<span class=\"cut\">┊</span>"));
        assert!(out.contains("after"));
        assert!(!out.contains("```sockstep"));
    }

    #[test]
    fn a_sockstep_block_inside_another_fence_is_left_alone() {
        let page = "````markdown\n```sockstep\nlength-prefix\n```\n````\n";
        assert_eq!(process_page("p", page).unwrap(), page);
    }

    #[test]
    fn a_bad_block_names_page_line_and_problem() {
        let page = "intro\n\n```sockstep\nxyz seed=1\n```\n";
        let error = process_page("lessons/bad.md", page)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "lessons/bad.md: the sockstep block at line 3: no lesson 'xyz'; run 'sockstep list'"
        );
    }
}
