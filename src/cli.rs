//! The command line: the subcommands (`Command`), each one's options, and what it does.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use serde::Serialize;

use crate::engine::{FixedCuts, Mode, OutcomeKind, RunOptions, Side, Trace};
use std::path::PathBuf;

use crate::challenge::play::{self, PlayError, PlayOptions, Program};
use crate::challenge::{grade, level, report, starter};
use crate::lesson::{Lang, Lesson, Measured, RunError};
use crate::predict::{self, Kind};
use crate::progress::{self, Progress};
use crate::render::text::{self, TextOptions};
use crate::render::{diagram, path, steps};
use crate::teaching::{self, UnknownLesson};
use crate::tui::{AppConfig, Palette};

#[derive(Parser, Debug)]
#[command(
    name = "sockstep",
    version,
    about = "Learn how TCP really moves bytes, by running real code over loopback.",
    long_about = "Learn how TCP really moves bytes, by running real code over loopback.\n\n\
        Each lesson runs a naive and a correct send/recv loop side by side over real \
        loopback TCP, on the same byte stream cut the same way, and shows what each \
        one received.",
    after_help = "Examples:\n  sockstep list\n  sockstep run length-prefix --seed 3\n  \
        sockstep run 2 --mode free-run --calls\n  sockstep check\n  \
        sockstep check --mode direct --seeds 200"
)]
pub struct Cli {
    /// Read lesson pages from this folder instead of the built-in ones, re-reading
    /// them on every lesson change (for authors working on the text).
    #[arg(long, global = true, value_name = "DIR")]
    lessons: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open the interactive tutorial (what `sockstep` alone does in a terminal).
    Tui {
        /// Start at this lesson, by slug or number; default: the first not completed.
        lesson: Option<String>,
        /// Seed that fixes where the wire cuts the stream.
        #[arg(long)]
        seed: Option<u64>,
        /// How the stream gets from sender to receiver (`f` cycles it in the tutorial).
        #[arg(long, value_enum, default_value_t = Mode::Lockstep)]
        mode: Mode,
        /// Same as `--mode free-run` (kept for old scripts).
        #[arg(long, hide = true, conflicts_with = "mode")]
        free_run: bool,
        /// The language of the code shown and run (`L` switches it in the tutorial);
        /// default: the one chosen last time, else rust.
        #[arg(long, value_enum)]
        lang: Option<Lang>,
        /// Ask what the first run will show before it plays (`p` asks again).
        #[arg(long)]
        predict: bool,
        /// Start in presenter mode, for a projector (`P` toggles it).
        #[arg(long)]
        present: bool,
        /// Start in wire mode: you cut the stream by hand, and the footer shows the
        /// `--cuts` that replays it (`w` toggles it; lockstep only).
        #[arg(long, conflicts_with_all = ["cuts", "predict"])]
        wire: bool,
        /// Cut the stream exactly at these offsets, for both sides, instead of where
        /// the seed cuts it: ascending, strictly inside the stream (e.g. 2,7,19); a
        /// last `fin` or `rst` ends the stream there, as F and R do in wire mode.
        /// Needs the lesson they are for; a new seed (`r`, `s`) drops them.
        #[arg(long, value_name = "OFFSETS", value_parser = fixed_cuts, requires = "lesson")]
        cuts: Option<FixedCuts>,
    },
    /// mdbook preprocessor: replaces ```sockstep blocks with diagrams of real runs.
    ///
    /// mdbook calls it: with `supports RENDERER` to ask, then with `[context, book]`
    /// JSON on standard input, expecting the book JSON on standard output.
    Mdbook {
        #[command(subcommand)]
        action: Option<MdbookAction>,
    },
    /// Show or clear the saved progress (lessons completed, last lesson and seed).
    Progress {
        /// Forget all progress.
        #[arg(long)]
        reset: bool,
    },
    /// Follow the presenting tutorial as speaker notes: the lesson's page, then a
    /// line per step (run it in a second terminal; Ctrl-C ends it).
    Notes,
    /// List the lessons: number, slug and title.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run one lesson headless and show what each side received.
    Run {
        /// The lesson, by slug or number (see `sockstep list`).
        lesson: String,
        /// Seed that fixes where the wire cuts the stream.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How the stream gets from sender to receiver: lockstep (reproducible, one
        /// piece per recv()), free-run (the same cuts, forwarded at once: the kernel
        /// may merge pieces) or direct (no relay, as a program at home).
        #[arg(long, value_enum, default_value_t = Mode::Lockstep)]
        mode: Mode,
        /// Same as `--mode free-run` (kept for old scripts).
        #[arg(long, hide = true, conflicts_with = "mode")]
        free_run: bool,
        /// The language of the code that runs (and whose lines the calls name).
        #[arg(long, value_enum, default_value_t = Lang::Rust)]
        lang: Lang,
        /// Print the whole trace as JSON.
        #[arg(long)]
        json: bool,
        /// Also list every call each side made.
        #[arg(long)]
        calls: bool,
        /// Cut the stream exactly at these offsets, for both sides, instead of where
        /// the seed cuts it: ascending, strictly inside the stream (e.g. 2,7,19); a
        /// last `fin` or `rst` ends the stream there, as F and R do in the tutorial's
        /// wire mode (e.g. 2,7,fin).
        #[arg(long, value_name = "OFFSETS", value_parser = fixed_cuts)]
        cuts: Option<FixedCuts>,
        /// Stream bytes per diagram line.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(8..=4096))]
        width: u16,
        /// Show the run as it stood after its first K calls, as the book's player
        /// shows step K: the bytes each side's receiver had got, each side's latest
        /// call and, at the last step, the verdicts. Step 0 is before the first call;
        /// the steps take the two sides abreast, a round per piece of the wire. With
        /// --json, that state as one JSON object. Lockstep only, where the seed fixes
        /// every call.
        #[arg(long, value_name = "K")]
        upto: Option<usize>,
    },
    /// Ask what a lesson's seeded run will show, as a multiple-choice question.
    ///
    /// Runs the lesson (lockstep) and prints each question built from that run: the
    /// question, its numbered choices and the number of the right one. The same
    /// lesson and seed always ask the same questions, the right answer in the same
    /// place: for slides, a quiz, or tests.
    Predict {
        /// The lesson, by slug or number (see `sockstep list`).
        lesson: String,
        /// Seed that fixes where the wire cuts the stream.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only this question; default: all of them.
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// The language of the code that runs.
        #[arg(long, value_enum, default_value_t = Lang::Rust)]
        lang: Lang,
        /// Print the questions as JSON (`answer` is the 0-based index of the right
        /// choice).
        #[arg(long)]
        json: bool,
    },
    /// Check that every lesson (or one) shows what it claims, over many seeds.
    ///
    /// Runs each lesson with seeds 1 to N in the given mode, and prints per lesson how
    /// often the naive side failed (and how), how often it was lucky (delivered every
    /// message), in how many runs a recv() spanned a cut (returned bytes from both
    /// sides of a place where the relay cut the stream, or in direct, of the end of
    /// a send(): the kernel merged pieces), and how often the correct side delivered.
    ///
    /// What must hold, or the check fails (exit status 1): in every mode the correct
    /// side delivers every message on every seed; in lockstep the naive side also
    /// fails, on every seed, the way its lesson says. In free-run and direct the
    /// kernel decides how reads split, so the naive side may be lucky: its rates are
    /// measured, not judged.
    Check {
        /// Only this lesson, by slug or number.
        lesson: Option<String>,
        /// How many seeds to try (1 to N).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        seeds: u64,
        /// How the stream gets from sender to receiver.
        #[arg(long, value_enum, default_value_t = Mode::Lockstep)]
        mode: Mode,
        /// Same as `--mode free-run` (kept for old scripts).
        #[arg(long, hide = true, conflicts_with = "mode")]
        free_run: bool,
        /// The language of the code to check: rust, python, or all (both).
        #[arg(long, value_enum, default_value_t = CheckLang::Rust)]
        lang: CheckLang,
        /// Print the counts as JSON, one object per lesson.
        #[arg(long)]
        json: bool,
    },
    /// Attack your own server, in any language, over real loopback TCP.
    ///
    /// sockstep starts your server on a fresh port (filling in {port} and {level} in
    /// the command, and SOCKSTEP_PORT, SOCKSTEP_HOST and SOCKSTEP_LEVEL in its
    /// environment), then plays the level's seeded hostile cuts against it and says
    /// exactly where it broke. The last line of every report replays the same run.
    ///
    /// Exit status: 0 every level passed; 1 a level failed; 2 a usage error; 3 the
    /// program did not start, exited early or never listened; 4 sockstep's own error.
    #[command(after_help = CHALLENGE_EXAMPLES)]
    Challenge(Box<ChallengeArgs>),
    /// Grade many submissions against the same seed: a submissions × levels matrix,
    /// and the failures grouped by hint.
    ///
    /// Each submission runs in a play of its own, in parallel: one's hang or crash
    /// never touches another. Exit status: 0 every submission passed every level; 1
    /// some did not; 2 a usage error; 4 sockstep could not grade one.
    #[command(after_help = GRADE_EXAMPLES)]
    Grade(Box<GradeArgs>),
    /// Print a shell completion script.
    ///
    /// For example, in bash: `source <(sockstep completions bash)`; or save it where
    /// your shell looks for completions (bash-completion, zsh's $fpath, fish's
    /// ~/.config/fish/completions/sockstep.fish).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a folder.
    ///
    /// Read it with `sockstep man | man -l -`.
    Man {
        /// Write sockstep.1 and one sockstep-COMMAND.1 per command into this folder
        /// (which must exist) instead of printing sockstep.1.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

const CHALLENGE_EXAMPLES: &str = "Examples:\n  \
    sockstep challenge --list\n  \
    sockstep challenge length-prefix --spec\n  \
    sockstep challenge length-prefix --starter python > server.py\n  \
    sockstep challenge length-prefix -- python3 server.py {port}\n  \
    sockstep challenge all --keep-going --json report.json -- ./server {port}\n  \
    sockstep challenge delimiter --connect 127.0.0.1:7000";

const GRADE_EXAMPLES: &str = "Examples:\n  \
    sockstep grade all --cmd 'python3 {dir}/server.py {port}' submissions/*\n  \
    sockstep grade fixed-length,length-prefix --cmd '{dir}/server {port}' --csv marks.csv a/ b/";

/// `sockstep challenge`'s options.
#[derive(clap::Args, Debug)]
struct ChallengeArgs {
    /// The level (see --list), several separated by commas, or `all` (in order,
    /// stopping at the first failure unless --keep-going).
    #[arg(value_parser = level_list, required_unless_present = "list")]
    level: Option<Levels>,
    /// Seed that fixes every cut; default: a fresh one, shown in the replay line.
    #[arg(long)]
    seed: Option<u64>,
    /// Multiply every time limit by this (at least 1), for slow machines.
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = slow_factor)]
    slow: f64,
    /// Also write the report as JSON (assets/challenge-report.schema.json) here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write the report as JUnit XML (one test case per level) here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// With `all`: play every level, not stopping at the first failure.
    #[arg(long)]
    keep_going: bool,
    /// Do not trace a Python program's socket calls.
    #[arg(long)]
    no_trace: bool,
    /// The program's memory limit (RLIMIT_AS) in MiB; 0: none.
    #[arg(long, value_name = "MB", default_value_t = report::DEFAULT_MEMORY_MB)]
    memory: u64,
    /// Attack a server you started yourself (in a debugger, an IDE, another OS),
    /// listening here, instead of starting one.
    #[arg(long, value_name = "ADDR", conflicts_with = "command")]
    connect: Option<std::net::SocketAddr>,
    /// List the levels: name, the lesson each practises, what a request is.
    #[arg(long, conflicts_with_all = ["spec", "starter", "connect", "command", "json", "junit"])]
    list: bool,
    /// Print the level's protocol, exactly.
    #[arg(long, conflicts_with_all = ["starter", "connect", "command", "json", "junit"])]
    spec: bool,
    /// Print a skeleton server for the level in this language (framing left to you).
    #[arg(long, value_name = "LANG", value_parser = clap::builder::PossibleValuesParser::new(starter::LANGUAGES), conflicts_with_all = ["connect", "command", "json", "junit"])]
    starter: Option<String>,
    /// Your server's command, after `--`; {port} and {level} are filled in.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

/// `sockstep grade`'s options.
#[derive(clap::Args, Debug)]
struct GradeArgs {
    /// `all`, or levels separated by commas.
    #[arg(value_parser = level_list)]
    levels: Levels,
    /// The command that starts one submission's server: {dir} is its folder, {port}
    /// and {level} are filled in per level.
    #[arg(long, value_name = "COMMAND")]
    cmd: String,
    /// The submissions' folders (their names label the rows).
    #[arg(required = true, value_name = "DIR", value_parser = existing_folder)]
    dirs: Vec<PathBuf>,
    /// Seed that fixes every cut, the same for every submission; default: a fresh one.
    #[arg(long)]
    seed: Option<u64>,
    /// Submissions graded at once; default: the number of cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Multiply every time limit by this (at least 1).
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = slow_factor)]
    slow: f64,
    /// Also write every submission's cells, full report and the groups as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write the matrix as CSV here.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Each program's memory limit (RLIMIT_AS) in MiB; 0: none.
    #[arg(long, value_name = "MB", default_value_t = report::DEFAULT_MEMORY_MB)]
    memory: u64,
    /// Do not trace Python programs' socket calls.
    #[arg(long)]
    no_trace: bool,
}

/// Level names, in the order to play them.
#[derive(Clone, Debug)]
struct Levels(Vec<String>);

/// `all`, or level names separated by commas.
fn level_list(text: &str) -> Result<Levels, String> {
    if text == "all" {
        return Ok(Levels(
            level::levels().iter().map(|l| l.id.to_string()).collect(),
        ));
    }
    text.split(',')
        .map(|name| match level::find(name) {
            Some(found) => Ok(found.id.to_string()),
            None => {
                let names: Vec<&str> = level::levels().iter().map(|l| l.id).collect();
                Err(format!(
                    "there is no level named {name:?}; the levels are {}, or all",
                    names.join(", ")
                ))
            }
        })
        .collect::<Result<_, _>>()
        .map(Levels)
}

fn fixed_cuts(text: &str) -> Result<FixedCuts, String> {
    FixedCuts::parse(text).map_err(|error| error.to_string())
}

/// Why `cuts` cannot cut `lesson`'s stream in `mode`, if they cannot.
fn cuts_problem(lesson: &Lesson, cuts: &FixedCuts, mode: Mode) -> Option<String> {
    if mode == Mode::Direct {
        return Some(
            "--cuts cuts the stream in the relay, and --mode direct has none: \
             use lockstep or free-run"
                .to_string(),
        );
    }
    let len = (lesson.scenario)().stream().0.len();
    cuts.fit(len)
        .err()
        .map(|error| format!("--cuts for {}: {error}", lesson.slug))
}

fn slow_factor(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if f >= 1.0 && f.is_finite() => Ok(f),
        Ok(_) => Err("it must be at least 1: it multiplies every time limit".to_string()),
        Err(_) => Err(format!("--slow {text} is not a number")),
    }
}

fn existing_folder(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_dir() {
        Ok(path)
    } else {
        Err(format!("{text} is not a folder"))
    }
}

impl clap::ValueEnum for Mode {
    fn value_variants<'a>() -> &'a [Self] {
        &Mode::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.describe()))
    }
}

impl clap::ValueEnum for Kind {
    fn value_variants<'a>() -> &'a [Self] {
        &Kind::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

impl clap::ValueEnum for Lang {
    fn value_variants<'a>() -> &'a [Self] {
        &Lang::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

/// `check --lang`: one language, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum CheckLang {
    Rust,
    Python,
    All,
}

impl CheckLang {
    fn langs(self) -> &'static [Lang] {
        match self {
            CheckLang::Rust => &[Lang::Rust],
            CheckLang::Python => &[Lang::Python],
            CheckLang::All => &Lang::ALL,
        }
    }
}

/// A failed run as the user reads it: the engine's errors say which lesson's run
/// failed; a missing Python or Python file is one sentence on its own.
fn run_failed(lesson: &Lesson, error: RunError) -> anyhow::Error {
    match error {
        RunError::Engine(e) => {
            anyhow::Error::new(e).context(format!("running lesson '{}'", lesson.slug))
        }
        other => other.into(),
    }
}

/// `--mode`, or free-run when the old `--free-run` flag is given.
fn chosen_mode(mode: Mode, free_run: bool) -> Mode {
    if free_run { Mode::FreeRun } else { mode }
}

#[derive(Subcommand, Debug)]
enum MdbookAction {
    /// Exit 0 if the preprocessor can serve this renderer (html, markdown).
    Supports { renderer: String },
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    quiet_teaching_panics();
    let mut out = Stdout::default();
    let result = match Cli::try_parse() {
        Ok(cli) => dispatch(cli, &mut out),
        Err(usage) => print_usage(&usage, &mut out),
    };
    match result.and_then(|code| {
        out.flush()?;
        Ok(code)
    }) {
        Ok(code) => code,
        Err(error) => {
            if let Some(failure) = out.failure {
                // The reader of our output went away (`sockstep run … | head`): not an error.
                if failure.kind() == io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
                report(&format!("could not write to standard output: {failure}"));
                return ExitCode::FAILURE;
            }
            report(&describe(&error));
            if error.downcast_ref::<UnknownLesson>().is_some() {
                return ExitCode::from(2);
            }
            ExitCode::FAILURE
        }
    }
}

/// Standard output that keeps the error that stopped it, so that a closed pipe can
/// end quietly and a full disk be named, whatever wrapped the error on its way up
/// (`serde_json::Error`, anyhow context).
#[derive(Default)]
struct Stdout {
    failure: Option<io::Error>,
}

impl Stdout {
    fn keep<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        result.map_err(|error| {
            let kind = error.kind();
            self.failure.get_or_insert(error);
            io::Error::from(kind)
        })
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = io::stdout().write(buf);
        self.keep(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = io::stdout().flush();
        self.keep(result)
    }
}

/// One line on standard error; if even that is closed there is no one left to tell.
fn report(message: &str) {
    let _ = writeln!(io::stderr(), "error: {message}");
}

/// The error and its causes, each cause once: many errors already end with their
/// cause's text ("could not read F: Permission denied"), and anyhow's `{:#}` would
/// repeat it.
fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// Help, version and usage errors, as clap prints them, but through `out` so that a
/// closed or full standard output is handled like every other command's.
fn print_usage(usage: &clap::Error, out: &mut Stdout) -> anyhow::Result<ExitCode> {
    let code = ExitCode::from(u8::try_from(usage.exit_code()).unwrap_or(2));
    let text = usage.render();
    if usage.use_stderr() {
        let styled = io::stderr().is_terminal() && no_color_unset();
        let _ = write!(
            io::stderr(),
            "{}",
            if styled {
                text.ansi().to_string()
            } else {
                text.to_string()
            }
        );
    } else {
        let styled = io::stdout().is_terminal() && no_color_unset();
        if styled {
            write!(out, "{}", text.ansi())?;
        } else {
            write!(out, "{text}")?;
        }
    }
    Ok(code)
}

fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A panic in teaching code is an outcome the trace records: print nothing for it.
fn quiet_teaching_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !crate::engine::in_teaching_thread() {
            previous(info);
        }
    }));
}

fn dispatch(cli: Cli, out: &mut Stdout) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &cli.lessons {
        if dir.is_file() {
            anyhow::bail!("--lessons {} is a file, not a folder", dir.display());
        }
        if !dir.is_dir() {
            anyhow::bail!("--lessons {}: no such folder", dir.display());
        }
    }
    match cli.command {
        None if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => tui(
            cli.lessons,
            TuiStart {
                lesson: None,
                seed: None,
                mode: Mode::Lockstep,
                lang: None,
                predict: false,
                present: false,
                wire: false,
                cuts: None,
            },
            out,
        ),
        None => {
            print_hint(out)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Tui {
            lesson,
            seed,
            mode,
            free_run,
            lang,
            predict,
            present,
            wire,
            cuts,
        }) => tui(
            cli.lessons,
            TuiStart {
                lesson: lesson.as_deref(),
                seed,
                mode: chosen_mode(mode, free_run),
                lang,
                predict,
                present,
                wire,
                cuts,
            },
            out,
        ),
        Some(Command::Progress { reset }) => progress(reset, out),
        Some(Command::Mdbook { action: None }) => {
            crate::book::run_preprocessor(io::stdin().lock(), out)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Mdbook {
            action: Some(MdbookAction::Supports { renderer }),
        }) => Ok(if matches!(renderer.as_str(), "html" | "markdown") {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }),
        Some(Command::List { json }) => list(json, out),
        Some(Command::Notes) => notes(out),
        Some(Command::Completions { shell }) => {
            // clap_complete panics on a failed write: write the finished script ourselves.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "sockstep", &mut script);
            out.write_all(&script)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man { dir }) => man(dir, out),
        Some(Command::Challenge(args)) => own_errors_exit_4(challenge_command(*args, out), out),
        Some(Command::Grade(args)) => own_errors_exit_4(grade_command(*args, out), out),
        Some(Command::Run {
            lesson,
            seed,
            mode,
            free_run,
            lang,
            json,
            calls,
            cuts,
            width,
            upto,
        }) => run(
            &lesson,
            RunOptions {
                seed,
                mode: chosen_mode(mode, free_run),
                cuts,
                ..RunOptions::default()
            },
            lang,
            RunView {
                json,
                calls,
                width: width.into(),
                upto,
            },
            out,
        ),
        Some(Command::Predict {
            lesson,
            seed,
            kind,
            lang,
            json,
        }) => predict_command(&lesson, seed, kind, lang, json, out),
        Some(Command::Check {
            lesson,
            seeds,
            mode,
            free_run,
            lang,
            json,
        }) => check(
            lesson.as_deref(),
            seeds,
            chosen_mode(mode, free_run),
            lang,
            json,
            out,
        ),
    }
}

/// Copies what the presenting TUI publishes until it ends.
fn notes(out: &mut Stdout) -> anyhow::Result<ExitCode> {
    use std::io::Read;
    let path = crate::tui::notes::socket_path()
        .context("could not find where the tutorial publishes its notes")?;
    let mut notes = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(notes) => notes,
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            anyhow::bail!(
                "no sockstep tutorial is running to follow: start `sockstep` in another terminal first (nothing listens at {})",
                path.display()
            )
        }
        Err(error) => {
            return Err(error).with_context(|| format!("could not connect to {}", path.display()));
        }
    };
    let mut buffer = [0u8; 8192];
    loop {
        let read = notes
            .read(&mut buffer)
            .with_context(|| format!("could not read the notes from {}", path.display()))?;
        if read == 0 {
            break;
        }
        out.write_all(&buffer[..read])?;
        out.flush()?;
    }
    writeln!(out, "The tutorial ended.")?;
    Ok(ExitCode::SUCCESS)
}

/// How the tutorial starts: the lesson, and what its first run uses.
struct TuiStart<'a> {
    lesson: Option<&'a str>,
    seed: Option<u64>,
    mode: Mode,
    lang: Option<Lang>,
    predict: bool,
    present: bool,
    wire: bool,
    cuts: Option<FixedCuts>,
}

fn tui(pages: Option<PathBuf>, start: TuiStart, out: &mut Stdout) -> anyhow::Result<ExitCode> {
    let TuiStart {
        lesson,
        seed,
        mode,
        lang,
        predict,
        present,
        wire,
        cuts,
    } = start;
    if wire && mode != Mode::Lockstep {
        let problem = format!(
            "--wire needs --mode lockstep, where the wire waits for each recv() (--mode {} does not)",
            mode.name()
        );
        return usage_error("tui", problem, out);
    }
    let start = lesson
        .map(teaching::find)
        .transpose()?
        .map(|(number, _)| number - 1);
    if let Some(cuts) = &cuts {
        let shown = &teaching::all()[start.unwrap_or(0)];
        if let Some(problem) = cuts_problem(shown, cuts, mode) {
            return usage_error("tui", problem, out);
        }
    }
    if let Some(lang) = lang {
        let shown = &teaching::all()[start.unwrap_or(0)];
        shown
            .can_run(lang)
            .map_err(|error| run_failed(shown, error))?;
    }
    if !std::io::stdout().is_terminal() {
        anyhow::bail!("the interactive tutorial needs a terminal; try 'sockstep run' instead");
    }
    if std::env::var("TERM").is_ok_and(|term| crate::tui::palette::is_dumb(&term)) {
        anyhow::bail!(
            "TERM=dumb cannot draw the interactive tutorial's screen; \
             try 'sockstep run LESSON' (and 'sockstep list'), or set TERM to your terminal's type"
        );
    }
    let palette = Palette::from_env();
    let progress_path = match progress::path() {
        Ok(path) => Some(path),
        Err(error) => {
            let _ = writeln!(io::stderr(), "warning: {error}; progress will not be saved");
            None
        }
    };
    let ending = crate::tui::run(
        AppConfig {
            lessons: teaching::all(),
            pages_dir: pages,
            start,
            seed,
            mode,
            lang,
            cuts,
            color: palette.has_color(),
            progress_path,
            predict,
            present,
            wire,
        },
        palette,
    )?;
    Ok(ExitCode::from(ending.exit_status()))
}

fn progress(reset: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let path = progress::path()?;
    if reset {
        Progress::reset(&path)?;
        writeln!(out, "progress cleared ({})", path.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    let saved = Progress::load(&path)?;
    let lessons = teaching::all();
    let done = lessons
        .iter()
        .filter(|l| saved.completed.contains(l.slug))
        .count();
    writeln!(
        out,
        "{done} of {} lessons completed ({})",
        lessons.len(),
        path.display()
    )?;
    for (i, lesson) in lessons.iter().enumerate() {
        let mark = if saved.completed.contains(lesson.slug) {
            "✓"
        } else {
            " "
        };
        match saved.predictions.get(lesson.slug) {
            Some(tally) => writeln!(
                out,
                "  {mark} {:>2} {:<16} predicted {} of {} right",
                i + 1,
                lesson.slug,
                tally.right,
                tally.asked
            )?,
            None => writeln!(out, "  {mark} {:>2} {}", i + 1, lesson.slug)?,
        }
    }
    if let Some(lang) = saved.lang {
        writeln!(
            out,
            "language: {} (L switches it in the tutorial)",
            lang.name()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn man(dir: Option<PathBuf>, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let command = Cli::command();
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            out.write_all(&page)?;
        }
        Some(dir) => {
            if !dir.is_dir() {
                anyhow::bail!("man --dir {}: no such folder", dir.display());
            }
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("writing the manual pages into {}", dir.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_hint(out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "sockstep: learn how TCP really moves bytes.\n\n\
         Run it in a terminal for the interactive tutorial, or try:\n  \
         sockstep list                    the lessons\n  \
         sockstep run length-prefix       run one and see the bytes\n  \
         sockstep check                   prove every lesson's claim\n  \
         sockstep --help                  everything else"
    )
}

/// Colour on a terminal, unless NO_COLOR is set to anything non-empty.
fn use_color() -> bool {
    io::stdout().is_terminal() && no_color_unset()
}

#[derive(Serialize)]
struct ListedLesson<'a> {
    number: usize,
    slug: &'a str,
    title: &'a str,
    teaches: OutcomeKind,
}

fn list(json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let lessons: Vec<ListedLesson> = teaching::all()
        .iter()
        .enumerate()
        .map(|(i, l)| ListedLesson {
            number: i + 1,
            slug: l.slug,
            title: l.title,
            teaches: l.teaches,
        })
        .collect();
    if json {
        serde_json::to_writer_pretty(&mut *out, &lessons)?;
        writeln!(out)?;
    } else {
        let slug_width = lessons.iter().map(|l| l.slug.len()).max().unwrap_or(0);
        for l in &lessons {
            writeln!(out, "{:>3}  {:<slug_width$}  {}", l.number, l.slug, l.title)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How `run` shows its run.
struct RunView {
    json: bool,
    calls: bool,
    width: usize,
    /// Only the state after this many calls.
    upto: Option<usize>,
}

fn run(
    query: &str,
    options: RunOptions,
    lang: Lang,
    view: RunView,
    out: &mut Stdout,
) -> anyhow::Result<ExitCode> {
    let (number, lesson) = teaching::find(query)?;
    if let Some(problem) = options
        .cuts
        .as_ref()
        .and_then(|cuts| cuts_problem(lesson, cuts, options.mode))
    {
        return usage_error("run", problem, out);
    }
    if view.upto.is_some() && options.mode != Mode::Lockstep {
        return usage_error(
            "run",
            format!(
                "--upto steps through a lockstep run, where the seed fixes every call; \
                 --mode {} does not fix them",
                options.mode.name()
            ),
            out,
        );
    }
    let flag = options.cuts.as_ref().map(FixedCuts::flag);
    let trace = lesson
        .run_in(lang, options)
        .map_err(|e| run_failed(lesson, e))?;
    if let Some(upto) = view.upto {
        let state = match steps::state_at(&trace, upto) {
            Ok(state) => state,
            Err(past) => return usage_error("run", format!("--upto {upto}: {past}"), out),
        };
        if view.json {
            serde_json::to_writer_pretty(&mut *out, &state)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", header(number, lesson, &trace, flag.as_deref()))?;
            write!(
                out,
                "{}",
                step_view(&trace, &state, use_color(), view.width, view.calls)
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if view.json {
        serde_json::to_writer_pretty(&mut *out, &trace)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let color = use_color();
    writeln!(out, "{}", header(number, lesson, &trace, flag.as_deref()))?;
    writeln!(
        out,
        "{}",
        text::diagram(
            &trace,
            TextOptions {
                color,
                bytes_per_line: view.width,
            }
        )
    )?;
    if view.calls {
        for side in Side::BOTH {
            writeln!(out, "  {} calls:", side.name())?;
            write!(out, "{}", text::timeline(trace.side(side)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `run --upto K` without `--json`: the step, the wire and what each side had
/// received then, each side's latest call and, at the end, the verdicts.
fn step_view(
    trace: &Trace,
    state: &steps::StepState,
    color: bool,
    width: usize,
    calls: bool,
) -> String {
    let mut out = format!("{}\n", state.text);
    let made = |side: Side| &trace.side(side).events[..state.sides.side(side).calls];
    let source = diagram::Source {
        stream: &trace.stream,
        spans: &trace.spans,
        cuts: &trace.cuts,
        sides: Side::BOTH
            .iter()
            .map(|&side| (side, diagram::reads(made(side))))
            .collect(),
        fates: Side::BOTH
            .iter()
            .map(|&side| {
                let events = &trace.side(side).events;
                let calls = state.sides.side(side).calls;
                path::fates(
                    events,
                    &trace.stream,
                    &trace.spans,
                    calls,
                    state.step == state.steps,
                )
            })
            .collect(),
    };
    let layout = diagram::Options {
        wire: true,
        messages: !color,
        fates: true,
        bytes_per_line: width,
        ..diagram::Options::default()
    };
    out.push_str(&text::grid(&source, &layout, color));
    out.push('\n');
    for side in Side::BOTH {
        let shown = state.sides.side(side);
        match (&shown.verdict, made(side).last()) {
            (Some(_), _) => {
                out.push_str(&text::outcome_line(side, &trace.side(side).outcome, color));
            }
            (None, Some(event)) => {
                out.push_str(&format!("  {:<9}{}", side.name(), text::call_line(event)));
            }
            (None, None) => out.push_str(&format!("  {:<9}no call yet", side.name())),
        }
        out.push_str(&format!("\n  {:<9}{}\n", "", shown.path.summary()));
    }
    if calls {
        for side in Side::BOTH {
            out.push_str(&format!("  {} calls:\n", side.name()));
            for event in made(side) {
                out.push_str(&format!("    {}\n", text::call_line(event)));
            }
        }
    }
    out
}

fn predict_command(
    query: &str,
    seed: u64,
    kind: Option<Kind>,
    lang: Lang,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let (number, lesson) = teaching::find(query)?;
    let trace = lesson
        .run_in(
            lang,
            RunOptions {
                seed,
                ..RunOptions::default()
            },
        )
        .map_err(|e| run_failed(lesson, e))?;
    let questions = match kind {
        Some(kind) => vec![predict::question(&trace, kind)],
        None => predict::questions(&trace),
    };
    if json {
        serde_json::to_writer_pretty(&mut *out, &questions)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "{}", header(number, lesson, &trace, None))?;
    for question in &questions {
        writeln!(out, "\n{}", question.prompt)?;
        for (i, choice) in question.choices.iter().enumerate() {
            writeln!(out, "  {}. {choice}", i + 1)?;
        }
        writeln!(out, "answer: {}", question.answer + 1)?;
        writeln!(out, "  ({})", question.reveal)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The run's title and what it ran with; `cuts_flag`, when the cuts were given by
/// hand, so that the run can be shared.
fn header(number: usize, lesson: &Lesson, trace: &Trace, cuts_flag: Option<&str>) -> String {
    // Rust is the default: only another language is named.
    let language = match trace.language.as_str() {
        "rust" => String::new(),
        other => format!(" · {other}"),
    };
    format!(
        "{number} {} — {}\nseed {} · {}{language} · {} message{} · {} bytes · {} cut{}{}",
        lesson.slug,
        lesson.title,
        trace.seed,
        trace.mode.name(),
        trace.messages.len(),
        if trace.messages.len() == 1 { "" } else { "s" },
        trace.stream.len(),
        trace.cuts.len(),
        if trace.cuts.len() == 1 { "" } else { "s" },
        cuts_flag
            .map(|flag| format!(" · {flag}"))
            .unwrap_or_default(),
    )
}

/// One lesson's line of `check --json`.
#[derive(Serialize)]
struct CheckedLesson<'a> {
    number: usize,
    slug: &'a str,
    lang: Lang,
    /// Everything that must hold did, on every seed.
    holds: bool,
    /// The failure the lesson teaches (the naive side's, in lockstep).
    teaches: OutcomeKind,
    #[serde(flatten)]
    measured: &'a Measured,
    /// Each run that broke a claim, in words.
    broken: Vec<String>,
}

fn check(
    query: Option<&str>,
    seeds: u64,
    mode: Mode,
    langs: CheckLang,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let chosen: Vec<(usize, &Lesson)> = match query {
        Some(query) => vec![teaching::find(query)?],
        None => teaching::all()
            .iter()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .collect(),
    };
    let mut lessons: Vec<(usize, &Lesson, Lang)> = Vec::new();
    // Lessons not yet written in Python: named, not checked (one asked for by name
    // is an error).
    let mut unwritten = Vec::new();
    for &lang in langs.langs() {
        for &(number, lesson) in &chosen {
            match lesson.can_run(lang) {
                Ok(_) => lessons.push((number, lesson, lang)),
                Err(RunError::NoPython { .. }) if query.is_none() => {
                    unwritten.push((number, lesson))
                }
                Err(e) => return Err(run_failed(lesson, e)),
            }
        }
    }
    let languages = match langs {
        CheckLang::Rust => String::new(),
        CheckLang::Python => " · python".to_string(),
        CheckLang::All => " · rust and python".to_string(),
    };
    let progress = std::io::stderr().is_terminal();
    let mut failed = 0;
    let mut checked = Vec::new();
    if !json {
        writeln!(
            out,
            "{}{languages} · seeds 1 to {seeds} · {}",
            mode.name(),
            match mode {
                Mode::Lockstep =>
                    "must hold: naive fails as its lesson says, correct delivers, every seed",
                Mode::FreeRun | Mode::Direct =>
                    "must hold: correct delivers every seed; naive is measured, may be lucky",
            }
        )?;
        writeln!(
            out,
            "     {:<16} {:>12} {:>11} {:>16} {:>17}  how naive failed",
            "lesson", "naive failed", "naive lucky", "recv spans a cut", "correct delivered"
        )?;
    }
    for (number, lesson, lang) in &lessons {
        let measured = lesson
            .measure_in(*lang, mode, seeds, |seed| {
                if progress {
                    let _ = write!(
                        io::stderr(),
                        "\r  checking {} seed {seed}/{seeds}…\x1b[K",
                        lesson.slug
                    );
                }
            })
            .map_err(|e| run_failed(lesson, e))?;
        if progress {
            let _ = write!(io::stderr(), "\r\x1b[K");
        }
        let holds = measured.broken.is_empty();
        if !holds {
            failed += 1;
        }
        if json {
            checked.push((*number, *lesson, *lang, measured));
            continue;
        }
        // Named only when more than one language is checked.
        let slug = match langs {
            CheckLang::All => format!("{} ({})", lesson.slug, lang.name()),
            CheckLang::Rust | CheckLang::Python => lesson.slug.to_string(),
        };
        let spans = format!(
            "{}/{} runs",
            measured.spanning_runs[0], measured.spanning_runs[1]
        );
        let how = measured
            .naive_failed
            .iter()
            .map(|(how, n)| format!("{how} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(
            out,
            "{} {number:>2} {:<16} {:>12} {:>11} {:>16} {:>17}  {how}",
            if holds { '✓' } else { '✗' },
            slug,
            measured.naive_failures(),
            measured.naive_lucky,
            spans,
            format!("{}/{}", measured.correct_delivered, measured.runs),
        )?;
        if !holds {
            writeln!(
                out,
                "       {} of {seeds} seeds break what must hold:",
                measured.broken_seeds()
            )?;
            for broken in measured.broken.iter().take(5) {
                writeln!(out, "       {broken}")?;
            }
        }
    }
    if json {
        let lines: Vec<CheckedLesson> = checked
            .iter()
            .map(|(number, lesson, lang, measured)| CheckedLesson {
                number: *number,
                slug: lesson.slug,
                lang: *lang,
                holds: measured.broken.is_empty(),
                teaches: lesson.teaches,
                measured,
                broken: measured.broken.iter().map(ToString::to_string).collect(),
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &lines)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "(recv spans a cut: runs, naive/correct, in which one recv() returned bytes from both sides of {})",
            match mode {
                Mode::Lockstep | Mode::FreeRun => "a place where the relay cut the stream",
                Mode::Direct =>
                    "the end of a send() (direct has no relay: the kernel merged two writes)",
            }
        )?;
        for (number, lesson) in &unwritten {
            writeln!(
                out,
                "- {number:>2} {:<16} no Python version yet ({})",
                lesson.slug,
                lesson.python_path()
            )?;
        }
        writeln!(
            out,
            "{} of {} lesson{} hold{} on {seeds} seed{} in {}",
            lessons.len() - failed,
            lessons.len(),
            if lessons.len() == 1 { "" } else { "s" },
            if lessons.len() - failed == 1 { "s" } else { "" },
            if seeds == 1 { "" } else { "s" },
            mode.name(),
        )?;
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// challenge and grade exit 4 on sockstep's own error (1 means a level failed); a
/// closed standard output is still handled by `main`.
fn own_errors_exit_4(result: anyhow::Result<ExitCode>, out: &Stdout) -> anyhow::Result<ExitCode> {
    match result {
        Err(error) if out.failure.is_none() => {
            report(&describe(&error));
            Ok(ExitCode::from(report::EXIT_INTERNAL))
        }
        other => other,
    }
}

/// A usage error of `sockstep SUBCOMMAND`, printed as clap prints its own (exit 2).
fn usage_error(subcommand: &str, message: String, out: &mut Stdout) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    let error = match command.find_subcommand_mut(subcommand) {
        Some(sub) => sub
            .clone()
            .bin_name(format!("sockstep {subcommand}"))
            .error(clap::error::ErrorKind::ValueValidation, message),
        None => command.error(clap::error::ErrorKind::ValueValidation, message),
    };
    print_usage(&error, out)
}

/// A fresh seed, when none is given: small enough to read and type back.
fn fresh_seed() -> u64 {
    u64::from(rand::random::<u32>())
}

fn memory_limit(mb: u64) -> Option<u64> {
    (mb > 0).then(|| mb.saturating_mul(1024 * 1024))
}

/// Writes a report file; a failure is sockstep's own error, naming the file.
fn write_report(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("could not write {}", path.display()))
}

fn challenge_command(args: ChallengeArgs, out: &mut Stdout) -> anyhow::Result<ExitCode> {
    if args.list {
        let width = level::levels()
            .iter()
            .map(|l| l.id.len())
            .max()
            .unwrap_or(0);
        let lesson_width = level::levels()
            .iter()
            .map(|l| l.lesson().len())
            .max()
            .unwrap_or(0);
        writeln!(
            out,
            "{:<width$}  {:<lesson_width$}  each request",
            "level", "lesson"
        )?;
        for found in level::levels() {
            writeln!(
                out,
                "{:<width$}  {:<lesson_width$}  {}",
                found.id,
                found.lesson(),
                found.summary
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let levels = args.level.map(|l| l.0).unwrap_or_default();
    let one = || match levels.as_slice() {
        [name] => level::find(name).ok_or_else(|| format!("there is no level named {name:?}")),
        _ => Err(format!(
            "{} names {} levels; name one",
            report::levels_word(&levels),
            levels.len()
        )),
    };
    if args.spec {
        return match one() {
            Ok(found) => {
                write!(out, "{}", found.spec())?;
                Ok(ExitCode::SUCCESS)
            }
            Err(problem) => usage_error("challenge", format!("--spec: {problem}"), out),
        };
    }
    if let Some(language) = &args.starter {
        return match one() {
            Ok(found) => match starter::starter(language, found) {
                Some(code) => {
                    write!(out, "{code}")?;
                    Ok(ExitCode::SUCCESS)
                }
                None => usage_error(
                    "challenge",
                    format!("--starter {language}: there is no starter in that language"),
                    out,
                ),
            },
            Err(problem) => usage_error("challenge", format!("--starter: {problem}"), out),
        };
    }
    let program = match (args.connect, args.command.is_empty()) {
        (Some(address), _) => Program::Connect(address),
        (None, false) => Program::Command(args.command),
        (None, true) => {
            return usage_error(
                "challenge",
                "no server to attack: give its command after `--` \
                 (e.g. `-- python3 server.py {port}`), or --connect ADDR"
                    .to_string(),
                out,
            );
        }
    };
    let options = PlayOptions {
        levels,
        seed: args.seed.unwrap_or_else(fresh_seed),
        slow: args.slow,
        program,
        keep_going: args.keep_going,
        trace: !args.no_trace,
        memory_limit: memory_limit(args.memory),
        replay_prefix: vec!["sockstep".into(), "challenge".into()],
    };
    crate::challenge::guest::install_reaper()
        .context("could not set up the clean-up of your program on Ctrl-C")?;
    let color = use_color();
    write!(out, "{}", report::header(&options, color))?;
    out.flush()?;
    let mut printed = Ok(());
    let result = play::play(&options, &mut |level| {
        crate::challenge::guest::park_if_interrupted();
        if printed.is_ok() {
            printed =
                writeln!(out, "{}", report::level_line(level, color)).and_then(|_| out.flush());
        }
    })
    .map(|mut run| {
        run.replay = report::replay(&options);
        run
    });
    printed?;
    crate::challenge::guest::park_if_interrupted();
    let code = report::exit_code(&result);
    match &result {
        Ok(run) => {
            write!(out, "{}", report::conclusion(run, color))?;
            if let Some(path) = &args.json {
                write_report(path, &report::json(run))?;
            }
            if let Some(path) = &args.junit {
                write_report(path, &report::junit(run))?;
            }
        }
        Err(error) => {
            writeln!(out, "[sockstep] {error}")?;
            writeln!(out, "[sockstep] replay: {}", report::replay(&options))?;
            if let Some(path) = &args.json {
                write_report(path, &report::json_not_played(&options, error))?;
            }
            if let Some(path) = &args.junit {
                write_report(path, &report::junit_not_played(&options, error))?;
            }
        }
    }
    Ok(ExitCode::from(code))
}

fn grade_command(args: GradeArgs, out: &mut Stdout) -> anyhow::Result<ExitCode> {
    let levels = args.levels.0;
    // The command must split on every submission; try it on the first.
    if let Err(problem) = grade::command_for(&args.cmd, &args.dirs[0]) {
        return usage_error("grade", problem, out);
    }
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );
    let options = grade::GradeOptions {
        levels: levels.clone(),
        cmd: args.cmd,
        dirs: args.dirs,
        seed: args.seed.unwrap_or_else(fresh_seed),
        slow: args.slow,
        jobs,
        memory_limit: memory_limit(args.memory),
        trace: !args.no_trace,
    };
    crate::challenge::guest::install_reaper()
        .context("could not set up the clean-up of the programs on Ctrl-C")?;
    let terminal = io::stderr().is_terminal();
    let graded = grade::grade(&options, &|done, total| {
        let _ = if terminal {
            write!(io::stderr(), "\rgraded {done} of {total}\x1b[K")
        } else {
            writeln!(io::stderr(), "graded {done} of {total}")
        };
    });
    if terminal {
        let _ = write!(io::stderr(), "\r\x1b[K");
    }
    writeln!(
        out,
        "{} submission{} · seed {} · {}",
        graded.len(),
        if graded.len() == 1 { "" } else { "s" },
        options.seed,
        report::levels_word(&levels)
    )?;
    write!(out, "{}", grade::matrix(&levels, &graded))?;
    let groups = grade::groups(&graded);
    if !groups.is_empty() {
        writeln!(out)?;
        write!(out, "{}", grade::groups_text(&groups))?;
    }
    if let Some(path) = &args.json {
        write_report(path, &grade::json(&levels, options.seed, &graded))?;
    }
    if let Some(path) = &args.csv {
        write_report(path, &grade::csv(&levels, &graded)?)?;
    }
    let codes: Vec<u8> = graded
        .iter()
        .map(|(_, result)| match result {
            Err(PlayError::NotStarted(_)) => report::EXIT_FAILED,
            other => report::exit_code(other),
        })
        .collect();
    Ok(ExitCode::from(if codes.contains(&report::EXIT_INTERNAL) {
        report::EXIT_INTERNAL
    } else {
        codes.into_iter().max().unwrap_or(0)
    }))
}
