//! Dataset mode: weight-space versus output-space estimators (a table
//! program).
//!
//! 1. Wall time per iteration (median) and gradient error against the
//!    exact gradient, on networks of about 1k, 10k and 100k parameters, a
//!    batch of 16 rows and a differentiable knowledge source
//!    L(Y) = mean (sin Y − T)², so the exact gradient is known by
//!    backpropagation. Each estimator makes one SGD step with lr = 1 from
//!    the same θ; the step is the estimate ĝ. Reported: black-box queries,
//!    cosine(ĝ, ∇L) and ‖ĝ − ∇L‖ / ‖∇L‖.
//! 2. Cosine with the exact gradient versus queries on the 1k network
//!    (mean over 8 seeds): weight-space RGE, output-space RGE with one
//!    loss per batch, output-space RGE with one loss per row.
//!
//! Run: `cargo bench --bench dataset` (`-- --test` runs a minimal pass).

#[path = "support/timing.rs"]
mod timing;

use timing::{median, seconds_per_call};
use zoo::model::{Activation, Model, Workspace};
use zoo::trainer::Trainer;

const ROWS: usize = 16;
const INPUTS: usize = 8;
const OUTPUTS: usize = 4;

struct Problem {
    model: Model,
    x: Vec<f64>,
    t: Vec<f64>,
    exact: Vec<f64>,
}

fn loss(y: &[f64], t: &[f64]) -> f64 {
    y.iter()
        .zip(t)
        .map(|(a, b)| (a.sin() - b).powi(2))
        .sum::<f64>()
        / y.len() as f64
}

fn row_losses(y: &[f64], t: &[f64], out: &mut [f64]) {
    let n = y.len() as f64;
    for ((l, yr), tr) in out.iter_mut().zip(y.chunks(OUTPUTS)).zip(t.chunks(OUTPUTS)) {
        *l = yr
            .iter()
            .zip(tr)
            .map(|(a, b)| (a.sin() - b).powi(2))
            .sum::<f64>()
            / n;
    }
}

impl Problem {
    fn new(hidden: usize) -> Self {
        let model = Model::mlp(&[INPUTS, hidden, hidden, OUTPUTS], Activation::Tanh, 3).unwrap();
        let x: Vec<f64> = (0..ROWS * INPUTS)
            .map(|i| ((i * 37 % 17) as f64 / 8.0) - 1.0)
            .collect();
        let t: Vec<f64> = (0..ROWS * OUTPUTS)
            .map(|i| (i as f64 * 0.7).sin() * 0.8)
            .collect();
        let mut ws = Workspace::new();
        let mut y = vec![0.0; t.len()];
        model.forward_batch(&x, ROWS, &mut y, &mut ws).unwrap();
        let grad_y: Vec<f64> = y
            .iter()
            .zip(&t)
            .map(|(a, b)| 2.0 * (a.sin() - b) * a.cos() / y.len() as f64)
            .collect();
        let mut exact = vec![0.0; model.num_params()];
        model
            .vjp(&x, ROWS, &grad_y, &mut exact, None, &mut ws)
            .unwrap();
        Self { model, x, t, exact }
    }

    /// One step from θ_0 with `options`: (seconds, queries, ĝ).
    fn estimate(&self, options: &str, per_sample: bool) -> (f64, usize, Vec<f64>) {
        let mut trainer =
            Trainer::new(self.model.clone(), &format!("{options} optimizer=sgd lr=1")).unwrap();
        let mut queries = 0;
        let seconds = seconds_per_call(1, || {
            let m = if per_sample {
                trainer.step_output_samples(&self.x, ROWS, |y, l| {
                    row_losses(y, &self.t, l);
                    Ok(())
                })
            } else {
                trainer.step_dataset(&self.x, ROWS, |y| Ok(loss(y, &self.t)))
            };
            queries = m.unwrap().evaluations;
        });
        let step = self
            .model
            .params()
            .iter()
            .zip(trainer.params())
            .map(|(a, b)| a - b)
            .collect();
        (seconds, queries, step)
    }
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (norm(a) * norm(b))
}

fn norm(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn relative_error(estimate: &[f64], exact: &[f64]) -> f64 {
    let diff: Vec<f64> = estimate.iter().zip(exact).map(|(a, b)| a - b).collect();
    norm(&diff) / norm(exact)
}

fn time_and_error(test: bool) {
    println!("Weight space vs output space: {ROWS} rows, {INPUTS} inputs, {OUTPUTS} outputs, L = mean (sin Y − T)²");
    println!(
        "{:>8}  {:<58}  {:>8}  {:>12}  {:>7}  {:>9}",
        "params", "estimator", "queries", "s/iteration", "cosine", "rel. err"
    );
    let hidden: &[usize] = if test { &[26] } else { &[26, 94, 310] };
    for &h in hidden {
        let problem = Problem::new(h);
        let d = problem.model.num_params();
        let full_cge = d <= 20_000;
        let mut setups: Vec<(String, bool)> = vec![
            ("space=weights estimator=rge-central q=16".into(), false),
            (
                if full_cge {
                    "space=weights estimator=cge-central feature_reuse=on".into()
                } else {
                    "space=weights estimator=cge-central cge_coords=2000 feature_reuse=on".into()
                },
                false,
            ),
            ("space=output estimator=rge-central q=16".into(), false),
            ("space=output estimator=cge-central".into(), false),
            (
                "space=output estimator=cge-central (per-row losses)".into(),
                true,
            ),
        ];
        if test {
            setups.truncate(1);
        }
        for (options, per_sample) in setups {
            let repeats = if test || options.contains("cge-central feature") {
                1
            } else {
                5
            };
            let runs: Vec<(f64, usize, Vec<f64>)> = (0..repeats)
                .map(|_| problem.estimate(&options.replace(" (per-row losses)", ""), per_sample))
                .collect();
            let seconds = median(runs.iter().map(|r| r.0).collect());
            let (_, queries, step) = &runs[0];
            println!(
                "{:>8}  {:<58}  {:>8}  {:>12.3e}  {:>7.3}  {:>9.2e}",
                d,
                options.replace("space=", "").replace("estimator=", ""),
                queries,
                seconds,
                cosine(step, &problem.exact),
                relative_error(step, &problem.exact)
            );
        }
    }
}

fn cosine_versus_queries(test: bool) {
    let problem = Problem::new(26);
    println!();
    println!(
        "Cosine with the exact gradient vs queries ({} parameters, mean over 8 seeds)",
        problem.model.num_params()
    );
    println!(
        "{:>8}  {:>14}  {:>18}  {:>18}",
        "queries", "weight RGE", "output RGE joint", "output RGE per row"
    );
    let qs: &[usize] = if test { &[4] } else { &[4, 16, 64, 256] };
    let seeds = if test { 1 } else { 8 };
    for &q in qs {
        let mut mean = [0.0; 3];
        for seed in 0..seeds {
            let base = format!("estimator=rge-central q={q} mu=1e-5 seed={seed}");
            let runs = [
                problem.estimate(&format!("{base} space=weights"), false),
                problem.estimate(&base, false),
                problem.estimate(&base, true),
            ];
            for (m, run) in mean.iter_mut().zip(&runs) {
                *m += cosine(&run.2, &problem.exact) / seeds as f64;
            }
        }
        println!(
            "{:>8}  {:>14.3}  {:>18.3}  {:>18.3}",
            2 * q,
            mean[0],
            mean[1],
            mean[2]
        );
    }
}

fn main() {
    let test = std::env::args().any(|a| a == "--test");
    time_and_error(test);
    cosine_versus_queries(test);
}
