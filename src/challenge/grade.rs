//! `sockstep grade`: many submissions against the same seed, in parallel, each in a
//! `play` of its own (so one's hang or crash never touches another), summed up as a
//! submissions × levels matrix and the failures grouped by hint.
//!
//! The summaries are pure functions of the results, [`Graded`], so they are tested on
//! constructed runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::play::{self, PlayError, PlayOptions, Program};
use super::report;
use super::{FailureKind, Run, Status};

/// Each submission's name and what its run gave, in the order given.
pub type Graded = Vec<(String, Result<Run, PlayError>)>;

/// What to grade, and how.
#[derive(Clone, Debug)]
pub struct GradeOptions {
    /// Level names, in the order to play them.
    pub levels: Vec<String>,
    /// The command, where `{dir}` is the submission's folder (and `{port}`,
    /// `{level}` are filled in per level).
    pub cmd: String,
    pub dirs: Vec<PathBuf>,
    pub seed: u64,
    pub slow: f64,
    /// Submissions graded at once (at least 1).
    pub jobs: usize,
    pub memory_limit: Option<u64>,
    pub trace: bool,
}

/// `--cmd` for one submission: `{dir}` replaced by the folder (shell-quoted, so a
/// space in it stays one word), then split into words as a shell would.
pub fn command_for(cmd: &str, dir: &Path) -> Result<Vec<String>, String> {
    let dir = dir.to_string_lossy();
    let quoted = shlex::try_quote(&dir)
        .map_err(|_| format!("the folder {dir:?} holds a NUL byte"))?
        .into_owned();
    let filled = cmd.replace("{dir}", &quoted);
    match shlex::split(&filled) {
        Some(words) if !words.is_empty() => Ok(words),
        Some(_) => Err(format!("--cmd {cmd:?} has no command in it")),
        None => Err(format!(
            "--cmd {cmd:?} has an unclosed quote or a trailing backslash"
        )),
    }
}

/// Each folder's name in the matrix: its last part, or the whole path where two
/// submissions' last parts are the same.
pub fn names(dirs: &[PathBuf]) -> Vec<String> {
    let base = |dir: &PathBuf| {
        dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    dirs.iter()
        .map(|dir| {
            let name = base(dir);
            if dirs.iter().filter(|other| base(other) == name).count() > 1 {
                dir.display().to_string()
            } else {
                name
            }
        })
        .collect()
}

/// Grades every submission, `options.jobs` at a time, calling `progress(done, total)`
/// as each one finishes. A submission sockstep could not grade (a panic in sockstep
/// included) is an error of that submission only.
pub fn grade(options: &GradeOptions, progress: &(dyn Fn(usize, usize) + Sync)) -> Graded {
    let names = names(&options.dirs);
    let total = options.dirs.len();
    let next = AtomicUsize::new(0);
    // Counted and reported under one lock, so that progress never goes backwards.
    let done = Mutex::new(0);
    let results: Mutex<Vec<Option<Result<Run, PlayError>>>> =
        Mutex::new((0..total).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, total.max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    if index >= total {
                        break;
                    }
                    let result = catch_unwind(AssertUnwindSafe(|| grade_one(options, index)))
                        .unwrap_or_else(|_| {
                            Err(PlayError::Internal(
                                "sockstep failed (a panic) while grading this submission"
                                    .to_string(),
                            ))
                        });
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(result);
                    }
                    let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
                    *done += 1;
                    progress(*done, total);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    names
        .into_iter()
        .zip(results)
        .map(|(name, result)| {
            let result = result.unwrap_or_else(|| {
                Err(PlayError::Internal("this submission was not graded".into()))
            });
            (name, result)
        })
        .collect()
}

fn grade_one(options: &GradeOptions, index: usize) -> Result<Run, PlayError> {
    let argv = command_for(&options.cmd, &options.dirs[index]).map_err(PlayError::Internal)?;
    let play_options = PlayOptions {
        levels: options.levels.clone(),
        seed: options.seed,
        slow: options.slow,
        program: Program::Command(argv),
        keep_going: true,
        trace: options.trace,
        memory_limit: options.memory_limit,
        replay_prefix: vec!["sockstep".into(), "challenge".into()],
    };
    let mut run = play::play(&play_options, &mut |_| {})?;
    run.replay = report::replay(&play_options);
    Ok(run)
}

/// A level's cell: ✓ passed, ✗ failed, T no reply in time, C crashed or did not
/// start, E sockstep's error, - skipped.
pub fn cell(result: &Result<Run, PlayError>, level: &str) -> char {
    let run = match result {
        Ok(run) => run,
        Err(PlayError::NotStarted(_)) => return 'C',
        Err(_) => return 'E',
    };
    let Some(played) = run.levels.iter().find(|l| l.id == level) else {
        return ' ';
    };
    let kind = played.failure.as_ref().map(|f| f.kind);
    match played.status {
        Status::Pass => '✓',
        Status::Timeout => 'T',
        Status::Crash => 'C',
        Status::Error => 'E',
        Status::Skipped => '-',
        Status::Fail if kind == Some(FailureKind::Hang) => 'T',
        Status::Fail if kind == Some(FailureKind::Crash) => 'C',
        Status::Fail => '✗',
    }
}

/// What the cells mean.
pub const LEGEND: [&str; 6] = [
    "✓ passed",
    "✗ failed",
    "T no reply in time",
    "C crashed or did not start",
    "E sockstep's error",
    "- skipped",
];

/// `items` after `lead`, two spaces apart, in lines of at most 80 columns.
fn flowed(lead: &str, items: &[String]) -> String {
    let mut out = String::new();
    let mut line = lead.to_string();
    for item in items {
        let fresh = line.chars().count() == lead.chars().count();
        if !fresh && line.chars().count() + 2 + item.chars().count() > 80 {
            out.push_str(line.trim_end());
            out.push('\n');
            line = " ".repeat(lead.chars().count());
        } else if !fresh {
            line.push_str("  ");
        }
        line.push_str(item);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The submissions × levels matrix, with each submission's score. Levels are
/// named in the header when they fit in 80 columns, else numbered with a key.
pub fn matrix(levels: &[String], graded: &Graded) -> String {
    let name_width = graded
        .iter()
        .map(|(name, _)| name.chars().count())
        .chain(["submission".len()])
        .max()
        .unwrap_or(0)
        .min(30);
    let named_width: usize =
        name_width + levels.iter().map(|l| l.len() + 2).sum::<usize>() + "  score".len();
    let numbered = named_width > 80;
    let headers: Vec<String> = levels
        .iter()
        .enumerate()
        .map(|(i, level)| {
            if numbered {
                (i + 1).to_string()
            } else {
                level.clone()
            }
        })
        .collect();
    let mut out = String::new();
    let _ = write!(out, "{:<name_width$}", "submission");
    for header in &headers {
        let _ = write!(out, "  {header:^w$}", w = header.len().max(1));
    }
    out.push_str("  score\n");
    for (name, result) in graded {
        let shown: String = if name.chars().count() > name_width {
            name.chars().take(name_width - 1).chain(['…']).collect()
        } else {
            name.clone()
        };
        let _ = write!(out, "{shown:<name_width$}");
        for (level, header) in levels.iter().zip(&headers) {
            let mark = cell(result, level).to_string();
            let _ = write!(out, "  {mark:^w$}", w = header.len().max(1));
        }
        let passed = levels.iter().filter(|l| cell(result, l) == '✓').count();
        let _ = writeln!(out, "  {passed}/{}", levels.len());
    }
    if numbered {
        let key: Vec<String> = levels
            .iter()
            .enumerate()
            .map(|(i, level)| format!("{} {level}", i + 1))
            .collect();
        out.push_str(&flowed("levels: ", &key));
    }
    out.push_str(&flowed("", &LEGEND.map(String::from)));
    out
}

/// The submissions that failed the same way: the hint, the levels it came from,
/// and who.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    pub hint: String,
    pub levels: Vec<String>,
    pub submissions: Vec<String>,
}

/// The failures grouped by hint, the commonest first (ties by hint).
pub fn groups(graded: &Graded) -> Vec<Group> {
    let mut by_hint: BTreeMap<String, Group> = BTreeMap::new();
    let mut add = |hint: String, level: Option<&str>, name: &str| {
        let group = by_hint.entry(hint.clone()).or_insert_with(|| Group {
            hint,
            levels: Vec::new(),
            submissions: Vec::new(),
        });
        if let Some(level) = level.filter(|l| !group.levels.iter().any(|g| g == l)) {
            group.levels.push(level.to_string());
        }
        if !group.submissions.iter().any(|s| s == name) {
            group.submissions.push(name.to_string());
        }
    };
    for (name, result) in graded {
        match result {
            Err(PlayError::NotStarted(_)) => add("the program did not start".into(), None, name),
            Err(error) => add(format!("sockstep could not grade it: {error}"), None, name),
            Ok(run) => {
                for level in &run.levels {
                    let hint = match (&level.failure, level.status) {
                        (_, Status::Pass | Status::Skipped) => continue,
                        (Some(failure), _) if !failure.hint.is_empty() => failure.hint.clone(),
                        (Some(failure), _) => report::describe_kind(failure.kind).to_string(),
                        (None, status) => format!("{status:?}").to_lowercase(),
                    };
                    add(hint, Some(level.id), name);
                }
            }
        }
    }
    let mut groups: Vec<Group> = by_hint.into_values().collect();
    groups.sort_by(|a, b| {
        b.submissions
            .len()
            .cmp(&a.submissions.len())
            .then_with(|| a.hint.cmp(&b.hint))
    });
    groups
}

/// `14 submissions: one recv() is not one message (length-prefix, leftover)` and
/// who, per group.
pub fn groups_text(groups: &[Group]) -> String {
    let mut out = String::new();
    for group in groups {
        let count = group.submissions.len();
        let levels = if group.levels.is_empty() {
            String::new()
        } else {
            format!(" ({})", group.levels.join(", "))
        };
        let _ = writeln!(
            out,
            "{count} submission{}: {}{levels}",
            if count == 1 { "" } else { "s" },
            group.hint
        );
        let _ = writeln!(out, "    {}", group.submissions.join(", "));
    }
    out
}

/// One word per cell, for the CSV and JSON.
fn cell_word(result: &Result<Run, PlayError>, level: &str) -> &'static str {
    match cell(result, level) {
        '✓' => "pass",
        '✗' => "fail",
        'T' => "timeout",
        'C' => "crash",
        'E' => "error",
        '-' => "skipped",
        _ => "",
    }
}

/// `submission,LEVEL…,passed,total`, one row per submission.
pub fn csv(levels: &[String], graded: &Graded) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["submission".to_string()];
    header.extend(levels.iter().cloned());
    header.extend(["passed".to_string(), "total".to_string()]);
    writer.write_record(&header)?;
    for (name, result) in graded {
        let mut row = vec![name.clone()];
        row.extend(levels.iter().map(|l| cell_word(result, l).to_string()));
        let passed = levels.iter().filter(|l| cell(result, l) == '✓').count();
        row.extend([passed.to_string(), levels.len().to_string()]);
        writer.write_record(&row)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| csv::Error::from(error.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[derive(Serialize)]
struct GradeJson<'a> {
    schema_version: u32,
    sockstep_version: &'static str,
    seed: u64,
    levels: &'a [String],
    submissions: Vec<SubmissionJson>,
    groups: Vec<Group>,
}

#[derive(Serialize)]
struct SubmissionJson {
    name: String,
    /// Per level: pass, fail, timeout, crash, error or skipped.
    cells: BTreeMap<String, &'static str>,
    /// The run's report (as `challenge --json`), or null where it did not run.
    report: Option<serde_json::Value>,
    /// Why it could not be played, where it could not.
    error: Option<String>,
}

/// Every submission's cells and full report, and the groups.
pub fn json(levels: &[String], seed: u64, graded: &Graded) -> String {
    let submissions = graded
        .iter()
        .map(|(name, result)| SubmissionJson {
            name: name.clone(),
            cells: levels
                .iter()
                .map(|l| (l.clone(), cell_word(result, l)))
                .collect(),
            report: result
                .as_ref()
                .ok()
                .and_then(|run| serde_json::from_str(&report::json(run)).ok()),
            error: result.as_ref().err().map(ToString::to_string),
        })
        .collect();
    let out = GradeJson {
        schema_version: super::SCHEMA_VERSION,
        sockstep_version: env!("CARGO_PKG_VERSION"),
        seed,
        levels,
        submissions,
        groups: groups(graded),
    };
    let mut text = serde_json::to_string_pretty(&out).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::challenge::{Delivery, Failure, LevelResult};

    fn level(
        id: &'static str,
        status: Status,
        failure: Option<(FailureKind, &str)>,
    ) -> LevelResult {
        LevelResult {
            id,
            status,
            duration: Duration::from_millis(10),
            schedule: Vec::new(),
            failure: failure.map(|(kind, hint)| Failure {
                kind,
                connection: 1,
                expected: Vec::new(),
                actual: Vec::new(),
                first_diff: None,
                detail: String::new(),
                hint: hint.to_string(),
                calls: Vec::new(),
            }),
        }
    }

    fn run(levels: Vec<LevelResult>) -> Result<Run, PlayError> {
        Ok(Run {
            seed: 7,
            delivery: Delivery::Lockstep,
            argv: vec!["python3".into()],
            duration: Duration::from_secs(1),
            levels,
            program: None,
            replay: "sockstep challenge all --seed 7 -- python3".into(),
        })
    }

    const SPLIT: &str = "one recv() is not one message";

    fn class() -> Graded {
        vec![
            (
                "alice".into(),
                run(vec![
                    level("fixed-length", Status::Pass, None),
                    level("length-prefix", Status::Pass, None),
                ]),
            ),
            (
                "bob".into(),
                run(vec![
                    level(
                        "fixed-length",
                        Status::Fail,
                        Some((FailureKind::WrongBytes, SPLIT)),
                    ),
                    level(
                        "length-prefix",
                        Status::Fail,
                        Some((FailureKind::WrongBytes, SPLIT)),
                    ),
                ]),
            ),
            (
                "carol".into(),
                run(vec![
                    level("fixed-length", Status::Pass, None),
                    level(
                        "length-prefix",
                        Status::Timeout,
                        Some((FailureKind::Hang, "flush")),
                    ),
                ]),
            ),
            (
                "dave".into(),
                Err(PlayError::NotStarted("never listened".into())),
            ),
            (
                "erin".into(),
                run(vec![
                    level(
                        "fixed-length",
                        Status::Crash,
                        Some((FailureKind::Crash, "SIGPIPE")),
                    ),
                    level(
                        "length-prefix",
                        Status::Fail,
                        Some((FailureKind::WrongBytes, SPLIT)),
                    ),
                ]),
            ),
        ]
    }

    fn levels() -> Vec<String> {
        vec!["fixed-length".into(), "length-prefix".into()]
    }

    #[test]
    fn the_matrix_has_a_row_per_submission_and_a_mark_per_level() {
        assert_eq!(
            matrix(&levels(), &class()),
            "submission  fixed-length  length-prefix  score\n\
             alice            ✓              ✓        2/2\n\
             bob              ✗              ✗        0/2\n\
             carol            ✓              T        1/2\n\
             dave             C              C        0/2\n\
             erin             C              ✗        0/2\n"
                .to_string()
                + "✓ passed  ✗ failed  T no reply in time  C crashed or did not start\n\
                   E sockstep's error  - skipped\n"
        );
    }

    #[test]
    fn many_levels_are_numbered_with_a_key_to_stay_in_80_columns() {
        let all: Vec<String> = crate::challenge::level::levels()
            .iter()
            .map(|l| l.id.to_string())
            .collect();
        let text = matrix(&all, &class());
        assert!(
            text.lines().all(|line| line.chars().count() <= 80),
            "{text}"
        );
        assert!(text.starts_with("submission  1  2  3"), "{text}");
        assert!(
            text.contains("levels: 1 fixed-length  2 delimiter"),
            "{text}"
        );
    }

    #[test]
    fn failures_group_by_hint_commonest_first() {
        let groups = groups(&class());
        assert_eq!(
            groups[0],
            Group {
                hint: SPLIT.into(),
                levels: vec!["fixed-length".into(), "length-prefix".into()],
                submissions: vec!["bob".into(), "erin".into()],
            }
        );
        let hints: Vec<&str> = groups.iter().map(|g| g.hint.as_str()).collect();
        assert_eq!(
            hints,
            [SPLIT, "SIGPIPE", "flush", "the program did not start"]
        );
        let text = groups_text(&groups);
        assert!(
            text.starts_with(&format!(
                "2 submissions: {SPLIT} (fixed-length, length-prefix)\n    bob, erin\n"
            )),
            "{text}"
        );
        assert!(text.contains("1 submission: the program did not start\n    dave\n"));
    }

    #[test]
    fn csv_has_a_word_per_cell() {
        let text = csv(&levels(), &class()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "submission,fixed-length,length-prefix,passed,total"
        );
        assert_eq!(lines[3], "carol,pass,timeout,1,2");
        assert_eq!(lines[4], "dave,crash,crash,0,2");
    }

    #[test]
    fn json_holds_each_report_or_error() {
        let value: serde_json::Value = serde_json::from_str(&json(&levels(), 7, &class())).unwrap();
        assert_eq!(value["submissions"][1]["cells"]["length-prefix"], "fail");
        assert_eq!(value["submissions"][1]["report"]["status"], "fail");
        assert_eq!(value["submissions"][3]["error"], "never listened");
        assert!(value["submissions"][3]["report"].is_null());
        assert_eq!(value["groups"][0]["hint"], SPLIT);
    }

    #[test]
    fn the_command_gets_the_folder_as_one_word() {
        assert_eq!(
            command_for("python3 {dir}/server.py {port}", Path::new("/tmp/a b")).unwrap(),
            ["python3", "/tmp/a b/server.py", "{port}"]
        );
        assert!(
            command_for("python3 'x", Path::new("d"))
                .unwrap_err()
                .contains("unclosed quote")
        );
    }

    #[test]
    fn names_are_basenames_unless_two_clash() {
        let dirs = [
            PathBuf::from("class/alice"),
            PathBuf::from("a/bob"),
            PathBuf::from("b/bob"),
        ];
        assert_eq!(names(&dirs), ["alice", "a/bob", "b/bob"]);
    }

    #[test]
    fn every_submission_is_graded_and_progress_counts_to_the_total() {
        let options = GradeOptions {
            levels: levels(),
            cmd: "python3 {dir}/server.py {port}".into(),
            dirs: vec!["x".into(), "y".into(), "z".into()],
            seed: 1,
            slow: 1.0,
            jobs: 2,
            memory_limit: None,
            trace: false,
        };
        let seen = Mutex::new(Vec::new());
        let graded = grade(&options, &|done, total| {
            seen.lock().unwrap().push((done, total));
        });
        let names: Vec<&str> = graded.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x", "y", "z"]);
        assert_eq!(seen.into_inner().unwrap(), [(1, 3), (2, 3), (3, 3)]);
    }
}
