//! What every training example shares: the command line, the backend choice and the training
//! run (trainer, outputs, report).

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::backend::AutodiffBackend;
use clap::{Parser, ValueEnum};
use rl_algo::{AlgorithmConfig, Minibatch, PpoConfig, RecurrentAlgorithmConfig, Trainable};
use rl_train::conditions::when;
use rl_train::{Trainer, TrainerConfig};

/// The flags every example takes; each defaults to the example's own config.
#[derive(Parser, Debug, Clone)]
pub struct Args {
    /// The Burn backend to train on.
    #[arg(long, value_enum, default_value_t = BackendArg::Ndarray)]
    pub backend: BackendArg,
    /// Environments stepped as one batch.
    #[arg(long)]
    pub num_envs: Option<usize>,
    /// Steps per environment per update.
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Hidden layer sizes of the policy and value networks, e.g. `256,256`.
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Stop after this many updates.
    #[arg(long)]
    pub max_updates: Option<u64>,
    /// Seed of the model, the sampling and the environments.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where the CSV, the PNG and the policy go.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the outputs of an earlier run in the output directory (refused otherwise).
    #[arg(long)]
    pub overwrite: bool,
    /// Continue the run in the output directory from its newest checkpoint, exactly as if it
    /// had never stopped (give the run's own flags; `--max-updates` counts all its updates).
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
}

/// `--backend`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum BackendArg {
    /// CPU (burn-ndarray).
    Ndarray,
    /// WebGPU (needs `--features wgpu`).
    Wgpu,
    /// CPU (burn-flex, the fastest CPU backend here; needs `--features flex`).
    Flex,
}

impl Args {
    /// The example's config with the flags applied.
    pub fn apply(&self, mut config: AlgorithmConfig) -> AlgorithmConfig {
        config.ppo = self.apply_ppo(config.ppo);
        if let Some(hidden) = &self.hidden {
            config.model.hiddens = hidden.clone();
        }
        config
    }

    /// The PPO hyperparameters with `--num-envs`, `--horizon` and `--seed` applied. A
    /// minibatch size scales with the buffer, so that the example keeps its number of
    /// minibatches.
    fn apply_ppo(&self, mut ppo: PpoConfig) -> PpoConfig {
        let before = ppo.buffer_size().max(1);
        if let Some(n) = self.num_envs {
            ppo.num_envs = n;
        }
        if let Some(h) = self.horizon {
            ppo.horizon = h;
        }
        let after = ppo.buffer_size();
        let scale = |m: usize| (m * after / before).max(1);
        ppo.minibatch = match ppo.minibatch {
            Minibatch::Whole => Minibatch::Whole,
            Minibatch::Transitions(m) => Minibatch::Transitions(scale(m)),
            Minibatch::Sequences(s) => Minibatch::Sequences(scale(s)),
        };
        if let Some(seed) = self.seed {
            ppo.seed = seed;
        }
        ppo
    }

    /// A recurrent example's config with the flags applied (`--hidden` takes the LSTM size
    /// from its first entry).
    pub fn apply_recurrent(
        &self,
        mut config: RecurrentAlgorithmConfig,
    ) -> RecurrentAlgorithmConfig {
        let hidden = self.hidden.as_ref().and_then(|h| h.first().copied());
        config.ppo = self.apply_ppo(config.ppo);
        if let Some(h) = hidden {
            config.model.hidden_size = h;
        }
        config
    }

    /// The output directory: `--out`, or `out/<example>`.
    pub fn out_dir(&self, example: &str) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from("out").join(example))
    }
}

/// The environment type of the feed-forward examples: boxed, so that their algorithm, and the
/// whole engine behind it, is compiled once per backend instead of once per environment.
pub type DynEnv<B> =
    Box<dyn rl_core::Env<<B as burn::tensor::backend::AutodiffBackend>::InnerBackend>>;

/// An example: builds its environment and algorithm on backend `B` and trains.
pub trait Experiment {
    /// Trains on `B`.
    fn run<B: AutodiffBackend>(&self, device: &B::Device) -> Result<(), Box<dyn Error>>;
}

/// Runs `experiment` on the backend chosen with `--backend`.
pub fn dispatch(backend: BackendArg, experiment: &impl Experiment) -> Result<(), Box<dyn Error>> {
    match backend {
        BackendArg::Ndarray => {
            experiment.run::<burn::backend::Autodiff<burn::backend::NdArray>>(&Default::default())
        }
        #[cfg(feature = "wgpu")]
        BackendArg::Wgpu => {
            experiment.run::<burn::backend::Autodiff<burn::backend::Wgpu>>(&Default::default())
        }
        #[cfg(not(feature = "wgpu"))]
        BackendArg::Wgpu => {
            Err("this build has no wgpu backend: run with `--features wgpu`".into())
        }
        #[cfg(feature = "flex")]
        BackendArg::Flex => {
            experiment.run::<burn::backend::Autodiff<burn::backend::Flex>>(&Default::default())
        }
        #[cfg(not(feature = "flex"))]
        BackendArg::Flex => {
            Err("this build has no flex backend: run with `--features flex`".into())
        }
    }
}

/// How a feed-forward run is described: sizes and seed.
pub fn describe(c: &AlgorithmConfig) -> String {
    format!(
        "PPO with {} envs x {} steps per update, hidden {:?}, seed {}",
        c.ppo.num_envs, c.ppo.horizon, c.model.hiddens, c.ppo.seed
    )
}

/// Trains (or, with `resume`, continues the run in the output directory from its newest
/// checkpoint) until the trainer's limits hold, writes the outputs and says where. `what`
/// describes the run. Returns the last update's statistics.
pub fn train<A: Trainable>(
    algorithm: A,
    what: String,
    trainer: TrainerConfig,
    resume: bool,
) -> Result<rl_algo::Stats, Box<dyn Error>> {
    let out = trainer.out_dir.clone();
    let trainer = if resume {
        let trainer = Trainer::resume(algorithm, trainer)?;
        println!(
            "resuming {what} on {} after update {}",
            trainer.algorithm().env_name(),
            trainer.history().len()
        );
        trainer
    } else {
        println!("training {what} on {}", algorithm.env_name());
        Trainer::new(algorithm, trainer)?
    };
    // Ctrl-C ends the run after the update in progress: the trainer then writes its final
    // checkpoint and its outputs, as at any other stop. A second Ctrl-C exits at once (every
    // file is written atomically, so the newest checkpoint stays whole).
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nCtrl-C: stopping after this update (again to exit at once)");
    })?;
    let flag = Arc::clone(&interrupted);
    let mut trainer = trainer.stop_when(when("interrupted (Ctrl-C)", move |_| {
        Ok(flag.load(Ordering::SeqCst))
    }));
    let last = trainer.run()?;
    if interrupted.load(Ordering::SeqCst) {
        println!("interrupted: the run is saved; continue it with --resume");
    }
    println!(
        "finished after {} updates, {} env steps, {:.1} s: mean episode return {:.2}",
        last.get("algorithm/steps").unwrap_or(f64::NAN),
        last.get("env/steps").unwrap_or(f64::NAN),
        last.get("time/wall_s").unwrap_or(f64::NAN),
        last.get("episode/return_mean").unwrap_or(f64::NAN),
    );
    if let Some(events) = trainer.events_path() {
        println!("{:<30} {}", "TensorBoard events", events.display());
    }
    if let Some(dir) = out {
        let dir = PathBuf::from(dir);
        for (what, file) in [
            ("metrics (one row per update)", "metrics.csv"),
            ("learning curve", "learning_curve.png"),
            ("trained policy", "policy.mpk"),
            ("config", "config.json"),
            ("checkpoints (to --resume)", "checkpoints"),
            ("observation normalizer", "observation_normalizer.json"),
        ] {
            let path = dir.join(file);
            if path.exists() {
                println!("{what:<30} {}", path.display());
            }
        }
    }
    Ok(last)
}

/// `Ok` with a "solved" line when the last update's mean episode return reached `target`, an
/// error saying so otherwise (the update limit was hit first).
pub fn check_solved(last: &rl_algo::Stats, target: f64) -> Result<(), Box<dyn Error>> {
    let reached = last.get("episode/return_mean").unwrap_or(f64::NAN);
    if reached >= target {
        println!("solved: mean episode return {reached:.1} >= {target}");
        Ok(())
    } else {
        Err(format!(
            "not solved: mean episode return {reached:.1} < {target} when the update limit was hit"
        )
        .into())
    }
}

/// An example's exit: on an error, the error and each of its causes in words (`Display`, not
/// `Debug`) on stderr, and exit status 1.
pub fn report(result: Result<(), Box<dyn Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
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
