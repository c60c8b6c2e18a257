//! A reshape that is correct for strided views on every backend.

use burn::tensor::{BasicOps, Tensor, backend::Backend};

/// `tensor.reshape(shape)`, going through a flat 1-D view first.
///
/// Burn 0.21's wgpu backend computes wrong strides when it reshapes a non-contiguous view whose
/// shape has a size-1 dimension (for example a transposed `[1, 4]` reshaped to `[4, 1, 1]`
/// reads `[x0, 0, 0, 0]`); flattening first avoids it. On contiguous tensors both steps only
/// change metadata. Use this for any tensor a caller may have transposed or sliced.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let x = Tensor::<NdArray, 2>::from_floats([[0.5, 1.5, 2.5]], &Default::default());
/// let y: Tensor<NdArray, 3> = rl_functional::reshape(x.swap_dims(0, 1), [3, 1, 1]);
/// assert_eq!(y.into_data().to_vec::<f32>().unwrap(), vec![0.5, 1.5, 2.5]);
/// ```
pub fn reshape<B: Backend, const D: usize, const D2: usize, K: BasicOps<B>>(
    tensor: Tensor<B, D, K>,
    shape: [usize; D2],
) -> Tensor<B, D2, K> {
    let n = tensor.shape().num_elements();
    tensor.reshape([n]).reshape(shape)
}
