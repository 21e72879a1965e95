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
        &trace.spans,
        &trace.cuts,
        trace.mode != Mode::Direct,
        upto,
        true,
    )
}

fn fates_after(trace: &Trace, side: Side, upto: usize) -> Vec<Fate> {
    path::fates(&trace.side(side).events, &trace.spans, upto, true)
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

/// Leftover's naive reader drops what came after the first line with its buffer:
/// those bytes are dropped from the step it returned that line, and each dropped run
/// is the rest of a read after a delivered line.
#[test]
fn leftovers_naive_side_drops_the_rest_of_each_read() {
    let trace = common::run("leftover", 1, Mode::Lockstep);
    let events = &trace.naive.events;
    let first_delivery = events
        .iter()
        .position(|e| e.call == Call::Deliver)
        .expect("the naive side delivers a line");
    assert_eq!(events[first_delivery].bytes, b"NICK ada");
    let first_read = events
        .iter()
        .find(|e| e.role == Role::Receiver && e.call == Call::Recv)
        .unwrap();
    let fates = fates_after(&trace, Side::Naive, first_delivery + 1);
    assert_eq!(fates.len(), first_read.bytes.len());
    let dropped: Vec<u8> = first_read
        .bytes
        .iter()
        .zip(&fates)
        .filter(|(_, fate)| **fate == Fate::Dropped)
        .map(|(byte, _)| *byte)
        .collect();
    // "NICK ada" and its newline were the line; the rest of the read went with `buf`.
    assert_eq!(dropped, first_read.bytes[9..]);
    assert!(dropped.starts_with(b"USER ada 0 * :Ada\n"), "{dropped:?}");
    assert!(fates[..8].iter().all(|f| *f == Fate::Message(0)));
    assert_eq!(fates[8], Fate::Framing(0));
    // Just before that delivery, the same bytes were still in the reader's buffer.
    let before = path_after(&trace, Side::Naive, first_delivery);
    assert_eq!(before.held, first_read.bytes);
    let after = path_after(&trace, Side::Naive, first_delivery + 1);
    assert!(after.held.is_empty(), "{:?}", after.held);
    assert_eq!(after.dropped, dropped.len());
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
    assert_eq!(buffered(Side::Correct, flush), requests);
    assert!(buffered(Side::Correct, flush + 1).is_empty());
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
