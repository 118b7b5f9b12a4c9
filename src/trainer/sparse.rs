//! Sparsity during training: masks set or pruned through the trainer, the
//! "sparse gradient, dense model" regime, and ZO-GraSP pruning.
//!
//! Regimes. With `gradient_density=1` (default) every active weight of the
//! model is perturbed and updated: a pruned model trains as a *sparse
//! model*. With `gradient_density=ρ < 1` the model stays as it is, but each
//! iteration perturbs and updates only a random fraction ρ of each layer's
//! active weights (biases always), redrawn every `redraw_every`
//! iterations from the seed: *sparse gradient, dense model*.
//!
//! ZO-GraSP estimates the Hessian-gradient product from losses alone by
//! the difference of two gradient estimates with the same directions,
//! Hg ≈ (ĝ(θ + μ_h ĝ(θ)) − ĝ(θ)) / μ_h, scores S = −θ ⊙ Hg and prunes the
//! weights with the highest S (GraSP: those whose removal least reduces
//! gradient flow). It runs as two ordinary iterations (`step`,
//! `step_parallel` or ask/tell) that apply no update: the second one
//! restores θ and prunes.

use super::Trainer;
use crate::config::TrainerConfig;
use crate::error::{Result, ZooError};
use crate::model::Model;
use crate::prune::{mask_from_scores, random_scores, Method, Scope};

/// What the trainer's estimation set was computed for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct ActiveKey {
    mask_version: u64,
    draw: Option<u64>,
    density: f64,
    seed: u64,
}

/// A ZO-GraSP pruning in progress.
pub(super) struct GraspProbe {
    sparsity: f64,
    scope: Scope,
    mu_h: f64,
    /// θ before the probe, restored after it.
    theta: Vec<f64>,
    /// ĝ(θ) once the first probe iteration is done.
    first: Option<Vec<f64>>,
}

/// The coordinates iteration `k` perturbs under `config`'s regime.
pub(super) fn estimation_active(model: &Model, config: &TrainerConfig, k: u64) -> Vec<usize> {
    if config.gradient_density >= 1.0 {
        return model.active().to_vec();
    }
    let scores = random_scores(model.num_params(), config.seed, k / config.redraw_every);
    let mask = mask_from_scores(
        model.network(),
        &scores,
        model.mask(),
        1.0 - config.gradient_density,
        Scope::LayerWise,
    )
    .expect("validated density and matching sizes");
    (0..mask.len()).filter(|&i| mask[i]).collect()
}

impl Trainer {
    /// Recomputes the estimation set when the mask, the regime or the
    /// redraw period changed since it was computed.
    pub(super) fn refresh_active(&mut self) {
        let sparse_gradient = self.config.gradient_density < 1.0 && self.estimation.grasp.is_none();
        let key = ActiveKey {
            mask_version: self.estimation.mask_version,
            draw: sparse_gradient.then(|| self.iteration / self.config.redraw_every),
            density: if sparse_gradient {
                self.config.gradient_density
            } else {
                1.0
            },
            seed: self.config.seed,
        };
        if self.estimation.active_key != Some(key) {
            self.estimation.active = if sparse_gradient {
                estimation_active(&self.model, &self.config, self.iteration)
            } else {
                self.model.active().to_vec()
            };
            self.estimation.active_key = Some(key);
        }
    }

    fn ensure_no_probe(&self, what: &str) -> Result<()> {
        match self.estimation.grasp {
            Some(_) => Err(ZooError::BadState(format!(
                "cannot {what} while a ZO-GraSP pruning is in progress; finish its two iterations or abort it"
            ))),
            None => Ok(()),
        }
    }

    /// Checks that nothing is in flight before the mask or θ changes.
    pub(super) fn ensure_quiet(&self, what: &str) -> Result<()> {
        self.ensure_idle(what)?;
        self.ensure_no_probe(what)
    }

    /// Replaces the model's mask (true = active); newly masked weights
    /// become zero. Optimizer state is kept. On error nothing changes.
    pub fn set_mask(&mut self, mask: &[bool]) -> Result<()> {
        self.ensure_quiet("change the mask")?;
        let mut model = self.model.clone();
        model.set_mask(mask)?;
        if model.num_active() == 0 {
            return Err(ZooError::InvalidArgument(
                "the mask leaves no active parameter to train".into(),
            ));
        }
        self.model = model;
        self.estimation.mask_version += 1;
        self.optimizer.forget_auto_step();
        Ok(())
    }

    /// Prunes the trained model (see [`Model::prune`]).
    pub fn prune(&mut self, method: Method, sparsity: f64) -> Result<()> {
        let mut model = self.model.clone();
        model.prune(method, sparsity)?;
        self.set_mask(model.mask())
    }

    /// Sequential thresholding: prunes the active weights (and biases, with
    /// `include_biases`) whose magnitude is below `threshold`; returns how
    /// many. Training goes on with the rest. On error nothing changes.
    pub fn threshold(&mut self, threshold: f64, include_biases: bool) -> Result<usize> {
        self.ensure_quiet("threshold the weights")?;
        let mut model = self.model.clone();
        let pruned = model.threshold(threshold, include_biases)?;
        self.set_mask(model.mask())?;
        Ok(pruned)
    }

    /// Starts a ZO-GraSP pruning to `sparsity`: the next two iterations
    /// (through any of `step`, `step_parallel` or ask/tell) estimate
    /// gradients at θ and at θ + μ_h ĝ, apply no update, and the second one
    /// restores θ and prunes the weights with the highest GraSP score.
    pub fn begin_zo_grasp(&mut self, sparsity: f64, scope: Scope, mu_h: f64) -> Result<()> {
        self.ensure_quiet("start a ZO-GraSP pruning")?;
        if !(0.0..1.0).contains(&sparsity) {
            return Err(ZooError::InvalidArgument(format!(
                "sparsity {sparsity} is not in [0, 1)"
            )));
        }
        if !(mu_h.is_finite() && mu_h > 0.0) {
            return Err(ZooError::InvalidArgument(format!(
                "mu_h {mu_h} is not a positive number"
            )));
        }
        self.estimation.grasp = Some(GraspProbe {
            sparsity,
            scope,
            mu_h,
            theta: self.model.params().to_vec(),
            first: None,
        });
        Ok(())
    }

    /// Whether a ZO-GraSP pruning is waiting for its iterations.
    pub fn zo_grasp_in_progress(&self) -> bool {
        self.estimation.grasp.is_some()
    }

    /// The GraSP scores S = −θ ⊙ Hg of the last completed ZO-GraSP pruning
    /// (zero off the active set).
    pub fn zo_grasp_scores(&self) -> Option<&[f64]> {
        self.estimation.grasp_scores.as_deref()
    }

    /// Abandons a ZO-GraSP pruning in progress: θ is restored.
    pub(super) fn cancel_zo_grasp(&mut self) {
        if let Some(probe) = self.estimation.grasp.take() {
            self.model.params_mut().copy_from_slice(&probe.theta);
            self.estimation.mask_version += 1; // the estimation set was the full one
        }
    }

    /// Uses the gradient estimate just assembled in `self.open.grad` for the
    /// probe's next phase.
    pub(super) fn advance_zo_grasp(&mut self) -> Result<()> {
        let probe = self
            .estimation
            .grasp
            .as_mut()
            .expect("called with a probe in progress");
        match probe.first.take() {
            None => {
                let theta = self.model.params_mut();
                for (&i, g) in self.estimation.active.iter().zip(&self.open.grad) {
                    theta[i] += probe.mu_h * g;
                }
                probe.first = Some(self.open.grad.clone());
                Ok(())
            }
            Some(first) => {
                let probe = self.estimation.grasp.take().expect("checked above");
                self.model.params_mut().copy_from_slice(&probe.theta);
                let mut scores = vec![0.0; self.model.num_params()];
                for ((&i, g2), g1) in self
                    .estimation
                    .active
                    .iter()
                    .zip(&self.open.grad)
                    .zip(&first)
                {
                    let hg = (g2 - g1) / probe.mu_h;
                    scores[i] = -probe.theta[i] * hg;
                }
                let keep: Vec<f64> = scores.iter().map(|s| -s).collect();
                let mut model = self.model.clone();
                model.prune_by_scores(&keep, probe.sparsity, probe.scope)?;
                self.model = model;
                self.estimation.mask_version += 1;
                self.optimizer.forget_auto_step();
                self.estimation.grasp_scores = Some(scores);
                Ok(())
            }
        }
    }
}
