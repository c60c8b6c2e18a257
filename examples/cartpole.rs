//! Gym CartPole-v1 with PPO, trained until the mean episode return reaches 475 (the README's
//! main command):
//!
//! ```text
//! cargo run --release --example cartpole
//! cargo run --release --example cartpole -- --seed 3 --out out/seed3
//! ```
//!
//! Episodes end when the pole falls (terminated: no bootstrap) or after 500 steps (truncated:
//! bootstrapped from the value of the last observation). The environments reset themselves, so
//! the algorithm never resets them on a schedule (`horizons_per_env_reset = -1`).

mod common;

use std::error::Error;

use burn::nn::activation::ActivationConfig;
use burn::tensor::backend::AutodiffBackend;
use clap::Parser;
use common::{Args, Experiment};
use rl::algo::{AlgorithmConfig, DefaultModelConfig, OptimizerConfig, TrainerConfig};
use rl_envs::CartPoleV1;

/// The return at which CartPole-v1 counts as solved here.
const TARGET: f64 = 475.0;

/// The example's PPO config: 16 environments x 64 steps per update, 4 minibatches of 256,
/// 4 epochs, a 64x64 tanh network.
pub fn config() -> AlgorithmConfig {
    AlgorithmConfig::new()
        .with_num_envs(16)
        .with_horizon(64)
        .with_horizons_per_env_reset(-1)
        .with_sgd_minibatch_size(Some(256))
        .with_gamma(0.99)
        .with_gae_lambda(0.95)
        .with_vf_coeff(0.5)
        .with_max_grad_norm(0.5)
        .with_optimizer(OptimizerConfig::new().with_learning_rate(1e-3))
        .with_model(
            DefaultModelConfig::new()
                .with_hiddens(vec![64, 64])
                .with_activation(ActivationConfig::Tanh),
        )
}

struct CartPole(Args);

impl Experiment for CartPole {
    fn run<B: AutodiffBackend>(&self, device: &B::Device) -> Result<(), Box<dyn Error>> {
        let args = &self.0;
        let config = args.apply(config());
        let env = CartPoleV1::<B::InnerBackend>::new(config.num_envs, config.seed, device)?;
        let algorithm = config.init::<B, _>(env, device)?;
        let trainer = TrainerConfig::new()
            .with_max_updates(Some(args.max_updates.unwrap_or(500)))
            .with_steps_per_eval(Some(10))
            .with_target_return(Some(TARGET))
            .with_out_dir(Some(args.out_dir("cartpole").display().to_string()));
        let last = common::train(algorithm, trainer, None)?;
        let reached = last.get("episode/return_mean").unwrap_or(f64::NAN);
        if reached >= TARGET {
            println!("solved: mean episode return {reached:.1} >= {TARGET}");
            Ok(())
        } else {
            Err(format!("not solved: mean episode return {reached:.1} < {TARGET} when the update limit was hit").into())
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    common::dispatch(args.backend, &CartPole(args))
}
