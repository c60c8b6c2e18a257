//! Fused operations for the CPU backends: the GRU cell step, and the kernels and backend
//! recognition the other fused operations share (the default models' MLPs in
//! `fused_linear.rs`, the whole LSTM step in `fused_lstm.rs`).
//!
//! Composed from Burn's tensor operations, a GRU step is about a dozen elementwise passes
//! over `[N, H]` tensors after its two matrix products, and as many again in its backward pass,
//! each allocating its output: on a CPU that memory traffic, not the arithmetic, is the cost.
//! Here the part after the matrix products is one pass forward and one pass backward over host
//! slices, registered with Burn's autodiff as one operation with its own backward. The
//! arithmetic matters too: the backends' own `tanh` and `sigmoid` call libm once per element,
//! which cannot be vectorized (tanh was half of the CartPole example's time on flex), while
//! these kernels use `fast_math`'s polynomials, compiled for the CPU's widest vectors.
//!
//! Burn's backend-extension traits would put a bound on every model's backend; instead the
//! backend is recognised by its tensor type at run time: ndarray and flex (with this crate's
//! features of those names), `f32`, plain or under `Autodiff`. Every other backend (wgpu
//! included), and other float types, take the composed path: the functions return `None`.
//!
//! On these backends reading a tensor is a copy in memory, not a device synchronisation, so
//! these reads are not counted as host reads.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

/// `h'`, `[N, H]`, of a GRU step from the input and hidden projections `xp`, `hp` `[N, 3H]`
/// (blocks `r, z, n`, biases included) and `h` `[N, H]`: `r = sigmoid(xr + hr)`,
/// `z = sigmoid(xz + hz)`, `n = tanh(xn + r * hn)`, `h' = n + z * (h - n)`. `None` where `B`
/// has no fused kernel.
pub(crate) fn gru<B: Backend>(
    xp: &Tensor<B, 2>,
    hp: &Tensor<B, 2>,
    h: &Tensor<B, 2>,
) -> Option<Tensor<B, 2>> {
    let [xp, hp, h] = [xp, hp, h].map(Clone::clone);
    run::<B, 3>([xp, hp, h])
}

/// Whether `B` has the fused kernels (for `f32` tensors).
pub(crate) fn available<B: Backend>() -> bool {
    #[cfg(test)]
    if COMPOSED.get() {
        return false;
    }
    backends::available::<B>()
}

#[cfg(test)]
thread_local! {
    static COMPOSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the fused kernels off, to compare them with the composed path.
#[cfg(test)]
pub(crate) fn composed<R>(f: impl FnOnce() -> R) -> R {
    COMPOSED.set(true);
    let out = f();
    COMPOSED.set(false);
    out
}

/// Whether every element of `x` is finite, read in place where `B` is a CPU backend with the
/// kernels (not under autodiff) and `x` is `f32`; `None` elsewhere: check with tensor
/// operations instead. One pass over memory instead of a handful of tensor operations, each
/// with its own output.
pub(crate) fn all_finite<B: Backend, const D: usize>(x: &Tensor<B, D>) -> Option<bool> {
    if !available::<B>() || x.dtype() != DType::F32 {
        return None;
    }
    backends::all_finite(x)
}

/// Whether the recurrent cells ([`gru`], `fused_lstm.rs`) run fused on tensors like `x`: `B` has the kernels and `x` is
/// `f32`.
pub(crate) fn applies<B: Backend>(x: &Tensor<B, 2>) -> bool {
    available::<B>() && x.dtype() == DType::F32
}

fn run<B: Backend, const N: usize>(inputs: [Tensor<B, 2>; N]) -> Option<Tensor<B, 2>> {
    if !available::<B>() || inputs.iter().any(|x| x.dtype() != DType::F32) {
        return None;
    }
    backends::run(inputs)
}

/// The CPU backends compiled in, and the generic operation on each.
#[cfg(any(feature = "ndarray", feature = "flex"))]
mod backends {
    use super::*;

    /// Runs the operation on the first backend `I` that `B` is (or wraps in `Autodiff`).
    macro_rules! try_backend {
        ($inner:ty, $inputs:ident) => {
            if let Some(kind) = op::kind_of::<B, $inner>() {
                return Some(op::run::<B, $inner, N>(kind, $inputs));
            }
        };
    }

    pub fn run<B: Backend, const N: usize>(inputs: [Tensor<B, 2>; N]) -> Option<Tensor<B, 2>> {
        #[cfg(feature = "ndarray")]
        try_backend!(burn::backend::NdArray, inputs);
        #[cfg(feature = "flex")]
        try_backend!(burn::backend::Flex, inputs);
        None
    }

    pub fn available<B: Backend>() -> bool {
        #[cfg(feature = "ndarray")]
        if op::kind_of::<B, burn::backend::NdArray>().is_some() {
            return true;
        }
        #[cfg(feature = "flex")]
        if op::kind_of::<B, burn::backend::Flex>().is_some() {
            return true;
        }
        false
    }

    /// Whether every element of `x`, a plain (not autodiff) CPU tensor, is finite.
    pub fn all_finite<B: Backend, const D: usize>(x: &Tensor<B, D>) -> Option<bool> {
        fn on<B: Backend, I: op::Cpu, const D: usize>(x: &Tensor<B, D>) -> Option<bool> {
            let x: I::FloatTensorPrimitive = op::cast(x.clone().into_primitive().tensor());
            Some(I::slice(&x).iter().all(|v| v.is_finite()))
        }
        #[cfg(feature = "ndarray")]
        if op::kind_of::<B, burn::backend::NdArray>() == Some(op::Kind::Plain) {
            return on::<B, burn::backend::NdArray, D>(x);
        }
        #[cfg(feature = "flex")]
        if op::kind_of::<B, burn::backend::Flex>() == Some(op::Kind::Plain) {
            return on::<B, burn::backend::Flex, D>(x);
        }
        None
    }
}

/// Without a CPU backend feature: no kernels.
#[cfg(not(any(feature = "ndarray", feature = "flex")))]
mod backends {
    use super::*;

    // The same signature as with kernels, which compare `B`'s tensor type.
    #[allow(clippy::extra_unused_type_parameters)]
    pub fn available<B: Backend>() -> bool {
        false
    }

    pub fn run<B: Backend, const N: usize>(_: [Tensor<B, 2>; N]) -> Option<Tensor<B, 2>> {
        None
    }

    pub fn all_finite<B: Backend, const D: usize>(_: &Tensor<B, D>) -> Option<bool> {
        None
    }
}

/// The fused operation on a CPU backend `I`, plain or under autodiff.
#[cfg(any(feature = "ndarray", feature = "flex"))]
pub(crate) mod op {
    use core::any::{Any, TypeId};
    use core::mem::MaybeUninit;
    use std::borrow::Cow;

    use burn::backend::Autodiff;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::tensor::{TensorData, TensorPrimitive};
    use rayon::prelude::*;

    use super::kernels;
    use super::*;

    /// How `B` relates to a CPU backend `I` with a kernel.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// `B` is `I`.
        Plain,
        /// `B` is `Autodiff<I>` (any checkpointing strategy: the fused operation keeps its own
        /// state and never asks for a recomputation).
        Autodiff,
    }

    fn is<B: Backend, T: 'static>() -> bool {
        TypeId::of::<B::FloatTensorPrimitive>() == TypeId::of::<T>()
    }

    /// `x` as a `T`, which it is: the caller compared the types.
    pub fn cast<A: 'static, T: 'static>(x: A) -> T {
        *(Box::new(x) as Box<dyn Any>)
            .downcast::<T>()
            .expect("the types were compared before")
    }

    /// `Autodiff<I>`'s float tensor (its type is not exported by name).
    pub type AutodiffTensor<I> = burn::tensor::ops::FloatTensor<Autodiff<I>>;

    pub fn kind_of<B: Backend, I: Backend>() -> Option<Kind> {
        if is::<B, I::FloatTensorPrimitive>() {
            Some(Kind::Plain)
        } else if is::<B, AutodiffTensor<I>>() {
            Some(Kind::Autodiff)
        } else {
            None
        }
    }

    /// A CPU backend whose `f32` tensors the kernels read in place.
    pub trait Cpu: Backend {
        /// The elements of `x`, row-major: borrowed when `x` is contiguous, else copied.
        fn slice(x: &Self::FloatTensorPrimitive) -> Cow<'_, [f32]>;
    }

    /// A copy of `x`'s elements through Burn's generic read (for layouts the backends do not
    /// lend as one slice).
    fn copied<I: Backend>(x: &I::FloatTensorPrimitive) -> Vec<f32> {
        Tensor::<I, 2>::from_primitive(TensorPrimitive::Float(x.clone()))
            .into_data()
            .into_vec::<f32>()
            .expect("f32, checked before the kernel ran")
    }

    #[cfg(feature = "ndarray")]
    impl Cpu for burn::backend::NdArray {
        fn slice(x: &Self::FloatTensorPrimitive) -> Cow<'_, [f32]> {
            use burn::backend::ndarray::NdArrayTensor;
            match x {
                NdArrayTensor::F32(storage) => match storage.view().to_slice() {
                    Some(slice) => Cow::Borrowed(slice),
                    None => Cow::Owned(storage.view().iter().copied().collect()),
                },
                _ => Cow::Owned(copied::<Self>(x)),
            }
        }
    }

    #[cfg(feature = "flex")]
    impl Cpu for burn::backend::Flex {
        fn slice(x: &Self::FloatTensorPrimitive) -> Cow<'_, [f32]> {
            match x.as_slice::<f32>() {
                Some(slice) => Cow::Borrowed(slice),
                None => Cow::Owned(copied::<Self>(x)),
            }
        }
    }

    /// `dst (m x n) = lhs (m x k) * rhs (k x n)`, plus `dst` when `accumulate`, each operand
    /// given by its row and column strides; on every core (rayon's pool) when `parallel`.
    /// Through `gemm`, the crate burn-flex's products use too.
    pub fn gemm(
        dims: (usize, usize, usize),
        dst: &mut [f32],
        accumulate: bool,
        lhs: (&[f32], usize, usize),
        rhs: (&[f32], usize, usize),
        parallel: bool,
    ) {
        let (m, n, _) = dims;
        assert!(dst.len() >= m * n);
        // SAFETY: `dst` holds `m x n` floats, initialized.
        unsafe { gemm_raw(dims, dst.as_mut_ptr(), accumulate, lhs, rhs, parallel) }
    }

    /// [`gemm`] into `m x n` floats not written yet, which it writes in full (on this thread):
    /// the buffer the caller reads afterwards, initialized.
    pub fn gemm_into<'a>(
        dims: (usize, usize, usize),
        dst: &'a mut [MaybeUninit<f32>],
        lhs: (&[f32], usize, usize),
        rhs: (&[f32], usize, usize),
    ) -> &'a mut [f32] {
        let (m, n, k) = dims;
        assert_eq!(dst.len(), m * n);
        if k == 0 {
            dst.fill(MaybeUninit::new(0.0));
        } else {
            // SAFETY: `dst` holds `m x n` floats; without `accumulate` gemm only writes them.
            unsafe { gemm_raw(dims, dst.as_mut_ptr().cast(), false, lhs, rhs, false) }
        }
        // SAFETY: every element was written just above.
        unsafe { &mut *(dst as *mut [MaybeUninit<f32>] as *mut [f32]) }
    }

    /// [`gemm`] on a raw `dst`.
    ///
    /// # Safety
    /// `dst` is valid for writes of `m x n` floats, and for reads of them, initialized, when
    /// `accumulate`; it does not overlap `lhs` or `rhs`.
    unsafe fn gemm_raw(
        (m, n, k): (usize, usize, usize),
        dst: *mut f32,
        accumulate: bool,
        (lhs, lhs_rs, lhs_cs): (&[f32], usize, usize),
        (rhs, rhs_rs, rhs_cs): (&[f32], usize, usize),
        parallel: bool,
    ) {
        assert!(m == 0 || k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
        assert!(n == 0 || k == 0 || rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
        if !parallel && m > 0 && n > 0 && k > 0 {
            let lhs = (lhs, lhs_rs, lhs_cs);
            let rhs = (rhs, rhs_rs, rhs_cs);
            if let Some(product) = small::product((m, n, k), lhs, rhs) {
                // SAFETY: as for gemm below; `product` is `m x n`, row-major.
                unsafe { small::store(&product, (m, n), dst, accumulate) };
                return;
            }
        }
        let parallelism = if parallel {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
        // SAFETY: the asserts above keep every index gemm reads in its slice; the caller
        // vouches for `dst`.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst,
                1,
                n as isize,
                accumulate,
                lhs.as_ptr(),
                lhs_cs as isize,
                lhs_rs as isize,
                rhs.as_ptr(),
                rhs_cs as isize,
                rhs_rs as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
    }

    /// Products with a dimension of a few elements (a layer from 4 observations, an output
    /// layer of 1 or 2 units, and their gradients), where gemm's tiles are mostly padding:
    /// plain loops over the wide dimension, which vectorize. Measured on one core (AVX-512
    /// EPYC, 256-row blocks): gemm took 2.8-3.1 us for `[256, 4] x [4, 64]`, 5.1 us for
    /// `[256, 64] x [64, 2]` and 7.7 us for `[256, 2] x [2, 64]`.
    mod small {
        use crate::fast_math::simd;

        /// At most this many elements in the small dimension.
        const SMALL: usize = 4;
        /// At least this many in the others.
        const WIDE: usize = 16;

        /// An operand: elements, row stride, column stride.
        type Operand<'a> = (&'a [f32], usize, usize);

        /// `lhs (m x k) * rhs (k x n)`, row-major, where one dimension is small; `None`
        /// where none is (then gemm).
        pub fn product(
            (m, n, k): (usize, usize, usize),
            lhs: Operand<'_>,
            rhs: Operand<'_>,
        ) -> Option<Vec<f32>> {
            let at = |(x, rs, cs): Operand<'_>, i: usize, j: usize| x[i * rs + j * cs];
            // The rows of an operand, contiguous (copied unless they are already).
            let rows = |op: Operand<'_>, r: usize, c: usize| -> Vec<f32> {
                (0..r)
                    .flat_map(|i| (0..c).map(move |j| at(op, i, j)))
                    .collect()
            };
            let transposed = |op: Operand<'_>, r: usize, c: usize| -> Vec<f32> {
                (0..c)
                    .flat_map(|j| (0..r).map(move |i| at(op, i, j)))
                    .collect()
            };
            // The forward cases do not look at `m`, the rows: a row's value must not depend on
            // how many rows are computed with it (acting takes one environment's row through
            // the layers that a minibatch later takes through again, and the first epoch's
            // ratios are exactly 1).
            if k <= SMALL && n >= WIDE {
                // Each output row a sum of k rows of `rhs`.
                let r = rows(rhs, k, n);
                let mut out = vec![0.0; m * n];
                simd(
                    #[inline(always)]
                    || {
                        for (i, row) in out.chunks_exact_mut(n).enumerate() {
                            for (t, rhs_row) in r.chunks_exact(n).enumerate() {
                                let a = at(lhs, i, t);
                                row.iter_mut().zip(rhs_row).for_each(|(o, b)| *o += a * b);
                            }
                        }
                    },
                );
                return Some(out);
            }
            if m <= SMALL && n >= WIDE && k >= WIDE && lhs.1 == 1 && rhs.2 == 1 {
                // A long sum over k of rows of `rhs`, into m rows kept in cache (a weights'
                // gradient, `x^T dz`: `lhs` is a transposed operand, never a forward's rows).
                let (x, rs, _) = rhs;
                return Some(sum_of_rows(
                    m,
                    n,
                    k,
                    |i, t| at(lhs, i, t),
                    |t| &x[t * rs..][..n],
                ));
            }
            if n <= SMALL && m >= WIDE && k >= WIDE && lhs.1 == 1 {
                // Transposed, the case above: `(lhs rhs)^T = rhs^T lhs^T`, whose rows
                // (`lhs`'s columns) are contiguous.
                let (x, _, cs) = lhs;
                let t = sum_of_rows(n, m, k, |j, t| at(rhs, t, j), |t| &x[t * cs..][..m]);
                return Some(rows((&t, 1, m), m, n));
            }
            if n <= SMALL && k >= WIDE && lhs.2 == 1 {
                // Dot products of `lhs`'s rows with `rhs`'s columns.
                let cols = transposed(rhs, k, n);
                let (x, rs, _) = lhs;
                let mut out = vec![0.0; m * n];
                simd(
                    #[inline(always)]
                    || {
                        for (i, row) in out.chunks_exact_mut(n).enumerate() {
                            let a = &x[i * rs..][..k];
                            for (o, col) in row.iter_mut().zip(cols.chunks_exact(k)) {
                                *o = dot(a, col);
                            }
                        }
                    },
                );
                return Some(out);
            }
            None
        }

        /// `out[i] = sum over t of a(i, t) * row(t)`, `m` rows of `n`.
        #[inline(always)]
        fn sum_of_rows<'a>(
            m: usize,
            n: usize,
            k: usize,
            a: impl Fn(usize, usize) -> f32,
            row: impl Fn(usize) -> &'a [f32],
        ) -> Vec<f32> {
            let mut out = vec![0.0; m * n];
            simd(
                #[inline(always)]
                || {
                    for t in 0..k {
                        let r = row(t);
                        for (i, o) in out.chunks_exact_mut(n).enumerate() {
                            let a = a(i, t);
                            o.iter_mut().zip(r).for_each(|(o, b)| *o += a * b);
                        }
                    }
                },
            );
            out
        }

        /// `a . b` in 16 running sums (so that the loop vectorizes), then added up.
        #[inline(always)]
        fn dot(a: &[f32], b: &[f32]) -> f32 {
            const L: usize = 16;
            let mut acc = [0.0f32; L];
            let (ca, cb) = (a.chunks_exact(L), b.chunks_exact(L));
            let tail: f32 = ca
                .remainder()
                .iter()
                .zip(cb.remainder())
                .map(|(x, y)| x * y)
                .sum();
            for (x, y) in ca.zip(cb) {
                for l in 0..L {
                    acc[l] += x[l] * y[l];
                }
            }
            acc.iter().sum::<f32>() + tail
        }

        /// Writes `product` (`m x n`, row-major) into `dst` (row stride `n`), or adds it when
        /// `accumulate`.
        ///
        /// # Safety
        /// As [`super::gemm_raw`]'s `dst`.
        pub unsafe fn store(
            product: &[f32],
            (m, n): (usize, usize),
            dst: *mut f32,
            accumulate: bool,
        ) {
            // SAFETY: the caller's `dst` holds `m x n` floats (initialized when `accumulate`).
            unsafe {
                if accumulate {
                    let dst = std::slice::from_raw_parts_mut(dst, m * n);
                    dst.iter_mut().zip(product).for_each(|(d, p)| *d += p);
                } else {
                    std::ptr::copy_nonoverlapping(product.as_ptr(), dst, m * n);
                }
            }
        }
    }

    /// Adds `x W` to `out` for a block of `n` rows of a linear map (`x` `[n, input]`, `W`
    /// `[input, output]`, `out` `[n, output]`, holding the bias already); on this thread.
    pub fn block_product(
        out: &mut [f32],
        x: &[f32],
        w: &[f32],
        (n, input, output): (usize, usize, usize),
    ) {
        gemm(
            (n, output, input),
            out,
            true,
            (x, input, 1),
            (w, output, 1),
            false,
        );
    }

    /// The backward of [`block_product`] from `dz`, the gradient of its output: adds the
    /// block's share `x^T dz` to `dw` and, when given `dx`, writes `dz W^T` into all of it.
    pub fn block_product_backward(
        dz: &[f32],
        x: &[f32],
        w: &[f32],
        (n, input, output): (usize, usize, usize),
        dw: &mut [f32],
        dx: Option<&mut [MaybeUninit<f32>]>,
    ) {
        gemm(
            (input, output, n),
            dw,
            true,
            (x, 1, input),
            (dz, output, 1),
            false,
        );
        if let Some(dx) = dx {
            gemm_into((n, input, output), dx, (dz, output, 1), (w, 1, output));
        }
    }

    /// `x` as floats to be overwritten by [`gemm_into`].
    ///
    /// # Safety
    /// Nothing but initialized floats is written through the result.
    pub unsafe fn overwritten(x: &mut [f32]) -> &mut [MaybeUninit<f32>] {
        // SAFETY: the same layout; the caller writes only floats.
        unsafe { &mut *(x as *mut [f32] as *mut [MaybeUninit<f32>]) }
    }

    /// Rows per block of [`for_blocks`]: a block of a layer's outputs (`ROWS x 4H` floats of
    /// gates, 256 KiB at H = 64) stays in a core's cache from one pass over it to the next.
    pub const ROWS: usize = 256;

    /// Calls `f(acc, first_row, block)` for each block of [`ROWS`] rows, on rayon's pool when
    /// there is more than one block, and merges the accumulators `acc` (one per run of
    /// blocks a thread took, from `init`); `block` holds the block's rows of each output in
    /// `outputs` (`widths[k]` floats per row).
    pub fn for_blocks<const K: usize, T: Send, A: Send>(
        parallel: bool,
        rows: usize,
        widths: [usize; K],
        outputs: [&mut [T]; K],
        init: impl Fn() -> A + Sync + Send,
        f: impl Fn(&mut A, usize, [&mut [T]; K]) + Sync + Send,
        merge: impl Fn(A, A) -> A + Sync + Send,
    ) -> A {
        let mut blocks: Vec<(usize, [&mut [T]; K])> = Vec::new();
        let mut rest = outputs;
        let mut first = 0;
        while first < rows {
            let count = ROWS.min(rows - first);
            let chunk = std::array::from_fn(|k| {
                let (head, tail) = std::mem::take(&mut rest[k]).split_at_mut(count * widths[k]);
                rest[k] = tail;
                head
            });
            blocks.push((first, chunk));
            first += count;
        }
        if !parallel || blocks.len() <= 1 {
            let mut acc = init();
            for (first, chunk) in blocks {
                f(&mut acc, first, chunk);
            }
            return acc;
        }
        blocks
            .into_par_iter()
            .fold(&init, |mut acc, (first, chunk)| {
                f(&mut acc, first, chunk);
                acc
            })
            .reduce(&init, merge)
    }

    /// `x` as a tensor of shape `shape` on `device` (the data moves in; no copy of it here).
    pub fn upload<I: Backend, const D: usize>(
        x: Vec<f32>,
        shape: [usize; D],
        device: &I::Device,
    ) -> I::FloatTensorPrimitive {
        Tensor::<I, D>::from_data(TensorData::new(x, shape), device)
            .into_primitive()
            .tensor()
    }

    pub fn device<I: Backend>(x: &I::FloatTensorPrimitive) -> I::Device {
        I::float_device(x)
    }

    /// A GRU step's `h'`, `[N, H]`, from the inputs' elements.
    fn forward(inputs: &[Cow<'_, [f32]>], rows: usize, hidden: usize) -> Vec<f32> {
        kernels::gru_forward(&inputs[0], &inputs[1], &inputs[2], rows, hidden)
    }

    /// What the backward pass needs (shared with the graph, not copied).
    #[derive(Debug, Clone)]
    struct Saved<I: Backend> {
        /// The inputs.
        tensors: Vec<I::FloatTensorPrimitive>,
        rows: usize,
        hidden: usize,
    }

    #[derive(Debug)]
    struct CellBackward;

    impl<I: Cpu, const N: usize> Backward<I, N> for CellBackward {
        type State = Saved<I>;

        fn backward(self, ops: Ops<Saved<I>, N>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<I>(&ops.node);
            let device = device::<I>(&grad);
            let Saved {
                tensors,
                rows,
                hidden,
            } = ops.state;
            let x: Vec<Cow<'_, [f32]>> = tensors.iter().map(I::slice).collect();
            let grad = I::slice(&grad);
            let (dxp, dhp, dh) = kernels::gru_backward(&x[0], &x[1], &x[2], &grad, rows, hidden);
            let outputs = [(dxp, 3 * hidden), (dhp, 3 * hidden), (dh, hidden)];
            for (parent, (g, width)) in ops.parents.into_iter().zip(outputs) {
                if let Some(node) = parent {
                    grads.register::<I>(node.id, upload::<I, 2>(g, [rows, width], &device));
                }
            }
        }
    }

    pub(super) fn run<B: Backend, I: Cpu, const N: usize>(
        kind: Kind,
        inputs: [Tensor<B, 2>; N],
    ) -> Tensor<B, 2> {
        let [rows, hidden] = inputs[N - 1].dims();
        let primitives = inputs.map(|x| x.into_primitive().tensor());
        let out = match kind {
            Kind::Plain => {
                let x: [I::FloatTensorPrimitive; N] = primitives.map(cast);
                let out = forward(&x.each_ref().map(I::slice), rows, hidden);
                let out = upload::<I, 2>(out, [rows, hidden], &device::<I>(&x[0]));
                cast::<_, B::FloatTensorPrimitive>(out)
            }
            Kind::Autodiff => {
                let tensors: [AutodiffTensor<I>; N] = primitives.map(cast);
                let nodes = tensors.each_ref().map(|t| t.node.clone());
                let x: Vec<I::FloatTensorPrimitive> =
                    tensors.into_iter().map(|t| t.primitive).collect();
                let out = forward(&x.iter().map(I::slice).collect::<Vec<_>>(), rows, hidden);
                let out = upload::<I, 2>(out, [rows, hidden], &device::<I>(&x[0]));
                let prep = <CellBackward as Backward<I, N>>::prepare::<NoCheckpointing>(
                    CellBackward,
                    nodes,
                );
                let out = match prep.compute_bound().stateful() {
                    OpsKind::Tracked(prep) => prep.finish(
                        Saved {
                            tensors: x,
                            rows,
                            hidden,
                        },
                        out,
                    ),
                    OpsKind::UnTracked(prep) => prep.finish(out),
                };
                cast::<_, B::FloatTensorPrimitive>(out)
            }
        };
        Tensor::from_primitive(TensorPrimitive::Float(out))
    }
}

/// The fused operations' arithmetic over row-major host slices, in blocks of rows on the
/// CPU's threads.
#[cfg(any(feature = "ndarray", feature = "flex"))]
pub(crate) mod kernels {
    /// Below this many output elements one thread does it all.
    const PARALLEL_FROM: usize = 1 << 15;

    use crate::fast_math::{sigmoid, simd, tanh};

    /// A row's `K` blocks of `h` (an LSTM's `i, f, g, o`; a GRU's `r, z, n`), each exactly `h`
    /// long.
    #[inline(always)]
    fn blocks<const K: usize>(row: &[f32], h: usize) -> [&[f32]; K] {
        std::array::from_fn(|k| &row[k * h..][..h])
    }

    /// [`blocks`], writable.
    #[inline(always)]
    fn blocks_mut<const K: usize>(row: &mut [f32], h: usize) -> [&mut [f32]; K] {
        let mut rest = row.chunks_exact_mut(h);
        std::array::from_fn(|_| rest.next().expect("K blocks of h"))
    }

    /// The width of the blocks [`lanes`] computes: one AVX-512 vector of `f32`.
    const LANES: usize = 16;

    /// `outputs[m][j] = f(inputs[..][j])[m]` for every unit `j` (every slice as long as the
    /// first output). The units go through in blocks of [`LANES`] copied into local arrays.
    /// Written as one loop over the slices, LLVM guards its vector loop with run-time overlap
    /// checks of every output against every input, and on buffers fresh from the allocator
    /// (the backward pass's) it was measured 2x slower than these blocks.
    #[inline(always)]
    fn lanes<const K: usize, const M: usize>(
        inputs: [&[f32]; K],
        mut outputs: [&mut [f32]; M],
        f: impl Fn([f32; K]) -> [f32; M],
    ) {
        let h = outputs[0].len();
        let mut j = 0;
        while j + LANES <= h {
            let mut x = [[0.0f32; LANES]; K];
            for (x, s) in x.iter_mut().zip(&inputs) {
                x.copy_from_slice(&s[j..j + LANES]);
            }
            let mut y = [[0.0f32; LANES]; M];
            for l in 0..LANES {
                let r = f(std::array::from_fn(|k| x[k][l]));
                for m in 0..M {
                    y[m][l] = r[m];
                }
            }
            for (out, y) in outputs.iter_mut().zip(&y) {
                out[j..j + LANES].copy_from_slice(y);
            }
            j += LANES;
        }
        for j in j..h {
            let r = f(std::array::from_fn(|k| inputs[k][j]));
            for (out, r) in outputs.iter_mut().zip(r) {
                out[j] = r;
            }
        }
    }

    /// A unit's GRU gates `[r, z, n]` from its input and hidden projections.
    #[inline(always)]
    fn gru_gates(x: [f32; 3], p: [f32; 3]) -> [f32; 3] {
        let r = sigmoid(x[0] + p[0]);
        [r, sigmoid(x[1] + p[1]), tanh(x[2] + r * p[2])]
    }

    /// Calls `f(first_row, rows, chunks)` on the blocks of rows of `op::for_blocks` (on
    /// every core from [`PARALLEL_FROM`] output elements), where `chunks` are the matching
    /// rows of `outputs` (`widths[k]` floats per row).
    fn for_rows<const K: usize>(
        rows: usize,
        widths: [usize; K],
        outputs: [&mut [f32]; K],
        f: impl Fn(usize, usize, [&mut [f32]; K]) + Sync + Send,
    ) {
        let parallel = rows * widths.iter().sum::<usize>() >= PARALLEL_FROM;
        super::op::for_blocks(
            parallel,
            rows,
            widths,
            outputs,
            || (),
            |_, first, chunks| {
                let count = super::op::ROWS.min(rows - first);
                simd(
                    #[inline(always)]
                    || f(first, count, chunks),
                )
            },
            |(), ()| (),
        );
    }

    /// One row of an LSTM step's cell (`fused_lstm.rs`): `gates` `4H`, the pre-activations
    /// `i, f, g, o`, replaced by the gates (`sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)`,
    /// which the backward pass reads instead of computing them again); `c` and the outputs
    /// `h'`, `c'`, `H` each.
    #[inline(always)]
    pub(crate) fn lstm_forward_row(
        gates: &mut [f32],
        c: &[f32],
        h_out: &mut [f32],
        c_out: &mut [f32],
    ) {
        let [i, f, g, o] = blocks_mut::<4>(gates, c.len());
        for gate in [&mut *i, &mut *f, &mut *o] {
            gate.iter_mut().for_each(|v| *v = sigmoid(*v));
        }
        g.iter_mut().for_each(|v| *v = tanh(*v));
        lanes(
            [i, f, g, o, c],
            [h_out, c_out],
            #[inline(always)]
            |[i, f, g, o, c]| {
                let c_new = f * c + i * g;
                [o * tanh(c_new), c_new]
            },
        );
    }

    /// The backward of [`lstm_forward_row`]: from the gates it left (`4H`), `c` `H` and the
    /// gradients of `h'` and `c'` (`H` each), the outputs `dgates` (of the pre-activations,
    /// `4H`) and `dc` `H`.
    #[inline(always)]
    pub(crate) fn lstm_backward_row(
        gates: &[f32],
        c: &[f32],
        [dh_out, dc_out]: [&[f32]; 2],
        dgates: &mut [f32],
        dc: &mut [f32],
    ) {
        let h = c.len();
        let [i, f, g, o] = blocks::<4>(gates, h);
        let [di, df, dg, d_o] = blocks_mut::<4>(dgates, h);
        lanes(
            [i, f, g, o, c, dh_out, dc_out],
            [di, df, dg, d_o, dc],
            #[inline(always)]
            |[i, f, g, o, c, dh_out, dc_out]| {
                let tc = tanh(f * c + i * g);
                let dcell = dc_out + dh_out * o * (1.0 - tc * tc);
                [
                    dcell * g * i * (1.0 - i),
                    dcell * c * f * (1.0 - f),
                    dcell * i * (1.0 - g * g),
                    dh_out * tc * o * (1.0 - o),
                    dcell * f,
                ]
            },
        );
    }

    /// `h'` per row.
    pub fn gru_forward(xp: &[f32], hp: &[f32], hprev: &[f32], rows: usize, h: usize) -> Vec<f32> {
        let mut out = vec![0.0; rows * h];
        for_rows(
            rows,
            [h],
            [&mut out],
            #[inline(always)]
            |first, count, [out]| {
                for r in 0..count {
                    let row = first + r;
                    let [xr, xz, xn] = blocks::<3>(&xp[row * 3 * h..][..3 * h], h);
                    let [pr, pz, pn] = blocks::<3>(&hp[row * 3 * h..][..3 * h], h);
                    lanes(
                        [xr, xz, xn, pr, pz, pn, &hprev[row * h..][..h]],
                        [&mut out[r * h..][..h]],
                        #[inline(always)]
                        |[xr, xz, xn, pr, pz, pn, hprev]| {
                            let [_, z, n] = gru_gates([xr, xz, xn], [pr, pz, pn]);
                            [n + z * (hprev - n)]
                        },
                    );
                }
            },
        );
        out
    }

    /// The gradients of `xp`, `hp` (`[N, 3H]` each) and `h` (`[N, H]`) from that of `h'`.
    pub fn gru_backward(
        xp: &[f32],
        hp: &[f32],
        hprev: &[f32],
        grad: &[f32],
        rows: usize,
        h: usize,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut dxp = vec![0.0; rows * 3 * h];
        let mut dhp = vec![0.0; rows * 3 * h];
        let mut dh = vec![0.0; rows * h];
        for_rows(
            rows,
            [3 * h, 3 * h, h],
            [&mut dxp, &mut dhp, &mut dh],
            #[inline(always)]
            |first, count, [dx, dp, dh]| {
                for r in 0..count {
                    let row = first + r;
                    let [xr, xz, xn] = blocks::<3>(&xp[row * 3 * h..][..3 * h], h);
                    let [pr, pz, pn] = blocks::<3>(&hp[row * 3 * h..][..3 * h], h);
                    let [dxr, dxz, dxn] = blocks_mut::<3>(&mut dx[r * 3 * h..][..3 * h], h);
                    let [dpr, dpz, dpn] = blocks_mut::<3>(&mut dp[r * 3 * h..][..3 * h], h);
                    lanes(
                        [
                            xr,
                            xz,
                            xn,
                            pr,
                            pz,
                            pn,
                            &hprev[row * h..][..h],
                            &grad[row * h..][..h],
                        ],
                        [dxr, dxz, dxn, dpr, dpz, dpn, &mut dh[r * h..][..h]],
                        #[inline(always)]
                        |[xr, xz, xn, pr, pz, pn, hprev, g]| {
                            let [rg, z, n] = gru_gates([xr, xz, xn], [pr, pz, pn]);
                            let dn = g * (1.0 - z) * (1.0 - n * n);
                            let dz = g * (hprev - n) * z * (1.0 - z);
                            let dr = dn * pn * rg * (1.0 - rg);
                            [dr, dz, dn, dr, dz, dn * rg, g * z]
                        },
                    );
                }
            },
        );
        (dxp, dhp, dh)
    }
}

#[cfg(all(test, feature = "ndarray"))]
pub(crate) mod tests {
    use burn::backend::{Autodiff, NdArray};
    use burn::tensor::activation::sigmoid;
    use burn::tensor::{Distribution, TensorData};

    use super::*;

    type A = Autodiff<NdArray>;

    /// An LSTM cell alone, `[h'; c']` from `gates` and `c`: the fused step with an identity
    /// input projection, no biases and a zero hidden one (the gradient of `x` is then exactly
    /// that of the gates).
    fn lstm<X: Backend>(gates: &Tensor<X, 2>, c: &Tensor<X, 2>) -> Option<Tensor<X, 2>> {
        use burn::module::Param;
        use burn::nn::LinearConfig;
        let ([rows, g], h) = (gates.dims(), c.dims()[1]);
        let device = gates.device();
        let layer = |input: usize, weight: Tensor<X, 2>| {
            let mut layer = LinearConfig::new(input, g).init::<X>(&device);
            layer.weight = Param::from_tensor(weight);
            layer.bias = Some(Param::from_tensor(Tensor::zeros([g], &device)));
            layer
        };
        let eye: Vec<f32> = (0..g * g)
            .map(|i| f32::from(u8::from(i % (g + 1) == 0)))
            .collect();
        let input = layer(g, Tensor::from_data(TensorData::new(eye, [g, g]), &device));
        let hidden = layer(h, Tensor::zeros([h, g], &device));
        let zeros = Tensor::zeros([rows, h], &device);
        crate::fused_lstm::lstm_step(gates, &zeros, c, &input, &hidden)
    }

    /// The composed formulas, as `recurrent_models.rs` writes them.
    fn lstm_composed<X: Backend>(gates: Tensor<X, 2>, c: Tensor<X, 2>) -> Tensor<X, 2> {
        let h = c.dims()[1];
        let part = |k: usize| gates.clone().narrow(1, k * h, h);
        let c = sigmoid(part(1)) * c + sigmoid(part(0)) * part(2).tanh();
        let h = sigmoid(part(3)) * c.clone().tanh();
        Tensor::cat(vec![h, c], 0)
    }

    fn gru_composed<X: Backend>(
        xp: Tensor<X, 2>,
        hp: Tensor<X, 2>,
        h: Tensor<X, 2>,
    ) -> Tensor<X, 2> {
        let w = h.dims()[1];
        let part = |t: &Tensor<X, 2>, k: usize| t.clone().narrow(1, k * w, w);
        let r = sigmoid(part(&xp, 0) + part(&hp, 0));
        let z = sigmoid(part(&xp, 1) + part(&hp, 1));
        let n = (part(&xp, 2) + r * part(&hp, 2)).tanh();
        n.clone() + z * (h - n)
    }

    /// The elements of `x`, row-major.
    pub(crate) fn values<X: Backend, const D: usize>(x: Tensor<X, D>) -> Vec<f32> {
        x.into_data().to_vec().unwrap()
    }

    /// Asserts that `a` and `b` agree within `tol` relative to `1 + |b|`, naming `what`.
    pub(crate) fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * (1.0 + y.abs()),
                "{what}[{i}]: {x} vs {y}"
            );
        }
    }

    /// Inputs `[rows, width]` each, N(0, 1.5) so that the activations saturate somewhere.
    fn inputs<X: Backend, const K: usize>(shapes: [[usize; 2]; K]) -> [Tensor<X, 2>; K] {
        shapes.map(|s| Tensor::random(s, Distribution::Normal(0.0, 1.5), &Default::default()))
    }

    /// Fused and composed agree on values and on the gradients of `sum(out * weights)` with
    /// respect to every input, for both cells, on a batch large enough to use both threads
    /// and an odd small one.
    #[test]
    fn fused_cells_equal_the_composed_ones_values_and_gradients() {
        fused_equals_composed::<A>();
        #[cfg(feature = "flex")]
        fused_equals_composed::<Autodiff<burn::backend::Flex>>();
    }

    fn fused_equals_composed<X: burn::tensor::backend::AutodiffBackend>() {
        assert!(available::<X>());
        for (rows, h) in [(3, 5), (512, 64)] {
            let lstm_in = inputs::<X, 2>([[rows, 4 * h], [rows, h]]);
            let gru_in = inputs::<X, 3>([[rows, 3 * h], [rows, 3 * h], [rows, h]]);
            let cases: Vec<(&str, Vec<Tensor<X, 2>>)> =
                vec![("lstm", lstm_in.to_vec()), ("gru", gru_in.to_vec())];
            for (name, xs) in cases {
                let run = |fused: bool| {
                    let leaves: Vec<Tensor<X, 2>> = xs
                        .iter()
                        .map(|x| x.clone().detach().require_grad())
                        .collect();
                    let out = match (name, fused) {
                        ("lstm", true) => lstm(&leaves[0], &leaves[1]).unwrap(),
                        ("lstm", false) => lstm_composed(leaves[0].clone(), leaves[1].clone()),
                        (_, true) => gru(&leaves[0], &leaves[1], &leaves[2]).unwrap(),
                        (_, false) => {
                            gru_composed(leaves[0].clone(), leaves[1].clone(), leaves[2].clone())
                        }
                    };
                    let weights = Tensor::<X, 2>::from_data(
                        TensorData::new(
                            (0..out.dims().iter().product::<usize>())
                                .map(|i| ((i * 7919) % 13) as f32 / 6.0 - 1.0)
                                .collect::<Vec<f32>>(),
                            out.dims(),
                        ),
                        &Default::default(),
                    );
                    let grads = (out.clone() * weights).sum().backward();
                    let grads: Vec<Vec<f32>> = leaves
                        .iter()
                        .map(|l| l.grad(&grads).unwrap().into_data().to_vec().unwrap())
                        .collect();
                    (values(out), grads)
                };
                let (fused_out, fused_grads) = run(true);
                let (composed_out, composed_grads) = run(false);
                close(
                    &fused_out,
                    &composed_out,
                    1e-6,
                    &format!("{name} {rows}x{h} output"),
                );
                for (k, (f, c)) in fused_grads.iter().zip(&composed_grads).enumerate() {
                    close(
                        f,
                        c,
                        1e-5,
                        &format!("{name} {rows}x{h} gradient of input {k}"),
                    );
                }
            }
        }
    }

    fn sigmoid64(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// The cells in f64 on one row: LSTM `[h'; c']` from `[gates (4H) | c (H)]`, GRU `h'`
    /// from `[xp (3H) | hp (3H) | h (H)]`.
    fn reference(name: &str, x: &[f64], h: usize) -> Vec<f64> {
        match name {
            "lstm" => {
                let (g, c) = x.split_at(4 * h);
                let c_new: Vec<f64> = (0..h)
                    .map(|j| sigmoid64(g[h + j]) * c[j] + sigmoid64(g[j]) * g[2 * h + j].tanh())
                    .collect();
                let h_new = (0..h).map(|j| sigmoid64(g[3 * h + j]) * c_new[j].tanh());
                h_new.chain(c_new.iter().copied()).collect()
            }
            _ => {
                let (xp, rest) = x.split_at(3 * h);
                let (hp, hprev) = rest.split_at(3 * h);
                (0..h)
                    .map(|j| {
                        let r = sigmoid64(xp[j] + hp[j]);
                        let z = sigmoid64(xp[h + j] + hp[h + j]);
                        let n = (xp[2 * h + j] + r * hp[2 * h + j]).tanh();
                        (1.0 - z) * n + z * hprev[j]
                    })
                    .collect()
            }
        }
    }

    /// The fused kernels against the formulas in f64: values, and gradients against central
    /// differences of the f64 formulas.
    #[test]
    fn fused_cells_match_the_formulas_in_f64() {
        let h = 4;
        for (name, widths) in [("lstm", vec![4 * h, h]), ("gru", vec![3 * h, 3 * h, h])] {
            let xs = match name {
                "lstm" => inputs::<A, 2>([[1, 4 * h], [1, h]]).to_vec(),
                _ => inputs::<A, 3>([[1, 3 * h], [1, 3 * h], [1, h]]).to_vec(),
            };
            let row: Vec<f64> = xs
                .iter()
                .flat_map(|x| values(x.clone()))
                .map(f64::from)
                .collect();
            let leaves: Vec<Tensor<A, 2>> = xs.iter().map(|x| x.clone().require_grad()).collect();
            let out = match name {
                "lstm" => lstm(&leaves[0], &leaves[1]).unwrap(),
                _ => gru(&leaves[0], &leaves[1], &leaves[2]).unwrap(),
            };
            let want = reference(name, &row, h);
            let got: Vec<f32> = values(out.clone());
            let want32: Vec<f32> = want.iter().map(|&x| x as f32).collect();
            close(&got, &want32, 1e-6, &format!("{name} output"));
            // d sum(out) / d input, by central differences in f64.
            let grads = out.sum().backward();
            let got: Vec<f32> = leaves
                .iter()
                .flat_map(|l| l.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap())
                .collect();
            assert_eq!(got.len(), widths.iter().sum::<usize>());
            let eps = 1e-6;
            let numeric: Vec<f32> = (0..row.len())
                .map(|i| {
                    let shifted = |d: f64| {
                        let mut x = row.clone();
                        x[i] += d;
                        reference(name, &x, h).iter().sum::<f64>()
                    };
                    ((shifted(eps) - shifted(-eps)) / (2.0 * eps)) as f32
                })
                .collect();
            close(&got, &numeric, 1e-5, &format!("{name} gradient"));
        }
    }

    /// Plain ndarray (acting) runs the same forward kernel as under autodiff.
    #[test]
    fn plain_and_autodiff_forwards_agree() {
        let [g, c] = inputs::<A, 2>([[6, 8], [6, 2]]);
        let plain = lstm(&g.clone().inner(), &c.clone().inner()).unwrap();
        let tracked = lstm(&g, &c).unwrap();
        assert_eq!(plain.into_data().to_vec::<f32>().unwrap(), values(tracked));
        assert!(available::<NdArray>() && available::<A>());
        assert!(composed(|| !available::<A>()));
        // f64 tensors take the composed path.
        let f64s = |shape: [usize; 2]| {
            Tensor::<NdArray, 2>::zeros(shape, &Default::default())
                .cast(burn::tensor::FloatDType::F64)
        };
        let (g64, c64) = (f64s([2, 8]), f64s([2, 2]));
        assert_eq!(c64.dtype(), DType::F64);
        assert!(!applies(&c64));
        assert!(lstm(&g64, &c64).is_none());
    }
}
