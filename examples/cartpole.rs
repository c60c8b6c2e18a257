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
//!
//! The run file is `examples/configs/cartpole.toml`; `rl train examples/configs/cartpole.toml`
//! trains the same run. Every example takes `rl train`'s flags, and `--resume`.

/// mimalloc: Burn's CPU backends allocate and free a fresh buffer for nearly every op, and
/// glibc's malloc page-faults large ones back in every time, which doubled the PPO update time
/// (`docs/performance.md`). A caching allocator is the binary's choice, so the libraries set none.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rl_cli::example("cartpole", include_str!("configs/cartpole.toml"))
}
