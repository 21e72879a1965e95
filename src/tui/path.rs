//! The path pane: where one side's bytes are at the step shown, box by box from the
//! sender's own buffer to the receiver's (`render::path`), each with its byte count,
//! its limit where there is one, and its bytes in the byte view's message colours.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::bytes::{byte_style, fate_style};
use super::theme::Theme;
use crate::engine::Span as FrameSpan;
use crate::lesson::Limit;
use crate::render::diagram::{self, CUT, byte_role};
use crate::render::path::{Fate, Path, Queue};

/// Rows the pane draws, borders not counted.
pub const ROWS: u16 = 6;

/// Columns of the box names.
const LABEL: usize = 13;

/// One line per box of `path`, at most `width` columns each; `receiver_limit`: the
/// most the side's receiver keeps, where its code sets one.
pub fn lines(
    path: &Path,
    spans: &[FrameSpan],
    receiver_limit: Option<Limit>,
    theme: &Theme,
    width: usize,
) -> Vec<Line<'static>> {
    let color = theme.color;
    let label = |label: &str| Span::styled(format!("{label:<LABEL$}"), theme.bold);
    let queue_line =
        |name: &str, queue: Option<&Queue>, missing: &str, cut: Option<usize>| match queue {
            None => Line::from(vec![
                label(name),
                Span::styled(missing.to_string(), theme.muted),
            ]),
            Some(queue) => box_line(
                vec![label(name), Span::raw(count(queue.len, queue.limit))],
                &queue.bytes,
                cut,
                width,
                |index| byte_style(byte_role(spans, queue.at + index), color),
            ),
        };
    let mut held = vec![
        label("▶ own buffer"),
        Span::raw(count(path.held.len(), receiver_limit.map(|l| l.bytes))),
    ];
    if let Some(limit) = receiver_limit {
        held.push(Span::styled(format!(" ({})", limit.name), theme.muted));
    }
    vec![
        queue_line(
            "▷ own buffer",
            path.sender_buffer.as_ref(),
            "none: each write goes to the socket",
            None,
        ),
        queue_line(
            "▷ send queue",
            path.send_queue.as_ref(),
            "not measured on this system (no SIOCOUTQ)",
            None,
        ),
        queue_line(
            "  wire",
            path.wire.as_ref(),
            "none: the sockets are connected directly",
            path.next_cut,
        ),
        queue_line(
            "▶ recv queue",
            path.recv_queue.as_ref(),
            "not measured on this system (no FIONREAD)",
            None,
        ),
        box_line(held, &path.held, None, width, |_| {
            fate_style(Fate::Held, color)
        }),
        // What the receiver read and let go: struck out, as in the byte view.
        box_line(
            vec![label("✗ dropped"), Span::raw(count(path.dropped, None))],
            &path.dropped_bytes,
            None,
            width,
            |_| fate_style(Fate::Dropped, color),
        ),
    ]
}

/// A box's line: its name and count (`head`), then its bytes in the room left of
/// `width`.
fn box_line(
    mut head: Vec<Span<'static>>,
    contents: &[u8],
    cut: Option<usize>,
    width: usize,
    style: impl Fn(usize) -> Style,
) -> Line<'static> {
    let room = width.saturating_sub(line_width(&head) + 1);
    head.push(Span::raw(" "));
    head.extend(bytes(contents, cut, room, style));
    Line::from(head)
}

/// `  24 B` or `3072 B of 4608`.
fn count(len: usize, limit: Option<usize>) -> String {
    match limit {
        Some(limit) => format!("{len:>5} B of {limit}"),
        None => format!("{len:>5} B"),
    }
}

fn line_width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

/// The bytes as glyphs in at most `room` columns, each styled by its index, with
/// the next cut marked and "…" where they do not fit.
fn bytes(
    bytes: &[u8],
    cut: Option<usize>,
    room: usize,
    style: impl Fn(usize) -> Style,
) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut used = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let mark = cut == Some(index);
        let needed = 1 + usize::from(mark);
        // Room for this byte, and for "…" if more follow.
        let more = index + 1 < bytes.len();
        if used + needed + usize::from(more) > room {
            out.push(Span::raw("…"));
            break;
        }
        if mark {
            out.push(Span::raw(CUT.to_string()));
        }
        out.push(Span::styled(diagram::glyph(byte).to_string(), style(index)));
        used += needed;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes_in: &[u8], cut: Option<usize>, room: usize) -> String {
        bytes(bytes_in, cut, room, |_| Style::new())
            .iter()
            .map(|span| span.content.to_string())
            .collect()
    }

    #[test]
    fn bytes_fit_their_room_and_mark_the_next_cut() {
        assert_eq!(text(b"hello world", None, 20), "hello␣world");
        assert_eq!(text(b"hello world", None, 6), "hello…");
        assert_eq!(text(b"hello", Some(2), 20), "he┊llo");
        assert_eq!(text(b"", None, 0), "");
    }

    #[test]
    fn counts_name_the_limit_where_there_is_one() {
        assert_eq!(count(3072, Some(4608)), " 3072 B of 4608");
        assert_eq!(count(0, None), "    0 B");
    }
}
