//! Every validation rule of `PpoConfig` and `AlgorithmConfig`, each named by its field; JSON
//! configs read over the defaults and saved only when they load back; the memory estimate and
//! the activation checks, refused before anything is allocated.

use burn::backend::{Autodiff, NdArray};
use burn::nn::activation::ActivationConfig;
use burn::nn::activation::{LeakyReluConfig, PReluConfig, SwiGluConfig};
use burn::optim::AdamConfig;
use rl_algo::{
    AlgoError, AlgorithmConfig, DefaultModelConfig, MemoryLimit, Minibatch, PpoConfig,
    RecurrenceConfig, RecurrentAlgorithmConfig, RecurrentModelConfig, Reset, ScheduleKind,
};
use rl_core::Env;
use rl_envs::CartPoleV1;

/// A small valid config (the defaults with a small batch).
fn ok() -> PpoConfig {
    PpoConfig::new().with_num_envs(8).with_horizon(4)
}

fn field_of(config: &PpoConfig) -> String {
    let config = AlgorithmConfig::new().with_ppo(config.clone());
    match config.validate() {
        Err(AlgoError::InvalidConfig { field, .. }) => field,
        other => panic!("expected InvalidConfig, got {other:?} for {config:?}"),
    }
}

#[test]
fn defaults_are_rl8s_and_valid() {
    let c = PpoConfig::new();
    assert_eq!(
        (c.horizon, c.env_reset, c.num_envs),
        (32, Reset::Every(1), 8192)
    );
    assert_eq!(
        (c.gae_lambda, c.gamma, c.clip_param, c.vf_clip_param),
        (0.95, 0.95, 0.2, 5.0)
    );
    assert_eq!(
        (
            c.vf_coeff,
            c.max_grad_norm,
            c.num_sgd_iters,
            c.entropy_coeff
        ),
        (1.0, 5.0, 4, 0.0)
    );
    assert_eq!(
        (c.dual_clip_param, c.target_kl_div, c.minibatch),
        (None, None, Minibatch::Whole)
    );
    assert!(c.shuffle_minibatches && c.normalize_advantages && c.normalize_rewards);
    assert!(!c.accumulate_grads);
    assert_eq!(c.learning_rate, 1e-3);
    let adam = serde_json::to_value(&c.optimizer).unwrap();
    assert_eq!(
        adam["epsilon"].as_f64().unwrap() as f32,
        1e-8,
        "torch's Adam epsilon, not Burn's 1e-5"
    );
    assert_eq!(AlgorithmConfig::new().model.hiddens, vec![256, 256]);
    assert_eq!(c.lr_schedule_kind, ScheduleKind::Step);
    assert!(c.validate().is_ok());
    assert_eq!(c.buffer_size(), 8192 * 32);
}

#[test]
fn every_rule_names_its_field() {
    let cases: Vec<(PpoConfig, &str)> = vec![
        (ok().with_num_envs(0), "num_envs"),
        (ok().with_horizon(0), "horizon"),
        (ok().with_env_reset(Reset::Every(0)), "env_reset"),
        (ok().with_clip_param(0.0), "clip_param"),
        (ok().with_clip_param(1.0), "clip_param"),
        (ok().with_dual_clip_param(Some(1.0)), "dual_clip_param"),
        (ok().with_dual_clip_param(Some(0.0)), "dual_clip_param"),
        (ok().with_gae_lambda(0.0), "gae_lambda"),
        (ok().with_gae_lambda(1.01), "gae_lambda"),
        (ok().with_gamma(0.0), "gamma"),
        (ok().with_gamma(1.5), "gamma"),
        (ok().with_max_grad_norm(0.0), "max_grad_norm"),
        (ok().with_num_sgd_iters(0), "num_sgd_iters"),
        (ok().with_minibatch(Minibatch::Transitions(5)), "minibatch"),
        (ok().with_minibatch(Minibatch::Transitions(0)), "minibatch"),
        (ok().with_minibatch(Minibatch::Sequences(4)), "minibatch"),
        (ok().with_target_kl_div(Some(0.0)), "target_kl_div"),
        (
            ok().with_target_kl_div(Some(0.01))
                .with_accumulate_grads(true)
                .with_minibatch(Minibatch::Transitions(8)),
            "target_kl_div",
        ),
        (ok().with_vf_clip_param(0.0), "vf_clip_param"),
        (ok().with_vf_coeff(0.0), "vf_coeff"),
        (ok().with_accumulate_grads(true), "accumulate_grads"),
        (ok().with_entropy_coeff(-0.1), "entropy_coeff"),
        (ok().with_entropy_coeff(f64::NAN), "entropy_coeff"),
        (
            ok().with_lr_schedule(Some(vec![(1.0, 1e-3)])),
            "lr_schedule",
        ),
        (
            ok().with_lr_schedule(Some(vec![(0.0, 1e-3), (0.0, 1e-4)])),
            "lr_schedule",
        ),
        (ok().with_lr_schedule(Some(vec![(0.0, 0.0)])), "lr_schedule"),
        (ok().with_lr_schedule(Some(vec![])), "lr_schedule"),
        (
            ok().with_entropy_coeff_schedule(Some(vec![(5.0, 0.1)])),
            "entropy_coeff_schedule",
        ),
        (
            ok().with_entropy_coeff_schedule(Some(vec![(0.0, -0.1)])),
            "entropy_coeff_schedule",
        ),
        (ok().with_learning_rate(0.0), "learning_rate"),
        (
            ok().with_optimizer(AdamConfig::new().with_beta_1(1.0)),
            "optimizer.beta_1",
        ),
        (
            ok().with_optimizer(AdamConfig::new().with_beta_2(-0.1)),
            "optimizer.beta_2",
        ),
        (
            ok().with_optimizer(AdamConfig::new().with_epsilon(0.0)),
            "optimizer.epsilon",
        ),
    ];
    for (config, field) in cases {
        assert_eq!(field_of(&config), field, "{config:?}");
    }
    for hiddens in [vec![], vec![64, 0]] {
        let config = AlgorithmConfig::new()
            .with_ppo(ok())
            .with_model(DefaultModelConfig::new().with_hiddens(hiddens));
        match config.validate() {
            Err(AlgoError::InvalidConfig { field, .. }) => assert_eq!(field, "model.hiddens"),
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }
}

#[test]
fn values_the_f32_update_cannot_hold_and_sizes_no_rollout_can_are_refused() {
    let cases: Vec<(PpoConfig, &str)> = vec![
        // Finite in f64, infinite or zero in f32.
        (ok().with_learning_rate(1e300), "learning_rate"),
        (ok().with_learning_rate(1e-50), "learning_rate"),
        // Found by the fuzz corpus: in (0, 1) in f64, 0 in f32.
        (ok().with_clip_param(1e-50), "clip_param"),
        (ok().with_gamma(1e-50), "gamma"),
        (ok().with_vf_coeff(1e300), "vf_coeff"),
        (ok().with_entropy_coeff(1e300), "entropy_coeff"),
        (ok().with_dual_clip_param(Some(1e300)), "dual_clip_param"),
        (ok().with_max_grad_norm(1e300), "max_grad_norm"),
        (ok().with_target_kl_div(Some(1e300)), "target_kl_div"),
        (
            ok().with_lr_schedule(Some(vec![(0.0, 1e-3), (100.0, 1e300)])),
            "lr_schedule",
        ),
        // Sizes that would abort on allocation or overflow.
        (ok().with_horizon(usize::MAX), "horizon"),
        (ok().with_num_envs(1).with_horizon(1 << 40), "horizon"),
        (
            ok().with_num_envs(1_000_000_000).with_horizon(64),
            "horizon",
        ),
    ];
    for (config, field) in cases {
        assert_eq!(field_of(&config), field, "{config:?}");
    }
    // The largest rollout allowed is accepted.
    let largest = ok()
        .with_memory_limit(MemoryLimit::Unlimited)
        .with_num_envs(1 << 21)
        .with_horizon(1 << 10)
        .with_minibatch(Minibatch::Transitions(1 << 20));
    assert!(AlgorithmConfig::new().with_ppo(largest).validate().is_ok());
}

#[test]
fn boundary_values_that_are_allowed() {
    for config in [
        ok().with_gamma(1.0).with_gae_lambda(1.0),
        ok().with_env_reset(Reset::Never),
        ok().with_minibatch(Minibatch::Whole),
        ok().with_minibatch(Minibatch::Transitions(8))
            .with_accumulate_grads(true),
        ok().with_dual_clip_param(Some(1.5)),
        ok().with_target_kl_div(Some(0.01)),
        ok().with_lr_schedule(Some(vec![(0.0, 1e-3), (100.0, 1e-4)]))
            .with_lr_schedule_kind(ScheduleKind::Interp),
    ] {
        assert!(
            config.validate().is_ok(),
            "{config:?}: {:?}",
            config.validate()
        );
    }
}

#[test]
fn config_round_trips_through_json() {
    let config = ok()
        .with_lr_schedule(Some(vec![(0.0, 1e-3), (10.0, 1e-4)]))
        .with_seed(7);
    let json = serde_json::to_string(&config).unwrap();
    let back: PpoConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back.lr_schedule, config.lr_schedule);
    assert_eq!((back.seed, back.num_envs, back.horizon), (7, 8, 4));
}

#[test]
fn json_configs_take_the_defaults_and_refuse_unknown_keys_with_the_nearest() {
    let json = |c: &AlgorithmConfig| serde_json::to_value(c).unwrap();
    // `{}` is the defaults; a key given replaces its default only, nested ones too.
    let empty = AlgorithmConfig::from_json("{}").unwrap();
    assert_eq!(json(&empty), json(&AlgorithmConfig::new()));
    let some = AlgorithmConfig::from_json(
        r#"{"ppo": {"horizon": 7, "optimizer": {"epsilon": 1e-5}, "env_reset": {"Every": 3}},
            "model": {"hiddens": [3]}}"#,
    )
    .unwrap();
    let expected = AlgorithmConfig::new()
        .with_ppo(
            PpoConfig::new()
                .with_horizon(7)
                .with_optimizer(AdamConfig::new().with_epsilon(1e-5))
                .with_env_reset(Reset::Every(3)),
        )
        .with_model(DefaultModelConfig::new().with_hiddens(vec![3]));
    assert_eq!(json(&some), json(&expected));

    // Every unknown key at once, each by its path with the nearest known key.
    let text = r#"{"ppo": {"minibatch_size": 16, "target_kl": 0.02, "optimizer": {"beta1": 0.8}},
                   "modle": {}, "qqq": 1}"#;
    let Err(AlgoError::UnknownKeys(mut keys)) = AlgorithmConfig::from_json(text) else {
        panic!("unknown keys must be refused")
    };
    keys.sort_by(|a, b| a.path.cmp(&b.path));
    let found: Vec<(&str, Option<&str>)> = keys
        .iter()
        .map(|k| (k.path.as_str(), k.nearest.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            ("modle", Some("model")),
            ("ppo.minibatch_size", Some("minibatch")),
            ("ppo.optimizer.beta1", Some("beta_1")),
            ("ppo.target_kl", Some("target_kl_div")),
            ("qqq", None),
        ]
    );
    let message = AlgorithmConfig::from_json(r#"{"ppo": {"target_kl": 0.02}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("`ppo.target_kl` (did you mean `target_kl_div`?)"),
        "{message}"
    );
    // A feed-forward config is not a recurrent one: its model's keys are unknown there.
    let ff = serde_json::to_string(&AlgorithmConfig::new()).unwrap();
    assert!(matches!(
        RecurrentAlgorithmConfig::from_json(&ff),
        Err(AlgoError::UnknownKeys(_))
    ));

    // A value of the wrong kind is named by its path; text that is not JSON is a syntax error.
    match AlgorithmConfig::from_json(r#"{"ppo": {"horizon": "long"}}"#) {
        Err(AlgoError::ConfigValue { path, message }) => {
            assert_eq!(path, "ppo.horizon");
            assert!(message.contains("expected usize"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        PpoConfig::from_json("{horizon: 3}"),
        Err(AlgoError::ConfigSyntax(_))
    ));
    assert!(matches!(
        PpoConfig::from_json("[1]"),
        Err(AlgoError::ConfigValue { .. })
    ));
}

#[test]
fn a_config_saves_only_when_valid_and_what_saves_loads_back() {
    let dir = std::env::temp_dir().join(format!("rl-config-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.json");
    // A NaN would be written as `null`, which cannot load: refused with its field.
    let nan = AlgorithmConfig::new().with_ppo(ok().with_gamma(f64::NAN));
    match nan.save(&path) {
        Err(AlgoError::InvalidConfig { field, .. }) => assert_eq!(field, "gamma"),
        other => panic!("{other:?}"),
    }
    assert!(!path.exists(), "nothing is written for a refused config");
    let config = RecurrentAlgorithmConfig::new()
        .with_ppo(
            ok().with_lr_schedule(Some(vec![(0.0, 1e-3), (10.0, 1e-4)]))
                .with_memory_limit(MemoryLimit::GiB(2.5))
                .with_dual_clip_param(Some(3.0)),
        )
        .with_recurrence(
            RecurrenceConfig::new()
                .with_seq_len(2)
                .with_state_reset(Reset::Every(2)),
        )
        .with_model(RecurrentModelConfig::new().with_hidden_size(5));
    config.save(&path).unwrap();
    let back = RecurrentAlgorithmConfig::load(&path).unwrap();
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&config).unwrap()
    );
    match PpoConfig::load(dir.join("missing.json")) {
        Err(AlgoError::Io { path, .. }) => assert!(path.ends_with("missing.json")),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

type B = Autodiff<NdArray>;

fn cartpole(n: usize) -> CartPoleV1<NdArray> {
    CartPoleV1::new(n, 0, &Default::default()).unwrap()
}

#[test]
fn sizes_that_cannot_fit_are_refused_with_what_they_would_need() {
    // Two 65536-wide layers: 4.3e9 parameters each for policy and value, with gradients and
    // Adam's moments ~128 GiB. Refused before a weight is drawn.
    let env = cartpole(4);
    let huge = AlgorithmConfig::new()
        .with_ppo(
            ok().with_num_envs(4)
                .with_memory_limit(MemoryLimit::GiB(8.0)),
        )
        .with_model(DefaultModelConfig::new().with_hiddens(vec![65536, 65536]));
    match huge.init::<B, _>(crate::boxed(env), &Default::default()) {
        Err(AlgoError::Memory {
            needed,
            detail,
            limit,
        }) => {
            let gib: f64 = needed.trim_end_matches(" GiB").parse().unwrap();
            assert!((120.0..140.0).contains(&gib), "{needed}");
            assert!(detail.contains("8590917635 parameters"), "{detail}");
            assert_eq!(limit, "8.0 GiB");
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("accepted"),
    }
    // The same for the recurrent model (an LSTM of 65536: 4 * 65536 * (4 + 65536 + 2) + ...).
    let huge = RecurrentAlgorithmConfig::new()
        .with_ppo(
            ok().with_num_envs(4)
                .with_memory_limit(MemoryLimit::GiB(8.0)),
        )
        .with_model(RecurrentModelConfig::new().with_hidden_size(65536));
    let env = cartpole(4);
    assert!(matches!(
        huge.memory_check(env.observation_space(), env.action_space()),
        Err(AlgoError::Memory { .. })
    ));
    // A rollout too large for the limit is refused by `validate`, before an environment of
    // that size is built: 2^30 transitions need at least 56 bytes each.
    let rollout = AlgorithmConfig::new().with_ppo(
        ok().with_num_envs(1 << 30)
            .with_horizon(1)
            .with_memory_limit(MemoryLimit::GiB(8.0)),
    );
    match rollout.validate() {
        Err(AlgoError::Memory { needed, .. }) => assert_eq!(needed, "56.0 GiB"),
        other => panic!("{other:?}"),
    }
    // Sizes that fit are accepted.
    let env = cartpole(4);
    let fits = AlgorithmConfig::new()
        .with_ppo(
            ok().with_num_envs(4)
                .with_memory_limit(MemoryLimit::GiB(1.0)),
        )
        .with_model(DefaultModelConfig::new().with_hiddens(vec![64, 64]));
    assert!(
        fits.memory_check(env.observation_space(), env.action_space())
            .is_ok()
    );
}

#[test]
fn activations_are_checked_against_the_layer_sizes() {
    let with = |activation: ActivationConfig, hiddens: Vec<usize>| {
        AlgorithmConfig::new()
            .with_ppo(ok().with_num_envs(4).with_minibatch(Minibatch::Whole))
            .with_model(
                DefaultModelConfig::new()
                    .with_hiddens(hiddens)
                    .with_activation(activation),
            )
    };
    let refused = [
        with(PReluConfig::new().with_num_parameters(3).into(), vec![8, 8]),
        with(PReluConfig::new().with_num_parameters(8).into(), vec![8, 4]),
        with(SwiGluConfig::new(8, 4).into(), vec![8, 8]),
        with(SwiGluConfig::new(8, 8).into(), vec![8, 4]),
        with(
            LeakyReluConfig::new().with_negative_slope(f64::NAN).into(),
            vec![8],
        ),
        with(PReluConfig::new().with_alpha(1e300).into(), vec![8]),
    ];
    for config in refused {
        match config.validate() {
            Err(AlgoError::InvalidConfig { field, .. }) => assert_eq!(field, "model.activation"),
            other => panic!("{:?}: {other:?}", config.model.activation),
        }
    }
    // What fits builds and trains a step.
    let fits = [
        with(PReluConfig::new().with_num_parameters(8).into(), vec![8, 8]),
        with(PReluConfig::new().into(), vec![8, 4]),
        with(SwiGluConfig::new(8, 8).into(), vec![8, 8]),
    ];
    for config in fits {
        let mut algo = config
            .init::<B, _>(crate::boxed(cartpole(4)), &Default::default())
            .unwrap();
        algo.collect().unwrap();
        assert!(algo.step().unwrap().total_loss.is_finite());
    }
}
