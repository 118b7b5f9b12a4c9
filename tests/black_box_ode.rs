//! End to end: a network learns the forcing term of an ODE through an
//! integrator it cannot see into (see `examples/support/ode.rs`), from
//! trajectory losses alone, with RGE and with CGE.

#[path = "../examples/support/ode.rs"]
mod ode;

use zoo::model::{Activation, Model};
use zoo::trainer::Trainer;

/// Trains with `options`; returns (initial loss, final loss).
fn train(options: &str, iterations: usize) -> (f64, f64) {
    let reference = ode::reference();
    let model = Model::mlp(&[1, 8, 1], Activation::Tanh, 5).unwrap();
    let mut trainer = Trainer::new(model, options).unwrap();
    let initial = trainer
        .evaluate(|c| ode::trajectory_loss(c, &reference))
        .unwrap();
    for _ in 0..iterations {
        trainer
            .step_parallel(|c| ode::trajectory_loss(c, &reference))
            .unwrap();
    }
    let last = trainer
        .evaluate(|c| ode::trajectory_loss(c, &reference))
        .unwrap();
    (initial, last)
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
