//! The code each lesson runs and shows. Every function here is real socket code;
//! the book and the TUI show it straight from these files, between `ANCHOR` marks.

pub mod length_prefix;
pub mod partial_recv;
pub mod recv_zero;

use crate::engine::{OutcomeKind, Program};
use crate::lesson::Lesson;

/// Every lesson, in teaching order.
pub static LESSONS: &[Lesson] = &[
    Lesson {
        slug: "partial-recv",
        title: "A read returns what has arrived, not a message",
        page: include_str!("../../lessons/partial-recv.md"),
        source: include_str!("partial_recv.rs"),
        source_path: "src/teaching/partial_recv.rs",
        scenario: partial_recv::scenario,
        naive: Program {
            send: partial_recv::send,
            recv: partial_recv::naive,
        },
        correct: Program {
            send: partial_recv::send,
            recv: partial_recv::correct,
        },
        teaches: OutcomeKind::Wrong,
    },
    Lesson {
        slug: "recv-zero",
        title: "recv() returning 0 means the peer closed",
        page: include_str!("../../lessons/recv-zero.md"),
        source: include_str!("recv_zero.rs"),
        source_path: "src/teaching/recv_zero.rs",
        scenario: recv_zero::scenario,
        naive: Program {
            send: recv_zero::send,
            recv: recv_zero::naive,
        },
        correct: Program {
            send: recv_zero::send,
            recv: recv_zero::correct,
        },
        teaches: OutcomeKind::Spinning,
    },
    Lesson {
        slug: "length-prefix",
        title: "A length prefix can arrive split",
        page: include_str!("../../lessons/length-prefix.md"),
        source: include_str!("length_prefix.rs"),
        source_path: "src/teaching/length_prefix.rs",
        scenario: length_prefix::scenario,
        naive: Program {
            send: length_prefix::send,
            recv: length_prefix::naive,
        },
        correct: Program {
            send: length_prefix::send,
            recv: length_prefix::correct,
        },
        teaches: OutcomeKind::Wrong,
    },
];
