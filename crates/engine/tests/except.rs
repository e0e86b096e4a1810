//! Lexemes with texts left out (`Expr::Except`: JSON keys other than the
//! declared ones) against an independent oracle: the product of two
//! minimal regex-automata DFAs, one for what is matched and one for what
//! is left out. The engine instead runs the left-out texts beside the
//! lexeme's own automaton, so these tests check that dropping matches and
//! dead owners gives exactly the difference: every mask, token by token.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::util::primitives::StateID;
use regex_automata::{Anchored, Input};
use rein_engine::{CompiledGrammar, Compiler, Matcher, TokenId, TokenMask, Vocabulary};
use rein_grammar::{Expr, Grammar};

fn dfa(pattern: &str) -> dense::DFA<Vec<u32>> {
    dense::Builder::new()
        .configure(dense::Config::new().start_kind(StartKind::Anchored))
        .syntax(regex_automata::util::syntax::Config::new().utf8(true))
        .build(&format!("^(?:{pattern})$"))
        .unwrap()
}

/// The texts of regex `a` that regex `b` does not match, as the product of
/// their DFAs with the pairs from which such a text can still be reached.
struct DiffOracle {
    a: dense::DFA<Vec<u32>>,
    b: dense::DFA<Vec<u32>>,
    start: (StateID, StateID),
    live: HashSet<(StateID, StateID)>,
}

impl DiffOracle {
    fn new(a: &str, b: &str) -> DiffOracle {
        let (a, b) = (dfa(a), dfa(b));
        let input = Input::new("").anchored(Anchored::Yes);
        let start = (
            a.start_state_forward(&input).unwrap(),
            b.start_state_forward(&input).unwrap(),
        );
        let mut pairs = vec![start];
        let mut seen: HashSet<(StateID, StateID)> = pairs.iter().copied().collect();
        let mut edges: Vec<((StateID, StateID), (StateID, StateID))> = Vec::new();
        let mut i = 0;
        while i < pairs.len() {
            let (x, y) = pairs[i];
            i += 1;
            for byte in 0..=255u8 {
                let t = (a.next_state(x, byte), b.next_state(y, byte));
                edges.push(((x, y), t));
                if seen.insert(t) {
                    pairs.push(t);
                }
            }
        }
        let accepts = |(x, y): (StateID, StateID)| {
            a.is_match_state(a.next_eoi_state(x)) && !b.is_match_state(b.next_eoi_state(y))
        };
        let mut live: HashSet<(StateID, StateID)> =
            pairs.iter().copied().filter(|&p| accepts(p)).collect();
        loop {
            let before = live.len();
            for &(p, t) in &edges {
                if live.contains(&t) {
                    live.insert(p);
                }
            }
            if live.len() == before {
                break;
            }
        }
        DiffOracle { a, b, start, live }
    }

    fn run(&self, bytes: &[u8]) -> (StateID, StateID) {
        bytes.iter().fold(self.start, |(x, y), &byte| {
            (self.a.next_state(x, byte), self.b.next_state(y, byte))
        })
    }

    fn accepts(&self, bytes: &[u8]) -> bool {
        let (x, y) = self.run(bytes);
        self.a.is_match_state(self.a.next_eoi_state(x))
            && !self.b.is_match_state(self.b.next_eoi_state(y))
    }

    /// Some non-empty extension of `bytes` can still be completed.
    fn can_continue(&self, bytes: &[u8]) -> bool {
        let (x, y) = self.run(bytes);
        (0..=255u8).any(|b| {
            self.live
                .contains(&(self.a.next_state(x, b), self.b.next_state(y, b)))
        })
    }
}

/// `root ::= (expr - except) suffix`.
fn grammar(expr: &str, except: &str, suffix: &str) -> Grammar {
    let hir = |p: &str| Arc::new(regex_syntax::parse(p).unwrap());
    Grammar::from_expr(Expr::seq(vec![
        Expr::Except {
            expr: hir(expr),
            except: hir(except),
        },
        Expr::literal(suffix),
    ]))
}

/// Every token is allowed exactly when the oracle can still complete
/// `out` followed by it (EOS: when `out` is complete).
fn assert_whole_mask(vocab: &Vocabulary, mask: &TokenMask, oracle: &DiffOracle, out: &[u8]) {
    let start = oracle.run(out);
    for id in 0..vocab.len() as u32 {
        let tok = TokenId(id);
        let want = if vocab.is_eos(tok) {
            oracle.accepts(out)
        } else {
            let bytes = vocab.token_bytes(tok);
            !bytes.is_empty()
                && !vocab.is_special(tok)
                && oracle
                    .live
                    .contains(&bytes.iter().fold(start, |(x, y), &b| {
                        (oracle.a.next_state(x, b), oracle.b.next_state(y, b))
                    }))
        };
        assert_eq!(
            mask.is_allowed(tok),
            want,
            "token {id} {:?} after {:?}",
            String::from_utf8_lossy(vocab.token_bytes(tok)),
            String::from_utf8_lossy(out)
        );
    }
}

/// Commits `text` (in the oracle's language) token by token, checking the
/// whole mask before each token and at the end, and that it is accepted.
fn follow_text(vocab: &Vocabulary, g: &Arc<CompiledGrammar>, oracle: &DiffOracle, text: &str) {
    assert!(oracle.accepts(text.as_bytes()), "{text}");
    let mut m = Matcher::new(g.clone());
    let mut mask = TokenMask::new(vocab.len());
    let mut out: Vec<u8> = Vec::new();
    for t in vocab.encode(text).unwrap() {
        m.compute_mask(&mut mask).unwrap();
        assert_whole_mask(vocab, &mask, oracle, &out);
        m.commit(t).unwrap();
        out.extend_from_slice(vocab.token_bytes(t));
    }
    m.compute_mask(&mut mask).unwrap();
    assert_whole_mask(vocab, &mask, oracle, &out);
    assert!(m.is_accepting(), "{text}");
}

/// Every token sequence up to `depth` tokens: masks, acceptance and
/// commits against the oracle.
fn explore(vocab: &Arc<Vocabulary>, m: &mut Matcher, oracle: &DiffOracle, depth: usize) -> usize {
    fn rec(
        vocab: &Arc<Vocabulary>,
        m: &mut Matcher,
        oracle: &DiffOracle,
        depth: usize,
        out: &mut Vec<u8>,
    ) -> usize {
        let mut mask = TokenMask::new(vocab.len());
        m.compute_mask(&mut mask).unwrap();
        assert_whole_mask(vocab, &mask, oracle, out);
        assert_eq!(
            m.is_accepting(),
            oracle.accepts(out),
            "accepting after {:?}",
            String::from_utf8_lossy(out)
        );
        assert_eq!(
            m.is_finished(),
            oracle.accepts(out) && !oracle.can_continue(out),
            "finished after {:?}",
            String::from_utf8_lossy(out)
        );
        let mut visited = 1;
        if depth == 0 {
            return visited;
        }
        for id in 0..vocab.len() as u32 {
            let t = TokenId(id);
            if !mask.is_allowed(t) || vocab.is_eos(t) {
                continue;
            }
            m.commit(t).unwrap();
            let n = out.len();
            out.extend_from_slice(vocab.token_bytes(t));
            visited += rec(vocab, m, oracle, depth - 1, out);
            out.truncate(n);
            m.rollback(1).unwrap();
        }
        visited
    }
    rec(vocab, m, oracle, depth, &mut Vec::new())
}

/// All strings of 1..=`max_len` bytes over `alphabet`, then EOS.
fn vocab_over(alphabet: &[u8], max_len: usize) -> Arc<Vocabulary> {
    let mut toks: Vec<Vec<u8>> = Vec::new();
    let mut layer: Vec<Vec<u8>> = vec![Vec::new()];
    for _ in 0..max_len {
        layer = layer
            .iter()
            .flat_map(|t| {
                alphabet.iter().map(move |&c| {
                    let mut x = t.clone();
                    x.push(c);
                    x
                })
            })
            .collect();
        toks.extend(layer.iter().cloned());
    }
    let eos = TokenId(toks.len() as u32);
    toks.push(Vec::new());
    Arc::new(Vocabulary::from_token_bytes(toks, vec![eos]))
}

/// Pairs where the lexeme's texts are unbounded everywhere (keys: a
/// quoted loop) and where they are not (only a search over the left-out
/// texts tells a live state from a dead one).
#[test]
fn every_token_sequence_on_a_tiny_vocabulary() {
    let vocab = vocab_over(b"abc\"", 2);
    let cases: &[(&str, &str, &str)] = &[
        // Keys: the empty key, a key and its prefixes left out.
        (r#""[abc]*""#, r#""(?:|a|ab|abc|b)""#, "c"),
        (r#""[abc]*""#, r#""(?:aa|ab|ac|ba|bb|bc|ca|cb|cc)""#, ""),
        // Finite texts after an unbounded start: `ab` is alive only
        // through `abc`; after `b`, everything left is left out.
        ("a*(?:bcc|bc)", "abcc|bc|bcc", ""),
        // A match kept while every longer text is left out.
        ("a*(?:b|bcc)", "bcc|abcc", ""),
        // The empty text left out of a nullable lexeme.
        ("a*", "|aa", "b"),
        // Everything of some length left out.
        ("[ab]*c", "[ab]{0,2}c", ""),
    ];
    for &(expr, except, suffix) in cases {
        let g = Arc::new(
            Compiler::new(&vocab)
                .grammar(&grammar(expr, except, suffix))
                .unwrap_or_else(|e| panic!("{expr} - {except}: {e}")),
        );
        let oracle = DiffOracle::new(
            &format!("(?:{expr}){}", regex_syntax::escape(suffix)),
            &format!("(?:{except}){}", regex_syntax::escape(suffix)),
        );
        let mut m = Matcher::new(g);
        let visited = explore(&vocab, &mut m, &oracle, 4);
        assert!(visited > 20, "{expr} - {except}: {visited} states");
    }
}

/// JSON keys other than the declared ones on llama3's vocabulary, whose
/// tokens span key ends, quotes and multi-byte characters: whole masks
/// along texts that pass through declared keys, their prefixes and
/// extensions.
#[test]
fn keys_other_than_the_declared_ones_on_a_real_vocabulary() {
    let vocab = common::vocab("llama3");
    let expr = r#""(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*""#;
    let except = r#""(?:name|names|n|id|identifier|naïve|日本語|type|)""#;
    let oracle = DiffOracle::new(&format!("{expr}:1"), &format!("(?:{except}):1"));
    let g = Arc::new(
        Compiler::new(&vocab)
            .grammar(&grammar(expr, except, ":1"))
            .unwrap(),
    );
    let texts = [
        r#""nam":1"#,
        r#""namesake":1"#,
        r#""name\u0073":1"#,
        r#""ids":1"#,
        r#""naïveté":1"#,
        r#""日本":1"#,
        r#""types and more words":1"#,
        r#""\"":1"#,
    ];
    for text in texts {
        follow_text(&vocab, &g, &oracle, text);
    }
    // Declared keys themselves are refused at their closing quote.
    for text in [r#""name""#, r#""""#, r#""日本語""#] {
        let mut m = Matcher::new(g.clone());
        let ok = vocab
            .encode(text)
            .unwrap()
            .into_iter()
            .all(|t| m.commit(t).is_ok());
        assert!(!ok, "{text} is left out");
    }
}

/// Where the lexeme's own texts are bounded, left-out texts can end it
/// early: after `x`, up to 20 ordinary characters and a quote would go
/// on, but every text starting with `a` is left out. Ordinary-text tokens
/// cannot be let through by length alone there.
#[test]
fn bounded_texts_of_a_lexeme_on_a_real_vocabulary() {
    let vocab = common::vocab("llama3");
    let expr = r#"x[^"\\\x00-\x1f]{0,20}"|y*"#;
    let except = r#"xa[^"\\\x00-\x1f]{0,19}""#;
    let oracle = DiffOracle::new(expr, except);
    let g = Arc::new(
        Compiler::new(&vocab)
            .grammar(&grammar(expr, except, ""))
            .unwrap(),
    );
    for text in ["xbc and more\"", "x\"", "xyz\"", "yyyy"] {
        follow_text(&vocab, &g, &oracle, text);
    }
    // After `x` alone, tokens of ordinary text starting with `a` are out.
    let mut m = Matcher::new(g);
    m.commit_bytes(b"x").unwrap().unwrap();
    let mut mask = TokenMask::new(vocab.len());
    m.compute_mask(&mut mask).unwrap();
    assert_whole_mask(&vocab, &mask, &oracle, b"x");
}

/// Pairs the lexer cannot run exactly are refused with an error.
#[test]
fn unsupported_pairs_are_compile_errors() {
    let vocab = vocab_over(b"ab", 1);
    for (expr, except) in [("a*", "b*"), ("a{0,3}", "a")] {
        let err = Compiler::new(&vocab)
            .grammar(&grammar(expr, except, ""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("length"), "{expr} - {except}: {err}");
    }
}
