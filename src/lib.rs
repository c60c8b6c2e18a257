//! On-policy reinforcement learning on [Burn](burn).
//!
//! `rl` is a facade over the three crates of the workspace:
//!
//! * [`core`] (`rl-core`): environments, spaces, observations, actions, models and action
//!   distributions;
//! * [`functional`] (`rl-functional`): pure tensor functions (advantage estimators, V-trace,
//!   PPO and other losses, masked operations), checked against the reference Python libraries;
//! * [`algo`] (`rl-algo`): PPO, feed-forward and recurrent, as one engine;
//! * [`train`] (`rl-train`): training runs: the trainer loop, stop conditions and outputs.
#![warn(missing_docs)]

/// Traits and data types: environments, spaces, observations, actions, models, distributions.
pub use rl_core as core;

/// Pure functions over Burn tensors: advantage estimators, V-trace, losses, masks.
pub use rl_functional as functional;

/// Training algorithms built on [`core`] and [`functional`].
pub use rl_algo as algo;

/// Training runs on [`algo`]'s engine: the trainer, stop conditions, metrics and plots.
pub use rl_train as train;

/// The README's code, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
