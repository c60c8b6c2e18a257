//! Recurrent PPO: rl8's validation rules, its state-reset test, and the update options behaving
//! as for the feed-forward algorithm (gradient accumulation over sequences).

use crate::boxed;
use burn::backend::{Autodiff, NdArray};
use rl_algo::{
    AlgoError, CellKind, Minibatch, PpoConfig, RecurrenceConfig, RecurrentAlgorithm,
    RecurrentAlgorithmConfig, RecurrentModelConfig, Reset,
};
use rl_core::{ContinuousDummyEnv, DiscreteDummyEnv};

type B = Autodiff<NdArray>;
type Device = burn::tensor::ops::Device<NdArray>;

fn config(num_envs: usize, horizon: usize) -> RecurrentAlgorithmConfig {
    RecurrentAlgorithmConfig::new()
        .with_ppo(
            PpoConfig::new()
                .with_num_envs(num_envs)
                .with_horizon(horizon)
                .with_seed(3),
        )
        .with_model(RecurrentModelConfig::new().with_hidden_size(8))
}

/// `c` with `seq_len` L and the state reset `reset`.
fn recur(c: &RecurrentAlgorithmConfig, seq_len: usize, reset: Reset) -> RecurrentAlgorithmConfig {
    c.clone().with_recurrence(
        RecurrenceConfig::new()
            .with_seq_len(seq_len)
            .with_state_reset(reset),
    )
}

fn field_of(config: &RecurrentAlgorithmConfig) -> String {
    match config.validate() {
        Err(AlgoError::InvalidConfig { field, .. }) => field,
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn defaults_are_rl8s() {
    let c = RecurrentAlgorithmConfig::new();
    assert_eq!(c.recurrence.seq_len, 4);
    assert_eq!(c.recurrence.state_reset, Reset::Every(8));
    assert_eq!(c.ppo.horizon, 32);
    assert_eq!(c.ppo.num_envs, 8192);
    assert_eq!(c.model.hidden_size, 256);
    assert_eq!(c.model.num_layers, 1);
    assert_eq!(c.model.cell, CellKind::Lstm);
    c.validate().unwrap();
    // The default minibatch is every sequence: B * T / L of them.
    assert_eq!(c.ppo.minibatch, Minibatch::Whole);
    assert_eq!(c.recurrence.num_sequences(&c.ppo), 8192 * 32 / 4);
}

#[test]
fn every_recurrent_rule_names_its_field() {
    let ok = config(8, 32);
    ok.validate().unwrap();
    assert_eq!(field_of(&recur(&ok, 0, Reset::Every(8))), "seq_len");
    // horizon % seq_len == 0
    assert_eq!(field_of(&recur(&ok, 5, Reset::Every(8))), "seq_len");
    assert_eq!(field_of(&recur(&ok, 4, Reset::Every(0))), "state_reset");
    // (horizon * env period) % (seq_len * state period) == 0: 32 % (4 * 3) != 0.
    assert_eq!(field_of(&recur(&ok, 4, Reset::Every(3))), "state_reset");
    // With environments reset every 2 collects, resets every 64 steps line up: 64 % (4 * 16).
    let mut two = recur(&ok, 4, Reset::Every(16));
    assert_eq!(field_of(&two), "state_reset");
    two.ppo.env_reset = Reset::Every(2);
    two.validate().unwrap();
    // Never and never: the schedule only resets at the first step, the environments once.
    let mut never = recur(&ok, 4, Reset::Never);
    never.ppo.env_reset = Reset::Never;
    never.validate().unwrap();
    // Minibatches in sequences: 8 * 32 / 4 = 64 sequences.
    let mut mb = ok.clone();
    mb.ppo.minibatch = Minibatch::Sequences(48);
    assert_eq!(field_of(&mb), "minibatch");
    mb.ppo.minibatch = Minibatch::Sequences(16);
    mb.validate().unwrap();
    mb.ppo.minibatch = Minibatch::Sequences(128);
    assert_eq!(field_of(&mb), "minibatch");
    // In transitions: whole sequences that divide the 64.
    mb.ppo.minibatch = Minibatch::Transitions(64);
    mb.validate().unwrap();
    mb.ppo.minibatch = Minibatch::Transitions(6);
    assert_eq!(field_of(&mb), "minibatch");
    // Shared rules still apply, and the model's sizes are checked.
    let mut clip = ok.clone();
    clip.ppo.clip_param = 1.0;
    assert_eq!(field_of(&clip), "clip_param");
    let bad_model = ok.with_model(RecurrentModelConfig::new().with_hidden_size(0));
    assert_eq!(field_of(&bad_model), "model.hidden_size");
}

#[test]
fn one_collect_with_t32_l4_spsr8_resets_the_state_once() {
    // rl8's test_recurrent_algorithm_resets.
    let device = Device::default();
    let env = DiscreteDummyEnv::new(4, 0, &device).unwrap();
    let mut algo = config(4, 32).init::<B, _>(boxed(env), &device).unwrap();
    let first = algo.collect().unwrap();
    assert_eq!(algo.horizons(), 1);
    assert_eq!(first.env_resets, 4);
    assert_eq!(algo.policy().sequences(), 8);
    assert_eq!(algo.policy().state_resets(), 1);
    algo.step().unwrap();
    algo.collect().unwrap();
    assert_eq!(algo.horizons(), 2);
    assert_eq!(algo.policy().sequences(), 16);
    assert_eq!(algo.policy().state_resets(), 2);
}

#[test]
fn accumulated_sequence_minibatches_give_the_whole_buffer_update() {
    // rl8's test_algorithm for the recurrent algorithm: 8 minibatches of sequences, accumulated,
    // equal one whole-buffer minibatch.
    let device = Device::default();
    let whole = {
        let mut c = recur(&config(16, 16), 4, Reset::Every(4));
        c.ppo.shuffle_minibatches = false;
        c.ppo.entropy_coeff = 1e-2;
        c
    };
    let mut accumulated = whole.clone();
    accumulated.ppo.minibatch = Minibatch::Sequences(16 * 16 / 4 / 8);
    accumulated.ppo.accumulate_grads = true;
    for cell in [CellKind::Lstm, CellKind::Gru] {
        let build = |c: &RecurrentAlgorithmConfig| {
            let c = c.clone().with_model(c.model.clone().with_cell(cell));
            let env = DiscreteDummyEnv::new(16, 5, &device).unwrap();
            c.init::<B, _>(boxed(env), &device).unwrap()
        };
        let (mut a, mut b) = (build(&whole), build(&accumulated));
        for _ in 0..2 {
            a.collect().unwrap();
            b.collect().unwrap();
            let (sa, sb) = (a.step().unwrap(), b.step().unwrap());
            crate::assert_same_losses(
                &[
                    ("losses/total", sa.total_loss, sb.total_loss),
                    ("losses/policy", sa.policy_loss, sb.policy_loss),
                    ("losses/vf", sa.vf_loss, sb.vf_loss),
                    ("losses/entropy", sa.entropy_loss, sb.entropy_loss),
                    ("monitors/kl_div", sa.kl_div, sb.kl_div),
                ],
                &format!("{cell:?}"),
            );
            assert_eq!(sb.optimizer_steps, 4);
        }
    }
}

#[test]
fn continuous_actions_train_and_bad_input_is_an_error() {
    let device = Device::default();
    let env = ContinuousDummyEnv::new(8, 0, &device).unwrap();
    let mut algo = recur(&config(8, 8), 4, Reset::Every(2))
        .init::<B, _>(boxed(env), &device)
        .unwrap();
    assert!(matches!(algo.step(), Err(AlgoError::NotBuffered)));
    let collected = algo.collect().unwrap();
    assert_eq!(collected.transitions, 64);
    let stats = algo.step().unwrap();
    assert!(stats.total_loss.is_finite());
    assert_eq!(algo.trained_steps(), 64);
    // An environment batch of the wrong size.
    let env = ContinuousDummyEnv::new(4, 0, &device).unwrap();
    assert!(matches!(
        recur(&config(8, 8), 4, Reset::Every(2)).init::<B, _>(boxed(env), &device),
        Err(AlgoError::Mismatch { .. })
    ));
}

#[test]
fn evaluation_buffers_nothing() {
    let device = Device::default();
    let env = DiscreteDummyEnv::new(4, 0, &device).unwrap();
    let mut algo: RecurrentAlgorithm<B, _, _> = recur(&config(4, 8), 4, Reset::Every(2))
        .init::<B, _>(boxed(env), &device)
        .unwrap();
    algo.evaluate().unwrap();
    assert!(matches!(algo.step(), Err(AlgoError::NotBuffered)));
    // A training collect, an evaluation, then the step still trains on the training collect.
    algo.collect().unwrap();
    algo.evaluate().unwrap();
    algo.step().unwrap();
    assert_eq!(algo.trained_steps(), 32);
}

#[test]
fn the_trainer_runs_recurrent_ppo_and_saves_what_the_policy_needs() {
    use burn::module::AutodiffModule;
    use rl_algo::{DefaultRecurrentModel, load_model};
    use rl_core::{Observation, RecurrentModel, Space};
    use rl_train::{Trainer, TrainerConfig};

    let device = Device::default();
    let dir = std::env::temp_dir().join(format!("rl_recurrent_trainer_{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let mut c = recur(&config(8, 8), 4, Reset::Every(2));
    c.ppo.normalize_observations = true;
    let env = ContinuousDummyEnv::new(8, 0, &device).unwrap();
    let algo = c.init::<B, _>(boxed(env), &device).unwrap();
    let trainer_config = TrainerConfig::new()
        .with_max_updates(Some(3))
        .with_steps_per_eval(Some(2))
        .with_progress(false)
        .with_out_dir(Some(dir.display().to_string()));
    let mut trainer = Trainer::new(algo, trainer_config).unwrap();
    let last = trainer.run().unwrap();
    assert_eq!(last.get("algorithm/steps"), Some(3.0));
    assert!(trainer.history()[1].get("eval/returns/mean").is_some());
    for file in [
        "metrics.csv",
        "learning_curve.png",
        "policy.mpk",
        "config.json",
        "observation_normalizer.json",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    // The config is the recurrent one and loads back equal.
    let saved = RecurrentAlgorithmConfig::load(dir.join("config.json")).unwrap();
    assert_eq!(saved.recurrence.seq_len, c.recurrence.seq_len);
    assert_eq!(saved.to_string(), c.to_string());
    let normalizer: rl_algo::ObservationNormalizer = serde_json::from_str(
        &std::fs::read_to_string(dir.join("observation_normalizer.json")).unwrap(),
    )
    .unwrap();
    let algo = trainer.into_algorithm();
    assert_eq!(algo.observation_normalizer(), Some(&normalizer));
    // The saved policy is the trained one.
    let fresh: DefaultRecurrentModel<B> = c
        .model
        .init(
            &Space::unbounded(vec![1]).unwrap(),
            &Space::unbounded(vec![1]).unwrap(),
            99,
            &device,
        )
        .unwrap();
    let loaded = load_model(fresh, dir.join("policy.mpk"), &device).unwrap();
    let obs = Observation::new(burn::tensor::Tensor::<B, 2>::ones([2, 1], &device));
    let value = |m: &DefaultRecurrentModel<B>| -> Vec<f32> {
        let m = m.valid();
        let obs = Observation::new(obs.features.clone().inner());
        m.forward(&obs, 1, m.init_state(2, &device))
            .unwrap()
            .values
            .into_data()
            .to_vec()
            .unwrap()
    };
    assert_eq!(value(&loaded), value(algo.model()));
    std::fs::remove_dir_all(&dir).ok();
}
