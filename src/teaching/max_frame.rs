//! Lesson: a length prefix comes from the peer; check it before you believe it.

use std::io;

use crate::lesson::{Demo, Limit};

use crate::engine::{
    CutAt, CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock,
    SocketTuning,
};

/// The protocol: each frame starts with its length as a 4-byte big-endian number...
pub const PREFIX_LEN: usize = 4;
/// ...and no frame may be longer than this.
pub const MAX_FRAME: usize = 64 * 1024;

/// What the lying prefix claims: almost 4 GB.
pub const CLAIMED: u32 = 4_000_000_000;
/// What the peer then sends of that frame, before it sits and waits for an answer.
pub const SENT_OF_IT: &[u8] = b"the first bytes of a 4 GB frame, and then nothing";

pub const DEMO: Demo = Demo {
    scenario,
    naive: Program { send, recv: naive },
    correct: Program {
        send,
        recv: correct,
    },
    teaches: OutcomeKind::Stuck,
    receiver_limit: Some(Limit {
        name: "MAX_FRAME",
        bytes: MAX_FRAME,
    }),
};

/// The bytes after the honest frames: the lying prefix and the start of its "frame".
pub fn the_lie() -> Vec<u8> {
    let mut lie = CLAIMED.to_be_bytes().to_vec();
    lie.extend_from_slice(SENT_OF_IT);
    lie
}

pub fn scenario() -> Scenario {
    let messages: Vec<Vec<u8>> = ["hello", "a frame that tells the truth", "one more"]
        .iter()
        .map(|m| m.as_bytes().to_vec())
        .collect();
    // The lie starts after the honest frames; a cut right after its prefix keeps the
    // bytes that follow it from reaching a receiver that stopped at the prefix.
    let lie_at: usize = messages.iter().map(|m| PREFIX_LEN + m.len()).sum();
    Scenario {
        messages,
        framing: Framing::Tailed {
            framing: Box::new(Framing::BinaryLength { width: PREFIX_LEN }),
            tail: the_lie(),
        },
        cuts: CutPlan::pieces(Pieces::Uniform { min: 2, max: 11 }).with_cut(CutAt::Offset {
            offset: lie_at + PREFIX_LEN,
        }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: send
/// A peer that sends honest frames, then a prefix that claims CLAIMED bytes and a
/// few of them, and then waits for an answer with the connection open.
pub fn send(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    for message in messages {
        let len = u32::try_from(message.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message too long"))?;
        sock.write_all(&len.to_be_bytes())?;
        sock.write_all(message)?;
    }
    sock.write_all(&the_lie())?;
    // Wait for the answer: a line, or the server hanging up. A server that hangs up
    // with our bytes unread resets the connection: that is hanging up too.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 256];
    while !answer.contains(&b'\n') && answer.len() < 1024 {
        match sock.recv(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {} // a signal: again
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
// ANCHOR_END: send

// ANCHOR: prefix
/// Reads the 4-byte prefix in as many recv() calls as it takes.
/// `None`: the peer closed between frames.
fn read_prefix(sock: &mut Sock) -> io::Result<Option<usize>> {
    let mut prefix = [0u8; PREFIX_LEN];
    let mut got = 0;
    while got < PREFIX_LEN {
        let n = match sock.recv(&mut prefix[got..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
    }
    Ok(Some(u32::from_be_bytes(prefix) as usize))
}
// ANCHOR_END: prefix

// ANCHOR: naive
pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    while let Some(len) = read_prefix(sock)? {
        // Believes the prefix, whatever it says, and collects that many bytes.
        let mut body = Vec::new();
        let mut chunk = [0u8; 4096];
        while body.len() < len {
            let want = (len - body.len()).min(chunk.len());
            let n = sock.recv(&mut chunk[..want])?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            body.extend_from_slice(&chunk[..n]); // grows with every byte that comes
        }
        inbox.deliver(&body);
    }
    Ok(())
}
// ANCHOR_END: naive

// ANCHOR: correct
/// Reads one frame, refusing any prefix over MAX_FRAME before reading its body.
fn read_frame(sock: &mut Sock) -> io::Result<Option<Vec<u8>>> {
    let Some(len) = read_prefix(sock)? else {
        return Ok(None);
    };
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes is over the limit of {MAX_FRAME}"),
        ));
    }
    let mut body = vec![0u8; len]; // at most MAX_FRAME
    let mut got = 0;
    while got < len {
        let n = match sock.recv(&mut body[got..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
    }
    Ok(Some(body))
}

pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    loop {
        match read_frame(sock) {
            Ok(Some(body)) => inbox.deliver(&body),
            Ok(None) => return Ok(()), // closed between frames
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                // The peer broke the protocol. Say why, and hang up: after a bad
                // prefix, nothing tells where the next frame would start.
                sock.write_all(format!("ERR {error}\n").as_bytes())?;
                return Ok(());
            }
            Err(error) => return Err(error),
        }
    }
}
// ANCHOR_END: correct
