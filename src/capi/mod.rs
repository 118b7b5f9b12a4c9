//! The C ABI: the only unsafe code of zoo.
//!
//! Every export checks its pointers and sizes, converts, calls the safe
//! Rust API, and runs inside [`guard`], which turns errors into stable
//! [`zoo_status`] codes, records a thread-local message for
//! [`zoo_last_error`], and catches panics (`ZOO_PANIC`) so that no unwind
//! ever crosses into the host. Out-pointers are written only on success.
//! The header `include/zoo.h` is generated from this module by cbindgen.

#![allow(non_camel_case_types)]
// One safety contract covers every export and is stated once in the
// header's preamble: pointers are NULL or valid for the sizes passed with
// them, handles come from the matching `_new` and are not yet freed.
#![allow(clippy::missing_safety_doc)]

mod ask_tell;
mod busy;
mod candidate_cells;
mod checkpoint;
mod dataset;
mod model;
mod mu_scan;
mod ranks;
mod slot;
mod sparse;
mod step;
mod trainer;

pub use ask_tell::*;
pub use dataset::*;
pub use model::*;
pub use mu_scan::*;
pub use ranks::*;
pub use slot::*;
pub use sparse::*;
pub use step::*;
pub use trainer::*;
pub(crate) use trainer::{exclusive, shared};

use crate::error::ZooError;
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

/// Status of every fallible zoo call. Values are never renumbered or reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zoo_status {
    /// Success.
    ZOO_OK = 0,
    /// A required pointer argument was NULL.
    ZOO_NULL_POINTER = 1,
    /// An array length does not match what the model or trainer needs.
    ZOO_BAD_SIZE = 2,
    /// An argument is well-formed but not valid (e.g. a non-finite weight).
    ZOO_INVALID_ARGUMENT = 3,
    /// An option key zoo does not know.
    ZOO_UNKNOWN_OPTION = 4,
    /// A known option with a value that is not accepted, or a malformed
    /// options string.
    ZOO_INVALID_OPTION = 5,
    /// The call is not allowed in the trainer's current state.
    ZOO_BAD_STATE = 6,
    /// A candidate id that is unknown, stale or already told.
    ZOO_BAD_CANDIDATE = 7,
    /// The loss callback returned non-zero; the iteration was aborted and
    /// the weights are untouched.
    ZOO_CALLBACK_FAILED = 8,
    /// A non-finite loss under `nonfinite=error`; the iteration was aborted.
    ZOO_NONFINITE_LOSS = 9,
    /// The iteration could not produce an update (non-finite base loss,
    /// every candidate dropped); the weights are untouched.
    ZOO_ITERATION_FAILED = 10,
    /// A string argument is not valid UTF-8.
    ZOO_INVALID_STRING = 11,
    /// An internal error (a Rust panic) was caught; the handle involved
    /// should be freed.
    ZOO_PANIC = 12,
    /// Not an error: `zoo_ask` has no candidate to hand out until the
    /// outstanding losses are told.
    ZOO_NO_CANDIDATE = 13,
    /// The evaluation failed on another rank, so every rank aborted the
    /// iteration; the weights are untouched.
    ZOO_RANK_FAILED = 14,
    /// The host's allreduce callback returned non-zero.
    ZOO_ALLREDUCE_FAILED = 15,
    /// A file could not be read or written (the previous file is intact).
    ZOO_IO_ERROR = 16,
    /// The file is not a valid zoo checkpoint for this call: not
    /// safetensors, truncated, corrupted, written by a newer zoo, or of
    /// another architecture.
    ZOO_BAD_CHECKPOINT = 17,
    /// A size from the host or a file is too large: its product overflows
    /// or the memory could not be allocated. Nothing changed.
    ZOO_OUT_OF_MEMORY = 18,
    /// The trainer is busy: another call on it is in progress (nested from
    /// one of its own callbacks, or on another thread). The message names
    /// the call in progress; nothing changed. See "The busy rule" above.
    ZOO_BUSY = 19,
}

use zoo_status::*;

fn status_of(error: &ZooError) -> zoo_status {
    match error {
        ZooError::UnknownOption { .. } => ZOO_UNKNOWN_OPTION,
        ZooError::InvalidOption { .. }
        | ZooError::MalformedOption { .. }
        | ZooError::DuplicateOption { .. } => ZOO_INVALID_OPTION,
        ZooError::BadSize { .. } => ZOO_BAD_SIZE,
        ZooError::InvalidArgument(_) => ZOO_INVALID_ARGUMENT,
        ZooError::BadState(_) => ZOO_BAD_STATE,
        ZooError::BadCandidate { .. } => ZOO_BAD_CANDIDATE,
        ZooError::CallbackFailed { .. } => ZOO_CALLBACK_FAILED,
        ZooError::NonFiniteLoss { .. } => ZOO_NONFINITE_LOSS,
        ZooError::IterationFailed { .. } => ZOO_ITERATION_FAILED,
        ZooError::NullPointer(_) => ZOO_NULL_POINTER,
        ZooError::InvalidString(_) => ZOO_INVALID_STRING,
        ZooError::RankFailed { .. } => ZOO_RANK_FAILED,
        ZooError::AllreduceFailed { .. } => ZOO_ALLREDUCE_FAILED,
        ZooError::Io { .. } => ZOO_IO_ERROR,
        ZooError::LossPanicked { .. } => ZOO_CALLBACK_FAILED,
        ZooError::BadCheckpoint { .. } => ZOO_BAD_CHECKPOINT,
        ZooError::OutOfMemory { .. } => ZOO_OUT_OF_MEMORY,
        ZooError::Busy(_) => ZOO_BUSY,
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    /// Depth of zoo calls on this thread: panics inside them are silent.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static PANIC_LOCATION: RefCell<String> = const { RefCell::new(String::new()) };
    static FORCE_PANIC: Cell<bool> = const { Cell::new(false) };
}

fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Keeps panics inside zoo calls off stderr (zoo never prints) while
/// leaving the host's own panic reporting, if any, untouched.
fn install_quiet_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if DEPTH.with(Cell::get) > 0 {
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()));
                PANIC_LOCATION.with(|p| *p.borrow_mut() = location.unwrap_or_default());
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs one export: errors become statuses and messages, panics `ZOO_PANIC`.
pub(crate) fn guard(body: impl FnOnce() -> Result<zoo_status, ZooError>) -> zoo_status {
    install_quiet_panic_hook();
    DEPTH.with(|d| d.set(d.get() + 1));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if FORCE_PANIC.with(|f| f.replace(false)) {
            panic!("panic forced by zoo_debug_panic_next_call");
        }
        body()
    }));
    DEPTH.with(|d| d.set(d.get() - 1));
    match outcome {
        Ok(Ok(status)) => status,
        Ok(Err(error)) => {
            set_last_error(&error.to_string());
            status_of(&error)
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let location = PANIC_LOCATION.with(|p| p.borrow().clone());
            set_last_error(&format!("internal error (panic): {what}{location}"));
            ZOO_PANIC
        }
    }
}

/// Shorthand for a successful export.
pub(crate) fn ok() -> Result<zoo_status, ZooError> {
    Ok(ZOO_OK)
}

/// Borrows a handle, or names the NULL argument.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, what: &'static str) -> Result<&'a T, ZooError> {
    ptr.as_ref().ok_or(ZooError::NullPointer(what))
}

/// Mutably borrows a handle, or names the NULL argument.
pub(crate) unsafe fn handle_mut<'a, T>(
    ptr: *mut T,
    what: &'static str,
) -> Result<&'a mut T, ZooError> {
    ptr.as_mut().ok_or(ZooError::NullPointer(what))
}

/// An array from a pointer and its length.
pub(crate) unsafe fn array<'a, T>(
    ptr: *const T,
    len: usize,
    what: &'static str,
) -> Result<&'a [T], ZooError> {
    if ptr.is_null() {
        return Err(ZooError::NullPointer(what));
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// A mutable array from a pointer and its length.
pub(crate) unsafe fn array_mut<'a, T>(
    ptr: *mut T,
    len: usize,
    what: &'static str,
) -> Result<&'a mut [T], ZooError> {
    if ptr.is_null() {
        return Err(ZooError::NullPointer(what));
    }
    Ok(std::slice::from_raw_parts_mut(ptr, len))
}

/// Writes `value` through an optional out-pointer (NULL: not wanted).
pub(crate) unsafe fn write_if_given<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        *ptr = value;
    }
}

/// Copies `values` into the caller's array `out[0..n]`, which must have
/// exactly their length.
pub(crate) unsafe fn copy_out(
    values: &[f64],
    out: *mut f64,
    n: usize,
    what: &'static str,
) -> Result<(), ZooError> {
    let out = array_mut(out, n, what)?;
    crate::model::check_len(what, values.len(), n)?;
    out.copy_from_slice(values);
    Ok(())
}

/// A NUL-terminated UTF-8 string.
pub(crate) unsafe fn string<'a>(
    ptr: *const c_char,
    what: &'static str,
) -> Result<&'a str, ZooError> {
    if ptr.is_null() {
        return Err(ZooError::NullPointer(what));
    }
    CStr::from_ptr(ptr)
        .to_str()
        .map_err(|_| ZooError::InvalidString(what))
}

/// A NUL-terminated file path (any bytes but NUL, as the OS allows).
pub(crate) unsafe fn path<'a>(
    ptr: *const c_char,
    what: &'static str,
) -> Result<&'a std::path::Path, ZooError> {
    use std::os::unix::ffi::OsStrExt;
    if ptr.is_null() {
        return Err(ZooError::NullPointer(what));
    }
    let bytes = CStr::from_ptr(ptr).to_bytes();
    if bytes.is_empty() {
        return Err(ZooError::InvalidArgument(format!("{what} is empty")));
    }
    Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(bytes)))
}

/// A C boolean flag: 0 or 1, anything else is an error naming `what`.
pub(crate) fn flag(value: i32, what: &str) -> Result<bool, ZooError> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(ZooError::InvalidArgument(format!(
            "{what} is {other}; accepted: 0 or 1"
        ))),
    }
}

/// Checks an out-pointer before any work, so it can be written on success.
pub(crate) fn out_ptr<T>(ptr: *mut T, what: &'static str) -> Result<*mut T, ZooError> {
    if ptr.is_null() {
        Err(ZooError::NullPointer(what))
    } else {
        Ok(ptr)
    }
}

/// Major version of this header (0.x: a minor release may change the ABI).
pub const ZOO_VERSION_MAJOR: u32 = 0;
/// Minor version of this header.
pub const ZOO_VERSION_MINOR: u32 = 1;
/// Patch version of this header.
pub const ZOO_VERSION_PATCH: u32 = 0;
/// This header's version as one number, MAJOR * 1000000 + MINOR * 1000 +
/// PATCH; compare it with `zoo_version_number()` at run time.
pub const ZOO_VERSION_NUMBER: u32 = 1000;

/// The loaded library's version as MAJOR * 1000000 + MINOR * 1000 + PATCH
/// (e.g. 1000 for 0.1.0), to compare with ZOO_VERSION_NUMBER, the version
/// of the header a host was compiled with. Thread-safe.
#[no_mangle]
pub extern "C" fn zoo_version_number() -> u32 {
    ZOO_VERSION_NUMBER
}

/// The library version, e.g. "0.1.0". Static storage; never free it.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn zoo_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The name of a status code, e.g. "ZOO_BAD_SIZE", or "ZOO_UNKNOWN_STATUS"
/// for a value zoo never returns. Static storage; never free it.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn zoo_status_name(status: u32) -> *const c_char {
    let name: &'static str = match status {
        0 => "ZOO_OK\0",
        1 => "ZOO_NULL_POINTER\0",
        2 => "ZOO_BAD_SIZE\0",
        3 => "ZOO_INVALID_ARGUMENT\0",
        4 => "ZOO_UNKNOWN_OPTION\0",
        5 => "ZOO_INVALID_OPTION\0",
        6 => "ZOO_BAD_STATE\0",
        7 => "ZOO_BAD_CANDIDATE\0",
        8 => "ZOO_CALLBACK_FAILED\0",
        9 => "ZOO_NONFINITE_LOSS\0",
        10 => "ZOO_ITERATION_FAILED\0",
        11 => "ZOO_INVALID_STRING\0",
        12 => "ZOO_PANIC\0",
        13 => "ZOO_NO_CANDIDATE\0",
        14 => "ZOO_RANK_FAILED\0",
        15 => "ZOO_ALLREDUCE_FAILED\0",
        16 => "ZOO_IO_ERROR\0",
        17 => "ZOO_BAD_CHECKPOINT\0",
        18 => "ZOO_OUT_OF_MEMORY\0",
        19 => "ZOO_BUSY\0",
        _ => "ZOO_UNKNOWN_STATUS\0",
    };
    name.as_ptr().cast()
}

/// The message of the most recent failed zoo call on this thread (empty if
/// none failed yet). The pointer stays valid until the next failing zoo
/// call on this thread; copy the text to keep it. Never free it.
#[no_mangle]
pub extern "C" fn zoo_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Test hook, not part of the public header (declared in
/// tests/c/zoo_test_hooks.h): the next zoo call on this thread panics
/// inside its panic boundary and returns ZOO_PANIC, so the test suites can
/// check that internal errors are contained. Nothing else changes.
#[no_mangle]
pub extern "C" fn zoo_debug_panic_next_call() {
    FORCE_PANIC.with(|f| f.set(true));
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_busy;
#[cfg(test)]
mod tests_sizes;
#[cfg(test)]
mod tests_slot;
