//! A whole challenge run: each level against a freshly started program (or the
//! learner's own server with `--connect`), in order, stopping at the first failure
//! unless told to keep going.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::attack;
use super::guest::{Connected, Guest, GuestOptions};
use super::level::{self, Level};
use super::{Delivery, LevelResult, ProgramEnd, Run, Status, Target};

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
/// The program is started afresh for each level, on a fresh port, and stopped
/// (with everything it started) when the level ends. A level that cannot start the
/// program ends the run: nothing after it could be played either.
pub fn play(
    options: &PlayOptions,
    on_level: &mut dyn FnMut(&LevelResult),
) -> Result<Run, PlayError> {
    let started = Instant::now();
    let levels = options
        .levels
        .iter()
        .map(|name| level::find(name).ok_or_else(|| PlayError::UnknownLevel { name: name.clone() }))
        .collect::<Result<Vec<_>, _>>()?;
    let slow = options.slow.max(1.0);
    let mut results = Vec::with_capacity(levels.len());
    let mut delivery = None;
    let mut program = None;
    let mut stopped = false;
    for level in levels {
        let result = if stopped {
            skipped(level)
        } else {
            let played = play_one(options, level, slow)?;
            delivery.get_or_insert(played.delivery);
            program = played.end.or(program);
            played.result
        };
        stopped |= result.status != Status::Pass && !options.keep_going;
        on_level(&result);
        results.push(result);
    }
    Ok(Run {
        seed: options.seed,
        delivery: delivery.unwrap_or(Delivery::Lockstep),
        argv: match &options.program {
            Program::Command(argv) => argv.clone(),
            Program::Connect(_) => Vec::new(),
        },
        duration: started.elapsed(),
        levels: results,
        program,
        replay: String::new(),
    })
}

/// One level as played, and how.
struct Played {
    result: LevelResult,
    delivery: Delivery,
    /// How the program ended, where sockstep started it.
    end: Option<ProgramEnd>,
}

/// One level against a program started for it (or the learner's own).
fn play_one(options: &PlayOptions, level: &Level, slow: f64) -> Result<Played, PlayError> {
    let attack = |target: &mut dyn Target| {
        let delivery = target.delivery();
        (
            attack::play_level(level, options.seed, slow, target),
            delivery,
        )
    };
    match &options.program {
        Program::Command(argv) => {
            let mut guest = Guest::start(&GuestOptions {
                argv: argv.clone(),
                level: level.id.to_string(),
                slow,
                memory_limit: options.memory_limit,
                trace: options.trace,
            })
            .map_err(|error| PlayError::NotStarted(format!("level {}: {error}", level.id)))?;
            let (result, delivery) = attack(&mut guest);
            let end = guest.finish(&format!("level {} ended", level.id));
            Ok(Played {
                result,
                delivery,
                end: Some(end),
            })
        }
        Program::Connect(address) => {
            let (result, delivery) = attack(&mut Connected::new(*address));
            Ok(Played {
                result,
                delivery,
                end: None,
            })
        }
    }
}

/// A level not played because an earlier one failed.
fn skipped(level: &Level) -> LevelResult {
    LevelResult {
        id: level.id,
        status: Status::Skipped,
        duration: Duration::ZERO,
        schedule: Vec::new(),
        failure: None,
    }
}
