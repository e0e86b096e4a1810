//! Cross-checks of the GBNF front-end and the reference recognizer.
//!
//! Random expression trees are written out twice, as GBNF and as a Rust
//! regex. Both are compiled by their front-ends and run through the
//! recognizer, and the answers are compared with each other and with the
//! `regex` crate (membership) and a regex-automata DFA (prefixes).

use proptest::prelude::*;
use regex_automata::dfa::{dense, Automaton};
use regex_automata::{Anchored, Input, MatchKind};
use rein_grammar::testing::{Recognizer, Sampler};
use rein_grammar::{gbnf, regex};

/// Characters used in trees and inputs: ASCII, GBNF and regex
/// metacharacters, multi-byte ones.
const ALPHABET: &[char] = &['a', 'b', '-', ']', '"', '\\', '^', 'é', '日', '😀', '\n'];

#[derive(Clone, Debug)]
enum Node {
    Lit(Vec<char>),
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
    Any,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

fn gbnf_char(c: char, in_class: bool) -> String {
    match c {
        '"' | '\\' => format!("\\{c}"),
        ']' | '-' | '[' if in_class => format!("\\{c}"),
        '^' if in_class => "\\x5E".into(),
        '\n' => "\\n".into(),
        'é' => "\\xE9".into(),
        '😀' => "\\U0001F600".into(),
        c => c.to_string(),
    }
}

fn to_gbnf(n: &Node) -> String {
    match n {
        Node::Lit(cs) => format!(
            "\"{}\"",
            cs.iter().map(|&c| gbnf_char(c, false)).collect::<String>()
        ),
        Node::Class { negated, items } => {
            let mut s = String::from(if *negated { "[^" } else { "[" });
            for &(lo, hi) in items {
                s += &gbnf_char(lo, true);
                if lo != hi {
                    s += "-";
                    s += &gbnf_char(hi, true);
                }
            }
            s + "]"
        }
        Node::Any => ".".into(),
        Node::Concat(v) => format!("({})", v.iter().map(to_gbnf).collect::<Vec<_>>().join(" ")),
        Node::Alt(v) => format!(
            "({})",
            v.iter().map(to_gbnf).collect::<Vec<_>>().join(" | ")
        ),
        Node::Repeat(x, min, max) => format!("({}){}", to_gbnf(x), braces(*min, *max)),
    }
}

fn braces(min: u32, max: Option<u32>) -> String {
    match max {
        Some(m) if m == min => format!("{{{min}}}"),
        Some(m) => format!("{{{min},{m}}}"),
        None => format!("{{{min},}}"),
    }
}

fn to_regex(n: &Node) -> String {
    let hex = |c: char| format!("\\x{{{:X}}}", u32::from(c));
    match n {
        Node::Lit(cs) => format!("(?:{})", cs.iter().map(|&c| hex(c)).collect::<String>()),
        Node::Class { negated, items } => {
            if items.is_empty() {
                // An empty class: never matches (or, negated, any character).
                return if *negated {
                    "(?s:.)".into()
                } else {
                    "[^\\x{0}-\\x{10FFFF}]".into()
                };
            }
            let mut s = String::from(if *negated { "[^" } else { "[" });
            for &(lo, hi) in items {
                s += &format!("{}-{}", hex(lo), hex(hi));
            }
            s + "]"
        }
        Node::Any => "(?s:.)".into(),
        Node::Concat(v) => format!("(?:{})", v.iter().map(to_regex).collect::<String>()),
        Node::Alt(v) => format!(
            "(?:{})",
            v.iter().map(to_regex).collect::<Vec<_>>().join("|")
        ),
        Node::Repeat(x, min, max) => format!("(?:{}){}", to_regex(x), braces(*min, *max)),
    }
}

fn any_char() -> impl Strategy<Value = char> {
    prop::sample::select(ALPHABET)
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        4 => prop::collection::vec(any_char(), 1..3).prop_map(Node::Lit),
        3 => (any::<bool>(), prop::collection::vec((any_char(), any_char()), 1..3)).prop_map(
            |(negated, pairs)| Node::Class {
                negated,
                items: pairs.into_iter().map(|(a, b)| if a <= b { (a, b) } else { (b, a) }).collect(),
            }
        ),
        1 => Just(Node::Any),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Node::Concat),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Node::Alt),
            (inner, 0u32..3, prop::option::of(0u32..3)).prop_map(|(x, min, extra)| {
                Node::Repeat(Box::new(x), min, extra.map(|e| min + e))
            }),
        ]
    })
}

fn input() -> impl Strategy<Value = String> {
    prop::collection::vec(any_char(), 0..7).prop_map(|v| v.into_iter().collect())
}

/// Whether some extension of `s` matches `pattern` as a whole, by walking
/// an anchored DFA: a state that is not dead can still reach a match.
fn dfa_is_prefix(dfa: &dense::DFA<Vec<u32>>, s: &str) -> bool {
    let input = Input::new(s).anchored(Anchored::Yes);
    let Ok(mut state) = dfa.start_state_forward(&input) else {
        return false;
    };
    for &b in s.as_bytes() {
        state = dfa.next_state(state, b);
        if dfa.is_dead_state(state) {
            return false;
        }
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn gbnf_regex_and_recognizer_agree(tree in node(), inputs in prop::collection::vec(input(), 12)) {
        let gbnf_src = format!("root ::= {}", to_gbnf(&tree));
        let config = gbnf::Config { allow_unproductive: true, ..Default::default() };
        let g1 = match gbnf::parse_with(&gbnf_src, &config) {
            Ok(g) => g,
            // An empty language is reported as an error; the regex must
            // then match nothing either.
            Err(rein_grammar::GrammarError::EmptyLanguage { .. }) => {
                let re = ::regex::Regex::new(&format!("^(?:{})$", to_regex(&tree))).unwrap();
                for s in &inputs {
                    prop_assert!(!re.is_match(s));
                }
                return Ok(());
            }
            Err(e) => panic!("{gbnf_src}\n{e}"),
        };
        let pattern = to_regex(&tree);
        let g2 = regex::parse(&pattern).unwrap();
        let (r1, r2) = (Recognizer::new(&g1), Recognizer::new(&g2));
        let re = ::regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
        let dfa = dense::Builder::new()
            .configure(dense::Config::new().match_kind(MatchKind::All).minimize(true))
            .build(&format!("(?:{pattern})$"))
            .unwrap();
        let mut texts = inputs.clone();
        let mut rng = rand::rng();
        let sampler = Sampler::new(&g1);
        for _ in 0..4 {
            if let Some(s) = sampler.sample(&mut rng, 8) {
                let cut: String = s.chars().take(s.chars().count() / 2).collect();
                texts.push(s);
                texts.push(cut);
            }
        }
        for s in &texts {
            let want = re.is_match(s);
            prop_assert_eq!(r1.accepts(s), want, "gbnf {} on {:?}", gbnf_src, s);
            prop_assert_eq!(r2.accepts(s), want, "regex {} on {:?}", pattern, s);
            let want = dfa_is_prefix(&dfa, s);
            prop_assert_eq!(r1.is_prefix(s), want, "gbnf prefix {} on {:?}", gbnf_src, s);
            prop_assert_eq!(r2.is_prefix(s), want, "regex prefix {} on {:?}", pattern, s);
        }
    }
}
