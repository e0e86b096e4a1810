//! `rein generate` end to end with the default model (SmolLM2-135M-Instruct, fetched and
//! cached by `rein-assets` on first use): flags, the `--json` object, streaming, exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

fn rein(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rein"))
        .arg("generate")
        .args(args)
        .output()
        .expect("running rein")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn json_output_has_every_key_and_the_text_matches() {
    let o = rein(&[
        "--regex",
        "(yes|no)",
        "--prompt",
        "Is the sky blue? Answer yes or no.",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["finish", "forced", "mask_ms", "model_ms", "sampled", "text", "tokens"]
    );
    let text = v["text"].as_str().unwrap();
    assert!(text == "yes" || text == "no", "{v}");
    assert_eq!(v["finish"], "grammar");
    let tokens = v["tokens"].as_array().unwrap();
    let (sampled, forced) = (
        v["sampled"].as_u64().unwrap(),
        v["forced"].as_u64().unwrap(),
    );
    assert_eq!(tokens.len() as u64, sampled + forced);
    assert!(v["mask_ms"].as_f64().unwrap() >= 0.0);
    assert!(v["model_ms"].as_f64().unwrap() > 0.0);
    // Statistics go to stderr.
    assert!(stderr(&o).contains("finish: grammar"), "{}", stderr(&o));
}

#[test]
fn json_schema_output_is_a_valid_instance() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("person.json");
    std::fs::write(
        &schema,
        r#"{"type": "object", "properties": {"name": {"type": "string", "maxLength": 30},
            "city": {"enum": ["Paris", "London", "Rome"]}}, "required": ["name", "city"]}"#,
    )
    .unwrap();
    let o = rein(&[
        "--json-schema",
        schema.to_str().unwrap(),
        "--prompt",
        "Extract the person: Marie Curie lived in Paris.",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The streamed text, then a newline.
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim_end()).unwrap();
    assert!(v["name"].as_str().unwrap().chars().count() <= 30, "{v}");
    assert!(
        ["Paris", "London", "Rome"].contains(&v["city"].as_str().unwrap()),
        "{v}"
    );
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
}

/// The prompt's token count from the statistics line on stderr.
fn prompt_tokens(o: &Output) -> usize {
    let err = stderr(o);
    let at = err.find("prompt ").unwrap_or_else(|| panic!("{err}")) + "prompt ".len();
    err[at..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"))
}

#[test]
fn the_schema_is_in_the_prompt_unless_no_schema_in_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("answer.json");
    std::fs::write(
        &schema,
        r#"{"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}},
            "required": ["answer"]}"#,
    )
    .unwrap();
    let args = |extra: &'static [&'static str]| {
        let mut a = vec![
            "--json-schema",
            schema.to_str().unwrap(),
            "--prompt",
            "Is the sky blue?",
            "--json",
        ];
        a.extend_from_slice(extra);
        rein(&a)
    };
    let with = args(&[]);
    let without = args(&["--no-schema-in-prompt"]);
    for o in [&with, &without] {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
        let v: serde_json::Value = serde_json::from_str(stdout(o).trim()).unwrap();
        let answer: serde_json::Value = serde_json::from_str(v["text"].as_str().unwrap()).unwrap();
        assert!(
            answer == serde_json::json!({"answer": "yes"})
                || answer == serde_json::json!({"answer": "no"}),
            "{v}"
        );
    }
    // The schema text (some 30 tokens) is only in the first prompt.
    let (a, b) = (prompt_tokens(&with), prompt_tokens(&without));
    assert!(
        a >= b + 20,
        "{a} prompt tokens with the schema, {b} without"
    );

    // The flag needs a schema.
    let o = rein(&["--regex", "a", "--prompt", "x", "--no-schema-in-prompt"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--json-schema"), "{}", stderr(&o));
}

#[test]
fn an_open_constraint_ends_at_eos() {
    // The regex allows more text after any word, so only the model's end-of-turn token
    // ends the output before the limit.
    let o = rein(&[
        "--regex",
        "[A-Za-z][A-Za-z ,.!']{0,300}",
        "--prompt",
        "Say hello in three words.",
        "--max-tokens",
        "60",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["finish"], "eos", "{v}");
    // The end-of-turn token was sampled but is not part of the output.
    let tokens = v["tokens"].as_array().unwrap().len() as u64;
    assert_eq!(
        tokens + 1,
        v["sampled"].as_u64().unwrap() + v["forced"].as_u64().unwrap()
    );
}

#[test]
fn grammar_file_raw_prompt_and_sampling_flags() {
    let dir = tempfile::tempdir().unwrap();
    let prompt = dir.path().join("prompt.txt");
    std::fs::write(&prompt, "2 + 2 * 3 = 8\n10 / 5 - 1 =").unwrap();
    let o = rein(&[
        "--grammar",
        repo("grammars/arithmetic.gbnf").to_str().unwrap(),
        "--prompt-file",
        prompt.to_str().unwrap(),
        "--no-chat",
        "--temperature",
        "0.8",
        "--top-k",
        "20",
        "--top-p",
        "0.9",
        "--seed",
        "3",
        "--max-tokens",
        "24",
        "--json",
    ]);
    let code = o.status.code();
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    // Complete (exit 0) or cut at 24 tokens (exit 1), never an error.
    match v["finish"].as_str().unwrap() {
        "length" => assert_eq!(code, Some(1)),
        _ => assert_eq!(code, Some(0)),
    }
    let text = v["text"].as_str().unwrap();
    assert!(
        text.chars()
            .all(|c| c.is_ascii_digit() || " .+-*/%^()".contains(c)),
        "{text:?}"
    );
}

#[test]
fn truncation_exits_1_and_says_length() {
    let o = rein(&[
        "--regex",
        "[a-z]{30,40}",
        "--prompt",
        "Write a long word.",
        "--max-tokens",
        "2",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["finish"], "length");
    assert_eq!(v["tokens"].as_array().unwrap().len(), 2);
    assert!(stderr(&o).contains("truncated"), "{}", stderr(&o));
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let o = rein(&["--regex", "(unclosed", "--prompt", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--regex"), "{}", stderr(&o));

    let o = rein(&["--grammar", "/no/such/file.gbnf", "--prompt", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/file.gbnf"), "{}", stderr(&o));

    let o = rein(&["--regex", "a", "--prompt", "x", "--model", "no-such-model"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("smollm2-135m-instruct"),
        "{}",
        stderr(&o)
    );

    let o = rein(&["--regex", "a", "--prompt", "x", "--top-p", "1.5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--top-p"), "{}", stderr(&o));

    // No constraint, or two: a usage error.
    let o = rein(&["--prompt", "x"]);
    assert_eq!(o.status.code(), Some(2));
    let o = rein(&["--regex", "a", "--grammar", "g.gbnf", "--prompt", "x"]);
    assert_eq!(o.status.code(), Some(2));
}
