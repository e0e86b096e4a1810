//! Reading a GGUF file into a [`Decoder`], with errors that name the file, key or tensor.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::GgmlDType;
use candle_core::Device;

use crate::arch::{value_to_u64, Architecture, DecoderConfig};
use crate::decoder::{Decoder, Embedding, Layer, Linear};
use crate::kv_cache::KvCache;
use crate::rope::RopeTable;
use crate::weights::Weights;
use crate::{ChatTemplate, LoadConfig, ModelError};

/// What the tokenizer metadata says about prompts and stopping.
#[derive(Debug, Clone, Default)]
pub(crate) struct PromptInfo {
    pub(crate) chat_template: Option<ChatTemplate>,
    pub(crate) bos: Option<u32>,
    pub(crate) eos: Vec<u32>,
}

struct Loader<'a> {
    path: &'a Path,
    content: Content,
    reader: BufReader<File>,
    dequantize: bool,
}

impl Loader<'_> {
    fn path(&self) -> PathBuf {
        self.path.to_path_buf()
    }

    fn has(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// The type and raw bytes of tensor `name`, checking its shape (outermost dimension
    /// first, e.g. `[out, in]` for a linear weight).
    fn raw(&mut self, name: &str, shape: &[usize]) -> Result<(GgmlDType, Vec<u8>), ModelError> {
        let Some(info) = self.content.tensor_infos.get(name) else {
            return Err(ModelError::Tensor {
                path: self.path(),
                name: name.to_string(),
                reason: "missing".to_string(),
            });
        };
        if info.shape.dims() != shape {
            return Err(ModelError::Tensor {
                path: self.path(),
                name: name.to_string(),
                reason: format!("expected shape {shape:?}, found {:?}", info.shape.dims()),
            });
        }
        let dtype = info.ggml_dtype;
        let n: usize = shape.iter().product();
        let size = n / dtype.block_size() * dtype.type_size();
        let start = self.content.tensor_data_offset + info.offset;
        let mut raw = vec![0u8; size];
        self.reader
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.reader.read_exact(&mut raw))
            .map_err(|e| ModelError::InvalidGguf {
                path: self.path(),
                reason: format!("tensor {name:?}: {size} bytes at offset {start}: {e}"),
            })?;
        Ok((dtype, raw))
    }

    /// Reads the `rows × cols` matrix `name` into the kernels' layout.
    fn weights(&mut self, name: &str, rows: usize, cols: usize) -> Result<Weights, ModelError> {
        let (dtype, raw) = self.raw(name, &[rows, cols])?;
        Weights::from_ggml(dtype, &raw, rows, cols, self.dequantize).map_err(|e| {
            ModelError::Tensor {
                path: self.path(),
                name: name.to_string(),
                reason: e.0,
            }
        })
    }

    /// Reads the vector `name` of `n` values as f32.
    fn dense(&mut self, name: &str, n: usize) -> Result<Vec<f32>, ModelError> {
        let (dtype, raw) = self.raw(name, &[n])?;
        let mut out = vec![0f32; n];
        Weights::from_ggml(dtype, &raw, 1, n, true)
            .map(|w| w.row_to_f32(0, &mut out))
            .map_err(|e| ModelError::Tensor {
                path: self.path(),
                name: name.to_string(),
                reason: e.0,
            })?;
        Ok(out)
    }

    fn opt_dense(&mut self, name: &str, n: usize) -> Result<Option<Vec<f32>>, ModelError> {
        if self.has(name) {
            self.dense(name, n).map(Some)
        } else {
            Ok(None)
        }
    }

    fn linear(&mut self, prefix: &str, out: usize, inp: usize) -> Result<Linear, ModelError> {
        let w = self.weights(&format!("{prefix}.weight"), out, inp)?;
        let b = self.opt_dense(&format!("{prefix}.bias"), out)?;
        Ok(Linear { w, b })
    }
}

/// Loads a model and its prompt metadata from a GGUF file.
pub(crate) fn load(
    path: &Path,
    device: &Device,
    config: &LoadConfig,
) -> Result<(Decoder, PromptInfo), ModelError> {
    if !device.is_cpu() {
        return Err(ModelError::UnsupportedFeature {
            path: path.to_path_buf(),
            feature: "running on a device other than the CPU".to_string(),
        });
    }
    let file = File::open(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = BufReader::new(file);
    let content = Content::read(&mut reader).map_err(|e| ModelError::InvalidGguf {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let arch_name = match content.metadata.get("general.architecture") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(ModelError::Metadata {
                path: path.to_path_buf(),
                key: "general.architecture".to_string(),
                reason: format!("expected a string, found {other:?}"),
            })
        }
        None => String::new(),
    };
    let arch = Architecture::from_gguf_name(&arch_name).ok_or_else(|| {
        ModelError::UnsupportedArchitecture {
            path: path.to_path_buf(),
            found: arch_name.clone(),
        }
    })?;
    let cfg = DecoderConfig::from_metadata(arch, &content.metadata, path)?;
    let prompt = prompt_info(&content);
    let dequantize = config.dequantize;
    let mut l = Loader {
        path,
        content,
        reader,
        dequantize,
    };

    let (h, nh, nkv, hd) = (cfg.hidden, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim);
    let embd_shape = l
        .content
        .tensor_infos
        .get("token_embd.weight")
        .map(|i| i.shape.dims().to_vec())
        .unwrap_or_default();
    let vocab = match embd_shape.as_slice() {
        [v, hh] if *hh == h && *v > 0 => *v,
        _ => {
            return Err(ModelError::Tensor {
                path: l.path(),
                name: "token_embd.weight".to_string(),
                reason: format!("expected shape [vocab, {h}], found {embd_shape:?}"),
            })
        }
    };
    let embed = Arc::new(l.weights("token_embd.weight", vocab, h)?);
    let lm_head = if l.has("output.weight") {
        Arc::new(l.weights("output.weight", vocab, h)?)
    } else {
        embed.clone() // tied: one table for lookups and the output projection
    };
    let embed = Embedding(embed);
    let norm = l.dense("output_norm.weight", h)?;
    let ffn = l
        .content
        .tensor_infos
        .get("blk.0.ffn_up.weight")
        .and_then(|i| i.shape.dims().first().copied())
        .unwrap_or(0);

    let mut layers = Vec::with_capacity(cfg.n_layers);
    for i in 0..cfg.n_layers {
        let p = format!("blk.{i}");
        layers.push(Layer {
            attn_norm: l.dense(&format!("{p}.attn_norm.weight"), h)?,
            q: l.linear(&format!("{p}.attn_q"), nh * hd, h)?,
            k: l.linear(&format!("{p}.attn_k"), nkv * hd, h)?,
            v: l.linear(&format!("{p}.attn_v"), nkv * hd, h)?,
            o: l.linear(&format!("{p}.attn_output"), h, nh * hd)?,
            q_norm: l.opt_dense(&format!("{p}.attn_q_norm.weight"), hd)?,
            k_norm: l.opt_dense(&format!("{p}.attn_k_norm.weight"), hd)?,
            post_attn_norm: l.opt_dense(&format!("{p}.post_attention_norm.weight"), h)?,
            ffn_norm: l.dense(&format!("{p}.ffn_norm.weight"), h)?,
            gate: l.linear(&format!("{p}.ffn_gate"), ffn, h)?,
            up: l.linear(&format!("{p}.ffn_up"), ffn, h)?,
            down: l.linear(&format!("{p}.ffn_down"), h, ffn)?,
            post_ffn_norm: l.opt_dense(&format!("{p}.post_ffw_norm.weight"), h)?,
        });
    }
    if arch == Architecture::Gemma3 || arch == Architecture::Qwen3 {
        // These architectures always have q/k norms; a file without them is broken.
        if layers
            .iter()
            .any(|x| x.q_norm.is_none() || x.k_norm.is_none())
        {
            return Err(ModelError::Tensor {
                path: l.path(),
                name: "blk.N.attn_q_norm.weight".to_string(),
                reason: format!("missing in a {arch} model"),
            });
        }
    }

    // Llama 3.1-style per-frequency rotary factors.
    let freq_factors = l.opt_dense("rope_freqs.weight", hd / 2)?;
    let max_pos = cfg.context_length.max(1);
    let global_rope = RopeTable::new(
        hd,
        cfg.rope_base,
        cfg.rope_scale,
        freq_factors.as_deref(),
        cfg.rope_style,
        max_pos,
    );
    let local_rope = if cfg.sliding_window.is_some() {
        Some(RopeTable::new(
            hd,
            cfg.rope_base_local,
            1.0,
            None,
            cfg.rope_style,
            max_pos,
        ))
    } else {
        None
    };
    let caches = (0..cfg.n_layers).map(|_| KvCache::new()).collect();
    let decoder = Decoder {
        cfg,
        embed,
        layers,
        norm,
        lm_head,
        vocab_size: vocab,
        global_rope,
        local_rope,
        caches,
    };
    Ok((decoder, prompt))
}

/// Chat format, BOS and stop tokens from the tokenizer metadata.
fn prompt_info(content: &Content) -> PromptInfo {
    let md = &content.metadata;
    let get_u32 = |k: &str| {
        md.get(k)
            .and_then(value_to_u64)
            .and_then(|v| u32::try_from(v).ok())
    };
    let tokens: Vec<&str> = match md.get("tokenizer.ggml.tokens") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => s.as_str(),
                _ => "",
            })
            .collect(),
        _ => Vec::new(),
    };
    let token_id = |s: &str| {
        tokens
            .iter()
            .position(|t| *t == s)
            .and_then(|i| u32::try_from(i).ok())
    };

    let chat_template = match md.get("tokenizer.chat_template") {
        Some(Value::String(t)) => ChatTemplate::detect(t),
        _ => None,
    }
    .or_else(|| {
        // No template in the file (e.g. some Gemma 3 GGUFs): fall back to the turn markers
        // present in the vocabulary.
        [ChatTemplate::ChatMl, ChatTemplate::Gemma]
            .into_iter()
            .find(|c| token_id(c.start_of_turn()).is_some() && token_id(c.end_of_turn()).is_some())
    });

    let model = match md.get("tokenizer.ggml.model") {
        Some(Value::String(s)) => s.as_str(),
        _ => "",
    };
    // llama.cpp's default: SentencePiece ("llama") vocabularies add BOS, BPE ("gpt2") do not.
    let add_bos = match md.get("tokenizer.ggml.add_bos_token") {
        Some(Value::Bool(b)) => *b,
        _ => model == "llama",
    };
    let bos = if add_bos {
        get_u32("tokenizer.ggml.bos_token_id")
    } else {
        None
    };
    let mut eos = Vec::new();
    for id in [
        get_u32("tokenizer.ggml.eos_token_id"),
        get_u32("tokenizer.ggml.eot_token_id"),
    ]
    .into_iter()
    .flatten()
    .chain(chat_template.and_then(|c| token_id(c.end_of_turn())))
    {
        if !eos.contains(&id) {
            eos.push(id);
        }
    }
    PromptInfo {
        chat_template,
        bos,
        eos,
    }
}
