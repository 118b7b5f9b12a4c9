//! Rank shaping: the centred ranks themselves, and the estimate's
//! invariance under monotone transforms of the loss.

use super::*;

fn config(kind: EstimatorKind, shaping: Shaping) -> EstimatorConfig {
    EstimatorConfig {
        kind,
        q: 8,
        directions: DirectionKind::Gaussian,
        mu: 0.01,
        cge_coords: 0,
        base_loss: false,
        shaping,
    }
}

/// The estimate of `config` at θ for loss `f`, over every coordinate.
fn estimate(config: EstimatorConfig, theta: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let active: Vec<usize> = (0..theta.len()).collect();
    let mut plan = Plan::new(config, 3, 5, theta.len());
    let mut direction = vec![0.0; theta.len()];
    let losses: Vec<f64> = (0..plan.num_candidates())
        .map(|c| {
            let mut point = theta.to_vec();
            plan.apply(c, &active, &mut point, &mut direction, &mut None);
            f(&point)
        })
        .collect();
    let mut grad = vec![0.0; theta.len()];
    plan.assemble(&losses, &mut grad, None).unwrap();
    grad
}

fn quadratic(x: &[f64]) -> f64 {
    x.iter()
        .enumerate()
        .map(|(i, v)| (i + 1) as f64 * (v - 0.3).powi(2))
        .sum()
}

#[test]
fn centred_ranks_share_ties_and_keep_non_finite_losses() {
    let losses = [3.0, f64::NAN, 1.0, 3.0, 2.0, f64::INFINITY];
    let (mut shaped, mut order) = (Vec::new(), Vec::new());
    centred_ranks(&losses, &mut shaped, &mut order);
    // Four finite losses: ranks 0, 1 and the tie 2 and 3 (mean 2.5), over 3.
    let expected = [
        2.5 / 3.0 - 0.5,
        f64::NAN,
        -0.5,
        2.5 / 3.0 - 0.5,
        1.0 / 3.0 - 0.5,
    ];
    for (i, want) in expected.iter().enumerate() {
        if want.is_nan() {
            assert!(shaped[i].is_nan());
        } else {
            assert!(
                (shaped[i] - want).abs() < 1e-15,
                "rank {i}: {} vs {want}",
                shaped[i]
            );
        }
    }
    assert_eq!(shaped[5], f64::INFINITY);
    centred_ranks(&[7.0], &mut shaped, &mut order);
    assert_eq!(shaped, [0.0]);
}

#[test]
fn ranked_estimate_is_invariant_under_monotone_transforms_of_the_loss() {
    let theta: Vec<f64> = (0..6).map(|i| (i as f64 * 0.9).sin()).collect();
    for kind in [
        EstimatorKind::RgeCentral,
        EstimatorKind::RgeForward,
        EstimatorKind::CgeCentral,
        EstimatorKind::CgeForward,
    ] {
        let ranked = config(kind, Shaping::Rank);
        let plain = estimate(ranked, &theta, quadratic);
        let transformed = estimate(ranked, &theta, |x| (quadratic(x) * 3.0).exp() + 1e6);
        assert_eq!(plain, transformed, "{kind:?}");
        let raw = estimate(config(kind, Shaping::None), &theta, quadratic);
        assert_ne!(plain, raw, "{kind:?}: shaping changes the estimate");
    }
}

#[test]
fn ranked_estimate_descends_and_ignores_an_outlier() {
    // The exact gradient of the quadratic is an independent reference: the
    // ranked estimate must point downhill, and one huge loss changes it no
    // more than any other largest loss would.
    let theta: Vec<f64> = (0..6).map(|i| (i as f64 * 0.9).sin()).collect();
    let exact: Vec<f64> = theta
        .iter()
        .enumerate()
        .map(|(i, v)| 2.0 * (i + 1) as f64 * (v - 0.3))
        .collect();
    let ranked = config(EstimatorKind::CgeCentral, Shaping::Rank);
    let g = estimate(ranked, &theta, quadratic);
    let dot: f64 = g.iter().zip(&exact).map(|(a, b)| a * b).sum();
    assert!(dot > 0.0, "the ranked estimate points uphill: {g:?}");
    let worst = |x: &[f64]| {
        let l = quadratic(x);
        if (x[5] - theta[5] - 0.01).abs() < 1e-12 {
            1e300
        } else {
            l
        }
    };
    let with_outlier = estimate(ranked, &theta, worst);
    let bound = 1.0 / (2.0 * ranked.mu);
    assert!(
        with_outlier.iter().all(|v| v.abs() <= bound),
        "{with_outlier:?}"
    );
    // Without shaping the outlier dominates the estimate.
    let raw = estimate(
        config(EstimatorKind::CgeCentral, Shaping::None),
        &theta,
        worst,
    );
    assert!(raw[5] > 1e290);
}
