//! The code each lesson runs and shows. Every function here is real socket code;
//! the book and the TUI show it straight from these files, between `ANCHOR` marks.
//!
//! Each lesson is one module exporting `LESSON`; `LESSONS` lists them in teaching order.

// Modules, one per lesson (alphabetical).
pub mod delimiter;
pub mod errors;
pub mod fixed_length;
pub mod flush;
pub mod leftover;
pub mod length_prefix;
pub mod max_frame;
pub mod no_eot;
pub mod partial_recv;
pub mod partial_send;
pub mod peers;
pub mod protocol;
pub mod read_to_eof;
pub mod recv_zero;
pub mod type_byte;
pub mod welcome;

use crate::lesson::Lesson;

/// Every lesson, in teaching order.
pub static LESSONS: &[Lesson] = &[
    welcome::LESSON,
    peers::LESSON,
    flush::LESSON,
    partial_send::LESSON,
    partial_recv::LESSON,
    recv_zero::LESSON,
    read_to_eof::LESSON,
    no_eot::LESSON,
    fixed_length::LESSON,
    type_byte::LESSON,
    delimiter::LESSON,
    leftover::LESSON,
    length_prefix::LESSON,
    max_frame::LESSON,
    errors::LESSON,
    protocol::LESSON,
];
