//! Capture extraction checked against the reference recognizer: on random
//! grammars with captures and random sentences of them, every extracted
//! capture's text is derived by the captured expression, and for flat
//! sequences the captures and literals reassemble the text exactly.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rein_engine::{CaptureError, Compiler, TokenId, Vocabulary};
use rein_grammar::regex::parse_hir;
use rein_grammar::testing::{Recognizer, Sampler};
use rein_grammar::{Expr, Grammar};

fn vocab() -> Arc<Vocabulary> {
    let mut toks: Vec<Vec<u8>> = (0u8..128).map(|b| vec![b]).collect();
    toks.push(Vec::new());
    Arc::new(Vocabulary::from_token_bytes(toks, vec![TokenId(128)]))
}

fn rx(p: &str) -> Expr {
    Expr::regex(parse_hir(p, &Default::default()).unwrap())
}

fn cap(name: &str, e: Expr) -> Expr {
    Expr::Capture {
        name: name.into(),
        expr: Box::new(e),
    }
}

/// Captures of `text` as (name, captured text).
fn caps(g: &Grammar, text: &str) -> Result<Vec<(String, String)>, CaptureError> {
    let c = Compiler::new(&vocab()).grammar(g).unwrap();
    Ok(c.captures(text.as_bytes())?
        .into_iter()
        .map(|c| (c.name, text[c.range].to_string()))
        .collect())
}

#[test]
fn captures_of_a_flat_program() {
    let g = Grammar::from_expr(Expr::seq(vec![
        Expr::literal("name: "),
        cap("name", rx("[A-Z][a-z]+")),
        Expr::literal(", age "),
        cap("age", rx("[0-9]+")),
        Expr::literal("."),
    ]));
    let got = caps(&g, "name: Bob, age 42.").unwrap();
    assert_eq!(
        got,
        vec![("name".into(), "Bob".into()), ("age".into(), "42".into())]
    );
}

#[test]
fn nested_repeated_and_empty_captures() {
    // list ::= "[" (item ("," item)*)? "]" with item and the whole captured.
    let item = cap("item", rx("[0-9]*"));
    let body = Expr::optional(Expr::seq(vec![
        item.clone(),
        Expr::repeat(Expr::seq(vec![Expr::literal(","), item]), 0, None),
    ]));
    let g = Grammar::from_expr(cap(
        "list",
        Expr::seq(vec![Expr::literal("["), body, Expr::literal("]")]),
    ));
    let got = caps(&g, "[1,,23]").unwrap();
    let want: Vec<(String, String)> = [
        ("list", "[1,,23]"),
        ("item", "1"),
        ("item", ""),
        ("item", "23"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn recursive_grammar_captures() {
    // e ::= "(" e ")" | word ; the innermost word captured.
    let mut g = Grammar::new();
    let e = g.add_rule("e", Expr::Empty);
    g.rules[e.index()].expr = Expr::alt(vec![
        Expr::seq(vec![Expr::literal("("), Expr::Rule(e), Expr::literal(")")]),
        cap("word", rx("[a-z]+")),
    ]);
    g.start = e;
    assert_eq!(
        caps(&g, "(((abc)))").unwrap(),
        vec![("word".into(), "abc".into())]
    );
}

#[test]
fn text_outside_the_language_is_an_error() {
    let g = Grammar::from_expr(Expr::seq(vec![
        Expr::literal("x="),
        cap("v", rx("[0-9]+")),
        Expr::literal(";"),
    ]));
    let e = caps(&g, "x=1a").unwrap_err();
    assert!(matches!(e, CaptureError::NoMatch { offset: 3 }));
    assert_eq!(
        e.to_string(),
        "the text does not match the grammar: it stops matching at byte 3"
    );
    let e = caps(&g, "x=12").unwrap_err();
    assert!(matches!(e, CaptureError::Incomplete { len: 4 }));
    assert_eq!(
        e.to_string(),
        "the text (4 bytes) matches the grammar only as an unfinished prefix"
    );
}

#[test]
fn derivations_nested_too_deep_are_an_error() {
    let g = rein_grammar::gbnf::parse("root ::= \"(\" root \")\" | x\nx ::= \"x\"").unwrap();
    let mut g = g;
    let x = g.rules[1].expr.clone();
    g.rules[1].expr = cap("x", x);
    let n = 30_000;
    let text = format!("{}x{}", "(".repeat(n), ")".repeat(n));
    let e = caps(&g, &text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the parse is nested deeper than 20000 levels"
    );
    let text = format!("{}x{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(
        caps(&g, &text).unwrap(),
        vec![("x".to_string(), "x".to_string())]
    );
}

#[test]
fn unit_cycles_do_not_loop() {
    // a ::= b | "x" ; b ::= a  (a unit cycle), captured at both levels.
    let mut g = Grammar::new();
    let a = g.add_rule("a", Expr::Empty);
    let b = g.add_rule("b", cap("b", Expr::Rule(a)));
    g.rules[a.index()].expr = Expr::alt(vec![Expr::Rule(b), cap("x", Expr::literal("x"))]);
    g.start = a;
    let got = caps(&g, "x").unwrap();
    assert!(got.contains(&("x".into(), "x".into())), "{got:?}");
}

/// Leaves the random grammars are built from.
const REGEXES: &[&str] = &["[a-z]*", "[ab]+", "a|ab", "[a-z.]*", "b?", "[0-9]{1,3}"];
const LITERALS: &[&str] = &["a", ".", "ab", ",", ""];

fn random_seq(rng: &mut StdRng, exprs: &mut Vec<(String, Expr)>) -> Expr {
    let n = rng.random_range(1..6);
    let mut parts = Vec::new();
    for _ in 0..n {
        match rng.random_range(0..4) {
            0 => parts.push(Expr::literal(LITERALS[rng.random_range(0..LITERALS.len())])),
            1 | 2 => {
                let name = format!("c{}", exprs.len());
                let e = rx(REGEXES[rng.random_range(0..REGEXES.len())]);
                exprs.push((name.clone(), e.clone()));
                parts.push(cap(&name, e));
            }
            _ => {
                let name = format!("c{}", exprs.len());
                let e = rx(REGEXES[rng.random_range(0..REGEXES.len())]);
                exprs.push((name.clone(), e.clone()));
                parts.push(Expr::repeat(
                    Expr::seq(vec![cap(&name, e), Expr::literal(";")]),
                    0,
                    Some(3),
                ));
            }
        }
    }
    Expr::seq(parts)
}

#[test]
fn random_grammars_captures_derive_their_text() {
    let v = vocab();
    let mut checked = 0;
    for seed in 0..300u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut exprs = Vec::new();
        let mut body = random_seq(&mut rng, &mut exprs);
        if rng.random_bool(0.3) {
            // Nest the whole sequence in an outer capture.
            exprs.push(("outer".into(), body.clone()));
            body = cap("outer", body);
        }
        let g = Grammar::from_expr(body);
        let compiled = Compiler::new(&v).grammar(&g).unwrap();
        let sampler = Sampler::new(&g);
        for _ in 0..10 {
            let Some(text) = sampler.sample(&mut rng, 30) else {
                continue;
            };
            let got = compiled
                .captures(text.as_bytes())
                .unwrap_or_else(|e| panic!("seed {seed}: {text:?}: {e}"));
            for c in &got {
                let (_, e) = exprs.iter().find(|(n, _)| *n == c.name).unwrap();
                // The captured expression derives the captured text.
                let sub = Grammar::from_expr(e.clone());
                let piece = &text[c.range.clone()];
                assert!(
                    Recognizer::new(&sub).accepts(piece),
                    "seed {seed}: {} = {piece:?} in {text:?}",
                    c.name
                );
                checked += 1;
            }
            // Captures that are not repeated appear exactly once.
            for (name, _) in &exprs {
                let n = got.iter().filter(|c| c.name == *name).count();
                let repeated = name != "outer" && !text.is_empty() && n > 1;
                assert!(n <= 3 || repeated, "seed {seed}: {name} x{n}");
            }
        }
    }
    assert!(checked > 500, "only {checked} captures checked");
}
