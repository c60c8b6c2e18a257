//! The integration tests of the workspace, in one test binary (one link of the generic code
//! instead of one per file): the algorithms (`algorithm`, `recurrent`, `config`), the
//! environments (`envs_api`, `envs_memory`), the functional layer's properties (`properties`),
//! end-to-end training (`pipeline`, `recall`, `train`), checkpoints (`resume`) and run files
//! (`run_file`); bad input of every kind (`bad_input`, `fuzz`). The `rl` command's own tests are `crates/rl-cli/tests`.

/// The examples' run files and their configs (the same TOML files the examples train).
#[path = "../../examples/configs/mod.rs"]
#[allow(dead_code)]
mod configs;

/// Two runs wrote the same metrics (shared with the `rl` command's tests).
#[path = "../same_metrics.rs"]
mod same_metrics;

/// The tests' environments, boxed: one engine type per model for the whole binary instead of
/// one per environment type (monomorphizing the engine is most of this binary's build time).
type DynEnv = Box<dyn rl_core::Env<burn::backend::NdArray>>;

/// `env`, boxed.
fn boxed<E: rl_core::Env<burn::backend::NdArray> + 'static>(env: E) -> DynEnv {
    Box::new(env)
}

/// Asserts that two `step()`s gave the same losses: rl8's rtol 1e-5, with an absolute floor of
/// 1e-6 because the policy loss is a near-cancelling mean. `what` names the run.
fn assert_same_losses(pairs: &[(&str, f64, f64)], what: &str) {
    for &(key, x, y) in pairs {
        assert!(
            (x - y).abs() <= 1e-5 * x.abs() + 1e-6,
            "{what} {key}: {x} vs {y}"
        );
    }
}

mod action_kinds;
mod algorithm;
mod bad_input;
mod config;
mod core_api;
mod device_envs;
mod envs_api;
mod envs_memory;
mod fuzz;
mod pipeline;
mod properties;
mod recall;
mod recurrent;
mod resume;
mod run_file;
mod train;
