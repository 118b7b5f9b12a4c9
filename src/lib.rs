//! zoo trains small neural networks *through* scientific codes that give no
//! gradients. The host code keeps its own loop and hands zoo loss values;
//! zoo estimates gradients from them (zeroth-order optimization) and updates
//! the weights.
//!
//! Layers, from the bottom: [`rng`] (counter-based streams), [`model`]
//! (networks, masks, forward and backward), [`estimate`] (which candidates
//! to evaluate and how their losses become a gradient), [`optim`]
//! (optimizers and learning-rate schedules), [`config`] (`key=value`
//! options) and [`trainer`] (the iteration state machine: `step` and
//! ask/tell).

pub mod capi;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod estimate;
pub mod model;
pub mod mu_scan;
pub mod optim;
pub mod prune;
pub mod rng;
mod schedule;
mod simd;
mod size;
pub mod supervised;
pub mod trainer;

pub use error::{Result, ZooError};

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
