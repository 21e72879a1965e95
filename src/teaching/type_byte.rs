//! Lesson: a type byte says how long the rest of the message is; it can arrive alone.

use std::io;

use crate::lesson::Demo;

use crate::engine::{
    CutAt, CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock,
    SocketTuning,
};

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
    let messages = [
        "T12:30:05",
        "P",
        "Ncall Ada back at 3pm",
        "T12:31:40",
        "Ndeploy went fine :-)",
        "P",
    ];
    Scenario {
        messages: messages.iter().map(|m| m.as_bytes().to_vec()).collect(),
        framing: Framing::TypeByte,
        // The first type byte always arrives alone; the rest as the seed cuts.
        cuts: CutPlan::pieces(Pieces::Uniform { min: 2, max: 12 })
            .with_cut(CutAt::InFrame { message: 0, at: 1 }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: types
/// The protocol: how many body bytes follow each type byte.
pub fn body_len(kind: u8) -> io::Result<usize> {
    match kind {
        b'P' => Ok(0),  // ping: the type byte alone
        b'T' => Ok(8),  // time of day, "HH:MM:SS"
        b'N' => Ok(20), // a note of exactly 20 bytes
        other => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unknown message type {:?}", other as char),
        )),
    }
}

/// The longest message: a type byte and the longest body.
pub const LONGEST: usize = 1 + 20;
// ANCHOR_END: types

// ANCHOR: send
pub fn send(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    for message in messages {
        let Some(&kind) = message.first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a message starts with its type byte",
            ));
        };
        if message.len() != 1 + body_len(kind)? {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the body's length does not match its type",
            ));
        }
        sock.write_all(message)?; // the type byte and the body, back to back
    }
    Ok(())
}
// ANCHOR_END: send

// ANCHOR: naive
pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    loop {
        let mut frame = [0u8; LONGEST];
        // One recv() for the type byte and its body: they were sent together...
        let n = sock.recv(&mut frame)?;
        if n == 0 {
            return Ok(());
        }
        let len = body_len(frame[0])?;
        inbox.deliver(&frame[..1 + len]); // ...so surely they arrived together
    }
}
// ANCHOR_END: naive

// ANCHOR: correct
/// Calls recv() until `buf` is full; a close before that is an error.
fn recv_exact(sock: &mut Sock, buf: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        let n = match sock.recv(&mut buf[got..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed in the middle of a message",
            ));
        }
        got += n;
    }
    Ok(())
}

pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    loop {
        let mut frame = [0u8; LONGEST];
        // Step one: the type byte. One byte cannot be split, but it can come alone.
        let n = match sock.recv(&mut frame[..1]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            return Ok(()); // closed between messages
        }
        // Step two: exactly as many bytes as the type says, however they arrive.
        let len = body_len(frame[0])?;
        recv_exact(sock, &mut frame[1..1 + len])?;
        inbox.deliver(&frame[..1 + len]);
    }
}
// ANCHOR_END: correct
