//! Activations over a slice: libm element by element (the loop zoo used
//! to run, written here) against zoo's `Activation::apply_slice`, in ns per
//! value on 4096 values uniform in [−5, 5] (what hidden layers see).
//!
//! First a table: each round times every libm loop and every zoo call back
//! to back, so drifts of a shared machine hit both alike; it prints
//! medians over rounds and the median of the per-round ratios. Then the
//! same pairs as criterion groups.
//!
//! Run: `cargo bench --bench activation` (`-- --test` runs each once).

#[path = "support/timing.rs"]
mod timing;

use criterion::{black_box, criterion_group, BenchmarkId, Criterion, Throughput};
use timing::{median, seconds_per_call};
use zoo::model::Activation;

const N: usize = 4096;
const GELU_SCALE: f64 = 0.797_884_560_802_865_4; // √(2/π)
const GELU_CUBIC: f64 = 0.044_715;

fn libm(act: Activation, z: f64) -> f64 {
    match act {
        Activation::Identity => z,
        Activation::Relu => z.max(0.0),
        Activation::Tanh => z.tanh(),
        Activation::Sigmoid => {
            if z >= 0.0 {
                1.0 / (1.0 + (-z).exp())
            } else {
                let e = z.exp();
                e / (1.0 + e)
            }
        }
        Activation::Softplus => z.max(0.0) + (-z.abs()).exp().ln_1p(),
        Activation::Gelu => 0.5 * z * (1.0 + (GELU_SCALE * (z + GELU_CUBIC * z * z * z)).tanh()),
    }
}

/// The curved activations: relu and identity cost nothing either way.
const CURVED: [Activation; 4] = [
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Softplus,
    Activation::Gelu,
];

fn inputs() -> Vec<f64> {
    let mut state = 1u64;
    (0..N)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 10.0 - 5.0
        })
        .collect()
}

fn run_libm(act: Activation, x: &[f64], out: &mut [f64]) {
    for (o, &z) in out.iter_mut().zip(x) {
        *o = libm(act, z);
    }
}

fn run_zoo(act: Activation, x: &[f64], out: &mut [f64]) {
    out.copy_from_slice(x);
    act.apply_slice(out);
}

fn interleaved_table(quick: bool) {
    let x = inputs();
    let mut out = vec![0.0; N];
    let (rounds, reps) = if quick { (1, 1) } else { (101, 50) };
    let per_value = 1e9 / N as f64;
    println!(
        "ns per value over {N} values uniform in [-5, 5], medians of {rounds} interleaved rounds"
    );
    println!("| activation | libm | zoo apply_slice | speedup |");
    println!("| --- | --- | --- | --- |");
    for act in CURVED {
        let (mut lib_t, mut zoo_t, mut ratio) = (vec![], vec![], vec![]);
        for _ in 0..rounds {
            let l = seconds_per_call(reps, || run_libm(act, black_box(&x), black_box(&mut out)));
            let z = seconds_per_call(reps, || run_zoo(act, black_box(&x), black_box(&mut out)));
            lib_t.push(l * per_value);
            zoo_t.push(z * per_value);
            ratio.push(l / z);
        }
        println!(
            "| {} | {:.2} | {:.2} | {:.1}x |",
            act.name(),
            median(lib_t),
            median(zoo_t),
            median(ratio)
        );
    }
}

fn activations(c: &mut Criterion) {
    let x = inputs();
    let mut out = vec![0.0; N];
    for act in CURVED {
        let mut group = c.benchmark_group(format!("activation/{}", act.name()));
        group.throughput(Throughput::Elements(N as u64));
        group.bench_function(BenchmarkId::from_parameter("libm"), |b| {
            b.iter(|| run_libm(act, black_box(&x), black_box(&mut out)))
        });
        group.bench_function(BenchmarkId::from_parameter("zoo"), |b| {
            b.iter(|| run_zoo(act, black_box(&x), black_box(&mut out)))
        });
        group.finish();
    }
}

criterion_group!(benches, activations);

fn main() {
    interleaved_table(std::env::args().any(|a| a == "--test"));
    benches();
    Criterion::default().configure_from_args().final_summary();
}
