//! Runs the JSON Schema golden files (`tests/data/json-schema/*.toml`, format
//! in the README there) through the reference recognizer, and checks every
//! expectation against an independent validator (the `jsonschema` crate):
//! accepted texts must be valid instances, rejected ones invalid (unless the
//! case is marked `subset`, for spellings rein deliberately does not
//! produce). Samples of every grammar must be valid instances too.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rein_grammar::json_schema::{compile, KeyOrder, Options, UnknownFormats, Whitespace};
use rein_grammar::testing::{Recognizer, Sampler};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    test: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    schema: String,
    #[serde(default)]
    whitespace: Option<String>,
    #[serde(default)]
    strict: bool,
    #[serde(default)]
    key_order: Option<String>,
    #[serde(default)]
    accept: Vec<String>,
    #[serde(default)]
    reject: Vec<String>,
    #[serde(default)]
    subset: bool,
    error: Option<String>,
}

fn data_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/json-schema");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/json-schema exists")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn options(case: &Case) -> Options {
    let ws = match case.whitespace.as_deref() {
        None | Some("flexible") => Whitespace::Flexible,
        Some("compact") => Whitespace::Compact,
        Some("pretty") => Whitespace::Pretty { indent: 2 },
        Some(other) => panic!("{}: unknown whitespace {other:?}", case.name),
    };
    let key_order = match case.key_order.as_deref() {
        None | Some("declared") => KeyOrder::Declared,
        Some("any") => KeyOrder::Any,
        Some(other) => panic!("{}: unknown key_order {other:?}", case.name),
    };
    Options::default()
        .with_whitespace(ws)
        .with_strict(case.strict)
        .with_key_order(key_order)
}

/// `Some(valid)` per the jsonschema crate, `None` if `text` is not JSON.
fn independent(validator: &jsonschema::Validator, text: &str) -> Option<bool> {
    let v: Value = serde_json::from_str(text).ok()?;
    Some(validator.is_valid(&v))
}

fn check(case: &Case) -> Vec<String> {
    let mut fails = Vec::new();
    let schema: Value = match serde_json::from_str(&case.schema) {
        Ok(s) => s,
        Err(e) => return vec![format!("schema is not JSON: {e}")],
    };
    let compiled = compile(&schema, &options(case));
    if let Some(want) = &case.error {
        match compiled {
            Ok(_) => fails.push(format!(
                "compiled, but expected an error containing {want:?}"
            )),
            Err(e) if !e.to_string().contains(want.as_str()) => fails.push(format!(
                "error {:?} does not contain {want:?}",
                e.to_string()
            )),
            Err(_) => {}
        }
        return fails;
    }
    let g = match compiled {
        Ok(g) => g,
        Err(e) => return vec![format!("does not compile: {e}")],
    };
    let validator = match jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
    {
        Ok(v) => v,
        Err(e) => return vec![format!("the jsonschema crate rejects the schema: {e}")],
    };
    let r = Recognizer::new(&g);
    for s in &case.accept {
        if !r.accepts(s) {
            fails.push(format!("should accept {s:?}"));
        }
        if independent(&validator, s) != Some(true) {
            fails.push(format!(
                "accepted {s:?} is not a valid instance per jsonschema"
            ));
        }
    }
    for s in &case.reject {
        if r.accepts(s) {
            fails.push(format!("should reject {s:?}"));
        }
        if !case.subset && independent(&validator, s) == Some(true) {
            fails.push(format!(
                "rejected {s:?} is a valid instance per jsonschema (mark the case `subset`?)"
            ));
        }
    }
    let sampler = Sampler::new(&g);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..30 {
        if let Some(s) = sampler.sample(&mut rng, 8) {
            if s.chars().count() > 400 {
                continue;
            }
            match independent(&validator, &s) {
                Some(true) => {}
                Some(false) => fails.push(format!("sample {s:?} is not a valid instance")),
                None => fails.push(format!("sample {s:?} is not JSON")),
            }
        }
    }
    fails
}

#[test]
fn json_schema_golden_files() {
    let files = data_files();
    assert!(!files.is_empty(), "no data files found");
    let mut failures = Vec::new();
    let mut cases = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable data file");
        let file: File = match toml::from_str(&text) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let mut names = std::collections::HashSet::new();
        for case in &file.test {
            cases += 1;
            let where_ = format!(
                "{} / {}",
                path.file_name().unwrap_or_default().to_string_lossy(),
                case.name
            );
            if !names.insert(case.name.as_str()) {
                failures.push(format!("{where_}: duplicate name"));
            }
            failures.extend(check(case).into_iter().map(|f| format!("{where_}: {f}")));
        }
    }
    eprintln!("json-schema golden: {} files, {cases} cases", files.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Regression: SmolLM2 asked for `{"type": "integer"}` wrote `7.000…` until its token
/// limit, because draft 6 counts `7.0` as an integer (and a random model did the same with
/// `const: 3`). Generation turns trailing zeros off.
#[test]
fn trailing_zeros_can_be_turned_off() {
    let schema = serde_json::json!({"type": "object", "properties": {
        "n": {"type": "integer", "minimum": 0, "maximum": 1000},
        "c": {"const": 3},
        "e": {"enum": [1.5, 20]}},
        "required": ["n", "c", "e"]});
    let opts = Options::default().with_whitespace(Whitespace::Compact);
    let on = Recognizer::new(&compile(&schema, &opts).unwrap());
    let off = Recognizer::new(&compile(&schema, &opts.with_trailing_zeros(false)).unwrap());
    let text = |n: &str, c: &str, e: &str| format!(r#"{{"n":{n},"c":{c},"e":{e}}}"#);
    for (n, c, e) in [("7", "3", "1.5"), ("1000", "3", "20"), ("0", "3", "1.5")] {
        assert!(on.accepts(&text(n, c, e)) && off.accepts(&text(n, c, e)));
    }
    for (n, c, e) in [
        ("7.0", "3", "1.5"),
        ("7.000", "3", "1.5"),
        ("7", "3.0", "1.5"),
        ("7", "3", "1.50"),
        ("7", "3", "20.0"),
    ] {
        assert!(on.accepts(&text(n, c, e)), "{}", text(n, c, e));
        assert!(!off.accepts(&text(n, c, e)), "{}", text(n, c, e));
    }
    for (n, c, e) in [("7.", "3", "1.5"), ("1001", "3", "1.5"), ("-1", "3", "20")] {
        assert!(!on.accepts(&text(n, c, e)) && !off.accepts(&text(n, c, e)));
    }
}

/// `oneOf` and `not` over a recursive definition need the complement of a
/// schema that contains itself: compiling must end in a located error (or a
/// grammar), never recurse until the stack overflows (a MaskBench case,
/// `Github_hard---o91595`, aborted whole runs that way).
#[test]
fn complements_of_recursive_definitions_end() {
    let schema: Value = serde_json::json!({
        "definitions": {
            "node": {
                "type": "object",
                "properties": {
                    "kind": {"enum": ["leaf", "branch"]},
                    "child": {"$ref": "#/definitions/node"}
                }
            }
        },
        "oneOf": [
            {"$ref": "#/definitions/node"},
            {"type": "object", "properties": {"size": {"type": "integer"}}}
        ]
    });
    // Run on a thread with a small stack, as the CLI's workers may have.
    let res = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            compile(&schema, &Options::default())
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .expect("thread")
        .join()
        .expect("no panic");
    if let Err(e) = res {
        assert!(e.contains("oneOf") || e.contains("nesting"), "{e}");
    }
}

#[test]
fn errors_that_depend_on_options_name_the_option() {
    let schema = serde_json::json!({"type": "string", "format": "colour"});
    assert!(compile(&schema, &Options::default()).is_ok());
    let opts = Options::default().with_unknown_formats(UnknownFormats::Error);
    let e = compile(&schema, &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        "schema error at \"#\" (keyword `format`): \"colour\" is not a format of the JSON \
         Schema specification"
    );
    let mut opts = Options::default();
    opts.max_depth = 3;
    let deep = serde_json::json!({"items": {"items": {"items": {"items": {}}}}});
    let e = compile(&deep, &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        "limit exceeded: schema nesting depth is 4, the limit is 3"
    );
}

/// Equal patterns under equal bounds share one regex, built once; one whose
/// length restriction needed a note still gets the note at every place,
/// and the shared regexes accept and reject alike at each place.
#[test]
fn shared_string_regexes_keep_their_notes_and_language() {
    let long = serde_json::json!({"type": "string", "format": "uri", "maxLength": 2000});
    let word = serde_json::json!({"type": "string", "pattern": "^[a-z]+-[0-9]+$", "maxLength": 6});
    let schema = serde_json::json!({"type": "object", "properties": {
        "a": long, "b": long, "x": word, "y": word},
        "required": ["x", "y"], "additionalProperties": false});
    let opts = Options::default()
        .with_whitespace(Whitespace::Compact)
        .with_key_order(KeyOrder::Declared);
    let c = rein_grammar::json_schema::compile_with_notes(&schema, &opts).unwrap();
    for place in ["#/properties/a", "#/properties/b"] {
        assert!(
            c.notes.iter().any(|n| n.starts_with(place)),
            "no note for {place}: {:?}",
            c.notes
        );
    }
    let r = Recognizer::new(&c.grammar);
    assert!(r.accepts(r#"{"x":"ab-1","y":"c-234"}"#));
    for text in [
        r#"{"x":"ab-1","y":"cd-2345"}"#,
        r#"{"x":"abcd-12","y":"c-2"}"#,
        r#"{"x":"ab-1","y":"c2"}"#,
    ] {
        assert!(!r.accepts(text), "{text}");
    }
}
