//! `collect()`: step all environments for one horizon with the current policy, record what the
//! update needs in the rollout, and report what happened.
//!
//! Per environment step this reads back from the device: the rewards and the two episode-end
//! flags (the episode bookkeeping and the targets run on the host), the observation for its
//! finiteness check, and with `normalize_observations` the observation again for the running
//! statistics. Everything the model produced (actions, log-probabilities, values, the bootstrap
//! values of truncated episodes) stays on the device until the horizon ends; then a training
//! collect reads the values and log-probabilities back once ([`Rollout::finish`]), for the
//! targets and to refuse a model whose output is not finite before anything trains on it.

use std::time::Instant;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rl_core::{Distribution, Env, EnvConfig, Observation};

use crate::boundary::{At, Boundary};
use crate::config::PpoConfig;
use crate::error::{AlgoError, Result};
use crate::host::{read_bool, read_f32};
use crate::normalizer::ObservationNormalizer;
use crate::policy::{Actor, Inner, Policy};
use crate::rollout::{Rollout, StepRecord};
use crate::state::TrainState;
use crate::stats::{CollectStats, Summary};

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
    let collect = state.horizons;
    let mut obs = match state.last_obs.take() {
        Some(obs) if !reset => obs,
        _ => {
            let at = At::Reset { collect };
            let obs = env
                .reset(env_config)
                .map_err(|e| boundary.env_error(e, at))?;
            boundary.observation(&obs, at)?;
            state.episodes.reset();
            state.rewards.reset();
            obs
        }
    };
    obs.check_finite("observation after reset")?;
    // A carried-over observation was normalized when it was first seen.
    if reset {
        obs = normalized(&mut state.observations, obs, training)?;
    }
    policy.begin_collect(actor, n, reset, training);
    let mut rollout = training.then(|| Rollout::new(n, horizon));
    let mut horizon_returns = vec![0.0f64; n];
    let mut all_rewards = Vec::with_capacity(n * horizon);
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
        let what = |thing: &str| format!("{thing} of `{}`", env.name());
        let rewards = read_f32(step.reward.clone(), "reward")?;
        if let Some(i) = rewards.iter().position(|r| !r.is_finite()) {
            return Err(AlgoError::NonFinite {
                what: what("reward"),
                detail: format!(
                    "environment {i} at step {t} of collect {}: {}",
                    state.horizons, rewards[i]
                ),
            });
        }
        step.obs.check_finite(&what("observation"))?;
        let terminated = read_bool(step.terminated.clone(), "terminated")?;
        let truncated = read_bool(step.truncated.clone(), "truncated")?;
        let done: Vec<bool> = terminated
            .iter()
            .zip(&truncated)
            .map(|(a, b)| *a || *b)
            .collect();
        if let Some(r) = rollout.as_mut() {
            let cut: Vec<usize> = (0..n).filter(|&i| truncated[i] && !terminated[i]).collect();
            if !cut.is_empty() {
                let Some(final_obs) = &step.final_obs else {
                    return Err(AlgoError::Mismatch {
                        what: what("truncated step"),
                        expected: "final_obs (the pre-reset observation) to bootstrap from".into(),
                        actual: "None".into(),
                    });
                };
                let device = final_obs.features.device();
                let idx = Tensor::<Inner<B>, 1, Int>::from_data(
                    TensorData::new(
                        cut.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                        [cut.len()],
                    ),
                    &device,
                );
                let finals = final_obs.select(idx.clone());
                finals.check_finite(&what("final observation"))?;
                let finals = normalized(&mut state.observations, finals, false)?;
                let values = policy.final_values(actor, &finals, idx)?;
                boundary.values(&values, cut.len(), at)?;
                r.truncated(&cut, values);
            }
            r.push(StepRecord {
                logp: out.dist.log_prob(&actions)?,
                obs,
                actions,
                values: out.values,
                rewards: &rewards,
                terminated: &terminated,
                done: &done,
            });
            state.rewards.observe(&rewards, &done);
        }
        policy.end_step(actor, &done)?;
        for (ret, &x) in horizon_returns.iter_mut().zip(&rewards) {
            *ret += f64::from(x);
        }
        all_rewards.extend(rewards.iter().map(|&x| f64::from(x)));
        state.episodes.observe(&rewards, &done, deterministic);
        obs = normalized(&mut state.observations, step.obs, training)?;
    }
    if let Some(mut r) = rollout {
        let values = policy.bootstrap_values(actor, &obs)?;
        boundary.values(&values, n, At::End { collect })?;
        r.finish(values, collect)?;
        state.rollout = Some(r);
    }
    state.last_obs = Some(obs);
    state.horizons += 1;

    let seconds = start.elapsed().as_secs_f64();
    if training {
        state.collect_seconds = seconds;
    }
    // All T rewards of the horizon (rl8's recurrent collect drops the first one).
    let returns = Summary::of(horizon_returns);
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
        rewards: Summary::of(all_rewards),
        episodes: state.episodes.take_finished(),
        episode_return_mean,
        episode_length_mean,
    })
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
