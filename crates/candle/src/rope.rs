//! Rotary position embedding tables, shared by all layers with the same base and grown on
//! demand (candle-transformers builds a 131,072-position table per layer up front).

use candle_core::{Device, Tensor};

use crate::arch::RopeStyle;

/// Positions covered by a freshly created table; it doubles when a forward needs more.
const INITIAL_POSITIONS: usize = 256;

/// cos/sin tables `(positions, head_dim / 2)` for one rotary base.
#[derive(Debug, Clone)]
pub(crate) struct RopeTable {
    /// Inverse frequency of each dimension pair, already divided by any position scaling.
    inv_freq: Vec<f32>,
    style: RopeStyle,
    max_positions: usize,
    cos: Tensor,
    sin: Tensor,
    len: usize,
}

impl RopeTable {
    /// A table for heads of `head_dim` with rotary `base`; positions are divided by `scale`
    /// (linear scaling) and optional per-pair `freq_factors` divide the frequencies
    /// (Llama 3.1's `rope_freqs.weight`). Never grows past `max_positions`.
    pub(crate) fn new(
        head_dim: usize,
        base: f32,
        scale: f32,
        freq_factors: Option<&[f32]>,
        style: RopeStyle,
        max_positions: usize,
        device: &Device,
    ) -> candle_core::Result<RopeTable> {
        let half = head_dim / 2;
        let inv_freq = (0..half)
            .map(|i| {
                let f = 1.0 / base.powf((2 * i) as f32 / head_dim as f32) / scale;
                match freq_factors {
                    Some(ff) => f / ff[i],
                    None => f,
                }
            })
            .collect();
        let empty = Tensor::zeros((0, half), candle_core::DType::F32, device)?;
        let mut t = RopeTable {
            inv_freq,
            style,
            max_positions,
            cos: empty.clone(),
            sin: empty,
            len: 0,
        };
        t.ensure(INITIAL_POSITIONS.min(max_positions.max(1)))?;
        Ok(t)
    }

    /// Makes the table cover positions `0..end`.
    fn ensure(&mut self, end: usize) -> candle_core::Result<()> {
        if end <= self.len {
            return Ok(());
        }
        let len = end
            .next_power_of_two()
            .max(INITIAL_POSITIONS)
            .min(self.max_positions.max(end));
        let half = self.inv_freq.len();
        let mut cos = Vec::with_capacity(len * half);
        let mut sin = Vec::with_capacity(len * half);
        for p in 0..len {
            for &f in &self.inv_freq {
                // f64 for the angle: at large positions f32 rounding of p*f is visible.
                let a = p as f64 * f as f64;
                cos.push(a.cos() as f32);
                sin.push(a.sin() as f32);
            }
        }
        let device = self.cos.device().clone();
        self.cos = Tensor::from_vec(cos, (len, half), &device)?;
        self.sin = Tensor::from_vec(sin, (len, half), &device)?;
        self.len = len;
        Ok(())
    }

    /// Rotates `x` of shape `(1, heads, seq, head_dim)` whose rows are positions `pos..pos+seq`.
    pub(crate) fn apply(&mut self, x: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        let seq = x.dim(2)?;
        self.ensure(pos + seq)?;
        let cos = self.cos.narrow(0, pos, seq)?;
        let sin = self.sin.narrow(0, pos, seq)?;
        let x = x.contiguous()?;
        match self.style {
            RopeStyle::Interleaved => candle_nn::rotary_emb::rope_i(&x, &cos, &sin),
            RopeStyle::Neox => candle_nn::rotary_emb::rope(&x, &cos, &sin),
        }
    }
}
