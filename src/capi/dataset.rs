//! C functions for dataset mode: zoo runs the network on the host's batch
//! and the host's black box maps its outputs to a loss (and, optionally,
//! to ∂L/∂outputs).

use super::{array, guard, handle_mut, ok, write_if_given, zoo_status, zoo_trainer};
use crate::error::ZooError;
use crate::trainer::LossError;
use std::ffi::c_void;

/// A black box on network outputs: `y[0..ny]` (nrows × outputs, row-major)
/// to `*loss`. Return 0 on success.
pub type zoo_output_loss_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, y: *const f64, ny: usize, loss: *mut f64) -> i32,
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

/// One iteration in dataset mode with the output-space estimator: zoo runs
/// the network on `nrows` row-major inputs `x[0..nx]`, calls `loss_fn` on
/// 2q + 1 output batches (the outputs and q antithetic perturbations of
/// them; options q and mu), estimates ∂L/∂outputs and backpropagates it
/// exactly through the network. The number of calls does not depend on the
/// number of weights. `*loss` (may be NULL) receives the loss at the
/// unperturbed outputs. Calls are made in order on the calling thread.
/// On error nothing changes.
/// Errors: ZOO_NULL_POINTER, ZOO_BAD_SIZE, ZOO_CALLBACK_FAILED,
/// ZOO_NONFINITE_LOSS, ZOO_BAD_STATE.
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
        let trainer = &mut handle_mut(trainer, "trainer")?.trainer;
        let x = array(x, nx, "x")?;
        let callback = loss_fn.ok_or(ZooError::NullPointer("loss_fn"))?;
        let metrics = trainer.step_output_space(x, nrows, |y| {
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

/// One iteration with exact gradients supplied by the host: zoo runs the
/// network on `nrows` row-major inputs `x[0..nx]`, `adjoint_fn` returns
/// the loss and ∂L/∂outputs, and zoo backpropagates it through the
/// network. `*loss` (may be NULL) receives the loss. On error nothing
/// changes. Errors: ZOO_NULL_POINTER, ZOO_BAD_SIZE, ZOO_CALLBACK_FAILED,
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
        let trainer = &mut handle_mut(trainer, "trainer")?.trainer;
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
