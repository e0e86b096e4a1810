use rand::SeedableRng;

use super::*;
use crate::{gbnf, regex, Grammar};
use rand::Rng as _;

/// The grammars in the repository's `grammars/` folder.
fn corpus() -> Vec<(String, Grammar)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../grammars");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "gbnf") {
            let src = std::fs::read_to_string(&path).unwrap();
            let g = gbnf::parse(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((path.display().to_string(), g));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 8, "corpus has {} grammars", out.len());
    out
}

#[test]
fn samples_of_every_corpus_grammar_are_accepted() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for (name, g) in corpus() {
        let (s, r) = (Sampler::new(&g), Recognizer::new(&g));
        let mut distinct = std::collections::HashSet::new();
        for _ in 0..60 {
            let text = s.sample(&mut rng, 12).unwrap();
            if text.chars().count() > 300 {
                continue; // keep the cubic recognizer quick
            }
            assert!(r.accepts(&text), "{name}: sample {text:?} rejected");
            // Every prefix of a member is a prefix.
            let cut: String = text.chars().take(text.chars().count() / 2).collect();
            assert!(r.is_prefix(&cut), "{name}: {cut:?} is not a prefix");
            distinct.insert(text);
        }
        assert!(distinct.len() > 5, "{name}: too few distinct samples");
    }
}

#[test]
fn recognizer_agrees_with_the_regex_crate() {
    let patterns = [
        r"[a-c]*b",
        r"(ab|a)(bc|c)?",
        r"x{2,4}(yz){0,2}",
        r"[^a-z]+",
        r"\d{1,3}(\.\d{1,3}){3}",
        r"(?:[αβγ]|日本)+語?",
        r"(a|b|)*c",
        r"(?i)abc",
        r".+",
    ];
    let inputs = [
        "",
        "b",
        "ab",
        "cb",
        "abcb",
        "abc",
        "a",
        "xx",
        "xxxx",
        "xxxxx",
        "xxyz",
        "xxyzyz",
        "xxyzyzyz",
        "ABC",
        "Abc",
        "1.2.3.4",
        "255.0.10.99",
        "1.2.3",
        "αβ日本語",
        "日本",
        "語",
        "\n",
        "😀",
        "ab",
        "c",
        "abac",
        "aabbc",
        "Z",
        "123",
        "é",
    ];
    for p in patterns {
        let g = regex::parse(p).unwrap();
        let rec = Recognizer::new(&g);
        let re = ::regex::Regex::new(&format!("^(?:{p})$")).unwrap();
        for s in inputs {
            assert_eq!(rec.accepts(s), re.is_match(s), "{p} on {s:?}");
        }
        // Samples match too.
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let sampler = Sampler::new(&g);
        for _ in 0..50 {
            let s = sampler.sample(&mut rng, 10).unwrap();
            assert!(re.is_match(&s), "{p}: sample {s:?}");
        }
    }
}

#[test]
fn hand_picked_rejections() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            r#"root ::= [a-z]+ "b""#,
            &["ab", "aab", "bb", "zzzb"],
            &["", "b", "a", "aB", "abc", "Ab"],
        ),
        (
            r#"root ::= [^"\\]* "!""#,
            &["!", "héllo 日本!", "😀!"],
            &["\"!", "\\!", "ab"],
        ),
        (
            r#"root ::= . . "x""#,
            &["日本x", "😀😀x", "abx"],
            &["日x", "日本語x", "x"],
        ),
    ];
    for &(src, yes, no) in cases {
        let r = Recognizer::new(&gbnf::parse(src).unwrap());
        for s in yes {
            assert!(r.accepts(s), "{src}: {s:?}");
        }
        for s in no {
            assert!(!r.accepts(s), "{src}: {s:?}");
        }
    }
}

#[test]
fn sampler_of_empty_language_is_none() {
    let s = Sampler::new(&Grammar::from_expr(crate::Expr::Nothing));
    assert_eq!(s.sample(&mut rand::rng(), 5), None);
}

#[test]
fn sampler_terminates_on_explosive_grammars() {
    let g = gbnf::parse(r#"root ::= root root root | "a""#).unwrap();
    let (s, r) = (Sampler::new(&g), Recognizer::new(&g));
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for _ in 0..20 {
        let text = s.sample(&mut rng, 6).unwrap();
        assert!(text.len() < 10_000);
        if text.len() < 200 {
            assert!(r.accepts(&text));
        }
    }
}

#[test]
fn long_inputs_are_quick_enough() {
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../grammars/json.gbnf"),
    )
    .unwrap();
    let r = Recognizer::new(&gbnf::parse(&src).unwrap());
    let mut text = String::from("[");
    while text.len() < 190 {
        text.push_str("{\"k\": [1.5e3, \"v\"]}, ");
    }
    text.push_str("null]");
    let t = std::time::Instant::now();
    assert!(r.accepts(&text));
    assert!(r.is_prefix(&text[..text.len() - 1]));
    eprintln!("{} chars: {:?}", text.len(), t.elapsed());
    // Highly ambiguous: every split of the run is a parse.
    let r = Recognizer::new(&gbnf::parse(r#"root ::= root root | "a""#).unwrap());
    let text = "a".repeat(200);
    let t = std::time::Instant::now();
    assert!(r.accepts(&text));
    eprintln!("ambiguous, {} chars: {:?}", text.len(), t.elapsed());
}

/// Membership by brute force: the least fixpoint of "symbol `A` derives
/// `chars[i..j]`", over the same BNF lowering. Slow, but shares nothing
/// with the Earley recognizer.
fn derives_by_fixpoint(b: &bnf::Bnf, chars: &[char]) -> bool {
    use bnf::Sym;
    use std::collections::HashSet;
    let n = chars.len();
    let mut table: HashSet<(u32, usize, usize)> = HashSet::new();
    loop {
        let before = table.len();
        for p in &b.prods {
            for i in 0..=n {
                let mut ends = vec![i];
                for s in &p.rhs {
                    let mut next = Vec::new();
                    for &e in &ends {
                        match *s {
                            Sym::T(t) => {
                                if chars
                                    .get(e)
                                    .is_some_and(|&c| b.terms[t as usize].contains(c))
                                {
                                    next.push(e + 1);
                                }
                            }
                            Sym::N(x) => {
                                next.extend((e..=n).filter(|&j| table.contains(&(x, e, j))));
                            }
                        }
                    }
                    next.sort_unstable();
                    next.dedup();
                    ends = next;
                }
                for j in ends {
                    table.insert((p.lhs, i, j));
                }
            }
        }
        if table.len() == before {
            break;
        }
    }
    table.contains(&(b.start, 0, n))
}

fn random_expr(rng: &mut impl rand::Rng, n_rules: u32, depth: u32) -> crate::Expr {
    use crate::{Expr, RuleId};
    let leaf = depth == 0 || rng.random_bool(0.3);
    if leaf {
        return match rng.random_range(0..8) {
            0 => Expr::Empty,
            1 => Expr::literal("a"),
            2 => Expr::literal("b"),
            3 => Expr::literal("ab"),
            4 => Expr::Nothing,
            _ => Expr::Rule(RuleId(rng.random_range(0..n_rules))),
        };
    }
    match rng.random_range(0..3) {
        0 => Expr::Seq(vec![
            random_expr(rng, n_rules, depth - 1),
            random_expr(rng, n_rules, depth - 1),
        ]),
        1 => Expr::Alt(vec![
            random_expr(rng, n_rules, depth - 1),
            random_expr(rng, n_rules, depth - 1),
        ]),
        _ => {
            let min = rng.random_range(0..3);
            let max = if rng.random_bool(0.3) {
                None
            } else {
                Some(min + rng.random_range(0..3))
            };
            Expr::repeat(random_expr(rng, n_rules, depth - 1), min, max)
        }
    }
}

#[test]
fn earley_agrees_with_a_brute_force_fixpoint_on_random_grammars() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    // Every string over {a, b} up to length 5.
    let mut inputs = vec![String::new()];
    for len in 1..=5 {
        for bits in 0..(1u32 << len) {
            inputs.push(
                (0..len)
                    .map(|k| if bits >> k & 1 == 1 { 'b' } else { 'a' })
                    .collect(),
            );
        }
    }
    for _ in 0..300 {
        let n_rules = rng.random_range(1..4u32);
        let mut g = Grammar::new();
        for i in 0..n_rules {
            let e = random_expr(&mut rng, n_rules, 3);
            g.add_rule(format!("r{i}"), e);
        }
        let b = bnf::Bnf::new(&g);
        let r = Recognizer::new(&g);
        let truth: Vec<bool> = inputs
            .iter()
            .map(|s| derives_by_fixpoint(&b, &s.chars().collect::<Vec<_>>()))
            .collect();
        for (s, &want) in inputs.iter().zip(&truth) {
            assert_eq!(r.accepts(s), want, "{g:?} on {s:?}");
        }
        // A string with a member among its short extensions is a prefix;
        // one the recognizer calls dead has none.
        for (k, s) in inputs.iter().enumerate() {
            let extended = inputs
                .iter()
                .zip(&truth)
                .any(|(t, &yes)| yes && t.starts_with(s.as_str()));
            if extended {
                assert!(r.is_prefix(s), "{g:?}: {s:?} should be a prefix ({k})");
            }
        }
    }
}
