//! `collect()`, shared by both PPO algorithms: step all environments for one horizon, record
//! what the update needs, and report rl8's collect statistics.
//!
//! [`Runner`] holds everything the two algorithms keep besides their model and optimizer. The
//! one difference between them while acting, the recurrent state, is behind [`Acting`].

use std::time::Instant;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rl_core::{Distribution, Env, EnvConfig, Observation, PolicyOutput};
use rl_functional::host::{read_bool, read_f32};

use crate::config::AlgorithmConfig;
use crate::error::{AlgoError, Result};
use crate::rollout::{Episodes, ObservationNormalizer, RewardNormalizer, Rollout, summary};
use crate::schedule::Schedule;
use crate::stats::Stats;

/// The acting (non-autodiff) backend of `B`.
pub(crate) type Inner<B> = <B as AutodiffBackend>::InnerBackend;

/// How a policy acts during a collect: the feed-forward model directly, the recurrent one with
/// a state carried from step to step.
pub(crate) trait Acting<B: Backend> {
    /// The action distribution.
    type Dist: Distribution<B>;

    /// The policy at step `t` of the horizon for every environment (a recurrent policy moves
    /// on to the state after this step).
    fn act(&mut self, obs: &Observation<B>, t: usize) -> Result<PolicyOutput<B, Self::Dist>>;

    /// The values of the final (pre-reset) observations of the environments `rows`, whose
    /// episodes were truncated by the step just taken.
    fn final_values(&self, obs: &Observation<B>, rows: Tensor<B, 1, Int>) -> Result<Tensor<B, 2>>;

    /// Called after each step with the environments whose episodes ended.
    fn episodes_ended(&mut self, done: &[bool]) -> Result<()>;

    /// The values of the observations after the horizon's last step (the bootstrap).
    fn bootstrap_values(&self, obs: &Observation<B>) -> Result<Tensor<B, 2>>;
}

/// Everything a PPO algorithm keeps besides its model and optimizer.
pub(crate) struct Runner<B: AutodiffBackend, E> {
    pub config: AlgorithmConfig,
    pub env: E,
    pub rng: StdRng,
    pub lr: Schedule,
    pub entropy: Schedule,
    /// Collect calls so far, evaluation included (rl8's `state.horizons`).
    pub horizons: u64,
    /// Environment transitions trained on (the schedules' count).
    pub trained_steps: u64,
    last_obs: Option<Observation<Inner<B>>>,
    /// What the last training collect buffered for `step()`.
    pub rollout: Option<Rollout<Inner<B>>>,
    normalizer: RewardNormalizer,
    /// With `normalize_observations`: the running observation statistics.
    pub observations: Option<ObservationNormalizer>,
    episodes: Episodes,
    /// Wall time of the last training collect.
    pub collect_seconds: f64,
}

impl<B: AutodiffBackend, E: Env<Inner<B>>> Runner<B, E> {
    /// Checks that `env` holds `config.num_envs` environments (the config is validated by the
    /// caller).
    pub fn new(config: AlgorithmConfig, env: E) -> Result<Self> {
        if env.num_envs() != config.num_envs {
            return Err(AlgoError::Mismatch {
                what: format!("environment `{}`: num_envs", env.name()),
                expected: format!("{} (config.num_envs)", config.num_envs),
                actual: env.num_envs().to_string(),
            });
        }
        Ok(Self {
            lr: config.lr_schedule()?,
            entropy: config.entropy_schedule()?,
            rng: StdRng::seed_from_u64(config.seed),
            normalizer: RewardNormalizer::new(config.num_envs, config.gamma),
            observations: config
                .normalize_observations
                .then(|| ObservationNormalizer::new(env.observation_space().flat_dim())),
            episodes: Episodes::new(config.num_envs),
            config,
            env,
            horizons: 0,
            trained_steps: 0,
            last_obs: None,
            rollout: None,
            collect_seconds: 0.0,
        })
    }

    /// The reward scale the next `step()` divides by.
    pub fn reward_scale(&self) -> f64 {
        if self.config.normalize_rewards {
            self.normalizer.scale()
        } else {
            1.0
        }
    }

    /// Whether the next collect resets the environments: at the first collect, then when
    /// `horizons % horizons_per_env_reset == 0` (never again when it is negative).
    pub fn resets_next(&self) -> bool {
        let hper = self.config.horizons_per_env_reset;
        self.last_obs.is_none() || (hper > 0 && self.horizons.is_multiple_of(hper as u64))
    }

    /// rl8's `collect(env_config, deterministic)` with `policy`; see
    /// [`Algorithm::collect_with`](crate::Algorithm::collect_with).
    pub fn collect<P: Acting<Inner<B>>>(
        &mut self,
        policy: &mut P,
        env_config: Option<&EnvConfig>,
        deterministic: bool,
    ) -> Result<Stats> {
        let start = Instant::now();
        let n = self.config.num_envs;
        let horizon = self.config.horizon;
        let reset = self.resets_next();
        let mut obs = match self.last_obs.take() {
            Some(obs) if !reset => obs,
            _ => {
                let obs = self.env.reset(env_config)?;
                self.episodes.reset();
                self.normalizer.reset();
                obs
            }
        };
        obs.check_finite("observation after reset")?;
        // A carried-over observation was normalized when it was first seen.
        if reset {
            obs = normalized(&mut self.observations, obs, !deterministic)?;
        }
        let mut rollout = (!deterministic).then(|| Rollout::new(n, horizon));
        let mut horizon_returns = vec![0.0f64; n];
        let mut all_rewards = Vec::with_capacity(n * horizon);
        self.episodes.take_count();
        for t in 0..horizon {
            let out = policy.act(&obs, t)?;
            let actions = if deterministic {
                out.dist.mode()
            } else {
                out.dist.sample(&mut self.rng)
            };
            let step = self.env.step(&actions)?;
            let what = |thing: &str| format!("{thing} of `{}`", self.env.name());
            let rewards = read_f32(step.reward.clone(), "collect", "reward")?;
            if rewards.len() != n {
                return Err(AlgoError::Mismatch {
                    what: what("reward"),
                    expected: format!("[{n}]"),
                    actual: format!("[{}]", rewards.len()),
                });
            }
            if let Some(i) = rewards.iter().position(|r| !r.is_finite()) {
                return Err(AlgoError::NonFinite {
                    what: what("reward"),
                    detail: format!(
                        "environment {i} at step {t} of collect {}: {}",
                        self.horizons, rewards[i]
                    ),
                });
            }
            step.obs.check_finite(&what("observation"))?;
            let terminated = read_bool(step.terminated.clone(), "collect", "terminated")?;
            let truncated = read_bool(step.truncated.clone(), "collect", "truncated")?;
            let done: Vec<bool> = terminated
                .iter()
                .zip(&truncated)
                .map(|(a, b)| *a || *b)
                .collect();
            if let Some(r) = rollout.as_mut() {
                let logp = out.dist.log_prob(&actions)?;
                let cut: Vec<i64> = (0..n)
                    .filter(|&i| truncated[i] && !terminated[i])
                    .map(|i| i as i64)
                    .collect();
                if !cut.is_empty() {
                    let Some(final_obs) = &step.final_obs else {
                        return Err(AlgoError::Mismatch {
                            what: what("truncated step"),
                            expected: "final_obs (the pre-reset observation) to bootstrap from"
                                .into(),
                            actual: "None".into(),
                        });
                    };
                    let device = final_obs.features.device();
                    let rows = cut.len();
                    let idx = Tensor::<Inner<B>, 1, Int>::from_data(
                        TensorData::new(cut.clone(), [rows]),
                        &device,
                    );
                    let finals = final_obs.select(idx.clone());
                    finals.check_finite(&what("final observation"))?;
                    let finals = normalized(&mut self.observations, finals, false)?;
                    let v = read_f32(
                        policy.final_values(&finals, idx)?,
                        "collect",
                        "final values",
                    )?;
                    r.truncated_values
                        .extend(cut.iter().zip(v).map(|(&i, v)| (t * n + i as usize, v)));
                }
                r.obs.push(obs);
                r.actions.push(actions);
                r.logp.push(logp);
                r.values.push(out.values);
                r.rewards.extend_from_slice(&rewards);
                r.done.extend_from_slice(&done);
                r.terminated.extend_from_slice(&terminated);
                self.normalizer.observe(&rewards, &done);
            }
            policy.episodes_ended(&done)?;
            for (ret, &x) in horizon_returns.iter_mut().zip(&rewards) {
                *ret += f64::from(x);
            }
            all_rewards.extend(rewards.iter().map(|&x| f64::from(x)));
            self.episodes.observe(&rewards, &done, deterministic);
            obs = normalized(&mut self.observations, step.obs, !deterministic)?;
        }
        if let Some(mut r) = rollout {
            r.values.push(policy.bootstrap_values(&obs)?);
            self.rollout = Some(r);
        }
        self.last_obs = Some(obs);
        self.horizons += 1;

        let seconds = start.elapsed().as_secs_f64();
        if !deterministic {
            self.collect_seconds = seconds;
        }
        let mut stats = Stats::new();
        stats.insert("env/resets", if reset { n as f64 } else { 0.0 });
        stats.insert("env/steps", (n * horizon) as f64);
        stats.insert("profiling/collect_ms", seconds * 1e3);
        stats.insert(
            "profiling/collect_transitions_per_s",
            (n * horizon) as f64 / seconds,
        );
        // All T rewards of the horizon: rl8's recurrent collect drops the first one (its bug
        // list, item 2); both algorithms report the same statistics here.
        for (prefix, values) in [
            ("returns", summary(horizon_returns.into_iter())),
            ("rewards", summary(all_rewards.into_iter())),
        ] {
            for (name, v) in ["min", "max", "mean", "std"].iter().zip(values) {
                stats.insert(format!("{prefix}/{name}"), v);
            }
        }
        stats.insert("episode/count", self.episodes.take_count() as f64);
        match self.episodes.means(deterministic) {
            Some((ret, len)) => {
                stats.insert("episode/return_mean", ret);
                stats.insert("episode/length_mean", len);
            }
            None if !self.episodes.ever_finished => {
                let mean = stats.get("returns/mean").unwrap_or(f64::NAN);
                stats.insert("episode/return_mean", mean);
            }
            None => {}
        }
        Ok(stats)
    }
}

/// `obs` normalized by `normalizer` (unchanged without one), which first folds `obs` in when
/// `update`.
fn normalized<B: Backend>(
    normalizer: &mut Option<ObservationNormalizer>,
    obs: Observation<B>,
    update: bool,
) -> Result<Observation<B>> {
    let Some(n) = normalizer else {
        return Ok(obs);
    };
    if update {
        n.observe(&read_f32(obs.features.clone(), "collect", "observation")?);
    }
    Ok(n.normalize(obs))
}
