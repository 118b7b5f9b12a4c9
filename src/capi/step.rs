//! C functions for callback-driven iterations: `zoo_step`, `zoo_evaluate`
//! and what a loss callback may call on its candidate.

use super::candidate_cells::{resolve, Binding, CandidateCells};
use super::{
    array, array_mut, copy_out, guard, handle, ok, out_ptr, write_if_given, zoo_status, zoo_trainer,
};
use crate::error::ZooError;
use crate::trainer::{Candidate, LossError, LossResult};
use std::ffi::c_void;

/// A borrowed view of one candidate θ_c, valid only inside the loss
/// callback that received it.
pub struct zoo_candidate {
    _opaque: [u8; 0],
}

/// Flag for `zoo_step`: the callback may run concurrently on several
/// threads (with different candidates and the same userdata).
pub const ZOO_THREADSAFE: u32 = 1;

/// The largest value of option `threads` (threads start on first use).
pub const ZOO_MAX_THREADS: usize = 1024;

/// A loss callback: evaluate the host's black box with the network of
/// `candidate` and write the loss to `*loss`. Return 0 on success; any
/// other value aborts the iteration (weights untouched) and zoo_step
/// returns ZOO_CALLBACK_FAILED with that value in the message.
pub type zoo_loss_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        candidate: *mut zoo_candidate,
        loss: *mut f64,
    ) -> i32,
>;

/// The host's callback and userdata, shareable across zoo's threads when
/// the host passed ZOO_THREADSAFE, and the cells its candidates are lent in.
pub(super) struct HostLoss<'a> {
    callback: unsafe extern "C" fn(*mut c_void, *mut zoo_candidate, *mut f64) -> i32,
    userdata: *mut c_void,
    cells: &'a CandidateCells,
    binding: Binding,
}

// SAFETY: only used across threads when the host declared the callback
// thread-safe with ZOO_THREADSAFE.
unsafe impl Sync for HostLoss<'_> {}

impl HostLoss<'_> {
    pub(super) fn call(&self, candidate: &mut Candidate) -> LossResult {
        let mut loss = f64::NAN;
        // SAFETY: the callback gets a handle valid for this call only.
        let code = self.cells.lend(candidate, self.binding, |view| unsafe {
            (self.callback)(self.userdata, view, &mut loss)
        });
        if code == 0 {
            Ok(loss)
        } else {
            Err(LossError::new(
                code,
                format!("the loss callback returned {code}"),
            ))
        }
    }
}

pub(super) fn host_loss(
    callback: zoo_loss_fn,
    userdata: *mut c_void,
    cells: &CandidateCells,
    binding: Binding,
) -> Result<HostLoss<'_>, ZooError> {
    let callback = callback.ok_or(ZooError::NullPointer("loss_fn"))?;
    Ok(HostLoss {
        callback,
        userdata,
        cells,
        binding,
    })
}

/// Runs one iteration: calls `loss_fn(userdata, candidate, &loss)` once per
/// candidate, then applies the update. With `flags` = ZOO_THREADSAFE the
/// candidates run concurrently on the trainer's `threads` threads;
/// otherwise (flags = 0) in order on the calling thread. On success
/// `*loss` (may be NULL) receives the iteration's loss, metric "loss": the
/// base loss L(θ) at the weights before the update when the iteration
/// evaluated θ (forward estimators; central ones with option
/// base_loss=on, where it may be NaN or ±inf, since that loss is only
/// reported), else the mean of the finite candidate losses (central
/// estimators with base_loss=off, the default).
///
/// On any error the weights, optimizer state and iteration counter are
/// unchanged and a retry evaluates the same candidates. The callback must
/// not call functions of this trainer; it may call `zoo_candidate_*` on its
/// candidate and any function of other handles.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_INVALID_ARGUMENT (unknown flag bits),
/// ZOO_CALLBACK_FAILED, ZOO_NONFINITE_LOSS, ZOO_ITERATION_FAILED,
/// ZOO_BAD_STATE (an ask/tell iteration is open).
#[no_mangle]
pub unsafe extern "C" fn zoo_step(
    trainer: *mut zoo_trainer,
    loss_fn: zoo_loss_fn,
    userdata: *mut c_void,
    flags: u32,
    loss: *mut f64,
) -> zoo_status {
    guard(|| {
        let owner = handle(trainer, "trainer")?;
        let mut trainer = owner.exclusive(&"zoo_step")?;
        let binding = if flags & ZOO_THREADSAFE != 0 {
            Binding::Thread
        } else {
            Binding::Process
        };
        let host = host_loss(loss_fn, userdata, &owner.cells, binding)?;
        if flags & !ZOO_THREADSAFE != 0 {
            return Err(ZooError::InvalidArgument(format!(
                "unknown flag bits {:#x} in flags {flags:#x}; accepted: 0 or ZOO_THREADSAFE",
                flags & !ZOO_THREADSAFE
            )));
        }
        let metrics = if flags & ZOO_THREADSAFE != 0 {
            trainer.step_parallel(|c| host.call(c))?
        } else {
            trainer.step(|c| host.call(c))?
        };
        write_if_given(loss, metrics.loss());
        ok()
    })
}

/// Evaluates `loss_fn` once at the current weights θ_k, without changing
/// anything (a validation or test loss through the same black box). The
/// candidate has index 0. Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_CALLBACK_FAILED.
#[no_mangle]
pub unsafe extern "C" fn zoo_evaluate(
    trainer: *mut zoo_trainer,
    loss_fn: zoo_loss_fn,
    userdata: *mut c_void,
    loss: *mut f64,
) -> zoo_status {
    guard(|| {
        let loss = out_ptr(loss, "loss")?;
        let owner = handle(trainer, "trainer")?;
        let mut trainer = owner.exclusive(&"zoo_evaluate")?;
        let host = host_loss(loss_fn, userdata, &owner.cells, Binding::Process)?;
        *loss = trainer.evaluate(|c| host.call(c))?;
        ok()
    })
}

/// Inside a loss callback: runs the candidate's network θ_c on one input
/// `x[0..nx]` into `y[0..ny]`. Safe from several threads at once on one
/// candidate (e.g. an OpenMP loop over cells inside the callback).
/// Errors: ZOO_NULL_POINTER, ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE, ZOO_BAD_CANDIDATE.
#[no_mangle]
pub unsafe extern "C" fn zoo_candidate_forward(
    candidate: *mut zoo_candidate,
    x: *const f64,
    nx: usize,
    y: *mut f64,
    ny: usize,
) -> zoo_status {
    zoo_candidate_forward_batch(candidate, x, nx, 1, y, ny)
}

/// Inside a loss callback: runs θ_c on `nrows` inputs stored row-major in
/// `x[0..nx]` into `y[0..ny]` (nx = nrows × inputs, ny = nrows × outputs).
/// Safe from several threads at once on one candidate, each getting the
/// serial result for its rows. Errors: ZOO_NULL_POINTER,
/// ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE, ZOO_BAD_CANDIDATE (its callback has
/// returned).
#[no_mangle]
pub unsafe extern "C" fn zoo_candidate_forward_batch(
    candidate: *mut zoo_candidate,
    x: *const f64,
    nx: usize,
    nrows: usize,
    y: *mut f64,
    ny: usize,
) -> zoo_status {
    guard(|| {
        let candidate = resolve(candidate)?;
        candidate.forward_batch(array(x, nx, "x")?, nrows, array_mut(y, ny, "y")?)?;
        ok()
    })
}

/// Inside a loss callback: writes the candidate's position in its
/// iteration (0-based) to `*out`. Errors: ZOO_NULL_POINTER,
/// ZOO_BAD_CANDIDATE (its callback has returned).
#[no_mangle]
pub unsafe extern "C" fn zoo_candidate_index(
    candidate: *const zoo_candidate,
    out: *mut usize,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        *out = resolve(candidate)?.index();
        ok()
    })
}

/// Inside a loss callback: copies θ_c into `params[0..n]` (n = number of
/// parameters), for hosts that run the network themselves.
/// Errors: ZOO_NULL_POINTER, ZOO_BAD_SIZE, ZOO_BAD_CANDIDATE (its callback
/// has returned).
#[no_mangle]
pub unsafe extern "C" fn zoo_candidate_get_params(
    candidate: *const zoo_candidate,
    params: *mut f64,
    n: usize,
) -> zoo_status {
    guard(|| {
        copy_out(resolve(candidate)?.params(), params, n, "params")?;
        ok()
    })
}
