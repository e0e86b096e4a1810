//! Hostile grammars, schemas and inputs (issue 8): each ends in a result
//! or a clear error, quickly and in bounded memory. The tests assert the
//! outcome; times and memory are measured separately (docs/robustness.md).

use std::sync::Arc;

use rein_engine::{
    CompiledGrammar, Compiler, Config, GrammarError, Limits, MaskError, Matcher, TokenId,
    TokenMask, Vocabulary,
};
use rein_grammar::{json_schema, Expr, Grammar};
use serde_json::{json, Map, Value};

/// Every single byte as a token, a few longer tokens, and EOS (last).
fn vocab() -> Arc<Vocabulary> {
    let mut toks: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    for t in ["aa", "aaaa", "ab", "xx", "[[", "]]", "\"v", "00", "123"] {
        toks.push(t.as_bytes().to_vec());
    }
    toks.push(Vec::new());
    let eos = TokenId(toks.len() as u32 - 1);
    Arc::new(Vocabulary::from_token_bytes(toks, vec![eos]))
}

fn tok(v: &Vocabulary, s: &str) -> TokenId {
    (0..v.len() as u32)
        .map(TokenId)
        .find(|&t| v.token_bytes(t) == s.as_bytes())
        .unwrap_or_else(|| panic!("no token {s:?}"))
}

fn eos(v: &Vocabulary) -> TokenId {
    v.eos_tokens()[0]
}

fn compiler_with(limits: Limits) -> Compiler {
    Compiler::new(&vocab()).with_config(Config { limits })
}

fn matcher(g: CompiledGrammar) -> (Matcher, TokenMask) {
    let n = g.vocab().len();
    (Matcher::new(Arc::new(g)), TokenMask::new(n))
}

fn schema(v: &Value) -> Result<CompiledGrammar, GrammarError> {
    let g = json_schema::compile(v, &json_schema::Options::default())?;
    Compiler::new(&vocab()).grammar(&g)
}

/// The text of a limit error, or a panic naming what came instead.
fn limit_error<T>(r: Result<T, GrammarError>) -> String {
    match r {
        Err(e @ GrammarError::Limit { .. }) => e.to_string(),
        Err(e) => panic!("expected a limit error, got: {e}"),
        Ok(_) => panic!("expected a limit error, got a result"),
    }
}

fn accepts(g: &Arc<CompiledGrammar>, text: &[u8]) -> bool {
    let mut m = Matcher::new(g.clone());
    matches!(m.commit_bytes(text), Ok(Ok(()))) && m.is_accepting()
}

#[test]
fn nested_counted_repetition_a1000_1000_compiles_and_matches() {
    let v = vocab();
    let g = Compiler::new(&v)
        .regex("a{1000}{1000}")
        .expect("within the size limit");
    let (mut m, mut mask) = matcher(g);
    assert_eq!(m.commit_bytes(&[b'a'; 5000]), Ok(Ok(())));
    m.compute_mask(&mut mask).unwrap();
    assert!(mask.is_allowed(tok(&v, "a")) && mask.is_allowed(tok(&v, "aaaa")));
    assert!(!mask.is_allowed(eos(&v)) && !mask.is_allowed(tok(&v, "b")));
}

#[test]
fn nested_counted_repetitions_past_the_size_limit_are_limit_errors() {
    let c = Compiler::new(&vocab());
    for re in [
        r"\w{1000}{1000}",
        "a{1000}{1000}{1000}",
        "(?:[a-z]{100}|x){100}{100}",
    ] {
        let msg = limit_error(c.regex(re));
        assert!(
            msg.contains("estimated size of the lexer automaton") && msg.contains("4000000"),
            "{re}: {msg}"
        );
    }
    let small = compiler_with(Limits {
        max_regex_size: 10_000,
        ..Limits::default()
    });
    let msg = limit_error(small.regex("a{1000}{1000}"));
    assert!(msg.ends_with("is 1001001, the limit is 10000"), "{msg}");
}

#[test]
fn nfa_byte_limit_is_a_limit_error() {
    let c = compiler_with(Limits {
        nfa_bytes: 10_000,
        ..Limits::default()
    });
    let msg = limit_error(c.regex("[a-z]{500}"));
    assert!(msg.contains("heap size of the lexer automaton"), "{msg}");
}

#[test]
fn a_or_aa_star_b_on_long_input() {
    let v = vocab();
    let g = Arc::new(Compiler::new(&v).regex("(a|aa)*b").unwrap());
    let mut m = Matcher::new(g.clone());
    let mut mask = TokenMask::new(v.len());
    assert_eq!(m.commit_bytes(&vec![b'a'; 100_000]), Ok(Ok(())));
    m.compute_mask(&mut mask).unwrap();
    for t in ["a", "aa", "aaaa", "ab", "b"] {
        assert!(mask.is_allowed(tok(&v, t)), "{t}");
    }
    assert!(!mask.is_allowed(eos(&v)) && !mask.is_allowed(tok(&v, "x")));
    m.commit(tok(&v, "b")).unwrap();
    assert!(m.is_accepting());
    let mut bad = vec![b'a'; 100_000];
    bad.push(b'c');
    assert_eq!(Matcher::new(g).commit_bytes(&bad), Ok(Err(100_000)));
}

#[test]
fn catastrophic_backtracking_pattern_is_linear() {
    let v = vocab();
    let g = Arc::new(Compiler::new(&v).regex("(x+x+)+y").unwrap());
    let xs = vec![b'x'; 50_000];
    let mut m = Matcher::new(g.clone());
    assert_eq!(m.commit_bytes(&xs), Ok(Ok(())));
    let mut mask = TokenMask::new(v.len());
    m.compute_mask(&mut mask).unwrap();
    let allowed: Vec<TokenId> = mask.iter_allowed().collect();
    assert_eq!(allowed, vec![tok(&v, "x"), tok(&v, "y"), tok(&v, "xx")]);
    let mut bad = xs.clone();
    bad.push(b'z');
    assert_eq!(Matcher::new(g.clone()).commit_bytes(&bad), Ok(Err(50_000)));
    let mut good = xs;
    good.push(b'y');
    assert!(accepts(&g, &good));
}

const AMBIGUOUS: &str = "root ::= x*\nx ::= \"a\" | \"a\" \"a\" | x x\n";

/// Feeds `a` one byte at a time with a mask before each; returns the
/// number of bytes fed and the error that stopped it.
fn feed_ambiguous(c: &Compiler, max: usize) -> (usize, Option<MaskError>) {
    let v = vocab();
    let (mut m, mut mask) = matcher(c.gbnf(AMBIGUOUS).unwrap());
    for i in 0..max {
        if let Err(e) = m.compute_mask(&mut mask) {
            return (i, Some(e));
        }
        assert!(mask.is_allowed(tok(&v, "a")) && mask.is_allowed(tok(&v, "aaaa")));
        assert!(mask.is_allowed(eos(&v)), "EOS after {i} bytes");
        assert_eq!(mask.count_allowed(), 4);
        if let Err(e) = m.commit(tok(&v, "a")) {
            return (i, Some(e));
        }
    }
    (max, None)
}

#[test]
fn explosive_ambiguity_ends_in_the_work_budget() {
    let c = compiler_with(Limits {
        max_items_per_step: 200_000,
        ..Limits::default()
    });
    let (n, e) = feed_ambiguous(&c, 5_000);
    let e = e.expect("the budget stops it");
    assert!(n > 100, "only {n} bytes before {e}");
    assert_eq!(e, MaskError::WorkBudget { limit: 200_000 });
    assert_eq!(
        e.to_string(),
        "the mask computation exceeded its work budget of 200000 steps"
    );
}

#[test]
fn explosive_ambiguity_ends_in_the_chart_memory_limit() {
    let c = compiler_with(Limits {
        max_chart_bytes: 400_000,
        ..Limits::default()
    });
    let (n, e) = feed_ambiguous(&c, 5_000);
    let e = e.expect("the memory limit stops it");
    assert!(n > 50, "only {n} bytes before {e}");
    assert!(
        matches!(e, MaskError::MemoryLimit { limit: 400_000, .. }),
        "{e}"
    );
    assert!(
        e.to_string().starts_with("the Earley chart reached ")
            && e.to_string().ends_with(" bytes, the limit is 400000"),
        "{e}"
    );
}

#[test]
fn enum_of_10000_values() {
    let values: Vec<Value> = (0..10_000).map(|i| json!(format!("value-{i}"))).collect();
    let g = Arc::new(schema(&json!({ "enum": values })).unwrap());
    assert!(accepts(&g, b"\"value-9999\""));
    assert!(accepts(&g, b"\"value-0\""));
    assert!(!accepts(&g, b"\"value-10000\""));
    let dup: Vec<Value> = (0..10_000).map(|i| json!(i % 100)).collect();
    let g = Arc::new(schema(&json!({ "enum": dup })).unwrap());
    assert!(accepts(&g, b"99") && !accepts(&g, b"100"));
}

/// Regression: a 200,000-character property name overflowed the stack
/// while building "any key but the declared ones" as a regex (a trie of
/// the keys, built recursively). Other keys are now a lexeme with the
/// declared ones left out, which any key length keeps small; a string
/// excluded by `not` is still refused past 100 characters.
#[test]
fn very_long_property_names_are_errors_or_literals() {
    let long = "k".repeat(200_000);
    let open = json!({"type": "object", "properties": {long.clone(): {"type": "integer"}}});
    // Compiles (matching the key needs a DFA state per character).
    assert!(schema(&open).is_ok());
    let key = "k".repeat(1_000);
    let open = json!({"type": "object", "properties": {key.clone(): {"type": "integer"}}});
    let g = Arc::new(schema(&open).unwrap());
    assert!(accepts(&g, format!("{{\"{key}\":1}}").as_bytes()));
    assert!(!accepts(&g, format!("{{\"{key}\":\"x\"}}").as_bytes()));
    assert!(accepts(&g, format!("{{\"{key}k\":\"x\"}}").as_bytes()));
    assert!(accepts(&g, b"{\"k\":\"x\"}"));
    let not = json!({"type": "string", "not": {"enum": [long.clone()]}});
    let e = schema(&not).err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some(
            "schema error at \"#\" (keyword `not`): excluding a string longer than 100 \
             characters is not supported"
        )
    );
    let closed = |key: &str| {
        json!({
            "type": "object",
            "properties": {key: {"type": "integer"}},
            "required": [key],
            "additionalProperties": false
        })
    };
    // Compiles (its lexer would need a DFA state per character to match).
    assert!(schema(&closed(&long)).is_ok());
    let key = "k".repeat(1_000);
    let g = Arc::new(schema(&closed(&key)).unwrap());
    assert!(accepts(&g, format!("{{\"{key}\":1}}").as_bytes()));
    assert!(!accepts(&g, b"{\"k\":1}"));
    // Other keys beside a long declared one.
    let key = "k".repeat(100);
    let g = Arc::new(
        schema(&json!({"type": "object", "properties": {key.clone(): {"type": "integer"}}}))
            .unwrap(),
    );
    assert!(accepts(
        &g,
        format!("{{\"{key}\":1,\"other\":\"x\"}}").as_bytes()
    ));
    assert!(!accepts(&g, format!("{{\"{key}\":\"x\"}}").as_bytes()));
}

#[test]
fn ref_cycles_without_base_case_are_errors() {
    for s in [
        json!({"$ref": "#"}),
        json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
        json!({"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]}),
        json!({"type": "array", "items": {"$ref": "#"}, "minItems": 1}),
    ] {
        let e = schema(&s).err().unwrap_or_else(|| panic!("{s} compiled"));
        assert_eq!(
            e.to_string(),
            "schema error at \"#\": no value satisfies this schema",
            "{s}"
        );
    }
    // Through `allOf`, the compiler's work budget ends it.
    let msg = limit_error(schema(
        &json!({"allOf": [{"$ref": "#"}, {"type": "string"}]}),
    ));
    assert_eq!(
        msg,
        "limit exceeded: schema compilation work is 2000001, the limit is 2000000"
    );
    // With a base case the same recursion is fine.
    let g = Arc::new(
        schema(&json!({"anyOf": [{"type": "null"}, {"type": "array", "items": {"$ref": "#"}}]}))
            .unwrap(),
    );
    assert!(accepts(&g, b"[[[null],[]]]") && !accepts(&g, b"[[1]]"));
}

/// `not` of `allOf` of patterns, three levels deep: each `not` turns an
/// intersection into a union, and intersecting the unions multiplies
/// their branches and copies their regexes. The work limit counts those
/// copies and the automata built for the patterns, so this ends in the
/// limit error quickly (it once ran for minutes under the same limit).
#[test]
fn complements_of_pattern_conjunctions_end_in_the_work_limit() {
    let leaf = |a: &str, b: &str, c: &str| json!({"not": {"allOf": [{"pattern": a}, {"pattern": b}, {"pattern": c}]}});
    let level = |k: usize| {
        json!({"not": {"allOf": [
            leaf("^....$", &format!("a{k}"), &format!("{k}b")),
            leaf("^[a-z0-9]*$", &format!("{k}{k}"), &format!("[c{k}]")),
            leaf("^[a-z]+", &format!("{k}.*d"), &format!("e{k}")),
        ]}})
    };
    let s = json!({"type": "string", "allOf": [level(1), level(2), level(3), {"maxLength": 200}]});
    let msg = limit_error(schema(&s));
    assert!(
        msg.starts_with("limit exceeded: schema compilation work is "),
        "{msg}"
    );
}

#[test]
fn min_length_of_a_billion_is_a_limit_error() {
    let msg = limit_error(schema(
        &json!({"type": "string", "minLength": 1_000_000_000u64}),
    ));
    assert_eq!(
        msg,
        "limit exceeded: `minLength` at # is 1000000000, the limit is 1000"
    );
    // A huge maximum is lowered to the limit (and noted), not an error.
    let g = Arc::new(schema(&json!({"type": "string", "maxLength": 1_000_000_000u64})).unwrap());
    assert!(accepts(&g, b"\"abc\""));
}

#[test]
fn maximum_1e308_with_multiple_of_0_001() {
    let g = Arc::new(
        schema(&json!({"type": "number", "maximum": 1e308, "multipleOf": 0.001})).unwrap(),
    );
    for ok in ["12.345", "-3", "0.5", "99999999999999999999999.001"] {
        assert!(accepts(&g, ok.as_bytes()), "{ok}");
    }
    for bad in ["0.0001", "1.2345", "\"1\""] {
        assert!(!accepts(&g, bad.as_bytes()), "{bad}");
    }
    let g = Arc::new(
        schema(
            &json!({"type": "number", "minimum": -1e308, "maximum": 1e308, "multipleOf": 0.001}),
        )
        .unwrap(),
    );
    assert!(accepts(&g, b"-12.5") && !accepts(&g, b"0.0005"));
}

#[test]
fn deeply_nested_grammar_text_is_a_limit_error() {
    let n = 100_000;
    let c = Compiler::new(&vocab());
    let src = format!("root ::= {}\"x\"{}", "(".repeat(n), ")".repeat(n));
    let msg = limit_error(c.gbnf(&src));
    assert_eq!(
        msg,
        "limit exceeded: nesting depth of parentheses is 101, the limit is 100"
    );
    let stars = format!("root ::= \"x\"{}", "*".repeat(n));
    let msg = limit_error(c.gbnf(&stars));
    assert!(
        msg.contains("nesting depth of groups and repetitions"),
        "{msg}"
    );
    let re = format!("{}x{}", "(".repeat(n), ")".repeat(n));
    let e = c.regex(&re).expect_err("too deep");
    assert!(
        e.to_string()
            .contains("exceed the maximum number of nested parentheses/brackets (250)"),
        "{e}"
    );
}

#[test]
fn long_chain_of_rules_is_a_limit_error() {
    // r0 ::= "[" r1 "]" | "x", ... 10,000 rules deep.
    let n = 10_000;
    let mut src = String::from("root ::= r0\n");
    for i in 0..n {
        src.push_str(&format!("r{i} ::= \"[\" r{} \"]\" | \"x\"\n", i + 1));
    }
    src.push_str(&format!("r{n} ::= \"x\"\n"));
    let msg = limit_error(Compiler::new(&vocab()).gbnf(&src));
    assert!(
        msg.starts_with("limit exceeded: grammar nesting depth"),
        "{msg}"
    );
}

#[test]
fn chain_of_rules_within_limits_is_not_inlined_too_deep() {
    // 400 nested regular rules: inlined, they would make a regex deeper
    // than the automaton compiler can recurse on a small stack.
    let n = 400;
    let mut src = String::from("root ::= r0\n");
    for i in 0..n {
        src.push_str(&format!("r{i} ::= \"[\" r{} \"]\" | \"x\"\n", i + 1));
    }
    src.push_str(&format!("r{n} ::= \"x\"\n"));
    let g = Arc::new(Compiler::new(&vocab()).gbnf(&src).unwrap());
    let deep = format!("{}x{}", "[".repeat(n), "]".repeat(n));
    assert!(accepts(&g, deep.as_bytes()));
    assert!(!accepts(&g, format!("[{deep}").as_bytes()));
}

#[test]
fn deep_expression_built_in_code_is_an_error_or_a_result() {
    // 1,500 nested alternations of sequences, built without a front-end.
    let mut e = Expr::literal("x");
    for _ in 0..1_500 {
        e = Expr::alt(vec![
            Expr::seq(vec![Expr::literal("["), e, Expr::literal("]")]),
            Expr::literal("y"),
        ]);
    }
    let r = Compiler::new(&vocab()).grammar(&Grammar::from_expr(e));
    let msg = limit_error(r);
    assert_eq!(
        msg,
        "limit exceeded: grammar nesting depth is 2001, the limit is 2000"
    );
    // Shallower, it compiles (as several lexemes: the regex would be too
    // deep for one).
    let mut e = Expr::literal("x");
    for _ in 0..500 {
        e = Expr::alt(vec![
            Expr::seq(vec![Expr::literal("["), e, Expr::literal("]")]),
            Expr::literal("y"),
        ]);
    }
    let msg = limit_error(Compiler::new(&vocab()).grammar(&Grammar::from_expr(e)));
    assert_eq!(
        msg,
        "limit exceeded: nesting depth of a regex is 1000, the limit is 300"
    );
}

/// A schema nested `n` levels deep, built without recursion.
fn deep_schema(n: usize) -> Value {
    let mut v = json!({"type": "integer"});
    for _ in 0..n {
        let mut m = Map::new();
        m.insert("type".into(), json!("array"));
        m.insert("items".into(), v);
        v = Value::Object(m);
    }
    v
}

#[test]
fn deeply_nested_schema_is_a_limit_error() {
    let v = deep_schema(100_000);
    let msg = limit_error(schema(&v));
    assert_eq!(
        msg,
        "limit exceeded: nesting depth of the schema document is 513, the limit is 512"
    );
    // serde_json drops values recursively: drop this one on a big stack.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || drop(v))
        .unwrap()
        .join()
        .unwrap();
    // Within the limits, nesting compiles.
    let g = Arc::new(schema(&deep_schema(200)).unwrap());
    let text = format!("{}7{}", "[".repeat(200), "]".repeat(200));
    assert!(accepts(&g, text.as_bytes()));
}

#[test]
fn input_nested_100000_levels() {
    let v = vocab();
    let g = Arc::new(
        Compiler::new(&v)
            .gbnf("root ::= \"[\" root \"]\" | \"x\"")
            .unwrap(),
    );
    let n = 100_000;
    let mut m = Matcher::new(g);
    let mut mask = TokenMask::new(v.len());
    assert_eq!(m.commit_bytes(&vec![b'['; n]), Ok(Ok(())));
    m.compute_mask(&mut mask).unwrap();
    let allowed: Vec<TokenId> = mask.iter_allowed().collect();
    assert_eq!(allowed, vec![tok(&v, "["), tok(&v, "x"), tok(&v, "[[")]);
    let mut rest = vec![b'x'];
    rest.extend(vec![b']'; n]);
    assert_eq!(m.commit_bytes(&rest), Ok(Ok(())));
    assert!(m.is_accepting());
}

#[test]
fn invalid_utf8_in_grammar_bytes_is_located() {
    let e = rein_grammar::text_from_bytes(b"root ::= \"a\"\nx ::= \"\xc3\x28\"").unwrap_err();
    assert_eq!(
        e.to_string().lines().next(),
        Some("syntax error at 2:8: invalid UTF-8 at byte 20 (\\xc3)")
    );
    assert_eq!(rein_grammar::text_from_bytes(b"ok").unwrap(), "ok");
}

#[test]
fn nul_bytes_in_grammar_text() {
    let c = Compiler::new(&vocab());
    // Inside a literal, NUL is a character like any other.
    let g = Arc::new(c.gbnf("root ::= \"a\0b\"").unwrap());
    assert!(accepts(&g, b"a\0b") && !accepts(&g, b"ab"));
    // Outside, a located syntax error (the NUL shown as a space).
    let e = c.gbnf("root ::= \"a\" \0").expect_err("syntax error");
    assert!(matches!(e, GrammarError::Syntax { .. }), "{e}");
    assert!(e.to_string().starts_with("syntax error at 1:14:"), "{e}");
    let g = Arc::new(c.regex("a\0b").unwrap());
    assert!(accepts(&g, b"a\0b"));
}

#[test]
fn grammar_text_of_100_mb_is_a_limit_error() {
    let mut src = String::with_capacity(100 << 20);
    src.push_str("root ::= \"a\"\n");
    while src.len() < 100 << 20 {
        src.push_str("# padding padding padding padding padding padding padding\n");
    }
    let c = Compiler::new(&vocab());
    let msg = limit_error(c.gbnf(&src));
    assert!(
        msg.starts_with("limit exceeded: length of the grammar text in bytes is 10485"),
        "{msg}"
    );
    let msg = limit_error(c.regex(&src));
    assert!(
        msg.starts_with("limit exceeded: length of the regex in bytes is"),
        "{msg}"
    );
}

#[test]
fn lexer_state_limit_is_a_mask_error() {
    let c = compiler_with(Limits {
        max_dfa_states: 100,
        ..Limits::default()
    });
    let v = vocab();
    let (mut m, _) = matcher(c.regex("a{1000}").unwrap());
    let e = m.commit_bytes(&[b'a'; 500]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the lexer automaton reached 100 states, the limit is 100"
    );
    // The matcher is unchanged and still usable.
    assert_eq!(m.num_bytes(), 0);
    m.commit(tok(&v, "a")).unwrap();
}

#[test]
fn lexer_cache_memory_limit_is_a_mask_error() {
    let c = compiler_with(Limits {
        max_lexer_cache_bytes: 200_000,
        ..Limits::default()
    });
    // Each position remembers the last 200 bytes: DFA states hold up to
    // 200 NFA states each.
    let (mut m, _) = matcher(c.regex("(?s:.)*a(?s:.){200}").unwrap());
    let mut x = 12345u32;
    let input: Vec<u8> = (0..5000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if x >> 31 == 0 {
                b'a'
            } else {
                b'b'
            }
        })
        .collect();
    let e = m.commit_bytes(&input).unwrap_err();
    assert!(
        e.to_string().starts_with("the lexer cache reached ")
            && e.to_string().ends_with(" bytes, the limit is 200000"),
        "{e}"
    );
}

#[test]
fn grammar_size_limits_name_the_limit() {
    let three_rules =
        rein_grammar::gbnf::parse("root ::= a b\na ::= \"x\" a | \"y\"\nb ::= \"z\"").unwrap();
    let e = compiler_with(Limits {
        max_rules: 2,
        ..Limits::default()
    })
    .grammar(&three_rules)
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "limit exceeded: number of rules is 3, the limit is 2"
    );
    let e = compiler_with(Limits {
        max_symbols: 3,
        ..Limits::default()
    })
    .grammar(&three_rules)
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("limit exceeded: number of grammar symbols after lowering is "),
        "{e}"
    );
    let e = compiler_with(Limits {
        max_lexemes: 1,
        ..Limits::default()
    })
    .grammar(&three_rules)
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "limit exceeded: number of lexemes is 2, the limit is 1"
    );
    let e = compiler_with(Limits {
        max_repeat: 10,
        ..Limits::default()
    })
    .grammar(&Grammar::from_expr(Expr::repeat(
        Expr::Rule(rein_grammar::RuleId(0)),
        0,
        Some(11),
    )))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "limit exceeded: repetition bound is 11, the limit is 10"
    );
}

#[test]
fn invalid_grammars_built_in_code_are_errors() {
    let c = Compiler::new(&vocab());
    let mut g = Grammar::from_expr(Expr::literal("a"));
    g.start = rein_grammar::RuleId(7);
    assert_eq!(
        c.grammar(&g).unwrap_err().to_string(),
        "invalid grammar: start rule #7 does not exist"
    );
    let g = Grammar::from_expr(Expr::Rule(rein_grammar::RuleId(3)));
    assert_eq!(
        c.grammar(&g).unwrap_err().to_string(),
        "invalid grammar: rule \"root\" (#0) refers to rule #3, which does not exist"
    );
    let g = Grammar::from_expr(Expr::Repeat {
        expr: Box::new(Expr::literal("a")),
        min: 3,
        max: Some(2),
    });
    assert_eq!(
        c.grammar(&g).unwrap_err().to_string(),
        "invalid grammar: repetition {3,2} has its maximum below its minimum"
    );
    let word = rein_grammar::Hir::look(regex_syntax::hir::Look::WordAscii);
    let g = Grammar::from_expr(Expr::seq(vec![
        Expr::literal("a"),
        Expr::regex(rein_grammar::Hir::concat(vec![
            word,
            rein_grammar::Hir::literal(*b"b"),
        ])),
    ]));
    assert_eq!(
        c.grammar(&g).unwrap_err().to_string(),
        "invalid grammar: regex `(?:a(?-u:\\b)b)` uses look-around assertions, which lexemes \
         cannot have"
    );
}

#[test]
fn matcher_misuse_errors_have_messages() {
    let v = vocab();
    let g = Arc::new(Compiler::new(&v).regex("ab").unwrap());
    let mut m = Matcher::new(g.clone());
    let e = m.commit(tok(&v, "b")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "token 98 (\"b\") is not allowed here: the output stops matching at byte 0"
    );
    let e = m.commit(TokenId(v.len() as u32)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "token {} is outside the vocabulary of {} tokens",
            v.len(),
            v.len()
        )
    );
    let e = m.rollback(1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot roll back 1 tokens: only 0 were committed"
    );
    m.commit(tok(&v, "ab")).unwrap();
    m.commit(eos(&v)).unwrap();
    assert_eq!(
        m.commit(tok(&v, "a")).unwrap_err().to_string(),
        "the output is already finished (an end-of-sequence token was committed)"
    );
    let mut ms = vec![Matcher::new(g.clone()), Matcher::new(g)];
    let mut masks = vec![TokenMask::new(v.len())];
    let r = rein_engine::compute_masks(&mut ms, &mut masks);
    assert!(r[0].is_ok());
    assert_eq!(
        r[1].as_ref().unwrap_err().to_string(),
        "2 matchers but 1 masks: one mask per matcher is needed"
    );
}

/// The matcher fuzz target once took refused bytes for committed ones: a
/// refused `commit_bytes` leaves the matcher, its masks and its rollback
/// history as they were; accepted bytes end the history.
#[test]
fn refused_commit_bytes_keeps_the_rollback_history() {
    let v = vocab();
    let g = Arc::new(Compiler::new(&v).regex("a+b?").unwrap());
    let (mut m, mut mask) = (Matcher::new(g), TokenMask::new(v.len()));
    m.commit(tok(&v, "aa")).unwrap();
    m.compute_mask(&mut mask).unwrap();
    let before = mask.clone();
    assert_eq!(m.commit_bytes(&[0xff, 0xff]), Ok(Err(2)));
    m.compute_mask(&mut mask).unwrap();
    assert_eq!(mask, before);
    m.rollback(1).unwrap();
    m.commit(tok(&v, "a")).unwrap();
    assert_eq!(m.commit_bytes(b"a"), Ok(Ok(())));
    assert_eq!(
        m.rollback(1).unwrap_err().to_string(),
        "cannot roll back 1 tokens: only 0 were committed"
    );
}
