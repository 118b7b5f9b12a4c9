//! `lr=auto` and `shaping=rank` inside the trainer, against an analytic
//! minimum.

use super::*;

/// An ill-conditioned quadratic over every parameter of a 2-4-1 network
/// (17 parameters): curvatures 2·(1 … 100), minimum at θ*_i = sin(i).
fn quadratic(params: &[f64]) -> f64 {
    params
        .iter()
        .enumerate()
        .map(|(i, p)| (1.0 + 99.0 * i as f64 / 16.0) * (p - (i as f64).sin()).powi(2))
        .sum()
}

fn distance_to_minimum(trainer: &Trainer) -> f64 {
    trainer
        .params()
        .iter()
        .enumerate()
        .map(|(i, p)| (p - (i as f64).sin()).powi(2))
        .sum::<f64>()
        .sqrt()
}

fn train(options: &str, iterations: usize) -> (Trainer, Vec<f64>) {
    let model = Model::mlp(&[2, 4, 1], crate::model::Activation::Tanh, 3).unwrap();
    let mut trainer = Trainer::new(model, options).unwrap();
    let mut losses = Vec::new();
    for _ in 0..iterations {
        let metrics = trainer.step(|c| Ok(quadratic(c.params()))).unwrap();
        losses.push(metrics.loss());
    }
    (trainer, losses)
}

#[test]
fn auto_lr_reaches_the_minimum_without_a_tuned_rate() {
    let start = distance_to_minimum(&train("", 0).0);
    // SGD's stable rates are below 1/100 here; auto finds one by itself,
    // for every estimator and update rule, with no lr given.
    for options in [
        "estimator=cge-central optimizer=sgd lr=auto base_loss=on",
        "estimator=rge-central q=8 optimizer=adam lr=auto base_loss=on",
        "estimator=rge-forward q=8 optimizer=adam lr=auto",
        "estimator=rge-central q=8 optimizer=adam lr=auto shaping=rank",
    ] {
        let (trainer, losses) = train(options, 800);
        let end = distance_to_minimum(&trainer);
        // Forward differences (one side, O(μ) bias) and ranks (which drop
        // the losses' magnitudes) give noisier estimates: slower.
        let noisier = options.contains("forward") || options.contains("rank");
        let factor = if noisier { 2e-2 } else { 1e-2 };
        assert!(end < factor * start, "{options}: {start} → {end}");
        // The run does not drift off: its last losses stay near the best.
        let mut last: Vec<f64> = losses[losses.len() - 50..].to_vec();
        last.sort_by(f64::total_cmp);
        assert!(
            last[25] < 1e-3 * losses[0],
            "{options}: median of the last 50 {}",
            last[25]
        );
    }
    // A fixed rate of the size auto reaches with SGD diverges.
    let (fixed, _) = train("estimator=cge-central optimizer=sgd lr=0.02", 50);
    assert!(
        distance_to_minimum(&fixed).is_nan() || distance_to_minimum(&fixed) >= start,
        "lr=0.02 should diverge here"
    );
}

#[test]
fn auto_lr_option_reads_back_and_a_number_turns_it_off() {
    let (mut trainer, _) = train("lr=auto", 3);
    assert_eq!(trainer.get("lr").unwrap(), "auto");
    // Exact L(θ_k) for its comparisons: θ is evaluated (one candidate
    // more per iteration) whatever the order of the options, and the
    // base_loss option keeps the value it was given.
    assert!(trainer.last_metrics().unwrap().base_loss.is_some());
    // After the first update also the point the last step started from.
    assert_eq!(trainer.last_metrics().unwrap().evaluations, 34);
    assert_eq!(trainer.candidates_per_iteration(), 34);
    assert_eq!(trainer.get("base_loss").unwrap(), "off");
    let reordered = Trainer::new(trainer.model().clone(), "base_loss=off lr=auto").unwrap();
    let flipped = Trainer::new(trainer.model().clone(), "lr=auto base_loss=off").unwrap();
    assert_eq!(reordered.candidates_per_iteration(), 33);
    assert_eq!(flipped.candidates_per_iteration(), 33);
    assert!(trainer.last_metrics().unwrap().lr > 0.0);
    trainer.set("lr", "0.01").unwrap();
    assert_eq!(trainer.get("lr").unwrap(), "0.01");
    let metrics = trainer.step(|c| Ok(quadratic(c.params()))).unwrap();
    assert_eq!(metrics.lr, 0.01);
    assert!(trainer.set("lr", "automatic").is_err());
    // Back to auto: the fixed-rate step is no reference, so the next
    // update compares nothing (θ evaluated, no reference point).
    trainer.set("lr", "auto").unwrap();
    assert_eq!(trainer.candidates_per_iteration(), 33);
    let before = trainer.params().to_vec();
    let metrics = *trainer.step(|c| Ok(quadratic(c.params()))).unwrap();
    assert_eq!(metrics.evaluations, 33);
    assert!(trainer.params().iter().zip(&before).any(|(a, b)| a != b));
    assert_eq!(trainer.candidates_per_iteration(), 34);
}

/// Iteration k's loss: the quadratic scaled and shifted by factors drawn
/// for k (a new mini-batch, or the host's state moving on), so that its
/// level changes between iterations far more than one step lowers it.
fn drifting(k: u64, params: &[f64]) -> f64 {
    use rand::Rng;
    let mut rng = crate::rng::stream(9, crate::rng::Purpose::Direction, k, 0);
    let (scale, shift): (f64, f64) = (rng.random_range(0.5..2.0), rng.random_range(0.0..100.0));
    scale * quadratic(params) + shift
}

#[test]
fn auto_lr_compares_on_the_same_iterations_loss_when_the_loss_changes() {
    let model = Model::mlp(&[2, 4, 1], crate::model::Activation::Tanh, 3).unwrap();
    let start = distance_to_minimum(&train("", 0).0);
    let mut trainer = Trainer::new(model, "estimator=rge-central q=8 lr=auto").unwrap();
    let (mut previous, mut from): (Vec<f64>, Option<Vec<f64>>) = (trainer.params().to_vec(), None);
    for k in 0..800 {
        let theta = trainer.params().to_vec();
        let last = trainer.candidates_per_iteration() - 1;
        let mut seen = (f64::NAN, None);
        let metrics = *trainer
            .step(|c| {
                let loss = drifting(k, c.params());
                if c.index() == last && k > 0 {
                    seen.1 = Some((c.params().to_vec(), loss));
                } else if c.params() == &theta[..] {
                    seen.0 = loss;
                }
                Ok(loss)
            })
            .unwrap();
        assert_eq!(metrics.base_loss, Some(seen.0), "iteration {k}");
        if let Some((reference, reference_loss)) = seen.1 {
            // The reference is where the last update started from: θ_{k−1},
            // or the point it was taken back to.
            let expected = from.as_ref().unwrap();
            for (r, e) in reference.iter().zip(expected) {
                assert!((r - e).abs() <= 1e-12 * e.abs().max(1.0), "iteration {k}");
            }
            // Accepted iff L_k(θ_k) ≤ L_k(θ_a): the update starts from θ_k,
            // else from θ_a.
            from = Some(if seen.0 <= reference_loss {
                theta.clone()
            } else {
                reference
            });
        } else {
            from = Some(previous.clone());
        }
        previous = trainer.params().to_vec();
        assert_eq!(trainer.iteration(), k + 1);
    }
    // The level moved by up to 100 and 4× every iteration; the run still
    // converges, which comparing with a stored loss of another iteration
    // would not.
    let end = distance_to_minimum(&trainer);
    assert!(end < 1e-2 * start, "{start} → {end}");
}

#[test]
fn a_non_finite_loss_at_theta_rejects_the_step_that_led_there() {
    for bad in [f64::NAN, f64::INFINITY] {
        let model = Model::mlp(&[2, 4, 1], crate::model::Activation::Tanh, 3).unwrap();
        let mut trainer = Trainer::new(model, "estimator=rge-central q=8").unwrap();
        for _ in 0..5 {
            trainer.step(|c| Ok(quadratic(c.params()))).unwrap();
        }
        let (theta, lr) = (
            trainer.params().to_vec(),
            trainer.last_metrics().unwrap().lr,
        );
        let reference = trainer.candidates_per_iteration() - 1;
        // The simulation fails at θ_k only: the candidates around it are fine.
        let metrics = *trainer
            .step(|c| {
                let at_theta = c.index() != reference && c.params() == &theta[..];
                Ok(if at_theta { bad } else { quadratic(c.params()) })
            })
            .unwrap();
        assert_eq!(metrics.lr, lr * crate::optim::auto_step::SHRINK, "{bad}");
        // θ went back by the last step before this update.
        assert!(trainer.params().iter().all(|v| v.is_finite()));
    }
}

/// The quadratic plus a staircase of relative height ~1e-6 in the
/// parameters' sum: what an adaptive solver's changing step count adds.
fn with_jumps(params: &[f64]) -> f64 {
    let s: f64 = params.iter().sum();
    quadratic(params) * (1.0 + 1e-6 * ((s / 1e-6).floor() % 3.0))
}

#[test]
fn mu_scan_finds_the_jumps_and_changes_nothing() {
    let model = Model::mlp(&[2, 4, 1], crate::model::Activation::Tanh, 3).unwrap();
    let mut trainer = Trainer::new(model, "estimator=rge-central directions=gaussian").unwrap();
    let before = trainer.params().to_vec();
    let smooth = trainer.scan_mu(4, |c| Ok(quadratic(c.params()))).unwrap();
    let rough = trainer.scan_mu(4, |c| Ok(with_jumps(c.params()))).unwrap();
    assert_eq!(trainer.params(), &before[..], "the scan moved θ");
    assert_eq!(trainer.iteration(), 0);
    assert_eq!(smooth.evaluations, 1 + 2 * 4 * crate::mu_scan::RADII.len());
    // Smooth: accurate from the smallest radii (roundoff only); rough: the
    // jumps (~7e-4 absolute on a loss of ~700) spoil radii below ~1e-4.
    assert!(smooth.accurate_low <= 1e-7, "{smooth:?}");
    assert!(rough.accurate_low >= 1e-5, "{rough:?}");
    assert!(rough.noise > 1e3 * smooth.noise, "{rough:?} vs {smooth:?}");
    // The jumps are ~1e-6 of a loss of ~700: the floor shows them, while
    // the smooth loss's floor is roundoff.
    assert!(
        rough.noise > 1e-4 && smooth.noise < 1e-9,
        "{rough:?} vs {smooth:?}"
    );
    // Both are accurate up to the same curvature scale, and report the
    // same curvature within the spread of the directions (2·1 … 2·100).
    assert_eq!(smooth.accurate_high, rough.accurate_high);
    assert!(
        smooth.curvature > 2.0 && smooth.curvature < 200.0,
        "{smooth:?}"
    );
    // Gaussian RGE directions have length ≈ √17: μ is the radius / √17.
    let m = trainer.model().num_active() as f64;
    assert!((rough.mu - rough.central_radius / m.sqrt()).abs() < 1e-15);
    trainer.set("estimator", "cge-forward").unwrap();
    let forward = trainer.scan_mu(4, |c| Ok(with_jumps(c.params()))).unwrap();
    assert_eq!(forward.mu, forward.forward_radius);
    assert!(trainer.scan_mu(0, |c| Ok(quadratic(c.params()))).is_err());
    assert!(trainer.scan_mu(65, |c| Ok(quadratic(c.params()))).is_err());
    assert!(trainer.scan_mu(2, |_| Ok(f64::NAN)).is_err());
}
