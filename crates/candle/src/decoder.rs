//! One decoder-only transformer forward pass for every supported architecture.
//!
//! The architectures differ only in a few switches of [`DecoderConfig`] and in which
//! tensors exist (q/k/v biases for Qwen 2, q/k norms for Qwen 3 and Gemma 3, the
//! post-attention and post-feed-forward norms of Gemma 3).
//!
//! Plain f32 slices throughout: activations are `(seq, width)` row-major (batch size 1), a
//! row of per-head values is `heads` consecutive runs of `head_dim`; the KV cache of a
//! layer holds one such row of keys and one of values per position. The matrix products
//! are `matmul.rs`'s kernels; everything else is a handful of small loops, so one decoding
//! step allocates a few buffers and never waits on a thread pool except inside the larger
//! matrix products.

use std::sync::Arc;

use rayon::prelude::*;

use crate::arch::{Activation, DecoderConfig};
use crate::kv_cache::KvCache;
use crate::matmul;
use crate::rope::RopeTable;
use crate::weights::Weights;

/// Attention of this many query-key pairs and more (times the head size) is split across
/// threads.
const PARALLEL_ATTENTION_FROM: usize = 1 << 20;

/// A linear layer `x · wᵀ (+ b)`; the weight keeps its compact layout (see `weights.rs`).
#[derive(Debug, Clone)]
pub(crate) struct Linear {
    pub(crate) w: Weights,
    pub(crate) b: Option<Vec<f32>>,
}

impl Linear {
    /// `seq` rows of `x` through the layer.
    fn forward(&self, x: &[f32], seq: usize) -> Vec<f32> {
        let mut y = matmul::matmul(&self.w, x, seq);
        if let Some(b) = &self.b {
            for row in y.chunks_exact_mut(b.len()) {
                row.iter_mut().zip(b).for_each(|(y, b)| *y += b);
            }
        }
        y
    }
}

/// Token embeddings: rows of a weight matrix, expanded to f32 on lookup. Shared with the
/// output projection when the model ties them.
#[derive(Debug, Clone)]
pub(crate) struct Embedding(pub(crate) Arc<Weights>);

/// The final hidden state of the last fed position (after the output norm), from which
/// logits are computed.
#[derive(Debug, Clone)]
pub struct Hidden(pub(crate) Vec<f32>);

/// The weights of one transformer block.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub(crate) attn_norm: Vec<f32>,
    pub(crate) q: Linear,
    pub(crate) k: Linear,
    pub(crate) v: Linear,
    pub(crate) o: Linear,
    pub(crate) q_norm: Option<Vec<f32>>,
    pub(crate) k_norm: Option<Vec<f32>>,
    pub(crate) post_attn_norm: Option<Vec<f32>>,
    pub(crate) ffn_norm: Vec<f32>,
    pub(crate) gate: Linear,
    pub(crate) up: Linear,
    pub(crate) down: Linear,
    pub(crate) post_ffn_norm: Option<Vec<f32>>,
}

/// A loaded transformer with its KV cache.
#[derive(Debug)]
pub(crate) struct Decoder {
    pub(crate) cfg: DecoderConfig,
    pub(crate) embed: Embedding,
    pub(crate) layers: Vec<Layer>,
    pub(crate) norm: Vec<f32>,
    pub(crate) lm_head: Arc<Weights>,
    pub(crate) vocab_size: usize,
    /// Rotary table of global layers (all layers when there is no sliding window).
    pub(crate) global_rope: RopeTable,
    /// Rotary table of sliding-window layers, if any.
    pub(crate) local_rope: Option<RopeTable>,
    pub(crate) caches: Vec<KvCache>,
}

/// RMS norm of each `w.len()`-wide row of `x`, in place: `x / sqrt(mean(x²) + eps) · w`.
fn rms_norm(x: &mut [f32], w: &[f32], eps: f32) {
    for row in x.chunks_exact_mut(w.len()) {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / row.len() as f32;
        let r = 1.0 / (ms + eps).sqrt();
        row.iter_mut().zip(w).for_each(|(v, w)| *v = *v * r * w);
    }
}

/// `x += y`.
fn add(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
}

/// The first key position that query position `p` attends to.
pub(crate) fn first_key(p: usize, window: Option<usize>) -> usize {
    window.map_or(0, |w| (p + 1).saturating_sub(w))
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

    /// Runs `tokens` (each `< vocab_size`) at positions `pos..pos + tokens.len()` (the cache
    /// must hold exactly `0..pos`) and returns the normed hidden state of the last position.
    pub(crate) fn forward_hidden(&mut self, tokens: &[u32], pos: usize) -> Hidden {
        let seq = tokens.len();
        let h = self.cfg.hidden;
        let mut x = vec![0f32; seq * h];
        for (row, &t) in x.chunks_exact_mut(h).zip(tokens) {
            self.embed.0.row_to_f32(t as usize, row);
        }
        if let Some(s) = self.cfg.embed_scale {
            let s = s as f32;
            x.iter_mut().for_each(|v| *v *= s);
        }
        for i in 0..self.layers.len() {
            self.block(i, &mut x, seq, pos);
        }
        let mut last = x[(seq - 1) * h..].to_vec();
        rms_norm(&mut last, &self.norm, self.cfg.rms_eps);
        Hidden(last)
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

    fn block(&mut self, i: usize, x: &mut [f32], seq: usize, pos: usize) {
        let eps = self.cfg.rms_eps;
        let mut h = x.to_vec();
        rms_norm(&mut h, &self.layers[i].attn_norm, eps);
        let mut a = self.attention(i, &h, seq, pos);
        let layer = &self.layers[i];
        if let Some(w) = &layer.post_attn_norm {
            rms_norm(&mut a, w, eps);
        }
        add(x, &a);

        let mut h = x.to_vec();
        rms_norm(&mut h, &layer.ffn_norm, eps);
        let mut g = layer.gate.forward(&h, seq);
        let u = layer.up.forward(&h, seq);
        match self.cfg.activation {
            Activation::Silu => g
                .iter_mut()
                .zip(&u)
                .for_each(|(g, u)| *g = *g / (1.0 + (-*g).exp()) * u),
            // The tanh approximation, as Gemma's reference implementation uses.
            Activation::GeluTanh => g.iter_mut().zip(&u).for_each(|(g, u)| {
                let v = *g;
                let inner = 0.797_884_6 * (v + 0.044_715 * v * v * v);
                *g = 0.5 * v * (1.0 + inner.tanh()) * u;
            }),
        }
        let mut f = layer.down.forward(&g, seq);
        if let Some(w) = &layer.post_ffn_norm {
            rms_norm(&mut f, w, eps);
        }
        add(x, &f);
    }

    fn attention(&mut self, i: usize, x: &[f32], seq: usize, pos: usize) -> Vec<f32> {
        let cfg = &self.cfg;
        let (nh, nkv, hd) = (cfg.n_heads, cfg.n_kv_heads, cfg.head_dim);
        let layer = &self.layers[i];
        let mut q = layer.q.forward(x, seq);
        let mut k = layer.k.forward(x, seq);
        let v = layer.v.forward(x, seq);
        if let Some(w) = &layer.q_norm {
            rms_norm(&mut q, w, cfg.rms_eps);
        }
        if let Some(w) = &layer.k_norm {
            rms_norm(&mut k, w, cfg.rms_eps);
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
        rope.apply(&mut q, seq, nh, pos);
        rope.apply(&mut k, seq, nkv, pos);

        let cache = &mut self.caches[i];
        cache.append(&k, &v, nkv * hd);
        let (keys, values) = (cache.keys(), cache.values());
        let (scale, softcap) = (cfg.attn_scale as f32, cfg.attn_softcap.map(|c| c as f32));
        let rep = nh / nkv;
        // Query `s`, head `qh` attends to positions first_key(p)..=p of kv head qh / rep.
        let one = |s: usize, qh: usize, out: &mut [f32]| {
            let p = pos + s;
            let g = qh / rep;
            let qv = &q[(s * nh + qh) * hd..(s * nh + qh + 1) * hd];
            let first = first_key(p, window);
            let mut scores: Vec<f32> = (first..=p)
                .map(|kp| {
                    let kv = &keys[(kp * nkv + g) * hd..(kp * nkv + g + 1) * hd];
                    let sc = matmul::dot(qv, kv) * scale;
                    match softcap {
                        Some(c) => (sc / c).tanh() * c,
                        None => sc,
                    }
                })
                .collect();
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for sc in &mut scores {
                *sc = (*sc - max).exp();
                sum += *sc;
            }
            out.iter_mut().for_each(|o| *o = 0.0);
            for (kp, &w) in (first..=p).zip(&scores) {
                let vv = &values[(kp * nkv + g) * hd..(kp * nkv + g + 1) * hd];
                matmul::axpy(w / sum, vv, out);
            }
        };
        let mut y = vec![0f32; seq * nh * hd];
        let work = seq * nh * hd * (pos + seq);
        if work >= PARALLEL_ATTENTION_FROM {
            y.par_chunks_mut(hd)
                .enumerate()
                .for_each(|(j, out)| one(j / nh, j % nh, out));
        } else {
            for (j, out) in y.chunks_exact_mut(hd).enumerate() {
                one(j / nh, j % nh, out);
            }
        }
        self.layers[i].o.forward(&y, seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_keeps_the_last_w_positions() {
        assert_eq!(first_key(0, None), 0);
        assert_eq!(first_key(9, None), 0);
        // Window 3: the query at 4 sees 2, 3, 4.
        assert_eq!(first_key(4, Some(3)), 2);
        assert_eq!(first_key(1, Some(3)), 0);
    }

    #[test]
    fn rms_norm_of_a_row() {
        let mut x = [3.0f32, 4.0, 3.0, 4.0];
        rms_norm(&mut x, &[1.0, 2.0], 0.0);
        // mean of squares 12.5 per row.
        let r = 1.0 / 12.5f32.sqrt();
        assert_eq!(x, [3.0 * r, 8.0 * r, 3.0 * r, 8.0 * r]);
    }
}
