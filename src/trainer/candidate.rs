//! What a loss function sees: a view of one candidate θ_c, and the
//! per-thread scratch in which θ_c is materialized.

use crate::estimate::{Perturbation, Plan};
use crate::model::{FeatureCache, Network, Workspace};
use crate::{Result, ZooError};
use std::cell::RefCell;
use std::sync::{Mutex, TryLockError};

/// Identifies one candidate of one opened iteration. Ids of an iteration
/// that completed or was aborted are stale and rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CandidateId(u64);

impl CandidateId {
    pub(crate) fn new(serial: u64, index: usize) -> Self {
        Self((serial << 32) | index as u64)
    }

    /// The id as an integer, for the C API.
    pub fn to_raw(self) -> u64 {
        self.0
    }

    /// An id from an integer; validity is checked when it is used.
    pub fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// Position of the candidate in its iteration (0 = first).
    pub fn index(self) -> usize {
        (self.0 & 0xFFFF_FFFF) as usize
    }

    pub(crate) fn serial(self) -> u64 {
        self.0 >> 32
    }
}

/// A failure reported by a loss function; it aborts the iteration and
/// leaves weights and optimizer state unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossError {
    /// The host's own code (the C callback's non-zero return value).
    pub code: i32,
    pub message: String,
}

impl LossError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// What a loss function returns.
pub type LossResult = std::result::Result<f64, LossError>;

/// Calls a host loss function for candidate `candidate`: its error becomes
/// [`ZooError::CallbackFailed`] and a panic [`ZooError::LossPanicked`], so
/// that the iteration aborts cleanly instead of unwinding through the
/// trainer.
pub(crate) fn call_loss<T>(
    candidate: usize,
    f: impl FnOnce() -> std::result::Result<T, LossError>,
) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(ZooError::CallbackFailed {
            candidate,
            code: e.code,
            message: e.message,
        }),
        Err(payload) => Err(ZooError::LossPanicked {
            candidate,
            message: payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into()),
        }),
    }
}

/// A borrowed view of candidate θ_c, valid during one loss evaluation.
///
/// Its forward calls take `&self` and are safe from several threads at
/// once (the host's own threads splitting cells inside a callback): the
/// first caller uses the candidate's workspace, concurrent ones their
/// thread's spare workspace, so no call allocates once the buffers have
/// grown, and every row's result is the same whoever computes it.
pub struct Candidate<'a> {
    pub(crate) id: CandidateId,
    pub(crate) network: &'a Network,
    pub(crate) params: &'a [f64],
    pub(crate) workspace: Mutex<&'a mut Workspace>,
    /// Feature reuse keeps θ's features for one batch: its calls take
    /// turns (each result depends only on its own inputs).
    pub(crate) reuse: Option<Mutex<Reuse<'a>>>,
}

thread_local! {
    /// The workspace of a thread whose forward call finds the candidate's
    /// own workspace in use by another thread.
    static SPARE_WORKSPACE: RefCell<Workspace> = RefCell::new(Workspace::new());
}

/// Runs `f` with this thread's spare workspace (grown once, then reused).
pub(crate) fn with_spare_workspace<R>(f: impl FnOnce(&mut Workspace) -> R) -> R {
    SPARE_WORKSPACE.with(|spare| f(&mut spare.borrow_mut()))
}

/// Runs `f` with `own` if no other thread holds it, else with this
/// thread's spare workspace.
pub(crate) fn with_workspace<R>(
    own: &Mutex<&mut Workspace>,
    f: impl FnOnce(&mut Workspace) -> R,
) -> R {
    match own.try_lock() {
        Ok(mut ws) => f(&mut ws),
        Err(TryLockError::Poisoned(p)) => f(&mut p.into_inner()),
        Err(TryLockError::WouldBlock) => with_spare_workspace(f),
    }
}

/// What a coordinate candidate needs to reuse θ's features.
pub(crate) struct Reuse<'a> {
    cache: &'a mut FeatureCache,
    theta: &'a [f64],
    /// Names θ: the serial of the opened iteration.
    key: u64,
    coord: usize,
    delta: f64,
}

impl<'a> Reuse<'a> {
    /// Reuse for candidate `c` of `plan`, if it perturbs one coordinate.
    pub(crate) fn for_candidate(
        plan: &Plan,
        c: usize,
        active: &[usize],
        theta: &'a [f64],
        key: u64,
        cache: &'a mut FeatureCache,
    ) -> Option<Self> {
        match plan.perturbation(c) {
            Perturbation::Coordinate { position, sign } => Some(Self {
                cache,
                theta,
                key,
                coord: active[position],
                delta: sign * plan.config.mu,
            }),
            _ => None,
        }
    }
}

impl Candidate<'_> {
    pub fn id(&self) -> CandidateId {
        self.id
    }

    /// Position of the candidate in its iteration.
    pub fn index(&self) -> usize {
        self.id.index()
    }

    /// θ_c, masked coordinates included.
    pub fn params(&self) -> &[f64] {
        self.params
    }

    pub fn network(&self) -> &Network {
        self.network
    }

    /// Runs the network with θ_c on one input.
    pub fn forward(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        self.forward_batch(x, 1, y)
    }

    /// Runs the network with θ_c on `n` rows of `x`.
    /// With `feature_reuse=on`, a coordinate candidate recomputes only the
    /// layers its coordinate affects, reusing θ's features on this batch.
    pub fn forward_batch(&self, x: &[f64], n: usize, y: &mut [f64]) -> Result<()> {
        match &self.reuse {
            Some(reuse) => {
                self.network.check_batch(self.params, x, n, y)?;
                let mut r = reuse.lock().unwrap_or_else(|p| p.into_inner());
                let r = &mut *r;
                r.cache.prepare(self.network, r.key, r.theta, x, n)?;
                with_workspace(&self.workspace, |ws| {
                    self.network
                        .forward_perturbed(self.params, r.coord, r.delta, r.cache, y, ws);
                });
                Ok(())
            }
            None => with_workspace(&self.workspace, |ws| {
                self.network.forward_batch(self.params, x, n, y, ws)
            }),
        }
    }
}

/// One thread's buffers: θ_c, a direction and a forward workspace.
/// θ_c is kept equal to θ plus the applied perturbation, so moving to the
/// next candidate only undoes and redoes a perturbation.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    params: Vec<f64>,
    direction: Vec<f64>,
    /// Which direction of the current iteration `direction` holds.
    direction_holds: Option<usize>,
    pub(crate) workspace: Workspace,
    pub(crate) features: FeatureCache,
    /// The opened iteration whose θ `params` was copied from.
    serial: Option<u64>,
    applied: Option<usize>,
}

impl Scratch {
    /// Makes `params` equal to θ_c of candidate `c` of `plan`.
    pub(crate) fn materialize(
        &mut self,
        plan: &Plan,
        theta: &[f64],
        active: &[usize],
        serial: u64,
        c: usize,
    ) {
        if self.serial != Some(serial) {
            self.params.clear();
            self.params.extend_from_slice(theta);
            if self.direction.len() < active.len() {
                self.direction.resize(active.len(), 0.0);
            }
            self.serial = Some(serial);
            self.applied = None;
            self.direction_holds = None;
        }
        plan.materialize(
            self.applied,
            c,
            theta,
            active,
            &mut self.params,
            &mut self.direction,
            &mut self.direction_holds,
        );
        self.applied = Some(c);
    }

    /// A candidate view of what [`Scratch::materialize`] made; with
    /// `reuse`, coordinate candidates reuse θ's features.
    pub(crate) fn view<'a>(
        &'a mut self,
        network: &'a Network,
        id: CandidateId,
        reuse: Option<(&Plan, &[usize], &'a [f64])>,
    ) -> Candidate<'a> {
        let reuse = reuse.and_then(|(plan, active, theta)| {
            Reuse::for_candidate(
                plan,
                id.index(),
                active,
                theta,
                id.serial(),
                &mut self.features,
            )
        });
        Candidate {
            id,
            network,
            params: &self.params,
            workspace: Mutex::new(&mut self.workspace),
            reuse: reuse.map(Mutex::new),
        }
    }

    pub(crate) fn params(&self) -> &[f64] {
        &self.params
    }
}
