//! Fused linear layers for the CPU backends: a stack of layers `act(x W + b)`, a whole MLP, as
//! one operation with its own backward, for the default models.
//!
//! Composed, each layer is Burn's `linear` (a matrix product into a fresh buffer, which
//! burn-flex then copies once more to align it, and a pass that adds the bias) followed by the
//! activation's pass, and in the backward pass the activation's gradient, a reduction for the
//! bias and the two products, every intermediate a tensor in memory. Here the rows go through in
//! blocks (`fused::op::for_blocks`, on every core), and each block goes through every layer
//! while it is in cache: the matrix product (`gemm`, which burn-flex uses too) writes into a
//! buffer nothing has touched yet, one pass adds the bias and applies the activation. The
//! backward pass takes each block back through the layers the same way: the activation's
//! gradient and the bias's in one pass, then the two products, the gradient of a layer's input
//! staying in cache as the next layer's output gradient. Only the hidden layers' outputs are
//! kept between the passes (the activations' derivatives and the weights' gradients need them);
//! outside autodiff (acting) not even those, which is why acting at 1024 rows gains too. The
//! loops are selects that vectorize, not branches (a branchy ReLU took a tenth of the 64x64
//! update).
//!
//! The backend is recognised at run time as in [`crate::fused`] (ndarray and flex, `f32`, plain
//! or under `Autodiff`); elsewhere [`mlp`] returns `None` and the layers are composed.

use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

use crate::fused;

/// The most layers one fused operation takes (its inputs are a fixed-size array); longer stacks
/// run as several.
const MAX_LAYERS: usize = 4;

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

/// `x` `[N, in]` through `layers` in turn, each `act(x W + b)` (weights `[in, out]`; a layer
/// without a bias adds zeros), or `None` where the backend has no fused kernel: compose them
/// instead.
pub(crate) fn mlp<B: Backend>(
    x: &Tensor<B, 2>,
    layers: &[(&Linear<B>, Act)],
) -> Option<Tensor<B, 2>> {
    if !fused::available::<B>() || x.dtype() != DType::F32 || layers.is_empty() {
        return None;
    }
    let mut params = Vec::new();
    let mut acts = Vec::new();
    for (layer, act) in layers {
        let weight = layer.weight.val();
        let bias = match &layer.bias {
            Some(bias) => bias.val(),
            // Not tracked, so no gradient is computed for it.
            None => Tensor::zeros([weight.dims()[1]], &weight.device()),
        };
        if [weight.dtype(), bias.dtype()] != [DType::F32; 2] {
            return None;
        }
        params.push(weight.into_primitive().tensor());
        params.push(bias.into_primitive().tensor());
        acts.push(*act);
    }
    let mut y = x.clone();
    let groups = params.chunks(2 * MAX_LAYERS).zip(acts.chunks(MAX_LAYERS));
    for (params, acts) in groups {
        let x = y.into_primitive().tensor();
        let inputs = std::iter::once(x).chain(params.iter().cloned()).collect();
        y = backends::run::<B>(inputs, acts)?;
    }
    Some(y)
}

/// `x W + b` for `layer` (a recurrent cell's input or hidden projection), or `None` where the
/// backend has no fused kernel.
pub(crate) fn project<B: Backend>(x: &Tensor<B, 2>, layer: &Linear<B>) -> Option<Tensor<B, 2>> {
    mlp(x, &[(layer, Act::Identity)])
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

    /// Runs `inputs` (`[x, W_0, b_0, W_1, b_1, ...]`) through the layers with `acts` on the
    /// first CPU backend `I` that `B` is (or wraps in `Autodiff`).
    pub fn run<B: Backend>(
        inputs: Vec<B::FloatTensorPrimitive>,
        acts: &[Act],
    ) -> Option<Tensor<B, 2>> {
        #[cfg(feature = "ndarray")]
        if let Some(kind) = op::kind_of::<B, burn::backend::NdArray>() {
            return run_sized::<B, burn::backend::NdArray>(kind, inputs, acts);
        }
        #[cfg(feature = "flex")]
        if let Some(kind) = op::kind_of::<B, burn::backend::Flex>() {
            return run_sized::<B, burn::backend::Flex>(kind, inputs, acts);
        }
        None
    }

    /// The operation with as many inputs as `acts` has layers (the autodiff node's parents are
    /// a fixed-size array).
    fn run_sized<B: Backend, I: Cpu>(
        kind: Kind,
        inputs: Vec<B::FloatTensorPrimitive>,
        acts: &[Act],
    ) -> Option<Tensor<B, 2>> {
        fn on<B: Backend, I: Cpu, const N: usize>(
            kind: Kind,
            inputs: Vec<B::FloatTensorPrimitive>,
            acts: &[Act],
        ) -> Option<Tensor<B, 2>> {
            Some(run_on::<B, I, N>(kind, inputs.try_into().ok()?, acts))
        }
        match acts.len() {
            1 => on::<B, I, 3>(kind, inputs, acts),
            2 => on::<B, I, 5>(kind, inputs, acts),
            3 => on::<B, I, 7>(kind, inputs, acts),
            4 => on::<B, I, 9>(kind, inputs, acts),
            _ => None,
        }
    }

    /// What the backward pass needs (shared with the graph, not copied).
    #[derive(Debug, Clone)]
    struct Saved<I: Backend> {
        x: I::FloatTensorPrimitive,
        weights: Vec<I::FloatTensorPrimitive>,
        /// The hidden layers' outputs, in the blocks' layout (`kernels::forward`).
        hidden: Vec<f32>,
        /// The last layer's output, whose values give its activation's derivative (none
        /// without one).
        y: Option<I::FloatTensorPrimitive>,
        dims: kernels::Dims,
    }

    #[derive(Debug)]
    struct MlpBackward(Vec<Act>);

    impl<I: Cpu, const N: usize> Backward<I, N> for MlpBackward {
        type State = Saved<I>;

        fn backward(self, ops: Ops<Saved<I>, N>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<I>(&ops.node);
            let dev = device::<I>(&grad);
            let Saved {
                x,
                weights,
                hidden,
                y,
                dims,
            } = ops.state;
            let [px, params @ ..] = &ops.parents[..] else {
                unreachable!("an operation has its input among its parents")
            };
            let x = I::slice(&x);
            let weights: Vec<_> = weights.iter().map(I::slice).collect();
            let weights: Vec<&[f32]> = weights.iter().map(|w| &**w).collect();
            let y = y.as_ref().map(I::slice);
            let g = kernels::backward(
                &x,
                (&weights, &self.0),
                &hidden,
                y.as_deref(),
                &I::slice(&grad),
                &dims,
                px.is_some(),
            );
            for (l, (dw, db)) in g.dw.into_iter().zip(g.db).enumerate() {
                let [input, output] = [dims.widths[l], dims.widths[l + 1]];
                if let Some(node) = &params[2 * l] {
                    grads.register::<I>(node.id, upload::<I, 2>(dw, [input, output], &dev));
                }
                if let Some(node) = &params[2 * l + 1] {
                    grads.register::<I>(node.id, upload::<I, 1>(db, [output], &dev));
                }
            }
            if let Some(node) = px {
                grads.register::<I>(
                    node.id,
                    upload::<I, 2>(g.dx, [dims.rows, dims.widths[0]], &dev),
                );
            }
        }
    }

    fn run_on<B: Backend, I: Cpu, const N: usize>(
        kind: Kind,
        inputs: [B::FloatTensorPrimitive; N],
        acts: &[Act],
    ) -> Tensor<B, 2> {
        // `(output, hidden outputs, dims)`; the hidden outputs only `keep`.
        let forward = |t: &[I::FloatTensorPrimitive; N], keep: bool| {
            let [x, params @ ..] = &t[..] else {
                unreachable!("an operation has its input")
            };
            let mut widths = vec![x.shape()[1]];
            widths.extend(params.chunks_exact(2).map(|p| p[0].shape()[1]));
            let dims = kernels::Dims {
                rows: x.shape()[0],
                widths,
            };
            let slices: Vec<_> = params.iter().map(I::slice).collect();
            let layers: Vec<kernels::Layer<'_>> = slices
                .chunks_exact(2)
                .zip(acts)
                .map(|(p, &act)| kernels::Layer {
                    w: &p[0],
                    b: &p[1],
                    act,
                })
                .collect();
            let (out, hidden) = kernels::forward(&I::slice(x), &layers, &dims, keep);
            let out = upload::<I, 2>(out, [dims.rows, dims.output()], &device::<I>(x));
            (out, hidden, dims)
        };
        let out = match kind {
            Kind::Plain => {
                let x: [I::FloatTensorPrimitive; N] = inputs.map(cast);
                cast::<_, B::FloatTensorPrimitive>(forward(&x, false).0)
            }
            Kind::Autodiff => {
                let tensors: [AutodiffTensor<I>; N] = inputs.map(cast);
                let nodes = tensors.each_ref().map(|t| t.node.clone());
                let t = tensors.map(|t| t.primitive);
                let prep = <MlpBackward as Backward<I, N>>::prepare::<NoCheckpointing>(
                    MlpBackward(acts.to_vec()),
                    nodes,
                );
                let out = match prep.compute_bound().stateful() {
                    OpsKind::Tracked(prep) => {
                        let (out, hidden, dims) = forward(&t, true);
                        let [x, params @ ..] = &t[..] else {
                            unreachable!("an operation has its input")
                        };
                        let last = acts.last().copied().unwrap_or(Act::Identity);
                        let y = (last != Act::Identity).then(|| out.clone());
                        let weights = params.iter().step_by(2).cloned().collect();
                        let state = Saved {
                            x: x.clone(),
                            weights,
                            hidden,
                            y,
                            dims,
                        };
                        prep.finish(state, out)
                    }
                    OpsKind::UnTracked(prep) => prep.finish(forward(&t, false).0),
                };
                cast::<_, B::FloatTensorPrimitive>(out)
            }
        };
        Tensor::from_primitive(TensorPrimitive::Float(out))
    }

    /// The stack's arithmetic over row-major host slices, in blocks of rows on rayon's pool
    /// (`op::for_blocks`): each block goes through every layer while it is in cache.
    mod kernels {
        use core::mem::MaybeUninit;

        use super::Act;
        use crate::fast_math::{simd, tanh};
        use crate::fused::op::{ROWS, block_product_backward, for_blocks, gemm_into, overwritten};

        const PARALLEL_ABOVE: usize = 192 * 192 * 192;

        /// The sizes of one application: `rows` rows, `widths[0]` input features and
        /// `widths[l + 1]` units out of layer `l`.
        #[derive(Debug, Clone)]
        pub struct Dims {
            pub rows: usize,
            pub widths: Vec<usize>,
        }

        impl Dims {
            pub fn output(&self) -> usize {
                self.widths[self.widths.len() - 1]
            }

            /// The hidden layers' units (every layer's but the last).
            fn hidden(&self) -> &[usize] {
                &self.widths[1..self.widths.len() - 1]
            }

            /// Whether the blocks run on every core: from as many multiply-adds as
            /// burn-flex's products (below, the fork and join cost more than they save).
            fn parallel(&self) -> bool {
                let per_row: usize = self.widths.windows(2).map(|w| w[0] * w[1]).sum();
                self.rows * per_row > PARALLEL_ABOVE
            }
        }

        /// One layer of the forward pass: weights `[in, out]`, bias `[out]`.
        pub struct Layer<'a> {
            pub w: &'a [f32],
            pub b: &'a [f32],
            pub act: Act,
        }

        /// A block's hidden outputs split by layer: the block of `n` rows holds layer 0's
        /// `[n, widths[1]]`, then layer 1's, and so on, each contiguous.
        fn split<'a, T>(mut block: &'a mut [T], n: usize, hidden: &[usize]) -> Vec<&'a mut [T]> {
            hidden
                .iter()
                .map(|&w| {
                    let (head, tail) = std::mem::take(&mut block).split_at_mut(n * w);
                    block = tail;
                    head
                })
                .collect()
        }

        /// `(output, hidden)`: the last layer's output `[rows, output]` and, when `keep`, the
        /// hidden layers' outputs, by blocks of rows as [`split`] arranges them (else empty).
        pub fn forward(
            x: &[f32],
            layers: &[Layer<'_>],
            d: &Dims,
            keep: bool,
        ) -> (Vec<f32>, Vec<f32>) {
            let hidden: usize = d.hidden().iter().sum();
            let output = d.output();
            let mut out = Box::<[f32]>::new_uninit_slice(d.rows * output);
            let mut kept = Box::<[f32]>::new_uninit_slice(if keep { d.rows * hidden } else { 0 });
            for_blocks(
                d.parallel(),
                d.rows,
                [output, if keep { hidden } else { 0 }],
                [&mut out[..], &mut kept[..]],
                Vec::new,
                |scratch: &mut Vec<MaybeUninit<f32>>, first, [out, kept]| {
                    let n = out.len() / output;
                    let block = if keep {
                        kept
                    } else {
                        scratch.resize(n * hidden, MaybeUninit::uninit());
                        &mut scratch[..n * hidden]
                    };
                    let mut targets = split(block, n, d.hidden());
                    targets.push(out);
                    let mut input = &x[first * d.widths[0]..][..n * d.widths[0]];
                    for ((layer, target), io) in layers.iter().zip(targets).zip(d.widths.windows(2))
                    {
                        let y = gemm_into(
                            (n, io[1], io[0]),
                            target,
                            (input, io[0], 1),
                            (layer.w, io[1], 1),
                        );
                        bias_and_activate(y, layer.b, layer.act);
                        input = y;
                    }
                },
                |a, _| a,
            );
            // SAFETY: the blocks cover every row, and each block's layers wrote all of it.
            unsafe { (out.assume_init().into_vec(), kept.assume_init().into_vec()) }
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

        /// The pre-activation's gradient into `dz` from the output's, `grad`, and the
        /// output, `y`; its column sums are added to `db`. Without an activation it is `grad`
        /// itself, and `dz` is left alone.
        fn activation_backward(
            act: Act,
            y: &[f32],
            grad: &[f32],
            dz: &mut Vec<f32>,
            db: &mut [f32],
        ) -> bool {
            let wrote = act != Act::Identity;
            if wrote {
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
            }
            let dz: &[f32] = if wrote { &dz[..grad.len()] } else { grad };
            simd(
                #[inline(always)]
                || {
                    for row in dz.chunks_exact(db.len()) {
                        db.iter_mut().zip(row).for_each(|(s, &g)| *s += g);
                    }
                },
            );
            wrote
        }

        /// The gradients of the stack's input (empty unless asked for), and of each layer's
        /// weights and bias.
        pub struct Grads {
            pub dx: Vec<f32>,
            pub dw: Vec<Vec<f32>>,
            pub db: Vec<Vec<f32>>,
        }

        /// A run of blocks' sums toward the weights' and the biases' gradients, and its
        /// scratch space: the pre-activation's gradient, and the gradient of the current
        /// layer's output (the layer above's input) beside a spare that the gradient of this
        /// layer's input is written into (then the two swap).
        struct Sums {
            dw: Vec<Vec<f32>>,
            db: Vec<Vec<f32>>,
            dz: Vec<f32>,
            grad_out: Vec<f32>,
            spare: Vec<f32>,
        }

        /// The gradients from `grad`, the output's, the layers' weights and activations, the
        /// hidden outputs `hidden` as [`forward`] kept them and `y`, the last layer's output
        /// (`None` without an activation); the input's only `with_dx`.
        pub fn backward(
            x: &[f32],
            (weights, acts): (&[&[f32]], &[Act]),
            hidden: &[f32],
            y: Option<&[f32]>,
            grad: &[f32],
            d: &Dims,
            with_dx: bool,
        ) -> Grads {
            let rows = d.rows;
            let input = d.widths[0];
            let output = d.output();
            let hidden_width: usize = d.hidden().iter().sum();
            let mut dx = Box::<[f32]>::new_uninit_slice(if with_dx { rows * input } else { 0 });
            let zeros = || Sums {
                dw: d
                    .widths
                    .windows(2)
                    .map(|w| vec![0.0; w[0] * w[1]])
                    .collect(),
                db: d.widths[1..].iter().map(|&w| vec![0.0; w]).collect(),
                dz: Vec::new(),
                grad_out: Vec::new(),
                spare: Vec::new(),
            };
            let sums = for_blocks(
                d.parallel(),
                rows,
                [if with_dx { input } else { 0 }],
                [&mut dx[..]],
                zeros,
                |sums, first, [dx]| {
                    let n = ROWS.min(rows - first);
                    let outs = split_ref(
                        &hidden[first * hidden_width..][..n * hidden_width],
                        n,
                        d.hidden(),
                    );
                    let y = y.map(|y| &y[first * output..][..n * output]);
                    let Sums {
                        dw,
                        db,
                        dz,
                        grad_out,
                        spare,
                    } = sums;
                    let last = weights.len() - 1;
                    for l in (0..=last).rev() {
                        let (i, o) = (d.widths[l], d.widths[l + 1]);
                        let layer_x = if l == 0 {
                            &x[first * i..][..n * i]
                        } else {
                            outs[l - 1]
                        };
                        let (layer_y, g): (&[f32], &[f32]) = if l == last {
                            (y.unwrap_or(&[]), &grad[first * output..][..n * output])
                        } else {
                            (outs[l], &grad_out[..n * o])
                        };
                        let dz: &[f32] = if activation_backward(acts[l], layer_y, g, dz, &mut db[l])
                        {
                            &dz[..n * o]
                        } else {
                            g
                        };
                        let target: Option<&mut [MaybeUninit<f32>]> = if l > 0 {
                            spare.resize(n * i, 0.0);
                            // SAFETY: the product writes floats into it.
                            Some(unsafe { overwritten(&mut spare[..n * i]) })
                        } else if with_dx {
                            Some(&mut *dx)
                        } else {
                            None
                        };
                        block_product_backward(
                            dz,
                            layer_x,
                            weights[l],
                            (n, i, o),
                            &mut dw[l],
                            target,
                        );
                        std::mem::swap(grad_out, spare);
                    }
                },
                |mut a, b| {
                    for (a, b) in a.dw.iter_mut().zip(&b.dw).chain(a.db.iter_mut().zip(&b.db)) {
                        a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                    }
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

        /// [`split`] for reading.
        fn split_ref<'a>(mut block: &'a [f32], n: usize, hidden: &[usize]) -> Vec<&'a [f32]> {
            hidden
                .iter()
                .map(|&w| {
                    let (head, tail) = block.split_at(n * w);
                    block = tail;
                    head
                })
                .collect()
        }
    }
}

/// Without a CPU backend feature: no kernels.
#[cfg(not(any(feature = "ndarray", feature = "flex")))]
mod backends {
    use super::*;

    pub fn run<B: Backend>(_: Vec<B::FloatTensorPrimitive>, _: &[Act]) -> Option<Tensor<B, 2>> {
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
                        mlp(&x, &[(&layer, act)]).expect("the backend has the kernel")
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

    /// Whole stacks against Burn's layers one by one: values, and the gradients of the input
    /// (when it is tracked) and of every layer's weights and bias (hidden layers with and
    /// without one); from tiny to several blocks on one thread and on every core, and a stack
    /// longer than one operation takes. The plain backend's forward (which keeps nothing)
    /// gives the same values, and a row alone the same as in the batch.
    #[test]
    fn fused_stacks_equal_burns_layers() {
        stacks_equal_burns::<Autodiff<NdArray>>();
        #[cfg(feature = "flex")]
        stacks_equal_burns::<Autodiff<burn::backend::Flex>>();
    }

    fn stacks_equal_burns<X: AutodiffBackend>() {
        let device = Default::default();
        // Among them every small-dimension product of `fused::op` (a layer from 3 or 4
        // inputs, outputs of 1 or 2 units, widths that are no multiple of the vector's).
        // (rows, widths, hidden activation, input tracked, hidden layers with a bias)
        let cases: [(usize, &[usize], Act, bool, bool); 7] = [
            (3, &[5, 7, 3], Act::Tanh, true, true),
            (300, &[3, 37, 2], Act::Tanh, true, true),
            (600, &[4, 64, 64, 2], Act::Relu, false, true),
            (700, &[8, 256, 256, 3], Act::Tanh, true, true),
            (300, &[6, 16, 16, 16, 16, 2], Act::Relu, true, true),
            (257, &[4, 32, 1], Act::Identity, true, true),
            (300, &[4, 32, 32, 2], Act::Tanh, true, false),
        ];
        for (rows, widths, act, track_x, hidden_bias) in cases {
            let normal = |shape: [usize; 2]| {
                Tensor::<X, 2>::random(shape, Distribution::Normal(0.0, 1.0), &device)
            };
            let x = normal([rows, widths[0]]);
            let params: Vec<_> = widths
                .windows(2)
                // Scaled as layers are initialised, so that sums do not grow (and cancel) with
                // the width.
                .map(|w| {
                    let scale = 1.0 / (w[0] as f32).sqrt();
                    let bias = normal([1, w[1]]).reshape([w[1]]);
                    (normal([w[0], w[1]]) * scale, bias * scale)
                })
                .collect();
            let out_width = widths[widths.len() - 1];
            let weights = normal([rows, out_width]).detach();
            let last = params.len() - 1;
            let run = |fused: bool| {
                let x = if track_x {
                    x.clone().detach().require_grad()
                } else {
                    x.clone().detach()
                };
                let layers: Vec<Linear<X>> = params
                    .iter()
                    .enumerate()
                    .map(|(l, (w, b))| {
                        let [i, o] = w.dims();
                        let mut layer = LinearConfig::new(i, o).init::<X>(&device);
                        layer.weight = Param::from_tensor(w.clone().detach().require_grad());
                        layer.bias = (hidden_bias || l == last)
                            .then(|| Param::from_tensor(b.clone().detach().require_grad()));
                        layer
                    })
                    .collect();
                let act_of = |i: usize| if i < last { act } else { Act::Identity };
                let out = if fused {
                    let stack: Vec<_> = layers
                        .iter()
                        .enumerate()
                        .map(|(i, l)| (l, act_of(i)))
                        .collect();
                    let out = mlp(&x, &stack).expect("the backend has the kernel");
                    let plain: Vec<_> = layers
                        .iter()
                        .map(burn::module::AutodiffModule::valid)
                        .collect();
                    let plain_stack: Vec<_> = plain
                        .iter()
                        .enumerate()
                        .map(|(i, l)| (l, act_of(i)))
                        .collect();
                    let inner = mlp(&x.clone().inner(), &plain_stack).expect("the kernel");
                    close(&values(inner), &values(out.clone()), 0.0, "plain forward");
                    // A row's value does not depend on the rows beside it: acting on one
                    // environment gives what the minibatch gives again (the first ratios are
                    // exactly 1).
                    let first_row = x.clone().inner().slice([0..1, 0..widths[0]]);
                    let alone = mlp(&first_row, &plain_stack).expect("the kernel");
                    let batch = values(out.clone());
                    close(&values(alone), &batch[..out_width], 0.0, "one row alone");
                    out
                } else {
                    let mut y = x.clone();
                    for (i, layer) in layers.iter().enumerate() {
                        y = layer.forward(y);
                        if i < last {
                            y = match act {
                                Act::Identity => y,
                                Act::Tanh => y.tanh(),
                                Act::Relu => burn::tensor::activation::relu(y),
                            };
                        }
                    }
                    y
                };
                let grads = (out.clone() * weights.clone()).sum().backward();
                let mut got = vec![values(out)];
                if track_x {
                    got.push(values(x.grad(&grads).unwrap()));
                }
                for layer in &layers {
                    got.push(values(layer.weight.val().grad(&grads).unwrap()));
                    if let Some(bias) = &layer.bias {
                        got.push(values(bias.val().grad(&grads).unwrap()));
                    }
                }
                got
            };
            let (fused, burn) = (run(true), run(false));
            assert_eq!(fused.len(), burn.len());
            for (k, (f, b)) in fused.iter().zip(&burn).enumerate() {
                let what = format!("{act:?} {rows} rows {widths:?}, value {k}");
                close(f, b, if k == 0 { 1e-5 } else { 1e-4 }, &what);
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
        let got = values(mlp(&x, &[(&layer, Act::Tanh)]).unwrap());
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
        assert!(values(mlp(&nan, &[(&layer, Act::Relu)]).unwrap())[0].is_nan());
    }
}
