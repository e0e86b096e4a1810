use super::*;

fn ok(src: &str) -> Grammar {
    match parse(src) {
        Ok(g) => g,
        Err(e) => panic!("{src:?} failed:\n{e}"),
    }
}

fn err(src: &str) -> GrammarError {
    match parse(src) {
        Ok(g) => panic!("{src:?} parsed: {g:?}"),
        Err(e) => e,
    }
}

fn root(g: &Grammar) -> &Expr {
    &g.rules[g.start.index()].expr
}

#[test]
fn literal_and_escapes() {
    let g = ok(r#"root ::= "a\x41\u00e9\U0001F600\n\r\t\\\"\[\]\-""#);
    assert_eq!(root(&g), &Expr::literal("aAé😀\n\r\t\\\"[]-"));
}

#[test]
fn x_escape_is_a_code_point_not_a_byte() {
    let g = ok(r#"root ::= "\xE9""#);
    assert_eq!(root(&g), &Expr::literal("é"));
}

#[test]
fn sequence_alternatives_and_groups() {
    let g = ok(r#"root ::= "a" ("b" | "c") | "d""#);
    assert_eq!(
        root(&g),
        &Expr::alt(vec![
            Expr::seq(vec![
                Expr::literal("a"),
                Expr::alt(vec![Expr::literal("b"), Expr::literal("c")]),
            ]),
            Expr::literal("d"),
        ])
    );
}

#[test]
fn repetitions() {
    let cases: &[(&str, u32, Option<u32>)] = &[
        ("*", 0, None),
        ("+", 1, None),
        ("?", 0, Some(1)),
        ("{3}", 3, Some(3)),
        ("{2,}", 2, None),
        ("{2,5}", 2, Some(5)),
        ("{0,4}", 0, Some(4)),
        ("{,4}", 0, Some(4)),
        ("{ 1 , 2 }", 1, Some(2)),
    ];
    for &(op, min, max) in cases {
        let g = ok(&format!("root ::= \"a\"{op}"));
        assert_eq!(
            root(&g),
            &Expr::repeat(Expr::literal("a"), min, max),
            "{op}"
        );
    }
    let g = ok(r#"root ::= "a"*?"#);
    assert_eq!(
        root(&g),
        &Expr::optional(Expr::repeat(Expr::literal("a"), 0, None))
    );
}

#[test]
fn rule_names_and_references() {
    let g = ok("root ::= my-rule other_rule2\nmy-rule ::= \"x\"\nother_rule2 ::= \"y\"\n");
    assert_eq!(g.rules.len(), 3);
    assert_eq!(g.rules[1].name, "my-rule");
    assert_eq!(
        root(&g),
        &Expr::seq(vec![Expr::Rule(RuleId(1)), Expr::Rule(RuleId(2))])
    );
}

#[test]
fn name_directly_followed_by_group() {
    ok("root ::= f(\"a\")*\nf ::= \"f\"");
}

#[test]
fn newlines_and_comments() {
    let src = "# comment\nroot ::=\n  \"a\" # trailing\n  | # after bar\n  \"b\"\n\n  | \"c\" (\n \"d\"\n)\nnext ::= \"e\"\n";
    let g = ok(src);
    assert_eq!(g.rules.len(), 2);
    assert!(matches!(root(&g), Expr::Alt(v) if v.len() == 3));
}

#[test]
fn empty_alternatives() {
    let g = ok(r#"root ::= | "a" | "#);
    assert_eq!(
        root(&g),
        &Expr::alt(vec![Expr::Empty, Expr::literal("a"), Expr::Empty])
    );
    let g = ok(r#"root ::= ("a" | ) "" ()"#);
    assert_eq!(
        root(&g),
        &Expr::seq(vec![
            Expr::alt(vec![Expr::literal("a"), Expr::Empty]),
            Expr::Empty,
            Expr::Empty
        ])
    );
    // An empty body at the end of the input.
    let g = ok("root ::= x\nx ::=");
    assert_eq!(g.rules[1].expr, Expr::Empty);
}

fn class_of(g: &Grammar) -> Vec<(char, char)> {
    match root(g) {
        Expr::Regex(h) => match h.kind() {
            regex_syntax::hir::HirKind::Class(Class::Unicode(c)) => {
                c.ranges().iter().map(|r| (r.start(), r.end())).collect()
            }
            // regex-syntax turns one-character classes into literals.
            regex_syntax::hir::HirKind::Literal(l) => std::str::from_utf8(&l.0)
                .unwrap()
                .chars()
                .map(|c| (c, c))
                .collect(),
            k => panic!("not a class: {k:?}"),
        },
        e => panic!("not a regex: {e:?}"),
    }
}

#[test]
fn classes() {
    assert_eq!(class_of(&ok("root ::= [a-c]")), vec![('a', 'c')]);
    assert_eq!(class_of(&ok("root ::= [a-]")), vec![('-', '-'), ('a', 'a')]);
    assert_eq!(class_of(&ok("root ::= [-a]")), vec![('-', '-'), ('a', 'a')]);
    assert_eq!(class_of(&ok(r"root ::= [\]\\]")), vec![('\\', ']')]);
    assert_eq!(
        class_of(&ok(r##"root ::= ["#[(]"##)),
        vec![('"', '#'), ('(', '('), ('[', '[')]
    );
    assert_eq!(class_of(&ok("root ::= [ぁ-ゟ]")), vec![('ぁ', 'ゟ')]);
    assert_eq!(
        class_of(&ok(r"root ::= [^\x00-\x7F]")),
        vec![('\u{80}', char::MAX)]
    );
    assert_eq!(
        class_of(&ok("root ::= [^a]")),
        vec![('\0', '`'), ('b', char::MAX)]
    );
    assert_eq!(class_of(&ok("root ::= [^]")), vec![('\0', char::MAX)]);
    assert_eq!(class_of(&ok("root ::= .")), vec![('\0', char::MAX)]);
    // Range ends outside the scalar values are clamped.
    assert_eq!(
        class_of(&ok(r"root ::= [\uD800-\uFFFF\U0010FFFF-\UFFFFFFFF]")),
        vec![('\u{E000}', '\u{FFFF}'), (char::MAX, char::MAX)]
    );
    // A reversed range matches nothing (as in llama.cpp).
    assert!(matches!(
        err("root ::= [z-a]"),
        GrammarError::EmptyLanguage { .. }
    ));
    assert_eq!(class_of(&ok("root ::= [z-ab]")), vec![('b', 'b')]);
}

#[test]
fn duplicate_definition_keeps_the_last() {
    let g = ok("root ::= a\na ::= \"1\"\na ::= \"2\"\n");
    assert_eq!(g.rules.len(), 2);
    assert_eq!(g.rules[1].expr, Expr::literal("2"));
    // Even an overridden definition must refer to defined rules.
    let e = err("root ::= a\na ::= nope\na ::= \"2\"\n");
    assert!(matches!(e, GrammarError::UndefinedRule { ref name, .. } if name == "nope"));
    // An empty language is located at the definition that is used.
    let e = err("root ::= a\na ::= \"1\"\na ::= [] \n");
    match e {
        GrammarError::EmptyLanguage { name, location } => {
            assert_eq!(name, "a");
            assert_eq!(location.map(|l| l.line), Some(3));
        }
        e => panic!("{e}"),
    }
}

#[test]
fn undefined_rule_is_located_at_the_use() {
    let e = err("root ::= \"a\" b\n\nc ::= \"c\"\n");
    let msg = e.to_string();
    assert!(matches!(e, GrammarError::UndefinedRule { .. }));
    assert!(msg.contains("1:14"), "{msg}");
    assert!(msg.contains("^"), "{msg}");
}

#[test]
fn missing_root() {
    assert!(
        matches!(err("a ::= \"x\""), GrammarError::MissingStart { ref name } if name == "root")
    );
    assert!(matches!(err(""), GrammarError::MissingStart { .. }));
    assert!(matches!(
        err("# only a comment\n"),
        GrammarError::MissingStart { .. }
    ));
}

#[test]
fn empty_language_names_the_cause() {
    let e = err("root ::= \"a\" loop\nloop ::= \"b\" loop\n");
    match &e {
        GrammarError::EmptyLanguage { name, location } => {
            assert_eq!(name, "loop");
            assert_eq!(location.as_ref().map(|l| l.line), Some(2));
        }
        _ => panic!("{e}"),
    }
    // Reachable from a productive root: an error by default, allowed on request.
    let src = "root ::= \"a\" | loop\nloop ::= \"b\" loop\n";
    assert!(matches!(err(src), GrammarError::EmptyLanguage { .. }));
    let config = Config {
        allow_unproductive: true,
        ..Config::default()
    };
    assert!(parse_with(src, &config).is_ok());
    // Unreachable unproductive rules are fine.
    ok("root ::= \"a\"\nloop ::= \"b\" loop\n");
    // Left recursion with a way out is fine.
    ok("root ::= root \"+\" \"a\" | \"a\"");
}

#[test]
fn syntax_errors_are_readable() {
    let cases: &[(&str, &str, &str)] = &[
        ("root ::= \"abc", "unterminated string", "1:10"),
        ("root ::= [abc", "unterminated character class", "1:10"),
        ("root ::= (\"a\"", "unclosed `(`", "1:10"),
        ("root ::= \"a\")", "unmatched `)`", "1:13"),
        ("root = \"a\"", "`::=`", "1:"),
        ("root ::= \"a\" ::= \"b\"", "expected", "1:"),
        ("root ::= *", "expected", "1:10"),
        ("root ::= \"a\"{}", "expected a number", "1:13"),
        (
            "root ::= \"a\"{3,2}",
            "maximum is less than the minimum",
            "1:13",
        ),
        ("root ::= \"\\q\"", "unknown escape", "1:11"),
        ("root ::= \"\\x4\"", "expected 2 hex digits", "1:11"),
        ("root ::= \"\\uD800\"", "not a Unicode scalar value", "1:11"),
        ("root ::= <think>", "token reference", "1:10"),
    ];
    for &(src, want, at) in cases {
        let e = err(src);
        let msg = e.to_string();
        assert!(msg.contains(want), "{src:?}: {msg}");
        assert!(msg.contains(at), "{src:?}: {msg}");
        assert!(msg.contains('^'), "{src:?}: {msg}");
        assert!(
            !msg.contains("rule_head") && !msg.contains("alternates"),
            "{msg}"
        );
    }
}

#[test]
fn limits() {
    let deep = format!("root ::= {}\"a\"{}", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(
        err(&deep).to_string(),
        "limit exceeded: nesting depth of parentheses is 101, the limit is 100"
    );
    let ok_depth = format!("root ::= {}\"a\"{}", "(".repeat(90), ")".repeat(90));
    ok(&ok_depth);
    let stacked = format!("root ::= \"a\"{}", "?".repeat(10_000));
    assert_eq!(
        err(&stacked).to_string(),
        "limit exceeded: nesting depth of groups and repetitions is 101, the limit is 100"
    );
    assert_eq!(
        err("root ::= \"a\"{10001}").to_string(),
        "limit exceeded: repetition count is 10001, the limit is 10000"
    );
    assert_eq!(
        err("root ::= \"a\"{99999999999999999999}").to_string(),
        format!(
            "limit exceeded: repetition count is {}, the limit is 10000",
            u64::MAX
        )
    );
    let config = Config {
        max_rules: 2,
        ..Config::default()
    };
    let e = parse_with("root ::= a\na ::= b\nb ::= \"x\"", &config).unwrap_err();
    assert_eq!(
        e.to_string(),
        "limit exceeded: number of rules is 3, the limit is 2"
    );
    let config = Config {
        max_bytes: 10,
        ..Config::default()
    };
    let e = parse_with("root ::= \"0123456789\"", &config).unwrap_err();
    assert_eq!(
        e.to_string(),
        "limit exceeded: length of the grammar text in bytes is 21, the limit is 10"
    );
}

#[test]
fn garbage_never_panics() {
    let bits = [
        "root", "::=", "\"", "[", "]", "(", ")", "|", "*", "{", "}", ",", "1", "\\", "\\x", "\\u",
        "#", "\n", " ", "^", "-", "é", "<", ">", "!", ".", "a",
    ];
    // A deterministic walk over short combinations.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        let mut s = String::from("root ::= ");
        for _ in 0..(seed % 12) {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s.push_str(bits[(seed >> 33) as usize % bits.len()]);
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let _ = parse(&s);
    }
}

/// Grammars written in the style of the ones shipped with llama.cpp (its
/// `grammars/` folder), exercising the same syntax.
#[test]
fn llama_cpp_style_grammars_parse() {
    let grammars = [
        // JSON subset with a comment after `|` inside a group and wide ranges.
        "# strings and numbers only\r\nroot ::= item (\",\" ws item)*\r\nitem ::= str | num\r\n\
         str ::=\r\n  \"\\\"\" (\r\n    [\\x20\\x21\\x23-\\x5b\\x5d-\\U0010FFFF] | # plain\r\n    \
         \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4}) # escaped\r\n  )* \"\\\"\"\r\n\
         num ::= (\"-\"? ([0-9] | [1-9] [0-9]{0,15})) (\".\" [0-9]+)? ([eE] [-+]? [0-9]+)?\r\n\
         ws ::= | \" \" | \"\\n\" [ \\t]{0,20}\r\n",
        // Every ASCII punctuation character in one class, escapes included.
        "root ::= sym+\nsym ::= [!\"#$%&'()*+,-./:;<=>?@[\\\\\\]^_`{|}~]\n",
        // Line-break exclusions with \x and \u escapes.
        "root ::= line+\nline ::= \"* \" [^\\r\\n\\x0b\\x0c\\x85\\u2028\\u2029]+ \"\\n\"\n",
        // camelCase names, `name(` without a space, tabs as separators.
        "root ::= (decl)*\ndecl\t::=\ttypeName ident \"(\" \")\" \";\"\n\
         typeName ::= \"int\" sp | \"char\" sp\nident ::= [a-zA-Z_] [a-zA-Z_0-9]*\n\
         call ::= ident(\"(\" \")\")\nsp ::= ([ \\t\\n]+)\n",
        // A parenthesized root spanning lines with comments inside.
        "root ::= (\n  # first turn\n  \"1. \" mv \" \" mv \"\\n\"\n\n  # later turns\n  \
         ([1-9] [0-9]? \". \" mv \" \" mv \"\\n\")+\n)\nmv ::= [a-h] [1-8]\n",
        // Raw CJK ranges.
        "root ::= ch+ ([ \\t\\n] ch+)*\nch ::= [ぁ-ゟ] | [ァ-ヿ] | [、-〾] | [一-鿿]\n",
        // No trailing newline, comment on the last line.
        "root ::= \"a\" # done",
    ];
    for src in grammars {
        ok(src);
    }
    // The punctuation class holds exactly the ASCII punctuation.
    let g = ok(grammars[1]);
    let Expr::Regex(h) = &g.rules[1].expr else {
        panic!("{:?}", g.rules[1].expr)
    };
    let regex_syntax::hir::HirKind::Class(Class::Unicode(c)) = h.kind() else {
        panic!("{h:?}")
    };
    let got: String = c
        .ranges()
        .iter()
        .flat_map(|r| r.start()..=r.end())
        .collect();
    let want: String = (' '..='~').filter(char::is_ascii_punctuation).collect();
    assert_eq!(got, want);
}

#[test]
fn corpus_grammars_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../grammars");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "gbnf") {
            let src = std::fs::read_to_string(&path).unwrap();
            assert!(
                src.starts_with('#'),
                "{}: starts with a comment",
                path.display()
            );
            if let Err(e) = parse(&src) {
                panic!("{}:\n{e}", path.display());
            }
            n += 1;
        }
    }
    assert!(n >= 8);
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,40}") {
        let _ = parse(&s);
        let _ = parse(&format!("root ::= {s}"));
    }

    #[test]
    fn gbnf_like_text_never_panics(s in "[a-z:=|()\\[\\]^\"\\\\*+?{},0-9 \n#.<>!-]{0,40}") {
        let _ = parse(&format!("root ::= {s}"));
    }
}
