//! Lesson: a length prefix is bytes on a stream too, and can arrive split.

use std::io;

use crate::lesson::Demo;

use crate::engine::{
    CutAt, CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock,
    SocketTuning,
};

/// The protocol: each message is preceded by its length in five ASCII digits.
pub const PREFIX_LEN: usize = 5;

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
    let messages = ["hello", "how are you?", "fine, and you?", "bye"];
    Scenario {
        messages: messages.iter().map(|m| m.as_bytes().to_vec()).collect(),
        framing: Framing::AsciiLength { digits: PREFIX_LEN },
        // The first prefix always arrives split after its second digit.
        cuts: CutPlan::pieces(Pieces::Uniform { min: 2, max: 9 })
            .with_cut(CutAt::InFrame { message: 0, at: 2 }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: send
pub fn send(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    for message in messages {
        if message.len() > 99_999 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a message longer than 99,999 bytes does not fit five digits",
            ));
        }
        let prefix = format!("{:05}", message.len());
        sock.write_all(prefix.as_bytes())?;
        sock.write_all(message)?;
    }
    Ok(())
}
// ANCHOR_END: send

// ANCHOR: parse
fn parse_length(digits: &[u8]) -> io::Result<usize> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            let shown = String::from_utf8_lossy(digits);
            io::Error::new(io::ErrorKind::InvalidData, format!("bad length {shown:?}"))
        })
}
// ANCHOR_END: parse

// ANCHOR: recv_all
/// Calls recv() until `buf` is full or the peer closes; returns how much arrived.
fn recv_all(sock: &mut Sock, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = match sock.recv(&mut buf[got..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            break; // closed
        }
        got += n;
    }
    Ok(got)
}
// ANCHOR_END: recv_all

// ANCHOR: naive
pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    loop {
        let mut prefix = [0u8; PREFIX_LEN];
        let n = sock.recv(&mut prefix)?; // assumes all five digits come in one read
        if n == 0 {
            return Ok(());
        }
        let len = parse_length(&prefix[..n])?;
        let mut body = vec![0u8; len];
        if recv_all(sock, &mut body)? < len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        inbox.deliver(&body);
    }
}
// ANCHOR_END: naive

// ANCHOR: correct
pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    loop {
        let mut prefix = [0u8; PREFIX_LEN];
        let got = recv_all(sock, &mut prefix)?; // loop one: the whole prefix
        if got == 0 {
            return Ok(()); // closed between messages: a clean end
        }
        if got < PREFIX_LEN {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed in the middle of a length prefix",
            ));
        }
        let len = parse_length(&prefix)?; // five digits: never more than 99,999
        let mut body = vec![0u8; len];
        let got = recv_all(sock, &mut body)?; // loop two: the whole body
        if got < len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed in the middle of a message",
            ));
        }
        inbox.deliver(&body);
    }
}
// ANCHOR_END: correct
