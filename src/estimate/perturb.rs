//! Building candidates: θ_c = θ + s·μ·u_j is written block by block from
//! θ and the regenerated direction, each block of z drawn into L1-sized
//! scratch (or the thread's direction buffer when an antithetic partner or
//! a sphere norm needs it again) and used at once. A direction candidate
//! overwrites every active coordinate, so the previous candidate needs no
//! undoing pass first.

use super::{rge, DirectionKind, Perturbation, Plan};
use crate::rng::BLOCK;

impl Plan {
    /// Turns `out`, equal to θ_prev (candidate `prev` of this plan, or θ
    /// itself for `None`), into θ_c: the same bits as [`Plan::apply`] on θ.
    /// `direction` and `holds` are as for [`Plan::apply`].
    #[allow(clippy::too_many_arguments)]
    pub fn materialize(
        &self,
        prev: Option<usize>,
        c: usize,
        theta: &[f64],
        active: &[usize],
        out: &mut [f64],
        direction: &mut [f64],
        holds: &mut Option<usize>,
    ) {
        if prev == Some(c) {
            return;
        }
        // The reference point moved coordinates outside the active set too.
        let prev = match prev {
            Some(p) if self.perturbation(p) == Perturbation::Reference => {
                out.copy_from_slice(theta);
                None
            }
            other => other,
        };
        match self.perturbation(c) {
            Perturbation::Direction { j, sign } => {
                self.perturb(j, sign, Some(theta), active, out, direction, holds)
            }
            other => {
                if let Some(p) = prev {
                    self.revert(p, theta, active, out);
                }
                match other {
                    Perturbation::Coordinate { position, sign } => {
                        out[active[position]] += sign * self.config.mu
                    }
                    Perturbation::Reference => self.step_back(out),
                    _ => {}
                }
            }
        }
    }

    /// Writes θ + sign·μ·u_j over the active coordinates of `out`, from
    /// `theta` or, for `None`, from `out` itself (then equal to θ).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn perturb(
        &self,
        j: usize,
        sign: f64,
        theta: Option<&[f64]>,
        active: &[usize],
        out: &mut [f64],
        direction: &mut [f64],
        holds: &mut Option<usize>,
    ) {
        let m = self.num_active;
        let mut target = Target::new(theta, active, out);
        let sphere = self.config.directions == DirectionKind::Sphere;
        let mu = sign * self.config.mu;
        if *holds == Some(j) {
            let scale = if sphere { mu / rge::norm(self, j) } else { mu };
            target.write(0, &direction[..m], scale);
        } else if sphere {
            // The norm must be known before the first coordinate is written.
            let norm = rge::fill_gaussian(self, j, &mut direction[..m]);
            *holds = Some(j);
            target.write(0, &direction[..m], mu / rge::cache_norm(self, j, norm));
        } else {
            // A central partner reuses the direction; a forward one never.
            let keep = self.config.kind.is_central();
            let gaussian = rge::gaussian(self, j);
            let mut scratch = [0.0; BLOCK];
            for (start, kept) in (0..m).step_by(BLOCK).zip(direction[..m].chunks_mut(BLOCK)) {
                let z = if keep {
                    kept
                } else {
                    &mut scratch[..kept.len()]
                };
                gaussian.fill(start as u64, z);
                target.write(start, z, mu);
            }
            if keep {
                *holds = Some(j);
            }
        }
    }
}

/// Where a perturbation is written: the active coordinates of `out`,
/// contiguous when every coordinate is active.
struct Target<'a> {
    theta: Option<&'a [f64]>,
    active: &'a [usize],
    out: &'a mut [f64],
}

impl<'a> Target<'a> {
    fn new(theta: Option<&'a [f64]>, active: &'a [usize], out: &'a mut [f64]) -> Self {
        Self { theta, active, out }
    }

    /// Active positions `start..start + z.len()` get θ + scale·z.
    fn write(&mut self, start: usize, z: &[f64], scale: f64) {
        let out = &mut *self.out;
        let end = start + z.len();
        // The active set is ascending: as long as θ, it is every index.
        if self.active.len() == out.len() {
            let out = &mut out[start..end];
            match self.theta {
                Some(theta) => {
                    for ((o, t), z) in out.iter_mut().zip(&theta[start..end]).zip(z) {
                        *o = t + scale * z;
                    }
                }
                None => {
                    for (o, z) in out.iter_mut().zip(z) {
                        *o += scale * z;
                    }
                }
            }
        } else {
            let positions = &self.active[start..end];
            match self.theta {
                Some(theta) => {
                    for (&i, z) in positions.iter().zip(z) {
                        out[i] = theta[i] + scale * z;
                    }
                }
                None => {
                    for (&i, z) in positions.iter().zip(z) {
                        out[i] += scale * z;
                    }
                }
            }
        }
    }
}
