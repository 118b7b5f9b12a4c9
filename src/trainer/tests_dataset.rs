//! Dataset mode: the output-space estimator against exact gradients, its
//! ask/tell form against the callback form, weight-space dataset mode, the
//! adjoint path and the mixed data + black-box loss.

use crate::model::{Activation, Model, Workspace};
use crate::trainer::Trainer;

/// A differentiable knowledge source: L(Y) = mean (sin(Y) − t)², with
/// its exact gradient.
fn source(y: &[f64], t: &[f64]) -> (f64, Vec<f64>) {
    let n = y.len() as f64;
    let loss = y
        .iter()
        .zip(t)
        .map(|(a, b)| (a.sin() - b).powi(2))
        .sum::<f64>()
        / n;
    let grad = y
        .iter()
        .zip(t)
        .map(|(a, b)| 2.0 * (a.sin() - b) * a.cos() / n)
        .collect();
    (loss, grad)
}

/// Per-row losses of the same source (their sum is `source`'s loss).
fn row_losses(y: &[f64], t: &[f64], outputs: usize, out: &mut [f64]) {
    let n = y.len() as f64;
    for ((l, yr), tr) in out.iter_mut().zip(y.chunks(outputs)).zip(t.chunks(outputs)) {
        *l = yr
            .iter()
            .zip(tr)
            .map(|(a, b)| (a.sin() - b).powi(2))
            .sum::<f64>()
            / n;
    }
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f64>().sqrt()
        * b.iter().map(|x| x * x).sum::<f64>().sqrt())
}

struct Case {
    model: Model,
    x: Vec<f64>,
    t: Vec<f64>,
    n: usize,
}

impl Case {
    fn new(sizes: &[usize], n: usize) -> Self {
        let model = Model::mlp(sizes, Activation::Tanh, 5).unwrap();
        let (inputs, outputs) = (sizes[0], sizes[sizes.len() - 1]);
        let x = (0..n * inputs)
            .map(|i| ((i * 7 % 5) as f64 / 2.5) - 1.0)
            .collect();
        let t = (0..n * outputs)
            .map(|i| (i as f64 * 0.3).cos() * 0.5)
            .collect();
        Self { model, x, t, n }
    }

    fn outputs(&self) -> usize {
        self.t.len() / self.n
    }

    /// The exact ∂L/∂θ by backpropagation through the network.
    fn exact_gradient(&self) -> Vec<f64> {
        let mut y = vec![0.0; self.t.len()];
        let mut ws = Workspace::new();
        self.model
            .forward_batch(&self.x, self.n, &mut y, &mut ws)
            .unwrap();
        let (_, grad_y) = source(&y, &self.t);
        let mut exact = vec![0.0; self.model.num_params()];
        self.model
            .vjp(&self.x, self.n, &grad_y, &mut exact, None, &mut ws)
            .unwrap();
        exact
    }

    fn trainer(&self, options: &str) -> Trainer {
        Trainer::new(self.model.clone(), &format!("{options} optimizer=sgd lr=1")).unwrap()
    }

    /// θ_0 − θ_1: with plain SGD and lr = 1, the gradient estimate used.
    fn update(&self, trainer: &Trainer) -> Vec<f64> {
        self.model
            .params()
            .iter()
            .zip(trainer.params())
            .map(|(a, b)| a - b)
            .collect()
    }

    fn joint(&self, options: &str) -> Vec<f64> {
        let mut trainer = self.trainer(options);
        trainer
            .step_dataset(&self.x, self.n, |y| Ok(source(y, &self.t).0))
            .unwrap();
        self.update(&trainer)
    }

    fn per_sample(&self, options: &str) -> (Vec<f64>, usize) {
        let mut trainer = self.trainer(options);
        let outputs = self.outputs();
        let evaluations = trainer
            .step_output_samples(&self.x, self.n, |y, losses| {
                row_losses(y, &self.t, outputs, losses);
                Ok(())
            })
            .unwrap()
            .evaluations;
        (self.update(&trainer), evaluations)
    }
}

#[test]
fn output_space_estimate_points_along_the_true_gradient_with_few_queries() {
    let case = Case::new(&[3, 32, 32, 2], 4); // 1250 parameters
    let exact = case.exact_gradient();
    let queries = "estimator=rge-central q=32 mu=1e-4 seed=2";
    let output = case.joint(queries);
    let weights = case.joint(&format!("{queries} space=weights"));
    let (c_out, c_w) = (cosine(&output, &exact), cosine(&weights, &exact));
    println!("cosine with the true gradient at 64 queries: output space {c_out:.3}, weight space {c_w:.3}");
    assert!(c_out > 0.8, "output-space cosine {c_out}");
    assert!(
        c_out > c_w + 0.3,
        "output space should beat weight space here: {c_out} vs {c_w}"
    );
}

#[test]
fn output_space_cge_matches_backpropagation() {
    let case = Case::new(&[3, 8, 2], 5);
    let exact = case.exact_gradient();
    let (joint, per_sample) = (
        case.joint("estimator=cge-central mu=1e-5"),
        case.per_sample("estimator=cge-central mu=1e-5"),
    );
    for estimate in [&joint, &per_sample.0] {
        for (e, g) in estimate.iter().zip(&exact) {
            assert!((e - g).abs() < 1e-8, "{e} vs exact {g}");
        }
    }
    // Per sample: 2·outputs queries whatever the batch; joint: 2·n·outputs.
    assert_eq!(per_sample.1, 2 * case.outputs());
    let mut trainer = case.trainer("estimator=cge-central");
    let m = trainer
        .step_dataset(&case.x, case.n, |y| Ok(source(y, &case.t).0))
        .unwrap();
    assert_eq!(m.evaluations, 2 * case.n * case.outputs());
}

#[test]
fn per_sample_losses_sharpen_random_output_estimates() {
    let case = Case::new(&[3, 16, 2], 32);
    let exact = case.exact_gradient();
    let (mut joint, mut rows) = (0.0, 0.0);
    for seed in 0..8 {
        let options = format!("estimator=rge-central q=4 mu=1e-5 seed={seed}");
        joint += cosine(&case.joint(&options), &exact) / 8.0;
        rows += cosine(&case.per_sample(&options).0, &exact) / 8.0;
    }
    println!("mean cosine at 8 queries, 32 rows: joint {joint:.3}, per sample {rows:.3}");
    assert!(rows > 0.7 && rows > joint + 0.2, "{rows} vs {joint}");
}

/// Runs `iterations` ask/tell iterations on the case's batch, telling in
/// reverse order.
fn ask_tell(case: &Case, options: &str, per_sample: bool, iterations: usize) -> Vec<f64> {
    let mut trainer = Trainer::new(case.model.clone(), options).unwrap();
    trainer.set_batch(&case.x, case.n, per_sample).unwrap();
    let mut y = vec![0.0; case.t.len()];
    let mut losses = vec![0.0; case.n];
    for _ in 0..iterations {
        let ids = trainer.ask_batch(usize::MAX).unwrap();
        assert_eq!(ids.len(), trainer.candidates_per_iteration());
        let mut told = Vec::new();
        for &id in &ids {
            trainer.candidate_outputs(id, &mut y).unwrap();
            if per_sample {
                row_losses(&y, &case.t, case.outputs(), &mut losses);
                told.push((id, losses.clone()));
            } else {
                told.push((id, vec![source(&y, &case.t).0]));
            }
        }
        for (id, l) in told.into_iter().rev() {
            if per_sample {
                trainer.tell_samples(id, &l).unwrap();
            } else {
                trainer.tell(id, l[0]).unwrap();
            }
        }
        assert!(trainer.open.ask.is_none());
    }
    trainer.params().to_vec()
}

fn callbacks(case: &Case, options: &str, per_sample: bool, iterations: usize) -> Vec<f64> {
    let mut trainer = Trainer::new(case.model.clone(), options).unwrap();
    for _ in 0..iterations {
        if per_sample {
            trainer
                .step_output_samples(&case.x, case.n, |y, l| {
                    row_losses(y, &case.t, case.outputs(), l);
                    Ok(())
                })
                .unwrap();
        } else {
            trainer
                .step_dataset(&case.x, case.n, |y| Ok(source(y, &case.t).0))
                .unwrap();
        }
    }
    trainer.params().to_vec()
}

#[test]
fn ask_tell_in_dataset_mode_equals_the_callback_bit_for_bit() {
    let case = Case::new(&[2, 6, 3], 4);
    for (options, per_sample) in [
        ("estimator=rge-central q=5 lr=0.05", false),
        ("estimator=rge-central q=5 lr=auto", false),
        ("estimator=cge-forward lr=auto", true),
        ("estimator=rge-central q=4 lr=auto space=weights", false),
        ("estimator=rge-forward q=3 lr=0.05", true),
        ("estimator=cge-central lr=0.05", false),
        ("estimator=cge-forward lr=0.05", true),
        ("estimator=cge-central cge_coords=4 lr=0.05", false),
        ("estimator=rge-central q=4 lr=0.05 space=weights", false),
        (
            "estimator=cge-central feature_reuse=on lr=0.05 space=weights",
            false,
        ),
    ] {
        let expected = callbacks(&case, options, per_sample, 3);
        assert_ne!(expected, case.model.params(), "{options}: no training");
        assert_eq!(
            ask_tell(&case, options, per_sample, 3),
            expected,
            "{options}, per sample {per_sample}"
        );
    }
    // Per-sample tells in weight space: their sum is the loss.
    let options = "estimator=rge-central q=4 lr=0.05 space=weights";
    let mut trainer = Trainer::new(case.model.clone(), options).unwrap();
    let mut rows = vec![0.0; case.n];
    for _ in 0..2 {
        trainer
            .step_dataset(&case.x, case.n, |y| {
                row_losses(y, &case.t, case.outputs(), &mut rows);
                Ok(rows.iter().sum())
            })
            .unwrap();
    }
    assert_eq!(ask_tell(&case, options, true, 2), trainer.params());
}

#[test]
fn dataset_mode_misuse_is_refused_and_changes_nothing() {
    let case = Case::new(&[2, 4, 1], 3);
    let mut trainer = Trainer::new(case.model.clone(), "q=2").unwrap();
    let err = trainer.set_batch(&case.x[1..], case.n, false).unwrap_err();
    assert!(err.to_string().contains("batch inputs"), "{err}");
    let err = trainer.set_batch(&case.x, 0, false).unwrap_err();
    assert!(err.to_string().contains("no rows"), "{err}");
    // Without a batch, ask/tell is rollout mode: no outputs to read.
    let id = trainer.ask().unwrap().unwrap();
    let mut y = vec![0.0; case.n];
    let err = trainer.candidate_outputs(id, &mut y).unwrap_err();
    assert!(err.to_string().contains("set_batch"), "{err}");
    assert!(
        trainer.set_batch(&case.x, case.n, true).is_err(),
        "iteration open"
    );
    trainer.abort_iteration().unwrap();

    trainer.set_batch(&case.x, case.n, true).unwrap();
    let id = trainer.ask().unwrap().unwrap();
    let mut theta = vec![0.0; case.model.num_params()];
    let err = trainer.candidate_params(id, &mut theta).unwrap_err();
    assert!(err.to_string().contains("candidate_outputs"), "{err}");
    assert!(trainer.candidate_outputs(id, &mut y[1..]).is_err());
    let err = trainer.tell(id, 1.0).unwrap_err();
    assert!(err.to_string().contains("tell_samples"), "{err}");
    let err = trainer.tell_samples(id, &[1.0; 2]).unwrap_err();
    assert!(err.to_string().contains("one per batch row"), "{err}");
    trainer.tell_samples(id, &[1.0; 3]).unwrap();
    let err = trainer.tell_samples(id, &[1.0; 3]).unwrap_err();
    assert!(err.to_string().contains("already told"), "{err}");
    trainer.abort_iteration().unwrap();
    trainer.clear_batch().unwrap();
    let id = trainer.ask().unwrap().unwrap();
    let err = trainer.tell_samples(id, &[1.0]).unwrap_err();
    assert!(err.to_string().contains("per-sample"), "{err}");
    trainer.abort_iteration().unwrap();
    assert_eq!(
        (trainer.params(), trainer.iteration()),
        (case.model.params(), 0)
    );
}

#[test]
fn output_space_drops_nonfinite_pairs_or_fails_cleanly() {
    let case = Case::new(&[2, 4, 2], 2);
    let mut calls = 0;
    let mut trainer = Trainer::new(
        case.model.clone(),
        "estimator=rge-central q=4 lr=0.01 seed=1",
    )
    .unwrap();
    let m = trainer
        .step_dataset(&case.x, case.n, |y| {
            calls += 1;
            Ok(if calls == 3 {
                f64::NAN
            } else {
                source(y, &case.t).0
            })
        })
        .unwrap();
    assert_eq!((m.evaluations, m.dropped), (8, 2));
    assert!(trainer.params().iter().all(|v| v.is_finite()));

    let mut trainer = Trainer::new(case.model.clone(), "q=4 nonfinite=error").unwrap();
    let err = trainer
        .step_dataset(&case.x, case.n, |_| Ok(f64::INFINITY))
        .unwrap_err();
    assert!(err.to_string().contains("non-finite"), "{err}");
    let err = trainer
        .step_output_samples(&case.x, case.n, |_, l| {
            l[1] = f64::NAN;
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().contains("non-finite"), "{err}");
    trainer.set("nonfinite", "skip").unwrap();
    let err = trainer
        .step_output_samples(&case.x, case.n, |_, l| {
            l.fill(0.0);
            l[1] = f64::NAN;
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().contains("batch row 1"), "{err}");
    assert!(
        trainer.step_dataset(&case.x, 3, |_| Ok(0.0)).is_err(),
        "x has 2 rows"
    );
    assert_eq!(
        (trainer.params(), trainer.iteration()),
        (case.model.params(), 0)
    );
}

#[test]
fn output_space_steps_are_reproducible() {
    let case = Case::new(&[2, 4, 1], 2);
    let run = || callbacks(&case, "q=4 lr=0.1 seed=9", false, 3);
    assert_eq!(run(), run());
    assert_ne!(run(), callbacks(&case, "q=4 lr=0.1 seed=10", false, 3));
}

#[test]
fn adjoint_steps_are_exact_gradient_steps() {
    let case = Case::new(&[2, 6, 2], 3);
    let mut trainer = case.trainer("");
    let m = *trainer
        .step_adjoint(&case.x, case.n, |y, g| {
            let (loss, grad) = source(y, &case.t);
            g.copy_from_slice(&grad);
            Ok(loss)
        })
        .unwrap();
    for (u, g) in case.update(&trainer).iter().zip(case.exact_gradient()) {
        assert!((u - g).abs() < 1e-15);
    }
    assert_eq!(m.evaluations, 1);
    let err = trainer.step_adjoint(&case.x, case.n, |_, g| {
        g[3] = f64::INFINITY;
        Ok(1.0)
    });
    assert!(err.unwrap_err().to_string().contains("∂L/∂Y[3]"));
    assert_eq!(trainer.iteration(), 1);
}

/// weight · mean((f(x; θ) − t)²), evaluated directly.
fn data_loss(model: &Model, theta: &[f64], x: &[f64], t: &[f64], n: usize, weight: f64) -> f64 {
    let mut m = model.clone();
    m.set_params(theta).unwrap();
    let mut y = vec![0.0; t.len()];
    m.forward_batch(x, n, &mut y, &mut Workspace::new())
        .unwrap();
    weight * y.iter().zip(t).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / t.len() as f64
}

#[test]
fn the_data_term_adds_its_exact_gradient() {
    let case = Case::new(&[2, 5, 2], 3);
    let (xd, td, nd, weight) = ([0.3, -0.1, 0.8, 0.5], [0.2, -0.4, 0.1, 0.6], 2, 0.7);
    // Central differences of the data loss: the independent reference.
    let theta = case.model.params().to_vec();
    let h = 1e-6;
    let fd: Vec<f64> = (0..theta.len())
        .map(|i| {
            let (mut plus, mut minus) = (theta.clone(), theta.clone());
            plus[i] += h;
            minus[i] -= h;
            (data_loss(&case.model, &plus, &xd, &td, nd, weight)
                - data_loss(&case.model, &minus, &xd, &td, nd, weight))
                / (2.0 * h)
        })
        .collect();
    for options in ["estimator=cge-central", "estimator=rge-central q=3"] {
        for space in ["output", "weights"] {
            // A constant black box contributes exactly zero.
            let mut trainer = case.trainer(&format!("{options} space={space}"));
            trainer.set_data_term(&xd, &td, nd, weight).unwrap();
            let m = *trainer.step_dataset(&case.x, case.n, |_| Ok(2.5)).unwrap();
            for (u, g) in case.update(&trainer).iter().zip(&fd) {
                assert!((u - g).abs() < 1e-8, "{options} {space}: {u} vs {g}");
            }
            let expected = data_loss(&case.model, &theta, &xd, &td, nd, weight);
            assert!((m.data_loss.unwrap() - expected).abs() < 1e-15);
        }
    }
    // Mixed: black-box estimate + data term, each checked above, add up.
    let mut mixed = case.trainer("estimator=cge-central mu=1e-5");
    mixed.set_data_term(&xd, &td, nd, weight).unwrap();
    mixed
        .step_dataset(&case.x, case.n, |y| Ok(source(y, &case.t).0))
        .unwrap();
    let exact = case.exact_gradient();
    for ((u, g), d) in case.update(&mixed).iter().zip(&exact).zip(&fd) {
        assert!((u - (g + d)).abs() < 1e-7, "{u} vs {}", g + d);
    }
    // Bad data terms are refused and change nothing.
    let mut trainer = case.trainer("");
    assert!(trainer.set_data_term(&xd[1..], &td, nd, 1.0).is_err());
    assert!(trainer.set_data_term(&xd, &td[1..], nd, 1.0).is_err());
    assert!(trainer.set_data_term(&xd, &td, nd, -1.0).is_err());
    assert!(trainer.set_data_term(&xd, &[f64::NAN; 4], nd, 1.0).is_err());
    let m = *trainer.step_dataset(&case.x, case.n, |_| Ok(1.0)).unwrap();
    assert_eq!(m.data_loss, None);
}
