//! The `rl` command's library: the examples' run files parse and print back to themselves; an
//! unknown key or a bad value is refused with its path; a run file trains, resumes exactly
//! and evaluates.

use std::path::{Path, PathBuf};

use rl_algo::{Minibatch, Reset};
use rl_cli::{AlgorithmSpec, RUN_FILE, RunFile, RunFileError, TrainOptions, evaluate, train};
use rl_envs::EnvKind;

use crate::configs;
use crate::resume::assert_same_metrics;

/// The error of parsing `text`, which must be refused.
fn refused(text: &str) -> RunFileError {
    match RunFile::parse(text) {
        Ok(run) => panic!("accepted: {run:?}"),
        Err(e) => e,
    }
}

const HEAD: &str = "algorithm = \"ppo\"\n[env]\nname = \"CartPole-v1\"\n";

#[test]
fn the_examples_run_files_parse_and_print_back_to_themselves() {
    for text in [
        configs::CARTPOLE,
        configs::CARTPOLE_NO_VELOCITY,
        configs::CARTPOLE_RL8,
        configs::PENDULUM,
        configs::RECALL,
    ] {
        let run = RunFile::parse(text).unwrap();
        let printed = run.to_toml().unwrap();
        let again = RunFile::parse(&printed).unwrap();
        assert_eq!(again.to_toml().unwrap(), printed);
        assert_eq!(
            format!("{:?}", again.algorithm),
            format!("{:?}", run.algorithm)
        );
    }
    // A file gives the keys that differ; the others keep rl8's defaults.
    let run = RunFile::parse(configs::CARTPOLE).unwrap();
    assert_eq!(run.env.kind, EnvKind::CartPoleV1);
    assert_eq!(run.trainer.target_return, Some(configs::CARTPOLE_TARGET));
    assert_eq!(run.trainer.max_updates, Some(500));
    let AlgorithmSpec::Ppo(c) = &run.algorithm else {
        panic!("feed-forward")
    };
    assert_eq!((c.ppo.num_envs, c.ppo.horizon), (16, 64));
    assert_eq!(c.ppo.minibatch, Minibatch::Transitions(256));
    assert_eq!(c.ppo.env_reset, Reset::Never);
    assert_eq!(c.ppo.learning_rate, 3e-3);
    assert_eq!((c.ppo.clip_param, c.ppo.num_sgd_iters), (0.2, 4));
    assert_eq!(c.model.hiddens, [64, 64]);
    let no_velocity = RunFile::parse(configs::CARTPOLE_NO_VELOCITY).unwrap();
    assert_eq!(
        no_velocity.trainer.target_return,
        Some(configs::CARTPOLE_TARGET)
    );
    let AlgorithmSpec::RecurrentPpo(c) = &no_velocity.algorithm else {
        panic!("recurrent")
    };
    assert_eq!((c.recurrence.seq_len, c.model.hidden_size), (8, 64));
    // An enum's value replaces the default's whole.
    let AlgorithmSpec::Ppo(c) = RunFile::parse(configs::PENDULUM).unwrap().algorithm else {
        panic!("feed-forward")
    };
    assert_eq!(c.ppo.env_reset, Reset::Every(4));
}

#[test]
fn unknown_keys_and_bad_values_are_named_by_their_path() {
    let unknown = |text: &str| match refused(text) {
        RunFileError::UnknownKeys(keys) => keys,
        other => panic!("{other}"),
    };
    assert_eq!(
        unknown(&format!("{HEAD}[ppo]\nhorizn = 3\nnum_envs = 4\n")),
        ["ppo.horizn"]
    );
    assert_eq!(
        unknown(&format!(
            "{HEAD}[ppo.optimizer]\nepsilon = 1e-5\nbeta1 = 0.9\n"
        )),
        ["ppo.optimizer.beta1"]
    );
    assert_eq!(
        unknown(&format!("{HEAD}[trainer]\nmax_update = 3\n")),
        ["trainer.max_update"]
    );
    assert_eq!(
        unknown(&format!("{HEAD}gravityy = 3.0\n")),
        ["env.gravityy"]
    );
    assert_eq!(unknown(&format!("{HEAD}[algo]\nx = 1\n")), ["algo"]);

    let bad_value = |text: &str| match refused(text) {
        RunFileError::BadValue { path, message } => (path, message),
        other => panic!("{other}"),
    };
    let (path, message) = bad_value(&format!("{HEAD}[ppo]\nhorizon = \"long\"\n"));
    assert_eq!(path, "ppo.horizon");
    assert!(message.contains("expected usize"), "{message}");
    let (path, _) = bad_value(&format!("{HEAD}[ppo]\nminibatch = {{ Transition = 4 }}\n"));
    assert_eq!(path, "ppo.minibatch");
    let (path, _) = bad_value(&format!("{HEAD}[model]\nactivation = \"Tan\"\n"));
    assert_eq!(path, "model.activation");
    let (path, _) = bad_value(&format!("{HEAD}[recurrence]\nseq_len = 4\n"));
    assert_eq!(path, "recurrence");
    let (path, message) = bad_value("algorithm = \"ppo\"\n[env]\nname = \"CartPole-v0\"\n");
    assert_eq!(path, "env.name");
    assert!(
        message.contains("CartPole-v1"),
        "the names are listed: {message}"
    );
    let (path, _) = bad_value(&format!("{HEAD}[trainer]\nout_dir = \"x\"\n"));
    assert_eq!(path, "trainer.out_dir");
    let (path, _) = bad_value("algorithm = \"a2c\"\n[env]\nname = \"CartPole-v1\"\n");
    assert_eq!(path, "algorithm");
    assert!(matches!(
        refused("[env]\nname = \"CartPole-v1\"\n"),
        RunFileError::Missing("algorithm")
    ));
    assert!(matches!(refused("algorithm = "), RunFileError::Syntax(_)));
}

/// A fresh output directory for `name`.
fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rl_cli_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The CartPole run file, made small, with the environment's `length` changed (a reset key).
fn small_run() -> RunFile {
    let text = configs::CARTPOLE.replace(
        "name = \"CartPole-v1\"",
        "name = \"CartPole-v1\"\nlength = 0.6",
    );
    let mut run = RunFile::parse(&text).unwrap();
    let AlgorithmSpec::Ppo(c) = &mut run.algorithm else {
        panic!("feed-forward")
    };
    c.ppo.num_envs = 8;
    c.ppo.horizon = 32;
    c.ppo.minibatch = Minibatch::Transitions(64);
    c.model.hiddens = vec![16, 16];
    run.trainer.steps_per_eval = Some(2);
    run.trainer.checkpoint_every = Some(1);
    run.trainer.progress = false;
    run
}

fn options(out: &Path, updates: u64, resume: bool) -> TrainOptions {
    TrainOptions {
        out: out.to_path_buf(),
        overwrite: false,
        resume,
        max_updates: Some(updates),
        backend: None,
    }
}

#[test]
fn a_run_file_trains_resumes_exactly_and_evaluates() {
    let run = small_run();
    let straight = out_dir("straight");
    let outcome = train(&run, &options(&straight, 5, false)).unwrap();
    assert_eq!(outcome.last.get("algorithm/steps"), Some(5.0));
    assert_eq!(outcome.solved(), Some(false));

    // Stopped after 2, then resumed from what the directory holds: its run file.
    let resumed = out_dir("resumed");
    train(&run, &options(&resumed, 2, false)).unwrap();
    let saved = RunFile::read(&resumed.join(RUN_FILE)).unwrap();
    assert_eq!(saved.to_toml().unwrap(), run.to_toml().unwrap());
    assert_eq!(saved.env.config.get("length"), Some(&0.6));
    train(&saved, &options(&resumed, 5, true)).unwrap();
    assert_same_metrics(&straight, &resumed, 5);

    // A seed TOML cannot hold is an error naming the section, not a panic, and leaves no
    // files behind.
    let mut huge = small_run();
    huge.algorithm.ppo_mut().seed = u64::MAX;
    let unwritable = out_dir("unwritable");
    let error = train(&huge, &options(&unwritable, 1, false)).unwrap_err();
    match error.downcast_ref::<RunFileError>() {
        Some(RunFileError::BadValue { path, .. }) => assert_eq!(path, "ppo"),
        _ => panic!("expected a bad `ppo`, got {error}"),
    }
    assert!(!unwritable.exists());

    // A directory holding a run is not trained into again.
    assert!(train(&run, &options(&straight, 5, false)).is_err());

    let first = evaluate(&straight, 6, None).unwrap();
    assert_eq!(first.returns.len(), 6);
    assert!(first.returns.iter().all(|&r| (1.0..=500.0).contains(&r)));
    assert_eq!(
        evaluate(&straight, 6, None).unwrap(),
        first,
        "deterministic"
    );
    assert!(evaluate(&out_dir("empty"), 6, None).is_err());
}

#[test]
fn every_environment_trains_from_a_run_file_with_either_algorithm() {
    for kind in EnvKind::ALL {
        for (algorithm, model) in [
            ("ppo", "[model]\nhiddens = [8]"),
            (
                "recurrent_ppo",
                "[model]\nhidden_size = 8\n[recurrence]\nseq_len = 4\nstate_reset = { Every = 2 }",
            ),
        ] {
            let text = format!(
                "algorithm = \"{algorithm}\"\n[env]\nname = \"{}\"\n\
                 [ppo]\nnum_envs = 4\nhorizon = 8\n{model}\n\
                 [trainer]\nmax_updates = 2\nprogress = false\ntensorboard = false\n",
                kind.name()
            );
            let run = RunFile::parse(&text).unwrap();
            let out = out_dir(&format!("{algorithm}_{kind}"));
            let outcome = train(&run, &options(&out, 2, false)).unwrap();
            assert_eq!(
                outcome.last.get("algorithm/steps"),
                Some(2.0),
                "{algorithm} on {kind}"
            );
            assert!(out.join("checkpoints/update-00000002.ckpt").exists());
            assert!(out.join(RUN_FILE).exists() && out.join("policy.mpk").exists());
            std::fs::remove_dir_all(&out).ok();
        }
    }
}
