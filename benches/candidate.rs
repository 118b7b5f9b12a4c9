//! Cost of one candidate evaluation for a 5-16-16-1 tanh network on a batch
//! of 64 rows, against a plain Rust loop doing the same arithmetic with
//! fixed weights.
//!
//! * `plain_loop`: hand-written layers over fixed arrays.
//! * `model_forward_batch`: `Model::forward_batch` with a reused workspace.
//! * `candidate_forward_batch`: `Trainer::forward_batch` on an asked
//!   candidate (θ_c already materialized): the view's overhead.
//! * `step_per_candidate/*`: a whole RGE-central step with q = 32 (64
//!   candidates, each one forward of the batch) divided by 64: includes
//!   drawing θ_c, the loss and the update.
//!
//! Before the criterion groups it prints an interleaved comparison: each
//! round times the plain loop, the candidate forward and a step back to
//! back, so drifts of a shared machine hit all three alike; the table gives
//! medians over rounds and the median of the per-round ratios.
//!
//! Run: `cargo bench --bench candidate`.

#[path = "support/timing.rs"]
mod timing;

use criterion::{black_box, criterion_group, BenchmarkId, Criterion, Throughput};
use timing::{median, seconds_per_call};
use zoo::model::{Activation, Model, Workspace};
use zoo::trainer::Trainer;

const SIZES: [usize; 4] = [5, 16, 16, 1];
const ROWS: usize = 64;

fn inputs() -> Vec<f64> {
    (0..ROWS * SIZES[0])
        .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
        .collect()
}

fn model() -> Model {
    Model::mlp(&SIZES, Activation::Tanh, 1).unwrap()
}

/// Fixed weights in separate arrays, as a hand-written kernel would have.
struct Plain {
    w1: [[f64; 5]; 16],
    b1: [f64; 16],
    w2: [[f64; 16]; 16],
    b2: [f64; 16],
    w3: [f64; 16],
    b3: f64,
}

impl Plain {
    fn from(p: &[f64]) -> Self {
        let mut it = p.iter().copied();
        let mut next = || it.next().unwrap();
        let mut s = Plain {
            w1: [[0.0; 5]; 16],
            b1: [0.0; 16],
            w2: [[0.0; 16]; 16],
            b2: [0.0; 16],
            w3: [0.0; 16],
            b3: 0.0,
        };
        s.w1.iter_mut().flatten().for_each(|w| *w = next());
        s.b1.iter_mut().for_each(|w| *w = next());
        s.w2.iter_mut().flatten().for_each(|w| *w = next());
        s.b2.iter_mut().for_each(|w| *w = next());
        s.w3.iter_mut().for_each(|w| *w = next());
        s.b3 = next();
        s
    }

    // Indexed loops on purpose: this is the straightforward kernel a user
    // would write, the baseline zoo's overhead is measured against.
    #[allow(clippy::needless_range_loop)]
    fn forward_batch(&self, x: &[f64], y: &mut [f64]) {
        for (xr, yr) in x.chunks_exact(5).zip(y.iter_mut()) {
            let mut h1 = [0.0; 16];
            for o in 0..16 {
                let mut s = self.b1[o];
                for i in 0..5 {
                    s += self.w1[o][i] * xr[i];
                }
                h1[o] = s.tanh();
            }
            let mut h2 = [0.0; 16];
            for o in 0..16 {
                let mut s = self.b2[o];
                for i in 0..16 {
                    s += self.w2[o][i] * h1[i];
                }
                h2[o] = s.tanh();
            }
            let mut s = self.b3;
            for i in 0..16 {
                s += self.w3[i] * h2[i];
            }
            *yr = s;
        }
    }
}

fn forward_costs(c: &mut Criterion) {
    let x = inputs();
    let model = model();
    let plain = Plain::from(model.params());
    let mut y = vec![0.0; ROWS];
    let mut group = c.benchmark_group("candidate_evaluation");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("plain_loop", |b| {
        b.iter(|| plain.forward_batch(black_box(&x), black_box(&mut y)))
    });
    let mut ws = Workspace::new();
    group.bench_function("model_forward_batch", |b| {
        b.iter(|| {
            model
                .forward_batch(black_box(&x), ROWS, black_box(&mut y), &mut ws)
                .unwrap()
        })
    });
    let mut trainer = Trainer::new(model.clone(), "estimator=rge-central q=4").unwrap();
    let id = trainer.ask().unwrap().unwrap();
    group.bench_function("candidate_forward_batch", |b| {
        b.iter(|| {
            trainer
                .forward_batch(id, black_box(&x), ROWS, black_box(&mut y))
                .unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("step_per_candidate");
    let q = 32;
    group.throughput(Throughput::Elements(2 * q as u64));
    for estimator in ["rge-central", "cge-central cge_coords=32"] {
        let mut trainer =
            Trainer::new(model.clone(), &format!("estimator={estimator} q={q} lr=0")).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(estimator), &x, |b, x| {
            b.iter(|| {
                trainer
                    .step(|c| {
                        let mut out = [0.0; ROWS];
                        c.forward_batch(x, ROWS, &mut out).unwrap();
                        Ok(out.iter().sum())
                    })
                    .unwrap();
            })
        });
    }
    group.finish();
}

fn interleaved_overhead_table() {
    let x = inputs();
    let model = model();
    let plain = Plain::from(model.params());
    let mut y = vec![0.0; ROWS];
    let q = 32;
    let mut asker = Trainer::new(model.clone(), "estimator=rge-central q=4").unwrap();
    let id = asker.ask().unwrap().unwrap();
    let mut stepper =
        Trainer::new(model.clone(), &format!("estimator=rge-central q={q} lr=0")).unwrap();
    let loss = |c: &mut zoo::trainer::Candidate| {
        let mut out = [0.0; ROWS];
        c.forward_batch(&x, ROWS, &mut out).unwrap();
        Ok(out.iter().sum())
    };
    let (rounds, reps) = (101, 40);
    let (mut plain_t, mut view_t, mut step_t, mut view_r, mut step_r) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let p = seconds_per_call(reps, || {
            plain.forward_batch(black_box(&x), black_box(&mut y))
        });
        let v = seconds_per_call(reps, || {
            asker
                .forward_batch(id, black_box(&x), ROWS, black_box(&mut y))
                .unwrap()
        });
        let s = seconds_per_call(2, || {
            stepper.step(loss).unwrap();
        }) / (2 * q) as f64;
        plain_t.push(p);
        view_t.push(v);
        step_t.push(s);
        view_r.push(v / p);
        step_r.push(s / p);
    }
    println!(
        "5-16-16-1 tanh network, batch of {ROWS} rows, {rounds} interleaved rounds (medians):"
    );
    println!("| what | time per candidate | ratio to plain loop |");
    println!("| --- | --- | --- |");
    println!(
        "| plain Rust loop, fixed weights | {:.2} µs | 1 |",
        median(plain_t.clone()) * 1e6
    );
    println!(
        "| candidate forward_batch (θ_c ready) | {:.2} µs | {:.3} |",
        median(view_t.clone()) * 1e6,
        median(view_r.clone())
    );
    println!(
        "| step rge-central q={q}, per candidate (draw θ_c + forward + update share) | {:.2} µs | {:.3} |",
        median(step_t.clone()) * 1e6,
        median(step_r.clone())
    );
}

criterion_group!(benches, forward_costs);

fn main() {
    interleaved_overhead_table();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
