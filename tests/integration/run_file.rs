//! Run files: the examples' run files parse and print back to themselves; an unknown key or a
//! bad value is refused with its path.

use rl_algo::{Minibatch, Reset};
use rl_envs::EnvKind;
use rl_train::{AlgorithmSpec, RunFile, TrainError};

use crate::configs;

/// The error of parsing `text`, which must be refused.
fn refused(text: &str) -> TrainError {
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
    ]
    .into_iter()
    .chain(configs::TABLE.map(|(text, _, _)| text))
    {
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
    // The table's run files stop on their row's target and at its budget.
    for (text, target, budget) in configs::TABLE {
        let run = RunFile::parse(text).unwrap();
        assert_eq!(run.trainer.target_return, Some(target), "{text}");
        assert_eq!(run.trainer.max_env_steps, Some(budget), "{text}");
    }
}

#[test]
fn unknown_keys_and_bad_values_are_named_by_their_path() {
    let unknown = |text: &str| match refused(text) {
        TrainError::UnknownKeys(keys) => keys
            .into_iter()
            .map(|k| (k.path, k.nearest))
            .collect::<Vec<_>>(),
        other => panic!("{other}"),
    };
    let key =
        |path: &str, nearest: Option<&str>| vec![(path.to_string(), nearest.map(String::from))];
    assert_eq!(
        unknown(&format!("{HEAD}[ppo]\nhorizn = 3\nnum_envs = 4\n")),
        key("ppo.horizn", Some("horizon"))
    );
    assert_eq!(
        unknown(&format!(
            "{HEAD}[ppo.optimizer]\nepsilon = 1e-5\nbeta1 = 0.9\n"
        )),
        key("ppo.optimizer.beta1", Some("beta_1"))
    );
    assert_eq!(
        unknown(&format!("{HEAD}[trainer]\nmax_update = 3\n")),
        key("trainer.max_update", Some("max_updates"))
    );
    assert_eq!(
        unknown(&format!("{HEAD}gravityy = 3.0\n")),
        key("env.gravityy", Some("gravity"))
    );
    assert_eq!(
        unknown(&format!("{HEAD}[algo]\nx = 1\n")),
        key("algo", Some("algorithm"))
    );
    assert_eq!(
        refused(&format!("{HEAD}[ppo]\nhorizn = 3\n")).to_string(),
        "unknown key: `ppo.horizn` (did you mean `horizon`?)"
    );

    let bad_value = |text: &str| match refused(text) {
        TrainError::BadValue { path, message } => (path, message),
        other => panic!("{other}"),
    };
    let (path, message) = bad_value(&format!("{HEAD}[ppo]\nhorizon = \"long\"\n"));
    assert_eq!(path, "ppo.horizon");
    assert!(message.contains("expected usize"), "{message}");
    let (path, _) = bad_value(&format!("{HEAD}[ppo]\nminibatch = {{ Transition = 4 }}\n"));
    assert_eq!(path, "ppo.minibatch");
    // JSON, which the sections are read through, has no NaN: named here by its path.
    let (path, message) = bad_value(&format!("{HEAD}[ppo]\nlearning_rate = nan\n"));
    assert_eq!(path, "ppo.learning_rate");
    assert!(message.contains("not a finite number"), "{message}");
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
        TrainError::MissingKey("algorithm")
    ));
    assert!(matches!(
        refused("algorithm = "),
        TrainError::RunFileSyntax(_)
    ));
}
