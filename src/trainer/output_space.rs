//! Dataset mode with the output-space estimator: zoo runs the network on
//! a fixed batch X (n × inputs), the host's black box turns the outputs Y
//! (n × outputs) into a loss, and zoo estimates ∂L/∂Y by central RGE over
//! Y with q directions, `ĝ_Y = 1/q Σ_j (L(Y+μu_j) − L(Y−μu_j))/(2μ)·u_j`,
//! u_j ~ N(0, I), then backpropagates it exactly through the network:
//! ∂L/∂θ ≈ (∂Y/∂θ)ᵀ ĝ_Y. The 2q queries do not depend on the number of
//! weights, only the accuracy does on n·outputs. Directions come from
//! (seed, k, j), so the estimate is reproducible.

use super::{IterationMetrics, LossResult, Trainer};
use crate::error::{Result, ZooError};
use crate::model::Workspace;
use crate::optim::norm;
use crate::rng::{stream, Purpose};
use rand_distr::{Distribution, StandardNormal};
use std::time::Instant;

impl Trainer {
    /// One iteration in dataset mode with the output-space estimator: the
    /// network runs on `x` (`n` rows), `loss_fn` maps outputs (n × outputs,
    /// row-major) to a loss through the host's black box, and the update
    /// uses `q` output directions (option `q`) and radius `mu`. Masked
    /// weights stay zero. On error nothing changes.
    pub fn step_output_space<F>(
        &mut self,
        x: &[f64],
        n: usize,
        mut loss_fn: F,
    ) -> Result<&IterationMetrics>
    where
        F: FnMut(&[f64]) -> LossResult,
    {
        self.ensure_quiet("step in output space")?;
        let started = Instant::now();
        let network = self.model.network();
        let m = n * network.num_outputs();
        let mut ws = Workspace::new();
        let mut y = vec![0.0; m];
        self.model.forward_batch(x, n, &mut y, &mut ws)?;
        let call = |loss_fn: &mut F, point: &[f64], j: usize| -> Result<f64> {
            let loss = loss_fn(point).map_err(|e| ZooError::CallbackFailed {
                candidate: j,
                code: e.code,
                message: e.message,
            })?;
            if loss.is_finite() {
                Ok(loss)
            } else {
                Err(ZooError::NonFiniteLoss {
                    candidate: j,
                    value: loss,
                })
            }
        };
        let base = call(&mut loss_fn, &y, 0)?;
        let (q, mu) = (self.config.estimator.q, self.config.estimator.mu);
        let mut grad_y = vec![0.0; m];
        let (mut u, mut point) = (vec![0.0; m], vec![0.0; m]);
        for j in 0..q {
            let mut rng = stream(
                self.config.seed,
                Purpose::OutputDirection,
                self.iteration,
                j as u64,
            );
            for v in u.iter_mut() {
                *v = StandardNormal.sample(&mut rng);
            }
            let mut eval = |sign: f64| {
                for ((p, yv), uv) in point.iter_mut().zip(&y).zip(&u) {
                    *p = yv + sign * mu * uv;
                }
                call(&mut loss_fn, &point, 1 + 2 * j + usize::from(sign < 0.0))
            };
            let delta = (eval(1.0)? - eval(-1.0)?) / (2.0 * mu);
            for (g, uv) in grad_y.iter_mut().zip(&u) {
                *g += delta * uv / q as f64;
            }
        }
        self.apply_output_gradient(x, n, &grad_y, base, 1 + 2 * q, started)
    }

    /// One iteration with exact gradients from the host: `adjoint_fn`
    /// maps outputs Y (n × outputs) to the loss and writes ∂L/∂Y into its
    /// second argument (an adjoint solver, or an analytic derivative); zoo
    /// backpropagates it through the network. On error nothing changes.
    pub fn step_adjoint<F>(
        &mut self,
        x: &[f64],
        n: usize,
        mut adjoint_fn: F,
    ) -> Result<&IterationMetrics>
    where
        F: FnMut(&[f64], &mut [f64]) -> LossResult,
    {
        self.ensure_quiet("step with an adjoint")?;
        let started = Instant::now();
        let m = n * self.model.network().num_outputs();
        let mut y = vec![0.0; m];
        self.model
            .forward_batch(x, n, &mut y, &mut Workspace::new())?;
        let mut grad_y = vec![0.0; m];
        let loss = adjoint_fn(&y, &mut grad_y).map_err(|e| ZooError::CallbackFailed {
            candidate: 0,
            code: e.code,
            message: e.message,
        })?;
        if !loss.is_finite() {
            return Err(ZooError::NonFiniteLoss {
                candidate: 0,
                value: loss,
            });
        }
        if let Some(i) = grad_y.iter().position(|g| !g.is_finite()) {
            return Err(ZooError::InvalidArgument(format!(
                "the adjoint's ∂L/∂Y[{i}] is {}",
                grad_y[i]
            )));
        }
        self.apply_output_gradient(x, n, &grad_y, loss, 1, started)
    }

    /// Backpropagates ∂L/∂Y through the network and applies the update.
    fn apply_output_gradient(
        &mut self,
        x: &[f64],
        n: usize,
        grad_y: &[f64],
        loss: f64,
        evaluations: usize,
        started: Instant,
    ) -> Result<&IterationMetrics> {
        let mut grad = vec![0.0; self.model.num_params()];
        self.model
            .vjp(x, n, grad_y, &mut grad, None, &mut Workspace::new())?;
        self.refresh_active();
        let mut grad_active: Vec<f64> = self.active.iter().map(|&i| grad[i]).collect();
        let grad_norm = norm(&grad_active);
        let k = self.iteration;
        let lr = self.optimizer.update(
            &self.config.optim,
            k,
            self.model.params_mut(),
            &self.active,
            &mut grad_active,
        );
        self.iteration += 1;
        Ok(self.metrics.insert(IterationMetrics {
            iteration: k,
            base_loss: Some(loss),
            mean_loss: loss,
            evaluations,
            dropped: 0,
            grad_norm,
            lr,
            wall_time: started.elapsed().as_secs_f64(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Activation, Model, Workspace};
    use crate::trainer::Trainer;

    /// A differentiable knowledge source: L(Y) = mean (sin(Y) − t)², with
    /// its exact gradient.
    fn source(y: &[f64], t: &[f64]) -> (f64, Vec<f64>) {
        let n = y.len() as f64;
        let loss = y
            .iter()
            .zip(t)
            .map(|(a, b)| (a.sin() - b).powi(2))
            .sum::<f64>()
            / n;
        let grad = y
            .iter()
            .zip(t)
            .map(|(a, b)| 2.0 * (a.sin() - b) * a.cos() / n)
            .collect();
        (loss, grad)
    }

    fn cosine(a: &[f64], b: &[f64]) -> f64 {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        dot / (a.iter().map(|x| x * x).sum::<f64>().sqrt()
            * b.iter().map(|x| x * x).sum::<f64>().sqrt())
    }

    /// The update direction of one step with lr = 1 and plain SGD is −ĝ.
    fn estimate(
        model: &Model,
        options: &str,
        x: &[f64],
        n: usize,
        t: &[f64],
        output_space: bool,
    ) -> Vec<f64> {
        let mut trainer =
            Trainer::new(model.clone(), &format!("{options} optimizer=sgd lr=1")).unwrap();
        let theta = model.params().to_vec();
        if output_space {
            trainer
                .step_output_space(x, n, |y| Ok(source(y, t).0))
                .unwrap();
        } else {
            trainer
                .step(|c| {
                    let mut y = vec![0.0; t.len()];
                    c.forward_batch(x, n, &mut y).unwrap();
                    Ok(source(&y, t).0)
                })
                .unwrap();
        }
        theta
            .iter()
            .zip(trainer.params())
            .map(|(a, b)| a - b)
            .collect()
    }

    #[test]
    fn output_space_estimate_points_along_the_true_gradient_with_few_queries() {
        let model = Model::mlp(&[3, 32, 32, 2], Activation::Tanh, 5).unwrap(); // 1250 parameters
        let n = 4;
        let x: Vec<f64> = (0..n * 3)
            .map(|i| ((i * 7 % 5) as f64 / 2.5) - 1.0)
            .collect();
        let t: Vec<f64> = (0..n * 2).map(|i| (i as f64 * 0.3).cos() * 0.5).collect();
        let mut y = vec![0.0; n * 2];
        let mut ws = Workspace::new();
        model.forward_batch(&x, n, &mut y, &mut ws).unwrap();
        let (_, grad_y) = source(&y, &t);
        let mut exact = vec![0.0; model.num_params()];
        model
            .vjp(&x, n, &grad_y, &mut exact, None, &mut ws)
            .unwrap();

        let queries = "q=32 mu=1e-4 seed=2";
        let output = estimate(&model, queries, &x, n, &t, true);
        let weights = estimate(
            &model,
            &format!("estimator=rge-central {queries}"),
            &x,
            n,
            &t,
            false,
        );
        let (c_out, c_w) = (cosine(&output, &exact), cosine(&weights, &exact));
        println!("cosine with the true gradient at 64 queries: output space {c_out:.3}, weight space {c_w:.3}");
        assert!(c_out > 0.8, "output-space cosine {c_out}");
        assert!(
            c_out > c_w + 0.3,
            "output space should beat weight space here: {c_out} vs {c_w}"
        );
    }

    #[test]
    fn adjoint_steps_are_exact_gradient_steps() {
        let model = Model::mlp(&[2, 6, 2], Activation::Tanh, 2).unwrap();
        let (n, x) = (3, [0.1, -0.4, 0.7, 0.2, -0.9, 0.5]);
        let t = [0.3, -0.2, 0.1, 0.4, 0.0, -0.5];
        let mut trainer = Trainer::new(model.clone(), "optimizer=sgd lr=0.5").unwrap();
        let m = *trainer
            .step_adjoint(&x, n, |y, g| {
                let (loss, grad) = source(y, &t);
                g.copy_from_slice(&grad);
                Ok(loss)
            })
            .unwrap();
        let mut y = vec![0.0; 6];
        let mut ws = Workspace::new();
        model.forward_batch(&x, n, &mut y, &mut ws).unwrap();
        let (loss, grad_y) = source(&y, &t);
        let mut exact = vec![0.0; model.num_params()];
        model
            .vjp(&x, n, &grad_y, &mut exact, None, &mut ws)
            .unwrap();
        for ((after, before), g) in trainer.params().iter().zip(model.params()).zip(&exact) {
            assert!((after - (before - 0.5 * g)).abs() < 1e-15);
        }
        assert_eq!((m.base_loss, m.evaluations), (Some(loss), 1));
        let err = trainer.step_adjoint(&x, n, |_, g| {
            g[3] = f64::INFINITY;
            Ok(1.0)
        });
        assert!(err.unwrap_err().to_string().contains("∂L/∂Y[3]"));
        assert_eq!(trainer.iteration(), 1);
    }

    #[test]
    fn output_space_steps_are_reproducible_and_fail_cleanly() {
        let model = Model::mlp(&[2, 4, 1], Activation::Tanh, 1).unwrap();
        let x = [0.1, 0.2, -0.3, 0.4];
        let run = || {
            let mut t = Trainer::new(model.clone(), "q=4 lr=0.1 seed=9").unwrap();
            for _ in 0..3 {
                t.step_output_space(&x, 2, |y| Ok(y.iter().map(|v| (v - 1.0).powi(2)).sum()))
                    .unwrap();
            }
            t.params().to_vec()
        };
        assert_eq!(run(), run());
        let mut t = Trainer::new(model.clone(), "q=4").unwrap();
        assert!(t.step_output_space(&x, 2, |_| Ok(f64::NAN)).is_err());
        assert!(
            t.step_output_space(&x, 3, |_| Ok(0.0)).is_err(),
            "x has 2 rows, not 3"
        );
        assert_eq!((t.params(), t.iteration()), (model.params(), 0));
    }
}
