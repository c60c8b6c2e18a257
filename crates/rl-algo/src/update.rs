//! The PPO update: epochs of minibatches over the batch of one `step()`, losses, KL early
//! stopping, gradient accumulation, global-norm clipping and the optimizer step. The policy runs
//! each minibatch through the model ([`Policy::forward`]); everything else is this one path.
//!
//! Nothing is read back to the host per minibatch, except the approximate KL when KL early
//! stopping asks for it. The minibatch statistics stay on the device and are read once, at the
//! end, with the gradient norms and the finiteness flags. A non-finite check is decided on the
//! device: after each optimizer step, every parameter element that is not finite keeps its
//! previous value (so later minibatches do not train on NaN), and the step reports it once;
//! `Ppo::step` then puts back the model and the optimizer state it started from.

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param};
use burn::optim::{GradientsAccumulator, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rand::Rng;
use rand::seq::SliceRandom;
use rl_core::{Action, Observation};
use rl_functional::{PpoBatch, PpoLossConfig, ppo_losses};

use crate::error::{AlgoError, Result};
use crate::host;
use crate::policy::{Inner, Policy, UnitLayout};
use crate::rollout::TrainBatch;

/// The settings of one update, resolved from the config and the schedules.
#[derive(Debug, Clone)]
pub(crate) struct UpdateSettings {
    pub epochs: usize,
    pub shuffle: bool,
    pub accumulate: bool,
    pub target_kl: Option<f64>,
    pub max_grad_norm: f64,
    pub learning_rate: f64,
    pub loss: PpoLossConfig,
}

/// The per-minibatch statistics, in the order they are stacked on the device.
const LOSS_NAMES: [&str; 7] = [
    "policy loss",
    "value loss",
    "entropy",
    "total loss",
    "approx KL",
    "clip fraction",
    "explained variance",
];

/// What an update did.
#[derive(Debug, Clone)]
pub(crate) struct UpdateTotals {
    /// The means of [`LOSS_NAMES`] over the minibatches run.
    pub means: [f64; 7],
    /// The mean global gradient norm before clipping, if any optimizer step ran.
    pub grad_norm: Option<f64>,
    pub optimizer_steps: usize,
}

/// Runs `settings.epochs` PPO epochs on the model in `slot` (trained in place, and always put
/// back, also on error).
///
/// # Errors
/// Model and loss errors; [`AlgoError::NonFinite`] when a minibatch's loss was not finite or an
/// optimizer step gave non-finite parameters (those elements kept their previous values; `Ppo::step` undoes the whole step).
#[allow(clippy::too_many_arguments)]
pub(crate) fn update<B, P, O, R>(
    slot: &mut Option<P::Model>,
    optimizer: &mut O,
    policy: &P,
    inputs: &P::UpdateInputs,
    batch: &TrainBatch<Inner<B>>,
    layout: UnitLayout,
    s: &UpdateSettings,
    rng: &mut R,
) -> Result<UpdateTotals>
where
    B: AutodiffBackend,
    P: Policy<B>,
    O: Optimizer<P::Model, B>,
    R: Rng + ?Sized,
{
    let device = batch.logp_old.device();
    let obs = Observation::<B>::from_inner(batch.obs.clone());
    let actions = Action::<B>::from_inner(batch.actions.clone());
    let per_epoch = layout.units / layout.units_per_minibatch;
    let per_minibatch = layout.units_per_minibatch;
    let rows_per_minibatch = per_minibatch * layout.rows_per_unit;
    let k = if s.accumulate { per_epoch } else { 1 };
    let mut accumulator = GradientsAccumulator::<P::Model>::new();
    let mut minibatch_stats = Vec::new();
    let mut grad_norms = Vec::new();
    let mut rejected = Vec::new();
    let mut order: Vec<usize> = (0..layout.units).collect();
    'epochs: for _ in 0..s.epochs {
        // `None` is the whole buffer in order: no gather needed. Otherwise the epoch's row and
        // unit order, uploaded once.
        let epoch = (per_epoch > 1).then(|| {
            if s.shuffle {
                order.shuffle(rng);
            }
            epoch_indices::<Inner<B>>(&order, layout.rows_per_unit, &device)
        });
        for i in 0..per_epoch {
            let picked = epoch.as_ref().map(|(rows, units)| {
                let rows = rows
                    .clone()
                    .narrow(0, i * rows_per_minibatch, rows_per_minibatch);
                let units = match units {
                    Some(u) => u.clone().narrow(0, i * per_minibatch, per_minibatch),
                    None => rows.clone(),
                };
                (rows, units)
            });
            let model = slot
                .as_ref()
                .expect("the model is put back after every step");
            let pick = |t: &Tensor<Inner<B>, 2>| {
                Tensor::<B, 2>::from_inner(match &picked {
                    Some((rows, _)) => t.clone().select(0, rows.clone()),
                    None => t.clone(),
                })
            };
            let out = match &picked {
                None => policy.forward(model, inputs, &obs, &actions, None)?,
                Some((rows, units)) => {
                    let rows = Tensor::<B, 1, Int>::from_inner(rows.clone());
                    policy.forward(
                        model,
                        inputs,
                        &obs.select(rows.clone()),
                        &actions.select(rows),
                        Some(Tensor::from_inner(units.clone())),
                    )?
                }
            };
            let losses = ppo_losses(
                PpoBatch {
                    logp: out.logp,
                    logp_old: pick(&batch.logp_old),
                    advantages: pick(&batch.advantages),
                    returns: pick(&batch.returns),
                    values: out.values,
                    old_values: None,
                    entropy: Some(out.entropy),
                },
                &s.loss,
            )?;
            minibatch_stats.push(
                Tensor::cat(
                    vec![
                        losses.policy.clone(),
                        losses.vf.clone(),
                        losses.entropy.clone(),
                        losses.total.clone(),
                        losses.approx_kl.clone(),
                        losses.clip_fraction.clone(),
                        losses.explained_variance.clone(),
                    ],
                    0,
                )
                .inner(),
            );
            if let Some(target) = s.target_kl {
                // The one read per minibatch, and only with KL early stopping.
                let kl = host::read_f32(losses.approx_kl.clone().inner(), "approx KL")?[0];
                if f64::from(kl) > 1.5 * target {
                    break 'epochs;
                }
            }
            let total = if k > 1 {
                losses.total / k as f32
            } else {
                losses.total
            };
            let grads = GradientsParams::from_grads(total.backward(), model);
            let grads = if k > 1 {
                accumulator.accumulate(model, grads);
                if (i + 1) % k != 0 {
                    continue;
                }
                accumulator.grads()
            } else {
                grads
            };
            let (grads, norm) = rl_functional::clip_grad_norm(model, grads, s.max_grad_norm as f32);
            grad_norms.push(norm);
            let model = slot.take().expect("the model is put back after every step");
            let old = model.clone();
            let (model, bad) = keep_finite(&old, optimizer.step(s.learning_rate, model, grads));
            *slot = Some(model);
            rejected.push(bad);
        }
    }
    read_totals::<Inner<B>>(minibatch_stats, grad_norms, rejected)
}

/// The row order of one epoch (unit `u` covers rows `u * rows_per_unit ..
/// (u + 1) * rows_per_unit`) and, for units of several rows, the unit order.
#[allow(clippy::type_complexity)]
fn epoch_indices<B: Backend>(
    order: &[usize],
    rows_per_unit: usize,
    device: &B::Device,
) -> (Tensor<B, 1, Int>, Option<Tensor<B, 1, Int>>) {
    let upload = |v: Vec<i64>| {
        let n = v.len();
        Tensor::<B, 1, Int>::from_data(TensorData::new(v, [n]), device)
    };
    let rows = upload(
        order
            .iter()
            .flat_map(|&u| (u * rows_per_unit..(u + 1) * rows_per_unit).map(|r| r as i64))
            .collect(),
    );
    let units = (rows_per_unit > 1).then(|| upload(order.iter().map(|&u| u as i64).collect()));
    (rows, units)
}

/// Reads the update's statistics in one go and reports what was not finite.
fn read_totals<B: Backend>(
    minibatch_stats: Vec<Tensor<B, 1>>,
    grad_norms: Vec<Tensor<B, 1>>,
    rejected: Vec<Tensor<B, 1>>,
) -> Result<UpdateTotals> {
    let (m, g) = (minibatch_stats.len(), grad_norms.len());
    let mut all = minibatch_stats;
    all.extend(grad_norms);
    all.extend(rejected);
    let host = host::read_f32(Tensor::cat(all, 0), "update statistics")?;
    let (stats, rest) = host.split_at(7 * m);
    let (norms, rejected) = rest.split_at(g);
    for (i, row) in stats.chunks(7).enumerate() {
        if let Some(j) = row[..5].iter().position(|x| !x.is_finite()) {
            return Err(AlgoError::NonFinite {
                what: LOSS_NAMES[j].into(),
                detail: format!(
                    "minibatch {i} of this step: {}; nothing of this step was applied",
                    row[j]
                ),
            });
        }
    }
    let bad = rejected.iter().filter(|&&x| x > 0.0).count();
    if bad > 0 {
        return Err(AlgoError::NonFinite {
            what: "parameters after an optimizer step".into(),
            detail: format!(
                "{bad} of {g} optimizer steps of this step; nothing of this step was applied"
            ),
        });
    }
    let mut means = [0.0; 7];
    for row in stats.chunks(7) {
        for (mean, &x) in means.iter_mut().zip(row) {
            *mean += f64::from(x);
        }
    }
    for mean in &mut means {
        *mean /= m.max(1) as f64;
    }
    Ok(UpdateTotals {
        means,
        grad_norm: (g > 0).then(|| norms.iter().map(|&x| f64::from(x)).sum::<f64>() / g as f64),
        optimizer_steps: g,
    })
}

/// `new` with every parameter element that is not finite replaced by its value in `old`, and a
/// `[1]` flag (1 when anything was replaced), computed on the device.
fn keep_finite<B: AutodiffBackend, M: AutodiffModule<B>>(
    old: &M,
    new: M,
) -> (M, Tensor<B::InnerBackend, 1>) {
    struct Olds<B: AutodiffBackend>(Vec<Tensor<B::InnerBackend, 1>>);
    impl<B: AutodiffBackend> ModuleVisitor<B> for Olds<B> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.push(param.val().inner().flatten(0, D - 1));
        }
    }
    struct Guard<B: AutodiffBackend> {
        olds: std::vec::IntoIter<Tensor<B::InnerBackend, 1>>,
        flags: Vec<Tensor<B::InnerBackend, 1, Bool>>,
    }
    impl<B: AutodiffBackend> ModuleMapper<B> for Guard<B> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (id, tensor, mapper) = param.consume();
            let Some(old) = self.olds.next() else {
                return Param::from_mapped_value(id, tensor, mapper);
            };
            if crate::fused::all_finite(&tensor.clone().inner()) == Some(true) {
                // Read in place on the CPU backends: nothing to replace, no tensor operations.
                return Param::from_mapped_value(id, tensor, mapper);
            }
            let require_grad = tensor.is_require_grad();
            let new = tensor.inner();
            let bad = new.clone().is_finite().bool_not();
            self.flags.push(bad.clone().any());
            let kept = new.clone().mask_where(bad, old.reshape(new.dims()));
            let mut tensor = Tensor::<B, D>::from_inner(kept);
            if require_grad {
                tensor = tensor.require_grad();
            }
            Param::from_mapped_value(id, tensor, mapper)
        }
    }
    let mut olds = Olds::<B>(Vec::new());
    old.visit(&mut olds);
    let device = olds.0.first().map(|t| t.device()).unwrap_or_default();
    let mut guard = Guard::<B> {
        olds: olds.0.into_iter(),
        flags: Vec::new(),
    };
    let new = new.map(&mut guard);
    let flag = if guard.flags.is_empty() {
        Tensor::zeros([1], &device)
    } else {
        Tensor::cat(guard.flags, 0).any().float()
    };
    (new, flag)
}
