//! A memory task whose rules are told by action masks: [`MaskedRecall`].

use burn::tensor::backend::Backend;
use rl_core::{Action, EnvConfig, Observation, Result, Space, Transition};

use crate::common::{Core, Persist, StepOutput, impl_env};

/// The number of cues (the answers); the action after them is *wait*.
const CUES: usize = 4;

/// Recall one of four cues after a delay, with an action mask saying what may be done: the
/// task for recurrent PPO with masks. Masks make it learnable: without them a policy must
/// first discover, from rare rewards, that it has to wait through the delay, since a random
/// one reaches the question once in `5^(length - 1)` episodes.
///
/// Each episode lasts `length` steps (observations, each answered by one action):
///
/// * **Observation**: an unbounded `Box` of shape `[5]`: the cue one-hot in the first four
///   values at the episode's first step, all zeros during the delay, and `[0, 0, 0, 0, 1]`
///   (the question) at the last step.
/// * **Action**: `Discrete { n: 5 }`: answers 0 to 3, and 4, *wait*.
/// * **Action mask** (declared in `observation_spec`): before the last step only *wait* is
///   allowed; at the last step only the four answers.
/// * **Reward**: +1 for the right answer, 0 for a wrong one, both ending the episode. A
///   masked-out action (an answer before the question, or waiting at it) earns -1, ends the
///   episode, and is counted ([`MaskedRecall::masked_actions_taken`]).
/// * **Auto-reset**: a finished environment starts a new episode in the same step with a new
///   cue; `final_obs` (`Some` whenever any row finished) holds zeros for the finished rows,
///   with the last step's mask.
/// * **Reset**: every cue uniform over the four. All environments start together, so with
///   a policy that keeps the rules every batch row finishes on the same steps.
/// * **Config keys**: `length` 6 (a whole number >= 2, [`MaskedRecall::DEFAULT_LENGTH`]).
///
/// A policy that keeps the rules but forgets the cue earns 0.25 per episode; one that
/// remembers it earns 1.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::{Env, Space};
/// use rl_envs::MaskedRecall;
///
/// let device = Default::default();
/// let mut env = MaskedRecall::<NdArray>::new(1, 7, &device)?;
/// assert_eq!(env.observation_spec().action_mask, Some(5));
/// let first = env.reset(None)?;
/// let cue = first.features.into_data().to_vec::<f32>().unwrap().iter().position(|&x| x == 1.0).unwrap();
/// let act = |a: i64| Tensor::<NdArray, 2, Int>::from_ints([[a]], &device).into();
/// for _ in 1..env.length() {
///     env.step(&act(MaskedRecall::<NdArray>::WAIT))?;
/// }
/// let answer = env.step(&act(cue as i64))?;
/// assert_eq!(answer.reward.into_scalar(), 1.0);
/// assert_eq!(env.masked_actions_taken(), 0);
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct MaskedRecall<B: Backend> {
    /// State rows `[cue, t]`: the cue (0 to 3) and the index of the observation the episode
    /// shows (0 to `length - 1`).
    core: Core<B>,
    length: u32,
    masked_taken: u64,
}

impl<B: Backend> MaskedRecall<B> {
    /// The default episode length (`length`).
    pub const DEFAULT_LENGTH: u32 = 6;
    /// The number of cues.
    pub const CUES: usize = CUES;
    /// The *wait* action.
    pub const WAIT: i64 = 4;

    /// `num_envs` tasks (at least 1) whose observations carry action masks; cues are drawn
    /// by a generator seeded with `seed`. Call [`rl_core::Env::reset`] before the first step.
    /// An error ([`rl_core::CoreError::Env`]) if `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let actions = Space::discrete(Self::CUES + 1)?;
        let mut core = Core::new("MaskedRecall", num_envs, seed, device, (2, 5), actions)?;
        core.masked = true;
        Ok(Self {
            core,
            length: Self::DEFAULT_LENGTH,
            masked_taken: 0,
        })
    }

    /// The same task with no action mask in its observations: the rules still hold, but the
    /// policy is not told them (to measure what the masks are worth).
    pub fn without_masks(mut self) -> Self {
        self.core.masked = false;
        self
    }

    /// The episode length in force (`length` of the last reset).
    pub fn length(&self) -> u32 {
        self.length
    }

    /// How many masked-out actions were taken since this batch was built.
    pub fn masked_actions_taken(&self) -> u64 {
        self.masked_taken
    }

    fn observer(length: u32) -> impl Fn(&[f64], &mut Vec<f32>) + Copy {
        move |s, out| {
            let (cue, t) = (s[0], s[1]);
            if t == 0.0 {
                out.extend((0..Self::CUES).map(|c| f32::from(c as f64 == cue)));
                out.push(0.0);
            } else if t == f64::from(length - 1) {
                out.extend([0.0, 0.0, 0.0, 0.0, 1.0]);
            } else {
                out.extend([0.0; 5]);
            }
        }
    }

    /// The mask of a row at step `t`: *wait* before the question, the answers at it.
    fn mask_row(&self, t: f64, out: &mut Vec<bool>) {
        let question = t == f64::from(self.length - 1);
        out.extend([question; CUES]);
        out.push(!question);
    }

    /// `obs` with the masks of the steps `ts`, when this batch masks.
    fn masked(&self, obs: Observation<B>, ts: impl Iterator<Item = f64>) -> Result<Observation<B>> {
        if !self.core.masked {
            return Ok(obs);
        }
        let mut flags = Vec::with_capacity(self.core.num_envs * (Self::CUES + 1));
        ts.for_each(|t| self.mask_row(t, &mut flags));
        self.core.with_mask(obs, flags)
    }

    fn draw_start(core: &mut Core<B>, row: &mut [f64]) {
        let cue = core.uniform(0.0, Self::CUES as f64).floor();
        row.copy_from_slice(&[cue.min(Self::CUES as f64 - 1.0), 0.0]);
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        let reader = self.core.config(config);
        let length = reader.count("length", Self::DEFAULT_LENGTH)?;
        reader.require(length >= 2, "`length` must be at least 2")?;
        self.length = length;
        let obs = self
            .core
            .reset_rows(Self::draw_start, Self::observer(length));
        self.masked(obs, std::iter::repeat_n(0.0, self.core.num_envs))
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let actions = self.core.discrete_actions(action)?;
        let mut next = self.core.state()?.to_vec();
        let n = self.core.num_envs;
        let observe = Self::observer(self.length);
        let question = f64::from(self.length - 1);
        let mut reward = vec![0.0; n];
        let mut terminated = vec![false; n];
        let mut final_obs = Vec::with_capacity(5 * n);
        let mut final_t = Vec::with_capacity(n);
        let mut obs = Vec::with_capacity(5 * n);
        let mut taken = 0;
        for (row, s) in next.chunks_exact_mut(2).enumerate() {
            let (a, at_question) = (actions[row], s[1] == question);
            let allowed = (a == Self::WAIT) != at_question;
            if allowed && !at_question {
                s[1] += 1.0;
                observe(s, &mut final_obs);
                final_t.push(s[1]);
            } else {
                reward[row] = match (allowed, a as f64 == s[0]) {
                    (false, _) => -1.0,
                    (true, right) => f32::from(right),
                };
                taken += u64::from(!allowed);
                terminated[row] = true;
                final_obs.extend([0.0; 5]);
                final_t.push(question);
                Self::draw_start(&mut self.core, s);
            }
            observe(s, &mut obs);
        }
        let any_done = terminated.contains(&true);
        let out = StepOutput {
            obs,
            reward,
            terminated,
            truncated: vec![false; n],
            final_obs: any_done.then_some(final_obs),
        };
        let mut step = self.core.commit(next, out)?;
        self.masked_taken += taken;
        let ts: Vec<f64> = self.core.state()?.chunks_exact(2).map(|s| s[1]).collect();
        step.obs = self.masked(step.obs, ts.into_iter())?;
        if let Some(f) = step.final_obs.take() {
            step.final_obs = Some(self.masked(f, final_t.into_iter())?);
        }
        Ok(step)
    }
}

impl_env!(MaskedRecall);

impl<B: Backend> Persist<B> for MaskedRecall<B> {
    /// The length of the last reset and the count of masked-out actions taken.
    type Extra = (u32, u64);
    fn core_mut(&mut self) -> &mut Core<B> {
        &mut self.core
    }
    fn extra(&self) -> (u32, u64) {
        (self.length, self.masked_taken)
    }
    fn set_extra(&mut self, (length, taken): (u32, u64)) -> Result<()> {
        self.length = length;
        self.masked_taken = taken;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::*;
    use burn::tensor::{Bool, Tensor};
    use rl_core::Env;

    fn mask(t: Option<Tensor<B, 2, Bool>>) -> Vec<bool> {
        t.unwrap().into_data().to_vec().unwrap()
    }

    #[test]
    fn rules_rewards_masks_and_the_count_of_masked_actions() {
        let mut env = MaskedRecall::<B>::new(3, 0, &dev()).unwrap();
        let first = env.reset(Some(&config(&[("length", 3.0)]))).unwrap();
        let wait_only = [false, false, false, false, true];
        assert_eq!(mask(first.action_mask), wait_only.repeat(3));
        // Row 0 waits at step 1, row 1 answers 2 (its cue) at the question, row 2 answers
        // before the question (masked out).
        env.core.state = Some(vec![1.0, 1.0, 2.0, 2.0, 3.0, 1.0]);
        let t = env.step(&discrete(&[4, 2, 3])).unwrap();
        assert_eq!(floats(t.reward), vec![0.0, 1.0, -1.0]);
        assert_eq!(bools(t.terminated), vec![false, true, true]);
        assert_eq!(env.masked_actions_taken(), 1);
        let answers = [true, true, true, true, false];
        let next = mask(t.obs.action_mask);
        assert_eq!(next[..5], answers, "row 0 is now at the question");
        assert_eq!(
            next[5..],
            wait_only.repeat(2)[..],
            "rows 1 and 2 start again"
        );
        let finals = t.final_obs.unwrap();
        assert_eq!(features(&finals)[..5], [0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(mask(finals.action_mask)[..5], answers);
        // Waiting at the question is masked out too.
        env.step(&discrete(&[4, 4, 4])).unwrap();
        assert_eq!(env.masked_actions_taken(), 2);
        // Unmasked, the rules are the same and the observations carry no mask.
        let mut bare = MaskedRecall::<B>::new(1, 0, &dev())
            .unwrap()
            .without_masks();
        assert_eq!(bare.observation_spec().action_mask, None);
        assert!(bare.reset(None).unwrap().action_mask.is_none());
    }
}
