//! Running normalizers: the reward scale (a running std of the discounted return) and the
//! per-feature observation statistics.

use burn::tensor::{Tensor, backend::Backend};
use rl_core::Observation;

/// Divides rewards by a running standard deviation of the discounted return
/// `R_t = gamma * R_{t-1} + r_t`, kept per environment across horizons and restarted when an
/// episode ends (Engstrom et al. 2020, "Implementation Matters"; Gymnasium's
/// `NormalizeReward`). rl8 instead uses the std of the current horizon's returns only.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct RewardNormalizer {
    gamma: f64,
    returns: Vec<f64>,
    count: f64,
    mean: f64,
    m2: f64,
}

impl RewardNormalizer {
    pub fn new(num_envs: usize, gamma: f64) -> Self {
        Self {
            gamma,
            returns: vec![0.0; num_envs],
            count: 0.0,
            mean: 0.0,
            m2: 0.0,
        }
    }

    /// Restarts every environment's return (the environments were reset).
    pub fn reset(&mut self) {
        self.returns.fill(0.0);
    }

    /// Folds in one step of rewards and episode ends (Chan et al.'s parallel variance update).
    pub fn observe(&mut self, rewards: &[f32], done: &[bool]) {
        let n = rewards.len() as f64;
        let mut sum = 0.0;
        for (ret, &r) in self.returns.iter_mut().zip(rewards) {
            *ret = self.gamma * *ret + f64::from(r);
            sum += *ret;
        }
        let batch_mean = sum / n;
        let batch_m2: f64 = self.returns.iter().map(|r| (r - batch_mean).powi(2)).sum();
        let total = self.count + n;
        let delta = batch_mean - self.mean;
        self.mean += delta * n / total;
        self.m2 += batch_m2 + delta * delta * self.count * n / total;
        self.count = total;
        for (ret, &d) in self.returns.iter_mut().zip(done) {
            if d {
                *ret = 0.0;
            }
        }
    }

    /// The divisor: `sqrt(var + 1e-8)` of the returns seen so far (1 before any).
    pub fn scale(&self) -> f64 {
        if self.count < 2.0 {
            return 1.0;
        }
        (self.m2 / (self.count - 1.0) + 1e-8).sqrt()
    }
}

/// A running mean and variance of every observation feature, and the normalization
/// `clamp((x - mean) / sqrt(var + 1e-8), -10, 10)` (Gymnasium's `NormalizeObservation` and
/// Stable-Baselines3's `VecNormalize`, with the latter's clip). Not in rl8.
///
/// It is updated with the observations of training collects and applied to every observation
/// the model sees, so a trained policy expects normalized inputs: the trainer saves it next to
/// the model (`observation_normalizer.json`), and [`normalize`](Self::normalize) applies it.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rl_algo::ObservationNormalizer;
/// use rl_core::Observation;
///
/// let device = Default::default();
/// let mut norm = ObservationNormalizer::new(2);
/// norm.observe(&[1.0, 10.0, 3.0, 30.0]); // two rows of two features
/// assert_eq!(norm.mean(), &[2.0, 20.0]);
/// let obs = Observation::new(Tensor::<NdArray, 2>::from_floats([[3.0, 20.0]], &device));
/// let x: Vec<f32> = norm.normalize(obs).features.into_data().to_vec().unwrap();
/// assert!((x[0] - 1.0).abs() < 1e-4 && x[1].abs() < 1e-6);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ObservationNormalizer {
    count: f64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl ObservationNormalizer {
    /// Observations beyond this many standard deviations are clipped.
    pub const CLIP: f32 = 10.0;

    /// A normalizer of `features` features that has seen nothing (mean 0, std 1).
    pub fn new(features: usize) -> Self {
        Self {
            count: 0.0,
            mean: vec![0.0; features],
            m2: vec![0.0; features],
        }
    }

    /// The running mean of every feature.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The running (population) standard deviation of every feature, 1 before any data.
    pub fn std(&self) -> Vec<f64> {
        self.m2
            .iter()
            .map(|m2| {
                if self.count > 0.0 {
                    (m2 / self.count).sqrt()
                } else {
                    1.0
                }
            })
            .collect()
    }

    /// Folds in a batch of rows (`values.len()` a multiple of the feature count; Chan et al.'s
    /// parallel update).
    pub fn observe(&mut self, values: &[f32]) {
        let f = self.mean.len();
        if f == 0 || values.is_empty() {
            return;
        }
        let rows = (values.len() / f) as f64;
        for (j, (mean, m2)) in self.mean.iter_mut().zip(&mut self.m2).enumerate() {
            let column = values.iter().skip(j).step_by(f).map(|&x| f64::from(x));
            let batch_mean = column.clone().sum::<f64>() / rows;
            let batch_m2: f64 = column.map(|x| (x - batch_mean).powi(2)).sum();
            let total = self.count + rows;
            let delta = batch_mean - *mean;
            *mean += delta * rows / total;
            *m2 += batch_m2 + delta * delta * self.count * rows / total;
        }
        self.count += rows;
    }

    /// `obs` with its features normalized (the action mask and extra tensors unchanged).
    pub fn normalize<B: Backend>(&self, mut obs: Observation<B>) -> Observation<B> {
        let f = self.mean.len();
        let device = obs.features.device();
        let row = |v: Vec<f32>| Tensor::<B, 1>::from_floats(v.as_slice(), &device).reshape([1, f]);
        let mean = row(self.mean.iter().map(|&m| m as f32).collect());
        let scale = row(self
            .std()
            .iter()
            .map(|&s| (1.0 / (s * s + 1e-8).sqrt()) as f32)
            .collect());
        obs.features = ((obs.features - mean) * scale).clamp(-Self::CLIP, Self::CLIP);
        obs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizer_matches_two_pass_variance_of_discounted_returns() {
        let mut norm = RewardNormalizer::new(2, 0.5);
        let steps: [([f32; 2], [bool; 2]); 4] = [
            ([1.0, 2.0], [false, false]),
            ([1.0, 0.0], [false, true]),
            ([3.0, 1.0], [true, false]),
            ([-1.0, 4.0], [false, false]),
        ];
        for (r, d) in &steps {
            norm.observe(r, d);
        }
        // Returns by hand: env 0: 1, 1.5, 3.75 (then restart), -1; env 1: 2, 1 (restart), 1, 4.5.
        let all = [1.0, 2.0, 1.5, 1.0, 3.75, 1.0, -1.0, 4.5];
        let mean = all.iter().sum::<f64>() / 8.0;
        let var = all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 7.0;
        assert!((norm.scale() - (var + 1e-8).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn observation_normalizer_matches_two_pass_statistics() {
        let mut norm = ObservationNormalizer::new(2);
        let batches: [&[f32]; 3] = [&[1.0, -2.0, 3.0, 0.5], &[7.0, 1.0], &[-1.0, 4.0, 2.0, 2.0]];
        for b in batches {
            norm.observe(b);
        }
        let all: Vec<f32> = batches.concat();
        for j in 0..2 {
            let col: Vec<f64> = all
                .iter()
                .skip(j)
                .step_by(2)
                .map(|&x| f64::from(x))
                .collect();
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / col.len() as f64;
            assert!((norm.mean()[j] - mean).abs() < 1e-12);
            assert!((norm.std()[j] - var.sqrt()).abs() < 1e-12);
        }
        assert_eq!(ObservationNormalizer::new(3).std(), vec![1.0; 3]);
    }
}
