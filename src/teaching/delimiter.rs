//! Lesson: messages end with a delimiter, and a read can end anywhere.

use std::io;

use crate::lesson::{Demo, Limit};

use crate::engine::{
    CutAt, CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock,
    SocketTuning,
};

/// The protocol: each message is a line, ended by this byte.
pub const DELIMITER: u8 = b'\n';
/// How much each recv() asks for.
pub const CHUNK: usize = 4096;
/// Longest line the receiver keeps, so a peer cannot make it buffer forever.
pub const MAX_LINE: usize = 8192;

pub const DEMO: Demo = Demo {
    scenario,
    naive: Program { send, recv: naive },
    correct: Program {
        send,
        recv: correct,
    },
    teaches: OutcomeKind::Wrong,
    receiver_limit: Some(Limit {
        name: "MAX_LINE",
        bytes: MAX_LINE,
    }),
};

pub fn scenario() -> Scenario {
    let lines = ["HELLO sockstep", "USER ada", "LIST inbox", "READ 3", "QUIT"];
    Scenario {
        messages: lines.iter().map(|l| l.as_bytes().to_vec()).collect(),
        framing: Framing::Delimiter {
            delimiter: DELIMITER,
        },
        // The first line always arrives in two parts; the rest as the seed cuts.
        cuts: CutPlan::pieces(Pieces::Uniform { min: 3, max: 24 })
            .with_cut(CutAt::Within { message: 0 }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: send
pub fn send(sock: &mut Sock, lines: &[Vec<u8>]) -> io::Result<()> {
    for line in lines {
        if line.contains(&DELIMITER) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a line cannot contain the delimiter",
            ));
        }
        let mut framed = line.clone();
        framed.push(DELIMITER);
        sock.write_all(&framed)?;
    }
    Ok(())
}
// ANCHOR_END: send

// ANCHOR: naive
pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut chunk = [0u8; CHUNK];
    loop {
        let n = sock.recv(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        // Takes each chunk for one whole line, with the delimiter at its end.
        let line = chunk[..n].strip_suffix(&[DELIMITER]).unwrap_or(&chunk[..n]);
        inbox.deliver(line);
    }
}
// ANCHOR_END: naive

// ANCHOR: correct
pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut chunk = [0u8; CHUNK];
    let mut buf = Vec::new(); // received, not yet delivered
    loop {
        let n = match sock.recv(&mut chunk) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            if buf.is_empty() {
                return Ok(()); // closed between lines
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed in the middle of a line",
            ));
        }
        // Bytes before `scanned` are known to hold no delimiter: look only at the new ones.
        let mut scanned = buf.len();
        buf.extend_from_slice(&chunk[..n]);
        let mut start = 0; // where the next line begins
        while let Some(i) = buf[scanned..].iter().position(|&b| b == DELIMITER) {
            let end = scanned + i;
            check_length(end - start)?;
            inbox.deliver(&buf[start..end]);
            start = end + 1;
            scanned = start;
        }
        buf.drain(..start); // keep only the start of a line still to come
        check_length(buf.len())?; // already too long, before its end arrives?
    }
}

/// Refuses a line longer than MAX_LINE: the limit is on the line, not on a read.
fn check_length(len: usize) -> io::Result<()> {
    if len > MAX_LINE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a line longer than 8192 bytes",
        ));
    }
    Ok(())
}
// ANCHOR_END: correct
