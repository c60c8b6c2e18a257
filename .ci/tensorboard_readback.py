"""Reads a run's TensorBoard event file back with TensorBoard's own reader and checks it
against the run's metrics.csv: one scalar per update for each statistic, at the update's
environment steps, equal to the CSV's value (as float32, TensorBoard's scalar type).

    python3 .ci/tensorboard_readback.py OUT_DIR
"""
import csv
import math
import struct
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

# CSV column -> TensorBoard tag (the statistic's key), for the columns every PPO run fills.
COLUMNS = {
    "episode_return_mean": "episode/return_mean",
    "loss_policy": "losses/policy",
    "loss_value": "losses/vf",
    "loss_total": "losses/total",
    "approx_kl": "monitors/kl_div",
    "learning_rate": "coefficients/learning_rate",
    "wall_s": "time/wall_s",
}


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def main(out_dir):
    rows = list(csv.DictReader(open(f"{out_dir}/metrics.csv")))
    acc = EventAccumulator(out_dir, size_guidance={"scalars": 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert len(rows) > 0, "no rows in metrics.csv"
    for column, tag in COLUMNS.items():
        assert tag in tags, f"tag {tag} missing; tags: {sorted(tags)}"
        events = acc.Scalars(tag)
        assert len(events) == len(rows), f"{tag}: {len(events)} events, {len(rows)} rows"
        for i, (event, row) in enumerate(zip(events, rows)):
            assert event.step == int(float(row["env_steps"])), (tag, i, event.step, row["env_steps"])
            want = f32(float(row[column]))
            same = event.value == want or (math.isnan(event.value) and math.isnan(want))
            assert same, f"{tag} row {i}: {event.value} in the event file, {want} in the CSV"
    print(f"tensorboard read-back: {len(tags)} tags, {len(rows)} updates, "
          f"{len(COLUMNS)} columns equal to metrics.csv")


if __name__ == "__main__":
    main(sys.argv[1])
