//! The book's view of a run: the byte-view grid (`diagram`) that the text view and
//! the TUI draw too, as HTML with one CSS class per kind of cell
//! (`assets/sockstep.css` colours them for mdbook's light and dark themes). Without
//! colour it still reads: the message row numbers the messages and every boundary
//! is a symbol.

use std::fmt::Write as _;

use super::diagram::{self, ByteRole, Cell, Mark, RowKind, Source};
use super::path::Fate;
use crate::engine::{Side, Trace};

/// HTML-escapes one character.
fn escape(c: char, out: &mut String) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        _ => out.push(c),
    }
}

pub fn escape_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    text.chars().for_each(|c| escape(c, &mut out));
    out
}

fn class(cell: Cell) -> String {
    let role = |role: ByteRole| match role {
        ByteRole::Body(n) => format!("m{} body", n % 6),
        ByteRole::Framing(n) => format!("m{} framing", n % 6),
        ByteRole::Extra => "extra".to_string(),
    };
    let fate = |fate: Fate| match (fate.role(), fate) {
        (Some(r), _) => role(r),
        (None, Fate::Dropped) => "dropped".to_string(),
        (None, _) => "held".to_string(),
    };
    match cell {
        Cell::Byte { fate: Some(f), .. } => fate(f),
        Cell::Fate { fate: f, .. } => format!("fate {}", fate(f)),
        Cell::Byte { role: r, .. } => role(r),
        Cell::Message { role: r, .. } => format!("msgno {}", role(r)),
        Cell::Boundary(Mark::Cut) => "cut".into(),
        Cell::Boundary(Mark::Recv) => "recv".into(),
        Cell::Boundary(Mark::CutAndRecv) => "both".into(),
        Cell::Boundary(Mark::None) => String::new(),
        Cell::Bracket(_) => "bracket".into(),
    }
}

/// The run as one HTML block with no blank lines, so markdown keeps it whole.
pub fn diagram(
    trace: &Trace,
    caption: &str,
    bytes_per_line: usize,
    window: std::ops::Range<usize>,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<div class=\"sockstep-run\">\n<p class=\"sockstep-caption\">{}</p>\n",
        escape_str(caption)
    );
    let layout = diagram::Options {
        wire: true,
        messages: true,
        fates: true,
        bytes_per_line,
        window,
        ..diagram::Options::default()
    };
    out.push_str(&grid(&Source::of_trace(trace), &layout));
    out.push_str("<ul class=\"sockstep-outcomes\">\n");
    for side in Side::BOTH {
        let outcome = &trace.side(side).outcome;
        let (class, mark) = if outcome.is_delivered() {
            ("ok", '✓')
        } else {
            ("fail", '✗')
        };
        let _ = writeln!(
            out,
            "<li class=\"{class}\"><span class=\"mark\">{mark}</span> <strong>{}</strong>: {}</li>",
            side.name(),
            escape_str(&outcome.describe())
        );
    }
    out.push_str("</ul>\n<p class=\"sockstep-legend\">");
    for diagram::LegendEntry {
        mark,
        glyph,
        meaning,
        ..
    } in diagram::legend()
    {
        match mark {
            Some(mark) => {
                let _ = write!(
                    out,
                    "<span class=\"{}\">{glyph}</span>",
                    class(Cell::Boundary(mark))
                );
            }
            None => out.push_str(&glyph),
        }
        let _ = write!(out, " {} · ", escape_str(meaning));
    }
    out.push_str("message row: = framing, 1–9 message number · ");
    let fates: Vec<String> = Fate::LEGEND
        .iter()
        .map(|(symbol, meaning)| format!("{} {}", escape_str(symbol), escape_str(meaning)))
        .collect();
    let _ = write!(out, "fate row: {}</p>\n</div>\n", fates.join(" · "));
    out
}

/// The grid's blocks, one `<pre>` each, one span per run of cells of one class.
pub fn grid(source: &Source, layout: &diagram::Options) -> String {
    let mut out = String::new();
    for rows in diagram::build(source, layout) {
        out.push_str("<pre class=\"sockstep-diagram\">");
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let label_class = match row.kind {
                RowKind::Reads(Side::Naive) | RowKind::Brackets(Side::Naive) => "label naive",
                RowKind::Reads(Side::Correct) | RowKind::Brackets(Side::Correct) => "label correct",
                _ => "label",
            };
            let _ = write!(out, "<span class=\"{label_class}\">{:<9}</span>", row.label);
            // One span per run of cells of the same class.
            let mut current: Option<String> = None;
            for cell in &row.cells {
                let next = class(*cell);
                if current.as_deref() != Some(next.as_str()) {
                    if current.is_some() {
                        out.push_str("</span>");
                    }
                    let _ = write!(out, "<span class=\"{next}\">");
                    current = Some(next);
                }
                cell.text().chars().for_each(|c| escape(c, &mut out));
            }
            if current.is_some() {
                out.push_str("</span>");
            }
        }
        out.push_str("</pre>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape_str("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
