//! Runs the golden data files (`tests/data/*.toml`, format in
//! `tests/data/README.md`) through the engine on the llama3 vocabulary:
//! accepted strings are fed token by token (canonical tokenization, with
//! the mask checked at every step, EOS allowed at the end) and byte by
//! byte; rejected ones are refused; prefixes are viable but incomplete;
//! dead strings cannot be extended.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use rein_engine::{Compiler, Matcher, TokenMask};
use rein_grammar::{gbnf, regex, Grammar, GrammarError};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    test: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    grammar: Option<String>,
    grammar_file: Option<String>,
    regex: Option<String>,
    #[serde(default)]
    accept: Vec<String>,
    #[serde(default)]
    reject: Vec<String>,
    #[serde(default)]
    prefix: Vec<String>,
    #[serde(default)]
    dead: Vec<String>,
    error: Option<String>,
}

fn data_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::root().join("tests/data"))
        .expect("tests/data exists")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn parse(case: &Case) -> Result<Grammar, GrammarError> {
    match (&case.grammar, &case.grammar_file, &case.regex) {
        (Some(src), None, None) => gbnf::parse(src),
        (None, Some(path), None) => {
            let src = std::fs::read_to_string(common::root().join(path)).expect("grammar file");
            gbnf::parse(&src)
        }
        (None, None, Some(p)) => regex::parse(p),
        _ => panic!(
            "{}: needs exactly one of grammar, grammar_file, regex",
            case.name
        ),
    }
}

fn check(case: &Case, fails: &mut Vec<String>) {
    let vocab = common::vocab("llama3");
    let compiled = parse(case).and_then(|g| Compiler::new(&vocab).grammar(&g));
    if let Some(want) = &case.error {
        match compiled {
            Ok(_) => fails.push(format!("compiled, expected an error containing {want:?}")),
            Err(e) if !e.to_string().contains(want.as_str()) => fails.push(format!(
                "error {:?} does not contain {want:?}",
                e.to_string()
            )),
            Err(_) => {}
        }
        return;
    }
    let g = match compiled {
        Ok(g) => Arc::new(g),
        Err(e) => return fails.push(format!("does not compile: {e}")),
    };
    let mut mask = TokenMask::new(vocab.len());
    for s in &case.accept {
        let mut m = Matcher::new(g.clone());
        let toks = vocab.encode(s).expect("tokenizer");
        if let Err(e) = common::feed_checked(&mut m, &vocab, &toks) {
            fails.push(format!("accept {s:?} by tokens: {e}"));
        }
        let mut m = Matcher::new(g.clone());
        match m.commit_bytes(s.as_bytes()) {
            Ok(Ok(())) if m.is_accepting() => {}
            other => fails.push(format!(
                "accept {s:?} by bytes: {other:?}, accepting {}",
                m.is_accepting()
            )),
        }
    }
    for s in case.reject.iter().chain(&case.prefix).chain(&case.dead) {
        let mut m = Matcher::new(g.clone());
        if let Ok(Ok(())) = m.commit_bytes(s.as_bytes()) {
            if m.is_accepting() {
                fails.push(format!("should reject {s:?}"));
            }
        }
    }
    for s in &case.prefix {
        let mut m = Matcher::new(g.clone());
        match m.commit_bytes(s.as_bytes()) {
            Ok(Ok(())) => {
                m.compute_mask(&mut mask).unwrap();
                if mask.count_allowed() == 0 {
                    fails.push(format!("prefix {s:?}: empty mask"));
                }
            }
            other => fails.push(format!("{s:?} should be a viable prefix: {other:?}")),
        }
    }
    for s in &case.dead {
        let mut m = Matcher::new(g.clone());
        if let Ok(Ok(())) = m.commit_bytes(s.as_bytes()) {
            fails.push(format!("{s:?} should be dead"));
        }
    }
}

#[test]
fn golden_files_on_llama3() {
    let files = data_files();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    let mut cases = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let file: File =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in &file.test {
            cases += 1;
            let mut fails = Vec::new();
            check(case, &mut fails);
            let name = path.file_name().unwrap().to_string_lossy();
            failures.extend(
                fails
                    .into_iter()
                    .map(|f| format!("{name} / {}: {f}", case.name)),
            );
        }
    }
    eprintln!("golden: {} files, {cases} cases", files.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
