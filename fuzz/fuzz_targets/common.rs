//! Shared by the fuzz targets: a small vocabulary and a bounded driver.

use std::sync::{Arc, OnceLock};

use rein_engine::{CompiledGrammar, Compiler, Config, Limits, Matcher, TokenMask};
use rein_grammar::Grammar;
use rein_vocab::{TokenId, Vocabulary};

/// Every byte as a token, some multi-byte tokens (ASCII words, JSON
/// punctuation, a few UTF-8 characters), and EOS last.
pub fn vocab() -> Arc<Vocabulary> {
    static V: OnceLock<Arc<Vocabulary>> = OnceLock::new();
    V.get_or_init(|| {
        let mut toks: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        for t in [
            "aa", "ab", "ba", "abc", "true", "false", "null", "{\"", "\":", "\",", "\"}", "[]",
            "{}", "  ", "\n", "12", "0.", "e+", "é", "日本", "😀", "\\u00", "::=", "root",
        ] {
            toks.push(t.as_bytes().to_vec());
        }
        toks.push(Vec::new());
        let eos = TokenId(toks.len() as u32 - 1);
        Arc::new(Vocabulary::from_token_bytes(toks, vec![eos]))
    })
    .clone()
}

/// Limits small enough that every input ends quickly.
pub fn compiler() -> Compiler {
    let limits = Limits {
        max_rules: 2_000,
        max_symbols: 50_000,
        max_lexemes: 2_000,
        max_repeat: 2_000,
        max_regex_size: 200_000,
        nfa_bytes: 8 << 20,
        max_dfa_states: 20_000,
        max_lexer_cache_bytes: 32 << 20,
        max_items_per_step: 500_000,
        max_chart_bytes: 32 << 20,
        ..Limits::default()
    };
    Compiler::new(&vocab()).with_config(Config { limits })
}

/// Compiles `g` and drives a matcher along the first allowed token of a
/// few masks, checking that committing an allowed token never fails.
pub fn exercise(g: &Grammar, steps: usize) {
    let Ok(c) = compiler().grammar(g) else { return };
    drive(Arc::new(c), steps, &mut |_| 0);
}

/// Drives a matcher for `steps` masks; `pick(n)` chooses one of `n`
/// allowed tokens.
pub fn drive(c: Arc<CompiledGrammar>, steps: usize, pick: &mut dyn FnMut(usize) -> usize) {
    let v = c.vocab().clone();
    let mut m = Matcher::new(c);
    let mut mask = TokenMask::new(v.len());
    for _ in 0..steps {
        if m.is_finished() || m.compute_mask(&mut mask).is_err() {
            return;
        }
        let allowed: Vec<TokenId> = mask.iter_allowed().collect();
        if allowed.is_empty() {
            return;
        }
        let t = allowed[pick(allowed.len()) % allowed.len()];
        match m.commit(t) {
            Ok(()) => {}
            // Limits may end a commit that the mask allowed.
            Err(rein_engine::MaskError::WorkBudget { .. })
            | Err(rein_engine::MaskError::LexerLimit { .. })
            | Err(rein_engine::MaskError::MemoryLimit { .. }) => return,
            Err(e) => panic!("committing allowed token {t:?} failed: {e}"),
        }
    }
}
