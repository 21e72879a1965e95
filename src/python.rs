//! Lessons in Python: finding an interpreter (`SOCKSTEP_PYTHON`, else `python3` on
//! PATH, version 3.8 or newer), and running a lesson's Python file in it as the
//! engine's external code, through sockstep's shim (`python/shim.py`, passed with
//! `-c`, so nothing is written to disk). One interpreter per lesson's code forks
//! each part; the shim wraps the socket the lesson code is given and reports each
//! call to the engine (see `engine::external`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::engine::{External, ForkServer, Side};

/// The shim: runs one part of a lesson file on an inherited socket, traced.
const SHIM: &str = include_str!("python/shim.py");

/// The environment variable naming the interpreter to use.
pub const PYTHON_VAR: &str = "SOCKSTEP_PYTHON";

/// A lesson's Python file, embedded: its path in the repository and its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PythonFile {
    pub path: &'static str,
    pub source: &'static str,
}

/// No usable interpreter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PythonError {
    #[error("--lang python needs Python 3.8 or newer: set SOCKSTEP_PYTHON or put python3 on PATH")]
    Missing,
    #[error("{named}{path} could not be run ({reason}); --lang python needs Python 3.8 or newer")]
    Unusable {
        /// `SOCKSTEP_PYTHON=` when the variable named it, else nothing.
        named: &'static str,
        path: String,
        reason: String,
    },
    #[error("could not start {path} for --lang python: {reason}")]
    Start { path: String, reason: String },
    #[error(
        "{path} is Python {version}; --lang python needs Python 3.8 or newer: set SOCKSTEP_PYTHON to a newer one"
    )]
    TooOld { path: String, version: String },
}

/// The interpreter to run Python lessons with, checked once per value of
/// `SOCKSTEP_PYTHON` (and PATH).
pub fn interpreter() -> Result<PathBuf, PythonError> {
    type Found = (
        Option<OsString>,
        Option<OsString>,
        Result<PathBuf, PythonError>,
    );
    static FOUND: Mutex<Option<Found>> = Mutex::new(None);
    let chosen = std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty());
    let path_var = std::env::var_os("PATH");
    let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((var, path, result)) = found.as_ref()
        && *var == chosen
        && *path == path_var
    {
        return result.clone();
    }
    let result = find(chosen.as_deref(), path_var.as_deref());
    *found = Some((chosen, path_var, result.clone()));
    result
}

fn find(
    chosen: Option<&std::ffi::OsStr>,
    path_var: Option<&std::ffi::OsStr>,
) -> Result<PathBuf, PythonError> {
    let path = match chosen {
        Some(chosen) => PathBuf::from(chosen),
        None => path_var
            .into_iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("python3"))
            .find(|candidate| is_executable(candidate))
            .ok_or(PythonError::Missing)?,
    };
    let shown = path.display().to_string();
    let named = if chosen.is_some() {
        "SOCKSTEP_PYTHON="
    } else {
        ""
    };
    let output = Command::new(&path)
        .args([
            "-I",
            "-S",
            "-c",
            "import sys; print('%d.%d' % sys.version_info[:2])",
        ])
        .env_clear()
        .output()
        .map_err(|e| PythonError::Unusable {
            named,
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let parsed = version
        .split_once('.')
        .and_then(|(major, minor)| Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?)));
    match parsed {
        Some(number) if output.status.success() && number >= (3, 8) => Ok(path),
        Some(_) if output.status.success() => Err(PythonError::TooOld {
            path: shown,
            version,
        }),
        _ => Err(PythonError::Unusable {
            named,
            path: shown,
            reason: format!("it did not tell its version: {}", output.status),
        }),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Both sides of a lesson's Python file as the engine's external code (naive,
/// correct): one interpreter, started here with the shim, forks each part.
pub fn programs(interpreter: &Path, file: PythonFile) -> std::io::Result<[External; 2]> {
    let mut command = Command::new(interpreter);
    // -I: no user site, no PYTHON* variables, not the current folder on the path;
    // -S: no site module (the lessons use the standard library only).
    command.args(["-I", "-S", "-c", SHIM, file.path, file.source]);
    let server = Arc::new(ForkServer::start("python", command)?);
    Ok(Side::BOTH.map(|side| External {
        server: Arc::clone(&server),
        args: vec![side.name().to_string()],
    }))
}
