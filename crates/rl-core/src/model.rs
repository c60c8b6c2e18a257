//! Policy-and-value models: [`Model`] (feed-forward) and [`RecurrentModel`].
//!
//! # Shape conventions
//!
//! | what | shape |
//! |---|---|
//! | observation features | `[N, F]` (see [`Observation`]) |
//! | values | `[N, 1]` |
//! | distribution | N rows (see [`Distribution`](crate::Distribution)) |
//! | recurrent state tensors | `[N, X]` each |
//!
//! A recurrent model reads N sequences of `seq_len` steps laid out sequence-major: row
//! `n * seq_len + t` is step `t` of sequence `n`, so the batch has `N * seq_len` rows.

use burn::module::Module;
use burn::tensor::{
    Bool, Int, Tensor,
    backend::{AutodiffBackend, Backend},
};

use crate::host::{clamp_range, first_item};
use crate::{CoreError, Distribution, Observation, Result};

/// What a [`Model`] returns for N observations.
#[derive(Clone, Debug)]
pub struct PolicyOutput<B: Backend, D> {
    /// The action distribution, N rows.
    pub dist: D,
    /// The value estimates, `[N, 1]`.
    pub values: Tensor<B, 2>,
}

/// A feed-forward policy-and-value model: one forward pass gives the action distribution and
/// the value estimate of each observation.
pub trait Model<B: Backend>: Module<B> {
    /// The action distribution the policy outputs.
    type Dist: Distribution<B>;

    /// The distribution (N rows) and values (`[N, 1]`) for a batch of N observations.
    ///
    /// # Errors
    /// When the observation does not fit the model (e.g. an action mask of the wrong width):
    /// models never panic on input they can reject.
    fn forward(&self, obs: &Observation<B>) -> Result<PolicyOutput<B, Self::Dist>>;
}

/// The hidden state of a [`RecurrentModel`] for N sequences: a list of `[N, X]` tensors
/// (e.g. an LSTM's `h` and `c`, each flattened over layers to `[N, layers * hidden]`).
///
/// All tensors share N; the batch operations apply to every tensor along N.
#[derive(Clone, Debug)]
pub struct RecurrentState<B: Backend> {
    /// The state tensors, each `[N, X]`.
    pub tensors: Vec<Tensor<B, 2>>,
}

impl<B: Backend> RecurrentState<B> {
    /// A state made of the given `[N, X]` tensors.
    pub fn new(tensors: Vec<Tensor<B, 2>>) -> Self {
        Self { tensors }
    }

    /// The batch size N (0 for a state without tensors).
    pub fn batch_size(&self) -> usize {
        self.tensors.first().map_or(0, |t| t.dims()[0])
    }

    /// The rows `indices` of every tensor.
    ///
    /// As with [`Tensor::select`], every index must be below N; out-of-range indices are not
    /// checked (that would need a device read) and their result depends on the backend.
    pub fn select(&self, indices: Tensor<B, 1, Int>) -> Self {
        self.map(|t| t.select(0, indices.clone()))
    }

    /// The rows `range` of every tensor, clamped to `0..N` (like slicing in NumPy or PyTorch).
    pub fn slice_rows(&self, range: core::ops::Range<usize>) -> Self {
        let range = clamp_range(range, self.batch_size());
        self.map(|t| t.slice_dim(0, range.clone()))
    }

    /// The same state cut from the autodiff graph (for truncated backpropagation through
    /// time).
    pub fn detach(&self) -> Self {
        self.map(Tensor::detach)
    }

    fn map(&self, f: impl FnMut(Tensor<B, 2>) -> Tensor<B, 2>) -> Self {
        Self {
            tensors: self.tensors.iter().cloned().map(f).collect(),
        }
    }

    /// The widths X of the tensors.
    fn widths(&self) -> Vec<usize> {
        self.tensors.iter().map(|t| t.dims()[1]).collect()
    }

    fn check_rows(&self, what: &str) -> Result<()> {
        let n = self.batch_size();
        match self.tensors.iter().position(|t| t.dims()[0] != n) {
            Some(i) => Err(CoreError::Shape {
                what: format!("{what}: state tensor {i}"),
                expected: format!("[{n}, X] like state tensor 0"),
                actual: self.tensors[i].dims().to_vec(),
            }),
            None => Ok(()),
        }
    }

    fn check_same_layout(&self, other: &Self, what: &str) -> Result<()> {
        if other.widths() != self.widths() {
            return Err(CoreError::Shape {
                what: format!("{what}: state tensor widths"),
                expected: format!("{:?}", self.widths()),
                actual: other.widths(),
            });
        }
        Ok(())
    }

    /// Concatenates states along N. All items must hold the same number of tensors with the
    /// same widths; fails on an empty `items`.
    pub fn cat(items: Vec<Self>) -> Result<Self> {
        let first = first_item(&items, "RecurrentState::cat")?;
        for (i, item) in items.iter().enumerate() {
            let what = format!("RecurrentState::cat: item {i}");
            first.check_same_layout(item, &what)?;
            item.check_rows(&what)?;
        }
        let mut columns: Vec<Vec<Tensor<B, 2>>> =
            vec![Vec::with_capacity(items.len()); first.tensors.len()];
        for item in items {
            for (column, t) in columns.iter_mut().zip(item.tensors) {
                column.push(t);
            }
        }
        Ok(Self {
            tensors: columns.into_iter().map(|c| Tensor::cat(c, 0)).collect(),
        })
    }

    /// Replaces the rows where `reset` (`[N]`) is true with the rows of `init`: the state at
    /// the start of a new episode.
    ///
    /// `init` must hold tensors of the same widths, with N rows or a single row (used for
    /// every reset row, e.g. `init_state(1, ..)`). Fails with [`CoreError::Shape`] otherwise.
    pub fn reset_rows(&self, reset: Tensor<B, 1, Bool>, init: &Self) -> Result<Self> {
        let what = "RecurrentState::reset_rows";
        let n = self.batch_size();
        if reset.dims() != [n] {
            return Err(CoreError::Shape {
                what: format!("{what}: reset"),
                expected: format!("[{n}] like the state"),
                actual: reset.dims().to_vec(),
            });
        }
        self.check_rows(what)?;
        self.check_same_layout(init, what)?;
        init.check_rows(what)?;
        let init_rows = init.batch_size();
        if !init.tensors.is_empty() && init_rows != n && init_rows != 1 {
            return Err(CoreError::Shape {
                what: format!("{what}: init"),
                expected: format!("[{n}, X] or [1, X]"),
                actual: vec![init_rows],
            });
        }
        let mask = rl_functional::reshape(reset, [n, 1]);
        let tensors = self
            .tensors
            .iter()
            .zip(&init.tensors)
            .map(|(t, i)| {
                let [_, x] = t.dims();
                t.clone()
                    .mask_where(mask.clone().expand([n, x]), i.clone().expand([n, x]))
            })
            .collect();
        Ok(Self { tensors })
    }
}

impl<B: AutodiffBackend> RecurrentState<B> {
    /// Moves a state of the inner (non-autodiff) backend onto the autodiff backend.
    pub fn from_inner(state: RecurrentState<B::InnerBackend>) -> Self {
        Self {
            tensors: state.tensors.into_iter().map(Tensor::from_inner).collect(),
        }
    }

    /// The same state on the inner (non-autodiff) backend, detached from the graph.
    pub fn inner(&self) -> RecurrentState<B::InnerBackend> {
        RecurrentState {
            tensors: self.tensors.iter().cloned().map(Tensor::inner).collect(),
        }
    }
}

/// What a [`RecurrentModel`] returns for N sequences of `seq_len` steps.
#[derive(Clone, Debug)]
pub struct RecurrentOutput<B: Backend, D> {
    /// The action distribution, `N * seq_len` rows (sequence-major).
    pub dist: D,
    /// The value estimates, `[N * seq_len, 1]` (sequence-major).
    pub values: Tensor<B, 2>,
    /// The state after each sequence's last step, N rows.
    pub state: RecurrentState<B>,
}

/// A recurrent policy-and-value model that carries a [`RecurrentState`] across steps.
pub trait RecurrentModel<B: Backend>: Module<B> {
    /// The action distribution the policy outputs.
    type Dist: Distribution<B>;

    /// The initial (start-of-episode) state of `batch_size` sequences.
    fn init_state(&self, batch_size: usize, device: &B::Device) -> RecurrentState<B>;

    /// Runs N sequences of `seq_len` steps.
    ///
    /// `obs` has `N * seq_len` rows, sequence-major (row `n * seq_len + t` is step `t` of
    /// sequence `n`); `state` is each sequence's state before its first step (N rows).
    /// Returns the distribution and values for all `N * seq_len` rows and the state after
    /// each sequence's last step. Acting in an environment is the case `seq_len = 1`.
    ///
    /// # Errors
    /// When the observation or state does not fit the model, e.g. a row count that is not
    /// `N * seq_len`.
    fn forward(
        &self,
        obs: &Observation<B>,
        seq_len: usize,
        state: RecurrentState<B>,
    ) -> Result<RecurrentOutput<B, Self::Dist>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;
    use crate::host::read_f32;
    use burn::backend::{Autodiff, NdArray};
    use burn::nn::{Linear, LinearConfig};
    use rand::Rng;

    type B = NdArray<f32>;

    fn dev() -> burn::tensor::ops::Device<B> {
        Default::default()
    }

    fn floats(t: Tensor<B, 2>) -> Vec<f32> {
        read_f32(t, "test").unwrap()
    }

    fn rows(n: usize, x: usize, offset: f32) -> Tensor<B, 2> {
        let v: Vec<f32> = (0..n * x).map(|i| i as f32 + offset).collect();
        Tensor::<B, 1>::from_floats(v.as_slice(), &dev()).reshape([n, x])
    }

    fn state(n: usize, offset: f32) -> RecurrentState<B> {
        RecurrentState::new(vec![rows(n, 2, offset), rows(n, 1, offset + 100.0)])
    }

    #[test]
    fn batch_ops_apply_to_every_tensor() {
        let s = state(3, 0.0);
        assert_eq!(s.batch_size(), 3);
        assert_eq!(RecurrentState::<B>::new(vec![]).batch_size(), 0);
        let picked = s.select(Tensor::<B, 1, Int>::from_ints([2, 0], &dev()));
        assert_eq!(floats(picked.tensors[0].clone()), vec![4.0, 5.0, 0.0, 1.0]);
        assert_eq!(floats(picked.tensors[1].clone()), vec![102.0, 100.0]);
        let sliced = s.slice_rows(1..9);
        assert_eq!(sliced.batch_size(), 2);
        assert_eq!(floats(sliced.tensors[1].clone()), vec![101.0, 102.0]);
        let joined = RecurrentState::cat(vec![s.slice_rows(2..3), s.slice_rows(0..2)]).unwrap();
        assert_eq!(floats(joined.tensors[1].clone()), vec![102.0, 100.0, 101.0]);
    }

    #[test]
    fn cat_checks_layout() {
        let s = state(2, 0.0);
        let other = RecurrentState::new(vec![rows(2, 2, 0.0)]);
        assert!(matches!(
            RecurrentState::cat(vec![s.clone(), other]),
            Err(CoreError::Shape { .. })
        ));
        let wide = RecurrentState::new(vec![rows(2, 3, 0.0), rows(2, 1, 0.0)]);
        assert!(RecurrentState::cat(vec![s, wide]).is_err());
        assert!(RecurrentState::<B>::cat(vec![]).is_err());
    }

    #[test]
    fn reset_rows_takes_init_rows() {
        let s = state(3, 0.0);
        let reset = Tensor::<B, 1, Bool>::from_bool([false, true, false].into(), &dev());
        let init = state(3, 50.0);
        let out = s.reset_rows(reset.clone(), &init).unwrap();
        assert_eq!(
            floats(out.tensors[0].clone()),
            vec![0.0, 1.0, 52.0, 53.0, 4.0, 5.0]
        );
        assert_eq!(floats(out.tensors[1].clone()), vec![100.0, 151.0, 102.0]);

        // A single init row is used for every reset row.
        let zeros = RecurrentState::new(vec![
            Tensor::<B, 2>::zeros([1, 2], &dev()),
            Tensor::<B, 2>::zeros([1, 1], &dev()),
        ]);
        let all = Tensor::<B, 1, Bool>::from_bool([true, false, true].into(), &dev());
        let out = s.reset_rows(all, &zeros).unwrap();
        assert_eq!(
            floats(out.tensors[0].clone()),
            vec![0.0, 0.0, 2.0, 3.0, 0.0, 0.0]
        );

        assert!(matches!(
            s.reset_rows(
                Tensor::<B, 1, Bool>::from_bool([true].into(), &dev()),
                &init
            ),
            Err(CoreError::Shape { .. })
        ));
        assert!(s.reset_rows(reset.clone(), &state(2, 0.0)).is_err());
        let narrow = RecurrentState::new(vec![rows(3, 2, 0.0)]);
        assert!(s.reset_rows(reset, &narrow).is_err());
    }

    #[test]
    fn autodiff_round_trip_and_detach() {
        type A = Autodiff<B>;
        let s = RecurrentState::<A>::from_inner(state(2, 0.0));
        assert_eq!(floats(s.inner().tensors[1].clone()), vec![100.0, 101.0]);

        let x = s.tensors[0].clone().require_grad();
        let tracked = RecurrentState::new(vec![x.clone() * 2.0]);
        let grads = tracked.tensors[0].clone().sum().backward();
        assert!(x.grad(&grads).is_some());
        let grads = tracked.detach().tensors[0].clone().sum().backward();
        assert!(x.grad(&grads).is_none());
    }

    /// A distribution that always plays its stored mean: enough to implement the traits.
    #[derive(Clone, Debug)]
    struct PointMass {
        mean: Tensor<B, 2>,
    }

    impl Distribution<B> for PointMass {
        fn sample<R: Rng + ?Sized>(&self, _rng: &mut R) -> Action<B> {
            Action::Continuous(self.mean.clone())
        }
        fn mode(&self) -> Action<B> {
            Action::Continuous(self.mean.clone())
        }
        fn log_prob(&self, actions: &Action<B>) -> Result<Tensor<B, 2>> {
            let a = actions.as_continuous()?;
            Ok(a.clone().zeros_like().sum_dim(1))
        }
        fn entropy(&self) -> Tensor<B, 2> {
            self.mean.clone().zeros_like().sum_dim(1)
        }
        fn batch_size(&self) -> usize {
            self.mean.dims()[0]
        }
    }

    #[derive(Module, Debug)]
    struct TinyModel<B: Backend> {
        policy: Linear<B>,
        value: Linear<B>,
    }

    impl Model<B> for TinyModel<B> {
        type Dist = PointMass;
        fn forward(&self, obs: &Observation<B>) -> Result<PolicyOutput<B, PointMass>> {
            Ok(PolicyOutput {
                dist: PointMass {
                    mean: self.policy.forward(obs.features.clone()),
                },
                values: self.value.forward(obs.features.clone()),
            })
        }
    }

    #[test]
    fn a_model_can_be_implemented() {
        let model = TinyModel::<B> {
            policy: LinearConfig::new(3, 2).init(&dev()),
            value: LinearConfig::new(3, 1).init(&dev()),
        };
        let out = model
            .forward(&Observation::new(Tensor::zeros([5, 3], &dev())))
            .unwrap();
        assert_eq!(out.values.dims(), [5, 1]);
        assert_eq!(out.dist.batch_size(), 5);
        assert_eq!(out.dist.mode().dims(), [5, 2]);
        let lp = out.dist.log_prob(&out.dist.mode()).unwrap();
        assert_eq!(lp.dims(), [5, 1]);
    }
}
