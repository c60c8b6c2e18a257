//! Action distributions: [`Categorical`] (optionally masked), [`Normal`], [`SquashedNormal`]
//! and [`ClippedNormal`].
//!
//! # Shape convention
//!
//! One convention holds for every distribution in this module (it is rl8's):
//!
//! | what | shape |
//! |---|---|
//! | categorical logits | `[N, A, n]`: N samples, A independent action heads, n categories |
//! | normal mean and log-std | `[N, A]` |
//! | actions | `[N, A]` (`Int` for categorical, float otherwise) |
//! | `log_prob`, `entropy` | `[N, 1]`: summed over the A action elements |

use burn::tensor::{Tensor, backend::Backend};
use rand::Rng;

use crate::{Action, CoreError, Space};

/// A batch of N action distributions, one per row.
///
/// Sampling draws its noise on the host from the caller's random number generator, so a seeded
/// generator gives the same actions on every backend (up to float rounding in the logits).
pub trait Distribution<B: Backend> {
    /// Draws one action per row.
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Action<B>;
    /// The most likely action of each row (argmax for categorical, the mean for normal,
    /// `tanh(mean)` for squashed normal): what deterministic evaluation plays.
    fn mode(&self) -> Action<B>;
    /// Log-probability of `actions`, summed over action elements: `[N, 1]`.
    ///
    /// Fails if `actions` has the wrong kind (discrete vs continuous) or shape.
    fn log_prob(&self, actions: &Action<B>) -> Result<Tensor<B, 2>, CoreError>;
    /// [`log_prob`](Distribution::log_prob) of actions drawn by [`sample`](Distribution::sample)
    /// or [`mode`](Distribution::mode) of a distribution of the same
    /// [`action_shape`](Distribution::action_shape), which lie in its support by construction:
    /// kind and shape are checked, the values are not read back to be (a device
    /// synchronisation). The engine uses it for the actions it drew and stored. The default is
    /// `log_prob`; [`Categorical`] skips its range check.
    fn log_prob_of_drawn(&self, actions: &Action<B>) -> Result<Tensor<B, 2>, CoreError> {
        self.log_prob(actions)
    }
    /// Entropy of each row, summed over action elements: `[N, 1]`.
    fn entropy(&self) -> Tensor<B, 2>;
    /// Number of rows N.
    fn batch_size(&self) -> usize;
    /// What one row draws: categorical heads and their categories, or real numbers. The
    /// engine compares it with the environment's action space before it acts, so a policy
    /// whose output does not fit the actions (two categories for `Discrete(3)`) is an error
    /// instead of a policy that never plays the third action.
    fn action_shape(&self) -> ActionShape;
}

/// What one row of a [`Distribution`] draws ([`Distribution::action_shape`]).
///
/// ```
/// use rl_core::{ActionShape, Space};
///
/// let two = ActionShape::Categorical { heads: 1, categories: 2 };
/// assert!(two.fits(&Space::discrete(2)?));
/// assert!(!two.fits(&Space::discrete(3)?));
/// assert!(ActionShape::Continuous { dims: 6 }.fits(&Space::unbounded(vec![2, 3])?));
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionShape {
    /// `heads` independent categorical heads of `categories` categories each (logits
    /// `[N, heads, categories]`).
    Categorical {
        /// The number of heads A.
        heads: usize,
        /// The number of categories n of every head.
        categories: usize,
    },
    /// `dims` real numbers (mean `[N, dims]`).
    Continuous {
        /// The number of action elements A.
        dims: usize,
    },
}

impl ActionShape {
    /// Whether actions drawn with this shape are the actions of `space`: one head of `n`
    /// categories for `Discrete(n)`, one head per entry of `nvec` with the largest count for
    /// `MultiDiscrete(nvec)` (smaller heads are masked), the flat size for a `Box`.
    pub fn fits(&self, space: &Space) -> bool {
        match (*self, space) {
            (ActionShape::Categorical { heads, categories }, Space::Discrete { n }) => {
                heads == 1 && categories == *n
            }
            (ActionShape::Categorical { heads, categories }, Space::MultiDiscrete { nvec }) => {
                heads == nvec.len() && Some(&categories) == nvec.iter().max()
            }
            (ActionShape::Continuous { dims }, Space::Box { .. }) => dims == space.flat_dim(),
            _ => false,
        }
    }
}

impl std::fmt::Display for ActionShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionShape::Categorical { heads, categories } => {
                write!(f, "{heads} categorical head(s) of {categories}")
            }
            ActionShape::Continuous { dims } => write!(f, "{dims} continuous value(s)"),
        }
    }
}

mod categorical;
mod normal;

pub use categorical::Categorical;
pub use normal::{ClippedNormal, Normal, SquashedNormal};
