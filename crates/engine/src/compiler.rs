//! Compiling a grammar against a vocabulary.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rein_grammar::{Grammar, GrammarError};
use rein_vocab::Vocabulary;

use crate::cfg::Cfg;
use crate::lexer::{Lexer, LexerCache};
use crate::lower::lower;
use crate::parser::Chart;
use crate::slices::{slices_for, Slices};

/// Size and work limits. Every limit ends in a clear error instead of a
/// hang or an out-of-memory crash on hostile input.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Rules in the IR.
    pub max_rules: usize,
    /// Symbols in the lowered grammar's productions.
    pub max_symbols: usize,
    /// Distinct lexemes.
    pub max_lexemes: usize,
    /// Nesting depth of IR expressions and rule references.
    pub max_depth: usize,
    /// The largest repetition bound (`{m,n}`).
    pub max_repeat: u32,
    /// Regular rules up to this many regex nodes are inlined into their
    /// users' lexemes; larger ones become lexemes of their own.
    pub inline_regex_nodes: usize,
    /// Regular rules whose automaton is estimated above this many NFA
    /// states (counted repetitions expanded) are not inlined either: each
    /// use would copy the automaton (`"[^"]{0,500}"` is small as a regex
    /// and large as an NFA), while a lexeme of its own is built once and
    /// shared by every use.
    pub inline_regex_cost: usize,
    /// Nesting depth of a lexeme's regex (the automaton compiler
    /// recurses over it). Regular rules nested deeper than a quarter of
    /// this are not inlined into their users' lexemes.
    pub max_regex_depth: usize,
    /// Estimated automaton size of all lexemes together, in NFA states
    /// with counted repetitions expanded (`a{1000}{1000}` is 1,000,000):
    /// refuses huge regexes before any automaton is built.
    pub max_regex_size: usize,
    /// Heap size of the lexer's NFA, in bytes.
    pub nfa_bytes: usize,
    /// States of the lazily built lexer DFA, per matcher.
    pub max_dfa_states: usize,
    /// Heap bytes of a matcher's lexer DFA states and transitions (the
    /// per-state token tables have a bound of their own).
    pub max_lexer_cache_bytes: usize,
    /// Earley work (items created plus items scanned while completing) one
    /// call to `compute_mask`, `commit` or `forced_tokens` may do.
    pub max_items_per_step: u64,
    /// Heap bytes of a matcher's Earley items: bounds the memory of long
    /// outputs in highly ambiguous grammars.
    pub max_chart_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rules: 100_000,
            max_symbols: 2_000_000,
            max_lexemes: 50_000,
            max_depth: 2_000,
            max_repeat: 100_000,
            inline_regex_nodes: 5_000,
            inline_regex_cost: 2_000,
            max_regex_depth: 300,
            max_regex_size: 4_000_000,
            nfa_bytes: 64 << 20,
            max_dfa_states: 200_000,
            max_lexer_cache_bytes: 128 << 20,
            max_items_per_step: 5_000_000,
            max_chart_bytes: 128 << 20,
        }
    }
}

/// Compiler options.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Size and work limits.
    pub limits: Limits,
}

/// Compiles constraints for one vocabulary.
///
/// ```no_run
/// # use std::sync::{Arc, Mutex, OnceLock};
/// # use rein_engine::Compiler;
/// # let vocab = Arc::new(rein_vocab::Vocabulary::load("llama3").unwrap());
/// let g = Compiler::new(&vocab).regex(r"[0-9]+").unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Compiler {
    vocab: Arc<Vocabulary>,
    slices: Arc<OnceLock<Option<Slices>>>,
    config: Config,
}

impl Compiler {
    /// A compiler for `vocab` with default options.
    ///
    /// The first compiler for a vocabulary also splits the vocabulary into
    /// the slices that speed up masks (tens of milliseconds for 128k
    /// tokens); later ones share them.
    pub fn new(vocab: &Arc<Vocabulary>) -> Compiler {
        Compiler {
            vocab: vocab.clone(),
            slices: slices_for(vocab),
            config: Config::default(),
        }
    }

    /// Replaces the options.
    pub fn with_config(mut self, config: Config) -> Compiler {
        self.config = config;
        self
    }

    /// Compiles a grammar built in code or by a front-end.
    pub fn grammar(&self, g: &Grammar) -> Result<CompiledGrammar, GrammarError> {
        let t = Instant::now();
        let limits = &self.config.limits;
        let cfg = lower(g, limits)?;
        let lexer = Lexer::new(&cfg.lexemes, &cfg.lex_except, limits)?;
        if let Some(&l) = cfg.limited.iter().find(|&&l| !lexer.is_isolated(l)) {
            return Err(GrammarError::Invalid(format!(
                "the token limit of lexeme `{}` cannot be enforced: its automaton is shared",
                cfg.lexemes[l as usize]
            )));
        }
        let mut cache = LexerCache::new(&lexer);
        let chart = Chart::new(&cfg, &lexer, &mut cache, limits)
            .map_err(|e| GrammarError::Invalid(e.to_string()))?;
        Ok(CompiledGrammar {
            vocab: self.vocab.clone(),
            slices: self.slices.clone(),
            cfg,
            lexer,
            initial: Initial { cache, chart },
            warm: Mutex::new(None),
            limits: limits.clone(),
            compile_time: t.elapsed(),
        })
    }

    /// Compiles a regex (Rust syntax) matched against the whole output.
    pub fn regex(&self, pattern: &str) -> Result<CompiledGrammar, GrammarError> {
        self.grammar(&rein_grammar::regex::parse(pattern)?)
    }

    /// Compiles a GBNF grammar (llama.cpp syntax).
    pub fn gbnf(&self, src: &str) -> Result<CompiledGrammar, GrammarError> {
        self.grammar(&rein_grammar::gbnf::parse(src)?)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Initial {
    pub(crate) cache: LexerCache,
    pub(crate) chart: Chart,
}

/// A grammar compiled for one vocabulary: immutable, `Send + Sync`, shared
/// by any number of [`Matcher`](crate::Matcher)s through an `Arc`.
#[derive(Debug)]
pub struct CompiledGrammar {
    pub(crate) vocab: Arc<Vocabulary>,
    slices: Arc<OnceLock<Option<Slices>>>,
    pub(crate) cfg: Cfg,
    pub(crate) lexer: Lexer,
    pub(crate) initial: Initial,
    /// The lexer cache of the matcher that learned most so far: new
    /// matchers start from it (it grew from `initial.cache`, so state ids
    /// agree), and finished matchers hand theirs back.
    pub(crate) warm: Mutex<Option<LexerCache>>,
    pub(crate) limits: Limits,
    compile_time: Duration,
}

/// Sizes of a compiled grammar, for summaries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrammarStats {
    /// Nonterminals after lowering.
    pub nonterminals: usize,
    /// Productions after lowering.
    pub productions: usize,
    /// Distinct lexemes.
    pub lexemes: usize,
    /// States of the lexer's NFA.
    pub nfa_states: usize,
    /// Approximate heap bytes of the compiled grammar.
    pub memory_bytes: usize,
}

impl CompiledGrammar {
    /// The vocabulary this grammar was compiled for.
    pub fn vocab(&self) -> &Arc<Vocabulary> {
        &self.vocab
    }

    /// The vocabulary's slices, if it has them.
    pub(crate) fn slices(&self) -> Option<&Slices> {
        self.slices.get().and_then(Option::as_ref)
    }

    /// How long compilation took.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// Heap bytes of the lexer cache (DFA states and token tables) that
    /// finished matchers handed back, which new matchers start from: what
    /// the grammar has learned while in use. Zero until a matcher drops.
    pub fn cache_memory(&self) -> usize {
        self.warm
            .lock()
            .ok()
            .and_then(|w| w.as_ref().map(LexerCache::memory_usage))
            .unwrap_or(0)
    }

    /// Sizes of the compiled grammar.
    pub fn stats(&self) -> GrammarStats {
        let prod_bytes: usize = self
            .cfg
            .prods
            .iter()
            .map(|p| p.rhs.len() * 4 + std::mem::size_of_val(p))
            .sum();
        GrammarStats {
            nonterminals: self.cfg.num_nts(),
            productions: self.cfg.prods.len(),
            lexemes: self.cfg.lexemes.len(),
            nfa_states: self.lexer.num_nfa_states(),
            memory_bytes: self.lexer.memory_usage()
                + prod_bytes
                + self.cfg.dot_next.len() * 12
                + self.initial.cache.memory_usage(),
        }
    }
}
