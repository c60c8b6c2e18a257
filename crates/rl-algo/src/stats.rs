//! Statistics: the typed results of `collect()` ([`CollectStats`]) and `step()`
//! ([`StepStats`]), the one place where they become log keys ([`CollectStats::to_stats`],
//! [`StepStats::to_stats`]), named scalar maps ([`Stats`], rl8's `"returns/mean"`-style keys),
//! their reduction over several collects (rl8's `reduce_stats`).

use std::collections::BTreeMap;

use crate::error::{AlgoError as Error, Result};

/// The key of the cumulative number of environment transitions trained on, as the trainer logs
/// it.
pub const ENV_STEPS_KEY: &str = "env/steps";

/// The key of the wall-clock seconds since training started.
pub const WALL_SECONDS_KEY: &str = "time/wall_s";

/// min, max, mean and unbiased standard deviation of some values (NaN for none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The mean.
    pub mean: f64,
    /// The unbiased standard deviation (0 for one value).
    pub std: f64,
}

impl Summary {
    /// The summary of `xs`.
    ///
    /// ```
    /// use rl_algo::Summary;
    ///
    /// let s = Summary::of([1.0, 2.0, 3.0, 6.0]);
    /// assert_eq!((s.min, s.max, s.mean), (1.0, 6.0, 3.0));
    /// assert!((s.std - (14.0f64 / 3.0).sqrt()).abs() < 1e-12);
    /// assert_eq!(Summary::of([4.0]).std, 0.0);
    /// assert!(Summary::of([]).mean.is_nan());
    /// ```
    pub fn of(xs: impl IntoIterator<Item = f64>) -> Self {
        let (mut n, mut sum, mut sq, mut lo, mut hi) =
            (0.0, 0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY);
        for x in xs {
            n += 1.0;
            sum += x;
            sq += x * x;
            lo = lo.min(x);
            hi = hi.max(x);
        }
        if n == 0.0 {
            return Self {
                min: f64::NAN,
                max: f64::NAN,
                mean: f64::NAN,
                std: f64::NAN,
            };
        }
        let mean = sum / n;
        let var = if n > 1.0 {
            ((sq - n * mean * mean) / (n - 1.0)).max(0.0)
        } else {
            0.0
        };
        Self {
            min: lo,
            max: hi,
            mean,
            std: var.sqrt(),
        }
    }

    fn insert(&self, stats: &mut Stats, prefix: &str) {
        for (name, v) in [
            ("min", self.min),
            ("max", self.max),
            ("mean", self.mean),
            ("std", self.std),
        ] {
            stats.insert(format!("{prefix}/{name}"), v);
        }
    }
}

/// What one `collect()` or `evaluate()` saw (rl8's collect statistics, typed).
#[derive(Clone, Debug, PartialEq)]
pub struct CollectStats {
    /// Environments reset at the start of this collect (all of them, or none).
    pub env_resets: usize,
    /// Environment transitions of this collect, `num_envs * horizon`.
    pub transitions: usize,
    /// Wall time of the collect.
    pub seconds: f64,
    /// Each environment's rewards summed over the horizon, summarised over the environments.
    pub returns: Summary,
    /// Every reward of the horizon, summarised.
    pub rewards: Summary,
    /// The returns of the episodes that finished during this collect, in the order they
    /// finished (environment index within a step).
    pub episodes: Vec<f64>,
    /// The mean return of the last `episode_window` finished episodes (training and evaluation
    /// keep separate windows); for an environment that has never ended an episode (rl8's
    /// infinite-horizon tasks), `returns.mean`.
    pub episode_return_mean: Option<f64>,
    /// The mean length of the same episodes.
    pub episode_length_mean: Option<f64>,
}

impl CollectStats {
    /// The log keys: `env/resets`, `collect/transitions`, `profiling/collect_ms`,
    /// `profiling/collect_transitions_per_s`, `returns/{min,max,mean,std}`,
    /// `rewards/{min,max,mean,std}`, `episode/count`, `episode/return_mean`,
    /// `episode/length_mean` (the last two when known).
    pub fn to_stats(&self) -> Stats {
        let mut s = Stats::new();
        s.insert("env/resets", self.env_resets as f64);
        s.insert("collect/transitions", self.transitions as f64);
        s.insert("profiling/collect_ms", self.seconds * 1e3);
        s.insert(
            "profiling/collect_transitions_per_s",
            self.transitions as f64 / self.seconds,
        );
        self.returns.insert(&mut s, "returns");
        self.rewards.insert(&mut s, "rewards");
        s.insert("episode/count", self.episodes.len() as f64);
        if let Some(r) = self.episode_return_mean {
            s.insert("episode/return_mean", r);
        }
        if let Some(l) = self.episode_length_mean {
            s.insert("episode/length_mean", l);
        }
        s
    }
}

/// What one `step()` did (rl8's step statistics, typed): the losses and monitors are means over
/// the minibatches it ran.
#[derive(Clone, Debug, PartialEq)]
pub struct StepStats {
    /// The clipped surrogate loss.
    pub policy_loss: f64,
    /// The value loss.
    pub vf_loss: f64,
    /// The entropy loss (`-entropy_coeff * entropy`).
    pub entropy_loss: f64,
    /// The total loss.
    pub total_loss: f64,
    /// The approximate KL divergence between the collecting and the updated policy.
    pub kl_div: f64,
    /// The fraction of ratios outside the clip range.
    pub clip_fraction: f64,
    /// The explained variance of the value predictions.
    pub explained_variance: f64,
    /// The mean global gradient norm before clipping (`None` without an optimizer step).
    pub grad_norm: Option<f64>,
    /// Optimizer steps taken.
    pub optimizer_steps: usize,
    /// The entropy coefficient used.
    pub entropy_coeff: f64,
    /// The value-loss coefficient used.
    pub vf_coeff: f64,
    /// The learning rate used.
    pub learning_rate: f64,
    /// The divisor of the rewards.
    pub reward_scale: f64,
    /// Transitions trained on.
    pub transitions: usize,
    /// Wall time of the step.
    pub seconds: f64,
    /// Transitions per second of the last training collect and this step together.
    pub transitions_per_s: f64,
}

impl StepStats {
    /// The log keys: `losses/{policy,vf,entropy,total}`, `monitors/{kl_div,clip_fraction,
    /// explained_variance,grad_norm,optimizer_steps,reward_scale}`,
    /// `coefficients/{entropy,vf,learning_rate}`, `profiling/step_ms`,
    /// `profiling/transitions_per_s`.
    pub fn to_stats(&self) -> Stats {
        let mut s = Stats::new();
        s.insert("losses/policy", self.policy_loss);
        s.insert("losses/vf", self.vf_loss);
        s.insert("losses/entropy", self.entropy_loss);
        s.insert("losses/total", self.total_loss);
        s.insert("monitors/kl_div", self.kl_div);
        s.insert("monitors/clip_fraction", self.clip_fraction);
        s.insert("monitors/explained_variance", self.explained_variance);
        if let Some(g) = self.grad_norm {
            s.insert("monitors/grad_norm", g);
        }
        s.insert("monitors/optimizer_steps", self.optimizer_steps as f64);
        s.insert("monitors/reward_scale", self.reward_scale);
        s.insert("coefficients/entropy", self.entropy_coeff);
        s.insert("coefficients/vf", self.vf_coeff);
        s.insert("coefficients/learning_rate", self.learning_rate);
        s.insert("profiling/step_ms", self.seconds * 1e3);
        s.insert("profiling/transitions_per_s", self.transitions_per_s);
        s
    }
}

/// Named scalar statistics, such as `"returns/mean" -> 21.5`, kept sorted by key.
///
/// ```
/// use rl_algo::Stats;
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
    /// use rl_algo::Stats;
    ///
    /// assert!(Stats::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self(BTreeMap::new())
    }

    /// Sets `key` to `value`, replacing any previous value.
    ///
    /// ```
    /// use rl_algo::Stats;
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
    /// use rl_algo::Stats;
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
    /// use rl_algo::Stats;
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
    /// use rl_algo::Stats;
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
    /// use rl_algo::Stats;
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
    /// use rl_algo::Stats;
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
    /// use rl_algo::Stats;
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
    /// use rl_algo::Stats;
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
    /// use rl_algo::Stats;
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
}
