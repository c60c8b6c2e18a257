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
//!
//! The run file is `examples/configs/cartpole_rl8.toml`; `rl train examples/configs/cartpole_rl8.toml`
//! trains the same run. Every example takes `rl train`'s flags, and `--resume`.

/// mimalloc: Burn's CPU backends allocate and free a fresh buffer for nearly every op, and
/// glibc's malloc page-faults large ones back in every time, which doubled the PPO update time
/// (`docs/performance.md`). A caching allocator is the binary's choice, so the libraries set none.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rl_cli::example("cartpole_rl8", include_str!("configs/cartpole_rl8.toml"))
}
