//! What the student has done, kept between sessions as JSON in the platform's state
//! directory (`$XDG_STATE_HOME/sockstep/progress.json` on Linux).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::lesson::Lang;

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
    /// The language the lessons were last shown in (the TUI's `L` key).
    #[serde(default, deserialize_with = "known_lang")]
    pub lang: Option<Lang>,
    /// Per lesson slug: the predictions made before a run (the TUI's `p`) and how
    /// many were right. Absent from files written before predictions existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub predictions: BTreeMap<String, Tally>,
}

/// How many predictions a learner made on one lesson, and how many were right.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub asked: u32,
    pub right: u32,
}

/// A language this version does not know (a newer version's) reads as none, so the
/// rest of the file is kept rather than set aside.
fn known_lang<'de, D: Deserializer<'de>>(value: D) -> Result<Option<Lang>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(value)?;
    Ok(value.and_then(|value| Lang::deserialize(value).ok()))
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
    #[error("could not lock {path}: {source}")]
    Lock { path: PathBuf, source: io::Error },
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

/// A progress file that was not progress JSON, moved aside instead of overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// Where the file was.
    pub path: PathBuf,
    /// Where it is now.
    pub kept_as: PathBuf,
    /// Where it stopped being progress JSON.
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for SetAside {
    // File names only: it is shown in one footer line; `sockstep progress` shows
    // the folder.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |path: &Path| path.file_name().unwrap_or_default().display().to_string();
        write!(
            f,
            "{} was not valid JSON (line {}, column {}); kept it as {} and started afresh",
            name(&self.path),
            self.line,
            self.column,
            name(&self.kept_as),
        )
    }
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

    /// Loads progress to work with. A file that is not progress JSON is moved aside
    /// (`progress.json.bad-<unix time>`), never overwritten; a file that cannot be
    /// read at all is an error, and the caller must not save over it.
    pub fn open(path: &Path) -> Result<(Progress, Option<SetAside>), ProgressError> {
        let _lock = Lock::take(path)?;
        load_or_set_aside(path)
    }

    /// Changes the progress on disk: under a lock, reads what is there now (another
    /// TUI's or a reset's work included), applies `change`, and replaces the file in
    /// one step. Returns the progress now on disk. A running TUI saves only its
    /// changes this way, so it can neither undo a reset nor another TUI's lessons.
    pub fn update(
        path: &Path,
        change: impl FnOnce(&mut Progress),
    ) -> Result<(Progress, Option<SetAside>), ProgressError> {
        let _lock = Lock::take(path)?;
        let (mut progress, set_aside) = load_or_set_aside(path)?;
        change(&mut progress);
        progress.write(path)?;
        Ok((progress, set_aside))
    }

    /// Replaces the file in one step (a temporary file renamed over it), so a crash
    /// or a full disk cannot leave half of it. Callers hold the lock.
    fn write(&self, path: &Path) -> Result<(), ProgressError> {
        let write_error = |source| ProgressError::Write {
            path: path.to_owned(),
            source,
        };
        let temporary = path.with_extension("json.tmp");
        let json = serde_json::to_string_pretty(self).expect("progress serialises") + "\n";
        let written = std::fs::File::create(&temporary)
            .and_then(|mut file| {
                file.write_all(json.as_bytes())?;
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(&temporary, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written.map_err(write_error)
    }

    /// Forgets everything. Under the lock, so a TUI saving at the same moment
    /// either finishes first (and is forgotten) or starts from nothing.
    pub fn reset(path: &Path) -> Result<(), ProgressError> {
        let _lock = Lock::take(path)?;
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ProgressError::Write {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Counts one prediction on a lesson.
    pub fn record_prediction(&mut self, slug: &str, right: bool) {
        let tally = self.predictions.entry(slug.to_string()).or_default();
        tally.asked = tally.asked.saturating_add(1);
        tally.right = tally.right.saturating_add(u32::from(right));
    }

    /// The index of the first lesson not completed yet (the last one if all are).
    pub fn first_open(&self, slugs: &[&str]) -> usize {
        slugs
            .iter()
            .position(|slug| !self.completed.contains(*slug))
            .unwrap_or(slugs.len().saturating_sub(1))
    }
}

/// Reads the progress file; one that is not progress JSON is renamed aside.
fn load_or_set_aside(path: &Path) -> Result<(Progress, Option<SetAside>), ProgressError> {
    match Progress::load(path) {
        Err(ProgressError::Parse { line, column, .. }) => {
            let kept_as = free_bad_name(path);
            std::fs::rename(path, &kept_as).map_err(|source| ProgressError::Write {
                path: path.to_owned(),
                source,
            })?;
            let set_aside = SetAside {
                path: path.to_owned(),
                kept_as,
                line,
                column,
            };
            Ok((Progress::default(), Some(set_aside)))
        }
        loaded => loaded.map(|progress| (progress, None)),
    }
}

/// `progress.json.bad-<unix time>`, with `-2`, `-3`… if that is taken: an earlier
/// bad file is never overwritten either.
fn free_bad_name(path: &Path) -> PathBuf {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let with_suffix = |suffix: String| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let mut candidate = with_suffix(format!(".bad-{seconds}"));
    let mut n = 1;
    while candidate.exists() {
        n += 1;
        candidate = with_suffix(format!(".bad-{seconds}-{n}"));
    }
    candidate
}

/// An exclusive lock on `progress.json.lock` next to the progress file, held while
/// the file is read and replaced (the progress file itself is replaced by rename, so
/// it cannot carry the lock). Released when dropped.
struct Lock {
    _held: std::fs::File,
}

impl Lock {
    fn take(path: &Path) -> Result<Lock, ProgressError> {
        let lock_error = |source| ProgressError::Lock {
            path: path.with_extension("json.lock"),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(lock_error)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.with_extension("json.lock"))
            .map_err(lock_error)?;
        file.lock().map_err(lock_error)?;
        Ok(Lock { _held: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A progress path in a fresh folder, which is removed when the guard drops.
    fn temp_file(name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::Builder::new()
            .prefix(&format!("sockstep-{name}-"))
            .tempdir()
            .unwrap();
        let path = dir.path().join("state").join("progress.json");
        (dir, path)
    }

    #[test]
    fn saves_and_loads_and_resets() {
        let (_dir, path) = temp_file("roundtrip");
        assert_eq!(Progress::load(&path).unwrap(), Progress::default());
        let (progress, set_aside) = Progress::update(&path, |p| {
            p.completed.insert("recv-zero".into());
            p.last_seed = Some(7);
        })
        .unwrap();
        assert_eq!(set_aside, None);
        assert_eq!(Progress::load(&path).unwrap(), progress);
        Progress::reset(&path).unwrap();
        assert_eq!(Progress::load(&path).unwrap(), Progress::default());
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_the_file_and_place() {
        let (_dir, path) = temp_file("corrupt");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{\n  \"completed\": 3\n}").unwrap();
        let error = Progress::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("progress.json") && error.contains("line 2"),
            "{error}"
        );
    }

    #[test]
    fn updates_at_once_from_many_threads_all_land() {
        let (_dir, path) = temp_file("concurrent");
        std::thread::scope(|scope| {
            for thread in 0..8 {
                let path = &path;
                scope.spawn(move || {
                    for n in 0..20 {
                        Progress::update(path, |p| {
                            p.completed.insert(format!("{thread}-{n}"));
                        })
                        .unwrap();
                    }
                });
            }
        });
        assert_eq!(Progress::load(&path).unwrap().completed.len(), 160);
    }

    #[test]
    fn a_second_bad_file_in_the_same_second_does_not_replace_the_first() {
        let (_dir, path) = temp_file("bad-twice");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut kept = Vec::new();
        for text in ["{,", "[,"] {
            std::fs::write(&path, text).unwrap();
            let (progress, set_aside) = Progress::open(&path).unwrap();
            assert_eq!(progress, Progress::default());
            let set_aside = set_aside.expect("set aside");
            assert!(!path.exists());
            assert_eq!(std::fs::read_to_string(&set_aside.kept_as).unwrap(), text);
            kept.push(set_aside.kept_as);
        }
        assert_ne!(kept[0], kept[1]);
    }

    #[test]
    fn the_language_is_kept_and_old_or_newer_files_keep_their_data() {
        let (_dir, path) = temp_file("lang");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // A file from before the language was kept.
        std::fs::write(&path, r#"{"completed": ["a"], "last_seed": 3}"#).unwrap();
        let (progress, set_aside) =
            Progress::update(&path, |p| p.lang = Some(Lang::Python)).unwrap();
        assert_eq!(set_aside, None);
        assert_eq!(progress.completed.len(), 1);
        assert_eq!(progress.last_seed, Some(3));
        assert_eq!(Progress::load(&path).unwrap().lang, Some(Lang::Python));
        // A language this version does not know: the rest of the file is kept.
        std::fs::write(&path, r#"{"completed": ["a"], "lang": "cobol"}"#).unwrap();
        let (progress, set_aside) = Progress::open(&path).unwrap();
        assert_eq!(set_aside, None);
        assert_eq!(progress.completed.len(), 1);
        assert_eq!(progress.lang, None);
    }

    #[test]
    fn predictions_are_tallied_per_lesson_and_old_files_still_load() {
        let (_dir, path) = temp_file("predictions");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // A file from before predictions were kept.
        let old =
            r#"{"completed": ["welcome"], "last_lesson": "peers", "last_seed": 4, "lang": "rust"}"#;
        std::fs::write(&path, old).unwrap();
        let (progress, set_aside) = Progress::open(&path).unwrap();
        assert_eq!(set_aside, None);
        assert!(progress.predictions.is_empty());
        assert_eq!(progress.last_seed, Some(4));
        let (progress, _) = Progress::update(&path, |p| {
            p.record_prediction("peers", true);
            p.record_prediction("peers", false);
            p.record_prediction("welcome", true);
        })
        .unwrap();
        assert_eq!(progress.predictions["peers"], Tally { asked: 2, right: 1 });
        let loaded = Progress::load(&path).unwrap();
        assert_eq!(loaded.predictions["welcome"], Tally { asked: 1, right: 1 });
        assert!(loaded.completed.contains("welcome"), "nothing else is lost");
        // With no predictions the file keeps its old shape.
        let fresh = serde_json::to_string(&Progress::default()).unwrap();
        assert!(!fresh.contains("predictions"), "{fresh}");
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
