//! Batch masks: the masks of 64 sequences one by one, then with
//! `compute_masks` over rayon's pool, and the speedup.
//!
//! ```text
//! cargo run --release -p rein-engine --example batch -- [TOKENIZER]
//! ```
//!
//! `ROUNDS=N` sets the rounds of masks timed in each mode (default 300:
//! with 20, each mode took about 15 ms and the speedup moved between 1.1x
//! and 2.4x from run to run).

use std::sync::Arc;
use std::time::Instant;

use rein_engine::{compute_masks, Compiler, Matcher, TokenMask, Vocabulary};

fn main() -> anyhow::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "llama3".into());
    let vocab = Arc::new(Vocabulary::load(&name)?);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let src = std::fs::read_to_string(root.join("grammars/json.gbnf"))?;
    let g = Arc::new(Compiler::new(&vocab).gbnf(&src)?);
    let doc = r#"{"name": "Ada Lovelace", "born": 1815, "tags": ["math", "poetry", "engines"], "notes": {"first": true, "ratio": -0.25e3, "text": "She wrote the first program."}}"#;
    let tokens = vocab.encode(doc)?;
    // Sequence i stands at token i % len of the document.
    let n = 64;
    let make = || -> anyhow::Result<Vec<Matcher>> {
        (0..n)
            .map(|i| {
                let mut m = Matcher::new(g.clone());
                for &t in &tokens[..i % tokens.len()] {
                    m.commit(t)?;
                }
                Ok(m)
            })
            .collect()
    };
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut masks = vec![TokenMask::new(vocab.len()); n];
    // Warm every matcher's lexer cache first: steady state is what a
    // server sees.
    let mut seq = make()?;
    for (m, mask) in seq.iter_mut().zip(masks.iter_mut()) {
        m.compute_mask(mask)?;
    }
    let t = Instant::now();
    for _ in 0..rounds {
        for (m, mask) in seq.iter_mut().zip(masks.iter_mut()) {
            m.compute_mask(mask)?;
        }
    }
    let one = t.elapsed();
    let mut par = make()?;
    for r in compute_masks(&mut par, &mut masks) {
        r?;
    }
    let t = Instant::now();
    for _ in 0..rounds {
        for r in compute_masks(&mut par, &mut masks) {
            r?;
        }
    }
    let batch = t.elapsed();
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / (rounds * n) as f64;
    println!(
        "{name}: {n} sequences x {rounds} rounds; one by one {:.1} µs/mask, compute_masks {:.1} µs/mask on {} threads: speedup {:.2}x",
        per(one),
        per(batch),
        rayon::current_num_threads(),
        one.as_secs_f64() / batch.as_secs_f64()
    );
    Ok(())
}
