//! Statistics for prompt experiments: the two-proportion z-test, its confidence interval and
//! the minimum sample size, with the normal distribution implemented here (no statistics
//! crate for three functions).
//!
//! - [`erfc`]: a series below 2.5 and a continued fraction above (Abramowitz & Stegun 7.1.6
//!   and 7.1.14), to double precision, so p-values stay accurate far into the tail.
//! - [`normal_quantile`]: Peter Acklam's rational approximation (relative error below
//!   1.15e-9), refined by one Halley step against [`normal_cdf`] to double precision.

use serde::Serialize;

/// The complementary error function, erfc(x) = 1 − erf(x).
///
/// Below |x| = 2.5: the everywhere-convergent series with positive terms (Abramowitz &
/// Stegun 7.1.6), erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)). From 2.5 up: the
/// continued fraction of A&S 7.1.14, erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …)))),
/// evaluated by the modified Lentz method. Both run to double precision (relative error about
/// 1e-15, checked against reference values in the tests), also far in the tail where p-values
/// live, which Abramowitz–Stegun 7.1.26 (absolute error 1.5e-7) would not give.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.5 {
        return 1.0 - erf_series(x);
    }
    if x > 27.3 {
        return 0.0; // Below the smallest positive f64.
    }
    const TINY: f64 = 1e-300;
    let mut f = x;
    let (mut c, mut d) = (f, 0.0_f64);
    for n in 1..500 {
        let a = f64::from(n) / 2.0;
        d = x + a * d;
        if d == 0.0 {
            d = TINY;
        }
        c = x + a / c;
        if c == 0.0 {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / f
}

fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    for n in 1..200 {
        term *= 2.0 * x2 / f64::from(2 * n + 1);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    2.0 / std::f64::consts::PI.sqrt() * (-x2).exp() * sum
}

/// The error function.
pub fn erf(x: f64) -> f64 {
    1.0 - erfc(x)
}

/// The standard normal cumulative distribution function Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal quantile Φ⁻¹(p) for p in (0, 1); ±infinity at 0 and 1, NaN outside.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;

    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    };
    // One step of Halley's method against our CDF (Acklam's own refinement).
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Why a test cannot be computed.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("a group has no trials")]
    NoTrials,
    #[error("a group has more successes ({successes}) than trials ({trials})")]
    MoreSuccessesThanTrials { successes: u64, trials: u64 },
    #[error("the confidence level must be strictly between 0 and 1, got {0}")]
    ConfidenceLevel(f64),
    #[error("the power must be strictly between 0 and 1, got {0}")]
    Power(f64),
    #[error("the baseline rate must be strictly between 0 and 1, got {0}")]
    BaselineRate(f64),
    #[error(
        "baseline rate + minimum detectable effect must stay strictly between 0 and 1 and the effect must not be 0, got {0}"
    )]
    Effect(f64),
}

/// A variant compared with the control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ZTestResult {
    pub control_rate: f64,
    pub variant_rate: f64,
    /// (variant rate − control rate) / standard error under the pooled null hypothesis.
    pub z: f64,
    /// Two-sided.
    pub p_value: f64,
    /// Confidence interval of variant rate − control rate (unpooled Wald interval).
    pub ci_low: f64,
    pub ci_high: f64,
    /// `p_value < 1 − confidence_level`.
    pub significant: bool,
}

/// The two-sided two-proportion z-test of a variant against the control, each given as
/// `(successes, trials)`, at `confidence_level` (0.95 for 95 %).
///
/// The test statistic uses the pooled proportion (the null hypothesis says the rates are
/// equal); the interval uses each group's own proportion, as textbooks do. When both groups
/// are all successes or all failures there is no variance: z is 0, the p-value 1.
pub fn two_proportion_z_test(
    control: (u64, u64),
    variant: (u64, u64),
    confidence_level: f64,
) -> Result<ZTestResult, StatsError> {
    check_probability(confidence_level).ok_or(StatsError::ConfidenceLevel(confidence_level))?;
    for (successes, trials) in [control, variant] {
        if trials == 0 {
            return Err(StatsError::NoTrials);
        }
        if successes > trials {
            return Err(StatsError::MoreSuccessesThanTrials { successes, trials });
        }
    }
    let (x1, n1) = (control.0 as f64, control.1 as f64);
    let (x2, n2) = (variant.0 as f64, variant.1 as f64);
    let (p1, p2) = (x1 / n1, x2 / n2);
    let pooled = (x1 + x2) / (n1 + n2);
    let pooled_se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let difference = p2 - p1;
    let (z, p_value) = if pooled_se > 0.0 {
        let z = difference / pooled_se;
        (z, erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0))
    } else {
        (0.0, 1.0)
    };
    let critical = normal_quantile(1.0 - (1.0 - confidence_level) / 2.0);
    let se = (p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2).sqrt();
    Ok(ZTestResult {
        control_rate: p1,
        variant_rate: p2,
        z,
        p_value,
        ci_low: difference - critical * se,
        ci_high: difference + critical * se,
        significant: p_value < 1.0 - confidence_level,
    })
}

/// Trials needed in *each* group for a two-sided two-proportion z-test to detect an absolute
/// change of `minimum_detectable_effect` (0.02 for two percentage points; negative for a
/// decrease) from `baseline_rate`, at `confidence` (0.95) with `power` (0.8):
///
/// n = (z₁₋α/₂ · √(2·p̄·(1−p̄)) + z₁₋β · √(p₁(1−p₁) + p₂(1−p₂)))² / (p₂ − p₁)², p̄ = (p₁+p₂)/2,
///
/// rounded up (Fleiss, Levin & Paik, *Statistical Methods for Rates and Proportions*, 3rd ed.,
/// §4.2, without the continuity correction).
pub fn minimum_sample_size(
    baseline_rate: f64,
    minimum_detectable_effect: f64,
    confidence: f64,
    power: f64,
) -> Result<u64, StatsError> {
    check_probability(baseline_rate).ok_or(StatsError::BaselineRate(baseline_rate))?;
    check_probability(confidence).ok_or(StatsError::ConfidenceLevel(confidence))?;
    check_probability(power).ok_or(StatsError::Power(power))?;
    let p1 = baseline_rate;
    let p2 = baseline_rate + minimum_detectable_effect;
    if minimum_detectable_effect == 0.0 || check_probability(p2).is_none() {
        return Err(StatsError::Effect(minimum_detectable_effect));
    }
    let z_alpha = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let z_beta = normal_quantile(power);
    let mean = (p1 + p2) / 2.0;
    let numerator = z_alpha * (2.0 * mean * (1.0 - mean)).sqrt() + z_beta * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    let n = numerator * numerator / (minimum_detectable_effect * minimum_detectable_effect);
    Ok(n.ceil() as u64)
}

fn check_probability(value: f64) -> Option<()> {
    (value > 0.0 && value < 1.0).then_some(())
}
