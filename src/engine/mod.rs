//! The loopback engine: real sockets, a relay that cuts the stream, and a runner that
//! records every call and judges each side. It knows nothing of how runs are shown.
//!
//! Each module imports only from the floors below it (no cycles):
//!
//! 1. `report`: names of I/O failures, and the reports a receiver gives (std only);
//! 2. `trace`: what a run records (uses `report`);
//! 3. `cut`: framings and where the stream is cut (uses `trace`); `monitor`: one
//!    side's shared board and its transitions (uses `trace`);
//! 4. `sock`: the socket teaching code calls (uses `monitor`, `trace`, `report`);
//!    `relay`: the thread that cuts the stream (uses `monitor`, `trace`);
//! 5. `external`: teaching code in a child process, whose calls it reports over a
//!    control channel (uses `sock`, `trace`, `report`);
//! 6. `runner`: starts, supervises and judges a run (uses all of the above).
//!
//! This file only declares them and re-exports what the rest of the crate uses.

pub mod cut;
mod external;
mod monitor;
mod relay;
mod report;
mod runner;
mod sock;
pub mod trace;

pub use cut::{CutAt, CutPlan, CutsError, FixedCuts, Framing, Pieces, WireEnd};
pub use external::{External, ForkServer, SERVER_FD_VAR};
pub use monitor::{ActorState, Limits, LiveEvent, SideStatus};
pub use report::{Report, error_kind_name, is_report, report};
pub use runner::{
    Code, EngineError, Program, RecvFn, RunHandle, RunOptions, Scenario, SendFn, SocketTuning,
    loopback_pair, run, run_code, start, start_code,
};
pub use sock::{BufferedSock, Inbox, Pacing, Sock, in_teaching_thread};
pub use trace::{
    BufferLimits, Call, CallResult, Event, Mode, Outcome, OutcomeKind, Queues, Role, Side,
    SideTrace, Span, Trace,
};
