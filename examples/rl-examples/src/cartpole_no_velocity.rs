//! CartPole-v1 without the velocities: the observation is only the cart position and the pole
//! angle, so a policy must infer the velocities from what it saw before. Recurrent PPO with an
//! LSTM policy, trained until the mean episode return reaches 475:
//!
//! ```text
//! cargo run --release --example cartpole_no_velocity
//! cargo run --release --example cartpole_no_velocity -- --seed 3 --hidden 128
//! ```
//!
//! Each environment's LSTM state is reset when its episode ends; the update trains on sequences
//! of 8 steps, each started from the state stored when it was collected.

use std::error::Error;

use crate::configs::{self, CARTPOLE_TARGET};
use crate::run::{self as common, Args, Experiment};
use burn::tensor::backend::AutodiffBackend;
use clap::Parser;
use rl_envs::CartPoleNoVelocity;
use rl_train::TrainerConfig;

struct NoVelocity(Args);

impl Experiment for NoVelocity {
    fn run<B: AutodiffBackend>(&self, device: &B::Device) -> Result<(), Box<dyn Error>> {
        let args = &self.0;
        let config = args.apply_recurrent(configs::cartpole_no_velocity());
        let c = &config.ppo;
        let env = CartPoleNoVelocity::<B::InnerBackend>::new(c.num_envs, c.seed, device)?;
        let algorithm = config.init::<B, _>(env, device)?;
        let what = format!(
            "recurrent PPO ({:?} {}) with {} envs x {} steps per update, sequences of {}, seed {}",
            config.model.cell,
            config.model.hidden_size,
            c.num_envs,
            c.horizon,
            config.recurrence.seq_len,
            c.seed
        );
        let trainer = TrainerConfig::new()
            .with_max_updates(Some(args.max_updates.unwrap_or(2000)))
            .with_target_return(Some(CARTPOLE_TARGET))
            .with_out_dir(Some(
                args.out_dir("cartpole_no_velocity").display().to_string(),
            ))
            .with_overwrite(args.overwrite);
        let last = common::train(algorithm, what, trainer, args.resume)?;
        common::check_solved(&last, CARTPOLE_TARGET)
    }
}

/// Parses the command line and trains.
///
/// # Errors
/// A bad flag, a backend that is not compiled in, or a failed or unsolved run.
pub fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    common::dispatch(args.backend, &NoVelocity(args))
}
