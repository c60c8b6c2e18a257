//! Policy losses: PPO (rl8's clipped and dual-clipped surrogate with its value loss), value
//! losses, diagnostics, and pytorch_seed_rl's policy-gradient and entropy losses.

use burn::tensor::{
    Int, Tensor,
    activation::{log_softmax, softmax},
    backend::Backend,
};

use crate::advantage::expand_scalar;
use crate::host::{expect_range, expect_shape};
use crate::vtrace::{action_log_probs, check_actions};
use crate::{Error, Result};

/// The per-sample value loss `L(prediction, target)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueLossKind {
    /// Smooth L1 / Huber with beta 1: `0.5 d^2` if `|d| < 1`, else `|d| - 0.5`. rl8's and
    /// torchrl's default.
    #[default]
    Huber,
    /// Squared error `d^2` (torchrl's `l2`, without a factor 0.5).
    Squared,
    /// Absolute error `|d|`.
    Absolute,
}

/// Elementwise value loss of `prediction` against `target`.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rl_functional::{value_loss, ValueLossKind};
///
/// let d = Default::default();
/// let v = Tensor::<NdArray, 1>::from_floats([0.0, 0.0], &d);
/// let r = Tensor::<NdArray, 1>::from_floats([0.5, 3.0], &d);
/// let l: Vec<f32> = value_loss(v, r, ValueLossKind::Huber).into_data().to_vec().unwrap();
/// assert_eq!(l, vec![0.125, 2.5]);
/// ```
pub fn value_loss<B: Backend, const D: usize>(
    prediction: Tensor<B, D>,
    target: Tensor<B, D>,
    kind: ValueLossKind,
) -> Tensor<B, D> {
    let diff = (prediction - target).abs();
    match kind {
        ValueLossKind::Huber => {
            let quadratic = diff.clone().powi_scalar(2).mul_scalar(0.5);
            let linear = diff.clone().sub_scalar(0.5);
            linear.mask_where(diff.lower_elem(1.0), quadratic)
        }
        ValueLossKind::Squared => diff.powi_scalar(2),
        ValueLossKind::Absolute => diff,
    }
}

/// Options of [`ppo_losses`]. The defaults are those of rl8's `ppo_losses` function (note that
/// rl8's `AlgorithmConfig` passes `dual_clip_param: None` and `vf_clip_param: 5.0` instead).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PpoLossConfig {
    /// Surrogate clip epsilon, in (0, 1). Default 0.2.
    pub clip_param: f32,
    /// Dual-clip constant c > 1 (Ye et al. 2020): for negative advantages the objective is
    /// floored at `c * A`. `None` disables it. Default `Some(5.0)`.
    pub dual_clip_param: Option<f32>,
    /// Entropy bonus coefficient. Default 0.
    pub entropy_coeff: f32,
    /// rl8's value "clip": the per-sample value loss is clamped to `[0, vf_clip_param]`, which
    /// gives zero gradient to samples whose loss exceeds it. `None` disables it. Default
    /// `Some(1.0)`.
    pub vf_clip_param: Option<f32>,
    /// Value loss coefficient. Default 1.
    pub vf_coeff: f32,
    /// PPO2-style value clipping against the values stored at collection time (`old_values`):
    /// `max(L(V), L(V_old + clamp(V - V_old, -c, c)))`. Not in rl8. Default `None`.
    pub value_clip: Option<f32>,
    /// The per-sample value loss. Default Huber (rl8's).
    pub value_loss: ValueLossKind,
}

impl Default for PpoLossConfig {
    fn default() -> Self {
        Self {
            clip_param: 0.2,
            dual_clip_param: Some(5.0),
            entropy_coeff: 0.0,
            vf_clip_param: Some(1.0),
            vf_coeff: 1.0,
            value_clip: None,
            value_loss: ValueLossKind::Huber,
        }
    }
}

impl PpoLossConfig {
    /// Checks every field, naming the first one that breaks its rule.
    ///
    /// # Errors
    /// The first field outside its range.
    ///
    /// # Example
    /// ```
    /// use rl_functional::{Error, PpoLossConfig};
    ///
    /// assert!(PpoLossConfig::default().validate().is_ok());
    /// let bad = PpoLossConfig { dual_clip_param: Some(0.5), ..Default::default() };
    /// assert!(matches!(bad.validate(), Err(Error::InvalidArgument { argument: "dual_clip_param", .. })));
    /// ```
    pub fn validate(&self) -> Result<()> {
        const F: &str = "PpoLossConfig";
        let open_unit = self.clip_param > 0.0 && self.clip_param < 1.0;
        if !open_unit {
            return Err(Error::InvalidArgument {
                function: F,
                argument: "clip_param",
                value: self.clip_param.to_string(),
                rule: "must be in (0, 1)",
            });
        }
        if let Some(c) = self.dual_clip_param {
            expect_range(
                F,
                "dual_clip_param",
                c,
                1.0 + f32::EPSILON,
                f32::MAX,
                "must be > 1",
            )?;
        }
        if let Some(c) = self.vf_clip_param {
            expect_range(
                F,
                "vf_clip_param",
                c,
                f32::MIN_POSITIVE,
                f32::INFINITY,
                "must be > 0",
            )?;
        }
        if let Some(c) = self.value_clip {
            expect_range(
                F,
                "value_clip",
                c,
                f32::MIN_POSITIVE,
                f32::INFINITY,
                "must be > 0",
            )?;
        }
        expect_range(
            F,
            "entropy_coeff",
            self.entropy_coeff,
            f32::MIN,
            f32::MAX,
            "must be finite",
        )?;
        expect_range(
            F,
            "vf_coeff",
            self.vf_coeff,
            0.0,
            f32::MAX,
            "must be finite and >= 0",
        )?;
        Ok(())
    }
}

/// Per-sample inputs of [`ppo_losses`]; every tensor has the same shape (rl8 uses `[N, 1]`).
#[derive(Debug, Clone)]
pub struct PpoBatch<B: Backend, const D: usize> {
    /// Log-probability of the taken actions under the current policy (carries the gradient).
    pub logp: Tensor<B, D>,
    /// Log-probability of the same actions under the policy that collected them.
    pub logp_old: Tensor<B, D>,
    /// Advantages.
    pub advantages: Tensor<B, D>,
    /// Value targets.
    pub returns: Tensor<B, D>,
    /// Current value predictions (carry the gradient).
    pub values: Tensor<B, D>,
    /// Value predictions at collection time; required when `value_clip` is set.
    pub old_values: Option<Tensor<B, D>>,
    /// Per-sample entropy of the current policy; required when `entropy_coeff != 0`.
    pub entropy: Option<Tensor<B, D>>,
}

/// The losses and diagnostics returned by [`ppo_losses`], each a one-element tensor.
#[derive(Debug, Clone)]
pub struct PpoLosses<B: Backend> {
    /// The clipped surrogate objective (to be maximized; `total` subtracts it).
    pub policy: Tensor<B, 1>,
    /// The value loss.
    pub vf: Tensor<B, 1>,
    /// Mean entropy, or 0 when no entropy was given.
    pub entropy: Tensor<B, 1>,
    /// `vf_coeff * vf - policy - entropy_coeff * entropy`: what to minimize.
    pub total: Tensor<B, 1>,
    /// Approximate KL divergence of the old policy from the new, k3 estimator
    /// `mean(exp(r) - 1 - r)` with `r = logp - logp_old` (no gradient).
    pub approx_kl: Tensor<B, 1>,
    /// Fraction of samples whose ratio lies outside `[1 - clip, 1 + clip]` (no gradient).
    pub clip_fraction: Tensor<B, 1>,
    /// `1 - Var(returns - values) / (Var(returns) + eps)`, biased variances (no gradient).
    pub explained_variance: Tensor<B, 1>,
}

const FN_PPO: &str = "ppo_losses";

/// PPO losses with rl8's semantics (clip, dual clip, clamped Huber value loss, entropy bonus),
/// plus optional PPO2-style value clipping and the usual diagnostics.
///
/// With `rho = exp(logp - logp_old)`, all means over every sample:
///
/// ```text
/// s1     = A * rho
/// s2     = A * clamp(rho, 1 - clip, 1 + clip)
/// policy = mean(where(A < 0 and dual, max(min(s1, s2), dual * A), min(s1, s2)))
/// l      = L(V, R)                                 or, with value_clip c,
/// l      = max(L(V, R), L(V_old + clamp(V - V_old, -c, c), R))
/// vf     = mean(clamp(l, 0, vf_clip_param))        (no clamp when vf_clip_param is None)
/// total  = vf_coeff * vf - policy - entropy_coeff * mean(entropy)
/// ```
///
/// Differences from rl8, deliberate: when `entropy` is given with `entropy_coeff == 0` its mean
/// is still reported (rl8 reports 0); the zero entropy is a `[1]` tensor on the inputs' device.
///
/// # Errors
/// If the config is invalid, shapes differ, or an input required by the config is missing.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rl_functional::{ppo_losses, PpoBatch, PpoLossConfig};
///
/// let d = Default::default();
/// let t = |v: [f32; 2]| Tensor::<NdArray, 1>::from_floats(v, &d);
/// let batch = PpoBatch {
///     logp: t([-0.5, -1.0]),
///     logp_old: t([-0.5, -1.0]), // ratio 1: the surrogate is the mean advantage
///     advantages: t([1.0, 3.0]),
///     returns: t([1.0, 1.0]),
///     values: t([1.0, 1.0]),
///     old_values: None,
///     entropy: None,
/// };
/// let losses = ppo_losses(batch, &PpoLossConfig::default()).unwrap();
/// assert_eq!(losses.policy.into_scalar(), 2.0);
/// assert_eq!(losses.total.into_scalar(), -2.0);
/// ```
pub fn ppo_losses<B: Backend, const D: usize>(
    batch: PpoBatch<B, D>,
    config: &PpoLossConfig,
) -> Result<PpoLosses<B>> {
    config.validate()?;
    let dims = batch.logp.dims();
    for (name, t) in [
        ("logp_old", &batch.logp_old),
        ("advantages", &batch.advantages),
        ("returns", &batch.returns),
        ("values", &batch.values),
    ] {
        expect_shape(FN_PPO, name, &t.dims(), &dims)?;
    }
    if let Some(t) = &batch.old_values {
        expect_shape(FN_PPO, "old_values", &t.dims(), &dims)?;
    }
    if let Some(t) = &batch.entropy {
        expect_shape(FN_PPO, "entropy", &t.dims(), &dims)?;
    }

    let log_ratio = batch.logp - batch.logp_old;
    let ratio = log_ratio.clone().exp();
    let advantages = batch.advantages;
    let policy = clipped_surrogate(
        ratio.clone(),
        advantages,
        config.clip_param,
        config.dual_clip_param,
    )
    .mean();

    let mut per_sample_vf = value_loss(
        batch.values.clone(),
        batch.returns.clone(),
        config.value_loss,
    );
    if let Some(c) = config.value_clip {
        let old = batch.old_values.ok_or(Error::InvalidArgument {
            function: FN_PPO,
            argument: "old_values",
            value: "None".into(),
            rule: "required when value_clip is set",
        })?;
        let clipped = old.clone() + (batch.values.clone() - old).clamp(-c, c);
        let clipped_loss = value_loss(clipped, batch.returns.clone(), config.value_loss);
        per_sample_vf = per_sample_vf.max_pair(clipped_loss);
    }
    if let Some(c) = config.vf_clip_param {
        per_sample_vf = per_sample_vf.clamp(0.0, c);
    }
    let vf = per_sample_vf.mean();

    let device = policy.device();
    let mut total = vf.clone().mul_scalar(config.vf_coeff) - policy.clone();
    let entropy = match batch.entropy {
        Some(e) => e.mean(),
        None if config.entropy_coeff != 0.0 => {
            return Err(Error::InvalidArgument {
                function: FN_PPO,
                argument: "entropy",
                value: "None".into(),
                rule: "required when entropy_coeff != 0",
            });
        }
        None => Tensor::zeros([1], &device),
    };
    if config.entropy_coeff != 0.0 {
        total = total - entropy.clone().mul_scalar(config.entropy_coeff);
    }

    let log_ratio = log_ratio.detach();
    Ok(PpoLosses {
        policy,
        vf,
        entropy,
        total,
        approx_kl: approx_kl(log_ratio.clone()),
        clip_fraction: clip_fraction(log_ratio, config.clip_param),
        explained_variance: explained_variance(batch.values.detach(), batch.returns.detach()),
    })
}

/// Per-sample clipped (and optionally dual-clipped) surrogate objective
/// `min(A * rho, A * clamp(rho, 1 - clip, 1 + clip))`, floored at `dual * A` where `A < 0`.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let d = Default::default();
/// let ratio = Tensor::<NdArray, 1>::from_floats([2.0, 2.0], &d);
/// let adv = Tensor::<NdArray, 1>::from_floats([1.0, -1.0], &d);
/// let s = rl_functional::clipped_surrogate(ratio, adv, 0.2, None);
/// assert_eq!(s.into_data().to_vec::<f32>().unwrap(), vec![1.2, -2.0]);
/// ```
pub fn clipped_surrogate<B: Backend, const D: usize>(
    ratio: Tensor<B, D>,
    advantages: Tensor<B, D>,
    clip: f32,
    dual_clip: Option<f32>,
) -> Tensor<B, D> {
    let s1 = advantages.clone() * ratio.clone();
    let s2 = advantages.clone() * ratio.clamp(1.0 - clip, 1.0 + clip);
    let clip1 = s1.min_pair(s2);
    match dual_clip {
        Some(c) => {
            let clip2 = clip1.clone().max_pair(advantages.clone().mul_scalar(c));
            clip1.mask_where(advantages.lower_elem(0.0), clip2)
        }
        None => clip1,
    }
}

/// The k3 estimator of KL(old || new), `mean(exp(r) - 1 - r)` for log-ratios `r`: unbiased and
/// never negative (Schulman, "Approximating KL divergence", 2020).
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let r = Tensor::<NdArray, 1>::zeros([4], &Default::default());
/// assert_eq!(rl_functional::approx_kl(r).into_scalar(), 0.0);
/// ```
pub fn approx_kl<B: Backend, const D: usize>(log_ratio: Tensor<B, D>) -> Tensor<B, 1> {
    (log_ratio.clone().exp().sub_scalar(1.0) - log_ratio).mean()
}

/// Fraction of log-ratios outside `[ln(1 - clip), ln(1 + clip)]`, i.e. of samples whose ratio
/// the surrogate clips.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let r = Tensor::<NdArray, 1>::from_floats([0.0, 0.5, -0.5, 0.1], &Default::default());
/// assert_eq!(rl_functional::clip_fraction(r, 0.2).into_scalar(), 0.5);
/// ```
pub fn clip_fraction<B: Backend, const D: usize>(
    log_ratio: Tensor<B, D>,
    clip: f32,
) -> Tensor<B, 1> {
    let low = (-clip).ln_1p();
    let high = clip.ln_1p();
    let outside = log_ratio.clone().lower_elem(low).float() + log_ratio.greater_elem(high).float();
    outside.mean()
}

/// Explained variance `1 - Var(target - prediction) / (Var(target) + eps)` over all elements,
/// with biased variances and `eps = f32::EPSILON` (torchrl's definition). 1 is a perfect
/// prediction, 0 no better than the mean, negative worse.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let d = Default::default();
/// let target = Tensor::<NdArray, 1>::from_floats([1.0, 2.0, 3.0], &d);
/// let ev = rl_functional::explained_variance(target.clone(), target);
/// assert_eq!(ev.into_scalar(), 1.0);
/// ```
pub fn explained_variance<B: Backend, const D: usize>(
    prediction: Tensor<B, D>,
    target: Tensor<B, D>,
) -> Tensor<B, 1> {
    let residual = target.clone() - prediction;
    let var = |x: Tensor<B, D>| {
        let mean = x.clone().mean();
        (x - expand_scalar::<B, D>(mean)).powi_scalar(2).mean()
    };
    var(residual)
        .div(var(target).add_scalar(f32::EPSILON))
        .neg()
        .add_scalar(1.0)
}

const FN_PG: &str = "policy_gradient_loss";

/// pytorch_seed_rl's policy-gradient loss `sum(-log pi(a_t) * A_t)` over all samples (a sum, not
/// a mean), with the advantages detached.
///
/// `logits` are `[N, T, A]`, `actions` and `advantages` `[N, T]`.
///
/// # Errors
/// If shapes disagree or an action is out of range.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
///
/// let d = Default::default();
/// let logits = Tensor::<NdArray, 3>::zeros([1, 1, 2], &d); // pi(a) = 0.5
/// let actions = Tensor::<NdArray, 2, Int>::from_ints([[1]], &d);
/// let adv = Tensor::<NdArray, 2>::from_floats([[2.0]], &d);
/// let loss = rl_functional::policy_gradient_loss(logits, actions, adv).unwrap();
/// assert!((loss.into_scalar() - 2.0 * 2f32.ln()).abs() < 1e-6);
/// ```
pub fn policy_gradient_loss<B: Backend>(
    logits: Tensor<B, 3>,
    actions: Tensor<B, 2, Int>,
    advantages: Tensor<B, 2>,
) -> Result<Tensor<B, 1>> {
    let [n, t, a] = logits.dims();
    expect_shape(FN_PG, "actions", &actions.dims(), &[n, t])?;
    expect_shape(FN_PG, "advantages", &advantages.dims(), &[n, t])?;
    check_actions(FN_PG, &actions, a)?;
    Ok((action_log_probs(logits, actions).neg() * advantages.detach()).sum())
}

/// pytorch_seed_rl's entropy loss `sum(softmax(logits) * log_softmax(logits))` over every
/// element: the **negative** entropy, summed over all rows. Categories are the last dim.
///
/// As in pytorch_seed_rl, a `-inf` logit gives NaN (`0 * -inf`); mask with a finite minimum
/// (see [`crate::masked_log_softmax`]) instead.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let logits = Tensor::<NdArray, 2>::zeros([3, 4], &Default::default());
/// let loss = rl_functional::entropy_loss(logits).into_scalar();
/// assert!((loss + 3.0 * 4f32.ln()).abs() < 1e-5);
/// ```
pub fn entropy_loss<B: Backend, const D: usize>(logits: Tensor<B, D>) -> Tensor<B, 1> {
    let last = D - 1;
    (softmax(logits.clone(), last) * log_softmax(logits, last)).sum()
}
