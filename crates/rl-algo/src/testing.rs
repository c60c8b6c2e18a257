//! Test fixtures shared by the unit tests of both algorithms.

use burn::backend::NdArray;
use burn::tensor::{Bool, Tensor, TensorData};
use rl_core::{Action, Env, EnvConfig, EnvInfo, Observation, Residence, Space, Transition};

type I = NdArray;

/// Two environments whose observation is the step count of the episode. Reward 1 per
/// step. After 3 steps environment 0 terminates and environment 1 is truncated; both
/// reset to 0. [`Walk::on_device`] says it runs on the device, and gives `final_obs` at every
/// step as such an environment must.
pub(crate) struct Walk {
    residence: Residence,
    /// The step (counted from 0 since construction) whose observation of environment 1 is NaN.
    nan_at: Option<usize>,
    steps: usize,
    pos: Vec<f32>,
    info: EnvInfo<I>,
}

impl Walk {
    pub(crate) fn new() -> Self {
        Self {
            residence: Residence::Host,
            nan_at: None,
            steps: 0,
            pos: vec![0.0; 2],
            info: EnvInfo::new(
                "Walk",
                2,
                Space::unbounded(vec![1]).unwrap(),
                Space::discrete(2).unwrap(),
                Default::default(),
            )
            .unwrap(),
        }
    }
    pub(crate) fn on_device() -> Self {
        Self {
            residence: Residence::Device,
            ..Self::new()
        }
    }
    /// The same walk whose observation of environment 1 after step `step` is NaN.
    pub(crate) fn with_nan_at(self, step: usize) -> Self {
        Self {
            nan_at: Some(step),
            ..self
        }
    }
    fn obs(&self, v: Vec<f32>) -> Observation<I> {
        Observation::new(Tensor::from_data(
            TensorData::new(v, [2, 1]),
            self.info.device(),
        ))
    }
}

impl Env<I> for Walk {
    fn info(&self) -> &EnvInfo<I> {
        &self.info
    }
    fn residence(&self) -> Residence {
        self.residence
    }
    fn reset(&mut self, _: Option<&EnvConfig>) -> rl_core::Result<Observation<I>> {
        self.pos = vec![0.0; 2];
        Ok(self.obs(self.pos.clone()))
    }
    fn step(&mut self, _: &Action<I>) -> rl_core::Result<Transition<I>> {
        let reached: Vec<f32> = self.pos.iter().map(|p| p + 1.0).collect();
        let done = reached[0] >= 3.0;
        self.pos = if done { vec![0.0; 2] } else { reached.clone() };
        let flags = |v: [bool; 2]| {
            Tensor::<I, 1, Bool>::from_data(TensorData::new(v.to_vec(), [2]), self.info.device())
        };
        let mut seen = self.pos.clone();
        if self.nan_at == Some(self.steps) {
            seen[1] = f32::NAN;
        }
        self.steps += 1;
        Ok(Transition {
            obs: self.obs(seen),
            reward: Tensor::from_data(TensorData::new(vec![1.0f32; 2], [2]), self.info.device()),
            terminated: flags([done, false]),
            truncated: flags([false, done]),
            final_obs: (done || self.residence == Residence::Device).then(|| self.obs(reached)),
        })
    }
}
