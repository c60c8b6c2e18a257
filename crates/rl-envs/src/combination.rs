//! A multi-discrete bandit with heads of different sizes: [`Combination`].

use burn::tensor::backend::Backend;
use rl_core::{Action, EnvConfig, Observation, Result, Space, Transition};

use crate::common::{Core, Persist, StepOutput, impl_env};

/// A combination lock read off the observation: each of three dials, of 2, 3 and 5 positions,
/// must be set to the position the observation shows. The smallest task whose actions are a
/// `MultiDiscrete` with heads of different sizes; a uniformly random policy earns
/// `(1/2 + 1/3 + 1/5) / 3 = 0.344` per step, one that reads the targets earns 1.
///
/// * **Observation**: an unbounded `Box` of shape `[10]`: each dial's target one-hot, dial after
///   dial (2 + 3 + 5 values).
/// * **Action**: `MultiDiscrete { nvec: [2, 3, 5] }` (`[N, 3]` Int), one position per dial.
/// * **Reward**: the fraction of dials set to their target (0, 1/3, 2/3 or 1).
/// * **Termination**: every step ends its episode (`terminated` true); the next observation
///   shows new targets, and `final_obs` is all zeros (there is nothing left to observe).
/// * **Reset**: every target uniform over its dial's positions. No config keys.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::{Env, Space};
/// use rl_envs::Combination;
///
/// let device = Default::default();
/// let mut env = Combination::<NdArray>::new(1, 3, &device)?;
/// assert_eq!(env.action_space(), &Space::multi_discrete(vec![2, 3, 5])?);
/// let obs = env.reset(None)?.features.into_data().to_vec::<f32>().unwrap();
/// // Read each dial's target off its one-hot block.
/// let (mut start, mut target) = (0, vec![]);
/// for n in [2, 3, 5] {
///     target.push(obs[start..start + n].iter().position(|&x| x == 1.0).unwrap() as i64);
///     start += n;
/// }
/// let action = Tensor::<NdArray, 1, Int>::from_ints(target.as_slice(), &device).reshape([1, 3]);
/// let step = env.step(&action.into())?;
/// assert_eq!(step.reward.into_scalar(), 1.0);
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct Combination<B: Backend> {
    /// State rows: each dial's target.
    core: Core<B>,
}

impl<B: Backend> Combination<B> {
    /// The positions of each dial.
    pub const DIALS: [usize; 3] = [2, 3, 5];

    /// `num_envs` locks (at least 1), their targets drawn by a generator seeded with `seed`;
    /// call [`rl_core::Env::reset`] before the first step. An error
    /// ([`rl_core::CoreError::Env`]) if `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let actions = Space::multi_discrete(Self::DIALS.to_vec())?;
        let width = Self::DIALS.iter().sum();
        let core = Core::new("Combination", num_envs, seed, device, (3, width), actions)?;
        Ok(Self { core })
    }

    fn observe(s: &[f64], out: &mut Vec<f32>) {
        for (&target, n) in s.iter().zip(Self::DIALS) {
            out.extend((0..n).map(|p| if p as f64 == target { 1.0 } else { 0.0 }));
        }
    }

    fn draw(core: &mut Core<B>, row: &mut [f64]) {
        for (target, n) in row.iter_mut().zip(Self::DIALS) {
            *target = core.uniform(0.0, n as f64).floor().min(n as f64 - 1.0);
        }
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        // No keys: every key is unknown, and unknown keys are ignored.
        let _ = config;
        Ok(self.core.reset_rows(Self::draw, Self::observe))
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let actions = self.core.discrete_actions(action)?;
        let mut next = self.core.state()?.to_vec();
        let n = self.core.info.num_envs();
        let heads = Self::DIALS.len();
        let mut reward = Vec::with_capacity(n);
        for (s, a) in next
            .chunks_exact_mut(heads)
            .zip(actions.chunks_exact(heads))
        {
            let right = s.iter().zip(a).filter(|(t, a)| **t == **a as f64).count();
            reward.push(right as f32 / heads as f32);
            Self::draw(&mut self.core, s);
        }
        let obs = self.core.observe(&next, Self::observe);
        let finals = vec![0.0; obs.len()];
        let out = StepOutput::new(obs, reward, vec![true; n], vec![false; n], finals);
        self.core.commit(next, out)
    }
}

impl_env!(Combination);

impl<B: Backend> Persist<B> for Combination<B> {
    /// Nothing besides the targets in the core.
    type Extra = ();
    fn core_mut(&mut self) -> &mut Core<B> {
        &mut self.core
    }
    fn extra(&self) {}
    fn set_extra(&mut self, (): ()) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::*;
    use burn::tensor::{Int, Tensor};
    use rl_core::Env;

    fn dials(v: &[i64]) -> Action<B> {
        Tensor::<B, 1, Int>::from_ints(v, &dev())
            .reshape([v.len() / 3, 3])
            .into()
    }

    #[test]
    fn reward_counts_the_dials_set_right_and_targets_cover_every_position() {
        let mut env = Combination::<B>::new(2, 0, &dev()).unwrap();
        env.reset(None).unwrap();
        env.core.state = Some(vec![1.0, 2.0, 4.0, 0.0, 0.0, 0.0]);
        let t = env.step(&dials(&[1, 2, 0, 0, 1, 1])).unwrap();
        assert_eq!(floats(t.reward), vec![2.0 / 3.0, 1.0 / 3.0]);
        assert_eq!(bools(t.terminated), vec![true, true]);
        // An action outside a smaller dial is refused.
        assert!(env.step(&dials(&[2, 0, 0, 0, 0, 0])).is_err());
        let mut seen = [[false; 5]; 3];
        for _ in 0..200 {
            env.step(&dials(&[0; 6])).unwrap();
            for row in env.core.state.as_ref().unwrap().chunks(3) {
                for (d, &t) in row.iter().enumerate() {
                    seen[d][t as usize] = true;
                }
            }
        }
        for (d, n) in Combination::<B>::DIALS.iter().enumerate() {
            assert!(seen[d][..*n].iter().all(|&s| s), "dial {d}: {seen:?}");
            assert!(seen[d][*n..].iter().all(|&s| !s), "dial {d}: {seen:?}");
        }
    }
}
