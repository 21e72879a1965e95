//! The lesson model: what a lesson is, and finding one by slug or number.

use crate::engine::{
    self, EngineError, OutcomeKind, Program, RunHandle, RunOptions, Scenario, Trace,
};

/// One lesson: its page, its teaching code, and the run that demonstrates it.
pub struct Lesson {
    /// Stable name used on the command line and in URLs.
    pub slug: &'static str,
    pub title: &'static str,
    /// The page's markdown (also the book's source).
    pub page: &'static str,
    /// The teaching source file, as shown on screen.
    pub source: &'static str,
    /// Where that file lives in the repository.
    pub source_path: &'static str,
    pub scenario: fn() -> Scenario,
    pub naive: Program,
    pub correct: Program,
    /// The failure the naive side shows; the correct side always delivers.
    pub teaches: OutcomeKind,
}

impl Lesson {
    /// Runs the lesson's scenario, naive and correct side by side.
    pub fn run(&self, options: RunOptions) -> Result<Trace, EngineError> {
        engine::run(
            self.slug,
            &(self.scenario)(),
            self.naive,
            self.correct,
            options,
        )
    }

    /// Starts the run and returns at once, for a caller that steps or watches it.
    pub fn start(&self, options: RunOptions) -> Result<RunHandle, EngineError> {
        engine::start(
            self.slug,
            &(self.scenario)(),
            self.naive,
            self.correct,
            options,
        )
    }

    /// The lines of the teaching source between `ANCHOR: name` and `ANCHOR_END: name`.
    pub fn anchor(&self, name: &str) -> Option<String> {
        anchor(self.source, name)
    }
}

/// The text between mdbook's `ANCHOR: name` and `ANCHOR_END: name` lines, without
/// any other anchor lines inside it.
pub fn anchor(source: &str, name: &str) -> Option<String> {
    let start = format!("ANCHOR: {name}");
    let end = format!("ANCHOR_END: {name}");
    let mut lines = source.lines();
    lines.find(|line| line.trim_start().starts_with("//") && line.contains(&start))?;
    let mut text = String::new();
    for line in lines {
        if line.contains(&end) {
            return Some(text);
        }
        if !line.contains("ANCHOR") {
            text.push_str(line);
            text.push('\n');
        }
    }
    None
}

/// A lesson that does not exist.
#[derive(Debug, thiserror::Error)]
#[error("no lesson '{0}'; run 'sockstep list'")]
pub struct UnknownLesson(pub String);

/// All lessons, in order.
pub fn all() -> &'static [Lesson] {
    crate::teaching::LESSONS
}

/// The lesson with this slug, or this number (1-based).
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
    use super::*;

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
            for name in ["naive", "correct"] {
                let code = lesson.anchor(name).unwrap_or_default();
                assert!(code.contains("fn "), "{} has no {name} anchor", lesson.slug);
            }
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
