//! Names for I/O failures: the stable name of each error kind, as traces and
//! outcomes record it, and the reports a receiver hands the application when the
//! connection fails (`Inbox::report`), which scenarios list among their messages.

use std::io;

/// A stable, readable name for an I/O error kind ("connection-reset", "broken-pipe").
/// Spelled out kind by kind, so that no change in how std prints a kind can change
/// what a trace records or which report a scenario expects.
pub fn error_kind_name(kind: io::ErrorKind) -> &'static str {
    use io::ErrorKind as K;
    match kind {
        K::NotFound => "not-found",
        K::PermissionDenied => "permission-denied",
        K::ConnectionRefused => "connection-refused",
        K::ConnectionReset => "connection-reset",
        K::HostUnreachable => "host-unreachable",
        K::NetworkUnreachable => "network-unreachable",
        K::ConnectionAborted => "connection-aborted",
        K::NotConnected => "not-connected",
        K::AddrInUse => "addr-in-use",
        K::AddrNotAvailable => "addr-not-available",
        K::NetworkDown => "network-down",
        K::BrokenPipe => "broken-pipe",
        K::AlreadyExists => "already-exists",
        K::WouldBlock => "would-block",
        K::NotADirectory => "not-a-directory",
        K::IsADirectory => "is-a-directory",
        K::DirectoryNotEmpty => "directory-not-empty",
        K::ReadOnlyFilesystem => "read-only-filesystem",
        K::StaleNetworkFileHandle => "stale-network-file-handle",
        K::InvalidInput => "invalid-input",
        K::InvalidData => "invalid-data",
        K::TimedOut => "timed-out",
        K::WriteZero => "write-zero",
        K::StorageFull => "storage-full",
        K::NotSeekable => "not-seekable",
        K::QuotaExceeded => "quota-exceeded",
        K::FileTooLarge => "file-too-large",
        K::ResourceBusy => "resource-busy",
        K::ExecutableFileBusy => "executable-file-busy",
        K::Deadlock => "deadlock",
        K::CrossesDevices => "crosses-devices",
        K::TooManyLinks => "too-many-links",
        K::InvalidFilename => "invalid-filename",
        K::ArgumentListTooLong => "argument-list-too-long",
        K::Interrupted => "interrupted",
        K::Unsupported => "unsupported",
        K::UnexpectedEof => "unexpected-eof",
        K::OutOfMemory => "out-of-memory",
        K::Other => "other",
        // std's own catch-all for system errors it does not classify, and any kind a
        // later std adds.
        _ => "uncategorized",
    }
}

/// How a teaching program failed, by name: an I/O error's kind name
/// (`error_kind_name`), or what code in another language raised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub error: String,
    pub message: String,
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure {
            error: error_kind_name(error.kind()).to_string(),
            message: error.to_string(),
        }
    }
}

/// A failure a scenario can expect the receiver to report: how connections fail,
/// and how a stream can break its framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Report {
    ConnectionReset,
    ConnectionAborted,
    ConnectionRefused,
    BrokenPipe,
    NotConnected,
    /// A read timeout: `WouldBlock` on Unix, `TimedOut` on Windows.
    TimedOut,
    UnexpectedEof,
    InvalidData,
    WriteZero,
}

impl Report {
    pub const ALL: [Report; 9] = [
        Report::ConnectionReset,
        Report::ConnectionAborted,
        Report::ConnectionRefused,
        Report::BrokenPipe,
        Report::NotConnected,
        Report::TimedOut,
        Report::UnexpectedEof,
        Report::InvalidData,
        Report::WriteZero,
    ];

    /// The report for an error of this kind, if it is one a scenario can expect.
    pub fn of(kind: io::ErrorKind) -> Option<Report> {
        use io::ErrorKind as K;
        Some(match kind {
            K::ConnectionReset => Report::ConnectionReset,
            K::ConnectionAborted => Report::ConnectionAborted,
            K::ConnectionRefused => Report::ConnectionRefused,
            K::BrokenPipe => Report::BrokenPipe,
            K::NotConnected => Report::NotConnected,
            K::WouldBlock | K::TimedOut => Report::TimedOut,
            K::UnexpectedEof => Report::UnexpectedEof,
            K::InvalidData => Report::InvalidData,
            K::WriteZero => Report::WriteZero,
            _ => return None,
        })
    }

    /// The error kind this report names.
    pub fn kind(self) -> io::ErrorKind {
        use io::ErrorKind as K;
        match self {
            Report::ConnectionReset => K::ConnectionReset,
            Report::ConnectionAborted => K::ConnectionAborted,
            Report::ConnectionRefused => K::ConnectionRefused,
            Report::BrokenPipe => K::BrokenPipe,
            Report::NotConnected => K::NotConnected,
            Report::TimedOut => K::TimedOut,
            Report::UnexpectedEof => K::UnexpectedEof,
            Report::InvalidData => K::InvalidData,
            Report::WriteZero => K::WriteZero,
        }
    }

    /// The bytes the application is handed: `<connection-reset>`, `<timed-out>`...
    pub fn message(self) -> Vec<u8> {
        bracketed(self.kind())
    }

    /// The report these bytes are, or `None` for data.
    pub fn parse(message: &[u8]) -> Option<Report> {
        if message.first() != Some(&b'<') {
            return None;
        }
        Report::ALL.into_iter().find(|r| r.message() == message)
    }
}

fn bracketed(kind: io::ErrorKind) -> Vec<u8> {
    format!("<{}>", error_kind_name(kind)).into_bytes()
}

/// What `Inbox::report` hands the application for an error of this kind: the
/// `Report`'s message for the kinds a scenario can expect, and the same `<name>`
/// form for any other kind (which then never matches an expected report).
pub fn report(kind: io::ErrorKind) -> Vec<u8> {
    Report::of(kind).map_or_else(|| bracketed(kind), Report::message)
}

/// True if `message` is a report a scenario can list (see `report`), not data.
pub fn is_report(message: &[u8]) -> bool {
    Report::parse(message).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind as K;

    /// The names traces recorded before they were spelled out (then derived from
    /// `Debug`): every kind a socket call, a lesson or a test can meet.
    #[test]
    fn the_names_of_error_kinds_are_the_ones_traces_have_always_recorded() {
        let names = [
            (K::ConnectionReset, "connection-reset"),
            (K::ConnectionAborted, "connection-aborted"),
            (K::ConnectionRefused, "connection-refused"),
            (K::BrokenPipe, "broken-pipe"),
            (K::NotConnected, "not-connected"),
            (K::TimedOut, "timed-out"),
            (K::WouldBlock, "would-block"),
            (K::Interrupted, "interrupted"),
            (K::UnexpectedEof, "unexpected-eof"),
            (K::InvalidData, "invalid-data"),
            (K::InvalidInput, "invalid-input"),
            (K::WriteZero, "write-zero"),
            (K::AddrInUse, "addr-in-use"),
            (K::AddrNotAvailable, "addr-not-available"),
            (K::PermissionDenied, "permission-denied"),
            (K::NotFound, "not-found"),
            (K::Unsupported, "unsupported"),
            (K::OutOfMemory, "out-of-memory"),
            (K::Other, "other"),
        ];
        for (kind, name) in names {
            assert_eq!(error_kind_name(kind), name, "{kind:?}");
        }
        // A system error std does not classify (EOWNERDEAD on Linux).
        let unclassified = io::Error::from_raw_os_error(130);
        assert_eq!(error_kind_name(unclassified.kind()), "uncategorized");
    }

    #[test]
    fn each_report_is_its_kind_in_brackets_and_parses_back() {
        for report in Report::ALL {
            assert_eq!(Report::of(report.kind()), Some(report));
            assert_eq!(Report::parse(&report.message()), Some(report));
            let name = error_kind_name(report.kind());
            assert_eq!(report.message(), format!("<{name}>").as_bytes());
        }
        assert_eq!(Report::of(K::WouldBlock), Some(Report::TimedOut));
        assert_eq!(Report::of(K::Interrupted), None);
        assert_eq!(report(K::Interrupted), b"<interrupted>");
        assert!(
            !is_report(b"<interrupted>"),
            "not a kind a scenario can expect"
        );
    }
}
