//! Feed-forward PPO training loops on Burn (collect, then update), their configs, schedules,
//! stop conditions and a trainer.
//!
//! A newcomer reads four short files top to bottom:
//!
//! * `config.rs`: [`AlgorithmConfig`], every rl8 field with rl8's default, validated up front;
//! * `algorithm.rs`: [`Algorithm::collect`] (one horizon of all environments) and
//!   [`Algorithm::step`] (advantages, then PPO epochs);
//! * `update.rs`: the PPO update core (minibatches, losses, clipping, optimizer);
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
