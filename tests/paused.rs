//! A process that is paused (SIGSTOP, a debugger, a suspended laptop) is not stuck:
//! the time it did not run must not count towards the engine's quiet-time backstop.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill(1) runs");
    assert!(status.success(), "kill -{name} {pid}");
}

#[test]
fn a_check_paused_longer_than_the_backstop_still_passes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockstep"))
        // errors: each run waits out a real read timeout, the case a pause hit hardest.
        .args(["check", "errors", "--seeds", "10"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Once the table's head is out, the runs have begun.
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let head = line.contains("lesson");
        seen.push(line);
        if head {
            break;
        }
    }
    // Into the first runs, where each side waits out a read timeout.
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.id();
    signal(pid, "STOP");
    // Longer than the 5 s backstop: the pause itself is the condition under test.
    std::thread::sleep(Duration::from_millis(6500));
    signal(pid, "CONT");
    seen.extend(lines.map(Result::unwrap));
    let status = child.wait().unwrap();
    let text = seen.join("\n");
    assert!(status.success(), "{text}");
    assert!(
        !text.contains("stuck …") && !text.contains("stopped after"),
        "{text}"
    );
}
