//! [`Trainable`]: the seam between the engine and the training runs built on it (rl-train).

use std::path::Path;

use crate::config::Reset;
use crate::stats::{CollectStats, StepStats};

/// What a training loop (rl-train's `Trainer`) needs of an algorithm. Implemented by
/// [`Ppo`](crate::Ppo) (feed-forward and recurrent); each method is the inherent method of the
/// same name.
pub trait Trainable {
    /// Collects one training horizon.
    ///
    /// # Errors
    /// The algorithm's errors.
    fn collect(&mut self) -> crate::Result<CollectStats>;
    /// Collects one deterministic (evaluation) horizon.
    ///
    /// # Errors
    /// The algorithm's errors.
    fn evaluate(&mut self) -> crate::Result<CollectStats>;
    /// Trains on the collected horizon.
    ///
    /// # Errors
    /// The algorithm's errors.
    fn step(&mut self) -> crate::Result<StepStats>;
    /// The config's `env_reset`.
    fn env_reset(&self) -> Reset;
    /// The environments' name.
    fn env_name(&self) -> &str;
    /// Saves the model atomically to [`model_file`](crate::model_file)`(path)`.
    ///
    /// # Errors
    /// [`AlgoError::Record`](crate::AlgoError::Record) or [`AlgoError::Io`](crate::AlgoError::Io)
    /// naming the file.
    fn save_model(&self, path: &Path) -> crate::Result<()>;
    /// Saves the config as JSON, atomically ([`write_atomic`](crate::write_atomic)).
    ///
    /// # Errors
    /// The file cannot be written.
    fn save_config(&self, path: &Path) -> std::io::Result<()>;
    /// The environments' observation and action spaces (what acting with the saved policy
    /// needs besides its config and weights).
    fn spaces(&self) -> crate::Spaces;
    /// The observation normalizer the model's inputs go through, with
    /// `normalize_observations`.
    fn observation_normalizer(&self) -> Option<&crate::ObservationNormalizer>;
    /// Saves a checkpoint with the caller's `extra` bytes, atomically
    /// ([`Ppo::save_checkpoint`](crate::Ppo::save_checkpoint)).
    ///
    /// # Errors
    /// The algorithm cannot be checkpointed now, or the file cannot be written.
    fn save_checkpoint(&self, path: &Path, extra: &[u8]) -> crate::Result<()>;
    /// Restores a checkpoint and returns the caller's bytes saved with it
    /// ([`Ppo::load_checkpoint`](crate::Ppo::load_checkpoint)).
    ///
    /// # Errors
    /// The file cannot be read, is damaged, or was saved with another config.
    fn load_checkpoint(&mut self, path: &Path) -> crate::Result<Vec<u8>>;
}
