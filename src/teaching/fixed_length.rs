//! Lesson: every message is exactly MSGLEN bytes, padded if it is shorter.

use std::io;

use crate::lesson::Demo;

use crate::engine::{
    CutAt, CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock,
    SocketTuning,
};

/// The protocol: every message is exactly this many bytes on the wire...
pub const MSGLEN: usize = 16;
/// ...filled up with this byte, which no message ends with.
pub const PAD: u8 = 0;

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
    // Binary data too: the third message has NUL bytes inside it.
    let messages: [&[u8]; 4] = [b"hello", b"temperature 21C", b"id\0\x07\0\x2a raw", b"bye"];
    Scenario {
        messages: messages.iter().map(|m| m.to_vec()).collect(),
        framing: Framing::FixedLength {
            size: MSGLEN,
            pad: PAD,
        },
        // The first message always arrives in two parts; the rest as the seed cuts.
        cuts: CutPlan::pieces(Pieces::Uniform { min: 5, max: 20 })
            .with_cut(CutAt::Within { message: 0 }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: class
/// A socket that sends and receives messages of exactly MSGLEN bytes.
pub struct FixedSocket<'a> {
    sock: &'a mut Sock,
}

impl<'a> FixedSocket<'a> {
    pub fn new(sock: &'a mut Sock) -> Self {
        FixedSocket { sock }
    }

    /// Pads `message` to MSGLEN bytes and sends them all, in as many send() calls
    /// as the kernel needs.
    pub fn send_message(&mut self, message: &[u8]) -> io::Result<()> {
        if message.len() > MSGLEN || message.last() == Some(&PAD) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a message is at most 16 bytes and does not end in a NUL byte",
            ));
        }
        let mut frame = [PAD; MSGLEN];
        frame[..message.len()].copy_from_slice(message);
        let mut sent = 0;
        while sent < MSGLEN {
            let n = match self.sock.send(&frame[sent..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
                n => n?,
            };
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            sent += n;
        }
        Ok(())
    }
}
// ANCHOR_END: class

// ANCHOR: unpad
/// The message without the padding after it.
fn unpad(frame: &[u8]) -> &[u8] {
    let len = frame
        .iter()
        .rposition(|&b| b != PAD)
        .map_or(0, |last| last + 1);
    &frame[..len]
}
// ANCHOR_END: unpad

// ANCHOR: msglen_mistake
/// The mistake: a send loop that counts to MSGLEN over the message itself, with no
/// padded frame. A shorter message runs out first: the next `send()` gets an empty
/// slice and returns 0, which this loop takes for a broken connection. A longer one
/// goes out whole, and every frame after it is out of step.
pub fn send_unpadded(sock: &mut Sock, message: &[u8]) -> io::Result<()> {
    let mut sent = 0;
    while sent < MSGLEN {
        let n = sock.send(&message[sent..])?;
        if n == 0 {
            return Err(io::Error::other("socket connection broken"));
        }
        sent += n;
    }
    Ok(())
}
// ANCHOR_END: msglen_mistake

// ANCHOR: send
pub fn send(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    let mut sock = FixedSocket::new(sock);
    for message in messages {
        sock.send_message(message)?;
    }
    Ok(())
}
// ANCHOR_END: send

// ANCHOR: naive
pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    loop {
        let mut frame = [0u8; MSGLEN];
        let n = sock.recv(&mut frame)?; // one recv(), as if it always returned MSGLEN bytes
        if n == 0 {
            return Ok(());
        }
        inbox.deliver(unpad(&frame));
    }
}
// ANCHOR_END: naive

// ANCHOR: correct
impl FixedSocket<'_> {
    /// Receives exactly MSGLEN bytes, in as many recv() calls as that takes, and
    /// strips the padding. `None`: the peer closed between messages.
    pub fn recv_message(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut frame = [0u8; MSGLEN];
        let mut got = 0;
        while got < MSGLEN {
            let n = match self.sock.recv(&mut frame[got..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
                n => n?,
            };
            if n == 0 {
                if got == 0 {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed in the middle of a message",
                ));
            }
            got += n;
        }
        Ok(Some(unpad(&frame).to_vec()))
    }
}

pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut sock = FixedSocket::new(sock);
    while let Some(message) = sock.recv_message()? {
        inbox.deliver(&message);
    }
    Ok(())
}
// ANCHOR_END: correct
