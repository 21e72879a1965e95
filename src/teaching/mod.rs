//! The code each lesson runs and shows, and the registry of lessons. Every function
//! here is real socket code; the book and the TUI show it straight from these files,
//! between `ANCHOR` marks.
//!
//! A lesson is one line of `lessons!` below: its module (`src/teaching/MODULE.rs`,
//! which exports `pub const DEMO: Demo`) and its slug (its page is
//! `lessons/SLUG.md`, whose first line `# Title` is its title). See CONTRIBUTING.md,
//! "Writing a lesson".

use crate::lesson::{Lesson, page_title};

// `python_file!(MODULE)`: the module's Python file, written by build.rs from the
// files in src/teaching/python/.
include!(concat!(env!("OUT_DIR"), "/python_files.rs"));

/// Declares each lesson's module and builds `LESSONS` from it, in the order given,
/// with every path derived from the module and the slug.
macro_rules! lessons {
    ($($module:ident: $slug:literal,)+) => {
        $(pub mod $module;)+

        /// Every lesson, in teaching order.
        static LESSONS: &[Lesson] = &[$({
            const PAGE: &str = include_str!(concat!("../../lessons/", $slug, ".md"));
            Lesson::new(
                $slug,
                page_title(
                    PAGE,
                    concat!("lessons/", $slug, ".md must start with its title, as `# Title`"),
                ),
                PAGE,
                include_str!(concat!(stringify!($module), ".rs")),
                concat!("src/teaching/", stringify!($module), ".rs"),
                python_file!($module),
                $module::DEMO,
            )
        }),+];
    };
}

// In teaching order; `lessons/SUMMARY.md` lists them in the same order (a test
// checks it, and writes the list for you: see `summary_lists_the_lessons_in_order`).
lessons! {
    welcome: "welcome",
    peers: "peers",
    flush: "flush",
    partial_send: "partial-send",
    partial_recv: "partial-recv",
    recv_zero: "recv-zero",
    read_to_eof: "read-to-eof",
    no_eot: "no-eot",
    fixed_length: "fixed-length",
    type_byte: "type-byte",
    delimiter: "delimiter",
    leftover: "leftover",
    length_prefix: "length-prefix",
    max_frame: "max-frame",
    errors: "errors",
    protocol: "protocol",
}

/// A lesson that does not exist.
#[derive(Debug, thiserror::Error)]
#[error("no lesson '{0}'; run 'sockstep list'")]
pub struct UnknownLesson(pub String);

/// All lessons, in teaching order.
pub fn all() -> &'static [Lesson] {
    LESSONS
}

/// The lesson with this slug, or this number (1-based), with its number.
pub fn find(query: &str) -> Result<(usize, &'static Lesson), UnknownLesson> {
    let lessons = all();
    let by_number = query
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=lessons.len()).contains(n))
        .map(|n| n - 1);
    by_number
        .or_else(|| lessons.iter().position(|l| l.slug == query))
        .map(|i| (i + 1, &lessons[i]))
        .ok_or_else(|| UnknownLesson(query.to_string()))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::engine::{Mode, Outcome, OutcomeKind, RunOptions, Side};
    use crate::lesson::{Measured, anchor_tag};

    fn repo(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
    }

    /// The file names in `dir` that end in `extension`.
    fn files(dir: &str, extension: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(repo(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(extension))
            .collect();
        names.sort();
        names
    }

    /// The lesson lines of `SUMMARY.md`, as the registry says they must read.
    fn summary_lines() -> Vec<String> {
        all()
            .iter()
            .map(|l| format!("- [{}]({}.md)", l.title, l.slug))
            .collect()
    }

    fn is_lesson_line(line: &str) -> bool {
        line.starts_with("- [") || line.starts_with("* [")
    }

    /// Fails when `lessons/SUMMARY.md` does not list every lesson, by title and
    /// page, in the registry's order. With `SOCKSTEP_WRITE_SUMMARY=1` it writes the
    /// list into the file instead (in place of the lines it had).
    #[test]
    fn summary_lists_the_lessons_in_order() {
        let path = repo("lessons/SUMMARY.md");
        let summary = std::fs::read_to_string(&path).unwrap();
        let listed: Vec<&str> = summary.lines().filter(|l| is_lesson_line(l)).collect();
        let expected = summary_lines();
        if listed == expected {
            return;
        }
        if std::env::var_os("SOCKSTEP_WRITE_SUMMARY").is_some() {
            let lines: Vec<&str> = summary.lines().collect();
            let first = lines.iter().position(|l| is_lesson_line(l));
            let last = lines.iter().rposition(|l| is_lesson_line(l));
            let (before, after) = match (first, last) {
                (Some(first), Some(last)) => (&lines[..first], &lines[last + 1..]),
                _ => (&lines[..], &[][..]),
            };
            let mut text = [
                before,
                &expected.iter().map(String::as_str).collect::<Vec<_>>(),
                after,
            ]
            .concat()
            .join("\n");
            text.push('\n');
            std::fs::write(&path, text).unwrap();
            return;
        }
        panic!(
            "lessons/SUMMARY.md does not list the lessons of src/teaching/mod.rs in order.\n\
             It lists:\n{}\nIt should list:\n{}\n\
             Run `SOCKSTEP_WRITE_SUMMARY=1 cargo test --lib summary` to write that list.",
            listed.join("\n"),
            expected.join("\n")
        );
    }

    /// As rustlings' `dev check`: every page in `lessons/` is a lesson or a chapter
    /// of `SUMMARY.md`, and every file in `src/teaching/` is a lesson's code.
    #[test]
    fn every_page_and_teaching_file_belongs_to_a_lesson() {
        let summary = std::fs::read_to_string(repo("lessons/SUMMARY.md")).unwrap();
        for page in files("lessons", ".md") {
            let slug = page.trim_end_matches(".md");
            assert!(
                page == "SUMMARY.md"
                    || find(slug).is_ok()
                    || summary.contains(&format!("]({page})")),
                "lessons/{page} is neither a lesson in src/teaching/mod.rs nor a chapter of SUMMARY.md"
            );
        }
        for file in files("src/teaching", ".rs") {
            let path = format!("src/teaching/{file}");
            assert!(
                file == "mod.rs" || all().iter().any(|l| l.source_path == path),
                "{path} is not a lesson in src/teaching/mod.rs"
            );
        }
    }

    #[test]
    fn paths_follow_from_the_slug() {
        for lesson in all() {
            let path = format!("src/teaching/{}.rs", lesson.slug.replace('-', "_"));
            assert_eq!(lesson.source_path, path, "{}", lesson.slug);
            assert_eq!(
                std::fs::read_to_string(repo(&path)).unwrap(),
                lesson.source,
                "{path}"
            );
            let page = std::fs::read_to_string(repo(&format!("lessons/{}.md", lesson.slug)));
            assert_eq!(page.unwrap(), lesson.page, "{}", lesson.slug);
        }
    }

    /// A lesson's Python file is `src/teaching/python/MODULE.py`, embedded as it is
    /// on disk; every file there is a lesson's, with the parts sockstep runs.
    #[test]
    fn python_files_follow_from_the_module_and_are_embedded() {
        for lesson in all() {
            let path = lesson.python_path();
            match lesson.python {
                Some(file) => {
                    assert_eq!(file.path, path);
                    assert_eq!(std::fs::read_to_string(repo(&path)).unwrap(), file.source);
                    for tag in ["naive", "correct"] {
                        let anchor = format!("# ANCHOR: {tag}");
                        assert!(file.source.contains(&anchor), "{path} has no {anchor}");
                    }
                    assert!(file.source.contains("\nPARTS = {"), "{path} names no PARTS");
                }
                None => assert!(!repo(&path).exists(), "{path} is not embedded"),
            }
        }
        for file in files("src/teaching/python", ".py") {
            let path = format!("src/teaching/python/{file}");
            assert!(
                all().iter().any(|l| l.python_path() == path),
                "{path} is not a lesson's: its name must be a module of src/teaching/mod.rs"
            );
        }
    }

    #[test]
    fn a_python_side_s_code_is_its_anchor_with_the_py_file_line_numbers() {
        let (_, lesson) = find("length-prefix").unwrap();
        let naive = lesson.side_code_in(crate::lesson::Lang::Python, Side::Naive);
        assert_eq!(naive.first(), Some(&(39, "def naive(sock):")));
        assert_eq!(naive.last(), Some(&(48, "        yield body")));
        assert!(naive.contains(&(
            40 + 1,
            "        prefix = sock.recv(PREFIX_LEN)  # assumes all five digits come in one recv()"
        )));
        for lang in crate::lesson::Lang::ALL {
            let source: Vec<&str> = lesson.source_in(lang).unwrap().lines().collect();
            for side in Side::BOTH {
                let code = lesson.side_code_in(lang, side);
                assert!(!code.is_empty(), "{} {side:?}", lang.name());
                for (number, text) in code {
                    assert_eq!(source[number as usize - 1], text);
                    assert!(!text.contains("ANCHOR"), "{text}");
                }
            }
        }
        assert_eq!(
            lesson.side_code_in(crate::lesson::Lang::Rust, Side::Correct),
            lesson.side_code(Side::Correct)
        );
    }

    #[test]
    fn a_page_includes_the_python_file_by_anchor_too() {
        let (_, lesson) = find("length-prefix").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pages = dir.path().join("lessons");
        std::fs::create_dir_all(&pages).unwrap();
        std::fs::write(
            pages.join("length-prefix.md"),
            "# Draft\n```python\n{{#include ../src/teaching/python/length_prefix.py:naive}}\n```\n",
        )
        .unwrap();
        let page = lesson.page_text(Some(&pages)).unwrap();
        assert!(page.contains("def naive(sock):\n"), "{page}");
        assert!(
            !page.contains("missing") && !page.contains("ANCHOR"),
            "{page}"
        );
    }

    #[test]
    fn the_code_shown_holds_the_helpers_the_run_is_in_but_never_the_other_side() {
        let (_, lesson) = find("length-prefix").unwrap();
        let python = crate::lesson::Lang::Python;
        let numbers = |at: &[u32]| -> Vec<u32> {
            let code = lesson.code_at(python, Side::Naive, at);
            code.iter().map(|(n, _)| *n).collect()
        };
        let naive: Vec<u32> = numbers(&[]);
        assert_eq!(naive, (39..=48).collect::<Vec<_>>());
        // At send()'s line 12 and in recv_all()'s line 30: both helpers, in file order.
        let with_helpers = numbers(&[12, 30, 41]);
        assert_eq!(with_helpers.first(), Some(&8), "{with_helpers:?}");
        for line in [12, 13, 26, 30, 34, 39, 48] {
            assert!(with_helpers.contains(&line), "{line} in {with_helpers:?}");
        }
        assert!(with_helpers.is_sorted());
        // A line of the correct side's code, or of no anchor, adds nothing.
        assert_eq!(numbers(&[55, 1]), naive);
    }

    #[test]
    fn finds_by_slug_and_by_number() {
        let (number, lesson) = find("length-prefix").unwrap();
        assert_eq!(find(&number.to_string()).unwrap().1.slug, lesson.slug);
        assert_eq!(find("1").unwrap().0, 1);
    }

    #[test]
    fn unknown_lesson_names_itself_and_the_way_out() {
        let err = find("xyz").err().unwrap();
        assert_eq!(err.to_string(), "no lesson 'xyz'; run 'sockstep list'");
        assert!(find("0").is_err());
        assert!(find("999").is_err());
    }

    #[test]
    fn every_lesson_shows_its_naive_and_correct_code() {
        for lesson in all() {
            for side in Side::BOTH {
                let code = lesson.anchor(anchor_tag(side)).unwrap_or_default();
                assert!(
                    code.contains("fn "),
                    "{} has no {side:?} anchor",
                    lesson.slug
                );
            }
        }
    }

    #[test]
    fn check_reports_each_seed_where_a_claim_breaks() {
        let real = find("partial-recv").unwrap().1;
        // The same code, with a false claim: that the naive side delivers.
        let false_claim = Lesson {
            teaches: OutcomeKind::Delivered,
            ..*real
        };
        let broken = false_claim.check(3, |_| {}).unwrap();
        assert_eq!(broken.iter().map(|b| b.seed).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(broken.iter().all(|b| b.side == Side::Naive));
        let text = broken[0].to_string();
        assert!(
            text.starts_with("seed 1: the naive side should be delivered but was wrong"),
            "{text}"
        );
        assert!(real.check(3, |_| {}).unwrap().is_empty());
    }

    #[test]
    fn a_lucky_naive_side_breaks_only_lockstep() {
        let lesson = find("partial-recv").unwrap().1;
        let mut trace = lesson.run(RunOptions::default()).unwrap();
        trace.naive.outcome = Outcome::Delivered {
            messages: 1,
            reports: 0,
        };
        for (mode, broken) in [(Mode::Lockstep, 1), (Mode::FreeRun, 0), (Mode::Direct, 0)] {
            let mut measured = Measured::new(mode);
            measured.add(lesson.teaches, 5_000, &trace);
            assert_eq!(measured.naive_lucky, 1);
            assert_eq!(measured.broken.len(), broken, "{mode:?}");
        }
    }

    #[test]
    fn pages_show_the_code_that_runs() {
        for lesson in all() {
            let page = lesson.builtin_page_text();
            assert!(!page.contains("{{#include"), "{}", lesson.slug);
            assert!(!page.contains("(missing:"), "{}: {page}", lesson.slug);
            for side in Side::BOTH {
                let code = lesson.anchor(anchor_tag(side)).unwrap();
                assert!(
                    page.contains(code.trim_end()),
                    "{} shows its {side:?} code",
                    lesson.slug
                );
            }
            assert!(
                page.contains("```sockstep"),
                "{} has a run diagram",
                lesson.slug
            );
        }
    }

    #[test]
    fn every_page_has_three_hints_in_order() {
        for lesson in all() {
            let hints = crate::lesson::hints::parse(lesson.page)
                .unwrap_or_else(|error| panic!("lessons/{}.md: {error}", lesson.slug));
            let titles: Vec<&str> = hints.iter().map(|hint| hint.title.as_str()).collect();
            assert_eq!(titles, crate::lesson::hints::TITLES, "{}", lesson.slug);
        }
    }

    #[test]
    fn slugs_are_unique() {
        let mut slugs: Vec<_> = all().iter().map(|l| l.slug).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), all().len());
    }
}
