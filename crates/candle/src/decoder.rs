//! One decoder-only transformer forward pass for every supported architecture.
//!
//! The architectures differ only in a few switches of [`DecoderConfig`] and in which
//! tensors exist (q/k/v biases for Qwen 2, q/k norms for Qwen 3 and Gemma 3, the
//! post-attention and post-feed-forward norms of Gemma 3).
//!
//! Layout conventions: activations are `(seq, hidden)` (batch size 1); per-head tensors
//! are `(heads, seq, head_dim)`; the KV cache of a layer is `(kv_heads, positions, head_dim)`.

use std::sync::Arc;

use candle_core::{DType, Device, Tensor};

use crate::arch::{Activation, DecoderConfig};
use crate::kv_cache::KvCache;
use crate::matmul::{self, MatMulOp};
use crate::rope::RopeTable;
use crate::weights::Weights;

/// A linear layer `x · wᵀ (+ b)`; the weight keeps its compact layout (see `weights.rs`).
#[derive(Debug, Clone)]
pub(crate) struct Linear {
    pub(crate) w: Weights,
    pub(crate) b: Option<Tensor>,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = x.apply_op1_no_bwd(&MatMulOp(&self.w))?;
        match &self.b {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

/// Token embeddings: rows of a weight matrix, expanded to f32 on lookup. Shared with the
/// output projection when the model ties them.
#[derive(Debug, Clone)]
pub(crate) struct Embedding(pub(crate) Arc<Weights>);

impl Embedding {
    /// `(ids.len(), hidden)` rows of the table.
    fn lookup(&self, ids: &[u32], device: &Device) -> candle_core::Result<Tensor> {
        let w = &self.0;
        let mut out = vec![0f32; ids.len() * w.cols];
        for (o, &id) in out.chunks_exact_mut(w.cols).zip(ids) {
            w.row_to_f32(id as usize, o);
        }
        Tensor::from_vec(out, (ids.len(), w.cols), device)
    }
}

/// The final hidden state of the last fed position (after the output norm), from which
/// logits are computed.
#[derive(Debug, Clone)]
pub struct Hidden(pub(crate) Vec<f32>);

/// The weights of one transformer block.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub(crate) attn_norm: Tensor,
    pub(crate) q: Linear,
    pub(crate) k: Linear,
    pub(crate) v: Linear,
    pub(crate) o: Linear,
    pub(crate) q_norm: Option<Tensor>,
    pub(crate) k_norm: Option<Tensor>,
    pub(crate) post_attn_norm: Option<Tensor>,
    pub(crate) ffn_norm: Tensor,
    pub(crate) gate: Linear,
    pub(crate) up: Linear,
    pub(crate) down: Linear,
    pub(crate) post_ffn_norm: Option<Tensor>,
}

/// A loaded transformer with its KV cache.
#[derive(Debug)]
pub(crate) struct Decoder {
    pub(crate) cfg: DecoderConfig,
    pub(crate) embed: Embedding,
    pub(crate) layers: Vec<Layer>,
    pub(crate) norm: Tensor,
    pub(crate) lm_head: Arc<Weights>,
    pub(crate) vocab_size: usize,
    /// Rotary table of global layers (all layers when there is no sliding window).
    pub(crate) global_rope: RopeTable,
    /// Rotary table of sliding-window layers, if any.
    pub(crate) local_rope: Option<RopeTable>,
    pub(crate) caches: Vec<KvCache>,
    pub(crate) device: Device,
}

impl Decoder {
    /// Number of cached positions.
    pub(crate) fn cache_len(&self) -> usize {
        self.caches.first().map_or(0, KvCache::len)
    }

    /// Bytes held by the weight matrices (a tied embedding counts once).
    pub(crate) fn weights_bytes(&self) -> usize {
        let l: usize = self
            .layers
            .iter()
            .map(|l| {
                [&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down]
                    .iter()
                    .map(|x| x.w.memory_bytes())
                    .sum::<usize>()
            })
            .sum();
        let head = if Arc::ptr_eq(&self.lm_head, &self.embed.0) {
            0
        } else {
            self.lm_head.memory_bytes()
        };
        l + self.embed.0.memory_bytes() + head
    }

    pub(crate) fn clear_cache(&mut self) {
        self.caches.iter_mut().for_each(KvCache::clear);
    }

    pub(crate) fn truncate_cache(&mut self, len: usize) {
        self.caches.iter_mut().for_each(|c| c.truncate(len));
    }

    fn rms(&self, x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::rms_norm(&x.contiguous()?, w, self.cfg.rms_eps)
    }

    /// Runs `tokens` at positions `pos..pos + tokens.len()` (the cache must hold exactly
    /// `0..pos`) and returns the normed hidden state of the last position.
    pub(crate) fn forward_hidden(
        &mut self,
        tokens: &[u32],
        pos: usize,
    ) -> candle_core::Result<Hidden> {
        let seq = tokens.len();
        let mut x = self.embed.lookup(tokens, &self.device)?;
        if let Some(s) = self.cfg.embed_scale {
            x = (x * s)?;
        }
        for i in 0..self.layers.len() {
            x = self.block(i, &x, pos)?;
        }
        let last = x.narrow(0, seq - 1, 1)?;
        let last = self.rms(&last, &self.norm)?;
        Ok(Hidden(last.flatten_all()?.to_vec1::<f32>()?))
    }

    /// All logits of a hidden state.
    pub(crate) fn logits(&self, h: &Hidden) -> Vec<f32> {
        let mut logits = matmul::matmul(&self.lm_head, &h.0, 1);
        self.softcap(&mut logits);
        logits
    }

    /// The logits of tokens `ids` only (each `< vocab_size`).
    pub(crate) fn logits_of(&self, h: &Hidden, ids: &[u32], out: &mut [f32]) {
        matmul::matvec_rows(&self.lm_head, &h.0, ids, out);
        self.softcap(out);
    }

    fn softcap(&self, logits: &mut [f32]) {
        if let Some(cap) = self.cfg.final_softcap {
            let cap = cap as f32;
            logits.iter_mut().for_each(|l| *l = (*l / cap).tanh() * cap);
        }
    }

    fn block(&mut self, i: usize, x: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        let layer = &self.layers[i];
        let h = self.rms(x, &layer.attn_norm)?;
        let mut a = self.attention(i, &h, pos)?;
        let layer = &self.layers[i];
        if let Some(w) = &layer.post_attn_norm {
            a = self.rms(&a, w)?;
        }
        let x = (x + a)?;
        let h = self.rms(&x, &layer.ffn_norm)?;
        let g = layer.gate.forward(&h)?;
        let u = layer.up.forward(&h)?;
        let g = match self.cfg.activation {
            Activation::Silu => candle_nn::ops::silu(&g)?,
            // candle's `gelu` is the tanh approximation (`gelu_erf` is the exact one).
            Activation::GeluTanh => g.gelu()?,
        };
        let mut f = layer.down.forward(&(g * u)?)?;
        if let Some(w) = &layer.post_ffn_norm {
            f = self.rms(&f, w)?;
        }
        x + f
    }

    fn attention(&mut self, i: usize, x: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        let cfg = &self.cfg;
        let (nh, nkv, hd) = (cfg.n_heads, cfg.n_kv_heads, cfg.head_dim);
        let layer = &self.layers[i];
        let seq = x.dim(0)?;
        let heads = |t: Tensor, n: usize| -> candle_core::Result<Tensor> {
            t.reshape((seq, n, hd))?.transpose(0, 1)?.contiguous()
        };
        let mut q = heads(layer.q.forward(x)?, nh)?;
        let mut k = heads(layer.k.forward(x)?, nkv)?;
        let v = heads(layer.v.forward(x)?, nkv)?;
        if let Some(w) = &layer.q_norm {
            q = candle_nn::ops::rms_norm(&q, w, cfg.rms_eps)?;
        }
        if let Some(w) = &layer.k_norm {
            k = candle_nn::ops::rms_norm(&k, w, cfg.rms_eps)?;
        }
        let window = if cfg.is_local(i) {
            cfg.sliding_window
        } else {
            None
        };
        let rope = match (&mut self.local_rope, window) {
            (Some(local), Some(_)) => local,
            _ => &mut self.global_rope,
        };
        let q = rope.apply(&q.unsqueeze(0)?, pos)?.squeeze(0)?;
        let k = rope.apply(&k.unsqueeze(0)?, pos)?.squeeze(0)?;

        let cache = &mut self.caches[i];
        cache.append(&k, &v)?;
        let end = pos + seq;
        // The first query (position `pos`) sees keys `pos - w + 1 ..= pos`; later queries see
        // fewer old keys, which the mask hides.
        let start = window.map_or(0, |w| (pos + 1).saturating_sub(w));
        let (kc, vc) = cache.range(start)?;
        let (kc, vc) = (kc.contiguous()?, vc.contiguous()?);
        let keys = end - start;
        let rep = nh / nkv;

        // Query heads h = g * rep + r share kv head g: batch over kv heads.
        let q = q.reshape((nkv, rep * seq, hd))?;
        let mut att = (q.matmul(&kc.t()?)? * cfg.attn_scale)?;
        if let Some(cap) = cfg.attn_softcap {
            att = ((att / cap)?.tanh()? * cap)?;
        }
        if seq > 1 {
            let mask = attention_mask(pos, seq, start, window, &self.device)?;
            att = att
                .reshape((nkv, rep, seq, keys))?
                .broadcast_add(&mask)?
                .reshape((nkv, rep * seq, keys))?;
        }
        let att = candle_nn::ops::softmax_last_dim(&att)?;
        let y = att.matmul(&vc)?;
        let y = y
            .reshape((nh, seq, hd))?
            .transpose(0, 1)?
            .reshape((seq, nh * hd))?;
        self.layers[i].o.forward(&y)
    }
}

/// Additive mask `(seq, keys)` for queries at `pos..pos+seq` over keys at `start..pos+seq`:
/// 0 where the key is visible (causal, and within `window` if any), -inf elsewhere.
pub(crate) fn attention_mask(
    pos: usize,
    seq: usize,
    start: usize,
    window: Option<usize>,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let keys = pos + seq - start;
    let mut m = Vec::with_capacity(seq * keys);
    for qi in 0..seq {
        let qp = pos + qi;
        for kj in 0..keys {
            let kp = start + kj;
            let visible = kp <= qp && window.is_none_or(|w| qp - kp < w);
            m.push(if visible { 0f32 } else { f32::NEG_INFINITY });
        }
    }
    Tensor::from_vec(m, (seq, keys), device)?.to_dtype(DType::F32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visible(pos: usize, seq: usize, start: usize, window: Option<usize>) -> Vec<Vec<bool>> {
        let m = attention_mask(pos, seq, start, window, &Device::Cpu).unwrap();
        m.to_vec2::<f32>()
            .unwrap()
            .iter()
            .map(|r| r.iter().map(|&x| x == 0.0).collect())
            .collect()
    }

    #[test]
    fn mask_chunk_after_cache_sees_all_cached_and_causal_within() {
        // Queries at 3, 4 over keys 0..5.
        let v = visible(3, 2, 0, None);
        assert_eq!(v[0], [true, true, true, true, false]);
        assert_eq!(v[1], [true, true, true, true, true]);
    }

    #[test]
    fn mask_sliding_window_keeps_the_last_w_positions() {
        // Window 3: query at p sees p-2..=p. Queries at 4, 5 over keys 2..6.
        let v = visible(4, 2, 2, Some(3));
        assert_eq!(v[0], [true, true, true, false]);
        assert_eq!(v[1], [false, true, true, true]);
    }
}
