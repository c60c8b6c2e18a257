//! Gymnasium's own trajectories (`testdata/gymnasium.json`, written by Gymnasium's environments
//! with `testdata/make_gymnasium_goldens.py`), replayed step by step: the same initial state and
//! actions give the same observations, rewards and terminations.

use rl_core::{Action, Env};
use serde::Deserialize;

use crate::common::Persist;
use crate::common::testing::*;
use crate::{AcrobotV1, MountainCarContinuousV0, MountainCarV0, PendulumV1};

#[derive(Deserialize)]
struct Goldens {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    env: String,
    state: Vec<f64>,
    actions: Vec<f64>,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    obs: Vec<f64>,
    reward: f64,
    terminated: bool,
}

/// Replays `case` on `env` (one environment), `action` making each step's action.
fn replay<E: Env<B> + Persist<B>>(env: E, case: &Case, action: impl Fn(f64) -> Action<B>) {
    let mut env = with_state(env, &case.state);
    for (t, (step, &a)) in case.steps.iter().zip(&case.actions).enumerate() {
        let what = format!("{} from {:?}, step {t}", case.env, case.state);
        let out = env.step(&action(a)).unwrap();
        let terminated = bools(out.terminated.clone())[0];
        assert_eq!(terminated, step.terminated, "{what}");
        assert!(!bools(out.truncated.clone())[0], "{what}");
        // A terminated row is redrawn at once; its last observation is the final one.
        let obs = match (&out.final_obs, terminated) {
            (Some(f), true) => features(f),
            _ => features(&out.obs),
        };
        // Gymnasium's continuous car rounds its state to f32 after every step; ours is f64.
        assert_close(&obs, &step.obs, 2e-5);
        assert_close(&floats(out.reward), &[step.reward], 2e-5);
    }
}

#[test]
fn gymnasium_trajectories_replay_step_by_step() {
    let goldens: Goldens =
        serde_json::from_str(include_str!("../testdata/gymnasium.json")).unwrap();
    let mut seen = [0; 4];
    for case in &goldens.cases {
        match case.env.as_str() {
            "Pendulum-v1" => {
                replay(PendulumV1::new(1, 0, &dev()).unwrap(), case, |a| {
                    continuous(&[a as f32])
                });
                seen[0] += 1;
            }
            "MountainCar-v0" => {
                replay(MountainCarV0::new(1, 0, &dev()).unwrap(), case, |a| {
                    discrete(&[a as i64])
                });
                seen[1] += 1;
            }
            "MountainCarContinuous-v0" => {
                replay(
                    MountainCarContinuousV0::new(1, 0, &dev()).unwrap(),
                    case,
                    |a| continuous(&[a as f32]),
                );
                seen[2] += 1;
            }
            "Acrobot-v1" => {
                replay(AcrobotV1::new(1, 0, &dev()).unwrap(), case, |a| {
                    discrete(&[a as i64])
                });
                seen[3] += 1;
            }
            other => panic!("no environment for {other}"),
        }
    }
    assert_eq!(seen, [3, 3, 3, 3]);
}
