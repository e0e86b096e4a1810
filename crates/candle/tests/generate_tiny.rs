//! The sampling loop driven by a tiny random-weight model over SmolLM2's real 49,152-token
//! vocabulary (no model weights to download beyond the cached vocabulary): for 100 seeds and
//! several constraints every output is complete and valid by an independent checker (the
//! `regex` crate, the `jsonschema` crate, the reference recognizer of `rein-grammar`), in
//! every sampling mode.

use std::sync::{Arc, OnceLock};

use rein_candle::{Finish, GenerateConfig, GenerateError, Generator, MaskOverlap, Model, Prompt};
use rein_engine::CompiledGrammar;
use rein_grammar::json_schema;
use rein_grammar::testing::Recognizer;
use rein_vocab::Vocabulary;
use serde_json::json;

const SEEDS: u64 = 100;

fn vocab() -> Vocabulary {
    static V: OnceLock<Vocabulary> = OnceLock::new();
    V.get_or_init(|| Vocabulary::load("smollm2-135m-instruct").expect("SmolLM2 vocabulary"))
        .clone()
}

fn generator(seed: u64) -> Generator {
    let v = vocab();
    Generator::new(Model::tiny_random(v.len(), seed), v).unwrap()
}

fn grammar_file(name: &str) -> String {
    let path = format!("{}/../../grammars/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Sampling modes cycled through the seeds.
fn config(seed: u64, max_tokens: usize) -> GenerateConfig {
    let c = GenerateConfig::new().max_tokens(max_tokens).seed(seed);
    match seed % 4 {
        0 => c,                             // greedy
        1 => c.temperature(1.0),            // plain temperature
        2 => c.temperature(0.8).top_k(5),   // top-k
        _ => c.temperature(1.2).top_p(0.9), // top-p
    }
}

/// Runs 100 seeds (a new random model each) and returns the outputs.
fn run(
    constraint: &dyn Fn(&Generator) -> CompiledGrammar,
    max_tokens: usize,
) -> Vec<(u64, rein_candle::Generation)> {
    let g0 = generator(0);
    let c = Arc::new(constraint(&g0));
    (0..SEEDS)
        .map(|seed| {
            let mut g = generator(seed);
            let out = g
                .generate(&Prompt::chat("Hello"), Some(&c), &config(seed, max_tokens))
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            // The token ids spell the text.
            let bytes: Vec<u8> = out
                .tokens
                .iter()
                .flat_map(|&t| g.vocab().token_bytes(rein_vocab::TokenId(t)).to_vec())
                .collect();
            assert_eq!(String::from_utf8_lossy(&bytes), out.text, "seed {seed}");
            assert_eq!(
                out.tokens.len(),
                out.forced + out.sampled - usize::from(out.finish == Finish::Eos),
                "seed {seed}"
            );
            (seed, out)
        })
        .collect()
}

/// Asserts that a truncated output is a valid prefix: its bytes (which may end inside a
/// UTF-8 character) are a prefix of the language.
fn assert_prefix(r: &Recognizer, out: &rein_candle::Generation, what: &str) {
    let bytes: Vec<u8> = out
        .tokens
        .iter()
        .flat_map(|&t| vocab().token_bytes(rein_vocab::TokenId(t)).to_vec())
        .collect();
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            // Only an incomplete last character, cut by the token limit.
            assert!(e.error_len().is_none(), "{what}: invalid UTF-8 {bytes:?}");
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap()
        }
    };
    assert!(r.is_prefix(text), "{what}: {text:?} is not a prefix");
}

fn check_regexes(pattern: &str) {
    let re = regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
    let outs = run(&|g| g.compiler().regex(pattern).unwrap(), 64);
    for (seed, out) in &outs {
        assert_ne!(out.finish, Finish::Length, "seed {seed}: {:?}", out.text);
        assert!(
            re.is_match(&out.text),
            "seed {seed}: {:?} !~ {pattern}",
            out.text
        );
    }
}

#[test]
fn regex_outputs_are_complete_and_match() {
    check_regexes(r"[a-z]{2,8}@[a-z]{2,6}\.(com|org|net)");
    check_regexes(r"\d{3}-\d{4}");
    check_regexes(r"(yes|no|maybe)");
    check_regexes(r"[A-Z][a-z]{0,6}( [A-Z][a-z]{0,6}){0,2}");
    check_regexes(r"-?(0|[1-9][0-9]{0,5})(\.[0-9]{1,3})?");
}

/// A bounded grammar of our own, checked by the reference recognizer.
#[test]
fn gbnf_outputs_are_complete_and_recognized() {
    let src = r#"
        root  ::= "(" item ("," " "? item){0,3} ")"
        item  ::= num | word | "[" num{1,3} "]"
        num   ::= [0-9]{1,3}
        word  ::= ("red" | "green" | "blue") "!"?
    "#;
    let r = Recognizer::new(&rein_grammar::gbnf::parse(src).unwrap());
    let outs = run(&|g| g.compiler().gbnf(src).unwrap(), 96);
    for (seed, out) in &outs {
        assert_ne!(out.finish, Finish::Length, "seed {seed}: {:?}", out.text);
        assert!(r.accepts(&out.text), "seed {seed}: {:?}", out.text);
        // The closing parenthesis ends the language: the grammar itself finishes.
        assert_eq!(out.finish, Finish::Grammar, "seed {seed}");
    }
}

/// `grammars/arithmetic.gbnf` is unbounded (spaces, numbers, nesting) and a random model
/// seldom picks one of the two EOS tokens among the many allowed ones: every output is a
/// complete expression, or a valid prefix reported as truncated at exactly the limit.
#[test]
fn arithmetic_gbnf_outputs_are_valid() {
    let src = grammar_file("arithmetic.gbnf");
    let r = Recognizer::new(&rein_grammar::gbnf::parse(&src).unwrap());
    let outs = run(&|g| g.compiler().gbnf(&src).unwrap(), 48);
    let mut complete = 0;
    for (seed, out) in &outs {
        if out.finish == Finish::Length {
            assert_prefix(&r, out, &format!("seed {seed}"));
            assert_eq!(out.tokens.len(), 48);
        } else {
            assert!(r.accepts(&out.text), "seed {seed}: {:?}", out.text);
            complete += 1;
        }
    }
    eprintln!("arithmetic: {complete} of {SEEDS} complete within 48 tokens");
}

/// The other grammars of `grammars/` (chess moves, C-like code, CJK text, bullet lists,
/// ambiguous and left-recursive grammars): complete outputs are recognized, truncated
/// ones are valid prefixes cut at exactly the limit.
#[test]
fn every_grammar_file_gives_valid_outputs() {
    let dir = format!("{}/../../grammars", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".gbnf") && n != "arithmetic.gbnf" && n != "json.gbnf")
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    for name in &names {
        let src = grammar_file(name);
        let r = Recognizer::new(&rein_grammar::gbnf::parse(&src).unwrap());
        let outs = run(&|g| g.compiler().gbnf(&src).unwrap(), 24);
        let mut complete = 0;
        for (seed, out) in &outs {
            if out.finish == Finish::Length {
                assert_prefix(&r, out, &format!("{name} seed {seed}"));
                assert_eq!(out.tokens.len(), 24, "{name} seed {seed}");
            } else {
                assert!(r.accepts(&out.text), "{name} seed {seed}: {:?}", out.text);
                complete += 1;
            }
        }
        eprintln!("{name}: {complete} of {SEEDS} complete within 24 tokens");
    }
}

/// JSON strings admit almost every token, so a random model rarely closes one: outputs of
/// `grammars/json.gbnf` are valid prefixes, and complete ones parse as JSON.
#[test]
fn json_gbnf_outputs_are_valid_prefixes() {
    let src = grammar_file("json.gbnf");
    let r = Recognizer::new(&rein_grammar::gbnf::parse(&src).unwrap());
    let outs = run(&|g| g.compiler().gbnf(&src).unwrap(), 24);
    for (seed, out) in &outs {
        if out.finish == Finish::Length {
            assert_prefix(&r, out, &format!("seed {seed}"));
        } else {
            assert!(r.accepts(&out.text), "seed {seed}: {:?}", out.text);
            serde_json::from_str::<serde_json::Value>(&out.text)
                .unwrap_or_else(|e| panic!("seed {seed}: {:?}: {e}", out.text));
        }
    }
}

/// The grammar of a JSON Schema as the CLI and the extraction facade compile it.
fn schema_grammar(schema: &serde_json::Value) -> rein_grammar::Grammar {
    let opts = json_schema::Options::default()
        .with_whitespace(json_schema::Whitespace::Compact)
        .with_strict(true)
        .with_trailing_zeros(false);
    json_schema::compile(schema, &opts).unwrap()
}

/// Bounded schemas (every string, array and number has a limit): every output is a
/// complete instance, valid per the `jsonschema` crate.
#[test]
fn json_schema_outputs_are_complete_and_valid() {
    let schemas = [
        json!({"type": "object", "properties": {
            "name": {"type": "string", "maxLength": 6},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "kind": {"enum": ["cat", "dog", "bird"]},
            "ok": {"type": "boolean"}},
            "required": ["name", "age", "kind"]}),
        json!({"type": "array", "items": {"type": "integer", "minimum": -50, "maximum": 50},
            "minItems": 1, "maxItems": 4}),
        json!({"anyOf": [{"type": "null"}, {"type": "string", "pattern": "^[a-z]{1,5}$"}]}),
        json!({"type": "object", "properties": {
            "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3},
            "level": {"const": 3}},
            "required": ["tags", "level"]}),
    ];
    for schema in &schemas {
        let validator = jsonschema::validator_for(schema).unwrap();
        let grammar = schema_grammar(schema);
        let outs = run(&|g| g.compiler().grammar(&grammar).unwrap(), 64);
        for (seed, out) in &outs {
            assert_ne!(out.finish, Finish::Length, "seed {seed}: {:?}", out.text);
            let v: serde_json::Value = serde_json::from_str(&out.text)
                .unwrap_or_else(|e| panic!("seed {seed}: {:?}: {e}", out.text));
            assert!(
                validator.is_valid(&v),
                "seed {seed}: {:?} is not valid for {schema}",
                out.text
            );
        }
    }
}

/// Unbounded numbers: a random model may keep writing digits, so an output is a complete
/// valid instance or a prefix of one cut at exactly the limit.
#[test]
fn json_schema_numbers_are_valid_or_truncated_prefixes() {
    let schema = json!({"type": "object", "properties": {
        "x": {"type": "number", "minimum": -1.5, "maximum": 2.25},
        "n": {"type": "integer", "exclusiveMinimum": 10}},
        "required": ["x", "n"]});
    let validator = jsonschema::validator_for(&schema).unwrap();
    let grammar = schema_grammar(&schema);
    let r = Recognizer::new(&grammar);
    let outs = run(&|g| g.compiler().grammar(&grammar).unwrap(), 32);
    let mut complete = 0;
    for (seed, out) in &outs {
        if out.finish == Finish::Length {
            assert_prefix(&r, out, &format!("seed {seed}"));
            assert_eq!(out.tokens.len(), 32, "seed {seed}");
        } else {
            let v: serde_json::Value = serde_json::from_str(&out.text)
                .unwrap_or_else(|e| panic!("seed {seed}: {:?}: {e}", out.text));
            assert!(validator.is_valid(&v), "seed {seed}: {:?}", out.text);
            complete += 1;
        }
    }
    eprintln!("numbers: {complete} of {SEEDS} complete within 32 tokens");
}

#[test]
fn forced_text_is_fast_forwarded_not_sampled() {
    let mut g = generator(3);
    let c = Arc::new(
        g.compiler()
            .regex(r#"\{"name": "[a-z]{1,8}", "kind": "(cat|dog)", "ok": true\}"#)
            .unwrap(),
    );
    let out = g
        .generate(&Prompt::raw("x"), Some(&c), &GenerateConfig::new().seed(3))
        .unwrap();
    eprintln!(
        "{:?}: {} sampled, {} forced",
        out.text, out.sampled, out.forced
    );
    assert!(out.forced >= 4, "{out:?}");
    assert_eq!(out.finish, Finish::Grammar);
    let re = regex::Regex::new(r#"^\{"name": "[a-z]{1,8}", "kind": "(cat|dog)", "ok": true\}$"#)
        .unwrap();
    assert!(re.is_match(&out.text), "{:?}", out.text);
}

#[test]
fn greedy_and_seeded_runs_are_deterministic_and_overlap_changes_nothing() {
    let c = Arc::new(generator(0).compiler().regex(r"[a-z ]{5,40}\.").unwrap());
    for cfg in [
        GenerateConfig::new(),
        GenerateConfig::new().temperature(1.0).top_p(0.95).seed(11),
    ] {
        let a = generator(5)
            .generate(&Prompt::raw("a"), Some(&c), &cfg)
            .unwrap();
        let b = generator(5)
            .generate(&Prompt::raw("a"), Some(&c), &cfg)
            .unwrap();
        for overlap in [MaskOverlap::Never, MaskOverlap::Always] {
            let other = generator(5)
                .generate(
                    &Prompt::raw("a"),
                    Some(&c),
                    &cfg.clone().overlap_mask(overlap),
                )
                .unwrap();
            assert_eq!(a.tokens, other.tokens, "{overlap:?}");
        }
        assert_eq!(a.tokens, b.tokens);
    }
}

#[test]
fn streaming_pieces_concatenate_to_the_text() {
    let mut g = generator(9);
    let c = Arc::new(g.compiler().regex(r"(é|ü|ß|€|日本|[a-z]){3,12}").unwrap());
    let mut pieces = Vec::new();
    let out = g
        .generate_streaming(
            &Prompt::raw("x"),
            Some(&c),
            &GenerateConfig::new().temperature(1.0).seed(2),
            |p| pieces.push(p.to_string()),
        )
        .unwrap();
    assert_eq!(pieces.concat(), out.text);
    assert!(!pieces.iter().any(|p| p.contains('\u{fffd}')), "{pieces:?}");
}

#[test]
fn max_tokens_truncates_and_says_so() {
    let mut g = generator(1);
    let c = Arc::new(g.compiler().regex(r"[a-z]{20,30}").unwrap());
    let out = g
        .generate(
            &Prompt::raw("x"),
            Some(&c),
            &GenerateConfig::new().max_tokens(3),
        )
        .unwrap();
    assert_eq!(out.finish, Finish::Length);
    assert_eq!(out.tokens.len(), 3);
    // Unconstrained: stops at the limit or at an end-of-sequence token.
    let out = g
        .generate(
            &Prompt::chat("hi"),
            None,
            &GenerateConfig::new().max_tokens(10),
        )
        .unwrap();
    assert!(out.tokens.len() <= 10);
    assert!(matches!(out.finish, Finish::Length | Finish::Eos));
    assert_eq!(out.forced, 0);
}

#[test]
fn chat_prompts_use_the_template_and_its_special_tokens() {
    let g = generator(0);
    // The tiny model has Gemma's template; SmolLM2's vocabulary lacks Gemma's turn tokens,
    // so the markers are encoded as text; BOS is the tiny model's id 2.
    let p = Prompt::chat("Hi").with_system("Be brief.");
    assert_eq!(
        g.prompt_text(&p),
        "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
    );
    let ids = g.encode_prompt(&p).unwrap();
    assert_eq!(ids[0], 2);
    assert_eq!(
        g.prompt_text(&Prompt::raw("Hi").with_system("S")),
        "S\n\nHi"
    );
    assert!(g.has_tokenizer());
}

#[test]
fn a_constraint_for_another_vocabulary_is_an_error() {
    let other = Arc::new(Vocabulary::from_token_bytes(
        vec![b"a".to_vec(), Vec::new()],
        vec![rein_vocab::TokenId(1)],
    ));
    let c = Arc::new(rein_engine::Compiler::new(&other).regex("a").unwrap());
    let err = generator(0)
        .generate(&Prompt::raw("x"), Some(&c), &GenerateConfig::new())
        .unwrap_err();
    assert!(
        matches!(err, GenerateError::VocabularyMismatch { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("49152"), "{err}");
}

#[test]
fn logits_of_some_tokens_equal_all_logits() {
    let mut m = Model::tiny_random(49_152, 4);
    let h = m.forward_hidden(&[2, 100, 200], 0).unwrap();
    let all = m.logits(&h);
    let ids = [0u32, 7, 49_151, 300, 300];
    let mut some = [0f32; 5];
    m.logits_of(&h, &ids, &mut some).unwrap();
    for (&i, &v) in ids.iter().zip(&some) {
        assert_eq!(v, all[i as usize]);
    }
    assert!(m.logits_of(&h, &[49_152], &mut [0.0]).is_err());
    assert!(m.logits_of(&h, &[1, 2], &mut [0.0]).is_err());
}
