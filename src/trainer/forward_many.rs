//! Many asked candidates in one call, for hosts that batch (ensembles,
//! vectorized solvers): the `vmap` of [`Trainer::forward_batch`] over
//! candidates. Each candidate's outputs are bit for bit those of its own
//! `forward_batch` call; with `threads` > 1 candidates run on the
//! trainer's pool.

use super::ask_tell::materialized;
use super::{CandidateId, Trainer};
use crate::error::{Result, ZooError};
use crate::model::check_len;
use crate::size::rows_times;
use rayon::prelude::*;

/// What the candidates of [`Trainer::forward_many`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManyInputs {
    /// One `n × num_inputs` block for all of them (an ensemble on one state).
    Shared,
    /// A block per candidate, in the order of the ids.
    PerCandidate,
}

impl Trainer {
    /// Runs the asked candidates `ids` on `n` rows each: candidate `i`
    /// reads block `i` of `x` (or the one block, [`ManyInputs::Shared`])
    /// and writes `y[i·n·num_outputs ..][.. n·num_outputs]`. An id may
    /// appear once. On error nothing is run unless the error is the
    /// forward pass's own (memory), and the trainer is unchanged.
    pub fn forward_many(
        &mut self,
        ids: &[CandidateId],
        x: &[f64],
        inputs: ManyInputs,
        n: usize,
        y: &mut [f64],
    ) -> Result<()> {
        let network = self.model.network();
        let x_block = rows_times("inputs (n × num_inputs)", n, network.num_inputs())?;
        let y_block = rows_times("outputs (n × num_outputs)", n, network.num_outputs())?;
        let x_len = match inputs {
            ManyInputs::Shared => x_block,
            ManyInputs::PerCandidate => {
                rows_times("inputs (ids × n × num_inputs)", ids.len(), x_block)?
            }
        };
        check_len("inputs", x_len, x.len())?;
        check_len(
            "outputs (ids × n × num_outputs)",
            rows_times("outputs (ids × n × num_outputs)", ids.len(), y_block)?,
            y.len(),
        )?;
        let mut candidates = Vec::new();
        crate::size::try_grow(&mut candidates, ids.len(), 0, "candidate list")?;
        for (c, id) in candidates.iter_mut().zip(ids) {
            *c = self.resolve(*id)?;
        }
        for (i, c) in candidates.iter().enumerate() {
            if candidates[..i].contains(c) {
                return Err(ZooError::BadCandidate {
                    id: ids[i].to_raw(),
                    reason: "appears twice in the ids of one call".into(),
                });
            }
        }
        self.ensure_weight_candidate()?;
        for &c in &candidates {
            materialized(
                &mut self.open.ask_slots,
                &self.estimation.plan,
                self.model.params(),
                &self.estimation.active,
                self.open.serial,
                c,
            );
        }
        if n == 0 {
            return Ok(()); // valid ids, no rows: nothing to run
        }
        let pool = if ids.len() > 1 {
            self.pool.start()?
        } else {
            None
        };
        let network = self.model.network();
        let reuse = self.config.feature_reuse.then_some((
            &self.estimation.plan,
            &self.estimation.active[..],
            self.model.params(),
        ));
        // Each job: a candidate's position among the ids and its slot; the
        // ids are host-given, so the list is reserved fallibly.
        let mut jobs = Vec::new();
        jobs.try_reserve_exact(ids.len())
            .map_err(|_| ZooError::OutOfMemory {
                what: format!("a list of {} candidates", ids.len()),
            })?;
        jobs.extend(self.open.ask_slots.iter_mut().filter_map(|slot| {
            let position = candidates.iter().position(|&c| Some(c) == slot.holder)?;
            Some((position, slot))
        }));
        jobs.sort_by_key(|(position, _)| *position);
        let run = |((position, slot), y): ((usize, &mut super::ask_tell::Slot), &mut [f64])| {
            let x = match inputs {
                ManyInputs::Shared => x,
                ManyInputs::PerCandidate => &x[position * x_block..(position + 1) * x_block],
            };
            slot.scratch
                .view(network, ids[position], reuse)
                .forward_batch(x, n, y)
        };
        match pool {
            Some(pool) => pool.install(|| {
                jobs.into_par_iter()
                    .zip(y.par_chunks_exact_mut(y_block))
                    .try_for_each(run)
            }),
            None => jobs
                .into_iter()
                .zip(y.chunks_exact_mut(y_block))
                .try_for_each(run),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, Model};

    fn rows(n: usize, width: usize, shift: f64) -> Vec<f64> {
        (0..n * width)
            .map(|i| ((i * 37 % 23) as f64 / 11.0 - 1.0) + shift)
            .collect()
    }

    #[test]
    fn many_candidates_give_what_each_gives_alone() {
        for options in [
            "estimator=rge-central q=5 threads=1",
            "estimator=rge-central q=5 threads=2",
            "estimator=cge-forward threads=2 feature_reuse=on",
        ] {
            let model = Model::mlp(&[3, 9, 2], Activation::Tanh, 4).unwrap();
            let mut trainer = Trainer::new(model, options).unwrap();
            let ids = trainer.ask_batch(7).unwrap();
            let n = 6;
            let own: Vec<f64> = (0..ids.len())
                .flat_map(|c| rows(n, 3, c as f64 / 10.0))
                .collect();
            let shared = rows(n, 3, 0.0);
            for (inputs, x) in [
                (ManyInputs::PerCandidate, &own),
                (ManyInputs::Shared, &shared),
            ] {
                let mut many = vec![f64::NAN; ids.len() * n * 2];
                trainer.forward_many(&ids, x, inputs, n, &mut many).unwrap();
                for (i, id) in ids.iter().enumerate() {
                    let xi = match inputs {
                        ManyInputs::Shared => &shared[..],
                        ManyInputs::PerCandidate => &own[i * n * 3..(i + 1) * n * 3],
                    };
                    let mut alone = vec![0.0; n * 2];
                    trainer.forward_batch(*id, xi, n, &mut alone).unwrap();
                    let got = &many[i * n * 2..(i + 1) * n * 2];
                    let same = got
                        .iter()
                        .zip(&alone)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{options}, {inputs:?}, candidate {i}");
                }
            }
        }
    }

    #[test]
    fn bad_ids_and_sizes_are_refused_before_anything_runs() {
        let model = Model::mlp(&[2, 4, 1], Activation::Tanh, 1).unwrap();
        let mut trainer = Trainer::new(model, "estimator=rge-central q=2 lr=0.01").unwrap();
        let ids = trainer.ask_batch(4).unwrap();
        let x = vec![0.5; 2 * 2];
        let mut y = vec![7.0; 2];
        let twice = [ids[0], ids[0]];
        let err = trainer
            .forward_many(&twice, &x, ManyInputs::PerCandidate, 1, &mut y)
            .unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
        let err = trainer
            .forward_many(&ids[..2], &x[..3], ManyInputs::PerCandidate, 1, &mut y)
            .unwrap_err();
        assert!(err.to_string().contains("inputs"), "{err}");
        assert_eq!(y, [7.0, 7.0], "outputs untouched by refused calls");
        trainer
            .forward_many(&ids[..2], &[], ManyInputs::PerCandidate, 0, &mut [])
            .expect("zero rows is an empty batch, not an error");
        let before = trainer.params().to_vec();
        for (i, id) in ids.iter().enumerate() {
            trainer.tell(*id, i as f64).unwrap();
        }
        assert_ne!(trainer.params(), &before[..]);
        let err = trainer
            .forward_many(&ids[..2], &x, ManyInputs::PerCandidate, 1, &mut y)
            .unwrap_err();
        assert!(err.to_string().contains("no iteration is open"), "{err}");
    }
}
