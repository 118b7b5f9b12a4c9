//! Time of one `step` with q = 8, 64 and 512 RGE-central directions (16,
//! 128 and 1024 candidates) for a 5-16-16-1 network whose loss runs a
//! batch of 64 rows, on 1 and 2 threads. Before timing, it prints how many
//! heap allocations one warm step makes (expected: 0 whatever q).
//!
//! `step_100k` times a 64-256-256-64 network (98 880 weights) whose loss is
//! the sum of squares of one row's outputs: the loss is cheap, so the time
//! is that of drawing directions, building candidates and assembling the
//! estimate (q = 16 and 64 RGE-central directions, Gaussian and sphere).
//!
//! Run: `cargo bench --bench step` (`-- step_100k` for the large case only).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zoo::model::{Activation, Model};
use zoo::trainer::{Candidate, LossResult, Trainer};

#[path = "../tests/support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

const ROWS: usize = 64;

fn loss(c: &mut Candidate) -> LossResult {
    let mut x = [0.0; ROWS * 5];
    for (i, v) in x.iter_mut().enumerate() {
        *v = ((i * 7919) % 1000) as f64 / 500.0 - 1.0;
    }
    let mut y = [0.0; ROWS];
    c.forward_batch(&x, ROWS, &mut y).unwrap();
    Ok(y.iter().map(|v| (v - 0.5) * (v - 0.5)).sum::<f64>() / ROWS as f64)
}

fn trainer(q: usize, threads: usize) -> Trainer {
    let model = Model::mlp(&[5, 16, 16, 1], Activation::Tanh, 1).unwrap();
    Trainer::new(
        model,
        &format!("estimator=rge-central q={q} threads={threads} lr=1e-4"),
    )
    .unwrap()
}

fn steps(c: &mut Criterion) {
    for q in [8, 64, 512] {
        let mut t = trainer(q, 1);
        t.step_parallel(loss).unwrap();
        let before = allocations();
        t.step_parallel(loss).unwrap();
        println!(
            "q={q}: {} heap allocations in one warm step",
            allocations() - before
        );
    }
    let mut group = c.benchmark_group("step");
    group.sample_size(20);
    for threads in [1, 2] {
        for q in [8, 64, 512] {
            let mut t = trainer(q, threads);
            group.throughput(Throughput::Elements(2 * q as u64));
            group.bench_function(
                BenchmarkId::new(format!("threads={threads}"), format!("q={q}")),
                |b| {
                    b.iter(|| {
                        t.step_parallel(loss).unwrap();
                    })
                },
            );
        }
    }
    group.finish();
}

const WIDE: [usize; 4] = [64, 256, 256, 64];

fn wide_loss(c: &mut Candidate) -> LossResult {
    let mut x = [0.0; WIDE[0]];
    for (i, v) in x.iter_mut().enumerate() {
        *v = ((i * 7919) % 1000) as f64 / 500.0 - 1.0;
    }
    let mut y = [0.0; WIDE[3]];
    c.forward(&x, &mut y).unwrap();
    Ok(y.iter().map(|v| v * v).sum())
}

fn wide_steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("step_100k");
    group.sample_size(10);
    for (q, threads, directions) in [
        (16, 1, "gaussian"),
        (64, 1, "gaussian"),
        (16, 1, "sphere"),
        (16, 2, "gaussian"),
    ] {
        let model = Model::mlp(&WIDE, Activation::Tanh, 1).unwrap();
        let mut t = Trainer::new(
            model,
            &format!(
                "estimator=rge-central q={q} directions={directions} threads={threads} lr=1e-6"
            ),
        )
        .unwrap();
        group.bench_function(
            BenchmarkId::new(format!("threads={threads}"), format!("q={q} {directions}")),
            |b| {
                b.iter(|| {
                    t.step_parallel(wide_loss).unwrap();
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, steps, wide_steps);
criterion_main!(benches);
