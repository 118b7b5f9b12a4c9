//! Sparsity benchmarks (a table, not criterion: each row is a median over
//! interleaved repetitions on this shared machine).
//!
//! 1. Forward of a 16-64-64-1 tanh network (5313 parameters) on 64 rows:
//!    dense product versus the sparse one that skips pruned weights, at
//!    several sparsities (magnitude pruning, layer-wise).
//! 2. One CGE-central iteration (2 evaluations per active weight, each a
//!    forward of 16 rows) versus sparsity: the cost zeroth-order training
//!    saves by pruning; with and without feature reuse (coordinate
//!    candidates recompute only the layers their weight affects).
//!
//! Run: `cargo bench --bench sparse` (`-- --test` runs each case once).

use std::hint::black_box;
#[path = "support/timing.rs"]
mod timing;

use timing::{median, seconds_per_call};
use zoo::model::{Activation, Model, Network, Workspace};
use zoo::prune::{Method, Scope};
use zoo::trainer::Trainer;

const SIZES: [usize; 4] = [16, 64, 64, 1];

fn pruned(sparsity: f64) -> Model {
    let mut model = Model::mlp(&SIZES, Activation::Tanh, 1).unwrap();
    if sparsity > 0.0 {
        model
            .prune(Method::Magnitude(Scope::LayerWise), sparsity)
            .unwrap();
    }
    model
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let (rounds, reps) = if quick { (1, 1) } else { (41, 200) };
    let rows = 64;
    let x: Vec<f64> = (0..rows * SIZES[0])
        .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
        .collect();
    let dense_net = Network::mlp(&SIZES, Activation::Tanh, Activation::Identity).unwrap();
    let mut y = vec![0.0; rows];
    let mut ws = Workspace::new();
    println!("forward of {SIZES:?} ({} parameters) on {rows} rows, median of {rounds} interleaved rounds", dense_net.num_params());
    println!("| sparsity | sparse layers | dense product | sparse product | speedup |");
    println!("| --- | --- | --- | --- | --- |");
    for sparsity in [0.0, 0.5, 0.8, 0.9, 0.95, 0.98] {
        let model = pruned(sparsity);
        let sparse_layers = (0..3).filter(|&l| model.network().is_sparse(l)).count();
        let (mut dense_t, mut sparse_t) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            dense_t.push(seconds_per_call(reps, || {
                dense_net
                    .forward_batch(model.params(), black_box(&x), rows, &mut y, &mut ws)
                    .unwrap()
            }));
            sparse_t.push(seconds_per_call(reps, || {
                model
                    .forward_batch(black_box(&x), rows, &mut y, &mut ws)
                    .unwrap()
            }));
        }
        let (d, s) = (median(dense_t), median(sparse_t));
        println!(
            "| {:.0}% | {sparse_layers}/3 | {:.1} µs | {:.1} µs | {:.2}x |",
            sparsity * 100.0,
            d * 1e6,
            s * 1e6,
            d / s
        );
    }

    let rows = 16;
    let x = &x[..rows * SIZES[0]];
    println!("\none CGE-central iteration (2 x active evaluations, each a forward of {rows} rows), 1 thread");
    println!("| sparsity | active weights | candidates | iteration time | vs dense | with feature reuse | reuse speedup |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut dense_time = 0.0;
    for sparsity in [0.0, 0.5, 0.9, 0.95] {
        let model = pruned(sparsity);
        let active = model.num_active();
        let iteration_time = |options: &str| {
            let mut trainer = Trainer::new(model.clone(), options).unwrap();
            let mut out = vec![0.0; rows];
            let times: Vec<f64> = (0..if quick { 1 } else { 5 })
                .map(|_| {
                    seconds_per_call(1, || {
                        trainer
                            .step(|c| {
                                c.forward_batch(x, rows, &mut out).unwrap();
                                Ok(out.iter().map(|v| v * v).sum())
                            })
                            .unwrap();
                    })
                })
                .collect();
            (median(times), trainer.candidates_per_iteration())
        };
        let (t, candidates) = iteration_time("estimator=cge-central lr=1e-4");
        let (reused, _) = iteration_time("estimator=cge-central lr=1e-4 feature_reuse=on");
        if sparsity == 0.0 {
            dense_time = t;
        }
        println!(
            "| {:.0}% | {active} | {candidates} | {:.1} ms | {:.3} | {:.1} ms | {:.1}x |",
            sparsity * 100.0,
            t * 1e3,
            t / dense_time,
            reused * 1e3,
            t / reused
        );
    }
}
