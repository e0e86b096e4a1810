//! JSON Schema end to end, through the `rein` binary and the engine:
//!
//! - the golden cases of `tests/data/json-schema/*.toml` token by token
//!   with the Llama 3 vocabulary (accepted texts allowed at every token and
//!   EOS at the end, rejected ones refused);
//! - `rein check --json-schema` exit codes and messages;
//! - a fixed sample of MaskBench dev cases (`rein mask-bench --walks`)
//!   against `tests/data/maskbench-baseline.json`: no invalid instance
//!   accepted, no panic, no invalid random walk, and no case that passed
//!   in the baseline may stop passing;
//! - the JSON Schema Test Suite (`rein json-suite`) against
//!   `tests/data/json-suite-baseline.json`: no false positive, and no file
//!   may pass fewer tests than in the baseline.
//!
//! The shared data is read from `$REIN_DATA`, by default `../shared/data`
//! next to the repository. With `REIN_UPDATE_BASELINE=1` the two baseline
//! tests rewrite their baseline instead of comparing (the file may only
//! improve; review the diff).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rein_engine::{Compiler, Matcher, TokenMask, Vocabulary};
use rein_grammar::json_schema::{compile, KeyOrder, Options, Whitespace};
use serde::Deserialize;
use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn data_dir() -> PathBuf {
    match std::env::var_os("REIN_DATA") {
        Some(d) => PathBuf::from(d),
        None => repo().join("../shared/data"),
    }
}

fn rein() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rein"))
}

fn updating() -> bool {
    std::env::var("REIN_UPDATE_BASELINE").is_ok_and(|v| v == "1")
}

#[derive(Deserialize)]
struct File {
    test: Vec<Case>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
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

/// Whether `text` is accepted token by token, with EOS allowed at the end.
fn accepted(g: &Arc<rein_engine::CompiledGrammar>, vocab: &Vocabulary, text: &str) -> bool {
    let Ok(tokens) = vocab.encode(text) else {
        return false;
    };
    let mut m = Matcher::new(g.clone());
    let mut mask = TokenMask::new(vocab.len());
    for t in tokens {
        if m.compute_mask(&mut mask).is_err() || !mask.is_allowed(t) {
            return false;
        }
        if m.commit(t).is_err() {
            return false;
        }
    }
    m.compute_mask(&mut mask).is_ok() && vocab.eos_tokens().iter().any(|&e| mask.is_allowed(e))
}

#[test]
fn golden_cases_through_the_engine() {
    let vocab = Arc::new(Vocabulary::load("llama3").expect("llama3 vocabulary"));
    let dir = repo().join("tests/data/json-schema");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/json-schema exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut fails = Vec::new();
    let mut checks = 0;
    for path in files {
        let file: File =
            toml::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("valid TOML");
        for case in file.test {
            if case.error.is_some() {
                continue;
            }
            let schema: Value = serde_json::from_str(&case.schema).expect("schema is JSON");
            let ws = match case.whitespace.as_deref() {
                Some("compact") => Whitespace::Compact,
                Some("pretty") => Whitespace::Pretty { indent: 2 },
                _ => Whitespace::Flexible,
            };
            let key_order = match case.key_order.as_deref() {
                Some("any") => KeyOrder::Any,
                _ => KeyOrder::Declared,
            };
            let opts = Options::default()
                .with_whitespace(ws)
                .with_strict(case.strict)
                .with_key_order(key_order);
            let g = compile(&schema, &opts).expect("compiles");
            let g = Arc::new(
                Compiler::new(&vocab)
                    .grammar(&g)
                    .expect("the engine compiles it"),
            );
            for s in &case.accept {
                checks += 1;
                if !accepted(&g, &vocab, s) {
                    fails.push(format!("{}: should accept {s:?}", case.name));
                }
            }
            for s in &case.reject {
                checks += 1;
                if accepted(&g, &vocab, s) {
                    fails.push(format!("{}: should reject {s:?}", case.name));
                }
            }
        }
    }
    eprintln!("{checks} checks");
    assert!(
        fails.is_empty(),
        "{} failures:\n{}",
        fails.len(),
        fails.join("\n")
    );
}

#[test]
fn check_exit_codes_and_messages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = dir.path().join("s.json");
    std::fs::write(
        &schema,
        r#"{"type": "object", "properties": {"n": {"type": "integer", "maximum": 9}}, "required": ["n"]}"#,
    )
    .expect("write");
    let good = dir.path().join("good.json");
    std::fs::write(&good, r#"{"n": 7}"#).expect("write");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"n": 10}"#).expect("write");
    let run = |args: &[&Path]| {
        let mut c = rein();
        c.arg("check").arg("--json-schema").arg(args[0]);
        if let Some(input) = args.get(1) {
            c.arg("--input").arg(input);
        }
        c.output().expect("rein runs")
    };
    assert_eq!(run(&[&schema, &good]).status.code(), Some(0));
    assert_eq!(run(&[&schema, &bad]).status.code(), Some(1));
    let unsupported = dir.path().join("u.json");
    std::fs::write(
        &unsupported,
        r##"{"properties": {"a": {"$dynamicRef": "#x"}}}"##,
    )
    .expect("write");
    let out = run(&[&unsupported]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("$dynamicRef") && err.contains("#/properties/a"),
        "{err}"
    );
    let pretty = rein()
        .args(["check", "--whitespace", "compact", "--json-schema"])
        .arg(&schema)
        .arg("--input")
        .arg(&good)
        .output()
        .expect("rein runs");
    assert_eq!(
        pretty.status.code(),
        Some(1),
        "compact rejects the space after ':'"
    );
    // Keys out of declared order: refused by default, accepted with
    // `--key-order any`; a missing required key is refused either way.
    let two = dir.path().join("two.json");
    std::fs::write(
        &two,
        r#"{"properties": {"a": {"type": "integer"}, "b": {"type": "string"}}, "required": ["a", "b"]}"#,
    )
    .expect("write");
    let swapped = dir.path().join("swapped.json");
    std::fs::write(&swapped, r#"{"b": "x", "a": 1}"#).expect("write");
    let missing = dir.path().join("missing.json");
    std::fs::write(&missing, r#"{"b": "x"}"#).expect("write");
    let check = |order: &str, input: &Path| {
        rein()
            .args(["check", "--key-order", order, "--json-schema"])
            .arg(&two)
            .arg("--input")
            .arg(input)
            .output()
            .expect("rein runs")
            .status
            .code()
    };
    assert_eq!(check("declared", &swapped), Some(1));
    assert_eq!(check("any", &swapped), Some(0));
    assert_eq!(check("any", &missing), Some(1));
}

/// Every how many dev cases (sorted by name) the CI sample takes one.
const SAMPLE_STEP: usize = 25;

/// The fixed sample of the dev split: every 25th case by name.
fn maskbench_sample(all: &[String]) -> Vec<String> {
    all.iter().step_by(SAMPLE_STEP).cloned().collect()
}

#[test]
fn maskbench_sample_matches_baseline() {
    let dev = data_dir().join("maskbench-dev");
    let baseline_path = repo().join("tests/data/maskbench-baseline.json");
    let names: Vec<String> = if updating() {
        let mut all: Vec<String> = std::fs::read_dir(&dev)
            .unwrap_or_else(|e| panic!("{}: {e} (set REIN_DATA)", dev.display()))
            .map(|e| {
                e.expect("readable")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| n.ends_with(".json"))
            .collect();
        all.sort();
        maskbench_sample(&all)
    } else {
        let b: Value = serde_json::from_str(
            &std::fs::read_to_string(&baseline_path).expect("baseline exists"),
        )
        .expect("baseline is JSON");
        b["cases"]
            .as_object()
            .expect("cases")
            .keys()
            .cloned()
            .collect()
    };
    let out_lines = tempfile::NamedTempFile::new().expect("temp file");
    let mut cmd = rein();
    cmd.args([
        "mask-bench",
        "--tokenizer",
        "llama3",
        "--threads",
        "2",
        "--timeout-s",
        "600",
    ])
    .args(["--walks", "1", "--json", "--out"])
    .arg(out_lines.path());
    for n in &names {
        cmd.arg(dev.join(n));
    }
    let out = cmd.output().expect("rein runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    let mut cases: BTreeMap<String, Value> = BTreeMap::new();
    for line in std::fs::read_to_string(out_lines.path())
        .expect("case lines")
        .lines()
    {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        cases.insert(v["file"].as_str().unwrap_or_default().to_string(), v);
    }
    let mut problems = Vec::new();
    for (name, c) in &cases {
        let status = c["status"].as_str().unwrap_or_default();
        if status == "invalidation_error" || status == "panic" {
            problems.push(format!("{name}: {status}: {}", c["message"]));
        }
        let w = &c["walks"];
        if w["invalid"].as_u64() != Some(0) || w["dead_end"].as_u64() != Some(0) {
            problems.push(format!("{name}: random walks: {w}"));
        }
    }
    if updating() {
        let statuses: serde_json::Map<String, Value> = cases
            .iter()
            .map(|(k, c)| (k.clone(), c["status"].clone()))
            .collect();
        let b = json!({
            "tokenizer": "llama3",
            "sample": format!("every {SAMPLE_STEP}th file of maskbench-dev, sorted by name"),
            "summary": {
                "passing": summary["passing"],
                "compile_error": summary["compile_error"],
                "validation_error": summary["validation_error"],
                "invalidation_error": summary["invalidation_error"],
            },
            "cases": statuses,
        });
        std::fs::write(
            &baseline_path,
            serde_json::to_string_pretty(&b).expect("JSON") + "\n",
        )
        .expect("write baseline");
    } else {
        let b: Value = serde_json::from_str(
            &std::fs::read_to_string(&baseline_path).expect("baseline exists"),
        )
        .expect("baseline is JSON");
        for (name, want) in b["cases"].as_object().expect("cases") {
            let got = cases
                .get(name)
                .map(|c| c["status"].as_str().unwrap_or_default());
            if want == "passing" && got != Some("passing") {
                problems.push(format!(
                    "{name}: regressed from passing to {got:?}: {}",
                    cases
                        .get(name)
                        .map(|c| c["message"].to_string())
                        .unwrap_or_default()
                ));
            } else if want != "passing" && got == Some("passing") {
                eprintln!("{name}: now passing (update the baseline)");
            }
        }
    }
    eprintln!("sample: {summary}");
    // Memory per compiled grammar is reported (and a grammar is never
    // empty); the lexer caches grew while the instances were fed.
    for key in ["grammar_bytes", "cache_bytes"] {
        let p50 = summary[key]["p50"].as_u64().unwrap_or(0);
        let max = summary[key]["max"].as_u64().unwrap_or(0);
        assert!(p50 > 0 && max >= p50, "{key}: {}", summary[key]);
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn json_suite_matches_baseline() {
    let suite = data_dir().join("json-schema-test-suite/tests/draft2020-12");
    let baseline_path = repo().join("tests/data/json-suite-baseline.json");
    let out = rein()
        .args([
            "json-suite",
            "--tokenizer",
            "llama3",
            "--threads",
            "2",
            "--json",
        ])
        .arg(&suite)
        .output()
        .expect("rein runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut problems = Vec::new();
    for (file, c) in got["files"].as_object().expect("files") {
        if c["false_positive"].as_u64() != Some(0) {
            problems.push(format!(
                "{file}: {} invalid instances accepted",
                c["false_positive"]
            ));
        }
    }
    if updating() {
        std::fs::write(
            &baseline_path,
            serde_json::to_string_pretty(&got).expect("JSON") + "\n",
        )
        .expect("write baseline");
    } else {
        let b: Value = serde_json::from_str(
            &std::fs::read_to_string(&baseline_path).expect("baseline exists"),
        )
        .expect("baseline is JSON");
        for (file, want) in b["files"].as_object().expect("files") {
            let was = want["pass"].as_u64().unwrap_or(0);
            let now = got["files"][file]["pass"].as_u64().unwrap_or(0);
            if now < was {
                problems.push(format!("{file}: {now} tests pass, the baseline has {was}"));
            }
        }
    }
    eprintln!("json suite total: {}", got["total"]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
