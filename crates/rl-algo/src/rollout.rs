//! The rollout: what one training `collect()` stores, in one layout, and the training targets
//! computed on it.
//!
//! Layout: time-major. Step `t` of environment `n` is row `t * N + n` of every stored tensor and
//! index `t * N + n` of every host vector. Tensors the model produced (observations, actions,
//! log-probabilities, values, the bootstraps of truncated episodes) stay on the device where
//! they were made; what the environment produced and the targets need on the host (rewards,
//! episode ends) is kept on the host, written as the collect reads it (per step for a host
//! environment, once at the end for a device one).
//!
//! [`Rollout::finish`] ends the horizon: it reads the values and log-probabilities back in one
//! read, together with whatever the collect still has to read, and [`Rollout::check`] refuses
//! a non-finite one, so that a model that outputs NaN stops the collect that met it.
//! [`Rollout::into_batch`] turns it into the [`TrainBatch`] of one `step()`: it runs the
//! done-aware GAE scan over the host vectors in place (time-major, no transposition), and
//! uploads advantages and returns once; or, for a device environment's rollout on a backend
//! with a device scan (wgpu), it runs [`rl_functional::gae`] there on the outcomes and values
//! the collect kept on the device, with no crossing.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rl_core::{Action, Observation};
use rl_functional::{Trajectories, gae, has_device_gae, normalize};

use crate::error::{AlgoError, Result};
use crate::host;

/// One horizon of N environments, time-major (row `t * N + n`).
#[derive(Debug)]
pub(crate) struct Rollout<B: Backend> {
    num_envs: usize,
    /// Observations `s_0 .. s_{T-1}`, `[N, F]` per step.
    obs: Vec<Observation<B>>,
    /// Actions taken.
    actions: Vec<Action<B>>,
    /// Their log-probabilities at collection time, `[N, 1]` per step.
    logp: Vec<Tensor<B, 2>>,
    /// `V(s_0) .. V(s_T)`, `[N, 1]` per step: T + 1 entries once complete.
    values: Vec<Tensor<B, 2>>,
    /// Raw rewards, `T * N`.
    rewards: Vec<f32>,
    /// Episode ended (terminated or truncated) at the step, `T * N`.
    done: Vec<bool>,
    /// Episode terminated (no bootstrap), `T * N`.
    terminated: Vec<bool>,
    /// Bootstrap candidates: rows (`t * N + n`) and `V(final observation)`, `[rows, 1]`. A
    /// host environment's collect stores the truncated rows only; a device environment's every
    /// row of a step with a `final_obs` (it does not know which were truncated), and only the
    /// truncated ones are used.
    truncated: Vec<(Vec<usize>, Tensor<B, 2>)>,
    /// A device environment's outcomes of the horizon (`[T * N, 5]`: reward, terminated,
    /// truncated, ...), kept for a scan on the device.
    outcomes: Option<Tensor<B, 2>>,
    /// What [`finish`](Self::finish) read: `V(s_0) .. V(s_T)`, the bootstrap candidates, then
    /// the log-probabilities (dropped by [`check`](Self::check)).
    host_values: Vec<f32>,
}

/// What one environment step adds to the rollout on the device.
pub(crate) struct StepRecord<B: Backend> {
    pub obs: Observation<B>,
    pub actions: Action<B>,
    pub logp: Tensor<B, 2>,
    pub values: Tensor<B, 2>,
}

/// The training batch of one `step()`: `S = T * N` rows, on the device, time-major unless a
/// policy reorders them (the recurrent policy groups each sequence's rows).
#[derive(Debug, Clone)]
pub struct TrainBatch<B: Backend> {
    /// The observations the actions were taken in.
    pub obs: Observation<B>,
    /// The actions taken.
    pub actions: Action<B>,
    /// Their log-probabilities at collection time, `[S, 1]`.
    pub logp_old: Tensor<B, 2>,
    /// The advantages, `[S, 1]`.
    pub advantages: Tensor<B, 2>,
    /// The value targets, `[S, 1]`.
    pub returns: Tensor<B, 2>,
}

/// The settings of the targets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TargetSettings {
    pub gamma: f32,
    pub lambda: f32,
    /// Rewards are divided by this (the running reward scale, 1 without normalization).
    pub reward_scale: f32,
    pub normalize_advantages: bool,
}

impl<B: Backend> Rollout<B> {
    pub fn new(num_envs: usize, horizon: usize) -> Self {
        Self {
            num_envs,
            obs: Vec::with_capacity(horizon),
            actions: Vec::with_capacity(horizon),
            logp: Vec::with_capacity(horizon),
            values: Vec::with_capacity(horizon + 1),
            rewards: Vec::with_capacity(horizon * num_envs),
            done: Vec::with_capacity(horizon * num_envs),
            terminated: Vec::with_capacity(horizon * num_envs),
            truncated: Vec::new(),
            outcomes: None,
            host_values: Vec::new(),
        }
    }

    /// The number of steps stored.
    pub fn horizon(&self) -> usize {
        self.obs.len()
    }

    /// Appends step `t = horizon()`'s device tensors.
    pub fn push(&mut self, step: StepRecord<B>) {
        self.obs.push(step.obs);
        self.actions.push(step.actions);
        self.logp.push(step.logp);
        self.values.push(step.values);
    }

    /// Appends the next step's rewards and episode ends, `[N]` each, as read on the host.
    pub fn outcomes(&mut self, rewards: &[f32], terminated: &[bool], done: &[bool]) {
        self.rewards.extend_from_slice(rewards);
        self.terminated.extend_from_slice(terminated);
        self.done.extend_from_slice(done);
    }

    /// Records the bootstrap values `[envs.len(), 1]` of the environments `envs` of the step
    /// being stored (call before [`push`](Self::push)).
    pub fn truncated(&mut self, envs: &[usize], values: Tensor<B, 2>) {
        let base = self.horizon() * self.num_envs;
        self.truncated
            .push((envs.iter().map(|&e| base + e).collect(), values));
    }

    /// Whether step `t` stored bootstrap values.
    pub fn has_bootstraps(&self, t: usize) -> bool {
        let n = self.num_envs;
        self.truncated
            .iter()
            .any(|(rows, _)| rows.first().is_some_and(|r| r / n == t))
    }

    /// Completes the horizon with `V(s_T)`, the values of the observations after its last
    /// step, and reads every value and log-probability back in one read (the values are what
    /// the targets need; the log-probabilities come along to be checked), with `pending`
    /// (what the collect has still to read, `[R, C]`), whose values it returns.
    pub fn finish(
        &mut self,
        bootstrap: Tensor<B, 2>,
        pending: Option<Tensor<B, 2>>,
    ) -> Result<Option<Vec<f32>>> {
        self.values.push(bootstrap);
        let mut all = self.values.clone();
        all.extend(self.truncated.iter().map(|(_, v)| v.clone()));
        all.extend(self.logp.iter().cloned());
        self.outcomes = pending.clone();
        let pending = pending.map(|p| {
            let len = p.dims().iter().product::<usize>();
            p.reshape([len, 1])
        });
        let pending_len = pending.as_ref().map(|p| p.dims()[0]);
        all.extend(pending);
        let mut host = host::read_f32(Tensor::cat(all, 0), "values and log-probabilities")?;
        let pending = pending_len.map(|len| host.split_off(host.len() - len));
        self.host_values = host;
        Ok(pending)
    }

    /// Fails on the first value or log-probability read by [`finish`](Self::finish) that is
    /// not finite, after the episode ends are all in (a bootstrap of a row that was not
    /// truncated is not used, so not checked); then drops the log-probabilities.
    ///
    /// # Errors
    /// [`AlgoError::NonFinite`] naming the value or log-probability, by environment and step
    /// of collect `collect`.
    pub fn check(&mut self, collect: u64) -> Result<()> {
        let n = self.num_envs;
        let host = &self.host_values;
        let values = self.values.len() * n;
        let cut_rows: Vec<usize> = self.truncated.iter().flat_map(|(r, _)| r.clone()).collect();
        let cut = values + cut_rows.len();
        let bad = |i: usize| !host[i].is_finite();
        let found = if let Some(i) = (0..values).find(|&i| bad(i)) {
            Some(("value from the model", i, i))
        } else if let Some(k) =
            (0..cut_rows.len()).find(|&k| self.is_cut(cut_rows[k]) && bad(values + k))
        {
            Some((
                "value of a truncated episode's final observation",
                cut_rows[k],
                values + k,
            ))
        } else {
            (cut..host.len()).find(|&i| bad(i)).map(|i| {
                (
                    "log-probability of the action taken (the policy's output)",
                    i - cut,
                    i,
                )
            })
        };
        if let Some((what, row, i)) = found {
            return Err(AlgoError::NonFinite {
                what: what.into(),
                detail: format!(
                    "environment {} at step {} of collect {collect}: {}; the model's parameters \
                     or its input are not finite",
                    row % n,
                    row / n,
                    host[i]
                ),
            });
        }
        self.host_values.truncate(cut);
        Ok(())
    }

    /// Whether row `t * N + n` ended in a truncation (and bootstraps its final observation).
    fn is_cut(&self, row: usize) -> bool {
        self.done[row] && !self.terminated[row]
    }

    /// The values `V(s_0) .. V(s_T)` stored so far, for tests.
    #[cfg(test)]
    pub fn values(&self) -> &[Tensor<B, 2>] {
        &self.values
    }

    /// The truncated rows and their bootstrap values, for tests.
    #[cfg(test)]
    pub fn truncated_values(&self) -> Vec<(usize, f32)> {
        self.truncated
            .iter()
            .flat_map(|(rows, v)| {
                let v = host::read_f32(v.clone(), "truncated values").unwrap();
                rows.clone().into_iter().zip(v)
            })
            .filter(|&(row, _)| self.is_cut(row))
            .collect()
    }

    /// The training batch: done-aware GAE over the horizon (rewards divided by the reward
    /// scale; a terminated step bootstraps nothing, a truncated one the value of its final
    /// observation; an episode end cuts the lambda trace), the value targets `A + V`, and the
    /// advantages normalized over the whole buffer when asked.
    ///
    /// No read (the values were read by [`finish`](Self::finish)); one upload (advantages
    /// and returns together) for the host scan, none for the device scan.
    pub fn into_batch(mut self, settings: TargetSettings) -> Result<TrainBatch<B>> {
        let (advantages, returns) = match self.outcomes.take() {
            Some(outcomes) if has_device_gae::<B>() => {
                self.targets_on_device(outcomes, settings)?
            }
            _ => self.targets_on_host(settings),
        };
        let advantages = match settings.normalize_advantages {
            true => normalize(advantages),
            false => advantages,
        };
        Ok(TrainBatch {
            obs: Observation::cat(self.obs)?,
            actions: Action::cat(self.actions)?,
            logp_old: Tensor::cat(self.logp, 0),
            advantages,
            returns,
        })
    }

    /// The scan on the host, over the values [`finish`](Self::finish) read: one upload of
    /// advantages and returns, `[T * N, 1]` each.
    fn targets_on_host(&mut self, settings: TargetSettings) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let n = self.num_envs;
        let rows = self.horizon() * n;
        let device = self.values[0].device();
        let (values, cut) = self.host_values.split_at(rows + n);
        // next_values[i] = V(s_{t+1}) of the same environment, or the truncated bootstrap.
        let mut next_values = values[n..].to_vec();
        let candidates = self.truncated.iter().flat_map(|(rows, _)| rows);
        for (&row, &v) in candidates.zip(cut) {
            if self.is_cut(row) {
                next_values[row] = v;
            }
        }
        let mut advantages = std::mem::take(&mut self.rewards);
        let mut returns = values[..rows].to_vec();
        gae_time_major(
            &mut advantages,
            &mut returns,
            &next_values,
            &self.done,
            &self.terminated,
            n,
            settings,
        );
        advantages.extend_from_slice(&returns);
        let both = Tensor::<B, 2>::from_data(TensorData::new(advantages, [2 * rows, 1]), &device);
        (both.clone().narrow(0, 0, rows), both.narrow(0, rows, rows))
    }

    /// The scan on the device from a device environment's `outcomes` (`[T * N, 5]`), for a
    /// backend that runs [`rl_functional::gae`] there ([`has_device_gae`]): nothing read or
    /// uploaded. (On other backends `gae` reads back and scans on the host: same numbers.)
    fn targets_on_device(
        &self,
        outcomes: Tensor<B, 2>,
        settings: TargetSettings,
    ) -> Result<(Tensor<B, 2>, Tensor<B, 2>)> {
        let (n, t) = (self.num_envs, self.horizon());
        let column = |c: usize| outcomes.clone().narrow(1, c, 1).reshape([t, n]);
        let (terminated, truncated) = (column(1), column(2));
        let cut = (truncated.clone() - terminated.clone()).greater_elem(0.5);
        // A device environment's bootstrap candidates are whole steps; other rows are unused.
        let device = outcomes.device();
        let mut finals: Vec<Tensor<B, 2>> =
            (0..t).map(|_| Tensor::zeros([n, 1], &device)).collect();
        for (rows, values) in &self.truncated {
            if let Some(&row) = rows.first() {
                finals[row / n] = values.clone();
            }
        }
        let finals = Tensor::cat(finals, 0).reshape([t, n]);
        let values = Tensor::cat(self.values.clone(), 0).reshape([t + 1, n]);
        // Batch-major views ([N, T]) of the time-major rollout: the kernel follows strides.
        let trajectories = Trajectories {
            rewards: column(0).div_scalar(settings.reward_scale).transpose(),
            values: values.clone().narrow(0, 0, t).transpose(),
            next_values: values.narrow(0, 1, t).mask_where(cut, finals).transpose(),
            done: (terminated.clone() + truncated)
                .greater_elem(0.5)
                .transpose(),
            terminated: terminated.greater_elem(0.5).transpose(),
        };
        let estimate = gae(&trajectories, settings.gamma, settings.lambda)?;
        let time_major = |x: Tensor<B, 2>| x.transpose().reshape([t * n, 1]);
        Ok((
            time_major(estimate.advantages),
            time_major(estimate.value_targets),
        ))
    }
}

impl<B: Backend> TrainBatch<B> {
    /// The batch with its rows in the order `rows` (a permutation of `0..S`).
    pub(crate) fn reorder(self, rows: Tensor<B, 1, Int>) -> Self {
        let select = |x: Tensor<B, 2>| x.select(0, rows.clone());
        Self {
            obs: self.obs.select(rows.clone()),
            actions: self.actions.select(rows.clone()),
            logp_old: select(self.logp_old),
            advantages: select(self.advantages),
            returns: select(self.returns),
        }
    }
}

/// torchrl's done-aware GAE over time-major host vectors of `N` environments, in place:
/// `rewards` (raw; divided by `reward_scale`) becomes the advantages and `values` (`V(s_t)`)
/// the value targets `A_t + V(s_t)`. `next_values` is the bootstrap of each step: `V(s_{t+1})`,
/// or for a truncated step the value of its final observation.
///
/// `delta_t = r_t + gamma * (1 - terminated_t) * next_t - V_t`,
/// `A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}`: the same arithmetic, element for
/// element, as [`rl_functional::gae`] on the batch-major layout.
fn gae_time_major(
    rewards: &mut [f32],
    values: &mut [f32],
    next_values: &[f32],
    done: &[bool],
    terminated: &[bool],
    n: usize,
    s: TargetSettings,
) {
    let gamma_lambda = s.gamma * s.lambda;
    let mut acc = vec![0.0f32; n];
    for (t, row) in rewards.chunks_mut(n).enumerate().rev() {
        for (e, (r, a)) in row.iter_mut().zip(&mut acc).enumerate() {
            let i = t * n + e;
            let not_terminated = if terminated[i] { 0.0 } else { 1.0 };
            let not_done = if done[i] { 0.0 } else { 1.0 };
            let reward = *r / s.reward_scale;
            let delta = (reward + s.gamma * not_terminated * next_values[i]) - values[i];
            *a = delta + *a * gamma_lambda * not_done;
            *r = *a;
            values[i] += *a;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::Bool;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    use rl_functional::Trajectories;

    /// The time-major scan equals `rl_functional::gae` (checked against torchrl's golden
    /// cases) on the transposed inputs, bit for bit.
    #[test]
    fn time_major_gae_is_rl_functional_gae_transposed() {
        let (n, t) = (5, 7);
        let mut rng = StdRng::seed_from_u64(3);
        let f = |rng: &mut StdRng| -> Vec<f32> {
            (0..n * t)
                .map(|_| rng.random::<f32>() * 4.0 - 2.0)
                .collect()
        };
        let (rewards, values, next) = (f(&mut rng), f(&mut rng), f(&mut rng));
        let terminated: Vec<bool> = (0..n * t).map(|_| rng.random::<f32>() < 0.2).collect();
        let done: Vec<bool> = terminated
            .iter()
            .map(|&x| x || rng.random::<f32>() < 0.1)
            .collect();
        let s = TargetSettings {
            gamma: 0.9,
            lambda: 0.8,
            reward_scale: 1.0,
            normalize_advantages: false,
        };
        let (mut adv, mut ret) = (rewards.clone(), values.clone());
        gae_time_major(&mut adv, &mut ret, &next, &done, &terminated, n, s);

        let device = Default::default();
        // Time-major row t * n + e to batch-major [n, t].
        let bm = |v: &[f32]| -> Tensor<NdArray, 2> {
            let x: Vec<f32> = (0..n)
                .flat_map(|e| (0..t).map(move |k| v[k * n + e]))
                .collect();
            Tensor::from_data(TensorData::new(x, [n, t]), &device)
        };
        let bmb = |v: &[bool]| -> Tensor<NdArray, 2, Bool> {
            let x: Vec<bool> = (0..n)
                .flat_map(|e| (0..t).map(move |k| v[k * n + e]))
                .collect();
            Tensor::from_data(TensorData::new(x, [n, t]), &device)
        };
        let want = rl_functional::gae(
            &Trajectories {
                rewards: bm(&rewards),
                values: bm(&values),
                next_values: bm(&next),
                done: bmb(&done),
                terminated: bmb(&terminated),
            },
            0.9,
            0.8,
        )
        .unwrap();
        let wa: Vec<f32> = want.advantages.into_data().to_vec().unwrap();
        let wr: Vec<f32> = want.value_targets.into_data().to_vec().unwrap();
        for k in 0..t {
            for e in 0..n {
                assert_eq!(adv[k * n + e], wa[e * t + k], "advantage t={k} env={e}");
                assert_eq!(ret[k * n + e], wr[e * t + k], "return t={k} env={e}");
            }
        }
    }

    /// The device path's inputs (outcome columns, the cut rows' final values, the shifted
    /// values, as batch-major views) give the host scan's targets, bit for bit: on ndarray
    /// `rl_functional::gae` scans on the host, so this checks the plumbing; the kernel itself
    /// is checked against torchrl's cases by the oracle on wgpu.
    #[test]
    fn device_targets_equal_host_targets() {
        let (n, t) = (4, 9);
        let device = Default::default();
        let mut rng = StdRng::seed_from_u64(11);
        let mut r = Rollout::<NdArray>::new(n, t);
        let mut outcomes = Vec::new();
        let column =
            |v: Vec<f32>| Tensor::<NdArray, 2>::from_data(TensorData::new(v, [n, 1]), &device);
        for step in 0..t {
            // Every third step has no final observation, so nothing is truncated there.
            let has_finals = step % 3 != 1;
            let rewards: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
            let terminated: Vec<bool> = (0..n).map(|_| rng.random::<f32>() < 0.2).collect();
            let truncated: Vec<bool> = (0..n)
                .map(|_| has_finals && rng.random::<f32>() < 0.4)
                .collect();
            let done: Vec<bool> = (0..n).map(|e| terminated[e] || truncated[e]).collect();
            let flag = |v: &[bool]| v.iter().map(|&x| f32::from(u8::from(x))).collect();
            outcomes.push(Tensor::cat(
                vec![
                    column(rewards.clone()),
                    column(flag(&terminated)),
                    column(flag(&truncated)),
                    column(vec![0.0; n]),
                    column(vec![0.0; n]),
                ],
                1,
            ));
            // Device style: every row of a step with a final observation has a candidate; a
            // row that is not cut may hold anything.
            if has_finals {
                let finals = (0..n)
                    .map(|e| match truncated[e] && !terminated[e] {
                        true => rng.random::<f32>() * 4.0,
                        false => f32::NAN,
                    })
                    .collect();
                r.truncated(&(0..n).collect::<Vec<_>>(), column(finals));
            }
            r.outcomes(&rewards, &terminated, &done);
            r.push(StepRecord {
                obs: Observation::new(Tensor::zeros([n, 1], &device)),
                actions: Action::Continuous(Tensor::zeros([n, 1], &device)),
                logp: Tensor::zeros([n, 1], &device),
                values: column((0..n).map(|_| rng.random::<f32>() * 3.0).collect()),
            });
        }
        assert!(
            r.truncated_values().len() >= 5,
            "the case has truncated rows to bootstrap"
        );
        let bootstrap = column((0..n).map(|_| rng.random::<f32>()).collect());
        r.finish(bootstrap, Some(Tensor::cat(outcomes, 0))).unwrap();
        r.check(0).unwrap();
        let settings = TargetSettings {
            gamma: 0.97,
            lambda: 0.9,
            reward_scale: 1.7,
            normalize_advantages: false,
        };
        let outcomes = r.outcomes.take().unwrap();
        let (da, dr) = r.targets_on_device(outcomes, settings).unwrap();
        let (ha, hr) = r.targets_on_host(settings);
        let read = |x: Tensor<NdArray, 2>| host::read_f32(x, "test").unwrap();
        assert_eq!(read(da), read(ha));
        assert_eq!(read(dr), read(hr));
    }
}
