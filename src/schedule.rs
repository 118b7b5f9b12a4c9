//! Who evaluates which candidate: in order on the calling thread, or on the
//! trainer's rayon pool with dynamic scheduling.
//!
//! Each loss lands in the slot of its candidate, so the later reduction
//! runs in candidate order and the result does not depend on which thread
//! evaluated what. Each pool thread materializes candidates in its own
//! [`Scratch`]: memory is one parameter vector per thread.

use crate::config::NonFinitePolicy;
use crate::error::{Result, ZooError};
use crate::estimate::Plan;
use crate::model::Model;
use crate::trainer::{call_loss, Candidate, CandidateId, LossResult, Scratch};
use rayon::prelude::*;
use std::sync::Mutex;

/// The most threads one trainer runs (option `threads`): more would only
/// cost memory and start-up time on any machine zoo targets.
pub(crate) const MAX_THREADS: usize = 1024;

/// A trainer's threads: `threads` of them (0 = one per core, 1 = none),
/// started when a thread-safe evaluation first needs them, so a trainer
/// used sequentially never starts any.
#[derive(Default)]
pub(crate) struct LazyPool {
    threads: usize,
    pool: Option<rayon::ThreadPool>,
}

impl LazyPool {
    pub(crate) fn new(threads: usize) -> Self {
        Self {
            threads,
            pool: None,
        }
    }

    /// The threads it runs once started (1: the calling thread only).
    pub(crate) fn size(&self) -> usize {
        match (&self.pool, self.threads) {
            (Some(pool), _) => pool.current_num_threads(),
            (None, 0) => std::thread::available_parallelism().map_or(1, |n| n.get()),
            (None, n) => n,
        }
    }

    /// The pool, if it was started.
    pub(crate) fn started(&self) -> Option<&rayon::ThreadPool> {
        self.pool.as_ref()
    }

    /// The pool, started now if needed; `None` for `threads=1`.
    pub(crate) fn start(&mut self) -> Result<Option<&rayon::ThreadPool>> {
        if self.pool.is_none() && self.threads != 1 {
            let threads = self.threads;
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("zoo-{i}"))
                .build()
                .map_err(|e| ZooError::BadState(format!("cannot start {threads} threads: {e}")))?;
            self.pool = Some(pool);
        }
        Ok(self.pool.as_ref())
    }

    /// Moves the pool out (started or not), leaving a single-thread one.
    pub(crate) fn take(&mut self) -> Self {
        std::mem::take(self)
    }
}

/// Which candidates this process evaluates: with `partition=candidates`
/// over `size` ranks, candidate c belongs to rank c mod size; otherwise
/// every rank evaluates every candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Share {
    pub rank: usize,
    pub size: usize,
    pub split: bool,
}

impl Share {
    pub(crate) const ALL: Share = Share {
        rank: 0,
        size: 1,
        split: false,
    };

    pub(crate) fn owns(&self, c: usize) -> bool {
        !self.split || c % self.size == self.rank
    }
}

/// What every evaluation of one iteration shares.
pub(crate) struct Evaluation<'a> {
    pub plan: &'a Plan,
    pub model: &'a Model,
    /// The coordinates this iteration perturbs.
    pub active: &'a [usize],
    /// Whether coordinate candidates reuse θ's features.
    pub feature_reuse: bool,
    /// This rank's share of the candidates.
    pub share: Share,
    pub serial: u64,
    pub policy: NonFinitePolicy,
}

impl Evaluation<'_> {
    /// Evaluates candidate `c` with `loss_fn` in `scratch`.
    pub(crate) fn one<F>(&self, c: usize, scratch: &mut Scratch, loss_fn: F) -> Result<f64>
    where
        F: FnOnce(&mut Candidate) -> LossResult,
    {
        scratch.materialize(self.plan, self.model.params(), self.active, self.serial, c);
        let reuse = self
            .feature_reuse
            .then_some((self.plan, self.active, self.model.params()));
        let mut candidate = scratch.view(
            self.model.network(),
            CandidateId::new(self.serial, c),
            reuse,
        );
        let loss = call_loss(c, || loss_fn(&mut candidate))?;
        self.check(c, loss)
    }

    /// Applies the non-finite policy to a loss.
    pub(crate) fn check(&self, c: usize, loss: f64) -> Result<f64> {
        if !loss.is_finite() && self.policy == NonFinitePolicy::Error {
            return Err(ZooError::NonFiniteLoss {
                candidate: c,
                value: loss,
            });
        }
        Ok(loss)
    }

    /// Every candidate, in order, on the calling thread.
    pub(crate) fn sequential<F>(
        &self,
        scratch: &mut Scratch,
        losses: &mut [f64],
        mut loss_fn: F,
    ) -> Result<()>
    where
        F: FnMut(&mut Candidate) -> LossResult,
    {
        for (c, slot) in losses.iter_mut().enumerate() {
            *slot = if self.share.owns(c) {
                self.one(c, scratch, &mut loss_fn)?
            } else {
                0.0
            };
        }
        Ok(())
    }

    /// Every candidate on `pool`; thread `t` uses `scratch[t]`.
    pub(crate) fn parallel<F>(
        &self,
        pool: &rayon::ThreadPool,
        scratch: &[Mutex<Scratch>],
        losses: &mut [f64],
        loss_fn: &F,
    ) -> Result<()>
    where
        F: Fn(&mut Candidate) -> LossResult + Sync,
    {
        pool.install(|| {
            losses
                .par_iter_mut()
                .with_max_len(1)
                .enumerate()
                .try_for_each(|(c, slot)| {
                    if !self.share.owns(c) {
                        *slot = 0.0;
                        return Ok(());
                    }
                    let thread = rayon::current_thread_index().unwrap_or(0);
                    let mut mine = scratch[thread].lock().unwrap_or_else(|p| p.into_inner());
                    *slot = self.one(c, &mut mine, loss_fn)?;
                    Ok(())
                })
        })
    }
}
