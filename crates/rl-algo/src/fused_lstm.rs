//! An LSTM step as one operation on the CPU backends: the gate products, the bias and the
//! cell in one pass over blocks of rows, and its backward likewise.
//!
//! Split into a product and a cell, a step writes its `[N, 4H]` gate pre-activations to memory
//! and reads them back, and its backward does the same with their gradient; at rl8's recurrent
//! benchmark sizes (8192 rows, 4H = 256) those are 8 MiB each way, per step and epoch, and the
//! cell passes were found waiting on memory. Here each block of rows has its gates computed
//! (the two biases, then `x W_ih` and `h W_hh` accumulated by `gemm`) and passed through the
//! cell while they are in cache; in the backward pass each block's gate gradients are made by
//! the cell's backward and used at once for the inputs' gradients and the blocks' shares of
//! the weights' and biases' gradients, summed at the end. The blocks run on rayon's pool.
//!
//! The backend is recognised at run time as in [`crate::fused`]; elsewhere [`lstm_step`]
//! returns `None` and the step is composed from Burn's operations.

use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

use crate::fused;

/// `[h'; c']`, `[2N, H]` (the `h'` rows, then the `c'` rows), of an LSTM step from `x`
/// `[N, X]`, `h` and `c` `[N, H]` and the layer's input (`X -> 4H`) and hidden (`H -> 4H`)
/// projections, gate blocks `i, f, g, o`: `gates = x W_ih + b_ih + h W_hh + b_hh`,
/// `c' = sigmoid(f) * c + sigmoid(i) * tanh(g)`, `h' = sigmoid(o) * tanh(c')`. `None` where the
/// backend has no fused kernel, a tensor is not `f32` or a projection has no bias: compose the
/// step instead.
pub(crate) fn lstm_step<B: Backend>(
    x: &Tensor<B, 2>,
    h: &Tensor<B, 2>,
    c: &Tensor<B, 2>,
    input: &Linear<B>,
    hidden: &Linear<B>,
) -> Option<Tensor<B, 2>> {
    if !fused::available::<B>() {
        return None;
    }
    let (b_ih, b_hh) = (input.bias.as_ref()?.val(), hidden.bias.as_ref()?.val());
    let (w_ih, w_hh) = (input.weight.val(), hidden.weight.val());
    let matrices = [x, &w_ih, h, &w_hh, c];
    if matrices.iter().any(|t| t.dtype() != DType::F32)
        || [&b_ih, &b_hh].iter().any(|t| t.dtype() != DType::F32)
    {
        return None;
    }
    let [x, w_ih, h, w_hh, c] = matrices.map(|t| t.clone().into_primitive().tensor());
    let [b_ih, b_hh] = [b_ih, b_hh].map(|t| t.into_primitive().tensor());
    backends::run([x, w_ih, b_ih, h, w_hh, b_hh, c])
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

    /// The operation's inputs, in order: `x, W_ih, b_ih, h, W_hh, b_hh, c`.
    type Inputs<P> = [P; 7];

    /// Runs the step on the first CPU backend `I` that `B` is (or wraps in `Autodiff`).
    pub fn run<B: Backend>(inputs: Inputs<B::FloatTensorPrimitive>) -> Option<Tensor<B, 2>> {
        #[cfg(feature = "ndarray")]
        if let Some(kind) = op::kind_of::<B, burn::backend::NdArray>() {
            return Some(run_on::<B, burn::backend::NdArray>(kind, inputs));
        }
        #[cfg(feature = "flex")]
        if let Some(kind) = op::kind_of::<B, burn::backend::Flex>() {
            return Some(run_on::<B, burn::backend::Flex>(kind, inputs));
        }
        None
    }

    /// What the backward pass needs (shared with the graph, not copied): the inputs but the
    /// biases, and the gates after their activations.
    #[derive(Debug, Clone)]
    struct Saved<I: Backend> {
        /// `x, W_ih, h, W_hh, c`.
        tensors: [I::FloatTensorPrimitive; 5],
        gates: I::FloatTensorPrimitive,
        dims: kernels::Dims,
    }

    #[derive(Debug)]
    struct StepBackward;

    impl<I: Cpu> Backward<I, 7> for StepBackward {
        type State = Saved<I>;

        fn backward(self, ops: Ops<Saved<I>, 7>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<I>(&ops.node);
            let dev = device::<I>(&grad);
            let Saved {
                tensors,
                gates,
                dims,
            } = ops.state;
            let [x, w_ih, h, w_hh, c] = tensors.each_ref().map(I::slice);
            let g = kernels::backward(
                kernels::Step {
                    x: &x,
                    w_ih: &w_ih,
                    h: &h,
                    w_hh: &w_hh,
                    c: &c,
                },
                &I::slice(&gates),
                &I::slice(&grad),
                dims,
            );
            let kernels::Dims {
                rows,
                input,
                hidden,
            } = dims;
            let shapes = [
                vec![rows, input],
                vec![input, 4 * hidden],
                vec![4 * hidden],
                vec![rows, hidden],
                vec![hidden, 4 * hidden],
                vec![4 * hidden],
                vec![rows, hidden],
            ];
            let values = [g.dx, g.dw_ih, g.db.clone(), g.dh, g.dw_hh, g.db, g.dc];
            for ((parent, value), shape) in ops.parents.iter().zip(values).zip(shapes) {
                if let Some(node) = parent {
                    let t = match shape[..] {
                        [n] => upload::<I, 1>(value, [n], &dev),
                        [r, w] => upload::<I, 2>(value, [r, w], &dev),
                        _ => unreachable!("gradients of rank 1 or 2"),
                    };
                    grads.register::<I>(node.id, t);
                }
            }
        }
    }

    fn run_on<B: Backend, I: Cpu>(
        kind: Kind,
        inputs: Inputs<B::FloatTensorPrimitive>,
    ) -> Tensor<B, 2> {
        let forward = |t: &Inputs<I::FloatTensorPrimitive>| {
            let dims = kernels::Dims {
                rows: t[0].shape()[0],
                input: t[0].shape()[1],
                hidden: t[6].shape()[1],
            };
            let [x, w_ih, b_ih, h, w_hh, b_hh, c] = t.each_ref().map(I::slice);
            let step = kernels::Step {
                x: &x,
                w_ih: &w_ih,
                h: &h,
                w_hh: &w_hh,
                c: &c,
            };
            let (out, gates) = kernels::forward(step, [&b_ih, &b_hh], dims);
            let dev = device::<I>(&t[0]);
            let out = upload::<I, 2>(out, [2 * dims.rows, dims.hidden], &dev);
            (out, gates, dims, dev)
        };
        let out = match kind {
            Kind::Plain => {
                let t: Inputs<I::FloatTensorPrimitive> = inputs.map(cast);
                cast::<_, B::FloatTensorPrimitive>(forward(&t).0)
            }
            Kind::Autodiff => {
                let tensors: Inputs<AutodiffTensor<I>> = inputs.map(cast);
                let nodes = tensors.each_ref().map(|t| t.node.clone());
                let t = tensors.map(|t| t.primitive);
                let (out, gates, dims, dev) = forward(&t);
                let prep = <StepBackward as Backward<I, 7>>::prepare::<NoCheckpointing>(
                    StepBackward,
                    nodes,
                );
                let out = match prep.compute_bound().stateful() {
                    OpsKind::Tracked(prep) => {
                        let [x, w_ih, _, h, w_hh, _, c] = t;
                        let gates = upload::<I, 2>(gates, [dims.rows, 4 * dims.hidden], &dev);
                        let tensors = [x, w_ih, h, w_hh, c];
                        prep.finish(
                            Saved {
                                tensors,
                                gates,
                                dims,
                            },
                            out,
                        )
                    }
                    OpsKind::UnTracked(prep) => prep.finish(out),
                };
                cast::<_, B::FloatTensorPrimitive>(out)
            }
        };
        Tensor::from_primitive(TensorPrimitive::Float(out))
    }

    /// The step's arithmetic over row-major host slices, in blocks of rows.
    mod kernels {
        use crate::fast_math::simd;
        use crate::fused::kernels::{lstm_backward_row, lstm_forward_row};
        use crate::fused::op::{block_product, block_product_backward, for_blocks, overwritten};

        /// The sizes of a step: `rows` rows of `input` features, `hidden` units.
        #[derive(Debug, Clone, Copy)]
        pub struct Dims {
            pub rows: usize,
            pub input: usize,
            pub hidden: usize,
        }

        /// A step's inputs but the biases.
        #[derive(Clone, Copy)]
        pub struct Step<'a> {
            pub x: &'a [f32],
            pub w_ih: &'a [f32],
            pub h: &'a [f32],
            pub w_hh: &'a [f32],
            pub c: &'a [f32],
        }

        /// `([h'; c'], gates)`: the step's output `[2N, H]` and its gates `[N, 4H]` (after
        /// their activations, as the backward pass reads them).
        pub fn forward(s: Step<'_>, [b_ih, b_hh]: [&[f32]; 2], d: Dims) -> (Vec<f32>, Vec<f32>) {
            let Dims {
                rows,
                input,
                hidden,
            } = d;
            let g = 4 * hidden;
            let bias: Vec<f32> = b_ih.iter().zip(b_hh).map(|(a, b)| a + b).collect();
            let mut gates = vec![0.0; rows * g];
            let mut out = vec![0.0; 2 * rows * hidden];
            let (h_out, c_out) = out.split_at_mut(rows * hidden);
            for_blocks(
                true,
                rows,
                [g, hidden, hidden],
                [&mut gates, h_out, c_out],
                || (),
                |_, first, [gates, h_out, c_out]| {
                    let n = h_out.len() / hidden;
                    for row in gates.chunks_exact_mut(g) {
                        row.copy_from_slice(&bias);
                    }
                    let x = &s.x[first * input..][..n * input];
                    let h = &s.h[first * hidden..][..n * hidden];
                    for (t, width, w) in [(x, input, s.w_ih), (h, hidden, s.w_hh)] {
                        block_product(gates, t, w, (n, width, g));
                    }
                    let c = &s.c[first * hidden..][..n * hidden];
                    simd(
                        #[inline(always)]
                        || {
                            for r in 0..n {
                                lstm_forward_row(
                                    &mut gates[r * g..][..g],
                                    &c[r * hidden..][..hidden],
                                    &mut h_out[r * hidden..][..hidden],
                                    &mut c_out[r * hidden..][..hidden],
                                );
                            }
                        },
                    );
                },
                |(), ()| (),
            );
            (out, gates)
        }

        /// The gradients of a step's inputs.
        pub struct Grads {
            pub dx: Vec<f32>,
            pub dw_ih: Vec<f32>,
            /// Of either bias (they enter as a sum).
            pub db: Vec<f32>,
            pub dh: Vec<f32>,
            pub dw_hh: Vec<f32>,
            pub dc: Vec<f32>,
        }

        /// A block's sums toward the weights' and biases' gradients, and its scratch space for
        /// the gate gradients.
        struct Sums {
            dw_ih: Vec<f32>,
            dw_hh: Vec<f32>,
            db: Vec<f32>,
            dgates: Vec<f32>,
        }

        /// The gradients of the step's inputs from `grad`, the gradient of `[h'; c']`.
        pub fn backward(s: Step<'_>, gates: &[f32], grad: &[f32], d: Dims) -> Grads {
            let Dims {
                rows,
                input,
                hidden,
            } = d;
            let g = 4 * hidden;
            let (dh_out, dc_out) = grad.split_at(rows * hidden);
            let mut dx = vec![0.0; rows * input];
            let mut dh = vec![0.0; rows * hidden];
            let mut dc = vec![0.0; rows * hidden];
            let zeros = || Sums {
                dw_ih: vec![0.0; input * g],
                dw_hh: vec![0.0; hidden * g],
                db: vec![0.0; g],
                dgates: Vec::new(),
            };
            let sums = for_blocks(
                true,
                rows,
                [input, hidden, hidden],
                [&mut dx, &mut dh, &mut dc],
                zeros,
                |sums, first, [dx, dh, dc]| {
                    let n = dh.len() / hidden;
                    sums.dgates.resize(n * g, 0.0);
                    let dgates = &mut sums.dgates[..n * g];
                    fn rows_of(t: &[f32], w: usize, first: usize, n: usize) -> &[f32] {
                        &t[first * w..][..n * w]
                    }
                    let rows_of = |t, w| rows_of(t, w, first, n);
                    let (gates, c) = (rows_of(gates, g), rows_of(s.c, hidden));
                    let (dh_out, dc_out) = (rows_of(dh_out, hidden), rows_of(dc_out, hidden));
                    simd(
                        #[inline(always)]
                        || {
                            for r in 0..n {
                                let at = r * hidden;
                                lstm_backward_row(
                                    &gates[r * g..][..g],
                                    &c[at..][..hidden],
                                    [&dh_out[at..][..hidden], &dc_out[at..][..hidden]],
                                    &mut dgates[r * g..][..g],
                                    &mut dc[at..][..hidden],
                                );
                            }
                        },
                    );
                    for row in dgates.chunks_exact(g) {
                        sums.db.iter_mut().zip(row).for_each(|(s, d)| *s += d);
                    }
                    let (x, h) = (rows_of(s.x, input), rows_of(s.h, hidden));
                    let terms = [
                        (x, input, s.w_ih, &mut sums.dw_ih, dx),
                        (h, hidden, s.w_hh, &mut sums.dw_hh, dh),
                    ];
                    for (t, width, w, dw, dt) in terms {
                        // SAFETY: the product writes floats into `dt`.
                        let dt = unsafe { overwritten(dt) };
                        block_product_backward(dgates, t, w, (n, width, g), dw, Some(dt));
                    }
                },
                |mut a, b| {
                    for (a, b) in [
                        (&mut a.dw_ih, &b.dw_ih),
                        (&mut a.dw_hh, &b.dw_hh),
                        (&mut a.db, &b.db),
                    ] {
                        a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                    }
                    a
                },
            );
            Grads {
                dx,
                dw_ih: sums.dw_ih,
                db: sums.db,
                dh,
                dw_hh: sums.dw_hh,
                dc,
            }
        }
    }
}

/// Without a CPU backend feature: no kernels.
#[cfg(not(any(feature = "ndarray", feature = "flex")))]
mod backends {
    use super::*;

    pub fn run<B: Backend>(_: [B::FloatTensorPrimitive; 7]) -> Option<Tensor<B, 2>> {
        None
    }
}
