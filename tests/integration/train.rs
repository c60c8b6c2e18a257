//! End-to-end training: CartPole-v1 is solved within a fixed budget and its saved policy acts
//! as well on a plain backend, the trainer writes its outputs, and a saved policy loads back to
//! the same actions (a damaged or foreign one is refused).

use crate::configs;

use crate::boxed;
use burn::backend::{Autodiff, NdArray};
use burn::module::AutodiffModule;
use rl_algo::{
    Agent, AlgoError, AlgorithmConfig, DefaultModel, DefaultModelConfig, ModelFileProblem,
    load_model, save_model,
};
use rl_core::{Distribution, Env, Model, Observation};
use rl_envs::{CartPole, CartPoleV1};
use rl_train::metrics::read_column;
use rl_train::{Trainer, TrainerConfig};

type B = Autodiff<NdArray>;

/// The env-step budget within which the example config must solve CartPole-v1 (seed 0 needs
/// about 60k; the budget leaves room for float differences between machines).
const BUDGET: u64 = 200_000;

#[test]
fn cartpole_v1_reaches_475_within_the_budget() {
    let device = Default::default();
    let config = configs::cartpole_v1();
    let env = CartPoleV1::<NdArray>::new(config.ppo.num_envs, 0, &device).unwrap();
    let algo = config.init::<B, _>(boxed(env), &device).unwrap();
    let out = std::env::temp_dir().join(format!("rl_cartpole_solved_{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let trainer_config = TrainerConfig::new()
        .with_max_env_steps(Some(BUDGET))
        .with_target_return(Some(configs::CARTPOLE_TARGET))
        .with_out_dir(Some(out.display().to_string()))
        .with_progress(false);
    let mut trainer = Trainer::new(algo, trainer_config).unwrap();
    let last = trainer.run().unwrap();
    let ret = last.get("episode/return_mean").unwrap();
    let steps = last.get("env/steps").unwrap();
    assert!(
        ret >= 475.0,
        "mean episode return {ret} after {steps} env steps (budget {BUDGET})"
    );
    assert!(steps <= BUDGET as f64);
    // It learned: the first update's episodes were short (a random policy lasts ~20 steps).
    assert!(trainer.history()[0].get("episode/return_mean").unwrap() < 60.0);

    // The saved policy acts without the training stack: on the plain ndarray backend (no
    // autodiff), deterministically, on environments it never saw (another seed), one whole
    // episode each, it reaches the trained return.
    let agent = Agent::<NdArray>::load(&out, &device).unwrap();
    let n = 16;
    let mut env = CartPoleV1::<NdArray>::new(n, 12345, &device).unwrap();
    let mut obs = env.reset(None).unwrap();
    let (mut returns, mut first) = (vec![0.0f64; n], vec![None; n]);
    while first.iter().any(Option::is_none) {
        let step = env.step(&agent.act(obs).unwrap()).unwrap();
        let rewards = step.reward.clone().into_data().to_vec::<f32>().unwrap();
        let done = step.done().into_data().to_vec::<bool>().unwrap();
        for i in 0..n {
            returns[i] += f64::from(rewards[i]);
            if done[i] && first[i].is_none() {
                first[i] = Some(returns[i]);
            }
        }
        obs = step.obs;
    }
    let mean = first.iter().flatten().sum::<f64>() / n as f64;
    assert!(
        mean >= 475.0,
        "the loaded policy's mean return {mean} ({first:?})"
    );
    std::fs::remove_dir_all(&out).ok();
}

fn observations(n: usize, device: &burn::tensor::ops::Device<NdArray>) -> Observation<NdArray> {
    let mut env = CartPoleV1::<NdArray>::new(n, 123, device).unwrap();
    env.reset(None).unwrap()
}

/// A default model for CartPole-v1's spaces, freshly initialised.
fn cartpole_v1_model(
    config: &DefaultModelConfig,
    device: &burn::tensor::ops::Device<NdArray>,
) -> DefaultModel<B> {
    let obs = rl_core::Space::unbounded(vec![4]).unwrap();
    config
        .init(&obs, &rl_core::Space::discrete(2).unwrap(), 99, device)
        .unwrap()
}

#[test]
fn saved_policy_loads_back_to_identical_actions() {
    let device = Default::default();
    let dir = std::env::temp_dir().join(format!("rl_save_load_{}", std::process::id()));
    let mut config = configs::cartpole_v1();
    config.ppo.seed = 1;
    let env = CartPoleV1::<NdArray>::new(config.ppo.num_envs, 1, &device).unwrap();
    let mut algo = config.init::<B, _>(boxed(env), &device).unwrap();
    for _ in 0..3 {
        algo.collect().unwrap();
        algo.step().unwrap();
    }
    algo.save_model(dir.join("policy")).unwrap();

    // A fresh model (seed 99) differs until the saved parameters are loaded.
    let fresh = cartpole_v1_model(&config.model, &device);
    let loaded = load_model(fresh.clone(), dir.join("policy.mpk"), &device).unwrap();

    let obs = observations(256, &device);
    let act = |m: &DefaultModel<B>| {
        let out = m.valid().forward(&obs).unwrap();
        (
            out.dist.mode().to_host_discrete().unwrap(),
            out.values.into_data().to_vec::<f32>().unwrap(),
        )
    };
    let (trained_actions, trained_values) = act(algo.model());
    let (loaded_actions, loaded_values) = act(&loaded);
    let (_, fresh_values) = act(&fresh);
    assert_eq!(loaded_actions, trained_actions);
    assert_eq!(loaded_values, trained_values, "bit-identical parameters");
    assert_ne!(fresh_values, trained_values);
    // Loading into a model of another architecture is an error, not a panic.
    let other = cartpole_v1_model(&AlgorithmConfig::new().model, &device);
    assert!(load_model(other, dir.join("policy.mpk"), &device).is_err());
    assert!(load_model(fresh, dir.join("missing.mpk"), &device).is_err());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn saving_keeps_versions_apart_and_a_failed_save_keeps_the_previous_file() {
    let device = Default::default();
    let dir = std::env::temp_dir().join(format!("rl_save_atomic_{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let config = configs::cartpole_v1();
    let first = cartpole_v1_model(&config.model, &device);
    let second = config
        .model
        .init::<B>(
            &rl_core::Space::unbounded(vec![4]).unwrap(),
            &rl_core::Space::discrete(2).unwrap(),
            7,
            &device,
        )
        .unwrap();
    // `model.v1` and `model.v2` are two files (Burn's recorders would write both to model.mpk).
    save_model(first.clone(), dir.join("model.v1")).unwrap();
    save_model(second.clone(), dir.join("model.v2")).unwrap();
    assert!(dir.join("model.v1.mpk").exists() && dir.join("model.v2.mpk").exists());
    let obs = observations(8, &device);
    let values = |m: &DefaultModel<B>| {
        let out = m.valid().forward(&obs).unwrap();
        out.values.into_data().to_vec::<f32>().unwrap()
    };
    let fresh = || cartpole_v1_model(&config.model, &device);
    let v1 = load_model(fresh(), dir.join("model.v1"), &device).unwrap();
    let v2 = load_model(fresh(), dir.join("model.v2"), &device).unwrap();
    assert_eq!(values(&v1), values(&first));
    assert_eq!(values(&v2), values(&second));
    assert_ne!(values(&v1), values(&v2));

    // A save that fails (here: its temporary file cannot be created) is an error naming the
    // file and leaves the previous file whole.
    let before = std::fs::read(dir.join("model.v1.mpk")).unwrap();
    let temporary = dir.join(format!(".model.v1.mpk.tmp-{}", std::process::id()));
    std::fs::create_dir(&temporary).unwrap();
    match save_model(second.clone(), dir.join("model.v1")) {
        Err(rl_algo::AlgoError::Io { path, .. }) => assert_eq!(path, dir.join("model.v1.mpk")),
        other => panic!("expected an Io error, got {other:?}"),
    }
    assert_eq!(std::fs::read(dir.join("model.v1.mpk")).unwrap(), before);

    // A policy file with one byte changed, cut short, or not a policy file at all is refused
    // (it used to load with NaN parameters); so is one saved with biases into a model without
    // them (it used to load silently).
    let good = std::fs::read(dir.join("model.v1.mpk")).unwrap();
    let problem = |bytes: &[u8]| {
        std::fs::write(dir.join("bad.mpk"), bytes).unwrap();
        match load_model(fresh(), dir.join("bad.mpk"), &device) {
            Err(AlgoError::ModelFile { problem, .. }) => problem,
            other => panic!("expected a model-file problem, got {other:?}"),
        }
    };
    for i in [good.len() / 2, 9, good.len() - 1] {
        let mut flipped = good.clone();
        flipped[i] ^= 0x10;
        assert!(
            matches!(problem(&flipped), ModelFileProblem::Damaged(_)),
            "byte {i}"
        );
    }
    for len in [0, 10, good.len() - 5] {
        let expected = if len < 8 {
            ModelFileProblem::NotAModel
        } else {
            ModelFileProblem::Damaged("")
        };
        assert_eq!(
            std::mem::discriminant(&problem(&good[..len])),
            std::mem::discriminant(&expected),
            "truncated to {len}"
        );
    }
    assert_eq!(
        problem(b"{\"not\": \"a model\"}"),
        ModelFileProblem::NotAModel
    );
    let without_biases = config.model.clone().with_bias(false);
    let model = |c: &DefaultModelConfig| cartpole_v1_model(c, &device);
    save_model(model(&config.model), dir.join("biased")).unwrap();
    match load_model(model(&without_biases), dir.join("biased"), &device) {
        Err(AlgoError::Architecture { detail, .. }) => {
            assert!(detail.contains("parameters"), "{detail}")
        }
        other => panic!("expected an architecture error, got {other:?}"),
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn trainer_writes_csv_png_policy_and_config_and_sees_eval_stats() {
    let device = Default::default();
    let dir = std::env::temp_dir().join(format!("rl_trainer_out_{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let mut config = configs::cartpole_rl8();
    config.ppo = config.ppo.with_num_envs(8).with_horizon(16).with_seed(3);
    let algo = || {
        let env = CartPole::<NdArray>::new(8, 3, &device).unwrap();
        config
            .clone()
            .with_model(config.model.clone().with_hiddens(vec![16]))
            .init::<B, _>(boxed(env), &device)
            .unwrap()
    };
    let trainer_config = TrainerConfig::new()
        .with_max_updates(Some(4))
        .with_steps_per_eval(Some(2))
        .with_out_dir(Some(dir.display().to_string()))
        .with_progress(false);
    let mut trainer = Trainer::new(algo(), trainer_config).unwrap();
    let last = trainer.run().unwrap();
    assert_eq!(last.get("algorithm/steps"), Some(4.0));
    assert_eq!(last.get("env/steps"), Some(4.0 * 8.0 * 16.0));
    // rl8's task never ends an episode: the episode return is rl8's returns/mean.
    assert_eq!(last.get("episode/return_mean"), last.get("returns/mean"));
    assert!(
        last.get("eval/returns/mean").is_some(),
        "update 4 ran an evaluation"
    );

    let csv = dir.join("metrics.csv");
    let header = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    for column in [
        "env_steps",
        "wall_s",
        "episode_return_mean",
        "episode_length_mean",
        "loss_policy",
        "loss_value",
        "loss_entropy",
        "approx_kl",
        "clip_fraction",
        "explained_variance",
        "learning_rate",
        "transitions_per_s",
    ] {
        assert!(
            header.split(',').any(|c| c == column),
            "column {column} in {header}"
        );
    }
    let steps = read_column(&csv, "env_steps").unwrap();
    assert_eq!(
        steps,
        vec![Some(128.0), Some(256.0), Some(384.0), Some(512.0)]
    );
    let eval = read_column(&csv, "eval_return_mean").unwrap();
    assert_eq!(
        eval.iter().map(Option::is_some).collect::<Vec<_>>(),
        vec![false, true, false, true]
    );
    let lr = read_column(&csv, "learning_rate").unwrap();
    assert!(lr.iter().all(|x| *x == Some(1e-3)));

    // The TensorBoard file: the version event, then one event per update (the content is
    // checked by TensorBoard's own reader in CI, `.ci/tensorboard_readback.py`).
    let events = trainer.events_path().unwrap().to_path_buf();
    assert_eq!(events.parent(), Some(dir.as_path()));
    let bytes = std::fs::read(&events).unwrap();
    let (mut at, mut records) = (0, 0);
    while at + 8 <= bytes.len() {
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        at += 16 + len;
        records += 1;
    }
    assert_eq!((at, records), (bytes.len(), 5));

    // A second run into the same directory is refused (the first run's files stay as they
    // were), unless it may overwrite them.
    let second = |overwrite: bool| {
        let trainer_config = TrainerConfig::new()
            .with_max_updates(Some(1))
            .with_out_dir(Some(dir.display().to_string()))
            .with_overwrite(overwrite)
            .with_progress(false);
        Trainer::new(algo(), trainer_config)
    };
    let csv_before = std::fs::read(&csv).unwrap();
    match second(false) {
        Err(rl_train::TrainError::OutDirInUse { found, .. }) => {
            assert!(
                found.contains("metrics.csv") && found.contains("policy.mpk"),
                "{found}"
            )
        }
        Err(other) => panic!("expected OutDirInUse, got {other:?}"),
        Ok(_) => panic!("expected OutDirInUse, got a trainer"),
    }
    assert_eq!(std::fs::read(&csv).unwrap(), csv_before);

    let png = std::fs::read(dir.join("learning_curve.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert!(dir.join("policy.mpk").exists());
    let saved = AlgorithmConfig::load(dir.join("config.json")).unwrap();
    assert_eq!(
        (saved.ppo.num_envs, saved.ppo.horizon, saved.ppo.seed),
        (8, 16, 3)
    );
    assert_eq!(saved.model.hiddens, vec![16]);
    // With overwrite, the earlier run's files are removed before the new run writes its own.
    let mut trainer = second(true).unwrap();
    assert!(!dir.join("policy.mpk").exists());
    let event_files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("events.out.tfevents.")
        })
        .collect();
    assert_eq!(event_files.len(), 1, "the earlier run's event file is gone");
    assert!(
        std::fs::metadata(event_files[0].path()).unwrap().len() < bytes.len() as u64,
        "only the new run's version event"
    );
    assert!(
        dir.join("config.json").exists(),
        "the config is written when the run starts"
    );
    trainer.run().unwrap();
    assert_eq!(read_column(&csv, "env_steps").unwrap(), vec![Some(128.0)]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn same_seed_same_numbers() {
    let run = |seed: u64| {
        let device = Default::default();
        let mut config = configs::cartpole_v1();
        config.ppo.seed = seed;
        let env = CartPoleV1::<NdArray>::new(config.ppo.num_envs, seed, &device).unwrap();
        let mut algo = config.init::<B, _>(boxed(env), &device).unwrap();
        let mut out = Vec::new();
        for _ in 0..2 {
            let c = algo.collect().unwrap();
            let s = algo.step().unwrap();
            out.push((c.rewards.mean, c.episodes.len(), s.total_loss));
        }
        out
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}
