//! Batched forward throughput of zoo's dense kernels, in GFLOP/s, for the
//! shapes that benchmarks/kernels compares with numpy and jax.
//!
//! Flops are 2·Σ nin·nout per row: the matrix products only; bias adds and
//! activations (tanh on hidden layers, identity output) are not counted
//! but are timed. One thread, `Model::forward_batch` with a reused
//! workspace, so the time is what a host's batched call costs.
//!
//! Usage: `cargo bench --bench kernels -- [--shapes 5-16-1@256,...]
//! [--seconds S] [--json]`. `--json` prints one JSON object per shape
//! (benchmarks/kernels/bench.py reads them); otherwise a markdown table.
//! Without `--bench`, or with `--test`, the default is a smoke test: the
//! flagship shape, one sample.

#[path = "support/timing.rs"]
mod timing;

use std::hint::black_box;
use std::time::Instant;
use timing::{median, seconds_per_call};
use zoo::model::{Activation, Model, Workspace};

/// The shapes of the comparison: the flagship closure network, two
/// typical surrogate sizes, and 64- to 1024-wide layers at 256 rows.
const SHAPES: &str = "5-16-1@256,16-64-64-1@1024,64-256-256-8@4096,\
                      64-64-64-64@256,256-256-256-256@256,1024-1024-1024@256";

struct Options {
    shapes: Vec<(Vec<usize>, usize)>,
    /// Time budget per shape; at least one sample is taken whatever it is.
    seconds: f64,
    json: bool,
}

fn parse_shape(text: &str) -> (Vec<usize>, usize) {
    let (sizes, rows) = text
        .split_once('@')
        .unwrap_or_else(|| panic!("shape {text:?}: expected sizes@rows, e.g. 5-16-1@256"));
    let sizes = sizes
        .split('-')
        .map(|s| s.parse().expect("layer width"))
        .collect();
    (sizes, rows.parse().expect("row count"))
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // cargo bench passes --bench; bare (cargo test) or with --test (as
    // test.sh runs the benches) it is a smoke test: one flagship sample.
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let full = has("--bench") && !has("--test");
    let mut o = Options {
        shapes: if full { SHAPES } else { "5-16-1@256" }
            .split(',')
            .map(parse_shape)
            .collect(),
        seconds: if full { 0.5 } else { 0.0 },
        json: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--shapes" => {
                let list = it.next().expect("--shapes needs a list");
                o.shapes = list.split(',').map(parse_shape).collect();
            }
            "--seconds" => o.seconds = it.next().expect("--seconds S").parse().expect("seconds"),
            "--json" => o.json = true,
            _ => {} // --bench and libtest's flags
        }
    }
    o
}

struct Measured {
    seconds_per_call: f64,
    samples: usize,
}

/// Median seconds per forward of `rows` rows. Each sample repeats the call
/// until it lasts 10 ms so short calls are not clock-bound; samples run
/// until the budget is spent.
fn measure(sizes: &[usize], rows: usize, budget: f64) -> Measured {
    let model = Model::mlp(sizes, Activation::Tanh, 1).unwrap();
    let x: Vec<f64> = (0..rows * sizes[0])
        .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
        .collect();
    let mut y = vec![0.0; rows * sizes[sizes.len() - 1]];
    let mut ws = Workspace::new();
    let mut forward = || {
        model
            .forward_batch(black_box(&x), rows, black_box(&mut y), &mut ws)
            .unwrap()
    };
    let once = seconds_per_call(1, &mut forward); // also sizes the workspace
    let reps = ((0.01 / once) as usize).clamp(1, 1_000_000);
    let start = Instant::now();
    let mut samples = vec![seconds_per_call(reps, &mut forward)];
    while start.elapsed().as_secs_f64() < budget {
        samples.push(seconds_per_call(reps, &mut forward));
    }
    Measured {
        samples: samples.len(),
        seconds_per_call: median(samples),
    }
}

fn flops_per_row(sizes: &[usize]) -> f64 {
    sizes.windows(2).map(|w| 2.0 * (w[0] * w[1]) as f64).sum()
}

fn main() {
    let o = options();
    if !o.json {
        println!("| shape @ rows | µs per call | GFLOP/s (matmul flops) |");
        println!("| --- | --- | --- |");
    }
    for (sizes, rows) in &o.shapes {
        let m = measure(sizes, *rows, o.seconds);
        let gflops = flops_per_row(sizes) * *rows as f64 / m.seconds_per_call / 1e9;
        let name = sizes
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("-");
        if o.json {
            println!(
                "{{\"shape\": \"{name}@{rows}\", \"seconds_per_call\": {:e}, \"gflops\": {gflops}, \
                 \"samples\": {}}}",
                m.seconds_per_call, m.samples
            );
        } else {
            println!(
                "| {name} @ {rows} | {:.2} | {gflops:.2} |",
                m.seconds_per_call * 1e6
            );
        }
    }
}
