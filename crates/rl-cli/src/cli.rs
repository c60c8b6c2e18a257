//! The command line: `rl train`, `rl train --resume`, `rl eval`, and the examples' flags.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use rl_algo::{Minibatch, PpoConfig};
use rl_envs::EnvKind;

use rl_train::{AlgorithmSpec, BackendKind, RunFile};

use crate::run::{self, BoxError, RUN_FILE, TrainOptions};

/// Trains and evaluates rl's built-in environments with PPO.
#[derive(Parser, Debug)]
#[command(name = "rl", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Trains the run a TOML file describes, or continues one (`--resume DIR`).
    Train(TrainArgs),
    /// Evaluates a run's newest checkpoint with the deterministic policy.
    Eval(EvalArgs),
}

/// `rl train`.
#[derive(Args, Debug)]
struct TrainArgs {
    /// The run file (see `examples/configs/`).
    #[arg(required_unless_present = "resume")]
    config: Option<PathBuf>,
    /// Continue the run in DIR from its newest checkpoint, exactly as if it had never stopped
    /// (its `run.toml` says what it is; `--max-updates` counts all its updates).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "out", "overwrite", "seed", "num_envs", "horizon", "hidden", "env"])]
    resume: Option<PathBuf>,
    #[command(flatten)]
    flags: RunFlags,
}

/// `rl eval`.
#[derive(Args, Debug)]
struct EvalArgs {
    /// The run's output directory.
    dir: PathBuf,
    /// Whole episodes to average (environments whose episodes end).
    #[arg(long, default_value_t = 100)]
    episodes: usize,
    /// The backend to act on (the run file's otherwise, or the fastest CPU backend built in).
    #[arg(long, value_parser = backend_parser())]
    backend: Option<BackendKind>,
}

/// `--backend`: one of [`BackendKind::ALL`] by name (listed in `--help`).
fn backend_parser() -> impl clap::builder::TypedValueParser<Value = BackendKind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(BackendKind::ALL.map(BackendKind::name))
        .try_map(|name| name.parse::<BackendKind>())
}

fn env_parser() -> impl clap::builder::TypedValueParser<Value = EnvKind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(EnvKind::ALL.map(EnvKind::name))
        .try_map(|name| name.parse::<EnvKind>())
}

/// What every training command takes; each flag overrides the run file.
#[derive(Args, Debug, Clone)]
pub struct RunFlags {
    /// The Burn backend to train on (the run file's, or the fastest CPU backend built in: flex,
    /// else ndarray).
    #[arg(long, value_parser = backend_parser())]
    backend: Option<BackendKind>,
    /// The environment to train instead of the run file's (its reset keys stay), e.g.
    /// `CartPole-v1-device` to keep a cart-pole run on the device.
    #[arg(long, value_parser = env_parser())]
    env: Option<EnvKind>,
    /// Stop once the run has made this many updates in all.
    #[arg(long)]
    max_updates: Option<u64>,
    /// Where the outputs go (`out/<run file name>` otherwise).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace the outputs of an earlier run in the output directory (refused otherwise).
    #[arg(long)]
    overwrite: bool,
    /// Seed of the model, the sampling and the environments.
    #[arg(long)]
    seed: Option<u64>,
    /// Environments stepped as one batch (minibatches scale with the buffer).
    #[arg(long)]
    num_envs: Option<usize>,
    /// Steps per environment per update (minibatches scale with the buffer).
    #[arg(long)]
    horizon: Option<usize>,
    /// Hidden layer sizes, e.g. `256,256` (a recurrent model takes the first as its size).
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
}

/// An example's flags: [`RunFlags`], and `--resume` to continue the run in `--out`.
#[derive(Parser, Debug)]
pub struct ExampleArgs {
    /// Continue the run in the output directory from its newest checkpoint, exactly as if it
    /// had never stopped (`--max-updates` counts all its updates).
    #[arg(long, conflicts_with_all = ["overwrite", "seed", "num_envs", "horizon", "hidden", "env"])]
    resume: bool,
    #[command(flatten)]
    flags: RunFlags,
}

impl RunFlags {
    /// `run` with the flags that change what is trained applied. A minibatch size scales with
    /// the buffer, so that the run keeps its number of minibatches where the new buffer divides
    /// into that many (into the nearest fewer where it does not: a minibatch must divide the
    /// buffer).
    pub fn apply(&self, run: &mut RunFile) {
        if let Some(kind) = self.env {
            run.env.kind = kind;
        }
        let unit = run.algorithm.unit();
        let ppo: &mut PpoConfig = run.algorithm.ppo_mut();
        let before = ppo.buffer_size().max(1);
        if let Some(n) = self.num_envs {
            ppo.num_envs = n;
        }
        if let Some(h) = self.horizon {
            ppo.horizon = h;
        }
        let after = ppo.buffer_size();
        if after != before {
            let units = (after / unit).max(1);
            // The number of minibatches, then the most that divide the new buffer.
            let split = |m: usize| {
                let count = (before / m.max(1)).clamp(1, units);
                let count = (1..=count)
                    .rev()
                    .find(|k| units.is_multiple_of(*k))
                    .unwrap_or(1);
                units / count
            };
            ppo.minibatch = match ppo.minibatch {
                Minibatch::Whole => Minibatch::Whole,
                Minibatch::Transitions(m) => Minibatch::Transitions(split(m) * unit),
                Minibatch::Sequences(s) => Minibatch::Sequences(split(s * unit)),
            };
        }
        if let Some(seed) = self.seed {
            ppo.seed = seed;
        }
        if let Some(hidden) = &self.hidden {
            match &mut run.algorithm {
                AlgorithmSpec::Ppo(c) => c.model.hiddens = hidden.clone(),
                AlgorithmSpec::RecurrentPpo(c) => {
                    if let Some(&h) = hidden.first() {
                        c.model.hidden_size = h;
                    }
                }
            }
        }
    }

    fn options(&self, out: PathBuf, resume: bool) -> TrainOptions {
        TrainOptions {
            out,
            overwrite: self.overwrite,
            resume,
            max_updates: self.max_updates,
            backend: self.backend,
        }
    }
}

/// The `rl` command: parses the command line, runs it, reports errors with their causes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    finish(match cli.command {
        Command::Train(args) => train_command(args),
        Command::Eval(args) => eval_command(&args),
    })
}

/// An example: trains the run file `text` (named `name`, its default output directory
/// `out/<name>`) with the example's command-line flags.
pub fn example(name: &str, text: &str) -> ExitCode {
    let args = ExampleArgs::parse();
    let out = args
        .flags
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(name));
    let result = (|| {
        let run = if args.resume {
            RunFile::read(&out.join(RUN_FILE))?
        } else {
            let mut run = RunFile::parse(text)?;
            args.flags.apply(&mut run);
            run
        };
        train_and_report(&run, &args.flags.options(out, args.resume))
    })();
    finish(result)
}

fn train_command(args: TrainArgs) -> Result<bool, BoxError> {
    let (run, out, resume) = match (&args.resume, &args.config) {
        (Some(dir), _) => (RunFile::read(&dir.join(RUN_FILE))?, dir.clone(), true),
        (None, Some(path)) => {
            let mut run = RunFile::read(path)?;
            args.flags.apply(&mut run);
            let name = path.file_stem().unwrap_or(path.as_os_str());
            let out = args
                .flags
                .out
                .clone()
                .unwrap_or_else(|| Path::new("out").join(name));
            (run, out, false)
        }
        (None, None) => return Err("give a run file or --resume DIR".into()),
    };
    train_and_report(&run, &args.flags.options(out, resume))
}

/// Trains `run`, says how it ended; `Ok(true)` when Ctrl-C stopped it, an error when it has a
/// target return and stopped short of it.
fn train_and_report(run: &RunFile, options: &TrainOptions) -> Result<bool, BoxError> {
    run::stop_on_ctrl_c()?;
    let outcome = run::train(run, options)?;
    let reached = outcome.return_mean();
    if outcome.interrupted {
        println!(
            "interrupted: the run is saved; continue it with `rl train --resume {}`",
            options.out.display()
        );
    } else if let Some(target) = outcome.target_return {
        if outcome.solved() == Some(true) {
            println!("solved: mean episode return {reached:.1} >= {target}");
        } else {
            return Err(format!(
                "not solved: mean episode return {reached:.1} < {target} when the run stopped"
            )
            .into());
        }
    }
    Ok(outcome.interrupted)
}

fn eval_command(args: &EvalArgs) -> Result<bool, BoxError> {
    let e = run::evaluate(&args.dir, args.episodes, args.backend)?;
    println!("evaluated {}", e.checkpoint.display());
    if e.returns.is_empty() {
        println!(
            "mean reward per step {:.4} over {} environment steps (episodes do not end)",
            e.reward_per_step, e.transitions
        );
    } else {
        let (lo, hi) = e
            .returns
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &r| {
                (l.min(r), h.max(r))
            });
        println!(
            "mean return {:.2} over {} episodes (min {lo:.1}, max {hi:.1}), deterministic policy",
            e.return_mean(),
            e.returns.len()
        );
    }
    Ok(false)
}

/// The exit: on an error, the error and each of its causes in words on stderr and status 1;
/// 130 after Ctrl-C (the run is saved).
fn finish(result: Result<bool, BoxError>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::from(130),
        Ok(false) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            let mut cause = error.source();
            while let Some(c) = cause {
                eprintln!("  caused by: {c}");
                cause = c.source();
            }
            ExitCode::FAILURE
        }
    }
}
