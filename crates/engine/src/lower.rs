//! Lowering the IR into BNF over lexemes.
//!
//! The IR is character-level: a GBNF grammar spells JSON strings as
//! repetitions of character classes. Parsing that with Earley one character
//! at a time is 100-1000x slower than lexing, so lowering finds the
//! *regular* parts of the grammar and turns each maximal regular piece into
//! one lexeme (a regex). A rule is regular when it is not recursive, refers
//! only to regular rules, and holds no captures or token limits; a regular
//! rule is inlined into its users' regexes while it is small, and becomes a
//! lexeme of its own otherwise. "Small" counts the automaton, not the
//! regex: `[^"]{0,255}` is a few regex nodes and over a thousand NFA
//! states, so a regex of the IR that large is never merged into the
//! regexes around it either; equal ones then share one lexeme, compiled
//! once (an object with fifty `maxLength: 255` strings has one string
//! automaton, not fifty). Everything else becomes BNF productions.
//!
//! Where lexeme boundaries fall does not change the language: the lexer is
//! non-deterministic (every possible end of a lexeme is tried), so any
//! partition of the grammar into lexemes accepts exactly the same strings.

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use regex_syntax::hir::{Class, Hir, HirKind, Repetition};

use rein_grammar::{Expr, Grammar, GrammarError, RuleId};

use crate::cfg::{Cfg, CfgBuilder, Sym};
use crate::compiler::Limits;

/// Counts the nodes of a regex tree (iteratively).
fn hir_size(h: &Hir) -> usize {
    let mut n = 0;
    let mut stack = vec![h];
    while let Some(h) = stack.pop() {
        n += 1;
        stack.extend(h.kind().subs());
    }
    n
}

/// Nesting depth of a regex tree (iteratively).
fn hir_depth(h: &Hir) -> usize {
    let mut max = 0;
    let mut stack = vec![(h, 1)];
    while let Some((h, d)) = stack.pop() {
        max = max.max(d);
        stack.extend(h.kind().subs().iter().map(|s| (s, d + 1)));
    }
    max
}

/// A hash of a regex tree's structure (iteratively): equal trees hash
/// alike. Cheaper than printing the regex as a key.
fn hir_hash(h: &Hir) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut s = rustc_hash::FxHasher::default();
    let mut stack = vec![h];
    while let Some(h) = stack.pop() {
        match h.kind() {
            HirKind::Empty => 0u8.hash(&mut s),
            HirKind::Literal(l) => {
                1u8.hash(&mut s);
                l.0.hash(&mut s);
            }
            HirKind::Class(Class::Unicode(c)) => {
                2u8.hash(&mut s);
                for r in c.ranges() {
                    (r.start(), r.end()).hash(&mut s);
                }
            }
            HirKind::Class(Class::Bytes(c)) => {
                3u8.hash(&mut s);
                for r in c.ranges() {
                    (r.start(), r.end()).hash(&mut s);
                }
            }
            HirKind::Look(l) => {
                4u8.hash(&mut s);
                l.as_repr().hash(&mut s);
            }
            HirKind::Repetition(r) => {
                5u8.hash(&mut s);
                (r.min, r.max, r.greedy).hash(&mut s);
            }
            HirKind::Capture(c) => {
                6u8.hash(&mut s);
                c.index.hash(&mut s);
            }
            HirKind::Concat(v) => {
                7u8.hash(&mut s);
                v.len().hash(&mut s);
            }
            HirKind::Alternation(v) => {
                8u8.hash(&mut s);
                v.len().hash(&mut s);
            }
        }
        stack.extend(h.kind().subs());
    }
    s.finish()
}

/// Estimated NFA states of a regex with counted repetitions expanded
/// (saturating). Recursive: call only on trees within the depth limit.
fn hir_cost(h: &Hir) -> usize {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(l) => l.0.len(),
        // UTF-8 sequences of a Unicode class take a few states per range.
        HirKind::Class(Class::Unicode(c)) => 4 + 2 * c.ranges().len(),
        HirKind::Class(Class::Bytes(_)) => 2,
        HirKind::Repetition(r) => {
            let copies = match r.max {
                Some(max) => max.max(r.min),
                None => r.min.saturating_add(1),
            };
            hir_cost(&r.sub)
                .saturating_mul((copies as usize).max(1))
                .saturating_add(1)
        }
        HirKind::Capture(c) => hir_cost(&c.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs
            .iter()
            .fold(1usize, |n, s| n.saturating_add(hir_cost(s))),
    }
}

#[derive(Clone)]
enum RuleRegex {
    Unvisited,
    InProgress,
    /// The rule's regex and whether it is inlined into its users' regexes
    /// (small enough), or `None` when the rule is not regular.
    Done(Option<(Hir, bool)>),
}

struct Lowerer<'g> {
    g: &'g Grammar,
    limits: &'g Limits,
    rule_regex: Vec<RuleRegex>,
    b: CfgBuilder,
    /// Lexemes by [`hir_hash`] (equal regexes share one lexeme).
    lexeme_ids: HashMap<u64, Vec<u32>>,
    /// Nonterminal for each IR rule that was lowered to productions.
    rule_nt: Vec<Option<u32>>,
    pending: Vec<RuleId>,
    depth: usize,
    /// Symbols in productions so far (a size measure).
    symbols: usize,
    /// Estimated automaton size of the lexemes so far.
    regex_cost: usize,
    /// [`Lowerer::big_regex`] of the IR's regexes, by address (the IR is
    /// borrowed for the whole lowering).
    big_regexes: HashMap<usize, bool>,
    /// Set while lowering a rule with a token limit, which must be one
    /// regex however large: nothing is split off.
    whole: bool,
    /// `rule_regex` of the other mode (`whole` or not), swapped in and out.
    other_rule_regex: Vec<RuleRegex>,
    /// [`Lowerer::ir_lexeme`]'s results by [`ir_hash`].
    #[allow(clippy::type_complexity)]
    ir_lexemes: HashMap<u64, Vec<(LexKind, Vec<&'g Expr>, Option<Option<Sym>>)>>,
    /// [`Lowerer::except_lexeme`]'s lexemes by the addresses of their
    /// regexes.
    except_ids: HashMap<(usize, usize), u32>,
}

/// How [`Lowerer::ir_lexeme`] joins its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum LexKind {
    /// One expression.
    Whole,
    /// A concatenation.
    Seq,
    /// An alternation.
    Alt,
}

/// Hashes IR `e` for [`Lowerer::ir_lexeme`]: regexes by address (a
/// shared regex is the same regex), rules by id (a rule's regex is built
/// once).
fn ir_hash(e: &Expr, s: &mut rustc_hash::FxHasher) {
    use std::hash::Hash;
    std::mem::discriminant(e).hash(s);
    match e {
        Expr::Empty | Expr::Nothing => {}
        Expr::Literal(l) => l.hash(s),
        Expr::Regex(h) => (Arc::as_ptr(h) as usize).hash(s),
        Expr::Except { expr, except } => {
            (Arc::as_ptr(expr) as usize, Arc::as_ptr(except) as usize).hash(s)
        }
        Expr::Rule(r) => r.0.hash(s),
        Expr::Seq(v) | Expr::Alt(v) => {
            v.len().hash(s);
            for x in v {
                ir_hash(x, s);
            }
        }
        Expr::Repeat { expr, min, max } => {
            (min, max).hash(s);
            ir_hash(expr, s);
        }
        Expr::Capture { name, expr } => {
            name.hash(s);
            ir_hash(expr, s);
        }
    }
}

/// Whether IR `a` and `b` lower to the same regex: the same structure,
/// the same regexes (by address) and rules.
fn ir_same(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Empty, Expr::Empty) | (Expr::Nothing, Expr::Nothing) => true,
        (Expr::Literal(x), Expr::Literal(y)) => x == y,
        (Expr::Regex(x), Expr::Regex(y)) => Arc::ptr_eq(x, y),
        (
            Expr::Except {
                expr: x1,
                except: x2,
            },
            Expr::Except {
                expr: y1,
                except: y2,
            },
        ) => Arc::ptr_eq(x1, y1) && Arc::ptr_eq(x2, y2),
        (Expr::Rule(x), Expr::Rule(y)) => x == y,
        (Expr::Seq(x), Expr::Seq(y)) | (Expr::Alt(x), Expr::Alt(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| ir_same(a, b))
        }
        (
            Expr::Repeat {
                expr: x,
                min: m1,
                max: n1,
            },
            Expr::Repeat {
                expr: y,
                min: m2,
                max: n2,
            },
        ) => m1 == m2 && n1 == n2 && ir_same(x, y),
        (Expr::Capture { name: n1, expr: x }, Expr::Capture { name: n2, expr: y }) => {
            n1 == n2 && ir_same(x, y)
        }
        _ => false,
    }
}

/// Lowers `g` into a [`Cfg`].
pub(crate) fn lower(g: &Grammar, limits: &Limits) -> Result<Cfg, GrammarError> {
    g.validate().map_err(GrammarError::Invalid)?;
    if g.rules.len() > limits.max_rules {
        return Err(GrammarError::Limit {
            what: "number of rules".into(),
            value: g.rules.len() as u64,
            limit: limits.max_rules as u64,
        });
    }
    let mut l = Lowerer {
        g,
        limits,
        rule_regex: vec![RuleRegex::Unvisited; g.rules.len()],
        b: CfgBuilder {
            nt_names: Vec::new(),
            nt_capture: Vec::new(),
            alts: Vec::new(),
            lexemes: Vec::new(),
            lex_max_tokens: Vec::new(),
            lex_except: Vec::new(),
        },
        lexeme_ids: HashMap::default(),
        rule_nt: vec![None; g.rules.len()],
        pending: Vec::new(),
        depth: 0,
        symbols: 0,
        regex_cost: 0,
        big_regexes: HashMap::default(),
        whole: false,
        other_rule_regex: vec![RuleRegex::Unvisited; g.rules.len()],
        ir_lexemes: HashMap::default(),
        except_ids: HashMap::default(),
    };
    let start = l.rule_nt(g.start);
    while let Some(r) = l.pending.pop() {
        let nt = l.rule_nt[r.index()].unwrap_or(0);
        let rule = &g.rules[r.index()];
        let alts = match rule.max_tokens {
            Some(n) => l.limited_alts(&rule.name, &rule.expr, n)?,
            None => match l.take_rule_hir(r)? {
                // A regular rule too large to inline: its regex was built
                // when it was first met.
                Some(h) => l.regex_alts(h)?,
                None => l.lower_alts(&rule.expr)?,
            },
        };
        l.set_alts(nt, alts)?;
    }
    let name = g.rule(g.start).map(|r| r.name.clone()).unwrap_or_default();
    l.b.finish(start).ok_or(GrammarError::EmptyLanguage {
        name,
        location: None,
    })
}

impl<'g> Lowerer<'g> {
    /// Sets the productions of `nt`, keeping count of the grammar's size.
    fn set_alts(&mut self, nt: u32, alts: Vec<Vec<Sym>>) -> Result<(), GrammarError> {
        self.symbols += alts.iter().map(|a| a.len() + 1).sum::<usize>();
        if self.symbols > self.limits.max_symbols {
            return Err(GrammarError::Limit {
                what: "number of grammar symbols after lowering".into(),
                value: self.symbols as u64,
                limit: self.limits.max_symbols as u64,
            });
        }
        self.b.alts[nt as usize] = alts;
        Ok(())
    }

    fn enter(&mut self) -> Result<(), GrammarError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(GrammarError::Limit {
                what: "grammar nesting depth".into(),
                value: self.depth as u64,
                limit: self.limits.max_depth as u64,
            });
        }
        Ok(())
    }

    /// The nonterminal standing for IR rule `r`, queued for lowering.
    fn rule_nt(&mut self, r: RuleId) -> u32 {
        if let Some(nt) = self.rule_nt[r.index()] {
            return nt;
        }
        let name = self.g.rules[r.index()].name.clone();
        let nt = self.b.new_nt(name, None);
        self.rule_nt[r.index()] = Some(nt);
        self.pending.push(r);
        nt
    }

    fn lexeme(&mut self, h: Hir) -> Result<Option<Sym>, GrammarError> {
        if h.properties().maximum_len() == Some(0) {
            // Only the empty string (or nothing): no lexeme needed.
            return Ok(None);
        }
        self.check_lexeme_regex(&h)?;
        let key = hir_hash(&h);
        if let Some(ids) = self.lexeme_ids.get(&key) {
            if let Some(&id) = ids.iter().find(|&&id| self.b.lexemes[id as usize] == h) {
                return Ok(Some(Sym::lex(id)));
            }
        }
        self.add_regex_cost(hir_cost(&h))?;
        let id = self.next_lexeme_id()?;
        self.b.lexemes.push(h);
        self.lexeme_ids.entry(key).or_default().push(id);
        Ok(Some(Sym::lex(id)))
    }

    /// The lexeme of `expr` minus `except` (one per distinct pair of
    /// regexes, by address). The lexer runs `except` beside `expr` and
    /// drops `expr`'s match where `except` matches too, which needs
    /// `except` to match finitely many texts and `expr` infinitely many.
    fn except_lexeme(&mut self, expr: &Arc<Hir>, except: &Arc<Hir>) -> Result<Sym, GrammarError> {
        let key = (Arc::as_ptr(expr) as usize, Arc::as_ptr(except) as usize);
        if let Some(&id) = self.except_ids.get(&key) {
            return Ok(Sym::lex(id));
        }
        if except.properties().maximum_len().is_none() {
            return Err(GrammarError::Invalid(format!(
                "the texts left out of a lexeme (`{except}`) must be of bounded length"
            )));
        }
        if expr.properties().maximum_len().is_some()
            || rein_grammar::analysis::hir_matches_nothing(expr)
        {
            return Err(GrammarError::Invalid(format!(
                "a lexeme with texts left out (`{expr}`) must match texts of unbounded length"
            )));
        }
        self.check_lexeme_regex(expr)?;
        self.check_lexeme_regex(except)?;
        self.add_regex_cost(hir_cost(expr).saturating_add(hir_cost(except)))?;
        let id = self.next_lexeme_id()?;
        self.b.lexemes.push((**expr).clone());
        self.b.lex_except.resize(id as usize, None);
        self.b.lex_except.push(Some((**except).clone()));
        self.except_ids.insert(key, id);
        Ok(Sym::lex(id))
    }

    /// The productions of a rule with a token limit: one lexeme of its own
    /// (never shared with other uses of the same regex) carrying the limit.
    fn limited_alts(
        &mut self,
        name: &str,
        e: &Expr,
        max_tokens: u32,
    ) -> Result<Vec<Vec<Sym>>, GrammarError> {
        // The whole rule is one lexeme: large regexes stay inside it, and
        // the rules it uses are looked at again in that light.
        std::mem::swap(&mut self.rule_regex, &mut self.other_rule_regex);
        self.whole = true;
        let h = self.lower_hir(e);
        self.whole = false;
        std::mem::swap(&mut self.rule_regex, &mut self.other_rule_regex);
        let Some(h) = h? else {
            return Err(GrammarError::Invalid(format!(
                "rule {name:?} has a token limit (max_tokens) but is not regular (it is \
                 recursive or holds captures); token limits apply to regular rules only"
            )));
        };
        if rein_grammar::analysis::hir_matches_nothing(&h) {
            return Ok(Vec::new());
        }
        if h.properties().maximum_len() == Some(0) {
            return Ok(vec![vec![]]);
        }
        if !h.properties().look_set().is_empty() {
            return Err(GrammarError::Invalid(format!(
                "regex `{h}` uses look-around assertions, which lexemes cannot have"
            )));
        }
        let id = self.next_lexeme_id()?;
        self.check_regex_depth(&h)?;
        self.b.lexemes.push(h);
        self.b.lex_max_tokens.resize(id as usize, None);
        self.b.lex_max_tokens.push(Some(max_tokens));
        Ok(vec![vec![Sym::lex(id)]])
    }

    /// The id the next lexeme gets, if the lexeme limit allows one more.
    fn next_lexeme_id(&self) -> Result<u32, GrammarError> {
        let id = self.b.lexemes.len() as u32;
        if self.b.lexemes.len() >= self.limits.max_lexemes {
            return Err(GrammarError::Limit {
                what: "number of lexemes".into(),
                value: id as u64 + 1,
                limit: self.limits.max_lexemes as u64,
            });
        }
        Ok(id)
    }

    /// A regex can be a lexeme: no look-around assertions, within the
    /// nesting limit.
    fn check_lexeme_regex(&self, h: &Hir) -> Result<(), GrammarError> {
        if !h.properties().look_set().is_empty() {
            return Err(GrammarError::Invalid(format!(
                "regex `{h}` uses look-around assertions, which lexemes cannot have"
            )));
        }
        self.check_regex_depth(h)
    }

    /// Counts a new lexeme's regexes (their `hir_cost`) toward the lexer
    /// automaton's size limit.
    fn add_regex_cost(&mut self, cost: usize) -> Result<(), GrammarError> {
        self.regex_cost = self.regex_cost.saturating_add(cost);
        if self.regex_cost > self.limits.max_regex_size {
            return Err(GrammarError::Limit {
                what: "estimated size of the lexer automaton (NFA states, counted repetitions \
                       expanded)"
                    .into(),
                value: self.regex_cost as u64,
                limit: self.limits.max_regex_size as u64,
            });
        }
        Ok(())
    }

    fn check_regex_depth(&self, h: &Hir) -> Result<(), GrammarError> {
        let depth = hir_depth(h);
        if depth > self.limits.max_regex_depth {
            return Err(GrammarError::Limit {
                what: "nesting depth of a regex".into(),
                value: depth as u64,
                limit: self.limits.max_regex_depth as u64,
            });
        }
        Ok(())
    }

    /// Lowers rule `r` to a regex once (with its size and depth), or
    /// records that it is not regular.
    fn ensure_rule_hir(&mut self, r: RuleId) -> Result<(), GrammarError> {
        match &self.rule_regex[r.index()] {
            RuleRegex::Done(_) | RuleRegex::InProgress => return Ok(()), // InProgress: recursive
            RuleRegex::Unvisited => {}
        }
        if self.g.rules[r.index()].max_tokens.is_some() {
            self.rule_regex[r.index()] = RuleRegex::Done(None);
            return Ok(());
        }
        self.rule_regex[r.index()] = RuleRegex::InProgress;
        self.enter()?;
        let expr = &self.g.rules[r.index()].expr;
        let h = self.lower_hir(expr)?;
        self.depth -= 1;
        // A rule found recursive while visiting it may have been marked
        // done by an inner visit; recursion makes every rule of the cycle
        // non-regular, which `lower_hir` already reported as None.
        let limits = self.limits;
        let whole = self.whole;
        let res = h.map(|h| {
            let inline = hir_size(&h) <= limits.inline_regex_nodes
                && hir_depth(&h) <= limits.max_regex_depth / 4
                && (whole || hir_cost(&h) <= limits.inline_regex_cost);
            (h, inline)
        });
        self.rule_regex[r.index()] = RuleRegex::Done(res);
        Ok(())
    }

    /// The regex of rule `r` if it is regular and not inlined (so no one
    /// needs it again), moved out of the cache.
    fn take_rule_hir(&mut self, r: RuleId) -> Result<Option<Hir>, GrammarError> {
        if self.inlined_rule(r)? {
            return Ok(None);
        }
        Ok(match &mut self.rule_regex[r.index()] {
            RuleRegex::Done(Some((h, _))) => Some(std::mem::replace(h, Hir::empty())),
            _ => None,
        })
    }

    /// Whether `e` lowers to a regex ([`Lowerer::lower_hir`] gives
    /// `Some`), found without building one (rules referred to are lowered
    /// once and cached). Lowering asks this at every level of a
    /// non-regular expression; building and dropping the regexes of the
    /// regular parts each time was most of the compile time of large
    /// grammars.
    fn is_regular(&mut self, e: &Expr) -> Result<bool, GrammarError> {
        self.enter()?;
        let r = match e {
            Expr::Empty | Expr::Nothing | Expr::Literal(_) => true,
            Expr::Regex(h) => !self.big_regex(h)?,
            // Always a lexeme of its own (see `except_lexeme`).
            Expr::Except { .. } | Expr::Capture { .. } => false,
            Expr::Rule(r) => self.inlined_rule(*r)?,
            Expr::Repeat { expr, .. } => self.is_regular(expr)?,
            Expr::Seq(parts) | Expr::Alt(parts) => {
                let mut ok = true;
                for p in parts {
                    if !self.is_regular(p)? {
                        ok = false;
                        break;
                    }
                }
                ok
            }
        };
        self.depth -= 1;
        Ok(r)
    }

    /// Whether a regex of the IR is large as an automaton (counted
    /// repetitions expanded: `"[^"]{0,255}"`). A large regex is not merged
    /// into the regexes around it: it is a lexeme of its own, so each
    /// distinct one is compiled once however many places use it (objects
    /// with dozens of bounded strings), and its lexer states are shared by
    /// all of them.
    fn big_regex(&mut self, h: &Hir) -> Result<bool, GrammarError> {
        let key = h as *const Hir as usize;
        let big = match self.big_regexes.get(&key) {
            Some(&big) => big,
            None => {
                // `hir_cost` recurses: check the depth first (`build_hir`
                // relies on this check having been made).
                self.check_regex_depth(h)?;
                let big = hir_cost(h) > self.limits.inline_regex_cost;
                self.big_regexes.insert(key, big);
                big
            }
        };
        Ok(big && !self.whole)
    }

    /// Whether a reference to rule `r` is inlined as a regex: the rule is
    /// regular and its regex small.
    fn inlined_rule(&mut self, r: RuleId) -> Result<bool, GrammarError> {
        self.ensure_rule_hir(r)?;
        Ok(match &self.rule_regex[r.index()] {
            RuleRegex::Done(Some((_, inline))) => *inline,
            _ => false,
        })
    }

    /// The regex for `e` if it is regular, else `None`.
    fn lower_hir(&mut self, e: &Expr) -> Result<Option<Hir>, GrammarError> {
        if !self.is_regular(e)? {
            return Ok(None);
        }
        self.build_hir(e)
    }

    /// The regex for `e`, which [`Lowerer::is_regular`] said is regular
    /// (or a large regex, regular but kept apart: see `big_regex`).
    fn build_hir(&mut self, e: &Expr) -> Result<Option<Hir>, GrammarError> {
        self.enter()?;
        let r = match e {
            Expr::Empty => Some(Hir::empty()),
            Expr::Nothing => Some(Hir::fail()),
            Expr::Literal(s) => Some(Hir::literal(s.as_bytes())),
            Expr::Regex(h) => {
                // Cloning and compiling regexes recurse: check first (done
                // once per regex, by `big_regex`).
                self.big_regex(h)?;
                Some((**h).clone())
            }
            Expr::Rule(r) => match (self.inlined_rule(*r)?, &self.rule_regex[r.index()]) {
                (true, RuleRegex::Done(Some((h, _)))) => Some(h.clone()),
                _ => None,
            },
            Expr::Seq(parts) => {
                let mut hs = Vec::with_capacity(parts.len());
                let mut ok = true;
                for p in parts {
                    match self.build_hir(p)? {
                        Some(h) => hs.push(h),
                        None => ok = false,
                    }
                }
                ok.then(|| Hir::concat(hs))
            }
            Expr::Alt(alts) => {
                let mut hs = Vec::with_capacity(alts.len());
                let mut ok = true;
                for p in alts {
                    match self.build_hir(p)? {
                        Some(h) => hs.push(h),
                        None => ok = false,
                    }
                }
                ok.then(|| Hir::alternation(hs))
            }
            Expr::Repeat { expr, min, max } => {
                self.check_repeat(*min, *max)?;
                self.build_hir(expr)?.map(|h| {
                    Hir::repetition(Repetition {
                        min: *min,
                        max: *max,
                        greedy: true,
                        sub: Box::new(h),
                    })
                })
            }
            Expr::Except { .. } | Expr::Capture { .. } => None,
        };
        self.depth -= 1;
        Ok(r)
    }

    fn check_repeat(&self, min: u32, max: Option<u32>) -> Result<(), GrammarError> {
        let bound = max.unwrap_or(min).max(min);
        if bound > self.limits.max_repeat {
            return Err(GrammarError::Limit {
                what: "repetition bound".into(),
                value: bound as u64,
                limit: self.limits.max_repeat as u64,
            });
        }
        if let Some(max) = max {
            if max < min {
                return Err(GrammarError::Invalid(format!(
                    "repetition {{{min},{max}}} has its maximum below its minimum"
                )));
            }
        }
        Ok(())
    }

    /// Lowers `e` to alternatives of symbol sequences.
    fn lower_alts(&mut self, e: &'g Expr) -> Result<Vec<Vec<Sym>>, GrammarError> {
        if self.is_regular(e)? {
            return self.whole_alts(e);
        }
        self.enter()?;
        let r = match e {
            Expr::Alt(alts) => {
                // Regular alternatives share one lexeme; others lower on
                // their own.
                let mut regular = Vec::new();
                let mut out = Vec::new();
                for a in alts {
                    if self.is_regular(a)? {
                        regular.push(a);
                    } else {
                        out.extend(self.lower_alts(a)?);
                    }
                }
                if !regular.is_empty() {
                    if let Some(l) = self.ir_lexeme(LexKind::Alt, &regular)? {
                        out.push(l.into_iter().collect());
                    }
                }
                out
            }
            _ => vec![self.lower_seq(e)?],
        };
        self.depth -= 1;
        Ok(r)
    }

    /// The alternatives of a regular expression: one lexeme (none at all
    /// when it matches nothing).
    fn regex_alts(&mut self, h: Hir) -> Result<Vec<Vec<Sym>>, GrammarError> {
        if rein_grammar::analysis::hir_matches_nothing(&h) {
            return Ok(Vec::new());
        }
        Ok(vec![self.lexeme(h)?.into_iter().collect()])
    }

    /// [`Lowerer::regex_alts`] of a regular expression (or a large regex),
    /// through [`Lowerer::ir_lexeme`].
    fn whole_alts(&mut self, e: &'g Expr) -> Result<Vec<Vec<Sym>>, GrammarError> {
        let l = self.ir_lexeme(LexKind::Whole, &[e])?;
        Ok(l.map(|s| s.into_iter().collect()).into_iter().collect())
    }

    /// The lexeme of regular IR `parts` taken as `kind`, looked up by the
    /// IR before any regex is built: most lexemes of an object grammar
    /// are asked for again and again (the same member in every state of
    /// the key-order automaton), and building, hashing and comparing the
    /// regex each time was most of the lowering. `None`: the regex
    /// matches nothing (never for [`LexKind::Seq`], whose callers keep a
    /// lexeme that never matches); `Some(None)`: only the empty string.
    fn ir_lexeme(
        &mut self,
        kind: LexKind,
        parts: &[&'g Expr],
    ) -> Result<Option<Option<Sym>>, GrammarError> {
        use std::hash::{Hash, Hasher};
        let mut hasher = rustc_hash::FxHasher::default();
        kind.hash(&mut hasher);
        parts.len().hash(&mut hasher);
        for p in parts {
            ir_hash(p, &mut hasher);
        }
        let key = hasher.finish();
        let same = |(k, ps, _): &&(LexKind, Vec<&Expr>, _)| {
            *k == kind
                && ps.len() == parts.len()
                && ps.iter().zip(parts).all(|(a, b)| ir_same(a, b))
        };
        if let Some(found) = self.ir_lexemes.get(&key).and_then(|v| v.iter().find(same)) {
            return Ok(found.2);
        }
        let mut hs = Vec::with_capacity(parts.len());
        for p in parts {
            // Regular (the callers asked), or a large regex: always built.
            match self.build_hir(p)? {
                Some(h) => hs.push(h),
                None => {
                    return Err(GrammarError::Invalid(
                        "internal: a regular expression did not lower to a regex".into(),
                    ))
                }
            }
        }
        let h = match kind {
            LexKind::Whole => hs.pop().unwrap_or_else(Hir::empty),
            LexKind::Seq => Hir::concat(hs),
            LexKind::Alt => Hir::alternation(hs),
        };
        let l = if kind != LexKind::Seq && rein_grammar::analysis::hir_matches_nothing(&h) {
            None
        } else {
            Some(self.lexeme(h)?)
        };
        self.ir_lexemes
            .entry(key)
            .or_default()
            .push((kind, parts.to_vec(), l));
        Ok(l)
    }

    /// Lowers `e` to one symbol sequence (creating nonterminals as needed).
    fn lower_seq(&mut self, e: &'g Expr) -> Result<Vec<Sym>, GrammarError> {
        let parts: &'g [Expr] = match e {
            Expr::Seq(parts) => parts,
            _ => std::slice::from_ref(e),
        };
        let mut out = Vec::new();
        let mut run: Vec<&'g Expr> = Vec::new();
        for p in parts {
            if self.is_regular(p)? {
                run.push(p);
            } else {
                if !run.is_empty() {
                    let l = self.ir_lexeme(LexKind::Seq, &std::mem::take(&mut run))?;
                    out.extend(l.flatten());
                }
                out.push(self.symbol(p)?);
            }
        }
        if !run.is_empty() {
            out.extend(self.ir_lexeme(LexKind::Seq, &run)?.flatten());
        }
        Ok(out)
    }

    /// A single symbol standing for non-regular `e`.
    fn symbol(&mut self, e: &'g Expr) -> Result<Sym, GrammarError> {
        self.enter()?;
        let s = match e {
            Expr::Rule(r) => Sym::nt(self.rule_nt(*r)),
            // A large regex (see `big_regex`): a lexeme of its own.
            Expr::Regex(_) => {
                let alts = self.whole_alts(e)?;
                match &alts[..] {
                    [alt] if alt.len() == 1 => alt[0],
                    // Matches nothing, or only the empty string.
                    _ => {
                        let nt = self.b.new_nt("regex".into(), None);
                        self.set_alts(nt, alts)?;
                        Sym::nt(nt)
                    }
                }
            }
            Expr::Except { expr, except } => self.except_lexeme(expr, except)?,
            Expr::Capture { name, expr } => {
                let nt = self.b.new_nt(format!("capture:{name}"), Some(name.clone()));
                let alts = self.lower_alts(expr)?;
                self.set_alts(nt, alts)?;
                Sym::nt(nt)
            }
            Expr::Repeat { expr, min, max } => {
                self.check_repeat(*min, *max)?;
                let x = self.symbol_or_lexeme(expr)?;
                self.repeat(x, *min, *max)?
            }
            _ => {
                let nt = self.b.new_nt("group".into(), None);
                let alts = self.lower_alts(e)?;
                self.set_alts(nt, alts)?;
                Sym::nt(nt)
            }
        };
        self.depth -= 1;
        Ok(s)
    }

    /// A symbol for `e` whether it is regular or not; `None` stands for
    /// the empty string.
    fn symbol_or_lexeme(&mut self, e: &'g Expr) -> Result<Option<Sym>, GrammarError> {
        if !self.is_regular(e)? {
            return self.symbol(e).map(Some);
        }
        match self.ir_lexeme(LexKind::Whole, &[e])? {
            Some(l) => Ok(l),
            None => {
                // Matches nothing: a nonterminal with no productions.
                let nt = self.b.new_nt("nothing".into(), None);
                Ok(Some(Sym::nt(nt)))
            }
        }
    }

    /// A nonterminal deriving `x{min,max}`.
    fn repeat(&mut self, x: Option<Sym>, min: u32, max: Option<u32>) -> Result<Sym, GrammarError> {
        let nt = self.b.new_nt("repeat".into(), None);
        let Some(x) = x else {
            // Repeating the empty string.
            self.set_alts(nt, vec![vec![]])?;
            return Ok(Sym::nt(nt));
        };
        let mut alts: Vec<Vec<Sym>>;
        match max {
            None => {
                // star ::= ε | star x ; nt ::= x^min star
                let star = self.b.new_nt("star".into(), None);
                self.set_alts(star, vec![vec![], vec![Sym::nt(star), x]])?;
                let mut seq = vec![x; min as usize];
                seq.push(Sym::nt(star));
                alts = vec![seq];
            }
            Some(max) => {
                // opt_k ::= ε | x opt_{k-1}, nested (max - min) deep.
                let mut tail: Option<Sym> = None;
                for _ in min..max {
                    let opt = self.b.new_nt("optional".into(), None);
                    let mut more = vec![x];
                    more.extend(tail);
                    self.set_alts(opt, vec![vec![], more])?;
                    tail = Some(Sym::nt(opt));
                }
                let mut seq = vec![x; min as usize];
                seq.extend(tail);
                alts = vec![seq];
            }
        }
        self.set_alts(nt, std::mem::take(&mut alts))?;
        Ok(Sym::nt(nt))
    }
}
