//! Training runs on top of rl-algo's engine: the [`Trainer`] loop (collect, step, evaluate)
//! with stop conditions, a CSV of metrics, TensorBoard scalars, a learning-curve PNG and a
//! progress display.
//!
//! * `trainer.rs`: [`Trainer`] and [`TrainerConfig`];
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
pub mod tensorboard;
mod trainer;

pub use error::{Result, TrainError};
pub use trainer::{Trainer, TrainerConfig, latest_checkpoint};
