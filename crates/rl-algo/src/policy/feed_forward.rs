//! [`FeedForward`]: a [`Model`] acting with one forward pass per step and no state; the
//! update's unit is one transition.

use std::marker::PhantomData;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor};
use rl_core::{Action, Model, Observation, PolicyOutput, Transition};

use super::{Actor, Forward, Inner, Policy, UnitLayout, sealed};
use crate::checkpoint::CheckpointProblem;
use crate::config::PpoConfig;
use crate::error::Result;
use crate::rollout::TrainBatch;

/// The feed-forward policy of [`Ppo`](crate::Ppo) (see [`Algorithm`](crate::Algorithm)).
#[derive(Debug, Clone, Copy, Default)]
pub struct FeedForward<M>(PhantomData<M>);

impl<M> FeedForward<M> {
    /// The feed-forward policy.
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<M> sealed::Sealed for FeedForward<M> {}

impl<B, M> Policy<B> for FeedForward<M>
where
    B: AutodiffBackend,
    M: Model<B> + AutodiffModule<B>,
    Actor<B, M>: Model<Inner<B>>,
{
    type Model = M;
    type Dist = <Actor<B, M> as Model<Inner<B>>>::Dist;
    type UpdateInputs = ();

    fn begin_collect(&mut self, _: &Actor<B, M>, _: usize, _: bool, _: bool) {}

    fn act(
        &mut self,
        actor: &Actor<B, M>,
        obs: &Observation<Inner<B>>,
        _t: usize,
    ) -> Result<PolicyOutput<Inner<B>, Self::Dist>> {
        Ok(actor.forward(obs)?)
    }

    fn final_values(
        &self,
        actor: &Actor<B, M>,
        obs: &Observation<Inner<B>>,
        _envs: Tensor<Inner<B>, 1, Int>,
    ) -> Result<Tensor<Inner<B>, 2>> {
        Ok(actor.forward(obs)?.values)
    }

    fn end_step(&mut self, _: &Actor<B, M>, _: &Transition<Inner<B>>) -> Result<()> {
        Ok(())
    }

    fn bootstrap_values(
        &self,
        actor: &Actor<B, M>,
        obs: &Observation<Inner<B>>,
    ) -> Result<Tensor<Inner<B>, 2>> {
        Ok(actor.forward(obs)?.values)
    }

    fn collect_failed(&mut self) {}

    fn save_carried(&self) -> std::result::Result<Vec<u8>, CheckpointProblem> {
        // A feed-forward policy carries nothing.
        Ok(Vec::new())
    }

    fn load_carried(
        &mut self,
        _: &Actor<B, M>,
        _: &[u8],
    ) -> std::result::Result<(), CheckpointProblem> {
        Ok(())
    }

    fn prepare_update(
        &mut self,
        config: &PpoConfig,
        batch: TrainBatch<Inner<B>>,
    ) -> Result<(TrainBatch<Inner<B>>, UnitLayout, ())> {
        let layout = UnitLayout::new(config, config.buffer_size(), 1, None)?;
        Ok((batch, layout, ()))
    }

    fn forward(
        &self,
        model: &M,
        _: &(),
        obs: &Observation<B>,
        actions: &Action<B>,
        _units: Option<Tensor<B, 1, Int>>,
    ) -> Result<Forward<B>> {
        let out = model.forward(obs)?;
        Forward::new(out.dist, out.values, actions)
    }
}
