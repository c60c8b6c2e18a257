//! Observation and action spaces.
//!
//! A [`Space`] describes the values one environment of a batch produces or accepts. Batched
//! values are checked row by row against it: a batch of N values is a flat row-major buffer of
//! `N * flat_dim()` elements.

use serde::{Deserialize, Serialize};

use crate::{CoreError, Result};

/// The set of values one environment's observation or action can take.
///
/// Build spaces with the checked constructors ([`Space::discrete`], [`Space::multi_discrete`],
/// [`Space::boxed`], [`Space::unbounded`]); a space built directly or deserialized can be
/// checked with [`Space::validate`].
///
/// Serialization note: bounds are `f32` and may be infinite; formats without infinities (such
/// as JSON through `serde_json`, which writes them as `null`) cannot round-trip unbounded boxes.
///
/// ```
/// use rl_core::Space;
///
/// let actions = Space::multi_discrete(vec![3, 2])?;
/// assert_eq!(actions.shape(), vec![2]);
/// assert!(actions.contains_discrete(&[2, 1, 0, 0]).is_ok()); // two rows
/// assert!(actions.contains_discrete(&[2, 2]).is_err()); // 2 is not < 2
///
/// let obs = Space::boxed(vec![2], vec![-1.0], vec![1.0])?;
/// assert_eq!(obs, Space::Box { shape: vec![2], low: vec![-1.0; 2], high: vec![1.0; 2] });
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Space {
    /// One categorical value in `0..n`.
    Discrete {
        /// Number of categories (at least 1).
        n: usize,
    },
    /// Several independent categorical values; element `i` lies in `0..nvec[i]`.
    MultiDiscrete {
        /// Number of categories of each element (non-empty, each at least 1).
        nvec: Vec<usize>,
    },
    /// A box of real values with per-element bounds.
    Box {
        /// Shape of one value (non-empty, no zero dimension).
        shape: Vec<usize>,
        /// Lower bound of each element, row-major, `product(shape)` long.
        #[serde(with = "bounds")]
        low: Vec<f32>,
        /// Upper bound of each element, row-major, `product(shape)` long.
        #[serde(with = "bounds")]
        high: Vec<f32>,
    },
}

/// Box bounds in serde: numbers, with the infinities as the strings `"inf"` and `"-inf"` (JSON
/// has no infinity: `serde_json` would write `null` and could not read it back).
mod bounds {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Bound {
        Number(f32),
        Infinite(String),
    }

    pub fn serialize<S: Serializer>(values: &[f32], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(|&v| match v {
            f32::INFINITY => Bound::Infinite("inf".into()),
            f32::NEG_INFINITY => Bound::Infinite("-inf".into()),
            v => Bound::Number(v),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f32>, D::Error> {
        Vec::<Bound>::deserialize(deserializer)?
            .into_iter()
            .map(|b| match b {
                Bound::Number(v) => Ok(v),
                Bound::Infinite(s) if s == "inf" => Ok(f32::INFINITY),
                Bound::Infinite(s) if s == "-inf" => Ok(f32::NEG_INFINITY),
                Bound::Infinite(s) => Err(D::Error::custom(format!(
                    "a bound is a number, \"inf\" or \"-inf\", not {s:?}"
                ))),
            })
            .collect()
    }
}

fn space_error(what: &str, reason: impl Into<String>) -> CoreError {
    CoreError::Space {
        what: what.to_string(),
        reason: reason.into(),
    }
}

/// Expands a bound of length 1 to `len`, or checks that it already has length `len`.
fn expand_bound(name: &str, bound: Vec<f32>, len: usize) -> Result<Vec<f32>> {
    match bound.len() {
        l if l == len => Ok(bound),
        1 => Ok(vec![bound[0]; len]),
        l => Err(space_error(
            "Space::boxed",
            format!("`{name}` has {l} values, expected 1 or product(shape) = {len}"),
        )),
    }
}

impl Space {
    /// A discrete space of `n` categories. Fails if `n` is 0.
    pub fn discrete(n: usize) -> Result<Self> {
        let space = Self::Discrete { n };
        space.validate()?;
        Ok(space)
    }

    /// A multi-discrete space. Fails if `nvec` is empty or holds a 0.
    pub fn multi_discrete(nvec: Vec<usize>) -> Result<Self> {
        let space = Self::MultiDiscrete { nvec };
        space.validate()?;
        Ok(space)
    }

    /// A box of the given shape and bounds.
    ///
    /// `low` and `high` each hold either one value (used for every element) or
    /// `product(shape)` values; they are stored expanded to `product(shape)`. Fails if `shape`
    /// is empty or has a zero dimension, if a bound has another length, if a bound is NaN, or
    /// if `low > high` for some element.
    pub fn boxed(shape: Vec<usize>, low: Vec<f32>, high: Vec<f32>) -> Result<Self> {
        let len = check_box_shape(&shape)?;
        let low = expand_bound("low", low, len)?;
        let high = expand_bound("high", high, len)?;
        let space = Self::Box { shape, low, high };
        space.validate()?;
        Ok(space)
    }

    /// A box of the given shape with bounds `-inf..=inf`.
    pub fn unbounded(shape: Vec<usize>) -> Result<Self> {
        Self::boxed(shape, vec![f32::NEG_INFINITY], vec![f32::INFINITY])
    }

    /// Checks the rules of the checked constructors (useful after deserializing).
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Discrete { n } => {
                if *n == 0 {
                    return Err(space_error("Space::Discrete", "n must be at least 1"));
                }
            }
            Self::MultiDiscrete { nvec } => {
                if nvec.is_empty() {
                    return Err(space_error("Space::MultiDiscrete", "nvec is empty"));
                }
                if let Some(i) = nvec.iter().position(|&n| n == 0) {
                    return Err(space_error(
                        "Space::MultiDiscrete",
                        format!("nvec[{i}] is 0; every element needs at least 1 category"),
                    ));
                }
            }
            Self::Box { shape, low, high } => {
                let what = "Space::Box";
                let len = check_box_shape(shape)?;
                if low.len() != len || high.len() != len {
                    return Err(space_error(
                        what,
                        format!(
                            "low and high have {} and {} values, expected product(shape) = {len}",
                            low.len(),
                            high.len()
                        ),
                    ));
                }
                for (i, (&lo, &hi)) in low.iter().zip(high).enumerate() {
                    if lo.is_nan() || hi.is_nan() {
                        return Err(space_error(what, format!("bound {i} is NaN")));
                    }
                    if lo > hi {
                        return Err(space_error(
                            what,
                            format!("low[{i}] = {lo} is greater than high[{i}] = {hi}"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The shape of one value: `[1]` for `Discrete` (one action element), `[nvec.len()]` for
    /// `MultiDiscrete`, `shape` for `Box`.
    pub fn shape(&self) -> Vec<usize> {
        match self {
            Self::Discrete { .. } => vec![1],
            Self::MultiDiscrete { nvec } => vec![nvec.len()],
            Self::Box { shape, .. } => shape.clone(),
        }
    }

    /// Number of elements of one value: the product of [`Space::shape`].
    ///
    /// Saturates at `usize::MAX` for a (necessarily unvalidated) box whose product overflows.
    pub fn flat_dim(&self) -> usize {
        self.shape()
            .iter()
            .fold(1usize, |acc, &d| acc.saturating_mul(d))
    }

    /// Whether values are categorical (`Discrete` or `MultiDiscrete`).
    pub fn is_discrete(&self) -> bool {
        !matches!(self, Self::Box { .. })
    }

    /// The number of categories of each element, or `None` for a `Box`.
    pub fn num_categories(&self) -> Option<Vec<usize>> {
        match self {
            Self::Discrete { n } => Some(vec![*n]),
            Self::MultiDiscrete { nvec } => Some(nvec.clone()),
            Self::Box { .. } => None,
        }
    }

    /// The width of an action mask for this action space ([`crate::Observation::action_mask`]):
    /// one flag per category of every element, element after element (`n` for `Discrete(n)`,
    /// the sum of `nvec` for `MultiDiscrete`, as Gymnasium concatenates them); `None` for a `Box`,
    /// whose actions cannot be masked.
    ///
    /// ```
    /// use rl_core::Space;
    ///
    /// assert_eq!(Space::multi_discrete(vec![2, 3, 5])?.mask_width(), Some(10));
    /// assert_eq!(Space::unbounded(vec![2])?.mask_width(), None);
    /// # Ok::<(), rl_core::CoreError>(())
    /// ```
    pub fn mask_width(&self) -> Option<usize> {
        self.num_categories()
            .map(|nvec| nvec.iter().fold(0usize, |a, &n| a.saturating_add(n)))
    }

    /// The name of the action kind this space takes: `"discrete"` or `"continuous"`.
    pub fn kind_name(&self) -> &'static str {
        if self.is_discrete() {
            "discrete"
        } else {
            "continuous"
        }
    }

    /// Checks that `values`, a flat row-major batch of `flat_dim()`-element rows, lies in this
    /// discrete space.
    ///
    /// Fails with [`CoreError::ActionKind`] for a `Box` space, [`CoreError::Space`] if the space
    /// itself is invalid (see [`Space::validate`]), [`CoreError::Shape`] if the
    /// length is not a multiple of `flat_dim()`, and [`CoreError::Space`] naming the first bad
    /// row and value otherwise.
    pub fn contains_discrete(&self, values: &[i64]) -> Result<()> {
        let Some(categories) = self.num_categories() else {
            return Err(CoreError::ActionKind {
                expected: "continuous",
                actual: "discrete",
            });
        };
        self.validate()?;
        let dim = categories.len();
        self.check_len(values.len())?;
        for (i, &v) in values.iter().enumerate() {
            let n = categories[i % dim];
            if v < 0 || v as u64 >= n as u64 {
                return Err(space_error(
                    "discrete value",
                    format!(
                        "row {}, element {}: {v} is outside 0..{n}",
                        i / dim,
                        i % dim
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks that `values`, a flat row-major batch of `flat_dim()`-element rows, lies in this
    /// box. NaN is never contained.
    ///
    /// Fails with [`CoreError::ActionKind`] for a discrete space, [`CoreError::Space`] if the
    /// space itself is invalid (see [`Space::validate`]), [`CoreError::Shape`] if the
    /// length is not a multiple of `flat_dim()`, and [`CoreError::Space`] naming the first bad
    /// row and value otherwise.
    pub fn contains_continuous(&self, values: &[f32]) -> Result<()> {
        let Self::Box { low, high, .. } = self else {
            return Err(CoreError::ActionKind {
                expected: "discrete",
                actual: "continuous",
            });
        };
        // A validated box has `flat_dim` bounds of each kind, so the indexing below is in range.
        self.validate()?;
        self.check_len(values.len())?;
        let dim = low.len().max(1);
        for (i, &v) in values.iter().enumerate() {
            let (lo, hi) = (low[i % dim], high[i % dim]);
            // Written so that NaN fails the test.
            if !(lo <= v && v <= hi) {
                return Err(space_error(
                    "continuous value",
                    format!(
                        "row {}, element {}: {v} is outside [{lo}, {hi}]",
                        i / dim,
                        i % dim
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_len(&self, len: usize) -> Result<()> {
        let dim = self.flat_dim();
        if dim == 0 || !len.is_multiple_of(dim) {
            return Err(CoreError::Shape {
                what: "flat batch of space values".to_string(),
                expected: format!("a multiple of flat_dim = {dim} values"),
                actual: vec![len],
            });
        }
        Ok(())
    }
}

/// Checks a box shape (non-empty, no zero dimension, product fits in `usize`) and returns its
/// product.
fn check_box_shape(shape: &[usize]) -> Result<usize> {
    let what = "Space::Box";
    if shape.is_empty() {
        return Err(space_error(what, "shape is empty"));
    }
    if shape.contains(&0) {
        return Err(space_error(
            what,
            format!("shape {shape:?} has a zero dimension"),
        ));
    }
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| space_error(what, format!("product of shape {shape:?} overflows usize")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_space_err<T: core::fmt::Debug>(r: Result<T>) -> bool {
        matches!(r, Err(CoreError::Space { .. }))
    }

    #[test]
    fn infinite_bounds_survive_json() {
        let space = Space::boxed(
            vec![3],
            vec![f32::NEG_INFINITY, -1.5, 0.0],
            vec![f32::INFINITY],
        )
        .unwrap();
        let json = serde_json::to_string(&space).unwrap();
        assert!(json.contains("\"-inf\"") && json.contains("-1.5"), "{json}");
        assert_eq!(serde_json::from_str::<Space>(&json).unwrap(), space);
        let bad = json.replace("\"-inf\"", "\"minus infinity\"");
        assert!(serde_json::from_str::<Space>(&bad).is_err());
    }

    #[test]
    fn discrete_needs_a_category() {
        assert!(is_space_err(Space::discrete(0)));
        let s = Space::discrete(3).unwrap();
        assert_eq!(s, Space::Discrete { n: 3 });
        assert_eq!(s.shape(), vec![1]);
        assert_eq!(s.flat_dim(), 1);
        assert!(s.is_discrete());
        assert_eq!(s.num_categories(), Some(vec![3]));
    }

    #[test]
    fn multi_discrete_rules() {
        assert!(is_space_err(Space::multi_discrete(vec![])));
        assert!(is_space_err(Space::multi_discrete(vec![2, 0, 3])));
        let s = Space::multi_discrete(vec![2, 5, 3]).unwrap();
        assert_eq!(s.shape(), vec![3]);
        assert_eq!(s.flat_dim(), 3);
        assert!(s.is_discrete());
        assert_eq!(s.num_categories(), Some(vec![2, 5, 3]));
    }

    #[test]
    fn box_shape_rules() {
        assert!(is_space_err(Space::boxed(vec![], vec![0.0], vec![1.0])));
        assert!(is_space_err(Space::boxed(vec![2, 0], vec![0.0], vec![1.0])));
        assert!(is_space_err(Space::boxed(
            vec![usize::MAX, 2],
            vec![0.0],
            vec![1.0]
        )));
    }

    #[test]
    fn box_bounds_broadcast_or_match() {
        let s = Space::boxed(vec![2, 2], vec![-1.0], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(
            s,
            Space::Box {
                shape: vec![2, 2],
                low: vec![-1.0; 4],
                high: vec![1.0, 2.0, 3.0, 4.0]
            }
        );
        assert_eq!(s.flat_dim(), 4);
        assert!(!s.is_discrete());
        assert_eq!(s.num_categories(), None);
        assert!(is_space_err(Space::boxed(
            vec![3],
            vec![0.0, 0.0],
            vec![1.0]
        )));
        assert!(is_space_err(Space::boxed(vec![3], vec![0.0], vec![1.0; 4])));
    }

    #[test]
    fn box_bounds_ordered_and_not_nan() {
        assert!(is_space_err(Space::boxed(
            vec![2],
            vec![0.0, 2.0],
            vec![1.0, 1.0]
        )));
        assert!(is_space_err(Space::boxed(
            vec![1],
            vec![f32::NAN],
            vec![1.0]
        )));
        assert!(is_space_err(Space::boxed(
            vec![1],
            vec![0.0],
            vec![f32::NAN]
        )));
        // Equal bounds are a valid (degenerate) box.
        assert!(Space::boxed(vec![1], vec![0.5], vec![0.5]).is_ok());
    }

    #[test]
    fn unbounded_box() {
        let s = Space::unbounded(vec![3]).unwrap();
        assert_eq!(
            s,
            Space::Box {
                shape: vec![3],
                low: vec![f32::NEG_INFINITY; 3],
                high: vec![f32::INFINITY; 3]
            }
        );
        assert!(s.contains_continuous(&[1e30, -1e30, 0.0]).is_ok());
        assert!(s.contains_continuous(&[0.0, f32::NAN, 0.0]).is_err());
        assert!(is_space_err(Space::unbounded(vec![])));
    }

    #[test]
    fn validate_catches_bad_deserialized_spaces() {
        let bad = Space::Box {
            shape: vec![2],
            low: vec![0.0],
            high: vec![1.0, 1.0],
        };
        assert!(is_space_err(bad.validate()));
        assert!(is_space_err(Space::Discrete { n: 0 }.validate()));
        // Membership checks refuse an invalid space instead of indexing out of range.
        let short = Space::Box {
            shape: vec![2],
            low: vec![],
            high: vec![],
        };
        assert!(is_space_err(short.contains_continuous(&[0.0, 0.0])));
        let empty = Space::MultiDiscrete { nvec: vec![] };
        assert!(is_space_err(empty.contains_discrete(&[0])));
    }

    #[test]
    fn contains_discrete_names_first_bad_row() {
        let s = Space::multi_discrete(vec![2, 3]).unwrap();
        assert!(s.contains_discrete(&[0, 2, 1, 0]).is_ok());
        assert!(s.contains_discrete(&[]).is_ok());
        match s.contains_discrete(&[0, 0, 1, 3, -1, 0]) {
            Err(CoreError::Space { reason, .. }) => {
                assert!(reason.contains("row 1"), "{reason}");
                assert!(reason.contains("3 is outside 0..3"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        match s.contains_discrete(&[0, 0, -1, 0]) {
            Err(CoreError::Space { reason, .. }) => assert!(reason.contains("row 1, element 0")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            s.contains_discrete(&[0, 0, 1]),
            Err(CoreError::Shape { .. })
        ));
        assert!(matches!(
            s.contains_continuous(&[0.0, 0.0]),
            Err(CoreError::ActionKind {
                expected: "discrete",
                actual: "continuous"
            })
        ));
    }

    #[test]
    fn contains_continuous_names_first_bad_row() {
        let s = Space::boxed(vec![2], vec![-1.0, 0.0], vec![1.0, 10.0]).unwrap();
        assert!(s.contains_continuous(&[-1.0, 0.0, 1.0, 10.0]).is_ok());
        match s.contains_continuous(&[0.0, 5.0, 0.0, 5.0, 0.0, 11.0]) {
            Err(CoreError::Space { reason, .. }) => {
                assert!(reason.contains("row 2, element 1"), "{reason}")
            }
            other => panic!("unexpected {other:?}"),
        }
        match s.contains_continuous(&[0.0, f32::NAN]) {
            Err(CoreError::Space { reason, .. }) => assert!(reason.contains("row 0")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            s.contains_continuous(&[0.0]),
            Err(CoreError::Shape { .. })
        ));
        assert!(matches!(
            s.contains_discrete(&[0, 0]),
            Err(CoreError::ActionKind {
                expected: "continuous",
                actual: "discrete"
            })
        ));
    }
}
