//! Statistical and reproducibility tests of [`Gaussian`]. Every bound is
//! about five standard errors of its statistic, so a correct generator
//! passes with overwhelming probability and a biased one fails.

use super::normal::Ziggurat;
use super::*;

/// `erfc(x)`, independent of the generator's own `exp`/`ln`: the Taylor
/// series of erf below |x| = 2 (terms shrink below 1e-17 of the sum), a
/// continued fraction (Lentz) from there, where 1 − erf would cancel.
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        return 1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum;
    }
    // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))).
    let tiny = 1e-300;
    let (mut f, mut c, mut d) = (x, x, 0.0);
    for n in 1..500 {
        let a = n as f64 / 2.0;
        d = x + a * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = x + a / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / f
}

/// The standard normal CDF.
fn phi(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn direction(seed: u64, k: u64, j: u64, n: usize) -> Vec<f64> {
    let mut z = vec![0.0; n];
    Gaussian::new(seed, Purpose::Direction, k, j).fill(0, &mut z);
    z
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

#[test]
fn erfc_matches_reference_values() {
    let cases = [
        (0.5, 0.479_500_122_186_953_5),
        (1.0, 0.157_299_207_050_285_13),
        (2.0, 4.677_734_981_047_266e-3),
        (3.0, 2.209_049_699_858_544e-5),
        (4.0, 1.541_725_790_028_002e-8),
        (5.0, 1.537_459_794_428_034_8e-12),
    ];
    for (x, want) in cases {
        assert!(
            (erfc(x) / want - 1.0).abs() < 1e-12,
            "erfc({x}) = {}",
            erfc(x)
        );
    }
    assert!((erfc(-1.0) - (2.0 - 0.157_299_207_050_285_13)).abs() < 1e-15);
}

#[test]
fn moments_and_kolmogorov_smirnov() {
    let n = 1 << 21;
    let z = direction(11, 5, 3, n);
    let nf = n as f64;
    let mean = z.iter().sum::<f64>() / nf;
    let m = |p: i32| z.iter().map(|v| (v - mean).powi(p)).sum::<f64>() / nf;
    let var = m(2);
    let skew = m(3) / var.powf(1.5);
    let kurt = m(4) / (var * var) - 3.0;
    let se = 1.0 / nf.sqrt();
    assert!(mean.abs() < 5.0 * se, "mean {mean}");
    assert!((var - 1.0).abs() < 5.0 * 2f64.sqrt() * se, "variance {var}");
    assert!(skew.abs() < 5.0 * 6f64.sqrt() * se, "skewness {skew}");
    assert!(
        kurt.abs() < 5.0 * 24f64.sqrt() * se,
        "excess kurtosis {kurt}"
    );

    // Probability integral transform: Φ(z) must be uniform.
    let mut u: Vec<f64> = z.iter().map(|&v| phi(v)).collect();
    u.sort_by(f64::total_cmp);
    let ks = u
        .iter()
        .enumerate()
        .map(|(i, &p)| (p - i as f64 / nf).max((i + 1) as f64 / nf - p))
        .fold(0.0, f64::max);
    // P(√n·D > 1.95) ≈ 0.001.
    assert!(
        ks * nf.sqrt() < 1.95,
        "Kolmogorov-Smirnov √n·D = {}",
        ks * nf.sqrt()
    );

    // χ² over 1000 equiprobable bins: 999 degrees of freedom, sd ≈ 44.7.
    let bins = 1000;
    let mut counts = vec![0usize; bins];
    for p in &u {
        counts[((p * bins as f64) as usize).min(bins - 1)] += 1;
    }
    let expected = nf / bins as f64;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!((chi2 - 999.0).abs() < 5.0 * 44.7, "χ² = {chi2}");
}

#[test]
fn tail_frequencies() {
    let n = 1 << 23;
    let mut z = vec![0.0; n];
    let mut above = [(3.0, 0), (super::normal::R, 0), (4.0, 0), (4.5, 0)];
    for j in 0..2 {
        Gaussian::new(3, Purpose::Direction, 9, j).fill(0, &mut z[..n / 2]);
        for v in &z[..n / 2] {
            for (t, count) in &mut above {
                *count += usize::from(v.abs() > *t);
            }
        }
    }
    for (t, count) in above {
        let expected = n as f64 * 2.0 * (1.0 - phi(t));
        let sd = expected.sqrt();
        assert!(
            (count as f64 - expected).abs() < 5.0 * sd,
            "|z| > {t}: {count} vs {expected:.1} expected"
        );
    }
}

#[test]
fn no_correlation_between_neighbours_directions_iterations_and_blocks() {
    let n = 1 << 20;
    let bound = 5.0 / (n as f64).sqrt();
    let z = direction(1, 4, 7, n + BLOCK);
    let pairs = [
        ("neighbouring coordinates", correlation(&z[..n], &z[1..=n])),
        ("neighbouring blocks", correlation(&z[..n], &z[BLOCK..])),
        (
            "directions j, j+1",
            correlation(&z[..n], &direction(1, 4, 8, n)),
        ),
        (
            "iterations k, k+1",
            correlation(&z[..n], &direction(1, 5, 7, n)),
        ),
        ("seeds", correlation(&z[..n], &direction(2, 4, 7, n))),
        ("purposes", {
            let mut out = vec![0.0; n];
            Gaussian::new(1, Purpose::OutputDirection, 4, 7).fill(0, &mut out);
            correlation(&z[..n], &out)
        }),
    ];
    for (what, r) in pairs {
        assert!(r.abs() < bound, "{what}: correlation {r}");
    }
    // Squares too: dependence that leaves the plain correlation at zero.
    let sq: Vec<f64> = z.iter().map(|v| v * v).collect();
    let next: Vec<f64> = direction(1, 4, 8, n).iter().map(|v| v * v).collect();
    assert!(correlation(&sq[..n], &sq[1..=n]).abs() < bound);
    assert!(correlation(&sq[..n], &next).abs() < bound);
}

#[test]
fn fill_is_seekable_by_block_and_coordinate() {
    let g = Gaussian::new(5, Purpose::Direction, 2, 1);
    let n = 20 * BLOCK + 77;
    let mut whole = vec![0.0; n];
    g.fill(0, &mut whole);
    for (i, v) in whole.iter().enumerate() {
        assert_eq!(v.to_bits(), g.value(i as u64).to_bits(), "coordinate {i}");
    }
    for (start, len) in [(1, 5), (999, 1100), (BLOCK, BLOCK), (2 * BLOCK + 3, 1)] {
        let mut part = vec![0.0; len];
        g.fill(start as u64, &mut part);
        assert_eq!(part, whole[start..start + len]);
    }
    // 0.43 % of words leave the fast path (88 expected, sd 9.4); each
    // gets its own draws.
    let zig = Ziggurat::get();
    let refused = (0..n as u64).filter(|&i| !zig.fast(g.word(i)).1).count();
    assert!((50..130).contains(&refused), "{refused} refused of {n}");
}

#[test]
fn values_are_pinned() {
    // The same bits on every CPU: integer and IEEE-exact operations only.
    // A change here changes every trajectory; update only on purpose.
    let g = Gaussian::new(42, Purpose::Direction, 7, 3);
    let mut z = vec![0.0; 100_000];
    g.fill(0, &mut z);
    let digest = z.iter().fold(0u64, |h, v| {
        (h ^ v.to_bits()).wrapping_mul(0x0000_0100_0000_01B3)
    });
    let first: Vec<u64> = z[..3].iter().map(|v| v.to_bits()).collect();
    let expected = vec![
        0xBFC9_AA1B_E0F3_E2BB,
        0x3FFB_C75F_03CA_D062,
        0xBFC0_03B6_CAE0_A8DC,
    ];
    assert_eq!((first, digest), (expected, 14_049_466_452_134_119_214));
}
