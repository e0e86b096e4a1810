//! Token masks: one bit per token, in `u32` words.

use rein_vocab::TokenId;

/// The set of tokens allowed at one step: bit `i` of the mask (bit `i % 32`
/// of word `i / 32`) is set when token `i` is allowed.
///
/// The layout can be copied straight into a logits bias on any device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenMask {
    words: Vec<u32>,
    len: usize,
}

impl TokenMask {
    /// A mask for `len` tokens, with nothing allowed.
    pub fn new(len: usize) -> TokenMask {
        TokenMask {
            words: vec![0; len.div_ceil(32)],
            len,
        }
    }

    /// The number of tokens the mask covers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the mask covers no token.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Disallows every token.
    pub fn clear(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }

    /// Allows token `t` (ignored if outside the mask).
    #[inline]
    pub fn allow(&mut self, t: TokenId) {
        let i = t.0 as usize;
        if i < self.len {
            self.words[i / 32] |= 1 << (i % 32);
        }
    }

    /// Is token `t` allowed?
    #[inline]
    pub fn is_allowed(&self, t: TokenId) -> bool {
        let i = t.0 as usize;
        i < self.len && self.words[i / 32] & (1 << (i % 32)) != 0
    }

    /// The number of allowed tokens.
    pub fn count_allowed(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The allowed tokens, in increasing order.
    pub fn iter_allowed(&self) -> impl Iterator<Item = TokenId> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros();
                w &= w - 1;
                Some(TokenId(wi as u32 * 32 + b))
            })
        })
    }

    /// Allows every token set in `words` (same layout as [`words`](Self::words)).
    pub(crate) fn or_words(&mut self, words: &[u32]) {
        for (w, &o) in self.words.iter_mut().zip(words) {
            *w |= o;
        }
    }

    /// The mask's words.
    pub fn words(&self) -> &[u32] {
        &self.words
    }

    /// Sets every disallowed logit to negative infinity. Logits beyond the
    /// mask's width are disallowed too.
    pub fn apply_to_logits(&self, logits: &mut [f32]) {
        for (i, l) in logits.iter_mut().enumerate() {
            let ok = i < self.len && self.words[i / 32] & (1 << (i % 32)) != 0;
            if !ok {
                *l = f32::NEG_INFINITY;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_logits() {
        let mut m = TokenMask::new(70);
        m.allow(TokenId(0));
        m.allow(TokenId(33));
        m.allow(TokenId(69));
        m.allow(TokenId(70)); // outside: ignored
        assert_eq!(m.count_allowed(), 3);
        assert_eq!(
            m.iter_allowed().collect::<Vec<_>>(),
            vec![TokenId(0), TokenId(33), TokenId(69)]
        );
        let mut logits = vec![1.0f32; 72];
        m.apply_to_logits(&mut logits);
        assert_eq!(logits[0], 1.0);
        assert_eq!(logits[33], 1.0);
        assert_eq!(logits[1], f32::NEG_INFINITY);
        assert_eq!(logits[71], f32::NEG_INFINITY);
        m.clear();
        assert_eq!(m.count_allowed(), 0);
    }
}
