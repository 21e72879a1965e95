//! `sockstep challenge` and `sockstep grade` as a user types them: what they print
//! and their exit codes, for everything that needs no program under test (the
//! end-to-end runs against real servers are in the integration's tests).

mod common;

use std::process::Output;

use common::{sockstep, stdout};
use sockstep::challenge::{level, starter};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A usage error: exit 2, and a first line that is one sentence naming `value`.
fn assert_usage_error(output: &Output, value: &str) -> String {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{text}");
    assert!(first.contains(value), "{value} in {first}");
    first.to_string()
}

#[test]
fn list_shows_every_level_its_lesson_and_summary_in_order() {
    let output = sockstep(&["challenge", "--list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), level::levels().len(), "{text}");
    for (line, level) in lines.iter().zip(level::levels()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], level.id, "{line}");
        assert_eq!(words[1], level.lesson(), "{line}");
        assert!(line.ends_with(level.summary), "{line}");
    }
}

#[test]
fn spec_prints_the_levels_protocol() {
    for level in level::levels() {
        let output = sockstep(&["challenge", level.id, "--spec"]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(stdout(&output), level.spec());
    }
}

#[test]
fn starter_prints_the_skeleton_server() {
    let level = level::find("length-prefix").unwrap();
    for language in starter::LANGUAGES {
        let output = sockstep(&["challenge", level.id, "--starter", language]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(stdout(&output), starter::starter(language, level).unwrap());
    }
    let cobol = sockstep(&["challenge", level.id, "--starter", "cobol"]);
    assert_usage_error(&cobol, "cobol");
}

#[test]
fn an_unknown_level_is_named_with_the_levels_there_are() {
    let output = sockstep(&["challenge", "lenght-prefix", "--", "python3", "s.py"]);
    let first = assert_usage_error(&output, "\"lenght-prefix\"");
    for level in level::levels() {
        assert!(first.contains(level.id), "{first}");
    }
    let output = sockstep(&["challenge", "delimiter,nope", "--", "x"]);
    assert_usage_error(&output, "\"nope\"");
}

#[test]
fn without_a_program_or_connect_it_says_what_to_give() {
    let output = sockstep(&["challenge", "length-prefix"]);
    let first = assert_usage_error(&output, "after `--`");
    assert!(first.contains("--connect"), "{first}");
    assert!(stdout(&output).is_empty());
}

#[test]
fn a_slow_factor_below_one_is_refused() {
    let output = sockstep(&["challenge", "delimiter", "--slow", "0.5", "--", "x"]);
    assert_usage_error(&output, "0.5");
    let output = sockstep(&["challenge", "delimiter", "--slow", "fast", "--", "x"]);
    assert_usage_error(&output, "fast");
}

#[test]
fn spec_and_starter_need_one_level() {
    let output = sockstep(&["challenge", "all", "--spec"]);
    assert_usage_error(&output, "name one");
}

#[test]
fn connect_and_a_command_are_one_or_the_other() {
    let output = sockstep(&[
        "challenge",
        "delimiter",
        "--connect",
        "127.0.0.1:7000",
        "--",
        "x",
    ]);
    assert_usage_error(&output, "--connect");
    let output = sockstep(&["challenge", "delimiter", "--connect", "localhost"]);
    assert_usage_error(&output, "localhost");
}

#[test]
fn help_shows_examples_of_every_way_to_run() {
    let output = sockstep(&["challenge", "--help"]);
    assert!(output.status.success());
    let text = stdout(&output);
    for example in [
        "--list",
        "--spec",
        "--starter python",
        "-- python3",
        "--connect",
    ] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with("sockstep challenge") && l.contains(example)),
            "{example} in\n{text}"
        );
    }
    let output = sockstep(&["grade", "--help"]);
    assert!(stdout(&output).contains("--cmd 'python3 {dir}/server.py {port}'"));
}

#[test]
fn grade_names_a_folder_that_is_not_one() {
    let output = sockstep(&[
        "grade",
        "all",
        "--cmd",
        "python3 {dir}/server.py {port}",
        "/no/such/submission",
    ]);
    assert_usage_error(&output, "/no/such/submission");
}

#[test]
fn grade_names_a_command_that_does_not_split() {
    let folder = tempfile::tempdir().unwrap();
    let output = sockstep(&[
        "grade",
        "delimiter",
        "--cmd",
        "python3 '{dir}/server.py",
        folder.path().to_str().unwrap(),
    ]);
    assert_usage_error(&output, "unclosed quote");
}

#[test]
fn completions_and_man_pages_know_challenge_and_grade() {
    let script = stdout(&sockstep(&["completions", "bash"]));
    for word in ["challenge", "grade", "--keep-going", "--starter", "--cmd"] {
        assert!(script.contains(word), "{word}");
    }
    let folder = tempfile::tempdir().unwrap();
    let output = sockstep(&["man", "--dir", folder.path().to_str().unwrap()]);
    assert!(output.status.success());
    for page in ["sockstep-challenge.1", "sockstep-grade.1"] {
        assert!(folder.path().join(page).is_file(), "{page}");
    }
}

/// However a run ends, `--json` and `--junit` leave a report for the CI that asked
/// (here a run that cannot be played: its command does not exist).
#[test]
fn json_and_junit_files_are_written_even_when_the_run_cannot_be_played() {
    let folder = tempfile::tempdir().unwrap();
    let json = folder.path().join("report.json");
    let junit = folder.path().join("report.xml");
    let output = sockstep(&[
        "challenge",
        "delimiter",
        "--seed",
        "5",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--",
        "/no/such/server",
        "{port}",
    ]);
    let text = stdout(&output);
    // 3: the program did not start.
    assert!(output.status.code() == Some(3), "{text}{}", stderr(&output));
    assert_eq!(
        text.lines().last(),
        Some(
            "[sockstep] replay: sockstep challenge delimiter --seed 5 -- /no/such/server '{port}'"
        ),
        "{text}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["seed"], 5);
    let validator = jsonschema::validator_for(
        &serde_json::from_str(sockstep::challenge::report::SCHEMA).unwrap(),
    )
    .unwrap();
    assert!(validator.is_valid(&report), "{report:#}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    roxmltree::Document::parse(&xml).unwrap();
    assert!(xml.contains("<testcase name=\"delimiter\""), "{xml}");
}
