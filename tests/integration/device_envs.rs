//! PPO on environments that live on the device ([`rl_core::Residence::Device`]): the engine
//! reads nothing back per environment step, the reads per collect and per update stay counted,
//! PPO learns the device cart-pole, and (with the `wgpu` feature) runs the same on wgpu as on
//! ndarray.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::AutodiffBackend;
use rl_algo::{AlgorithmConfig, DefaultModelConfig, Minibatch, PpoConfig, Reset};
use rl_envs::DeviceCartPoleV1;
use rl_functional::host::reads;

type B = Autodiff<NdArray>;

fn config(horizon: usize) -> AlgorithmConfig {
    AlgorithmConfig::new()
        .with_ppo(
            PpoConfig::new()
                .with_num_envs(16)
                .with_horizon(horizon)
                .with_minibatch(Minibatch::Transitions(16 * horizon / 4))
                .with_num_sgd_iters(4)
                .with_env_reset(Reset::Never)
                .with_seed(3),
        )
        .with_model(DefaultModelConfig::new().with_hiddens(vec![32, 32]))
}

/// Whatever the horizon, a collect on a device environment reads once (its end: the rewards,
/// flags and finiteness checks of every step with the values and log-probabilities), plus once
/// for the observation of a reset; an update reads once (its statistics), whatever the number
/// of minibatches. Counted over every crate's reads.
#[test]
fn ppo_on_a_device_env_reads_once_per_collect_and_once_per_update() {
    let device = Default::default();
    for horizon in [8, 64] {
        let env = DeviceCartPoleV1::<NdArray>::new(16, 0, &device).unwrap();
        let mut algo = config(horizon).init::<B, _>(env, &device).unwrap();
        let before = reads();
        algo.collect().unwrap();
        assert_eq!(
            reads() - before,
            2,
            "the reset and the end, horizon {horizon}"
        );
        for _ in 0..2 {
            let before = reads();
            let stats = algo.step().unwrap();
            assert_eq!(stats.optimizer_steps, 16);
            assert_eq!(reads() - before, 1, "one read per update");
            let before = reads();
            algo.collect().unwrap();
            assert_eq!(reads() - before, 1, "one read per collect");
        }
    }
}

/// PPO learns Gymnasium's cart-pole on the device: from the random policy's ~22 steps per
/// episode to a mean episode length above 150 within 40 updates.
#[test]
fn ppo_learns_the_device_cartpole() {
    let device = Default::default();
    let env = DeviceCartPoleV1::<NdArray>::new(16, 0, &device).unwrap();
    let config = config(128);
    let config = config
        .clone()
        .with_ppo(config.ppo.with_num_sgd_iters(10).with_learning_rate(1e-3));
    let mut algo = config.init::<B, _>(env, &device).unwrap();
    let first = algo.collect().unwrap().episode_length_mean.unwrap();
    assert!(first < 40.0, "random policy: {first}");
    let mut best = 0.0f64;
    for _ in 0..40 {
        algo.step().unwrap();
        let length = algo.collect().unwrap().episode_length_mean.unwrap_or(0.0);
        best = best.max(length);
        if best > 150.0 {
            break;
        }
    }
    assert!(best > 150.0, "mean episode length {best}");
}

/// Three collects and updates of PPO on the device cart-pole.
fn three_updates<A: AutodiffBackend>(device: &A::Device) -> Vec<f64> {
    let env = DeviceCartPoleV1::<A::InnerBackend>::new(16, 0, device).unwrap();
    let mut algo = config(32).init::<A, _>(env, device).unwrap();
    let mut out = Vec::new();
    for _ in 0..3 {
        let c = algo.collect().unwrap();
        out.extend([c.rewards.mean, c.episodes.len() as f64]);
        let s = algo.step().unwrap();
        out.extend([s.policy_loss, s.vf_loss, s.entropy_loss, s.kl_div]);
    }
    out
}

/// The device environment and the read-free loop give ndarray's numbers on wgpu (Mesa's
/// software Vulkan in CI): the same episodes and the losses to float tolerance.
#[cfg(feature = "wgpu")]
#[test]
fn ppo_on_the_device_cartpole_gives_the_same_numbers_on_wgpu_and_ndarray() {
    let cpu = three_updates::<B>(&Default::default());
    let gpu = three_updates::<Autodiff<burn::backend::Wgpu>>(&Default::default());
    for (i, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
        assert!(
            (c - g).abs() <= 1e-3 * c.abs() + 1e-5,
            "value {i}: ndarray {c}, wgpu {g} (all: {cpu:?} vs {gpu:?})"
        );
    }
}

/// Without wgpu, the same run twice gives the same numbers (the comparison above is not
/// vacuous: the run is deterministic).
#[test]
fn ppo_on_the_device_cartpole_is_deterministic() {
    let device = Default::default();
    assert_eq!(three_updates::<B>(&device), three_updates::<B>(&device));
}

/// On wgpu, `rl_functional::gae` runs as one device kernel: it reads nothing back, follows the
/// strides of transposed (time-major) inputs, and gives the host scan's numbers (the oracle
/// checks it against torchrl's cases too).
#[cfg(feature = "wgpu")]
#[test]
fn gae_runs_on_the_wgpu_device_and_equals_the_host_scan() {
    use burn::backend::Wgpu;
    use burn::tensor::backend::Backend;
    use burn::tensor::{Tensor, TensorData};
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    use rl_functional::{Trajectories, gae, has_device_gae};

    assert!(has_device_gae::<Wgpu>());
    assert!(!has_device_gae::<NdArray>());
    // 70 rows: more than one cube of 64 threads.
    let (n, t) = (70, 13);
    let mut rng = StdRng::seed_from_u64(5);
    let mut f = |scale: f32| -> Vec<f32> {
        (0..n * t)
            .map(|_| (rng.random::<f32>() - 0.5) * scale)
            .collect()
    };
    let (rewards, values, next) = (f(4.0), f(6.0), f(6.0));
    let flags = f(1.0);
    let terminated: Vec<bool> = flags.iter().map(|&x| x < -0.35).collect();
    let done: Vec<bool> = flags.iter().map(|&x| !(-0.35..=0.3).contains(&x)).collect();
    // Time-major `[T, N]` data, given to `gae` as transposed `[N, T]` views.
    fn build<X: Backend>(
        d: &X::Device,
        [r, v, nx]: [&[f32]; 3],
        [dn, tm]: [&[bool]; 2],
        [n, t]: [usize; 2],
    ) -> Trajectories<X> {
        let float = |x: &[f32]| {
            Tensor::<X, 2>::from_data(TensorData::new(x.to_vec(), [t, n]), d).transpose()
        };
        let flag = |x: &[bool]| {
            Tensor::<X, 2, burn::tensor::Bool>::from_data(TensorData::new(x.to_vec(), [t, n]), d)
                .transpose()
        };
        Trajectories {
            rewards: float(r),
            values: float(v),
            next_values: float(nx),
            done: flag(dn),
            terminated: flag(tm),
        }
    }
    let inputs = ([&rewards[..], &values, &next], [&done[..], &terminated]);
    let cpu = gae(
        &build::<NdArray>(&Default::default(), inputs.0, inputs.1, [n, t]),
        0.95,
        0.9,
    )
    .unwrap();
    let device = Default::default();
    let gpu_inputs = build::<Wgpu>(&device, inputs.0, inputs.1, [n, t]);
    let before = reads();
    let gpu = gae(&gpu_inputs, 0.95, 0.9).unwrap();
    assert_eq!(reads(), before, "the device scan reads nothing back");
    fn read<X: Backend>(x: Tensor<X, 2>) -> Vec<f32> {
        x.into_data().to_vec().unwrap()
    }
    for (name, c, g) in [
        ("advantage", read(cpu.advantages), read(gpu.advantages)),
        ("target", read(cpu.value_targets), read(gpu.value_targets)),
    ] {
        for (i, (c, g)) in c.iter().zip(&g).enumerate() {
            assert!(
                (c - g).abs() <= 1e-5 * c.abs() + 1e-5,
                "{name} {i} (env {}, step {}): host {c}, wgpu {g}",
                i / t,
                i % t
            );
        }
    }
}
