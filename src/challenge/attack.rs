//! Playing one level's schedule against the program. (Stub: the attack helper writes
//! it; the signature is the contract.)

use std::time::Duration;

use super::level::Level;
use super::{LevelResult, Status, Target};

/// Plays `level` with `seed` against `target`; every time limit is multiplied by `slow`.
pub fn play_level(level: &Level, seed: u64, slow: f64, target: &mut dyn Target) -> LevelResult {
    let _ = (seed, slow, target);
    LevelResult {
        id: level.id,
        status: Status::Error,
        duration: Duration::ZERO,
        schedule: Vec::new(),
        failure: None,
    }
}
