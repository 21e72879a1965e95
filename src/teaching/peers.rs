//! Lesson: both ends of a connection are the same kind of socket; the protocol says
//! who speaks first.

use std::io;

use crate::lesson::Demo;

use crate::engine::{
    CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock, SocketTuning,
};

/// The protocol: the client opens with a greeting of exactly this many bytes...
pub const GREETING_LEN: usize = 16;
/// ...and the server answers with this.
pub const WELCOME: &[u8; 16] = b"welcome, client\n";

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
    receiver_limit: None,
};

pub fn scenario() -> Scenario {
    let greeting = b"hello from alice".to_vec();
    debug_assert_eq!(greeting.len(), GREETING_LEN);
    Scenario {
        messages: vec![greeting],
        framing: Framing::Raw,
        cuts: CutPlan::pieces(Pieces::Uniform { min: 4, max: 12 }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// The naive and correct anchors overlap: both show the server, which is the same.

// ANCHOR: naive
/// The client waits for the server to say something first.
pub fn naive_client(sock: &mut Sock, greetings: &[Vec<u8>]) -> io::Result<()> {
    let mut welcome = [0u8; WELCOME.len()];
    sock.read_exact(&mut welcome)?; // "the server will greet me"
    for greeting in greetings {
        sock.write_all(greeting)?;
    }
    Ok(())
}

// ANCHOR: correct
/// The server waits for the client's greeting, then answers it.
pub fn server(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut greeting = [0u8; GREETING_LEN];
    sock.read_exact(&mut greeting)?; // "the client will greet me"
    inbox.deliver(&greeting);
    sock.write_all(WELCOME)?;
    Ok(())
}
// ANCHOR_END: naive

/// The client speaks first, as the protocol says, then waits for the answer.
pub fn client(sock: &mut Sock, greetings: &[Vec<u8>]) -> io::Result<()> {
    for greeting in greetings {
        sock.write_all(greeting)?;
    }
    let mut welcome = [0u8; WELCOME.len()];
    sock.read_exact(&mut welcome)?;
    if &welcome != WELCOME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the server answered something else",
        ));
    }
    Ok(())
}
// ANCHOR_END: correct
