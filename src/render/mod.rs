//! Views of a run that are not the TUI: the shared diagram grid, and its text and
//! HTML renderings; and the run as steps, for `run --upto K` and the book's player.

pub mod diagram;
pub mod html;
pub mod path;
pub mod steps;
pub mod text;
