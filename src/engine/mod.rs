//! The loopback engine: real sockets, a relay that cuts the stream, and a runner that
//! records every call and judges each side. It knows nothing of how runs are shown.

pub mod cut;
mod monitor;
mod relay;
mod report;
mod runner;
mod sock;
pub mod trace;

use std::io;
use std::net::SocketAddr;

pub use cut::{CutAt, CutPlan, Framing, Pieces};
pub use monitor::{ActorState, Limits, LiveEvent, SideStatus};
pub use report::{Report, error_kind_name, is_report, report};
pub use runner::{
    Program, RecvFn, RunHandle, RunOptions, Scenario, SendFn, SocketTuning, loopback_pair, run,
    start,
};
pub use sock::{BufferedSock, Inbox, Pacing, Sock, in_teaching_thread};
pub use trace::{
    Call, CallResult, Event, Mode, Outcome, OutcomeKind, Role, Side, SideTrace, Span, Trace,
};

/// What can go wrong running a scenario (as opposed to what the teaching code does wrong).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("could not open a listening socket on 127.0.0.1: {0}")]
    Bind(#[source] io::Error),
    #[error("could not connect to the relay at {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("could not set up a loopback socket: {0}")]
    Socket(#[source] io::Error),
    #[error("could not start a thread for the run: {0}")]
    Thread(#[source] io::Error),
    #[error("internal error in the engine: {0}")]
    Internal(String),
}
