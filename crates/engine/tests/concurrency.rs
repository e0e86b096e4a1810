//! One compiled grammar shared by many matchers on many threads gives
//! exactly the masks of a sequential run (issue 8).

use std::sync::Arc;

use rein_engine::{CompiledGrammar, Compiler, Matcher, TokenId, TokenMask, Vocabulary};

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<CompiledGrammar>();
    send_sync::<Compiler>();
    send_sync::<Vocabulary>();
    const fn send<T: Send>() {}
    send::<Matcher>();
};

/// Bytes, a few words, and EOS.
fn vocab() -> Arc<Vocabulary> {
    let mut toks: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    for t in [
        "{\"", "\":", "\",", "\"}", "true", "false", "null", "[]", "12", ", ", "ab",
    ] {
        toks.push(t.as_bytes().to_vec());
    }
    toks.push(Vec::new());
    let eos = TokenId(toks.len() as u32 - 1);
    Arc::new(Vocabulary::from_token_bytes(toks, vec![eos]))
}

const JSON: &str = r#"root ::= value
value ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws (string ws ":" ws value ws ("," ws string ws ":" ws value ws)*)? "}"
array ::= "[" ws (value ws ("," ws value ws)*)? "]"
string ::= "\"" [a-c]* "\""
number ::= "-"? [0-9]+
ws ::= " "?"#;

/// Matcher `i`'s walk: at each step the mask, then a token chosen from it
/// by a per-matcher rule. Returns the masks' words.
fn walk(g: &Arc<CompiledGrammar>, i: usize, steps: usize) -> Vec<Vec<u32>> {
    let mut m = Matcher::new(g.clone());
    let mut mask = TokenMask::new(g.vocab().len());
    let mut out = Vec::new();
    for step in 0..steps {
        m.compute_mask(&mut mask).expect("mask");
        out.push(mask.words().to_vec());
        let allowed: Vec<TokenId> = mask.iter_allowed().collect();
        if allowed.is_empty() || m.is_finished() {
            break;
        }
        let t = allowed[(i * 7919 + step * 104_729) % allowed.len()];
        m.commit(t).expect("allowed token commits");
        if g.vocab().is_eos(t) {
            break;
        }
    }
    out
}

#[test]
fn sixty_four_matchers_on_eight_threads_equal_a_sequential_run() {
    let v = vocab();
    let g = Arc::new(Compiler::new(&v).gbnf(JSON).unwrap());
    // Sequential, on a grammar of its own (so no state is shared with the
    // threaded run).
    let g_seq = Arc::new(Compiler::new(&v).gbnf(JSON).unwrap());
    let want: Vec<Vec<Vec<u32>>> = (0..64).map(|i| walk(&g_seq, i, 60)).collect();
    assert!(want.iter().any(|w| w.len() > 20), "walks are long enough");

    let got: Vec<Vec<Vec<u32>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let g = g.clone();
                s.spawn(move || {
                    // Matchers t, t+8, ...: created and dropped while other
                    // threads trade lexer caches through the grammar.
                    (0..8)
                        .map(|k| (t + 8 * k, walk(&g, t + 8 * k, 60)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Vec<Vec<u32>>)> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, w)| w).collect()
    });
    assert_eq!(got.len(), 64);
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert_eq!(a, b, "matcher {i}");
    }
}
