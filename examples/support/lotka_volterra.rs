//! A universal differential equation solved by an adaptive integrator:
//! Lotka–Volterra whose interaction terms come from a network g,
//!   ẋ = αx − xy·(1 + g₁(x, y)/2),  ẏ = −γy + xy·(1 + g₂(x, y)/2),
//! (the truth is g = 0: β = δ = 1; a random network starts the
//! coefficients off by tens of percent, the trajectories still bounded),
//! integrated by Dormand–Prince 5(4) with error control at a tolerance the
//! host chooses, stepping exactly onto every observation time. The step
//! count, and so the loss, jumps by a little whenever the weights cross a
//! point where the controller takes one step more or less: the loss is
//! smooth only up to those jumps, as with any adaptive solver.

use zoo::trainer::{Candidate, LossError};

pub const ALPHA: f64 = 1.5;
pub const BETA: f64 = 1.0;
pub const GAMMA: f64 = 3.0;
pub const DELTA: f64 = 1.0;
/// Observation times 0.25, 0.5, …, 5.
pub const OBSERVATIONS: usize = 20;
pub const SPACING: f64 = 0.25;
/// Initial states of the training trajectories.
pub const STARTS: [[f64; 2]; 4] = [[1.0, 1.0], [2.0, 1.5], [1.5, 0.5], [3.0, 2.0]];

/// The right-hand side with interaction terms `f(x, y)`.
fn rhs(state: [f64; 2], f: [f64; 2]) -> [f64; 2] {
    [ALPHA * state[0] - f[0], -GAMMA * state[1] + f[1]]
}

/// The true interactions βxy and δxy.
pub fn truth(state: [f64; 2]) -> [f64; 2] {
    [BETA * state[0] * state[1], DELTA * state[0] * state[1]]
}

/// Integrates from `start` and returns the state at every observation
/// time; `f` gives the interactions. Dormand–Prince 5(4), error per step
/// below `tol` (absolute and relative), steps clipped to land on the
/// observation times.
pub fn solve(
    start: [f64; 2],
    tol: f64,
    mut f: impl FnMut([f64; 2]) -> Result<[f64; 2], LossError>,
) -> Result<Vec<[f64; 2]>, LossError> {
    const A: [[f64; 6]; 6] = [
        [1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
        [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
        [
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
            0.0,
            0.0,
        ],
        [
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
            0.0,
        ],
        [
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
        ],
    ];
    // Fifth-order weights are A[5]; E = fifth − fourth order.
    const E: [f64; 7] = [
        71.0 / 57600.0,
        0.0,
        -71.0 / 16695.0,
        71.0 / 1920.0,
        -17253.0 / 339200.0,
        22.0 / 525.0,
        -1.0 / 40.0,
    ];
    let mut y = start;
    let mut t = 0.0;
    let mut h: f64 = 0.01;
    let mut out = Vec::with_capacity(OBSERVATIONS);
    let mut k = [[0.0; 2]; 7];
    k[0] = rhs(y, f(y)?);
    for n in 1..=OBSERVATIONS {
        let target = n as f64 * SPACING;
        let mut steps = 0;
        while t < target - 1e-12 {
            steps += 1;
            if steps > 100_000 || !y.iter().all(|v| v.is_finite() && v.abs() < 1e6) {
                return Err(LossError::new(1, "the integrator blew up"));
            }
            let step = h.min(target - t);
            for s in 0..6 {
                let mut stage = y;
                for (i, v) in stage.iter_mut().enumerate() {
                    *v += step * (0..=s).map(|r| A[s][r] * k[r][i]).sum::<f64>();
                }
                k[s + 1] = rhs(stage, f(stage)?);
            }
            let next = {
                let mut next = y;
                for (i, v) in next.iter_mut().enumerate() {
                    *v += step * (0..6).map(|r| A[5][r] * k[r][i]).sum::<f64>();
                }
                next
            };
            let error = (0..2)
                .map(|i| {
                    let e = step * (0..7).map(|r| E[r] * k[r][i]).sum::<f64>();
                    let scale = tol + tol * y[i].abs().max(next[i].abs());
                    (e / scale).powi(2)
                })
                .sum::<f64>()
                .sqrt()
                / 2f64.sqrt();
            if error <= 1.0 {
                t += step;
                y = next;
                k[0] = k[6]; // first same as last
            }
            h = step * (0.9 * error.max(1e-10).powf(-0.2)).clamp(0.2, 5.0);
        }
        t = target;
        out.push(y);
    }
    Ok(out)
}

/// Reference trajectories of the true system at a tight tolerance.
pub fn reference() -> Vec<Vec<[f64; 2]>> {
    STARTS
        .iter()
        .map(|&s| solve(s, 1e-12, |state| Ok(truth(state))).expect("the true system is stable"))
        .collect()
}

/// `x` rounded to `digits` significant digits, as a code that writes its
/// results with `%.{digits-1}e` hands them on.
fn rounded(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// Mean squared error of the network model's trajectories at tolerance
/// `tol` against `reference`, the model's states first rounded to
/// `digits` significant digits when given; NaN when a trajectory blows up
/// (zoo drops that candidate).
pub fn loss(
    candidate: &mut Candidate,
    reference: &[Vec<[f64; 2]>],
    tol: f64,
    digits: Option<i32>,
) -> Result<f64, LossError> {
    let mut total = 0.0;
    for (start, observed) in STARTS.iter().zip(reference) {
        let path = solve(*start, tol, |state| {
            let mut g = [0.0; 2];
            candidate
                .forward(&state, &mut g)
                .map_err(|e| LossError::new(2, e.to_string()))?;
            let xy = state[0] * state[1];
            Ok([xy * (1.0 + 0.5 * g[0]), xy * (1.0 + 0.5 * g[1])])
        });
        let Ok(path) = path else {
            return Ok(f64::NAN);
        };
        for (p, o) in path.iter().zip(observed) {
            let p = digits.map_or(*p, |d| [rounded(p[0], d), rounded(p[1], d)]);
            total += (p[0] - o[0]).powi(2) + (p[1] - o[1]).powi(2);
        }
    }
    Ok(total / (2 * OBSERVATIONS * STARTS.len()) as f64)
}
