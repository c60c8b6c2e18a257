//! `collect()`: step all environments for one horizon with the current policy, record what the
//! update needs in the rollout, and report what happened.
//!
//! What a step returned (rewards, the two episode-end flags, whether the observations are
//! finite) is gathered on the device into one `[N, 5]` tensor per step. For a host
//! environment ([`Residence::Host`]) it is read back at once, one read per step, so an error
//! names its step before the next one runs; for a device environment it stays on the device
//! and the whole horizon is read once at the end, together with the values and
//! log-probabilities. Then the episode bookkeeping, the reward normalizer and the rollout's
//! host vectors take it step by step, in the same order either way. With
//! `normalize_observations`, each new observation is also read for the running statistics.
//! Everything the model produced (actions, log-probabilities, values, the bootstrap values of
//! truncated episodes) stays on the device until the horizon ends; then a training collect
//! reads the values and log-probabilities back once ([`Rollout::finish`]), for the targets and
//! to refuse a model whose output is not finite before anything trains on it.

use std::time::Instant;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rl_core::{Distribution, Env, EnvConfig, Observation, Residence, Transition};

use crate::boundary::{At, Boundary};
use crate::config::PpoConfig;
use crate::error::{AlgoError, Result};
use crate::host::read_f32;
use crate::normalizer::ObservationNormalizer;
use crate::policy::{Actor, Inner, Policy};
use crate::rollout::{Rollout, StepRecord};
use crate::state::TrainState;
use crate::stats::{CollectStats, Summary};

/// The columns of a step's outcome: reward, terminated, truncated, observation not finite,
/// final observation not finite.
const COLUMNS: usize = 5;

/// rl8's `collect(env_config, deterministic)`: one horizon of all environments with `policy`
/// acting through `actor`. A training collect (`!deterministic`) buffers the rollout in
/// `state`; an evaluation buffers nothing and leaves the normalizers as they are.
pub(crate) fn collect<B, E, P>(
    config: &PpoConfig,
    env: &mut E,
    state: &mut TrainState<Inner<B>>,
    policy: &mut P,
    actor: &Actor<B, P::Model>,
    env_config: Option<&EnvConfig>,
    deterministic: bool,
) -> Result<CollectStats>
where
    B: AutodiffBackend,
    E: Env<Inner<B>>,
    P: Policy<B>,
{
    let start = Instant::now();
    let n = config.num_envs;
    let horizon = config.horizon;
    let training = !deterministic;
    let reset = state.resets_next(config);
    let boundary = Boundary::new(env)?;
    let on_device = env.residence() == Residence::Device;
    let collect = state.horizons;
    let mut obs = match state.last_obs.take() {
        Some(obs) if !reset => obs,
        _ => {
            let at = At::Reset { collect };
            let obs = env
                .reset(env_config)
                .map_err(|e| boundary.env_error(e, at))?;
            boundary.observation(&obs, at)?;
            obs.check_finite("observation after reset")?;
            state.episodes.reset();
            state.rewards.reset();
            obs
        }
    };
    // A carried-over observation was normalized when it was first seen.
    if reset {
        obs = normalized(&mut state.observations, obs, training)?;
    }
    policy.begin_collect(actor, n, reset, training);
    let mut rollout = training.then(|| Rollout::new(n, horizon));
    let mut tally = Tally {
        env: env.name().to_string(),
        n,
        collect,
        deterministic,
        horizon_returns: vec![0.0; n],
        rewards: Vec::with_capacity(n * horizon),
    };
    let mut pending = Vec::new();
    state.episodes.take_finished();
    for t in 0..horizon {
        let at = At::Step { collect, step: t };
        let out = policy.act(actor, &obs, t)?;
        boundary.policy(&out.values, &out.dist, n, at)?;
        let actions = if deterministic {
            out.dist.mode()
        } else {
            out.dist.sample(&mut state.rng)
        };
        let step = env.step(&actions).map_err(|e| boundary.env_error(e, at))?;
        boundary.transition(&step, at)?;
        // The rows whose final observation to bootstrap from: the truncated ones, known now
        // for a host environment; every row of a step with a final observation for a device
        // one (which are truncated is read at the end).
        let bootstrap_rows: Vec<usize> = if on_device {
            pending.push(outcome(&step));
            match step.final_obs {
                Some(_) => (0..n).collect(),
                None => Vec::new(),
            }
        } else {
            let host = read_f32(outcome(&step), "the step's rewards and flags")?;
            tally.absorb(t, &host, state, rollout.as_mut())?
        };
        if let Some(r) = rollout.as_mut() {
            if !bootstrap_rows.is_empty() {
                let Some(final_obs) = &step.final_obs else {
                    return Err(tally.missing_final_obs(t));
                };
                let idx = Tensor::<Inner<B>, 1, Int>::from_data(
                    TensorData::new(
                        bootstrap_rows.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                        [bootstrap_rows.len()],
                    ),
                    &final_obs.features.device(),
                );
                let finals = match on_device {
                    true => final_obs.clone(),
                    false => final_obs.select(idx.clone()),
                };
                let finals = normalized(&mut state.observations, finals, false)?;
                let values = policy.final_values(actor, &finals, idx)?;
                boundary.values(&values, bootstrap_rows.len(), at)?;
                r.truncated(&bootstrap_rows, values);
            }
            r.push(StepRecord {
                logp: out.dist.log_prob_of_drawn(&actions)?,
                obs,
                actions,
                values: out.values,
            });
        }
        policy.end_step(actor, &step)?;
        obs = normalized(&mut state.observations, step.obs, training)?;
    }
    let pending = (!pending.is_empty()).then(|| Tensor::cat(pending, 0));
    let pending = match rollout.as_mut() {
        Some(r) => {
            let values = policy.bootstrap_values(actor, &obs)?;
            boundary.values(&values, n, At::End { collect })?;
            r.finish(values, pending)?
        }
        None => pending
            .map(|p| read_f32(p, "the horizon's rewards and flags"))
            .transpose()?,
    };
    if let Some(host) = pending {
        for (t, step) in host.chunks(n * COLUMNS).enumerate() {
            tally.absorb(t, step, state, rollout.as_mut())?;
            if let Some(r) = rollout.as_ref()
                && (0..n).any(|e| cut(&step[e * COLUMNS..]))
                && !r.has_bootstraps(t)
            {
                return Err(tally.missing_final_obs(t));
            }
        }
    }
    if let Some(mut r) = rollout {
        r.check(collect)?;
        state.rollout = Some(r);
    }
    state.last_obs = Some(obs);
    state.horizons += 1;

    let seconds = start.elapsed().as_secs_f64();
    if training {
        state.collect_seconds = seconds;
    }
    // All T rewards of the horizon (rl8's recurrent collect drops the first one).
    let returns = Summary::of(tally.horizon_returns);
    let (episode_return_mean, episode_length_mean) = match state.episodes.means(deterministic) {
        Some((ret, len)) => (Some(ret), Some(len)),
        None if !state.episodes.ever_finished => (Some(returns.mean), None),
        None => (None, None),
    };
    Ok(CollectStats {
        env_resets: if reset { n } else { 0 },
        transitions: n * horizon,
        seconds,
        returns,
        rewards: Summary::of(tally.rewards),
        episodes: state.episodes.take_finished(),
        episode_return_mean,
        episode_length_mean,
    })
}

/// A step's outcome on the device, `[N, COLUMNS]`: reward, terminated, truncated (1 or 0),
/// and for the observation and the final observation of each row 0 if it is finite, NaN if
/// not. Few operations: this runs every env step.
fn outcome<B: Backend>(step: &Transition<B>) -> Tensor<B, 2> {
    let flag = |x: Tensor<B, 1, Bool>| x.float().unsqueeze_dim(1);
    let obs = finite_mark(&step.obs);
    let final_obs = match &step.final_obs {
        Some(f) => finite_mark(f),
        // Nothing to check; a non-finite observation is reported first anyway.
        None => obs.clone(),
    };
    Tensor::cat(
        vec![
            step.reward.clone().unsqueeze_dim(1),
            flag(step.terminated.clone()),
            flag(step.truncated.clone()),
            obs,
            final_obs,
        ],
        1,
    )
}

/// Per row of `obs`, `[N, 1]`: 0 when its features and extra tensors are finite, NaN when
/// any is not (`x * 0` is 0 for every finite `x` and NaN for NaN and the infinities, and a sum
/// with a NaN is NaN).
fn finite_mark<B: Backend>(obs: &Observation<B>) -> Tensor<B, 2> {
    let mark = |x: Tensor<B, 2>| x.mul_scalar(0.0).sum_dim(1);
    let extra = obs.extra.names().into_iter();
    extra
        .filter_map(|name| obs.extra.get_flat(name).ok())
        .fold(mark(obs.features.clone()), |acc, x| acc + mark(x))
}

/// Whether an outcome row is a truncation (and bootstraps its final observation).
fn cut(row: &[f32]) -> bool {
    row[2] != 0.0 && row[1] == 0.0
}

/// What the host keeps of a collect's outcomes as it reads them.
struct Tally {
    env: String,
    n: usize,
    collect: u64,
    deterministic: bool,
    /// The sum of each environment's rewards over the horizon.
    horizon_returns: Vec<f64>,
    /// Every reward of the horizon.
    rewards: Vec<f64>,
}

impl Tally {
    /// Takes step `t`'s outcome, read back (`[N, COLUMNS]` row-major): refuses a non-finite
    /// reward, observation or truncated row's final observation, then feeds the episode
    /// bookkeeping, the reward normalizer and the rollout. Returns the truncated rows.
    fn absorb<B: Backend>(
        &mut self,
        t: usize,
        host: &[f32],
        state: &mut TrainState<B>,
        rollout: Option<&mut Rollout<B>>,
    ) -> Result<Vec<usize>> {
        let rows: Vec<&[f32]> = host.chunks(COLUMNS).collect();
        let rewards: Vec<f32> = rows.iter().map(|r| r[0]).collect();
        if let Some(i) = rewards.iter().position(|r| !r.is_finite()) {
            return Err(self.non_finite("reward", i, t, &rewards[i].to_string()));
        }
        if let Some(i) = rows.iter().position(|r| !r[3].is_finite()) {
            return Err(self.non_finite("observation", i, t, "NaN or infinite"));
        }
        let cut: Vec<usize> = (0..self.n).filter(|&i| cut(rows[i])).collect();
        if rollout.is_some()
            && let Some(&i) = cut.iter().find(|&&i| !rows[i][4].is_finite())
        {
            return Err(self.non_finite("final observation", i, t, "NaN or infinite"));
        }
        let terminated: Vec<bool> = rows.iter().map(|r| r[1] != 0.0).collect();
        let done: Vec<bool> = rows.iter().map(|r| r[1] != 0.0 || r[2] != 0.0).collect();
        if let Some(r) = rollout {
            r.outcomes(&rewards, &terminated, &done);
            state.rewards.observe(&rewards, &done);
        }
        for (ret, &x) in self.horizon_returns.iter_mut().zip(&rewards) {
            *ret += f64::from(x);
        }
        self.rewards.extend(rewards.iter().map(|&x| f64::from(x)));
        state.episodes.observe(&rewards, &done, self.deterministic);
        Ok(cut)
    }

    fn non_finite(&self, thing: &str, env: usize, t: usize, value: &str) -> AlgoError {
        AlgoError::NonFinite {
            what: format!("{thing} of `{}`", self.env),
            detail: format!(
                "environment {env} at step {t} of collect {}: {value}",
                self.collect
            ),
        }
    }

    /// A truncated step without the final observation it bootstraps from.
    fn missing_final_obs(&self, t: usize) -> AlgoError {
        AlgoError::Mismatch {
            what: format!("truncated step {t} of `{}`", self.env),
            expected: "final_obs (the pre-reset observation) to bootstrap from".into(),
            actual: "None".into(),
        }
    }
}

/// `obs` normalized by `normalizer` (unchanged without one), which first folds `obs` in when
/// `update`.
fn normalized<B: Backend>(
    normalizer: &mut Option<ObservationNormalizer>,
    obs: Observation<B>,
    update: bool,
) -> Result<Observation<B>> {
    let Some(n) = normalizer else {
        return Ok(obs);
    };
    if update {
        n.observe(&read_f32(obs.features.clone(), "observation")?);
    }
    Ok(n.normalize(obs))
}
