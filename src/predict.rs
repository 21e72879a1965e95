//! Predict, then reveal: multiple-choice questions about a finished seeded run.
//!
//! Every question is a pure function of the run's [`Trace`]: the right answer is what
//! the run shows, and the wrong choices are the mistakes a learner makes (another cut
//! position, the message as it was sent, one byte or one message off), never noise.
//! The seed alone decides where the right answer sits among the choices.

use serde::Serialize;

use crate::engine::trace::quote;
use crate::engine::{Call, CallResult, Event, Outcome, OutcomeKind, Role, Side, SideTrace, Trace};

/// How many choices a question offers when the run gives enough plausible ones.
pub const CHOICES: usize = 4;

/// What a question asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// What the naive receiver's first `recv()` returns.
    FirstRecv,
    /// Which message the naive side gets wrong first, and what it delivers instead.
    FirstWrong,
    /// How each side ends: delivered, wrong, stuck, spinning...
    Ending,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::FirstRecv, Kind::FirstWrong, Kind::Ending];

    pub fn name(self) -> &'static str {
        match self {
            Kind::FirstRecv => "first-recv",
            Kind::FirstWrong => "first-wrong",
            Kind::Ending => "ending",
        }
    }

    /// The kind asked for a seed when none is chosen (the TUI's `p`): every seed
    /// asks one, and consecutive seeds go round all of them.
    pub fn for_seed(seed: u64) -> Kind {
        Kind::ALL[(seed % Kind::ALL.len() as u64) as usize]
    }
}

/// The call that decided the answer, for the reveal to point at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Decider {
    pub side: Side,
    /// The event's `seq` in its side's trace; none when the side never got that far
    /// (it waited in its first `recv()` forever).
    pub seq: Option<u32>,
    /// The line of the call in the teaching file.
    pub line: Option<u32>,
}

/// One multiple-choice question about a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Question {
    pub kind: Kind,
    pub prompt: String,
    pub choices: Vec<String>,
    /// Index into `choices` of the right one (0-based; people see it plus one).
    pub answer: usize,
    /// What the run did, in one sentence.
    pub reveal: String,
    pub decided_by: Decider,
}

impl Question {
    /// Whether `choice` (0-based) is the right answer.
    pub fn is_right(&self, choice: usize) -> bool {
        choice == self.answer
    }
}

/// The question of `kind` about a finished run.
pub fn question(trace: &Trace, kind: Kind) -> Question {
    let (prompt, right, wrong, reveal, decided_by) = match kind {
        Kind::FirstRecv => first_recv(trace),
        Kind::FirstWrong => first_wrong(trace),
        Kind::Ending => ending(trace),
    };
    let mut choices: Vec<String> = Vec::with_capacity(CHOICES);
    for candidate in wrong {
        if choices.len() + 1 == CHOICES {
            break;
        }
        if candidate != right && !choices.contains(&candidate) {
            choices.push(candidate);
        }
    }
    let answer = answer_position(trace.seed, kind, choices.len() + 1);
    choices.insert(answer, right);
    Question {
        kind,
        prompt,
        choices,
        answer,
        reveal,
        decided_by,
    }
}

/// Every kind's question about a run, in the order of [`Kind::ALL`].
pub fn questions(trace: &Trace) -> Vec<Question> {
    Kind::ALL.iter().map(|&k| question(trace, k)).collect()
}

/// Where the right answer goes among `count` choices: fixed by the seed and the kind,
/// spread evenly over the seeds (a SplitMix64 step), so the answer is not always first.
fn answer_position(seed: u64, kind: Kind, count: usize) -> usize {
    let mut z = seed
        .wrapping_add(kind as u64)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % count as u64) as usize
}

type Parts = (String, String, Vec<String>, String, Decider);

/// Bytes as people read them in a choice: quoted, with their count. Long bytes show
/// only their start, so that choices differing in length stay apart on a narrow screen.
pub fn shown(bytes: &[u8]) -> String {
    const PREVIEW: usize = 16;
    let n = bytes.len();
    let count = format!("({n} byte{})", if n == 1 { "" } else { "s" });
    if n <= PREVIEW + 4 {
        format!("{} {count}", quote(bytes))
    } else {
        format!("{}… {count}", quote(&bytes[..PREVIEW]))
    }
}

/// A message named in a choice: its text when short, else its length.
fn message_name(index: usize, message: &[u8]) -> String {
    if message.len() <= 20 {
        format!("message {} ({})", index + 1, quote(message))
    } else {
        format!("message {} ({} bytes)", index + 1, message.len())
    }
}

const WAITS: &str = "nothing: it waits, and no byte ever comes";

/// What a `recv()` returned, in words.
fn returned(event: &Event) -> String {
    match &event.result {
        CallResult::Ok => shown(&event.bytes),
        CallResult::EndOfStream => "0: the end of the stream".to_string(),
        CallResult::TimedOut => "nothing: it timed out".to_string(),
        CallResult::Error { error, .. } => format!("an error: {error}"),
    }
}

fn decider(side: Side, event: Option<&Event>, trace: &Trace) -> Decider {
    Decider {
        side,
        seq: event.map(|e| e.seq),
        line: event
            .and_then(|e| e.line)
            .or_else(|| outcome_line(trace.side(side))),
    }
}

/// The line a stuck or spinning side stopped at.
fn outcome_line(side: &SideTrace) -> Option<u32> {
    match &side.outcome {
        Outcome::Stuck { line, .. } | Outcome::Spinning { line, .. } => *line,
        _ => None,
    }
}

fn first_recv(trace: &Trace) -> Parts {
    let naive = &trace.naive;
    let first = naive.receiver_reads().next();
    let stream = &trace.stream;
    let prefix = |n: usize| shown(&stream[..n.min(stream.len())]);
    let right = first.map_or_else(|| WAITS.to_string(), returned);
    let got = first.map_or(0, |e| e.bytes.len());
    let mut wrong = Vec::new();
    // The first message as it was sent, then the same read cut elsewhere.
    if let Some(span) = trace.spans.first() {
        wrong.push(prefix(span.end));
    }
    wrong.extend(trace.cuts.iter().filter(|&&c| c > got).map(|&c| prefix(c)));
    if got < stream.len() {
        wrong.push(prefix(got + 1));
    }
    if let Some(asked) = first.map(|e| e.asked) {
        wrong.push(prefix(asked));
    }
    if got > 1 {
        wrong.push(prefix(got - 1));
    }
    wrong.extend(trace.cuts.iter().filter(|&&c| c < got).map(|&c| prefix(c)));
    wrong.push(WAITS.to_string());
    wrong.push(prefix(stream.len()));
    let reveal = match first {
        Some(event) => format!(
            "the naive receiver's first recv(){} asked for up to {} bytes and returned {}",
            at_line(event.line),
            event.asked,
            returned(event)
        ),
        None => format!(
            "the naive receiver never got a byte: {}",
            naive.outcome.describe()
        ),
    };
    (
        "What will the naive receiver's first recv() return?".to_string(),
        right,
        wrong,
        reveal,
        decider(Side::Naive, first, trace),
    )
}

const NONE_WRONG: &str = "none: every message it delivers is right";

fn wrong_message(index: usize, expected: Option<&[u8]>, got: &[u8]) -> String {
    match expected {
        Some(expected) => format!(
            "{}: it delivers {}",
            message_name(index, expected),
            shown(got)
        ),
        None => format!(
            "an extra message {}, never sent: it delivers {}",
            index + 1,
            shown(got)
        ),
    }
}

/// The cuts that fall inside message `index`'s body, as offsets into the body.
fn cuts_in_body(trace: &Trace, index: usize) -> Vec<usize> {
    let Some(span) = trace.spans.get(index) else {
        return Vec::new();
    };
    trace
        .cuts
        .iter()
        .filter(|&&c| c > span.body && c < span.body_end)
        .map(|&c| c - span.body)
        .collect()
}

fn first_wrong(trace: &Trace) -> Parts {
    let naive = &trace.naive;
    let messages = &trace.messages;
    let delivered = &naive.delivered;
    let first = (0..delivered.len()).find(|&i| messages.get(i) != Some(&delivered[i]));
    let mut wrong = Vec::new();
    let (right, reveal, event) = match first {
        Some(i) => {
            let got = delivered[i].as_slice();
            let expected = messages.get(i).map(Vec::as_slice);
            wrong.push(NONE_WRONG.to_string());
            if let Some(expected) = expected {
                for cut in cuts_in_body(trace, i) {
                    wrong.push(wrong_message(i, Some(expected), &expected[..cut]));
                }
                if got.len() < expected.len() && expected.starts_with(got) {
                    wrong.push(wrong_message(i, Some(expected), &expected[..got.len() + 1]));
                }
            }
            // One message off: the same bytes blamed on a neighbour (unless that
            // neighbour really is those bytes).
            if let Some(next) = messages.get(i + 1).filter(|&next| next != got) {
                wrong.push(wrong_message(i + 1, Some(next), got));
            }
            if !got.is_empty() {
                wrong.push(wrong_message(i, expected, &got[..got.len() - 1]));
            }
            if let Some(before) = i.checked_sub(1).map(|b| &messages[b]).filter(|&b| b != got) {
                wrong.push(wrong_message(i - 1, Some(before), got));
            }
            let reveal = format!(
                "the naive side handed message {} to the application as {}{}",
                i + 1,
                shown(got),
                expected.map_or(", and no such message was sent".to_string(), |e| format!(
                    ", but {} was sent",
                    quote(e)
                ))
            );
            (
                wrong_message(i, expected, got),
                reveal,
                read_before_delivery(naive, i),
            )
        }
        None => {
            for (index, expected) in messages.iter().enumerate() {
                for cut in cuts_in_body(trace, index) {
                    wrong.push(wrong_message(index, Some(expected), &expected[..cut]));
                }
            }
            for (index, expected) in messages.iter().enumerate().filter(|(_, m)| !m.is_empty()) {
                wrong.push(wrong_message(
                    index,
                    Some(expected),
                    &expected[..expected.len() - 1],
                ));
            }
            let reveal = format!(
                "the naive side delivered {} of {} messages, every one right, and then: {}",
                delivered.len(),
                messages.len(),
                naive.outcome.kind()
            );
            (
                NONE_WRONG.to_string(),
                reveal,
                naive.receiver_reads().last(),
            )
        }
    };
    (
        "Which message will the naive side get wrong first, and what will it deliver instead?"
            .to_string(),
        right,
        wrong,
        reveal,
        decider(Side::Naive, event, trace),
    )
}

/// The receiver's last `recv()` before it delivered message `index`.
fn read_before_delivery(side: &SideTrace, index: usize) -> Option<&Event> {
    let delivery = side
        .events
        .iter()
        .filter(|e| e.role == Role::Receiver && e.call == Call::Deliver)
        .nth(index)?;
    side.receiver_reads()
        .filter(|e| e.seq < delivery.seq)
        .last()
}

fn ending_choice(naive: OutcomeKind, correct: OutcomeKind) -> String {
    format!("naive {naive}, correct {correct}")
}

fn ending(trace: &Trace) -> Parts {
    use OutcomeKind::*;
    let naive = trace.naive.outcome.kind();
    let correct = trace.correct.outcome.kind();
    // The endings a learner mixes up, most likely first: the naive side failing
    // another way, the naive side getting lucky, the sides swapped.
    let wrong = [
        (Wrong, Delivered),
        (Stuck, Delivered),
        (Spinning, Delivered),
        (Delivered, Delivered),
        (Delivered, Stuck),
        (Lost, Delivered),
        (Error, Delivered),
    ]
    .into_iter()
    .map(|(n, c)| ending_choice(n, c))
    .collect();
    let reveal = format!(
        "naive: {}; correct: {}",
        trace.naive.outcome.describe(),
        trace.correct.outcome.describe()
    );
    (
        "How will each side end: delivered, wrong, stuck or spinning?".to_string(),
        ending_choice(naive, correct),
        wrong,
        reveal,
        decider(Side::Naive, trace.naive.receiver_reads().last(), trace),
    )
}

fn at_line(line: Option<u32>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Mode, Span};

    fn event(seq: u32, role: Role, call: Call, asked: usize, bytes: &[u8]) -> Event {
        let mut event = Event::new(role, call, asked, bytes, CallResult::Ok, Some(10 + seq));
        event.seq = seq;
        event
    }

    /// "hello\n" "world\n" cut at 3 and 8; the naive side hands over each read.
    fn trace(naive_reads: &[&[u8]]) -> Trace {
        let mut events = Vec::new();
        let mut delivered = Vec::new();
        for read in naive_reads {
            let seq = events.len() as u32;
            events.push(event(seq, Role::Receiver, Call::Recv, 64, read));
            events.push(event(
                seq + 1,
                Role::Receiver,
                Call::Deliver,
                read.len(),
                read,
            ));
            delivered.push(read.to_vec());
        }
        let messages = vec![b"hello".to_vec(), b"world".to_vec()];
        let naive_outcome = match naive_reads.first() {
            Some(read) => Outcome::Wrong {
                index: 0,
                expected: Some(messages[0].clone()),
                got: read.to_vec(),
            },
            None => Outcome::Stuck {
                role: Role::Receiver,
                line: Some(7),
                waited_ms: 0,
            },
        };
        let side = |side, events, delivered, outcome| SideTrace {
            side,
            events,
            delivered,
            outcome,
        };
        Trace {
            lesson: "test".to_string(),
            language: "rust".to_string(),
            seed: 1,
            mode: Mode::Lockstep,
            stream: b"hello\nworld\n".to_vec(),
            spans: vec![
                Span {
                    start: 0,
                    body: 0,
                    body_end: 5,
                    end: 6,
                },
                Span {
                    start: 6,
                    body: 6,
                    body_end: 11,
                    end: 12,
                },
            ],
            cuts: vec![3, 8],
            naive: side(Side::Naive, events, delivered, naive_outcome),
            correct: side(
                Side::Correct,
                Vec::new(),
                messages.clone(),
                Outcome::Delivered {
                    messages: 2,
                    reports: 0,
                },
            ),
            messages,
        }
    }

    #[test]
    fn first_recv_offers_the_message_as_sent_another_cut_and_one_byte_off() {
        let q = question(&trace(&[b"hel", b"lo\nwo", b"rld\n"]), Kind::FirstRecv);
        assert_eq!(q.choices[q.answer], "\"hel\" (3 bytes)");
        assert_eq!(q.choices.len(), CHOICES);
        let wrong: Vec<&str> = (0..q.choices.len())
            .filter(|&i| i != q.answer)
            .map(|i| q.choices[i].as_str())
            .collect();
        assert_eq!(
            wrong,
            [
                "\"hello\\n\" (6 bytes)",
                "\"hello\\nwo\" (8 bytes)",
                "\"hell\" (4 bytes)"
            ]
        );
        assert_eq!(q.decided_by.seq, Some(0));
        assert_eq!(q.decided_by.line, Some(10));
    }

    #[test]
    fn a_receiver_that_never_reads_waits() {
        let t = trace(&[]);
        let q = question(&t, Kind::FirstRecv);
        assert_eq!(q.choices[q.answer], WAITS);
        assert_eq!(q.decided_by.seq, None);
        assert_eq!(q.decided_by.line, Some(7), "the line it is stuck at");
        let q = question(&t, Kind::FirstWrong);
        assert_eq!(q.choices[q.answer], NONE_WRONG);
        let q = question(&t, Kind::Ending);
        assert_eq!(q.choices[q.answer], "naive stuck, correct delivered");
    }

    #[test]
    fn first_wrong_names_the_message_and_what_came_instead() {
        let q = question(&trace(&[b"hel", b"lo\nwo", b"rld\n"]), Kind::FirstWrong);
        assert_eq!(
            q.choices[q.answer],
            "message 1 (\"hello\"): it delivers \"hel\" (3 bytes)"
        );
        assert!(q.choices.contains(&NONE_WRONG.to_string()));
        assert!(
            q.choices
                .contains(&"message 1 (\"hello\"): it delivers \"hell\" (4 bytes)".to_string()),
            "one byte more: {:?}",
            q.choices
        );
        // Decided by the read just before the first delivery.
        assert_eq!(q.decided_by.seq, Some(0));
    }

    #[test]
    fn a_neighbour_that_really_is_the_bytes_is_not_offered_as_wrong() {
        // Message 1 wrong as "world": "message 2 delivers world" would be true.
        let q = question(&trace(&[b"world", b"world"]), Kind::FirstWrong);
        assert!(
            !q.choices.iter().any(|c| c.starts_with("message 2")),
            "{:?}",
            q.choices
        );
    }

    #[test]
    fn the_answer_sits_where_the_seed_puts_it_and_every_place_is_used() {
        let places: std::collections::BTreeSet<usize> = (0..64)
            .map(|seed| answer_position(seed, Kind::FirstRecv, CHOICES))
            .collect();
        assert_eq!(places.len(), CHOICES);
        for seed in 0..64 {
            for kind in Kind::ALL {
                assert_eq!(
                    answer_position(seed, kind, 3),
                    answer_position(seed, kind, 3)
                );
                assert!(answer_position(seed, kind, 3) < 3);
            }
        }
    }

    #[test]
    fn long_bytes_show_their_start_and_length() {
        assert_eq!(shown(b"a"), "\"a\" (1 byte)");
        assert_eq!(
            shown(&[b'x'; 50]),
            "\"xxxxxxxxxxxxxxxx\"… (50 bytes)",
            "short enough for a narrow screen, the length apart"
        );
        assert_eq!(
            wrong_message(0, Some(&[b'y'; 30]), b"yy"),
            "message 1 (30 bytes): it delivers \"yy\" (2 bytes)"
        );
    }
}
