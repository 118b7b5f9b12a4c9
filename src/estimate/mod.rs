//! Estimators: which candidates an iteration evaluates, and how their losses
//! become a gradient estimate.
//!
//! Notation: θ ∈ ℝ^d, active set A with m = |A| coordinates, smoothing
//! radius μ, losses L_c. Every estimator perturbs active coordinates only
//! and writes a gradient over the active set (`grad[t]` is ∂L/∂θ_{A[t]}).
//!
//! * RGE (random gradient estimate, [`rge`]) with q directions u_j:
//!   forward `ĝ = φ/q · Σ_j (L(θ+μu_j) − L(θ))/μ · u_j` (q+1 candidates),
//!   central `ĝ = φ/q · Σ_j (L(θ+μu_j) − L(θ−μu_j))/(2μ) · u_j` (2q).
//! * CGE (coordinate gradient estimate, [`cge`]) over n coordinates:
//!   forward `ĝ_i = s·(L(θ+μe_i) − L(θ))/μ` (n+1 candidates), central
//!   `ĝ_i = s·(L(θ+μe_i) − L(θ−μe_i))/(2μ)` (2n), with n = m and s = 1, or
//!   n < m coordinates sampled without replacement each iteration and
//!   s = m/n, which keeps `E[ĝ]` equal to the full CGE.
//!
//! Candidates are numbered: forward variants put the base point θ at 0 and
//! perturbation j at j+1; central variants put +μ at 2j and −μ at 2j+1.
//! With `base_loss` set, central variants add one more candidate, θ
//! itself, after the last pair (at 2p for p perturbations): its loss is
//! reported as the base loss and takes no part in the estimate, so the
//! gradient is bit for bit the one without it.
//! With `shaping=rank` the finite losses of the estimate's candidates are
//! replaced by their centred ranks in [−½, ½] (ties share their mean rank)
//! before the quotients are formed, as OpenAI-ES does: the estimate is
//! then of the gradient of a monotone transform of the loss, immune to
//! outliers and to the loss's scale, and its size is set by μ alone (use
//! it with a scale-free update: adam, sign-sgd or `lr=auto`). The reported
//! losses stay the raw ones.
//!
//! A candidate whose loss is not finite drops out together with its partner
//! (the base point for forward variants, the antithetic point for central
//! ones); RGE then averages over the directions that remain, CGE sets the
//! dropped coordinates to zero.

pub mod cge;
mod perturb;
pub mod rge;

use crate::error::{Result, ZooError};
use crate::rng::{stream, Purpose};
use rand::Rng;
use std::sync::OnceLock;

/// The estimator families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EstimatorKind {
    RgeForward,
    RgeCentral,
    CgeForward,
    CgeCentral,
}

impl EstimatorKind {
    fn is_central(self) -> bool {
        matches!(self, Self::RgeCentral | Self::CgeCentral)
    }
}

/// How losses are transformed before they become an estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shaping {
    /// The losses as they are.
    None,
    /// Centred ranks in [−½, ½] of the iteration's finite losses.
    Rank,
}

/// The distribution of RGE directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectionKind {
    /// u ~ N(0, I_m); φ = 1.
    Gaussian,
    /// u uniform on the unit sphere of ℝ^m; φ = m.
    Sphere,
}

/// Estimator settings, as validated by [`crate::config`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimatorConfig {
    pub kind: EstimatorKind,
    /// RGE directions per iteration.
    pub q: usize,
    pub directions: DirectionKind,
    /// Smoothing radius μ.
    pub mu: f64,
    /// CGE coordinates per iteration; 0 (or ≥ m) means every active one.
    pub cge_coords: usize,
    /// Central estimators also evaluate θ (one extra candidate, the last),
    /// only to report L(θ); forward ones evaluate it anyway.
    pub base_loss: bool,
    pub shaping: Shaping,
}

/// What one candidate evaluates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Perturbation {
    /// θ itself.
    Base,
    /// θ + sign·μ·u_j.
    Direction { j: usize, sign: f64 },
    /// θ + sign·μ·e_{A[position]}.
    Coordinate { position: usize, sign: f64 },
    /// θ − s, the point the last `lr=auto` step s started from.
    Reference,
}

/// The fixed list of candidates of one iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub config: EstimatorConfig,
    pub seed: u64,
    pub iteration: u64,
    /// Size m of the active set.
    pub num_active: usize,
    /// The stream RGE directions come from: weight space or output space.
    pub purpose: Purpose,
    /// Active-set positions CGE perturbs this iteration (ascending).
    coords: Vec<usize>,
    /// Reused by RGE assembly: one weight per direction.
    weights: Vec<Option<f64>>,
    /// ‖z_j‖ of sphere directions, computed once by whichever candidate or
    /// assembly needs it first (every one computes the same bits).
    norms: Vec<OnceLock<f64>>,
    /// Reused by rank shaping: the shaped losses and the sort order.
    shaped: Vec<f64>,
    order: Vec<usize>,
    /// Whether this iteration re-evaluates the point the last `lr=auto`
    /// step s started from, and s (over every coordinate of θ; empty when
    /// the caller writes that candidate itself, as output space does).
    has_reference: bool,
    reference: Vec<f64>,
}

/// How an iteration's losses were used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// L(θ) when the estimator evaluates θ: forward variants (always
    /// finite, else the assembly fails) and central ones with `base_loss`
    /// (reported as it came, NaN or infinite included).
    pub base_loss: Option<f64>,
    /// Mean of the finite losses the estimate is made from (not the
    /// reported-only base point's): L(θ) + O(μ²) for central estimators.
    pub mean_loss: f64,
    /// Candidates whose loss (or whose partner's) was not finite.
    pub dropped: usize,
    /// L(θ − s) of the reported-only [`Perturbation::Reference`]
    /// candidate, as it came, when the plan has one.
    pub reference_loss: Option<f64>,
}

impl Plan {
    /// The plan of iteration `iteration` over `num_active` coordinates.
    pub fn new(config: EstimatorConfig, seed: u64, iteration: u64, num_active: usize) -> Self {
        let mut plan = Self {
            config,
            seed,
            iteration,
            num_active,
            purpose: Purpose::Direction,
            coords: Vec::new(),
            weights: Vec::new(),
            norms: Vec::new(),
            shaped: Vec::new(),
            order: Vec::new(),
            has_reference: false,
            reference: Vec::new(),
        };
        plan.prepare();
        plan
    }

    /// A plan over `dim` output coordinates (the output-space estimator):
    /// the same candidates and assembly, with directions from their own
    /// stream so they never coincide with weight-space ones.
    pub fn over_outputs(config: EstimatorConfig, seed: u64, iteration: u64, dim: usize) -> Self {
        let mut plan = Self::new(config, seed, iteration, dim);
        plan.purpose = Purpose::OutputDirection;
        plan
    }

    /// Re-targets this plan at another iteration, reusing its buffers.
    pub fn reset(&mut self, config: EstimatorConfig, seed: u64, iteration: u64, num_active: usize) {
        self.config = config;
        self.seed = seed;
        self.iteration = iteration;
        self.num_active = num_active;
        self.set_reference(None);
        self.prepare();
    }

    /// Adds (or, for `None`, removes) the reported-only candidate θ − s
    /// (the last candidate): `lr=auto` compares L(θ) with the loss of the
    /// point its last step s started from on the same iteration's loss, so
    /// that a loss that changes between iterations (online training,
    /// mini-batches, noise) compares like with like. An empty step adds
    /// the candidate for a caller that writes it itself.
    pub fn set_reference(&mut self, step: Option<&[f64]>) {
        self.has_reference = step.is_some();
        self.reference.clear();
        self.reference.extend_from_slice(step.unwrap_or_default());
    }

    /// Per-iteration state: CGE's coordinates, empty sphere norms (their
    /// buffers are reused).
    fn prepare(&mut self) {
        self.sample_coords();
        self.norms.clear();
        if self.config.directions == DirectionKind::Sphere && !self.is_cge() {
            self.norms.resize_with(self.config.q, OnceLock::new);
        }
    }

    fn is_cge(&self) -> bool {
        matches!(
            self.config.kind,
            EstimatorKind::CgeForward | EstimatorKind::CgeCentral
        )
    }

    /// Number of CGE coordinates per iteration.
    fn cge_count(&self) -> usize {
        match self.config.cge_coords {
            0 => self.num_active,
            n => n.min(self.num_active),
        }
    }

    /// Fills `coords` with every active position, or a sorted sample.
    fn sample_coords(&mut self) {
        self.coords.clear();
        if !self.is_cge() {
            return;
        }
        let (m, n) = (self.num_active, self.cge_count());
        self.coords.extend(0..m);
        if n < m {
            let mut rng = stream(self.seed, Purpose::CoordinateSample, self.iteration, 0);
            for i in 0..n {
                let pick = rng.random_range(i..m);
                self.coords.swap(i, pick);
            }
            self.coords.truncate(n);
            self.coords.sort_unstable();
        }
    }

    /// Perturbations per iteration: q for RGE, n coordinates for CGE.
    fn num_perturbations(&self) -> usize {
        if self.is_cge() {
            self.coords.len()
        } else {
            self.config.q
        }
    }

    /// Candidates this iteration evaluates, the reported-only base point
    /// included.
    pub fn num_candidates(&self) -> usize {
        let p = self.num_perturbations();
        let with_base = if self.config.kind.is_central() {
            2 * p + usize::from(self.config.base_loss)
        } else {
            p + 1
        };
        with_base + usize::from(self.has_reference)
    }

    /// The candidate that evaluates θ only to report L(θ) (central
    /// estimators with `base_loss` set): the last one. Its loss takes no
    /// part in the estimate, so no non-finite policy applies to it.
    pub fn reported_only(&self) -> Option<usize> {
        (self.config.kind.is_central() && self.config.base_loss)
            .then(|| 2 * self.num_perturbations())
    }

    /// The candidate θ − s of [`Plan::set_reference`] (the last one), also
    /// reported only.
    pub fn reference(&self) -> Option<usize> {
        self.has_reference.then(|| self.num_candidates() - 1)
    }

    /// Whether candidate `c`'s loss is only reported (θ with `base_loss`,
    /// or the reference point): no non-finite policy applies to it.
    pub fn is_reported_only(&self, c: usize) -> bool {
        self.reported_only() == Some(c) || self.reference() == Some(c)
    }

    /// The candidates the estimate is made from (every one but the
    /// reported-only ones, which come last).
    fn estimate_candidates(&self) -> usize {
        self.reported_only()
            .or_else(|| self.reference())
            .unwrap_or_else(|| self.num_candidates())
    }

    /// What candidate `c` is.
    pub fn perturbation(&self, c: usize) -> Perturbation {
        if self.reference() == Some(c) {
            return Perturbation::Reference;
        }
        if self.reported_only() == Some(c) {
            return Perturbation::Base;
        }
        let (index, sign) = if self.config.kind.is_central() {
            (c / 2, if c.is_multiple_of(2) { 1.0 } else { -1.0 })
        } else if c == 0 {
            return Perturbation::Base;
        } else {
            (c - 1, 1.0)
        };
        if self.is_cge() {
            Perturbation::Coordinate {
                position: self.coords[index],
                sign,
            }
        } else {
            Perturbation::Direction { j: index, sign }
        }
    }

    /// Turns `out`, equal to θ on entry, into θ_c. `direction` is scratch
    /// of at least m values; `holds` says which direction of this plan it
    /// already holds, so that antithetic partners draw theirs once.
    pub fn apply(
        &self,
        c: usize,
        active: &[usize],
        out: &mut [f64],
        direction: &mut [f64],
        holds: &mut Option<usize>,
    ) {
        match self.perturbation(c) {
            Perturbation::Base => {}
            Perturbation::Coordinate { position, sign } => {
                out[active[position]] += sign * self.config.mu
            }
            Perturbation::Direction { j, sign } => {
                self.perturb(j, sign, None, active, out, direction, holds)
            }
            Perturbation::Reference => self.step_back(out),
        }
    }

    /// θ − s: every coordinate the last step moved, active now or not.
    fn step_back(&self, out: &mut [f64]) {
        for (o, s) in out.iter_mut().zip(&self.reference) {
            *o -= s;
        }
    }

    /// Undoes [`Plan::apply`]: `out` is θ again.
    pub fn revert(&self, c: usize, theta: &[f64], active: &[usize], out: &mut [f64]) {
        match self.perturbation(c) {
            Perturbation::Base => {}
            Perturbation::Coordinate { position, .. } => {
                out[active[position]] = theta[active[position]]
            }
            Perturbation::Direction { .. } => {
                for &i in active {
                    out[i] = theta[i];
                }
            }
            Perturbation::Reference => out.copy_from_slice(theta),
        }
    }

    /// Turns the losses (one per candidate, in candidate order) into a
    /// gradient over the active set. Fails, writing nothing meaningful, when
    /// the base loss of a forward estimator or every perturbation is
    /// non-finite. The reported-only base point's loss is returned as the
    /// base loss whatever its value and used for nothing else; so is the
    /// reference point's, as the reference loss.
    pub fn assemble(
        &mut self,
        losses: &[f64],
        grad: &mut [f64],
        pool: Option<&rayon::ThreadPool>,
    ) -> Result<Summary> {
        assert_eq!(losses.len(), self.num_candidates());
        assert_eq!(grad.len(), self.num_active);
        let (estimated, reported) = losses.split_at(self.estimate_candidates());
        let mut summary = self.estimate(estimated, grad, pool)?;
        let mut reported = reported.iter();
        if self.reported_only().is_some() {
            summary.base_loss = reported.next().copied();
        }
        summary.reference_loss = reported.next().copied();
        Ok(summary)
    }

    /// [`Plan::assemble`] over the candidates the estimate is made from.
    fn estimate(
        &mut self,
        losses: &[f64],
        grad: &mut [f64],
        pool: Option<&rayon::ThreadPool>,
    ) -> Result<Summary> {
        let base_loss = (!self.config.kind.is_central()).then(|| losses[0]);
        if let Some(base) = base_loss.filter(|b| !b.is_finite()) {
            return Err(self.failure(format!("the loss at the unperturbed base point is {base}")));
        }
        let (sum, count) = losses
            .iter()
            .filter(|l| l.is_finite())
            .fold((0.0, 0usize), |(s, n), l| (s + l, n + 1));
        let mut shaped = std::mem::take(&mut self.shaped);
        let losses = match self.config.shaping {
            Shaping::None => losses,
            Shaping::Rank => {
                centred_ranks(losses, &mut shaped, &mut self.order);
                &shaped[..]
            }
        };
        let used = if self.is_cge() {
            cge::assemble(self, losses, grad)
        } else {
            let mut weights = std::mem::take(&mut self.weights);
            let used = rge::assemble(self, losses, grad, &mut weights, pool);
            self.weights = weights;
            used
        };
        self.shaped = shaped;
        let total = self.num_perturbations();
        let per_pair = if self.config.kind.is_central() { 2 } else { 1 };
        let dropped = (total - used) * per_pair;
        if used == 0 {
            return Err(self.failure(format!(
                "all {total} perturbations had a non-finite loss; nothing to estimate from"
            )));
        }
        Ok(Summary {
            base_loss,
            mean_loss: sum / count as f64,
            dropped,
            reference_loss: None,
        })
    }

    fn failure(&self, reason: String) -> ZooError {
        ZooError::IterationFailed {
            iteration: self.iteration,
            reason,
        }
    }

    /// Losses of perturbation `p`'s two points: (L₊, L₋) for central
    /// estimators, (L₊, L(θ)) for forward ones; `None` when either is not
    /// finite.
    fn pair(&self, losses: &[f64], p: usize) -> Option<(f64, f64)> {
        let (plus, minus) = if self.config.kind.is_central() {
            (losses[2 * p], losses[2 * p + 1])
        } else {
            (losses[p + 1], losses[0])
        };
        (plus.is_finite() && minus.is_finite()).then_some((plus, minus))
    }

    /// The finite-difference quotient of a pair.
    fn quotient(&self, (plus, minus): (f64, f64)) -> f64 {
        if self.config.kind.is_central() {
            (plus - minus) / (2.0 * self.config.mu)
        } else {
            (plus - minus) / self.config.mu
        }
    }

    pub(crate) fn coords(&self) -> &[usize] {
        &self.coords
    }
}

/// `shaped[i]` is the centred rank of `losses[i]` among the finite
/// losses, in [−½, ½] (0 when only one is finite); equal losses share the
/// mean of their ranks, and non-finite ones stay as they are, so the
/// non-finite policy still drops them. Deterministic: ties are broken by
/// value, never by sort order.
fn centred_ranks(losses: &[f64], shaped: &mut Vec<f64>, order: &mut Vec<usize>) {
    shaped.clear();
    shaped.extend_from_slice(losses);
    order.clear();
    order.extend((0..losses.len()).filter(|&i| losses[i].is_finite()));
    order.sort_unstable_by(|&a, &b| losses[a].total_cmp(&losses[b]).then(a.cmp(&b)));
    let n = order.len();
    let scale = 1.0 / n.saturating_sub(1).max(1) as f64;
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && losses[order[end]] == losses[order[start]] {
            end += 1;
        }
        // Ranks start..end-1 share their mean.
        let rank = (start + end - 1) as f64 * 0.5;
        for &i in &order[start..end] {
            shaped[i] = if n > 1 { rank * scale - 0.5 } else { 0.0 };
        }
        start = end;
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_perturb;
#[cfg(test)]
mod tests_shaping;
