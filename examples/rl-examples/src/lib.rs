//! The code of the repository's examples (`cargo run --release --example NAME`), compiled once
//! here instead of once per example binary. The training examples are run files
//! (`examples/configs/*.toml`, see [`configs`]) trained by `rl-cli`, the library of the `rl`
//! command; `oracle` checks the golden cases. Not published; the configs are shared with the
//! integration tests and the benchmarks.
#![warn(missing_docs)]

pub mod configs;
pub mod oracle;
