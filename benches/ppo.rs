//! End-to-end PPO on the CPU backends, printed as markdown tables:
//!
//! 1. `throughput`: collect and update speed on rl8's CartPole, 1024 environments x 64 steps
//!    (65,536 transitions per update), compared with rl8's own run when its JSON is given;
//! 2. `flops`: the update's achieved GFLOP/s beside a large matrix product's;
//! 3. `cartpole`: wall time to solve Gym CartPole-v1 (mean episode return >= 475), per seed;
//! 4. `rl8task`: wall time for rl8's CartPole example to reach `returns/mean >= -20`, against
//!    rl8's own time on this machine;
//! 5. `recurrent`: recurrent PPO's collect and update speed (LSTM 64 and GRU 64, 1024
//!    environments x 32 steps), beside feed-forward PPO (64x64) on the same buffer;
//! 6. `novelocity`: env steps and wall time for recurrent PPO to solve CartPole-v1 without
//!    velocities (mean episode return >= 475), per seed.
//!
//! ```text
//! cargo bench --bench ppo --features flex
//! cargo bench --bench ppo --features flex -- --only throughput --updates 5
//! RL8_JSON_256=rl8_1024_256x256.json RL8_JSON_64=rl8_1024_64x64.json cargo bench --bench ppo
//! ```
//!
//! Flags: `--only throughput|flops|cartpole|rl8task|recurrent|novelocity`, `--seeds N` (sections
//! 3 and 6, default 5 and 3), `--updates N` (timed updates of sections 1, 2 and 5, default 3),
//! `--backend ndarray|flex` (only that one), `--device-env` (sections 1 and 2 on rl8's CartPole
//! as tensor operations, `DeviceCartPole`, instead of the host version). Unknown flags are
//! ignored.
//! `RL8_JSON_256` / `RL8_JSON_64` name JSON files written by rl8's baseline script
//! (`run_rl8.sh`), for the hidden sizes 256x256 and 64x64.

mod common;
/// The examples' run files (the file the tests include too).
#[path = "../examples/configs/mod.rs"]
#[allow(dead_code)]
mod configs;

use std::error::Error;
use std::process::Command;
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use common::{MATMUL_N, MatmulSpeed};
use configs::CARTPOLE_TARGET;
use rl::algo::{AlgorithmConfig, Minibatch, PpoConfig, Trainable};
use rl_envs::{CartPole, CartPoleNoVelocity, CartPoleV1, DeviceCartPole};

type Res<T> = Result<T, Box<dyn Error>>;

/// Environments of the throughput section (x horizon 64 = 65,536 transitions per update).
const THROUGHPUT_ENVS: usize = 1024;
/// Hidden widths of the throughput and FLOP sections (two layers each).
const THROUGHPUT_HIDDENS: [usize; 2] = [256, 64];
/// rl8's CartPole: observation features and actions, for the FLOP count.
const OBS: usize = 5;
const ACTIONS: usize = 3;
/// Section 3 gives up after this many updates.
const SOLVE_MAX_UPDATES: usize = 1000;
/// Section 5: environments x horizon of both algorithms, and the hidden width.
const RECURRENT_ENVS: usize = 1024;
const RECURRENT_HORIZON: usize = 32;
const RECURRENT_HIDDEN: usize = 64;
/// Section 6 gives up after this many env steps.
const NOVELOCITY_MAX_STEPS: usize = 2_000_000;
/// Section 4's target `returns/mean` and its limits.
const TASK_TARGET: f64 = -20.0;
const TASK_MAX_UPDATES: usize = 60;
const TASK_MAX_SECONDS: f64 = 120.0;
/// rl8's own run of its CartPole example on this machine (256 envs, 2 torch threads, quiet;
/// `../shared/reference/rl8_cartpole_cpu.md`, beside the repository).
const RL8_40_UPDATES_S: f64 = 37.8;
const RL8_BEFORE: (u32, f64, f64) = (15, -23.4, 12.9); // (update, returns/mean, wall s)
const RL8_AFTER: (u32, f64, f64) = (20, -18.9, 17.7);
/// rl8's time to `returns/mean >= -20`, interpolated between `RL8_BEFORE` and `RL8_AFTER`.
const RL8_TIME_TO_TARGET_S: f64 = 16.7;

fn main() -> Res<()> {
    let args = Args::parse();
    print_header();
    if args.runs("throughput") || args.runs("flops") {
        let task = Throughput {
            updates: args.updates,
            device_env: args.device_env,
            matmul: args.runs("flops"),
        };
        let runs = each_backend(&task)?;
        if args.runs("throughput") {
            print_throughput(&runs);
        }
        if args.runs("flops") {
            print_flops(&runs);
        }
    }
    if args.runs("cartpole") {
        let seeds = args.seeds.unwrap_or(5);
        print_solve(
            &format!(
                "## 3. Gym CartPole-v1: wall time to mean episode return >= {CARTPOLE_TARGET} \
                 (examples' config, 16 envs, max {SOLVE_MAX_UPDATES} updates)"
            ),
            &each_backend(&Solve {
                task: SolveTask::CartPole,
                seeds,
            })?,
        );
    }
    if args.runs("rl8task") {
        print_rl8_task(&each_backend(&Rl8Task)?);
    }
    if args.runs("recurrent") {
        print_recurrent(&each_backend(&RecurrentThroughput {
            updates: args.updates,
        })?);
    }
    if args.runs("novelocity") {
        let seeds = args.seeds.unwrap_or(3);
        print_solve(
            &format!(
                "## 6. CartPole-v1 without velocities, recurrent PPO: env steps and wall time to \
                 mean episode return >= {CARTPOLE_TARGET} (example's config, LSTM 64, max \
                 {} env steps)",
                thousands(NOVELOCITY_MAX_STEPS as f64)
            ),
            &each_backend(&Solve {
                task: SolveTask::NoVelocity,
                seeds,
            })?,
        );
    }
    println!();
    println!("load average at the end: {}", load_average());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Command line, header, backends

/// The sections, as `--only` names them.
const SECTIONS: [&str; 6] = [
    "throughput",
    "flops",
    "cartpole",
    "rl8task",
    "recurrent",
    "novelocity",
];

/// The flags, parsed by hand: `cargo bench` adds its own (`--bench`), which are ignored.
struct Args {
    only: Option<String>,
    device_env: bool,
    seeds: Option<u64>,
    updates: usize,
}

impl Args {
    fn parse() -> Self {
        let mut args = Args {
            only: None,
            device_env: false,
            seeds: None,
            updates: 3,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--only" => args.only = it.next(),
                "--device-env" => args.device_env = true,
                "--seeds" => args.seeds = Some(number(&flag, it.next())),
                "--updates" => args.updates = number::<usize>(&flag, it.next()).max(1),
                "--backend" => {
                    let _ = BACKEND.set(it.next().unwrap_or_default());
                }
                _ => {}
            }
        }
        if let Some(backend) = BACKEND.get().filter(|b| !BACKENDS.contains(&b.as_str())) {
            eprintln!(
                "--backend {backend}: expected one of {}",
                BACKENDS.join(", ")
            );
            std::process::exit(2)
        }
        if let Some(only) = args.only.as_deref().filter(|s| !SECTIONS.contains(s)) {
            eprintln!("--only {only}: expected one of {}", SECTIONS.join(", "));
            std::process::exit(2)
        }
        args
    }

    /// Whether `section` runs (all do without `--only`).
    fn runs(&self, section: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == section)
    }
}

/// The number after `flag`; exits with a message if it is missing or not a number.
fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> T {
    value.and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        eprintln!("{flag} needs a number");
        std::process::exit(2)
    })
}

/// The machine and the code measured.
fn print_header() {
    let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = match (
        git(&["rev-parse", "--short", "HEAD"]),
        git(&["status", "--porcelain"]),
    ) {
        (Some(c), Some(changes)) if !changes.is_empty() => {
            format!("{c} (with uncommitted changes)")
        }
        (Some(c), _) => c,
        (None, _) => "unknown".into(),
    };
    println!("# PPO benchmarks");
    println!();
    println!(
        "threads: {threads}, load average (1, 5, 15 min): {}, commit: {commit}",
        load_average()
    );
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), or `n/a`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

/// A measurement run once on each compiled backend.
trait PerBackend {
    type Output;
    fn run<B: AutodiffBackend>(&self, backend: &str, device: &B::Device) -> Res<Self::Output>;
}

/// The one backend `--backend` names, if it does (for profiling one).
static BACKEND: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The backends compiled in, as `--backend` names them.
const BACKENDS: &[&str] = &[
    #[cfg(feature = "ndarray")]
    "ndarray",
    #[cfg(feature = "flex")]
    "flex",
];

/// `task` on `Autodiff<NdArray>` and, with the `flex` feature, `Autodiff<Flex>`, in that
/// order, or only on the one `--backend` names.
fn each_backend<T: PerBackend>(task: &T) -> Res<Vec<(&'static str, T::Output)>> {
    let wanted = |name: &str| BACKEND.get().is_none_or(|b| b == name);
    let mut runs = Vec::new();
    #[cfg(feature = "ndarray")]
    if wanted("ndarray") {
        type NdArray = burn::backend::Autodiff<burn::backend::NdArray>;
        runs.push((
            "ndarray",
            task.run::<NdArray>("ndarray", &Default::default())?,
        ));
    }
    #[cfg(feature = "flex")]
    if wanted("flex") {
        type Flex = burn::backend::Autodiff<burn::backend::Flex>;
        runs.push(("flex", task.run::<Flex>("flex", &Default::default())?));
    }
    Ok(runs)
}

// ---------------------------------------------------------------------------------------------
// Sections 1 and 2: throughput and FLOPs

/// Times `updates` collect/step pairs per hidden size, after one warm-up pair.
struct Throughput {
    updates: usize,
    /// On `DeviceCartPole` instead of `CartPole`.
    device_env: bool,
    /// Also time a large matrix product (section 2).
    matmul: bool,
}

/// One backend's throughput measurements.
struct ThroughputRun {
    timings: Vec<Timing>,
    matmul: Option<MatmulSpeed>,
}

/// Median collect and step times of one config.
struct Timing {
    hidden: usize,
    collect_ms: f64,
    step_ms: f64,
    transitions: usize,
    sgd_iters: usize,
}

impl PerBackend for Throughput {
    type Output = ThroughputRun;

    fn run<B: AutodiffBackend>(&self, backend: &str, device: &B::Device) -> Res<ThroughputRun> {
        let mut timings = Vec::new();
        for hidden in THROUGHPUT_HIDDENS {
            eprintln!("throughput: {backend} {hidden}x{hidden}");
            timings.push(time_updates::<B>(
                hidden,
                self.updates,
                self.device_env,
                device,
            )?);
        }
        let matmul = self
            .matmul
            .then(|| common::matmul_speed::<B::InnerBackend>(device));
        Ok(ThroughputRun { timings, matmul })
    }
}

/// rl8's CartPole config with 1024 environments and a `hidden` x `hidden` model: the medians
/// of `profiling/collect_ms` and `profiling/step_ms` over `updates` updates.
fn time_updates<B: AutodiffBackend>(
    hidden: usize,
    updates: usize,
    device_env: bool,
    device: &B::Device,
) -> Res<Timing> {
    let mut config = configs::cartpole_rl8();
    config.ppo.num_envs = THROUGHPUT_ENVS;
    config.model.hiddens = vec![hidden, hidden];
    let (n, seed) = (config.ppo.num_envs, config.ppo.seed);
    let env: Box<dyn rl::core::Env<B::InnerBackend>> = if device_env {
        Box::new(DeviceCartPole::new(n, seed, device)?)
    } else {
        Box::new(CartPole::new(n, seed, device)?)
    };
    let (collect_ms, step_ms) = time_algo(config.init::<B, _>(env, device)?, updates)?;
    Ok(Timing {
        hidden,
        collect_ms,
        step_ms,
        transitions: config.ppo.buffer_size(),
        sgd_iters: config.ppo.num_sgd_iters,
    })
}

fn print_throughput(runs: &[(&str, ThroughputRun)]) {
    let rl8: Vec<(usize, Option<Rl8Timing>)> = THROUGHPUT_HIDDENS
        .iter()
        .map(|&h| (h, Rl8Timing::from_env(h)))
        .collect();
    let rl8_rate = |hidden| rl8.iter().find(|(h, _)| *h == hidden)?.1.as_ref();
    println!();
    println!(
        "## 1. Throughput: rl8's CartPole, {THROUGHPUT_ENVS} envs x 64 steps, medians of the timed updates"
    );
    println!();
    println!(
        "| backend | hidden | collect ms | step ms | collect tr/s | update tr/s | total tr/s | vs rl8 |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (backend, run) in runs {
        for t in &run.timings {
            let n = t.transitions as f64;
            let total = n / ((t.collect_ms + t.step_ms) / 1e3);
            let vs = rl8_rate(t.hidden)
                .map_or("n/a".into(), |r| format!("{:.2}x", total / r.total_rate()));
            println!(
                "| {backend} | {h}x{h} | {:.0} | {:.0} | {} | {} | {} | {vs} |",
                t.collect_ms,
                t.step_ms,
                thousands(n / (t.collect_ms / 1e3)),
                thousands(n / (t.step_ms / 1e3)),
                thousands(total),
                h = t.hidden,
            );
        }
    }
    println!();
    for (hidden, timing) in &rl8 {
        match timing {
            Some(r) => println!(
                "rl8 {hidden}x{hidden} (`{}`): {} envs, {} steps, other processes {:.0}% of the \
                 machine; collect {:.0} ms, step {:.0} ms (medians excluding the first step), \
                 total {} tr/s",
                r.path,
                r.num_envs,
                r.steps,
                100.0 * r.contention,
                r.collect_ms,
                r.step_ms,
                thousands(r.total_rate())
            ),
            None => println!("rl8 {hidden}x{hidden}: set RL8_JSON_{hidden} for the vs rl8 column"),
        }
    }
}

/// rl8's baseline timing, from the JSON written by `run_rl8.sh`.
struct Rl8Timing {
    path: String,
    num_envs: usize,
    collect_ms: f64,
    step_ms: f64,
    transitions: f64,
    /// Train steps in the run (the medians exclude the first).
    steps: f64,
    /// The share of the machine other processes used during rl8's run.
    contention: f64,
}

impl Rl8Timing {
    /// The file named by `RL8_JSON_<hidden>`, if set; a file that cannot be read is reported
    /// on stderr and skipped.
    fn from_env(hidden: usize) -> Option<Self> {
        let path = std::env::var(format!("RL8_JSON_{hidden}")).ok()?;
        Self::read(&path)
            .inspect_err(|e| eprintln!("RL8_JSON_{hidden}={path}: {e}"))
            .ok()
    }

    fn read(path: &str) -> Res<Self> {
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        let field = |section: &str, key: &str| {
            json[section][key]
                .as_f64()
                .ok_or_else(|| format!("no number at {section}.{key}"))
        };
        let num_envs = field("config", "num_envs")?;
        Ok(Self {
            path: path.to_owned(),
            num_envs: num_envs as usize,
            collect_ms: field("timing", "median_collect_ms_excl_first")?,
            step_ms: field("timing", "median_step_ms_excl_first")?,
            transitions: num_envs * field("config", "horizon")?,
            steps: field("timing", "train_steps_done")?,
            contention: field(
                "contention_during_training",
                "other_processes_share_of_machine",
            )?,
        })
    }

    /// Transitions per second of collect and step together.
    fn total_rate(&self) -> f64 {
        self.transitions / ((self.collect_ms + self.step_ms) / 1e3)
    }
}

/// Multiply-adds of one sample's forward pass through both networks, policy
/// `OBS -> h -> h -> ACTIONS` and value `OBS -> h -> h -> 1` (biases not counted).
fn forward_macs(hidden: usize) -> usize {
    let mlp = |out: usize| OBS * hidden + hidden * hidden + hidden * out;
    mlp(ACTIONS) + mlp(1)
}

/// FLOP of one `step()`: every epoch passes every sample forward and backward (backward ~ 2x
/// forward), 2 FLOP per multiply-add.
fn step_flop(t: &Timing) -> f64 {
    (t.sgd_iters * t.transitions) as f64 * 3.0 * 2.0 * forward_macs(t.hidden) as f64
}

fn print_flops(runs: &[(&str, ThroughputRun)]) {
    println!();
    println!("## 2. Achieved GFLOP/s of `step()` vs one {MATMUL_N}^2 x {MATMUL_N}^2 f32 matmul");
    println!();
    println!(
        "FLOP of a step = epochs x samples x 3 (forward + backward) x 2 x forward MACs of both MLPs."
    );
    println!();
    println!(
        "| backend | hidden | GFLOP per step | step ms | step GFLOP/s | matmul ms | matmul GFLOP/s | step / matmul |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (backend, run) in runs {
        let Some(mm) = run.matmul else { continue };
        for t in &run.timings {
            let flop = step_flop(t);
            let gflops = flop / (t.step_ms / 1e3) / 1e9;
            println!(
                "| {backend} | {h}x{h} | {:.1} | {:.0} | {gflops:.1} | {:.1} | {:.1} | {:.0}% |",
                flop / 1e9,
                t.step_ms,
                mm.ms,
                mm.gflops,
                100.0 * gflops / mm.gflops,
                h = t.hidden,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Section 3: CartPole-v1 time to solve

/// Trains one of the examples' configs to a mean episode return of [`CARTPOLE_TARGET`] for
/// seeds `0..seeds` (sections 3 and 6).
struct Solve {
    task: SolveTask,
    seeds: u64,
}

/// Which example [`Solve`] trains.
#[derive(Clone, Copy)]
enum SolveTask {
    /// `configs::cartpole_v1()` on Gym CartPole-v1.
    CartPole,
    /// `configs::cartpole_no_velocity()` (recurrent) on CartPole-v1 without velocities.
    NoVelocity,
}

/// Where a run first met its target: wall seconds since `config.init`, the collect number
/// (1-based; the updates before it are one fewer) and the environment transitions collected.
#[derive(Clone, Copy)]
struct Reached {
    seconds: f64,
    collects: usize,
    env_steps: usize,
}

impl PerBackend for Solve {
    type Output = Vec<Option<Reached>>;

    fn run<B: AutodiffBackend>(&self, backend: &str, device: &B::Device) -> Res<Self::Output> {
        (0..self.seeds)
            .map(|seed| match self.task {
                SolveTask::CartPole => {
                    eprintln!("cartpole: {backend} seed {seed}");
                    solve_cartpole::<B>(seed, device)
                }
                SolveTask::NoVelocity => {
                    eprintln!("novelocity: {backend} seed {seed}");
                    solve_no_velocity::<B>(seed, device)
                }
            })
            .collect()
    }
}

/// The first collect of seed `seed` whose `episode/return_mean` reaches [`CARTPOLE_TARGET`],
/// within [`SOLVE_MAX_UPDATES`] updates.
fn solve_cartpole<B: AutodiffBackend>(seed: u64, device: &B::Device) -> Res<Option<Reached>> {
    let mut config = configs::cartpole_v1();
    config.ppo.seed = seed;
    let start = Instant::now();
    let env = CartPoleV1::<B::InnerBackend>::new(config.ppo.num_envs, seed, device)?;
    let algo = config.init::<B, _>(env, device)?;
    solve(algo, config.ppo.buffer_size(), SOLVE_MAX_UPDATES, start)
}

/// Collects and steps until a collect's `episode/return_mean` reaches [`CARTPOLE_TARGET`],
/// for at most `max_updates` updates; the time counts from `start`.
fn solve(
    mut algo: impl Trainable,
    buffer: usize,
    max_updates: usize,
    start: Instant,
) -> Res<Option<Reached>> {
    for collects in 1..=max_updates {
        let stats = algo.collect()?;
        if stats.episode_return_mean.unwrap_or(f64::NEG_INFINITY) >= CARTPOLE_TARGET {
            return Ok(Some(reached(buffer, start, collects)));
        }
        algo.step()?;
    }
    Ok(None)
}

/// Where a run reached its target: `collects` collects of `buffer` transitions since `start`.
fn reached(buffer: usize, start: Instant, collects: usize) -> Reached {
    Reached {
        seconds: start.elapsed().as_secs_f64(),
        collects,
        env_steps: collects * buffer,
    }
}

fn print_solve(title: &str, runs: &[(&str, Vec<Option<Reached>>)]) {
    println!();
    println!("{title}");
    println!();
    let names: Vec<&str> = runs.iter().map(|(b, _)| *b).collect();
    println!(
        "| seed | {} |",
        cells(&names, |b| format!("{b} s | {b} env steps"))
    );
    println!("|---:|{}", "---:|---:|".repeat(names.len()));
    let cell = |r: &Option<Reached>| match r {
        Some(r) => format!("{:.2} | {}", r.seconds, thousands(r.env_steps as f64)),
        None => "FAIL | FAIL".into(),
    };
    let seeds = runs.first().map_or(0, |(_, r)| r.len());
    for seed in 0..seeds {
        println!("| {seed} | {} |", cells(runs, |(_, r)| cell(&r[seed])));
    }
    let medians = cells(runs, |(_, r)| {
        let fail = || "FAIL".to_string();
        let seconds = median_or_fail(r.iter().map(|x| x.map(|x| x.seconds)).collect());
        let steps = median_or_fail(r.iter().map(|x| x.map(|x| x.env_steps as f64)).collect());
        format!(
            "**{}** | **{}**",
            seconds.map_or_else(fail, |s| format!("{s:.2}")),
            steps.map_or_else(fail, thousands)
        )
    });
    println!("| median | {medians} |");
}

// ---------------------------------------------------------------------------------------------
// Section 4: rl8's CartPole task

/// rl8's CartPole example (seed 0) until `returns/mean >= -20`, in two configs.
struct Rl8Task;

/// One config's outcome: where it reached the target, or the last `returns/mean` seen.
struct TaskRun {
    label: &'static str,
    reached: Option<Reached>,
    returns_mean: f64,
    seconds_per_update: f64,
}

impl PerBackend for Rl8Task {
    type Output = Vec<TaskRun>;

    fn run<B: AutodiffBackend>(&self, backend: &str, device: &B::Device) -> Res<Vec<TaskRun>> {
        let mut small = configs::cartpole_rl8();
        small.ppo.num_envs = 64;
        small.ppo.minibatch = Minibatch::Transitions(1024);
        small.model.hiddens = vec![64, 64];
        let variants = [
            (
                "rl8 config: 256 envs, 256x256, 1 minibatch",
                configs::cartpole_rl8(),
            ),
            ("64 envs, 64x64, minibatch 1024", small),
        ];
        variants
            .into_iter()
            .map(|(label, config)| {
                eprintln!("rl8task: {backend} {label}");
                rl8_task::<B>(label, &config, device)
            })
            .collect()
    }
}

/// Collect, check `returns/mean >= TASK_TARGET`, step; at most [`TASK_MAX_UPDATES`] updates
/// or [`TASK_MAX_SECONDS`].
fn rl8_task<B: AutodiffBackend>(
    label: &'static str,
    config: &AlgorithmConfig,
    device: &B::Device,
) -> Res<TaskRun> {
    let start = Instant::now();
    let env = CartPole::<B::InnerBackend>::new(config.ppo.num_envs, config.ppo.seed, device)?;
    let mut algo = config.init::<B, _>(env, device)?;
    let mut returns_mean = f64::NAN;
    let mut reached_at = None;
    let mut collects = 0;
    while collects <= TASK_MAX_UPDATES && start.elapsed().as_secs_f64() < TASK_MAX_SECONDS {
        collects += 1;
        returns_mean = algo.collect()?.returns.mean;
        if returns_mean >= TASK_TARGET {
            reached_at = Some(reached(config.ppo.buffer_size(), start, collects));
            break;
        }
        algo.step()?;
    }
    Ok(TaskRun {
        label,
        reached: reached_at,
        returns_mean,
        seconds_per_update: start.elapsed().as_secs_f64() / collects as f64,
    })
}

/// rl8's time to the end of the first collect with `returns/mean >= TASK_TARGET`, from a run
/// of rl8's baseline script named by `RL8_TASK_JSON` (its `train` rows: wall time since build
/// after each trainer step, and that step's update time), with the update it crossed at.
fn rl8_task_time_from_env() -> Option<(f64, u64, String)> {
    let path = std::env::var("RL8_TASK_JSON").ok()?;
    let read = || -> Res<(f64, u64)> {
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        let rows = json["train"].as_array().ok_or("no `train` rows")?;
        for row in rows {
            let get = |k: &str| row[k].as_f64().ok_or(format!("no number `{k}`"));
            if get("returns_mean")? >= TASK_TARGET {
                let end_of_collect = get("wall_s_since_build")? - get("step_ms")? / 1e3;
                return Ok((end_of_collect, get("algorithm_steps")? as u64));
            }
        }
        Err(format!("no row reached {TASK_TARGET}").into())
    };
    read()
        .inspect_err(|e| eprintln!("RL8_TASK_JSON={path}: {e}"))
        .ok()
        .map(|(s, u)| (s, u, path.clone()))
}

fn print_rl8_task(runs: &[(&str, Vec<TaskRun>)]) {
    let (b_update, b_ret, b_s) = RL8_BEFORE;
    let (a_update, a_ret, a_s) = RL8_AFTER;
    println!();
    println!("## 4. rl8's CartPole: wall time to train returns/mean >= {TASK_TARGET} (seed 0)");
    println!();
    let measured = rl8_task_time_from_env();
    let rl8_time = measured.as_ref().map_or(RL8_TIME_TO_TARGET_S, |m| m.0);
    if let Some((seconds, update, path)) = &measured {
        println!(
            "rl8 measured in this run ({path}): returns/mean reached {TASK_TARGET} at the collect \
             of update {update}, {seconds:.1} s after its build (the time used below)."
        );
        println!();
    }
    println!(
        "rl8 on this machine (256 envs, 256x256, 2 torch threads): 40 updates in \
         {RL8_40_UPDATES_S} s; returns/mean {b_ret} at update {b_update} ({b_s} s), {a_ret} at \
         update {a_update} ({a_s} s): about {RL8_TIME_TO_TARGET_S} s to {TASK_TARGET}, \
         interpolated. Ours: time from `config.init` to the end of the first collect at or above \
         {TASK_TARGET} (collect k follows k - 1 updates), capped at {TASK_MAX_UPDATES} updates or \
         {TASK_MAX_SECONDS} s."
    );
    println!();
    println!(
        "| backend | config | wall s | collect # | returns/mean | s per update | time / rl8's {rl8_time:.1} s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (backend, tasks) in runs {
        for t in tasks {
            let (wall, collect, ratio) = match t.reached {
                Some(r) => (
                    format!("{:.1}", r.seconds),
                    r.collects.to_string(),
                    format!("{:.2}", r.seconds / rl8_time),
                ),
                None => ("FAIL".into(), "-".into(), "-".into()),
            };
            println!(
                "| {backend} | {} | {wall} | {collect} | {:.1} | {:.2} | {ratio} |",
                t.label, t.returns_mean, t.seconds_per_update
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sections 5 and 6: recurrent PPO

/// Times `updates` recurrent and feed-forward collect/step pairs, after one warm-up pair each.
struct RecurrentThroughput {
    updates: usize,
}

/// `(label, median collect ms, median step ms, transitions per update)`.
type AlgoTiming = (&'static str, f64, f64, usize);

impl PerBackend for RecurrentThroughput {
    type Output = Vec<AlgoTiming>;

    /// rl8's defaults (whole-buffer minibatch, 4 epochs; recurrent: sequences of 4, state reset
    /// every 32 steps) on rl8's CartPole with 1024 environments x 32 steps: recurrent PPO with
    /// an LSTM of 64, a GRU of 64, then feed-forward PPO with 64x64 MLPs.
    fn run<B: AutodiffBackend>(&self, backend: &str, device: &B::Device) -> Res<Self::Output> {
        let ppo = PpoConfig::new()
            .with_num_envs(RECURRENT_ENVS)
            .with_horizon(RECURRENT_HORIZON);
        let env = || CartPole::<B::InnerBackend>::new(RECURRENT_ENVS, 0, device);
        let buffer = ppo.buffer_size();
        let recurrent = |cell: rl::algo::CellKind| -> Res<(f64, f64)> {
            eprintln!("recurrent: {backend} {cell:?} {RECURRENT_HIDDEN}");
            let model = rl::algo::RecurrentModelConfig::new()
                .with_hidden_size(RECURRENT_HIDDEN)
                .with_cell(cell);
            let config = rl::algo::RecurrentAlgorithmConfig::new()
                .with_ppo(ppo.clone())
                .with_model(model);
            time_algo(config.init::<B, _>(env()?, device)?, self.updates)
        };
        let lstm = recurrent(rl::algo::CellKind::Lstm)?;
        let gru = recurrent(rl::algo::CellKind::Gru)?;
        eprintln!("recurrent: {backend} feed-forward {RECURRENT_HIDDEN}x{RECURRENT_HIDDEN}");
        let mut ff = AlgorithmConfig::new().with_ppo(ppo);
        ff.model.hiddens = vec![RECURRENT_HIDDEN; 2];
        let mlp = time_algo(ff.init::<B, _>(env()?, device)?, self.updates)?;
        Ok(vec![
            ("recurrent, LSTM 64", lstm.0, lstm.1, buffer),
            ("recurrent, GRU 64", gru.0, gru.1, buffer),
            ("feed-forward, 64x64", mlp.0, mlp.1, buffer),
        ])
    }
}

/// The medians of `profiling/collect_ms` and `profiling/step_ms` over `updates` updates, after
/// one warm-up update.
fn time_algo(mut algo: impl Trainable, updates: usize) -> Res<(f64, f64)> {
    algo.collect()?;
    algo.step()?;
    let (mut collect, mut step) = (Vec::new(), Vec::new());
    for _ in 0..updates {
        collect.push(algo.collect()?.seconds * 1e3);
        step.push(algo.step()?.seconds * 1e3);
    }
    Ok((median(collect), median(step)))
}

fn print_recurrent(runs: &[(&str, Vec<AlgoTiming>)]) {
    println!();
    println!(
        "## 5. Recurrent PPO throughput: rl8's CartPole, {RECURRENT_ENVS} envs x \
         {RECURRENT_HORIZON} steps, rl8's defaults (whole-buffer minibatch, 4 epochs, seq_len 4)"
    );
    println!();
    println!(
        "| backend | model | collect ms | step ms | total tr/s | collect tr/s | vs feed-forward |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (backend, timings) in runs {
        let rate = |t: &AlgoTiming| t.3 as f64 / ((t.1 + t.2) / 1e3);
        let baseline = timings.last().map_or(f64::NAN, rate);
        for t in timings {
            println!(
                "| {backend} | {} | {:.0} | {:.0} | {} | {} | {:.2}x |",
                t.0,
                t.1,
                t.2,
                thousands(rate(t)),
                thousands(t.3 as f64 / (t.1 / 1e3)),
                rate(t) / baseline
            );
        }
    }
}

/// The example `cartpole_no_velocity`'s config with seed `seed`, within
/// [`NOVELOCITY_MAX_STEPS`] env steps.
fn solve_no_velocity<B: AutodiffBackend>(seed: u64, device: &B::Device) -> Res<Option<Reached>> {
    let mut config = configs::cartpole_no_velocity();
    config.ppo.seed = seed;
    let start = Instant::now();
    let env = CartPoleNoVelocity::<B::InnerBackend>::new(config.ppo.num_envs, seed, device)?;
    let algo = config.init::<B, _>(env, device)?;
    let buffer = config.ppo.buffer_size();
    solve(algo, buffer, NOVELOCITY_MAX_STEPS / buffer, start)
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/// The median (the upper one of an even count); NaN for none.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The median with failures counted as worse than every success; `None` if it is a failure.
fn median_or_fail(xs: Vec<Option<f64>>) -> Option<f64> {
    let inf = xs.iter().map(|x| x.unwrap_or(f64::INFINITY)).collect();
    Some(median(inf)).filter(|m| m.is_finite())
}

/// `1234567.8` as `1,234,568`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Table cells, one `f(item)` per item, joined by `" | "`.
fn cells<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join(" | ")
}
