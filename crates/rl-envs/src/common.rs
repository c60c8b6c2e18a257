//! What the environments share (crate-private): the batch bookkeeping, config parsing,
//! random draws, action reading and building the step tensors from host buffers.

use burn::tensor::{Bool, Tensor, TensorData, backend::Backend};
use chacha20::ChaCha12Rng;
use rand::{RngExt, SeedableRng};
use rl_core::first_non_finite_row;
use rl_core::{
    Action, CoreError, EnvConfig, EnvInfo, Observation, ObservationSpec, Result, SavedRng, Space,
    Transition, check_action, decode_state, encode_state,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An environment error naming `env`.
pub(crate) fn env_error(env: &str, message: impl Into<String>) -> CoreError {
    CoreError::Env {
        env: env.to_string(),
        message: message.into(),
    }
}

/// A draw of `rng` from U(`low`, `high`) (`high` excluded).
pub(crate) fn uniform(rng: &mut ChaCha12Rng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.random::<f64>()
}

/// `n` draws of `rng` from N(0, 1) (Box-Muller, both outputs used).
pub(crate) fn standard_normals(rng: &mut ChaCha12Rng, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        // u1 in (0, 1], so its log is finite.
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = rng.random::<f64>();
        let radius = (-2.0 * u1.ln()).sqrt();
        let (sin, cos) = (core::f64::consts::TAU * u2).sin_cos();
        out.push(radius * cos);
        out.push(radius * sin);
    }
    out.truncate(n);
    out
}

/// Reads the keys of an [`EnvConfig`] over their defaults, as rl8 rebuilds its config
/// dataclass at every reset: a missing key takes its default, unknown keys are ignored, and a
/// value that breaks its key's rule is an [`CoreError::Env`] naming the key.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConfigReader<'a> {
    env: &'a str,
    config: Option<&'a EnvConfig>,
}

impl<'a> ConfigReader<'a> {
    pub(crate) fn new(env: &'a str, config: Option<&'a EnvConfig>) -> Self {
        Self { env, config }
    }

    /// The value of `key` (or `default`) if `rule` accepts it; `rule_text` says what it wants.
    fn read(&self, key: &str, default: f64, rule: fn(f64) -> bool, rule_text: &str) -> Result<f64> {
        let value = self
            .config
            .and_then(|c| c.get(key))
            .copied()
            .unwrap_or(default);
        if value.is_finite() && rule(value) {
            Ok(value)
        } else {
            Err(env_error(
                self.env,
                format!("config `{key}` = {value} must be {rule_text}"),
            ))
        }
    }

    /// Any finite number.
    pub(crate) fn finite(&self, key: &str, default: f64) -> Result<f64> {
        self.read(key, default, |_| true, "finite")
    }

    /// A finite number above 0.
    pub(crate) fn positive(&self, key: &str, default: f64) -> Result<f64> {
        self.read(key, default, |v| v > 0.0, "finite and positive")
    }

    /// A finite number at least 0.
    pub(crate) fn non_negative(&self, key: &str, default: f64) -> Result<f64> {
        self.read(key, default, |v| v >= 0.0, "finite and non-negative")
    }

    /// 0 (false) or 1 (true).
    pub(crate) fn flag(&self, key: &str, default: bool) -> Result<bool> {
        let default = if default { 1.0 } else { 0.0 };
        Ok(self.read(key, default, |v| v == 0.0 || v == 1.0, "0 or 1")? == 1.0)
    }

    /// A whole number from 1 to `u32::MAX`.
    pub(crate) fn count(&self, key: &str, default: u32) -> Result<u32> {
        let value = self.read(
            key,
            f64::from(default),
            |v| v >= 1.0 && v <= f64::from(u32::MAX) && v.fract() == 0.0,
            "a whole number from 1 to 4294967295",
        )?;
        // The rule above guarantees a whole number in range, so the cast is exact.
        Ok(value as u32)
    }

    /// Fails with `message` unless `ok` (a rule between several keys).
    pub(crate) fn require(&self, ok: bool, message: &str) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(env_error(self.env, format!("config: {message}")))
        }
    }
}

/// A batch of `num_envs` environments whose state lives on the host: `state_dim` `f64`s per
/// environment, one row after the other.
#[derive(Debug)]
pub(crate) struct Core<B: Backend> {
    pub(crate) info: EnvInfo<B>,
    /// The state rows; `None` until the first reset.
    pub(crate) state: Option<Vec<f64>>,
    /// Whether every observation carries an action mask (its `observation_spec` says so).
    pub(crate) masked: bool,
    state_dim: usize,
    obs_dim: usize,
    rng: ChaCha12Rng,
}

impl<B: Backend> Core<B> {
    /// Checks `num_envs` and builds the spaces (an unbounded `Box` of shape `[obs_dim]` for the
    /// observations).
    pub(crate) fn new(
        name: &'static str,
        num_envs: usize,
        seed: u64,
        device: &B::Device,
        dims: (usize, usize),
        action_space: Space,
    ) -> Result<Self> {
        let (state_dim, obs_dim) = dims;
        let observations = Space::unbounded(vec![obs_dim])?;
        Ok(Self {
            info: EnvInfo::new(name, num_envs, observations, action_space, device.clone())?,
            state: None,
            masked: false,
            state_dim,
            obs_dim,
            rng: ChaCha12Rng::seed_from_u64(seed),
        })
    }

    /// The same batch with `space` (of the same width) as its observation space.
    pub(crate) fn with_observation_space(mut self, space: Space) -> Self {
        debug_assert_eq!(space.flat_dim(), self.obs_dim);
        self.info = self.info.with_observation_space(space);
        self
    }

    /// The state rows and the generator's position, as a checkpoint saves them.
    fn saved(&self) -> SavedCore {
        SavedCore {
            num_envs: self.info.num_envs(),
            state: self.state.clone(),
            rng: SavedRng::new(&self.rng),
        }
    }

    /// The generator of `saved` if it fits this batch (same size, same row width).
    fn check(&self, saved: &SavedCore) -> Result<ChaCha12Rng> {
        let rows_fit = saved
            .state
            .as_ref()
            .is_none_or(|s| s.len() == self.info.num_envs() * self.state_dim);
        if saved.num_envs != self.info.num_envs() || !rows_fit {
            return Err(env_error(
                self.info.name(),
                format!(
                    "the saved state holds {} environments, this batch {}",
                    saved.num_envs,
                    self.info.num_envs()
                ),
            ));
        }
        saved
            .rng
            .restore()
            .ok_or_else(|| env_error(self.info.name(), "the saved generator state is malformed"))
    }

    /// A reader of `config` whose errors name this environment.
    pub(crate) fn config<'a>(&'a self, config: Option<&'a EnvConfig>) -> ConfigReader<'a> {
        ConfigReader::new(self.info.name(), config)
    }

    /// A draw from U(`low`, `high`) (`high` excluded).
    pub(crate) fn uniform(&mut self, low: f64, high: f64) -> f64 {
        uniform(&mut self.rng, low, high)
    }

    /// `n` draws from N(0, 1) ([`standard_normals`]).
    pub(crate) fn standard_normals(&mut self, n: usize) -> Vec<f64> {
        standard_normals(&mut self.rng, n)
    }

    /// The discrete actions, checked against the action space and read to the host once
    /// ([`rl_core::check_action`]).
    pub(crate) fn discrete_actions(&self, action: &Action<B>) -> Result<Vec<i64>> {
        check_action(self.info.action_space(), self.info.num_envs(), action)?.into_discrete()
    }

    /// The continuous actions, checked against the action space and read to the host once
    /// ([`rl_core::check_action`]: a NaN or infinity is a [`CoreError::NonFinite`]).
    pub(crate) fn continuous_actions(&self, action: &Action<B>) -> Result<Vec<f32>> {
        check_action(self.info.action_space(), self.info.num_envs(), action)?.into_continuous()
    }

    /// The current state rows, or an error before the first reset.
    pub(crate) fn state(&self) -> Result<&[f64]> {
        self.state
            .as_deref()
            .ok_or_else(|| env_error(self.info.name(), "step called before reset"))
    }

    /// Draws a fresh state with `draw` (which fills all rows), stores it and returns its
    /// observation.
    pub(crate) fn reset_with(
        &mut self,
        draw: impl FnOnce(&mut Self) -> Vec<f64>,
        observe: impl Fn(&[f64], &mut Vec<f32>),
    ) -> Observation<B> {
        let state = draw(self);
        debug_assert_eq!(state.len(), self.info.num_envs() * self.state_dim);
        let features = self.observe(&state, &observe);
        self.state = Some(state);
        self.observation(features)
    }

    /// Draws every state row with `draw`, one row after the other, stores the state and
    /// returns its observation.
    pub(crate) fn reset_rows(
        &mut self,
        mut draw: impl FnMut(&mut Self, &mut [f64]),
        observe: impl Fn(&[f64], &mut Vec<f32>),
    ) -> Observation<B> {
        let (rows, width) = (self.info.num_envs(), self.state_dim);
        self.reset_with(
            |core| {
                let mut state = vec![0.0; rows * width];
                state
                    .chunks_exact_mut(width)
                    .for_each(|row| draw(core, row));
                state
            },
            observe,
        )
    }

    /// The observation rows of `state`, `obs_dim` values per state row.
    pub(crate) fn observe(
        &self,
        state: &[f64],
        observe: impl Fn(&[f64], &mut Vec<f32>),
    ) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.info.num_envs() * self.obs_dim);
        for row in state.chunks_exact(self.state_dim) {
            observe(row, &mut out);
        }
        out
    }

    /// An observation batch from `num_envs * obs_dim` feature values.
    fn observation(&self, features: Vec<f32>) -> Observation<B> {
        let data = TensorData::new(features, [self.info.num_envs(), self.obs_dim]);
        Observation::new(Tensor::from_data(data, self.info.device()))
    }

    /// What every observation holds besides its features: for a masked environment, an action
    /// mask of the action space's width.
    pub(crate) fn spec(&self) -> ObservationSpec {
        ObservationSpec {
            action_mask: self
                .info
                .action_space()
                .mask_width()
                .filter(|_| self.masked),
        }
    }

    /// `obs` with the action mask `flags` (`num_envs` rows of the action space's mask width).
    pub(crate) fn with_mask(
        &self,
        obs: Observation<B>,
        flags: Vec<bool>,
    ) -> Result<Observation<B>> {
        let width = self.info.action_space().mask_width().unwrap_or(0);
        let data = TensorData::new(flags, [self.info.num_envs(), width]);
        obs.with_action_mask(Tensor::from_data(data, self.info.device()))
    }

    /// A `[num_envs]` bool tensor.
    fn flags(&self, values: Vec<bool>) -> Tensor<B, 1, Bool> {
        Tensor::from_data(
            TensorData::new(values, [self.info.num_envs()]),
            self.info.device(),
        )
    }

    /// Checks the step's outputs for NaN and infinity, then stores `next` as the state and
    /// builds the transition. On an error the state is left as it was.
    pub(crate) fn commit(&mut self, next: Vec<f64>, out: StepOutput) -> Result<Transition<B>> {
        let buffers = [
            ("observation", &out.obs, self.obs_dim),
            ("reward", &out.reward, 1),
        ];
        let final_obs = out
            .final_obs
            .as_ref()
            .map(|f| ("final observation", f, self.obs_dim));
        for (what, values, width) in buffers.into_iter().chain(final_obs) {
            if let Some(index) = first_non_finite_row(values, width) {
                return Err(CoreError::NonFinite {
                    what: format!("{} {what} (is the config extreme?)", self.info.name()),
                    index,
                });
            }
        }
        self.state = Some(next);
        let reward = TensorData::new(out.reward, [self.info.num_envs()]);
        Ok(Transition {
            obs: self.observation(out.obs),
            reward: Tensor::from_data(reward, self.info.device()),
            terminated: self.flags(out.terminated),
            truncated: self.flags(out.truncated),
            final_obs: out.final_obs.map(|f| self.observation(f)),
        })
    }

    /// One step of an infinite-horizon environment: `dynamics(row, state)` moves environment
    /// `row`'s state in place and returns its reward; nothing terminates or truncates.
    pub(crate) fn step_infinite(
        &mut self,
        mut dynamics: impl FnMut(usize, &mut [f64]) -> f64,
        observe: impl Fn(&[f64], &mut Vec<f32>),
    ) -> Result<Transition<B>> {
        let mut next = self.state()?.to_vec();
        let reward = next
            .chunks_exact_mut(self.state_dim)
            .enumerate()
            .map(|(row, s)| dynamics(row, s) as f32)
            .collect();
        let obs = self.observe(&next, observe);
        let n = self.info.num_envs();
        let out = StepOutput {
            obs,
            reward,
            terminated: vec![false; n],
            truncated: vec![false; n],
            final_obs: None,
        };
        self.commit(next, out)
    }
}

/// Gymnasium's `TimeLimit` over a batch: the limit of the last reset and each environment's
/// steps in its current episode.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimeLimit {
    pub(crate) max_episode_steps: u32,
    pub(crate) elapsed: Vec<u32>,
}

impl TimeLimit {
    /// `max_episode_steps` for `num_envs` environments, none of which has stepped.
    pub(crate) fn new(max_episode_steps: u32, num_envs: usize) -> Self {
        Self {
            max_episode_steps,
            elapsed: vec![0; num_envs],
        }
    }

    /// An episodic environment's reset of its parameters and this limit: the parameters `read`
    /// takes from `reader`, then `max_episode_steps` (default `default`), and every episode
    /// restarts; on an error nothing changed.
    pub(crate) fn reset_with<P>(
        &mut self,
        reader: &ConfigReader<'_>,
        default: u32,
        read: impl FnOnce(&ConfigReader<'_>) -> Result<P>,
    ) -> Result<P> {
        let params = read(reader)?;
        self.max_episode_steps = reader.count("max_episode_steps", default)?;
        self.elapsed.fill(0);
        Ok(params)
    }

    /// Takes a saved limit and episode lengths if they fit the batch of `core`.
    pub(crate) fn restore<B: Backend>(
        &mut self,
        core: &Core<B>,
        max_episode_steps: u32,
        elapsed: Vec<u32>,
    ) -> Result<()> {
        core.config(None).require(
            elapsed.len() == core.info.num_envs(),
            "the saved episode lengths do not fit the batch",
        )?;
        (self.max_episode_steps, self.elapsed) = (max_episode_steps, elapsed);
        Ok(())
    }
}

impl<B: Backend> Core<B> {
    /// The reset of an episodic environment: its parameters, read from `config` by `read` into
    /// `params`, and the time limit (`max_episode_steps`, `default` if the config has none);
    /// every episode restarts and every state row is drawn by `draw`. Returns the first
    /// observation; on an error nothing changes.
    pub(crate) fn reset_episodic<P>(
        &mut self,
        (limit, config, default): (&mut TimeLimit, Option<&EnvConfig>, u32),
        (params, read): (&mut P, impl FnOnce(&ConfigReader<'_>) -> Result<P>),
        draw: impl FnMut(&mut Self, &mut [f64]),
        observe: impl Fn(&[f64], &mut Vec<f32>),
    ) -> Result<Observation<B>> {
        *params = limit.reset_with(&self.config(config), default, read)?;
        Ok(self.reset_rows(draw, observe))
    }

    /// One step of an episodic environment, as Gymnasium's `TimeLimit` and an auto-resetting
    /// vector env do it: `dynamics(row, state)` moves a state row in place and returns its
    /// reward and whether it terminated; the step that brings an episode to
    /// `max_episode_steps` truncates it (both flags when it also terminates); an ended row's
    /// observation goes to `final_obs` and `draw` redraws its state in the same step. On an
    /// error nothing changes.
    pub(crate) fn step_episodic(
        &mut self,
        limit: &mut TimeLimit,
        mut dynamics: impl FnMut(usize, &mut [f64]) -> (f64, bool),
        mut draw: impl FnMut(&mut Self, &mut [f64]),
        observe: impl Fn(&[f64], &mut Vec<f32>),
    ) -> Result<Transition<B>> {
        let mut next = self.state()?.to_vec();
        let n = self.info.num_envs();
        let mut elapsed = limit.elapsed.clone();
        let mut reward = Vec::with_capacity(n);
        let mut terminated = vec![false; n];
        let mut truncated = vec![false; n];
        let mut final_obs = Vec::with_capacity(self.obs_dim * n);
        let mut obs = Vec::with_capacity(self.obs_dim * n);
        for (row, s) in next.chunks_exact_mut(self.state_dim).enumerate() {
            let (r, ended) = dynamics(row, s);
            reward.push(r as f32);
            observe(s, &mut final_obs);
            elapsed[row] += 1;
            terminated[row] = ended;
            truncated[row] = elapsed[row] >= limit.max_episode_steps;
            if terminated[row] || truncated[row] {
                draw(self, s);
                elapsed[row] = 0;
            }
            observe(s, &mut obs);
        }
        let out = StepOutput::new(obs, reward, terminated, truncated, final_obs);
        let transition = self.commit(next, out)?;
        limit.elapsed = elapsed;
        Ok(transition)
    }
}

/// A [`Core`]'s saved state.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedCore {
    num_envs: usize,
    state: Option<Vec<f64>>,
    rng: SavedRng,
}

/// What an environment saves besides its [`Core`]: the parameters of its last reset and its
/// counters. `save_state` and `load_state` of every environment go through it.
pub(crate) trait Persist<B: Backend> {
    /// The saved form of what the environment keeps besides its core.
    type Extra: Serialize + DeserializeOwned;
    /// The environment's core.
    fn core_mut(&mut self) -> &mut Core<B>;
    /// What to save besides the core.
    fn extra(&self) -> Self::Extra;
    /// Checks `extra` against the batch (e.g. one counter per environment) and takes it; on
    /// an error nothing changes.
    fn set_extra(&mut self, extra: Self::Extra) -> Result<()>;
}

/// [`rl_core::Env::save_state`] of an environment with a [`Core`].
pub(crate) fn save_env<B: Backend, E: Persist<B>>(
    core: &Core<B>,
    env: &E,
) -> Result<Option<Vec<u8>>> {
    encode_state(core.info.name(), &(core.saved(), env.extra())).map(Some)
}

/// [`rl_core::Env::load_state`] of an environment with a [`Core`]: nothing changes unless the
/// whole state fits.
pub(crate) fn load_env<B: Backend, E: Persist<B>>(env: &mut E, bytes: &[u8]) -> Result<()> {
    let core = env.core_mut();
    let (saved, extra): (SavedCore, E::Extra) = decode_state(core.info.name(), bytes)?;
    let rng = core.check(&saved)?;
    env.set_extra(extra)?;
    let core = env.core_mut();
    core.state = saved.state;
    core.rng = rng;
    Ok(())
}

/// The host buffers of one step, before they become a [`Transition`].
#[derive(Debug)]
pub(crate) struct StepOutput {
    pub(crate) obs: Vec<f32>,
    pub(crate) reward: Vec<f32>,
    pub(crate) terminated: Vec<bool>,
    pub(crate) truncated: Vec<bool>,
    pub(crate) final_obs: Option<Vec<f32>>,
}

impl StepOutput {
    /// A step's host buffers: `final_obs` is kept when some row terminated or truncated (the
    /// [`Transition`] contract), dropped otherwise.
    pub(crate) fn new(
        obs: Vec<f32>,
        reward: Vec<f32>,
        terminated: Vec<bool>,
        truncated: Vec<bool>,
        final_obs: Vec<f32>,
    ) -> Self {
        let any_done = terminated.iter().chain(&truncated).any(|&d| d);
        Self {
            obs,
            reward,
            terminated,
            truncated,
            final_obs: any_done.then_some(final_obs),
        }
    }
}

/// Implements [`rl_core::Env`] for an environment struct with a `core: Core<B>` field (or the
/// [`Core`] at the given field path, e.g. `inner.core`) and the inherent methods `reset_batch`
/// and `step_batch`.
macro_rules! impl_env {
    ($env:ident) => {
        impl_env!($env, core);
    };
    ($env:ident, $($core:ident).+) => {
        impl<B: burn::tensor::backend::Backend> rl_core::Env<B> for $env<B> {
            fn info(&self) -> &rl_core::EnvInfo<B> {
                &self.$($core).+.info
            }

            fn observation_spec(&self) -> rl_core::ObservationSpec {
                self.$($core).+.spec()
            }

            fn reset(
                &mut self,
                config: Option<&rl_core::EnvConfig>,
            ) -> rl_core::Result<rl_core::Observation<B>> {
                self.reset_batch(config)
            }

            fn step(
                &mut self,
                action: &rl_core::Action<B>,
            ) -> rl_core::Result<rl_core::Transition<B>> {
                self.step_batch(action)
            }

            fn save_state(&self) -> rl_core::Result<Option<Vec<u8>>> {
                $crate::common::save_env(&self.$($core).+, self)
            }

            fn load_state(&mut self, state: &[u8]) -> rl_core::Result<()> {
                $crate::common::load_env(self, state)
            }
        }
    };
}

pub(crate) use impl_env;

/// Implements [`Persist`] for an environment whose only state besides its `core` is the `Copy`
/// field `$field` (the parameters of its last reset).
macro_rules! persist_field {
    ($env:ident, $field:ident: $ty:ty) => {
        impl<B: burn::tensor::backend::Backend> $crate::common::Persist<B> for $env<B> {
            type Extra = $ty;
            fn core_mut(&mut self) -> &mut $crate::common::Core<B> {
                &mut self.core
            }
            fn extra(&self) -> $ty {
                self.$field
            }
            fn set_extra(&mut self, value: $ty) -> rl_core::Result<()> {
                self.$field = value;
                Ok(())
            }
        }
    };
}

pub(crate) use persist_field;

/// Implements [`Persist`] for an episodic environment: its parameters (the `Copy` value at
/// `[$params]`) and its [`TimeLimit`] (at `[$limit]`) besides its core (at `[$core]`), saved
/// as `(parameters, max_episode_steps, episode lengths)`.
macro_rules! persist_episodic {
    ($env:ident, $ty:ty, [$($params:ident).+], [$($limit:ident).+], [$($core:ident).+]) => {
        impl<B: burn::tensor::backend::Backend> $crate::common::Persist<B> for $env<B> {
            /// The parameters and time limit of the last reset, and each episode's length.
            type Extra = ($ty, u32, Vec<u32>);
            fn core_mut(&mut self) -> &mut $crate::common::Core<B> {
                &mut self.$($core).+
            }
            fn extra(&self) -> Self::Extra {
                let limit = self.$($limit).+.clone();
                (self.$($params).+, limit.max_episode_steps, limit.elapsed)
            }
            fn set_extra(&mut self, (params, max_steps, elapsed): Self::Extra) -> rl_core::Result<()> {
                self.$($limit).+.restore(&self.$($core).+, max_steps, elapsed)?;
                self.$($params).+ = params;
                Ok(())
            }
        }
    };
}

pub(crate) use persist_episodic;

/// Test helpers shared by the unit tests of every environment.
#[cfg(test)]
pub(crate) mod testing {
    use burn::backend::NdArray;
    use burn::tensor::{Bool, Int, Tensor};
    use rl_core::{Action, EnvConfig, Observation};

    pub(crate) type B = NdArray<f32>;

    pub(crate) fn dev() -> burn::tensor::Device<B> {
        Default::default()
    }

    pub(crate) fn floats<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    pub(crate) fn bools(t: Tensor<B, 1, Bool>) -> Vec<bool> {
        t.into_data().to_vec::<bool>().unwrap()
    }

    pub(crate) fn features(obs: &Observation<B>) -> Vec<f32> {
        floats(obs.features.clone())
    }

    pub(crate) fn discrete(v: &[i64]) -> Action<B> {
        Tensor::<B, 1, Int>::from_ints(v, &dev())
            .reshape([v.len(), 1])
            .into()
    }

    pub(crate) fn continuous(v: &[f32]) -> Action<B> {
        Tensor::<B, 1>::from_floats(v, &dev())
            .reshape([v.len(), 1])
            .into()
    }

    /// `env`, reset, with its state rows replaced by `state`.
    pub(crate) fn with_state<E: rl_core::Env<B> + super::Persist<B>>(
        mut env: E,
        state: &[f64],
    ) -> E {
        env.reset(None).unwrap();
        env.core_mut().state = Some(state.to_vec());
        env
    }

    pub(crate) fn config(pairs: &[(&str, f64)]) -> EnvConfig {
        pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
    }

    /// Asserts `|a - b| <= tol * max(1, |b|)` element by element.
    pub(crate) fn assert_close(actual: &[f32], expected: &[f64], tol: f64) {
        assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
        for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            assert!(
                (f64::from(a) - e).abs() <= tol * e.abs().max(1.0),
                "element {i}: {a} vs {e} ({actual:?} vs {expected:?})"
            );
        }
    }
}
