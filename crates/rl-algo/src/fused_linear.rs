//! A fused linear layer for the CPU backends: `act(x W + b)` as one operation with its own
//! backward, for the default models' layers.
//!
//! Composed, such a layer is Burn's `linear` (a matrix product into a fresh buffer, which
//! burn-flex then copies once more to align it, and a pass that adds the bias) followed by the
//! activation's pass, and in the backward pass the activation's gradient, a reduction for the
//! bias and the two products. Here the matrix product (`gemm`, which burn-flex uses too) writes
//! into a buffer nothing has touched yet, one pass adds the bias and applies the activation in
//! place, and the backward pass is one pass for the activation's gradient and the bias's, then
//! the two products; the loops are selects that vectorize, not branches (a branchy ReLU took a
//! tenth of the 64x64 update). At the CartPole example's sizes (minibatches of 256,
//! 64 units) per-op costs, not arithmetic, are what the composed layer spends. Larger batches
//! go through in blocks of rows (`fused::op::for_blocks`), each block's passes while it is in
//! cache, the blocks on every core: at rl8's 65,536-row minibatches the composed layer's
//! passes were waiting on memory.
//!
//! The backend is recognised at run time as in [`crate::fused`] (ndarray and flex, `f32`, plain
//! or under `Autodiff`); elsewhere [`linear`] returns `None` and the layer is composed.

use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

use crate::fused;

/// Outside autodiff (acting), layers whose largest `[rows, width]` tensor has this many
/// elements or more are composed. Measured on flex (AVX-512 EPYC, `benches/ppo.rs`, the collect
/// of rl8's CartPole at 1024 environments): fused, the forward passes lost (64 units: collect
/// 30-32 -> 37-45 ms; 256 units: 138-141 -> 158-218 ms) although the products alone were as fast
/// as burn-flex's; under autodiff (the update) fused layers of every size win.
const ACTING_FUSED_BELOW: usize = 1 << 15;

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
/// where the backend has no fused kernel, the layer has no bias, or outside autodiff its
/// tensors reach [`ACTING_FUSED_BELOW`] elements: compose it instead.
pub(crate) fn linear<B: Backend>(
    x: &Tensor<B, 2>,
    layer: &Linear<B>,
    act: Act,
) -> Option<Tensor<B, 2>> {
    let [rows, input] = x.dims();
    let large = rows * input.max(layer.weight.dims()[1]) >= ACTING_FUSED_BELOW;
    if large && !B::ad_enabled(&x.device()) {
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

    /// Runs `act(x W + b)` on the first CPU backend `I` that `B` is (or wraps in `Autodiff`).
    pub fn run<B: Backend>(inputs: [B::FloatTensorPrimitive; 3], act: Act) -> Option<Tensor<B, 2>> {
        #[cfg(feature = "ndarray")]
        if let Some(kind) = op::kind_of::<B, burn::backend::NdArray>() {
            return Some(run_on::<B, burn::backend::NdArray>(kind, inputs, act));
        }
        #[cfg(feature = "flex")]
        if let Some(kind) = op::kind_of::<B, burn::backend::Flex>() {
            return Some(run_on::<B, burn::backend::Flex>(kind, inputs, act));
        }
        None
    }

    /// What the backward pass needs (shared with the graph, not copied).
    #[derive(Debug, Clone)]
    struct Saved<I: Backend> {
        x: I::FloatTensorPrimitive,
        w: I::FloatTensorPrimitive,
        /// The output, whose values give the activation's derivative (none without one).
        y: Option<I::FloatTensorPrimitive>,
        dims: kernels::Dims,
    }

    #[derive(Debug)]
    struct LinearBackward(Act);

    impl<I: Cpu> Backward<I, 3> for LinearBackward {
        type State = Saved<I>;

        fn backward(self, ops: Ops<Saved<I>, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<I>(&ops.node);
            let dev = device::<I>(&grad);
            let Saved { x, w, y, dims } = ops.state;
            let [px, pw, pb] = ops.parents;
            let y = y.as_ref().map(I::slice);
            let g = kernels::backward(
                [&I::slice(&x), &I::slice(&w)],
                y.as_deref(),
                &I::slice(&grad),
                self.0,
                dims,
                px.is_some(),
            );
            let kernels::Dims {
                rows,
                input,
                output,
            } = dims;
            if let Some(node) = pb {
                grads.register::<I>(node.id, upload::<I, 1>(g.db, [output], &dev));
            }
            if let Some(node) = pw {
                grads.register::<I>(node.id, upload::<I, 2>(g.dw, [input, output], &dev));
            }
            if let Some(node) = px {
                grads.register::<I>(node.id, upload::<I, 2>(g.dx, [rows, input], &dev));
            }
        }
    }

    fn run_on<B: Backend, I: Cpu>(
        kind: Kind,
        inputs: [B::FloatTensorPrimitive; 3],
        act: Act,
    ) -> Tensor<B, 2> {
        let forward = |[x, w, b]: &[I::FloatTensorPrimitive; 3]| {
            let dims = kernels::Dims {
                rows: x.shape()[0],
                input: x.shape()[1],
                output: w.shape()[1],
            };
            let out = kernels::forward([&I::slice(x), &I::slice(w), &I::slice(b)], act, dims);
            let out = upload::<I, 2>(out, [dims.rows, dims.output], &device::<I>(x));
            (out, dims)
        };
        let out = match kind {
            Kind::Plain => {
                let x: [I::FloatTensorPrimitive; 3] = inputs.map(cast);
                cast::<_, B::FloatTensorPrimitive>(forward(&x).0)
            }
            Kind::Autodiff => {
                let tensors: [AutodiffTensor<I>; 3] = inputs.map(cast);
                let nodes = tensors.each_ref().map(|t| t.node.clone());
                let t = tensors.map(|t| t.primitive);
                let (out, dims) = forward(&t);
                let prep = <LinearBackward as Backward<I, 3>>::prepare::<NoCheckpointing>(
                    LinearBackward(act),
                    nodes,
                );
                let out = match prep.compute_bound().stateful() {
                    OpsKind::Tracked(prep) => {
                        let [x, w, _] = t;
                        let y = (act != Act::Identity).then(|| out.clone());
                        prep.finish(Saved { x, w, y, dims }, out)
                    }
                    OpsKind::UnTracked(prep) => prep.finish(out),
                };
                cast::<_, B::FloatTensorPrimitive>(out)
            }
        };
        Tensor::from_primitive(TensorPrimitive::Float(out))
    }

    /// The layer's arithmetic over row-major host slices, in blocks of rows on rayon's pool
    /// (`op::for_blocks`): each block's passes run while it is in cache.
    mod kernels {
        use super::Act;
        use crate::fast_math::{simd, tanh};
        use crate::fused::op::{ROWS, block_product_backward, for_blocks, gemm_into};

        const PARALLEL_ABOVE: usize = 192 * 192 * 192;

        /// The sizes of one application: `rows` rows of `input` features to `output` units.
        #[derive(Debug, Clone, Copy)]
        pub struct Dims {
            pub rows: usize,
            pub input: usize,
            pub output: usize,
        }

        /// Whether a layer's blocks run on every core: from as many multiply-adds as
        /// burn-flex's products (below, the fork and join cost more than they save).
        fn parallel(d: Dims) -> bool {
            d.rows * d.input * d.output > PARALLEL_ABOVE
        }

        /// `act(x W + b)`, `[rows, output]`.
        pub fn forward([x, w, b]: [&[f32]; 3], act: Act, d: Dims) -> Vec<f32> {
            let Dims {
                rows,
                input,
                output,
            } = d;
            let mut out = Box::<[f32]>::new_uninit_slice(rows * output);
            for_blocks(
                parallel(d),
                rows,
                [output],
                [&mut out[..]],
                || (),
                |_, first, [out]| {
                    let n = out.len() / output;
                    let x = &x[first * input..][..n * input];
                    let out = gemm_into((n, output, input), out, (x, input, 1), (w, output, 1));
                    bias_and_activate(out, b, act);
                },
                |(), ()| (),
            );
            // SAFETY: the blocks cover every row, and `gemm_into` wrote each block in full.
            unsafe { out.assume_init() }.into_vec()
        }

        /// Adds the bias `b` to every row of `out` and applies `act`, in place. Written as
        /// selects, not conditional stores, so that the loops vectorize.
        fn bias_and_activate(out: &mut [f32], b: &[f32], act: Act) {
            let rows = out.chunks_exact_mut(b.len());
            match act {
                Act::Identity => simd(
                    #[inline(always)]
                    || rows.for_each(|row| row.iter_mut().zip(b).for_each(|(v, b)| *v += b)),
                ),
                Act::Tanh => simd(
                    #[inline(always)]
                    || {
                        rows.for_each(|row| {
                            row.iter_mut().zip(b).for_each(|(v, b)| *v = tanh(*v + b))
                        })
                    },
                ),
                // As Burn writes it: 0 where `v <= 0` (so `-0` too); NaN stays NaN.
                Act::Relu => simd(
                    #[inline(always)]
                    || {
                        rows.for_each(|row| {
                            row.iter_mut().zip(b).for_each(|(v, b)| {
                                let z = *v + b;
                                *v = if z <= 0.0 { 0.0 } else { z }
                            })
                        })
                    },
                ),
            }
        }

        /// The pre-activation's gradient into `dz` (`grad` itself without an activation) from
        /// the output's, `grad`, and the output, `y`; its column sums are added to `db`.
        fn activation_backward<'a>(
            act: Act,
            y: impl FnOnce() -> &'a [f32],
            grad: &'a [f32],
            dz: &'a mut Vec<f32>,
            db: &mut [f32],
        ) -> &'a [f32] {
            let dz: &[f32] = match act {
                Act::Identity => grad,
                Act::Tanh | Act::Relu => {
                    let y = y();
                    dz.resize(grad.len(), 0.0);
                    simd(
                        #[inline(always)]
                        || {
                            let pairs = dz.iter_mut().zip(y.iter().zip(grad));
                            if act == Act::Tanh {
                                pairs.for_each(|(d, (&y, &g))| *d = g * (1.0 - y * y));
                            } else {
                                pairs.for_each(|(d, (&y, &g))| *d = if y > 0.0 { g } else { 0.0 });
                            }
                        },
                    );
                    dz
                }
            };
            simd(
                #[inline(always)]
                || {
                    for row in dz.chunks_exact(db.len()) {
                        db.iter_mut().zip(row).for_each(|(s, &g)| *s += g);
                    }
                },
            );
            dz
        }

        /// The gradients of a layer's input (empty unless asked for), weights and bias.
        pub struct Grads {
            pub dx: Vec<f32>,
            pub dw: Vec<f32>,
            pub db: Vec<f32>,
        }

        /// A run of blocks' sums toward the weights' and the bias's gradients, and its scratch
        /// space for the pre-activation's gradient.
        struct Sums {
            dw: Vec<f32>,
            db: Vec<f32>,
            dz: Vec<f32>,
        }

        /// The gradients from `grad`, the output's, and `y`, the output (for the
        /// activation's derivative; `None` without one); the input's only `with_dx`.
        pub fn backward(
            [x, w]: [&[f32]; 2],
            y: Option<&[f32]>,
            grad: &[f32],
            act: Act,
            d: Dims,
            with_dx: bool,
        ) -> Grads {
            let Dims {
                rows,
                input,
                output,
            } = d;
            let mut dx = Box::<[f32]>::new_uninit_slice(if with_dx { rows * input } else { 0 });
            let zeros = || Sums {
                dw: vec![0.0; input * output],
                db: vec![0.0; output],
                dz: Vec::new(),
            };
            let dx_width = if with_dx { input } else { 0 };
            let sums = for_blocks(
                parallel(d),
                rows,
                [dx_width],
                [&mut dx[..]],
                zeros,
                |sums, first, [dx]| {
                    let n = ROWS.min(rows - first);
                    let grad = &grad[first * output..][..n * output];
                    let y = || {
                        &y.expect("an activation's output is saved")[first * output..][..n * output]
                    };
                    let Sums { dw, db, dz } = sums;
                    let dz = activation_backward(act, y, grad, dz, db);
                    let x = &x[first * input..][..n * input];
                    let dx = with_dx.then_some(dx);
                    block_product_backward(dz, x, w, (n, input, output), dw, dx);
                },
                |mut a, b| {
                    a.dw.iter_mut().zip(&b.dw).for_each(|(a, b)| *a += b);
                    a.db.iter_mut().zip(&b.db).for_each(|(a, b)| *a += b);
                    a
                },
            );
            Grads {
                // SAFETY: the blocks cover every row, and the product wrote each block's `dx`
                // in full (or `dx` is empty).
                dx: unsafe { dx.assume_init() }.into_vec(),
                dw: sums.dw,
                db: sums.db,
            }
        }
    }
}

/// Without a CPU backend feature: no kernels.
#[cfg(not(any(feature = "ndarray", feature = "flex")))]
mod backends {
    use super::*;

    pub fn run<B: Backend>(_: [B::FloatTensorPrimitive; 3], _: Act) -> Option<Tensor<B, 2>> {
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
        for (rows, input, output) in [
            (3, 5, 7),
            (256, 4, 64),
            (600, 8, 16),
            (120, 256, 256),
            (700, 64, 200),
        ] {
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
        // A batch as large as ACTING_FUSED_BELOW is fused under autodiff, composed outside it.
        let large = Tensor::<X, 2>::zeros([ACTING_FUSED_BELOW / 2, 2], &device);
        assert!(linear(&large, &layer, Act::Tanh).is_some());
        let plain = burn::module::AutodiffModule::valid(&layer);
        assert!(linear(&large.inner(), &plain, Act::Tanh).is_none());
    }
}
