//! Action distributions: [`Categorical`] (optionally masked), [`Normal`] and [`SquashedNormal`].
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

use crate::{Action, CoreError};

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
    /// Entropy of each row, summed over action elements: `[N, 1]`.
    fn entropy(&self) -> Tensor<B, 2>;
    /// Number of rows N.
    fn batch_size(&self) -> usize;
}

mod categorical;
mod normal;

pub use categorical::Categorical;
pub use normal::{Normal, SquashedNormal};
