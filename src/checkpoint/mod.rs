//! Checkpoints: a model, or a whole trainer, in one safetensors file.
//!
//! Tensors (little-endian): `params` (f64, [d]), `mask` (u8 0/1, [d]) and,
//! for trainers, `optimizer.first` and `optimizer.second` (f64, [d]) and
//! the `lr=auto` state: `optimizer.auto_step` (f64, [d]) with metadata
//! `auto_lr`, `auto_accepted_loss` and `auto_searching` (the first two
//! absent from files written before `lr=auto`, whose trainers start it
//! afresh; the last absent from files written before its initial search,
//! which resume without one).
//! String metadata: `format` = "zoo-checkpoint", `format_version`, `kind`
//! ("model" or "trainer"), `zoo_version`, the architecture (`layers`:
//! widths "2,16,1"; `activations`: one per layer, "tanh,identity"; for
//! networks with polynomial features also `features` = "polynomial",
//! `feature_inputs` and `feature_degree`), a 64-bit FNV-1a `checksum`,
//! and for trainers `iteration`, `optimizer_steps` and every training
//! option as `option.<key>`. Everything that decides the next iterations
//! is there (directions come from (seed, k), so the iteration k is the
//! random streams' position); what the host supplies (callbacks,
//! communicator, batch, data term, and the [`ENVIRONMENT_OPTIONS`]) is
//! not.
//!
//! Format versions: 3 (written now) has a checksum over every tensor and
//! every metadata entry, so nothing that is restored can change unseen,
//! and stores no environment options. Versions 1 (plain networks) and 2
//! (networks with polynomial features) were written before; they are
//! still read, with their checksum over the tensors only, and the
//! environment options they hold are ignored.
//!
//! Files are written atomically ([`atomic::write`], which also says what
//! a save may replace: regular files, through symbolic links, never
//! devices or FIFOs). Files are read with bounds ([`reading::read_file`]):
//! only regular files, header and sizes checked before the tensors are
//! read. Loading checks everything and names what is wrong.

pub mod atomic;
pub mod reading;

use crate::error::{Result, ZooError};
use crate::model::{Activation, Init, Model, Network};
use crate::optim::AutoStep;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

/// The `format` metadata value of every zoo checkpoint.
pub const FORMAT: &str = "zoo-checkpoint";
/// The format this zoo writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 3;

/// Options that describe the host's environment, not the training: how
/// many threads it lends, where its metrics go, how often it wants a
/// progress line, how its ranks split the work (a domain-decomposed
/// host evaluates on its subdomain). A checkpoint neither stores nor
/// restores them: [`crate::trainer::Trainer::restore`] keeps the host's
/// values, and [`crate::trainer::Trainer::load`] starts from their
/// defaults (so a file never makes a trainer write metrics anywhere).
pub const ENVIRONMENT_OPTIONS: &[&str] =
    &["threads", "metrics_file", "progress_every", "partition"];

/// Whether `key` is one of the [`ENVIRONMENT_OPTIONS`].
pub fn is_environment_option(key: &str) -> bool {
    ENVIRONMENT_OPTIONS.contains(&key)
}

/// What a checkpoint holds besides the model, for trainers.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerState {
    pub iteration: u64,
    pub optimizer_steps: u64,
    pub first: Vec<f64>,
    pub second: Vec<f64>,
    /// The `lr=auto` state; `None` in files written before it existed.
    pub auto: Option<AutoStep>,
    /// `(key, value)` for every training option: environment options are
    /// left out when writing and dropped when reading.
    pub options: Vec<(String, String)>,
}

/// A decoded checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub model: Model,
    pub trainer: Option<TrainerState>,
}

/// The bytes of a checkpoint of `model` (and of a trainer's state).
pub fn encode(model: &Model, trainer: Option<&TrainerState>) -> Result<Vec<u8>> {
    let mask: Vec<u8> = model.mask().iter().map(|&m| u8::from(m)).collect();
    let mut tensors: Vec<(&str, Dtype, Vec<u8>)> = vec![
        ("params", Dtype::F64, f64_bytes(model.params())),
        ("mask", Dtype::U8, mask),
    ];
    let network = model.network();
    let mut metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("format_version".into(), FORMAT_VERSION.to_string()),
        ("zoo_version".into(), env!("CARGO_PKG_VERSION").into()),
        ("layers".into(), layer_widths(network)),
        ("activations".into(), activations(network)),
    ]);
    if let Some(poly) = network.features() {
        metadata.insert("features".into(), "polynomial".into());
        metadata.insert("feature_inputs".into(), poly.inputs().to_string());
        metadata.insert("feature_degree".into(), poly.degree().to_string());
    }
    match trainer {
        None => {
            metadata.insert("kind".into(), "model".into());
        }
        Some(state) => {
            metadata.insert("kind".into(), "trainer".into());
            metadata.insert("iteration".into(), state.iteration.to_string());
            metadata.insert("optimizer_steps".into(), state.optimizer_steps.to_string());
            for (key, value) in &state.options {
                if !is_environment_option(key) {
                    metadata.insert(format!("option.{key}"), value.clone());
                }
            }
            tensors.push(("optimizer.first", Dtype::F64, f64_bytes(&state.first)));
            tensors.push(("optimizer.second", Dtype::F64, f64_bytes(&state.second)));
            if let Some(auto) = &state.auto {
                metadata.insert("auto_lr".into(), auto.lr.to_string());
                metadata.insert("auto_accepted_loss".into(), auto.accepted_loss.to_string());
                metadata.insert("auto_searching".into(), auto.searching.to_string());
                tensors.push((
                    "optimizer.auto_step",
                    Dtype::F64,
                    f64_bytes(&auto.last_step),
                ));
            }
        }
    }
    let sum = covering_checksum(tensors.iter().map(|t| (t.0, &t.2[..])), &metadata);
    metadata.insert("checksum".into(), format!("{sum:016x}"));
    let d = model.num_params();
    let views = tensors
        .iter()
        .map(|(name, dtype, bytes)| {
            TensorView::new(*dtype, vec![d], bytes)
                .map(|view| (*name, view))
                .map_err(|e| ZooError::InvalidArgument(format!("tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| ZooError::InvalidArgument(format!("cannot encode the checkpoint: {e}")))
}

/// Decodes and validates checkpoint bytes; `path` names the source in
/// errors.
pub fn decode(bytes: &[u8], path: &str) -> Result<Checkpoint> {
    let bad = |reason: String| ZooError::BadCheckpoint {
        path: path.into(),
        reason,
    };
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| {
        bad(format!(
            "not a readable safetensors file (truncated or corrupted?): {e}"
        ))
    })?;
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("unreadable header: {e}")))?;
    let metadata = header
        .metadata()
        .as_ref()
        .ok_or_else(|| bad("no metadata: not a zoo checkpoint".into()))?;
    let field = |key: &str| {
        metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| bad(format!("metadata '{key}' is missing")))
    };
    if field("format")? != FORMAT {
        return Err(bad(format!(
            "format '{}' is not '{FORMAT}': not a zoo checkpoint",
            field("format")?
        )));
    }
    let version: u32 = parse(field("format_version")?, "format_version", &bad)?;
    if version > FORMAT_VERSION || version == 0 {
        return Err(bad(format!(
            "format version {version} was written by a newer zoo (zoo {} reads versions 1 to {FORMAT_VERSION})",
            env!("CARGO_PKG_VERSION")
        )));
    }
    if version >= 3 {
        // Before anything in the file is believed.
        let all = tensors.iter().map(|(name, view)| (name, view.data()));
        let sum = covering_checksum(all, metadata);
        if field("checksum")? != format!("{sum:016x}") {
            return Err(bad(
                "checksum mismatch: the tensors or the metadata are corrupted or were edited"
                    .into(),
            ));
        }
    }
    let kind = field("kind")?;
    if kind != "model" && kind != "trainer" {
        return Err(bad(format!(
            "kind '{kind}' is neither 'model' nor 'trainer'"
        )));
    }
    // Feature layers add no parameters: the plain layers size the tensors
    // (so the file's size bounds them) before any feature is built.
    let mut network =
        network_of(field("layers")?, field("activations")?).map_err(|e| bad(e.to_string()))?;
    let d = network.num_params();
    let mut names = vec!["params", "mask"];
    if kind == "trainer" {
        names.extend(["optimizer.first", "optimizer.second"]);
    }
    let mut data = Vec::with_capacity(names.len());
    for name in &names {
        let view = tensors
            .tensor(name)
            .map_err(|_| bad(format!("tensor '{name}' is missing")))?;
        let dtype = if *name == "mask" {
            Dtype::U8
        } else {
            Dtype::F64
        };
        if view.dtype() != dtype || view.shape() != [d] {
            return Err(bad(format!(
                "tensor '{name}' is {:?} {:?}; the architecture needs {dtype:?} [{d}]",
                view.dtype(),
                view.shape()
            )));
        }
        data.push(view.data());
    }
    if version < 3 {
        let expected = format!(
            "{:016x}",
            tensor_checksum(names.iter().copied().zip(data.iter().copied()))
        );
        if field("checksum")? != expected {
            return Err(bad("checksum mismatch: the tensor data is corrupted".into()));
        }
    }
    if let Some(kind) = metadata.get("features") {
        if kind != "polynomial" {
            return Err(bad(format!(
                "feature layer '{kind}' is unknown (known: polynomial)"
            )));
        }
        let inputs: usize = parse(field("feature_inputs")?, "feature_inputs", &bad)?;
        let degree: usize = parse(field("feature_degree")?, "feature_degree", &bad)?;
        let misfit = || {
            bad(format!(
                "layers '{}' do not fit polynomial features of {inputs} inputs to degree {degree}",
                metadata["layers"]
            ))
        };
        if degree > MAX_FEATURE_DEGREE {
            return Err(bad(format!(
                "feature_degree {degree} is over the limit of {MAX_FEATURE_DEGREE}"
            )));
        }
        if monomials_up_to(inputs, degree, network.layers()[0].inputs)
            != Some(network.layers()[0].inputs)
        {
            return Err(misfit());
        }
        let with_features = Network::polynomial(inputs, degree, network.num_outputs())
            .map_err(|e| bad(e.to_string()))?;
        if with_features.layers() != network.layers() {
            return Err(misfit());
        }
        network = with_features;
    }
    let mask: Vec<bool> = data[1]
        .iter()
        .enumerate()
        .map(|(i, &m)| match m {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(bad(format!("mask[{i}] is {other}, not 0 or 1"))),
        })
        .collect::<Result<_>>()?;
    let mut model = Model::new(network, Init::Auto, 0)?;
    let invalid = |e: ZooError| bad(e.to_string());
    model.set_mask(&mask).map_err(invalid)?;
    if model.num_active() == 0 {
        return Err(bad("the mask leaves no active parameter".into()));
    }
    model.set_params(&f64_values(data[0])).map_err(invalid)?;
    let trainer = if kind == "trainer" {
        let (first, second) = (f64_values(data[2]), f64_values(data[3]));
        if let Some(i) = first.iter().chain(&second).position(|v| !v.is_finite()) {
            return Err(bad(format!("optimizer moment {i} is not finite")));
        }
        let auto = match tensors.tensor("optimizer.auto_step") {
            Err(_) => None,
            Ok(view) => {
                if view.dtype() != Dtype::F64 || view.shape() != [d] {
                    return Err(bad(format!(
                        "tensor 'optimizer.auto_step' is {:?} {:?}; the architecture needs F64 [{d}]",
                        view.dtype(),
                        view.shape()
                    )));
                }
                let auto = AutoStep {
                    lr: parse(field("auto_lr")?, "auto_lr", &bad)?,
                    accepted_loss: parse(field("auto_accepted_loss")?, "auto_accepted_loss", &bad)?,
                    last_step: f64_values(view.data()),
                    searching: match metadata.get("auto_searching").map(String::as_str) {
                        None | Some("false") => false,
                        Some("true") => true,
                        Some(other) => {
                            return Err(bad(format!(
                                "metadata 'auto_searching' is '{other}'; expected true or false"
                            )))
                        }
                    },
                };
                if !auto.is_valid() {
                    return Err(bad(format!(
                        "the lr=auto state is out of range (auto_lr {}, auto_accepted_loss {}, or a non-finite step)",
                        auto.lr, auto.accepted_loss
                    )));
                }
                Some(auto)
            }
        };
        let options = metadata
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("option.")
                    .filter(|k| !is_environment_option(k))
                    .map(|k| (k.to_string(), v.clone()))
            })
            .collect();
        Some(TrainerState {
            iteration: parse(field("iteration")?, "iteration", &bad)?,
            optimizer_steps: parse(field("optimizer_steps")?, "optimizer_steps", &bad)?,
            first,
            second,
            auto,
            options,
        })
    } else {
        None
    };
    Ok(Checkpoint { model, trainer })
}

/// Reads (see [`reading::read_file`]) and decodes the checkpoint at
/// `path`.
pub fn read(path: &Path) -> Result<Checkpoint> {
    decode(&reading::read_file(path)?, &path.display().to_string())
}

/// Saves `model` to `path` atomically.
pub fn save_model(model: &Model, path: &Path) -> Result<()> {
    atomic::write(path, &encode(model, None)?)
}

/// Loads a model from a model or trainer checkpoint.
pub fn load_model(path: &Path) -> Result<Model> {
    Ok(read(path)?.model)
}

/// The highest polynomial degree a checkpoint may declare: features are
/// built by a recursion as deep as the degree, and useful libraries
/// stop at a few.
pub const MAX_FEATURE_DEGREE: usize = crate::model::MAX_FEATURE_DEGREE;

/// The number of monomials of `inputs` variables with degrees 1 to
/// `degree` (C(inputs + degree, degree) − 1), or `None` when it is over
/// `limit`.
fn monomials_up_to(inputs: usize, degree: usize, limit: usize) -> Option<usize> {
    // C(inputs + k, k) for k = 0, 1, ..., degree; every step is exact and
    // increasing, so stopping above the limit loses nothing.
    let mut count: u128 = 1;
    for k in 1..=degree as u128 {
        count = count.checked_mul(inputs as u128 + k)? / k;
        if count > limit as u128 + 1 {
            return None;
        }
    }
    usize::try_from(count - 1).ok()
}

/// The architecture as "widths" and "activations" strings, for messages.
pub fn describe(network: &Network) -> String {
    let features = network.features().map_or(String::new(), |p| {
        format!(
            "polynomial features of {} inputs to degree {}, ",
            p.inputs(),
            p.degree()
        )
    });
    format!(
        "{features}layers {} ({})",
        layer_widths(network),
        activations(network)
    )
}

fn layer_widths(network: &Network) -> String {
    let layers = network.layers();
    std::iter::once(layers[0].inputs)
        .chain(layers.iter().map(|l| l.outputs))
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn activations(network: &Network) -> String {
    network
        .layers()
        .iter()
        .map(|l| l.activation.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// The network the architecture strings describe.
fn network_of(widths: &str, activations: &str) -> Result<Network> {
    let sizes = widths
        .split(',')
        .map(|w| {
            w.trim().parse::<usize>().map_err(|_| {
                ZooError::InvalidArgument(format!(
                    "layer width '{w}' in '{widths}' is not an integer"
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let acts = activations
        .split(',')
        .map(|a| Activation::parse(a.trim()))
        .collect::<Result<Vec<_>>>()?;
    if acts.len() + 1 != sizes.len() {
        return Err(ZooError::InvalidArgument(format!(
            "{} activations for {} layers",
            acts.len(),
            sizes.len().saturating_sub(1)
        )));
    }
    let hidden = acts[..acts.len() - 1]
        .first()
        .copied()
        .unwrap_or(Activation::Identity);
    if acts[..acts.len() - 1].iter().any(|&a| a != hidden) {
        return Err(ZooError::InvalidArgument(format!(
            "activations '{activations}': hidden layers must share one activation"
        )));
    }
    Network::mlp(&sizes, hidden, acts[acts.len() - 1])
}

fn parse<T: std::str::FromStr>(
    value: &str,
    key: &str,
    bad: &dyn Fn(String) -> ZooError,
) -> Result<T> {
    value.parse().map_err(|_| {
        bad(format!(
            "metadata '{key}' = '{value}' is not a valid number"
        ))
    })
}

fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn f64_values(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
        .collect()
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The length of `piece`, then `piece`: consecutive pieces cannot
    /// trade bytes without changing the hash.
    fn piece(&mut self, piece: &[u8]) {
        self.bytes(&(piece.len() as u64).to_le_bytes());
        self.bytes(piece);
    }
}

/// Formats 1 and 2: FNV-1a over each tensor's name and bytes, in the
/// order given.
fn tensor_checksum<'a>(tensors: impl Iterator<Item = (&'a str, &'a [u8])>) -> u64 {
    let mut hash = Fnv::new();
    for (name, bytes) in tensors {
        hash.bytes(name.as_bytes());
        hash.bytes(bytes);
    }
    hash.0
}

/// Format 3: FNV-1a over every tensor (name, bytes) in name order, then
/// every metadata entry but `checksum` (key, value) in key order, each
/// piece preceded by its length.
fn covering_checksum<'a>(
    tensors: impl Iterator<Item = (&'a str, &'a [u8])>,
    metadata: &HashMap<String, String>,
) -> u64 {
    let mut tensors: Vec<_> = tensors.collect();
    tensors.sort_by_key(|t| t.0);
    let mut entries: Vec<_> = metadata.iter().filter(|e| e.0 != "checksum").collect();
    entries.sort();
    let mut hash = Fnv::new();
    for (name, bytes) in tensors {
        hash.piece(name.as_bytes());
        hash.piece(bytes);
    }
    for (key, value) in entries {
        hash.piece(key.as_bytes());
        hash.piece(value.as_bytes());
    }
    hash.0
}

#[cfg(test)]
mod tests;
