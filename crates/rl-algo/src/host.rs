//! Every read from the device to the host that this crate makes goes through here (and on to
//! `rl_functional::host`, which counts them: each is a synchronisation on a GPU).
//! `docs/concepts.md` lists them and why each is needed; the engine's tests pin the count per
//! collect and per `step()`.

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use crate::error::Result;

/// The device-to-host reads this thread has made so far, through any crate of the workspace.
#[cfg(test)]
pub(crate) fn reads() -> u64 {
    rl_functional::host::reads()
}

/// Reads a float tensor back as row-major `f32`s (`what` names it in the error).
pub(crate) fn read_f32<B: Backend, const D: usize>(
    tensor: Tensor<B, D>,
    what: &'static str,
) -> Result<Vec<f32>> {
    Ok(rl_functional::host::read_f32(tensor, "rl-algo", what)?)
}
