use super::*;

/// f(θ) = ½ θᵀHθ + bᵀθ with a fixed symmetric H, and its gradient.
struct Quadratic {
    h: Vec<Vec<f64>>,
    b: Vec<f64>,
}

impl Quadratic {
    fn new(d: usize) -> Self {
        let h = (0..d)
            .map(|i| {
                (0..d)
                    .map(|j| {
                        if i == j {
                            2.0 + i as f64 * 0.1
                        } else {
                            0.3 / (1.0 + (i + j) as f64)
                        }
                    })
                    .collect()
            })
            .collect();
        let b = (0..d).map(|i| (i as f64 * 0.7).sin()).collect();
        Self { h, b }
    }
    fn value(&self, x: &[f64]) -> f64 {
        let hx: Vec<f64> = self
            .h
            .iter()
            .map(|r| r.iter().zip(x).map(|(a, b)| a * b).sum())
            .collect();
        0.5 * hx.iter().zip(x).map(|(a, b)| a * b).sum::<f64>()
            + self.b.iter().zip(x).map(|(a, b)| a * b).sum::<f64>()
    }
    fn gradient(&self, x: &[f64]) -> Vec<f64> {
        self.h
            .iter()
            .zip(&self.b)
            .map(|(r, bi)| r.iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + bi)
            .collect()
    }
}

fn config(
    kind: EstimatorKind,
    q: usize,
    directions: DirectionKind,
    mu: f64,
    cge_coords: usize,
) -> EstimatorConfig {
    EstimatorConfig {
        kind,
        q,
        directions,
        mu,
        cge_coords,
        base_loss: false,
        shaping: crate::estimate::Shaping::None,
    }
}

/// Evaluates every candidate of `plan` on `f` and assembles the estimate
/// (full length d, zero off the active set).
fn estimate(
    plan: &mut Plan,
    theta: &[f64],
    active: &[usize],
    f: impl Fn(&[f64]) -> f64,
) -> Vec<f64> {
    let mut direction = vec![0.0; active.len()];
    let losses: Vec<f64> = (0..plan.num_candidates())
        .map(|c| {
            let mut point = theta.to_vec();
            plan.apply(c, active, &mut point, &mut direction, &mut None);
            let loss = f(&point);
            plan.revert(c, theta, active, &mut point);
            assert_eq!(point, theta, "revert restores θ");
            loss
        })
        .collect();
    let mut grad_active = vec![0.0; active.len()];
    plan.assemble(&losses, &mut grad_active, None).unwrap();
    let mut grad = vec![0.0; theta.len()];
    for (&i, g) in active.iter().zip(&grad_active) {
        grad[i] = *g;
    }
    grad
}

fn all(d: usize) -> Vec<usize> {
    (0..d).collect()
}

#[test]
fn central_cge_is_exact_on_a_quadratic() {
    let d = 12;
    let f = Quadratic::new(d);
    let theta: Vec<f64> = (0..d).map(|i| (i as f64).cos()).collect();
    let mut plan = Plan::new(
        config(
            EstimatorKind::CgeCentral,
            1,
            DirectionKind::Gaussian,
            1e-3,
            0,
        ),
        1,
        0,
        d,
    );
    assert_eq!(plan.num_candidates(), 2 * d);
    let g = estimate(&mut plan, &theta, &all(d), |x| f.value(x));
    for (a, b) in g.iter().zip(f.gradient(&theta)) {
        assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{a} vs {b}");
    }
}

#[test]
fn central_cge_error_is_second_order_in_mu() {
    // f(θ) = Σ sin(θ_i)·e^{θ_i/2}: the central-difference error is μ²/6 · f'''.
    let f = |x: &[f64]| x.iter().map(|v| v.sin() * (0.5 * v).exp()).sum::<f64>();
    let df = |v: f64| (v.cos() + 0.5 * v.sin()) * (0.5 * v).exp();
    let theta = [0.3, -1.2, 0.8];
    let error = |mu: f64| {
        let mut plan = Plan::new(
            config(EstimatorKind::CgeCentral, 1, DirectionKind::Gaussian, mu, 0),
            1,
            0,
            3,
        );
        let g = estimate(&mut plan, &theta, &all(3), f);
        g.iter()
            .zip(theta)
            .map(|(a, t)| (a - df(t)).abs())
            .fold(0.0, f64::max)
    };
    let ratio = error(1e-2) / error(5e-3);
    assert!(
        (ratio - 4.0).abs() < 0.05,
        "halving μ divided the error by {ratio}, not 4"
    );
}

#[test]
fn forward_cge_error_is_first_order_in_mu() {
    let f = Quadratic::new(4);
    let theta = [0.1, 0.2, 0.3, 0.4];
    let mut plan = Plan::new(
        config(
            EstimatorKind::CgeForward,
            1,
            DirectionKind::Gaussian,
            1e-4,
            0,
        ),
        1,
        0,
        4,
    );
    assert_eq!(plan.num_candidates(), 5);
    let g = estimate(&mut plan, &theta, &all(4), |x| f.value(x));
    for (i, (a, b)) in g.iter().zip(f.gradient(&theta)).enumerate() {
        // forward difference error on a quadratic is exactly μ/2 · H_ii
        assert!((a - b - 0.5e-4 * f.h[i][i]).abs() < 1e-8, "{a} vs {b}");
    }
}

/// Mean of `n` single-iteration RGE estimates (different iterations, so
/// independent directions) compared with the exact gradient, component by
/// component, within 5 standard deviations of the mean.
fn check_rge_mean(kind: EstimatorKind, directions: DirectionKind) {
    let d = 6;
    let (q, n) = (4, 4000);
    let f = Quadratic::new(d);
    let theta: Vec<f64> = (0..d).map(|i| 0.2 * i as f64 - 0.5).collect();
    let g = f.gradient(&theta);
    let mut mean = vec![0.0; d];
    for k in 0..n {
        let mut plan = Plan::new(config(kind, q, directions, 1e-4, 0), 99, k, d);
        let est = estimate(&mut plan, &theta, &all(d), |x| f.value(x));
        for (m, e) in mean.iter_mut().zip(est) {
            *m += e / n as f64;
        }
    }
    let norm2: f64 = g.iter().map(|v| v * v).sum();
    let m = d as f64;
    for i in 0..d {
        // Variance of one direction's term (gᵀu)·φu_i, exact for a linear
        // loss: Gaussian ‖g‖² + g_i²; sphere m(‖g‖² + 2g_i²)/(m+2) − g_i².
        let var_one = match directions {
            DirectionKind::Gaussian => norm2 + g[i] * g[i],
            DirectionKind::Sphere => m * (norm2 + 2.0 * g[i] * g[i]) / (m + 2.0) - g[i] * g[i],
        };
        let std_mean = (var_one / (q * n as usize) as f64).sqrt();
        // μ-bias: O(μ) for forward, zero for central on a quadratic.
        let tol = 5.0 * std_mean + 1e-3;
        assert!(
            (mean[i] - g[i]).abs() < tol,
            "{kind:?}/{directions:?} component {i}: mean {} vs {} (tolerance {tol})",
            mean[i],
            g[i]
        );
    }
}

#[test]
fn rge_mean_matches_the_gradient() {
    for kind in [EstimatorKind::RgeForward, EstimatorKind::RgeCentral] {
        for directions in [DirectionKind::Gaussian, DirectionKind::Sphere] {
            check_rge_mean(kind, directions);
        }
    }
}

#[test]
fn sampled_cge_is_unbiased_and_uses_n_coordinates() {
    let d = 10;
    let f = Quadratic::new(d);
    let theta: Vec<f64> = (0..d).map(|i| 0.1 * i as f64).collect();
    let g = f.gradient(&theta);
    let iterations = 3000;
    let mut mean = vec![0.0; d];
    for k in 0..iterations {
        let mut plan = Plan::new(
            config(
                EstimatorKind::CgeCentral,
                1,
                DirectionKind::Gaussian,
                1e-4,
                3,
            ),
            5,
            k,
            d,
        );
        assert_eq!(plan.num_candidates(), 6);
        let est = estimate(&mut plan, &theta, &all(d), |x| f.value(x));
        assert_eq!(est.iter().filter(|v| **v != 0.0).count(), 3);
        for (m, e) in mean.iter_mut().zip(est) {
            *m += e / iterations as f64;
        }
    }
    for i in 0..d {
        // ĝ_i = (m/n)·g_i with probability n/m, else 0: variance g_i²(m/n − 1).
        let std_mean = (g[i] * g[i] * (10.0 / 3.0 - 1.0) / iterations as f64).sqrt();
        assert!(
            (mean[i] - g[i]).abs() < 5.0 * std_mean + 1e-9,
            "component {i}: {} vs {}",
            mean[i],
            g[i]
        );
    }
}

#[test]
fn estimators_touch_only_active_coordinates() {
    let d = 9;
    let active = vec![1, 2, 5, 8];
    let theta: Vec<f64> = (0..d)
        .map(|i| {
            if active.contains(&i) {
                0.5 + i as f64
            } else {
                0.0
            }
        })
        .collect();
    let f = |x: &[f64]| {
        x.iter()
            .enumerate()
            .map(|(i, v)| (i as f64 + 1.0) * v * v)
            .sum::<f64>()
    };
    let kinds = [
        EstimatorKind::RgeForward,
        EstimatorKind::RgeCentral,
        EstimatorKind::CgeForward,
        EstimatorKind::CgeCentral,
    ];
    for kind in kinds {
        for directions in [DirectionKind::Gaussian, DirectionKind::Sphere] {
            let mut plan = Plan::new(config(kind, 5, directions, 1e-3, 0), 3, 7, active.len());
            let mut direction = vec![0.0; active.len()];
            for c in 0..plan.num_candidates() {
                let mut point = theta.clone();
                plan.apply(c, &active, &mut point, &mut direction, &mut None);
                for i in (0..d).filter(|i| !active.contains(i)) {
                    assert_eq!(
                        point[i], 0.0,
                        "{kind:?} candidate {c} moved inactive coordinate {i}"
                    );
                }
            }
            let g = estimate(&mut plan, &theta, &active, f);
            assert!(active.iter().any(|&i| g[i] != 0.0));
        }
    }
    let cge = Plan::new(
        config(
            EstimatorKind::CgeForward,
            1,
            DirectionKind::Gaussian,
            1e-3,
            0,
        ),
        3,
        7,
        4,
    );
    assert_eq!(cge.num_candidates(), 5, "forward CGE costs active + 1");
}

#[test]
fn sphere_directions_have_unit_norm_and_are_regenerated_exactly() {
    let m = 2500; // spans three blocks
    let plan = Plan::new(
        config(EstimatorKind::RgeForward, 3, DirectionKind::Sphere, 1e-3, 0),
        4,
        2,
        m,
    );
    let mut u = vec![0.0; m];
    rge::fill_direction(&plan, 1, &mut u);
    let norm: f64 = u.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-12);
    let mut again = vec![0.0; m];
    rge::fill_direction(&plan, 1, &mut again);
    assert_eq!(u, again);
    rge::fill_direction(&plan, 2, &mut again);
    assert_ne!(u, again);
}

#[test]
fn non_finite_losses_drop_their_pair() {
    let mut plan = Plan::new(
        config(
            EstimatorKind::RgeCentral,
            3,
            DirectionKind::Gaussian,
            0.1,
            0,
        ),
        1,
        0,
        2,
    );
    let mut grad = vec![0.0; 2];
    let s = plan
        .assemble(&[1.0, 0.5, f64::NAN, 2.0, 0.7, 0.9], &mut grad, None)
        .unwrap();
    assert_eq!(s.dropped, 2);
    assert_eq!(s.base_loss, None);
    assert!((s.mean_loss - (1.0 + 0.5 + 2.0 + 0.7 + 0.9) / 5.0).abs() < 1e-15);
    // Dropping direction 1 gives the same estimate as a plan that never had it:
    // the average runs over the two remaining directions.
    let expected = {
        let mut g = vec![0.0; 2];
        let mut u = vec![0.0; 2];
        for (j, (lp, lm)) in [(0usize, (1.0, 0.5)), (2, (0.7, 0.9))] {
            rge::fill_direction(&plan, j, &mut u);
            for t in 0..2 {
                g[t] += (lp - lm) / 0.2 * u[t] / 2.0;
            }
        }
        g
    };
    for t in 0..2 {
        assert!((grad[t] - expected[t]).abs() < 1e-12);
    }

    let mut forward = Plan::new(
        config(
            EstimatorKind::CgeForward,
            1,
            DirectionKind::Gaussian,
            0.1,
            0,
        ),
        1,
        0,
        2,
    );
    let err = forward
        .assemble(&[f64::INFINITY, 1.0, 1.0], &mut grad, None)
        .unwrap_err();
    assert!(err.to_string().contains("base point"), "{err}");
    let s = forward
        .assemble(&[1.0, f64::NAN, 1.5], &mut grad, None)
        .unwrap();
    assert_eq!((s.dropped, s.base_loss), (1, Some(1.0)));
    assert_eq!(grad[0], 0.0);
    assert!((grad[1] - 5.0).abs() < 1e-12);
    let err = forward
        .assemble(&[1.0, f64::NAN, f64::NAN], &mut grad, None)
        .unwrap_err();
    assert!(err.to_string().contains("all 2 perturbations"), "{err}");
}

#[test]
fn parallel_assembly_is_bit_identical() {
    let m = 5000;
    let mut plan = Plan::new(
        config(EstimatorKind::RgeCentral, 8, DirectionKind::Sphere, 1e-3, 0),
        4,
        2,
        m,
    );
    let losses: Vec<f64> = (0..16).map(|c| (c as f64 * 0.37).sin()).collect();
    let mut serial = vec![0.0; m];
    plan.assemble(&losses, &mut serial, None).unwrap();
    for threads in [2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut parallel = vec![0.0; m];
        plan.assemble(&losses, &mut parallel, Some(&pool)).unwrap();
        assert!(serial
            .iter()
            .zip(&parallel)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn the_reported_only_base_point_comes_last_and_changes_no_estimate() {
    for kind in [EstimatorKind::RgeCentral, EstimatorKind::CgeCentral] {
        let base = config(kind, 3, DirectionKind::Gaussian, 0.1, 0);
        let with = EstimatorConfig {
            base_loss: true,
            ..base
        };
        let mut plain = Plan::new(base, 5, 2, 4);
        let mut plan = Plan::new(with, 5, 2, 4);
        let n = plain.num_candidates();
        assert_eq!(plan.num_candidates(), n + 1);
        assert_eq!(
            (plain.reported_only(), plan.reported_only()),
            (None, Some(n))
        );
        assert_eq!(plan.perturbation(n), Perturbation::Base);
        for c in 0..n {
            assert_eq!(plan.perturbation(c), plain.perturbation(c));
        }
        let losses: Vec<f64> = (0..n).map(|c| 1.0 + (c as f64 * 0.61).sin()).collect();
        let (mut g_plain, mut g) = (vec![0.0; 4], vec![0.0; 4]);
        let s_plain = plain.assemble(&losses, &mut g_plain, None).unwrap();
        for base_value in [0.25, f64::NAN, f64::NEG_INFINITY] {
            let mut all = losses.clone();
            all.push(base_value);
            let s = plan.assemble(&all, &mut g, None).unwrap();
            assert_eq!(
                g.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                g_plain.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
            assert_eq!(s.base_loss.map(f64::to_bits), Some(base_value.to_bits()));
            assert_eq!(
                (s.mean_loss, s.dropped),
                (s_plain.mean_loss, s_plain.dropped)
            );
        }
    }
    let forward = config(
        EstimatorKind::RgeForward,
        3,
        DirectionKind::Gaussian,
        0.1,
        0,
    );
    let with = EstimatorConfig {
        base_loss: true,
        ..forward
    };
    assert_eq!(Plan::new(with, 1, 0, 4).num_candidates(), 4);
    assert_eq!(Plan::new(with, 1, 0, 4).reported_only(), None);
    let central = EstimatorConfig {
        kind: EstimatorKind::CgeCentral,
        ..with
    };
    assert_eq!(Plan::over_outputs(central, 1, 0, 3).num_candidates(), 7);
    let without = EstimatorConfig {
        base_loss: false,
        ..central
    };
    assert_eq!(Plan::over_outputs(without, 1, 0, 3).num_candidates(), 6);
}

#[test]
fn the_reference_point_comes_last_and_changes_no_estimate() {
    let theta = [0.5, -1.0, 2.0, 0.25, 3.0];
    let active = [0, 2, 3];
    // The last step moved an inactive coordinate too (the active set was
    // another one then).
    let step = [0.1, 0.0, -0.2, 0.3, 0.4];
    for kind in [
        EstimatorKind::RgeCentral,
        EstimatorKind::RgeForward,
        EstimatorKind::CgeCentral,
        EstimatorKind::CgeForward,
    ] {
        for base_loss in [false, true] {
            let estimator = EstimatorConfig {
                base_loss,
                ..config(kind, 2, DirectionKind::Gaussian, 0.1, 0)
            };
            let plain = Plan::new(estimator, 3, 1, active.len());
            let mut plan = plain.clone();
            plan.set_reference(Some(&step));
            let n = plain.num_candidates();
            assert_eq!(plan.num_candidates(), n + 1, "{kind:?}");
            assert_eq!(plan.reference(), Some(n));
            assert_eq!(plan.perturbation(n), Perturbation::Reference);
            assert!(plan.is_reported_only(n));
            assert_eq!(plan.reported_only(), plain.reported_only());
            // θ − s on every coordinate, from θ or from any other
            // candidate, and back.
            let back: Vec<f64> = theta.iter().zip(&step).map(|(t, s)| t - s).collect();
            let mut direction = vec![0.0; active.len()];
            for prev in (0..n).map(Some).chain([None]) {
                let (mut out, mut holds) = (theta.to_vec(), None);
                if let Some(p) = prev {
                    plan.materialize(
                        None,
                        p,
                        &theta,
                        &active,
                        &mut out,
                        &mut direction,
                        &mut holds,
                    );
                }
                plan.materialize(
                    prev,
                    n,
                    &theta,
                    &active,
                    &mut out,
                    &mut direction,
                    &mut holds,
                );
                assert_eq!(out, back, "{kind:?} after {prev:?}");
                // Every other candidate after the reference: as from θ.
                for c in 0..n {
                    let mut fresh = theta.to_vec();
                    let mut after = out.clone();
                    plain.apply(c, &active, &mut fresh, &mut direction, &mut None);
                    plan.materialize(
                        Some(n),
                        c,
                        &theta,
                        &active,
                        &mut after,
                        &mut direction,
                        &mut None,
                    );
                    assert_eq!(after, fresh, "{kind:?}: candidate {c} after the reference");
                }
            }
            // The estimate ignores the reference's loss, which is reported.
            let losses: Vec<f64> = (0..n).map(|c| 1.0 + 0.1 * c as f64).collect();
            let (mut g_plain, mut g_ref) = (vec![0.0; 3], vec![0.0; 3]);
            let s_plain = plain.clone().assemble(&losses, &mut g_plain, None).unwrap();
            let mut with_ref = losses.clone();
            with_ref.push(f64::NAN);
            let s_ref = plan.assemble(&with_ref, &mut g_ref, None).unwrap();
            assert_eq!(g_plain, g_ref, "{kind:?}");
            assert_eq!(s_plain.base_loss, s_ref.base_loss);
            assert_eq!(s_plain.reference_loss, None);
            assert!(s_ref.reference_loss.unwrap().is_nan());
            plan.set_reference(None);
            assert_eq!(plan.num_candidates(), n);
        }
    }
}
