//! The engine's boundary: what an environment or a model hands the engine is checked here,
//! before it is used, and a wrong shape becomes an [`AlgoError::Mismatch`] naming the
//! environment, the field, the shape expected and seen, and the step. Only shapes are checked
//! (they are known on the host, so no check waits for the device); values are checked where
//! they are read anyway (rewards, observations: see `collect.rs`).

use std::fmt::Debug;

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use rl_core::{CoreError, Distribution, Env, Observation, Space, Transition};

use crate::error::{AlgoError, Result};

/// Where in a collect a check happens.
#[derive(Clone, Copy, Debug)]
pub(crate) enum At {
    /// The observation of a reset.
    Reset {
        /// The engine's collect count.
        collect: u64,
    },
    /// An environment step `step` of the collect.
    Step {
        /// The engine's collect count.
        collect: u64,
        /// The step within the collect.
        step: usize,
    },
    /// The bootstrap values after the last step of the collect.
    End {
        /// The engine's collect count.
        collect: u64,
    },
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Reset { collect } => write!(f, "the reset of collect {collect}"),
            At::Step { collect, step } => write!(f, "step {step} of collect {collect}"),
            At::End { collect } => write!(f, "the end of collect {collect}"),
        }
    }
}

/// The shapes an environment of `n` parallel environments must hand over.
#[derive(Clone, Debug)]
pub(crate) struct Boundary {
    env: String,
    n: usize,
    /// The feature width for a `Box` observation space (other spaces leave the width to the
    /// model).
    width: Option<usize>,
    /// The width of the action mask every observation carries, if the environment declares one.
    mask: Option<usize>,
    actions: Space,
}

impl Boundary {
    /// The shapes `env` promises through its spaces, its observation spec and its
    /// `num_envs`.
    ///
    /// # Errors
    /// [`AlgoError::Mismatch`] when the spec's action mask does not have the action space's
    /// [`Space::mask_width`].
    pub(crate) fn new<B: Backend, E: Env<B>>(env: &E) -> Result<Self> {
        let space = env.observation_space();
        let actions = env.action_space().clone();
        let mask = env.observation_spec().action_mask;
        if let Some(width) = mask
            && actions.mask_width() != Some(width)
        {
            return Err(AlgoError::Mismatch {
                what: format!("the action mask declared by `{}`", env.name()),
                expected: match actions.mask_width() {
                    Some(w) => format!("{w} flags, one per category of {actions:?}"),
                    None => format!("none: {actions:?} cannot be masked"),
                },
                actual: format!("{width} flags"),
            });
        }
        Ok(Self {
            env: env.name().to_string(),
            n: env.num_envs(),
            width: matches!(space, Space::Box { .. }).then(|| space.flat_dim()),
            mask,
            actions,
        })
    }

    fn mismatch(&self, what: &str, at: At, expected: String, actual: impl Debug) -> AlgoError {
        self.mismatch_text(what, at, expected, format!("{actual:?}"))
    }

    fn mismatch_text(&self, what: &str, at: At, expected: String, actual: String) -> AlgoError {
        AlgoError::Mismatch {
            what: format!("{what} of `{}` at {at}", self.env),
            expected,
            actual,
        }
    }

    /// A reward or flag tensor: `[n]`.
    fn per_env(&self, dims: [usize; 1], what: &str, at: At) -> Result<()> {
        if dims[0] == self.n {
            Ok(())
        } else {
            Err(self.mismatch(what, at, format!("[{}]", self.n), dims.to_vec()))
        }
    }

    /// An observation batch (`what`: the observation or `final_obs`): `n` rows of features (of
    /// the space's width for a `Box`), and a mask and extra tensors of as many rows.
    fn observation_of<B: Backend>(&self, obs: &Observation<B>, what: &str, at: At) -> Result<()> {
        let n = self.n;
        let dims = obs.features.dims();
        let width_ok = self.width.is_none_or(|w| dims[1] == w);
        if dims[0] != n || !width_ok {
            let width = self.width.map_or("F".to_string(), |w| w.to_string());
            return Err(self.mismatch(
                &format!("{what} features"),
                at,
                format!("[{n}, {width}]"),
                dims.to_vec(),
            ));
        }
        let mask = obs.action_mask.as_ref().map(|m| m.dims());
        match (self.mask, mask) {
            (Some(width), Some([_, w])) if w == width => {}
            (None, None) => {}
            (Some(width), _) => {
                return Err(self.mismatch_text(
                    &format!("{what} action mask"),
                    at,
                    format!("[{n}, {width}], as its observation_spec declares"),
                    mask.map_or("none".into(), |d| format!("{d:?}")),
                ));
            }
            (None, Some(d)) => {
                return Err(self.mismatch_text(
                    &format!("{what} action mask"),
                    at,
                    "none: its observation_spec declares no action mask".into(),
                    format!("{d:?}"),
                ));
            }
        }
        obs.validate().map_err(|e| {
            self.mismatch_text(
                what,
                at,
                format!("every tensor with {n} rows"),
                e.to_string(),
            )
        })
    }

    /// The observation of a reset or a step.
    pub(crate) fn observation<B: Backend>(&self, obs: &Observation<B>, at: At) -> Result<()> {
        self.observation_of(obs, "observation", at)
    }

    /// A step's outputs: its observation, `[n]` rewards and flags, and a `final_obs` of `n`
    /// rows (and the features' width) when given.
    pub(crate) fn transition<B: Backend>(&self, step: &Transition<B>, at: At) -> Result<()> {
        self.observation(&step.obs, at)?;
        self.per_env(step.reward.dims(), "reward", at)?;
        self.per_env(step.terminated.dims(), "terminated", at)?;
        self.per_env(step.truncated.dims(), "truncated", at)?;
        if let Some(final_obs) = &step.final_obs {
            self.observation_of(final_obs, "final_obs", at)?;
        }
        Ok(())
    }

    /// A model's output for `rows` observations: values `[rows, 1]` and a distribution over
    /// `rows` actions of the environment's action space.
    pub(crate) fn policy<B: Backend, D: Distribution<B>>(
        &self,
        values: &Tensor<B, 2>,
        dist: &D,
        rows: usize,
        at: At,
    ) -> Result<()> {
        self.values(values, rows, at)?;
        if dist.batch_size() != rows {
            return Err(self.mismatch(
                "the model's action distribution",
                at,
                format!("{rows} rows"),
                vec![dist.batch_size()],
            ));
        }
        let shape = dist.action_shape();
        if !shape.fits(&self.actions) {
            return Err(self.mismatch_text(
                "the model's action distribution",
                at,
                format!("the actions of {:?}", self.actions),
                shape.to_string(),
            ));
        }
        Ok(())
    }

    /// Values of `rows` observations: `[rows, 1]`.
    pub(crate) fn values<B: Backend>(
        &self,
        values: &Tensor<B, 2>,
        rows: usize,
        at: At,
    ) -> Result<()> {
        let dims = values.dims();
        if dims == [rows, 1] {
            Ok(())
        } else {
            Err(self.mismatch(
                "the model's values",
                at,
                format!("[{rows}, 1]"),
                dims.to_vec(),
            ))
        }
    }

    /// An error the environment returned from `reset` or `step`, with where it happened.
    pub(crate) fn env_error(&self, source: CoreError, at: At) -> AlgoError {
        AlgoError::Env {
            env: self.env.clone(),
            at: at.to_string(),
            source: Box::new(source),
        }
    }
}
