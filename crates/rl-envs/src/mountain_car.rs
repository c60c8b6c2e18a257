//! The mountain car: rl8's with a shaped reward and no end ([`MountainCar`]), and Gymnasium's
//! `MountainCar-v0` and `MountainCarContinuous-v0` ([`MountainCarV0`],
//! [`MountainCarContinuousV0`]).

use burn::tensor::backend::Backend;
use rl_core::{Action, EnvConfig, Observation, Result, Space, Transition};

use crate::common::{ConfigReader, Core, TimeLimit, impl_env, persist_episodic, persist_field};

/// The mountain car's parameters, read from the config at every reset.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Params {
    force_mag: f64,
    goal_position: f64,
    goal_velocity: f64,
    gravity: f64,
    max_position: f64,
    max_speed: f64,
    min_position: f64,
}

impl Params {
    /// The parameters of `reader`, with the force of a push under `force_key` and the goal's
    /// position defaulting to `goal` (rl8's and `MountainCar-v0`'s: `force_mag` 0.001 and 0.5;
    /// `MountainCarContinuous-v0`'s: `power` 0.0015 and 0.45).
    fn from_config(
        reader: &ConfigReader<'_>,
        force_key: &str,
        force: f64,
        goal: f64,
    ) -> Result<Self> {
        let params = Self {
            force_mag: reader.finite(force_key, force)?,
            goal_position: reader.finite("goal_position", goal)?,
            goal_velocity: reader.finite("goal_velocity", 0.0)?,
            gravity: reader.finite("gravity", 0.0025)?,
            max_position: reader.finite("max_position", 0.6)?,
            max_speed: reader.non_negative("max_speed", 0.07)?,
            min_position: reader.finite("min_position", -1.2)?,
        };
        reader.require(
            params.min_position <= params.max_position,
            "`min_position` must not exceed `max_position`",
        )?;
        Ok(params)
    }

    /// Moves `s = [position, velocity]` one step under a push of `push * force_mag` and
    /// returns whether the car is at the goal.
    fn advance(&self, s: &mut [f64], push: f64) -> bool {
        let (position, velocity) = (s[0], s[1]);
        let mut velocity = velocity + push * self.force_mag - self.gravity * (3.0 * position).cos();
        velocity = velocity.clamp(-self.max_speed, self.max_speed);
        let position = (position + velocity).clamp(self.min_position, self.max_position);
        if position == self.min_position && velocity < 0.0 {
            velocity = 0.0;
        }
        s[0] = position;
        s[1] = velocity;
        position >= self.goal_position && velocity >= self.goal_velocity
    }

    /// rl8's step: [`advance`](Self::advance) under `action` (0, 1, 2 push by -1, 0, 1), and
    /// its shaped reward.
    fn step(&self, s: &mut [f64], action: i64) -> f64 {
        if self.advance(s, (action - 1) as f64) {
            1.0
        } else {
            -(s[0] - self.goal_position).abs()
        }
    }
}

/// `[position, velocity]`.
fn observe(s: &[f64], out: &mut Vec<f32>) {
    out.extend([s[0] as f32, s[1] as f32]);
}

/// Gymnasium's bounds of the observation: `[-1.2, -0.07]..[0.6, 0.07]`.
fn gym_observation_space() -> Result<Space> {
    Space::boxed(vec![2], vec![-1.2, -0.07], vec![0.6, 0.07])
}

/// Gymnasium's reset: `position ~ U(-0.6, -0.4)`, at rest.
fn draw_initial<B: Backend>(core: &mut Core<B>, s: &mut [f64]) {
    s[0] = core.uniform(-0.6, -0.4);
    s[1] = 0.0;
}

/// rl8's mountain car (`examples/mountain_car`, after Gym's `MountainCar-v0`): drive an
/// underpowered car up the right hill by rocking it back and forth, with a shaped reward and no
/// end.
///
/// * **Observation**: an unbounded `Box` of shape `[2]`: `[position, velocity]`.
/// * **Action**: `Discrete { n: 3 }` (`[N, 1]` Int): push left (0), nothing (1), push right
///   (2), a force of `(a - 1) * force_mag`.
/// * **Dynamics**: `v += (a - 1) force_mag - gravity cos(3 p)`; `v` clipped to
///   `[-max_speed, max_speed]`; `p += v`; `p` clipped to `[min_position, max_position]`; if
///   `p == min_position` and `v < 0`, then `v = 0` (the car stops at the left wall).
/// * **Reward**, on the state **after** the step: `1.0` where `p >= goal_position` and `v >=
///   goal_velocity`, else `-|p - goal_position|`.
/// * **Termination / truncation**: none (infinite horizon, even at the goal): both flags are
///   always false and `final_obs` is `None`. rl8 caps the horizon at
///   [`MountainCar::MAX_HORIZON`] steps between resets; the environment does not enforce it.
/// * **Reset**: `position ~ N(-0.5, 0.05²)`, `velocity ~ N(0, 0.05²)`, independently per
///   environment and not clipped (rl8's "larger initial condition bounds"; Gym draws the
///   position from U(-0.6, -0.4) and starts at rest).
/// * **Config keys** (rebuilt from the defaults at every reset; unknown keys ignored; every
///   value finite): `force_mag` 0.001, `goal_position` 0.5, `goal_velocity` 0.0, `gravity`
///   0.0025, `max_position` 0.6, `max_speed` 0.07 (>= 0), `min_position` -1.2 (at most
///   `max_position`).
///
/// Differences from rl8: the state is kept in `f64` (rl8 computes in `float32`); config values
/// are checked.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::Env;
/// use rl_envs::MountainCar;
///
/// let device = Default::default();
/// let mut env = MountainCar::<NdArray>::new(2, 0, &device)?;
/// let obs = env.reset(None)?;
/// assert_eq!(obs.features.dims(), [2, 2]);
/// let action = Tensor::<NdArray, 2, Int>::from_ints([[0], [2]], &device).into();
/// let step = env.step(&action)?;
/// assert!(step.final_obs.is_none());
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct MountainCar<B: Backend> {
    core: Core<B>,
    params: Params,
}

impl<B: Backend> MountainCar<B> {
    /// rl8's `max_horizon`: the longest horizon between resets rl8 allows for this environment.
    pub const MAX_HORIZON: usize = 512;

    /// `num_envs` mountain cars (at least 1). Each reset draws the position from
    /// N(-0.5, 0.05²) and the velocity from N(0, 0.05²) with a generator seeded with `seed`;
    /// call [`rl_core::Env::reset`] before the first step. An error
    /// ([`rl_core::CoreError::Env`]) if `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let actions = Space::discrete(3)?;
        let core = Core::new("MountainCar", num_envs, seed, device, (2, 2), actions)?;
        let params = Params::from_config(&core.config(None), "force_mag", 0.001, 0.5)?;
        Ok(Self { core, params })
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        self.params = Params::from_config(&self.core.config(config), "force_mag", 0.001, 0.5)?;
        let n = self.core.info.num_envs();
        Ok(self.core.reset_with(
            |core| {
                let mut state = core.standard_normals(2 * n);
                for row in state.chunks_exact_mut(2) {
                    row[0] = -0.5 + 0.05 * row[0];
                    row[1] *= 0.05;
                }
                state
            },
            observe,
        ))
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let actions = self.core.discrete_actions(action)?;
        let params = self.params;
        self.core
            .step_infinite(|row, s| params.step(s, actions[row]), observe)
    }
}

impl_env!(MountainCar);

persist_field!(MountainCar, params: Params);

/// Gymnasium's mountain cars, `MountainCar-v0` and `MountainCarContinuous-v0`: the same car,
/// pushed by a discrete or a continuous action, ending at the goal or at the time limit.
#[derive(Debug)]
struct GymCar<B: Backend> {
    core: Core<B>,
    params: Params,
    limit: TimeLimit,
}

impl<B: Backend> GymCar<B> {
    fn new(
        name: &'static str,
        num_envs: usize,
        seed: u64,
        device: &B::Device,
        actions: Space,
        (force_key, force, goal, max_steps): (&str, f64, f64, u32),
    ) -> Result<Self> {
        let core = Core::new(name, num_envs, seed, device, (2, 2), actions)?
            .with_observation_space(gym_observation_space()?);
        let params = Params::from_config(&core.config(None), force_key, force, goal)?;
        Ok(Self {
            core,
            params,
            limit: TimeLimit::new(max_steps, num_envs),
        })
    }

    fn reset(
        &mut self,
        config: Option<&EnvConfig>,
        (force_key, force, goal, max_steps): (&str, f64, f64, u32),
    ) -> Result<Observation<B>> {
        let read = |r: &ConfigReader<'_>| Params::from_config(r, force_key, force, goal);
        let limit = (&mut self.limit, config, max_steps);
        self.core
            .reset_episodic(limit, (&mut self.params, read), draw_initial, observe)
    }

    /// One step: `reward(row, at_goal)` is the reward of row `row` pushed by `push(row)`.
    fn step(
        &mut self,
        push: impl Fn(usize) -> f64,
        reward: impl Fn(usize, bool) -> f64,
    ) -> Result<Transition<B>> {
        let params = self.params;
        self.core.step_episodic(
            &mut self.limit,
            |row, s| {
                let at_goal = params.advance(s, push(row));
                (reward(row, at_goal), at_goal)
            },
            draw_initial,
            observe,
        )
    }
}

/// Gymnasium's `MountainCar-v0` (with its `TimeLimit` of 200 steps): drive an underpowered
/// car up the right hill, -1 per step until it gets there.
///
/// * **Observation**: a `Box` of shape `[2]`, `[position, velocity]` within `[-1.2,
///   -0.07]..[0.6, 0.07]`.
/// * **Action**: `Discrete { n: 3 }`: push left (0), nothing (1), push right (2).
/// * **Dynamics**: [`MountainCar`]'s (Gymnasium's).
/// * **Reward**: -1 every step.
/// * **Termination**: `position >= goal_position` (0.5) and `velocity >= goal_velocity` (0).
///   **Truncation**: on the step that brings the episode to `max_episode_steps` (200). An ended
///   row is redrawn in the same step, its last observation in `final_obs`.
/// * **Reset**: `position ~ U(-0.6, -0.4)`, `velocity = 0`.
/// * **Config keys**: [`MountainCar`]'s, and `max_episode_steps` 200.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::Env;
/// use rl_envs::MountainCarV0;
///
/// let device = Default::default();
/// let mut env = MountainCarV0::<NdArray>::new(2, 0, &device)?;
/// env.reset(None)?;
/// let action = Tensor::<NdArray, 2, Int>::from_ints([[0], [2]], &device).into();
/// let step = env.step(&action)?;
/// assert_eq!(step.reward.into_data().to_vec::<f32>().unwrap(), vec![-1.0, -1.0]);
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct MountainCarV0<B: Backend> {
    car: GymCar<B>,
}

/// `MountainCar-v0`'s force key and default, goal and time limit.
const V0: (&str, f64, f64, u32) = ("force_mag", 0.001, 0.5, 200);

impl<B: Backend> MountainCarV0<B> {
    /// `num_envs` cars (at least 1), each reset to `position ~ U(-0.6, -0.4)` at rest with a
    /// generator seeded with `seed`; call [`rl_core::Env::reset`] before the first step. An
    /// error ([`rl_core::CoreError::Env`]) if `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let actions = Space::discrete(3)?;
        let car = GymCar::new("MountainCar-v0", num_envs, seed, device, actions, V0)?;
        Ok(Self { car })
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        self.car.reset(config, V0)
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let actions = self.car.core.discrete_actions(action)?;
        self.car.step(|row| (actions[row] - 1) as f64, |_, _| -1.0)
    }
}

impl_env!(MountainCarV0, car.core);
persist_episodic!(MountainCarV0, Params, [car.params], [car.limit], [car.core]);

/// Gymnasium's `MountainCarContinuous-v0` (with its `TimeLimit` of 999 steps): the mountain
/// car pushed by a continuous force, rewarded 100 at the goal and charged for its effort.
///
/// * **Observation**: as [`MountainCarV0`].
/// * **Action**: a `Box` of shape `[1]` within `[-1, 1]`, the force `a`; the push is `a *
///   power` (0.0015). An action outside the box is refused ([`rl_core::CoreError::Space`]).
/// * **Dynamics**: [`MountainCar`]'s with that push.
/// * **Reward**: `-0.1 a²`, plus 100 on the step that reaches the goal.
/// * **Termination**: `position >= goal_position` (0.45) and `velocity >= goal_velocity` (0).
///   **Truncation**: on the step that brings the episode to `max_episode_steps` (999).
/// * **Reset**: as [`MountainCarV0`].
/// * **Config keys**: `power` 0.0015, `goal_position` 0.45, and [`MountainCar`]'s others,
///   and `max_episode_steps` 999.
///
/// Gymnasium stores the state in `float32` after every step; ours stays in `f64` (the
/// difference is below `1e-6` over an episode, see the tests).
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rl_core::Env;
/// use rl_envs::MountainCarContinuousV0;
///
/// let device = Default::default();
/// let mut env = MountainCarContinuousV0::<NdArray>::new(1, 0, &device)?;
/// env.reset(None)?;
/// let push = Tensor::<NdArray, 2>::from_floats([[0.5]], &device).into();
/// let step = env.step(&push)?;
/// assert_eq!(step.reward.into_data().to_vec::<f32>().unwrap(), vec![-0.025]);
/// let outside = Tensor::<NdArray, 2>::from_floats([[1.5]], &device).into();
/// assert!(env.step(&outside).is_err());
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct MountainCarContinuousV0<B: Backend> {
    car: GymCar<B>,
}

/// `MountainCarContinuous-v0`'s force key and default, goal and time limit.
const CONTINUOUS_V0: (&str, f64, f64, u32) = ("power", 0.0015, 0.45, 999);

impl<B: Backend> MountainCarContinuousV0<B> {
    /// `num_envs` cars (at least 1), drawn as [`MountainCarV0::new`] says. An error
    /// ([`rl_core::CoreError::Env`]) if `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let actions = Space::boxed(vec![1], vec![-1.0], vec![1.0])?;
        let name = "MountainCarContinuous-v0";
        let car = GymCar::new(name, num_envs, seed, device, actions, CONTINUOUS_V0)?;
        Ok(Self { car })
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        self.car.reset(config, CONTINUOUS_V0)
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let forces = self.car.core.continuous_actions(action)?;
        let force = |row: usize| f64::from(forces[row]);
        self.car.step(
            |row| force(row).clamp(-1.0, 1.0),
            |row, at_goal| {
                let bonus = if at_goal { 100.0 } else { 0.0 };
                bonus - 0.1 * force(row).powi(2)
            },
        )
    }
}

impl_env!(MountainCarContinuousV0, car.core);
persist_episodic!(
    MountainCarContinuousV0,
    Params,
    [car.params],
    [car.limit],
    [car.core]
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::*;
    use rl_core::{CoreError, Env};

    fn env_at(state: &[f64]) -> MountainCar<B> {
        with_state(MountainCar::new(state.len() / 2, 0, &dev()).unwrap(), state)
    }

    /// rl8's reference step (rl8.md §4.2): p = -0.5, v = 0, action 2.
    #[test]
    fn reference_step() {
        let mut env = env_at(&[-0.5, 0.0]);
        let t = env.step(&discrete(&[2])).unwrap();
        assert_close(&features(&t.obs), &[-0.4991768430, 0.0008231570], 1e-7);
        assert_close(&floats(t.reward), &[-0.9991768430], 1e-6);
        assert!(t.final_obs.is_none());
    }

    #[test]
    fn left_wall_stops_the_car() {
        // Row 0 hits the wall moving left; row 1 stays clear of it.
        let mut env = env_at(&[-1.19, -0.05, -1.0, -0.01]);
        let t = env.step(&discrete(&[0, 1])).unwrap();
        let obs = features(&t.obs);
        assert_eq!(obs[..2], [-1.2, 0.0]);
        assert!(obs[2] > -1.2 && obs[3] < 0.0);
        assert_close(&floats(t.reward)[..1], &[-1.7], 1e-6);
    }

    #[test]
    fn goal_reward_and_clipping() {
        // Row 0: reaches the goal moving right, speed clipped to 0.07 -> reward 1.
        // Row 1: clipped at max_position 0.6, still counts as the goal.
        // Row 2: past the goal but moving left (v < goal_velocity) -> shaped reward.
        let mut env = env_at(&[0.45, 0.07, 0.58, 0.07, 0.55, -0.05]);
        let t = env.step(&discrete(&[2, 2, 0])).unwrap();
        let obs = features(&t.obs);
        assert_eq!(obs[1], 0.07);
        assert_close(&obs[..1], &[0.52], 1e-6);
        assert_eq!(obs[2], 0.6);
        let rewards = floats(t.reward);
        assert_eq!(rewards[..2], [1.0, 1.0]);
        let p = f64::from(obs[4]);
        assert!(p < 0.5);
        assert_close(&rewards[2..], &[-(0.5 - p)], 1e-6);
        // The goal is configurable and the episode goes on at the goal.
        let goal = config(&[("goal_position", -2.0), ("goal_velocity", -1.0)]);
        env.reset(Some(&goal)).unwrap();
        let t = env.step(&discrete(&[1, 1, 1])).unwrap();
        assert_eq!(floats(t.reward.clone()), vec![1.0; 3]);
        assert!(bools(t.done()).iter().all(|d| !d));
    }

    #[test]
    fn reset_distribution_and_config() {
        let mut env = MountainCar::<B>::new(4000, 3, &dev()).unwrap();
        env.reset(None).unwrap();
        let s = env.core.state.clone().unwrap();
        let n = s.len() as f64 / 2.0;
        let mean_p = s.iter().step_by(2).sum::<f64>() / n;
        let mean_v = s.iter().skip(1).step_by(2).sum::<f64>() / n;
        let std_v = (s.iter().skip(1).step_by(2).map(|v| v * v).sum::<f64>() / n).sqrt();
        assert!((mean_p + 0.5).abs() < 0.005, "{mean_p}");
        assert!(
            mean_v.abs() < 0.005 && (std_v - 0.05).abs() < 0.003,
            "{mean_v} {std_v}"
        );
        assert!(matches!(
            env.reset(Some(&config(&[("min_position", 1.0)]))),
            Err(CoreError::Env { message, .. }) if message.contains("min_position")
        ));
        assert!(env.reset(Some(&config(&[("max_speed", -0.1)]))).is_err());
    }
}
