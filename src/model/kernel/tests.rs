use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The defining chain, entry by entry: start, then `mul_add` over k.
fn chain(
    (m, n, k): (usize, usize, usize),
    a: View,
    b: View,
    start: Start,
    c0: &[f64],
    c_row: usize,
) -> Vec<f64> {
    let mut c = c0.to_vec();
    for i in 0..m {
        for j in 0..n {
            let mut s = match start {
                Start::Zero => 0.0,
                Start::PerColumn(s) => s[j],
                Start::PerRow(s) => s[i],
                Start::Current => c0[i * c_row + j],
            };
            for p in 0..k {
                s = a.at(i, p).mul_add(b.at(p, j), s);
            }
            c[i * c_row + j] = s;
        }
    }
    c
}

fn random(rng: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Shapes that hit every tile edge, k chunking (k > 256) and more columns
/// than one pack holds (k = 300, n = 260 with 16-wide panels).
const SHAPES: [(usize, usize, usize); 14] = [
    (1, 1, 1),
    (1, 1, 7),
    (3, 1, 5),
    (1, 9, 4),
    (5, 16, 5),
    (32, 16, 5),
    (32, 1, 16),
    (7, 17, 33),
    (13, 9, 0),
    (9, 25, 257),
    (6, 8, 600),
    (40, 260, 300),
    (0, 5, 3),
    (4, 0, 3),
];

#[test]
fn every_instruction_set_gives_the_chain_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (m, n, k) in SHAPES {
        let a = random(&mut rng, m * k);
        let b = random(&mut rng, k * n);
        let bias_n = random(&mut rng, n);
        let bias_m = random(&mut rng, m);
        let c0 = random(&mut rng, m * n);
        // A row-major and column-major, B both ways: the strides the
        // forward and backward passes use.
        let a_views = [View::row_major(&a, k), View::col_major(&a, m)];
        let b_views = [View::row_major(&b, n), View::col_major(&b, k)];
        let starts = [
            Start::Zero,
            Start::PerColumn(&bias_n),
            Start::PerRow(&bias_m),
            Start::Current,
        ];
        for av in a_views {
            for bv in b_views {
                for start in starts {
                    let want = chain((m, n, k), av, bv, start, &c0, n);
                    for isa in Isa::available() {
                        let mut c = c0.clone();
                        multiply_on(isa, (m, n, k), av, bv, start, Output::row_major(&mut c, n));
                        let same = c.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits());
                        assert!(same, "{isa:?} differs from the chain at {m}×{n}×{k}");
                    }
                }
            }
        }
    }
}

#[test]
fn integer_products_are_exact() {
    // Small integers keep every product and partial sum exact, so the
    // result must equal the sum computed in integer arithmetic.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (m, n, k) in SHAPES {
        let a: Vec<i64> = (0..m * k).map(|_| rng.random_range(-50..50)).collect();
        let b: Vec<i64> = (0..k * n).map(|_| rng.random_range(-50..50)).collect();
        let bias: Vec<i64> = (0..n).map(|_| rng.random_range(-50..50)).collect();
        let (af, bf, biasf): (Vec<f64>, Vec<f64>, Vec<f64>) = (
            a.iter().map(|&v| v as f64).collect(),
            b.iter().map(|&v| v as f64).collect(),
            bias.iter().map(|&v| v as f64).collect(),
        );
        let mut c = vec![f64::NAN; m * n];
        multiply(
            (m, n, k),
            View::row_major(&af, k),
            View::row_major(&bf, n),
            Start::PerColumn(&biasf),
            Output::row_major(&mut c, n),
        );
        for i in 0..m {
            for j in 0..n {
                let exact: i64 = bias[j] + (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum::<i64>();
                assert_eq!(c[i * n + j], exact as f64, "({i}, {j}) of {m}×{n}×{k}");
            }
        }
    }
}

#[test]
fn rounding_error_stays_within_the_chain_bound() {
    // Against a compensated (Neumaier) sum, the error of a k-term chain is
    // at most k·ε·Σ|a·b| (plus the start value's share).
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (m, n, k) = (20, 30, 700);
    let a: Vec<f64> = (0..m * k).map(|_| rng.random_range(-1e3..1e3)).collect();
    let b: Vec<f64> = (0..k * n).map(|_| rng.random_range(-1e-3..1e-3)).collect();
    let mut c = vec![0.0; m * n];
    multiply(
        (m, n, k),
        View::row_major(&a, k),
        View::row_major(&b, n),
        Start::Zero,
        Output::row_major(&mut c, n),
    );
    for i in 0..m {
        for j in 0..n {
            let (mut sum, mut comp, mut magnitude) = (0.0f64, 0.0f64, 0.0f64);
            for p in 0..k {
                let term = a[i * k + p] * b[p * n + j];
                magnitude += term.abs();
                let t = sum + term;
                comp += if sum.abs() >= term.abs() {
                    (sum - t) + term
                } else {
                    (term - t) + sum
                };
                sum = t;
            }
            let reference = sum + comp;
            let bound = (k as f64 + 1.0) * f64::EPSILON * magnitude;
            assert!(
                (c[i * n + j] - reference).abs() <= bound,
                "({i}, {j}): {} vs {reference}",
                c[i * n + j]
            );
        }
    }
}

#[test]
fn sparse_product_equals_the_dense_chain_with_zeros() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for (rows, nin, nout) in [(1, 3, 2), (8, 12, 5), (9, 40, 7), (21, 17, 30)] {
        let x = random(&mut rng, rows * nin);
        let b = random(&mut rng, nout);
        let mut w = random(&mut rng, nout * nin);
        let (mut row_start, mut columns) = (vec![0u32], Vec::new());
        for o in 0..nout {
            for i in 0..nin {
                if rng.random_range(0.0..1.0) < 0.7 {
                    w[o * nin + i] = 0.0;
                } else {
                    columns.push(i as u32);
                }
            }
            row_start.push(columns.len() as u32);
        }
        let mut dense = vec![0.0; rows * nout];
        multiply(
            (rows, nout, nin),
            View::row_major(&x, nin),
            View::col_major(&w, nin),
            Start::PerColumn(&b),
            Output::row_major(&mut dense, nout),
        );
        let mut sparse = vec![f64::NAN; rows * nout];
        let pattern = sparse::Pattern {
            row_start: &row_start,
            columns: &columns,
        };
        sparse::multiply(pattern, &w, &b, (&x, nin), &mut sparse);
        assert_eq!(sparse, dense, "{rows} rows, {nin} -> {nout}");
    }
}
