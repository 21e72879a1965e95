//! Views of a run that are not the TUI: the shared diagram grid, and its text and
//! HTML renderings.

pub mod diagram;
pub mod html;
pub mod steps;
pub mod text;
