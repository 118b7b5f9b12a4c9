//! The output-space estimator of dataset mode: zoo runs the network on a
//! batch X (n × inputs), the host's black box turns the outputs Y
//! (n × outputs) into a loss, and zoo estimates ∂L/∂Y from losses at
//! perturbed outputs, then backpropagates it exactly through the network:
//! ∂L/∂θ ≈ (∂Y/∂θ)ᵀ ĝ_Y. The number of queries does not depend on the
//! number of weights.
//!
//! The candidates and the assembly are those of weight space (the
//! `estimator` option: RGE or CGE, forward or central), applied to the
//! outputs instead of θ:
//! * joint: one loss per candidate; the plan runs over all n·outputs
//!   coordinates of Y;
//! * per sample: the black box returns one loss ℓ_i per row and
//!   L = Σ_i ℓ_i; the plan runs over the `outputs` coordinates of one row,
//!   every row is shifted by the same perturbation, and each row's
//!   gradient is estimated from its own losses. With CGE this costs
//!   2·outputs queries whatever n.
//!
//! Directions come from (seed, k, j) on their own stream, so an estimate
//! is reproducible and independent of the weight-space directions.

use super::{call_loss, IterationMetrics, LossError, LossResult, Trainer};
use crate::config::{NonFinitePolicy, TrainerConfig};
use crate::error::{Result, ZooError};
use crate::estimate::{Plan, Summary};
use crate::model::{check_len, Workspace};
use crate::optim::norm;
use crate::size::{rows_times, try_vec};
use std::time::Instant;

/// One output-space iteration: the unperturbed outputs Y₀ = f(X; θ) and
/// the plan of output perturbations.
pub(super) struct OutputIteration {
    plan: Plan,
    y0: Vec<f64>,
    /// Under `lr=auto`, after the first update: the outputs at θ − s, the
    /// point the last step s started from (the plan's last candidate).
    y_reference: Option<Vec<f64>>,
    rows: usize,
    per_sample: bool,
    /// Candidate-major: one loss per candidate (joint), or one per
    /// candidate and row (per sample).
    losses: Vec<f64>,
    /// 0..dim: the plan's "active set" is every output coordinate.
    identity: Vec<usize>,
    policy: NonFinitePolicy,
}

impl OutputIteration {
    fn new(
        config: &TrainerConfig,
        iteration: u64,
        (y0, y_reference): (Vec<f64>, Option<Vec<f64>>),
        rows: usize,
        per_sample: bool,
    ) -> Result<Self> {
        let dim = if per_sample {
            y0.len() / rows
        } else {
            y0.len()
        };
        let mut plan =
            Plan::over_outputs(config.output_plan_estimator(), config.seed, iteration, dim);
        // Its candidate is written from y_reference, not from a shift.
        plan.set_reference(y_reference.as_ref().map(|_| &[][..]));
        let per_candidate = if per_sample { rows } else { 1 };
        let losses = rows_times(
            "losses (candidates × rows)",
            per_candidate,
            plan.num_candidates(),
        )?;
        Ok(Self {
            losses: try_vec(losses, f64::NAN, "losses (candidates × rows)")?,
            identity: (0..dim).collect(),
            plan,
            y0,
            y_reference,
            rows,
            per_sample,
            policy: config.nonfinite,
        })
    }

    pub(super) fn num_candidates(&self) -> usize {
        self.plan.num_candidates()
    }

    /// Losses one candidate reports: 1, or one per row.
    fn losses_per_candidate(&self) -> usize {
        if self.per_sample {
            self.rows
        } else {
            1
        }
    }

    /// Writes the outputs Y_c of candidate `c` into `out`; `shift` is
    /// reusable scratch.
    pub(super) fn outputs(&self, c: usize, out: &mut [f64], shift: &mut Vec<f64>) -> Result<()> {
        check_len("candidate outputs", self.y0.len(), out.len())?;
        if let (Some(y), true) = (&self.y_reference, self.plan.reference() == Some(c)) {
            out.copy_from_slice(y);
            return Ok(());
        }
        let dim = self.identity.len();
        shift.clear();
        shift.resize(2 * dim, 0.0);
        let (delta, direction) = shift.split_at_mut(dim);
        self.plan
            .apply(c, &self.identity, delta, direction, &mut None);
        // Joint: one chunk of n·outputs; per sample: each row gets the shift.
        for (row_out, row_y) in out.chunks_mut(dim).zip(self.y0.chunks(dim)) {
            for ((o, y), d) in row_out.iter_mut().zip(row_y).zip(delta.iter()) {
                *o = y + d;
            }
        }
        Ok(())
    }

    /// Records the loss (joint) or the per-row losses of candidate `c`.
    pub(super) fn record(&mut self, c: usize, losses: &[f64]) -> Result<()> {
        let per_candidate = self.losses_per_candidate();
        check_len(
            "losses of one candidate (one per batch row with per-sample losses, else one)",
            per_candidate,
            losses.len(),
        )?;
        if self.policy == NonFinitePolicy::Error && !self.plan.is_reported_only(c) {
            if let Some(&value) = losses.iter().find(|l| !l.is_finite()) {
                return Err(ZooError::NonFiniteLoss {
                    candidate: c,
                    value,
                });
            }
        }
        self.losses[c * per_candidate..(c + 1) * per_candidate].copy_from_slice(losses);
        Ok(())
    }

    /// ∂L/∂Y from the recorded losses, into `grad_y` (n × outputs).
    fn gradient(&mut self, grad_y: &mut Vec<f64>) -> Result<Summary> {
        grad_y.clear();
        grad_y.resize(self.y0.len(), 0.0);
        if !self.per_sample {
            return self.plan.assemble(&self.losses, grad_y, None);
        }
        let (rows, candidates) = (self.rows, self.num_candidates());
        let mut column = vec![0.0; candidates];
        let mut total = Summary {
            base_loss: self.plan.reported_only().map(|_| 0.0),
            mean_loss: 0.0,
            dropped: 0,
            reference_loss: self.plan.reference().map(|_| 0.0),
        };
        for (row, grad_row) in grad_y.chunks_mut(self.identity.len()).enumerate() {
            for (c, loss) in column.iter_mut().enumerate() {
                *loss = self.losses[c * rows + row];
            }
            let summary = self
                .plan
                .assemble(&column, grad_row, None)
                .map_err(|e| match e {
                    ZooError::IterationFailed { iteration, reason } => ZooError::IterationFailed {
                        iteration,
                        reason: format!("batch row {row}: {reason}"),
                    },
                    other => other,
                })?;
            total.base_loss = total.base_loss.zip(summary.base_loss).map(|(a, b)| a + b);
            total.reference_loss = total
                .reference_loss
                .zip(summary.reference_loss)
                .map(|(a, b)| a + b);
            total.mean_loss += summary.mean_loss;
            total.dropped += summary.dropped;
        }
        Ok(total)
    }
}

impl Trainer {
    /// Runs the network on `x` and opens an output-space iteration.
    pub(super) fn open_outputs(
        &self,
        x: &[f64],
        n: usize,
        per_sample: bool,
    ) -> Result<OutputIteration> {
        self.check_batch(x, n)?;
        let outputs = rows_times("batch outputs", n, self.model.network().num_outputs())?;
        let mut y0 = try_vec(outputs, 0.0, "batch outputs")?;
        let mut ws = Workspace::new();
        self.model.forward_batch(x, n, &mut y0, &mut ws)?;
        let y_reference = match self.reference_params() {
            Some(at) => {
                let mut y = try_vec(outputs, 0.0, "batch outputs at the reference point")?;
                self.model
                    .network()
                    .forward_batch(&at, x, n, &mut y, &mut ws)?;
                Some(y)
            }
            None => None,
        };
        OutputIteration::new(
            &self.config,
            self.iteration,
            (y0, y_reference),
            n,
            per_sample,
        )
    }

    /// One iteration in dataset mode with the output-space estimator: the
    /// network runs on `x` (`n` rows), `loss_fn` maps outputs (n × outputs,
    /// row-major) to a loss through the host's black box, and the update
    /// backpropagates the estimate of ∂L/∂Y (options `estimator`, `q`,
    /// `mu`, `cge_coords`). Masked weights stay zero. On error nothing
    /// changes.
    pub fn step_output_space<F>(
        &mut self,
        x: &[f64],
        n: usize,
        mut loss_fn: F,
    ) -> Result<&IterationMetrics>
    where
        F: FnMut(&[f64]) -> LossResult,
    {
        self.step_outputs_with(x, n, false, |c, y, losses| {
            losses[0] = call_loss(c, || loss_fn(y))?;
            Ok(())
        })
    }

    /// Like [`Trainer::step_output_space`] with per-sample losses:
    /// `losses_fn` maps outputs (n × outputs) to one loss per row, written
    /// into its second argument; the loss is their sum. Each row's
    /// gradient comes from its own losses, so the query count depends on
    /// `outputs` only (2·outputs with `estimator=cge-central`).
    pub fn step_output_samples<F>(
        &mut self,
        x: &[f64],
        n: usize,
        mut losses_fn: F,
    ) -> Result<&IterationMetrics>
    where
        F: FnMut(&[f64], &mut [f64]) -> std::result::Result<(), LossError>,
    {
        self.step_outputs_with(x, n, true, |c, y, losses| {
            call_loss(c, || losses_fn(y, losses))
        })
    }

    /// One output-space iteration, in order on this thread: `losses_of`
    /// fills the loss (or the per-row losses, pre-set to NaN) of each
    /// candidate's outputs.
    fn step_outputs_with(
        &mut self,
        x: &[f64],
        n: usize,
        per_sample: bool,
        mut losses_of: impl FnMut(usize, &[f64], &mut [f64]) -> Result<()>,
    ) -> Result<&IterationMetrics> {
        self.ensure_quiet("step in output space")?;
        let started = Instant::now();
        let mut iteration = self.open_outputs(x, n, per_sample)?;
        let (mut y, mut shift) = (try_vec(iteration.y0.len(), 0.0, "outputs")?, Vec::new());
        let mut losses = try_vec(iteration.losses_per_candidate(), f64::NAN, "losses")?;
        for c in 0..iteration.num_candidates() {
            iteration.outputs(c, &mut y, &mut shift)?;
            losses.fill(f64::NAN);
            losses_of(c, &y, &mut losses)?;
            iteration.record(c, &losses)?;
        }
        self.finish_outputs(x, n, iteration, started)
    }

    /// Turns a completed output-space iteration into an update.
    pub(super) fn finish_outputs(
        &mut self,
        x: &[f64],
        n: usize,
        mut iteration: OutputIteration,
        started: Instant,
    ) -> Result<&IterationMetrics> {
        let mut grad_y = Vec::new();
        let summary = iteration.gradient(&mut grad_y)?;
        let evaluations = iteration.num_candidates();
        self.apply_output_gradient(x, n, &grad_y, summary, evaluations, started)
    }

    /// One iteration with exact gradients from the host: `adjoint_fn`
    /// maps outputs Y (n × outputs) to the loss and writes ∂L/∂Y into its
    /// second argument (an adjoint solver, or an analytic derivative); zoo
    /// backpropagates it through the network. On error nothing changes.
    pub fn step_adjoint<F>(
        &mut self,
        x: &[f64],
        n: usize,
        mut adjoint_fn: F,
    ) -> Result<&IterationMetrics>
    where
        F: FnMut(&[f64], &mut [f64]) -> LossResult,
    {
        self.ensure_quiet("step with an adjoint")?;
        let started = Instant::now();
        let opened = self.open_outputs(x, n, false)?;
        let y = opened.y0;
        let mut grad_y = vec![0.0; y.len()];
        let loss = call_loss(0, || adjoint_fn(&y, &mut grad_y))?;
        if !loss.is_finite() {
            return Err(ZooError::NonFiniteLoss {
                candidate: 0,
                value: loss,
            });
        }
        // lr=auto: the loss at the reference point, on this call's loss.
        let reference_loss = match &opened.y_reference {
            Some(y) => {
                let mut unused = vec![0.0; y.len()];
                Some(call_loss(1, || adjoint_fn(y, &mut unused))?)
            }
            None => None,
        };
        if let Some(i) = grad_y.iter().position(|g| !g.is_finite()) {
            return Err(ZooError::InvalidArgument(format!(
                "the adjoint's ∂L/∂Y[{i}] is {}",
                grad_y[i]
            )));
        }
        let summary = Summary {
            base_loss: Some(loss),
            mean_loss: loss,
            dropped: 0,
            reference_loss,
        };
        let evaluations = 1 + usize::from(reference_loss.is_some());
        self.apply_output_gradient(x, n, &grad_y, summary, evaluations, started)
    }

    /// Backpropagates ∂L/∂Y through the network, adds the data term and
    /// applies the update.
    fn apply_output_gradient(
        &mut self,
        x: &[f64],
        n: usize,
        grad_y: &[f64],
        summary: Summary,
        evaluations: usize,
        started: Instant,
    ) -> Result<&IterationMetrics> {
        let mut grad = vec![0.0; self.model.num_params()];
        self.model
            .vjp(x, n, grad_y, &mut grad, None, &mut Workspace::new())?;
        self.refresh_active();
        let mut grad_active: Vec<f64> = self.estimation.active.iter().map(|&i| grad[i]).collect();
        let data_loss = self.add_data_term(&mut grad_active)?;
        let grad_norm = norm(&grad_active);
        if !grad_norm.is_finite() {
            return Err(ZooError::IterationFailed {
                iteration: self.iteration,
                reason: format!("the gradient is not finite (norm {grad_norm})"),
            });
        }
        let k = self.iteration;
        let compared = self.comparison(&summary, data_loss)?;
        let lr = self.optimizer.step(
            &self.config.optim,
            k,
            compared,
            self.model.params_mut(),
            &self.estimation.active,
            &mut grad_active,
        );
        self.iteration += 1;
        Ok(self.record(IterationMetrics {
            iteration: self.iteration,
            base_loss: summary.base_loss,
            mean_loss: summary.mean_loss,
            data_loss,
            evaluations,
            dropped: summary.dropped,
            grad_norm,
            lr,
            wall_time: started.elapsed().as_secs_f64(),
        }))
    }
}
