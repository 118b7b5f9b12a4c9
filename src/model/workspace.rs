//! Reusable buffers for forward and backward passes.
//!
//! A [`Workspace`] grows to the largest batch it has seen and is then reused,
//! so repeated forward calls allocate nothing. Each thread keeps its own.

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
