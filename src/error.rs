//! The one error type of zoo. Each variant names what was wrong; the C layer
//! maps variants to stable status codes, so variants are only ever added.

use thiserror::Error;

/// Every fallible zoo operation returns this error. Messages name the
/// offending key, value, size or candidate so that a host code can print
/// them as they are.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ZooError {
    /// An option key that zoo does not know.
    #[error("unknown option '{key}'; known options: {known}")]
    UnknownOption { key: String, known: String },
    /// A known option key with a value that is not accepted.
    #[error("option '{key}': bad value '{value}'; accepted: {accepted}")]
    InvalidOption {
        key: String,
        value: String,
        accepted: String,
    },
    /// An options string that gives one key twice.
    #[error("option '{key}' is given twice in one options string; give each key once")]
    DuplicateOption { key: String },
    /// An options string that is not a list of `key=value` words.
    #[error("malformed option '{word}': expected key=value")]
    MalformedOption { word: String },
    /// A buffer whose length does not match what the model or trainer needs.
    #[error("{what}: expected length {expected}, got {got}")]
    BadSize {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// An argument that is well-sized but not valid (e.g. a non-finite weight).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A call that is not allowed in the trainer's current state.
    #[error("bad state: {0}")]
    BadState(String),
    /// A candidate id that is unknown, stale or already told.
    #[error("candidate id {id:#x}: {reason}")]
    BadCandidate { id: u64, reason: String },
    /// The host's loss function reported a failure; the iteration was aborted.
    #[error("loss function failed for candidate {candidate} (code {code}): {message}")]
    CallbackFailed {
        candidate: usize,
        code: i32,
        message: String,
    },
    /// The Rust loss function panicked; the iteration was aborted and
    /// nothing changed.
    #[error("loss function panicked for candidate {candidate}: {message}")]
    LossPanicked { candidate: usize, message: String },
    /// A non-finite loss with `nonfinite=error`; the iteration was aborted.
    #[error("candidate {candidate} returned a non-finite loss ({value}) and nonfinite=error")]
    NonFiniteLoss { candidate: usize, value: f64 },
    /// A required pointer argument was NULL (C API).
    #[error("{0} is NULL")]
    NullPointer(&'static str),
    /// A C string that is not valid UTF-8 (C API).
    #[error("{0} is not valid UTF-8")]
    InvalidString(&'static str),
    /// Another rank's evaluation failed, so every rank aborted the iteration.
    #[error("the iteration was aborted because the evaluation failed on {ranks} other rank(s)")]
    RankFailed { ranks: usize },
    /// The host's allreduce callback reported a failure.
    #[error("the allreduce callback returned {code}; ranks may now disagree, check with a consistency check")]
    AllreduceFailed { code: i32 },
    /// A file could not be read or written; any previous file is intact.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// A file that is not a valid zoo checkpoint for this use: not
    /// safetensors, truncated, corrupted, from a newer format, or of
    /// another architecture.
    #[error("checkpoint {path}: {reason}")]
    BadCheckpoint { path: String, reason: String },
    /// A size from the host or a file that zoo cannot allocate: the
    /// allocation was refused, or its size overflows. Nothing changed.
    #[error("out of memory: {what}")]
    OutOfMemory { what: String },
    /// A call on a trainer while another call on it is in progress (nested
    /// from one of its callbacks, or from another thread). Nothing changed.
    #[error("busy: {0}")]
    Busy(String),
    /// The iteration could not produce an update; weights are unchanged.
    #[error("iteration {iteration} failed: {reason}")]
    IterationFailed { iteration: u64, reason: String },
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, ZooError>;
