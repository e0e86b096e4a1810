//! Loading from Hugging Face `tokenizer.json` files and `tokenizers`
//! objects.
//!
//! [`from_tokenizer_json`] reads the token strings with a light-weight
//! parse of its own (the merges are skipped) and leaves the full
//! [`tokenizers::Tokenizer`] to a background thread: building it dominates
//! the load time and is not needed for masks.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::bytes::Decoding;
use crate::slot::TokenizerSlot;
use crate::vocabulary::Parts;
use crate::{TokenId, VocabError, Vocabulary};

/// The parts of a tokenizer.json this crate needs.
#[derive(Deserialize)]
struct Light<'a> {
    #[serde(borrow)]
    model: LightModel<'a>,
    #[serde(default, borrow)]
    added_tokens: Vec<LightAdded<'a>>,
    #[serde(default)]
    decoder: Option<Value>,
    #[serde(default)]
    pre_tokenizer: Option<Value>,
}

#[derive(Deserialize)]
struct LightModel<'a> {
    #[serde(rename = "type", default)]
    ty: Option<String>,
    #[serde(default, borrow)]
    vocab: Option<Pairs<'a>>,
    #[serde(default)]
    byte_fallback: Option<bool>,
}

#[derive(Deserialize)]
struct LightAdded<'a> {
    id: u32,
    #[serde(borrow)]
    content: Cow<'a, str>,
    #[serde(default)]
    special: bool,
}

/// A model vocabulary as (token string, id) pairs: a JSON object (BPE,
/// WordPiece, WordLevel) or an array of `[piece, score]` (Unigram, id =
/// position).
struct Pairs<'a>(Vec<(Cow<'a, str>, u32)>);

impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Pairs<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map from token to id or a list of [piece, score]")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, id)) = map.next_entry::<Cow<'a, str>, u32>()? {
                    v.push((k, id));
                }
                Ok(Pairs(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some((piece, _score)) = seq.next_element::<(Cow<'a, str>, f64)>()? {
                    let id = u32::try_from(v.len()).map_err(de::Error::custom)?;
                    v.push((piece, id));
                }
                Ok(Pairs(v))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The EOS token named by a `tokenizer_config.json` next to `path`.
fn config_eos(path: &Path) -> Result<Option<String>, VocabError> {
    let config = path.with_file_name("tokenizer_config.json");
    let text = match std::fs::read(&config) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(VocabError::Io {
                path: config.display().to_string(),
                source,
            })
        }
    };
    let v: Value = serde_json::from_slice(&text).map_err(|e| VocabError::Tokenizer {
        origin: config.display().to_string(),
        message: format!("tokenizer_config.json is not valid JSON: {e}"),
    })?;
    Ok(match v.get("eos_token") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => o.get("content").and_then(Value::as_str).map(str::to_string),
        _ => None,
    })
}

pub(crate) fn from_tokenizer_file(path: &Path) -> Result<Vocabulary, VocabError> {
    let origin = path.display().to_string();
    let json = std::fs::read(path).map_err(|source| VocabError::Io {
        path: origin.clone(),
        source,
    })?;
    let eos = config_eos(path)?;
    from_tokenizer_json(Arc::new(json), &origin, eos.as_deref())
}

/// Reads the byte table from `json` here, and builds the full tokenizer
/// from the same bytes on a background thread (see `TokenizerSlot`).
pub(crate) fn from_tokenizer_json(
    json: Arc<Vec<u8>>,
    origin: &str,
    eos_name: Option<&str>,
) -> Result<Vocabulary, VocabError> {
    let bad = |message: String| VocabError::Tokenizer {
        origin: origin.to_string(),
        message,
    };
    let light = serde_json::from_slice::<Light>(&json).map_err(|e| bad(e.to_string()))?;
    let model_type = light.model.ty.as_deref().unwrap_or("");
    let decoding = Decoding::detect(
        light.decoder.as_ref(),
        light.pre_tokenizer.as_ref(),
        light.model.byte_fallback.unwrap_or(false),
    )
    .map_err(|message| VocabError::Unsupported {
        origin: origin.to_string(),
        message,
    })?;
    let vocab = light.model.vocab.map(|p| p.0).unwrap_or_default();
    if vocab.is_empty() && !model_type.is_empty() && light.added_tokens.is_empty() {
        return Err(bad(format!("the {model_type} model has no vocabulary")));
    }
    let added = light
        .added_tokens
        .into_iter()
        .map(|a| (a.id, a.content, a.special));
    let mut parts = parts_from_strings(origin, vocab, added, decoding, eos_name)?;
    let shared = json.clone();
    parts.tokenizer = Some(TokenizerSlot::background(move || {
        tokenizers::Tokenizer::from_bytes(shared.as_slice()).map_err(|e| e.to_string())
    }));
    Vocabulary::assemble(origin, parts)
}

pub(crate) fn from_tokenizer(
    tok: tokenizers::Tokenizer,
    origin: &str,
) -> Result<Vocabulary, VocabError> {
    let decoder = tok
        .get_decoder()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| VocabError::Tokenizer {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
    let pre = tok
        .get_pre_tokenizer()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| VocabError::Tokenizer {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
    let byte_fallback = match tok.get_model() {
        tokenizers::ModelWrapper::BPE(bpe) => bpe.byte_fallback,
        tokenizers::ModelWrapper::Unigram(u) => u.byte_fallback(),
        _ => false,
    };
    let decoding =
        Decoding::detect(decoder.as_ref(), pre.as_ref(), byte_fallback).map_err(|message| {
            VocabError::Unsupported {
                origin: origin.to_string(),
                message,
            }
        })?;
    let added_map = tok.get_added_tokens_decoder();
    let vocab: Vec<(Cow<str>, u32)> = tokenizers::Model::get_vocab(tok.get_model())
        .into_iter()
        .map(|(k, v)| (Cow::Owned(k), v))
        .collect();
    let added = added_map
        .iter()
        .map(|(&id, a)| (id, Cow::Borrowed(a.content.as_str()), a.special));
    let mut parts = parts_from_strings(origin, vocab, added, decoding, None)?;
    drop(added_map);
    parts.tokenizer = Some(TokenizerSlot::ready(tok));
    Vocabulary::assemble(origin, parts)
}

/// Turns token strings into per-id bytes. Added tokens override model
/// tokens with the same id; special added tokens have no bytes.
pub(crate) fn parts_from_strings<'a>(
    origin: &str,
    vocab: Vec<(Cow<'a, str>, u32)>,
    added: impl Iterator<Item = (u32, Cow<'a, str>, bool)>,
    decoding: Decoding,
    eos_name: Option<&str>,
) -> Result<Parts, VocabError> {
    let added: Vec<(u32, Cow<'a, str>, bool)> = added.collect();
    let n = vocab
        .iter()
        .map(|(_, id)| *id as usize + 1)
        .chain(added.iter().map(|(id, _, _)| *id as usize + 1))
        .max()
        .unwrap_or(0);
    if n > TokenId::LIMIT {
        return Err(VocabError::TooManyTokens {
            origin: origin.to_string(),
            count: n,
            limit: TokenId::LIMIT,
        });
    }
    let mut texts: Vec<Option<&str>> = vec![None; n];
    let mut special = vec![false; n];
    for (text, id) in &vocab {
        texts[*id as usize] = Some(text);
    }
    let mut by_text = HashMap::with_capacity(added.len());
    for (id, content, is_special) in &added {
        let i = *id as usize;
        texts[i] = Some(content);
        special[i] = *is_special;
        by_text.insert(content.to_string(), TokenId(*id));
    }
    let mut offsets = Vec::with_capacity(n + 1);
    let mut bytes = Vec::with_capacity(n * 8);
    offsets.push(0u32);
    for (text, &is_special) in texts.iter().zip(&special) {
        if let (Some(text), false) = (text, is_special) {
            decoding.push_bytes(text, &mut bytes);
        }
        let end = u32::try_from(bytes.len()).map_err(|_| VocabError::Unsupported {
            origin: origin.to_string(),
            message: "the tokens hold more than 4 GiB of bytes".into(),
        })?;
        offsets.push(end);
    }
    let mut eos = Vec::new();
    if let Some(name) = eos_name {
        let id = by_text.get(name).copied().or_else(|| {
            vocab
                .iter()
                .find(|(t, _)| t == name)
                .map(|&(_, id)| TokenId(id))
        });
        eos.extend(id);
    }
    Ok(Parts {
        offsets,
        bytes,
        special,
        by_text,
        eos,
        tokenizer: None,
    })
}
