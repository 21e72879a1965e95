//! Every run cleans up: after many runs the process holds as many open file
//! descriptors as before, and (Python runs) no child process. Kept alone in its own
//! test binary so no other test's sockets or processes are counted.

use sockstep::engine::{Mode, RunOptions, Side};
use sockstep::lesson::Lang;
use sockstep::teaching;

/// Python runs in the leak test. Each starts an interpreter that forks four parts;
/// 50 keep CI fast (about 5 s in a debug build) and still cover every mode and both
/// Python lessons many times over; `SOCKSTEP_LEAK_RUNS=200` runs the 200.
fn python_runs() -> u64 {
    std::env::var("SOCKSTEP_LEAK_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50)
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

#[test]
fn two_hundred_runs_leave_no_socket_or_thread_behind() {
    let lessons = teaching::all();
    // One run first, so anything created once per process (not per run) exists.
    lessons[0].run(RunOptions::default()).unwrap();
    let before = open_fds();
    for i in 0..200u64 {
        let lesson = &lessons[i as usize % lessons.len()];
        let mode = if i % 4 == 3 {
            Mode::FreeRun
        } else {
            Mode::Lockstep
        };
        let trace = lesson
            .run(RunOptions {
                seed: i,
                mode,
                ..RunOptions::default()
            })
            .unwrap();
        assert!(
            trace.correct.outcome.is_delivered(),
            "{} seed {i}",
            lesson.slug
        );
    }
    // Abandoned runs clean up too.
    for i in 0..20u64 {
        let handle = lessons[i as usize % lessons.len()]
            .start(RunOptions {
                seed: i,
                stepping: true,
                ..RunOptions::default()
            })
            .unwrap();
        handle.step();
        drop(handle);
    }
    // Python: real interpreters, each killed and reaped whatever the outcome.
    sockstep::python::interpreter().expect("the leak test runs Python lessons: it needs python3");
    let python: Vec<_> = lessons.iter().filter(|l| l.python.is_some()).collect();
    assert!(!python.is_empty(), "some lesson has a Python file");
    for i in 0..python_runs() {
        let lesson = python[i as usize % python.len()];
        let mode = Mode::ALL[(i / python.len() as u64) as usize % Mode::ALL.len()];
        let trace = lesson
            .run_in(
                Lang::Python,
                RunOptions {
                    seed: i,
                    mode,
                    ..RunOptions::default()
                },
            )
            .unwrap();
        assert!(
            trace.correct.outcome.is_delivered(),
            "{} in Python, {mode:?} seed {i}",
            lesson.slug
        );
    }
    for i in 0..10u64 {
        let handle = python[i as usize % python.len()]
            .start_in(
                Lang::Python,
                RunOptions {
                    seed: i,
                    stepping: true,
                    ..RunOptions::default()
                },
            )
            .unwrap();
        handle.step();
        if i % 2 == 0 {
            // Abandoned with its interpreters up, at the gate.
            for side in Side::BOTH {
                handle.wait_for(side, std::time::Duration::from_secs(30), |s| s.settled);
            }
        }
        drop(handle);
    }
    assert_eq!(children(), 0, "no interpreter outlives its run");
    assert_eq!(open_fds(), before, "open file descriptors before and after");
    let threads = std::fs::read_dir("/proc/self/task").unwrap().count();
    assert_eq!(
        threads,
        1 + 1,
        "only the harness's main thread and this test's thread remain"
    );
}
