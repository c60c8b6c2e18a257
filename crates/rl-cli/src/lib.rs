//! The `rl` command, and the library behind it and the repository's examples: a run described
//! by one TOML file ([`rl_train::RunFile`]: the environment, the algorithm and its model, the
//! trainer's limits) trained on any backend, resumed from its checkpoints, or evaluated.
//!
//! ```text
//! rl train examples/configs/cartpole.toml [--out DIR] [--backend ndarray|flex|wgpu] [--max-updates N] [--seed S]
//! rl train --resume DIR [--max-updates N]
//! rl eval DIR [--episodes N]
//! ```
//!
//! * `run.rs`: building a run on a backend, [`train`] and [`evaluate`];
//! * `cli.rs`: the command line ([`main`], and [`example`] for the example binaries).
#![warn(missing_docs)]

mod cli;
mod run;

pub use cli::{ExampleArgs, RunFlags, example, main};
pub use run::{
    BoxError, DynEnv, Evaluation, Outcome, RUN_FILE, TrainOptions, default_backend, evaluate,
    stop_on_ctrl_c, train,
};
