//! Token vocabularies for rein: the exact bytes of every token, special and
//! EOS tokens, and a flat token trie.
//!
//! A grammar engine reasons about bytes, a model about token ids. A
//! [`Vocabulary`] bridges the two: for every token id it knows the exact
//! bytes the token contributes to the output, which ids are special
//! (control tokens, never produced by a grammar), which ids end a sequence,
//! and it holds a [`TokenTrie`] over all non-special tokens for fast
//! depth-first mask computation.
//!
//! Sources:
//!
//! - `tokenizer.json` (Hugging Face `tokenizers`): byte-level BPE (Llama 3,
//!   Qwen 3, SmolLM2) and SentencePiece-style BPE with `▁` and `<0xNN>` byte
//!   fallback (Gemma 3); added tokens (special ones are special, others
//!   contribute their text's bytes);
//! - GGUF model metadata (feature `gguf`): the `gpt2` tokenizer model with
//!   a full tokenizer built from the merges, and the `llama`
//!   (SentencePiece) model for token bytes, specials and EOS;
//! - names known to `rein-assets` (`llama3`, `qwen3`, `gemma3`,
//!   `smollm2-135m-instruct`, `gemma3-270m`) via [`Vocabulary::load`];
//! - hand-made byte lists for tests ([`Vocabulary::from_token_bytes`]).
//!
//! # Example
//!
//! ```
//! use rein_vocab::{TokenId, Vocabulary};
//!
//! // A tiny vocabulary: ids 0..=3 are "a", "b", "ab", and an EOS special.
//! let vocab = Vocabulary::from_token_bytes(
//!     vec![b"a".to_vec(), b"b".to_vec(), b"ab".to_vec(), vec![]],
//!     vec![TokenId(3)],
//! );
//! assert_eq!(vocab.len(), 4);
//! assert!(vocab.is_special(TokenId(3)) && vocab.is_eos(TokenId(3)));
//!
//! // Without a tokenizer, encoding is greedy longest match.
//! let ids = vocab.encode("abba").unwrap();
//! assert_eq!(ids, [TokenId(2), TokenId(1), TokenId(0)]);
//! assert_eq!(vocab.decode_bytes(&ids), b"abba");
//!
//! // The trie finds tokens by their bytes.
//! let node = vocab.trie().find(b"ab").unwrap();
//! assert_eq!(vocab.trie().node_token(node), Some(TokenId(2)));
//! ```
//!
//! Loading a real vocabulary (fetched and cached on first use):
//!
//! ```no_run
//! let vocab = rein_vocab::Vocabulary::load("llama3")?;
//! let eot = vocab.token_by_text("<|eot_id|>").unwrap();
//! assert!(vocab.is_eos(eot));
//! # Ok::<(), rein_vocab::VocabError>(())
//! ```
//!
//! # Features
//!
//! - `gguf` (default): read vocabularies from GGUF model files
//!   ([`Vocabulary::from_gguf_file`]), using `candle-core`'s GGUF reader.
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod bytes;
mod error;
#[cfg(feature = "gguf")]
mod gguf;
mod hf;
mod slot;
mod trie;
mod vocabulary;

pub use error::VocabError;
pub use trie::{TokenTrie, MAX_TRIE_NODES};
pub use vocabulary::{Vocabulary, WELL_KNOWN_EOS};

/// A token id: an index into the model's logits.
///
/// Ids are at most [`TokenId::MAX`] (2^24 - 2), so a vocabulary has at most
/// [`TokenId::LIMIT`] tokens; the largest real vocabularies have about
/// 262,000. The limit lets the trie pack an id and a byte into 32 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenId(pub u32);

impl TokenId {
    /// The largest valid token id.
    pub const MAX: TokenId = TokenId((1 << 24) - 2);
    /// The largest number of tokens in a vocabulary.
    pub const LIMIT: usize = (1 << 24) - 1;

    /// The id as an index.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Vocabulary>();
        check::<TokenTrie>();
    }
}
