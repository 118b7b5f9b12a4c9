//! Dataset mode: zoo owns the forward pass over a batch X (n × inputs) and
//! the host's black box maps the outputs Y (n × outputs) to a loss.
//!
//! With the callback ([`Trainer::step_dataset`]) the host passes X with
//! each call. With ask/tell the host sets a batch once
//! ([`Trainer::set_batch`]; again whenever it changes), then asks for
//! candidates, reads each one's outputs with
//! [`Trainer::candidate_outputs`] and tells the loss (or, with
//! per-sample losses, one loss per row with [`Trainer::tell_samples`]).
//! Option `space` picks what a candidate perturbs: the outputs (the
//! output-space estimator, the default) or the weights (the candidate's
//! outputs are f(X; θ_c), as in rollout mode, and CGE may reuse features).

use super::{IterationMetrics, LossError, LossResult, Trainer};
use crate::config::Space;
use crate::error::{Result, ZooError};
use crate::model::{check_len, check_rows};
use crate::size::try_copy;

/// The batch of ask/tell dataset mode.
pub(super) struct Batch {
    pub(super) x: Vec<f64>,
    pub(super) rows: usize,
    /// Tells carry one loss per row (their sum is the loss).
    pub(super) per_sample: bool,
}

impl Trainer {
    /// One dataset-mode iteration through a black box on outputs:
    /// `loss_fn` maps Y (n × outputs, row-major) of each candidate to a
    /// loss. Option `space` chooses the output-space estimator or weight
    /// perturbations. On error nothing changes.
    pub fn step_dataset<F>(
        &mut self,
        x: &[f64],
        n: usize,
        mut loss_fn: F,
    ) -> Result<&IterationMetrics>
    where
        F: FnMut(&[f64]) -> LossResult,
    {
        if self.config.space == Space::Output {
            return self.step_output_space(x, n, loss_fn);
        }
        self.check_batch(x, n)?;
        let mut y = vec![0.0; n * self.model.network().num_outputs()];
        self.step(|candidate| {
            candidate
                .forward_batch(x, n, &mut y)
                .map_err(|e| LossError::new(-1, e.to_string()))?;
            loss_fn(&y)
        })
    }

    /// A batch has rows, and `n` rows of the network's inputs.
    pub(super) fn check_batch(&self, x: &[f64], n: usize) -> Result<()> {
        if n == 0 {
            return Err(ZooError::InvalidArgument(
                "the batch has no rows (nrows = 0)".into(),
            ));
        }
        check_rows(
            "batch inputs (nrows × num_inputs)",
            n,
            self.model.network().num_inputs(),
            x.len(),
        )
    }

    /// Sets the batch X (`n` rows) whose outputs ask/tell candidates
    /// produce, from the next iteration on. With `per_sample`, tells carry
    /// one loss per row ([`Trainer::tell_samples`]). Fails while an
    /// iteration is open.
    pub fn set_batch(&mut self, x: &[f64], n: usize, per_sample: bool) -> Result<()> {
        self.ensure_quiet("set the batch")?;
        self.check_batch(x, n)?;
        self.dataset.batch = Some(Batch {
            x: try_copy(x, "batch inputs")?,
            rows: n,
            per_sample,
        });
        Ok(())
    }

    /// Leaves dataset mode: ask/tell candidates perturb weights again.
    pub fn clear_batch(&mut self) -> Result<()> {
        self.ensure_quiet("clear the batch")?;
        self.dataset.batch = None;
        Ok(())
    }

    /// Whether the next ask/tell iteration perturbs outputs.
    pub(super) fn asks_in_output_space(&self) -> bool {
        self.dataset.batch.is_some()
            && self.config.space == Space::Output
            && self.estimation.grasp.is_none()
    }

    /// Writes the outputs Y_c (rows × outputs of the batch) of candidate
    /// `id` into `y`.
    pub fn candidate_outputs(&mut self, id: super::CandidateId, y: &mut [f64]) -> Result<()> {
        let c = self.resolve(id)?;
        if let Some(iteration) = &self.dataset.output_iteration {
            return iteration.outputs(c, y, &mut self.dataset.output_shift);
        }
        let batch = self.dataset.batch.take().ok_or_else(|| {
            ZooError::BadState(
                "candidate outputs need a batch; call set_batch (zoo_trainer_set_batch) first"
                    .into(),
            )
        })?;
        let outcome = self.forward_batch(id, &batch.x, batch.rows, y);
        self.dataset.batch = Some(batch);
        outcome
    }

    /// Tells one loss per batch row for candidate `id` (a batch set with
    /// per-sample losses); the loss is their sum. Returns the metrics when
    /// it was the last candidate of the iteration.
    pub fn tell_samples(
        &mut self,
        id: super::CandidateId,
        losses: &[f64],
    ) -> Result<Option<IterationMetrics>> {
        match &self.dataset.batch {
            Some(batch) if batch.per_sample => check_len(
                "per-sample losses (one per batch row)",
                batch.rows,
                losses.len(),
            )?,
            _ => return Err(ZooError::BadState(
                "per-sample losses need a batch set with per-sample losses; use tell for one loss"
                    .into(),
            )),
        }
        self.tell_losses(id, losses)
    }
}
