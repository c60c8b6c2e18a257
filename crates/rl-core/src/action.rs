//! Batched actions.

use burn::tensor::{
    Int, Tensor,
    backend::{AutodiffBackend, Backend},
};

use crate::host::{clamp_range, first_item, read_f32, read_i64};
use crate::{CoreError, Result};

/// A batch of N actions of A elements each, `[N, A]`.
///
/// Discrete actions hold category indices (one per action head); continuous actions hold
/// real values.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::Action;
///
/// let device = Default::default();
/// let action: Action<NdArray> = Tensor::<NdArray, 2, Int>::from_ints([[1], [0], [1]], &device).into();
/// assert_eq!(action.batch_size(), 3);
/// assert_eq!(action.kind_name(), "discrete");
/// assert_eq!(action.to_host_discrete()?, vec![1, 0, 1]);
/// assert!(action.as_continuous().is_err());
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Clone, Debug)]
pub enum Action<B: Backend> {
    /// Category indices, `[N, A]`.
    Discrete(Tensor<B, 2, Int>),
    /// Real values, `[N, A]`.
    Continuous(Tensor<B, 2>),
}

impl<B: Backend> Action<B> {
    /// The shape `[N, A]`.
    pub fn dims(&self) -> [usize; 2] {
        match self {
            Self::Discrete(t) => t.dims(),
            Self::Continuous(t) => t.dims(),
        }
    }

    /// The batch size N.
    pub fn batch_size(&self) -> usize {
        self.dims()[0]
    }

    /// `"discrete"` or `"continuous"`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Discrete(_) => "discrete",
            Self::Continuous(_) => "continuous",
        }
    }

    /// The discrete actions; fails with [`CoreError::ActionKind`] for continuous ones.
    pub fn as_discrete(&self) -> Result<&Tensor<B, 2, Int>> {
        match self {
            Self::Discrete(t) => Ok(t),
            Self::Continuous(_) => Err(CoreError::ActionKind {
                expected: "discrete",
                actual: "continuous",
            }),
        }
    }

    /// The continuous actions; fails with [`CoreError::ActionKind`] for discrete ones.
    pub fn as_continuous(&self) -> Result<&Tensor<B, 2>> {
        match self {
            Self::Continuous(t) => Ok(t),
            Self::Discrete(_) => Err(CoreError::ActionKind {
                expected: "continuous",
                actual: "discrete",
            }),
        }
    }

    /// The rows `indices`.
    ///
    /// As with [`Tensor::select`], every index must be below N; out-of-range indices are not
    /// checked (that would need a device read) and their result depends on the backend.
    pub fn select(&self, indices: Tensor<B, 1, Int>) -> Self {
        match self {
            Self::Discrete(t) => Self::Discrete(t.clone().select(0, indices)),
            Self::Continuous(t) => Self::Continuous(t.clone().select(0, indices)),
        }
    }

    /// The rows `range`, clamped to `0..N` (like slicing in NumPy or PyTorch).
    pub fn slice_rows(&self, range: core::ops::Range<usize>) -> Self {
        let range = clamp_range(range, self.batch_size());
        match self {
            Self::Discrete(t) => Self::Discrete(t.clone().slice_dim(0, range)),
            Self::Continuous(t) => Self::Continuous(t.clone().slice_dim(0, range)),
        }
    }

    /// Concatenates actions along N.
    ///
    /// Fails with [`CoreError::ActionKind`] if the kinds differ, and with [`CoreError::Shape`]
    /// if `items` is empty or the widths A differ.
    pub fn cat(items: Vec<Self>) -> Result<Self> {
        let first = first_item(&items, "Action::cat")?;
        let (kind, width) = (first.kind_name(), first.dims()[1]);
        for (i, item) in items.iter().enumerate() {
            if item.kind_name() != kind {
                return Err(CoreError::ActionKind {
                    expected: kind,
                    actual: item.kind_name(),
                });
            }
            if item.dims()[1] != width {
                return Err(CoreError::Shape {
                    what: format!("Action::cat: item {i}"),
                    expected: format!("[N, {width}] like item 0"),
                    actual: item.dims().to_vec(),
                });
            }
        }
        let mut discrete = Vec::new();
        let mut continuous = Vec::new();
        for item in items {
            match item {
                Self::Discrete(t) => discrete.push(t),
                Self::Continuous(t) => continuous.push(t),
            }
        }
        // All items have the first item's kind (checked above), so exactly one list is filled.
        Ok(if continuous.is_empty() {
            Self::Discrete(Tensor::cat(discrete, 0))
        } else {
            Self::Continuous(Tensor::cat(continuous, 0))
        })
    }

    /// Reads discrete actions back to the host, row-major. Fails for continuous actions.
    pub fn to_host_discrete(&self) -> Result<Vec<i64>> {
        read_i64(self.as_discrete()?.clone(), "discrete action")
    }

    /// Reads continuous actions back to the host, row-major. Fails for discrete actions.
    pub fn to_host_continuous(&self) -> Result<Vec<f32>> {
        read_f32(self.as_continuous()?.clone(), "continuous action")
    }
}

impl<B: AutodiffBackend> Action<B> {
    /// Moves actions of the inner (non-autodiff) backend onto the autodiff backend.
    pub fn from_inner(action: Action<B::InnerBackend>) -> Self {
        match action {
            Action::Discrete(t) => Self::Discrete(Tensor::from_inner(t)),
            Action::Continuous(t) => Self::Continuous(Tensor::from_inner(t)),
        }
    }

    /// The same actions on the inner (non-autodiff) backend, detached from the graph.
    pub fn inner(&self) -> Action<B::InnerBackend> {
        match self {
            Self::Discrete(t) => Action::Discrete(t.clone().inner()),
            Self::Continuous(t) => Action::Continuous(t.clone().inner()),
        }
    }
}

impl<B: Backend> From<Tensor<B, 2, Int>> for Action<B> {
    fn from(t: Tensor<B, 2, Int>) -> Self {
        Self::Discrete(t)
    }
}

impl<B: Backend> From<Tensor<B, 2>> for Action<B> {
    fn from(t: Tensor<B, 2>) -> Self {
        Self::Continuous(t)
    }
}
