//! The levels as data: each one's name (a lesson slug), the lesson it practises, and
//! its protocol. (Stub: the attack helper fills in the protocol, `spec()` and the
//! seeded schedules; the names, order and summaries below are the contract.)

/// One level of the challenge.
#[derive(Debug)]
pub struct Level {
    /// The level's name: the slug of the lesson it practises.
    pub id: &'static str,
    /// One line: what each request is, for `--list`.
    pub summary: &'static str,
}

impl Level {
    /// The lesson it practises (`sockstep tui LESSON`).
    pub fn lesson(&self) -> &'static str {
        self.id
    }

    /// The protocol, exactly, for `--spec`.
    pub fn spec(&self) -> String {
        format!("{}: {}\n", self.id, self.summary)
    }
}

const LEVELS: &[Level] = &[
    Level {
        id: "fixed-length",
        summary: "exactly 10 bytes; reply: the 10 bytes reversed",
    },
    Level {
        id: "delimiter",
        summary: "a line ending in \\n; reply: the line reversed, then \\n",
    },
    Level {
        id: "leftover",
        summary: "as delimiter, many lines per write, lines split across writes",
    },
    Level {
        id: "length-prefix",
        summary: "5 ASCII digits, then that many bytes; reply: same framing, reversed",
    },
    Level {
        id: "type-byte",
        summary: "P, T + 8 bytes or N + 20 bytes; reply: the type, the body reversed",
    },
    Level {
        id: "max-frame",
        summary: "a 4-byte big-endian length, at most 65,536; close on a longer one",
    },
    Level {
        id: "recv-zero",
        summary: "length-prefix; the client closes, once mid-message: close too",
    },
    Level {
        id: "read-to-eof",
        summary: "any bytes, then the client half-closes; reply: all of them reversed",
    },
    Level {
        id: "partial-send",
        summary: "length-prefix, one 99,999-byte request read back slowly",
    },
    Level {
        id: "errors",
        summary: "length-prefix; clients reset and leave early: survive, serve the next",
    },
];

/// Every level, in the order `all` plays them.
pub fn levels() -> &'static [Level] {
    LEVELS
}

/// The level named `id`.
pub fn find(id: &str) -> Option<&'static Level> {
    LEVELS.iter().find(|level| level.id == id)
}
