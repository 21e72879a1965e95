//! The diagram of a run as a grid of cells: one column per stream byte plus one per
//! boundary, rows for the wire, the messages and each side's reads. The text view
//! and the book's HTML view both draw this same grid, so they cannot disagree.

use std::collections::BTreeSet;

use crate::engine::{Side, SideTrace, Span, Trace};

/// Marks the wire's cuts.
pub const CUT: char = '┊';
/// Marks where one `recv()` ended and the next began.
pub const RECV: char = '│';

/// What a stream position is part of.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ByteRole {
    /// Prefix, type byte, delimiter or padding of message `n`.
    Framing(usize),
    /// Body of message `n`.
    Body(usize),
    /// Not part of any expected message.
    Extra,
}

/// The role of stream position `at` given the message layout.
pub fn byte_role(spans: &[Span], at: usize) -> ByteRole {
    match spans.iter().position(|s| s.start <= at && at < s.end) {
        Some(n) if (spans[n].body..spans[n].body_end).contains(&at) => ByteRole::Body(n),
        Some(n) => ByteRole::Framing(n),
        None => ByteRole::Extra,
    }
}

/// One glyph a byte, so columns line up: spaces and control bytes get visible stand-ins.
pub fn glyph(byte: u8) -> char {
    match byte {
        b' ' => '␣',
        b'\n' => '↵',
        b'\r' => '←',
        b'\t' => '→',
        0x21..=0x7e => byte as char,
        _ => '·',
    }
}

/// One cell of the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// A byte at this stream offset.
    Byte { glyph: char, role: ByteRole },
    /// The message-number row: `=` under framing, the message number under a body.
    Message { glyph: char, role: ByteRole },
    /// A boundary column: `Some(mark)` where this row has one.
    Boundary(Option<char>),
    /// Under a side's bytes: part of the bracket of one `recv()`.
    Bracket(char),
}

/// What a row shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    Wire,
    Messages,
    Reads(Side),
    Brackets(Side),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub kind: RowKind,
    pub label: &'static str,
    pub cells: Vec<Cell>,
}

/// The grid, cut into blocks of at most `bytes_per_line` stream bytes.
pub type Blocks = Vec<Vec<Row>>;

/// Where the `recv()` calls of a side's receiver ended, and the bytes they returned.
pub fn recv_boundaries(side: &SideTrace) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    for event in side.receiver_reads() {
        if event.moved > 0 {
            bytes.extend_from_slice(&event.bytes);
            ends.push(bytes.len());
        }
    }
    (bytes, ends)
}

/// The bracket glyph under byte `at` of a read spanning `start..end`, with the read's
/// byte count written into the middle when it fits.
fn bracket(at: usize, start: usize, end: usize) -> char {
    let len = end - start;
    if len == 1 {
        return '^';
    }
    if at == start {
        return '╰';
    }
    if at + 1 == end {
        return '╯';
    }
    let count = len.to_string();
    let inner = len - 2;
    if count.len() <= inner {
        let first = start + 1 + (inner - count.len()) / 2;
        if (first..first + count.len()).contains(&at) {
            return count.as_bytes()[at - first] as char;
        }
    }
    '─'
}

/// Builds the grid: wire, messages (when `message_row`), and per side its reads and
/// their brackets, for the stream offsets in `window` (all of them: `0..usize::MAX`).
pub fn build(
    trace: &Trace,
    bytes_per_line: usize,
    message_row: bool,
    window: std::ops::Range<usize>,
) -> Blocks {
    let cuts: BTreeSet<usize> = trace.cuts.iter().copied().collect();
    let sides: Vec<(Side, Vec<u8>, Vec<usize>)> = Side::BOTH
        .iter()
        .map(|&side| {
            let (bytes, ends) = recv_boundaries(trace.side(side));
            (side, bytes, ends)
        })
        .collect();
    let boundaries: BTreeSet<usize> = cuts
        .iter()
        .copied()
        .chain(sides.iter().flat_map(|(_, _, ends)| ends.iter().copied()))
        .collect();
    let longest = sides
        .iter()
        .map(|(_, bytes, _)| bytes.len())
        .chain([trace.stream.len()])
        .max()
        .unwrap_or(0);
    let width = bytes_per_line.max(8);
    let longest = longest.min(window.end);

    let mut blocks = Vec::new();
    let mut start = window.start;
    while start < longest {
        let end = (start + width).min(longest);
        let separator = |at: usize, mark: bool, glyph: char| {
            (at > 0 && at != start && boundaries.contains(&at))
                .then_some(Cell::Boundary(mark.then_some(glyph)))
        };
        let mut rows = Vec::new();
        let mut wire = Vec::new();
        let mut messages = Vec::new();
        for at in start..end.min(trace.stream.len()) {
            wire.extend(separator(at, cuts.contains(&at), CUT));
            messages.extend(separator(at, false, ' '));
            let role = byte_role(&trace.spans, at);
            wire.push(Cell::Byte {
                glyph: glyph(trace.stream[at]),
                role,
            });
            let mark = match role {
                ByteRole::Body(n) => char::from_digit(((n + 1) % 10) as u32, 10).unwrap_or('?'),
                ByteRole::Framing(_) => '=',
                ByteRole::Extra => ' ',
            };
            messages.push(Cell::Message { glyph: mark, role });
        }
        rows.push(Row {
            kind: RowKind::Wire,
            label: "wire",
            cells: wire,
        });
        if message_row {
            rows.push(Row {
                kind: RowKind::Messages,
                label: "message",
                cells: messages,
            });
        }
        for (side, bytes, ends) in &sides {
            let mut reads = Vec::new();
            let mut brackets = Vec::new();
            let mut read_start = 0;
            let mut read_end = ends.first().copied().unwrap_or(0);
            let mut next = 0;
            let shown = start.min(bytes.len())..end.min(bytes.len());
            for (at, &byte) in shown.clone().zip(&bytes[shown]) {
                while at >= read_end && next + 1 < ends.len() {
                    next += 1;
                    read_start = read_end;
                    read_end = ends[next];
                }
                let is_end = ends.binary_search(&at).is_ok();
                reads.extend(separator(at, is_end, RECV));
                // Inside one read, its bracket runs on through other rows' boundaries.
                brackets.extend(separator(at, false, ' ').map(|cell| {
                    if is_end || at == read_start {
                        cell
                    } else {
                        Cell::Bracket('─')
                    }
                }));
                reads.push(Cell::Byte {
                    glyph: glyph(byte),
                    role: byte_role(&trace.spans, at),
                });
                brackets.push(Cell::Bracket(bracket(at, read_start, read_end)));
            }
            rows.push(Row {
                kind: RowKind::Reads(*side),
                label: side.name(),
                cells: reads,
            });
            rows.push(Row {
                kind: RowKind::Brackets(*side),
                label: "",
                cells: brackets,
            });
        }
        blocks.push(rows);
        start = end;
    }
    blocks
}

impl Cell {
    /// The character the cell shows.
    pub fn glyph(self) -> char {
        match self {
            Cell::Byte { glyph, .. } | Cell::Message { glyph, .. } | Cell::Bracket(glyph) => glyph,
            Cell::Boundary(mark) => mark.unwrap_or(' '),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_one_visible_glyph() {
        for byte in 0..=255u8 {
            assert!(
                !glyph(byte).is_whitespace(),
                "byte {byte} shows as whitespace"
            );
        }
        assert_eq!(glyph(b'a'), 'a');
        assert_eq!(glyph(b' '), '␣');
    }

    #[test]
    fn byte_roles_follow_the_spans() {
        let spans = [Span {
            start: 0,
            body: 5,
            body_end: 10,
            end: 10,
        }];
        assert_eq!(byte_role(&spans, 4), ByteRole::Framing(0));
        assert_eq!(byte_role(&spans, 5), ByteRole::Body(0));
        assert_eq!(byte_role(&spans, 10), ByteRole::Extra);
    }

    #[test]
    fn brackets_carry_the_byte_count_when_it_fits() {
        let row: String = (0..5).map(|at| bracket(at, 0, 5)).collect();
        assert_eq!(row, "╰─5─╯");
        let row: String = (10..22).map(|at| bracket(at, 10, 22)).collect();
        assert_eq!(row, "╰────12────╯");
        assert_eq!(bracket(3, 3, 4), '^');
        let row: String = (0..2).map(|at| bracket(at, 0, 2)).collect();
        assert_eq!(row, "╰╯");
    }
}
