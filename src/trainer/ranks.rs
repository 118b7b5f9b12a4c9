//! Several processes (MPI ranks) training one model without zoo linking
//! MPI: the host registers an allreduce (in-place sum of a double array
//! over its communicator) with its rank and size.
//!
//! - `partition=candidates`: rank r evaluates candidates c ≡ r (mod size);
//!   the others' slots are 0, so one allreduce of the loss vector gives
//!   every rank every loss exactly (x + 0 = x in any order). Every rank then
//!   applies the same update: weights stay identical with no broadcast,
//!   because directions come from the shared seed.
//! - `partition=replicated`: for a domain-decomposed host, every rank
//!   evaluates every candidate on its subdomain. Partial losses travel in
//!   one row per rank (zeros elsewhere) and are summed locally in rank
//!   order, so the sum does not depend on how the allreduce adds.
//!
//! One more slot counts failed ranks: an evaluation error on any rank
//! aborts the iteration on every rank, so none waits in a collective the
//! others skipped. `step`/`step_parallel` and weight-space ask/tell (each
//! rank asks and tells its own share; its last tell makes the allreduce)
//! use the communicator, with the same allreduce and so the same update.
//! Only rank 0 writes metrics files and checkpoints.

use super::Trainer;
use crate::error::{Result, ZooError};
use crate::schedule::Share;

/// The host's in-place sum over its ranks; `Err(code)` on failure.
pub type Allreduce = Box<dyn FnMut(&mut [f64]) -> std::result::Result<(), i32> + Send>;

/// How candidates are shared among ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Candidates,
    Replicated,
}

/// The host's communicator, as zoo sees it.
pub(super) struct Communicator {
    /// In a mutex only so that a trainer can be read from several threads
    /// (`Trainer: Sync`); it is called through `&mut`, without locking.
    allreduce: std::sync::Mutex<Allreduce>,
    rank: usize,
    size: usize,
}

impl Trainer {
    /// Trains across `size` processes; this one is `rank`. Every rank must
    /// call the same trainer functions in the same order with the same
    /// options and seed.
    pub fn set_communicator(
        &mut self,
        rank: usize,
        size: usize,
        allreduce: Allreduce,
    ) -> Result<()> {
        self.ensure_quiet("set a communicator")?;
        if size == 0 || rank >= size {
            return Err(ZooError::InvalidArgument(format!(
                "rank {rank} of size {size}: the rank must be in [0, size)"
            )));
        }
        self.ranks.comm = Some(Communicator {
            allreduce: std::sync::Mutex::new(allreduce),
            rank,
            size,
        });
        Ok(())
    }

    /// Whether this process writes files: rank 0, or a trainer without
    /// a communicator.
    pub fn writes_files(&self) -> bool {
        self.ranks.comm.as_ref().is_none_or(|c| c.rank == 0)
    }

    /// Whether a communicator is set.
    pub fn has_communicator(&self) -> bool {
        self.ranks.comm.is_some()
    }

    /// This process's share of the candidates.
    pub(super) fn share(&self) -> Share {
        match &self.ranks.comm {
            Some(c) if self.config.partition == Partition::Candidates => Share {
                rank: c.rank,
                size: c.size,
                split: true,
            },
            _ => Share::ALL,
        }
    }

    /// Completes the losses of an iteration across ranks (a no-op without
    /// a communicator); every rank reaches the same verdict.
    pub(super) fn combine_losses(&mut self, local: Result<()>) -> Result<()> {
        if self.ranks.comm.is_none() {
            return local;
        }
        let (rows, failed) = self.exchange_losses(local.is_err())?;
        if failed > 0 {
            return match local {
                Err(e) => Err(e),
                Ok(()) => Err(ZooError::RankFailed { ranks: failed }),
            };
        }
        let c = self.open.losses.len();
        let buf = &self.ranks.reduce_buf;
        for (j, loss) in self.open.losses.iter_mut().enumerate() {
            *loss = (0..rows)
                .map(|r| buf[r * c + j])
                .fold(0.0, |sum, v| sum + v);
        }
        Ok(())
    }

    /// Takes this rank's part in the open iteration's allreduce as a
    /// failed rank, so that every other rank aborts the iteration too
    /// (a no-op without a communicator).
    pub(super) fn report_failure(&mut self) -> Result<()> {
        if self.ranks.comm.is_none() {
            return Ok(());
        }
        self.exchange_losses(true).map(|_| ())
    }

    /// The iteration's one allreduce: this rank's losses (one row, or its
    /// own row of `size` with `partition=replicated`) and whether it
    /// failed. Returns the number of rows and of failed ranks; the summed
    /// rows stay in `reduce_buf`.
    fn exchange_losses(&mut self, failed: bool) -> Result<(usize, usize)> {
        let comm = self
            .ranks
            .comm
            .as_mut()
            .expect("called with a communicator");
        let c = self.open.losses.len();
        let rows = if self.config.partition == Partition::Replicated {
            comm.size
        } else {
            1
        };
        let buf = &mut self.ranks.reduce_buf;
        buf.clear();
        let len = crate::size::rows_times("allreduce buffer (ranks × candidates)", rows, c)?;
        crate::size::try_grow(buf, len + 1, 0.0, "allreduce buffer")?;
        let row = if rows == 1 { 0 } else { comm.rank };
        buf[row * c..(row + 1) * c].copy_from_slice(&self.open.losses);
        buf[rows * c] = if failed { 1.0 } else { 0.0 };
        allreduce(&mut comm.allreduce, buf).map_err(|code| ZooError::AllreduceFailed { code })?;
        Ok((rows, buf[rows * c] as usize))
    }

    /// Whether every rank holds the same weights, by an allreduce of a
    /// 64-bit hash of θ in 16-bit pieces and their squares (exact in
    /// doubles): the pieces agree on all ranks iff size·Σx² = (Σx)².
    /// Without a communicator there is nothing to disagree with.
    pub fn check_consistency(&mut self) -> Result<bool> {
        let hash = self.params().iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
            (h ^ v.to_bits()).wrapping_mul(0x0100_0000_01b3)
        });
        let Some(comm) = self.ranks.comm.as_mut() else {
            return Ok(true);
        };
        let pieces: Vec<f64> = (0..4)
            .map(|i| ((hash >> (16 * i)) & 0xFFFF) as f64)
            .collect();
        let mut buf: Vec<f64> = pieces
            .iter()
            .copied()
            .chain(pieces.iter().map(|x| x * x))
            .collect();
        allreduce(&mut comm.allreduce, &mut buf)
            .map_err(|code| ZooError::AllreduceFailed { code })?;
        let size = comm.size as f64;
        Ok((0..4).all(|i| size * buf[4 + i] == buf[i] * buf[i]))
    }
}

/// Calls the host's allreduce (a poisoned mutex only means an earlier
/// call panicked; the closure itself is still usable).
fn allreduce(f: &mut std::sync::Mutex<Allreduce>, buf: &mut [f64]) -> std::result::Result<(), i32> {
    (f.get_mut().unwrap_or_else(|p| p.into_inner()))(buf)
}
