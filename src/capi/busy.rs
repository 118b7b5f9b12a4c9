//! The busy rule: a trainer runs one changing call at a time.
//!
//! Every C call on a trainer takes a lease first. A call that changes the
//! trainer (step, tell, set, restore, free, ...) takes it exclusively; a
//! call that only reads it (get, save, copy_model, ...) takes a shared
//! lease, which many threads may hold at once. A call whose lease is
//! refused returns `ZOO_BUSY`, names the call in progress and changes
//! nothing: a nested call from one of the trainer's own callbacks, or a
//! call from another thread, is an error instead of a deadlock, a data
//! race or a use-after-free. Leases never wait, so no call can hang.
//!
//! The few reads a callback may make (iteration, metrics, number of
//! parameters) come from [`Published`], a copy refreshed whenever an
//! exclusive lease ends, so they never touch the trainer while it runs.

use super::zoo_trainer;
use crate::error::ZooError;
use crate::trainer::{IterationMetrics, Trainer};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The state word: 0 idle; odd `(n << 1) | 1` for `n` shared leases; any
/// other (even, non-zero) value is the address of the name of the call
/// that holds the exclusive lease (names are `&'static &'static str`,
/// whose addresses are aligned, hence even).
#[derive(Debug, Default)]
pub(crate) struct Busy {
    state: AtomicUsize,
}

const IDLE: usize = 0;

/// What a callback may read while the trainer is busy.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Published {
    pub(crate) iteration: u64,
    pub(crate) metrics: Option<IterationMetrics>,
    pub(crate) metrics_write_errors: u64,
    pub(crate) num_params: usize,
}

impl Published {
    pub(crate) fn of(trainer: &Trainer) -> Self {
        Self {
            iteration: trainer.iteration(),
            metrics: trainer.last_metrics().copied(),
            metrics_write_errors: trainer.metrics_write_errors(),
            num_params: trainer.model().num_params(),
        }
    }
}

fn name_of(state: usize) -> &'static str {
    // SAFETY: an even non-zero state is only ever stored from a
    // `&'static &'static str` in `try_exclusive`.
    unsafe { *(state as *const &'static str) }
}

impl Busy {
    fn refusal(call: &str, state: usize) -> ZooError {
        let holder = if state & 1 == 1 {
            format!(
                "{} reading call(s) on other threads (e.g. zoo_trainer_get_params, zoo_trainer_save)",
                state >> 1
            )
        } else {
            name_of(state).to_string()
        };
        ZooError::Busy(format!(
            "{call} refused: the trainer is busy in {holder}; nothing changed. A trainer \
             takes one call at a time: do not call it from inside its own callbacks (they may \
             call zoo_candidate_* on their candidate and read zoo_trainer_iteration, \
             zoo_trainer_metric and zoo_trainer_num_params) nor from two threads at once"
        ))
    }

    /// Takes the exclusive lease for `call`, or names the call in progress.
    pub(crate) fn try_exclusive(&self, call: &'static &'static str) -> Result<(), ZooError> {
        let mark = call as *const &'static str as usize;
        self.state
            .compare_exchange(IDLE, mark, Ordering::Acquire, Ordering::Acquire)
            .map(drop)
            .map_err(|state| Self::refusal(call, state))
    }

    pub(crate) fn release_exclusive(&self) {
        self.state.store(IDLE, Ordering::Release);
    }

    /// Takes one shared lease for `call`, unless a changing call runs.
    pub(crate) fn try_shared(&self, call: &'static str) -> Result<(), ZooError> {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state != IDLE && state & 1 == 0 {
                return Err(Self::refusal(call, state));
            }
            let next = if state == IDLE { 3 } else { state + 2 };
            match self.state.compare_exchange_weak(
                state,
                next,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => state = now,
            }
        }
    }

    pub(crate) fn release_shared(&self) {
        let _ = self
            .state
            .fetch_update(Ordering::Release, Ordering::Acquire, |s| {
                Some(if s == 3 { IDLE } else { s - 2 })
            });
    }
}

/// The exclusive lease of one call: the trainer, mutably.
pub(crate) struct Exclusive<'a> {
    owner: &'a zoo_trainer,
    trainer: &'a mut Trainer,
}

impl Deref for Exclusive<'_> {
    type Target = Trainer;
    fn deref(&self) -> &Trainer {
        self.trainer
    }
}

impl DerefMut for Exclusive<'_> {
    fn deref_mut(&mut self) -> &mut Trainer {
        self.trainer
    }
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        self.owner.publish(Published::of(self.trainer));
        self.owner.busy.release_exclusive();
    }
}

/// A shared lease: the trainer, read-only.
pub(crate) struct Shared<'a> {
    owner: &'a zoo_trainer,
    trainer: &'a Trainer,
}

impl Deref for Shared<'_> {
    type Target = Trainer;
    fn deref(&self) -> &Trainer {
        self.trainer
    }
}

impl Drop for Shared<'_> {
    fn drop(&mut self) {
        self.owner.busy.release_shared();
    }
}

impl zoo_trainer {
    /// The exclusive lease of `call` (e.g. `&"zoo_step"`).
    pub(crate) fn exclusive(&self, call: &'static &'static str) -> Result<Exclusive<'_>, ZooError> {
        self.busy.try_exclusive(call)?;
        // SAFETY: the exclusive lease makes this the only reference to the
        // trainer until it is released in `Exclusive::drop`.
        let trainer = unsafe { &mut *self.trainer.get() };
        Ok(Exclusive {
            owner: self,
            trainer,
        })
    }

    /// A shared lease of `call`.
    pub(crate) fn shared(&self, call: &'static str) -> Result<Shared<'_>, ZooError> {
        self.busy.try_shared(call)?;
        // SAFETY: shared leases exclude exclusive ones, so nothing mutates
        // the trainer while this reference lives.
        let trainer = unsafe { &*self.trainer.get() };
        Ok(Shared {
            owner: self,
            trainer,
        })
    }

    /// Frees the trainer unless a call on it is in progress; then nothing
    /// is freed and the error names that call.
    pub(crate) unsafe fn free(ptr: *mut zoo_trainer) -> Result<(), ZooError> {
        let owner = &*ptr;
        owner.busy.try_exclusive(&"zoo_trainer_free")?;
        if let Err(e) = owner.link.close() {
            owner.busy.release_exclusive();
            return Err(e);
        }
        drop(Box::from_raw(ptr));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_everything_and_names_the_holder() {
        let busy = Busy::default();
        busy.try_exclusive(&"zoo_step").unwrap();
        let e = busy.try_exclusive(&"zoo_tell").unwrap_err().to_string();
        assert!(
            e.contains("zoo_tell refused") && e.contains("busy in zoo_step"),
            "{e}"
        );
        assert!(busy.try_shared("zoo_trainer_get").is_err());
        busy.release_exclusive();
        busy.try_shared("zoo_trainer_get").unwrap();
        busy.try_shared("zoo_trainer_save").unwrap();
        let e = busy.try_exclusive(&"zoo_step").unwrap_err().to_string();
        assert!(e.contains("2 reading call"), "{e}");
        busy.release_shared();
        assert!(busy.try_exclusive(&"zoo_step").is_err());
        busy.release_shared();
        busy.try_exclusive(&"zoo_step").unwrap();
    }
}
