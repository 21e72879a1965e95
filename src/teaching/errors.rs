//! Lesson: when the network fails, a read or a write returns an error, and each
//! error means something different from the end of the stream.

use std::io;
use std::time::Duration;

use crate::lesson::Demo;

use crate::engine::{
    CutPlan, Framing, Inbox, Limits, OutcomeKind, Program, Scenario, Sock, SocketTuning, report,
};

/// The protocol: every request is exactly this many bytes...
pub const REQUEST_LEN: usize = 16;
/// ...and the server answers each one with this.
pub const REPLY: &[u8; 3] = b"OK\n";
/// How long the server waits for the client before it asks whether it is still there.
pub const PATIENCE: Duration = Duration::from_millis(100);
/// What it asks.
pub const ARE_YOU_THERE: &[u8; 3] = b"??\n";
/// The request the client starts and never finishes.
pub const UNFINISHED: &[u8; 16] = b"fetch report 02\n";

pub const DEMO: Demo = Demo {
    scenario,
    naive: Program {
        send: client,
        recv: naive,
    },
    correct: Program {
        send: client,
        recv: correct,
    },
    teaches: OutcomeKind::Wrong,
    receiver_limit: None,
};

pub fn scenario() -> Scenario {
    let request = b"fetch report 01\n".to_vec();
    debug_assert_eq!(request.len(), REQUEST_LEN);
    Scenario {
        // What the application should be told: one request, then how the connection
        // failed. The reports are never sent; a correct server makes them.
        messages: vec![
            request,
            report(io::ErrorKind::TimedOut),
            report(io::ErrorKind::ConnectionReset),
        ],
        framing: Framing::Raw,
        cuts: CutPlan::default(),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: client
/// A client that fails twice: it goes silent in the middle of a request, and when
/// the server speaks to it, it sends a few more bytes, then its process dies and its
/// kernel resets the connection.
pub fn client(sock: &mut Sock, requests: &[Vec<u8>]) -> io::Result<()> {
    for request in requests {
        sock.write_all(request)?;
        sock.read_exact(&mut [0u8; REPLY.len()])?;
    }
    sock.write_all(&UNFINISHED[..REQUEST_LEN / 2])?; // half a request, then silence
    sock.read_exact(&mut [0u8; 1])?; // until the server says anything at all
    sock.write_all(&UNFINISHED[REQUEST_LEN / 2..][..4])?; // a few more bytes...
    sock.abort() // ...and it dies: SO_LINGER 0, then close: RST instead of FIN
}
// ANCHOR_END: client

// ANCHOR: naive
pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    sock.set_read_timeout(Some(PATIENCE))?;
    loop {
        let mut request = [0u8; REQUEST_LEN];
        let mut got = 0;
        while got < REQUEST_LEN {
            match sock.recv(&mut request[got..]) {
                Ok(n) if n > 0 => got += n,
                _ => break, // 0 or any error: "the client has finished"
            }
        }
        if got == 0 {
            return Ok(()); // nothing more: the client has gone
        }
        inbox.deliver(&request[..got]);
        sock.write_all(REPLY)?;
    }
}
// ANCHOR_END: naive

// ANCHOR: correct
pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    sock.set_read_timeout(Some(PATIENCE))?;
    let mut request = [0u8; REQUEST_LEN];
    let mut got = 0;
    let mut asked = false;
    loop {
        match sock.recv(&mut request[got..]) {
            Ok(0) if got == 0 => return Ok(()), // a clean close, between requests
            Ok(0) => {
                inbox.report(&io::ErrorKind::UnexpectedEof.into()); // closed mid-request
                return Ok(());
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {} // a signal: again
            // Silence: WouldBlock on Unix, TimedOut on Windows. Ask once, keep waiting.
            Err(e) if is_timeout(&e) && !asked => {
                inbox.report(&e);
                asked = true;
                if let Err(e) = sock.write_all(ARE_YOU_THERE) {
                    inbox.report(&e); // BrokenPipe or ConnectionReset: it has gone
                    return Ok(());
                }
            }
            // ConnectionReset: aborted. A second timeout: given up on. Either way, over.
            Err(e) => {
                inbox.report(&e);
                return Ok(());
            }
        }
        if got == REQUEST_LEN {
            inbox.deliver(&request);
            got = 0;
            if let Err(e) = sock.write_all(REPLY) {
                inbox.report(&e);
                return Ok(());
            }
        }
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
// ANCHOR_END: correct
