//! Exhaustive checks of masks against independent oracles on tiny
//! vocabularies: every token sequence up to a small depth is explored, and
//! at every step the mask must equal the set of tokens after which the
//! output can still be completed (the oracle: a minimal regex-automata DFA
//! for regexes, the reference recognizer of `rein-grammar` for GBNF).

mod common;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use proptest::prelude::*;
use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::util::primitives::StateID;
use regex_automata::{Anchored, Input};
use rein_engine::{Compiler, Matcher, TokenId, TokenMask, Vocabulary};
use rein_grammar::testing::Recognizer;

/// All strings of length 1..=`max_len` over `alphabet`, plus EOS (empty
/// bytes) as the last id.
fn vocab_over(alphabet: &[&[u8]], max_len: usize) -> Arc<Vocabulary> {
    let mut toks: Vec<Vec<u8>> = alphabet.iter().map(|a| a.to_vec()).collect();
    let mut layer = toks.clone();
    for _ in 1..max_len {
        let mut next = Vec::new();
        for t in &layer {
            for a in alphabet {
                let mut x = t.clone();
                x.extend_from_slice(a);
                next.push(x);
            }
        }
        toks.extend(next.iter().cloned());
        layer = next;
    }
    let set: HashSet<Vec<u8>> = toks.iter().cloned().collect();
    let mut toks: Vec<Vec<u8>> = set.into_iter().collect();
    toks.sort();
    let eos = TokenId(toks.len() as u32);
    toks.push(Vec::new());
    Arc::new(Vocabulary::from_token_bytes(toks, vec![eos]))
}

/// Exploration stops at outputs this long (bytes).
const MAX_BYTES: usize = 6;

/// A language oracle over bytes.
trait Oracle {
    /// Some extension of `bytes` is in the language.
    fn viable(&self, bytes: &[u8]) -> bool;
    /// `bytes` is in the language.
    fn accepts(&self, bytes: &[u8]) -> bool;
    /// Some non-empty extension of `bytes` is viable.
    fn can_continue(&self, bytes: &[u8]) -> bool;
}

/// Oracle from a regex: a dense DFA (anchored, whole-string) with the set
/// of states from which a match is reachable.
struct DfaOracle {
    dfa: dense::DFA<Vec<u32>>,
    live: HashSet<StateID>,
    start: StateID,
}

impl DfaOracle {
    fn new(pattern: &str) -> DfaOracle {
        let dfa = dense::Builder::new()
            .configure(dense::Config::new().start_kind(StartKind::Anchored))
            .syntax(regex_automata::util::syntax::Config::new().utf8(true))
            .build(&format!("^(?:{pattern})$"))
            .unwrap();
        let start = dfa
            .start_state_forward(&Input::new("").anchored(Anchored::Yes))
            .unwrap();
        // All reachable states, then the live ones by fixpoint.
        let mut states = vec![start];
        let mut seen: HashSet<StateID> = states.iter().copied().collect();
        let mut i = 0;
        while i < states.len() {
            let s = states[i];
            i += 1;
            for b in 0..=255u8 {
                let t = dfa.next_state(s, b);
                if seen.insert(t) {
                    states.push(t);
                }
            }
        }
        let mut live: HashSet<StateID> = states
            .iter()
            .copied()
            .filter(|&s| dfa.is_match_state(dfa.next_eoi_state(s)))
            .collect();
        loop {
            let before = live.len();
            for &s in &states {
                if !live.contains(&s) && (0..=255u8).any(|b| live.contains(&dfa.next_state(s, b))) {
                    live.insert(s);
                }
            }
            if live.len() == before {
                break;
            }
        }
        DfaOracle { dfa, live, start }
    }

    fn run(&self, bytes: &[u8]) -> StateID {
        bytes
            .iter()
            .fold(self.start, |s, &b| self.dfa.next_state(s, b))
    }
}

impl Oracle for DfaOracle {
    fn viable(&self, bytes: &[u8]) -> bool {
        self.live.contains(&self.run(bytes))
    }
    fn accepts(&self, bytes: &[u8]) -> bool {
        let s = self.run(bytes);
        self.dfa.is_match_state(self.dfa.next_eoi_state(s))
    }
    fn can_continue(&self, bytes: &[u8]) -> bool {
        let s = self.run(bytes);
        (0..=255u8).any(|b| self.live.contains(&self.dfa.next_state(s, b)))
    }
}

/// Oracle from the reference recognizer (text only: the tiny vocabularies
/// used with it have whole characters as tokens).
struct RecognizerOracle(Recognizer, RefCell<HashMap<Vec<u8>, bool>>);

impl Oracle for RecognizerOracle {
    fn viable(&self, bytes: &[u8]) -> bool {
        if let Some(&v) = self.1.borrow().get(bytes) {
            return v;
        }
        let v = self.0.is_prefix(std::str::from_utf8(bytes).unwrap());
        self.1.borrow_mut().insert(bytes.to_vec(), v);
        v
    }
    fn accepts(&self, bytes: &[u8]) -> bool {
        self.0.accepts(std::str::from_utf8(bytes).unwrap())
    }
    fn can_continue(&self, bytes: &[u8]) -> bool {
        // The grammars used with this oracle are over ASCII (negated
        // classes included, which ASCII characters then cover).
        let text = std::str::from_utf8(bytes).unwrap();
        (0..128u8).any(|c| self.0.is_prefix(&format!("{text}{}", c as char)))
    }
}

/// Explores every allowed token sequence up to `depth` tokens, checking the
/// mask against the oracle at every step, commit/rollback consistency, and
/// the accepting/finished flags. Returns the number of states visited.
fn explore(vocab: &Arc<Vocabulary>, m: &mut Matcher, oracle: &dyn Oracle, depth: usize) -> usize {
    let mut out = Vec::new();
    let mut mask = TokenMask::new(vocab.len());
    explore_rec(vocab, m, oracle, depth, &mut out, &mut mask)
}

fn explore_rec(
    vocab: &Arc<Vocabulary>,
    m: &mut Matcher,
    oracle: &dyn Oracle,
    depth: usize,
    out: &mut Vec<u8>,
    mask: &mut TokenMask,
) -> usize {
    let ctx = String::from_utf8_lossy(out).into_owned();
    assert!(oracle.viable(out), "explored a dead prefix {ctx:?}");
    let accepting = oracle.accepts(out);
    assert_eq!(m.is_accepting(), accepting, "is_accepting after {ctx:?}");
    m.compute_mask(mask).unwrap();
    let mut allowed = Vec::new();
    for id in 0..vocab.len() as u32 {
        let t = TokenId(id);
        let want = if vocab.is_eos(t) {
            accepting
        } else {
            let mut x = out.clone();
            x.extend_from_slice(vocab.token_bytes(t));
            oracle.viable(&x)
        };
        assert_eq!(
            mask.is_allowed(t),
            want,
            "token {:?} after {ctx:?}",
            String::from_utf8_lossy(vocab.token_bytes(t))
        );
        if want && !vocab.is_eos(t) {
            allowed.push(t);
        }
    }
    if !accepting {
        assert!(
            !allowed.is_empty(),
            "empty mask while not accepting after {ctx:?}"
        );
    }
    let can_continue = oracle.can_continue(out);
    assert_eq!(
        m.is_finished(),
        accepting && !can_continue,
        "is_finished after {ctx:?}"
    );
    let mut visited = 1;
    if depth == 0 || out.len() >= MAX_BYTES {
        return visited;
    }
    // A disallowed token is an error and changes nothing.
    if let Some(bad) = (0..vocab.len() as u32)
        .map(TokenId)
        .find(|&t| !mask.is_allowed(t))
    {
        assert!(m.commit(bad).is_err());
        assert_eq!(m.num_bytes(), out.len());
    }
    for t in allowed {
        m.commit(t)
            .unwrap_or_else(|e| panic!("commit after {ctx:?}: {e}"));
        let n = out.len();
        out.extend_from_slice(vocab.token_bytes(t));
        visited += explore_rec(vocab, m, oracle, depth - 1, out, mask);
        out.truncate(n);
        m.rollback(1).unwrap();
    }
    visited
}

fn check_regex(vocab: &Arc<Vocabulary>, pattern: &str, depth: usize) -> usize {
    let g = Arc::new(
        Compiler::new(vocab)
            .regex(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}")),
    );
    let oracle = DfaOracle::new(pattern);
    let mut m = Matcher::new(g);
    explore(vocab, &mut m, &oracle, depth)
}

fn check_gbnf(vocab: &Arc<Vocabulary>, src: &str, depth: usize) -> usize {
    let ir = rein_grammar::gbnf::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let g = Arc::new(Compiler::new(vocab).grammar(&ir).unwrap());
    let oracle = RecognizerOracle(Recognizer::new(&ir), RefCell::default());
    let mut m = Matcher::new(g);
    explore(vocab, &mut m, &oracle, depth)
}

fn abc() -> Arc<Vocabulary> {
    vocab_over(&[b"a", b"b", b"c"], 3)
}

#[test]
fn regexes_on_abc() {
    let v = abc();
    for re in [
        "a+b",
        "[a-c]*",
        "a*b*c*",
        "(ab|ba)*c?",
        "a{2,4}b{0,2}",
        "(a|ab)(c|bc)",
        "",
        "a?",
        "(aa|aaa)*b",
        "[ab]*c[ab]*c",
    ] {
        check_regex(&v, re, 4);
    }
}

#[test]
fn multibyte_characters_split_across_tokens() {
    // Tokens hold single bytes of multi-byte characters as well as whole
    // characters, as byte-level BPE vocabularies do.
    let e_acute = "é".as_bytes(); // c3 a9
    let snow = "☃".as_bytes(); // e2 98 83
    let v = vocab_over(
        &[
            b"a",
            &e_acute[..1],
            &e_acute[1..],
            &snow[..1],
            &snow[1..2],
            &snow[2..],
            "é".as_bytes(),
        ],
        2,
    );
    for re in ["[é☃]+", "a(é|☃)*a", "[^a]a", "\\w+", "[à-ÿ]☃?", "."] {
        check_regex(&v, re, 4);
    }
}

#[test]
fn gbnf_greedy_lexing_and_recursion() {
    let v = vocab_over(&[b"a", b"b", b"c", b"("], 2);
    for src in [
        r#"root ::= [a-c]+ "b""#,
        r#"root ::= "a" root "b" | "c""#,
        r#"root ::= root "a" | "b""#,
        r#"root ::= x x
x ::= "a" | "ab" | "b""#,
        r#"root ::= ("a" | "b")* "c" ("a" "b"?)*"#,
        r#"root ::= e
e ::= e "a" e | "b" | "(" e ")" | "c""#,
        r#"root ::= a b
a ::= "a"* 
b ::= "b"? | a"#,
        r#"root ::= "a" | "" | "cc""#,
        r#"root ::= "a"{2,3} ("b" "c"{0,2}){1,2}"#,
    ] {
        let t = std::time::Instant::now();
        let n = check_gbnf(&v, src, 3);
        eprintln!("{n} states in {:?}: {src}", t.elapsed());
    }
}

/// With an inlining budget of zero, every regex of the IR and every
/// regular rule is a lexeme of its own (the path large regexes such as
/// `maxLength` strings take): the language must not change.
#[test]
fn regexes_as_lexemes_of_their_own_keep_the_language() {
    let v = vocab_over(&[b"a", b"b", b"c", b"("], 2);
    let mut config = rein_engine::Config::default();
    config.limits.inline_regex_cost = 0;
    let (mut split, mut inlined) = (0, 0);
    for src in [
        r#"root ::= [a-c]+ "b""#,
        r#"root ::= [ab] [bc]* [a-c]{0,2} "c""#,
        r#"root ::= x x
x ::= [a-b]{1,2} | "ab" | [b-c]"#,
        r#"root ::= ([ab] | "c")* "c" ([a-c] "b"?)*"#,
        r#"root ::= "(" [ab]* ")" | "(" root [c]{0,3}"#,
        r#"root ::= [a]{2,3} ([b] [c]{0,2}){1,2}"#,
        r#"root ::= [ab]? | [^(]{2}"#,
    ] {
        let ir = rein_grammar::gbnf::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let g = Compiler::new(&v)
            .with_config(config.clone())
            .grammar(&ir)
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        split += g.stats().lexemes;
        inlined += Compiler::new(&v).grammar(&ir).unwrap().stats().lexemes;
        let oracle = RecognizerOracle(Recognizer::new(&ir), RefCell::default());
        let mut m = Matcher::new(Arc::new(g));
        explore(&v, &mut m, &oracle, 3);
    }
    assert!(split > inlined, "no regex was split off ({split} lexemes)");
}

#[test]
fn balanced_parentheses_deep() {
    let v = vocab_over(&[b"(", b")", b"x"], 2);
    check_gbnf(&v, r#"root ::= "(" root* ")" | "x""#, 6);
}

#[test]
fn forced_tokens_are_the_tokenizers_and_allowed() {
    let v = abc();
    let g = Arc::new(Compiler::new(&v).regex("abcab(c|a)+").unwrap());
    let mut m = Matcher::new(g);
    // "abcab" is forced, then a choice. Tiny vocabularies have no
    // tokenizer, so forced_tokens may be None; if not, every token must
    // be allowed and stay within the forced text.
    if let Some(toks) = m.forced_tokens() {
        let mut text = Vec::new();
        for t in toks {
            m.commit(t).unwrap();
            text.extend_from_slice(v.token_bytes(t));
        }
        assert!(b"abcab".starts_with(&text));
    }
    assert_eq!(
        Matcher::new(m.grammar().clone()).forced_bytes(100).unwrap(),
        b"abcab"
    );
}

#[test]
fn empty_language_is_a_compile_error() {
    let v = abc();
    assert!(Compiler::new(&v).gbnf(r#"root ::= "a" root"#).is_err());
    assert!(Compiler::new(&v).regex("[^\\x00-\\x{10FFFF}]").is_err());
}

/// Random regexes over a small alphabet.
fn regex_strategy() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("c".to_string()),
        Just("[ab]".to_string()),
        Just("[^a]".to_string()),
        Just("".to_string()),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| v.join("")),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| format!("(?:{})", v.join("|"))),
            inner.clone().prop_map(|r| format!("(?:{r})*")),
            inner.clone().prop_map(|r| format!("(?:{r})+")),
            inner.clone().prop_map(|r| format!("(?:{r})?")),
            (inner, 0u32..3, 0u32..3).prop_map(|(r, a, b)| format!(
                "(?:{r}){{{},{}}}",
                a.min(b),
                a.max(b)
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_regexes_match_the_dfa_oracle(re in regex_strategy()) {
        let v = vocab_over(&[b"a", b"b", b"c", b"d"], 2);
        check_regex(&v, &re, 3);
    }

    #[test]
    fn random_regexes_as_gbnf_rules(re in regex_strategy()) {
        // The same language written as a grammar whose rules recurse, so
        // that it goes through the Earley parser instead of one lexeme.
        let v = vocab_over(&[b"a", b"b", b"c", b"d"], 2);
        let src = format!("root ::= x\nx ::= \"d\" x \"d\" | y\ny ::= {}", regex_to_gbnf(&re));
        check_gbnf(&v, &src, 3);
    }
}

/// Translates the regexes of `regex_strategy` to GBNF.
fn regex_to_gbnf(re: &str) -> String {
    let mut out = String::new();
    let mut chars = re.chars().peekable();
    let mut pending_seq = false;
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                // "(?:" opens a group.
                chars.next();
                chars.next();
                out.push_str(" (");
                pending_seq = false;
            }
            ')' => out.push_str(" )"),
            '|' => out.push_str(" |"),
            '*' | '+' | '?' => out.push(c),
            '{' => {
                out.push('{');
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '}' {
                        break;
                    }
                }
            }
            '[' => {
                out.push_str(" [");
                for d in chars.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            }
            c => {
                out.push_str(&format!(" \"{c}\""));
            }
        }
        let _ = pending_seq;
        pending_seq = true;
    }
    if out.trim().is_empty() || out.trim_start().starts_with('|') || out.contains("( |") {
        // Empty alternatives: GBNF writes them as "".
        return format!("\"\" ({out} )")
            .replace("( |", "( \"\" |")
            .replace("| )", "| \"\" )")
            .replace("| |", "| \"\" |");
    }
    out.replace("( |", "( \"\" |")
        .replace("| )", "| \"\" )")
        .replace("| |", "| \"\" |")
        .replace("( )", "( \"\" )")
}

#[test]
fn alternatives_that_match_nothing_do_not_empty_the_rule() {
    // regex-syntax reports no minimum length for an alternation with an
    // empty-class branch; the language is still {"a", "ab"}.
    let v = abc();
    check_regex(&v, "a|[^\\x00-\\x{10FFFF}]|ab", 3);
    let g = rein_grammar::Grammar::from_expr(rein_grammar::Expr::alt(vec![
        rein_grammar::Expr::Nothing,
        rein_grammar::Expr::literal("a"),
    ]));
    let g = Arc::new(Compiler::new(&v).grammar(&g).unwrap());
    let mut m = Matcher::new(g);
    m.commit_bytes(b"a").unwrap().unwrap();
    assert!(m.is_accepting());
}

#[test]
fn matchers_starting_from_a_warm_lexer_cache_agree_with_the_oracle() {
    // A dropped matcher hands its lexer cache to the grammar and the next
    // matcher starts from it: the second exploration runs warm.
    let v = abc();
    for re in ["(ab|ba)*c?", "a{2,4}b{0,2}"] {
        let g = Arc::new(Compiler::new(&v).regex(re).unwrap());
        let oracle = DfaOracle::new(re);
        for _ in 0..2 {
            let mut m = Matcher::new(g.clone());
            explore(&v, &mut m, &oracle, 3);
        }
    }
}

/// Whole masks on the real vocabularies against the DFA oracle, along
/// texts that exercise the slices of ordinary text: bounded repetitions
/// (every position its own lexer state; the slice groups allowed whole
/// change with the room left), unbounded ones, multi-byte characters, and
/// lexemes where ordinary text is not allowed at all.
#[test]
fn real_vocabulary_masks_match_the_dfa_oracle_along_texts() {
    let cases: &[(&str, &str)] = &[
        (r#""[^"\\\x00-\x1f]{0,20}""#, r#""Hello wörld, 日本 ok""#),
        (
            r#""[^"\\\x00-\x1f]{3,40}"!"#,
            r#""The quick brown fox jumps over a dog"!"#,
        ),
        (
            r#"\{"name": "(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]){1,12}", "n": [0-9]{1,3}\}"#,
            r#"{"name": "a\"b 日c", "n": 42}"#,
        ),
        (
            r#"(?:[^"\\\x00-\x1f]){5,}x"#,
            "long text with émoji 🎉 and more words x",
        ),
        (r#"[a-z ]{0,30}\."#, "lower case words only."),
        (r#"(?:ab|cd)+[0-9]*"#, "abcdab123"),
        // A search inside a string: a character loop that survives any
        // text, and only the quote completes.
        (
            r#""[^"\\\x00-\x1f]*(?:alpha|beta)[^"\\\x00-\x1f]*""#,
            r#""the alpha and ünïcode words""#,
        ),
        // Bounded, longer than the slice groups, the room left shrinking
        // below their lengths.
        (
            r#""[^"\\\x00-\x1f]{0,75}""#,
            r#""some sixty characters of text, with ü and 日本 in the middle""#,
        ),
        // Ordinary text completes the lexeme within two bytes anywhere.
        (r#"[^"\\\x00-\x1f]{0,40}ab"#, "words and more words ab"),
        // One branch survives anything, the other completes early.
        (r#"(?:[^"\\\x00-\x1f]*"|abcd)"#, "abcd"),
        (r#"(?:[^"\\\x00-\x1f]*"|abcd)"#, "abcde fg\""),
        // A literal longer than the bounded groups that ordinary text
        // completes (far, but reachable), and one it never completes.
        (
            r#"(?:[^"\\\x00-\x1f]*"|abcdefghijklmnopqrstuvwxyz)"#,
            "abcdefghijklmnopqrstuvwxyz",
        ),
        (
            r#"(?:[^"\\\x00-\x1f]*"|abcdefghijklmnopqrstuvwxyz")"#,
            "abcdefghijklmnopqrstuvwxyz\"",
        ),
        // Bounded, longer than the longest token: every group let through
        // by length until the room left falls below the longest token.
        (
            r#""[^"\\\x00-\x1f]{0,260}""#,
            concat!(
                "\"A long text of words and spaces, with ü and 日本 and more, written so",
                " that the room left crosses the length of the longest tokens of the",
                " vocabulary, then goes on to the end of the string, near its bound. a b c\""
            ),
        ),
        // The first characters split between states (`x`, then `-` or
        // not), none reading every character, all reaching the loop two
        // characters later; and the same where `x` then anything but `y`
        // kills.
        (
            r#"(?:[^x"\\\x00-\x1f][^"\\\x00-\x1f]*|x-[^"\\\x00-\x1f]*|x[^-"\\\x00-\x1f][^"\\\x00-\x1f]*|x)""#,
            "x-ray and more\"",
        ),
        (
            r#"(?:[^x"\\\x00-\x1f][^"\\\x00-\x1f]*|xy[^"\\\x00-\x1f]*)""#,
            "xylophone\"",
        ),
        (
            r#"(?:[^x"\\\x00-\x1f][^"\\\x00-\x1f]*|xy[^"\\\x00-\x1f]*)""#,
            "and others\"",
        ),
    ];
    for name in ["llama3", "gemma3"] {
        let vocab = common::vocab(name);
        for &(pattern, text) in cases {
            let g = Arc::new(Compiler::new(&vocab).regex(pattern).unwrap());
            let oracle = DfaOracle::new(pattern);
            assert!(
                oracle.accepts(text.as_bytes()),
                "{pattern} must match {text:?}"
            );
            let mut m = Matcher::new(g);
            let mut mask = TokenMask::new(vocab.len());
            let mut out: Vec<u8> = Vec::new();
            for t in vocab.encode(text).unwrap() {
                m.compute_mask(&mut mask).unwrap();
                assert_whole_mask(&vocab, &mask, &oracle, &out, &format!("{name}, {pattern}"));
                m.commit(t).unwrap();
                out.extend_from_slice(vocab.token_bytes(t));
            }
            assert!(m.is_accepting(), "{name}, {pattern}: {text:?} accepted");
        }
    }
}

/// Every token of `vocab` is allowed by `mask` exactly when the oracle can
/// still complete `out` followed by it (EOS: when `out` is complete).
fn assert_whole_mask(
    vocab: &Vocabulary,
    mask: &TokenMask,
    oracle: &DfaOracle,
    out: &[u8],
    what: &str,
) {
    let start = oracle.run(out);
    for id in 0..vocab.len() as u32 {
        let tok = TokenId(id);
        let want = if vocab.is_eos(tok) {
            oracle.dfa.is_match_state(oracle.dfa.next_eoi_state(start))
        } else {
            let bytes = vocab.token_bytes(tok);
            !bytes.is_empty()
                && !vocab.is_special(tok)
                && oracle.live.contains(
                    &bytes
                        .iter()
                        .fold(start, |s, &b| oracle.dfa.next_state(s, b)),
                )
        };
        assert_eq!(
            mask.is_allowed(tok),
            want,
            "{what}: token {id} {:?} after {:?}",
            String::from_utf8_lossy(vocab.token_bytes(tok)),
            String::from_utf8_lossy(out)
        );
    }
}

/// A random regex over pieces that take ordinary text (any character but
/// quotes, backslashes and controls), so that token tables are decided by
/// the slices: loops that survive any text, bounded runs with little or
/// much room, searches, pieces that ordinary text completes or kills.
fn wide_regex(rng: &mut rand::rngs::StdRng, depth: u32) -> String {
    use rand::Rng;
    const ORD: &str = r#"[^"\\\x00-\x1f]"#;
    let atom = |rng: &mut rand::rngs::StdRng| -> String {
        match rng.random_range(0..7) {
            0 | 1 => ORD.to_string(),
            2 => "[a-z]".to_string(),
            3 => r"\S".to_string(),
            4 => " ".to_string(),
            5 => ["ab", "alpha", "é", "日本", "x1"][rng.random_range(0..5)].to_string(),
            _ => r#"[ !#-\[\]-~]"#.to_string(),
        }
    };
    if depth == 0 {
        return atom(rng);
    }
    match rng.random_range(0..6) {
        0 => format!("(?:{})*", wide_regex(rng, depth - 1)),
        1 => {
            let lo = rng.random_range(0..4);
            let hi = lo + [2, 5, 9, 17, 20, 30, 60][rng.random_range(0..7)];
            format!("(?:{}){{{lo},{hi}}}", wide_regex(rng, depth - 1))
        }
        2 => format!(
            "{}{}",
            wide_regex(rng, depth - 1),
            wide_regex(rng, depth - 1)
        ),
        3 => format!(
            "(?:{}|{})",
            wide_regex(rng, depth - 1),
            wide_regex(rng, depth - 1)
        ),
        4 => format!(r#""{}""#, wide_regex(rng, depth - 1)),
        _ => format!("{ORD}*{}{ORD}*", wide_regex(rng, depth - 1)),
    }
}

/// Whole masks on a real vocabulary against the DFA oracle, for random
/// regexes of ordinary-text pieces, along random outputs drawn from the
/// oracle (each step picks a token the oracle allows).
#[test]
fn random_wide_regexes_on_a_real_vocabulary_match_the_dfa_oracle() {
    use rand::{Rng, SeedableRng};
    let vocab = common::vocab("llama3");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for i in 0..64 {
        let pattern = wide_regex(&mut rng, 1 + i % 2);
        let g = Arc::new(Compiler::new(&vocab).regex(&pattern).unwrap());
        let oracle = DfaOracle::new(&pattern);
        let mut m = Matcher::new(g);
        let mut mask = TokenMask::new(vocab.len());
        let mut out: Vec<u8> = Vec::new();
        for _ in 0..12 {
            m.compute_mask(&mut mask).unwrap();
            assert_whole_mask(&vocab, &mask, &oracle, &out, &pattern);
            // A random allowed text token (longer ones first half the time).
            let allowed: Vec<u32> = (0..vocab.len() as u32)
                .filter(|&t| mask.is_allowed(TokenId(t)) && !vocab.is_eos(TokenId(t)))
                .collect();
            if allowed.is_empty() {
                break;
            }
            let t = if rng.random_bool(0.5) {
                *allowed
                    .iter()
                    .max_by_key(|&&t| (vocab.token_bytes(TokenId(t)).len(), t % 7))
                    .unwrap()
            } else {
                allowed[rng.random_range(0..allowed.len())]
            };
            m.commit(TokenId(t)).unwrap();
            out.extend_from_slice(vocab.token_bytes(TokenId(t)));
        }
    }
}

/// The batch call gives each matcher exactly the mask it computes alone,
/// and reports a missing mask as an error.
#[test]
fn batch_masks_equal_one_by_one_masks() {
    let vocab = common::vocab("llama3");
    let g = Arc::new(
        Compiler::new(&vocab)
            .regex(r#"\{"a": "[a-z ]{0,12}", "n": [0-9]+\}"#)
            .unwrap(),
    );
    let text = r#"{"a": "some words", "n": 123}"#;
    let tokens = vocab.encode(text).unwrap();
    // Matcher i has committed the first i tokens.
    let mut matchers: Vec<Matcher> = (0..tokens.len())
        .map(|i| {
            let mut m = Matcher::new(g.clone());
            for &t in &tokens[..i] {
                m.commit(t).unwrap();
            }
            m
        })
        .collect();
    let mut masks = vec![TokenMask::new(vocab.len()); matchers.len()];
    for r in rein_engine::compute_masks(&mut matchers, &mut masks) {
        r.unwrap();
    }
    for (i, m) in matchers.iter_mut().enumerate() {
        let mut alone = TokenMask::new(vocab.len());
        m.compute_mask(&mut alone).unwrap();
        assert_eq!(masks[i], alone, "matcher {i}");
        assert!(
            masks[i].is_allowed(tokens[i]),
            "matcher {i} allows its next token"
        );
    }
    let mut short = vec![TokenMask::new(vocab.len()); 1];
    let res = rein_engine::compute_masks(&mut matchers[..2], &mut short);
    assert!(res[0].is_ok());
    assert!(matches!(
        res[1],
        Err(rein_engine::MaskError::BatchMismatch {
            matchers: 2,
            masks: 1
        })
    ));
}
