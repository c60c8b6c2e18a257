//! Reading tensors back to the host.
//!
//! The recursions of this crate (GAE, TD(lambda), V-trace) run as one scan over host memory
//! instead of T small tensor ops: see the repository's `benches/gae.rs` for the measurements
//! behind that choice. These readers are public so that other crates read tensors the same
//! (fast) way; `function` and `argument` name the caller and the tensor in the error.

use burn::tensor::{
    Bool, Element, Int, Tensor, TensorData,
    backend::{Backend, ExecutionError},
};

use crate::{Error, Result};

thread_local! {
    /// The reads this thread has made through this module.
    static READS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
}

/// How many tensors this thread has read back to the host through this module so far. Every
/// crate of the workspace reads through here, so the difference of two calls counts the
/// device-to-host reads (synchronisations on a GPU) of the code in between: the tests pin the
/// engine's reads per collect and per update with it.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rl_functional::host::{read_f32, reads};
///
/// let before = reads();
/// let x = Tensor::<NdArray, 1>::from_floats([1.0, 2.0], &Default::default());
/// read_f32(x, "example", "x").unwrap();
/// assert_eq!(reads() - before, 1);
/// ```
pub fn reads() -> u64 {
    READS.with(core::cell::Cell::get)
}

/// Reads a float tensor back to the host as row-major `f32`s.
///
/// # Errors
/// If the backend fails to read the tensor.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Bool, Int, Tensor};
/// use rl_functional::host::{read_bool, read_f32, read_i64};
///
/// let d = Default::default();
/// let x = Tensor::<NdArray, 2>::from_floats([[1.0, -0.0]], &d);
/// assert_eq!(read_f32(x, "example", "x").unwrap(), vec![1.0, -0.0]);
/// let i = Tensor::<NdArray, 1, Int>::from_ints([3, -1], &d);
/// assert_eq!(read_i64(i, "example", "i").unwrap(), vec![3, -1]);
/// let b = Tensor::<NdArray, 1, Bool>::from_data([true, false], &d);
/// assert_eq!(read_bool(b, "example", "b").unwrap(), vec![true, false]);
/// ```
pub fn read_f32<B: Backend, const D: usize>(
    tensor: Tensor<B, D>,
    function: &'static str,
    argument: &'static str,
) -> Result<Vec<f32>> {
    READS.with(|r| r.set(r.get() + 1));
    // burn-ndarray 0.21 copies a tensor whose buffer is shared (the caller kept a clone) one
    // element at a time through a dynamic-rank iterator, about 30 ns per element; the result of
    // any elementwise op owns its buffer and is moved out instead (100x faster on [8192, 33]).
    // Multiplying by 1 is exact for every value, NaN, infinities and -0 included.
    into_vec(tensor.mul_scalar(1.0).try_into_data(), function, argument)
}

/// The values of a finished read as `E`s, or the read's error.
fn into_vec<E: Element>(
    data: core::result::Result<TensorData, ExecutionError>,
    function: &'static str,
    argument: &'static str,
) -> Result<Vec<E>> {
    let error = |message: String| Error::Read {
        function,
        argument,
        message,
    };
    data.map_err(|e| error(format!("{e:?}")))?
        .convert::<E>()
        .into_vec::<E>()
        .map_err(|e| error(format!("{e:?}")))
}

/// Reads a bool tensor back to the host, row-major.
///
/// # Errors
/// If the backend fails to read the tensor.
pub fn read_bool<B: Backend, const D: usize>(
    tensor: Tensor<B, D, Bool>,
    function: &'static str,
    argument: &'static str,
) -> Result<Vec<bool>> {
    Ok(read_f32(tensor.float(), function, argument)?
        .into_iter()
        .map(|v| v != 0.0)
        .collect())
}

/// Reads an int tensor back to the host as row-major `i64`s.
///
/// # Errors
/// If the backend fails to read the tensor.
pub fn read_i64<B: Backend, const D: usize>(
    tensor: Tensor<B, D, Int>,
    function: &'static str,
    argument: &'static str,
) -> Result<Vec<i64>> {
    READS.with(|r| r.set(r.get() + 1));
    // See `read_f32` for why the multiplication.
    into_vec(tensor.mul_scalar(1).try_into_data(), function, argument)
}

/// Builds a float tensor from host values.
pub(crate) fn upload<B: Backend, const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Fails unless `actual == expected`.
pub(crate) fn expect_shape(
    function: &'static str,
    argument: &'static str,
    actual: &[usize],
    expected: &[usize],
) -> Result<()> {
    if actual == expected {
        Ok(())
    } else {
        Err(Error::Shape {
            function,
            argument,
            actual: actual.to_vec(),
            expected: format!("{expected:?}"),
        })
    }
}

/// Fails unless `value` lies in `[low, high]` (and is not NaN).
pub(crate) fn expect_range(
    function: &'static str,
    argument: &'static str,
    value: f32,
    low: f32,
    high: f32,
    rule: &'static str,
) -> Result<()> {
    if value >= low && value <= high {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            function,
            argument,
            value: value.to_string(),
            rule,
        })
    }
}
