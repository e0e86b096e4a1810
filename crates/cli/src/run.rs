//! `rein run`: run a templated program with a model.
//!
//! Prints the program's completed text (fixed text and generated holes) to stdout; with
//! `--json`, one object `{"text": ..., "captures": {...}}`. Statistics go to stderr.
//! Exit codes: 0 complete, 1 the token budget ran out before the program was complete,
//! 2 bad input (a template, variable, file or model that cannot be used).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use rein_candle::{GenerateConfig, Generator, Prompt};
use rein_program::{ParseOptions, Program, ProgramError, RunConfig, Vars};

/// Arguments of `rein run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The program: a template with holes, e.g. `Name: {{gen "name" regex="[A-Z][a-z]+"}}`.
    /// Files named in holes are read relative to its directory.
    #[arg(value_name = "PROGRAM_FILE")]
    program: PathBuf,
    /// A variable for `{{NAME}}` in the template (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Model: a known name (smollm2-135m-instruct, gemma3-270m; fetched and cached on
    /// first use) or a path to a GGUF file.
    #[arg(
        long,
        default_value = "smollm2-135m-instruct",
        value_name = "NAME|PATH"
    )]
    model: String,
    /// Tokenizer: a known name or a tokenizer.json / GGUF path (default: the model's).
    #[arg(long, value_name = "NAME|PATH")]
    tokenizer: Option<String>,
    /// A user message before the program, in the model's chat template (the program's
    /// text then starts the assistant's answer).
    #[arg(long, value_name = "TEXT")]
    prompt: Option<String>,
    /// The most tokens to generate over the whole program.
    #[arg(long = "max-tokens", default_value_t = 1024, value_name = "N")]
    max_tokens: usize,
    /// Sampling temperature; 0 is greedy decoding.
    #[arg(long, default_value_t = 0.0, value_name = "T")]
    temperature: f32,
    /// Random seed for sampling.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Turn token healing off at text/hole boundaries.
    #[arg(long = "no-healing")]
    no_healing: bool,
    /// Print one JSON object {"text", "captures"} instead of the text.
    #[arg(long)]
    json: bool,
}

fn parse_vars(raw: &[String]) -> anyhow::Result<Vars> {
    let mut vars = Vars::new();
    for v in raw {
        let Some((name, value)) = v.split_once('=') else {
            bail!("--var {v:?}: expected NAME=VALUE");
        };
        if vars.insert(name.to_string(), value.to_string()).is_some() {
            bail!("--var {name} is given twice");
        }
    }
    Ok(vars)
}

/// Runs `rein run`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let src = std::fs::read_to_string(&a.program)
        .with_context(|| format!("cannot read {}", a.program.display()))?;
    let options = ParseOptions {
        base_dir: a.program.parent().map(|p| p.to_path_buf()),
    };
    let program = Program::parse_with(&src, &options)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.program.display()))?;
    let vars = parse_vars(&a.vars)?;
    // Fail on unknown variables before loading a model.
    program
        .check_vars(&vars)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.program.display()))?;
    let mut generator = Generator::load(&a.model, a.tokenizer.as_deref())
        .with_context(|| format!("cannot load model {}", a.model))?;
    let mut config = RunConfig::new().healing(!a.no_healing).generate(
        GenerateConfig::new()
            .max_tokens(a.max_tokens)
            .temperature(a.temperature)
            .seed(a.seed),
    );
    if let Some(p) = &a.prompt {
        config = config.prompt(Prompt::chat(p.clone()));
    }
    let out = match program.run(&mut generator, &vars, &config) {
        Ok(out) => out,
        Err(ProgramError::Truncated { tokens, text }) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"text": text, "captures": {}, "finish": "length"})
                );
            } else {
                println!("{text}");
            }
            eprintln!("truncated after {tokens} tokens (raise --max-tokens)");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    if a.json {
        println!(
            "{}",
            serde_json::json!({"text": out.text, "captures": out.captures.to_json()})
        );
    } else {
        println!("{}", out.text);
    }
    eprintln!(
        "{} sampled, {} forced, {} healed, {} stage(s)",
        out.sampled, out.forced, out.healed, out.stages
    );
    Ok(ExitCode::SUCCESS)
}
