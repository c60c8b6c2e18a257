//! The run file: one TOML file that says what to train (the environment, the algorithm and its
//! model, the trainer's limits), read with every unknown key and bad value named by its path.

use std::path::Path;

use rl_algo::{
    AlgoError, AlgorithmConfig, DefaultModelConfig, PpoConfig, RecurrenceConfig,
    RecurrentAlgorithmConfig, RecurrentModelConfig, UnknownKey, read_over_defaults,
};
use rl_core::EnvConfig;
use rl_envs::EnvKind;
use serde::Serialize;
use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::error::TrainError;
use crate::trainer::TrainerConfig;

/// A [`TrainError::BadValue`] for the value at `path`.
fn bad(path: impl Into<String>, message: impl Into<String>) -> TrainError {
    TrainError::BadValue {
        path: path.into(),
        message: message.into(),
    }
}

/// The backends a run can train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// CPU (burn-ndarray).
    Ndarray,
    /// WebGPU (a build with the `wgpu` feature).
    Wgpu,
    /// CPU (burn-flex, the fastest CPU backend here; a build with the `flex` feature).
    Flex,
}

impl BackendKind {
    /// Every backend, in the order the command line lists them.
    pub const ALL: [BackendKind; 3] = [BackendKind::Ndarray, BackendKind::Flex, BackendKind::Wgpu];

    /// The name a run file and the command line use (`"ndarray"`, `"flex"`, `"wgpu"`).
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Ndarray => "ndarray",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Flex => "flex",
        }
    }
}

impl std::str::FromStr for BackendKind {
    type Err = TrainError;

    /// The backend called `name`.
    fn from_str(name: &str) -> Result<Self, TrainError> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| {
                bad(
                    "backend",
                    format!("\"{name}\": expected ndarray, flex or wgpu"),
                )
            })
    }
}

/// The environment of a run: which one, and its reset config.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvSpec {
    /// Which environment.
    pub kind: EnvKind,
    /// The keys given at every reset (booleans are 0 or 1).
    pub config: EnvConfig,
}

/// The algorithm of a run, with its model.
#[derive(Debug)]
pub enum AlgorithmSpec {
    /// Feed-forward PPO (`algorithm = "ppo"`).
    Ppo(AlgorithmConfig),
    /// Recurrent PPO (`algorithm = "recurrent_ppo"`).
    RecurrentPpo(RecurrentAlgorithmConfig),
}

impl AlgorithmSpec {
    /// Checks the algorithm's config ([`AlgorithmConfig::validate`] or
    /// [`RecurrentAlgorithmConfig::validate`]), before anything is built for it.
    ///
    /// # Errors
    /// [`AlgoError::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<(), AlgoError> {
        match self {
            AlgorithmSpec::Ppo(c) => c.validate(),
            AlgorithmSpec::RecurrentPpo(c) => c.validate(),
        }
    }

    /// The transitions an update's unit holds: 1, or recurrent PPO's `seq_len`.
    pub fn unit(&self) -> usize {
        match self {
            AlgorithmSpec::Ppo(_) => 1,
            AlgorithmSpec::RecurrentPpo(c) => c.recurrence.seq_len.max(1),
        }
    }

    /// The PPO hyperparameters.
    pub fn ppo(&self) -> &PpoConfig {
        match self {
            AlgorithmSpec::Ppo(c) => &c.ppo,
            AlgorithmSpec::RecurrentPpo(c) => &c.ppo,
        }
    }

    /// The PPO hyperparameters, to change.
    pub fn ppo_mut(&mut self) -> &mut PpoConfig {
        match self {
            AlgorithmSpec::Ppo(c) => &mut c.ppo,
            AlgorithmSpec::RecurrentPpo(c) => &mut c.ppo,
        }
    }
}

/// What a run file says: the environment, the algorithm and its model, the trainer's limits.
///
/// ```toml
/// algorithm = "ppo"          # or "recurrent_ppo"
/// backend = "ndarray"        # optional: ndarray, flex or wgpu
///
/// [env]
/// name = "CartPole-v1"       # an rl-envs environment (rl_envs::EnvKind)
/// length = 0.5               # its reset config keys, if any
///
/// [ppo]                      # rl_algo::PpoConfig, over its defaults
/// num_envs = 16
/// minibatch = { Transitions = 256 }
///
/// [model]                    # DefaultModelConfig, or RecurrentModelConfig
/// hiddens = [64, 64]
///
/// [recurrence]               # recurrent_ppo only: RecurrenceConfig
/// seq_len = 8
///
/// [trainer]                  # rl_train::TrainerConfig, over its defaults
/// max_updates = 500
/// ```
///
/// A section holds only the keys that differ from the defaults; a key that no config has is an
/// error ([`TrainError::UnknownKeys`]), as is a value of the wrong kind
/// ([`TrainError::BadValue`]).
#[derive(Debug)]
pub struct RunFile {
    /// The backend, unless the command line chooses it.
    pub backend: Option<BackendKind>,
    /// The environment.
    pub env: EnvSpec,
    /// The algorithm and its model.
    pub algorithm: AlgorithmSpec,
    /// The trainer's settings (`out_dir` and `overwrite` come from the command line).
    pub trainer: TrainerConfig,
}

const PPO: &str = "ppo";
const RECURRENT_PPO: &str = "recurrent_ppo";
const TOP_LEVEL: [&str; 7] = [
    "algorithm",
    "backend",
    "env",
    "ppo",
    "model",
    "recurrence",
    "trainer",
];

impl RunFile {
    /// Reads the run file at `path`.
    ///
    /// # Errors
    /// [`TrainError::Io`], or those of [`RunFile::parse`].
    pub fn read(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TrainError::io("read run file", path, source))?;
        Self::parse(&text)
    }

    /// Reads a run file's text. Every key is checked before anything is built: unknown keys
    /// are listed together; a bad value is named by its path.
    ///
    /// # Errors
    /// [`TrainError`].
    pub fn parse(text: &str) -> Result<Self, TrainError> {
        let mut table: Table = text.parse().map_err(TrainError::RunFileSyntax)?;
        let unknown: Vec<UnknownKey> = table
            .keys()
            .filter(|k| !TOP_LEVEL.contains(&k.as_str()))
            .map(|k| UnknownKey::among(k.clone(), k, TOP_LEVEL.iter().copied()))
            .collect();
        if !unknown.is_empty() {
            return Err(TrainError::UnknownKeys(unknown));
        }
        let recurrent = match table.remove("algorithm") {
            Some(Value::String(s)) if s == PPO => false,
            Some(Value::String(s)) if s == RECURRENT_PPO => true,
            Some(other) => {
                return Err(bad(
                    "algorithm",
                    format!("{other}: expected \"{PPO}\" or \"{RECURRENT_PPO}\""),
                ));
            }
            None => return Err(TrainError::MissingKey("algorithm")),
        };
        let backend = table
            .remove("backend")
            .map(|v| {
                v.try_into::<BackendKind>()
                    .map_err(|e| bad("backend", e.to_string()))
            })
            .transpose()?;
        let env = env_spec(table.remove("env").ok_or(TrainError::MissingKey("env"))?)?;
        let ppo = section(table.remove("ppo"), &PpoConfig::new(), "ppo")?;
        let model = table.remove("model");
        let algorithm = if recurrent {
            let recurrence = section(
                table.remove("recurrence"),
                &RecurrenceConfig::new(),
                "recurrence",
            )?;
            let model = section(model, &RecurrentModelConfig::new(), "model")?;
            AlgorithmSpec::RecurrentPpo(
                RecurrentAlgorithmConfig::new()
                    .with_ppo(ppo)
                    .with_recurrence(recurrence)
                    .with_model(model),
            )
        } else {
            if table.contains_key("recurrence") {
                return Err(bad(
                    "recurrence",
                    format!("only for algorithm = \"{RECURRENT_PPO}\""),
                ));
            }
            let model = section(model, &DefaultModelConfig::new(), "model")?;
            AlgorithmSpec::Ppo(AlgorithmConfig::new().with_ppo(ppo).with_model(model))
        };
        let trainer = section(table.remove("trainer"), &TrainerConfig::new(), "trainer")?;
        for (field, set) in [
            ("trainer.out_dir", trainer.out_dir.is_some()),
            ("trainer.overwrite", trainer.overwrite),
        ] {
            if set {
                return Err(bad(
                    field,
                    "given on the command line (`--out`, `--overwrite`)",
                ));
            }
        }
        Ok(Self {
            backend,
            env,
            algorithm,
            trainer,
        })
    }

    /// The run file as TOML, every key written out (what a run saves as `run.toml`).
    ///
    /// # Errors
    /// [`TrainError::BadValue`] naming a section TOML cannot hold (an integer above
    /// `i64::MAX`, such as a `--seed` that large).
    pub fn to_toml(&self) -> Result<String, TrainError> {
        let mut table = Table::new();
        let (name, sections) = match &self.algorithm {
            AlgorithmSpec::Ppo(c) => (
                PPO,
                vec![
                    ("ppo", to_value(&c.ppo, "ppo")?),
                    ("model", to_value(&c.model, "model")?),
                ],
            ),
            AlgorithmSpec::RecurrentPpo(c) => (
                RECURRENT_PPO,
                vec![
                    ("ppo", to_value(&c.ppo, "ppo")?),
                    ("recurrence", to_value(&c.recurrence, "recurrence")?),
                    ("model", to_value(&c.model, "model")?),
                ],
            ),
        };
        table.insert("algorithm".into(), Value::String(name.into()));
        if let Some(backend) = self.backend {
            table.insert("backend".into(), to_value(&backend, "backend")?);
        }
        let mut env = Table::new();
        env.insert("name".into(), Value::String(self.env.kind.name().into()));
        for (key, value) in &self.env.config {
            env.insert(key.clone(), Value::Float(*value));
        }
        table.insert("env".into(), Value::Table(env));
        for (key, value) in sections {
            table.insert(key.into(), value);
        }
        let mut trainer = self.trainer.clone();
        trainer.out_dir = None;
        trainer.overwrite = false;
        table.insert("trainer".into(), to_value(&trainer, "trainer")?);
        toml::to_string(&table).map_err(|e| bad("", format!("cannot be written as TOML: {e}")))
    }
}

/// `value`, the section `name`, as a TOML value.
fn to_value<T: Serialize>(value: &T, name: &str) -> Result<Value, TrainError> {
    Value::try_from(value).map_err(|e| bad(name, format!("cannot be written as TOML: {e}")))
}

/// `[env]`: `name` and the environment's reset keys.
fn env_spec(value: Value) -> Result<EnvSpec, TrainError> {
    let Value::Table(mut table) = value else {
        return Err(bad("env", "expected a table"));
    };
    let kind = match table.remove("name") {
        Some(Value::String(name)) => name
            .parse::<EnvKind>()
            .map_err(|e| bad("env.name", e.to_string()))?,
        Some(other) => return Err(bad("env.name", format!("{other}: expected a string"))),
        None => return Err(TrainError::MissingKey("env.name")),
    };
    let unknown: Vec<UnknownKey> = table
        .keys()
        .filter(|k| !kind.config_keys().contains(&k.as_str()))
        .map(|k| UnknownKey::among(format!("env.{k}"), k, kind.config_keys().iter().copied()))
        .collect();
    if !unknown.is_empty() {
        return Err(TrainError::UnknownKeys(unknown));
    }
    let config = table
        .into_iter()
        .map(|(key, value)| {
            let number = match value {
                Value::Float(x) => x,
                Value::Integer(i) => i as f64,
                Value::Boolean(b) => f64::from(u8::from(b)),
                other => {
                    return Err(bad(
                        format!("env.{key}"),
                        format!("{other}: expected a number"),
                    ));
                }
            };
            Ok((key, number))
        })
        .collect::<Result<EnvConfig, _>>()?;
    Ok(EnvSpec { kind, config })
}

/// The section `name` of type `T`: the file's keys over `default`'s
/// ([`rl_algo::read_over_defaults`]).
fn section<T: Serialize + DeserializeOwned + Clone>(
    given: Option<Value>,
    default: &T,
    name: &str,
) -> Result<T, TrainError> {
    let Some(given) = given else {
        return Ok(default.clone());
    };
    if !given.is_table() {
        return Err(bad(name, "expected a table"));
    }
    non_finite(&given, name)?;
    let json = serde_json::to_value(&given).map_err(|e| bad(name, e.to_string()))?;
    read_over_defaults(json, default, name).map_err(|e| match e {
        AlgoError::UnknownKeys(keys) => TrainError::UnknownKeys(keys),
        // The first line: TOML's own text goes on to repeat the key.
        AlgoError::ConfigValue { path, message } => {
            bad(path, message.lines().next().unwrap_or_default())
        }
        other => TrainError::Algo(other),
    })
}

/// Refuses a NaN or infinite number under `path` (JSON, which the sections are read through,
/// has none; the configs would refuse it anyway).
fn non_finite(value: &Value, path: &str) -> Result<(), TrainError> {
    match value {
        Value::Float(x) if !x.is_finite() => Err(bad(path, format!("{x}: not a finite number"))),
        Value::Table(t) => t
            .iter()
            .try_for_each(|(k, v)| non_finite(v, &format!("{path}.{k}"))),
        Value::Array(items) => items.iter().try_for_each(|v| non_finite(v, path)),
        _ => Ok(()),
    }
}
