//! The default feed-forward model built from the spaces (rl8's `DefaultDiscreteModel` and
//! `DefaultContinuousModel`), and the distribution it outputs.

use burn::config::Config;
use burn::module::{Initializer, Module, Param};
use burn::nn::activation::{Activation, ActivationConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Bool, Tensor, TensorData, backend::Backend};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use rl_core::{
    Action, ActionShape, Categorical, ClippedNormal, CoreError, Distribution, Model, Normal,
    Observation, PolicyOutput, Space, SquashedNormal,
};

use crate::error::AlgoError;
use crate::fused_categorical;
use crate::fused_linear::{self, Act};

/// The sizes of the default model: rl8's `hiddens`, `activation_fn` and `bias`.
///
/// ```
/// use burn::backend::NdArray;
/// use rl_algo::DefaultModelConfig;
/// use rl_core::Space;
///
/// let device = Default::default();
/// let model = DefaultModelConfig::new()
///     .with_hiddens(vec![64, 64])
///     .init::<NdArray>(&Space::unbounded(vec![4])?, &Space::discrete(2)?, 0, &device)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Config, Debug)]
pub struct DefaultModelConfig {
    /// Hidden layer widths of both the policy and the value network (rl8: `(256, 256)`).
    #[config(default = "vec![256, 256]")]
    pub hiddens: Vec<usize>,
    /// The activation after every hidden layer (rl8: ReLU).
    #[config(default = "ActivationConfig::Relu")]
    pub activation: ActivationConfig,
    /// Whether the hidden layers have biases (the action head always has one, as in rl8).
    #[config(default = true)]
    pub bias: bool,
    /// The distribution of `Box` actions (`Auto`: squashed in a bounded box, normal otherwise).
    #[config(default = "ContinuousPolicy::Auto")]
    pub continuous: ContinuousPolicy,
}

/// The distribution the default models put on `Box` actions (their `continuous` field).
///
/// A policy whose draws may leave a bounded box would send actions the environment refuses,
/// so a bounded box gets `Squashed` or `Clipped`, both of which score the action actually
/// sent; `docs/performance.md` compares them on Pendulum-v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ContinuousPolicy {
    /// `Squashed` for a box whose bounds are all finite, `Normal` otherwise.
    #[default]
    Auto,
    /// A tanh-squashed normal scaled onto the box ([`SquashedNormal::scaled`]); needs finite
    /// bounds.
    Squashed,
    /// A normal clipped into the box, scored with the mass of its tails on the bounds
    /// ([`ClippedNormal`]); needs finite bounds.
    Clipped,
    /// A normal ([`Normal`]); needs a box with no finite bound, which its draws cannot leave.
    Normal,
}

impl DefaultModelConfig {
    /// Checks the sizes, and the activation against them: one activation module follows
    /// every hidden layer, so a `PRelu` has 1 parameter or one per unit of every layer, and a
    /// `SwiGlu` maps every layer's width to itself; its numbers must be finite in f32.
    ///
    /// # Errors
    /// An empty `hiddens` or a zero width, named as `model.hiddens`, or an activation that does
    /// not fit them, named as `model.activation`.
    pub fn validate(&self) -> crate::Result<()> {
        if self.hiddens.is_empty() || self.hiddens.contains(&0) {
            return Err(AlgoError::invalid(
                "model.hiddens",
                format!("{:?}", self.hiddens),
                "needs at least one layer and no zero width",
            ));
        }
        let bad = |rule: String| {
            Err(AlgoError::invalid(
                "model.activation",
                format!("{:?}", self.activation),
                rule,
            ))
        };
        let every = |w: usize| self.hiddens.iter().all(|&h| h == w);
        match &self.activation {
            ActivationConfig::PRelu(c) if c.num_parameters != 1 && !every(c.num_parameters) => {
                return bad(format!(
                    "num_parameters must be 1 or every hidden width ({:?})",
                    self.hiddens
                ));
            }
            ActivationConfig::SwiGlu(c) if !(c.d_input == c.d_output && every(c.d_input)) => {
                return bad(format!(
                    "d_input and d_output must both be every hidden width ({:?})",
                    self.hiddens
                ));
            }
            _ => {}
        }
        // serde writes a non-finite number as null; none of these configs has an optional one.
        let numbers = serde_json::to_value(&self.activation).unwrap_or_default();
        if !finite_in_f32(&numbers) {
            return bad("every number must be finite in f32".into());
        }
        Ok(())
    }

    /// The input width and the policy head of this model on these spaces.
    pub(crate) fn head(
        &self,
        observations: &Space,
        actions: &Space,
    ) -> crate::Result<(usize, Head)> {
        Head::for_spaces("default model", observations, actions, self.continuous)
    }

    /// `(parameters, activations per minibatch row)` of the model for an `input`-wide
    /// observation and `head`, both networks, for the memory estimate.
    pub(crate) fn size(&self, input: usize, head: &Head) -> (u64, u64) {
        let mlp = |output: usize| {
            let mut widths = vec![input];
            widths.extend(&self.hiddens);
            widths.push(output);
            widths
                .windows(2)
                .map(|w| crate::memory::linear_parameters(w[0], w[1]))
                .fold(0u64, u64::saturating_add)
        };
        let parameters = mlp(head.outputs()).saturating_add(mlp(1));
        let units: usize = self.hiddens.iter().fold(0, |a, &h| a.saturating_add(h));
        (parameters, 2 * units as u64 + head.outputs() as u64 + 1)
    }

    /// Builds the model for one environment's spaces: a categorical policy for
    /// `Discrete`/`MultiDiscrete` actions (heads of any sizes, [`Head::Categorical`]), for `Box`
    /// actions the policy [`continuous`](Self::continuous) chooses (by default a squashed normal
    /// on a bounded box, a normal on an unbounded one). The observation must be a `Box`; its
    /// flat size is the input width.
    ///
    /// The weights are drawn on the host from a generator seeded with `seed` (torch's default
    /// `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` for weights and biases; rl8's `U(-1e-3, 1e-3)` and
    /// zero bias for the action head), so the same seed gives the same weights on every backend
    /// and in every thread (Burn's own initializers share one global generator per backend).
    ///
    /// # Errors
    /// Invalid sizes, a non-`Box` observation space, a `Box` action space with both finite
    /// and infinite bounds under `Auto`, or a `continuous` policy the bounds do not allow.
    pub fn init<B: Backend>(
        &self,
        observation_space: &Space,
        action_space: &Space,
        seed: u64,
        device: &B::Device,
    ) -> crate::Result<DefaultModel<B>> {
        self.validate()?;
        let (input, head) = self.head(observation_space, action_space)?;
        let outputs = head.outputs();
        let log_std = head.init_log_std(device);
        let mut rng = StdRng::seed_from_u64(seed);
        Ok(DefaultModel {
            policy: self.mlp(input, outputs, true, &mut rng, device),
            value: self.mlp(input, 1, false, &mut rng, device),
            log_std,
            head,
        })
    }

    fn mlp<B: Backend>(
        &self,
        input: usize,
        output: usize,
        small_head: bool,
        rng: &mut StdRng,
        device: &B::Device,
    ) -> Mlp<B> {
        let mut layers = Vec::with_capacity(self.hiddens.len() + 1);
        let mut width = input;
        for &h in &self.hiddens {
            let bound = 1.0 / (width as f32).sqrt();
            let bias = self.bias.then_some(bound);
            layers.push(linear(width, h, bound, bias, rng, device));
            width = h;
        }
        layers.push(if small_head {
            // rl8's action heads: weights ~ U(-1e-3, 1e-3), bias 0: near-uniform initial
            // probabilities, near-zero initial means.
            linear(width, output, 1e-3, Some(0.0), rng, device)
        } else {
            let bound = 1.0 / (width as f32).sqrt();
            linear(width, output, bound, Some(bound), rng, device)
        });
        Mlp {
            layers,
            activation: self.activation.init(device),
        }
    }
}

/// Whether every number in `value` (a config as serde writes it) is finite in f32: a `null`
/// is a NaN or an infinity.
fn finite_in_f32(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Null => false,
        Value::Number(n) => n.as_f64().is_some_and(|x| (x as f32).is_finite()),
        Value::Array(items) => items.iter().all(finite_in_f32),
        Value::Object(fields) => fields.values().all(finite_in_f32),
        Value::Bool(_) | Value::String(_) => true,
    }
}

/// A `d_input -> d_output` linear layer with weights ~ `U(-bound, bound)` and, when `bias` is
/// `Some(b)`, a bias ~ `U(-b, b)` (zero for `b = 0`), drawn from `rng` on the host.
pub(crate) fn linear<B: Backend>(
    d_input: usize,
    d_output: usize,
    bound: f32,
    bias: Option<f32>,
    rng: &mut StdRng,
    device: &B::Device,
) -> Linear<B> {
    let mut uniform = |n: usize, b: f32| -> Vec<f32> {
        (0..n)
            .map(|_| b * (2.0 * rng.random::<f32>() - 1.0))
            .collect()
    };
    let mut layer = LinearConfig::new(d_input, d_output)
        .with_bias(bias.is_some())
        .with_initializer(Initializer::Zeros)
        .init(device);
    let weight = TensorData::new(uniform(d_input * d_output, bound), [d_input, d_output]);
    layer.weight = Param::from_tensor(Tensor::from_data(weight, device));
    if let Some(b) = bias {
        let data = TensorData::new(uniform(d_output, b), [d_output]);
        layer.bias = Some(Param::from_tensor(Tensor::from_data(data, device)));
    }
    layer
}

/// A multi-layer perceptron with the activation after every layer but the last.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    layers: Vec<Linear<B>>,
    activation: Activation<B>,
}

impl<B: Backend> Mlp<B> {
    /// `[N, input]` to `[N, output]`.
    pub fn forward(&self, mut x: Tensor<B, 2>) -> Tensor<B, 2> {
        let last = self.layers.len().saturating_sub(1);
        // On the CPU backends the whole stack with a tanh or ReLU runs as one fused operation
        // each way (`fused_linear`).
        let hidden = match self.activation {
            Activation::Tanh(_) => Some(Act::Tanh),
            Activation::Relu(_) => Some(Act::Relu),
            _ => None,
        };
        if let Some(act) = hidden {
            let layers: Vec<_> = self
                .layers
                .iter()
                .enumerate()
                .map(|(i, layer)| (layer, if i < last { act } else { Act::Identity }))
                .collect();
            if let Some(y) = fused_linear::mlp(&x, &layers) {
                return y;
            }
        }
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = self.activation.forward(x);
            }
        }
        x
    }
}

/// What the default model's policy head outputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Head {
    /// One categorical action element per entry of `nvec`, element `i` of `nvec[i]`
    /// categories (logits `[N, A, max(nvec)]`, [`Categorical::with_counts`]).
    Categorical {
        /// The number of categories of each action element.
        nvec: Vec<usize>,
    },
    /// A diagonal normal over `dims` real action elements (an action space with an infinite
    /// bound).
    Normal {
        /// Number of action elements A.
        dims: usize,
    },
    /// A tanh-squashed normal scaled onto the box `[low, high]` of a bounded action space
    /// ([`SquashedNormal::scaled`]): every action sent lies in the box, and its
    /// log-probability is that of the action sent.
    Squashed {
        /// The lower bound of each action element.
        low: Vec<f32>,
        /// The upper bound of each action element.
        high: Vec<f32>,
    },
    /// A normal clipped into the box `[low, high]` of a bounded action space
    /// ([`ClippedNormal`]), scored with the probability of the action sent.
    Clipped {
        /// The lower bound of each action element.
        low: Vec<f32>,
        /// The upper bound of each action element.
        high: Vec<f32>,
    },
}

impl Head {
    /// The input width and the head for one environment's spaces: a categorical head for
    /// `Discrete`/`MultiDiscrete` actions, and for `Box` actions the head `continuous`
    /// chooses. The observation must be a `Box`; its flat size is the input width. `model`
    /// names the model in the errors.
    pub(crate) fn for_spaces(
        model: &str,
        observation_space: &Space,
        action_space: &Space,
        continuous: ContinuousPolicy,
    ) -> crate::Result<(usize, Self)> {
        if observation_space.is_discrete() {
            return Err(AlgoError::Mismatch {
                what: format!("{model}: observation space"),
                expected: "a Box".into(),
                actual: observation_space.kind_name().into(),
            });
        }
        let head = match action_space {
            Space::Discrete { n } => Head::Categorical { nvec: vec![*n] },
            Space::MultiDiscrete { nvec } => Head::Categorical { nvec: nvec.clone() },
            Space::Box { low, high, .. } => {
                let bounded = low.iter().chain(high).all(|b| b.is_finite());
                let unbounded = low.iter().chain(high).all(|b| b.is_infinite());
                let (low, high) = (low.clone(), high.clone());
                match continuous {
                    ContinuousPolicy::Auto | ContinuousPolicy::Squashed if bounded => {
                        Head::Squashed { low, high }
                    }
                    ContinuousPolicy::Clipped if bounded => Head::Clipped { low, high },
                    ContinuousPolicy::Auto | ContinuousPolicy::Normal if unbounded => {
                        Head::Normal {
                            dims: action_space.flat_dim(),
                        }
                    }
                    ContinuousPolicy::Auto => {
                        return Err(AlgoError::Mismatch {
                            what: format!("{model}: Box action space"),
                            expected: "bounds all finite (a squashed normal) or all infinite \
                                       (a normal)"
                                .into(),
                            actual: format!("low {low:?}, high {high:?}"),
                        });
                    }
                    policy => {
                        return Err(AlgoError::invalid(
                            "model.continuous",
                            format!("{policy:?}"),
                            format!(
                                "needs {} (the action space has low {low:?}, high {high:?})",
                                if policy == ContinuousPolicy::Normal {
                                    "a box with no finite bound, which a normal's draws \
                                     cannot leave"
                                } else {
                                    "a box whose bounds are all finite"
                                }
                            ),
                        ));
                    }
                }
            }
        };
        Ok((observation_space.flat_dim(), head))
    }

    /// The width of the policy layer that feeds this head.
    pub(crate) fn outputs(&self) -> usize {
        match self {
            Head::Categorical { nvec } => nvec.len() * nvec.iter().max().copied().unwrap_or(0),
            _ => self.action_width(),
        }
    }

    /// The action elements each transition stores.
    pub(crate) fn action_width(&self) -> usize {
        match self {
            Head::Categorical { nvec } => nvec.len(),
            Head::Normal { dims } => *dims,
            Head::Squashed { low, .. } | Head::Clipped { low, .. } => low.len(),
        }
    }

    /// The learned log-std vector of a normal head (zeros: std 1); `None` for a categorical one.
    pub(crate) fn init_log_std<B: Backend>(
        &self,
        device: &B::Device,
    ) -> Option<Param<Tensor<B, 1>>> {
        match self {
            Head::Categorical { .. } => None,
            _ => Some(Param::from_tensor(Tensor::zeros(
                [self.action_width()],
                device,
            ))),
        }
    }

    /// The distribution from the policy layer's output `[N, outputs]`: categorical logits
    /// `[N, A, max(nvec)]` masked by `mask` (`[N, sum(nvec)]`) when given, or a continuous
    /// distribution with the state-independent `log_std`. `model` names the model in the
    /// errors.
    pub(crate) fn dist<B: Backend>(
        &self,
        out: Tensor<B, 2>,
        log_std: Option<&Param<Tensor<B, 1>>>,
        mask: Option<&Tensor<B, 2, Bool>>,
        model: &str,
    ) -> rl_core::Result<DefaultDist<B>> {
        let n = out.dims()[0];
        if let Head::Categorical { nvec } = self {
            let categories = nvec.iter().max().copied().unwrap_or(0);
            let logits = rl_functional::reshape(out, [n, nvec.len(), categories]);
            return Ok(DefaultDist::Categorical(Categorical::with_counts(
                logits,
                nvec,
                mask.cloned(),
            )?));
        }
        let Some(log_std) = log_std else {
            return Err(CoreError::Shape {
                what: format!("{model}: log_std parameter"),
                expected: "present for a continuous head".into(),
                actual: vec![],
            });
        };
        let log_std = out.zeros_like() + log_std.val().unsqueeze_dim::<2>(0);
        Ok(match self {
            Head::Squashed { low, high } => {
                DefaultDist::Squashed(SquashedNormal::scaled(out, log_std, low, high)?)
            }
            Head::Clipped { low, high } => {
                DefaultDist::Clipped(ClippedNormal::new(out, log_std, low, high)?)
            }
            _ => DefaultDist::Normal(Normal::new(out, log_std)?),
        })
    }
}

/// rl8's default model: **separate** policy and value MLPs over the observation features.
///
/// * Discrete actions: logits `[N, A, n]` from the policy MLP, masked by the observation's
///   action mask when it has one ([`Categorical::masked`]).
/// * Continuous actions: the mean from the policy MLP and a learned, state-independent
///   log-std vector initialised at 0 (std 1). rl8 bounds a state-dependent log-std with `tanh`,
///   so its std can never fall below e^-1 ≈ 0.37 (its bug list, item 20); we do not.
///
/// Build it with [`DefaultModelConfig::init`].
#[derive(Module, Debug)]
pub struct DefaultModel<B: Backend> {
    policy: Mlp<B>,
    value: Mlp<B>,
    log_std: Option<Param<Tensor<B, 1>>>,
    #[module(skip)]
    head: Head,
}

impl<B: Backend> DefaultModel<B> {
    /// What the policy head outputs.
    pub fn head(&self) -> &Head {
        &self.head
    }
}

impl<B: Backend> Model<B> for DefaultModel<B> {
    type Dist = DefaultDist<B>;

    fn forward(&self, obs: &Observation<B>) -> rl_core::Result<PolicyOutput<B, DefaultDist<B>>> {
        let x = obs.features.clone();
        let out = self.policy.forward(x.clone());
        let dist = self.head.dist(
            out,
            self.log_std.as_ref(),
            obs.action_mask.as_ref(),
            "DefaultModel",
        )?;
        Ok(PolicyOutput {
            dist,
            values: self.value.forward(x),
        })
    }
}

/// The distribution of [`DefaultModel`]: categorical, normal, squashed normal or clipped
/// normal, decided by the action space and [`ContinuousPolicy`].
#[derive(Debug, Clone)]
pub enum DefaultDist<B: Backend> {
    /// Discrete actions.
    Categorical(Categorical<B>),
    /// Continuous actions in a space with an infinite bound.
    Normal(Normal<B>),
    /// Continuous actions in a bounded box, squashed ([`ContinuousPolicy::Squashed`]).
    Squashed(SquashedNormal<B>),
    /// Continuous actions in a bounded box, clipped ([`ContinuousPolicy::Clipped`]).
    Clipped(ClippedNormal<B>),
}

impl<B: Backend> DefaultDist<B> {
    /// The logits of unmasked categorical heads, which `fused_categorical` starts from.
    fn categorical_logits(&self) -> Option<Tensor<B, 3>> {
        match self {
            DefaultDist::Categorical(d) => d.logits(),
            _ => None,
        }
    }

    /// The categorical log-probability in one fused pass from the logits, where the backend
    /// has the kernel and the heads are unmasked; `None` otherwise, also for actions of the
    /// wrong kind, shape or range (the composed path reports those).
    fn fused_log_prob(&self, actions: &Action<B>) -> Option<Tensor<B, 2>> {
        fused_categorical::log_prob(&self.categorical_logits()?, actions.as_discrete().ok()?)
    }
}

/// `$body` with `$d` bound to the distribution inside `$dist`, whichever it is.
macro_rules! each {
    ($dist:expr, $d:ident => $body:expr) => {
        match $dist {
            DefaultDist::Categorical($d) => $body,
            DefaultDist::Normal($d) => $body,
            DefaultDist::Squashed($d) => $body,
            DefaultDist::Clipped($d) => $body,
        }
    };
}

impl<B: Backend> Distribution<B> for DefaultDist<B> {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Action<B> {
        let fused = self.categorical_logits();
        if let Some(drawn) = fused.and_then(|l| fused_categorical::sample(&l, rng)) {
            return Action::Discrete(drawn);
        }
        each!(self, d => d.sample(rng))
    }

    fn mode(&self) -> Action<B> {
        each!(self, d => d.mode())
    }

    fn log_prob(&self, actions: &Action<B>) -> rl_core::Result<Tensor<B, 2>> {
        match self.fused_log_prob(actions) {
            Some(logp) => Ok(logp),
            None => each!(self, d => d.log_prob(actions)),
        }
    }

    fn log_prob_of_drawn(&self, actions: &Action<B>) -> rl_core::Result<Tensor<B, 2>> {
        match self.fused_log_prob(actions) {
            Some(logp) => Ok(logp),
            None => each!(self, d => d.log_prob_of_drawn(actions)),
        }
    }

    fn entropy(&self) -> Tensor<B, 2> {
        let fused = self.categorical_logits();
        if let Some(entropy) = fused.and_then(|l| fused_categorical::entropy(&l)) {
            return entropy;
        }
        each!(self, d => d.entropy())
    }

    fn batch_size(&self) -> usize {
        each!(self, d => d.batch_size())
    }

    fn action_shape(&self) -> ActionShape {
        each!(self, d => d.action_shape())
    }
}
