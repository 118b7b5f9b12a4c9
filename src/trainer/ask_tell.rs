//! Reverse communication: the host asks for candidate ids, evaluates them
//! however it likes (its own loop, a batch of ensemble members, a kernel
//! reading [`Trainer::candidate_params`]) and tells the losses back. The
//! update is applied when the last loss of the iteration arrives.
//!
//! The order of tells does not matter: each loss goes to its candidate's
//! slot, so ask/tell gives bit-identical weights to [`Trainer::step`].
//! Candidates being forwarded are materialized in slots, one parameter
//! vector per candidate asked and not yet told; a slot is reused once its
//! candidate is told.

use super::{CandidateId, IterationMetrics, Scratch, Trainer};
use crate::error::{Result, ZooError};
use crate::estimate::Plan;
use crate::model::check_len;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Asked,
    Told,
}

/// An iteration opened by `ask`.
pub(super) struct AskState {
    status: Vec<Status>,
    next: usize,
    pub(super) told: usize,
    started: Instant,
}

impl AskState {
    pub(super) fn num_candidates(&self) -> usize {
        self.status.len()
    }
}

/// A materialized candidate for `forward` and `candidate_params`.
#[derive(Default)]
pub(super) struct Slot {
    holder: Option<usize>,
    scratch: Scratch,
}

impl Trainer {
    /// Hands out the next candidate of the open iteration (opening one if
    /// none is open), or `None` when every candidate has been handed out
    /// and losses are still awaited.
    /// A trainer with a communicator hands out nothing: across ranks, use
    /// `step` or `step_parallel`.
    pub fn ask(&mut self) -> Option<CandidateId> {
        if self.ranks.comm.is_some() {
            return None;
        }
        if self.open.ask.is_none() {
            let candidates = if self.asks_in_output_space() {
                let batch = self
                    .dataset
                    .batch
                    .as_ref()
                    .expect("checked by asks_in_output_space");
                let iteration = self
                    .open_outputs(&batch.x, batch.rows, batch.per_sample)
                    .expect("set_batch checked the batch's shape");
                self.open.serial += 1;
                self.dataset
                    .output_iteration
                    .insert(iteration)
                    .num_candidates()
            } else {
                self.open();
                self.estimation.plan.num_candidates()
            };
            self.open.ask = Some(AskState {
                status: vec![Status::Waiting; candidates],
                next: 0,
                told: 0,
                started: Instant::now(),
            });
            for slot in &mut self.open.ask_slots {
                slot.holder = None;
            }
        }
        let state = self.open.ask.as_mut().expect("opened above");
        if state.next == state.status.len() {
            return None;
        }
        let c = state.next;
        state.status[c] = Status::Asked;
        state.next += 1;
        Some(CandidateId::new(self.open.serial, c))
    }

    /// Hands out up to `max` candidates at once (fewer at the end of an
    /// iteration; none when all have been handed out).
    pub fn ask_batch(&mut self, max: usize) -> Vec<CandidateId> {
        let mut ids = Vec::with_capacity(max.min(self.candidates_per_iteration()));
        while ids.len() < max {
            match self.ask() {
                Some(id) => ids.push(id),
                None => break,
            }
        }
        ids
    }

    /// The position of `id` in the open iteration, if it was asked and not
    /// yet told.
    pub(super) fn resolve(&self, id: CandidateId) -> Result<usize> {
        let bad = |reason: &str| ZooError::BadCandidate {
            id: id.to_raw(),
            reason: reason.into(),
        };
        let state = self
            .open
            .ask
            .as_ref()
            .ok_or_else(|| bad("no iteration is open; call ask first"))?;
        if id.serial() != self.open.serial {
            return Err(bad(
                "stale: it belongs to an iteration that completed or was aborted",
            ));
        }
        match state.status.get(id.index()) {
            None => Err(bad("unknown: no such candidate in this iteration")),
            Some(Status::Waiting) => Err(bad("was never handed out by ask")),
            Some(Status::Told) => Err(bad("its loss was already told")),
            Some(Status::Asked) => Ok(id.index()),
        }
    }

    /// Runs the network with θ_c of candidate `id` on one input.
    pub fn forward(&mut self, id: CandidateId, x: &[f64], y: &mut [f64]) -> Result<()> {
        self.forward_batch(id, x, 1, y)
    }

    /// Runs the network with θ_c of candidate `id` on `n` rows of `x`.
    pub fn forward_batch(
        &mut self,
        id: CandidateId,
        x: &[f64],
        n: usize,
        y: &mut [f64],
    ) -> Result<()> {
        let c = self.resolve(id)?;
        self.ensure_weight_candidate()?;
        let slot = materialized(
            &mut self.open.ask_slots,
            &self.estimation.plan,
            self.model.params(),
            &self.estimation.active,
            self.open.serial,
            c,
        );
        let reuse = self.config.feature_reuse.then_some((
            &self.estimation.plan,
            &self.estimation.active[..],
            self.model.params(),
        ));
        slot.scratch
            .view(self.model.network(), id, reuse)
            .forward_batch(x, n, y)
    }

    /// Writes θ_c of candidate `id` into `out` (length `num_params`).
    pub fn candidate_params(&mut self, id: CandidateId, out: &mut [f64]) -> Result<()> {
        let c = self.resolve(id)?;
        self.ensure_weight_candidate()?;
        check_len("candidate parameters", self.model.num_params(), out.len())?;
        let slot = materialized(
            &mut self.open.ask_slots,
            &self.estimation.plan,
            self.model.params(),
            &self.estimation.active,
            self.open.serial,
            c,
        );
        out.copy_from_slice(slot.scratch.params());
        Ok(())
    }

    /// Output-space candidates perturb outputs; their weights are θ.
    fn ensure_weight_candidate(&self) -> Result<()> {
        match self.dataset.output_iteration {
            Some(_) => Err(ZooError::BadState(
                "this iteration perturbs the batch's outputs (space=output), not the weights; read them with candidate_outputs".into(),
            )),
            None => Ok(()),
        }
    }

    /// Records the loss of candidate `id`. When it is the last one of the
    /// iteration the update is applied and its metrics returned.
    ///
    /// A non-finite loss under `nonfinite=error`, or an iteration that
    /// cannot produce an update, aborts the iteration: weights, optimizer
    /// state and the iteration counter are unchanged and the next `ask`
    /// starts the iteration again.
    pub fn tell(&mut self, id: CandidateId, loss: f64) -> Result<Option<IterationMetrics>> {
        if self.dataset.batch.as_ref().is_some_and(|b| b.per_sample) {
            return Err(ZooError::BadState(
                "the batch was set with per-sample losses; tell one loss per row with tell_samples"
                    .into(),
            ));
        }
        self.tell_losses(id, &[loss])
    }

    /// Records candidate `id`'s loss, or its per-row losses.
    pub(super) fn tell_losses(
        &mut self,
        id: CandidateId,
        losses: &[f64],
    ) -> Result<Option<IterationMetrics>> {
        let c = self.resolve(id)?;
        let recorded = match &mut self.dataset.output_iteration {
            Some(iteration) => iteration.record(c, losses),
            None => {
                // Per-row losses in weight space: the loss is their sum.
                // The reported-only base point is not part of the estimate:
                // no non-finite policy applies to it.
                let loss = losses.iter().sum();
                let checked = if self.estimation.plan.reported_only() == Some(c) {
                    Ok(loss)
                } else {
                    self.evaluation().check(c, loss)
                };
                checked.map(|_| self.open.losses[c] = loss)
            }
        };
        if let Err(e) = recorded {
            self.abort_iteration();
            return Err(e);
        }
        if let Some(slot) = self.open.ask_slots.iter_mut().find(|s| s.holder == Some(c)) {
            slot.holder = None;
        }
        let state = self
            .open
            .ask
            .as_mut()
            .expect("resolved ids imply an open iteration");
        state.status[c] = Status::Told;
        state.told += 1;
        if state.told < state.status.len() {
            return Ok(None);
        }
        let started = state.started;
        self.open.ask = None;
        match self.dataset.output_iteration.take() {
            Some(iteration) => {
                let batch = self
                    .dataset
                    .batch
                    .take()
                    .expect("output iterations need a batch");
                let outcome = self
                    .finish_outputs(&batch.x, batch.rows, iteration, started)
                    .copied();
                self.dataset.batch = Some(batch);
                outcome.map(Some)
            }
            None => self.finish(started).copied().map(Some),
        }
    }

    /// Discards the open ask/tell iteration, if any; nothing else changes.
    pub fn abort_iteration(&mut self) {
        self.open.ask = None;
        self.dataset.output_iteration = None;
        self.cancel_zo_grasp();
        for slot in &mut self.open.ask_slots {
            slot.holder = None;
        }
    }
}

/// The slot holding candidate `c` (taking a free one, or adding one),
/// with θ_c materialized.
fn materialized<'a>(
    slots: &'a mut Vec<Slot>,
    plan: &Plan,
    theta: &[f64],
    active: &[usize],
    serial: u64,
    c: usize,
) -> &'a mut Slot {
    let index = match slots.iter().position(|s| s.holder == Some(c)) {
        Some(i) => i,
        None => {
            let i = slots
                .iter()
                .position(|s| s.holder.is_none())
                .unwrap_or_else(|| {
                    slots.push(Slot::default());
                    slots.len() - 1
                });
            slots[i].holder = Some(c);
            i
        }
    };
    let slot = &mut slots[index];
    slot.scratch.materialize(plan, theta, active, serial, c);
    slot
}
