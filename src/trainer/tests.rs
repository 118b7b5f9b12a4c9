use super::*;
use crate::model::Activation;

/// A fixed regression problem: fit y = sin(2x₀) − x₁ on 16 points.
fn data() -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..32)
        .map(|i| ((i * 37 % 17) as f64 / 8.0) - 1.0)
        .collect();
    let y = x.chunks(2).map(|r| (2.0 * r[0]).sin() - r[1]).collect();
    (x, y)
}

/// Mean squared error of the candidate's outputs on rows `x` against `y`.
pub(super) fn mse(c: &mut Candidate, x: &[f64], y: &[f64]) -> LossResult {
    let mut out = vec![0.0; y.len()];
    c.forward_batch(x, y.len(), &mut out)
        .map_err(|e| LossError::new(1, e.to_string()))?;
    Ok(out
        .iter()
        .zip(y)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / y.len() as f64)
}

fn trainer(options: &str) -> Trainer {
    let model = Model::mlp(&[2, 6, 1], Activation::Tanh, 3).unwrap();
    Trainer::new(model, options).unwrap()
}

const ESTIMATORS: [&str; 6] = [
    "estimator=rge-central q=6 directions=sphere",
    // The reference point moves coordinates outside the redrawn subset.
    "estimator=rge-central q=4 lr=auto gradient_density=0.5",
    "estimator=rge-forward q=5",
    "estimator=cge-central",
    "estimator=cge-forward cge_coords=7",
    "estimator=cge-central cge_coords=9 optimizer=nesterov lr=0.01",
];

fn weights_after_steps(options: &str, iterations: usize) -> Vec<f64> {
    let (x, y) = data();
    let mut t = trainer(options);
    for _ in 0..iterations {
        t.step_parallel(|c| mse(c, &x, &y)).unwrap();
    }
    t.params().to_vec()
}

/// Runs iterations through ask/tell, asking `batch` at a time and telling
/// each batch in reverse order.
fn weights_after_ask_tell(options: &str, iterations: usize, batch: usize) -> Vec<f64> {
    let (x, y) = data();
    let mut t = trainer(options);
    let model = t.model().clone();
    let mut params = vec![0.0; model.num_params()];
    let mut ws = crate::model::Workspace::new();
    let mut done = 0;
    while done < iterations {
        let ids = t.ask_batch(batch).unwrap();
        let mut losses = Vec::new();
        for &id in &ids {
            // Half the candidates through forward, half through their parameters.
            let loss = if id.index() % 2 == 0 {
                let mut out = vec![0.0; y.len()];
                t.forward_batch(id, &x, y.len(), &mut out).unwrap();
                out.iter()
                    .zip(&y)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    / y.len() as f64
            } else {
                t.candidate_params(id, &mut params).unwrap();
                let mut out = vec![0.0; y.len()];
                model
                    .network()
                    .forward_batch(&params, &x, y.len(), &mut out, &mut ws)
                    .unwrap();
                out.iter()
                    .zip(&y)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    / y.len() as f64
            };
            losses.push((id, loss));
        }
        for (id, loss) in losses.into_iter().rev() {
            if t.tell(id, loss).unwrap().is_some() {
                done += 1;
            }
        }
    }
    t.params().to_vec()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn weights_are_bit_identical_across_threads_and_ask_tell() {
    for options in ESTIMATORS {
        let reference = bits(&weights_after_steps(&format!("{options} threads=1"), 6));
        for threads in [2, 4] {
            let w = weights_after_steps(&format!("{options} threads={threads}"), 6);
            assert_eq!(bits(&w), reference, "{options} threads={threads}");
        }
        for batch in [1, 3, 7, 1000] {
            let w = weights_after_ask_tell(options, 6, batch);
            assert_eq!(bits(&w), reference, "{options} ask_batch({batch})");
        }
    }
}

#[test]
fn sequential_step_equals_parallel_step() {
    let (x, y) = data();
    let mut a = trainer("threads=3");
    let mut b = trainer("threads=3");
    for _ in 0..4 {
        a.step(|c| mse(c, &x, &y)).unwrap();
        b.step_parallel(|c| mse(c, &x, &y)).unwrap();
    }
    assert_eq!(bits(a.params()), bits(b.params()));
}

#[test]
fn training_reduces_the_loss_and_reports_metrics() {
    let (x, y) = data();
    let mut t = trainer("estimator=cge-forward optimizer=adam lr=0.02");
    let first = *t.step(|c| mse(c, &x, &y)).unwrap();
    assert_eq!(
        (first.iteration, t.iteration()),
        (1, 1),
        "one name, one count"
    );
    assert_eq!(first.evaluations, t.model().num_active() + 1);
    assert_eq!(first.dropped, 0);
    assert!(first.grad_norm > 0.0);
    assert_eq!(first.lr, 0.02);
    let initial = first.base_loss.unwrap();
    for _ in 0..300 {
        t.step(|c| mse(c, &x, &y)).unwrap();
    }
    let last = t.last_metrics().unwrap();
    assert_eq!((last.iteration, t.iteration()), (301, 301));
    assert!(
        last.loss() < 0.2 * initial,
        "loss {} from {initial}",
        last.loss()
    );
}

#[test]
fn a_failing_loss_function_changes_nothing() {
    let (x, y) = data();
    let options = "estimator=rge-forward q=4 optimizer=adam lr=0.05 threads=2";
    let mut clean = trainer(options);
    let mut failing = trainer(options);
    for t in [&mut clean, &mut failing] {
        t.step(|c| mse(c, &x, &y)).unwrap();
    }
    let before = failing.params().to_vec();
    let err = failing
        .step_parallel(|c| {
            if c.index() == 3 {
                Err(LossError::new(42, "solver diverged"))
            } else {
                mse(c, &x, &y)
            }
        })
        .unwrap_err();
    assert_eq!(
        err,
        ZooError::CallbackFailed {
            candidate: 3,
            code: 42,
            message: "solver diverged".into()
        }
    );
    assert_eq!(failing.params(), &before[..]);
    assert_eq!(failing.iteration(), 1);
    // Optimizer state survived too: the next steps match an untouched trainer.
    for t in [&mut clean, &mut failing] {
        t.step(|c| mse(c, &x, &y)).unwrap();
        t.step(|c| mse(c, &x, &y)).unwrap();
    }
    assert_eq!(bits(clean.params()), bits(failing.params()));
}

#[test]
fn non_finite_losses_are_skipped_or_fail() {
    let (x, y) = data();
    let mut t = trainer("estimator=rge-central q=4");
    let m = t
        .step(|c| {
            if c.index() == 5 {
                Ok(f64::NAN)
            } else {
                mse(c, &x, &y)
            }
        })
        .unwrap();
    assert_eq!(m.dropped, 2, "the NaN candidate and its antithetic partner");

    let mut t = trainer("estimator=rge-forward q=4");
    let before = t.params().to_vec();
    let err = t
        .step(|c| {
            if c.index() == 0 {
                Ok(f64::INFINITY)
            } else {
                mse(c, &x, &y)
            }
        })
        .unwrap_err();
    assert!(
        matches!(err, ZooError::IterationFailed { iteration: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("base point"));
    let err = t
        .step(|c| {
            if c.index() > 0 {
                Ok(f64::NAN)
            } else {
                mse(c, &x, &y)
            }
        })
        .unwrap_err();
    assert!(err.to_string().contains("all 4 perturbations"), "{err}");
    assert_eq!((t.params(), t.iteration()), (&before[..], 0));

    let mut t = trainer("estimator=cge-central nonfinite=error");
    let err = t
        .step(|c| {
            if c.index() == 2 {
                Ok(f64::NEG_INFINITY)
            } else {
                mse(c, &x, &y)
            }
        })
        .unwrap_err();
    assert_eq!(
        err,
        ZooError::NonFiniteLoss {
            candidate: 2,
            value: f64::NEG_INFINITY
        }
    );
    assert_eq!((t.params(), t.iteration()), (&before[..], 0));
}

#[test]
fn bad_ids_are_rejected_and_change_nothing() {
    let mut t = trainer("estimator=rge-forward q=2");
    let before = t.params().to_vec();
    assert!(matches!(
        t.tell(CandidateId::from_raw(1 << 32), 1.0),
        Err(ZooError::BadCandidate { .. })
    ));
    let ids = t.ask_batch(10).unwrap();
    assert_eq!(ids.len(), 3);
    assert_eq!(t.ask().unwrap(), None, "all handed out");
    t.tell(ids[1], 1.0).unwrap();
    let repeated = t.tell(ids[1], 2.0).unwrap_err().to_string();
    assert!(repeated.contains("already told"), "{repeated}");
    let unknown = CandidateId::new(ids[0].serial(), 17);
    assert!(t
        .tell(unknown, 1.0)
        .unwrap_err()
        .to_string()
        .contains("unknown"));
    let mut y = [0.0];
    assert!(matches!(
        t.forward(ids[0], &[0.1, 0.2, 0.3], &mut y),
        Err(ZooError::BadSize { .. })
    ));
    let busy = t.set("lr", "0.5").unwrap_err().to_string();
    assert!(busy.contains("2 of 3 losses outstanding"), "{busy}");
    assert!(t.step(|_| Ok(0.0)).is_err());
    assert_eq!(t.get("lr").unwrap(), "auto");

    t.abort_iteration().unwrap();
    let stale = t.tell(ids[0], 1.0).unwrap_err().to_string();
    assert!(stale.contains("no iteration is open"), "{stale}");
    let fresh = t.ask().unwrap().unwrap();
    assert!(t
        .tell(ids[0], 1.0)
        .unwrap_err()
        .to_string()
        .contains("stale"));
    assert_eq!(fresh.index(), 0);
    assert_eq!((t.params(), t.iteration()), (&before[..], 0));
}

#[test]
fn non_finite_tell_under_error_policy_aborts_the_iteration() {
    let mut t = trainer("estimator=rge-forward q=2 nonfinite=error");
    let ids = t.ask_batch(3).unwrap();
    t.tell(ids[0], 1.0).unwrap();
    assert!(matches!(
        t.tell(ids[1], f64::NAN),
        Err(ZooError::NonFiniteLoss { candidate: 1, .. })
    ));
    assert!(t.tell(ids[2], 1.0).is_err(), "the iteration was aborted");
    assert_eq!(
        t.ask().unwrap().unwrap().index(),
        0,
        "ask restarts the iteration"
    );
    assert_eq!(t.iteration(), 0);
}

#[test]
fn candidate_params_are_the_planned_perturbation() {
    let mut t = trainer("estimator=cge-central mu=0.25");
    let theta = t.params().to_vec();
    let ids = t.ask_batch(4).unwrap();
    let mut p = vec![0.0; theta.len()];
    for (id, (coordinate, sign)) in ids.iter().zip([(0, 1.0), (0, -1.0), (1, 1.0), (1, -1.0)]) {
        t.candidate_params(*id, &mut p).unwrap();
        for i in 0..theta.len() {
            let want = if i == coordinate {
                theta[i] + sign * 0.25
            } else {
                theta[i]
            };
            assert_eq!(p[i], want, "candidate {} coordinate {i}", id.index());
        }
    }
    assert!(matches!(
        t.candidate_params(ids[0], &mut p[1..]),
        Err(ZooError::BadSize { .. })
    ));
}

#[test]
fn options_can_change_between_iterations() {
    let (x, y) = data();
    let mut t = trainer("optimizer=momentum");
    t.step(|c| mse(c, &x, &y)).unwrap();
    t.set("threads", "2").unwrap();
    assert_eq!(t.num_threads(), 2);
    t.apply("estimator=cge-forward lr=0.01").unwrap();
    assert_eq!(t.candidates_per_iteration(), t.model().num_active() + 1);
    assert!(t.apply("lr=0.1 q=-1").is_err());
    assert_eq!(t.get("lr").unwrap(), "0.01");
    let m = t.step_parallel(|c| mse(c, &x, &y)).unwrap();
    assert_eq!(m.lr, 0.01);
}

#[test]
fn a_model_without_active_parameters_is_rejected() {
    let mut model = Model::mlp(&[1, 1], Activation::Identity, 0).unwrap();
    model.set_mask(&[false, false]).unwrap();
    let err = Trainer::new(model, "").err().unwrap().to_string();
    assert!(err.contains("no active parameters"), "{err}");
}

#[test]
fn evaluate_runs_the_loss_at_theta_and_changes_nothing() {
    let (x, y) = data();
    let mut t = trainer("estimator=rge-forward q=3");
    let before = t.params().to_vec();
    let exact = t.evaluate(|c| {
        assert_eq!(c.params(), &before[..]);
        mse(c, &x, &y)
    });
    let m = *t.step(|c| mse(c, &x, &y)).unwrap();
    assert_eq!(
        exact.unwrap(),
        m.base_loss.unwrap(),
        "evaluate sees θ exactly as the base candidate does"
    );
    let after = t.params().to_vec();
    assert!(t.evaluate(|_| Err(LossError::new(7, "no"))).is_err());
    assert_eq!((t.params(), t.iteration()), (&after[..], 1));
}
