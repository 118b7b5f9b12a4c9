//! `lr=auto`: a success-based step size with backtracking, adapted from
//! the losses every iteration already has (no extra evaluations).
//!
//! Each iteration brings L(θ_k): the base loss where one is evaluated
//! (forward estimators, central ones with `base_loss=on`), else the mean
//! candidate loss, L(θ_k) + O(μ²). If it is no larger than the loss of
//! the last accepted point θ_a, the step that led to θ_k succeeded: θ_k
//! becomes the accepted point and the learning rate grows by [`GROW`].
//! Otherwise the step overshot: θ goes back to θ_a and the learning rate
//! shrinks by [`SHRINK`]. Either way the optimizer then takes its update
//! with the new rate and this iteration's gradient (after a rejection,
//! taken at θ_k, a step away from θ_a: a fresh direction, not the one
//! that failed). The accepted loss never increases, so a run never
//! drifts from the best point it has seen; with a noisy loss, rejections
//! shrink the step, which anneals it.
//!
//! The loss must be the same function at every iteration (rollouts,
//! a fixed dataset, not changing mini-batches): comparisons across
//! iterations are what the rule rests on.

use super::{OptimConfig, Optimizer};

/// Factor on the learning rate after an accepted step.
pub const GROW: f64 = 1.2;
/// Factor on the learning rate after a rejected step.
pub const SHRINK: f64 = 0.5;
/// The first learning rate (Adam's steps are about lr per coordinate).
pub const START: f64 = 1e-3;
/// Bounds that keep the rate a normal finite number.
const LR_BOUNDS: (f64, f64) = (1e-12, 1e6);

/// The adaptive state: the rate of the last update ([`START`] before the
/// first), the loss of the accepted point (NaN before the first update)
/// and the displacement θ_k − θ_a of the last update, per coordinate of θ.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoStep {
    pub lr: f64,
    pub accepted_loss: f64,
    pub last_step: Vec<f64>,
}

impl AutoStep {
    /// The state before the first iteration, for d parameters.
    pub fn new(d: usize) -> Self {
        Self {
            lr: START,
            accepted_loss: f64::NAN,
            last_step: vec![0.0; d],
        }
    }

    /// Whether the state is one a trainer can have reached.
    pub fn is_valid(&self) -> bool {
        (LR_BOUNDS.0..=LR_BOUNDS.1).contains(&self.lr)
            && !self.accepted_loss.is_infinite()
            && self.last_step.iter().all(|v| v.is_finite())
    }
}

impl Optimizer {
    /// One `lr=auto` update, where `loss` is L(θ_k). Returns the learning
    /// rate used (after the adaptation).
    pub(super) fn auto_update(
        &mut self,
        config: &OptimConfig,
        loss: f64,
        theta: &mut [f64],
        active: &[usize],
        grad: &mut [f64],
    ) -> f64 {
        let accepted = self.auto.accepted_loss;
        let state = &mut self.auto;
        if accepted.is_nan() {
            // The first update: nothing to compare with yet.
            state.accepted_loss = loss;
        } else if loss.is_nan() || loss > accepted {
            // θ_k = θ_a + s: back to θ_a.
            for (t, s) in theta.iter_mut().zip(&state.last_step) {
                *t -= s;
            }
            state.lr = (state.lr * SHRINK).max(LR_BOUNDS.0);
        } else {
            state.accepted_loss = loss;
            state.lr = (state.lr * GROW).min(LR_BOUNDS.1);
        }
        let lr = self.auto.lr;
        let mut before = std::mem::take(&mut self.auto.last_step);
        before.iter_mut().for_each(|s| *s = 0.0);
        for &i in active {
            before[i] = theta[i];
        }
        self.apply(config, lr, theta, active, grad);
        for &i in active {
            before[i] = theta[i] - before[i];
        }
        self.auto.last_step = before;
        lr
    }
}
