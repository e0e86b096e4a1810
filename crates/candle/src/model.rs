//! [`Model`]: one loaded model with its KV cache.

use std::path::Path;

use std::sync::Arc;

use candle_core::Device;

use crate::arch::{Activation, Architecture, DecoderConfig, RopeStyle};
use crate::decoder::{Decoder, Embedding, Hidden, Layer, Linear};
use crate::gguf::{self, PromptInfo};
use crate::kv_cache::KvCache;
use crate::rope::RopeTable;
use crate::weights::Weights;
use crate::{ChatTemplate, ModelError};

/// Options for [`Model::load_gguf_with`].
#[derive(Clone, Debug, Default)]
pub struct LoadConfig {
    pub(crate) dequantize: bool,
}

impl LoadConfig {
    /// The defaults: weights keep their quantized size.
    pub fn new() -> LoadConfig {
        LoadConfig::default()
    }

    /// Expand every matrix to f32 at load time (`true`) or keep the quantized integers
    /// (`false`, the default).
    ///
    /// Both compute the same function: this crate's kernels multiply f32 activations by the
    /// stored integers converted to f32, so quantized weights give the logits of their
    /// dequantized f32 values up to summation order (about 1e-5). (candle's own quantized
    /// kernels also round activations to 8 bits, which derails the greedy output of small
    /// models such as SmolLM2-135M; they are not used.) f32 weights take 4-7x the memory
    /// and make one-token decoding slower (it reads every weight once per token); they are
    /// a reference for tests.
    pub fn dequantize(mut self, yes: bool) -> LoadConfig {
        self.dequantize = yes;
        self
    }
}

/// One loaded model with its KV cache (batch size 1).
///
/// The cache holds positions `0..cache_len()`. [`Model::forward`] appends tokens and returns
/// the logits of the last one; [`Model::truncate_cache`] rolls back. Not `Clone`: the KV
/// cache buffers are written in place.
#[derive(Debug)]
pub struct Model {
    decoder: Decoder,
    prompt: PromptInfo,
}

impl Model {
    /// Loads a GGUF model (any weight type candle reads: f32, f16, bf16, Q4_0 … Q8_0, K-quants).
    /// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K weights stay quantized (see
    /// [`LoadConfig::dequantize`]); other types are expanded to f32.
    ///
    /// The architecture comes from `general.architecture` (see [`Architecture`]); the chat
    /// format from `tokenizer.chat_template`, or, when the file has none, from the turn
    /// markers in its vocabulary.
    ///
    /// # Errors
    /// Every error names `path`: it cannot be read, is not a valid GGUF file (including a
    /// truncated one), has an unsupported architecture, or lacks a key or tensor.
    pub fn load_gguf(path: &Path, device: &Device) -> Result<Model, ModelError> {
        Model::load_gguf_with(path, device, LoadConfig::new())
    }

    /// [`Model::load_gguf`] with options.
    ///
    /// # Errors
    /// As [`Model::load_gguf`].
    pub fn load_gguf_with(
        path: &Path,
        device: &Device,
        config: LoadConfig,
    ) -> Result<Model, ModelError> {
        let (decoder, prompt) = gguf::load(path, device, &config)?;
        Ok(Model { decoder, prompt })
    }

    /// The architecture.
    pub fn architecture(&self) -> Architecture {
        self.decoder.cfg.arch
    }

    /// The width of the logits (rows of the output projection). May exceed the number of
    /// tokens the tokenizer defines (padding rows).
    pub fn vocab_size(&self) -> usize {
        self.decoder.vocab_size
    }

    /// The maximum number of positions (`{arch}.context_length`).
    pub fn context_length(&self) -> usize {
        self.decoder.cfg.context_length
    }

    /// The number of positions in the KV cache; the next [`Model::forward`] must start here.
    pub fn cache_len(&self) -> usize {
        self.decoder.cache_len()
    }

    /// Feeds `tokens` at positions `pos..pos + tokens.len()` and returns the logits of the
    /// last of them. Any number of tokens can be fed at once, at any point: a whole prompt,
    /// one sampled token, or several forced tokens after a prefill; the result equals
    /// feeding them one by one (up to float rounding).
    ///
    /// # Errors
    /// [`ModelError::EmptyInput`], [`ModelError::PositionMismatch`] unless
    /// `pos == self.cache_len()`, [`ModelError::ContextOverflow`],
    /// [`ModelError::TokenOutOfRange`]. The cache is unchanged after an input error; after a
    /// tensor error ([`ModelError::Candle`]) it is truncated back to `pos`.
    pub fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Vec<f32>, ModelError> {
        let h = self.forward_hidden(tokens, pos)?;
        Ok(self.logits(&h))
    }

    /// [`Model::forward`] without the output projection: the hidden state of the last token,
    /// for [`Model::logits`] or [`Model::logits_of`].
    ///
    /// # Errors
    /// As [`Model::forward`].
    pub fn forward_hidden(&mut self, tokens: &[u32], pos: usize) -> Result<Hidden, ModelError> {
        if tokens.is_empty() {
            return Err(ModelError::EmptyInput);
        }
        let cached = self.cache_len();
        if pos != cached {
            return Err(ModelError::PositionMismatch { pos, cached });
        }
        let end = pos + tokens.len();
        if end > self.context_length() {
            return Err(ModelError::ContextOverflow {
                end,
                context_length: self.context_length(),
            });
        }
        let vocab_size = self.vocab_size();
        if let Some(&token) = tokens.iter().find(|&&t| t as usize >= vocab_size) {
            return Err(ModelError::TokenOutOfRange { token, vocab_size });
        }
        Ok(self.decoder.forward_hidden(tokens, pos))
    }

    /// All logits of a hidden state from [`Model::forward_hidden`] (`vocab_size()` values).
    pub fn logits(&self, hidden: &Hidden) -> Vec<f32> {
        self.decoder.logits(hidden)
    }

    /// The logits of tokens `ids` only: `out[i]` is the logit of `ids[i]`. Costs
    /// `ids.len() / vocab_size()` of [`Model::logits`], so a sampling loop whose token mask
    /// allows few tokens skips most of the output projection (the largest matrix of a
    /// small model with a large vocabulary).
    ///
    /// # Errors
    /// [`ModelError::TokenOutOfRange`] for an id `>= vocab_size()`;
    /// [`ModelError::InvalidArgument`] if `out.len() != ids.len()`.
    pub fn logits_of(
        &self,
        hidden: &Hidden,
        ids: &[u32],
        out: &mut [f32],
    ) -> Result<(), ModelError> {
        if ids.len() != out.len() {
            return Err(ModelError::InvalidArgument(format!(
                "logits_of: {} ids but an output of {}",
                ids.len(),
                out.len()
            )));
        }
        let vocab_size = self.vocab_size();
        if let Some(&token) = ids.iter().find(|&&t| t as usize >= vocab_size) {
            return Err(ModelError::TokenOutOfRange { token, vocab_size });
        }
        self.decoder.logits_of(hidden, ids, out);
        Ok(())
    }

    /// Bytes held by the weights (excluding the KV cache).
    pub fn weights_bytes(&self) -> usize {
        self.decoder.weights_bytes()
    }

    /// Empties the KV cache and frees its memory.
    pub fn clear_cache(&mut self) {
        self.decoder.clear_cache();
    }

    /// Drops cached positions `>= pos` (rollback, token healing). O(1): the buffers are kept.
    ///
    /// # Errors
    /// [`ModelError::TruncateBeyondCache`] if `pos > self.cache_len()`.
    pub fn truncate_cache(&mut self, pos: usize) -> Result<(), ModelError> {
        let cached = self.cache_len();
        if pos > cached {
            return Err(ModelError::TruncateBeyondCache { pos, cached });
        }
        self.decoder.truncate_cache(pos);
        Ok(())
    }

    /// The chat format, if recognized.
    pub fn chat_template(&self) -> Option<ChatTemplate> {
        self.prompt.chat_template
    }

    /// The BOS token to put before a prompt, if the model's tokenizer adds one
    /// (`tokenizer.ggml.add_bos_token`; default: yes for SentencePiece vocabularies).
    pub fn bos_token(&self) -> Option<u32> {
        self.prompt.bos
    }

    /// Tokens that end generation: `tokenizer.ggml.eos_token_id`, `eot_token_id`, and the
    /// chat format's end-of-turn token when it is in the vocabulary.
    pub fn eos_tokens(&self) -> &[u32] {
        &self.prompt.eos
    }

    /// A tiny Gemma-3-style model with random f32 weights, for fast tests with real
    /// vocabulary sizes (no download). Deterministic per `(vocab_size, seed)` on every
    /// platform (its own SplitMix64 generator).
    ///
    /// Dimensions: hidden 32, 2 layers, 2 query heads sharing 1 KV head of size 16,
    /// feed-forward 64; layer 0 has a sliding window of 4 positions, layer 1 is global;
    /// context length 4096. Its chat template is [`ChatTemplate::Gemma`], its BOS token
    /// `Some(2)` and its EOS tokens `[1]` when the vocabulary is large enough (else none).
    /// Loading a 262,144-token vocabulary takes about 0.1 s and 34 MB.
    ///
    /// # Panics
    /// If `vocab_size == 0` or it exceeds `u32::MAX`; see [`Model::try_tiny_random`].
    pub fn tiny_random(vocab_size: usize, seed: u64) -> Model {
        match Model::try_tiny_random(vocab_size, seed) {
            Ok(m) => m,
            Err(e) => panic!("Model::tiny_random({vocab_size}, {seed}): {e}"),
        }
    }

    /// The fallible form of [`Model::tiny_random`].
    ///
    /// # Errors
    /// [`ModelError::InvalidArgument`] if `vocab_size == 0` or exceeds `u32::MAX`.
    pub fn try_tiny_random(vocab_size: usize, seed: u64) -> Result<Model, ModelError> {
        if vocab_size == 0 || u32::try_from(vocab_size).is_err() {
            return Err(ModelError::InvalidArgument(format!(
                "tiny_random vocabulary size must be in 1..=2^32-1, got {vocab_size}"
            )));
        }
        let (h, layers_n, nh, nkv, hd, ffn) = (32usize, 2usize, 2usize, 1usize, 16usize, 64usize);
        let cfg = DecoderConfig {
            arch: Architecture::Gemma3,
            hidden: h,
            n_layers: layers_n,
            n_heads: nh,
            n_kv_heads: nkv,
            head_dim: hd,
            rms_eps: 1e-6,
            rope_style: RopeStyle::Neox,
            rope_base: 1_000_000.0,
            rope_scale: 1.0,
            rope_base_local: 10_000.0,
            sliding_window: Some(4),
            sliding_window_pattern: 2,
            activation: Activation::GeluTanh,
            embed_scale: Some((h as f64).sqrt()),
            attn_scale: 1.0 / (hd as f64).sqrt(),
            attn_softcap: None,
            final_softcap: None,
            context_length: 4096,
        };
        let mut rng = SplitMix64(seed ^ 0x7265_696e_5f74_696e); // "rein_tin"
                                                                // Uniform weights with variance 1/fan_in keep activations O(1) through the layers.
        fn vals(rng: &mut SplitMix64, n: usize, amp: f32, offset: f32) -> Vec<f32> {
            (0..n).map(|_| rng.uniform() * amp + offset).collect()
        }
        fn lin(rng: &mut SplitMix64, rows: usize, cols: usize) -> Linear {
            let amp = (3.0 / cols as f32).sqrt();
            Linear {
                w: Weights::from_f32(vals(rng, rows * cols, amp, 0.0), rows, cols),
                b: None,
            }
        }
        let r = &mut rng;
        let embed = Arc::new(Weights::from_f32(
            vals(r, vocab_size * h, 0.5, 0.0),
            vocab_size,
            h,
        ));
        let mut layers = Vec::with_capacity(layers_n);
        for _ in 0..layers_n {
            layers.push(Layer {
                attn_norm: vals(r, h, 0.1, 1.0),
                q: lin(r, nh * hd, h),
                k: lin(r, nkv * hd, h),
                v: lin(r, nkv * hd, h),
                o: lin(r, h, nh * hd),
                q_norm: Some(vals(r, hd, 0.1, 1.0)),
                k_norm: Some(vals(r, hd, 0.1, 1.0)),
                post_attn_norm: Some(vals(r, h, 0.1, 1.0)),
                ffn_norm: vals(r, h, 0.1, 1.0),
                gate: lin(r, ffn, h),
                up: lin(r, ffn, h),
                down: lin(r, h, ffn),
                post_ffn_norm: Some(vals(r, h, 0.1, 1.0)),
            });
        }
        let norm = vals(r, h, 0.1, 1.0);
        let global_rope = RopeTable::new(
            hd,
            cfg.rope_base,
            1.0,
            None,
            cfg.rope_style,
            cfg.context_length,
        );
        let local_rope = Some(RopeTable::new(
            hd,
            cfg.rope_base_local,
            1.0,
            None,
            cfg.rope_style,
            cfg.context_length,
        ));
        let decoder = Decoder {
            cfg,
            lm_head: embed.clone(),
            embed: Embedding(embed),
            layers,
            norm,
            vocab_size,
            global_rope,
            local_rope,
            caches: (0..layers_n).map(|_| KvCache::new()).collect(),
        };
        let prompt = PromptInfo {
            chat_template: Some(ChatTemplate::Gemma),
            bos: (vocab_size > 2).then_some(2),
            eos: if vocab_size > 1 { vec![1] } else { Vec::new() },
        };
        Ok(Model { decoder, prompt })
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a fixed, portable generator for reproducible weights.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}
