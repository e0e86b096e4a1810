//! Weight matrices in the layouts our kernels read, converted from GGML blocks at load time.
//!
//! Every GGML quantization stores a row as blocks of values that share a scale (and for
//! some types an offset). We keep that information but lay it out for f32 arithmetic:
//! a matrix is a list of groups of `group` consecutive values of a row, each with an f32
//! scale `d` and, when the format has one, an f32 offset `m`, so that value `j` of a group
//! is `d * q[j] + m`. The quantized integers stay small:
//!
//! - [`Layout::Nibbles`]: 4-bit unsigned values (Q4_0, Q4_1, Q4_K), groups of 32, byte `j` of
//!   a group holds value `j` in its low nibble and value `j + 16` in its high nibble;
//! - [`Layout::Bytes`]: 8-bit signed values (Q8_0, Q5_0, Q5_1, Q5_K, Q6_K), groups of 32,
//!   or 16 for Q6_K whose scales cover 16 values;
//! - [`Layout::F32`]: plain rows (f32/f16/bf16 files, other quantizations, and
//!   `LoadConfig::dequantize(true)`).
//!
//! The conversion is exact: `d * q + m` in f32 is the value GGML's own dequantization
//! computes (tests compare against candle's `QTensor::dequantize` for every type).

use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::Device;
use half::{bf16, f16};

/// The storage of one matrix.
#[derive(Debug, Clone)]
pub(crate) enum Layout {
    /// `rows * cols` values, row-major.
    F32(Vec<f32>),
    /// Two 4-bit values per byte, groups of 32 values (16 bytes).
    Nibbles {
        qs: Vec<u8>,
        d: Vec<f32>,
        m: Vec<f32>,
    },
    /// One signed byte per value, groups of `group` values.
    Bytes {
        qs: Vec<i8>,
        d: Vec<f32>,
        /// Per-group offsets; `None` when every offset is zero.
        m: Option<Vec<f32>>,
        group: usize,
    },
}

/// A `rows × cols` weight matrix (`rows` outputs of a linear layer, or vocabulary rows of an
/// embedding table).
#[derive(Debug, Clone)]
pub(crate) struct Weights {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) layout: Layout,
}

/// Why a tensor could not be converted.
#[derive(Debug)]
pub(crate) struct ConvertError(pub(crate) String);

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// The 6-bit scale and min of sub-block `j` (0..8) of a Q4_K / Q5_K super-block: the first
/// four are the low 6 bits of bytes 0..4 (scales) and 4..8 (mins); the last four take their
/// low 4 bits from bytes 8..12 and their top 2 bits from the top of bytes 0..8.
fn k_scale_min(j: usize, s: &[u8]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        (
            (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4),
            (s[j + 4] >> 4) | ((s[j] >> 6) << 4),
        )
    }
}

impl Weights {
    /// A dense matrix.
    pub(crate) fn from_f32(data: Vec<f32>, rows: usize, cols: usize) -> Weights {
        debug_assert_eq!(data.len(), rows * cols);
        Weights {
            rows,
            cols,
            layout: Layout::F32(data),
        }
    }

    /// Converts the raw GGML bytes of a `rows × cols` tensor. `dequantize` forces
    /// [`Layout::F32`].
    pub(crate) fn from_ggml(
        dtype: GgmlDType,
        raw: &[u8],
        rows: usize,
        cols: usize,
        dequantize: bool,
    ) -> Result<Weights, ConvertError> {
        let n = rows * cols;
        let block = dtype.block_size();
        if cols % block != 0 {
            return Err(ConvertError(format!(
                "rows of {cols} values are not a whole number of {dtype:?} blocks of {block}"
            )));
        }
        let expected = n / block * dtype.type_size();
        if raw.len() != expected {
            return Err(ConvertError(format!(
                "{} bytes of data, expected {expected} for {n} {dtype:?} values",
                raw.len()
            )));
        }
        let mut w = match dtype {
            GgmlDType::F32 => Weights::from_f32(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                rows,
                cols,
            ),
            GgmlDType::F16 => Weights::from_f32(
                raw.chunks_exact(2)
                    .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                rows,
                cols,
            ),
            GgmlDType::BF16 => Weights::from_f32(
                raw.chunks_exact(2)
                    .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                rows,
                cols,
            ),
            GgmlDType::Q4_0 => nibbles(raw, n, 18, |b, qs, d, m| {
                let scale = f16_at(b, 0);
                qs.extend_from_slice(&b[2..18]);
                d.push(scale);
                m.push(-8.0 * scale);
            }),
            GgmlDType::Q4_1 => nibbles(raw, n, 20, |b, qs, d, m| {
                qs.extend_from_slice(&b[4..20]);
                d.push(f16_at(b, 0));
                m.push(f16_at(b, 2));
            }),
            GgmlDType::Q4K => nibbles_k(raw, n),
            GgmlDType::Q8_0 => bytes(raw, n, 34, 32, false, |b, qs, d, _| {
                d.push(f16_at(b, 0));
                qs.extend(b[2..34].iter().map(|&x| x as i8));
            }),
            GgmlDType::Q5_0 => bytes(raw, n, 22, 32, false, |b, qs, d, _| {
                d.push(f16_at(b, 0));
                let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                let q = five_bit(&b[6..22], qh);
                qs.extend(q.iter().map(|&x| x as i8 - 16));
            }),
            GgmlDType::Q5_1 => bytes(raw, n, 24, 32, true, |b, qs, d, m| {
                d.push(f16_at(b, 0));
                m.push(f16_at(b, 2));
                let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                let q = five_bit(&b[8..24], qh);
                qs.extend(q.iter().map(|&x| x as i8));
            }),
            GgmlDType::Q5K => q5k(raw, n),
            GgmlDType::Q6K => q6k(raw, n),
            other => {
                // Any other type (Q2_K, Q3_K, Q8_1, Q8_K): candle's reference dequantization.
                let q = QStorage::from_data(raw.into(), &Device::Cpu, other)
                    .and_then(|q| {
                        let q = QTensor::new(q, (rows, cols))?;
                        q.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()
                    })
                    .map_err(|e| ConvertError(e.to_string()))?;
                Weights::from_f32(q, rows, cols)
            }
        };
        w.rows = rows;
        w.cols = cols;
        if dequantize && !matches!(w.layout, Layout::F32(_)) {
            let mut data = vec![0f32; n];
            for (r, out) in data.chunks_exact_mut(cols).enumerate() {
                w.row_to_f32(r, out);
            }
            w.layout = Layout::F32(data);
        }
        Ok(w)
    }

    /// Bytes held by the matrix.
    pub(crate) fn memory_bytes(&self) -> usize {
        match &self.layout {
            Layout::F32(v) => v.len() * 4,
            Layout::Nibbles { qs, d, m } => qs.len() + 4 * (d.len() + m.len()),
            Layout::Bytes { qs, d, m, .. } => {
                qs.len() + 4 * (d.len() + m.as_ref().map_or(0, Vec::len))
            }
        }
    }

    /// Writes row `r` as f32 into `out` (`out.len() == cols`).
    pub(crate) fn row_to_f32(&self, r: usize, out: &mut [f32]) {
        let cols = self.cols;
        match &self.layout {
            Layout::F32(v) => out.copy_from_slice(&v[r * cols..(r + 1) * cols]),
            Layout::Nibbles { qs, d, m } => {
                let g0 = r * cols / 32;
                for (g, o) in out.chunks_exact_mut(32).enumerate() {
                    let (d, m) = (d[g0 + g], m[g0 + g]);
                    let q = &qs[(g0 + g) * 16..(g0 + g + 1) * 16];
                    for j in 0..16 {
                        o[j] = d * f32::from(q[j] & 0x0f) + m;
                        o[j + 16] = d * f32::from(q[j] >> 4) + m;
                    }
                }
            }
            Layout::Bytes { qs, d, m, group } => {
                let g0 = r * cols / group;
                let q = &qs[r * cols..(r + 1) * cols];
                for (g, (o, q)) in out
                    .chunks_exact_mut(*group)
                    .zip(q.chunks_exact(*group))
                    .enumerate()
                {
                    let dg = d[g0 + g];
                    let mg = m.as_ref().map_or(0.0, |m| m[g0 + g]);
                    for (o, &q) in o.iter_mut().zip(q) {
                        *o = dg * f32::from(q) + mg;
                    }
                }
            }
        }
    }
}

/// Converts `n` values stored in blocks of 32 values and `size` bytes to [`Layout::Nibbles`].
fn nibbles(
    raw: &[u8],
    n: usize,
    size: usize,
    mut f: impl FnMut(&[u8], &mut Vec<u8>, &mut Vec<f32>, &mut Vec<f32>),
) -> Weights {
    let mut qs = Vec::with_capacity(n / 2);
    let mut d = Vec::with_capacity(n / 32);
    let mut m = Vec::with_capacity(n / 32);
    for b in raw.chunks_exact(size) {
        f(b, &mut qs, &mut d, &mut m);
    }
    Weights {
        rows: 0,
        cols: 0,
        layout: Layout::Nibbles { qs, d, m },
    }
}

/// Converts `n` values stored in blocks of `size` bytes to [`Layout::Bytes`] with `group`.
fn bytes(
    raw: &[u8],
    n: usize,
    size: usize,
    group: usize,
    with_m: bool,
    mut f: impl FnMut(&[u8], &mut Vec<i8>, &mut Vec<f32>, &mut Vec<f32>),
) -> Weights {
    let mut qs = Vec::with_capacity(n);
    let mut d = Vec::with_capacity(n / group);
    let mut m = Vec::with_capacity(if with_m { n / group } else { 0 });
    for b in raw.chunks_exact(size) {
        f(b, &mut qs, &mut d, &mut m);
    }
    Weights {
        rows: 0,
        cols: 0,
        layout: Layout::Bytes {
            qs,
            d,
            m: with_m.then_some(m),
            group,
        },
    }
}

/// The 32 values (0..32) of a Q5_0 / Q5_1 block: low 4 bits from `qs` (value `j` in the low
/// nibble of byte `j`, value `j + 16` in the high nibble), bit 4 of value `j` is bit `j` of `qh`.
fn five_bit(qs: &[u8], qh: u32) -> [u8; 32] {
    let mut q = [0u8; 32];
    for j in 0..16 {
        q[j] = (qs[j] & 0x0f) | ((((qh >> j) & 1) as u8) << 4);
        q[j + 16] = (qs[j] >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
    }
    q
}

/// Q4_K super-blocks (256 values, 144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales and
/// mins, 128 bytes of nibbles) to [`Layout::Nibbles`]: eight groups of 32 with scale
/// `d * sc` and offset `-dmin * mn`.
fn nibbles_k(raw: &[u8], n: usize) -> Weights {
    let mut qs = Vec::with_capacity(n / 2);
    let mut d = Vec::with_capacity(n / 32);
    let mut m = Vec::with_capacity(n / 32);
    for b in raw.chunks_exact(144) {
        let (sd, smin) = (f16_at(b, 0), f16_at(b, 2));
        let scales = &b[4..16];
        let q = &b[16..144];
        // 32-byte chunk c holds sub-block 2c in its low nibbles, 2c + 1 in its high nibbles.
        for c in 0..4 {
            let chunk = &q[32 * c..32 * c + 32];
            for (sub, shift) in [(2 * c, 0u8), (2 * c + 1, 4u8)] {
                let (sc, mn) = k_scale_min(sub, scales);
                d.push(sd * f32::from(sc));
                m.push(-(smin * f32::from(mn)));
                for j in 0..16 {
                    let lo = (chunk[j] >> shift) & 0x0f;
                    let hi = (chunk[j + 16] >> shift) & 0x0f;
                    qs.push(lo | (hi << 4));
                }
            }
        }
    }
    Weights {
        rows: 0,
        cols: 0,
        layout: Layout::Nibbles { qs, d, m },
    }
}

/// Q5_K super-blocks (256 values, 176 bytes: f16 d, f16 dmin, 12 bytes of scales, 32 bytes
/// of high bits, 128 bytes of nibbles) to [`Layout::Bytes`] with groups of 32.
fn q5k(raw: &[u8], n: usize) -> Weights {
    let mut qs = Vec::with_capacity(n);
    let mut d = Vec::with_capacity(n / 32);
    let mut m = Vec::with_capacity(n / 32);
    for b in raw.chunks_exact(176) {
        let (sd, smin) = (f16_at(b, 0), f16_at(b, 2));
        let scales = &b[4..16];
        let qh = &b[16..48];
        let ql = &b[48..176];
        for c in 0..4 {
            let chunk = &ql[32 * c..32 * c + 32];
            for (k, shift) in [(0usize, 0u8), (1, 4)] {
                let sub = 2 * c + k;
                let (sc, mn) = k_scale_min(sub, scales);
                d.push(sd * f32::from(sc));
                m.push(-(smin * f32::from(mn)));
                let bit = 1u8 << sub;
                for l in 0..32 {
                    let lo = (chunk[l] >> shift) & 0x0f;
                    let hi = if qh[l] & bit != 0 { 16 } else { 0 };
                    qs.push((lo + hi) as i8);
                }
            }
        }
    }
    Weights {
        rows: 0,
        cols: 0,
        layout: Layout::Bytes {
            qs,
            d,
            m: Some(m),
            group: 32,
        },
    }
}

/// Q6_K super-blocks (256 values, 210 bytes: 128 bytes of low nibbles, 64 bytes of high
/// 2-bit pairs, 16 signed 8-bit scales, f16 d) to [`Layout::Bytes`] with groups of 16 and
/// scale `d * sc`. Each half (128 values) takes value `l + 32k` (`l < 32`, `k < 4`) from
/// nibble `k / 2` of low byte `l + 32 (k % 2)` and bits `2k..2k+2` of high byte `l`.
fn q6k(raw: &[u8], n: usize) -> Weights {
    let mut qs = Vec::with_capacity(n);
    let mut d = Vec::with_capacity(n / 16);
    for b in raw.chunks_exact(210) {
        let ql = &b[0..128];
        let qh = &b[128..192];
        let sc = &b[192..208];
        let sd = f16_at(b, 208);
        let mut vals = [0i8; 256];
        for half in 0..2 {
            let (ql, qh) = (
                &ql[64 * half..64 * half + 64],
                &qh[32 * half..32 * half + 32],
            );
            for l in 0..32 {
                for k in 0..4 {
                    let low = if k < 2 {
                        ql[l + 32 * k] & 0x0f
                    } else {
                        ql[l + 32 * (k - 2)] >> 4
                    };
                    let high = (qh[l] >> (2 * k)) & 3;
                    vals[128 * half + l + 32 * k] = (low | (high << 4)) as i8 - 32;
                }
            }
        }
        qs.extend_from_slice(&vals);
        d.extend(sc.iter().map(|&s| sd * f32::from(s as i8)));
    }
    Weights {
        rows: 0,
        cols: 0,
        layout: Layout::Bytes {
            qs,
            d,
            m: None,
            group: 16,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Tensor;

    /// Our conversion of a quantized random matrix equals candle's dequantization.
    fn check(dtype: GgmlDType) {
        let (rows, cols) = (6, 512);
        let mut s = 0x1234_5678u32;
        let data: Vec<f32> = (0..rows * cols)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32 - 0.4) * 3.0
            })
            .collect();
        let t = Tensor::from_vec(data, (rows, cols), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, dtype).unwrap();
        let want: Vec<f32> = q
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let raw = q.data().unwrap();
        let w = Weights::from_ggml(dtype, &raw, rows, cols, false).unwrap();
        let mut got = vec![0f32; rows * cols];
        for (r, o) in got.chunks_exact_mut(cols).enumerate() {
            w.row_to_f32(r, o);
        }
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            // Q4_0 stores the offset -8d separately: one rounding more than (q - 8) * d.
            let tol = 1e-6 * b.abs().max(1.0);
            assert!(
                (a - b).abs() <= tol,
                "{dtype:?} value {i}: ours {a}, candle {b}"
            );
        }
    }

    #[test]
    fn every_converted_type_matches_candle_dequantization() {
        for dtype in [
            GgmlDType::F16,
            GgmlDType::BF16,
            GgmlDType::Q4_0,
            GgmlDType::Q4_1,
            GgmlDType::Q5_0,
            GgmlDType::Q5_1,
            GgmlDType::Q8_0,
            GgmlDType::Q4K,
            GgmlDType::Q5K,
            GgmlDType::Q6K,
            GgmlDType::Q3K,
            GgmlDType::Q2K,
        ] {
            check(dtype);
        }
    }

    #[test]
    fn wrong_sizes_are_errors() {
        let e = Weights::from_ggml(GgmlDType::Q8_0, &[0; 33], 1, 32, false).unwrap_err();
        assert!(e.0.contains("33 bytes"), "{}", e.0);
        let e = Weights::from_ggml(GgmlDType::Q8_0, &[0; 34], 1, 48, false).unwrap_err();
        assert!(e.0.contains("not a whole number"), "{}", e.0);
    }
}
