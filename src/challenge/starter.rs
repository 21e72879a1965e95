//! Skeleton servers for `--starter`: the port, the listening socket and the accept
//! loop, with a marked `handle()` the learner fills in; the framing is theirs. The
//! skeletons live in `assets/starters/`, embedded, with `@LEVEL@` and `@SUMMARY@`
//! filled in from the level.

use super::level::Level;

/// The languages a starter exists in.
pub const LANGUAGES: [&str; 3] = ["python", "rust", "c"];

/// The skeletons, in the order of [`LANGUAGES`].
const SKELETONS: [&str; 3] = [
    include_str!("../../assets/starters/python.py"),
    include_str!("../../assets/starters/rust.rs"),
    include_str!("../../assets/starters/c.c"),
];

/// The starter server for `level` in `language`, or `None` for an unknown language.
pub fn starter(language: &str, level: &Level) -> Option<String> {
    let at = LANGUAGES.iter().position(|&known| known == language)?;
    // The summary goes into a comment: keep it from ending a C comment early.
    let summary = level.summary.replace("*/", "* /");
    Some(
        SKELETONS[at]
            .replace("@LEVEL@", level.id)
            .replace("@SUMMARY@", &summary),
    )
}

/// The name a starter in `language` is saved as, the one its comments run.
pub fn file_name(language: &str) -> Option<&'static str> {
    let at = LANGUAGES.iter().position(|&known| known == language)?;
    Some(["server.py", "server.rs", "server.c"][at])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::level;

    #[test]
    fn every_starter_names_its_level_and_how_to_run_it() {
        for level in level::levels() {
            for language in LANGUAGES {
                let text = starter(language, level).unwrap();
                assert!(!text.contains('@'), "{language}: a marker left in:\n{text}");
                assert!(text.contains(level.summary), "{language} {}", level.id);
                let spec = format!("sockstep challenge {} --spec", level.id);
                let run = format!("sockstep challenge {} -- ", level.id);
                assert!(text.contains(&spec) && text.contains(&run), "{language}");
                assert!(text.contains(file_name(language).unwrap()), "{language}");
            }
        }
    }

    #[test]
    fn an_unknown_language_has_no_starter() {
        assert_eq!(starter("cobol", &level::levels()[0]), None);
        assert_eq!(file_name("cobol"), None);
    }
}
