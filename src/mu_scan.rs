//! Choosing the smoothing radius μ from the loss itself: a line scan.
//!
//! [`crate::trainer::Trainer::scan_mu`] evaluates L(θ) and L(θ ± h·u_j) for
//! a few random unit directions u_j and every radius h of [`RADII`] (1e-9
//! to 1e-1, half a decade apart): 1 + 2·D·17 evaluations for D
//! directions. [`analyse`] turns them into what a user otherwise learns by
//! trial and error:
//!
//! * per radius, the median relative error of the central slope
//!   (L₊ − L₋)/(2h) and of the forward slope (L₊ − L)/h against the
//!   direction's most stable central slope (the one that changes least
//!   between neighbouring radii; a zero slope, a loss that did not resolve
//!   the perturbation, never counts as stable);
//! * the accurate range: the widest run of radii whose central error is
//!   at most 10 %. Below it noise and jumps of the loss (a solver's step
//!   count changing, roundoff) dominate; above it curvature does;
//! * the noise floor: per direction the largest |L₊ − 2L + L₋| below the
//!   accurate range (at the smallest radius when the range starts there),
//!   median over directions: what a smooth loss cannot show at such radii
//!   (there it is h²·L'' plus roundoff);
//! * the curvature: the median |L₊ − 2L + L₋|/h² at the most stable radius;
//! * recommended radii: the geometric middle of the accurate range of each
//!   difference, and `mu` for the trainer's estimator. Coordinate (CGE)
//!   and sphere directions have unit length, so their μ is the radius;
//!   Gaussian RGE directions have length ≈ √m, so μ = radius/√m.
//!
//! The scan changes nothing in the trainer: it is a read-only probe.

/// The radii of the scan, in units of parameter-space distance.
pub const RADII: [f64; 17] = [
    1e-9, 3.16e-9, 1e-8, 3.16e-8, 1e-7, 3.16e-7, 1e-6, 3.16e-6, 1e-5, 3.16e-5, 1e-4, 3.16e-4, 1e-3,
    3.16e-3, 1e-2, 3.16e-2, 1e-1,
];

/// A slope is accurate when its relative error is at most this.
pub(crate) const ACCURATE: f64 = 0.1;

/// What the scan found. Radii are distances along unit directions.
#[derive(Debug, Clone, PartialEq)]
pub struct MuScan {
    /// L(θ).
    pub loss: f64,
    /// The size of the loss's noise and jumps (see the module text).
    pub noise: f64,
    /// Median |L₊ − 2L + L₋|/h² at the most stable radius.
    pub curvature: f64,
    /// The widest run of radii with central-slope error ≤ [`ACCURATE`]
    /// (NaN, NaN when there is none).
    pub accurate_low: f64,
    pub accurate_high: f64,
    /// The recommended `mu` for the trainer's estimator and directions
    /// (set by [`crate::trainer::Trainer::scan_mu`]; the central radius
    /// from [`analyse`] alone).
    pub mu: f64,
    /// Loss evaluations the scan made.
    pub evaluations: usize,
    /// The recommended radius for central and for forward differences
    /// along unit directions (the radius of least error when no radius
    /// is accurate).
    pub central_radius: f64,
    pub forward_radius: f64,
    /// Per radius of [`RADII`]: the median relative error of the central
    /// and forward slopes (infinite where no direction gave finite losses).
    pub central_error: Vec<f64>,
    pub forward_error: Vec<f64>,
}

/// The scan's verdict from L(θ) = `base` and, per direction j and radius
/// i, `plus[j][i]` = L(θ + hᵢu_j) and `minus[j][i]` = L(θ − hᵢu_j).
pub fn analyse(base: f64, plus: &[Vec<f64>], minus: &[Vec<f64>]) -> MuScan {
    let n = RADII.len();
    let directions = plus.len();
    let central = |j: usize, i: usize| (plus[j][i] - minus[j][i]) / (2.0 * RADII[i]);
    let forward = |j: usize, i: usize| (plus[j][i] - base) / RADII[i];
    let second = |j: usize, i: usize| plus[j][i] - 2.0 * base + minus[j][i];
    // Each direction's reference: its most stable central slope.
    let mut reference = vec![(f64::NAN, 0usize); directions];
    for (j, r) in reference.iter_mut().enumerate() {
        let mut best = f64::INFINITY;
        for i in 0..n - 1 {
            let (a, b) = (central(j, i), central(j, i + 1));
            // A zero slope is a loss that did not resolve the perturbation
            // (quantized output), not a stable slope.
            if a == 0.0 || b == 0.0 {
                continue;
            }
            let change = (a - b).abs() / a.abs().max(b.abs()).max(f64::MIN_POSITIVE);
            if change < best {
                best = change;
                *r = (b, i + 1);
            }
        }
    }
    let error_of = |slope: &dyn Fn(usize, usize) -> f64, i: usize| {
        let errors: Vec<f64> = (0..directions)
            .filter(|&j| reference[j].0.is_finite() && slope(j, i).is_finite())
            .map(|j| {
                let g = reference[j].0;
                (slope(j, i) - g).abs() / g.abs().max(f64::MIN_POSITIVE)
            })
            .collect();
        median(errors).unwrap_or(f64::INFINITY)
    };
    let central_error: Vec<f64> = (0..n).map(|i| error_of(&central, i)).collect();
    let forward_error: Vec<f64> = (0..n).map(|i| error_of(&forward, i)).collect();
    let finite = |values: Vec<f64>| values.into_iter().filter(|v| v.is_finite()).collect();
    let run = widest_run(&central_error);
    // The non-smooth part shows below the accurate range (at the smallest
    // radius when the range starts there; jumps need not be crossed by
    // every small radius, hence the largest of them).
    let below = run.map_or_else(|| least(&central_error), |(a, _)| a).max(1);
    let noise = median(finite(
        (0..directions)
            .map(|j| {
                (0..below)
                    .map(|i| second(j, i).abs())
                    .filter(|v| v.is_finite())
                    .fold(f64::NAN, f64::max)
            })
            .collect(),
    ))
    .unwrap_or(f64::NAN);
    let curvature = median(finite(
        (0..directions)
            .map(|j| {
                let i = reference[j].1;
                second(j, i).abs() / (RADII[i] * RADII[i])
            })
            .collect(),
    ))
    .unwrap_or(f64::NAN);
    let (accurate_low, accurate_high) = match run {
        Some((a, b)) => (RADII[a], RADII[b]),
        None => (f64::NAN, f64::NAN),
    };
    let central_radius = recommended(&central_error);
    MuScan {
        mu: central_radius,
        evaluations: 1 + 2 * directions * n,
        loss: base,
        noise,
        curvature,
        accurate_low,
        accurate_high,
        central_radius,
        forward_radius: recommended(&forward_error),
        central_error,
        forward_error,
    }
}

/// The geometric middle of the widest accurate run, else the radius of
/// least error.
fn recommended(errors: &[f64]) -> f64 {
    match widest_run(errors) {
        Some((a, b)) => (RADII[a] * RADII[b]).sqrt(),
        None => RADII[least(errors)],
    }
}

/// The index of the least error.
fn least(errors: &[f64]) -> usize {
    (0..errors.len())
        .min_by(|&a, &b| errors[a].total_cmp(&errors[b]))
        .unwrap_or(0)
}

/// First and last index of the longest run with error ≤ [`ACCURATE`] (the
/// first such run on a tie).
fn widest_run(errors: &[f64]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut start = None;
    for (i, &e) in errors
        .iter()
        .chain(std::iter::once(&f64::INFINITY))
        .enumerate()
    {
        match (e <= ACCURATE, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if best.is_none_or(|(a, b)| i - s > b - a + 1) {
                    best = Some((s, i - 1));
                }
                start = None;
            }
            _ => {}
        }
    }
    best
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    })
}

#[cfg(test)]
mod tests;
