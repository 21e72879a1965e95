//! The code each lesson runs and shows. Every function here is real socket code;
//! the book and the TUI show it straight from these files, between `ANCHOR` marks.
//!
//! Each lesson is one module exporting `LESSON`; `LESSONS` lists them in teaching order.

// Modules, one per lesson (alphabetical).
pub mod delimiter;
pub mod fixed_length;
pub mod leftover;
pub mod length_prefix;
pub mod max_frame;
pub mod no_eot;
pub mod partial_recv;
pub mod protocol;
pub mod recv_zero;
pub mod type_byte;
pub mod welcome;

use crate::lesson::Lesson;

/// Every lesson, in teaching order.
pub static LESSONS: &[Lesson] = &[
    welcome::LESSON,
    // 2 peers
    // 3 flush
    // 4 partial-send
    partial_recv::LESSON,
    recv_zero::LESSON,
    // 7 read-to-eof
    no_eot::LESSON,
    fixed_length::LESSON,
    type_byte::LESSON,
    delimiter::LESSON,
    leftover::LESSON,
    length_prefix::LESSON,
    max_frame::LESSON,
    // 15 errors
    protocol::LESSON,
];
