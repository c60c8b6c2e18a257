//! The memory tasks: `CartPoleNoVelocity` is `CartPoleV1` seen through columns `[x, theta]`,
//! and `Recall`'s cue, query, rewards and episodes.

use burn::backend::NdArray;
use burn::tensor::{Bool, Int, Tensor};
use rl_core::{Action, CoreError, Env, EnvConfig, Observation, Space, Transition};
use rl_envs::{CartPoleNoVelocity, CartPoleV1, Recall};

type B = NdArray<f32>;

fn dev() -> burn::tensor::Device<B> {
    Default::default()
}

fn features(obs: &Observation<B>) -> Vec<f32> {
    obs.features.clone().into_data().to_vec::<f32>().unwrap()
}

fn floats(t: Tensor<B, 1>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().unwrap()
}

fn bools(t: Tensor<B, 1, Bool>) -> Vec<bool> {
    t.into_data().to_vec::<bool>().unwrap()
}

fn discrete(v: &[i64]) -> Action<B> {
    Tensor::<B, 1, Int>::from_ints(v, &dev())
        .reshape([v.len(), 1])
        .into()
}

fn config(key: &str, value: f64) -> EnvConfig {
    EnvConfig::from([(key.to_string(), value)])
}

/// Columns 0 and 2 (`x`, `theta`) of CartPole-v1 observation rows.
fn positions(full: &[f32]) -> Vec<f32> {
    full.chunks(4).flat_map(|r| [r[0], r[2]]).collect()
}

#[test]
fn no_velocity_is_cartpole_v1_without_velocity_columns() {
    let (n, seed) = (12, 9);
    let mut full = CartPoleV1::<B>::new(n, seed, &dev()).unwrap();
    let mut part = CartPoleNoVelocity::<B>::new(n, seed, &dev()).unwrap();
    assert_eq!(part.name(), "CartPole-v1-NoVelocity");
    assert_eq!(
        part.observation_space(),
        &Space::unbounded(vec![2]).unwrap()
    );
    assert_eq!(part.action_space(), &Space::Discrete { n: 2 });
    let limit = config("max_episode_steps", 40.0);
    let first = features(&part.reset(Some(&limit)).unwrap());
    assert_eq!(part.max_episode_steps(), 40);
    assert_eq!(
        first,
        positions(&features(&full.reset(Some(&limit)).unwrap()))
    );
    let (mut terminations, mut truncations) = (0, 0);
    for t in 0..400 {
        // Even rows always push right (the pole falls), odd rows alternate (they run long).
        let actions: Vec<i64> = (0..n)
            .map(|row| if row % 2 == 0 { 1 } else { (t % 2) as i64 })
            .collect();
        let a = full.step(&discrete(&actions)).unwrap();
        let b = part.step(&discrete(&actions)).unwrap();
        assert_eq!(b.obs.features.dims(), [n, 2]);
        assert_eq!(features(&b.obs), positions(&features(&a.obs)), "step {t}");
        assert_eq!(floats(b.reward), floats(a.reward));
        let terminated = bools(a.terminated);
        let truncated = bools(a.truncated);
        assert_eq!(bools(b.terminated), terminated);
        assert_eq!(bools(b.truncated), truncated);
        match (a.final_obs, b.final_obs) {
            (None, None) => {}
            (Some(fa), Some(fb)) => {
                assert_eq!(fb.features.dims(), [n, 2]);
                assert_eq!(features(&fb), positions(&features(&fa)), "step {t}");
            }
            (fa, fb) => panic!(
                "step {t}: final_obs {:?} vs {:?}",
                fa.is_some(),
                fb.is_some()
            ),
        }
        terminations += terminated.iter().filter(|&&d| d).count();
        truncations += truncated.iter().filter(|&&d| d).count();
    }
    assert!(terminations > n, "{terminations} terminations");
    assert!(truncations > 0, "no truncation");
}

/// Checks one Recall step's reward, flags and `final_obs`: the step answering observation `k`
/// (0-based) of episodes of `length` steps with cues `cues`.
fn check_recall_step(t: &Transition<B>, k: u32, length: u32, cues: &[i64], actions: &[i64]) {
    let n = cues.len();
    let last = k == length - 1;
    let reward = floats(t.reward.clone());
    for row in 0..n {
        let expected = match (last, actions[row] == cues[row]) {
            (false, _) => 0.0,
            (true, true) => 1.0,
            (true, false) => -1.0,
        };
        assert_eq!(reward[row], expected, "row {row} at {k}");
    }
    assert_eq!(bools(t.terminated.clone()), vec![last; n]);
    assert_eq!(bools(t.truncated.clone()), vec![false; n]);
    match &t.final_obs {
        Some(f) => {
            assert!(last, "final_obs at {k}");
            assert_eq!(features(f), vec![0.0; 3 * n]);
        }
        None => assert!(!last, "no final_obs at {k}"),
    }
}

/// The cue of each row of an episode's first observation, checking its one-hot layout.
fn cues_of(first: &[f32]) -> Vec<i64> {
    first
        .chunks(3)
        .map(|r| match r {
            [1.0, 0.0, 0.0] => 0,
            [0.0, 1.0, 0.0] => 1,
            other => panic!("not a cue observation: {other:?}"),
        })
        .collect()
}

#[test]
fn recall_cue_query_rewards_and_episodes() {
    let (n, length) = (32, 5);
    let mut env = Recall::<B>::new(n, 4, &dev()).unwrap();
    assert_eq!(env.name(), "Recall");
    let mut obs = features(&env.reset(Some(&config("length", 5.0))).unwrap());
    assert_eq!(env.length(), length);
    let (mut rights, mut wrongs) = (0, 0);
    let mut episodes_cues = Vec::new();
    for episode in 0..6 {
        let cues = cues_of(&obs);
        // Both cues occur across the batch in every episode.
        assert!(cues.contains(&0) && cues.contains(&1), "{cues:?}");
        episodes_cues.push(cues.clone());
        for k in 0..length {
            if k > 0 {
                let expected: &[f32] = if k == length - 1 {
                    &[0.0, 0.0, 1.0]
                } else {
                    &[0.0; 3]
                };
                assert_eq!(obs, expected.repeat(n), "episode {episode} step {k}");
            }
            let actions: Vec<i64> = (0..n).map(|row| ((row + episode) % 2) as i64).collect();
            let t = env.step(&discrete(&actions)).unwrap();
            check_recall_step(&t, k, length, &cues, &actions);
            let reward = floats(t.reward.clone());
            rights += reward.iter().filter(|&&r| r == 1.0).count();
            wrongs += reward.iter().filter(|&&r| r == -1.0).count();
            obs = features(&t.obs);
        }
    }
    assert!(rights > 0 && wrongs > 0);
    assert_eq!(rights + wrongs, 6 * n);
    // Auto-resets draw new cues.
    assert!(episodes_cues.windows(2).all(|w| w[0] != w[1]));
}

#[test]
fn recall_default_length_and_config_checks() {
    let mut env = Recall::<B>::new(3, 0, &dev()).unwrap();
    env.reset(Some(&config("length", 2.0))).unwrap();
    assert_eq!(env.length(), 2);
    env.reset(None).unwrap();
    assert_eq!(env.length(), 4);
    for step in 1..=12 {
        let t = env.step(&discrete(&[0, 1, 0])).unwrap();
        assert_eq!(bools(t.terminated), vec![step % 4 == 0; 3], "step {step}");
    }
    for bad in [1.0, 0.0, -2.0, 2.5, f64::NAN, f64::INFINITY, 1e12] {
        assert!(
            matches!(
                env.reset(Some(&config("length", bad))),
                Err(CoreError::Env { env, message }) if env == "Recall" && message.contains("length")
            ),
            "length {bad}"
        );
    }
    env.reset(Some(&config("unknown", f64::NAN))).unwrap();
}

#[test]
fn recall_remembering_earns_one_and_a_constant_answer_zero() {
    let n = 2000;
    let mut env = Recall::<B>::new(n, 1, &dev()).unwrap();
    let mut obs = features(&env.reset(None).unwrap());
    let (mut memory, mut constant) = (0.0, 0.0);
    for episode in 0..4 {
        let cues = cues_of(&obs);
        for k in 0..4 {
            // Even episodes: answer the remembered cue; odd ones: always answer 1.
            let actions = if episode % 2 == 0 {
                cues.clone()
            } else {
                vec![1; n]
            };
            let t = env.step(&discrete(&actions)).unwrap();
            let total: f32 = floats(t.reward).iter().sum();
            if episode % 2 == 0 {
                memory += total;
            } else {
                constant += total;
            }
            if k < 3 {
                assert_eq!(total, 0.0);
            }
            obs = features(&t.obs);
        }
    }
    let per_episode = |total: f32| total / (2 * n) as f32;
    assert_eq!(per_episode(memory), 1.0);
    assert!(per_episode(constant).abs() < 0.1, "{constant}");
}

#[test]
fn recall_same_seed_same_cues() {
    let cues = |seed| {
        let mut env = Recall::<B>::new(16, seed, &dev()).unwrap();
        let mut all = cues_of(&features(&env.reset(None).unwrap()));
        for _ in 0..3 {
            let mut t = None;
            for _ in 0..4 {
                t = Some(env.step(&discrete(&[0; 16])).unwrap());
            }
            all.extend(cues_of(&features(&t.unwrap().obs)));
        }
        all
    };
    assert_eq!(cues(5), cues(5));
    assert_ne!(cues(5), cues(6));
}
