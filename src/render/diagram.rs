//! The byte view of a run as a grid of cells, the one model behind every view a
//! student sees: the TUI's byte panes, the text diagram and the book's HTML. It
//! builds the rows (the wire, the message numbers, and per side what its `recv()`
//! calls returned with a bracket under each call and its byte count), the marks at
//! cuts and `recv()` boundaries, text or hex bytes, and where lines wrap. The views
//! only map cells to styles or markup, so they cannot disagree.

use std::collections::BTreeSet;
use std::ops::Range;

use super::path::{self, Fate};
use crate::engine::{Call, Event, Role, Side, Span, Trace};

/// Marks the wire's cuts.
pub const CUT: char = '┊';
/// Marks where one `recv()` ended and the next began.
pub const RECV: char = '│';
/// Both a cut and the end of a `recv()`.
pub const CUT_AND_RECV: char = '┃';

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

/// What a boundary column shows in one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Nothing here in this row: the column lines the row up with the others, or
    /// spaces hex bytes apart.
    None,
    /// The wire cut the stream here.
    Cut,
    /// One `recv()` ended here and the next began.
    Recv,
    /// Both.
    CutAndRecv,
}

impl Mark {
    fn new(cut: bool, recv: bool) -> Mark {
        match (cut, recv) {
            (true, true) => Mark::CutAndRecv,
            (true, false) => Mark::Cut,
            (false, true) => Mark::Recv,
            (false, false) => Mark::None,
        }
    }

    pub fn glyph(self) -> char {
        match self {
            Mark::None => ' ',
            Mark::Cut => CUT,
            Mark::Recv => RECV,
            Mark::CutAndRecv => CUT_AND_RECV,
        }
    }
}

/// What one symbol of the grid means.
pub struct LegendEntry {
    /// The mark, or `None` for the bracket under one `recv()`.
    pub mark: Option<Mark>,
    pub glyph: String,
    pub meaning: &'static str,
    /// The meaning in a word or two, for a border.
    pub brief: &'static str,
}

/// What the symbols of the grid mean, for every view's legend.
pub fn legend() -> [LegendEntry; 4] {
    let mark = |mark: Mark, meaning, brief| LegendEntry {
        mark: Some(mark),
        glyph: mark.glyph().to_string(),
        meaning,
        brief,
    };
    [
        mark(Mark::Cut, "the wire cut the stream", "cut"),
        mark(Mark::Recv, "a recv() ended", "recv()"),
        mark(Mark::CutAndRecv, "both", "both"),
        LegendEntry {
            mark: None,
            glyph: "╰─n─╯".into(),
            meaning: "the n bytes one recv() returned",
            brief: "one recv()",
        },
    ]
}

/// One cell of the grid: one column, or two for a byte in hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// The byte at a stream offset, as a glyph or as two hex digits; in a side's
    /// row, what became of it once read, where known.
    Byte {
        byte: u8,
        role: ByteRole,
        fate: Option<Fate>,
        hex: bool,
    },
    /// Under a side's byte: the symbol of its fate, as wide as the byte.
    Fate { fate: Fate, hex: bool },
    /// The message-number row: `=` under framing, the message number under a body,
    /// as wide as the byte above it.
    Message {
        mark: char,
        role: ByteRole,
        hex: bool,
    },
    /// A boundary column.
    Boundary(Mark),
    /// Under a side's bytes: part of the bracket of one `recv()`, or blank.
    Bracket(char),
}

impl Cell {
    /// Columns the cell takes.
    pub fn width(self) -> usize {
        match self {
            Cell::Byte { hex: true, .. }
            | Cell::Message { hex: true, .. }
            | Cell::Fate { hex: true, .. } => 2,
            _ => 1,
        }
    }

    /// Appends what the cell shows.
    pub fn push_to(self, out: &mut String) {
        match self {
            Cell::Byte {
                byte, hex: true, ..
            } => {
                const DIGITS: &[u8; 16] = b"0123456789abcdef";
                out.push(DIGITS[usize::from(byte >> 4)] as char);
                out.push(DIGITS[usize::from(byte & 0xf)] as char);
            }
            Cell::Byte { byte, .. } => out.push(glyph(byte)),
            Cell::Message { mark, hex, .. } => {
                out.push(mark);
                if hex {
                    out.push(mark);
                }
            }
            Cell::Fate { fate, hex } => {
                out.push(fate.symbol());
                if hex {
                    out.push(fate.symbol());
                }
            }
            Cell::Boundary(mark) => out.push(mark.glyph()),
            Cell::Bracket(glyph) => out.push(glyph),
        }
    }

    /// What the cell shows.
    pub fn text(self) -> String {
        let mut out = String::new();
        self.push_to(&mut out);
        out
    }
}

/// What a row shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    Wire,
    Messages,
    Reads(Side),
    /// What became of each byte the side read (see `path::Fate`).
    Fates(Side),
    Brackets(Side),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub kind: RowKind,
    pub label: &'static str,
    pub cells: Vec<Cell>,
}

/// The grid, cut into blocks (lines) whose rows line up column for column.
pub type Blocks = Vec<Vec<Row>>;

/// What the diagram is made of: the stream, how it was cut, and what each side's
/// `recv()` calls returned.
#[derive(Default)]
pub struct Source<'a> {
    /// The framed stream a correct sender writes.
    pub stream: &'a [u8],
    /// Where each message sits in the stream.
    pub spans: &'a [Span],
    /// Where the wire cut the stream.
    pub cuts: &'a [usize],
    /// Per side, the bytes of each `recv()` that returned data, in order.
    pub sides: Vec<(Side, Vec<&'a [u8]>)>,
    /// Per side, in the order of `sides`, the fate of each byte it read; empty
    /// where not known.
    pub fates: Vec<Vec<Fate>>,
}

impl<'a> Source<'a> {
    /// A finished run, both sides.
    pub fn of_trace(trace: &'a Trace) -> Source<'a> {
        Source {
            stream: &trace.stream,
            spans: &trace.spans,
            cuts: &trace.cuts,
            sides: Side::BOTH
                .iter()
                .map(|&side| (side, reads(&trace.side(side).events)))
                .collect(),
            fates: Side::BOTH
                .iter()
                .map(|&side| {
                    let events = &trace.side(side).events;
                    path::fates(events, &trace.stream, &trace.spans, events.len(), true)
                })
                .collect(),
        }
    }
}

/// The bytes of each `recv()` of a side's receiver that returned data, from a finished
/// run's events or a live run's.
pub fn reads<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<&'a [u8]> {
    events
        .into_iter()
        .filter(|e| e.role == Role::Receiver && e.call == Call::Recv && e.moved > 0)
        .map(|e| e.bytes.as_slice())
        .collect()
}

/// Which rows, and how to lay them out.
#[derive(Clone, Debug)]
pub struct Options {
    /// A row of the whole stream, marking the cuts.
    pub wire: bool,
    /// A row numbering the messages, for views without colour.
    pub messages: bool,
    /// Under each side's bytes, a row of their fates (where `Source::fates` knows).
    pub fates: bool,
    /// Bytes as two hex digits each, spaced apart, instead of one glyph each.
    pub hex: bool,
    /// Bytes spaced apart as in hex, glyphs too: wider cells, for a room.
    pub spaced: bool,
    /// At most this many stream bytes per line (at least 8).
    pub bytes_per_line: usize,
    /// At most this many columns per line (at least 4), labels not counted.
    pub columns: usize,
    /// The stream offsets to show (all of them: `0..usize::MAX`).
    pub window: Range<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            wire: false,
            messages: false,
            fates: false,
            hex: false,
            spaced: false,
            bytes_per_line: usize::MAX,
            columns: usize::MAX,
            window: 0..usize::MAX,
        }
    }
}

/// One side's received bytes and where its `recv()` calls ended.
struct Received {
    side: Side,
    bytes: Vec<u8>,
    /// Offset where each read ends, ascending.
    ends: Vec<usize>,
}

impl Received {
    fn new(side: Side, reads: &[&[u8]]) -> Received {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for read in reads.iter().filter(|read| !read.is_empty()) {
            bytes.extend_from_slice(read);
            ends.push(bytes.len());
        }
        Received { side, bytes, ends }
    }

    /// The read that returned the byte at `at`.
    fn read_of(&self, at: usize) -> usize {
        self.ends.partition_point(|&end| end <= at)
    }

    fn is_end(&self, at: usize) -> bool {
        self.ends.binary_search(&at).is_ok()
    }
}

/// One line of the grid: the stream offsets it shows, and whether a boundary column
/// stands before each.
struct Line {
    start: usize,
    gaps: Vec<bool>,
}

impl Line {
    fn offsets(&self) -> Range<usize> {
        self.start..self.start + self.gaps.len()
    }

    /// The cells of a row `row_len` bytes long on this line: a boundary column
    /// where the line has one, then the byte.
    fn cells(
        &self,
        row_len: usize,
        mark: impl Fn(usize) -> Mark,
        cell: impl Fn(usize) -> Cell,
    ) -> Vec<Cell> {
        let mut cells = Vec::new();
        for (at, &gap) in self.offsets().zip(&self.gaps) {
            if at >= row_len {
                break;
            }
            if gap {
                cells.push(Cell::Boundary(mark(at)));
            }
            cells.push(cell(at));
        }
        cells
    }
}

/// The grid for `source`: every row `options` asks for, cut into lines.
pub fn build(source: &Source, options: &Options) -> Blocks {
    let cuts: BTreeSet<usize> = source.cuts.iter().copied().collect();
    let sides: Vec<Received> = source
        .sides
        .iter()
        .map(|(side, reads)| Received::new(*side, reads))
        .collect();
    let wire_len = if options.wire || options.messages {
        source.stream.len()
    } else {
        0
    };
    let len = sides
        .iter()
        .map(|side| side.bytes.len())
        .chain([wire_len])
        .max()
        .unwrap_or(0)
        .min(options.window.end);

    let wire_mark = |at: usize| Mark::new(cuts.contains(&at), false);
    let side_mark = |side: &Received, at: usize| Mark::new(cuts.contains(&at), side.is_end(at));
    // A mark in some row at `at`, where a byte follows it in that row.
    let marked = |at: usize| {
        (options.wire && at < wire_len && wire_mark(at) != Mark::None)
            || sides
                .iter()
                .any(|side| at < side.bytes.len() && side_mark(side, at) != Mark::None)
    };

    let lines = wrap(options, options.window.start..len, &marked);
    let mut brackets: Vec<_> = sides
        .iter()
        .map(|side| bracket_rows(side, &lines, options.hex).into_iter())
        .collect();

    let byte_cell = |byte: u8, at: usize, fate: Option<Fate>| Cell::Byte {
        byte,
        role: byte_role(source.spans, at),
        fate,
        hex: options.hex,
    };
    let no_fates = Vec::new();
    let fates: Vec<&Vec<Fate>> = (0..sides.len())
        .map(|index| source.fates.get(index).unwrap_or(&no_fates))
        .collect();
    let mut blocks = Vec::new();
    for line in &lines {
        let mut rows = Vec::new();
        if options.wire {
            rows.push(Row {
                kind: RowKind::Wire,
                label: "wire",
                cells: line.cells(wire_len, wire_mark, |at| {
                    byte_cell(source.stream[at], at, None)
                }),
            });
        }
        if options.messages {
            rows.push(Row {
                kind: RowKind::Messages,
                label: "message",
                cells: line.cells(
                    wire_len,
                    |_| Mark::None,
                    |at| {
                        let role = byte_role(source.spans, at);
                        let mark = match role {
                            ByteRole::Body(n) => {
                                char::from_digit(((n + 1) % 10) as u32, 10).unwrap_or('?')
                            }
                            ByteRole::Framing(_) => '=',
                            ByteRole::Extra => ' ',
                        };
                        Cell::Message {
                            mark,
                            role,
                            hex: options.hex,
                        }
                    },
                ),
            });
        }
        for ((side, brackets), fates) in sides.iter().zip(&mut brackets).zip(&fates) {
            rows.push(Row {
                kind: RowKind::Reads(side.side),
                label: side.side.name(),
                cells: line.cells(
                    side.bytes.len(),
                    |at| side_mark(side, at),
                    |at| byte_cell(side.bytes[at], at, fates.get(at).copied()),
                ),
            });
            if options.fates && !fates.is_empty() {
                rows.push(Row {
                    kind: RowKind::Fates(side.side),
                    label: "fate",
                    cells: line.cells(
                        fates.len().min(side.bytes.len()),
                        |_| Mark::None,
                        |at| Cell::Fate {
                            fate: fates[at],
                            hex: options.hex,
                        },
                    ),
                });
            }
            rows.push(Row {
                kind: RowKind::Brackets(side.side),
                label: "",
                cells: brackets.next().unwrap_or_default(),
            });
        }
        blocks.push(rows);
    }
    blocks
}

/// Cuts `offsets` into lines within the limits of `options`. A boundary column
/// stands before a byte where some row marks one (also at the start of a line, so
/// no mark is lost to wrapping) and, in hex, between any two bytes of a line.
fn wrap(options: &Options, offsets: Range<usize>, marked: &dyn Fn(usize) -> bool) -> Vec<Line> {
    let byte_width = if options.hex { 2 } else { 1 };
    let most_bytes = options.bytes_per_line.max(8);
    let most_columns = options.columns.max(4);
    let first = offsets.start;
    let mut lines: Vec<Line> = Vec::new();
    let mut used = 0;
    for at in offsets {
        let is_marked = at > first && marked(at);
        // In hex (or spaced), a byte is spaced from the one before it on its line.
        let gap = is_marked || options.hex || options.spaced;
        let width = usize::from(gap) + byte_width;
        match lines.last_mut() {
            Some(line) if line.gaps.len() < most_bytes && used + width <= most_columns => {
                line.gaps.push(gap);
                used += width;
            }
            _ => {
                lines.push(Line {
                    start: at,
                    gaps: vec![is_marked],
                });
                used = usize::from(is_marked) + byte_width;
            }
        }
    }
    lines
}

/// Per line, the bracket row under a side's bytes: `╰─n─╯` under the columns of
/// each `recv()` with its byte count `n` where it fits (`^` under a one-column
/// read). A read wrapped over lines gets its count once, on the line where it has
/// the most columns.
fn bracket_rows(side: &Received, lines: &[Line], hex: bool) -> Vec<Vec<Cell>> {
    let byte_width = if hex { 2 } else { 1 };
    // Per line, the read under each column (None between two reads).
    let columns: Vec<Vec<Option<usize>>> = lines
        .iter()
        .map(|line| {
            let mut columns = Vec::new();
            for (at, &gap) in line.offsets().zip(&line.gaps) {
                if at >= side.bytes.len() {
                    break;
                }
                let read = side.read_of(at);
                if gap {
                    let inside = at > 0 && !side.is_end(at);
                    columns.push(inside.then_some(read));
                }
                columns.extend(std::iter::repeat_n(Some(read), byte_width));
            }
            columns
        })
        .collect();
    // Per read, the line where it has the most columns.
    let mut widest: Vec<(usize, usize)> = vec![(0, 0); side.ends.len()];
    for (index, line) in columns.iter().enumerate() {
        for (read, width) in runs(line) {
            if width > widest[read].1 {
                widest[read] = (index, width);
            }
        }
    }
    columns
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let mut cells = Vec::with_capacity(line.len());
            let mut column = 0;
            for (read, width) in runs(line) {
                while line[column] != Some(read) {
                    cells.push(Cell::Bracket(' '));
                    column += 1;
                }
                let read_start = if read == 0 { 0 } else { side.ends[read - 1] };
                let read_end = side.ends[read];
                let line_start = lines[index].start;
                let line_end = lines[index].offsets().end;
                let opens = read_start >= line_start;
                let closes = read_end <= line_end;
                let count = (widest[read].0 == index).then(|| (read_end - read_start).to_string());
                cells.extend(
                    bracket(width, opens, closes, count.as_deref())
                        .into_iter()
                        .map(Cell::Bracket),
                );
                column += width;
            }
            cells
        })
        .collect()
}

/// The runs of columns under the same read: (read, columns).
fn runs(line: &[Option<usize>]) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut previous = None;
    for &column in line {
        match (column, runs.last_mut()) {
            (Some(read), Some(last)) if previous == Some(read) => last.1 += 1,
            (Some(read), _) => runs.push((read, 1)),
            (None, _) => {}
        }
        previous = column;
    }
    runs
}

/// One bracket `width` columns wide: `╰` where the read opens, `╯` where it closes,
/// and `count` in the middle when it fits.
fn bracket(width: usize, opens: bool, closes: bool, count: Option<&str>) -> Vec<char> {
    if width == 1 && opens && closes {
        return vec!['^'];
    }
    let mut glyphs = vec!['─'; width];
    if let Some(count) = count {
        let inner = width.saturating_sub(2);
        if count.len() <= inner {
            let first = 1 + (inner - count.len()) / 2;
            for (slot, digit) in glyphs[first..].iter_mut().zip(count.chars()) {
                *slot = digit;
            }
        }
    }
    if closes {
        glyphs[width - 1] = '╯';
    }
    if opens {
        glyphs[0] = '╰';
    }
    glyphs
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

    fn text(bracket: Vec<char>) -> String {
        bracket.into_iter().collect()
    }

    #[test]
    fn brackets_carry_the_byte_count_when_it_fits() {
        assert_eq!(text(bracket(5, true, true, Some("5"))), "╰─5─╯");
        assert_eq!(text(bracket(12, true, true, Some("12"))), "╰────12────╯");
        assert_eq!(text(bracket(1, true, true, Some("1"))), "^");
        assert_eq!(text(bracket(2, true, true, Some("2"))), "╰╯");
        assert_eq!(text(bracket(3, true, true, Some("10"))), "╰─╯");
        // The part of a read wrapped over lines.
        assert_eq!(text(bracket(3, true, false, None)), "╰──");
        assert_eq!(text(bracket(3, false, true, Some("7"))), "─7╯");
    }

    /// The rows as text, without labels.
    fn rows(source: &Source, options: &Options) -> Vec<String> {
        build(source, options)
            .into_iter()
            .flatten()
            .map(|row| row.cells.iter().map(|cell| cell.text()).collect())
            .collect()
    }

    #[test]
    fn side_rows_line_up_and_mark_what_each_side_received() {
        let stream = b"00005hello";
        let source = Source {
            stream,
            spans: &[],
            cuts: &[2, 5],
            sides: vec![
                (Side::Naive, vec![b"00", b"005he"]),
                (Side::Correct, vec![b"00", b"005", b"hello"]),
            ],
            fates: Vec::new(),
        };
        let options = Options {
            wire: true,
            ..Options::default()
        };
        assert_eq!(
            rows(&source, &options),
            [
                "00┊005┊hello",
                "00┃005┊he",
                "╰╯ ╰─5──╯",
                "00┃005┃hello",
                "╰╯ ╰3╯ ╰─5─╯",
            ]
        );
    }

    #[test]
    fn a_read_wrapped_over_lines_shows_its_count_once() {
        let source = Source {
            stream: b"",
            spans: &[],
            cuts: &[],
            sides: vec![(Side::Correct, vec![b"abcdefghijkl", b"mn"])],
            fates: Vec::new(),
        };
        let options = Options {
            bytes_per_line: 8,
            ..Options::default()
        };
        assert_eq!(
            rows(&source, &options),
            ["abcdefgh", "╰──12───", "ijkl│mn", "───╯ ╰╯"]
        );
    }

    #[test]
    fn a_window_shows_its_bytes_only_and_reads_running_past_its_edges_stay_open() {
        let source = Source {
            stream: b"",
            spans: &[],
            cuts: &[3],
            sides: vec![(Side::Correct, vec![b"abc", b"defgh", b"ijk"])],
            fates: Vec::new(),
        };
        let options = Options {
            window: 3..9,
            ..Options::default()
        };
        // No mark before the window's first byte; the last read opens but does not
        // close inside the window.
        assert_eq!(rows(&source, &options), ["defgh│i", "╰─5─╯ ╰"]);
        // A read that began before the window does not open in it, and still
        // counts every byte it returned.
        let options = Options {
            window: 4..9,
            ..Options::default()
        };
        assert_eq!(rows(&source, &options), ["efgh│i", "─5─╯ ╰"]);
    }

    #[test]
    fn spaced_bytes_get_a_column_between_them_and_keep_their_marks() {
        let source = Source {
            stream: b"",
            spans: &[],
            cuts: &[2],
            sides: vec![(Side::Correct, vec![b"00", b"005", b"he"])],
            fates: Vec::new(),
        };
        let options = Options {
            spaced: true,
            ..Options::default()
        };
        assert_eq!(rows(&source, &options), ["0 0┃0 0 5│h e", "╰2╯ ╰─3─╯ ╰2╯"]);
        // Wrapping counts the spaces: 8 columns hold 4 bytes.
        let options = Options {
            spaced: true,
            columns: 8,
            ..Options::default()
        };
        assert_eq!(rows(&source, &options)[0], "0 0┃0 0");
    }
}
