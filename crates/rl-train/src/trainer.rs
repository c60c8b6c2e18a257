//! [`Trainer`]: runs an algorithm's `collect()` and `step()` (any [`Trainable`], such as
//! rl-algo's `Ppo`) until a stop condition holds, with periodic deterministic evaluation, a
//! progress display, a CSV of metrics (one row per update), a learning-curve PNG and the
//! trained policy saved at the end.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::config::Config;

use rl_algo::{ENV_STEPS_KEY, POLICY_FILES, Reset, Stats, Trainable, WALL_SECONDS_KEY};

use crate::conditions::{Condition, HitsUpperBound};
use crate::error::TrainError;
use crate::metrics::MetricsCsv;
use crate::plot::{self, Series};
use crate::tensorboard::EventWriter;

/// The trainer's settings. Stop conditions beyond these limits are added with
/// [`Trainer::stop_when`].
#[derive(Config, Debug)]
pub struct TrainerConfig {
    /// Stop after this many updates (rl8's CLI `--max-steps`, `HitsUpperBound("algorithm/steps")`).
    pub max_updates: Option<u64>,
    /// Stop once this many environment transitions were trained on.
    pub max_env_steps: Option<u64>,
    /// Stop once this many seconds of wall time passed.
    pub max_seconds: Option<f64>,
    /// Stop once the mean episode return (`episode/return_mean`) reaches this value; it is
    /// also drawn on the learning curve.
    pub target_return: Option<f64>,
    /// Run a deterministic evaluation after every `steps_per_eval` updates (rl8's
    /// `steps_per_eval`): as many deterministic collects as the `env_reset` period (one with
    /// `Reset::Never`), whose
    /// statistics are reduced (rl8's `reduce_stats`) and added to that update's row with an
    /// `eval/` prefix, where stop conditions can see them.
    pub steps_per_eval: Option<u64>,
    /// Where `metrics.csv`, the TensorBoard event file, `learning_curve.png`, `policy.mpk`,
    /// `config.json` and `spaces.json` (and `observation_normalizer.json` with
    /// `normalize_observations`) go: what [`rl_algo::Agent`] loads to act;
    /// nothing is written without it.
    pub out_dir: Option<String>,
    /// With `out_dir`, also write every update's statistics as TensorBoard scalars against
    /// environment steps (`tensorboard --logdir OUT_DIR`).
    #[config(default = true)]
    pub tensorboard: bool,
    /// Whether a run may replace the outputs of an earlier run in `out_dir` (its files are
    /// removed first). Without it such a directory is refused
    /// ([`TrainError::OutDirInUse`]), so that no run's outputs are overwritten by another's
    /// or mixed with them.
    #[config(default = false)]
    pub overwrite: bool,
    /// Show progress: a bar on a terminal, one line per update otherwise.
    #[config(default = true)]
    pub progress: bool,
    /// With `out_dir`, write a checkpoint (`checkpoints/update-NNNNNNNN.ckpt`) after every
    /// this many updates; one is always written when the run stops. `None`: only then.
    #[config(default = "Some(10)")]
    pub checkpoint_every: Option<u64>,
    /// With `out_dir`, also write a checkpoint once this many seconds passed since the last.
    pub checkpoint_seconds: Option<f64>,
    /// How many checkpoints to keep (the newest; older ones are removed once a new one is
    /// safely on disk).
    #[config(default = 2)]
    pub keep_checkpoints: usize,
}

/// Runs a [`Trainable`] algorithm (rl8's `Trainer`).
///
/// Every update's row holds the algorithm's collect and step statistics, the cumulative
/// counters `algorithm/collects`, `algorithm/steps`, `env/steps` (transitions trained on) and
/// `time/wall_s`, and after an evaluation the `eval/` statistics. Stop conditions see the whole
/// row; the first update always runs.
///
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use rl_algo::{AlgorithmConfig, PpoConfig};
/// use rl_train::{Trainer, TrainerConfig};
/// use rl_core::DiscreteDummyEnv;
///
/// type B = Autodiff<NdArray>;
/// let device = Default::default();
/// let algo = AlgorithmConfig::new()
///     .with_ppo(PpoConfig::new().with_num_envs(8).with_horizon(4))
///     .init::<B, _>(DiscreteDummyEnv::new(8, 0, &device)?, &device)?;
/// let config = TrainerConfig::new().with_max_updates(Some(3)).with_progress(false);
/// let mut trainer = Trainer::new(algo, config)?;
/// let last = trainer.run()?;
/// assert_eq!(last.get("algorithm/steps"), Some(3.0));
/// assert_eq!(trainer.history().len(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Trainer<A: Trainable> {
    algorithm: A,
    config: TrainerConfig,
    conditions: Vec<Box<dyn Condition>>,
    history: Vec<Stats>,
    csv: Option<MetricsCsv>,
    events: Option<EventWriter>,
    start: Instant,
    /// Wall time of the run before it was resumed.
    earlier_seconds: f64,
    last_checkpoint: Instant,
    /// Whether the stop conditions have yet to see the history of a resumed run.
    replay: bool,
    collects: u64,
    steps: u64,
    env_steps: u64,
}

/// The trainer's part of a checkpoint: its counters and every update's statistics (from which
/// the CSV, the TensorBoard file and the stop conditions' state are rebuilt on resume).
/// A checkpoint borrows the history; a resume owns it.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct SavedTrainer<'a> {
    collects: u64,
    steps: u64,
    env_steps: u64,
    wall_seconds: f64,
    history: Cow<'a, [Stats]>,
}

impl<A: Trainable> Trainer<A> {
    /// A trainer for `algorithm`. With `out_dir`, the CSV is created now.
    ///
    /// # Errors
    /// A limit that is 0 or not finite, `steps_per_eval` not a multiple of a positive
    /// `env_reset` period (evaluation must start where the environments reset),
    /// [`TrainError::OutDirInUse`] for an `out_dir` holding another run's outputs (without
    /// `overwrite`), or the config or the CSV cannot be written. With `out_dir`, the config is
    /// written now, so that a run killed at any point leaves it.
    pub fn new(algorithm: A, config: TrainerConfig) -> crate::Result<Self> {
        Self::build(algorithm, config, None)
    }

    /// Continues the run in `config.out_dir` from its newest checkpoint: `algorithm`, built
    /// from the run's own config, takes the saved state ([`Trainable::load_checkpoint`]);
    /// the trainer takes its counters and history, rewrites the CSV and the TensorBoard file
    /// from that history (dropping rows logged after the checkpoint), and its stop conditions
    /// see the history again before the next update. The run then continues exactly as if it
    /// had never stopped: the same statistics (but wall time) and the same weights.
    /// `max_updates` counts the run's total updates.
    ///
    /// # Errors
    /// No `out_dir`, no checkpoint in it ([`TrainError::Resume`]), a checkpoint that is
    /// damaged or was saved with another config ([`rl_algo::AlgoError::Checkpoint`]), or
    /// the errors of [`Trainer::new`].
    pub fn resume(mut algorithm: A, config: TrainerConfig) -> crate::Result<Self> {
        let Some(dir) = config.out_dir.clone() else {
            return Err(TrainError::invalid(
                "out_dir",
                "None",
                "resuming needs the run's output directory",
            ));
        };
        let path = latest_checkpoint(Path::new(&dir))?.ok_or_else(|| TrainError::Resume {
            path: PathBuf::from(&dir),
            reason: format!("it holds no checkpoint (`{CHECKPOINT_DIR}/*.{CHECKPOINT_EXT}`)"),
        })?;
        let extra = algorithm.load_checkpoint(&path)?;
        let saved: SavedTrainer =
            rmp_serde::from_slice(&extra).map_err(|e| TrainError::Resume {
                path: path.clone(),
                reason: format!("the trainer's state cannot be decoded: {e}"),
            })?;
        Self::build(algorithm, config, Some(saved))
    }

    /// A trainer, fresh or continuing `saved`.
    fn build(
        algorithm: A,
        config: TrainerConfig,
        saved: Option<SavedTrainer<'static>>,
    ) -> crate::Result<Self> {
        let mut conditions: Vec<Box<dyn Condition>> = Vec::new();
        if let Some(n) = config.max_updates {
            if n == 0 {
                return Err(TrainError::invalid("max_updates", 0, "must be > 0"));
            }
            conditions.push(Box::new(HitsUpperBound::new("algorithm/steps", n as f64)?));
        }
        if let Some(n) = config.max_env_steps {
            if n == 0 {
                return Err(TrainError::invalid("max_env_steps", 0, "must be > 0"));
            }
            conditions.push(Box::new(HitsUpperBound::env_steps(n)));
        }
        if let Some(s) = config.max_seconds {
            if !(s > 0.0 && s.is_finite()) {
                return Err(TrainError::invalid(
                    "max_seconds",
                    s,
                    "must be finite and > 0",
                ));
            }
            conditions.push(Box::new(HitsUpperBound::wall_seconds(s)?));
        }
        if let Some(target) = config.target_return {
            conditions.push(Box::new(HitsUpperBound::new(
                "episode/return_mean",
                target,
            )?));
        }
        if let Some(every) = config.steps_per_eval {
            if every == 0 {
                return Err(TrainError::invalid("steps_per_eval", 0, "must be > 0"));
            }
            if let Reset::Every(n) = algorithm.env_reset()
                && every % n != 0
            {
                return Err(TrainError::invalid(
                    "steps_per_eval",
                    every,
                    format!("must be a multiple of the env_reset period, {n}"),
                ));
            }
        }
        if config.checkpoint_every == Some(0) {
            return Err(TrainError::invalid("checkpoint_every", 0, "must be > 0"));
        }
        if let Some(s) = config.checkpoint_seconds
            && !(s > 0.0 && s.is_finite())
        {
            return Err(TrainError::invalid(
                "checkpoint_seconds",
                s,
                "must be finite and > 0",
            ));
        }
        if config.keep_checkpoints == 0 {
            return Err(TrainError::invalid("keep_checkpoints", 0, "must be > 0"));
        }
        let saved = saved.unwrap_or_default();
        let resumed = saved.steps > 0;
        let (csv, events) = match &config.out_dir {
            Some(dir) => {
                let dir = Path::new(dir);
                if resumed {
                    // The outputs are rebuilt from the history below; earlier event files
                    // would repeat the rows after the checkpoint.
                    remove_files(
                        files_in(dir, is_event_file)?,
                        "remove the earlier run's file",
                    )?;
                } else {
                    claim_out_dir(dir, config.overwrite)?;
                }
                // The config first: a run killed at any point leaves what it was trained with.
                save_config(&algorithm, dir)?;
                let mut csv =
                    MetricsCsv::create(dir.join(METRICS_FILE), MetricsCsv::default_columns())?;
                let mut events = config
                    .tensorboard
                    .then(|| EventWriter::create(dir))
                    .transpose()?;
                for row in saved.history.iter() {
                    csv.write(row)?;
                    if let Some(events) = &mut events {
                        let step = row.get(ENV_STEPS_KEY).unwrap_or(0.0) as u64;
                        events.write(step, row)?;
                    }
                }
                (Some(csv), events)
            }
            None => (None, None),
        };
        Ok(Self {
            algorithm,
            config,
            conditions,
            replay: resumed,
            history: saved.history.into_owned(),
            csv,
            events,
            start: Instant::now(),
            earlier_seconds: saved.wall_seconds,
            last_checkpoint: Instant::now(),
            collects: saved.collects,
            steps: saved.steps,
            env_steps: saved.env_steps,
        })
    }

    /// Adds a stop condition; [`run`](Self::run) stops when any condition holds.
    pub fn stop_when(mut self, condition: impl Condition + 'static) -> Self {
        self.conditions.push(Box::new(condition));
        self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> &A {
        &self.algorithm
    }

    /// Gives the algorithm back.
    pub fn into_algorithm(self) -> A {
        self.algorithm
    }

    /// Every update's statistics so far.
    pub fn history(&self) -> &[Stats] {
        &self.history
    }

    /// The TensorBoard event file, when there is an output directory and `tensorboard` is on.
    pub fn events_path(&self) -> Option<&Path> {
        self.events.as_ref().map(|e| e.path())
    }

    /// The CSV file, when there is an output directory.
    pub fn csv_path(&self) -> Option<&Path> {
        self.csv.as_ref().map(|c| c.path())
    }

    /// One update (rl8's `Trainer.step`): collect, step, counters.
    ///
    /// # Errors
    /// The algorithm's errors.
    pub fn step(&mut self) -> crate::Result<Stats> {
        let collected = self.algorithm.collect()?;
        let mut stats = collected.to_stats();
        stats.extend(&self.algorithm.step()?.to_stats());
        let transitions = collected.transitions as u64;
        self.collects += 1;
        self.steps += 1;
        self.env_steps += transitions;
        self.counters(&mut stats);
        Ok(stats)
    }

    /// A deterministic evaluation (rl8's `Trainer.eval`): one deterministic collect per
    /// collect of the `env_reset` period (one with [`Reset::Never`]), reduced with rl8's rules
    /// and prefixed with `eval/`.
    ///
    /// # Errors
    /// The algorithm's errors.
    pub fn eval(&mut self) -> crate::Result<Stats> {
        let runs = self.algorithm.env_reset().every().unwrap_or(1).max(1);
        let mut items = Vec::with_capacity(runs as usize);
        for _ in 0..runs {
            items.push(self.algorithm.evaluate()?.to_stats());
            self.collects += 1;
        }
        Ok(Stats::reduce(&items).with_prefix("eval/"))
    }

    /// Runs updates until a stop condition holds (rl8's `Trainer.run`), evaluating every
    /// `steps_per_eval` updates; then, with an output directory, writes the learning curve,
    /// the model and the config. Returns the last update's statistics.
    ///
    /// # Errors
    /// The algorithm's errors, a stop condition naming a missing statistic, or a file that
    /// cannot be written.
    pub fn run(&mut self) -> crate::Result<Stats> {
        if self.replay {
            self.replay = false;
            // A resumed run's stop conditions see what they saw before it stopped; a run that
            // had already stopped stays stopped.
            let mut stop = false;
            for row in &self.history {
                stop = false;
                for c in &mut self.conditions {
                    stop |= c.check(row)?;
                }
            }
            if let Some(last) = self.history.last().cloned().filter(|_| stop) {
                self.finish()?;
                return Ok(last);
            }
        }
        let bar = self.progress_bar();
        let last = loop {
            let mut stats = self.step()?;
            if let Some(every) = self.config.steps_per_eval
                && self.steps.is_multiple_of(every)
            {
                stats.extend(&self.eval()?);
            }
            self.counters(&mut stats);
            if let Some(csv) = &mut self.csv {
                csv.write(&stats)?;
            }
            if let Some(events) = &mut self.events {
                events.write(self.env_steps, &stats)?;
            }
            if let Some(bar) = &bar {
                bar.set_position(self.steps);
                bar.set_message(progress_line(&stats));
            } else if self.config.progress {
                println!("{}", progress_line(&stats));
            }
            self.history.push(stats.clone());
            let mut stop = false;
            for c in &mut self.conditions {
                // Every condition sees every row, so stateful ones stay up to date.
                stop |= c.check(&stats)?;
            }
            if stop {
                break stats;
            }
            if self.checkpoint_due() {
                self.checkpoint()?;
            }
        };
        if let Some(bar) = bar {
            bar.finish();
        }
        self.finish()?;
        Ok(last)
    }

    /// With an output directory: the final checkpoint, then the outputs.
    fn finish(&mut self) -> crate::Result<()> {
        if let Some(dir) = self.config.out_dir.clone() {
            self.checkpoint()?;
            self.write_outputs(Path::new(&dir))?;
        }
        Ok(())
    }

    /// Whether a periodic checkpoint is due after this update.
    fn checkpoint_due(&self) -> bool {
        self.config.out_dir.is_some()
            && (self
                .config
                .checkpoint_every
                .is_some_and(|n| self.steps.is_multiple_of(n))
                || self
                    .config
                    .checkpoint_seconds
                    .is_some_and(|s| self.last_checkpoint.elapsed().as_secs_f64() >= s))
    }

    /// Writes a checkpoint of the algorithm and the trainer into the output directory's
    /// `checkpoints/` (atomically), then removes all but the newest `keep_checkpoints`.
    /// Returns its path (`None` without an output directory).
    ///
    /// # Errors
    /// The algorithm cannot be checkpointed, or a file cannot be written or removed.
    pub fn checkpoint(&mut self) -> crate::Result<Option<PathBuf>> {
        let Some(dir) = self.config.out_dir.as_ref() else {
            return Ok(None);
        };
        let dir = Path::new(dir).join(CHECKPOINT_DIR);
        let path = dir.join(format!("update-{:08}.{CHECKPOINT_EXT}", self.steps));
        let saved = SavedTrainer {
            collects: self.collects,
            steps: self.steps,
            env_steps: self.env_steps,
            wall_seconds: self.wall_seconds(),
            history: Cow::Borrowed(&self.history),
        };
        let extra = rmp_serde::to_vec(&saved).map_err(|e| TrainError::Resume {
            path: path.clone(),
            reason: format!("the trainer's state cannot be encoded: {e}"),
        })?;
        self.algorithm.save_checkpoint(&path, &extra)?;
        self.last_checkpoint = Instant::now();
        let mut all = checkpoints(&dir)?;
        let excess = all.len().saturating_sub(self.config.keep_checkpoints);
        remove_files(all.drain(..excess), "remove an old checkpoint")?;
        Ok(Some(path))
    }

    /// Writes `learning_curve.png`, `policy.mpk`, `config.json` and, with
    /// `normalize_observations`, `observation_normalizer.json` into `dir`.
    ///
    /// # Errors
    /// A file that cannot be written.
    pub fn write_outputs(&self, dir: &Path) -> crate::Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
            action: "create directory",
            path: dir.to_path_buf(),
            source,
        })?;
        self.plot(&dir.join(CURVE_FILE))?;
        self.algorithm.save_model(&dir.join(POLICY_FILE))?;
        if let Some(normalizer) = self.algorithm.observation_normalizer() {
            let path = dir.join(NORMALIZER_FILE);
            let json = serde_json::to_string_pretty(normalizer)
                .expect("the normalizer is plain numbers and serializes");
            rl_algo::write_atomic(&path, json.as_bytes()).map_err(|source| TrainError::Io {
                action: "write observation normalizer",
                path,
                source,
            })?;
        }
        save_config(&self.algorithm, dir)
    }

    /// Plots the mean episode return (training, and evaluation when there is any) against
    /// environment steps.
    ///
    /// # Errors
    /// The PNG cannot be written.
    pub fn plot(&self, path: &Path) -> crate::Result<()> {
        let series = |name: &str, key: &str| Series {
            name: name.to_string(),
            points: self
                .history
                .iter()
                .filter_map(|s| Some((s.get(ENV_STEPS_KEY)?, s.get(key)?)))
                .collect(),
        };
        let mut all = vec![series("train", "episode/return_mean")];
        let eval = series("eval (deterministic)", "eval/episode/return_mean");
        if !eval.points.is_empty() {
            all.push(eval);
        }
        let title = format!("PPO on {}", self.algorithm.env_name());
        plot::plot_learning_curve(
            path,
            &title,
            "environment steps",
            "mean episode return",
            &all,
            self.config.target_return,
        )
    }

    fn counters(&self, stats: &mut Stats) {
        stats.insert("algorithm/collects", self.collects as f64);
        stats.insert("algorithm/steps", self.steps as f64);
        stats.insert(ENV_STEPS_KEY, self.env_steps as f64);
        stats.insert(WALL_SECONDS_KEY, self.wall_seconds());
    }

    /// Seconds of wall time of the whole run, before a resume included.
    fn wall_seconds(&self) -> f64 {
        self.earlier_seconds + self.start.elapsed().as_secs_f64()
    }

    fn progress_bar(&self) -> Option<indicatif::ProgressBar> {
        if !(self.config.progress && std::io::stderr().is_terminal()) {
            return None;
        }
        let bar = match self.config.max_updates {
            Some(n) => indicatif::ProgressBar::new(n),
            None => indicatif::ProgressBar::no_length(),
        };
        let style = indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        Some(bar)
    }
}

/// The files a run writes into its output directory (TensorBoard's event files are recognised
/// by [`is_event_file`]).
const METRICS_FILE: &str = "metrics.csv";
const CONFIG_FILE: &str = POLICY_FILES.config;
const SPACES_FILE: &str = POLICY_FILES.spaces;
const POLICY_FILE: &str = POLICY_FILES.weights;
const CURVE_FILE: &str = "learning_curve.png";
const NORMALIZER_FILE: &str = POLICY_FILES.normalizer;
const RUN_FILES: [&str; 6] = [
    METRICS_FILE,
    CONFIG_FILE,
    SPACES_FILE,
    POLICY_FILE,
    CURVE_FILE,
    NORMALIZER_FILE,
];

/// The folder of a run's checkpoints in its output directory, and their extension.
const CHECKPOINT_DIR: &str = "checkpoints";
const CHECKPOINT_EXT: &str = "ckpt";

/// The checkpoints in `dir`, oldest first (their names sort by update).
fn checkpoints(dir: &Path) -> crate::Result<Vec<PathBuf>> {
    files_in(dir, |name| {
        name.starts_with("update-") && name.ends_with(&format!(".{CHECKPOINT_EXT}"))
    })
}

/// The newest checkpoint of the run in `out_dir` (`checkpoints/update-NNNNNNNN.ckpt`), if any.
///
/// # Errors
/// [`TrainError::Io`] if the checkpoint directory exists but cannot be listed.
pub fn latest_checkpoint(out_dir: &Path) -> crate::Result<Option<PathBuf>> {
    Ok(checkpoints(&out_dir.join(CHECKPOINT_DIR))?.pop())
}

/// Writes the algorithm's config and the environments' spaces into the output directory `dir`.
fn save_config<A: Trainable>(algorithm: &A, dir: &Path) -> crate::Result<()> {
    let path = dir.join(CONFIG_FILE);
    algorithm
        .save_config(&path)
        .map_err(|source| TrainError::Io {
            action: "write config",
            path,
            source,
        })?;
    let path = dir.join(SPACES_FILE);
    let json = serde_json::to_string_pretty(&algorithm.spaces())
        .expect("spaces are plain data and serialize");
    rl_algo::write_atomic(&path, json.as_bytes()).map_err(|source| TrainError::Io {
        action: "write spaces",
        path,
        source,
    })
}

/// Whether `name` is a TensorBoard event file.
fn is_event_file(name: &str) -> bool {
    name.starts_with("events.out.tfevents.")
}

/// Makes `dir` the output directory of a new run: refuses one that holds a run's files
/// (outputs, event files, checkpoints) unless `overwrite`, in which case those files (and only
/// those) are removed.
fn claim_out_dir(dir: &Path, overwrite: bool) -> crate::Result<()> {
    let is_run_file = |name: &str| RUN_FILES.contains(&name) || is_event_file(name);
    let mut found = files_in(dir, is_run_file)?;
    found.extend(checkpoints(&dir.join(CHECKPOINT_DIR))?);
    if found.is_empty() {
        return Ok(());
    }
    if !overwrite {
        return Err(TrainError::OutDirInUse {
            path: dir.to_path_buf(),
            found: found
                .iter()
                .filter_map(|p| p.strip_prefix(dir).ok())
                .map(|p| p.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    remove_files(found, "remove the earlier run's file")
}

/// Removes `paths`; `action` says why in an error.
fn remove_files(
    paths: impl IntoIterator<Item = PathBuf>,
    action: &'static str,
) -> crate::Result<()> {
    for path in paths {
        std::fs::remove_file(&path).map_err(|source| TrainError::io(action, path, source))?;
    }
    Ok(())
}

/// The files of `dir` whose names `select` picks, sorted (none if `dir` does not exist).
fn files_in(dir: &Path, select: impl Fn(&str) -> bool) -> crate::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(TrainError::io("read directory", dir, source)),
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| select(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    found.sort();
    Ok(found)
}

/// One line of progress: update, steps, return, losses, speed.
fn progress_line(s: &Stats) -> String {
    let g = |k: &str| s.get(k).unwrap_or(f64::NAN);
    let mut line = format!(
        "update {:>4} | env steps {:>9} | {:>6.1} s | return {:>9.2}",
        g("algorithm/steps"),
        g("env/steps"),
        g("time/wall_s"),
        g("episode/return_mean"),
    );
    // Infinite-horizon tasks have no episode length.
    if let Some(len) = s.get("episode/length_mean") {
        line.push_str(&format!(" | len {len:>6.1}"));
    }
    line.push_str(&format!(
        " | kl {:.4} | {:>8.0} tr/s",
        g("monitors/kl_div"),
        g("profiling/transitions_per_s")
    ));
    if let Some(e) = s.get("eval/episode/return_mean") {
        line.push_str(&format!(" | eval {e:.2}"));
    }
    line
}
