//! [`RecurrentAlgorithm`]: recurrent PPO. `collect()` steps the model one time step at a time
//! with an explicit state; `step()` trains on sequences of `seq_len` steps, each started from the
//! state stored at its first step.
//!
//! Everything else (the collect loop, advantages, the PPO update core) is the feed-forward
//! algorithm's code: this file is only what a state changes.

use std::path::Path;
use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::optim::Adam;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rl_core::{
    Action, Distribution, Env, EnvConfig, Observation, PolicyOutput, RecurrentModel, RecurrentState,
};

use crate::collect::{Acting, Inner, Runner};
use crate::config::RecurrentAlgorithmConfig;
use crate::error::{AlgoError, Result};
use crate::recurrent_models::DefaultRecurrentModel;
use crate::stats::Stats;
use crate::update::{Forward, Targets};

/// The acting copy of the model `M`.
type Actor<B, M> = <M as AutodiffModule<B>>::InnerModule;

/// Recurrent PPO over a batched environment (rl8's `RecurrentAlgorithm`).
///
/// * `B`: the training backend (autodiff); acting runs on its inner backend.
/// * `E`: the environments, on the inner backend.
/// * `M`: the [`RecurrentModel`]; its `Dist` is the action distribution.
///
/// [`collect`](Self::collect) steps all environments `horizon` times, calling the model with
/// one step and the current state. An environment's state goes back to the model's initial
/// state when its episode ends (terminated or truncated) and, for all environments, on the
/// `seqs_per_state_reset` schedule; only the states at the start of each `seq_len` chunk are
/// stored. [`step`](Self::step) is the feed-forward update with sequences as the unit:
/// minibatches of `sgd_minibatch_size` sequences, each run through the model from its stored
/// state (truncated backpropagation through time over `seq_len` steps).
///
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use rl_algo::{AlgorithmConfig, RecurrentAlgorithmConfig, RecurrentModelConfig};
/// use rl_core::DiscreteDummyEnv;
///
/// type B = Autodiff<NdArray>;
/// let device = Default::default();
/// let config = RecurrentAlgorithmConfig::new()
///     .with_ppo(AlgorithmConfig::new().with_num_envs(16).with_horizon(8))
///     .with_seq_len(4)
///     .with_seqs_per_state_reset(2)
///     .with_model(RecurrentModelConfig::new().with_hidden_size(16));
/// let env = DiscreteDummyEnv::new(16, 0, &device)?;
/// let mut algo = config.init::<B, _>(env, &device)?;
/// let collected = algo.collect()?;
/// assert_eq!(collected.get("env/steps"), Some(128.0));
/// assert_eq!(algo.sequences(), 2);
/// let trained = algo.step()?;
/// assert!(trained.get("losses/total").unwrap().is_finite());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RecurrentAlgorithm<B, E, M>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    M: RecurrentModel<B> + AutodiffModule<B>,
    Actor<B, M>: RecurrentModel<Inner<B>>,
{
    config: RecurrentAlgorithmConfig,
    runner: Runner<B, E>,
    model: Option<M>,
    optimizer: OptimizerAdaptor<Adam, M, B>,
    /// The state of every environment before its next step.
    state: Option<RecurrentState<Inner<B>>>,
    /// The states at the start of each `seq_len` chunk of the last training collect.
    chunk_states: Vec<RecurrentState<Inner<B>>>,
    sequences: u64,
    state_resets: u64,
}

impl RecurrentAlgorithmConfig {
    /// Builds recurrent PPO with the default recurrent model for `env`'s spaces
    /// ([`RecurrentModelConfig::init`](crate::RecurrentModelConfig::init) with
    /// [`RecurrentAlgorithmConfig::model`] and `ppo.seed`).
    ///
    /// # Errors
    /// See [`RecurrentAlgorithm::with_model`], plus the default model's rules.
    pub fn init<B, E>(
        &self,
        env: E,
        device: &B::Device,
    ) -> Result<RecurrentAlgorithm<B, E, DefaultRecurrentModel<B>>>
    where
        B: AutodiffBackend,
        E: Env<Inner<B>>,
    {
        self.validate()?;
        let model = self.model.init::<B>(
            env.observation_space(),
            env.action_space(),
            self.ppo.seed,
            device,
        )?;
        RecurrentAlgorithm::with_model(self.clone(), env, model)
    }
}

/// The recurrent model acting: one step at a time, carrying each environment's state.
struct Stepping<'a, B: Backend, M> {
    model: &'a M,
    /// The state before the current step.
    state: RecurrentState<B>,
    /// The state after the current step, before episode resets.
    next: Option<RecurrentState<B>>,
    seq_len: usize,
    seqs_per_state_reset: i64,
    sequences: &'a mut u64,
    state_resets: &'a mut u64,
    /// Where the chunk-start states go (training collects only).
    chunk_states: Option<&'a mut Vec<RecurrentState<B>>>,
    t: usize,
    device: B::Device,
}

impl<B: Backend, M: RecurrentModel<B>> Acting<B> for Stepping<'_, B, M> {
    type Dist = M::Dist;

    fn act(&mut self, obs: &Observation<B>, t: usize) -> Result<PolicyOutput<B, M::Dist>> {
        self.t = t;
        if t.is_multiple_of(self.seq_len) {
            let seqs = *self.sequences;
            let scheduled = match u64::try_from(self.seqs_per_state_reset) {
                Ok(every) => seqs.is_multiple_of(every),
                Err(_) => seqs == 0,
            };
            if scheduled {
                self.state = self.model.init_state(obs.batch_size(), &self.device);
                *self.state_resets += 1;
            }
            if let Some(store) = self.chunk_states.as_mut() {
                store.push(self.state.clone());
            }
        }
        let out = self.model.forward(obs, 1, self.state.clone())?;
        self.next = Some(out.state);
        Ok(PolicyOutput {
            dist: out.dist,
            values: out.values,
        })
    }

    fn final_values(&self, obs: &Observation<B>, rows: Tensor<B, 1, Int>) -> Result<Tensor<B, 2>> {
        let state = self.next.as_ref().unwrap_or(&self.state).select(rows);
        Ok(self.model.forward(obs, 1, state)?.values)
    }

    fn episodes_ended(&mut self, done: &[bool]) -> Result<()> {
        let mut next = self.next.take().unwrap_or_else(|| self.state.clone());
        if done.iter().any(|&d| d) {
            let mask = Tensor::<B, 1, Bool>::from_data(
                TensorData::new(done.to_vec(), [done.len()]),
                &self.device,
            );
            next = next.reset_rows(mask, &self.model.init_state(1, &self.device))?;
        }
        self.state = next;
        if (self.t + 1).is_multiple_of(self.seq_len) {
            *self.sequences += 1;
        }
        Ok(())
    }

    fn bootstrap_values(&self, obs: &Observation<B>) -> Result<Tensor<B, 2>> {
        Ok(self.model.forward(obs, 1, self.state.clone())?.values)
    }
}

impl<B, E, M> RecurrentAlgorithm<B, E, M>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    M: RecurrentModel<B> + AutodiffModule<B>,
    Actor<B, M>: RecurrentModel<Inner<B>>,
{
    /// Recurrent PPO with a model of your own. The config is validated first; `env` must hold
    /// `ppo.num_envs` environments.
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] naming the first bad field, or [`AlgoError::Mismatch`] when
    /// the environment's batch size differs from `num_envs`.
    pub fn with_model(config: RecurrentAlgorithmConfig, env: E, model: M) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            optimizer: config.ppo.adam(),
            runner: Runner::new(config.ppo.clone(), env)?,
            config,
            model: Some(model),
            state: None,
            chunk_states: Vec::new(),
            sequences: 0,
            state_resets: 0,
        })
    }

    /// The config.
    pub fn config(&self) -> &RecurrentAlgorithmConfig {
        &self.config
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        // Only `step` takes the model out, and it always puts it back.
        self.model
            .as_ref()
            .expect("the model is always present between calls")
    }

    /// The environments.
    pub fn env(&self) -> &E {
        &self.runner.env
    }

    /// The running observation statistics the model's inputs are normalized with (with
    /// `normalize_observations`; `None` otherwise). A trained model expects its inputs
    /// normalized by them: [`ObservationNormalizer::normalize`](crate::ObservationNormalizer::normalize).
    pub fn observation_normalizer(&self) -> Option<&crate::ObservationNormalizer> {
        self.runner.observations.as_ref()
    }

    /// Collect calls so far, evaluation collects included (rl8's `state.horizons`).
    pub fn horizons(&self) -> u64 {
        self.runner.horizons
    }

    /// Environment transitions trained on so far (the schedules' count).
    pub fn trained_steps(&self) -> u64 {
        self.runner.trained_steps
    }

    /// Chunks of `seq_len` steps collected so far, evaluation included (rl8's
    /// `state.sequences`, the counter of the state-reset schedule).
    pub fn sequences(&self) -> u64 {
        self.sequences
    }

    /// How many times the `seqs_per_state_reset` schedule reset every environment's state
    /// (rl8 counts its `init_states` calls). Resets at episode ends are not counted.
    pub fn state_resets(&self) -> u64 {
        self.state_resets
    }

    /// Collects one horizon with the stochastic policy and buffers it for [`step`](Self::step).
    ///
    /// # Errors
    /// See [`collect_with`](Self::collect_with).
    pub fn collect(&mut self) -> Result<Stats> {
        self.collect_with(None, false)
    }

    /// Collects one horizon with the deterministic policy, for evaluation (nothing is
    /// buffered). The recurrent states carry on from and into training collects, as the
    /// environments do.
    ///
    /// # Errors
    /// See [`collect_with`](Self::collect_with).
    pub fn evaluate(&mut self) -> Result<Stats> {
        self.collect_with(None, true)
    }

    /// rl8's recurrent `collect(env_config, deterministic)`: the feed-forward
    /// [`collect_with`](crate::Algorithm::collect_with) (same resets, bootstrapping and
    /// statistics), stepping the model one step at a time with each environment's state. The
    /// statistics cover all `horizon` rewards (rl8's recurrent collect drops the first).
    ///
    /// # Errors
    /// As for the feed-forward algorithm.
    pub fn collect_with(
        &mut self,
        env_config: Option<&EnvConfig>,
        deterministic: bool,
    ) -> Result<Stats> {
        let actor = self.model().valid();
        let n = self.runner.config.num_envs;
        let device = actor.devices().into_iter().next().unwrap_or_default();
        let state = match self.state.take() {
            Some(state) if !self.runner.resets_next() => state,
            _ => actor.init_state(n, &device),
        };
        if !deterministic {
            self.chunk_states.clear();
        }
        let mut stepping = Stepping {
            model: &actor,
            state,
            next: None,
            seq_len: self.config.seq_len,
            seqs_per_state_reset: self.config.seqs_per_state_reset,
            sequences: &mut self.sequences,
            state_resets: &mut self.state_resets,
            chunk_states: (!deterministic).then_some(&mut self.chunk_states),
            t: 0,
            device,
        };
        let result = self
            .runner
            .collect(&mut stepping, env_config, deterministic);
        self.state = Some(stepping.state);
        if result.is_err() && !deterministic {
            // The chunk states were overwritten: no older rollout can be trained on either.
            self.runner.rollout = None;
        }
        result
    }

    /// rl8's recurrent `step()`: the feed-forward advantages and update core, with sequences of
    /// `seq_len` steps as the unit of shuffling and minibatching. Each sequence runs from the
    /// state stored at its first step during collection (stale states: not recomputed with the
    /// updated model, as in rl8). Returns the feed-forward statistics.
    ///
    /// # Errors
    /// [`AlgoError::NotBuffered`] without a training collect since the last step;
    /// [`AlgoError::NonFinite`] if a loss is NaN or infinite (that minibatch is not applied).
    pub fn step(&mut self) -> Result<Stats> {
        let rollout = self.runner.rollout.take().ok_or(AlgoError::NotBuffered)?;
        let start = Instant::now();
        let n = rollout.num_envs;
        let seq_len = self.config.seq_len;
        let (targets, obs, actions) = self.runner.targets(rollout)?;
        let states = RecurrentState::cat(std::mem::take(&mut self.chunk_states))?;
        // Sequence `s = c * N + e` is chunk `c` of environment `e` (the chunk-start states'
        // order); its step `l` is time-major row `(c * L + l) * N + e`.
        let units = self.config.num_sequences();
        let order: Vec<i64> = (0..units)
            .flat_map(|s| {
                let (c, e) = (s / n, s % n);
                (0..seq_len).map(move |l| ((c * seq_len + l) * n + e) as i64)
            })
            .collect();
        let device = targets.logp_old.device();
        let order = Tensor::<Inner<B>, 1, Int>::from_data(
            TensorData::new(order, [units * seq_len]),
            &device,
        );
        let by_sequence = |x: Tensor<Inner<B>, 2>| x.select(0, order.clone());
        let targets = Targets {
            logp_old: by_sequence(targets.logp_old),
            advantages: by_sequence(targets.advantages),
            returns: by_sequence(targets.returns),
        };
        let obs = Observation::<B>::from_inner(obs.select(order.clone()));
        let actions = Action::<B>::from_inner(actions.select(order.clone()));
        let states = RecurrentState::<B>::from_inner(states);
        self.runner.update(
            &mut self.model,
            &mut self.optimizer,
            &targets,
            units,
            seq_len,
            start,
            |model: &M, batch| {
                let (obs, actions, state) = match batch {
                    None => (obs.clone(), actions.clone(), states.clone()),
                    Some(b) => {
                        let rows = Tensor::<B, 1, Int>::from_inner(b.rows.clone());
                        let units = Tensor::<B, 1, Int>::from_inner(b.units.clone());
                        (
                            obs.select(rows.clone()),
                            actions.select(rows),
                            states.select(units),
                        )
                    }
                };
                let out = model.forward(&obs, seq_len, state)?;
                Ok(Forward {
                    logp: out.dist.log_prob(&actions)?,
                    entropy: out.dist.entropy(),
                    values: out.values,
                })
            },
        )
    }

    /// Saves the model's parameters (see [`save_model`](crate::save_model)).
    ///
    /// # Errors
    /// [`AlgoError::Record`] naming the file.
    pub fn save_model(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::save_model(self.model().clone(), path)
    }

    /// Replaces the model's parameters with those saved at `path` (see
    /// [`load_model`](crate::load_model)).
    ///
    /// # Errors
    /// [`AlgoError::Record`] naming the file.
    pub fn load_model(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let model = self.model().clone();
        let device = model.devices().into_iter().next().unwrap_or_default();
        self.model = Some(crate::load_model(model, path, &device)?);
        Ok(())
    }
}

impl<B, E, M> crate::Trainable for RecurrentAlgorithm<B, E, M>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    M: RecurrentModel<B> + AutodiffModule<B>,
    Actor<B, M>: RecurrentModel<Inner<B>>,
{
    fn collect(&mut self) -> Result<Stats> {
        Self::collect(self)
    }
    fn evaluate(&mut self) -> Result<Stats> {
        Self::evaluate(self)
    }
    fn step(&mut self) -> Result<Stats> {
        Self::step(self)
    }
    fn horizons_per_env_reset(&self) -> i64 {
        self.runner.config.horizons_per_env_reset
    }
    fn env_name(&self) -> &str {
        self.env().name()
    }
    fn save_model(&self, path: &Path) -> Result<()> {
        Self::save_model(self, path)
    }
    fn observation_normalizer(&self) -> Option<&crate::ObservationNormalizer> {
        Self::observation_normalizer(self)
    }
    fn save_config(&self, path: &Path) -> std::io::Result<()> {
        burn::config::Config::save(&self.config, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Walk;
    use burn::backend::{Autodiff, NdArray};
    use burn::module::{Module, Param};
    use rl_core::{Categorical, RecurrentOutput};
    use rl_functional::host::read_f32;

    type AD = Autodiff<NdArray>;

    /// Uniform policy; the state is one number per sequence that counts the steps since the
    /// last reset, and the value of a step is that count (times `w` = 1).
    #[derive(Module, Debug)]
    struct Counter<B: Backend> {
        w: Param<Tensor<B, 1>>,
    }

    impl<B: Backend> RecurrentModel<B> for Counter<B> {
        type Dist = Categorical<B>;
        fn init_state(&self, n: usize, device: &B::Device) -> RecurrentState<B> {
            RecurrentState::new(vec![Tensor::zeros([n, 1], device)])
        }
        fn forward(
            &self,
            obs: &Observation<B>,
            seq_len: usize,
            state: RecurrentState<B>,
        ) -> rl_core::Result<RecurrentOutput<B, Categorical<B>>> {
            let rows = obs.batch_size();
            let device = obs.features.device();
            let start = state.tensors[0].clone();
            let steps: Vec<Tensor<B, 2>> = (0..seq_len)
                .map(|t| start.clone().add_scalar(t as f32))
                .collect();
            let counts = rl_functional::reshape(Tensor::stack::<3>(steps, 1), [rows, 1]);
            Ok(RecurrentOutput {
                dist: Categorical::new(Tensor::zeros([rows, 1, 2], &device)),
                values: counts * self.w.val().unsqueeze_dim::<2>(0),
                state: RecurrentState::new(vec![start.add_scalar(seq_len as f32)]),
            })
        }
    }

    fn column(state: &RecurrentState<NdArray>) -> Vec<f32> {
        read_f32(state.tensors[0].clone(), "test", "state").unwrap()
    }

    #[test]
    fn states_reset_at_episode_ends_and_on_the_schedule_and_only_chunk_starts_are_stored() {
        let device = Default::default();
        // T = 8, L = 2, spsr = 2: the schedule resets every 4 steps. Walk ends both
        // environments' episodes after steps 2 and 5 (env 0 terminated, env 1 truncated).
        let config = RecurrentAlgorithmConfig::new()
            .with_ppo(
                crate::AlgorithmConfig::new()
                    .with_num_envs(2)
                    .with_horizon(8)
                    .with_normalize_rewards(false),
            )
            .with_seq_len(2)
            .with_seqs_per_state_reset(2);
        let model = Counter::<AD> {
            w: Param::from_tensor(Tensor::ones([1], &device)),
        };
        let mut algo = RecurrentAlgorithm::with_model(config, Walk::new(), model).unwrap();
        let stats = algo.collect().unwrap();
        // Reward 1 per step: the horizon's return is 8. rl8's recurrent collect reports 7 (it
        // drops the first reward, its bug list item 2).
        assert_eq!(stats.get("returns/mean"), Some(8.0));
        assert_eq!(algo.sequences(), 4);
        assert_eq!(algo.state_resets(), 2, "at steps 0 and 4");
        // Counts since the last reset, at the chunk starts t = 0, 2, 4, 6: 0; 2; 0 (episode
        // reset after step 2, then the schedule at step 4); 0 (episode reset after step 5).
        let stored: Vec<Vec<f32>> = algo.chunk_states.iter().map(column).collect();
        assert_eq!(
            stored,
            vec![vec![0.0; 2], vec![2.0; 2], vec![0.0; 2], vec![0.0; 2]]
        );
        let rollout = algo.runner.rollout.as_ref().unwrap();
        let values: Vec<f32> = rollout
            .values
            .iter()
            .flat_map(|v| read_f32(v.clone(), "test", "values").unwrap())
            .collect();
        // The value of each step is the count before it; the bootstrap after step 7 is 2.
        let per_step = [0.0, 1.0, 2.0, 0.0, 0.0, 1.0, 0.0, 1.0, 2.0];
        let want: Vec<f32> = per_step.iter().flat_map(|&v| [v, v]).collect();
        assert_eq!(values, want);
        // Env 1's truncated steps bootstrap from the state after the step, before its reset:
        // 3 after step 2, 2 after step 5 (the schedule reset the count at step 4).
        assert_eq!(
            rollout.truncated_values,
            vec![(2 * 2 + 1, 3.0), (5 * 2 + 1, 2.0)]
        );
        // The state carries over to the next collect (8 more steps, schedule resets at 8, 12).
        algo.step().unwrap();
        algo.collect().unwrap();
        assert_eq!(algo.sequences(), 8);
        assert_eq!(algo.state_resets(), 4);
    }
}
