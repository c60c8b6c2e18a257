//! What a training run's outputs cost per update, against the update itself: one row of the
//! metrics CSV and one TensorBoard event (every statistic of the row), each flushed to disk,
//! and one checkpoint (engine and trainer state, written atomically: fsync and rename), next
//! to one update (collect + step) of the CartPole-v1 example on ndarray.
//!
//! `cargo bench --bench outputs`
//!
//! Times are medians over repeated runs after a warm-up; the ratio is output time / update
//! time (the budget for outputs is 5% of an update).

/// The examples' run files (the file the tests include too).
#[path = "../examples/configs/mod.rs"]
#[allow(dead_code)]
mod configs;

use std::time::{Duration, Instant};

use burn::backend::{Autodiff, NdArray};
use rl::algo::Stats;
use rl::train::metrics::MetricsCsv;
use rl::train::tensorboard::EventWriter;
use rl::train::{Trainer, TrainerConfig};
use rl_envs::CartPoleV1;

type B = Autodiff<NdArray>;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Default::default();
    let config = configs::cartpole_v1();
    let env = CartPoleV1::<NdArray>::new(config.ppo.num_envs, 0, &device)?;
    let algo = config.init::<B, _>(env, &device)?;
    let mut trainer = Trainer::new(algo, TrainerConfig::new().with_progress(false))?;

    // One update of the example: collect + step (what the trainer does per row).
    let mut updates = Vec::new();
    let mut row = Stats::new();
    for i in 0..12 {
        let start = Instant::now();
        row = trainer.step()?;
        if i >= 2 {
            updates.push(start.elapsed());
        }
    }
    let update = median(updates);

    let dir = std::env::temp_dir().join(format!("rl_bench_outputs_{}", std::process::id()));
    let mut csv = MetricsCsv::create(dir.join("metrics.csv"), MetricsCsv::default_columns())?;
    let mut events = EventWriter::create(&dir)?;
    let (mut csv_times, mut event_times) = (Vec::new(), Vec::new());
    for i in 0..220 {
        let start = Instant::now();
        csv.write(&row)?;
        let csv_time = start.elapsed();
        let start = Instant::now();
        events.write(i, &row)?;
        let event_time = start.elapsed();
        if i >= 20 {
            csv_times.push(csv_time);
            event_times.push(event_time);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    let (csv_time, event_time) = (median(csv_times), median(event_times));

    // A checkpoint after 30 updates (CartPole-v1 is solved in about 27): the history holds
    // 30 rows.
    let run_dir = std::env::temp_dir().join(format!("rl_bench_ckpt_{}", std::process::id()));
    let env = CartPoleV1::<NdArray>::new(config.ppo.num_envs, 0, &device)?;
    let trainer_config = TrainerConfig::new()
        .with_progress(false)
        .with_max_updates(Some(30))
        .with_checkpoint_every(None)
        .with_out_dir(Some(run_dir.display().to_string()));
    let mut run = Trainer::new(config.init::<B, _>(env, &device)?, trainer_config)?;
    run.run()?;
    let mut checkpoint_times = Vec::new();
    let mut size = 0;
    for i in 0..40 {
        let start = Instant::now();
        let path = run.checkpoint()?.expect("the run has an output directory");
        if i >= 5 {
            checkpoint_times.push(start.elapsed());
        }
        size = std::fs::metadata(path)?.len();
    }
    std::fs::remove_dir_all(&run_dir).ok();
    let checkpoint_time = median(checkpoint_times);

    println!(
        "| per update | time | share of the update |\n|---|---:|---:|\n\
         | update (collect + step), CartPole-v1 example, ndarray | {:.2} ms | 100% |\n\
         | metrics.csv row ({} columns) | {:.1} us | {:.3}% |\n\
         | TensorBoard event ({} scalars) | {:.1} us | {:.3}% |\n\
         | checkpoint ({} KiB, after 30 updates) | {:.2} ms | {:.2}% |",
        update.as_secs_f64() * 1e3,
        MetricsCsv::default_columns().len(),
        csv_time.as_secs_f64() * 1e6,
        100.0 * csv_time.as_secs_f64() / update.as_secs_f64(),
        row.len(),
        event_time.as_secs_f64() * 1e6,
        100.0 * event_time.as_secs_f64() / update.as_secs_f64(),
        size / 1024,
        checkpoint_time.as_secs_f64() * 1e3,
        100.0 * checkpoint_time.as_secs_f64() / update.as_secs_f64(),
    );
    Ok(())
}
