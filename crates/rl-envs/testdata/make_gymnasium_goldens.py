"""Golden trajectories of Gymnasium's classic-control tasks, for rl-envs' tests.

Runs Gymnasium's own environments (no TimeLimit: `unwrapped`) from set initial states under
seeded action sequences and writes every step's observation, reward and termination flag to
`gymnasium.json` beside this file. Regenerate with:

    pip install "gymnasium>=1.0" numpy
    python3 crates/rl-envs/testdata/make_gymnasium_goldens.py [OUT.json]

CI writes them again with the Gymnasium pip installs and checks them against the committed
file (`same_goldens.py`), so the committed trajectories are Gymnasium's and the Rust replay
(`src/goldens.rs`) follows them.

The committed file was written by Gymnasium at commit 3f0476a8c (its main branch, 2026) with
NumPy 2.4.
"""

import json
import pathlib
import sys

import gymnasium as gym
import numpy as np

STEPS = 60


def run(env_id, state, actions):
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    env.state = np.array(state, dtype=np.float64)
    steps = []
    for a in actions:
        obs, reward, terminated, _, _ = env.step(a)
        steps.append(
            {
                "obs": [float(x) for x in np.asarray(obs, dtype=np.float32)],
                "reward": float(reward),
                "terminated": bool(terminated),
            }
        )
        if terminated:
            break
    return steps


def main():
    rng = np.random.default_rng(7)
    cases = []
    for state in [[1.0, 0.0], [-2.5, 3.0], [3.1, -7.5]]:
        torques = rng.uniform(-2.0, 2.0, size=STEPS).astype(np.float32)
        actions = [np.array([t], dtype=np.float32) for t in torques]
        cases.append(
            {
                "env": "Pendulum-v1",
                "state": state,
                "actions": [float(t) for t in torques],
                "steps": run("Pendulum-v1", state, actions),
            }
        )
    for state in [[-0.5, 0.0], [-1.1, -0.03], [0.3, 0.04]]:
        pushes = rng.integers(0, 3, size=STEPS)
        if state[0] > 0:
            pushes[:] = 2  # straight to the goal: a terminating episode
        cases.append(
            {
                "env": "MountainCar-v0",
                "state": state,
                "actions": [int(p) for p in pushes],
                "steps": run("MountainCar-v0", state, [int(p) for p in pushes]),
            }
        )
        forces = rng.uniform(-1.0, 1.0, size=STEPS).astype(np.float32)
        if state[0] > 0:
            forces[:] = 1.0
        cases.append(
            {
                "env": "MountainCarContinuous-v0",
                "state": state,
                "actions": [float(f) for f in forces],
                "steps": run(
                    "MountainCarContinuous-v0",
                    state,
                    [np.array([f], dtype=np.float32) for f in forces],
                ),
            }
        )
    # The last one starts with the tip high: it terminates within a few steps.
    for state in [[0.05, -0.08, 0.02, 0.1], [1.0, -0.5, 2.0, -3.0], [2.6, 0.3, 0.5, 0.5]]:
        torques = rng.integers(0, 3, size=STEPS)
        cases.append(
            {
                "env": "Acrobot-v1",
                "state": state,
                "actions": [int(t) for t in torques],
                "steps": run("Acrobot-v1", state, [int(t) for t in torques]),
            }
        )
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).with_name("gymnasium.json")
    out.write_text(json.dumps({"gymnasium_commit": "3f0476a8c", "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
