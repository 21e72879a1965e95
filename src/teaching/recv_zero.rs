//! Lesson: a read that returns 0 means the peer has closed its side.

use std::io;

use crate::lesson::Demo;

use crate::engine::{
    CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock, SocketTuning,
};

pub const DEMO: Demo = Demo {
    scenario,
    naive: Program { send, recv: naive },
    correct: Program {
        send,
        recv: correct,
    },
    teaches: OutcomeKind::Spinning,
    receiver_limit: None,
};

pub fn scenario() -> Scenario {
    Scenario {
        // One message that ends where the connection ends.
        messages: vec![b"line one\nline two\nthe end, then I close\n".to_vec()],
        framing: Framing::Raw,
        cuts: CutPlan::pieces(Pieces::Uniform { min: 4, max: 12 }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: send
pub fn send(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    for message in messages {
        sock.write_all(message)?;
    }
    Ok(()) // returning drops the socket: the peer's next recv() returns 0
}
// ANCHOR_END: send

// ANCHOR: naive
pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16];
    loop {
        match sock.recv(&mut buf) {
            Ok(0) => continue, // "nothing yet, try again": but 0 means closed
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(_) => break, // expects the end to show up as an error
        }
    }
    inbox.deliver(&data);
    Ok(())
}
// ANCHOR_END: naive

// ANCHOR: correct
pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16];
    loop {
        let n = match sock.recv(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            break; // the peer closed: nothing more will ever come
        }
        data.extend_from_slice(&buf[..n]);
    }
    inbox.deliver(&data);
    Ok(())
}
// ANCHOR_END: correct
