//! rl8's skip connection.

use core::str::FromStr;

use burn::tensor::{Tensor, backend::Backend};

use crate::host::expect_shape;
use crate::{Error, Result};

/// How [`skip_connection`] combines its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipKind {
    /// `x + y`.
    Residual,
    /// `cat([x, y], dim)`.
    Cat,
    /// No skip: `y`.
    NoSkip,
}

impl FromStr for SkipKind {
    type Err = Error;

    /// Parses rl8's names: `"residual"`, `"cat"` and `"none"`.
    ///
    /// ```
    /// use rl_functional::SkipKind;
    ///
    /// assert_eq!("cat".parse::<SkipKind>().unwrap(), SkipKind::Cat);
    /// assert!("sum".parse::<SkipKind>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "residual" => Ok(Self::Residual),
            "cat" => Ok(Self::Cat),
            "none" => Ok(Self::NoSkip),
            other => Err(Error::InvalidArgument {
                function: "SkipKind::from_str",
                argument: "kind",
                value: other.to_string(),
                rule: "no skip connection of that kind: use residual, cat or none",
            }),
        }
    }
}

/// Combines a block's input `x` with its output `y`: `x + y`, `cat([x, y], dim)` or `y`.
///
/// # Errors
/// If the shapes are incompatible (equal for `Residual`, equal except along `dim` for `Cat`) or
/// `dim` is out of range.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rl_functional::{skip_connection, SkipKind};
///
/// let d = Default::default();
/// let x = Tensor::<NdArray, 2>::ones([2, 3], &d);
/// let y = Tensor::<NdArray, 2>::ones([2, 3], &d);
/// assert_eq!(skip_connection(x.clone(), y.clone(), SkipKind::Cat, 1).unwrap().dims(), [2, 6]);
/// assert_eq!(skip_connection(x, y, SkipKind::Residual, 1).unwrap().sum().into_scalar(), 12.0);
/// ```
pub fn skip_connection<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    y: Tensor<B, D>,
    kind: SkipKind,
    dim: usize,
) -> Result<Tensor<B, D>> {
    const F: &str = "skip_connection";
    if dim >= D {
        return Err(Error::InvalidArgument {
            function: F,
            argument: "dim",
            value: dim.to_string(),
            rule: "must be less than the rank of x",
        });
    }
    match kind {
        SkipKind::Residual => {
            expect_shape(F, "y", &y.dims(), &x.dims())?;
            Ok(x + y)
        }
        SkipKind::Cat => {
            let mut expected = x.dims();
            expected[dim] = y.dims()[dim];
            expect_shape(F, "y", &y.dims(), &expected)?;
            Ok(Tensor::cat(vec![x, y], dim))
        }
        SkipKind::NoSkip => Ok(y),
    }
}
