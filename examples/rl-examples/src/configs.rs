//! The examples' PPO configs, shared with the benchmarks (`benches/ppo.rs`).

use burn::nn::activation::ActivationConfig;
use rl_algo::{
    AlgorithmConfig, DefaultModelConfig, Minibatch, PpoConfig, RecurrenceConfig,
    RecurrentAlgorithmConfig, RecurrentModelConfig, Reset,
};

/// The mean episode return at which CartPole-v1 counts as solved.
pub const CARTPOLE_TARGET: f64 = 475.0;

/// Gym CartPole-v1: 16 environments x 64 steps per update, 4 minibatches of 256, 4 epochs,
/// Adam 3e-3, gamma 0.99, a 64x64 tanh network. The environments reset themselves
/// (`env_reset = Never`).
pub fn cartpole_v1() -> AlgorithmConfig {
    AlgorithmConfig::new()
        .with_ppo(
            PpoConfig::new()
                .with_num_envs(16)
                .with_horizon(64)
                .with_env_reset(Reset::Never)
                .with_minibatch(Minibatch::Transitions(256))
                .with_gamma(0.99)
                .with_gae_lambda(0.95)
                .with_vf_coeff(0.5)
                .with_max_grad_norm(0.5)
                .with_learning_rate(3e-3),
        )
        .with_model(
            DefaultModelConfig::new()
                .with_hiddens(vec![64, 64])
                .with_activation(ActivationConfig::Tanh),
        )
}

/// rl8's CartPole example: `AlgorithmConfig(horizon=64)` and every other rl8 default (a 256x256
/// ReLU model, the whole buffer as one minibatch, 4 epochs, gamma = lambda = 0.95), with 256
/// environments instead of rl8's GPU default of 8192 (as in rl8's own CPU run).
pub fn cartpole_rl8() -> AlgorithmConfig {
    AlgorithmConfig::new().with_ppo(PpoConfig::new().with_horizon(64).with_num_envs(256))
}

/// rl8's Pendulum example: `horizon=128, horizons_per_env_reset=4` (`env_reset = Every(4)`:
/// episodes of 512 steps) and rl8's defaults otherwise, with 256 environments instead of 8192.
pub fn pendulum() -> AlgorithmConfig {
    AlgorithmConfig::new().with_ppo(
        PpoConfig::new()
            .with_horizon(128)
            .with_env_reset(Reset::Every(4))
            .with_num_envs(256),
    )
}

/// CartPole-v1 without velocities, recurrent PPO with an LSTM of 64: 16 environments x 32 steps
/// per update, sequences of 8 steps in minibatches of 16 sequences, 4 epochs, Adam 1e-3, gamma
/// 0.99, observations normalized (the pole angle's scale is a tenth of the cart position's, and
/// the velocities must be read from their small changes). The environments reset themselves and a state is reset only when its episode ends
/// (`env_reset = state_reset = Never`).
pub fn cartpole_no_velocity() -> RecurrentAlgorithmConfig {
    RecurrentAlgorithmConfig::new()
        .with_ppo(
            PpoConfig::new()
                .with_num_envs(16)
                .with_horizon(32)
                .with_env_reset(Reset::Never)
                .with_minibatch(Minibatch::Sequences(16))
                .with_gamma(0.99)
                .with_gae_lambda(0.95)
                .with_vf_coeff(0.5)
                .with_max_grad_norm(0.5)
                .with_normalize_observations(true)
                .with_learning_rate(1e-3),
        )
        .with_recurrence(
            RecurrenceConfig::new()
                .with_seq_len(8)
                .with_state_reset(Reset::Never),
        )
        .with_model(RecurrentModelConfig::new().with_hidden_size(64))
}

/// The recall task (`rl_envs::Recall`, episodes of 4 steps): 32 environments x 16 steps per
/// update, one sequence per episode (`seq_len` 4, aligned with the episodes because all
/// environments start together), an LSTM of 32, 4 minibatches, Adam 3e-3, gamma 0.99.
pub fn recall() -> RecurrentAlgorithmConfig {
    RecurrentAlgorithmConfig::new()
        .with_ppo(
            PpoConfig::new()
                .with_num_envs(32)
                .with_horizon(16)
                .with_env_reset(Reset::Never)
                .with_minibatch(Minibatch::Sequences(32))
                .with_gamma(0.99)
                .with_vf_coeff(0.5)
                .with_max_grad_norm(0.5)
                .with_learning_rate(3e-3),
        )
        .with_recurrence(
            RecurrenceConfig::new()
                .with_seq_len(4)
                .with_state_reset(Reset::Never),
        )
        .with_model(RecurrentModelConfig::new().with_hidden_size(32))
}
