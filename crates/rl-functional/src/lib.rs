//! Pure functions over Burn tensors for on-policy reinforcement learning.
//!
//! Every function is generic over the Burn backend and matches a reference implementation
//! people trust, checked against golden cases produced by the real Python libraries (see the
//! repository's `oracle` package):
//!
//! | area | functions | reference |
//! |---|---|---|
//! | advantages, infinite horizon | [`generalized_advantage_estimate`], [`normalize`] | rl8 |
//! | done-aware estimators | [`gae`] (one device kernel on wgpu, see [`has_device_gae`]), [`td0_return_estimate`], [`td_lambda_return_estimate`], [`vtrace_advantage_estimate`] | torchrl |
//! | V-trace from logits | [`vtrace_from_logits`] | pytorch_seed_rl |
//! | PPO | [`ppo_losses`], [`clipped_surrogate`], [`value_loss`], [`approx_kl`], [`clip_fraction`], [`explained_variance`] | rl8, torchrl |
//! | other losses | [`policy_gradient_loss`], [`entropy_loss`] | pytorch_seed_rl |
//! | masks | [`masked_log_softmax`], [`masked_categorical_sample`], [`masked_avg`], [`masked_max`], [`mask_from_lengths`], [`binary_mask_to_float_mask`], [`float_mask_to_binary_mask`] | rl8 |
//! | layers | [`skip_connection`] | rl8 |
//! | optimization | [`clip_grad_norm`] (global norm) | torch |
//!
//! # Layout
//! Sequences are **batch-major**: `[N, T]` (rl8's buffer is `[B, T+1]`; torchrl's
//! `[*B, T, 1]` flattens to `[N, T]`; pytorch_seed_rl's time-major `[T, N]` transposes).
//!
//! # Errors
//! Functions that can be called with inconsistent inputs return [`Result`] with an [`Error`]
//! naming the function, the argument and what was expected; they do not panic on bad shapes.
#![warn(missing_docs)]

mod advantage;
mod device_scan;
mod error;
mod estimators;
mod grad;
pub mod host;
mod loss;
mod mask;
mod reshape;
mod skip;
mod vtrace;

pub use advantage::{
    GaeOptions, GaeOutput, generalized_advantage_estimate,
    generalized_advantage_estimate_reference, normalize,
};
pub use device_scan::has_device_gae;
pub use error::{Error, Result};
pub use estimators::{
    Discount, Trajectories, VTraceEstimate, ValueEstimate, gae, td_lambda_return_estimate,
    td0_return_estimate, vtrace_advantage_estimate,
};
pub use grad::clip_grad_norm;
pub use loss::{
    PpoBatch, PpoLossConfig, PpoLosses, ValueLossKind, approx_kl, clip_fraction, clipped_surrogate,
    entropy_loss, explained_variance, policy_gradient_loss, ppo_losses, value_loss,
};
pub use mask::{
    binary_mask_to_float_mask, float_mask_to_binary_mask, gumbel_noise, mask_from_lengths,
    masked_avg, masked_categorical_sample, masked_log_softmax, masked_max, normal_noise,
};
pub use reshape::reshape;
pub use skip::{SkipKind, skip_connection};
pub use vtrace::{VTraceInput, VTraceOutput, vtrace_from_logits};
