//! C functions for reverse communication: the host asks for candidate ids,
//! evaluates them however it likes, and tells the losses back; across
//! ranks, each rank its own share.

use super::{
    array, array_mut, exclusive, guard, ok, out_ptr, write_if_given, zoo_status, zoo_trainer,
};
use crate::error::ZooError;
use crate::trainer::{CandidateId, ManyInputs};

/// Hands out the next candidate of the open iteration (opening one when
/// none is open) and writes its id to `*id`. Returns ZOO_NO_CANDIDATE (not
/// an error; `*id` untouched) when every candidate of the iteration has
/// been handed out and losses are still awaited.
///
/// With a communicator (zoo_trainer_set_communicator) each rank is handed
/// out its own share: with partition=candidates the candidates c with
/// c mod size = rank, with partition=replicated all of them. Each rank's
/// last zoo_tell is collective, and the weights are bit for bit those
/// zoo_step gives on the same ranks. On a rank that owns no candidate of
/// the iteration (more ranks than candidates), the zoo_ask that opens it
/// takes part in the update at once and returns ZOO_NO_CANDIDATE
/// (zoo_trainer_iteration has then advanced).
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_STATE (a batch with
/// space=output on a trainer with a communicator: output-space iterations
/// are not shared among ranks); on a rank that owns no candidate, those of
/// a last zoo_tell: ZOO_RANK_FAILED, ZOO_ALLREDUCE_FAILED,
/// ZOO_ITERATION_FAILED, ZOO_OUT_OF_MEMORY.
#[no_mangle]
pub unsafe extern "C" fn zoo_ask(trainer: *mut zoo_trainer, id: *mut u64) -> zoo_status {
    guard(|| {
        let id = out_ptr(id, "id")?;
        let mut trainer = exclusive(trainer, &"zoo_ask")?;
        match trainer.ask()? {
            Some(candidate) => {
                *id = candidate.to_raw();
                ok()
            }
            None => Ok(zoo_status::ZOO_NO_CANDIDATE),
        }
    })
}

/// Hands out up to `max` candidates at once: writes their ids to
/// `ids[0..*count]` and their number (1 to `max`) to `*count`. As
/// `zoo_ask`, returns ZOO_NO_CANDIDATE (not an error; `ids` and `*count`
/// untouched) when every candidate of the open iteration has been handed
/// out and losses are still awaited. Each id handed out and not yet told
/// may hold one materialized parameter vector while it is forwarded.
/// With a communicator it hands out this rank's share, as zoo_ask does.
/// Errors: ZOO_NULL_POINTER, ZOO_INVALID_ARGUMENT (max = 0), ZOO_BUSY, and
/// those of zoo_ask.
#[no_mangle]
pub unsafe extern "C" fn zoo_ask_batch(
    trainer: *mut zoo_trainer,
    ids: *mut u64,
    max: usize,
    count: *mut usize,
) -> zoo_status {
    guard(|| {
        let count = out_ptr(count, "count")?;
        let ids = array_mut(ids, max, "ids")?;
        if max == 0 {
            return Err(ZooError::InvalidArgument(
                "max is 0: ask for at least one candidate".into(),
            ));
        }
        let mut trainer = exclusive(trainer, &"zoo_ask_batch")?;
        let asked = trainer.ask_batch(max)?;
        if asked.is_empty() {
            return Ok(zoo_status::ZOO_NO_CANDIDATE);
        }
        for (slot, id) in ids.iter_mut().zip(&asked) {
            *slot = id.to_raw();
        }
        *count = asked.len();
        ok()
    })
}

/// Runs candidate `id`'s network on one input `x[0..nx]` into `y[0..ny]`.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE, ZOO_BAD_CANDIDATE (unknown,
/// stale, not asked or already told), ZOO_BAD_STATE (output-space iteration).
#[no_mangle]
pub unsafe extern "C" fn zoo_forward(
    trainer: *mut zoo_trainer,
    id: u64,
    x: *const f64,
    nx: usize,
    y: *mut f64,
    ny: usize,
) -> zoo_status {
    zoo_forward_batch(trainer, id, x, nx, 1, y, ny)
}

/// Runs candidate `id`'s network on `nrows` row-major inputs `x[0..nx]`
/// into `y[0..ny]`. Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE,
/// ZOO_BAD_CANDIDATE, ZOO_BAD_STATE (an output-space iteration: its
/// candidates perturb outputs, run the model instead).
#[no_mangle]
pub unsafe extern "C" fn zoo_forward_batch(
    trainer: *mut zoo_trainer,
    id: u64,
    x: *const f64,
    nx: usize,
    nrows: usize,
    y: *mut f64,
    ny: usize,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_forward_batch")?;
        let (x, y) = (array(x, nx, "x")?, array_mut(y, ny, "y")?);
        trainer.forward_batch(CandidateId::from_raw(id), x, nrows, y)?;
        ok()
    })
}

/// Runs the asked candidates `ids[0..count]` in one call, each on `nrows`
/// row-major inputs (the batch form of zoo_forward_batch, for hosts that
/// evaluate an ensemble or a vectorized solver): candidate i reads
/// `x[i·nrows·num_inputs ..][.. nrows·num_inputs]`, or with
/// `shared_inputs` = 1 every candidate reads `x[0 .. nrows·num_inputs]`;
/// it writes `y[i·nrows·num_outputs ..][.. nrows·num_outputs]`. `nx` and
/// `ny` are the lengths of `x` and `y`. Each candidate's outputs are bit for
/// bit those zoo_forward_batch gives it; with `threads` > 1 the candidates
/// run on the trainer's threads. Nothing runs unless every id and size is
/// valid. Errors: ZOO_NULL_POINTER, ZOO_INVALID_ARGUMENT (count = 0, or
/// `shared_inputs` other than 0 or 1), ZOO_BUSY, ZOO_BAD_SIZE (nx or ny
/// does not match), ZOO_BAD_CANDIDATE (unknown, stale, not asked, already
/// told, another rank's, or listed twice), ZOO_BAD_STATE (output-space
/// iteration), ZOO_OUT_OF_MEMORY (sizes that overflow, or memory refused).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn zoo_forward_many(
    trainer: *mut zoo_trainer,
    ids: *const u64,
    count: usize,
    x: *const f64,
    nx: usize,
    shared_inputs: i32,
    nrows: usize,
    y: *mut f64,
    ny: usize,
) -> zoo_status {
    guard(|| {
        let inputs = match shared_inputs {
            0 => ManyInputs::PerCandidate,
            1 => ManyInputs::Shared,
            other => {
                return Err(ZooError::InvalidArgument(format!(
                    "shared_inputs is {other}: 1 (every candidate reads the same rows) or 0 (a block per candidate)"
                )))
            }
        };
        let ids = array(ids, count, "ids")?;
        if count == 0 {
            return Err(ZooError::InvalidArgument(
                "count is 0: pass at least one candidate id".into(),
            ));
        }
        let (x, y) = (array(x, nx, "x")?, array_mut(y, ny, "y")?);
        let mut trainer = exclusive(trainer, &"zoo_forward_many")?;
        let mut list = Vec::new();
        crate::size::try_grow(&mut list, count, CandidateId::from_raw(0), "candidate ids")?;
        for (slot, &id) in list.iter_mut().zip(ids) {
            *slot = CandidateId::from_raw(id);
        }
        trainer.forward_many(&list, x, inputs, nrows, y)?;
        ok()
    })
}

/// Copies candidate `id`'s parameters θ_c into `params[0..n]` (n = number
/// of parameters), for hosts that run the network themselves (e.g. in a
/// GPU kernel). Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_SIZE, ZOO_BAD_CANDIDATE.
#[no_mangle]
pub unsafe extern "C" fn zoo_candidate_params(
    trainer: *mut zoo_trainer,
    id: u64,
    params: *mut f64,
    n: usize,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_candidate_params")?;
        trainer.candidate_params(CandidateId::from_raw(id), array_mut(params, n, "params")?)?;
        ok()
    })
}

/// Records the loss of candidate `id`. When it is the last loss of the
/// iteration the update is applied and `*updated` (may be NULL) is set to
/// 1, else to 0. Losses may be told in any order.
///
/// A non-finite loss under `nonfinite=error`, or an iteration that cannot
/// produce an update, aborts the iteration: weights, optimizer state and
/// the iteration counter are unchanged and the next `zoo_ask` starts it
/// again.
///
/// With a communicator, the last loss is this rank's last one, and that
/// tell is collective: one allreduce of the loss vector (as in zoo_step),
/// then the same update on every rank. A tell that aborts the iteration
/// joins that allreduce at once as a failed rank, so that the other ranks'
/// last tell returns ZOO_RANK_FAILED instead of waiting; every rank then
/// starts the iteration again with zoo_ask.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_CANDIDATE (unknown, stale,
/// not asked, already told, or another rank's; nothing changes),
/// ZOO_NONFINITE_LOSS, ZOO_ITERATION_FAILED, ZOO_RANK_FAILED,
/// ZOO_ALLREDUCE_FAILED.
#[no_mangle]
pub unsafe extern "C" fn zoo_tell(
    trainer: *mut zoo_trainer,
    id: u64,
    loss: f64,
    updated: *mut i32,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_tell")?;
        let done = trainer.tell(CandidateId::from_raw(id), loss)?.is_some();
        write_if_given(updated, i32::from(done));
        ok()
    })
}

/// Discards the open ask/tell iteration, if any: its ids become stale and
/// nothing else changes. With a communicator, while this rank still has
/// losses to tell, it is collective: the rank joins the iteration's
/// allreduce as a failed rank, so that the other ranks' last zoo_tell
/// returns ZOO_RANK_FAILED instead of waiting for losses that never come.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_ALLREDUCE_FAILED (the iteration
/// is discarded all the same).
#[no_mangle]
pub unsafe extern "C" fn zoo_abort_iteration(trainer: *mut zoo_trainer) -> zoo_status {
    guard(|| {
        exclusive(trainer, &"zoo_abort_iteration")?.abort_iteration()?;
        ok()
    })
}
