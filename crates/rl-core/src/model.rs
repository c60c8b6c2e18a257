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
