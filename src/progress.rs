//! What the student has done, kept between sessions as JSON in the platform's state
//! directory (`$XDG_STATE_HOME/sockstep/progress.json` on Linux).

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Overrides where progress is kept (tests use it).
pub const STATE_DIR_ENV: &str = "SOCKSTEP_STATE_DIR";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Slugs of lessons run to the end at least once.
    #[serde(default)]
    pub completed: BTreeSet<String>,
    #[serde(default)]
    pub last_lesson: Option<String>,
    #[serde(default)]
    pub last_seed: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error("no state directory: set {STATE_DIR_ENV} or HOME")]
    NoStateDir,
    #[error("could not read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not valid progress JSON (line {line}, column {column}): {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("could not write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// The progress file's path.
pub fn path() -> Result<PathBuf, ProgressError> {
    let dir = match std::env::var_os(STATE_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => dirs::state_dir()
            .or_else(dirs::data_local_dir)
            .ok_or(ProgressError::NoStateDir)?
            .join("sockstep"),
    };
    Ok(dir.join("progress.json"))
}

impl Progress {
    /// Loads progress; a missing file is a fresh start.
    pub fn load(path: &Path) -> Result<Progress, ProgressError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Progress::default()),
            Err(source) => {
                return Err(ProgressError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        serde_json::from_str(&text).map_err(|e| ProgressError::Parse {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// Saves progress, replacing the file in one step so a crash cannot leave half of it.
    pub fn save(&self, path: &Path) -> Result<(), ProgressError> {
        let write_error = |source| ProgressError::Write {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write_error)?;
        }
        let temporary = path.with_extension("json.tmp");
        let json = serde_json::to_string_pretty(self).expect("progress serialises");
        std::fs::write(&temporary, json + "\n").map_err(write_error)?;
        std::fs::rename(&temporary, path).map_err(write_error)
    }

    /// Forgets everything.
    pub fn reset(path: &Path) -> Result<(), ProgressError> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ProgressError::Write {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// The index of the first lesson not completed yet (the last one if all are).
    pub fn first_open(&self, slugs: &[&str]) -> usize {
        slugs
            .iter()
            .position(|slug| !self.completed.contains(*slug))
            .unwrap_or(slugs.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sockstep-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("progress.json")
    }

    #[test]
    fn saves_and_loads_and_resets() {
        let path = temp_file("roundtrip");
        assert_eq!(Progress::load(&path).unwrap(), Progress::default());
        let mut progress = Progress::default();
        progress.completed.insert("recv-zero".into());
        progress.last_seed = Some(7);
        progress.save(&path).unwrap();
        assert_eq!(Progress::load(&path).unwrap(), progress);
        Progress::reset(&path).unwrap();
        assert_eq!(Progress::load(&path).unwrap(), Progress::default());
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_the_file_and_place() {
        let path = temp_file("corrupt");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{\n  \"completed\": 3\n}").unwrap();
        let error = Progress::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("progress.json") && error.contains("line 2"),
            "{error}"
        );
    }

    #[test]
    fn first_open_skips_completed_lessons() {
        let mut progress = Progress::default();
        assert_eq!(progress.first_open(&["a", "b", "c"]), 0);
        progress.completed.insert("a".into());
        assert_eq!(progress.first_open(&["a", "b", "c"]), 1);
        progress.completed.extend(["b".into(), "c".into()]);
        assert_eq!(progress.first_open(&["a", "b", "c"]), 2);
    }
}
