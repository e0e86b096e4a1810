//! The lowered grammar the parser runs on: plain BNF productions over
//! nonterminals and lexemes, with dotted-rule tables precomputed.

use regex_syntax::hir::Hir;

/// A grammar symbol: a nonterminal or a lexeme, packed into a `u32` (the top
/// bit marks lexemes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Sym(u32);

const LEX_BIT: u32 = 1 << 31;

impl Sym {
    pub(crate) fn nt(id: u32) -> Sym {
        Sym(id)
    }
    pub(crate) fn lex(id: u32) -> Sym {
        Sym(id | LEX_BIT)
    }
    /// The nonterminal id, if this is one.
    pub(crate) fn as_nt(self) -> Option<u32> {
        (self.0 & LEX_BIT == 0).then_some(self.0)
    }
    /// The lexeme id, if this is one.
    pub(crate) fn as_lex(self) -> Option<u32> {
        (self.0 & LEX_BIT != 0).then_some(self.0 & !LEX_BIT)
    }
}

/// What follows the dot of a dotted rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// The dot is at the end: the production is complete.
    Complete,
    Nt(u32),
    Lex(u32),
}

/// One production `lhs ::= rhs`.
#[derive(Clone, Debug)]
pub(crate) struct Prod {
    pub(crate) rhs: Vec<Sym>,
    /// Dotted-rule id of `lhs ::= • rhs`; the dot at position `d` is
    /// `dot_base + d`.
    pub(crate) dot_base: u32,
}

/// The lowered grammar.
#[derive(Clone, Debug)]
pub(crate) struct Cfg {
    /// Names of nonterminals (for messages).
    #[allow(dead_code)]
    pub(crate) nt_names: Vec<String>,
    /// Capture name of a nonterminal, if it records a capture.
    pub(crate) nt_capture: Vec<Option<String>>,
    /// Productions of each nonterminal, as a range into `prods`.
    pub(crate) nt_prods: Vec<(u32, u32)>,
    pub(crate) nt_nullable: Vec<bool>,
    pub(crate) prods: Vec<Prod>,
    /// Per dotted rule: what comes next.
    pub(crate) dot_next: Vec<Next>,
    /// Per dotted rule: the production's left-hand side.
    pub(crate) dot_lhs: Vec<u32>,
    /// Lexemes as regexes (pattern `i` of the lexer is lexeme `i`).
    pub(crate) lexemes: Vec<Hir>,
    pub(crate) lex_nullable: Vec<bool>,
    /// Per lexeme: the most tokens its text may overlap (rules with
    /// `max_tokens`), sorted list of the limited lexemes below.
    pub(crate) lex_max_tokens: Vec<Option<u32>>,
    /// Per lexeme: the texts left out of it (see `Expr::Except`).
    pub(crate) lex_except: Vec<Option<Hir>>,
    /// The lexemes with a token limit, sorted.
    pub(crate) limited: Vec<u32>,
    /// The augmented start production `S' ::= start`.
    pub(crate) start_prod: u32,
}

impl Cfg {
    pub(crate) fn num_nts(&self) -> usize {
        self.nt_prods.len()
    }

    /// Dotted-rule id of the accepting item `S' ::= start •`.
    pub(crate) fn accept_dot(&self) -> u32 {
        let p = &self.prods[self.start_prod as usize];
        p.dot_base + p.rhs.len() as u32
    }

    pub(crate) fn start_dot(&self) -> u32 {
        self.prods[self.start_prod as usize].dot_base
    }

    pub(crate) fn prods_of(&self, nt: u32) -> std::ops::Range<usize> {
        let (a, b) = self.nt_prods[nt as usize];
        a as usize..b as usize
    }
}

/// Builds a `Cfg` from raw productions; computes dotted tables and
/// nullability. `prods` must be grouped by lhs in nonterminal order.
pub(crate) struct CfgBuilder {
    pub(crate) nt_names: Vec<String>,
    pub(crate) nt_capture: Vec<Option<String>>,
    /// Alternatives per nonterminal.
    pub(crate) alts: Vec<Vec<Vec<Sym>>>,
    pub(crate) lexemes: Vec<Hir>,
    /// Token limits of lexemes (shorter than `lexemes` when the last ones
    /// have none).
    pub(crate) lex_max_tokens: Vec<Option<u32>>,
    /// Texts left out of lexemes (shorter than `lexemes` when the last
    /// ones have none).
    pub(crate) lex_except: Vec<Option<Hir>>,
}

impl CfgBuilder {
    pub(crate) fn new_nt(&mut self, name: String, capture: Option<String>) -> u32 {
        let id = self.nt_names.len() as u32;
        self.nt_names.push(name);
        self.nt_capture.push(capture);
        self.alts.push(Vec::new());
        id
    }

    /// Finishes the grammar with `start` as start symbol. Returns `None` if
    /// the start symbol derives no string. Unproductive productions are
    /// removed so that every item the parser holds can still be completed.
    pub(crate) fn finish(mut self, start: u32) -> Option<Cfg> {
        self.lex_except.resize(self.lexemes.len(), None);
        let lex_nullable: Vec<bool> = self
            .lexemes
            .iter()
            .zip(&self.lex_except)
            .map(|(h, except)| {
                rein_grammar::analysis::hir_matches_empty(h)
                    && !except
                        .as_ref()
                        .is_some_and(rein_grammar::analysis::hir_matches_empty)
            })
            .collect();
        // Lexemes that match nothing at all make their productions useless.
        let lex_productive: Vec<bool> = self
            .lexemes
            .iter()
            .map(|h| !rein_grammar::analysis::hir_matches_nothing(h))
            .collect();
        // Augmented start.
        let aug = self.new_nt("<start>".into(), None);
        self.alts[aug as usize].push(vec![Sym::nt(start)]);

        // Productive nonterminals (fixpoint).
        let n = self.alts.len();
        let mut productive = vec![false; n];
        let sym_ok = |s: &Sym, productive: &[bool]| match (s.as_nt(), s.as_lex()) {
            (Some(nt), _) => productive[nt as usize],
            (_, Some(l)) => lex_productive[l as usize],
            _ => false,
        };
        loop {
            let mut changed = false;
            for nt in 0..n {
                if productive[nt] {
                    continue;
                }
                if self.alts[nt]
                    .iter()
                    .any(|rhs| rhs.iter().all(|s| sym_ok(s, &productive)))
                {
                    productive[nt] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        if !productive[aug as usize] {
            return None;
        }
        for nt in 0..n {
            let alts = std::mem::take(&mut self.alts[nt]);
            self.alts[nt] = alts
                .into_iter()
                .filter(|rhs| rhs.iter().all(|s| sym_ok(s, &productive)))
                .collect();
        }

        // Nullable nonterminals (fixpoint).
        let mut nullable = vec![false; n];
        loop {
            let mut changed = false;
            for nt in 0..n {
                if nullable[nt] {
                    continue;
                }
                let any = self.alts[nt].iter().any(|rhs| {
                    rhs.iter().all(|s| match (s.as_nt(), s.as_lex()) {
                        (Some(x), _) => nullable[x as usize],
                        (_, Some(l)) => lex_nullable[l as usize],
                        _ => false,
                    })
                });
                if any {
                    nullable[nt] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }

        let mut prods = Vec::new();
        let mut nt_prods = Vec::with_capacity(n);
        let mut dot_next = Vec::new();
        let mut dot_lhs = Vec::new();
        let mut start_prod = 0;
        for (nt, alts) in self.alts.into_iter().enumerate() {
            let first = prods.len() as u32;
            for rhs in alts {
                let dot_base = dot_next.len() as u32;
                for s in &rhs {
                    dot_next.push(match (s.as_nt(), s.as_lex()) {
                        (Some(x), _) => Next::Nt(x),
                        (_, Some(l)) => Next::Lex(l),
                        _ => Next::Complete,
                    });
                    dot_lhs.push(nt as u32);
                }
                dot_next.push(Next::Complete);
                dot_lhs.push(nt as u32);
                if nt as u32 == aug {
                    start_prod = prods.len() as u32;
                }
                prods.push(Prod { rhs, dot_base });
            }
            nt_prods.push((first, prods.len() as u32));
        }
        let mut lex_max_tokens = self.lex_max_tokens;
        lex_max_tokens.resize(self.lexemes.len(), None);
        let limited = (0..self.lexemes.len() as u32)
            .filter(|&l| lex_max_tokens[l as usize].is_some())
            .collect();
        Some(Cfg {
            nt_names: self.nt_names,
            nt_capture: self.nt_capture,
            nt_prods,
            nt_nullable: nullable,
            prods,
            dot_next,
            dot_lhs,
            lexemes: self.lexemes,
            lex_nullable,
            limited,
            lex_max_tokens,
            lex_except: self.lex_except,
            start_prod,
        })
    }
}
