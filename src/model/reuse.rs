//! Feature reuse for coordinate-wise candidates.
//!
//! When every candidate of an iteration runs the network on the same
//! batch, a candidate that perturbs one coordinate of layer L shares all
//! activations below L with θ. [`FeatureCache`] keeps θ's pre-activations
//! and outputs for that batch; [`Network::forward_perturbed`] then updates
//! the one neuron of layer L the coordinate feeds, applies the resulting
//! rank-one change to layer L+1's pre-activations, and recomputes only the
//! layers after that. The result equals a full forward pass up to rounding
//! (sums are formed in a different order) and is itself deterministic.

use super::network::{dense_forward, Network};
use super::workspace::Workspace;
use crate::error::Result;
use crate::size::{rows_times, try_grow};

/// θ's per-layer pre-activations and outputs on one batch.
#[derive(Debug, Default, Clone)]
pub struct FeatureCache {
    /// What the cache was computed for: a caller-chosen version of θ and
    /// the batch itself.
    key: Option<u64>,
    x: Vec<f64>,
    /// The input of layer 0: `x`'s polynomial features, for networks that
    /// have them (else empty and `x` is used).
    features: Vec<f64>,
    n: usize,
    pre: Vec<Vec<f64>>,
    post: Vec<Vec<f64>>,
    /// Layer L+1 after the rank-one update.
    next: Vec<f64>,
}

impl FeatureCache {
    /// Makes the cache hold θ's features on `x` (`n` rows), recomputing
    /// them unless they are already those of (`key`, `x`).
    pub(crate) fn prepare(
        &mut self,
        network: &Network,
        key: u64,
        theta: &[f64],
        x: &[f64],
        n: usize,
    ) -> Result<()> {
        if self.key == Some(key) && self.n == n && self.x == x {
            return Ok(());
        }
        self.key = None;
        self.x.clear();
        try_grow(&mut self.x, x.len(), 0.0, "feature cache")?;
        self.x.copy_from_slice(x);
        if let Some(poly) = network.features() {
            let len = rows_times("feature cache (n × terms)", n, poly.len())?;
            self.features.clear();
            try_grow(&mut self.features, len, 0.0, "feature cache")?;
            poly.expand(x, n, &mut self.features);
        }
        let x = if network.features().is_some() {
            &self.features[..]
        } else {
            x
        };
        let layers = network.layers();
        self.pre.resize(layers.len(), Vec::new());
        self.post.resize(layers.len(), Vec::new());
        for (l, layer) in layers.iter().enumerate() {
            let (done, rest) = self.post.split_at_mut(l);
            let input: &[f64] = if l == 0 { x } else { &done[l - 1] };
            let pre = &mut self.pre[l];
            pre.clear();
            try_grow(
                pre,
                rows_times("feature cache", n, layer.outputs)?,
                0.0,
                "feature cache",
            )?;
            dense_forward(layer, theta, input, n, pre);
            let post = &mut rest[0];
            post.clear();
            try_grow(post, pre.len(), 0.0, "feature cache")?;
            post.copy_from_slice(pre);
            layer.activation.apply_slice(post);
        }
        self.key = Some(key);
        self.n = n;
        Ok(())
    }
}

/// Where coordinate `coord` of θ sits: its layer, output neuron, and
/// input column (`None` for a bias).
fn locate(network: &Network, coord: usize) -> (usize, usize, Option<usize>) {
    for (l, layer) in network.layers().iter().enumerate() {
        if coord < layer.bias_offset() {
            let local = coord - layer.weight_offset;
            return (l, local / layer.inputs, Some(local % layer.inputs));
        }
        if coord < layer.bias_offset() + layer.outputs {
            return (l, coord - layer.bias_offset(), None);
        }
    }
    panic!("coordinate {coord} is outside the network");
}

impl Network {
    /// The network with `params` = θ + `delta`·e_`coord` on the cached batch,
    /// reusing θ's features from `cache` (see the module comment).
    pub(crate) fn forward_perturbed(
        &self,
        params: &[f64],
        coord: usize,
        delta: f64,
        cache: &mut FeatureCache,
        y: &mut [f64],
        ws: &mut Workspace,
    ) {
        let (l, o, column) = locate(self, coord);
        let layers = self.layers();
        let n = cache.n;
        let layer = &layers[l];
        let last = layers.len() - 1;
        let input: &[f64] = match (l, self.features()) {
            (0, None) => &cache.x,
            (0, Some(_)) => &cache.features,
            _ => &cache.post[l - 1],
        };
        if l == last {
            y.copy_from_slice(&cache.post[l]);
        }
        // Change of neuron o's output, row by row; `y` takes it directly
        // when layer L is the output layer.
        let width = layer.outputs;
        let mut changes = std::mem::take(&mut cache.next);
        changes.clear();
        for r in 0..n {
            let dz = delta * column.map_or(1.0, |i| input[r * layer.inputs + i]);
            let z = cache.pre[l][r * width + o] + dz;
            let a = layer.activation.apply(z);
            if l == last {
                y[r * width + o] = a;
            } else {
                changes.push(a - cache.post[l][r * width + o]);
            }
        }
        if l == last {
            cache.next = changes;
            return;
        }
        // Layer L+1: θ's pre-activations plus the rank-one change W[:, o]·Δa.
        let above = &layers[l + 1];
        let w = &params[above.weight_offset..above.bias_offset()];
        let mut next = std::mem::take(&mut ws.pre);
        next.clear();
        for (r, da) in changes.iter().enumerate() {
            let base = &cache.pre[l + 1][r * above.outputs..(r + 1) * above.outputs];
            next.extend(
                base.iter()
                    .enumerate()
                    .map(|(p, z)| above.activation.apply(z + w[p * above.inputs + o] * da)),
            );
        }
        cache.next = changes;
        if l + 1 == last {
            y.copy_from_slice(&next);
        } else {
            self.forward_from(l + 2, params, &next, n, y, ws);
        }
        ws.pre = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, Model};

    #[test]
    fn perturbed_forward_matches_a_full_forward() {
        let model = Model::mlp(&[4, 7, 5, 3], Activation::Tanh, 6).unwrap();
        let theta = model.params().to_vec();
        let n = 6;
        let x: Vec<f64> = (0..n * 4)
            .map(|i| ((i * 13 % 11) as f64 / 5.0) - 1.0)
            .collect();
        let mut cache = FeatureCache::default();
        let mut ws = Workspace::new();
        let (mut fast, mut full) = (vec![0.0; n * 3], vec![0.0; n * 3]);
        for coord in 0..theta.len() {
            let mut perturbed = theta.clone();
            perturbed[coord] += 0.01;
            cache.prepare(model.network(), 1, &theta, &x, n).unwrap();
            model
                .network()
                .forward_perturbed(&perturbed, coord, 0.01, &mut cache, &mut fast, &mut ws);
            model
                .network()
                .forward_batch(&perturbed, &x, n, &mut full, &mut Workspace::new())
                .unwrap();
            for (a, b) in fast.iter().zip(&full) {
                assert!((a - b).abs() < 1e-13, "coordinate {coord}: {a} vs {b}");
            }
        }
    }
}
