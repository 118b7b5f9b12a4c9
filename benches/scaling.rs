//! Thread scaling and memory (a table program; medians of repeated steps).
//!
//! 1. Speedup and efficiency of `step_parallel` versus threads, for
//!    candidate costs of about 10 µs, 100 µs, 1 ms and 10 ms (the loss
//!    function spins for that long, like a solver would compute).
//! 2. Peak resident memory versus q for a 98,880-parameter network: each
//!    q runs in a fresh child process that reads its own VmHWM, showing
//!    that memory does not grow with the number of candidates.
//!
//! Run: `cargo bench --bench scaling` (`-- --test` runs a minimal pass).

#[path = "support/timing.rs"]
mod timing;

use std::time::{Duration, Instant};
use timing::{median, seconds_per_call};
use zoo::model::{Activation, Model};
use zoo::trainer::Trainer;

fn spin(cost: Duration) {
    let start = Instant::now();
    while start.elapsed() < cost {
        std::hint::spin_loop();
    }
}

fn step_time(threads: usize, q: usize, cost: Duration, repeats: usize) -> f64 {
    let model = Model::mlp(&[4, 16, 1], Activation::Tanh, 1).unwrap();
    let mut t = Trainer::new(
        model,
        &format!("estimator=rge-central q={q} threads={threads}"),
    )
    .unwrap();
    let times = (0..repeats)
        .map(|_| {
            seconds_per_call(1, || {
                t.step_parallel(|c| {
                    spin(cost);
                    Ok(c.params()[0] * c.params()[0])
                })
                .unwrap();
            })
        })
        .collect();
    median(times)
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Child mode: train two steps with q directions and print VmHWM.
fn memory_child(q: usize) {
    let model = Model::mlp(&[64, 256, 256, 64], Activation::Tanh, 1).unwrap();
    let mut t = Trainer::new(model, &format!("estimator=rge-central q={q} threads=2")).unwrap();
    let x = vec![0.1; 64];
    for _ in 0..2 {
        t.step_parallel(|c| {
            let mut y = [0.0; 64];
            c.forward(&x, &mut y).unwrap();
            Ok(y.iter().map(|v| v * v).sum())
        })
        .unwrap();
    }
    println!("{} {}", t.model().num_params(), peak_rss_kib());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--memory-child") {
        memory_child(args[i + 1].parse().unwrap());
        return;
    }
    let quick = args.iter().any(|a| a == "--test");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut thread_counts: Vec<usize> = vec![1, 2, 4, 8, 16]
        .into_iter()
        .filter(|&t| t <= cores)
        .collect();
    if quick {
        thread_counts.truncate(2);
    }
    println!(
        "step_parallel on {cores} cores: median step time, speedup and efficiency vs 1 thread"
    );
    println!("| candidate cost | candidates | threads | step time | speedup | efficiency |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let costs: &[u64] = if quick {
        &[10]
    } else {
        &[10, 100, 1_000, 10_000]
    };
    for &micros in costs {
        let cost = Duration::from_micros(micros);
        // About 0.3 s of work per step on one thread, 32 candidates at least.
        let q = ((150_000 / micros) as usize).clamp(16, 4096);
        let repeats = if quick { 1 } else { 7 };
        let base = step_time(1, q, cost, repeats);
        for &threads in &thread_counts {
            let t = if threads == 1 {
                base
            } else {
                step_time(threads, q, cost, repeats)
            };
            println!(
                "| {micros} µs | {} | {threads} | {:.1} ms | {:.2} | {:.0}% |",
                2 * q,
                t * 1e3,
                base / t,
                100.0 * base / t / threads as f64
            );
        }
    }

    println!("\npeak resident memory (VmHWM of a fresh process) after two steps, 2 threads");
    println!("| q | candidates | parameters | peak RSS |");
    println!("| --- | --- | --- | --- |");
    let exe = std::env::current_exe().unwrap();
    let qs: &[usize] = if quick { &[8] } else { &[8, 64, 512] };
    for &q in qs {
        let out = std::process::Command::new(&exe)
            .args(["--memory-child", &q.to_string()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fields = text.split_whitespace();
        let (params, rss) = (fields.next().unwrap_or("?"), fields.next().unwrap_or("?"));
        println!("| {q} | {} | {params} | {rss} KiB |", 2 * q);
    }
}
