//! The trainer: model + estimator + optimizer + schedule + seed + iteration
//! counter, and the state machine of one iteration.
//!
//! An iteration opens with a fixed list of candidates (its [`Plan`]), gets
//! one loss per candidate, either from [`Trainer::step`] /
//! [`Trainer::step_parallel`] or through ask/tell, and closes with one
//! optimizer update. A failed iteration (a loss function error, a
//! non-finite loss under `nonfinite=error`, a non-finite base loss of a
//! forward estimator, every candidate dropped) changes nothing: weights, optimizer state and the
//! iteration counter stay as they were, and retrying evaluates the same
//! candidates again.
//!
//! ```
//! use zoo::model::{Activation, Model};
//! use zoo::trainer::Trainer;
//! let model = Model::mlp(&[1, 4, 1], Activation::Tanh, 1).unwrap();
//! let mut trainer = Trainer::new(model, "estimator=cge-central lr=0.05").unwrap();
//! for _ in 0..20 {
//!     trainer.step(|c| {
//!         let mut y = [0.0];
//!         c.forward(&[0.5], &mut y).unwrap();
//!         Ok((y[0] - 1.0).powi(2))
//!     }).unwrap();
//! }
//! assert!(trainer.last_metrics().unwrap().mean_loss < 0.5);
//! ```

mod ask_tell;
mod candidate;
mod checkpointing;
mod data_term;
mod dataset;
mod forward_many;
mod metrics_log;
mod mu_scan;
mod output_space;
mod ranks;
mod sparse;

pub(crate) use candidate::{call_loss, with_spare_workspace, Scratch};
pub use candidate::{Candidate, CandidateId, LossError, LossResult};
pub use forward_many::ManyInputs;
pub use mu_scan::MAX_SCAN_DIRECTIONS;
pub use ranks::{Allreduce, Partition};

use crate::config::TrainerConfig;
use crate::error::{Result, ZooError};
use crate::estimate::{Plan, Summary};
use crate::model::Model;
use crate::optim::{norm, Comparison, Optimizer};
use crate::schedule::{Evaluation, LazyPool, Share};
use ask_tell::AskState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What one completed iteration did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IterationMetrics {
    /// Completed iterations once this one is done (1 after the first): what
    /// [`Trainer::iteration`] returns after it. A ZO-GraSP probe, which
    /// applies no update, leaves it unchanged.
    pub iteration: u64,
    /// L(θ_k) when the iteration evaluates θ: forward variants, and central
    /// ones with option `base_loss=on` or `lr=auto` (then as the host
    /// returned it, NaN or infinite included: that loss is only reported).
    pub base_loss: Option<f64>,
    /// Mean of the finite losses of the candidates the estimate is made
    /// from: L(θ_k) + O(μ²) for central ones.
    pub mean_loss: f64,
    /// The weighted data term at θ_k, when one is set (not part of the
    /// losses above).
    pub data_loss: Option<f64>,
    /// Losses received (the reported-only base point and, under
    /// `lr=auto`, reference point included).
    pub evaluations: usize,
    /// Candidates dropped for non-finite losses (theirs or their partner's).
    pub dropped: usize,
    /// Norm of the gradient estimate, before clipping.
    pub grad_norm: f64,
    /// Learning rate of the update.
    pub lr: f64,
    /// Seconds from opening the iteration to the end of its update.
    pub wall_time: f64,
}

impl IterationMetrics {
    /// L(θ_k) where it was evaluated (the base loss), else its central
    /// estimate (the mean loss).
    pub fn loss(&self) -> f64 {
        self.base_loss.unwrap_or(self.mean_loss)
    }
}

/// Trains a [`Model`] from loss values alone.
///
/// Its state is grouped by concern, each part with one owner module:
/// the iteration in progress ([`OpenIteration`], ask/tell), which
/// coordinates it perturbs ([`EstimationSet`], sparsity), dataset mode
/// ([`DatasetMode`]), ranks ([`RankState`]) and metrics ([`Logging`]).
pub struct Trainer {
    model: Model,
    config: TrainerConfig,
    optimizer: Optimizer,
    /// Completed iterations.
    iteration: u64,
    pool: LazyPool,
    /// One per started pool thread (one when no pool runs).
    scratch: Vec<Mutex<Scratch>>,
    open: OpenIteration,
    estimation: EstimationSet,
    dataset: DatasetMode,
    ranks: RankState,
    log: Logging,
}

/// The iteration in progress: its losses and gradient, and the ask/tell
/// bookkeeping when the host drives it.
#[derive(Default)]
struct OpenIteration {
    /// Counts opened iterations; names candidate ids and scratch contents.
    serial: u64,
    losses: Vec<f64>,
    grad: Vec<f64>,
    ask: Option<AskState>,
    ask_slots: Vec<ask_tell::Slot>,
}

/// Which coordinates the open (or next) iteration perturbs, and the
/// pruning state that decides them.
struct EstimationSet {
    plan: Plan,
    /// The model's active set, or a redrawn subset of it.
    active: Vec<usize>,
    /// What `active` was computed for, so it is redrawn only when needed.
    active_key: Option<sparse::ActiveKey>,
    /// Bumped whenever the model's mask changes.
    mask_version: u64,
    grasp: Option<sparse::GraspProbe>,
    grasp_scores: Option<Vec<f64>>,
}

/// Dataset mode: the batch ask/tell candidates run on, the open
/// output-space iteration, and the mixed loss's data term.
#[derive(Default)]
struct DatasetMode {
    batch: Option<dataset::Batch>,
    output_iteration: Option<output_space::OutputIteration>,
    /// Scratch of output-space candidates.
    output_shift: Vec<f64>,
    data_term: Option<data_term::DataTerm>,
}

/// The host's communicator and the buffer its allreduce reuses.
#[derive(Default)]
struct RankState {
    comm: Option<ranks::Communicator>,
    reduce_buf: Vec<f64>,
}

/// Metrics of the last iteration and where they are written.
#[derive(Default)]
struct Logging {
    metrics: Option<IterationMetrics>,
    metrics_log: Option<metrics_log::MetricsLog>,
    metrics_write_errors: u64,
}

impl Trainer {
    /// A trainer of `model` with `options` (see [`crate::config::OPTIONS`]).
    pub fn new(model: Model, options: &str) -> Result<Self> {
        Self::with_config(model, TrainerConfig::parse(options)?)
    }

    /// A trainer of `model` with a validated configuration.
    pub fn with_config(model: Model, config: TrainerConfig) -> Result<Self> {
        if model.num_active() == 0 {
            return Err(ZooError::InvalidArgument(
                "the model has no active parameters to train (every coordinate is masked)".into(),
            ));
        }
        let pool = LazyPool::new(config.threads);
        let plan = Plan::new(config.plan_estimator(), config.seed, 0, model.num_active());
        let mut trainer = Self {
            optimizer: Optimizer::new(model.num_params()),
            open: OpenIteration {
                grad: vec![0.0; model.num_active()],
                ..OpenIteration::default()
            },
            estimation: EstimationSet {
                plan,
                active: model.active().to_vec(),
                active_key: None,
                mask_version: 0,
                grasp: None,
                grasp_scores: None,
            },
            dataset: DatasetMode::default(),
            ranks: RankState::default(),
            log: Logging {
                metrics_log: metrics_log::MetricsLog::open(&config.metrics_file)?,
                ..Logging::default()
            },
            model,
            config,
            iteration: 0,
            pool,
            scratch: Vec::new(),
        };
        trainer.resize_scratch();
        Ok(trainer)
    }

    fn resize_scratch(&mut self) {
        let threads = self.pool.started().map_or(1, |p| p.current_num_threads());
        self.scratch = (0..threads)
            .map(|_| Mutex::new(Scratch::default()))
            .collect();
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The current weights θ_k.
    pub fn params(&self) -> &[f64] {
        self.model.params()
    }

    /// Completed iterations.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    pub fn config(&self) -> &TrainerConfig {
        &self.config
    }

    /// Threads evaluating thread-safe loss functions (started on first use).
    pub fn num_threads(&self) -> usize {
        self.pool.size()
    }

    /// Metrics of the last completed iteration.
    pub fn last_metrics(&self) -> Option<&IterationMetrics> {
        self.log.metrics.as_ref()
    }

    /// Candidates the next iteration evaluates (the open one's, if any),
    /// on all ranks together: with a communicator and
    /// `partition=candidates` this rank evaluates those c ≡ rank (mod size).
    pub fn candidates_per_iteration(&self) -> usize {
        if let Some(state) = &self.open.ask {
            state.num_candidates()
        } else if let (true, Some(batch)) = (self.asks_in_output_space(), &self.dataset.batch) {
            let outputs = self.model.network().num_outputs();
            let dim = if batch.per_sample {
                outputs
            } else {
                batch.rows.saturating_mul(outputs)
            };
            Plan::over_outputs(
                self.config.output_plan_estimator(),
                self.config.seed,
                self.iteration,
                dim,
            )
            .num_candidates()
                + usize::from(self.reference_step().is_some())
        } else {
            let active = sparse::estimation_active(&self.model, &self.config, self.iteration);
            Plan::new(
                self.config.plan_estimator(),
                self.config.seed,
                self.iteration,
                active.len(),
            )
            .num_candidates()
                + usize::from(self.reference_step().is_some())
        }
    }

    fn ensure_idle(&self, what: &str) -> Result<()> {
        match &self.open.ask {
            Some(state) => Err(ZooError::BadState(format!(
                "cannot {what} while iteration {} has {} of {} losses outstanding from ask/tell; tell them or abort the iteration",
                self.iteration,
                state.outstanding(),
                state.local()
            ))),
            None => Ok(()),
        }
    }

    /// Sets one option (see [`TrainerConfig::set`]). Changing `optimizer`
    /// resets the optimizer state; changing `threads` restarts the pool.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        self.ensure_quiet("change options")?;
        let mut next = self.config.clone();
        next.set(key, value)?;
        self.reconfigure(next)
    }

    /// Applies several `key=value` options, all or nothing.
    pub fn apply(&mut self, options: &str) -> Result<()> {
        self.ensure_quiet("change options")?;
        let mut next = self.config.clone();
        next.apply(options)?;
        self.reconfigure(next)
    }

    fn reconfigure(&mut self, next: TrainerConfig) -> Result<()> {
        let reopened =
            if next.metrics_file != self.log.metrics_log.as_ref().map_or("", |log| log.path()) {
                Some(metrics_log::MetricsLog::open(&next.metrics_file)?)
            } else {
                None
            };
        if next.threads != self.config.threads {
            self.pool = LazyPool::new(next.threads);
            self.resize_scratch();
        }
        if let Some(log) = reopened {
            self.log.metrics_log = log;
        }
        if next.optim.kind != self.config.optim.kind {
            self.optimizer = Optimizer::new(self.model.num_params());
        }
        if next.optim.auto_lr != self.config.optim.auto_lr {
            // A step taken under another rule is no reference for lr=auto.
            self.optimizer.forget_auto_step();
        }
        self.config = next;
        Ok(())
    }

    /// The current value of an option.
    pub fn get(&self, key: &str) -> Result<String> {
        self.config.get(key)
    }

    /// Replaces θ (see [`Model::set_params`]); optimizer state is kept,
    /// but `lr=auto` forgets its last step, which led to the old θ.
    pub fn set_params(&mut self, params: &[f64]) -> Result<()> {
        self.ensure_quiet("set parameters")?;
        self.model.set_params(params)?;
        self.optimizer.forget_auto_step();
        Ok(())
    }

    /// Opens iteration `self.iteration`: a new serial and plan.
    fn open(&mut self) {
        self.open.serial += 1;
        self.refresh_active();
        let c = &self.config;
        self.estimation.plan.reset(
            c.plan_estimator(),
            c.seed,
            self.iteration,
            self.estimation.active.len(),
        );
        let step = auto_reference(&self.config, &self.estimation, &self.optimizer);
        self.estimation.plan.set_reference(step);
        self.open.grad.resize(self.estimation.active.len(), 0.0);
        self.open.losses.clear();
        self.open
            .losses
            .resize(self.estimation.plan.num_candidates(), f64::NAN);
    }

    /// The last `lr=auto` step, whose starting point an iteration that
    /// updates θ re-evaluates (not a ZO-GraSP probe's).
    fn reference_step(&self) -> Option<&[f64]> {
        auto_reference(&self.config, &self.estimation, &self.optimizer)
    }

    /// θ − s, the point [`Trainer::reference_step`]'s step started from.
    fn reference_params(&self) -> Option<Vec<f64>> {
        let step = self.reference_step()?;
        Some(self.params().iter().zip(step).map(|(t, s)| t - s).collect())
    }

    fn evaluation(&self) -> Evaluation<'_> {
        Evaluation {
            plan: &self.estimation.plan,
            model: &self.model,
            active: &self.estimation.active,
            feature_reuse: self.config.feature_reuse,
            share: self.share(),
            serial: self.open.serial,
            policy: self.config.nonfinite,
        }
    }

    /// Runs one iteration, evaluating candidates in order on this thread.
    pub fn step<F>(&mut self, mut loss_fn: F) -> Result<&IterationMetrics>
    where
        F: FnMut(&mut Candidate) -> LossResult,
    {
        self.ensure_idle("step")?;
        let started = Instant::now();
        self.open();
        let mut losses = std::mem::take(&mut self.open.losses);
        let aside = AsideLoss::new(&self.estimation.plan);
        let mut scratch = self.scratch[0].lock().unwrap_or_else(|p| p.into_inner());
        let outcome =
            self.evaluation()
                .sequential(&mut scratch, &mut losses, |c: &mut Candidate| {
                    aside.divert(c.index(), loss_fn(c))
                });
        drop(scratch);
        aside.restore(&mut losses, self.share());
        self.open.losses = losses;
        self.combine_losses(outcome)?;
        self.finish(started)
    }

    /// Runs one iteration with a thread-safe loss function, evaluating
    /// candidates on the trainer's `threads` threads.
    pub fn step_parallel<F>(&mut self, loss_fn: F) -> Result<&IterationMetrics>
    where
        F: Fn(&mut Candidate) -> LossResult + Sync,
    {
        self.ensure_idle("step")?;
        if self.pool.start()?.is_none() {
            return self.step(loss_fn);
        }
        if self.scratch.len() != self.pool.size() {
            self.resize_scratch();
        }
        let started = Instant::now();
        self.open();
        let mut losses = std::mem::take(&mut self.open.losses);
        let aside = AsideLoss::new(&self.estimation.plan);
        let pool = self.pool.started().expect("started above");
        let outcome =
            self.evaluation()
                .parallel(pool, &self.scratch, &mut losses, &|c: &mut Candidate| {
                    aside.divert(c.index(), loss_fn(c))
                });
        aside.restore(&mut losses, self.share());
        self.open.losses = losses;
        self.combine_losses(outcome)?;
        self.finish(started)
    }

    /// Evaluates `loss_fn` at the current weights θ_k without changing
    /// anything: a validation or test loss through the same black box. The
    /// candidate view has index 0 and belongs to no iteration.
    pub fn evaluate<F>(&mut self, loss_fn: F) -> Result<f64>
    where
        F: FnOnce(&mut Candidate) -> LossResult,
    {
        let mut scratch = self.scratch[0].lock().unwrap_or_else(|p| p.into_inner());
        let mut view = Candidate {
            id: CandidateId::new(0, 0),
            network: self.model.network(),
            params: self.model.params(),
            workspace: Mutex::new(&mut scratch.workspace),
            reuse: None,
        };
        call_loss(0, || loss_fn(&mut view))
    }

    /// Turns the iteration's losses into one update. On error nothing of
    /// the trainer's state changes.
    fn finish(&mut self, started: Instant) -> Result<&IterationMetrics> {
        let summary = self.estimation.plan.assemble(
            &self.open.losses,
            &mut self.open.grad,
            self.pool.started(),
        )?;
        let data_loss = match self.estimation.grasp {
            Some(_) => None,
            None => {
                let mut grad = std::mem::take(&mut self.open.grad);
                let added = self.add_data_term(&mut grad);
                self.open.grad = grad;
                added?
            }
        };
        let grad_norm = norm(&self.open.grad);
        if !grad_norm.is_finite() {
            return Err(ZooError::IterationFailed {
                iteration: self.iteration,
                reason: format!("the gradient estimate is not finite (norm {grad_norm}); losses may be too large"),
            });
        }
        let k = self.iteration;
        let probe = self.estimation.grasp.is_some();
        let lr = if probe {
            self.advance_zo_grasp()?;
            0.0
        } else {
            let compared = self.comparison(&summary, data_loss)?;
            let theta = self.model.params_mut();
            let lr = self.optimizer.step(
                &self.config.optim,
                k,
                compared,
                theta,
                &self.estimation.active,
                &mut self.open.grad,
            );
            self.iteration += 1;
            lr
        };
        let metrics = IterationMetrics {
            iteration: self.iteration,
            base_loss: summary.base_loss,
            mean_loss: summary.mean_loss,
            data_loss,
            evaluations: self.open.losses.len(),
            dropped: summary.dropped,
            grad_norm,
            lr,
            wall_time: started.elapsed().as_secs_f64(),
        };
        // ZO-GraSP probes are not training iterations: not logged.
        Ok(if probe {
            self.log.metrics.insert(metrics)
        } else {
            self.record(metrics)
        })
    }
}

impl Trainer {
    /// What `lr=auto` compares: L(θ_k), the base loss as it came where it
    /// was evaluated (a NaN or infinite one rejects the step that led to
    /// θ_k), else the mean candidate loss; and the reference point's loss
    /// where the iteration evaluated it; each plus the data term at its
    /// point when one is set.
    fn comparison(&self, summary: &Summary, data_loss: Option<f64>) -> Result<Comparison> {
        let current = summary.base_loss.unwrap_or(summary.mean_loss) + data_loss.unwrap_or(0.0);
        let reference = match (summary.reference_loss, self.dataset.data_term.is_some()) {
            (Some(loss), true) => match self.reference_params() {
                Some(at) => Some(loss + self.data_loss_at(&at)?.unwrap_or(0.0)),
                None => Some(loss),
            },
            (loss, _) => loss,
        };
        Ok(Comparison { current, reference })
    }
}

/// The last `lr=auto` step when the next iteration updates θ (not a
/// ZO-GraSP probe): its starting point is re-evaluated. A free function so
/// that opening an iteration can borrow the plan mutably beside it.
fn auto_reference<'a>(
    config: &TrainerConfig,
    estimation: &EstimationSet,
    optimizer: &'a Optimizer,
) -> Option<&'a [f64]> {
    if !config.optim.auto_lr || estimation.grasp.is_some() {
        return None;
    }
    optimizer.auto_step().reference_step()
}

/// The loss of the plan's reported-only base point (option `base_loss`),
/// kept aside while the schedule evaluates the candidates: the non-finite
/// policy guards the estimate, and this loss is not part of it, so a NaN
/// there must neither drop nor abort the iteration.
struct AsideLoss {
    /// The base point's and the reference point's, where the plan has them.
    candidates: [Option<usize>; 2],
    bits: [AtomicU64; 2],
}

impl AsideLoss {
    fn new(plan: &Plan) -> Self {
        let nan = || AtomicU64::new(f64::NAN.to_bits());
        Self {
            candidates: [plan.reported_only(), plan.reference()],
            bits: [nan(), nan()],
        }
    }

    /// `result` of candidate `c`; a reported-only loss is kept here and
    /// a finite stand-in goes to the schedule.
    fn divert(&self, c: usize, result: LossResult) -> LossResult {
        match result {
            Ok(loss) => match self.candidates.iter().position(|&r| r == Some(c)) {
                Some(slot) => {
                    self.bits[slot].store(loss.to_bits(), Ordering::Relaxed);
                    Ok(0.0)
                }
                None => Ok(loss),
            },
            other => other,
        }
    }

    /// Puts the kept losses back into their slots, where this process
    /// evaluated them.
    fn restore(&self, losses: &mut [f64], share: Share) {
        for (candidate, bits) in self.candidates.iter().zip(&self.bits) {
            if let Some(c) = candidate.filter(|&c| share.owns(c)) {
                losses[c] = f64::from_bits(bits.load(Ordering::Relaxed));
            }
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_auto;
#[cfg(test)]
mod tests_base_loss;
#[cfg(test)]
mod tests_dataset;
#[cfg(test)]
mod tests_ranks;
#[cfg(test)]
mod tests_sparse;
