//! V-trace from policy logits, with pytorch_seed_rl's (IMPALA's) semantics.

use burn::tensor::{Int, Tensor, activation::log_softmax, backend::Backend};

use crate::host::{expect_range, expect_shape, read_f32, upload};
use crate::{Error, Result};

const FN: &str = "vtrace_from_logits";

/// Inputs of [`vtrace_from_logits`]: N trajectories of T steps, **batch-major** `[N, T]`
/// (pytorch_seed_rl is time-major `[T, N]`: transpose its tensors).
#[derive(Debug, Clone)]
pub struct VTraceInput<B: Backend> {
    /// Logits of the policy that collected the data, `[N, T, A]`.
    pub behaviour_logits: Tensor<B, 3>,
    /// Logits of the policy being trained, `[N, T, A]`.
    pub target_logits: Tensor<B, 3>,
    /// Actions taken, `[N, T]`, each in `0..A`.
    pub actions: Tensor<B, 2, Int>,
    /// Per-step discounts, usually `gamma * (1 - done)`, `[N, T]`.
    pub discounts: Tensor<B, 2>,
    /// Rewards, `[N, T]`.
    pub rewards: Tensor<B, 2>,
    /// Value estimates `V(s_t)`, `[N, T]`.
    pub values: Tensor<B, 2>,
    /// Value of the state after the last step, `[N]`.
    pub bootstrap_value: Tensor<B, 1>,
    /// `rho_bar` for the value targets; `None` disables the clip. pytorch_seed_rl's default 1.0.
    pub clip_rho_threshold: Option<f32>,
    /// Clip of `rho` in the policy-gradient advantage; `None` disables it. Default 1.0.
    pub clip_pg_rho_threshold: Option<f32>,
}

/// Outputs of [`vtrace_from_logits`], all `[N, T]`.
#[derive(Debug, Clone)]
pub struct VTraceOutput<B: Backend> {
    /// V-trace value targets (no gradient).
    pub vs: Tensor<B, 2>,
    /// Policy-gradient advantages (no gradient).
    pub pg_advantages: Tensor<B, 2>,
    /// `log(pi(a) / mu(a))`; carries the gradient of `target_logits`.
    pub log_rhos: Tensor<B, 2>,
    /// `log mu(a_t)` under the behaviour logits.
    pub behaviour_action_log_probs: Tensor<B, 2>,
    /// `log pi(a_t)` under the target logits; carries their gradient.
    pub target_action_log_probs: Tensor<B, 2>,
}

/// Log-probability of `actions [N, T]` under `logits [N, T, A]`.
pub(crate) fn action_log_probs<B: Backend>(
    logits: Tensor<B, 3>,
    actions: Tensor<B, 2, Int>,
) -> Tensor<B, 2> {
    let [n, t] = actions.dims();
    log_softmax(logits, 2)
        .gather(2, crate::reshape(actions, [n, t, 1]))
        .reshape([n, t])
}

/// Checks that every action lies in `0..num_actions`.
pub(crate) fn check_actions<B: Backend>(
    function: &'static str,
    actions: &Tensor<B, 2, Int>,
    num_actions: usize,
) -> Result<()> {
    let host = crate::host::read_i64(actions.clone(), function, "actions")?;
    match host.iter().find(|&&a| a < 0 || a >= num_actions as i64) {
        Some(&a) => Err(Error::InvalidArgument {
            function,
            argument: "actions",
            value: a.to_string(),
            rule: "every action must lie in 0..A (the logits' last dim)",
        }),
        None => Ok(()),
    }
}

/// V-trace targets and policy-gradient advantages from behaviour and target logits, as
/// pytorch_seed_rl's `vtrace.from_logits` (IMPALA, Espeholt et al. 2018, section 4.1).
///
/// With `rho_t = pi(a_t) / mu(a_t)`, `rho_bar = min(rho, clip_rho_threshold)`,
/// `c_t = min(rho_t, 1)` (c-bar is fixed at 1, as in pytorch_seed_rl) and
/// `V_T = vs_T = bootstrap_value`:
///
/// ```text
/// delta_t      = rho_bar_t * (r_t + d_t * V_{t+1} - V_t)
/// vs_t - V_t   = delta_t + d_t * c_t * (vs_{t+1} - V_{t+1})
/// pg_adv_t     = min(rho_t, clip_pg_rho_threshold) * (r_t + d_t * vs_{t+1} - V_t)
/// ```
///
/// `vs` and `pg_advantages` are computed without gradient; `log_rhos` and
/// `target_action_log_probs` keep the gradient of `target_logits`.
///
/// pytorch_seed_rl has no notion of truncation: a discount of 0 cuts both the bootstrap and the
/// trace. For episodic data with truncation use [`crate::vtrace_advantage_estimate`].
///
/// # Errors
/// If shapes disagree, an action is out of range or a threshold is not > 0.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_functional::{vtrace_from_logits, VTraceInput};
///
/// let d = Default::default();
/// // On-policy (identical logits): rho = 1 and vs is the discounted return.
/// let logits = Tensor::<NdArray, 3>::zeros([1, 2, 3], &d);
/// let out = vtrace_from_logits(VTraceInput {
///     behaviour_logits: logits.clone(),
///     target_logits: logits,
///     actions: Tensor::<NdArray, 2, Int>::from_ints([[0, 2]], &d),
///     discounts: Tensor::from_floats([[0.5, 0.5]], &d),
///     rewards: Tensor::from_floats([[1.0, 1.0]], &d),
///     values: Tensor::zeros([1, 2], &d),
///     bootstrap_value: Tensor::from_floats([4.0], &d),
///     clip_rho_threshold: Some(1.0),
///     clip_pg_rho_threshold: Some(1.0),
/// })
/// .unwrap();
/// let vs: Vec<f32> = out.vs.into_data().to_vec().unwrap();
/// assert_eq!(vs, vec![1.0 + 0.5 * 3.0, 1.0 + 0.5 * 4.0]);
/// ```
pub fn vtrace_from_logits<B: Backend>(input: VTraceInput<B>) -> Result<VTraceOutput<B>> {
    let [n, t, a] = input.target_logits.dims();
    expect_shape(
        FN,
        "behaviour_logits",
        &input.behaviour_logits.dims(),
        &[n, t, a],
    )?;
    expect_shape(FN, "actions", &input.actions.dims(), &[n, t])?;
    expect_shape(FN, "discounts", &input.discounts.dims(), &[n, t])?;
    expect_shape(FN, "rewards", &input.rewards.dims(), &[n, t])?;
    expect_shape(FN, "values", &input.values.dims(), &[n, t])?;
    expect_shape(FN, "bootstrap_value", &input.bootstrap_value.dims(), &[n])?;
    for (name, clip) in [
        ("clip_rho_threshold", input.clip_rho_threshold),
        ("clip_pg_rho_threshold", input.clip_pg_rho_threshold),
    ] {
        if let Some(c) = clip {
            expect_range(FN, name, c, f32::MIN_POSITIVE, f32::INFINITY, "must be > 0")?;
        }
    }
    check_actions(FN, &input.actions, a)?;

    let target = action_log_probs(input.target_logits, input.actions.clone());
    let behaviour = action_log_probs(input.behaviour_logits, input.actions);
    let log_rhos = target.clone() - behaviour.clone();

    let log_rho = read_f32(log_rhos.clone().detach(), FN, "log_rhos")?;
    let discounts = read_f32(input.discounts, FN, "discounts")?;
    let rewards = read_f32(input.rewards, FN, "rewards")?;
    let values = read_f32(input.values.detach(), FN, "values")?;
    let bootstrap = read_f32(input.bootstrap_value.detach(), FN, "bootstrap_value")?;

    let clip = |x: f32, c: Option<f32>| c.map_or(x, |c| x.min(c));
    let mut vs = vec![0.0f32; n * t];
    let mut pg = vec![0.0f32; n * t];
    for (row, &boot) in bootstrap.iter().enumerate() {
        let next = |vals: &[f32], i: usize, step: usize| {
            if step + 1 == t { boot } else { vals[i + 1] }
        };
        let mut acc = 0.0f32;
        for step in (0..t).rev() {
            let i = row * t + step;
            let rho = log_rho[i].exp();
            let delta = clip(rho, input.clip_rho_threshold)
                * (rewards[i] + discounts[i] * next(&values, i, step) - values[i]);
            acc = delta + discounts[i] * rho.min(1.0) * acc;
            vs[i] = acc + values[i];
        }
        for step in 0..t {
            let i = row * t + step;
            let rho = log_rho[i].exp();
            pg[i] = clip(rho, input.clip_pg_rho_threshold)
                * (rewards[i] + discounts[i] * next(&vs, i, step) - values[i]);
        }
    }
    let device = log_rhos.device();
    Ok(VTraceOutput {
        vs: upload(vs, [n, t], &device),
        pg_advantages: upload(pg, [n, t], &device),
        log_rhos,
        behaviour_action_log_probs: behaviour,
        target_action_log_probs: target,
    })
}
