//! Choosing `mu` for a loss computed through an adaptive ODE solver.
//!
//! A 2-16-2 network supplies the interaction terms of Lotka–Volterra
//! (examples/support/lotka_volterra.rs), integrated by Dormand–Prince 5(4)
//! at tolerance `tol`; the loss compares 4 trajectories with references
//! solved at 1e-12. The loss jumps a little whenever the step controller
//! changes its step count, so finite differences are accurate only between
//! a lower radius set by those jumps and an upper one set by curvature.
//!
//! Part 1 runs `Trainer::scan_mu` (4 directions, 137 loss evaluations) at
//! three tolerances, and at 1e-6 with the states rounded to 6 significant
//! digits, as a code that writes its results with %.5e hands them on.
//! Part 2 trains on each of the 1e-6 losses with the scan's `mu` and with
//! radii 10⁴× and 100× below and 100× above it, 3 seeds each.
//!
//! Run: `cargo run --release --example trajectory_mu`

mod support {
    pub mod lotka_volterra;
}

use support::lotka_volterra as lv;
use zoo::model::{Activation, Model};
use zoo::trainer::Trainer;

const ITERATIONS: usize = 300;
const SEEDS: [u64; 3] = [1, 2, 3];

fn new_trainer(options: &str) -> Result<Trainer, zoo::ZooError> {
    let model = Model::mlp(&[2, 16, 2], Activation::Tanh, 1)?;
    Trainer::new(model, options)
}

fn main() -> Result<(), zoo::ZooError> {
    let reference = lv::reference();
    println!("Part 1: the scan (estimator=rge-central, Gaussian directions, m = 82)\n");
    println!(
        "| tol | L(θ) | noise | noise / L | accurate radii | central radius | mu (= radius/√m) |"
    );
    println!("| --- | ---: | ---: | ---: | --- | ---: | ---: |");
    let cases = [(1e-6, None), (1e-8, None), (1e-10, None), (1e-6, Some(6))];
    let mut chosen = Vec::new();
    for (tol, digits) in cases {
        let mut trainer = new_trainer("estimator=rge-central q=16 seed=1")?;
        let scan = trainer.scan_mu(4, |c| lv::loss(c, &reference, tol, digits))?;
        println!(
            "| {tol:.0e}{} | {:.4} | {:.1e} | {:.1e} | {:.0e} – {:.0e} | {:.1e} | {:.1e} |",
            if digits.is_some() { ", 6 digits" } else { "" },
            scan.loss,
            scan.noise,
            scan.noise / scan.loss,
            scan.accurate_low,
            scan.accurate_high,
            scan.central_radius,
            scan.mu
        );
        if tol == 1e-6 {
            chosen.push((digits, scan.mu));
        }
    }
    println!(
        "\nPart 2: training at tol = 1e-6, rge-central q=16, adam lr=0.01, {ITERATIONS} iterations, seeds {SEEDS:?}\n"
    );
    println!("| loss | mu | final / initial loss, median [min, max] |");
    println!("| --- | --- | --- |");
    for (digits, scanned) in chosen {
        for mu in [scanned / 1e4, scanned / 100.0, scanned, scanned * 100.0] {
            let mut ratios = Vec::new();
            for seed in SEEDS {
                let options = format!(
                    "estimator=rge-central q=16 mu={mu} optimizer=adam lr=0.01 seed={seed} threads=2"
                );
                let mut trainer = new_trainer(&options)?;
                let loss = |c: &mut zoo::trainer::Candidate| lv::loss(c, &reference, 1e-6, digits);
                let initial = trainer.evaluate(loss)?;
                for _ in 0..ITERATIONS {
                    trainer.step_parallel(loss)?;
                }
                ratios.push(trainer.evaluate(loss)? / initial);
            }
            ratios.sort_by(f64::total_cmp);
            println!(
                "| {} | {mu:.1e}{} | {:.2e} [{:.2e}, {:.2e}] |",
                if digits.is_some() {
                    "6 digits"
                } else {
                    "full precision"
                },
                if mu == scanned { " (scan)" } else { "" },
                ratios[1],
                ratios[0],
                ratios[2]
            );
        }
    }
    Ok(())
}
