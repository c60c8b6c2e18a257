//! The error type of `rl-algo`.

use std::path::PathBuf;

use rl_core::CoreError;

/// Everything that can go wrong when configuring, running or saving an algorithm.
#[derive(Debug, thiserror::Error)]
pub enum AlgoError {
    /// A config value breaks a rule; nothing was built.
    #[error("invalid `{field}` = {value}: {rule}")]
    InvalidConfig {
        /// The config field, e.g. `"clip_param"`.
        field: String,
        /// The offending value, printed.
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// A config document has keys its config does not have (each with the nearest known key).
    #[error("unknown config keys: {}", crate::UnknownKey::list(.0))]
    UnknownKeys(Vec<crate::config_file::UnknownKey>),
    /// A config document's value is of the wrong kind, by path (`ppo.horizon`).
    #[error("config `{path}`: {message}")]
    ConfigValue {
        /// The key's path.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A config document is not JSON.
    #[error("config is not JSON: {0}")]
    ConfigSyntax(#[source] serde_json::Error),
    /// The run would need more memory than its `memory_limit`; nothing large was allocated.
    #[error(
        "the run would need about {needed} ({detail}), more than the limit of {limit} (`memory_limit`)"
    )]
    Memory {
        /// The estimate, e.g. `"68.3 GiB"`.
        needed: String,
        /// Its parts.
        detail: String,
        /// The limit.
        limit: String,
    },
    /// The environment, a model or a distribution reported an error.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The environment's `reset` or `step` returned an error.
    #[error("environment `{env}` failed at {at}: {source}")]
    Env {
        /// The environment's name.
        env: String,
        /// Where: the reset or the step of which collect.
        at: String,
        /// The environment's error (boxed: it is large, and rare).
        #[source]
        source: Box<CoreError>,
    },
    /// A functional op (advantage, loss, gradient clipping) reported an error.
    #[error(transparent)]
    Functional(#[from] rl_functional::Error),
    /// A reward, observation, loss or gradient norm was NaN or infinite; nothing was trained on
    /// it.
    #[error("non-finite {what}: {detail}")]
    NonFinite {
        /// What was not finite, e.g. `"reward"` or `"loss"`.
        what: String,
        /// Where: which environment, which update.
        detail: String,
    },
    /// [`step`](crate::Algorithm::step) was called without a fresh
    /// [`collect`](crate::Algorithm::collect).
    #[error("step() needs a training collect() first: nothing is buffered")]
    NotBuffered,
    /// The environment and the model disagree about a shape or a space.
    #[error("{what}: expected {expected}, got {actual}")]
    Mismatch {
        /// What was compared.
        what: String,
        /// What was expected.
        expected: String,
        /// What was found.
        actual: String,
    },
    /// A statistic asked for by name ([`Stats::require`](crate::Stats::require)) is missing.
    #[error("statistic `{key}` is missing; available: {available}")]
    MissingStat {
        /// The key asked for.
        key: String,
        /// The keys present, comma-separated.
        available: String,
    },
    /// Reading or writing a file failed (a failed write leaves the previous file in place).
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done, e.g. `"write model"`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint could not be written, read or used; the engine was not changed.
    #[error("checkpoint `{path}`: {problem}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        problem: crate::checkpoint::CheckpointProblem,
    },
    /// Burn could not encode or decode a model's parameters.
    #[error("{action} `{path}`: {source}")]
    Record {
        /// `"save"` or `"load"`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Burn's error.
        #[source]
        source: burn::record::RecorderError,
    },
    /// A model file is not one, or is damaged.
    #[error("model file `{path}`: {problem}")]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: crate::record::ModelFileProblem,
    },
    /// The parameters saved in a file belong to another architecture than the model they were
    /// loaded into (more or fewer parameters, or other shapes).
    #[error("load `{path}`: {detail}")]
    Architecture {
        /// The file.
        path: PathBuf,
        /// What differs.
        detail: String,
    },
}

/// `Result` with [`AlgoError`].
pub type Result<T> = std::result::Result<T, AlgoError>;

impl AlgoError {
    /// An [`AlgoError::InvalidConfig`].
    pub(crate) fn invalid(field: &str, value: impl ToString, rule: impl ToString) -> Self {
        AlgoError::InvalidConfig {
            field: field.to_string(),
            value: value.to_string(),
            rule: rule.to_string(),
        }
    }
}
