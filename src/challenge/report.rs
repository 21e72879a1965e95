//! The reports of a challenge run: text for people, JSON and JUnit XML for machines.
//!
//! The text follows CodeCrafters' testers: every line says who speaks (`[sockstep]`,
//! `[your program]`), wrong bytes get a caret under the first one that differs, bytes
//! past the expected reply are "Found extra data", and the last line is the command
//! that replays the same run. The exchange is drawn with the same byte-view grid as
//! `sockstep run` (`render::diagram`). The JSON follows
//! `assets/challenge-report.schema.json`.

use std::fmt::Write as _;
use std::io;

use crossterm::style::{Color, Stylize};
use quick_xml::Writer;
use quick_xml::events::BytesText;
use serde::Serialize;

use super::play::PlayError;
use super::{Failure, FailureKind, LevelResult, ProgramEnd, Run, SCHEMA_VERSION, Status, Step};
use crate::engine::Span;
use crate::engine::trace::quote;
use crate::render::diagram::{self, Source};
use crate::render::text;

/// Columns a report line may take (a classic terminal).
const WIDTH: usize = 80;
const TOOL: &str = "[sockstep]";
const PROGRAM: &str = "[your program]";
/// Lines of the program's output a text report shows (the JSON keeps all it has).
const OUTPUT_LINES: usize = 20;
/// Stream bytes a report's diagram shows, at most.
const SHOWN_BYTES: usize = 192;

/// Exit codes: every level passed.
pub const EXIT_PASSED: u8 = 0;
/// A level failed (a wrong reply, a hang, a crash…).
pub const EXIT_FAILED: u8 = 1;
/// The command line was wrong.
pub const EXIT_USAGE: u8 = 2;
/// The program did not start, exited early, or never listened.
pub const EXIT_NOT_STARTED: u8 = 3;
/// sockstep's own error.
pub const EXIT_INTERNAL: u8 = 4;

/// The process's exit code for a run's result.
pub fn exit_code(result: &Result<Run, PlayError>) -> u8 {
    match result {
        Ok(run) => match run_status(run) {
            "pass" => EXIT_PASSED,
            "fail" => EXIT_FAILED,
            _ => EXIT_INTERNAL,
        },
        Err(PlayError::NotStarted(_)) => EXIT_NOT_STARTED,
        Err(PlayError::UnknownLevel { .. }) => EXIT_USAGE,
        Err(PlayError::Internal(_)) => EXIT_INTERNAL,
    }
}

/// `pass` (every level played passed), `fail` (one failed, timed out or crashed) or
/// `error` (sockstep could not play one).
pub fn run_status(run: &Run) -> &'static str {
    let any = |wanted: &[Status]| run.levels.iter().any(|l| wanted.contains(&l.status));
    if any(&[Status::Fail, Status::Timeout, Status::Crash]) {
        "fail"
    } else if any(&[Status::Error]) {
        "error"
    } else {
        "pass"
    }
}

/// Colours, when asked for.
#[derive(Clone, Copy)]
struct Paint {
    color: bool,
}

impl Paint {
    fn paint(self, text: &str, color: Color, bold: bool) -> String {
        match (self.color, bold) {
            (false, _) => text.to_string(),
            (true, false) => text.with(color).to_string(),
            (true, true) => text.with(color).bold().to_string(),
        }
    }

    fn tool(self) -> String {
        self.paint(TOOL, Color::Blue, false)
    }

    fn program(self) -> String {
        self.paint(PROGRAM, Color::Yellow, false)
    }
}

/// `text` after `prefix`, wrapped to [`WIDTH`] at spaces, later lines indented under
/// the first. `prefix` is the plain text and `painted` the same, maybe coloured.
fn wrapped(out: &mut String, prefix: &str, painted: &str, text: &str) {
    let room = WIDTH.saturating_sub(prefix.chars().count() + 1).max(20);
    // An indented text keeps its indent on its first line.
    let body = text.trim_start_matches(' ');
    let mut line = " ".repeat(text.len() - body.len());
    let text = body;
    let mut first = true;
    let mut flush = |line: &mut String, first: &mut bool| {
        let lead = if *first {
            painted.to_string()
        } else {
            " ".repeat(prefix.chars().count())
        };
        let _ = writeln!(out, "{lead} {line}");
        line.clear();
        *first = false;
    };
    // A word longer than a line (a path, say) is cut where the line ends.
    let words = text.split(' ').flat_map(|word| {
        let chars: Vec<char> = word.chars().collect();
        chars
            .chunks(room)
            .map(|chunk| chunk.iter().collect::<String>())
            .collect::<Vec<_>>()
    });
    for word in words {
        let bare = line.trim_start().is_empty();
        let needed = line.chars().count() + usize::from(!bare) + word.chars().count();
        if !bare && needed > room {
            flush(&mut line, &mut first);
        }
        if !line.trim_start().is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || first {
        flush(&mut line, &mut first);
    }
}

/// One `[sockstep] …` line (or more, wrapped).
fn say(out: &mut String, paint: Paint, text: &str) {
    wrapped(out, TOOL, &paint.tool(), text);
}

/// `1 byte`, `7 bytes`.
fn byte_count(n: usize) -> String {
    format!("{n} byte{}", if n == 1 { "" } else { "s" })
}

fn seconds(duration: std::time::Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

/// What a failure kind means, in a few words.
pub fn describe_kind(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::WrongBytes => "wrong bytes",
        FailureKind::ExtraBytes => "extra bytes",
        FailureKind::Hang => "no reply",
        FailureKind::BusyLoop => "a busy loop",
        FailureKind::EarlyClose => "closed too early",
        FailureKind::NotClosed => "did not close",
        FailureKind::ConnectionLost => "connection lost",
        FailureKind::Crash => "your program ended",
    }
}

/// The line printed as a level ends (the CLI prints it live, from `play`'s
/// callback): `[sockstep] length-prefix  ✓ passed (0.4 s)`.
pub fn level_line(level: &LevelResult, color: bool) -> String {
    let paint = Paint { color };
    let (mark, tint, word) = match level.status {
        Status::Pass => ('✓', Color::Green, "passed"),
        Status::Fail => ('✗', Color::Red, "failed"),
        Status::Timeout => ('✗', Color::Red, "timed out"),
        Status::Crash => ('✗', Color::Red, "crashed"),
        Status::Error => ('!', Color::Magenta, "could not be played"),
        Status::Skipped => ('-', Color::DarkGrey, "skipped"),
    };
    let how = match &level.failure {
        Some(failure) => format!(
            ": {} on connection {}",
            describe_kind(failure.kind),
            failure.connection
        ),
        None => String::new(),
    };
    let time = match level.status {
        Status::Skipped => String::new(),
        _ => format!(" ({})", seconds(level.duration)),
    };
    format!(
        "{} {:<13} {}{time}",
        paint.tool(),
        level.id,
        paint.paint(&format!("{mark} {word}{how}"), tint, true)
    )
}

/// The line printed before the first level starts: what is played against what.
pub fn header(options: &super::play::PlayOptions, color: bool) -> String {
    let paint = Paint { color };
    let against = match &options.program {
        super::play::Program::Command(argv) => format!(
            "your program: {}",
            shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
        ),
        super::play::Program::Connect(address) => format!("your server at {address}"),
    };
    let count = options.levels.len();
    let mut out = String::new();
    say(
        &mut out,
        paint,
        &format!(
            "{} · {count} level{} · seed {} · {against}",
            levels_word(&options.levels),
            if count == 1 { "" } else { "s" },
            options.seed
        ),
    );
    out
}

/// The whole text report: one line per level, then each failure in detail, the
/// program's end and output, the score, and last the replay command.
pub fn text(run: &Run, color: bool) -> String {
    let mut out = String::new();
    for level in &run.levels {
        out.push_str(&level_line(level, color));
        out.push('\n');
    }
    out.push_str(&conclusion(run, color));
    out
}

/// What follows the level lines (for the CLI, which printed those live).
pub fn conclusion(run: &Run, color: bool) -> String {
    let paint = Paint { color };
    let mut out = String::new();
    for level in &run.levels {
        if let Some(failure) = &level.failure {
            out.push('\n');
            out.push_str(&failure_text(level, failure, color));
        }
    }
    let passed = run_status(run) == "pass";
    if let Some(program) = run.program.as_ref().filter(|_| !passed) {
        out.push('\n');
        out.push_str(&program_text(program, paint));
    }
    out.push('\n');
    let (won, total) = run.score();
    say(
        &mut out,
        paint,
        &format!(
            "{won} of {total} level{} passed · seed {} · {} · {}",
            if total == 1 { "" } else { "s" },
            run.seed,
            delivery_text(run.delivery),
            seconds(run.duration)
        ),
    );
    // Never wrapped, so that it can be copied whole.
    let _ = writeln!(out, "{} replay: {}", paint.tool(), run.replay);
    out
}

fn delivery_text(delivery: super::Delivery) -> String {
    match delivery {
        super::Delivery::Lockstep => "lockstep delivery".to_string(),
        super::Delivery::Paused { pause_ms } => {
            format!("paused delivery ({pause_ms} ms between pieces)")
        }
    }
}

/// One level's failure, in detail: what happened, the exchange drawn, expected
/// against received with a caret, extra data, the traced calls, the hint, the lesson.
pub fn failure_text(level: &LevelResult, failure: &Failure, color: bool) -> String {
    let paint = Paint { color };
    let mut out = String::new();
    say(
        &mut out,
        paint,
        &format!(
            "{}, connection {}: {}",
            level.id,
            failure.connection,
            paint.paint(describe_kind(failure.kind), Color::Red, true)
        ),
    );
    out.push_str(&exchange(level, failure.connection, failure, paint));
    if failure.kind == FailureKind::ExtraBytes {
        let extra = failure
            .actual
            .get(failure.expected.len()..)
            .filter(|_| failure.actual.starts_with(&failure.expected))
            .or_else(|| failure.actual.get(failure.first_diff.unwrap_or(0)..))
            .unwrap_or_default();
        say(
            &mut out,
            paint,
            &format!(
                "Found extra data: {} ({})",
                quote_within(extra, WIDTH - TOOL.len() - 32),
                byte_count(extra.len())
            ),
        );
    } else if !failure.expected.is_empty() || !failure.actual.is_empty() {
        out.push_str(&compared(failure, paint));
    }
    if !failure.detail.is_empty() {
        say(&mut out, paint, &failure.detail);
    }
    if !failure.calls.is_empty() {
        say(&mut out, paint, "your program's socket calls (traced):");
        let shown = failure.calls.len().saturating_sub(OUTPUT_LINES);
        if shown > 0 {
            say(&mut out, paint, &format!("  … {shown} earlier calls"));
        }
        for call in &failure.calls[shown..] {
            say(&mut out, paint, &format!("  {}", call_text(call)));
        }
    }
    if !failure.hint.is_empty() {
        let hint = paint.paint("hint:", Color::Yellow, true);
        say(&mut out, paint, &format!("{hint} {}", failure.hint));
    }
    say(
        &mut out,
        paint,
        &format!(
            "see `sockstep tui {}`",
            super::level::find(level.id).map_or(level.id, |l| l.lesson())
        ),
    );
    out
}

/// `server.py:14 recv(5) returned b'00' (2 bytes)`
fn call_text(call: &super::TracedCall) -> String {
    let asked = call.asked.map(|n| n.to_string()).unwrap_or_default();
    let result = match &call.error {
        Some(error) => format!("raised {error}"),
        None if call.call.starts_with("recv") => {
            format!(
                "returned {} ({})",
                quote_within(&call.bytes, 30),
                byte_count(call.bytes.len())
            )
        }
        None if call.call.starts_with("send") => {
            format!(
                "sent {} ({})",
                quote_within(&call.bytes, 30),
                byte_count(call.bytes.len())
            )
        }
        None => "returned".to_string(),
    };
    // A long path keeps its file's name (the learner knows where it is), and the
    // end of that name if even it is long.
    let name = call.file.rsplit('/').next().unwrap_or(&call.file);
    let kept = if call.file.chars().count() > 32 {
        name
    } else {
        &call.file
    };
    let chars: Vec<char> = kept.chars().collect();
    let file: String = if chars.len() > 32 {
        std::iter::once('…')
            .chain(chars[chars.len() - 31..].iter().copied())
            .collect()
    } else {
        kept.to_string()
    };
    format!("{file}:{} {}({asked}) {result}", call.line, call.call)
}

/// The connection's exchange: what sockstep wrote, cut where each write ended, and
/// what came back, bracketed per read; both drawn by the byte-view grid of
/// `sockstep run`; then the closes.
fn exchange(level: &LevelResult, connection: usize, failure: &Failure, paint: Paint) -> String {
    let mut sent = Vec::new();
    let mut cuts = Vec::new();
    let mut reads: Vec<&[u8]> = Vec::new();
    let mut ends = Vec::new();
    for step in &level.schedule {
        match step {
            Step::Write {
                connection: c,
                bytes,
            } if *c == connection => {
                if !sent.is_empty() {
                    cuts.push(sent.len());
                }
                sent.extend_from_slice(bytes);
            }
            Step::Read {
                connection: c,
                bytes,
            } if *c == connection => reads.push(bytes),
            Step::HalfClose { connection: c } if *c == connection => {
                ends.push("sockstep half-closed (shutdown SHUT_WR)")
            }
            Step::Close { connection: c } if *c == connection => ends.push("sockstep closed"),
            Step::Reset { connection: c } if *c == connection => {
                ends.push("sockstep reset the connection (RST)")
            }
            Step::PeerClosed { connection: c } if *c == connection => {
                ends.push("your program closed")
            }
            _ => {}
        }
    }
    let mut out = String::new();
    if sent.is_empty() && reads.is_empty() {
        return out;
    }
    let received: usize = reads.iter().map(|r| r.len()).sum();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let back = if received == 0 {
        "nothing came back".to_string()
    } else {
        format!(
            "back: {} in {} read{} (╰─n─╯ one read)",
            byte_count(received),
            reads.len(),
            plural(reads.len())
        )
    };
    let shown = if sent.len() > SHOWN_BYTES || received > SHOWN_BYTES {
        format!(" (at most {SHOWN_BYTES} bytes of each shown)")
    } else {
        String::new()
    };
    say(
        &mut out,
        paint,
        &format!(
            "sent: {} in {} write{} (┊ where one ended); {back}{shown}:",
            byte_count(sent.len()),
            cuts.len() + 1,
            plural(cuts.len() + 1),
        ),
    );
    let whole = |len: usize| {
        [Span {
            start: 0,
            body: 0,
            body_end: len,
            end: len,
        }]
    };
    let layout = |window| diagram::Options {
        wire: true,
        bytes_per_line: 64,
        columns: WIDTH - 12,
        window,
        ..diagram::Options::default()
    };
    let sent_spans = whole(sent.len());
    let sent_grid = Source {
        stream: &sent,
        spans: &sent_spans,
        cuts: &cuts,
        sides: Vec::new(),
        fates: Vec::new(),
    };
    out.push_str(&text::grid_labelled(
        &sent_grid,
        &layout(0..SHOWN_BYTES),
        paint.color,
        &|_| "sent",
    ));
    if received > 0 {
        // Around the first wrong byte, when the reply is long.
        let from = failure
            .first_diff
            .filter(|&at| at + 16 > SHOWN_BYTES)
            .map_or(0, |at| (at - (at % 64)).saturating_sub(64));
        let back_spans = whole(received);
        let back_grid = Source {
            stream: b"",
            spans: &back_spans,
            cuts: &[],
            sides: vec![(crate::engine::Side::Correct, reads)],
            fates: Vec::new(),
        };
        let back = layout(from..from + SHOWN_BYTES);
        let back = diagram::Options {
            wire: false,
            ..back
        };
        out.push_str(&text::grid_labelled(
            &back_grid,
            &back,
            paint.color,
            &|row| match row.kind {
                diagram::RowKind::Reads(_) if from == 0 => "back",
                diagram::RowKind::Reads(_) => "back …",
                _ => "",
            },
        ));
    }
    out.push('\n');
    if !ends.is_empty() {
        say(&mut out, paint, &format!("then: {}", ends.join("; ")));
    }
    out
}

/// `bytes` quoted as `engine::trace::quote` does, in at most `columns` columns
/// (`"…"…` when cut; the callers give the length).
fn quote_within(bytes: &[u8], columns: usize) -> String {
    let whole = quote(bytes);
    if whole.chars().count() <= columns && !whole.contains('…') {
        return whole;
    }
    let tail = "\"…";
    let room = columns.saturating_sub(1 + tail.chars().count()).max(4);
    let mut text = String::from("\"");
    for &byte in bytes {
        let next = escaped(byte);
        if text.len() - 1 + next.len() > room {
            break;
        }
        text.push_str(&next);
    }
    text + tail
}

/// The escaped form of each byte, as `quote` writes it.
fn escaped(byte: u8) -> String {
    std::ascii::escape_default(byte).map(char::from).collect()
}

/// `expected "…"` and `received "…"` over the same window of bytes, and a caret
/// under the first that differs.
fn compared(failure: &Failure, paint: Paint) -> String {
    let label = |word: &str, bytes: &[u8]| format!("{word} ({}):", byte_count(bytes.len()));
    let expected_label = label("expected", &failure.expected);
    let actual_label = label("received", &failure.actual);
    let pad = expected_label.len().max(actual_label.len());
    // Columns for the quoted bytes: `…"` before, `"…` after.
    let room = WIDTH.saturating_sub(TOOL.len() + 1 + pad + 1).max(24) - 4;
    let diff = failure.first_diff;
    let width = |at: usize| {
        let longer = failure.expected.get(at).into_iter();
        longer
            .chain(failure.actual.get(at))
            .map(|&b| escaped(b).len())
            .max()
            .unwrap_or(1)
    };
    // A window that shows the first difference, about a third of the way in.
    let mut start = diff.unwrap_or(0);
    let mut used = 0;
    while start > 0 && used + width(start - 1) <= room / 3 {
        start -= 1;
        used += width(start);
    }
    let window = |bytes: &[u8]| -> (String, Option<usize>) {
        let mut text = String::new();
        if start > 0 {
            text.push('…');
        }
        text.push('"');
        let mut caret = None;
        let mut at = start;
        let mut used = 0;
        while at < bytes.len() && used + width(at) <= room {
            if Some(at) == diff {
                caret = Some(text.chars().count());
            }
            text.push_str(&escaped(bytes[at]));
            used += width(at);
            at += 1;
        }
        if Some(at) == diff {
            caret = Some(text.chars().count());
        }
        text.push('"');
        if at < bytes.len() {
            text.push('…');
        }
        (text, caret)
    };
    let (expected, caret_expected) = window(&failure.expected);
    let (actual, caret_actual) = window(&failure.actual);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {expected_label:<pad$} {}",
        paint.tool(),
        paint.paint(&expected, Color::Green, false)
    );
    let _ = writeln!(
        out,
        "{} {actual_label:<pad$} {}",
        paint.tool(),
        paint.paint(&actual, Color::Red, false)
    );
    // Nothing received needs no caret.
    let diff = diff.filter(|_| !failure.actual.is_empty());
    if let (Some(at), Some(column)) = (diff, caret_expected.or(caret_actual)) {
        let note = format!("^ first difference, byte {at}");
        // Near the right edge, the note goes before the caret.
        let lead = 1 + pad + 1 + column;
        let caret_line = if TOOL.len() + lead + note.len() <= WIDTH {
            format!("{}{note}", " ".repeat(lead))
        } else {
            let note = format!("first difference, byte {at} ^");
            format!(
                "{}{note}",
                " ".repeat((lead + 1).saturating_sub(note.len()))
            )
        };
        let _ = writeln!(
            out,
            "{}{}",
            paint.tool(),
            paint.paint(&caret_line, Color::Red, true)
        );
    }
    out
}

/// How the program ended, and the last lines it printed.
fn program_text(program: &ProgramEnd, paint: Paint) -> String {
    let mut out = String::new();
    // describe() says why sockstep stopped it, where it did.
    say(
        &mut out,
        paint,
        &format!("your program {}", program.describe()),
    );
    let lines: Vec<&str> = program.output_tail.lines().collect();
    if lines.is_empty() {
        say(&mut out, paint, "your program printed nothing");
        return out;
    }
    let hidden = lines.len().saturating_sub(OUTPUT_LINES);
    let cut = if program.output_cut {
        " (its output was cut: only the last 64 KiB was kept)"
    } else {
        ""
    };
    say(
        &mut out,
        paint,
        &if hidden > 0 {
            format!("the last {OUTPUT_LINES} lines your program printed{cut}:")
        } else {
            format!("what your program printed{cut}:")
        },
    );
    let room = WIDTH - PROGRAM.len() - 1;
    for line in &lines[hidden..] {
        let clean: String = line
            .chars()
            .map(|c| if c.is_control() && c != '\t' { '·' } else { c })
            .collect();
        // Wrapped, not cut: a traceback's line number is at the end of its line.
        let chars: Vec<char> = clean.chars().collect();
        for piece in chars.chunks(room).take(4) {
            let piece: String = piece.iter().collect();
            let _ = writeln!(out, "{} {piece}", paint.program());
        }
        if chars.is_empty() {
            let _ = writeln!(out, "{}", paint.program());
        }
    }
    out
}

/// The JSON report: the run as `assets/challenge-report.schema.json` describes it.
#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    sockstep_version: &'static str,
    status: &'static str,
    score: Score,
    #[serde(flatten)]
    run: &'a Run,
}

#[derive(Serialize)]
struct Score {
    passed: usize,
    total: usize,
}

/// The versioned JSON report (pretty-printed).
pub fn json(run: &Run) -> String {
    let (passed, total) = run.score();
    let report = JsonReport {
        schema_version: SCHEMA_VERSION,
        sockstep_version: env!("CARGO_PKG_VERSION"),
        status: run_status(run),
        score: Score { passed, total },
        run,
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_else(|error| {
        // Only a map with non-string keys can fail; the report has none.
        format!("{{\"error\": \"{error}\"}}")
    });
    text.push('\n');
    text
}

/// `not-started`, `unknown-level` or `internal`: why a run could not be played.
pub fn error_kind(error: &PlayError) -> &'static str {
    match error {
        PlayError::NotStarted(_) => "not-started",
        PlayError::UnknownLevel { .. } => "unknown-level",
        PlayError::Internal(_) => "internal",
    }
}

/// The JSON report of a run that could not be played (the program never listened,
/// say): the same schema, status `error`, no levels, and the error.
#[derive(Serialize)]
struct NotPlayed<'a> {
    schema_version: u32,
    sockstep_version: &'static str,
    status: &'static str,
    seed: u64,
    delivery: Option<super::Delivery>,
    argv: &'a [String],
    duration_ms: u64,
    score: Score,
    levels: [LevelResult; 0],
    program: Option<ProgramEnd>,
    replay: String,
    error: String,
    error_kind: &'static str,
}

/// [`json`] for a run that `play` could not play.
pub fn json_not_played(options: &super::play::PlayOptions, error: &PlayError) -> String {
    let argv: &[String] = match &options.program {
        super::play::Program::Command(argv) => argv,
        super::play::Program::Connect(_) => &[],
    };
    let report = NotPlayed {
        schema_version: SCHEMA_VERSION,
        sockstep_version: env!("CARGO_PKG_VERSION"),
        status: "error",
        seed: options.seed,
        delivery: None,
        argv,
        duration_ms: 0,
        score: Score {
            passed: 0,
            total: options.levels.len(),
        },
        levels: [],
        program: None,
        replay: replay(options),
        error: error.to_string(),
        error_kind: error_kind(error),
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}

/// [`junit`] for a run that `play` could not play: each level an error carrying it.
pub fn junit_not_played(options: &super::play::PlayOptions, error: &PlayError) -> String {
    let write = || -> io::Result<String> {
        let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
        writer.write_event(quick_xml::events::Event::Decl(
            quick_xml::events::BytesDecl::new("1.0", Some("UTF-8"), None),
        ))?;
        let tests = options.levels.len().to_string();
        let message = xml_safe(&error.to_string());
        writer
            .create_element("testsuites")
            .with_attributes([
                ("name", "sockstep challenge"),
                ("tests", tests.as_str()),
                ("failures", "0"),
                ("errors", tests.as_str()),
            ])
            .write_inner_content(|w| {
                w.create_element("testsuite")
                    .with_attributes([
                        ("name", "sockstep challenge"),
                        ("tests", tests.as_str()),
                        ("failures", "0"),
                        ("errors", tests.as_str()),
                        ("skipped", "0"),
                    ])
                    .write_inner_content(|w| {
                        for level in &options.levels {
                            w.create_element("testcase")
                                .with_attributes([
                                    ("name", level.as_str()),
                                    ("classname", "sockstep.challenge"),
                                ])
                                .write_inner_content(|w| {
                                    w.create_element("error")
                                        .with_attributes([
                                            ("message", message.as_str()),
                                            ("type", error_kind(error)),
                                        ])
                                        .write_empty()?;
                                    Ok(())
                                })?;
                        }
                        Ok(())
                    })?;
                Ok(())
            })?;
        xml_text(writer)
    };
    write().unwrap_or_else(|error| format!("<!-- {error} -->\n"))
}

/// The JSON Schema of [`json`]'s report.
pub const SCHEMA: &str = include_str!("../../assets/challenge-report.schema.json");

/// Only characters XML 1.0 allows (a program's output may hold any byte).
fn xml_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// JUnit XML: one test suite, one test case per level; a failure carries the hint
/// as its message, the kind as its type, and the level's text report.
pub fn junit(run: &Run) -> String {
    junit_xml(run).unwrap_or_else(|error| format!("<!-- {error} -->\n"))
}

fn junit_xml(run: &Run) -> io::Result<String> {
    let count = |wanted: &[Status]| {
        run.levels
            .iter()
            .filter(|l| wanted.contains(&l.status))
            .count()
            .to_string()
    };
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(quick_xml::events::Event::Decl(
        quick_xml::events::BytesDecl::new("1.0", Some("UTF-8"), None),
    ))?;
    let time = |d: std::time::Duration| format!("{:.3}", d.as_secs_f64());
    let tests = run.levels.len().to_string();
    let failures = count(&[Status::Fail, Status::Timeout, Status::Crash]);
    let errors = count(&[Status::Error]);
    let skipped = count(&[Status::Skipped]);
    let total_time = time(run.duration);
    writer
        .create_element("testsuites")
        .with_attributes([
            ("name", "sockstep challenge"),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", errors.as_str()),
            ("time", total_time.as_str()),
        ])
        .write_inner_content(|w| {
            w.create_element("testsuite")
                .with_attributes([
                    ("name", "sockstep challenge"),
                    ("tests", tests.as_str()),
                    ("failures", failures.as_str()),
                    ("errors", errors.as_str()),
                    ("skipped", skipped.as_str()),
                    ("time", total_time.as_str()),
                ])
                .write_inner_content(|w| {
                    let seed = run.seed.to_string();
                    let replay = xml_safe(&run.replay);
                    w.create_element("properties").write_inner_content(|w| {
                        w.create_element("property")
                            .with_attributes([("name", "seed"), ("value", seed.as_str())])
                            .write_empty()?;
                        w.create_element("property")
                            .with_attributes([("name", "replay"), ("value", replay.as_str())])
                            .write_empty()?;
                        Ok(())
                    })?;
                    for level in &run.levels {
                        testcase(w, level, time(level.duration))?;
                    }
                    if let Some(program) = &run.program {
                        w.create_element("system-out")
                            .write_text_content(BytesText::new(&xml_safe(&program.output_tail)))?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    xml_text(writer)
}

/// A written document as text, ending in a newline.
fn xml_text(writer: Writer<Vec<u8>>) -> io::Result<String> {
    let mut xml = String::from_utf8(writer.into_inner())
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    xml.push('\n');
    Ok(xml)
}

fn testcase(w: &mut Writer<Vec<u8>>, level: &LevelResult, time: String) -> io::Result<()> {
    let case = w.create_element("testcase").with_attributes([
        ("name", level.id),
        ("classname", "sockstep.challenge"),
        ("time", time.as_str()),
    ]);
    let (element, kind) = match level.status {
        Status::Pass => {
            case.write_empty()?;
            return Ok(());
        }
        Status::Skipped => {
            case.write_inner_content(|w| {
                w.create_element("skipped")
                    .with_attribute(("message", "an earlier level failed"))
                    .write_empty()?;
                Ok(())
            })?;
            return Ok(());
        }
        Status::Error => ("error", "error"),
        Status::Fail | Status::Timeout | Status::Crash => ("failure", "fail"),
    };
    let (message, kind, body) = match &level.failure {
        Some(failure) => (
            xml_safe(&failure.hint),
            serde_json::to_value(failure.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| kind.to_string()),
            xml_safe(&failure_text(level, failure, false)),
        ),
        None => (
            format!("{} {}", level.id, describe_status(level.status)),
            kind.to_string(),
            String::new(),
        ),
    };
    case.write_inner_content(|w| {
        w.create_element(element)
            .with_attributes([("message", message.as_str()), ("type", kind.as_str())])
            .write_text_content(BytesText::new(&body))?;
        Ok(())
    })?;
    Ok(())
}

fn describe_status(status: Status) -> &'static str {
    match status {
        Status::Pass => "passed",
        Status::Fail => "failed",
        Status::Timeout => "timed out",
        Status::Crash => "crashed",
        Status::Error => "could not be played",
        Status::Skipped => "was skipped",
    }
}

/// The `--memory` default, in MiB: a replay names `--memory` only when it differs.
pub const DEFAULT_MEMORY_MB: u64 = 1024;

/// The levels as the command line names them: `all` for every level in order, else
/// a comma list.
pub fn levels_word(levels: &[String]) -> String {
    let all = super::level::levels();
    if levels.len() == all.len() && levels.iter().zip(all).all(|(a, b)| a == b.id) {
        "all".to_string()
    } else {
        levels.join(",")
    }
}

/// The exact command that replays `options`: the same levels, seed, limits and
/// program, shell-quoted.
pub fn replay(options: &super::play::PlayOptions) -> String {
    use super::play::Program;
    let mut words: Vec<String> = options.replay_prefix.clone();
    words.push(levels_word(&options.levels));
    words.extend(["--seed".to_string(), options.seed.to_string()]);
    if options.slow != 1.0 {
        words.extend(["--slow".to_string(), options.slow.to_string()]);
    }
    if options.keep_going {
        words.push("--keep-going".to_string());
    }
    if !options.trace {
        words.push("--no-trace".to_string());
    }
    let memory_mb = options
        .memory_limit
        .map_or(0, |bytes| bytes / (1024 * 1024));
    if memory_mb != DEFAULT_MEMORY_MB {
        words.extend(["--memory".to_string(), memory_mb.to_string()]);
    }
    match &options.program {
        Program::Command(argv) => {
            words.push("--".to_string());
            words.extend(argv.iter().cloned());
        }
        Program::Connect(address) => {
            words.extend(["--connect".to_string(), address.to_string()]);
        }
    }
    // A word with a NUL cannot be in an argv; show it lossy rather than not at all.
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
}
