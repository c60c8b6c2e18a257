//! Properties of rl-functional that hold whatever the reference implementations say: limits
//! (lambda = 0 or 1), agreement between estimators, masks, shapes and error handling. The
//! golden values from the Python references are checked by the repository's `oracle` example.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rand::{Rng, RngExt, SeedableRng, rngs::StdRng};
use rl_functional::*;

type B = NdArray;

fn dev() -> burn::backend::ndarray::NdArrayDevice {
    Default::default()
}

fn random(rng: &mut StdRng, shape: [usize; 2]) -> Tensor<B, 2> {
    let n = shape[0] * shape[1];
    let v: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 4.0 - 2.0).collect();
    Tensor::from_data(TensorData::new(v, shape), &dev())
}

fn random_bool(rng: &mut StdRng, shape: [usize; 2], p: f64) -> Vec<bool> {
    (0..shape[0] * shape[1])
        .map(|_| rng.random::<f64>() < p)
        .collect()
}

fn bools(v: Vec<bool>, shape: [usize; 2]) -> Tensor<B, 2, Bool> {
    Tensor::from_data(TensorData::new(v, shape), &dev())
}

fn host<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().to_vec().unwrap()
}

fn assert_close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "element {i}: {x} vs {y}"
        );
    }
}

fn no_norm(gamma: f32, lambda: f32) -> GaeOptions {
    GaeOptions {
        gamma,
        lambda,
        normalize_advantages: false,
        reward_scale: 1.0,
    }
}

#[test]
fn rl8_gae_scan_matches_the_op_by_op_reference() {
    let mut rng = StdRng::seed_from_u64(0);
    for (gamma, lambda) in [
        (0.95, 0.95),
        (0.99, 0.9),
        (1.0, 1.0),
        (0.9, 0.0),
        (0.0, 0.5),
    ] {
        let r = random(&mut rng, [5, 13]);
        let v = random(&mut rng, [5, 13]);
        let fast =
            generalized_advantage_estimate(r.clone(), v.clone(), &no_norm(gamma, lambda)).unwrap();
        let (adv, ret) = generalized_advantage_estimate_reference(r, v, gamma, lambda).unwrap();
        assert_close(&host(fast.advantages), &host(adv), 1e-5);
        assert_close(&host(fast.returns), &host(ret), 1e-5);
    }
}

#[test]
fn rl8_gae_limits_lambda_zero_and_one() {
    let mut rng = StdRng::seed_from_u64(1);
    let (b, c) = (3, 6);
    let r = random(&mut rng, [b, c]);
    let v = random(&mut rng, [b, c]);
    let (rh, vh) = (host(r.clone()), host(v.clone()));
    // lambda = 0: A_t is the one-step TD error.
    let a0 = host(
        generalized_advantage_estimate(r.clone(), v.clone(), &no_norm(0.9, 0.0))
            .unwrap()
            .advantages,
    );
    // gamma = lambda = 1: A_t = sum_{k >= t} r_k + V_T - V_t.
    let a1 = host(
        generalized_advantage_estimate(r, v, &no_norm(1.0, 1.0))
            .unwrap()
            .advantages,
    );
    for row in 0..b {
        assert_eq!(a0[row * c + c - 1], 0.0);
        assert_eq!(a1[row * c + c - 1], 0.0);
        for t in 0..c - 1 {
            let i = row * c + t;
            let td = rh[i] + 0.9 * vh[i + 1] - vh[i];
            assert!((a0[i] - td).abs() < 1e-5);
            let mc: f32 =
                (t..c - 1).map(|k| rh[row * c + k]).sum::<f32>() + vh[row * c + c - 1] - vh[i];
            assert!((a1[i] - mc).abs() < 1e-4, "{} vs {mc}", a1[i]);
        }
    }
}

#[test]
fn rl8_gae_normalization_standardizes_all_but_the_bootstrap_column() {
    let mut rng = StdRng::seed_from_u64(2);
    let (b, c) = (4, 9);
    let out = generalized_advantage_estimate(
        random(&mut rng, [b, c]),
        random(&mut rng, [b, c]),
        &GaeOptions::default(),
    )
    .unwrap();
    let a = host(out.advantages);
    let body: Vec<f64> = (0..b)
        .flat_map(|r| a[r * c..r * c + c - 1].to_vec())
        .map(f64::from)
        .collect();
    let mean = body.iter().sum::<f64>() / body.len() as f64;
    let var = body.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (body.len() - 1) as f64;
    assert!(mean.abs() < 1e-6 && (var.sqrt() - 1.0).abs() < 1e-5);
    assert!((0..b).all(|r| a[r * c + c - 1] == 0.0));
}

#[test]
fn rl8_gae_reward_scale_divides_rewards_only() {
    let d = dev();
    let r = Tensor::<B, 2>::from_floats([[2.0, 0.0]], &d);
    let v = Tensor::<B, 2>::from_floats([[1.0, 3.0]], &d);
    let options = GaeOptions {
        reward_scale: 4.0,
        ..no_norm(0.5, 1.0)
    };
    let out = generalized_advantage_estimate(r, v, &options).unwrap();
    // delta = 2 / 4 + 0.5 * 3 - 1 = 1.
    assert_close(&host(out.advantages), &[1.0, 0.0], 1e-6);
    assert_close(&host(out.returns), &[2.0, 3.0], 1e-6);
}

#[test]
fn rl8_gae_rejects_bad_shapes_and_options() {
    let d = dev();
    let r = Tensor::<B, 2>::zeros([2, 3], &d);
    assert!(matches!(
        generalized_advantage_estimate(
            r.clone(),
            Tensor::zeros([2, 4], &d),
            &GaeOptions::default()
        ),
        Err(Error::Shape {
            argument: "values",
            ..
        })
    ));
    assert!(
        generalized_advantage_estimate(
            Tensor::<B, 2>::zeros([2, 1], &d),
            Tensor::zeros([2, 1], &d),
            &GaeOptions::default()
        )
        .is_err()
    );
    let bad = GaeOptions {
        gamma: 1.5,
        ..Default::default()
    };
    assert!(matches!(
        generalized_advantage_estimate(r.clone(), r, &bad),
        Err(Error::InvalidArgument {
            argument: "gamma",
            ..
        })
    ));
}

/// A batch with consistent next values: `next_values[t] = values[t + 1]` inside a trajectory.
fn consistent(
    rng: &mut StdRng,
    n: usize,
    t: usize,
    done: Vec<bool>,
    terminated: Vec<bool>,
) -> Trajectories<B> {
    let values = random(rng, [n, t]);
    let boot = random(rng, [n, 1]);
    let vh = host(values.clone());
    let bh = host(boot);
    let mut next = vec![0.0; n * t];
    for row in 0..n {
        for k in 0..t {
            // After a done the next value is the (independent) value of the final observation.
            next[row * t + k] = if k + 1 == t || done[row * t + k] {
                bh[row] + k as f32
            } else {
                vh[row * t + k + 1]
            };
        }
    }
    Trajectories {
        rewards: random(rng, [n, t]),
        values,
        next_values: Tensor::from_data(TensorData::new(next, [n, t]), &dev()),
        done: bools(done, [n, t]),
        terminated: bools(terminated, [n, t]),
    }
}

#[test]
fn episodic_gae_without_dones_equals_rl8_gae() {
    let mut rng = StdRng::seed_from_u64(3);
    let (n, t) = (3, 7);
    let traj = consistent(&mut rng, n, t, vec![false; n * t], vec![false; n * t]);
    let est = gae(&traj, 0.97, 0.9).unwrap();
    // rl8 layout: [N, T+1] with the bootstrap value in column T.
    let v = Tensor::cat(
        vec![
            traj.values.clone(),
            traj.next_values.clone().slice([0..n, t - 1..t]),
        ],
        1,
    );
    let r = Tensor::cat(vec![traj.rewards.clone(), Tensor::zeros([n, 1], &dev())], 1);
    let rl8 = generalized_advantage_estimate(r, v, &no_norm(0.97, 0.9)).unwrap();
    let rl8_adv = host(rl8.advantages.slice([0..n, 0..t]));
    assert_close(&host(est.advantages), &rl8_adv, 1e-5);
}

#[test]
fn episodic_gae_bootstraps_truncation_but_not_termination() {
    let d = dev();
    let traj = |terminated: bool| Trajectories::<B> {
        rewards: Tensor::from_floats([[1.0, 1.0]], &d),
        values: Tensor::from_floats([[0.5, 0.5]], &d),
        next_values: Tensor::from_floats([[0.5, 7.0]], &d),
        done: Tensor::from_data([[true, false]], &d),
        terminated: Tensor::from_data([[terminated, false]], &d),
    };
    let truncated = host(gae(&traj(false), 0.9, 0.8).unwrap().advantages);
    let terminated = host(gae(&traj(true), 0.9, 0.8).unwrap().advantages);
    // The trace is cut at the done step either way; only the bootstrap differs.
    assert_close(&[truncated[0]], &[1.0 + 0.9 * 0.5 - 0.5], 1e-6);
    assert_close(&[terminated[0]], &[1.0 - 0.5], 1e-6);
    assert_eq!(truncated[1], terminated[1]);
}

#[test]
fn td_lambda_equals_gae_targets_and_td0_at_the_limits() {
    let mut rng = StdRng::seed_from_u64(4);
    let (n, t) = (4, 9);
    let done = random_bool(&mut rng, [n, t], 0.2);
    let terminated: Vec<bool> = done.iter().map(|&d| d && rng.random::<bool>()).collect();
    let traj = consistent(&mut rng, n, t, done, terminated);
    for lambda in [0.0, 0.5, 0.95, 1.0] {
        let targets = host(gae(&traj, 0.9, lambda).unwrap().value_targets);
        let returns =
            host(td_lambda_return_estimate(&traj, Discount::Constant(0.9), lambda).unwrap());
        assert_close(&returns, &targets, 1e-5);
    }
    let td0 = host(td0_return_estimate(&traj, 0.9).unwrap());
    let tdl0 = host(td_lambda_return_estimate(&traj, Discount::Constant(0.9), 0.0).unwrap());
    assert_close(&td0, &tdl0, 1e-6);
}

#[test]
fn vtrace_on_policy_reduces_to_the_lambda_one_return() {
    let mut rng = StdRng::seed_from_u64(5);
    let (n, t) = (3, 8);
    let done = random_bool(&mut rng, [n, t], 0.2);
    let traj = consistent(&mut rng, n, t, done.clone(), done);
    let logp = random(&mut rng, [n, t]);
    let est = vtrace_advantage_estimate(&traj, logp.clone(), logp, 0.9, 1.0, 1.0).unwrap();
    let ret = host(td_lambda_return_estimate(&traj, Discount::Constant(0.9), 1.0).unwrap());
    assert_close(&host(est.vs), &ret, 1e-5);
}

#[test]
fn vtrace_from_logits_on_policy_gives_discounted_returns() {
    let mut rng = StdRng::seed_from_u64(6);
    let (n, t, a) = (2, 5, 3);
    let logits = Tensor::<B, 3>::from_data(
        TensorData::new(
            (0..n * t * a)
                .map(|_| rng.random::<f32>())
                .collect::<Vec<_>>(),
            [n, t, a],
        ),
        &dev(),
    );
    let actions: Vec<i64> = (0..n * t).map(|_| rng.random_range(0..a as i64)).collect();
    let rewards = random(&mut rng, [n, t]);
    let out = vtrace_from_logits(VTraceInput {
        behaviour_logits: logits.clone(),
        target_logits: logits,
        actions: Tensor::<B, 2, Int>::from_data(TensorData::new(actions, [n, t]), &dev()),
        discounts: Tensor::full([n, t], 0.8, &dev()),
        rewards: rewards.clone(),
        values: random(&mut rng, [n, t]),
        bootstrap_value: Tensor::from_floats([1.0, -1.0], &dev()),
        clip_rho_threshold: Some(1.0),
        clip_pg_rho_threshold: Some(1.0),
    })
    .unwrap();
    assert!(host(out.log_rhos).iter().all(|x| x.abs() < 1e-6));
    let (r, vs) = (host(rewards), host(out.vs));
    for (row, boot) in [(0usize, 1.0f32), (1, -1.0)] {
        let mut g = boot;
        for k in (0..t).rev() {
            g = r[row * t + k] + 0.8 * g;
            assert!((vs[row * t + k] - g).abs() < 1e-5);
        }
    }
}

#[test]
fn estimators_reject_mismatched_shapes_and_bad_actions() {
    let d = dev();
    let mut traj = consistent(
        &mut StdRng::seed_from_u64(7),
        2,
        3,
        vec![false; 6],
        vec![false; 6],
    );
    traj.values = Tensor::zeros([2, 4], &d);
    assert!(matches!(
        gae(&traj, 0.9, 0.9),
        Err(Error::Shape {
            argument: "values",
            ..
        })
    ));
    let logits = Tensor::<B, 3>::zeros([1, 1, 2], &d);
    let bad = Tensor::<B, 2, Int>::from_ints([[2]], &d);
    assert!(matches!(
        policy_gradient_loss(logits, bad, Tensor::zeros([1, 1], &d)),
        Err(Error::InvalidArgument {
            argument: "actions",
            ..
        })
    ));
}

#[test]
fn masked_log_softmax_masks_and_handles_fully_masked_rows() {
    let d = dev();
    let x = Tensor::<B, 2>::from_floats([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], &d);
    let mask = Tensor::<B, 2>::from_floats([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]], &d);
    let y = host(masked_log_softmax(x, Some(mask), 1).unwrap());
    let z = (1f32.exp() + 3f32.exp()).ln();
    assert_close(&[y[0], y[2]], &[1.0 - z, 3.0 - z], 1e-6);
    assert!(y[1] < -1e38 && y[1].is_finite());
    assert_close(&y[3..], &[-(3f32.ln()); 3], 1e-6);
}

#[test]
fn masked_sampling_follows_the_masked_probabilities() {
    let d = dev();
    let k = 20_000;
    let x = Tensor::<B, 2>::from_floats([[0.0, 1.0, 2.0, 0.5]], &d).repeat_dim(0, k);
    let mask = Tensor::<B, 2>::from_floats([[1.0, 0.0, 1.0, 1.0]], &d).repeat_dim(0, k);
    let (_, idx) =
        masked_categorical_sample(x, Some(mask), 1, &mut StdRng::seed_from_u64(8)).unwrap();
    let idx: Vec<i64> = idx.into_data().convert::<i64>().to_vec().unwrap();
    let mut counts = [0usize; 4];
    idx.iter().for_each(|&i| counts[i as usize] += 1);
    assert_eq!(counts[1], 0);
    let z = 1.0 + 2f64.exp() + 0.5f64.exp();
    for (c, p) in [(0, 1.0 / z), (2, 2f64.exp() / z), (3, 0.5f64.exp() / z)] {
        let freq = counts[c] as f64 / k as f64;
        assert!(
            (freq - p).abs() < 5.0 * (p * (1.0 - p) / k as f64).sqrt(),
            "{c}: {freq} vs {p}"
        );
    }
}

#[test]
fn masked_avg_and_max_with_broadcast_masks() {
    let d = dev();
    let x = Tensor::<B, 3>::from_floats([[[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]]], &d);
    let mask = Tensor::<B, 2>::from_floats([[1.0, 0.0, 1.0]], &d);
    let avg = host(masked_avg(x.clone(), Some(mask.clone()), 1).unwrap());
    assert_eq!(avg, vec![3.0, 30.0]);
    let (v, i) = masked_max(x, Some(mask), 1).unwrap();
    assert_eq!(host(v), vec![5.0, 50.0]);
    assert_eq!(
        i.into_data().convert::<i64>().to_vec::<i64>().unwrap(),
        vec![2, 2]
    );
    let wrong = Tensor::<B, 2>::ones([1, 4], &d);
    assert!(masked_avg(Tensor::<B, 2>::zeros([1, 3], &d), Some(wrong), 1).is_err());
}

#[test]
fn ppo_surrogate_dual_clip_and_value_clamp() {
    let d = dev();
    let t = |v: &[f32]| Tensor::<B, 1>::from_floats(v, &d);
    // Ratio e^2 ~ 7.39 with negative advantage: the clipped objective is -7.39; the dual clip
    // at c = 3 floors it at -3.
    let batch = |dual| {
        let losses = ppo_losses(
            PpoBatch {
                logp: t(&[2.0]),
                logp_old: t(&[0.0]),
                advantages: t(&[-1.0]),
                returns: t(&[0.0]),
                values: t(&[0.0]),
                old_values: None,
                entropy: None,
            },
            &PpoLossConfig {
                dual_clip_param: dual,
                ..Default::default()
            },
        )
        .unwrap();
        losses.policy.into_scalar()
    };
    assert!((batch(None) + 2f32.exp()).abs() < 1e-5);
    assert!((batch(Some(3.0)) + 3.0).abs() < 1e-6);

    // The clamped value loss gives no gradient to samples beyond the clamp.
    type AD = Autodiff<NdArray>;
    let values = Tensor::<AD, 1>::from_floats([0.0, 0.0], &d).require_grad();
    let returns = Tensor::<AD, 1>::from_floats([0.5, 10.0], &d);
    let zeros = Tensor::<AD, 1>::zeros([2], &d);
    let losses = ppo_losses(
        PpoBatch {
            logp: zeros.clone(),
            logp_old: zeros.clone(),
            advantages: zeros,
            returns,
            values: values.clone(),
            old_values: None,
            entropy: None,
        },
        &PpoLossConfig::default(),
    )
    .unwrap();
    let grads = losses.total.backward();
    let g: Vec<f32> = values.grad(&grads).unwrap().into_data().to_vec().unwrap();
    assert_close(&g, &[-0.25, 0.0], 1e-6);
}

#[test]
fn ppo_losses_requires_what_the_config_uses() {
    let d = dev();
    let z = Tensor::<B, 1>::zeros([2], &d);
    let batch = PpoBatch {
        logp: z.clone(),
        logp_old: z.clone(),
        advantages: z.clone(),
        returns: z.clone(),
        values: z.clone(),
        old_values: None,
        entropy: None,
    };
    let entropy = PpoLossConfig {
        entropy_coeff: 0.01,
        ..Default::default()
    };
    assert!(matches!(
        ppo_losses(batch.clone(), &entropy),
        Err(Error::InvalidArgument {
            argument: "entropy",
            ..
        })
    ));
    let clip = PpoLossConfig {
        value_clip: Some(0.2),
        ..Default::default()
    };
    assert!(matches!(
        ppo_losses(batch.clone(), &clip),
        Err(Error::InvalidArgument {
            argument: "old_values",
            ..
        })
    ));
    let bad = PpoLossConfig {
        clip_param: 1.0,
        ..Default::default()
    };
    assert!(matches!(
        ppo_losses(batch, &bad),
        Err(Error::InvalidArgument {
            argument: "clip_param",
            ..
        })
    ));
}

#[test]
fn global_grad_norm_clipping_scales_every_parameter_by_one_factor() {
    use burn::module::Module;
    use burn::nn::LinearConfig;
    use burn::optim::GradientsParams;
    type AD = Autodiff<NdArray>;
    let d = dev();
    let linear = LinearConfig::new(3, 2).init::<AD>(&d);
    let x = Tensor::<AD, 2>::from_floats([[10.0, -20.0, 30.0]], &d);
    let loss = linear.forward(x).sum();
    let grads = GradientsParams::from_grads(loss.backward(), &linear);
    let weight = linear.weight.id;
    let bias = linear.bias.as_ref().unwrap().id;
    let g_w = host(grads.get::<NdArray, 2>(weight).unwrap());
    let g_b = host(grads.get::<NdArray, 1>(bias).unwrap());
    let norm: f32 = g_w.iter().chain(&g_b).map(|g| g * g).sum::<f32>().sqrt();

    let (clipped, reported) = clip_grad_norm(&linear, grads, 1.0);
    assert!((reported.into_scalar() - norm).abs() < 1e-3);
    let c_w = host(clipped.get::<NdArray, 2>(weight).unwrap());
    let c_b = host(clipped.get::<NdArray, 1>(bias).unwrap());
    let new_norm: f32 = c_w.iter().chain(&c_b).map(|g| g * g).sum::<f32>().sqrt();
    assert!((new_norm - 1.0).abs() < 1e-4, "{new_norm}");
    // One factor for all parameters (not per tensor): the ratios are preserved.
    assert!((c_w[0] / c_b[0] - g_w[0] / g_b[0]).abs() < 1e-3);
    assert_eq!(linear.num_params(), 8);

    // Below the threshold nothing changes.
    let grads = GradientsParams::from_grads(
        linear
            .forward(Tensor::<AD, 2>::zeros([1, 3], &d))
            .sum()
            .backward(),
        &linear,
    );
    let (unclipped, _) = clip_grad_norm(&linear, grads, 100.0);
    assert_close(
        &host(unclipped.get::<NdArray, 1>(bias).unwrap()),
        &[1.0, 1.0],
        1e-6,
    );
}

#[test]
fn mask_conversions_follow_rl8() {
    let d = dev();
    let lengths = Tensor::<B, 1, Int>::from_ints([-1, 0, 2, 9], &d);
    let m: Vec<bool> = mask_from_lengths(lengths, 3).into_data().to_vec().unwrap();
    assert_eq!(
        m,
        vec![
            false, false, false, false, false, false, true, true, false, true, true, true
        ]
    );
    let f = Tensor::<B, 1>::from_floats([0.0, 1.0, 2.0], &d);
    assert_eq!(
        host(binary_mask_to_float_mask(f)),
        vec![f32::NEG_INFINITY, 0.0, 2.0]
    );
    let b = Tensor::<B, 1>::from_floats([f32::NEG_INFINITY, f32::NAN, -1.0], &d);
    let b: Vec<bool> = float_mask_to_binary_mask(b).into_data().to_vec().unwrap();
    assert_eq!(b, vec![false, true, true]);
    let _unused: fn(&mut StdRng) -> u32 = |r| r.next_u32();
}
