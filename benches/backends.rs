//! CPU (and wgpu) backends on a PPO-sized update, printed as a table.
//!
//! `cargo bench --bench backends --features flex,wgpu` (drop features to skip backends).
//!
//! The workload is one PPO minibatch update of an actor-critic with two separate MLPs
//! (rl8's default model shape): `obs 4 -> h -> h -> 3 logits` and `obs 4 -> h -> h -> 1`,
//! batch 4096: forward, a scalar loss, backward, one Adam step. Also timed: the forward pass
//! alone on the inner (non-autodiff) backend, as used when collecting, and one large matrix
//! product (shared with `benches/ppo.rs`), to put the update's achieved GFLOP/s beside what the
//! backend reaches at best.

mod common;

use burn::module::{AutodiffModule, Module};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Tensor};

const BATCH: usize = 4096;
const OBS: usize = 4;

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    l1: Linear<B>,
    l2: Linear<B>,
    out: Linear<B>,
    act: Relu,
}

impl<B: Backend> Mlp<B> {
    fn new(hidden: usize, out: usize, device: &B::Device) -> Self {
        Self {
            l1: LinearConfig::new(OBS, hidden).init(device),
            l2: LinearConfig::new(hidden, hidden).init(device),
            out: LinearConfig::new(hidden, out).init(device),
            act: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let x = self.act.forward(self.l1.forward(x));
        let x = self.act.forward(self.l2.forward(x));
        self.out.forward(x)
    }
}

#[derive(Module, Debug)]
struct ActorCritic<B: Backend> {
    policy: Mlp<B>,
    value: Mlp<B>,
}

/// Multiply-adds of one forward pass of both networks, per sample, times 2 (FLOP).
fn forward_flop(hidden: usize) -> f64 {
    let mlp = |out: usize| OBS * hidden + hidden * hidden + hidden * out;
    2.0 * (mlp(3) + mlp(1)) as f64
}

fn run<B: AutodiffBackend>(name: &str, device: &B::Device, rows: &mut Vec<String>) {
    for hidden in [64usize, 256] {
        let mut model = ActorCritic::<B> {
            policy: Mlp::new(hidden, 3, device),
            value: Mlp::new(hidden, 1, device),
        };
        let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
        let x = Tensor::<B, 2>::random([BATCH, OBS], Distribution::Default, device);
        let update = common::median_time(9, || {
            let logits = model.policy.forward(x.clone());
            let values = model.value.forward(x.clone());
            let loss = logits.powi_scalar(2).mean() + values.powi_scalar(2).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-4, model.clone(), grads);
            // Read one parameter back so asynchronous backends finish the step.
            let _ = model.value.out.weight.val().inner().into_data();
        });
        let inner = model.valid();
        let xi = x.clone().inner();
        let forward = common::median_time(9, || {
            let _ = inner.policy.forward(xi.clone()).into_data();
        });
        // Update = forward + backward (about 2x forward) = 3x forward FLOP, plus Adam.
        let update_gflops = 3.0 * forward_flop(hidden) * BATCH as f64 / update.as_secs_f64() / 1e9;
        rows.push(format!(
            "| {name:8} | {hidden:3}x{hidden:<3} | {:10.2} | {:10.2} | {:9.1} |",
            update.as_secs_f64() * 1e3,
            forward.as_secs_f64() * 1e3,
            update_gflops
        ));
    }
    let mm = common::matmul_speed::<B::InnerBackend>(device);
    rows.push(format!(
        "| {name:8} | matmul 1024^2 | {:10.2} |            | {:9.1} |",
        mm.ms, mm.gflops
    ));
}

fn main() {
    let mut rows = Vec::new();
    #[cfg(feature = "ndarray")]
    run::<burn::backend::Autodiff<burn::backend::NdArray>>(
        "ndarray",
        &Default::default(),
        &mut rows,
    );
    #[cfg(feature = "flex")]
    run::<burn::backend::Autodiff<burn::backend::Flex>>("flex", &Default::default(), &mut rows);
    #[cfg(feature = "wgpu")]
    run::<burn::backend::Autodiff<burn::backend::Wgpu>>("wgpu", &Default::default(), &mut rows);
    println!("PPO-sized update, batch {BATCH}: actor-critic MLPs (median of 9 runs)");
    println!("| backend  | hidden        | update ms  | act fwd ms | GFLOP/s   |");
    println!("|----------|---------------|------------|------------|-----------|");
    for row in rows {
        println!("{row}");
    }
}
