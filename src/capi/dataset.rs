//! C functions for dataset mode: zoo runs the network on the host's batch
//! and the host's black box maps its outputs to a loss (one per batch, or
//! one per row), and optionally to ∂L/∂outputs; plus the mixed loss's
//! data term.

use super::{
    array, array_mut, exclusive, flag, guard, ok, write_if_given, zoo_status, zoo_trainer,
};
use crate::error::ZooError;
use crate::trainer::{CandidateId, LossError};
use std::ffi::c_void;

/// A black box on network outputs: `y[0..ny]` (nrows × outputs, row-major)
/// to `*loss`. Return 0 on success.
pub type zoo_output_loss_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, y: *const f64, ny: usize, loss: *mut f64) -> i32,
>;

/// A black box with one loss per row: maps `y[0..ny]` (nrows × outputs,
/// row-major) to `losses[0..nrows]`; the loss is their sum. Return 0 on
/// success.
pub type zoo_output_losses_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        y: *const f64,
        ny: usize,
        losses: *mut f64,
        nrows: usize,
    ) -> i32,
>;

/// A black box with an adjoint: writes `*loss` and ∂loss/∂y into
/// `grad_y[0..ny]`. Return 0 on success.
pub type zoo_adjoint_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        y: *const f64,
        ny: usize,
        loss: *mut f64,
        grad_y: *mut f64,
    ) -> i32,
>;

fn callback_error(code: i32) -> LossError {
    LossError::new(code, format!("the loss callback returned {code}"))
}

/// One iteration in dataset mode: zoo runs the network on `nrows`
/// row-major inputs `x[0..nx]` and `loss_fn` maps outputs to a loss. With
/// option `space=output` (the default) zoo perturbs the outputs (2q calls
/// for rge-central, 2·nrows·outputs for cge-central; independent of the
/// number of weights), estimates ∂L/∂outputs and backpropagates it
/// exactly; with `space=weights` each call gets the outputs of one weight
/// candidate. `*loss` (may be NULL) receives the loss at the unperturbed
/// point (or the mean of the candidates' losses for central estimators).
/// Calls are made in order on the calling thread. On error nothing
/// changes. Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE, ZOO_INVALID_ARGUMENT
/// (nrows = 0), ZOO_CALLBACK_FAILED, ZOO_NONFINITE_LOSS,
/// ZOO_ITERATION_FAILED, ZOO_BAD_STATE.
#[no_mangle]
pub unsafe extern "C" fn zoo_step_outputs(
    trainer: *mut zoo_trainer,
    x: *const f64,
    nx: usize,
    nrows: usize,
    loss_fn: zoo_output_loss_fn,
    userdata: *mut c_void,
    loss: *mut f64,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_step_outputs")?;
        let x = array(x, nx, "x")?;
        let callback = loss_fn.ok_or(ZooError::NullPointer("loss_fn"))?;
        let metrics = trainer.step_dataset(x, nrows, |y| {
            let mut value = f64::NAN;
            // SAFETY: y is a live buffer of the length passed.
            match unsafe { callback(userdata, y.as_ptr(), y.len(), &mut value) } {
                0 => Ok(value),
                code => Err(callback_error(code)),
            }
        })?;
        write_if_given(loss, metrics.loss());
        ok()
    })
}

/// One dataset-mode iteration with per-row losses and the output-space
/// estimator: `losses_fn` maps outputs (nrows × outputs) to one loss per
/// row and the loss is their sum. Every row is shifted by the same output
/// perturbation and each row's gradient comes from its own losses, so the
/// number of calls depends on the number of outputs only (2·outputs with
/// `estimator=cge-central`, 2q with rge-central). Rows left NaN count as
/// non-finite. `*loss` (may be NULL) receives the loss. On error nothing
/// changes. Errors: as zoo_step_outputs.
#[no_mangle]
pub unsafe extern "C" fn zoo_step_output_samples(
    trainer: *mut zoo_trainer,
    x: *const f64,
    nx: usize,
    nrows: usize,
    losses_fn: zoo_output_losses_fn,
    userdata: *mut c_void,
    loss: *mut f64,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_step_output_samples")?;
        let x = array(x, nx, "x")?;
        let callback = losses_fn.ok_or(ZooError::NullPointer("losses_fn"))?;
        let metrics = trainer.step_output_samples(x, nrows, |y, losses| {
            // SAFETY: y and losses are live buffers of the lengths passed.
            match unsafe {
                callback(
                    userdata,
                    y.as_ptr(),
                    y.len(),
                    losses.as_mut_ptr(),
                    losses.len(),
                )
            } {
                0 => Ok(()),
                code => Err(callback_error(code)),
            }
        })?;
        write_if_given(loss, metrics.loss());
        ok()
    })
}

/// One iteration with exact gradients supplied by the host: zoo runs the
/// network on `nrows` row-major inputs `x[0..nx]`, `adjoint_fn` returns
/// the loss and ∂L/∂outputs, and zoo backpropagates it through the
/// network. `*loss` (may be NULL) receives the loss. Under `lr=auto` (the
/// default) `adjoint_fn` is called a second time from the second iteration
/// on, at the outputs of the point the last step started from, for its
/// loss only. On error nothing changes. Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE, ZOO_CALLBACK_FAILED,
/// ZOO_NONFINITE_LOSS, ZOO_INVALID_ARGUMENT (a non-finite adjoint),
/// ZOO_BAD_STATE.
#[no_mangle]
pub unsafe extern "C" fn zoo_step_adjoint(
    trainer: *mut zoo_trainer,
    x: *const f64,
    nx: usize,
    nrows: usize,
    adjoint_fn: zoo_adjoint_fn,
    userdata: *mut c_void,
    loss: *mut f64,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_step_adjoint")?;
        let x = array(x, nx, "x")?;
        let callback = adjoint_fn.ok_or(ZooError::NullPointer("adjoint_fn"))?;
        let metrics = trainer.step_adjoint(x, nrows, |y, grad_y| {
            let mut value = f64::NAN;
            // SAFETY: y and grad_y are live buffers of the length passed.
            match unsafe {
                callback(
                    userdata,
                    y.as_ptr(),
                    y.len(),
                    &mut value,
                    grad_y.as_mut_ptr(),
                )
            } {
                0 => Ok(value),
                code => Err(callback_error(code)),
            }
        })?;
        write_if_given(loss, metrics.loss());
        ok()
    })
}

/// Sets the batch `x[0..nx]` (`nrows` row-major inputs) that ask/tell
/// candidates run on from the next iteration: read a candidate's outputs
/// with zoo_candidate_outputs and tell its loss with zoo_tell, or, when
/// `per_sample` is 1, one loss per row with zoo_tell_samples. Option
/// `space` picks output or weight perturbations. The batch is copied.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE, ZOO_INVALID_ARGUMENT (nrows = 0,
/// per_sample not 0 or 1), ZOO_BAD_STATE (an iteration is open).
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_set_batch(
    trainer: *mut zoo_trainer,
    x: *const f64,
    nx: usize,
    nrows: usize,
    per_sample: i32,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_trainer_set_batch")?;
        let x = array(x, nx, "x")?;
        let per_sample = flag(per_sample, "per_sample")?;
        trainer.set_batch(x, nrows, per_sample)?;
        ok()
    })
}

/// Removes the batch: ask/tell candidates perturb weights again (rollout
/// mode). Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_STATE (an iteration is open).
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_clear_batch(trainer: *mut zoo_trainer) -> zoo_status {
    guard(|| {
        exclusive(trainer, &"zoo_trainer_clear_batch")?.clear_batch()?;
        ok()
    })
}

/// Writes the outputs of candidate `id` on the batch into `y[0..ny]`
/// (nrows × outputs, row-major): perturbed outputs under `space=output`,
/// the network with θ_c under `space=weights`. Errors: ZOO_NULL_POINTER, ZOO_BUSY,
/// ZOO_BAD_SIZE, ZOO_BAD_CANDIDATE, ZOO_BAD_STATE (no batch set).
#[no_mangle]
pub unsafe extern "C" fn zoo_candidate_outputs(
    trainer: *mut zoo_trainer,
    id: u64,
    y: *mut f64,
    ny: usize,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_candidate_outputs")?;
        let y = array_mut(y, ny, "y")?;
        trainer.candidate_outputs(CandidateId::from_raw(id), y)?;
        ok()
    })
}

/// Records one loss per batch row for candidate `id` (a batch set with
/// per_sample = 1); as zoo_tell otherwise. Errors: ZOO_NULL_POINTER, ZOO_BUSY,
/// ZOO_BAD_SIZE (nlosses is not the batch's nrows; nothing changes),
/// ZOO_BAD_CANDIDATE, ZOO_BAD_STATE (the batch takes one loss),
/// ZOO_NONFINITE_LOSS, ZOO_ITERATION_FAILED.
#[no_mangle]
pub unsafe extern "C" fn zoo_tell_samples(
    trainer: *mut zoo_trainer,
    id: u64,
    losses: *const f64,
    nlosses: usize,
    updated: *mut i32,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_tell_samples")?;
        let losses = array(losses, nlosses, "losses")?;
        let done = trainer
            .tell_samples(CandidateId::from_raw(id), losses)?
            .is_some();
        write_if_given(updated, i32::from(done));
        ok()
    })
}

/// Adds a data term to the loss of every following update:
/// `weight · mean((f(x; θ) − targets)²)` over `nrows` labelled rows
/// (`x[0..nx]` inputs, `targets[0..ntargets]` outputs, row-major), with
/// its exact gradient; the black-box part is estimated as before (the
/// mixed loss). Replaces an earlier data term; the metric "data_loss"
/// reports it. Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE,
/// ZOO_INVALID_ARGUMENT (nrows = 0, weight < 0 or not finite, non-finite
/// data), ZOO_BAD_STATE (an iteration is open).
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_set_data_term(
    trainer: *mut zoo_trainer,
    x: *const f64,
    nx: usize,
    targets: *const f64,
    ntargets: usize,
    nrows: usize,
    weight: f64,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_trainer_set_data_term")?;
        let (x, targets) = (array(x, nx, "x")?, array(targets, ntargets, "targets")?);
        trainer.set_data_term(x, targets, nrows, weight)?;
        ok()
    })
}

/// Removes the data term. Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_STATE (an
/// iteration is open).
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_clear_data_term(trainer: *mut zoo_trainer) -> zoo_status {
    guard(|| {
        exclusive(trainer, &"zoo_trainer_clear_data_term")?.clear_data_term()?;
        ok()
    })
}
