//! rl8's Pendulum task with rl8's example config: swing a pendulum up and hold it, with a
//! normal policy over the torque; episodes of 512 steps (4 horizons of 128), 100 updates, a
//! deterministic evaluation every 8.
//!
//! ```text
//! cargo run --release --example pendulum
//! ```
//!
//! The mean episode return is the summed reward of a 512-step episode (Gym's Pendulum cost,
//! so it is negative; a good policy holds it near 0 after swinging up).

use std::error::Error;

use crate::configs;
use crate::run::{self as common, Args, Experiment};
use burn::tensor::backend::AutodiffBackend;
use clap::Parser;
use rl_envs::Pendulum;
use rl_train::TrainerConfig;

struct PendulumExample(Args);

impl Experiment for PendulumExample {
    fn run<B: AutodiffBackend>(&self, device: &B::Device) -> Result<(), Box<dyn Error>> {
        let args = &self.0;
        let config = args.apply(configs::pendulum());
        let env = Pendulum::<B::InnerBackend>::new(config.ppo.num_envs, config.ppo.seed, device)?;
        // Boxed: the feed-forward examples share one engine type per backend.
        let env: common::DynEnv<B> = Box::new(env);
        let algorithm = config.init::<B, _>(env, device)?;
        let trainer = TrainerConfig::new()
            .with_max_updates(Some(args.max_updates.unwrap_or(100)))
            .with_steps_per_eval(Some(8))
            .with_out_dir(Some(args.out_dir("pendulum").display().to_string()))
            .with_overwrite(args.overwrite);
        common::train(algorithm, common::describe(&config), trainer, args.resume)?;
        Ok(())
    }
}

/// Parses the command line and trains.
///
/// # Errors
/// A bad flag, a backend that is not compiled in, or a failed or unsolved run.
pub fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    common::dispatch(args.backend, &PendulumExample(args))
}
