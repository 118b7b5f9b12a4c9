//! Network slots: a handle deep host code calls instead of a candidate,
//! for routines whose signature cannot carry one (a legacy `tendency`
//! routine with no userdata). A slot of a trainer runs, on a thread that
//! is evaluating one of the trainer's candidates, that candidate, and
//! anywhere else the trainer's current weights; a slot of a model runs
//! that (frozen) model, as a production run would.
//!
//! Which candidate a thread is evaluating ([`Binding`]): inside a
//! sequential `zoo_step` or `zoo_evaluate` the candidate is bound for the
//! whole process, so the host's own threads inside the callback (an
//! OpenMP loop over cells) see it too; inside a `ZOO_THREADSAFE` step each
//! of zoo's threads sees its own candidate, and another thread finds the
//! trainer busy (`ZOO_BUSY`): it cannot know which candidate it works for.
//!
//! A slot keeps its trainer's [`TrainerLink`], so a slot that outlives its
//! trainer gives an error, never a read of freed memory.

use super::candidate_cells::resolve;
use super::{array, array_mut, guard, handle, ok, out_ptr, zoo_model, zoo_status, zoo_trainer};
use crate::error::ZooError;
use crate::model::Model;
use crate::trainer::with_spare_workspace;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;

/// What a trainer shares with its slots: its address while it lives.
#[derive(Debug, Default)]
pub(crate) struct TrainerLink {
    trainer: AtomicPtr<zoo_trainer>,
    /// Slot calls inside the trainer now, or [`CLOSED`] once it is freed.
    users: AtomicUsize,
}

const CLOSED: usize = usize::MAX;

impl TrainerLink {
    pub(crate) fn attach(&self, trainer: *mut zoo_trainer) {
        self.trainer.store(trainer, Ordering::Release);
    }

    /// Closes the link for the trainer's free, unless a slot call runs.
    pub(crate) fn close(&self) -> Result<(), ZooError> {
        self.users
            .compare_exchange(0, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .map(drop)
            .map_err(|_| {
                ZooError::Busy(
                    "zoo_trainer_free refused: a zoo_slot_forward on another thread is using \
                     the trainer; nothing changed"
                        .into(),
                )
            })
    }

    /// The trainer, held until the returned guard drops.
    fn enter(&self) -> Result<Entered<'_>, ZooError> {
        let mut users = self.users.load(Ordering::Acquire);
        loop {
            if users == CLOSED {
                return Err(ZooError::BadState(
                    "the slot's trainer was freed; free the slot (zoo_slot_free) or make a new \
                     one for a live trainer"
                        .into(),
                ));
            }
            match self.users.compare_exchange_weak(
                users,
                users + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => users = now,
            }
        }
        // SAFETY: the trainer cannot be freed while `users` counts this
        // call (close() needs it at 0), and it was attached at creation.
        let trainer = unsafe { &*self.trainer.load(Ordering::Acquire) };
        Ok(Entered {
            link: self,
            trainer,
        })
    }
}

struct Entered<'a> {
    link: &'a TrainerLink,
    trainer: &'a zoo_trainer,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.link.users.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A network slot: see the module documentation. Create with
/// `zoo_slot_new` (a trainer's) or `zoo_slot_new_model` (a frozen model),
/// destroy with `zoo_slot_free`. A slot may be used from many threads at
/// once.
pub struct zoo_slot {
    source: Source,
}

enum Source {
    Trainer(Arc<TrainerLink>),
    Model(Model),
}

impl zoo_slot {
    fn forward(&self, x: &[f64], n: usize, y: &mut [f64]) -> Result<(), ZooError> {
        match &self.source {
            Source::Model(model) => with_spare_workspace(|ws| model.forward_batch(x, n, y, ws)),
            Source::Trainer(link) => {
                let entered = link.enter()?;
                let owner = entered.trainer;
                if let Some(candidate) = owner.cells.current() {
                    // SAFETY: a handle bound to this thread (or process)
                    // by a running callback of this trainer.
                    return unsafe { resolve(candidate) }?.forward_batch(x, n, y);
                }
                let trainer = owner
                    .shared("zoo_slot_forward")
                    .map_err(|busy| match busy {
                        ZooError::Busy(why) => ZooError::Busy(format!(
                            "{why}. This thread evaluates no candidate of the slot's trainer: \
                         inside a ZOO_THREADSAFE step only zoo's evaluating threads have one \
                         (pass the candidate to threads you start, or step sequentially)"
                        )),
                        other => other,
                    })?;
                with_spare_workspace(|ws| trainer.model().forward_batch(x, n, y, ws))
            }
        }
    }
}

/// Creates a slot of `trainer`: called on a thread that evaluates one of
/// the trainer's candidates (inside its loss callback; with a sequential
/// zoo_step or zoo_evaluate also on any other thread while the callback
/// runs) it runs that candidate, anywhere else the trainer's current
/// weights. May be called at any time, also inside a callback. On success
/// `*out` owns the slot: free it with zoo_slot_free (before or after the
/// trainer). Errors: ZOO_NULL_POINTER.
#[no_mangle]
pub unsafe extern "C" fn zoo_slot_new(
    trainer: *mut zoo_trainer,
    out: *mut *mut zoo_slot,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let link = handle(trainer, "trainer")?.link.clone();
        *out = Box::into_raw(Box::new(zoo_slot {
            source: Source::Trainer(link),
        }));
        ok()
    })
}

/// Creates a slot serving a copy of `model`, frozen (e.g. the trained
/// network in a production run, behind the same host call as during
/// training). The caller still owns `model`. Free the slot with
/// zoo_slot_free. Errors: ZOO_NULL_POINTER.
#[no_mangle]
pub unsafe extern "C" fn zoo_slot_new_model(
    model: *const zoo_model,
    out: *mut *mut zoo_slot,
) -> zoo_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let model = handle(model, "model")?.model.clone();
        *out = Box::into_raw(Box::new(zoo_slot {
            source: Source::Model(model),
        }));
        ok()
    })
}

/// Runs the slot's network on `nrows` row-major inputs `x[0..nx]` into
/// `y[0..ny]` (nx = nrows × inputs, ny = nrows × outputs): the candidate
/// this thread evaluates, else the trainer's current weights, else the
/// slot's model (see zoo_slot_new). Safe from many threads at once; the
/// results are bit-identical to zoo_candidate_forward_batch on the same
/// candidate. Allocates nothing once the calling thread's buffers have
/// grown. Errors: ZOO_NULL_POINTER, ZOO_BAD_SIZE, ZOO_OUT_OF_MEMORY,
/// ZOO_BUSY (the trainer is in a call and this thread evaluates none of
/// its candidates: e.g. a thread the host started inside a ZOO_THREADSAFE
/// callback), ZOO_BAD_CANDIDATE (the callback whose candidate this was
/// bound to has just returned), ZOO_BAD_STATE (the trainer was freed).
#[no_mangle]
pub unsafe extern "C" fn zoo_slot_forward(
    slot: *const zoo_slot,
    x: *const f64,
    nx: usize,
    nrows: usize,
    y: *mut f64,
    ny: usize,
) -> zoo_status {
    guard(|| {
        let slot = handle(slot, "slot")?;
        slot.forward(array(x, nx, "x")?, nrows, array_mut(y, ny, "y")?)?;
        ok()
    })
}

/// Destroys a slot. NULL is a no-op. Its trainer, if any, is untouched.
#[no_mangle]
pub unsafe extern "C" fn zoo_slot_free(slot: *mut zoo_slot) {
    if !slot.is_null() {
        guard(|| {
            drop(Box::from_raw(slot));
            ok()
        });
    }
}
