//! Learn the forcing term of an ODE through a black-box integrator.
//!
//! The integrator (examples/support/ode.rs) quantizes its state and reads a
//! lookup table, so it has no gradient; zoo trains a 1-8-1 network from
//! trajectory losses alone, once with RGE and once with CGE, and prints how
//! far the loss fell.
//!
//! Run: `cargo run --release --example ode_forcing`

mod support {
    pub mod ode;
}

use std::time::Instant;
use support::ode;
use zoo::model::{Activation, Model};
use zoo::trainer::Trainer;

fn main() -> Result<(), zoo::ZooError> {
    let reference = ode::reference();
    let runs = [
        (
            "RGE central, q=8",
            "estimator=rge-central q=8 mu=0.01 optimizer=adam lr=0.03 seed=1 threads=2",
            300,
        ),
        (
            "CGE central",
            "estimator=cge-central mu=0.01 optimizer=adam lr=0.03 threads=2",
            200,
        ),
    ];
    println!("| estimator | iterations | loss evaluations | initial loss | final loss | final/initial | wall time |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (name, options, iterations) in runs {
        let model = Model::mlp(&[1, 8, 1], Activation::Tanh, 5)?;
        let mut trainer = Trainer::new(model, options)?;
        let started = Instant::now();
        let mut evaluations = 0;
        let initial = trainer.evaluate(|c| ode::trajectory_loss(c, &reference))?;
        for _ in 0..iterations {
            evaluations += trainer
                .step_parallel(|c| ode::trajectory_loss(c, &reference))?
                .evaluations;
        }
        let wall = started.elapsed().as_secs_f64();
        let last = trainer.evaluate(|c| ode::trajectory_loss(c, &reference))?;
        println!(
            "| {name} | {iterations} | {evaluations} | {initial:.3e} | {last:.3e} | {:.3} | {wall:.2} s |",
            last / initial
        );
    }
    Ok(())
}
