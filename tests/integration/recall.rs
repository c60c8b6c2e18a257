//! Memory: the recall task is learned by recurrent PPO within a fixed budget, while feed-forward
//! PPO with the same budget and hyperparameters stays at chance; the saved recurrent policy
//! acts as well without the training stack.

use crate::configs;

use std::path::Path;

use crate::boxed;
use burn::backend::{Autodiff, NdArray};
use rl_algo::{
    AlgorithmConfig, CollectStats, DefaultModelConfig, Minibatch, RecurrentAgent, Trainable,
};
use rl_core::Env;
use rl_envs::Recall;
use rl_train::{Trainer, TrainerConfig};

type B = Autodiff<NdArray>;

/// Updates of 32 x 16 = 512 transitions each (128 episodes of 4 steps); seeds 1-3 are right on
/// every evaluation episode after 25.
const UPDATES: u64 = 60;
/// Deterministic evaluation collects after training: 4 x 128 = 512 episodes.
const EVALS: usize = 4;

/// Trains for the budget with the trainer (which saves the policy in `out`), then returns the
/// mean episode return of the deterministic policy (rewards are 0 except the query's +-1, and
/// every episode has 4 steps).
fn train_then_evaluate<A: Trainable>(algo: A, out: &Path) -> f64 {
    let config = TrainerConfig::new()
        .with_max_updates(Some(UPDATES))
        .with_out_dir(Some(out.display().to_string()))
        .with_overwrite(true)
        .with_progress(false);
    let mut trainer = Trainer::new(algo, config).unwrap();
    trainer.run().unwrap();
    let mut algo = trainer.into_algorithm();
    let evals: Vec<CollectStats> = (0..EVALS).map(|_| algo.evaluate().unwrap()).collect();
    evals.iter().map(|s| s.rewards.mean * 4.0).sum::<f64>() / EVALS as f64
}

/// The mean episode return of `agent` on fresh Recall environments (`reset_every_step`: the
/// agent forgets its state before every step).
fn agent_return(agent: &mut RecurrentAgent<NdArray>, reset_every_step: bool) -> f64 {
    let (n, episodes) = (32, 4);
    let mut env = Recall::<NdArray>::new(n, 99, &Default::default()).unwrap();
    let mut obs = env.reset(None).unwrap();
    agent.reset();
    let mut total = 0.0;
    for _ in 0..episodes * 4 {
        if reset_every_step {
            agent.reset();
        }
        let step = env.step(&agent.act(obs).unwrap()).unwrap();
        let rewards = step.reward.clone().into_data().to_vec::<f32>().unwrap();
        total += rewards.iter().map(|&r| f64::from(r)).sum::<f64>();
        agent.end_episodes(step.done()).unwrap();
        obs = step.obs;
    }
    total / (n * episodes) as f64
}

#[test]
fn recall_is_learned_by_the_recurrent_policy_and_not_by_the_feedforward_one() {
    let device = Default::default();
    let config = configs::recall();
    let n = config.ppo.num_envs;

    let out = std::env::temp_dir().join(format!("rl_recall_{}", std::process::id()));
    let env = Recall::<NdArray>::new(n, 1, &device).unwrap();
    let recurrent = config.init::<B, _>(boxed(env), &device).unwrap();
    let remembered = train_then_evaluate(recurrent, &out);
    assert!(
        remembered >= 0.95,
        "recurrent PPO: mean return {remembered} (1 = always right, 0 = chance)"
    );

    // The saved recurrent policy acts without the training stack, on the plain backend, on
    // environments it never saw: as well as it was trained, because it carries its state (the
    // same agent, made to forget before every step, is at chance).
    let mut agent = RecurrentAgent::<NdArray>::load(&out, &device).unwrap();
    let loaded = agent_return(&mut agent, false);
    assert!(
        loaded >= 0.95,
        "the loaded recurrent agent: mean return {loaded}"
    );
    let forgetful = agent_return(&mut agent, true);
    assert!(
        forgetful.abs() < 0.5,
        "forgetting its state: mean return {forgetful}"
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
    let feedforward = ff.init::<B, _>(boxed(env), &device).unwrap();
    let guessed = train_then_evaluate(feedforward, &out);
    // Chance is 0; over 512 episodes its standard deviation is about 0.044.
    assert!(
        guessed.abs() < 0.2,
        "feed-forward PPO: mean return {guessed}, expected chance (0)"
    );
    std::fs::remove_dir_all(&out).ok();
}
