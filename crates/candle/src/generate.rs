//! The constrained sampling loop: [`Generator`].

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rein_engine::{CompiledGrammar, Compiler, MaskError, Matcher, TokenMask};
use rein_vocab::{TokenId, Vocabulary};

use crate::sampling::{self, Rng, Sampling};
use crate::stream::Utf8Stream;
use crate::{Device, LoadConfig, Model, ModelError};

/// What to generate from: a user message (wrapped in the model's chat template when it has
/// one) or raw text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    system: Option<String>,
    text: String,
    chat: bool,
    schema: Option<String>,
}

impl Prompt {
    /// A user message, wrapped in the model's chat template (if it has one).
    pub fn chat(user: impl Into<String>) -> Prompt {
        Prompt {
            system: None,
            text: user.into(),
            chat: true,
            schema: None,
        }
    }

    /// Raw text for completion, without a chat template.
    pub fn raw(text: impl Into<String>) -> Prompt {
        Prompt {
            system: None,
            text: text.into(),
            chat: false,
            schema: None,
        }
    }

    /// Adds a system message: the template's system turn, or for raw prompts (and
    /// templates without a system role) the system text and a blank line before the text.
    pub fn with_system(mut self, system: impl Into<String>) -> Prompt {
        self.system = Some(system.into());
        self
    }

    /// Shows a JSON Schema to the model: when the chat template applies, the user message
    /// ends with an instruction to answer with JSON following `schema` (JSON text). Small
    /// instruct models follow a constraint far better when they also see it. Raw prompts
    /// are left as they are.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Prompt {
        self.schema = Some(schema.into());
        self
    }

    /// Whether the chat template is applied.
    pub fn is_chat(&self) -> bool {
        self.chat
    }
}

/// Options of one generation: length limit and sampling. A by-value builder; the default is
/// greedy decoding of at most 256 tokens.
///
/// ```
/// use rein_candle::GenerateConfig;
/// let c = GenerateConfig::new().max_tokens(64).temperature(0.7).top_p(0.9).seed(1);
/// assert_eq!(c.get_max_tokens(), 64);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateConfig {
    max_tokens: usize,
    sampling: Sampling,
    seed: u64,
    overlap: MaskOverlap,
}

/// Whether the token mask is computed on a second thread while the model runs.
///
/// Handing the mask to another thread costs a thread start and, on a busy machine, a wait
/// for a free core: measured on a loaded 2-core machine with SmolLM2 and masks of ~0.9 ms,
/// overlapping made generation 8-18% slower, while a mask that costs several
/// milliseconds (large vocabularies, complex grammars) is worth hiding behind the forward
/// pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MaskOverlap {
    /// Overlap when the previous mask took at least [`MaskOverlap::AUTO_THRESHOLD`].
    #[default]
    Auto,
    /// Always compute the mask on a second thread.
    Always,
    /// Compute the mask before each forward pass (measures the mask's own cost).
    Never,
}

impl MaskOverlap {
    /// The mask time from which [`MaskOverlap::Auto`] overlaps.
    pub const AUTO_THRESHOLD: Duration = Duration::from_millis(2);
}

impl Default for GenerateConfig {
    fn default() -> GenerateConfig {
        GenerateConfig {
            max_tokens: 256,
            sampling: Sampling::default(),
            seed: 0,
            overlap: MaskOverlap::Auto,
        }
    }
}

impl GenerateConfig {
    /// Greedy, at most 256 tokens, seed 0.
    pub fn new() -> GenerateConfig {
        GenerateConfig::default()
    }

    /// The most output tokens (sampled and forced); reaching it ends the generation with
    /// [`Finish::Length`].
    pub fn max_tokens(mut self, n: usize) -> GenerateConfig {
        self.max_tokens = n;
        self
    }

    /// Sampling temperature; `0` (the default) is greedy decoding.
    pub fn temperature(mut self, t: f32) -> GenerateConfig {
        self.sampling.temperature = if t.is_finite() { t.max(0.0) } else { 0.0 };
        self
    }

    /// Sample only among the `k` most likely allowed tokens.
    pub fn top_k(mut self, k: usize) -> GenerateConfig {
        self.sampling.top_k = Some(k);
        self
    }

    /// Sample only among the most likely allowed tokens whose probabilities sum to `p`.
    pub fn top_p(mut self, p: f32) -> GenerateConfig {
        self.sampling.top_p = Some(p);
        self
    }

    /// The random seed (the same seed, prompt and model give the same output).
    pub fn seed(mut self, seed: u64) -> GenerateConfig {
        self.seed = seed;
        self
    }

    /// When to compute each token mask on a second thread while the model runs (default
    /// [`MaskOverlap::Auto`]).
    pub fn overlap_mask(mut self, overlap: MaskOverlap) -> GenerateConfig {
        self.overlap = overlap;
        self
    }

    /// The token limit.
    pub fn get_max_tokens(&self) -> usize {
        self.max_tokens
    }
}

/// Why a generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Finish {
    /// The constraint is complete and allows nothing more.
    Grammar,
    /// The model chose an end-of-sequence token where the output was complete.
    Eos,
    /// The token limit (or the model's context) was reached: the output is truncated.
    Length,
}

impl Finish {
    /// `"grammar"`, `"eos"` or `"length"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Grammar => "grammar",
            Finish::Eos => "eos",
            Finish::Length => "length",
        }
    }
}

/// The result of [`Generator::generate`].
#[derive(Clone, Debug)]
pub struct Generation {
    /// The output text (invalid UTF-8, which a constraint cannot produce, would show as
    /// U+FFFD).
    pub text: String,
    /// The output token ids, in order (sampled and forced; no end-of-sequence token).
    pub tokens: Vec<u32>,
    /// Tokens chosen by sampling, including a final end-of-sequence token.
    pub sampled: usize,
    /// Tokens the constraint forced, fed to the model without sampling.
    pub forced: usize,
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Why the generation ended.
    pub finish: Finish,
    /// Time spent on the constraint: token masks, forced tokens and commits. Masks computed
    /// on a second thread ([`MaskOverlap`]) count too, though they ran while the model ran.
    pub mask_time: Duration,
    /// Time spent in the model, prompt included.
    pub model_time: Duration,
    /// Of `model_time`, the time of the prompt (prefill).
    pub prompt_time: Duration,
    /// Wall time of the whole call.
    pub total_time: Duration,
}

/// An error of the sampling loop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// Loading or running the model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Loading the vocabulary or encoding the prompt failed.
    #[error(transparent)]
    Vocab(#[from] rein_vocab::VocabError),
    /// A model or tokenizer name could not be resolved to a file.
    #[error(transparent)]
    Asset(#[from] rein_assets::AssetError),
    /// The matcher failed (a mask over its work budget, an internal limit).
    #[error("constraint: {0}")]
    Mask(#[from] MaskError),
    /// The compiled constraint was built for a vocabulary of another size.
    #[error(
        "the constraint was compiled for a vocabulary of {constraint} tokens, the model has {model} (compile it with Generator::compiler)"
    )]
    VocabularyMismatch {
        /// Tokens of the constraint's vocabulary.
        constraint: usize,
        /// Tokens of the generator's vocabulary (the model's logits).
        model: usize,
    },
    /// The constraint allows no token and is not complete (a grammar that cannot be
    /// finished from here).
    #[error("the constraint allows no token after {bytes} bytes of output and is not complete: {text:?}")]
    DeadEnd {
        /// Bytes of output so far.
        bytes: usize,
        /// The output so far.
        text: String,
    },
    /// The prompt encodes to no tokens and the model has no BOS token to start from.
    #[error("the prompt is empty and the model has no BOS token to start from")]
    EmptyPrompt,
}

/// A model with its vocabulary, running the constrained sampling loop.
///
/// Per step: feed the pending tokens to the model (the last sampled token plus any tokens
/// the constraint forces, in one forward pass) while a second thread computes the next
/// token mask; compute the logits of the allowed tokens only when the mask is sparse
/// (otherwise all logits, masked to `-inf`); sample; commit to the matcher.
///
/// ```
/// use std::sync::Arc;
/// use rein_candle::{GenerateConfig, Generator, Model, Prompt};
/// use rein_vocab::{TokenId, Vocabulary};
///
/// // A tiny random-weight model over a tiny vocabulary (no download).
/// let mut tokens: Vec<Vec<u8>> = (b'a'..=b'z').map(|b| vec![b]).collect();
/// tokens.push(Vec::new()); // id 26: end of sequence
/// let vocab = Vocabulary::from_token_bytes(tokens, vec![TokenId(26)]);
/// let mut g = Generator::new(Model::tiny_random(27, 1), vocab)?;
/// let constraint = Arc::new(g.compiler().regex("[a-c]{3}x")?);
/// let out = g.generate(&Prompt::raw("abc"), Some(&constraint), &GenerateConfig::new())?;
/// assert_eq!(out.text.len(), 4);
/// assert!(out.text.ends_with('x'));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Generator {
    model: Model,
    vocab: Arc<Vocabulary>,
    /// Tokens that end generation, sorted.
    stop: Vec<u32>,
}

/// Tokenizers to use with models known by name whose GGUF vocabulary cannot encode text
/// (SentencePiece GGUFs carry no tokenizer that this workspace can run).
const DEFAULT_TOKENIZERS: &[(&str, &str)] = &[("gemma3-270m", "gemma3")];

impl Generator {
    /// A generator for `model` with `vocab` (the model's tokenizer). The vocabulary is
    /// widened or cut to the model's number of logits
    /// ([`Vocabulary::with_mask_width`]).
    ///
    /// # Errors
    /// None yet; fallible for future checks.
    pub fn new(model: Model, vocab: Vocabulary) -> Result<Generator, GenerateError> {
        let vocab = Arc::new(vocab.with_mask_width(model.vocab_size()));
        let mut stop: Vec<u32> = vocab.eos_tokens().iter().map(|t| t.0).collect();
        // The model's own end-of-turn ids count when the vocabulary has them as specials
        // (they produce no text either way).
        for &t in model.eos_tokens() {
            if vocab.is_special(TokenId(t)) && !stop.contains(&t) {
                stop.push(t);
            }
        }
        stop.sort_unstable();
        Ok(Generator { model, vocab, stop })
    }

    /// Loads a model by name (see `rein-assets`, fetched and cached on first use) or GGUF
    /// path, with the vocabulary of `tokenizer` (a name or `tokenizer.json` path) or, by
    /// default, the model's known tokenizer or the GGUF file's own vocabulary.
    ///
    /// # Errors
    /// Unknown names, unreadable files, invalid models or vocabularies.
    pub fn load(model: &str, tokenizer: Option<&str>) -> Result<Generator, GenerateError> {
        let path = rein_assets::resolve_model(model)?;
        let m = Model::load_gguf_with(&path, &Device::Cpu, LoadConfig::new())?;
        let tokenizer = tokenizer.or_else(|| {
            DEFAULT_TOKENIZERS
                .iter()
                .find(|(name, _)| *name == model)
                .map(|(_, t)| *t)
        });
        let vocab = match tokenizer {
            Some(t) => Vocabulary::load(t)?,
            None => Vocabulary::from_gguf_file(&path)?,
        };
        Generator::new(m, vocab)
    }

    /// Loads a model from a GGUF path with its own vocabulary.
    ///
    /// # Errors
    /// As [`Generator::load`].
    pub fn load_gguf(path: &Path) -> Result<Generator, GenerateError> {
        let m = Model::load_gguf_with(path, &Device::Cpu, LoadConfig::new())?;
        let vocab = Vocabulary::from_gguf_file(path)?;
        Generator::new(m, vocab)
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model, to run it directly (the next generation clears its KV cache).
    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    /// The vocabulary (its length is the model's number of logits).
    pub fn vocab(&self) -> &Arc<Vocabulary> {
        &self.vocab
    }

    /// Tokens that end generation: the vocabulary's EOS set and the model's end-of-turn
    /// tokens.
    pub fn stop_tokens(&self) -> &[u32] {
        &self.stop
    }

    /// Whether prompts are encoded by the real tokenizer. Without one (a SentencePiece
    /// GGUF and no `tokenizer.json`) text is encoded by greedy longest match, which models
    /// understand less well.
    pub fn has_tokenizer(&self) -> bool {
        self.vocab.tokenizer().is_some()
    }

    /// A compiler for constraints over this generator's vocabulary.
    pub fn compiler(&self) -> Compiler {
        Compiler::new(&self.vocab)
    }

    /// The prompt's text after the chat template (if applied), without BOS.
    pub fn prompt_text(&self, prompt: &Prompt) -> String {
        let template = self.model.chat_template().filter(|_| prompt.chat);
        match (template, &prompt.system) {
            (Some(t), system) => {
                let user = match &prompt.schema {
                    Some(schema) => format!(
                        "{}\n\nAnswer with a JSON value that follows this JSON Schema:\n{schema}",
                        prompt.text
                    ),
                    None => prompt.text.clone(),
                };
                t.render(system.as_deref(), &user)
            }
            (None, Some(system)) => format!("{system}\n\n{}", prompt.text),
            (None, None) => prompt.text.clone(),
        }
    }

    /// The prompt's token ids: BOS (if the model wants one), then the text after the chat
    /// template. The template's turn markers become their special tokens even when the
    /// vocabulary has no tokenizer.
    ///
    /// # Errors
    /// [`GenerateError::Vocab`] if the text cannot be encoded.
    pub fn encode_prompt(&self, prompt: &Prompt) -> Result<Vec<u32>, GenerateError> {
        let text = self.prompt_text(prompt);
        let mut ids: Vec<u32> = self.model.bos_token().into_iter().collect();
        let markers: Vec<(&str, TokenId)> = self
            .model
            .chat_template()
            .filter(|_| prompt.chat)
            .map(|t| [t.start_of_turn(), t.end_of_turn()])
            .into_iter()
            .flatten()
            .filter_map(|s| self.vocab.token_by_text(s).map(|id| (s, id)))
            .collect();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let next = markers
                .iter()
                .filter_map(|&(s, id)| rest.find(s).map(|at| (at, s, id)))
                .min_by_key(|&(at, _, _)| at);
            let (plain, marker) = match next {
                Some((at, s, id)) => (&rest[..at], Some((s, id))),
                None => (rest, None),
            };
            if !plain.is_empty() {
                ids.extend(self.vocab.encode(plain)?.iter().map(|t| t.0));
            }
            match marker {
                Some((s, id)) => {
                    ids.push(id.0);
                    rest = &rest[plain.len() + s.len()..];
                }
                None => rest = "",
            }
        }
        if ids.is_empty() {
            return Err(GenerateError::EmptyPrompt);
        }
        Ok(ids)
    }

    /// Generates a completion of `prompt`, under `constraint` if given (compiled with
    /// [`Generator::compiler`]).
    ///
    /// # Errors
    /// See [`GenerateError`]; a truncated output is not an error ([`Finish::Length`]).
    pub fn generate(
        &mut self,
        prompt: &Prompt,
        constraint: Option<&Arc<CompiledGrammar>>,
        config: &GenerateConfig,
    ) -> Result<Generation, GenerateError> {
        self.generate_streaming(prompt, constraint, config, |_| {})
    }

    /// [`Generator::generate`], calling `on_text` with each new piece of output text as it
    /// is produced (never splitting a UTF-8 character).
    ///
    /// # Errors
    /// As [`Generator::generate`].
    pub fn generate_streaming(
        &mut self,
        prompt: &Prompt,
        constraint: Option<&Arc<CompiledGrammar>>,
        config: &GenerateConfig,
        on_text: impl FnMut(&str),
    ) -> Result<Generation, GenerateError> {
        let ids = self.encode_prompt(prompt)?;
        self.generate_from_tokens(&ids, constraint, config, on_text)
    }

    /// The sampling loop from already encoded prompt tokens.
    ///
    /// # Errors
    /// As [`Generator::generate`].
    pub fn generate_from_tokens(
        &mut self,
        prompt: &[u32],
        constraint: Option<&Arc<CompiledGrammar>>,
        config: &GenerateConfig,
        mut on_text: impl FnMut(&str),
    ) -> Result<Generation, GenerateError> {
        let start = Instant::now();
        if prompt.is_empty() {
            return Err(GenerateError::EmptyPrompt);
        }
        if let Some(c) = constraint {
            if c.vocab().len() != self.vocab.len() {
                return Err(GenerateError::VocabularyMismatch {
                    constraint: c.vocab().len(),
                    model: self.vocab.len(),
                });
            }
        }
        let mut st = Loop {
            matcher: constraint.map(|c| Matcher::new(c.clone())),
            mask: TokenMask::new(self.vocab.len()),
            out: Vec::new(),
            bytes: Vec::new(),
            stream: Utf8Stream::default(),
            sampled: 0,
            forced: 0,
            mask_time: Duration::ZERO,
            model_time: Duration::ZERO,
        };
        let mut rng = Rng::new(config.seed);
        let vocab = self.vocab.clone();
        let n_logits = self.model.vocab_size();
        let context = self.model.context_length();
        let mut logits = vec![0f32; n_logits];
        let mut allowed: Vec<u32> = Vec::new();
        let mut values: Vec<f32> = Vec::new();

        self.model.clear_cache();
        let mut pending: Vec<u32> = prompt.to_vec();
        let mut pos = 0usize;
        let mut prompt_time = None;
        let mut last_mask = Duration::ZERO;
        let finish = loop {
            // Tokens the constraint forces join the pending tokens, unsampled.
            if let Some(m) = st.matcher.as_mut() {
                if m.is_finished() {
                    break Finish::Grammar;
                }
                let t = Instant::now();
                let room = config.max_tokens.saturating_sub(st.out.len());
                let forced: Vec<TokenId> = m
                    .forced_tokens()
                    .map(|mut f| {
                        f.truncate(room);
                        f
                    })
                    .unwrap_or_default();
                for &f in &forced {
                    m.commit(f)?;
                }
                st.mask_time += t.elapsed();
                for f in forced {
                    st.push(&vocab, f.0, &mut on_text);
                    st.forced += 1;
                    pending.push(f.0);
                }
                if st.matcher.as_ref().is_some_and(Matcher::is_finished) {
                    break Finish::Grammar;
                }
            }
            if st.out.len() >= config.max_tokens || pos + pending.len() > context {
                break Finish::Length;
            }

            // The model's forward pass over the pending tokens, and the next mask.
            let (hidden, mask_result) = {
                let model = &mut self.model;
                let feed = &pending;
                let Loop { matcher, mask, .. } = &mut st;
                let run_mask = |matcher: &mut Option<Matcher>, mask: &mut TokenMask| {
                    matcher.as_mut().map(|m| {
                        let t = Instant::now();
                        let r = m.compute_mask(mask);
                        (r, t.elapsed())
                    })
                };
                let overlap = matcher.is_some()
                    && match config.overlap {
                        MaskOverlap::Always => true,
                        MaskOverlap::Never => false,
                        MaskOverlap::Auto => last_mask >= MaskOverlap::AUTO_THRESHOLD,
                    };
                let t = Instant::now();
                let (h, mr) = if overlap {
                    std::thread::scope(|s| {
                        let job = s.spawn(|| run_mask(matcher, mask));
                        let h = model.forward_hidden(feed, pos);
                        // A panic in the mask thread is a bug in the engine: re-raise it.
                        let mr = job.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                        (h, mr)
                    })
                } else {
                    let mr = run_mask(matcher, mask);
                    (model.forward_hidden(feed, pos), mr)
                };
                let elapsed = t.elapsed();
                let mask_elapsed = mr.as_ref().map_or(Duration::ZERO, |(_, d)| *d);
                st.model_time += if overlap {
                    elapsed
                } else {
                    elapsed.saturating_sub(mask_elapsed)
                };
                last_mask = mask_elapsed;
                (h, mr)
            };
            let hidden = hidden?;
            if prompt_time.is_none() {
                prompt_time = Some(st.model_time);
            }
            pos += pending.len();
            pending.clear();

            // Logits: only the allowed ones when the mask is sparse.
            let t = Instant::now();
            let candidates = match mask_result {
                None => {
                    logits = self.model.logits(&hidden);
                    None
                }
                Some((r, d)) => {
                    r?;
                    st.mask_time += d;
                    allowed.clear();
                    allowed.extend(st.mask.iter_allowed().map(|t| t.0));
                    if st.matcher.as_ref().is_some_and(Matcher::is_accepting) {
                        for &s in &self.stop {
                            if !st.mask.is_allowed(TokenId(s)) {
                                allowed.push(s);
                            }
                        }
                    }
                    if allowed.is_empty() {
                        return Err(GenerateError::DeadEnd {
                            bytes: st.bytes.len(),
                            text: String::from_utf8_lossy(&st.bytes).into_owned(),
                        });
                    }
                    if allowed.len() * 8 <= n_logits {
                        logits.fill(f32::NEG_INFINITY);
                        values.resize(allowed.len(), 0.0);
                        self.model.logits_of(&hidden, &allowed, &mut values)?;
                        for (&i, &v) in allowed.iter().zip(&values) {
                            logits[i as usize] = v;
                        }
                    } else {
                        logits = self.model.logits(&hidden);
                        let keep: Vec<(u32, f32)> =
                            allowed.iter().map(|&i| (i, logits[i as usize])).collect();
                        logits.fill(f32::NEG_INFINITY);
                        for (i, v) in keep {
                            logits[i as usize] = v;
                        }
                    }
                    Some(allowed.as_slice())
                }
            };
            st.model_time += t.elapsed();

            let Some(token) = sampling::sample(&config.sampling, &mut rng, &logits, candidates)
            else {
                return Err(GenerateError::DeadEnd {
                    bytes: st.bytes.len(),
                    text: String::from_utf8_lossy(&st.bytes).into_owned(),
                });
            };
            st.sampled += 1;
            if self.stop.binary_search(&token).is_ok() {
                break Finish::Eos;
            }
            if let Some(m) = st.matcher.as_mut() {
                let t = Instant::now();
                m.commit(TokenId(token))?;
                st.mask_time += t.elapsed();
            }
            st.push(&vocab, token, &mut on_text);
            pending.push(token);
        };
        let tail = st.stream.finish();
        if !tail.is_empty() {
            on_text(&tail);
        }
        Ok(Generation {
            text: String::from_utf8_lossy(&st.bytes).into_owned(),
            tokens: st.out,
            sampled: st.sampled,
            forced: st.forced,
            prompt_tokens: prompt.len(),
            finish,
            mask_time: st.mask_time,
            model_time: st.model_time,
            prompt_time: prompt_time.unwrap_or_default(),
            total_time: start.elapsed(),
        })
    }
}

/// The state of one run of the loop.
struct Loop {
    matcher: Option<Matcher>,
    mask: TokenMask,
    out: Vec<u32>,
    bytes: Vec<u8>,
    stream: Utf8Stream,
    sampled: usize,
    forced: usize,
    mask_time: Duration,
    model_time: Duration,
}

impl Loop {
    /// Appends an output token and streams its text.
    fn push(&mut self, vocab: &Vocabulary, token: u32, on_text: &mut impl FnMut(&str)) {
        let b = vocab.token_bytes(TokenId(token));
        self.out.push(token);
        self.bytes.extend_from_slice(b);
        let piece = self.stream.push(b);
        if !piece.is_empty() {
            on_text(&piece);
        }
    }
}
