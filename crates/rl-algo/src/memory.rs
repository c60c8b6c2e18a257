//! How much memory a run would need, estimated from its sizes and checked against a limit
//! before anything large is allocated: a size that cannot fit stops with an error that says
//! how much it would need, instead of aborting the process on allocation.

use serde::{Deserialize, Serialize};

use crate::error::{AlgoError, Result};

/// The most memory a run may need, checked (by estimate) before the rollout and the default
/// models are allocated.
///
/// In JSON: `"Machine"`, `{"GiB": 8.0}` or `"Unlimited"`.
///
/// ```
/// use rl_algo::{AlgorithmConfig, DefaultModelConfig, MemoryLimit, PpoConfig};
///
/// let huge = AlgorithmConfig::new()
///     .with_ppo(PpoConfig::new().with_memory_limit(MemoryLimit::GiB(4.0)))
///     .with_model(DefaultModelConfig::new().with_hiddens(vec![65536, 65536]));
/// // Checked when the spaces are known, before any weight is drawn:
/// let spaces = rl_core::Space::unbounded(vec![4])?;
/// let err = huge.memory_check(&spaces, &rl_core::Space::discrete(2)?).unwrap_err();
/// assert!(err.to_string().contains("GiB"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MemoryLimit {
    /// The machine's physical memory (read from `/proc/meminfo`; no check where it cannot be
    /// read). A GPU usually has less, so this only refuses what cannot fit anywhere.
    Machine,
    /// This many GiB (2^30 bytes), > 0.
    GiB(f64),
    /// No check.
    Unlimited,
}

impl MemoryLimit {
    /// The limit in bytes, `None` for no check.
    fn bytes(self) -> Option<f64> {
        match self {
            MemoryLimit::Machine => machine_memory(),
            MemoryLimit::GiB(g) => Some(g * GIB),
            MemoryLimit::Unlimited => None,
        }
    }

    /// Checks the limit itself.
    pub(crate) fn validate(self) -> Result<()> {
        match self {
            MemoryLimit::GiB(g) if !(g > 0.0 && g.is_finite()) => Err(AlgoError::invalid(
                "memory_limit",
                format!("GiB({g})"),
                "must be > 0 and finite",
            )),
            _ => Ok(()),
        }
    }
}

const GIB: f64 = (1u64 << 30) as f64;

/// What a run holds, in the units the estimate counts.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Footprint {
    /// Transitions in one rollout.
    pub transitions: usize,
    /// Observation features per transition (the flat observation width).
    pub obs_width: usize,
    /// Action elements per transition.
    pub action_width: usize,
    /// The model's parameters.
    pub parameters: u64,
    /// Rows of one minibatch.
    pub minibatch_rows: usize,
    /// Activations per minibatch row kept for the backward pass.
    pub activations_per_row: u64,
}

impl Footprint {
    /// `(rollout, model)` in bytes, all f32:
    /// - the rollout: each transition's observation, action and four scalars (log-probability,
    ///   value, advantage, return) twice (as collected, and as the training batch), plus the
    ///   host's reward and flags;
    /// - the model: its parameters four times (weights, gradients, Adam's two moments), and a
    ///   minibatch's activations twice (forward values and their gradients).
    fn bytes(&self) -> (f64, f64) {
        let per_transition = 8.0 * (self.obs_width + self.action_width + 4) as f64 + 8.0;
        let rollout = self.transitions as f64 * per_transition;
        let model = 16.0 * self.parameters as f64
            + 8.0 * self.minibatch_rows as f64 * self.activations_per_row as f64;
        (rollout, model)
    }

    /// Refuses a footprint over `limit`, with how much it would need.
    pub(crate) fn check(&self, limit: MemoryLimit) -> Result<()> {
        let Some(limit_bytes) = limit.bytes() else {
            return Ok(());
        };
        let (rollout, model) = self.bytes();
        if rollout + model <= limit_bytes {
            return Ok(());
        }
        let gib = |b: f64| format!("{:.1} GiB", b / GIB);
        Err(AlgoError::Memory {
            needed: gib(rollout + model),
            detail: format!(
                "rollout {} for {} transitions, model {} for {} parameters",
                gib(rollout),
                self.transitions,
                gib(model),
                self.parameters
            ),
            limit: match limit {
                MemoryLimit::Machine => format!("{} (the machine's memory)", gib(limit_bytes)),
                _ => gib(limit_bytes),
            },
        })
    }
}

/// The machine's physical memory in bytes, where the OS says (Linux's `/proc/meminfo`).
fn machine_memory() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// The parameters of a `d_in -> d_out` linear layer with a bias.
pub(crate) fn linear_parameters(d_in: usize, d_out: usize) -> u64 {
    (d_in as u64 + 1).saturating_mul(d_out as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_counts_rollout_and_model_and_names_both() {
        let f = Footprint {
            transitions: 1 << 20,
            obs_width: 4,
            action_width: 1,
            parameters: 1 << 26,
            minibatch_rows: 1024,
            activations_per_row: 1024,
        };
        let (rollout, model) = f.bytes();
        // 2^20 * (8 * 9 + 8) bytes and 2^26 * 16 + 8 * 2^20 bytes.
        assert_eq!(rollout, 80.0 * (1u64 << 20) as f64);
        assert_eq!(model, (16u64 << 26) as f64 + (8u64 << 20) as f64);
        assert!(f.check(MemoryLimit::GiB(1.2)).is_ok());
        let err = f.check(MemoryLimit::GiB(1.0)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("1.1 GiB") && text.contains("limit of 1.0 GiB"),
            "{text}"
        );
        assert!(f.check(MemoryLimit::Unlimited).is_ok());
        assert!(MemoryLimit::GiB(f64::NAN).validate().is_err());
        assert!(MemoryLimit::GiB(0.0).validate().is_err());
    }
}
