//! The `rl` command's library: a run file trains, resumes exactly and evaluates, on every
//! environment with either algorithm. (Its run files are `rl_train::RunFile`, tested with the
//! integration tests.) A test target of its own: it calls the library's compiled code, so it
//! builds in seconds.

use std::path::{Path, PathBuf};

use clap::{Args, Command, FromArgMatches};
use rl_algo::Minibatch;
use rl_cli::{RUN_FILE, RunFlags, TrainOptions, evaluate, train};
use rl_envs::EnvKind;
use rl_train::{AlgorithmSpec, RunFile, TrainError};

/// The examples' run files (the file the integration tests include too).
#[path = "../../../examples/configs/mod.rs"]
#[allow(dead_code)]
mod configs;

/// `assert_same_metrics` (the integration tests' check of a resumed run).
#[path = "../../../tests/same_metrics.rs"]
mod same_metrics;
use same_metrics::assert_same_metrics;

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
    match error.downcast_ref::<TrainError>() {
        Some(TrainError::BadValue { path, .. }) => assert_eq!(path, "ppo"),
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

/// The run file `text` with the command-line flags `args` applied.
fn with_flags(text: &str, args: &[&str]) -> RunFile {
    let command = RunFlags::augment_args(Command::new("rl"));
    let matches = command.get_matches_from(std::iter::once("rl").chain(args.iter().copied()));
    let flags = RunFlags::from_arg_matches(&matches).unwrap();
    let mut run = RunFile::parse(text).unwrap();
    flags.apply(&mut run);
    run
}

#[test]
fn flags_that_resize_the_buffer_keep_a_minibatch_that_divides_it() {
    // CartPole: 16 x 64 in 4 minibatches of 256 transitions.
    let cases = [
        (&["--num-envs", "17"][..], Minibatch::Transitions(272)),
        // 11 transitions split into no more than 4: 1 minibatch (11 is prime).
        (
            &["--num-envs", "11", "--horizon", "1"][..],
            Minibatch::Transitions(11),
        ),
        // 3 x 10 = 30: 4 do not divide it, 3 do.
        (
            &["--num-envs", "3", "--horizon", "10"][..],
            Minibatch::Transitions(10),
        ),
    ];
    for (args, expected) in cases {
        let run = with_flags(configs::CARTPOLE, args);
        assert_eq!(run.algorithm.ppo().minibatch, expected, "{args:?}");
        run.algorithm.validate().unwrap();
    }
    // Recurrent (16 x 32, seq_len 8: 64 sequences in 4 minibatches of 16): whole sequences.
    let cases = [
        (&["--num-envs", "7"][..], Minibatch::Sequences(7)),
        (
            &["--num-envs", "3", "--horizon", "8"][..],
            Minibatch::Sequences(1),
        ),
    ];
    for (args, expected) in cases {
        let run = with_flags(configs::CARTPOLE_NO_VELOCITY, args);
        assert_eq!(run.algorithm.ppo().minibatch, expected, "{args:?}");
        run.algorithm.validate().unwrap();
    }
    // A flag that breaks a rule is named as the flag's field, not as a value no flag set.
    let run = with_flags(configs::CARTPOLE_NO_VELOCITY, &["--horizon", "12"]);
    let message = run.algorithm.validate().unwrap_err().to_string();
    assert!(
        message.contains("horizon") || message.contains("seq_len"),
        "{message}"
    );
}
