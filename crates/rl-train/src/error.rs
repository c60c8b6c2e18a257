//! The error type of `rl-train`.

use std::path::PathBuf;

use rl_algo::AlgoError;

/// Everything that can go wrong when configuring or running a training run or writing its
/// outputs.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A trainer setting, stop condition, CSV column or plot setting breaks a rule; nothing
    /// ran.
    #[error("invalid `{field}` = {value}: {rule}")]
    InvalidConfig {
        /// The setting, e.g. `"max_updates"`.
        field: String,
        /// The offending value, printed.
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// The algorithm reported an error (including a statistic a stop condition needs but
    /// the algorithm does not report, [`AlgoError::MissingStat`]).
    #[error(transparent)]
    Algo(#[from] AlgoError),
    /// The output directory holds the outputs of an earlier run, and `overwrite` is off.
    #[error(
        "`{path}` holds the outputs of an earlier run ({found}): choose another output directory, or overwrite it"
    )]
    OutDirInUse {
        /// The output directory.
        path: PathBuf,
        /// The earlier run's files found there, comma-separated.
        found: String,
    },
    /// A run cannot be resumed: its output directory holds no checkpoint, or the trainer's
    /// part of the checkpoint cannot be read.
    #[error("cannot resume from `{path}`: {reason}")]
    Resume {
        /// The output directory or checkpoint.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A CSV file has no column of that name.
    #[error("`{path}` has no column `{column}`; its columns: {available}")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The header's columns, comma-separated.
        available: String,
    },
    /// A run file is not TOML.
    #[error("the run file is not TOML")]
    RunFileSyntax(#[source] toml::de::Error),
    /// Keys of a run file that no config has, by path (`ppo.horizn`), each with the nearest
    /// known key.
    #[error("unknown key{}: {}", if .0.len() > 1 { "s" } else { "" }, rl_algo::UnknownKey::list(.0))]
    UnknownKeys(Vec<rl_algo::UnknownKey>),
    /// A required key of a run file is missing.
    #[error("`{0}` is missing")]
    MissingKey(&'static str),
    /// A value of a run file of the wrong kind or out of range, by path (`ppo.horizon`).
    #[error("`{path}`: {message}")]
    BadValue {
        /// The key's path.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done, e.g. `"create CSV"`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing a CSV file failed, or one of its cells is not a number.
    #[error("{action} `{path}`: {source}")]
    Csv {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// Drawing the learning curve failed.
    #[error("drawing the learning curve: {0}")]
    Plot(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Encoding a PNG image failed.
    #[error("encoding PNG `{path}`: {source}")]
    Png {
        /// The image file being written.
        path: PathBuf,
        /// The encoder's error.
        #[source]
        source: png::EncodingError,
    },
}

/// `Result` with [`TrainError`].
pub type Result<T> = std::result::Result<T, TrainError>;

impl TrainError {
    /// A [`TrainError::InvalidConfig`].
    pub(crate) fn invalid(field: &str, value: impl ToString, rule: impl ToString) -> Self {
        TrainError::InvalidConfig {
            field: field.to_string(),
            value: value.to_string(),
            rule: rule.to_string(),
        }
    }

    /// A [`TrainError::Io`].
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        TrainError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
