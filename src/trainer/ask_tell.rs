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
//!
//! Across ranks (a trainer with a communicator) each rank is handed out
//! its own share, as [`Trainer::step`] evaluates it: with
//! `partition=candidates` the candidates c ≡ rank (mod size), with
//! `partition=replicated` all of them. The rank's last tell is collective:
//! it makes the same allreduce of the loss vector as `step`, so the update
//! is bit for bit the one `step` applies on the same ranks. A rank that
//! owns no candidate (more ranks than candidates) takes part in that
//! allreduce in the `ask` that opens the iteration. A failed tell or an
//! [`Trainer::abort_iteration`] on one rank joins the allreduce as a failed
//! rank, so that every rank aborts the iteration instead of waiting.

use super::{CandidateId, IterationMetrics, Scratch, Trainer};
use crate::error::{Result, ZooError};
use crate::estimate::Plan;
use crate::model::check_len;
use crate::schedule::Share;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Asked,
    Told,
    /// Evaluated by another rank.
    Remote,
}

/// An iteration opened by `ask`.
pub(super) struct AskState {
    status: Vec<Status>,
    next: usize,
    told: usize,
    /// Candidates this process evaluates (all of them without a
    /// communicator).
    local: usize,
    started: Instant,
}

impl AskState {
    pub(super) fn num_candidates(&self) -> usize {
        self.status.len()
    }

    /// Losses this process has still to tell.
    pub(super) fn outstanding(&self) -> usize {
        self.local - self.told
    }

    /// Losses this process tells in all.
    pub(super) fn local(&self) -> usize {
        self.local
    }
}

/// A materialized candidate for `forward` and `candidate_params`.
#[derive(Default)]
pub(super) struct Slot {
    pub(super) holder: Option<usize>,
    pub(super) scratch: Scratch,
}

impl Trainer {
    /// Hands out the next candidate of the open iteration (opening one if
    /// none is open), or `None` when every candidate has been handed out
    /// and losses are still awaited.
    ///
    /// With a communicator it hands out this rank's share only. On a rank
    /// that owns no candidate of the iteration (more ranks than
    /// candidates) the `ask` that opens it takes part in the update at
    /// once (collective, like the last tell of the other ranks) and
    /// returns `None`; its errors are those of [`Trainer::tell`]'s
    /// completion. Output-space iterations (a batch with `space=output`)
    /// are not shared among ranks: asking one on a trainer with a
    /// communicator is an error.
    pub fn ask(&mut self) -> Result<Option<CandidateId>> {
        if self.open.ask.is_none() {
            self.open_asked()?;
            if self.open.ask.as_ref().is_some_and(|s| s.local == 0) {
                self.complete_asked()?;
                return Ok(None);
            }
        }
        let state = self.open.ask.as_mut().expect("opened above");
        while state.status.get(state.next) == Some(&Status::Remote) {
            state.next += 1;
        }
        if state.next == state.status.len() {
            return Ok(None);
        }
        let c = state.next;
        state.status[c] = Status::Asked;
        state.next += 1;
        Ok(Some(CandidateId::new(self.open.serial, c)))
    }

    /// Opens an ask/tell iteration: this process's share of the
    /// candidates waits to be handed out.
    fn open_asked(&mut self) -> Result<()> {
        let (candidates, share) = if self.asks_in_output_space() {
            if self.ranks.comm.is_some() {
                return Err(ZooError::BadState(
                    "output-space iterations (a batch with space=output) are not shared among ranks; \
                     with a communicator use space=weights, or ask/tell without one"
                        .into(),
                ));
            }
            let batch = self
                .dataset
                .batch
                .as_ref()
                .expect("checked by asks_in_output_space");
            let iteration = self
                .open_outputs(&batch.x, batch.rows, batch.per_sample)
                .expect("set_batch checked the batch's shape");
            self.open.serial += 1;
            let candidates = self
                .dataset
                .output_iteration
                .insert(iteration)
                .num_candidates();
            (candidates, Share::ALL)
        } else {
            self.open();
            let share = self.share();
            // Losses of other ranks' candidates are theirs: 0 here, so the
            // allreduce gives every rank every loss exactly.
            for (c, loss) in self.open.losses.iter_mut().enumerate() {
                if !share.owns(c) {
                    *loss = 0.0;
                }
            }
            (self.estimation.plan.num_candidates(), share)
        };
        let status: Vec<Status> = (0..candidates)
            .map(|c| {
                if share.owns(c) {
                    Status::Waiting
                } else {
                    Status::Remote
                }
            })
            .collect();
        self.open.ask = Some(AskState {
            local: status.iter().filter(|s| **s == Status::Waiting).count(),
            status,
            next: 0,
            told: 0,
            started: Instant::now(),
        });
        for slot in &mut self.open.ask_slots {
            slot.holder = None;
        }
        Ok(())
    }

    /// Hands out up to `max` candidates at once (fewer at the end of an
    /// iteration; none when all have been handed out, or when this rank
    /// owns none: see [`Trainer::ask`]).
    pub fn ask_batch(&mut self, max: usize) -> Result<Vec<CandidateId>> {
        let mut ids = Vec::with_capacity(max.min(self.candidates_per_iteration()));
        while ids.len() < max {
            match self.ask()? {
                Some(id) => ids.push(id),
                None => break,
            }
        }
        Ok(ids)
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
            Some(Status::Remote) => Err(bad(
                "another rank evaluates it (with partition=candidates, candidate c belongs to rank c mod size)",
            )),
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
    pub(super) fn ensure_weight_candidate(&self) -> Result<()> {
        match self.dataset.output_iteration {
            Some(_) => Err(ZooError::BadState(
                "this iteration perturbs the batch's outputs (space=output), not the weights; read them with candidate_outputs".into(),
            )),
            None => Ok(()),
        }
    }

    /// Records the loss of candidate `id`. When it is the last one of the
    /// iteration (with a communicator, this rank's last one) the update is
    /// applied and its metrics returned.
    ///
    /// A non-finite loss under `nonfinite=error`, or an iteration that
    /// cannot produce an update, aborts the iteration: weights, optimizer
    /// state and the iteration counter are unchanged and the next `ask`
    /// starts the iteration again. With a communicator this rank's last
    /// tell is collective (the allreduce of the loss vector), and a tell
    /// that aborts joins that allreduce at once as a failed rank: every
    /// rank aborts the iteration (the others' last tell fails with
    /// [`ZooError::RankFailed`]).
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
                let checked = if self.estimation.plan.is_reported_only(c) {
                    Ok(loss)
                } else {
                    self.evaluation().check(c, loss)
                };
                checked.map(|_| self.open.losses[c] = loss)
            }
        };
        if let Err(e) = recorded {
            return Err(self.fail_iteration(e));
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
        if state.told < state.local {
            return Ok(None);
        }
        self.complete_asked().map(Some)
    }

    /// Closes the open ask/tell iteration once this process has told its
    /// losses: combines them across ranks (collective with a
    /// communicator) and applies the update.
    fn complete_asked(&mut self) -> Result<IterationMetrics> {
        let state = self.open.ask.take().expect("an open iteration");
        match self.dataset.output_iteration.take() {
            Some(iteration) => {
                let batch = self
                    .dataset
                    .batch
                    .take()
                    .expect("output iterations need a batch");
                let outcome = self
                    .finish_outputs(&batch.x, batch.rows, iteration, state.started)
                    .copied();
                self.dataset.batch = Some(batch);
                outcome
            }
            None => {
                self.combine_losses(Ok(()))?;
                self.finish(state.started).copied()
            }
        }
    }

    /// Aborts the open iteration after a local failure `e`: with a
    /// communicator this rank first joins the iteration's allreduce as a
    /// failed rank, so that the others abort it too. Returns the error to
    /// report (the allreduce's, if it failed).
    fn fail_iteration(&mut self, e: ZooError) -> ZooError {
        let reported = match self.report_failure() {
            Ok(()) => e,
            Err(allreduce) => allreduce,
        };
        self.discard_iteration();
        reported
    }

    /// Discards the open ask/tell iteration, if any; nothing else changes.
    ///
    /// With a communicator, while this rank still has losses to tell, it
    /// is collective: this rank joins the iteration's allreduce as a
    /// failed rank, so that every rank aborts the iteration (the others'
    /// last tell fails with [`ZooError::RankFailed`]) instead of waiting
    /// for losses that never come. It fails only when that allreduce
    /// fails; the iteration is discarded here all the same.
    pub fn abort_iteration(&mut self) -> Result<()> {
        let outcome = match self.open.ask {
            Some(_) => self.report_failure(),
            None => Ok(()),
        };
        self.discard_iteration();
        outcome
    }

    /// Discards the open ask/tell iteration on this process only.
    fn discard_iteration(&mut self) {
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
pub(super) fn materialized<'a>(
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
