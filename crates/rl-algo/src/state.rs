//! [`TrainState`]: everything the engine keeps between calls besides the environments, the
//! model, the optimizer and the policy's own state: counters, schedules, the RNG, the
//! normalizers, the episode windows and the buffered rollout. A checkpoint saves exactly this.

use burn::tensor::backend::Backend;
use chacha20::ChaCha12Rng;
use rand::SeedableRng;
use rl_core::Observation;

use crate::config::PpoConfig;
use crate::episodes::Episodes;
use crate::error::Result;
use crate::normalizer::{ObservationNormalizer, RewardNormalizer};
use crate::rollout::Rollout;
use crate::schedule::Schedule;

/// The engine's state between calls, on the acting backend `B`.
#[derive(Debug)]
pub(crate) struct TrainState<B: Backend> {
    /// Action sampling and minibatch shuffling (rand's `StdRng`, whose position a checkpoint
    /// can save).
    pub rng: ChaCha12Rng,
    pub lr: Schedule,
    pub entropy: Schedule,
    /// Collect calls so far, evaluation included (rl8's `state.horizons`).
    pub horizons: u64,
    /// Environment transitions trained on (the schedules' count).
    pub trained_steps: u64,
    /// The observation the next collect continues from (normalized when it was seen).
    pub last_obs: Option<Observation<B>>,
    /// What the last training collect buffered for `step()`.
    pub rollout: Option<Rollout<B>>,
    pub rewards: RewardNormalizer,
    /// With `normalize_observations`: the running observation statistics.
    pub observations: Option<ObservationNormalizer>,
    pub episodes: Episodes,
    /// Wall time of the last training collect.
    pub collect_seconds: f64,
}

impl<B: Backend> TrainState<B> {
    /// The state before the first collect, for a validated `config` and observations of
    /// `features` features.
    pub fn new(config: &PpoConfig, features: usize) -> Result<Self> {
        Ok(Self {
            rng: ChaCha12Rng::seed_from_u64(config.seed),
            lr: config.lr_schedule()?,
            entropy: config.entropy_schedule()?,
            horizons: 0,
            trained_steps: 0,
            last_obs: None,
            rollout: None,
            rewards: RewardNormalizer::new(config.num_envs, config.gamma),
            observations: config
                .normalize_observations
                .then(|| ObservationNormalizer::new(features)),
            episodes: Episodes::new(config.num_envs, config.episode_window),
            collect_seconds: 0.0,
        })
    }

    /// Whether the next collect resets the environments: at the first collect, then on the
    /// `env_reset` schedule.
    pub fn resets_next(&self, config: &PpoConfig) -> bool {
        self.last_obs.is_none() || config.env_reset.at(self.horizons)
    }

    /// The reward scale the next `step()` divides by.
    pub fn reward_scale(&self, config: &PpoConfig) -> f64 {
        if config.normalize_rewards {
            self.rewards.scale()
        } else {
            1.0
        }
    }
}
