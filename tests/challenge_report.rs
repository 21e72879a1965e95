//! The challenge reports on constructed runs: the text a learner reads (snapshots,
//! with and without colour), the JSON against its schema, the JUnit XML parsed back,
//! and the exit codes.

use std::time::Duration;

use sockstep::challenge::play::{PlayError, PlayOptions, Program};
use sockstep::challenge::report;
use sockstep::challenge::{
    Delivery, Failure, FailureKind, LevelResult, ProgramEnd, Run, Status, Step, TracedCall,
};

fn write(connection: usize, bytes: &[u8]) -> Step {
    Step::Write {
        connection,
        bytes: bytes.to_vec(),
    }
}

fn read(connection: usize, bytes: &[u8]) -> Step {
    Step::Read {
        connection,
        bytes: bytes.to_vec(),
    }
}

fn passed(id: &'static str, millis: u64) -> LevelResult {
    LevelResult {
        id,
        status: Status::Pass,
        duration: Duration::from_millis(millis),
        schedule: vec![
            Step::Connect { connection: 1 },
            write(1, b"01234"),
            write(1, b"56789"),
            read(1, b"9876543210"),
            Step::Close { connection: 1 },
            Step::PeerClosed { connection: 1 },
        ],
        failure: None,
    }
}

fn failure(kind: FailureKind, expected: &[u8], actual: &[u8]) -> Failure {
    let first_diff = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .or_else(|| (expected.len() != actual.len()).then(|| expected.len().min(actual.len())));
    Failure {
        kind,
        connection: 2,
        expected: expected.to_vec(),
        actual: actual.to_vec(),
        first_diff,
        detail: String::new(),
        hint: String::new(),
        calls: Vec::new(),
    }
}

fn run(levels: Vec<LevelResult>, program: Option<ProgramEnd>) -> Run {
    Run {
        seed: 42,
        delivery: Delivery::Lockstep,
        argv: vec!["python3".into(), "server.py".into(), "{port}".into()],
        duration: Duration::from_millis(1234),
        levels,
        program,
        replay: "sockstep challenge all --seed 42 -- python3 server.py '{port}'".into(),
    }
}

fn killed_at_the_end(output: &str) -> ProgramEnd {
    ProgramEnd {
        exit_code: None,
        signal: Some(15),
        killed: true,
        kill_reason: Some("the level ended".into()),
        output_tail: output.into(),
        output_cut: false,
        memory_limit: Some(1 << 30),
    }
}

fn pass_run() -> Run {
    run(
        vec![passed("fixed-length", 412), passed("delimiter", 388)],
        Some(killed_at_the_end("listening on 127.0.0.1:40000\n")),
    )
}

/// A length-prefix server that took one recv() for one message: it got 8 of the 10
/// bytes and replied to those.
fn wrong_bytes_run() -> Run {
    let mut failure = failure(FailureKind::WrongBytes, b"00005olleh", b"00003leh");
    failure.detail = "the reply to message 1 differs from byte 4 on".into();
    failure.hint =
        "you replied after 8 of the 10 bytes of a message: one recv() is not one message".into();
    failure.calls = vec![
        TracedCall {
            file: "server.py".into(),
            line: 14,
            call: "recv".into(),
            asked: Some(1024),
            bytes: b"00005hel".to_vec(),
            error: None,
            peer_port: Some(50000),
        },
        TracedCall {
            file: "server.py".into(),
            line: 17,
            call: "sendall".into(),
            asked: None,
            bytes: b"00003leh".to_vec(),
            error: None,
            peer_port: Some(50000),
        },
    ];
    run(
        vec![
            passed("fixed-length", 300),
            LevelResult {
                id: "length-prefix",
                status: Status::Fail,
                duration: Duration::from_millis(640),
                schedule: vec![
                    Step::Connect { connection: 1 },
                    write(1, b"00002hi"),
                    read(1, b"00002ih"),
                    Step::Close { connection: 1 },
                    Step::PeerClosed { connection: 1 },
                    Step::Connect { connection: 2 },
                    write(2, b"00"),
                    write(2, b"005hel"),
                    write(2, b"lo"),
                    read(2, b"00003leh"),
                ],
                failure: Some(failure),
            },
            LevelResult {
                id: "type-byte",
                status: Status::Skipped,
                duration: Duration::ZERO,
                schedule: Vec::new(),
                failure: None,
            },
        ],
        Some(killed_at_the_end("got b'00005hel'\n")),
    )
}

fn extra_data_run() -> Run {
    let mut failure = failure(FailureKind::ExtraBytes, b"cba\n", b"cba\n\n");
    failure.connection = 1;
    failure.detail = "1 byte more came back than every expected reply".into();
    failure.hint = "a reply ends with exactly one \\n".into();
    run(
        vec![LevelResult {
            id: "delimiter",
            status: Status::Fail,
            duration: Duration::from_millis(120),
            schedule: vec![
                Step::Connect { connection: 1 },
                write(1, b"abc\n"),
                read(1, b"cba\n\n"),
            ],
            failure: Some(failure),
        }],
        Some(killed_at_the_end("")),
    )
}

fn hang_run() -> Run {
    let mut failure = failure(FailureKind::Hang, b"00005olleh", b"");
    failure.connection = 1;
    failure.detail = "no reply after 2,000 ms; 10 bytes sent, 0 bytes received; your program \
                      is waiting in read()"
        .into();
    failure.hint = "your program read the whole message and sent nothing: is the reply \
                    sitting in a buffer you did not flush?"
        .into();
    run(
        vec![LevelResult {
            id: "length-prefix",
            status: Status::Timeout,
            duration: Duration::from_millis(2010),
            schedule: vec![
                Step::Connect { connection: 1 },
                write(1, b"00005"),
                write(1, b"hello"),
            ],
            failure: Some(failure),
        }],
        Some(ProgramEnd {
            kill_reason: Some("no reply after 2,000 ms".into()),
            ..killed_at_the_end("")
        }),
    )
}

fn crash_run() -> Run {
    let mut failure = failure(FailureKind::Crash, b"", b"");
    failure.connection = 3;
    failure.detail = "your program died of SIGPIPE after connection 3 closed before \
                      reading its reply"
        .into();
    failure.hint = "a write to a closed connection raises SIGPIPE: ignore it and handle \
                    EPIPE"
        .into();
    let output: String = (1..=25).map(|n| format!("served message {n}\n")).collect();
    run(
        vec![LevelResult {
            id: "errors",
            status: Status::Crash,
            duration: Duration::from_millis(800),
            schedule: vec![
                Step::Connect { connection: 3 },
                write(3, b"00003abc"),
                Step::Close { connection: 3 },
            ],
            failure: Some(failure),
        }],
        Some(ProgramEnd {
            exit_code: None,
            signal: Some(13),
            killed: false,
            kill_reason: None,
            output_tail: output + "Traceback: \x1b[31mBrokenPipe\x1b[0m\n",
            output_cut: true,
            memory_limit: Some(1 << 30),
        }),
    )
}

fn busy_loop_run() -> Run {
    let mut failure = failure(FailureKind::BusyLoop, b"", b"");
    failure.connection = 1;
    failure.detail = "your program used 98% of a core for 1 s after the client closed".into();
    failure.hint = "recv() returning 0 means closed: stop reading and close".into();
    run(
        vec![LevelResult {
            id: "recv-zero",
            status: Status::Fail,
            duration: Duration::from_millis(1500),
            schedule: vec![
                Step::Connect { connection: 1 },
                write(1, b"00002hi"),
                read(1, b"00002ih"),
                Step::Close { connection: 1 },
            ],
            failure: Some(failure),
        }],
        Some(ProgramEnd {
            kill_reason: Some("the level ended".into()),
            ..killed_at_the_end("")
        }),
    )
}

/// Every run a report must handle, by name.
fn runs() -> Vec<(&'static str, Run)> {
    vec![
        ("pass", pass_run()),
        ("wrong_bytes", wrong_bytes_run()),
        ("extra_data", extra_data_run()),
        ("hang", hang_run()),
        ("crash", crash_run()),
        ("busy_loop", busy_loop_run()),
    ]
}

#[test]
fn text_reports_read_as_a_newcomer_needs_them() {
    for (name, run) in runs() {
        insta::assert_snapshot!(format!("{name}_plain"), report::text(&run, false));
        insta::assert_snapshot!(format!("{name}_colour"), report::text(&run, true));
    }
}

#[test]
fn every_text_report_fits_80_columns_and_ends_with_the_replay_command() {
    let mut long = wrong_bytes_run();
    // A reply far longer than a screen: the window moves to the first wrong byte.
    let expected: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut actual = expected.clone();
    actual[70_000] = b'!';
    let level = &mut long.levels[1];
    level.schedule.push(write(2, &expected));
    level.schedule.push(read(2, &actual));
    let failure = level.failure.as_mut().unwrap();
    failure.first_diff = Some(70_000);
    failure.expected = expected;
    failure.actual = actual;
    for (name, run) in runs().into_iter().chain([("long", long)]) {
        let text = report::text(&run, false);
        // All but the replay line, which is never wrapped so that it copies whole.
        for line in text
            .lines()
            .filter(|l| !l.starts_with("[sockstep] replay: "))
        {
            assert!(
                line.chars().count() <= 80,
                "{name}: a line of {} columns: {line}",
                line.chars().count()
            );
        }
        assert_eq!(
            text.lines().last(),
            Some(format!("[sockstep] replay: {}", run.replay).as_str()),
            "{name}"
        );
    }
}

proptest::proptest! {
    /// Whatever an attack reports (any bytes, any offsets, any kind, any
    /// connection), the text report neither panics nor runs past 80 columns.
    #[test]
    fn any_failure_makes_a_report_within_80_columns(
        expected in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        actual in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        first_diff in proptest::option::of(0usize..400),
        connection in 0usize..4,
        kind in 0usize..8,
        pieces in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..90), 0..6),
    ) {
        let kinds = [
            FailureKind::WrongBytes, FailureKind::ExtraBytes, FailureKind::Hang,
            FailureKind::BusyLoop, FailureKind::EarlyClose, FailureKind::NotClosed,
            FailureKind::ConnectionLost, FailureKind::Crash,
        ];
        let mut run = wrong_bytes_run();
        let level = &mut run.levels[1];
        level.schedule = pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| if i % 2 == 0 { write(1, piece) } else { read(1, piece) })
            .collect();
        let failure = level.failure.as_mut().unwrap();
        failure.kind = kinds[kind];
        failure.connection = connection;
        failure.expected = expected;
        failure.actual = actual;
        failure.first_diff = first_diff;
        let text = report::text(&run, false);
        for line in text.lines().filter(|l| !l.starts_with("[sockstep] replay: ")) {
            proptest::prop_assert!(line.chars().count() <= 80, "{}", line);
        }
    }
}

#[test]
fn the_caret_stands_under_the_first_wrong_byte() {
    let text = report::text(&wrong_bytes_run(), false);
    let lines: Vec<&str> = text.lines().collect();
    let received = lines
        .iter()
        .position(|l| l.contains("received"))
        .expect(&text);
    let caret = lines[received + 1].find('^').expect(&text);
    // Byte 4 of "00003leh" is '3'; in the expected line, '0' of "00005olleh".
    let quote = lines[received].find('"').unwrap();
    assert_eq!(&lines[received][caret..caret + 1], "3", "{text}");
    assert_eq!(caret - quote, 5, "{text}");
    assert_eq!(&lines[received - 1][caret..caret + 1], "5", "{text}");
}

#[test]
fn extra_data_is_named_as_such() {
    let text = report::text(&extra_data_run(), false);
    assert!(text.contains("Found extra data: \"\\n\""), "{text}");
}

#[test]
fn a_level_line_shows_progress_as_it_ends() {
    assert_eq!(
        report::level_line(&passed("length-prefix", 400), false),
        "[sockstep] length-prefix ✓ passed (0.4 s)"
    );
}

fn schema() -> serde_json::Value {
    serde_json::from_str(report::SCHEMA).unwrap()
}

#[test]
fn the_schema_is_a_valid_2020_12_schema() {
    jsonschema::meta::validate(&schema()).unwrap();
    assert_eq!(
        schema()["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn json_reports_validate_against_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let mut paused = hang_run();
    paused.delivery = Delivery::Paused { pause_ms: 20 };
    paused.program = None;
    for (name, run) in runs().into_iter().chain([("paused", paused)]) {
        let report: serde_json::Value = serde_json::from_str(&report::json(&run)).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{report:#}");
    }
}

#[test]
fn json_reports_carry_the_issues_fields() {
    let report: serde_json::Value =
        serde_json::from_str(&report::json(&wrong_bytes_run())).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["status"], "fail");
    assert_eq!(report["seed"], 42);
    assert_eq!(report["delivery"], "lockstep");
    assert_eq!(report["score"]["passed"], 1);
    assert_eq!(report["score"]["total"], 3);
    let level = &report["levels"][1];
    assert_eq!(level["id"], "length-prefix");
    assert_eq!(level["status"], "fail");
    assert_eq!(level["schedule"][1]["op"], "write");
    assert_eq!(level["schedule"][1]["bytes"], "30303030326869");
    let failure = &level["failure"];
    assert_eq!(failure["kind"], "wrong-bytes");
    assert_eq!(failure["expected_hex"], "30303030356f6c6c6568");
    assert_eq!(failure["first_diff"], 4);
    assert_eq!(failure["calls"][0]["line"], 14);
    assert_eq!(report["program"]["signal"], 15);
}

fn options() -> PlayOptions {
    PlayOptions {
        levels: vec!["delimiter".into(), "leftover".into()],
        seed: 5,
        slow: 1.0,
        program: Program::Command(vec!["python3".into(), "server.py".into()]),
        keep_going: false,
        trace: true,
        memory_limit: Some(1024 * 1024 * 1024),
        replay_prefix: vec!["sockstep".into(), "challenge".into()],
    }
}

#[test]
fn a_run_that_could_not_be_played_still_makes_valid_reports() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let error = PlayError::NotStarted("python3 server.py never listened within 10 s".into());
    let report: serde_json::Value =
        serde_json::from_str(&report::json_not_played(&options(), &error)).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{report:#}");
    assert_eq!(report["status"], "error");
    assert_eq!(report["error_kind"], "not-started");
    assert_eq!(report["error"], error.to_string());
    assert_eq!(report["score"]["total"], 2);
    assert!(report["delivery"].is_null());
    // A played run's report has no error at all.
    let played: serde_json::Value = serde_json::from_str(&report::json(&pass_run())).unwrap();
    assert!(played.get("error").is_none() && played.get("error_kind").is_none());

    let cases = parse_junit(&report::junit_not_played(&options(), &error));
    let names: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, ["delimiter", "leftover"]);
    for case in &cases {
        let (element, kind, message) = case.1.clone().unwrap();
        assert_eq!((element.as_str(), kind.as_str()), ("error", "not-started"));
        assert_eq!(message, error.to_string());
    }
}

#[test]
fn a_report_that_breaks_the_schema_is_caught() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let mut report: serde_json::Value =
        serde_json::from_str(&report::json(&wrong_bytes_run())).unwrap();
    report["levels"][1]["status"] = "maybe".into();
    assert!(!validator.is_valid(&report));
    let mut report: serde_json::Value = serde_json::from_str(&report::json(&pass_run())).unwrap();
    report["levels"][0]["schedule"][1]["bytes"] = "xyz".into();
    assert!(!validator.is_valid(&report));
}

/// (test case name, failure or error element and its attributes, its text).
type Case = (String, Option<(String, String, String)>, String);

fn parse_junit(xml: &str) -> Vec<Case> {
    let document = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    document
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|case| {
            let outcome = case.children().find(|n| n.is_element());
            (
                case.attribute("name").unwrap_or_default().to_string(),
                outcome.map(|n| {
                    (
                        n.tag_name().name().to_string(),
                        n.attribute("type").unwrap_or_default().to_string(),
                        n.attribute("message").unwrap_or_default().to_string(),
                    )
                }),
                outcome
                    .and_then(|n| n.text())
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn junit_has_a_test_case_per_level_and_parses_back() {
    let run = wrong_bytes_run();
    let cases = parse_junit(&report::junit(&run));
    let names: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, ["fixed-length", "length-prefix", "type-byte"]);
    assert_eq!(cases[0].1, None);
    let (element, kind, message) = cases[1].1.clone().unwrap();
    assert_eq!(
        (element.as_str(), kind.as_str()),
        ("failure", "wrong-bytes")
    );
    assert_eq!(message, run.levels[1].failure.as_ref().unwrap().hint);
    assert!(cases[1].2.contains("^ first difference"), "{}", cases[1].2);
    assert_eq!(cases[2].1.as_ref().unwrap().0, "skipped");
    // A program's output with control bytes still makes well-formed XML.
    let crash = parse_junit(&report::junit(&crash_run()));
    assert_eq!(crash[0].1.as_ref().unwrap().1, "crash");
}

#[test]
fn exit_codes_follow_the_issue() {
    assert_eq!(report::exit_code(&Ok(pass_run())), 0);
    assert_eq!(report::exit_code(&Ok(wrong_bytes_run())), 1);
    assert_eq!(report::exit_code(&Ok(crash_run())), 1);
    assert_eq!(
        report::exit_code(&Err(PlayError::UnknownLevel { name: "x".into() })),
        2
    );
    assert_eq!(
        report::exit_code(&Err(PlayError::NotStarted("never listened".into()))),
        3
    );
    assert_eq!(
        report::exit_code(&Err(PlayError::Internal("bug".into()))),
        4
    );
    let mut error = pass_run();
    error.levels[0].status = Status::Error;
    assert_eq!(report::exit_code(&Ok(error)), 4);
}

#[test]
fn the_header_names_levels_seed_and_program() {
    let options = PlayOptions {
        levels: vec!["delimiter".into()],
        seed: 5,
        slow: 1.0,
        program: Program::Command(vec!["python3".into(), "my server.py".into()]),
        keep_going: false,
        trace: true,
        memory_limit: None,
        replay_prefix: vec!["sockstep".into(), "challenge".into()],
    };
    assert_eq!(
        report::header(&options, false),
        "[sockstep] delimiter · 1 level · seed 5 · your program: python3 'my server.py'\n"
    );
}

#[test]
fn the_replay_command_gives_back_exactly_the_options() {
    let mut options = PlayOptions {
        levels: sockstep::challenge::level::levels()
            .iter()
            .map(|l| l.id.to_string())
            .collect(),
        seed: 9,
        slow: 1.0,
        program: Program::Command(vec![
            "python3".into(),
            "my server.py".into(),
            "{port}".into(),
        ]),
        keep_going: false,
        trace: true,
        memory_limit: Some(1024 * 1024 * 1024),
        replay_prefix: vec!["sockstep".into(), "challenge".into()],
    };
    assert_eq!(
        report::replay(&options),
        "sockstep challenge all --seed 9 -- python3 'my server.py' '{port}'"
    );
    options.levels = vec!["delimiter".into(), "leftover".into()];
    options.slow = 2.5;
    options.keep_going = true;
    options.trace = false;
    options.memory_limit = None;
    options.program = Program::Connect("127.0.0.1:7000".parse().unwrap());
    assert_eq!(
        report::replay(&options),
        "sockstep challenge 'delimiter,leftover' --seed 9 --slow 2.5 --keep-going --no-trace \
         --memory 0 --connect 127.0.0.1:7000"
    );
}
