//! Structured observation batches: [`Observation`] and its named-tensor map [`TensorMap`].
//!
//! Every tensor of an observation batch has the batch (N) as its first dimension, and every
//! batch operation ([`Observation::select`], [`Observation::slice_rows`], [`Observation::cat`])
//! applies to all of them along that dimension.

use std::collections::BTreeMap;

use burn::tensor::{
    Bool, Int, Tensor,
    backend::{AutodiffBackend, Backend},
};

use crate::host::{clamp_range, first_item, first_non_finite_row, read_f32};
use crate::{CoreError, Result};

/// One tensor of a [`TensorMap`], stored flat as `[N, X]` with its trailing shape.
#[derive(Clone, Debug)]
struct Entry<B: Backend> {
    data: Tensor<B, 2>,
    trailing: Vec<usize>,
}

impl<B: Backend> Entry<B> {
    fn rows(&self) -> usize {
        self.data.dims()[0]
    }

    fn full_shape(&self) -> Vec<usize> {
        let mut shape = vec![self.rows()];
        shape.extend_from_slice(&self.trailing);
        shape
    }

    fn map(&self, f: impl FnOnce(Tensor<B, 2>) -> Tensor<B, 2>) -> Self {
        Self {
            data: f(self.data.clone()),
            trailing: self.trailing.clone(),
        }
    }
}

/// An ordered map (by name) of float tensors of any rank that share their first dimension N.
///
/// Each tensor is stored as a 2-D `[N, X]` tensor (X = product of its trailing dimensions) plus
/// its trailing shape, so the map can hold tensors of different ranks and still slice, select
/// and concatenate them all along N.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use rl_core::TensorMap;
///
/// let device = Default::default();
/// let mut map = TensorMap::<NdArray>::new();
/// map.insert("image", Tensor::<NdArray, 4>::zeros([8, 3, 4, 4], &device))?;
/// map.insert("goal", Tensor::<NdArray, 2>::zeros([8, 2], &device))?;
/// assert_eq!(map.len(), 8);
/// assert_eq!(map.names(), vec!["goal", "image"]);
/// assert_eq!(map.get_flat("image")?.dims(), [8, 48]);
/// assert_eq!(map.get::<4>("image")?.dims(), [8, 3, 4, 4]);
/// // A tensor with another batch size is refused.
/// assert!(map.insert("bad", Tensor::<NdArray, 1>::zeros([7], &device)).is_err());
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TensorMap<B: Backend> {
    entries: BTreeMap<String, Entry<B>>,
}

impl<B: Backend> Default for TensorMap<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> TensorMap<B> {
    /// An empty map.
    pub fn new() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }

    /// Inserts (or replaces) the tensor `name`, of shape `[N, ...]`.
    ///
    /// Fails if `D` is 0, or if N differs from the N of the other tensors in the map.
    pub fn insert<const D: usize>(
        &mut self,
        name: impl Into<String>,
        tensor: Tensor<B, D>,
    ) -> Result<()> {
        let name = name.into();
        let dims = tensor.dims();
        let Some((&rows, trailing)) = dims.split_first() else {
            return Err(CoreError::Shape {
                what: format!("tensor map entry `{name}`"),
                expected: "rank at least 1, [N, ...]".to_string(),
                actual: dims.to_vec(),
            });
        };
        if let Some((other, entry)) = self.entries.iter().find(|(k, _)| **k != name)
            && entry.rows() != rows
        {
            return Err(CoreError::Shape {
                what: format!("tensor map entry `{name}`"),
                expected: format!("[{}, ...] like entry `{other}`", entry.rows()),
                actual: dims.to_vec(),
            });
        }
        let width = trailing
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| CoreError::Shape {
                what: format!("tensor map entry `{name}`"),
                expected: "trailing dimensions whose product fits in usize".to_string(),
                actual: dims.to_vec(),
            })?;
        let entry = Entry {
            data: rl_functional::reshape(tensor, [rows, width]),
            trailing: trailing.to_vec(),
        };
        self.entries.insert(name, entry);
        Ok(())
    }

    fn entry(&self, name: &str) -> Result<&Entry<B>> {
        self.entries.get(name).ok_or_else(|| CoreError::MissingKey {
            key: name.to_string(),
        })
    }

    /// The tensor `name` in its original shape `[N, ...]`.
    ///
    /// Fails with [`CoreError::MissingKey`] if there is no such tensor and with
    /// [`CoreError::Shape`] if `D` is not its rank.
    pub fn get<const D: usize>(&self, name: &str) -> Result<Tensor<B, D>> {
        let entry = self.entry(name)?;
        if entry.trailing.len() + 1 != D {
            return Err(CoreError::Shape {
                what: format!("tensor map entry `{name}` read as rank {D}"),
                expected: format!("rank {}", entry.trailing.len() + 1),
                actual: entry.full_shape(),
            });
        }
        let mut dims = [0usize; D];
        // `D == trailing.len() + 1` was checked above, so the lengths match.
        dims.copy_from_slice(&entry.full_shape());
        Ok(entry.data.clone().reshape(dims))
    }

    /// The tensor `name` flattened to `[N, X]`.
    pub fn get_flat(&self, name: &str) -> Result<Tensor<B, 2>> {
        Ok(self.entry(name)?.data.clone())
    }

    /// The full shape `[N, ...]` of the tensor `name`.
    pub fn shape(&self, name: &str) -> Result<Vec<usize>> {
        Ok(self.entry(name)?.full_shape())
    }

    /// Whether the map holds a tensor called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Removes the tensor `name`; returns whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        self.entries.remove(name).is_some()
    }

    /// The names of the tensors, in sorted order.
    pub fn names(&self) -> Vec<&str> {
        self.entries.keys().map(String::as_str).collect()
    }

    /// The batch size N shared by the tensors; 0 when the map is empty.
    pub fn len(&self) -> usize {
        self.entries.values().next().map_or(0, Entry::rows)
    }

    /// Whether the map holds no tensors at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The rows `indices` of every tensor.
    ///
    /// As with [`Tensor::select`], every index must be below N; out-of-range indices are not
    /// checked (that would need a device read) and their result depends on the backend.
    pub fn select(&self, indices: Tensor<B, 1, Int>) -> Self {
        self.map(|t| t.select(0, indices.clone()))
    }

    /// The rows `range` of every tensor; the range is clamped to `0..N` (like slicing in
    /// NumPy or PyTorch), so it never fails.
    pub fn slice_rows(&self, range: core::ops::Range<usize>) -> Self {
        let range = clamp_range(range, self.len());
        self.map(|t| t.slice_dim(0, range.clone()))
    }

    fn map(&self, mut f: impl FnMut(Tensor<B, 2>) -> Tensor<B, 2>) -> Self {
        Self {
            entries: self
                .entries
                .iter()
                .map(|(k, e)| (k.clone(), e.map(&mut f)))
                .collect(),
        }
    }

    /// Concatenates maps along N.
    ///
    /// Every map must hold the same names with the same trailing shapes. An empty `items`
    /// gives an empty map.
    pub fn cat(items: Vec<Self>) -> Result<Self> {
        let Some(first) = items.first() else {
            return Ok(Self::new());
        };
        let mut columns: BTreeMap<String, (Vec<usize>, Vec<Tensor<B, 2>>)> = first
            .entries
            .iter()
            .map(|(k, e)| {
                (
                    k.clone(),
                    (e.trailing.clone(), Vec::with_capacity(items.len())),
                )
            })
            .collect();
        for (i, item) in items.iter().enumerate() {
            if item.entries.len() != first.entries.len() {
                return Err(names_mismatch(i, first, item));
            }
            for (name, entry) in &item.entries {
                let Some((trailing, parts)) = columns.get_mut(name) else {
                    return Err(names_mismatch(i, first, item));
                };
                if *trailing != entry.trailing {
                    let mut expected = vec!["N".to_string()];
                    expected.extend(trailing.iter().map(usize::to_string));
                    return Err(CoreError::Shape {
                        what: format!("cat: tensor `{name}` of item {i}"),
                        expected: format!("[{}] like item 0", expected.join(", ")),
                        actual: entry.full_shape(),
                    });
                }
                parts.push(entry.data.clone());
            }
        }
        let entries = columns
            .into_iter()
            .map(|(name, (trailing, parts))| {
                let data = Tensor::cat(parts, 0);
                (name, Entry { data, trailing })
            })
            .collect();
        let out = Self { entries };
        out.check_rows()?;
        Ok(out)
    }

    /// Checks that every tensor has the same N (the public API keeps this true; `cat` uses it
    /// to catch items that were inconsistent to begin with).
    fn check_rows(&self) -> Result<()> {
        let n = self.len();
        match self.entries.iter().find(|(_, e)| e.rows() != n) {
            Some((name, e)) => Err(CoreError::Shape {
                what: format!("tensor map entry `{name}`"),
                expected: format!("[{n}, ...] like the other entries"),
                actual: e.full_shape(),
            }),
            None => Ok(()),
        }
    }

    /// Reads every tensor back and fails with [`CoreError::NonFinite`] on the first NaN or
    /// infinity (`what` is `"{prefix}.{name}"`).
    fn check_finite(&self, prefix: &str) -> Result<()> {
        for (name, entry) in &self.entries {
            let what = format!("{prefix}.{name}");
            let values = read_f32(entry.data.clone(), &what)?;
            let width = entry.data.dims()[1];
            if let Some(index) = first_non_finite_row(&values, width) {
                return Err(CoreError::NonFinite { what, index });
            }
        }
        Ok(())
    }
}

fn names_mismatch<B: Backend>(i: usize, first: &TensorMap<B>, item: &TensorMap<B>) -> CoreError {
    CoreError::Shape {
        what: format!("cat: item {i} holds tensors {:?}", item.names()),
        expected: format!("the same tensors as item 0: {:?}", first.names()),
        actual: vec![item.len()],
    }
}

impl<B: AutodiffBackend> TensorMap<B> {
    /// Moves a map of the inner (non-autodiff) backend onto the autodiff backend (as leaves that
    /// do not require gradients).
    pub fn from_inner(map: TensorMap<B::InnerBackend>) -> Self {
        let entries = map
            .entries
            .into_iter()
            .map(|(k, e)| {
                let entry = Entry {
                    data: Tensor::from_inner(e.data),
                    trailing: e.trailing,
                };
                (k, entry)
            })
            .collect();
        Self { entries }
    }

    /// The same tensors on the inner (non-autodiff) backend, detached from the graph.
    pub fn inner(&self) -> TensorMap<B::InnerBackend> {
        let entries = self
            .entries
            .iter()
            .map(|(k, e)| {
                let entry = Entry {
                    data: e.data.clone().inner(),
                    trailing: e.trailing.clone(),
                };
                (k.clone(), entry)
            })
            .collect();
        TensorMap { entries }
    }
}

/// A batch of N observations, one row per environment (or per time step).
///
/// * `features`: `[N, F]`, the flat feature vector that most models read;
/// * `action_mask`: optional `[N, M]`, `true` where an action is allowed. For categorical
///   action heads `M = A * n`, row-major over heads then categories (the same layout as the
///   logits `[N, A, n]` flattened);
/// * `extra`: any further named tensors `[N, ...]` (images, goals, ...) the model needs, so
///   that structured observations need not be flattened by hand (rl8 uses TensorDicts for this).
///
/// The fields are public; the constructors check that every tensor has the same N, and
/// [`Observation::validate`] re-checks an observation built by hand.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Bool, Int, Tensor};
/// use rl_core::Observation;
///
/// let device = Default::default();
/// let features = Tensor::<NdArray, 2>::from_floats([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], &device);
/// let mask = Tensor::<NdArray, 2, Bool>::from_bool([[true, false], [true, true], [false, true]].into(), &device);
/// let obs = Observation::new(features).with_action_mask(mask)?;
/// assert_eq!(obs.batch_size(), 3);
///
/// let rows = obs.select(Tensor::<NdArray, 1, Int>::from_ints([2, 0], &device));
/// assert_eq!(rows.features.to_data().to_vec::<f32>().unwrap(), vec![4.0, 5.0, 0.0, 1.0]);
///
/// let both = Observation::cat(vec![obs.slice_rows(0..1), obs.slice_rows(1..3)])?;
/// assert_eq!(both.batch_size(), 3);
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Observation<B: Backend> {
    /// Flat features, `[N, F]`.
    pub features: Tensor<B, 2>,
    /// Which actions are valid, `[N, M]` (`true` = valid); `None` means all are.
    pub action_mask: Option<Tensor<B, 2, Bool>>,
    /// Further named tensors, each `[N, ...]`.
    pub extra: TensorMap<B>,
}

impl<B: Backend> Observation<B> {
    /// An observation with only features `[N, F]`.
    pub fn new(features: Tensor<B, 2>) -> Self {
        Self {
            features,
            action_mask: None,
            extra: TensorMap::new(),
        }
    }

    /// Adds an action mask `[N, M]`. Fails if its N differs from the features'.
    pub fn with_action_mask(mut self, mask: Tensor<B, 2, Bool>) -> Result<Self> {
        let dims = mask.dims();
        if dims[0] != self.batch_size() {
            return Err(CoreError::Shape {
                what: "action_mask".to_string(),
                expected: format!("[{}, M] like the features", self.batch_size()),
                actual: dims.to_vec(),
            });
        }
        self.action_mask = Some(mask);
        Ok(self)
    }

    /// Adds (or replaces) the extra tensor `name`, `[N, ...]`. Fails if its N differs from the
    /// features' or its rank is 0.
    pub fn with_extra<const D: usize>(
        mut self,
        name: impl Into<String>,
        tensor: Tensor<B, D>,
    ) -> Result<Self> {
        let name = name.into();
        let dims = tensor.dims();
        if dims.first().is_some_and(|&n| n != self.batch_size()) {
            return Err(CoreError::Shape {
                what: format!("extra tensor `{name}`"),
                expected: format!("[{}, ...] like the features", self.batch_size()),
                actual: dims.to_vec(),
            });
        }
        self.extra.insert(name, tensor)?;
        Ok(self)
    }

    /// The batch size N (rows of `features`).
    pub fn batch_size(&self) -> usize {
        self.features.dims()[0]
    }

    /// Checks that the mask and every extra tensor have the features' N.
    pub fn validate(&self) -> Result<()> {
        let n = self.batch_size();
        if let Some(mask) = &self.action_mask
            && mask.dims()[0] != n
        {
            return Err(CoreError::Shape {
                what: "action_mask".to_string(),
                expected: format!("[{n}, M] like the features"),
                actual: mask.dims().to_vec(),
            });
        }
        self.extra.check_rows()?;
        if !self.extra.is_empty() && self.extra.len() != n {
            return Err(CoreError::Shape {
                what: "extra tensors".to_string(),
                expected: format!("[{n}, ...] like the features"),
                actual: vec![self.extra.len()],
            });
        }
        Ok(())
    }

    /// The rows `indices` of every tensor.
    ///
    /// As with [`Tensor::select`], every index must be below N; out-of-range indices are not
    /// checked (that would need a device read) and their result depends on the backend.
    pub fn select(&self, indices: Tensor<B, 1, Int>) -> Self {
        Self {
            features: self.features.clone().select(0, indices.clone()),
            action_mask: self
                .action_mask
                .as_ref()
                .map(|m| m.clone().select(0, indices.clone())),
            extra: self.extra.select(indices),
        }
    }

    /// The rows `range` of every tensor; the range is clamped to `0..N` (like slicing in
    /// NumPy or PyTorch), so it never fails.
    pub fn slice_rows(&self, range: core::ops::Range<usize>) -> Self {
        let range = clamp_range(range, self.batch_size());
        Self {
            features: self.features.clone().slice_dim(0, range.clone()),
            action_mask: self
                .action_mask
                .as_ref()
                .map(|m| m.clone().slice_dim(0, range.clone())),
            extra: self.extra.slice_rows(range),
        }
    }

    /// Concatenates observations along N.
    ///
    /// All items must have the same structure: the same feature width, a mask on all or none
    /// (of the same width), and the same extra tensors. Fails on an empty `items`.
    pub fn cat(items: Vec<Self>) -> Result<Self> {
        let first = first_item(&items, "Observation::cat")?;
        let width = first.features.dims()[1];
        let mask_width = first.action_mask.as_ref().map(|m| m.dims()[1]);
        for (i, item) in items.iter().enumerate() {
            item.validate()?;
            let dims = item.features.dims();
            if dims[1] != width {
                return Err(CoreError::Shape {
                    what: format!("Observation::cat: features of item {i}"),
                    expected: format!("[N, {width}] like item 0"),
                    actual: dims.to_vec(),
                });
            }
            let item_mask = item.action_mask.as_ref().map(|m| m.dims());
            if item_mask.map(|d| d[1]) != mask_width {
                return Err(CoreError::Shape {
                    what: format!("Observation::cat: action_mask of item {i}"),
                    expected: match mask_width {
                        Some(m) => format!("[N, {m}] like item 0"),
                        None => "no mask, like item 0".to_string(),
                    },
                    actual: item_mask.map_or_else(Vec::new, |d| d.to_vec()),
                });
            }
        }
        let mut features = Vec::with_capacity(items.len());
        let mut masks = Vec::with_capacity(items.len());
        let mut extras = Vec::with_capacity(items.len());
        for item in items {
            features.push(item.features);
            masks.extend(item.action_mask);
            extras.push(item.extra);
        }
        Ok(Self {
            features: Tensor::cat(features, 0),
            action_mask: (!masks.is_empty()).then(|| Tensor::cat(masks, 0)),
            extra: TensorMap::cat(extras)?,
        })
    }

    /// Reads `features` and every extra tensor back to the host and fails with
    /// [`CoreError::NonFinite`] naming the first row that holds a NaN or infinity.
    ///
    /// `what` names the observation in the error (e.g. `"observation"`); extra tensors are
    /// reported as `"{what}.{name}"`.
    pub fn check_finite(&self, what: &str) -> Result<()> {
        let values = read_f32(self.features.clone(), what)?;
        if let Some(index) = first_non_finite_row(&values, self.features.dims()[1]) {
            return Err(CoreError::NonFinite {
                what: what.to_string(),
                index,
            });
        }
        self.extra.check_finite(what)
    }
}

impl<B: AutodiffBackend> Observation<B> {
    /// Moves an observation of the inner (non-autodiff) backend onto the autodiff backend.
    pub fn from_inner(obs: Observation<B::InnerBackend>) -> Self {
        Self {
            features: Tensor::from_inner(obs.features),
            action_mask: obs.action_mask.map(Tensor::from_inner),
            extra: TensorMap::from_inner(obs.extra),
        }
    }

    /// The same observation on the inner (non-autodiff) backend, detached from the graph.
    pub fn inner(&self) -> Observation<B::InnerBackend> {
        Observation {
            features: self.features.clone().inner(),
            action_mask: self.action_mask.clone().map(Tensor::inner),
            extra: self.extra.inner(),
        }
    }
}
