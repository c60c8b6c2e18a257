//! The default recurrent model built from the spaces (rl8's `DefaultDiscreteRecurrentModel`
//! and `DefaultContinuousRecurrentModel`): a shared LSTM or GRU trunk with a policy and a value
//! head.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Tensor, backend::Backend, module};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rl_core::{CoreError, Observation, RecurrentModel, RecurrentOutput, RecurrentState, Space};
use serde::{Deserialize, Serialize};

use crate::error::AlgoError;
use crate::models::{ContinuousPolicy, DefaultDist, Head, linear};
use crate::{fused, fused_linear, fused_lstm};

/// The name the model's shape errors start with.
const MODEL: &str = "DefaultRecurrentModel";

/// The recurrent cell of a [`DefaultRecurrentModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// A long short-term memory cell (torch's `nn.LSTM`; rl8's only choice). State `[h, c]`.
    #[default]
    Lstm,
    /// A gated recurrent unit (torch's `nn.GRU`). State `[h]`.
    Gru,
}

impl CellKind {
    /// The number of gate blocks of width H in the fused projections (LSTM 4, GRU 3).
    fn gates(self) -> usize {
        match self {
            Self::Lstm => 4,
            Self::Gru => 3,
        }
    }

    /// The number of tensors in the [`RecurrentState`] (LSTM 2: `h`, `c`; GRU 1: `h`).
    pub fn state_tensors(self) -> usize {
        match self {
            Self::Lstm => 2,
            Self::Gru => 1,
        }
    }

    fn state_names(self) -> &'static str {
        match self {
            Self::Lstm => "[h, c]",
            Self::Gru => "[h]",
        }
    }
}

/// The sizes of the default recurrent model: rl8's `hidden_size`, `num_layers` and `bias`, plus
/// the cell kind.
///
/// ```
/// use burn::backend::NdArray;
/// use rl_algo::{CellKind, RecurrentModelConfig};
/// use rl_core::Space;
///
/// let device = Default::default();
/// let model = RecurrentModelConfig::new()
///     .with_cell(CellKind::Gru)
///     .with_hidden_size(64)
///     .init::<NdArray>(&Space::unbounded(vec![4])?, &Space::discrete(2)?, 0, &device)?;
/// assert_eq!((model.cell(), model.hidden_size(), model.num_layers()), (CellKind::Gru, 64, 1));
///
/// assert!(RecurrentModelConfig::new().with_num_layers(0).validate().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Config, Debug)]
pub struct RecurrentModelConfig {
    /// The recurrent cell (rl8: LSTM).
    #[config(default = "CellKind::Lstm")]
    pub cell: CellKind,
    /// The width H of every recurrent layer (rl8: 256).
    #[config(default = 256)]
    pub hidden_size: usize,
    /// The number of stacked recurrent layers (rl8: 1).
    #[config(default = 1)]
    pub num_layers: usize,
    /// Whether the recurrent layers and the value head have biases (the policy head always has
    /// one, as in rl8).
    #[config(default = true)]
    pub bias: bool,
    /// The distribution of `Box` actions, as in [`DefaultModelConfig`](crate::DefaultModelConfig).
    #[config(default = "ContinuousPolicy::Auto")]
    pub continuous: ContinuousPolicy,
}

impl RecurrentModelConfig {
    /// Checks the sizes.
    ///
    /// # Errors
    /// A zero `hidden_size` or `num_layers`, named as `model.hidden_size` / `model.num_layers`.
    pub fn validate(&self) -> crate::Result<()> {
        let sizes = [
            ("model.hidden_size", self.hidden_size),
            ("model.num_layers", self.num_layers),
        ];
        match sizes.into_iter().find(|&(_, size)| size == 0) {
            Some((field, size)) => Err(AlgoError::invalid(field, size, "must be at least 1")),
            None => Ok(()),
        }
    }

    /// The input width and the policy head of this model on these spaces.
    pub(crate) fn head(
        &self,
        observations: &Space,
        actions: &Space,
    ) -> crate::Result<(usize, Head)> {
        Head::for_spaces(
            "default recurrent model",
            observations,
            actions,
            self.continuous,
        )
    }

    /// `(parameters, activations per minibatch row)` of the model for an `input`-wide
    /// observation and `head`, for the memory estimate: per layer, the gate projections of
    /// its input and hidden state, and the gates and states a step keeps for the backward pass.
    pub(crate) fn size(&self, input: usize, head: &Head) -> (u64, u64) {
        use crate::memory::linear_parameters;
        let (h, gates) = (self.hidden_size, self.cell.gates());
        let g = gates.saturating_mul(h);
        let layers = (0..self.num_layers).map(|l| {
            let width = if l == 0 { input } else { h };
            linear_parameters(width, g).saturating_add(linear_parameters(h, g))
        });
        let parameters = layers
            .fold(0u64, u64::saturating_add)
            .saturating_add(linear_parameters(h, head.outputs()))
            .saturating_add(linear_parameters(h, 1));
        let per_row = (self.num_layers as u64)
            .saturating_mul(gates as u64 + 2)
            .saturating_mul(h as u64);
        (parameters, per_row)
    }

    /// Builds the model for one environment's spaces, with the same rules as
    /// [`DefaultModelConfig::init`](crate::DefaultModelConfig::init): a categorical policy for
    /// `Discrete`/`MultiDiscrete` actions (heads of any sizes), the `continuous` policy for `Box`
    /// actions, and a `Box` observation whose flat size is the input width.
    ///
    /// The weights are drawn on the host from a generator seeded with `seed`: torch's default
    /// `U(-1/sqrt(H), 1/sqrt(H))` for every recurrent weight and bias and for the value head
    /// (whose fan-in is H too), rl8's `U(-1e-3, 1e-3)` and zero bias for the policy head. The
    /// same seed gives the same weights on every backend and in every thread.
    ///
    /// ```
    /// use burn::backend::NdArray;
    /// use rl_algo::RecurrentModelConfig;
    /// use rl_core::{RecurrentModel, Space};
    ///
    /// let device = Default::default();
    /// let model = RecurrentModelConfig::new().with_hidden_size(32).with_num_layers(2).init::<NdArray>(
    ///     &Space::unbounded(vec![3])?,
    ///     &Space::unbounded(vec![2])?,
    ///     7,
    ///     &device,
    /// )?;
    /// // LSTM state: h and c, each [N, num_layers * hidden_size].
    /// let state = model.init_state(5, &device);
    /// assert_eq!(state.tensors.len(), 2);
    /// assert_eq!(state.tensors[1].dims(), [5, 64]);
    ///
    /// // A discrete observation space is refused.
    /// let refused = RecurrentModelConfig::new().init::<NdArray>(
    ///     &Space::discrete(3)?,
    ///     &Space::discrete(2)?,
    ///     7,
    ///     &device,
    /// );
    /// assert!(refused.is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Invalid sizes, a non-`Box` observation space, or a `Box` action space the
    /// `continuous` policy does not fit (as [`DefaultModelConfig::init`](crate::DefaultModelConfig::init)).
    pub fn init<B: Backend>(
        &self,
        observation_space: &Space,
        action_space: &Space,
        seed: u64,
        device: &B::Device,
    ) -> crate::Result<DefaultRecurrentModel<B>> {
        self.validate()?;
        let (input, head) = self.head(observation_space, action_space)?;
        let hidden = self.hidden_size;
        let bound = 1.0 / (hidden as f32).sqrt();
        let bias = self.bias.then_some(bound);
        let gates = self.cell.gates() * hidden;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut layers = Vec::with_capacity(self.num_layers);
        for l in 0..self.num_layers {
            let width = if l == 0 { input } else { hidden };
            layers.push(RecurrentLayer {
                input: linear(width, gates, bound, bias, &mut rng, device),
                hidden: linear(hidden, gates, bound, bias, &mut rng, device),
            });
        }
        // rl8's policy head: weights ~ U(-1e-3, 1e-3), bias 0 (near-uniform probabilities,
        // near-zero means); its value head has a bias only when `bias`.
        let policy = linear(hidden, head.outputs(), 1e-3, Some(0.0), &mut rng, device);
        let value = linear(hidden, 1, bound, bias, &mut rng, device);
        Ok(DefaultRecurrentModel {
            layers,
            policy,
            value,
            log_std: head.init_log_std(device),
            cell: self.cell,
            head,
            input_size: input,
            hidden_size: hidden,
        })
    }
}

/// One layer of the recurrent trunk: the fused input projection `in -> G*H` and hidden
/// projection `H -> G*H` of all G gates (torch's `weight_ih`/`bias_ih` and
/// `weight_hh`/`bias_hh`, stored transposed as Burn's `[in, out]`), gate blocks in torch's
/// order: LSTM `i, f, g, o`, GRU `r, z, n`.
#[derive(Module, Debug)]
pub struct RecurrentLayer<B: Backend> {
    input: Linear<B>,
    hidden: Linear<B>,
}

/// The per-step pieces of a layer's input: `seq_len` tensors `[N, X]`, step order.
type Steps<B> = Vec<Tensor<B, 2>>;

/// A weight `[in, out]` and its bias `[out]`.
type Affine<B> = (Tensor<B, 2>, Option<Tensor<B, 1>>);

/// How a layer computes the gate pre-activations of a step: `x W_ih[k] + b_ih[k]` and
/// `h W_hh[k] + b_hh[k]` for every gate `k`.
///
/// Under autodiff, Burn turns the gradient of every slice into a zero tensor the size of the
/// whole source, so slicing the `[N, G*H]` gate activations at every step costs `G` full-size
/// tensors per step in the backward pass, while slicing the weights costs one small tensor per
/// gate and call, for `G` times more (smaller) matmuls. Measured forward + backward of 8 steps,
/// LSTM 64, rows per step N (fused / per gate, ms): ndarray 4.9 / 6.6 at N = 16, 29 / 35 at 256,
/// 1218 / 836 at 8192; flex 1.4 / 1.7 at 16, 15 / 13 at 256, 751 / 502 at 8192.
enum Gates<B: Backend> {
    /// One input and one hidden matmul over all gates, then a slice per gate: the fewest ops;
    /// for acting (nothing is differentiated) and for small batches.
    Fused([Affine<B>; 2]),
    /// A pair of matmuls per gate, with the weights sliced once per call: for large batches
    /// under autodiff.
    PerGate(Vec<[Affine<B>; 2]>),
}

/// `t W + b`.
fn apply<B: Backend>(t: &Tensor<B, 2>, (w, b): &Affine<B>) -> Tensor<B, 2> {
    module::linear(t.clone(), w.clone(), b.clone())
}

impl<B: Backend> Gates<B> {
    /// The input and hidden projections of all gates, `[N, G*H]` each, for the fused variant.
    fn whole(&self, x: &Tensor<B, 2>, h: &Tensor<B, 2>) -> Option<[Tensor<B, 2>; 2]> {
        match self {
            Self::Fused([input, recurrent]) => Some([apply(x, input), apply(h, recurrent)]),
            Self::PerGate(_) => None,
        }
    }

    /// The `(x part, h part)` of every gate, `[N, H]` each.
    fn parts(&self, x: &Tensor<B, 2>, h: &Tensor<B, 2>, hidden: usize) -> Vec<[Tensor<B, 2>; 2]> {
        match self {
            Self::Fused([input, recurrent]) => {
                let (xp, hp) = (apply(x, input), apply(h, recurrent));
                let gates = xp.dims()[1] / hidden;
                (0..gates)
                    .map(|k| [&xp, &hp].map(|t| t.clone().narrow(1, k * hidden, hidden)))
                    .collect()
            }
            Self::PerGate(gates) => gates
                .iter()
                .map(|[input, recurrent]| [apply(x, input), apply(h, recurrent)])
                .collect(),
        }
    }
}

impl<B: Backend> RecurrentLayer<B> {
    /// The layer's weights arranged for [`Gates::parts`], for `gates` gates of width `hidden`
    /// and `rows` rows per step.
    fn gates(&self, gates: usize, hidden: usize, rows: usize, device: &B::Device) -> Gates<B> {
        /// From this many rows per step on, per-gate matmuls are faster under autodiff.
        const PER_GATE_FROM_ROWS: usize = 256;
        let pair = |l: &Linear<B>| (l.weight.val(), l.bias.as_ref().map(Param::val));
        // A fused cell takes the gates whole: slicing them costs nothing there.
        if rows < PER_GATE_FROM_ROWS || !B::ad_enabled(device) || fused::available::<B>() {
            return Gates::Fused([pair(&self.input), pair(&self.hidden)]);
        }
        let block = |(w, b): Affine<B>, k: usize| {
            (
                w.narrow(1, k * hidden, hidden),
                b.map(|b| b.narrow(0, k * hidden, hidden)),
            )
        };
        Gates::PerGate(
            (0..gates)
                .map(|k| [block(pair(&self.input), k), block(pair(&self.hidden), k)])
                .collect(),
        )
    }

    /// Runs an LSTM layer over the steps from `(h, c)`; returns every step's `h` and the final
    /// `(h, c)`. Gates in torch's order `i, f, g, o`.
    fn lstm(
        &self,
        inputs: Steps<B>,
        mut h: Tensor<B, 2>,
        mut c: Tensor<B, 2>,
    ) -> (Steps<B>, Tensor<B, 2>, Tensor<B, 2>) {
        let hidden = h.dims()[1];
        let gates = self.gates(4, hidden, h.dims()[0], &h.device());
        let mut outputs = Vec::with_capacity(inputs.len());
        let fused = fused::applies(&h);
        for x in inputs {
            if fused && let Some(out) = fused_lstm::lstm_step(&x, &h, &c, &self.input, &self.hidden)
            {
                // `[h'; c']`: both halves are contiguous rows.
                let rows = c.dims()[0];
                h = out.clone().narrow(0, 0, rows);
                c = out.narrow(0, rows, rows);
                outputs.push(h.clone());
                continue;
            }
            let [i, f, g, o]: [Tensor<B, 2>; 4] = gates
                .parts(&x, &h, hidden)
                .into_iter()
                .map(|[xp, hp]| xp + hp)
                .collect::<Vec<_>>()
                .try_into()
                .expect("four LSTM gates");
            c = sigmoid(f) * c + sigmoid(i) * g.tanh();
            h = sigmoid(o) * c.clone().tanh();
            outputs.push(h.clone());
        }
        (outputs, h, c)
    }

    /// Runs a GRU layer over the steps from `h`; returns every step's `h` and the final `h`.
    /// Gates in torch's order `r, z, n`: `n = tanh(x W_in + b_in + r * (h W_hn + b_hn))`,
    /// `h' = (1 - z) * n + z * h`.
    fn gru(&self, inputs: Steps<B>, mut h: Tensor<B, 2>) -> (Steps<B>, Tensor<B, 2>) {
        let hidden = h.dims()[1];
        let gates = self.gates(3, hidden, h.dims()[0], &h.device());
        let mut outputs = Vec::with_capacity(inputs.len());
        let fused = fused::applies(&h);
        for x in inputs {
            let projections = || match [(&x, &self.input), (&h, &self.hidden)]
                .map(|(t, layer)| fused_linear::project(t, layer))
            {
                [Some(xp), Some(hp)] => Some([xp, hp]),
                _ => gates.whole(&x, &h),
            };
            if fused
                && let Some([xp, hp]) = projections()
                && let Some(out) = fused::gru(&xp, &hp, &h)
            {
                h = out;
                outputs.push(h.clone());
                continue;
            }
            let [[xr, hr], [xz, hz], [xn, hn]]: [[Tensor<B, 2>; 2]; 3] = gates
                .parts(&x, &h, hidden)
                .try_into()
                .expect("three GRU gates");
            let r = sigmoid(xr + hr);
            let z = sigmoid(xz + hz);
            let n = (xn + r * hn).tanh();
            // (1 - z) * n + z * h
            h = n.clone() + z * (h - n);
            outputs.push(h.clone());
        }
        (outputs, h)
    }
}

/// rl8's default recurrent model: a **shared** trunk of `num_layers` stacked LSTM or GRU layers
/// over the observation features, then a policy head `Linear(H, outputs)` and a value head
/// `Linear(H, 1)` on the last layer's output.
///
/// * Discrete actions: logits `[N, A, n]`, masked by the observation's action mask when it has
///   one.
/// * Continuous actions: the mean from the policy head and a learned, state-independent log-std
///   vector initialised at 0 (std 1), as in [`DefaultModel`](crate::DefaultModel). rl8 uses a
///   `tanh`'d state-dependent log-std head, whose std can never fall below e^-1; we
///   deliberately do not.
///
/// The [`RecurrentState`] is `[h, c]` for an LSTM and `[h]` for a GRU, each
/// `[N, num_layers * H]` with layer `l` in columns `l*H..(l+1)*H`; [`RecurrentModel::init_state`]
/// gives zeros, as rl8 does.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rl_algo::RecurrentModelConfig;
/// use rl_core::{Distribution, Observation, RecurrentModel, Space};
///
/// let device = Default::default();
/// let model = RecurrentModelConfig::new().with_hidden_size(16).init::<NdArray>(
///     &Space::unbounded(vec![4])?,
///     &Space::discrete(3)?,
///     0,
///     &device,
/// )?;
///
/// // Acting: one step of 8 environments, threading the state.
/// let state = model.init_state(8, &device);
/// let obs = Observation::new(Tensor::zeros([8, 4], &device));
/// let out = model.forward(&obs, 1, state)?;
/// assert_eq!(out.values.dims(), [8, 1]);
/// assert_eq!(out.dist.mode().dims(), [8, 1]);
///
/// // Training: 2 sequences of 5 steps (row n * 5 + t is step t of sequence n).
/// let obs = Observation::new(Tensor::zeros([10, 4], &device));
/// let out = model.forward(&obs, 5, model.init_state(2, &device))?;
/// assert_eq!(out.values.dims(), [10, 1]);
/// assert_eq!(out.state.tensors[0].dims(), [2, 16]);
///
/// // 10 rows are not 3 sequences of 5 steps.
/// assert!(model.forward(&obs, 5, model.init_state(3, &device)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Build it with [`RecurrentModelConfig::init`].
#[derive(Module, Debug)]
pub struct DefaultRecurrentModel<B: Backend> {
    layers: Vec<RecurrentLayer<B>>,
    policy: Linear<B>,
    value: Linear<B>,
    log_std: Option<Param<Tensor<B, 1>>>,
    #[module(skip)]
    cell: CellKind,
    #[module(skip)]
    head: Head,
    #[module(skip)]
    input_size: usize,
    #[module(skip)]
    hidden_size: usize,
}

impl<B: Backend> DefaultRecurrentModel<B> {
    /// What the policy head outputs.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The recurrent cell.
    pub fn cell(&self) -> CellKind {
        self.cell
    }

    /// The width H of every recurrent layer.
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// The number of stacked recurrent layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// The width of every state tensor, `num_layers * hidden_size`.
    fn state_width(&self) -> usize {
        self.layers.len() * self.hidden_size
    }

    /// Checks the inputs of [`RecurrentModel::forward`] and returns N.
    fn check_input(
        &self,
        obs: &Observation<B>,
        seq_len: usize,
        state: &RecurrentState<B>,
    ) -> rl_core::Result<usize> {
        let shape = |what: &str, expected: String, actual: Vec<usize>| CoreError::Shape {
            what: format!("{MODEL}: {what}"),
            expected,
            actual,
        };
        if seq_len == 0 {
            return Err(shape("seq_len", "at least 1 step".into(), vec![0]));
        }
        let count = self.cell.state_tensors();
        if state.tensors.len() != count {
            return Err(shape(
                "number of state tensors",
                format!("{count} ({})", self.cell.state_names()),
                vec![state.tensors.len()],
            ));
        }
        let n = state.batch_size();
        if n == 0 {
            return Err(shape("state", "at least one sequence".into(), vec![0]));
        }
        let width = self.state_width();
        for (i, t) in state.tensors.iter().enumerate() {
            if t.dims() != [n, width] {
                return Err(shape(
                    &format!("state tensor {i} of {}", self.cell.state_names()),
                    format!("[{n}, {width}] (N, num_layers * hidden_size)"),
                    t.dims().to_vec(),
                ));
            }
        }
        let dims = obs.features.dims();
        if dims != [n * seq_len, self.input_size] {
            return Err(shape(
                "observation features",
                format!(
                    "[{}, {}] (N = {n} state rows * seq_len = {seq_len}, features)",
                    n * seq_len,
                    self.input_size
                ),
                dims.to_vec(),
            ));
        }
        Ok(n)
    }

    /// Columns `l*H..(l+1)*H` of a state tensor: layer `l`'s part.
    fn layer_part(&self, t: &Tensor<B, 2>, l: usize) -> Tensor<B, 2> {
        if self.layers.len() == 1 {
            t.clone()
        } else {
            t.clone().narrow(1, l * self.hidden_size, self.hidden_size)
        }
    }
}

impl<B: Backend> RecurrentModel<B> for DefaultRecurrentModel<B> {
    type Dist = DefaultDist<B>;

    fn init_state(&self, batch_size: usize, device: &B::Device) -> RecurrentState<B> {
        let width = self.state_width();
        RecurrentState::new(
            (0..self.cell.state_tensors())
                .map(|_| Tensor::zeros([batch_size, width], device))
                .collect(),
        )
    }

    fn forward(
        &self,
        obs: &Observation<B>,
        seq_len: usize,
        state: RecurrentState<B>,
    ) -> rl_core::Result<RecurrentOutput<B, DefaultDist<B>>> {
        let n = self.check_input(obs, seq_len, &state)?;
        // Step t of every sequence: rows n * seq_len + t, i.e. columns t*F..(t+1)*F of the
        // features viewed as [N, seq_len * F].
        let mut steps: Steps<B> = if seq_len == 1 {
            vec![obs.features.clone()]
        } else {
            let f = self.input_size;
            let x = rl_functional::reshape(obs.features.clone(), [n, seq_len * f]);
            (0..seq_len)
                .map(|t| x.clone().narrow(1, t * f, f))
                .collect()
        };
        let num_layers = self.layers.len();
        let mut final_h = Vec::with_capacity(num_layers);
        let mut final_c = Vec::with_capacity(num_layers);
        for (l, layer) in self.layers.iter().enumerate() {
            let h = self.layer_part(&state.tensors[0], l);
            steps = match self.cell {
                CellKind::Lstm => {
                    let c = self.layer_part(&state.tensors[1], l);
                    let (out, h, c) = layer.lstm(steps, h, c);
                    final_h.push(h);
                    final_c.push(c);
                    out
                }
                CellKind::Gru => {
                    let (out, h) = layer.gru(steps, h);
                    final_h.push(h);
                    out
                }
            };
        }
        let latent = if seq_len == 1 {
            steps.pop().expect("one step")
        } else {
            // [N, seq_len * H] holds row n's steps side by side: sequence-major [N * seq_len, H].
            Tensor::cat(steps, 1).reshape([n * seq_len, self.hidden_size])
        };
        let dist = self.head.dist(
            self.policy.forward(latent.clone()),
            self.log_std.as_ref(),
            obs.action_mask.as_ref(),
            MODEL,
        )?;
        let join = |mut parts: Vec<Tensor<B, 2>>| {
            if parts.len() == 1 {
                parts.pop().expect("one layer")
            } else {
                Tensor::cat(parts, 1)
            }
        };
        let mut tensors = vec![join(final_h)];
        if self.cell == CellKind::Lstm {
            tensors.push(join(final_c));
        }
        Ok(RecurrentOutput {
            dist,
            values: self.value.forward(latent),
            state: RecurrentState::new(tensors),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::tensor::{Bool, Int, TensorData};
    use rand::RngExt;
    use rl_core::Distribution;

    type B = NdArray<f32>;
    type A = Autodiff<B>;

    fn dev() -> burn::tensor::Device<B> {
        Default::default()
    }

    fn host<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    /// `[rows, cols]` of U(-1, 1) values drawn on the host.
    fn random(rows: usize, cols: usize, rng: &mut StdRng) -> Tensor<B, 2> {
        let v: Vec<f32> = (0..rows * cols)
            .map(|_| 2.0 * rng.random::<f32>() - 1.0)
            .collect();
        Tensor::from_data(TensorData::new(v, [rows, cols]), &dev())
    }

    /// The default recurrent model on any backend (`B` unless the caller says otherwise).
    fn build<BB: Backend>(
        cell: CellKind,
        num_layers: usize,
        hidden: usize,
        obs_dim: usize,
        action_space: &Space,
        seed: u64,
    ) -> DefaultRecurrentModel<BB> {
        RecurrentModelConfig::new()
            .with_cell(cell)
            .with_num_layers(num_layers)
            .with_hidden_size(hidden)
            .init(
                &Space::unbounded(vec![obs_dim]).unwrap(),
                action_space,
                seed,
                &Default::default(),
            )
            .unwrap()
    }

    /// Replaces rl8's near-zero policy head with a large one, so that a wrong latent shows in
    /// the distribution's parameters.
    fn big_policy_head<BB: Backend>(model: &mut DefaultRecurrentModel<BB>, rng: &mut StdRng) {
        let outputs = model.head.outputs();
        model.policy = linear(
            model.hidden_size,
            outputs,
            1.0,
            Some(0.5),
            rng,
            &Default::default(),
        );
    }

    fn random_state(
        model: &DefaultRecurrentModel<B>,
        n: usize,
        rng: &mut StdRng,
    ) -> RecurrentState<B> {
        RecurrentState::new(
            (0..model.cell.state_tensors())
                .map(|_| random(n, model.state_width(), rng))
                .collect(),
        )
    }

    /// The distribution's parameters, one row per sample: normalized log-probabilities
    /// (`heads * categories`) or means.
    fn dist_rows(dist: &DefaultDist<B>) -> (Vec<f32>, usize) {
        match dist {
            DefaultDist::Categorical(d) => {
                let lp = d.log_probs();
                let [_, a, k] = lp.dims();
                (host(lp), a * k)
            }
            DefaultDist::Normal(d) => {
                let mean = d.mean();
                let width = mean.dims()[1];
                (host(mean), width)
            }
            DefaultDist::Squashed(_) | DefaultDist::Clipped(_) => {
                unreachable!("these tests use unbounded action spaces")
            }
        }
    }

    fn assert_close(actual: &[f32], expected: &[f32], tol: f32, what: &str) {
        assert_eq!(actual.len(), expected.len(), "{what}: lengths");
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!((a - e).abs() <= tol, "{what}[{i}]: {a} vs {e}");
        }
    }

    #[test]
    fn a_sequence_equals_stepping_one_step_at_a_time() {
        let spaces = [
            Space::multi_discrete(vec![3, 3]).unwrap(),
            Space::unbounded(vec![2]).unwrap(),
        ];
        for cell in [CellKind::Lstm, CellKind::Gru] {
            for action_space in &spaces {
                let mut rng = StdRng::seed_from_u64(11);
                let mut model = build(cell, 2, 8, 3, action_space, 5);
                big_policy_head(&mut model, &mut rng);
                let (n, len, f) = (3, 5, 3);
                let x = random(n * len, f, &mut rng);
                let state0 = random_state(&model, n, &mut rng);

                let full = model
                    .forward(&Observation::new(x.clone()), len, state0.clone())
                    .unwrap();
                let full_values = host(full.values.clone());
                let (full_params, width) = dist_rows(&full.dist);

                let mut state = state0;
                for t in 0..len {
                    let rows: Vec<i64> = (0..n).map(|s| (s * len + t) as i64).collect();
                    let idx = Tensor::<B, 1, Int>::from_ints(rows.as_slice(), &dev());
                    let obs = Observation::new(x.clone().select(0, idx));
                    let out = model.forward(&obs, 1, state).unwrap();
                    let values = host(out.values.clone());
                    let (params, w) = dist_rows(&out.dist);
                    assert_eq!(w, width);
                    for s in 0..n {
                        let row = s * len + t;
                        let what = format!("{cell:?} {action_space:?} seq {s} step {t}");
                        assert_close(&values[s..=s], &full_values[row..=row], 1e-5, &what);
                        assert_close(
                            &params[s * w..(s + 1) * w],
                            &full_params[row * w..(row + 1) * w],
                            1e-5,
                            &what,
                        );
                    }
                    state = out.state;
                }
                assert_eq!(full.state.tensors.len(), state.tensors.len());
                for (a, b) in full.state.tensors.iter().zip(&state.tensors) {
                    assert_eq!(a.dims(), [n, 16]);
                    assert_close(&host(a.clone()), &host(b.clone()), 1e-5, "final state");
                }
            }
        }
    }

    fn sigmoid64(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// `out[j] = sum_k v[k] * w[k][j] + b[j]` for Burn's `[in, out]` weight layout.
    fn affine(v: &[f64], w: &[f32], b: Option<&[f32]>, out: usize) -> Vec<f64> {
        (0..out)
            .map(|j| {
                let bias = b.map_or(0.0, |b| f64::from(b[j]));
                bias + v
                    .iter()
                    .enumerate()
                    .map(|(k, x)| x * f64::from(w[k * out + j]))
                    .sum::<f64>()
            })
            .collect()
    }

    fn weights(l: &Linear<B>) -> (Vec<f32>, Option<Vec<f32>>) {
        (host(l.weight.val()), l.bias.as_ref().map(|b| host(b.val())))
    }

    /// Runs the model's formulas in f64 loops, one scalar at a time: the values, the policy
    /// outputs (means) and the final state of every sequence.
    fn reference(
        model: &DefaultRecurrentModel<B>,
        x: &[f32],
        n: usize,
        len: usize,
        state: &[Vec<f32>],
    ) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
        let hs = model.hidden_size;
        let layers = model.layers.len();
        let width = layers * hs;
        let f = model.input_size;
        let g = model.cell.gates() * hs;
        let params: Vec<_> = model
            .layers
            .iter()
            .map(|l| (weights(&l.input), weights(&l.hidden)))
            .collect();
        let (wp, bp) = weights(&model.policy);
        let (wv, bv) = weights(&model.value);
        let outputs = model.head.outputs();
        let (mut values, mut means) = (vec![], vec![]);
        let mut final_state = vec![vec![0.0; n * width]; state.len()];
        for s in 0..n {
            let part = |t: &[f32], l: usize| -> Vec<f64> {
                (0..hs)
                    .map(|k| f64::from(t[s * width + l * hs + k]))
                    .collect()
            };
            let mut h: Vec<Vec<f64>> = (0..layers).map(|l| part(&state[0], l)).collect();
            let mut c: Vec<Vec<f64>> = match model.cell {
                CellKind::Lstm => (0..layers).map(|l| part(&state[1], l)).collect(),
                CellKind::Gru => vec![],
            };
            for t in 0..len {
                let row = s * len + t;
                let mut input: Vec<f64> = (0..f).map(|k| f64::from(x[row * f + k])).collect();
                for (l, ((wi, bi), (wh, bh))) in params.iter().enumerate() {
                    let px = affine(&input, wi, bi.as_deref(), g);
                    let ph = affine(&h[l], wh, bh.as_deref(), g);
                    let new_h: Vec<f64> = match model.cell {
                        CellKind::Lstm => (0..hs)
                            .map(|k| {
                                let gate = |b: usize| px[b * hs + k] + ph[b * hs + k];
                                let (i, fg, gg, o) = (
                                    sigmoid64(gate(0)),
                                    sigmoid64(gate(1)),
                                    gate(2).tanh(),
                                    sigmoid64(gate(3)),
                                );
                                c[l][k] = fg * c[l][k] + i * gg;
                                o * c[l][k].tanh()
                            })
                            .collect(),
                        CellKind::Gru => (0..hs)
                            .map(|k| {
                                let r = sigmoid64(px[k] + ph[k]);
                                let z = sigmoid64(px[hs + k] + ph[hs + k]);
                                let nn = (px[2 * hs + k] + r * ph[2 * hs + k]).tanh();
                                (1.0 - z) * nn + z * h[l][k]
                            })
                            .collect(),
                    };
                    h[l] = new_h.clone();
                    input = new_h;
                }
                values.extend(affine(&input, &wv, bv.as_deref(), 1));
                means.extend(affine(&input, &wp, bp.as_deref(), outputs));
            }
            for l in 0..layers {
                for k in 0..hs {
                    final_state[0][s * width + l * hs + k] = h[l][k];
                    if model.cell == CellKind::Lstm {
                        final_state[1][s * width + l * hs + k] = c[l][k];
                    }
                }
            }
        }
        (values, means, final_state)
    }

    #[test]
    fn cells_match_a_scalar_implementation_of_the_formulas() {
        for cell in [CellKind::Lstm, CellKind::Gru] {
            let mut rng = StdRng::seed_from_u64(3);
            let mut model = build(cell, 2, 3, 2, &Space::unbounded(vec![2]).unwrap(), 9);
            big_policy_head(&mut model, &mut rng);
            let (n, len) = (2, 3);
            let x = random(n * len, 2, &mut rng);
            let state = random_state(&model, n, &mut rng);
            let out = model
                .forward(&Observation::new(x.clone()), len, state.clone())
                .unwrap();
            let state_host: Vec<Vec<f32>> = state.tensors.into_iter().map(host).collect();
            let (values, means, final_state) =
                reference(&model, &host(x.clone()), n, len, &state_host);
            let to32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<_>>();
            let what = format!("{cell:?}");
            assert_close(&host(out.values), &to32(values.clone()), 1e-5, &what);
            assert_close(&dist_rows(&out.dist).0, &to32(means.clone()), 1e-5, &what);
            for (t, expected) in out.state.tensors.into_iter().zip(final_state.clone()) {
                assert_close(&host(t), &to32(expected), 1e-5, &what);
            }

            // Under autodiff with at least 256 rows per step the gates are computed another
            // way (a matmul pair per gate): the same numbers as the checked path above.
            let n = 300;
            let x = random(n * len, 2, &mut rng);
            let state = random_state(&model, n, &mut rng);
            let expected = model
                .forward(&Observation::new(x.clone()), len, state.clone())
                .unwrap();
            let mut rng = StdRng::seed_from_u64(3);
            let mut model = build::<A>(cell, 2, 3, 2, &Space::unbounded(vec![2]).unwrap(), 9);
            big_policy_head(&mut model, &mut rng);
            let state = RecurrentState::new(
                state
                    .tensors
                    .into_iter()
                    .map(Tensor::<A, 2>::from_inner)
                    .collect(),
            );
            let out = model
                .forward(&Observation::new(Tensor::from_inner(x)), len, state)
                .unwrap();
            let what = format!("{cell:?} under autodiff, {n} rows");
            let mean = |d: &DefaultDist<A>| match d {
                DefaultDist::Normal(d) => host(d.mean().inner()),
                DefaultDist::Categorical(_) => unreachable!("a Box action space"),
                DefaultDist::Squashed(_) | DefaultDist::Clipped(_) => {
                    unreachable!("an unbounded action space")
                }
            };
            assert_close(
                &host(out.values.inner()),
                &host(expected.values),
                1e-5,
                &what,
            );
            assert_close(&mean(&out.dist), &dist_rows(&expected.dist).0, 1e-5, &what);
            for (t, e) in out.state.tensors.into_iter().zip(expected.state.tensors) {
                assert_close(&host(t.inner()), &host(e), 1e-5, &what);
            }
        }
    }

    fn shape_error(result: rl_core::Result<RecurrentOutput<B, DefaultDist<B>>>, what: &str) {
        match result {
            Err(CoreError::Shape { what: w, .. }) => {
                assert!(w.contains(what), "error names `{w}`, expected `{what}`")
            }
            other => panic!(
                "expected a shape error naming {what}, got {:?}",
                other.is_ok()
            ),
        }
    }

    #[test]
    fn bad_inputs_are_shape_errors() {
        let model = build(CellKind::Lstm, 2, 4, 3, &Space::discrete(3).unwrap(), 0);
        let obs =
            |rows: usize, f: usize| Observation::new(Tensor::<B, 2>::zeros([rows, f], &dev()));
        let zeros = |rows: usize, w: usize| Tensor::<B, 2>::zeros([rows, w], &dev());
        let good = model.init_state(2, &dev());
        assert!(model.forward(&obs(6, 3), 3, good.clone()).is_ok());

        shape_error(model.forward(&obs(6, 3), 0, good.clone()), "seq_len");
        shape_error(
            model.forward(&obs(5, 3), 3, good.clone()),
            "observation features",
        );
        shape_error(
            model.forward(&obs(6, 3), 2, good.clone()),
            "observation features",
        );
        shape_error(
            model.forward(&obs(6, 4), 3, good.clone()),
            "observation features",
        );
        let one = RecurrentState::new(vec![zeros(2, 8)]);
        shape_error(model.forward(&obs(6, 3), 3, one), "number of state tensors");
        let three = RecurrentState::new(vec![zeros(2, 8), zeros(2, 8), zeros(2, 8)]);
        shape_error(
            model.forward(&obs(6, 3), 3, three),
            "number of state tensors",
        );
        let narrow = RecurrentState::new(vec![zeros(2, 4), zeros(2, 4)]);
        shape_error(model.forward(&obs(6, 3), 3, narrow), "state tensor 0");
        let ragged = RecurrentState::new(vec![zeros(2, 8), zeros(3, 8)]);
        shape_error(model.forward(&obs(6, 3), 3, ragged), "state tensor 1");
        shape_error(
            model.forward(&obs(0, 3), 3, model.init_state(0, &dev())),
            "state",
        );
        let mask = Tensor::<B, 2, Bool>::from_data(TensorData::new(vec![true; 12], [6, 2]), &dev());
        let masked = obs(6, 3).with_action_mask(mask).unwrap();
        shape_error(model.forward(&masked, 3, good.clone()), "action mask");

        let gru = build(CellKind::Gru, 2, 4, 3, &Space::discrete(3).unwrap(), 0);
        shape_error(gru.forward(&obs(6, 3), 3, good), "number of state tensors");
        assert!(
            gru.forward(&obs(6, 3), 3, gru.init_state(2, &dev()))
                .is_ok()
        );
    }

    #[test]
    fn bad_configs_and_spaces_are_refused() {
        let obs = Space::unbounded(vec![3]).unwrap();
        let act = Space::discrete(2).unwrap();
        for (config, field) in [
            (
                RecurrentModelConfig::new().with_hidden_size(0),
                "model.hidden_size",
            ),
            (
                RecurrentModelConfig::new().with_num_layers(0),
                "model.num_layers",
            ),
        ] {
            for err in [
                config.validate().unwrap_err(),
                config.init::<B>(&obs, &act, 0, &dev()).unwrap_err(),
            ] {
                assert!(matches!(err, AlgoError::InvalidConfig { field: ref f, .. } if f == field));
            }
        }
        let config = RecurrentModelConfig::new().with_hidden_size(4);
        let discrete_obs = Space::discrete(3).unwrap();
        assert!(matches!(
            config.init::<B>(&discrete_obs, &act, 0, &dev()),
            Err(AlgoError::Mismatch { .. })
        ));
        // Heads of different sizes build; a box with a finite and an infinite bound fits no
        // default policy, and a normal cannot be asked for on a bounded box.
        let uneven = Space::multi_discrete(vec![2, 3]).unwrap();
        let model = config.init::<B>(&obs, &uneven, 0, &dev()).unwrap();
        assert_eq!(model.head(), &Head::Categorical { nvec: vec![2, 3] });
        let half = Space::boxed(vec![2], vec![-1.0, 0.0], vec![1.0, f32::INFINITY]).unwrap();
        assert!(matches!(
            config.init::<B>(&obs, &half, 0, &dev()),
            Err(AlgoError::Mismatch { .. })
        ));
        let bounded = Space::boxed(vec![1], vec![-1.0], vec![1.0]).unwrap();
        let normal = RecurrentModelConfig::new()
            .with_hidden_size(4)
            .with_continuous(ContinuousPolicy::Normal);
        assert!(matches!(
            normal.init::<B>(&obs, &bounded, 0, &dev()),
            Err(AlgoError::InvalidConfig { field, .. }) if field == "model.continuous"
        ));
    }

    #[test]
    fn config_round_trips_through_json() {
        let config = RecurrentModelConfig::new().with_cell(CellKind::Gru);
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains(r#""cell":"gru""#), "{json}");
        let back: RecurrentModelConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.cell, CellKind::Gru);
        let defaults = RecurrentModelConfig::new();
        assert_eq!(
            (
                defaults.cell,
                defaults.hidden_size,
                defaults.num_layers,
                defaults.bias
            ),
            (CellKind::Lstm, 256, 1, true)
        );
    }

    /// Every parameter, flattened, in a fixed order.
    fn all_params(model: &DefaultRecurrentModel<B>) -> Vec<f32> {
        let mut linears: Vec<&Linear<B>> = vec![];
        for l in &model.layers {
            linears.push(&l.input);
            linears.push(&l.hidden);
        }
        linears.push(&model.policy);
        linears.push(&model.value);
        let mut out = vec![];
        for l in linears {
            let (w, b) = weights(l);
            out.extend(w);
            out.extend(b.unwrap_or_default());
        }
        out
    }

    #[test]
    fn seeds_and_initial_weights() {
        let act = Space::multi_discrete(vec![4, 4]).unwrap();
        for cell in [CellKind::Lstm, CellKind::Gru] {
            let a = build(cell, 2, 16, 3, &act, 42);
            let b = build(cell, 2, 16, 3, &act, 42);
            let c = build(cell, 2, 16, 3, &act, 43);
            assert_eq!(all_params(&a), all_params(&b));
            assert_ne!(all_params(&a), all_params(&c));

            let (wp, bp) = weights(&a.policy);
            assert_eq!(wp.len(), 16 * 8);
            assert!(wp.iter().all(|w| w.abs() <= 1e-3));
            assert!(wp.iter().any(|w| *w != 0.0));
            assert_eq!(bp, Some(vec![0.0; 8]));

            let bound = 1.0 / 4.0; // 1/sqrt(16)
            let gates = match cell {
                CellKind::Lstm => 4,
                CellKind::Gru => 3,
            };
            for (l, layer) in a.layers.iter().enumerate() {
                let (wi, bi) = weights(&layer.input);
                let (wh, bh) = weights(&layer.hidden);
                assert_eq!(wi.len(), if l == 0 { 3 } else { 16 } * gates * 16);
                assert_eq!(wh.len(), 16 * gates * 16);
                for v in [wi, bi.unwrap(), wh, bh.unwrap()] {
                    assert!(v.iter().all(|w| w.abs() <= bound));
                    // Spread over the range, not all near 0.
                    assert!(v.iter().any(|w| w.abs() > bound / 2.0));
                }
            }
            let (wv, bv) = weights(&a.value);
            assert!(wv.iter().chain(&bv.unwrap()).all(|w| w.abs() <= bound));
        }

        let no_bias = RecurrentModelConfig::new()
            .with_hidden_size(4)
            .with_bias(false)
            .init::<B>(&Space::unbounded(vec![2]).unwrap(), &act, 0, &dev())
            .unwrap();
        for layer in &no_bias.layers {
            assert!(layer.input.bias.is_none() && layer.hidden.bias.is_none());
        }
        assert!(no_bias.value.bias.is_none());
        assert!(no_bias.policy.bias.is_some());
    }

    /// `model`'s output on `x` (`len` steps per sequence) from `state`, with the initial `h`
    /// tracked for its gradient (returned beside the output).
    fn forward_tracking_h0(
        model: &DefaultRecurrentModel<A>,
        x: &Tensor<A, 2>,
        len: usize,
        state: RecurrentState<A>,
    ) -> (RecurrentOutput<A, DefaultDist<A>>, Tensor<A, 2>) {
        let h0 = state.tensors[0].clone().require_grad();
        let mut tensors = state.tensors;
        tensors[0] = h0.clone();
        let out = model
            .forward(
                &Observation::new(x.clone()),
                len,
                RecurrentState::new(tensors),
            )
            .unwrap();
        (out, h0)
    }

    #[test]
    fn gradients_flow_back_through_time() {
        for cell in [CellKind::Lstm, CellKind::Gru] {
            let model = RecurrentModelConfig::new()
                .with_cell(cell)
                .with_hidden_size(8)
                .with_num_layers(2)
                .init::<A>(
                    &Space::unbounded(vec![3]).unwrap(),
                    &Space::discrete(2).unwrap(),
                    1,
                    &dev(),
                )
                .unwrap();
            let (n, len) = (2, 4);
            let mut rng = StdRng::seed_from_u64(0);
            let x = Tensor::<A, 2>::from_inner(random(n * len, 3, &mut rng)).require_grad();
            let state = RecurrentState::<A>::from_inner(random_state(
                &build(cell, 2, 8, 3, &Space::discrete(2).unwrap(), 1),
                n,
                &mut rng,
            ));
            let (out, h0) = forward_tracking_h0(&model, &x, len, state);
            // The value of the last step of sequence 0.
            let grads = out.values.narrow(0, len - 1, 1).sum().backward();
            let gx = host(x.grad(&grads).unwrap());
            let first_step: f32 = gx[0..3].iter().map(|g| g.abs()).sum();
            assert!(
                first_step > 1e-6,
                "{cell:?}: d value / d step 0 = {first_step}"
            );
            // Sequence 1 does not feed sequence 0.
            assert!(gx[len * 3..].iter().all(|g| *g == 0.0), "{cell:?}: {gx:?}");
            let gh = host(h0.grad(&grads).unwrap());
            assert!(gh[..16].iter().any(|g| *g != 0.0));
            assert!(gh[16..].iter().all(|g| *g == 0.0));
        }
    }

    /// The whole model with the fused kernels (cell steps and the LSTM's gate products) against
    /// the same model composed from Burn's operations: values and the gradients of the input,
    /// the initial state and every layer's weights, at a row count that takes the composed
    /// per-gate path too.
    #[test]
    fn fused_and_composed_models_agree() {
        for cell in [CellKind::Lstm, CellKind::Gru] {
            let model = build::<A>(cell, 2, 8, 3, &Space::discrete(2).unwrap(), 4);
            let (n, len) = (300, 3);
            let mut rng = StdRng::seed_from_u64(5);
            let x = random(n * len, 3, &mut rng);
            let state = random_state(
                &build(cell, 2, 8, 3, &Space::discrete(2).unwrap(), 4),
                n,
                &mut rng,
            );
            let weights = random(n * len, 1, &mut rng);
            let run = || {
                let x = Tensor::<A, 2>::from_inner(x.clone()).require_grad();
                let state = RecurrentState::<A>::from_inner(state.clone());
                let (out, h0) = forward_tracking_h0(&model, &x, len, state);
                let loss = (out.values.clone() * Tensor::from_inner(weights.clone())).sum()
                    + out
                        .state
                        .tensors
                        .iter()
                        .map(|t| t.clone().sum())
                        .fold(Tensor::zeros([1], &dev()), |a, b| a + b);
                let grads = loss.backward();
                let mut got = vec![
                    host(out.values.inner()),
                    host(x.grad(&grads).unwrap()),
                    host(h0.grad(&grads).unwrap()),
                ];
                for layer in &model.layers {
                    for l in [&layer.input, &layer.hidden] {
                        got.push(host(l.weight.val().grad(&grads).unwrap()));
                        got.push(host(l.bias.as_ref().unwrap().val().grad(&grads).unwrap()));
                    }
                }
                got
            };
            let (fused, composed) = (run(), fused::composed(run));
            for (k, (a, b)) in fused.iter().zip(&composed).enumerate() {
                // Relative: the weights' gradients sum 900 rows, in another order when fused.
                fused::tests::close(a, b, 1e-5, &format!("{cell:?} output {k}"));
            }
        }
    }

    #[test]
    fn heads_give_the_right_distributions() {
        let (n, len) = (2, 3);
        let rows = n * len;
        let mut rng = StdRng::seed_from_u64(8);
        for cell in [CellKind::Lstm, CellKind::Gru] {
            let discrete = build(
                cell,
                1,
                8,
                3,
                &Space::multi_discrete(vec![3, 3]).unwrap(),
                2,
            );
            assert_eq!(discrete.head(), &Head::Categorical { nvec: vec![3, 3] });
            let state = discrete.init_state(n, &dev());
            assert_eq!(state.tensors.len(), cell.state_tensors());
            for t in &state.tensors {
                assert_eq!(t.dims(), [n, 8]);
                assert!(host(t.clone()).iter().all(|v| *v == 0.0));
            }
            let x = random(rows, 3, &mut rng);
            let out = discrete
                .forward(&Observation::new(x.clone()), len, state)
                .unwrap();
            assert_eq!(out.values.dims(), [rows, 1]);
            let DefaultDist::Categorical(d) = &out.dist else {
                panic!("expected a categorical distribution")
            };
            assert_eq!(d.log_probs().dims(), [rows, 2, 3]);
            // rl8's small head: near-uniform probabilities.
            assert!(
                host(d.log_probs())
                    .iter()
                    .all(|lp| (lp + 3f32.ln()).abs() < 1e-2)
            );
            assert_eq!(out.dist.mode().dims(), [rows, 2]);

            let continuous = build(cell, 1, 8, 3, &Space::unbounded(vec![2]).unwrap(), 2);
            assert_eq!(continuous.head(), &Head::Normal { dims: 2 });
            let out = continuous
                .forward(
                    &Observation::new(x.clone()),
                    len,
                    continuous.init_state(n, &dev()),
                )
                .unwrap();
            let DefaultDist::Normal(d) = &out.dist else {
                panic!("expected a normal distribution")
            };
            assert_eq!(d.mean().dims(), [rows, 2]);
            assert!(host(d.std()).iter().all(|s| (s - 1.0).abs() < 1e-6));
            assert_eq!(out.dist.entropy().dims(), [rows, 1]);

            // Masks: even rows may not pick category 1, odd rows may only pick category 2.
            let single = build(cell, 1, 8, 3, &Space::discrete(3).unwrap(), 2);
            let mask: Vec<bool> = (0..rows)
                .flat_map(|r| {
                    if r % 2 == 0 {
                        [true, false, true]
                    } else {
                        [false, false, true]
                    }
                })
                .collect();
            let mask = Tensor::<B, 2, Bool>::from_data(TensorData::new(mask, [rows, 3]), &dev());
            let obs = Observation::new(x).with_action_mask(mask).unwrap();
            let out = single
                .forward(&obs, len, single.init_state(n, &dev()))
                .unwrap();
            let DefaultDist::Categorical(d) = &out.dist else {
                panic!("expected a categorical distribution")
            };
            let probs: Vec<f32> = host(d.log_probs()).iter().map(|lp| lp.exp()).collect();
            for r in 0..rows {
                let p = &probs[r * 3..r * 3 + 3];
                if r % 2 == 0 {
                    assert!(p[1] < 1e-6 && (p[0] - 0.5).abs() < 1e-2, "row {r}: {p:?}");
                } else {
                    assert!(
                        p[0] < 1e-6 && p[1] < 1e-6 && (p[2] - 1.0).abs() < 1e-6,
                        "row {r}: {p:?}"
                    );
                }
            }
            let mode = out.dist.mode().to_host_discrete().unwrap();
            for r in (1..rows).step_by(2) {
                assert_eq!(mode[r], 2);
            }
        }
    }
}
