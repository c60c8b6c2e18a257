//! A cue-recall memory task: [`Recall`].

use burn::tensor::backend::Backend;
use rl_core::{Action, EnvConfig, Observation, Result, Space, Transition};

use crate::common::{Core, StepOutput, impl_env, persist_field};

/// A cue-recall memory task: remember a bit shown at an episode's first step and repeat it when
/// asked at the last step. A policy that sees only the current observation earns a mean return
/// of 0 per episode; one that remembers the cue earns 1.
///
/// Each episode lasts `length` steps (observations, each answered by one action):
///
/// * **Observation**: an unbounded `Box` of shape `[3]`: `[cue_is_0, cue_is_1, query]`. The
///   episode's first observation shows the cue one-hot (`[1, 0, 0]` or `[0, 1, 0]`), the middle
///   ones are `[0, 0, 0]` and the last one is the query `[0, 0, 1]`.
/// * **Action**: `Discrete { n: 2 }` (`[N, 1]` Int): the answer; ignored except at the query.
/// * **Reward**: 0, except for the action taken on the query observation: +1 if it equals the
///   cue, -1 otherwise.
/// * **Termination**: the step answering the query terminates the episode (`terminated`
///   true, `truncated` never set).
/// * **Auto-reset**: a finished environment starts a new episode within the same step, with a
///   new cue: its row of `obs` shows that cue, and `final_obs` (`Some` whenever any row
///   finished) holds `[0, 0, 0]` for the finished rows (there is nothing left to observe) and
///   `obs` for the others.
/// * **Reset**: every environment draws its cue uniformly from {0, 1}, at
///   [`rl_core::Env::reset`] and at auto-reset. All environments start their episodes together
///   at a reset, so every batch row finishes on the same steps: every `length`-th step.
/// * **Config keys** (rebuilt from the defaults at every [`rl_core::Env::reset`]; unknown keys
///   ignored): `length` 4 (a whole number >= 2, [`Recall::DEFAULT_LENGTH`]).
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::Env;
/// use rl_envs::Recall;
///
/// let device = Default::default();
/// let mut env = Recall::<NdArray>::new(2, 7, &device)?;
/// let first = env.reset(None)?.features.into_data().to_vec::<f32>().unwrap();
/// // Remember each row's cue (column 1 is `cue_is_1`) and answer it at the query.
/// let cues: Vec<i64> = first.chunks(3).map(|row| row[1] as i64).collect();
/// let answer = Tensor::<NdArray, 1, Int>::from_ints(cues.as_slice(), &device).reshape([2, 1]);
/// for step in 1..=env.length() {
///     let t = env.step(&answer.clone().into())?;
///     let reward = t.reward.into_data().to_vec::<f32>().unwrap();
///     let last = step == env.length();
///     assert_eq!(reward, vec![if last { 1.0 } else { 0.0 }; 2]);
///     assert_eq!(t.final_obs.is_some(), last);
/// }
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct Recall<B: Backend> {
    /// State rows `[cue, t]`: the cue (0 or 1) and the index of the observation the episode
    /// shows (0 to `length - 1`).
    core: Core<B>,
    length: u32,
}

impl<B: Backend> Recall<B> {
    /// The default episode length (`length`).
    pub const DEFAULT_LENGTH: u32 = 4;

    /// `num_envs` recall tasks (at least 1). Each episode's cue, 0 or 1, is drawn by a
    /// generator seeded with `seed`; call [`rl_core::Env::reset`] before the first step. An
    /// error ([`rl_core::CoreError::Env`]) if `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let actions = Space::discrete(2)?;
        let core = Core::new("Recall", num_envs, seed, device, (2, 3), actions)?;
        Ok(Self {
            core,
            length: Self::DEFAULT_LENGTH,
        })
    }

    /// The episode length in force (`length` of the last reset).
    pub fn length(&self) -> u32 {
        self.length
    }

    /// The observation of a state row `[cue, t]` in episodes of `length` steps.
    fn observer(length: u32) -> impl Fn(&[f64], &mut Vec<f32>) + Copy {
        move |s, out| {
            let t = s[1];
            let cue_is_1 = s[0] == 1.0;
            if t == 0.0 {
                out.extend([!cue_is_1, cue_is_1, false].map(f32::from));
            } else if t == f64::from(length - 1) {
                out.extend([0.0, 0.0, 1.0]);
            } else {
                out.extend([0.0; 3]);
            }
        }
    }

    /// A new episode's state row: a cue drawn uniformly from {0, 1}, at step 0.
    fn draw_start(core: &mut Core<B>) -> [f64; 2] {
        let cue = if core.uniform(0.0, 1.0) < 0.5 {
            0.0
        } else {
            1.0
        };
        [cue, 0.0]
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        let reader = self.core.config(config);
        let length = reader.count("length", Self::DEFAULT_LENGTH)?;
        reader.require(length >= 2, "`length` must be at least 2")?;
        self.length = length;
        let n = self.core.info.num_envs();
        Ok(self.core.reset_with(
            |core| (0..n).flat_map(|_| Self::draw_start(core)).collect(),
            Self::observer(length),
        ))
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let actions = self.core.discrete_actions(action)?;
        let mut next = self.core.state()?.to_vec();
        let n = self.core.info.num_envs();
        let observe = Self::observer(self.length);
        let query = f64::from(self.length - 1);
        let mut reward = vec![0.0; n];
        let mut terminated = vec![false; n];
        let mut final_obs = Vec::with_capacity(3 * n);
        let mut obs = Vec::with_capacity(3 * n);
        for (row, s) in next.chunks_exact_mut(2).enumerate() {
            if s[1] == query {
                reward[row] = if actions[row] as f64 == s[0] {
                    1.0
                } else {
                    -1.0
                };
                terminated[row] = true;
                final_obs.extend([0.0; 3]);
                s.copy_from_slice(&Self::draw_start(&mut self.core));
            } else {
                s[1] += 1.0;
                observe(s, &mut final_obs);
            }
            observe(s, &mut obs);
        }
        let out = StepOutput::new(obs, reward, terminated, vec![false; n], final_obs);
        self.core.commit(next, out)
    }
}

impl_env!(Recall);

persist_field!(Recall, length: u32);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::*;
    use rl_core::Env;

    #[test]
    fn final_obs_of_unfinished_rows_equals_obs() {
        let mut env = Recall::<B>::new(3, 0, &dev()).unwrap();
        env.reset(None).unwrap();
        // Rows at the query (cue 1), at step 1 (cue 0) and at step 2.
        env.core.state = Some(vec![1.0, 3.0, 0.0, 1.0, 1.0, 2.0]);
        let t = env.step(&discrete(&[1, 1, 1])).unwrap();
        assert_eq!(floats(t.reward), vec![1.0, 0.0, 0.0]);
        assert_eq!(bools(t.terminated), vec![true, false, false]);
        let obs = features(&t.obs);
        assert_eq!(obs[3..], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        let final_obs = features(&t.final_obs.unwrap());
        assert_eq!(final_obs[..3], [0.0; 3]);
        assert_eq!(final_obs[3..], obs[3..]);
        assert_eq!(env.core.state.as_ref().unwrap()[1], 0.0);
    }
}
