//! A per-layer key/value cache that grows by doubling and truncates in O(1).

use candle_core::{DType, Device, Tensor};

/// Keys and values of one layer, shape `(kv_heads, capacity, head_dim)`; the first `len`
/// positions are valid. Not `Clone`: the buffers are written in place, so a clone would
/// share them.
#[derive(Debug)]
pub(crate) struct KvCache {
    k: Option<Tensor>,
    v: Option<Tensor>,
    len: usize,
}

impl KvCache {
    pub(crate) fn new() -> KvCache {
        KvCache {
            k: None,
            v: None,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Forgets positions `>= len` (the buffers are kept for reuse).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Frees the buffers.
    pub(crate) fn clear(&mut self) {
        *self = KvCache::new();
    }

    /// Appends `k`, `v` of shape `(kv_heads, seq, head_dim)`.
    pub(crate) fn append(&mut self, k: &Tensor, v: &Tensor) -> candle_core::Result<()> {
        let (heads, seq, dim) = k.dims3()?;
        let need = self.len + seq;
        let cap = self.k.as_ref().map_or(0, |t| t.dim(1).unwrap_or(0));
        if need > cap {
            let new_cap = need.next_power_of_two().max(64);
            let grow = |old: &Option<Tensor>, device: &Device| -> candle_core::Result<Tensor> {
                let t = Tensor::zeros((heads, new_cap, dim), DType::F32, device)?;
                if let Some(old) = old {
                    if self.len > 0 {
                        t.slice_set(&old.narrow(1, 0, self.len)?.contiguous()?, 1, 0)?;
                    }
                }
                Ok(t)
            };
            let device = k.device().clone();
            let nk = grow(&self.k, &device)?;
            let nv = grow(&self.v, &device)?;
            self.k = Some(nk);
            self.v = Some(nv);
        }
        if let (Some(kb), Some(vb)) = (&self.k, &self.v) {
            kb.slice_set(&k.contiguous()?, 1, self.len)?;
            vb.slice_set(&v.contiguous()?, 1, self.len)?;
        }
        self.len = need;
        Ok(())
    }

    /// Keys and values of positions `start..len`, shape `(kv_heads, len - start, head_dim)`.
    pub(crate) fn range(&self, start: usize) -> candle_core::Result<(Tensor, Tensor)> {
        match (&self.k, &self.v) {
            (Some(k), Some(v)) => Ok((
                k.narrow(1, start, self.len - start)?,
                v.narrow(1, start, self.len - start)?,
            )),
            _ => candle_core::bail!("kv cache is empty"),
        }
    }
}
