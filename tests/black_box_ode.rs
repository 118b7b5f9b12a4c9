//! End to end: a network learns the forcing term of an ODE through an
//! integrator it cannot see into, from trajectory losses alone.
//!
//! The integrator quantizes its state every step and looks its decay rate
//! up in a table, so the loss is piecewise constant in θ: no gradient
//! exists, and zoo only ever sees loss values.

use zoo::model::{Activation, Model};
use zoo::trainer::{Candidate, LossError, LossResult, Trainer};

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
fn true_forcing(u: f64) -> f64 {
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

fn reference() -> Vec<f64> {
    integrate(|u, f| {
        for (fi, ui) in f.iter_mut().zip(u) {
            *fi = true_forcing(*ui);
        }
        Ok(())
    })
    .unwrap()
}

fn trajectory_loss(candidate: &mut Candidate, reference: &[f64]) -> LossResult {
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

/// Trains with `options`; returns (initial loss, final loss).
fn train(options: &str, iterations: usize) -> (f64, f64) {
    let reference = reference();
    let model = Model::mlp(&[1, 8, 1], Activation::Tanh, 5).unwrap();
    let mut trainer = Trainer::new(model, options).unwrap();
    let mut initial = None;
    for _ in 0..iterations {
        let metrics = trainer
            .step_parallel(|c| trajectory_loss(c, &reference))
            .unwrap();
        initial.get_or_insert(metrics.loss());
    }
    // Evaluate the final weights exactly, at the base point.
    trainer.set("estimator", "cge-forward").unwrap();
    trainer.set("lr", "0").unwrap();
    let last = trainer.step(|c| trajectory_loss(c, &reference)).unwrap();
    (initial.unwrap(), last.base_loss.unwrap())
}

#[test]
fn rge_learns_the_forcing_through_the_black_box() {
    let (initial, last) = train(
        "estimator=rge-central q=8 mu=0.01 optimizer=adam lr=0.03 seed=1 threads=2",
        300,
    );
    println!("RGE: trajectory loss {initial:.3e} → {last:.3e}");
    assert!(
        last <= 0.1 * initial,
        "RGE: loss {last} is not ≤ 10% of {initial}"
    );
}

#[test]
fn cge_learns_the_forcing_through_the_black_box() {
    let (initial, last) = train(
        "estimator=cge-central mu=0.01 optimizer=adam lr=0.03 threads=2",
        200,
    );
    println!("CGE: trajectory loss {initial:.3e} → {last:.3e}");
    assert!(
        last <= 0.1 * initial,
        "CGE: loss {last} is not ≤ 10% of {initial}"
    );
}
