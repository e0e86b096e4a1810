//! The template language: what parses, what each hole compiles to, and
//! errors located with line:col and a caret.

use std::sync::Arc;

use rein_engine::{Compiler, TokenId, Vocabulary};
use rein_program::{Gen, ParseOptions, Program, ProgramError, Vars};

fn vocab() -> Arc<Vocabulary> {
    let mut toks: Vec<Vec<u8>> = (0u8..128).map(|b| vec![b]).collect();
    toks.push(Vec::new());
    Arc::new(Vocabulary::from_token_bytes(toks, vec![TokenId(128)]))
}

/// Parses, compiles against a byte vocabulary, and returns the captures
/// of `text` as (name, captured text).
fn captures(template: &str, vars: &[(&str, &str)], text: &str) -> Vec<(String, String)> {
    let p = Program::parse(template).unwrap();
    let vars: Vars = vars
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let g = p.grammar(&vars).unwrap();
    let c = Compiler::new(&vocab()).grammar(&g).unwrap();
    c.captures(text.as_bytes())
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .into_iter()
        .map(|c| (c.name, text[c.range].to_string()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn err(template: &str) -> String {
    Program::parse(template).unwrap_err().to_string()
}

#[test]
fn holes_compile_to_captures() {
    let t = r#"The hero's name is {{gen "name" regex="[A-Z][a-z]+"}}.
Class: {{select "class" options=["warrior", "mage", "rogue"]}}
Motto: "{{gen "motto" stop="\""}}" said {{who}}"#;
    let text = "The hero's name is Bob.\nClass: mage\nMotto: \"Onward, ever.\" said Ann";
    assert_eq!(
        captures(t, &[("who", "Ann")], text),
        pairs(&[
            ("name", "Bob"),
            ("class", "mage"),
            ("motto", "Onward, ever.")
        ])
    );
}

#[test]
fn inline_json_schema_may_end_in_three_braces() {
    let t = r#"Stats: {{json "stats" schema={"type": "object", "properties": {"hp": {"type": "integer"}}, "required": ["hp"]}}}!"#;
    assert_eq!(
        captures(t, &[], "Stats: {\"hp\":12}!"),
        pairs(&[("stats", "{\"hp\":12}")])
    );
    // Braces inside JSON strings do not count.
    let t = r#"{{json "x" schema={"type": "string", "description": "a } brace"}}}"#;
    assert_eq!(captures(t, &[], "\"}\""), pairs(&[("x", "\"}\"")]));
}

#[test]
fn select_options_may_share_prefixes() {
    let t = r#"{{select "w" options=["war", "warrior", "war-mage"]}}."#;
    for w in ["war", "warrior", "war-mage"] {
        assert_eq!(captures(t, &[], &format!("{w}.")), pairs(&[("w", w)]));
    }
}

#[test]
fn stop_is_written_when_the_template_does_not_continue_with_it() {
    let t = r#"A {{gen "x" stop=["END", ";"]}} B"#;
    assert_eq!(captures(t, &[], "A abc; B"), pairs(&[("x", "abc")]));
    assert_eq!(captures(t, &[], "A aEN dEND B"), pairs(&[("x", "aEN d")]));
}

#[test]
fn files_are_read_relative_to_the_base_dir() {
    let dir = std::env::temp_dir().join(format!("rein-program-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("s.json"), r#"{"type": "integer"}"#).unwrap();
    std::fs::write(dir.join("g.gbnf"), "root ::= [0-9]+ \"x\"").unwrap();
    let opts = ParseOptions {
        base_dir: Some(dir.clone()),
    };
    let p = Program::parse_with(
        r#"n={{json "n" schema="s.json"}} g={{gen "g" grammar="g.gbnf"}}"#,
        &opts,
    )
    .unwrap();
    let g = p.grammar(&Vars::new()).unwrap();
    let c = Compiler::new(&vocab()).grammar(&g).unwrap();
    let text = "n=42 g=7x";
    let got: Vec<(String, String)> = c
        .captures(text.as_bytes())
        .unwrap()
        .into_iter()
        .map(|c| (c.name, text[c.range].to_string()))
        .collect();
    assert_eq!(got, pairs(&[("n", "42"), ("g", "7x")]));
    let e = Program::parse_with(r#"{{json "n" schema="missing.json"}}"#, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.json") && e.contains("1:19"), "{e}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn syntax_errors_have_line_col_and_caret() {
    let e = err("line one\nsee {{gen \"x\" regex=}} here");
    assert!(e.contains("2:21"), "{e}");
    assert!(e.contains("see {{gen"), "{e}");
    assert!(e.contains('^'), "{e}");
    let e = err("a {{gen \"x\"");
    assert!(e.contains("unclosed hole") && e.contains("1:3"), "{e}");
}

#[test]
fn unknown_kinds_and_options_are_located() {
    let e = err("x\n  {{generate \"a\"}}");
    assert!(
        e.contains("unknown hole kind `generate`") && e.contains("2:5"),
        "{e}"
    );
    let e = err(r#"{{gen "a" colour="red"}}"#);
    assert!(
        e.contains("unknown option `colour`") && e.contains("1:11"),
        "{e}"
    );
    let e = err(r#"{{select "a" options="red"}}"#);
    assert!(e.contains("must be a list"), "{e}");
    let e = err(r#"{{gen "a" max_tokens="3"}}"#);
    assert!(e.contains("must be a number"), "{e}");
    let e = err(r#"{{gen}}"#);
    assert!(e.contains("needs a name"), "{e}");
}

#[test]
fn bad_regex_and_schema_are_located_in_the_template() {
    let e = err("ok\nname: {{gen \"n\" regex=\"[a-z\"}}");
    assert!(e.contains("bad regex") && e.contains("2:23"), "{e}");
    let e = err(r#"{{json "j" schema={"type": "integer", "minimum": "x"}}}"#);
    assert!(e.contains("bad schema") && e.contains("1:19"), "{e}");
    let e = err(r#"{{json "j" schema={"type": }}}"#);
    assert!(e.contains("invalid inline JSON"), "{e}");
}

#[test]
fn names_and_variables_are_checked() {
    let e = err(r#"{{gen "a"}} {{gen "a"}}"#);
    assert!(e.contains("captured twice") && e.contains("1:15"), "{e}");
    let p = Program::parse("Hi {{who}}").unwrap();
    let e = p.grammar(&Vars::new()).unwrap_err().to_string();
    assert!(
        e.contains("unknown variable `who`") && e.contains("1:6"),
        "{e}"
    );
    // A capture used before it is generated is unknown too.
    let p = Program::parse(r#"{{a}} {{gen "a"}}"#).unwrap();
    assert!(matches!(
        p.grammar(&Vars::new()),
        Err(ProgramError::UnknownVariable { .. })
    ));
}

#[test]
fn max_tokens_needs_a_regular_hole() {
    let p = Program::builder()
        .gen(
            "x",
            Gen::grammar(rein_grammar::gbnf::parse("root ::= \"(\" root \")\" | \"x\"").unwrap())
                .max_tokens(4),
        )
        .build()
        .unwrap();
    let g = p.grammar(&Vars::new()).unwrap();
    let e = Compiler::new(&vocab()).grammar(&g).unwrap_err();
    assert!(e.to_string().contains("not regular"), "{e}");
}

#[test]
fn builder_matches_template() {
    let a = Program::builder()
        .text("n: ")
        .gen("n", Gen::regex("[0-9]+").unwrap().max_tokens(3))
        .text(", c: ")
        .select("c", ["x", "y"])
        .build()
        .unwrap();
    let b = Program::parse(
        r#"n: {{gen "n" regex="[0-9]+" max_tokens=3}}, c: {{select "c" options=["x", "y"]}}"#,
    )
    .unwrap();
    assert_eq!(
        a.grammar(&Vars::new()).unwrap(),
        b.grammar(&Vars::new()).unwrap()
    );
}

/// The first line of a template's parse error.
fn first_line(template: &str) -> String {
    err(template).lines().next().unwrap_or_default().to_string()
}

#[test]
fn hole_errors_name_the_problem_and_the_place() {
    let cases: &[(&str, &str)] = &[
        (r#"{{gen ""}}"#, "a hole's name may not be empty at 1:7"),
        (r#"{{gen "a\u{zz}"}}"#, r"\u{zz} is not a character at 1:7"),
        (
            r#"{{gen "a" stop="x" stop="y"}}"#,
            "option `stop` is given twice at 1:20",
        ),
        (
            r#"{{gen "a" max_tokens=0}}"#,
            "max_tokens must be between 1 and 4294967295, not 0 at 1:22",
        ),
        (
            r#"{{gen "a" max_tokens=-1}}"#,
            "max_tokens must be between 1 and 4294967295, not -1 at 1:22",
        ),
        (
            r#"{{gen "a" max_tokens=99999999999999999999}}"#,
            "the number 99999999999999999999 is too large at 1:22",
        ),
        (
            r#"{{gen "a" regex="x" grammar="g.gbnf"}}"#,
            "gen `a` takes a regex or a grammar, not both at 1:3",
        ),
        (
            r#"{{gen "a" grammar="g.gbnf" stop="x"}}"#,
            "gen `a`: stop strings cannot be combined with a grammar at 1:3",
        ),
        (
            r#"{{gen "a" stop=["x", ""]}}"#,
            "gen `a`: a stop string may not be empty at 1:3",
        ),
        (
            r#"{{gen "a" stop=true}}"#,
            "option `stop` must be a string or list of strings, not a boolean at 1:11",
        ),
        (
            r#"{{gen "a" regex=["x"]}}"#,
            "option `regex` must be a string, not a list at 1:11",
        ),
        (r#"{{select "a"}}"#, "select `a` needs options=[...] at 1:3"),
        (
            r#"{{select "a" options=[]}}"#,
            "select `a` has no options at 1:22",
        ),
        (
            r#"{{json "a"}}"#,
            r#"json `a` needs schema="file.json" or schema={...} at 1:3"#,
        ),
        (
            r#"{{json "a" schema=3}}"#,
            "option `schema` must be a file name or a JSON object, not a number at 1:12",
        ),
        (
            r#"{{json "a" schema={"type": 5}}}"#,
            "bad schema in json `a`: schema error at \"#\" (keyword `type`): must be a \
             string or an array of strings at 1:19",
        ),
        (
            r#"{{select "a" options=["x"]}} {{select "a" options=["y"]}}"#,
            "the name `a` is captured twice or also passed in as a variable at 1:32",
        ),
        (
            "{{ }}",
            "template syntax error at 1:4: expected a hole kind or a name (in a hole: \
             `{{kind \"name\" option=value}}` or `{{variable}}`)",
        ),
        (
            "{{gen \"a\"",
            "template syntax error at 1:1: malformed or unclosed hole: expected `{{kind \
             \"name\" option=value ...}}` or `{{variable}}`",
        ),
    ];
    for &(template, want) in cases {
        assert_eq!(first_line(template), want, "{template}");
    }
    let deep = format!(
        "{{{{json \"a\" schema={{\"a\": {}{}}}}}}}",
        "[".repeat(70),
        "]".repeat(70)
    );
    assert_eq!(
        first_line(&deep),
        "template syntax error at 1:88: nested deeper than 64 levels"
    );
}

#[test]
fn builder_and_grammar_errors_have_messages() {
    let e = Program::builder()
        .select("s", Vec::<String>::new())
        .build()
        .unwrap_err();
    assert_eq!(e.to_string(), "select `s` has no options");
    let e = Program::builder()
        .json("j", &serde_json::json!({"minimum": "x"}))
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the schema of json `j`: schema error at \"#\" (keyword `minimum`): must be a number"
    );
    let p = Program::parse(r#"{{gen "a" stop="."}} then {{a}}"#).unwrap();
    let e = p.grammar(&Vars::new()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the program reuses capture `a`, so it cannot be one grammar; run it instead"
    );
    let vars = Vars::from([("a".to_string(), "x".to_string())]);
    let e = p.grammar(&vars).unwrap_err().to_string();
    assert!(
        e.starts_with("the name `a` is captured twice or also passed in as a variable at 1:3"),
        "{e}"
    );
}

/// Regression: a template could name `/dev/zero` (or a pipe) and the parser
/// read it until memory ran out.
#[test]
fn files_named_in_holes_are_regular_bounded_and_utf8() {
    let dir = std::env::temp_dir().join(format!("rein-program-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = std::fs::File::create(dir.join("big.json")).unwrap();
    big.set_len((1 << 24) + 1).unwrap();
    std::fs::write(dir.join("latin1.gbnf"), b"root ::= \"\xe9\"").unwrap();
    let opts = ParseOptions {
        base_dir: Some(dir.clone()),
    };
    let parse = |t: &str| {
        Program::parse_with(t, &opts)
            .unwrap_err()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let path = |name: &str| dir.join(name).display().to_string();
    assert_eq!(
        parse(r#"{{json "j" schema="big.json"}}"#),
        format!(
            "cannot read {}: larger than the limit of 16777216 bytes at 1:19",
            path("big.json")
        )
    );
    assert_eq!(
        parse(r#"{{gen "g" grammar="latin1.gbnf"}}"#),
        format!(
            "cannot read {}: invalid UTF-8 at byte 10 at 1:19",
            path("latin1.gbnf")
        )
    );
    assert_eq!(
        parse(r#"{{gen "g" grammar="."}}"#),
        format!("cannot read {}: not a regular file at 1:19", path("."))
    );
    if cfg!(unix) {
        assert_eq!(
            parse(r#"{{json "j" schema="/dev/zero"}}"#),
            "cannot read /dev/zero: not a regular file at 1:19"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}
