//! `rein check`: compile a constraint, print a summary or the located
//! error, and optionally feed a file through the matcher.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use rein_engine::{CompiledGrammar, Compiler, Matcher};
use rein_grammar::json_schema::{self, KeyOrder, Options, Whitespace};
use rein_vocab::Vocabulary;

/// Arguments of `rein check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A regex (Rust syntax) the whole output must match.
    #[arg(
        long,
        conflicts_with_all = ["grammar", "json_schema"],
        required_unless_present_any = ["grammar", "json_schema"]
    )]
    regex: Option<String>,
    /// A GBNF grammar file (llama.cpp syntax).
    #[arg(long, value_name = "FILE", conflicts_with = "json_schema")]
    grammar: Option<PathBuf>,
    /// A JSON Schema file: the output must be a valid instance's JSON text.
    #[arg(long = "json-schema", value_name = "FILE")]
    json_schema: Option<PathBuf>,
    /// With --json-schema: a missing additionalProperties means false.
    #[arg(long, requires = "json_schema")]
    strict: bool,
    /// With --json-schema: where whitespace may appear.
    #[arg(long, value_enum, default_value_t = WhitespaceArg::Flexible)]
    whitespace: WhitespaceArg,
    /// With --json-schema: the order of object members (declared: as in
    /// `properties`; any: every order).
    #[arg(long = "key-order", value_enum, default_value_t = KeyOrderArg::Declared)]
    key_order: KeyOrderArg,
    /// With --whitespace pretty: spaces per nesting level.
    #[arg(long, default_value_t = 2, value_name = "N")]
    indent: u32,
    /// With --json-schema: compile a oneOf whose branches may overlap as
    /// anyOf instead of failing (accepts values matching several branches).
    #[arg(long = "oneof-as-anyof", requires = "json_schema")]
    oneof_as_anyof: bool,
    /// Tokenizer: a known name (llama3, qwen3, gemma3, smollm2) or a path
    /// to a tokenizer.json or GGUF file.
    #[arg(long, default_value = "llama3", value_name = "NAME|PATH")]
    tokenizer: String,
    /// Check this file's text: exit 0 if accepted as a complete output, 1
    /// if rejected.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
}

/// `--whitespace` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum WhitespaceArg {
    /// Any JSON whitespace where JSON allows it.
    Flexible,
    /// No whitespace.
    Compact,
    /// Indented like `json.dumps(indent=N)`.
    Pretty,
}

/// `--key-order` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyOrderArg {
    /// Declared properties in the order of `properties`.
    Declared,
    /// Members in any order.
    Any,
}

impl KeyOrderArg {
    pub(crate) fn key_order(self) -> KeyOrder {
        match self {
            KeyOrderArg::Declared => KeyOrder::Declared,
            KeyOrderArg::Any => KeyOrder::Any,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let vocab = Arc::new(
        Vocabulary::load(&args.tokenizer)
            .with_context(|| format!("loading tokenizer {:?}", args.tokenizer))?,
    );
    let compiler = Compiler::new(&vocab);
    let (what, compiled) = if let Some(re) = &args.regex {
        ("regex".to_string(), compiler.regex(re))
    } else if let Some(path) = &args.grammar {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let compiled = rein_grammar::text_from_bytes(&bytes).and_then(|src| compiler.gbnf(src));
        (path.display().to_string(), compiled)
    } else if let Some(path) = &args.json_schema {
        let src =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let schema: serde_json::Value = match serde_json::from_str(&src) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: {}: not JSON: {e}", path.display());
                return Ok(ExitCode::from(2));
            }
        };
        let whitespace = match args.whitespace {
            WhitespaceArg::Flexible => Whitespace::Flexible,
            WhitespaceArg::Compact => Whitespace::Compact,
            WhitespaceArg::Pretty => Whitespace::Pretty {
                indent: args.indent,
            },
        };
        let opts = Options::default()
            .with_whitespace(whitespace)
            .with_strict(args.strict)
            .with_key_order(args.key_order.key_order())
            .with_oneof_as_anyof(args.oneof_as_anyof);
        let compiled = match json_schema::compile_with_notes(&schema, &opts) {
            Ok(c) => {
                for n in &c.notes {
                    eprintln!("note: {n}");
                }
                compiler.grammar(&c.grammar)
            }
            Err(e) => Err(e),
        };
        (path.display().to_string(), compiled)
    } else {
        anyhow::bail!("give --regex, --grammar or --json-schema");
    };
    let g = match compiled {
        Ok(g) => Arc::new(g),
        Err(e) => {
            eprintln!("error: {what}: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    print_summary(&what, &g);
    let Some(input) = &args.input else {
        return Ok(ExitCode::SUCCESS);
    };
    let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{} is not UTF-8: {e}", input.display()))?;
    check_text(&g, &vocab, &text)
}

fn print_summary(what: &str, g: &CompiledGrammar) {
    let s = g.stats();
    println!(
        "{what}: compiled in {:.2} ms: {} rules, {} productions, {} lexemes, {} NFA states, {} KiB",
        g.compile_time().as_secs_f64() * 1e3,
        s.nonterminals,
        s.productions,
        s.lexemes,
        s.nfa_states,
        s.memory_bytes.div_ceil(1024),
    );
}

/// Feeds `text`, tokenized, through a matcher.
fn check_text(
    g: &Arc<CompiledGrammar>,
    vocab: &Vocabulary,
    text: &str,
) -> anyhow::Result<ExitCode> {
    let tokens = vocab.encode(text).context("tokenizing the input")?;
    let mut m = Matcher::new(g.clone());
    let mut offset = 0usize;
    for (i, &t) in tokens.iter().enumerate() {
        let piece = vocab.token_bytes(t);
        if let Err(e) = m.commit(t) {
            // Find the first byte that does not fit, for the message.
            let mut probe = Matcher::new(g.clone());
            let at = match probe.commit_bytes(text.as_bytes()) {
                Ok(Err(at)) => at,
                _ => offset,
            };
            println!(
                "rejected at byte {at} (token #{i} {} {:?}, bytes {}..{}): {e}",
                t.0,
                String::from_utf8_lossy(piece),
                offset,
                offset + piece.len()
            );
            print_context(text, at);
            return Ok(ExitCode::from(1));
        }
        offset += piece.len();
    }
    if m.is_accepting() {
        println!("accepted: {} bytes, {} tokens", text.len(), tokens.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "rejected at byte {} (end of input): the output is incomplete",
            text.len()
        );
        Ok(ExitCode::from(1))
    }
}

fn print_context(text: &str, at: usize) {
    let at = at.min(text.len());
    let mut start = at.saturating_sub(40);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + 20).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let mut cut = at;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    println!(
        "  {:?} <-- here --> {:?}",
        &text[start..cut],
        &text[cut..end]
    );
}
