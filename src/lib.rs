//! sockstep: learn how TCP really moves bytes, by running real code over loopback.
//!
//! - [`engine`]: real sockets, the relay that cuts the stream, the runner and its trace.
//! - [`lesson`]: the lesson model and the registry of lessons.
//! - [`teaching`]: the naive and correct code each lesson runs and shows.
//! - [`render`]: text views of a run, for the headless commands.
//! - [`cli`]: the command line.

pub mod book;
pub mod cli;
pub mod engine;
pub mod lesson;
pub mod progress;
pub mod render;
pub mod teaching;
pub mod tui;
