//! Named scalar statistics (rl8's `"returns/mean"`-style keys), their reduction over several
//! collects (rl8's `reduce_stats`) and the update-step tracker (rl8's `StatTracker`).

use std::collections::BTreeMap;

use crate::error::{AlgoError as Error, Result};

/// The key of the cumulative number of environment transitions, as the trainer logs it.
pub const ENV_STEPS_KEY: &str = "env/steps";

/// The key of the wall-clock seconds since training started.
pub const WALL_SECONDS_KEY: &str = "time/wall_s";

/// Named scalar statistics, such as `"returns/mean" -> 21.5`, kept sorted by key.
///
/// ```
/// use rl_algo::stats::Stats;
///
/// let mut stats = Stats::new();
/// stats.insert("returns/mean", 21.5);
/// stats.insert("env/steps", 2048.0);
/// assert_eq!(stats.get("returns/mean"), Some(21.5));
/// let keys: Vec<&str> = stats.iter().map(|(k, _)| k).collect();
/// assert_eq!(keys, ["env/steps", "returns/mean"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stats(BTreeMap<String, f64>);

impl Stats {
    /// An empty set of statistics.
    ///
    /// ```
    /// use rl_algo::stats::Stats;
    ///
    /// assert!(Stats::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self(BTreeMap::new())
    }

    /// Sets `key` to `value`, replacing any previous value.
    ///
    /// ```
    /// use rl_algo::stats::Stats;
    ///
    /// let mut stats = Stats::new();
    /// stats.insert("losses/total", 1.0);
    /// stats.insert("losses/total", 0.5);
    /// assert_eq!(stats.get("losses/total"), Some(0.5));
    /// assert_eq!(stats.len(), 1);
    /// ```
    pub fn insert(&mut self, key: impl Into<String>, value: f64) {
        self.0.insert(key.into(), value);
    }

    /// The value of `key`, if present.
    ///
    /// ```
    /// use rl_algo::stats::Stats;
    ///
    /// let stats: Stats = [("env/steps", 64.0)].into_iter().collect();
    /// assert_eq!(stats.get("env/steps"), Some(64.0));
    /// assert_eq!(stats.get("env/resets"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<f64> {
        self.0.get(key).copied()
    }

    /// The value of `key`, or [`Error::MissingStat`] listing the keys that are present.
    ///
    /// ```
    /// use rl_algo::stats::Stats;
    ///
    /// let stats: Stats = [("b", 2.0), ("a", 1.0)].into_iter().collect();
    /// assert_eq!(stats.require("a").unwrap(), 1.0);
    /// let err = stats.require("c").unwrap_err();
    /// assert_eq!(err.to_string(), "statistic `c` is missing; available: a, b");
    /// ```
    pub fn require(&self, key: &str) -> Result<f64> {
        self.get(key).ok_or_else(|| Error::MissingStat {
            key: key.to_owned(),
            available: self.available_keys(),
        })
    }

    /// The keys, comma-joined, or `(none)`.
    fn available_keys(&self) -> String {
        if self.0.is_empty() {
            "(none)".to_owned()
        } else {
            self.0
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    /// The statistics in key order.
    ///
    /// ```
    /// use rl_algo::stats::Stats;
    ///
    /// let stats: Stats = [("z", 1.0), ("a", 2.0)].into_iter().collect();
    /// let pairs: Vec<(&str, f64)> = stats.iter().collect();
    /// assert_eq!(pairs, [("a", 2.0), ("z", 1.0)]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The number of statistics.
    ///
    /// ```
    /// use rl_algo::stats::Stats;
    ///
    /// let stats: Stats = [("a", 1.0), ("b", 2.0)].into_iter().collect();
    /// assert_eq!(stats.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no statistics.
    ///
    /// ```
    /// use rl_algo::stats::Stats;
    ///
    /// let mut stats = Stats::new();
    /// assert!(stats.is_empty());
    /// stats.insert("a", 0.0);
    /// assert!(!stats.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Copies every statistic of `other` into `self`; `other`'s values win on equal keys
    /// (like Python's `dict.update`, which rl8 uses to merge collect and step stats).
    ///
    /// ```
    /// use rl_algo::stats::Stats;
    ///
    /// let mut stats: Stats = [("a", 1.0), ("b", 2.0)].into_iter().collect();
    /// let other: Stats = [("b", 20.0), ("c", 30.0)].into_iter().collect();
    /// stats.extend(&other);
    /// assert_eq!(stats, [("a", 1.0), ("b", 20.0), ("c", 30.0)].into_iter().collect());
    /// ```
    pub fn extend(&mut self, other: &Stats) {
        for (k, v) in &other.0 {
            self.0.insert(k.clone(), *v);
        }
    }

    /// A copy with `prefix` put in front of every key, such as `"eval/"` for rl8's eval stats.
    ///
    /// ```
    /// use rl_algo::stats::Stats;
    ///
    /// let stats: Stats = [("returns/mean", 3.0)].into_iter().collect();
    /// assert_eq!(stats.with_prefix("eval/").get("eval/returns/mean"), Some(3.0));
    /// ```
    pub fn with_prefix(&self, prefix: &str) -> Stats {
        Stats(
            self.0
                .iter()
                .map(|(k, v)| (format!("{prefix}{k}"), *v))
                .collect(),
        )
    }

    /// Reduces the statistics of several collects into one, as rl8's `reduce_stats` does for
    /// eval over `horizons_per_env_reset` collects. The reduction is chosen by the last `/`
    /// component of each key:
    ///
    /// - `min` → minimum, `max` → maximum (a NaN among the values gives NaN);
    /// - `mean` → arithmetic mean;
    /// - `std` → square root of the mean of the squares (the RMS of the per-collect stds,
    ///   which ignores the spread between collect means, as in rl8);
    /// - anything else (`env/steps`, `env/resets`, `profiling/collect_ms`, ...) → sum.
    ///
    /// A key missing from some items is reduced over the items that have it. No items give
    /// empty stats.
    ///
    /// ```
    /// use rl_algo::stats::Stats;
    ///
    /// let collect = |mean: f64, std: f64| -> Stats {
    ///     let pairs = [("returns/mean", mean), ("returns/std", std), ("env/steps", 10.0)];
    ///     pairs.into_iter().collect()
    /// };
    /// let (a, b) = (collect(1.0, 3.0), collect(2.0, 4.0));
    /// let r = Stats::reduce(&[a, b]);
    /// assert_eq!(r.get("returns/mean"), Some(1.5));
    /// assert_eq!(r.get("returns/std"), Some(12.5f64.sqrt()));
    /// assert_eq!(r.get("env/steps"), Some(20.0));
    /// ```
    pub fn reduce(items: &[Stats]) -> Stats {
        let mut gathered: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for item in items {
            for (k, v) in item.iter() {
                gathered.entry(k).or_default().push(v);
            }
        }
        let reduced = gathered.into_iter().map(|(key, values)| {
            let n = values.len() as f64;
            let value = match key.rsplit('/').next().unwrap_or(key) {
                "min" => fold_nan_propagating(&values, f64::min),
                "max" => fold_nan_propagating(&values, f64::max),
                "mean" => values.iter().sum::<f64>() / n,
                "std" => (values.iter().map(|v| v * v).sum::<f64>() / n).sqrt(),
                _ => values.iter().sum::<f64>(),
            };
            (key.to_owned(), value)
        });
        Stats(reduced.collect())
    }
}

/// Folds non-empty `values` with `f`, returning NaN if any value is NaN.
fn fold_nan_propagating(values: &[f64], f: fn(f64, f64) -> f64) -> f64 {
    if values.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    values.iter().copied().reduce(f).unwrap_or(f64::NAN)
}

impl<K: Into<String>> FromIterator<(K, f64)> for Stats {
    fn from_iter<I: IntoIterator<Item = (K, f64)>>(iter: I) -> Self {
        Stats(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

/// rl8's `CumulativeAverage`: a running mean updated as `avg = (v + n·avg) / (n + 1)`.
///
/// ```
/// use rl_algo::stats::CumulativeAverage;
///
/// let mut avg = CumulativeAverage::new();
/// avg.update(1.0);
/// avg.update(2.0);
/// avg.update(6.0);
/// assert_eq!(avg.value(), 3.0);
/// assert_eq!(avg.count(), 3);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CumulativeAverage {
    avg: f64,
    n: u64,
}

impl CumulativeAverage {
    /// A running mean of no values (reads 0, as rl8's does).
    ///
    /// ```
    /// use rl_algo::stats::CumulativeAverage;
    ///
    /// assert_eq!(CumulativeAverage::new().value(), 0.0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value`: `avg = (value + n·avg) / (n + 1)`, then `n += 1`, in that floating-point
    /// order, as rl8 computes it.
    ///
    /// ```
    /// use rl_algo::stats::CumulativeAverage;
    ///
    /// let mut avg = CumulativeAverage::new();
    /// avg.update(4.0);
    /// assert_eq!(avg.value(), 4.0);
    /// ```
    pub fn update(&mut self, value: f64) {
        let n = self.n as f64;
        self.avg = (value + n * self.avg) / (n + 1.0);
        self.n += 1;
    }

    /// The current mean.
    ///
    /// ```
    /// use rl_algo::stats::CumulativeAverage;
    ///
    /// let mut avg = CumulativeAverage::new();
    /// avg.update(1.0);
    /// avg.update(2.0);
    /// assert_eq!(avg.value(), 1.5);
    /// ```
    pub fn value(&self) -> f64 {
        self.avg
    }

    /// How many values were added.
    ///
    /// ```
    /// use rl_algo::stats::CumulativeAverage;
    ///
    /// let mut avg = CumulativeAverage::new();
    /// avg.update(1.0);
    /// assert_eq!(avg.count(), 1);
    /// ```
    pub fn count(&self) -> u64 {
        self.n
    }
}

/// rl8's update-step `StatTracker` (reference §2.12): aggregates per-minibatch stats over one
/// update step.
///
/// - Keys not in `sum_keys` are running-averaged over every [`update`](Self::update).
/// - Keys in `sum_keys` (rl8: the four losses and `monitors/kl_div`) are summed over updates,
///   and the sum is pushed into their running average only on an update with `reduce = true`
///   (once per optimizer step, when gradient accumulation over `k` minibatches is complete),
///   after which the sums restart from 0. A sum key is pushed only if it appeared since the
///   previous reduce; sums still pending at [`finish`](Self::finish) are not reported.
///
/// With the minibatch losses already divided by `k` (as rl8 does), the reported loss is the
/// mean over optimizer steps of the per-step sums.
///
/// ```
/// use rl_algo::stats::{Stats, StatTracker};
///
/// let mut tracker = StatTracker::new(&["losses/total"]);
/// // k = 2 minibatches per optimizer step, losses already divided by k.
/// for (i, loss) in [0.5, 1.5, 1.0, 2.0].into_iter().enumerate() {
///     let mut stats = Stats::new();
///     stats.insert("losses/total", loss);
///     stats.insert("coefficients/entropy", 0.01);
///     tracker.update(&stats, i % 2 == 1);
/// }
/// let out = tracker.finish();
/// assert_eq!(out.get("losses/total"), Some(2.5)); // mean of (0.5 + 1.5) and (1.0 + 2.0)
/// assert_eq!(out.get("coefficients/entropy"), Some(0.01));
/// ```
#[derive(Clone, Debug, Default)]
pub struct StatTracker {
    sum_keys: Vec<String>,
    sums: BTreeMap<String, f64>,
    averages: BTreeMap<String, CumulativeAverage>,
}

impl StatTracker {
    /// A tracker in which the keys in `sum_keys` are summed between reduces and every other key
    /// is averaged.
    ///
    /// ```
    /// use rl_algo::stats::StatTracker;
    ///
    /// let tracker = StatTracker::new(&["losses/policy", "losses/vf"]);
    /// assert!(tracker.finish().is_empty());
    /// ```
    pub fn new(sum_keys: &[&str]) -> Self {
        Self {
            sum_keys: sum_keys.iter().map(|k| (*k).to_owned()).collect(),
            sums: BTreeMap::new(),
            averages: BTreeMap::new(),
        }
    }

    /// Adds one minibatch's stats; `reduce` marks the last minibatch of an optimizer step.
    ///
    /// ```
    /// use rl_algo::stats::{Stats, StatTracker};
    ///
    /// let mut tracker = StatTracker::new(&["losses/vf"]);
    /// let stats: Stats = [("losses/vf", 1.0)].into_iter().collect();
    /// tracker.update(&stats, false);
    /// assert_eq!(tracker.finish().get("losses/vf"), None); // not reduced yet
    /// tracker.update(&stats, true);
    /// assert_eq!(tracker.finish().get("losses/vf"), Some(2.0));
    /// ```
    pub fn update(&mut self, stats: &Stats, reduce: bool) {
        for (key, value) in stats.iter() {
            if self.sum_keys.iter().any(|k| k == key) {
                *self.sums.entry(key.to_owned()).or_insert(0.0) += value;
            } else {
                self.averages
                    .entry(key.to_owned())
                    .or_default()
                    .update(value);
            }
        }
        if reduce {
            for (key, sum) in std::mem::take(&mut self.sums) {
                self.averages.entry(key).or_default().update(sum);
            }
        }
    }

    /// The averages so far.
    ///
    /// ```
    /// use rl_algo::stats::{Stats, StatTracker};
    ///
    /// let mut tracker = StatTracker::new(&[]);
    /// for v in [1.0, 2.0, 3.0] {
    ///     tracker.update(&[("monitors/clip_fraction", v)].into_iter().collect(), true);
    /// }
    /// assert_eq!(tracker.finish().get("monitors/clip_fraction"), Some(2.0));
    /// ```
    pub fn finish(&self) -> Stats {
        Stats(
            self.averages
                .iter()
                .map(|(k, avg)| (k.clone(), avg.value()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(pairs: &[(&str, f64)]) -> Stats {
        pairs.iter().map(|(k, v)| (*k, *v)).collect()
    }

    #[test]
    fn require_lists_sorted_available_keys() {
        let s = stats(&[("returns/mean", 1.0), ("env/steps", 2.0)]);
        match s.require("losses/total") {
            Err(Error::MissingStat { key, available }) => {
                assert_eq!(key, "losses/total");
                assert_eq!(available, "env/steps, returns/mean");
            }
            other => panic!("expected MissingStat, got {other:?}"),
        }
    }

    #[test]
    fn with_prefix_and_extend() {
        let train = stats(&[("returns/mean", 1.0)]);
        let mut all = train.clone();
        all.extend(&train.with_prefix("eval/"));
        assert_eq!(
            all,
            stats(&[("eval/returns/mean", 1.0), ("returns/mean", 1.0)])
        );
    }

    #[test]
    fn reduce_dispatches_on_last_component() {
        let items = [
            stats(&[
                ("returns/min", -1.0),
                ("returns/max", 5.0),
                ("returns/mean", 2.0),
                ("returns/std", 1.0),
                ("env/steps", 100.0),
                ("profiling/collect_ms", 3.0),
                ("eval/rewards/min", 0.5),
            ]),
            stats(&[
                ("returns/min", -3.0),
                ("returns/max", 4.0),
                ("returns/mean", 4.0),
                ("returns/std", 7.0),
                ("env/steps", 100.0),
                ("profiling/collect_ms", 4.0),
                ("eval/rewards/min", 0.25),
            ]),
            stats(&[
                ("returns/min", -2.0),
                ("returns/max", 9.0),
                ("returns/mean", 9.0),
                ("returns/std", 1.0),
                ("env/steps", 100.0),
                ("profiling/collect_ms", 5.0),
                ("eval/rewards/min", 0.75),
            ]),
        ];
        let r = Stats::reduce(&items);
        assert_eq!(r.get("returns/min"), Some(-3.0));
        assert_eq!(r.get("returns/max"), Some(9.0));
        assert_eq!(r.get("returns/mean"), Some(5.0));
        assert_eq!(r.get("returns/std"), Some((51.0f64 / 3.0).sqrt()));
        assert_eq!(r.get("env/steps"), Some(300.0));
        assert_eq!(r.get("profiling/collect_ms"), Some(12.0));
        assert_eq!(r.get("eval/rewards/min"), Some(0.25));
        assert_eq!(r.len(), 7);
    }

    #[test]
    fn reduce_edge_cases() {
        assert!(Stats::reduce(&[]).is_empty());
        // A key without '/' is summed unless it is itself "min"/"max"/"mean"/"std".
        let r = Stats::reduce(&[
            stats(&[("steps", 1.0), ("mean", 2.0)]),
            stats(&[("steps", 2.0), ("mean", 4.0)]),
        ]);
        assert_eq!(r.get("steps"), Some(3.0));
        assert_eq!(r.get("mean"), Some(3.0));
        // Keys missing in some items reduce over the items that have them.
        let r = Stats::reduce(&[stats(&[("a/mean", 2.0)]), stats(&[("b/mean", 4.0)])]);
        assert_eq!(r.get("a/mean"), Some(2.0));
        assert_eq!(r.get("b/mean"), Some(4.0));
        // NaN propagates through min/max regardless of position.
        let r = Stats::reduce(&[stats(&[("x/min", 1.0)]), stats(&[("x/min", f64::NAN)])]);
        assert!(r.get("x/min").unwrap().is_nan());
        let r = Stats::reduce(&[stats(&[("x/max", f64::NAN)]), stats(&[("x/max", 1.0)])]);
        assert!(r.get("x/max").unwrap().is_nan());
    }

    #[test]
    fn cumulative_average_matches_rl8_formula() {
        let mut avg = CumulativeAverage::new();
        let mut expected = 0.0f64;
        for (n, v) in [0.1, 0.7, 0.2, 1e-3, 5.0].into_iter().enumerate() {
            avg.update(v);
            let n = n as f64;
            expected = (v + n * expected) / (n + 1.0);
            assert_eq!(avg.value().to_bits(), expected.to_bits());
        }
        assert_eq!(avg.count(), 5);
    }

    #[test]
    fn tracker_k1_is_mean_over_all_minibatches() {
        let mut t = StatTracker::new(&["losses/total", "monitors/kl_div"]);
        for (loss, kl) in [(1.0, 0.1), (3.0, 0.3), (8.0, 0.2)] {
            t.update(
                &stats(&[("losses/total", loss), ("monitors/kl_div", kl)]),
                true,
            );
        }
        let out = t.finish();
        assert_eq!(out.get("losses/total"), Some(4.0));
        assert!((out.get("monitors/kl_div").unwrap() - 0.2).abs() < 1e-15);
    }

    #[test]
    fn tracker_k2_accumulation_by_hand() {
        // Two epochs of 4 minibatches, k = 2: optimizer steps after minibatches 2, 4, 6, 8.
        // Losses already divided by k = 2.
        let losses = [0.5, 0.25, 1.0, 1.0, 0.75, 0.25, 0.5, 0.5];
        let lrs = [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5];
        let mut t = StatTracker::new(&["losses/policy"]);
        for (i, (&loss, &lr)) in losses.iter().zip(&lrs).enumerate() {
            t.update(
                &stats(&[("losses/policy", loss), ("coefficients/learning_rate", lr)]),
                i % 2 == 1,
            );
        }
        // Sums per step: 0.75, 2.0, 1.0, 1.0 -> mean 1.1875.
        let out = t.finish();
        assert_eq!(out.get("losses/policy"), Some(1.1875));
        // Non-sum key: averaged over all 8 updates.
        assert_eq!(out.get("coefficients/learning_rate"), Some(0.75));
    }

    #[test]
    fn tracker_early_stop_includes_the_stopping_minibatch() {
        // k = 2, but the update stops early after 3 minibatches: the trainer reduces on the
        // stopping minibatch, so its partial sum (one minibatch) counts as a step.
        let mut t = StatTracker::new(&["losses/vf"]);
        t.update(&stats(&[("losses/vf", 1.0)]), false);
        t.update(&stats(&[("losses/vf", 2.0)]), true);
        t.update(&stats(&[("losses/vf", 4.0)]), true);
        assert_eq!(t.finish().get("losses/vf"), Some(3.5)); // (3 + 4) / 2
    }

    #[test]
    fn tracker_pending_sums_are_not_reported() {
        let mut t = StatTracker::new(&["losses/vf"]);
        t.update(&stats(&[("losses/vf", 1.0)]), true);
        t.update(&stats(&[("losses/vf", 100.0)]), false);
        assert_eq!(t.finish().get("losses/vf"), Some(1.0));
    }
}
