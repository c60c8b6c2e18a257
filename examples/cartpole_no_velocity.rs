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
//!
//! The run file is `examples/configs/cartpole_no_velocity.toml`; `rl train examples/configs/cartpole_no_velocity.toml`
//! trains the same run. Every example takes `rl train`'s flags, and `--resume`.

/// mimalloc: Burn's CPU backends allocate and free a fresh buffer for nearly every op, and
/// glibc's malloc page-faults large ones back in every time, which doubled the PPO update time
/// (`docs/performance.md`). A caching allocator is the binary's choice, so the libraries set none.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rl_cli::example(
        "cartpole_no_velocity",
        include_str!("configs/cartpole_no_velocity.toml"),
    )
}
