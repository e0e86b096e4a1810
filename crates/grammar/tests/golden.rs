//! Runs the golden data files in the repository's `tests/data/*.toml`
//! through the reference recognizer (`rein_grammar::testing::Recognizer`).
//! The format is described in `tests/data/README.md`. Each compiled
//! grammar is also sampled (`rein_grammar::testing::Sampler`) and the
//! samples must be accepted.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rein_grammar::testing::{Recognizer, Sampler};
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

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn data_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/data"))
        .expect("tests/data exists")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn compile(case: &Case) -> Result<Result<Grammar, GrammarError>, String> {
    match (&case.grammar, &case.grammar_file, &case.regex) {
        (Some(src), None, None) => Ok(gbnf::parse(src)),
        (None, Some(path), None) => {
            let src = std::fs::read_to_string(root().join(path))
                .map_err(|e| format!("cannot read {path}: {e}"))?;
            Ok(gbnf::parse(&src))
        }
        (None, None, Some(pattern)) => Ok(regex::parse(pattern)),
        _ => Err("needs exactly one of `grammar`, `grammar_file`, `regex`".into()),
    }
}

/// Checks one case; returns the failures and the number of checks made.
fn check(case: &Case) -> (Vec<String>, usize) {
    let mut fails = Vec::new();
    let mut checks = 0;
    let compiled = match compile(case) {
        Ok(c) => c,
        Err(e) => return (vec![e], 0),
    };
    if let Some(want) = &case.error {
        checks += 1;
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
        return (fails, checks);
    }
    let g = match compiled {
        Ok(g) => g,
        Err(e) => return (vec![format!("does not compile:\n{e}")], 0),
    };
    let r = Recognizer::new(&g);
    // The sampler's strings are members too.
    let sampler = Sampler::new(&g);
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    for _ in 0..20 {
        checks += 1;
        match sampler.sample(&mut rng, 10) {
            Some(s) if s.chars().count() > 300 || r.accepts(&s) => {}
            Some(s) => fails.push(format!("sample {s:?} is rejected")),
            None => fails.push("the sampler found no string".into()),
        }
    }
    for s in &case.accept {
        checks += 1;
        if !r.accepts(s) {
            fails.push(format!("should accept {s:?}"));
        }
        let chars: Vec<char> = s.chars().collect();
        for n in 0..chars.len() {
            let p: String = chars[..n].iter().collect();
            if !r.is_prefix(&p) {
                fails.push(format!(
                    "{p:?} (a prefix of accepted {s:?}) should be a prefix"
                ));
                break;
            }
        }
    }
    for s in case.reject.iter().chain(&case.prefix).chain(&case.dead) {
        checks += 1;
        if r.accepts(s) {
            fails.push(format!("should reject {s:?}"));
        }
    }
    for s in &case.prefix {
        checks += 1;
        if !r.is_prefix(s) {
            fails.push(format!("{s:?} should be a prefix"));
        }
    }
    for s in &case.dead {
        checks += 1;
        if r.is_prefix(s) {
            fails.push(format!("{s:?} should not be a prefix"));
        }
    }
    (fails, checks)
}

#[test]
fn golden_files_pass_the_reference_recognizer() {
    let files = data_files();
    assert!(!files.is_empty(), "no data files found");
    let mut failures = Vec::new();
    let (mut cases, mut checks) = (0, 0);
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
            let (fails, n) = check(case);
            checks += n;
            failures.extend(fails.into_iter().map(|f| format!("{where_}: {f}")));
        }
    }
    eprintln!(
        "golden: {} files, {cases} cases, {checks} checks",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
