//! Wire mode over real loopback sockets: the user cuts the stream while it runs,
//! and `--cuts` with the cuts made replays the same run, call for call.

mod common;

use common::pieces;

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sockstep::engine::{
    Call, CallResult, EngineError, FixedCuts, Mode, Outcome, Role, RunHandle, RunOptions, Side,
    SideStatus, SocketTuning, Trace, WireEnd,
};
use sockstep::lesson::Lang;
use sockstep::teaching;

/// Long enough for a loaded machine; a side that needs longer is a defect.
const PATIENCE: Duration = Duration::from_secs(60);

/// Waits until each side is finished or waits for a cut, and returns their status.
fn settle(handle: &RunHandle) -> [SideStatus; 2] {
    for side in Side::BOTH {
        assert!(
            handle.wait_for(side, PATIENCE, |s| s.stopped || s.awaits_cut),
            "{side:?} neither finished nor asked for a cut: {:?}",
            handle.status()
        );
    }
    handle.status()
}

/// Plays a run as a user of wire mode would: whenever the wire holds bytes for a
/// reader that waits, `choose(first, last)` picks where to cut among the offsets
/// the user could put the caret on (after the last cut, up to the most any sender
/// has written), and whether to end the stream there. Returns the trace and the
/// cuts made, as the TUI's flag would show them.
fn play(
    slug: &str,
    lang: Lang,
    seed: u64,
    mut choose: impl FnMut(usize, usize) -> (usize, Option<WireEnd>),
) -> (Trace, FixedCuts) {
    let (_, lesson) = teaching::find(slug).unwrap();
    let handle = lesson
        .start_in(
            lang,
            RunOptions {
                seed,
                cut_by_hand: true,
                ..RunOptions::default()
            },
        )
        .unwrap();
    assert!(
        handle.cuts().is_empty(),
        "{slug}: wire mode cuts nowhere by itself"
    );
    let mut made = 0;
    loop {
        let status = settle(&handle);
        if status.iter().all(|s| s.stopped) {
            break;
        }
        let cuts = handle.cuts_by_hand();
        let first = cuts.offsets().last().copied().unwrap_or(0) + 1;
        // The caret goes as far as any sender has written, within the lesson's stream.
        let (stream, _) = handle.stream();
        let last = status
            .iter()
            .map(|s| s.sent as usize)
            .max()
            .unwrap()
            .min(stream.len());
        assert!(
            first <= last,
            "{slug}: a side asks for a cut with nothing to cut: {status:?} after {cuts:?}"
        );
        let (cut, end) = choose(first, last);
        handle.cut(cut, end).unwrap();
        made += 1;
        assert!(made < 10_000, "{slug}: the cuts never end");
    }
    let cuts = handle.cuts_by_hand();
    (handle.join().unwrap(), cuts)
}

/// One call as the comparison sees it: who, what, asked, moved, bytes, result.
type CallSeen = (Role, Call, usize, usize, Vec<u8>, CallResult);

/// What a side did, without the clock.
fn calls(trace: &Trace, side: Side) -> Vec<CallSeen> {
    trace
        .side(side)
        .events
        .iter()
        .map(|e| {
            (
                e.role,
                e.call,
                e.asked,
                e.moved,
                e.bytes.clone(),
                e.result.clone(),
            )
        })
        .collect()
}

fn replay(slug: &str, lang: Lang, seed: u64, cuts: FixedCuts) -> Trace {
    let (_, lesson) = teaching::find(slug).unwrap();
    lesson
        .run_in(
            lang,
            RunOptions {
                seed,
                cuts: Some(cuts),
                ..RunOptions::default()
            },
        )
        .unwrap()
}

/// A lesson whose sender writes into tiny socket buffers on purpose (partial-send):
/// there what a `send()` returns depends on when the relay drains the kernel's
/// buffers. Awaiting a cut, the relay reads all the sender writes (so that the user
/// can cut anywhere in it), while `--cuts` reads only up to the next cut; the
/// receivers get the same pieces and make the same calls, but the sender's `send()`
/// calls come back short at other places.
fn sender_buffers_are_tuned(slug: &str) -> bool {
    let (_, lesson) = teaching::find(slug).unwrap();
    (lesson.scenario)().sender_socket != SocketTuning::default()
}

fn assert_replays(slug: &str, lang: Lang, seed: u64, wired: &Trace, made: &FixedCuts) {
    let flag = made.for_stream(wired.stream.len());
    let replayed = replay(slug, lang, seed, flag.clone());
    let tuned = sender_buffers_are_tuned(slug);
    for side in Side::BOTH {
        let (mut wired_calls, mut replayed_calls) = (calls(wired, side), calls(&replayed, side));
        if tuned {
            wired_calls.retain(|call| call.0 != Role::Sender);
            replayed_calls.retain(|call| call.0 != Role::Sender);
        }
        if wired_calls != replayed_calls {
            let at = (0..)
                .find(|&i| wired_calls.get(i) != replayed_calls.get(i))
                .unwrap();
            let brief = |calls: &[CallSeen]| {
                calls[at.saturating_sub(3)..calls.len().min(at + 3)]
                    .iter()
                    .map(|(role, call, asked, moved, _, result)| {
                        format!("{role:?} {call:?}({asked}) moved {moved} {result:?}")
                    })
                    .collect::<Vec<_>>()
            };
            panic!(
                "{slug} {lang:?} seed {seed} {side:?}: {} does not replay the wire: from call {at}\nwired:    {:#?}\nreplayed: {:#?}",
                flag.flag(),
                brief(&wired_calls),
                brief(&replayed_calls)
            );
        }
        assert_eq!(
            wired.side(side).outcome,
            replayed.side(side).outcome,
            "{slug} {side:?}"
        );
    }
}

/// Every lesson, cut by hand at random places: the run `--cuts` gives with the
/// cuts made is the same run, call for call, on both sides.
#[test]
fn run_cuts_replays_every_lesson_cut_by_hand() {
    for lesson in teaching::all() {
        for seed in 1..=3u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed * 7919);
            let (wired, made) = play(lesson.slug, Lang::Rust, seed, |first, last| {
                (rng.random_range(first..=last), None)
            });
            assert_replays(lesson.slug, Lang::Rust, seed, &wired, &made);
        }
    }
}

/// The one lesson replayed without its sender's calls is really that one.
#[test]
fn only_partial_send_tunes_its_sender_buffers() {
    let tuned: Vec<&str> = teaching::all()
        .iter()
        .map(|lesson| lesson.slug)
        .filter(|slug| sender_buffers_are_tuned(slug))
        .collect();
    assert_eq!(tuned, ["partial-send"]);
}

#[test]
fn python_code_cut_by_hand_replays_too() {
    for slug in ["length-prefix", "delimiter", "leftover"] {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (wired, made) = play(slug, Lang::Python, 1, |first, last| {
            (rng.random_range(first..=last), None)
        });
        assert!(!made.offsets().is_empty(), "{slug}: no cut was asked for");
        assert_replays(slug, Lang::Python, 1, &wired, &made);
    }
}

/// One byte at a time: every piece is exactly the one the user made, on both sides.
#[test]
fn both_receivers_get_exactly_the_pieces_made() {
    let (wired, made) = play("length-prefix", Lang::Rust, 1, |first, _| (first, None));
    let len = wired.stream.len();
    assert_eq!(made.offsets(), (1..=len).collect::<Vec<_>>());
    let one_by_one: Vec<(usize, usize)> = (0..len).map(|offset| (offset, 1)).collect();
    assert_eq!(pieces(&wired, Side::Correct), one_by_one);
    // The naive side may end early (it fails), but what it got came the same way.
    let naive = pieces(&wired, Side::Naive);
    assert!(
        !naive.is_empty() && one_by_one.starts_with(&naive),
        "{naive:?}"
    );
    assert_eq!(wired.cuts, made.offsets());
}

/// `F` at the caret: the receivers get the bytes up to it, then the end of the
/// stream; the naive side takes the cut-off message for a whole one or fails, and
/// the rest never arrives.
#[test]
fn a_close_by_hand_ends_the_stream_at_the_caret() {
    let mut asked = 0;
    let (wired, made) = play("length-prefix", Lang::Rust, 1, |first, last| {
        asked += 1;
        if asked == 1 {
            (first + 9, None)
        } else {
            (first.max(last.min(first + 3)), Some(WireEnd::Close))
        }
    });
    let end = made.end_offset();
    assert_eq!(made.end(), Some(WireEnd::Close));
    assert!(end < wired.stream.len(), "{made:?}");
    for side in Side::BOTH {
        let got: usize = pieces(&wired, side).iter().map(|(_, len)| len).sum();
        assert_eq!(got, end, "{side:?}: only the bytes before the close arrive");
        let recvs = &wired.side(side).events;
        assert!(
            !recvs
                .iter()
                .any(|e| e.role == Role::Relay && e.call == Call::Abort),
            "{side:?}: a close is no reset"
        );
    }
    // The correct side knows a message was cut off: it never delivers a partial one.
    assert!(
        !matches!(wired.correct.outcome, Outcome::Wrong { .. }),
        "{:?}",
        wired.correct.outcome
    );
    assert_replays("length-prefix", Lang::Rust, 1, &wired, &made);
}

/// `R` at the caret: both receivers meet a reset after the bytes before it.
#[test]
fn a_reset_by_hand_reaches_both_receivers() {
    let (wired, made) = play("length-prefix", Lang::Rust, 2, |first, _| {
        (first + 4, Some(WireEnd::Reset))
    });
    assert_eq!(made.offsets(), [5]);
    for side in Side::BOTH {
        assert_eq!(pieces(&wired, side), [(0, 5)], "{side:?}");
        assert!(
            wired
                .side(side)
                .events
                .iter()
                .any(|e| e.role == Role::Relay && e.call == Call::Abort),
            "{side:?}: the reset is recorded"
        );
    }
    assert_replays("length-prefix", Lang::Rust, 2, &wired, &made);
}

#[test]
fn wire_mode_needs_lockstep() {
    let (_, lesson) = teaching::find("welcome").unwrap();
    let error = lesson
        .start(RunOptions {
            cut_by_hand: true,
            mode: Mode::FreeRun,
            ..RunOptions::default()
        })
        .err()
        .unwrap();
    assert!(matches!(
        error,
        EngineError::WireNeedsLockstep(Mode::FreeRun)
    ));
    assert_eq!(
        error.to_string(),
        "wire mode needs lockstep, where the relay waits for each recv() (free-run does not)"
    );
}
