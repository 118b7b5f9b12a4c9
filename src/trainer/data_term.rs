//! The mixed loss: a data term with exact gradients added to the
//! black-box term that zoo estimates. With labelled pairs (X_d, T_d) and
//! weight w, every update uses
//! `∇L = ĝ_blackbox + w · ∇_θ mean((f(X_d; θ) − T_d)²)`,
//! the second part by backpropagation (no queries). The metric
//! `data_loss` reports `w · mean((f(X_d; θ_k) − T_d)²)` at the weights
//! before the update.

use super::Trainer;
use crate::error::{Result, ZooError};
use crate::model::{check_rows, Workspace};
use crate::size::try_copy;

/// Labelled pairs and their weight.
pub(super) struct DataTerm {
    x: Vec<f64>,
    targets: Vec<f64>,
    rows: usize,
    weight: f64,
}

impl Trainer {
    /// Adds `weight · mean((f(x; θ) − targets)²)` over `n` labelled rows to
    /// the loss of every following update, with its exact gradient.
    /// Replaces any earlier data term. On error nothing changes.
    pub fn set_data_term(
        &mut self,
        x: &[f64],
        targets: &[f64],
        n: usize,
        weight: f64,
    ) -> Result<()> {
        self.ensure_quiet("set the data term")?;
        let network = self.model.network();
        if n == 0 {
            return Err(ZooError::InvalidArgument(
                "the data term has no rows (nrows = 0)".into(),
            ));
        }
        check_rows("data-term inputs", n, network.num_inputs(), x.len())?;
        check_rows("data-term targets", n, network.num_outputs(), targets.len())?;
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(ZooError::InvalidArgument(format!(
                "the data-term weight must be a finite number ≥ 0, got {weight}"
            )));
        }
        for (what, values) in [("input", x), ("target", targets)] {
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(ZooError::InvalidArgument(format!(
                    "data-term {what} {i} is {}",
                    values[i]
                )));
            }
        }
        self.dataset.data_term = Some(DataTerm {
            x: try_copy(x, "data-term inputs")?,
            targets: try_copy(targets, "data-term targets")?,
            rows: n,
            weight,
        });
        Ok(())
    }

    /// Removes the data term.
    pub fn clear_data_term(&mut self) -> Result<()> {
        self.ensure_quiet("clear the data term")?;
        self.dataset.data_term = None;
        Ok(())
    }

    /// The weighted data-term loss at `params` (same length as θ), or
    /// `None` without a data term.
    pub(super) fn data_loss_at(&self, params: &[f64]) -> Result<Option<f64>> {
        let Some(term) = &self.dataset.data_term else {
            return Ok(None);
        };
        let residual = self.data_residuals(term, params, &mut Workspace::new())?;
        let squares: f64 = residual.iter().map(|r| r * r).sum();
        Ok(Some(term.weight / residual.len() as f64 * squares))
    }

    /// f(X_d; params) − T_d.
    fn data_residuals(
        &self,
        term: &DataTerm,
        params: &[f64],
        ws: &mut Workspace,
    ) -> Result<Vec<f64>> {
        let mut residual = vec![0.0; term.targets.len()];
        self.model
            .network()
            .forward_batch(params, &term.x, term.rows, &mut residual, ws)?;
        for (r, t) in residual.iter_mut().zip(&term.targets) {
            *r -= t;
        }
        Ok(residual)
    }

    /// Adds the data term's gradient to `grad_active` (one entry per
    /// coordinate of the estimation set) and returns its weighted loss,
    /// or `None` without a data term.
    pub(super) fn add_data_term(&self, grad_active: &mut [f64]) -> Result<Option<f64>> {
        let Some(term) = &self.dataset.data_term else {
            return Ok(None);
        };
        let mut ws = Workspace::new();
        let mut residual = self.data_residuals(term, self.model.params(), &mut ws)?;
        let scale = term.weight / residual.len() as f64;
        let mut loss = 0.0;
        for r in residual.iter_mut() {
            loss += *r * *r;
            *r *= 2.0 * scale;
        }
        let mut grad = vec![0.0; self.model.num_params()];
        self.model
            .vjp(&term.x, term.rows, &residual, &mut grad, None, &mut ws)?;
        for (g, &i) in grad_active.iter_mut().zip(&self.estimation.active) {
            *g += grad[i];
        }
        Ok(Some(scale * loss))
    }
}
