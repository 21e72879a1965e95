//! A finished run as steps, one recorded call each: what the book's player steps
//! through and what `sockstep run --upto K` prints. Both read the order and the
//! state after K steps from here only, so they cannot disagree.
//!
//! Step 0 is before the first call; step k (1 to N) is after the k-th call; step N,
//! the last, is the end, where the verdicts show. Both sides get the same pieces of
//! the wire, so the order keeps them abreast: a side's calls fall into rounds, a
//! new round at each piece the wire hands it, and the rounds are taken in turn,
//! the two sides' calls alternating within each round, naive first. Lockstep fixes
//! every call of a seed's run, so it fixes the steps too.

use serde::{Deserialize, Serialize};

use super::{path, text};
use crate::engine::{Call, Event, Role, Side, Trace};

/// One step: the call `index` of `side`'s recorded events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepRef {
    pub side: Side,
    pub index: usize,
}

/// Every call of the run, in step order.
pub fn steps(trace: &Trace) -> Vec<StepRef> {
    let rounds = Side::BOTH.map(|side| rounds(&trace.side(side).events));
    let mut order = Vec::new();
    for round in 0..rounds.iter().map(Vec::len).max().unwrap_or(0) {
        let [naive, correct] = [0, 1].map(|i| rounds[i].get(round).cloned().unwrap_or_default());
        for turn in 0..naive.len().max(correct.len()) {
            for (side, calls) in Side::BOTH.into_iter().zip([&naive, &correct]) {
                if let Some(&index) = calls.get(turn) {
                    order.push(StepRef { side, index });
                }
            }
        }
    }
    order
}

/// A side's event indices, cut into rounds: a new round at each piece of the wire.
fn rounds(events: &[Event]) -> Vec<Vec<usize>> {
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let is_piece = event.role == Role::Relay && event.call == Call::Piece;
        match rounds.last_mut() {
            Some(round) if !is_piece => round.push(index),
            _ => rounds.push(vec![index]),
        }
    }
    rounds
}

/// What the run shows after its first `step` calls: the same JSON for
/// `sockstep run --upto K --json` and for the book's player.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepState {
    pub lesson: String,
    /// The language of the code that ran ("rust", "python").
    pub lang: String,
    pub seed: u64,
    /// Calls made, 0 to `steps`.
    pub step: usize,
    /// Calls in the whole run: the last step.
    pub steps: usize,
    /// `step 7 of 23: naive receiver recv 5 → 3 "hel"`, for people (the player's
    /// live region).
    pub text: String,
    pub sides: Sides,
}

impl StepState {
    /// The state without what the kernel measured, for comparing two runs of one
    /// seed: the send queue just after a write depends on when loopback
    /// acknowledged it (see tests/reproducible.rs), and the wire's size and the
    /// path's words follow from it.
    pub fn without_measurements(mut self) -> StepState {
        for side in [&mut self.sides.naive, &mut self.sides.correct] {
            side.path.send_queue = None;
            side.path.wire = None;
            side.path_text.clear();
        }
        self
    }
}

/// Each side's part of a step's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sides {
    pub naive: SideState,
    pub correct: SideState,
}

impl Sides {
    pub fn side(&self, side: Side) -> &SideState {
        match side {
            Side::Naive => &self.naive,
            Side::Correct => &self.correct,
        }
    }
}

/// One side after the first calls of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideState {
    /// How many of this side's recorded calls were made by this step.
    pub calls: usize,
    /// Every byte its receiver has got from `recv()` so far, as lowercase hex.
    pub received_hex: String,
    /// Its most recent call, as the player says it: `receiver recv 5 → 3 "hel"`.
    pub call: Option<String>,
    /// That call's line in the side's code file (the line the code listing marks).
    pub line: Option<u32>,
    /// The side's verdict, `✗ wrong: …`, at the last step only.
    pub verdict: Option<String>,
    /// Where its bytes are (`render::path`), in bytes.
    pub path: path::Sizes,
    /// The same in words: `send queue 3072 B (of 4608) · wire 1024 B · …`.
    pub path_text: String,
}

/// A step past the end of the run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "step {asked} is past the end of this run, which has {steps} steps (0 is before the first call, {steps} the end)"
)]
pub struct PastTheEnd {
    pub asked: usize,
    pub steps: usize,
}

/// A call as the player says it: who made it, what it did, the bytes it moved.
pub fn call_text(event: &Event) -> String {
    let mut words = format!(
        "{} {}",
        text::role_word(event.role),
        text::call_words(event)
    );
    if let Some(bytes) = text::quoted_bytes(event) {
        words.push(' ');
        words.push_str(&bytes);
    }
    words
}

/// A side's verdict with its mark: `✓ delivered all 4 messages`.
pub fn verdict_text(trace: &Trace, side: Side) -> String {
    let outcome = &trace.side(side).outcome;
    let mark = if outcome.is_delivered() { '✓' } else { '✗' };
    format!("{mark} {}", outcome.describe())
}

/// The state after the first `step` calls of `trace`.
pub fn state_at(trace: &Trace, step: usize) -> Result<StepState, PastTheEnd> {
    let order = steps(trace);
    if step > order.len() {
        return Err(PastTheEnd {
            asked: step,
            steps: order.len(),
        });
    }
    Ok(state(trace, &order, step))
}

/// Every state of the run, step 0 to the last.
pub fn states(trace: &Trace) -> Vec<StepState> {
    let order = steps(trace);
    (0..=order.len())
        .map(|step| state(trace, &order, step))
        .collect()
}

fn state(trace: &Trace, order: &[StepRef], step: usize) -> StepState {
    let steps = order.len();
    let done = &order[..step];
    let last = step == steps;
    let side_state = |side: Side| {
        let events = &trace.side(side).events;
        let calls = done.iter().filter(|s| s.side == side).count();
        let made = &events[..calls];
        let received_hex = made
            .iter()
            .filter(|e| e.role == Role::Receiver && e.call == Call::Recv)
            .flat_map(|e| &e.bytes)
            .map(|b| format!("{b:02x}"))
            .collect();
        let sizes = path::of_trace(trace, side, calls, last).sizes();
        SideState {
            calls,
            received_hex,
            call: made.last().map(call_text),
            line: made.last().and_then(|e| e.line),
            verdict: last.then(|| verdict_text(trace, side)),
            path: sizes.clone(),
            path_text: sizes.summary(),
        }
    };
    let mut text = match done.last() {
        Some(at) => format!(
            "step {step} of {steps}: {} {}",
            at.side.name(),
            call_text(&trace.side(at.side).events[at.index])
        ),
        None => format!("step 0 of {steps}: before the first call"),
    };
    if last {
        let ends: Vec<String> = Side::BOTH
            .iter()
            .map(|&side| {
                let outcome = &trace.side(side).outcome;
                let mark = if outcome.is_delivered() { '✓' } else { '✗' };
                format!("{} {mark} {}", side.name(), outcome.kind())
            })
            .collect();
        text.push_str(&format!(". The end: {}", ends.join(", ")));
    }
    StepState {
        lesson: trace.lesson.clone(),
        lang: trace.language.clone(),
        seed: trace.seed,
        step,
        steps,
        text,
        sides: Sides {
            naive: side_state(Side::Naive),
            correct: side_state(Side::Correct),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{CallResult, Mode, Outcome, SideTrace};

    fn event(role: Role, call: Call, bytes: &[u8], line: Option<u32>) -> Event {
        let mut event = Event::new(role, call, bytes.len(), bytes, CallResult::Ok, line);
        if call == Call::Piece {
            event.offset = Some(0);
        }
        event
    }

    /// A run of two messages, `ab` and `c`, in two pieces, `ab` and `c`: the naive
    /// side reads once and stops, the correct one reads both.
    fn trace() -> Trace {
        let send = event(Role::Sender, Call::Send, b"abc", Some(10));
        let piece = |bytes: &[u8]| event(Role::Relay, Call::Piece, bytes, None);
        let recv = |bytes: &[u8], line| event(Role::Receiver, Call::Recv, bytes, Some(line));
        Trace {
            lesson: "toy".into(),
            language: "rust".into(),
            seed: 7,
            mode: Mode::Lockstep,
            messages: vec![b"ab".to_vec(), b"c".to_vec()],
            stream: b"abc".to_vec(),
            spans: vec![],
            cuts: vec![2],
            naive: SideTrace {
                side: Side::Naive,
                events: vec![send.clone(), piece(b"ab"), recv(b"ab", 20)],
                delivered: vec![],
                outcome: Outcome::Lost {
                    delivered: 0,
                    expected: 2,
                },
            },
            correct: SideTrace {
                side: Side::Correct,
                events: vec![
                    send,
                    piece(b"ab"),
                    recv(b"ab", 30),
                    piece(b"c"),
                    recv(b"c", 30),
                ],
                delivered: vec![],
                outcome: Outcome::Delivered {
                    messages: 2,
                    reports: 0,
                },
            },
        }
    }

    #[test]
    fn the_sides_take_each_piece_abreast_naive_first() {
        let order: Vec<(Side, usize)> = steps(&trace())
            .into_iter()
            .map(|s| (s.side, s.index))
            .collect();
        use Side::{Correct, Naive};
        assert_eq!(
            order,
            [
                (Naive, 0),
                (Correct, 0),
                (Naive, 1),
                (Correct, 1),
                (Naive, 2),
                (Correct, 2),
                (Correct, 3),
                (Correct, 4),
            ]
        );
    }

    #[test]
    fn step_zero_is_before_any_call_and_the_last_has_the_verdicts() {
        let trace = trace();
        let first = state_at(&trace, 0).unwrap();
        assert_eq!(first.text, "step 0 of 8: before the first call");
        assert_eq!(first.sides.naive.call, None);
        assert_eq!(first.sides.naive.verdict, None);
        let last = state_at(&trace, 8).unwrap();
        assert_eq!(
            last.text,
            "step 8 of 8: correct receiver recv 1 → 1 \"c\". The end: naive ✗ lost data, correct ✓ delivered"
        );
        assert_eq!(
            last.sides.naive.verdict.as_deref(),
            Some("✗ lost data: only 0 of 2 messages reached the application")
        );
        assert_eq!(
            last.sides.correct.verdict.as_deref(),
            Some("✓ delivered all 2 messages")
        );
        assert_eq!(last.sides.correct.received_hex, "616263");
        assert_eq!(last.sides.naive.received_hex, "6162");
    }

    #[test]
    fn a_middle_step_names_its_call_and_each_side_its_latest() {
        let state = state_at(&trace(), 5).unwrap();
        assert_eq!(state.text, "step 5 of 8: naive receiver recv 2 → 2 \"ab\"");
        assert_eq!(
            state.sides.naive.call.as_deref(),
            Some("receiver recv 2 → 2 \"ab\"")
        );
        assert_eq!(state.sides.naive.line, Some(20));
        assert_eq!(
            state.sides.correct.call.as_deref(),
            Some("wire piece @0 of 2 \"ab\"")
        );
        assert_eq!(state.sides.correct.line, None);
        assert_eq!(state.sides.correct.received_hex, "");
        assert_eq!((state.sides.naive.calls, state.sides.correct.calls), (3, 2));
        assert_eq!(state.sides.correct.verdict, None);
    }

    #[test]
    fn a_step_past_the_end_names_the_last() {
        let error = state_at(&trace(), 9).unwrap_err();
        assert_eq!(error, PastTheEnd { asked: 9, steps: 8 });
        assert_eq!(
            error.to_string(),
            "step 9 is past the end of this run, which has 8 steps (0 is before the first call, 8 the end)"
        );
    }

    #[test]
    fn states_are_state_at_each_step() {
        let trace = trace();
        let all = states(&trace);
        assert_eq!(all.len(), 9);
        for (k, state) in all.iter().enumerate() {
            assert_eq!(*state, state_at(&trace, k).unwrap());
        }
    }

    #[test]
    fn the_json_has_the_fields_the_player_reads() {
        let json = serde_json::to_value(state_at(&trace(), 3).unwrap()).unwrap();
        for key in ["lesson", "lang", "seed", "step", "steps", "text", "sides"] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
        for key in ["received_hex", "call", "line", "verdict"] {
            assert!(json["sides"]["naive"].get(key).is_some(), "{key} in {json}");
        }
        assert_eq!(json["sides"]["naive"]["line"], serde_json::Value::Null);
    }
}
