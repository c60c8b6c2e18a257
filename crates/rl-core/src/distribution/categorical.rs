//! Independent categorical heads, optionally masked.

use std::sync::OnceLock;

use burn::tensor::{Bool, Int, Tensor, TensorData, activation::log_softmax, backend::Backend};
use rand::Rng;
use rl_functional::{gumbel_noise, masked_log_softmax, reshape};

use super::{ActionShape, Distribution};
use crate::{Action, CoreError};

/// A independent categorical distributions per row, from logits `[N, A, n]`.
///
/// Actions are `[N, A]` integers in `0..n`. With a mask, masked categories get a logit of about
/// `f32::MIN` (finite, as rl8 does), so they are never sampled, their probability is 0 and the
/// entropy stays finite. A row whose categories are all masked becomes uniform.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Bool, Tensor};
/// use rand::{rngs::StdRng, SeedableRng};
/// use rl_core::{Categorical, Distribution};
///
/// let d = Default::default();
/// let logits = Tensor::<NdArray, 3>::zeros([2, 1, 3], &d);
/// // Row 0 may only take action 2, row 1 anything but action 0.
/// let mask = Tensor::<NdArray, 2, Bool>::from_data([[false, false, true], [false, true, true]], &d);
/// let dist = Categorical::masked(logits, mask).unwrap();
/// let actions = dist.sample(&mut StdRng::seed_from_u64(7));
/// let a = actions.to_host_discrete().unwrap();
/// assert_eq!(a[0], 2);
/// assert!(a[1] != 0);
/// let entropy: Vec<f32> = dist.entropy().into_data().to_vec().unwrap();
/// assert!(entropy[0].abs() < 1e-6 && (entropy[1] - 2f32.ln()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct Categorical<B: Backend> {
    /// The logits, kept when they are all there is ([`Categorical::new`]).
    logits: Option<Tensor<B, 3>>,
    /// Normalized log-probabilities `[N, A, n]`; from `logits`, they are computed on first use
    /// (a caller that starts from the logits never pays for them).
    log_probs: OnceLock<Tensor<B, 3>>,
}

impl<B: Backend> Categorical<B> {
    /// Unmasked categorical heads from logits `[N, A, n]`.
    pub fn new(logits: Tensor<B, 3>) -> Self {
        Self {
            logits: Some(logits),
            log_probs: OnceLock::new(),
        }
    }

    fn from_log_probs(log_probs: Tensor<B, 3>) -> Self {
        Self {
            logits: None,
            log_probs: OnceLock::from(log_probs),
        }
    }

    /// Masked categorical heads: `mask` is `[N, A * n]` (row-major over heads, then
    /// categories, as in [`crate::Observation::action_mask`]), true = allowed.
    ///
    /// # Errors
    /// If the mask does not have `N` rows of `A * n` entries.
    pub fn masked(logits: Tensor<B, 3>, mask: Tensor<B, 2, Bool>) -> Result<Self, CoreError> {
        let [n, heads, categories] = logits.dims();
        let dims = mask.dims();
        if dims != [n, heads * categories] {
            return Err(CoreError::Shape {
                what: "action mask".into(),
                expected: format!("[{n}, {}] (N, heads * categories)", heads * categories),
                actual: dims.to_vec(),
            });
        }
        let mask = reshape(mask.float(), [n, heads, categories]);
        Ok(Self::from_log_probs(masked_log_softmax(
            logits,
            Some(mask),
            2,
        )?))
    }

    /// Categorical heads of any category counts: head `i` of the logits `[N, A, n]` has
    /// `nvec[i]` categories (`n` is the largest count; the logits past a head's count are never
    /// drawn). `mask`, when given, is `[N, sum(nvec)]`: each head's flags, head after head
    /// ([`crate::Space::mask_width`], Gymnasium's layout), true = allowed. A head whose
    /// categories are all masked in a row draws uniformly among its own categories.
    ///
    /// ```
    /// use burn::backend::NdArray;
    /// use burn::tensor::{Bool, Tensor};
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use rl_core::{Categorical, Distribution};
    ///
    /// let d = Default::default();
    /// // Heads of 2 and 3 categories; the mask allows only category 1 of the first head and
    /// // categories 0 and 2 of the second.
    /// let logits = Tensor::<NdArray, 3>::zeros([1, 2, 3], &d);
    /// let mask = Tensor::<NdArray, 2, Bool>::from_data([[false, true, true, false, true]], &d);
    /// let dist = Categorical::with_counts(logits, &[2, 3], Some(mask))?;
    /// let mut rng = StdRng::seed_from_u64(0);
    /// for _ in 0..20 {
    ///     let a = dist.sample(&mut rng).to_host_discrete()?;
    ///     assert!(a[0] == 1 && (a[1] == 0 || a[1] == 2));
    /// }
    /// # Ok::<(), rl_core::CoreError>(())
    /// ```
    ///
    /// # Errors
    /// [`CoreError::Shape`] if `nvec` does not have one count per head with the largest equal
    /// to `n` (and none 0), or if the mask is not `[N, sum(nvec)]`.
    pub fn with_counts(
        logits: Tensor<B, 3>,
        nvec: &[usize],
        mask: Option<Tensor<B, 2, Bool>>,
    ) -> Result<Self, CoreError> {
        let [n, heads, categories] = logits.dims();
        if nvec.len() != heads || nvec.iter().max() != Some(&categories) || nvec.contains(&0) {
            return Err(CoreError::Shape {
                what: "category counts".into(),
                expected: format!("{heads} counts of at least 1, the largest {categories}"),
                actual: nvec.to_vec(),
            });
        }
        let even = nvec.iter().all(|&k| k == categories);
        let mask = match mask {
            None if even => return Ok(Self::new(logits)),
            Some(mask) if even => return Self::masked(logits, mask),
            mask => mask,
        };
        let device = logits.device();
        let slots = heads * categories;
        // 1 where head h has category c, 0 in the padding past its count.
        let exists: Vec<f32> = nvec
            .iter()
            .flat_map(|&k| (0..categories).map(move |c| if c < k { 1.0 } else { 0.0 }))
            .collect();
        let exists = Tensor::<B, 1>::from_data(TensorData::new(exists, [slots]), &device)
            .reshape([1, heads, categories])
            .expand([n, heads, categories]);
        let (logits, allowed) = match mask {
            None => (logits, exists),
            Some(mask) => {
                let width: usize = nvec.iter().sum();
                if mask.dims() != [n, width] {
                    return Err(CoreError::Shape {
                        what: "action mask".into(),
                        expected: format!("[{n}, {width}] (N, sum of the category counts)"),
                        actual: mask.dims().to_vec(),
                    });
                }
                // Each padded slot reads its head's last flag, then the padding is cleared.
                let mut offset = 0;
                let mut index = Vec::with_capacity(slots);
                for &k in nvec {
                    index.extend((0..categories).map(|c| (offset + c.min(k - 1)) as i64));
                    offset += k;
                }
                let index =
                    Tensor::<B, 1, Int>::from_data(TensorData::new(index, [slots]), &device);
                let flags =
                    reshape(mask.float().select(1, index), [n, heads, categories]) * exists.clone();
                // A head with nothing allowed is uniform over its own categories: its logits
                // are replaced by zeros and its mask by the head's categories.
                let none = flags
                    .clone()
                    .sum_dim(2)
                    .lower_equal_elem(0.0)
                    .expand([n, heads, categories]);
                let logits = logits.clone().mask_where(none.clone(), logits.zeros_like());
                (logits, flags.mask_where(none, exists))
            }
        };
        Ok(Self::from_log_probs(masked_log_softmax(
            logits,
            Some(allowed),
            2,
        )?))
    }

    /// The normalized log-probabilities `[N, A, n]`.
    pub fn log_probs(&self) -> Tensor<B, 3> {
        self.lp().clone()
    }

    /// The logits `[N, A, n]` these heads were built from when they are unmasked with every
    /// head's count `n` ([`Categorical::new`]), for code that computes from the logits in one
    /// pass what the log-probabilities give; `None` when built with a mask or uneven counts.
    pub fn logits(&self) -> Option<Tensor<B, 3>> {
        self.logits.clone()
    }

    /// `[N, A, n]`, without computing the log-probabilities.
    fn dims(&self) -> [usize; 3] {
        match &self.logits {
            Some(logits) => logits.dims(),
            None => self.lp().dims(),
        }
    }

    fn lp(&self) -> &Tensor<B, 3> {
        self.log_probs.get_or_init(|| {
            let logits = self.logits.clone();
            log_softmax(logits.expect("built from logits or log-probabilities"), 2)
        })
    }

    /// `actions` as category indices `[N, A]` of this distribution's heads, or why not.
    fn drawn_shape<'a>(&self, actions: &'a Action<B>) -> Result<&'a Tensor<B, 2, Int>, CoreError> {
        let [n, heads, _] = self.dims();
        let actions = actions.as_discrete()?;
        let dims = actions.dims();
        if dims != [n, heads] {
            return Err(CoreError::Shape {
                what: "categorical actions".into(),
                expected: format!("[{n}, {heads}]"),
                actual: dims.to_vec(),
            });
        }
        Ok(actions)
    }

    fn to_actions(indices: Tensor<B, 3, Int>) -> Action<B> {
        let [n, heads, _] = indices.dims();
        Action::Discrete(indices.reshape([n, heads]))
    }
}

impl<B: Backend> Distribution<B> for Categorical<B> {
    /// Gumbel-max sampling: `argmax(log p + g)` with Gumbel noise `g` from `rng`.
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Action<B> {
        let noise = gumbel_noise(self.lp().dims(), &self.lp().device(), rng);
        Self::to_actions((self.lp().clone() + noise).argmax(2))
    }

    /// The most likely category of each head (the first on ties).
    fn mode(&self) -> Action<B> {
        Self::to_actions(self.lp().clone().argmax(2))
    }

    fn log_prob(&self, actions: &Action<B>) -> Result<Tensor<B, 2>, CoreError> {
        let categories = self.dims()[2];
        let host = Action::Discrete(self.drawn_shape(actions)?.clone()).to_host_discrete()?;
        if let Some((row, &a)) = host
            .iter()
            .enumerate()
            .find(|&(_, &a)| a < 0 || a >= categories as i64)
        {
            return Err(CoreError::Space {
                what: "categorical actions".into(),
                reason: format!("action {a} at element {row} is outside 0..{categories}"),
            });
        }
        self.log_prob_of_drawn(actions)
    }

    fn log_prob_of_drawn(&self, actions: &Action<B>) -> Result<Tensor<B, 2>, CoreError> {
        let [n, heads, categories] = self.dims();
        let actions = self.drawn_shape(actions)?;
        // One row per (environment, head), gathered as a 2-D tensor: the same values, and
        // burn-flex runs a small 2-D gather in place where a 3-D one goes through rayon.
        let chosen = self
            .lp()
            .clone()
            .reshape([n * heads, categories])
            .gather(1, reshape(actions.clone(), [n * heads, 1]));
        Ok(chosen.reshape([n, heads]).sum_dim(1))
    }

    /// `-sum_k p_k * max(log p_k, f32::MIN)`, summed over heads (torch's clamped form).
    fn entropy(&self) -> Tensor<B, 2> {
        let [n, heads, _] = self.lp().dims();
        let p = self.lp().clone().exp();
        let plogp = p * self.lp().clone().clamp_min(f32::MIN);
        plogp.sum_dim(2).reshape([n, heads]).sum_dim(1).neg()
    }

    fn batch_size(&self) -> usize {
        self.dims()[0]
    }

    fn action_shape(&self) -> ActionShape {
        let [_, heads, categories] = self.dims();
        ActionShape::Categorical { heads, categories }
    }
}
