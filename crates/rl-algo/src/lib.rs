//! Feed-forward and recurrent PPO training loops on Burn (collect, then update), their configs,
//! default models, schedules, stop conditions and a trainer.
//!
//! A newcomer reads a few short files top to bottom:
//!
//! * `config.rs`: [`AlgorithmConfig`] and [`RecurrentAlgorithmConfig`], every rl8 field with
//!   rl8's default, validated up front;
//! * `collect.rs`: one horizon of all environments with the current policy (shared);
//! * `advantage.rs`: GAE over the horizon and advantage normalization (shared);
//! * `update.rs`: the PPO update core: minibatches, losses, clipping, optimizer (shared);
//! * `algorithm.rs`: [`Algorithm`], feed-forward PPO on top of those three;
//! * `recurrent.rs`: [`RecurrentAlgorithm`], what a recurrent state changes: stepping with the
//!   state, resets, chunk-start states, sequences as the update's unit;
//! * `trainer/mod.rs`: [`Trainer`], the collect/step loop with stop conditions, evaluation, a CSV
//!   and a learning-curve PNG.
//!
//! The building blocks come from [`rl_core`] (environments, models, distributions) and
//! [`rl_functional`] (advantage estimators, losses).
#![warn(missing_docs)]

mod advantage;
pub mod algorithm;
mod collect;
pub mod config;
pub mod error;
pub mod models;
pub mod recurrent;
pub mod recurrent_models;
mod rollout;
pub mod schedule;
pub mod stats;
#[cfg(test)]
mod testing;
pub mod trainer;
mod update;

pub use algorithm::{Algorithm, load_model, save_model};
pub use config::{AlgorithmConfig, OptimizerConfig, RecurrentAlgorithmConfig};
pub use error::{AlgoError, Result};
pub use models::{DefaultDist, DefaultModel, DefaultModelConfig, Head, Mlp};
pub use recurrent::RecurrentAlgorithm;
pub use recurrent_models::{CellKind, DefaultRecurrentModel, RecurrentLayer, RecurrentModelConfig};
pub use rollout::ObservationNormalizer;
pub use schedule::{Schedule, ScheduleKind};
pub use stats::{StatTracker, Stats};
pub use trainer::{Trainable, Trainer, TrainerConfig};

pub use rl_core;
pub use rl_functional;
