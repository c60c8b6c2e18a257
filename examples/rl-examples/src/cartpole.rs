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
//! the algorithm never resets them on a schedule (`env_reset = Never`).

use std::error::Error;

use crate::configs::{self, CARTPOLE_TARGET};
use crate::run::{self as common, Args, Experiment};
use burn::tensor::backend::AutodiffBackend;
use clap::Parser;
use rl_envs::CartPoleV1;
use rl_train::TrainerConfig;

struct CartPole(Args);

impl Experiment for CartPole {
    fn run<B: AutodiffBackend>(&self, device: &B::Device) -> Result<(), Box<dyn Error>> {
        let args = &self.0;
        let config = args.apply(configs::cartpole_v1());
        let env = CartPoleV1::<B::InnerBackend>::new(config.ppo.num_envs, config.ppo.seed, device)?;
        // Boxed: the feed-forward examples share one engine type per backend.
        let env: common::DynEnv<B> = Box::new(env);
        let algorithm = config.init::<B, _>(env, device)?;
        let trainer = TrainerConfig::new()
            .with_max_updates(Some(args.max_updates.unwrap_or(500)))
            .with_steps_per_eval(Some(10))
            .with_target_return(Some(CARTPOLE_TARGET))
            .with_out_dir(Some(args.out_dir("cartpole").display().to_string()))
            .with_overwrite(args.overwrite);
        let last = common::train(algorithm, common::describe(&config), trainer, args.resume)?;
        common::check_solved(&last, CARTPOLE_TARGET)
    }
}

/// Parses the command line and trains.
///
/// # Errors
/// A bad flag, a backend that is not compiled in, or a failed or unsolved run.
pub fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    common::dispatch(args.backend, &CartPole(args))
}
