//! The update options behave as rl8 documents them: gradient accumulation, KL early stopping,
//! reset cadence, schedules, evaluation, and NaN detection.

use crate::{DynEnv, boxed};
use burn::backend::{Autodiff, NdArray};
use burn::tensor::{Tensor, TensorData};
use rl_algo::{
    AlgoError, AlgorithmConfig, DefaultModelConfig, Minibatch, PpoConfig, Reset, ScheduleKind,
};
use rl_core::{Action, DiscreteDummyEnv, Env, EnvConfig, EnvInfo, Observation, Transition};

type B = Autodiff<NdArray>;
type Device = burn::tensor::ops::Device<NdArray>;

const N: usize = 8;
const T: usize = 16;

fn small() -> PpoConfig {
    PpoConfig::new()
        .with_num_envs(N)
        .with_horizon(T)
        .with_seed(4)
}

/// `ppo` with the default model, two hidden layers of 16.
fn with_model(ppo: &PpoConfig) -> AlgorithmConfig {
    AlgorithmConfig::new()
        .with_ppo(ppo.clone())
        .with_model(DefaultModelConfig::new().with_hiddens(vec![16, 16]))
}

fn algo(config: &PpoConfig) -> rl_algo::Algorithm<B, DynEnv, rl_algo::DefaultModel<B>> {
    let device = Device::default();
    let env = DiscreteDummyEnv::new(N, 11, &device).unwrap();
    with_model(config)
        .init::<B, _>(boxed(env), &device)
        .unwrap()
}

fn values_of(a: &rl_algo::Algorithm<B, DynEnv, rl_algo::DefaultModel<B>>) -> Vec<f32> {
    use burn::module::AutodiffModule;
    use rl_core::Model;
    let device = Device::default();
    let obs = Observation::new(Tensor::<NdArray, 2>::from_data(
        TensorData::new(
            (0..32).map(|i| i as f32 - 16.0).collect::<Vec<_>>(),
            [32, 1],
        ),
        &device,
    ));
    a.model()
        .valid()
        .forward(&obs)
        .unwrap()
        .values
        .into_data()
        .to_vec()
        .unwrap()
}

#[test]
fn accumulated_minibatches_give_the_whole_buffer_update() {
    // rl8's test: accumulating over 4 minibatches equals one whole-buffer minibatch.
    let whole = small().with_shuffle_minibatches(false);
    let accumulated = whole
        .clone()
        .with_minibatch(Minibatch::Transitions(N * T / 4))
        .with_accumulate_grads(true);
    let (mut a, mut b) = (algo(&whole), algo(&accumulated));
    for _ in 0..2 {
        a.collect().unwrap();
        b.collect().unwrap();
        let (sa, sb) = (a.step().unwrap(), b.step().unwrap());
        crate::assert_same_losses(
            &[
                ("losses/total", sa.total_loss, sb.total_loss),
                ("losses/policy", sa.policy_loss, sb.policy_loss),
                ("losses/vf", sa.vf_loss, sb.vf_loss),
                ("monitors/kl_div", sa.kl_div, sb.kl_div),
            ],
            "feed-forward",
        );
        assert_eq!(sa.optimizer_steps, 4);
        assert_eq!(sb.optimizer_steps, 4, "one step per epoch");
    }
    for (x, y) in values_of(&a).iter().zip(values_of(&b)) {
        assert!((x - y).abs() <= 1e-4 * x.abs().max(1.0), "{x} vs {y}");
    }
    // Without accumulation the same minibatches take 16 optimizer steps.
    let mut c = algo(&accumulated.with_accumulate_grads(false));
    c.collect().unwrap();
    assert_eq!(c.step().unwrap().optimizer_steps, 16);
}

#[test]
fn kl_early_stopping_skips_the_rest_of_the_step() {
    let config = small().with_minibatch(Minibatch::Transitions(N * T / 4));
    let mut free = algo(&config);
    free.collect().unwrap();
    assert_eq!(free.step().unwrap().optimizer_steps, 16);
    // The first minibatch has KL 0 (the policy has not moved) and is applied; the second one
    // exceeds 1.5 * 1e-12 and stops the step unapplied.
    let mut stopped = algo(&config.with_target_kl_div(Some(1e-12)));
    stopped.collect().unwrap();
    let stats = stopped.step().unwrap();
    assert_eq!(stats.optimizer_steps, 1);
    assert!(stats.kl_div > 0.0);
}

#[test]
fn environments_reset_on_rl8s_schedule() {
    let resets = |reset: Reset| -> Vec<f64> {
        let mut a = algo(&small().with_env_reset(reset));
        (0..5)
            .map(|_| {
                let r = a.collect().unwrap().env_resets as f64;
                a.step().unwrap();
                r
            })
            .collect()
    };
    let n = N as f64;
    assert_eq!(resets(Reset::Every(1)), vec![n; 5]);
    assert_eq!(resets(Reset::Every(2)), vec![n, 0.0, n, 0.0, n]);
    assert_eq!(resets(Reset::Never), vec![n, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn schedules_count_environment_transitions() {
    let per_update = (N * T) as f64;
    let config = small()
        .with_lr_schedule(Some(vec![(0.0, 1e-3), (2.0 * per_update, 1e-4)]))
        .with_entropy_coeff_schedule(Some(vec![(0.0, 0.0), (4.0 * per_update, 0.4)]))
        .with_entropy_coeff_schedule_kind(ScheduleKind::Interp);
    let mut a = algo(&config);
    let mut seen = Vec::new();
    for _ in 0..4 {
        a.collect().unwrap();
        // Evaluation does not move the schedules.
        a.evaluate().unwrap();
        let s = a.step().unwrap();
        seen.push((s.learning_rate, s.entropy_coeff));
    }
    let want = [
        (1e-3, 0.0),
        (1e-3, 0.1),
        (1e-4, 0.2),
        (1e-4, 0.30000000000000004),
    ];
    for (got, want) in seen.iter().zip(want) {
        assert!(
            (got.0 - want.0).abs() < 1e-12 && (got.1 - want.1).abs() < 1e-9,
            "{seen:?}"
        );
    }
}

#[test]
fn evaluation_buffers_nothing_and_is_deterministic() {
    let mut a = algo(&small().with_env_reset(Reset::Every(1)));
    let first = a.evaluate().unwrap();
    assert!(matches!(a.step(), Err(AlgoError::NotBuffered)));
    let mut b = algo(&small().with_env_reset(Reset::Every(1)).with_seed(5));
    let _ = b.evaluate().unwrap();
    // Same weights (seed 4) and the same reset states give the same deterministic returns.
    let mut c = algo(&small().with_env_reset(Reset::Every(1)));
    assert_eq!(c.evaluate().unwrap().returns.mean, first.returns.mean);
}

/// DiscreteDummyEnv whose environment 1 returns a NaN reward at its third step.
struct NanAtThirdStep {
    inner: DiscreteDummyEnv<NdArray>,
    steps: usize,
}

impl Env<NdArray> for NanAtThirdStep {
    fn name(&self) -> &str {
        "NanAtThirdStep"
    }
    fn info(&self) -> &EnvInfo<NdArray> {
        self.inner.info()
    }
    fn reset(&mut self, config: Option<&EnvConfig>) -> rl_core::Result<Observation<NdArray>> {
        self.inner.reset(config)
    }
    fn step(&mut self, action: &Action<NdArray>) -> rl_core::Result<Transition<NdArray>> {
        let mut t = self.inner.step(action)?;
        self.steps += 1;
        if self.steps == 3 {
            let mut r = vec![0.0f32; N];
            r[1] = f32::NAN;
            t.reward = Tensor::from_data(TensorData::new(r, [N]), self.device());
        }
        Ok(t)
    }
}

#[test]
fn a_nan_reward_is_reported_with_its_environment_and_step() {
    let device = Device::default();
    let env = NanAtThirdStep {
        inner: DiscreteDummyEnv::new(N, 0, &device).unwrap(),
        steps: 0,
    };
    let mut a = with_model(&small())
        .init::<B, _>(boxed(env), &device)
        .unwrap();
    match a.collect() {
        Err(AlgoError::NonFinite { what, detail }) => {
            assert!(
                what.contains("reward") && what.contains("NanAtThirdStep"),
                "{what}"
            );
            assert!(detail.contains("environment 1 at step 2"), "{detail}");
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    assert!(
        matches!(a.step(), Err(AlgoError::NotBuffered)),
        "nothing was buffered"
    );
}

/// A bounded `Box` gets a squashed normal scaled onto it: every action sent lies in the box
/// (the Gymnasium environments refuse any other), for feed-forward and recurrent PPO, and
/// several updates train on their log-probabilities.
#[test]
fn a_bounded_action_space_gets_a_policy_whose_actions_stay_inside() {
    use rl_algo::{Head, RecurrenceConfig, RecurrentAlgorithmConfig, RecurrentModelConfig};
    use rl_envs::{MountainCarContinuousV0, PendulumV1};

    let device = Default::default();
    let ppo = PpoConfig::new()
        .with_num_envs(8)
        .with_horizon(64)
        .with_env_reset(Reset::Never)
        .with_minibatch(Minibatch::Transitions(128));
    let config = AlgorithmConfig::new()
        .with_ppo(ppo.clone())
        .with_model(DefaultModelConfig::new().with_hiddens(vec![16]));
    let env = boxed(PendulumV1::new(8, 0, &device).unwrap());
    let mut algo = config.init::<B, _>(env, &device).unwrap();
    assert_eq!(
        algo.model().head(),
        &Head::Squashed {
            low: vec![-2.0],
            high: vec![2.0]
        }
    );
    for _ in 0..4 {
        algo.collect().unwrap();
        assert!(algo.step().unwrap().total_loss.is_finite());
    }
    let config = RecurrentAlgorithmConfig::new()
        .with_ppo(ppo)
        .with_recurrence(
            RecurrenceConfig::new()
                .with_seq_len(8)
                .with_state_reset(Reset::Never),
        )
        .with_model(RecurrentModelConfig::new().with_hidden_size(8));
    let env = boxed(MountainCarContinuousV0::new(8, 0, &device).unwrap());
    let mut algo = config.init::<B, _>(env, &device).unwrap();
    for _ in 0..4 {
        algo.collect().unwrap();
        assert!(algo.step().unwrap().total_loss.is_finite());
    }
    // The unbounded space of rl8's Pendulum keeps a plain normal.
    let env = boxed(rl_envs::Pendulum::new(8, 0, &device).unwrap());
    let algo = AlgorithmConfig::new()
        .with_ppo(PpoConfig::new().with_num_envs(8).with_horizon(8))
        .with_model(DefaultModelConfig::new().with_hiddens(vec![4]))
        .init::<B, _>(env, &device)
        .unwrap();
    assert_eq!(algo.model().head(), &Head::Normal { dims: 1 });
}
