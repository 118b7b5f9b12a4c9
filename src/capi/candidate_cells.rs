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
//!
//! Several threads may use one candidate at once (the host's threads
//! splitting cells inside a callback); the callback's end waits for them.
//! Lending also binds the candidate for the trainer's slots (see
//! [`Binding`]).

use super::zoo_candidate;
use crate::error::ZooError;
use crate::trainer::Candidate;
use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Bytes per cell, and the number of distinct generation tags.
const TAGS: usize = 4096;

#[repr(C, align(4096))]
#[derive(Default)]
pub(crate) struct Cell {
    generation: AtomicUsize,
    /// The candidate of the running callback; NULL between callbacks.
    live: AtomicPtr<c_void>,
    /// zoo_candidate_* and slot calls using the candidate now (several
    /// threads may), plus [`RETIRING`] while its callback ends.
    users: AtomicUsize,
}

/// Set in `users` while a lending ends: no new user may enter.
const RETIRING: usize = 1 << (usize::BITS - 1);

/// Who sees a lent candidate through the trainer's slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    /// The calling thread only (ZOO_THREADSAFE steps: one candidate per
    /// evaluating thread).
    Thread,
    /// Every thread of the process (sequential steps and zoo_evaluate:
    /// one candidate at a time, so the host's own threads inside the
    /// callback see it too).
    Process,
}

thread_local! {
    /// Candidates this thread evaluates, innermost last, keyed by the
    /// address of their trainer's cells.
    static BOUND: RefCell<Vec<(usize, *mut zoo_candidate)>> = const { RefCell::new(Vec::new()) };
}

/// Cells of one trainer, lent to callbacks.
#[derive(Default)]
pub(crate) struct CandidateCells {
    free: Mutex<Vec<Box<Cell>>>,
    /// The candidate bound for the whole process, if a sequential
    /// callback runs.
    process: AtomicPtr<zoo_candidate>,
}

impl CandidateCells {
    /// Runs `callback` with a handle to `candidate`, valid until it
    /// returns, and binds it for the trainer's slots as `binding` says.
    pub(crate) fn lend<R>(
        &self,
        candidate: &mut Candidate,
        binding: Binding,
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
        let key = self as *const Self as usize;
        BOUND.with(|b| b.borrow_mut().push((key, handle)));
        if binding == Binding::Process {
            self.process.store(handle, Ordering::Release);
        }
        let result = callback(handle);
        if binding == Binding::Process {
            self.process.store(std::ptr::null_mut(), Ordering::Release);
        }
        BOUND.with(|b| b.borrow_mut().pop());
        retire(&cell);
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cell);
        result
    }

    /// The candidate the calling thread evaluates for this trainer: its
    /// own (innermost) one, else the one a sequential callback runs.
    pub(crate) fn current(&self) -> Option<*mut zoo_candidate> {
        let key = self as *const Self as usize;
        let own = BOUND.with(|b| {
            b.borrow()
                .iter()
                .rev()
                .find(|(k, _)| *k == key)
                .map(|(_, h)| *h)
        });
        own.or_else(|| {
            let process = self.process.load(Ordering::Acquire);
            (!process.is_null()).then_some(process)
        })
    }
}

/// Ends a lending: waits for the zoo_candidate_* calls still using it (on
/// threads the host started inside the callback) and clears it.
fn retire(cell: &Cell) {
    cell.users.fetch_or(RETIRING, Ordering::AcqRel);
    while cell.users.load(Ordering::Acquire) & !RETIRING != 0 {
        std::thread::yield_now();
    }
    cell.live.store(std::ptr::null_mut(), Ordering::Release);
    cell.users.store(0, Ordering::Release);
}

/// The candidate behind a handle, held for one zoo_candidate_* call.
pub(crate) struct InUse<'a> {
    cell: &'a Cell,
    candidate: &'a Candidate<'a>,
}

impl<'a> std::ops::Deref for InUse<'a> {
    type Target = Candidate<'a>;
    fn deref(&self) -> &Candidate<'a> {
        self.candidate
    }
}

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        self.cell.users.fetch_sub(1, Ordering::AcqRel);
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
    let mut users = cell.users.load(Ordering::Acquire);
    loop {
        if users & RETIRING != 0 {
            return Err(stale());
        }
        match cell.users.compare_exchange_weak(
            users,
            users + 1,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => break,
            Err(now) => users = now,
        }
    }
    let live = cell.live.load(Ordering::Acquire);
    if live.is_null() || cell.generation.load(Ordering::Acquire) % TAGS != address % TAGS {
        cell.users.fetch_sub(1, Ordering::AcqRel);
        return Err(stale());
    }
    Ok(InUse {
        cell,
        // SAFETY: `live` is the candidate of a callback still running; the
        // user count keeps the callback from ending while it is borrowed,
        // and a candidate is shared (`&`) by all its users.
        candidate: &*live.cast::<Candidate<'a>>(),
    })
}
