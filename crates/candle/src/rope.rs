//! Rotary position embedding tables, shared by all layers with the same base and grown on
//! demand (candle-transformers builds a 131,072-position table per layer up front).

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
    cos: Vec<f32>,
    sin: Vec<f32>,
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
    ) -> RopeTable {
        let half = head_dim / 2;
        let inv_freq = (0..half)
            .map(|i| {
                let f = 1.0 / base.powf((2 * i) as f32 / head_dim as f32) / scale;
                match freq_factors.and_then(|ff| ff.get(i)) {
                    Some(&ff) => f / ff,
                    None => f,
                }
            })
            .collect();
        let mut t = RopeTable {
            inv_freq,
            style,
            max_positions,
            cos: Vec::new(),
            sin: Vec::new(),
            len: 0,
        };
        t.ensure(INITIAL_POSITIONS.min(max_positions.max(1)));
        t
    }

    /// Makes the table cover positions `0..end`.
    fn ensure(&mut self, end: usize) {
        if end <= self.len {
            return;
        }
        let len = end
            .next_power_of_two()
            .max(INITIAL_POSITIONS)
            .min(self.max_positions.max(end));
        let half = self.inv_freq.len();
        self.cos.reserve((len - self.len) * half);
        self.sin.reserve((len - self.len) * half);
        for p in self.len..len {
            for &f in &self.inv_freq {
                // f64 for the angle: at large positions f32 rounding of p*f is visible.
                let a = p as f64 * f as f64;
                self.cos.push(a.cos() as f32);
                self.sin.push(a.sin() as f32);
            }
        }
        self.len = len;
    }

    /// Rotates `x`, `seq` rows of `heads` heads of `head_dim` values (row `s` is position
    /// `pos + s`), in place.
    pub(crate) fn apply(&mut self, x: &mut [f32], seq: usize, heads: usize, pos: usize) {
        self.ensure(pos + seq);
        let half = self.inv_freq.len();
        let hd = 2 * half;
        for (s, row) in x.chunks_exact_mut(heads * hd).take(seq).enumerate() {
            let cos = &self.cos[(pos + s) * half..(pos + s + 1) * half];
            let sin = &self.sin[(pos + s) * half..(pos + s + 1) * half];
            for head in row.chunks_exact_mut(hd) {
                match self.style {
                    RopeStyle::Interleaved => {
                        for (i, pair) in head.chunks_exact_mut(2).enumerate() {
                            let (a, b) = (pair[0], pair[1]);
                            pair[0] = a * cos[i] - b * sin[i];
                            pair[1] = a * sin[i] + b * cos[i];
                        }
                    }
                    RopeStyle::Neox => {
                        let (lo, hi) = head.split_at_mut(half);
                        for i in 0..half {
                            let (a, b) = (lo[i], hi[i]);
                            lo[i] = a * cos[i] - b * sin[i];
                            hi[i] = a * sin[i] + b * cos[i];
                        }
                    }
                }
            }
        }
    }
}
