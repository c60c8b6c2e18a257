//! Batched classic-control environments in pure Rust, for any [Burn](burn) backend.
//!
//! Each type implements [`rl_core::Env`]: one value is a batch of N environments stepped as one
//! (IsaacGym style, as in rl8). Most keep their state on the host in `f64`: a step reads the action
//! batch back once, moves every environment in one pass and builds the observation, reward and
//! flag tensors (`f32`) once.
//!
//! | type | name | reference | observation | action | episodes |
//! |---|---|---|---|---|---|
//! | [`CartPole`] | `"CartPole"` | rl8 `examples/cartpole` | `[5]` | `Discrete(3)` | infinite horizon |
//! | [`CartPoleV1`] | `"CartPole-v1"` | Gymnasium `CartPole-v1` | `[4]` | `Discrete(2)` | terminate, truncate at 500, auto-reset |
//! | [`CartPoleNoVelocity`] | `"CartPole-v1-NoVelocity"` | `CartPole-v1` observing `[x, theta]` only (memory task) | `[2]` | `Discrete(2)` | as `CartPole-v1` |
//! | [`Pendulum`] | `"Pendulum"` | rl8 `examples/pendulum` (Gym's dynamics) | `[3]` | unbounded `Box [1]` | infinite horizon |
//! | [`MountainCar`] | `"MountainCar"` | rl8 `examples/mountain_car` | `[2]` | `Discrete(3)` | infinite horizon |
//! | [`PendulumV1`] | `"Pendulum-v1"` | Gymnasium `Pendulum-v1` | `[3]` | `Box [1]` in `[-2, 2]` | truncate at 200, auto-reset |
//! | [`MountainCarV0`] | `"MountainCar-v0"` | Gymnasium `MountainCar-v0` | `[2]` | `Discrete(3)` | terminate at the goal, truncate at 200, auto-reset |
//! | [`MountainCarContinuousV0`] | `"MountainCarContinuous-v0"` | Gymnasium `MountainCarContinuous-v0` | `[2]` | `Box [1]` in `[-1, 1]` | terminate at the goal, truncate at 999, auto-reset |
//! | [`AcrobotV1`] | `"Acrobot-v1"` | Gymnasium `Acrobot-v1` | `[6]` | `Discrete(3)` | terminate when the tip is up, truncate at 500, auto-reset |
//! | [`Recall`] | `"Recall"` | cue-recall memory task | `[3]` | `Discrete(2)` | terminate every `length` (4) steps, auto-reset |
//! | [`MaskedRecall`] | `"MaskedRecall"` | four-cue recall told by action masks | `[5]` + mask `[5]` | `Discrete(5)` | terminate after `length` (6) steps or a masked-out action, auto-reset |
//! | [`Combination`] | `"Combination"` | dials of 2, 3 and 5 positions set from the observation | `[10]` | `MultiDiscrete([2, 3, 5])` | terminate every step, auto-reset |
//! | [`DeviceCartPole`] | `"CartPole-device"` | [`CartPole`] as tensor operations on the device | `[5]` | `Discrete(3)` | infinite horizon |
//! | [`DeviceCartPoleV1`] | `"CartPole-v1-device"` | [`CartPoleV1`] as tensor operations on the device | `[4]` | `Discrete(2)` | as `CartPole-v1` |
//!
//! [`EnvKind`] finds them by name.
//!
//! The two device cart-poles keep their state in tensors and step with tensor operations over
//! the whole batch ([`rl_core::Residence::Device`]): a step reads nothing back, so on a GPU the
//! environment, the policy and the rollout stay on the device and the engine reads the
//! horizon's rewards and flags once per collect. The others keep their state on the host.
//!
//! Common rules:
//!
//! * `new(num_envs, seed, device)` fails for `num_envs == 0`; every random draw comes from the
//!   environment's own generator seeded with `seed`, so the same seed and actions give the same
//!   trajectories.
//! * [`rl_core::Env::reset`] takes an optional [`rl_core::EnvConfig`]. As in rl8, the parameters
//!   are rebuilt from their defaults plus the given keys at **every** reset (a reset without a
//!   config restores the defaults); unknown keys are ignored; a NaN, infinite or otherwise
//!   invalid value is a [`rl_core::CoreError::Env`] naming the key.
//! * Stepping before the first reset, or with an action of the wrong kind, shape or range, is an
//!   error (the checks of [`rl_core::check_action`]), never a panic. A step whose observation or
//!   reward would not be finite (only possible with extreme configs) fails with
//!   [`rl_core::CoreError::NonFinite`] and leaves the state unchanged.
//! * The infinite-horizon environments (rl8's) never set `terminated` or `truncated`; rl8 resets
//!   them on a schedule, at most every `MAX_HORIZON` steps.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::{Int, Tensor};
//! use rl_core::Env;
//! use rl_envs::CartPoleV1;
//!
//! let device = Default::default();
//! let mut env = CartPoleV1::<NdArray>::new(8, 42, &device)?;
//! assert_eq!(env.name(), "CartPole-v1");
//! let obs = env.reset(None)?;
//! assert_eq!(obs.features.dims(), [8, 4]);
//!
//! // Always push right: every pole falls within a few dozen steps.
//! let mut episodes = 0;
//! for _ in 0..100 {
//!     let action = Tensor::<NdArray, 2, Int>::ones([8, 1], &device).into();
//!     let step = env.step(&action)?;
//!     let done = step.done().int().sum().into_scalar();
//!     episodes += done;
//! }
//! assert!(episodes >= 8);
//! # Ok::<(), rl_core::CoreError>(())
//! ```

#![warn(missing_docs)]

mod acrobot;
mod cartpole;
mod catalog;
mod combination;
mod common;
mod device_cartpole;
#[cfg(test)]
mod goldens;
mod masked_recall;
mod mountain_car;
mod pendulum;
mod recall;

pub use acrobot::AcrobotV1;
pub use cartpole::{CartPole, CartPoleNoVelocity, CartPoleV1};
pub use catalog::EnvKind;
pub use combination::Combination;
pub use device_cartpole::{DeviceCartPole, DeviceCartPoleV1};
pub use masked_recall::MaskedRecall;
pub use mountain_car::{MountainCar, MountainCarContinuousV0, MountainCarV0};
pub use pendulum::{Pendulum, PendulumV1};
pub use recall::Recall;
