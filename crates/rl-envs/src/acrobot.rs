//! Gymnasium's two-link acrobot: [`AcrobotV1`].

use core::f64::consts::PI;

use burn::tensor::backend::Backend;
use rl_core::{Action, EnvConfig, Observation, Result, Space, Transition};

use crate::common::{ConfigReader, Core, TimeLimit, impl_env, persist_episodic};

/// The acrobot's parameters, read from the config at every reset.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Params {
    dt: f64,
}

impl Params {
    fn from_config(reader: &ConfigReader<'_>) -> Result<Self> {
        Ok(Self {
            dt: reader.positive("dt", 0.2)?,
        })
    }
}

/// Gymnasium's constants: both links 1 m long and 1 kg, their centres of mass at 0.5 m, both
/// moments of inertia 1, gravity 9.8.
const LINK_LENGTH_1: f64 = 1.0;
const LINK_MASS_1: f64 = 1.0;
const LINK_MASS_2: f64 = 1.0;
const LINK_COM_1: f64 = 0.5;
const LINK_COM_2: f64 = 0.5;
const LINK_MOI: f64 = 1.0;
const GRAVITY: f64 = 9.8;
const MAX_VEL_1: f64 = 4.0 * PI;
const MAX_VEL_2: f64 = 9.0 * PI;

/// The time derivative of `s = [theta1, theta2, dtheta1, dtheta2]` under `torque` on the
/// second joint (the equations of Sutton and Barto's book, Gymnasium's `book` variant).
fn derivative(s: [f64; 4], torque: f64) -> [f64; 4] {
    let (m1, m2, l1, lc1, lc2) = (
        LINK_MASS_1,
        LINK_MASS_2,
        LINK_LENGTH_1,
        LINK_COM_1,
        LINK_COM_2,
    );
    let (i1, i2, g) = (LINK_MOI, LINK_MOI, GRAVITY);
    let [theta1, theta2, dtheta1, dtheta2] = s;
    let d1 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2.0 * l1 * lc2 * theta2.cos()) + i1 + i2;
    let d2 = m2 * (lc2 * lc2 + l1 * lc2 * theta2.cos()) + i2;
    let phi2 = m2 * lc2 * g * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * dtheta2 * dtheta2 * theta2.sin()
        - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * theta2.sin()
        + (m1 * lc1 + m2 * l1) * g * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 =
        (torque + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 * dtheta1 * theta2.sin() - phi2)
            / (m2 * lc2 * lc2 + i2 - d2 * d2 / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2]
}

/// One classic Runge-Kutta step of length `dt` (Gymnasium integrates `[0, dt]` in one step).
fn rk4(s: [f64; 4], torque: f64, dt: f64) -> [f64; 4] {
    let along = |k: [f64; 4], h: f64| std::array::from_fn(|i| s[i] + h * k[i]);
    let k1 = derivative(s, torque);
    let k2 = derivative(along(k1, dt / 2.0), torque);
    let k3 = derivative(along(k2, dt / 2.0), torque);
    let k4 = derivative(along(k3, dt), torque);
    std::array::from_fn(|i| s[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

/// `x` wrapped into `[-pi, pi]` by whole turns, as Gymnasium's `wrap` does (a value exactly
/// at a bound stays).
fn wrap(mut x: f64) -> f64 {
    while x > PI {
        x -= 2.0 * PI;
    }
    while x < -PI {
        x += 2.0 * PI;
    }
    x
}

/// `[cos theta1, sin theta1, cos theta2, sin theta2, dtheta1, dtheta2]`.
fn observe(s: &[f64], out: &mut Vec<f32>) {
    let (sin1, cos1) = s[0].sin_cos();
    let (sin2, cos2) = s[1].sin_cos();
    out.extend([cos1, sin1, cos2, sin2, s[2], s[3]].map(|v| v as f32));
}

/// Gymnasium's reset: all four state variables from U(-0.1, 0.1).
fn draw_initial<B: Backend>(core: &mut Core<B>, s: &mut [f64]) {
    for v in s {
        *v = core.uniform(-0.1, 0.1);
    }
}

/// Gymnasium's `Acrobot-v1` (with its `TimeLimit` of 500 steps): swing the tip of a two-link
/// pendulum, actuated only at the joint between the links, above a line one link-length over
/// the fixed pivot.
///
/// * **Observation**: a `Box` of shape `[6]`, `[cos theta1, sin theta1, cos theta2, sin
///   theta2, dtheta1, dtheta2]` within `±[1, 1, 1, 1, 4 pi, 9 pi]` (`theta1` is the first
///   link's angle from hanging down, `theta2` the second link's relative to the first).
/// * **Action**: `Discrete { n: 3 }`: a torque of -1, 0 or +1 on the joint.
/// * **Dynamics**: Gymnasium's (Sutton and Barto's book equations), one fourth-order
///   Runge-Kutta step of `dt` (0.2 s); then both angles wrapped into `[-pi, pi]` and the
///   angular velocities clipped to `±4 pi` and `±9 pi`.
/// * **Reward**: -1 every step that does not terminate, 0 on the one that does.
/// * **Termination**: `-cos(theta1) - cos(theta1 + theta2) > 1` (the tip above the line).
///   **Truncation**: on the step that brings the episode to `max_episode_steps` (500). An
///   ended row is redrawn in the same step, its last observation in `final_obs`.
/// * **Reset**: all four state variables from U(-0.1, 0.1).
/// * **Config keys**: `dt` 0.2 (> 0), `max_episode_steps` 500.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::Env;
/// use rl_envs::AcrobotV1;
///
/// let device = Default::default();
/// let mut env = AcrobotV1::<NdArray>::new(2, 0, &device)?;
/// assert_eq!(env.reset(None)?.features.dims(), [2, 6]);
/// let action = Tensor::<NdArray, 2, Int>::from_ints([[0], [2]], &device).into();
/// let step = env.step(&action)?;
/// assert_eq!(step.reward.into_data().to_vec::<f32>().unwrap(), vec![-1.0, -1.0]);
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct AcrobotV1<B: Backend> {
    core: Core<B>,
    params: Params,
    limit: TimeLimit,
}

impl<B: Backend> AcrobotV1<B> {
    /// The default time limit (`max_episode_steps`).
    pub const MAX_EPISODE_STEPS: u32 = 500;

    /// `num_envs` acrobots (at least 1), each reset from U(-0.1, 0.1) with a generator seeded
    /// with `seed`; call [`rl_core::Env::reset`] before the first step. An error
    /// ([`rl_core::CoreError::Env`]) if `num_envs` is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let actions = Space::discrete(3)?;
        let high = vec![1.0, 1.0, 1.0, 1.0, MAX_VEL_1 as f32, MAX_VEL_2 as f32];
        let observations = Space::boxed(vec![6], high.iter().map(|h| -h).collect(), high)?;
        let core = Core::new("Acrobot-v1", num_envs, seed, device, (4, 6), actions)?
            .with_observation_space(observations);
        let params = Params::from_config(&core.config(None))?;
        Ok(Self {
            core,
            params,
            limit: TimeLimit::new(Self::MAX_EPISODE_STEPS, num_envs),
        })
    }

    fn reset_batch(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        let limit = (&mut self.limit, config, Self::MAX_EPISODE_STEPS);
        let params = (&mut self.params, Params::from_config);
        self.core
            .reset_episodic(limit, params, draw_initial, observe)
    }

    fn step_batch(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let actions = self.core.discrete_actions(action)?;
        let dt = self.params.dt;
        self.core.step_episodic(
            &mut self.limit,
            |row, s| {
                let torque = (actions[row] - 1) as f64;
                let next = rk4([s[0], s[1], s[2], s[3]], torque, dt);
                s[0] = wrap(next[0]);
                s[1] = wrap(next[1]);
                s[2] = next[2].clamp(-MAX_VEL_1, MAX_VEL_1);
                s[3] = next[3].clamp(-MAX_VEL_2, MAX_VEL_2);
                let up = -s[0].cos() - (s[1] + s[0]).cos() > 1.0;
                (if up { 0.0 } else { -1.0 }, up)
            },
            draw_initial,
            observe,
        )
    }
}

impl_env!(AcrobotV1);
persist_episodic!(AcrobotV1, Params, [params], [limit], [core]);
