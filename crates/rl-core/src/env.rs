//! Batched environments: the [`Env`] trait, its step result [`Transition`] and
//! [`check_action`].

use std::collections::BTreeMap;

use burn::tensor::{Bool, Tensor, backend::Backend};

use crate::{Action, CoreError, Observation, Result, Space};

/// Options passed to [`Env::reset`], e.g. for domain randomisation (rl8's reset config dict).
///
/// Each environment documents the keys it reads; unknown keys are ignored.
pub type EnvConfig = BTreeMap<String, f64>;

/// The result of one [`Env::step`] of N environments.
///
/// * `obs`: the observation after the step, N rows;
/// * `reward`, `terminated`, `truncated`: `[N]`.
///
/// An infinite-horizon environment (the rl8 style) never sets `terminated` or `truncated`
/// and leaves `final_obs` as `None`.
///
/// An episodic environment auto-resets the environments whose episode finished: for those
/// rows `obs` holds the first observation of the new episode. `final_obs` is `Some` whenever
/// any environment finished, and then holds, for every row, the observation the step reached
/// before any reset (rows that did not finish equal `obs`). It is what a truncated episode
/// bootstraps from: the value target of a truncated step is `r + gamma * V(final_obs)`, while a
/// terminated step bootstraps nothing (the Gymnasium / torchrl convention: bootstrap on
/// truncation, never on termination).
#[derive(Clone, Debug)]
pub struct Transition<B: Backend> {
    /// Observation after the step (after auto-reset for finished rows), N rows.
    pub obs: Observation<B>,
    /// Reward of the step, `[N]`.
    pub reward: Tensor<B, 1>,
    /// Whether the episode reached a terminal state, `[N]`.
    pub terminated: Tensor<B, 1, Bool>,
    /// Whether the episode was cut short (e.g. a time limit), `[N]`.
    pub truncated: Tensor<B, 1, Bool>,
    /// Observation reached by the step before any auto-reset, N rows; `Some` when any row
    /// finished.
    pub final_obs: Option<Observation<B>>,
}

impl<B: Backend> Transition<B> {
    /// `terminated | truncated`, `[N]`: the rows whose episode finished this step.
    pub fn done(&self) -> Tensor<B, 1, Bool> {
        self.terminated.clone().bool_or(self.truncated.clone())
    }
}

/// What every observation of an environment holds besides its features (whose space is
/// [`Env::observation_space`]): for an environment that masks actions, the width of its action
/// mask. [`Env::observation_spec`] declares it and the engine checks every observation against
/// it, so a mask of the wrong width, or one missing from a step, is an error naming the step
/// instead of a policy that samples a masked action.
///
/// ```
/// use rl_core::{ObservationSpec, Space};
///
/// let actions = Space::multi_discrete(vec![2, 3])?;
/// let spec = ObservationSpec::new().with_action_mask(&actions)?;
/// assert_eq!(spec.action_mask, Some(5));
/// // A `Box` action cannot be masked.
/// let continuous = Space::unbounded(vec![1])?;
/// assert!(ObservationSpec::new().with_action_mask(&continuous).is_err());
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservationSpec {
    /// The width M of the `[N, M]` action mask every observation carries
    /// ([`Space::mask_width`] of the action space), or `None`: observations carry no mask.
    pub action_mask: Option<usize>,
}

impl ObservationSpec {
    /// Observations of features alone: no action mask.
    pub fn new() -> Self {
        Self::default()
    }

    /// Observations that also carry a mask over the actions of `actions`.
    ///
    /// # Errors
    /// [`CoreError::Space`] for a `Box` action space, whose actions cannot be masked.
    pub fn with_action_mask(mut self, actions: &Space) -> Result<Self> {
        let width = actions.mask_width().ok_or_else(|| CoreError::Space {
            what: "ObservationSpec::with_action_mask".to_string(),
            reason: "a Box action space cannot be masked; masks are for categorical actions"
                .to_string(),
        })?;
        self.action_mask = Some(width);
        Ok(self)
    }
}

/// Where an environment computes its steps, which decides when the engine reads what a step
/// returned ([`Env::residence`]).
///
/// ```
/// use burn::backend::NdArray;
/// use rl_core::{DiscreteDummyEnv, Env, Residence};
///
/// let env = DiscreteDummyEnv::<NdArray>::new(2, 0, &Default::default())?;
/// assert_eq!(env.residence(), Residence::Host);
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Residence {
    /// On the host: every step reads the actions back and uploads what it returns, so reading
    /// the rewards and flags back at once costs nothing more, and the engine checks each step
    /// as it comes (an error names the step before the next one runs).
    #[default]
    Host,
    /// On the device, as tensor operations over the whole batch: nothing is read back per step.
    /// The engine keeps rewards, flags and finiteness checks on the device and reads them once
    /// per collect, so an error names its step at the end of the collect that met it.
    Device,
}

/// What a batch of environments says of itself: its name, its size, its spaces and its device.
/// An [`Env`] holds one and returns it from [`Env::info`]; the trait's accessors
/// ([`Env::name`], [`Env::num_envs`], ...) read it, so an environment writes them once.
///
/// ```
/// use burn::backend::NdArray;
/// use rl_core::{EnvInfo, Space};
///
/// let info = EnvInfo::<NdArray>::new(
///     "Walk",
///     2,
///     Space::unbounded(vec![1])?,
///     Space::discrete(2)?,
///     Default::default(),
/// )?;
/// assert_eq!((info.name(), info.num_envs()), ("Walk", 2));
/// // A batch of no environments is refused.
/// let (features, actions) = (Space::unbounded(vec![1])?, Space::discrete(2)?);
/// assert!(EnvInfo::<NdArray>::new("Walk", 0, features, actions, Default::default()).is_err());
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Clone, Debug)]
pub struct EnvInfo<B: Backend> {
    name: String,
    num_envs: usize,
    observation_space: Space,
    action_space: Space,
    device: B::Device,
}

impl<B: Backend> EnvInfo<B> {
    /// The description of `num_envs` environments named `name` (used in error messages).
    ///
    /// # Errors
    /// [`CoreError::Env`] naming `name` when `num_envs` is 0.
    pub fn new(
        name: impl Into<String>,
        num_envs: usize,
        observation_space: Space,
        action_space: Space,
        device: B::Device,
    ) -> Result<Self> {
        let name = name.into();
        if num_envs == 0 {
            return Err(CoreError::Env {
                env: name,
                message: "num_envs must be at least 1".to_string(),
            });
        }
        Ok(Self {
            name,
            num_envs,
            observation_space,
            action_space,
            device,
        })
    }

    /// The same description with `space` as the observation space (a bounded `Box`, say, where
    /// the environment was first described with an unbounded one).
    pub fn with_observation_space(mut self, space: Space) -> Self {
        self.observation_space = space;
        self
    }

    /// The short name used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of environments N in the batch (at least 1).
    pub fn num_envs(&self) -> usize {
        self.num_envs
    }

    /// The space of one environment's features.
    pub fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    /// The space of one environment's action.
    pub fn action_space(&self) -> &Space {
        &self.action_space
    }

    /// The device the environments' tensors live on.
    pub fn device(&self) -> &B::Device {
        &self.device
    }
}

/// A batch of `num_envs` environments stepped as one (IsaacGym style, as in rl8).
///
/// One call to [`Env::step`] steps every environment with one row of the action batch and
/// returns one row per environment. Implementations should do a single pass over all
/// environments on the host, or one set of tensor operations over the whole batch; never a
/// loop of tensor operations per environment, which is what makes batched environments fast.
///
/// Shapes: observations have `num_envs` rows with features `[num_envs, flat_dim]` of
/// [`Env::observation_space`]; actions are `[num_envs, flat_dim]` of [`Env::action_space`];
/// rewards and flags are `[num_envs]`.
///
/// Implementations should reject an action outside the action space (see [`check_action`])
/// rather than panic.
///
/// An implementation writes [`info`](Env::info) (returning the [`EnvInfo`] it holds),
/// [`reset`](Env::reset) and [`step`](Env::step); the other methods have defaults, and a
/// wrapper forwards `info` to the environment it wraps.
pub trait Env<B: Backend> {
    /// What the batch says of itself: name, size, spaces and device. The accessors below read
    /// it; an implementation only returns the [`EnvInfo`] it holds.
    fn info(&self) -> &EnvInfo<B>;
    /// A short name used in error messages.
    fn name(&self) -> &str {
        self.info().name()
    }
    /// The number of environments N in the batch.
    fn num_envs(&self) -> usize {
        self.info().num_envs()
    }
    /// The space of one environment's features (a `Box`).
    fn observation_space(&self) -> &Space {
        self.info().observation_space()
    }
    /// The space of one environment's action.
    fn action_space(&self) -> &Space {
        self.info().action_space()
    }
    /// What every observation holds besides its features. The default: no action mask. An
    /// environment whose observations carry an [`Observation::action_mask`] declares it here
    /// ([`ObservationSpec::with_action_mask`]).
    fn observation_spec(&self) -> ObservationSpec {
        ObservationSpec::new()
    }
    /// The device the environment's tensors live on.
    fn device(&self) -> &B::Device {
        self.info().device()
    }
    /// Where the environment computes its steps. The default, [`Residence::Host`], suits an
    /// environment that reads the actions back each step; one written in tensor operations
    /// says [`Residence::Device`], and must then give `final_obs` on every step at which a row
    /// may have been truncated (it cannot know without a read whether one was).
    fn residence(&self) -> Residence {
        Residence::Host
    }
    /// Resets every environment and returns the first observations. `config` may change the
    /// environment's parameters (keys are environment-specific).
    fn reset(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>>;
    /// Steps every environment with one row of `action` each.
    fn step(&mut self, action: &Action<B>) -> Result<Transition<B>>;
    /// Saves everything the batch needs to continue exactly where it is: every environment's
    /// variables, episode counters, the parameters of the last reset and the random generator
    /// ([`encode_state`] writes any serde value). A checkpoint stores it, and
    /// [`load_state`](Env::load_state) on a batch built the same way continues as this one
    /// would have. `Ok(None)`, the default: this environment cannot save its state, and a
    /// checkpoint of a run on it is refused.
    ///
    /// # Errors
    /// The state cannot be encoded.
    fn save_state(&self) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    /// Restores a state saved by [`save_state`](Env::save_state).
    ///
    /// # Errors
    /// [`CoreError::Env`] when the bytes are not a state of this environment and batch size
    /// (the batch is then left as it was), or, by default, because this environment cannot
    /// restore a state.
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let _ = state;
        Err(CoreError::Env {
            env: self.name().to_string(),
            message: "this environment cannot restore a saved state".to_string(),
        })
    }
}

/// Encodes an environment's state for [`Env::save_state`] (MessagePack: every float is kept
/// bit for bit).
///
/// # Errors
/// [`CoreError::Env`] naming `env` if `value` cannot be encoded.
pub fn encode_state<T: serde::Serialize>(env: &str, value: &T) -> Result<Vec<u8>> {
    rmp_serde::to_vec(value).map_err(|e| CoreError::Env {
        env: env.to_string(),
        message: format!("cannot encode its state: {e}"),
    })
}

/// The position of a ChaCha12 generator (rand's `StdRng` stream), as saved states and
/// checkpoints hold it: [`SavedRng::restore`] gives a generator that continues exactly where
/// the saved one was.
///
/// ```
/// use chacha20::ChaCha12Rng;
/// use rand::{Rng, SeedableRng};
/// use rl_core::SavedRng;
///
/// let mut rng = ChaCha12Rng::seed_from_u64(7);
/// rng.next_u64();
/// let mut restored = SavedRng::new(&rng).restore().unwrap();
/// assert_eq!(restored.next_u64(), rng.next_u64());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedRng(Vec<u8>);

impl SavedRng {
    /// The position of `rng`.
    pub fn new(rng: &chacha20::ChaCha12Rng) -> Self {
        Self(rng.serialize_state().to_vec())
    }

    /// The generator at the saved position, or `None` if the bytes are not a position
    /// (a damaged or foreign state).
    pub fn restore(&self) -> Option<chacha20::ChaCha12Rng> {
        let bytes: &chacha20::SerializedRngState = self.0.as_slice().try_into().ok()?;
        Some(chacha20::ChaCha12Rng::deserialize_state(bytes))
    }
}

/// Decodes a state written by [`encode_state`], for [`Env::load_state`].
///
/// # Errors
/// [`CoreError::Env`] naming `env` if the bytes are not such a state.
pub fn decode_state<T: serde::de::DeserializeOwned>(env: &str, bytes: &[u8]) -> Result<T> {
    rmp_serde::from_slice(bytes).map_err(|e| CoreError::Env {
        env: env.to_string(),
        message: format!("the saved state is not a state of this environment: {e}"),
    })
}

/// A boxed environment is an environment: `Box<dyn Env<B>>` lets one engine type train
/// environments chosen at run time (and compiles the engine once for all of them).
impl<B: Backend, E: Env<B> + ?Sized> Env<B> for Box<E> {
    fn info(&self) -> &EnvInfo<B> {
        (**self).info()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
    fn num_envs(&self) -> usize {
        (**self).num_envs()
    }
    fn observation_space(&self) -> &Space {
        (**self).observation_space()
    }
    fn action_space(&self) -> &Space {
        (**self).action_space()
    }
    fn observation_spec(&self) -> ObservationSpec {
        (**self).observation_spec()
    }
    fn device(&self) -> &B::Device {
        (**self).device()
    }
    fn residence(&self) -> Residence {
        (**self).residence()
    }
    fn reset(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        (**self).reset(config)
    }
    fn step(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        (**self).step(action)
    }
    fn save_state(&self) -> Result<Option<Vec<u8>>> {
        (**self).save_state()
    }
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        (**self).load_state(state)
    }
}

/// An action batch read back to the host by [`check_action`], row-major `[num_envs, width]`.
#[derive(Debug, Clone, PartialEq)]
pub enum HostAction {
    /// Category indices.
    Discrete(Vec<i64>),
    /// Real values.
    Continuous(Vec<f32>),
}

impl HostAction {
    /// The category indices.
    ///
    /// # Errors
    /// [`CoreError::ActionKind`] for continuous values.
    pub fn into_discrete(self) -> Result<Vec<i64>> {
        match self {
            Self::Discrete(v) => Ok(v),
            Self::Continuous(_) => Err(CoreError::ActionKind {
                expected: "discrete",
                actual: "continuous",
            }),
        }
    }

    /// The real values.
    ///
    /// # Errors
    /// [`CoreError::ActionKind`] for category indices.
    pub fn into_continuous(self) -> Result<Vec<f32>> {
        match self {
            Self::Continuous(v) => Ok(v),
            Self::Discrete(_) => Err(CoreError::ActionKind {
                expected: "continuous",
                actual: "discrete",
            }),
        }
    }
}

/// Checks an action batch against an action space: its kind (discrete vs continuous), its
/// shape `[num_envs, space.flat_dim()]` and, after reading it back to the host once, its
/// values, which it returns so that an environment needs no second read.
///
/// Fails with [`CoreError::ActionKind`], [`CoreError::Shape`], [`CoreError::NonFinite`] (a NaN
/// or infinite continuous action, even in an unbounded space) or [`CoreError::Space`]
/// (a value outside the space, naming the first bad row).
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::{check_action, Action, CoreError, Space};
///
/// let device = Default::default();
/// let space = Space::discrete(2)?;
/// let ok: Action<NdArray> = Tensor::<NdArray, 2, Int>::from_ints([[0], [1]], &device).into();
/// assert_eq!(check_action(&space, 2, &ok)?.into_discrete()?, vec![0, 1]);
/// let bad: Action<NdArray> = Tensor::<NdArray, 2, Int>::from_ints([[0], [2]], &device).into();
/// assert!(matches!(check_action(&space, 2, &bad), Err(CoreError::Space { .. })));
/// # Ok::<(), CoreError>(())
/// ```
pub fn check_action<B: Backend>(
    space: &Space,
    num_envs: usize,
    action: &Action<B>,
) -> Result<HostAction> {
    check_action_shape(space, num_envs, action)?;
    let width = space.flat_dim();
    match action {
        Action::Discrete(_) => {
            let values = action.to_host_discrete()?;
            space.contains_discrete(&values)?;
            Ok(HostAction::Discrete(values))
        }
        Action::Continuous(_) => {
            let values = action.to_host_continuous()?;
            if let Some(index) = first_non_finite_row(&values, width) {
                return Err(CoreError::NonFinite {
                    what: "action".to_string(),
                    index,
                });
            }
            space.contains_continuous(&values)?;
            Ok(HostAction::Continuous(values))
        }
    }
}

/// The checks of [`check_action`] that need no read: the action's kind (discrete vs
/// continuous) and shape `[num_envs, space.flat_dim()]`. What an environment on the device
/// checks at every step ([`crate::Residence::Device`]).
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::{check_action_shape, Action, Space};
///
/// let device = Default::default();
/// let space = Space::discrete(2)?;
/// let two: Action<NdArray> = Tensor::<NdArray, 2, Int>::zeros([2, 1], &device).into();
/// assert!(check_action_shape(&space, 2, &two).is_ok());
/// assert!(check_action_shape(&space, 3, &two).is_err());
/// # Ok::<(), rl_core::CoreError>(())
/// ```
pub fn check_action_shape<B: Backend>(
    space: &Space,
    num_envs: usize,
    action: &Action<B>,
) -> Result<()> {
    let expected_kind = space.kind_name();
    if action.kind_name() != expected_kind {
        return Err(CoreError::ActionKind {
            expected: expected_kind,
            actual: action.kind_name(),
        });
    }
    let width = space.flat_dim();
    if action.dims() != [num_envs, width] {
        return Err(CoreError::Shape {
            what: "action".to_string(),
            expected: format!("[{num_envs}, {width}] (num_envs, action space flat_dim)"),
            actual: action.dims().to_vec(),
        });
    }
    Ok(())
}

/// The row (index along dimension 0) of the first NaN or infinite value of a row-major buffer
/// with rows of `row_len` values: what environments report in [`CoreError::NonFinite`].
///
/// ```
/// assert_eq!(rl_core::first_non_finite_row(&[0.0, 1.0, f32::NAN, 2.0], 2), Some(1));
/// ```
pub fn first_non_finite_row(values: &[f32], row_len: usize) -> Option<usize> {
    crate::host::first_non_finite_row(values, row_len)
}
