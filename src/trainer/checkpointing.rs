//! Trainer checkpoints (format in [`crate::checkpoint`]): saved between
//! iterations, restored into a new process so that training continues
//! bit for bit as if it had never stopped.
//!
//! What is the host's stays the host's: [`Trainer::restore`] keeps the
//! trainer's [`ENVIRONMENT_OPTIONS`] (with the thread pool and metrics
//! file they opened), its communicator, batch and data term;
//! [`Trainer::load`] gives a new trainer the defaults of the environment
//! options (one thread, no metrics file, no progress line, candidates
//! shared among ranks), which the host sets as after [`Trainer::new`].

use super::Trainer;
use crate::checkpoint::{self, is_environment_option, TrainerState, ENVIRONMENT_OPTIONS};
use crate::config::{TrainerConfig, OPTIONS};
use crate::error::{Result, ZooError};
use crate::optim::Optimizer;
use std::path::Path;

impl Trainer {
    /// The checkpoint bytes of this trainer. Fails while an iteration is
    /// open (ask/tell or a ZO-GraSP probe): checkpoints are taken between
    /// iterations.
    pub fn checkpoint_bytes(&self) -> Result<Vec<u8>> {
        self.ensure_quiet("save a checkpoint")?;
        let (first, second, optimizer_steps) = self.optimizer.parts();
        let options = OPTIONS
            .iter()
            .filter(|o| !is_environment_option(o.key))
            .map(|o| Ok((o.key.to_string(), self.config.get(o.key)?)))
            .collect::<Result<Vec<_>>>()?;
        let state = TrainerState {
            iteration: self.iteration,
            optimizer_steps,
            first: first.to_vec(),
            second: second.to_vec(),
            auto: Some(self.optimizer.auto_step().clone()),
            options,
        };
        checkpoint::encode(&self.model, Some(&state))
    }

    /// Saves the trainer's state to `path` atomically (the old file stays
    /// intact on any failure). With a communicator only rank 0 writes;
    /// the other ranks return at once.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.checkpoint_bytes()?;
        if !self.writes_files() {
            return Ok(());
        }
        checkpoint::atomic::write(path, &bytes)
    }

    /// A trainer from a trainer checkpoint: model, mask, training
    /// options, iteration and optimizer state. The environment options
    /// ([`ENVIRONMENT_OPTIONS`]) take their defaults.
    pub fn load(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        Self::from_checkpoint(checkpoint::read(path)?, &name)
    }

    /// A trainer from checkpoint bytes (`source` names them in errors).
    pub fn from_checkpoint_bytes(bytes: &[u8], source: &str) -> Result<Self> {
        Self::from_checkpoint(checkpoint::decode(bytes, source)?, source)
    }

    fn from_checkpoint(saved: checkpoint::Checkpoint, source: &str) -> Result<Self> {
        let bad = |reason: String| ZooError::BadCheckpoint {
            path: source.into(),
            reason,
        };
        let state = saved
            .trainer
            .ok_or_else(|| bad("holds a model, not a trainer; load it as a model".into()))?;
        // Environment options keep their defaults: no pool, no file.
        let mut config = TrainerConfig::default();
        for (key, value) in &state.options {
            if !is_environment_option(key) {
                config.set(key, value).map_err(|e| bad(e.to_string()))?;
            }
        }
        let mut trainer = Self::with_config(saved.model, config)?;
        trainer.iteration = state.iteration;
        trainer.optimizer = Optimizer::from_parts(state.first, state.second, state.optimizer_steps);
        if let Some(auto) = state.auto {
            trainer.optimizer.set_auto_step(auto);
        }
        Ok(trainer)
    }

    /// Replaces this trainer's state by the checkpoint at `path`, which
    /// must have the same architecture: weights, mask, training options,
    /// iteration and optimizer state. What the host set up is kept: the
    /// environment options ([`ENVIRONMENT_OPTIONS`]) with the threads and
    /// metrics file they opened, the communicator, batch and data term.
    /// On error nothing changes.
    pub fn restore(&mut self, path: &Path) -> Result<()> {
        self.ensure_quiet("restore a checkpoint")?;
        let name = path.display().to_string();
        let saved = checkpoint::read(path)?;
        if !saved
            .model
            .network()
            .same_architecture(self.model.network())
        {
            return Err(ZooError::BadCheckpoint {
                path: name,
                reason: format!(
                    "its {} does not match this trainer's {}",
                    checkpoint::describe(saved.model.network()),
                    checkpoint::describe(self.model.network())
                ),
            });
        }
        let mut loaded = Self::from_checkpoint(saved, &name)?;
        let mut config = loaded.config.clone();
        for key in ENVIRONMENT_OPTIONS {
            config.set(key, &self.config.get(key)?)?;
        }
        // Nothing fails from here on.
        loaded.config = config;
        loaded.pool = self.pool.take();
        loaded.resize_scratch();
        loaded.log.metrics_log = self.log.metrics_log.take();
        loaded.log.metrics_write_errors = self.log.metrics_write_errors;
        loaded.ranks.comm = self.ranks.comm.take();
        loaded.dataset.batch = self.dataset.batch.take();
        loaded.dataset.data_term = self.dataset.data_term.take();
        // Candidate ids keep counting, so ids handed out before stay stale.
        loaded.open.serial = self.open.serial;
        *self = loaded;
        Ok(())
    }
}
