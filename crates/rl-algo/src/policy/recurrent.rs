//! [`Recurrent`]: a [`RecurrentModel`] stepping one time step at a time with each
//! environment's state; the update's unit is a sequence of `seq_len` steps, run from the state
//! stored at its first step. Everything a recurrent state changes is in this file.

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use rl_core::{Action, Observation, PolicyOutput, RecurrentModel, RecurrentState, Transition};

use super::{Actor, Forward, Inner, Policy, UnitLayout, device_of, sealed};
use crate::checkpoint::CheckpointProblem;
use crate::config::{PpoConfig, RecurrenceConfig};
use crate::error::Result;
use crate::rollout::TrainBatch;

/// The recurrent policy of [`Ppo`](crate::Ppo) (see [`RecurrentAlgorithm`](crate::RecurrentAlgorithm)):
/// the recurrent settings and the state carried between steps and collects.
///
/// During a collect an environment's state goes back to the model's initial state when its
/// episode ends (terminated or truncated), when the environments are reset and, for all
/// environments, on the `state_reset` schedule; the states at the start of each
/// `seq_len` chunk of a training collect are stored for the update.
#[derive(Debug)]
pub struct Recurrent<B: AutodiffBackend, M> {
    config: RecurrenceConfig,
    /// The state of every environment before its next step.
    state: Option<RecurrentState<Inner<B>>>,
    /// The state after the current step, before episode resets.
    next: Option<RecurrentState<Inner<B>>>,
    /// The states at the start of each chunk of the last training collect.
    chunk_states: Vec<RecurrentState<Inner<B>>>,
    /// Whether the collect in progress stores chunk-start states.
    storing: bool,
    /// Step of the horizon in progress.
    t: usize,
    sequences: u64,
    state_resets: u64,
    _model: std::marker::PhantomData<M>,
}

impl<B: AutodiffBackend, M> Recurrent<B, M> {
    /// The recurrent policy with these settings (validated by the engine).
    pub fn new(config: RecurrenceConfig) -> Self {
        Self {
            config,
            state: None,
            next: None,
            chunk_states: Vec::new(),
            storing: false,
            t: 0,
            sequences: 0,
            state_resets: 0,
            _model: std::marker::PhantomData,
        }
    }

    /// The recurrent settings.
    pub fn config(&self) -> &RecurrenceConfig {
        &self.config
    }

    /// Chunks of `seq_len` steps collected so far, evaluation included (rl8's
    /// `state.sequences`, the counter of the state-reset schedule).
    pub fn sequences(&self) -> u64 {
        self.sequences
    }

    /// How many times the `state_reset` schedule reset every environment's state
    /// (rl8 counts its `init_states` calls). Resets at episode ends are not counted.
    pub fn state_resets(&self) -> u64 {
        self.state_resets
    }

    /// The chunk-start states of the last training collect, for tests.
    #[cfg(test)]
    pub(crate) fn chunk_states(&self) -> &[RecurrentState<Inner<B>>] {
        &self.chunk_states
    }
}

impl<B: AutodiffBackend, M> sealed::Sealed for Recurrent<B, M> {}

impl<B, M> Policy<B> for Recurrent<B, M>
where
    B: AutodiffBackend,
    M: RecurrentModel<B> + AutodiffModule<B>,
    Actor<B, M>: RecurrentModel<Inner<B>>,
{
    type Model = M;
    type Dist = <Actor<B, M> as RecurrentModel<Inner<B>>>::Dist;
    type UpdateInputs = RecurrentState<B>;

    fn begin_collect(&mut self, actor: &Actor<B, M>, num_envs: usize, reset: bool, training: bool) {
        if reset || self.state.is_none() {
            self.state = Some(actor.init_state(num_envs, &device_of(actor)));
        }
        self.storing = training;
        if training {
            self.chunk_states.clear();
        }
    }

    fn act(
        &mut self,
        actor: &Actor<B, M>,
        obs: &Observation<Inner<B>>,
        t: usize,
    ) -> Result<PolicyOutput<Inner<B>, Self::Dist>> {
        self.t = t;
        let seq_len = self.config.seq_len;
        let mut state = self.state.take().expect("begin_collect sets the state");
        if t.is_multiple_of(seq_len) {
            if self.config.state_reset.at(self.sequences) {
                state = actor.init_state(obs.batch_size(), &device_of(actor));
                self.state_resets += 1;
            }
            if self.storing {
                self.chunk_states.push(state.clone());
            }
        }
        let out = actor.forward(obs, 1, state.clone());
        self.state = Some(state);
        let out = out?;
        self.next = Some(out.state);
        Ok(PolicyOutput {
            dist: out.dist,
            values: out.values,
        })
    }

    fn final_values(
        &self,
        actor: &Actor<B, M>,
        obs: &Observation<Inner<B>>,
        envs: Tensor<Inner<B>, 1, Int>,
    ) -> Result<Tensor<Inner<B>, 2>> {
        let state = self
            .next
            .as_ref()
            .or(self.state.as_ref())
            .expect("act ran before")
            .select(envs);
        Ok(actor.forward(obs, 1, state)?.values)
    }

    fn end_step(&mut self, actor: &Actor<B, M>, step: &Transition<Inner<B>>) -> Result<()> {
        let next = match self.next.take() {
            Some(next) => next,
            None => self.state.take().expect("act ran before"),
        };
        // Applied whether or not a row ended: deciding that on the host would be a read.
        let next = next.reset_rows(step.done(), &actor.init_state(1, &device_of(actor)))?;
        self.state = Some(next);
        if (self.t + 1).is_multiple_of(self.config.seq_len) {
            self.sequences += 1;
        }
        Ok(())
    }

    fn bootstrap_values(
        &self,
        actor: &Actor<B, M>,
        obs: &Observation<Inner<B>>,
    ) -> Result<Tensor<Inner<B>, 2>> {
        let state = self.state.clone().expect("act ran before");
        Ok(actor.forward(obs, 1, state)?.values)
    }

    fn collect_failed(&mut self) {
        // The chunk states were overwritten: no older rollout can be trained on either.
        self.chunk_states.clear();
        self.next = None;
    }

    fn save_carried(&self) -> std::result::Result<Vec<u8>, CheckpointProblem> {
        let state: Option<Vec<TensorData>> = self
            .state
            .as_ref()
            .map(|s| s.tensors.iter().map(Tensor::to_data).collect());
        rmp_serde::to_vec(&(state, self.sequences, self.state_resets))
            .map_err(|e| CheckpointProblem::encode("recurrent state", e))
    }

    fn load_carried(
        &mut self,
        actor: &Actor<B, M>,
        bytes: &[u8],
    ) -> std::result::Result<(), CheckpointProblem> {
        let (state, sequences, state_resets): (Option<Vec<TensorData>>, u64, u64) =
            rmp_serde::from_slice(bytes)
                .map_err(|e| CheckpointProblem::decode("recurrent state", e))?;
        let device = device_of(actor);
        self.state = state.map(|tensors| {
            RecurrentState::new(
                tensors
                    .into_iter()
                    .map(|t| Tensor::from_data(t, &device))
                    .collect(),
            )
        });
        (self.sequences, self.state_resets) = (sequences, state_resets);
        self.next = None;
        self.chunk_states.clear();
        Ok(())
    }

    fn prepare_update(
        &mut self,
        config: &PpoConfig,
        batch: TrainBatch<Inner<B>>,
    ) -> Result<(TrainBatch<Inner<B>>, UnitLayout, RecurrentState<B>)> {
        let n = config.num_envs;
        let seq_len = self.config.seq_len;
        let units = self.config.num_sequences(config);
        let states = RecurrentState::cat(std::mem::take(&mut self.chunk_states))?;
        // Sequence `s = c * N + e` is chunk `c` of environment `e` (the chunk-start states'
        // order); its step `l` is time-major row `(c * L + l) * N + e`.
        let order: Vec<i64> = (0..units)
            .flat_map(|s| {
                let (c, e) = (s / n, s % n);
                (0..seq_len).map(move |l| ((c * seq_len + l) * n + e) as i64)
            })
            .collect();
        let device = batch.logp_old.device();
        let order = Tensor::<Inner<B>, 1, Int>::from_data(
            TensorData::new(order, [units * seq_len]),
            &device,
        );
        let layout = UnitLayout::new(config, units, seq_len, Some(seq_len))?;
        Ok((
            batch.reorder(order),
            layout,
            RecurrentState::from_inner(states),
        ))
    }

    fn forward(
        &self,
        model: &M,
        states: &RecurrentState<B>,
        obs: &Observation<B>,
        actions: &Action<B>,
        units: Option<Tensor<B, 1, Int>>,
    ) -> Result<Forward<B>> {
        let state = match units {
            Some(units) => states.select(units),
            None => states.clone(),
        };
        let out = model.forward(obs, self.config.seq_len, state)?;
        Forward::new(out.dist, out.values, actions)
    }
}
