//! Lesson: on a connection that stays open, nothing marks where a message ends.

use std::io;

use crate::lesson::{Demo, Limit};

use crate::engine::{
    CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock, SocketTuning,
};

/// The protocol: a request is one line of text, and so is the answer.
pub const NEWLINE: u8 = b'\n';
/// Longest line either side accepts, so a peer cannot make a line grow forever.
pub const MAX_LINE: usize = 1024;

pub const DEMO: Demo = Demo {
    scenario,
    naive: Program { send, recv: naive },
    correct: Program {
        send,
        recv: correct,
    },
    teaches: OutcomeKind::Stuck,
    receiver_limit: Some(Limit {
        name: "MAX_LINE",
        bytes: MAX_LINE,
    }),
};

pub fn scenario() -> Scenario {
    let requests = ["GET /time", "GET /weather", "GET /news"];
    Scenario {
        messages: requests.iter().map(|r| r.as_bytes().to_vec()).collect(),
        framing: Framing::Delimiter { delimiter: NEWLINE },
        // The naive server waits for a close that never comes, however the wire cuts.
        cuts: CutPlan::pieces(Pieces::Uniform { min: 2, max: 7 }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: send
/// The client: one request, then it waits for the answer before the next one.
/// The connection stays open the whole time.
pub fn send(sock: &mut Sock, requests: &[Vec<u8>]) -> io::Result<()> {
    for request in requests {
        if request.contains(&NEWLINE) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a request cannot contain a newline",
            ));
        }
        let mut line = request.clone();
        line.push(NEWLINE);
        sock.write_all(&line)?;
        if read_line(sock)?.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server hung up without answering",
            ));
        }
    }
    Ok(()) // only now does the client close
}
// ANCHOR_END: send

// ANCHOR: read_line
/// Reads one line, one byte per recv(), so it never takes a byte of the next line.
/// `None`: the peer closed before the line began.
fn read_line(sock: &mut Sock) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let n = match sock.recv(&mut byte) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            if line.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed in the middle of a line",
            ));
        }
        if byte[0] == NEWLINE {
            return Ok(Some(line));
        }
        if line.len() == MAX_LINE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a line longer than 1024 bytes",
            ));
        }
        line.push(byte[0]);
    }
}
// ANCHOR_END: read_line

// ANCHOR: naive
pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    // Read the request: everything the client sends, until it is done.
    let mut request = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = sock.recv(&mut chunk)?; // "done" is recv() returning 0: a close
        if n == 0 {
            break;
        }
        request.extend_from_slice(&chunk[..n]);
    }
    for line in request.split(|&b| b == NEWLINE).filter(|l| !l.is_empty()) {
        inbox.deliver(line);
        sock.write_all(b"OK\n")?;
    }
    Ok(())
}
// ANCHOR_END: naive

// ANCHOR: correct
pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    // The newline, not the connection, ends each request.
    while let Some(request) = read_line(sock)? {
        inbox.deliver(&request);
        sock.write_all(b"OK\n")?;
    }
    Ok(()) // the client closed between requests: it has nothing more to ask
}
// ANCHOR_END: correct
