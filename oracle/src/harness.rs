//! The harness: reads the case files, runs each case on the chosen backend and compares
//! (the crate docs say how).

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[allow(unused_imports)] // used by whichever backends are compiled in
use burn::backend::Autodiff;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rand::{SeedableRng, rngs::StdRng};
use rl_core::Action;
use rl_core::{Categorical, Distribution, Normal};
use rl_functional as rlf;
use serde::Deserialize;
use serde_json::{Map, Value};

type Res<T> = Result<T, String>;

/// Samples drawn per row by the statistical check of `masked_categorical_sample`.
const SAMPLES: usize = 20_000;

// ------------------------------------------------------------------------------------ JSON

/// One `cases/*.json` file.
#[derive(Deserialize)]
struct CaseFile {
    function: String,
    cases: Vec<Case>,
}

/// One golden case: the reference was called with `kwargs` and `inputs`.
#[derive(Deserialize)]
struct Case {
    name: String,
    #[serde(default)]
    kwargs: Map<String, Value>,
    #[serde(default)]
    inputs: Map<String, Value>,
    #[serde(default)]
    outputs: Map<String, Value>,
    #[serde(default)]
    grads: Option<Map<String, Value>>,
    #[serde(default)]
    intermediates: Option<Map<String, Value>>,
    #[serde(default)]
    f32_vs_f64_max_abs_diff: Option<Map<String, Value>>,
    /// An explicit tolerance, `{"atol": .., "rtol": ..}`, optionally per key.
    #[serde(default)]
    tolerance: Option<Value>,
}

impl Case {
    fn section(&self, section: &str) -> Option<&Map<String, Value>> {
        match section {
            "inputs" => Some(&self.inputs),
            "outputs" => Some(&self.outputs),
            "grads" => self.grads.as_ref(),
            "intermediates" => self.intermediates.as_ref(),
            _ => None,
        }
    }

    fn tensor(&self, section: &str, key: &str) -> Res<Arr> {
        let value = self
            .section(section)
            .and_then(|s| s.get(key))
            .ok_or_else(|| format!("{section}.{key} is missing"))?;
        Arr::parse(value).map_err(|e| format!("{section}.{key}: {e}"))
    }

    fn input(&self, key: &str) -> Res<Arr> {
        self.tensor("inputs", key)
    }

    /// An input that may be `null` (`None` was passed).
    fn opt_input(&self, key: &str) -> Res<Option<Arr>> {
        match self.inputs.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.input(key).map(Some),
        }
    }

    fn kw(&self, key: &str) -> Option<&Value> {
        self.kwargs.get(key)
    }

    /// A float kwarg (Python floats become `f32` when they meet an `f32` tensor).
    fn kw_f32(&self, key: &str, default: f32) -> Res<f32> {
        Ok(self.kw_opt_f32(key)?.unwrap_or(default))
    }

    /// A float kwarg that may be `null`; absent also gives `None`.
    fn kw_opt_f32(&self, key: &str) -> Res<Option<f32>> {
        match self.kw(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(|x| Some(x as f32))
                .ok_or_else(|| format!("kwargs.{key} = {v} is not a number")),
        }
    }

    fn kw_bool(&self, key: &str, default: bool) -> Res<bool> {
        match self.kw(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| format!("kwargs.{key} = {v} is not a bool")),
        }
    }

    fn kw_str(&self, key: &str) -> Res<&str> {
        self.kw(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("kwargs.{key} is missing or not a string"))
    }

    fn kw_i64(&self, key: &str) -> Res<i64> {
        self.kw(key)
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("kwargs.{key} is missing or not an integer"))
    }
}

// ------------------------------------------------------------------------- host tensors

/// Host values of a tensor, row-major.
#[derive(Clone, Debug)]
enum Values {
    F(Vec<f32>),
    I(Vec<i64>),
    B(Vec<bool>),
}

/// A host tensor: a reference value from the JSON, or one of ours read back.
#[derive(Clone, Debug)]
struct Arr {
    shape: Vec<usize>,
    values: Values,
}

fn flatten<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, out)),
        other => out.push(other),
    }
}

fn parse_f32(value: &Value) -> Res<f32> {
    match value {
        Value::Number(n) => n.as_f64().map(|x| x as f32).ok_or("bad number".into()),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f32::NAN),
            "Infinity" => Ok(f32::INFINITY),
            "-Infinity" => Ok(f32::NEG_INFINITY),
            other => Err(format!("unknown float string {other:?}")),
        },
        other => Err(format!("{other} is not a float")),
    }
}

impl Arr {
    fn parse(value: &Value) -> Res<Self> {
        let dtype = value
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or("not a tensor (no dtype)")?;
        let shape: Vec<usize> =
            serde_json::from_value(value.get("shape").cloned().unwrap_or_default())
                .map_err(|e| format!("bad shape: {e}"))?;
        let mut flat = Vec::new();
        flatten(value.get("data").ok_or("no data")?, &mut flat);
        let values = match dtype {
            "float32" | "float64" => {
                Values::F(flat.into_iter().map(parse_f32).collect::<Res<_>>()?)
            }
            "int64" | "int32" => Values::I(
                flat.into_iter()
                    .map(|v| v.as_i64().ok_or_else(|| format!("{v} is not an integer")))
                    .collect::<Res<_>>()?,
            ),
            "bool" => Values::B(
                flat.into_iter()
                    .map(|v| v.as_bool().ok_or_else(|| format!("{v} is not a bool")))
                    .collect::<Res<_>>()?,
            ),
            other => return Err(format!("unsupported dtype {other}")),
        };
        let arr = Self { shape, values };
        if arr.len() != arr.shape.iter().product::<usize>() {
            return Err(format!("{} values for shape {:?}", arr.len(), arr.shape));
        }
        Ok(arr)
    }

    fn len(&self) -> usize {
        match &self.values {
            Values::F(v) => v.len(),
            Values::I(v) => v.len(),
            Values::B(v) => v.len(),
        }
    }

    fn rank(&self) -> usize {
        self.shape.len()
    }

    fn dtype(&self) -> &'static str {
        match self.values {
            Values::F(_) => "float",
            Values::I(_) => "int",
            Values::B(_) => "bool",
        }
    }

    /// The values as `f32` (bools as 1/0: a valid-mask).
    fn f32s(&self) -> Vec<f32> {
        match &self.values {
            Values::F(v) => v.clone(),
            Values::I(v) => v.iter().map(|&x| x as f32).collect(),
            Values::B(v) => v.iter().map(|&x| if x { 1.0 } else { 0.0 }).collect(),
        }
    }

    /// Same values, another shape with the same number of elements (a row-major reshape).
    fn reshaped(mut self, shape: Vec<usize>) -> Res<Self> {
        if shape.iter().product::<usize>() != self.len() {
            return Err(format!("cannot reshape {:?} to {shape:?}", self.shape));
        }
        self.shape = shape;
        Ok(self)
    }

    /// Drops the size-1 dim `dim`.
    fn squeezed(mut self, dim: usize) -> Res<Self> {
        if self.shape.get(dim) != Some(&1) {
            return Err(format!("cannot squeeze dim {dim} of {:?}", self.shape));
        }
        self.shape.remove(dim);
        Ok(self)
    }

    fn dims<const D: usize>(&self) -> Res<[usize; D]> {
        self.shape
            .as_slice()
            .try_into()
            .map_err(|_| format!("expected rank {D}, got shape {:?}", self.shape))
    }

    fn float<B: Backend, const D: usize>(&self, device: &B::Device) -> Res<Tensor<B, D>> {
        let shape = self.dims::<D>()?;
        Ok(Tensor::from_data(
            TensorData::new(self.f32s(), shape),
            device,
        ))
    }

    fn int<B: Backend, const D: usize>(&self, device: &B::Device) -> Res<Tensor<B, D, Int>> {
        let shape = self.dims::<D>()?;
        match &self.values {
            Values::I(v) => Ok(Tensor::from_data(TensorData::new(v.clone(), shape), device)),
            _ => Err(format!("expected an int tensor, got {}", self.dtype())),
        }
    }

    fn boolean<B: Backend, const D: usize>(&self, device: &B::Device) -> Res<Tensor<B, D, Bool>> {
        let shape = self.dims::<D>()?;
        match &self.values {
            Values::B(v) => Ok(Tensor::from_data(TensorData::new(v.clone(), shape), device)),
            _ => Err(format!("expected a bool tensor, got {}", self.dtype())),
        }
    }

    fn of_float<B: Backend, const D: usize>(t: Tensor<B, D>) -> Self {
        let shape = t.dims().to_vec();
        let data = t.into_data().convert::<f32>();
        let values = Values::F(data.into_vec::<f32>().expect("f32 data"));
        Self { shape, values }
    }

    fn of_int<B: Backend, const D: usize>(t: Tensor<B, D, Int>) -> Self {
        let shape = t.dims().to_vec();
        let data = t.into_data().convert::<i64>();
        let values = Values::I(data.into_vec::<i64>().expect("i64 data"));
        Self { shape, values }
    }

    fn of_bool<B: Backend, const D: usize>(t: Tensor<B, D, Bool>) -> Self {
        let int = Self::of_int(t.int());
        let values = match int.values {
            Values::I(v) => Values::B(v.into_iter().map(|x| x != 0).collect()),
            _ => unreachable!("of_int returns ints"),
        };
        Self {
            shape: int.shape,
            values,
        }
    }
}

/// Row-major multi-index of a flat index.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (d, &n) in shape.iter().enumerate().rev() {
        if n > 0 {
            idx[d] = i % n;
            i /= n;
        }
    }
    idx
}

/// A Python-style dim (negative counts from the end) as an index below `rank`.
fn norm_dim(dim: i64, rank: usize) -> Res<usize> {
    let d = if dim < 0 { dim + rank as i64 } else { dim };
    usize::try_from(d)
        .ok()
        .filter(|&d| d < rank)
        .ok_or_else(|| format!("dim {dim} out of range for rank {rank}"))
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

// --------------------------------------------------------------------------- comparison

/// Per-element tolerance `max(atol, rtol |want|) + 4 noise`.
#[derive(Clone, Copy)]
struct Tol {
    atol: f64,
    rtol: f64,
    noise: f64,
}

impl Tol {
    const EXACT: Self = Self {
        atol: 0.0,
        rtol: 0.0,
        noise: 0.0,
    };

    fn allowed(&self, want: f64) -> f64 {
        self.atol.max(self.rtol * want.abs()) + 4.0 * self.noise
    }
}

/// The comparison of one key.
struct KeyResult {
    key: String,
    max_abs: f64,
    max_rel: f64,
    /// Worst `|got - want| / allowed`: above 1 fails.
    ratio: f64,
    failure: Option<String>,
}

/// The one comparison routine: shapes, dtypes, NaN/inf positions, then values within `tol`.
fn compare(key: &str, got: &Arr, want: &Arr, tol: Tol) -> KeyResult {
    let mut result = KeyResult {
        key: key.to_string(),
        max_abs: 0.0,
        max_rel: 0.0,
        ratio: 0.0,
        failure: None,
    };
    if got.shape != want.shape {
        result.ratio = f64::INFINITY;
        result.failure = Some(format!("shape {:?}, want {:?}", got.shape, want.shape));
        return result;
    }
    let pairs: Vec<(f64, f64)> = match (&got.values, &want.values) {
        (Values::F(g), Values::F(w)) => g
            .iter()
            .zip(w)
            .map(|(&a, &b)| (a as f64, b as f64))
            .collect(),
        (Values::I(g), Values::I(w)) => g
            .iter()
            .zip(w)
            .map(|(&a, &b)| (a as f64, b as f64))
            .collect(),
        (Values::B(g), Values::B(w)) => g
            .iter()
            .zip(w)
            .map(|(&a, &b)| (a as u8 as f64, b as u8 as f64))
            .collect(),
        _ => {
            result.ratio = f64::INFINITY;
            result.failure = Some(format!("dtype {}, want {}", got.dtype(), want.dtype()));
            return result;
        }
    };
    let tol = if matches!(want.values, Values::F(_)) {
        tol
    } else {
        Tol::EXACT
    };
    let mut bad = 0;
    let mut first_bad = None;
    for (i, &(g, w)) in pairs.iter().enumerate() {
        let ok = if w.is_nan() || w.is_infinite() || !g.is_finite() {
            let same = (w.is_nan() && g.is_nan()) || g == w;
            if !same {
                result.ratio = f64::INFINITY;
            }
            same
        } else {
            let d = (g - w).abs();
            let allowed = tol.allowed(w);
            result.max_abs = result.max_abs.max(d);
            if w != 0.0 {
                result.max_rel = result.max_rel.max(d / w.abs());
            }
            let ratio = if allowed > 0.0 {
                d / allowed
            } else if d > 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
            result.ratio = result.ratio.max(ratio);
            ratio <= 1.0
        };
        if !ok {
            bad += 1;
            first_bad.get_or_insert((i, g, w));
        }
    }
    if let Some((i, g, w)) = first_bad {
        result.failure = Some(format!(
            "{bad}/{} elements out of tolerance; first at {:?}: got {g:e}, want {w:e} (allowed |diff| {:.3e})",
            pairs.len(),
            unravel(i, &want.shape),
            tol.allowed(w),
        ));
    }
    result
}

/// What one case produced: key comparisons, errors and notes.
struct Report<'c> {
    case: &'c Case,
    results: Vec<KeyResult>,
    errors: Vec<String>,
    notes: Vec<String>,
    /// `section.key` entries of the case that were compared or deliberately skipped.
    handled: BTreeSet<String>,
}

impl<'c> Report<'c> {
    fn new(case: &'c Case) -> Self {
        Self {
            case,
            results: Vec::new(),
            errors: Vec::new(),
            notes: Vec::new(),
            handled: BTreeSet::new(),
        }
    }

    /// The default tolerance of `key`, or the case's own.
    fn tol(&self, key: &str) -> Tol {
        if let Some(t) = &self.case.tolerance {
            let t = t.get(key).unwrap_or(t);
            let atol = t.get("atol").and_then(Value::as_f64).or_else(|| t.as_f64());
            let rtol = t.get("rtol").and_then(Value::as_f64);
            if atol.is_some() || rtol.is_some() {
                return Tol {
                    atol: atol.unwrap_or(0.0),
                    rtol: rtol.unwrap_or(0.0),
                    noise: 0.0,
                };
            }
        }
        let noise = self
            .case
            .f32_vs_f64_max_abs_diff
            .as_ref()
            .and_then(|m| m.get(key))
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        Tol {
            atol: 1e-6,
            rtol: 1e-5,
            noise,
        }
    }

    fn label(section: &str, key: &str) -> String {
        if section == "outputs" {
            key.to_string()
        } else {
            format!("{section}.{key}")
        }
    }

    /// Compares `got` with the case's `section.key` (a 0-d reference maps to `[1]`).
    fn check(&mut self, section: &str, key: &str, got: Arr) {
        self.handled.insert(format!("{section}.{key}"));
        let tol = self.tol(key);
        let label = Self::label(section, key);
        match self.case.tensor(section, key) {
            Ok(mut want) => {
                if want.shape.is_empty() {
                    want.shape = vec![1];
                }
                let result = compare(&label, &got, &want, tol);
                self.results.push(result);
            }
            Err(e) => self.errors.push(e),
        }
    }

    /// Compares `got` with a reference derived by the harness.
    fn check_against(&mut self, label: &str, got: &Arr, want: &Arr, tol: Tol) {
        self.results.push(compare(label, got, want, tol));
    }

    /// Compares the gradient of `leaf` with `grads.key` (no gradient counts as zeros).
    fn check_grad<B: AutodiffBackend>(&mut self, key: &str, leaf: &Leaf<B>, grads: &B::Gradients) {
        let got = leaf.grad(grads).unwrap_or_else(|| {
            self.notes.push(format!(
                "grads.{key}: no gradient reached the input, compared as zeros"
            ));
            let shape = leaf.shape();
            let n = shape.iter().product();
            Arr {
                shape,
                values: Values::F(vec![0.0; n]),
            }
        });
        self.check("grads", key, got);
    }

    /// Records a pass/fail check that is not an elementwise comparison.
    fn assert(&mut self, label: &str, ok: bool, failure: impl FnOnce() -> String) {
        self.results.push(KeyResult {
            key: label.to_string(),
            max_abs: 0.0,
            max_rel: 0.0,
            ratio: if ok { 0.0 } else { f64::INFINITY },
            failure: (!ok).then(failure),
        });
    }

    /// Marks `section.key` as deliberately not compared, and says why.
    fn skip(&mut self, section: &str, key: &str, why: &str) {
        self.handled.insert(format!("{section}.{key}"));
        self.notes.push(format!(
            "{}: not compared: {why}",
            Self::label(section, key)
        ));
    }

    fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Flags every reference key that was neither compared nor skipped.
    fn finish(&mut self) {
        for section in ["outputs", "grads", "intermediates"] {
            let keys: Vec<String> = self
                .case
                .section(section)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            for key in keys {
                if !self.handled.contains(&format!("{section}.{key}")) {
                    self.errors
                        .push(format!("{section}.{key}: unsupported key, not checked"));
                }
            }
        }
    }

    fn passed(&self) -> bool {
        self.errors.is_empty()
            && !self.results.is_empty()
            && self.results.iter().all(|r| r.failure.is_none())
    }

    fn print(&self, stem: &str) {
        // The first key wins ties (max_by keeps the last, hence rev).
        let worst = self
            .results
            .iter()
            .rev()
            .max_by(|a, b| a.ratio.total_cmp(&b.ratio));
        let summary = match worst {
            Some(w) => format!("{} keys (worst {})", self.results.len(), w.key),
            None => "0 keys".to_string(),
        };
        let (max_abs, max_rel) = worst.map_or((0.0, 0.0), |w| (w.max_abs, w.max_rel));
        println!(
            "{stem} {} {summary} max_abs={max_abs:.3e} max_rel={max_rel:.3e} {}",
            self.case.name,
            if self.passed() { "PASS" } else { "FAIL" }
        );
        for r in &self.results {
            if let Some(f) = &r.failure {
                println!("    FAIL {}: {f}", r.key);
            }
        }
        for e in &self.errors {
            println!("    ERROR {e}");
        }
        if self.results.is_empty() && self.errors.is_empty() {
            println!("    ERROR nothing was compared");
        }
        for n in &self.notes {
            println!("    note: {n}");
        }
    }
}

/// A leaf tensor whose gradient is checked.
enum Leaf<B: AutodiffBackend> {
    R2(Tensor<B, 2>),
    R3(Tensor<B, 3>),
}

impl<B: AutodiffBackend> Leaf<B> {
    fn grad(&self, grads: &B::Gradients) -> Option<Arr> {
        match self {
            Self::R2(t) => t.grad(grads).map(Arr::of_float),
            Self::R3(t) => t.grad(grads).map(Arr::of_float),
        }
    }

    fn shape(&self) -> Vec<usize> {
        match self {
            Self::R2(t) => t.dims().to_vec(),
            Self::R3(t) => t.dims().to_vec(),
        }
    }
}

/// Calls `f::<B, D>(args)` for the runtime rank `d` in 1..=4.
macro_rules! with_rank {
    ($d:expr, $f:ident::<$b:ty>($($arg:expr),*)) => {
        match $d {
            1 => $f::<$b, 1>($($arg),*),
            2 => $f::<$b, 2>($($arg),*),
            3 => $f::<$b, 3>($($arg),*),
            4 => $f::<$b, 4>($($arg),*),
            d => Err(format!("unsupported rank {d}")),
        }
    };
}

/// Calls `f::<B, D, DM>(args)` for an input of rank `d` and a mask of rank `dm <= d`.
macro_rules! with_ranks {
    ($d:expr, $dm:expr, $f:ident::<$b:ty>($($arg:expr),*)) => {
        match ($d, $dm) {
            (1, 1) => $f::<$b, 1, 1>($($arg),*),
            (2, 1) => $f::<$b, 2, 1>($($arg),*),
            (2, 2) => $f::<$b, 2, 2>($($arg),*),
            (3, 1) => $f::<$b, 3, 1>($($arg),*),
            (3, 2) => $f::<$b, 3, 2>($($arg),*),
            (3, 3) => $f::<$b, 3, 3>($($arg),*),
            (4, 2) => $f::<$b, 4, 2>($($arg),*),
            (4, 3) => $f::<$b, 4, 3>($($arg),*),
            (4, 4) => $f::<$b, 4, 4>($($arg),*),
            (d, dm) => Err(format!("unsupported ranks: x {d}, mask {dm}")),
        }
    };
}

// --------------------------------------------------------------------------------- rl8

/// `generalized_advantage_estimate` on `[B, T+1, 1]` or `[B, T+1]`.
fn rl8_generalized_advantage_estimate<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    match case.input("rewards")?.rank() {
        2 => rl8_gae_rank::<B, 2>(case, device, r),
        3 => rl8_gae_rank::<B, 3>(case, device, r),
        d => Err(format!(
            "rewards of rank {d}: expected [B, T+1] or [B, T+1, 1]"
        )),
    }
}

fn rl8_gae_rank<B: Backend, const D: usize>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let rewards_in = case.input("rewards")?;
    let rewards = rewards_in.float::<B, D>(device)?;
    let values = case.input("values")?.float::<B, D>(device)?;
    let options = rlf::GaeOptions {
        gamma: case.kw_f32("gamma", 0.95)?,
        lambda: case.kw_f32("gae_lambda", 0.95)?,
        normalize_advantages: case.kw_bool("normalize_advantages", true)?,
        reward_scale: case.kw_f32("reward_scale", 1.0)?,
    };
    let out =
        rlf::generalized_advantage_estimate(rewards.clone(), values, &options).map_err(err)?;
    let advantages = Arr::of_float(out.advantages);

    let shape = &rewards_in.shape;
    let body = shape[0] * (shape[1] - 1) * shape[2..].iter().product::<usize>();
    if options.normalize_advantages && body == 1 {
        // rl8 divides by the unbiased std of a single element: NaN. Ours returns the centred
        // advantage, 0, and the bootstrap column stays 0.
        let want = case.tensor("outputs", "advantages")?;
        let want_is_nan = matches!(&want.values, Values::F(v) if v[0].is_nan());
        let zeros = Arr {
            shape: want.shape.clone(),
            values: Values::F(vec![0.0; want.len()]),
        };
        r.check_against(
            "advantages (== 0, documented)",
            &advantages,
            &zeros,
            Tol::EXACT,
        );
        r.skip(
            "outputs",
            "advantages",
            &format!(
                "documented difference: one advantage with normalization; rl8 gives NaN (unbiased std \
                 of one element{}), ours the centred advantage 0, checked exactly above",
                if want_is_nan { "" } else { " -- but this reference is NOT NaN" }
            ),
        );
    } else {
        r.check("outputs", "advantages", advantages);
    }

    if case.outputs.contains_key("returns") {
        r.check("outputs", "returns", Arr::of_float(out.returns));
    } else {
        r.note("returns: rl8 was called with return_returns=False (ours always returns them)");
    }

    let after = Arr::of_float(rewards);
    r.check_against(
        "rewards unchanged by the call",
        &after,
        &rewards_in,
        Tol::EXACT,
    );
    r.skip(
        "outputs",
        "rewards_after_call",
        "documented difference: rl8 overwrites the caller's rewards with rewards/(reward_scale+1e-8); \
         ours never mutates its input (checked above: the input tensor is unchanged)",
    );
    Ok(())
}

/// Log-probabilities of `actions` and, if asked, the entropy.
fn logp_entropy<B: Backend, Dist: Distribution<B>>(
    dist: &Dist,
    actions: &Action<B>,
    with_entropy: bool,
) -> Res<(Tensor<B, 2>, Option<Tensor<B, 2>>)> {
    let logp = dist.log_prob(actions).map_err(err)?;
    Ok((logp, with_entropy.then(|| dist.entropy())))
}

/// rl8's `ppo_losses`, with the distribution built by rl-core.
fn rl8_ppo_losses<B: AutodiffBackend>(case: &Case, device: &B::Device, r: &mut Report) -> Res<()> {
    let entropy_coeff = case.kw_f32("entropy_coeff", 0.0)?;
    // rl8 never calls entropy() when the coefficient is 0.
    let with_entropy = entropy_coeff != 0.0;
    let mut leaves: Vec<(&str, Leaf<B>)> = Vec::new();
    let (logp, entropy) = match case.kw_str("distribution")? {
        "categorical" => {
            let logits = case.input("logits")?.float::<B, 3>(device)?.require_grad();
            let actions = Action::Discrete(case.input("actions")?.int::<B, 2>(device)?);
            let dist = Categorical::new(logits.clone());
            leaves.push(("d_total_d_logits", Leaf::R3(logits)));
            logp_entropy(&dist, &actions, with_entropy)?
        }
        "normal" => {
            let mean = case.input("mean")?.float::<B, 2>(device)?.require_grad();
            let log_std = case.input("log_std")?.float::<B, 2>(device)?.require_grad();
            let actions = Action::Continuous(case.input("actions")?.float::<B, 2>(device)?);
            let dist = Normal::new(mean.clone(), log_std.clone()).map_err(err)?;
            leaves.push(("d_total_d_mean", Leaf::R2(mean)));
            leaves.push(("d_total_d_log_std", Leaf::R2(log_std)));
            logp_entropy(&dist, &actions, with_entropy)?
        }
        other => return Err(format!("unknown distribution {other}")),
    };
    let values = case.input("values")?.float::<B, 2>(device)?.require_grad();
    leaves.push(("d_total_d_values", Leaf::R2(values.clone())));
    let logp_old = case.input("logp")?.float::<B, 2>(device)?;

    let config = rlf::PpoLossConfig {
        clip_param: case.kw_f32("clip_param", 0.2)?,
        // rl8 tests `if dual_clip_param:`, so 0.0 disables it like None.
        dual_clip_param: case.kw_opt_f32("dual_clip_param")?.filter(|&c| c != 0.0),
        entropy_coeff,
        vf_clip_param: Some(case.kw_f32("vf_clip_param", 1.0)?),
        vf_coeff: case.kw_f32("vf_coeff", 1.0)?,
        value_clip: None,
        value_loss: rlf::ValueLossKind::Huber,
    };
    let batch = rlf::PpoBatch {
        logp: logp.clone(),
        logp_old: logp_old.clone(),
        advantages: case.input("advantages")?.float::<B, 2>(device)?,
        returns: case.input("returns")?.float::<B, 2>(device)?,
        values,
        old_values: None,
        entropy,
    };
    let losses = rlf::ppo_losses(batch, &config).map_err(err)?;

    r.check("outputs", "entropy", Arr::of_float(losses.entropy.clone()));
    r.check("outputs", "policy", Arr::of_float(losses.policy.clone()));
    r.check("outputs", "vf", Arr::of_float(losses.vf.clone()));
    r.check("outputs", "total", Arr::of_float(losses.total.clone()));
    r.check(
        "intermediates",
        "logp_new",
        Arr::of_float(logp.clone().detach()),
    );
    let ratio = (logp - logp_old).detach().exp();
    r.check("intermediates", "p_ratio", Arr::of_float(ratio));
    r.check(
        "intermediates",
        "approx_kl_div",
        Arr::of_float(losses.approx_kl.clone()),
    );

    let grads = losses.total.backward();
    for (key, leaf) in &leaves {
        r.check_grad(key, leaf, &grads);
    }
    Ok(())
}

fn masked_log_softmax_n<B: Backend, const D: usize, const DM: usize>(
    x: &Arr,
    mask: Option<&Arr>,
    dim: usize,
    device: &B::Device,
) -> Res<Arr> {
    let x = x.float::<B, D>(device)?;
    let mask = mask.map(|m| m.float::<B, DM>(device)).transpose()?;
    Ok(Arr::of_float(
        rlf::masked_log_softmax(x, mask, dim).map_err(err)?,
    ))
}

/// `(x, mask as a float valid-mask, dim)` of the masked functions.
fn masked_inputs(case: &Case) -> Res<(Arr, Option<Arr>, usize)> {
    let x = case.input("x")?;
    let mask = case.opt_input("mask")?;
    let dim = norm_dim(case.kw_i64("dim")?, x.rank())?;
    Ok((x, mask, dim))
}

fn rl8_masked_log_softmax<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let (x, mask, dim) = masked_inputs(case)?;
    let mask_rank = mask.as_ref().map_or(x.rank(), Arr::rank);
    let got = with_ranks!(
        x.rank(),
        mask_rank,
        masked_log_softmax_n::<B>(&x, mask.as_ref(), dim, device)
    )?;
    r.check("outputs", "out", got);
    Ok(())
}

fn masked_avg_n<B: Backend, const D: usize, const DM: usize>(
    x: &Arr,
    mask: Option<&Arr>,
    dim: usize,
    device: &B::Device,
) -> Res<Arr> {
    let x = x.float::<B, D>(device)?;
    let mask = mask.map(|m| m.float::<B, DM>(device)).transpose()?;
    Ok(Arr::of_float(rlf::masked_avg(x, mask, dim).map_err(err)?))
}

fn rl8_masked_avg<B: AutodiffBackend>(case: &Case, device: &B::Device, r: &mut Report) -> Res<()> {
    let (x, mask, dim) = masked_inputs(case)?;
    let mask_rank = mask.as_ref().map_or(x.rank(), Arr::rank);
    let mut got = with_ranks!(
        x.rank(),
        mask_rank,
        masked_avg_n::<B>(&x, mask.as_ref(), dim, device)
    )?;
    // Ours keeps the reduced dim.
    if !case.kw_bool("keepdim", false)? {
        got = got.squeezed(dim)?;
    }
    r.check("outputs", "out", got);
    Ok(())
}

fn masked_max_n<B: Backend, const D: usize, const DM: usize>(
    x: &Arr,
    mask: Option<&Arr>,
    dim: usize,
    device: &B::Device,
) -> Res<(Arr, Arr)> {
    let x = x.float::<B, D>(device)?;
    let mask = mask.map(|m| m.float::<B, DM>(device)).transpose()?;
    let (values, indices) = rlf::masked_max(x, mask, dim).map_err(err)?;
    Ok((Arr::of_float(values), Arr::of_int(indices)))
}

fn rl8_masked_max<B: AutodiffBackend>(case: &Case, device: &B::Device, r: &mut Report) -> Res<()> {
    let (x, mask, dim) = masked_inputs(case)?;
    let mask_rank = mask.as_ref().map_or(x.rank(), Arr::rank);
    let (values, indices) = with_ranks!(
        x.rank(),
        mask_rank,
        masked_max_n::<B>(&x, mask.as_ref(), dim, device)
    )?;
    r.check("outputs", "values", values);
    r.check("outputs", "indices", indices);
    Ok(())
}

fn masked_sample_n<B: Backend, const D: usize, const DM: usize>(
    x: &Arr,
    mask: Option<&Arr>,
    dim: usize,
    repeats: usize,
    seed: u64,
    device: &B::Device,
) -> Res<(Arr, Arr)> {
    let x = x.float::<B, D>(device)?.repeat_dim(0, repeats);
    let mask = mask
        .map(|m| m.float::<B, DM>(device).map(|m| m.repeat_dim(0, repeats)))
        .transpose()?;
    let mut rng = StdRng::seed_from_u64(seed);
    let (values, indices) = rlf::masked_categorical_sample(x, mask, dim, &mut rng).map_err(err)?;
    Ok((Arr::of_float(values), Arr::of_int(indices)))
}

/// `masked_categorical_sample`: exact where the sample is determined, statistical everywhere.
fn rl8_masked_categorical_sample<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let (x, mask, dim) = masked_inputs(case)?;
    let mask_rank = mask.as_ref().map_or(x.rank(), Arr::rank);
    let sample = |repeats: usize, seed: u64| {
        with_ranks!(
            x.rank(),
            mask_rank,
            masked_sample_n::<B>(&x, mask.as_ref(), dim, repeats, seed, device)
        )
    };

    if case.outputs.contains_key("indices") || case.outputs.contains_key("values") {
        let (values, indices) = sample(1, 0)?;
        r.check("outputs", "values", values);
        r.check("outputs", "indices", indices);
    }

    // Statistical check: K draws per row, tiled along dim 0 in one call.
    let [rows, cats] = x
        .dims::<2>()
        .map_err(|e| format!("statistical check needs x [B, N]: {e}"))?;
    if dim != 1 {
        return Err(format!(
            "statistical check needs dim = 1 (the last), got {dim}"
        ));
    }
    let probs = case.tensor("intermediates", "probs")?.f32s();
    let masked_logits = case.tensor("intermediates", "masked_logits")?;
    let valid = mask.as_ref().map_or(vec![1.0; rows * cats], Arr::f32s);
    let (values, indices) = sample(SAMPLES, 1)?;
    let Values::I(indices) = indices.values else {
        return Err("indices are not ints".into());
    };
    let mut counts = vec![0usize; rows * cats];
    let mut bad_mask = 0;
    let masked_logits = masked_logits.f32s();
    let mut want_values = Vec::with_capacity(indices.len());
    for (i, &a) in indices.iter().enumerate() {
        let row = i % rows;
        let a = usize::try_from(a)
            .ok()
            .filter(|&a| a < cats)
            .ok_or(format!("index {a} out of 0..{cats}"))?;
        counts[row * cats + a] += 1;
        let fully_masked = valid[row * cats..(row + 1) * cats]
            .iter()
            .all(|&m| m == 0.0);
        if valid[row * cats + a] == 0.0 && !fully_masked {
            bad_mask += 1;
        }
        want_values.push(masked_logits[row * cats + a]);
    }
    r.assert("sampled indices are valid (mask)", bad_mask == 0, || {
        format!("{bad_mask} samples hit a masked entry of a row with valid entries")
    });
    let k = SAMPLES as f64;
    let mut worst = (0.0f64, 0.0f64, 0usize);
    for (i, (&c, &p)) in counts.iter().zip(&probs).enumerate() {
        let (freq, p) = (c as f64 / k, p as f64);
        let bound = 5.0 * (p * (1.0 - p) / k).sqrt() + 1e-3;
        let ratio = (freq - p).abs() / bound;
        if ratio > worst.0 {
            worst = (ratio, (freq - p).abs(), i);
        }
    }
    r.results.push(KeyResult {
        key: "intermediates.probs (sample frequencies)".into(),
        max_abs: worst.1,
        max_rel: 0.0,
        ratio: worst.0,
        failure: (worst.0 > 1.0).then(|| {
            format!(
                "frequency off by {:.3e} at {:?} (bound 5 sigma + 1e-3)",
                worst.1,
                unravel(worst.2, &[rows, cats])
            )
        }),
    });
    r.handled.insert("intermediates.probs".into());
    let want_values = Arr {
        shape: values.shape.clone(),
        values: Values::F(want_values),
    };
    let tol = r.tol("values");
    r.check_against(
        "intermediates.masked_logits (at sampled indices)",
        &values,
        &want_values,
        tol,
    );
    r.handled.insert("intermediates.masked_logits".into());
    r.note(format!(
        "checked statistically: {SAMPLES} seeded draws per row, |freq - probs| <= 5 sigma + 1e-3, \
         values == masked_logits at the sampled index"
    ));
    Ok(())
}

fn rl8_mask_from_lengths<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let shape: Vec<usize> =
        serde_json::from_value(case.inputs.get("x_shape").cloned().unwrap_or_default())
            .map_err(|e| format!("inputs.x_shape: {e}"))?;
    let max_len = *shape.get(1).ok_or("x_shape has fewer than 2 dims")?;
    let lengths = case.input("lengths")?;
    // `.long()` truncates floats toward zero.
    let lengths = match lengths.values {
        Values::F(v) => Arr {
            shape: lengths.shape,
            values: Values::I(v.into_iter().map(|x| x.trunc() as i64).collect()),
        },
        _ => lengths,
    };
    if lengths.shape != shape[..1] {
        return Err(format!(
            "lengths {:?} do not match x_shape {shape:?}",
            lengths.shape
        ));
    }
    let mask = rlf::mask_from_lengths(lengths.int::<B, 1>(device)?, max_len);
    r.check("outputs", "mask", Arr::of_bool(mask));
    Ok(())
}

fn binary_to_float_n<B: Backend, const D: usize>(mask: &Arr, device: &B::Device) -> Res<Arr> {
    Ok(Arr::of_float(rlf::binary_mask_to_float_mask(
        mask.float::<B, D>(device)?,
    )))
}

fn rl8_binary_mask_to_float_mask<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let mask = case.input("mask")?;
    let got = with_rank!(mask.rank(), binary_to_float_n::<B>(&mask, device))?;
    r.check("outputs", "out", got);
    Ok(())
}

fn float_to_binary_n<B: Backend, const D: usize>(mask: &Arr, device: &B::Device) -> Res<Arr> {
    Ok(Arr::of_bool(rlf::float_mask_to_binary_mask(
        mask.float::<B, D>(device)?,
    )))
}

fn rl8_float_mask_to_binary_mask<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let mask = case.input("mask")?;
    let got = with_rank!(mask.rank(), float_to_binary_n::<B>(&mask, device))?;
    r.check("outputs", "out", got);
    Ok(())
}

fn skip_n<B: Backend, const D: usize>(
    x: &Arr,
    y: &Arr,
    kind: rlf::SkipKind,
    dim: usize,
    device: &B::Device,
) -> Res<Arr> {
    let out = rlf::skip_connection(
        x.float::<B, D>(device)?,
        y.float::<B, D>(device)?,
        kind,
        dim,
    );
    Ok(Arr::of_float(out.map_err(err)?))
}

fn rl8_skip_connection<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let kind = match case.kw("kind") {
        None | Some(Value::Null) => Ok(rlf::SkipKind::NoSkip),
        Some(Value::String(s)) => s.parse::<rlf::SkipKind>(),
        Some(other) => return Err(format!("kwargs.kind = {other}")),
    };
    if let Some(raises) = case.outputs.get("raises") {
        r.handled.insert("outputs.raises".into());
        r.handled.insert("outputs.message".into());
        r.assert(&format!("raises {raises}"), kind.is_err(), || {
            format!(
                "the reference raises {raises}, but SkipKind parsed {:?}",
                case.kw("kind")
            )
        });
        if let Err(e) = kind {
            r.note(format!("SkipKind::from_str error: {e}"));
        }
        return Ok(());
    }
    let kind = kind.map_err(err)?;
    let x = case.input("x")?;
    let y = case.input("y")?;
    let dim = norm_dim(case.kw_i64("dim")?, x.rank())?;
    let got = with_rank!(x.rank(), skip_n::<B>(&x, &y, kind, dim, device))?;
    r.check("outputs", "out", got);
    Ok(())
}

// ----------------------------------------------------------------------------- seed_rl

/// `vtrace_from_logits`: time-major `[T, B]` in the files, batch-major for us.
fn seedrl_vtrace_from_logits<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let f2 = |k: &str| -> Res<Tensor<B, 2>> {
        Ok(case.input(k)?.float::<B, 2>(device)?.swap_dims(0, 1))
    };
    let f3 = |k: &str| -> Res<Tensor<B, 3>> {
        Ok(case.input(k)?.float::<B, 3>(device)?.swap_dims(0, 1))
    };
    let threshold = |k: &str| -> Res<Option<f32>> {
        match case.kw(k) {
            None => Ok(Some(1.0)),
            Some(_) => case.kw_opt_f32(k),
        }
    };
    let out = rlf::vtrace_from_logits(rlf::VTraceInput {
        behaviour_logits: f3("behavior_policy_logits")?,
        target_logits: f3("target_policy_logits")?,
        actions: case.input("actions")?.int::<B, 2>(device)?.swap_dims(0, 1),
        discounts: f2("discounts")?,
        rewards: f2("rewards")?,
        values: f2("values")?,
        bootstrap_value: case.input("bootstrap_value")?.float::<B, 1>(device)?,
        clip_rho_threshold: threshold("clip_rho_threshold")?,
        clip_pg_rho_threshold: threshold("clip_pg_rho_threshold")?,
    })
    .map_err(err)?;
    let time_major = |t: Tensor<B, 2>| Arr::of_float(t.swap_dims(0, 1));
    r.check("outputs", "vs", time_major(out.vs));
    r.check("outputs", "pg_advantages", time_major(out.pg_advantages));
    r.check("outputs", "log_rhos", time_major(out.log_rhos));
    r.check(
        "outputs",
        "behavior_action_log_probs",
        time_major(out.behaviour_action_log_probs),
    );
    r.check(
        "outputs",
        "target_action_log_probs",
        time_major(out.target_action_log_probs),
    );
    Ok(())
}

fn entropy_loss_n<B: AutodiffBackend, const D: usize>(
    logits: &Arr,
    device: &B::Device,
) -> Res<(Arr, Option<Arr>)> {
    let logits = logits.float::<B, D>(device)?.require_grad();
    let out = rlf::entropy_loss(logits.clone());
    let grads = out.backward();
    Ok((Arr::of_float(out), logits.grad(&grads).map(Arr::of_float)))
}

fn seedrl_loss_entropy<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let logits = case.input("logits")?;
    let (out, grad) = with_rank!(logits.rank(), entropy_loss_n::<B>(&logits, device))?;
    r.check("outputs", "out", out);
    let grad = grad.ok_or("no gradient reached the logits")?;
    r.check("grads", "d_out_d_logits", grad);
    Ok(())
}

fn seedrl_loss_policy_gradient<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    // The time-major logits are the leaf, so the gradient comes back time-major.
    let logits = case.input("logits")?.float::<B, 3>(device)?.require_grad();
    let actions = case.input("actions")?.int::<B, 2>(device)?.swap_dims(0, 1);
    let advantages = case
        .input("advantages")?
        .float::<B, 2>(device)?
        .swap_dims(0, 1);
    let out = rlf::policy_gradient_loss(logits.clone().swap_dims(0, 1), actions, advantages)
        .map_err(err)?;
    let grads = out.backward();
    r.check("outputs", "out", Arr::of_float(out));
    r.check_grad("d_out_d_logits", &Leaf::R3(logits), &grads);
    Ok(())
}

// ----------------------------------------------------------------------------- torchrl

/// `[N, T]` of a torchrl `[*B, T, 1]` tensor (`[T, 1]` has N = 1).
fn torchrl_nt(shape: &[usize]) -> Res<[usize; 2]> {
    match shape {
        [batch @ .., t, 1] => Ok([batch.iter().product(), *t]),
        _ => Err(format!("expected [*B, T, 1], got {shape:?}")),
    }
}

/// The torchrl inputs as batch-major `[N, T]` trajectories, and the reference shape.
fn torchrl_trajectories<B: Backend>(
    case: &Case,
    device: &B::Device,
) -> Res<(rlf::Trajectories<B>, Vec<usize>)> {
    let shape = case.input("reward")?.shape;
    let nt = torchrl_nt(&shape)?.to_vec();
    let float = |k: &str| case.input(k)?.reshaped(nt.clone())?.float::<B, 2>(device);
    let boolean = |k: &str| case.input(k)?.reshaped(nt.clone())?.boolean::<B, 2>(device);
    let trajectories = rlf::Trajectories {
        rewards: float("reward")?,
        values: float("state_value")?,
        next_values: float("next_state_value")?,
        done: boolean("done")?,
        terminated: boolean("terminated")?,
    };
    Ok((trajectories, shape))
}

fn torchrl_generalized_advantage_estimate<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let (traj, shape) = torchrl_trajectories::<B>(case, device)?;
    let gamma = case.kw_f32("gamma", 0.99)?;
    let out = rlf::gae(&traj, gamma, case.kw_f32("lmbda", 0.95)?).map_err(err)?;
    r.check(
        "outputs",
        "advantage",
        Arr::of_float(out.advantages).reshaped(shape.clone())?,
    );
    r.check(
        "outputs",
        "value_target",
        Arr::of_float(out.value_targets).reshaped(shape)?,
    );
    Ok(())
}

fn torchrl_td0_return_estimate<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let (traj, shape) = torchrl_trajectories::<B>(case, device)?;
    let out = rlf::td0_return_estimate(&traj, case.kw_f32("gamma", 0.99)?).map_err(err)?;
    r.check("outputs", "returns", Arr::of_float(out).reshaped(shape)?);
    Ok(())
}

fn torchrl_td_lambda_return_estimate<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let (traj, shape) = torchrl_trajectories::<B>(case, device)?;
    let gamma = if case.kw("gamma").and_then(Value::as_str) == Some("tensor") {
        let nt = torchrl_nt(&shape)?.to_vec();
        rlf::Discount::PerStep(case.input("gamma")?.reshaped(nt)?.float::<B, 2>(device)?)
    } else {
        rlf::Discount::Constant(case.kw_f32("gamma", 0.99)?)
    };
    let out =
        rlf::td_lambda_return_estimate(&traj, gamma, case.kw_f32("lmbda", 0.95)?).map_err(err)?;
    r.check("outputs", "returns", Arr::of_float(out).reshaped(shape)?);
    Ok(())
}

fn torchrl_vtrace_advantage_estimate<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let (traj, shape) = torchrl_trajectories::<B>(case, device)?;
    let nt = torchrl_nt(&shape)?.to_vec();
    let log = |k: &str| case.input(k)?.reshaped(nt.clone())?.float::<B, 2>(device);
    let out = rlf::vtrace_advantage_estimate(
        &traj,
        log("log_pi")?,
        log("log_mu")?,
        case.kw_f32("gamma", 0.99)?,
        case.kw_f32("rho_thresh", 1.0)?,
        case.kw_f32("c_thresh", 1.0)?,
    )
    .map_err(err)?;
    r.check(
        "outputs",
        "advantages",
        Arr::of_float(out.advantages).reshaped(shape.clone())?,
    );
    r.check("outputs", "vs", Arr::of_float(out.vs).reshaped(shape)?);
    Ok(())
}

/// `log(sum(exp(x)))` over every element, as a `[1]` tensor.
fn logsumexp<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 1> {
    let max = x.clone().max();
    (x - max.clone().reshape([1, 1])).exp().sum().log() + max
}

/// torchrl's `ClipPPOLoss.forward`, composed from rl-functional's building blocks.
fn torchrl_clip_ppo_loss<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    r: &mut Report,
) -> Res<()> {
    let action = case.input("action")?;
    let n = *action.shape.first().ok_or("action is 0-d")?;
    let entropy_bonus = case.kw_bool("entropy_bonus", true)?;
    let mut leaves: Vec<(&str, Leaf<B>)> = Vec::new();
    let (logp, entropy) = match case.kw_str("distribution")? {
        "categorical" => {
            let logits = case.input("logits")?.float::<B, 2>(device)?.require_grad();
            let categories = logits.dims()[1];
            let actions = Action::Discrete(action.reshaped(vec![n, 1])?.int::<B, 2>(device)?);
            let dist = Categorical::new(logits.clone().reshape([n, 1, categories]));
            leaves.push(("d_loss_sum_d_logits", Leaf::R2(logits)));
            logp_entropy(&dist, &actions, true)?
        }
        "normal" => {
            let loc = case.input("loc")?.float::<B, 2>(device)?.require_grad();
            let scale = case.input("scale")?.float::<B, 2>(device)?.require_grad();
            let actions = Action::Continuous(action.float::<B, 2>(device)?);
            let dist = Normal::new(loc.clone(), scale.clone().log()).map_err(err)?;
            leaves.push(("d_loss_sum_d_loc", Leaf::R2(loc)));
            leaves.push(("d_loss_sum_d_scale", Leaf::R2(scale)));
            logp_entropy(&dist, &actions, true)?
        }
        other => return Err(format!("unknown distribution {other}")),
    };
    let entropy = entropy.ok_or("no entropy")?;
    let value = case
        .input("state_value")?
        .float::<B, 2>(device)?
        .require_grad();
    leaves.push(("d_loss_sum_d_state_value", Leaf::R2(value.clone())));
    let old_value = case.input("old_state_value")?.float::<B, 2>(device)?;
    let sample_log_prob = case
        .input("sample_log_prob")?
        .reshaped(vec![n, 1])?
        .float::<B, 2>(device)?;

    let mut advantage = case.input("advantage")?.float::<B, 2>(device)?;
    if case.kw_bool("normalize_advantage", false)? && n > 1 {
        advantage = rlf::normalize(advantage);
        r.note(
            "advantage normalized by rl_functional::normalize: (a - mean) / (std + 1e-8); torchrl divides \
             by max(std, 1e-6) -- equal within tolerance unless std < 1e-6",
        );
    }
    let clip_value = case.kw_opt_f32("clip_value")?;
    let critic_coeff = case.kw_f32("critic_coeff", 1.0)?;
    let entropy_coeff = if entropy_bonus {
        case.kw_f32("entropy_coeff", 0.01)?
    } else {
        0.0
    };
    let value_loss = match case
        .kw("loss_critic_type")
        .and_then(Value::as_str)
        .unwrap_or("smooth_l1")
    {
        "smooth_l1" => rlf::ValueLossKind::Huber,
        "l2" => rlf::ValueLossKind::Squared,
        "l1" => rlf::ValueLossKind::Absolute,
        other => return Err(format!("unknown loss_critic_type {other}")),
    };
    let config = rlf::PpoLossConfig {
        clip_param: case.kw_f32("clip_epsilon", 0.2)?,
        dual_clip_param: None,
        entropy_coeff,
        vf_clip_param: None,
        vf_coeff: critic_coeff,
        value_clip: clip_value,
        value_loss,
    };
    let batch = rlf::PpoBatch {
        logp: logp.clone(),
        logp_old: sample_log_prob.clone(),
        advantages: advantage,
        returns: case.input("value_target")?.float::<B, 2>(device)?,
        values: value.clone(),
        old_values: Some(old_value.clone()),
        entropy: entropy_bonus.then_some(entropy),
    };
    let losses = rlf::ppo_losses(batch, &config).map_err(err)?;

    let loss_objective = losses.policy.clone().neg();
    let loss_critic = losses.vf.clone().mul_scalar(critic_coeff);
    let loss_entropy = losses.entropy.clone().mul_scalar(-entropy_coeff);
    r.check(
        "outputs",
        "loss_objective",
        Arr::of_float(loss_objective.clone()),
    );
    r.check("outputs", "loss_critic", Arr::of_float(loss_critic.clone()));
    r.check(
        "outputs",
        "clip_fraction",
        Arr::of_float(losses.clip_fraction.clone()),
    );
    r.check(
        "outputs",
        "explained_variance",
        Arr::of_float(losses.explained_variance.clone()),
    );
    if entropy_bonus {
        r.check("outputs", "entropy", Arr::of_float(losses.entropy.clone()));
        r.check(
            "outputs",
            "loss_entropy",
            Arr::of_float(loss_entropy.clone()),
        );
    } else {
        r.note("entropy_bonus=False: torchrl reports no entropy terms; ppo_losses gets no entropy and coefficient 0");
    }

    // Diagnostics torchrl reports and ppo_losses does not, from the log-weights.
    let log_w = (logp - sample_log_prob).detach();
    let ratio = log_w.clone().exp();
    r.check(
        "outputs",
        "kl_approx",
        Arr::of_float(log_w.clone().neg().mean()),
    );
    r.check("outputs", "max_ratio", Arr::of_float(ratio.clone().max()));
    r.check("outputs", "mean_ratio", Arr::of_float(ratio.mean()));
    let ess = (logsumexp(log_w.clone()).mul_scalar(2.0) - logsumexp(log_w.mul_scalar(2.0)))
        .exp()
        .div_scalar(n as f32);
    r.check("outputs", "ESS", Arr::of_float(ess));
    if let Some(c) = clip_value {
        let clipped = (value.clone().detach() - old_value)
            .abs()
            .greater_elem(c)
            .float()
            .mean();
        r.check("outputs", "value_clip_fraction", Arr::of_float(clipped));
    }
    r.note("kl_approx, ESS, max_ratio, mean_ratio, value_clip_fraction computed in the harness with tensor ops");

    let mut loss = loss_objective + loss_critic;
    if entropy_bonus {
        loss = loss + loss_entropy;
    }
    let grads = loss.backward();
    for (key, leaf) in &leaves {
        r.check_grad(key, leaf, &grads);
    }
    Ok(())
}

// ----------------------------------------------------------------------------- driver

/// The checker of a case file, by file stem.
#[allow(clippy::type_complexity)]
fn checker<B: AutodiffBackend>(
    stem: &str,
) -> Option<fn(&Case, &B::Device, &mut Report) -> Res<()>> {
    Some(match stem {
        "rl8_generalized_advantage_estimate" => rl8_generalized_advantage_estimate::<B>,
        "rl8_ppo_losses" => rl8_ppo_losses::<B>,
        "rl8_masked_log_softmax" => rl8_masked_log_softmax::<B>,
        "rl8_masked_categorical_sample" => rl8_masked_categorical_sample::<B>,
        "rl8_masked_avg" => rl8_masked_avg::<B>,
        "rl8_masked_max" => rl8_masked_max::<B>,
        "rl8_mask_from_lengths" => rl8_mask_from_lengths::<B>,
        "rl8_binary_mask_to_float_mask" => rl8_binary_mask_to_float_mask::<B>,
        "rl8_float_mask_to_binary_mask" => rl8_float_mask_to_binary_mask::<B>,
        "rl8_skip_connection" => rl8_skip_connection::<B>,
        "seedrl_vtrace_from_logits" => seedrl_vtrace_from_logits::<B>,
        "seedrl_loss_entropy" => seedrl_loss_entropy::<B>,
        "seedrl_loss_policy_gradient" => seedrl_loss_policy_gradient::<B>,
        "torchrl_generalized_advantage_estimate" => torchrl_generalized_advantage_estimate::<B>,
        "torchrl_td0_return_estimate" => torchrl_td0_return_estimate::<B>,
        "torchrl_td_lambda_return_estimate" => torchrl_td_lambda_return_estimate::<B>,
        "torchrl_vtrace_advantage_estimate" => torchrl_vtrace_advantage_estimate::<B>,
        "torchrl_clip_ppo_loss" => torchrl_clip_ppo_loss::<B>,
        _ => return None,
    })
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs every selected case of every file in `dir`; true if all passed and all files parsed.
fn run<B: AutodiffBackend>(
    dir: &Path,
    filter: Option<&str>,
    device: &B::Device,
    backend: &str,
) -> bool {
    let start = Instant::now();
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) => {
            println!("ERROR cannot read directory {}: {e}", dir.display());
            return false;
        }
    };
    paths.sort();
    let (mut passed, mut failed, mut unselected) = (0usize, 0usize, 0usize);
    let mut file_errors = 0usize;
    for path in &paths {
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let stem = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if file.starts_with('_') {
            println!("{file}: not a case file, skipped");
            continue;
        }
        let parsed = std::fs::read_to_string(path)
            .map_err(err)
            .and_then(|text| serde_json::from_str::<CaseFile>(&text).map_err(err));
        let case_file = match parsed {
            Ok(f) => f,
            Err(e) => {
                println!("{file}: ERROR cannot read or parse: {e}");
                file_errors += 1;
                continue;
            }
        };
        let check = checker::<B>(&stem);
        for case in &case_file.cases {
            if filter.is_some_and(|f| !format!("{stem}/{}", case.name).contains(f)) {
                unselected += 1;
                continue;
            }
            let mut report = Report::new(case);
            match check {
                None => report.errors.push(format!(
                    "unsupported file: no checker for {} ({stem})",
                    case_file.function
                )),
                Some(check) => {
                    let outcome =
                        catch_unwind(AssertUnwindSafe(|| check(case, device, &mut report)));
                    match outcome {
                        Ok(Ok(())) => report.finish(),
                        Ok(Err(e)) => report.errors.push(e),
                        Err(payload) => report
                            .errors
                            .push(format!("panicked: {}", panic_message(payload))),
                    }
                }
            }
            report.print(&stem);
            if report.passed() {
                passed += 1;
            } else {
                failed += 1;
            }
        }
    }
    if let Some(f) = filter {
        println!("filter {f:?}: {unselected} cases not selected");
    }
    if file_errors > 0 {
        println!("{file_errors} files could not be read or parsed");
    }
    println!(
        "backend {backend}: {} cases in {:.2} s",
        passed + failed,
        start.elapsed().as_secs_f64()
    );
    println!("{passed} passed, {failed} failed");
    failed == 0 && file_errors == 0
}

struct Args {
    dir: PathBuf,
    backend: String,
    filter: Option<String>,
}

const USAGE: &str = "usage: oracle [DIR] [--backend ndarray|wgpu|flex] [--filter SUBSTRING]";

fn parse_args() -> Res<Args> {
    let mut args = Args {
        dir: PathBuf::from("../shared/oracle/cases"),
        backend: "ndarray".into(),
        filter: None,
    };
    let mut dir = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or(format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--backend" => args.backend = value("--backend")?,
            "--filter" => args.filter = Some(value("--filter")?),
            "-h" | "--help" => return Err(USAGE.into()),
            f if f.starts_with('-') => return Err(format!("unknown option {f}\n{USAGE}")),
            _ if dir.is_none() => dir = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg}\n{USAGE}")),
        }
    }
    if let Some(d) = dir {
        args.dir = d;
    }
    Ok(args)
}

/// Parses the command line and checks every golden case.
pub(crate) fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let filter = args.filter.as_deref();
    let (dir, name) = (&args.dir, args.backend.as_str());
    let outcome = match name {
        "ndarray" => Some(run::<Autodiff<burn::backend::NdArray>>(
            dir,
            filter,
            &Default::default(),
            name,
        )),
        #[cfg(feature = "wgpu")]
        "wgpu" => Some(run::<Autodiff<burn::backend::Wgpu>>(
            dir,
            filter,
            &Default::default(),
            name,
        )),
        #[cfg(feature = "flex")]
        "flex" => Some(run::<Autodiff<burn::backend::Flex>>(
            dir,
            filter,
            &Default::default(),
            name,
        )),
        // A known backend whose cargo feature is off (unreachable when all are on).
        #[allow(unreachable_patterns)]
        "ndarray" | "wgpu" | "flex" => None,
        other => {
            eprintln!("unknown backend {other}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some(ok) = outcome else {
        eprintln!(
            "backend {0} is not compiled in: rebuild with `--features {0}`",
            args.backend
        );
        return ExitCode::from(2);
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
