//! `sockstep predict`, run as an instructor runs it: the real binary, its output and
//! its exit code.

mod common;

use common::{sockstep, stdout};
use serde_json::Value;

fn questions(args: &[&str]) -> Vec<Value> {
    let output = sockstep(args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice::<Value>(&output.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn text_prints_each_question_its_numbered_choices_and_the_answer() {
    let output = sockstep(&["predict", "length-prefix", "--seed", "3"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.starts_with("13 length-prefix"), "{text}");
    let json = questions(&["predict", "length-prefix", "--seed", "3", "--json"]);
    assert_eq!(json.len(), 3);
    for question in &json {
        let prompt = question["prompt"].as_str().unwrap();
        let at = text.find(prompt).expect("the question is printed");
        let block = &text[at..];
        let choices = question["choices"].as_array().unwrap();
        for (i, choice) in choices.iter().enumerate() {
            let line = format!("  {}. {}", i + 1, choice.as_str().unwrap());
            assert!(block.contains(&line), "{line} missing from\n{block}");
        }
        let answer = question["answer"].as_u64().unwrap() + 1;
        let answer_line = block.lines().find(|l| l.starts_with("answer: ")).unwrap();
        assert_eq!(answer_line, format!("answer: {answer}"));
    }
    // In this run the naive receiver's first recv() returns the two bytes "00" of
    // the length prefix "00005" (lockstep, seed 3: the first cut is at 2).
    let first = &json[0];
    assert_eq!(first["kind"], "first-recv");
    let right = &first["choices"][first["answer"].as_u64().unwrap() as usize];
    assert_eq!(right, "\"00\" (2 bytes)");
    assert_eq!(first["decided_by"]["side"], "naive");
    assert!(first["decided_by"]["line"].as_u64().is_some());
}

#[test]
fn kind_asks_only_that_question() {
    let json = questions(&[
        "predict", "welcome", "--seed", "2", "--kind", "ending", "--json",
    ]);
    assert_eq!(json.len(), 1);
    assert_eq!(json[0]["kind"], "ending");
    let right = &json[0]["choices"][json[0]["answer"].as_u64().unwrap() as usize];
    assert_eq!(right, "naive wrong, correct delivered");
}

#[test]
fn the_same_seed_prints_the_same_quiz() {
    let args = ["predict", "leftover", "--seed", "11"];
    assert_eq!(stdout(&sockstep(&args)), stdout(&sockstep(&args)));
}

#[test]
fn python_asks_the_same_questions_with_the_same_answers() {
    let rust = questions(&["predict", "length-prefix", "--seed", "5", "--json"]);
    let python = questions(&[
        "predict",
        "length-prefix",
        "--seed",
        "5",
        "--lang",
        "python",
        "--json",
    ]);
    for (r, p) in rust.iter().zip(&python) {
        assert_eq!(r["choices"], p["choices"]);
        assert_eq!(r["answer"], p["answer"]);
    }
}

#[test]
fn an_unknown_lesson_or_kind_is_a_usage_error() {
    let output = sockstep(&["predict", "no-such-lesson"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-lesson"));
    let output = sockstep(&["predict", "welcome", "--kind", "guess"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn progress_shows_each_lessons_tally() {
    let state = tempfile::Builder::new()
        .prefix("sockstep-tally-")
        .tempdir()
        .unwrap();
    std::fs::write(
        state.path().join("progress.json"),
        r#"{"completed": ["welcome"], "predictions": {"peers": {"asked": 3, "right": 2}}}"#,
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sockstep"))
        .arg("progress")
        .env(sockstep::progress::STATE_DIR_ENV, state.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = stdout(&output);
    let peers = text.lines().find(|l| l.contains("peers")).unwrap();
    assert!(peers.ends_with("predicted 2 of 3 right"), "{text}");
    let welcome = text.lines().find(|l| l.contains("welcome")).unwrap();
    assert!(!welcome.contains("predicted"), "{text}");
}
