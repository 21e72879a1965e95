//! Lesson: one `write()` can take fewer bytes than it was given.

use std::io::{self, Write};
use std::time::Duration;

use crate::lesson::{Demo, Limit};

use crate::engine::{
    CutPlan, Framing, Inbox, Limits, OutcomeKind, Program, Scenario, Sock, SocketTuning,
};

/// The upload is this long: a few times what the small socket buffers hold.
pub const UPLOAD_LEN: usize = 9_000;
/// The receiver refuses an upload longer than this.
pub const MAX_UPLOAD: usize = 64 * 1024;

pub const DEMO: Demo = Demo {
    scenario,
    naive: Program {
        send: naive,
        recv: receive_upload,
    },
    correct: Program {
        send: correct,
        recv: receive_upload,
    },
    teaches: OutcomeKind::Wrong,
    receiver_limit: Some(Limit {
        name: "MAX_UPLOAD",
        bytes: MAX_UPLOAD,
    }),
};

/// A text upload of `UPLOAD_LEN` bytes whose lines are numbered, so you can see where
/// it stops.
pub fn upload() -> Vec<u8> {
    let mut text = Vec::with_capacity(UPLOAD_LEN);
    let mut line = 1;
    while text.len() < UPLOAD_LEN {
        text.extend_from_slice(format!("line {line:03} of the upload.\n").as_bytes());
        line += 1;
    }
    text.truncate(UPLOAD_LEN);
    text
}

pub fn scenario() -> Scenario {
    Scenario {
        messages: vec![upload()],
        framing: Framing::Raw,
        cuts: CutPlan::default(),
        limits: Limits::default(),
        // Small buffers on both ends of the sender's connection, and a send timeout:
        // a write() that cannot place every byte within it returns what it placed.
        sender_socket: SocketTuning {
            send_buffer: Some(2048),
            recv_buffer: Some(2048),
            send_timeout: Some(Duration::from_millis(2)),
        },
    }
}

// ANCHOR: naive
#[allow(clippy::unused_io_amount)] // clippy sees the bug; silenced so you can too
pub fn naive(sock: &mut Sock, uploads: &[Vec<u8>]) -> io::Result<()> {
    for upload in uploads {
        sock.write(upload)?; // returns how many bytes it took; ignored
    }
    Ok(()) // closing ends the upload
}
// ANCHOR_END: naive

// ANCHOR: correct
pub fn correct(sock: &mut Sock, uploads: &[Vec<u8>]) -> io::Result<()> {
    for upload in uploads {
        let mut rest = &upload[..];
        while !rest.is_empty() {
            match sock.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..], // a short count: write the rest next time
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {} // a signal: again
                // No room at all before the send timeout: wait for room, then again.
                Err(e) if is_timeout(&e) => match sock.wait_writable() {
                    Err(e) if e.kind() != io::ErrorKind::Interrupted => return Err(e),
                    _ => {} // room, or a signal: write again either way
                },
                Err(e) => return Err(e), // a real failure: reset, broken pipe
            }
        }
    }
    Ok(())
}

/// A send timeout that passed: WouldBlock on Unix (EAGAIN), TimedOut on Windows.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
// ANCHOR_END: correct

// ANCHOR: receiver
/// One upload per connection: everything until the sender closes.
pub fn receive_upload(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut upload = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match sock.recv(&mut chunk) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            break; // the sender closed: the upload is complete
        }
        if upload.len() + n > MAX_UPLOAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "an upload longer than 64 KiB",
            ));
        }
        upload.extend_from_slice(&chunk[..n]);
    }
    inbox.deliver(&upload);
    Ok(())
}
// ANCHOR_END: receiver
