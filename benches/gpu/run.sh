#!/usr/bin/env bash
# PPO on a GPU through wgpu, from a prebuilt `rl` binary: no Rust toolchain and no network
# needed on the GPU machine (build `cargo build --release -p rl-cli --features wgpu-fusion`
# elsewhere, or `--features wgpu` for Burn's unfused kernels, and copy `target/release/rl`,
# with the Vulkan loader if the machine has none).
#
#   benches/gpu/run.sh RL_BINARY OUT_DIR
#
# Prints, for the wgpu backend and for ndarray on the same machine's CPU:
#   0. throughput of rl8's CartPole on the device (`--env CartPole-device`: environment, policy
#      and rollout stay on the GPU; one read per collect and one per update) at 1,024 / 4,096 /
#      16,384 envs x 64 steps, with 64x64 and 256x256 models, rl8's update;
#   1. (wgpu only) throughput of rl8's CartPole task (host environments: every env step uploads the
#      observation and reads the action back) at 1,024 / 4,096 / 16,384 envs x 64 steps, with
#      64x64 and 256x256 models, rl8's update (the whole buffer as one minibatch, 4 epochs):
#      transitions per second of collect + update, over the updates after the first (which
#      compiles the kernels), and the update's median milliseconds and achieved GFLOP/s;
#   2. Gym CartPole-v1 (examples/configs/cartpole.toml) to a mean return of 475: env steps and
#      wall seconds.
# Each run is bounded by a timeout; a run that hits it prints what it reached. UPDATES,
# RUN_TIMEOUT (seconds) and ENVS override the defaults; SWEEPS (default "device host cartpole")
# picks the tables and DEVICE_BACKENDS (default "wgpu ndarray") the backends of table 0, so a
# short GPU lease can run `SWEEPS=device DEVICE_BACKENDS=wgpu` alone.
set -uo pipefail
rl="$1"
out="$2"
cd "$(dirname "$0")/../.."
mkdir -p "$out"
UPDATES="${UPDATES:-4}"
# The batch sizes of the sweeps (`ENVS="64 256"` for a quick check on a software renderer).
ENVS="${ENVS:-1024 4096 16384}"
RUN_TIMEOUT="${RUN_TIMEOUT:-60}"
SWEEPS="${SWEEPS:-device host cartpole}"
DEVICE_BACKENDS="${DEVICE_BACKENDS:-wgpu ndarray}"
# `wanted NAME`: whether SWEEPS names the table NAME.
wanted() { case " $SWEEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# `rate DIR HIDDEN`: transitions per second over the updates after the first, from
# metrics.csv, and the update's median milliseconds and achieved GFLOP/s. FLOP of an update =
# 4 epochs (rl8's) x samples x 3 (forward + backward) x 2 x the multiply-adds of one sample's
# forward pass through the policy (4 -> h -> h -> 2) and value (4 -> h -> h -> 1) networks,
# biases not counted (as benches/ppo.rs).
rate() {
    awk -F, -v h="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { n++; steps[n] = $col["env_steps"]; wall[n] = $col["wall_s"]; step_ms[n] = $col["step_ms"] }
        END {
            if (n < 2) { printf "n/a (%d update(s) before the timeout) | | |\n", n; exit }
            # Insertion sort of the updates after the first (mawk has no asort).
            k = 0
            for (i = 2; i <= n; i++) {
                x = step_ms[i]; j = k
                while (j > 0 && ms[j] > x) { ms[j + 1] = ms[j]; j-- }
                ms[j + 1] = x; k++
            }
            median = (k % 2) ? ms[(k + 1) / 2] : (ms[k / 2] + ms[k / 2 + 1]) / 2
            samples = steps[2] - steps[1]
            macs = 2 * (4 * h + h * h) + 2 * h + h
            gflop = 4 * samples * 3 * 2 * macs / 1e9
            printf "%.0f tr/s (%d updates, %.2f s each) | %.0f | %.1f |\n", (steps[n] - steps[1]) / (wall[n] - wall[1]), n, (wall[n] - wall[1]) / (n - 1), median, gflop / (median / 1e3)
        }' "$1/metrics.csv" 2>/dev/null || echo "no metrics | | |"
}

# `sweep TITLE ENV BACKENDS`: the throughput table of rl8's CartPole run file on environment
# ENV, for each of BACKENDS.
sweep() {
    echo "## $1, collect + update (transitions/s after the first update); the update alone"
    echo "| backend | envs | model | rate | update ms (median) | update GFLOP/s |"
    echo "|---|---:|---|---|---:|---:|"
    for backend in $3; do
        for hidden in 64,64 256,256; do
            for envs in $ENVS; do
                # ndarray on the largest batch takes minutes per update: skipped.
                if [ "$backend" = ndarray ] && [ "$envs" = 16384 ]; then continue; fi
                dir="$out/$2-$backend-$envs-${hidden/,/x}"
                timeout "$RUN_TIMEOUT" "$rl" train examples/configs/cartpole_rl8.toml --env "$2" \
                    --backend "$backend" --num-envs "$envs" --hidden "$hidden" \
                    --max-updates "$UPDATES" --out "$dir" >"$dir.log" 2>&1
                echo "| $backend | $envs | ${hidden/,/x} | $(rate "$dir" "${hidden%%,*}")"
            done
        done
    done
    echo
}

wanted device && sweep "rl8's CartPole on the device" CartPole-device "$DEVICE_BACKENDS"
wanted host && sweep "rl8's CartPole, host envs" CartPole wgpu
wanted cartpole || exit 0
echo "## Gym CartPole-v1 to a mean return of 475 (examples/configs/cartpole.toml), host and device envs"
for run in wgpu:CartPole-v1 wgpu:CartPole-v1-device ndarray:CartPole-v1; do
    backend="${run%%:*}"
    dir="$out/cartpole-$backend-${run#*:}"
    start=$(date +%s%N)
    timeout "$((RUN_TIMEOUT * 2))" "$rl" train examples/configs/cartpole.toml --backend "$backend" \
        --env "${run#*:}" --out "$dir" >"$dir.log" 2>&1
    end=$(date +%s%N)
    last=$(tail -n 1 "$dir/metrics.csv" 2>/dev/null | cut -d, -f1-3)
    echo "$run: $(tail -n 1 "$dir.log" | cut -c1-80); env_steps,wall_s,return = $last; process $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s"
done
