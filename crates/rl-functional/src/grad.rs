//! Global gradient-norm clipping.

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, backend::AutodiffBackend};

use crate::advantage::expand_scalar;

/// Sums the squared gradient of every float parameter.
struct SquaredNorm<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    total: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredNorm<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) {
            let sq = g.powi_scalar(2).sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + sq,
                None => sq,
            });
        }
    }
}

/// Multiplies the gradient of every float parameter by a `[1]` factor.
struct Scale<B: AutodiffBackend> {
    grads: GradientsParams,
    factor: Tensor<B::InnerBackend, 1>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Scale<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            let scaled = g * expand_scalar::<B::InnerBackend, D>(self.factor.clone());
            self.grads.register(param.id, scaled);
        }
    }
}

/// Clips the gradients of `module` by their **global** L2 norm over all parameters, as torch's
/// `clip_grad_norm_` (and so rl8) does, and returns the clipped gradients with the norm before
/// clipping.
///
/// ```text
/// norm  = sqrt(sum over parameters of sum(grad^2))
/// grads = grads * min(1, max_norm / (norm + 1e-6))
/// ```
///
/// Burn's own `GradientClipping::Norm` clips each parameter tensor by its own norm, which is a
/// different (and for PPO, wrong) operation. The norm stays on the device as a `[1]` tensor, so
/// clipping never forces a device synchronization; read it when you log it. A module without
/// gradients returns a norm of 0 and the gradients unchanged.
///
/// # Example
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use burn::module::Module;
/// use burn::nn::LinearConfig;
/// use burn::optim::GradientsParams;
/// use burn::tensor::Tensor;
///
/// type B = Autodiff<NdArray>;
/// let device = Default::default();
/// let linear = LinearConfig::new(2, 1).init::<B>(&device);
/// let x = Tensor::<B, 2>::from_floats([[100.0, 100.0]], &device);
/// let grads = GradientsParams::from_grads(linear.forward(x).sum().backward(), &linear);
/// let (_clipped, norm) = rl_functional::clip_grad_norm(&linear, grads, 1.0);
/// // d/dw = x = (100, 100), d/db = 1.
/// assert!((norm.into_scalar() - (2.0f32 * 100.0 * 100.0 + 1.0).sqrt()).abs() < 1e-2);
/// ```
pub fn clip_grad_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: GradientsParams,
    max_norm: f32,
) -> (GradientsParams, Tensor<B::InnerBackend, 1>) {
    let mut visitor = SquaredNorm::<B> {
        grads: &grads,
        total: None,
    };
    module.visit(&mut visitor);
    let Some(squared) = visitor.total else {
        let device = module.devices().into_iter().next().unwrap_or_default();
        return (grads, Tensor::zeros([1], &device));
    };
    let norm = squared.sqrt();
    // A division, not `recip`: burn-ndarray's SIMD reciprocal is approximate.
    let factor = (Tensor::full([1], max_norm, &norm.device()) / norm.clone().add_scalar(1e-6))
        .clamp_max(1.0);
    let mut scale = Scale::<B> { grads, factor };
    module.visit(&mut scale);
    (scale.grads, norm)
}
