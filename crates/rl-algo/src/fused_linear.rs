//! A fused linear layer for the CPU backends: `act(x W + b)` as one operation with its own
//! backward, for the default models' layers.
//!
//! Composed, such a layer is Burn's `linear` (a matrix product into a fresh buffer, which
//! burn-flex then copies once more to align it, and a pass that adds the bias) followed by the
//! activation's pass, and in the backward pass the activation's gradient, a reduction for the
//! bias and the two products. Here the bias is written into the output first and the matrix
//! product accumulates onto it (`gemm`, which burn-flex uses too), the activation runs in place
//! on the same buffer, and the backward pass is one pass for the activation's gradient and the
//! bias's, then the two products: at the CartPole example's sizes (minibatches of 256,
//! 64 units) per-op costs, not arithmetic, are what the composed layer spends.
//!
//! The backend is recognised at run time as in [`crate::fused`] (ndarray and flex, `f32`, plain
//! or under `Autodiff`); elsewhere [`linear`] returns `None` and the layer is composed.

use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

use crate::fused;

/// Layers whose largest `[rows, width]` tensor has this many elements or more are composed.
/// Measured on flex (AVX-512 EPYC, `benches/ppo.rs`): at the CartPole example's sizes (16 rows
/// to collect, 256 to update, 64 units) the fused layer wins; at 1024 rows x 64 units it lost
/// (collect 30 -> 40 ms) and at 1024 x 256, where burn-flex runs its passes on every core, more
/// (146 -> 197-249 ms).
const FUSED_BELOW: usize = 1 << 15;

/// The activation a fused layer applies to its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    /// None (an output layer).
    Identity,
    /// `tanh`.
    Tanh,
    /// `max(0, x)`, 0 where `x <= 0` as Burn writes it; a NaN stays NaN, so that a
    /// non-finite check still sees it.
    Relu,
}

/// `act(x W + b)` for `layer` (weights `[in, out]` and a bias) and `x` `[N, in]`, or `None`
/// where the backend has no fused kernel, the layer has no bias or its tensors reach
/// [`FUSED_BELOW`] elements: compose it instead.
pub(crate) fn linear<B: Backend>(
    x: &Tensor<B, 2>,
    layer: &Linear<B>,
    act: Act,
) -> Option<Tensor<B, 2>> {
    let [rows, input] = x.dims();
    if rows * input.max(layer.weight.dims()[1]) >= FUSED_BELOW {
        return None;
    }
    let [x, w, b] = term(x, layer)?;
    backends::run([x, w, b], act)
}

/// `x W + b` for `layer` at any size (a recurrent cell's input or hidden projection), or
/// `None` where the backend has no fused kernel or the layer has no bias.
pub(crate) fn project<B: Backend>(x: &Tensor<B, 2>, layer: &Linear<B>) -> Option<Tensor<B, 2>> {
    let [x, w, b] = term(x, layer)?;
    backends::run([x, w, b], Act::Identity)
}

/// The primitives `[x, W, b]` of one term, or `None` where the fused kernels do not apply.
fn term<B: Backend>(x: &Tensor<B, 2>, layer: &Linear<B>) -> Option<[B::FloatTensorPrimitive; 3]> {
    let bias = layer.bias.as_ref()?.val();
    let weight = layer.weight.val();
    let f32s = [x.dtype(), weight.dtype(), bias.dtype()] == [DType::F32; 3];
    if !fused::available::<B>() || !f32s {
        return None;
    }
    Some([
        x.clone().into_primitive().tensor(),
        weight.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    ])
}

#[cfg(any(feature = "ndarray", feature = "flex"))]
mod backends {
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::tensor::{TensorMetadata, TensorPrimitive};

    use super::*;
    use crate::fused::op::{self, AutodiffTensor, Cpu, Kind, cast, device, upload};

    /// Runs `act(sum of x W + b)` over the terms `[x, W, b]` laid end to end in `inputs` on
    /// the first CPU backend `I` that `B` is (or wraps in `Autodiff`).
    pub fn run<B: Backend, const N: usize>(
        inputs: [B::FloatTensorPrimitive; N],
        act: Act,
    ) -> Option<Tensor<B, 2>> {
        #[cfg(feature = "ndarray")]
        if let Some(kind) = op::kind_of::<B, burn::backend::NdArray>() {
            return Some(run_on::<B, burn::backend::NdArray, N>(kind, inputs, act));
        }
        #[cfg(feature = "flex")]
        if let Some(kind) = op::kind_of::<B, burn::backend::Flex>() {
            return Some(run_on::<B, burn::backend::Flex, N>(kind, inputs, act));
        }
        None
    }

    /// The sizes of one application: `rows` rows to `output` units, from terms of `inputs[i]`
    /// features each.
    #[derive(Debug, Clone)]
    struct Dims {
        rows: usize,
        inputs: Vec<usize>,
        output: usize,
    }

    /// What the backward pass needs (shared with the graph, not copied).
    #[derive(Debug, Clone)]
    struct Saved<I: Backend> {
        /// Each term's `[x, W]`.
        terms: Vec<[I::FloatTensorPrimitive; 2]>,
        /// The output, whose values give the activation's derivative (none without one).
        y: Option<I::FloatTensorPrimitive>,
        dims: Dims,
    }

    #[derive(Debug)]
    struct LinearBackward(Act);

    impl<I: Cpu, const N: usize> Backward<I, N> for LinearBackward {
        type State = Saved<I>;

        fn backward(self, ops: Ops<Saved<I>, N>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<I>(&ops.node);
            let dev = device::<I>(&grad);
            let Saved { terms, y, dims } = ops.state;
            let grad = I::slice(&grad);
            let y = y.as_ref().map(I::slice);
            let (dz, db) = kernels::backward(y.as_deref(), &grad, self.0, dims.output);
            let (rows, output) = (dims.rows, dims.output);
            for (([x, w], &input), parents) in terms
                .iter()
                .zip(&dims.inputs)
                .zip(ops.parents.chunks_exact(3))
            {
                let [px, pw, pb] = [0, 1, 2].map(|k| parents[k].as_ref());
                if let Some(node) = pb {
                    grads.register::<I>(node.id, upload::<I, 1>(db.clone(), [output], &dev));
                }
                let d = (rows, input, output);
                if let Some(node) = pw {
                    let dw = kernels::weight_grad(&I::slice(x), &dz, d);
                    grads.register::<I>(node.id, upload::<I, 2>(dw, [input, output], &dev));
                }
                if let Some(node) = px {
                    let dx = kernels::input_grad(&dz, &I::slice(w), d);
                    grads.register::<I>(node.id, upload::<I, 2>(dx, [rows, input], &dev));
                }
            }
        }
    }

    fn run_on<B: Backend, I: Cpu, const N: usize>(
        kind: Kind,
        inputs: [B::FloatTensorPrimitive; N],
        act: Act,
    ) -> Tensor<B, 2> {
        let forward = |x: &[I::FloatTensorPrimitive]| {
            let rows = x[0].shape()[0];
            let dims = Dims {
                rows,
                inputs: x.chunks_exact(3).map(|t| t[1].shape()[0]).collect(),
                output: x[1].shape()[1],
            };
            let slices: Vec<_> = x.iter().map(I::slice).collect();
            let terms: Vec<[&[f32]; 3]> = slices
                .chunks_exact(3)
                .map(|t| [&*t[0], &*t[1], &*t[2]])
                .collect();
            let out = kernels::forward(&terms, act, &dims);
            let out = upload::<I, 2>(out, [rows, dims.output], &device::<I>(&x[0]));
            (out, dims)
        };
        let out = match kind {
            Kind::Plain => {
                let x: [I::FloatTensorPrimitive; N] = inputs.map(cast);
                cast::<_, B::FloatTensorPrimitive>(forward(&x).0)
            }
            Kind::Autodiff => {
                let tensors: [AutodiffTensor<I>; N] = inputs.map(cast);
                let nodes = tensors.each_ref().map(|t| t.node.clone());
                let x = tensors.map(|t| t.primitive);
                let (out, dims) = forward(&x);
                let prep = <LinearBackward as Backward<I, N>>::prepare::<NoCheckpointing>(
                    LinearBackward(act),
                    nodes,
                );
                let out = match prep.compute_bound().stateful() {
                    OpsKind::Tracked(prep) => {
                        let terms = x
                            .chunks_exact(3)
                            .map(|t| [t[0].clone(), t[1].clone()])
                            .collect();
                        let y = (act != Act::Identity).then(|| out.clone());
                        prep.finish(Saved { terms, y, dims }, out)
                    }
                    OpsKind::UnTracked(prep) => prep.finish(out),
                };
                cast::<_, B::FloatTensorPrimitive>(out)
            }
        };
        Tensor::from_primitive(TensorPrimitive::Float(out))
    }

    /// The layer's arithmetic over row-major host slices.
    mod kernels {
        use std::borrow::Cow;

        use super::{Act, Dims};
        use crate::fused::op;

        /// `(rows, input, output)` of one term.
        pub type Sizes = (usize, usize, usize);
        use crate::fast_math::{simd, tanh};

        /// Products at least this large (multiply-adds) use every core, as in burn-flex.
        const PARALLEL_FROM: usize = 192 * 192 * 192;

        /// [`op::gemm`] on every core where the product is large enough.
        fn gemm(
            dims: (usize, usize, usize),
            dst: &mut [f32],
            accumulate: bool,
            lhs: (&[f32], usize, usize),
            rhs: (&[f32], usize, usize),
        ) {
            let (m, n, k) = dims;
            op::gemm(dims, dst, accumulate, lhs, rhs, m * n * k >= PARALLEL_FROM);
        }

        /// `act(sum of x W + b)` over the terms `[x, W, b]`, `[rows, output]`.
        pub fn forward(terms: &[[&[f32]; 3]], act: Act, d: &Dims) -> Vec<f32> {
            let mut bias = terms[0][2].to_vec();
            for [_, _, b] in &terms[1..] {
                bias.iter_mut().zip(*b).for_each(|(s, b)| *s += b);
            }
            let mut out = Vec::with_capacity(d.rows * d.output);
            for _ in 0..d.rows {
                out.extend_from_slice(&bias);
            }
            for (&[x, w, _], &input) in terms.iter().zip(&d.inputs) {
                gemm(
                    (d.rows, d.output, input),
                    &mut out,
                    true,
                    (x, input, 1),
                    (w, d.output, 1),
                );
            }
            match act {
                Act::Identity => {}
                Act::Tanh => simd(
                    #[inline(always)]
                    || out.iter_mut().for_each(|v| *v = tanh(*v)),
                ),
                // As Burn writes it: 0 where `v <= 0` (so `-0` too); NaN stays NaN.
                Act::Relu => out.iter_mut().for_each(|v| {
                    if *v <= 0.0 {
                        *v = 0.0
                    }
                }),
            }
            out
        }

        /// The gradient of the pre-activation `dz = grad * act'` (from the output `y`; `grad`
        /// itself without an activation) and the bias's, its column sums.
        pub fn backward<'a>(
            y: Option<&[f32]>,
            grad: &'a [f32],
            act: Act,
            output: usize,
        ) -> (Cow<'a, [f32]>, Vec<f32>) {
            let y = || y.expect("an activation's output is saved");
            let dz: Cow<'a, [f32]> = match act {
                Act::Identity => Cow::Borrowed(grad),
                Act::Tanh => Cow::Owned(simd(
                    #[inline(always)]
                    || {
                        y().iter()
                            .zip(grad)
                            .map(|(&y, &g)| g * (1.0 - y * y))
                            .collect()
                    },
                )),
                Act::Relu => Cow::Owned(
                    y().iter()
                        .zip(grad)
                        .map(|(&y, &g)| if y > 0.0 { g } else { 0.0 })
                        .collect(),
                ),
            };
            let mut db = vec![0.0f32; output];
            for row in dz.chunks_exact(output) {
                for (s, &g) in db.iter_mut().zip(row) {
                    *s += g;
                }
            }
            (dz, db)
        }

        /// `x^T dz`, `[input, output]`.
        pub fn weight_grad(x: &[f32], dz: &[f32], (rows, input, output): Sizes) -> Vec<f32> {
            let mut dw = vec![0.0; input * output];
            gemm(
                (input, output, rows),
                &mut dw,
                false,
                (x, 1, input),
                (dz, output, 1),
            );
            dw
        }

        /// `dz W^T`, `[rows, input]`.
        pub fn input_grad(dz: &[f32], w: &[f32], (rows, input, output): Sizes) -> Vec<f32> {
            let mut dx = vec![0.0; rows * input];
            gemm(
                (rows, input, output),
                &mut dx,
                false,
                (dz, output, 1),
                (w, 1, output),
            );
            dx
        }
    }
}

/// Without a CPU backend feature: no kernels.
#[cfg(not(any(feature = "ndarray", feature = "flex")))]
mod backends {
    use super::*;

    pub fn run<B: Backend, const N: usize>(
        _: [B::FloatTensorPrimitive; N],
        _: Act,
    ) -> Option<Tensor<B, 2>> {
        None
    }
}

#[cfg(all(test, feature = "ndarray"))]
mod tests {
    use burn::backend::{Autodiff, NdArray};
    use burn::module::Param;
    use burn::nn::LinearConfig;
    use burn::tensor::backend::AutodiffBackend;
    use burn::tensor::{Distribution, TensorData};

    use super::*;
    use crate::fused::tests::{close, values};

    /// The fused layer against Burn's `Linear` and activation: values, and the gradients of
    /// `sum(out * weights)` with respect to the input, the weights and the bias, for each
    /// activation, on ndarray and flex, from a tiny odd shape to one whose products use
    /// every core.
    #[test]
    fn fused_linear_equals_burns_values_and_gradients() {
        equals_burns::<Autodiff<NdArray>>();
        #[cfg(feature = "flex")]
        equals_burns::<Autodiff<burn::backend::Flex>>();
    }

    fn equals_burns<X: AutodiffBackend>() {
        let device = Default::default();
        for (rows, input, output) in [(3, 5, 7), (256, 4, 64), (120, 256, 256)] {
            let normal = |shape: Vec<usize>| {
                Tensor::<X, 2>::random(
                    [shape[0], shape[1]],
                    Distribution::Normal(0.0, 1.0),
                    &device,
                )
            };
            let x = normal(vec![rows, input]);
            let w = normal(vec![input, output]);
            let b = normal(vec![1, output]).reshape([output]);
            let weights = normal(vec![rows, output]).detach();
            for act in [Act::Identity, Act::Tanh, Act::Relu] {
                let run = |fused: bool| {
                    let x = x.clone().detach().require_grad();
                    let mut layer = LinearConfig::new(input, output).init::<X>(&device);
                    layer.weight = Param::from_tensor(w.clone().detach().require_grad());
                    layer.bias = Some(Param::from_tensor(b.clone().detach().require_grad()));
                    let out = if fused {
                        linear(&x, &layer, act).expect("the backend has the kernel")
                    } else {
                        let z = layer.forward(x.clone());
                        match act {
                            Act::Identity => z,
                            Act::Tanh => z.tanh(),
                            Act::Relu => burn::tensor::activation::relu(z),
                        }
                    };
                    let grads = (out.clone() * weights.clone()).sum().backward();
                    let grad_w = layer.weight.val().grad(&grads).unwrap();
                    let grad_b = layer.bias.as_ref().unwrap().val().grad(&grads).unwrap();
                    (
                        values(out),
                        values(x.grad(&grads).unwrap()),
                        values(grad_w),
                        values(grad_b),
                    )
                };
                let fused = run(true);
                let burn = run(false);
                let what = format!("{act:?} {rows}x{input}->{output}");
                close(&fused.0, &burn.0, 1e-5, &format!("{what} output"));
                close(&fused.1, &burn.1, 1e-4, &format!("{what} input gradient"));
                close(&fused.2, &burn.2, 1e-4, &format!("{what} weight gradient"));
                close(&fused.3, &burn.3, 1e-4, &format!("{what} bias gradient"));
            }
        }
    }

    /// Against the formulas in f64 on a small case, and a NaN input stays NaN through ReLU.
    #[test]
    fn fused_linear_matches_f64_and_keeps_nan() {
        type X = Autodiff<NdArray>;
        let device = Default::default();
        let (xs, ws, bs) = (
            [0.5f32, -1.0, 2.0, 0.25],
            [1.0f32, -2.0, 0.5, 3.0],
            [0.1f32, -0.2],
        );
        let x = Tensor::<X, 2>::from_data(TensorData::new(xs.to_vec(), [2, 2]), &device);
        let mut layer = LinearConfig::new(2, 2).init::<X>(&device);
        layer.weight = Param::from_tensor(Tensor::from_data(
            TensorData::new(ws.to_vec(), [2, 2]),
            &device,
        ));
        layer.bias = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(bs.to_vec(), [2]),
            &device,
        )));
        let got = values(linear(&x, &layer, Act::Tanh).unwrap());
        for r in 0..2 {
            for j in 0..2 {
                let z: f64 = f64::from(bs[j])
                    + (0..2)
                        .map(|i| f64::from(xs[r * 2 + i]) * f64::from(ws[i * 2 + j]))
                        .sum::<f64>();
                assert!(
                    (f64::from(got[r * 2 + j]) - z.tanh()).abs() < 1e-6,
                    "row {r} unit {j}"
                );
            }
        }
        let nan = Tensor::<X, 2>::from_data([[f32::NAN, 1.0]], &device);
        assert!(values(linear(&nan, &layer, Act::Relu).unwrap())[0].is_nan());
        // A batch as large as FUSED_BELOW is left to the composed layer.
        let large = Tensor::<X, 2>::zeros([FUSED_BELOW / 2, 2], &device);
        assert!(linear(&large, &layer, Act::Tanh).is_none());
    }
}
