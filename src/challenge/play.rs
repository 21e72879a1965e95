//! A whole challenge run: each level against a freshly started program (or the
//! learner's own server with `--connect`), in order, stopping at the first failure
//! unless told to keep going.
//!
//! (The integrator writes the body once `guest`, `level` and `attack` land; the
//! signatures here are the contract the CLI and `grade` are written against.)

use std::net::SocketAddr;

use super::{LevelResult, Run};

/// What to run, and how.
#[derive(Clone, Debug)]
pub struct PlayOptions {
    /// Level names (lesson slugs), in the order to play them.
    pub levels: Vec<String>,
    pub seed: u64,
    /// Every time limit is multiplied by this (at least 1).
    pub slow: f64,
    pub program: Program,
    /// Go on after a level fails.
    pub keep_going: bool,
    /// Trace a Python program's socket calls (off with `--no-trace`).
    pub trace: bool,
    /// The program's address-space limit in bytes (`RLIMIT_AS`); `None`: no limit.
    pub memory_limit: Option<u64>,
    /// The replay command's words before the level (for `sockstep grade`, which
    /// plays with a command per submission): `["sockstep", "challenge"]` by default.
    pub replay_prefix: Vec<String>,
}

/// The program under test.
#[derive(Clone, Debug)]
pub enum Program {
    /// Started by sockstep per level: the command and its arguments, where `{port}`
    /// and `{level}` are filled in.
    Command(Vec<String>),
    /// Started by the learner, listening here.
    Connect(SocketAddr),
}

/// Why a run could not be played to its verdict.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// The program did not start, exited early, or never listened (exit code 3).
    #[error("{0}")]
    NotStarted(String),
    /// No such level.
    #[error("there is no level named {name:?}; `sockstep challenge --list` lists them")]
    UnknownLevel { name: String },
    /// sockstep's own failure (exit code 4).
    #[error("{0}")]
    Internal(String),
}

/// Plays `options`, calling `on_level` as each level ends (for progress output).
pub fn play(
    options: &PlayOptions,
    on_level: &mut dyn FnMut(&LevelResult),
) -> Result<Run, PlayError> {
    let _ = (options, on_level);
    Err(PlayError::Internal(
        "challenge mode is being built".to_string(),
    ))
}
