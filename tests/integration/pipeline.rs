//! The pieces of rl-core and rl-functional used together, the way a PPO update uses them:
//! roll out a dummy environment with a categorical policy, estimate advantages, compute the
//! PPO loss, clip the global gradient norm and take Adam steps.

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Module};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::{Tensor, backend::Backend};
use rand::{SeedableRng, rngs::StdRng};
use rl_core::{Action, Categorical, DiscreteDummyEnv, Distribution, Env, Observation};
use rl_functional::{
    GaeOptions, PpoBatch, PpoLossConfig, clip_grad_norm, generalized_advantage_estimate, ppo_losses,
};

type AD = Autodiff<NdArray>;

#[derive(Module, Debug)]
struct Policy<B: Backend> {
    logits: Linear<B>,
    value: Linear<B>,
}

impl<B: Backend> Policy<B> {
    fn forward(&self, obs: &Observation<B>) -> (Categorical<B>, Tensor<B, 2>) {
        let [n, _] = obs.features.dims();
        let x = obs.features.clone().div_scalar(10.0);
        let logits = self.logits.forward(x.clone()).reshape([n, 1, 2]);
        (Categorical::new(logits), self.value.forward(x))
    }
}

#[test]
fn rollout_advantages_and_ppo_updates_fit_together() {
    let device = Default::default();
    let (n, t) = (16, 8);
    let mut env = DiscreteDummyEnv::<NdArray>::new(n, 3, &device).unwrap();
    let mut policy = Policy::<AD> {
        logits: LinearConfig::new(1, 2).init(&device),
        value: LinearConfig::new(1, 1).init(&device),
    };
    let mut rng = StdRng::seed_from_u64(0);

    // Collect T steps on the inner backend, as an algorithm does.
    let mut obs = env.reset(None).unwrap();
    let (mut all_obs, mut actions, mut logps, mut values, mut rewards) =
        (vec![], vec![], vec![], vec![], vec![]);
    let acting = policy.valid();
    for _ in 0..t {
        let (dist, value) = acting.forward(&obs);
        let action = dist.sample(&mut rng);
        logps.push(dist.log_prob(&action).unwrap());
        values.push(value);
        let step = env.step(&action).unwrap();
        rewards.push(step.reward.reshape([n, 1]));
        all_obs.push(obs);
        actions.push(action);
        obs = step.obs;
    }
    let (_, bootstrap) = acting.forward(&obs);
    values.push(bootstrap);
    rewards.push(Tensor::zeros([n, 1], &device));

    // rl8's buffer layout [N, T+1], then flatten the first T columns env-major.
    let gae = generalized_advantage_estimate(
        Tensor::cat(rewards, 1),
        Tensor::cat(values, 1),
        &GaeOptions::default(),
    )
    .unwrap();
    let flat = |x: Tensor<NdArray, 2>| x.slice([0..n, 0..t]).reshape([n * t, 1]);
    let (advantages, returns) = (flat(gae.advantages), flat(gae.returns));
    // Step-major rows (t * n + env) to env-major (env * t + step), like the [N, T] buffer.
    let order: Vec<i64> = (0..n)
        .flat_map(|e| (0..t).map(move |s| (s * n + e) as i64))
        .collect();
    let order = Tensor::<NdArray, 1, burn::tensor::Int>::from_ints(order.as_slice(), &device);
    let obs = Observation::cat(all_obs).unwrap().select(order.clone());
    let actions = Action::cat(actions).unwrap().select(order.clone());
    let logp_old = Tensor::cat(logps, 0).select(0, order);

    let obs = Observation::<AD>::from_inner(obs);
    let actions = Action::<AD>::from_inner(actions);
    let batch = |policy: &Policy<AD>| {
        let (dist, values) = policy.forward(&obs);
        ppo_losses(
            PpoBatch {
                logp: dist.log_prob(&actions).unwrap(),
                logp_old: Tensor::from_inner(logp_old.clone()),
                advantages: Tensor::from_inner(advantages.clone()),
                returns: Tensor::from_inner(returns.clone()),
                values,
                old_values: None,
                entropy: Some(dist.entropy()),
            },
            &PpoLossConfig {
                entropy_coeff: 0.01,
                ..Default::default()
            },
        )
        .unwrap()
    };

    let first = batch(&policy);
    // Before any update the policy is the behaviour policy: ratio 1, KL 0, nothing clipped.
    assert!(first.approx_kl.clone().into_scalar().abs() < 1e-6);
    assert_eq!(first.clip_fraction.clone().into_scalar(), 0.0);
    let start = first.total.clone().into_scalar();

    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut losses = batch(&policy);
    for _ in 0..20 {
        let grads = GradientsParams::from_grads(losses.total.backward(), &policy);
        let (grads, norm) = clip_grad_norm(&policy, grads, 0.5);
        assert!(norm.into_scalar().is_finite());
        policy = optim.step(1e-2, policy, grads);
        losses = batch(&policy);
    }
    let end = losses.total.into_scalar();
    assert!(
        end < start,
        "PPO steps should lower the loss: {start} -> {end}"
    );
    assert!(losses.approx_kl.into_scalar() > 0.0);
}
