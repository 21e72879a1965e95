//! A lesson's hints, written in its page as a `## Stuck?` section of three folded
//! HTML sections that mdbook renders natively:
//!
//! ```text
//! ## Stuck?
//!
//! <details><summary>Hint 1: what to look at</summary>
//!
//! Markdown…
//!
//! </details>
//! ```
//!
//! then `Hint 2: why it breaks` and `Hint 3: the fix`. The TUI keeps them out of the
//! lesson text and shows them one at a time when asked.

/// The section's heading line.
pub const HEADING: &str = "## Stuck?";

/// What each hint is about, in the order they are given.
pub const TITLES: [&str; 3] = ["what to look at", "why it breaks", "the fix"];

const OPEN: &str = "<details><summary>";
const CLOSE: &str = "</details>";

/// One hint: its title (one of `TITLES`) and its Markdown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub title: String,
    pub text: String,
}

/// A page whose hints are not three, in order, each with some text.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum HintError {
    #[error("the page has no `{HEADING}` section of hints")]
    NoSection,
    #[error("line {line}: `{OPEN}` has no `</summary>` on the same line")]
    UnclosedSummary { line: usize },
    #[error("line {line}: the hint opened here has no `{CLOSE}`")]
    Unclosed { line: usize },
    #[error(
        "line {line}: hint {number} should be titled `Hint {number}: {expected}`, not `{found}`"
    )]
    Title {
        line: usize,
        number: usize,
        expected: &'static str,
        found: String,
    },
    #[error("line {line}: hint {number} is empty")]
    Empty { line: usize, number: usize },
    #[error("the `{HEADING}` section has {found} hints; it needs {}", TITLES.len())]
    Count { found: usize },
}

/// Where the `## Stuck?` section starts (its heading) and ends (after its last
/// `</details>`), as byte offsets.
fn section(page: &str) -> Option<(usize, usize)> {
    let start = line_starts(page).find(|&at| page[at..].lines().next() == Some(HEADING))?;
    let end = page[start..]
        .rfind(CLOSE)
        .map_or(page.len(), |at| start + at + CLOSE.len());
    Some((start, end))
}

fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1))
}

fn line_of(page: &str, at: usize) -> usize {
    page[..at].matches('\n').count() + 1
}

/// The page's three hints, in order.
pub fn parse(page: &str) -> Result<Vec<Hint>, HintError> {
    let (start, end) = section(page).ok_or(HintError::NoSection)?;
    let mut hints = Vec::new();
    let mut at = start;
    while let Some(found) = page[at..end].find(OPEN) {
        let open = at + found;
        let line = line_of(page, open);
        let summary_line = page[open..].lines().next().unwrap_or("");
        let summary = summary_line[OPEN.len()..]
            .split_once("</summary>")
            .ok_or(HintError::UnclosedSummary { line })?
            .0;
        let body_start = open + OPEN.len() + summary.len() + "</summary>".len();
        let body_end = body_start
            + page[body_start..end]
                .find(CLOSE)
                .ok_or(HintError::Unclosed { line })?;
        let number = hints.len() + 1;
        let expected = TITLES.get(hints.len()).copied().unwrap_or("(none)");
        let title = summary
            .strip_prefix(&format!("Hint {number}: "))
            .filter(|title| *title == expected)
            .ok_or_else(|| HintError::Title {
                line,
                number,
                expected,
                found: summary.to_string(),
            })?;
        let text = page[body_start..body_end].trim().to_string();
        if text.is_empty() {
            return Err(HintError::Empty { line, number });
        }
        hints.push(Hint {
            title: title.to_string(),
            text,
        });
        at = body_end + CLOSE.len();
    }
    if hints.len() != TITLES.len() {
        return Err(HintError::Count { found: hints.len() });
    }
    Ok(hints)
}

/// The page without its hints section: in its place, `instead` (which may be empty).
pub fn strip(page: &str, instead: &str) -> String {
    match section(page) {
        Some((start, end)) => format!("{}{instead}{}", &page[..start], &page[end..]),
        None => page.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(hints: &[(&str, &str)]) -> String {
        let mut page = String::from("# T\n\nText.\n\n## Stuck?\n\n");
        for (summary, body) in hints {
            page.push_str(&format!("{OPEN}{summary}</summary>\n\n{body}\n\n{CLOSE}\n"));
        }
        page.push_str("\nAfter.\n");
        page
    }

    const GOOD: [(&str, &str); 3] = [
        ("Hint 1: what to look at", "Look."),
        ("Hint 2: why it breaks", "Because."),
        ("Hint 3: the fix", "Fix it."),
    ];

    #[test]
    fn three_hints_in_order_are_read() {
        let hints = parse(&page(&GOOD)).unwrap();
        let read: Vec<(&str, &str)> = hints
            .iter()
            .map(|h| (h.title.as_str(), h.text.as_str()))
            .collect();
        assert_eq!(
            read,
            [
                ("what to look at", "Look."),
                ("why it breaks", "Because."),
                ("the fix", "Fix it.")
            ]
        );
    }

    #[test]
    fn hints_out_of_order_missing_or_empty_are_named() {
        assert_eq!(parse("# T\n\nNo hints.\n"), Err(HintError::NoSection));
        assert_eq!(parse(&page(&GOOD[..2])), Err(HintError::Count { found: 2 }));
        let swapped = [GOOD[1], GOOD[0], GOOD[2]];
        assert!(matches!(
            parse(&page(&swapped)),
            Err(HintError::Title {
                number: 1,
                line: 7,
                ..
            })
        ));
        let empty = [GOOD[0], ("Hint 2: why it breaks", " "), GOOD[2]];
        assert!(matches!(
            parse(&page(&empty)),
            Err(HintError::Empty { number: 2, .. })
        ));
        let unclosed =
            "# T\n\n## Stuck?\n\n<details><summary>Hint 1: what to look at</summary>\n\nx\n";
        assert_eq!(parse(unclosed), Err(HintError::Unclosed { line: 5 }));
    }

    #[test]
    fn strip_takes_out_the_whole_section_and_keeps_what_follows() {
        let stripped = strip(&page(&GOOD), "Press h.");
        assert_eq!(stripped, "# T\n\nText.\n\nPress h.\n\nAfter.\n");
        assert_eq!(strip("# T\n", "x"), "# T\n");
    }
}
