//! The learner's Python socket calls, traced with no change to their code: a private
//! folder holding `sitecustomize.py` (the tracer, `pytrace.py`) goes first on the
//! program's `PYTHONPATH`, and the tracer appends one JSON line per call to a file in
//! that folder, which [`PyTrace::take_calls`] reads as it grows. The learner's own
//! `PYTHONPATH` and `sitecustomize` still apply. Python run with `-I`, `-E` or `-S`
//! ignores `PYTHONPATH` or `site`, and Python before 3.8 is left alone: those run
//! untraced. The one visible trace of the tracer: a traceback through a socket call
//! shows one more line, in sockstep's `sitecustomize.py`.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::TracedCall;

/// The tracer, installed as `sitecustomize.py`.
const TRACER: &str = include_str!("pytrace.py");

/// The file the tracer appends to, named by this variable; unset, it traces nothing.
pub const TRACE_FILE_VAR: &str = "SOCKSTEP_TRACE_FILE";

/// The most read from the trace in one take: a program that floods it (each process
/// may write 16 MiB) is read in bounded pieces.
const MAX_TAKE: u64 = 32 << 20;

/// A private folder with the tracer and the calls it records, removed on drop.
#[derive(Debug)]
pub struct PyTrace {
    dir: tempfile::TempDir,
    /// Where the next take starts: just after the last complete line read.
    read_to: u64,
}

impl PyTrace {
    /// Makes the folder (mode 0700) and writes the tracer into it.
    pub fn new() -> io::Result<PyTrace> {
        let dir = tempfile::Builder::new()
            .prefix("sockstep-trace-")
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir()?;
        fs::write(dir.path().join("sitecustomize.py"), TRACER)?;
        Ok(PyTrace { dir, read_to: 0 })
    }

    /// The folder: the tracer and its calls.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The file the calls are appended to.
    pub fn calls_file(&self) -> PathBuf {
        self.dir().join("calls.jsonl")
    }

    /// The variables to set for the program: `PYTHONPATH` with the folder first and the
    /// inherited value (if any) after it, and the file to trace into.
    pub fn env(&self, inherited_pythonpath: Option<&OsStr>) -> Vec<(OsString, OsString)> {
        let mut path = self.dir.path().as_os_str().to_owned();
        if let Some(inherited) = inherited_pythonpath.filter(|p| !p.is_empty()) {
            path.push(":");
            path.push(inherited);
        }
        vec![
            ("PYTHONPATH".into(), path),
            (TRACE_FILE_VAR.into(), self.calls_file().into_os_string()),
        ]
    }

    /// The calls recorded since the last take, in the order they were written. A line
    /// still being written waits for the next take; a line that is not a call is
    /// skipped.
    pub fn take_calls(&mut self) -> Vec<TracedCall> {
        let Ok(mut file) = File::open(self.calls_file()) else {
            return Vec::new(); // nothing traced yet
        };
        let mut text = Vec::new();
        if file.seek(SeekFrom::Start(self.read_to)).is_err()
            || file.take(MAX_TAKE).read_to_end(&mut text).is_err()
        {
            return Vec::new();
        }
        let Some(end) = text.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        self.read_to += end as u64 + 1;
        text[..end]
            .split(|&b| b == b'\n')
            .filter_map(|line| serde_json::from_slice(line).ok())
            .collect()
    }
}
