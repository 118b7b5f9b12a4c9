//! The μ line scan through the trainer's loss (see [`crate::mu_scan`]).

use super::{call_loss, Candidate, CandidateId, LossResult, Trainer};
use crate::config::TrainerConfig;
use crate::error::{Result, ZooError};
use crate::estimate::{DirectionKind, EstimatorKind};
use crate::mu_scan::{analyse, MuScan, RADII};
use crate::rng::{Gaussian, Purpose};
use std::sync::Mutex;

/// Most directions a scan takes: enough for a median, far below what
/// would make a scan cost like training.
pub const MAX_SCAN_DIRECTIONS: usize = 64;

impl Trainer {
    /// Evaluates `loss_fn` at θ and at θ ± h·u_j for `directions` random
    /// unit directions over the active coordinates (from the trainer's
    /// seed) and every radius of [`RADII`], sequentially, and reports
    /// where finite differences are accurate and which `mu` to use
    /// ([`MuScan::mu`]: for this trainer's estimator and directions).
    /// Nothing of the trainer changes. Costs 1 + 34·`directions`
    /// evaluations. Fails on 0 or more than [`MAX_SCAN_DIRECTIONS`]
    /// directions, a callback error, or a non-finite L(θ).
    pub fn scan_mu<F>(&mut self, directions: usize, mut loss_fn: F) -> Result<MuScan>
    where
        F: FnMut(&mut Candidate) -> LossResult,
    {
        if directions == 0 || directions > MAX_SCAN_DIRECTIONS {
            return Err(ZooError::InvalidArgument(format!(
                "directions = {directions}: a μ scan takes 1 to {MAX_SCAN_DIRECTIONS} directions"
            )));
        }
        let active = self.model.active().to_vec();
        let theta = self.model.params().to_vec();
        let mut point = theta.clone();
        let evaluate = |point: &[f64], loss_fn: &mut F| -> Result<f64> {
            let mut scratch = self.scratch[0].lock().unwrap_or_else(|p| p.into_inner());
            let mut view = Candidate {
                id: CandidateId::new(0, 0),
                network: self.model.network(),
                params: point,
                workspace: Mutex::new(&mut scratch.workspace),
                reuse: None,
            };
            call_loss(0, || loss_fn(&mut view))
        };
        let base = evaluate(&theta, &mut loss_fn)?;
        if !base.is_finite() {
            return Err(ZooError::InvalidArgument(format!(
                "the loss at the current weights is {base}; a μ scan needs a finite one"
            )));
        }
        let mut plus = vec![vec![0.0; RADII.len()]; directions];
        let mut minus = plus.clone();
        for j in 0..directions {
            let u = unit_direction(self.config.seed, j as u64, active.len());
            for (i, &h) in RADII.iter().enumerate() {
                for (sign, out) in [(1.0, &mut plus[j][i]), (-1.0, &mut minus[j][i])] {
                    for (&a, &v) in active.iter().zip(&u) {
                        point[a] = theta[a] + sign * h * v;
                    }
                    *out = evaluate(&point, &mut loss_fn)?;
                }
            }
        }
        let mut scan = analyse(base, &plus, &minus);
        scan.mu = mu_for(&self.config, &scan, active.len());
        Ok(scan)
    }
}

/// A Gaussian direction over `m` coordinates, normalized: the same
/// counter-based generator as RGE's directions, on the scan's own stream,
/// so the scan never shifts training's draws.
fn unit_direction(seed: u64, j: u64, m: usize) -> Vec<f64> {
    let mut u = vec![0.0; m];
    Gaussian::new(seed, Purpose::MuScan, 0, j).fill(0, &mut u);
    let norm = crate::optim::norm(&u).max(f64::MIN_POSITIVE);
    u.iter_mut().for_each(|v| *v /= norm);
    u
}

/// The scan's radius as this trainer's `mu`: central or forward radius by
/// estimator; Gaussian RGE directions have length ≈ √m, so their μ is
/// the radius over √m.
fn mu_for(config: &TrainerConfig, scan: &MuScan, m: usize) -> f64 {
    let e = &config.estimator;
    let radius = match e.kind {
        EstimatorKind::RgeCentral | EstimatorKind::CgeCentral => scan.central_radius,
        EstimatorKind::RgeForward | EstimatorKind::CgeForward => scan.forward_radius,
    };
    let rge = matches!(
        e.kind,
        EstimatorKind::RgeCentral | EstimatorKind::RgeForward
    );
    if rge && e.directions == DirectionKind::Gaussian {
        radius / (m as f64).sqrt()
    } else {
        radius
    }
}
