//! Property: for the framing of each framing lesson (welcome, no-eot, fixed-length,
//! type-byte, delimiter, leftover, max-frame, protocol), however the wire cuts a
//! random sequence of messages, the lesson's correct receiver delivers exactly the
//! messages that were sent, over real sockets.

use proptest::prelude::*;

use sockstep::engine::{
    self, Call, CutAt, CutPlan, Limits, Mode, Role, RunOptions, Scenario, SocketTuning, Trace,
};
use sockstep::teaching;
use sockstep::teaching::{fixed_length, max_frame, protocol};

/// The lesson's own framing (and sender), with `messages` cut at `cuts`.
fn scenario(slug: &str, messages: Vec<Vec<u8>>, cuts: &[usize]) -> Scenario {
    let base = (teaching::find(slug).unwrap().1.scenario)();
    Scenario {
        messages,
        framing: base.framing,
        cuts: cuts.iter().fold(CutPlan::default(), |plan, &offset| {
            plan.with_cut(CutAt::Offset { offset })
        }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

/// Runs the lesson's correct program on both sides.
fn run_correct(slug: &str, scenario: &Scenario, mode: Mode) -> Trace {
    let lesson = teaching::find(slug).unwrap().1;
    engine::run(
        slug,
        scenario,
        lesson.correct,
        lesson.correct,
        RunOptions {
            mode,
            ..RunOptions::default()
        },
    )
    .unwrap()
}

/// Bytes of any value but `banned`.
fn bytes_without(banned: u8, len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        any::<u8>().prop_map(move |b| if b == banned { b ^ 1 } else { b }),
        len,
    )
}

fn cuts(max: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..max, 0..40)
}

/// The run delivered `messages` on the correct side and the wire carried the stream
/// the framing describes (so the sender and the framing agree): all of it, or for a
/// receiver that hangs up on a bad frame, all up to where it stopped reading.
fn assert_delivers(trace: &Trace, messages: &[Vec<u8>]) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        &trace.correct.delivered,
        &messages.to_vec(),
        "{:?}",
        trace.correct.outcome
    );
    prop_assert!(trace.correct.outcome.is_delivered());
    let wire: Vec<u8> = trace
        .correct
        .pieces()
        .flat_map(|e| e.bytes.clone())
        .collect();
    if trace.lesson == "max-frame" {
        let lie_end = trace.stream.len() - max_frame::SENT_OF_IT.len();
        prop_assert!(wire.len() >= lie_end && trace.stream.starts_with(&wire));
    } else {
        prop_assert_eq!(&wire, &trace.stream);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn five_byte_words_survive_any_cuts(
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 5), 0..8),
        cuts in cuts(40),
    ) {
        let trace = run_correct("welcome", &scenario("welcome", messages.clone(), &cuts), Mode::Lockstep);
        assert_delivers(&trace, &messages)?;
    }

    #[test]
    fn request_lines_with_answers_survive_any_cuts(
        messages in prop::collection::vec(bytes_without(b'\n', 0..60), 1..6),
        cuts in cuts(300),
    ) {
        let trace = run_correct("no-eot", &scenario("no-eot", messages.clone(), &cuts), Mode::Lockstep);
        assert_delivers(&trace, &messages)?;
    }

    #[test]
    fn padded_fixed_length_messages_survive_any_cuts(
        bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..=fixed_length::MSGLEN), 0..8),
        cuts in cuts(130),
    ) {
        // Any bytes, NULs inside included, but never a NUL last: that would be padding.
        let messages: Vec<Vec<u8>> = bodies
            .into_iter()
            .map(|mut m| {
                while m.last() == Some(&fixed_length::PAD) {
                    m.pop();
                }
                m
            })
            .collect();
        let trace = run_correct("fixed-length", &scenario("fixed-length", messages.clone(), &cuts), Mode::Lockstep);
        assert_delivers(&trace, &messages)?;
    }

    #[test]
    fn typed_messages_survive_any_cuts(
        messages in prop::collection::vec(
            prop_oneof![Just(b'P'), Just(b'T'), Just(b'N')].prop_flat_map(|kind| {
                let len = sockstep::teaching::type_byte::body_len(kind).unwrap();
                prop::collection::vec(any::<u8>(), len).prop_map(move |body| {
                    let mut message = vec![kind];
                    message.extend(body);
                    message
                })
            }),
            0..10,
        ),
        cuts in cuts(220),
    ) {
        let trace = run_correct("type-byte", &scenario("type-byte", messages.clone(), &cuts), Mode::Lockstep);
        assert_delivers(&trace, &messages)?;
    }

    #[test]
    fn delimited_lines_survive_any_cuts(
        messages in prop::collection::vec(bytes_without(b'\n', 0..200), 0..8),
        cuts in cuts(1600),
    ) {
        let trace = run_correct("delimiter", &scenario("delimiter", messages.clone(), &cuts), Mode::Lockstep);
        assert_delivers(&trace, &messages)?;
    }

    #[test]
    fn back_to_back_lines_survive_any_cuts(
        messages in prop::collection::vec(bytes_without(b'\n', 0..200), 0..8),
        cuts in cuts(1600),
    ) {
        let trace = run_correct("leftover", &scenario("leftover", messages.clone(), &cuts), Mode::Lockstep);
        assert_delivers(&trace, &messages)?;
    }

    #[test]
    fn binary_length_frames_survive_any_cuts_and_the_lie_is_refused(
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
        cuts in cuts(2500),
    ) {
        let trace = run_correct("max-frame", &scenario("max-frame", messages.clone(), &cuts), Mode::Lockstep);
        assert_delivers(&trace, &messages)?;
        // The lying frame was answered with a refusal, whatever the cuts.
        let answer: Vec<u8> = trace
            .correct
            .events
            .iter()
            .filter(|e| e.role == Role::Sender && e.call == Call::Recv)
            .flat_map(|e| e.bytes.clone())
            .collect();
        prop_assert!(answer.starts_with(b"ERR a frame of 4000000000 bytes"), "{:?}", String::from_utf8_lossy(&answer));
        prop_assert!(trace.stream.ends_with(&max_frame::the_lie()));
    }

    #[test]
    fn json_header_messages_survive_any_cuts(
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..6),
        cuts in cuts(2000),
    ) {
        let trace = run_correct("protocol", &scenario("protocol", messages.clone(), &cuts), Mode::Lockstep);
        assert_delivers(&trace, &messages)?;
        prop_assert!(trace.stream.windows(protocol::CONTENT_TYPE.len()).any(|w| w == protocol::CONTENT_TYPE.as_bytes()));
    }
}

#[test]
fn free_run_any_cuts_still_deliver_for_every_framing() {
    // The kernel may merge pieces in free-run; it never loses or reorders them.
    // At most 16 bytes: the fixed-length sender refuses longer messages.
    let lines: Vec<Vec<u8>> = (0..6).map(|i| vec![b'a' + i as u8; 1 + i * 3]).collect();
    let typed: Vec<Vec<u8>> = ["T12:00:00", "P", "N01234567890123456789", "P"]
        .iter()
        .map(|m| m.as_bytes().to_vec())
        .collect();
    let words: Vec<Vec<u8>> = vec![b"abcde".to_vec(), b"fghij".to_vec(), b"klmno".to_vec()];
    let cases = [
        ("welcome", words),
        ("no-eot", lines.clone()),
        ("fixed-length", lines.clone()),
        ("type-byte", typed),
        ("delimiter", lines.clone()),
        ("leftover", lines.clone()),
        ("max-frame", lines.clone()),
        ("protocol", lines),
    ];
    for (slug, messages) in cases {
        for seed in 0..3usize {
            let cuts: Vec<usize> = (1..60).map(|i| i * 3 + seed).collect();
            let trace = run_correct(
                slug,
                &scenario(slug, messages.clone(), &cuts),
                Mode::FreeRun,
            );
            assert_eq!(
                trace.correct.delivered, messages,
                "{slug} seed {seed}: {:?}",
                trace.correct.outcome
            );
            assert!(trace.correct.outcome.is_delivered(), "{slug} seed {seed}");
        }
    }
}

#[test]
fn the_property_can_fail_a_receiver_that_ignores_cuts() {
    // The check above is not vacuous: the naive delimiter receiver, under the same
    // kind of run, fails for a cut inside a line.
    let lesson = teaching::find("delimiter").unwrap().1;
    let messages = vec![b"first line".to_vec(), b"second".to_vec()];
    let trace = engine::run(
        "delimiter",
        &scenario("delimiter", messages.clone(), &[4]),
        lesson.naive,
        lesson.naive,
        RunOptions::default(),
    )
    .unwrap();
    assert_ne!(trace.correct.delivered, messages);
}
