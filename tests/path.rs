//! The path view's model (`render::path`) against real runs: the send queue full at
//! a short write, a request in the sender's own buffer until `flush()`, the held and
//! dropped bytes of leftover, and the receive queue as the kernel measured it.

mod common;

use sockstep::engine::{Call, Mode, Role, Side, Trace};
use sockstep::render::path::{self, Fate, Path};

fn path_after(trace: &Trace, side: Side, upto: usize) -> Path {
    let events = &trace.side(side).events;
    path::path_at(
        events,
        &trace.stream,
        &trace.spans,
        &trace.cuts,
        trace.mode != Mode::Direct,
        upto,
        upto >= events.len(),
    )
}

fn fates_after(trace: &Trace, side: Side, upto: usize) -> Vec<Fate> {
    let events = &trace.side(side).events;
    path::fates(
        events,
        &trace.stream,
        &trace.spans,
        upto,
        upto >= events.len(),
    )
}

/// Leftover's correct reader keeps what follows each line: at every step the bytes
/// it holds are exactly what it received after the last line it returned and that
/// line's newline, nothing is ever dropped, and at the end everything was delivered.
#[test]
fn leftovers_correct_side_holds_what_it_received_past_the_last_line() {
    for seed in 1..=5 {
        let trace = common::run("leftover", seed, Mode::Lockstep);
        let events = &trace.correct.events;
        let mut received = Vec::new();
        let mut consumed = 0;
        let mut ever_held = 0;
        for (index, event) in events.iter().enumerate() {
            if event.role == Role::Receiver && event.call == Call::Recv {
                received.extend_from_slice(&event.bytes);
            }
            if event.call == Call::Deliver {
                consumed += event.bytes.len() + 1; // the line and its newline
            }
            let path = path_after(&trace, Side::Correct, index + 1);
            assert_eq!(
                path.held,
                received[consumed..],
                "seed {seed}, after event {index}: held = received − delivered − framing"
            );
            ever_held = ever_held.max(path.held.len());
            assert_eq!(
                path.dropped, 0,
                "seed {seed}: the correct side drops nothing"
            );
        }
        assert!(
            ever_held > 0,
            "seed {seed}: the correct side never held a leftover"
        );
        let end = fates_after(&trace, Side::Correct, events.len());
        assert!(
            end.iter()
                .all(|f| matches!(f, Fate::Message(_) | Fate::Framing(_))),
            "seed {seed}: {end:?}"
        );
    }
}

/// Leftover's naive reader drops what came after the first line with its buffer.
/// The run shows it when the next line it returns skips those bytes: from that step
/// they are dropped, and until then they count as read and not yet delivered.
#[test]
fn leftovers_naive_side_drops_the_rest_of_each_read() {
    let trace = common::run("leftover", 1, Mode::Lockstep);
    let events = &trace.naive.events;
    let deliveries: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.call == Call::Deliver)
        .map(|(index, _)| index)
        .collect();
    assert_eq!(events[deliveries[0]].bytes, b"NICK ada");
    let first_read = events
        .iter()
        .find(|e| e.role == Role::Receiver && e.call == Call::Recv)
        .unwrap();
    let rest = &first_read.bytes[9..];
    assert!(rest.starts_with(b"USER ada 0 * :Ada\n"), "{rest:?}");

    let fates = fates_after(&trace, Side::Naive, deliveries[0] + 1);
    assert_eq!(fates.len(), first_read.bytes.len());
    assert!(fates[..8].iter().all(|f| *f == Fate::Message(0)));
    assert_eq!(fates[8], Fate::Framing(0));
    assert!(fates[9..].iter().all(|f| *f == Fate::Held));
    assert_eq!(
        path_after(&trace, Side::Naive, deliveries[0] + 1).held,
        rest
    );

    // The second line it returns starts past them: they were dropped.
    let fates = fates_after(&trace, Side::Naive, deliveries[1] + 1);
    assert!(
        fates[9..first_read.bytes.len()]
            .iter()
            .all(|f| *f == Fate::Dropped),
        "{fates:?}"
    );
    let after = path_after(&trace, Side::Naive, deliveries[1] + 1);
    assert!(after.dropped >= rest.len(), "{after:?}");
    // At the end nothing is held: what was never delivered was dropped.
    let end = path_after(&trace, Side::Naive, events.len());
    assert!(end.held.is_empty());
    let received: usize = events
        .iter()
        .filter(|e| e.role == Role::Receiver && e.call == Call::Recv)
        .map(|e| e.moved)
        .sum();
    let delivered: usize = end.delivered.iter().map(|m| m.len() + 1).sum();
    assert_eq!(end.dropped, received - delivered);
}

/// Flush's requests sit in the sender's own buffer until `flush()`: the naive
/// client never flushes, so its 24 request bytes are there at every step and nothing
/// ever reaches its send queue or the server; the correct one's leave at the flush.
#[test]
fn flushs_requests_stay_in_the_senders_own_buffer_until_flush() {
    let trace = common::run("flush", 1, Mode::Lockstep);
    let requests: Vec<u8> = trace.messages.concat();
    assert_eq!(requests.len(), 24);
    let naive = &trace.naive.events;
    let buffered = |side: Side, upto: usize| -> Vec<u8> {
        let path = path_after(&trace, side, upto);
        path.sender_buffer
            .map(|queue| queue.bytes)
            .unwrap_or_default()
    };
    assert_eq!(buffered(Side::Naive, naive.len()), requests);
    let path = path_after(&trace, Side::Naive, naive.len());
    assert_eq!(
        path.sender_buffer.unwrap().limit,
        Some(8192),
        "BufWriter's capacity"
    );
    assert_eq!(path.send_queue.unwrap().len, 0);
    assert_eq!(path.wire.unwrap().bytes, b"");
    assert_eq!(path.recv_queue.unwrap().len, 0);

    let correct = &trace.correct.events;
    let flush = correct.iter().position(|e| e.call == Call::Flush).unwrap();
    // flush() is recorded once it returns, after the send() it made: the bytes
    // leave the buffer with that send.
    let send = correct
        .iter()
        .position(|e| e.role == Role::Sender && e.call == Call::Send)
        .unwrap();
    assert!(send < flush);
    assert_eq!(buffered(Side::Correct, send), requests);
    assert!(buffered(Side::Correct, send + 1).is_empty());
    assert_eq!(
        path_after(&trace, Side::Correct, send + 1)
            .wire
            .unwrap()
            .bytes,
        requests,
        "counted once: on the wire, no longer in the buffer"
    );
}

/// With a relay the receive queue is counted (handed on, not yet read); the kernel's
/// FIONREAD after each of the receiver's calls says the same, on every lesson.
#[test]
fn the_counted_receive_queue_is_what_the_kernel_measured() {
    let mut compared = 0;
    for lesson in sockstep::teaching::all() {
        let trace = common::run(lesson.slug, 1, Mode::Lockstep);
        for side in Side::BOTH {
            let events = &trace.side(side).events;
            for (index, event) in events.iter().enumerate() {
                let Some(queues) = event.queues else { continue };
                if event.role != Role::Receiver {
                    continue;
                }
                let path = path_after(&trace, side, index + 1);
                assert_eq!(
                    path.recv_queue.unwrap().len,
                    queues.recv as usize,
                    "{} {side:?} event {index}: {event:?}",
                    lesson.slug
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "only {compared} measurements compared");
}

/// Partial-send: after each write that came back short the path's send queue is
/// full (3072 of a reported 4608 here: the kernel counts its bookkeeping too; see
/// tests/queues.rs), and the wire holds nothing the sender still has queued.
#[test]
fn partial_sends_send_queue_is_full_after_a_short_write() {
    let trace = common::run("partial-send", 1, Mode::Lockstep);
    let events = &trace.naive.events;
    let short = events
        .iter()
        .position(|e| e.role == Role::Sender && e.call == Call::Send && e.moved < e.asked)
        .expect("the naive write comes back short");
    let path = path_after(&trace, Side::Naive, short + 1);
    let queue = path.send_queue.expect("measured on Linux");
    let limit = queue.limit.expect("the first call records the limits");
    assert!(
        queue.len * 2 >= limit && queue.len <= limit,
        "{} of {limit}",
        queue.len
    );
    assert_eq!(queue.bytes.len(), queue.len);
    assert_eq!(
        queue.bytes[..],
        trace.stream[events[short].moved - queue.len..events[short].moved]
    );
}

/// A lesson's receiver limit shows for the sides whose code uses it, in both
/// languages: max-frame's naive server checks no maximum.
#[test]
fn the_receiver_limit_shows_for_the_sides_whose_code_uses_it() {
    use sockstep::lesson::Lang;
    for lang in [Lang::Rust, Lang::Python] {
        let max_frame = common::lesson("max-frame");
        assert_eq!(max_frame.receiver_limit(lang, Side::Naive), None);
        let limit = max_frame.receiver_limit(lang, Side::Correct).unwrap();
        assert_eq!((limit.name, limit.bytes), ("MAX_FRAME", 65536));
        let leftover = common::lesson("leftover");
        for side in Side::BOTH {
            let limit = leftover.receiver_limit(lang, side).unwrap();
            assert_eq!((limit.name, limit.bytes), ("MAX_LINE", 8192), "{lang:?}");
        }
        assert_eq!(
            common::lesson("welcome").receiver_limit(lang, Side::Correct),
            None
        );
    }
}
