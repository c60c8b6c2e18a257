//! [`Algorithm`]: feed-forward PPO. `collect()` steps the environments for one horizon with
//! the current policy; `step()` computes advantages and trains on what was collected.

use std::path::Path;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rl_core::{Action, Distribution, Env, EnvConfig, Model, Observation};
use rl_functional::host::{read_bool, read_f32};
use rl_functional::{PpoLossConfig, Trajectories, ValueLossKind, gae, normalize};

use crate::config::AlgorithmConfig;
use crate::error::{AlgoError, Result};
use crate::models::DefaultModel;
use crate::rollout::{Episodes, RewardNormalizer, Rollout, summary};
use crate::schedule::Schedule;
use crate::stats::Stats;
use crate::update::{Forward, Targets, UpdateSettings, ppo_update};

/// The acting (non-autodiff) backend of `B`.
type Inner<B> = <B as AutodiffBackend>::InnerBackend;
/// The acting copy of the model `M`.
type Actor<B, M> = <M as AutodiffModule<B>>::InnerModule;

/// Feed-forward PPO over a batched environment (rl8's `Algorithm`).
///
/// * `B`: the training backend (autodiff); acting runs on its inner backend.
/// * `E`: the environments, on the inner backend.
/// * `M`: the model; its [`Model::Dist`] is the action distribution.
///
/// The loop is rl8's: [`collect`](Self::collect) one horizon of `horizon` steps of all
/// `num_envs` environments, then [`step`](Self::step) (advantages, then `num_sgd_iters` epochs of
/// minibatch PPO). [`Trainer`](crate::Trainer) runs that loop with stop conditions,
/// evaluation, a CSV and a plot.
///
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use rl_algo::AlgorithmConfig;
/// use rl_core::DiscreteDummyEnv;
///
/// type B = Autodiff<NdArray>;
/// let device = Default::default();
/// let config = AlgorithmConfig::new().with_num_envs(16).with_horizon(8);
/// let env = DiscreteDummyEnv::new(16, 0, &device)?;
/// let mut algo = config.init::<B, _>(env, &device)?;
/// let collected = algo.collect()?;
/// assert_eq!(collected.get("env/steps"), Some(128.0));
/// let trained = algo.step()?;
/// assert!(trained.get("losses/total").unwrap().is_finite());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Algorithm<B, E, M>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    M: Model<B> + AutodiffModule<B>,
    Actor<B, M>: Model<Inner<B>>,
{
    config: AlgorithmConfig,
    env: E,
    model: Option<M>,
    optimizer: OptimizerAdaptor<Adam, M, B>,
    rng: StdRng,
    lr: Schedule,
    entropy: Schedule,
    horizons: u64,
    trained_steps: u64,
    last_obs: Option<Observation<Inner<B>>>,
    rollout: Option<Rollout<Inner<B>>>,
    normalizer: RewardNormalizer,
    episodes: Episodes,
    collect_seconds: f64,
}

impl AlgorithmConfig {
    /// Builds feed-forward PPO with the default model for `env`'s spaces
    /// ([`DefaultModelConfig::init`](crate::DefaultModelConfig::init) with
    /// [`AlgorithmConfig::model`] and [`AlgorithmConfig::seed`]: the same seed gives the same
    /// initial weights on every backend).
    ///
    /// # Errors
    /// See [`Algorithm::with_model`], plus the default model's rules.
    pub fn init<B, E>(&self, env: E, device: &B::Device) -> Result<Algorithm<B, E, DefaultModel<B>>>
    where
        B: AutodiffBackend,
        E: Env<Inner<B>>,
    {
        self.validate()?;
        let model = self.model.init::<B>(
            env.observation_space(),
            env.action_space(),
            self.seed,
            device,
        )?;
        Algorithm::with_model(self.clone(), env, model)
    }
}

impl<B, E, M> Algorithm<B, E, M>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    M: Model<B> + AutodiffModule<B>,
    Actor<B, M>: Model<Inner<B>>,
{
    /// Feed-forward PPO with a model of your own (rl8's `model=` / `model_cls=`). The config is
    /// validated first; `env` must hold `config.num_envs` environments.
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] naming the first bad field, or [`AlgoError::Mismatch`] when
    /// the environment's batch size differs from `num_envs`.
    pub fn with_model(config: AlgorithmConfig, env: E, model: M) -> Result<Self> {
        config.validate()?;
        if env.num_envs() != config.num_envs {
            return Err(AlgoError::Mismatch {
                what: format!("environment `{}`: num_envs", env.name()),
                expected: format!("{} (config.num_envs)", config.num_envs),
                actual: env.num_envs().to_string(),
            });
        }
        let optimizer = AdamConfig::new()
            .with_beta_1(config.optimizer.beta_1)
            .with_beta_2(config.optimizer.beta_2)
            .with_epsilon(config.optimizer.epsilon)
            .init();
        Ok(Self {
            lr: config.lr_schedule()?,
            entropy: config.entropy_schedule()?,
            rng: StdRng::seed_from_u64(config.seed),
            normalizer: RewardNormalizer::new(config.num_envs, config.gamma),
            episodes: Episodes::new(config.num_envs),
            config,
            env,
            model: Some(model),
            optimizer,
            horizons: 0,
            trained_steps: 0,
            last_obs: None,
            rollout: None,
            collect_seconds: 0.0,
        })
    }

    /// The config.
    pub fn config(&self) -> &AlgorithmConfig {
        &self.config
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        // Only `step` takes the model out, and it always puts it back.
        self.model
            .as_ref()
            .expect("the model is always present between calls")
    }

    /// The environments.
    pub fn env(&self) -> &E {
        &self.env
    }

    /// Collect calls so far, evaluation collects included (rl8's `state.horizons`).
    pub fn horizons(&self) -> u64 {
        self.horizons
    }

    /// Environment transitions trained on so far (the schedules' count).
    pub fn trained_steps(&self) -> u64 {
        self.trained_steps
    }

    /// The learning rate the next `step()` uses.
    pub fn learning_rate(&self) -> f64 {
        self.lr.value(self.trained_steps)
    }

    /// The entropy coefficient the next `step()` uses.
    pub fn entropy_coeff(&self) -> f64 {
        self.entropy.value(self.trained_steps)
    }

    /// Collects one horizon with the stochastic policy and buffers it for [`step`](Self::step).
    ///
    /// # Errors
    /// See [`collect_with`](Self::collect_with).
    pub fn collect(&mut self) -> Result<Stats> {
        self.collect_with(None, false)
    }

    /// Collects one horizon with the deterministic policy (the mode of each distribution),
    /// for evaluation: nothing is buffered and the reward normalizer is not updated. It still
    /// advances the reset cadence, as rl8's evaluation does.
    ///
    /// # Errors
    /// See [`collect_with`](Self::collect_with).
    pub fn evaluate(&mut self) -> Result<Stats> {
        self.collect_with(None, true)
    }

    /// rl8's `collect(env_config, deterministic)`: steps all environments `horizon` times.
    ///
    /// The environments are reset (with `env_config`) at the first collect and then whenever
    /// `horizons % horizons_per_env_reset == 0` (never again when it is negative); otherwise
    /// the horizon continues from the last observation. A truncated step's bootstrap value is
    /// the value of its final, pre-reset observation; a terminated step bootstraps nothing.
    ///
    /// Returns rl8's collect statistics (`env/resets`, `env/steps`, `profiling/collect_ms`,
    /// `returns/{min,max,mean,std}` (per environment, summed over the horizon),
    /// `rewards/{min,max,mean,std}`) plus
    /// `episode/count` (episodes finished in this collect) and `episode/return_mean` /
    /// `episode/length_mean`: the means over the last `num_envs` finished episodes (about the
    /// latest episode of each environment; evaluation collects keep their own window). For an
    /// environment that has never ended an episode (rl8's infinite-horizon tasks),
    /// `episode/return_mean` is `returns/mean`, the mean return over the horizon.
    ///
    /// # Errors
    /// Environment or model errors, and [`AlgoError::NonFinite`] naming the environment and
    /// step of a NaN or infinite reward or observation (nothing is buffered then).
    pub fn collect_with(
        &mut self,
        env_config: Option<&EnvConfig>,
        deterministic: bool,
    ) -> Result<Stats> {
        let start = Instant::now();
        let n = self.config.num_envs;
        let horizon = self.config.horizon;
        let hper = self.config.horizons_per_env_reset;
        let scheduled = hper > 0 && self.horizons.is_multiple_of(hper as u64);
        let reset = scheduled || self.last_obs.is_none();
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
        let actor = self.model().valid();
        let mut rollout = (!deterministic).then(|| Rollout::new(n, horizon));
        let mut horizon_returns = vec![0.0f64; n];
        let mut all_rewards = Vec::with_capacity(n * horizon);
        self.episodes.take_count();
        for t in 0..horizon {
            let out = actor.forward(&obs)?;
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
                    let finals = final_obs.select(idx);
                    finals.check_finite(&what("final observation"))?;
                    let v = read_f32(actor.forward(&finals)?.values, "collect", "final values")?;
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
            for (ret, &x) in horizon_returns.iter_mut().zip(&rewards) {
                *ret += f64::from(x);
            }
            all_rewards.extend(rewards.iter().map(|&x| f64::from(x)));
            self.episodes.observe(&rewards, &done, deterministic);
            obs = step.obs;
        }
        if let Some(mut r) = rollout {
            r.values.push(actor.forward(&obs)?.values);
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

    /// rl8's `step()`: GAE over the buffered horizon (with the running reward scale), advantage
    /// normalization, then `num_sgd_iters` epochs of minibatch PPO with global-norm gradient
    /// clipping, Adam, optional gradient accumulation and KL early stopping.
    ///
    /// Returns rl8's step statistics (`losses/{policy,vf,entropy,total}`, `monitors/kl_div`,
    /// `coefficients/{entropy,vf}`, `profiling/step_ms`) plus `monitors/clip_fraction`,
    /// `monitors/explained_variance`, `monitors/grad_norm`, `monitors/reward_scale`,
    /// `coefficients/learning_rate` and `profiling/transitions_per_s` (collect and step
    /// together).
    ///
    /// # Errors
    /// [`AlgoError::NotBuffered`] without a training collect since the last step;
    /// [`AlgoError::NonFinite`] if a loss is NaN or infinite (that minibatch is not applied).
    pub fn step(&mut self) -> Result<Stats> {
        let rollout = self.rollout.take().ok_or(AlgoError::NotBuffered)?;
        let start = Instant::now();
        let (targets, obs, actions) = self.targets(rollout)?;
        let obs = Observation::<B>::from_inner(obs);
        let actions = Action::<B>::from_inner(actions);
        let c = &self.config;
        let learning_rate = self.lr.value(self.trained_steps);
        let entropy_coeff = self.entropy.value(self.trained_steps);
        let settings = UpdateSettings {
            epochs: c.num_sgd_iters,
            units: c.buffer_size(),
            rows_per_unit: 1,
            units_per_minibatch: c.minibatch_size(),
            shuffle: c.shuffle_minibatches,
            accumulate: c.accumulate_grads,
            target_kl: c.target_kl_div,
            max_grad_norm: c.max_grad_norm,
            learning_rate,
            loss: PpoLossConfig {
                clip_param: c.clip_param as f32,
                dual_clip_param: c.dual_clip_param.map(|x| x as f32),
                entropy_coeff: entropy_coeff as f32,
                vf_clip_param: Some(c.vf_clip_param as f32),
                vf_coeff: c.vf_coeff as f32,
                value_clip: None,
                value_loss: ValueLossKind::Huber,
            },
        };
        let mut stats = ppo_update(
            &mut self.model,
            &mut self.optimizer,
            &targets,
            &settings,
            &mut self.rng,
            |model: &M, rows| {
                let (obs, actions) = match rows {
                    None => (obs.clone(), actions.clone()),
                    Some(rows) => {
                        let rows = Tensor::<B, 1, Int>::from_inner(rows.clone());
                        (obs.select(rows.clone()), actions.select(rows))
                    }
                };
                let out = model.forward(&obs)?;
                Ok(Forward {
                    logp: out.dist.log_prob(&actions)?,
                    entropy: out.dist.entropy(),
                    values: out.values,
                })
            },
        )?;
        let transitions = self.config.buffer_size();
        self.trained_steps += transitions as u64;
        let seconds = start.elapsed().as_secs_f64();
        stats.insert("coefficients/entropy", entropy_coeff);
        stats.insert("coefficients/vf", self.config.vf_coeff);
        stats.insert("coefficients/learning_rate", learning_rate);
        stats.insert("monitors/reward_scale", self.reward_scale());
        stats.insert("profiling/step_ms", seconds * 1e3);
        stats.insert(
            "profiling/transitions_per_s",
            transitions as f64 / (seconds + self.collect_seconds),
        );
        Ok(stats)
    }

    fn reward_scale(&self) -> f64 {
        if self.config.normalize_rewards {
            self.normalizer.scale()
        } else {
            1.0
        }
    }

    /// Advantages and value targets (time-major rows `t * N + n`), plus the stacked
    /// observations and actions.
    #[allow(clippy::type_complexity)]
    fn targets(
        &self,
        rollout: Rollout<Inner<B>>,
    ) -> Result<(Targets<Inner<B>>, Observation<Inner<B>>, Action<Inner<B>>)> {
        let n = rollout.num_envs;
        let t_len = rollout.horizon();
        let device = rollout.values[0].device();
        let values = read_f32(Tensor::cat(rollout.values, 0), "step", "values")?;
        let scale = self.reward_scale() as f32;
        // Batch-major [N, T] host copies for the estimator.
        let bm = |f: &dyn Fn(usize, usize) -> f32| -> Vec<f32> {
            (0..n)
                .flat_map(|e| (0..t_len).map(move |t| (e, t)))
                .map(|(e, t)| f(e, t))
                .collect()
        };
        let mut next_values: Vec<f32> = values[n..].to_vec();
        for &(row, v) in &rollout.truncated_values {
            next_values[row] = v;
        }
        let upload =
            |v: Vec<f32>| Tensor::<Inner<B>, 2>::from_data(TensorData::new(v, [n, t_len]), &device);
        let flags = |v: &[bool]| {
            let bm: Vec<bool> = (0..n)
                .flat_map(|e| (0..t_len).map(move |t| v[t * n + e]))
                .collect();
            Tensor::<Inner<B>, 2, Bool>::from_data(TensorData::new(bm, [n, t_len]), &device)
        };
        let estimate = gae(
            &Trajectories {
                rewards: upload(bm(&|e, t| rollout.rewards[t * n + e] / scale)),
                values: upload(bm(&|e, t| values[t * n + e])),
                next_values: upload(bm(&|e, t| next_values[t * n + e])),
                done: flags(&rollout.done),
                terminated: flags(&rollout.terminated),
            },
            self.config.gamma as f32,
            self.config.gae_lambda as f32,
        )?;
        // Back to time-major rows.
        let to_rows = |x: Tensor<Inner<B>, 2>, what: &'static str| -> Result<Tensor<Inner<B>, 2>> {
            let h = read_f32(x, "step", what)?;
            let tm: Vec<f32> = (0..t_len)
                .flat_map(|t| (0..n).map(move |e| (t, e)))
                .map(|(t, e)| h[e * t_len + t])
                .collect();
            Ok(Tensor::from_data(
                TensorData::new(tm, [n * t_len, 1]),
                &device,
            ))
        };
        let mut advantages = to_rows(estimate.advantages, "advantages")?;
        if self.config.normalize_advantages {
            advantages = normalize(advantages);
        }
        let targets = Targets {
            logp_old: Tensor::cat(rollout.logp, 0),
            advantages,
            returns: to_rows(estimate.value_targets, "value targets")?,
        };
        Ok((
            targets,
            Observation::cat(rollout.obs)?,
            Action::cat(rollout.actions)?,
        ))
    }

    /// Saves the model's parameters (Burn's named MessagePack format, full precision) to
    /// `path` (the extension `.mpk` is added).
    ///
    /// # Errors
    /// [`AlgoError::Record`] naming the file.
    pub fn save_model(&self, path: impl AsRef<Path>) -> Result<()> {
        save_model(self.model().clone(), path)
    }

    /// Replaces the model's parameters with those saved at `path` by
    /// [`save_model`](Self::save_model) (for a model of the same architecture).
    ///
    /// # Errors
    /// [`AlgoError::Record`] naming the file.
    pub fn load_model(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let model = self.model().clone();
        let device = model.devices().into_iter().next().unwrap_or_default();
        self.model = Some(load_model(model, path, &device)?);
        Ok(())
    }
}

/// Saves any Burn module's parameters to `path` (Burn's named MessagePack format, full
/// precision; `.mpk` is added).
///
/// # Errors
/// [`AlgoError::Record`] naming the file.
pub fn save_model<B: Backend, M: burn::module::Module<B>>(
    model: M,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    model
        .save_file(path, &NamedMpkFileRecorder::<FullPrecisionSettings>::new())
        .map_err(|e| AlgoError::Record {
            action: "save",
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Loads parameters saved by [`save_model`] into `model` (built with the same architecture).
///
/// # Errors
/// [`AlgoError::Record`] naming the file: missing, unreadable, or saved from another
/// architecture (other layers, other parameter shapes).
pub fn load_model<B: Backend, M: burn::module::Module<B>>(
    model: M,
    path: impl AsRef<Path>,
    device: &B::Device,
) -> Result<M> {
    let path = path.as_ref();
    let error = |message: String| AlgoError::Record {
        action: "load",
        path: path.to_path_buf(),
        message,
    };
    let expected = parameter_shapes(&model);
    let record = NamedMpkFileRecorder::<FullPrecisionSettings>::new()
        .load(path.to_path_buf(), device)
        .map_err(|e| error(e.to_string()))?;
    // Burn panics when a saved enum variant (e.g. another activation) differs from the model's.
    let loaded =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.load_record(record)))
            .map_err(|_| error("the saved model has another architecture".into()))?;
    let found = parameter_shapes(&loaded);
    if found != expected {
        return Err(error(format!(
            "the saved parameters have shapes {found:?}, the model {expected:?}"
        )));
    }
    Ok(loaded)
}

/// The shape of every float parameter of `model`, in visiting order.
fn parameter_shapes<B: Backend, M: burn::module::Module<B>>(model: &M) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl<B: Backend> burn::module::ModuleVisitor<B> for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
            self.0.push(param.val().dims().to_vec());
        }
    }
    let mut shapes = Shapes(Vec::new());
    model.visit(&mut shapes);
    shapes.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::module::{Module, Param};
    use burn::tensor::Tensor;
    use rl_core::{Categorical, CoreError, PolicyOutput, Space, Transition};

    type AD = Autodiff<NdArray>;
    type I = NdArray;

    /// Two environments whose observation is the step count of the episode. Reward 1 per
    /// step. After 3 steps environment 0 terminates and environment 1 is truncated; both
    /// reset to 0.
    struct Walk {
        pos: Vec<f32>,
        obs_space: Space,
        act_space: Space,
        device: burn::tensor::ops::Device<I>,
    }

    impl Walk {
        fn new() -> Self {
            Self {
                pos: vec![0.0; 2],
                obs_space: Space::unbounded(vec![1]).unwrap(),
                act_space: Space::discrete(2).unwrap(),
                device: Default::default(),
            }
        }
        fn obs(&self, v: Vec<f32>) -> Observation<I> {
            Observation::new(Tensor::from_data(TensorData::new(v, [2, 1]), &self.device))
        }
    }

    impl Env<I> for Walk {
        fn name(&self) -> &str {
            "Walk"
        }
        fn num_envs(&self) -> usize {
            2
        }
        fn observation_space(&self) -> &Space {
            &self.obs_space
        }
        fn action_space(&self) -> &Space {
            &self.act_space
        }
        fn device(&self) -> &burn::tensor::ops::Device<I> {
            &self.device
        }
        fn reset(&mut self, _: Option<&EnvConfig>) -> rl_core::Result<Observation<I>> {
            self.pos = vec![0.0; 2];
            Ok(self.obs(self.pos.clone()))
        }
        fn step(&mut self, _: &Action<I>) -> rl_core::Result<Transition<I>> {
            let reached: Vec<f32> = self.pos.iter().map(|p| p + 1.0).collect();
            let done = reached[0] >= 3.0;
            self.pos = if done { vec![0.0; 2] } else { reached.clone() };
            let flags = |v: [bool; 2]| {
                Tensor::<I, 1, Bool>::from_data(TensorData::new(v.to_vec(), [2]), &self.device)
            };
            Ok(Transition {
                obs: self.obs(self.pos.clone()),
                reward: Tensor::from_data(TensorData::new(vec![1.0f32; 2], [2]), &self.device),
                terminated: flags([done, false]),
                truncated: flags([false, done]),
                final_obs: done.then(|| self.obs(reached)),
            })
        }
    }

    /// Uniform policy; value = w * obs with w = 1.
    #[derive(Module, Debug)]
    struct Linear1<B: Backend> {
        w: Param<Tensor<B, 1>>,
    }

    impl<B: Backend> Model<B> for Linear1<B> {
        type Dist = Categorical<B>;
        fn forward(
            &self,
            obs: &Observation<B>,
        ) -> std::result::Result<PolicyOutput<B, Categorical<B>>, CoreError> {
            let n = obs.batch_size();
            let values = obs.features.clone() * self.w.val().unsqueeze_dim::<2>(0);
            Ok(PolicyOutput {
                dist: Categorical::new(Tensor::zeros([n, 1, 2], &obs.features.device())),
                values,
            })
        }
    }

    #[test]
    fn truncation_bootstraps_from_the_final_observation_and_termination_does_not() {
        let device = Default::default();
        let config = AlgorithmConfig::new()
            .with_num_envs(2)
            .with_horizon(4)
            .with_gamma(0.5)
            .with_gae_lambda(1.0)
            .with_normalize_rewards(false)
            .with_normalize_advantages(false);
        let model = Linear1::<AD> {
            w: Param::from_tensor(Tensor::ones([1], &device)),
        };
        let mut algo = Algorithm::with_model(config, Walk::new(), model).unwrap();
        algo.collect().unwrap();
        let rollout = algo.rollout.take().unwrap();
        assert_eq!(rollout.truncated_values, vec![(2 * 2 + 1, 3.0)]);
        let (targets, _, _) = algo.targets(rollout).unwrap();
        let returns = read_f32(targets.returns, "test", "returns").unwrap();
        // Rows are t * 2 + env. By hand (V(s) = s, gamma 0.5, lambda 1):
        // t=3: both restarted at 0 -> 1, bootstrap V(1): 1 + 0.5 * 1 = 1.5.
        // t=2: env 0 terminated: 1; env 1 truncated at 3: 1 + 0.5 * V(3) = 2.5.
        // t=1: 1 + 0.5 * 1 = 1.5; 1 + 0.5 * 2.5 = 2.25. t=0: 1.75; 2.125.
        let want = [1.75, 2.125, 1.5, 2.25, 1.0, 2.5, 1.5, 1.5];
        for (i, (g, w)) in returns.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() < 1e-6,
                "row {i}: {g} vs {w} (all {returns:?})"
            );
        }
        let stats = algo.evaluate().unwrap();
        assert_eq!(stats.get("episode/count"), Some(2.0));
        assert_eq!(stats.get("episode/length_mean"), Some(3.0));
        assert_eq!(stats.get("episode/return_mean"), Some(3.0));
    }

    #[test]
    fn step_without_collect_is_an_error_and_non_finite_rewards_are_reported() {
        let device = Default::default();
        let config = AlgorithmConfig::new().with_num_envs(2).with_horizon(4);
        let model = Linear1::<AD> {
            w: Param::from_tensor(Tensor::ones([1], &device)),
        };
        let mut algo = Algorithm::with_model(config.clone(), Walk::new(), model.clone()).unwrap();
        assert!(matches!(algo.step(), Err(AlgoError::NotBuffered)));
        assert!(matches!(
            Algorithm::with_model(config.with_num_envs(3), Walk::new(), model),
            Err(AlgoError::Mismatch { .. })
        ));
    }
}
