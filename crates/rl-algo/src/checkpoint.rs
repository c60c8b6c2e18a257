//! Checkpoints: everything [`Ppo`](crate::Ppo) needs to continue a run as if it had never
//! stopped, in one file written atomically.
//!
//! The file is `RLCKPT01`, then four sections (each a little-endian `u64` length and its
//! bytes): the engine's state (MessagePack: counters, RNG position, normalizers, episode
//! windows, the observation the next collect continues from, the policy's carried state, the
//! environments' state and the config), the model's parameters and the optimizer's state
//! (Burn's named MessagePack records, full precision) and the caller's own bytes (the
//! trainer's history); last, a CRC-32C of everything before it. Every float is stored bit for
//! bit, so a resumed run repeats an uninterrupted one exactly.

use burn::tensor::{Bool, Tensor, TensorData, backend::Backend};
use rl_core::{Observation, SavedRng};
use serde::{Deserialize, Serialize};

use crate::episodes::Episodes;
use crate::normalizer::{ObservationNormalizer, RewardNormalizer};

/// The first bytes of every checkpoint; the last byte is the format's version.
const MAGIC: &[u8; 8] = b"RLCKPT01";

/// Why a checkpoint could not be written, read or used. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointProblem {
    /// The file does not start like a checkpoint (or is of another format version).
    #[error("not a checkpoint of this format (expected it to start with `RLCKPT01`)")]
    NotACheckpoint,
    /// The file is shorter than its sections say, or its checksum does not match.
    #[error("the file is {0}")]
    Damaged(&'static str),
    /// Part of the state could not be encoded (a checkpoint being written).
    #[error("its {section} cannot be encoded: {detail}")]
    Encode {
        /// Which part.
        section: &'static str,
        /// The encoder's message.
        detail: String,
    },
    /// A section could not be decoded although the checksum matched (written by another
    /// version of this library).
    #[error("its {section} cannot be decoded: {detail}")]
    Decode {
        /// Which section.
        section: &'static str,
        /// The decoder's message.
        detail: String,
    },
    /// The checkpoint was saved by an engine with another config.
    #[error("it was saved with another config ({0}); resume with the run's own config")]
    ConfigDiffers(String),
    /// The checkpoint was saved from another environment.
    #[error("it was saved on environment `{saved}`, this engine runs `{current}`")]
    EnvDiffers {
        /// The environment it was saved on.
        saved: String,
        /// This engine's environment.
        current: String,
    },
    /// The saved model parameters do not fit this model.
    #[error("its model has another architecture: {0}")]
    Architecture(String),
    /// What cannot be saved (yet): the environment cannot save its state, or a collect is
    /// buffered.
    #[error("{0}")]
    Unsupported(String),
}

impl CheckpointProblem {
    /// An encoding failure of `section`.
    pub(crate) fn encode(section: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Encode {
            section,
            detail: error.to_string(),
        }
    }

    /// A decoding failure of `section`.
    pub(crate) fn decode(section: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Decode {
            section,
            detail: error.to_string(),
        }
    }
}

/// The engine's state besides the model and the optimizer.
#[derive(Serialize, Deserialize)]
pub(crate) struct EngineState {
    /// The engine's config as JSON text, compared on load.
    pub config: String,
    /// The environment's name, compared on load.
    pub env: String,
    pub horizons: u64,
    pub trained_steps: u64,
    /// The sampling generator's position.
    pub rng: SavedRng,
    pub last_obs: Option<SavedObservation>,
    pub rewards: RewardNormalizer,
    pub observations: Option<ObservationNormalizer>,
    pub episodes: Episodes,
    /// The policy's carried state ([`Policy::save_carried`](crate::Policy::save_carried)).
    pub policy: Vec<u8>,
    /// The environments' state ([`rl_core::Env::save_state`]).
    pub env_state: Vec<u8>,
}

/// An observation batch on the host.
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedObservation {
    features: TensorData,
    action_mask: Option<TensorData>,
}

impl SavedObservation {
    /// `obs` read to the host (a checkpoint is the one reason to read it back).
    pub fn new<B: Backend>(obs: &Observation<B>) -> Result<Self, CheckpointProblem> {
        if !obs.extra.is_empty() {
            return Err(CheckpointProblem::Unsupported(
                "observations with extra named tensors cannot be checkpointed yet".into(),
            ));
        }
        Ok(Self {
            features: obs.features.to_data(),
            action_mask: obs.action_mask.as_ref().map(|m| m.to_data()),
        })
    }

    /// The observation on `device`.
    pub fn restore<B: Backend>(self, device: &B::Device) -> Observation<B> {
        let mut obs = Observation::new(Tensor::from_data(self.features, device));
        obs.action_mask = self
            .action_mask
            .map(|m| Tensor::<B, 2, Bool>::from_data(m, device));
        obs
    }
}

/// The file's bytes: the magic, the four sections and the checksum.
pub(crate) fn pack(sections: [&[u8]; 4]) -> Vec<u8> {
    let size = MAGIC.len() + sections.iter().map(|s| 8 + s.len()).sum::<usize>() + 4;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(MAGIC);
    for section in sections {
        out.extend_from_slice(&(section.len() as u64).to_le_bytes());
        out.extend_from_slice(section);
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The four sections of a file written by [`pack`], after checking its checksum.
pub(crate) fn unpack(bytes: &[u8]) -> Result<[&[u8]; 4], CheckpointProblem> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(CheckpointProblem::NotACheckpoint);
    }
    let mut rest = &bytes[MAGIC.len()..];
    let mut sections = [&[][..]; 4];
    for section in &mut sections {
        let (len, tail) = rest
            .split_first_chunk::<8>()
            .ok_or(CheckpointProblem::Damaged("truncated"))?;
        let len = usize::try_from(u64::from_le_bytes(*len))
            .ok()
            .filter(|&n| n <= tail.len())
            .ok_or(CheckpointProblem::Damaged("truncated or damaged"))?;
        (*section, rest) = tail.split_at(len);
    }
    let crc: [u8; 4] = rest
        .try_into()
        .map_err(|_| CheckpointProblem::Damaged("truncated or damaged"))?;
    if crc32c::crc32c(&bytes[..bytes.len() - 4]) != u32::from_le_bytes(crc) {
        return Err(CheckpointProblem::Damaged(
            "damaged (its checksum does not match)",
        ));
    }
    Ok(sections)
}

/// The differences between two configs as JSON, `path: saved -> now` each, or `None` when
/// they are equal.
pub(crate) fn config_differences(saved: &str, now: &str) -> Option<String> {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap_or_default();
    let mut out = Vec::new();
    differences(&parse(saved), &parse(now), String::new(), &mut out);
    (!out.is_empty()).then(|| out.join("; "))
}

fn differences(a: &serde_json::Value, b: &serde_json::Value, path: String, out: &mut Vec<String>) {
    use serde_json::Value::Object;
    match (a, b) {
        (Object(x), Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            let null = serde_json::Value::Null;
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                differences(
                    x.get(key).unwrap_or(&null),
                    y.get(key).unwrap_or(&null),
                    sub,
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("`{path}`: saved {a}, now {b}")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_unpack_round_trip_and_damage_is_detected() {
        let file = pack([b"meta", b"", b"optimizer", b"x"]);
        let sections = unpack(&file).unwrap();
        assert_eq!(sections, [&b"meta"[..], b"", b"optimizer", b"x"]);
        // Every truncation and every flipped byte is refused.
        for len in 0..file.len() {
            assert!(unpack(&file[..len]).is_err(), "truncated to {len}");
        }
        for i in 0..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x10;
            assert!(unpack(&bad).is_err(), "byte {i} flipped");
        }
        assert!(matches!(
            unpack(b"PK\x03\x04rest"),
            Err(CheckpointProblem::NotACheckpoint)
        ));
    }

    #[test]
    fn config_differences_name_the_key_path() {
        let saved = r#"{"ppo": {"seed": 1, "gamma": 0.99}, "model": {"hiddens": [64]}}"#;
        let now = r#"{"ppo": {"seed": 2, "gamma": 0.99}, "model": {"hiddens": [64]}}"#;
        assert_eq!(
            config_differences(saved, now).as_deref(),
            Some("`ppo.seed`: saved 1, now 2")
        );
        assert_eq!(config_differences(saved, saved), None);
    }
}
