//! Coordinate gradient estimates (CGE).
//!
//! Each perturbed coordinate gets its own finite difference, so central CGE
//! on a quadratic is exact up to rounding and on a smooth loss is exact up
//! to O(μ²). Sampled CGE scales by m/n: each coordinate is sampled with
//! probability n/m, so the expectation equals full CGE. Dropped coordinates
//! (non-finite losses) are set to zero without rescaling the others.

use super::Plan;

/// Writes `ĝ` into `grad`; returns the number of coordinates used.
pub(crate) fn assemble(plan: &Plan, losses: &[f64], grad: &mut [f64]) -> usize {
    grad.fill(0.0);
    let coords = plan.coords();
    let scale = plan.num_active as f64 / coords.len() as f64;
    let mut used = 0;
    for (p, &position) in coords.iter().enumerate() {
        if let Some(pair) = plan.pair(losses, p) {
            grad[position] = scale * plan.quotient(pair);
            used += 1;
        }
    }
    used
}
