//! What a side is doing at the point on screen, in words: the application pane's
//! last line and the speaker notes say the same, from here.

use super::app::App;
use crate::engine::{ActorState, Side};

/// One side's state at the point shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SideState {
    /// The run could not start.
    RunError(String),
    /// The run is over: delivered right or not, and how it ended.
    Verdict { ok: bool, describe: String },
    /// Still going: where it waits.
    Waiting(String),
}

impl SideState {
    /// The sentence the screen shows (without the verdict's mark).
    pub fn text(&self) -> String {
        match self {
            SideState::RunError(error) => format!("the run could not start: {error}"),
            SideState::Verdict { describe, .. } => describe.clone(),
            SideState::Waiting(text) => text.clone(),
        }
    }
}

pub fn side_state(app: &App, side: Side) -> Option<SideState> {
    let shown = app.shown()?;
    if let Some(error) = &shown.run.error {
        return Some(SideState::RunError(error.to_string()));
    }
    if let Some(trace) = shown.trace {
        let outcome = &trace.side(side).outcome;
        return Some(SideState::Verdict {
            ok: outcome.is_delivered(),
            describe: outcome.describe(),
        });
    }
    let status = shown.status.map(|s| &s[side as usize]);
    let line = |line: Option<u32>| line.map_or("?".into(), |l| l.to_string());
    Some(SideState::Waiting(
        match status.map(|s| (s.receiver, s.sender)) {
            Some((ActorState::AtGate { line: at }, _))
            | Some((_, ActorState::AtGate { line: at })) => {
                format!(
                    "paused before line {}: space steps, enter runs to the end",
                    line(at)
                )
            }
            Some((ActorState::Receiving { line: at }, _)) => {
                format!("waiting in recv() at line {}", line(at))
            }
            _ => "running…".to_string(),
        },
    ))
}
