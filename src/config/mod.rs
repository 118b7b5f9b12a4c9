//! Trainer options: `key=value` strings validated once into typed settings.
//!
//! Options are strings so that new ones never change the C ABI. Every key
//! is listed in [`OPTIONS`] with its default and accepted values; an unknown
//! key or a bad value is an error naming the key, the value and what is
//! accepted, and leaves the configuration as it was.
//!
//! ```
//! use zoo::config::TrainerConfig;
//! let mut config = TrainerConfig::parse("estimator=rge-central q=16 lr=1e-3 seed=7").unwrap();
//! config.set("mu", "5e-4").unwrap();
//! assert_eq!(config.get("q").unwrap(), "16");
//! assert!(config.set("q", "zero").is_err());
//! ```

use crate::error::{Result, ZooError};
use crate::estimate::{DirectionKind, EstimatorConfig, EstimatorKind, Shaping};
use crate::optim::{OptimConfig, OptimizerKind, Schedule, ScheduleKind};

/// What happens when a candidate's loss is NaN or infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonFinitePolicy {
    /// The candidate and its partner drop out of the estimate and are counted.
    Skip,
    /// The iteration is aborted with an error; weights stay as they were.
    Error,
}

/// Upper bound of `q`: beyond it the per-iteration loss slots alone would
/// be a memory hazard, and no estimate needs that many directions.
const MAX_DIRECTIONS: usize = 1_000_000;

/// One documented option.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    pub key: &'static str,
    pub default: &'static str,
    pub accepted: &'static str,
    pub help: &'static str,
}

/// Every option with its default; the README's table is generated from it.
pub const OPTIONS: &[OptionSpec] = &[
    spec(
        "estimator",
        "rge-central",
        "rge-forward | rge-central | cge-forward | cge-central",
        "how candidates are chosen and losses combined",
    ),
    spec(
        "q",
        "16",
        "integer in [1, 1000000]",
        "RGE directions per iteration",
    ),
    spec(
        "directions",
        "gaussian",
        "gaussian | sphere",
        "distribution of RGE directions",
    ),
    spec(
        "mu",
        "0.001",
        "number > 0",
        "smoothing radius of the finite differences",
    ),
    spec(
        "cge_coords",
        "0",
        "integer ≥ 0",
        "CGE coordinates per iteration, sampled without replacement; 0 = every active one",
    ),
    spec(
        "base_loss",
        "off",
        "off | on",
        "on: central estimators also evaluate θ (one extra candidate per iteration, the last) and report L(θ) as base_loss and as the loss (zoo_step, metric loss, progress line) instead of the mean candidate loss; the gradient estimate is bit-identical, and a NaN/inf base loss is only reported, never dropped or fatal (under either nonfinite policy); no effect on forward estimators (they evaluate θ anyway) or with space=output",
    ),
    spec(
        "shaping",
        "none",
        "none | rank",
        "rank: the estimate uses the centred ranks of the iteration's losses instead of their values (robust to outliers and heavy tails; scale-free, so use adam, sign-sgd or lr=auto); no extra evaluations",
    ),
    spec(
        "optimizer",
        "adam",
        "sgd | momentum | nesterov | adam | sign-sgd",
        "update rule",
    ),
    spec(
        "lr",
        "auto",
        "number ≥ 0 | auto",
        "learning rate; auto: adapted from the losses. Each iteration also evaluates θ_k (central estimators: one candidate more) and, from the second on, the point θ_a its last step started from (one more), and compares the two on that iteration's loss: ×1.2 after a step that did not raise the loss (×2 until the first rejection), else θ goes back to θ_a and the rate halves; starts at 0.001; the schedule is not applied; holds for losses that change between iterations (online training, mini-batches)",
    ),
    spec(
        "momentum",
        "0.9",
        "number in [0, 1)",
        "β of momentum and nesterov",
    ),
    spec(
        "beta1",
        "0.9",
        "number in [0, 1)",
        "Adam's first-moment decay",
    ),
    spec(
        "beta2",
        "0.999",
        "number in [0, 1)",
        "Adam's second-moment decay",
    ),
    spec(
        "eps",
        "0.00000001",
        "number > 0",
        "Adam's denominator guard",
    ),
    spec(
        "weight_decay",
        "0",
        "number ≥ 0",
        "decoupled weight decay: θ ← θ·(1 − lr·weight_decay)",
    ),
    spec(
        "clip",
        "0",
        "number ≥ 0",
        "maximum gradient-estimate norm; 0 = no clipping",
    ),
    spec(
        "schedule",
        "constant",
        "constant | cosine | cosine-restarts | step",
        "learning-rate schedule",
    ),
    spec(
        "schedule_iterations",
        "1000",
        "integer ≥ 1",
        "cosine: iterations T to decay from lr to lr_min (cosine-restarts: the period)",
    ),
    spec("lr_min", "0", "number ≥ 0", "cosine: final learning rate"),
    spec(
        "step_size",
        "100",
        "integer ≥ 1",
        "step: iterations between decays",
    ),
    spec("gamma", "0.1", "number in (0, 1]", "step: decay factor"),
    spec(
        "seed",
        "0",
        "integer in [0, 2^64)",
        "seed of every random stream (directions, sampled coordinates)",
    ),
    spec(
        "threads",
        "1",
        "integer in [0, 1024]",
        "threads evaluating thread-safe loss functions (started on first use); 0 = all cores; at most 1024",
    ),
    spec(
        "gradient_density",
        "1",
        "number in (0, 1]",
        "fraction of each layer's active weights perturbed and updated per iteration (< 1: sparse gradient, dense model)",
    ),
    spec(
        "redraw_every",
        "1",
        "integer ≥ 1",
        "iterations between redraws of the gradient subset when gradient_density < 1",
    ),
    spec(
        "feature_reuse",
        "off",
        "off, on",
        "CGE candidates recompute only the layers their coordinate affects (when every candidate runs the same batch)",
    ),
    spec(
        "partition",
        "candidates",
        "candidates, replicated",
        "with a communicator: ranks share the candidates, or each evaluates all of them on its subdomain",
    ),
    spec(
        "space",
        "output",
        "output | weights",
        "dataset mode: perturb the network's outputs and backpropagate (queries independent of the weight count), or perturb the weights",
    ),
    spec(
        "metrics_file",
        "",
        "a file path; empty = none",
        "append one JSON line of metrics per iteration to this file (only rank 0 writes)",
    ),
    spec(
        "progress_every",
        "0",
        "integer ≥ 0",
        "print a progress line on stderr every N iterations; 0 = never (only rank 0 prints)",
    ),
    spec(
        "nonfinite",
        "skip",
        "skip | error",
        "NaN/inf loss: drop the candidate and its partner, or abort the iteration",
    ),
];

pub(crate) const fn spec(
    key: &'static str,
    default: &'static str,
    accepted: &'static str,
    help: &'static str,
) -> OptionSpec {
    OptionSpec {
        key,
        default,
        accepted,
        help,
    }
}

/// Everything a trainer is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerConfig {
    pub estimator: EstimatorConfig,
    pub optim: OptimConfig,
    pub seed: u64,
    /// 0 = all cores.
    pub threads: usize,
    pub nonfinite: NonFinitePolicy,
    /// Fraction of active weights perturbed per iteration.
    pub gradient_density: f64,
    /// Iterations between redraws of the gradient subset.
    pub redraw_every: u64,
    /// Whether coordinate candidates reuse θ's features.
    pub feature_reuse: bool,
    /// How ranks share candidates.
    pub partition: crate::trainer::Partition,
    /// What dataset-mode iterations perturb.
    pub space: Space,
    /// JSONL metrics file; empty = none.
    pub metrics_file: String,
    /// Iterations between progress lines on stderr; 0 = none.
    pub progress_every: u64,
}

/// What dataset-mode iterations perturb (option `space`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// The outputs Y; ∂L/∂Y is estimated and backpropagated exactly.
    Output,
    /// The weights θ, as in rollout mode.
    Weights,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        let mut config = Self {
            estimator: EstimatorConfig {
                kind: EstimatorKind::RgeCentral,
                q: 0,
                directions: DirectionKind::Gaussian,
                mu: 0.0,
                cge_coords: 0,
                base_loss: false,
                shaping: Shaping::None,
            },
            optim: OptimConfig {
                kind: OptimizerKind::Adam,
                lr: 0.0,
                auto_lr: false,
                momentum: 0.0,
                beta1: 0.0,
                beta2: 0.0,
                eps: 0.0,
                weight_decay: 0.0,
                clip: 0.0,
                schedule: Schedule::constant(),
            },
            seed: 0,
            threads: 1,
            nonfinite: NonFinitePolicy::Skip,
            gradient_density: 1.0,
            redraw_every: 1,
            feature_reuse: false,
            partition: crate::trainer::Partition::Candidates,
            space: Space::Output,
            metrics_file: String::new(),
            progress_every: 0,
        };
        for option in OPTIONS {
            config
                .set_one(option.key, option.default)
                .expect("documented defaults are valid");
        }
        config
    }
}

impl TrainerConfig {
    /// The estimator settings an iteration's plan uses: the options, with
    /// θ also evaluated under `lr=auto`, whose comparisons need L(θ_k)
    /// itself (the mean candidate loss carries noise from each iteration's
    /// directions, and a running minimum of noise stalls the rate at its
    /// floor).
    pub fn plan_estimator(&self) -> EstimatorConfig {
        EstimatorConfig {
            base_loss: self.estimator.base_loss || self.optim.auto_lr,
            ..self.estimator
        }
    }

    /// The estimator settings of an output-space plan: θ's outputs are
    /// evaluated under `lr=auto` only (`base_loss` is a weight-space
    /// option).
    pub fn output_plan_estimator(&self) -> EstimatorConfig {
        EstimatorConfig {
            base_loss: self.optim.auto_lr,
            ..self.estimator
        }
    }

    /// Defaults overridden by `options`: whitespace-separated `key=value`
    /// words.
    pub fn parse(options: &str) -> Result<Self> {
        let mut config = Self::default();
        config.apply(options)?;
        Ok(config)
    }

    /// Applies every `key=value` word of `options`, all or nothing.
    pub fn apply(&mut self, options: &str) -> Result<()> {
        let mut next = self.clone();
        for (key, value) in words(options)? {
            next.set_one(key, value)?;
        }
        *self = next;
        Ok(())
    }

    /// Sets one option; on error nothing changes.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let mut next = self.clone();
        next.set_one(key, value)?;
        *self = next;
        Ok(())
    }

    fn set_one(&mut self, key: &str, value: &str) -> Result<()> {
        let v = Value::new(key, value, OPTIONS);
        let (e, o) = (&mut self.estimator, &mut self.optim);
        match key {
            "estimator" => {
                e.kind = v.choice(&[
                    ("rge-forward", EstimatorKind::RgeForward),
                    ("rge-central", EstimatorKind::RgeCentral),
                    ("cge-forward", EstimatorKind::CgeForward),
                    ("cge-central", EstimatorKind::CgeCentral),
                ])?
            }
            "q" => e.q = v.count_in(1, MAX_DIRECTIONS)?,
            "directions" => {
                e.directions = v.choice(&[
                    ("gaussian", DirectionKind::Gaussian),
                    ("sphere", DirectionKind::Sphere),
                ])?
            }
            "mu" => e.mu = v.number(|x| x > 0.0)?,
            "cge_coords" => e.cge_coords = v.count(0)?,
            "base_loss" => e.base_loss = v.choice(&[("off", false), ("on", true)])?,
            "shaping" => {
                e.shaping = v.choice(&[("none", Shaping::None), ("rank", Shaping::Rank)])?
            }
            "optimizer" => {
                o.kind = v.choice(&[
                    ("sgd", OptimizerKind::Sgd),
                    ("momentum", OptimizerKind::Momentum),
                    ("nesterov", OptimizerKind::Nesterov),
                    ("adam", OptimizerKind::Adam),
                    ("sign-sgd", OptimizerKind::SignSgd),
                ])?
            }
            "lr" if value == "auto" => o.auto_lr = true,
            "lr" => {
                o.lr = v.number(|x| x >= 0.0)?;
                o.auto_lr = false;
            }
            "momentum" => o.momentum = v.number(|x| (0.0..1.0).contains(&x))?,
            "beta1" => o.beta1 = v.number(|x| (0.0..1.0).contains(&x))?,
            "beta2" => o.beta2 = v.number(|x| (0.0..1.0).contains(&x))?,
            "eps" => o.eps = v.number(|x| x > 0.0)?,
            "weight_decay" => o.weight_decay = v.number(|x| x >= 0.0)?,
            "clip" => o.clip = v.number(|x| x >= 0.0)?,
            "schedule" => {
                o.schedule.kind = v.choice(&[
                    ("constant", ScheduleKind::Constant),
                    ("cosine", ScheduleKind::Cosine),
                    ("cosine-restarts", ScheduleKind::CosineRestarts),
                    ("step", ScheduleKind::Step),
                ])?
            }
            "schedule_iterations" => o.schedule.iterations = v.integer(1)?,
            "lr_min" => o.schedule.lr_min = v.number(|x| x >= 0.0)?,
            "step_size" => o.schedule.step_size = v.integer(1)?,
            "gamma" => o.schedule.gamma = v.number(|x| x > 0.0 && x <= 1.0)?,
            "seed" => self.seed = v.integer(0)?,
            "gradient_density" => self.gradient_density = v.number(|x| x > 0.0 && x <= 1.0)?,
            "redraw_every" => self.redraw_every = v.integer(1)?,
            "feature_reuse" => self.feature_reuse = v.choice(&[("off", false), ("on", true)])?,
            "partition" => {
                self.partition = v.choice(&[
                    ("candidates", crate::trainer::Partition::Candidates),
                    ("replicated", crate::trainer::Partition::Replicated),
                ])?
            }
            "space" => {
                self.space = v.choice(&[("output", Space::Output), ("weights", Space::Weights)])?
            }
            "threads" => self.threads = v.count_in(0, crate::schedule::MAX_THREADS)?,
            "metrics_file" => self.metrics_file = value.to_string(),
            "progress_every" => self.progress_every = v.integer(0)?,
            "nonfinite" => {
                self.nonfinite = v.choice(&[
                    ("skip", NonFinitePolicy::Skip),
                    ("error", NonFinitePolicy::Error),
                ])?
            }
            _ => return Err(unknown(key)),
        }
        Ok(())
    }

    /// The current value of `key`, formatted so that `set(key, get(key))`
    /// changes nothing.
    pub fn get(&self, key: &str) -> Result<String> {
        let (e, o, s) = (&self.estimator, &self.optim, &self.optim.schedule);
        Ok(match key {
            "estimator" => match e.kind {
                EstimatorKind::RgeForward => "rge-forward",
                EstimatorKind::RgeCentral => "rge-central",
                EstimatorKind::CgeForward => "cge-forward",
                EstimatorKind::CgeCentral => "cge-central",
            }
            .into(),
            "q" => e.q.to_string(),
            "directions" => match e.directions {
                DirectionKind::Gaussian => "gaussian",
                DirectionKind::Sphere => "sphere",
            }
            .into(),
            "mu" => e.mu.to_string(),
            "cge_coords" => e.cge_coords.to_string(),
            "base_loss" => if e.base_loss { "on" } else { "off" }.into(),
            "shaping" => match e.shaping {
                Shaping::None => "none",
                Shaping::Rank => "rank",
            }
            .into(),
            "optimizer" => match o.kind {
                OptimizerKind::Sgd => "sgd",
                OptimizerKind::Momentum => "momentum",
                OptimizerKind::Nesterov => "nesterov",
                OptimizerKind::Adam => "adam",
                OptimizerKind::SignSgd => "sign-sgd",
            }
            .into(),
            "lr" if o.auto_lr => "auto".into(),
            "lr" => o.lr.to_string(),
            "momentum" => o.momentum.to_string(),
            "beta1" => o.beta1.to_string(),
            "beta2" => o.beta2.to_string(),
            "eps" => o.eps.to_string(),
            "weight_decay" => o.weight_decay.to_string(),
            "clip" => o.clip.to_string(),
            "schedule" => match s.kind {
                ScheduleKind::Constant => "constant",
                ScheduleKind::Cosine => "cosine",
                ScheduleKind::CosineRestarts => "cosine-restarts",
                ScheduleKind::Step => "step",
            }
            .into(),
            "schedule_iterations" => s.iterations.to_string(),
            "lr_min" => s.lr_min.to_string(),
            "step_size" => s.step_size.to_string(),
            "gamma" => s.gamma.to_string(),
            "seed" => self.seed.to_string(),
            "gradient_density" => self.gradient_density.to_string(),
            "redraw_every" => self.redraw_every.to_string(),
            "feature_reuse" => if self.feature_reuse { "on" } else { "off" }.into(),
            "partition" => match self.partition {
                crate::trainer::Partition::Candidates => "candidates",
                crate::trainer::Partition::Replicated => "replicated",
            }
            .into(),
            "space" => match self.space {
                Space::Output => "output",
                Space::Weights => "weights",
            }
            .into(),
            "threads" => self.threads.to_string(),
            "metrics_file" => self.metrics_file.clone(),
            "progress_every" => self.progress_every.to_string(),
            "nonfinite" => match self.nonfinite {
                NonFinitePolicy::Skip => "skip",
                NonFinitePolicy::Error => "error",
            }
            .into(),
            _ => return Err(unknown(key)),
        })
    }
}

/// The `key=value` words of an options string, separated by whitespace.
/// A value may be quoted, `key="a b"` or `key='a b'`, to hold whitespace
/// (no escapes: it ends at the next quote of its kind). A key given twice
/// is an error, so that a typo cannot silently override an option.
pub(crate) fn words(options: &str) -> Result<Vec<(&str, &str)>> {
    let mut words: Vec<(&str, &str)> = Vec::new();
    let mut rest = options.trim_start();
    while !rest.is_empty() {
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let malformed = || ZooError::MalformedOption {
            word: rest[..word_end].into(),
        };
        let (key, after) = rest.split_once('=').ok_or_else(malformed)?;
        if key.len() > word_end {
            return Err(malformed());
        }
        let (value, remaining) = match after.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let close = after[1..]
                    .find(quote)
                    .ok_or_else(|| ZooError::MalformedOption {
                        word: format!("{key}={after} (the quote {quote} is not closed)"),
                    })?;
                let remaining = &after[close + 2..];
                if !remaining.is_empty() && !remaining.starts_with(char::is_whitespace) {
                    return Err(ZooError::MalformedOption {
                        word: format!(
                            "{key}={} (text after the closing quote)",
                            &after[..close + 2]
                        ),
                    });
                }
                (&after[1..close + 1], remaining)
            }
            _ => after.split_at(after.find(char::is_whitespace).unwrap_or(after.len())),
        };
        if words.iter().any(|(k, _)| *k == key) {
            return Err(ZooError::DuplicateOption { key: key.into() });
        }
        words.push((key, value));
        rest = remaining.trim_start();
    }
    Ok(words)
}

fn unknown(key: &str) -> ZooError {
    unknown_in(key, OPTIONS)
}

/// An unknown-key error listing the keys of `table`.
pub(crate) fn unknown_in(key: &str, table: &[OptionSpec]) -> ZooError {
    let known: Vec<&str> = table.iter().map(|o| o.key).collect();
    ZooError::UnknownOption {
        key: key.into(),
        known: known.join(", "),
    }
}

/// A value being parsed for a key of an option table, so errors can name
/// the key, the value and what the table accepts.
pub(crate) struct Value<'a> {
    key: &'a str,
    value: &'a str,
    table: &'static [OptionSpec],
}

impl<'a> Value<'a> {
    pub(crate) fn new(key: &'a str, value: &'a str, table: &'static [OptionSpec]) -> Self {
        Self { key, value, table }
    }

    fn invalid(&self) -> ZooError {
        let accepted = self
            .table
            .iter()
            .find(|o| o.key == self.key)
            .map_or("", |o| o.accepted);
        ZooError::InvalidOption {
            key: self.key.into(),
            value: self.value.into(),
            accepted: accepted.into(),
        }
    }

    pub(crate) fn number(&self, valid: impl Fn(f64) -> bool) -> Result<f64> {
        match self.value.parse::<f64>() {
            Ok(x) if x.is_finite() && valid(x) => Ok(x),
            _ => Err(self.invalid()),
        }
    }

    pub(crate) fn integer(&self, min: u64) -> Result<u64> {
        match self.value.parse::<u64>() {
            Ok(x) if x >= min => Ok(x),
            _ => Err(self.invalid()),
        }
    }

    pub(crate) fn count_in(&self, min: usize, max: usize) -> Result<usize> {
        self.count(min)
            .and_then(|x| if x <= max { Ok(x) } else { Err(self.invalid()) })
    }

    pub(crate) fn count(&self, min: usize) -> Result<usize> {
        usize::try_from(self.integer(min as u64)?).map_err(|_| self.invalid())
    }

    pub(crate) fn choice<T: Copy>(&self, choices: &[(&str, T)]) -> Result<T> {
        choices
            .iter()
            .find(|(name, _)| *name == self.value)
            .map(|(_, t)| *t)
            .ok_or_else(|| self.invalid())
    }
}

/// The options as a Markdown table, as the README shows them.
pub fn options_markdown_table() -> String {
    let mut table =
        String::from("| option | default | accepted | meaning |\n| --- | --- | --- | --- |\n");
    for o in OPTIONS {
        let accepted = o.accepted.replace(" | ", ", ");
        table.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            o.key, o.default, accepted, o.help
        ));
    }
    table
}

#[cfg(test)]
mod tests;
