//! Models: a [`Network`] plus its flat parameter vector θ and a mask.
//!
//! The mask says which coordinates of θ exist. Masked (pruned) coordinates
//! are exactly zero, receive no gradient and are never perturbed; the
//! *active set* is the ascending list of unmasked coordinates.

mod activation;
mod backward;
mod fastmath;
mod kernel;
mod network;
mod polynomial;
mod reuse;
mod workspace;

pub use activation::Activation;
pub use network::{Layer, Network, SPARSE_DENSITY_THRESHOLD};
pub use polynomial::Polynomial;
pub use reuse::FeatureCache;
pub use workspace::Workspace;

use crate::error::{Result, ZooError};
use crate::rng::{stream, Purpose};
use crate::size::try_vec;
pub(crate) use network::{check_len, check_rows};
pub(crate) use polynomial::MAX_DEGREE as MAX_FEATURE_DEGREE;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// How initial weights are drawn. Biases start at zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// He (normal, std √(2/fan_in)) for ReLU layers, Xavier otherwise.
    Auto,
    /// Xavier/Glorot uniform: U(±√(6/(fan_in+fan_out))).
    Xavier,
    /// He normal: N(0, 2/fan_in).
    He,
}

/// A network with its parameters and mask.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    network: Network,
    params: Vec<f64>,
    mask: Vec<bool>,
    active: Vec<usize>,
}

impl Model {
    /// An MLP with layer widths `sizes`, `hidden` activation on hidden layers,
    /// identity output, and [`Init::Auto`] weights drawn from `seed`.
    ///
    /// ```
    /// use zoo::model::{Activation, Model, Workspace};
    /// let model = Model::mlp(&[2, 8, 1], Activation::Tanh, 42).unwrap();
    /// assert_eq!(model.num_params(), 2 * 8 + 8 + 8 + 1);
    /// let mut y = [0.0];
    /// model.forward(&[0.5, -1.0], &mut y, &mut Workspace::new()).unwrap();
    /// ```
    pub fn mlp(sizes: &[usize], hidden: Activation, seed: u64) -> Result<Self> {
        let network = Network::mlp(sizes, hidden, Activation::Identity)?;
        Self::new(network, Init::Auto, seed)
    }

    /// A SINDy-style model: polynomial features of `inputs` variables up
    /// to `degree` (see [`Polynomial`] for their order), then a linear layer
    /// to `outputs`; weights drawn Xavier-uniform from `seed`, biases zero.
    pub fn polynomial(inputs: usize, degree: usize, outputs: usize, seed: u64) -> Result<Self> {
        let network = Network::polynomial(inputs, degree, outputs)?;
        Self::new(network, Init::Xavier, seed)
    }

    /// A model of `network` with weights drawn by `init` from `seed`.
    /// Fails (out of memory) when its parameters cannot be allocated.
    pub fn new(network: Network, init: Init, seed: u64) -> Result<Self> {
        let d = network.num_params();
        let mut params = try_vec(d, 0.0, "model parameters")?;
        let mask = try_vec(d, true, "model mask")?;
        let mut active = try_vec(d, 0usize, "model active set")?;
        let mut rng = stream(seed, Purpose::Init, 0, 0);
        for layer in network.layers() {
            let (fan_in, fan_out) = (layer.inputs as f64, layer.outputs as f64);
            let he = match init {
                Init::He => true,
                Init::Xavier => false,
                Init::Auto => layer.activation == Activation::Relu,
            };
            let weights = &mut params[layer.weight_offset..layer.bias_offset()];
            for w in weights {
                *w = if he {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    z * (2.0 / fan_in).sqrt()
                } else {
                    let limit = (6.0 / (fan_in + fan_out)).sqrt();
                    rng.random_range(-limit..limit)
                };
            }
        }
        for (i, a) in active.iter_mut().enumerate() {
            *a = i;
        }
        Ok(Self {
            network,
            params,
            mask,
            active,
        })
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Number of coordinates of θ, masked ones included.
    pub fn num_params(&self) -> usize {
        self.params.len()
    }

    /// Number of unmasked coordinates.
    pub fn num_active(&self) -> usize {
        self.active.len()
    }

    /// θ, masked coordinates included (they are zero).
    pub fn params(&self) -> &[f64] {
        &self.params
    }

    /// The ascending list of unmasked coordinates.
    pub fn active(&self) -> &[usize] {
        &self.active
    }

    /// `mask[i]` is true when coordinate `i` is active.
    pub fn mask(&self) -> &[bool] {
        &self.mask
    }

    /// Replaces θ. Every value must be finite and every masked coordinate
    /// zero; on error θ is unchanged.
    pub fn set_params(&mut self, params: &[f64]) -> Result<()> {
        check_len("parameters", self.params.len(), params.len())?;
        if let Some(i) = params.iter().position(|v| !v.is_finite()) {
            return Err(ZooError::InvalidArgument(format!(
                "parameter {i} is {}; parameters must be finite",
                params[i]
            )));
        }
        if let Some(i) = (0..params.len()).find(|&i| !self.mask[i] && params[i] != 0.0) {
            return Err(ZooError::InvalidArgument(format!(
                "parameter {i} is masked (pruned) and must be 0, got {}",
                params[i]
            )));
        }
        self.params.copy_from_slice(params);
        Ok(())
    }

    /// Replaces the mask (true = active) and zeroes the newly masked
    /// coordinates.
    pub fn set_mask(&mut self, mask: &[bool]) -> Result<()> {
        check_len("mask", self.params.len(), mask.len())?;
        self.mask.copy_from_slice(mask);
        self.active = (0..mask.len()).filter(|&i| mask[i]).collect();
        self.network.set_sparsity(mask);
        for (p, &m) in self.params.iter_mut().zip(mask) {
            if !m {
                *p = 0.0;
            }
        }
        Ok(())
    }

    /// Mutable θ, for optimizers inside the crate, which move active
    /// coordinates only and so keep masked ones at zero.
    pub(crate) fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    /// Runs the model on one input.
    pub fn forward(&self, x: &[f64], y: &mut [f64], ws: &mut Workspace) -> Result<()> {
        self.network.forward(&self.params, x, y, ws)
    }

    /// Runs the model on `n` rows of `x`.
    pub fn forward_batch(
        &self,
        x: &[f64],
        n: usize,
        y: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<()> {
        self.network.forward_batch(&self.params, x, n, y, ws)
    }

    /// Vector-Jacobian products (see [`Network::vjp`]); the parameter
    /// gradient is zero on masked coordinates.
    pub fn vjp(
        &self,
        x: &[f64],
        n: usize,
        gy: &[f64],
        grad_params: &mut [f64],
        grad_x: Option<&mut [f64]>,
        ws: &mut Workspace,
    ) -> Result<()> {
        self.network
            .vjp(&self.params, x, n, gy, grad_params, grad_x, ws)?;
        for (g, &m) in grad_params.iter_mut().zip(&self.mask) {
            if !m {
                *g = 0.0;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
