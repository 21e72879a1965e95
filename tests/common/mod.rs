//! Helpers the integration tests share. Each test binary uses only some of them.
#![allow(dead_code)]

use std::io;
use std::process::{Command, Output};
use std::time::Duration;

use sockstep::engine::{Inbox, Mode, Pacing, RunOptions, Side, Sock, Trace};
use sockstep::lesson::Lesson;
use sockstep::teaching;

/// The pieces the relay wrote to `side`'s receiver, as (offset, length).
pub fn pieces(trace: &Trace, side: Side) -> Vec<(usize, usize)> {
    trace
        .side(side)
        .pieces()
        .map(|event| (event.offset.expect("a piece has an offset"), event.moved))
        .collect()
}

pub fn lesson(slug: &str) -> &'static Lesson {
    teaching::find(slug).expect("lesson exists").1
}

/// Runs a lesson as `sockstep run` does.
pub fn run(slug: &str, seed: u64, mode: Mode) -> Trace {
    lesson(slug)
        .run(RunOptions {
            seed,
            mode,
            ..RunOptions::default()
        })
        .expect("run completes")
}

/// A sender: every message, whole, one after the other.
pub fn send_all(sock: &mut Sock, messages: &[Vec<u8>]) -> io::Result<()> {
    for message in messages {
        sock.send_all(message)?;
    }
    Ok(())
}

/// Reads until the peer closes, then delivers everything as one message.
pub fn read_to_end(sock: &mut Sock, inbox: &mut Inbox) -> io::Result<()> {
    let mut all = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let n = sock.recv(&mut buf)?;
        if n == 0 {
            inbox.deliver(&all);
            return Ok(());
        }
        all.extend_from_slice(&buf[..n]);
    }
}

/// The real binary with these arguments, its output captured.
pub fn sockstep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sockstep"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("the binary runs")
}

/// A command's standard output, which must be UTF-8.
pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// "Reads every 5 ms": a peer busy with other work between its calls.
pub const SLOW: Duration = Duration::from_millis(5);

/// Plain-peer pacings: as fast as it can, and every `SLOW`.
pub const FAST: Pacing = Pacing {
    pause: Duration::ZERO,
    interrupt: false,
};
pub const SLOWLY: Pacing = Pacing {
    pause: SLOW,
    interrupt: false,
};
