//! Candidate building: [`Plan::materialize`] from whatever candidate a
//! thread's buffer last held gives the bits of [`Plan::apply`] on θ.

use super::*;
use crate::rng::BLOCK;

fn plans() -> Vec<Plan> {
    let kinds = [
        (EstimatorKind::RgeForward, 0),
        (EstimatorKind::RgeCentral, 0),
        (EstimatorKind::CgeForward, 5),
        (EstimatorKind::CgeCentral, 4),
    ];
    let mut plans = Vec::new();
    for (kind, cge_coords) in kinds {
        for directions in [DirectionKind::Gaussian, DirectionKind::Sphere] {
            let config = EstimatorConfig {
                kind,
                q: 3,
                directions,
                mu: 1e-3,
                cge_coords,
                base_loss: true,
                shaping: crate::estimate::Shaping::None,
            };
            plans.push(Plan::new(config, 9, 4, 0));
        }
    }
    plans
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn materialize_matches_apply_from_any_previous_candidate() {
    let d = 3 * BLOCK + 500;
    let theta: Vec<f64> = (0..d).map(|i| (i as f64 * 0.37).sin()).collect();
    let dense: Vec<usize> = (0..d).collect();
    let sparse: Vec<usize> = (0..d).step_by(3).collect();
    for mut plan in plans() {
        for active in [&dense, &sparse] {
            let m = active.len();
            plan.reset(plan.config, plan.seed, plan.iteration, m);
            let theta: Vec<f64> = (0..d)
                .map(|i| if active.contains(&i) { theta[i] } else { 0.0 })
                .collect();
            let n = plan.num_candidates();
            let reference: Vec<Vec<u64>> = (0..n)
                .map(|c| {
                    let mut point = theta.clone();
                    plan.apply(c, active, &mut point, &mut vec![0.0; m], &mut None);
                    bits(&point)
                })
                .collect();
            // In order (antithetic partners reuse the buffer), backwards,
            // by a stride, and twice in a row, as threads may visit them.
            let order = (0..n)
                .chain((0..n).rev())
                .chain((0..n).map(|k| (5 * k + 2) % n))
                .chain([1, 1, 0]);
            let mut out = theta.clone();
            let (mut direction, mut holds, mut prev) = (vec![0.0; m], None, None);
            for c in order {
                plan.materialize(
                    prev,
                    c,
                    &theta,
                    active,
                    &mut out,
                    &mut direction,
                    &mut holds,
                );
                assert_eq!(
                    bits(&out),
                    reference[c],
                    "{:?} {:?}, m = {m}, candidate {c} after {prev:?}",
                    plan.config.kind,
                    plan.config.directions
                );
                prev = Some(c);
            }
        }
    }
}

#[test]
fn sphere_norms_are_the_same_whoever_computes_them_first() {
    let m = 2 * BLOCK + 11;
    let config = EstimatorConfig {
        kind: EstimatorKind::RgeCentral,
        q: 4,
        directions: DirectionKind::Sphere,
        mu: 1e-2,
        cge_coords: 0,
        base_loss: false,
        shaping: crate::estimate::Shaping::None,
    };
    let losses: Vec<f64> = (0..8).map(|c| (c as f64 * 0.7).cos()).collect();
    let active: Vec<usize> = (0..m).collect();
    let theta = vec![0.5; m];
    // One plan assembles first; the other builds candidates 0 and 5 first
    // (directions 0 and 2), which records their norms.
    let mut fresh = Plan::new(config, 3, 1, m);
    let mut built = Plan::new(config, 3, 1, m);
    let (mut out, mut direction) = (theta.clone(), vec![0.0; m]);
    let mut holds = None;
    for (prev, c) in [(None, 0), (Some(0), 5)] {
        built.materialize(
            prev,
            c,
            &theta,
            &active,
            &mut out,
            &mut direction,
            &mut holds,
        );
    }
    assert!(built.norms[0].get().is_some() && built.norms[1].get().is_none());
    let (mut a, mut b) = (vec![0.0; m], vec![0.0; m]);
    fresh.assemble(&losses, &mut a, None).unwrap();
    built.assemble(&losses, &mut b, None).unwrap();
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(
        fresh
            .norms
            .iter()
            .map(|n| n.get().copied())
            .collect::<Vec<_>>(),
        built
            .norms
            .iter()
            .map(|n| n.get().copied())
            .collect::<Vec<_>>()
    );
}
