//! The configs: [`PpoConfig`] (every hyperparameter of rl8's `AlgorithmConfig`, with rl8's
//! defaults), [`AlgorithmConfig`] and [`RecurrentAlgorithmConfig`] (PPO plus the default
//! model's sizes, and for recurrent PPO its [`RecurrenceConfig`]), checked before anything is
//! built.

use burn::config::Config;
use burn::optim::AdamConfig;
use rl_core::Space;
use serde::{Deserialize, Serialize};

use crate::config_file::config_file;
use crate::error::AlgoError;
use crate::memory::{Footprint, MemoryLimit};
use crate::models::DefaultModelConfig;
use crate::recurrent_models::RecurrentModelConfig;
use crate::schedule::{Schedule, ScheduleKind};

/// How often something is reset: the environments (counted in collects) or the recurrent
/// states (counted in sequences).
///
/// In JSON: `{"Every": 4}` or `"Never"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reset {
    /// At the first one and then every `n`-th (`n > 0`).
    Every(u64),
    /// Only at the very first one (environments that reset their own episodes; recurrent states
    /// that reset only where an episode ends).
    Never,
}

impl Reset {
    /// Whether the `count`-th occasion (0-based) resets.
    ///
    /// ```
    /// use rl_algo::Reset;
    ///
    /// assert!(Reset::Every(2).at(0) && !Reset::Every(2).at(1) && Reset::Every(2).at(4));
    /// assert!(Reset::Never.at(0) && !Reset::Never.at(3));
    /// ```
    pub fn at(self, count: u64) -> bool {
        match self {
            Reset::Every(n) => n > 0 && count.is_multiple_of(n),
            Reset::Never => count == 0,
        }
    }

    /// The period, `None` for [`Reset::Never`].
    pub fn every(self) -> Option<u64> {
        match self {
            Reset::Every(n) => Some(n),
            Reset::Never => None,
        }
    }
}

/// How many rows one minibatch holds, in explicit units.
///
/// In JSON: `"Whole"`, `{"Transitions": 256}` or `{"Sequences": 16}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Minibatch {
    /// The whole buffer, `num_envs * horizon` transitions, in one minibatch.
    Whole,
    /// This many transitions (for recurrent PPO a multiple of `seq_len`).
    Transitions(usize),
    /// This many sequences of `seq_len` transitions (recurrent PPO only; rl8's unit there).
    Sequences(usize),
}

/// The PPO hyperparameters shared by feed-forward and recurrent PPO: every field of rl8's
/// `AlgorithmConfig` but the model's, with rl8's defaults (see `docs/from-rl8.md` for the few
/// deliberate differences). rl8's `device` is the Burn device passed to the constructor, used
/// as given (rl8 silently prefers CUDA).
///
/// It is a Burn [`Config`]: builder methods `with_<field>`, JSON `save`/`load`, and serde.
///
/// ```
/// use rl_algo::{Minibatch, PpoConfig};
///
/// let config = PpoConfig::new().with_num_envs(256).with_horizon(64);
/// config.validate()?;
/// assert_eq!(config.buffer_size(), 256 * 64);
/// let bad = config.clone().with_clip_param(1.5);
/// assert!(bad.validate().unwrap_err().to_string().contains("clip_param"));
/// let bad = config.with_minibatch(Minibatch::Transitions(1000));
/// assert!(bad.validate().unwrap_err().to_string().contains("minibatch"));
/// # Ok::<(), rl_algo::AlgoError>(())
/// ```
#[derive(Config, Debug)]
pub struct PpoConfig {
    /// T, the transitions per environment per `collect()`.
    #[config(default = 32)]
    pub horizon: usize,
    /// When a collect resets the environments, counted in collects (evaluation included):
    /// rl8's `horizons_per_env_reset`.
    #[config(default = "Reset::Every(1)")]
    pub env_reset: Reset,
    /// B, the number of environments stepped as one batch.
    #[config(default = 8192)]
    pub num_envs: usize,
    /// The learning rate when no `lr_schedule` is given (rl8: `{"lr": 1e-3}`).
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Adam's settings (rl8's `optimizer_config`): Burn's [`AdamConfig`] with torch's epsilon,
    /// 1e-8 (Burn's own default is 1e-5).
    #[config(default = "AdamConfig::new().with_epsilon(1e-8)")]
    pub optimizer: AdamConfig,
    /// Accumulate the gradients of every minibatch of an epoch and step the optimizer once per
    /// epoch (the whole-buffer gradient, computed in pieces). Needs more than one minibatch.
    #[config(default = false)]
    pub accumulate_grads: bool,
    /// `(env transitions, learning rate)` points, the first at count 0. Overrides
    /// `learning_rate` from the start.
    pub lr_schedule: Option<Vec<(f64, f64)>>,
    /// How `lr_schedule` moves between points.
    #[config(default = "ScheduleKind::Step")]
    pub lr_schedule_kind: ScheduleKind,
    /// The entropy bonus coefficient when no schedule is given.
    #[config(default = 0.0)]
    pub entropy_coeff: f64,
    /// `(env transitions, coefficient)` points, the first at count 0.
    pub entropy_coeff_schedule: Option<Vec<(f64, f64)>>,
    /// How `entropy_coeff_schedule` moves between points.
    #[config(default = "ScheduleKind::Step")]
    pub entropy_coeff_schedule_kind: ScheduleKind,
    /// GAE lambda, in (0, 1].
    #[config(default = 0.95)]
    pub gae_lambda: f64,
    /// Discount, in (0, 1]. Also the discount of the reward normalizer's return.
    #[config(default = 0.95)]
    pub gamma: f64,
    /// The minibatch size (rl8's `sgd_minibatch_size`); it must divide the buffer.
    #[config(default = "Minibatch::Whole")]
    pub minibatch: Minibatch,
    /// PPO epochs over the buffer per `step()`.
    #[config(default = 4)]
    pub num_sgd_iters: usize,
    /// Draw a fresh permutation of the buffer every epoch.
    #[config(default = true)]
    pub shuffle_minibatches: bool,
    /// The surrogate's clip epsilon, in (0, 1).
    #[config(default = 0.2)]
    pub clip_param: f64,
    /// rl8's value "clip": the per-sample Huber value loss is clamped to `[0, vf_clip_param]`.
    #[config(default = 5.0)]
    pub vf_clip_param: f64,
    /// Dual-clip constant, > 1, or `None`.
    pub dual_clip_param: Option<f64>,
    /// Value loss coefficient, > 0.
    #[config(default = 1.0)]
    pub vf_coeff: f64,
    /// Stop the epoch loop of a `step()` when a minibatch's approximate KL exceeds
    /// `1.5 * target_kl_div` (that minibatch is not applied). > 0; not with `accumulate_grads`.
    pub target_kl_div: Option<f64>,
    /// Global L2 norm the gradients are clipped to, > 0.
    #[config(default = 5.0)]
    pub max_grad_norm: f64,
    /// Normalize advantages over the whole buffer (mean 0, unbiased std 1).
    #[config(default = true)]
    pub normalize_advantages: bool,
    /// Divide rewards by a running standard deviation of the discounted return (see
    /// `docs/from-rl8.md`: rl8 uses the std of the current horizon only).
    #[config(default = true)]
    pub normalize_rewards: bool,
    /// Normalize every observation feature with its running mean and standard deviation over
    /// the training collects, clipped to +-10 ([`ObservationNormalizer`](crate::ObservationNormalizer);
    /// Stable-Baselines3's `VecNormalize`). Not in rl8, hence off by default. It matters for
    /// features of very different scales, e.g. CartPole's angle next to its position.
    #[config(default = false)]
    pub normalize_observations: bool,
    /// Seeds the model's initialisation, action sampling and minibatch shuffling. Not in rl8,
    /// which has no seeding API.
    #[config(default = 0)]
    pub seed: u64,
    /// How many of the most recent finished episodes `episode/return_mean` and
    /// `episode/length_mean` average (training and evaluation keep a window each): 100, as
    /// Gymnasium's "solved" criterion, Stable-Baselines3 and CleanRL report. Not in rl8.
    #[config(default = 100)]
    pub episode_window: usize,
    /// The most memory the run may need, by estimate, checked before the rollout and the
    /// default models are allocated (the machine's memory by default). Not in rl8.
    #[config(default = "MemoryLimit::Machine")]
    pub memory_limit: MemoryLimit,
}

/// The most transitions one rollout may hold: 2^31, already 8 GiB for each f32 column of the
/// rollout (values, rewards, log-probabilities, ...), before its observations.
const MAX_BUFFER: usize = 1 << 31;

impl PpoConfig {
    /// The transitions in one buffer, `num_envs * horizon`.
    pub fn buffer_size(&self) -> usize {
        self.num_envs.saturating_mul(self.horizon)
    }

    /// The minibatch size in the update's units: transitions (feed-forward, `seq_len` `None`)
    /// or sequences of `seq_len` transitions (recurrent). `None` when the minibatch is not a
    /// whole number of units, or counts sequences without a recurrence (see
    /// [`validate`](Self::validate)).
    pub(crate) fn minibatch_units(&self, seq_len: Option<usize>) -> Option<usize> {
        let l = seq_len.unwrap_or(1).max(1);
        match self.minibatch {
            Minibatch::Whole => Some(self.buffer_size() / l),
            Minibatch::Transitions(t) => t.is_multiple_of(l).then_some(t / l),
            Minibatch::Sequences(s) => seq_len.map(|_| s),
        }
    }

    /// The transitions of one minibatch (sequences of `seq_len` for recurrent PPO).
    pub(crate) fn minibatch_rows(&self, seq_len: Option<usize>) -> usize {
        match self.minibatch {
            Minibatch::Whole => self.buffer_size(),
            Minibatch::Transitions(t) => t,
            Minibatch::Sequences(s) => s.saturating_mul(seq_len.unwrap_or(1)),
        }
    }

    /// The memory footprint of a run with this config, a model of `parameters` parameters and
    /// `activations_per_row` activations per minibatch row, on these spaces.
    pub(crate) fn footprint(
        &self,
        seq_len: Option<usize>,
        obs_width: usize,
        action_width: usize,
        parameters: u64,
        activations_per_row: u64,
    ) -> Footprint {
        Footprint {
            transitions: self.buffer_size(),
            obs_width,
            action_width,
            parameters,
            minibatch_rows: self.minibatch_rows(seq_len),
            activations_per_row,
        }
    }

    /// Checks every rule of rl8 (its `AlgorithmHparams` checks) plus the ones rl8 lacks, and
    /// names the first field that breaks one, for feed-forward PPO.
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] with the field, its value and the rule.
    pub fn validate(&self) -> crate::Result<()> {
        self.validate_for(None)
    }

    /// [`validate`](Self::validate) for updates whose unit is a sequence of `seq_len`
    /// transitions (`None`: feed-forward, one transition).
    pub(crate) fn validate_for(&self, seq_len: Option<usize>) -> crate::Result<()> {
        // In f32, as the update uses it: 1e-50 is 0 there.
        let unit = |field: &str, v: f64, lower_open: bool| {
            let single = v as f32;
            let ok = if lower_open {
                single > 0.0 && single <= 1.0
            } else {
                single > 0.0 && single < 1.0
            };
            if ok {
                Ok(())
            } else {
                let rule = if lower_open {
                    "must be in (0, 1]"
                } else {
                    "must be in (0, 1)"
                };
                Err(AlgoError::invalid(field, v, rule))
            }
        };
        // The update computes in f32: a value must survive that conversion (1e300 becomes
        // infinity, 1e-50 becomes 0).
        let positive = |field: &str, v: f64| {
            let single = v as f32;
            if single > 0.0 && single.is_finite() {
                Ok(())
            } else {
                Err(AlgoError::invalid(
                    field,
                    v,
                    "must be > 0 and finite in f32",
                ))
            }
        };
        if self.num_envs == 0 {
            return Err(AlgoError::invalid("num_envs", 0, "must be > 0"));
        }
        if self.horizon == 0 {
            return Err(AlgoError::invalid("horizon", 0, "must be > 0"));
        }
        // The rollout holds num_envs * horizon transitions of at least a value, a reward, a
        // log-probability and two flags each.
        if self
            .num_envs
            .checked_mul(self.horizon)
            .is_none_or(|b| b > MAX_BUFFER)
        {
            return Err(AlgoError::invalid(
                "horizon",
                self.horizon,
                format!(
                    "num_envs * horizon = {} * {} transitions is more than one rollout can hold \
                     ({MAX_BUFFER})",
                    self.num_envs, self.horizon
                ),
            ));
        }
        self.memory_limit.validate()?;
        // The least any rollout of this size needs (one observation feature, one action
        // element, no model), before an environment of this size is built.
        Footprint {
            transitions: self.buffer_size(),
            obs_width: 1,
            action_width: 1,
            ..Footprint::default()
        }
        .check(self.memory_limit)?;
        if self.episode_window == 0 {
            return Err(AlgoError::invalid("episode_window", 0, "must be > 0"));
        }
        if self.env_reset == Reset::Every(0) {
            return Err(AlgoError::invalid(
                "env_reset",
                "Every(0)",
                "must be Every(n > 0) or Never",
            ));
        }
        positive("learning_rate", self.learning_rate)?;
        // Burn's `AdamConfig` keeps its fields private; its serde form shows them.
        let adam = serde_json::to_value(&self.optimizer).unwrap_or_default();
        let adam_field = |name: &str| adam.get(name).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        for field in ["beta_1", "beta_2"] {
            let beta = adam_field(field);
            if !(0.0..1.0).contains(&beta) {
                return Err(AlgoError::invalid(
                    &format!("optimizer.{field}"),
                    beta,
                    "must be in [0, 1)",
                ));
            }
        }
        positive("optimizer.epsilon", adam_field("epsilon"))?;
        if let Some(points) = &self.lr_schedule {
            Schedule::check("lr_schedule", points)?;
            if let Some(&(_, lr)) = points.iter().find(|(_, lr)| *lr <= 0.0) {
                return Err(AlgoError::invalid(
                    "lr_schedule",
                    lr,
                    "every learning rate must be > 0",
                ));
            }
        }
        if !((self.entropy_coeff as f32).is_finite() && self.entropy_coeff >= 0.0) {
            return Err(AlgoError::invalid(
                "entropy_coeff",
                self.entropy_coeff,
                "must be >= 0 and finite in f32",
            ));
        }
        if let Some(points) = &self.entropy_coeff_schedule {
            Schedule::check("entropy_coeff_schedule", points)?;
            if let Some(&(_, c)) = points.iter().find(|(_, c)| *c < 0.0) {
                return Err(AlgoError::invalid(
                    "entropy_coeff_schedule",
                    c,
                    "every coefficient must be >= 0",
                ));
            }
        }
        unit("gae_lambda", self.gae_lambda, true)?;
        unit("gamma", self.gamma, true)?;
        if self.num_sgd_iters == 0 {
            return Err(AlgoError::invalid("num_sgd_iters", 0, "must be > 0"));
        }
        unit("clip_param", self.clip_param, false)?;
        positive("vf_clip_param", self.vf_clip_param)?;
        if let Some(c) = self.dual_clip_param
            && !(c > 1.0 && (c as f32).is_finite())
        {
            return Err(AlgoError::invalid(
                "dual_clip_param",
                c,
                "must be None or > 1 and finite in f32",
            ));
        }
        positive("vf_coeff", self.vf_coeff)?;
        positive("max_grad_norm", self.max_grad_norm)?;
        if let Some(kl) = self.target_kl_div {
            positive("target_kl_div", kl)?;
            if self.accumulate_grads {
                return Err(AlgoError::invalid(
                    "target_kl_div",
                    kl,
                    "cannot be combined with accumulate_grads",
                ));
            }
        }
        let buffer = self.buffer_size();
        let (units, units_name) = match seq_len {
            Some(l) => (
                buffer / l.max(1),
                "the sequences num_envs * horizon / seq_len",
            ),
            None => (buffer, "num_envs * horizon"),
        };
        let bad = |rule: String| {
            Err(AlgoError::invalid(
                "minibatch",
                format!("{:?}", self.minibatch),
                rule,
            ))
        };
        let minibatch = match (self.minibatch, self.minibatch_units(seq_len)) {
            (_, Some(m)) if m > 0 && units.is_multiple_of(m) => m,
            (Minibatch::Sequences(_), None) => {
                return bad(
                    "counts sequences, which only recurrent PPO has: use Transitions".into(),
                );
            }
            (Minibatch::Transitions(t), None) if t > 0 => {
                return bad(format!(
                    "must be a multiple of seq_len = {}",
                    seq_len.unwrap_or(1)
                ));
            }
            _ => return bad(format!("must be > 0 and divide {units_name} = {units}")),
        };
        if self.accumulate_grads && units / minibatch < 2 {
            return Err(AlgoError::invalid(
                "accumulate_grads",
                true,
                "needs more than one minibatch (a minibatch smaller than the buffer)",
            ));
        }
        Ok(())
    }

    /// The learning-rate schedule (a constant `learning_rate` without one).
    pub(crate) fn lr_schedule(&self) -> crate::Result<Schedule> {
        match &self.lr_schedule {
            Some(p) => Schedule::new(p.clone(), self.lr_schedule_kind),
            None => Schedule::new(vec![(0.0, self.learning_rate)], ScheduleKind::Step),
        }
    }

    /// The entropy-coefficient schedule (a constant `entropy_coeff` without one).
    pub(crate) fn entropy_schedule(&self) -> crate::Result<Schedule> {
        match &self.entropy_coeff_schedule {
            Some(p) => Schedule::new(p.clone(), self.entropy_coeff_schedule_kind),
            None => Schedule::new(vec![(0.0, self.entropy_coeff)], ScheduleKind::Step),
        }
    }
}

/// Feed-forward PPO with the default model: the PPO hyperparameters and the model's sizes
/// (rl8's `model_config`). [`init`](Self::init) builds it; with a model of your own, use
/// [`Algorithm::with_model`](crate::Algorithm::with_model) and a [`PpoConfig`].
///
/// ```
/// use rl_algo::{AlgorithmConfig, DefaultModelConfig, PpoConfig};
///
/// let config = AlgorithmConfig::new()
///     .with_ppo(PpoConfig::new().with_num_envs(256).with_horizon(64))
///     .with_model(DefaultModelConfig::new().with_hiddens(vec![64, 64]));
/// config.validate()?;
/// let bad = config.with_model(DefaultModelConfig::new().with_hiddens(vec![]));
/// assert!(bad.validate().unwrap_err().to_string().contains("model.hiddens"));
/// # Ok::<(), rl_algo::AlgoError>(())
/// ```
#[derive(Config, Debug)]
pub struct AlgorithmConfig {
    /// The PPO hyperparameters.
    #[config(default = "PpoConfig::new()")]
    pub ppo: PpoConfig,
    /// The default model's sizes.
    #[config(default = "DefaultModelConfig::new()")]
    pub model: DefaultModelConfig,
}

config_file!(PpoConfig);
config_file!(AlgorithmConfig);
config_file!(RecurrentAlgorithmConfig);

impl AlgorithmConfig {
    /// Checks that a run with the default model on these spaces fits
    /// [`PpoConfig::memory_limit`] (by estimate: the rollout, the model's parameters with
    /// their gradients and Adam's moments, a minibatch's activations).
    ///
    /// # Errors
    /// [`AlgoError::Memory`] with the estimate, or the spaces' mismatch with the default model.
    pub fn memory_check(
        &self,
        observation_space: &Space,
        action_space: &Space,
    ) -> crate::Result<()> {
        let (input, head) = self.model.head(observation_space, action_space)?;
        let (parameters, activations) = self.model.size(input, &head);
        self.ppo
            .footprint(None, input, head.action_width(), parameters, activations)
            .check(self.ppo.memory_limit)
    }

    /// Checks [`PpoConfig::validate`]'s rules and the model's, naming the first field that
    /// breaks one.
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] with the field, its value and the rule.
    pub fn validate(&self) -> crate::Result<()> {
        self.ppo.validate()?;
        self.model.validate()
    }
}

/// What recurrent PPO adds to [`PpoConfig`]: the truncated-BPTT length and the state-reset
/// schedule (rl8's `seq_len` and `seqs_per_state_reset`).
///
/// The buffer of `num_envs * horizon` transitions is cut into sequences of `seq_len`
/// consecutive steps of one environment; the update runs each from the recurrent state stored
/// at its first step during collection.
#[derive(Config, Debug)]
pub struct RecurrenceConfig {
    /// L, the truncated-BPTT length: transitions per training sequence. > 0 and divides
    /// `horizon`.
    #[config(default = 4)]
    pub seq_len: usize,
    /// When the recurrent states of all environments are reset to the model's initial state,
    /// counted in `seq_len` chunks over all collects (rl8's `seqs_per_state_reset`), besides the
    /// reset of an environment's state when its episode ends. With `Every(n)`, `seq_len * n`
    /// must divide the environments' reset period in steps, so the schedule lines up with the
    /// environment resets.
    #[config(default = "Reset::Every(8)")]
    pub state_reset: Reset,
}

impl RecurrenceConfig {
    /// Checks rl8's rules for recurrent PPO against the PPO hyperparameters `ppo`: `seq_len` >
    /// 0 and divides `horizon`, the state-reset period lines up with the environment resets,
    /// the minibatch holds whole sequences and divides their number; then every rule of
    /// [`PpoConfig::validate`].
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] with the field, its value and the rule.
    pub fn validate(&self, ppo: &PpoConfig) -> crate::Result<()> {
        let horizon = ppo.horizon;
        if self.seq_len == 0 {
            return Err(AlgoError::invalid("seq_len", 0, "must be > 0"));
        }
        if horizon > 0 && !horizon.is_multiple_of(self.seq_len) {
            return Err(AlgoError::invalid(
                "seq_len",
                self.seq_len,
                format!("must divide horizon = {horizon}"),
            ));
        }
        if self.state_reset == Reset::Every(0) {
            return Err(AlgoError::invalid(
                "state_reset",
                "Every(0)",
                "must be Every(n > 0) or Never",
            ));
        }
        let env_steps = horizon as u128 * u128::from(ppo.env_reset.every().unwrap_or(1));
        let state_steps = self.seq_len as u128 * u128::from(self.state_reset.every().unwrap_or(1));
        if !env_steps.is_multiple_of(state_steps) {
            return Err(AlgoError::invalid(
                "state_reset",
                format!("{:?}", self.state_reset),
                format!(
                    "seq_len * n = {state_steps} must divide the environments' reset period, \
                     horizon * n = {env_steps} steps"
                ),
            ));
        }
        ppo.validate_for(Some(self.seq_len))
    }

    /// The sequences in one buffer of `ppo`, `num_envs * horizon / seq_len`.
    pub fn num_sequences(&self, ppo: &PpoConfig) -> usize {
        ppo.buffer_size() / self.seq_len.max(1)
    }
}

/// Recurrent PPO with the default recurrent model (rl8's `RecurrentAlgorithmConfig`): the PPO
/// hyperparameters, the recurrence and the model's sizes. [`init`](Self::init) builds it; with
/// a model of your own, use [`RecurrentAlgorithm::with_model`](crate::RecurrentAlgorithm::with_model).
///
/// ```
/// use rl_algo::{Minibatch, PpoConfig, RecurrenceConfig, RecurrentAlgorithmConfig, Reset};
///
/// let config = RecurrentAlgorithmConfig::new()
///     .with_ppo(PpoConfig::new().with_num_envs(64).with_horizon(32))
///     .with_recurrence(RecurrenceConfig::new().with_seq_len(8).with_state_reset(Reset::Every(4)));
/// config.validate()?;
/// assert_eq!(config.recurrence.num_sequences(&config.ppo), 64 * 32 / 8);
/// let bad = config.clone().with_recurrence(RecurrenceConfig::new().with_seq_len(5));
/// assert!(bad.validate().unwrap_err().to_string().contains("seq_len"));
/// let mut bad = config;
/// bad.ppo.minibatch = Minibatch::Transitions(12); // not whole sequences of 8
/// assert!(bad.validate().unwrap_err().to_string().contains("minibatch"));
/// # Ok::<(), rl_algo::AlgoError>(())
/// ```
#[derive(Config, Debug)]
pub struct RecurrentAlgorithmConfig {
    /// The PPO hyperparameters.
    #[config(default = "PpoConfig::new()")]
    pub ppo: PpoConfig,
    /// The truncated-BPTT length and the state-reset schedule.
    #[config(default = "RecurrenceConfig::new()")]
    pub recurrence: RecurrenceConfig,
    /// The default recurrent model's sizes.
    #[config(default = "RecurrentModelConfig::new()")]
    pub model: RecurrentModelConfig,
}

impl RecurrentAlgorithmConfig {
    /// Checks that a run with the default recurrent model on these spaces fits
    /// [`PpoConfig::memory_limit`], as [`AlgorithmConfig::memory_check`] does.
    ///
    /// # Errors
    /// [`AlgoError::Memory`] with the estimate, or the spaces' mismatch with the default model.
    pub fn memory_check(
        &self,
        observation_space: &Space,
        action_space: &Space,
    ) -> crate::Result<()> {
        let (input, head) = self.model.head(observation_space, action_space)?;
        let (parameters, activations) = self.model.size(input, &head);
        let seq_len = Some(self.recurrence.seq_len);
        self.ppo
            .footprint(seq_len, input, head.action_width(), parameters, activations)
            .check(self.ppo.memory_limit)
    }

    /// Checks [`RecurrenceConfig::validate`]'s rules (which include every PPO rule) and the
    /// model's, naming the first field that breaks one.
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] with the field, its value and the rule.
    pub fn validate(&self) -> crate::Result<()> {
        self.recurrence.validate(&self.ppo)?;
        self.model.validate()
    }
}
