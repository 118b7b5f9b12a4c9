//! C functions on trainers: create, free, options, weights, metrics.

use super::busy::{Busy, Exclusive, Published, Shared};
use super::candidate_cells::CandidateCells;
use super::slot::TrainerLink;
use super::{
    array, array_mut, copy_out, guard, handle, ok, out_ptr, string, zoo_model, zoo_status,
};
use crate::error::ZooError;
use crate::trainer::Trainer;
use std::cell::UnsafeCell;
use std::ffi::c_char;
use std::sync::{Arc, Mutex};

/// A trainer: a copy of a model plus estimator, optimizer, options and
/// iteration state. Create with `zoo_trainer_new`, destroy with
/// `zoo_trainer_free`. It takes one call at a time (the busy rule): a call
/// while another runs, from a callback or another thread, is ZOO_BUSY.
pub struct zoo_trainer {
    pub(crate) busy: Busy,
    pub(crate) trainer: UnsafeCell<Trainer>,
    published: Mutex<Published>,
    pub(crate) cells: CandidateCells,
    /// Shared with the trainer's slots, which outlive it safely.
    pub(crate) link: Arc<TrainerLink>,
}

// SAFETY: the trainer inside is reached only through the leases of
// `Busy` (exclusive or shared), the rest is atomics and mutexes; shared
// leases may read it from several threads, which needs `Trainer: Sync`.
unsafe impl Sync for zoo_trainer {}
const _: fn() = || {
    fn shareable<T: Sync>() {}
    shareable::<Trainer>();
};

impl zoo_trainer {
    pub(crate) fn boxed(trainer: Trainer) -> *mut Self {
        let link = Arc::new(TrainerLink::default());
        let ptr = Box::into_raw(Box::new(Self {
            busy: Busy::default(),
            published: Mutex::new(Published::of(&trainer)),
            trainer: UnsafeCell::new(trainer),
            cells: CandidateCells::default(),
            link: link.clone(),
        }));
        link.attach(ptr);
        ptr
    }

    pub(crate) fn publish(&self, published: Published) {
        *self.published.lock().unwrap_or_else(|p| p.into_inner()) = published;
    }

    /// What the last completed call left, readable while the trainer runs.
    pub(crate) fn published(&self) -> Published {
        *self.published.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The trainer behind a C pointer, for a call that changes it.
pub(crate) unsafe fn exclusive<'a>(
    trainer: *mut zoo_trainer,
    call: &'static &'static str,
) -> Result<Exclusive<'a>, ZooError> {
    handle(trainer, "trainer")?.exclusive(call)
}

/// The trainer behind a C pointer, for a call that only reads it.
pub(crate) unsafe fn shared<'a>(
    trainer: *const zoo_trainer,
    call: &'static str,
) -> Result<Shared<'a>, ZooError> {
    handle(trainer, "trainer")?.shared(call)
}

/// Creates a trainer for a copy of `model`, configured by `options`, a
/// string of whitespace-separated `key=value` words (e.g. "estimator=rge-central
/// q=16 lr=1e-3 seed=7"; NULL or "" keeps every default; see the README for
/// the option table).
///
/// Ownership: the trainer copies the model; the caller still owns `model`
/// and may free it at once. On success `*out` owns the new trainer: free it
/// with `zoo_trainer_free`.
/// Errors: ZOO_NULL_POINTER, ZOO_UNKNOWN_OPTION, ZOO_INVALID_OPTION (the
/// message names the key, the value and what is accepted),
/// ZOO_INVALID_ARGUMENT (a model without active parameters),
/// ZOO_INVALID_STRING, ZOO_IO_ERROR (option metrics_file names a file that
/// cannot be opened for appending). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_new(
    model: *const zoo_model,
    options: *const c_char,
    out: *mut *mut zoo_trainer,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let model = handle(model, "model")?.model.clone();
        let options = if options.is_null() {
            ""
        } else {
            string(options, "options")?
        };
        let trainer = Trainer::new(model, options)?;
        *out = zoo_trainer::boxed(trainer);
        ok()
    })
}

/// Destroys a trainer. NULL is a no-op. A busy trainer (a call on it in
/// progress: this is a call from one of its callbacks or from another
/// thread) is not freed: nothing happens, `zoo_last_error()` says why, and
/// the handle stays valid; free it once that call has returned.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_free(trainer: *mut zoo_trainer) {
    if !trainer.is_null() {
        guard(|| {
            zoo_trainer::free(trainer)?;
            ok()
        });
    }
}

/// Sets one option, e.g. `zoo_trainer_set(t, "lr", "1e-4")`, or several
/// when `key` is NULL and `value` is a "key=value ..." string. All or
/// nothing: on error no option changes.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_UNKNOWN_OPTION, ZOO_INVALID_OPTION,
/// ZOO_BAD_STATE (an ask/tell iteration is open), ZOO_INVALID_STRING,
/// ZOO_IO_ERROR (a new metrics_file cannot be opened; the old one is kept).
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_set(
    trainer: *mut zoo_trainer,
    key: *const c_char,
    value: *const c_char,
) -> zoo_status {
    guard(|| {
        let mut trainer = exclusive(trainer, &"zoo_trainer_set")?;
        let value = string(value, "value")?;
        if key.is_null() {
            trainer.apply(value)?;
        } else {
            trainer.set(string(key, "key")?, value)?;
        }
        ok()
    })
}

/// Writes the current value of option `key` as a NUL-terminated string
/// into `value[0..capacity]`.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_UNKNOWN_OPTION, ZOO_BAD_SIZE
/// (capacity too small; the message says how many bytes are needed, and
/// `zoo_trainer_get_size` returns that number), ZOO_INVALID_STRING.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_get(
    trainer: *const zoo_trainer,
    key: *const c_char,
    value: *mut c_char,
    capacity: usize,
) -> zoo_status {
    guard(|| {
        let text = shared(trainer, "zoo_trainer_get")?.get(string(key, "key")?)?;
        let buffer = array_mut(value.cast::<u8>(), capacity, "value")?;
        if capacity < text.len() + 1 {
            return Err(ZooError::BadSize {
                what: "option value buffer (bytes, with the terminating NUL)",
                expected: text.len() + 1,
                got: capacity,
            });
        }
        buffer[..text.len()].copy_from_slice(text.as_bytes());
        buffer[text.len()] = 0;
        ok()
    })
}

/// Writes the size `zoo_trainer_get` needs for option `key` (its value's
/// bytes plus the terminating NUL) to `*size`, so a host can allocate the
/// buffer first, as with `snprintf(NULL, 0, ...)`.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_UNKNOWN_OPTION, ZOO_INVALID_STRING.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_get_size(
    trainer: *const zoo_trainer,
    key: *const c_char,
    size: *mut usize,
) -> zoo_status {
    guard(|| {
        let size = out_ptr(size, "size")?;
        let text = shared(trainer, "zoo_trainer_get_size")?.get(string(key, "key")?)?;
        *size = text.len() + 1;
        ok()
    })
}

/// Writes the number of parameters of the trained model to `*out`.
/// Errors: ZOO_NULL_POINTER.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_num_params(
    trainer: *const zoo_trainer,
    out: *mut usize,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        *out = handle(trainer, "trainer")?.published().num_params;
        ok()
    })
}

/// Copies the current weights θ_k into `params[0..n]` (n = number of
/// parameters; layout as in `zoo_model_get_params`).
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_SIZE.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_get_params(
    trainer: *const zoo_trainer,
    params: *mut f64,
    n: usize,
) -> zoo_status {
    guard(|| {
        copy_out(
            shared(trainer, "zoo_trainer_get_params")?.params(),
            params,
            n,
            "params",
        )?;
        ok()
    })
}

/// Replaces the current weights with `params[0..n]`; optimizer state is
/// kept. On error nothing changes.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY, ZOO_BAD_SIZE, ZOO_INVALID_ARGUMENT (non-finite
/// value, non-zero masked coordinate), ZOO_BAD_STATE (an ask/tell
/// iteration is open).
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_set_params(
    trainer: *mut zoo_trainer,
    params: *const f64,
    n: usize,
) -> zoo_status {
    guard(|| {
        let params = array(params, n, "params")?;
        exclusive(trainer, &"zoo_trainer_set_params")?.set_params(params)?;
        ok()
    })
}

/// Creates a new model holding a copy of the current weights, e.g. to run
/// the trained network with `zoo_model_forward` or to start another
/// trainer. On success `*out` owns it: free it with `zoo_model_free`.
/// Errors: ZOO_NULL_POINTER, ZOO_BUSY.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_copy_model(
    trainer: *const zoo_trainer,
    out: *mut *mut zoo_model,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let model = shared(trainer, "zoo_trainer_copy_model")?.model().clone();
        *out = Box::into_raw(Box::new(zoo_model { model }));
        ok()
    })
}

/// Writes the number of completed iterations (updates applied) to `*out`.
/// Errors: ZOO_NULL_POINTER.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_iteration(
    trainer: *const zoo_trainer,
    out: *mut u64,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        *out = handle(trainer, "trainer")?.published().iteration;
        ok()
    })
}

/// Writes the number of candidates per iteration (of the open iteration,
/// if any) to `*out`. Errors: ZOO_NULL_POINTER, ZOO_BUSY.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_num_candidates(
    trainer: *const zoo_trainer,
    out: *mut usize,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        *out = shared(trainer, "zoo_trainer_num_candidates")?.candidates_per_iteration();
        ok()
    })
}

/// Writes one metric of the last completed iteration to `*value`. Names:
/// "iteration" (completed iterations, 1 after the first: the value of
/// zoo_trainer_iteration after it), "loss" (base loss where evaluated, else the mean),
/// "base_loss" (NaN when the estimator does not evaluate θ), "mean_loss",
/// "evaluations", "dropped", "grad_norm", "lr", "wall_time" (seconds),
/// "data_loss" (the weighted data term; NaN without one),
/// "metrics_write_errors" (lines the metrics file could not take so far).
/// Errors: ZOO_NULL_POINTER, ZOO_INVALID_ARGUMENT (unknown name),
/// ZOO_BAD_STATE (no iteration completed yet), ZOO_INVALID_STRING.
#[no_mangle]
pub unsafe extern "C" fn zoo_trainer_metric(
    trainer: *const zoo_trainer,
    name: *const c_char,
    value: *mut f64,
) -> zoo_status {
    guard(|| {
        let value = out_ptr(value, "value")?;
        let published = handle(trainer, "trainer")?.published();
        let name = string(name, "name")?;
        let m = published.metrics.ok_or_else(|| {
            ZooError::BadState("no iteration has completed yet, so there are no metrics".into())
        })?;
        *value = match name {
            "iteration" => m.iteration as f64,
            "loss" => m.loss(),
            "base_loss" => m.base_loss.unwrap_or(f64::NAN),
            "mean_loss" => m.mean_loss,
            "evaluations" => m.evaluations as f64,
            "dropped" => m.dropped as f64,
            "grad_norm" => m.grad_norm,
            "lr" => m.lr,
            "wall_time" => m.wall_time,
            "data_loss" => m.data_loss.unwrap_or(f64::NAN),
            "metrics_write_errors" => published.metrics_write_errors as f64,
            _ => {
                return Err(ZooError::InvalidArgument(format!(
                    "unknown metric '{name}'; known: iteration, loss, base_loss, mean_loss, evaluations, dropped, grad_norm, lr, wall_time, data_loss, metrics_write_errors"
                )))
            }
        };
        ok()
    })
}
