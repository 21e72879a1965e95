//! The byte views a student looks at (the TUI's byte panes, the text diagram, the
//! book's HTML) cannot disagree: each is read back from what it draws, and each
//! shows every byte a side received once and in order, every cut and every end of a
//! `recv()` at the same stream offset, and the same bracket and byte count under
//! each `recv()`.

mod common;

use proptest::prelude::*;

use sockstep::engine::{Mode, Side, Trace};
use sockstep::render::diagram::{self, CUT, CUT_AND_RECV, RECV, Source, glyph};
use sockstep::render::{html, text};
use sockstep::tui::bytes::ByteView;

/// What one side's rows of a view show, read back from the characters drawn.
#[derive(Debug, Default, PartialEq, Eq)]
struct Shown {
    /// One entry per byte: its glyph, or its two hex digits.
    bytes: Vec<String>,
    /// (offset, mark) for every mark before the byte at that offset.
    marks: Vec<(usize, char)>,
    /// (start, end) of every bracket.
    reads: Vec<(usize, usize)>,
    /// (start of the read, count) for every byte count written in a bracket.
    counts: Vec<(usize, usize)>,
    /// The symbol of each byte's fate, from the fate row under it, if drawn.
    fates: Vec<char>,
}

/// A side's rows on one line of a view: bytes, fates (or empty), brackets.
type SideRows = (String, String, String);

/// Reads back a side's rows (bytes, fates, brackets), in order.
fn read_back<'a>(lines: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>, hex: bool) -> Shown {
    let mut shown = Shown::default();
    let mut open = None;
    for (bytes, fates, brackets) in lines {
        let chars: Vec<char> = bytes.chars().collect();
        // The stream offset under each column.
        let mut offset_at = Vec::new();
        let mut column = 0;
        while column < chars.len() {
            let at = shown.bytes.len();
            match chars[column] {
                ' ' => offset_at.push(None),
                mark @ (CUT | RECV | CUT_AND_RECV) => {
                    shown.marks.push((at, mark));
                    offset_at.push(None);
                }
                c if hex => {
                    let pair: String = [c, chars[column + 1]].iter().collect();
                    shown.bytes.push(pair);
                    offset_at.extend([Some(at), Some(at)]);
                    column += 1;
                }
                c => {
                    shown.bytes.push(c.to_string());
                    offset_at.push(Some(at));
                }
            }
            column += 1;
        }
        let fate_chars: Vec<char> = fates.chars().collect();
        for (column, at) in offset_at.iter().enumerate() {
            // A byte's first column (a hex byte has two).
            if at.is_some() && (column == 0 || offset_at[column - 1] != *at) {
                shown.fates.extend(fate_chars.get(column));
            }
        }
        let under: Vec<char> = brackets.chars().collect();
        let mut column = 0;
        while column < under.len() {
            let at = offset_at.get(column).copied().flatten();
            match under[column] {
                '^' => shown.reads.push((at.unwrap(), at.unwrap() + 1)),
                '╰' => open = Some(at.unwrap()),
                '╯' => shown.reads.push((open.take().unwrap(), at.unwrap() + 1)),
                digit if digit.is_ascii_digit() => {
                    let digits: String = under[column..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    column += digits.len() - 1;
                    shown.counts.push((open.unwrap(), digits.parse().unwrap()));
                }
                '─' | ' ' => {}
                other => panic!("{other:?} in a bracket row: {brackets:?}"),
            }
            column += 1;
        }
    }
    shown
}

/// What a side's rows must show: its bytes, the marks and the brackets (counts
/// are checked apart).
fn expected(reads: &[&[u8]], cuts: &[usize], hex: bool) -> Shown {
    let bytes: Vec<u8> = reads.concat();
    let mut ends = Vec::new();
    let mut shown = Shown::default();
    for read in reads.iter().filter(|r| !r.is_empty()) {
        let start = ends.last().copied().unwrap_or(0);
        ends.push(start + read.len());
        shown.reads.push((start, start + read.len()));
    }
    for at in 1..bytes.len() {
        let mark = match (cuts.contains(&at), ends.contains(&at)) {
            (true, true) => Some(CUT_AND_RECV),
            (true, false) => Some(CUT),
            (false, true) => Some(RECV),
            (false, false) => None,
        };
        shown.marks.extend(mark.map(|m| (at, m)));
    }
    shown.bytes = bytes
        .iter()
        .map(|&b| {
            if hex {
                format!("{b:02x}")
            } else {
                glyph(b).to_string()
            }
        })
        .collect();
    shown
}

/// Checks that the counts shown are those of their reads, each at most once.
fn counts_are_right(shown: &Shown, name: &str) {
    let mut seen = std::collections::BTreeSet::new();
    for &(start, count) in &shown.counts {
        let read = shown.reads.iter().find(|r| r.0 == start);
        assert_eq!(
            read.map(|r| r.1 - r.0),
            Some(count),
            "{name}: count {count} under the read at {start}"
        );
        assert!(
            seen.insert(start),
            "{name}: the read at {start} counted twice"
        );
    }
}

/// The side's rows of the text grid: after each labelled row, its fate row if
/// there is one, then its bracket row.
fn text_side(grid: &str, side: Side) -> Vec<SideRows> {
    let label = format!("  {:<9}", side.name());
    let lines: Vec<&str> = grid.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.starts_with(&label))
        .map(|(i, line)| {
            let next = lines.get(i + 1).copied().unwrap_or("");
            let (fates, brackets) = if next.starts_with("  fate ") {
                (strip(next, 11), lines.get(i + 2).copied().unwrap_or(""))
            } else {
                (String::new(), next)
            };
            (strip(line, 11), fates, strip(brackets, 11))
        })
        .collect()
}

fn strip(line: &str, label: usize) -> String {
    line.chars().skip(label).collect()
}

/// The HTML grid as plain text lines: tags dropped, entities decoded.
fn html_text(grid: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in grid.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            c => out.push(c),
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// The side's rows of the HTML grid.
fn html_side(grid: &str, side: Side) -> Vec<SideRows> {
    // Each line of a `<pre>` is its label (9 columns) and its cells.
    let text: String = html_text(grid)
        .lines()
        .map(|line| format!("  {line}\n"))
        .collect();
    text_side(&text, side)
}

/// The TUI's byte pane of one side, `width` columns wide.
fn tui_side(source: &Source, side: Side, hex: bool, width: usize) -> Vec<SideRows> {
    let index = source.sides.iter().position(|(s, _)| *s == side).unwrap();
    let reads = &source.sides[index].1;
    let fates = source.fates.get(index).cloned().unwrap_or_default();
    let rows = if fates.is_empty() { 2 } else { 3 };
    let lines: Vec<String> = ByteView {
        side,
        reads: reads.clone(),
        cuts: source.cuts,
        spans: source.spans,
        fates,
        hex,
        spaced: false,
        color: false,
    }
    .lines(width)
    .iter()
    .map(|line| line.to_string())
    .collect();
    assert_eq!(
        lines.len() % rows,
        0,
        "bytes, fates and brackets come together"
    );
    lines
        .chunks(rows)
        .map(|rows| match rows {
            [bytes, brackets] => (bytes.clone(), String::new(), brackets.clone()),
            [bytes, fates, brackets] => (bytes.clone(), fates.clone(), brackets.clone()),
            _ => unreachable!(),
        })
        .collect()
}

fn pairs(rows: &[SideRows]) -> impl Iterator<Item = (&str, &str, &str)> {
    rows.iter()
        .map(|(a, f, b)| (a.as_str(), f.as_str(), b.as_str()))
}

/// Every view of every side of `source` shows what the side received, and where.
fn views_agree(source: &Source, bytes_per_line: usize, tui_width: usize) {
    let layout = diagram::Options {
        wire: true,
        messages: true,
        fates: true,
        bytes_per_line,
        ..diagram::Options::default()
    };
    let text_grid = text::grid(source, &layout, false);
    let html_grid = html::grid(source, &layout);
    let unwrapped = text::grid(
        source,
        &diagram::Options {
            bytes_per_line: usize::MAX,
            ..layout.clone()
        },
        false,
    );
    for (index, (side, reads)) in source.sides.iter().enumerate() {
        let want_fates: Vec<char> = source
            .fates
            .get(index)
            .map(|fates| fates.iter().map(|fate| fate.symbol()).collect())
            .unwrap_or_default();
        let views = [
            (
                "text",
                read_back(pairs(&text_side(&text_grid, *side)), false),
            ),
            (
                "html",
                read_back(pairs(&html_side(&html_grid, *side)), false),
            ),
            (
                "tui",
                read_back(pairs(&tui_side(source, *side, false, tui_width)), false),
            ),
        ];
        let want = expected(reads, source.cuts, false);
        for (name, shown) in &views {
            let context = format!("{name} view of the {side:?} side\n{text_grid}");
            assert_eq!(shown.bytes, want.bytes, "{context}");
            assert_eq!(shown.marks, want.marks, "{context}");
            assert_eq!(shown.reads, want.reads, "{context}");
            assert_eq!(shown.fates, want_fates, "{context}");
            counts_are_right(shown, name);
        }
        let hex = read_back(pairs(&tui_side(source, *side, true, tui_width)), true);
        let want_hex = expected(reads, source.cuts, true);
        assert_eq!(
            (&hex.bytes, &hex.marks, &hex.reads, &hex.fates),
            (
                &want_hex.bytes,
                &want_hex.marks,
                &want_hex.reads,
                &want_fates
            ),
            "hex view of the {side:?} side"
        );
        counts_are_right(&hex, "hex");

        // On one line, every bracket with room for its count shows it. A read has
        // a column per byte and per mark inside it, at least (the text grid adds
        // one wherever another row has a mark).
        let columns = |start: usize, end: usize| {
            let marks = want.marks.iter().filter(|(at, _)| start < *at && *at < end);
            end - start + marks.count()
        };
        let whole = read_back(pairs(&text_side(&unwrapped, *side)), false);
        for &(start, end) in &want.reads {
            let count = end - start;
            if count.to_string().len() + 2 <= columns(start, end) {
                assert!(
                    whole.counts.contains(&(start, count)),
                    "the read of {count} bytes at {start} shows no count\n{unwrapped}"
                );
            }
        }
        let tui_whole = read_back(pairs(&tui_side(source, *side, false, usize::MAX)), false);
        for &(start, count) in &tui_whole.counts {
            assert!(
                whole.counts.contains(&(start, count)),
                "the TUI counts the read at {start}, the text diagram does not\n{unwrapped}"
            );
        }
    }
    // The wire row shows the whole stream with every cut.
    let wire: Vec<SideRows> = text_grid
        .lines()
        .filter(|line| line.starts_with("  wire"))
        .map(|line| (strip(line, 11), String::new(), String::new()))
        .collect();
    let shown = read_back(pairs(&wire), false);
    let stream_cuts: Vec<(usize, char)> = source
        .cuts
        .iter()
        .filter(|&&at| 0 < at && at < source.stream.len())
        .map(|&at| (at, CUT))
        .collect();
    assert_eq!(shown.bytes, expected(&[source.stream], &[], false).bytes);
    assert_eq!(shown.marks, stream_cuts);
}

/// Ascending offsets inside a stream of `len` bytes.
fn offsets(len: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::btree_set(1..len.max(2), 0..len / 2 + 1)
        .prop_map(|set| set.into_iter().collect())
}

/// A stream, its cuts, and for each side where its reads end and how much of
/// the stream it received.
fn runs() -> impl Strategy<Value = (Vec<u8>, Vec<usize>, [Vec<usize>; 2], [usize; 2])> {
    proptest::collection::vec(any::<u8>(), 0..120).prop_flat_map(|stream| {
        let len = stream.len();
        (
            Just(stream),
            offsets(len),
            [offsets(len), offsets(len)],
            [0..=len, 0..=len],
        )
    })
}

fn split<'a>(bytes: &'a [u8], ends: &[usize]) -> Vec<&'a [u8]> {
    let mut reads = Vec::new();
    let mut start = 0;
    for &end in ends.iter().filter(|&&end| end < bytes.len()) {
        reads.push(&bytes[start..end]);
        start = end;
    }
    if start < bytes.len() {
        reads.push(&bytes[start..]);
    }
    reads
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_views_agree_on_every_byte_cut_and_read(
        (stream, cuts, ends, lens) in runs(),
        bytes_per_line in 8usize..70,
        tui_width in 4usize..90,
    ) {
        let source = Source {
            stream: &stream,
            spans: &[],
            cuts: &cuts,
            sides: vec![
                (Side::Naive, split(&stream[..lens[0]], &ends[0])),
                (Side::Correct, split(&stream[..lens[1]], &ends[1])),
            ],
            fates: Vec::new(),
        };
        views_agree(&source, bytes_per_line, tui_width);
    }
}

/// The whole text and HTML diagrams and the TUI's panes of real runs agree.
#[test]
fn real_runs_look_the_same_in_every_view() {
    let cases = [
        ("length-prefix", 3, Mode::Lockstep),
        ("type-byte", 12, Mode::Lockstep),
        ("welcome", 1, Mode::FreeRun),
        ("peers", 3, Mode::FreeRun),
    ];
    for (slug, seed, mode) in cases {
        let trace: Trace = common::run(slug, seed, mode);
        let source = Source::of_trace(&trace);
        let whole_text = text::diagram(
            &trace,
            text::TextOptions {
                color: false,
                bytes_per_line: 24,
            },
        );
        // The grid, without the outcome lines after it (they start with a label too).
        let whole_text = &whole_text[..whole_text.rfind("\n\n").unwrap()];
        let whole_html = html::diagram(&trace, "caption", 24, 0..usize::MAX);
        for (side, reads) in &source.sides {
            let want = expected(reads, &trace.cuts, false);
            let views = [
                (
                    "text",
                    read_back(pairs(&text_side(whole_text, *side)), false),
                ),
                (
                    "html",
                    read_back(pairs(&html_side(&whole_html, *side)), false),
                ),
                (
                    "tui",
                    read_back(pairs(&tui_side(&source, *side, false, 30)), false),
                ),
            ];
            for (name, shown) in &views {
                assert_eq!(
                    (&shown.bytes, &shown.marks, &shown.reads),
                    (&want.bytes, &want.marks, &want.reads),
                    "{slug} seed {seed}: the {name} view of the {side:?} side\n{whole_text}"
                );
                counts_are_right(shown, name);
            }
        }
        views_agree(&source, 24, 30);
    }
}
