//! [`Algorithm`]: feed-forward PPO. `collect()` steps the environments for one horizon with
//! the current policy; `step()` computes advantages and trains on what was collected.

use std::path::Path;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor};
use rl_core::{Action, Distribution, Env, EnvConfig, Model, Observation, PolicyOutput};

use crate::collect::{Acting, Inner, Runner};
use crate::config::AlgorithmConfig;
use crate::error::{AlgoError, Result};
use crate::models::DefaultModel;
use crate::stats::Stats;
use crate::update::Forward;

/// The acting copy of the model `M`.
type Actor<B, M> = <M as AutodiffModule<B>>::InnerModule;

/// Feed-forward PPO over a batched environment (rl8's `Algorithm`).
///
/// * `B`: the training backend (autodiff); acting runs on its inner backend.
/// * `E`: the environments, on the inner backend.
/// * `M`: the model; its [`Model::Dist`] is the action distribution.
///
/// The loop is rl8's: [`collect`](Self::collect) one horizon of `horizon` steps of all
/// `num_envs` environments, then [`step`](Self::step) (advantages, then `num_sgd_iters` epochs of
/// minibatch PPO). [`Trainer`](crate::Trainer) runs that loop with stop conditions,
/// evaluation, a CSV and a plot.
///
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use rl_algo::AlgorithmConfig;
/// use rl_core::DiscreteDummyEnv;
///
/// type B = Autodiff<NdArray>;
/// let device = Default::default();
/// let config = AlgorithmConfig::new().with_num_envs(16).with_horizon(8);
/// let env = DiscreteDummyEnv::new(16, 0, &device)?;
/// let mut algo = config.init::<B, _>(env, &device)?;
/// let collected = algo.collect()?;
/// assert_eq!(collected.get("env/steps"), Some(128.0));
/// let trained = algo.step()?;
/// assert!(trained.get("losses/total").unwrap().is_finite());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Algorithm<B, E, M>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    M: Model<B> + AutodiffModule<B>,
    Actor<B, M>: Model<Inner<B>>,
{
    runner: Runner<B, E>,
    model: Option<M>,
    optimizer: OptimizerAdaptor<Adam, M, B>,
}

impl AlgorithmConfig {
    /// Builds feed-forward PPO with the default model for `env`'s spaces
    /// ([`DefaultModelConfig::init`](crate::DefaultModelConfig::init) with
    /// [`AlgorithmConfig::model`] and [`AlgorithmConfig::seed`]: the same seed gives the same
    /// initial weights on every backend).
    ///
    /// # Errors
    /// See [`Algorithm::with_model`], plus the default model's rules.
    pub fn init<B, E>(&self, env: E, device: &B::Device) -> Result<Algorithm<B, E, DefaultModel<B>>>
    where
        B: AutodiffBackend,
        E: Env<Inner<B>>,
    {
        self.validate()?;
        let model = self.model.init::<B>(
            env.observation_space(),
            env.action_space(),
            self.seed,
            device,
        )?;
        Algorithm::with_model(self.clone(), env, model)
    }

    /// Adam with these settings (torch's defaults).
    pub(crate) fn adam<B: AutodiffBackend, M: AutodiffModule<B>>(
        &self,
    ) -> OptimizerAdaptor<Adam, M, B> {
        AdamConfig::new()
            .with_beta_1(self.optimizer.beta_1)
            .with_beta_2(self.optimizer.beta_2)
            .with_epsilon(self.optimizer.epsilon)
            .init()
    }
}

/// The feed-forward model acting: one forward pass per step, no state.
struct FeedForward<'a, M>(&'a M);

impl<B: Backend, M: Model<B>> Acting<B> for FeedForward<'_, M> {
    type Dist = M::Dist;

    fn act(&mut self, obs: &Observation<B>, _t: usize) -> Result<PolicyOutput<B, M::Dist>> {
        Ok(self.0.forward(obs)?)
    }

    fn final_values(&self, obs: &Observation<B>, _rows: Tensor<B, 1, Int>) -> Result<Tensor<B, 2>> {
        Ok(self.0.forward(obs)?.values)
    }

    fn episodes_ended(&mut self, _done: &[bool]) -> Result<()> {
        Ok(())
    }

    fn bootstrap_values(&self, obs: &Observation<B>) -> Result<Tensor<B, 2>> {
        Ok(self.0.forward(obs)?.values)
    }
}

impl<B, E, M> Algorithm<B, E, M>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    M: Model<B> + AutodiffModule<B>,
    Actor<B, M>: Model<Inner<B>>,
{
    /// Feed-forward PPO with a model of your own (rl8's `model=` / `model_cls=`). The config is
    /// validated first; `env` must hold `config.num_envs` environments.
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] naming the first bad field, or [`AlgoError::Mismatch`] when
    /// the environment's batch size differs from `num_envs`.
    pub fn with_model(config: AlgorithmConfig, env: E, model: M) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            optimizer: config.adam(),
            runner: Runner::new(config, env)?,
            model: Some(model),
        })
    }

    /// The config.
    pub fn config(&self) -> &AlgorithmConfig {
        &self.runner.config
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

    /// The learning rate the next `step()` uses.
    pub fn learning_rate(&self) -> f64 {
        self.runner.lr.value(self.runner.trained_steps)
    }

    /// The entropy coefficient the next `step()` uses.
    pub fn entropy_coeff(&self) -> f64 {
        self.runner.entropy.value(self.runner.trained_steps)
    }

    /// Collects one horizon with the stochastic policy and buffers it for [`step`](Self::step).
    ///
    /// # Errors
    /// See [`collect_with`](Self::collect_with).
    pub fn collect(&mut self) -> Result<Stats> {
        self.collect_with(None, false)
    }

    /// Collects one horizon with the deterministic policy (the mode of each distribution),
    /// for evaluation: nothing is buffered and the reward normalizer is not updated. It still
    /// advances the reset cadence, as rl8's evaluation does.
    ///
    /// # Errors
    /// See [`collect_with`](Self::collect_with).
    pub fn evaluate(&mut self) -> Result<Stats> {
        self.collect_with(None, true)
    }

    /// rl8's `collect(env_config, deterministic)`: steps all environments `horizon` times.
    ///
    /// The environments are reset (with `env_config`) at the first collect and then whenever
    /// `horizons % horizons_per_env_reset == 0` (never again when it is negative); otherwise
    /// the horizon continues from the last observation. A truncated step's bootstrap value is
    /// the value of its final, pre-reset observation; a terminated step bootstraps nothing.
    ///
    /// Returns rl8's collect statistics (`env/resets`, `env/steps`, `profiling/collect_ms`,
    /// `returns/{min,max,mean,std}` (per environment, summed over the horizon),
    /// `rewards/{min,max,mean,std}`) plus
    /// `episode/count` (episodes finished in this collect) and `episode/return_mean` /
    /// `episode/length_mean`: the means over the last `num_envs` finished episodes (about the
    /// latest episode of each environment; evaluation collects keep their own window). For an
    /// environment that has never ended an episode (rl8's infinite-horizon tasks),
    /// `episode/return_mean` is `returns/mean`, the mean return over the horizon.
    ///
    /// # Errors
    /// Environment or model errors, and [`AlgoError::NonFinite`] naming the environment and
    /// step of a NaN or infinite reward or observation (nothing is buffered then).
    pub fn collect_with(
        &mut self,
        env_config: Option<&EnvConfig>,
        deterministic: bool,
    ) -> Result<Stats> {
        let actor = self.model().valid();
        self.runner
            .collect(&mut FeedForward(&actor), env_config, deterministic)
    }

    /// rl8's `step()`: GAE over the buffered horizon (with the running reward scale), advantage
    /// normalization, then `num_sgd_iters` epochs of minibatch PPO with global-norm gradient
    /// clipping, Adam, optional gradient accumulation and KL early stopping.
    ///
    /// Returns rl8's step statistics (`losses/{policy,vf,entropy,total}`, `monitors/kl_div`,
    /// `coefficients/{entropy,vf}`, `profiling/step_ms`) plus `monitors/clip_fraction`,
    /// `monitors/explained_variance`, `monitors/grad_norm`, `monitors/reward_scale`,
    /// `coefficients/learning_rate` and `profiling/transitions_per_s` (collect and step
    /// together).
    ///
    /// # Errors
    /// [`AlgoError::NotBuffered`] without a training collect since the last step;
    /// [`AlgoError::NonFinite`] if a loss is NaN or infinite (that minibatch is not applied).
    pub fn step(&mut self) -> Result<Stats> {
        let rollout = self.runner.rollout.take().ok_or(AlgoError::NotBuffered)?;
        let start = Instant::now();
        let (targets, obs, actions) = self.runner.targets(rollout)?;
        let obs = Observation::<B>::from_inner(obs);
        let actions = Action::<B>::from_inner(actions);
        let units = self.runner.config.buffer_size();
        self.runner.update(
            &mut self.model,
            &mut self.optimizer,
            &targets,
            units,
            1,
            start,
            |model: &M, batch| {
                let (obs, actions) = match batch {
                    None => (obs.clone(), actions.clone()),
                    Some(b) => {
                        let rows = Tensor::<B, 1, Int>::from_inner(b.rows.clone());
                        (obs.select(rows.clone()), actions.select(rows))
                    }
                };
                let out = model.forward(&obs)?;
                Ok(Forward {
                    logp: out.dist.log_prob(&actions)?,
                    entropy: out.dist.entropy(),
                    values: out.values,
                })
            },
        )
    }

    /// Saves the model's parameters (Burn's named MessagePack format, full precision) to
    /// `path` (the extension `.mpk` is added).
    ///
    /// # Errors
    /// [`AlgoError::Record`] naming the file.
    pub fn save_model(&self, path: impl AsRef<Path>) -> Result<()> {
        save_model(self.model().clone(), path)
    }

    /// Replaces the model's parameters with those saved at `path` by
    /// [`save_model`](Self::save_model) (for a model of the same architecture).
    ///
    /// # Errors
    /// [`AlgoError::Record`] naming the file.
    pub fn load_model(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let model = self.model().clone();
        let device = model.devices().into_iter().next().unwrap_or_default();
        self.model = Some(load_model(model, path, &device)?);
        Ok(())
    }
}

impl<B, E, M> crate::Trainable for Algorithm<B, E, M>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    M: Model<B> + AutodiffModule<B>,
    Actor<B, M>: Model<Inner<B>>,
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
        self.config().horizons_per_env_reset
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
        burn::config::Config::save(self.config(), path)
    }
}

/// Saves any Burn module's parameters to `path` (Burn's named MessagePack format, full
/// precision; `.mpk` is added).
///
/// # Errors
/// [`AlgoError::Record`] naming the file.
pub fn save_model<B: Backend, M: burn::module::Module<B>>(
    model: M,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    model
        .save_file(path, &NamedMpkFileRecorder::<FullPrecisionSettings>::new())
        .map_err(|e| AlgoError::Record {
            action: "save",
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Loads parameters saved by [`save_model`] into `model` (built with the same architecture).
///
/// # Errors
/// [`AlgoError::Record`] naming the file: missing, unreadable, or saved from another
/// architecture (other layers, other parameter shapes).
pub fn load_model<B: Backend, M: burn::module::Module<B>>(
    model: M,
    path: impl AsRef<Path>,
    device: &B::Device,
) -> Result<M> {
    let path = path.as_ref();
    let error = |message: String| AlgoError::Record {
        action: "load",
        path: path.to_path_buf(),
        message,
    };
    let expected = parameter_shapes(&model);
    let record = NamedMpkFileRecorder::<FullPrecisionSettings>::new()
        .load(path.to_path_buf(), device)
        .map_err(|e| error(e.to_string()))?;
    // Burn panics when a saved enum variant (e.g. another activation) differs from the model's.
    let loaded =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.load_record(record)))
            .map_err(|_| error("the saved model has another architecture".into()))?;
    let found = parameter_shapes(&loaded);
    if found != expected {
        return Err(error(format!(
            "the saved parameters have shapes {found:?}, the model {expected:?}"
        )));
    }
    Ok(loaded)
}

/// The shape of every float parameter of `model`, in visiting order.
fn parameter_shapes<B: Backend, M: burn::module::Module<B>>(model: &M) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl<B: Backend> burn::module::ModuleVisitor<B> for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
            self.0.push(param.val().dims().to_vec());
        }
    }
    let mut shapes = Shapes(Vec::new());
    model.visit(&mut shapes);
    shapes.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Walk;
    use burn::backend::{Autodiff, NdArray};
    use burn::module::{Module, Param};
    use burn::tensor::Tensor;
    use rl_core::{Categorical, CoreError};
    use rl_functional::host::read_f32;

    type AD = Autodiff<NdArray>;

    /// Uniform policy; value = w * obs with w = 1.
    #[derive(Module, Debug)]
    struct Linear1<B: Backend> {
        w: Param<Tensor<B, 1>>,
    }

    impl<B: Backend> Model<B> for Linear1<B> {
        type Dist = Categorical<B>;
        fn forward(
            &self,
            obs: &Observation<B>,
        ) -> std::result::Result<PolicyOutput<B, Categorical<B>>, CoreError> {
            let n = obs.batch_size();
            let values = obs.features.clone() * self.w.val().unsqueeze_dim::<2>(0);
            Ok(PolicyOutput {
                dist: Categorical::new(Tensor::zeros([n, 1, 2], &obs.features.device())),
                values,
            })
        }
    }

    #[test]
    fn truncation_bootstraps_from_the_final_observation_and_termination_does_not() {
        let device = Default::default();
        let config = AlgorithmConfig::new()
            .with_num_envs(2)
            .with_horizon(4)
            .with_gamma(0.5)
            .with_gae_lambda(1.0)
            .with_normalize_rewards(false)
            .with_normalize_advantages(false);
        let model = Linear1::<AD> {
            w: Param::from_tensor(Tensor::ones([1], &device)),
        };
        let mut algo = Algorithm::with_model(config, Walk::new(), model).unwrap();
        algo.collect().unwrap();
        let rollout = algo.runner.rollout.take().unwrap();
        assert_eq!(rollout.truncated_values, vec![(2 * 2 + 1, 3.0)]);
        let (targets, _, _) = algo.runner.targets(rollout).unwrap();
        let returns = read_f32(targets.returns, "test", "returns").unwrap();
        // Rows are t * 2 + env. By hand (V(s) = s, gamma 0.5, lambda 1):
        // t=3: both restarted at 0 -> 1, bootstrap V(1): 1 + 0.5 * 1 = 1.5.
        // t=2: env 0 terminated: 1; env 1 truncated at 3: 1 + 0.5 * V(3) = 2.5.
        // t=1: 1 + 0.5 * 1 = 1.5; 1 + 0.5 * 2.5 = 2.25. t=0: 1.75; 2.125.
        let want = [1.75, 2.125, 1.5, 2.25, 1.0, 2.5, 1.5, 1.5];
        for (i, (g, w)) in returns.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() < 1e-6,
                "row {i}: {g} vs {w} (all {returns:?})"
            );
        }
        let stats = algo.evaluate().unwrap();
        assert_eq!(stats.get("episode/count"), Some(2.0));
        assert_eq!(stats.get("episode/length_mean"), Some(3.0));
        assert_eq!(stats.get("episode/return_mean"), Some(3.0));
    }

    #[test]
    fn normalized_observations_use_the_running_statistics_of_training_collects() {
        let device = Default::default();
        let config = AlgorithmConfig::new()
            .with_num_envs(2)
            .with_horizon(4)
            .with_normalize_observations(true);
        let model = Linear1::<AD> {
            w: Param::from_tensor(Tensor::ones([1], &device)),
        };
        let mut algo = Algorithm::with_model(config, Walk::new(), model).unwrap();
        algo.collect().unwrap();
        // Both environments observed 0 (reset), 1, 2, 0 (episode restart), 1.
        let norm = algo.observation_normalizer().unwrap().clone();
        assert!((norm.mean()[0] - 0.8).abs() < 1e-12);
        assert!((norm.std()[0] - 0.56f64.sqrt()).abs() < 1e-12);
        // The bootstrap value is V of the last observation, 1, normalized: (1 - 0.8) / 0.748.
        let rollout = algo.runner.rollout.as_ref().unwrap();
        let last = read_f32(rollout.values[4].clone(), "test", "values").unwrap();
        let want = (0.2 / (0.56f64 + 1e-8).sqrt()) as f32;
        assert!(
            (last[0] - want).abs() < 1e-6 && (last[1] - want).abs() < 1e-6,
            "{last:?}"
        );
        // Evaluation uses the statistics without updating them.
        algo.evaluate().unwrap();
        assert_eq!(algo.observation_normalizer(), Some(&norm));
    }

    #[test]
    fn step_without_collect_is_an_error_and_non_finite_rewards_are_reported() {
        let device = Default::default();
        let config = AlgorithmConfig::new().with_num_envs(2).with_horizon(4);
        let model = Linear1::<AD> {
            w: Param::from_tensor(Tensor::ones([1], &device)),
        };
        let mut algo = Algorithm::with_model(config.clone(), Walk::new(), model.clone()).unwrap();
        assert!(matches!(algo.step(), Err(AlgoError::NotBuffered)));
        assert!(matches!(
            Algorithm::with_model(config.with_num_envs(3), Walk::new(), model),
            Err(AlgoError::Mismatch { .. })
        ));
    }
}
