//! Option `base_loss=on`: central estimators also evaluate θ, as one more
//! candidate whose loss is only reported.

use super::tests::mse;
use super::*;
use crate::model::Activation;

fn data() -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..24)
        .map(|i| ((i * 29 % 13) as f64 / 6.0) - 1.0)
        .collect();
    let y = x.chunks(2).map(|r| (1.5 * r[0]).sin() + r[1]).collect();
    (x, y)
}

/// A fixed rate unless `options` sets one: `lr=auto` evaluates θ itself
/// (and, after the first update, one point more).
fn trainer(options: &str) -> Trainer {
    let model = Model::mlp(&[2, 5, 1], Activation::Tanh, 11).unwrap();
    let rate = if options.contains("lr=") {
        ""
    } else {
        "lr=0.001"
    };
    Trainer::new(model, &format!("{rate} {options}")).unwrap()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

const CENTRAL: [&str; 4] = [
    "estimator=rge-central q=5",
    "estimator=rge-central q=4 directions=sphere optimizer=sgd lr=0.05",
    "estimator=cge-central",
    "estimator=cge-central cge_coords=6 optimizer=nesterov lr=0.01",
];

/// Weights and metrics of `iterations` steps, with the loss at θ_k (from
/// `evaluate`) before each.
fn run_steps(
    options: &str,
    iterations: usize,
    parallel: bool,
) -> (Vec<f64>, Vec<IterationMetrics>, Vec<f64>) {
    let (x, y) = data();
    let mut t = trainer(options);
    let (mut metrics, mut at_theta) = (Vec::new(), Vec::new());
    for _ in 0..iterations {
        at_theta.push(t.evaluate(|c| mse(c, &x, &y)).unwrap());
        let m = if parallel {
            *t.step_parallel(|c| mse(c, &x, &y)).unwrap()
        } else {
            *t.step(|c| mse(c, &x, &y)).unwrap()
        };
        metrics.push(m);
    }
    (t.params().to_vec(), metrics, at_theta)
}

/// The same through ask/tell, telling each batch of 3 in reverse order.
fn run_ask_tell(options: &str, iterations: usize) -> (Vec<f64>, Vec<IterationMetrics>) {
    let (x, y) = data();
    let mut t = trainer(options);
    let mut metrics = Vec::new();
    while metrics.len() < iterations {
        let ids = t.ask_batch(3).unwrap();
        let mut told = Vec::new();
        for &id in &ids {
            let mut out = vec![0.0; y.len()];
            t.forward_batch(id, &x, y.len(), &mut out).unwrap();
            let loss = out
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                / y.len() as f64;
            told.push((id, loss));
        }
        for (id, loss) in told.into_iter().rev() {
            if let Some(m) = t.tell(id, loss).unwrap() {
                metrics.push(m);
            }
        }
    }
    (t.params().to_vec(), metrics)
}

#[test]
fn the_estimate_is_bit_identical_with_and_without_the_base_loss() {
    for options in CENTRAL {
        let with = format!("{options} base_loss=on threads=2");
        let (w_off, m_off, _) = run_steps(options, 5, false);
        for parallel in [false, true] {
            let (w_on, m_on, at_theta) = run_steps(&with, 5, parallel);
            assert_eq!(bits(&w_on), bits(&w_off), "{options} parallel={parallel}");
            for k in 0..5 {
                let (on, off) = (m_on[k], m_off[k]);
                assert_eq!(on.grad_norm.to_bits(), off.grad_norm.to_bits(), "{options}");
                assert_eq!(on.mean_loss.to_bits(), off.mean_loss.to_bits(), "{options}");
                assert_eq!(off.base_loss, None);
                assert_eq!(on.base_loss, Some(at_theta[k]), "{options}: L(θ_k) exactly");
                assert_eq!(on.loss(), at_theta[k], "the reported loss is the base loss");
                assert_eq!(off.loss(), off.mean_loss);
                assert_eq!(on.evaluations, off.evaluations + 1, "one extra candidate");
                assert_eq!(on.dropped, 0);
            }
        }
        let (w_tell, m_tell) = run_ask_tell(&with, 5);
        assert_eq!(bits(&w_tell), bits(&w_off), "{options} ask/tell");
        let (_, m_steps, _) = run_steps(&with, 5, false);
        assert_eq!(
            m_tell.iter().map(|m| m.base_loss).collect::<Vec<_>>(),
            m_steps.iter().map(|m| m.base_loss).collect::<Vec<_>>(),
            "{options}: ask/tell reports the same base losses"
        );
    }
}

#[test]
fn the_extra_candidate_is_theta_and_is_counted() {
    for options in CENTRAL {
        let off = trainer(options).candidates_per_iteration();
        let mut t = trainer(&format!("{options} base_loss=on"));
        assert_eq!(t.candidates_per_iteration(), off + 1, "{options}");
        let theta = t.params().to_vec();
        let ids = t.ask_batch(usize::MAX).unwrap();
        assert_eq!(ids.len(), off + 1);
        assert_eq!(t.candidates_per_iteration(), off + 1, "while open");
        let last = *ids.last().unwrap();
        assert_eq!(last.index(), off, "the base point comes after every pair");
        let mut p = vec![0.0; theta.len()];
        t.candidate_params(last, &mut p).unwrap();
        assert_eq!(bits(&p), bits(&theta));
        t.candidate_params(ids[0], &mut p).unwrap();
        assert_ne!(bits(&p), bits(&theta), "the first candidate is perturbed");
        t.candidate_params(last, &mut p).unwrap();
        assert_eq!(bits(&p), bits(&theta), "a reused slot holds θ again");
    }
}

#[test]
fn forward_estimators_and_output_space_are_unchanged() {
    let (x, y) = data();
    for options in ["estimator=rge-forward q=4", "estimator=cge-forward"] {
        let (w_off, m_off, _) = run_steps(options, 3, false);
        let (w_on, m_on, _) = run_steps(&format!("{options} base_loss=on"), 3, false);
        assert_eq!(bits(&w_on), bits(&w_off), "{options}");
        assert_eq!(m_on[2].evaluations, m_off[2].evaluations, "{options}");
        assert_eq!(m_on[2].base_loss, m_off[2].base_loss, "{options}");
    }
    let mut t = trainer("estimator=cge-central space=output base_loss=on");
    let m = *t
        .step_output_space(&x, y.len(), |out| {
            Ok(out.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum())
        })
        .unwrap();
    assert_eq!(
        (m.evaluations, m.base_loss),
        (2 * y.len(), None),
        "space=output adds no candidate"
    );
}

/// Candidates `nan_at` of every iteration return NaN; odd iterations run
/// on threads.
fn steps_with_non_finite(options: &str, nan_at: impl Fn(usize) -> bool + Sync) -> Trainer {
    let (x, y) = data();
    let mut t = trainer(&format!("{options} threads=2"));
    let loss = |c: &mut Candidate| {
        if nan_at(c.index()) {
            Ok(f64::NAN)
        } else {
            mse(c, &x, &y)
        }
    };
    for k in 0..4 {
        if k % 2 == 0 {
            t.step(loss).unwrap();
        } else {
            t.step_parallel(loss).unwrap();
        }
    }
    t
}

#[test]
fn a_non_finite_base_loss_is_reported_and_never_drops_or_aborts_the_iteration() {
    let options = "estimator=rge-central q=3";
    let reference = steps_with_non_finite(options, |_| false);
    for policy in ["skip", "error"] {
        let with = format!("{options} base_loss=on nonfinite={policy}");
        let t = steps_with_non_finite(&with, |c| c == 6);
        assert_eq!(bits(t.params()), bits(reference.params()), "{policy}");
        let m = t.last_metrics().unwrap();
        assert!(m.base_loss.unwrap().is_nan(), "{policy}");
        assert!(
            m.loss().is_nan(),
            "zoo_step's loss is the base loss, as it came"
        );
        assert_eq!((m.dropped, m.evaluations), (0, 7), "{policy}");
        assert_eq!(
            m.mean_loss,
            reference.last_metrics().unwrap().mean_loss,
            "{policy}"
        );

        // The same through ask/tell: the NaN tell is taken, the update happens.
        let mut t = trainer(&with);
        let ids = t.ask_batch(7).unwrap();
        let (x, y) = data();
        let mut done = None;
        for &id in &ids {
            let loss = if id.index() == 6 {
                f64::INFINITY
            } else {
                let mut out = vec![0.0; y.len()];
                t.forward_batch(id, &x, y.len(), &mut out).unwrap();
                out.iter()
                    .zip(&y)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
                    / y.len() as f64
            };
            done = t.tell(id, loss).unwrap();
        }
        assert_eq!(done.unwrap().base_loss, Some(f64::INFINITY), "{policy}");
        assert_eq!(t.iteration(), 1);
    }
    // A non-finite perturbation loss still follows the policy.
    let (x, y) = data();
    let mut t = trainer(&format!("{options} base_loss=on nonfinite=error"));
    let err = t
        .step(|c| {
            if c.index() == 2 {
                Ok(f64::NAN)
            } else {
                mse(c, &x, &y)
            }
        })
        .unwrap_err();
    assert!(
        matches!(err, ZooError::NonFiniteLoss { candidate: 2, .. }),
        "{err}"
    );
    let t = steps_with_non_finite(&format!("{options} base_loss=on"), |c| c == 2);
    assert_eq!(t.last_metrics().unwrap().dropped, 2);
    assert!(t.last_metrics().unwrap().base_loss.unwrap().is_finite());
}

#[test]
fn the_base_loss_reaches_the_metrics_file_and_the_progress_line() {
    let (_, m, _) = run_steps("estimator=cge-central base_loss=on", 1, false);
    let line = metrics_log::json_line(&m[0]);
    let base = m[0].base_loss.unwrap();
    assert!(line.contains(&format!("\"base_loss\":{base:?},")), "{line}");
    let progress = metrics_log::progress_line(&m[0]);
    assert!(
        progress.contains(&format!("loss {base:.4e} (base)")),
        "{progress}"
    );
    let (_, m, _) = run_steps("estimator=cge-central", 1, false);
    assert!(metrics_log::json_line(&m[0]).contains("\"base_loss\":null"));
    let progress = metrics_log::progress_line(&m[0]);
    assert!(
        progress.contains(&format!("loss {:.4e} (mean)", m[0].mean_loss)),
        "{progress}"
    );
    let nan = IterationMetrics {
        base_loss: Some(f64::NAN),
        ..m[0]
    };
    assert!(metrics_log::json_line(&nan).contains("\"base_loss\":null"));
    assert!(metrics_log::progress_line(&nan).contains("loss NaN (base)"));
}

#[test]
fn checkpoints_carry_the_option() {
    let (x, y) = data();
    let mut t = trainer("estimator=rge-central q=3 base_loss=on");
    t.step(|c| mse(c, &x, &y)).unwrap();
    let bytes = t.checkpoint_bytes().unwrap();
    let mut loaded = Trainer::from_checkpoint_bytes(&bytes, "memory").unwrap();
    assert_eq!(loaded.get("base_loss").unwrap(), "on");
    assert_eq!(loaded.candidates_per_iteration(), 7);
    let a = *t.step(|c| mse(c, &x, &y)).unwrap();
    let b = *loaded.step(|c| mse(c, &x, &y)).unwrap();
    assert_eq!(a.base_loss, b.base_loss);
    assert_eq!(bits(t.params()), bits(loaded.params()));
}
