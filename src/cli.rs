//! The command line: `list`, `run`, `check`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::engine::{Mode, OutcomeKind, RunOptions, Side, Trace};
use std::path::PathBuf;

use crate::lesson::{self, Lesson, UnknownLesson};
use crate::progress::{self, Progress};
use crate::render::text::{self, TextOptions};
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
        sockstep run 2 --free-run --calls\n  sockstep check"
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
        /// Start in free-run mode.
        #[arg(long)]
        free_run: bool,
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
        /// Let the kernel decide how reads split (not reproducible).
        #[arg(long)]
        free_run: bool,
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
    /// For each seed, in lockstep, the naive side must fail the way its lesson says
    /// and the correct side must deliver every message.
    Check {
        /// Only this lesson, by slug or number.
        lesson: Option<String>,
        /// How many seeds to try (1 to N).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        seeds: u64,
    },
}

#[derive(Subcommand, Debug)]
enum MdbookAction {
    /// Exit 0 if the preprocessor can serve this renderer (html, markdown).
    Supports { renderer: String },
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    quiet_teaching_panics();
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            // The reader of our output went away (`sockstep run … | head`): not an error.
            if error
                .root_cause()
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            if let Some(unknown) = error.downcast_ref::<UnknownLesson>() {
                eprintln!("error: {unknown}");
                return ExitCode::from(2);
            }
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
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

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &cli.lessons
        && !dir.is_dir()
    {
        anyhow::bail!("--lessons {}: no such folder", dir.display());
    }
    match cli.command {
        None if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => {
            tui(cli.lessons, None, None, false)
        }
        None => {
            print_hint();
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Tui {
            lesson,
            seed,
            free_run,
        }) => tui(cli.lessons, lesson.as_deref(), seed, free_run),
        Some(Command::Progress { reset }) => progress(reset),
        Some(Command::Mdbook { action: None }) => {
            crate::book::run_preprocessor(std::io::stdin().lock(), std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Mdbook {
            action: Some(MdbookAction::Supports { renderer }),
        }) => Ok(if matches!(renderer.as_str(), "html" | "markdown") {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }),
        Some(Command::List { json }) => list(json),
        Some(Command::Run {
            lesson,
            seed,
            free_run,
            json,
            calls,
            width,
        }) => run(&lesson, seed, free_run, json, calls, width.into()),
        Some(Command::Check { lesson, seeds }) => check(lesson.as_deref(), seeds),
    }
}

fn tui(
    pages: Option<PathBuf>,
    lesson: Option<&str>,
    seed: Option<u64>,
    free_run: bool,
) -> anyhow::Result<ExitCode> {
    let start = lesson
        .map(lesson::find)
        .transpose()?
        .map(|(number, _)| number - 1);
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
            eprintln!("warning: {error}; progress will not be saved");
            None
        }
    };
    let ending = crate::tui::run(
        AppConfig {
            lessons: lesson::all(),
            pages_dir: pages,
            start,
            seed,
            mode: if free_run {
                Mode::FreeRun
            } else {
                Mode::Lockstep
            },
            color: palette.has_color(),
            progress_path,
        },
        palette,
    )?;
    Ok(ExitCode::from(ending.exit_status()))
}

fn progress(reset: bool) -> anyhow::Result<ExitCode> {
    let path = progress::path()?;
    if reset {
        Progress::reset(&path)?;
        println!("progress cleared ({})", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let saved = Progress::load(&path)?;
    let lessons = lesson::all();
    let done = lessons
        .iter()
        .filter(|l| saved.completed.contains(l.slug))
        .count();
    println!(
        "{done} of {} lessons completed ({})",
        lessons.len(),
        path.display()
    );
    for (i, lesson) in lessons.iter().enumerate() {
        let mark = if saved.completed.contains(lesson.slug) {
            "✓"
        } else {
            " "
        };
        println!("  {mark} {:>2} {}", i + 1, lesson.slug);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_hint() {
    println!(
        "sockstep: learn how TCP really moves bytes.\n\n\
         Run it in a terminal for the interactive tutorial, or try:\n  \
         sockstep list                    the lessons\n  \
         sockstep run length-prefix       run one and see the bytes\n  \
         sockstep check                   prove every lesson's claim\n  \
         sockstep --help                  everything else"
    );
}

/// Colour on a terminal, unless NO_COLOR is set to anything non-empty.
fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[derive(Serialize)]
struct ListedLesson<'a> {
    number: usize,
    slug: &'a str,
    title: &'a str,
    teaches: OutcomeKind,
}

fn list(json: bool) -> anyhow::Result<ExitCode> {
    let lessons: Vec<ListedLesson> = lesson::all()
        .iter()
        .enumerate()
        .map(|(i, l)| ListedLesson {
            number: i + 1,
            slug: l.slug,
            title: l.title,
            teaches: l.teaches,
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &lessons)?;
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
    seed: u64,
    free_run: bool,
    json: bool,
    calls: bool,
    width: usize,
) -> anyhow::Result<ExitCode> {
    let (number, lesson) = lesson::find(query)?;
    let mode = if free_run {
        Mode::FreeRun
    } else {
        Mode::Lockstep
    };
    let trace = lesson
        .run(RunOptions {
            seed,
            mode,
            ..RunOptions::default()
        })
        .with_context(|| format!("running lesson '{}'", lesson.slug))?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &trace)?;
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
    format!(
        "{number} {} — {}\nseed {} · {} · {} message{} · {} bytes · {} cut{}",
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

fn check(query: Option<&str>, seeds: u64) -> anyhow::Result<ExitCode> {
    let lessons: Vec<(usize, &Lesson)> = match query {
        Some(query) => vec![lesson::find(query)?],
        None => lesson::all()
            .iter()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .collect(),
    };
    let progress = std::io::stderr().is_terminal();
    let mut failed = 0;
    let mut out = std::io::stdout().lock();
    for (number, lesson) in &lessons {
        let failures = lesson
            .check(seeds, |seed| {
                if progress {
                    eprint!("\r  checking {} seed {seed}/{seeds}…\x1b[K", lesson.slug);
                }
            })
            .with_context(|| format!("running lesson '{}'", lesson.slug))?;
        if progress {
            eprint!("\r\x1b[K");
        }
        if failures.is_empty() {
            writeln!(
                out,
                "✓ {number:>2} {:<16} naive {} and correct delivered, on all {seeds} seeds",
                lesson.slug, lesson.teaches
            )?;
        } else {
            failed += 1;
            writeln!(
                out,
                "✗ {number:>2} {:<16} {} of {seeds} seeds break the lesson's claim",
                lesson.slug,
                failures
                    .iter()
                    .map(|f| f.seed)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
            )?;
            for failure in failures.iter().take(5) {
                writeln!(out, "       {failure}")?;
            }
        }
    }
    writeln!(
        out,
        "{} of {} lesson{} hold{} on {seeds} seed{}",
        lessons.len() - failed,
        lessons.len(),
        if lessons.len() == 1 { "" } else { "s" },
        if lessons.len() - failed == 1 { "s" } else { "" },
        if seeds == 1 { "" } else { "s" },
    )?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
