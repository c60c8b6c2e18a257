//! The error type shared by every fallible function of this crate.

use thiserror::Error;

/// What went wrong in a call into `rl-core` (or into an environment built on it).
///
/// Each variant names the thing at fault, so the message alone tells the caller what to fix.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CoreError {
    /// A tensor (or host buffer) has the wrong shape.
    #[error("{what}: shape {actual:?}, expected {expected}")]
    Shape {
        /// The tensor or argument whose shape is wrong.
        what: String,
        /// A description of the shape that was expected.
        expected: String,
        /// The shape that was found.
        actual: Vec<usize>,
    },
    /// An invalid space definition, or a value that lies outside its space.
    #[error("{what}: {reason}")]
    Space {
        /// The space or value at fault.
        what: String,
        /// The rule that was broken.
        reason: String,
    },
    /// A discrete action was given where a continuous one was expected, or the reverse.
    #[error("expected a {expected} action, got a {actual} action")]
    ActionKind {
        /// The kind that was expected (`"discrete"` or `"continuous"`).
        expected: &'static str,
        /// The kind that was given.
        actual: &'static str,
    },
    /// An environment-specific failure.
    #[error("environment `{env}`: {message}")]
    Env {
        /// The environment's name.
        env: String,
        /// What went wrong.
        message: String,
    },
    /// A NaN or infinite value in an observation, reward or action.
    #[error("{what} holds a non-finite value (NaN or infinity) in row {index}")]
    NonFinite {
        /// The tensor that holds the bad value.
        what: String,
        /// The first row (index along dimension 0) that holds a non-finite value.
        index: usize,
    },
    /// A named tensor was asked for but is not there.
    #[error("no tensor named `{key}`")]
    MissingKey {
        /// The name that was asked for.
        key: String,
    },
    /// An error from one of `rl-functional`'s functions.
    #[error(transparent)]
    Functional(#[from] rl_functional::Error),
}

/// Shorthand for `Result<T, CoreError>`.
pub type Result<T> = core::result::Result<T, CoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_culprit() {
        let err = CoreError::Shape {
            what: "action".into(),
            expected: "[4, 1]".into(),
            actual: vec![3, 1],
        };
        assert_eq!(err.to_string(), "action: shape [3, 1], expected [4, 1]");
        let err = CoreError::NonFinite {
            what: "reward".into(),
            index: 7,
        };
        assert!(err.to_string().contains("reward"));
        assert!(err.to_string().contains("row 7"));
        let err = CoreError::ActionKind {
            expected: "discrete",
            actual: "continuous",
        };
        assert_eq!(
            err.to_string(),
            "expected a discrete action, got a continuous action"
        );
    }
}
