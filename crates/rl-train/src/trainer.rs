//! [`Trainer`]: runs an algorithm's `collect()` and `step()` (any [`Trainable`], such as
//! rl-algo's `Ppo`) until a stop condition holds, with periodic deterministic evaluation, a
//! progress display, a CSV of metrics (one row per update), a learning-curve PNG and the
//! trained policy saved at the end.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use burn::config::Config;

use rl_algo::{ENV_STEPS_KEY, Reset, Stats, Trainable, WALL_SECONDS_KEY};

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
    /// Where `metrics.csv`, the TensorBoard event file, `learning_curve.png`, `policy.mpk` and
    /// `config.json` (and `observation_normalizer.json` with `normalize_observations`) go;
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
    collects: u64,
    steps: u64,
    env_steps: u64,
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
        let (csv, events) = match &config.out_dir {
            Some(dir) => {
                let dir = Path::new(dir);
                claim_out_dir(dir, config.overwrite)?;
                // The config first: a run killed at any point leaves what it was trained with.
                save_config(&algorithm, dir)?;
                let csv =
                    MetricsCsv::create(dir.join(METRICS_FILE), MetricsCsv::default_columns())?;
                let events = config
                    .tensorboard
                    .then(|| EventWriter::create(dir))
                    .transpose()?;
                (Some(csv), events)
            }
            None => (None, None),
        };
        Ok(Self {
            algorithm,
            config,
            conditions,
            history: Vec::new(),
            csv,
            events,
            start: Instant::now(),
            collects: 0,
            steps: 0,
            env_steps: 0,
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
        };
        if let Some(bar) = bar {
            bar.finish();
        }
        if let Some(dir) = self.config.out_dir.clone() {
            self.write_outputs(Path::new(&dir))?;
        }
        Ok(last)
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
        stats.insert(WALL_SECONDS_KEY, self.start.elapsed().as_secs_f64());
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
const CONFIG_FILE: &str = "config.json";
const POLICY_FILE: &str = "policy.mpk";
const CURVE_FILE: &str = "learning_curve.png";
const NORMALIZER_FILE: &str = "observation_normalizer.json";
const RUN_FILES: [&str; 5] = [
    METRICS_FILE,
    CONFIG_FILE,
    POLICY_FILE,
    CURVE_FILE,
    NORMALIZER_FILE,
];

/// Writes the algorithm's config into the output directory `dir`.
fn save_config<A: Trainable>(algorithm: &A, dir: &Path) -> crate::Result<()> {
    let path = dir.join(CONFIG_FILE);
    algorithm
        .save_config(&path)
        .map_err(|source| TrainError::Io {
            action: "write config",
            path,
            source,
        })
}

/// Whether `name` is a TensorBoard event file.
fn is_event_file(name: &str) -> bool {
    name.starts_with("events.out.tfevents.")
}

/// Makes `dir` the output directory of a new run: refuses one that holds a run's files unless
/// `overwrite`, in which case those files (and only those) are removed.
fn claim_out_dir(dir: &Path, overwrite: bool) -> crate::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(TrainError::Io {
                action: "read directory",
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if RUN_FILES.contains(&name.as_str()) || is_event_file(&name) {
            found.push(entry.path());
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    if !overwrite {
        found.sort();
        return Err(TrainError::OutDirInUse {
            path: dir.to_path_buf(),
            found: found
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    for path in found {
        std::fs::remove_file(&path).map_err(|source| TrainError::Io {
            action: "remove the earlier run's file",
            path,
            source,
        })?;
    }
    Ok(())
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
