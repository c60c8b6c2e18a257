//! A run file put to work on a backend: the environment and the algorithm built from it, then
//! trained (new or resumed) with the trainer, or evaluated from the run's newest checkpoint.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::backend::{AutodiffBackend, Backend};
use rl_algo::{Policy, Ppo, Stats, Trainable, write_atomic};
use rl_core::{Env, EnvConfig};
use rl_train::conditions::when;
use rl_train::{Trainer, latest_checkpoint};

use rl_train::{AlgorithmSpec, BackendKind, EnvSpec, RunFile};

/// An error of a command, with its sources.
pub type BoxError = Box<dyn Error>;

/// The name of the run file a run saves in its output directory (what `--resume` and `eval`
/// read).
pub const RUN_FILE: &str = "run.toml";

/// The environments of a run, boxed: one engine type per backend and algorithm serves every
/// environment.
pub type DynEnv<B> = Box<dyn Env<<B as AutodiffBackend>::InnerBackend>>;

/// Set by Ctrl-C (once [`stop_on_ctrl_c`] installed the handler): the run stops after the
/// update in progress.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs a Ctrl-C handler: the first Ctrl-C ends a run after the update in progress (the
/// trainer then writes its final checkpoint and its outputs, as at any other stop); a second
/// one exits at once (every file is written atomically, so the newest checkpoint stays whole).
///
/// # Errors
/// A handler cannot be installed (one already is).
pub fn stop_on_ctrl_c() -> Result<(), BoxError> {
    ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nCtrl-C: stopping after this update (again to exit at once)");
    })?;
    Ok(())
}

/// What training a run needs besides its file.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The output directory.
    pub out: PathBuf,
    /// Replace an earlier run's outputs there.
    pub overwrite: bool,
    /// Continue the run in `out` from its newest checkpoint.
    pub resume: bool,
    /// Stop once the run has made this many updates in all (the file's limit otherwise).
    pub max_updates: Option<u64>,
    /// The backend (the file's, or ndarray, otherwise).
    pub backend: Option<BackendKind>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The last update's statistics.
    pub last: Stats,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
    /// The mean episode return the run's trainer aims at, if any.
    pub target_return: Option<f64>,
}

impl Outcome {
    /// The last update's mean episode return.
    pub fn return_mean(&self) -> f64 {
        self.last.get("episode/return_mean").unwrap_or(f64::NAN)
    }

    /// Whether the run reached its target return (`None`: it has none).
    pub fn solved(&self) -> Option<bool> {
        self.target_return.map(|t| self.return_mean() >= t)
    }
}

/// Trains `run` (or, with `options.resume`, continues it), printing what it does and where its
/// outputs are. A new run saves its file as `run.toml` beside its outputs once the trainer has
/// claimed the directory.
///
/// # Errors
/// A backend that is not compiled in, or the errors of building and training (each naming what
/// was wrong).
pub fn train(run: &RunFile, options: &TrainOptions) -> Result<Outcome, BoxError> {
    let backend = options
        .backend
        .or(run.backend)
        .unwrap_or_else(default_backend);
    dispatch(backend, Train { run, options })
}

/// The deterministic policy's results over some episodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The checkpoint evaluated.
    pub checkpoint: PathBuf,
    /// The returns of whole episodes (for environments whose episodes end), in the order they
    /// ended.
    pub returns: Vec<f64>,
    /// The mean reward per step over the evaluation.
    pub reward_per_step: f64,
    /// Environment steps taken, over all environments.
    pub transitions: usize,
}

impl Evaluation {
    /// The mean episode return (NaN without episodes).
    pub fn return_mean(&self) -> f64 {
        self.returns.iter().sum::<f64>() / self.returns.len() as f64
    }
}

/// At most this many evaluation collects: a policy that never ends an episode of an episodic
/// environment is stopped here.
const MAX_EVAL_COLLECTS: usize = 10_000;

/// Evaluates the run in `dir` (its `run.toml` and newest checkpoint) with the deterministic
/// policy: `episodes` whole episodes for an environment whose episodes end (started afresh,
/// from a reset), one `env_reset` period for the others.
///
/// # Errors
/// No run file or checkpoint in `dir`, a checkpoint that does not fit the run file, or the
/// errors of acting.
pub fn evaluate(
    dir: &Path,
    episodes: usize,
    backend: Option<BackendKind>,
) -> Result<Evaluation, BoxError> {
    let run = RunFile::read(&dir.join(RUN_FILE))?;
    let checkpoint = latest_checkpoint(dir)?
        .ok_or_else(|| format!("{} holds no checkpoint to evaluate", dir.display()))?;
    let backend = backend.or(run.backend).unwrap_or_else(default_backend);
    dispatch(
        backend,
        Evaluate {
            run: &run,
            checkpoint,
            episodes: episodes.max(1),
        },
    )
}

/// The backend of a run that names none (neither on the command line nor in its run file): the
/// fastest CPU backend compiled in, flex (the default feature), else ndarray.
pub fn default_backend() -> BackendKind {
    if cfg!(feature = "flex") {
        BackendKind::Flex
    } else {
        BackendKind::Ndarray
    }
}

/// Work generic over the backend.
trait Job {
    type Output;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> Result<Self::Output, BoxError>;
}

/// Runs `job` on `backend`.
fn dispatch<J: Job>(backend: BackendKind, job: J) -> Result<J::Output, BoxError> {
    use burn::backend::Autodiff;
    match backend {
        BackendKind::Ndarray => job.run::<Autodiff<burn::backend::NdArray>>(&Default::default()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => job.run::<Autodiff<burn::backend::Wgpu>>(&Default::default()),
        #[cfg(feature = "flex")]
        BackendKind::Flex => job.run::<Autodiff<burn::backend::Flex>>(&Default::default()),
        #[allow(unreachable_patterns)]
        other => Err(format!(
            "this build has no {0} backend: build with `--features {0}`",
            other.name()
        )
        .into()),
    }
}

/// The run's environments on `B`: its reset config applied at every reset, its values checked
/// now (on a throwaway environment, so that the run's own draws are untouched).
fn make_env<B: Backend>(
    spec: &EnvSpec,
    num_envs: usize,
    seed: u64,
    device: &B::Device,
) -> Result<Box<dyn Env<B>>, BoxError> {
    let env = spec.kind.make::<B>(num_envs, seed, device)?;
    if spec.config.is_empty() {
        return Ok(env);
    }
    spec.kind
        .make::<B>(1, seed, device)?
        .reset(Some(&spec.config))?;
    Ok(Box::new(Configured {
        inner: env,
        config: spec.config.clone(),
    }))
}

/// An environment reset with a fixed config unless a reset gives its own.
struct Configured<B: Backend> {
    inner: Box<dyn Env<B>>,
    config: EnvConfig,
}

impl<B: Backend> Env<B> for Configured<B> {
    fn info(&self) -> &rl_core::EnvInfo<B> {
        self.inner.info()
    }
    fn reset(&mut self, config: Option<&EnvConfig>) -> rl_core::Result<rl_core::Observation<B>> {
        self.inner.reset(Some(config.unwrap_or(&self.config)))
    }
    fn step(&mut self, action: &rl_core::Action<B>) -> rl_core::Result<rl_core::Transition<B>> {
        self.inner.step(action)
    }
    fn save_state(&self) -> rl_core::Result<Option<Vec<u8>>> {
        self.inner.save_state()
    }
    fn load_state(&mut self, state: &[u8]) -> rl_core::Result<()> {
        self.inner.load_state(state)
    }
}

/// Builds the run's algorithm on `B` and hands it to `then` (generic over the algorithm).
macro_rules! with_algorithm {
    ($run:expr, $device:expr, |$algorithm:ident| $then:expr) => {{
        let run: &RunFile = $run;
        let ppo = run.algorithm.ppo();
        // Before the environments: a size that is refused must not be allocated first.
        run.algorithm.validate()?;
        let env: DynEnv<B> = make_env(&run.env, ppo.num_envs, ppo.seed, $device)?;
        match &run.algorithm {
            AlgorithmSpec::Ppo(c) => {
                let $algorithm = c.init::<B, _>(env, $device)?;
                $then
            }
            AlgorithmSpec::RecurrentPpo(c) => {
                let $algorithm = c.init::<B, _>(env, $device)?;
                $then
            }
        }
    }};
}

struct Train<'a> {
    run: &'a RunFile,
    options: &'a TrainOptions,
}

impl Job for Train<'_> {
    type Output = Outcome;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> Result<Outcome, BoxError> {
        with_algorithm!(self.run, device, |algorithm| train_algorithm(
            algorithm,
            self.run,
            self.options
        ))
    }
}

fn describe(run: &RunFile) -> String {
    let ppo = run.algorithm.ppo();
    let what = match &run.algorithm {
        AlgorithmSpec::Ppo(c) => format!("PPO (hidden {:?})", c.model.hiddens),
        AlgorithmSpec::RecurrentPpo(c) => format!(
            "recurrent PPO ({:?} {}, sequences of {})",
            c.model.cell, c.model.hidden_size, c.recurrence.seq_len
        ),
    };
    format!(
        "{what} with {} envs x {} steps per update, seed {}, on {}",
        ppo.num_envs, ppo.horizon, ppo.seed, run.env.kind
    )
}

fn train_algorithm<A: Trainable>(
    algorithm: A,
    run: &RunFile,
    options: &TrainOptions,
) -> Result<Outcome, BoxError> {
    let mut config = run.trainer.clone();
    config.out_dir = Some(options.out.display().to_string());
    config.overwrite = options.overwrite;
    if let Some(n) = options.max_updates {
        config.max_updates = Some(n);
    }
    let target_return = config.target_return;
    let trainer = if options.resume {
        let trainer = Trainer::resume(algorithm, config)?;
        println!(
            "resuming {} after update {}",
            describe(run),
            trainer.history().len()
        );
        trainer
    } else {
        // Printed before the trainer claims the directory: a run that cannot be written down
        // leaves nothing behind.
        let text = run.to_toml()?;
        let trainer = Trainer::new(algorithm, config)?;
        write_atomic(options.out.join(RUN_FILE), text.as_bytes())?;
        println!("training {}", describe(run));
        trainer
    };
    INTERRUPTED.store(false, Ordering::SeqCst);
    let mut trainer = trainer.stop_when(when("interrupted (Ctrl-C)", |_| {
        Ok(INTERRUPTED.load(Ordering::SeqCst))
    }));
    let last = trainer.run()?;
    let outcome = Outcome {
        last,
        interrupted: INTERRUPTED.load(Ordering::SeqCst),
        target_return,
    };
    let get = |key| outcome.last.get(key).unwrap_or(f64::NAN);
    println!(
        "stopped after {} updates, {} env steps, {:.1} s: mean episode return {:.2}",
        get("algorithm/steps"),
        get("env/steps"),
        get("time/wall_s"),
        outcome.return_mean(),
    );
    if let Some(events) = trainer.events_path() {
        println!("{:<30} {}", "TensorBoard events", events.display());
    }
    for (what, file) in [
        ("run file (to --resume, eval)", RUN_FILE),
        ("metrics (one row per update)", "metrics.csv"),
        ("learning curve", "learning_curve.png"),
        ("trained policy", "policy.mpk"),
        ("config", "config.json"),
        ("spaces (for rl_algo::Agent)", "spaces.json"),
        ("checkpoints", "checkpoints"),
        ("observation normalizer", "observation_normalizer.json"),
    ] {
        let path = options.out.join(file);
        if path.exists() {
            println!("{what:<30} {}", path.display());
        }
    }
    Ok(outcome)
}

struct Evaluate<'a> {
    run: &'a RunFile,
    checkpoint: PathBuf,
    episodes: usize,
}

impl Job for Evaluate<'_> {
    type Output = Evaluation;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> Result<Evaluation, BoxError> {
        with_algorithm!(self.run, device, |algorithm| evaluate_algorithm(
            algorithm, &self
        ))
    }
}

fn evaluate_algorithm<B, P>(
    mut algorithm: Ppo<B, DynEnv<B>, P>,
    job: &Evaluate<'_>,
) -> Result<Evaluation, BoxError>
where
    B: AutodiffBackend,
    P: Policy<B>,
{
    algorithm.load_checkpoint(&job.checkpoint)?;
    algorithm.reset_next_collect();
    let episodic = job.run.env.kind.ends_episodes();
    let period = match algorithm.config().env_reset {
        rl_algo::Reset::Every(n) => n as usize,
        rl_algo::Reset::Never => 1,
    };
    let (mut returns, mut reward_sum, mut transitions) = (Vec::new(), 0.0, 0);
    for collect in 1..=MAX_EVAL_COLLECTS {
        let stats = algorithm.evaluate()?;
        returns.extend(stats.episodes);
        reward_sum += stats.rewards.mean * stats.transitions as f64;
        transitions += stats.transitions;
        let done = if episodic {
            returns.len() >= job.episodes
        } else {
            collect >= period
        };
        if done {
            break;
        }
    }
    if episodic && returns.len() < job.episodes {
        return Err(format!(
            "only {} of {} episodes ended in {MAX_EVAL_COLLECTS} collects",
            returns.len(),
            job.episodes
        )
        .into());
    }
    returns.truncate(job.episodes);
    Ok(Evaluation {
        checkpoint: job.checkpoint.clone(),
        returns,
        reward_per_step: reward_sum / transitions as f64,
        transitions,
    })
}
