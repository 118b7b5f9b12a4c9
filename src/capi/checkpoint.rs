//! C functions for checkpoints: models and trainers saved to and loaded
//! from safetensors files (format in the README).

use super::{
    exclusive, guard, handle, ok, out_ptr, path as c_path, shared, zoo_model, zoo_status,
    zoo_trainer,
};
use crate::checkpoint;
use crate::trainer::Trainer;
use std::ffi::c_char;

/// Saves the model (weights, mask, architecture) to the file `path`,
/// atomically: a crash or an error leaves the previous file intact. A
/// symbolic link is followed (the file it names is replaced, the link
/// stays); a device, FIFO, socket or directory is never written.
/// Errors: ZOO_NULL_POINTER, ZOO_INVALID_ARGUMENT (empty path),
/// ZOO_IO_ERROR (including a path naming a device, FIFO or directory).
#[no_mangle]
pub unsafe extern "C" fn zoo_model_save(
    model: *const zoo_model,
    path: *const c_char,
) -> zoo_status {
    guard(|| {
        let model = &handle(model, "model")?.model;
        checkpoint::save_model(model, c_path(path, "path")?)?;
        ok()
    })
}

/// Loads a model from a model or trainer checkpoint. On success `*out`
/// owns it: free it with zoo_model_free. Errors: ZOO_NULL_POINTER,
/// ZOO_INVALID_ARGUMENT (empty path), ZOO_IO_ERROR (unreadable file),
/// ZOO_BAD_CHECKPOINT (not a regular file, not a zoo checkpoint,
/// truncated, corrupted, or from a newer zoo; the message says which;
/// sizes are checked against the file before its payload is read),
/// ZOO_OUT_OF_MEMORY.
#[no_mangle]
pub unsafe extern "C" fn zoo_model_load(
    path: *const c_char,
    out: *mut *mut zoo_model,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let model = checkpoint::load_model(c_path(path, "path")?)?;
        *out = Box::into_raw(Box::new(zoo_model { model }));
        ok()
    })
}

/// Saves the whole trainer state (weights, mask, architecture, training
/// options, iteration, optimizer moments) to `path`, atomically, as
/// zoo_model_save does. The host's environment options (threads,
/// metrics_file, progress_every, partition) are not saved. Checkpoints are
/// taken between iterations. With a communicator only rank 0 writes (the
/// other ranks return ZOO_OK at once). Callbacks, communicator, batch and
/// data term are not saved. Errors: ZOO_NULL_POINTER, ZOO_BUSY,
/// ZOO_INVALID_ARGUMENT (empty path), ZOO_BAD_STATE (an iteration is
/// open), ZOO_IO_ERROR.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_save(
    trainer: *const zoo_trainer,
    path: *const c_char,
) -> zoo_status {
    guard(|| {
        let trainer = shared(trainer, "zoo_trainer_save")?;
        trainer.save(c_path(path, "path")?)?;
        ok()
    })
}

/// Creates a trainer from a trainer checkpoint; training continues bit
/// for bit where the saved one stopped. On success `*out` owns it: free it
/// with zoo_trainer_free. Environment options (threads, metrics_file,
/// progress_every, partition) take their defaults: set them afterwards.
/// Errors: ZOO_NULL_POINTER, ZOO_INVALID_ARGUMENT, ZOO_IO_ERROR,
/// ZOO_BAD_CHECKPOINT, ZOO_OUT_OF_MEMORY.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_load(
    path: *const c_char,
    out: *mut *mut zoo_trainer,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let trainer = Trainer::load(c_path(path, "path")?)?;
        *out = zoo_trainer::boxed(trainer);
        ok()
    })
}

/// Replaces the state of an existing trainer (built by the host's usual
/// code) by a trainer checkpoint of the same architecture: weights, mask,
/// training options, iteration and optimizer state. The host's
/// environment options (threads, metrics_file, progress_every, partition),
/// communicator, batch and data term set on `trainer` are kept. On error
/// nothing changes.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_INVALID_ARGUMENT, ZOO_BAD_STATE (an
/// iteration is open), ZOO_IO_ERROR, ZOO_BAD_CHECKPOINT (including another
/// architecture), ZOO_OUT_OF_MEMORY.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_restore(
    trainer: *mut zoo_trainer,
    path: *const c_char,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_trainer_restore")?;
        trainer.restore(c_path(path, "path")?)?;
        ok()
    })
}
