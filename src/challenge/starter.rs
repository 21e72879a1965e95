//! Skeleton servers for `--starter`: the accept loop and the port, framing left to the
//! learner. (Stub: the extras helper writes them; the signature is the contract.)

use super::level::Level;

/// The languages a starter exists in.
pub const LANGUAGES: [&str; 3] = ["python", "rust", "c"];

/// The starter server for `level` in `language`, or `None` for an unknown language.
pub fn starter(language: &str, level: &Level) -> Option<String> {
    let _ = level;
    LANGUAGES.contains(&language).then(String::new)
}
