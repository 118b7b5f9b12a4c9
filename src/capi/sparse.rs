//! C functions for sparse networks: pruning, thresholding, masks, ZO-GraSP.

use super::{
    array, array_mut, exclusive, flag, guard, handle, handle_mut, ok, out_ptr, shared, string,
    write_if_given, zoo_model, zoo_status, zoo_trainer,
};
use crate::error::ZooError;
use crate::model::{check_len, Model};
use crate::prune::{Method, Scope};
use std::ffi::c_char;

/// Copies `model`'s mask into the caller's `mask[0..n]` as 1/0 bytes.
unsafe fn copy_mask_out(model: &Model, mask: *mut u8, n: usize) -> Result<(), ZooError> {
    let out = array_mut(mask, n, "mask")?;
    check_len("mask", model.num_params(), n)?;
    for (o, &m) in out.iter_mut().zip(model.mask()) {
        *o = u8::from(m);
    }
    Ok(())
}

fn bytes_to_mask(bytes: &[u8]) -> Result<Vec<bool>, ZooError> {
    match bytes.iter().position(|&b| b > 1) {
        Some(i) => Err(ZooError::InvalidArgument(format!(
            "mask[{i}] is {}; mask entries are 1 (active) or 0 (pruned)",
            bytes[i]
        ))),
        None => Ok(bytes.iter().map(|&b| b == 1).collect()),
    }
}

/// Prunes weights of `model` (biases are kept) until a fraction
/// `sparsity` in [0, 1) of them is pruned; pruned weights become exactly 0
/// and never come back. `method`: "magnitude" (smallest |w| per layer),
/// "magnitude-global" (smallest |w| over all layers), "random" (per layer,
/// drawn from `seed`). On error the model is unchanged.
/// Errors: ZOO_NULL_POINTER, ZOO_INVALID_OPTION (method), ZOO_INVALID_ARGUMENT
/// (sparsity), ZOO_INVALID_STRING.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_prune(
    model: *mut zoo_model,
    method: *const c_char,
    sparsity: f64,
    seed: u64,
) -> zoo_status {
    guard(|| {
        let model = &mut handle_mut(model, "model")?.model;
        let method = Method::parse(string(method, "method")?, seed)?;
        model.prune(method, sparsity)?;
        ok()
    })
}

/// Prunes layer l of `model` to its own sparsity `sparsities[l]` (l <
/// nlayers = number of layers), choosing weights like `zoo_model_prune`'s
/// `method`. On error the model is unchanged.
/// Errors: ZOO_NULL_POINTER, ZOO_BAD_SIZE (nlayers), ZOO_INVALID_OPTION,
/// ZOO_INVALID_ARGUMENT, ZOO_INVALID_STRING.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_prune_layers(
    model: *mut zoo_model,
    method: *const c_char,
    sparsities: *const f64,
    nlayers: usize,
    seed: u64,
) -> zoo_status {
    guard(|| {
        let model = &mut handle_mut(model, "model")?.model;
        let method = Method::parse(string(method, "method")?, seed)?;
        model.prune_layers(method, array(sparsities, nlayers, "sparsities")?)?;
        ok()
    })
}

/// Copies the mask into `mask[0..n]` (n = number of parameters): 1 for an
/// active coordinate, 0 for a pruned one. Errors: ZOO_NULL_POINTER, ZOO_BAD_SIZE.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_get_mask(
    model: *const zoo_model,
    mask: *mut u8,
    n: usize,
) -> zoo_status {
    guard(|| {
        copy_mask_out(&handle(model, "model")?.model, mask, n)?;
        ok()
    })
}

/// Replaces the mask with `mask[0..n]` (1 active, 0 pruned); newly pruned
/// coordinates become 0. On error the model is unchanged.
/// Errors: ZOO_NULL_POINTER, ZOO_BAD_SIZE, ZOO_INVALID_ARGUMENT (an entry
/// other than 0 or 1).
#[no_mangle]
pub unsafe extern "C" fn zoo_model_set_mask(
    model: *mut zoo_model,
    mask: *const u8,
    n: usize,
) -> zoo_status {
    guard(|| {
        let model = &mut handle_mut(model, "model")?.model;
        let mask = bytes_to_mask(array(mask, n, "mask")?)?;
        model.set_mask(&mask)?;
        ok()
    })
}

/// Prunes the trainer's model like `zoo_model_prune`; optimizer state is
/// kept. Errors: as `zoo_model_prune`, plus ZOO_BUSY, ZOO_BAD_STATE (an ask/tell
/// iteration or a ZO-GraSP pruning is in progress).
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_prune(
    trainer: *mut zoo_trainer,
    method: *const c_char,
    sparsity: f64,
    seed: u64,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_trainer_prune")?;
        let method = Method::parse(string(method, "method")?, seed)?;
        trainer.prune(method, sparsity)?;
        ok()
    })
}

/// Sequential thresholding (as in SINDy's STLSQ): prunes every active
/// weight of the trainer's model whose magnitude is below `threshold`,
/// and the biases too when `include_biases` is 1; training continues with
/// the rest (optimizer state is kept). `*pruned` (may be NULL) receives the
/// number pruned. On error nothing changes.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_INVALID_ARGUMENT (a negative or
/// non-finite threshold, include_biases not 0 or 1, or nothing would be
/// left), ZOO_BAD_STATE (an iteration is open).
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_threshold(
    trainer: *mut zoo_trainer,
    threshold: f64,
    include_biases: i32,
    pruned: *mut usize,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_trainer_threshold")?;
        let include_biases = flag(include_biases, "include_biases")?;
        let count = trainer.threshold(threshold, include_biases)?;
        write_if_given(pruned, count);
        ok()
    })
}

/// Copies the trainer's mask into `mask[0..n]` (1 active, 0 pruned).
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_SIZE.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_get_mask(
    trainer: *const zoo_trainer,
    mask: *mut u8,
    n: usize,
) -> zoo_status {
    guard(|| {
        copy_mask_out(shared(trainer, "zoo_trainer_get_mask")?.model(), mask, n)?;
        ok()
    })
}

/// Replaces the trainer's mask (1 active, 0 pruned); optimizer state is
/// kept. Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_SIZE, ZOO_INVALID_ARGUMENT (bad
/// entry, or no active coordinate left), ZOO_BAD_STATE.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_set_mask(
    trainer: *mut zoo_trainer,
    mask: *const u8,
    n: usize,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_trainer_set_mask")?;
        let mask = bytes_to_mask(array(mask, n, "mask")?)?;
        trainer.set_mask(&mask)?;
        ok()
    })
}

/// Writes the number of active (unpruned) parameters of the trainer's
/// model to `*out`. Errors: ZOO_NULL_POINTER, ZOO_BUSY.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_num_active(
    trainer: *const zoo_trainer,
    out: *mut usize,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        *out = shared(trainer, "zoo_trainer_num_active")?
            .model()
            .num_active();
        ok()
    })
}

/// Starts a ZO-GraSP pruning to `sparsity` in [0, 1): the next two
/// iterations (`zoo_step` or ask/tell, as usual) estimate the gradient at θ
/// and at θ + mu_h·ĝ from losses alone, apply no update and do not advance
/// the iteration counter; the second restores θ and prunes the weights with
/// the highest GraSP score −θ ⊙ Hg. `global` = 0 prunes each layer to
/// `sparsity`, 1 counts it over all layers. `zoo_abort_iteration` cancels
/// it. Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_INVALID_ARGUMENT (sparsity, mu_h,
/// global), ZOO_BAD_STATE.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_begin_zo_grasp(
    trainer: *mut zoo_trainer,
    sparsity: f64,
    mu_h: f64,
    global: i32,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_trainer_begin_zo_grasp")?;
        let scope = if flag(global, "global")? {
            Scope::Global
        } else {
            Scope::LayerWise
        };
        trainer.begin_zo_grasp(sparsity, scope, mu_h)?;
        ok()
    })
}
