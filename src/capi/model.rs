//! C functions on models: create, free, sizes, parameters, forward.

use super::{
    array, array_mut, copy_out, guard, handle, handle_mut, ok, out_ptr, string, write_if_given,
    zoo_status,
};
use crate::model::{Activation, Model, Workspace};
use std::cell::RefCell;
use std::ffi::c_char;

/// A network with its weights and mask. Create with `zoo_model_new_mlp`,
/// destroy with `zoo_model_free`.
pub struct zoo_model {
    pub(crate) model: Model,
}

thread_local! {
    /// Forward buffers of model calls made on this thread: no allocation
    /// after the first call of a given size, no lock between threads.
    static WORKSPACE: RefCell<Workspace> = RefCell::new(Workspace::new());
}

/// Creates a multilayer perceptron.
///
/// `sizes[0..nsizes]` are the layer widths, inputs first and outputs last
/// (nsizes ≥ 2, every width ≥ 1). `activation` ("identity", "tanh",
/// "relu", "sigmoid", "softplus" or "gelu") follows every hidden layer; the
/// output layer is linear. Weights are drawn from `seed` (He for relu,
/// Xavier otherwise), biases are zero.
///
/// On success `*out` owns a new model: free it with `zoo_model_free`.
/// Errors: ZOO_NULL_POINTER, ZOO_OUT_OF_MEMORY, ZOO_INVALID_ARGUMENT (too few or zero sizes),
/// ZOO_INVALID_OPTION (unknown activation), ZOO_INVALID_STRING.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_new_mlp(
    sizes: *const usize,
    nsizes: usize,
    activation: *const c_char,
    seed: u64,
    out: *mut *mut zoo_model,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let sizes = array(sizes, nsizes, "sizes")?;
        let activation = Activation::parse(string(activation, "activation")?)?;
        let model = Model::mlp(sizes, activation, seed)?;
        *out = Box::into_raw(Box::new(zoo_model { model }));
        ok()
    })
}

/// Creates a SINDy-style model: every monomial of the `inputs` variables
/// of degree 1 to `degree` (in graded lexicographic order: for inputs
/// x, y, z and degree 2, `x, y, z, x², xy, xz, y², yz, z²`), followed by a
/// linear layer to `outputs`. The weights W[o][j] (row-major, first in the
/// parameter vector) are the coefficients of monomial j in output o; the
/// `outputs` biases that follow are the constant terms. Weights are drawn
/// Xavier-uniform from `seed`, biases are zero.
///
/// On success `*out` owns a new model: free it with `zoo_model_free`.
/// Errors: ZOO_NULL_POINTER, ZOO_OUT_OF_MEMORY, ZOO_INVALID_ARGUMENT (a zero size, or more
/// than 100,000 monomials). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_new_polynomial(
    inputs: usize,
    degree: usize,
    outputs: usize,
    seed: u64,
    out: *mut *mut zoo_model,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let model = Model::polynomial(inputs, degree, outputs, seed)?;
        *out = Box::into_raw(Box::new(zoo_model { model }));
        ok()
    })
}

/// Destroys a model. NULL is a no-op. The model must not be used
/// afterwards; trainers created from it are unaffected (they hold copies).
#[no_mangle]
pub unsafe extern "C" fn zoo_model_free(model: *mut zoo_model) {
    if !model.is_null() {
        guard(|| {
            drop(Box::from_raw(model));
            ok()
        });
    }
}

/// Writes the number of parameters (weights and biases, masked ones
/// included) to `*out`. Errors: ZOO_NULL_POINTER. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_num_params(
    model: *const zoo_model,
    out: *mut usize,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        *out = handle(model, "model")?.model.num_params();
        ok()
    })
}

/// Writes the number of active (unmasked) parameters to `*out`.
/// Errors: ZOO_NULL_POINTER. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_num_active(
    model: *const zoo_model,
    out: *mut usize,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        *out = handle(model, "model")?.model.num_active();
        ok()
    })
}

/// Copies the parameters into `params[0..n]`; n must equal the number of
/// parameters. Layout, layer by layer: the weight matrix (outputs × inputs,
/// row-major), then the biases.
/// Errors: ZOO_NULL_POINTER, ZOO_BAD_SIZE. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_get_params(
    model: *const zoo_model,
    params: *mut f64,
    n: usize,
) -> zoo_status {
    guard(|| {
        copy_out(handle(model, "model")?.model.params(), params, n, "params")?;
        ok()
    })
}

/// Replaces the parameters with `params[0..n]` (layout as in
/// `zoo_model_get_params`). Every value must be finite and every masked
/// coordinate zero; on error the model is unchanged.
/// Errors: ZOO_NULL_POINTER, ZOO_BAD_SIZE, ZOO_INVALID_ARGUMENT.
/// Not thread-safe on the same model.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_set_params(
    model: *mut zoo_model,
    params: *const f64,
    n: usize,
) -> zoo_status {
    guard(|| {
        let model = &mut handle_mut(model, "model")?.model;
        model.set_params(array(params, n, "params")?)?;
        ok()
    })
}

/// Runs the model on one input: `x[0..nx]` (nx = number of inputs) into
/// `y[0..ny]` (ny = number of outputs).
/// Errors: ZOO_NULL_POINTER, ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_forward(
    model: *const zoo_model,
    x: *const f64,
    nx: usize,
    y: *mut f64,
    ny: usize,
) -> zoo_status {
    zoo_model_forward_batch(model, x, nx, 1, y, ny)
}

/// Runs the model on `nrows` inputs stored row-major in `x[0..nx]`
/// (nx = nrows × inputs) into `y[0..ny]` (ny = nrows × outputs).
/// Errors: ZOO_NULL_POINTER, ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_forward_batch(
    model: *const zoo_model,
    x: *const f64,
    nx: usize,
    nrows: usize,
    y: *mut f64,
    ny: usize,
) -> zoo_status {
    guard(|| {
        let model = &handle(model, "model")?.model;
        let (x, y) = (array(x, nx, "x")?, array_mut(y, ny, "y")?);
        WORKSPACE.with(|ws| model.forward_batch(x, nrows, y, &mut ws.borrow_mut()))?;
        ok()
    })
}

/// Fits the model by supervised regression with exact gradients: Adam on
/// the mean squared error between its outputs on `nrows` row-major inputs
/// `x[0..nx]` and the targets `y[0..ny]` (nx = nrows × inputs, ny = nrows ×
/// outputs). `options` (NULL or "" for defaults) is a "key=value ..."
/// string: epochs (1000), lr (0.001), batch (0 = all rows), weight_decay
/// (0), seed (0). On success `*final_loss` (may be NULL) receives the mean
/// squared error over all rows.
///
/// All or nothing: on error the model is unchanged.
/// Errors: ZOO_NULL_POINTER, ZOO_OUT_OF_MEMORY, ZOO_BAD_SIZE, ZOO_INVALID_ARGUMENT (no rows,
/// non-finite data), ZOO_UNKNOWN_OPTION, ZOO_INVALID_OPTION,
/// ZOO_ITERATION_FAILED (the fit diverged). Not thread-safe on the same model.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_fit(
    model: *mut zoo_model,
    x: *const f64,
    nx: usize,
    y: *const f64,
    ny: usize,
    nrows: usize,
    options: *const c_char,
    final_loss: *mut f64,
) -> zoo_status {
    guard(|| {
        let model = &mut handle_mut(model, "model")?.model;
        let (x, y) = (array(x, nx, "x")?, array(y, ny, "y")?);
        let options = if options.is_null() {
            ""
        } else {
            string(options, "options")?
        };
        let report = crate::supervised::fit(model, x, y, nrows, options)?;
        write_if_given(final_loss, report.final_loss);
        ok()
    })
}
