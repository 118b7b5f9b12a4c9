//! Random gradient estimates (RGE).
//!
//! Direction j of iteration k is regenerated from `(seed, k, j)` block by
//! block ([`crate::rng::BLOCK`] coordinates each), so the candidate that
//! applies it and the assembly that sums it never store it. Gaussian
//! directions are `z ~ N(0, I_m)` with `φ = 1`; sphere directions are
//! `z/‖z‖` with `φ = m`, so that `E[φ u uᵀ] = I` in both cases and
//! `ĝ = φ/q · Σ_j δ_j u_j` is an unbiased estimate of the gradient of the
//! μ-smoothed loss, where δ_j is the finite-difference quotient.
//!
//! Assembly runs in parallel over coordinate blocks; inside a block the sum
//! over directions runs in direction order, so the result is bit-identical
//! whatever the number of threads.

use super::{DirectionKind, Plan};
use crate::rng::{Gaussian, BLOCK};
use rayon::prelude::*;

/// The Gaussian coordinates z_j of direction j.
pub(crate) fn gaussian(plan: &Plan, j: usize) -> Gaussian {
    Gaussian::new(plan.seed, plan.purpose, plan.iteration, j as u64)
}

/// Σ z² of one block; blocks add up in order, so every path that
/// computes `‖z_j‖` gets the same bits.
fn block_squares(z: &[f64]) -> f64 {
    z.iter().map(|v| v * v).sum()
}

/// Writes z_j (length m) into `out`; returns `‖z_j‖`.
pub(crate) fn fill_gaussian(plan: &Plan, j: usize, out: &mut [f64]) -> f64 {
    let g = gaussian(plan, j);
    let mut sum = 0.0;
    for (start, chunk) in (0..).step_by(BLOCK).zip(out.chunks_mut(BLOCK)) {
        g.fill(start, chunk);
        sum += block_squares(chunk);
    }
    sum.sqrt()
}

/// `‖z_j‖` of a sphere direction: computed once per plan.
pub(crate) fn norm(plan: &Plan, j: usize) -> f64 {
    *plan.norms[j].get_or_init(|| {
        let g = gaussian(plan, j);
        let mut buf = [0.0; BLOCK];
        let mut sum = 0.0;
        for start in (0..plan.num_active).step_by(BLOCK) {
            let chunk = &mut buf[..BLOCK.min(plan.num_active - start)];
            g.fill(start as u64, chunk);
            sum += block_squares(chunk);
        }
        sum.sqrt()
    })
}

/// Records `‖z_j‖` computed by [`fill_gaussian`]; returns it.
pub(crate) fn cache_norm(plan: &Plan, j: usize, norm: f64) -> f64 {
    *plan.norms[j].get_or_init(|| norm)
}

/// Writes direction u_j (length m) into `out`.
#[cfg(test)]
pub(crate) fn fill_direction(plan: &Plan, j: usize, out: &mut [f64]) {
    let norm = fill_gaussian(plan, j, out);
    if plan.config.directions == DirectionKind::Sphere {
        let inv = 1.0 / cache_norm(plan, j, norm);
        for v in out {
            *v *= inv;
        }
    }
}

/// Writes `ĝ` into `grad`; returns the number of directions used.
/// `weights` is reusable scratch.
pub(crate) fn assemble(
    plan: &Plan,
    losses: &[f64],
    grad: &mut [f64],
    weights: &mut Vec<Option<f64>>,
    pool: Option<&rayon::ThreadPool>,
) -> usize {
    let q = plan.config.q;
    let sphere = plan.config.directions == DirectionKind::Sphere;
    // weight_j = δ_j (/‖z_j‖ for sphere directions); None marks a dropped pair.
    let weight = |(j, w): (usize, &mut Option<f64>)| {
        *w = plan
            .pair(losses, j)
            .map(|pair| plan.quotient(pair))
            .map(|delta| if sphere { delta / norm(plan, j) } else { delta });
    };
    weights.clear();
    weights.resize(q, None);
    match pool {
        Some(pool) => pool.install(|| weights.par_iter_mut().enumerate().for_each(weight)),
        None => weights.iter_mut().enumerate().for_each(weight),
    }
    let weights = &weights[..];
    let used = weights.iter().filter(|w| w.is_some()).count();
    if used == 0 {
        return 0;
    }
    let phi = if sphere { plan.num_active as f64 } else { 1.0 };
    let scale = phi / used as f64;
    let block_sum = |(block, chunk): (usize, &mut [f64])| {
        let mut z = [0.0; BLOCK];
        let z = &mut z[..chunk.len()];
        chunk.fill(0.0);
        for (j, w) in weights.iter().enumerate() {
            if let Some(w) = w {
                gaussian(plan, j).fill((block * BLOCK) as u64, z);
                for (g, zt) in chunk.iter_mut().zip(z.iter()) {
                    *g += w * zt;
                }
            }
        }
        for g in chunk {
            *g *= scale;
        }
    };
    match pool {
        Some(pool) => pool.install(|| grad.par_chunks_mut(BLOCK).enumerate().for_each(block_sum)),
        None => grad.chunks_mut(BLOCK).enumerate().for_each(block_sum),
    }
    used
}
