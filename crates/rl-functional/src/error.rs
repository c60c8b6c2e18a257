//! The error type shared by every function of this crate.

use thiserror::Error;

/// What went wrong in a call to one of this crate's functions.
///
/// Every variant names the function and the argument at fault, so a message such as
/// `generalized_advantage_estimate: argument values has shape [4, 9], expected [4, 9, ...] matching rewards [4, 8]`
/// tells the caller exactly what to fix.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Error {
    /// A tensor argument has the wrong shape.
    #[error("{function}: argument `{argument}` has shape {actual:?}, expected {expected}")]
    Shape {
        /// The function that was called.
        function: &'static str,
        /// The argument whose shape is wrong.
        argument: &'static str,
        /// The shape that was passed.
        actual: Vec<usize>,
        /// A description of the shape that was expected.
        expected: String,
    },
    /// A scalar argument is outside its valid range.
    #[error("{function}: argument `{argument}` = {value} is invalid: {rule}")]
    InvalidArgument {
        /// The function that was called.
        function: &'static str,
        /// The argument whose value is invalid.
        argument: &'static str,
        /// The value that was passed, formatted.
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// Reading a tensor back from its device failed.
    #[error("{function}: could not read `{argument}` from the device: {message}")]
    Read {
        /// The function that was called.
        function: &'static str,
        /// The argument that could not be read.
        argument: &'static str,
        /// The backend's message.
        message: String,
    },
}

/// Shorthand for `Result<T, rl_functional::Error>`.
pub type Result<T> = core::result::Result<T, Error>;
