//! The candidate lifetime rule: a `zoo_candidate *` is valid only inside
//! the callback that received it, and a pointer kept beyond it gives
//! `ZOO_BAD_CANDIDATE` (never a read of freed memory) while its trainer
//! lives.
//!
//! A callback gets a pointer into a [`Cell`] owned by the trainer (cells
//! are reused, one per callback running at a time), not the address of
//! the candidate itself. The cell points at the live candidate only while
//! the callback runs. The pointer's low bits carry the cell's generation
//! (a cell spans [`TAGS`] bytes), so a pointer kept from an earlier
//! callback is refused even when its cell serves a later one; the tag has
//! 12 bits, so a pointer exactly 4096 lendings of one cell old would be
//! taken for the current one (still a live candidate, never freed memory).

use super::zoo_candidate;
use crate::error::ZooError;
use crate::trainer::Candidate;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Bytes per cell, and the number of distinct generation tags.
const TAGS: usize = 4096;

#[repr(C, align(4096))]
#[derive(Default)]
pub(crate) struct Cell {
    generation: AtomicUsize,
    /// The candidate of the running callback; NULL between callbacks.
    live: AtomicPtr<c_void>,
    /// Held while a zoo_candidate_* call uses the candidate, so the
    /// callback's end waits for it and two threads never share it.
    in_use: AtomicBool,
}

/// Cells of one trainer, lent to callbacks.
#[derive(Default)]
pub(crate) struct CandidateCells {
    free: Mutex<Vec<Box<Cell>>>,
}

impl CandidateCells {
    /// Runs `callback` with a handle to `candidate`, valid until it returns.
    pub(crate) fn lend<R>(
        &self,
        candidate: &mut Candidate,
        callback: impl FnOnce(*mut zoo_candidate) -> R,
    ) -> R {
        let cell = self
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default();
        let generation = cell.generation.fetch_add(1, Ordering::AcqRel) + 1;
        cell.live.store(
            (candidate as *mut Candidate).cast::<c_void>(),
            Ordering::Release,
        );
        let handle = (&*cell as *const Cell)
            .cast::<u8>()
            .wrapping_add(generation % TAGS)
            .cast_mut()
            .cast::<zoo_candidate>();
        let result = callback(handle);
        retire(&cell);
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cell);
        result
    }
}

/// Ends a lending: waits for a zoo_candidate_* call still using it (on a
/// thread the host started inside the callback) and clears it.
fn retire(cell: &Cell) {
    while cell
        .in_use
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::thread::yield_now();
    }
    cell.live.store(std::ptr::null_mut(), Ordering::Release);
    cell.in_use.store(false, Ordering::Release);
}

/// The candidate behind a handle, held for one zoo_candidate_* call.
pub(crate) struct InUse<'a> {
    cell: &'a Cell,
    candidate: &'a mut Candidate<'a>,
}

impl<'a> std::ops::Deref for InUse<'a> {
    type Target = Candidate<'a>;
    fn deref(&self) -> &Candidate<'a> {
        self.candidate
    }
}

impl<'a> std::ops::DerefMut for InUse<'a> {
    fn deref_mut(&mut self) -> &mut Candidate<'a> {
        self.candidate
    }
}

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        self.cell.in_use.store(false, Ordering::Release);
    }
}

/// Resolves a handle from a callback, or says why it is not usable.
pub(crate) unsafe fn resolve<'a>(handle: *const zoo_candidate) -> Result<InUse<'a>, ZooError> {
    if handle.is_null() {
        return Err(ZooError::NullPointer("candidate"));
    }
    let address = handle as usize;
    // SAFETY: a handle zoo gave out lies in a cell owned by its trainer,
    // which lives as long as the trainer (the caller's contract).
    let cell = &*((address & !(TAGS - 1)) as *const Cell);
    let stale = || ZooError::BadCandidate {
        id: address as u64,
        reason: "this zoo_candidate's callback has returned; a candidate pointer is valid only \
                 inside the callback that received it (keep its index or a copy of its \
                 parameters instead)"
            .into(),
    };
    if cell
        .in_use
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        return Err(ZooError::Busy(
            "the candidate is being used by another zoo_candidate_* call on another thread; \
             a candidate is used by one thread at a time"
                .into(),
        ));
    }
    let live = cell.live.load(Ordering::Acquire);
    if live.is_null() || cell.generation.load(Ordering::Acquire) % TAGS != address % TAGS {
        cell.in_use.store(false, Ordering::Release);
        return Err(stale());
    }
    Ok(InUse {
        cell,
        // SAFETY: `live` is the candidate of a callback still running;
        // `in_use` keeps the callback from ending while it is borrowed.
        candidate: &mut *live.cast::<Candidate<'a>>(),
    })
}
