//! A per-layer key/value cache that grows by doubling and truncates in O(1).

/// Keys and values of one layer: position `p` holds `width = kv_heads * head_dim` values
/// at `p * width` in each buffer; the first `len` positions are valid. Not `Clone`: a
/// sequence owns its cache.
#[derive(Debug, Default)]
pub(crate) struct KvCache {
    k: Vec<f32>,
    v: Vec<f32>,
    len: usize,
    width: usize,
}

impl KvCache {
    pub(crate) fn new() -> KvCache {
        KvCache::default()
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

    /// Appends `seq` positions of keys and values (`seq * width` values each).
    pub(crate) fn append(&mut self, k: &[f32], v: &[f32], width: usize) {
        self.width = width;
        let end = self.len * width;
        self.k.truncate(end);
        self.v.truncate(end);
        let need = end + k.len();
        if need > self.k.capacity() {
            let cap = (need / width.max(1)).next_power_of_two().max(64) * width;
            self.k.reserve_exact(cap - self.k.len());
            self.v.reserve_exact(cap - self.v.len());
        }
        self.k.extend_from_slice(k);
        self.v.extend_from_slice(v);
        self.len += k.len() / width.max(1);
    }

    /// Keys of the cached positions, `len() * width` values.
    pub(crate) fn keys(&self) -> &[f32] {
        &self.k[..self.len * self.width]
    }

    /// Values of the cached positions, `len() * width` values.
    pub(crate) fn values(&self) -> &[f32] {
        &self.v[..self.len * self.width]
    }
}
