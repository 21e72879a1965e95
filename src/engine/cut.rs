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
}

impl Framing {
    /// The stream a correct sender writes for `messages`, and where each one sits.
    pub fn encode(&self, messages: &[Vec<u8>]) -> (Vec<u8>, Vec<Span>) {
        let mut stream = Vec::new();
        let mut spans = Vec::with_capacity(messages.len());
        for body in messages {
            let start = stream.len();
            match self {
                Framing::Raw => {}
                Framing::AsciiLength { digits } => {
                    stream.extend(format!("{:0width$}", body.len(), width = digits).bytes())
                }
            }
            let body_start = stream.len();
            stream.extend_from_slice(body);
            spans.push(Span {
                start,
                body: body_start,
                body_end: stream.len(),
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
        let mut cuts: Vec<usize> = self
            .at
            .iter()
            .filter_map(|cut| match *cut {
                CutAt::Offset { offset } => Some(offset),
                CutAt::InFrame { message, at } => spans.get(message).map(|s| s.start + at),
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        match self.pieces {
            Pieces::Whole => {}
            Pieces::Uniform { min, max } => {
                let (min, max) = (min.max(1), max.max(min.max(1)));
                let mut at = 0;
                loop {
                    at += rng.random_range(min..=max);
                    if at >= len {
                        break;
                    }
                    cuts.push(at);
                }
            }
            Pieces::Slicer { average, variation } => {
                let low = average.saturating_sub(variation).max(1);
                let high = (average + variation).max(low);
                let mut at = 0;
                loop {
                    at += rng.random_range(low..=high);
                    if at >= len {
                        break;
                    }
                    cuts.push(at);
                }
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

#[cfg(test)]
mod tests {
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
