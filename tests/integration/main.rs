//! The integration tests of the workspace, in one test binary (one link of the generic code
//! instead of one per file): the algorithms (`algorithm`, `recurrent`, `config`), the
//! environments (`envs_api`, `envs_memory`), the functional layer's properties (`properties`),
//! end-to-end training (`pipeline`, `recall`, `train`), checkpoints (`resume`) and the `rl`
//! command's run files, training, resuming and evaluation (`cli`).

/// The examples' configs, the same source file the examples compile (`rl_examples::configs`);
/// included rather than imported so that this binary does not wait for the examples' library
/// (it reads the run files with `rl-cli`).
#[path = "../../examples/rl-examples/src/configs.rs"]
#[allow(dead_code)]
mod configs;

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

mod algorithm;
mod cli;
mod config;
mod envs_api;
mod envs_memory;
mod pipeline;
mod properties;
mod recall;
mod recurrent;
mod resume;
mod train;
