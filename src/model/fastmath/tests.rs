//! Accuracy against libm over dense sweeps and special values, and
//! bit-identical results across instruction sets and slice positions.

use super::*;

lanes!(Exp => exp, Log1p => log1p_unit, Log1pOfAbs => log1p_of_abs);

/// `log1p_unit` on any argument folded into its domain.
fn log1p_of_abs(x: f64) -> f64 {
    log1p_unit(x.abs().min(1.0))
}

/// Distance in ulps: the number of doubles between `a` and `b` (±0 are one
/// point; NaN is only close to NaN).
fn ulps(a: f64, b: f64) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() {
            0
        } else {
            u64::MAX
        };
    }
    // Sign-magnitude bits to a monotonic integer line.
    let line = |x: f64| {
        let i = x.to_bits() as i64;
        if i < 0 {
            i64::MIN.wrapping_sub(i)
        } else {
            i
        }
    };
    line(a).abs_diff(line(b))
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

const PER_RANGE: usize = 400_000;

/// Values that sit on edges: zeros, subnormals, the smallest normals,
/// huge values, infinities, NaN and each function's switch points.
fn specials() -> Vec<f64> {
    let mut v = vec![
        0.0,
        5e-324,
        1e-320,
        2.2e-310,
        f64::MIN_POSITIVE,
        f64::MIN_POSITIVE * 1.5,
        1e-300,
        1e-160,
        1e-20,
        1e-8,
        0.25,
        0.5,
        0.549_306_144_334_054_9,
        0.55,
        std::f64::consts::LN_2 / 2.0,
        std::f64::consts::LN_2,
        1.0,
        19.06,
        19.1,
        20.0,
        22.5,
        38.0,
        45.0,
        708.39,
        709.78,
        709.782_712_893_384,
        710.0,
        745.13,
        745.2,
        746.0,
        1e10,
        1e100,
        1e300,
        f64::MAX,
        f64::INFINITY,
    ];
    let negated: Vec<f64> = v.iter().map(|x| -x).collect();
    v.extend(negated);
    for x in v.clone() {
        v.push(f64::from_bits(x.to_bits() + 1));
        if x != 0.0 {
            v.push(f64::from_bits(x.to_bits() - 1));
        }
    }
    v.push(f64::NAN);
    v.push(-f64::NAN);
    v
}

/// Uniform values in each range, magnitudes spaced logarithmically over
/// 1e-310..1e308 with both signs, and [`specials`].
fn arguments(ranges: &[(f64, f64)], seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed);
    let mut v = Vec::new();
    for &(lo, hi) in ranges {
        v.extend((0..PER_RANGE).map(|_| rng.uniform(lo, hi)));
    }
    v.extend((0..PER_RANGE).map(|_| {
        let m = 10f64.powf(rng.uniform(-310.0, 308.3));
        if rng.next() & 1 == 0 {
            m
        } else {
            -m
        }
    }));
    v.extend(specials());
    v
}

/// Runs `L` through the slice path and checks every value against
/// `reference`: NaN where it is NaN, the same zero where both are zero,
/// otherwise at most 4 ulps apart. Prints the largest distance seen
/// (`--nocapture`).
fn check<L: Lane>(name: &str, reference: fn(f64) -> f64, args: &[f64]) {
    let mut got = args.to_vec();
    map_slice::<L>(&mut got);
    let (mut worst, mut at) = (0, 0.0);
    for (&x, &y) in args.iter().zip(&got) {
        let want = reference(x);
        if want == 0.0 && y == 0.0 {
            assert_eq!(want.to_bits(), y.to_bits(), "{name}({x:e}): sign of zero");
        }
        let d = ulps(y, want);
        if d > worst {
            (worst, at) = (d, x);
        }
    }
    println!(
        "{name}: max {worst} ulp vs libm (at {at:e}) over {} arguments",
        args.len()
    );
    assert!(
        worst <= 4,
        "{name}({at:e}) = {} but libm gives {}: {worst} ulp",
        L::eval(at),
        reference(at)
    );
}

fn sigmoid_libm(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn softplus_libm(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// `z·σ(v)`, `v = gelu_arg(z)`, from libm's `exp`; below −700, `e^v` is
/// split as `e^−700·e^(v+700)` (exact argument) so that a subnormal
/// result is rounded once, from `z·e^−700` which is normal.
fn gelu_libm(z: f64) -> f64 {
    let v = gelu_arg(z);
    if v < -760.0 {
        -0.0
    } else if v >= 0.0 {
        z / (1.0 + (-v).exp())
    } else if v > -700.0 {
        let e = v.exp();
        z * e / (1.0 + e)
    } else {
        (z * (-700f64).exp()) * (v + 700.0).exp()
    }
}

#[test]
fn exp_is_within_4_ulp_of_libm() {
    let args = arguments(
        &[
            (-1.0, 1.0),
            (-30.0, 30.0),
            (-750.0, 712.0),
            (-746.0, -700.0),
        ],
        1,
    );
    check::<Exp>("exp", f64::exp, &args);
}

#[test]
fn log1p_is_within_4_ulp_of_libm_on_its_domain() {
    let mut args = arguments(&[(-0.25, 1.0), (0.0, 1e-3), (0.45, 0.55)], 3);
    args.retain(|x| (-0.25..=1.0).contains(x) || x.is_nan());
    check::<Log1p>("log1p", f64::ln_1p, &args);
}

#[test]
fn tanh_is_within_4_ulp_of_libm() {
    let args = arguments(&[(-1.0, 1.0), (-5.0, 5.0), (-25.0, 25.0), (0.5, 0.6)], 4);
    check::<Tanh>("tanh", f64::tanh, &args);
}

#[test]
fn sigmoid_is_within_4_ulp_of_libm() {
    let args = arguments(&[(-5.0, 5.0), (-40.0, 40.0), (-750.0, 750.0)], 5);
    check::<Sigmoid>("sigmoid", sigmoid_libm, &args);
}

#[test]
fn softplus_is_within_4_ulp_of_libm() {
    let args = arguments(&[(-5.0, 5.0), (-40.0, 40.0), (-750.0, 750.0)], 6);
    check::<Softplus>("softplus", softplus_libm, &args);
}

#[test]
fn gelu_is_within_4_ulp_of_libm() {
    let args = arguments(&[(-5.0, 5.0), (-30.0, 30.0), (-1.0, 1.0)], 7);
    check::<Gelu>("gelu", gelu_libm, &args);
}

#[test]
fn special_values_follow_libm() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    for (name, f, cases) in [
        (
            "tanh",
            tanh as fn(f64) -> f64,
            [
                (0.0, 0.0),
                (-0.0, -0.0),
                (inf, 1.0),
                (-inf, -1.0),
                (nan, nan),
                (20.0, 1.0),
            ],
        ),
        (
            "exp",
            exp,
            [
                (0.0, 1.0),
                (-0.0, 1.0),
                (inf, inf),
                (-inf, 0.0),
                (nan, nan),
                (-746.0, 0.0),
            ],
        ),
        (
            "log1p",
            log1p_unit,
            [
                (0.0, 0.0),
                (-0.0, -0.0),
                (5e-324, 5e-324),
                (1.0, std::f64::consts::LN_2),
                (nan, nan),
                (-1e-310, -1e-310),
            ],
        ),
        (
            "sigmoid",
            sigmoid,
            [
                (0.0, 0.5),
                (-0.0, 0.5),
                (inf, 1.0),
                (-inf, 0.0),
                (nan, nan),
                (-800.0, 0.0),
            ],
        ),
        (
            "softplus",
            softplus,
            [
                (0.0, std::f64::consts::LN_2),
                (1e300, 1e300),
                (inf, inf),
                (-inf, 0.0),
                (nan, nan),
                (-800.0, 0.0),
            ],
        ),
        (
            "gelu",
            gelu,
            [
                (0.0, 0.0),
                (-0.0, -0.0),
                (inf, inf),
                (-inf, -0.0),
                (nan, nan),
                (-40.0, -0.0),
            ],
        ),
    ] {
        for (x, want) in cases {
            let got = f(x);
            assert!(same(got, want), "{name}({x:e}) = {got:e}, want {want:e}");
        }
    }
    // Subnormal arguments: tanh returns them unchanged, as libm does.
    for x in [5e-324, -5e-324, 2.2e-310, -2.2e-310, f64::MIN_POSITIVE] {
        assert_eq!(tanh(x).to_bits(), x.tanh().to_bits(), "tanh({x:e})");
    }
}

/// Every instruction set gives the scalar function's bits, for every
/// function, at every position of slices of every length.
#[test]
fn every_isa_and_slice_position_gives_the_scalar_bits() {
    let mut rng = Rng(11);
    let mut pool: Vec<f64> = (0..512).map(|_| rng.uniform(-30.0, 30.0)).collect();
    pool.extend(specials());
    agree::<Exp>("exp", &pool);
    agree::<Log1pOfAbs>("log1p", &pool);
    agree::<Tanh>("tanh", &pool);
    agree::<Sigmoid>("sigmoid", &pool);
    agree::<Softplus>("softplus", &pool);
    agree::<Gelu>("gelu", &pool);
}

fn agree<L: Lane>(name: &str, pool: &[f64]) {
    let scalar: Vec<u64> = pool.iter().map(|&x| L::eval(x).to_bits()).collect();
    for isa in [Isa::Baseline, Isa::Avx2, Isa::Avx512] {
        for len in 1..=67 {
            for start in (0..pool.len() - len).step_by(29) {
                let mut v = pool[start..start + len].to_vec();
                map_slice_with::<L>(isa, &mut v);
                for (i, y) in v.iter().enumerate() {
                    assert_eq!(
                        y.to_bits(),
                        scalar[start + i],
                        "{name} under {isa:?}, length {len}, position {i}: argument {:e}",
                        pool[start + i]
                    );
                }
            }
        }
    }
}
