//! sockstep: learn how TCP really moves bytes, by running real code over loopback.
//!
//! Modules, each importing only from those listed above it:
//! - [`engine`]: real sockets, the relay that cuts the stream, the runner and its trace.
//! - [`lesson`]: the lesson model: a lesson's page, code and run, and what its runs prove.
//! - [`teaching`]: the naive and correct code each lesson runs and shows, and the
//!   registry of lessons (in teaching order, found by slug or number).
//! - [`render`]: the diagram grid of a run and its text and HTML views.
//! - [`progress`]: the student's saved progress.
//! - [`tui`]: the interactive tutorial.
//! - [`book`]: the mdbook preprocessor that puts diagrams of real runs in the book.
//! - [`cli`]: the command line.

pub mod book;
pub mod cli;
pub mod engine;
pub mod lesson;
pub mod progress;
pub mod render;
pub mod teaching;
pub mod tui;
