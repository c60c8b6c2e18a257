//! Traits and data types for on-policy reinforcement learning on [Burn](burn).
//!
//! `rl-core` defines what the algorithms in `rl-algo` work with, generic over the Burn
//! backend `B`:
//!
//! * batched environments ([`Env`], stepped as one batch of N environments, IsaacGym style as
//!   in rl8), their step result [`Transition`] and reset options [`EnvConfig`];
//! * [`Space`]s describing one environment's observations and actions;
//! * batched [`Observation`]s (features, optional action mask, further named tensors in a
//!   [`TensorMap`]) and [`Action`]s;
//! * policy-and-value models ([`Model`], [`RecurrentModel`]) and the action
//!   [`Distribution`]s they output;
//! * two tiny reference environments, [`DiscreteDummyEnv`] and [`ContinuousDummyEnv`].
//!
//! # Shape conventions
//!
//! N is the batch: environments when acting, samples when training. Every batched tensor has N
//! as its first dimension.
//!
//! | what | shape |
//! |---|---|
//! | observation features | `[N, F]` |
//! | action mask | `[N, M]`, `true` = allowed; M = the sum of every head's categories ([`Space::mask_width`]) |
//! | actions | `[N, A]`, `Int` (discrete) or float (continuous) |
//! | rewards, `terminated`, `truncated` | `[N]` |
//! | values, `log_prob`, `entropy` | `[N, 1]` |
//! | categorical logits | `[N, A, n]` |
//! | recurrent state tensors | `[N, X]` |
//!
//! Recurrent models read N sequences of `seq_len` steps sequence-major: row `n * seq_len + t`.
//!
//! Fallible functions return [`CoreError`]; nothing in this crate panics on bad input.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::{Int, Tensor};
//! use rl_core::{DiscreteDummyEnv, Env};
//!
//! let device = Default::default();
//! let mut env = DiscreteDummyEnv::<NdArray>::new(8, 0, &device)?;
//! let obs = env.reset(None)?;
//! assert_eq!(obs.features.dims(), [8, 1]);
//! let action = Tensor::<NdArray, 2, Int>::ones([8, 1], &device).into();
//! let step = env.step(&action)?;
//! assert_eq!(step.reward.dims(), [8]);
//! # Ok::<(), rl_core::CoreError>(())
//! ```

#![warn(missing_docs)]

mod action;
mod distribution;
mod dummy;
mod env;
mod error;
mod host;
mod model;
mod observation;
mod space;

pub use action::Action;
pub use distribution::{
    ActionShape, Categorical, ClippedNormal, Distribution, Normal, SquashedNormal,
};
pub use dummy::{
    ContinuousDummyEnv, ContinuousMove, DiscreteDummyEnv, DiscreteMove, DummyEnv, DummyMove,
};
pub use env::{
    Env, EnvConfig, EnvInfo, HostAction, ObservationSpec, Residence, SavedRng, Transition,
    check_action, check_action_shape, decode_state, encode_state, first_non_finite_row,
};
pub use error::{CoreError, Result};
pub use model::{Model, PolicyOutput, RecurrentModel, RecurrentOutput, RecurrentState};
pub use observation::{Observation, TensorMap};
pub use space::Space;
