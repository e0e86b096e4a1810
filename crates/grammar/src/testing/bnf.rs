//! A plain character-level BNF lowering of the IR, shared by the recognizer
//! and the sampler.
//!
//! Every IR rule becomes a nonterminal with the same index; alternations,
//! repetitions and regex nodes become fresh nonterminals; every terminal is
//! a set of characters (a literal is one terminal per character). Regex
//! leaves are lowered node by node, so the reference never runs a regex
//! engine: it is independent of the automata the engine uses.

use std::collections::HashMap;

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::ir::{Expr, Grammar};

/// A grammar symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Sym {
    /// A terminal: an index into [`Bnf::terms`].
    T(u32),
    /// A nonterminal.
    N(u32),
}

/// A set of characters, as sorted, non-overlapping inclusive ranges.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CharSet(pub(crate) Vec<(char, char)>);

impl CharSet {
    pub(crate) fn contains(&self, c: char) -> bool {
        let i = self.0.partition_point(|&(_, hi)| hi < c);
        self.0.get(i).is_some_and(|&(lo, _)| lo <= c)
    }
}

/// One production `lhs -> rhs`.
#[derive(Clone, Debug)]
pub(crate) struct Prod {
    pub(crate) lhs: u32,
    pub(crate) rhs: Vec<Sym>,
}

/// The lowered grammar, with only productive productions kept: every
/// symbol of every production derives some string.
#[derive(Clone, Debug)]
pub(crate) struct Bnf {
    pub(crate) terms: Vec<CharSet>,
    pub(crate) prods: Vec<Prod>,
    /// Production ids by left-hand side.
    pub(crate) by_lhs: Vec<Vec<u32>>,
    pub(crate) nullable: Vec<bool>,
    pub(crate) start: u32,
}

impl Bnf {
    pub(crate) fn new(g: &Grammar) -> Bnf {
        let mut b = Builder {
            terms: Vec::new(),
            term_ids: HashMap::new(),
            prods: Vec::new(),
            n_nts: g.rules.len() as u32,
            nothing: None,
        };
        for (i, rule) in g.rules.iter().enumerate() {
            let mut rhs = Vec::new();
            b.expr(&rule.expr, &mut rhs, g.rules.len());
            b.prods.push(Prod { lhs: i as u32, rhs });
        }
        let start = if g.start.index() < g.rules.len() {
            g.start.0
        } else {
            b.nothing()
        };
        b.finish(start)
    }

    pub(crate) fn n_nonterminals(&self) -> usize {
        self.by_lhs.len()
    }

    /// Whether the start symbol derives some string.
    pub(crate) fn is_productive(&self) -> bool {
        self.by_lhs
            .get(self.start as usize)
            .is_some_and(|p| !p.is_empty())
    }
}

struct Builder {
    terms: Vec<CharSet>,
    term_ids: HashMap<CharSet, u32>,
    prods: Vec<Prod>,
    n_nts: u32,
    nothing: Option<u32>,
}

impl Builder {
    fn fresh(&mut self) -> u32 {
        self.n_nts += 1;
        self.n_nts - 1
    }

    /// A nonterminal without productions.
    fn nothing(&mut self) -> u32 {
        match self.nothing {
            Some(n) => n,
            None => {
                let n = self.fresh();
                self.nothing = Some(n);
                n
            }
        }
    }

    fn term(&mut self, set: CharSet) -> Sym {
        if let Some(&t) = self.term_ids.get(&set) {
            return Sym::T(t);
        }
        let t = self.terms.len() as u32;
        self.terms.push(set.clone());
        self.term_ids.insert(set, t);
        Sym::T(t)
    }

    fn text(&mut self, s: &str, out: &mut Vec<Sym>) {
        for c in s.chars() {
            let t = self.term(CharSet(vec![(c, c)]));
            out.push(t);
        }
    }

    /// A nonterminal with one production per alternative.
    fn alternatives(&mut self, alts: Vec<Vec<Sym>>) -> Sym {
        let a = self.fresh();
        for rhs in alts {
            self.prods.push(Prod { lhs: a, rhs });
        }
        Sym::N(a)
    }

    /// `x` repeated `min..=max` times, with `x` already a single symbol.
    fn repeat(&mut self, x: Sym, min: u32, max: Option<u32>, out: &mut Vec<Sym>) {
        match max {
            Some(max) if max < min => {
                let n = self.nothing();
                out.push(Sym::N(n));
            }
            Some(max) => {
                out.extend(std::iter::repeat_n(x, min as usize));
                // opt(k) -> ε | x opt(k-1), opt(1) -> ε | x
                let mut tail: Option<Sym> = None;
                for _ in 0..(max - min) {
                    let mut more = vec![x];
                    more.extend(tail);
                    tail = Some(self.alternatives(vec![Vec::new(), more]));
                }
                out.extend(tail);
            }
            None => {
                out.extend(std::iter::repeat_n(x, min as usize));
                // star -> ε | star x
                let s = self.fresh();
                self.prods.push(Prod {
                    lhs: s,
                    rhs: Vec::new(),
                });
                self.prods.push(Prod {
                    lhs: s,
                    rhs: vec![Sym::N(s), x],
                });
                out.push(Sym::N(s));
            }
        }
    }

    /// Lowers `e` into a sequence of symbols appended to `out`.
    fn expr(&mut self, e: &Expr, out: &mut Vec<Sym>, n_rules: usize) {
        match e {
            Expr::Empty => {}
            Expr::Nothing => {
                let n = self.nothing();
                out.push(Sym::N(n));
            }
            Expr::Literal(s) => self.text(s, out),
            Expr::Regex(h) => self.hir(h, out),
            Expr::Except { expr, except } => {
                // The difference as one regex, through minimized DFAs: a
                // construction independent of the engine's, which runs
                // `except` beside `expr`.
                let mut budget = crate::json_schema::automata::Budget::new(200_000_000);
                match crate::json_schema::automata::combine(&[expr], &[except], &mut budget) {
                    Ok(Some(h)) => self.hir(&h, out),
                    Ok(None) => {
                        let n = self.nothing();
                        out.push(Sym::N(n));
                    }
                    Err(e) => panic!(
                        "the reference cannot build this Except: over {} {}",
                        e.limit, e.what
                    ),
                }
            }
            Expr::Rule(r) => {
                if r.index() < n_rules {
                    out.push(Sym::N(r.0));
                } else {
                    let n = self.nothing();
                    out.push(Sym::N(n));
                }
            }
            Expr::Seq(parts) => {
                for p in parts {
                    self.expr(p, out, n_rules);
                }
            }
            Expr::Alt(alts) => {
                let alts = alts
                    .iter()
                    .map(|a| {
                        let mut rhs = Vec::new();
                        self.expr(a, &mut rhs, n_rules);
                        rhs
                    })
                    .collect();
                let a = self.alternatives(alts);
                out.push(a);
            }
            Expr::Repeat { expr, min, max } => {
                let mut rhs = Vec::new();
                self.expr(expr, &mut rhs, n_rules);
                let x = self.alternatives(vec![rhs]);
                self.repeat(x, *min, *max, out);
            }
            Expr::Capture { expr, .. } => self.expr(expr, out, n_rules),
        }
    }

    /// Lowers a regex. Look-around assertions (which the IR does not allow)
    /// and non-ASCII bytes in byte classes match nothing.
    fn hir(&mut self, h: &Hir, out: &mut Vec<Sym>) {
        match h.kind() {
            HirKind::Empty => {}
            HirKind::Literal(l) => match std::str::from_utf8(&l.0) {
                Ok(s) => self.text(s, out),
                Err(_) => {
                    let n = self.nothing();
                    out.push(Sym::N(n));
                }
            },
            HirKind::Class(Class::Unicode(c)) => {
                let set = CharSet(c.ranges().iter().map(|r| (r.start(), r.end())).collect());
                let t = self.term(set);
                out.push(t);
            }
            HirKind::Class(Class::Bytes(c)) => {
                let set = CharSet(
                    c.ranges()
                        .iter()
                        .filter(|r| r.start() < 0x80)
                        .map(|r| (char::from(r.start()), char::from(r.end().min(0x7F))))
                        .collect(),
                );
                let t = self.term(set);
                out.push(t);
            }
            HirKind::Look(_) => {
                let n = self.nothing();
                out.push(Sym::N(n));
            }
            HirKind::Repetition(r) => {
                let mut rhs = Vec::new();
                self.hir(&r.sub, &mut rhs);
                let x = self.alternatives(vec![rhs]);
                self.repeat(x, r.min, r.max, out);
            }
            HirKind::Capture(c) => self.hir(&c.sub, out),
            HirKind::Concat(parts) => {
                for p in parts {
                    self.hir(p, out);
                }
            }
            HirKind::Alternation(alts) => {
                let alts = alts
                    .iter()
                    .map(|a| {
                        let mut rhs = Vec::new();
                        self.hir(a, &mut rhs);
                        rhs
                    })
                    .collect();
                let a = self.alternatives(alts);
                out.push(a);
            }
        }
    }

    /// Drops unproductive productions and computes nullability.
    fn finish(self, start: u32) -> Bnf {
        let n = self.n_nts as usize;
        let term_ok: Vec<bool> = self.terms.iter().map(|t| !t.0.is_empty()).collect();
        let mut productive = vec![false; n];
        loop {
            let mut changed = false;
            for p in &self.prods {
                if !productive[p.lhs as usize]
                    && p.rhs.iter().all(|s| match *s {
                        Sym::T(t) => term_ok[t as usize],
                        Sym::N(x) => productive[x as usize],
                    })
                {
                    productive[p.lhs as usize] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let ok = |s: &Sym| match *s {
            Sym::T(t) => term_ok[t as usize],
            Sym::N(x) => productive[x as usize],
        };
        let prods: Vec<Prod> = self
            .prods
            .into_iter()
            .filter(|p| p.rhs.iter().all(ok))
            .collect();
        let mut by_lhs = vec![Vec::new(); n];
        for (i, p) in prods.iter().enumerate() {
            by_lhs[p.lhs as usize].push(i as u32);
        }
        let mut nullable = vec![false; n];
        loop {
            let mut changed = false;
            for p in &prods {
                if !nullable[p.lhs as usize]
                    && p.rhs
                        .iter()
                        .all(|s| matches!(*s, Sym::N(x) if nullable[x as usize]))
                {
                    nullable[p.lhs as usize] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Bnf {
            terms: self.terms,
            prods,
            by_lhs,
            nullable,
            start,
        }
    }
}
