//! `rein json-suite`: files of the official JSON Schema Test Suite run
//! through the masks.
//!
//! Each case's schema is compiled; each test instance is serialized
//! compactly and fed token by token (a valid instance must be accepted
//! whole with EOS allowed at the end, an invalid one rejected). Counts per
//! file and in total: `pass`, `false_negative` (valid rejected),
//! `false_positive` (invalid accepted), `compile_error` (tests of cases
//! that did not compile; a case whose instances are all invalid counts
//! its tests as passing, since rejecting everything is right for it).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rayon::prelude::*;
use rein_grammar::json_schema::Options;
use rein_vocab::Vocabulary;
use serde_json::{json, Value};

use crate::check::KeyOrderArg;
use crate::mask_bench::{
    clip, collect_files, compile_schema, feed, panic_message, progress, python_dumps,
};

/// Arguments of `rein json-suite`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Tokenizer: a known name (llama3, qwen3, gemma3, ...) or a path to a
    /// tokenizer.json or GGUF file.
    #[arg(long, value_name = "NAME|PATH")]
    tokenizer: String,
    /// Print one JSON object (per-file and total counts) instead of the
    /// table.
    #[arg(long)]
    json: bool,
    /// List every failing test on stderr.
    #[arg(long)]
    verbose: bool,
    /// The order of object members: any (the default, as JSON Schema
    /// allows) or declared (as in `properties`).
    #[arg(long = "key-order", value_enum, default_value_t = KeyOrderArg::Any)]
    key_order: KeyOrderArg,
    /// Worker threads.
    #[arg(long, default_value_t = 1, value_name = "N")]
    threads: usize,
    /// Test-suite files, or folders of them.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// Counts of one file (or the total).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub(crate) pass: usize,
    pub(crate) false_negative: usize,
    pub(crate) false_positive: usize,
    pub(crate) compile_error: usize,
}

impl Counts {
    fn tests(&self) -> usize {
        self.pass + self.false_negative + self.false_positive + self.compile_error
    }

    fn add(&mut self, o: &Counts) {
        self.pass += o.pass;
        self.false_negative += o.false_negative;
        self.false_positive += o.false_positive;
        self.compile_error += o.compile_error;
    }

    fn to_json(self) -> Value {
        json!({
            "tests": self.tests(),
            "pass": self.pass,
            "false_negative": self.false_negative,
            "false_positive": self.false_positive,
            "compile_error": self.compile_error,
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = collect_files(&args.paths)?;
    if files.is_empty() {
        anyhow::bail!("no .json files found in the given paths");
    }
    // Names relative to the common folder, e.g. `optional/format/date.json`.
    let root = common_dir(&args.paths);
    let vocab = Arc::new(
        Vocabulary::load(&args.tokenizer)
            .with_context(|| format!("loading tokenizer {:?}", args.tokenizer))?,
    );
    vocab
        .encode("{}")
        .context("the tokenizer cannot encode text")?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.max(1))
        // Deeply nested schemas recurse deeply (in rein and in regex
        // compilation); give workers the room the main thread has and more.
        .stack_size(256 << 20)
        .build()
        .context("starting worker threads")?;
    let pb = progress(files.len() as u64);
    let opts = Options::default().with_key_order(args.key_order.key_order());
    let results: Vec<anyhow::Result<(String, Counts, Vec<String>)>> = pool.install(|| {
        files
            .par_iter()
            .map(|f| {
                let name = f
                    .strip_prefix(&root)
                    .unwrap_or(f)
                    .to_string_lossy()
                    .replace('\\', "/");
                let r = run_file(f, &vocab, &opts).map(|(c, fails)| (name, c, fails));
                pb.inc(1);
                r
            })
            .collect()
    });
    pb.finish_and_clear();
    let mut per_file = BTreeMap::new();
    let mut total = Counts::default();
    for r in results {
        let (name, c, fails) = r?;
        if args.verbose {
            for f in fails {
                eprintln!("{name}: {f}");
            }
        }
        total.add(&c);
        per_file.insert(name, c);
    }
    if args.json {
        let files: serde_json::Map<String, Value> = per_file
            .iter()
            .map(|(k, c)| (k.clone(), c.to_json()))
            .collect();
        let out = json!({"files": files, "total": total.to_json()});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let w = per_file.keys().map(String::len).max().unwrap_or(5).max(5);
        println!(
            "| {:w$} | {:>5} | {:>5} | {:>14} | {:>14} | {:>13} |",
            "file", "tests", "pass", "false negative", "false positive", "compile error"
        );
        println!(
            "|{}|------:|------:|---------------:|---------------:|--------------:|",
            "-".repeat(w + 2)
        );
        for (name, c) in per_file
            .iter()
            .chain(std::iter::once((&"total".to_string(), &total)))
        {
            println!(
                "| {name:w$} | {:>5} | {:>5} | {:>14} | {:>14} | {:>13} |",
                c.tests(),
                c.pass,
                c.false_negative,
                c.false_positive,
                c.compile_error
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn common_dir(paths: &[PathBuf]) -> PathBuf {
    match paths {
        [p] if p.is_dir() => p.clone(),
        [p] => p.parent().map(PathBuf::from).unwrap_or_default(),
        _ => PathBuf::new(),
    }
}

/// Runs one test-suite file; returns its counts and descriptions of the
/// failing tests.
pub(crate) fn run_file(
    path: &std::path::Path,
    vocab: &Arc<Vocabulary>,
    opts: &Options,
) -> anyhow::Result<(Counts, Vec<String>)> {
    let src =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let cases: Value =
        serde_json::from_str(&src).with_context(|| format!("parsing {}", path.display()))?;
    let cases = cases
        .as_array()
        .with_context(|| format!("{}: expected an array of cases", path.display()))?;
    let mut c = Counts::default();
    let mut fails = Vec::new();
    for case in cases {
        let desc = case
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        let schema = case.get("schema").unwrap_or(&Value::Null);
        let empty = Vec::new();
        let tests = case
            .get("tests")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let outcome = catch_unwind(AssertUnwindSafe(|| run_case(schema, tests, vocab, opts)));
        match outcome {
            Ok(Ok(results)) => {
                for (t, (valid, accepted, reason)) in tests.iter().zip(results) {
                    let td = t.get("description").and_then(Value::as_str).unwrap_or("");
                    match (valid, accepted) {
                        (true, true) | (false, false) => c.pass += 1,
                        (true, false) => {
                            c.false_negative += 1;
                            fails.push(format!("{desc} / {td}: valid instance rejected: {reason}"));
                        }
                        (false, true) => {
                            c.false_positive += 1;
                            let data = t
                                .get("data")
                                .map(|d| python_dumps(d, ",", ":"))
                                .unwrap_or_default();
                            fails.push(format!(
                                "{desc} / {td}: INVALID instance accepted: {}",
                                clip(&data, 200)
                            ));
                        }
                    }
                }
            }
            Ok(Err(e)) => {
                let all_invalid = tests
                    .iter()
                    .all(|t| t.get("valid").and_then(Value::as_bool) == Some(false));
                if all_invalid {
                    c.pass += tests.len();
                } else {
                    c.compile_error += tests.len();
                    fails.push(format!("{desc}: compile error: {}", clip(&e, 300)));
                }
            }
            Err(p) => {
                c.false_negative += tests.len();
                fails.push(format!("{desc}: {}", panic_message(&p)));
            }
        }
    }
    Ok((c, fails))
}

/// (valid, accepted, reason) per test, or the compile error.
fn run_case(
    schema: &Value,
    tests: &[Value],
    vocab: &Arc<Vocabulary>,
    opts: &Options,
) -> Result<Vec<(bool, bool, String)>, String> {
    let (g, _, _) = compile_schema(schema, vocab, opts);
    let g = g?;
    let mut out = Vec::with_capacity(tests.len());
    let mut times = Vec::new();
    for t in tests {
        let valid = t.get("valid").and_then(Value::as_bool).unwrap_or(false);
        let data = t.get("data").unwrap_or(&Value::Null);
        let text = python_dumps(data, ",", ":");
        let mut timed_out = false;
        let deadline = Instant::now() + Duration::from_secs(60);
        let fed = feed(&g, vocab, &text, &mut times, deadline, &mut timed_out);
        out.push((valid, fed.accepted, fed.reason));
    }
    Ok(out)
}
