//! The inverted pendulum swing-up: rl8's infinite-horizon [`Pendulum`] and Gymnasium's
//! [`PendulumV1`].

use core::f64::consts::{PI, TAU};

use burn::tensor::backend::Backend;
use rl_core::{Action, EnvConfig, Observation, Result, Space, Transition};

use crate::common::{ConfigReader, Core, TimeLimit, impl_env, persist_episodic, persist_field};

/// The pendulum's parameters, read from the config at every reset.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Params {
    dt: f64,
    g: f64,
    l: f64,
    m: f64,
    max_speed: f64,
    max_torque: f64,
}

impl Params {
    fn from_config(reader: &ConfigReader<'_>) -> Result<Self> {
        Ok(Self {
            dt: reader.positive("dt", 0.05)?,
            g: reader.finite("g", 10.0)?,
            l: reader.positive("l", 1.0)?,
            m: reader.positive("m", 1.0)?,
            max_speed: reader.non_negative("max_speed", 8.0)?,
            max_torque: reader.non_negative("max_torque", 2.0)?,
        })
    }

    /// Moves `s = [theta, theta_dot]` one step under the torque `u` (clipped to
    /// `±max_torque`) and returns the cost of the state **before** the step.
    fn step(&self, s: &mut [f64], u: f32) -> f64 {
        let (theta, theta_dot) = (s[0], s[1]);
        let u = f64::from(u).clamp(-self.max_torque, self.max_torque);
        let cost = angle_normalize(theta).powi(2) + 0.1 * theta_dot.powi(2) + 0.001 * u * u;
        let accel =
            3.0 * self.g / (2.0 * self.l) * theta.sin() + 3.0 / (self.m * self.l * self.l) * u;
        let new_theta_dot = (theta_dot + accel * self.dt).clamp(-self.max_speed, self.max_speed);
        s[1] = new_theta_dot;
        s[0] = theta + new_theta_dot * self.dt;
        cost
    }
}

/// `[cos(theta), sin(theta), theta_dot]`.
fn observe(s: &[f64], out: &mut Vec<f32>) {
    let (sin, cos) = s[0].sin_cos();
    out.extend([cos, sin, s[1]].map(|v| v as f32));
}

/// `theta ~ U(-pi, pi)`, `theta_dot ~ U(-1, 1)`.
fn draw_initial<B: Backend>(core: &mut Core<B>, s: &mut [f64]) {
    s[0] = core.uniform(-PI, PI);
    s[1] = core.uniform(-1.0, 1.0);
}

/// `theta` wrapped to `[-pi, pi)`: `((theta + pi) mod 2 pi) - pi` with a floored modulo, as
/// Python's `%` computes it.
fn angle_normalize(theta: f64) -> f64 {
    (theta + PI).rem_euclid(TAU) - PI
}

/// rl8's pendulum (`examples/pendulum`, the dynamics of Gym's `Pendulum-v1`): swing a pendulum
/// up and hold it upright with a limited torque.
///
/// * **Observation**: an unbounded `Box` of shape `[3]`: `[cos(theta), sin(theta), theta_dot]`
///   (`theta = 0` is upright).
/// * **Action**: an unbounded `Box` of shape `[1]` (`[N, 1]` float): the torque `u`, clipped to
///   `[-max_torque, max_torque]` inside the environment, so an unbounded (normal) policy fits.
///   A NaN or infinite action is refused with [`rl_core::CoreError::NonFinite`].
/// * **Dynamics**, with `u` clipped: `theta_dot' = clip(theta_dot + (3 g / (2 l) sin(theta) +
///   3 / (m l²) u) dt, ±max_speed)`, then `theta' = theta + theta_dot' dt` (`theta` itself is
///   not wrapped).
/// * **Reward**: `-(angle_normalize(theta)² + 0.1 theta_dot² + 0.001 u²)` on the state
///   **before** the step, where `angle_normalize(theta) = ((theta + pi) mod 2 pi) - pi`.
/// * **Termination / truncation**: none (infinite horizon): both flags are always false and
///   `final_obs` is `None`. rl8 caps the horizon at [`Pendulum::MAX_HORIZON`] steps between
///   resets; the environment does not enforce it.
/// * **Reset**: `theta ~ U(-pi, pi)`, `theta_dot ~ U(-1, 1)`, independently per environment.
/// * **Config keys** (rebuilt from the defaults at every reset; unknown keys ignored; every
///   value finite): `dt` 0.05 (> 0), `g` 10.0, `l` 1.0 (> 0), `m` 1.0 (> 0), `max_speed` 8.0
///   (>= 0), `max_torque` 2.0 (>= 0).
///
/// Differences from rl8: the state is kept in `f64` (rl8 computes in `float32`); config values
/// are checked. From Gym's `Pendulum-v1`: rl8's spaces (unbounded, where Gym declares `[1, 1,
/// 8]` and a `[-2, 2]` action box), no 200-step time limit, and configurable constants.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rl_core::Env;
/// use rl_envs::Pendulum;
///
/// let device = Default::default();
/// let mut env = Pendulum::<NdArray>::new(3, 0, &device)?;
/// let obs = env.reset(None)?;
/// assert_eq!(obs.features.dims(), [3, 3]);
/// let torque = Tensor::<NdArray, 2>::from_floats([[0.5], [-2.0], [10.0]], &device).into();
/// let step = env.step(&torque)?;
/// // Rewards are minus a cost: never positive.
/// assert!(step.reward.into_data().to_vec::<f32>().unwrap().iter().all(|&r| r <= 0.0));
/// let nan = Tensor::<NdArray, 2>::from_floats([[0.0], [f32::NAN], [0.0]], &device).into();
/// assert!(env.step(&nan).is_err());
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct Pendulum<B: Backend> {
    core: Core<B>,
    params: Params,
}

impl<B: Backend> Pendulum<B> {
    /// rl8's `max_horizon`: the longest horizon between resets rl8 allows for this environment.
    pub const MAX_HORIZON: usize = 512;

    /// `num_envs` pendulums (at least 1). Each reset draws the angle from U(-π, π) and the
    /// angular velocity from U(-1, 1) with a generator seeded with `seed`; call
    /// [`rl_core::Env::reset`] before the first step. An error ([`rl_core::CoreError::Env`]) if
    /// `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let actions = Space::unbounded(vec![1])?;
        let core = Core::new("Pendulum", num_envs, seed, device, (2, 3), actions)?;
        let params = Params::from_config(&core.config(None))?;
        Ok(Self { core, params })
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        self.params = Params::from_config(&self.core.config(config))?;
        Ok(self.core.reset_rows(draw_initial, observe))
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let torques = self.core.continuous_actions(action)?;
        let p = self.params;
        self.core
            .step_infinite(|row, s| -p.step(s, torques[row]), observe)
    }
}

impl_env!(Pendulum);

persist_field!(Pendulum, params: Params);

/// Gymnasium's `Pendulum-v1` (with its `TimeLimit` of 200 steps): rl8's [`Pendulum`]
/// dynamics and reward in Gymnasium's spaces, cut into episodes.
///
/// * **Observation**: a `Box` of shape `[3]`, `[cos(theta), sin(theta), theta_dot]` within
///   `[-1, -1, -8]..[1, 1, 8]` (Gymnasium's declared bounds).
/// * **Action**: a `Box` of shape `[1]` within `[-2, 2]`, the torque. An action outside the
///   box is refused ([`rl_core::CoreError::Space`]); Gymnasium's environment clips it instead,
///   and our clip to `max_torque` stays for a `max_torque` below 2.
/// * **Dynamics and reward**: [`Pendulum`]'s, which are Gymnasium's: the reward is minus the
///   cost of the state before the step.
/// * **Termination**: never. **Truncation**: on the step that brings the episode's length to
///   `max_episode_steps` (200 by default); the ended row is redrawn in the same step and its
///   last observation is in `final_obs`.
/// * **Reset**: `theta ~ U(-pi, pi)`, `theta_dot ~ U(-1, 1)`, at [`rl_core::Env::reset`] and
///   at auto-reset.
/// * **Config keys**: [`Pendulum`]'s, and `max_episode_steps` 200 (a whole number >= 1).
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rl_core::{Env, EnvConfig};
/// use rl_envs::PendulumV1;
///
/// let device = Default::default();
/// let mut env = PendulumV1::<NdArray>::new(2, 0, &device)?;
/// env.reset(Some(&EnvConfig::from([("max_episode_steps".to_string(), 2.0)])))?;
/// let torque = Tensor::<NdArray, 2>::from_floats([[0.5], [-2.0]], &device).into();
/// assert!(env.step(&torque)?.final_obs.is_none());
/// let step = env.step(&torque)?;
/// assert_eq!(step.truncated.into_data().to_vec::<bool>().unwrap(), vec![true, true]);
/// assert!(step.final_obs.is_some());
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct PendulumV1<B: Backend> {
    core: Core<B>,
    params: Params,
    limit: TimeLimit,
}

impl<B: Backend> PendulumV1<B> {
    /// The default time limit (`max_episode_steps`).
    pub const MAX_EPISODE_STEPS: u32 = 200;

    /// `num_envs` pendulums (at least 1), drawn as [`Pendulum::new`] says; call
    /// [`rl_core::Env::reset`] before the first step. An error ([`rl_core::CoreError::Env`]) if
    /// `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let actions = Space::boxed(vec![1], vec![-2.0], vec![2.0])?;
        let observations = Space::boxed(vec![3], vec![-1.0, -1.0, -8.0], vec![1.0, 1.0, 8.0])?;
        let core = Core::new("Pendulum-v1", num_envs, seed, device, (2, 3), actions)?
            .with_observation_space(observations);
        let params = Params::from_config(&core.config(None))?;
        Ok(Self {
            core,
            params,
            limit: TimeLimit::new(Self::MAX_EPISODE_STEPS, num_envs),
        })
    }

    /// The time limit in force (`max_episode_steps` of the last reset).
    pub fn max_episode_steps(&self) -> u32 {
        self.limit.max_episode_steps
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        let limit = (&mut self.limit, config, Self::MAX_EPISODE_STEPS);
        let params = (&mut self.params, Params::from_config);
        self.core
            .reset_episodic(limit, params, draw_initial, observe)
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let torques = self.core.continuous_actions(action)?;
        let p = self.params;
        self.core.step_episodic(
            &mut self.limit,
            |row, s| (-p.step(s, torques[row]), false),
            draw_initial,
            observe,
        )
    }
}

impl_env!(PendulumV1);

persist_episodic!(PendulumV1, Params, [params], [limit], [core]);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::*;
    use rl_core::{CoreError, Env};

    fn env_at(state: &[f64]) -> Pendulum<B> {
        with_state(Pendulum::new(state.len() / 2, 0, &dev()).unwrap(), state)
    }

    /// rl8's reference step (rl8.md §4.2): theta = 1, theta_dot = 0, u = 1.
    #[test]
    fn reference_step() {
        let mut env = env_at(&[1.0, 0.0]);
        let t = env.step(&continuous(&[1.0])).unwrap();
        assert_close(&floats(t.reward), &[-1.001], 1e-6);
        let obs = [0.5070348635, 0.8619255462, 0.7811032386];
        assert_close(&features(&t.obs), &obs, 1e-6);
    }

    #[test]
    fn cost_on_the_old_state_with_clipped_torque() {
        // Row 0: torque 5 is clipped to 2; row 1: -7 to -2; both costs use the old state.
        let (theta, theta_dot) = (0.4, -1.5);
        let mut env = env_at(&[theta, theta_dot, theta, theta_dot]);
        let t = env.step(&continuous(&[5.0, -7.0])).unwrap();
        let cost = theta * theta + 0.1 * theta_dot * theta_dot + 0.001 * 4.0;
        assert_close(&floats(t.reward), &[-cost, -cost], 1e-6);
        // The dynamics used the clipped torque as well.
        let next = env.core.state.clone().unwrap();
        for (row, u) in [(0, 2.0), (1, -2.0)] {
            let w = theta_dot + (15.0 * f64::sin(theta) + 3.0 * u) * 0.05;
            assert!((next[2 * row + 1] - w).abs() < 1e-12);
            assert!((next[2 * row] - (theta + 0.05 * w)).abs() < 1e-12);
        }
    }

    #[test]
    fn speed_is_clipped() {
        let mut env = env_at(&[PI / 2.0, 7.9, -PI / 2.0, -7.9]);
        let t = env.step(&continuous(&[2.0, -2.0])).unwrap();
        let obs = features(&t.obs);
        assert_eq!((obs[2], obs[5]), (8.0, -8.0));
        let next = env.core.state.clone().unwrap();
        assert!((next[0] - (PI / 2.0 + 8.0 * 0.05)).abs() < 1e-12);
        // max_speed from the config.
        env.reset(Some(&config(&[("max_speed", 1.0)]))).unwrap();
        env.core.state = Some(vec![PI / 2.0, 0.9, 0.0, 0.0]);
        let obs = features(&env.step(&continuous(&[2.0, 0.0])).unwrap().obs);
        assert_eq!(obs[2], 1.0);
    }

    #[test]
    fn angle_is_normalized_in_the_cost() {
        assert!((angle_normalize(3.0 * PI / 2.0) + PI / 2.0).abs() < 1e-12);
        assert!((angle_normalize(-3.0 * PI / 2.0) - PI / 2.0).abs() < 1e-12);
        assert!((angle_normalize(0.3 + 4.0 * TAU) - 0.3).abs() < 1e-9);
        // Upright after ten turns costs nothing.
        let mut env = env_at(&[10.0 * TAU, 0.0, 10.0 * TAU + 1.0, 0.0]);
        let r = floats(env.step(&continuous(&[0.0, 0.0])).unwrap().reward);
        assert_close(&r, &[0.0, -1.0], 1e-5);
    }

    #[test]
    fn non_finite_actions_are_refused() {
        let mut env = env_at(&[0.0, 0.0, 0.0, 0.0]);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert!(matches!(
                env.step(&continuous(&[0.0, bad])),
                Err(CoreError::NonFinite { index: 1, .. })
            ));
        }
        assert_eq!(env.core.state, Some(vec![0.0; 4]));
        // Huge finite torques are fine: they are clipped.
        assert!(env.step(&continuous(&[f32::MAX, -f32::MAX])).is_ok());
    }

    #[test]
    fn reset_ranges_and_config() {
        let mut env = Pendulum::<B>::new(500, 9, &dev()).unwrap();
        env.reset(None).unwrap();
        let s = env.core.state.clone().unwrap();
        assert!(
            s.chunks(2)
                .all(|r| (-PI..PI).contains(&r[0]) && (-1.0..1.0).contains(&r[1]))
        );
        assert!(s.chunks(2).any(|r| r[0] > 2.5) && s.chunks(2).any(|r| r[0] < -2.5));
        assert!(matches!(
            env.reset(Some(&config(&[("l", 0.0)]))),
            Err(CoreError::Env { message, .. }) if message.contains("`l`")
        ));
        assert!(env.reset(Some(&config(&[("max_torque", -1.0)]))).is_err());
        assert!(env.reset(Some(&config(&[("g", f64::NAN)]))).is_err());
    }
}
