//! Every lesson's correct code is correct outside sockstep: run over one plain
//! loopback connection (no relay, no step gate, no cuts but the kernel's), against
//! fast, slow and interrupted peers, it delivers every message.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::Duration;

use sockstep::engine::{Inbox, Pacing, Sock, is_report, loopback_pair};
use sockstep::lesson::Lesson;
use sockstep::teaching;

mod common;

use common::{FAST, SLOW, SLOWLY};

/// How long a call may wait before the test fails instead of hanging.
const BACKSTOP: Duration = Duration::from_secs(20);

/// Runs the lesson's correct sender and receiver against each other over a plain
/// connection with the lesson's socket settings; returns what the receiver delivered.
fn run_plain(lesson: &Lesson, sender: Pacing, receiver: Pacing) -> Vec<Vec<u8>> {
    let scenario = (lesson.scenario)();
    let (client, server) = loopback_pair(scenario.sender_socket).expect("loopback pair");
    for stream in [&client, &server] {
        stream.set_read_timeout(Some(BACKSTOP)).unwrap();
    }
    if scenario.sender_socket.send_timeout.is_none() {
        client.set_write_timeout(Some(BACKSTOP)).unwrap();
    }
    server.set_write_timeout(Some(BACKSTOP)).unwrap();
    let data: Vec<Vec<u8>> = scenario
        .messages
        .iter()
        .filter(|m| !is_report(m))
        .cloned()
        .collect();
    let program = lesson.correct;
    let (sent, received) = thread::scope(|scope| {
        let sending = scope.spawn(|| (program.send)(&mut Sock::plain(client, sender), &data));
        let receiving = scope.spawn(|| {
            let mut inbox = Inbox::plain();
            (program.recv)(&mut Sock::plain(server, receiver), &mut inbox).map(|()| inbox)
        });
        (sending.join().unwrap(), receiving.join().unwrap())
    });
    let label = format!("{} (sender {sender:?}, receiver {receiver:?})", lesson.slug);
    if let Err(error) = sent {
        panic!("{label}: the correct sender failed: {error}");
    }
    let delivered = match received {
        Ok(inbox) => inbox.delivered(),
        Err(error) => panic!("{label}: the correct receiver failed: {error}"),
    };
    assert_eq!(
        delivered
            .iter()
            .map(|m| String::from_utf8_lossy(m))
            .collect::<Vec<_>>(),
        scenario
            .messages
            .iter()
            .map(|m| String::from_utf8_lossy(m))
            .collect::<Vec<_>>(),
        "{label}: every message arrives"
    );
    delivered
}

fn every_lesson(sender: Pacing, receiver: Pacing) {
    for lesson in teaching::all() {
        run_plain(lesson, sender, receiver);
    }
}

const INTERRUPTED: Pacing = Pacing {
    pause: Duration::ZERO,
    interrupt: true,
};

#[test]
fn correct_code_delivers_between_fast_peers() {
    every_lesson(FAST, FAST);
}

#[test]
fn correct_code_delivers_to_a_slow_reader() {
    every_lesson(FAST, SLOWLY);
}

#[test]
fn correct_code_delivers_from_a_slow_writer() {
    every_lesson(SLOWLY, FAST);
}

#[test]
fn correct_code_retries_calls_interrupted_by_a_signal() {
    every_lesson(INTERRUPTED, INTERRUPTED);
}

/// The case the issue found: partial-send's correct client, with its tight socket,
/// against a plain std reader that reads every 20 ms, much longer than the client's
/// send timeout: some of its writes find no room at all for the whole timeout.
#[test]
fn partial_send_correct_client_fills_a_plain_std_reader() {
    // Interrupted too: then its waits for room are interrupted as well.
    for pacing in [FAST, INTERRUPTED] {
        fill_a_slow_std_reader(pacing);
    }
}

fn fill_a_slow_std_reader(pacing: Pacing) {
    let lesson = teaching::find("partial-send").unwrap().1;
    let scenario = (lesson.scenario)();
    let (client, mut server) = loopback_pair(scenario.sender_socket).unwrap();
    server.set_read_timeout(Some(BACKSTOP)).unwrap();
    let reader = thread::spawn(move || -> io::Result<Vec<u8>> {
        let mut all = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            thread::sleep(SLOW * 4);
            match server.read(&mut chunk)? {
                0 => return Ok(all),
                n => all.extend_from_slice(&chunk[..n]),
            }
        }
    });
    let sent = (lesson.correct.send)(&mut Sock::plain(client, pacing), &scenario.messages);
    let received = reader.join().unwrap().expect("the reader reads to the end");
    sent.expect("the correct client sends the whole upload");
    assert_eq!(received, scenario.messages.concat());
}

/// The plain socket really is plain: a std peer sees exactly the bytes written.
#[test]
fn a_plain_sock_writes_real_bytes() {
    let (client, mut server) = loopback_pair(Default::default()).unwrap();
    let mut sock = Sock::plain(client, FAST);
    sock.write_all(b"hello").unwrap();
    drop(sock);
    let mut got = Vec::new();
    server.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"hello");
}

/// Every lesson's correct receiver against a plain std writer that writes the
/// lesson's stream a few bytes at a time, every 5 ms, then ends its stream and reads
/// whatever the receiver answered. A scenario that lists reports needs its own
/// failing peer to make them, so it is left to the tests above.
#[test]
fn correct_receivers_deliver_from_a_slow_std_writer() {
    for lesson in teaching::all() {
        let scenario = (lesson.scenario)();
        if scenario.messages.iter().any(|m| is_report(m)) {
            continue;
        }
        let (stream, _) = scenario.framing.encode(&scenario.messages);
        let (mut client, server) = loopback_pair(Default::default()).unwrap();
        for s in [&client, &server] {
            s.set_read_timeout(Some(BACKSTOP)).unwrap();
            s.set_write_timeout(Some(BACKSTOP)).unwrap();
        }
        let writer = thread::spawn(move || -> io::Result<()> {
            // At most 40 writes, so that a long stream takes no more than 0.2 s.
            for piece in stream.chunks(stream.len().div_ceil(40).max(3)) {
                thread::sleep(SLOW);
                client.write_all(piece)?;
            }
            client.shutdown(Shutdown::Write)?;
            // Read the answers, so that the receiver's writes never wait for room.
            client.read_to_end(&mut Vec::new()).map(|_| ())
        });
        let mut inbox = Inbox::plain();
        let received = (lesson.correct.recv)(&mut Sock::plain(server, FAST), &mut inbox);
        match writer.join().unwrap() {
            // A receiver that refuses the stream (max-frame's lie) hangs up with bytes
            // unread: its kernel resets the connection, and the writer sees that.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ) => {}
            other => {
                other.unwrap_or_else(|e| panic!("{}: the std writer failed: {e}", lesson.slug))
            }
        }
        received.unwrap_or_else(|e| panic!("{}: the correct receiver failed: {e}", lesson.slug));
        assert_eq!(inbox.delivered(), scenario.messages, "{}", lesson.slug);
    }
}
