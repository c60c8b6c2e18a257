//! Cart-pole balancing: rl8's continuous-reward [`CartPole`], Gymnasium's episodic
//! [`CartPoleV1`] and its partially observed variant [`CartPoleNoVelocity`], which share the
//! physics (the Gym / Florian equations).

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use rl_core::{Action, EnvConfig, Observation, Result, Space, Transition};

use crate::common::{
    ConfigReader, Core, Persist, TimeLimit, impl_env, persist_episodic, persist_field,
};

/// The cart-pole physics: the Gym equations (after Florian, "Correct equations for the dynamics
/// of the cart-pole system", 2007) with one explicit (Euler) or semi-implicit Euler step.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Physics {
    gravity: f64,
    cart_mass: f64,
    pole_mass: f64,
    /// Half the pole's length.
    length: f64,
    force_mag: f64,
    tau: f64,
    semi_implicit: bool,
}

/// The config key names of the masses: rl8 and Gymnasium spell them differently.
struct MassKeys {
    cart: &'static str,
    pole: &'static str,
}

impl Physics {
    /// The physics from `config` over the defaults (`force_mag` defaults to `force_mag`).
    fn from_config(reader: &ConfigReader<'_>, masses: &MassKeys, force_mag: f64) -> Result<Self> {
        Ok(Self {
            gravity: reader.finite("gravity", 9.8)?,
            cart_mass: reader.positive(masses.cart, 1.0)?,
            pole_mass: reader.non_negative(masses.pole, 0.1)?,
            length: reader.positive("length", 0.5)?,
            force_mag: reader.finite("force_mag", force_mag)?,
            tau: reader.positive("tau", 0.02)?,
            semi_implicit: reader.flag("semi_implicit", false)?,
        })
    }

    /// rl8's cart-pole physics from `reader` (its key names, 5 N pushes by default).
    pub(crate) fn rl8(reader: &ConfigReader<'_>) -> Result<Self> {
        Self::from_config(reader, &RL8_MASSES, 5.0)
    }

    /// Gymnasium's cart-pole physics from `reader` (its key names, 10 N pushes by default).
    pub(crate) fn gym(reader: &ConfigReader<'_>) -> Result<Self> {
        Self::from_config(reader, &GYM_MASSES, 10.0)
    }

    /// Moves `s = [x, x_dot, theta, theta_dot]` one step under the horizontal `force`.
    fn step(&self, s: &mut [f64], force: f64) {
        let [x, x_dot, theta, theta_dot] = [s[0], s[1], s[2], s[3]];
        let (sin, cos) = theta.sin_cos();
        let total_mass = self.cart_mass + self.pole_mass;
        let pole_mass_length = self.pole_mass * self.length;
        let temp = (force + pole_mass_length * theta_dot * theta_dot * sin) / total_mass;
        let theta_acc = (self.gravity * sin - cos * temp)
            / (self.length * (4.0 / 3.0 - self.pole_mass * cos * cos / total_mass));
        let x_acc = temp - pole_mass_length * theta_acc * cos / total_mass;
        let tau = self.tau;
        if self.semi_implicit {
            s[1] = x_dot + tau * x_acc;
            s[0] = x + tau * s[1];
            s[3] = theta_dot + tau * theta_acc;
            s[2] = theta + tau * s[3];
        } else {
            s[0] = x + tau * x_dot;
            s[1] = x_dot + tau * x_acc;
            s[2] = theta + tau * theta_dot;
            s[3] = theta_dot + tau * theta_acc;
        }
    }
}

impl Physics {
    /// [`Physics::step`] over a batch on the device: the same equations on `f32` tensors, the
    /// state as its four columns `[x, x_dot, theta, theta_dot]` (`[N]` each).
    pub(crate) fn step_tensors<B: Backend>(
        &self,
        s: [Tensor<B, 1>; 4],
        force: Tensor<B, 1>,
    ) -> [Tensor<B, 1>; 4] {
        let [x, x_dot, theta, theta_dot] = s;
        let (sin, cos) = (theta.clone().sin(), theta.clone().cos());
        let total_mass = self.cart_mass + self.pole_mass;
        let pole_mass_length = self.pole_mass * self.length;
        let temp = (force
            + theta_dot
                .clone()
                .powi_scalar(2)
                .mul_scalar(pole_mass_length)
                * sin.clone())
        .div_scalar(total_mass);
        let theta_acc = (sin.mul_scalar(self.gravity) - cos.clone() * temp.clone()).div(
            cos.clone()
                .powi_scalar(2)
                .mul_scalar(-self.pole_mass / total_mass)
                .add_scalar(4.0 / 3.0)
                .mul_scalar(self.length),
        );
        let x_acc = temp - (theta_acc.clone() * cos).mul_scalar(pole_mass_length / total_mass);
        let tau = self.tau;
        if self.semi_implicit {
            let x_dot = x_dot + x_acc.mul_scalar(tau);
            let theta_dot = theta_dot + theta_acc.mul_scalar(tau);
            [
                x + x_dot.clone().mul_scalar(tau),
                x_dot,
                theta + theta_dot.clone().mul_scalar(tau),
                theta_dot,
            ]
        } else {
            [
                x + x_dot.clone().mul_scalar(tau),
                x_dot + x_acc.mul_scalar(tau),
                theta + theta_dot.clone().mul_scalar(tau),
                theta_dot + theta_acc.mul_scalar(tau),
            ]
        }
    }

    /// `force_mag`, the force of a full push.
    pub(crate) fn force_mag(&self) -> f64 {
        self.force_mag
    }
}

/// rl8's cart-pole (`examples/cartpole`): keep a pole upright on a cart and the cart at the
/// origin, with a dense reward and no end.
///
/// * **Observation**: an unbounded `Box` of shape `[5]`: `[x, x_dot, cos(theta), sin(theta),
///   theta_dot]` (`theta = 0` is upright).
/// * **Action**: `Discrete { n: 3 }` (`[N, 1]` Int); action `a` pushes the cart with the force
///   `(a - 1) * force_mag`, i.e. -5, 0 or +5 N by default.
/// * **Dynamics**: the Gym / Florian cart-pole equations, with `M = cart_mass + pole_mass`:
///   `temp = (F + pole_mass * length * theta_dot^2 * sin(theta)) / M`,
///   `theta_acc = (gravity * sin(theta) - cos(theta) * temp) / (length * (4/3 - pole_mass *
///   cos(theta)^2 / M))`, `x_acc = temp - pole_mass * length * theta_acc * cos(theta) / M`,
///   then one Euler step of length `tau` (`x += tau * x_dot; x_dot += tau * x_acc; theta += tau
///   * theta_dot; theta_dot += tau * theta_acc`), or semi-implicit Euler (velocities first) when
///   `semi_implicit` is 1.
/// * **Reward**, on the state **after** the step: `-(|cos(theta) - 1| + |sin(theta)| + |x| +
///   |x_dot| + |theta_dot|)`; the best is 0.
/// * **Termination / truncation**: none (infinite horizon): both flags are always false and
///   `final_obs` is `None`. rl8 caps the horizon at [`CartPole::MAX_HORIZON`] steps between
///   resets; the environment does not enforce it.
/// * **Reset**: every environment's `x`, `x_dot`, `theta` and `theta_dot` are drawn
///   independently from N(0, 0.01²).
/// * **Config keys** (rebuilt from the defaults at **every** reset, as rl8 does, so a reset
///   without a config restores the defaults; unknown keys are ignored): `cart_mass` 1.0 (> 0),
///   `pole_mass` 0.1 (>= 0), `length` 0.5 (half the pole, > 0), `gravity` 9.8, `force_mag` 5.0,
///   `tau` 0.02 (> 0), `semi_implicit` 0 (0 or 1). Every value must be finite.
///
/// Differences from rl8: the state is kept in `f64` (rl8 computes in `float32`; observations
/// and rewards are `f32` here too); rl8's string key `kinematics_integrator` (`"euler"` or
/// anything else for semi-implicit) is the number `semi_implicit`; config values are checked
/// (rl8 takes any value).
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::{Env, EnvConfig};
/// use rl_envs::CartPole;
///
/// let device = Default::default();
/// let mut env = CartPole::<NdArray>::new(4, 0, &device)?;
/// let config = EnvConfig::from([("force_mag".to_string(), 10.0)]);
/// let obs = env.reset(Some(&config))?;
/// assert_eq!(obs.features.dims(), [4, 5]);
/// let push_right = Tensor::<NdArray, 2, Int>::full([4, 1], 2, &device).into();
/// let step = env.step(&push_right)?;
/// assert_eq!(step.reward.dims(), [4]);
/// assert!(step.final_obs.is_none());
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct CartPole<B: Backend> {
    core: Core<B>,
    physics: Physics,
}

/// rl8's config key names of the masses.
const RL8_MASSES: MassKeys = MassKeys {
    cart: "cart_mass",
    pole: "pole_mass",
};

impl<B: Backend> CartPole<B> {
    /// rl8's `max_horizon`: the longest horizon between resets rl8 allows for this environment.
    pub const MAX_HORIZON: usize = 128;

    /// `num_envs` cart-poles (at least 1). Each reset draws the four state variables from
    /// N(0, 0.01²) with a generator seeded with `seed`; call [`rl_core::Env::reset`] before the
    /// first step. An error ([`rl_core::CoreError::Env`]) if `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let actions = Space::discrete(3)?;
        let core = Core::new("CartPole", num_envs, seed, device, (4, 5), actions)?;
        let physics = Physics::rl8(&core.config(None))?;
        Ok(Self { core, physics })
    }

    fn observe(s: &[f64], out: &mut Vec<f32>) {
        let (sin, cos) = s[2].sin_cos();
        out.extend([s[0], s[1], cos, sin, s[3]].map(|v| v as f32));
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        self.physics = Physics::rl8(&self.core.config(config))?;
        let n = 4 * self.core.info.num_envs();
        Ok(self.core.reset_with(
            |core| core.standard_normals(n).iter().map(|z| 0.01 * z).collect(),
            Self::observe,
        ))
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let actions = self.core.discrete_actions(action)?;
        let physics = self.physics;
        self.core.step_infinite(
            |row, s| {
                physics.step(s, (actions[row] - 1) as f64 * physics.force_mag);
                let (sin, cos) = s[2].sin_cos();
                -((cos - 1.0).abs() + sin.abs() + s[0].abs() + s[1].abs() + s[3].abs())
            },
            Self::observe,
        )
    }
}

impl_env!(CartPole);

persist_field!(CartPole, physics: Physics);

/// Gymnasium's `CartPole-v1` (with its `TimeLimit` of 500 steps): keep a pole upright for as
/// long as possible, auto-reset when an episode ends.
///
/// * **Observation**: an unbounded `Box` of shape `[4]`: `[x, x_dot, theta, theta_dot]`.
/// * **Action**: `Discrete { n: 2 }` (`[N, 1]` Int): 0 pushes the cart left with `-force_mag`,
///   1 right with `+force_mag` (10 N by default).
/// * **Dynamics**: the same equations as [`CartPole`] (explicit Euler by default).
/// * **Reward**: 1.0 for every step, the terminating one included.
/// * **Termination**: when the state reached has `|x| > 2.4` ([`CartPoleV1::X_THRESHOLD`]) or
///   `|theta| > 12°` ([`CartPoleV1::THETA_THRESHOLD_RADIANS`]).
/// * **Truncation**: on the step that brings the episode's length to `max_episode_steps` (500
///   by default); if that step also terminates, both flags are set (Gymnasium's `TimeLimit`).
/// * **Auto-reset**: environments whose episode finished start a new one within the same step:
///   their row of `obs` is the new episode's first observation, and `final_obs` (`Some`
///   whenever any row finished) holds for every row the observation the step reached before
///   the reset (equal to `obs` for rows that did not finish).
/// * **Reset**: every state variable is drawn independently from U(-0.05, 0.05) (the upper end
///   excluded), both at [`rl_core::Env::reset`] and at auto-reset; episode lengths restart at 0.
/// * **Config keys** (rebuilt from the defaults at every [`rl_core::Env::reset`]; unknown keys
///   ignored; every value finite): `gravity` 9.8, `masscart` 1.0 (> 0), `masspole` 0.1 (>= 0),
///   `length` 0.5 (half the pole, > 0), `force_mag` 10.0, `tau` 0.02 (> 0), `semi_implicit` 0 (0
///   or 1, Gymnasium's `kinematics_integrator`), `max_episode_steps` 500 (a whole number
///   >= 1).
///
/// Differences from Gymnasium: the state is `f64` as in Gymnasium, but observations are cast to
/// `f32` (as Gymnasium's are); the random draws come from this environment's own generator, so
/// the same seed does not give Gymnasium's initial states; the observation space is unbounded
/// (Gymnasium declares `[±4.8, ±f32::MAX, ±24°, ±f32::MAX]`); auto-reset happens in the step that
/// finished (Gymnasium's vector environments' "same-step" mode, as in torchrl and IsaacGym),
/// not on the following call.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::{Env, EnvConfig};
/// use rl_envs::CartPoleV1;
///
/// let device = Default::default();
/// let mut env = CartPoleV1::<NdArray>::new(2, 0, &device)?;
/// let config = EnvConfig::from([("max_episode_steps".to_string(), 3.0)]);
/// env.reset(Some(&config))?;
/// let right = Tensor::<NdArray, 2, Int>::ones([2, 1], &device).into();
/// let mut finished = 0;
/// for _ in 0..3 {
///     let step = env.step(&right)?;
///     assert_eq!(step.reward.into_data().to_vec::<f32>().unwrap(), vec![1.0, 1.0]);
///     if let Some(before_reset) = step.final_obs {
///         // The third step hits the time limit: `obs` is a fresh episode.
///         assert_eq!(before_reset.features.dims(), [2, 4]);
///         finished += 1;
///     }
/// }
/// assert_eq!(finished, 1);
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct CartPoleV1<B: Backend> {
    core: Core<B>,
    physics: Physics,
    pub(crate) limit: TimeLimit,
    /// Writes one state row's observation: all four variables, or only `x` and `theta`.
    observe: Observe,
}

/// Writes the observation of one state row.
type Observe = fn(&[f64], &mut Vec<f32>);

/// Gymnasium's config key names of the masses.
const GYM_MASSES: MassKeys = MassKeys {
    cart: "masscart",
    pole: "masspole",
};

impl<B: Backend> CartPoleV1<B> {
    /// Episodes terminate when `|x|` exceeds this (m).
    pub const X_THRESHOLD: f64 = 2.4;
    /// Episodes terminate when `|theta|` exceeds this: 12 degrees, in radians.
    pub const THETA_THRESHOLD_RADIANS: f64 = 12.0 * 2.0 * core::f64::consts::PI / 360.0;
    /// The default time limit (`max_episode_steps`).
    pub const MAX_EPISODE_STEPS: u32 = 500;

    /// `num_envs` cart-poles (at least 1). Each reset draws the four state variables from
    /// U(-0.05, 0.05), as Gymnasium does, with a generator seeded with `seed`; call
    /// [`rl_core::Env::reset`] before the first step. An error ([`rl_core::CoreError::Env`]) if
    /// `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        Self::build("CartPole-v1", num_envs, seed, device, false)
    }

    /// The environment named `name`, observing `[x, theta]` only if `hide_velocities`.
    fn build(
        name: &'static str,
        num_envs: usize,
        seed: u64,
        device: &B::Device,
        hide_velocities: bool,
    ) -> Result<Self> {
        let (obs_dim, observe): (usize, Observe) = if hide_velocities {
            (2, |s, out| out.extend([s[0] as f32, s[2] as f32]))
        } else {
            (4, |s, out| out.extend(s.iter().map(|&v| v as f32)))
        };
        let actions = Space::discrete(2)?;
        let core = Core::new(name, num_envs, seed, device, (4, obs_dim), actions)?;
        let physics = Physics::gym(&core.config(None))?;
        Ok(Self {
            core,
            physics,
            limit: TimeLimit::new(Self::MAX_EPISODE_STEPS, num_envs),
            observe,
        })
    }

    /// The time limit in force (`max_episode_steps` of the last reset).
    pub fn max_episode_steps(&self) -> u32 {
        self.limit.max_episode_steps
    }

    /// Overwrites one state row with a fresh draw from U(-0.05, 0.05).
    fn draw_initial(core: &mut Core<B>, s: &mut [f64]) {
        for v in s {
            *v = core.uniform(-0.05, 0.05);
        }
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        let limit = (&mut self.limit, config, Self::MAX_EPISODE_STEPS);
        let physics = (&mut self.physics, Physics::gym);
        self.core
            .reset_episodic(limit, physics, Self::draw_initial, self.observe)
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let actions = self.core.discrete_actions(action)?;
        let physics = self.physics;
        self.core.step_episodic(
            &mut self.limit,
            |row, s| {
                let force = if actions[row] == 1 {
                    physics.force_mag
                } else {
                    -physics.force_mag
                };
                physics.step(s, force);
                let ended =
                    s[0].abs() > Self::X_THRESHOLD || s[2].abs() > Self::THETA_THRESHOLD_RADIANS;
                (1.0, ended)
            },
            Self::draw_initial,
            self.observe,
        )
    }
}

impl_env!(CartPoleV1);

persist_episodic!(CartPoleV1, Physics, [physics], [limit], [core]);

/// [`CartPoleV1`] without the velocities: the same environment, but each observation keeps
/// only the cart position and the pole angle, so the state is only partially observed (a
/// memory task: a policy must infer the velocities from past observations, e.g. with a
/// recurrent network).
///
/// * **Observation**: an unbounded `Box` of shape `[2]`: `[x, theta]` (columns 0 and 2 of
///   [`CartPoleV1`]'s observation), in `obs` and in `final_obs` alike.
/// * Everything else is [`CartPoleV1`]'s, computed by the same code: the action, dynamics,
///   reward, termination and truncation (on the full state), auto-reset, reset draws and
///   config keys (including `max_episode_steps`). With the same seed and actions it follows
///   exactly the trajectory of a [`CartPoleV1`].
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::Env;
/// use rl_envs::CartPoleNoVelocity;
///
/// let device = Default::default();
/// let mut env = CartPoleNoVelocity::<NdArray>::new(3, 0, &device)?;
/// assert_eq!(env.name(), "CartPole-v1-NoVelocity");
/// let obs = env.reset(None)?;
/// assert_eq!(obs.features.dims(), [3, 2]);
/// let right = Tensor::<NdArray, 2, Int>::ones([3, 1], &device).into();
/// let step = env.step(&right)?;
/// assert_eq!(step.obs.features.dims(), [3, 2]);
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct CartPoleNoVelocity<B: Backend> {
    inner: CartPoleV1<B>,
}

impl<B: Backend> CartPoleNoVelocity<B> {
    /// `num_envs` cart-poles (at least 1), drawn as [`CartPoleV1::new`]'s with a generator
    /// seeded with `seed`; call [`rl_core::Env::reset`] before the first step. An error
    /// ([`rl_core::CoreError::Env`]) if `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let inner = CartPoleV1::build("CartPole-v1-NoVelocity", num_envs, seed, device, true)?;
        Ok(Self { inner })
    }

    /// The time limit in force (`max_episode_steps` of the last reset).
    pub fn max_episode_steps(&self) -> u32 {
        self.inner.max_episode_steps()
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        self.inner.reset_batch(config)
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        self.inner.step_batch(action)
    }
}

impl_env!(CartPoleNoVelocity, inner.core);

impl<B: Backend> Persist<B> for CartPoleNoVelocity<B> {
    type Extra = <CartPoleV1<B> as Persist<B>>::Extra;
    fn core_mut(&mut self) -> &mut Core<B> {
        self.inner.core_mut()
    }
    fn extra(&self) -> Self::Extra {
        self.inner.extra()
    }
    fn set_extra(&mut self, extra: Self::Extra) -> Result<()> {
        self.inner.set_extra(extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::*;
    use rl_core::{CoreError, Env};

    /// rl8's reference step (rl8.md §4.2): from the all-zero state, action 2.
    #[test]
    fn cartpole_reference_step() {
        let mut env = CartPole::<B>::new(1, 0, &dev()).unwrap();
        env.reset(None).unwrap();
        env.core.state = Some(vec![0.0; 4]);
        let t = env.step(&discrete(&[2])).unwrap();
        let obs = [0.0, 0.0975609756, 1.0, 0.0, -0.1463414634];
        assert_close(&features(&t.obs), &obs, 1e-6);
        assert_close(&floats(t.reward), &[-0.2439024390], 1e-6);
    }

    #[test]
    fn cartpole_reward_is_on_the_new_state_and_layout_is_cos_sin() {
        let mut env = CartPole::<B>::new(3, 1, &dev()).unwrap();
        env.reset(None).unwrap();
        let start = [
            0.3, -0.2, 2.5, 1.0, -1.0, 0.4, -0.7, 0.1, 0.0, 0.0, 0.0, 0.0,
        ];
        env.core.state = Some(start.to_vec());
        let t = env.step(&discrete(&[0, 1, 2])).unwrap();
        let next = env.core.state.clone().unwrap();
        let obs = features(&t.obs);
        let rewards = floats(t.reward);
        for row in 0..3 {
            let s = &next[4 * row..4 * row + 4];
            // The state moved, and the observation shows the new state with cos/sin of theta.
            assert_ne!(s, &start[4 * row..4 * row + 4]);
            let expected_obs = [s[0], s[1], s[2].cos(), s[2].sin(), s[3]];
            assert_close(&obs[5 * row..5 * row + 5], &expected_obs, 1e-6);
            let r = -((s[2].cos() - 1.0).abs()
                + s[2].sin().abs()
                + s[0].abs()
                + s[1].abs()
                + s[3].abs());
            assert_close(&rewards[row..=row], &[r], 1e-6);
        }
        assert_eq!(bools(t.terminated), vec![false; 3]);
        assert_eq!(bools(t.truncated), vec![false; 3]);
        assert!(t.final_obs.is_none());
    }

    #[test]
    fn cartpole_never_ends() {
        let mut env = CartPole::<B>::new(4, 2, &dev()).unwrap();
        env.reset(None).unwrap();
        for _ in 0..300 {
            let t = env.step(&discrete(&[2, 2, 0, 1])).unwrap();
            assert!(!bools(t.done()).into_iter().any(|d| d));
            assert!(t.final_obs.is_none());
        }
        // Far past Gymnasium's thresholds, still running.
        assert!(env.core.state.as_ref().unwrap()[0].abs() > 2.4);
    }

    #[test]
    fn cartpole_config_does_not_persist() {
        let mut env = CartPole::<B>::new(1, 3, &dev()).unwrap();
        let x_dot_after_push = |env: &mut CartPole<B>| {
            env.core.state = Some(vec![0.0; 4]);
            features(&env.step(&discrete(&[2])).unwrap().obs)[1]
        };
        env.reset(Some(&config(&[("force_mag", 50.0), ("unknown", 1.0)])))
            .unwrap();
        assert_close(&[x_dot_after_push(&mut env)], &[0.975609756], 1e-6);
        env.reset(None).unwrap();
        assert_close(&[x_dot_after_push(&mut env)], &[0.0975609756], 1e-6);
    }

    #[test]
    fn cartpole_reset_is_normal_with_std_001() {
        let mut env = CartPole::<B>::new(2000, 4, &dev()).unwrap();
        env.reset(None).unwrap();
        let s = env.core.state.clone().unwrap();
        let mean = s.iter().sum::<f64>() / s.len() as f64;
        let std = (s.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
        assert!(mean.abs() < 0.001, "mean {mean}");
        assert!((std - 0.01).abs() < 0.0005, "std {std}");
    }

    #[test]
    fn cartpole_semi_implicit_integrator() {
        let mut env = CartPole::<B>::new(1, 0, &dev()).unwrap();
        env.reset(Some(&config(&[("semi_implicit", 1.0)]))).unwrap();
        env.core.state = Some(vec![0.0; 4]);
        let t = env.step(&discrete(&[2])).unwrap();
        // Velocities first, then positions move with the new velocities.
        let (x_dot, theta_dot): (f64, f64) = (0.0975609756, -0.1463414634);
        let obs = [
            0.02 * x_dot,
            x_dot,
            (0.02 * theta_dot).cos(),
            (0.02 * theta_dot).sin(),
            theta_dot,
        ];
        assert_close(&features(&t.obs), &obs, 1e-6);
        assert!(matches!(
            env.reset(Some(&config(&[("semi_implicit", 0.5)]))),
            Err(CoreError::Env { message, .. }) if message.contains("semi_implicit")
        ));
    }

    /// Gymnasium's equations in another (closed) form: multiply the numerator and the
    /// denominator of `theta_acc` by `M`.
    fn gym_step(s: [f64; 4], force: f64) -> [f64; 4] {
        let (g, mc, mp, l, tau) = (9.8, 1.0, 0.1, 0.5, 0.02);
        let [x, v, th, w] = s;
        let m = mc + mp;
        let num = m * g * th.sin() - th.cos() * (force + mp * l * w * w * th.sin());
        let theta_acc = num / (l * (4.0 / 3.0 * m - mp * th.cos().powi(2)));
        let x_acc = (force + mp * l * (w * w * th.sin() - theta_acc * th.cos())) / m;
        [
            x + tau * v,
            v + tau * x_acc,
            th + tau * w,
            w + tau * theta_acc,
        ]
    }

    #[test]
    fn v1_step_matches_gymnasium_equations() {
        let mut env = CartPoleV1::<B>::new(2, 0, &dev()).unwrap();
        env.reset(None).unwrap();
        let a = [0.01, -0.3, 0.05, 0.7];
        let b = [-1.0, 0.8, -0.15, -1.2];
        env.core.state = Some([a, b].concat());
        let t = env.step(&discrete(&[1, 0])).unwrap();
        let expected = [gym_step(a, 10.0), gym_step(b, -10.0)].concat();
        let next = env.core.state.clone().unwrap();
        for (got, want) in next.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-12, "{next:?} vs {expected:?}");
        }
        assert_close(&features(&t.obs), &expected, 1e-6);
        assert_eq!(floats(t.reward), vec![1.0, 1.0]);
        assert_eq!(bools(t.terminated), vec![false, false]);
        assert!(t.final_obs.is_none());
    }

    #[test]
    fn v1_terminates_at_the_thresholds() {
        let mut env = CartPoleV1::<B>::new(4, 0, &dev()).unwrap();
        env.reset(None).unwrap();
        // x_dot = 1 moves x by +0.02 in one Euler step; theta_dot = 1 moves theta by 0.02.
        let th = CartPoleV1::<B>::THETA_THRESHOLD_RADIANS;
        let start = [
            [2.39, 1.0, 0.0, 0.0],        // x: 2.41 > 2.4, terminates
            [2.37, 1.0, 0.0, 0.0],        // x: 2.39, does not
            [0.0, 0.0, -th - 0.01, -1.0], // theta < -12°, terminates
            [0.0, 0.0, th - 0.03, 1.0],   // theta just below 12°, does not
        ];
        env.core.state = Some(start.concat());
        let t = env.step(&discrete(&[1, 1, 1, 1])).unwrap();
        assert_eq!(bools(t.terminated.clone()), vec![true, false, true, false]);
        assert_eq!(bools(t.truncated.clone()), vec![false; 4]);
        assert_eq!(floats(t.reward), vec![1.0; 4]);
        let final_obs = features(t.final_obs.as_ref().unwrap());
        let obs = features(&t.obs);
        // Finished rows: final_obs past the threshold, obs a fresh state.
        assert!(final_obs[0] > 2.4 && final_obs[10] < -th as f32);
        for row in [0, 2] {
            assert!(obs[4 * row..4 * row + 4].iter().all(|v| v.abs() < 0.05));
        }
        // Unfinished rows: final_obs equals obs.
        for row in [1, 3] {
            assert_eq!(final_obs[4 * row..4 * row + 4], obs[4 * row..4 * row + 4]);
        }
        assert_eq!(env.limit.elapsed, vec![0, 1, 0, 1]);
    }

    #[test]
    fn v1_truncates_exactly_at_500() {
        let mut env = CartPoleV1::<B>::new(2, 5, &dev()).unwrap();
        // Without force, the all-zero state stays at rest forever.
        env.reset(Some(&config(&[("force_mag", 0.0)]))).unwrap();
        assert_eq!(env.max_episode_steps(), 500);
        env.core.state = Some(vec![0.0; 8]);
        let act = discrete(&[0, 1]);
        for step in 1..500 {
            let t = env.step(&act).unwrap();
            assert!(!bools(t.done()).into_iter().any(|d| d), "step {step}");
            assert!(t.final_obs.is_none());
            assert_eq!(features(&t.obs), vec![0.0; 8]);
        }
        let t = env.step(&act).unwrap();
        assert_eq!(bools(t.truncated), vec![true, true]);
        assert_eq!(bools(t.terminated), vec![false, false]);
        assert_eq!(floats(t.reward), vec![1.0, 1.0]);
        assert_eq!(features(&t.final_obs.unwrap()), vec![0.0; 8]);
        let fresh = features(&t.obs);
        assert!(fresh.iter().all(|v| (-0.05..0.05).contains(v)), "{fresh:?}");
        assert!(fresh.iter().any(|&v| v != 0.0));
        assert_eq!(env.limit.elapsed, vec![0, 0]);
        // The new episodes run on.
        let t = env.step(&act).unwrap();
        assert!(t.final_obs.is_none());
    }

    #[test]
    fn v1_terminated_and_truncated_together() {
        let mut env = CartPoleV1::<B>::new(2, 6, &dev()).unwrap();
        env.reset(Some(&config(&[("max_episode_steps", 1.0)])))
            .unwrap();
        env.core.state = Some(vec![2.39, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let t = env.step(&discrete(&[1, 0])).unwrap();
        assert_eq!(bools(t.terminated), vec![true, false]);
        assert_eq!(bools(t.truncated), vec![true, true]);
    }

    #[test]
    fn v1_config_checks() {
        let mut env = CartPoleV1::<B>::new(1, 0, &dev()).unwrap();
        for bad in [0.0, 2.5, -3.0, f64::NAN, 1e10] {
            assert!(matches!(
                env.reset(Some(&config(&[("max_episode_steps", bad)]))),
                Err(CoreError::Env { env, message })
                    if env == "CartPole-v1" && message.contains("max_episode_steps")
            ));
        }
        // Every other key's non-finite values: `catalog::tests::every_listed_key_is_read`.
        assert!(env.reset(Some(&config(&[("masscart", 0.0)]))).is_err());
        env.reset(Some(&config(&[("max_episode_steps", 7.0)])))
            .unwrap();
        assert_eq!(env.max_episode_steps(), 7);
        env.reset(None).unwrap();
        assert_eq!(env.max_episode_steps(), 500);
    }

    #[test]
    fn extreme_config_is_reported_not_stored() {
        let mut env = CartPoleV1::<B>::new(1, 0, &dev()).unwrap();
        env.reset(Some(&config(&[("force_mag", 1e300)]))).unwrap();
        let before = env.core.state.clone();
        assert!(matches!(
            env.step(&discrete(&[1])),
            Err(CoreError::NonFinite { index: 0, .. })
        ));
        assert_eq!(env.core.state, before);
        assert_eq!(env.limit.elapsed, vec![0]);
    }
}
