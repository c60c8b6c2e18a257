//! `exp`, `ln`, `sigmoid` and `tanh` for `f32` that a loop can vectorize, and [`simd`], which runs
//! a kernel compiled for the widest vector instructions the CPU has.
//!
//! libm's `expf` and `tanhf` are calls the compiler cannot vectorize (glibc's `tanhf` goes
//! through `expm1f`): inside the fused cells' loops they took a third of recurrent PPO's time.
//! These are range reduction and a polynomial in straight-line arithmetic (no calls; the
//! branches are selects), accurate to a few ulp (tested against f64 below). No fused
//! multiply-add is written and Rust never contracts on its own, so the results are the same
//! bit for bit whichever instructions run them.

/// `log2(e)`.
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split in two, the first part exact in few bits (Cody and Waite's reduction).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// `1.5 * 2^23`: adding it rounds an `f32` of magnitude below `2^22` to an integer, which
/// then sits in the low bits of the sum.
const ROUND: f32 = 12_582_912.0;
/// The inputs beyond which `e^x` would not be a normal `f32`.
const EXP_LO: f32 = -87.33;
const EXP_HI: f32 = 88.37;

/// `e^x`: `2^n * e^r` with `n = round(x / ln 2)` and `|r| <= ln 2 / 2`, `e^r` by its Taylor
/// polynomial's minimax refinement (degree 7). Inputs are clamped to where the result is a
/// normal `f32` (so `e^-100` is `1.2e-38`, not `3.7e-44`); NaN stays NaN.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let x = x.clamp(EXP_LO, EXP_HI);
    let k = x * LOG2E + ROUND;
    let n = k - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_2e-4;
    let p = p * r + 1.398_2e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 0.166_666_65;
    let p = p * r + 0.5;
    let p = p * r * r + r + 1.0;
    // `n` is the sum's low bits; `n + 127` in the exponent field is `2^n`.
    let n = k.to_bits().wrapping_sub(ROUND.to_bits());
    p * f32::from_bits(n.wrapping_add(127) << 23)
}

/// `e^x`, and exactly 0 where `e^x` would be below the normal `f32`s (`x < -87.33`, down to
/// `-inf`), as libm's underflow gives: for probabilities, where a category of log-probability
/// `-inf` must weigh nothing.
#[inline(always)]
pub(crate) fn exp_or_zero(x: f32) -> f32 {
    if x < EXP_LO { 0.0 } else { exp(x) }
}

/// `sqrt(2)`: mantissas are taken to `[sqrt(1/2), sqrt(2))`, around 1.
const SQRT2: f32 = std::f32::consts::SQRT_2;

/// `ln x`: `x = 2^e * m` with `m` in `[sqrt(1/2), sqrt(2))`, `ln m = 2 atanh(s)` with
/// `s = (m - 1) / (m + 1)`, `|s| <= 0.172`, by its series to `s^9` (the next term is below
/// `2e-9` relative). For normal `x > 0`; `ln 0 = -inf` (subnormals too), `ln inf = inf`, NaN
/// for a negative `x` or NaN.
#[inline(always)]
pub(crate) fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let (m, e) = if m >= SQRT2 { (m * 0.5, e + 1) } else { (m, e) };
    let e = e as f32;
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let p = 1.0 / 9.0;
    let p = p * z + 1.0 / 7.0;
    let p = p * z + 0.2;
    let p = p * z + 1.0 / 3.0;
    let ln_m = 2.0 * s + 2.0 * s * z * p;
    let r = e * LN2_HI + (e * LN2_LO + ln_m);
    if x.is_nan() || x < 0.0 {
        f32::NAN
    } else if x < f32::MIN_POSITIVE {
        f32::NEG_INFINITY
    } else if x == f32::INFINITY {
        x
    } else {
        r
    }
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh(x)`: of `|x|` (an odd polynomial below `0.625`, where `1 - 2 / (e^2|x| + 1)` would
/// lose relative precision; that expression above), with `x`'s sign.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let p = -5.704_988_7e-3;
    let p = p * z + 2.063_909e-2;
    let p = p * z - 5.373_971_6e-2;
    let p = p * z + 0.133_314_42;
    let p = p * z - 0.333_332_8;
    let small = a + a * z * p;
    let large = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
    (if a < 0.625 { small } else { large }).copysign(x)
}

/// Runs `f` compiled for AVX-512 or AVX2 where the CPU has them (checked at run time, once),
/// so the loops `f` inlines are vectorized that wide; as compiled for the target otherwise.
/// Only the instruction width changes, never a result.
#[inline(always)]
pub(crate) fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx2")
        {
            // SAFETY: the CPU has AVX-512F and AVX2 (hence AVX), checked just above.
            return unsafe { x86::avx512(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { x86::avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    #[target_feature(enable = "avx512f,avx2,avx")]
    pub(super) unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    #[target_feature(enable = "avx2,avx")]
    pub(super) unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs across the range that matters: dense near zero, out to beyond saturation, both
    /// signs.
    fn grid() -> Vec<f32> {
        let mut xs: Vec<f32> = (-200_000..=200_000).map(|i| i as f32 * 1e-4).collect();
        xs.extend((-1000..=1000).map(|i| i as f32 * 0.1));
        xs.extend([1e-30, -1e-30, 1e-7, -1e-7, 0.625, -0.625, 0.624_999_9]);
        xs
    }

    /// Relative error against f64, in units of `f32::EPSILON` (with a floor of `tiny`
    /// absolute, for results near zero).
    fn worst(f: impl Fn(f32) -> f32, exact: impl Fn(f64) -> f64, tiny: f64) -> f64 {
        grid()
            .into_iter()
            .map(|x| {
                let want = exact(f64::from(x));
                let got = f64::from(f(x));
                (got - want).abs() / want.abs().max(tiny) / f64::from(f32::EPSILON)
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn exp_sigmoid_and_tanh_are_within_a_few_ulp_of_f64() {
        // exp where its result is a normal f32.
        let exp_err = worst(
            |x| exp(x.clamp(-87.0, 88.0)),
            |x| x.clamp(-87.0, 88.0).exp(),
            0.0,
        );
        assert!(exp_err < 4.0, "exp: {exp_err} ulp");
        let sig_err = worst(sigmoid, |x| 1.0 / (1.0 + (-x).exp()), 1e-30);
        assert!(sig_err < 4.0, "sigmoid: {sig_err} ulp");
        let tanh_err = worst(tanh, f64::tanh, 1e-30);
        assert!(tanh_err < 4.0, "tanh: {tanh_err} ulp");
    }

    #[test]
    fn ln_is_within_a_few_ulp_of_f64() {
        // Positive normals: the grid's magnitudes, a dense run over one binade on each side of
        // 1 (where `ln` is near 0 and relative error is hardest), and the ends of the range.
        let mut xs: Vec<f32> = grid()
            .into_iter()
            .map(f32::abs)
            .filter(|x| x.is_normal())
            .collect();
        xs.extend((0..200_000).map(|i| 0.5 + i as f32 * 7.5e-6));
        xs.extend([
            f32::MIN_POSITIVE,
            f32::MAX,
            1.0,
            2.0,
            0.5,
            1.000_000_1,
            0.999_999_94,
        ]);
        let worst = xs
            .iter()
            .map(|&x| {
                let want = f64::from(x).ln();
                let got = f64::from(ln(x));
                (got - want).abs() / want.abs().max(1e-30) / f64::from(f32::EPSILON)
            })
            .fold(0.0, f64::max);
        assert!(worst < 4.0, "ln: {worst} ulp");
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f32::NEG_INFINITY);
        assert_eq!(ln(1e-40), f32::NEG_INFINITY);
        assert_eq!(ln(f32::INFINITY), f32::INFINITY);
        assert!(ln(-1.0).is_nan() && ln(f32::NAN).is_nan() && ln(f32::NEG_INFINITY).is_nan());
    }

    #[test]
    fn exp_or_zero_underflows_to_zero() {
        assert_eq!(exp_or_zero(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_or_zero(-88.0), 0.0);
        assert_eq!(exp_or_zero(-87.0), exp(-87.0));
        assert_eq!(exp_or_zero(0.5), exp(0.5));
        assert!(exp_or_zero(f32::NAN).is_nan());
    }

    #[test]
    fn limits_signs_and_nan() {
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) > 0.0 && exp(-1000.0) < 1.2e-38);
        assert!(exp(1000.0).is_finite() && exp(1000.0) > 2e38);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!(sigmoid(-1000.0) < 1e-38);
        assert_eq!(tanh(1000.0), 1.0);
        assert_eq!(tanh(-1000.0), -1.0);
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(0.0), 0.0);
        assert!(tanh(-0.0).is_sign_negative());
        for f in [exp, sigmoid, tanh] {
            assert!(f(f32::NAN).is_nan());
        }
    }

    #[test]
    fn simd_gives_the_scalar_results() {
        let xs = grid();
        let f = |x: f32| tanh(x) + sigmoid(x) + ln(x.abs());
        let scalar: Vec<f32> = xs.iter().map(|&x| f(x)).collect();
        let wide = simd(|| xs.iter().map(|&x| f(x)).collect::<Vec<f32>>());
        assert_eq!(
            scalar.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            wide.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
}
