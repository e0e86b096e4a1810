//! Token limits (`Rule::max_tokens`) checked exhaustively against a brute
//! force oracle on tiny vocabularies: at every reachable state the mask is
//! exactly the set of tokens after which some continuation ends in a
//! sentence whose limited text overlaps at most `max_tokens` tokens (a
//! token crossing either end of the limited text counts).

use std::collections::HashMap;
use std::sync::Arc;

use rein_engine::{Compiler, Matcher, TokenId, TokenMask, Vocabulary};
use rein_grammar::regex::parse_hir;
use rein_grammar::{Expr, Grammar};

/// Every string of 1..=2 bytes over `alphabet`, and `ab` followed by
/// each byte, then EOS.
fn vocab(alphabet: &[u8]) -> Arc<Vocabulary> {
    let mut toks: Vec<Vec<u8>> = Vec::new();
    for &a in alphabet {
        toks.push(vec![a]);
        for &b in alphabet {
            toks.push(vec![a, b]);
        }
        toks.push(vec![b'a', b'b', a]);
    }
    toks.sort();
    toks.dedup();
    let eos = TokenId(toks.len() as u32);
    toks.push(Vec::new());
    Arc::new(Vocabulary::from_token_bytes(toks, vec![eos]))
}

/// `open body close` with `body` limited to `n` tokens.
fn grammar(open: &str, body: &str, close: &str, n: u32) -> Grammar {
    let mut g = Grammar::new();
    let b = g.add_rule(
        "body",
        Expr::regex(parse_hir(body, &Default::default()).unwrap()),
    );
    g.rules[b.index()].max_tokens = Some(n);
    g.start = g.add_rule(
        "root",
        Expr::seq(vec![
            Expr::literal(open),
            Expr::Rule(b),
            Expr::literal(close),
        ]),
    );
    g
}

/// The oracle: a token sequence is valid when its text is
/// `open body close` with `body` matching and overlapping at most `n`
/// tokens. (The test grammars are unambiguous: `close` never occurs in
/// `body`.)
struct Oracle {
    open: Vec<u8>,
    body: regex::bytes::Regex,
    close: Vec<u8>,
    n: usize,
}

impl Oracle {
    fn valid(&self, v: &Vocabulary, toks: &[TokenId]) -> bool {
        let text: Vec<u8> = toks
            .iter()
            .flat_map(|&t| v.token_bytes(t).to_vec())
            .collect();
        if !text.starts_with(&self.open) || !text.ends_with(&self.close) {
            return false;
        }
        if text.len() < self.open.len() + self.close.len() {
            return false;
        }
        let (a, b) = (self.open.len(), text.len() - self.close.len());
        if !self.body.is_match(&text[a..b]) {
            return false;
        }
        // Tokens overlapping [a, b).
        let mut pos = 0;
        let mut count = 0;
        for &t in toks {
            let end = pos + v.token_bytes(t).len();
            if a < b && end > a && pos < b {
                count += 1;
            }
            pos = end;
        }
        count <= self.n
    }

    /// Some continuation of at most `depth` more tokens is valid.
    fn viable(
        &self,
        v: &Vocabulary,
        toks: &mut Vec<TokenId>,
        depth: usize,
        memo: &mut HashMap<(Vec<TokenId>, usize), bool>,
    ) -> bool {
        if self.valid(v, toks) {
            return true;
        }
        if depth == 0 {
            return false;
        }
        if let Some(&r) = memo.get(&(toks.clone(), depth)) {
            return r;
        }
        let text: Vec<u8> = toks
            .iter()
            .flat_map(|&t| v.token_bytes(t).to_vec())
            .collect();
        // Prune: the text must be a prefix of open + something.
        let k = text.len().min(self.open.len());
        let mut r = text[..k] == self.open[..k];
        if r {
            r = false;
            for t in 0..v.len() as u32 - 1 {
                toks.push(TokenId(t));
                let ok = self.viable(v, toks, depth - 1, memo);
                toks.pop();
                if ok {
                    r = true;
                    break;
                }
            }
        }
        memo.insert((toks.clone(), depth), r);
        r
    }
}

fn check(
    open: &str,
    body: &str,
    close: &str,
    n: u32,
    alphabet: &[u8],
    depth: usize,
    min_states: usize,
) {
    let v = vocab(alphabet);
    let g = grammar(open, body, close, n);
    let c = Arc::new(Compiler::new(&v).grammar(&g).unwrap());
    let oracle = Oracle {
        open: open.as_bytes().to_vec(),
        body: regex::bytes::Regex::new(&format!("^(?:{body})$")).unwrap(),
        close: close.as_bytes().to_vec(),
        n: n as usize,
    };
    let eos = v.eos_tokens()[0];
    let mut memo = HashMap::new();
    let mut mask = TokenMask::new(v.len());
    // Depth-first over the tokens the mask allows.
    let mut stack: Vec<Vec<TokenId>> = vec![Vec::new()];
    let mut states = 0;
    while let Some(prefix) = stack.pop() {
        let mut m = Matcher::new(c.clone());
        for &t in &prefix {
            m.commit(t).unwrap();
        }
        m.compute_mask(&mut mask).unwrap();
        states += 1;
        assert_eq!(
            mask.is_allowed(eos),
            oracle.valid(&v, &prefix),
            "EOS after {prefix:?}"
        );
        for t in 0..v.len() as u32 - 1 {
            let t = TokenId(t);
            let mut next = prefix.clone();
            next.push(t);
            let want = oracle.viable(&v, &mut next, depth, &mut memo);
            assert_eq!(
                mask.is_allowed(t),
                want,
                "token {:?} after {:?} (limit {n})",
                String::from_utf8_lossy(v.token_bytes(t)),
                prefix
                    .iter()
                    .map(|&t| String::from_utf8_lossy(v.token_bytes(t)).into_owned())
                    .collect::<Vec<_>>()
            );
            // Committing agrees with the mask.
            let mut m2 = m.clone();
            assert_eq!(m2.commit(t).is_ok(), want, "commit {t:?} after {prefix:?}");
            if want && next.len() < 4 {
                stack.push(next);
            }
        }
    }
    assert!(states >= min_states, "only {states} states explored");
}

#[test]
fn limit_of_one_token() {
    check("(", "[ab]*", ")", 1, b"ab()", 3, 20);
}

#[test]
fn limit_of_two_tokens() {
    check("(", "[ab]*", ")", 2, b"ab()", 3, 50);
}

#[test]
fn limit_with_a_nonempty_body_and_no_delimiters() {
    check("", "a+", "b", 2, b"ab", 4, 10);
}

#[test]
fn limit_on_a_regex_too_large_to_inline() {
    // A large bounded repetition is a lexeme of its own elsewhere; with a
    // token limit the whole rule must still be one lexeme.
    check("(", "[ab]{0,3000}", ")", 2, b"ab()", 3, 50);
}

#[test]
fn non_regular_limited_rules_are_rejected() {
    let v = vocab(b"ab");
    let mut g = Grammar::new();
    let r = g.add_rule("r", Expr::Empty);
    g.rules[r.index()].expr = Expr::alt(vec![
        Expr::literal("a"),
        Expr::seq(vec![Expr::literal("b"), Expr::Rule(r)]),
    ]);
    g.rules[r.index()].max_tokens = Some(3);
    g.start = r;
    let e = Compiler::new(&v).grammar(&g).unwrap_err();
    assert!(e.to_string().contains("not regular"), "{e}");
}

#[test]
fn a_hole_can_never_run_away() {
    // Any text, at most 3 tokens, then a period: random walks under the
    // mask always end within the limit.
    let v = vocab(b"ab.");
    let g = grammar("", "[ab]*", ".", 3);
    let c = Arc::new(Compiler::new(&v).grammar(&g).unwrap());
    let mut mask = TokenMask::new(v.len());
    let mut seed = 7u64;
    for _ in 0..200 {
        let mut m = Matcher::new(c.clone());
        let mut n = 0;
        while !m.is_finished() {
            m.compute_mask(&mut mask).unwrap();
            let allowed: Vec<TokenId> = mask.iter_allowed().collect();
            assert!(!allowed.is_empty());
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let t = allowed[(seed >> 33) as usize % allowed.len()];
            m.commit(t).unwrap();
            n += 1;
        }
        assert!(n <= 5, "{n} tokens");
    }
}
