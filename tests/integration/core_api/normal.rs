//! rl-core: `distribution/normal.rs`, from outside the crate.

#![allow(unused_imports)]
use burn::backend::NdArray;
use burn::tensor::{Tensor, backend::Backend};
use rand::Rng;
use rand::{SeedableRng, rngs::StdRng};
use rl_core::Distribution;
use rl_core::*;

/// 0.5 * ln(2 pi), as rl-core writes it.
const HALF_LN_2PI: f32 = 0.918_938_5;
use rl_core::{Action, CoreError};
use rl_functional::normal_noise;

type B = NdArray;

fn host(t: Tensor<B, 2>) -> Vec<f32> {
    t.into_data().to_vec().unwrap()
}

#[test]
fn normal_sample_statistics_match_parameters() {
    let d = Default::default();
    let n = 20_000;
    let mean = Tensor::<B, 2>::full([n, 1], 1.5, &d);
    let log_std = Tensor::<B, 2>::full([n, 1], 0.5f32.ln(), &d);
    let dist = Normal::new(mean, log_std).unwrap();
    let x = dist
        .sample(&mut StdRng::seed_from_u64(1))
        .to_host_continuous()
        .unwrap();
    let m = x.iter().sum::<f32>() / n as f32;
    let v = x.iter().map(|a| (a - m).powi(2)).sum::<f32>() / (n - 1) as f32;
    assert!((m - 1.5).abs() < 0.02, "mean {m}");
    assert!((v.sqrt() - 0.5).abs() < 0.02, "std {}", v.sqrt());
}

#[test]
fn normal_entropy_is_half_log_2pi_e_sigma_sq() {
    let d = Default::default();
    let dist = Normal::new(
        Tensor::<B, 2>::zeros([1, 3], &d),
        Tensor::<B, 2>::full([1, 3], 0.3, &d),
    )
    .unwrap();
    let h = host(dist.entropy())[0];
    let want = 3.0 * (0.5 * (2.0 * std::f32::consts::PI * std::f32::consts::E).ln() + 0.3);
    assert!((h - want).abs() < 1e-5, "{h} vs {want}");
}

#[test]
fn squashed_samples_stay_in_open_interval_and_mode_is_tanh_mean() {
    let d = Default::default();
    let mean = Tensor::<B, 2>::from_floats([[3.0, -0.5]], &d).repeat_dim(0, 1000);
    let dist = SquashedNormal::new(mean, Tensor::<B, 2>::full([1000, 2], 1.0, &d)).unwrap();
    let y = dist
        .sample(&mut StdRng::seed_from_u64(2))
        .to_host_continuous()
        .unwrap();
    assert!(y.iter().all(|v| *v > -1.0 && *v < 1.0 || v.abs() == 1.0));
    let mode = dist.mode().to_host_continuous().unwrap();
    assert!((mode[0] - 3f32.tanh()).abs() < 1e-6 && (mode[1] + 0.5f32.tanh()).abs() < 1e-6);
}

#[test]
fn squashed_entropy_matches_monte_carlo() {
    let d = Default::default();
    for (mu, log_std) in [(0.0f32, 0.0f32), (1.5, -1.0), (-0.7, 1.0), (2.5, 0.5)] {
        let dist = SquashedNormal::new(
            Tensor::<B, 2>::full([1, 1], mu, &d),
            Tensor::<B, 2>::full([1, 1], log_std, &d),
        )
        .unwrap();
        let estimate = host(dist.entropy())[0];
        // Monte-Carlo: H = -E[log p(y)] with y sampled from the distribution.
        let n = 200_000;
        let pre_squash = Normal::new(
            Tensor::<B, 2>::full([n, 1], mu, &d),
            Tensor::<B, 2>::full([n, 1], log_std, &d),
        )
        .unwrap();
        let u = pre_squash
            .sample(&mut StdRng::seed_from_u64(3))
            .to_host_continuous()
            .unwrap();
        // Exact log-density of y = tanh(u), in f64 on the host: log N(u) - ln(1 - tanh(u)^2),
        // with ln(1 - tanh(u)^2) = 2 (ln 2 - |u| - ln(1 + e^(-2|u|))).
        let (mu, sigma) = (f64::from(mu), f64::from(log_std).exp());
        let log_density = |u: f64| {
            let z = (u - mu) / sigma;
            let log_normal = -0.5 * z * z - sigma.ln() - 0.5 * std::f64::consts::TAU.ln();
            let a = u.abs();
            log_normal - 2.0 * (std::f64::consts::LN_2 - a - (-2.0 * a).exp().ln_1p())
        };
        let mc = -u.iter().map(|&u| log_density(f64::from(u))).sum::<f64>() / n as f64;
        assert!(
            (estimate as f64 - mc).abs() < 2e-2,
            "mu {mu} log_std {log_std}: {estimate} vs MC {mc}"
        );
    }
}

#[test]
fn squashed_log_prob_inverts_the_squash() {
    let d = Default::default();
    let dist = SquashedNormal::new(
        Tensor::<B, 2>::zeros([1, 1], &d),
        Tensor::<B, 2>::zeros([1, 1], &d),
    )
    .unwrap();
    let y = Action::Continuous(Tensor::<B, 2>::from_floats([[0.5f32.tanh()]], &d));
    let lp = host(dist.log_prob(&y).unwrap())[0];
    let want = -0.5 * 0.25 - HALF_LN_2PI - (1.0 - 0.5f32.tanh().powi(2) + f32::EPSILON).ln();
    assert!((lp - want).abs() < 1e-5, "{lp} vs {want}");
}

#[test]
fn a_scaled_squash_samples_in_its_box_and_its_density_integrates_to_one_there() {
    let d = Default::default();
    let (low, high) = ([-2.0f32], [0.5f32]);
    // Spreads whose density vanishes at the bounds, which the midpoint rule integrates well.
    for (mu, log_std) in [(0.0f32, 0.0f32), (1.2, -0.5), (-0.8, -0.3)] {
        let scaled = |n: usize| {
            SquashedNormal::scaled(
                Tensor::<B, 2>::full([n, 1], mu, &d),
                Tensor::<B, 2>::full([n, 1], log_std, &d),
                &low,
                &high,
            )
            .unwrap()
        };
        let a = scaled(5000)
            .sample(&mut StdRng::seed_from_u64(4))
            .to_host_continuous()
            .unwrap();
        assert!(a.iter().all(|&x| (low[0]..=high[0]).contains(&x)), "{mu}");
        // The midpoint rule over the box: the density of the action actually sent.
        let cells = 4000;
        let width = (high[0] - low[0]) / cells as f32;
        let grid: Vec<f32> = (0..cells)
            .map(|i| low[0] + (i as f32 + 0.5) * width)
            .collect();
        let at = Action::Continuous(
            Tensor::<B, 1>::from_floats(grid.as_slice(), &d).reshape([cells, 1]),
        );
        let lp = host(scaled(cells).log_prob(&at).unwrap());
        let mass: f64 = lp
            .iter()
            .map(|&l| f64::from(l).exp() * f64::from(width))
            .sum();
        assert!(
            (mass - 1.0).abs() < 5e-3,
            "mu {mu} log_std {log_std}: mass {mass}"
        );
        // Entropy: the unscaled squash's plus ln h, h = (high - low) / 2.
        let unit = SquashedNormal::new(
            Tensor::<B, 2>::full([1, 1], mu, &d),
            Tensor::<B, 2>::full([1, 1], log_std, &d),
        )
        .unwrap();
        let shift = host(scaled(1).entropy())[0] - host(unit.entropy())[0];
        assert!((shift - 1.25f32.ln()).abs() < 1e-5, "{shift}");
    }
    // Bounds that are not one finite pair per element with low < high are refused.
    let m = || Tensor::<B, 2>::zeros([1, 1], &d);
    assert!(SquashedNormal::scaled(m(), m(), &[1.0], &[1.0]).is_err());
    assert!(SquashedNormal::scaled(m(), m(), &[f32::NEG_INFINITY], &[1.0]).is_err());
    assert!(SquashedNormal::scaled(m(), m(), &[0.0, 0.0], &[1.0, 1.0]).is_err());
}

#[test]
fn shape_mismatch_is_an_error() {
    let d = Default::default();
    assert!(
        Normal::new(
            Tensor::<B, 2>::zeros([2, 1], &d),
            Tensor::<B, 2>::zeros([2, 2], &d)
        )
        .is_err()
    );
    let dist = Normal::new(
        Tensor::<B, 2>::zeros([2, 1], &d),
        Tensor::<B, 2>::zeros([2, 1], &d),
    )
    .unwrap();
    let wrong = Action::Continuous(Tensor::<B, 2>::zeros([3, 1], &d));
    assert!(matches!(
        dist.log_prob(&wrong),
        Err(CoreError::Shape { .. })
    ));
    let discrete = Action::Discrete(Tensor::zeros([2, 1], &d));
    assert!(matches!(
        dist.log_prob(&discrete),
        Err(CoreError::ActionKind { .. })
    ));
}

/// A clipped normal sends draws clamped into its box; its log-probability is the normal's
/// density inside and the normal's tail mass on each bound, so the density integrated over the
/// inside plus the two bound masses is 1 (checked against erf-free numbers: Phi(-1) = 0.158655,
/// Phi(-3) = 0.0013499), and far in a tail it stays finite with finite gradients.
#[test]
fn a_clipped_normal_scores_the_action_sent_and_its_mass_sums_to_one() {
    use burn::backend::Autodiff;
    let d = Default::default();
    // Element 0: mean 0, std 1 in [-1, 1]; element 1: mean 1, std 0.5 in [-0.5, 2.5].
    let mean = Tensor::<B, 2>::from_floats([[0.0, 1.0]], &d);
    let log_std = Tensor::<B, 2>::from_floats([[0.0, 0.5f32.ln()]], &d);
    let (low, high) = ([-1.0, -0.5], [1.0, 2.5]);
    let dist = ClippedNormal::new(mean, log_std, &low, &high).unwrap();
    let at = |x0: f32, x1: f32| {
        let a = Action::Continuous(Tensor::<B, 2>::from_floats([[x0, x1]], &d));
        f64::from(host(dist.log_prob(&a).unwrap())[0]).exp()
    };
    // Both on their lower bounds: Phi(-1) * Phi(-3).
    assert!((at(-1.0, -0.5) - 0.158_655 * 0.001_349_9).abs() < 1e-7);
    // Element 0 on its upper bound, element 1 at its mean: (1 - Phi(1)) * density(1).
    let density_at_mean = 1.0 / (0.5 * (2.0 * std::f64::consts::PI).sqrt());
    assert!((at(1.0, 1.0) / (0.158_655 * density_at_mean) - 1.0).abs() < 1e-4);
    // Mass of element 0 alone (element 1 held at its lower bound): midpoint rule inside.
    let steps = 4000;
    let width = 2.0 / steps as f32;
    let inside: f64 = (0..steps)
        .map(|i| at(-1.0 + width * (i as f32 + 0.5), -0.5) * f64::from(width))
        .sum();
    let total = (inside + at(-1.0, -0.5) + at(1.0, -0.5)) / 0.001_349_9;
    assert!((total - 1.0).abs() < 1e-4, "{total}");
    // Draws and the mode stay inside; some draws land exactly on a bound.
    let mut rng = StdRng::seed_from_u64(0);
    let mut on_bound = 0;
    for _ in 0..200 {
        let a = dist.sample(&mut rng).to_host_continuous().unwrap();
        assert!(
            a[0] >= -1.0 && a[0] <= 1.0 && a[1] >= -0.5 && a[1] <= 2.5,
            "{a:?}"
        );
        on_bound += usize::from(a[0] == -1.0 || a[0] == 1.0);
    }
    assert!(
        (40..=90).contains(&on_bound),
        "{on_bound} of 200 on a bound (expected 63)"
    );
    // A mean 40 standard deviations past a bound: finite log-probability and gradient.
    type A = Autodiff<B>;
    let mean = Tensor::<A, 2>::from_floats([[40.0]], &d).require_grad();
    let dist =
        ClippedNormal::new(mean.clone(), Tensor::zeros([1, 1], &d), &[-1.0], &[1.0]).unwrap();
    let lp = dist
        .log_prob(&Action::Continuous(Tensor::from_floats([[-1.0]], &d)))
        .unwrap();
    let value = lp.clone().into_scalar();
    // ln Phi(-41) = -41^2 / 2 - ln(41 sqrt(2 pi)) + ln(1 - 1/41^2 + ...) = -845.13.
    assert!((value + 845.13).abs() < 0.05, "{value}");
    let grad = mean.grad(&lp.sum().backward()).unwrap().into_scalar();
    assert!(grad.is_finite() && (grad + 41.02).abs() < 0.05, "{grad}");
}
