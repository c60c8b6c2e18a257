//! Masked operations and mask helpers with rl8's semantics.
//!
//! Masks here are float tensors where 1 (or any positive weight) means *valid* and 0 means
//! *masked*; pass a bool mask as `mask.float()`. A mask of lower rank than `x` is broadcast by
//! appending trailing dims of size 1 (rl8 unsqueezes at the end): a `[B, T]` mask on a
//! `[B, T, F]` input masks whole `(b, t)` rows.
//!
//! Masked logits get `clamp(ln(mask), f32::MIN, f32::MAX)` added, a *finite* minimum rather than
//! `-inf`, so entropies and gradients stay finite. A fully masked row therefore becomes uniform.

use burn::tensor::{Bool, Int, Tensor, activation::log_softmax, backend::Backend};
use rand::Rng;

use crate::host::upload;
use crate::{Error, Result};

/// Reshapes a rank-DM mask to rank D by appending size-1 dims, so it broadcasts against `x`.
fn broadcast_mask<B: Backend, const DM: usize, const D: usize>(
    function: &'static str,
    mask: Tensor<B, DM>,
    x_dims: [usize; D],
) -> Result<Tensor<B, D>> {
    let m = mask.dims();
    if DM > D || m[..] != x_dims[..DM] {
        return Err(Error::Shape {
            function,
            argument: "mask",
            actual: m.to_vec(),
            expected: format!("a prefix of x's shape {x_dims:?}"),
        });
    }
    let mut shape = [1usize; D];
    shape[..DM].copy_from_slice(&m);
    Ok(crate::reshape(mask, shape))
}

fn check_dim<const D: usize>(function: &'static str, dim: usize) -> Result<()> {
    if dim < D {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            function,
            argument: "dim",
            value: dim.to_string(),
            rule: "must be less than the rank of x",
        })
    }
}

/// `x + clamp(ln(mask), f32::MIN, f32::MAX)`: rl8's additive mask.
fn apply_additive_mask<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    mask: Tensor<B, D>,
) -> Tensor<B, D> {
    x + mask.log().clamp(f32::MIN, f32::MAX)
}

const FN_LSM: &str = "masked_log_softmax";

/// Log-softmax along `dim` with masked entries pushed to (about) `f32::MIN`.
///
/// `log_softmax(x + clamp(ln(mask), f32::MIN, f32::MAX), dim)`. Fractional masks act as
/// multiplicative probability weights; a fully masked slice comes out uniform, `-ln n`.
///
/// # Errors
/// If `mask`'s shape is not a prefix of `x`'s or `dim` is out of range.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let d = Default::default();
/// let x = Tensor::<NdArray, 2>::from_floats([[0.0, 0.0, 5.0]], &d);
/// let mask = Tensor::<NdArray, 2>::from_floats([[1.0, 1.0, 0.0]], &d);
/// let y: Vec<f32> = rl_functional::masked_log_softmax(x, Some(mask), 1).unwrap().into_data().to_vec().unwrap();
/// assert!((y[0] + 2f32.ln()).abs() < 1e-6 && y[2] < -1e38);
/// ```
pub fn masked_log_softmax<B: Backend, const D: usize, const DM: usize>(
    x: Tensor<B, D>,
    mask: Option<Tensor<B, DM>>,
    dim: usize,
) -> Result<Tensor<B, D>> {
    check_dim::<D>(FN_LSM, dim)?;
    let x = match mask {
        Some(m) => {
            let m = broadcast_mask(FN_LSM, m, x.dims())?;
            apply_additive_mask(x, m)
        }
        None => x,
    };
    Ok(log_softmax(x, dim))
}

const FN_SAMPLE: &str = "masked_categorical_sample";

/// Samples one category along `dim` from the logits `x`, never a masked one unless the whole
/// slice is masked (then uniformly, as rl8).
///
/// Returns `(values, indices)`, both shaped like `x` with `dim` reduced to 1: the masked logit
/// at the sampled index and the index. The noise comes from `rng` (Gumbel-max over the masked
/// log-softmax), so a seeded generator gives the same draws on every backend.
///
/// rl8 samples along the last dim but gathers along `dim`, which is wrong unless `dim` is the
/// last one; this function samples and gathers along `dim`.
///
/// # Errors
/// If `mask`'s shape is not a prefix of `x`'s or `dim` is out of range.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let d = Default::default();
/// let x = Tensor::<NdArray, 2>::zeros([2, 3], &d);
/// let mask = Tensor::<NdArray, 2>::from_floats([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], &d);
/// let mut rng = StdRng::seed_from_u64(0);
/// let (_, idx) = rl_functional::masked_categorical_sample(x, Some(mask), 1, &mut rng).unwrap();
/// assert_eq!(idx.into_data().convert::<i64>().to_vec::<i64>().unwrap(), vec![1, 2]);
/// ```
pub fn masked_categorical_sample<B: Backend, const D: usize, const DM: usize, R: Rng + ?Sized>(
    x: Tensor<B, D>,
    mask: Option<Tensor<B, DM>>,
    dim: usize,
    rng: &mut R,
) -> Result<(Tensor<B, D>, Tensor<B, D, Int>)> {
    check_dim::<D>(FN_SAMPLE, dim)?;
    let dims = x.dims();
    let x = match mask {
        Some(m) => {
            let m = broadcast_mask(FN_SAMPLE, m, dims)?;
            apply_additive_mask(x, m)
        }
        None => x,
    };
    let noise = gumbel_noise::<B, D, R>(dims, &x.device(), rng);
    let indices = (log_softmax(x.clone(), dim) + noise).argmax(dim);
    let values = x.gather(dim, indices.clone());
    Ok((values, indices))
}

/// Standard Gumbel noise `-ln(-ln(u))`, `u` uniform on the open interval (0, 1), drawn on the
/// host from `rng`. `argmax(logits + noise)` is a sample of the categorical distribution.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let g = rl_functional::gumbel_noise::<NdArray, 1, _>([10_000], &Default::default(), &mut StdRng::seed_from_u64(0));
/// let mean = g.mean().into_scalar(); // the Euler-Mascheroni constant, 0.5772...
/// assert!((mean - 0.5772).abs() < 0.05);
/// ```
pub fn gumbel_noise<B: Backend, const D: usize, R: Rng + ?Sized>(
    shape: [usize; D],
    device: &B::Device,
    rng: &mut R,
) -> Tensor<B, D> {
    let n: usize = shape.iter().product();
    let noise = (0..n)
        .map(|_| {
            // 24 random bits, centred in their bucket: u in (0, 1), never 0 or 1.
            let u = ((rng.next_u32() >> 8) as f32 + 0.5) / (1u32 << 24) as f32;
            -(-u.ln()).ln()
        })
        .collect();
    upload(noise, shape, device)
}

/// Standard normal noise drawn on the host from `rng` (Box-Muller on 24-bit uniforms).
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let z = rl_functional::normal_noise::<NdArray, 1, _>([10_000], &Default::default(), &mut StdRng::seed_from_u64(0));
/// assert!(z.clone().mean().into_scalar().abs() < 0.05);
/// assert!((z.powi_scalar(2).mean().into_scalar() - 1.0).abs() < 0.05);
/// ```
pub fn normal_noise<B: Backend, const D: usize, R: Rng + ?Sized>(
    shape: [usize; D],
    device: &B::Device,
    rng: &mut R,
) -> Tensor<B, D> {
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let u1 = ((rng.next_u32() >> 8) as f64 + 0.5) / (1u32 << 24) as f64;
        let u2 = (rng.next_u32() >> 8) as f64 / (1u32 << 24) as f64;
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * core::f64::consts::PI * u2;
        out.push((r * theta.cos()) as f32);
        out.push((r * theta.sin()) as f32);
    }
    out.truncate(n);
    upload(out, shape, device)
}

const FN_AVG: &str = "masked_avg";

/// Weighted mean along `dim`: `sum(mask * x) / sum(mask)`, keeping `dim` as size 1 (squeeze it
/// if you need rl8's `keepdim=False`). Without a mask, the plain mean. A non-binary mask gives a
/// weighted average; a fully masked slice gives NaN (0/0), as in rl8.
///
/// # Errors
/// If `mask`'s shape is not a prefix of `x`'s or `dim` is out of range.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let d = Default::default();
/// let x = Tensor::<NdArray, 2>::from_floats([[1.0, 2.0, 9.0]], &d);
/// let mask = Tensor::<NdArray, 2>::from_floats([[1.0, 1.0, 0.0]], &d);
/// let avg = rl_functional::masked_avg(x, Some(mask), 1).unwrap();
/// assert_eq!(avg.into_data().to_vec::<f32>().unwrap(), vec![1.5]);
/// ```
pub fn masked_avg<B: Backend, const D: usize, const DM: usize>(
    x: Tensor<B, D>,
    mask: Option<Tensor<B, DM>>,
    dim: usize,
) -> Result<Tensor<B, D>> {
    check_dim::<D>(FN_AVG, dim)?;
    match mask {
        Some(m) => {
            let m = broadcast_mask(FN_AVG, m, x.dims())?;
            Ok((m.clone() * x).sum_dim(dim) / m.sum_dim(dim))
        }
        None => Ok(x.mean_dim(dim)),
    }
}

const FN_MAX: &str = "masked_max";

/// Maximum along `dim` over the valid entries: `(values, indices)` with `dim` kept as size 1.
///
/// Masked entries are filled with `f32::MIN` first, so a fully masked slice returns `f32::MIN`
/// at index 0; ties go to the first index.
///
/// # Errors
/// If `mask`'s shape is not a prefix of `x`'s or `dim` is out of range.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let d = Default::default();
/// let x = Tensor::<NdArray, 2>::from_floats([[1.0, 2.0, 9.0]], &d);
/// let mask = Tensor::<NdArray, 2>::from_floats([[1.0, 1.0, 0.0]], &d);
/// let (v, i) = rl_functional::masked_max(x, Some(mask), 1).unwrap();
/// assert_eq!(v.into_data().to_vec::<f32>().unwrap(), vec![2.0]);
/// ```
pub fn masked_max<B: Backend, const D: usize, const DM: usize>(
    x: Tensor<B, D>,
    mask: Option<Tensor<B, DM>>,
    dim: usize,
) -> Result<(Tensor<B, D>, Tensor<B, D, Int>)> {
    check_dim::<D>(FN_MAX, dim)?;
    let x = match mask {
        Some(m) => {
            let m = broadcast_mask(FN_MAX, m, x.dims())?.expand(x.dims());
            x.mask_fill(m.equal_elem(0.0), f32::MIN)
        }
        None => x,
    };
    let indices = x.clone().argmax(dim);
    Ok((x.gather(dim, indices.clone()), indices))
}

/// `mask[b, t] = t < lengths[b]` for `t` in `0..max_len`: a `[B, max_len]` bool mask. Negative
/// lengths give empty rows and lengths beyond `max_len` full ones.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
///
/// let lengths = Tensor::<NdArray, 1, Int>::from_ints([0, 2], &Default::default());
/// let mask = rl_functional::mask_from_lengths(lengths, 3);
/// let m: Vec<bool> = mask.into_data().to_vec().unwrap();
/// assert_eq!(m, vec![false, false, false, true, true, false]);
/// ```
pub fn mask_from_lengths<B: Backend>(
    lengths: Tensor<B, 1, Int>,
    max_len: usize,
) -> Tensor<B, 2, Bool> {
    let [batch] = lengths.dims();
    let device = lengths.device();
    let steps = Tensor::<B, 1, Int>::arange(0..max_len as i64, &device)
        .reshape([1, max_len])
        .expand([batch, max_len]);
    steps.lower(crate::reshape(lengths, [batch, 1]).expand([batch, max_len]))
}

/// rl8's `binary_mask_to_float_mask`: 0 becomes `-inf`, 1 becomes 0, any other value passes
/// through unchanged (so the conversion is only meaningful for {0, 1} masks). The result is
/// an additive mask: 0 = valid.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let m = Tensor::<NdArray, 1>::from_floats([1.0, 0.0, 0.5], &Default::default());
/// let f: Vec<f32> = rl_functional::binary_mask_to_float_mask(m).into_data().to_vec().unwrap();
/// assert_eq!(f, vec![0.0, f32::NEG_INFINITY, 0.5]);
/// ```
pub fn binary_mask_to_float_mask<B: Backend, const D: usize>(mask: Tensor<B, D>) -> Tensor<B, D> {
    let zero = mask.clone().equal_elem(0.0);
    let one = mask.clone().equal_elem(1.0);
    mask.mask_fill(one, 0.0).mask_fill(zero, f32::NEG_INFINITY)
}

/// rl8's `float_mask_to_binary_mask`: `-inf` becomes false (masked), every other value,
/// including NaN and `+inf`, true (valid).
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let m = Tensor::<NdArray, 1>::from_floats([0.0, f32::NEG_INFINITY, 5.0], &Default::default());
/// let b: Vec<bool> = rl_functional::float_mask_to_binary_mask(m).into_data().to_vec().unwrap();
/// assert_eq!(b, vec![true, false, true]);
/// ```
pub fn float_mask_to_binary_mask<B: Backend, const D: usize>(
    mask: Tensor<B, D>,
) -> Tensor<B, D, Bool> {
    mask.equal_elem(f32::NEG_INFINITY).bool_not()
}
