//! Done-aware value and advantage estimators with torchrl's semantics: GAE, TD(0), TD(lambda)
//! and the V-trace advantage estimate.
//!
//! Every tensor is batch-major `[N, T]`: N trajectories (flatten any further batch dims into
//! N) of T steps. `rewards[n, t]`, `done[n, t]` and `terminated[n, t]` belong to the
//! transition `s_t -> s_{t+1}`; `values[n, t] = V(s_t)` and `next_values[n, t] = V(s_{t+1})`.
//! After an auto-reset, `next_values[n, t]` must be the value of the *final* observation of the
//! finished episode, not of the first observation of the next one.
//!
//! - `terminated`: the episode really ended; the next value is not bootstrapped (`x 0`).
//! - `done` = terminated or truncated: the recursion is cut at `t`. A truncated step
//!   (`done && !terminated`) still bootstraps from `next_values[n, t]`.

use burn::tensor::{Bool, Tensor, backend::Backend};

use crate::Result;
use crate::advantage::BLOCK;
use crate::device_scan::gae_on_device;
use crate::host::{expect_range, expect_shape, read_bool, read_f32, upload};

/// N trajectories of T steps, batch-major `[N, T]`, the input of the done-aware estimators
/// ([`gae`], [`td0_return_estimate`], [`td_lambda_return_estimate`],
/// [`vtrace_advantage_estimate`]), with torchrl's conventions.
///
/// Flatten any further batch dims into N. `rewards[n, t]`, `done[n, t]` and `terminated[n, t]`
/// belong to the transition `s_t -> s_{t+1}`; `values[n, t] = V(s_t)` and
/// `next_values[n, t] = V(s_{t+1})`. After an auto-reset, `next_values[n, t]` must be the value
/// of the *final* observation of the finished episode, not of the first observation of the next.
///
/// - `terminated`: the episode really ended; the next value is not bootstrapped (`x 0`).
/// - `done` = terminated or truncated: the recursion is cut at `t`. A truncated step
///   (`done && !terminated`) still bootstraps from `next_values[n, t]`.
#[derive(Debug, Clone)]
pub struct Trajectories<B: Backend> {
    /// `r_t`, `[N, T]`.
    pub rewards: Tensor<B, 2>,
    /// `V(s_t)`, `[N, T]`.
    pub values: Tensor<B, 2>,
    /// `V(s_{t+1})`, the value of the observation the step reached (before any reset), `[N, T]`.
    pub next_values: Tensor<B, 2>,
    /// Terminated or truncated, `[N, T]`.
    pub done: Tensor<B, 2, Bool>,
    /// Terminated (no bootstrap), `[N, T]`. Must imply `done`.
    pub terminated: Tensor<B, 2, Bool>,
}

/// Host copies of a [`Trajectories`] batch.
struct HostTrajectories {
    n: usize,
    t: usize,
    rewards: Vec<f32>,
    values: Vec<f32>,
    next_values: Vec<f32>,
    done: Vec<bool>,
    terminated: Vec<bool>,
}

impl<B: Backend> Trajectories<B> {
    /// `[N, T]`, after checking that every field has it.
    fn checked_dims(&self, function: &'static str) -> Result<[usize; 2]> {
        let dims = self.rewards.dims();
        expect_shape(function, "values", &self.values.dims(), &dims)?;
        expect_shape(function, "next_values", &self.next_values.dims(), &dims)?;
        expect_shape(function, "done", &self.done.dims(), &dims)?;
        expect_shape(function, "terminated", &self.terminated.dims(), &dims)?;
        Ok(dims)
    }

    fn to_host(&self, function: &'static str) -> Result<HostTrajectories> {
        let [n, t] = self.checked_dims(function)?;
        Ok(HostTrajectories {
            n,
            t,
            rewards: read_f32(self.rewards.clone(), function, "rewards")?,
            values: read_f32(self.values.clone(), function, "values")?,
            next_values: read_f32(self.next_values.clone(), function, "next_values")?,
            done: read_bool(self.done.clone(), function, "done")?,
            terminated: read_bool(self.terminated.clone(), function, "terminated")?,
        })
    }
}

/// Advantages and value targets from [`gae`].
#[derive(Debug, Clone)]
pub struct ValueEstimate<B: Backend> {
    /// `[N, T]` advantages.
    pub advantages: Tensor<B, 2>,
    /// `[N, T]` value targets, `advantages + values`.
    pub value_targets: Tensor<B, 2>,
}

const FN_GAE: &str = "gae";

/// Generalized advantage estimate with done flags (torchrl's
/// `generalized_advantage_estimate`): bootstraps on truncation, never on termination.
///
/// ```text
/// delta_t = (r_t + gamma * (1 - terminated_t) * V(s_{t+1})) - V(s_t)
/// A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1},   A_T = 0
/// target  = A + V
/// ```
///
/// No normalization is applied; see [`crate::normalize`].
///
/// Where [`has_device_gae`](crate::has_device_gae) (Burn's wgpu backend with this crate's
/// `wgpu` feature) the scan runs on the device as one kernel, one thread per row, and reads
/// nothing back; elsewhere it reads the inputs back once, scans on the host and uploads the
/// two outputs.
///
/// # Errors
/// If a field's shape differs from `rewards`' or gamma/lambda is outside `[0, 1]`.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Bool, Tensor};
/// use rl_functional::{gae, Trajectories};
///
/// let d = Default::default();
/// let traj = Trajectories::<NdArray> {
///     rewards: Tensor::from_floats([[1.0, 1.0]], &d),
///     values: Tensor::from_floats([[0.0, 0.0]], &d),
///     next_values: Tensor::from_floats([[0.0, 10.0]], &d),
///     done: Tensor::<NdArray, 2, Bool>::from_data([[false, true]], &d),
///     // The episode was truncated at the last step: it bootstraps from next_values.
///     terminated: Tensor::<NdArray, 2, Bool>::from_data([[false, false]], &d),
/// };
/// let out = gae(&traj, 0.5, 1.0).unwrap();
/// let a: Vec<f32> = out.advantages.into_data().to_vec().unwrap();
/// assert_eq!(a, vec![1.0 + 0.5 * 6.0, 1.0 + 0.5 * 10.0]);
/// ```
pub fn gae<B: Backend>(
    trajectories: &Trajectories<B>,
    gamma: f32,
    lambda: f32,
) -> Result<ValueEstimate<B>> {
    expect_range(FN_GAE, "gamma", gamma, 0.0, 1.0, "must be in [0, 1]")?;
    expect_range(FN_GAE, "lambda", lambda, 0.0, 1.0, "must be in [0, 1]")?;
    trajectories.checked_dims(FN_GAE)?;
    if let Some(estimate) = gae_on_device(trajectories, gamma, lambda) {
        return Ok(estimate);
    }
    let mut h = trajectories.to_host(FN_GAE)?;
    let gamma_lambda = gamma * lambda;
    // BLOCK independent rows side by side, as in `generalized_advantage_estimate`; the
    // outputs overwrite the host copies (`rewards[i]` becomes `A[i]`, `values[i]` the target
    // `A[i] + V[i]`) once each element has been read, so no fresh pages are touched.
    for first in (0..h.n).step_by(BLOCK) {
        let rows = first..(first + BLOCK).min(h.n);
        let mut acc = [0.0f32; BLOCK];
        for t in (0..h.t).rev() {
            for (k, row) in rows.clone().enumerate() {
                let i = row * h.t + t;
                let not_terminated = if h.terminated[i] { 0.0 } else { 1.0 };
                let not_done = if h.done[i] { 0.0 } else { 1.0 };
                let delta =
                    (h.rewards[i] + gamma * not_terminated * h.next_values[i]) - h.values[i];
                acc[k] = delta + acc[k] * gamma_lambda * not_done;
                h.rewards[i] = acc[k];
                h.values[i] += acc[k];
            }
        }
    }
    let (advantages, targets) = (h.rewards, h.values);
    let device = trajectories.rewards.device();
    Ok(ValueEstimate {
        advantages: upload(advantages, [h.n, h.t], &device),
        value_targets: upload(targets, [h.n, h.t], &device),
    })
}

const FN_TD0: &str = "td0_return_estimate";

/// One-step TD return (torchrl's `td0_return_estimate`):
/// `G_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1})`. `values` and `done` are not used.
///
/// # Errors
/// If a field's shape differs from `rewards`' or gamma is outside `[0, 1]`.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Bool, Tensor};
/// use rl_functional::{td0_return_estimate, Trajectories};
///
/// let d = Default::default();
/// let traj = Trajectories::<NdArray> {
///     rewards: Tensor::from_floats([[1.0, 1.0]], &d),
///     values: Tensor::zeros([1, 2], &d),
///     next_values: Tensor::from_floats([[2.0, 2.0]], &d),
///     done: Tensor::<NdArray, 2, Bool>::from_data([[false, true]], &d),
///     terminated: Tensor::<NdArray, 2, Bool>::from_data([[false, true]], &d),
/// };
/// let g: Vec<f32> = td0_return_estimate(&traj, 0.5).unwrap().into_data().to_vec().unwrap();
/// assert_eq!(g, vec![2.0, 1.0]);
/// ```
pub fn td0_return_estimate<B: Backend>(
    trajectories: &Trajectories<B>,
    gamma: f32,
) -> Result<Tensor<B, 2>> {
    expect_range(FN_TD0, "gamma", gamma, 0.0, 1.0, "must be in [0, 1]")?;
    trajectories.checked_dims(FN_TD0)?;
    let not_terminated = trajectories.terminated.clone().bool_not().float();
    Ok(trajectories.rewards.clone()
        + trajectories.next_values.clone().mul_scalar(gamma) * not_terminated)
}

/// The discount of [`td_lambda_return_estimate`]: one gamma for every step, or one per step.
#[derive(Debug, Clone)]
pub enum Discount<B: Backend> {
    /// The same gamma at every step.
    Constant(f32),
    /// `gamma[n, t]`, used at step t of trajectory n.
    PerStep(Tensor<B, 2>),
}

const FN_TDL: &str = "td_lambda_return_estimate";

/// TD(lambda) return (torchrl's `td_lambda_return_estimate` with `rolling_gamma=None`).
///
/// With `nv_t = (1 - terminated_t) * V(s_{t+1})`, starting from `g = nv_{T-1}`:
///
/// ```text
/// for t = T-1 .. 0:
///     g   = if done_t { nv_t } else { g }
///     G_t = r_t + gamma_t * ((1 - lambda) * nv_t + lambda * g)
///     g   = G_t
/// ```
///
/// `lambda = 0` gives the TD(0) return and `lambda = 1` the Monte-Carlo return bootstrapped at
/// the end of each trajectory. When `next_values` are consistent with `values`, these returns
/// equal [`gae`]'s value targets.
///
/// # Errors
/// If a shape differs from `rewards`' or gamma/lambda is outside `[0, 1]`.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Bool, Tensor};
/// use rl_functional::{td_lambda_return_estimate, Discount, Trajectories};
///
/// let d = Default::default();
/// let traj = Trajectories::<NdArray> {
///     rewards: Tensor::from_floats([[1.0, 1.0]], &d),
///     values: Tensor::zeros([1, 2], &d),
///     next_values: Tensor::from_floats([[4.0, 8.0]], &d),
///     done: Tensor::<NdArray, 2, Bool>::from_data([[false, false]], &d),
///     terminated: Tensor::<NdArray, 2, Bool>::from_data([[false, false]], &d),
/// };
/// // lambda = 1: G_1 = 1 + 0.5 * 8 = 5, G_0 = 1 + 0.5 * 5 = 3.5.
/// let g = td_lambda_return_estimate(&traj, Discount::Constant(0.5), 1.0).unwrap();
/// assert_eq!(g.into_data().to_vec::<f32>().unwrap(), vec![3.5, 5.0]);
/// ```
pub fn td_lambda_return_estimate<B: Backend>(
    trajectories: &Trajectories<B>,
    gamma: Discount<B>,
    lambda: f32,
) -> Result<Tensor<B, 2>> {
    expect_range(FN_TDL, "lambda", lambda, 0.0, 1.0, "must be in [0, 1]")?;
    let h = trajectories.to_host(FN_TDL)?;
    let gammas = match gamma {
        Discount::Constant(g) => {
            expect_range(FN_TDL, "gamma", g, 0.0, 1.0, "must be in [0, 1]")?;
            vec![g; h.n * h.t]
        }
        Discount::PerStep(g) => {
            expect_shape(FN_TDL, "gamma", &g.dims(), &[h.n, h.t])?;
            read_f32(g, FN_TDL, "gamma")?
        }
    };
    let mut returns = vec![0.0f32; h.n * h.t];
    for row in 0..h.n {
        if h.t == 0 {
            break;
        }
        let nv = |i: usize| {
            if h.terminated[i] {
                0.0
            } else {
                h.next_values[i]
            }
        };
        let mut g = nv(row * h.t + h.t - 1);
        for t in (0..h.t).rev() {
            let i = row * h.t + t;
            if h.done[i] {
                g = nv(i);
            }
            g = h.rewards[i] + gammas[i] * ((1.0 - lambda) * nv(i) + lambda * g);
            returns[i] = g;
        }
    }
    Ok(upload(returns, [h.n, h.t], &trajectories.rewards.device()))
}

/// V-trace targets and advantages from [`vtrace_advantage_estimate`].
#[derive(Debug, Clone)]
pub struct VTraceEstimate<B: Backend> {
    /// `[N, T]` policy-gradient advantages `rho_bar_t * (r_t + gamma * v_{t+1} - V(s_t))`.
    pub advantages: Tensor<B, 2>,
    /// `[N, T]` V-trace value targets `v_t`.
    pub vs: Tensor<B, 2>,
}

const FN_VTA: &str = "vtrace_advantage_estimate";

/// V-trace (Espeholt et al. 2018) with done flags, torchrl's `vtrace_advantage_estimate`.
///
/// `log_pi` is the log-probability of the taken action under the current (target) policy and
/// `log_mu` under the behaviour policy that collected it, so `rho = pi / mu` (torchrl's
/// docstring has the two names swapped; its code, and this function, use IMPALA's meaning).
/// With `rho_bar = min(rho, rho_thresh)` and `c = min(rho, c_thresh)`:
///
/// ```text
/// delta_t = rho_bar_t * (r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t))
/// acc_t   = delta_t + gamma * (1 - done_t) * c_t * acc_{t+1},  acc_T = 0
/// vs_t    = acc_t + V(s_t)
/// v_next  = V(s_{t+1}) at the last step and wherever done_t, else vs_{t+1}
/// adv_t   = rho_bar_t * (r_t + gamma * (1 - terminated_t) * v_next - V(s_t))
/// ```
///
/// Using `V(s_{t+1})` after every `done` (not only at the last step) keeps a truncated step
/// from bootstrapping from the next episode's first state; torchrl does the same.
///
/// # Errors
/// If a shape differs from `rewards`', gamma is outside `[0, 1]` or a threshold is not > 0.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Bool, Tensor};
/// use rl_functional::{vtrace_advantage_estimate, Trajectories};
///
/// let d = Default::default();
/// let traj = Trajectories::<NdArray> {
///     rewards: Tensor::from_floats([[1.0, 1.0]], &d),
///     values: Tensor::zeros([1, 2], &d),
///     next_values: Tensor::from_floats([[0.0, 2.0]], &d),
///     done: Tensor::<NdArray, 2, Bool>::from_data([[false, false]], &d),
///     terminated: Tensor::<NdArray, 2, Bool>::from_data([[false, false]], &d),
/// };
/// // Off-policy: the target policy took these actions twice as often (rho = 2, clipped to 1).
/// let log_mu = Tensor::<NdArray, 2>::full([1, 2], -1.0, &d);
/// let log_pi = log_mu.clone().add_scalar(2f32.ln());
/// let out = vtrace_advantage_estimate(&traj, log_pi, log_mu, 0.5, 1.0, 1.0).unwrap();
/// // vs_1 = 1 + 0.5 * 2 = 2, vs_0 = 1 + 0.5 * 0 + 0.5 * 1 * (vs_1 - V_1) = 2.
/// assert_eq!(out.vs.into_data().to_vec::<f32>().unwrap(), vec![2.0, 2.0]);
/// ```
pub fn vtrace_advantage_estimate<B: Backend>(
    trajectories: &Trajectories<B>,
    log_pi: Tensor<B, 2>,
    log_mu: Tensor<B, 2>,
    gamma: f32,
    rho_thresh: f32,
    c_thresh: f32,
) -> Result<VTraceEstimate<B>> {
    expect_range(FN_VTA, "gamma", gamma, 0.0, 1.0, "must be in [0, 1]")?;
    expect_range(
        FN_VTA,
        "rho_thresh",
        rho_thresh,
        f32::MIN_POSITIVE,
        f32::INFINITY,
        "must be > 0",
    )?;
    expect_range(
        FN_VTA,
        "c_thresh",
        c_thresh,
        f32::MIN_POSITIVE,
        f32::INFINITY,
        "must be > 0",
    )?;
    let dims = trajectories.checked_dims(FN_VTA)?;
    expect_shape(FN_VTA, "log_pi", &log_pi.dims(), &dims)?;
    expect_shape(FN_VTA, "log_mu", &log_mu.dims(), &dims)?;
    let h = trajectories.to_host(FN_VTA)?;
    let log_rho: Vec<f32> = read_f32((log_pi - log_mu).detach(), FN_VTA, "log_pi - log_mu")?;

    let mut vs = vec![0.0f32; h.n * h.t];
    let mut advantages = vec![0.0f32; h.n * h.t];
    for row in 0..h.n {
        let mut acc = 0.0f32;
        for t in (0..h.t).rev() {
            let i = row * h.t + t;
            let rho = log_rho[i].exp();
            let bootstrap = if h.terminated[i] { 0.0 } else { gamma };
            let trace = if h.done[i] { 0.0 } else { gamma };
            let delta =
                rho.min(rho_thresh) * (h.rewards[i] + bootstrap * h.next_values[i] - h.values[i]);
            acc = delta + trace * rho.min(c_thresh) * acc;
            vs[i] = acc + h.values[i];
        }
        for t in 0..h.t {
            let i = row * h.t + t;
            let rho = log_rho[i].exp();
            let bootstrap = if h.terminated[i] { 0.0 } else { gamma };
            let v_next = if t + 1 == h.t || h.done[i] {
                h.next_values[i]
            } else {
                vs[i + 1]
            };
            advantages[i] = rho.min(rho_thresh) * (h.rewards[i] + bootstrap * v_next - h.values[i]);
        }
    }
    let device = trajectories.rewards.device();
    Ok(VTraceEstimate {
        advantages: upload(advantages, [h.n, h.t], &device),
        vs: upload(vs, [h.n, h.t], &device),
    })
}
