//! The command line: the subcommands (`Command`), each one's options, and what it does.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use serde::Serialize;

use crate::engine::{Mode, OutcomeKind, RunOptions, Side, Trace};
use std::path::PathBuf;

use crate::lesson::{Lang, Lesson, Measured, RunError};
use crate::progress::{self, Progress};
use crate::render::text::{self, TextOptions};
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
        /// Stream bytes per diagram line.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(8..=4096))]
        width: u16,
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

impl clap::ValueEnum for Mode {
    fn value_variants<'a>() -> &'a [Self] {
        &Mode::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.describe()))
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
        None if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => {
            tui(cli.lessons, None, None, Mode::Lockstep, None)
        }
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
        }) => tui(
            cli.lessons,
            lesson.as_deref(),
            seed,
            chosen_mode(mode, free_run),
            lang,
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
        Some(Command::Completions { shell }) => {
            // clap_complete panics on a failed write: write the finished script ourselves.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "sockstep", &mut script);
            out.write_all(&script)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man { dir }) => man(dir, out),
        Some(Command::Run {
            lesson,
            seed,
            mode,
            free_run,
            lang,
            json,
            calls,
            width,
        }) => run(
            &lesson,
            RunOptions {
                seed,
                mode: chosen_mode(mode, free_run),
                ..RunOptions::default()
            },
            lang,
            json,
            calls,
            width.into(),
            out,
        ),
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

fn tui(
    pages: Option<PathBuf>,
    lesson: Option<&str>,
    seed: Option<u64>,
    mode: Mode,
    lang: Option<Lang>,
) -> anyhow::Result<ExitCode> {
    let start = lesson
        .map(teaching::find)
        .transpose()?
        .map(|(number, _)| number - 1);
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
            color: palette.has_color(),
            progress_path,
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
        writeln!(out, "  {mark} {:>2} {}", i + 1, lesson.slug)?;
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

fn run(
    query: &str,
    options: RunOptions,
    lang: Lang,
    json: bool,
    calls: bool,
    width: usize,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let (number, lesson) = teaching::find(query)?;
    let trace = lesson
        .run_in(lang, options)
        .map_err(|e| run_failed(lesson, e))?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &trace)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let color = use_color();
    writeln!(out, "{}", header(number, lesson, &trace))?;
    writeln!(
        out,
        "{}",
        text::diagram(
            &trace,
            TextOptions {
                color,
                bytes_per_line: width,
            }
        )
    )?;
    if calls {
        for side in Side::BOTH {
            writeln!(out, "  {} calls:", side.name())?;
            write!(out, "{}", text::timeline(trace.side(side)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn header(number: usize, lesson: &Lesson, trace: &Trace) -> String {
    // Rust is the default: only another language is named.
    let language = match trace.language.as_str() {
        "rust" => String::new(),
        other => format!(" · {other}"),
    };
    format!(
        "{number} {} — {}\nseed {} · {}{language} · {} message{} · {} bytes · {} cut{}",
        lesson.slug,
        lesson.title,
        trace.seed,
        trace.mode.name(),
        trace.messages.len(),
        if trace.messages.len() == 1 { "" } else { "s" },
        trace.stream.len(),
        trace.cuts.len(),
        if trace.cuts.len() == 1 { "" } else { "s" },
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
