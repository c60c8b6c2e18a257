//! The code of the repository's examples (`cargo run --release --example NAME`), compiled once
//! here instead of once per example binary: each example in `examples/` only sets the
//! allocator and calls its module's `main`. Not published; the configs are shared with the
//! integration tests and the benchmarks.
//!
//! | example | module |
//! |---|---|
//! | `cartpole` (the README's main command) | [`cartpole`] |
//! | `cartpole_no_velocity` | [`cartpole_no_velocity`] |
//! | `cartpole_rl8` | [`cartpole_rl8`] |
//! | `pendulum` | [`pendulum`] |
//! | `oracle` | [`oracle`] |
#![warn(missing_docs)]

pub mod cartpole;
pub mod cartpole_no_velocity;
pub mod cartpole_rl8;
pub mod configs;
pub mod oracle;
pub mod pendulum;
pub mod run;
