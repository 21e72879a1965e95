//! Lesson: a tour of the screen, with two short words and one cut.

use std::io;

use crate::lesson::Demo;

use crate::engine::{
    CutAt, CutPlan, Framing, Inbox, Limits, OutcomeKind, Program, Scenario, Sock, SocketTuning,
};

/// The protocol: the client sends words of exactly this many bytes.
pub const WORD_LEN: usize = 5;

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
    Scenario {
        messages: vec![b"hello".to_vec(), b"world".to_vec()],
        framing: Framing::Raw,
        // A single cut, always inside "hello"; the seed picks where.
        cuts: CutPlan::default().with_cut(CutAt::Within { message: 0 }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: send
pub fn send(sock: &mut Sock, words: &[Vec<u8>]) -> io::Result<()> {
    for word in words {
        if word.len() != WORD_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "every word must be exactly five bytes",
            ));
        }
        sock.write_all(word)?;
    }
    Ok(()) // returning closes the connection
}
// ANCHOR_END: send

// ANCHOR: naive
pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    loop {
        let mut word = [0u8; WORD_LEN];
        let n = sock.recv(&mut word)?; // one recv() per word
        if n == 0 {
            return Ok(()); // the client closed: no more words
        }
        inbox.deliver(&word[..n]);
    }
}
// ANCHOR_END: naive

// ANCHOR: correct
pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    loop {
        let mut word = [0u8; WORD_LEN];
        let mut got = 0;
        while got < WORD_LEN {
            // As many recv() calls as it takes, each asking for what is missing.
            let n = match sock.recv(&mut word[got..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
                n => n?,
            };
            if n == 0 {
                if got == 0 {
                    return Ok(()); // closed between words: the end
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed in the middle of a word",
                ));
            }
            got += n;
        }
        inbox.deliver(&word);
    }
}
// ANCHOR_END: correct
