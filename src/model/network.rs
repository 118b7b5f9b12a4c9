//! The architecture of a feed-forward network and its forward pass.
//!
//! A [`Network`] knows shapes, activations and where each layer's weights
//! live in the flat parameter vector θ; it holds no parameters itself, so
//! the same network runs with the trainer's θ or with a candidate's θ_c.
//!
//! Layout of θ, layer after layer: the weight matrix `W` (outputs × inputs,
//! row-major, `W[o][i]` at `o·inputs + i`), then the bias vector `b`.
//! Batches are row-major: row `r` of an `n × width` buffer is
//! `buf[r·width .. (r+1)·width]`.

use super::activation::Activation;
use super::kernel::{self, Output, Start, View};
use super::polynomial::Polynomial;
use super::workspace::Workspace;
use crate::error::{Result, ZooError};
use crate::size::rows_times;

/// One dense layer: `a = f(W x + b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub inputs: usize,
    pub outputs: usize,
    pub activation: Activation,
    /// Offset of `W` in θ; `b` follows at `weight_offset + inputs·outputs`.
    pub weight_offset: usize,
}

impl Layer {
    /// Offset of the bias vector in θ.
    pub fn bias_offset(&self) -> usize {
        self.weight_offset + self.inputs * self.outputs
    }

    /// Number of parameters of this layer.
    pub fn num_params(&self) -> usize {
        (self.inputs + 1) * self.outputs
    }
}

/// Shapes and activations of a feed-forward network.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Polynomial features computed from the inputs before layer 0.
    features: Option<Polynomial>,
    layers: Vec<Layer>,
    num_params: usize,
    max_width: usize,
    /// Per layer: the nonzero pattern when the layer is sparse enough for
    /// a sparse product to pay, else `None` (dense).
    sparse: Vec<Option<SparsePattern>>,
}

/// Weight density below which a layer's forward skips pruned weights
/// (measured by `cargo bench --bench sparse`).
pub const SPARSE_DENSITY_THRESHOLD: f64 = 0.07;

/// Active input columns of each output row of a layer (CSR without
/// values: weights are read from θ, so one pattern serves every candidate).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SparsePattern {
    row_start: Vec<u32>,
    columns: Vec<u32>,
}

impl Network {
    /// A multilayer perceptron with layer widths `sizes` (inputs first,
    /// outputs last), `hidden` after every hidden layer and `output` after
    /// the last one.
    pub fn mlp(sizes: &[usize], hidden: Activation, output: Activation) -> Result<Self> {
        if sizes.len() < 2 {
            return Err(ZooError::InvalidArgument(format!(
                "an MLP needs at least 2 layer sizes (inputs and outputs), got {}",
                sizes.len()
            )));
        }
        if let Some(pos) = sizes.iter().position(|&s| s == 0) {
            return Err(ZooError::InvalidArgument(format!(
                "layer size {pos} is 0; every layer needs at least one unit"
            )));
        }
        let mut layers = Vec::with_capacity(sizes.len() - 1);
        let mut offset = 0usize;
        for (l, pair) in sizes.windows(2).enumerate() {
            let activation = if l + 2 == sizes.len() { output } else { hidden };
            let layer = Layer {
                inputs: pair[0],
                outputs: pair[1],
                activation,
                weight_offset: offset,
            };
            offset = (layer.inputs.checked_add(1))
                .and_then(|i| i.checked_mul(layer.outputs))
                .and_then(|n| offset.checked_add(n))
                .ok_or_else(|| ZooError::InvalidArgument("parameter count overflows".into()))?;
            layers.push(layer);
        }
        Ok(Self {
            features: None,
            sparse: vec![None; layers.len()],
            layers,
            num_params: offset,
            max_width: sizes.iter().copied().max().unwrap_or(0),
        })
    }

    /// Polynomial features of `inputs` variables up to `degree`, then a
    /// linear layer to `outputs`: a SINDy-style model whose weights are the
    /// coefficients of the features and whose biases are the constants.
    pub fn polynomial(inputs: usize, degree: usize, outputs: usize) -> Result<Self> {
        let features = Polynomial::new(inputs, degree)?;
        let mut network = Self::mlp(
            &[features.len(), outputs],
            Activation::Identity,
            Activation::Identity,
        )?;
        network.features = Some(features);
        Ok(network)
    }

    /// The feature layer in front of layer 0, if any.
    pub fn features(&self) -> Option<&Polynomial> {
        self.features.as_ref()
    }

    /// Whether `other` has the same features and layers (masks aside).
    pub fn same_architecture(&self, other: &Network) -> bool {
        self.features == other.features && self.layers == other.layers
    }

    /// Runs `f` on the input of layer 0: `x` itself, or its features
    /// (computed into a buffer of `ws` that is reused across calls).
    pub(crate) fn with_layer_input<R>(
        &self,
        x: &[f64],
        n: usize,
        ws: &mut Workspace,
        f: impl FnOnce(&[f64], &mut Workspace) -> R,
    ) -> R {
        match &self.features {
            None => f(x, ws),
            Some(poly) => {
                let mut input = std::mem::take(&mut ws.features);
                input.resize(n * poly.len(), 0.0);
                poly.expand(x, n, &mut input);
                let result = f(&input, ws);
                ws.features = input;
                result
            }
        }
    }

    /// Chooses dense or sparse products layer by layer for `mask`
    /// (true = active weight).
    pub(crate) fn set_sparsity(&mut self, mask: &[bool]) {
        self.sparse = self
            .layers
            .iter()
            .map(|layer| {
                let weights = &mask[layer.weight_offset..layer.bias_offset()];
                let density = weights.iter().filter(|m| **m).count() as f64 / weights.len() as f64;
                (density < SPARSE_DENSITY_THRESHOLD).then(|| {
                    let mut row_start = vec![0u32];
                    let mut columns = Vec::new();
                    for row in weights.chunks_exact(layer.inputs) {
                        columns.extend((0..layer.inputs as u32).filter(|&i| row[i as usize]));
                        row_start.push(columns.len() as u32);
                    }
                    SparsePattern { row_start, columns }
                })
            })
            .collect();
    }

    /// Whether layer `l` uses the sparse product.
    pub fn is_sparse(&self, l: usize) -> bool {
        self.sparse[l].is_some()
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    pub fn num_params(&self) -> usize {
        self.num_params
    }

    pub fn num_inputs(&self) -> usize {
        self.features
            .as_ref()
            .map_or(self.layers[0].inputs, |f| f.inputs())
    }

    pub fn num_outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }

    /// The widest layer, inputs included.
    pub fn max_width(&self) -> usize {
        self.max_width
    }

    /// Checks the sizes of a batch call.
    pub(crate) fn check_batch(&self, params: &[f64], x: &[f64], n: usize, y: &[f64]) -> Result<()> {
        check_len("parameters", self.num_params, params.len())?;
        check_rows("inputs (n × num_inputs)", n, self.num_inputs(), x.len())?;
        check_rows("outputs (n × num_outputs)", n, self.num_outputs(), y.len())
    }

    /// Runs the network on one input vector.
    pub fn forward(
        &self,
        params: &[f64],
        x: &[f64],
        y: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<()> {
        self.forward_batch(params, x, 1, y, ws)
    }

    /// Runs the network on `n` rows of `x` (row-major) into `y`. Allocates
    /// only when `ws` has never seen a batch this large.
    pub fn forward_batch(
        &self,
        params: &[f64],
        x: &[f64],
        n: usize,
        y: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<()> {
        self.check_batch(params, x, n, y)?;
        ws.reserve_rows(self, n, false)?;
        self.forward_unchecked(params, x, n, y, ws);
        Ok(())
    }

    /// Forward pass with sizes already checked.
    pub(crate) fn forward_unchecked(
        &self,
        params: &[f64],
        x: &[f64],
        n: usize,
        y: &mut [f64],
        ws: &mut Workspace,
    ) {
        self.with_layer_input(x, n, ws, |input, ws| {
            self.forward_from(0, params, input, n, y, ws)
        });
    }

    /// Runs layers `first..` on `x`, the `n`-row input of layer `first`.
    pub(crate) fn forward_from(
        &self,
        first: usize,
        params: &[f64],
        x: &[f64],
        n: usize,
        y: &mut [f64],
        ws: &mut Workspace,
    ) {
        let last = self.layers.len() - 1;
        let (mut front, mut back) = ws.ping_pong(n * self.max_width);
        for (l, layer) in self.layers.iter().enumerate().skip(first) {
            let input: &[f64] = if l == first {
                x
            } else {
                &front[..n * layer.inputs]
            };
            let out: &mut [f64] = if l == last {
                &mut *y
            } else {
                &mut back[..n * layer.outputs]
            };
            match &self.sparse[l] {
                Some(pattern) => sparse_forward(layer, pattern, params, input, n, out),
                None => dense_forward(layer, params, input, n, out),
            }
            layer.activation.apply_slice(out);
            std::mem::swap(&mut front, &mut back);
        }
    }
}

/// Checks that an array of `got` values holds `rows` rows of `width`.
pub(crate) fn check_rows(what: &'static str, rows: usize, width: usize, got: usize) -> Result<()> {
    check_len(what, rows_times(what, rows, width)?, got)
}

pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(ZooError::BadSize {
            what,
            expected,
            got,
        })
    }
}

/// `out[r] = W · x[r] + b` for every row `r`, before the activation; each
/// output is `b` followed by fused multiply-adds in input order (see
/// [`kernel`]).
#[inline]
pub(crate) fn dense_forward(layer: &Layer, params: &[f64], x: &[f64], n: usize, out: &mut [f64]) {
    let (nin, nout) = (layer.inputs, layer.outputs);
    let w = &params[layer.weight_offset..layer.weight_offset + nin * nout];
    let b = &params[layer.bias_offset()..layer.bias_offset() + nout];
    kernel::multiply(
        (n, nout, nin),
        View::row_major(x, nin),
        View::col_major(w, nin),
        Start::PerColumn(b),
        Output::row_major(out, nout),
    );
}

/// `out[r] = W · x[r] + b` skipping pruned weights: the same chain of fused
/// multiply-adds as [`dense_forward`] minus terms whose weight is zero, so
/// the same bits for finite inputs.
fn sparse_forward(
    layer: &Layer,
    pattern: &SparsePattern,
    params: &[f64],
    x: &[f64],
    n: usize,
    out: &mut [f64],
) {
    let (nin, nout) = (layer.inputs, layer.outputs);
    kernel::sparse::multiply(
        kernel::sparse::Pattern {
            row_start: &pattern.row_start,
            columns: &pattern.columns,
        },
        &params[layer.weight_offset..layer.weight_offset + nin * nout],
        &params[layer.bias_offset()..layer.bias_offset() + nout],
        (&x[..n * nin], nin),
        out,
    );
}
