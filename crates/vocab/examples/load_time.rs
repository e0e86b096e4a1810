//! Load time of each real vocabulary: resolving the file (cache check),
//! loading (parse + byte table + trie), the background tokenizer, and the
//! trie build alone.
//!
//! ```text
//! cargo run --release -p rein-vocab --example load_time [-- NAME_OR_PATH...]
//! ```
//!
//! Targets: llama3 <= 300 ms, gemma3 <= 1 s (load, without the resolve).

use std::time::Instant;

use anyhow::Context;
use rein_assets::AssetKind;
use rein_vocab::{TokenId, Vocabulary};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names: Vec<&str> = if args.is_empty() {
        vec!["llama3", "qwen3", "gemma3", "smollm2-135m-instruct"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    const RUNS: usize = 3;
    println!(
        "{:<24} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9}",
        "vocabulary", "resolve", "load", "+tokenizer", "trie", "tokens", "nodes", "trie MiB"
    );
    for name in names {
        // Resolve once (fetching if needed), then time a cached resolve:
        // tokenizers are re-hashed in full, models check their marker.
        let kind = match rein_assets::find(name) {
            Some(asset) => asset.kind,
            None if name.ends_with(".gguf") => AssetKind::Model,
            None => AssetKind::Tokenizer,
        };
        rein_assets::resolve(name, kind).with_context(|| format!("cannot resolve {name}"))?;
        let t = Instant::now();
        let path = rein_assets::resolve(name, kind)?;
        let resolve = t.elapsed();
        let is_gguf = path.extension().is_some_and(|e| e == "gguf");
        let mut best_load = f64::INFINITY;
        let mut best_tok = f64::INFINITY;
        let mut vocab = None;
        for _ in 0..RUNS {
            let t = Instant::now();
            let v = if is_gguf {
                Vocabulary::from_gguf_file(&path)?
            } else {
                Vocabulary::from_tokenizer_file(&path)?
            };
            best_load = best_load.min(t.elapsed().as_secs_f64());
            // The tokenizer (for encode) is built in the background.
            v.try_tokenizer()?;
            best_tok = best_tok.min(t.elapsed().as_secs_f64());
            vocab = Some(v);
        }
        let v = vocab.context("no run")?;
        // The trie alone: rebuild from the byte table.
        let tokens: Vec<Vec<u8>> = (0..v.len() as u32)
            .map(|i| v.token_bytes(TokenId(i)).to_vec())
            .collect();
        let t = Instant::now();
        let w = Vocabulary::from_token_bytes(tokens, vec![]);
        let trie = t.elapsed();
        println!(
            "{:<24} {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>9} {:>9} {:>9.1}",
            name,
            resolve.as_secs_f64() * 1e3,
            best_load * 1e3,
            best_tok * 1e3,
            trie.as_secs_f64() * 1e3,
            v.len(),
            w.trie().num_nodes(),
            v.trie().memory_usage() as f64 / (1 << 20) as f64,
        );
    }
    println!("load: best of {RUNS}, until the Vocabulary is ready for masks (read, parse, byte table, specials, EOS, trie)");
    println!("+tokenizer: until the background tokenizers::Tokenizer (for encode) is also ready");
    println!("trie: building the trie alone from the byte table; resolve: a cached rein-assets resolve (full sha256 for tokenizers)");
    Ok(())
}
