//! Supported architectures and the per-architecture hyper-parameters read from GGUF metadata.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use candle_core::quantized::gguf_file::Value;

use crate::ModelError;

/// A model architecture, as named by the GGUF key `general.architecture`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Architecture {
    /// `llama`: Llama 2/3, SmolLM, Mistral-style dense models (interleaved rotary, SiLU).
    Llama,
    /// `qwen2`: Qwen 2 / 2.5 (q/k/v biases, NeoX rotary, SiLU).
    Qwen2,
    /// `qwen3`: Qwen 3 dense (per-head q/k RMS norms, NeoX rotary, SiLU).
    Qwen3,
    /// `gemma3`: Gemma 3 text models (GELU, sandwich norms, q/k norms, sliding-window layers).
    Gemma3,
}

impl Architecture {
    /// Every supported architecture.
    pub const ALL: [Architecture; 4] = [
        Architecture::Llama,
        Architecture::Qwen2,
        Architecture::Qwen3,
        Architecture::Gemma3,
    ];

    /// The `general.architecture` string of this architecture.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
            Architecture::Qwen3 => "qwen3",
            Architecture::Gemma3 => "gemma3",
        }
    }

    /// Parses a `general.architecture` string; `None` if unsupported.
    pub fn from_gguf_name(name: &str) -> Option<Architecture> {
        Architecture::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The names of all supported architectures (for error messages).
    pub fn supported_names() -> Vec<&'static str> {
        Architecture::ALL.iter().map(|a| a.name()).collect()
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How rotary embeddings pair the dimensions of a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RopeStyle {
    /// Pairs (2i, 2i+1): GGUF Llama (llama.cpp permutes q/k weights to this layout).
    Interleaved,
    /// Pairs (i, i + d/2): Qwen, Gemma.
    Neox,
}

/// The feed-forward activation applied to the gate projection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activation {
    /// SiLU (Llama, Qwen).
    Silu,
    /// GELU, tanh approximation (Gemma).
    GeluTanh,
}

/// The hyper-parameters of one decoder-only transformer, for every supported architecture.
#[derive(Clone, Debug)]
pub(crate) struct DecoderConfig {
    pub(crate) arch: Architecture,
    pub(crate) hidden: usize,
    pub(crate) n_layers: usize,
    pub(crate) n_heads: usize,
    pub(crate) n_kv_heads: usize,
    pub(crate) head_dim: usize,
    pub(crate) rms_eps: f32,
    pub(crate) rope_style: RopeStyle,
    /// Rotary base of global (full-attention) layers.
    pub(crate) rope_base: f32,
    /// Linear position scaling of global layers (positions are divided by it).
    pub(crate) rope_scale: f32,
    /// Rotary base of sliding-window layers.
    pub(crate) rope_base_local: f32,
    /// Sliding window size of local layers: a query at position p sees keys p-w+1..=p.
    pub(crate) sliding_window: Option<usize>,
    /// Every `sliding_window_pattern`-th layer (1-based) is global; the others are local.
    pub(crate) sliding_window_pattern: usize,
    pub(crate) activation: Activation,
    /// Multiplier of the token embeddings (Gemma: sqrt(hidden)).
    pub(crate) embed_scale: Option<f64>,
    /// Multiplier of q·k.
    pub(crate) attn_scale: f64,
    pub(crate) attn_softcap: Option<f64>,
    pub(crate) final_softcap: Option<f64>,
    pub(crate) context_length: usize,
}

impl DecoderConfig {
    /// Whether layer `i` (0-based) uses the sliding window.
    pub(crate) fn is_local(&self, layer: usize) -> bool {
        self.sliding_window.is_some()
            && self.sliding_window_pattern > 0
            && (layer + 1) % self.sliding_window_pattern != 0
    }

    /// Reads the configuration of `arch` from GGUF metadata.
    pub(crate) fn from_metadata(
        arch: Architecture,
        md: &HashMap<String, Value>,
        path: &Path,
    ) -> Result<DecoderConfig, ModelError> {
        let m = Meta {
            md,
            path,
            prefix: arch.name(),
        };
        if let Some(n) = m.opt_usize("expert_count")? {
            if n > 0 {
                return Err(ModelError::UnsupportedFeature {
                    path: path.to_path_buf(),
                    feature: format!("mixture of experts ({}.expert_count = {n})", arch.name()),
                });
            }
        }
        let hidden = m.usize("embedding_length")?;
        let n_layers = m.usize("block_count")?;
        let n_heads = m.usize("attention.head_count")?;
        let n_kv_heads = m.opt_usize("attention.head_count_kv")?.unwrap_or(n_heads);
        if n_heads == 0 || n_kv_heads == 0 || n_heads % n_kv_heads != 0 {
            return Err(m.bad(
                "attention.head_count_kv",
                format!("{n_kv_heads} kv heads do not divide {n_heads} heads"),
            ));
        }
        let head_dim = match m.opt_usize("attention.key_length")? {
            Some(d) => d,
            None if hidden % n_heads == 0 => hidden / n_heads,
            None => {
                return Err(m.bad(
                    "attention.key_length",
                    format!("missing and {hidden} is not divisible by {n_heads} heads"),
                ))
            }
        };
        if head_dim == 0 || head_dim % 2 != 0 {
            return Err(m.bad(
                "attention.key_length",
                format!("head size {head_dim} is not even"),
            ));
        }
        if let Some(v) = m.opt_usize("attention.value_length")? {
            if v != head_dim {
                return Err(ModelError::UnsupportedFeature {
                    path: path.to_path_buf(),
                    feature: format!("value head size {v} differs from key head size {head_dim}"),
                });
            }
        }
        if let Some(r) = m.opt_usize("rope.dimension_count")? {
            if r != head_dim {
                return Err(ModelError::UnsupportedFeature {
                    path: path.to_path_buf(),
                    feature: format!("partial rotary ({r} of {head_dim} dimensions)"),
                });
            }
        }
        let rms_eps = m.f32("attention.layer_norm_rms_epsilon")?;
        let context_length = m.usize("context_length")?;
        let rope_base = m.opt_f32("rope.freq_base")?.unwrap_or(10_000.0);
        let rope_scale = match m.opt_string("rope.scaling.type")? {
            Some("linear") => m.opt_f32("rope.scaling.factor")?.unwrap_or(1.0),
            Some("none") | None => 1.0,
            Some(other) => {
                return Err(ModelError::UnsupportedFeature {
                    path: path.to_path_buf(),
                    feature: format!("rope scaling type {other:?}"),
                })
            }
        };
        let attn_softcap = m.opt_f32("attn_logit_softcapping")?.map(f64::from);
        let final_softcap = m.opt_f32("final_logit_softcapping")?.map(f64::from);
        // llama.cpp's key for a non-default q·k multiplier; otherwise 1/sqrt(head_dim)
        // (for Gemma 3 this equals 1/sqrt(query_pre_attn_scalar), which is head_dim for
        // all sizes except 27B, whose GGUF carries the key).
        let attn_scale = m
            .opt_f32("attention.scale")?
            .map(f64::from)
            .unwrap_or(1.0 / (head_dim as f64).sqrt());

        let mut cfg = DecoderConfig {
            arch,
            hidden,
            n_layers,
            n_heads,
            n_kv_heads,
            head_dim,
            rms_eps,
            rope_style: RopeStyle::Neox,
            rope_base,
            rope_scale,
            rope_base_local: rope_base,
            sliding_window: None,
            sliding_window_pattern: 0,
            activation: Activation::Silu,
            embed_scale: None,
            attn_scale,
            attn_softcap,
            final_softcap,
            context_length,
        };
        match arch {
            Architecture::Llama => cfg.rope_style = RopeStyle::Interleaved,
            Architecture::Qwen2 | Architecture::Qwen3 => {}
            Architecture::Gemma3 => {
                cfg.activation = Activation::GeluTanh;
                cfg.embed_scale = Some((hidden as f64).sqrt());
                cfg.sliding_window = Some(m.usize("attention.sliding_window")?);
                cfg.sliding_window_pattern = m
                    .opt_usize("attention.sliding_window_pattern")?
                    .unwrap_or(6);
                cfg.rope_base_local = m.opt_f32("rope.local_freq_base")?.unwrap_or(10_000.0);
            }
        }
        Ok(cfg)
    }
}

/// Typed access to `{arch}.*` metadata with errors naming the file and key.
struct Meta<'a> {
    md: &'a HashMap<String, Value>,
    path: &'a Path,
    prefix: &'a str,
}

impl Meta<'_> {
    fn key(&self, k: &str) -> String {
        format!("{}.{k}", self.prefix)
    }

    fn bad(&self, k: &str, reason: String) -> ModelError {
        ModelError::Metadata {
            path: self.path.to_path_buf(),
            key: self.key(k),
            reason,
        }
    }

    fn opt_usize(&self, k: &str) -> Result<Option<usize>, ModelError> {
        let Some(v) = self.md.get(&self.key(k)) else {
            return Ok(None);
        };
        value_to_u64(v)
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| self.bad(k, format!("expected a non-negative integer, found {v:?}")))
    }

    fn usize(&self, k: &str) -> Result<usize, ModelError> {
        self.opt_usize(k)?
            .ok_or_else(|| self.bad(k, "missing".to_string()))
    }

    fn opt_f32(&self, k: &str) -> Result<Option<f32>, ModelError> {
        let Some(v) = self.md.get(&self.key(k)) else {
            return Ok(None);
        };
        match v {
            Value::F32(x) => Ok(Some(*x)),
            Value::F64(x) => Ok(Some(*x as f32)),
            other => value_to_u64(other)
                .map(|n| Some(n as f32))
                .ok_or_else(|| self.bad(k, format!("expected a number, found {other:?}"))),
        }
    }

    fn f32(&self, k: &str) -> Result<f32, ModelError> {
        self.opt_f32(k)?
            .ok_or_else(|| self.bad(k, "missing".to_string()))
    }

    fn opt_string(&self, k: &str) -> Result<Option<&str>, ModelError> {
        match self.md.get(&self.key(k)) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.bad(k, format!("expected a string, found {other:?}"))),
        }
    }
}

/// Any non-negative integer metadata value as `u64`.
pub(crate) fn value_to_u64(v: &Value) -> Option<u64> {
    match *v {
        Value::U8(x) => Some(u64::from(x)),
        Value::U16(x) => Some(u64::from(x)),
        Value::U32(x) => Some(u64::from(x)),
        Value::U64(x) => Some(x),
        Value::I8(x) => u64::try_from(x).ok(),
        Value::I16(x) => u64::try_from(x).ok(),
        Value::I32(x) => u64::try_from(x).ok(),
        Value::I64(x) => u64::try_from(x).ok(),
        _ => None,
    }
}
