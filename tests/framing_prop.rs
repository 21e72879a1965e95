//! Property: however the wire cuts a stream of framed messages, the correct
//! receivers deliver exactly the messages that were sent, over real sockets.

use proptest::prelude::*;

use sockstep::engine::{
    self, CutAt, CutPlan, Framing, Limits, Mode, RunOptions, Scenario, SocketTuning,
};
use sockstep::teaching;

fn scenario(messages: Vec<Vec<u8>>, framing: Framing, cuts: &[usize]) -> Scenario {
    Scenario {
        messages,
        framing,
        cuts: cuts.iter().fold(CutPlan::default(), |plan, &offset| {
            plan.with_cut(CutAt::Offset { offset })
        }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

fn run_correct(slug: &str, scenario: &Scenario, mode: Mode) -> engine::Trace {
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn length_prefix_receiver_survives_any_cuts(
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..8),
        cuts in prop::collection::vec(0usize..3000, 0..40),
    ) {
        let scenario = scenario(messages.clone(), Framing::AsciiLength { digits: 5 }, &cuts);
        let trace = run_correct("length-prefix", &scenario, Mode::Lockstep);
        prop_assert_eq!(&trace.correct.delivered, &messages, "{:?}", trace.correct.outcome);
        prop_assert!(trace.correct.outcome.is_delivered());
    }

    #[test]
    fn read_until_close_receiver_survives_any_cuts(
        body in prop::collection::vec(any::<u8>(), 0..2000),
        cuts in prop::collection::vec(0usize..2000, 0..60),
    ) {
        let scenario = scenario(vec![body.clone()], Framing::Raw, &cuts);
        let trace = run_correct("recv-zero", &scenario, Mode::Lockstep);
        prop_assert_eq!(&trace.correct.delivered, &vec![body]);
    }

    #[test]
    fn fixed_size_receiver_survives_any_cuts(
        body in prop::collection::vec(any::<u8>(), 32),
        cuts in prop::collection::vec(0usize..32, 0..31),
    ) {
        let scenario = scenario(vec![body.clone()], Framing::Raw, &cuts);
        let trace = run_correct("partial-recv", &scenario, Mode::Lockstep);
        prop_assert_eq!(&trace.correct.delivered, &vec![body]);
    }

    #[test]
    fn the_pieces_always_reassemble_the_stream(
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..100), 1..6),
        seed in any::<u64>(),
        average in 1usize..50,
        variation in 0usize..50,
    ) {
        let mut scenario = scenario(messages, Framing::AsciiLength { digits: 5 }, &[]);
        scenario.cuts = CutPlan::pieces(engine::Pieces::Slicer { average, variation });
        let lesson = teaching::find("length-prefix").unwrap().1;
        let trace = engine::run(lesson.slug, &scenario, lesson.correct, lesson.correct,
            RunOptions { seed, ..RunOptions::default() }).unwrap();
        let joined: Vec<u8> = trace.correct.pieces().flat_map(|e| e.bytes.clone()).collect();
        prop_assert_eq!(joined, trace.stream);
    }
}

#[test]
fn free_run_any_cuts_still_deliver() {
    // A few free-run runs: the kernel may merge pieces, never lose or reorder them.
    for seed in 0..5u64 {
        let messages: Vec<Vec<u8>> = (0..6).map(|i| vec![b'a' + i as u8; 10 + i * 7]).collect();
        let cuts: Vec<usize> = (1..40).map(|i| i * 3 + seed as usize).collect();
        let scenario = scenario(messages.clone(), Framing::AsciiLength { digits: 5 }, &cuts);
        let trace = run_correct("length-prefix", &scenario, Mode::FreeRun);
        assert_eq!(trace.correct.delivered, messages);
    }
}
