//! Running programs on a model: stages, token healing, captures.
//!
//! A program runs as one constrained generation per *stage*. Usually the
//! whole program is one stage: its leading text becomes prompt tokens, and
//! the rest (holes and the text between them) one grammar with a capture
//! per hole, whose fixed text the generator fast-forwards. A new stage
//! starts only where the template reuses an earlier capture (`{{name}}`
//! after the hole `name`), since that text is unknown until the capture
//! is generated: the capture's text and the text after it up to the next
//! hole become prompt tokens of the next stage.
//!
//! **Token healing** (on by default): where given text (the prompt, a
//! stage's leading text) meets a generated hole, the last token of the
//! given text is taken back and the grammar starts with its bytes instead,
//! so the model may pick the token it would naturally use across the
//! boundary (after `https:` the token `://` rather than `//`). Inside a
//! stage the generator already holds back the last token of forced text
//! before a hole, to the same effect. With healing off, every hole starts a
//! stage of its own (the hole and the text after it), and all given text is
//! tokenized on its own, as a program run piece by piece would.

use std::sync::Arc;

use rein_candle::{Finish, GenerateConfig, Generator, Prompt};
use rein_vocab::TokenId;
use serde_json::Value;

use crate::captures::Captures;
use crate::error::ProgramError;
use crate::program::{stage_grammar, Item, Program, Vars};

/// Options of [`Program::run`]: a by-value builder.
///
/// ```
/// use rein_program::RunConfig;
/// let c = RunConfig::new().healing(false);
/// assert!(!c.is_healing());
/// ```
#[derive(Clone, Debug)]
pub struct RunConfig {
    generate: GenerateConfig,
    healing: bool,
    prompt: Option<Prompt>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            generate: GenerateConfig::new().max_tokens(1024),
            healing: true,
            prompt: None,
        }
    }
}

impl RunConfig {
    /// Token healing on, no prompt before the program, greedy decoding of
    /// at most 1024 tokens in all.
    pub fn new() -> RunConfig {
        RunConfig::default()
    }

    /// Sampling options; `max_tokens` bounds the tokens of the whole run.
    pub fn generate(mut self, g: GenerateConfig) -> RunConfig {
        self.generate = g;
        self
    }

    /// Token healing at given-text/hole boundaries (default on).
    pub fn healing(mut self, on: bool) -> RunConfig {
        self.healing = on;
        self
    }

    /// A prompt before the program (e.g. a chat turn); the program's output
    /// follows it.
    pub fn prompt(mut self, p: Prompt) -> RunConfig {
        self.prompt = Some(p);
        self
    }

    /// Whether token healing is on.
    pub fn is_healing(&self) -> bool {
        self.healing
    }
}

/// The result of [`Program::run`].
#[derive(Clone, Debug)]
pub struct Output {
    /// The program's text: fixed text verbatim, holes filled in (the prompt
    /// is not included).
    pub text: String,
    /// Captured values by hole name.
    pub captures: Captures,
    /// Where each capture is in `text`: (hole name, byte range).
    pub spans: Vec<(String, std::ops::Range<usize>)>,
    /// All token ids the model saw, prompt included; their bytes spell
    /// the prompt's text (`prompt_bytes` long) and then `text`.
    pub tokens: Vec<u32>,
    /// Length of the prompt's text at the start of `tokens`' bytes.
    pub prompt_bytes: usize,
    /// Tokens chosen by sampling.
    pub sampled: usize,
    /// Tokens the grammar forced.
    pub forced: usize,
    /// Given tokens taken back by token healing.
    pub healed: usize,
    /// Constrained generations run.
    pub stages: usize,
    /// How the last generation ended.
    pub finish: Option<Finish>,
}

impl Program {
    /// Runs the program on `generator` with variables `vars`.
    ///
    /// # Errors
    /// Unknown variables, compile errors, generation errors, and
    /// [`ProgramError::Truncated`] when the token budget runs out first.
    pub fn run(
        &self,
        generator: &mut Generator,
        vars: &Vars,
        config: &RunConfig,
    ) -> Result<Output, ProgramError> {
        let items = self.items(vars)?;
        let vocab = generator.vocab().clone();
        let mut ctx: Vec<u32> = match &config.prompt {
            Some(p) => generator.encode_prompt(p)?,
            None => generator.model().bos_token().into_iter().collect(),
        };
        let prompt_ids: Vec<TokenId> = ctx.iter().map(|&t| TokenId(t)).collect();
        let prompt_bytes = vocab.decode_bytes(&prompt_ids).len();
        let budget = config.generate.get_max_tokens();
        let mut out = Output {
            text: String::new(),
            captures: Captures::default(),
            spans: Vec::new(),
            tokens: Vec::new(),
            prompt_bytes,
            sampled: 0,
            forced: 0,
            healed: 0,
            stages: 0,
            finish: None,
        };
        let mut used = 0usize;
        let mut k = 0;
        while k < items.len() {
            // Given text up to the next hole becomes prompt tokens.
            let mut lead = String::new();
            while let Some(item) = items.get(k) {
                match item {
                    Item::Text(t) => lead.push_str(t),
                    Item::CaptureRef(n) => lead.push_str(&capture_text(&out.captures, n)),
                    Item::Hole(_) => break,
                }
                k += 1;
            }
            if !lead.is_empty() {
                ctx.extend(
                    vocab
                        .encode(&lead)
                        .map_err(rein_candle::GenerateError::from)?
                        .iter()
                        .map(|t| t.0),
                );
                out.text.push_str(&lead);
            }
            if k == items.len() {
                break;
            }
            // The stage's body: up to the next capture reuse (healing), or
            // one hole and the text after it (no healing).
            let start = k;
            if config.healing {
                while k < items.len() && !matches!(items[k], Item::CaptureRef(_)) {
                    k += 1;
                }
            } else {
                k += 1;
                if matches!(items.get(k), Some(Item::Text(_))) {
                    k += 1;
                }
            }
            let body = &items[start..k];
            let mut prefix = String::new();
            if config.healing && ctx.len() > 1 {
                if let Some(&last) = ctx.last() {
                    let t = TokenId(last);
                    let bytes = vocab.token_bytes(t);
                    if !vocab.is_special(t) && !bytes.is_empty() {
                        if let Ok(s) = std::str::from_utf8(bytes) {
                            prefix = s.to_string();
                            ctx.pop();
                            out.healed += 1;
                        }
                    }
                }
            }
            let g = stage_grammar(&prefix, body)?;
            let compiled = Arc::new(generator.compiler().grammar(&g)?);
            let room = budget.saturating_sub(used);
            let gen_config = config.generate.clone().max_tokens(room);
            let res = generator.generate_from_tokens(&ctx, Some(&compiled), &gen_config, |_| {})?;
            out.stages += 1;
            out.sampled += res.sampled;
            out.forced += res.forced;
            out.finish = Some(res.finish);
            used += res.tokens.len();
            let ids: Vec<TokenId> = res.tokens.iter().map(|&t| TokenId(t)).collect();
            let bytes = vocab.decode_bytes(&ids);
            if res.finish == Finish::Length {
                out.text.push_str(&String::from_utf8_lossy(&bytes));
                return Err(ProgramError::Truncated {
                    tokens: used,
                    text: out.text,
                });
            }
            let caps = compiled.captures(&bytes)?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            for c in caps {
                let Some(hole) = body.iter().find_map(|i| match i {
                    Item::Hole(h) if h.name == c.name => Some(*h),
                    _ => None,
                }) else {
                    continue;
                };
                // Captures follow the healed prefix (which may be prompt
                // text, before the output).
                let shift = |x: usize| (x + out.text.len()).saturating_sub(prefix.len());
                out.spans
                    .push((c.name.clone(), shift(c.range.start)..shift(c.range.end)));
                let piece = &text[c.range];
                let v = if hole.is_json() {
                    serde_json::from_str(piece)?
                } else {
                    Value::String(piece.to_string())
                };
                out.captures.insert(c.name, v);
            }
            // The healed prefix was given text, already in the output.
            out.text.push_str(text.get(prefix.len()..).unwrap_or(""));
            ctx.extend_from_slice(&res.tokens);
        }
        out.tokens = ctx;
        Ok(out)
    }
}

fn capture_text(c: &Captures, name: &str) -> String {
    match c.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}
