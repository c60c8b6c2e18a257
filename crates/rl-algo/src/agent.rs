//! Acting with a trained policy without the training stack: the policy a run saved, loaded on
//! any backend (autodiff is not needed), acting deterministically or by sampling:
//! [`Agent`] (feed-forward) and [`RecurrentAgent`].

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor};
use rand::Rng;
use rl_core::{Action, Distribution, Model, Observation, RecurrentModel, RecurrentState, Space};
use serde::de::DeserializeOwned;

use crate::config::{AlgorithmConfig, PpoConfig, RecurrentAlgorithmConfig};
use crate::error::{AlgoError, Result};
use crate::models::{DefaultDist, DefaultModel};
use crate::normalizer::ObservationNormalizer;
use crate::record::load_model;
use crate::recurrent_models::DefaultRecurrentModel;

/// The files of a saved policy in a run's output directory (the trainer writes them).
pub const POLICY_FILES: SavedPolicyFiles = SavedPolicyFiles {
    config: "config.json",
    spaces: "spaces.json",
    weights: "policy.mpk",
    normalizer: "observation_normalizer.json",
};

/// The names of a saved policy's files: see [`POLICY_FILES`].
#[derive(Debug, Clone, Copy)]
pub struct SavedPolicyFiles {
    /// The algorithm config (its model config says the architecture).
    pub config: &'static str,
    /// The environment's spaces ([`Spaces`]).
    pub spaces: &'static str,
    /// The model's parameters ([`save_model`](crate::save_model)).
    pub weights: &'static str,
    /// The observation normalizer, when the run normalized observations.
    pub normalizer: &'static str,
}

/// The spaces a policy was trained for.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spaces {
    /// The observation space.
    pub observation: Space,
    /// The action space.
    pub action: Space,
}

/// A trained feed-forward policy (the default model) for acting, on any backend, with the
/// observation normalizer it was trained with.
///
/// ```no_run
/// use burn::backend::NdArray;
/// use rl_algo::Agent;
/// use rl_core::Env;
/// use rl_core::DiscreteDummyEnv;
///
/// let device = Default::default();
/// let agent = Agent::<NdArray>::load("out/cartpole", &device)?;
/// let mut env = DiscreteDummyEnv::<NdArray>::new(4, 7, &device)?;
/// let obs = env.reset(None)?;
/// let action = agent.act(obs)?; // the mode of each distribution
/// env.step(&action)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Agent<B: Backend> {
    model: DefaultModel<B>,
    normalizer: Option<ObservationNormalizer>,
}

/// Reads the JSON file `name` of `dir`.
fn read_json<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<T> {
    let path = dir.join(name);
    let io = |source| AlgoError::Io {
        action: "read",
        path: path.clone(),
        source,
    };
    let text = std::fs::read_to_string(&path).map_err(io)?;
    serde_json::from_str(&text).map_err(|e| io(std::io::Error::other(e)))
}

/// What both agents load from a run's directory: the model `init` builds from the config and
/// the spaces, with the saved weights, and the observation normalizer when the run used one;
/// `read` reads the config (over its defaults: a run saved before a field existed loads with
/// the field's default), `ppo` picks its PPO config.
fn load_saved<B: Backend, C, M: burn::module::Module<B>>(
    dir: &Path,
    device: &B::Device,
    read: impl Fn(&Path) -> Result<C>,
    ppo: impl Fn(&C) -> &PpoConfig,
    init: impl Fn(&C, &Spaces) -> Result<M>,
) -> Result<(M, Option<ObservationNormalizer>)> {
    let config = read(&dir.join(POLICY_FILES.config))?;
    let spaces = read_json(dir, POLICY_FILES.spaces)?;
    let normalizer = if ppo(&config).normalize_observations {
        Some(read_json(dir, POLICY_FILES.normalizer)?)
    } else {
        None
    };
    let model = load_model(
        init(&config, &spaces)?,
        dir.join(POLICY_FILES.weights),
        device,
    )?;
    Ok((model, normalizer))
}

/// `obs` through the normalizer, if any.
fn normalized<B: Backend>(
    normalizer: &Option<ObservationNormalizer>,
    obs: Observation<B>,
) -> Observation<B> {
    match normalizer {
        Some(n) => n.normalize(obs),
        None => obs,
    }
}

impl<B: Backend> Agent<B> {
    /// Loads the feed-forward policy saved in a run's output directory `dir` (the files of
    /// [`POLICY_FILES`]) onto `device`.
    ///
    /// # Errors
    /// [`AlgoError::Io`] naming a file that is missing or cannot be read (a recurrent run's
    /// config does not read as a feed-forward one: load it with [`RecurrentAgent`]), the
    /// errors of [`load_model`](crate::load_model) (a damaged file, another architecture), or
    /// a config whose model does not fit the spaces.
    pub fn load(dir: impl AsRef<Path>, device: &B::Device) -> Result<Self> {
        let dir = dir.as_ref();
        let (model, normalizer) = load_saved(
            dir,
            device,
            |p: &Path| AlgorithmConfig::load(p),
            |c: &AlgorithmConfig| &c.ppo,
            |c: &AlgorithmConfig, s: &Spaces| {
                c.model.init(&s.observation, &s.action, c.ppo.seed, device)
            },
        )?;
        Ok(Self { model, normalizer })
    }

    /// The deterministic action for every row of `obs`: the mode of each distribution.
    ///
    /// # Errors
    /// An observation that does not fit the model.
    pub fn act(&self, obs: Observation<B>) -> Result<Action<B>> {
        Ok(self.policy(obs)?.mode())
    }

    /// An action sampled for every row of `obs` with `rng`.
    ///
    /// # Errors
    /// An observation that does not fit the model.
    pub fn sample<R: Rng + ?Sized>(&self, obs: Observation<B>, rng: &mut R) -> Result<Action<B>> {
        Ok(self.policy(obs)?.sample(rng))
    }

    fn policy(&self, obs: Observation<B>) -> Result<DefaultDist<B>> {
        Ok(self.model.forward(&normalized(&self.normalizer, obs))?.dist)
    }
}

/// A trained recurrent policy (the default recurrent model) for acting, on any backend: it
/// carries each environment's state from step to step, as training did; call
/// [`end_episodes`](Self::end_episodes) after every step so that an environment whose episode
/// ended starts the next one from the initial state.
///
/// ```no_run
/// use burn::backend::NdArray;
/// use rl_algo::RecurrentAgent;
/// use rl_core::{DiscreteDummyEnv, Env};
///
/// let device = Default::default();
/// let mut agent = RecurrentAgent::<NdArray>::load("out/cartpole_no_velocity", &device)?;
/// let mut env = DiscreteDummyEnv::<NdArray>::new(4, 7, &device)?;
/// let mut obs = env.reset(None)?;
/// for _ in 0..100 {
///     let step = env.step(&agent.act(obs)?)?;
///     agent.end_episodes(step.done())?;
///     obs = step.obs;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RecurrentAgent<B: Backend> {
    model: DefaultRecurrentModel<B>,
    normalizer: Option<ObservationNormalizer>,
    /// Each environment's state; `None` before the first step and after [`Self::reset`].
    state: Option<RecurrentState<B>>,
}

impl<B: Backend> RecurrentAgent<B> {
    /// Loads the recurrent policy saved in a run's output directory `dir` (the files of
    /// [`POLICY_FILES`]) onto `device`.
    ///
    /// # Errors
    /// As [`Agent::load`] (a feed-forward run's config does not read as a recurrent one).
    pub fn load(dir: impl AsRef<Path>, device: &B::Device) -> Result<Self> {
        let dir = dir.as_ref();
        let (model, normalizer) = load_saved(
            dir,
            device,
            |p: &Path| RecurrentAlgorithmConfig::load(p),
            |c: &RecurrentAlgorithmConfig| &c.ppo,
            |c: &RecurrentAlgorithmConfig, s: &Spaces| {
                c.model.init(&s.observation, &s.action, c.ppo.seed, device)
            },
        )?;
        Ok(Self {
            model,
            normalizer,
            state: None,
        })
    }

    /// The deterministic action for every row of `obs` (one row per environment, the same
    /// environments at every step), stepping their states.
    ///
    /// # Errors
    /// An observation that does not fit the model, or a row count other than the previous
    /// step's (call [`reset`](Self::reset) to start over with other environments).
    pub fn act(&mut self, obs: Observation<B>) -> Result<Action<B>> {
        Ok(self.policy(obs)?.mode())
    }

    /// An action sampled for every row of `obs` with `rng`, stepping the states.
    ///
    /// # Errors
    /// As [`act`](Self::act).
    pub fn sample<R: Rng + ?Sized>(
        &mut self,
        obs: Observation<B>,
        rng: &mut R,
    ) -> Result<Action<B>> {
        Ok(self.policy(obs)?.sample(rng))
    }

    /// Resets the state of the environments whose episode ended (`done`, one flag per
    /// environment: [`rl_core::Transition::done`]).
    ///
    /// # Errors
    /// `done` of another length than the batch.
    pub fn end_episodes(&mut self, done: Tensor<B, 1, Bool>) -> Result<()> {
        if let Some(state) = &self.state {
            let init = self.model.init_state(1, &done.device());
            self.state = Some(state.reset_rows(done, &init)?);
        }
        Ok(())
    }

    /// Forgets every state: the next step starts all environments from the initial state.
    pub fn reset(&mut self) {
        self.state = None;
    }

    fn policy(&mut self, obs: Observation<B>) -> Result<DefaultDist<B>> {
        let obs = normalized(&self.normalizer, obs);
        let n = obs.features.dims()[0];
        let state = match self.state.take() {
            Some(state) => state,
            None => self.model.init_state(n, &obs.features.device()),
        };
        let out = self.model.forward(&obs, 1, state)?;
        self.state = Some(out.state);
        Ok(out.dist)
    }
}
