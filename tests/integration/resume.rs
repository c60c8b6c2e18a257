//! Checkpoints and resume: a run stopped after `K` updates and resumed to `N` gives, bit for
//! bit, the statistics and weights of a run of `N` updates straight (feed-forward and
//! recurrent PPO); a run killed with SIGKILL at random moments and resumed each time ends the
//! same; checkpoints from another config and damaged files are refused with errors that say so.

use std::path::{Path, PathBuf};
use std::time::Duration;

use burn::backend::{Autodiff, NdArray};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use rand::{RngExt, SeedableRng};
use rl_algo::{
    AlgoError, Algorithm, CheckpointProblem, DefaultModel, DefaultRecurrentModel, Policy, Ppo,
    RecurrentAlgorithm, load_model,
};
use rl_core::Env;
use rl_envs::{CartPoleNoVelocity, CartPoleV1};
use rl_train::{TrainError, Trainer, TrainerConfig};

use crate::same_metrics::assert_same_metrics;

use crate::configs;
use crate::{DynEnv, boxed};

type B = Autodiff<NdArray>;

/// Updates of the whole run, and where the interrupted run stops.
const N: u64 = 8;
const K: u64 = 3;
/// Updates of the run killed again and again: long enough that every kill lands mid-run (40
/// were too few once the tanh layers were fused: the run finished before the 8th kill).
const N_KILLED: u64 = 120;

/// Every float parameter of `model`, in visiting order.
fn parameters<M: Module<B>>(model: &M) -> Vec<Vec<f32>> {
    struct Values(Vec<Vec<f32>>);
    impl ModuleVisitor<B> for Values {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.push(param.val().into_data().to_vec().unwrap());
        }
    }
    let mut values = Values(Vec::new());
    model.visit(&mut values);
    values.0
}

/// The weights of the policy saved in `dir`, loaded into a model like `model`.
fn saved_weights<M: Module<B>>(model: M, dir: &Path) -> Vec<Vec<f32>> {
    parameters(&load_model(model, dir.join("policy.mpk"), &Default::default()).unwrap())
}

/// Feed-forward PPO on CartPole-v1 with every piece of state a checkpoint must carry:
/// observation and reward normalizers, episode windows, evaluation.
fn feed_forward(seed: u64) -> Algorithm<B, DynEnv, DefaultModel<B>> {
    let mut config = configs::cartpole_v1();
    config.ppo = config
        .ppo
        .with_num_envs(8)
        .with_horizon(32)
        .with_normalize_observations(true)
        .with_normalize_rewards(true)
        .with_seed(seed);
    config.model = config.model.with_hiddens(vec![16, 16]);
    let device = Default::default();
    let env = CartPoleV1::<NdArray>::new(8, seed, &device).unwrap();
    config.init::<B, _>(boxed(env), &device).unwrap()
}

/// Recurrent PPO (an LSTM) on CartPole-v1 without velocities: the carried state too.
fn recurrent(seed: u64) -> RecurrentAlgorithm<B, DynEnv, DefaultRecurrentModel<B>> {
    let mut config = configs::cartpole_no_velocity();
    config.ppo = config.ppo.with_num_envs(8).with_horizon(16).with_seed(seed);
    config.recurrence = config.recurrence.with_seq_len(4);
    config.model = config.model.with_hidden_size(8);
    let device = Default::default();
    let env = CartPoleNoVelocity::<NdArray>::new(8, seed, &device).unwrap();
    config.init::<B, _>(boxed(env), &device).unwrap()
}

fn trainer_config(out: &Path, updates: u64) -> TrainerConfig {
    TrainerConfig::new()
        .with_out_dir(Some(out.to_string_lossy().into_owned()))
        .with_max_updates(Some(updates))
        .with_steps_per_eval(Some(2))
        .with_checkpoint_every(Some(1))
        .with_progress(false)
}

/// A fresh output directory for `name`.
fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rl_resume_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Asserts that two runs wrote the same `metrics.csv` ([`assert_same_metrics`]) and the same
/// policy weights, bit for bit; `model` is a model of
/// the runs' architecture to load them into.
fn assert_same_run<M: Module<B>>(straight: &Path, resumed: &Path, model: M, updates: u64) {
    assert_same_metrics(straight, resumed, updates);
    // (The files differ: they hold each model's parameter ids.)
    let weights = saved_weights(model.clone(), straight);
    assert!(
        weights == saved_weights(model, resumed),
        "the weights differ"
    );
}

/// N updates straight, and K updates then a resume to N, with `build` making the algorithm.
fn check_resume<E: Env<NdArray>, P: Policy<B>>(name: &str, build: impl Fn(u64) -> Ppo<B, E, P>) {
    let model = build(0).model().clone();
    let straight = out_dir(&format!("{name}_straight"));
    Trainer::new(build(0), trainer_config(&straight, N))
        .unwrap()
        .run()
        .unwrap();
    let resumed = out_dir(&format!("{name}_resumed"));
    let mut first = Trainer::new(build(0), trainer_config(&resumed, K)).unwrap();
    first.run().unwrap();
    assert_eq!(first.history().len() as u64, K);
    drop(first);
    let mut second = Trainer::resume(build(0), trainer_config(&resumed, N)).unwrap();
    assert_eq!(second.history().len() as u64, K, "the history comes back");
    second.run().unwrap();
    assert_same_run(&straight, &resumed, model.clone(), N);
    // Resuming a finished run with the same limit runs nothing more.
    let mut again = Trainer::resume(build(0), trainer_config(&resumed, N)).unwrap();
    again.run().unwrap();
    assert_eq!(again.history().len() as u64, N);
    assert_same_run(&straight, &resumed, model, N);
    // Only the newest checkpoints are kept.
    let kept = std::fs::read_dir(resumed.join("checkpoints"))
        .unwrap()
        .count();
    assert_eq!(kept, 2);
}

#[test]
fn feed_forward_resume_is_bit_exact() {
    check_resume("ff", feed_forward);
}

#[test]
fn recurrent_resume_is_bit_exact() {
    check_resume("rec", recurrent);
}

/// The newest checkpoint of a run's output directory.
fn newest_checkpoint(out: &Path) -> PathBuf {
    let mut all: Vec<PathBuf> = std::fs::read_dir(out.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ckpt"))
        .collect();
    all.sort();
    all.pop().unwrap()
}

fn checkpoint_problem(error: TrainError) -> CheckpointProblem {
    match error {
        TrainError::Algo(AlgoError::Checkpoint { problem, .. }) => problem,
        other => panic!("expected a checkpoint error, got {other}"),
    }
}

#[test]
fn checkpoints_from_another_config_or_damaged_are_refused() {
    let out = out_dir("refused");
    Trainer::new(feed_forward(0), trainer_config(&out, 2))
        .unwrap()
        .run()
        .unwrap();
    // Another seed: the error names the key.
    let error = Trainer::resume(feed_forward(1), trainer_config(&out, 4))
        .err()
        .unwrap();
    let message = error.to_string();
    assert!(
        matches!(
            checkpoint_problem(error),
            CheckpointProblem::ConfigDiffers(_)
        ),
        "{message}"
    );
    assert!(message.contains("`ppo.seed`: saved 0, now 1"), "{message}");
    // Another algorithm (recurrent) on this run: refused too.
    assert!(Trainer::resume(recurrent(0), trainer_config(&out, 4)).is_err());

    let path = newest_checkpoint(&out);
    let good = std::fs::read(&path).unwrap();
    // What resuming says once the newest checkpoint holds `bytes`.
    let problem_with = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        let error = Trainer::resume(feed_forward(0), trainer_config(&out, 4))
            .err()
            .unwrap();
        checkpoint_problem(error)
    };
    // Truncated, then one flipped byte in the middle: damaged, never a panic.
    assert!(matches!(
        problem_with(&good[..good.len() / 2]),
        CheckpointProblem::Damaged(_)
    ));
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x01;
    assert!(matches!(
        problem_with(&flipped),
        CheckpointProblem::Damaged(_)
    ));
    assert!(matches!(
        problem_with(b"not a checkpoint"),
        CheckpointProblem::NotACheckpoint
    ));
    // A directory without checkpoints.
    let empty = out_dir("empty");
    assert!(matches!(
        Trainer::resume(feed_forward(0), trainer_config(&empty, 4)),
        Err(TrainError::Resume { .. })
    ));
}

/// The environment variable that makes [`killed_child`] train into the directory it names.
const CHILD_DIR: &str = "RL_TEST_KILLED_CHILD_DIR";

/// Trains the feed-forward run of `N` updates into `CHILD_DIR`, continuing from its newest
/// checkpoint if it has one: run by [`kill_9_at_random_moments_then_resume`] in a child
/// process of this test binary, which it kills. Does nothing in a normal test run.
#[test]
#[ignore = "run by kill_9_at_random_moments_then_resume as a child process"]
fn killed_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    train_or_resume(Path::new(&dir));
}

fn train_or_resume(dir: &Path) {
    let has_checkpoint = std::fs::read_dir(dir.join("checkpoints"))
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "ckpt"))
        })
        .unwrap_or(false);
    let config = trainer_config(dir, N_KILLED);
    let mut trainer = if has_checkpoint {
        Trainer::resume(feed_forward(0), config).unwrap()
    } else {
        // Killed before its first checkpoint: start again.
        Trainer::new(feed_forward(0), config.with_overwrite(true)).unwrap()
    };
    trainer.run().unwrap();
}

#[test]
fn kill_9_at_random_moments_then_resume() {
    let straight = out_dir("kill_straight");
    Trainer::new(feed_forward(0), trainer_config(&straight, N_KILLED))
        .unwrap()
        .run()
        .unwrap();
    let killed = out_dir("kill_resumed");
    let mut interrupted = 0;
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    for _ in 0..10 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "resume::killed_child",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, &killed)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(5..100)));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        // SIGKILL on Unix: no destructor, no flush runs.
        let _ = child.kill();
        child.wait().unwrap();
    }
    train_or_resume(&killed);
    assert!(
        interrupted >= 8,
        "only {interrupted} of 10 kills landed mid-run"
    );
    assert_same_run(
        &straight,
        &killed,
        feed_forward(0).model().clone(),
        N_KILLED,
    );
}
