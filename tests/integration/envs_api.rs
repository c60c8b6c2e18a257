//! The public behaviour of every environment through `rl_core::Env`: construction, spaces,
//! errors, seeding and CartPole-v1's episodes (the memory tasks' own behaviour is in
//! `memory.rs`).

use burn::backend::NdArray;
use burn::tensor::{Bool, Int, Tensor};
use rl_core::{Action, CoreError, Env, EnvConfig, Observation, Space};
use rl_envs::{CartPole, CartPoleNoVelocity, CartPoleV1, MountainCar, Pendulum, Recall};

type B = NdArray<f32>;

fn dev() -> burn::tensor::Device<B> {
    Default::default()
}

/// One environment of each kind, boxed.
fn make(name: &str, num_envs: usize, seed: u64) -> rl_core::Result<Box<dyn Env<B>>> {
    let device = dev();
    Ok(match name {
        "CartPole" => Box::new(CartPole::<B>::new(num_envs, seed, &device)?),
        "CartPole-v1" => Box::new(CartPoleV1::<B>::new(num_envs, seed, &device)?),
        "Pendulum" => Box::new(Pendulum::<B>::new(num_envs, seed, &device)?),
        "MountainCar" => Box::new(MountainCar::<B>::new(num_envs, seed, &device)?),
        "CartPole-v1-NoVelocity" => {
            Box::new(CartPoleNoVelocity::<B>::new(num_envs, seed, &device)?)
        }
        "Recall" => Box::new(Recall::<B>::new(num_envs, seed, &device)?),
        other => panic!("no env {other}"),
    })
}

const NAMES: [&str; 6] = [
    "CartPole",
    "CartPole-v1",
    "Pendulum",
    "MountainCar",
    "CartPole-v1-NoVelocity",
    "Recall",
];

fn features(obs: &Observation<B>) -> Vec<f32> {
    obs.features.clone().into_data().to_vec::<f32>().unwrap()
}

fn bools(t: Tensor<B, 1, Bool>) -> Vec<bool> {
    t.into_data().to_vec::<bool>().unwrap()
}

fn discrete(v: &[i64]) -> Action<B> {
    Tensor::<B, 1, Int>::from_ints(v, &dev())
        .reshape([v.len(), 1])
        .into()
}

fn continuous(v: &[f32]) -> Action<B> {
    Tensor::<B, 1>::from_floats(v, &dev())
        .reshape([v.len(), 1])
        .into()
}

/// A valid action batch for `env` at step `t` (deterministic, varied).
fn valid_action(env: &dyn Env<B>, t: usize) -> Action<B> {
    let n = env.num_envs();
    match env.action_space().num_categories() {
        Some(k) => {
            let v: Vec<i64> = (0..n).map(|i| ((i * 7 + t * 3) % k[0]) as i64).collect();
            discrete(&v)
        }
        None => {
            let v: Vec<f32> = (0..n).map(|i| ((i + t) % 5) as f32 - 2.0).collect();
            continuous(&v)
        }
    }
}

/// The observations and rewards of `steps` steps after a reset, flattened.
fn rollout(env: &mut dyn Env<B>, steps: usize) -> Vec<f32> {
    let mut out = features(&env.reset(None).unwrap());
    for t in 0..steps {
        let tr = env.step(&valid_action(env, t)).unwrap();
        out.extend(features(&tr.obs));
        out.extend(tr.reward.into_data().to_vec::<f32>().unwrap());
    }
    out
}

#[test]
fn names_spaces_and_shapes() {
    let expected = [
        ("CartPole", 5, Space::Discrete { n: 3 }),
        ("CartPole-v1", 4, Space::Discrete { n: 2 }),
        ("Pendulum", 3, Space::unbounded(vec![1]).unwrap()),
        ("MountainCar", 2, Space::Discrete { n: 3 }),
        ("CartPole-v1-NoVelocity", 2, Space::Discrete { n: 2 }),
        ("Recall", 3, Space::Discrete { n: 2 }),
    ];
    for (name, obs_dim, action_space) in expected {
        let mut env = make(name, 3, 0).unwrap();
        assert_eq!(env.name(), name);
        assert_eq!(env.num_envs(), 3);
        assert_eq!(
            env.observation_space(),
            &Space::unbounded(vec![obs_dim]).unwrap()
        );
        assert_eq!(env.action_space(), &action_space);
        let obs = env.reset(None).unwrap();
        assert_eq!(obs.features.dims(), [3, obs_dim]);
        obs.check_finite("obs").unwrap();
        let t = env.step(&valid_action(env.as_ref(), 0)).unwrap();
        assert_eq!(t.obs.features.dims(), [3, obs_dim]);
        assert_eq!(t.reward.dims(), [3]);
        assert_eq!(t.terminated.dims(), [3]);
        assert_eq!(t.truncated.dims(), [3]);
    }
    assert_eq!(CartPole::<B>::MAX_HORIZON, 128);
    assert_eq!(Pendulum::<B>::MAX_HORIZON, 512);
    assert_eq!(MountainCar::<B>::MAX_HORIZON, 512);
    assert_eq!(CartPoleV1::<B>::MAX_EPISODE_STEPS, 500);
    assert_eq!(Recall::<B>::DEFAULT_LENGTH, 4);
}

#[test]
fn zero_envs_is_an_error() {
    for name in NAMES {
        assert!(
            matches!(make(name, 0, 0), Err(CoreError::Env { env, .. }) if env == name),
            "{name}"
        );
    }
}

#[test]
fn step_before_reset_is_an_error() {
    for name in NAMES {
        let mut env = make(name, 2, 0).unwrap();
        let action = valid_action(env.as_ref(), 0);
        assert!(
            matches!(env.step(&action), Err(CoreError::Env { message, .. }) if message.contains("before reset")),
            "{name}"
        );
    }
}

#[test]
fn bad_actions_are_errors() {
    for name in [
        "CartPole",
        "CartPole-v1",
        "MountainCar",
        "CartPole-v1-NoVelocity",
        "Recall",
    ] {
        let mut env = make(name, 2, 0).unwrap();
        env.reset(None).unwrap();
        let n = env.action_space().num_categories().unwrap()[0] as i64;
        assert!(matches!(
            env.step(&continuous(&[0.0, 1.0])),
            Err(CoreError::ActionKind {
                expected: "discrete",
                actual: "continuous"
            })
        ));
        assert!(matches!(
            env.step(&discrete(&[0, 1, 0])),
            Err(CoreError::Shape { actual, .. }) if actual == vec![3, 1]
        ));
        let wide: Action<B> = Tensor::<B, 2, Int>::from_ints([[0, 1], [1, 0]], &dev()).into();
        assert!(matches!(env.step(&wide), Err(CoreError::Shape { .. })));
        match env.step(&discrete(&[0, n])) {
            Err(CoreError::Space { reason, .. }) => assert!(reason.contains("row 1"), "{reason}"),
            other => panic!("{name}: action {n} gave {other:?}"),
        }
        assert!(matches!(
            env.step(&discrete(&[-1, 0])),
            Err(CoreError::Space { .. })
        ));
        // A refused action leaves the environment usable.
        assert!(env.step(&discrete(&[0, 1])).is_ok());
    }
    let mut env = make("Pendulum", 2, 0).unwrap();
    env.reset(None).unwrap();
    assert!(matches!(
        env.step(&discrete(&[0, 1])),
        Err(CoreError::ActionKind {
            expected: "continuous",
            actual: "discrete"
        })
    ));
    assert!(matches!(
        env.step(&continuous(&[0.0])),
        Err(CoreError::Shape { .. })
    ));
    assert!(matches!(
        env.step(&continuous(&[f32::NAN, 0.0])),
        Err(CoreError::NonFinite { index: 0, .. })
    ));
}

#[test]
fn non_finite_config_names_the_key() {
    let keys = [
        ("CartPole", "gravity"),
        ("CartPole", "pole_mass"),
        ("CartPole-v1", "tau"),
        ("Pendulum", "dt"),
        ("MountainCar", "goal_velocity"),
        ("CartPole-v1-NoVelocity", "masspole"),
        ("Recall", "length"),
    ];
    for (name, key) in keys {
        let mut env = make(name, 2, 0).unwrap();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let config = EnvConfig::from([(key.to_string(), bad)]);
            assert!(
                matches!(
                    env.reset(Some(&config)),
                    Err(CoreError::Env { env, message }) if env == name && message.contains(key)
                ),
                "{name} {key} {bad}"
            );
        }
        // Unknown keys are ignored.
        let config = EnvConfig::from([("no_such_key".to_string(), f64::NAN)]);
        assert!(env.reset(Some(&config)).is_ok());
    }
}

#[test]
fn same_seed_same_trajectories_other_seed_other() {
    for name in NAMES {
        let run = |seed| rollout(make(name, 6, seed).unwrap().as_mut(), 60);
        let a = run(11);
        assert_eq!(a, run(11), "{name}");
        assert_ne!(a, run(12), "{name}");
        // A second reset of the same env draws new states.
        let mut env = make(name, 6, 11).unwrap();
        let first = features(&env.reset(None).unwrap());
        assert_ne!(first, features(&env.reset(None).unwrap()), "{name}");
    }
}

#[test]
fn infinite_horizon_envs_never_finish() {
    for name in ["CartPole", "Pendulum", "MountainCar"] {
        let mut env = make(name, 8, 1).unwrap();
        env.reset(None).unwrap();
        for t in 0..600 {
            let tr = env.step(&valid_action(env.as_ref(), t)).unwrap();
            assert!(!bools(tr.done()).contains(&true), "{name} step {t}");
            assert!(tr.final_obs.is_none());
        }
    }
}

#[test]
fn cartpole_v1_episodes() {
    let n = 16;
    let mut env = CartPoleV1::<B>::new(n, 3, &dev()).unwrap();
    let mut obs = features(&env.reset(None).unwrap());
    let mut lengths = vec![0usize; n];
    let mut finished = 0;
    for t in 0..400 {
        let tr = env.step(&valid_action(&env, t)).unwrap();
        assert_eq!(
            tr.reward.clone().into_data().to_vec::<f32>().unwrap(),
            vec![1.0; n]
        );
        let terminated = bools(tr.terminated.clone());
        let done = bools(tr.done());
        let next = features(&tr.obs);
        assert_eq!(tr.final_obs.is_some(), done.contains(&true));
        let reached = tr.final_obs.as_ref().map_or(next.clone(), features);
        for row in 0..n {
            lengths[row] += 1;
            let (r, s) = (&reached[4 * row..4 * row + 4], &next[4 * row..4 * row + 4]);
            // Terminated exactly when the reached state is out of bounds.
            let out = r[0].abs() > 2.4 || f64::from(r[2].abs()) > 12f64.to_radians();
            assert_eq!(terminated[row], out, "row {row} at {t}: {r:?}");
            if done[row] {
                assert!(s.iter().all(|v| v.abs() < 0.05), "fresh state {s:?}");
                lengths[row] = 0;
                finished += 1;
            } else {
                assert_eq!(r, s);
            }
        }
        // Steps continue from the state reached.
        assert!(next.iter().zip(&obs).any(|(a, b)| a != b));
        obs = next;
    }
    assert!(finished > n, "only {finished} episodes finished");
    // No episode ran past the time limit.
    assert!(lengths.iter().all(|&l| l < 500));
}

#[test]
fn cartpole_v1_time_limit_from_config() {
    let mut env = CartPoleV1::<B>::new(4, 0, &dev()).unwrap();
    let config = EnvConfig::from([("max_episode_steps".to_string(), 3.0)]);
    env.reset(Some(&config)).unwrap();
    assert_eq!(env.max_episode_steps(), 3);
    for round in 0..3 {
        for step in 1..=3 {
            let t = env.step(&discrete(&[0, 1, 0, 1])).unwrap();
            assert_eq!(bools(t.truncated), vec![step == 3; 4], "{round} {step}");
            assert_eq!(bools(t.terminated), vec![false; 4]);
        }
    }
    // The limit is not kept by a reset without config.
    env.reset(None).unwrap();
    assert_eq!(env.max_episode_steps(), 500);
}

/// Everything a step reports, flattened (flags as 0 and 1, the final observations if any).
fn step_record(env: &mut dyn Env<B>, t: usize) -> Vec<f32> {
    let tr = env.step(&valid_action(env, t)).unwrap();
    let mut out = features(&tr.obs);
    out.extend(tr.reward.clone().into_data().to_vec::<f32>().unwrap());
    let flags = bools(tr.terminated.clone())
        .into_iter()
        .chain(bools(tr.truncated.clone()));
    out.extend(flags.map(|b| f32::from(u8::from(b))));
    if let Some(f) = &tr.final_obs {
        out.extend(features(f));
    }
    out
}

#[test]
fn a_saved_state_continues_exactly() {
    // A short time limit, so that CartPole-v1's episode counters and resets are in the state.
    let config = EnvConfig::from([("max_episode_steps".to_string(), 9.0)]);
    for name in NAMES {
        let mut env = make(name, 5, 3).unwrap();
        env.reset(Some(&config)).unwrap();
        for t in 0..13 {
            step_record(env.as_mut(), t);
        }
        let saved = env
            .save_state()
            .unwrap()
            .expect("every rl-envs env saves its state");
        let expected: Vec<Vec<f32>> = (13..40).map(|t| step_record(env.as_mut(), t)).collect();
        // Another seed, never reset: all of it comes from the saved state.
        let mut restored = make(name, 5, 99).unwrap();
        restored.load_state(&saved).unwrap();
        let got: Vec<Vec<f32>> = (13..40)
            .map(|t| step_record(restored.as_mut(), t))
            .collect();
        assert_eq!(got, expected, "{name}");
        // A reset draws what the original's reset draws (the generator came back too).
        assert_eq!(
            features(&restored.reset(None).unwrap()),
            features(&env.reset(None).unwrap()),
            "{name}"
        );
        // Another batch size, or bytes that are not a state, are refused.
        let mut other = make(name, 4, 3).unwrap();
        assert!(
            matches!(other.load_state(&saved), Err(CoreError::Env { .. })),
            "{name}"
        );
        assert!(
            matches!(other.load_state(b"junk"), Err(CoreError::Env { .. })),
            "{name}"
        );
        assert!(
            other.step(&valid_action(other.as_ref(), 0)).is_err(),
            "{name}: unchanged"
        );
    }
}
