//! The error type of model loading and inference.

use std::path::PathBuf;

use crate::Architecture;

/// An error from loading a model or running it.
///
/// Every variant that comes from a file names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The model file could not be opened or read.
    #[error("cannot read model file {}: {source}", path.display())]
    Io {
        /// The model file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid GGUF file (bad magic, truncated, corrupt header or tensor data).
    #[error("invalid GGUF file {}: {reason}", path.display())]
    InvalidGguf {
        /// The model file.
        path: PathBuf,
        /// What is wrong, as reported by the GGUF reader.
        reason: String,
    },
    /// `general.architecture` names an architecture this crate cannot run.
    #[error(
        "unsupported architecture {found:?} in {}; supported: {}",
        path.display(),
        Architecture::supported_names().join(", ")
    )]
    UnsupportedArchitecture {
        /// The model file.
        path: PathBuf,
        /// The value of `general.architecture` (empty if the key is missing).
        found: String,
    },
    /// A metadata key the architecture needs is missing or has the wrong type.
    #[error("metadata key {key:?} in {} is missing or invalid: {reason}", path.display())]
    Metadata {
        /// The model file.
        path: PathBuf,
        /// The GGUF metadata key.
        key: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A tensor the architecture needs is missing or has an unexpected shape.
    #[error("tensor {name:?} in {} is missing or invalid: {reason}", path.display())]
    Tensor {
        /// The model file.
        path: PathBuf,
        /// The GGUF tensor name.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The model uses a feature of its architecture that is not implemented here.
    #[error("unsupported model feature in {}: {feature}", path.display())]
    UnsupportedFeature {
        /// The model file.
        path: PathBuf,
        /// The feature, e.g. "mixture of experts (expert_count = 8)".
        feature: String,
    },
    /// `forward` was called with no tokens.
    #[error("forward called with no tokens")]
    EmptyInput,
    /// `forward` was called at a position that does not continue the KV cache.
    #[error("forward at position {pos} but the KV cache holds {cached} positions")]
    PositionMismatch {
        /// The position passed to `forward`.
        pos: usize,
        /// The number of positions in the KV cache.
        cached: usize,
    },
    /// `truncate_cache` was asked to keep more positions than are cached.
    #[error("cannot truncate the KV cache to {pos} positions: it holds only {cached}")]
    TruncateBeyondCache {
        /// The requested length.
        pos: usize,
        /// The number of positions in the KV cache.
        cached: usize,
    },
    /// The positions would exceed the model's context length.
    #[error("positions up to {end} exceed the context length {context_length}")]
    ContextOverflow {
        /// One past the last position requested.
        end: usize,
        /// The model's context length.
        context_length: usize,
    },
    /// A token id is outside the vocabulary.
    #[error("token id {token} is out of range for vocabulary size {vocab_size}")]
    TokenOutOfRange {
        /// The token id.
        token: u32,
        /// The vocabulary size (logits width).
        vocab_size: usize,
    },
    /// An invalid argument to a constructor (e.g. `tiny_random` with an empty vocabulary).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An error from the tensor library during a forward pass.
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}
