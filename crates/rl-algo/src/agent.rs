//! Acting with a trained policy without the training stack: the policy a run saved, loaded on
//! any backend (autodiff is not needed), acting deterministically or by sampling.

use std::path::Path;

use burn::tensor::backend::Backend;
use rand::Rng;
use rl_core::{Action, Distribution, Model, Observation, Space};

use crate::config::AlgorithmConfig;
use crate::error::{AlgoError, Result};
use crate::models::{DefaultDist, DefaultModel};
use crate::normalizer::ObservationNormalizer;
use crate::record::load_model;

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
fn read_json<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<T> {
    let path = dir.join(name);
    let io = |source| AlgoError::Io {
        action: "read",
        path: path.clone(),
        source,
    };
    let text = std::fs::read_to_string(&path).map_err(io)?;
    serde_json::from_str(&text).map_err(|e| io(std::io::Error::other(e)))
}

impl<B: Backend> Agent<B> {
    /// Loads the policy saved in a run's output directory `dir` (the files of
    /// [`POLICY_FILES`]) onto `device`.
    ///
    /// # Errors
    /// [`AlgoError::Io`] naming a file that is missing or cannot be read, the errors of
    /// [`load_model`](crate::load_model) (a damaged file, another architecture), or a config
    /// whose model does not fit the spaces.
    pub fn load(dir: impl AsRef<Path>, device: &B::Device) -> Result<Self> {
        let dir = dir.as_ref();
        let config: AlgorithmConfig = read_json(dir, POLICY_FILES.config)?;
        let spaces: Spaces = read_json(dir, POLICY_FILES.spaces)?;
        let model =
            config
                .model
                .init::<B>(&spaces.observation, &spaces.action, config.ppo.seed, device)?;
        let model = load_model(model, dir.join(POLICY_FILES.weights), device)?;
        let normalizer = if config.ppo.normalize_observations {
            Some(read_json(dir, POLICY_FILES.normalizer)?)
        } else {
            None
        };
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
        let obs = match &self.normalizer {
            Some(n) => n.normalize(obs),
            None => obs,
        };
        Ok(self.model.forward(&obs)?.dist)
    }
}
