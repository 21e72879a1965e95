//! Lesson: a read can return the end of one message and the start of the next.

use std::io;

use crate::lesson::{Demo, Limit};

use crate::engine::{
    CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock, SocketTuning,
};

/// The protocol: each message is a line, ended by this byte.
pub const NEWLINE: u8 = b'\n';
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

/// The lines sent. Distinct, and none ends with another one, so a line that lost
/// its start can never pass for the line that was sent.
pub const LINES: [&str; 6] = [
    "NICK ada",
    "USER ada 0 * :Ada",
    "JOIN #sockets",
    "PRIVMSG #sockets :hi all",
    "PART #sockets",
    "QUIT :bye",
];

pub fn scenario() -> Scenario {
    let longest = LINES.iter().map(|l| l.len() + 1).max().unwrap_or(0);
    Scenario {
        messages: LINES.iter().map(|l| l.as_bytes().to_vec()).collect(),
        framing: Framing::Delimiter { delimiter: NEWLINE },
        // Every piece is longer than any line, so each one holds the end of a line
        // and the start of the next: the first read always has some left over.
        cuts: CutPlan::pieces(Pieces::Uniform {
            min: longest + 1,
            max: longest + 16,
        }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: send
pub fn send(sock: &mut Sock, lines: &[Vec<u8>]) -> io::Result<()> {
    // All the lines in one go: back to back on the wire.
    let mut stream = Vec::new();
    for line in lines {
        if line.contains(&NEWLINE) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a line cannot contain a newline",
            ));
        }
        stream.extend_from_slice(line);
        stream.push(NEWLINE);
    }
    sock.write_all(&stream)
}
// ANCHOR_END: send

// ANCHOR: errors
fn too_long() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a line longer than 8192 bytes")
}

fn closed_mid_line() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the peer closed in the middle of a line",
    )
}
// ANCHOR_END: errors

// ANCHOR: naive
/// Reads one line. Its buffer lives only as long as the call.
fn read_line(sock: &mut Sock) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; CHUNK];
    loop {
        if let Some(end) = buf.iter().position(|&b| b == NEWLINE) {
            buf.truncate(end); // the line; what came after it is dropped with `buf`
            return Ok(Some(buf));
        }
        if buf.len() > MAX_LINE {
            return Err(too_long());
        }
        let n = sock.recv(&mut chunk)?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(closed_mid_line())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    while let Some(line) = read_line(sock)? {
        inbox.deliver(&line);
    }
    Ok(())
}
// ANCHOR_END: naive

// ANCHOR: correct
/// Reads lines, and keeps what it received after each one for the next call.
#[derive(Default)]
pub struct LineReader {
    buf: Vec<u8>,   // received, not yet returned: the leftover
    scanned: usize, // the first `scanned` bytes of `buf` hold no newline
}

impl LineReader {
    pub fn new() -> Self {
        LineReader::default()
    }

    pub fn read_line(&mut self, sock: &mut Sock) -> io::Result<Option<Vec<u8>>> {
        let mut chunk = [0u8; CHUNK];
        loop {
            if let Some(i) = self.buf[self.scanned..].iter().position(|&b| b == NEWLINE) {
                let end = self.scanned + i;
                if end > MAX_LINE {
                    return Err(too_long()); // the limit is on the line, not on a read
                }
                let line = self.buf[..end].to_vec();
                self.buf.drain(..=end); // the leftover stays, for the next call
                self.scanned = 0;
                return Ok(Some(line));
            }
            self.scanned = self.buf.len();
            if self.buf.len() > MAX_LINE {
                return Err(too_long());
            }
            let n = match sock.recv(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
                n => n?,
            };
            if n == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(closed_mid_line())
                };
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut lines = LineReader::new(); // one reader for the whole connection
    while let Some(line) = lines.read_line(sock)? {
        inbox.deliver(&line);
    }
    Ok(())
}
// ANCHOR_END: correct
