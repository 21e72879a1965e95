//! Lesson: when the end of the stream ends the message, the sender must half-close.

use std::io;
use std::net::Shutdown;

use crate::lesson::{Demo, Limit};

use crate::engine::{
    CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock, SocketTuning,
};

/// The server refuses a request longer than this.
pub const MAX_REQUEST: usize = 8 * 1024;
/// What the server answers.
pub const RESPONSE: &[u8] = b"HTTP/1.0 200 OK\r\n\r\nHello from the server.\n";

pub const DEMO: Demo = Demo {
    scenario,
    naive: Program {
        send: naive_client,
        recv: server,
    },
    correct: Program {
        send: client,
        recv: server,
    },
    teaches: OutcomeKind::Stuck,
    receiver_limit: Some(Limit {
        name: "MAX_REQUEST",
        bytes: MAX_REQUEST,
    }),
};

pub fn scenario() -> Scenario {
    Scenario {
        // One request per connection, as HTTP/1.0 did.
        messages: vec![b"GET /hello.txt HTTP/1.0\r\nHost: localhost\r\n\r\n".to_vec()],
        framing: Framing::Raw,
        cuts: CutPlan::pieces(Pieces::Uniform { min: 5, max: 16 }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: read_to_end
/// Reads until the peer closes its side, refusing more than `max` bytes.
fn read_to_end(sock: &mut Sock, max: usize) -> io::Result<Vec<u8>> {
    let mut all = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = match sock.recv(&mut chunk) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            return Ok(all); // the end of the stream: the whole message
        }
        if all.len() + n > max {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "too long"));
        }
        all.extend_from_slice(&chunk[..n]);
    }
}
// ANCHOR_END: read_to_end

// The naive and correct anchors overlap: both show the server, which is the same.

// ANCHOR: naive
pub fn naive_client(sock: &mut Sock, requests: &[Vec<u8>]) -> io::Result<()> {
    for request in requests {
        sock.write_all(request)?;
    }
    // The server cannot know the request is over: the stream is still open.
    let response = read_to_end(sock, RESPONSE.len())?;
    check(&response)
}

// ANCHOR: correct
/// The request ends where the client's stream ends.
pub fn server(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let request = read_to_end(sock, MAX_REQUEST)?;
    inbox.deliver(&request);
    sock.write_all(RESPONSE)?; // the client's side is closed; ours is still open
    Ok(()) // closing ends the response
}
// ANCHOR_END: naive

pub fn client(sock: &mut Sock, requests: &[Vec<u8>]) -> io::Result<()> {
    for request in requests {
        sock.write_all(request)?;
    }
    sock.shutdown(Shutdown::Write)?; // "that was all": the server's recv() returns 0
    let response = read_to_end(sock, RESPONSE.len())?; // still open this way
    check(&response)
}
// ANCHOR_END: correct

fn check(response: &[u8]) -> io::Result<()> {
    if response != RESPONSE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the response is not the one the server sends",
        ));
    }
    Ok(())
}
