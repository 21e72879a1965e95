//! Every run cleans up: after many runs the process holds as many open file
//! descriptors as before. Kept alone in its own test binary so no other test's
//! sockets are counted.

use sockstep::engine::{Mode, RunOptions};
use sockstep::teaching;

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
    assert_eq!(open_fds(), before, "open file descriptors before and after");
    let threads = std::fs::read_dir("/proc/self/task").unwrap().count();
    assert_eq!(
        threads,
        1 + 1,
        "only the harness's main thread and this test's thread remain"
    );
}
