//! The categorical head from its logits, for the CPU backends: the log-probability of the
//! drawn actions and the entropy, each one operation with its own backward, and the draw.
//!
//! Composed, they are Burn's `log_softmax` (a maximum, a subtraction, `exp`, a sum, `ln`, a
//! subtraction), then a gather and a sum over the heads, or `exp`, a clamp, a product and two
//! sums: a dozen passes over `[N, A, n]` tensors, each allocating its output, and as many
//! again backward. At a minibatch of 65,536 rows and two categories they took ~6 ms an epoch
//! with the PPO loss, against the MLPs' ~30. Here each is one pass over the logits, vectorized
//! across rows (`fast_math`'s `exp` and `ln`), and one pass backward:
//!
//! * log-probability of action `a`: `x_a - lse(x)`, gradient `g (onehot(a) - p)`;
//! * entropy: `-sum_c p_c max(lp_c, f32::MIN)` (torch's clamped form), gradient
//!   `-g p_c (lp_c + H)`.
//!
//! The acting model's log-probabilities go through the same kernel, so the update's first
//! epoch sees ratios of exactly 1, as when both were composed. The draw is Gumbel-max on the
//! logits, so acting computes no log-probabilities at all. Unmasked heads with every head's
//! count equal only ([`Categorical::logits`]); elsewhere, and on other backends, these return
//! `None` and the distribution composes them.
//!
//! [`Categorical::logits`]: rl_core::Categorical::logits

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Int, Tensor, TensorData};
use rand::Rng;

use crate::fused;

/// `log pi(a)` `[N, 1]` of `actions` `[N, A]` under heads of `logits` `[N, A, n]`, summed over
/// the heads; `None` where there is no kernel, or an action is outside `0..n` (then the
/// composed path decides what happens).
pub(crate) fn log_prob<B: Backend>(
    logits: &Tensor<B, 3>,
    actions: &Tensor<B, 2, Int>,
) -> Option<Tensor<B, 2>> {
    if !fused::available::<B>() || logits.dtype() != DType::F32 {
        return None;
    }
    let [n, heads, categories] = logits.dims();
    if actions.dims() != [n, heads] {
        return None;
    }
    // A copy in memory on these backends (`crate::fused`).
    let actions = actions.clone().into_data().convert::<i64>();
    let actions = actions.as_slice::<i64>().ok()?;
    let actions = actions
        .iter()
        .map(|&a| u32::try_from(a).ok().filter(|&a| (a as usize) < categories))
        .collect::<Option<Vec<u32>>>()?;
    backends::run(logits, Stat::LogProb(actions))
}

/// The entropy `[N, 1]` of heads of `logits` `[N, A, n]`, summed over the heads; `None` where
/// there is no kernel.
pub(crate) fn entropy<B: Backend>(logits: &Tensor<B, 3>) -> Option<Tensor<B, 2>> {
    if !fused::available::<B>() || logits.dtype() != DType::F32 {
        return None;
    }
    backends::run(logits, Stat::Entropy)
}

/// Actions `[N, A]` drawn from heads of `logits` `[N, A, n]` by Gumbel-max on the logits
/// themselves, `argmax_c(x_c + g_c)`: the same law as on the log-probabilities (which are the
/// logits shifted by a constant per row), without computing them. The noise `g` is drawn from
/// `rng` as `rl_functional::gumbel_noise` draws it, one number per logit in order, so the
/// generator moves on as on the composed path. `None` where there is no kernel.
pub(crate) fn sample<B: Backend, R: Rng + ?Sized>(
    logits: &Tensor<B, 3>,
    rng: &mut R,
) -> Option<Tensor<B, 2, Int>> {
    if !fused::available::<B>() || logits.dtype() != DType::F32 {
        return None;
    }
    let [n, heads, categories] = logits.dims();
    // 24 random bits a logit, centred in their bucket: `u` in (0, 1), never 0 or 1.
    let u: Vec<f32> = (0..n * heads * categories)
        .map(|_| ((rng.next_u32() >> 8) as f32 + 0.5) / (1u32 << 24) as f32)
        .collect();
    let drawn = backends::gumbel_argmax(logits, u)?;
    let drawn = TensorData::new(drawn, [n, heads]);
    Some(Tensor::from_data(drawn, &logits.device()))
}

/// What a row of logits gives.
#[derive(Debug)]
enum Stat {
    /// The log-probability of each row's category (one per head row, in `0..n`).
    LogProb(Vec<u32>),
    Entropy,
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

    /// `stat` of `logits` on the first CPU backend `I` that `B` is (or wraps in `Autodiff`).
    pub fn run<B: Backend>(logits: &Tensor<B, 3>, stat: Stat) -> Option<Tensor<B, 2>> {
        let [n, heads, categories] = logits.dims();
        let x = logits
            .clone()
            .reshape([n * heads, categories])
            .into_primitive()
            .tensor();
        #[cfg(feature = "ndarray")]
        if let Some(kind) = op::kind_of::<B, burn::backend::NdArray>() {
            return Some(run_on::<B, burn::backend::NdArray>(kind, x, heads, stat));
        }
        #[cfg(feature = "flex")]
        if let Some(kind) = op::kind_of::<B, burn::backend::Flex>() {
            return Some(run_on::<B, burn::backend::Flex>(kind, x, heads, stat));
        }
        None
    }

    /// Each row's `argmax_c(x_c + g_c)` with the noise `g_c = -ln(-ln(u_c))`.
    pub fn gumbel_argmax<B: Backend>(logits: &Tensor<B, 3>, u: Vec<f32>) -> Option<Vec<i64>> {
        let categories = logits.dims()[2];
        with_values(logits, |x| kernels::gumbel_argmax(x, u, categories))
    }

    /// `f` of `x`'s elements (row-major), read in place on the CPU backend `B` is (or wraps).
    fn with_values<B: Backend, R>(x: &Tensor<B, 3>, f: impl FnOnce(&[f32]) -> R) -> Option<R> {
        fn on<B: Backend, I: Cpu, R>(
            kind: Kind,
            x: B::FloatTensorPrimitive,
            f: impl FnOnce(&[f32]) -> R,
        ) -> R {
            match kind {
                Kind::Plain => f(&I::slice(&cast::<_, I::FloatTensorPrimitive>(x))),
                Kind::Autodiff => f(&I::slice(&cast::<_, AutodiffTensor<I>>(x).primitive)),
            }
        }
        let x = x.clone().into_primitive().tensor();
        #[cfg(feature = "ndarray")]
        if let Some(kind) = op::kind_of::<B, burn::backend::NdArray>() {
            return Some(on::<B, burn::backend::NdArray, R>(kind, x, f));
        }
        #[cfg(feature = "flex")]
        if let Some(kind) = op::kind_of::<B, burn::backend::Flex>() {
            return Some(on::<B, burn::backend::Flex, R>(kind, x, f));
        }
        None
    }

    /// What the backward pass needs.
    #[derive(Debug, Clone)]
    struct Saved<I: Backend> {
        /// The logits, `[N * A, n]` (shared with the graph, not copied).
        x: I::FloatTensorPrimitive,
        /// Each head row's log-sum-exp and, for the entropy, its entropy.
        rows: kernels::Rows,
        heads: usize,
    }

    #[derive(Debug)]
    struct StatBackward(Stat);

    impl<I: Cpu> Backward<I, 1> for StatBackward {
        type State = Saved<I>;

        fn backward(self, ops: Ops<Saved<I>, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let grad = grads.consume::<I>(&ops.node);
            let Saved { x, rows, heads } = ops.state;
            let [Some(node)] = &ops.parents else {
                return;
            };
            let shape = x.shape();
            let dx = kernels::backward(
                &I::slice(&x),
                shape[1],
                heads,
                &rows,
                &self.0,
                &I::slice(&grad),
            );
            grads.register::<I>(
                node.id,
                upload::<I, 2>(dx, [shape[0], shape[1]], &device::<I>(&grad)),
            );
        }
    }

    fn run_on<B: Backend, I: Cpu>(
        kind: Kind,
        x: B::FloatTensorPrimitive,
        heads: usize,
        stat: Stat,
    ) -> Tensor<B, 2> {
        let forward = |x: &I::FloatTensorPrimitive, stat: &Stat| {
            let categories = x.shape()[1];
            let (out, rows) = kernels::forward(&I::slice(x), categories, heads, stat);
            let n = out.len();
            (upload::<I, 2>(out, [n, 1], &device::<I>(x)), rows)
        };
        let out = match kind {
            Kind::Plain => cast::<_, B::FloatTensorPrimitive>(forward(&cast(x), &stat).0),
            Kind::Autodiff => {
                let x: AutodiffTensor<I> = cast(x);
                // Computed before the node takes `stat` (the actions), which it then owns.
                let (out, rows) = forward(&x.primitive, &stat);
                let prep = <StatBackward as Backward<I, 1>>::prepare::<NoCheckpointing>(
                    StatBackward(stat),
                    [x.node.clone()],
                );
                let out = match prep.compute_bound().stateful() {
                    OpsKind::Tracked(prep) => {
                        let state = Saved {
                            x: x.primitive,
                            rows,
                            heads,
                        };
                        prep.finish(state, out)
                    }
                    OpsKind::UnTracked(prep) => prep.finish(out),
                };
                cast::<_, B::FloatTensorPrimitive>(out)
            }
        };
        Tensor::from_primitive(TensorPrimitive::Float(out))
    }

    /// The arithmetic over row-major host slices: `L` head rows at a time, one per vector
    /// lane (a row's categories are few; the rows are many). A run of rows is moved into
    /// lanes (`v[c][l]`, logit `c` of row `l`), computed on whole vectors, and moved back.
    mod kernels {
        use super::Stat;
        use crate::fast_math::{exp_or_zero, ln, simd};

        /// Head rows per run: a lane each of a 512-bit vector.
        const L: usize = 16;

        /// One value per lane.
        type Lanes = [f32; L];

        /// Per head row (padded to a multiple of `L` rows): the log-sum-exp of its logits,
        /// and its entropy (for [`Stat::Entropy`]).
        #[derive(Debug, Clone)]
        pub struct Rows {
            lse: Vec<f32>,
            entropy: Vec<f32>,
        }

        /// Rows `first..first + L` of `x` (`n` logits a row) into lanes, zeros past its end
        /// (lanes whose results are dropped; every row goes through the same arithmetic).
        #[inline(always)]
        fn load(x: &[f32], first: usize, n: usize, v: &mut [Lanes]) {
            match x.get(first * n..(first + L) * n) {
                Some(run) => {
                    for (l, row) in run.chunks_exact(n).enumerate() {
                        for (vc, &x) in v.iter_mut().zip(row) {
                            vc[l] = x;
                        }
                    }
                }
                None => {
                    for (c, vc) in v.iter_mut().enumerate() {
                        for (l, o) in vc.iter_mut().enumerate() {
                            *o = x.get((first + l) * n + c).copied().unwrap_or(0.0);
                        }
                    }
                }
            }
        }

        /// The lanes `d` back into rows `first..` of `out`, as far as it goes.
        #[inline(always)]
        fn store(d: &[Lanes], first: usize, n: usize, out: &mut [f32]) {
            for (l, row) in out[first * n..].chunks_exact_mut(n).take(L).enumerate() {
                for (o, dc) in row.iter_mut().zip(d) {
                    *o = dc[l];
                }
            }
        }

        /// `lse` of each lane's row: `max + ln(sum_c e^(x_c - max))`.
        #[inline(always)]
        fn lse(v: &[Lanes]) -> Lanes {
            let mut max = [f32::NEG_INFINITY; L];
            for vc in v {
                for l in 0..L {
                    max[l] = max[l].max(vc[l]);
                }
            }
            let mut sum = [0.0; L];
            for vc in v {
                for l in 0..L {
                    sum[l] += exp_or_zero(vc[l] - max[l]);
                }
            }
            for l in 0..L {
                sum[l] = max[l] + ln(sum[l]);
            }
            sum
        }

        /// The entropy of each lane's row, whose log-sum-exp is `lse`.
        #[inline(always)]
        fn entropy(v: &[Lanes], lse: &Lanes) -> Lanes {
            let mut h = [0.0; L];
            for vc in v {
                for l in 0..L {
                    let lp = vc[l] - lse[l];
                    h[l] -= exp_or_zero(lp) * lp.max(f32::MIN);
                }
            }
            h
        }

        /// The lanes `first..first + L` of `x`, zeros past its end.
        #[inline(always)]
        fn lanes(x: &[f32], first: usize) -> Lanes {
            let mut out = [0.0; L];
            for (o, &x) in out.iter_mut().zip(x.get(first..).unwrap_or(&[])) {
                *o = x;
            }
            out
        }

        /// Each row's category `argmax_c(x_c + g_c)` (the first on ties), `g = -ln(-ln(u))`
        /// for the uniforms `u`, one per element of `x`.
        pub fn gumbel_argmax(x: &[f32], mut u: Vec<f32>, n: usize) -> Vec<i64> {
            simd(
                #[inline(always)]
                || {
                    for (v, &x) in u.iter_mut().zip(x) {
                        *v = x - ln(-ln(*v));
                    }
                },
            );
            u.chunks_exact(n)
                .map(|row| {
                    let mut best = 0;
                    for (c, &v) in row.iter().enumerate() {
                        if v > row[best] {
                            best = c;
                        }
                    }
                    best as i64
                })
                .collect()
        }

        /// Each sample's statistic, `[N]` (summed over its `heads` rows), and what the
        /// backward needs.
        pub fn forward(x: &[f32], n: usize, heads: usize, stat: &Stat) -> (Vec<f32>, Rows) {
            let rows = x.len() / n;
            let padded = rows.div_ceil(L) * L;
            let entropy_too = matches!(stat, Stat::Entropy);
            let mut all = Rows {
                lse: vec![0.0; padded],
                entropy: vec![0.0; if entropy_too { padded } else { 0 }],
            };
            simd(
                #[inline(always)]
                || {
                    let mut v = vec![[0.0; L]; n];
                    for first in (0..padded).step_by(L) {
                        load(x, first, n, &mut v);
                        let lse = lse(&v);
                        all.lse[first..][..L].copy_from_slice(&lse);
                        if entropy_too {
                            all.entropy[first..][..L].copy_from_slice(&entropy(&v, &lse));
                        }
                    }
                },
            );
            let out = match stat {
                Stat::LogProb(actions) => {
                    let lp = |r: usize| x[r * n + actions[r] as usize] - all.lse[r];
                    (0..rows / heads)
                        .map(|i| (i * heads..(i + 1) * heads).map(lp).sum())
                        .collect()
                }
                Stat::Entropy => all.entropy[..rows]
                    .chunks(heads)
                    .map(|h| h.iter().sum())
                    .collect(),
            };
            (out, all)
        }

        /// The gradient of the logits `[N * A, n]` from `g`, the gradient of the statistic
        /// `[N]`.
        pub fn backward(
            x: &[f32],
            n: usize,
            heads: usize,
            rows: &Rows,
            stat: &Stat,
            g: &[f32],
        ) -> Vec<f32> {
            // Each head row's gradient (the sample's, repeated over its heads).
            let g: Vec<f32> = g
                .iter()
                .flat_map(|&g| std::iter::repeat_n(g, heads))
                .collect();
            let mut dx = vec![0.0; x.len()];
            simd(
                #[inline(always)]
                || {
                    let mut v = vec![[0.0; L]; n];
                    let mut d = vec![[0.0; L]; n];
                    for first in (0..rows.lse.len()).step_by(L) {
                        load(x, first, n, &mut v);
                        let lse = lanes(&rows.lse, first);
                        let g = lanes(&g, first);
                        match stat {
                            Stat::LogProb(actions) => {
                                // `g (onehot - p)`, not `g onehot - g p`, which cancels
                                // where `p` is near 1.
                                let mut a = [u32::MAX; L];
                                for (o, &x) in a.iter_mut().zip(actions.get(first..).unwrap_or(&[]))
                                {
                                    *o = x;
                                }
                                for (c, (dc, vc)) in d.iter_mut().zip(&v).enumerate() {
                                    for l in 0..L {
                                        let hot = if a[l] == c as u32 { 1.0 } else { 0.0 };
                                        dc[l] = g[l] * (hot - exp_or_zero(vc[l] - lse[l]));
                                    }
                                }
                            }
                            Stat::Entropy => {
                                let h = lanes(&rows.entropy, first);
                                for (dc, vc) in d.iter_mut().zip(&v) {
                                    for l in 0..L {
                                        let lp = vc[l] - lse[l];
                                        dc[l] = -g[l] * exp_or_zero(lp) * (lp.max(f32::MIN) + h[l]);
                                    }
                                }
                            }
                        }
                        store(&d, first, n, &mut dx);
                    }
                },
            );
            dx
        }
    }
}

/// Without a CPU backend feature: no kernels.
#[cfg(not(any(feature = "ndarray", feature = "flex")))]
mod backends {
    use super::*;

    pub fn run<B: Backend>(_: &Tensor<B, 3>, _: Stat) -> Option<Tensor<B, 2>> {
        None
    }

    pub fn gumbel_argmax<B: Backend>(_: &Tensor<B, 3>, _: Vec<f32>) -> Option<Vec<i64>> {
        None
    }
}

#[cfg(all(test, any(feature = "ndarray", feature = "flex")))]
mod tests {
    use burn::backend::{Autodiff, NdArray};
    use burn::tensor::backend::AutodiffBackend;
    use burn::tensor::{Distribution as Random, TensorData};
    use rl_core::{Action, Categorical, Distribution};

    use super::*;
    use crate::fused::tests::{close, values};

    /// `N(0, 3)` logits `[n, heads, categories]`, with a few extreme rows: a category far
    /// below the others (probability 0 in `f32`), one of `-inf`, and two far apart.
    fn logits<X: Backend>(n: usize, heads: usize, categories: usize) -> Tensor<X, 3> {
        let device = Default::default();
        let mut x: Vec<f32> =
            Tensor::<X, 1>::random([n * heads * categories], Random::Normal(0.0, 3.0), &device)
                .into_data()
                .to_vec()
                .unwrap();
        if n >= 4 && categories >= 2 {
            x[0] = -200.0;
            x[categories] = f32::NEG_INFINITY;
            x[2 * categories] = 60.0;
            x[2 * categories + 1] = -60.0;
        }
        Tensor::from_data(TensorData::new(x, [n, heads, categories]), &device)
    }

    fn actions<X: Backend>(n: usize, heads: usize, categories: usize) -> Tensor<X, 2, Int> {
        // Not the `-inf` category of row 1: its log-probability would be `-inf`.
        let a: Vec<i64> = (0..n * heads)
            .map(|i| ((i * 7 + 3) % categories) as i64)
            .map(|a| {
                if a == 0 {
                    1.min(categories as i64 - 1)
                } else {
                    a
                }
            })
            .collect();
        Tensor::from_data(TensorData::new(a, [n, heads]), &Default::default())
    }

    /// The fused statistics against rl-core's composed `Categorical` (values, and the
    /// gradients of `sum(out * w)` with respect to the logits) and against an `f64` reference,
    /// on ndarray and flex, for odd row counts (a partial run of lanes), several heads and
    /// several categories.
    #[test]
    fn fused_statistics_equal_the_composed_ones_and_f64() {
        equals_composed::<Autodiff<NdArray>>();
        #[cfg(feature = "flex")]
        equals_composed::<Autodiff<burn::backend::Flex>>();
    }

    fn equals_composed<X: AutodiffBackend>() {
        X::seed(&Default::default(), 11);
        for (n, heads, categories) in [(1, 1, 2), (37, 1, 2), (300, 2, 3), (1000, 1, 5), (5, 3, 1)]
        {
            let x = logits::<X>(n, heads, categories);
            let a = actions::<X>(n, heads, categories);
            let w = Tensor::<X, 2>::random([n, 1], Random::Normal(0.0, 1.0), &x.device());
            for entropy in [false, true] {
                let run = |fused: bool| {
                    let x = x.clone().require_grad();
                    let out = match (fused, entropy) {
                        (true, false) => log_prob(&x, &a).expect("the backend has the kernel"),
                        (true, true) => super::entropy(&x).expect("the backend has the kernel"),
                        (false, false) => Categorical::new(x.clone())
                            .log_prob_of_drawn(&Action::Discrete(a.clone()))
                            .unwrap(),
                        (false, true) => Categorical::new(x.clone()).entropy(),
                    };
                    let grads = (out.clone() * w.clone()).sum().backward();
                    (values(out), values(x.grad(&grads).unwrap()))
                };
                let what = format!("{n}x{heads}x{categories}, entropy {entropy}");
                let (fused, composed) = (run(true), run(false));
                close(&fused.0, &composed.0, 1e-5, &format!("{what}: values"));
                // Composed, the `-inf` logit's gradient is NaN (`0 * inf` in `log_softmax`'s
                // backward); fused it is 0, as in `f64` below.
                let finite = |v: &[f32]| -> Vec<f32> {
                    v.iter()
                        .zip(&composed.1)
                        .filter(|(_, c)| c.is_finite())
                        .map(|(v, _)| *v)
                        .collect()
                };
                let grad = (finite(&fused.1), finite(&composed.1));
                close(&grad.0, &grad.1, 1e-5, &format!("{what}: gradients"));
                let (want, want_grad) = reference(
                    &values(x.clone()),
                    &values(a.clone().float()),
                    &values(w.clone()),
                    (heads, categories),
                    entropy,
                );
                // `x - lse` carries f32's relative error times logits of ~10, which `exp`
                // turns into ~1e-6 of each probability: the composed path's error too.
                close(&fused.0, &want, 1e-5, &format!("{what}: values vs f64"));
                close(
                    &fused.1,
                    &want_grad,
                    1e-5,
                    &format!("{what}: gradients vs f64"),
                );
            }
        }
    }

    /// The statistic and its gradient in `f64`: `(out [N], d sum(out * w) / dx [N * A * n])`.
    fn reference(
        x: &[f32],
        actions: &[f32],
        w: &[f32],
        (heads, n): (usize, usize),
        entropy: bool,
    ) -> (Vec<f32>, Vec<f32>) {
        let mut out = vec![0.0f64; w.len()];
        let mut grad = vec![0.0f64; x.len()];
        for (r, row) in x.chunks(n).enumerate() {
            let row: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            let lp: Vec<f64> = row.iter().map(|v| v - lse).collect();
            let p: Vec<f64> = lp.iter().map(|l| l.exp()).collect();
            let (i, g) = (r / heads, f64::from(w[r / heads]));
            if entropy {
                let h: f64 = -p
                    .iter()
                    .zip(&lp)
                    .map(|(p, l)| p * l.max(-1e300))
                    .sum::<f64>();
                out[i] += h;
                for c in 0..n {
                    grad[r * n + c] = -g * p[c] * (lp[c].max(-1e300) + h);
                }
            } else {
                let a = actions[r] as usize;
                out[i] += lp[a];
                for c in 0..n {
                    grad[r * n + c] = g * (f64::from(u8::from(c == a)) - p[c]);
                }
            }
        }
        let f = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
        (f(out), f(grad))
    }

    /// A row's statistics do not depend on the rows computed with it (acting computes a few
    /// rows, the update the same rows among many: the first epoch's ratios must be exactly 1),
    /// and the plain backend gives the autodiff one's values bit for bit.
    #[test]
    fn a_row_alone_equals_its_row_in_a_batch_bit_for_bit() {
        type X = Autodiff<NdArray>;
        X::seed(&Default::default(), 3);
        let (n, categories) = (50, 2);
        let x = logits::<X>(n, 1, categories);
        let a = actions::<X>(n, 1, categories);
        let batch = (
            values(log_prob(&x, &a).unwrap()),
            values(entropy(&x).unwrap()),
        );
        for r in [0, 3, 17, 49] {
            let xr = x.clone().narrow(0, r, 1);
            let ar = a.clone().narrow(0, r, 1);
            assert_eq!(
                values(log_prob(&xr, &ar).unwrap())[0].to_bits(),
                batch.0[r].to_bits()
            );
            assert_eq!(
                values(entropy(&xr).unwrap())[0].to_bits(),
                batch.1[r].to_bits()
            );
        }
        let plain = log_prob(&x.clone().inner(), &a.clone().inner()).unwrap();
        let plain: Vec<u32> = values(plain).iter().map(|v| v.to_bits()).collect();
        assert_eq!(
            plain,
            batch.0.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    /// Out-of-range or wrongly shaped actions are left to the composed path (which reports
    /// them); a NaN logit gives NaN, not a number.
    #[test]
    fn bad_actions_are_left_alone_and_nan_stays_nan() {
        type X = NdArray;
        let device = Default::default();
        let x = Tensor::<X, 3>::from_data([[[0.0, 1.0]], [[2.0, f32::NAN]]], &device);
        let bad = |a: Vec<i64>, shape: [usize; 2]| {
            log_prob(&x, &Tensor::from_data(TensorData::new(a, shape), &device)).is_none()
        };
        assert!(bad(vec![0, 2], [2, 1]));
        assert!(bad(vec![-1, 0], [2, 1]));
        assert!(bad(vec![0, 0, 0], [3, 1]));
        let a = Tensor::<X, 2, Int>::from_data([[1], [0]], &device);
        let logp = values(log_prob(&x, &a).unwrap());
        assert!((logp[0] - (1.0 - (1.0f32.exp() + 1.0).ln())).abs() < 1e-6);
        assert!(logp[1].is_nan());
        assert!(values(entropy(&x).unwrap())[1].is_nan());
    }

    /// The fused draw follows the softmax of the logits, consumes the generator as the
    /// composed draw does, and draws what the composed draw draws from the same generator
    /// (the noise and the shift by the log-sum-exp round differently, which could only tell at
    /// a near tie).
    #[test]
    fn fused_draws_follow_the_softmax_and_match_the_composed_draws() {
        use rand::{SeedableRng, rngs::StdRng};
        type X = NdArray;
        let device = Default::default();
        let rows = 60_000;
        let row = [0.0f32, 1.0, -1.0];
        let x = Tensor::<X, 3>::from_data(TensorData::new(row.repeat(rows), [rows, 1, 3]), &device);
        let drawn: Vec<i64> = sample(&x, &mut StdRng::seed_from_u64(3))
            .unwrap()
            .into_data()
            .convert::<i64>()
            .to_vec()
            .unwrap();
        let total: f32 = row.iter().map(|v| v.exp()).sum();
        for (c, v) in row.iter().enumerate() {
            let seen = drawn.iter().filter(|&&a| a == c as i64).count() as f32 / rows as f32;
            let want = v.exp() / total;
            assert!((seen - want).abs() < 0.01, "category {c}: {seen} vs {want}");
        }

        X::seed(&device, 5);
        let x = logits::<X>(2000, 2, 3);
        let (mut fused_rng, mut composed_rng) =
            (StdRng::seed_from_u64(9), StdRng::seed_from_u64(9));
        let fused = sample(&x, &mut fused_rng).unwrap();
        let composed = Categorical::new(x).sample(&mut composed_rng);
        let composed = composed.as_discrete().unwrap().clone();
        let [a, b] =
            [fused, composed].map(|t| t.into_data().convert::<i64>().to_vec::<i64>().unwrap());
        let differ = a.iter().zip(&b).filter(|(a, b)| a != b).count();
        assert!(differ <= 1, "{differ} of {} draws differ", a.len());
        assert_eq!(fused_rng.next_u32(), composed_rng.next_u32());
    }
}
