//! Advantages, shared by both PPO algorithms: GAE over the buffered horizon (rewards divided by
//! the running reward scale), done-aware and bootstrapping truncated episodes from the value of
//! their final observation, then the advantages normalized over the whole buffer.

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Bool, Tensor, TensorData};
use rl_core::{Action, Env, Observation};
use rl_functional::host::read_f32;
use rl_functional::{Trajectories, gae, normalize};

use crate::collect::{Inner, Runner};
use crate::error::Result;
use crate::rollout::Rollout;
use crate::update::Targets;

impl<B: AutodiffBackend, E: Env<Inner<B>>> Runner<B, E> {
    /// Advantages and value targets (time-major rows `t * N + n`), plus the stacked
    /// observations and actions.
    #[allow(clippy::type_complexity)]
    pub fn targets(
        &self,
        rollout: Rollout<Inner<B>>,
    ) -> Result<(Targets<Inner<B>>, Observation<Inner<B>>, Action<Inner<B>>)> {
        let n = rollout.num_envs;
        let t_len = rollout.horizon();
        let device = rollout.values[0].device();
        let values = read_f32(Tensor::cat(rollout.values, 0), "step", "values")?;
        let scale = self.reward_scale() as f32;
        // Batch-major [N, T] host copies for the estimator.
        let bm = |f: &dyn Fn(usize, usize) -> f32| -> Vec<f32> {
            (0..n)
                .flat_map(|e| (0..t_len).map(move |t| (e, t)))
                .map(|(e, t)| f(e, t))
                .collect()
        };
        let mut next_values: Vec<f32> = values[n..].to_vec();
        for &(row, v) in &rollout.truncated_values {
            next_values[row] = v;
        }
        let upload =
            |v: Vec<f32>| Tensor::<Inner<B>, 2>::from_data(TensorData::new(v, [n, t_len]), &device);
        let flags = |v: &[bool]| {
            let bm: Vec<bool> = (0..n)
                .flat_map(|e| (0..t_len).map(move |t| v[t * n + e]))
                .collect();
            Tensor::<Inner<B>, 2, Bool>::from_data(TensorData::new(bm, [n, t_len]), &device)
        };
        let estimate = gae(
            &Trajectories {
                rewards: upload(bm(&|e, t| rollout.rewards[t * n + e] / scale)),
                values: upload(bm(&|e, t| values[t * n + e])),
                next_values: upload(bm(&|e, t| next_values[t * n + e])),
                done: flags(&rollout.done),
                terminated: flags(&rollout.terminated),
            },
            self.config.gamma as f32,
            self.config.gae_lambda as f32,
        )?;
        // Back to time-major rows.
        let to_rows = |x: Tensor<Inner<B>, 2>, what: &'static str| -> Result<Tensor<Inner<B>, 2>> {
            let h = read_f32(x, "step", what)?;
            let tm: Vec<f32> = (0..t_len)
                .flat_map(|t| (0..n).map(move |e| (t, e)))
                .map(|(t, e)| h[e * t_len + t])
                .collect();
            Ok(Tensor::from_data(
                TensorData::new(tm, [n * t_len, 1]),
                &device,
            ))
        };
        let mut advantages = to_rows(estimate.advantages, "advantages")?;
        if self.config.normalize_advantages {
            advantages = normalize(advantages);
        }
        let targets = Targets {
            logp_old: Tensor::cat(rollout.logp, 0),
            advantages,
            returns: to_rows(estimate.value_targets, "value targets")?,
        };
        Ok((
            targets,
            Observation::cat(rollout.obs)?,
            Action::cat(rollout.actions)?,
        ))
    }
}
