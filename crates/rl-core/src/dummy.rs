//! rl8's dummy environments: the simplest possible tasks, for tests and smoke runs.
//!
//! Each of the N environments holds a 1-D position `state`; the observation is the state
//! (`[N, 1]`, an unbounded `Box` of shape `[1]`), and the reward is `-|state|` after the move,
//! so the optimal policy walks towards 0. The episode never ends (infinite horizon: `terminated`
//! and `truncated` are always false and `final_obs` is `None`).
//!
//! [`Env::reset`] reads one config key, `"bounds"` (default 100): the new value is kept for
//! later resets, must be finite and positive, and every state is drawn uniformly from
//! `[-bounds, bounds)` with the environment's own seeded generator.
//!
//! The state lives on the host; each step reads the action back once and builds the output
//! tensors once.

use core::marker::PhantomData;

use burn::tensor::{Bool, Tensor, TensorData, backend::Backend};
use chacha20::ChaCha12Rng;
use rand::{RngExt, SeedableRng};

use crate::env::{EnvInfo, HostAction, SavedRng, check_action, decode_state, encode_state};
use crate::host::first_non_finite_row;
use crate::{Action, CoreError, Env, EnvConfig, Observation, Result, Space, Transition};

/// The default half-width of the initial state range.
const DEFAULT_BOUNDS: f32 = 100.0;

/// The state and logic shared by both dummy environments.
#[derive(Debug)]
struct DummyCore<B: Backend> {
    info: EnvInfo<B>,
    bounds: f32,
    state: Option<Vec<f32>>,
    rng: ChaCha12Rng,
}

impl<B: Backend> DummyCore<B> {
    fn new(
        name: &'static str,
        num_envs: usize,
        seed: u64,
        device: &B::Device,
        action_space: Space,
    ) -> Result<Self> {
        let observations = Space::unbounded(vec![1])?;
        Ok(Self {
            info: EnvInfo::new(name, num_envs, observations, action_space, device.clone())?,
            bounds: DEFAULT_BOUNDS,
            state: None,
            rng: ChaCha12Rng::seed_from_u64(seed),
        })
    }

    fn error(&self, message: String) -> CoreError {
        CoreError::Env {
            env: self.info.name().to_string(),
            message,
        }
    }

    fn observation(&self, state: &[f32]) -> Observation<B> {
        // `state` always holds `num_envs` values, so the data matches the shape.
        let data = TensorData::new(state.to_vec(), [self.info.num_envs(), 1]);
        Observation::new(Tensor::from_data(data, self.info.device()))
    }

    fn reset(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        if let Some(&bounds) = config.and_then(|c| c.get("bounds")) {
            let as_f32 = bounds as f32;
            if !(as_f32.is_finite() && as_f32 > 0.0) {
                return Err(self.error(format!(
                    "config `bounds` = {bounds} must be finite and positive (as f32)"
                )));
            }
            self.bounds = as_f32;
        }
        let bounds = self.bounds;
        // `bounds * (2u - 1)` with u in [0, 1) is uniform on [-bounds, bounds) and, unlike
        // `-bounds + 2 * bounds * u`, cannot overflow for bounds near f32::MAX.
        let state: Vec<f32> = (0..self.info.num_envs())
            .map(|_| bounds * (2.0 * self.rng.random::<f32>() - 1.0))
            .collect();
        let obs = self.observation(&state);
        self.state = Some(state);
        Ok(obs)
    }

    /// Moves every state by its delta and returns the transition.
    fn step(&mut self, deltas: &[f32]) -> Result<Transition<B>> {
        let Some(state) = &self.state else {
            return Err(self.error("step called before reset".to_string()));
        };
        let next: Vec<f32> = state.iter().zip(deltas).map(|(s, d)| s + d).collect();
        if let Some(index) = first_non_finite_row(&next, 1) {
            return Err(CoreError::NonFinite {
                what: format!("{} state after the action", self.info.name()),
                index,
            });
        }
        let n = self.info.num_envs();
        let reward: Vec<f32> = next.iter().map(|s| -s.abs()).collect();
        let obs = self.observation(&next);
        self.state = Some(next);
        // Each buffer holds `num_envs` values, so the data matches the shape.
        let reward = Tensor::from_data(TensorData::new(reward, [n]), self.info.device());
        let never = Tensor::<B, 1, Bool>::from_data(
            TensorData::new(vec![false; n], [n]),
            self.info.device(),
        );
        Ok(Transition {
            obs,
            reward,
            terminated: never.clone(),
            truncated: never,
            final_obs: None,
        })
    }
}

/// rl8's `DiscreteDummyEnv` (a [`DummyEnv`] with [`DiscreteMove`]): each step moves the state by `2 * action - 1` for an action in
/// `{0, 1}` (`Discrete { n: 2 }`, actions `[N, 1]`), then rewards `-|state|`.
///
/// See [`DummyEnv`] for the shared rules.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::{DiscreteDummyEnv, Env, EnvConfig};
///
/// let device = Default::default();
/// let mut env = DiscreteDummyEnv::<NdArray>::new(4, 7, &device)?;
/// let config = EnvConfig::from([("bounds".to_string(), 1.0)]);
/// let obs = env.reset(Some(&config))?;
/// assert_eq!(obs.features.dims(), [4, 1]);
/// let action = Tensor::<NdArray, 2, Int>::from_ints([[1], [0], [1], [0]], &device).into();
/// let step = env.step(&action)?;
/// assert_eq!(step.reward.dims(), [4]);
/// # Ok::<(), rl_core::CoreError>(())
/// ```
pub type DiscreteDummyEnv<B> = DummyEnv<B, DiscreteMove>;

/// rl8's `ContinuousDummyEnv` (a [`DummyEnv`] with [`ContinuousMove`]): each step moves the
/// state by the action (an unbounded `Box` of shape `[1]`, actions `[N, 1]`), then rewards
/// `-|state|`.
///
/// See [`DummyEnv`] for the shared rules. A NaN or infinite action is refused with
/// [`CoreError::NonFinite`], as is a step whose new state would overflow to infinity (the
/// state is then left unchanged).
pub type ContinuousDummyEnv<B> = DummyEnv<B, ContinuousMove>;

/// How a dummy environment turns actions into moves: the one thing the two dummy environments
/// do differently.
pub trait DummyMove {
    /// The environment's name, as rl8 spells it.
    const NAME: &'static str;
    /// The action space of one environment.
    fn action_space() -> Result<Space>;
    /// The move of each environment for `action`, already checked against the action space
    /// and read to the host by [`check_action`].
    fn deltas(action: HostAction) -> Result<Vec<f32>>;
}

/// Discrete moves: action `a` in `{0, 1}` moves the state by `2a - 1`.
#[derive(Debug, Clone, Copy)]
pub struct DiscreteMove;

impl DummyMove for DiscreteMove {
    const NAME: &'static str = "DiscreteDummyEnv";

    fn action_space() -> Result<Space> {
        Space::discrete(2)
    }

    fn deltas(action: HostAction) -> Result<Vec<f32>> {
        Ok(action
            .into_discrete()?
            .into_iter()
            // `check_action` ensured every action is 0 or 1.
            .map(|a| (2 * a - 1) as f32)
            .collect())
    }
}

/// Continuous moves: the action is the move.
#[derive(Debug, Clone, Copy)]
pub struct ContinuousMove;

impl DummyMove for ContinuousMove {
    const NAME: &'static str = "ContinuousDummyEnv";

    fn action_space() -> Result<Space> {
        Space::unbounded(vec![1])
    }

    fn deltas(action: HostAction) -> Result<Vec<f32>> {
        action.into_continuous()
    }
}

/// One of rl8's dummy environments; use the aliases [`DiscreteDummyEnv`] and
/// [`ContinuousDummyEnv`].
///
/// Each of the N environments holds a 1-D position `state`; the observation is the state
/// (`[N, 1]`, an unbounded `Box` of shape `[1]`), and the reward is `-|state|` after the move,
/// so the optimal policy walks towards 0. The episode never ends (infinite horizon: `terminated`
/// and `truncated` are always false and `final_obs` is `None`).
///
/// [`Env::reset`] reads one config key, `"bounds"` (default 100): the new value is kept for
/// later resets, must be finite and positive, and every state is drawn uniformly from
/// `[-bounds, bounds)` with the environment's own seeded generator.
#[derive(Debug)]
pub struct DummyEnv<B: Backend, M: DummyMove> {
    core: DummyCore<B>,
    _move: PhantomData<M>,
}

impl<B: Backend, M: DummyMove> DummyEnv<B, M> {
    /// `num_envs` environments (at least 1) whose resets draw from a generator seeded with
    /// `seed`. Call [`Env::reset`] before the first step.
    ///
    /// # Errors
    /// If `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let core = DummyCore::new(M::NAME, num_envs, seed, device, M::action_space()?)?;
        Ok(Self {
            core,
            _move: PhantomData,
        })
    }

    /// The current half-width of the reset range.
    pub fn bounds(&self) -> f32 {
        self.core.bounds
    }
}

impl<B: Backend, M: DummyMove> Env<B> for DummyEnv<B, M> {
    fn info(&self) -> &EnvInfo<B> {
        &self.core.info
    }

    fn reset(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        self.core.reset(config)
    }

    fn step(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let action = check_action(
            self.core.info.action_space(),
            self.core.info.num_envs(),
            action,
        )?;
        let deltas = M::deltas(action)?;
        self.core.step(&deltas)
    }

    fn save_state(&self) -> Result<Option<Vec<u8>>> {
        let c = &self.core;
        let saved = (c.info.num_envs(), c.bounds, &c.state, SavedRng::new(&c.rng));
        encode_state(c.info.name(), &saved).map(Some)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        type Saved = (usize, f32, Option<Vec<f32>>, SavedRng);
        let (num_envs, bounds, saved, rng): Saved = decode_state(self.core.info.name(), state)?;
        let rng = rng.restore().ok_or_else(|| {
            self.core
                .error("the saved generator state is malformed".into())
        })?;
        if num_envs != self.core.info.num_envs()
            || saved.as_ref().is_some_and(|s| s.len() != num_envs)
        {
            return Err(self.core.error(format!(
                "the saved state holds {num_envs} environments, this batch {}",
                self.core.info.num_envs()
            )));
        }
        self.core.bounds = bounds;
        self.core.state = saved;
        self.core.rng = rng;
        Ok(())
    }
}
