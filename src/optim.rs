//! Optimizers and learning-rate schedules.
//!
//! One update, in this order: the gradient is clipped to norm `clip`
//! (when `clip > 0`), decoupled weight decay shrinks θ by `lr·weight_decay`
//! (AdamW style, for every optimizer), then the optimizer moves θ:
//!
//! * `sgd`: θ ← θ − lr·g
//! * `momentum`: v ← β·v + g; θ ← θ − lr·v
//! * `nesterov`: v ← β·v + g; θ ← θ − lr·(g + β·v)
//! * `adam`: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
//!   θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
//! * `sign-sgd`: θ ← θ − lr·sign(g)
//!
//! Only active coordinates move; state is kept per coordinate of θ so that
//! it survives a change of mask.
//!
//! With `lr=auto` the learning rate is not set but adapted from the losses
//! of consecutive iterations, and a step that raised the loss is taken
//! back ([`auto_step`]); the schedule is then not applied.

pub mod auto_step;

pub use auto_step::{AutoStep, Comparison};

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    Sgd,
    Momentum,
    Nesterov,
    Adam,
    SignSgd,
}

/// The shape of the learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    Constant,
    /// `lr_min + (lr − lr_min)·(1 + cos(π·min(k,T)/T))/2`, T = `iterations`.
    Cosine,
    /// Cosine with warm restarts: the cosine of `k mod T` (SGDR), for
    /// training in rounds, e.g. between sequential thresholding steps.
    CosineRestarts,
    /// `lr·gamma^⌊k/step_size⌋`.
    Step,
}

/// How the learning rate changes with the iteration k. Parameters of the
/// kinds not selected are kept, so options can be set in any order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    pub kind: ScheduleKind,
    pub iterations: u64,
    pub lr_min: f64,
    pub step_size: u64,
    pub gamma: f64,
}

/// Optimizer settings, as validated by [`crate::config`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimConfig {
    pub kind: OptimizerKind,
    pub lr: f64,
    /// `lr=auto`: `lr` is ignored and adapted ([`auto_step`]).
    pub auto_lr: bool,
    /// β of momentum and Nesterov.
    pub momentum: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// Maximum gradient norm; 0 disables clipping.
    pub clip: f64,
    pub schedule: Schedule,
}

impl Schedule {
    /// A constant learning rate (the other parameters are placeholders).
    pub fn constant() -> Self {
        Self {
            kind: ScheduleKind::Constant,
            iterations: 1,
            lr_min: 0.0,
            step_size: 1,
            gamma: 1.0,
        }
    }
}

impl OptimConfig {
    /// The learning rate of iteration `k`.
    pub fn learning_rate(&self, k: u64) -> f64 {
        let s = &self.schedule;
        match s.kind {
            ScheduleKind::Constant => self.lr,
            ScheduleKind::Cosine | ScheduleKind::CosineRestarts => {
                let k = if s.kind == ScheduleKind::Cosine {
                    k.min(s.iterations)
                } else {
                    k % s.iterations
                };
                let progress = k as f64 / s.iterations as f64;
                s.lr_min
                    + (self.lr - s.lr_min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
            ScheduleKind::Step => {
                self.lr
                    * s.gamma
                        .powi(i32::try_from(k / s.step_size).unwrap_or(i32::MAX))
            }
        }
    }
}

/// Optimizer state: first and second moments per coordinate of θ, and the
/// `lr=auto` state.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    first: Vec<f64>,
    second: Vec<f64>,
    /// Updates applied so far (Adam's bias correction).
    steps: u64,
    auto: AutoStep,
}

impl Optimizer {
    /// Fresh state for `d` parameters.
    pub fn new(d: usize) -> Self {
        Self {
            first: vec![0.0; d],
            second: vec![0.0; d],
            steps: 0,
            auto: AutoStep::new(d),
        }
    }

    /// The state as (first moments, second moments, updates applied), for
    /// checkpoints.
    pub fn parts(&self) -> (&[f64], &[f64], u64) {
        (&self.first, &self.second, self.steps)
    }

    /// State from [`Optimizer::parts`]; both moment vectors have length d.
    pub fn from_parts(first: Vec<f64>, second: Vec<f64>, steps: u64) -> Self {
        debug_assert_eq!(first.len(), second.len());
        let d = first.len();
        Self {
            first,
            second,
            steps,
            auto: AutoStep::new(d),
        }
    }

    /// The `lr=auto` state (its initial value unless `lr=auto` ran).
    pub fn auto_step(&self) -> &AutoStep {
        &self.auto
    }

    /// Replaces the `lr=auto` state (from a checkpoint); `last_step` has
    /// length d.
    pub fn set_auto_step(&mut self, auto: AutoStep) {
        debug_assert_eq!(auto.last_step.len(), self.first.len());
        self.auto = auto;
    }

    /// Forgets the last `lr=auto` step (θ was replaced from outside).
    pub fn forget_auto_step(&mut self) {
        self.auto.forget_step();
    }

    /// One update at iteration `k` with the losses `compared` of this
    /// iteration: with `lr=auto` the adaptive rule of [`auto_step`], else
    /// [`Optimizer::update`]. Returns the learning rate used.
    pub fn step(
        &mut self,
        config: &OptimConfig,
        k: u64,
        compared: Comparison,
        theta: &mut [f64],
        active: &[usize],
        grad: &mut [f64],
    ) -> f64 {
        if config.auto_lr {
            self.auto_update(config, compared, theta, active, grad)
        } else {
            self.update(config, k, theta, active, grad)
        }
    }

    /// Applies one update at iteration `k` to the active coordinates of θ.
    /// `grad[t]` belongs to coordinate `active[t]`; it is clipped in place.
    /// Returns the learning rate used.
    pub fn update(
        &mut self,
        config: &OptimConfig,
        k: u64,
        theta: &mut [f64],
        active: &[usize],
        grad: &mut [f64],
    ) -> f64 {
        let lr = config.learning_rate(k);
        self.apply(config, lr, theta, active, grad);
        lr
    }

    /// The update with learning rate `lr`.
    fn apply(
        &mut self,
        config: &OptimConfig,
        lr: f64,
        theta: &mut [f64],
        active: &[usize],
        grad: &mut [f64],
    ) {
        clip_norm(grad, config.clip);
        if config.weight_decay > 0.0 {
            let shrink = 1.0 - lr * config.weight_decay;
            for &i in active {
                theta[i] *= shrink;
            }
        }
        self.steps += 1;
        let beta = config.momentum;
        let (b1, b2) = (config.beta1, config.beta2);
        let correction1 = 1.0 - power(b1, self.steps);
        let correction2 = 1.0 - power(b2, self.steps);
        for (&i, &g) in active.iter().zip(grad.iter()) {
            let step = match config.kind {
                OptimizerKind::Sgd => g,
                OptimizerKind::Momentum => {
                    self.first[i] = beta * self.first[i] + g;
                    self.first[i]
                }
                OptimizerKind::Nesterov => {
                    self.first[i] = beta * self.first[i] + g;
                    g + beta * self.first[i]
                }
                OptimizerKind::Adam => {
                    self.first[i] = b1 * self.first[i] + (1.0 - b1) * g;
                    self.second[i] = b2 * self.second[i] + (1.0 - b2) * g * g;
                    (self.first[i] / correction1)
                        / ((self.second[i] / correction2).sqrt() + config.eps)
                }
                OptimizerKind::SignSgd => sign(g),
            };
            theta[i] -= lr * step;
        }
    }
}

fn sign(g: f64) -> f64 {
    if g > 0.0 {
        1.0
    } else if g < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `base^exponent` by squaring: plain multiplications, so the same bits on
/// every CPU (the C library's `pow` may take another path per CPU).
fn power(base: f64, mut exponent: u64) -> f64 {
    let (mut result, mut square) = (1.0, base);
    while exponent > 0 {
        if exponent & 1 == 1 {
            result *= square;
        }
        square *= square;
        exponent >>= 1;
    }
    result
}

/// Euclidean norm, summed in order.
pub fn norm(values: &[f64]) -> f64 {
    values.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Scales `grad` down to norm `max_norm` when it is longer; 0 disables.
pub fn clip_norm(grad: &mut [f64], max_norm: f64) {
    if max_norm > 0.0 {
        let n = norm(grad);
        if n > max_norm {
            let s = max_norm / n;
            for g in grad {
                *g *= s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_by_squaring_matches_pow() {
        assert_eq!(power(0.9, 0), 1.0);
        assert_eq!(power(2.0, 10), 1024.0);
        assert_eq!(power(0.999, u64::MAX), 0.0);
        for base in [0.9, 0.99, 0.999, 0.5] {
            for t in [1u64, 2, 3, 7, 100, 12345, 1_000_000] {
                let (got, want) = (power(base, t), base.powf(t as f64));
                // log2(t) roundings, each ≤ ½ ulp, compound.
                let tolerance = 64.0 * (t as f64).log2().max(1.0) * f64::EPSILON * want;
                assert!(
                    (got - want).abs() <= tolerance,
                    "{base}^{t}: {got} vs {want}"
                );
            }
        }
    }

    fn config(kind: OptimizerKind) -> OptimConfig {
        OptimConfig {
            kind,
            lr: 0.1,
            auto_lr: false,
            momentum: 0.9,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            clip: 0.0,
            schedule: Schedule {
                kind: ScheduleKind::Constant,
                iterations: 100,
                lr_min: 0.01,
                step_size: 10,
                gamma: 0.5,
            },
        }
    }

    /// Two updates on θ = [1, -2] (coordinate 2 inactive) with gradients
    /// [0.5, -1] then [0.25, 0.5].
    fn two_steps(config: &OptimConfig) -> Vec<f64> {
        let mut theta = vec![1.0, -2.0, 7.0];
        let active = [0, 1];
        let mut opt = Optimizer::new(3);
        opt.update(config, 0, &mut theta, &active, &mut [0.5, -1.0]);
        opt.update(config, 1, &mut theta, &active, &mut [0.25, 0.5]);
        assert_eq!(theta[2], 7.0, "inactive coordinate moved");
        theta
    }

    fn assert_close(got: &[f64], want: &[f64]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn sgd_steps() {
        // θ = [1 − 0.05 − 0.025, −2 + 0.1 − 0.05]
        assert_close(&two_steps(&config(OptimizerKind::Sgd)), &[0.925, -1.95]);
    }

    #[test]
    fn momentum_steps() {
        // v1 = [0.5, −1]; v2 = [0.7, −0.4]; θ = θ0 − 0.1(v1 + v2)
        assert_close(&two_steps(&config(OptimizerKind::Momentum)), &[0.88, -1.86]);
    }

    #[test]
    fn nesterov_steps() {
        // step1 = g1 + 0.9 v1 = [0.95, −1.9]; v2 = [0.7, −0.4];
        // step2 = g2 + 0.9 v2 = [0.88, 0.14]
        assert_close(
            &two_steps(&config(OptimizerKind::Nesterov)),
            &[1.0 - 0.095 - 0.088, -2.0 + 0.19 - 0.014],
        );
    }

    #[test]
    fn adam_steps() {
        // Step 1 with bias correction is lr·g/(|g| + ε) per coordinate.
        let c = config(OptimizerKind::Adam);
        let mut want = [
            1.0 - 0.1 * 0.5 / (0.5 + 1e-8),
            -2.0 + 0.1 * 1.0 / (1.0 + 1e-8),
        ];
        // Step 2 by hand.
        let (g1, g2) = ([0.5, -1.0], [0.25, 0.5]);
        for t in 0..2 {
            let m = 0.9 * 0.1 * g1[t] + 0.1 * g2[t];
            let v = 0.999 * 0.001 * g1[t] * g1[t] + 0.001 * g2[t] * g2[t];
            let (mh, vh) = (m / (1.0 - 0.81), v / (1.0 - 0.999f64 * 0.999));
            want[t] -= 0.1 * mh / (vh.sqrt() + 1e-8);
        }
        assert_close(&two_steps(&c), &want);
    }

    #[test]
    fn sign_sgd_steps() {
        assert_close(&two_steps(&config(OptimizerKind::SignSgd)), &[0.8, -2.0]);
    }

    #[test]
    fn weight_decay_is_decoupled_and_clipping_caps_the_norm() {
        let mut c = config(OptimizerKind::Sgd);
        c.weight_decay = 0.5;
        c.clip = 0.5;
        let mut theta = vec![1.0, -2.0];
        let mut g = [3.0, 4.0]; // norm 5 → clipped to [0.3, 0.4]
        Optimizer::new(2).update(&c, 0, &mut theta, &[0, 1], &mut g);
        assert_close(&g, &[0.3, 0.4]);
        // θ·(1 − 0.1·0.5) − 0.1·g
        assert_close(&theta, &[0.95 - 0.03, -1.9 - 0.04]);
    }

    /// SGD under `lr=auto`.
    fn auto_config() -> OptimConfig {
        let mut c = config(OptimizerKind::Sgd);
        c.auto_lr = true;
        c
    }

    /// START, SEARCH_GROW, GROW and SHRINK of `lr=auto`.
    fn auto_factors() -> (f64, f64, f64, f64) {
        use auto_step::*;
        (START, SEARCH_GROW, GROW, SHRINK)
    }

    /// L(θ_k) alone: the stored loss of the accepted point is the reference.
    fn stored(current: f64) -> Comparison {
        Comparison {
            current,
            reference: None,
        }
    }

    #[test]
    fn auto_lr_grows_on_success_and_takes_back_a_step_that_raised_the_loss() {
        let c = auto_config();
        let (start, search, grow, shrink) = auto_factors();
        let mut opt = Optimizer::new(2);
        let mut theta = vec![1.0, -2.0];
        // First update: nothing to compare with, rate START.
        assert!(opt.auto_step().reference_step().is_none());
        assert_eq!(
            opt.step(&c, 0, stored(5.0), &mut theta, &[0, 1], &mut [1.0, -2.0]),
            start
        );
        let first = theta.clone();
        assert_close(&first, &[1.0 - start, -2.0 + 2.0 * start]);
        assert_close(
            opt.auto_step().reference_step().unwrap(),
            &[-start, 2.0 * start],
        );
        // The loss fell: θ_1 is accepted and the rate grows, doubling
        // until the first rejection.
        assert!(opt.auto_step().searching);
        assert_eq!(
            opt.step(&c, 1, stored(4.0), &mut theta, &[0], &mut [1.0]),
            start * search
        );
        assert_close(&theta, &[first[0] - start * search, first[1]]);
        // The loss rose: back to θ_1, the rate shrinks, and the step is
        // this iteration's gradient from θ_1; the search is over.
        let lr = opt.step(&c, 2, stored(4.5), &mut theta, &[0, 1], &mut [-1.0, 1.0]);
        assert_eq!(lr, start * search * shrink);
        assert!(!opt.auto_step().searching);
        assert_close(&theta, &[first[0] + lr, first[1] - lr]);
        // A NaN loss is a rejection too; a loss equal to the accepted one
        // is a success.
        let mut nan = (opt.clone(), theta.clone());
        let lr_nan = nan
            .0
            .step(&c, 3, stored(f64::NAN), &mut nan.1, &[0], &mut [1.0]);
        assert_eq!(lr_nan, lr * shrink);
        assert_close(&nan.1, &[first[0] - lr_nan, first[1]]);
        let here = theta.clone();
        let lr_equal = opt.step(&c, 3, stored(4.0), &mut theta, &[0], &mut [1.0]);
        assert_eq!(lr_equal, lr * grow);
        assert_close(&theta, &[here[0] - lr_equal, here[1]]);
        assert_eq!(opt.auto_step().accepted_loss, 4.0);
    }

    #[test]
    fn auto_lr_compares_with_the_reference_loss_of_the_same_iteration() {
        let c = auto_config();
        let (start, search, grow, shrink) = auto_factors();
        let mut opt = Optimizer::new(1);
        let mut theta = vec![0.0];
        opt.step(&c, 0, stored(1.0), &mut theta, &[0], &mut [1.0]);
        // The loss rose from 1 to 10 between iterations (a new batch), but
        // on this iteration's loss θ_1 beats θ_0: accepted.
        let fresh = |current, reference| Comparison {
            current,
            reference: Some(reference),
        };
        let lr = opt.step(&c, 1, fresh(10.0, 11.0), &mut theta, &[0], &mut [1.0]);
        assert_eq!(lr, start * search);
        assert_close(&theta, &[-start - lr]);
        assert_eq!(opt.auto_step().accepted_loss, 10.0);
        // The loss fell to 2, yet the reference is lower: rejected, and
        // the reference loss becomes the accepted one.
        let lr2 = opt.step(&c, 2, fresh(2.0, 1.5), &mut theta, &[0], &mut [1.0]);
        assert_eq!(lr2, lr * shrink);
        assert_close(&theta, &[-start - lr2]);
        assert_eq!(opt.auto_step().accepted_loss, 1.5);
        // A reference that could not be evaluated loses to a finite loss.
        let lr3 = opt.step(&c, 3, fresh(3.0, f64::NAN), &mut theta, &[0], &mut [1.0]);
        assert_eq!(lr3, lr2 * grow);
        // Forgetting the step makes the next update a first one.
        opt.forget_auto_step();
        assert!(opt.auto_step().reference_step().is_none());
        let before = theta.clone();
        let lr4 = opt.step(&c, 4, fresh(100.0, 0.0), &mut theta, &[0], &mut [1.0]);
        assert_eq!(lr4, lr3);
        assert_close(&theta, &[before[0] - lr4]);
    }

    #[test]
    fn schedules() {
        let mut c = config(OptimizerKind::Sgd);
        assert_eq!(c.learning_rate(12345), 0.1);
        c.schedule.kind = ScheduleKind::Cosine;
        assert!((c.learning_rate(0) - 0.1).abs() < 1e-15);
        assert!((c.learning_rate(50) - 0.055).abs() < 1e-15);
        assert!((c.learning_rate(100) - 0.01).abs() < 1e-15);
        assert!((c.learning_rate(500) - 0.01).abs() < 1e-15);
        c.schedule.kind = ScheduleKind::CosineRestarts;
        assert!((c.learning_rate(50) - 0.055).abs() < 1e-15);
        assert!((c.learning_rate(100) - 0.1).abs() < 1e-15, "restarts at T");
        assert!((c.learning_rate(250) - 0.055).abs() < 1e-15);
        c.schedule.kind = ScheduleKind::Step;
        assert_eq!(c.learning_rate(9), 0.1);
        assert_eq!(c.learning_rate(10), 0.05);
        assert_eq!(c.learning_rate(25), 0.025);
    }
}
