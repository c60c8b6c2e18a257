//! rl-core: `dummy.rs`, from outside the crate.

#![allow(unused_imports)]
use super::{read_bool, read_f32};
use burn::backend::NdArray;
use burn::tensor::Int;
use burn::tensor::{Bool, Tensor, TensorData, backend::Backend};
use chacha20::ChaCha12Rng;
use core::marker::PhantomData;
use rand::{RngExt, SeedableRng};
use rl_core::*;
use rl_core::{Action, CoreError, Env, EnvConfig, Observation, Result, Space, Transition};

type B = NdArray<f32>;

fn dev() -> burn::tensor::ops::Device<B> {
    Default::default()
}

fn bounds(b: f64) -> EnvConfig {
    EnvConfig::from([("bounds".to_string(), b)])
}

fn features(obs: &Observation<B>) -> Vec<f32> {
    read_f32(obs.features.clone(), "obs").unwrap()
}

fn discrete(v: &[i64]) -> Action<B> {
    Tensor::<B, 1, Int>::from_ints(v, &dev())
        .reshape([v.len(), 1])
        .into()
}

fn continuous(v: &[f32]) -> Action<B> {
    Tensor::<B, 1>::from_floats(v, &dev())
        .reshape([v.len(), 1])
        .into()
}

#[test]
fn construction_and_spaces() {
    assert!(matches!(
        DiscreteDummyEnv::<B>::new(0, 0, &dev()),
        Err(CoreError::Env { .. })
    ));
    assert!(ContinuousDummyEnv::<B>::new(0, 0, &dev()).is_err());
    let d = DiscreteDummyEnv::<B>::new(3, 0, &dev()).unwrap();
    assert_eq!(d.num_envs(), 3);
    assert_eq!(d.name(), "DiscreteDummyEnv");
    assert_eq!(d.action_space(), &Space::Discrete { n: 2 });
    assert_eq!(d.observation_space(), &Space::unbounded(vec![1]).unwrap());
    assert_eq!(d.bounds(), 100.0);
    let c = ContinuousDummyEnv::<B>::new(3, 0, &dev()).unwrap();
    assert_eq!(c.action_space(), &Space::unbounded(vec![1]).unwrap());
}

#[test]
fn reset_shape_range_and_seed() {
    let mut env = DiscreteDummyEnv::<B>::new(64, 1, &dev()).unwrap();
    let obs = env.reset(None).unwrap();
    assert_eq!(obs.features.dims(), [64, 1]);
    let s = features(&obs);
    assert!(s.iter().all(|x| (-100.0..100.0).contains(x)));
    // Spread over the range, not all the same.
    assert!(s.iter().any(|&x| x > 10.0) && s.iter().any(|&x| x < -10.0));

    let s_small = features(&env.reset(Some(&bounds(0.5))).unwrap());
    assert!(s_small.iter().all(|x| (-0.5..0.5).contains(x)));
    // The new bounds persist.
    assert_eq!(env.bounds(), 0.5);
    let s_again = features(&env.reset(None).unwrap());
    assert!(s_again.iter().all(|x| (-0.5..0.5).contains(x)));
    assert_ne!(s_small, s_again);

    // Same seed, same draws; another seed, other draws.
    let mut twin = DiscreteDummyEnv::<B>::new(64, 1, &dev()).unwrap();
    assert_eq!(features(&twin.reset(None).unwrap()), s);
    let mut other = DiscreteDummyEnv::<B>::new(64, 2, &dev()).unwrap();
    assert_ne!(features(&other.reset(None).unwrap()), s);
}

#[test]
fn reset_rejects_bad_bounds() {
    let mut env = ContinuousDummyEnv::<B>::new(2, 0, &dev()).unwrap();
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300, 1e-300] {
        assert!(
            matches!(
                env.reset(Some(&bounds(bad))),
                Err(CoreError::Env { env, .. }) if env == "ContinuousDummyEnv"
            ),
            "bounds {bad} accepted"
        );
    }
    assert_eq!(env.bounds(), 100.0);
    // Unknown keys are ignored.
    let config = EnvConfig::from([("other".to_string(), 3.0)]);
    assert!(env.reset(Some(&config)).is_ok());
}

#[test]
fn discrete_step_semantics() {
    let mut env = DiscreteDummyEnv::<B>::new(4, 3, &dev()).unwrap();
    let s0 = features(&env.reset(Some(&bounds(2.0))).unwrap());
    let t = env.step(&discrete(&[1, 0, 1, 0])).unwrap();
    let expected: Vec<f32> = s0
        .iter()
        .zip([1.0, -1.0, 1.0, -1.0])
        .map(|(s, d)| s + d)
        .collect();
    assert_eq!(features(&t.obs), expected);
    let rewards = read_f32(t.reward.clone(), "reward").unwrap();
    let expected_rewards: Vec<f32> = expected.iter().map(|s| -s.abs()).collect();
    assert_eq!(rewards, expected_rewards);
    assert_eq!(read_bool(t.terminated, "t").unwrap(), vec![false; 4]);
    assert_eq!(read_bool(t.truncated, "t").unwrap(), vec![false; 4]);
    assert!(t.final_obs.is_none());
    // The state carries over to the next step.
    let t2 = env.step(&discrete(&[1, 1, 1, 1])).unwrap();
    let expected2: Vec<f32> = expected.iter().map(|s| s + 1.0).collect();
    assert_eq!(features(&t2.obs), expected2);
}

#[test]
fn continuous_step_semantics() {
    let mut env = ContinuousDummyEnv::<B>::new(3, 4, &dev()).unwrap();
    let s0 = features(&env.reset(Some(&bounds(1.0))).unwrap());
    let a = [0.25, -3.0, 10.0];
    let t = env.step(&continuous(&a)).unwrap();
    let expected: Vec<f32> = s0.iter().zip(a).map(|(s, d)| s + d).collect();
    assert_eq!(features(&t.obs), expected);
    let expected_rewards: Vec<f32> = expected.iter().map(|s| -s.abs()).collect();
    assert_eq!(read_f32(t.reward, "reward").unwrap(), expected_rewards);
    assert!(t.final_obs.is_none());
}

#[test]
fn step_before_reset_is_an_error() {
    let mut env = DiscreteDummyEnv::<B>::new(2, 0, &dev()).unwrap();
    assert!(matches!(
        env.step(&discrete(&[0, 1])),
        Err(CoreError::Env { .. })
    ));
}

#[test]
fn discrete_env_rejects_bad_actions() {
    let mut env = DiscreteDummyEnv::<B>::new(2, 0, &dev()).unwrap();
    env.reset(None).unwrap();
    assert!(matches!(
        env.step(&continuous(&[0.0, 1.0])),
        Err(CoreError::ActionKind {
            expected: "discrete",
            actual: "continuous"
        })
    ));
    assert!(matches!(
        env.step(&discrete(&[0, 1, 1])),
        Err(CoreError::Shape { actual, .. }) if actual == vec![3, 1]
    ));
    let wide: Action<B> = Tensor::<B, 2, Int>::from_ints([[0, 1], [1, 0]], &dev()).into();
    assert!(matches!(env.step(&wide), Err(CoreError::Shape { .. })));
    match env.step(&discrete(&[1, 2])) {
        Err(CoreError::Space { reason, .. }) => assert!(reason.contains("row 1")),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        env.step(&discrete(&[-1, 0])),
        Err(CoreError::Space { .. })
    ));
}

#[test]
fn continuous_env_rejects_bad_actions() {
    let mut env = ContinuousDummyEnv::<B>::new(2, 0, &dev()).unwrap();
    let s0 = features(&env.reset(Some(&bounds(1.0))).unwrap());
    assert!(matches!(
        env.step(&discrete(&[0, 1])),
        Err(CoreError::ActionKind {
            expected: "continuous",
            actual: "discrete"
        })
    ));
    assert!(matches!(
        env.step(&continuous(&[0.0])),
        Err(CoreError::Shape { .. })
    ));
    assert!(matches!(
        env.step(&continuous(&[0.0, f32::NAN])),
        Err(CoreError::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        env.step(&continuous(&[f32::NEG_INFINITY, 0.0])),
        Err(CoreError::NonFinite { index: 0, .. })
    ));
    // A huge but finite action is accepted; overflowing the state is refused and leaves
    // the state as it was.
    let big = env.step(&continuous(&[f32::MAX, 0.0])).unwrap();
    let s1 = features(&big.obs);
    assert_eq!(s1[1], s0[1]);
    assert!(matches!(
        env.step(&continuous(&[f32::MAX, 0.0])),
        Err(CoreError::NonFinite { index: 0, .. })
    ));
    let t = env.step(&continuous(&[0.0, 0.5])).unwrap();
    assert_eq!(features(&t.obs), vec![s1[0], s1[1] + 0.5]);
}
