//! `exp` and `ln` from integer operations and IEEE-754 +, −, ×, ÷ only,
//! which are exactly rounded on every CPU: the platform's libm may differ
//! in the last bit between systems (glibc picks an FMA variant at run
//! time), and the ziggurat's tables and tests must not.

/// ln 2 split so that `n·LN2_HI` is exact for |n| < 2¹¹ (fdlibm's split).
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// 1/k! for k = 0..=13 (divisions at compile time, exactly rounded).
const INV_FACTORIAL: [f64; 14] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// 1/(2k+1) for k = 0..12.
const INV_ODD: [f64; 12] = [
    1.0,
    1.0 / 3.0,
    1.0 / 5.0,
    1.0 / 7.0,
    1.0 / 9.0,
    1.0 / 11.0,
    1.0 / 13.0,
    1.0 / 15.0,
    1.0 / 17.0,
    1.0 / 19.0,
    1.0 / 21.0,
    1.0 / 23.0,
];

/// `eˣ` for `x ≤ 0` to about 1 ulp: x = n·ln 2 + r with |r| ≤ ln 2 / 2,
/// then a degree-13 Taylor polynomial (remainder below 1e-17) and an
/// exponent shift.
pub(crate) fn exp(x: f64) -> f64 {
    debug_assert!(x <= 0.0);
    if x < -708.0 {
        return 0.0;
    }
    // Rounds x/ln 2 to the nearest integer (`as` truncates toward zero).
    let n = (x * std::f64::consts::LOG2_E - 0.5) as i64;
    let r = (x - n as f64 * LN2_HI) - n as f64 * LN2_LO;
    let mut p = 0.0;
    for c in INV_FACTORIAL.iter().rev() {
        p = c + r * p;
    }
    p * f64::from_bits(((n + 1023) as u64) << 52)
}

/// `ln x` for positive normal `x` to about 1 ulp: x = 2ᵉ·m with
/// m ∈ [√½, √2], ln m = 2·atanh(s), s = (m−1)/(m+1), |s| ≤ 0.172, by its
/// series up to s²³ (remainder below 1e-18).
pub(crate) fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7FF) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1 << 52) - 1)) | 0x3FF0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = 0.0;
    for c in INV_ODD.iter().rev() {
        p = c + s2 * p;
    }
    let e = e as f64;
    e * LN2_HI + (e * LN2_LO + 2.0 * s * p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_ln_match_the_platform_to_a_few_ulp() {
        for i in 0..=20_000 {
            let x = -40.0 * i as f64 / 20_000.0;
            let (ours, std) = (exp(x), x.exp());
            assert!((ours - std).abs() <= 4.0 * f64::EPSILON * std, "exp({x})");
        }
        for i in 1..=20_000 {
            let x = i as f64 / 1000.0 * (1.0 + 1e-7 * i as f64);
            let (ours, std) = (ln(x), x.ln());
            assert!(
                (ours - std).abs() <= 4.0 * f64::EPSILON * std.abs().max(1e-300) + 1e-300,
                "ln({x}): {ours} vs {std}"
            );
            let y = 1.0 / x;
            assert!((ln(y) - y.ln()).abs() <= 4.0 * f64::EPSILON * y.ln().abs().max(1.0));
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
    }
}
