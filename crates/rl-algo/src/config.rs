//! [`AlgorithmConfig`]: every field of rl8's `AlgorithmConfig`, with rl8's defaults, checked
//! before anything is built.

use burn::config::Config;

use crate::error::AlgoError;
use crate::models::DefaultModelConfig;
use crate::recurrent_models::RecurrentModelConfig;
use crate::schedule::{Schedule, ScheduleKind};

/// Adam's settings, with torch's defaults (Burn's own default epsilon is 1e-5; torch and rl8 use
/// 1e-8). rl8's `optimizer_cls` / `optimizer_config`: Adam is the one optimizer offered.
#[derive(Config, Debug)]
pub struct OptimizerConfig {
    /// The learning rate when no `lr_schedule` is given (rl8: `{"lr": 1e-3}`).
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Adam's beta 1.
    #[config(default = 0.9)]
    pub beta_1: f32,
    /// Adam's beta 2.
    #[config(default = 0.999)]
    pub beta_2: f32,
    /// Adam's epsilon.
    #[config(default = 1e-8)]
    pub epsilon: f32,
}

/// The configuration of [`Algorithm`](crate::Algorithm), feed-forward PPO.
///
/// Field names, meanings and defaults are rl8's (`rl8.AlgorithmConfig`); see
/// `docs/from-rl8.md` for the few deliberate differences. rl8's `model`, `model_cls` and
/// `distribution_cls` are the model value given to
/// [`Algorithm::with_model`](crate::Algorithm::with_model) (its `Dist` type is the
/// distribution), or the default model built from [`AlgorithmConfig::model`]; rl8's `device`
/// is the Burn device passed to the constructor, used as given (rl8 silently prefers CUDA).
///
/// It is a Burn [`Config`]: builder methods `with_<field>`, JSON `save`/`load`, and serde.
///
/// ```
/// use rl_algo::AlgorithmConfig;
///
/// let config = AlgorithmConfig::new().with_num_envs(256).with_horizon(64);
/// config.validate()?;
/// assert_eq!(config.minibatch_size(), 256 * 64);
/// let bad = config.with_clip_param(1.5);
/// assert!(bad.validate().unwrap_err().to_string().contains("clip_param"));
/// # Ok::<(), rl_algo::AlgoError>(())
/// ```
#[derive(Config, Debug)]
pub struct AlgorithmConfig {
    /// T, the transitions per environment per `collect()`.
    #[config(default = 32)]
    pub horizon: usize,
    /// Reset the environments at collect number H (0-based) when `H % value == 0`; a negative
    /// value resets only at the first collect (use it with environments that reset themselves).
    /// 0 is invalid.
    #[config(default = 1)]
    pub horizons_per_env_reset: i64,
    /// B, the number of environments stepped as one batch.
    #[config(default = 8192)]
    pub num_envs: usize,
    /// The default model's sizes (rl8's `model_config`); ignored for a user model.
    #[config(default = "DefaultModelConfig::new()")]
    pub model: DefaultModelConfig,
    /// Adam's settings (rl8's `optimizer_config`).
    #[config(default = "OptimizerConfig::new()")]
    pub optimizer: OptimizerConfig,
    /// Accumulate the gradients of every minibatch of an epoch and step the optimizer once per
    /// epoch (the whole-buffer gradient, computed in pieces). Needs more than one minibatch.
    #[config(default = false)]
    pub accumulate_grads: bool,
    /// Mixed precision. Not supported: `true` is rejected (rl8 allows it on CUDA only).
    #[config(default = false)]
    pub enable_amp: bool,
    /// `(env transitions, learning rate)` points, the first at count 0. Overrides
    /// `optimizer.learning_rate` from the start.
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
    /// Transitions per minibatch; `None` (or rl8's 0) means the whole buffer, `num_envs *
    /// horizon`. Must divide `num_envs * horizon`.
    pub sgd_minibatch_size: Option<usize>,
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
}

impl AlgorithmConfig {
    /// The transitions in one buffer, `num_envs * horizon`.
    pub fn buffer_size(&self) -> usize {
        self.num_envs.saturating_mul(self.horizon)
    }

    /// The minibatch size: `sgd_minibatch_size`, or the whole buffer for `None` and 0.
    pub fn minibatch_size(&self) -> usize {
        self.minibatch_units(self.buffer_size())
    }

    /// Minibatches per epoch.
    pub fn num_minibatches(&self) -> usize {
        self.buffer_size() / self.minibatch_size().max(1)
    }

    /// The minibatch size counted in the update's units (transitions, or sequences for the
    /// recurrent algorithm) when the buffer holds `units` of them.
    pub(crate) fn minibatch_units(&self, units: usize) -> usize {
        match self.sgd_minibatch_size {
            None | Some(0) => units,
            Some(m) => m,
        }
    }

    /// Checks every rule of rl8 (its `AlgorithmHparams` checks) plus the ones rl8 lacks, and
    /// names the first field that breaks one.
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] with the field, its value
    /// and the rule.
    pub fn validate(&self) -> crate::Result<()> {
        self.validate_for(self.buffer_size(), "num_envs * horizon")
    }

    /// [`validate`](Self::validate) with the buffer counted in the update's units: `units` of
    /// them (`units_name` says how they are computed) are split into minibatches of
    /// `sgd_minibatch_size`.
    pub(crate) fn validate_for(&self, units: usize, units_name: &str) -> crate::Result<()> {
        let unit = |field: &str, v: f64, lower_open: bool| {
            let ok = if lower_open {
                v > 0.0 && v <= 1.0
            } else {
                v > 0.0 && v < 1.0
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
        let positive = |field: &str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(AlgoError::invalid(field, v, "must be finite and > 0"))
            }
        };
        if self.num_envs == 0 {
            return Err(AlgoError::invalid("num_envs", 0, "must be > 0"));
        }
        if self.horizon == 0 {
            return Err(AlgoError::invalid("horizon", 0, "must be > 0"));
        }
        if self.horizons_per_env_reset == 0 {
            return Err(AlgoError::invalid(
                "horizons_per_env_reset",
                0,
                "must be != 0 (negative: reset only at the first collect)",
            ));
        }
        self.model.validate()?;
        positive("optimizer.learning_rate", self.optimizer.learning_rate)?;
        for (field, beta) in [
            ("optimizer.beta_1", self.optimizer.beta_1),
            ("optimizer.beta_2", self.optimizer.beta_2),
        ] {
            if !(0.0..1.0).contains(&beta) {
                return Err(AlgoError::invalid(field, beta, "must be in [0, 1)"));
            }
        }
        positive("optimizer.epsilon", f64::from(self.optimizer.epsilon))?;
        if self.enable_amp {
            return Err(AlgoError::invalid(
                "enable_amp",
                true,
                "mixed precision is not supported; train in f32",
            ));
        }
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
        if !(self.entropy_coeff.is_finite() && self.entropy_coeff >= 0.0) {
            return Err(AlgoError::invalid(
                "entropy_coeff",
                self.entropy_coeff,
                "must be finite and >= 0",
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
            && !(c > 1.0 && c.is_finite())
        {
            return Err(AlgoError::invalid(
                "dual_clip_param",
                c,
                "must be None or > 1",
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
        let minibatch = self.minibatch_units(units);
        if !units.is_multiple_of(minibatch) {
            return Err(AlgoError::invalid(
                "sgd_minibatch_size",
                minibatch,
                format!("must divide {units_name} = {units}"),
            ));
        }
        if self.accumulate_grads && units / minibatch < 2 {
            return Err(AlgoError::invalid(
                "accumulate_grads",
                true,
                format!("needs more than one minibatch (sgd_minibatch_size < {units_name})"),
            ));
        }
        Ok(())
    }

    /// The learning-rate schedule (a constant `optimizer.learning_rate` without one).
    pub(crate) fn lr_schedule(&self) -> crate::Result<Schedule> {
        match &self.lr_schedule {
            Some(p) => Schedule::new(p.clone(), self.lr_schedule_kind),
            None => Schedule::new(
                vec![(0.0, self.optimizer.learning_rate)],
                ScheduleKind::Step,
            ),
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

/// The configuration of [`RecurrentAlgorithm`](crate::RecurrentAlgorithm), recurrent PPO
/// (rl8's `RecurrentAlgorithmConfig`): the feed-forward hyperparameters plus the truncated-BPTT
/// length and the state-reset schedule.
///
/// * `ppo` holds every field shared with [`AlgorithmConfig`], with the same defaults, except
///   that `ppo.sgd_minibatch_size` counts **sequences** of `seq_len` transitions (rl8's rule):
///   `None` means all `num_envs * horizon / seq_len` of them. `ppo.model`, the feed-forward
///   model's sizes, is not used; the recurrent model's are [`model`](Self::model).
/// * The buffer of `num_envs * horizon` transitions is cut into sequences of `seq_len`
///   consecutive steps of one environment; the update runs each from the recurrent state stored
///   at its first step during collection.
///
/// ```
/// use rl_algo::{AlgorithmConfig, RecurrentAlgorithmConfig};
///
/// let config = RecurrentAlgorithmConfig::new()
///     .with_ppo(AlgorithmConfig::new().with_num_envs(64).with_horizon(32))
///     .with_seq_len(8)
///     .with_seqs_per_state_reset(4);
/// config.validate()?;
/// assert_eq!(config.num_sequences(), 64 * 32 / 8);
/// let bad = config.with_seq_len(5);
/// assert!(bad.validate().unwrap_err().to_string().contains("seq_len"));
/// # Ok::<(), rl_algo::AlgoError>(())
/// ```
#[derive(Config, Debug)]
pub struct RecurrentAlgorithmConfig {
    /// The hyperparameters shared with feed-forward PPO (`sgd_minibatch_size` in sequences;
    /// `model` unused).
    #[config(default = "AlgorithmConfig::new()")]
    pub ppo: AlgorithmConfig,
    /// L, the truncated-BPTT length: transitions per training sequence. > 0 and divides
    /// `ppo.horizon`.
    #[config(default = 4)]
    pub seq_len: usize,
    /// The recurrent states of all environments are reset to the model's initial state every
    /// `seq_len * seqs_per_state_reset` steps (counted over all collects), besides the reset of
    /// an environment's state when its episode ends. Negative: only at the very first step.
    /// 0 is invalid; `seq_len * seqs_per_state_reset` must divide `horizon *
    /// horizons_per_env_reset`, so the schedule lines up with the environment resets.
    #[config(default = 8)]
    pub seqs_per_state_reset: i64,
    /// The default recurrent model's sizes (rl8's `model_config`); ignored for a user model.
    #[config(default = "RecurrentModelConfig::new()")]
    pub model: RecurrentModelConfig,
}

impl RecurrentAlgorithmConfig {
    /// The sequences in one buffer, `num_envs * horizon / seq_len`.
    pub fn num_sequences(&self) -> usize {
        self.ppo.buffer_size() / self.seq_len.max(1)
    }

    /// The minibatch size in sequences: `ppo.sgd_minibatch_size`, or all of them for `None`
    /// and 0.
    pub fn minibatch_size(&self) -> usize {
        self.ppo.minibatch_units(self.num_sequences())
    }

    /// Checks rl8's rules for recurrent PPO (`seq_len` > 0 and divides `horizon`,
    /// `seqs_per_state_reset` != 0, `seq_len * seqs_per_state_reset` divides `horizon *
    /// horizons_per_env_reset`, the minibatch size divides the number of sequences) and every
    /// rule of [`AlgorithmConfig::validate`], naming the first field that breaks one.
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] with the field, its value and the rule.
    pub fn validate(&self) -> crate::Result<()> {
        let horizon = self.ppo.horizon;
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
        let spsr = self.seqs_per_state_reset;
        if spsr == 0 {
            return Err(AlgoError::invalid(
                "seqs_per_state_reset",
                0,
                "must be != 0 (negative: reset only at the first step)",
            ));
        }
        let hper = self.ppo.horizons_per_env_reset;
        let period = (self.seq_len as i128) * i128::from(spsr);
        if hper != 0 && (horizon as i128 * i128::from(hper)) % period != 0 {
            return Err(AlgoError::invalid(
                "seqs_per_state_reset",
                spsr,
                format!(
                    "seq_len * seqs_per_state_reset = {period} must divide horizon * \
                     horizons_per_env_reset = {}",
                    horizon as i128 * i128::from(hper)
                ),
            ));
        }
        self.ppo.validate_for(
            self.num_sequences(),
            "the sequences num_envs * horizon / seq_len",
        )?;
        self.model.validate()
    }
}
