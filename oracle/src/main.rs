//! Oracle harness: checks `rl-functional` and `rl-core`'s distributions against the golden
//! cases produced by the reference Python libraries (rl8, torchrl, pytorch_seed_rl).
//!
//! ```text
//! cargo oracle [DIR] [--backend ndarray|wgpu|flex] [--filter SUBSTRING]
//! cargo run --release -p rl-oracle --features wgpu -- [DIR] --backend wgpu
//! ```
//!
//! `cargo oracle` is an alias of `cargo run --release -p rl-oracle --`. `DIR` defaults to
//! `../shared/oracle/cases`; its format is described in the `README.md` next
//! to it, and `validate.py` there is the executable spec this harness mirrors. `--filter`
//! keeps the cases whose `file_stem/case_name` contains the substring. `--backend wgpu` (or
//! `flex`) needs the cargo feature of that name.
//!
//! Every case prints one line `file case key-summary max_abs=.. max_rel=.. PASS|FAIL` (the
//! summary names the worst key: the one closest to, or furthest past, its tolerance), followed
//! by indented lines for failing keys, errors and notes (documented differences, keys not
//! compared and why). The last line is `N passed, M failed`; the exit status is non-zero if a
//! case failed or a file could not be read.
//!
//! Tolerance per float element: `|got - want| <= max(1e-6, 1e-5 |want|) + 4 * noise[key]`,
//! where `noise` is the case's `f32_vs_f64_max_abs_diff` (0 when absent), unless the case gives
//! a `tolerance` itself. NaN and infinity positions must match exactly; ints and bools compare
//! exactly; shapes must match after the layout mapping (a 0-d reference maps to our `[1]`).
//! `max_rel` is `|got - want| / |want|` over the finite entries with `want != 0`.
//!
//! A package of its own, with no test target: CI runs it on each backend, and `cargo test`
//! does not compile it.

mod harness;

/// mimalloc: Burn's CPU backends allocate and free a fresh buffer for nearly every op, and
/// glibc's malloc page-faults large ones back in every time (`docs/performance.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    harness::main()
}
