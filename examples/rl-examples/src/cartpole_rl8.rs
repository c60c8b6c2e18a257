//! rl8's own CartPole task with rl8's example config: an infinite-horizon cart-pole with 3
//! actions and a continuous cost reward, reset at every update (episodes of `horizon` = 64
//! steps), trained for rl8's 40 updates with a deterministic evaluation every 5.
//!
//! ```text
//! cargo run --release --example cartpole_rl8
//! cargo run --release --example cartpole_rl8 -- --num-envs 1024 --hidden 64,64
//! ```
//!
//! The mean episode return is rl8's `returns/mean`: the sum of the 64 rewards of a horizon,
//! always negative, 0 being perfect (rl8 reaches about -12 after 40 updates).

use std::error::Error;

use crate::configs;
use crate::run::{self as common, Args, Experiment};
use burn::tensor::backend::AutodiffBackend;
use clap::Parser;
use rl_envs::CartPole;
use rl_train::TrainerConfig;

struct CartPoleRl8(Args);

impl Experiment for CartPoleRl8 {
    fn run<B: AutodiffBackend>(&self, device: &B::Device) -> Result<(), Box<dyn Error>> {
        let args = &self.0;
        let config = args.apply(configs::cartpole_rl8());
        let env = CartPole::<B::InnerBackend>::new(config.ppo.num_envs, config.ppo.seed, device)?;
        // Boxed: the feed-forward examples share one engine type per backend.
        let env: common::DynEnv<B> = Box::new(env);
        let algorithm = config.init::<B, _>(env, device)?;
        let trainer = TrainerConfig::new()
            .with_max_updates(Some(args.max_updates.unwrap_or(40)))
            .with_steps_per_eval(Some(5))
            .with_out_dir(Some(args.out_dir("cartpole_rl8").display().to_string()))
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
    common::dispatch(args.backend, &CartPoleRl8(args))
}
