//! rl8's generalized advantage estimate over an infinite-horizon buffer `[B, T+1]`.

use burn::tensor::{Tensor, backend::Backend};

use crate::host::{expect_range, expect_shape, read_f32, upload};
use crate::{Error, Result};

const FN_GAE: &str = "generalized_advantage_estimate";

/// Independent recursions a host scan runs side by side (see `gae_scan`).
pub(crate) const BLOCK: usize = 8;

/// Options of [`generalized_advantage_estimate`]; the defaults are rl8's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaeOptions {
    /// Discount factor gamma, in `[0, 1]`. Default 0.95.
    pub gamma: f32,
    /// GAE lambda, in `[0, 1]`. Default 0.95.
    pub lambda: f32,
    /// Standardize the advantages of the first T columns with their mean and unbiased standard
    /// deviation over all `B*T*...` entries. Default true.
    pub normalize_advantages: bool,
    /// Rewards are divided by `reward_scale + 1e-8` before the recursion (rl8's reward
    /// normalization passes the standard deviation of the discounted return here). Must be
    /// finite and `>= 0`. Default 1.0, which is an exact no-op in `f32`.
    pub reward_scale: f32,
}

impl Default for GaeOptions {
    fn default() -> Self {
        Self {
            gamma: 0.95,
            lambda: 0.95,
            normalize_advantages: true,
            reward_scale: 1.0,
        }
    }
}

/// Advantages and returns from [`generalized_advantage_estimate`].
#[derive(Debug, Clone)]
pub struct GaeOutput<B: Backend, const D: usize> {
    /// `[B, T+1, ...]`: the (optionally standardized) advantages; column T is always 0.
    pub advantages: Tensor<B, D>,
    /// `[B, T+1, ...]`: unnormalized advantages plus values, the value-function targets; column
    /// T equals the bootstrap value `V(s_T)`.
    pub returns: Tensor<B, D>,
}

/// rl8's generalized advantage estimate (Schulman et al. 2015) over a buffer with a bootstrap
/// column, for infinite-horizon environments (no done flags).
///
/// `rewards` and `values` are `[B, T+1, ...]` (batch-major, any trailing dims, which are
/// treated as independent lanes). Column `t < T` holds `r_t` and `V(s_t)`; column T of
/// `values` is the bootstrap value `V(s_T)`, and column T of `rewards` is ignored. With
/// `r~ = r / (reward_scale + 1e-8)`:
///
/// ```text
/// delta_t = r~_t + (gamma * V_{t+1} - V_t)
/// A_t     = delta_t + gamma * lambda * A_{t+1},   A_T = 0
/// returns = A + V                                  (from the unnormalized A)
/// A[:, :T] <- (A[:, :T] - mean) / (std + 1e-8)     if normalize_advantages
/// ```
///
/// The arithmetic follows rl8's order of operations in `f32`, so results match rl8 to the last
/// bit or within a few ulps. Differences from rl8, both deliberate:
/// - the inputs are never modified (rl8 overwrites the caller's rewards with the scaled ones);
/// - with a single advantage (`B*T*... == 1`) and normalization, the unbiased standard deviation
///   is undefined: rl8 returns NaN, this function treats it as 0 and returns the centred
///   advantage, 0.
///
/// The recursion runs as one scan on the host (see the crate's GAE benchmark), so on a GPU
/// backend this reads the two inputs back once and uploads the two outputs once.
///
/// For episodic environments with `terminated`/`truncated` flags use [`crate::gae`].
///
/// # Errors
/// If the two shapes differ, there are fewer than 2 columns, or an option is out of range.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rl_functional::{generalized_advantage_estimate, GaeOptions};
///
/// let device = Default::default();
/// // One env, T = 2 steps plus the bootstrap column.
/// let rewards = Tensor::<NdArray, 2>::from_floats([[1.0, 1.0, 0.0]], &device);
/// let values = Tensor::<NdArray, 2>::from_floats([[0.0, 0.0, 0.0]], &device);
/// let options = GaeOptions { gamma: 0.5, lambda: 1.0, normalize_advantages: false, ..Default::default() };
/// let out = generalized_advantage_estimate(rewards, values, &options).unwrap();
/// // A_1 = 1, A_0 = 1 + 0.5 * 1 = 1.5; the bootstrap column stays 0.
/// let a: Vec<f32> = out.advantages.into_data().to_vec().unwrap();
/// assert_eq!(a, vec![1.5, 1.0, 0.0]);
/// ```
pub fn generalized_advantage_estimate<B: Backend, const D: usize>(
    rewards: Tensor<B, D>,
    values: Tensor<B, D>,
    options: &GaeOptions,
) -> Result<GaeOutput<B, D>> {
    let dims = rewards.dims();
    expect_shape(FN_GAE, "values", &values.dims(), &dims)?;
    if D < 2 || dims[1] < 2 {
        return Err(Error::Shape {
            function: FN_GAE,
            argument: "rewards",
            actual: dims.to_vec(),
            expected: "[B, T+1, ...] with T >= 1".into(),
        });
    }
    expect_range(
        FN_GAE,
        "gamma",
        options.gamma,
        0.0,
        1.0,
        "must be in [0, 1]",
    )?;
    expect_range(
        FN_GAE,
        "lambda",
        options.lambda,
        0.0,
        1.0,
        "must be in [0, 1]",
    )?;
    expect_range(
        FN_GAE,
        "reward_scale",
        options.reward_scale,
        0.0,
        f32::MAX,
        "must be finite and >= 0",
    )?;
    let device = rewards.device();
    let rewards = read_f32(rewards, FN_GAE, "rewards")?;
    let values = read_f32(values, FN_GAE, "values")?;
    let (advantages, returns) = gae_scan(rewards, values, dims[0], dims[1], options);
    Ok(GaeOutput {
        advantages: upload(advantages, dims, &device),
        returns: upload(returns, dims, &device),
    })
}

/// The host scan behind [`generalized_advantage_estimate`]: row-major `[batch, cols, lanes]`
/// rewards and values in, `(advantages, returns)` out, written over the two input buffers.
pub(crate) fn gae_scan(
    mut rewards: Vec<f32>,
    mut values: Vec<f32>,
    batch: usize,
    cols: usize,
    options: &GaeOptions,
) -> (Vec<f32>, Vec<f32>) {
    let lanes = rewards.len() / (batch * cols);
    let steps = cols - 1;
    // rl8 evaluates these in double precision, then they meet f32 tensors.
    let scale = (options.reward_scale as f64 + 1e-8) as f32;
    let gamma = options.gamma;
    let gamma_lambda = (options.gamma as f64 * options.lambda as f64) as f32;

    // The outputs overwrite the inputs, so the scan allocates nothing: fresh pages cost more
    // than the arithmetic here. `rewards[i]` becomes `A[i]` once read; `values[i]` becomes
    // `A[i] + V[i]` one step later, after the step before it has read `V[i]`.
    //
    // Each (row, lane) is an independent recursion along t. Run BLOCK of them side by side:
    // one alone is bound by the latency of its dependency chain, several overlap, and a
    // block's rows stay in the L1 cache.
    let chains = batch * lanes;
    let base = |c: usize| (c / lanes) * cols * lanes + c % lanes;
    for first in (0..chains).step_by(BLOCK) {
        let count = BLOCK.min(chains - first);
        let mut bases = [0usize; BLOCK];
        for (k, b) in bases.iter_mut().enumerate().take(count) {
            *b = base(first + k);
            // A_T = 0, so returns_T = V_T (left as is).
            rewards[*b + steps * lanes] = 0.0;
        }
        let mut acc = [0.0f32; BLOCK];
        for t in (0..steps).rev() {
            for k in 0..count {
                let i = bases[k] + t * lanes;
                let delta = rewards[i] / scale + (gamma * values[i + lanes] - values[i]);
                acc[k] = delta + gamma_lambda * acc[k];
                rewards[i] = acc[k];
                if t + 1 < steps {
                    values[i + lanes] += rewards[i + lanes];
                }
            }
        }
        for &i in &bases[..count] {
            values[i] += rewards[i];
        }
    }
    let (mut advantages, returns) = (rewards, values);

    if options.normalize_advantages {
        let body = |b: usize| b * cols * lanes..(b * cols + steps) * lanes;
        let count = (batch * steps * lanes) as f64;
        let sum: f64 = (0..batch)
            .flat_map(|b| advantages[body(b)].iter())
            .map(|&a| a as f64)
            .sum();
        let mean = sum / count;
        let sq: f64 = (0..batch)
            .flat_map(|b| advantages[body(b)].iter())
            .map(|&a| (a as f64 - mean).powi(2))
            .sum();
        let std = if count > 1.0 {
            (sq / (count - 1.0)).sqrt()
        } else {
            0.0
        };
        let (mean, denom) = (mean as f32, std as f32 + 1e-8);
        for b in 0..batch {
            for a in &mut advantages[body(b)] {
                *a = (*a - mean) / denom;
            }
        }
    }
    (advantages, returns)
}

/// The same estimate written as T sequential tensor operations, as rl8 and most Python
/// libraries do it.
///
/// It is slow on every backend (each step is several small ops; on a GPU each op is a kernel
/// launch) and exists as the test reference and benchmark baseline for
/// [`generalized_advantage_estimate`]. Takes `[B, T+1]` and returns `(advantages, returns)`
/// without normalization or reward scaling.
///
/// # Errors
/// If the shapes differ or there are fewer than 2 columns.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let d = Default::default();
/// let r = Tensor::<NdArray, 2>::from_floats([[1.0, 1.0, 0.0]], &d);
/// let v = Tensor::<NdArray, 2>::zeros([1, 3], &d);
/// let (a, _) = rl_functional::generalized_advantage_estimate_reference(r, v, 0.5, 1.0).unwrap();
/// assert_eq!(a.into_data().to_vec::<f32>().unwrap(), vec![1.5, 1.0, 0.0]);
/// ```
pub fn generalized_advantage_estimate_reference<B: Backend>(
    rewards: Tensor<B, 2>,
    values: Tensor<B, 2>,
    gamma: f32,
    lambda: f32,
) -> Result<(Tensor<B, 2>, Tensor<B, 2>)> {
    let [batch, cols] = rewards.dims();
    expect_shape(FN_GAE, "values", &values.dims(), &[batch, cols])?;
    if cols < 2 {
        return Err(Error::Shape {
            function: FN_GAE,
            argument: "rewards",
            actual: vec![batch, cols],
            expected: "[B, T+1] with T >= 1".into(),
        });
    }
    let gamma_lambda = (gamma as f64 * lambda as f64) as f32;
    let mut acc = Tensor::<B, 2>::zeros([batch, 1], &rewards.device());
    let mut columns = vec![acc.clone()];
    for t in (0..cols - 1).rev() {
        let r = rewards.clone().slice([0..batch, t..t + 1]);
        let v = values.clone().slice([0..batch, t..t + 1]);
        let v_next = values.clone().slice([0..batch, t + 1..t + 2]);
        acc = r + (v_next.mul_scalar(gamma) - v) + acc.mul_scalar(gamma_lambda);
        columns.push(acc.clone());
    }
    columns.reverse();
    let advantages = Tensor::cat(columns, 1);
    let returns = advantages.clone() + values;
    Ok((advantages, returns))
}

/// Standardizes `x` over all its elements: `(x - mean) / (std + 1e-8)` with the unbiased
/// standard deviation (rl8's advantage normalization). With a single element the standard
/// deviation is taken as 0.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let x = Tensor::<NdArray, 1>::from_floats([1.0, 2.0, 3.0], &Default::default());
/// let z: Vec<f32> = rl_functional::normalize(x).into_data().to_vec().unwrap();
/// assert!((z[0] + 1.0).abs() < 1e-6 && z[1].abs() < 1e-6 && (z[2] - 1.0).abs() < 1e-6);
/// ```
pub fn normalize<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let n = x.shape().num_elements();
    let mean = x.clone().mean();
    let centred = x - expand_scalar::<B, D>(mean);
    if n < 2 {
        return centred;
    }
    let var = centred
        .clone()
        .powi_scalar(2)
        .sum()
        .div_scalar((n - 1) as f32);
    let denom = var.sqrt().add_scalar(1e-8);
    centred / expand_scalar::<B, D>(denom)
}

/// Reshapes a `[1]` tensor to rank D so it broadcasts against any rank-D tensor.
pub(crate) fn expand_scalar<B: Backend, const D: usize>(x: Tensor<B, 1>) -> Tensor<B, D> {
    x.reshape([1; D])
}
