//! C functions for reverse communication: the host asks for candidate ids,
//! evaluates them however it likes, and tells the losses back.

use super::{
    array, array_mut, exclusive, guard, ok, out_ptr, write_if_given, zoo_status, zoo_trainer,
};
use crate::error::ZooError;
use crate::trainer::CandidateId;

/// Hands out the next candidate of the open iteration (opening one when
/// none is open) and writes its id to `*id`. Returns ZOO_NO_CANDIDATE (not
/// an error; `*id` untouched) when every candidate of the iteration has
/// been handed out and losses are still awaited.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_STATE (the trainer has a communicator).
#[no_mangle]
pub unsafe extern "C" fn zoo_ask(trainer: *mut zoo_trainer, id: *mut u64) -> zoo_status {
    guard(|| {
        let id = out_ptr(id, "id")?;
        let mut trainer = exclusive(trainer, &"zoo_ask")?;
        refuse_communicator(&trainer)?;
        match trainer.ask() {
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
/// Errors: ZOO_NULL_POINTER, ZOO_INVALID_ARGUMENT (max = 0), ZOO_BAD_STATE
/// (the trainer has a communicator), ZOO_BUSY.
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
        refuse_communicator(&trainer)?;
        let asked = trainer.ask_batch(max);
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

/// Ask/tell hands candidates to one process; across ranks, zoo_step runs.
fn refuse_communicator(trainer: &crate::trainer::Trainer) -> Result<(), ZooError> {
    if trainer.has_communicator() {
        return Err(ZooError::BadState(
            "ask/tell is not available on a trainer with a communicator; use zoo_step across ranks"
                .into(),
        ));
    }
    Ok(())
}

/// Runs candidate `id`'s network on one input `x[0..nx]` into `y[0..ny]`.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE, ZOO_BAD_CANDIDATE (unknown,
/// stale, not asked or already told).
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
/// ZOO_BAD_CANDIDATE.
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
/// again. Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_CANDIDATE (unknown, stale, not
/// asked, already told; nothing changes), ZOO_NONFINITE_LOSS,
/// ZOO_ITERATION_FAILED.
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
/// nothing else changes. Errors: ZOO_NULL_POINTER, ZOO_BUSY.
#[no_mangle]
pub unsafe extern "C" fn zoo_abort_iteration(trainer: *mut zoo_trainer) -> zoo_status {
    guard(|| {
        exclusive(trainer, &"zoo_abort_iteration")?.abort_iteration();
        ok()
    })
}
