//! Every validation rule of `AlgorithmConfig`, each named by its field.

use rl_algo::{AlgoError, AlgorithmConfig, DefaultModelConfig, OptimizerConfig, ScheduleKind};

/// A small valid config (the defaults with a small batch).
fn ok() -> AlgorithmConfig {
    AlgorithmConfig::new().with_num_envs(8).with_horizon(4)
}

fn field_of(config: &AlgorithmConfig) -> String {
    match config.validate() {
        Err(AlgoError::InvalidConfig { field, .. }) => field,
        other => panic!("expected InvalidConfig, got {other:?} for {config:?}"),
    }
}

#[test]
fn defaults_are_rl8s_and_valid() {
    let c = AlgorithmConfig::new();
    assert_eq!(
        (c.horizon, c.horizons_per_env_reset, c.num_envs),
        (32, 1, 8192)
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
        (c.dual_clip_param, c.target_kl_div, c.sgd_minibatch_size),
        (None, None, None)
    );
    assert!(c.shuffle_minibatches && c.normalize_advantages && c.normalize_rewards);
    assert!(!c.accumulate_grads && !c.enable_amp);
    assert_eq!(c.optimizer.learning_rate, 1e-3);
    assert_eq!(
        c.optimizer.epsilon, 1e-8,
        "torch's Adam epsilon, not Burn's 1e-5"
    );
    assert_eq!(c.model.hiddens, vec![256, 256]);
    assert_eq!(c.lr_schedule_kind, ScheduleKind::Step);
    assert!(c.validate().is_ok());
    assert_eq!(c.minibatch_size(), 8192 * 32);
}

#[test]
fn every_rule_names_its_field() {
    let cases: Vec<(AlgorithmConfig, &str)> = vec![
        (ok().with_num_envs(0), "num_envs"),
        (ok().with_horizon(0), "horizon"),
        (
            ok().with_horizons_per_env_reset(0),
            "horizons_per_env_reset",
        ),
        (ok().with_clip_param(0.0), "clip_param"),
        (ok().with_clip_param(1.0), "clip_param"),
        (ok().with_dual_clip_param(Some(1.0)), "dual_clip_param"),
        (ok().with_dual_clip_param(Some(0.0)), "dual_clip_param"),
        (ok().with_enable_amp(true), "enable_amp"),
        (ok().with_gae_lambda(0.0), "gae_lambda"),
        (ok().with_gae_lambda(1.01), "gae_lambda"),
        (ok().with_gamma(0.0), "gamma"),
        (ok().with_gamma(1.5), "gamma"),
        (ok().with_max_grad_norm(0.0), "max_grad_norm"),
        (ok().with_num_sgd_iters(0), "num_sgd_iters"),
        (ok().with_sgd_minibatch_size(Some(5)), "sgd_minibatch_size"),
        (ok().with_target_kl_div(Some(0.0)), "target_kl_div"),
        (
            ok().with_target_kl_div(Some(0.01))
                .with_accumulate_grads(true)
                .with_sgd_minibatch_size(Some(8)),
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
        (
            ok().with_optimizer(OptimizerConfig::new().with_learning_rate(0.0)),
            "optimizer.learning_rate",
        ),
        (
            ok().with_optimizer(OptimizerConfig::new().with_beta_1(1.0)),
            "optimizer.beta_1",
        ),
        (
            ok().with_optimizer(OptimizerConfig::new().with_beta_2(-0.1)),
            "optimizer.beta_2",
        ),
        (
            ok().with_optimizer(OptimizerConfig::new().with_epsilon(0.0)),
            "optimizer.epsilon",
        ),
        (
            ok().with_model(DefaultModelConfig::new().with_hiddens(vec![])),
            "model.hiddens",
        ),
        (
            ok().with_model(DefaultModelConfig::new().with_hiddens(vec![64, 0])),
            "model.hiddens",
        ),
    ];
    for (config, field) in cases {
        assert_eq!(field_of(&config), field, "{config:?}");
    }
}

#[test]
fn boundary_values_that_are_allowed() {
    for config in [
        ok().with_gamma(1.0).with_gae_lambda(1.0),
        ok().with_horizons_per_env_reset(-1),
        ok().with_sgd_minibatch_size(Some(0)),
        ok().with_sgd_minibatch_size(Some(8))
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
    assert_eq!(ok().with_sgd_minibatch_size(Some(0)).minibatch_size(), 32);
    assert_eq!(ok().with_sgd_minibatch_size(Some(8)).num_minibatches(), 4);
}

#[test]
fn config_round_trips_through_json() {
    let config = ok()
        .with_lr_schedule(Some(vec![(0.0, 1e-3), (10.0, 1e-4)]))
        .with_seed(7);
    let json = serde_json::to_string(&config).unwrap();
    let back: AlgorithmConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back.lr_schedule, config.lr_schedule);
    assert_eq!((back.seed, back.num_envs, back.horizon), (7, 8, 4));
}
