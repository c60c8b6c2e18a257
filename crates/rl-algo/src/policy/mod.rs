//! The one place where feed-forward and recurrent PPO differ: how the model acts during a
//! collect and how a minibatch is run through it in the update. [`Policy`] is that seam;
//! [`FeedForward`] and [`Recurrent`] are its two implementations, and
//! [`Ppo`](crate::Ppo) is written once over it.

mod feed_forward;
mod recurrent;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor};
use rl_core::{Action, Distribution, Observation, PolicyOutput, Transition};

use crate::checkpoint::CheckpointProblem;
use crate::config::PpoConfig;
use crate::error::{AlgoError, Result};
use crate::rollout::TrainBatch;

pub use feed_forward::FeedForward;
pub use recurrent::Recurrent;

/// The acting (non-autodiff) backend of `B`.
pub type Inner<B> = <B as AutodiffBackend>::InnerBackend;

/// The acting copy of the model `M`.
pub type Actor<B, M> = <M as AutodiffModule<B>>::InnerModule;

/// What the model gives for one minibatch, on the autodiff backend, `[R, 1]` each.
pub struct Forward<B: AutodiffBackend> {
    /// `log pi(a | s)` of the stored actions.
    pub logp: Tensor<B, 2>,
    /// The policy's entropy.
    pub entropy: Tensor<B, 2>,
    /// `V(s)`.
    pub values: Tensor<B, 2>,
}

/// How the update cuts the batch: `units` units of `rows_per_unit` consecutive rows each
/// (transitions for a feed-forward policy, sequences for a recurrent one); minibatches hold
/// `units_per_minibatch` whole units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitLayout {
    /// Units in the batch.
    pub units: usize,
    /// Rows per unit.
    pub rows_per_unit: usize,
    /// Units per minibatch.
    pub units_per_minibatch: usize,
}

impl UnitLayout {
    /// `units` units of `rows_per_unit` rows, minibatches as `config.minibatch` says, counted
    /// in sequences of `seq_len` for a recurrent policy (`None`: transitions).
    fn new(
        config: &PpoConfig,
        units: usize,
        rows_per_unit: usize,
        seq_len: Option<usize>,
    ) -> Result<Self> {
        let units_per_minibatch = config.minibatch_units(seq_len).ok_or_else(|| {
            AlgoError::invalid(
                "minibatch",
                format!("{:?}", config.minibatch),
                "see PpoConfig::validate",
            )
        })?;
        Ok(Self {
            units,
            rows_per_unit,
            units_per_minibatch,
        })
    }
}

impl<B: AutodiffBackend> Forward<B> {
    /// What a model gave for a minibatch whose stored actions are `actions` (drawn by the
    /// collect, so not read back to be checked).
    fn new<D: Distribution<B>>(dist: D, values: Tensor<B, 2>, actions: &Action<B>) -> Result<Self> {
        Ok(Self {
            logp: dist.log_prob_of_drawn(actions)?,
            entropy: dist.entropy(),
            values,
        })
    }
}

/// The device a model's parameters live on.
pub(crate) fn device_of<B: burn::tensor::backend::Backend, M: burn::module::Module<B>>(
    model: &M,
) -> B::Device {
    model.devices().into_iter().next().unwrap_or_default()
}

mod sealed {
    pub trait Sealed {}
}

/// How a model acts and trains in [`Ppo`](crate::Ppo): [`FeedForward`] (a [`rl_core::Model`])
/// or [`Recurrent`] (a [`rl_core::RecurrentModel`] with a state carried between steps). Sealed:
/// implemented by those two only.
///
/// The collect calls, per horizon: `begin_collect`, then for every step `act`,
/// `final_values` (when an episode may have been truncated), `end_step`; then `bootstrap_values`. The
/// update calls `prepare_update` once per `step()`, then `forward` per minibatch.
pub trait Policy<B: AutodiffBackend>: sealed::Sealed {
    /// The model being trained.
    type Model: AutodiffModule<B>;
    /// The action distribution of the acting model.
    type Dist: Distribution<Inner<B>>;
    /// What the update needs besides the batch (the recurrent policy's chunk-start states).
    type UpdateInputs;

    /// A collect starts: `reset` when the environments were just reset, `training` unless it
    /// is an evaluation.
    fn begin_collect(
        &mut self,
        actor: &Actor<B, Self::Model>,
        num_envs: usize,
        reset: bool,
        training: bool,
    );

    /// The policy at step `t` of the horizon for every environment.
    fn act(
        &mut self,
        actor: &Actor<B, Self::Model>,
        obs: &Observation<Inner<B>>,
        t: usize,
    ) -> Result<PolicyOutput<Inner<B>, Self::Dist>>;

    /// The values of the final (pre-reset) observations of the environments `envs`, whose
    /// episodes were truncated by the step just taken.
    fn final_values(
        &self,
        actor: &Actor<B, Self::Model>,
        obs: &Observation<Inner<B>>,
        envs: Tensor<Inner<B>, 1, Int>,
    ) -> Result<Tensor<Inner<B>, 2>>;

    /// After each step, with what the step returned (its episode ends, on the device).
    fn end_step(
        &mut self,
        actor: &Actor<B, Self::Model>,
        step: &Transition<Inner<B>>,
    ) -> Result<()>;

    /// The values of the observations after the horizon's last step (the bootstrap).
    fn bootstrap_values(
        &self,
        actor: &Actor<B, Self::Model>,
        obs: &Observation<Inner<B>>,
    ) -> Result<Tensor<Inner<B>, 2>>;

    /// A training collect failed after `begin_collect`: what it stored is unusable.
    fn collect_failed(&mut self);

    /// What the policy carries from one collect to the next (the recurrent state and its
    /// counters), encoded for a checkpoint.
    fn save_carried(&self) -> std::result::Result<Vec<u8>, CheckpointProblem>;

    /// Restores what [`save_carried`](Policy::save_carried) saved, on the acting model's
    /// device.
    fn load_carried(
        &mut self,
        actor: &Actor<B, Self::Model>,
        bytes: &[u8],
    ) -> std::result::Result<(), CheckpointProblem>;

    /// The batch of one `step()` in the policy's unit order, its layout, and the policy's
    /// own inputs to the update.
    #[allow(clippy::type_complexity)]
    fn prepare_update(
        &mut self,
        config: &PpoConfig,
        batch: TrainBatch<Inner<B>>,
    ) -> Result<(TrainBatch<Inner<B>>, UnitLayout, Self::UpdateInputs)>;

    /// Runs a minibatch through `model`: `obs` and `actions` hold its rows, `units` its units'
    /// indices (`None`: the whole batch in order).
    fn forward(
        &self,
        model: &Self::Model,
        inputs: &Self::UpdateInputs,
        obs: &Observation<B>,
        actions: &Action<B>,
        units: Option<Tensor<B, 1, Int>>,
    ) -> Result<Forward<B>>;
}
