//! The code of the training examples (`cargo run --release --example NAME`), compiled once
//! here instead of once per example binary: each example in `examples/` only sets the
//! allocator and calls its module's `main`. Not published; the configs are shared with the
//! integration tests and the benchmarks. The oracle's code is `examples/rl-oracle`.
//!
//! | example | module |
//! |---|---|
//! | `cartpole` (the README's main command) | [`cartpole`] |
//! | `cartpole_no_velocity` | [`cartpole_no_velocity`] |
//! | `cartpole_rl8` | [`cartpole_rl8`] |
//! | `pendulum` | [`pendulum`] |
#![warn(missing_docs)]

pub mod cartpole;
pub mod cartpole_no_velocity;
pub mod cartpole_rl8;
pub mod configs;
pub mod pendulum;
pub mod run;
