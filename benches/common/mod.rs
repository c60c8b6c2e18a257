//! What the benchmarks share: a median timer and the backend's matrix-product speed, the
//! ceiling that a model's achieved GFLOP/s is compared with.

/// The global allocator of the benchmarks: mimalloc. Burn's CPU backends allocate and free a fresh
/// buffer for nearly every op; glibc's malloc returns large buffers to the kernel on free and
/// page-faults them back in on the next allocation, which doubled the PPO update time here
/// (`docs/performance.md`). A caching allocator is the binary's choice, so the library does not
/// set one; these binaries do.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};

/// The median wall time of `runs` calls of `f`, after two warm-up calls.
pub fn median_time<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    f();
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// The side of the square matrices multiplied by [`matmul_speed`].
pub const MATMUL_N: usize = 1024;

/// One timed `[N, N] x [N, N]` f32 matrix product.
#[derive(Clone, Copy, Debug)]
pub struct MatmulSpeed {
    /// Median milliseconds per product, reading the result back included.
    pub ms: f64,
    /// Achieved GFLOP/s: `2 N^3` FLOP per product.
    pub gflops: f64,
}

/// The median time of one [`MATMUL_N`]-square f32 matrix product on `B` (5 runs), with the
/// result read back so that asynchronous backends finish the work.
pub fn matmul_speed<B: Backend>(device: &B::Device) -> MatmulSpeed {
    let n = MATMUL_N;
    let a = Tensor::<B, 2>::random([n, n], Distribution::Default, device);
    let b = Tensor::<B, 2>::random([n, n], Distribution::Default, device);
    let time = median_time(5, || {
        let _ = a.clone().matmul(b.clone()).into_data();
    });
    let seconds = time.as_secs_f64();
    MatmulSpeed {
        ms: seconds * 1e3,
        gflops: 2.0 * (n * n * n) as f64 / seconds / 1e9,
    }
}
