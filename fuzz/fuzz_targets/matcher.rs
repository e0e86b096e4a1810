//! Random `compute_mask` / `commit` / `rollback` / `forced_tokens`
//! sequences on a matcher, checked against what the masks promise:
//! allowed tokens commit, disallowed ones fail and change nothing, and a
//! rollback returns exactly the earlier masks.
#![no_main]

mod common;

use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rein_engine::{CompiledGrammar, MaskError, Matcher, TokenMask};
use rein_grammar::{gbnf, json_schema, regex};
use rein_vocab::TokenId;

#[derive(Arbitrary, Debug)]
enum Op {
    /// Commit the `n`-th allowed token of the current mask.
    CommitAllowed(u16),
    /// Commit any token id (maybe disallowed, maybe out of range).
    CommitAny(u16),
    Rollback(u8),
    Forced,
    CommitBytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    grammar: u8,
    ops: Vec<Op>,
}

fn grammars() -> &'static [Arc<CompiledGrammar>] {
    static G: OnceLock<Vec<Arc<CompiledGrammar>>> = OnceLock::new();
    G.get_or_init(|| {
        let c = common::compiler();
        let mut out = Vec::new();
        let mut add = |g: Result<rein_grammar::Grammar, rein_grammar::GrammarError>| {
            let g = g.expect("fixture parses");
            out.push(Arc::new(c.grammar(&g).expect("fixture compiles")));
        };
        add(gbnf::parse(
            r#"root ::= value
value ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws (string ws ":" ws value ws ("," ws string ws ":" ws value ws)*)? "}"
array ::= "[" ws (value ws ("," ws value ws)*)? "]"
string ::= "\"" ([^"\\] | "\\" ["\\/bfnrt])* "\""
number ::= "-"? [0-9]+ ("." [0-9]+)?
ws ::= [ \n]*"#,
        ));
        add(gbnf::parse("root ::= x*\nx ::= \"a\" | \"a\" \"a\" | x x\n"));
        add(gbnf::parse("root ::= \"[\" root \"]\" | \"ab\" | root root"));
        add(regex::parse(r"(a|ab)*b{2,5}[é日]?"));
        add(regex::parse(r"[a-c]{0,20}(true|false|null)"));
        add(json_schema::compile(
            &serde_json::json!({
                "type": "object",
                "properties": {
                    "a": {"type": "integer", "minimum": -5, "maximum": 300},
                    "b": {"type": "string", "maxLength": 4},
                    "c": {"type": "array", "items": {"enum": [true, null, "x"]}}
                },
                "required": ["a"],
                "additionalProperties": false
            }),
            &json_schema::Options::default(),
        ));
        out
    })
}

fn mask_of(m: &mut Matcher, len: usize) -> Option<TokenMask> {
    let mut mask = TokenMask::new(len);
    m.compute_mask(&mut mask).ok().map(|()| mask)
}

fuzz_target!(|input: Input| {
    let gs = grammars();
    let g = gs[input.grammar as usize % gs.len()].clone();
    let n = g.vocab().len();
    let mut m = Matcher::new(g);
    // masks[k]: the mask after k committed tokens.
    let Some(first) = mask_of(&mut m, n) else { return };
    let mut masks = vec![first];
    for op in input.ops.iter().take(64) {
        let Some(cur) = masks.last() else { return };
        let cur = cur.clone();
        match op {
            Op::CommitAllowed(i) => {
                let allowed: Vec<TokenId> = cur.iter_allowed().collect();
                if allowed.is_empty() {
                    continue;
                }
                let t = allowed[*i as usize % allowed.len()];
                match m.commit(t) {
                    Ok(()) => {}
                    Err(MaskError::WorkBudget { .. } | MaskError::LexerLimit { .. } | MaskError::MemoryLimit { .. }) => return,
                    Err(e) => panic!("allowed token {t:?} refused: {e}"),
                }
                let Some(next) = mask_of(&mut m, n) else { return };
                masks.push(next);
            }
            Op::CommitAny(t) => {
                let t = TokenId(u32::from(*t) % (n as u32 + 2));
                let allowed = (t.0 as usize) < n && cur.is_allowed(t);
                match m.commit(t) {
                    Ok(()) => {
                        assert!(allowed, "disallowed token {t:?} committed");
                        let Some(next) = mask_of(&mut m, n) else { return };
                        masks.push(next);
                    }
                    Err(MaskError::WorkBudget { .. } | MaskError::LexerLimit { .. } | MaskError::MemoryLimit { .. }) => return,
                    Err(e) => {
                        assert!(!allowed, "allowed token {t:?} refused: {e}");
                        let again = mask_of(&mut m, n);
                        assert!(again.is_none_or(|a| a == cur), "a refused commit changed the mask");
                    }
                }
            }
            Op::Rollback(k) => {
                let k = *k as usize % (masks.len() + 1);
                match m.rollback(k) {
                    Ok(()) => {
                        assert!(k < masks.len());
                        masks.truncate(masks.len() - k);
                        let again = mask_of(&mut m, n);
                        let want = masks.last();
                        assert!(
                            again.is_none() || again.as_ref() == want,
                            "rollback({k}) did not restore the mask"
                        );
                    }
                    Err(_) => assert!(k >= masks.len()),
                }
            }
            Op::Forced => {
                if let Some(toks) = m.forced_tokens() {
                    for t in toks {
                        let Some(cur) = mask_of(&mut m, n) else { return };
                        assert!(cur.is_allowed(t), "forced token {t:?} is not allowed");
                        if m.commit(t).is_err() {
                            return;
                        }
                        let Some(next) = mask_of(&mut m, n) else { return };
                        masks.push(next);
                    }
                }
            }
            Op::CommitBytes(bytes) => match m.commit_bytes(bytes) {
                // Cannot be rolled back token by token: start over after.
                Ok(Ok(())) => {
                    let Some(next) = mask_of(&mut m, n) else { return };
                    masks = vec![next];
                }
                // Refused bytes leave the matcher (and its history) as it was.
                Ok(Err(_)) => {
                    let again = mask_of(&mut m, n);
                    assert!(again.is_none_or(|a| a == cur), "refused bytes changed the mask");
                }
                Err(_) => return,
            },
        }
    }
});
