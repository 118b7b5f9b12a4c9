//! Pruning: choosing which weights exist.
//!
//! A mask keeps the weights with the highest *keep score* and zeroes the
//! rest; biases are never pruned (they are few and cheap). Sparsity is the
//! fraction of weight coordinates pruned, counted per layer (`LayerWise`,
//! every layer gets the same ratio) or over all layers at once (`Global`).
//! Already pruned weights stay pruned. Ties are broken by coordinate
//! order, so masks are deterministic.
//!
//! Keep scores: magnitude |θ|; random (seeded); ZO-GraSP −S with
//! S = −θ ⊙ Hg, the GraSP score whose highest values are pruned, where the
//! Hessian-gradient product is estimated from losses alone by the trainer
//! (see [`crate::trainer::Trainer::begin_zo_grasp`]).

use crate::error::{Result, ZooError};
use crate::model::{check_len, Model, Network};
use crate::rng::{stream, Purpose};
use rand::Rng;

/// Over which weights the sparsity ratio is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Each layer loses the same fraction of its weights.
    LayerWise,
    /// The fraction is counted over all weights together.
    Global,
}

/// How a model is pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Magnitude(Scope),
    /// Uniformly random weights, layer-wise.
    Random {
        seed: u64,
    },
}

impl Method {
    /// Accepted names, for error messages.
    pub const NAMES: &'static str = "magnitude | magnitude-global | random";

    /// Parses "magnitude", "magnitude-global" or "random" (with `seed`).
    pub fn parse(name: &str, seed: u64) -> Result<Self> {
        Ok(match name {
            "magnitude" => Self::Magnitude(Scope::LayerWise),
            "magnitude-global" => Self::Magnitude(Scope::Global),
            "random" => Self::Random { seed },
            _ => {
                return Err(ZooError::InvalidOption {
                    key: "method".into(),
                    value: name.into(),
                    accepted: Self::NAMES.into(),
                })
            }
        })
    }
}

fn check_sparsity(sparsity: f64) -> Result<()> {
    if (0.0..1.0).contains(&sparsity) {
        Ok(())
    } else {
        Err(ZooError::InvalidArgument(format!(
            "sparsity {sparsity} is not in [0, 1): it is the fraction of weights pruned"
        )))
    }
}

/// Seeded uniform keep scores, for random pruning and redrawn masks.
pub(crate) fn random_scores(d: usize, seed: u64, draw: u64) -> Vec<f64> {
    let mut rng = stream(seed, Purpose::Prune, draw, 0);
    (0..d).map(|_| rng.random::<f64>()).collect()
}

/// The mask keeping, among the weights allowed by `current`, the
/// `1 − sparsity` fraction with the highest `scores` (per layer or over all
/// layers); biases keep their `current` state.
pub fn mask_from_scores(
    network: &Network,
    scores: &[f64],
    current: &[bool],
    sparsity: f64,
    scope: Scope,
) -> Result<Vec<bool>> {
    check_sparsity(sparsity)?;
    let groups: Vec<(Vec<usize>, f64)> = match scope {
        Scope::LayerWise => network
            .layers()
            .iter()
            .map(|l| ((l.weight_offset..l.bias_offset()).collect(), sparsity))
            .collect(),
        Scope::Global => vec![(
            network
                .layers()
                .iter()
                .flat_map(|l| l.weight_offset..l.bias_offset())
                .collect(),
            sparsity,
        )],
    };
    keep_best(network, scores, current, groups)
}

/// Like [`mask_from_scores`] with one sparsity per layer.
pub fn mask_from_scores_per_layer(
    network: &Network,
    scores: &[f64],
    current: &[bool],
    sparsities: &[f64],
) -> Result<Vec<bool>> {
    check_len("layer sparsities", network.layers().len(), sparsities.len())?;
    for &s in sparsities {
        check_sparsity(s)?;
    }
    let groups = network
        .layers()
        .iter()
        .zip(sparsities)
        .map(|(l, &s)| ((l.weight_offset..l.bias_offset()).collect(), s))
        .collect();
    keep_best(network, scores, current, groups)
}

/// In each group of weight coordinates, keeps the round((1 − s)·size)
/// allowed ones with the highest scores.
fn keep_best(
    network: &Network,
    scores: &[f64],
    current: &[bool],
    groups: Vec<(Vec<usize>, f64)>,
) -> Result<Vec<bool>> {
    check_len("scores", network.num_params(), scores.len())?;
    check_len("mask", network.num_params(), current.len())?;
    if let Some(i) = scores.iter().position(|s| s.is_nan()) {
        return Err(ZooError::InvalidArgument(format!("score {i} is NaN")));
    }
    let mut mask = current.to_vec();
    for (group, sparsity) in groups {
        let keep = group.len() - (sparsity * group.len() as f64).round() as usize;
        let mut candidates: Vec<usize> = group.into_iter().filter(|&i| current[i]).collect();
        candidates.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        for &i in candidates.iter().skip(keep) {
            mask[i] = false;
        }
    }
    Ok(mask)
}

impl Model {
    /// Prunes weights with `method` until a fraction `sparsity` of them is
    /// gone; pruned weights become exactly zero. On error nothing changes.
    pub fn prune(&mut self, method: Method, sparsity: f64) -> Result<()> {
        let (scores, scope) = match method {
            Method::Magnitude(scope) => (self.params().iter().map(|v| v.abs()).collect(), scope),
            Method::Random { seed } => {
                (random_scores(self.num_params(), seed, 0), Scope::LayerWise)
            }
        };
        self.prune_by_scores(&scores, sparsity, scope)
    }

    /// Prunes each layer to its own sparsity (`sparsities[l]` for layer l),
    /// choosing weights by `method`'s scores. On error nothing changes.
    pub fn prune_layers(&mut self, method: Method, sparsities: &[f64]) -> Result<()> {
        let scores: Vec<f64> = match method {
            Method::Magnitude(_) => self.params().iter().map(|v| v.abs()).collect(),
            Method::Random { seed } => random_scores(self.num_params(), seed, 0),
        };
        let mask = mask_from_scores_per_layer(self.network(), &scores, self.mask(), sparsities)?;
        self.set_mask(&mask)
    }

    /// Prunes the weights with the lowest keep `scores`.
    pub fn prune_by_scores(&mut self, scores: &[f64], sparsity: f64, scope: Scope) -> Result<()> {
        let mask = mask_from_scores(self.network(), scores, self.mask(), sparsity, scope)?;
        self.set_mask(&mask)
    }

    /// Sequential thresholding (SINDy's STLSQ step): prunes every active
    /// weight with |θ_i| < `threshold`, and biases too when
    /// `include_biases`. Returns how many were pruned. Fails, changing
    /// nothing, when no active parameter would be left.
    pub fn threshold(&mut self, threshold: f64, include_biases: bool) -> Result<usize> {
        if !(threshold.is_finite() && threshold >= 0.0) {
            return Err(ZooError::InvalidArgument(format!(
                "the threshold must be a finite number ≥ 0, got {threshold}"
            )));
        }
        let mut is_bias = vec![false; self.num_params()];
        for layer in self.network().layers() {
            is_bias[layer.bias_offset()..layer.bias_offset() + layer.outputs].fill(true);
        }
        let mut mask = self.mask().to_vec();
        let mut pruned = 0;
        for ((keep, value), bias) in mask.iter_mut().zip(self.params()).zip(is_bias) {
            if *keep && value.abs() < threshold && (include_biases || !bias) {
                *keep = false;
                pruned += 1;
            }
        }
        if !mask.contains(&true) {
            return Err(ZooError::InvalidArgument(format!(
                "a threshold of {threshold} would prune every parameter"
            )));
        }
        self.set_mask(&mask)?;
        Ok(pruned)
    }

    /// Fraction of weights (biases excluded) that are pruned, per layer.
    pub fn layer_sparsity(&self) -> Vec<f64> {
        self.network()
            .layers()
            .iter()
            .map(|l| {
                let weights = &self.mask()[l.weight_offset..l.bias_offset()];
                weights.iter().filter(|m| !**m).count() as f64 / weights.len() as f64
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Activation;

    #[test]
    fn magnitude_pruning_keeps_the_largest_weights_per_layer() {
        let mut model = Model::mlp(&[4, 10, 3], Activation::Tanh, 5).unwrap();
        let before = model.params().to_vec();
        model
            .prune(Method::Magnitude(Scope::LayerWise), 0.75)
            .unwrap();
        assert_eq!(
            model.layer_sparsity(),
            vec![0.75, 23.0 / 30.0],
            "22.5 rounds to 23 pruned"
        );
        for layer in model.network().layers() {
            let range = layer.weight_offset..layer.bias_offset();
            let kept_min = range
                .clone()
                .filter(|&i| model.mask()[i])
                .map(|i| before[i].abs())
                .fold(f64::MAX, f64::min);
            let pruned_max = range
                .clone()
                .filter(|&i| !model.mask()[i])
                .map(|i| before[i].abs())
                .fold(0.0, f64::max);
            assert!(kept_min >= pruned_max);
            for i in range.filter(|&i| !model.mask()[i]) {
                assert_eq!(model.params()[i], 0.0);
            }
            let biases = layer.bias_offset()..layer.bias_offset() + layer.outputs;
            assert!(
                biases.into_iter().all(|i| model.mask()[i]),
                "biases are never pruned"
            );
        }
        assert_eq!(model.num_active(), model.num_params() - 30 - 23);
    }

    #[test]
    fn global_pruning_counts_over_all_layers_and_pruning_only_grows() {
        let mut model = Model::mlp(&[8, 8, 8], Activation::Relu, 2).unwrap();
        model.prune(Method::Magnitude(Scope::Global), 0.5).unwrap();
        let pruned: usize = model.mask().iter().filter(|m| !**m).count();
        assert_eq!(pruned, 64);
        let first = model.mask().to_vec();
        model.prune(Method::Random { seed: 1 }, 0.75).unwrap();
        assert!(
            first.iter().zip(model.mask()).all(|(a, b)| *a || !*b),
            "pruned weights stay pruned"
        );
        assert_eq!(model.layer_sparsity(), vec![0.75, 0.75]);
    }

    #[test]
    fn layers_can_have_their_own_ratios() {
        let mut model = Model::mlp(&[4, 10, 5, 1], Activation::Relu, 3).unwrap();
        model
            .prune_layers(Method::Random { seed: 2 }, &[0.5, 0.9, 0.2])
            .unwrap();
        assert_eq!(model.layer_sparsity(), vec![0.5, 0.9, 0.2]);
        let before = model.clone();
        assert!(model
            .prune_layers(Method::Random { seed: 2 }, &[0.5, 0.9])
            .unwrap_err()
            .to_string()
            .contains("layer sparsities"));
        assert!(model
            .prune_layers(Method::Magnitude(Scope::LayerWise), &[0.5, 1.2, 0.0])
            .is_err());
        assert_eq!(model, before);
    }

    #[test]
    fn random_pruning_is_seeded_and_bad_input_changes_nothing() {
        let model = Model::mlp(&[6, 6, 1], Activation::Tanh, 1).unwrap();
        let (mut a, mut b, mut c) = (model.clone(), model.clone(), model.clone());
        a.prune(Method::Random { seed: 4 }, 0.5).unwrap();
        b.prune(Method::Random { seed: 4 }, 0.5).unwrap();
        c.prune(Method::Random { seed: 5 }, 0.5).unwrap();
        assert_eq!(a.mask(), b.mask());
        assert_ne!(a.mask(), c.mask());
        let mut d = model.clone();
        assert!(d
            .prune(Method::Random { seed: 1 }, 1.0)
            .unwrap_err()
            .to_string()
            .contains("sparsity 1"));
        assert!(d.prune_by_scores(&[0.0; 3], 0.5, Scope::Global).is_err());
        assert!(Method::parse("snip", 0)
            .unwrap_err()
            .to_string()
            .contains("magnitude-global"));
        assert_eq!(d, model);
    }
}
