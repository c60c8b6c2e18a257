//! GAE candidates x backends, printed as a table.
//!
//! `cargo bench --bench gae --features flex,wgpu` (drop features to skip backends).
//!
//! Candidates, all computing rl8's GAE over a `[B, T+1]` buffer (no normalization):
//! - `ops`: T sequential tensor ops (rl8's and most Python libraries' way; the test reference,
//!   `generalized_advantage_estimate_reference`);
//! - `host scan`: read back, one Rust loop, upload (what `generalized_advantage_estimate` does);
//! - `matmul`: one `[B, T] x [T, T]` product with the discount matrix `M[k, t] = (gamma
//!   lambda)^(k - t)` for `k >= t` (valid only without done flags).
//!
//! Times are medians of several runs after a warm-up, including the read-back of the result
//! (so asynchronous backends are measured to completion).

use std::time::{Duration, Instant};

use burn::tensor::{Tensor, TensorData, backend::Backend};
use rl::functional::{
    GaeOptions, generalized_advantage_estimate, generalized_advantage_estimate_reference,
};

const GAMMA: f32 = 0.99;
const LAMBDA: f32 = 0.95;

fn inputs<B: Backend>(b: usize, cols: usize, device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let mut state = 12345u32;
    let mut next = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    };
    let r: Vec<f32> = (0..b * cols).map(|_| next()).collect();
    let v: Vec<f32> = (0..b * cols).map(|_| next()).collect();
    (
        Tensor::from_data(TensorData::new(r, [b, cols]), device),
        Tensor::from_data(TensorData::new(v, [b, cols]), device),
    )
}

fn matmul_gae<B: Backend>(rewards: Tensor<B, 2>, values: Tensor<B, 2>) -> Tensor<B, 2> {
    let [b, cols] = rewards.dims();
    let t = cols - 1;
    let gl = GAMMA * LAMBDA;
    let mut m = vec![0.0f32; t * t];
    for k in 0..t {
        for j in 0..=k {
            m[k * t + j] = gl.powi((k - j) as i32);
        }
    }
    let device = rewards.device();
    let m = Tensor::<B, 2>::from_data(TensorData::new(m, [t, t]), &device);
    let r = rewards.slice([0..b, 0..t]);
    let v = values.clone().slice([0..b, 0..t]);
    let v_next = values.slice([0..b, 1..cols]);
    let delta = r + (v_next.mul_scalar(GAMMA) - v);
    delta.matmul(m)
}

fn time<F: FnMut()>(mut f: F) -> Duration {
    f();
    let mut samples: Vec<Duration> = (0..7)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn run<B: Backend>(name: &str, device: &B::Device, rows: &mut Vec<String>) {
    let options = GaeOptions {
        gamma: GAMMA,
        lambda: LAMBDA,
        normalize_advantages: false,
        reward_scale: 1.0,
    };
    for t in [32usize, 128] {
        let (r, v) = inputs::<B>(8192, t + 1, device);
        let ops = time(|| {
            let (a, _) =
                generalized_advantage_estimate_reference(r.clone(), v.clone(), GAMMA, LAMBDA)
                    .expect("valid shapes");
            let _ = a.into_data();
        });
        let scan = time(|| {
            let out = generalized_advantage_estimate(r.clone(), v.clone(), &options)
                .expect("valid shapes");
            let _ = out.advantages.into_data();
        });
        let matmul = time(|| {
            let _ = matmul_gae(r.clone(), v.clone()).into_data();
        });
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        rows.push(format!(
            "| {name:8} | {t:4} | {:9.2} | {:9.2} | {:9.2} | {:7.1}x | {:7.1}x |",
            ms(ops),
            ms(scan),
            ms(matmul),
            ms(ops) / ms(scan),
            ms(ops) / ms(matmul),
        ));
    }
}

fn main() {
    let mut rows = Vec::new();
    #[cfg(feature = "ndarray")]
    run::<burn::backend::NdArray>("ndarray", &Default::default(), &mut rows);
    #[cfg(feature = "flex")]
    run::<burn::backend::Flex>("flex", &Default::default(), &mut rows);
    #[cfg(feature = "wgpu")]
    run::<burn::backend::Wgpu>("wgpu", &Default::default(), &mut rows);
    println!(
        "GAE over [B = 8192, T + 1], median of 7 runs, ms (speed-up vs ops in the last columns)"
    );
    println!("| backend  |    T |  ops (ms) | scan (ms) | mm (ms)   | scan x   | mm x     |");
    println!("|----------|------|-----------|-----------|-----------|----------|----------|");
    for row in rows {
        println!("{row}");
    }
}
