//! Every action kind learns end to end, each with a fixed seed and a budget, to a return no
//! random policy reaches: heads of different sizes (`Combination`), masks with recurrent PPO
//! (`MaskedRecall`, whose masked-out actions are never taken), and a bounded continuous action
//! (`Pendulum-v1`, squashed and clipped).

use crate::{boxed, configs};
use burn::backend::{Autodiff, NdArray};
use rl_algo::{
    AlgorithmConfig, CollectStats, ContinuousPolicy, DefaultModelConfig, Minibatch, PpoConfig,
    Reset, Trainable,
};
use rl_envs::{Combination, MaskedRecall, PendulumV1};

type B = Autodiff<NdArray>;

/// Trains `algo` for `updates` updates; returns every training collect's statistics.
fn train(algo: &mut impl Trainable, updates: usize) -> Vec<CollectStats> {
    (0..updates)
        .map(|_| {
            let stats = algo.collect().unwrap();
            algo.step().unwrap();
            stats
        })
        .collect()
}

/// The mean reward per step of `evals` deterministic collects.
fn evaluated(algo: &mut impl Trainable, evals: usize) -> f64 {
    (0..evals)
        .map(|_| algo.evaluate().unwrap().rewards.mean)
        .sum::<f64>()
        / evals as f64
}

/// Dials of 2, 3 and 5 positions: a random policy sets 0.344 of them right, the trained one
/// nearly all.
#[test]
fn heads_of_different_sizes_learn_the_combination() {
    let device = Default::default();
    let config = AlgorithmConfig::new()
        .with_ppo(
            PpoConfig::new()
                .with_num_envs(64)
                .with_horizon(8)
                .with_env_reset(Reset::Never)
                .with_minibatch(Minibatch::Transitions(128))
                .with_learning_rate(3e-3)
                .with_seed(1),
        )
        .with_model(DefaultModelConfig::new().with_hiddens(vec![32]));
    let env = boxed(Combination::new(64, 1, &device).unwrap());
    let mut algo = config.init::<B, _>(env, &device).unwrap();
    let first = train(&mut algo, 1)[0].rewards.mean;
    assert!(
        (first - 0.344).abs() < 0.05,
        "before training: {first}, expected chance (0.344)"
    );
    train(&mut algo, 40);
    let trained = evaluated(&mut algo, 4);
    eprintln!("Combination: {first:.3} of the dials right before training, {trained:.3} after");
    assert!(
        trained >= 0.95,
        "after 41 updates: {trained} of the dials right"
    );
}

/// Recurrent PPO with masks learns the masked recall task (a return of 1; 0.25 for a policy
/// that keeps the rules but forgets the cue), never taking a masked-out action (which would
/// show as a reward of -1); the same budget without the masks ends below 0: most episodes
/// still end in a masked-out action.
#[test]
fn masks_make_the_masked_recall_learnable_and_masked_actions_are_never_taken() {
    let device = Default::default();
    let config = configs::masked_recall();
    let n = config.ppo.num_envs;
    let updates = 60;
    let env = boxed(MaskedRecall::new(n, 1, &device).unwrap());
    let mut algo = config.init::<B, _>(env, &device).unwrap();
    let stats = train(&mut algo, updates);
    let lowest = stats
        .iter()
        .map(|s| s.rewards.min)
        .fold(f64::INFINITY, f64::min);
    assert!(
        lowest >= 0.0,
        "a masked-out action was taken (reward {lowest})"
    );
    // Episodes of 6 steps, one reward each.
    let masked = evaluated(&mut algo, 4) * 6.0;
    assert!(masked >= 0.95, "with masks: mean return {masked}");

    // Feed-forward PPO reads the same masks: it keeps to them from the first update (the masks
    // are applied in collect and in the update alike), but cannot remember the cue, so it
    // answers at chance: 0.25.
    let feedforward = AlgorithmConfig::new()
        .with_ppo(
            config
                .ppo
                .clone()
                .with_minibatch(Minibatch::Transitions(192)),
        )
        .with_model(DefaultModelConfig::new().with_hiddens(vec![32]));
    let env = boxed(MaskedRecall::new(n, 1, &device).unwrap());
    let mut algo = feedforward.init::<B, _>(env, &device).unwrap();
    let stats = train(&mut algo, 20);
    let lowest = stats
        .iter()
        .map(|s| s.rewards.min)
        .fold(f64::INFINITY, f64::min);
    assert!(lowest >= 0.0, "feed-forward: a masked-out action was taken");
    let chance = stats.last().unwrap().episode_return_mean.unwrap();
    eprintln!("MaskedRecall, feed-forward with masks: {chance:.3}");
    assert!(
        (chance - 0.25).abs() < 0.15,
        "feed-forward: {chance}, expected chance (0.25)"
    );

    let env = boxed(MaskedRecall::new(n, 1, &device).unwrap().without_masks());
    let mut algo = config.init::<B, _>(env, &device).unwrap();
    let stats = train(&mut algo, updates);
    let last = stats.last().unwrap().episode_return_mean.unwrap_or(-1.0);
    eprintln!("MaskedRecall after {updates} updates: {masked:.3} with masks, {last:.3} without");
    assert!(last < 0.0, "without masks: mean return {last}");
}

/// Pendulum-v1 (torque in [-2, 2]) with its example config, squashed and clipped: 20 updates
/// (41k env steps) take the deterministic policy from a random one's return of about -1,200
/// per 200-step episode to better than -500.
#[test]
fn a_bounded_continuous_action_learns_pendulum_squashed_and_clipped() {
    let device = Default::default();
    for policy in [ContinuousPolicy::Squashed, ContinuousPolicy::Clipped] {
        let mut config = configs::pendulum_v1();
        config.model.continuous = policy;
        config.ppo.seed = 1;
        let n = config.ppo.num_envs;
        let env = boxed(PendulumV1::new(n, 1, &device).unwrap());
        let mut algo = config.init::<B, _>(env, &device).unwrap();
        let first = train(&mut algo, 1)[0].rewards.mean * 200.0;
        assert!(first < -900.0, "{policy:?} before training: {first}");
        train(&mut algo, 19);
        let trained = evaluated(&mut algo, 1) * 200.0;
        eprintln!("Pendulum-v1, {policy:?}: {first:.0} per episode at first, {trained:.0} after");
        assert!(
            trained > -500.0,
            "{policy:?} after 20 updates: {trained} per episode"
        );
    }
}
