//! Reusable buffers for forward and backward passes.
//!
//! A [`Workspace`] grows to the largest batch it has seen and is then reused,
//! so repeated forward calls allocate nothing. Each thread keeps its own.

use super::Network;
use crate::error::Result;
use crate::size::{rows_times, try_grow};

/// Scratch buffers for [`super::Network`] passes.
#[derive(Debug, Default, Clone)]
pub struct Workspace {
    pub(crate) front: Vec<f64>,
    pub(crate) back: Vec<f64>,
    /// Per-layer pre-activations and outputs kept for backward passes.
    pub(crate) pre: Vec<f64>,
    pub(crate) post: Vec<f64>,
    /// Polynomial features of the inputs, for networks that have them.
    pub(crate) features: Vec<f64>,
}

impl Workspace {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes room, fallibly, for an `n`-row pass of `network` (with what a
    /// backward pass keeps, if `backward`), so that the pass itself only
    /// reuses memory; `n` comes from the host.
    pub(crate) fn reserve_rows(
        &mut self,
        network: &Network,
        n: usize,
        backward: bool,
    ) -> Result<()> {
        let widest = rows_times("workspace (n × widest layer)", n, network.max_width())?;
        try_grow(&mut self.front, widest, 0.0, "workspace")?;
        try_grow(&mut self.back, widest, 0.0, "workspace")?;
        if let Some(poly) = network.features() {
            let features = rows_times("polynomial features (n × terms)", n, poly.len())?;
            try_grow(&mut self.features, features, 0.0, "polynomial features")?;
        }
        if backward {
            let kept: usize = network.layers().iter().map(|l| l.outputs).sum();
            let stored = rows_times("stored activations (n × neurons)", n, kept)?;
            try_grow(&mut self.pre, stored, 0.0, "stored activations")?;
            try_grow(&mut self.post, stored, 0.0, "stored activations")?;
        }
        Ok(())
    }

    /// Two buffers of at least `len` values each.
    pub(crate) fn ping_pong(&mut self, len: usize) -> (&mut [f64], &mut [f64]) {
        grow(&mut self.front, len);
        grow(&mut self.back, len);
        (&mut self.front[..len], &mut self.back[..len])
    }

    /// Buffers for backward: `pre`/`post` of `stored` values and two delta
    /// buffers of `delta` values.
    pub(crate) fn for_backward(&mut self, stored: usize, delta: usize) {
        grow(&mut self.pre, stored);
        grow(&mut self.post, stored);
        grow(&mut self.front, delta);
        grow(&mut self.back, delta);
    }
}

fn grow(buf: &mut Vec<f64>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
}
