//! Lesson: a read returns what has arrived, not a message.

use std::io;

use crate::lesson::Demo;

use crate::engine::{
    CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock, SocketTuning,
};

/// The protocol: the client sends one greeting of exactly this many bytes.
pub const GREETING_LEN: usize = 32;

pub const DEMO: Demo = Demo {
    scenario,
    naive: Program { send, recv: naive },
    correct: Program {
        send,
        recv: correct,
    },
    teaches: OutcomeKind::Wrong,
    receiver_limit: None,
};

pub fn scenario() -> Scenario {
    let greeting = b"HELO sockstep: 32 bytes, exactly".to_vec();
    debug_assert_eq!(greeting.len(), GREETING_LEN);
    Scenario {
        messages: vec![greeting],
        framing: Framing::Raw,
        // Every piece is shorter than the greeting, so it always arrives in parts.
        cuts: CutPlan::pieces(Pieces::Uniform { min: 3, max: 14 }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: send
pub fn send(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    for message in messages {
        sock.write_all(message)?; // loops until the kernel took every byte
    }
    Ok(())
}
// ANCHOR_END: send

// ANCHOR: naive
pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut greeting = [0u8; GREETING_LEN];
    // One recv() for one message: it returns whatever has arrived so far.
    let n = sock.recv(&mut greeting)?;
    inbox.deliver(&greeting[..n]);
    Ok(())
}
// ANCHOR_END: naive

// ANCHOR: correct
pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut greeting = [0u8; GREETING_LEN];
    let mut got = 0;
    while got < GREETING_LEN {
        // Ask only for the bytes still missing, and add them after the others.
        let n = match sock.recv(&mut greeting[got..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed before the whole greeting arrived",
            ));
        }
        got += n;
    }
    inbox.deliver(&greeting);
    Ok(())
}
// ANCHOR_END: correct
