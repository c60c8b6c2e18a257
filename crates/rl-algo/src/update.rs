//! The PPO update core shared by the feed-forward and recurrent algorithms: epochs,
//! minibatches, losses, KL early stopping, gradient accumulation, global-norm clipping and the
//! optimizer step.
//!
//! The two algorithms differ only in how a minibatch is run through the model, so they pass
//! that as a closure; everything else is this one code path. The unit of shuffling is a
//! transition (feed-forward) or a sequence of `rows_per_unit` transitions (recurrent).

use burn::module::AutodiffModule;
use burn::optim::{GradientsAccumulator, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use std::time::Instant;

use burn::tensor::{Int, Tensor, TensorData};
use rand::Rng;
use rand::seq::SliceRandom;
use rl_core::Env;
use rl_functional::{PpoBatch, PpoLossConfig, ValueLossKind, ppo_losses};

use crate::collect::{Inner, Runner};
use crate::error::{AlgoError, Result};
use crate::stats::{StatTracker, Stats};

/// Per-transition training targets on the acting (inner) backend, `[S, 1]` each, S = units *
/// rows_per_unit, in the row order the forward closure uses.
#[derive(Debug, Clone)]
pub(crate) struct Targets<B: Backend> {
    pub logp_old: Tensor<B, 2>,
    pub advantages: Tensor<B, 2>,
    pub returns: Tensor<B, 2>,
}

/// The settings of one update, resolved from the config and the schedules.
#[derive(Debug, Clone)]
pub(crate) struct UpdateSettings {
    pub epochs: usize,
    pub units: usize,
    pub rows_per_unit: usize,
    pub units_per_minibatch: usize,
    pub shuffle: bool,
    pub accumulate: bool,
    pub target_kl: Option<f64>,
    pub max_grad_norm: f64,
    pub learning_rate: f64,
    pub loss: PpoLossConfig,
}

/// The rows of one minibatch (on the acting backend): `rows` indexes transitions (the
/// targets' rows), `units` the shuffled units (sequences for the recurrent algorithm, equal to
/// `rows` for the feed-forward one); `rows` holds each unit's `rows_per_unit` rows in order.
pub(crate) struct Minibatch<B: Backend> {
    pub rows: Tensor<B, 1, Int>,
    pub units: Tensor<B, 1, Int>,
}

/// What the model gives for one minibatch, on the autodiff backend, `[R, 1]` each.
pub(crate) struct Forward<B: Backend> {
    pub logp: Tensor<B, 2>,
    pub entropy: Tensor<B, 2>,
    pub values: Tensor<B, 2>,
}

/// The loss keys summed over accumulated minibatches (rl8's `StatTracker` sum keys).
const SUM_KEYS: [&str; 5] = [
    "losses/policy",
    "losses/vf",
    "losses/entropy",
    "losses/total",
    "monitors/kl_div",
];

impl<B: AutodiffBackend, E: Env<Inner<B>>> Runner<B, E> {
    /// rl8's `step()` after the advantages: the config's PPO epochs over `units` units of
    /// `rows_per_unit` transitions each (minibatches of `sgd_minibatch_size` units), with the
    /// current learning rate and entropy coefficient; then the schedules move on by the
    /// transitions trained on. Adds the coefficients, reward scale and timings to the stats.
    #[allow(clippy::too_many_arguments)]
    pub fn update<M, O, F>(
        &mut self,
        slot: &mut Option<M>,
        optimizer: &mut O,
        targets: &Targets<Inner<B>>,
        units: usize,
        rows_per_unit: usize,
        start: Instant,
        forward: F,
    ) -> Result<Stats>
    where
        M: AutodiffModule<B>,
        O: Optimizer<M, B>,
        F: FnMut(&M, Option<&Minibatch<Inner<B>>>) -> Result<Forward<B>>,
    {
        let c = &self.config;
        let learning_rate = self.lr.value(self.trained_steps);
        let entropy_coeff = self.entropy.value(self.trained_steps);
        let settings = UpdateSettings {
            epochs: c.num_sgd_iters,
            units,
            rows_per_unit,
            units_per_minibatch: c.minibatch_units(units),
            shuffle: c.shuffle_minibatches,
            accumulate: c.accumulate_grads,
            target_kl: c.target_kl_div,
            max_grad_norm: c.max_grad_norm,
            learning_rate,
            loss: PpoLossConfig {
                clip_param: c.clip_param as f32,
                dual_clip_param: c.dual_clip_param.map(|x| x as f32),
                entropy_coeff: entropy_coeff as f32,
                vf_clip_param: Some(c.vf_clip_param as f32),
                vf_coeff: c.vf_coeff as f32,
                value_clip: None,
                value_loss: ValueLossKind::Huber,
            },
        };
        let mut stats = ppo_update(slot, optimizer, targets, &settings, &mut self.rng, forward)?;
        let transitions = units * rows_per_unit;
        self.trained_steps += transitions as u64;
        let seconds = start.elapsed().as_secs_f64();
        stats.insert("coefficients/entropy", entropy_coeff);
        stats.insert("coefficients/vf", self.config.vf_coeff);
        stats.insert("coefficients/learning_rate", learning_rate);
        stats.insert("monitors/reward_scale", self.reward_scale());
        stats.insert("profiling/step_ms", seconds * 1e3);
        stats.insert(
            "profiling/transitions_per_s",
            transitions as f64 / (seconds + self.collect_seconds),
        );
        Ok(stats)
    }
}

/// Runs `settings.epochs` PPO epochs on the model in `slot` (trained in place, and always put
/// back, also on error) and returns rl8's step statistics (means over optimizer steps) plus
/// clip fraction, explained variance, gradient norm and the number of optimizer steps.
pub(crate) fn ppo_update<B, M, O, R, F>(
    slot: &mut Option<M>,
    optimizer: &mut O,
    targets: &Targets<B::InnerBackend>,
    settings: &UpdateSettings,
    rng: &mut R,
    mut forward: F,
) -> Result<Stats>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    O: Optimizer<M, B>,
    R: Rng + ?Sized,
    F: FnMut(&M, Option<&Minibatch<B::InnerBackend>>) -> Result<Forward<B>>,
{
    let device = targets.logp_old.device();
    let s = settings;
    let per_epoch = s.units / s.units_per_minibatch;
    let k = if s.accumulate { per_epoch } else { 1 };
    let kf = k as f64;
    let mut tracker = StatTracker::new(&SUM_KEYS);
    let mut accumulator = GradientsAccumulator::<M>::new();
    let mut grad_norms = Vec::new();
    let mut trained = 0usize;
    let mut order: Vec<usize> = (0..s.units).collect();
    'epochs: for _ in 0..s.epochs {
        if s.shuffle && per_epoch > 1 {
            order.shuffle(rng);
        }
        for (i, chunk) in order.chunks(s.units_per_minibatch).enumerate() {
            // `None` is the whole buffer in order: no gather needed.
            let batch = (per_epoch > 1)
                .then(|| minibatch::<B::InnerBackend>(chunk, s.rows_per_unit, &device));
            let model = slot
                .as_ref()
                .expect("the model is put back after every step");
            let out = forward(model, batch.as_ref())?;
            let pick = |t: &Tensor<B::InnerBackend, 2>| {
                Tensor::<B, 2>::from_inner(match &batch {
                    Some(b) => t.clone().select(0, b.rows.clone()),
                    None => t.clone(),
                })
            };
            let losses = ppo_losses(
                PpoBatch {
                    logp: out.logp,
                    logp_old: pick(&targets.logp_old),
                    advantages: pick(&targets.advantages),
                    returns: pick(&targets.returns),
                    values: out.values,
                    old_values: None,
                    entropy: Some(out.entropy),
                },
                &s.loss,
            )?;
            let scalars = Tensor::cat(
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
            .inner();
            let v = rl_functional::host::read_f32(scalars, "ppo_update", "losses")?;
            if let Some(j) = v[..5].iter().position(|x| !x.is_finite()) {
                return Err(AlgoError::NonFinite {
                    what: [
                        "policy loss",
                        "value loss",
                        "entropy",
                        "total loss",
                        "approx KL",
                    ][j]
                        .into(),
                    detail: format!("minibatch {i} of an epoch; nothing was applied"),
                });
            }
            let reduce = (i + 1) % k == 0;
            let mut row = Stats::new();
            for (key, x) in SUM_KEYS.iter().zip(&v) {
                row.insert(*key, f64::from(*x) / kf);
            }
            row.insert("monitors/clip_fraction", f64::from(v[5]));
            row.insert("monitors/explained_variance", f64::from(v[6]));
            tracker.update(&row, reduce);
            let kl = f64::from(v[4]);
            if s.target_kl.is_some_and(|target| kl > 1.5 * target) {
                break 'epochs;
            }
            let total = if k > 1 {
                losses.total / kf
            } else {
                losses.total
            };
            let grads = GradientsParams::from_grads(total.backward(), model);
            let grads = if k > 1 {
                accumulator.accumulate(model, grads);
                if !reduce {
                    continue;
                }
                accumulator.grads()
            } else {
                grads
            };
            let (grads, norm) = rl_functional::clip_grad_norm(model, grads, s.max_grad_norm as f32);
            grad_norms.push(norm);
            let model = slot.take().expect("the model is put back after every step");
            *slot = Some(optimizer.step(s.learning_rate, model, grads));
            trained += 1;
        }
    }
    let mut stats = tracker.finish();
    if !grad_norms.is_empty() {
        let norms =
            rl_functional::host::read_f32(Tensor::cat(grad_norms, 0), "ppo_update", "grad norms")?;
        let mean = norms.iter().map(|&x| f64::from(x)).sum::<f64>() / norms.len() as f64;
        stats.insert("monitors/grad_norm", mean);
    }
    stats.insert("monitors/optimizer_steps", trained as f64);
    Ok(stats)
}

/// The unit and row indices of one minibatch (unit `u` covers rows `u * rows_per_unit ..
/// (u + 1) * rows_per_unit`).
fn minibatch<B: Backend>(
    units: &[usize],
    rows_per_unit: usize,
    device: &B::Device,
) -> Minibatch<B> {
    let upload = |v: Vec<i64>| {
        let n = v.len();
        Tensor::<B, 1, Int>::from_data(TensorData::new(v, [n]), device)
    };
    let rows = upload(
        units
            .iter()
            .flat_map(|&u| (u * rows_per_unit..(u + 1) * rows_per_unit).map(|r| r as i64))
            .collect(),
    );
    let units = if rows_per_unit == 1 {
        rows.clone()
    } else {
        upload(units.iter().map(|&u| u as i64).collect())
    };
    Minibatch { rows, units }
}
