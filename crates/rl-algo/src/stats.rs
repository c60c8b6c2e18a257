//! PLACEHOLDER (replaced by the trainer-utils version).
use std::collections::BTreeMap;

/// Named statistics.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stats(BTreeMap<String, f64>);

impl Stats {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }
    /// Insert.
    pub fn insert(&mut self, key: impl Into<String>, value: f64) {
        self.0.insert(key.into(), value);
    }
    /// Get.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.0.get(key).copied()
    }
    /// Extend.
    pub fn extend(&mut self, other: &Stats) {
        for (k, v) in &other.0 {
            self.0.insert(k.clone(), *v);
        }
    }
    /// Iter.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// Tracker.
#[derive(Debug, Clone)]
pub struct StatTracker {
    sum_keys: Vec<String>,
    avg: BTreeMap<String, (f64, f64)>,
    sums: BTreeMap<String, f64>,
}

impl StatTracker {
    /// New.
    pub fn new(sum_keys: &[&str]) -> Self {
        Self {
            sum_keys: sum_keys.iter().map(|s| s.to_string()).collect(),
            avg: BTreeMap::new(),
            sums: BTreeMap::new(),
        }
    }
    fn push(&mut self, k: &str, v: f64) {
        let e = self.avg.entry(k.to_string()).or_insert((0.0, 0.0));
        e.0 = (v + e.1 * e.0) / (e.1 + 1.0);
        e.1 += 1.0;
    }
    /// Update.
    pub fn update(&mut self, stats: &Stats, reduce: bool) {
        for (k, v) in stats.iter() {
            if self.sum_keys.iter().any(|s| s == k) {
                *self.sums.entry(k.to_string()).or_insert(0.0) += v;
            } else {
                self.push(k, v);
            }
        }
        if reduce {
            let sums = std::mem::take(&mut self.sums);
            for (k, v) in sums {
                self.push(&k, v);
            }
        }
    }
    /// Finish.
    pub fn finish(&self) -> Stats {
        let mut s = Stats::new();
        for (k, (v, _)) in &self.avg {
            s.insert(k.clone(), *v);
        }
        s
    }
}
