//! The [`Vocabulary`]: token bytes, specials, EOS set, trie.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::slot::TokenizerSlot;
use crate::{TokenId, TokenTrie, VocabError};

/// End-of-turn and end-of-text specials that stop generation whenever they
/// are in a vocabulary as special tokens.
pub const WELL_KNOWN_EOS: &[&str] = &[
    "</s>",
    "<eos>",
    "<end_of_turn>",
    "<|end_of_text|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|end|>",
    "<|return|>",
];

/// For every token id, the exact bytes it contributes to the output; the
/// special tokens; the set of end-of-sequence tokens; and a [`TokenTrie`]
/// over all non-special tokens.
///
/// A vocabulary is immutable once built, `Send + Sync`, and cheap to share
/// via [`Arc`]. Its [`len`](Vocabulary::len) is the mask width: the number
/// of logits the model produces (see [`with_mask_width`](Vocabulary::with_mask_width)).
#[derive(Clone)]
pub struct Vocabulary {
    /// Token `t`'s bytes are `bytes[offsets[t]..offsets[t + 1]]`.
    offsets: Vec<u32>,
    bytes: Vec<u8>,
    special: Vec<bool>,
    eos: Vec<TokenId>,
    trie: TokenTrie,
    by_text: HashMap<String, TokenId>,
    /// The tokenizer and the name of its origin (for errors).
    tokenizer: Option<(Arc<TokenizerSlot>, Arc<str>)>,
}

impl std::fmt::Debug for Vocabulary {
    /// A summary: the tables are far too large to print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vocabulary")
            .field("len", &self.len())
            .field("special", &self.special.iter().filter(|&&s| s).count())
            .field("eos", &self.eos)
            .field("trie_nodes", &self.trie.num_nodes())
            .field("tokenizer", &self.tokenizer.is_some())
            .finish()
    }
}

/// What the loaders collect before [`Vocabulary::assemble`].
pub(crate) struct Parts {
    /// Token `t`'s bytes are `bytes[offsets[t]..offsets[t + 1]]` (empty for
    /// special or missing ids); `offsets` starts with 0.
    pub(crate) offsets: Vec<u32>,
    pub(crate) bytes: Vec<u8>,
    pub(crate) special: Vec<bool>,
    /// Special and added tokens by their text.
    pub(crate) by_text: HashMap<String, TokenId>,
    /// EOS ids named by the source (config file, GGUF metadata).
    pub(crate) eos: Vec<TokenId>,
    pub(crate) tokenizer: Option<TokenizerSlot>,
}

impl Parts {
    /// Parts from one byte string per id.
    pub(crate) fn from_token_bytes(tokens: &[Vec<u8>]) -> Result<Parts, usize> {
        let total: usize = tokens.iter().map(Vec::len).sum();
        if total > u32::MAX as usize {
            return Err(total);
        }
        let mut offsets = Vec::with_capacity(tokens.len() + 1);
        let mut bytes = Vec::with_capacity(total);
        offsets.push(0);
        for t in tokens {
            bytes.extend_from_slice(t);
            offsets.push(bytes.len() as u32);
        }
        Ok(Parts {
            offsets,
            bytes,
            special: tokens.iter().map(Vec::is_empty).collect(),
            by_text: HashMap::new(),
            eos: Vec::new(),
            tokenizer: None,
        })
    }
}

impl Vocabulary {
    pub(crate) fn assemble(origin: &str, parts: Parts) -> Result<Vocabulary, VocabError> {
        let Parts {
            offsets,
            bytes,
            mut special,
            by_text,
            mut eos,
            tokenizer,
        } = parts;
        let n = offsets.len().saturating_sub(1);
        if n > TokenId::LIMIT {
            return Err(VocabError::TooManyTokens {
                origin: origin.to_string(),
                count: n,
                limit: TokenId::LIMIT,
            });
        }
        special.resize(n, false);
        for name in WELL_KNOWN_EOS {
            if let Some(&t) = by_text.get(*name) {
                if special.get(t.index()).copied().unwrap_or(false) {
                    eos.push(t);
                }
            }
        }
        eos.retain(|t| t.index() < n);
        eos.sort_unstable();
        eos.dedup();
        let trie = build_trie(origin, &offsets, &bytes, &special)?;
        Ok(Vocabulary {
            offsets,
            bytes,
            special,
            eos,
            trie,
            by_text,
            tokenizer: tokenizer.map(|t| (Arc::new(t), Arc::from(origin))),
        })
    }

    /// Loads a `tokenizer.json` file. A `tokenizer_config.json` next to it,
    /// when present, adds its `eos_token` to the EOS set.
    ///
    /// The byte table, specials, EOS set and trie are ready on return; the
    /// [`tokenizers::Tokenizer`] (only needed by [`encode`](Vocabulary::encode)
    /// and [`tokenizer`](Vocabulary::tokenizer)) is built on a background
    /// thread and waited for on first use. A file this crate can read but
    /// the `tokenizers` crate rejects is reported then, by
    /// [`try_tokenizer`](Vocabulary::try_tokenizer) and `encode`.
    pub fn from_tokenizer_file(path: impl AsRef<Path>) -> Result<Self, VocabError> {
        crate::hf::from_tokenizer_file(path.as_ref())
    }

    /// Loads a `tokenizer.json` from memory; `origin` names it in errors.
    pub fn from_tokenizer_json(json: &[u8], origin: &str) -> Result<Self, VocabError> {
        crate::hf::from_tokenizer_json(Arc::new(json.to_vec()), origin, None)
    }

    /// Builds the vocabulary of an already loaded tokenizer.
    pub fn from_tokenizer(tok: tokenizers::Tokenizer) -> Result<Self, VocabError> {
        crate::hf::from_tokenizer(tok, "tokenizer")
    }

    /// Loads the vocabulary from a GGUF model file's metadata.
    ///
    /// For the `gpt2` (byte-level BPE) tokenizer model, a
    /// [`tokenizers::Tokenizer`] is built from the same metadata, so text
    /// can be encoded; for `llama` (SentencePiece) models only the token
    /// bytes, specials and EOS set are available and
    /// [`encode`](Vocabulary::encode) falls back to greedy longest match.
    #[cfg(feature = "gguf")]
    pub fn from_gguf_file(path: impl AsRef<Path>) -> Result<Self, VocabError> {
        crate::gguf::from_gguf_file(path.as_ref())
    }

    /// A known tokenizer or model name (via `rein-assets`), a `.gguf` path,
    /// or a `tokenizer.json` path. A file is taken for GGUF when its name
    /// ends in `.gguf` or it starts with the GGUF magic.
    pub fn load(name_or_path: &str) -> Result<Self, VocabError> {
        use rein_assets::AssetKind;
        let path = Path::new(name_or_path);
        let kind = if path.is_file() {
            // GGUF files start with the magic "GGUF"; anything else is
            // taken for a tokenizer.json.
            let mut magic = [0u8; 4];
            let is_gguf = std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
                .is_ok()
                && &magic == b"GGUF";
            if is_gguf || name_or_path.ends_with(".gguf") {
                AssetKind::Model
            } else {
                AssetKind::Tokenizer
            }
        } else {
            match rein_assets::find(name_or_path) {
                Some(asset) => asset.kind,
                None => {
                    return Err(VocabError::UnknownName {
                        input: name_or_path.to_string(),
                        tokenizers: rein_assets::known_names(AssetKind::Tokenizer),
                        models: rein_assets::known_names(AssetKind::Model),
                    })
                }
            }
        };
        match kind {
            AssetKind::Tokenizer => {
                Self::from_tokenizer_file(rein_assets::resolve_tokenizer(name_or_path)?)
            }
            #[cfg(feature = "gguf")]
            AssetKind::Model => Self::from_gguf_file(rein_assets::resolve_model(name_or_path)?),
            #[cfg(not(feature = "gguf"))]
            AssetKind::Model => Err(VocabError::Unsupported {
                origin: name_or_path.to_string(),
                message: "reading GGUF files needs the `gguf` feature of rein-vocab".into(),
            }),
        }
    }

    /// Tiny hand-made vocabularies for tests: token `i` has the bytes
    /// `tokens[i]`; no tokenizer, so [`encode`](Vocabulary::encode) uses
    /// greedy longest match. Tokens with empty bytes are treated as
    /// special.
    ///
    /// # Panics
    ///
    /// When there are more than [`TokenId::LIMIT`] tokens; see
    /// [`try_from_token_bytes`](Vocabulary::try_from_token_bytes).
    pub fn from_token_bytes(tokens: Vec<Vec<u8>>, eos: Vec<TokenId>) -> Self {
        match Self::try_from_token_bytes(tokens, eos) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// The fallible form of [`from_token_bytes`](Vocabulary::from_token_bytes).
    pub fn try_from_token_bytes(
        tokens: Vec<Vec<u8>>,
        eos: Vec<TokenId>,
    ) -> Result<Self, VocabError> {
        let origin = "token bytes";
        let mut parts =
            Parts::from_token_bytes(&tokens).map_err(|total| VocabError::Unsupported {
                origin: origin.to_string(),
                message: format!("the tokens hold {total} bytes in all, more than 4 GiB"),
            })?;
        parts.eos = eos;
        Self::assemble(origin, parts)
    }

    /// The number of token ids: the mask width, i.e. the number of model
    /// logits.
    #[inline]
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no tokens.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes token `t` contributes to the output; empty for special
    /// tokens and unknown ids.
    #[inline]
    pub fn token_bytes(&self, t: TokenId) -> &[u8] {
        let i = t.index();
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.bytes[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Whether `t` is a special (control) token. Special tokens contribute
    /// no bytes and are not in the trie.
    #[inline]
    pub fn is_special(&self, t: TokenId) -> bool {
        self.special.get(t.index()).copied().unwrap_or(false)
    }

    /// The end-of-sequence tokens, sorted.
    pub fn eos_tokens(&self) -> &[TokenId] {
        &self.eos
    }

    /// Whether `t` ends the sequence.
    #[inline]
    pub fn is_eos(&self, t: TokenId) -> bool {
        self.eos.contains(&t)
    }

    /// The trie over all non-special, non-empty tokens.
    #[inline]
    pub fn trie(&self) -> &TokenTrie {
        &self.trie
    }

    /// The tokenizer, when the vocabulary came from one (or one could be
    /// built from GGUF metadata).
    ///
    /// Loading a `tokenizer.json` builds the tokenizer on a background
    /// thread; the first call waits for it. `None` also when that build
    /// failed: [`try_tokenizer`](Vocabulary::try_tokenizer) says why.
    pub fn tokenizer(&self) -> Option<&tokenizers::Tokenizer> {
        self.try_tokenizer().ok().flatten()
    }

    /// Like [`tokenizer`](Vocabulary::tokenizer), but an error when the
    /// tokenizer exists and could not be built (the `tokenizers` crate
    /// rejected a `tokenizer.json` this crate could read).
    pub fn try_tokenizer(&self) -> Result<Option<&tokenizers::Tokenizer>, VocabError> {
        match &self.tokenizer {
            None => Ok(None),
            Some((slot, origin)) => slot
                .get()
                .map(Some)
                .map_err(|message| VocabError::Tokenizer {
                    origin: origin.to_string(),
                    message: message.to_string(),
                }),
        }
    }

    /// Encodes text without adding special tokens. Special tokens written
    /// literally in the text are recognized by the tokenizer. Without a
    /// tokenizer, encodes by greedy longest match over the trie.
    pub fn encode(&self, text: &str) -> Result<Vec<TokenId>, VocabError> {
        if let Some(tok) = self.try_tokenizer()? {
            let enc = tok.encode(text, false).map_err(|e| VocabError::Encode {
                message: e.to_string(),
            })?;
            return Ok(enc.get_ids().iter().map(|&i| TokenId(i)).collect());
        }
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            match self.trie.longest_prefix(&bytes[pos..]) {
                Some((t, n)) => {
                    out.push(t);
                    pos += n;
                }
                None => {
                    return Err(VocabError::NoTokenForByte {
                        offset: pos,
                        byte: bytes[pos],
                    })
                }
            }
        }
        Ok(out)
    }

    /// The concatenated bytes of `ids` (special tokens contribute nothing).
    pub fn decode_bytes(&self, ids: &[TokenId]) -> Vec<u8> {
        let mut out = Vec::new();
        for &t in ids {
            out.extend_from_slice(self.token_bytes(t));
        }
        out
    }

    /// Sets the mask width to the model's number of logits, which may
    /// differ from the tokenizer's id count (Gemma 3: 262,144 logits,
    /// 262,145 ids). Ids `>= n_logits` are dropped, with their trie entries
    /// and EOS membership; ids added to reach `n_logits` have no bytes and
    /// are never allowed.
    ///
    /// Widths above [`TokenId::LIMIT`] are clamped to it.
    pub fn with_mask_width(mut self, n_logits: usize) -> Self {
        let n_logits = n_logits.min(TokenId::LIMIT);
        let n = self.len();
        if n_logits == n {
            return self;
        }
        if n_logits > n {
            let end = self.bytes.len() as u32;
            self.offsets.resize(n_logits + 1, end);
            self.special.resize(n_logits, false);
            return self;
        }
        self.offsets.truncate(n_logits + 1);
        self.bytes.truncate(self.offsets[n_logits] as usize);
        self.special.truncate(n_logits);
        self.eos.retain(|t| t.index() < n_logits);
        self.by_text.retain(|_, t| t.index() < n_logits);
        // Fewer tokens than before cannot exceed the node limit.
        if let Ok(trie) = build_trie("vocabulary", &self.offsets, &self.bytes, &self.special) {
            self.trie = trie;
        }
        self
    }

    /// A special or added token by its text, e.g. `"<|im_end|>"`.
    pub fn token_by_text(&self, s: &str) -> Option<TokenId> {
        self.by_text.get(s).copied()
    }

    /// All special tokens, in id order.
    pub fn special_tokens(&self) -> impl Iterator<Item = TokenId> + '_ {
        self.special
            .iter()
            .enumerate()
            .filter(|(_, &s)| s)
            .map(|(i, _)| TokenId(i as u32))
    }

    /// The heap memory used by the byte table and the trie, in bytes
    /// (without the tokenizer).
    pub fn memory_usage(&self) -> usize {
        self.offsets.len() * 4 + self.bytes.len() + self.special.len() + self.trie.memory_usage()
    }
}

fn build_trie(
    origin: &str,
    offsets: &[u32],
    bytes: &[u8],
    special: &[bool],
) -> Result<TokenTrie, VocabError> {
    TokenTrie::build(
        offsets
            .windows(2)
            .zip(special)
            .enumerate()
            .filter(|(_, (_, &s))| !s)
            .map(|(i, (w, _))| (TokenId(i as u32), &bytes[w[0] as usize..w[1] as usize])),
    )
    .map_err(|nodes| VocabError::TrieTooLarge {
        origin: origin.to_string(),
        nodes,
        limit: crate::trie::MAX_TRIE_NODES,
    })
}
