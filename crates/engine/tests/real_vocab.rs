//! Soundness and completeness on real vocabularies (llama3 and gemma3),
//! over the grammar corpus in `grammars/` and random regexes:
//! - strings drawn from each language (the reference sampler of
//!   `rein-grammar`) are allowed token by token, in their canonical
//!   tokenization and in random non-canonical segmentations, with EOS
//!   allowed at the end (completeness);
//! - random walks choosing among the allowed tokens only ever produce
//!   viable prefixes, and those that end with EOS are in the language by an
//!   independent checker: the `regex` crate for regexes, the reference
//!   recognizer for GBNF (soundness). A non-accepting state with an empty
//!   mask is a failure.

mod common;

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rein_engine::{CompiledGrammar, Compiler, Matcher, TokenId, TokenMask, Vocabulary};
use rein_grammar::testing::{Recognizer, Sampler};
use rein_grammar::Grammar;

const VOCABS: [&str; 2] = ["llama3", "gemma3"];

/// An independent membership check.
enum Checker {
    Regex(regex::Regex),
    Grammar(Box<Recognizer>),
}

impl Checker {
    fn accepts(&self, s: &str) -> bool {
        match self {
            Checker::Regex(r) => r.is_match(s),
            Checker::Grammar(r) => r.accepts(s),
        }
    }
    /// Viable prefix (only checked for grammars; the regex crate has no
    /// prefix test).
    fn is_prefix(&self, s: &str) -> bool {
        match self {
            Checker::Regex(_) => true,
            Checker::Grammar(r) => r.is_prefix(s),
        }
    }
}

fn completeness(
    vocab: &Arc<Vocabulary>,
    g: &Arc<CompiledGrammar>,
    ir: &Grammar,
    seed: u64,
    n: usize,
) {
    let sampler = Sampler::new(ir);
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..n {
        let Some(text) = sampler.sample(&mut rng, 6) else {
            panic!("the sampler found no string")
        };
        if text.len() > 400 {
            continue;
        }
        let canonical = vocab.encode(&text).unwrap();
        let mut m = Matcher::new(g.clone());
        if let Err(e) = common::feed_checked(&mut m, vocab, &canonical) {
            panic!("canonical tokens of {text:?}: {e}");
        }
        for _ in 0..2 {
            let seg = common::random_segmentation(vocab, text.as_bytes(), &mut rng)
                .expect("every byte is a token");
            let mut m = Matcher::new(g.clone());
            if let Err(e) = common::feed_checked(&mut m, vocab, &seg) {
                panic!(
                    "segmentation {:?} of {text:?}: {e}",
                    seg.iter().map(|t| t.0).collect::<Vec<_>>()
                );
            }
        }
    }
}

fn soundness(
    vocab: &Arc<Vocabulary>,
    g: &Arc<CompiledGrammar>,
    check: &Checker,
    seed: u64,
    walks: usize,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut mask = TokenMask::new(vocab.len());
    for _ in 0..walks {
        let mut m = Matcher::new(g.clone());
        let mut out: Vec<u8> = Vec::new();
        let mut ended = false;
        for step in 0..48 {
            m.compute_mask(&mut mask).unwrap();
            let allowed: Vec<TokenId> = mask.iter_allowed().collect();
            if m.is_finished() {
                ended = true;
                break;
            }
            assert!(
                !allowed.is_empty(),
                "empty mask while not accepting after {:?}",
                String::from_utf8_lossy(&out)
            );
            let eos = allowed.iter().copied().find(|&t| vocab.is_eos(t));
            // Finish with some probability once possible (always near the
            // end of the walk).
            if let Some(e) = eos {
                if step > 40 || rng.random_bool(0.3) {
                    m.commit(e).unwrap();
                    ended = true;
                    break;
                }
            }
            // Prefer short tokens later on so that walks tend to finish.
            let t = if step > 24 && rng.random_bool(0.7) {
                let min = allowed
                    .iter()
                    .filter(|&&t| !vocab.is_eos(t))
                    .map(|&t| vocab.token_bytes(t).len())
                    .min()
                    .unwrap();
                let short: Vec<TokenId> = allowed
                    .iter()
                    .copied()
                    .filter(|&t| !vocab.is_eos(t) && vocab.token_bytes(t).len() == min)
                    .collect();
                short[rng.random_range(0..short.len())]
            } else {
                loop {
                    let t = allowed[rng.random_range(0..allowed.len())];
                    if !vocab.is_eos(t) {
                        break t;
                    }
                }
            };
            m.commit(t).unwrap();
            out.extend_from_slice(vocab.token_bytes(t));
            if let Ok(s) = std::str::from_utf8(&out) {
                assert!(check.is_prefix(s), "walk reached a dead prefix {s:?}");
            }
        }
        if ended {
            let s = std::str::from_utf8(&out)
                .unwrap_or_else(|_| panic!("finished output is not UTF-8: {out:?}"));
            assert!(
                check.accepts(s),
                "walk ended with {s:?}, which is not in the language"
            );
        }
    }
}

#[test]
fn grammar_corpus_on_real_vocabularies() {
    let mut files: Vec<_> = std::fs::read_dir(common::root().join("grammars"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gbnf"))
        .collect();
    files.sort();
    assert!(files.len() >= 8);
    for name in VOCABS {
        let vocab = common::vocab(name);
        for (i, path) in files.iter().enumerate() {
            let src = std::fs::read_to_string(path).unwrap();
            let ir = rein_grammar::gbnf::parse(&src).unwrap();
            let g = Arc::new(Compiler::new(&vocab).grammar(&ir).unwrap());
            let check = Checker::Grammar(Box::new(Recognizer::new(&ir)));
            let t = std::time::Instant::now();
            completeness(&vocab, &g, &ir, i as u64, 12);
            soundness(&vocab, &g, &check, i as u64, 12);
            eprintln!("{name} {}: {:?}", path.display(), t.elapsed());
        }
    }
}

/// Random regexes from building blocks that stress tokens: multi-byte
/// classes, escapes, bounded repetition, nullable parts.
fn random_regex(rng: &mut StdRng, depth: u32) -> String {
    const LEAVES: &[&str] = &[
        "a",
        "ab",
        " ",
        "[0-9]",
        "[a-z]",
        "\\d+",
        "[é☃日本]",
        "\\p{Greek}",
        "[^a-z\\n]",
        "\\.",
        "\"",
        "x?",
        "(?:)",
        "[\\x{1F600}-\\x{1F64F}]",
        "\\w",
        "\\s",
    ];
    if depth == 0 || rng.random_bool(0.3) {
        return LEAVES[rng.random_range(0..LEAVES.len())].to_string();
    }
    let a = random_regex(rng, depth - 1);
    let b = random_regex(rng, depth - 1);
    match rng.random_range(0..6) {
        0 => format!("{a}{b}"),
        1 => format!("(?:{a}|{b})"),
        2 => format!("(?:{a})*"),
        3 => format!("(?:{a})+{b}"),
        4 => format!(
            "(?:{a}){{{},{}}}",
            rng.random_range(0..2),
            rng.random_range(2..4)
        ),
        _ => format!("{a}(?:{b})?"),
    }
}

#[test]
fn random_regexes_on_real_vocabularies() {
    let mut rng = StdRng::seed_from_u64(7);
    for name in VOCABS {
        let vocab = common::vocab(name);
        for i in 0..24 {
            let re = random_regex(&mut rng, 4);
            let ir = rein_grammar::regex::parse(&re).unwrap();
            let g = Arc::new(Compiler::new(&vocab).grammar(&ir).unwrap());
            let check = Checker::Regex(regex::Regex::new(&format!("^(?:{re})$")).unwrap());
            completeness(&vocab, &g, &ir, i, 6);
            soundness(&vocab, &g, &check, i, 6);
        }
    }
}
