//! A black-box ODE integrator with a learned forcing term, shared by the
//! `ode_forcing` example and the end-to-end test.
//!
//! du/dt = −decay(u)·u + f(u), integrated by explicit Euler for several
//! initial conditions at once. The integrator quantizes its state every
//! step and looks its decay rate up in a table, so the trajectory loss is
//! piecewise constant in the network's weights: no gradient exists, and zoo
//! only ever sees loss values.

use zoo::trainer::{Candidate, LossError, LossResult};

const DT: f64 = 0.1;
const STEPS: usize = 30;
const INITIAL: [f64; 4] = [-1.5, -0.5, 0.5, 1.5];

/// Decay rate looked up in a table by the magnitude of the state.
fn decay(u: f64) -> f64 {
    const TABLE: [f64; 4] = [0.3, 0.4, 0.5, 0.6];
    TABLE[((u.abs() * 2.0) as usize).min(TABLE.len() - 1)]
}

/// The state is stored with 4 decimals, as a legacy code writing fixed-width
/// output would.
fn quantize(u: f64) -> f64 {
    (u * 1e4).round() / 1e4
}

/// The true forcing the network has to learn.
pub fn true_forcing(u: f64) -> f64 {
    (2.0 * u).sin() + 0.3
}

/// Integrates every initial condition, asking `forcing` for all states at
/// once each step; returns the trajectories, step-major.
fn integrate(
    mut forcing: impl FnMut(&[f64], &mut [f64]) -> Result<(), LossError>,
) -> Result<Vec<f64>, LossError> {
    let mut u = INITIAL;
    let mut f = [0.0; INITIAL.len()];
    let mut trajectory = Vec::with_capacity(STEPS * INITIAL.len());
    for _ in 0..STEPS {
        forcing(&u, &mut f)?;
        for (ui, fi) in u.iter_mut().zip(f) {
            *ui = quantize(*ui + DT * (-decay(*ui) * *ui + fi));
        }
        trajectory.extend_from_slice(&u);
    }
    Ok(trajectory)
}

pub fn reference() -> Vec<f64> {
    integrate(|u, f| {
        for (fi, ui) in f.iter_mut().zip(u) {
            *fi = true_forcing(*ui);
        }
        Ok(())
    })
    .unwrap()
}

pub fn trajectory_loss(candidate: &mut Candidate, reference: &[f64]) -> LossResult {
    let trajectory = integrate(|u, f| {
        candidate
            .forward_batch(u, u.len(), f)
            .map_err(|e| LossError::new(1, e.to_string()))
    })?;
    let n = reference.len() as f64;
    Ok(trajectory
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / n)
}
