//! [`Ppo`]: the one PPO engine. `collect()` steps the environments for one horizon with the
//! current policy (`collect.rs`); `step()` turns the rollout into targets (`rollout.rs`) and
//! trains on them (`update.rs`). Feed-forward and recurrent PPO differ only in their
//! [`Policy`] (`policy/`).

use std::path::Path;
use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use rl_core::{Env, EnvConfig, Model, RecurrentModel, SavedRng, Space};
use rl_functional::{PpoLossConfig, ValueLossKind};

use crate::checkpoint::{
    CheckpointProblem, EngineState, SavedObservation, config_differences, pack, unpack,
};
use crate::collect::collect;
use crate::config::{
    AlgorithmConfig, PpoConfig, RecurrenceConfig, RecurrentAlgorithmConfig, Reset,
};
use crate::error::{AlgoError, Result};
use crate::models::DefaultModel;
use crate::normalizer::ObservationNormalizer;
use crate::policy::{Actor, FeedForward, Inner, Policy, Recurrent, device_of};
use crate::record::{
    LoadError, load_model, model_from_bytes, model_to_bytes, record_from_bytes, record_to_bytes,
    save_model, write_atomic,
};
use crate::recurrent_models::DefaultRecurrentModel;
use crate::rollout::TargetSettings;
use crate::state::TrainState;
use crate::stats::{CollectStats, StepStats};
use crate::trainable::Trainable;
use crate::update::{UpdateSettings, update};

/// PPO over a batched environment, feed-forward or recurrent by its [`Policy`] `P`.
///
/// * `B`: the training backend (autodiff); acting runs on its inner backend.
/// * `E`: the environments, on the inner backend.
/// * `P`: [`FeedForward`] ([`Algorithm`]) or [`Recurrent`] ([`RecurrentAlgorithm`]).
///
/// The loop is rl8's: [`collect`](Self::collect) one horizon of `horizon` steps of all
/// `num_envs` environments, then [`step`](Self::step) (advantages, then `num_sgd_iters` epochs of
/// minibatch PPO). rl-train's `Trainer` runs that loop with stop conditions,
/// evaluation, a CSV and a plot.
pub struct Ppo<B, E, P>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    P: Policy<B>,
{
    config: PpoConfig,
    /// The config the engine was built from, as saved next to a trained model.
    built_from: serde_json::Value,
    env: E,
    state: TrainState<Inner<B>>,
    policy: P,
    model: Option<P::Model>,
    optimizer: OptimizerAdaptor<Adam, P::Model, B>,
}

/// Feed-forward PPO (rl8's `Algorithm`): a [`Model`] acting one step at a time, trained on
/// minibatches of transitions.
///
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use rl_algo::{AlgorithmConfig, PpoConfig};
/// use rl_core::DiscreteDummyEnv;
///
/// type B = Autodiff<NdArray>;
/// let device = Default::default();
/// let config = AlgorithmConfig::new().with_ppo(PpoConfig::new().with_num_envs(16).with_horizon(8));
/// let env = DiscreteDummyEnv::new(16, 0, &device)?;
/// let mut algo = config.init::<B, _>(env, &device)?;
/// let collected = algo.collect()?;
/// assert_eq!(collected.transitions, 128);
/// let trained = algo.step()?;
/// assert!(trained.total_loss.is_finite());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Algorithm<B, E, M> = Ppo<B, E, FeedForward<M>>;

/// Recurrent PPO (rl8's `RecurrentAlgorithm`): a [`RecurrentModel`] stepping one time step at a
/// time with each environment's state, trained on sequences of `seq_len` steps, each run from
/// the state stored at its first step (truncated backpropagation through time).
///
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use rl_algo::{PpoConfig, RecurrenceConfig, RecurrentAlgorithmConfig, RecurrentModelConfig, Reset};
/// use rl_core::DiscreteDummyEnv;
///
/// type B = Autodiff<NdArray>;
/// let device = Default::default();
/// let config = RecurrentAlgorithmConfig::new()
///     .with_ppo(PpoConfig::new().with_num_envs(16).with_horizon(8))
///     .with_recurrence(RecurrenceConfig::new().with_seq_len(4).with_state_reset(Reset::Every(2)))
///     .with_model(RecurrentModelConfig::new().with_hidden_size(16));
/// let env = DiscreteDummyEnv::new(16, 0, &device)?;
/// let mut algo = config.init::<B, _>(env, &device)?;
/// let collected = algo.collect()?;
/// assert_eq!(collected.transitions, 128);
/// assert_eq!(algo.policy().sequences(), 2);
/// let trained = algo.step()?;
/// assert!(trained.total_loss.is_finite());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type RecurrentAlgorithm<B, E, M> = Ppo<B, E, Recurrent<B, M>>;

impl AlgorithmConfig {
    /// Builds feed-forward PPO with the default model for `env`'s spaces
    /// ([`DefaultModelConfig::init`](crate::DefaultModelConfig::init) with
    /// [`AlgorithmConfig::model`] and [`PpoConfig::seed`]: the same seed gives the same
    /// initial weights on every backend).
    ///
    /// # Errors
    /// See [`Ppo::with_model`], plus the default model's rules.
    pub fn init<B, E>(&self, env: E, device: &B::Device) -> Result<Algorithm<B, E, DefaultModel<B>>>
    where
        B: AutodiffBackend,
        E: Env<Inner<B>>,
    {
        self.validate()?;
        self.memory_check(env.observation_space(), env.action_space())?;
        let model =
            |obs: &Space, act: &Space| self.model.init::<B>(obs, act, self.ppo.seed, device);
        Ppo::with_default_model(&self.ppo, to_json(self), env, model, FeedForward::new())
    }
}

impl RecurrentAlgorithmConfig {
    /// Builds recurrent PPO with the default recurrent model for `env`'s spaces
    /// ([`RecurrentModelConfig::init`](crate::RecurrentModelConfig::init) with
    /// [`RecurrentAlgorithmConfig::model`] and `ppo.seed`).
    ///
    /// # Errors
    /// See [`Ppo::with_model`], plus the default model's rules.
    pub fn init<B, E>(
        &self,
        env: E,
        device: &B::Device,
    ) -> Result<RecurrentAlgorithm<B, E, DefaultRecurrentModel<B>>>
    where
        B: AutodiffBackend,
        E: Env<Inner<B>>,
    {
        self.validate()?;
        self.memory_check(env.observation_space(), env.action_space())?;
        let model =
            |obs: &Space, act: &Space| self.model.init::<B>(obs, act, self.ppo.seed, device);
        let policy = Recurrent::new(self.recurrence.clone());
        Ppo::with_default_model(&self.ppo, to_json(self), env, model, policy)
    }
}

impl<B, E, M> Ppo<B, E, FeedForward<M>>
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
    pub fn with_model(config: PpoConfig, env: E, model: M) -> Result<Self> {
        config.validate()?;
        let built_from = to_json(&config);
        Self::build(config, built_from, env, model, FeedForward::new())
    }
}

impl<B, E, M> Ppo<B, E, Recurrent<B, M>>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    M: RecurrentModel<B> + AutodiffModule<B>,
    Actor<B, M>: RecurrentModel<Inner<B>>,
{
    /// Recurrent PPO with a model of your own. The configs are validated first; `env` must
    /// hold `ppo.num_envs` environments.
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] naming the first bad field, or [`AlgoError::Mismatch`] when
    /// the environment's batch size differs from `num_envs`.
    pub fn with_model(
        ppo: PpoConfig,
        recurrence: RecurrenceConfig,
        env: E,
        model: M,
    ) -> Result<Self> {
        recurrence.validate(&ppo)?;
        let built_from =
            serde_json::json!({ "ppo": to_json(&ppo), "recurrence": to_json(&recurrence) });
        Self::build(ppo, built_from, env, model, Recurrent::new(recurrence))
    }
}

impl<B, E, P> Ppo<B, E, P>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    P: Policy<B>,
{
    /// The engine for a validated `ppo` with the model `model` builds for the environments'
    /// observation and action spaces.
    fn with_default_model(
        ppo: &PpoConfig,
        built_from: serde_json::Value,
        env: E,
        model: impl FnOnce(&Space, &Space) -> Result<P::Model>,
        policy: P,
    ) -> Result<Self> {
        let model = model(env.observation_space(), env.action_space())?;
        Self::build(ppo.clone(), built_from, env, model, policy)
    }

    /// The engine for a validated `config`.
    fn build(
        config: PpoConfig,
        built_from: serde_json::Value,
        env: E,
        model: P::Model,
        policy: P,
    ) -> Result<Self> {
        if env.num_envs() != config.num_envs {
            return Err(AlgoError::Mismatch {
                what: format!("environment `{}`: num_envs", env.name()),
                expected: format!("{} (config.num_envs)", config.num_envs),
                actual: env.num_envs().to_string(),
            });
        }
        // The model is built; what is still to come is the rollout, gradients and Adam's state.
        config
            .footprint(
                None,
                env.observation_space().flat_dim(),
                env.action_space().flat_dim(),
                model.num_params() as u64,
                0,
            )
            .check(config.memory_limit)?;
        Ok(Self {
            state: TrainState::new(&config, env.observation_space().flat_dim())?,
            optimizer: config.optimizer.init(),
            config,
            built_from,
            env,
            policy,
            model: Some(model),
        })
    }

    /// The PPO hyperparameters (for recurrent PPO, [`Recurrent::config`] has the rest).
    pub fn config(&self) -> &PpoConfig {
        &self.config
    }

    /// The model being trained.
    pub fn model(&self) -> &P::Model {
        // Only `step` takes the model out, and it always puts it back.
        self.model
            .as_ref()
            .expect("the model is always present between calls")
    }

    /// The policy: its settings and, for recurrent PPO, the carried state's counters.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The environments.
    pub fn env(&self) -> &E {
        &self.env
    }

    /// The running observation statistics the model's inputs are normalized with (with
    /// `normalize_observations`; `None` otherwise). A trained model expects its inputs
    /// normalized by them: [`ObservationNormalizer::normalize`].
    pub fn observation_normalizer(&self) -> Option<&ObservationNormalizer> {
        self.state.observations.as_ref()
    }

    /// Collect calls so far, evaluation collects included (rl8's `state.horizons`).
    pub fn horizons(&self) -> u64 {
        self.state.horizons
    }

    /// Environment transitions trained on so far (the schedules' count).
    pub fn trained_steps(&self) -> u64 {
        self.state.trained_steps
    }

    /// The learning rate the next `step()` uses.
    pub fn learning_rate(&self) -> f64 {
        self.state.lr.value(self.state.trained_steps)
    }

    /// The entropy coefficient the next `step()` uses.
    pub fn entropy_coeff(&self) -> f64 {
        self.state.entropy.value(self.state.trained_steps)
    }

    /// Collects one horizon with the stochastic policy and buffers it for [`step`](Self::step).
    ///
    /// # Errors
    /// See [`collect_with`](Self::collect_with).
    pub fn collect(&mut self) -> Result<CollectStats> {
        self.collect_with(None, false)
    }

    /// Collects one horizon with the deterministic policy (the mode of each distribution),
    /// for evaluation: nothing is buffered and the normalizers are not updated. It still
    /// advances the reset cadence, as rl8's evaluation does, and a recurrent state carries on
    /// from and into training collects, as the environments do.
    ///
    /// # Errors
    /// See [`collect_with`](Self::collect_with).
    pub fn evaluate(&mut self) -> Result<CollectStats> {
        self.collect_with(None, true)
    }

    /// Makes the next collect (or evaluation) reset the environments and a recurrent policy's
    /// states, as the first one does: an evaluation of a loaded checkpoint then sees whole
    /// episodes of the deterministic policy only, none begun by the stochastic one.
    pub fn reset_next_collect(&mut self) {
        self.state.last_obs = None;
    }

    /// rl8's `collect(env_config, deterministic)`: steps all environments `horizon` times.
    ///
    /// The environments are reset (with `env_config`) at the first collect and then on the
    /// `env_reset` schedule ([`Reset`], counted in collects); otherwise
    /// the horizon continues from the last observation. A truncated step's bootstrap value is
    /// the value of its final, pre-reset observation; a terminated step bootstraps nothing.
    /// A recurrent policy steps with each environment's state (reset at episode ends and on
    /// its schedule).
    ///
    /// # Errors
    /// Environment or model errors, and [`AlgoError::NonFinite`] naming the environment and
    /// step of a NaN or infinite reward or observation. A training collect that fails buffers
    /// nothing.
    pub fn collect_with(
        &mut self,
        env_config: Option<&EnvConfig>,
        deterministic: bool,
    ) -> Result<CollectStats> {
        let actor = self.model().valid();
        let result = collect::<B, E, P>(
            &self.config,
            &mut self.env,
            &mut self.state,
            &mut self.policy,
            &actor,
            env_config,
            deterministic,
        );
        if result.is_err() && !deterministic {
            self.state.rollout = None;
            self.policy.collect_failed();
        }
        result
    }

    /// rl8's `step()`: done-aware GAE over the buffered horizon (rewards divided by the running
    /// reward scale), advantage normalization, then `num_sgd_iters` epochs of minibatch PPO
    /// (transitions, or sequences for recurrent PPO) with global-norm gradient clipping, Adam,
    /// optional gradient accumulation and KL early stopping.
    ///
    /// # Errors
    /// [`AlgoError::NotBuffered`] without a training collect since the last step;
    /// [`AlgoError::NonFinite`] if a loss was NaN or infinite or an optimizer step made a
    /// parameter so. A step that fails applies nothing: the model and the optimizer state are
    /// those from before the step.
    pub fn step(&mut self) -> Result<StepStats> {
        let rollout = self.state.rollout.take().ok_or(AlgoError::NotBuffered)?;
        let start = Instant::now();
        let c = &self.config;
        let reward_scale = self.state.reward_scale(c);
        let batch = rollout.into_batch(TargetSettings {
            gamma: c.gamma as f32,
            lambda: c.gae_lambda as f32,
            reward_scale: reward_scale as f32,
            normalize_advantages: c.normalize_advantages,
        })?;
        let (batch, layout, inputs) = self.policy.prepare_update(c, batch)?;
        let learning_rate = self.state.lr.value(self.state.trained_steps);
        let entropy_coeff = self.state.entropy.value(self.state.trained_steps);
        let settings = UpdateSettings {
            epochs: c.num_sgd_iters,
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
        // An update applies everything or nothing: on any error the model and the optimizer's
        // moments go back to what they were (clones share the tensors, so this costs no copy).
        let before = (self.model.clone(), self.optimizer.clone());
        let result = update::<B, P, _, _>(
            &mut self.model,
            &mut self.optimizer,
            &self.policy,
            &inputs,
            &batch,
            layout,
            &settings,
            &mut self.state.rng,
        );
        let totals = match result {
            Ok(totals) => totals,
            Err(error) => {
                (self.model, self.optimizer) = before;
                return Err(error);
            }
        };
        let transitions = layout.units * layout.rows_per_unit;
        self.state.trained_steps += transitions as u64;
        let seconds = start.elapsed().as_secs_f64();
        let [
            policy_loss,
            vf_loss,
            entropy_loss,
            total_loss,
            kl_div,
            clip_fraction,
            ev,
        ] = totals.means;
        Ok(StepStats {
            policy_loss,
            vf_loss,
            entropy_loss,
            total_loss,
            kl_div,
            clip_fraction,
            explained_variance: ev,
            grad_norm: totals.grad_norm,
            optimizer_steps: totals.optimizer_steps,
            entropy_coeff,
            vf_coeff: self.config.vf_coeff,
            learning_rate,
            reward_scale,
            transitions,
            seconds,
            transitions_per_s: transitions as f64 / (seconds + self.state.collect_seconds),
        })
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
    /// [`AlgoError::Record`] or [`AlgoError::Architecture`] naming the file.
    pub fn load_model(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let model = self.model().clone();
        let device = device_of(&model);
        self.model = Some(load_model(model, path, &device)?);
        Ok(())
    }

    /// Saves a checkpoint to `path`, atomically ([`write_atomic`]): everything the engine
    /// needs to continue as if it had never stopped (the model, the optimizer's state, the
    /// counters the schedules run on, the sampling generator, the normalizers, the episode
    /// windows, the policy's carried state, the environments' state and the config), plus
    /// `extra`, bytes of the caller's own that [`load_checkpoint`](Self::load_checkpoint)
    /// gives back (the trainer keeps its history there). Call it between `step()` and the next
    /// `collect()`.
    ///
    /// ```
    /// use burn::backend::{Autodiff, NdArray};
    /// use rl_algo::{AlgorithmConfig, PpoConfig};
    /// use rl_core::DiscreteDummyEnv;
    ///
    /// type B = Autodiff<NdArray>;
    /// let device = Default::default();
    /// let config = AlgorithmConfig::new().with_ppo(PpoConfig::new().with_num_envs(4).with_horizon(8));
    /// let build = || config.init::<B, _>(DiscreteDummyEnv::new(4, 0, &device)?, &device);
    /// let mut algo = build()?;
    /// algo.collect()?;
    /// algo.step()?;
    /// let path = std::env::temp_dir().join("rl_algo_doc_checkpoint.ckpt");
    /// algo.save_checkpoint(&path, b"mine")?;
    ///
    /// // A new engine built from the same config continues where the first one was.
    /// let mut resumed = build()?;
    /// assert_eq!(resumed.load_checkpoint(&path)?, b"mine");
    /// assert_eq!(resumed.trained_steps(), algo.trained_steps());
    /// assert_eq!(resumed.collect()?.rewards, algo.collect()?.rewards);
    /// assert_eq!(resumed.step()?.total_loss, algo.step()?.total_loss);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`AlgoError::Checkpoint`] when a collect is buffered or the environment cannot save its
    /// state ([`Env::save_state`]); [`AlgoError::Io`] when the file cannot be written (the
    /// previous file is then left whole).
    pub fn save_checkpoint(&self, path: impl AsRef<Path>, extra: &[u8]) -> Result<()> {
        let path = path.as_ref();
        let fail = |problem| AlgoError::Checkpoint {
            path: path.to_path_buf(),
            problem,
        };
        let s = &self.state;
        if s.rollout.is_some() {
            return Err(fail(CheckpointProblem::Unsupported(
                "a collect is buffered: save after step()".into(),
            )));
        }
        let env_state = self.env.save_state()?.ok_or_else(|| {
            fail(CheckpointProblem::Unsupported(format!(
                "environment `{}` cannot save its state (Env::save_state)",
                self.env.name()
            )))
        })?;
        let state = EngineState {
            config: self.built_from.to_string(),
            env: self.env.name().to_string(),
            horizons: s.horizons,
            trained_steps: s.trained_steps,
            rng: SavedRng::new(&s.rng),
            last_obs: s
                .last_obs
                .as_ref()
                .map(SavedObservation::new)
                .transpose()
                .map_err(fail)?,
            rewards: s.rewards.clone(),
            observations: s.observations.clone(),
            episodes: s.episodes.clone(),
            policy: self.policy.save_carried().map_err(fail)?,
            env_state,
        };
        let record_error = |source| AlgoError::Record {
            action: "save checkpoint",
            path: path.to_path_buf(),
            source,
        };
        let meta = rmp_serde::to_vec(&state)
            .map_err(|e| fail(CheckpointProblem::encode("engine state", e)))?;
        let model = model_to_bytes(self.model().clone()).map_err(record_error)?;
        let optimizer =
            record_to_bytes::<B, _>(self.optimizer.to_record()).map_err(record_error)?;
        let bytes = pack([&meta, &model, &optimizer, extra]);
        write_atomic(path, &bytes).map_err(|source| AlgoError::Io {
            action: "write checkpoint",
            path: path.to_path_buf(),
            source,
        })
    }

    /// Restores a checkpoint saved by [`save_checkpoint`](Self::save_checkpoint) into this
    /// engine, built from the same config and environment, and returns the caller's bytes
    /// saved with it. The next `collect()` and `step()` give exactly what the saved engine's
    /// would have.
    ///
    /// # Errors
    /// [`AlgoError::Io`] when the file cannot be read; [`AlgoError::Checkpoint`] when it is
    /// not a checkpoint, is truncated or damaged (checksum), was saved with another config
    /// (naming every key that differs), another environment or another model architecture.
    /// Those are found before anything changes; an environment that refuses its saved state
    /// ([`Env::load_state`]) is reported too.
    pub fn load_checkpoint(&mut self, path: impl AsRef<Path>) -> Result<Vec<u8>> {
        let path = path.as_ref();
        let fail = |problem| AlgoError::Checkpoint {
            path: path.to_path_buf(),
            problem,
        };
        let bytes = std::fs::read(path).map_err(|source| AlgoError::Io {
            action: "read checkpoint",
            path: path.to_path_buf(),
            source,
        })?;
        let [meta, model, optimizer, extra] = unpack(&bytes).map_err(fail)?;
        let saved: EngineState = rmp_serde::from_slice(meta)
            .map_err(|e| fail(CheckpointProblem::decode("engine state", e)))?;
        if let Some(differences) = config_differences(&saved.config, &self.built_from.to_string()) {
            return Err(fail(CheckpointProblem::ConfigDiffers(differences)));
        }
        if saved.env != self.env.name() {
            return Err(fail(CheckpointProblem::EnvDiffers {
                saved: saved.env,
                current: self.env.name().to_string(),
            }));
        }
        let rng = saved.rng.restore().ok_or_else(|| {
            fail(CheckpointProblem::decode(
                "engine state",
                "malformed generator state",
            ))
        })?;
        let device = device_of(self.model());
        let model = model_from_bytes(self.model().clone(), model.to_vec(), &device).map_err(
            |e| match e {
                LoadError::Record(e) => fail(CheckpointProblem::decode("model", e)),
                LoadError::Architecture(d) => fail(CheckpointProblem::Architecture(d)),
            },
        )?;
        let optimizer_record = record_from_bytes::<B, _>(optimizer.to_vec(), &device)
            .map_err(|e| fail(CheckpointProblem::decode("optimizer state", e)))?;
        self.env.load_state(&saved.env_state)?;
        self.policy
            .load_carried(&model.valid(), &saved.policy)
            .map_err(fail)?;
        let optimizer = std::mem::replace(&mut self.optimizer, self.config.optimizer.init());
        self.optimizer = optimizer.load_record(optimizer_record);
        self.model = Some(model);
        let env_device = self.env.device().clone();
        let s = &mut self.state;
        s.horizons = saved.horizons;
        s.trained_steps = saved.trained_steps;
        s.rng = rng;
        s.last_obs = saved.last_obs.map(|o| o.restore(&env_device));
        s.rollout = None;
        s.rewards = saved.rewards;
        s.observations = saved.observations;
        s.episodes = saved.episodes;
        Ok(extra.to_vec())
    }
}

impl<B, E, P> Trainable for Ppo<B, E, P>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    P: Policy<B>,
{
    fn collect(&mut self) -> Result<CollectStats> {
        Self::collect(self)
    }
    fn evaluate(&mut self) -> Result<CollectStats> {
        Self::evaluate(self)
    }
    fn step(&mut self) -> Result<StepStats> {
        Self::step(self)
    }
    fn env_reset(&self) -> Reset {
        self.config.env_reset
    }
    fn env_name(&self) -> &str {
        self.env.name()
    }
    fn save_model(&self, path: &Path) -> Result<()> {
        Self::save_model(self, path)
    }
    fn observation_normalizer(&self) -> Option<&ObservationNormalizer> {
        Self::observation_normalizer(self)
    }
    fn spaces(&self) -> crate::Spaces {
        crate::Spaces {
            observation: self.env.observation_space().clone(),
            action: self.env.action_space().clone(),
        }
    }
    fn save_config(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(&self.built_from).map_err(std::io::Error::other)?;
        write_atomic(path, json.as_bytes())
    }
    fn save_checkpoint(&self, path: &Path, extra: &[u8]) -> Result<()> {
        Self::save_checkpoint(self, path, extra)
    }
    fn load_checkpoint(&mut self, path: &Path) -> Result<Vec<u8>> {
        Self::load_checkpoint(self, path)
    }
}

/// `config` as JSON (a config is plain data and always serializes).
fn to_json(config: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(config).unwrap_or_default()
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Minibatch;
    use crate::rollout::TargetSettings;
    use crate::testing::Walk;
    use burn::backend::{Autodiff, NdArray};
    use burn::module::{Module, Param};
    use burn::tensor::Tensor;
    use burn::tensor::backend::Backend;
    use rl_core::{
        Categorical, CoreError, Observation, PolicyOutput, RecurrentOutput, RecurrentState,
    };
    use rl_functional::host::read_f32;

    type AD = Autodiff<NdArray>;

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

    /// The same on a host and on a device environment (whose every step has a final
    /// observation, and whose outcomes are read at the end of the collect).
    #[test]
    fn truncation_bootstraps_from_the_final_observation_and_termination_does_not() {
        truncation_bootstraps(Walk::new());
        truncation_bootstraps(Walk::on_device());
    }

    fn truncation_bootstraps(walk: Walk) {
        let device = Default::default();
        let config = PpoConfig::new()
            .with_num_envs(2)
            .with_horizon(4)
            .with_gamma(0.5)
            .with_gae_lambda(1.0)
            .with_normalize_rewards(false)
            .with_normalize_advantages(false);
        let model = Linear1::<AD> {
            w: Param::from_tensor(Tensor::ones([1], &device)),
        };
        let mut algo = Algorithm::with_model(config, walk, model).unwrap();
        algo.collect().unwrap();
        let rollout = algo.state.rollout.take().unwrap();
        assert_eq!(rollout.truncated_values(), vec![(2 * 2 + 1, 3.0)]);
        let batch = rollout
            .into_batch(TargetSettings {
                gamma: 0.5,
                lambda: 1.0,
                reward_scale: 1.0,
                normalize_advantages: false,
            })
            .unwrap();
        let returns = read_f32(batch.returns, "test", "returns").unwrap();
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
        assert_eq!(stats.episodes, [3.0, 3.0]);
        assert_eq!(stats.episode_length_mean, Some(3.0));
        assert_eq!(stats.episode_return_mean, Some(3.0));
    }

    #[test]
    fn normalized_observations_use_the_running_statistics_of_training_collects() {
        let device = Default::default();
        let config = PpoConfig::new()
            .with_num_envs(2)
            .with_horizon(4)
            .with_normalize_observations(true);
        let model = Linear1::<AD> {
            w: Param::from_tensor(Tensor::ones([1], &device)),
        };
        let mut algo = Algorithm::with_model(config, Walk::new(), model).unwrap();
        algo.collect().unwrap();
        // Both environments observed 0 (reset), 1, 2, 0 (episode restart), 1.
        let norm = algo.observation_normalizer().unwrap().clone();
        assert!((norm.mean()[0] - 0.8).abs() < 1e-12);
        assert!((norm.std()[0] - 0.56f64.sqrt()).abs() < 1e-12);
        // The bootstrap value is V of the last observation, 1, normalized: (1 - 0.8) / 0.748.
        let rollout = algo.state.rollout.as_ref().unwrap();
        let last = read_f32(rollout.values()[4].clone(), "test", "values").unwrap();
        let want = (0.2 / (0.56f64 + 1e-8).sqrt()) as f32;
        assert!(
            (last[0] - want).abs() < 1e-6 && (last[1] - want).abs() < 1e-6,
            "{last:?}"
        );
        // Evaluation uses the statistics without updating them.
        algo.evaluate().unwrap();
        assert_eq!(algo.observation_normalizer(), Some(&norm));
    }

    #[test]
    fn step_without_collect_is_an_error_and_non_finite_rewards_are_reported() {
        let device = Default::default();
        let config = PpoConfig::new().with_num_envs(2).with_horizon(4);
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

    /// Uniform policy; the state is one number per sequence that counts the steps since the
    /// last reset, and the value of a step is that count (times `w` = 1).
    #[derive(Module, Debug)]
    struct Counter<B: Backend> {
        w: Param<Tensor<B, 1>>,
    }

    impl<B: Backend> RecurrentModel<B> for Counter<B> {
        type Dist = Categorical<B>;
        fn init_state(&self, n: usize, device: &B::Device) -> RecurrentState<B> {
            RecurrentState::new(vec![Tensor::zeros([n, 1], device)])
        }
        fn forward(
            &self,
            obs: &Observation<B>,
            seq_len: usize,
            state: RecurrentState<B>,
        ) -> rl_core::Result<RecurrentOutput<B, Categorical<B>>> {
            let rows = obs.batch_size();
            let device = obs.features.device();
            let start = state.tensors[0].clone();
            let steps: Vec<Tensor<B, 2>> = (0..seq_len)
                .map(|t| start.clone().add_scalar(t as f32))
                .collect();
            let counts = rl_functional::reshape(Tensor::stack::<3>(steps, 1), [rows, 1]);
            Ok(RecurrentOutput {
                dist: Categorical::new(Tensor::zeros([rows, 1, 2], &device)),
                values: counts * self.w.val().unsqueeze_dim::<2>(0),
                state: RecurrentState::new(vec![start.add_scalar(seq_len as f32)]),
            })
        }
    }

    fn column(state: &RecurrentState<NdArray>) -> Vec<f32> {
        read_f32(state.tensors[0].clone(), "test", "state").unwrap()
    }

    #[test]
    fn states_reset_at_episode_ends_and_on_the_schedule_and_only_chunk_starts_are_stored() {
        let device = Default::default();
        // T = 8, L = 2, spsr = 2: the schedule resets every 4 steps. Walk ends both
        // environments' episodes after steps 2 and 5 (env 0 terminated, env 1 truncated).
        let ppo = PpoConfig::new()
            .with_num_envs(2)
            .with_horizon(8)
            .with_normalize_rewards(false);
        let recurrence = RecurrenceConfig::new()
            .with_seq_len(2)
            .with_state_reset(Reset::Every(2));
        let model = Counter::<AD> {
            w: Param::from_tensor(Tensor::ones([1], &device)),
        };
        let mut algo = RecurrentAlgorithm::with_model(ppo, recurrence, Walk::new(), model).unwrap();
        let stats = algo.collect().unwrap();
        // Reward 1 per step: the horizon's return is 8. rl8's recurrent collect reports 7 (it
        // drops the first reward, its bug list item 2).
        assert_eq!(stats.returns.mean, 8.0);
        assert_eq!(algo.policy().sequences(), 4);
        assert_eq!(algo.policy().state_resets(), 2, "at steps 0 and 4");
        // Counts since the last reset, at the chunk starts t = 0, 2, 4, 6: 0; 2; 0 (episode
        // reset after step 2, then the schedule at step 4); 0 (episode reset after step 5).
        let stored: Vec<Vec<f32>> = algo.policy.chunk_states().iter().map(column).collect();
        assert_eq!(
            stored,
            vec![vec![0.0; 2], vec![2.0; 2], vec![0.0; 2], vec![0.0; 2]]
        );
        let rollout = algo.state.rollout.as_ref().unwrap();
        let values: Vec<f32> = rollout
            .values()
            .iter()
            .flat_map(|v| read_f32(v.clone(), "test", "values").unwrap())
            .collect();
        // The value of each step is the count before it; the bootstrap after step 7 is 2.
        let per_step = [0.0, 1.0, 2.0, 0.0, 0.0, 1.0, 0.0, 1.0, 2.0];
        let want: Vec<f32> = per_step.iter().flat_map(|&v| [v, v]).collect();
        assert_eq!(values, want);
        // Env 1's truncated steps bootstrap from the state after the step, before its reset:
        // 3 after step 2, 2 after step 5 (the schedule reset the count at step 4).
        assert_eq!(
            rollout.truncated_values(),
            vec![(2 * 2 + 1, 3.0), (5 * 2 + 1, 2.0)]
        );
        // The state carries over to the next collect (8 more steps, schedule resets at 8, 12).
        algo.step().unwrap();
        algo.collect().unwrap();
        assert_eq!(algo.policy().sequences(), 8);
        assert_eq!(algo.policy().state_resets(), 4);
    }

    /// The host reads of a training collect and of a `step()`, counted across the workspace's
    /// crates: a collect reads the reset's observation (to check it), then for a host
    /// environment one `[N, 5]` outcome per env step, and at its end the values and
    /// log-probabilities; for a device environment nothing per step: the horizon's outcomes
    /// come with the values, so 2 reads whatever the horizon. A `step()` reads once (the
    /// update's statistics) whatever the number of minibatches, plus 1 per minibatch with KL
    /// early stopping.
    #[test]
    fn host_reads_per_step_and_per_minibatch_stay_counted() {
        let device = Default::default();
        let model = Linear1::<AD> {
            w: Param::from_tensor(Tensor::ones([1], &device)),
        };
        let config = PpoConfig::new()
            .with_num_envs(2)
            .with_horizon(4)
            .with_minibatch(Minibatch::Transitions(2))
            .with_num_sgd_iters(3)
            .with_env_reset(Reset::Never);
        let mut algo = Algorithm::with_model(config.clone(), Walk::new(), model.clone()).unwrap();
        let before = crate::host::reads();
        algo.collect().unwrap();
        assert_eq!(
            crate::host::reads() - before,
            1 + 4 + 1,
            "the reset, 1 read per env step, 1 of the values and log-probabilities"
        );
        let before = crate::host::reads();
        algo.collect().unwrap();
        assert_eq!(crate::host::reads() - before, 4 + 1, "no reset");
        let before = crate::host::reads();
        let stats = algo.step().unwrap();
        assert_eq!(stats.optimizer_steps, 12, "4 minibatches x 3 epochs");
        assert_eq!(crate::host::reads() - before, 1, "no read per minibatch");
        for horizon in [4, 16] {
            let config = config.clone().with_horizon(horizon);
            let mut algo = Algorithm::with_model(config, Walk::on_device(), model.clone()).unwrap();
            let before = crate::host::reads();
            algo.collect().unwrap();
            assert_eq!(
                crate::host::reads() - before,
                2,
                "device env: reset and end"
            );
            let before = crate::host::reads();
            algo.collect().unwrap();
            assert_eq!(crate::host::reads() - before, 1, "device env: the end only");
            let before = crate::host::reads();
            let eval = algo.evaluate().unwrap();
            assert_eq!(crate::host::reads() - before, 1, "evaluation: the outcomes");
            assert_eq!(eval.transitions, 2 * horizon);
        }
        let mut kl =
            Algorithm::with_model(config.with_target_kl_div(Some(1e9)), Walk::new(), model)
                .unwrap();
        kl.collect().unwrap();
        let before = crate::host::reads();
        kl.step().unwrap();
        assert_eq!(
            crate::host::reads() - before,
            1 + 12,
            "one read per minibatch for the KL"
        );
    }

    /// A NaN observation is reported naming its environment and step, whether the environment
    /// is checked step by step (host) or at the end of the collect (device), and nothing is
    /// buffered to train on.
    #[test]
    fn a_nan_observation_is_reported_with_its_environment_and_step() {
        let device = Default::default();
        for walk in [Walk::new(), Walk::on_device()] {
            let model = Linear1::<AD> {
                w: Param::from_tensor(Tensor::ones([1], &device)),
            };
            let config = PpoConfig::new().with_num_envs(2).with_horizon(4);
            let mut algo = Algorithm::with_model(config, walk.with_nan_at(2), model).unwrap();
            match algo.collect() {
                Err(AlgoError::NonFinite { what, detail }) => {
                    assert_eq!(what, "observation of `Walk`");
                    assert!(
                        detail.starts_with("environment 1 at step 2 of collect 0"),
                        "{detail}"
                    );
                }
                other => panic!("expected NonFinite, got {other:?}"),
            }
            assert!(matches!(algo.step(), Err(AlgoError::NotBuffered)));
        }
    }

    /// An optimizer step that makes parameters non-finite is not applied, and `step()` says so.
    #[test]
    fn a_step_that_makes_parameters_non_finite_is_reported_and_applies_nothing() {
        let device = Default::default();
        let model = Linear1::<AD> {
            w: Param::from_tensor(Tensor::ones([1], &device)),
        };
        let config = PpoConfig::new()
            .with_num_envs(2)
            .with_horizon(4)
            .with_normalize_advantages(false)
            .with_learning_rate(1e38)
            .with_max_grad_norm(1e30);
        let mut algo = Algorithm::with_model(config, Walk::new(), model).unwrap();
        algo.collect().unwrap();
        let w =
            |algo: &Algorithm<AD, Walk, Linear1<AD>>| read_f32(algo_w(algo), "test", "w").unwrap();
        let before = w(&algo);
        // Adam moves w by about the learning rate per optimizer step: the fourth would pass
        // f32's largest value.
        match algo.step() {
            Err(AlgoError::NonFinite { what, .. }) => {
                assert!(what.contains("parameters"), "{what}")
            }
            other => panic!("expected NonFinite, got {other:?}"),
        }
        // The three optimizer steps that did pass are undone too, and Adam is back to its
        // state before the step: no moments yet.
        assert_eq!(w(&algo), before);
        assert!(burn::optim::Optimizer::to_record(&algo.optimizer).is_empty());
    }

    fn algo_w(algo: &Algorithm<AD, Walk, Linear1<AD>>) -> Tensor<NdArray, 1> {
        algo.model().w.val().inner()
    }
}
