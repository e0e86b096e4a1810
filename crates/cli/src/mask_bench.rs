//! `rein mask-bench`: MaskBench cases (a JSON Schema with valid and invalid
//! instances) run through the masks, measured as the official MaskBench
//! runner measures.
//!
//! Per schema: TTFM is the time to compile the schema for the tokenizer
//! (JSON Schema to grammar, grammar to compiled grammar; the first mask is
//! not included). Each instance is serialized as Python's `json.dumps`
//! would (separators `", "` and `": "`, non-ASCII kept, keys in file order,
//! floats as `repr`), tokenized without special tokens, and fed token by
//! token; TBM is the time of compute-mask + check + commit for one token
//! (the final mask that must allow EOS counts as one more). A valid
//! instance must be accepted whole with EOS allowed at the end; an invalid
//! one must be rejected (a token disallowed, or EOS not allowed at the
//! end). Percentiles: sort, take index `int(n * p / 100)`.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use rein_engine::{CompiledGrammar, Compiler, Matcher, TokenId, TokenMask};
use rein_grammar::json_schema::{self, Options};
use rein_vocab::Vocabulary;
use serde_json::{json, Value};

use crate::check::KeyOrderArg;

/// Arguments of `rein mask-bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Tokenizer: a known name (llama3, qwen3, gemma3, ...) or a path to a
    /// tokenizer.json or GGUF file.
    #[arg(long, value_name = "NAME|PATH")]
    tokenizer: String,
    /// Worker threads (each schema runs on one thread; timings are
    /// cleanest with 1).
    #[arg(long, default_value_t = 1, value_name = "N")]
    threads: usize,
    /// Per-schema time limit in seconds (compilation plus all instances).
    #[arg(long = "timeout-s", default_value_t = 60, value_name = "N")]
    timeout_s: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write one JSON line per case (file, status, message) here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// After the timed run, this many seeded random walks per compiled
    /// schema, choosing among the allowed tokens (biased to finish); every
    /// finished output must be a valid instance per the `jsonschema` crate.
    #[arg(long, default_value_t = 0, value_name = "N")]
    walks: usize,
    /// The order of object members: any (the default: instances list
    /// their keys in any order, as JSON Schema allows) or declared (as in
    /// `properties`, what `rein generate` produces).
    #[arg(long = "key-order", value_enum, default_value_t = KeyOrderArg::Any)]
    key_order: KeyOrderArg,
    /// Token limit of one random walk.
    #[arg(long = "walk-tokens", default_value_t = 300, value_name = "N")]
    walk_tokens: usize,
    /// MaskBench case files, or folders of them.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// How one schema fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    Passing,
    CompileError,
    ValidationError,
    InvalidationError,
    Timeout,
    Panic,
}

impl Status {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Status::Passing => "passing",
            Status::CompileError => "compile_error",
            Status::ValidationError => "validation_error",
            Status::InvalidationError => "invalidation_error",
            Status::Timeout => "timeout",
            Status::Panic => "panic",
        }
    }
}

/// The outcome of one case.
pub(crate) struct CaseResult {
    pub(crate) file: String,
    pub(crate) status: Status,
    pub(crate) ttfm: Option<Duration>,
    /// The JSON Schema to grammar part of TTFM.
    pub(crate) schema_time: Option<Duration>,
    pub(crate) tbm: Vec<Duration>,
    pub(crate) message: String,
    pub(crate) walks: WalkStats,
    /// Heap bytes of the compiled grammar, and of its lexer cache after
    /// the instances ([`CompiledGrammar::cache_memory`]).
    pub(crate) memory: Option<(usize, usize)>,
}

/// Outcomes of the random walks of one schema (or all).
#[derive(Clone, Debug, Default)]
pub(crate) struct WalkStats {
    /// Finished, valid per the jsonschema crate.
    pub(crate) valid: usize,
    /// Finished, but invalid (or not JSON): a soundness failure.
    pub(crate) invalid: usize,
    /// Hit the token limit.
    pub(crate) unfinished: usize,
    /// No token allowed although the output was incomplete: an engine
    /// soundness failure.
    pub(crate) dead_end: usize,
    /// Schemas the jsonschema crate could not compile (walks not checked).
    pub(crate) no_validator: usize,
    /// The first failures, for messages.
    pub(crate) failures: Vec<String>,
}

impl WalkStats {
    fn add(&mut self, o: &WalkStats) {
        self.valid += o.valid;
        self.invalid += o.invalid;
        self.unfinished += o.unfinished;
        self.dead_end += o.dead_end;
        self.no_validator += o.no_validator;
    }
}

/// What the walks need besides the grammar.
pub(crate) struct WalkConfig {
    pub(crate) walks: usize,
    pub(crate) max_tokens: usize,
    /// Tokens holding `"`, `}` or `]`, chosen more often as a walk grows.
    pub(crate) closers: Vec<TokenId>,
}

impl WalkConfig {
    pub(crate) fn new(vocab: &Vocabulary, walks: usize, max_tokens: usize) -> WalkConfig {
        let closers = (0..vocab.len() as u32)
            .map(TokenId)
            .filter(|&t| {
                let b = vocab.token_bytes(t);
                !b.is_empty() && b.iter().any(|c| matches!(c, b'"' | b'}' | b']'))
            })
            .collect();
        WalkConfig {
            walks,
            max_tokens,
            closers,
        }
    }
}

/// Seeded random walks under the mask, each finished output validated.
pub(crate) fn random_walks(
    g: &Arc<CompiledGrammar>,
    vocab: &Vocabulary,
    schema: &Value,
    cfg: &WalkConfig,
    seed: u64,
) -> WalkStats {
    let mut st = WalkStats::default();
    if cfg.walks == 0 {
        return st;
    }
    let validator = match jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
    {
        Ok(v) => v,
        Err(_) => {
            st.no_validator = 1;
            return st;
        }
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut mask = TokenMask::new(vocab.len());
    for w in 0..cfg.walks {
        let mut m = Matcher::new(g.clone());
        let mut out: Vec<u8> = Vec::new();
        let mut finished = false;
        for step in 0..cfg.max_tokens {
            if m.compute_mask(&mut mask).is_err() {
                break;
            }
            let progress = step as f64 / cfg.max_tokens as f64;
            let eos = vocab
                .eos_tokens()
                .iter()
                .copied()
                .find(|&e| mask.is_allowed(e));
            if eos.is_some() && rng.random_bool(0.5 + 0.5 * progress) {
                finished = true;
                break;
            }
            let Some(t) = pick_token(&mask, vocab, cfg, progress, &mut rng) else {
                if eos.is_some() {
                    finished = true;
                } else {
                    st.dead_end += 1;
                    if st.failures.len() < 3 {
                        st.failures.push(format!(
                            "walk {w}: no token allowed after {:?}",
                            clip(&String::from_utf8_lossy(&out), 300)
                        ));
                    }
                }
                break;
            };
            if m.commit(t).is_err() {
                st.dead_end += 1;
                if st.failures.len() < 3 {
                    st.failures
                        .push(format!("walk {w}: an allowed token was refused by commit"));
                }
                break;
            }
            out.extend_from_slice(vocab.token_bytes(t));
        }
        if !finished {
            st.unfinished += 1;
            continue;
        }
        let text = String::from_utf8_lossy(&out).into_owned();
        let ok = serde_json::from_str::<Value>(&text)
            .map(|v| validator.is_valid(&v))
            .unwrap_or(false);
        if ok {
            st.valid += 1;
        } else {
            st.invalid += 1;
            if st.failures.len() < 3 {
                st.failures
                    .push(format!("walk {w}: invalid output {:?}", clip(&text, 400)));
            }
        }
    }
    st
}

/// An allowed token (not EOS): uniform, or among the closers with a
/// probability that grows with the walk.
fn pick_token(
    mask: &TokenMask,
    vocab: &Vocabulary,
    cfg: &WalkConfig,
    progress: f64,
    rng: &mut StdRng,
) -> Option<TokenId> {
    let usable = |t: TokenId| mask.is_allowed(t) && !vocab.is_eos(t);
    if progress > 0.3 || rng.random_bool(0.3) {
        let closing: Vec<TokenId> = cfg.closers.iter().copied().filter(|&t| usable(t)).collect();
        if !closing.is_empty() {
            return Some(closing[rng.random_range(0..closing.len())]);
        }
    }
    // Rejection sampling is fast when much is allowed.
    for _ in 0..64 {
        let t = TokenId(rng.random_range(0..vocab.len() as u32));
        if usable(t) {
            return Some(t);
        }
    }
    let all: Vec<TokenId> = mask.iter_allowed().filter(|&t| !vocab.is_eos(t)).collect();
    if all.is_empty() {
        None
    } else {
        Some(all[rng.random_range(0..all.len())])
    }
}

/// A stable seed from a file name.
pub(crate) fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = collect_files(&args.paths)?;
    if files.is_empty() {
        anyhow::bail!("no .json files found in the given paths");
    }
    let vocab = Arc::new(
        Vocabulary::load(&args.tokenizer)
            .with_context(|| format!("loading tokenizer {:?}", args.tokenizer))?,
    );
    // Build the tokenizer now rather than inside the first timed case.
    vocab
        .encode("{}")
        .context("the tokenizer cannot encode text")?;
    let pb = progress(files.len() as u64);
    let timeout = Duration::from_secs(args.timeout_s);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.max(1))
        // Deeply nested schemas recurse deeply (in rein and in regex
        // compilation); give workers the room the main thread has and more.
        .stack_size(256 << 20)
        .build()
        .context("starting worker threads")?;
    let walk_cfg = WalkConfig::new(&vocab, args.walks, args.walk_tokens);
    let opts = Options::default().with_key_order(args.key_order.key_order());
    // Case lines are written as cases finish, so a long run that is
    // interrupted keeps what it measured.
    let out = match &args.out {
        Some(p) => Some(std::sync::Mutex::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))),
        None => None,
    };
    let results: Vec<CaseResult> = pool.install(|| {
        files
            .par_iter()
            .map(|f| {
                let r = run_case_caught(f, &vocab, &opts, timeout, &walk_cfg);
                if let Some(out) = &out {
                    if let Ok(mut w) = out.lock() {
                        let _ = writeln!(w, "{}", case_line(&r));
                        let _ = w.flush();
                    }
                }
                pb.inc(1);
                r
            })
            .collect()
    });
    pb.finish_and_clear();
    let summary = Summary::new(&results);
    let mut walks = WalkStats::default();
    for r in &results {
        walks.add(&r.walks);
    }
    if args.json {
        let mut j = summary.to_json();
        if args.walks > 0 {
            j["walks"] = json!({
                "valid": walks.valid,
                "invalid": walks.invalid,
                "unfinished": walks.unfinished,
                "dead_end": walks.dead_end,
                "schemas_without_validator": walks.no_validator,
            });
        }
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        print!("{}", summary.table());
        if args.walks > 0 {
            println!(
                "random walks: {} valid, {} invalid, {} unfinished, {} dead ends ({} schemas the jsonschema crate cannot compile)",
                walks.valid, walks.invalid, walks.unfinished, walks.dead_end, walks.no_validator
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn progress(n: u64) -> ProgressBar {
    let pb = ProgressBar::new(n);
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// `.json` files under `paths`, sorted.
pub(crate) fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            while let Some(d) = stack.pop() {
                for e in
                    std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?
                {
                    let e = e?.path();
                    if e.is_dir() {
                        stack.push(e);
                    } else if e.extension().is_some_and(|x| x == "json") {
                        out.push(e);
                    }
                }
            }
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            anyhow::bail!("{} does not exist", p.display());
        }
    }
    out.sort();
    Ok(out)
}

/// One JSON line describing a case's outcome.
fn case_line(r: &CaseResult) -> Value {
    let us = |d: &Duration| (d.as_secs_f64() * 1e7).round() / 10.0;
    let avg =
        (!r.tbm.is_empty()).then(|| us(&(r.tbm.iter().sum::<Duration>() / r.tbm.len() as u32)));
    json!({
        "file": r.file,
        "status": r.status.name(),
        "ttfm_us": r.ttfm.as_ref().map(us),
        "schema_us": r.schema_time.as_ref().map(us),
        "tokens": r.tbm.len(),
        "tbm_avg_us": avg,
        "tbm_max_us": r.tbm.iter().max().map(us),
        "message": r.message,
        "walks": {
            "valid": r.walks.valid,
            "invalid": r.walks.invalid,
            "unfinished": r.walks.unfinished,
            "dead_end": r.walks.dead_end,
            "failures": r.walks.failures,
        },
    })
}

fn run_case_caught(
    path: &Path,
    vocab: &Arc<Vocabulary>,
    opts: &Options,
    timeout: Duration,
    walks: &WalkConfig,
) -> CaseResult {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match catch_unwind(AssertUnwindSafe(|| {
        run_case(path, vocab, opts, timeout, walks)
    })) {
        Ok(Ok(mut r)) => {
            r.file = file;
            r
        }
        Ok(Err(e)) => CaseResult {
            file,
            status: Status::CompileError,
            ttfm: None,
            schema_time: None,
            tbm: Vec::new(),
            message: format!("cannot read the case: {e:#}"),
            walks: WalkStats::default(),
            memory: None,
        },
        Err(p) => CaseResult {
            file,
            status: Status::Panic,
            ttfm: None,
            schema_time: None,
            tbm: Vec::new(),
            message: panic_message(&p),
            walks: WalkStats::default(),
            memory: None,
        },
    }
}

pub(crate) fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".into()
    }
}

/// Compiles a schema for the vocabulary: the compiled grammar (or the
/// error), the total time and the time of the JSON Schema front-end.
pub(crate) fn compile_schema(
    schema: &Value,
    vocab: &Arc<Vocabulary>,
    opts: &Options,
) -> (Result<Arc<CompiledGrammar>, String>, Duration, Duration) {
    let t = Instant::now();
    let g = json_schema::compile(schema, opts).map_err(|e| e.to_string());
    let front = t.elapsed();
    let r = g
        .and_then(|g| {
            Compiler::new(vocab)
                .grammar(&g)
                .map_err(|e| format!("engine: {e}"))
        })
        .map(Arc::new);
    (r, t.elapsed(), front)
}

/// The result of feeding one text.
pub(crate) struct Fed {
    pub(crate) accepted: bool,
    /// Why it was rejected.
    pub(crate) reason: String,
}

/// Feeds `text` token by token: mask, check, commit; then the final mask
/// must allow EOS. Pushes one duration per mask to `times`. Stops early
/// (rejected) past `deadline`, reporting `timed_out`.
pub(crate) fn feed(
    g: &Arc<CompiledGrammar>,
    vocab: &Vocabulary,
    text: &str,
    times: &mut Vec<Duration>,
    deadline: Instant,
    timed_out: &mut bool,
) -> Fed {
    let tokens = match vocab.encode(text) {
        Ok(t) => t,
        Err(e) => {
            return Fed {
                accepted: false,
                reason: format!("tokenizing: {e}"),
            }
        }
    };
    let mut m = Matcher::new(g.clone());
    let mut mask = TokenMask::new(vocab.len());
    let mut offset = 0usize;
    for (i, &t) in tokens.iter().enumerate() {
        let start = Instant::now();
        if let Err(e) = m.compute_mask(&mut mask) {
            times.push(start.elapsed());
            return Fed {
                accepted: false,
                reason: format!("mask error at token #{i}: {e}"),
            };
        }
        let allowed = mask.is_allowed(t);
        let committed = allowed && m.commit(t).is_ok();
        times.push(start.elapsed());
        if !committed {
            let piece = String::from_utf8_lossy(vocab.token_bytes(t)).into_owned();
            let (a, b) = context(text, offset);
            return Fed {
                accepted: false,
                reason: format!(
                    "token #{i} {piece:?} at byte {offset} {}: {a:?} <-- here --> {b:?}",
                    if allowed {
                        "allowed by the mask but refused by commit"
                    } else {
                        "not allowed"
                    }
                ),
            };
        }
        offset += vocab.token_bytes(t).len();
        if Instant::now() > deadline {
            *timed_out = true;
            return Fed {
                accepted: false,
                reason: "timeout".into(),
            };
        }
    }
    let start = Instant::now();
    let mask_ok = m.compute_mask(&mut mask).is_ok();
    let eos = mask_ok && vocab.eos_tokens().iter().any(|&e| mask.is_allowed(e));
    times.push(start.elapsed());
    if !eos {
        let (a, _) = context(text, text.len());
        return Fed {
            accepted: false,
            reason: format!("EOS not allowed at the end: ...{a:?}"),
        };
    }
    Fed {
        accepted: true,
        reason: String::new(),
    }
}

fn context(text: &str, at: usize) -> (String, String) {
    let mut a = at.saturating_sub(60).min(text.len());
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let mut b = (at + 30).min(text.len());
    while !text.is_char_boundary(b) {
        b += 1;
    }
    (text[a..at].to_string(), text[at..b].to_string())
}

fn run_case(
    path: &Path,
    vocab: &Arc<Vocabulary>,
    opts: &Options,
    timeout: Duration,
    walk_cfg: &WalkConfig,
) -> anyhow::Result<CaseResult> {
    let src =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let case: Value =
        serde_json::from_str(&src).with_context(|| format!("parsing {}", path.display()))?;
    let schema = case.get("schema").context("no \"schema\" in the case")?;
    let tests = case
        .get("tests")
        .and_then(Value::as_array)
        .context("no \"tests\" array in the case")?;
    let started = Instant::now();
    let deadline = started + timeout;
    let (compiled, ttfm, front) = compile_schema(schema, vocab, opts);
    let g = match compiled {
        Ok(g) => g,
        Err(e) => {
            return Ok(CaseResult {
                file: String::new(),
                status: if ttfm > timeout {
                    Status::Timeout
                } else {
                    Status::CompileError
                },
                ttfm: None,
                schema_time: Some(front),
                tbm: Vec::new(),
                message: e,
                walks: WalkStats::default(),
                memory: None,
            })
        }
    };
    let mut tbm = Vec::new();
    let mut status = Status::Passing;
    let mut message = String::new();
    let mut timed_out = ttfm > timeout;
    for (i, t) in tests.iter().enumerate() {
        if timed_out {
            break;
        }
        let valid = t.get("valid").and_then(Value::as_bool).unwrap_or(false);
        let data = t.get("data").unwrap_or(&Value::Null);
        let text = python_dumps(data, ", ", ": ");
        let fed = feed(&g, vocab, &text, &mut tbm, deadline, &mut timed_out);
        if timed_out {
            break;
        }
        let bad = match (valid, fed.accepted) {
            (true, false) => Some(Status::ValidationError),
            (false, true) => Some(Status::InvalidationError),
            _ => None,
        };
        if let Some(b) = bad {
            if b > status {
                status = b;
                message = if valid {
                    format!("valid instance #{i} rejected: {}", fed.reason)
                } else {
                    format!("invalid instance #{i} accepted: {}", clip(&text, 300))
                };
            }
        }
    }
    if timed_out {
        status = Status::Timeout;
        message = format!("over {} s", timeout.as_secs());
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let memory = Some((g.stats().memory_bytes, g.cache_memory()));
    let walks = random_walks(&g, vocab, schema, walk_cfg, seed_of(&name));
    Ok(CaseResult {
        file: String::new(),
        status,
        ttfm: Some(ttfm),
        schema_time: Some(front),
        tbm,
        message,
        walks,
        memory,
    })
}

pub(crate) fn clip(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// JSON text as Python's `json.dumps(v, ensure_ascii=False,
/// separators=(item_sep, key_sep))` writes it: keys in order, floats as
/// `repr`, integers as written.
pub(crate) fn python_dumps(v: &Value, item_sep: &str, key_sep: &str) -> String {
    let mut out = String::new();
    dump(v, item_sep, key_sep, &mut out);
    out
}

fn dump(v: &Value, item_sep: &str, key_sep: &str, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                out.push_str(&python_float(n.as_f64().unwrap_or(f64::NAN)));
            } else {
                out.push_str(&n.to_string());
            }
        }
        Value::String(s) => dump_str(s, out),
        Value::Array(xs) => {
            out.push('[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                dump(x, item_sep, key_sep, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                dump_str(k, out);
                out.push_str(key_sep);
                dump(x, item_sep, key_sep, out);
            }
            out.push('}');
        }
    }
}

fn dump_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest round-trip digits, fixed notation
/// for `1e-4 <= |x| < 1e16` (always with a fraction), else scientific with
/// a signed two-digit exponent.
pub(crate) fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let sci = format!("{x:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    }
}

/// Totals and percentiles.
struct Summary {
    tbm: Vec<Duration>,
    ttfm: Vec<Duration>,
    /// Sorted heap bytes of the compiled grammars, and of their lexer
    /// caches after the instances.
    grammar_bytes: Vec<usize>,
    cache_bytes: Vec<usize>,
    schemas: usize,
    counts: [usize; 6],
}

const STATUSES: [Status; 6] = [
    Status::Passing,
    Status::CompileError,
    Status::Timeout,
    Status::ValidationError,
    Status::InvalidationError,
    Status::Panic,
];

impl Summary {
    fn new(results: &[CaseResult]) -> Summary {
        let mut tbm: Vec<Duration> = results.iter().flat_map(|r| r.tbm.iter().copied()).collect();
        let mut ttfm: Vec<Duration> = results.iter().filter_map(|r| r.ttfm).collect();
        tbm.sort();
        ttfm.sort();
        let (mut grammar_bytes, mut cache_bytes): (Vec<usize>, Vec<usize>) =
            results.iter().filter_map(|r| r.memory).unzip();
        grammar_bytes.sort_unstable();
        cache_bytes.sort_unstable();
        let mut counts = [0; 6];
        for r in results {
            if let Some(i) = STATUSES.iter().position(|s| *s == r.status) {
                counts[i] += 1;
            }
        }
        Summary {
            tbm,
            ttfm,
            grammar_bytes,
            cache_bytes,
            schemas: results.len(),
            counts,
        }
    }

    fn count(&self, s: Status) -> usize {
        STATUSES
            .iter()
            .position(|x| *x == s)
            .map_or(0, |i| self.counts[i])
    }

    fn to_json(&self) -> Value {
        json!({
            "tbm_us": stats_json(&self.tbm),
            "ttfm_us": stats_json(&self.ttfm),
            "grammar_bytes": bytes_json(&self.grammar_bytes),
            "cache_bytes": bytes_json(&self.cache_bytes),
            "tokens": self.tbm.len(),
            "schemas": self.schemas,
            "passing": self.count(Status::Passing),
            "compile_error": self.count(Status::CompileError),
            "timeout": self.count(Status::Timeout),
            "validation_error": self.count(Status::ValidationError),
            "invalidation_error": self.count(Status::InvalidationError),
            "panic": self.count(Status::Panic),
        })
    }

    fn table(&self) -> String {
        let mut rows: Vec<(String, String)> = Vec::new();
        for (name, xs) in [("TBM", &self.tbm), ("TTFM", &self.ttfm)] {
            rows.push((format!("{name} avg"), fmt_us(avg(xs))));
            for (label, p) in PERCENTILES {
                rows.push((format!("{name} {label}"), fmt_us(percentile(xs, p))));
            }
        }
        for (name, xs) in [
            ("grammar memory", &self.grammar_bytes),
            ("lexer cache memory", &self.cache_bytes),
        ] {
            for (label, p) in [("p50", 50.0), ("p99", 99.0), ("max", 100.0)] {
                rows.push((format!("{name} {label}"), fmt_kib(at_percentile(xs, p))));
            }
        }
        rows.push(("tokens".into(), self.tbm.len().to_string()));
        rows.push(("schemas".into(), self.schemas.to_string()));
        for s in STATUSES {
            rows.push((s.name().replace('_', " "), self.count(s).to_string()));
        }
        let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let v = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
        let mut out = String::new();
        out.push_str(&format!("| {:w$} | {:>v$} |\n", "", "value"));
        out.push_str(&format!("|{}|{}:|\n", "-".repeat(w + 2), "-".repeat(v + 1)));
        for (a, b) in rows {
            out.push_str(&format!("| {a:w$} | {b:>v$} |\n"));
        }
        out
    }
}

const PERCENTILES: [(&str, f64); 8] = [
    ("p25", 25.0),
    ("p50", 50.0),
    ("p75", 75.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
    ("p100", 100.0),
];

fn fmt_kib(x: Option<usize>) -> String {
    x.map_or_else(|| "-".into(), |b| format!("{:.0} KiB", b as f64 / 1024.0))
}

fn bytes_json(xs: &[usize]) -> Value {
    json!({
        "p50": at_percentile(xs, 50.0),
        "p99": at_percentile(xs, 99.0),
        "max": at_percentile(xs, 100.0),
    })
}

fn avg(xs: &[Duration]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    Some(xs.iter().map(|d| d.as_secs_f64()).sum::<f64>() / xs.len() as f64 * 1e6)
}

/// Sorted `xs` at index `int(n * p / 100)` (clamped), in µs.
fn percentile(xs: &[Duration], p: f64) -> Option<f64> {
    at_percentile(xs, p).map(|d| d.as_secs_f64() * 1e6)
}

/// Sorted `xs` at index `int(n * p / 100)` (clamped).
fn at_percentile<T: Copy>(xs: &[T], p: f64) -> Option<T> {
    let i = ((xs.len() as f64 * p / 100.0) as usize).min(xs.len().checked_sub(1)?);
    xs.get(i).copied()
}

fn fmt_us(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(x) if x >= 100.0 => format!("{x:.0} µs"),
        Some(x) => format!("{x:.1} µs"),
    }
}

fn stats_json(xs: &[Duration]) -> Value {
    let r = |x: Option<f64>| x.map(|v| (v * 100.0).round() / 100.0);
    json!({
        "avg": r(avg(xs)),
        "p25": r(percentile(xs, 25.0)),
        "p50": r(percentile(xs, 50.0)),
        "p75": r(percentile(xs, 75.0)),
        "p90": r(percentile(xs, 90.0)),
        "p95": r(percentile(xs, 95.0)),
        "p99": r(percentile(xs, 99.0)),
        "p99_9": r(percentile(xs, 99.9)),
        "max": r(percentile(xs, 100.0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_repr() {
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(0.1), "0.1");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(1.5e-5), "1.5e-05");
        assert_eq!(python_float(0.0001), "0.0001");
        assert_eq!(python_float(123456.789), "123456.789");
        assert_eq!(python_float(-2.5e100), "-2.5e+100");
        assert_eq!(python_float(1e15), "1000000000000000.0");
    }

    #[test]
    fn python_dumps_matches_json_dumps() {
        let v: Value =
            serde_json::from_str(r#"{"b": [1, 2.0, "é\n\u0001"], "a": {"x": null, "y": true}}"#)
                .unwrap();
        assert_eq!(
            python_dumps(&v, ", ", ": "),
            r#"{"b": [1, 2.0, "é\n\u0001"], "a": {"x": null, "y": true}}"#
        );
        assert_eq!(
            python_dumps(&v, ",", ":"),
            r#"{"b":[1,2.0,"é\n\u0001"],"a":{"x":null,"y":true}}"#
        );
    }

    #[test]
    fn percentile_index() {
        let xs: Vec<Duration> = (0..10).map(Duration::from_micros).collect();
        assert_eq!(percentile(&xs, 50.0), Some(5.0));
        assert_eq!(percentile(&xs, 100.0), Some(9.0));
        assert_eq!(percentile(&xs, 25.0), Some(2.0));
    }
}
