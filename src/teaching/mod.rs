//! The code each lesson runs and shows. Every function here is real socket code;
//! the book and the TUI show it straight from these files, between `ANCHOR` marks.
//!
//! Each lesson is one module exporting `LESSON`; `LESSONS` lists them in teaching order.

// Modules, one per lesson (alphabetical).
pub mod length_prefix;
pub mod partial_recv;
pub mod recv_zero;

use crate::lesson::Lesson;

/// Every lesson, in teaching order.
pub static LESSONS: &[Lesson] = &[
    // 1 welcome
    // 2 peers
    // 3 flush
    // 4 partial-send
    partial_recv::LESSON,
    recv_zero::LESSON,
    // 7 read-to-eof
    // 8 no-eot
    // 9 fixed-length
    // 10 type-byte
    // 11 delimiter
    // 12 leftover
    length_prefix::LESSON,
    // 14 max-frame
    // 15 errors
    // 16 protocol
];
