//! Lesson: a small request/response protocol that survives every cut.

use std::io;

use serde::{Deserialize, Serialize};

use crate::lesson::{Demo, Limit};

use crate::engine::{
    CutAt, CutPlan, Framing, Inbox, Limits, OutcomeKind, Pieces, Program, Scenario, Sock,
    SocketTuning,
};

/// The protocol: a fixed header of 2 bytes, the JSON header's length (big-endian)...
pub const FIXED_LEN: usize = 2;
/// ...then the JSON header, which gives the body's length and type...
pub const CONTENT_TYPE: &str = "text/plain; charset=utf-8";
/// ...then the body, never longer than this.
pub const MAX_BODY: usize = 1 << 20;

pub const DEMO: Demo = Demo {
    scenario,
    naive: Program { send, recv: naive },
    correct: Program {
        send,
        recv: correct,
    },
    teaches: OutcomeKind::Error,
    receiver_limit: Some(Limit {
        name: "MAX_BODY",
        bytes: MAX_BODY,
    }),
};

pub fn scenario() -> Scenario {
    let requests = [
        "What time is it?",
        "search: rust sockets",
        "Thanks, that is all.",
    ];
    Scenario {
        messages: requests.iter().map(|r| r.as_bytes().to_vec()).collect(),
        framing: Framing::JsonHeader {
            width: FIXED_LEN,
            content_type: CONTENT_TYPE.to_string(),
        },
        // The first piece always ends 4 bytes into the first JSON header (every seeded
        // piece is longer than that); after it the seed cuts anywhere.
        cuts: CutPlan::pieces(Pieces::Uniform { min: 7, max: 30 }).with_cut(CutAt::InFrame {
            message: 0,
            at: FIXED_LEN + 4,
        }),
        limits: Limits::default(),
        sender_socket: SocketTuning::default(),
    }
}

// ANCHOR: header
/// The JSON header, in the order its fields are written.
#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    #[serde(rename = "content-length")]
    pub content_length: usize,
    #[serde(rename = "content-type")]
    pub content_type: String,
}
// ANCHOR_END: header

// ANCHOR: write_message
/// Writes one message: fixed header, JSON header, body.
pub fn write_message(sock: &mut Sock, body: &[u8]) -> io::Result<()> {
    let header = serde_json::to_vec(&Header {
        content_length: body.len(),
        content_type: CONTENT_TYPE.to_string(),
    })?;
    let header_len = u16::try_from(header.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "JSON header too long"))?;
    let mut message = header_len.to_be_bytes().to_vec();
    message.extend_from_slice(&header);
    message.extend_from_slice(body);
    sock.write_all(&message)
}
// ANCHOR_END: write_message

// ANCHOR: send
/// The client: a request, then the whole answer, then the next request.
pub fn send(sock: &mut Sock, requests: &[Vec<u8>]) -> io::Result<()> {
    for request in requests {
        write_message(sock, request)?;
        if read_message(sock)?.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server hung up without answering",
            ));
        }
    }
    Ok(())
}
// ANCHOR_END: send

// ANCHOR: recv_all
/// Calls recv() until `buf` is full or the peer closes; returns how much arrived.
fn recv_all(sock: &mut Sock, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = match sock.recv(&mut buf[got..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: again
            n => n?,
        };
        if n == 0 {
            break; // closed
        }
        got += n;
    }
    Ok(got)
}

fn closed_mid_message() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the peer closed in the middle of a message",
    )
}
// ANCHOR_END: recv_all

// ANCHOR: naive
pub fn naive(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    loop {
        // One recv() per part, as if each part arrived whole.
        let mut fixed = [0u8; FIXED_LEN];
        if sock.recv(&mut fixed)? == 0 {
            return Ok(());
        }
        let mut json = vec![0u8; u16::from_be_bytes(fixed) as usize];
        let n = sock.recv(&mut json)?;
        let header: Header = serde_json::from_slice(&json[..n])?;
        if header.content_length > MAX_BODY {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "body too long"));
        }
        let mut body = vec![0u8; header.content_length];
        let n = sock.recv(&mut body)?;
        inbox.deliver(&body[..n]);
        write_message(sock, format!("got {n} bytes").as_bytes())?;
    }
}
// ANCHOR_END: naive

// ANCHOR: correct
/// Reads one message, with a loop for each part. `None`: the peer closed between
/// messages.
pub fn read_message(sock: &mut Sock) -> io::Result<Option<(Header, Vec<u8>)>> {
    // Part one: the fixed header, the JSON header's length.
    let mut fixed = [0u8; FIXED_LEN];
    match recv_all(sock, &mut fixed)? {
        0 => return Ok(None),
        FIXED_LEN => {}
        _ => return Err(closed_mid_message()),
    }
    // Part two: the JSON header (two bytes of length: never more than 65,535).
    let mut json = vec![0u8; u16::from_be_bytes(fixed) as usize];
    if recv_all(sock, &mut json)? < json.len() {
        return Err(closed_mid_message());
    }
    let header: Header = serde_json::from_slice(&json)?;
    if header.content_length > MAX_BODY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a body of {} bytes is over the limit",
                header.content_length
            ),
        ));
    }
    // Part three: exactly as many body bytes as the header says.
    let mut body = vec![0u8; header.content_length];
    if recv_all(sock, &mut body)? < body.len() {
        return Err(closed_mid_message());
    }
    Ok(Some((header, body)))
}

pub fn correct(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    while let Some((_header, request)) = read_message(sock)? {
        inbox.deliver(&request);
        write_message(sock, format!("got {} bytes", request.len()).as_bytes())?;
    }
    Ok(()) // the client closed between requests
}
// ANCHOR_END: correct
