//! Lesson: a buffered writer keeps what you write in your own memory until it is
//! flushed.

use std::io;

use crate::lesson::Demo;

use crate::engine::{
    CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock, SocketTuning,
};

/// The protocol: every request is exactly this many bytes...
pub const REQUEST_LEN: usize = 8;
/// ...and the server answers each one with this.
pub const REPLY: &[u8; 3] = b"OK\n";

pub const DEMO: Demo = Demo {
    scenario,
    naive: Program {
        send: naive,
        recv: server,
    },
    correct: Program {
        send: correct,
        recv: server,
    },
    teaches: OutcomeKind::Stuck,
    receiver_limit: None,
};

pub fn scenario() -> Scenario {
    let requests = ["get time", "get date", "get name"];
    debug_assert!(requests.iter().all(|r| r.len() == REQUEST_LEN));
    Scenario {
        messages: requests.iter().map(|r| r.as_bytes().to_vec()).collect(),
        framing: Framing::Raw,
        cuts: CutPlan::pieces(Pieces::Uniform { min: 3, max: 10 }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: naive
pub fn naive(sock: &mut Sock, requests: &[Vec<u8>]) -> io::Result<()> {
    let mut out = sock.buffered(); // like BufWriter::new(stream)
    for request in requests {
        out.write_all(request)?; // copied into the buffer: nothing is sent yet
    }
    for _ in requests {
        let mut reply = [0u8; REPLY.len()];
        // Waits for answers to requests that are still in our own buffer.
        out.get_mut().read_exact(&mut reply)?;
    }
    Ok(())
}
// ANCHOR_END: naive

// ANCHOR: correct
pub fn correct(sock: &mut Sock, requests: &[Vec<u8>]) -> io::Result<()> {
    let mut out = sock.buffered();
    for request in requests {
        out.write_all(request)?;
    }
    out.flush()?; // one send() for all the requests, before waiting for answers
    for _ in requests {
        let mut reply = [0u8; REPLY.len()];
        out.get_mut().read_exact(&mut reply)?;
        if &reply != REPLY {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the server did not answer OK",
            ));
        }
    }
    Ok(())
}
// ANCHOR_END: correct

// ANCHOR: server
/// Reads one request at a time and answers it, until the client closes.
pub fn server(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    loop {
        let mut request = [0u8; REQUEST_LEN];
        let mut got = 0;
        while got < REQUEST_LEN {
            let n = match sock.recv(&mut request[got..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
                n => n?,
            };
            if n == 0 {
                if got == 0 {
                    return Ok(()); // closed between requests: done
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed in the middle of a request",
                ));
            }
            got += n;
        }
        inbox.deliver(&request);
        sock.write_all(REPLY)?;
    }
}
// ANCHOR_END: server
