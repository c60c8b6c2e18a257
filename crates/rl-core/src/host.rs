//! Reading tensors back to the host, and small checks on host buffers (crate-private).

use burn::tensor::{Int, Tensor, backend::Backend};
use rl_functional::host;

use crate::{CoreError, Result};

/// The error for a failed device-to-host read of `what`.
///
/// `CoreError` has no dedicated variant for this; a failed read is reported as an `Env` error
/// whose `env` is `"device"`.
pub(crate) fn read_error(what: &str, err: impl core::fmt::Display) -> CoreError {
    CoreError::Env {
        env: "device".to_string(),
        message: format!("reading `{what}` back to the host failed: {err}"),
    }
}

/// The values of a float tensor, row-major, as `f32`.
pub(crate) fn read_f32<B: Backend, const D: usize>(
    tensor: Tensor<B, D>,
    what: &str,
) -> Result<Vec<f32>> {
    host::read_f32(tensor, "rl-core", "tensor").map_err(|err| read_error(what, err))
}

/// The values of an int tensor, row-major, as `i64`.
pub(crate) fn read_i64<B: Backend, const D: usize>(
    tensor: Tensor<B, D, Int>,
    what: &str,
) -> Result<Vec<i64>> {
    host::read_i64(tensor, "rl-core", "tensor").map_err(|err| read_error(what, err))
}

/// The first of `items`, or a shape error naming `what` (e.g. `"Action::cat"`) when there is
/// none: every `cat` needs at least one batch.
pub(crate) fn first_item<'a, T>(items: &'a [T], what: &str) -> Result<&'a T> {
    items.first().ok_or_else(|| CoreError::Shape {
        what: format!("{what}: items"),
        expected: "at least one batch".to_string(),
        actual: vec![0],
    })
}

/// The row (index along dimension 0) of the first non-finite value in a row-major buffer whose
/// rows hold `row_len` values each.
pub(crate) fn first_non_finite_row(values: &[f32], row_len: usize) -> Option<usize> {
    values
        .iter()
        .position(|v| !v.is_finite())
        .map(|i| i / row_len.max(1))
}

/// Clamps `range` to `0..n`, the way slicing clamps in NumPy and PyTorch; an inverted range
/// becomes empty.
pub(crate) fn clamp_range(range: core::ops::Range<usize>, n: usize) -> core::ops::Range<usize> {
    let end = range.end.min(n);
    let start = range.start.min(end);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_rows() {
        assert_eq!(first_non_finite_row(&[0.0, 1.0, 2.0, 3.0], 2), None);
        assert_eq!(
            first_non_finite_row(&[0.0, 1.0, 2.0, f32::NAN, f32::INFINITY], 2),
            Some(1)
        );
        assert_eq!(first_non_finite_row(&[f32::NEG_INFINITY], 0), Some(0));
    }

    #[test]
    #[allow(clippy::reversed_empty_ranges)] // an inverted range is one of the cases under test
    fn ranges_clamp() {
        assert_eq!(clamp_range(2..5, 10), 2..5);
        assert_eq!(clamp_range(8..15, 10), 8..10);
        assert_eq!(clamp_range(12..15, 10), 10..10);
        assert_eq!(clamp_range(5..2, 10), 2..2);
    }
}
