//! Slices of the vocabulary: the tokens made only of ordinary text.
//!
//! Most tokens of a real vocabulary are runs of ordinary characters: no
//! quote, no backslash, no control character. Inside a JSON string, a key
//! or any other lexeme that takes free text, the lexer lets nearly all of
//! them through, and building the token table of such a lexer state by
//! walking the whole trie costs milliseconds. Worse, bounded repetitions
//! (`maxLength`) and keys that must differ from the declared ones make every
//! position a new lexer state, so the tables are rebuilt at every token.
//!
//! A *slice* is the set of tokens whose bytes are a prefix of ordinary text
//! (UTF-8 of the characters U+0020 and above, except `"`, `\` and U+007F;
//! a token may end inside a character), grouped by byte length. Whether a
//! lexer state lets a whole group through is decided without looking at
//! the tokens: explore the product of the slice automaton and the lexer
//! DFA breadth-first; if no ordinary text of up to `n` bytes kills the
//! lexer state or completes a lexeme, every token of the groups of length
//! up to `n` is allowed by the lexer alone, and their tries need no walk.
//! This is exact: the groups are decided by the same DFA the walk would
//! run, over a language that contains every token of the group.
//!
//! Slices depend only on the vocabulary; they are built once per
//! vocabulary and shared by every grammar compiled for it.

use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use rein_vocab::{TokenId, TokenTrie, Vocabulary};

/// No transition in the slice automaton.
pub(crate) const NONE: u8 = u8::MAX;

/// Upper byte-length bounds of the groups; the last group holds the
/// longer tokens.
const GROUP_MAX_LENS: [usize; 8] = [1, 2, 3, 4, 6, 8, 12, 16];

/// The longest bounded group.
pub(crate) const MAX_BOUNDED: usize = 16;

/// One group of a slice: the tokens of ordinary text with a byte length in
/// the group's range.
#[derive(Debug)]
pub(crate) struct Group {
    /// The longest token of the group, in bytes.
    pub(crate) max_len: usize,
    /// The group's tokens as mask words.
    pub(crate) bits: Vec<u32>,
    /// The group's tokens as a trie, for lexer states that do not let the
    /// whole group through.
    pub(crate) trie: TokenTrie,
}

/// The vocabulary split into the groups of ordinary text and the rest.
#[derive(Debug)]
pub(crate) struct Slices {
    /// The slice automaton: for each state, the bytes with a transition
    /// and where they lead.
    bytes: Vec<Vec<(u8, u8)>>,
    pub(crate) groups: Vec<Group>,
    /// `prefix_bits[k]`: the tokens of groups `0..=k`, as mask words.
    pub(crate) prefix_bits: Vec<Vec<u32>>,
    /// Every other token (quotes, escapes, control characters, fragments
    /// that begin inside a character).
    pub(crate) rest: TokenTrie,
}

/// Index of a trie in a [`Slices`]: the groups' tries, then `rest`.
pub(crate) type TrieIndex = u32;

impl Slices {
    /// The start state of the slice automaton.
    pub(crate) const START: u8 = 0;

    fn new(vocab: &Vocabulary) -> Option<Slices> {
        let trans = utf8_text_automaton();
        let bytes = trans
            .iter()
            .map(|row| {
                (0..=255u8)
                    .filter_map(|b| (row[b as usize] != NONE).then_some((b, row[b as usize])))
                    .collect()
            })
            .collect();
        let words = vocab.len().div_ceil(32);
        let n_groups = GROUP_MAX_LENS.len() + 1;
        let mut members: Vec<Vec<(TokenId, &[u8])>> = vec![Vec::new(); n_groups];
        let mut rest: Vec<(TokenId, &[u8])> = Vec::new();
        for id in 0..vocab.len() {
            let t = TokenId(id as u32);
            let b = vocab.token_bytes(t);
            if b.is_empty() || vocab.is_special(t) {
                continue;
            }
            let mut q = Self::START;
            let ordinary = b.iter().all(|&x| {
                q = trans[q as usize][x as usize];
                q != NONE
            });
            if !ordinary {
                rest.push((t, b));
                continue;
            }
            let g = GROUP_MAX_LENS
                .iter()
                .position(|&m| b.len() <= m)
                .unwrap_or(GROUP_MAX_LENS.len());
            members[g].push((t, b));
        }
        let mut groups = Vec::with_capacity(n_groups);
        for (g, toks) in members.into_iter().enumerate() {
            let mut bits = vec![0u32; words];
            for &(t, _) in &toks {
                bits[t.index() / 32] |= 1 << (t.index() % 32);
            }
            groups.push(Group {
                // The last group: as long as its longest token.
                max_len: GROUP_MAX_LENS.get(g).copied().unwrap_or_else(|| {
                    toks.iter()
                        .map(|(_, b)| b.len())
                        .max()
                        .unwrap_or(MAX_BOUNDED + 1)
                }),
                bits,
                trie: TokenTrie::from_tokens(toks).ok()?,
            });
        }
        let mut prefix_bits: Vec<Vec<u32>> = Vec::with_capacity(groups.len());
        for g in &groups {
            let mut bits = prefix_bits
                .last()
                .cloned()
                .unwrap_or_else(|| vec![0; words]);
            for (w, &b) in bits.iter_mut().zip(&g.bits) {
                *w |= b;
            }
            prefix_bits.push(bits);
        }
        Some(Slices {
            bytes,
            groups,
            prefix_bits,
            rest: TokenTrie::from_tokens(rest).ok()?,
        })
    }

    /// The trie with this index.
    pub(crate) fn trie(&self, i: TrieIndex) -> &TokenTrie {
        self.groups.get(i as usize).map_or(&self.rest, |g| &g.trie)
    }

    /// The index of `rest`.
    pub(crate) fn rest_index(&self) -> TrieIndex {
        self.groups.len() as TrieIndex
    }

    /// The bytes with a transition from state `q`, and where they lead.
    #[inline]
    pub(crate) fn transitions(&self, q: u8) -> &[(u8, u8)] {
        &self.bytes[q as usize]
    }

    /// Number of states of the slice automaton.
    pub(crate) fn num_states(&self) -> usize {
        self.bytes.len()
    }
}

/// The bytes that occur in ordinary text, as inclusive runs: exactly the
/// bytes with a transition in [`utf8_text_automaton`] (a test checks it).
const ORDINARY_BYTES: [(u8, u8); 5] = [
    (0x20, 0x21),
    (0x23, 0x5b),
    (0x5d, 0x7e),
    (0x80, 0xbf),
    (0xc2, 0xf4),
];

/// True if some byte of `lo..=hi` occurs in ordinary text.
pub(crate) fn ordinary_between(lo: u8, hi: u8) -> bool {
    ORDINARY_BYTES.iter().any(|&(a, b)| lo <= b && a <= hi)
}

/// The automaton of prefixes of UTF-8 text over the characters U+0020 and
/// above except `"` (U+0022), `\` (U+005C) and U+007F, ending anywhere
/// (also inside a character). State 0 is between characters.
fn utf8_text_automaton() -> Vec<[u8; 256]> {
    // 0: between characters; 1: one continuation byte to go; 2: after E0
    // (A0..BF next); 3: two to go; 4: after ED (80..9F next, no
    // surrogates); 5: after F0 (90..BF); 6: three to go; 7: after F4
    // (80..8F).
    let mut t = vec![[NONE; 256]; 8];
    for b in 0x20..0x7fu8 {
        if b != b'"' && b != b'\\' {
            t[0][b as usize] = 0;
        }
    }
    let mut set = |q: usize, lo: u8, hi: u8, to: u8| {
        for b in lo..=hi {
            t[q][b as usize] = to;
        }
    };
    set(0, 0xc2, 0xdf, 1);
    set(0, 0xe0, 0xe0, 2);
    set(0, 0xe1, 0xec, 3);
    set(0, 0xed, 0xed, 4);
    set(0, 0xee, 0xef, 3);
    set(0, 0xf0, 0xf0, 5);
    set(0, 0xf1, 0xf3, 6);
    set(0, 0xf4, 0xf4, 7);
    set(1, 0x80, 0xbf, 0);
    set(2, 0xa0, 0xbf, 1);
    set(3, 0x80, 0xbf, 1);
    set(4, 0x80, 0x9f, 1);
    set(5, 0x90, 0xbf, 3);
    set(6, 0x80, 0xbf, 3);
    set(7, 0x80, 0x8f, 3);
    t
}

type Registry = Vec<(Weak<Vocabulary>, Arc<OnceLock<Option<Slices>>>)>;

static REGISTRY: Mutex<Registry> = Mutex::new(Vec::new());

/// The slices of `vocab`, built on first use and shared by every grammar
/// compiled for the same vocabulary (`None` if a trie would be too large).
pub(crate) fn slices_for(vocab: &Arc<Vocabulary>) -> Arc<OnceLock<Option<Slices>>> {
    let slot = {
        let mut reg = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        reg.retain(|(w, _)| w.strong_count() > 0);
        let weak = Arc::downgrade(vocab);
        match reg.iter().find(|(w, _)| w.ptr_eq(&weak)) {
            Some((_, s)) => s.clone(),
            None => {
                let s = Arc::new(OnceLock::new());
                reg.push((weak, s.clone()));
                s
            }
        }
    };
    slot.get_or_init(|| Slices::new(vocab));
    slot
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(bytes: &[u8]) -> bool {
        let t = utf8_text_automaton();
        let mut q = 0u8;
        bytes.iter().all(|&b| {
            q = t[q as usize][b as usize];
            q != NONE
        })
    }

    #[test]
    fn automaton_is_utf8_text_prefixes() {
        assert!(accepts(b"hello world"));
        assert!(accepts("héllo — 日本 🎉".as_bytes()));
        // Ends inside a character.
        assert!(accepts(&"日".as_bytes()[..2]));
        assert!(!accepts(b"say \"hi\""));
        assert!(!accepts(b"a\\n"));
        assert!(!accepts(b"tab\there"));
        assert!(!accepts(b"\x7f"));
        // A continuation byte first, an overlong form, a surrogate.
        assert!(!accepts(b"\x80"));
        assert!(!accepts(b"\xc0\xaf"));
        assert!(!accepts(b"\xed\xa0\x80"));
        assert!(!accepts(b"\xf4\x90\x80\x80"));
    }

    #[test]
    fn ordinary_bytes_are_the_automaton_bytes() {
        let t = utf8_text_automaton();
        for b in 0..=255u8 {
            let in_automaton = t.iter().any(|row| row[b as usize] != NONE);
            assert_eq!(ordinary_between(b, b), in_automaton, "byte {b:#x}");
        }
        assert!(ordinary_between(0x00, 0x20) && !ordinary_between(0x00, 0x1f));
        assert!(!ordinary_between(0x22, 0x22) && !ordinary_between(0xc0, 0xc1));
    }

    #[test]
    fn every_token_is_in_exactly_one_place() {
        let toks: Vec<Vec<u8>> = vec![
            b"a".to_vec(),
            b"ab".to_vec(),
            b"\"".to_vec(),
            b"abcdefghijklmnopqrstuvwxyz".to_vec(),
            "日".as_bytes()[1..].to_vec(),
            b"abcde".to_vec(),
            b"ab".to_vec(),
            Vec::new(),
        ];
        let vocab = Arc::new(Vocabulary::from_token_bytes(toks, vec![TokenId(7)]));
        let slot = slices_for(&vocab);
        let s = slot.get().and_then(Option::as_ref).expect("slices");
        assert_eq!(s.num_states(), 8);
        let mut seen = vec![0; vocab.len()];
        for (i, g) in s.groups.iter().enumerate() {
            for (id, n) in seen.iter_mut().enumerate() {
                if g.bits[id / 32] & (1 << (id % 32)) != 0 {
                    *n += 1;
                    let len = vocab.token_bytes(TokenId(id as u32)).len();
                    assert!(len <= g.max_len, "token {id} in group {i}");
                    assert!(i == 0 || len > s.groups[i - 1].max_len);
                }
            }
        }
        let mut walk = |trie: &TokenTrie| {
            for n in 0..trie.num_nodes() {
                if let Some(t) = trie.node_token(n) {
                    seen[t.index()] += 10;
                    for d in trie.node_duplicates(n) {
                        seen[d.index()] += 10;
                    }
                }
            }
        };
        for g in &s.groups {
            walk(&g.trie);
        }
        walk(&s.rest);
        // Ordinary tokens: one group bit and one trie; others: the rest trie.
        assert_eq!(seen, [11, 11, 10, 11, 10, 11, 11, 0]);
    }
}
