//! Training runs on top of rl-algo's engine: the [`Trainer`] loop (collect, step, evaluate)
//! with stop conditions, a CSV of metrics, TensorBoard scalars, a learning-curve PNG and a
//! progress display.
//!
//! * `trainer.rs`: [`Trainer`] and [`TrainerConfig`];
//! * `run_file.rs`: [`RunFile`], a whole run (environment, algorithm, trainer) in one TOML
//!   file, read with every unknown key and bad value named by its path (the `rl` command and
//!   the examples train them);
//! * [`conditions`]: stop conditions over each update's statistics (rl8's set, and closures
//!   through [`conditions::when`]);
//! * [`metrics`]: the CSV of metrics;
//! * [`plot`]: the learning curve;
//! * [`tensorboard`]: the TensorBoard event file.
//!
//! The library crates (`rl-core`, `rl-functional`, `rl-algo`) depend on none of the crates a
//! training run's outputs need (CSV, PNG, progress bars).
#![warn(missing_docs)]

pub mod conditions;
mod error;
pub mod metrics;
pub mod plot;
mod run_file;
pub mod tensorboard;
mod trainer;

pub use error::{Result, TrainError};
pub use run_file::{AlgorithmSpec, BackendKind, EnvSpec, RunFile};
pub use trainer::{Trainer, TrainerConfig, latest_checkpoint};
