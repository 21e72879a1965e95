//! The lesson model: what a lesson is, what its pages and runs show, and what its
//! runs prove. The registry of lessons (the `teaching` module) builds `Lesson`
//! values; this module, a floor below it, never reads it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::{
    self, Code, EngineError, Mode, Outcome, OutcomeKind, Program, RunHandle, RunOptions, Scenario,
    Side, SideTrace, Trace,
};
use crate::python::{self, PythonError, PythonFile};

pub mod hints;

/// The language a lesson's code runs in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lang {
    #[default]
    Rust,
    Python,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Rust, Lang::Python];

    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
        }
    }

    /// The next language, in the order of `ALL` (the TUI's `L` key).
    pub fn next(self) -> Lang {
        match self {
            Lang::Rust => Lang::Python,
            Lang::Python => Lang::Rust,
        }
    }
}

/// Why a lesson could not be run in a language.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("lesson '{slug}' has no Python version yet ({path})")]
    NoPython { slug: &'static str, path: String },
    #[error(transparent)]
    Python(#[from] PythonError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// One lesson: its page, its teaching code, and the run that demonstrates it. Built by
/// the registry (the `teaching` module) from a teaching file's `Demo` and the lesson's slug.
pub struct Lesson {
    /// Stable name used on the command line and in URLs.
    pub slug: &'static str,
    /// The page's title: its first line, `# Title`.
    pub title: &'static str,
    /// The page's markdown (also the book's source).
    pub page: &'static str,
    /// The teaching source file, as shown on screen.
    pub source: &'static str,
    /// Where that file lives in the repository.
    pub source_path: &'static str,
    /// The same lesson in Python (`src/teaching/python/MODULE.py`), if written yet.
    pub python: Option<PythonFile>,
    pub scenario: fn() -> Scenario,
    pub naive: Program,
    pub correct: Program,
    /// The failure the naive side shows; the correct side always delivers.
    pub teaches: OutcomeKind,
    /// The most a receiver keeps in its own buffer, where the protocol sets one.
    pub receiver_limit: Option<Limit>,
}

/// A limit the teaching code sets on what a receiver keeps, by the name of its
/// constant (`MAX_LINE`): the path view shows it for a side whose code uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub bytes: usize,
}

/// What a teaching file declares (as `pub const DEMO`): the run and what it teaches.
/// The registry adds the slug, the page and the file.
pub struct Demo {
    pub scenario: fn() -> Scenario,
    pub naive: Program,
    pub correct: Program,
    /// The failure the naive side shows; the correct side always delivers.
    pub teaches: OutcomeKind,
    /// The most a receiver keeps in its own buffer, where the protocol sets one.
    pub receiver_limit: Option<Limit>,
}

/// The name of the anchor (`ANCHOR: naive`) around a side's code in a teaching file.
/// Kept apart from `Side::name`, the name shown to a student.
pub fn anchor_tag(side: Side) -> &'static str {
    match side {
        Side::Naive => "naive",
        Side::Correct => "correct",
    }
}

/// A page's title: its first line without the `# `. The registry evaluates it when it
/// is compiled, so a page that does not start with its title fails the build with
/// the message `untitled`.
pub const fn page_title(page: &'static str, untitled: &'static str) -> &'static str {
    let bytes = page.as_bytes();
    if bytes.len() <= 2 || bytes[0] != b'#' || bytes[1] != b' ' {
        panic!("{}", untitled);
    }
    let mut end = 2;
    while end < bytes.len() && bytes[end] != b'\n' && bytes[end] != b'\r' {
        end += 1;
    }
    let (line, _) = page.split_at(end);
    let (_, title) = line.split_at(2);
    title
}

impl Lesson {
    /// A lesson from its files and title (the registry derives them from the slug) and
    /// the teaching file's `Demo`.
    pub const fn new(
        slug: &'static str,
        title: &'static str,
        page: &'static str,
        source: &'static str,
        source_path: &'static str,
        python: Option<PythonFile>,
        demo: Demo,
    ) -> Lesson {
        Lesson {
            slug,
            title,
            page,
            source,
            source_path,
            python,
            scenario: demo.scenario,
            naive: demo.naive,
            correct: demo.correct,
            teaches: demo.teaches,
            receiver_limit: demo.receiver_limit,
        }
    }

    /// The lesson's receiver limit, if `side`'s code in `lang` uses it (the naive
    /// side of max-frame, say, checks no maximum).
    pub fn receiver_limit(&self, lang: Lang, side: Side) -> Option<Limit> {
        let limit = self.receiver_limit?;
        self.side_code_in(lang, side)
            .iter()
            .any(|(_, line)| line.contains(limit.name))
            .then_some(limit)
    }

    /// Runs the lesson's scenario, naive and correct side by side.
    pub fn run(&self, options: RunOptions) -> Result<Trace, EngineError> {
        engine::run(
            self.slug,
            &(self.scenario)(),
            self.naive,
            self.correct,
            self.options(options),
        )
    }

    /// Starts the run and returns at once, for a caller that steps or watches it.
    pub fn start(&self, options: RunOptions) -> Result<RunHandle, EngineError> {
        engine::start(
            self.slug,
            &(self.scenario)(),
            self.naive,
            self.correct,
            self.options(options),
        )
    }

    /// Where the lesson's Python file is (or is to be).
    pub fn python_path(&self) -> String {
        let module = self.source_path.trim_start_matches("src/teaching/");
        format!("src/teaching/python/{}", module.replace(".rs", ".py"))
    }

    /// Whether the lesson can run in `lang` here (it is written in it, and the
    /// language's interpreter is usable), without starting anything.
    pub fn can_run(&self, lang: Lang) -> Result<(), RunError> {
        match lang {
            Lang::Rust => Ok(()),
            Lang::Python => {
                self.python_file()?;
                python::interpreter()?;
                Ok(())
            }
        }
    }

    fn python_file(&self) -> Result<PythonFile, RunError> {
        self.python.ok_or_else(|| RunError::NoPython {
            slug: self.slug,
            path: self.python_path(),
        })
    }

    /// Both sides' code in `lang` (naive, correct). For Python this starts the
    /// interpreter that runs them, until the code is dropped.
    pub fn code(&self, lang: Lang) -> Result<[Code; 2], RunError> {
        match lang {
            Lang::Rust => Ok([Code::Native(self.naive), Code::Native(self.correct)]),
            Lang::Python => {
                let file = self.python_file()?;
                let interpreter = python::interpreter()?;
                let programs =
                    python::programs(&interpreter, file).map_err(|e| PythonError::Start {
                        path: interpreter.display().to_string(),
                        reason: e.to_string(),
                    })?;
                Ok(programs.map(Code::External))
            }
        }
    }

    /// Runs the lesson's scenario in `lang`, naive and correct side by side.
    pub fn run_in(&self, lang: Lang, options: RunOptions) -> Result<Trace, RunError> {
        Ok(self.start_in(lang, options)?.join()?)
    }

    /// Starts the run in `lang` and returns at once.
    pub fn start_in(&self, lang: Lang, options: RunOptions) -> Result<RunHandle, RunError> {
        let code = self.code(lang)?;
        Ok(engine::start_code(
            self.slug,
            &(self.scenario)(),
            code,
            self.options(options),
        )?)
    }

    /// `options` for a run of this lesson: the calls made in its source file record
    /// their lines.
    pub fn options(&self, options: RunOptions) -> RunOptions {
        RunOptions {
            teaching_file: Some(self.source_path),
            ..options
        }
    }

    /// Runs the lesson in lockstep with seeds `1..=seeds` and returns every run in
    /// which the naive side did not fail as claimed or the correct side did not deliver.
    pub fn check(
        &self,
        seeds: u64,
        progress: impl FnMut(u64),
    ) -> Result<Vec<BrokenClaim>, EngineError> {
        Ok(self.measure(Mode::Lockstep, seeds, progress)?.broken)
    }

    /// Runs the lesson in `mode` with seeds `1..=seeds`, counts what each side did,
    /// and lists every run that breaks the mode's claims (see `Measured`).
    pub fn measure(
        &self,
        mode: Mode,
        seeds: u64,
        progress: impl FnMut(u64),
    ) -> Result<Measured, EngineError> {
        self.measure_in(Lang::Rust, mode, seeds, progress)
            .map_err(|e| match e {
                RunError::Engine(e) => e,
                other => EngineError::Internal(other.to_string()),
            })
    }

    /// `measure`, with the code in `lang`.
    pub fn measure_in(
        &self,
        lang: Lang,
        mode: Mode,
        seeds: u64,
        mut progress: impl FnMut(u64),
    ) -> Result<Measured, RunError> {
        let mut measured = Measured::new(mode);
        let quiet_ms = (self.scenario)().limits.quiet_ms;
        let code = self.code(lang)?;
        for seed in 1..=seeds {
            progress(seed);
            let trace = engine::run_code(
                self.slug,
                &(self.scenario)(),
                code.clone(),
                self.options(RunOptions {
                    seed,
                    mode,
                    ..RunOptions::default()
                }),
            )?;
            measured.add(self.teaches, quiet_ms, &trace);
        }
        Ok(measured)
    }

    /// The lines of the teaching source between `ANCHOR: name` and `ANCHOR_END: name`.
    pub fn anchor(&self, name: &str) -> Option<String> {
        anchor(self.source, name)
    }

    /// The anchor's lines, each with its 1-based line number in the source file (the
    /// numbers the engine records for each call).
    pub fn anchor_lines(&self, name: &str) -> Vec<(u32, &'static str)> {
        anchor_lines(self.source, name).unwrap_or_default()
    }

    /// The side's code (its anchor's lines), each line with its number in the file.
    pub fn side_code(&self, side: Side) -> Vec<(u32, &'static str)> {
        self.anchor_lines(anchor_tag(side))
    }

    /// The lesson's code file in `lang`, if the lesson is written in it.
    pub fn source_in(&self, lang: Lang) -> Option<&'static str> {
        match lang {
            Lang::Rust => Some(self.source),
            Lang::Python => self.python.map(|file| file.source),
        }
    }

    /// Where the lesson's code file in `lang` lives in the repository, if it has one.
    pub fn source_path_in(&self, lang: Lang) -> Option<&'static str> {
        match lang {
            Lang::Rust => Some(self.source_path),
            Lang::Python => self.python.map(|file| file.path),
        }
    }

    /// The side's code in `lang`, each line with its number in that language's file
    /// (the numbers that run's trace records); empty when the lesson lacks `lang`.
    pub fn side_code_in(&self, lang: Lang, side: Side) -> Vec<(u32, &'static str)> {
        self.source_in(lang)
            .and_then(|source| anchor_lines(source, anchor_tag(side)))
            .unwrap_or_default()
    }

    /// The side's code in `lang` and, with it in file order, the code of each other
    /// anchor holding one of the lines `at` (where the run's calls are: a helper such
    /// as `recv_all` or `send`), so that a line the run is at is in sight.
    pub fn code_at(&self, lang: Lang, side: Side, at: &[u32]) -> Vec<(u32, &'static str)> {
        let mut code = self.side_code_in(lang, side);
        let Some(source) = self.source_in(lang) else {
            return code;
        };
        for &line in at {
            if code.iter().any(|(number, _)| *number == line) {
                continue;
            }
            // Never the other side's code.
            let Some(name) = innermost_anchor(source, line)
                .filter(|name| Side::BOTH.iter().all(|&s| anchor_tag(s) != *name))
            else {
                continue;
            };
            for entry in anchor_lines(source, name).unwrap_or_default() {
                if !code.contains(&entry) {
                    code.push(entry);
                }
            }
        }
        code.sort_by_key(|(number, _)| *number);
        code
    }

    /// The lesson's page: from `pages` (an author's live copy) when given and it has
    /// this lesson's page, else the embedded one; mdbook includes replaced by the
    /// code. A live page that exists but cannot be used is an error, never silently
    /// replaced by the embedded one.
    pub fn page_text(&self, pages: Option<&Path>) -> Result<String, PageError> {
        let live = match pages {
            Some(dir) => read_page(&dir.join(format!("{}.md", self.slug)))?,
            None => None,
        };
        let page = live.as_deref().unwrap_or(self.page);
        Ok(resolve_includes(page, |path, name| {
            let path = path.trim_start_matches("../");
            if let Some(lang) = Lang::ALL
                .into_iter()
                .find(|&lang| self.source_path_in(lang) == Some(path))
            {
                return anchor(self.source_in(lang)?, name);
            }
            let dir = pages?.parent()?;
            anchor(&std::fs::read_to_string(dir.join(path)).ok()?, name)
        }))
    }

    /// The embedded page, includes resolved.
    pub fn builtin_page_text(&self) -> String {
        self.page_text(None)
            .expect("the embedded page needs no file")
    }
}

/// Pages larger than this are refused: they are not lessons, and re-reading one on
/// every key would stall the TUI.
pub const MAX_PAGE_BYTES: u64 = 1_000_000;

/// A live lesson page (`--lessons DIR`) that exists but cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("could not read {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not UTF-8 text (line {line})")]
    NotUtf8 {
        path: std::path::PathBuf,
        line: usize,
    },
    #[error("{path} is {bytes} bytes; pages over 1 MB are refused")]
    TooLarge {
        path: std::path::PathBuf,
        bytes: u64,
    },
}

/// A page's text; `None` when there is no such file.
fn read_page(path: &Path) -> Result<Option<String>, PageError> {
    use std::io::Read;
    let read_error = |source| PageError::Read {
        path: path.to_owned(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_error(e)),
    };
    let too_large = |bytes| PageError::TooLarge {
        path: path.to_owned(),
        bytes,
    };
    let size = file.metadata().map_err(read_error)?.len();
    if size > MAX_PAGE_BYTES {
        return Err(too_large(size));
    }
    // The file may grow after the size was read: read no more than the limit allows.
    let mut bytes = Vec::new();
    file.take(MAX_PAGE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_PAGE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        PageError::NotUtf8 {
            path: path.to_owned(),
            line: good.iter().filter(|&&b| b == b'\n').count() + 1,
        }
    })
}

/// Replaces each `{{#include PATH:ANCHOR}}` with what `load(PATH, ANCHOR)` returns
/// (a note when it returns nothing), as mdbook does when it builds the book.
pub fn resolve_includes(page: &str, load: impl Fn(&str, &str) -> Option<String>) -> String {
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(start) = rest.find("{{#include ") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let target = rest[start + "{{#include ".len()..start + len].trim();
        let (path, name) = target.rsplit_once(':').unwrap_or((target, ""));
        match load(path, name) {
            Some(code) => out.push_str(code.trim_end_matches('\n')),
            None => out.push_str(&format!("(missing: {target})")),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// The text between mdbook's `ANCHOR: name` and `ANCHOR_END: name` lines, without
/// any other anchor lines inside it.
pub fn anchor(source: &str, name: &str) -> Option<String> {
    let lines = anchor_lines(source, name)?;
    Some(lines.iter().map(|(_, line)| format!("{line}\n")).collect())
}

/// The lines between the anchor's `ANCHOR: name` and `ANCHOR_END: name` comment lines
/// (`//` in Rust, `#` in Python, as mdbook accepts both), other anchor lines left out,
/// each with its 1-based line number; `None` when the anchor is not closed.
pub fn anchor_lines<'a>(source: &'a str, name: &str) -> Option<Vec<(u32, &'a str)>> {
    let mut numbered = (1..).zip(source.lines());
    numbered.find(|(_, line)| anchor_marker(line) == Some(AnchorMarker::Start(name)))?;
    let mut lines = Vec::new();
    for (number, line) in numbered {
        match anchor_marker(line) {
            Some(AnchorMarker::End(end)) if end == name => return Some(lines),
            Some(_) => {}
            None => lines.push((number, line)),
        }
    }
    None
}

/// The name of the smallest anchor that holds line `line` (1-based) of `source`.
fn innermost_anchor(source: &str, line: u32) -> Option<&str> {
    let mut open: Vec<(&str, u32)> = Vec::new();
    let mut best: Option<(&str, u32)> = None;
    for (number, text) in (1..).zip(source.lines()) {
        match anchor_marker(text) {
            Some(AnchorMarker::Start(name)) => open.push((name, number)),
            Some(AnchorMarker::End(name)) => {
                let Some(at) = open.iter().rposition(|(open, _)| *open == name) else {
                    continue;
                };
                let (_, start) = open.remove(at);
                let span = number - start;
                if start < line && line < number && best.is_none_or(|(_, best)| span < best) {
                    best = Some((name, span));
                }
            }
            None => {}
        }
    }
    best.map(|(name, _)| name)
}

#[derive(Debug, PartialEq, Eq)]
enum AnchorMarker<'a> {
    Start(&'a str),
    End(&'a str),
}

/// The anchor a comment line opens or closes: `// ANCHOR: name`, `# ANCHOR_END: name`.
fn anchor_marker(line: &str) -> Option<AnchorMarker<'_>> {
    let line = line.trim_start();
    let comment = line.strip_prefix("//").or_else(|| line.strip_prefix('#'))?;
    let comment = comment.trim();
    let name = |rest: &'static str| -> Option<&str> {
        let name = comment.strip_prefix(rest)?.trim();
        (!name.is_empty()).then_some(name)
    };
    if let Some(name) = name("ANCHOR:") {
        Some(AnchorMarker::Start(name))
    } else {
        name("ANCHOR_END:").map(AnchorMarker::End)
    }
}

/// One run in which a side did not behave as its lesson claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenClaim {
    pub seed: u64,
    pub side: Side,
    /// What the lesson says this side does.
    pub claim: OutcomeKind,
    /// What it did.
    pub outcome: Outcome,
}

impl std::fmt::Display for BrokenClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {}: the {} side should be {} but was {}",
            self.seed,
            self.side.name(),
            self.claim,
            self.outcome.describe()
        )
    }
}

/// What a lesson's runs in one mode showed, seed by seed.
///
/// What must hold: in every mode the correct side delivers every message on every
/// seed. In lockstep the naive side also fails, on every seed, the way its lesson
/// says (`Lesson::teaches`). In free-run and direct the kernel decides how reads
/// split, so the naive side may be lucky or fail another way: those rates are
/// measured and reported, never judged.
#[derive(Clone, Debug, Serialize)]
pub struct Measured {
    pub mode: Mode,
    pub runs: u64,
    /// Runs in which the naive side failed, by how (`failure_name`).
    pub naive_failed: BTreeMap<String, u64>,
    /// Runs in which the naive side delivered every message.
    pub naive_lucky: u64,
    /// Per side (naive, correct): runs in which at least one `recv()` spanned a cut
    /// (see `spans_a_cut`): where the relay cut the stream, or in direct, where one
    /// of the sender's `send()` calls ended (the kernel merged two writes).
    pub spanning_runs: [u64; 2],
    /// Runs in which the correct side delivered every message.
    pub correct_delivered: u64,
    /// Runs that broke what must hold.
    #[serde(skip)]
    pub broken: Vec<BrokenClaim>,
}

impl Measured {
    /// No runs yet.
    pub fn new(mode: Mode) -> Measured {
        Measured {
            mode,
            runs: 0,
            naive_failed: BTreeMap::new(),
            naive_lucky: 0,
            spanning_runs: [0, 0],
            correct_delivered: 0,
            broken: Vec::new(),
        }
    }

    /// Counts one run of a lesson that teaches `teaches`, whose scenario's time limit
    /// is `quiet_ms`.
    pub fn add(&mut self, teaches: OutcomeKind, quiet_ms: u64, trace: &Trace) {
        self.runs += 1;
        let naive = &trace.naive.outcome;
        if naive.is_delivered() {
            self.naive_lucky += 1;
        } else {
            *self
                .naive_failed
                .entry(failure_name(naive, quiet_ms))
                .or_default() += 1;
        }
        if trace.correct.outcome.is_delivered() {
            self.correct_delivered += 1;
        }
        for (count, side) in self.spanning_runs.iter_mut().zip(Side::BOTH) {
            // Direct has no relay: there the only cuts are where the sender's
            // `send()` calls ended.
            let cuts = match self.mode {
                Mode::Direct => send_boundaries(trace.side(side)),
                Mode::Lockstep | Mode::FreeRun => trace.cuts.clone(),
            };
            if spans_a_cut(trace.side(side), &cuts) {
                *count += 1;
            }
        }
        let mut claims = vec![(Side::Correct, OutcomeKind::Delivered)];
        if self.mode == Mode::Lockstep {
            claims.insert(0, (Side::Naive, teaches));
        }
        for (side, claim) in claims {
            let outcome = &trace.side(side).outcome;
            if outcome.kind() != claim {
                self.broken.push(BrokenClaim {
                    seed: trace.seed,
                    side,
                    claim,
                    outcome: outcome.clone(),
                });
            }
        }
    }

    /// Runs in which the naive side failed, any way.
    pub fn naive_failures(&self) -> u64 {
        self.naive_failed.values().sum()
    }

    /// The seeds that broke a claim, each once.
    pub fn broken_seeds(&self) -> usize {
        self.broken
            .iter()
            .map(|b| b.seed)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }
}

/// How a side failed, in a word or two: the outcome kind, with the error's kind for
/// errors ("error: broken-pipe") and a note when only the time limit (`quiet_ms`)
/// stopped it, rather than the exact detection.
pub fn failure_name(outcome: &Outcome, quiet_ms: u64) -> String {
    match outcome {
        Outcome::Error { error, .. } => format!("error: {error}"),
        Outcome::Stuck { waited_ms, .. } if *waited_ms >= quiet_ms => {
            "stuck (time limit)".to_string()
        }
        other => other.kind().to_string(),
    }
}

/// True when one of the side's `recv()` calls returned bytes on both sides of a cut:
/// the call's bytes run from stream position `p` to `p + n` (`p` counts every byte
/// the receiver read before), and some cut `c` has `p < c < p + n`. A cut the reader
/// met at the edge of a `recv()` is not spanned.
pub fn spans_a_cut(side: &SideTrace, cuts: &[usize]) -> bool {
    let mut position = 0;
    side.receiver_reads().any(|read| {
        let (start, end) = (position, position + read.moved);
        position = end;
        cuts.iter().any(|&cut| start < cut && cut < end)
    })
}

/// The stream offsets at which the side's sender's `send()` calls ended.
pub fn send_boundaries(side: &SideTrace) -> Vec<usize> {
    side.events
        .iter()
        .filter(|e| e.role == engine::Role::Sender && e.call == engine::Call::Send)
        .scan(0, |end, send| {
            *end += send.moved;
            Some(*end)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(moved: &[usize]) -> SideTrace {
        use crate::engine::{Call, CallResult, Event, Role};
        SideTrace {
            side: Side::Naive,
            events: moved
                .iter()
                .enumerate()
                .map(|(seq, &n)| Event {
                    seq: seq as u32,
                    at_us: 0,
                    role: Role::Receiver,
                    call: Call::Recv,
                    asked: 64,
                    moved: n,
                    offset: None,
                    bytes: vec![b'x'; n],
                    result: CallResult::Ok,
                    line: None,
                    queues: None,
                    buffer_limits: None,
                    writer_capacity: None,
                })
                .collect(),
            delivered: Vec::new(),
            outcome: Outcome::Delivered {
                messages: 0,
                reports: 0,
            },
        }
    }

    #[test]
    fn a_read_spans_a_cut_only_when_its_bytes_lie_on_both_sides() {
        // Reads of 0..4, 4..10: the cut at 4 is met at an edge, never spanned.
        assert!(!spans_a_cut(&reads(&[4, 6]), &[4]));
        // One read of 0..10 returns the pieces before and after the cut at 4.
        assert!(spans_a_cut(&reads(&[10]), &[4]));
        assert!(spans_a_cut(&reads(&[2, 8]), &[4]));
        assert!(!spans_a_cut(&reads(&[10]), &[]));
        assert!(!spans_a_cut(&reads(&[10]), &[10]));
    }

    /// A lesson that is never run: only its page and source are read.
    fn fixture(page: &'static str) -> Lesson {
        const SOURCE: &str = "//! A fixture.\n\
            // ANCHOR: naive\n\
            pub fn naive() {}\n\
            // ANCHOR_END: naive\n\
            // ANCHOR: correct\n\
            pub fn correct() {}\n\
            // ANCHOR_END: correct\n";
        let never = Program {
            send: |_, _| unreachable!("the fixture never runs"),
            recv: |_, _| unreachable!("the fixture never runs"),
        };
        Lesson::new(
            "fixture",
            page_title(page, "the fixture's page has no title"),
            page,
            SOURCE,
            "src/teaching/fixture.rs",
            None,
            Demo {
                scenario: || unreachable!("the fixture never runs"),
                naive: never,
                correct: never,
                teaches: OutcomeKind::Wrong,
                receiver_limit: None,
            },
        )
    }

    #[test]
    fn a_lesson_without_a_python_file_names_the_file_it_lacks() {
        let lesson = fixture("# Fixture\n");
        let error = lesson.code(Lang::Python).expect_err("no Python file");
        assert_eq!(
            error.to_string(),
            "lesson 'fixture' has no Python version yet (src/teaching/python/fixture.py)"
        );
        assert!(lesson.code(Lang::Rust).is_ok());
    }

    #[test]
    fn the_title_is_the_first_line_of_the_page() {
        let title = |page| page_title(page, "untitled");
        assert_eq!(title("# One cut\n\ntext"), "One cut");
        assert_eq!(title("# One cut\r\n"), "One cut");
        assert_eq!(title("# Only a title"), "Only a title");
        assert_eq!(fixture("# A fixture\n").title, "A fixture");
    }

    #[test]
    #[should_panic(expected = "x.md must start with its title")]
    fn a_page_without_a_title_is_refused() {
        page_title("Some text\n# Title\n", "x.md must start with its title");
    }

    #[test]
    fn a_side_s_code_is_its_anchor_with_the_file_line_numbers() {
        let lesson = fixture("# A fixture\n");
        assert_eq!(lesson.side_code(Side::Naive), [(3, "pub fn naive() {}")]);
        assert_eq!(
            lesson.side_code(Side::Correct),
            [(6, "pub fn correct() {}")]
        );
        let source: Vec<&str> = lesson.source.lines().collect();
        for side in Side::BOTH {
            for (number, text) in lesson.side_code(side) {
                assert_eq!(source[number as usize - 1], text);
            }
        }
    }

    #[test]
    fn a_python_anchor_is_a_comment_too() {
        let source =
            "import socket\n    # ANCHOR: recv\n    x = sock.recv(5)\n    # ANCHOR_END: recv\n";
        assert_eq!(
            anchor(source, "recv").as_deref(),
            Some("    x = sock.recv(5)\n")
        );
        assert_eq!(anchor("x = 1  # ANCHOR: recv\n", "recv"), None);
    }

    #[test]
    fn a_page_includes_its_own_source_by_anchor() {
        let lesson = fixture("# A fixture\n{{#include ../src/teaching/fixture.rs:correct}}\n");
        assert_eq!(
            lesson.builtin_page_text(),
            "# A fixture\npub fn correct() {}\n"
        );
        let other = fixture("# A fixture\n{{#include ../src/teaching/other.rs:naive}}\n");
        assert_eq!(
            other.builtin_page_text(),
            "# A fixture\n(missing: ../src/teaching/other.rs:naive)\n"
        );
    }

    #[test]
    fn a_live_folder_without_the_page_shows_the_built_in_one() {
        let lesson = fixture("# A fixture\n");
        let folder = tempfile::tempdir().unwrap();
        let empty = folder.path();
        assert_eq!(
            lesson.page_text(Some(empty)).unwrap(),
            lesson.builtin_page_text()
        );
        std::fs::write(empty.join(format!("{}.md", lesson.slug)), "# Mine\n").unwrap();
        assert_eq!(lesson.page_text(Some(empty)).unwrap(), "# Mine\n");
    }
}
