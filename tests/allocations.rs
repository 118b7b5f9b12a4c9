//! A step allocates a bounded number of times whatever the number of
//! candidates: no heap allocation per candidate evaluation.

use zoo::model::{Activation, Model};
use zoo::trainer::{Candidate, LossResult, Trainer};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn loss(c: &mut Candidate) -> LossResult {
    let x = [0.1, -0.3, 0.5, 0.2, 0.9, -0.7, 0.4, 0.0];
    let mut y = [0.0; 4];
    c.forward_batch(&x, 4, &mut y).unwrap();
    Ok(y.iter().map(|v| (v - 1.0) * (v - 1.0)).sum())
}

/// Allocations made by one step after two warm-up steps.
fn allocations_per_step(q: usize, threads: usize) -> usize {
    let model = Model::mlp(&[2, 16, 16, 1], Activation::Tanh, 1).unwrap();
    let options = format!("estimator=rge-central q={q} threads={threads}");
    let mut trainer = Trainer::new(model, &options).unwrap();
    for _ in 0..2 {
        trainer.step_parallel(loss).unwrap();
    }
    let before = allocations();
    trainer.step_parallel(loss).unwrap();
    allocations() - before
}

#[test]
fn step_allocations_do_not_grow_with_candidates() {
    let small = allocations_per_step(8, 1);
    let large = allocations_per_step(512, 1);
    println!("sequential step allocations: q=8 → {small}, q=512 → {large}");
    assert_eq!(small, large, "sequential step allocates per candidate");
    assert_eq!(small, 0, "a warm sequential step allocates nothing");

    let small = allocations_per_step(8, 2);
    let large = allocations_per_step(512, 2);
    println!("parallel step allocations: q=8 → {small}, q=512 → {large}");
    assert!(
        large <= small + 8,
        "parallel step allocates per candidate: {small} vs {large}"
    );
}
