//! A memory task whose rules only the action masks tell: [`MaskedRecall`].

use burn::tensor::backend::Backend;
use rl_core::{Action, EnvConfig, Observation, Result, Space, Transition};

use crate::common::{Core, Persist, StepOutput, impl_env};

/// The number of cues (the answers).
const CUES: usize = 4;
/// The number of actions: the four answers and one more.
const ACTIONS: usize = CUES + 1;

/// Recall one of four cues after a delay through which only the action masks show the way:
/// the task for recurrent PPO with masks. During the delay one action, drawn anew every step and
/// shown by the mask alone, is allowed; any other ends the episode. A policy without the masks
/// reaches the question once in `5^(length - 1)` episodes (once in 3,125 with the default
/// length) whatever it learns, so only masking makes the task learnable; with them, what is left
/// to learn is to remember the cue.
///
/// Each episode lasts `length` steps (observations, each answered by one action):
///
/// * **Observation**: an unbounded `Box` of shape `[5]`: the cue one-hot in the first four
///   values at the episode's first step, all zeros during the delay, and `[0, 0, 0, 0, 1]`
///   (the question) at the last step.
/// * **Action**: `Discrete { n: 5 }`: at the question, answers 0 to 3.
/// * **Action mask** (declared in `observation_spec`): before the last step one action, drawn
///   uniformly from the five at every step; at the last step the four answers.
/// * **Reward**: +1 for the right answer, 0 for a wrong one, both ending the episode. A
///   masked-out action earns -1 and ends the episode, and is counted
///   ([`MaskedRecall::masked_actions_taken`]), so a policy that keeps to its masks never
///   earns less than 0.
/// * **Auto-reset**: a finished environment starts a new episode in the same step with a new
///   cue; `final_obs` (`Some` whenever any row finished) holds zeros for the finished rows,
///   with the question's mask.
/// * **Reset**: every cue uniform over the four. All environments start together, so with
///   a policy that keeps to its masks every batch row finishes on the same steps.
/// * **Config keys**: `length` 6 (a whole number >= 2, [`MaskedRecall::DEFAULT_LENGTH`]).
///
/// A policy that keeps to its masks but forgets the cue earns 0.25 per episode; one that
/// remembers it earns 1.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::{Env, Observation};
/// use rl_envs::MaskedRecall;
///
/// let device = Default::default();
/// let mut env = MaskedRecall::<NdArray>::new(1, 7, &device)?;
/// assert_eq!(env.observation_spec().action_mask, Some(5));
/// let first = env.reset(None)?;
/// let cue = first.features.clone().into_data().to_vec::<f32>().unwrap().iter().position(|&x| x == 1.0).unwrap();
/// // The one action the mask allows.
/// let allowed = |obs: &Observation<NdArray>| {
///     let mask = obs.action_mask.clone().unwrap().into_data().to_vec::<bool>().unwrap();
///     mask.iter().position(|&m| m).unwrap() as i64
/// };
/// let act = |a: i64| Tensor::<NdArray, 2, Int>::from_ints([[a]], &device).into();
/// let mut obs = first;
/// for _ in 1..env.length() {
///     obs = env.step(&act(allowed(&obs)))?.obs;
/// }
/// let answer = env.step(&act(cue as i64))?;
/// assert_eq!(answer.reward.into_scalar(), 1.0);
/// assert_eq!(env.masked_actions_taken(), 0);
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct MaskedRecall<B: Backend> {
    /// State rows `[cue, t, open]`: the cue (0 to 3), the index of the observation the episode
    /// shows (0 to `length - 1`) and the one action allowed before the question.
    core: Core<B>,
    length: u32,
    masked_taken: u64,
}

impl<B: Backend> MaskedRecall<B> {
    /// The default episode length (`length`).
    pub const DEFAULT_LENGTH: u32 = 6;
    /// The number of cues (answers 0 to 3).
    pub const CUES: usize = CUES;

    /// `num_envs` tasks (at least 1) whose observations carry action masks; cues and allowed
    /// actions are drawn by a generator seeded with `seed`. Call [`rl_core::Env::reset`] before
    /// the first step. An error ([`rl_core::CoreError::Env`]) if `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let actions = Space::discrete(ACTIONS)?;
        let mut core = Core::new("MaskedRecall", num_envs, seed, device, (3, 5), actions)?;
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
                out.extend((0..CUES).map(|c| f32::from(c as f64 == cue)));
                out.push(0.0);
            } else if t == f64::from(length - 1) {
                out.extend([0.0, 0.0, 0.0, 0.0, 1.0]);
            } else {
                out.extend([0.0; ACTIONS]);
            }
        }
    }

    /// Whether action `a` is allowed in state row `s`.
    fn allows(&self, s: &[f64], a: usize) -> bool {
        if s[1] == f64::from(self.length - 1) {
            a < CUES
        } else {
            a as f64 == s[2]
        }
    }

    /// `obs` with the masks of the state rows `rows`, when this batch masks.
    fn masked(&self, obs: Observation<B>, rows: &[f64]) -> Result<Observation<B>> {
        if !self.core.masked {
            return Ok(obs);
        }
        let flags = rows
            .chunks_exact(3)
            .flat_map(|s| (0..ACTIONS).map(move |a| self.allows(s, a)))
            .collect();
        self.core.with_mask(obs, flags)
    }

    /// The action allowed at the next delay step: uniform over all of them.
    fn draw_open(core: &mut Core<B>) -> f64 {
        core.uniform(0.0, ACTIONS as f64)
            .floor()
            .min(ACTIONS as f64 - 1.0)
    }

    fn draw_start(core: &mut Core<B>, row: &mut [f64]) {
        let cue = core
            .uniform(0.0, CUES as f64)
            .floor()
            .min(CUES as f64 - 1.0);
        let open = Self::draw_open(core);
        row.copy_from_slice(&[cue, 0.0, open]);
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        let reader = self.core.config(config);
        let length = reader.count("length", Self::DEFAULT_LENGTH)?;
        reader.require(length >= 2, "`length` must be at least 2")?;
        self.length = length;
        let obs = self
            .core
            .reset_rows(Self::draw_start, Self::observer(length));
        let rows = self.core.state()?.to_vec();
        self.masked(obs, &rows)
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let actions = self.core.discrete_actions(action)?;
        let mut next = self.core.state()?.to_vec();
        let n = self.core.info.num_envs();
        let observe = Self::observer(self.length);
        let question = f64::from(self.length - 1);
        let mut reward = vec![0.0; n];
        let mut terminated = vec![false; n];
        let mut final_obs = Vec::with_capacity(ACTIONS * n);
        let mut final_rows = Vec::with_capacity(3 * n);
        let mut obs = Vec::with_capacity(ACTIONS * n);
        let mut taken = 0;
        for (row, s) in next.chunks_exact_mut(3).enumerate() {
            let a = actions[row];
            let allowed = self.allows(s, a as usize);
            if allowed && s[1] < question {
                s[1] += 1.0;
                s[2] = Self::draw_open(&mut self.core);
                observe(s, &mut final_obs);
                final_rows.extend_from_slice(s);
            } else {
                reward[row] = match allowed {
                    false => -1.0,
                    true => f32::from(a as f64 == s[0]),
                };
                taken += u64::from(!allowed);
                terminated[row] = true;
                final_obs.extend([0.0; ACTIONS]);
                final_rows.extend([s[0], question, 0.0]);
                Self::draw_start(&mut self.core, s);
            }
            observe(s, &mut obs);
        }
        let out = StepOutput::new(obs, reward, terminated, vec![false; n], final_obs);
        let mut step = self.core.commit(next, out)?;
        self.masked_taken += taken;
        let rows = self.core.state()?.to_vec();
        step.obs = self.masked(step.obs, &rows)?;
        if let Some(f) = step.final_obs.take() {
            step.final_obs = Some(self.masked(f, &final_rows)?);
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

    fn only(a: usize) -> Vec<bool> {
        (0..ACTIONS).map(|i| i == a).collect()
    }

    #[test]
    fn rules_rewards_masks_and_the_count_of_masked_actions() {
        let mut env = MaskedRecall::<B>::new(3, 0, &dev()).unwrap();
        let first = env.reset(Some(&config(&[("length", 3.0)]))).unwrap();
        let opens: Vec<usize> = env
            .core
            .state
            .as_ref()
            .unwrap()
            .chunks(3)
            .map(|s| s[2] as usize)
            .collect();
        assert_eq!(
            mask(first.action_mask),
            opens.iter().flat_map(|&o| only(o)).collect::<Vec<_>>()
        );
        // Row 0 takes its open action at step 1, row 1 answers 2 (its cue) at the question,
        // row 2 takes a closed action before the question.
        env.core.state = Some(vec![1.0, 1.0, 4.0, 2.0, 2.0, 0.0, 3.0, 1.0, 2.0]);
        let t = env.step(&discrete(&[4, 2, 3])).unwrap();
        assert_eq!(floats(t.reward), vec![0.0, 1.0, -1.0]);
        assert_eq!(bools(t.terminated), vec![false, true, true]);
        assert_eq!(env.masked_actions_taken(), 1);
        let answers = [true, true, true, true, false];
        let next = mask(t.obs.action_mask);
        assert_eq!(next[..5], answers, "row 0 is now at the question");
        let state = env.core.state.clone().unwrap();
        assert_eq!((state[4], state[7]), (0.0, 0.0), "rows 1 and 2 start again");
        assert_eq!(next[5..10], only(state[5] as usize)[..]);
        let finals = t.final_obs.unwrap();
        assert_eq!(features(&finals)[..5], [0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(mask(finals.action_mask), answers.repeat(3));
        // The fifth action at the question is masked out too.
        env.step(&discrete(&[4, 4, 4])).unwrap();
        assert!(env.masked_actions_taken() >= 2);
        // The open action is drawn over all five.
        let mut seen = [false; ACTIONS];
        for _ in 0..100 {
            env.reset(Some(&config(&[("length", 3.0)]))).unwrap();
            for s in env.core.state.as_ref().unwrap().chunks(3) {
                seen[s[2] as usize] = true;
            }
        }
        assert_eq!(seen, [true; ACTIONS]);
        // Unmasked, the rules are the same and the observations carry no mask.
        let mut bare = MaskedRecall::<B>::new(1, 0, &dev())
            .unwrap()
            .without_masks();
        assert_eq!(bare.observation_spec().action_mask, None);
        assert!(bare.reset(None).unwrap().action_mask.is_none());
    }
}
