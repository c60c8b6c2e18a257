//! A seeded fuzz corpus of configs, feed-forward and recurrent: each starts from a small valid
//! config with a few fields replaced by values drawn from pools of good and bad ones (zeros,
//! negatives, NaN, infinities, values f32 cannot hold, huge sizes, unsorted schedules,
//! activations that do not fit the layers), and goes through JSON, `init`, one `collect` and
//! one `step` under `catch_unwind`. None may panic; a config is either refused with a typed
//! error or trains; and every config that saves loads back as it was.
//!
//! The harness fixes two things so that an accepted config runs in milliseconds: the memory
//! limit is 1 GiB (a huge size is refused by the estimate instead of allocated), and the epoch
//! count stays small (a huge one is valid, only slow).

use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::backend::{Autodiff, NdArray};
use burn::nn::activation::{ActivationConfig, LeakyReluConfig, PReluConfig, SwiGluConfig};
use burn::optim::AdamConfig;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rl_algo::{
    AlgoError, AlgorithmConfig, CellKind, DefaultModelConfig, MemoryLimit, Minibatch, PpoConfig,
    RecurrenceConfig, RecurrentAlgorithmConfig, RecurrentModelConfig, Reset, ScheduleKind,
};
use rl_envs::CartPoleV1;

use crate::boxed;

type B = Autodiff<NdArray>;

const FLOATS: [f64; 13] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -1.0,
    0.0,
    1e-50,
    1e-3,
    0.2,
    0.5,
    0.99,
    1.0,
    2.0,
    1e300,
];
const SIZES: [usize; 12] = [
    0,
    1,
    2,
    3,
    4,
    5,
    8,
    16,
    1 << 30,
    1 << 40,
    usize::MAX / 2,
    usize::MAX,
];

fn float(rng: &mut StdRng) -> f64 {
    FLOATS[rng.random_range(0..FLOATS.len())]
}

fn size(rng: &mut StdRng) -> usize {
    SIZES[rng.random_range(0..SIZES.len())]
}

fn option(rng: &mut StdRng) -> Option<f64> {
    rng.random_bool(0.3).then(|| float(rng))
}

fn schedule(rng: &mut StdRng) -> Option<Vec<(f64, f64)>> {
    rng.random_bool(0.8).then(|| {
        let points = rng.random_range(0..4);
        (0..points)
            .map(|i| {
                let at = if i == 0 && rng.random_bool(0.7) {
                    0.0
                } else {
                    float(rng).abs() * 100.0
                };
                (at, float(rng))
            })
            .collect()
    })
}

fn reset(rng: &mut StdRng) -> Reset {
    match rng.random_range(0..4) {
        0 => Reset::Never,
        k => Reset::Every(k as u64 - 1),
    }
}

fn minibatch(rng: &mut StdRng) -> Minibatch {
    match rng.random_range(0..3) {
        0 => Minibatch::Whole,
        1 => Minibatch::Transitions(size(rng)),
        _ => Minibatch::Sequences(size(rng)),
    }
}

fn activation(rng: &mut StdRng) -> ActivationConfig {
    let width = [1, 4, 8][rng.random_range(0..3)];
    match rng.random_range(0..6) {
        0 => ActivationConfig::Relu,
        1 => ActivationConfig::Tanh,
        2 => PReluConfig::new()
            .with_num_parameters(width)
            .with_alpha(float(rng))
            .into(),
        3 => SwiGluConfig::new(width, [1, 4, 8][rng.random_range(0..3)]).into(),
        4 => LeakyReluConfig::new()
            .with_negative_slope(float(rng))
            .into(),
        _ => ActivationConfig::Gelu,
    }
}

/// The small valid PPO config every case starts from.
fn base_ppo() -> PpoConfig {
    PpoConfig::new()
        .with_num_envs(4)
        .with_horizon(4)
        .with_num_sgd_iters(2)
        .with_memory_limit(MemoryLimit::GiB(1.0))
}

/// `ppo` with `count` fields replaced by drawn values.
fn mutate_ppo(mut c: PpoConfig, count: usize, rng: &mut StdRng) -> PpoConfig {
    for _ in 0..count {
        match rng.random_range(0..24) {
            0 => c.horizon = size(rng),
            1 => c.num_envs = size(rng),
            2 => c.env_reset = reset(rng),
            3 => c.learning_rate = float(rng),
            4 => {
                c.optimizer = AdamConfig::new()
                    .with_beta_1(float(rng) as f32)
                    .with_beta_2(float(rng) as f32)
                    .with_epsilon(float(rng) as f32)
            }
            5 => c.accumulate_grads = rng.random_bool(0.5),
            6 => c.lr_schedule = schedule(rng),
            7 => {
                c.lr_schedule_kind =
                    [ScheduleKind::Step, ScheduleKind::Interp][rng.random_range(0..2)]
            }
            8 => c.entropy_coeff = float(rng),
            9 => c.entropy_coeff_schedule = schedule(rng),
            10 => c.gae_lambda = float(rng),
            11 => c.gamma = float(rng),
            12 => c.minibatch = minibatch(rng),
            13 => c.num_sgd_iters = rng.random_range(0..4),
            14 => c.shuffle_minibatches = rng.random_bool(0.5),
            15 => c.clip_param = float(rng),
            16 => c.vf_clip_param = float(rng),
            17 => c.dual_clip_param = option(rng),
            18 => c.vf_coeff = float(rng),
            19 => c.target_kl_div = option(rng),
            20 => c.max_grad_norm = float(rng),
            21 => c.normalize_rewards = rng.random_bool(0.5),
            22 => c.normalize_observations = rng.random_bool(0.5),
            _ => c.episode_window = size(rng),
        }
    }
    c
}

/// What happened to one case.
#[derive(Debug, Default)]
struct Outcomes {
    trained: usize,
    refused: usize,
    failed_later: usize,
}

impl Outcomes {
    /// Removes the corpus's file and asserts that both kinds of outcome are well represented
    /// (at least `least` each), so that the corpus tests the checks and the training.
    fn finish(self, corpus: &str, least: usize, path: &std::path::Path) {
        let _ = std::fs::remove_file(path);
        eprintln!("{corpus} corpus: {self:?}");
        assert!(
            self.trained >= least && self.refused >= least,
            "{corpus}: {self:?}"
        );
    }

    fn count(&mut self, result: Result<bool, AlgoError>) {
        match result {
            Ok(_) => self.trained += 1,
            // Refused before anything was built.
            Err(
                AlgoError::InvalidConfig { .. }
                | AlgoError::Memory { .. }
                | AlgoError::Mismatch { .. },
            ) => self.refused += 1,
            // A valid config whose first update was not finite (a huge learning rate, say):
            // reported, not trained on.
            Err(AlgoError::NonFinite { .. }) => self.failed_later += 1,
            Err(other) => panic!("an unexpected error: {other}"),
        }
    }
}

/// Saves and reloads `$config` (a `&$ty`), then runs it under `catch_unwind` (`init`, one
/// collect, one step) and counts its outcome in `$outcomes`. A macro: the engine type differs
/// between the configs.
macro_rules! fuzz_case {
    ($config:expr, $ty:ty, $path:expr, $outcomes:expr) => {{
        let config: &$ty = $config;
        let json = serde_json::to_string(config).unwrap();
        let valid = config.validate().is_ok();
        check_saves(config, valid, |p| config.save(p), |p| <$ty>::load(p), $path);
        let result = run_case(&json, || {
            let env = CartPoleV1::new(config.ppo.num_envs.clamp(1, 64), 0, &Default::default())?;
            let mut algo = config.init::<B, _>(boxed(env), &Default::default())?;
            algo.collect()?;
            Ok(algo.step()?.total_loss.is_finite())
        });
        $outcomes.count(result);
    }};
}

/// Runs `case` under `catch_unwind`, panicking with the config's JSON if it panicked.
fn run_case(json: &str, case: impl FnOnce() -> Result<bool, AlgoError>) -> Result<bool, AlgoError> {
    match catch_unwind(AssertUnwindSafe(case)) {
        Ok(result) => result,
        Err(_) => panic!("this config panicked: {json}"),
    }
}

/// A config that validates saves and loads back as it was; one that does not is not saved.
fn check_saves<C: serde::Serialize>(
    config: &C,
    valid: bool,
    save: impl FnOnce(&std::path::Path) -> Result<(), AlgoError>,
    load: impl FnOnce(&std::path::Path) -> Result<C, AlgoError>,
    path: &std::path::Path,
) {
    let _ = std::fs::remove_file(path);
    let saved = save(path);
    assert_eq!(saved.is_ok(), valid, "{saved:?}");
    if valid {
        let back = load(path).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(config).unwrap()
        );
    }
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("rl-fuzz-{}-{name}.json", std::process::id()))
}

#[test]
fn a_thousand_feed_forward_configs_never_panic() {
    let mut rng = StdRng::seed_from_u64(14);
    let mut outcomes = Outcomes::default();
    let path = temp_path("ff");
    for _ in 0..1000 {
        let mutations = rng.random_range(0..4);
        let ppo = mutate_ppo(base_ppo(), mutations, &mut rng);
        let mut model = DefaultModelConfig::new().with_hiddens(vec![8]);
        if rng.random_bool(0.3) {
            let layers = rng.random_range(0..3);
            model.hiddens = (0..layers)
                .map(|_| [0, 1, 8, 1 << 16, 1 << 20][rng.random_range(0..5)])
                .collect();
        }
        if rng.random_bool(0.3) {
            model.activation = activation(&mut rng);
        }
        let config = AlgorithmConfig::new().with_ppo(ppo).with_model(model);
        fuzz_case!(&config, AlgorithmConfig, &path, outcomes);
    }
    outcomes.finish("feed-forward", 200, &path);
}

#[test]
fn three_hundred_recurrent_configs_never_panic() {
    let mut rng = StdRng::seed_from_u64(15);
    let mut outcomes = Outcomes::default();
    let path = temp_path("recurrent");
    for _ in 0..300 {
        let ppo = mutate_ppo(base_ppo(), rng.random_range(0..3), &mut rng);
        let mut recurrence = RecurrenceConfig::new()
            .with_seq_len(2)
            .with_state_reset(Reset::Every(2));
        let mut model = RecurrentModelConfig::new().with_hidden_size(8);
        for _ in 0..rng.random_range(0..3) {
            match rng.random_range(0..5) {
                0 => recurrence.seq_len = size(&mut rng),
                1 => recurrence.state_reset = reset(&mut rng),
                2 => model.hidden_size = [0, 1, 4, 512, 1 << 16][rng.random_range(0..5)],
                3 => model.num_layers = rng.random_range(0..4),
                _ => model.cell = [CellKind::Lstm, CellKind::Gru][rng.random_range(0..2)],
            }
        }
        let config = RecurrentAlgorithmConfig::new()
            .with_ppo(ppo)
            .with_recurrence(recurrence)
            .with_model(model);
        fuzz_case!(&config, RecurrentAlgorithmConfig, &path, outcomes);
    }
    outcomes.finish("recurrent", 60, &path);
}
