"""Checks that two runs wrote the same metrics.csv: every column but the timings (wall time,
throughput, collect and step milliseconds), cell for cell (a resumed run must repeat an
uninterrupted one exactly).

python3 .ci/same_metrics.py RUN_DIR_A RUN_DIR_B
"""
import csv
import sys
from pathlib import Path

SKIP = {"wall_s", "transitions_per_s", "collect_ms", "step_ms"}


def rows(run_dir):
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


a, b = rows(sys.argv[1]), rows(sys.argv[2])
if len(a) != len(b):
    sys.exit(f"{len(a)} rows against {len(b)}")
for i, (x, y) in enumerate(zip(a, b)):
    for key in x:
        if key not in SKIP and x[key] != y.get(key):
            sys.exit(f"row {i}, column {key}: {x[key]} against {y.get(key)}")
print(f"{len(a)} rows, {len(a[0]) - len(SKIP)} columns equal")
