//! Shared helpers for the engine's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rand::Rng;
use rein_engine::{Matcher, TokenId, TokenMask, Vocabulary};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A real vocabulary by name, loaded once per test binary (fetched into
/// the cache on first use).
pub fn vocab(name: &str) -> Arc<Vocabulary> {
    static LLAMA3: OnceLock<Arc<Vocabulary>> = OnceLock::new();
    static GEMMA3: OnceLock<Arc<Vocabulary>> = OnceLock::new();
    let cell = match name {
        "llama3" => &LLAMA3,
        "gemma3" => &GEMMA3,
        other => panic!("no test vocabulary {other}"),
    };
    cell.get_or_init(|| {
        Arc::new(Vocabulary::load(name).unwrap_or_else(|e| panic!("loading {name}: {e}")))
    })
    .clone()
}

/// A random segmentation of `bytes` into vocabulary tokens (each step picks
/// uniformly among the tokens that are prefixes of the rest), or `None` if
/// the walk gets stuck (it cannot when every byte is a token).
pub fn random_segmentation(
    vocab: &Vocabulary,
    bytes: &[u8],
    rng: &mut impl Rng,
) -> Option<Vec<TokenId>> {
    let trie = vocab.trie();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let mut cands: Vec<(TokenId, usize)> = Vec::new();
        let mut node = 0usize;
        for (k, &b) in bytes[pos..].iter().enumerate() {
            match trie.child(node, b) {
                Some(c) => node = c,
                None => break,
            }
            if let Some(t) = trie.node_token(node) {
                if !vocab.is_special(t) {
                    cands.push((t, k + 1));
                }
            }
        }
        if cands.is_empty() {
            return None;
        }
        let (t, n) = cands[rng.random_range(0..cands.len())];
        out.push(t);
        pos += n;
    }
    Some(out)
}

/// Feeds `tokens`, checking that the mask allows each one before it is
/// committed, and that EOS is allowed at the end. Returns a description of
/// the first failure.
pub fn feed_checked(m: &mut Matcher, vocab: &Vocabulary, tokens: &[TokenId]) -> Result<(), String> {
    let mut mask = TokenMask::new(vocab.len());
    let mut text = Vec::new();
    for &t in tokens {
        m.compute_mask(&mut mask).map_err(|e| e.to_string())?;
        if !mask.is_allowed(t) {
            return Err(format!(
                "token {} {:?} not allowed after {:?}",
                t.0,
                String::from_utf8_lossy(vocab.token_bytes(t)),
                String::from_utf8_lossy(&text)
            ));
        }
        m.commit(t)
            .map_err(|e| format!("commit after {:?}: {e}", String::from_utf8_lossy(&text)))?;
        text.extend_from_slice(vocab.token_bytes(t));
    }
    m.compute_mask(&mut mask).map_err(|e| e.to_string())?;
    if !vocab.eos_tokens().iter().all(|&e| mask.is_allowed(e)) {
        return Err(format!(
            "EOS not allowed at the end of {:?}",
            String::from_utf8_lossy(&text)
        ));
    }
    if !m.is_accepting() {
        return Err("not accepting at the end".into());
    }
    Ok(())
}
