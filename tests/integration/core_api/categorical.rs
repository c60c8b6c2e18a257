//! rl-core: `distribution/categorical.rs`, from outside the crate.

#![allow(unused_imports)]
use burn::backend::NdArray;
use burn::tensor::{Bool, Int, Tensor, activation::log_softmax, backend::Backend};
use rand::Rng;
use rand::{SeedableRng, rngs::StdRng};
use rl_core::Distribution;
use rl_core::*;
use rl_core::{Action, CoreError};
use rl_functional::{gumbel_noise, masked_log_softmax, reshape};

type B = NdArray;

fn host(t: Tensor<B, 2>) -> Vec<f32> {
    t.into_data().to_vec().unwrap()
}

#[test]
fn log_prob_and_entropy_sum_over_heads() {
    let d = Default::default();
    let logits = Tensor::<B, 3>::from_floats([[[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]]], &d);
    let dist = Categorical::new(logits);
    let actions = Action::Discrete(Tensor::<B, 2, Int>::from_ints([[2, 1]], &d));
    let lp = host(dist.log_prob(&actions).unwrap());
    let head = |l: [f32; 3], a: usize| {
        let z = l.iter().map(|x| x.exp()).sum::<f32>().ln();
        let lp = l[a] - z;
        let h = -l.iter().map(|x| (x - z).exp() * (x - z)).sum::<f32>();
        (lp, h)
    };
    let (lp0, h0) = head([0.0, 1.0, 2.0], 2);
    let (lp1, h1) = head([3.0, 0.0, 0.0], 1);
    assert!((lp[0] - (lp0 + lp1)).abs() < 1e-5);
    assert!((host(dist.entropy())[0] - (h0 + h1)).abs() < 1e-5);
}

#[test]
fn mode_takes_the_first_maximum_and_samples_follow_probabilities() {
    let d = Default::default();
    let dist = Categorical::new(Tensor::<B, 3>::from_floats([[[1.0, 2.0, 2.0]]], &d));
    assert_eq!(dist.mode().to_host_discrete().unwrap(), vec![1]);

    let k = 30_000;
    let logits = Tensor::<B, 3>::from_floats([[[0.0, 1.0, -1.0]]], &d).repeat_dim(0, k);
    let a = Categorical::new(logits)
        .sample(&mut StdRng::seed_from_u64(11))
        .to_host_discrete()
        .unwrap();
    let z = 1.0 + 1f64.exp() + (-1f64).exp();
    for (c, p) in [(0, 1.0 / z), (1, 1f64.exp() / z), (2, (-1f64).exp() / z)] {
        let f = a.iter().filter(|&&x| x == c).count() as f64 / k as f64;
        assert!(
            (f - p).abs() < 5.0 * (p * (1.0 - p) / k as f64).sqrt(),
            "{c}: {f} vs {p}"
        );
    }
}

#[test]
fn same_seed_same_actions() {
    let d = Default::default();
    let logits = Tensor::<B, 3>::zeros([64, 2, 5], &d);
    let dist = Categorical::new(logits);
    let a = dist
        .sample(&mut StdRng::seed_from_u64(5))
        .to_host_discrete()
        .unwrap();
    let b = dist
        .sample(&mut StdRng::seed_from_u64(5))
        .to_host_discrete()
        .unwrap();
    let c = dist
        .sample(&mut StdRng::seed_from_u64(6))
        .to_host_discrete()
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn masked_categories_have_zero_probability_and_finite_entropy() {
    let d = Default::default();
    let logits = Tensor::<B, 3>::from_floats([[[5.0, 0.0, 0.0]], [[1.0, 1.0, 1.0]]], &d);
    let mask = Tensor::<B, 2, Bool>::from_data([[false, true, true], [false, false, false]], &d);
    let dist = Categorical::masked(logits, mask).unwrap();
    let h = host(dist.entropy());
    // Row 0: uniform over the two allowed; row 1 fully masked: uniform over all three.
    assert!((h[0] - 2f32.ln()).abs() < 1e-6 && (h[1] - 3f32.ln()).abs() < 1e-6);
    let lp = dist
        .log_prob(&Action::Discrete(Tensor::from_ints([[0], [0]], &d)))
        .unwrap();
    let lp = host(lp);
    assert!(lp[0] < -1e30 && lp[0].is_finite());
    assert!((lp[1] + 3f32.ln()).abs() < 1e-6);
    for seed in 0..20 {
        let a = dist
            .sample(&mut StdRng::seed_from_u64(seed))
            .to_host_discrete()
            .unwrap();
        assert_ne!(a[0], 0);
    }
}

#[test]
fn bad_actions_and_masks_are_errors() {
    let d = Default::default();
    let logits = Tensor::<B, 3>::zeros([2, 1, 3], &d);
    let dist = Categorical::new(logits.clone());
    let out_of_range = Action::Discrete(Tensor::<B, 2, Int>::from_ints([[0], [3]], &d));
    assert!(matches!(
        dist.log_prob(&out_of_range),
        Err(CoreError::Space { .. })
    ));
    let wrong_shape = Action::Discrete(Tensor::<B, 2, Int>::zeros([2, 2], &d));
    assert!(matches!(
        dist.log_prob(&wrong_shape),
        Err(CoreError::Shape { .. })
    ));
    let continuous = Action::Continuous(Tensor::<B, 2>::zeros([2, 1], &d));
    assert!(matches!(
        dist.log_prob(&continuous),
        Err(CoreError::ActionKind { .. })
    ));
    let mask = Tensor::<B, 2, Bool>::from_data([[true, true], [true, true]], &d);
    assert!(matches!(
        Categorical::masked(logits, mask),
        Err(CoreError::Shape { .. })
    ));
}

/// Heads of 2 and 3 categories with a mask in Gymnasium's layout (2 + 3 flags): the padding
/// past the smaller head and the masked categories are never drawn and have probability 0, the
/// probabilities of each head sum to 1, and a head with every category masked is uniform over
/// its own categories, not over the padding.
#[test]
fn heads_of_different_sizes_with_masks_per_head() {
    let d = Default::default();
    let logits = Tensor::<B, 3>::from_floats(
        [
            [[0.0, 1.0, 9.0], [0.5, 0.0, 2.0]],
            [[3.0, 1.0, 9.0], [1.0, 2.0, 3.0]],
        ],
        &d,
    );
    // Row 0: head 0 unmasked, head 1 allows only 0 and 1. Row 1: head 0 all masked, head 1
    // allows only 2.
    let mask = Tensor::<B, 2, Bool>::from_data(
        [
            [true, true, true, true, false],
            [false, false, false, false, true],
        ],
        &d,
    );
    let dist = Categorical::with_counts(logits, &[2, 3], Some(mask)).unwrap();
    let p: Vec<f32> = dist.log_probs().exp().into_data().to_vec().unwrap();
    let e1 = 1f32.exp();
    let expected = [
        1.0 / (1.0 + e1),
        e1 / (1.0 + e1),
        0.0,
        0.5f32.exp() / (0.5f32.exp() + 1.0),
        1.0 / (0.5f32.exp() + 1.0),
        0.0,
        0.5,
        0.5,
        0.0,
        0.0,
        0.0,
        1.0,
    ];
    for (i, (p, e)) in p.iter().zip(expected).enumerate() {
        assert!((p - e).abs() < 1e-6, "slot {i}: {p} vs {e}");
    }
    let mut seen = [[false; 3]; 2];
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..200 {
        let a = dist.sample(&mut rng).to_host_discrete().unwrap();
        assert!(a[0] < 2 && a[1] < 2 && a[2] < 2 && a[3] == 2, "{a:?}");
        seen[0][a[0] as usize] = true;
        seen[1][a[2] as usize] = true;
    }
    assert_eq!(seen, [[true, true, false], [true, true, false]]);
    // Without a mask only the padding is excluded; a mask of the padded width is refused.
    let logits = Tensor::<B, 3>::zeros([1, 2, 3], &d);
    let bare = Categorical::with_counts(logits.clone(), &[2, 3], None).unwrap();
    let h = host(bare.entropy())[0];
    assert!((h - (2f32.ln() + 3f32.ln())).abs() < 1e-6, "{h}");
    let padded = Tensor::<B, 2, Bool>::from_data([[true; 6]], &d);
    assert!(matches!(
        Categorical::with_counts(logits.clone(), &[2, 3], Some(padded)),
        Err(CoreError::Shape { .. })
    ));
    assert!(Categorical::with_counts(logits, &[2, 2], None).is_err());
}
