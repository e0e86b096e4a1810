//! The grammar IR shared by every front-end.
//!
//! A [`Grammar`] is a list of named [`Rule`]s, each defined by one [`Expr`].
//! Expressions are regular-expression-like trees whose leaves are text
//! literals, regexes (as [`regex_syntax::hir::Hir`], matched against whole
//! pieces of text, never searched) and references to other rules. Rules may
//! be recursive, left-recursive and ambiguous: the engine accepts exactly the
//! language of the grammar.
//!
//! The language is always a set of UTF-8 strings. Regexes are compiled in
//! Unicode mode, so a class such as `[^"]` matches whole characters.

use std::fmt;
use std::sync::Arc;

use regex_syntax::hir::Hir;

/// The identifier of a rule: an index into [`Grammar::rules`].
///
/// A grammar holds at most `u32::MAX` rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub u32);

impl RuleId {
    /// The index of this rule in [`Grammar::rules`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One node of a rule's definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// The empty string.
    Empty,
    /// No string at all (the empty language). Useful for `false` schemas and
    /// empty alternations; a grammar whose start rule can only derive this
    /// is rejected at compile time.
    Nothing,
    /// Exactly this text.
    Literal(String),
    /// Any text matched as a whole by this regex (anchored at both ends).
    ///
    /// Look-around assertions other than start/end of text are not allowed
    /// here; front-ends reject them with a located error. Shared: a
    /// front-end may hand the same regex to many places, and cloning an
    /// expression does not copy it.
    Regex(Arc<Hir>),
    /// Any text matched as a whole by `expr` but not by `except`: JSON
    /// object keys other than the declared ones, for example.
    ///
    /// `except` must match texts of bounded length only, and `expr` texts
    /// of unbounded length (so the difference is never empty); compilers
    /// reject other pairs. One lexeme: the engine runs `except` beside
    /// `expr` instead of building the complement's automaton, which for
    /// many declared keys is large.
    Except {
        /// What is matched.
        expr: Arc<Hir>,
        /// What is left out.
        except: Arc<Hir>,
    },
    /// Whatever the referenced rule derives.
    Rule(RuleId),
    /// The concatenation of the parts, in order.
    Seq(Vec<Expr>),
    /// Any one of the alternatives.
    Alt(Vec<Expr>),
    /// Between `min` and `max` (inclusive; `None` is unbounded) repetitions.
    Repeat {
        /// What is repeated.
        expr: Box<Expr>,
        /// The least number of repetitions.
        min: u32,
        /// The most, or `None` for no limit.
        max: Option<u32>,
    },
    /// The text matched by `expr`, recorded under `name`.
    Capture {
        /// The capture's name.
        name: String,
        /// What is captured.
        expr: Box<Expr>,
    },
}

impl Expr {
    /// A literal.
    pub fn literal(s: impl Into<String>) -> Expr {
        Expr::Literal(s.into())
    }

    /// A regex leaf.
    pub fn regex(hir: Hir) -> Expr {
        Expr::Regex(Arc::new(hir))
    }

    /// A sequence; a one-part sequence is returned as the part itself.
    pub fn seq(mut parts: Vec<Expr>) -> Expr {
        match parts.len() {
            0 => Expr::Empty,
            1 => parts.pop().unwrap_or(Expr::Empty),
            _ => Expr::Seq(parts),
        }
    }

    /// An alternation; a one-way alternation is returned as the branch.
    pub fn alt(mut alts: Vec<Expr>) -> Expr {
        match alts.len() {
            0 => Expr::Nothing,
            1 => alts.pop().unwrap_or(Expr::Nothing),
            _ => Expr::Alt(alts),
        }
    }

    /// `expr` repeated between `min` and `max` times.
    pub fn repeat(expr: Expr, min: u32, max: Option<u32>) -> Expr {
        Expr::Repeat {
            expr: Box::new(expr),
            min,
            max,
        }
    }

    /// `expr` or nothing.
    pub fn optional(expr: Expr) -> Expr {
        Expr::repeat(expr, 0, Some(1))
    }

    /// The direct children of this expression.
    pub fn children(&self) -> &[Expr] {
        match self {
            Expr::Empty
            | Expr::Nothing
            | Expr::Literal(_)
            | Expr::Regex(_)
            | Expr::Except { .. }
            | Expr::Rule(_) => &[],
            Expr::Seq(v) | Expr::Alt(v) => v,
            Expr::Repeat { expr, .. } | Expr::Capture { expr, .. } => std::slice::from_ref(&**expr),
        }
    }
}

/// A named rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The rule's name, for messages (need not be unique).
    pub name: String,
    /// What the rule derives.
    pub expr: Expr,
    /// If set, text derived by this rule may take at most this many tokens.
    pub max_tokens: Option<u32>,
}

/// A context-free grammar over UTF-8 text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grammar {
    /// All rules; [`RuleId`] indexes this.
    pub rules: Vec<Rule>,
    /// The start rule.
    pub start: RuleId,
}

impl Grammar {
    /// A grammar with no rules yet and start rule `#0` (to be added).
    pub fn new() -> Grammar {
        Grammar {
            rules: Vec::new(),
            start: RuleId(0),
        }
    }

    /// A grammar whose only rule (the start) is `expr`.
    pub fn from_expr(expr: Expr) -> Grammar {
        let mut g = Grammar::new();
        g.start = g.add_rule("root", expr);
        g
    }

    /// Appends a rule and returns its id.
    pub fn add_rule(&mut self, name: impl Into<String>, expr: Expr) -> RuleId {
        let id = RuleId(self.rules.len() as u32);
        self.rules.push(Rule {
            name: name.into(),
            expr,
            max_tokens: None,
        });
        id
    }

    /// The rule with this id, if any.
    pub fn rule(&self, id: RuleId) -> Option<&Rule> {
        self.rules.get(id.index())
    }

    /// Checks that the start rule and every referenced rule exist.
    pub fn validate(&self) -> Result<(), String> {
        if self.rule(self.start).is_none() {
            return Err(format!("start rule {} does not exist", self.start));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let mut bad = None;
            visit(&rule.expr, &mut |e| {
                if let Expr::Rule(r) = e {
                    if r.index() >= self.rules.len() && bad.is_none() {
                        bad = Some(*r);
                    }
                }
            });
            if let Some(r) = bad {
                return Err(format!(
                    "rule {:?} (#{i}) refers to rule {r}, which does not exist",
                    rule.name
                ));
            }
        }
        Ok(())
    }
}

impl Default for Grammar {
    fn default() -> Self {
        Grammar::new()
    }
}

/// Calls `f` on `e` and every expression below it, parents first.
///
/// Uses an explicit stack, so deeply nested expressions cannot overflow the
/// call stack.
pub fn visit(e: &Expr, f: &mut impl FnMut(&Expr)) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        f(e);
        stack.extend(e.children());
    }
}
