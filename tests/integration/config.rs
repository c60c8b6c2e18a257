//! Every validation rule of `PpoConfig` and `AlgorithmConfig`, each named by its field.

use burn::optim::AdamConfig;
use rl_algo::{
    AlgoError, AlgorithmConfig, DefaultModelConfig, Minibatch, PpoConfig, Reset, ScheduleKind,
};

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
