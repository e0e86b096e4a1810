//! Loading from GGUF model metadata (`tokenizer.ggml.*`).
//!
//! Supported tokenizer models:
//!
//! - `gpt2`: byte-level BPE (SmolLM2, Llama 3, Qwen). Besides the token
//!   bytes, a [`tokenizers::Tokenizer`] is built from `tokens` and `merges`,
//!   with a pre-tokenizer chosen by `tokenizer.ggml.pre`, so prompts can be
//!   encoded;
//! - `llama`: SentencePiece with byte fallback (Gemma, Llama 2): token
//!   bytes, specials and EOS only.
//!
//! Token types follow llama.cpp: 1 normal, 2 unknown, 3 control, 4 user
//! defined, 5 unused, 6 byte. Control and unknown tokens are special;
//! unused tokens have no bytes; user-defined tokens are decoded like normal
//! ones (as the Hugging Face decoders do).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior};

use crate::bytes::Decoding;
use crate::hf::parts_from_strings;
use crate::slot::TokenizerSlot;
use crate::{TokenId, VocabError, Vocabulary};

const TYPE_UNKNOWN: i64 = 2;
const TYPE_CONTROL: i64 = 3;
const TYPE_USER_DEFINED: i64 = 4;
const TYPE_UNUSED: i64 = 5;
const TYPE_BYTE: i64 = 6;

/// The Llama 3 pre-tokenizer split regex.
const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// The Qwen 2 / Qwen 3 pre-tokenizer split regex.
const QWEN2_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

struct Meta<'a> {
    origin: &'a str,
    md: &'a HashMap<String, Value>,
}

impl Meta<'_> {
    fn err(&self, key: &'static str, message: impl Into<String>) -> VocabError {
        VocabError::GgufMetadata {
            origin: self.origin.to_string(),
            key,
            message: message.into(),
        }
    }

    fn str(&self, key: &'static str) -> Result<Option<&str>, VocabError> {
        match self.md.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.err(
                key,
                format!("expected a string, found {:?}", v.value_type()),
            )),
        }
    }

    fn int(&self, key: &'static str) -> Result<Option<i64>, VocabError> {
        match self.md.get(key) {
            None => Ok(None),
            Some(v) => int_of(v).map(Some).ok_or_else(|| {
                self.err(
                    key,
                    format!("expected an integer, found {:?}", v.value_type()),
                )
            }),
        }
    }

    fn array(&self, key: &'static str) -> Result<Option<&[Value]>, VocabError> {
        match self.md.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.err(
                key,
                format!("expected an array, found {:?}", v.value_type()),
            )),
        }
    }

    fn strings(&self, key: &'static str) -> Result<Option<Vec<&str>>, VocabError> {
        let Some(a) = self.array(key)? else {
            return Ok(None);
        };
        a.iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.as_str()),
                v => Err(self.err(
                    key,
                    format!("element {i} is {:?}, not a string", v.value_type()),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

fn int_of(v: &Value) -> Option<i64> {
    Some(match *v {
        Value::U8(x) => x.into(),
        Value::I8(x) => x.into(),
        Value::U16(x) => x.into(),
        Value::I16(x) => x.into(),
        Value::U32(x) => x.into(),
        Value::I32(x) => x.into(),
        Value::U64(x) => i64::try_from(x).ok()?,
        Value::I64(x) => x,
        _ => return None,
    })
}

pub(crate) fn from_gguf_file(path: &Path) -> Result<Vocabulary, VocabError> {
    let origin = path.display().to_string();
    let file = File::open(path).map_err(|source| VocabError::Io {
        path: origin.clone(),
        source,
    })?;
    let content = Content::read(&mut BufReader::new(file)).map_err(|e| VocabError::Gguf {
        origin: origin.clone(),
        message: e.to_string(),
    })?;
    from_gguf_metadata(&content.metadata, &origin)
}

/// Builds a vocabulary from GGUF metadata; `origin` names the file in
/// errors.
pub(crate) fn from_gguf_metadata(
    md: &HashMap<String, Value>,
    origin: &str,
) -> Result<Vocabulary, VocabError> {
    let meta = Meta { origin, md };
    let model = meta
        .str("tokenizer.ggml.model")?
        .ok_or_else(|| meta.err("tokenizer.ggml.model", "missing"))?;
    let decoding = match model {
        "gpt2" => Decoding::ByteLevel,
        "llama" => Decoding::SentencePiece {
            byte_fallback: true,
        },
        other => {
            return Err(VocabError::Unsupported {
                origin: origin.to_string(),
                message: format!("GGUF tokenizer model '{other}' (supported: gpt2, llama)"),
            })
        }
    };
    let tokens = meta
        .strings("tokenizer.ggml.tokens")?
        .ok_or_else(|| meta.err("tokenizer.ggml.tokens", "missing"))?;
    let types: Vec<i64> = match meta.array("tokenizer.ggml.token_type")? {
        None => vec![1; tokens.len()],
        Some(a) => {
            if a.len() != tokens.len() {
                return Err(meta.err(
                    "tokenizer.ggml.token_type",
                    format!("{} entries for {} tokens", a.len(), tokens.len()),
                ));
            }
            a.iter()
                .enumerate()
                .map(|(i, v)| {
                    int_of(v).ok_or_else(|| {
                        meta.err(
                            "tokenizer.ggml.token_type",
                            format!("element {i} is not an integer"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?
        }
    };
    if tokens.len() > TokenId::LIMIT {
        return Err(VocabError::TooManyTokens {
            origin: origin.to_string(),
            count: tokens.len(),
            limit: TokenId::LIMIT,
        });
    }

    // Normal, byte and user-defined tokens go through the model's decoding;
    // control and unknown tokens are special "added" tokens; unused tokens
    // have no bytes.
    let mut vocab: Vec<(Cow<str>, u32)> = Vec::with_capacity(tokens.len());
    let mut added: Vec<(u32, Cow<str>, bool)> = Vec::new();
    for (i, (&text, &ty)) in tokens.iter().zip(&types).enumerate() {
        let id = i as u32;
        match ty {
            TYPE_CONTROL | TYPE_UNKNOWN => added.push((id, Cow::Borrowed(text), true)),
            TYPE_UNUSED => {}
            // `<0xNN>`: the SentencePiece decoding below has byte fallback.
            TYPE_BYTE => vocab.push((Cow::Borrowed(text), id)),
            TYPE_USER_DEFINED => {
                added.push((id, Cow::Borrowed(text), false));
            }
            _ => vocab.push((Cow::Borrowed(text), id)),
        }
    }
    let mut parts = parts_from_strings(origin, vocab, added.iter().cloned(), decoding, None)?;
    // Give unused tail ids a slot too, so len() == number of tokens.
    let n = tokens.len();
    if parts.offsets.len() < n + 1 {
        let end = parts.bytes.len() as u32;
        parts.offsets.resize(n + 1, end);
        parts.special.resize(n, false);
    }

    for key in [
        "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.eot_token_id",
        "tokenizer.ggml.eom_token_id",
    ] {
        if let Some(id) = meta.int(key)? {
            match u32::try_from(id) {
                Ok(id) if (id as usize) < n => parts.eos.push(TokenId(id)),
                _ => return Err(meta.err(key, format!("{id} is not a token id (0..{n})"))),
            }
        }
    }

    if model == "gpt2" {
        parts.tokenizer = Some(TokenizerSlot::ready(gpt2_tokenizer(
            &meta, &tokens, &added,
        )?));
    }
    Vocabulary::assemble(origin, parts)
}

/// A byte-level BPE tokenizer from GGUF `gpt2` metadata.
fn gpt2_tokenizer(
    meta: &Meta<'_>,
    tokens: &[&str],
    added: &[(u32, Cow<str>, bool)],
) -> Result<tokenizers::Tokenizer, VocabError> {
    let merges_key = "tokenizer.ggml.merges";
    let merges = meta
        .strings(merges_key)?
        .ok_or_else(|| meta.err(merges_key, "missing (needed to encode text)"))?;
    let merges: Vec<(String, String)> = merges
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| meta.err(merges_key, format!("merge {i} ('{m}') has no space")))
        })
        .collect::<Result<_, _>>()?;
    let vocab: tokenizers::models::bpe::Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), i as u32))
        .collect();
    let bpe = tokenizers::models::bpe::BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| meta.err(merges_key, format!("cannot build a BPE model: {e}")))?;
    let pre = meta.str("tokenizer.ggml.pre")?.unwrap_or("default");
    let split = |regex: &str| -> Result<PreTokenizerWrapper, VocabError> {
        let split = Split::new(
            SplitPattern::Regex(regex.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| meta.err("tokenizer.ggml.pre", format!("bad split regex: {e}")))?;
        Ok(Sequence::new(vec![
            split.into(),
            ByteLevel::new(false, true, false).into(),
        ])
        .into())
    };
    let pre_tokenizer: PreTokenizerWrapper = match pre {
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" => split(LLAMA3_REGEX)?,
        "qwen2" | "qwen3" | "deepseek-r1-qwen" => split(QWEN2_REGEX)?,
        "smollm" | "starcoder" | "refact" | "codeshell" | "command-r" | "exaone" | "minerva-7b" => {
            Sequence::new(vec![
                Digits::new(true).into(),
                ByteLevel::new(false, true, true).into(),
            ])
            .into()
        }
        // GPT-2's own regex; other pre-tokenizers still round-trip exactly,
        // they may just split differently from the reference.
        _ => ByteLevel::new(false, true, true).into(),
    };
    let mut tok = tokenizers::Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(pre_tokenizer));
    tok.with_decoder(Some(ByteLevel::new(false, true, true)));
    let specials: Vec<AddedToken> = added
        .iter()
        .filter(|a| a.2)
        .map(|a| AddedToken::from(a.1.to_string(), true))
        .collect();
    let users: Vec<AddedToken> = added
        .iter()
        .filter(|a| !a.2)
        .map(|a| AddedToken::from(a.1.to_string(), false))
        .collect();
    tok.add_special_tokens(specials).map_err(|e| {
        meta.err(
            "tokenizer.ggml.tokens",
            format!("cannot add special tokens: {e}"),
        )
    })?;
    tok.add_tokens(users).map_err(|e| {
        meta.err(
            "tokenizer.ggml.tokens",
            format!("cannot add user-defined tokens: {e}"),
        )
    })?;
    Ok(tok)
}
