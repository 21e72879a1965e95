//! Every run cleans up: after many runs the process holds as many open file
//! descriptors as before, and (Python runs) no child process. Kept alone in its own
//! test binary so no other test's sockets or processes are counted.

use sockstep::engine::{Mode, RunOptions, Side};
use sockstep::lesson::{Lang, Lesson};
use sockstep::teaching;

/// Python runs in the leak test, as the issue asks: 200 (about 20 s in a debug
/// build; each starts an interpreter that forks four parts). `SOCKSTEP_LEAK_RUNS=N`
/// runs N instead.
fn python_runs() -> u64 {
    std::env::var("SOCKSTEP_LEAK_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

/// The processes whose parent is this one.
fn children() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .expect("/proc is readable on Linux")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
                after.split_whitespace().nth(1) == Some(me.as_str())
            })
        })
        .count()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd is readable on Linux")
        .count()
}

/// `count` runs in `lang`, round the lessons that have it; each must deliver.
fn run_many(lang: Lang, lessons: &[&Lesson], count: u64, mode_of: impl Fn(u64) -> Mode) {
    for i in 0..count {
        let lesson = lessons[i as usize % lessons.len()];
        let mode = mode_of(i);
        let options = RunOptions {
            seed: i,
            mode,
            ..RunOptions::default()
        };
        let trace = lesson.run_in(lang, options).unwrap();
        assert!(
            trace.correct.outcome.is_delivered(),
            "{} in {lang:?}, {mode:?} seed {i}",
            lesson.slug
        );
    }
}

/// `count` stepped runs dropped after one step; every other one first waits until
/// both sides have settled at the gate (their programs up and waiting).
fn abandon_many(lang: Lang, lessons: &[&Lesson], count: u64, settle_some: bool) {
    for i in 0..count {
        let options = RunOptions {
            seed: i,
            stepping: true,
            ..RunOptions::default()
        };
        let handle = lessons[i as usize % lessons.len()]
            .start_in(lang, options)
            .unwrap();
        handle.step();
        if settle_some && i % 2 == 0 {
            for side in Side::BOTH {
                handle.wait_for(side, std::time::Duration::from_secs(30), |s| s.settled);
            }
        }
        drop(handle);
    }
}

#[test]
fn two_hundred_runs_leave_no_socket_or_thread_behind() {
    let lessons: Vec<&Lesson> = teaching::all().iter().collect();
    // One run first, so anything created once per process (not per run) exists.
    lessons[0].run(RunOptions::default()).unwrap();
    let before = open_fds();
    let every_fourth_free = |i: u64| {
        if i % 4 == 3 {
            Mode::FreeRun
        } else {
            Mode::Lockstep
        }
    };
    run_many(Lang::Rust, &lessons, 200, every_fourth_free);
    // Abandoned runs clean up too.
    abandon_many(Lang::Rust, &lessons, 20, false);
    // Python: real interpreters, each killed and reaped whatever the outcome.
    sockstep::python::interpreter().expect("the leak test runs Python lessons: it needs python3");
    let python: Vec<&Lesson> = lessons
        .iter()
        .copied()
        .filter(|l| l.python.is_some())
        .collect();
    assert!(!python.is_empty(), "some lesson has a Python file");
    let each_mode_in_turn =
        |i: u64| Mode::ALL[(i / python.len() as u64) as usize % Mode::ALL.len()];
    run_many(Lang::Python, &python, python_runs(), each_mode_in_turn);
    // Abandoned with its interpreters up, at the gate, or earlier.
    abandon_many(Lang::Python, &python, 10, true);
    assert_eq!(children(), 0, "no interpreter outlives its run");
    assert_eq!(open_fds(), before, "open file descriptors before and after");
    let threads = std::fs::read_dir("/proc/self/task").unwrap().count();
    assert_eq!(
        threads,
        1 + 1,
        "only the harness's main thread and this test's thread remain"
    );
}
