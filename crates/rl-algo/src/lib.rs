//! Feedforward and recurrent PPO training loops (collect, then update).
//!
//! This crate is a skeleton for now: the algorithms, their configs, schedules, stop conditions
//! and the trainer are the next milestone. The building blocks they use already exist:
//! environments, models and distributions in [`rl_core`], advantage estimators and losses in
//! [`rl_functional`].
#![warn(missing_docs)]

pub use rl_core;
pub use rl_functional;
