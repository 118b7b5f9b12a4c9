//! `lr=auto`: a success-based step size with backtracking, adapted from
//! the losses of each iteration.
//!
//! After the first update, every iteration evaluates, besides its
//! candidates, θ_k itself and the point θ_a = θ_k − s its last step s
//! started from (two reported-only candidates; forward estimators
//! evaluate θ_k anyway). If L(θ_k) is no larger than L(θ_a) the step
//! succeeded: θ_k is kept and the learning rate grows by [`GROW`] (by
//! [`SEARCH_GROW`] until the first rejection, so that a rate orders of
//! magnitude above [`START`] is found in a few iterations).
//! Otherwise the step overshot: θ goes back to θ_a and the rate shrinks by
//! [`SHRINK`]. Either way the optimizer then takes its update with the new
//! rate and this iteration's gradient (after a rejection taken at θ_k, a
//! step away from θ_a: a fresh direction, not the one that failed).
//!
//! Both losses come from the same iteration, so the rule holds for a loss
//! that changes between iterations (online training in a time loop,
//! changing mini-batches) and is unbiased under evaluation noise, where a
//! stored loss of the accepted point would be a running minimum of the
//! noise that rejects every later step. With a noisy loss, rejections
//! shrink the step, which anneals it. Where no reference loss is given,
//! the loss of the last accepted point, stored, stands in for it.

use super::{OptimConfig, Optimizer};

/// Factor on the learning rate after an accepted step.
pub const GROW: f64 = 1.2;
/// Factor after an accepted step before the first rejection.
pub const SEARCH_GROW: f64 = 2.0;
/// Factor on the learning rate after a rejected step.
pub const SHRINK: f64 = 0.5;
/// The first learning rate (Adam's steps are about lr per coordinate).
pub const START: f64 = 1e-3;
/// Bounds that keep the rate a normal finite number.
const LR_BOUNDS: (f64, f64) = (1e-12, 1e6);

/// The adaptive state: the rate of the last update ([`START`] before the
/// first), the loss of the accepted point as last seen (NaN before the
/// first update), the displacement s = θ_k − θ_a of the last update, per
/// coordinate of θ, and whether no step has been rejected yet.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoStep {
    pub lr: f64,
    pub accepted_loss: f64,
    pub last_step: Vec<f64>,
    pub searching: bool,
}

/// The losses an `lr=auto` update compares, both from one iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// L(θ_k).
    pub current: f64,
    /// L(θ_k − s), where the iteration re-evaluated it.
    pub reference: Option<f64>,
}

impl AutoStep {
    /// The state before the first iteration, for d parameters.
    pub fn new(d: usize) -> Self {
        Self {
            lr: START,
            accepted_loss: f64::NAN,
            last_step: vec![0.0; d],
            searching: true,
        }
    }

    /// Whether the state is one a trainer can have reached.
    pub fn is_valid(&self) -> bool {
        (LR_BOUNDS.0..=LR_BOUNDS.1).contains(&self.lr)
            && !self.accepted_loss.is_infinite()
            && self.last_step.iter().all(|v| v.is_finite())
    }

    /// The step s whose starting point θ_k − s the next iteration
    /// re-evaluates: none before the first update.
    pub fn reference_step(&self) -> Option<&[f64]> {
        (!self.accepted_loss.is_nan()).then_some(&self.last_step[..])
    }

    /// Forgets the last step (θ was replaced from outside): the next
    /// update compares nothing, like the first.
    pub fn forget_step(&mut self) {
        self.accepted_loss = f64::NAN;
        self.last_step.iter_mut().for_each(|s| *s = 0.0);
    }
}

impl Optimizer {
    /// One `lr=auto` update from the losses of `compared`. Returns the
    /// learning rate used (after the adaptation).
    pub(super) fn auto_update(
        &mut self,
        config: &OptimConfig,
        compared: Comparison,
        theta: &mut [f64],
        active: &[usize],
        grad: &mut [f64],
    ) -> f64 {
        let state = &mut self.auto;
        let loss = compared.current;
        if state.accepted_loss.is_nan() {
            // The first update: nothing to compare with yet.
            state.accepted_loss = loss;
        } else {
            let reference = compared.reference.unwrap_or(state.accepted_loss);
            // A reference that could not be evaluated loses to any finite L(θ_k).
            if loss.is_nan() || loss > reference {
                // θ_k = θ_a + s: back to θ_a.
                for (t, s) in theta.iter_mut().zip(&state.last_step) {
                    *t -= s;
                }
                state.lr = (state.lr * SHRINK).max(LR_BOUNDS.0);
                state.searching = false;
                if reference.is_finite() {
                    state.accepted_loss = reference;
                }
            } else {
                state.accepted_loss = loss;
                let grow = if state.searching { SEARCH_GROW } else { GROW };
                state.lr = (state.lr * grow).min(LR_BOUNDS.1);
            }
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
