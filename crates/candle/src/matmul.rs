//! `x · Wᵀ` for [`Weights`] in any layout, with f32 activations.
//!
//! candle's quantized kernels round every activation row to 8 bits before integer dot
//! products; these kernels keep activations in f32 and multiply by the stored small
//! integers converted to f32, so a quantized model computes what its dequantized f32
//! weights would (up to summation order) at a fraction of the memory. One value `d·q + m`
//! of a group contributes `d·(q·x) + m·x`: per group we accumulate `Σ q·x`, scale it once,
//! and add `Σ_groups m·Σx` at the end.
//!
//! - One or a few activation rows (decoding, fast-forward): each weight row is read once per
//!   activation row, straight from its compact layout.
//! - More rows (prefill): each weight row is expanded to f32 once and dotted with every
//!   activation row.
//! - [`matvec_rows`]: only some output rows (the logits of the tokens a mask allows).
//!
//! Rows are split across rayon's threads. On x86-64 with AVX2 and FMA the loops are
//! compiled a second time with those features enabled and chosen at run time.

use rayon::prelude::*;

use crate::weights::{Layout, Weights};

/// Activation rows from which the prefill path (expand each weight row once) is used.
const EXPAND_FROM_ROWS: usize = 4;

/// Roughly this many multiply-adds per parallel task.
const TASK_WORK: usize = 1 << 17;

/// Products with fewer multiply-adds run on the calling thread: waking the pool costs more
/// than it saves (and on a busy machine much more).
const PARALLEL_FROM: usize = 1 << 20;

/// The inner loops, portable or with SIMD intrinsics.
trait Kernels: Copy + Send + Sync {
    /// `Σ a·b` (equal lengths).
    fn dot_f32(self, a: &[f32], b: &[f32]) -> f32;
    /// `Σ_g d[g]·Σ_j q_gj·x_gj` over groups of 32 nibbles (16 bytes each).
    fn dot_nibbles(self, qs: &[u8], d: &[f32], x: &[f32]) -> f32;
    /// The same over groups of `group` signed bytes.
    fn dot_bytes(self, qs: &[i8], d: &[f32], group: usize, x: &[f32]) -> f32;
    /// `y += a·x` (equal lengths).
    fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y += a * x;
        }
    }
    /// Four dot products of `x` with the rows `w[i*cols..(i+1)*cols]`.
    fn dot4_f32(self, w: &[f32], x: &[f32]) -> [f32; 4] {
        let c = x.len();
        [
            self.dot_f32(&w[..c], x),
            self.dot_f32(&w[c..2 * c], x),
            self.dot_f32(&w[2 * c..3 * c], x),
            self.dot_f32(&w[3 * c..4 * c], x),
        ]
    }
}

/// Plain Rust loops (any CPU).
#[derive(Clone, Copy)]
struct Portable;

impl Kernels for Portable {
    fn dot_f32(self, a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0f32; 8];
        let mut ca = a.chunks_exact(8);
        let mut cb = b.chunks_exact(8);
        for (x, y) in (&mut ca).zip(&mut cb) {
            for l in 0..8 {
                acc[l] += x[l] * y[l];
            }
        }
        let mut s: f32 = acc.iter().sum();
        for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
            s += x * y;
        }
        s
    }

    fn dot_nibbles(self, qs: &[u8], d: &[f32], x: &[f32]) -> f32 {
        let mut s = 0f32;
        for ((q, xg), &dg) in qs.chunks_exact(16).zip(x.chunks_exact(32)).zip(d) {
            let mut p = 0f32;
            for j in 0..16 {
                p += f32::from(q[j] & 0x0f) * xg[j] + f32::from(q[j] >> 4) * xg[j + 16];
            }
            s += dg * p;
        }
        s
    }

    fn dot_bytes(self, qs: &[i8], d: &[f32], group: usize, x: &[f32]) -> f32 {
        let mut s = 0f32;
        for ((q, xg), &dg) in qs.chunks_exact(group).zip(x.chunks_exact(group)).zip(d) {
            let p = q
                .iter()
                .zip(xg)
                .fold(0f32, |p, (&q, &x)| p + f32::from(q) * x);
            s += dg * p;
        }
        s
    }
}

/// Sums of `x` over consecutive groups of `group` values.
fn group_sums(x: &[f32], group: usize) -> Vec<f32> {
    x.chunks_exact(group).map(|c| c.iter().sum()).collect()
}

/// The dot product of row `r` of `w` with `x`; `xsum` holds the group sums of `x` when the
/// layout has offsets.
fn dot_row<K: Kernels>(k: K, w: &Weights, r: usize, x: &[f32], xsum: &[f32]) -> f32 {
    let cols = w.cols;
    match &w.layout {
        Layout::F32(v) => k.dot_f32(&v[r * cols..(r + 1) * cols], x),
        Layout::Nibbles { qs, d, m } => {
            let ng = cols / 32;
            let g = r * ng..(r + 1) * ng;
            k.dot_nibbles(&qs[g.start * 16..g.end * 16], &d[g.clone()], x) + k.dot_f32(&m[g], xsum)
        }
        Layout::Bytes { qs, d, m, group } => {
            let ng = cols / group;
            let g = r * ng..(r + 1) * ng;
            let s = k.dot_bytes(&qs[r * cols..(r + 1) * cols], &d[g.clone()], *group, x);
            match m {
                Some(m) => s + k.dot_f32(&m[g], xsum),
                None => s,
            }
        }
    }
}

/// The group size of the layout's offsets, if it has any.
fn offset_group(w: &Weights) -> Option<usize> {
    match &w.layout {
        Layout::F32(_) => None,
        Layout::Nibbles { .. } => Some(32),
        Layout::Bytes { m, group, .. } => m.as_ref().map(|_| *group),
    }
}

/// Output rows `r0..r0 + out.len() / seq` for all `seq` activation rows; `out` is
/// row-major `(rows, seq)` (transposed).
fn rows_chunk<K: Kernels>(
    k: K,
    w: &Weights,
    xs: &[f32],
    xsums: &[Vec<f32>],
    seq: usize,
    r0: usize,
    out: &mut [f32],
) {
    let cols = w.cols;
    if seq < EXPAND_FROM_ROWS {
        for (i, o) in out.chunks_exact_mut(seq).enumerate() {
            for (s, o) in o.iter_mut().enumerate() {
                let xsum = xsums.get(s).map_or(&[][..], Vec::as_slice);
                *o = dot_row(k, w, r0 + i, &xs[s * cols..(s + 1) * cols], xsum);
            }
        }
        return;
    }
    // Expand four weight rows to f32 at a time, then one pass over each activation row
    // computes four outputs.
    let n = out.len() / seq;
    let mut block = vec![0f32; 4 * cols];
    let mut i = 0;
    while i < n {
        let nb = (n - i).min(4);
        let rows: &[f32] = match &w.layout {
            Layout::F32(v) if nb == 4 => &v[(r0 + i) * cols..(r0 + i + 4) * cols],
            _ => {
                for (j, b) in block.chunks_exact_mut(cols).take(nb).enumerate() {
                    w.row_to_f32(r0 + i + j, b);
                }
                &block
            }
        };
        for s in 0..seq {
            let x = &xs[s * cols..(s + 1) * cols];
            if nb == 4 {
                let y = k.dot4_f32(rows, x);
                for (j, v) in y.into_iter().enumerate() {
                    out[(i + j) * seq + s] = v;
                }
            } else {
                for j in 0..nb {
                    out[(i + j) * seq + s] = k.dot_f32(&rows[j * cols..(j + 1) * cols], x);
                }
            }
        }
        i += nb;
    }
}

fn sparse_chunk<K: Kernels>(
    k: K,
    w: &Weights,
    x: &[f32],
    xsum: &[f32],
    ids: &[u32],
    out: &mut [f32],
) {
    for (o, &id) in out.iter_mut().zip(ids) {
        *o = dot_row(k, w, id as usize, x, xsum);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Kernels;

    /// AVX2 + FMA kernels. Only [`Avx2::detect`] makes one, after checking the CPU.
    #[derive(Clone, Copy)]
    pub(super) struct Avx2(());

    impl Avx2 {
        pub(super) fn detect() -> Option<Avx2> {
            use std::sync::OnceLock;
            static HAS: OnceLock<bool> = OnceLock::new();
            let has = *HAS.get_or_init(|| {
                is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
            });
            has.then_some(Avx2(()))
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// # Safety
    /// `a` and `b` are valid for `n` reads.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_f32(a: *const f32, b: *const f32, n: usize) -> f32 {
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        while i + 16 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a.add(i)), _mm256_loadu_ps(b.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(a.add(i + 8)),
                _mm256_loadu_ps(b.add(i + 8)),
                acc1,
            );
            i += 16;
        }
        if i + 8 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a.add(i)), _mm256_loadu_ps(b.add(i)), acc0);
            i += 8;
        }
        let mut s = hsum(_mm256_add_ps(acc0, acc1));
        while i < n {
            s += *a.add(i) * *b.add(i);
            i += 1;
        }
        s
    }

    /// The low eight bytes of `v` as eight f32 (unsigned).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn u8x8(v: __m128i) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v))
    }

    /// The low eight bytes of `v` as eight f32 (signed).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn i8x8(v: __m128i) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v))
    }

    impl Kernels for Avx2 {
        fn dot_f32(self, a: &[f32], b: &[f32]) -> f32 {
            let n = a.len().min(b.len());
            // SAFETY: `self` proves AVX2 and FMA; both slices hold at least `n` values.
            unsafe { dot_f32(a.as_ptr(), b.as_ptr(), n) }
        }

        fn dot_nibbles(self, qs: &[u8], d: &[f32], x: &[f32]) -> f32 {
            let ng = d.len().min(qs.len() / 16).min(x.len() / 32);
            // SAFETY: `self` proves AVX2 and FMA; the slices hold `ng` groups.
            unsafe { dot_nibbles(qs.as_ptr(), d.as_ptr(), x.as_ptr(), ng) }
        }

        fn dot_bytes(self, qs: &[i8], d: &[f32], group: usize, x: &[f32]) -> f32 {
            if group % 16 != 0 {
                return super::Portable.dot_bytes(qs, d, group, x);
            }
            let ng = d.len().min(qs.len() / group).min(x.len() / group);
            // SAFETY: `self` proves AVX2 and FMA; the slices hold `ng` groups.
            unsafe { dot_bytes(qs.as_ptr(), d.as_ptr(), group, x.as_ptr(), ng) }
        }

        fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
            let n = x.len().min(y.len());
            // SAFETY: `self` proves AVX2 and FMA; both slices hold at least `n` values.
            unsafe { axpy(a, x.as_ptr(), y.as_mut_ptr(), n) }
        }

        fn dot4_f32(self, w: &[f32], x: &[f32]) -> [f32; 4] {
            let c = x.len();
            if w.len() < 4 * c {
                return super::Portable.dot4_f32(w, x);
            }
            // SAFETY: `self` proves AVX2 and FMA; `w` holds four rows of `c` values.
            unsafe { dot4_f32(w.as_ptr(), x.as_ptr(), c) }
        }
    }

    /// # Safety
    /// AVX2 and FMA; `x` valid for `n` reads, `y` for `n` reads and writes.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn axpy(a: f32, x: *const f32, y: *mut f32, n: usize) {
        let av = _mm256_set1_ps(a);
        let mut i = 0;
        while i + 8 <= n {
            let v = _mm256_fmadd_ps(av, _mm256_loadu_ps(x.add(i)), _mm256_loadu_ps(y.add(i)));
            _mm256_storeu_ps(y.add(i), v);
            i += 8;
        }
        while i < n {
            *y.add(i) += a * *x.add(i);
            i += 1;
        }
    }

    /// # Safety
    /// AVX2 and FMA; `qs` valid for `16 ng` reads, `d` for `ng`, `x` for `32 ng`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_nibbles(qs: *const u8, d: *const f32, x: *const f32, ng: usize) -> f32 {
        let mask = _mm_set1_epi8(0x0f);
        let mut acc = _mm256_setzero_ps();
        for g in 0..ng {
            let q = _mm_loadu_si128(qs.add(16 * g) as *const __m128i);
            let lo = _mm_and_si128(q, mask);
            let hi = _mm_and_si128(_mm_srli_epi16(q, 4), mask);
            let xp = x.add(32 * g);
            let mut p = _mm256_mul_ps(u8x8(lo), _mm256_loadu_ps(xp));
            p = _mm256_fmadd_ps(u8x8(_mm_srli_si128(lo, 8)), _mm256_loadu_ps(xp.add(8)), p);
            p = _mm256_fmadd_ps(u8x8(hi), _mm256_loadu_ps(xp.add(16)), p);
            p = _mm256_fmadd_ps(u8x8(_mm_srli_si128(hi, 8)), _mm256_loadu_ps(xp.add(24)), p);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(*d.add(g)), p, acc);
        }
        hsum(acc)
    }

    /// # Safety
    /// AVX2 and FMA; `group % 16 == 0`; `qs` and `x` valid for `group ng` reads, `d` for `ng`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_bytes(
        qs: *const i8,
        d: *const f32,
        group: usize,
        x: *const f32,
        ng: usize,
    ) -> f32 {
        let mut acc = _mm256_setzero_ps();
        for g in 0..ng {
            let qp = qs.add(group * g);
            let xp = x.add(group * g);
            let mut p = _mm256_setzero_ps();
            let mut j = 0;
            while j < group {
                let q = _mm_loadu_si128(qp.add(j) as *const __m128i);
                p = _mm256_fmadd_ps(i8x8(q), _mm256_loadu_ps(xp.add(j)), p);
                p = _mm256_fmadd_ps(
                    i8x8(_mm_srli_si128(q, 8)),
                    _mm256_loadu_ps(xp.add(j + 8)),
                    p,
                );
                j += 16;
            }
            acc = _mm256_fmadd_ps(_mm256_set1_ps(*d.add(g)), p, acc);
        }
        hsum(acc)
    }

    /// # Safety
    /// AVX2 and FMA; `w` valid for `4 c` reads, `x` for `c`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot4_f32(w: *const f32, x: *const f32, c: usize) -> [f32; 4] {
        let (w0, w1, w2, w3) = (w, w.add(c), w.add(2 * c), w.add(3 * c));
        let mut a = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 8 <= c {
            let xv = _mm256_loadu_ps(x.add(i));
            a[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w0.add(i)), xv, a[0]);
            a[1] = _mm256_fmadd_ps(_mm256_loadu_ps(w1.add(i)), xv, a[1]);
            a[2] = _mm256_fmadd_ps(_mm256_loadu_ps(w2.add(i)), xv, a[2]);
            a[3] = _mm256_fmadd_ps(_mm256_loadu_ps(w3.add(i)), xv, a[3]);
            i += 8;
        }
        let mut out = [hsum(a[0]), hsum(a[1]), hsum(a[2]), hsum(a[3])];
        while i < c {
            let xv = *x.add(i);
            out[0] += *w0.add(i) * xv;
            out[1] += *w1.add(i) * xv;
            out[2] += *w2.add(i) * xv;
            out[3] += *w3.add(i) * xv;
            i += 1;
        }
        out
    }
}

fn run_rows_chunk(
    w: &Weights,
    xs: &[f32],
    xsums: &[Vec<f32>],
    seq: usize,
    r0: usize,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(k) = x86::Avx2::detect() {
        return rows_chunk(k, w, xs, xsums, seq, r0, out);
    }
    rows_chunk(Portable, w, xs, xsums, seq, r0, out)
}

fn run_sparse_chunk(w: &Weights, x: &[f32], xsum: &[f32], ids: &[u32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(k) = x86::Avx2::detect() {
        return sparse_chunk(k, w, x, xsum, ids, out);
    }
    sparse_chunk(Portable, w, x, xsum, ids, out)
}

/// `Σ a·b` over equal-length slices, with SIMD where available.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(k) = x86::Avx2::detect() {
        return k.dot_f32(a, b);
    }
    Portable.dot_f32(a, b)
}

/// `y += a·x`, with SIMD where available.
pub(crate) fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(k) = x86::Avx2::detect() {
        return k.axpy(a, x, y);
    }
    Portable.axpy(a, x, y)
}

/// Rows per parallel task for rows of `cols` values and `seq` activation rows: about
/// [`TASK_WORK`] multiply-adds, and a multiple of 4 (the expanded path's block).
fn rows_per_task(cols: usize, seq: usize) -> usize {
    (TASK_WORK / (cols * seq).max(1)).max(1).next_multiple_of(4)
}

/// `y = x · Wᵀ`: `x` is `(seq, w.cols)` row-major, the result `(seq, w.rows)`.
pub(crate) fn matmul(w: &Weights, x: &[f32], seq: usize) -> Vec<f32> {
    debug_assert_eq!(x.len(), seq * w.cols);
    let xsums: Vec<Vec<f32>> = match offset_group(w) {
        Some(g) if seq < EXPAND_FROM_ROWS => {
            x.chunks_exact(w.cols).map(|r| group_sums(r, g)).collect()
        }
        _ => Vec::new(),
    };
    let mut yt = vec![0f32; w.rows * seq];
    let per = rows_per_task(w.cols, seq);
    if w.rows <= per || w.rows * w.cols * seq < PARALLEL_FROM {
        run_rows_chunk(w, x, &xsums, seq, 0, &mut yt);
    } else {
        yt.par_chunks_mut(per * seq)
            .enumerate()
            .for_each(|(i, out)| run_rows_chunk(w, x, &xsums, seq, i * per, out));
    }
    if seq == 1 {
        return yt;
    }
    let mut y = vec![0f32; seq * w.rows];
    for (r, row) in yt.chunks_exact(seq).enumerate() {
        for (s, &v) in row.iter().enumerate() {
            y[s * w.rows + r] = v;
        }
    }
    y
}

/// `out[i] = row ids[i] of W · x` for one activation row `x` (the ids must be `< w.rows`).
pub(crate) fn matvec_rows(w: &Weights, x: &[f32], ids: &[u32], out: &mut [f32]) {
    debug_assert_eq!(ids.len(), out.len());
    let xsum = offset_group(w).map_or_else(Vec::new, |g| group_sums(x, g));
    let per = rows_per_task(w.cols, 1);
    if ids.len() <= per || ids.len() * w.cols < PARALLEL_FROM {
        run_sparse_chunk(w, x, &xsum, ids, out);
    } else {
        out.par_chunks_mut(per)
            .zip(ids.par_chunks(per))
            .for_each(|(o, ids)| run_sparse_chunk(w, x, &xsum, ids, o));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};

    fn random(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                s as f32 / u32::MAX as f32 * 2.0 - 1.0
            })
            .collect()
    }

    /// The portable kernels agree with the SIMD ones (when the CPU has them) on every layout
    /// and path.
    #[test]
    fn portable_kernels_agree_with_simd() {
        let (rows, cols) = (9, 256);
        let t = Tensor::from_vec(random(rows * cols, 3), (rows, cols), &Device::Cpu).unwrap();
        for dtype in [
            GgmlDType::F32,
            GgmlDType::Q4_1,
            GgmlDType::Q6K,
            GgmlDType::Q5K,
        ] {
            let q = QTensor::quantize(&t, dtype).unwrap();
            let w = Weights::from_ggml(dtype, &q.data().unwrap(), rows, cols, false).unwrap();
            for seq in [1, 6] {
                let x = random(seq * cols, 4);
                let xsums: Vec<Vec<f32>> = match offset_group(&w) {
                    Some(g) if seq < EXPAND_FROM_ROWS => {
                        x.chunks_exact(cols).map(|r| group_sums(r, g)).collect()
                    }
                    _ => Vec::new(),
                };
                let mut a = vec![0f32; rows * seq];
                rows_chunk(Portable, &w, &x, &xsums, seq, 0, &mut a);
                let b = matmul(&w, &x, seq);
                for r in 0..rows {
                    for s in 0..seq {
                        let (a, b) = (a[r * seq + s], b[s * rows + r]);
                        assert!((a - b).abs() < 1e-4, "{dtype:?} seq {seq}: {a} vs {b}");
                    }
                }
            }
        }
    }

    /// Every layout and every path (one row, a few rows, expanded rows, sparse rows) equals
    /// the f32 product with the dequantized weights up to summation order.
    #[test]
    fn matmul_matches_dequantized_f32_product() {
        // 2100 x 512: large enough for the parallel path at one activation row.
        let (rows, cols) = (2100, 512);
        let wdata = random(rows * cols, 7);
        let t = Tensor::from_vec(wdata, (rows, cols), &Device::Cpu).unwrap();
        for dtype in [
            GgmlDType::F32,
            GgmlDType::Q4_0,
            GgmlDType::Q4_1,
            GgmlDType::Q5_0,
            GgmlDType::Q5_1,
            GgmlDType::Q8_0,
            GgmlDType::Q4K,
            GgmlDType::Q5K,
            GgmlDType::Q6K,
        ] {
            let q = QTensor::quantize(&t, dtype).unwrap();
            let dense: Vec<f32> = q
                .dequantize(&Device::Cpu)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let w = Weights::from_ggml(dtype, &q.data().unwrap(), rows, cols, false).unwrap();
            for seq in [1, 2, 5] {
                let x = random(seq * cols, 99 + seq as u32);
                let y = matmul(&w, &x, seq);
                for s in 0..seq {
                    for r in 0..rows {
                        let want: f64 = (0..cols)
                            .map(|c| dense[r * cols + c] as f64 * x[s * cols + c] as f64)
                            .sum();
                        let got = y[s * rows + r];
                        assert!(
                            (got as f64 - want).abs() < 1e-4,
                            "{dtype:?} seq {seq} [{s},{r}]: {got} vs {want}"
                        );
                    }
                }
            }
            let x = random(cols, 5);
            let full = matmul(&w, &x, 1);
            let ids: Vec<u32> = (0..rows as u32).rev().step_by(3).collect();
            let mut out = vec![0f32; ids.len()];
            matvec_rows(&w, &x, &ids, &mut out);
            for (&id, &o) in ids.iter().zip(&out) {
                assert_eq!(o, full[id as usize], "{dtype:?} sparse row {id}");
            }
        }
    }
}
