//! Learning-rate and entropy-coefficient schedules (rl8's `StepScheduler` and
//! `InterpScheduler`), counted in environment transitions.

use serde::{Deserialize, Serialize};

use crate::error::{AlgoError, Result};

/// How a [`Schedule`] moves between its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// Jump to each point's value when the count reaches it and hold (rl8's `"step"`).
    #[default]
    Step,
    /// Linear between points, clamped to the end values (rl8's `"interp"`, `np.interp`).
    Interp,
}

/// A piecewise schedule: `(count, value)` points over the number of **environment
/// transitions** trained on so far (`num_envs * horizon` per training collect).
///
/// rl8 counts `num_envs * collects` (no horizon factor) and lets evaluation collects advance the
/// count, although its docs say "environment transitions"; we count what the docs say, and
/// evaluation does not move schedules.
///
/// ```
/// use rl_algo::{Schedule, ScheduleKind};
///
/// let points = vec![(0.0, 1e-3), (1000.0, 1e-4)];
/// let step = Schedule::new(points.clone(), ScheduleKind::Step)?;
/// assert_eq!(step.value(999), 1e-3);
/// assert_eq!(step.value(1000), 1e-4);
/// let interp = Schedule::new(points, ScheduleKind::Interp)?;
/// assert!((interp.value(500) - 5.5e-4).abs() < 1e-12);
/// assert_eq!(interp.value(5000), 1e-4);
/// # Ok::<(), rl_algo::AlgoError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    points: Vec<(f64, f64)>,
    kind: ScheduleKind,
}

impl Schedule {
    /// A schedule through `points`, checked with [`Schedule::check`] (reported under the field
    /// name `"schedule"`).
    ///
    /// # Errors
    /// See [`Schedule::check`].
    pub fn new(points: Vec<(f64, f64)>, kind: ScheduleKind) -> Result<Self> {
        Self::check("schedule", &points)?;
        Ok(Self { points, kind })
    }

    /// rl8's rule (the first count is 0) plus the ones rl8 leaves unchecked: at least one
    /// point, counts strictly increasing, every number finite.
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] naming `field`.
    pub fn check(field: &str, points: &[(f64, f64)]) -> Result<()> {
        let Some(&(first, _)) = points.first() else {
            return Err(AlgoError::invalid(
                field,
                "[]",
                "needs at least one (count, value) point",
            ));
        };
        if first != 0.0 {
            return Err(AlgoError::invalid(
                field,
                first,
                "the first point's count must be 0",
            ));
        }
        if let Some(&(c, v)) = points
            .iter()
            .find(|(c, v)| !c.is_finite() || !(*v as f32).is_finite())
        {
            return Err(AlgoError::invalid(
                field,
                format!("({c}, {v})"),
                "every count must be finite, and every value finite in f32 (the update's float)",
            ));
        }
        if let Some(w) = points.windows(2).find(|w| w[1].0 <= w[0].0) {
            return Err(AlgoError::invalid(
                field,
                format!("counts {} then {}", w[0].0, w[1].0),
                "counts must be strictly increasing",
            ));
        }
        Ok(())
    }

    /// The value after `count` environment transitions.
    pub fn value(&self, count: u64) -> f64 {
        let c = count as f64;
        // `points` is non-empty and starts at 0, so index 0 always qualifies.
        let last = self.points.iter().rposition(|&(x, _)| c >= x).unwrap_or(0);
        let (x0, y0) = self.points[last];
        match (self.kind, self.points.get(last + 1)) {
            (ScheduleKind::Interp, Some(&(x1, y1))) => y0 + (y1 - y0) * (c - x0) / (x1 - x0),
            _ => y0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AlgoError;

    #[test]
    fn step_holds_and_interp_is_linear_and_clamped() {
        let pts = vec![(0.0, 1.0), (10.0, 0.0), (20.0, 4.0)];
        let s = Schedule::new(pts.clone(), ScheduleKind::Step).unwrap();
        assert_eq!(
            [
                s.value(0),
                s.value(9),
                s.value(10),
                s.value(19),
                s.value(99)
            ],
            [1.0, 1.0, 0.0, 0.0, 4.0]
        );
        let i = Schedule::new(pts, ScheduleKind::Interp).unwrap();
        assert_eq!(
            [
                i.value(0),
                i.value(5),
                i.value(10),
                i.value(15),
                i.value(99)
            ],
            [1.0, 0.5, 0.0, 2.0, 4.0]
        );
    }

    #[test]
    fn bad_points_are_named() {
        for pts in [
            vec![],
            vec![(1.0, 1.0)],
            vec![(0.0, 1.0), (0.0, 2.0)],
            vec![(0.0, f64::NAN)],
        ] {
            match Schedule::check("lr_schedule", &pts) {
                Err(AlgoError::InvalidConfig { field, .. }) => assert_eq!(field, "lr_schedule"),
                other => panic!("{pts:?}: {other:?}"),
            }
        }
    }
}
