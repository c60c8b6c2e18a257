"""Checks two golden files of `make_gymnasium_goldens.py` against each other: the committed one
and one just written by the Gymnasium pip installed. Every case, step, observation, reward and
termination flag must agree (floats to 1e-6 relative, 1e-6 absolute: NumPy versions may round
the last f32 bit differently).

    python3 crates/rl-envs/testdata/same_goldens.py COMMITTED.json FRESH.json
"""

import json
import math
import sys


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def main():
    committed, fresh = (json.load(open(p))["cases"] for p in sys.argv[1:3])
    if len(committed) != len(fresh):
        sys.exit(f"{len(committed)} committed cases, {len(fresh)} fresh ones")
    steps = 0
    for i, (c, f) in enumerate(zip(committed, fresh)):
        name = c.get("env", i)
        if c.get("env") != f.get("env") or len(c["steps"]) != len(f["steps"]):
            sys.exit(f"case {name}: the cases differ in kind or length")
        for t, (a, b) in enumerate(zip(c["steps"], f["steps"])):
            same = (
                a["terminated"] == b["terminated"]
                and close(a["reward"], b["reward"])
                and len(a["obs"]) == len(b["obs"])
                and all(close(x, y) for x, y in zip(a["obs"], b["obs"]))
            )
            if not same:
                sys.exit(f"case {name}, step {t}: committed {a}, Gymnasium now {b}")
            steps += 1
    print(f"{len(committed)} cases, {steps} steps: the committed goldens are Gymnasium's")


if __name__ == "__main__":
    main()
