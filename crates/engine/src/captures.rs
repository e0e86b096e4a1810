//! Capture extraction: which spans of a complete output the grammar's
//! named captures ([`Expr::Capture`](rein_grammar::Expr::Capture)) matched.
//!
//! The text is parsed again with the grammar's own parser, recording for
//! every Earley row the byte offset where it starts and, for every row
//! created by finishing lexemes, which lexemes finished there and in which
//! row they started. A derivation is then read off the chart backwards,
//! from the accepting item: every choice is checked against an item that
//! the parser holds (and the parser only holds items whose prefix derives
//! the text they span), so each capture's span is one that its expression
//! really derives in a parse of the whole text. When the grammar is
//! ambiguous, one parse is chosen.
//!
//! The only search is the avoidance of derivation cycles (a nonterminal
//! deriving itself over the same span, through unit or nullable
//! productions); it backtracks, bounded by a work budget.

use std::ops::Range;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::cfg::{Cfg, Next};
use crate::compiler::CompiledGrammar;
use crate::error::MaskError;
use crate::lexer::{LexerCache, DEAD};
use crate::parser::Chart;

/// One captured span of an output.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Capture {
    /// The capture's name (as in the grammar).
    pub name: String,
    /// Its byte range in the text.
    pub range: Range<usize>,
}

/// Why captures could not be extracted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The text stops matching the grammar at this byte.
    #[error("the text does not match the grammar: it stops matching at byte {offset}")]
    NoMatch {
        /// Byte offset of the first byte that does not fit.
        offset: usize,
    },
    /// The text is a prefix of the language but not a complete sentence.
    #[error("the text ({len} bytes) matches the grammar only as an unfinished prefix")]
    Incomplete {
        /// Length of the text.
        len: usize,
    },
    /// The derivation is nested deeper than the extractor handles.
    #[error("the parse is nested deeper than {limit} levels")]
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// Reading a derivation off the chart took more steps than its budget
    /// (only highly ambiguous, cyclic grammars get here).
    #[error("capture extraction exceeded its work budget of {limit} steps")]
    WorkBudget {
        /// The budget.
        limit: u64,
    },
    /// The parser failed (an internal limit).
    #[error(transparent)]
    Mask(#[from] MaskError),
}

/// Nesting limit of derivations (each level is a few stack frames).
const MAX_DEPTH: usize = 20_000;
/// Stack of the extraction thread: the derivation walk recurses.
const STACK_BYTES: usize = 256 << 20;

impl CompiledGrammar {
    /// The captures of `text`, a complete sentence of this grammar, in
    /// order of their start (outer captures before inner ones at the same
    /// start). A capture inside a repetition appears once per repetition.
    ///
    /// Costs one parse of the text (as many lexer steps as bytes, Earley
    /// work at lexeme boundaries) plus a walk over the parse.
    ///
    /// # Errors
    /// [`CaptureError::NoMatch`] or [`CaptureError::Incomplete`] when the
    /// text is not in the grammar's language; limits otherwise.
    pub fn captures(&self, text: &[u8]) -> Result<Vec<Capture>, CaptureError> {
        let chart = parse(self, text)?;
        if !self.cfg.nt_capture.iter().any(Option::is_some) {
            return Ok(Vec::new());
        }
        // The walk recurses as deep as the parse is nested: give it room.
        std::thread::scope(|s| {
            let job = std::thread::Builder::new()
                .name("rein-captures".into())
                .stack_size(STACK_BYTES)
                .spawn_scoped(s, || extract(&self.cfg, &chart, text.len()));
            match job {
                Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                // No thread available: walk on this one (the depth limit
                // still applies, with less room).
                Err(_) => extract(&self.cfg, &chart, text.len()),
            }
        })
    }
}

/// A parsed text: the chart, where each row starts, and the lexeme
/// completions that made each row.
struct Parsed {
    chart: Chart,
    cache: LexerCache,
    row_pos: Vec<usize>,
    /// Per row: (row where the lexeme started, lexer state at its end).
    completions: Vec<Vec<(u32, u32)>>,
}

fn parse(g: &CompiledGrammar, text: &[u8]) -> Result<Parsed, CaptureError> {
    let mut cache = g.initial.cache.clone();
    let mut chart = g.initial.chart.clone();
    chart.scans.clear();
    let first = chart.initial_scan().filter(|s| cache.can_advance(s.state));
    chart.scans.extend(first);
    let mut live = chart.scans.len();
    let mut row_pos = vec![0; chart.rows.len()];
    let mut completions = vec![Vec::new(); chart.rows.len()];
    let mut accepting = chart.rows.first().is_some_and(|r| r.accepting);
    for (i, &b) in text.iter().enumerate() {
        let mut done = Vec::new();
        for k in 0..live {
            let sc = chart.scans[k];
            let s = cache.next(&g.lexer, sc.state, b)?;
            if s != DEAD && !cache.accepts(s).is_empty() {
                done.push((sc.row, s));
            }
        }
        let step = chart.step(&g.cfg, &g.lexer, &mut cache, (0, live), b)?;
        chart.scans.drain(..live);
        live = chart.scans.len();
        if step.new_row {
            row_pos.push(i + 1);
            completions.push(done);
        }
        accepting = step.accepting;
        if live == 0 && !(accepting && i + 1 == text.len()) {
            return Err(CaptureError::NoMatch { offset: i });
        }
    }
    let ends_here = row_pos.last() == Some(&text.len());
    if !(accepting && ends_here) {
        return Err(CaptureError::Incomplete { len: text.len() });
    }
    Ok(Parsed {
        chart,
        cache,
        row_pos,
        completions,
    })
}

/// The derivation chosen for a nonterminal over rows `(i, j)`: its
/// production and the row where each right-hand-side symbol starts.
type Choice = (usize, Vec<u32>);

struct Walk<'a> {
    cfg: &'a Cfg,
    p: &'a Parsed,
    /// (row, dot, origin) of every item in the chart.
    items: HashSet<(u32, u32, u32)>,
    /// (row, nonterminal) → origins of its complete items in that row.
    complete: HashMap<(u32, u32), Vec<u32>>,
    chosen: HashMap<(u32, u32, u32), Choice>,
    on_path: HashSet<(u32, u32, u32)>,
    depth: usize,
    work: u64,
    budget: u64,
}

fn extract(cfg: &Cfg, p: &Parsed, len: usize) -> Result<Vec<Capture>, CaptureError> {
    let rows = &p.chart.rows;
    let mut items = HashSet::default();
    let mut complete: HashMap<(u32, u32), Vec<u32>> = HashMap::default();
    for (j, r) in rows.iter().enumerate() {
        let (a, b) = r.items;
        for it in &p.chart.items[a as usize..b as usize] {
            items.insert((j as u32, it.dot, it.origin));
            if cfg.dot_next[it.dot as usize] == Next::Complete {
                complete
                    .entry((j as u32, cfg.dot_lhs[it.dot as usize]))
                    .or_default()
                    .push(it.origin);
            }
        }
    }
    let budget = 64 * (items.len() as u64 + len as u64) + 1_000_000;
    let mut w = Walk {
        cfg,
        p,
        items,
        complete,
        chosen: HashMap::default(),
        on_path: HashSet::default(),
        depth: 0,
        work: 0,
        budget,
    };
    let aug = cfg.dot_lhs[cfg.start_dot() as usize];
    let last = (rows.len() - 1) as u32;
    if !w.explain(aug, 0, last)? {
        // Cannot happen for an accepted text: the accepting item exists and
        // every item has a derivation without cycles.
        return Err(CaptureError::Incomplete { len });
    }
    let mut out = Vec::new();
    w.collect(aug, 0, last, &mut out, 0)?;
    out.sort_by_key(|(c, order)| (c.range.start, std::cmp::Reverse(c.range.end), *order));
    Ok(out.into_iter().map(|(c, _)| c).collect())
}

impl Walk<'_> {
    fn tick(&mut self) -> Result<(), CaptureError> {
        self.work += 1;
        if self.work > self.budget {
            return Err(CaptureError::WorkBudget { limit: self.budget });
        }
        Ok(())
    }

    fn has(&self, row: u32, dot: u32, origin: u32) -> bool {
        self.items.contains(&(row, dot, origin))
    }

    /// Finds a derivation of `nt` over rows `i..j` (recording it).
    fn explain(&mut self, nt: u32, i: u32, j: u32) -> Result<bool, CaptureError> {
        let key = (nt, i, j);
        if self.chosen.contains_key(&key) {
            return Ok(true);
        }
        if self.on_path.contains(&key) {
            return Ok(false);
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CaptureError::TooDeep { limit: MAX_DEPTH });
        }
        self.on_path.insert(key);
        let cfg = self.cfg;
        let mut found = None;
        for p in cfg.prods_of(nt) {
            self.tick()?;
            let prod = &cfg.prods[p];
            let n = prod.rhs.len() as u32;
            if !self.has(j, prod.dot_base + n, i) {
                continue;
            }
            let mut starts = Vec::with_capacity(n as usize);
            if self.seq(p, n, i, j, &mut starts)? {
                found = Some((p, starts));
                break;
            }
        }
        self.on_path.remove(&key);
        self.depth -= 1;
        Ok(match found {
            Some(c) => {
                self.chosen.insert(key, c);
                true
            }
            None => false,
        })
    }

    /// Explains the first `t` symbols of production `p` (started at row
    /// `i`) as ending at row `k`; pushes where each symbol starts.
    fn seq(
        &mut self,
        p: usize,
        t: u32,
        i: u32,
        k: u32,
        starts: &mut Vec<u32>,
    ) -> Result<bool, CaptureError> {
        if t == 0 {
            return Ok(k == i);
        }
        self.tick()?;
        let cfg = self.cfg;
        let prod = &cfg.prods[p];
        let d = prod.dot_base + t - 1;
        let sym = prod.rhs[(t - 1) as usize];
        let mut cands: Vec<(u32, Option<u32>)> = Vec::new();
        if let Some(l) = sym.as_lex() {
            for &(r, s) in &self.p.completions[k as usize] {
                if r >= i && self.p.cache.accepts(s).binary_search(&l).is_ok() && self.has(r, d, i)
                {
                    cands.push((r, None));
                }
            }
            if cfg.lex_nullable[l as usize] && self.has(k, d, i) {
                cands.push((k, None));
            }
        } else if let Some(c) = sym.as_nt() {
            if let Some(origins) = self.complete.get(&(k, c)) {
                for &o in origins {
                    if o >= i && self.has(o, d, i) {
                        cands.push((o, Some(c)));
                    }
                }
            }
            if cfg.nt_nullable[c as usize] && self.has(k, d, i) && !cands.contains(&(k, Some(c))) {
                cands.push((k, Some(c)));
            }
        }
        for (start, nt) in cands {
            if let Some(c) = nt {
                if !self.explain(c, start, k)? {
                    continue;
                }
            }
            if self.seq(p, t - 1, i, start, starts)? {
                starts.push(start);
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Captures of the recorded derivation of `nt` over `i..j`.
    fn collect(
        &self,
        nt: u32,
        i: u32,
        j: u32,
        out: &mut Vec<(Capture, usize)>,
        depth: usize,
    ) -> Result<(), CaptureError> {
        if depth > MAX_DEPTH {
            return Err(CaptureError::TooDeep { limit: MAX_DEPTH });
        }
        if let Some(name) = &self.cfg.nt_capture[nt as usize] {
            let order = out.len();
            out.push((
                Capture {
                    name: name.clone(),
                    range: self.p.row_pos[i as usize]..self.p.row_pos[j as usize],
                },
                order,
            ));
        }
        let Some((p, starts)) = self.chosen.get(&(nt, i, j)) else {
            return Ok(());
        };
        let rhs = &self.cfg.prods[*p].rhs;
        for (t, sym) in rhs.iter().enumerate() {
            if let Some(c) = sym.as_nt() {
                let end = starts.get(t + 1).copied().unwrap_or(j);
                self.collect(c, starts[t], end, out, depth + 1)?;
            }
        }
        Ok(())
    }
}
