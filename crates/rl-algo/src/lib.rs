//! Feed-forward and recurrent PPO on Burn (collect, then update): one engine, [`Ppo`], its
//! configs, default models and schedules. Training runs (the loop with stop conditions,
//! evaluation and outputs) are `rl-train`, through [`Trainable`].
//!
//! A newcomer reads a few short files top to bottom:
//!
//! * `config.rs`: [`AlgorithmConfig`] and [`RecurrentAlgorithmConfig`], every rl8 field with
//!   rl8's default, validated up front;
//! * `engine.rs`: [`Ppo`], `collect()` then `step()`, written once;
//! * `collect.rs`: one horizon of all environments with the current policy;
//! * `config_file.rs` and `memory.rs`: configs read from and saved as documents, and the
//!   memory a config would need, checked before it is allocated;
//! * `boundary.rs`: the shapes an environment and a model must hand the engine, checked
//!   before they are used;
//! * `rollout.rs`: what a collect stores, in one layout, and the targets (done-aware GAE)
//!   computed on it;
//! * `update.rs`: the PPO update: minibatches, losses, clipping, optimizer;
//! * `policy/`: the one place feed-forward and recurrent PPO differ ([`FeedForward`],
//!   [`Recurrent`]): how the model acts and how a minibatch runs through it;
//! * `state.rs`: what the engine keeps between calls, and `checkpoint.rs`, how a checkpoint
//!   saves it;
//! * `trainable.rs`: [`Trainable`], what a training loop needs of the engine;
//! * `agent.rs`: [`Agent`] and [`RecurrentAgent`], a saved policy acting on any backend,
//!   without the training stack.
//!
//! The building blocks come from `rl-core` (environments, models, distributions) and
//! `rl-functional` (advantage estimators, losses).
#![warn(missing_docs)]

mod agent;
mod boundary;
mod checkpoint;
mod collect;
mod config;
mod config_file;
mod engine;
mod episodes;
mod error;
#[cfg_attr(not(any(feature = "ndarray", feature = "flex")), allow(dead_code))]
mod fast_math;
mod fused;
mod fused_categorical;
mod fused_linear;
mod fused_lstm;
mod host;
mod memory;
mod models;
mod normalizer;
mod policy;
mod record;
mod recurrent_models;
mod rollout;
mod schedule;
mod state;
mod stats;
#[cfg(test)]
mod testing;
mod trainable;
mod update;

pub use agent::{Agent, POLICY_FILES, RecurrentAgent, SavedPolicyFiles, Spaces};
pub use checkpoint::CheckpointProblem;
pub use config::{
    AlgorithmConfig, Minibatch, PpoConfig, RecurrenceConfig, RecurrentAlgorithmConfig, Reset,
};
pub use config_file::{UnknownKey, read_over_defaults};
pub use engine::{Algorithm, Ppo, RecurrentAlgorithm};
pub use error::{AlgoError, Result};
pub use memory::MemoryLimit;
pub use models::{ContinuousPolicy, DefaultDist, DefaultModel, DefaultModelConfig, Head, Mlp};
pub use normalizer::ObservationNormalizer;
pub use policy::{Actor, FeedForward, Forward, Inner, Policy, Recurrent, UnitLayout};
pub use record::{ModelFileProblem, load_model, model_file, save_model, write_atomic};
pub use recurrent_models::{CellKind, DefaultRecurrentModel, RecurrentLayer, RecurrentModelConfig};
pub use schedule::{Schedule, ScheduleKind};
pub use stats::{CollectStats, ENV_STEPS_KEY, Stats, StepStats, Summary, WALL_SECONDS_KEY};
pub use trainable::Trainable;
