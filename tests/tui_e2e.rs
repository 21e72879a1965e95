//! End to end: the real binary in a pseudo-terminal, driven by keys, read back
//! through a terminal emulator (vt100). Waits on what the screen shows, with a time
//! limit, never on fixed sleeps.

#[path = "common/screen.rs"]
mod screen;

use portable_pty::CommandBuilder;
use screen::{Screen, sockstep};

#[test]
fn step_through_a_lesson_then_quit_back_to_the_shell() {
    let state = state_dir("steps");
    let mut screen = Screen::start(
        &["tui", "length-prefix", "--seed", "3"],
        40,
        120,
        state.path(),
    );
    screen.wait_for("the first lesson screen", |s| {
        s.contains("length-prefix") && s.contains("paused before line")
    });
    assert!(screen.parser.lock().unwrap().screen().alternate_screen());

    // Step until the naive side's first read shows the split prefix.
    let mut steps = 0;
    while !screen.text().contains("recv 5 → 2") {
        let before = header_step(&screen.text());
        screen.send(" ");
        steps += 1;
        assert!(steps < 50, "no read after 50 steps:\n{}", screen.text());
        screen.wait_for("the step count to move", |s| header_step(s) > before);
    }
    // Run to the end: the cut marker and both verdicts appear.
    screen.send("\r");
    // One condition: a frame is written in pieces, and the verdicts in the header
    // can be seen before the byte view below them is redrawn.
    let text = screen.wait_for("both verdicts and the cut inside the prefix", |s| {
        s.contains("Naive ✗") && s.contains("Correct ✓") && s.contains("00┃005")
    });
    assert!(text.contains('✓') && text.contains('✗'));

    // Help, then quit.
    screen.send("?");
    screen.wait_for("the help overlay", |s| s.contains("Keys (any key closes)"));
    screen.send("q");
    let status = screen.wait_exit("after q");
    assert!(status.success(), "exit status {status:?}");
    // Waits for the reader to see the last bytes: checking at once raced it.
    screen.assert_restored();
    // The lesson was run to the end: progress remembers it.
    let progress = std::fs::read_to_string(state.path().join("progress.json")).unwrap();
    assert!(progress.contains("length-prefix"), "{progress}");
}

#[test]
fn b_home_and_end_step_back_in_time_in_the_real_binary() {
    let state = state_dir("back");
    let mut screen = Screen::start(
        &["tui", "length-prefix", "--seed", "3"],
        24,
        80,
        state.path(),
    );
    screen.wait_for("the first screen", |s| s.contains(" step 0 of 0 "));
    for step in 1..=3 {
        screen.send(" ");
        screen.wait_for("the step recorded", |s| {
            s.contains(&format!(" step {step} of {step} "))
        });
    }
    screen.send("b");
    screen.wait_for("one step back", |s| s.contains(" step 2 of 3 "));
    // Home and End as an xterm sends them; Backspace as DEL.
    screen.send("\x1b[H");
    screen.wait_for("before the first call", |s| {
        s.contains(" step 0 of 3 ") && s.contains("sender: 0 calls")
    });
    screen.send(" ");
    screen.wait_for("forward through the record", |s| {
        s.contains(" step 1 of 3 ")
    });
    screen.send("\x1b[F");
    screen.wait_for("the end", |s| s.contains(" step 3 of 3 "));
    screen.send("\x7f");
    screen.wait_for("back again", |s| s.contains(" step 2 of 3 "));
    screen.send("q");
    assert!(screen.wait_exit("after q").success());
    screen.assert_restored();
}

/// The path panes in the real binary: shown at 120x40 once the lesson text is
/// hidden, with partial-send's send queue full after the short write; B hides them.
#[test]
fn the_path_view_shows_the_send_queue_full_after_the_short_write() {
    let state = state_dir("path");
    let mut screen = Screen::start(
        &["tui", "partial-send", "--seed", "1"],
        40,
        120,
        state.path(),
    );
    screen.wait_for("the first screen", |s| s.contains(" step 0 of 0 "));
    screen.send("t");
    screen.wait_for("the path panes", |s| s.contains("where the bytes are"));
    screen.send(" ");
    screen.wait_for("the short write with the send queue full", |s| {
        s.contains(" step 1 of 1 ")
            && s.contains("send 9000 → 4096")
            && s.matches("▷ send queue  3072 B of 4608").count() == 2
    });
    screen.send("B");
    screen.wait_for("the panes hidden", |s| !s.contains("where the bytes are"));
    screen.send("q");
    assert!(screen.wait_exit("after q").success());
    screen.assert_restored();
}

#[test]
fn too_small_a_terminal_gets_a_clear_message_and_q_still_quits() {
    let state = state_dir("small");
    let mut screen = Screen::start(&["tui"], 12, 40, state.path());
    screen.wait_for("the size message", |s| {
        s.contains("needs a terminal of at least")
    });
    screen.send("q");
    assert!(screen.child.wait().unwrap().success());
}

fn state_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("sockstep-{name}-"))
        .tempdir()
        .expect("a temporary folder")
}

/// Sends `signal` from outside, as `kill` from another shell would.
fn signal_restores_the_terminal_and_exits(signal: &str, status: u32) {
    let state = state_dir(&format!("sig{signal}"));
    let mut screen = Screen::start(&["tui"], 40, 120, state.path());
    screen.wait_screen("the first screen drawn", |s| {
        s.contents().contains("paused before line") && s.alternate_screen() && s.hide_cursor()
    });
    let pid = screen.child.process_id().expect("a process id");
    let killed = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = screen.wait_exit(&format!("after SIG{signal}"));
    assert_eq!(
        (exit.exit_code(), exit.signal()),
        (status, None),
        "SIG{signal} should end with status {status}"
    );
    screen.assert_restored();
}

#[test]
fn sigint_restores_the_terminal_and_exits_130() {
    signal_restores_the_terminal_and_exits("INT", 130);
}

#[test]
fn sigquit_restores_the_terminal_and_exits_131() {
    signal_restores_the_terminal_and_exits("QUIT", 131);
}

#[test]
fn sigterm_restores_the_terminal_and_exits_143() {
    signal_restores_the_terminal_and_exits("TERM", 143);
}

#[test]
fn sighup_restores_the_terminal_and_exits_129() {
    signal_restores_the_terminal_and_exits("HUP", 129);
}

/// Panics on the main thread (`where_ = "1"`) or on another thread (`"thread"`).
fn a_panic_restores_the_terminal_and_exits_101(where_: &str) {
    let state = state_dir("panic");
    let mut command = sockstep(&["tui"], state.path());
    // Read only by debug builds, which the tests run.
    command.env("SOCKSTEP_DEBUG_PANIC_ON_KEY", where_);
    // Just the message, which the test reads on the screen.
    command.env("RUST_BACKTRACE", "0");
    let mut screen = Screen::spawn(command, 40, 120);
    screen.wait_for("the first screen", |s| s.contains("paused before line"));
    screen.send("x");
    let exit = screen.wait_exit("after the panic");
    assert_eq!(exit.exit_code(), 101, "a panic exits 101");
    screen.assert_restored();
    // Printed after the restore, so on the main screen, where the user sees it.
    screen.wait_for("the panic message", |s| {
        s.contains("SOCKSTEP_DEBUG_PANIC_ON_KEY")
    });
}

#[test]
fn a_panic_restores_the_terminal() {
    a_panic_restores_the_terminal_and_exits_101("1");
}

/// The UI's own threads (input, highlighter loading, the engine's relay and runner)
/// are not teaching code: a panic there ends the TUI too, instead of leaving it
/// drawing on a restored terminal, or waiting for input that will never come.
#[test]
fn a_panic_on_another_thread_restores_the_terminal_and_exits() {
    a_panic_restores_the_terminal_and_exits_101("thread");
}

#[test]
fn input_that_cannot_be_read_ends_the_tui_with_the_error() {
    let state = state_dir("input");
    let mut command = sockstep(&["tui"], state.path());
    // Read only by debug builds: the key after this is read as an I/O error.
    command.env("SOCKSTEP_DEBUG_INPUT_ERROR", "1");
    let mut screen = Screen::spawn(command, 40, 120);
    screen.wait_for("the first screen", |s| s.contains("paused before line"));
    screen.send("x");
    let exit = screen.wait_exit("after the input error");
    assert_eq!(exit.exit_code(), 1, "an error, not a quit");
    screen.assert_restored();
    screen.wait_for("the error", |s| {
        s.contains("error: could not read the terminal's input")
    });
}

#[test]
fn a_run_that_cannot_start_shows_its_error() {
    let state = state_dir("nofiles");
    let mut command = CommandBuilder::new("sh");
    command.args([
        "-c",
        &format!(
            "ulimit -n 16 && exec '{}' tui 1",
            env!("CARGO_BIN_EXE_sockstep")
        ),
    ]);
    command.env("TERM", "xterm-256color");
    command.env("SOCKSTEP_STATE_DIR", state.path());
    let mut screen = Screen::spawn(command, 40, 120);
    screen.wait_for("the first screen", |s| s.contains("step 0"));
    screen.send("\r");
    let text = screen.wait_for("the error on screen", |s| s.contains("open files"));
    assert!(
        !text.contains("running…"),
        "still shown as running:\n{text}"
    );
    screen.send("q");
    assert!(screen.wait_exit("after q").success());
}

#[test]
fn keys_after_a_4_kb_paste_into_the_seed_prompt_are_handled() {
    let state = state_dir("paste");
    let mut screen = Screen::start(&["tui", "1"], 40, 120, state.path());
    screen.wait_for("the first screen", |s| s.contains("step 0"));
    screen.send("s");
    screen.wait_for("the seed prompt", |s| s.contains("Run with seed"));
    // One write, as a terminal delivers a paste; nothing more arrives after it.
    screen.send(&format!("{}\r", "1".repeat(4096)));
    screen.wait_for("the pasted seed in the header", |s| {
        s.contains("seed 11111111111111111111 ")
    });
    screen.send("q");
    assert!(screen.wait_exit("after q").success());
    screen.assert_restored();
}

#[test]
fn q_after_300_queued_mouse_moves_quits() {
    let state = state_dir("mouse");
    let mut screen = Screen::start(&["tui", "1"], 40, 120, state.path());
    screen.wait_for("the first screen", |s| s.contains("step 0"));
    // SGR mouse reports of a move with no button held, then q, in one write.
    let moves: String = (0..300)
        .map(|i| format!("\x1b[<35;{};{}M", 10 + i % 50, 5 + i % 20))
        .collect();
    screen.send(&format!("{moves}q"));
    assert!(screen.wait_exit("after the moves and q").success());
    screen.assert_restored();
}

#[test]
fn the_seed_prompt_takes_any_u64() {
    let state = state_dir("seed");
    let mut screen = Screen::start(&["tui", "1"], 40, 120, state.path());
    screen.wait_for("the first screen", |s| s.contains("step 0"));
    screen.send("s");
    screen.wait_for("the seed prompt", |s| s.contains("Run with seed"));
    // u64::MAX, then one digit too many, which the prompt refuses to add.
    screen.send("184467440737095516159\r");
    screen.wait_for("the largest seed in the header", |s| {
        s.contains("seed 18446744073709551615 ")
    });
    screen.send("q");
    assert!(screen.wait_exit("after q").success());
}

/// The colours the program's SGR escape codes set, foreground and background.
#[derive(Debug, PartialEq)]
enum Colour {
    /// `38;2;r;g;b`
    Rgb,
    /// `38;5;n`
    Indexed(u8),
    /// 30–37, 90–97 and their backgrounds.
    Basic,
}

fn colours(raw: &str) -> Vec<Colour> {
    let mut found = Vec::new();
    for sgr in raw.split("\x1b[").skip(1) {
        let Some(end) = sgr.find('m') else { continue };
        let params = &sgr[..end];
        if !params.bytes().all(|b| b.is_ascii_digit() || b == b';') {
            continue;
        }
        let numbers: Vec<u32> = params.split(';').filter_map(|p| p.parse().ok()).collect();
        let mut i = 0;
        while i < numbers.len() {
            match (numbers[i], numbers.get(i + 1)) {
                (38 | 48, Some(5)) => {
                    found.push(Colour::Indexed(
                        numbers.get(i + 2).copied().unwrap_or(0) as u8
                    ));
                    i += 3;
                }
                (38 | 48, Some(2)) => {
                    found.push(Colour::Rgb);
                    i += 5;
                }
                (30..=37 | 40..=47 | 90..=97 | 100..=107, _) => {
                    found.push(Colour::Basic);
                    i += 1;
                }
                _ => i += 1,
            }
        }
    }
    found
}

/// Every escape code written under `env` until the code is drawn highlighted
/// (`highlighted`: the highlighter loads in the background), or, in monochrome,
/// until two steps have been drawn.
/// The step the header names (`· step N `), 0 if none.
fn header_step(screen: &str) -> u32 {
    let first = screen.lines().next().unwrap_or_default();
    first
        .split(" · step ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn first_frames(name: &str, env: &[(&str, &str)], highlighted: bool) -> String {
    let state = state_dir(name);
    let mut command = sockstep(&["tui", "1"], state.path());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut screen = Screen::spawn(command, 40, 120);
    screen.wait_for("the first screen", |s| s.contains("step 0"));
    if highlighted {
        // Column 6 of the row that starts the naive code: its `pub`.
        screen.wait_screen("the code highlighted", |s| {
            let contents = s.contents();
            let Some(row) = contents.lines().position(|l| l.contains("pub fn naive")) else {
                return false;
            };
            s.cell(row as u16, 6).is_some_and(|cell| {
                cell.contents() == "p" && cell.fgcolor() != vt100::Color::Default
            })
        });
    }
    // Two steps; the header counts the points of the run's history, and one step
    // of both sides can settle at more than one (a side's call, then the other's).
    for _ in 0..2 {
        let before = header_step(&screen.text());
        screen.send(" ");
        screen.wait_for("the next step", |s| header_step(s) > before);
    }
    screen.send("q");
    assert!(screen.wait_exit("after q").success());
    screen.raw_output()
}

#[test]
fn truecolor_only_where_the_terminal_announces_it() {
    let truecolor = colours(&first_frames("24bit", &[("COLORTERM", "truecolor")], true));
    assert!(
        truecolor.contains(&Colour::Rgb),
        "COLORTERM=truecolor gets the 24-bit theme"
    );

    let xterm_256 = colours(&first_frames("256", &[], true));
    assert!(
        !xterm_256.contains(&Colour::Rgb),
        "xterm-256color without COLORTERM gets no 24-bit codes"
    );
    assert!(
        xterm_256.iter().any(|c| matches!(c, Colour::Indexed(16..))),
        "xterm-256color gets the theme in 256 colours"
    );

    let xterm = colours(&first_frames("16", &[("TERM", "xterm")], true));
    assert!(!xterm.is_empty(), "TERM=xterm still gets colour");
    assert!(
        xterm
            .iter()
            .all(|c| matches!(c, Colour::Basic | Colour::Indexed(..16))),
        "TERM=xterm gets the 16 colours only: {xterm:?}"
    );
}

#[test]
fn monochrome_terminals_and_no_color_get_no_colour() {
    for (name, env) in [
        ("mono", [("TERM", "xterm-mono"), ("COLORTERM", "truecolor")]),
        ("nocolor", [("NO_COLOR", "1"), ("COLORTERM", "truecolor")]),
    ] {
        let found = colours(&first_frames(name, &env, false));
        assert_eq!(found, [], "{env:?} gets no colour codes");
    }
}

#[test]
fn term_dumb_gets_a_clear_message_not_a_full_screen() {
    let state = state_dir("dumb");
    let mut command = sockstep(&["tui", "1"], state.path());
    command.env("TERM", "dumb");
    let mut screen = Screen::spawn(command, 40, 120);
    let exit = screen.wait_exit("with TERM=dumb");
    assert_eq!(exit.exit_code(), 1);
    let raw = screen.raw_output();
    assert!(!raw.contains("\x1b[?1049h"), "no alternate screen: {raw:?}");
    let text = screen.wait_for("the message", |s| s.contains("TERM=dumb"));
    assert!(
        text.contains("sockstep run"),
        "it points to what works: {text}"
    );
}

/// The marks in the naive side's code pane (the left one): `▶` the receiver's line,
/// `▷` the sender's, each with its line number.
fn naive_marks(screen: &str) -> Vec<(char, u32)> {
    screen
        .lines()
        .filter_map(|line| {
            let mut chars = line.strip_prefix('│')?.chars();
            let mark = chars.next().filter(|c| matches!(c, '▶' | '▷'))?;
            let number = chars.as_str().split_whitespace().next()?.parse().ok()?;
            Some((mark, number))
        })
        .collect()
}

#[test]
fn l_shows_the_python_code_its_marked_line_moves_and_both_verdicts_come() {
    let state = state_dir("python");
    let mut screen = Screen::start(
        &["tui", "length-prefix", "--seed", "3"],
        40,
        120,
        state.path(),
    );
    screen.wait_for("the Rust lesson", |s| {
        s.contains("· rust ·") && s.contains("paused before line")
    });
    screen.send("L");
    // Both naive programs reach their gates in their own time: wait for both marks.
    let text = screen.wait_for("the Python code, both sides at their first call", |s| {
        s.contains("· python ·")
            && s.contains("sock.recv(PREFIX_LEN)")
            && s.contains("paused before line 41")
            && naive_marks(s) == [('▷', 12), ('▶', 41)]
    });
    assert!(text.contains("length_prefix.py"), "{text}");

    // Step: the sender's mark moves between its two sendall() lines (the prefix,
    // then the message) while the receiver waits in its recv().
    let mut seen = vec![naive_marks(&text)];
    let mut steps = 0;
    while seen.len() < 3 {
        screen.send(" ");
        steps += 1;
        assert!(
            steps < 30,
            "the marks moved only {seen:?}:\n{}",
            screen.text()
        );
        // The step shows before the sender is back at its gate: wait for its mark.
        let text = screen.wait_for("the step, with both programs at a gate", |s| {
            s.contains(&format!("step {steps} ")) && naive_marks(s).len() == 2
        });
        let marks = naive_marks(&text);
        if seen.last() != Some(&marks) {
            seen.push(marks);
        }
    }
    assert_eq!(
        seen,
        [
            vec![('▷', 12), ('▶', 41)],
            vec![('▷', 13), ('▶', 41)],
            vec![('▷', 12), ('▶', 41)],
        ]
    );
    assert!(
        screen
            .text()
            .contains("sock.sendall(b'%05d' % len(message))")
    );

    screen.send("\r");
    screen.wait_for("both verdicts", |s| {
        s.contains("Naive ✗") && s.contains("Correct ✓") && s.contains("· python ·")
    });
    screen.quit();
    let progress = std::fs::read_to_string(state.path().join("progress.json")).unwrap();
    assert!(progress.contains("\"lang\": \"python\""), "{progress}");

    // The next start remembers Python.
    let screen = Screen::start(&["tui", "length-prefix"], 40, 120, state.path());
    screen.wait_for("the remembered language", |s| {
        s.contains("· python ·") && s.contains("def naive(sock):")
    });
    screen.quit();
}

#[test]
fn without_python_l_keeps_rust_and_says_why() {
    let state = state_dir("no-python");
    let mut command = sockstep(&["tui", "length-prefix"], state.path());
    command.env("SOCKSTEP_PYTHON", state.path().join("no-such-python"));
    let mut screen = Screen::spawn(command, 40, 120);
    screen.wait_for("the Rust lesson", |s| s.contains("· rust ·"));
    screen.send("L");
    let text = screen.wait_for("the notice", |s| s.contains("could not be run"));
    assert!(
        text.contains("· rust ·") && text.contains("pub fn naive"),
        "{text}"
    );
    screen.quit();
}

#[test]
fn tui_predict_asks_first_then_reveals_and_the_tally_is_saved() {
    let state = state_dir("predict");
    // Seed 3 asks what the naive receiver's first recv() returns; welcome's first
    // cut at seed 3 is after one byte: "h" is choice 2 (`sockstep predict welcome
    // --seed 3 --kind first-recv` says so).
    let mut screen = Screen::start(
        &["tui", "welcome", "--seed", "3", "--predict"],
        30,
        100,
        state.path(),
    );
    screen.wait_for("the question before the run", |s| {
        s.contains("Predict, then watch") && s.contains("first recv() return?")
    });
    screen.send("2");
    screen.wait_for("the answer after the run", |s| {
        s.contains("Right.") && s.contains("recv() at line")
    });
    screen.send("z");
    screen.wait_for("back to the run", |s| {
        !s.contains("Predict, then watch") && s.contains("Naive ✗")
    });
    screen.send("q");
    assert!(screen.wait_exit("after q").success());
    screen.assert_restored();
    let progress = std::fs::read_to_string(state.path().join("progress.json")).unwrap();
    let progress: serde_json::Value = serde_json::from_str(&progress).unwrap();
    assert_eq!(progress["predictions"]["welcome"]["right"], 1, "{progress}");
}
