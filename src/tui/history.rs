//! Stepping back in time. A run's calls are kept as they arrive; each time the run
//! settles (every program waits for the next step, or is done) the point is noted.
//! Point k is a count of each side's calls plus what was known then, so the screen
//! at k is drawn from the first calls of the run only: going back and forth gives
//! the same screens.

use crate::engine::{ActorState, SideStatus};

/// A point the run settled at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    /// How many of each side's calls had arrived.
    pub calls: [usize; 2],
    pub status: Option<[SideStatus; 2]>,
    /// The run was over: its verdicts are shown.
    pub done: bool,
}

impl Point {
    /// The same point of the run, whether or not each side was known to be settled
    /// when it was noted (a side tells that it settled after its last call).
    fn same_place(&self, other: &Point) -> bool {
        let unsettled = |status: &Option<[SideStatus; 2]>| {
            status.clone().map(|sides| {
                sides.map(|side| SideStatus {
                    settled: false,
                    ..side
                })
            })
        };
        self.calls == other.calls
            && self.done == other.done
            && unsettled(&self.status) == unsettled(&other.status)
    }
}

/// The points of one run, oldest first.
#[derive(Debug, Default)]
pub struct History {
    points: Vec<Point>,
    /// Wire mode: nothing steps, so programs at the gate before their first call
    /// are only passing through (the wire's first ask is the first point).
    wired: bool,
}

impl History {
    /// The history of a run in wire mode.
    pub fn wired() -> History {
        History {
            wired: true,
            ..History::default()
        }
    }

    /// Notes `now` if the run is settled there (or over) and it differs from the
    /// last point noted. Settled means each side waits for the next step and every
    /// call it made has arrived: a side's calls arrive apart from the other's.
    pub fn observe(&mut self, now: Point) {
        // Before either side's first call nothing is on the wire: the relay has
        // nothing to move. Once one side has called, the other at the gate with no
        // call may just not have taken its step yet.
        let nothing_called = now.calls == [0, 0];
        let settled = now.status.as_ref().is_some_and(|status| {
            status.iter().zip(now.calls).all(|(side, arrived)| {
                let before_the_first_call = !self.wired
                    && nothing_called
                    && matches!(side.sender, ActorState::AtGate { .. })
                    && matches!(side.receiver, ActorState::AtGate { .. });
                (side.settled || side.stopped || before_the_first_call) && side.events == arrived
            })
        });
        if settled || now.done {
            self.note(now);
        }
    }

    /// Notes `now`, settled or not, unless it is the last point noted: where the run
    /// was let go to its end.
    pub fn note(&mut self, now: Point) {
        match self.points.last_mut() {
            // The same screen, told again once its side had settled: one point.
            Some(last) if last.same_place(&now) => *last = now,
            _ => self.points.push(now),
        }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn get(&self, at: usize) -> Option<&Point> {
        self.points.get(at)
    }

    /// The point the live screen is at, if it is one.
    fn live_point(&self, live: &Point) -> Option<usize> {
        let last = self.points.len().checked_sub(1)?;
        (self.points[last] == *live).then_some(last)
    }

    /// The point shown: `at`, else the live one when the run is at a point.
    pub fn shown(&self, at: Option<usize>, live: &Point) -> Option<usize> {
        at.or_else(|| self.live_point(live))
    }

    /// One step back from `at` (`None`: live).
    pub fn back(&self, at: Option<usize>, live: &Point) -> Option<usize> {
        match at {
            Some(at) => Some(at.saturating_sub(1)),
            // Live between points: back to the last one settled.
            None => match self.live_point(live) {
                Some(at) => Some(at.saturating_sub(1)),
                None => self.points.len().checked_sub(1),
            },
        }
    }

    /// One step forward from `at`: `None` once the last point (and the live run) is
    /// reached.
    pub fn forward(&self, at: usize) -> Option<usize> {
        (at + 2 < self.points.len()).then_some(at + 1)
    }

    /// The point a click `x` columns into a bar `width` wide lands on.
    pub fn at_column(&self, x: u16, width: u16) -> Option<usize> {
        let last = self.points.len().checked_sub(1)?;
        let width = u32::from(width.max(2)) - 1;
        let x = u32::from(x).min(width);
        Some(((x * last as u32 + width / 2) / width) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Side;

    fn point(calls: usize, done: bool) -> Point {
        Point {
            calls: [calls, calls],
            status: None,
            done,
        }
    }

    fn history(points: usize) -> History {
        History {
            points: (0..points).map(|n| point(n, n + 1 == points)).collect(),
            wired: false,
        }
    }

    #[test]
    fn only_settled_points_that_differ_are_noted() {
        let mut history = History::default();
        history.observe(point(0, false)); // no status: not settled
        assert!(history.is_empty());
        history.observe(point(3, true));
        history.observe(point(3, true));
        assert_eq!(history.len(), 1);
    }

    #[test]
    fn before_the_first_call_both_programs_at_the_gate_is_a_point() {
        let at_gate = |side, calls| SideStatus {
            side,
            sender: ActorState::AtGate { line: Some(1) },
            receiver: ActorState::AtGate { line: Some(2) },
            events: calls,
            stopped: false,
            settled: false,
            sent: 0,
            passed: 0,
            awaits_cut: false,
        };
        let now = |calls: usize| Point {
            calls: [calls; 2],
            status: Some(Side::BOTH.map(|side| at_gate(side, calls))),
            done: false,
        };
        let mut history = History::default();
        // After a call, unsettled is no point: the relay may still move bytes.
        history.observe(now(1));
        assert!(history.is_empty());
        // One side has called and the other not yet: the step is not over.
        let mut halfway = now(0);
        halfway.calls = [1, 0];
        halfway.status.as_mut().unwrap()[0].events = 1;
        halfway.status.as_mut().unwrap()[0].settled = true;
        history.observe(halfway);
        assert!(history.is_empty(), "{history:?}");
        history.observe(now(0));
        assert_eq!(history.len(), 1);
        // Let go unsettled: noted all the same.
        history.note(now(1));
        assert_eq!(history.len(), 2);
        // The same place told again once settled is the same point, not a new one.
        let mut settled = now(1);
        for side in settled.status.as_mut().unwrap() {
            side.settled = true;
        }
        history.observe(settled.clone());
        assert_eq!(history.len(), 2);
        assert_eq!(history.get(1), Some(&settled));
    }

    #[test]
    fn back_and_forward_walk_the_points_and_return_to_live() {
        let h = history(4);
        let live = point(3, true);
        assert_eq!(h.shown(None, &live), Some(3));
        assert_eq!(h.back(None, &live), Some(2));
        assert_eq!(h.back(Some(0), &live), Some(0));
        assert_eq!(h.forward(1), Some(2));
        assert_eq!(h.forward(2), None, "the last point is the live screen");
        // Live past the last point: back shows that point.
        assert_eq!(h.back(None, &point(9, false)), Some(3));
    }

    #[test]
    fn a_click_on_the_bar_lands_on_the_nearest_point() {
        let h = history(5);
        assert_eq!(h.at_column(0, 41), Some(0));
        assert_eq!(h.at_column(40, 41), Some(4));
        assert_eq!(h.at_column(99, 41), Some(4));
        assert_eq!(h.at_column(20, 41), Some(2));
        assert_eq!(History::default().at_column(3, 10), None);
    }
}
