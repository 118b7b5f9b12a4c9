//! Vector-Jacobian products of a network: exact gradients by backpropagation.
//!
//! Given upstream gradients `gy = ∂L/∂y` for a batch, [`Network::vjp`]
//! returns `∂L/∂θ` (summed over the batch) and, optionally, `∂L/∂x`. The
//! trainer never needs it for zeroth-order estimates; it serves supervised
//! fitting, output-space estimates and tests.

use super::kernel::{self, Output, Start, View};
use super::network::{check_len, check_rows, dense_forward, Network};
use super::workspace::Workspace;
use crate::error::Result;

impl Network {
    /// Computes `grad_params = Σ_r (∂y_r/∂θ)ᵀ gy_r` and, when given,
    /// `grad_x[r] = (∂y_r/∂x_r)ᵀ gy_r` for the `n` rows of `x`.
    /// `grad_params` is overwritten, not accumulated.
    #[allow(clippy::too_many_arguments)]
    pub fn vjp(
        &self,
        params: &[f64],
        x: &[f64],
        n: usize,
        gy: &[f64],
        grad_params: &mut [f64],
        grad_x: Option<&mut [f64]>,
        ws: &mut Workspace,
    ) -> Result<()> {
        self.check_batch(params, x, n, gy)?;
        check_len("parameter gradient", self.num_params(), grad_params.len())?;
        if let Some(gx) = &grad_x {
            check_rows(
                "input gradient (n × num_inputs)",
                n,
                self.num_inputs(),
                gx.len(),
            )?;
        }
        ws.reserve_rows(self, n, true)?;
        let stored: usize = n * self.layers().iter().map(|l| l.outputs).sum::<usize>();
        ws.for_backward(stored, n * self.max_width());
        self.with_layer_input(x, n, ws, |input, ws| {
            self.forward_storing(params, input, n, ws);
            match (self.features(), grad_x) {
                (Some(poly), Some(grad_x)) => {
                    let mut grad_features = vec![0.0; input.len()];
                    self.backpropagate(
                        params,
                        input,
                        n,
                        gy,
                        grad_params,
                        Some(&mut grad_features),
                        ws,
                    );
                    poly.backprop(x, n, &grad_features, grad_x);
                }
                (_, grad_x) => self.backpropagate(params, input, n, gy, grad_params, grad_x, ws),
            }
        });
        Ok(())
    }

    /// Forward pass that keeps every layer's pre-activation and output.
    fn forward_storing(&self, params: &[f64], x: &[f64], n: usize, ws: &mut Workspace) {
        let mut offset = 0;
        for (l, layer) in self.layers().iter().enumerate() {
            let len = n * layer.outputs;
            let (done, rest) = ws.post.split_at_mut(offset);
            let input: &[f64] = if l == 0 {
                x
            } else {
                &done[offset - n * layer.inputs..]
            };
            let pre = &mut ws.pre[offset..offset + len];
            dense_forward(layer, params, input, n, pre);
            let post = &mut rest[..len];
            post.copy_from_slice(pre);
            layer.activation.apply_slice(post);
            offset += len;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn backpropagate(
        &self,
        params: &[f64],
        x: &[f64],
        n: usize,
        gy: &[f64],
        grad_params: &mut [f64],
        mut grad_x: Option<&mut [f64]>,
        ws: &mut Workspace,
    ) {
        grad_params.fill(0.0);
        let Workspace {
            front,
            back,
            pre,
            post,
            ..
        } = ws;
        let (mut delta, mut delta_in) = (&mut front[..], &mut back[..]);
        let layers = self.layers();
        let mut offset: usize = n * layers.iter().map(|l| l.outputs).sum::<usize>();
        let top = &layers[layers.len() - 1];
        offset -= n * top.outputs;
        for ((d, g), (z, a)) in delta
            .iter_mut()
            .zip(gy)
            .zip(pre[offset..].iter().zip(&post[offset..]))
        {
            *d = g * top.activation.derivative(*z, *a);
        }
        for l in (0..layers.len()).rev() {
            let layer = &layers[l];
            let (nin, nout) = (layer.inputs, layer.outputs);
            let input_offset = offset - if l == 0 { 0 } else { n * nin };
            let input: &[f64] = if l == 0 {
                x
            } else {
                &post[input_offset..offset]
            };
            accumulate_param_grad(
                layer.weight_offset,
                nin,
                nout,
                input,
                &delta[..n * nout],
                grad_params,
            );
            let wants_input_grad = l > 0 || grad_x.is_some();
            if wants_input_grad {
                let w = &params[layer.weight_offset..layer.weight_offset + nin * nout];
                propagate_to_inputs(w, nin, nout, &delta[..n * nout], &mut delta_in[..n * nin]);
            }
            if l > 0 {
                let below = &layers[l - 1];
                let (z, a) = (&pre[input_offset..offset], &post[input_offset..offset]);
                for ((d, z), a) in delta_in[..n * nin].iter_mut().zip(z).zip(a) {
                    *d *= below.activation.derivative(*z, *a);
                }
                std::mem::swap(&mut delta, &mut delta_in);
                offset = input_offset;
            } else if let Some(gx) = grad_x.as_deref_mut() {
                gx.copy_from_slice(&delta_in[..n * nin]);
            }
        }
    }
}

/// `∂W[o][i] += Σ_r δ[r][o]·x[r][i]`, `∂b[o] += Σ_r δ[r][o]`.
fn accumulate_param_grad(
    weight_offset: usize,
    nin: usize,
    nout: usize,
    input: &[f64],
    delta: &[f64],
    grad: &mut [f64],
) {
    let (gw, rest) = grad[weight_offset..].split_at_mut(nin * nout);
    let gb = &mut rest[..nout];
    let n = delta.len() / nout;
    kernel::multiply(
        (nout, nin, n),
        View::col_major(delta, nout),
        View::row_major(input, nin),
        Start::Current,
        Output::row_major(gw, nin),
    );
    for dr in delta.chunks_exact(nout) {
        for (g, d) in gb.iter_mut().zip(dr) {
            *g += d;
        }
    }
}

/// `δ_in[r][i] = Σ_o δ[r][o]·W[o][i]`.
fn propagate_to_inputs(w: &[f64], nin: usize, nout: usize, delta: &[f64], delta_in: &mut [f64]) {
    let n = delta.len() / nout;
    kernel::multiply(
        (n, nin, nout),
        View::row_major(delta, nout),
        View::row_major(w, nin),
        Start::Zero,
        Output::row_major(delta_in, nin),
    );
}
