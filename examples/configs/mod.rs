//! The examples' run files (`examples/configs/*.toml`), the one source of their configs: the
//! examples train them, and the tests and the benchmarks include this file (`#[path]`) to take
//! their algorithm configs from it.

use rl_algo::{AlgorithmConfig, RecurrentAlgorithmConfig};
use rl_train::{AlgorithmSpec, RunFile};

/// The mean episode return at which CartPole-v1 counts as solved (the CartPole run files'
/// `trainer.target_return`).
pub const CARTPOLE_TARGET: f64 = 475.0;

/// `examples/configs/cartpole.toml`: Gym CartPole-v1, feed-forward PPO.
pub const CARTPOLE: &str = include_str!("cartpole.toml");
/// `examples/configs/cartpole_no_velocity.toml`: CartPole-v1 without velocities, recurrent PPO.
pub const CARTPOLE_NO_VELOCITY: &str = include_str!("cartpole_no_velocity.toml");
/// `examples/configs/cartpole_rl8.toml`: rl8's CartPole example.
pub const CARTPOLE_RL8: &str = include_str!("cartpole_rl8.toml");
/// `examples/configs/pendulum.toml`: rl8's Pendulum example.
pub const PENDULUM: &str = include_str!("pendulum.toml");
/// `examples/configs/recall.toml`: the recall memory task, recurrent PPO.
pub const RECALL: &str = include_str!("recall.toml");

/// `examples/configs/cartpole_v1.toml`: CartPole-v1 to 500 (the sample-efficiency table).
pub const CARTPOLE_V1: &str = include_str!("cartpole_v1.toml");
/// `examples/configs/acrobot_v1.toml`: Gymnasium's Acrobot-v1.
pub const ACROBOT_V1: &str = include_str!("acrobot_v1.toml");
/// `examples/configs/mountain_car_continuous_v0.toml`: Gymnasium's MountainCarContinuous-v0.
pub const MOUNTAIN_CAR_CONTINUOUS_V0: &str = include_str!("mountain_car_continuous_v0.toml");
/// `examples/configs/masked_recall.toml`: the masked recall task, recurrent PPO with masks.
pub const MASKED_RECALL: &str = include_str!("masked_recall.toml");
/// `examples/configs/pendulum_v1.toml`: Gymnasium's Pendulum-v1, a bounded continuous action.
pub const PENDULUM_V1: &str = include_str!("pendulum_v1.toml");

/// The run files of the sample-efficiency table (`docs/performance.md`), each with its target
/// return and its budget in environment steps.
pub const TABLE: [(&str, f64, u64); 5] = [
    (CARTPOLE_V1, 500.0, 100_000),
    (PENDULUM_V1, -200.0, 200_000),
    (ACROBOT_V1, -100.0, 500_000),
    (MOUNTAIN_CAR_CONTINUOUS_V0, 90.0, 100_000),
    (MASKED_RECALL, 0.95, 100_000),
];

/// The run file `text` (one of the constants above, which always parse).
pub fn run_file(text: &str) -> RunFile {
    RunFile::parse(text).unwrap_or_else(|e| panic!("an example's run file: {e}"))
}

fn feed_forward(text: &str) -> AlgorithmConfig {
    match run_file(text).algorithm {
        AlgorithmSpec::Ppo(c) => c,
        AlgorithmSpec::RecurrentPpo(_) => panic!("a feed-forward run file"),
    }
}

fn recurrent(text: &str) -> RecurrentAlgorithmConfig {
    match run_file(text).algorithm {
        AlgorithmSpec::RecurrentPpo(c) => c,
        AlgorithmSpec::Ppo(_) => panic!("a recurrent run file"),
    }
}

/// [`CARTPOLE`]'s algorithm config.
pub fn cartpole_v1() -> AlgorithmConfig {
    feed_forward(CARTPOLE)
}

/// [`CARTPOLE_RL8`]'s algorithm config.
pub fn cartpole_rl8() -> AlgorithmConfig {
    feed_forward(CARTPOLE_RL8)
}

/// [`PENDULUM`]'s algorithm config.
pub fn pendulum() -> AlgorithmConfig {
    feed_forward(PENDULUM)
}

/// [`CARTPOLE_NO_VELOCITY`]'s algorithm config.
pub fn cartpole_no_velocity() -> RecurrentAlgorithmConfig {
    recurrent(CARTPOLE_NO_VELOCITY)
}

/// [`RECALL`]'s algorithm config.
pub fn recall() -> RecurrentAlgorithmConfig {
    recurrent(RECALL)
}

/// [`MASKED_RECALL`]'s algorithm config.
pub fn masked_recall() -> RecurrentAlgorithmConfig {
    recurrent(MASKED_RECALL)
}

/// [`PENDULUM_V1`]'s algorithm config.
pub fn pendulum_v1() -> AlgorithmConfig {
    feed_forward(PENDULUM_V1)
}
