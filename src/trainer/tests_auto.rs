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
    assert!(trainer.last_metrics().unwrap().lr > 0.0);
    trainer.set("lr", "0.01").unwrap();
    assert_eq!(trainer.get("lr").unwrap(), "0.01");
    let metrics = trainer.step(|c| Ok(quadratic(c.params()))).unwrap();
    assert_eq!(metrics.lr, 0.01);
    assert!(trainer.set("lr", "automatic").is_err());
}
