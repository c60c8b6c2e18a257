//! Stop conditions over training statistics (rl8's `rl8.conditions`).
//!
//! A trainer checks its conditions after every step, on the **train** stats (as rl8 does), and
//! stops when any is true. Stateful conditions ([`Plateaus`], [`StopsIncreasing`],
//! [`StopsDecreasing`]) must see every step's stats, so [`All`] and [`Any`] evaluate every
//! member on every call, without short-circuiting.

use rl_algo::{ENV_STEPS_KEY, Stats, WALL_SECONDS_KEY};

use crate::error::{Result, TrainError as Error};

/// A test on the stats of one training step that says whether to stop.
///
/// ```
/// use rl_train::conditions::{Condition, HitsUpperBound};
/// use rl_algo::Stats;
///
/// let mut stop = HitsUpperBound::new("returns/mean", 475.0)?;
/// let stats: Stats = [("returns/mean", 480.0)].into_iter().collect();
/// assert!(stop.check(&stats)?);
/// assert_eq!(stop.describe(), "`returns/mean` >= 475");
/// # Ok::<(), rl_train::TrainError>(())
/// ```
pub trait Condition {
    /// Whether training should stop, given one step's stats. A stat the condition needs but
    /// `stats` lacks is [`AlgoError::MissingStat`](rl_algo::AlgoError::MissingStat).
    fn check(&mut self, stats: &Stats) -> Result<bool>;

    /// A short human-readable description, for logs.
    fn describe(&self) -> String;
}

impl<C: Condition + ?Sized> Condition for Box<C> {
    fn check(&mut self, stats: &Stats) -> Result<bool> {
        (**self).check(stats)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// A closure as a stop condition, with a description for logs (built by [`when`]).
pub struct When<F> {
    check: F,
    description: String,
}

/// A stop condition from a closure over each update's statistics.
///
/// ```
/// use rl_algo::Stats;
/// use rl_train::conditions::{when, Condition};
///
/// let mut stop = when("kl above 0.05 twice", {
///     let mut seen = 0;
///     move |stats: &Stats| {
///         seen += usize::from(stats.require("monitors/kl_div")? > 0.05);
///         Ok(seen >= 2)
///     }
/// });
/// let high: Stats = [("monitors/kl_div", 0.1)].into_iter().collect();
/// assert!(!stop.check(&high)?);
/// assert!(stop.check(&high)?);
/// assert_eq!(stop.describe(), "kl above 0.05 twice");
/// # Ok::<(), rl_train::TrainError>(())
/// ```
pub fn when<F>(description: impl Into<String>, check: F) -> When<F>
where
    F: FnMut(&Stats) -> Result<bool>,
{
    When {
        check,
        description: description.into(),
    }
}

impl<F: FnMut(&Stats) -> Result<bool>> Condition for When<F> {
    fn check(&mut self, stats: &Stats) -> Result<bool> {
        (self.check)(stats)
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// Checks that `bound` is finite.
fn finite_bound(bound: f64) -> Result<f64> {
    if bound.is_finite() {
        Ok(bound)
    } else {
        Err(Error::invalid("bound", bound, "must be finite"))
    }
}

/// Checks that `patience >= 1`.
fn valid_patience(patience: usize) -> Result<usize> {
    if patience >= 1 {
        Ok(patience)
    } else {
        Err(Error::invalid("patience", patience, "must be at least 1"))
    }
}

/// True when `stats[key]` reaches a bound: [`HitsUpperBound`] (`UPPER = true`, `>= bound`,
/// rl8's `HitsUpperBound`) or [`HitsLowerBound`] (`<= bound`, rl8's `HitsLowerBound`).
#[derive(Clone, Debug, PartialEq)]
pub struct Hits<const UPPER: bool> {
    key: String,
    bound: f64,
}

/// True when `stats[key] >= bound`; see [`Hits`].
///
/// ```
/// use rl_train::conditions::{Condition, HitsUpperBound};
/// use rl_algo::Stats;
///
/// let mut stop = HitsUpperBound::env_steps(1_000_000);
/// let at = |n: f64| -> Stats { [("env/steps", n)].into_iter().collect() };
/// assert!(!stop.check(&at(999_999.0))?);
/// assert!(stop.check(&at(1_000_000.0))?);
/// # Ok::<(), rl_train::TrainError>(())
/// ```
pub type HitsUpperBound = Hits<true>;

/// True when `stats[key] <= bound`; see [`Hits`].
///
/// ```
/// use rl_train::conditions::{Condition, HitsLowerBound};
/// use rl_algo::Stats;
///
/// let mut stop = HitsLowerBound::new("losses/total", 0.01)?;
/// assert!(stop.check(&[("losses/total", 0.01)].into_iter().collect())?);
/// assert!(!stop.check(&[("losses/total", 0.02)].into_iter().collect())?);
/// assert!(HitsLowerBound::new("losses/vf", f64::NAN).is_err());
/// # Ok::<(), rl_train::TrainError>(())
/// ```
pub type HitsLowerBound = Hits<false>;

impl<const UPPER: bool> Hits<UPPER> {
    /// Stops when `stats[key]` reaches `bound` (`>=` it for an upper bound, `<=` for a lower);
    /// `bound` must be finite.
    ///
    /// ```
    /// use rl_train::conditions::HitsUpperBound;
    ///
    /// assert!(HitsUpperBound::new("algorithm/steps", 100.0).is_ok());
    /// assert!(HitsUpperBound::new("algorithm/steps", f64::INFINITY).is_err());
    /// ```
    pub fn new(key: impl Into<String>, bound: f64) -> Result<Self> {
        Ok(Self {
            key: key.into(),
            bound: finite_bound(bound)?,
        })
    }

    /// The stat key this condition reads.
    ///
    /// ```
    /// use rl_train::conditions::HitsUpperBound;
    ///
    /// assert_eq!(HitsUpperBound::wall_seconds(1.0)?.key(), "time/wall_s");
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The bound.
    ///
    /// ```
    /// use rl_train::conditions::HitsUpperBound;
    ///
    /// assert_eq!(HitsUpperBound::new("a", 2.0)?.bound(), 2.0);
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn bound(&self) -> f64 {
        self.bound
    }
}

impl HitsUpperBound {
    /// Stops once the wall time `"time/wall_s"` reaches `seconds` (finite, `>= 0`).
    ///
    /// ```
    /// use rl_train::conditions::{Condition, HitsUpperBound};
    /// use rl_algo::Stats;
    ///
    /// let mut stop = HitsUpperBound::wall_seconds(60.0)?;
    /// let stats: Stats = [("time/wall_s", 61.5)].into_iter().collect();
    /// assert!(stop.check(&stats)?);
    /// assert!(HitsUpperBound::wall_seconds(-1.0).is_err());
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn wall_seconds(seconds: f64) -> Result<Self> {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(Error::invalid(
                "seconds",
                seconds,
                "must be finite and non-negative",
            ));
        }
        Self::new(WALL_SECONDS_KEY, seconds)
    }

    /// Stops once the cumulative environment steps `"env/steps"` reach `steps`.
    ///
    /// ```
    /// use rl_train::conditions::{Condition, HitsUpperBound};
    ///
    /// let stop = HitsUpperBound::env_steps(50_000);
    /// assert_eq!(stop.key(), "env/steps");
    /// assert_eq!(stop.describe(), "`env/steps` >= 50000");
    /// ```
    pub fn env_steps(steps: u64) -> Self {
        Self {
            key: ENV_STEPS_KEY.to_owned(),
            bound: steps as f64,
        }
    }
}

impl<const UPPER: bool> Condition for Hits<UPPER> {
    fn check(&mut self, stats: &Stats) -> Result<bool> {
        let value = stats.require(&self.key)?;
        Ok(if UPPER {
            value >= self.bound
        } else {
            value <= self.bound
        })
    }

    fn describe(&self) -> String {
        let op = if UPPER { ">=" } else { "<=" };
        format!("`{}` {op} {}", self.key, self.bound)
    }
}

/// True once `stats[key]` has stayed within a relative tolerance of its previous value for
/// `patience` consecutive calls (rl8's `Plateaus`).
///
/// On each call after the first: if `|new - old| <= rtol * |old|`, a counter goes up by one,
/// otherwise it resets to 0; then `old = new`. The condition is true while the counter is at
/// least `patience`.
///
/// **Fix over rl8:** rl8 starts `old` at 0, so a first value of exactly 0 already counts as a
/// plateau step. Here the first call only records the value (and returns false), so a
/// constant series needs `patience + 1` calls to stop, whatever its value.
///
/// ```
/// use rl_train::conditions::{Condition, Plateaus};
/// use rl_algo::Stats;
///
/// let mut stop = Plateaus::new("returns/mean", 2, 1e-3)?;
/// let at = |v: f64| -> Stats { [("returns/mean", v)].into_iter().collect() };
/// assert!(!stop.check(&at(100.0))?); // recorded
/// assert!(!stop.check(&at(100.05))?); // within 0.1%: 1
/// assert!(stop.check(&at(100.0))?); // 2 = patience
/// assert!(!stop.check(&at(120.0))?); // moved: reset
/// # Ok::<(), rl_train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Plateaus {
    key: String,
    patience: usize,
    rtol: f64,
    old: Option<f64>,
    losses: usize,
}

impl Plateaus {
    /// rl8's default patience.
    pub const DEFAULT_PATIENCE: usize = 5;
    /// rl8's default relative tolerance.
    pub const DEFAULT_RTOL: f64 = 1e-3;

    /// Watches `key` with the given `patience` (`>= 1`) and `rtol` (finite, `>= 0`).
    ///
    /// ```
    /// use rl_train::conditions::Plateaus;
    ///
    /// assert!(Plateaus::new("losses/total", 5, 1e-3).is_ok());
    /// assert!(Plateaus::new("losses/total", 0, 1e-3).is_err());
    /// assert!(Plateaus::new("losses/total", 5, -1.0).is_err());
    /// ```
    pub fn new(key: impl Into<String>, patience: usize, rtol: f64) -> Result<Self> {
        if !(rtol.is_finite() && rtol >= 0.0) {
            return Err(Error::invalid(
                "rtol",
                rtol,
                "must be finite and non-negative",
            ));
        }
        Ok(Self {
            key: key.into(),
            patience: valid_patience(patience)?,
            rtol,
            old: None,
            losses: 0,
        })
    }

    /// Watches `key` with rl8's defaults: patience 5, rtol 1e-3.
    ///
    /// ```
    /// use rl_train::conditions::{Condition, Plateaus};
    ///
    /// let stop = Plateaus::with_defaults("returns/mean");
    /// assert_eq!(stop.describe(), "`returns/mean` plateaus (patience 5, rtol 0.001)");
    /// ```
    pub fn with_defaults(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            patience: Self::DEFAULT_PATIENCE,
            rtol: Self::DEFAULT_RTOL,
            old: None,
            losses: 0,
        }
    }
}

impl Condition for Plateaus {
    fn check(&mut self, stats: &Stats) -> Result<bool> {
        let new = stats.require(&self.key)?;
        if let Some(old) = self.old {
            if (new - old).abs() <= self.rtol * old.abs() {
                self.losses += 1;
            } else {
                self.losses = 0;
            }
        }
        self.old = Some(new);
        Ok(self.losses >= self.patience)
    }

    fn describe(&self) -> String {
        format!(
            "`{}` plateaus (patience {}, rtol {})",
            self.key, self.patience, self.rtol
        )
    }
}

/// True once `stats[key]` has not improved on its best value for `patience` consecutive
/// calls: [`StopsIncreasing`] (`INCREASING = true`, rl8's `StopsIncreasing`) or
/// [`StopsDecreasing`] (rl8's `StopsDecreasing`).
///
/// The best starts at −∞ (increasing) or +∞ (decreasing); a value no better than the best
/// (`<=` it, or `>=` it) counts one, a better value resets the count and becomes the best. As
/// in rl8, a NaN value compares false, so it resets the count and becomes the best, and the
/// next value (which cannot compare to NaN) replaces it.
#[derive(Clone, Debug, PartialEq)]
pub struct Stops<const INCREASING: bool> {
    key: String,
    patience: usize,
    best: f64,
    losses: usize,
}

/// True once `stats[key]` has not exceeded its best (highest) value for `patience`
/// consecutive calls; see [`Stops`].
///
/// ```
/// use rl_train::conditions::{Condition, StopsIncreasing};
/// use rl_algo::Stats;
///
/// let mut stop = StopsIncreasing::new("returns/mean", 2)?;
/// let mut fired = Vec::new();
/// for v in [1.0, 3.0, 2.0, 3.0] {
///     fired.push(stop.check(&[("returns/mean", v)].into_iter().collect::<Stats>())?);
/// }
/// assert_eq!(fired, [false, false, false, true]);
/// assert!(StopsIncreasing::new("returns/mean", 0).is_err());
/// # Ok::<(), rl_train::TrainError>(())
/// ```
pub type StopsIncreasing = Stops<true>;

/// True once `stats[key]` has not gone below its best (lowest) value for `patience`
/// consecutive calls; see [`Stops`].
///
/// ```
/// use rl_train::conditions::{Condition, StopsDecreasing};
/// use rl_algo::Stats;
///
/// let mut stop = StopsDecreasing::new("losses/total", 1)?;
/// assert!(!stop.check(&[("losses/total", 1.0)].into_iter().collect::<Stats>())?);
/// assert!(stop.check(&[("losses/total", 1.0)].into_iter().collect::<Stats>())?);
/// assert!(StopsDecreasing::new("losses/total", 0).is_err());
/// # Ok::<(), rl_train::TrainError>(())
/// ```
pub type StopsDecreasing = Stops<false>;

impl<const INCREASING: bool> Stops<INCREASING> {
    /// Watches `key` with the given `patience` (`>= 1`; rl8's default is 5).
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`](crate::TrainError::InvalidConfig) naming `patience` if it
    /// is 0.
    pub fn new(key: impl Into<String>, patience: usize) -> Result<Self> {
        Ok(Self {
            key: key.into(),
            patience: valid_patience(patience)?,
            best: if INCREASING {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            },
            losses: 0,
        })
    }
}

impl<const INCREASING: bool> Condition for Stops<INCREASING> {
    fn check(&mut self, stats: &Stats) -> Result<bool> {
        let new = stats.require(&self.key)?;
        let no_better = if INCREASING {
            new <= self.best
        } else {
            new >= self.best
        };
        if no_better {
            self.losses += 1;
        } else {
            self.losses = 0;
            self.best = new;
        }
        Ok(self.losses >= self.patience)
    }

    fn describe(&self) -> String {
        let direction = if INCREASING {
            "increasing"
        } else {
            "decreasing"
        };
        format!(
            "`{}` stops {direction} (patience {})",
            self.key, self.patience
        )
    }
}

/// Evaluates every condition (so stateful ones all update), then returns the first error if
/// any failed, else the list of results.
fn check_all(conditions: &mut [Box<dyn Condition>], stats: &Stats) -> Result<Vec<bool>> {
    let results: Vec<Result<bool>> = conditions.iter_mut().map(|c| c.check(stats)).collect();
    results.into_iter().collect()
}

/// Joins the members' descriptions.
fn describe_all(conditions: &[Box<dyn Condition>]) -> String {
    conditions
        .iter()
        .map(|c| c.describe())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Conditions combined: [`All`] (true when every member is true, rl8's `And`) or [`Any`] (true
/// when at least one is, the trainer's `any(...)` over its stop conditions). Every member is
/// evaluated on every call, without short-circuiting, so stateful members keep counting; if a
/// member fails, the others are still evaluated and the first error is returned. Like Python's
/// `all` and `any`, an empty [`All`] is true and an empty [`Any`] false (never stop).
pub struct Group<const ALL: bool>(
    /// The members, evaluated in order.
    pub Vec<Box<dyn Condition>>,
);

/// True when every member is true (rl8's `And`); see [`Group`].
///
/// ```
/// use rl_train::conditions::{All, Condition, HitsUpperBound, Plateaus};
/// use rl_algo::Stats;
///
/// let mut stop = All::new(vec![
///     Box::new(HitsUpperBound::env_steps(1000)),
///     Box::new(Plateaus::new("returns/mean", 1, 0.0)?),
/// ]);
/// let at = |steps: f64, ret: f64| -> Stats {
///     [("env/steps", steps), ("returns/mean", ret)].into_iter().collect()
/// };
/// assert!(!stop.check(&at(500.0, 7.0))?); // the plateau records 7 even though steps < 1000
/// assert!(stop.check(&at(1000.0, 7.0))?);
/// assert_eq!(
///     All::new(vec![Box::new(HitsUpperBound::env_steps(10))]).describe(),
///     "all of [`env/steps` >= 10]"
/// );
/// # Ok::<(), rl_train::TrainError>(())
/// ```
pub type All = Group<true>;

/// True when at least one member is true; see [`Group`].
///
/// ```
/// use rl_train::conditions::{Any, Condition, HitsUpperBound};
/// use rl_algo::Stats;
///
/// let mut stop = Any::new(vec![
///     Box::new(HitsUpperBound::env_steps(1_000_000)),
///     Box::new(HitsUpperBound::new("returns/mean", 475.0)?),
/// ]);
/// let stats: Stats = [("env/steps", 4096.0), ("returns/mean", 500.0)].into_iter().collect();
/// assert!(stop.check(&stats)?);
/// assert!(!Any::new(Vec::new()).check(&Stats::new())?);
/// # Ok::<(), rl_train::TrainError>(())
/// ```
pub type Any = Group<false>;

impl<const ALL: bool> Group<ALL> {
    /// `conditions`, combined.
    pub fn new(conditions: Vec<Box<dyn Condition>>) -> Self {
        Self(conditions)
    }
}

impl<const ALL: bool> Condition for Group<ALL> {
    fn check(&mut self, stats: &Stats) -> Result<bool> {
        let results = check_all(&mut self.0, stats)?;
        Ok(if ALL {
            results.into_iter().all(|b| b)
        } else {
            results.into_iter().any(|b| b)
        })
    }

    fn describe(&self) -> String {
        let word = if ALL { "all" } else { "any" };
        format!("{word} of [{}]", describe_all(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(key: &str, v: f64) -> Stats {
        [(key, v)].into_iter().collect()
    }

    fn run(c: &mut dyn Condition, key: &str, values: &[f64]) -> Vec<bool> {
        values
            .iter()
            .map(|&v| c.check(&one(key, v)).expect("key present"))
            .collect()
    }

    /// A condition that counts its calls and returns a fixed answer.
    struct Counter {
        calls: std::rc::Rc<std::cell::Cell<usize>>,
        answer: bool,
    }

    impl Condition for Counter {
        fn check(&mut self, _: &Stats) -> Result<bool> {
            self.calls.set(self.calls.get() + 1);
            Ok(self.answer)
        }
        fn describe(&self) -> String {
            format!("counter({})", self.answer)
        }
    }

    fn counter(answer: bool) -> (Box<dyn Condition>, std::rc::Rc<std::cell::Cell<usize>>) {
        let calls = std::rc::Rc::new(std::cell::Cell::new(0));
        (
            Box::new(Counter {
                calls: calls.clone(),
                answer,
            }),
            calls,
        )
    }

    #[test]
    fn bounds_are_inclusive() {
        let mut up = HitsUpperBound::new("x", 2.0).unwrap();
        assert_eq!(
            run(&mut up, "x", &[1.0, 1.999, 2.0, 3.0]),
            [false, false, true, true]
        );
        let mut low = HitsLowerBound::new("x", -1.0).unwrap();
        assert_eq!(run(&mut low, "x", &[0.0, -1.0, -2.0]), [false, true, true]);
        // NaN compares false, as in Python.
        assert_eq!(run(&mut up, "x", &[f64::NAN]), [false]);
        assert_eq!(run(&mut low, "x", &[f64::NAN]), [false]);
    }

    #[test]
    fn convenience_keys() {
        let mut wall = HitsUpperBound::wall_seconds(30.0).unwrap();
        assert_eq!(wall.key(), "time/wall_s");
        assert_eq!(wall.bound(), 30.0);
        assert_eq!(run(&mut wall, "time/wall_s", &[29.9, 30.0]), [false, true]);
        let mut steps = HitsUpperBound::env_steps(4096);
        assert_eq!(steps.key(), "env/steps");
        assert_eq!(
            run(&mut steps, "env/steps", &[2048.0, 4096.0]),
            [false, true]
        );
        assert!(HitsUpperBound::wall_seconds(f64::INFINITY).is_err());
    }

    #[test]
    fn missing_key_is_an_error() {
        let mut c = HitsUpperBound::new("returns/mean", 1.0).unwrap();
        match c.check(&one("env/steps", 1.0)) {
            Err(Error::Algo(rl_algo::AlgoError::MissingStat { key, available })) => {
                assert_eq!(key, "returns/mean");
                assert_eq!(available, "env/steps");
            }
            other => panic!("expected MissingStat, got {other:?}"),
        }
        let mut p = Plateaus::with_defaults("y");
        assert!(p.check(&Stats::new()).is_err());
        let mut s = StopsIncreasing::new("y", 1).unwrap();
        assert!(s.check(&Stats::new()).is_err());
        let mut d = StopsDecreasing::new("y", 1).unwrap();
        assert!(d.check(&Stats::new()).is_err());
        let mut l = HitsLowerBound::new("y", 1.0).unwrap();
        assert!(l.check(&Stats::new()).is_err());
    }

    #[test]
    fn constructors_validate() {
        let field = |r: Result<()>| match r {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        };
        assert_eq!(field(HitsUpperBound::new("k", f64::NAN).map(drop)), "bound");
        assert_eq!(
            field(HitsLowerBound::new("k", f64::NEG_INFINITY).map(drop)),
            "bound"
        );
        assert_eq!(field(Plateaus::new("k", 0, 0.1).map(drop)), "patience");
        assert_eq!(field(Plateaus::new("k", 1, f64::NAN).map(drop)), "rtol");
        assert_eq!(
            field(Plateaus::new("k", 1, f64::INFINITY).map(drop)),
            "rtol"
        );
        assert_eq!(field(Plateaus::new("k", 1, -1e-9).map(drop)), "rtol");
        assert_eq!(field(StopsIncreasing::new("k", 0).map(drop)), "patience");
        assert_eq!(field(StopsDecreasing::new("k", 0).map(drop)), "patience");
        assert!(Plateaus::new("k", 1, 0.0).is_ok());
    }

    #[test]
    fn plateaus_counts_and_resets_like_rl8() {
        let mut p = Plateaus::new("r", 3, 0.01).unwrap();
        // 100 recorded; 100.5 within 1% (1); 101 within 1% of 100.5 (2); 110 resets (0);
        // 110, 110.5, 111 → 1, 2, 3 → true; 111 again → 4, still true.
        let got = run(
            &mut p,
            "r",
            &[100.0, 100.5, 101.0, 110.0, 110.0, 110.5, 111.0, 111.0],
        );
        assert_eq!(got, [false, false, false, false, false, false, true, true]);
        // The tolerance is relative to the *old* value, so it is asymmetric:
        // 2 -> 1: |1 - 2| = 1 <= 0.5 * 2 counts; 1 -> 2: |2 - 1| = 1 > 0.5 * 1 resets.
        let mut q = Plateaus::new("r", 1, 0.5).unwrap();
        assert_eq!(run(&mut q, "r", &[2.0, 1.0, 2.0]), [false, true, false]);
    }

    #[test]
    fn plateaus_first_call_only_records_fix_over_rl8() {
        // rl8 starts `old` at 0, so with a constant 0 series and patience 5 it fires on the
        // 5th call. The fix: the first call only records, so it fires on the 6th.
        let mut p = Plateaus::new("r", 5, 1e-3).unwrap();
        let got = run(&mut p, "r", &[0.0; 6]);
        assert_eq!(got, [false, false, false, false, false, true]);
        // With patience 1 rl8 would stop on the very first call; the fix does not.
        let mut p = Plateaus::new("r", 1, 1e-3).unwrap();
        assert_eq!(run(&mut p, "r", &[0.0, 0.0]), [false, true]);
        // For a non-zero start both agree (rl8: |5 - 0| > 0, so no count on the first call).
        let mut p = Plateaus::new("r", 2, 1e-3).unwrap();
        assert_eq!(run(&mut p, "r", &[5.0, 5.0, 5.0]), [false, false, true]);
    }

    #[test]
    fn plateaus_nan_resets() {
        let mut p = Plateaus::new("r", 1, 1e-3).unwrap();
        assert_eq!(
            run(&mut p, "r", &[1.0, f64::NAN, 1.0, 1.0]),
            [false, false, false, true]
        );
    }

    #[test]
    fn stops_increasing_like_rl8() {
        let mut s = StopsIncreasing::new("r", 2).unwrap();
        // best: 1 (0), 2 (0), 2 <= 2 (1), 1.5 (2) → true, 3 resets (0), 3 (1), 2.9 (2) → true.
        let got = run(&mut s, "r", &[1.0, 2.0, 2.0, 1.5, 3.0, 3.0, 2.9]);
        assert_eq!(got, [false, false, false, true, false, false, true]);
        // The first call never counts: -inf < anything finite.
        let mut s = StopsIncreasing::new("r", 1).unwrap();
        assert_eq!(run(&mut s, "r", &[-1e300, -1e300]), [false, true]);
        // A NaN resets the count and becomes the best; the next value replaces it (rl8).
        let mut s = StopsIncreasing::new("r", 1).unwrap();
        assert_eq!(
            run(&mut s, "r", &[5.0, 5.0, f64::NAN, 0.0, 0.0]),
            [false, true, false, false, true]
        );
    }

    #[test]
    fn stops_decreasing_like_rl8() {
        let mut s = StopsDecreasing::new("l", 2).unwrap();
        let got = run(&mut s, "l", &[5.0, 4.0, 4.0, 4.5, 3.0, 3.5, 3.0]);
        assert_eq!(got, [false, false, false, true, false, false, true]);
    }

    #[test]
    fn all_and_any_evaluate_every_member() {
        let (a, a_calls) = counter(false);
        let (b, b_calls) = counter(true);
        let mut all = All::new(vec![a, b]);
        assert!(!all.check(&Stats::new()).unwrap());
        assert_eq!((a_calls.get(), b_calls.get()), (1, 1));

        let (a, a_calls) = counter(true);
        let (b, b_calls) = counter(false);
        let mut any = Any::new(vec![a, b]);
        assert!(any.check(&Stats::new()).unwrap());
        assert_eq!((a_calls.get(), b_calls.get()), (1, 1));

        let (a, _) = counter(true);
        let (b, _) = counter(true);
        assert!(All::new(vec![a, b]).check(&Stats::new()).unwrap());
        let (a, _) = counter(false);
        let (b, _) = counter(false);
        assert!(!Any::new(vec![a, b]).check(&Stats::new()).unwrap());
        assert!(All::new(Vec::new()).check(&Stats::new()).unwrap());
        assert!(!Any::new(Vec::new()).check(&Stats::new()).unwrap());
    }

    #[test]
    fn all_keeps_stateful_members_counting() {
        // A plateau inside All must update even while the other member is false.
        let mut all = All::new(vec![
            Box::new(HitsUpperBound::new("s", 3.0).unwrap()),
            Box::new(Plateaus::new("r", 2, 0.0).unwrap()),
        ]);
        let at = |s: f64, r: f64| -> Stats { [("s", s), ("r", r)].into_iter().collect() };
        assert!(!all.check(&at(1.0, 7.0)).unwrap());
        assert!(!all.check(&at(2.0, 7.0)).unwrap());
        assert!(all.check(&at(3.0, 7.0)).unwrap()); // plateau reached 2 in the same call
    }

    #[test]
    fn errors_still_evaluate_the_rest() {
        let (c, calls) = counter(true);
        let mut any = Any::new(vec![
            Box::new(HitsUpperBound::new("missing", 1.0).unwrap()),
            c,
        ]);
        assert!(matches!(
            any.check(&Stats::new()),
            Err(Error::Algo(rl_algo::AlgoError::MissingStat { .. }))
        ));
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn descriptions() {
        let any = Any::new(vec![
            Box::new(HitsUpperBound::wall_seconds(90.0).unwrap()),
            Box::new(All::new(vec![
                Box::new(HitsLowerBound::new("losses/total", 0.5).unwrap()),
                Box::new(StopsDecreasing::new("losses/vf", 3).unwrap()),
                Box::new(StopsIncreasing::new("returns/mean", 4).unwrap()),
            ])),
        ]);
        assert_eq!(
            any.describe(),
            "any of [`time/wall_s` >= 90, all of [`losses/total` <= 0.5, \
             `losses/vf` stops decreasing (patience 3), \
             `returns/mean` stops increasing (patience 4)]]"
        );
    }
}
