use super::*;
use crate::model::{Activation, Workspace};
use crate::prune::{Method, Scope};

/// A fixed regression problem, differentiable so exact GraSP exists.
fn problem() -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..48)
        .map(|i| ((i * 29 % 19) as f64 / 9.0) - 1.0)
        .collect();
    let y = x
        .chunks(3)
        .map(|r| (r[0] * 1.5).sin() + r[1] * r[2])
        .collect();
    (x, y)
}

fn mse_of(network: &crate::model::Network, params: &[f64], x: &[f64], y: &[f64]) -> f64 {
    let mut out = vec![0.0; y.len()];
    network
        .forward_batch(params, x, y.len(), &mut out, &mut Workspace::new())
        .unwrap();
    out.iter()
        .zip(y)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / y.len() as f64
}

fn loss(c: &mut Candidate, x: &[f64], y: &[f64]) -> LossResult {
    Ok(mse_of(c.network(), c.params(), x, y))
}

/// Exact gradient of the MSE by the network's own backprop.
fn exact_gradient(model: &Model, params: &[f64], x: &[f64], y: &[f64]) -> Vec<f64> {
    let mut m = model.clone();
    m.set_params(params).unwrap();
    let n = y.len();
    let mut out = vec![0.0; n];
    m.forward_batch(x, n, &mut out, &mut Workspace::new())
        .unwrap();
    let gy: Vec<f64> = out
        .iter()
        .zip(y)
        .map(|(a, b)| 2.0 * (a - b) / n as f64)
        .collect();
    let mut g = vec![0.0; m.num_params()];
    m.vjp(x, n, &gy, &mut g, None, &mut Workspace::new())
        .unwrap();
    g
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    for (rank, &i) in order.iter().enumerate() {
        r[i] = rank as f64;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let mean = (n - 1.0) / 2.0;
    let cov: f64 = ra
        .iter()
        .zip(&rb)
        .map(|(x, y)| (x - mean) * (y - mean))
        .sum();
    let var: f64 = ra.iter().map(|x| (x - mean) * (x - mean)).sum();
    cov / var
}

/// ZO-GraSP scores against exact GraSP scores −θ ⊙ Hg, with Hg from a
/// central difference of exact gradients along g.
fn grasp_rank_correlation(options: &str) -> (f64, Trainer) {
    let (x, y) = problem();
    let model = Model::mlp(&[3, 6, 1], Activation::Tanh, 4).unwrap();
    let theta = model.params().to_vec();
    let g = exact_gradient(&model, &theta, &x, &y);
    let eps = 1e-4;
    let shifted = |s: f64| -> Vec<f64> {
        theta
            .iter()
            .zip(&g)
            .map(|(t, gi)| t + s * eps * gi)
            .collect()
    };
    let (gp, gm) = (
        exact_gradient(&model, &shifted(1.0), &x, &y),
        exact_gradient(&model, &shifted(-1.0), &x, &y),
    );
    let exact: Vec<f64> = (0..theta.len())
        .map(|i| -theta[i] * (gp[i] - gm[i]) / (2.0 * eps))
        .collect();

    let mut trainer = Trainer::new(model, options).unwrap();
    trainer.begin_zo_grasp(0.5, Scope::Global, 1e-2).unwrap();
    for _ in 0..2 {
        let m = *trainer.step_parallel(|c| loss(c, &x, &y)).unwrap();
        assert_eq!(m.lr, 0.0, "probe iterations apply no update");
    }
    assert!(!trainer.zo_grasp_in_progress());
    assert_eq!(
        trainer
            .params()
            .iter()
            .zip(&theta)
            .filter(|(a, b)| a != b)
            .count(),
        trainer.model().mask().iter().filter(|m| !**m).count(),
        "θ restored, then only pruned weights zeroed"
    );
    let weights: Vec<usize> = trainer
        .model()
        .network()
        .layers()
        .iter()
        .flat_map(|l| l.weight_offset..l.bias_offset())
        .collect();
    let zo: Vec<f64> = weights
        .iter()
        .map(|&i| trainer.zo_grasp_scores().unwrap()[i])
        .collect();
    let ex: Vec<f64> = weights.iter().map(|&i| exact[i]).collect();
    (spearman(&zo, &ex), trainer)
}

#[test]
fn zo_grasp_scores_agree_with_exact_grasp() {
    let (rho_cge, trainer) = grasp_rank_correlation("estimator=cge-central mu=1e-4 threads=2");
    let (rho_rge, _) = grasp_rank_correlation("estimator=rge-central q=256 mu=1e-4 seed=3");
    println!(
        "Spearman rank correlation with exact GraSP: CGE {rho_cge:.3}, RGE q=256 {rho_rge:.3}"
    );
    assert!(
        rho_cge > 0.95,
        "CGE-based ZO-GraSP rank correlation {rho_cge}"
    );
    assert!(
        rho_rge > 0.3,
        "RGE-based ZO-GraSP rank correlation {rho_rge}"
    );
    assert_eq!(
        trainer.iteration(),
        0,
        "probes do not advance the iteration counter"
    );
    assert!(trainer.model().layer_sparsity().iter().all(|s| *s > 0.0));
}

#[test]
fn zo_grasp_through_ask_tell_prunes_like_step() {
    let (x, y) = problem();
    let model = Model::mlp(&[3, 6, 1], Activation::Tanh, 4).unwrap();
    let mut stepped = Trainer::new(model.clone(), "estimator=rge-central q=8").unwrap();
    let mut asked = Trainer::new(model, "estimator=rge-central q=8").unwrap();
    for t in [&mut stepped, &mut asked] {
        t.begin_zo_grasp(0.6, Scope::LayerWise, 1e-2).unwrap();
        assert!(
            t.set("lr", "0.1").is_err(),
            "options are frozen during the probe"
        );
    }
    for _ in 0..2 {
        stepped.step(|c| loss(c, &x, &y)).unwrap();
    }
    let network = asked.model().network().clone();
    let mut params = vec![0.0; asked.model().num_params()];
    let mut done = 0;
    while done < 2 {
        for id in asked.ask_batch(5).unwrap() {
            asked.candidate_params(id, &mut params).unwrap();
            if asked
                .tell(id, mse_of(&network, &params, &x, &y))
                .unwrap()
                .is_some()
            {
                done += 1;
            }
        }
    }
    assert_eq!(stepped.model().mask(), asked.model().mask());
    assert_eq!(stepped.params(), asked.params());
    assert_eq!(
        stepped.model().layer_sparsity(),
        vec![11.0 / 18.0, 4.0 / 6.0],
        "round(0.6 x 18) and round(0.6 x 6) pruned"
    );
}

#[test]
fn pruned_weights_stay_zero_and_costs_follow_the_active_count() {
    let (x, y) = problem();
    let mut model = Model::mlp(&[3, 8, 1], Activation::Tanh, 2).unwrap();
    model
        .prune(Method::Magnitude(Scope::LayerWise), 0.75)
        .unwrap();
    let masked: Vec<usize> = (0..model.num_params())
        .filter(|&i| !model.mask()[i])
        .collect();
    let active = model.num_active();
    for (options, candidates) in [
        ("estimator=cge-forward lr=0.05", active + 1),
        ("estimator=cge-central lr=0.05", 2 * active),
        ("estimator=rge-central q=5 lr=0.05", 10),
    ] {
        let mut t = Trainer::new(model.clone(), options).unwrap();
        for _ in 0..30 {
            let m = t.step_parallel(|c| loss(c, &x, &y)).unwrap();
            assert_eq!(m.evaluations, candidates, "{options}");
        }
        assert!(
            masked.iter().all(|&i| t.params()[i] == 0.0),
            "{options}: a pruned weight moved"
        );
    }
    let mut t = Trainer::new(model, "estimator=cge-central lr=0.01").unwrap();
    t.prune(Method::Random { seed: 1 }, 0.9).unwrap();
    assert_eq!(t.candidates_per_iteration(), 2 * t.model().num_active());
    assert!(t.set_mask(&vec![false; t.model().num_params()]).is_err());
}

#[test]
fn sparse_gradient_regime_updates_a_redrawn_subset() {
    let (x, y) = problem();
    let model = Model::mlp(&[3, 10, 1], Activation::Tanh, 2).unwrap();
    let options = "estimator=cge-central gradient_density=0.25 redraw_every=3 lr=0.05 seed=5";
    let mut t = Trainer::new(model.clone(), options).unwrap();
    // Per layer 30 - round(0.75 x 30) = 7 and 10 - round(0.75 x 10) = 2 weights, plus 11 biases.
    assert_eq!(t.candidates_per_iteration(), 2 * (7 + 2 + 11));
    let mut moved_sets = Vec::new();
    for _ in 0..6 {
        let before = t.params().to_vec();
        t.step(|c| loss(c, &x, &y)).unwrap();
        let moved: Vec<usize> = (0..before.len())
            .filter(|&i| t.params()[i] != before[i])
            .collect();
        assert!(moved.len() <= 20);
        moved_sets.push(moved);
    }
    let union = |a: &[usize], b: &[usize]| {
        a.iter()
            .chain(b)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    assert!(
        union(&moved_sets[0], &moved_sets[1]) <= 20,
        "same subset within a redraw period"
    );
    assert!(
        union(&moved_sets[0], &moved_sets[3]) > 20,
        "a new subset after redraw_every iterations"
    );
    // Bit-identical whatever the thread count.
    let mut a = Trainer::new(model.clone(), &format!("{options} threads=1")).unwrap();
    let mut b = Trainer::new(model, &format!("{options} threads=3")).unwrap();
    for _ in 0..5 {
        a.step_parallel(|c| loss(c, &x, &y)).unwrap();
        b.step_parallel(|c| loss(c, &x, &y)).unwrap();
    }
    assert_eq!(a.params(), b.params());
}

#[test]
fn feature_reuse_matches_full_forward_and_stays_bit_reproducible() {
    let (x, y) = problem();
    let model = Model::mlp(&[3, 12, 8, 1], Activation::Tanh, 3).unwrap();
    let run = |options: &str, threads: usize| {
        let mut t = Trainer::new(model.clone(), &format!("{options} threads={threads}")).unwrap();
        for _ in 0..5 {
            t.step_parallel(|c| {
                let mut out = vec![0.0; y.len()];
                c.forward_batch(&x, y.len(), &mut out).unwrap();
                Ok(out
                    .iter()
                    .zip(&y)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    / y.len() as f64)
            })
            .unwrap();
        }
        t.params().to_vec()
    };
    let options = "estimator=cge-central mu=1e-4 optimizer=sgd lr=0.05";
    let full = run(options, 1);
    let reused = run(&format!("{options} feature_reuse=on"), 1);
    let worst = full
        .iter()
        .zip(&reused)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-8, "feature reuse changed the weights by {worst}");
    assert_ne!(
        full, reused,
        "the reuse path really ran (it rounds differently)"
    );
    assert_eq!(
        reused,
        run(&format!("{options} feature_reuse=on"), 3),
        "bit-identical across threads"
    );

    // Through ask/tell's forward_batch too.
    let mut t = Trainer::new(model.clone(), &format!("{options} feature_reuse=on")).unwrap();
    let mut done = 0;
    while done < 5 {
        for id in t.ask_batch(7).unwrap() {
            let mut out = vec![0.0; y.len()];
            t.forward_batch(id, &x, y.len(), &mut out).unwrap();
            let loss = out
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                / y.len() as f64;
            if t.tell(id, loss).unwrap().is_some() {
                done += 1;
            }
        }
    }
    assert_eq!(t.params(), &reused[..]);
}

#[test]
fn polynomial_models_train_with_thresholding_and_feature_reuse() {
    // Recover y = 2·x0 − x0·x1 from data with a degree-2 library.
    let x: Vec<f64> = (0..24)
        .map(|i| (i as f64 * if i % 2 == 0 { 0.618_034 } else { 0.414_214 }).fract() * 2.0 - 1.0)
        .collect();
    let target: Vec<f64> = x.chunks(2).map(|r| 2.0 * r[0] - r[0] * r[1]).collect();
    let n = target.len();
    let loss = |c: &mut Candidate| {
        let mut y = vec![0.0; n];
        c.forward_batch(&x, n, &mut y).unwrap();
        Ok(y.iter()
            .zip(&target)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / n as f64)
    };
    let run = |reuse: &str| {
        let model = Model::polynomial(2, 2, 1, 3).unwrap();
        let options = format!("estimator=cge-central optimizer=adam lr=0.05 feature_reuse={reuse}");
        let mut t = Trainer::new(model, &options).unwrap();
        for round in 0..3 {
            for _ in 0..300 {
                t.step(loss).unwrap();
            }
            if round < 2 {
                t.threshold(0.05, true).unwrap();
            }
        }
        t
    };
    let (full, reused) = (run("off"), run("on"));
    for (a, b) in full.params().iter().zip(reused.params()) {
        assert!((a - b).abs() < 1e-8, "feature reuse drifted: {a} vs {b}");
    }
    // Library order x0, x1, x0², x0·x1, x1², then the bias.
    let kept: Vec<bool> = full.model().mask().to_vec();
    assert_eq!(
        kept,
        [true, false, false, true, false, false],
        "{:?}",
        full.params()
    );
    assert!(
        (full.params()[0] - 2.0).abs() < 1e-3 && (full.params()[3] + 1.0).abs() < 1e-3,
        "{:?}",
        full.params()
    );
}
