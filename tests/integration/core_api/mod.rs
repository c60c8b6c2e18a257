//! rl-core's tests that use Burn tensors, here rather than in the crate so that the backend's
//! code is compiled once, with the other integration tests. (Tests of private helpers stay in
//! the crate.)

mod action;
mod categorical;
mod dummy;
mod env;
mod model;
mod normal;
mod observation;

use burn::tensor::{Bool, DataError, Tensor, backend::Backend};

/// The values of a float tensor (`what` names it in the tests' calls, as rl-core's own reader
/// does).
fn read_f32<B: Backend, const D: usize>(
    t: Tensor<B, D>,
    _what: &str,
) -> Result<Vec<f32>, DataError> {
    t.into_data().to_vec::<f32>()
}

/// The values of a bool tensor.
fn read_bool<B: Backend, const D: usize>(
    t: Tensor<B, D, Bool>,
    _what: &str,
) -> Result<Vec<bool>, DataError> {
    t.into_data().to_vec::<bool>()
}
