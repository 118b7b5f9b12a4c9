//! Supervised fitting with exact gradients: mean-squared-error regression
//! of a model on arrays X → Y, by Adam on the network's own backprop.
//!
//! This is the baseline that zeroth-order training through a solver is
//! measured against (e.g. a correction fitted to precomputed one-step
//! pairs), and a way to warm-start a trainer. The loss is
//! `L = 1/(n·outputs) Σ_r ‖f(x_r) − y_r‖²` over the rows of a minibatch;
//! masked coordinates stay zero.
//!
//! ```
//! use zoo::model::{Activation, Model};
//! use zoo::supervised::fit;
//! let mut model = Model::mlp(&[1, 8, 1], Activation::Tanh, 1).unwrap();
//! let x: Vec<f64> = (0..32).map(|i| i as f64 / 16.0 - 1.0).collect();
//! let y: Vec<f64> = x.iter().map(|v| v * v).collect();
//! let report = fit(&mut model, &x, &y, 32, "epochs=2000 lr=0.01").unwrap();
//! assert!(report.final_loss < 1e-3);
//! ```

use crate::config::{spec, unknown_in, words, OptionSpec, Value};
use crate::error::{Result, ZooError};
use crate::model::{check_rows, Model, Workspace};
use crate::optim::{OptimConfig, Optimizer, OptimizerKind, Schedule};
use crate::rng::{stream, Purpose};
use rand::Rng;

/// Options of [`fit`], with defaults.
pub const FIT_OPTIONS: &[OptionSpec] = &[
    spec("epochs", "1000", "integer ≥ 1", "passes over the data"),
    spec("lr", "0.001", "number > 0", "Adam learning rate"),
    spec(
        "batch",
        "0",
        "integer ≥ 0",
        "rows per minibatch, shuffled each epoch; 0 = all rows",
    ),
    spec("weight_decay", "0", "number ≥ 0", "decoupled weight decay"),
    spec(
        "seed",
        "0",
        "integer in [0, 2^64)",
        "seed of the minibatch order",
    ),
];

/// Validated options of [`fit`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitConfig {
    pub epochs: usize,
    pub lr: f64,
    pub batch: usize,
    pub weight_decay: f64,
    pub seed: u64,
}

impl FitConfig {
    /// Defaults overridden by `key=value` words.
    pub fn parse(options: &str) -> Result<Self> {
        let mut config = Self {
            epochs: 0,
            lr: 0.0,
            batch: 0,
            weight_decay: 0.0,
            seed: 0,
        };
        for option in FIT_OPTIONS {
            config.set(option.key, option.default)?;
        }
        for (key, value) in words(options)? {
            config.set(key, value)?;
        }
        Ok(config)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let v = Value::new(key, value, FIT_OPTIONS);
        match key {
            "epochs" => self.epochs = v.count(1)?,
            "lr" => self.lr = v.number(|x| x > 0.0)?,
            "batch" => self.batch = v.count(0)?,
            "weight_decay" => self.weight_decay = v.number(|x| x >= 0.0)?,
            "seed" => self.seed = v.integer(0)?,
            _ => return Err(unknown_in(key, FIT_OPTIONS)),
        }
        Ok(())
    }
}

/// What a fit achieved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitReport {
    /// Mean squared error over all rows with the final weights.
    pub final_loss: f64,
    /// Mean squared error over all rows with the initial weights.
    pub initial_loss: f64,
    pub epochs: usize,
}

/// Fits `model` to `n` rows of inputs `x` and targets `y` (row-major).
/// All or nothing: on error (bad sizes or options, non-finite data, a
/// diverging fit) the model is unchanged.
pub fn fit(model: &mut Model, x: &[f64], y: &[f64], n: usize, options: &str) -> Result<FitReport> {
    let config = FitConfig::parse(options)?;
    let network = model.network();
    check_rows("inputs (n × num_inputs)", n, network.num_inputs(), x.len())?;
    check_rows(
        "targets (n × num_outputs)",
        n,
        network.num_outputs(),
        y.len(),
    )?;
    if n == 0 {
        return Err(ZooError::InvalidArgument("no rows to fit".into()));
    }
    if let Some(i) = x.iter().chain(y).position(|v| !v.is_finite()) {
        return Err(ZooError::InvalidArgument(format!(
            "value {i} of the inputs followed by the targets is not finite"
        )));
    }
    let mut fitted = model.clone();
    let report = Fitter::new(&fitted, config, x, y, n).run(&mut fitted)?;
    *model = fitted;
    Ok(report)
}

/// Buffers of one fit.
struct Fitter<'a> {
    config: FitConfig,
    optim: OptimConfig,
    x: &'a [f64],
    y: &'a [f64],
    n: usize,
    rows: Vec<usize>,
    batch_x: Vec<f64>,
    batch_y: Vec<f64>,
    prediction: Vec<f64>,
    grad_out: Vec<f64>,
    grad: Vec<f64>,
    grad_active: Vec<f64>,
    ws: Workspace,
}

impl<'a> Fitter<'a> {
    fn new(model: &Model, config: FitConfig, x: &'a [f64], y: &'a [f64], n: usize) -> Self {
        let optim = OptimConfig {
            kind: OptimizerKind::Adam,
            lr: config.lr,
            auto_lr: false,
            momentum: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: config.weight_decay,
            clip: 0.0,
            schedule: Schedule::constant(),
        };
        Self {
            config,
            optim,
            x,
            y,
            n,
            rows: (0..n).collect(),
            batch_x: Vec::new(),
            batch_y: Vec::new(),
            prediction: Vec::new(),
            grad_out: Vec::new(),
            grad: vec![0.0; model.num_params()],
            grad_active: vec![0.0; model.num_active()],
            ws: Workspace::new(),
        }
    }

    fn run(mut self, model: &mut Model) -> Result<FitReport> {
        let initial_loss = self.loss_on_all(model)?;
        let mut optimizer = Optimizer::new(model.num_params());
        let batch = if self.config.batch == 0 {
            self.n
        } else {
            self.config.batch.min(self.n)
        };
        let mut step = 0u64;
        let active = model.active().to_vec();
        for epoch in 0..self.config.epochs {
            if batch < self.n {
                let mut rng = stream(self.config.seed, Purpose::Minibatch, epoch as u64, 0);
                for i in (1..self.n).rev() {
                    self.rows.swap(i, rng.random_range(0..=i));
                }
            }
            for start in (0..self.n).step_by(batch) {
                let end = (start + batch).min(self.n);
                self.gradient(model, start, end)?;
                for (g, &i) in self.grad_active.iter_mut().zip(&active) {
                    *g = self.grad[i];
                }
                optimizer.update(
                    &self.optim,
                    step,
                    model.params_mut(),
                    &active,
                    &mut self.grad_active,
                );
                step += 1;
            }
        }
        let final_loss = self.loss_on_all(model)?;
        if !final_loss.is_finite() {
            return Err(ZooError::IterationFailed {
                iteration: step,
                reason: format!("the fit diverged (final loss {final_loss}); try a smaller lr"),
            });
        }
        Ok(FitReport {
            final_loss,
            initial_loss,
            epochs: self.config.epochs,
        })
    }

    /// Gathers rows `rows[start..end]` and writes the MSE gradient to `grad`.
    fn gradient(&mut self, model: &Model, start: usize, end: usize) -> Result<()> {
        let (nin, nout) = (model.network().num_inputs(), model.network().num_outputs());
        let m = end - start;
        self.batch_x.clear();
        self.batch_y.clear();
        for &r in &self.rows[start..end] {
            self.batch_x
                .extend_from_slice(&self.x[r * nin..(r + 1) * nin]);
            self.batch_y
                .extend_from_slice(&self.y[r * nout..(r + 1) * nout]);
        }
        self.prediction.resize(m * nout, 0.0);
        model.forward_batch(&self.batch_x, m, &mut self.prediction, &mut self.ws)?;
        let scale = 2.0 / (m * nout) as f64;
        self.grad_out.clear();
        self.grad_out.extend(
            self.prediction
                .iter()
                .zip(&self.batch_y)
                .map(|(p, t)| scale * (p - t)),
        );
        model.vjp(
            &self.batch_x,
            m,
            &self.grad_out,
            &mut self.grad,
            None,
            &mut self.ws,
        )
    }

    fn loss_on_all(&mut self, model: &Model) -> Result<f64> {
        let nout = model.network().num_outputs();
        self.prediction.resize(self.n * nout, 0.0);
        model.forward_batch(self.x, self.n, &mut self.prediction, &mut self.ws)?;
        let sum: f64 = self
            .prediction
            .iter()
            .zip(self.y)
            .map(|(p, t)| (p - t) * (p - t))
            .sum();
        Ok(sum / (self.n * nout) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, Init, Network};

    #[test]
    fn recovers_an_exact_linear_map() {
        // y = A x + b is representable exactly by a linear layer.
        let network = Network::mlp(&[3, 2], Activation::Identity, Activation::Identity).unwrap();
        let mut model = Model::new(network, Init::Xavier, 4).unwrap();
        let n = 40;
        let x: Vec<f64> = (0..n * 3)
            .map(|i| ((i * 37 % 23) as f64 / 11.0) - 1.0)
            .collect();
        let truth = [0.5, -1.0, 2.0, 0.3, 0.0, -0.7, 0.25, -0.5];
        let y: Vec<f64> = x
            .chunks(3)
            .flat_map(|r| {
                (0..2).map(move |o| {
                    truth[o * 3..o * 3 + 3]
                        .iter()
                        .zip(r)
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
                        + truth[6 + o]
                })
            })
            .collect();
        let report = fit(&mut model, &x, &y, n, "epochs=4000 lr=0.02").unwrap();
        assert!(report.final_loss < 1e-12, "loss {}", report.final_loss);
        for (p, t) in model.params().iter().zip(truth) {
            assert!((p - t).abs() < 1e-5, "{p} vs {t}");
        }
    }

    #[test]
    fn minibatches_fit_too_and_are_seeded() {
        let x: Vec<f64> = (0..64).map(|i| i as f64 / 32.0 - 1.0).collect();
        let y: Vec<f64> = x.iter().map(|v| (3.0 * v).sin()).collect();
        let model = Model::mlp(&[1, 12, 1], Activation::Tanh, 2).unwrap();
        let (mut a, mut b) = (model.clone(), model.clone());
        let ra = fit(&mut a, &x, &y, 64, "epochs=300 lr=0.01 batch=8 seed=3").unwrap();
        fit(&mut b, &x, &y, 64, "epochs=300 lr=0.01 batch=8 seed=3").unwrap();
        assert_eq!(a.params(), b.params());
        assert!(ra.final_loss < 0.05 * ra.initial_loss, "{ra:?}");
    }

    #[test]
    fn bad_input_changes_nothing() {
        let mut model = Model::mlp(&[2, 3, 1], Activation::Tanh, 2).unwrap();
        let before = model.clone();
        let x = [0.0, 1.0, 2.0, 3.0];
        assert!(matches!(
            fit(&mut model, &x, &[1.0], 2, ""),
            Err(ZooError::BadSize { .. })
        ));
        let err = fit(&mut model, &x, &[1.0, f64::NAN], 2, "")
            .unwrap_err()
            .to_string();
        assert!(err.contains("value 5"), "{err}");
        let err = fit(&mut model, &x, &[1.0, 2.0], 2, "epochs=0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("'epochs'") && err.contains("'0'"), "{err}");
        assert!(fit(&mut model, &x, &[1.0, 2.0], 2, "rate=1")
            .unwrap_err()
            .to_string()
            .contains("epochs, lr"));
        let err = fit(&mut model, &x, &[1e300, -1e300], 2, "lr=1e10 epochs=50").unwrap_err();
        assert!(matches!(err, ZooError::IterationFailed { .. }), "{err}");
        assert_eq!(model, before);
    }
}
