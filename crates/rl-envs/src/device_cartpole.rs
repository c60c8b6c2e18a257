//! The cart-poles on the device: rl8's [`CartPole`](crate::CartPole) and Gymnasium's
//! [`CartPoleV1`](crate::CartPoleV1) written as tensor operations over the whole batch, so that
//! a step reads nothing back to the host ([`Residence::Device`]).

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor, TensorData};
use chacha20::ChaCha12Rng;
use rand::SeedableRng;
use rl_core::{
    Action, CoreError, Env, EnvConfig, EnvInfo, Observation, Residence, Result, SavedRng, Space,
    Transition, check_action, check_action_shape, decode_state, encode_state,
};

use crate::cartpole::Physics;
use crate::common::{ConfigReader, env_error as error, standard_normals, uniform};

/// What both device cart-poles keep: the batch, its parameters, the state on the device and
/// the generator of the reset draws (on the host, so that a seed gives the same draws on every
/// backend and a saved state continues exactly).
#[derive(Debug)]
struct Batch<B: Backend> {
    info: EnvInfo<B>,
    physics: Physics,
    /// `[x, x_dot, theta, theta_dot]`, `[N]` each; `None` until the first reset.
    state: Option<[Tensor<B, 1>; 4]>,
    rng: ChaCha12Rng,
    /// Whether each step reads the actions back to refuse one outside the action space.
    checked: bool,
}

/// What a saved device cart-pole holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    num_envs: usize,
    physics: Physics,
    /// The state rows `[x, x_dot, theta, theta_dot]`, row after row.
    state: Option<Vec<f32>>,
    rng: SavedRng,
    /// `max_episode_steps` and each episode's length (Gymnasium's cart-pole only).
    limit: Option<(u32, Vec<f32>)>,
}

impl<B: Backend> Batch<B> {
    fn new(
        name: &'static str,
        num_envs: usize,
        seed: u64,
        device: &B::Device,
        (obs_dim, actions): (usize, usize),
        physics: Physics,
    ) -> Result<Self> {
        let (observations, actions) = (Space::unbounded(vec![obs_dim])?, Space::discrete(actions)?);
        Ok(Self {
            info: EnvInfo::new(name, num_envs, observations, actions, device.clone())?,
            physics,
            state: None,
            rng: ChaCha12Rng::seed_from_u64(seed),
            checked: false,
        })
    }

    /// `4 * N` values of `draw` (called with the generator and the count), uploaded as the
    /// four columns of a state.
    fn draws(
        &mut self,
        draw: impl FnOnce(&mut ChaCha12Rng, usize) -> Vec<f32>,
    ) -> [Tensor<B, 1>; 4] {
        let n = self.info.num_envs();
        let values = draw(&mut self.rng, 4 * n);
        columns(
            Tensor::<B, 2>::from_data(TensorData::new(values, [4, n]), self.info.device())
                .transpose(),
        )
    }

    /// The actions as numbers `[N]` on the device, after the checks that need no read (kind,
    /// shape), and with [`checked`](Self::checked) the range as well.
    fn actions(&self, action: &Action<B>) -> Result<Tensor<B, 1>> {
        if self.checked {
            check_action(self.info.action_space(), self.info.num_envs(), action)?;
        } else {
            check_action_shape(self.info.action_space(), self.info.num_envs(), action)?;
        }
        Ok(action
            .as_discrete()?
            .clone()
            .float()
            .reshape([self.info.num_envs()]))
    }

    /// The state, or an error before the first reset.
    fn state(&self) -> Result<[Tensor<B, 1>; 4]> {
        self.state
            .clone()
            .ok_or_else(|| error(self.info.name(), "step called before reset"))
    }

    fn save(&self, limit: Option<(u32, Vec<f32>)>) -> Result<Option<Vec<u8>>> {
        let state = match &self.state {
            Some(s) => Some(read(Tensor::stack::<2>(s.to_vec(), 1), self.info.name())?),
            None => None,
        };
        let saved = Saved {
            num_envs: self.info.num_envs(),
            physics: self.physics,
            state,
            rng: SavedRng::new(&self.rng),
            limit,
        };
        encode_state(self.info.name(), &saved).map(Some)
    }

    /// Takes a saved state if it fits this batch (with a time limit if `limited`); returns
    /// its time limit.
    fn load(&mut self, bytes: &[u8], limited: bool) -> Result<Option<(u32, Tensor<B, 1>)>> {
        let saved: Saved = decode_state(self.info.name(), bytes)?;
        let n = self.info.num_envs();
        let fits = saved.num_envs == n
            && saved.state.as_ref().is_none_or(|s| s.len() == 4 * n)
            && saved.limit.is_some() == limited
            && saved.limit.as_ref().is_none_or(|(_, e)| e.len() == n);
        if !fits {
            return Err(error(
                self.info.name(),
                format!("the saved state is not one of {n} environments of this kind"),
            ));
        }
        let rng = saved
            .rng
            .restore()
            .ok_or_else(|| error(self.info.name(), "the saved generator state is malformed"))?;
        let state = saved.state.map(|s| {
            columns(Tensor::from_data(
                TensorData::new(s, [n, 4]),
                self.info.device(),
            ))
        });
        (self.physics, self.state, self.rng) = (saved.physics, state, rng);
        Ok(saved.limit.map(|(max, elapsed)| {
            let elapsed = Tensor::from_data(TensorData::new(elapsed, [n]), self.info.device());
            (max, elapsed)
        }))
    }
}

/// The four columns `[N]` of a state `[N, 4]`.
fn columns<B: Backend>(state: Tensor<B, 2>) -> [Tensor<B, 1>; 4] {
    let n = state.dims()[0];
    [0, 1, 2, 3].map(|i| state.clone().narrow(1, i, 1).reshape([n]))
}

fn read<B: Backend, const D: usize>(t: Tensor<B, D>, env: &str) -> Result<Vec<f32>> {
    rl_functional::host::read_f32(t, "save_state", "state").map_err(|e| error(env, e.to_string()))
}

/// The [`Env`] methods a device cart-pole answers from its [`Batch`].
macro_rules! batch_accessors {
    () => {
        fn info(&self) -> &EnvInfo<B> {
            &self.batch.info
        }
        fn residence(&self) -> Residence {
            Residence::Device
        }
    };
}

/// rl8's cart-pole ([`CartPole`](crate::CartPole)) on the device: the same observation, action,
/// dynamics, reward, reset draws (N(0, 0.01²), from this environment's own generator) and
/// config keys, computed in `f32` tensor operations over the whole batch, so a step reads
/// nothing back ([`Residence::Device`]). The host version keeps its state in `f64`, so the two
/// agree to float rounding (a test steps them side by side).
///
/// Actions are checked for their kind and shape; their values are not read back to be checked
/// (that would be a device synchronisation per step): action 0, 1 or 2 pushes with `(a - 1) *
/// force_mag`, and an action outside `Discrete(3)` pushes with the same formula.
/// [`with_checked_actions`](Self::with_checked_actions) reads them and refuses such an action,
/// as the host version does.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::{Env, Residence};
/// use rl_envs::DeviceCartPole;
///
/// let device = Default::default();
/// let mut env = DeviceCartPole::<NdArray>::new(4, 0, &device)?;
/// assert_eq!(env.residence(), Residence::Device);
/// let obs = env.reset(None)?;
/// assert_eq!(obs.features.dims(), [4, 5]);
/// let push_right = Tensor::<NdArray, 2, Int>::full([4, 1], 2, &device).into();
/// let step = env.step(&push_right)?;
/// assert_eq!(step.reward.dims(), [4]);
/// assert!(step.final_obs.is_none());
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct DeviceCartPole<B: Backend> {
    batch: Batch<B>,
}

impl<B: Backend> DeviceCartPole<B> {
    /// `num_envs` cart-poles (at least 1), reset draws from a generator seeded with `seed`;
    /// call [`Env::reset`] before the first step. An error ([`CoreError::Env`]) if `num_envs`
    /// is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let physics = Physics::rl8(&ConfigReader::new("CartPole-device", None))?;
        let batch = Batch::new("CartPole-device", num_envs, seed, device, (5, 3), physics)?;
        Ok(Self { batch })
    }

    /// The same environment, reading every action back to refuse one outside `Discrete(3)`
    /// (a device synchronisation per step).
    pub fn with_checked_actions(mut self) -> Self {
        self.batch.checked = true;
        self
    }

    fn observe(s: &[Tensor<B, 1>; 4]) -> Observation<B> {
        let [x, x_dot, theta, theta_dot] = s.clone();
        let columns = vec![x, x_dot, theta.clone().cos(), theta.sin(), theta_dot];
        Observation::new(Tensor::stack(columns, 1))
    }
}

impl<B: Backend> Env<B> for DeviceCartPole<B> {
    batch_accessors!();
    fn reset(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        self.batch.physics = Physics::rl8(&ConfigReader::new(self.batch.info.name(), config))?;
        let state = self.batch.draws(|rng, count| {
            let z = standard_normals(rng, count);
            z.iter().map(|z| (0.01 * z) as f32).collect()
        });
        let obs = Self::observe(&state);
        self.batch.state = Some(state);
        Ok(obs)
    }
    fn step(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let a = self.batch.actions(action)?;
        let physics = self.batch.physics;
        let force = a.sub_scalar(1.0).mul_scalar(physics.force_mag());
        let s = physics.step_tensors(self.batch.state()?, force);
        let [x, x_dot, theta, theta_dot] = s.clone();
        let reward = (theta.clone().cos().sub_scalar(1.0).abs()
            + theta.sin().abs()
            + x.abs()
            + x_dot.abs()
            + theta_dot.abs())
        .neg();
        let n = self.batch.info.num_envs();
        let never: Tensor<B, 1, Bool> =
            Tensor::<B, 1>::zeros([n], self.batch.info.device()).lower_elem(0.0);
        let obs = Self::observe(&s);
        self.batch.state = Some(s);
        Ok(Transition {
            obs,
            reward,
            terminated: never.clone(),
            truncated: never,
            final_obs: None,
        })
    }
    fn save_state(&self) -> Result<Option<Vec<u8>>> {
        self.batch.save(None)
    }
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        self.batch.load(state, false).map(|_| ())
    }
}

/// Gymnasium's `CartPole-v1` ([`CartPoleV1`](crate::CartPoleV1)) on the device: the same
/// observation, action, dynamics, reward, termination, truncation at `max_episode_steps`,
/// same-step auto-reset with U(-0.05, 0.05) draws and config keys, computed in `f32` tensor
/// operations over the whole batch, so a step reads nothing back ([`Residence::Device`]). The
/// host version keeps its state in `f64`, so the two agree to float rounding (a test steps them
/// side by side).
///
/// Differences from the host version: every step carries `final_obs` (the state reached
/// before any reset, for every row), since knowing whether any row ended would be a read;
/// every step draws a fresh initial state for every row (and uses it for the rows that ended),
/// so the same seed does not give the host version's draws. Actions are checked for their kind
/// and shape, not read back for their values: 1 pushes right and anything else left;
/// [`with_checked_actions`](Self::with_checked_actions) refuses an action outside
/// `Discrete(2)` (a read per step).
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use rl_core::{Env, EnvConfig};
/// use rl_envs::DeviceCartPoleV1;
///
/// let device = Default::default();
/// let mut env = DeviceCartPoleV1::<NdArray>::new(2, 0, &device)?;
/// let config = EnvConfig::from([("max_episode_steps".to_string(), 3.0)]);
/// env.reset(Some(&config))?;
/// let right = Tensor::<NdArray, 2, Int>::ones([2, 1], &device).into();
/// for _ in 0..3 {
///     let step = env.step(&right)?;
///     assert!(step.final_obs.is_some());
///     assert_eq!(step.reward.into_data().to_vec::<f32>().unwrap(), vec![1.0, 1.0]);
/// }
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug)]
pub struct DeviceCartPoleV1<B: Backend> {
    batch: Batch<B>,
    max_episode_steps: u32,
    /// Each environment's steps in its episode, `[N]` (as floats: exact below 2^24).
    elapsed: Tensor<B, 1>,
}

impl<B: Backend> DeviceCartPoleV1<B> {
    /// `num_envs` cart-poles (at least 1), reset draws from a generator seeded with `seed`;
    /// call [`Env::reset`] before the first step. An error ([`CoreError::Env`]) if `num_envs`
    /// is 0.
    pub fn new(num_envs: usize, seed: u64, device: &B::Device) -> Result<Self> {
        let name = "CartPole-v1-device";
        let physics = Physics::gym(&ConfigReader::new(name, None))?;
        let batch = Batch::new(name, num_envs, seed, device, (4, 2), physics)?;
        Ok(Self {
            batch,
            max_episode_steps: crate::CartPoleV1::<B>::MAX_EPISODE_STEPS,
            elapsed: Tensor::zeros([num_envs], device),
        })
    }

    /// The same environment, reading every action back to refuse one outside `Discrete(2)`
    /// (a device synchronisation per step).
    pub fn with_checked_actions(mut self) -> Self {
        self.batch.checked = true;
        self
    }

    /// The time limit in force (`max_episode_steps` of the last reset).
    pub fn max_episode_steps(&self) -> u32 {
        self.max_episode_steps
    }

    /// Starts every environment from `state` (`[N, 4]`: `x, x_dot, theta, theta_dot`) with
    /// its episode `elapsed` steps old (`[N]`), e.g. to follow another batch step by step.
    ///
    /// # Errors
    /// [`CoreError::Shape`] if either does not have N rows (and `state` 4 columns).
    pub fn set_state(&mut self, state: Tensor<B, 2>, elapsed: Tensor<B, 1>) -> Result<()> {
        let n = self.batch.info.num_envs();
        for (what, dims, want) in [
            ("state", state.dims().to_vec(), vec![n, 4]),
            ("elapsed", elapsed.dims().to_vec(), vec![n]),
        ] {
            if dims != want {
                return Err(CoreError::Shape {
                    what: format!("{}: set_state {what}", self.batch.info.name()),
                    expected: format!("{want:?}"),
                    actual: dims,
                });
            }
        }
        self.batch.state = Some(columns(state));
        self.elapsed = elapsed;
        Ok(())
    }

    fn observe(s: &[Tensor<B, 1>; 4]) -> Observation<B> {
        Observation::new(Tensor::stack(s.to_vec(), 1))
    }
}

impl<B: Backend> Env<B> for DeviceCartPoleV1<B> {
    batch_accessors!();
    fn reset(&mut self, config: Option<&EnvConfig>) -> Result<Observation<B>> {
        let reader = ConfigReader::new(self.batch.info.name(), config);
        let default = crate::CartPoleV1::<B>::MAX_EPISODE_STEPS;
        let physics = Physics::gym(&reader)?;
        self.max_episode_steps = reader.count("max_episode_steps", default)?;
        self.batch.physics = physics;
        self.elapsed = Tensor::zeros([self.batch.info.num_envs()], self.batch.info.device());
        let state = self.batch.draws(uniform_start);
        let obs = Self::observe(&state);
        self.batch.state = Some(state);
        Ok(obs)
    }
    fn step(&mut self, action: &Action<B>) -> Result<Transition<B>> {
        let right = self.batch.actions(action)?.equal_elem(1.0);
        let physics = self.batch.physics;
        let f = physics.force_mag();
        let force = right.float().mul_scalar(2.0 * f).sub_scalar(f);
        let reached = physics.step_tensors(self.batch.state()?, force);
        let [x, _, theta, _] = reached.clone();
        let terminated = x
            .abs()
            .greater_elem(crate::CartPoleV1::<B>::X_THRESHOLD)
            .bool_or(
                theta
                    .abs()
                    .greater_elem(crate::CartPoleV1::<B>::THETA_THRESHOLD_RADIANS),
            );
        let elapsed = self.elapsed.clone().add_scalar(1.0);
        let truncated = elapsed
            .clone()
            .greater_equal_elem(f64::from(self.max_episode_steps));
        let done = terminated.clone().bool_or(truncated.clone());
        let fresh = self.batch.draws(uniform_start);
        let [a, b, c, d] = reached.clone();
        let [fa, fb, fc, fd] = fresh;
        let next = [(a, fa), (b, fb), (c, fc), (d, fd)].map(|(s, f)| s.mask_where(done.clone(), f));
        let n = self.batch.info.num_envs();
        self.elapsed = elapsed.mask_fill(done, 0.0);
        let out = Transition {
            obs: Self::observe(&next),
            reward: Tensor::ones([n], self.batch.info.device()),
            terminated,
            truncated,
            final_obs: Some(Self::observe(&reached)),
        };
        self.batch.state = Some(next);
        Ok(out)
    }
    fn save_state(&self) -> Result<Option<Vec<u8>>> {
        let elapsed = read(self.elapsed.clone(), self.batch.info.name())?;
        self.batch.save(Some((self.max_episode_steps, elapsed)))
    }
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        if let Some((max, elapsed)) = self.batch.load(state, true)? {
            (self.max_episode_steps, self.elapsed) = (max, elapsed);
        }
        Ok(())
    }
}

/// `count` draws from U(-0.05, 0.05), Gymnasium's initial cart-pole state.
fn uniform_start(rng: &mut ChaCha12Rng, count: usize) -> Vec<f32> {
    (0..count)
        .map(|_| uniform(rng, -0.05, 0.05) as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::Persist;
    use crate::common::testing::{B, bools, config, dev, discrete, features, floats};
    use crate::{CartPole, CartPoleV1};
    use rand::RngExt;
    use rand::rngs::StdRng;

    /// `|a - b| <= 2e-5 * max(1, |b|)` for every pair.
    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 2e-5 * y.abs().max(1.0),
                "{what} element {i}: {x} vs {y}"
            );
        }
    }

    fn host_state<E: Persist<B>>(env: &mut E) -> Tensor<B, 2> {
        let s: Vec<f32> = env
            .core_mut()
            .state
            .clone()
            .unwrap()
            .iter()
            .map(|&v| v as f32)
            .collect();
        let n = s.len() / 4;
        Tensor::from_data(TensorData::new(s, [n, 4]), &dev())
    }

    /// Gymnasium's cart-pole on the device follows the host version step by step: from the
    /// host's state (copied over before every step, so that f32 and f64 rounding do not
    /// compound), the same actions give the same rewards and flags, the same final
    /// observations, the same observations for the rows that went on, and a fresh draw in
    /// U(-0.05, 0.05) for the rows that ended; with both integrators.
    #[test]
    fn device_cartpole_v1_follows_the_host_version_step_by_step() {
        let n = 64;
        for semi_implicit in [0.0, 1.0] {
            let cfg = config(&[
                ("max_episode_steps", 30.0),
                ("semi_implicit", semi_implicit),
            ]);
            let mut host = CartPoleV1::<B>::new(n, 1, &dev()).unwrap();
            let mut device = DeviceCartPoleV1::<B>::new(n, 2, &dev()).unwrap();
            host.reset(Some(&cfg)).unwrap();
            device.reset(Some(&cfg)).unwrap();
            assert_eq!(device.max_episode_steps(), 30);
            let mut rng = StdRng::seed_from_u64(3);
            let (mut terminations, mut truncations) = (0, 0);
            for t in 0..200 {
                let elapsed: Vec<f32> = host.limit.elapsed.iter().map(|&e| e as f32).collect();
                let elapsed = Tensor::from_data(TensorData::new(elapsed, [n]), &dev());
                device.set_state(host_state(&mut host), elapsed).unwrap();
                let actions: Vec<i64> = (0..n).map(|_| rng.random_range(0..2)).collect();
                let h = host.step(&discrete(&actions)).unwrap();
                let d = device.step(&discrete(&actions)).unwrap();
                assert_eq!(floats(d.reward.clone()), floats(h.reward.clone()), "t={t}");
                let (term, trunc) = (bools(h.terminated.clone()), bools(h.truncated.clone()));
                assert_eq!(bools(d.terminated.clone()), term, "terminated t={t}");
                assert_eq!(bools(d.truncated.clone()), trunc, "truncated t={t}");
                let h_final = h
                    .final_obs
                    .as_ref()
                    .map_or_else(|| features(&h.obs), features);
                close(
                    &features(d.final_obs.as_ref().unwrap()),
                    &h_final,
                    "final_obs",
                );
                let (d_obs, h_obs) = (features(&d.obs), features(&h.obs));
                for e in 0..n {
                    let row = e * 4..e * 4 + 4;
                    if term[e] || trunc[e] {
                        assert!(d_obs[row].iter().all(|v| (-0.05..0.05).contains(v)));
                    } else {
                        close(&d_obs[row.clone()], &h_obs[row], "obs");
                    }
                }
                terminations += term.iter().filter(|&&x| x).count();
                truncations += trunc.iter().filter(|&&x| x).count();
            }
            assert!(
                terminations > 50 && truncations > 50,
                "{terminations} {truncations}"
            );
        }
    }

    /// rl8's cart-pole on the device follows the host version: the same observations and
    /// rewards from the same state, and never an episode end.
    #[test]
    fn device_cartpole_follows_the_host_version_step_by_step() {
        let n = 32;
        let cfg = config(&[("force_mag", 8.0), ("pole_mass", 0.3)]);
        let mut host = CartPole::<B>::new(n, 1, &dev()).unwrap();
        let mut device = DeviceCartPole::<B>::new(n, 2, &dev()).unwrap();
        host.reset(Some(&cfg)).unwrap();
        device.reset(Some(&cfg)).unwrap();
        let mut rng = StdRng::seed_from_u64(4);
        for t in 0..100 {
            let s = host_state(&mut host);
            device.batch.state = Some(columns(s));
            let actions: Vec<i64> = (0..n).map(|_| rng.random_range(0..3)).collect();
            let h = host.step(&discrete(&actions)).unwrap();
            let d = device.step(&discrete(&actions)).unwrap();
            close(&features(&d.obs), &features(&h.obs), &format!("obs t={t}"));
            close(
                &floats(d.reward.clone()),
                &floats(h.reward.clone()),
                "reward",
            );
            assert!(!bools(d.done()).iter().any(|&x| x));
            assert!(d.final_obs.is_none());
        }
    }

    /// Left alone (no copying), the device version stays within float rounding of the host
    /// version's first episode steps from the same start.
    #[test]
    fn device_cartpole_v1_runs_free_close_to_the_host_version() {
        let n = 16;
        let mut host = CartPoleV1::<B>::new(n, 5, &dev()).unwrap();
        let mut device = DeviceCartPoleV1::<B>::new(n, 6, &dev()).unwrap();
        host.reset(None).unwrap();
        device.reset(None).unwrap();
        device
            .set_state(host_state(&mut host), Tensor::zeros([n], &dev()))
            .unwrap();
        for k in 0..20 {
            // Pushes that alternate keep every pole up.
            let actions: Vec<i64> = (0..n as i64).map(|e| (e + k) % 2).collect();
            let h = host.step(&discrete(&actions)).unwrap();
            let d = device.step(&discrete(&actions)).unwrap();
            assert!(h.final_obs.is_none(), "no episode ends this early");
            close(&features(&d.obs), &features(&h.obs), "obs");
        }
    }

    /// A saved state continues exactly: the same draws and the same steps after loading.
    #[test]
    fn a_saved_device_cartpole_continues_exactly() {
        let n = 8;
        let cfg = config(&[("max_episode_steps", 5.0)]);
        let mut env = DeviceCartPoleV1::<B>::new(n, 7, &dev()).unwrap();
        env.reset(Some(&cfg)).unwrap();
        let right = discrete(&[1; 8]);
        for _ in 0..3 {
            env.step(&right).unwrap();
        }
        let saved = env.save_state().unwrap().unwrap();
        let run = |env: &mut DeviceCartPoleV1<B>| -> Vec<Vec<f32>> {
            (0..6)
                .map(|_| features(&env.step(&right).unwrap().obs))
                .collect()
        };
        let first = run(&mut env);
        let mut other = DeviceCartPoleV1::<B>::new(n, 99, &dev()).unwrap();
        other.load_state(&saved).unwrap();
        assert_eq!(other.max_episode_steps(), 5);
        assert_eq!(run(&mut other), first);
        // rl8's keeps its state too, and neither takes the other's state or another size.
        let mut rl8 = DeviceCartPole::<B>::new(n, 7, &dev()).unwrap();
        rl8.reset(None).unwrap();
        let rl8_saved = rl8.save_state().unwrap().unwrap();
        assert!(rl8.load_state(&saved).is_err());
        assert!(other.load_state(&rl8_saved).is_err());
        let mut bigger = DeviceCartPoleV1::<B>::new(n + 1, 7, &dev()).unwrap();
        assert!(bigger.load_state(&saved).is_err());
    }

    /// Bad input is an error, never a panic: a step before reset, actions of the wrong shape,
    /// and with checked actions one outside the space.
    #[test]
    fn device_cartpoles_refuse_bad_input() {
        let mut env = DeviceCartPoleV1::<B>::new(2, 0, &dev()).unwrap();
        assert!(env.step(&discrete(&[0, 1])).is_err(), "before reset");
        env.reset(None).unwrap();
        assert!(env.step(&discrete(&[0, 1, 1])).is_err(), "three rows");
        assert!(env.step(&discrete(&[0, 7])).is_ok(), "unchecked: not read");
        let mut checked = DeviceCartPoleV1::<B>::new(2, 0, &dev())
            .unwrap()
            .with_checked_actions();
        checked.reset(None).unwrap();
        assert!(matches!(
            checked.step(&discrete(&[0, 7])),
            Err(CoreError::Space { .. })
        ));
        let mut rl8 = DeviceCartPole::<B>::new(2, 0, &dev())
            .unwrap()
            .with_checked_actions();
        rl8.reset(None).unwrap();
        assert!(rl8.step(&discrete(&[3, 0])).is_err());
        assert!(DeviceCartPole::<B>::new(0, 0, &dev()).is_err());
        let bad = config(&[("masscart", -1.0)]);
        assert!(env.reset(Some(&bad)).is_err());
        assert!(
            env.set_state(Tensor::zeros([3, 4], &dev()), Tensor::zeros([2], &dev()))
                .is_err()
        );
    }
}
