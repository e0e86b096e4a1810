//! Running quantized GGUF language models on CPU with [candle](https://github.com/huggingface/candle),
//! for rein's constrained generation loop.
//!
//! This crate owns the model layer: [`Model::load_gguf`] reads a GGUF file, picks the
//! [`Architecture`] from `general.architecture`, and keeps a KV cache that can be fed any
//! number of tokens at once ([`Model::forward`]: a prompt, one sampled token, or a run of
//! forced tokens), rolled back ([`Model::truncate_cache`]) or cleared.
//!
//! All architectures share one forward pass written here (`decoder.rs`), not
//! candle-transformers' per-model files: those cannot truncate their private KV caches,
//! build rotary tables for a fixed maximum length in every layer, and `quantized_gemma3`
//! (0.11.1) has several correctness bugs (SiLU instead of GELU, a broken multi-token
//! forward after a prefill, no sliding window when decoding).
//!
//! Precision: weights stay quantized in memory and are multiplied with f32 activations
//! by this crate's own kernels, so the logits equal those of the dequantized f32 weights up
//! to summation order ([`LoadConfig::dequantize`] expands them for reference runs). candle's
//! quantized kernels are not used: they also round activations to 8 bits, which is enough
//! to derail the greedy output of a 135M model.
//!
//! | architecture | GGUF name | checked against (tests) |
//! |---|---|---|
//! | Llama | `llama` | candle-transformers `quantized_llama` on SmolLM2-135M and a tiny random file |
//! | Gemma 3 | `gemma3` | an independent f32 numpy forward pass of Gemma 3 270M (top-20 logits) |
//! | Qwen 2 | `qwen2` | candle-transformers `quantized_qwen2` on a tiny random file |
//! | Qwen 3 | `qwen3` | candle-transformers `quantized_qwen3` on a tiny random file |
//!
//! ```
//! use rein_candle::Model;
//!
//! // A tiny random-weight model (no download); real models come from `Model::load_gguf`.
//! let mut model = Model::tiny_random(1000, 7);
//! let prompt = [2, 17, 400, 9];
//! let logits = model.forward(&prompt, 0)?;
//! assert_eq!(logits.len(), model.vocab_size());
//! // Fast-forward two forced tokens in one pass, then roll one back.
//! model.forward(&[5, 6], prompt.len())?;
//! model.truncate_cache(prompt.len() + 1)?;
//! assert_eq!(model.cache_len(), 5);
//! # Ok::<(), rein_candle::ModelError>(())
//! ```
//!
//! Features: none.

#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod arch;
mod chat;
mod decoder;
mod error;
mod generate;
mod gguf;
mod kv_cache;
mod matmul;
mod model;
mod rope;
mod sampling;
mod stream;
mod weights;

pub use arch::Architecture;
pub use candle_core::Device;
pub use chat::ChatTemplate;
pub use decoder::Hidden;
pub use error::ModelError;
pub use generate::{
    Finish, GenerateConfig, GenerateError, Generation, Generator, MaskOverlap, Prompt,
};
pub use model::{LoadConfig, Model};
