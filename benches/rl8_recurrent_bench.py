#!/usr/bin/env python3
"""rl8's side of `cargo bench --bench ppo -- --only recurrent`: rl8's RecurrentAlgorithm (LSTM of
`--hidden`) and feed-forward Algorithm (`--hidden` x `--hidden`) on rl8's CartPole example env,
1024 environments x 32 steps and rl8's defaults otherwise; prints and writes the medians of
`--updates` collect and step times (ms) after one warm-up update.

Usage:
    python rl8_recurrent_bench.py --examples-dir <rl8 checkout>/examples --out rl8_recurrent.json
"""
import argparse
import json
import os
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples-dir", required=True, help="rl8 repository's examples/ directory")
    ap.add_argument("--num-envs", type=int, default=1024)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--updates", type=int, default=3)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import torch

    torch.manual_seed(0)
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.examples_dir)))
    from examples.cartpole.env import CartPole
    from rl8 import AlgorithmConfig, RecurrentAlgorithmConfig

    common = dict(horizon=32, num_envs=args.num_envs, device="cpu", enable_amp=False)
    configs = {
        "recurrent": RecurrentAlgorithmConfig(model_config={"hidden_size": args.hidden}, **common),
        "feedforward": AlgorithmConfig(model_config={"hiddens": (args.hidden, args.hidden)}, **common),
    }
    out = {}
    for name, config in configs.items():
        algo = config.build(CartPole)
        algo.collect()
        algo.step()
        collect, step = [], []
        for _ in range(args.updates):
            t = time.perf_counter()
            algo.collect()
            collect.append((time.perf_counter() - t) * 1e3)
            t = time.perf_counter()
            algo.step()
            step.append((time.perf_counter() - t) * 1e3)
        out[name] = {
            "collect_ms": statistics.median(collect),
            "step_ms": statistics.median(step),
            "transitions": args.num_envs * 32,
        }
        print(name, out[name], flush=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
