//! Metrics output: one JSON line per completed iteration appended to the
//! file of option `metrics_file`, and a progress line on stderr every
//! `progress_every` iterations. Only rank 0 writes when the trainer has a
//! communicator. A line is written with one call right after the update,
//! so a killed run loses at most the line being written.

use super::{IterationMetrics, Trainer};
use crate::error::{Result, ZooError};
use std::fs::{File, OpenOptions};
use std::io::Write;

/// The open metrics file.
pub(super) struct MetricsLog {
    path: String,
    file: File,
}

impl MetricsLog {
    /// Opens (creating or appending to) the file of option `metrics_file`,
    /// or `None` when it is empty.
    pub(super) fn open(path: &str) -> Result<Option<Self>> {
        if path.is_empty() {
            return Ok(None);
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| ZooError::Io {
                path: path.into(),
                message: format!("cannot open the metrics file (option metrics_file): {e}"),
            })?;
        Ok(Some(Self {
            path: path.into(),
            file,
        }))
    }

    pub(super) fn path(&self) -> &str {
        &self.path
    }
}

/// A JSON number, or null for NaN and infinities.
fn number(value: f64) -> String {
    if value.is_finite() {
        format!("{value:?}")
    } else {
        "null".into()
    }
}

/// The JSON line of one iteration (no trailing newline).
pub fn json_line(m: &IterationMetrics) -> String {
    let optional = |v: Option<f64>| v.map_or("null".into(), number);
    format!(
        "{{\"iteration\":{},\"base_loss\":{},\"mean_loss\":{},\"data_loss\":{},\"evaluations\":{},\"dropped\":{},\"grad_norm\":{},\"lr\":{},\"wall_time\":{}}}",
        m.iteration,
        optional(m.base_loss),
        number(m.mean_loss),
        optional(m.data_loss),
        m.evaluations,
        m.dropped,
        number(m.grad_norm),
        number(m.lr),
        number(m.wall_time),
    )
}

/// The progress line of one iteration: its loss says whether it is the
/// base loss L(θ_k) (`base`) or the mean of the candidate losses (`mean`).
pub(super) fn progress_line(m: &IterationMetrics) -> String {
    format!(
        "zoo: iteration {:>7}  loss {:.4e} ({})  |g| {:.3e}  lr {:.3e}  evaluations {}  dropped {}  {:.3} s",
        m.iteration,
        m.loss(),
        if m.base_loss.is_some() { "base" } else { "mean" },
        m.grad_norm,
        m.lr,
        m.evaluations,
        m.dropped,
        m.wall_time
    )
}

impl Trainer {
    /// Stores the metrics of a completed iteration and writes them out.
    pub(super) fn record(&mut self, metrics: IterationMetrics) -> &IterationMetrics {
        if self.writes_files() {
            if let Some(log) = &mut self.log.metrics_log {
                let mut line = json_line(&metrics);
                line.push('\n');
                // A full disk must not stop a run whose update is already
                // applied; failures are counted (metric "metrics_write_errors").
                if log.file.write_all(line.as_bytes()).is_err() {
                    self.log.metrics_write_errors += 1;
                }
            }
            let every = self.config.progress_every;
            if every > 0 && metrics.iteration.is_multiple_of(every) {
                eprintln!("{}", progress_line(&metrics));
            }
        }
        self.log.metrics.insert(metrics)
    }

    /// Lines the metrics file could not take.
    pub fn metrics_write_errors(&self) -> u64 {
        self.log.metrics_write_errors
    }
}
