//! Memory: the recall task is learned by recurrent PPO within a fixed budget, while feed-forward
//! PPO with the same budget and hyperparameters stays at chance.

use crate::configs;

use burn::backend::{Autodiff, NdArray};
use rl_algo::{AlgorithmConfig, CollectStats, DefaultModelConfig, Minibatch, Trainable};
use rl_envs::Recall;

type B = Autodiff<NdArray>;

/// Updates of 32 x 16 = 512 transitions each (128 episodes of 4 steps); seeds 1-3 are right on
/// every evaluation episode after 25.
const UPDATES: usize = 60;
/// Deterministic evaluation collects after training: 4 x 128 = 512 episodes.
const EVALS: usize = 4;

/// Trains for the budget, then returns the mean episode return of the deterministic policy
/// (rewards are 0 except the query's +-1, and every episode has 4 steps).
fn train_then_evaluate(algo: &mut impl Trainable) -> f64 {
    for _ in 0..UPDATES {
        algo.collect().unwrap();
        algo.step().unwrap();
    }
    let evals: Vec<CollectStats> = (0..EVALS).map(|_| algo.evaluate().unwrap()).collect();
    evals.iter().map(|s| s.rewards.mean * 4.0).sum::<f64>() / EVALS as f64
}

#[test]
fn recall_is_learned_by_the_recurrent_policy_and_not_by_the_feedforward_one() {
    let device = Default::default();
    let config = configs::recall();
    let n = config.ppo.num_envs;

    let env = Recall::<NdArray>::new(n, 1, &device).unwrap();
    let mut recurrent = config.init::<B, _>(env, &device).unwrap();
    let remembered = train_then_evaluate(&mut recurrent);
    assert!(
        remembered >= 0.95,
        "recurrent PPO: mean return {remembered} (1 = always right, 0 = chance)"
    );

    // The same hyperparameters, feed-forward (an MLP of 32x32).
    // The recurrent minibatch of 32 sequences of 4 is 32 transitions here, as before.
    let ff = AlgorithmConfig::new()
        .with_ppo(
            config
                .ppo
                .clone()
                .with_minibatch(Minibatch::Transitions(32)),
        )
        .with_model(DefaultModelConfig::new().with_hiddens(vec![32, 32]));
    let env = Recall::<NdArray>::new(n, 1, &device).unwrap();
    let mut feedforward = ff.init::<B, _>(env, &device).unwrap();
    let guessed = train_then_evaluate(&mut feedforward);
    // Chance is 0; over 512 episodes its standard deviation is about 0.044.
    assert!(
        guessed.abs() < 0.2,
        "feed-forward PPO: mean return {guessed}, expected chance (0)"
    );
}
