//! Every read from the device to the host that this crate makes goes through here, so that they
//! are counted: each is a synchronisation on a GPU. `docs/concepts.md` lists them and why each
//! is needed; the engine's tests pin the count per collect and per `step()`.

use std::cell::Cell;

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor};

use crate::error::Result;

thread_local! {
    /// Reads made by this thread so far.
    static READS: Cell<u64> = const { Cell::new(0) };
}

/// The device-to-host reads this thread has made through this module so far.
#[cfg(test)]
pub(crate) fn reads() -> u64 {
    READS.with(Cell::get)
}

fn count() {
    READS.with(|r| r.set(r.get() + 1));
}

/// Reads a float tensor back as row-major `f32`s (`what` names it in the error).
pub(crate) fn read_f32<B: Backend, const D: usize>(
    tensor: Tensor<B, D>,
    what: &'static str,
) -> Result<Vec<f32>> {
    count();
    Ok(rl_functional::host::read_f32(tensor, "rl-algo", what)?)
}

/// Reads a bool tensor back (`what` names it in the error).
pub(crate) fn read_bool<B: Backend, const D: usize>(
    tensor: Tensor<B, D, Bool>,
    what: &'static str,
) -> Result<Vec<bool>> {
    count();
    Ok(rl_functional::host::read_bool(tensor, "rl-algo", what)?)
}
