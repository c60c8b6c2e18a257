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
//!
//! The run file is `examples/configs/pendulum.toml`; `rl train examples/configs/pendulum.toml`
//! trains the same run. Every example takes `rl train`'s flags, and `--resume`.

/// mimalloc: Burn's CPU backends allocate and free a fresh buffer for nearly every op, and
/// glibc's malloc page-faults large ones back in every time, which doubled the PPO update time
/// (`docs/performance.md`). A caching allocator is the binary's choice, so the libraries set none.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rl_cli::example("pendulum", include_str!("configs/pendulum.toml"))
}
