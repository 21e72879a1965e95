//! How messages become a byte stream (framing), and where the wire cuts it (cut plans).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::trace::Span;

/// How a lesson's protocol lays messages out on the stream. The teaching code does
/// the framing itself; this is the engine's description of the same layout, used to
/// colour the bytes and to place cuts relative to messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Framing {
    /// Bodies back to back, nothing in between (one message, or read until close).
    Raw,
    /// Each body preceded by its length as `digits` ASCII decimal digits.
    AsciiLength { digits: usize },
    /// Each body followed by the `delimiter` byte, which no body contains.
    Delimiter { delimiter: u8 },
    /// Each body followed by `pad` bytes up to exactly `size` bytes. No body ends in
    /// `pad`, so the receiver can strip the padding; a body longer than `size` (which
    /// a sender refuses) is written whole.
    FixedLength { size: usize, pad: u8 },
    /// The first byte of each message names its type, and the type fixes the length
    /// of the rest. The type byte is framing, but it is part of the message delivered.
    TypeByte,
    /// Each body preceded by its length as a `width`-byte big-endian binary number.
    BinaryLength { width: usize },
    /// Each body preceded by a JSON header `{"content-length":N,"content-type":T}`,
    /// and the header by its own length as a `width`-byte big-endian number.
    JsonHeader { width: usize, content_type: String },
    /// The messages laid out by `framing`, then `tail`: bytes the sender writes after
    /// its last message that belong to no message (a prefix that lies, say).
    Tailed {
        framing: Box<Framing>,
        tail: Vec<u8>,
    },
}

/// The JSON header of `Framing::JsonHeader`, in the order its fields are written.
#[derive(Serialize)]
struct JsonFrameHeader<'a> {
    #[serde(rename = "content-length")]
    content_length: usize,
    #[serde(rename = "content-type")]
    content_type: &'a str,
}

/// `value` as a `width`-byte big-endian number (high bytes beyond 64 bits are 0).
fn big_endian(value: u64, width: usize) -> impl Iterator<Item = u8> {
    (0..width)
        .rev()
        .map(move |i| (value.checked_shr(8 * i as u32).unwrap_or(0) & 0xff) as u8)
}

impl Framing {
    /// The stream a correct sender writes for `messages`, and where each one sits.
    pub fn encode(&self, messages: &[Vec<u8>]) -> (Vec<u8>, Vec<Span>) {
        if let Framing::Tailed { framing, tail } = self {
            let (mut stream, spans) = framing.encode(messages);
            stream.extend_from_slice(tail);
            return (stream, spans);
        }
        let mut stream = Vec::new();
        let mut spans = Vec::with_capacity(messages.len());
        for body in messages {
            let start = stream.len();
            match self {
                Framing::Raw => {}
                Framing::AsciiLength { digits } => {
                    stream.extend(format!("{:0width$}", body.len(), width = digits).bytes())
                }
                Framing::BinaryLength { width } => {
                    stream.extend(big_endian(body.len() as u64, *width));
                }
                Framing::JsonHeader {
                    width,
                    content_type,
                } => {
                    let header = serde_json::to_vec(&JsonFrameHeader {
                        content_length: body.len(),
                        content_type,
                    })
                    .expect("a struct of a number and a string always serialises");
                    stream.extend(big_endian(header.len() as u64, *width));
                    stream.extend_from_slice(&header);
                }
                Framing::Delimiter { .. } | Framing::FixedLength { .. } => {}
                Framing::TypeByte => {
                    // The type byte leads the message; the body is the rest of it.
                    stream.extend(body.first());
                }
                Framing::Tailed { .. } => unreachable!("handled above"),
            }
            let body_start = stream.len();
            let body = match self {
                Framing::TypeByte => body.get(1..).unwrap_or_default(),
                _ => body.as_slice(),
            };
            stream.extend_from_slice(body);
            let body_end = stream.len();
            match self {
                Framing::Delimiter { delimiter } => stream.push(*delimiter),
                Framing::FixedLength { size, pad } => {
                    stream.resize(start + (*size).max(body_end - start), *pad)
                }
                _ => {}
            }
            spans.push(Span {
                start,
                body: body_start,
                body_end,
                end: stream.len(),
            });
        }
        (stream, spans)
    }
}

/// Where the relay cuts the stream into pieces.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutPlan {
    /// Cuts that always happen.
    #[serde(default)]
    pub at: Vec<CutAt>,
    /// How the rest of the stream is cut.
    #[serde(default)]
    pub pieces: Pieces,
}

/// One fixed cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum CutAt {
    /// At this offset of the whole stream.
    Offset { offset: usize },
    /// `at` bytes into the frame of message `message` (0-based): "split the prefix after byte 2".
    InFrame { message: usize, at: usize },
    /// Somewhere strictly inside the frame of message `message`, chosen by the seed:
    /// that message always arrives in two parts, split at a different place each seed.
    Within { message: usize },
}

/// How the stream is cut between the fixed cuts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Pieces {
    /// No further cuts.
    #[default]
    Whole,
    /// Seeded piece sizes drawn uniformly from `min..=max`.
    Uniform { min: usize, max: usize },
    /// Seeded piece sizes around `average`, varying by up to `variation` either way.
    Slicer { average: usize, variation: usize },
    /// Several whole frames per piece: back-to-back messages arrive in one read.
    Coalesce { frames: usize },
}

impl CutPlan {
    pub fn pieces(pieces: Pieces) -> Self {
        CutPlan {
            at: Vec::new(),
            pieces,
        }
    }

    pub fn with_cut(mut self, cut: CutAt) -> Self {
        self.at.push(cut);
        self
    }

    /// The concrete cut offsets for a stream of `len` bytes laid out as `spans`:
    /// sorted, unique, strictly inside the stream. The same seed gives the same cuts.
    pub fn resolve(&self, len: usize, spans: &[Span], seed: u64) -> Vec<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Plans without `Within` draw nothing here, so their pieces stay as they were.
        let mut cuts: Vec<usize> = Vec::new();
        for cut in &self.at {
            match *cut {
                CutAt::Offset { offset } => cuts.push(offset),
                CutAt::InFrame { message, at } => {
                    cuts.extend(spans.get(message).map(|s| s.start + at))
                }
                CutAt::Within { message } => {
                    if let Some(span) = spans.get(message).filter(|s| s.end - s.start >= 2) {
                        cuts.push(rng.random_range(span.start + 1..span.end));
                    }
                }
            }
        }
        match self.pieces {
            Pieces::Whole => {}
            Pieces::Uniform { min, max } => {
                let min = min.max(1);
                cut_every(&mut cuts, len, min..=max.max(min), &mut rng);
            }
            Pieces::Slicer { average, variation } => {
                let low = average.saturating_sub(variation).max(1);
                let high = (average + variation).max(low);
                cut_every(&mut cuts, len, low..=high, &mut rng);
            }
            Pieces::Coalesce { frames } => {
                let frames = frames.max(1);
                cuts.extend(
                    spans
                        .iter()
                        .skip(frames)
                        .step_by(frames)
                        .map(|span| span.start),
                );
            }
        }
        cuts.retain(|&c| c > 0 && c < len);
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }
}

/// How the wire ends a stream early, by hand: `F` and `R` in wire mode, `fin` and
/// `rst` at the end of `--cuts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WireEnd {
    /// The receiver is told the stream ended (FIN); what the sender writes after
    /// is lost on the wire.
    Close,
    /// The connection is reset (RST), for both programs.
    Reset,
}

impl WireEnd {
    /// The word `--cuts` takes for it.
    pub fn word(self) -> &'static str {
        match self {
            WireEnd::Close => "fin",
            WireEnd::Reset => "rst",
        }
    }

    fn from_word(word: &str) -> Option<WireEnd> {
        [WireEnd::Close, WireEnd::Reset]
            .into_iter()
            .find(|end| end.word().eq_ignore_ascii_case(word))
    }
}

/// Cuts given by hand (`--cuts 2,7,19`): offsets into the stream, ascending, each
/// strictly inside it; and, if the list ends in `fin` or `rst`, how the wire ends
/// the stream at the last cut (at 0 if there is none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixedCuts {
    cuts: Vec<usize>,
    end: Option<WireEnd>,
}

/// Why a list of cuts cannot cut the stream, as one sentence naming the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CutsError {
    #[error("no cuts given: list offsets into the stream, such as 2,7,19")]
    Empty,
    #[error(
        "'{0}' is not a number: a cut is an offset into the stream, such as 7 (only the last may be fin or rst)"
    )]
    NotANumber(String),
    #[error("a cut at 0 cuts nothing off: cuts are strictly inside the stream, from 1")]
    Zero,
    #[error("{after} comes after {before}: cuts go in ascending order, each once")]
    NotAscending { before: usize, after: usize },
    #[error("a cut at {cut} is past the end: the stream is {len} bytes, so cuts go from 1 to {last}", last = len.saturating_sub(1))]
    PastTheEnd { cut: usize, len: usize },
}

impl FixedCuts {
    /// Reads `2,7,19`, or `2,7,fin`; whether the cuts fit a stream is `fit`'s to say.
    pub fn parse(text: &str) -> Result<FixedCuts, CutsError> {
        if text.trim().is_empty() {
            return Err(CutsError::Empty);
        }
        let mut parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let end = parts.last().and_then(|last| WireEnd::from_word(last));
        if end.is_some() {
            parts.pop();
        }
        let mut fixed = FixedCuts {
            cuts: Vec::new(),
            end,
        };
        for part in parts {
            let cut: usize = part
                .parse()
                .map_err(|_| CutsError::NotANumber(part.to_string()))?;
            fixed.push(cut)?;
        }
        Ok(fixed)
    }

    /// Adds a cut after the others (as wire mode makes them, one by one).
    pub fn push(&mut self, cut: usize) -> Result<(), CutsError> {
        if cut == 0 {
            return Err(CutsError::Zero);
        }
        if let Some(&before) = self.cuts.last().filter(|&&before| before >= cut) {
            return Err(CutsError::NotAscending { before, after: cut });
        }
        self.cuts.push(cut);
        Ok(())
    }

    /// Ends the stream by hand at the last cut.
    pub fn end_with(&mut self, end: WireEnd) {
        self.end = Some(end);
    }

    /// Fails naming the first cut past the end of a stream of `len` bytes: strictly
    /// inside it, but for a last cut that ends the stream by hand, which may be at
    /// its very end (everything delivered, then a reset, say).
    pub fn fit(&self, len: usize) -> Result<(), CutsError> {
        let last = self.cuts.len().checked_sub(1);
        match self.cuts.iter().enumerate().find(|&(index, &cut)| {
            cut > len || (cut == len && !(self.end.is_some() && Some(index) == last))
        }) {
            Some((_, &cut)) => Err(CutsError::PastTheEnd { cut, len }),
            None => Ok(()),
        }
    }

    pub fn offsets(&self) -> &[usize] {
        &self.cuts
    }

    /// How the stream ends by hand, if it does.
    pub fn end(&self) -> Option<WireEnd> {
        self.end
    }

    /// Where the stream ends by hand: at the last cut, or at 0.
    pub fn end_offset(&self) -> usize {
        self.cuts.last().copied().unwrap_or(0)
    }

    /// The plan that cuts exactly here and nowhere else.
    pub fn plan(&self) -> CutPlan {
        CutPlan {
            at: self
                .cuts
                .iter()
                .map(|&offset| CutAt::Offset { offset })
                .collect(),
            pieces: Pieces::Whole,
        }
    }

    /// The command-line flag that replays these cuts: `--cuts 2,7,19`, and `,fin` or
    /// `,rst` when the stream ends by hand.
    pub fn flag(&self) -> String {
        let list: Vec<String> = self
            .cuts
            .iter()
            .map(usize::to_string)
            .chain(self.end.map(|end| end.word().to_string()))
            .collect();
        format!("--cuts {}", list.join(","))
    }

    /// These cuts as `--cuts` replays them on a stream of `len` bytes: a last cut
    /// at its very end cuts nothing off, and is left out unless the stream ends by
    /// hand there.
    pub fn for_stream(&self, len: usize) -> FixedCuts {
        let mut cuts = self.clone();
        if cuts.end.is_none() && cuts.cuts.last() == Some(&len) {
            cuts.cuts.pop();
        }
        cuts
    }

    /// No cuts and no end: nothing made by hand yet.
    pub fn is_empty(&self) -> bool {
        self.cuts.is_empty() && self.end.is_none()
    }
}

/// Cuts a stream of `len` bytes into pieces whose lengths are drawn from `sizes`
/// (at least 1), from the start, the last piece taking what is left.
fn cut_every(
    cuts: &mut Vec<usize>,
    len: usize,
    sizes: std::ops::RangeInclusive<usize>,
    rng: &mut ChaCha8Rng,
) {
    let mut at = 0;
    loop {
        at += rng.random_range(sizes.clone());
        if at >= len {
            break;
        }
        cuts.push(at);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn layout(messages: &[&str]) -> (Vec<u8>, Vec<Span>) {
        let messages: Vec<Vec<u8>> = messages.iter().map(|m| m.as_bytes().to_vec()).collect();
        Framing::AsciiLength { digits: 5 }.encode(&messages)
    }

    #[test]
    fn ascii_length_framing_prefixes_each_body() {
        let (stream, spans) = layout(&["hello", "", "how are you"]);
        assert_eq!(stream, b"00005hello0000000011how are you");
        assert_eq!(
            spans[2],
            Span {
                start: 15,
                body: 20,
                body_end: 31,
                end: 31
            }
        );
    }

    #[test]
    fn fixed_cut_inside_a_frame_lands_relative_to_that_frame() {
        let (stream, spans) = layout(&["hello", "world"]);
        let plan = CutPlan::default().with_cut(CutAt::InFrame { message: 1, at: 2 });
        assert_eq!(plan.resolve(stream.len(), &spans, 0), vec![12]);
    }

    #[test]
    fn same_seed_same_cuts_other_seed_other_cuts() {
        let plan = CutPlan::pieces(Pieces::Uniform { min: 1, max: 6 });
        let a = plan.resolve(200, &[], 7);
        assert_eq!(a, plan.resolve(200, &[], 7));
        assert_ne!(a, plan.resolve(200, &[], 8));
        assert!(a.windows(2).all(|w| (1..=6).contains(&(w[1] - w[0]))));
    }

    #[test]
    fn slicer_pieces_stay_within_the_variation() {
        let plan = CutPlan::pieces(Pieces::Slicer {
            average: 10,
            variation: 3,
        });
        let cuts = plan.resolve(1000, &[], 1);
        assert!(cuts.windows(2).all(|w| (7..=13).contains(&(w[1] - w[0]))));
    }

    #[test]
    fn coalesce_cuts_only_between_groups_of_frames() {
        let (stream, spans) = layout(&["a", "b", "c", "d", "e"]);
        let plan = CutPlan::pieces(Pieces::Coalesce { frames: 2 });
        assert_eq!(
            plan.resolve(stream.len(), &spans, 0),
            vec![spans[2].start, spans[4].start]
        );
    }

    fn owned(messages: &[&str]) -> Vec<Vec<u8>> {
        messages.iter().map(|m| m.as_bytes().to_vec()).collect()
    }

    fn span(start: usize, body: usize, body_end: usize, end: usize) -> Span {
        Span {
            start,
            body,
            body_end,
            end,
        }
    }

    /// Asserts that `framing` writes `messages` as `stream`, each message at the
    /// span given as (start, body, body_end, end).
    fn assert_encodes(
        framing: Framing,
        messages: &[&str],
        stream: &[u8],
        spans: &[(usize, usize, usize, usize)],
    ) {
        let spans: Vec<Span> = spans.iter().map(|&(a, b, c, d)| span(a, b, c, d)).collect();
        assert_eq!(framing.encode(&owned(messages)), (stream.to_vec(), spans));
    }

    #[test]
    fn delimiter_framing_ends_each_body_with_the_delimiter() {
        let framing = Framing::Delimiter { delimiter: b'\n' };
        let spans = [(0, 0, 2, 3), (3, 3, 3, 4), (4, 4, 7, 8)];
        assert_encodes(framing, &["ab", "", "cde"], b"ab\n\ncde\n", &spans);
    }

    #[test]
    fn fixed_length_framing_pads_each_body_to_the_size() {
        let framing = Framing::FixedLength { size: 4, pad: b'.' };
        let spans = [(0, 0, 2, 4), (4, 4, 8, 8), (8, 8, 8, 12)];
        assert_encodes(
            framing.clone(),
            &["ab", "wxyz", ""],
            b"ab..wxyz....",
            &spans,
        );
        // Too long for the size: written whole, never cut short.
        assert_encodes(framing, &["abcdef"], b"abcdef", &[(0, 0, 6, 6)]);
    }

    #[test]
    fn type_byte_framing_marks_the_first_byte_of_each_message() {
        let spans = [(0, 1, 3, 3), (3, 4, 4, 4), (4, 4, 4, 4)];
        assert_encodes(Framing::TypeByte, &["T12", "P", ""], b"T12P", &spans);
    }

    #[test]
    fn binary_length_framing_writes_the_length_big_endian() {
        let body = vec![7u8; 0x0102];
        let (stream, spans) = Framing::BinaryLength { width: 4 }.encode(&[body, vec![]]);
        assert_eq!(stream[..4], [0, 0, 1, 2]);
        assert_eq!(stream[0x106..], [0, 0, 0, 0]);
        assert_eq!(
            spans,
            [span(0, 4, 0x106, 0x106), span(0x106, 0x10a, 0x10a, 0x10a)]
        );
        // Wider than 64 bits: the high bytes are zero.
        let (stream, _) = Framing::BinaryLength { width: 9 }.encode(&owned(&["a"]));
        assert_eq!(stream, [0, 0, 0, 0, 0, 0, 0, 0, 1, b'a']);
    }

    #[test]
    fn json_header_framing_gives_the_header_length_then_the_header() {
        let framing = Framing::JsonHeader {
            width: 2,
            content_type: "text/plain".into(),
        };
        let (stream, spans) = framing.encode(&owned(&["hi"]));
        let header = br#"{"content-length":2,"content-type":"text/plain"}"#;
        assert_eq!(stream[..2], (header.len() as u16).to_be_bytes());
        assert_eq!(&stream[2..2 + header.len()], header);
        assert_eq!(&stream[2 + header.len()..], b"hi");
        assert_eq!(
            spans,
            [span(0, 2 + header.len(), stream.len(), stream.len())]
        );
    }

    #[test]
    fn a_tail_follows_the_messages_and_belongs_to_none() {
        let framing = Framing::Tailed {
            framing: Box::new(Framing::Delimiter { delimiter: b';' }),
            tail: b"xyz".to_vec(),
        };
        let (stream, spans) = framing.encode(&owned(&["a", "b"]));
        assert_eq!(stream, b"a;b;xyz");
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[1].end, 4);
    }

    #[test]
    fn within_cuts_strictly_inside_the_frame_and_moves_with_the_seed() {
        let (stream, spans) = layout(&["hello", "world"]);
        let plan = CutPlan::default().with_cut(CutAt::Within { message: 1 });
        let mut seen = BTreeSet::new();
        for seed in 0..200 {
            let cuts = plan.resolve(stream.len(), &spans, seed);
            assert_eq!(cuts.len(), 1);
            assert!(
                spans[1].start < cuts[0] && cuts[0] < spans[1].end,
                "{cuts:?}"
            );
            seen.insert(cuts[0]);
        }
        // Every place inside the frame comes up (10 bytes: 9 places).
        assert_eq!(seen.len(), 9);
        // A frame of one byte has nowhere inside it to cut.
        let (stream, spans) = Framing::Raw.encode(&owned(&["a", "bc"]));
        let plan = CutPlan::default().with_cut(CutAt::Within { message: 0 });
        assert!(plan.resolve(stream.len(), &spans, 1).is_empty());
    }

    #[test]
    fn fixed_cuts_draw_nothing_from_the_seed() {
        // Offsets and in-frame cuts use no randomness, so the seeded pieces of a plan
        // are the same with or without them (existing lessons keep their cuts).
        let plan = CutPlan::pieces(Pieces::Uniform { min: 2, max: 9 })
            .with_cut(CutAt::InFrame { message: 0, at: 2 });
        let (stream, spans) = layout(&["hello", "how are you?"]);
        let cuts = plan.resolve(stream.len(), &spans, 3);
        assert_eq!(cuts[0], 2);
        assert_eq!(
            cuts,
            CutPlan::pieces(Pieces::Uniform { min: 2, max: 9 })
                .resolve(stream.len(), &spans, 3)
                .into_iter()
                .chain([2])
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn fixed_cuts_read_ascending_offsets_and_replay_as_a_flag() {
        let cuts = FixedCuts::parse("2,7, 19").unwrap();
        assert_eq!(cuts.offsets(), [2, 7, 19]);
        assert_eq!(cuts.flag(), "--cuts 2,7,19");
        assert_eq!(FixedCuts::parse(&cuts.flag()[7..]), Ok(cuts.clone()));
        assert_eq!(cuts.plan().resolve(20, &[], 9), vec![2, 7, 19]);
        assert_eq!(cuts.fit(20), Ok(()));
        assert_eq!(
            cuts.fit(19),
            Err(CutsError::PastTheEnd { cut: 19, len: 19 })
        );
    }

    #[test]
    fn a_list_may_end_the_stream_by_hand_at_its_last_cut() {
        let cuts = FixedCuts::parse("2,7,FIN").unwrap();
        assert_eq!(
            (cuts.offsets(), cuts.end()),
            (&[2, 7][..], Some(WireEnd::Close))
        );
        assert_eq!(cuts.end_offset(), 7);
        assert_eq!(cuts.flag(), "--cuts 2,7,fin");
        let reset = FixedCuts::parse("rst").unwrap();
        assert_eq!((reset.end(), reset.end_offset()), (Some(WireEnd::Reset), 0));
        assert_eq!(FixedCuts::parse(&reset.flag()[7..]), Ok(reset));
        // A cut that ends the stream by hand may be at its very end; others not.
        assert_eq!(FixedCuts::parse("2,20,rst").unwrap().fit(20), Ok(()));
        assert_eq!(
            FixedCuts::parse("20,rst").unwrap().fit(19),
            Err(CutsError::PastTheEnd { cut: 20, len: 19 })
        );
        assert_eq!(
            FixedCuts::parse("2,20").unwrap().fit(20),
            Err(CutsError::PastTheEnd { cut: 20, len: 20 })
        );
    }

    #[test]
    fn bad_fixed_cuts_name_the_value_at_fault() {
        let error = |text: &str| FixedCuts::parse(text).unwrap_err().to_string();
        assert_eq!(
            error("2,x,9"),
            "'x' is not a number: a cut is an offset into the stream, such as 7 (only the last may be fin or rst)"
        );
        assert!(error("fin,4").starts_with("'fin' is not a number"));
        assert!(error("2,-1").starts_with("'-1' is not a number"));
        assert!(error("0,4").starts_with("a cut at 0 cuts nothing off"));
        assert_eq!(
            error("2,9,7"),
            "7 comes after 9: cuts go in ascending order, each once"
        );
        assert!(error("3,3").starts_with("3 comes after 3"));
        assert!(error("").starts_with("no cuts given"));
        assert_eq!(
            FixedCuts::parse("5,40")
                .unwrap()
                .fit(31)
                .unwrap_err()
                .to_string(),
            "a cut at 40 is past the end: the stream is 31 bytes, so cuts go from 1 to 30"
        );
    }

    #[test]
    fn cuts_outside_the_stream_are_dropped() {
        let plan = CutPlan::default()
            .with_cut(CutAt::Offset { offset: 0 })
            .with_cut(CutAt::Offset { offset: 10 })
            .with_cut(CutAt::Offset { offset: 3 })
            .with_cut(CutAt::Offset { offset: 3 });
        assert_eq!(plan.resolve(10, &[], 0), vec![3]);
    }
}
