//! The GBNF front-end: llama.cpp's grammar format.
//!
//! ```
//! let g = rein_grammar::gbnf::parse(r#"
//! ## a list of words
//! root ::= word ("," ws word)*
//! word ::= [a-zA-Z]+
//! ws   ::= [ \t]*
//! "#).unwrap();
//! assert_eq!(g.rules.len(), 3);
//! assert_eq!(g.rules[g.start.index()].name, "root");
//! ```
//!
//! # Syntax
//!
//! A grammar is a list of rules `name ::= alternatives`. Names are made of
//! ASCII letters, digits, `-` and `_`; the start rule is `root`.
//!
//! - `"text"`: a literal; `[a-z0-9_]`, `[^\n"]`: a character class (ranges,
//!   negation over all Unicode scalar values; `[a-]` and `[-a]` contain `-`);
//!   `.`: any character; `name`: a reference to a rule;
//! - `( ... )`: grouping; `a b`: sequence; `a | b`: alternatives (an empty
//!   alternative is the empty string);
//! - postfix operators `*`, `+`, `?`, `{m}`, `{m,}`, `{m,n}`, `{,n}`, which
//!   may be stacked (`"a"*?` is `("a"*)?`);
//! - escapes in literals and classes: `\xXX`, `\uXXXX`, `\UXXXXXXXX` (code
//!   points: `\xE9` is `é`, not a byte), `\n`, `\r`, `\t`, `\\`, `\"`, `\[`,
//!   `\]`, `\-`, and a backslash before any other ASCII punctuation stands
//!   for that character;
//! - `#` starts a comment that runs to the end of the line.
//!
//! # Differences from llama.cpp
//!
//! Every grammar llama.cpp accepts is accepted with the same meaning, with
//! these exceptions and additions:
//!
//! - newlines may appear between any two tokens: a rule's body runs until
//!   the next `name ::=` (llama.cpp ends a rule at a newline outside
//!   parentheses unless the line ends with `|`), so a continuation line may
//!   start with `|`;
//! - a rule defined twice keeps its last definition, as in llama.cpp (every
//!   definition must still be well-formed and refer to defined rules);
//! - left recursion is allowed (llama.cpp rejects it);
//! - a rule reachable from `root` that can never finish (its language is
//!   empty, as in `a ::= "x" a`) is an error unless
//!   [`Config::allow_unproductive`] is set;
//! - repetition counts are exact up to [`Config::max_repeat`] (llama.cpp
//!   rejects minimums above 2000 and silently makes larger maximums
//!   unbounded);
//! - code points that are not Unicode scalar values (`\uD800`,
//!   `\U00110000`) are errors in literals and single class characters; as
//!   range ends they are clamped;
//! - token references (`<think>`, `<[1000]>`, `!<...>`) are rejected as
//!   unsupported: the IR describes text, not tokens.

use std::collections::HashMap;

use pest::iterators::Pair;
use pest::Parser as _;
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir};

use crate::analysis;
use crate::error::{GrammarError, Location};
use crate::ir::{Expr, Grammar, RuleId};

mod syntax {
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "gbnf.pest"]
    pub(super) struct GbnfParser;
}
use syntax::{GbnfParser, Rule};

/// Options for [`parse_with`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Maximum nesting depth of parentheses and stacked postfix operators
    /// (guards the parser's stack).
    pub max_nesting: u32,
    /// Maximum number of distinct rules.
    pub max_rules: u32,
    /// Maximum repetition count in `{m,n}`.
    pub max_repeat: u32,
    /// Accept rules reachable from `root` that can never finish, as long as
    /// `root` itself can (llama.cpp does not check this).
    pub allow_unproductive: bool,
    /// Maximum length of the grammar text in bytes (checked before
    /// parsing).
    pub max_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_nesting: 100,
            max_rules: 100_000,
            max_repeat: 10_000,
            allow_unproductive: false,
            max_bytes: 4 << 20,
        }
    }
}

/// The name of the start rule.
pub const START: &str = "root";

/// Parses a GBNF grammar with the default [`Config`].
pub fn parse(src: &str) -> Result<Grammar, GrammarError> {
    parse_with(src, &Config::default())
}

/// Parses a GBNF grammar.
///
/// The rules of the result are the grammar's rules in order of (first)
/// definition, with their GBNF names; the start rule is `root`.
pub fn parse_with(src: &str, config: &Config) -> Result<Grammar, GrammarError> {
    if src.len() > config.max_bytes {
        return Err(GrammarError::Limit {
            what: "length of the grammar text in bytes".into(),
            value: src.len() as u64,
            limit: config.max_bytes as u64,
        });
    }
    prescan(src, config)?;
    let mut pairs = GbnfParser::parse(Rule::grammar, src).map_err(|e| pest_error(src, &e))?;
    let top = pairs
        .next()
        .ok_or_else(|| GrammarError::Invalid("the parser returned nothing".into()))?;

    // First pass: names and ids, in order of first definition.
    let defs: Vec<Pair<'_, Rule>> = top
        .into_inner()
        .filter(|p| p.as_rule() == Rule::rule)
        .collect();
    let mut ids: HashMap<&str, RuleId> = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    let mut offsets: Vec<usize> = Vec::new();
    for def in &defs {
        let name = def_name(def);
        let offset = def.as_span().start();
        match ids.get(name) {
            // A later definition replaces the earlier one.
            Some(id) => {
                if let Some(o) = offsets.get_mut(id.index()) {
                    *o = offset;
                }
            }
            None => {
                if names.len() >= config.max_rules as usize {
                    return Err(GrammarError::Limit {
                        what: "number of rules".into(),
                        value: names.len() as u64 + 1,
                        limit: config.max_rules.into(),
                    });
                }
                ids.insert(name, RuleId(names.len() as u32));
                names.push(name);
                offsets.push(offset);
            }
        }
    }

    // Second pass: bodies. A later definition replaces an earlier one.
    let cx = Cx {
        src,
        config,
        ids: &ids,
    };
    let mut bodies: Vec<Expr> = vec![Expr::Nothing; names.len()];
    for def in &defs {
        let name = def_name(def);
        let body = def
            .clone()
            .into_inner()
            .find(|p| p.as_rule() == Rule::alternates);
        let expr = match body {
            Some(b) => cx.alternates(b, 0)?,
            None => Expr::Empty,
        };
        if let Some(id) = ids.get(name) {
            if let Some(slot) = bodies.get_mut(id.index()) {
                *slot = expr;
            }
        }
    }

    let mut g = Grammar::new();
    for (name, body) in names.iter().zip(bodies) {
        g.add_rule(*name, body);
    }
    g.start = *ids
        .get(START)
        .ok_or_else(|| GrammarError::MissingStart { name: START.into() })?;
    check_productive(&g, src, &offsets, config)?;
    Ok(g)
}

/// Reports a rule reachable from the start that derives no string.
fn check_productive(
    g: &Grammar,
    src: &str,
    offsets: &[usize],
    config: &Config,
) -> Result<(), GrammarError> {
    let unproductive = analysis::unproductive_rules(g);
    if unproductive.is_empty() {
        return Ok(());
    }
    let bad = |r: RuleId| unproductive.binary_search(&r).is_ok();
    if config.allow_unproductive && !bad(g.start) {
        return Ok(());
    }
    let reachable = analysis::reachable_rules(g, g.start);
    let Some(first) = reachable.iter().copied().find(|&r| bad(r)) else {
        return Ok(());
    };
    // Walk from the first bad rule through bad references to the rule that
    // is the cause: one with no bad reference left to follow (it is empty on
    // its own, or closes a cycle).
    let mut seen = vec![first];
    let mut cur = first;
    loop {
        let next = g.rule(cur).and_then(|rule| {
            analysis::referenced_rules(&rule.expr)
                .into_iter()
                .find(|&r| bad(r) && !seen.contains(&r))
        });
        match next {
            Some(n) => {
                seen.push(n);
                cur = n;
            }
            None => break,
        }
    }
    let name = g.rule(cur).map(|r| r.name.clone()).unwrap_or_default();
    let location = offsets.get(cur.index()).map(|&o| Location::at(src, o));
    Err(GrammarError::EmptyLanguage { name, location })
}

fn def_name<'i>(def: &Pair<'i, Rule>) -> &'i str {
    def.clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::rule_head)
        .and_then(|h| h.into_inner().find(|p| p.as_rule() == Rule::name))
        .map_or("", |p| p.as_str())
}

/// What the conversion of one parse tree needs.
struct Cx<'a> {
    src: &'a str,
    config: &'a Config,
    ids: &'a HashMap<&'a str, RuleId>,
}

impl Cx<'_> {
    fn syntax(&self, offset: usize, message: impl Into<String>) -> GrammarError {
        GrammarError::Syntax {
            message: message.into(),
            location: Location::at(self.src, offset),
        }
    }

    fn depth_check(&self, depth: u32) -> Result<(), GrammarError> {
        if depth > self.config.max_nesting {
            return Err(GrammarError::Limit {
                what: "nesting depth of groups and repetitions".into(),
                value: depth.into(),
                limit: self.config.max_nesting.into(),
            });
        }
        Ok(())
    }

    fn alternates(&self, pair: Pair<'_, Rule>, depth: u32) -> Result<Expr, GrammarError> {
        self.depth_check(depth)?;
        let mut alts = Vec::new();
        for p in pair.into_inner() {
            if p.as_rule() == Rule::sequence {
                alts.push(self.sequence(p, depth)?);
            }
        }
        Ok(Expr::alt(alts))
    }

    fn sequence(&self, pair: Pair<'_, Rule>, depth: u32) -> Result<Expr, GrammarError> {
        let mut parts = Vec::new();
        for item in pair.into_inner() {
            parts.push(self.item(item, depth)?);
        }
        Ok(Expr::seq(parts))
    }

    fn item(&self, pair: Pair<'_, Rule>, depth: u32) -> Result<Expr, GrammarError> {
        let mut inner = pair.into_inner();
        let Some(primary) = inner.next() else {
            return Ok(Expr::Empty);
        };
        let mut expr = self.primary(primary, depth)?;
        let mut depth = depth;
        for postfix in inner {
            depth += 1;
            self.depth_check(depth)?;
            let (min, max) = self.postfix(postfix)?;
            expr = Expr::repeat(expr, min, max);
        }
        Ok(expr)
    }

    fn primary(&self, pair: Pair<'_, Rule>, depth: u32) -> Result<Expr, GrammarError> {
        let offset = pair.as_span().start();
        match pair.as_rule() {
            Rule::literal => self.literal(pair),
            Rule::class => self.class(pair),
            Rule::any_char => Ok(Expr::regex(Hir::class(Class::Unicode(ClassUnicode::new(
                [ClassUnicodeRange::new('\0', char::MAX)],
            ))))),
            Rule::group => {
                let body = pair.into_inner().find(|p| p.as_rule() == Rule::alternates);
                match body {
                    Some(b) => self.alternates(b, depth + 1),
                    None => Ok(Expr::Empty),
                }
            }
            Rule::token => Err(GrammarError::Unsupported {
                message: format!(
                    "token reference `{}`: rein grammars describe text, not tokens",
                    pair.as_str()
                ),
                location: Location::at(self.src, offset),
            }),
            Rule::rule_ref => {
                let name = pair.as_str();
                match self.ids.get(name) {
                    Some(&id) => Ok(Expr::Rule(id)),
                    None => Err(GrammarError::UndefinedRule {
                        name: name.into(),
                        location: Location::at(self.src, offset),
                    }),
                }
            }
            r => Err(self.syntax(offset, format!("unexpected {}", describe(r)))),
        }
    }

    fn postfix(&self, pair: Pair<'_, Rule>) -> Result<(u32, Option<u32>), GrammarError> {
        let offset = pair.as_span().start();
        let Some(op) = pair.into_inner().next() else {
            return Err(self.syntax(offset, "expected a repetition operator"));
        };
        match op.as_rule() {
            Rule::star => Ok((0, None)),
            Rule::plus => Ok((1, None)),
            Rule::question => Ok((0, Some(1))),
            Rule::braces => {
                let (mut min, mut max, mut comma) = (None, None, false);
                for p in op.into_inner() {
                    match p.as_rule() {
                        Rule::rep_min => min = Some(self.count(&p)?),
                        Rule::rep_max => max = Some(self.count(&p)?),
                        Rule::comma => comma = true,
                        _ => {}
                    }
                }
                match (min, comma, max) {
                    (None, false, _) => Err(self.syntax(offset, "expected a number after `{`")),
                    (Some(m), false, _) => Ok((m, Some(m))),
                    (m, true, None) => Ok((m.unwrap_or(0), None)),
                    (m, true, Some(n)) => {
                        let m = m.unwrap_or(0);
                        if n < m {
                            Err(self.syntax(
                                offset,
                                format!(
                                    "repetition `{{{m},{n}}}`: the maximum is less than the minimum"
                                ),
                            ))
                        } else {
                            Ok((m, Some(n)))
                        }
                    }
                }
            }
            r => Err(self.syntax(offset, format!("unexpected {}", describe(r)))),
        }
    }

    fn count(&self, pair: &Pair<'_, Rule>) -> Result<u32, GrammarError> {
        let limit = self.config.max_repeat;
        let too_big = || GrammarError::Limit {
            what: "repetition count".into(),
            value: pair.as_str().parse::<u64>().unwrap_or(u64::MAX),
            limit: limit.into(),
        };
        let n: u32 = pair.as_str().parse().map_err(|_| too_big())?;
        if n > limit {
            return Err(too_big());
        }
        Ok(n)
    }

    fn literal(&self, pair: Pair<'_, Rule>) -> Result<Expr, GrammarError> {
        let mut text = String::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::lit_text => text.push_str(p.as_str()),
                Rule::escape => {
                    let offset = p.as_span().start();
                    let cp = self.escape(&p)?;
                    text.push(self.scalar(cp, offset)?);
                }
                _ => {}
            }
        }
        Ok(if text.is_empty() {
            Expr::Empty
        } else {
            Expr::Literal(text)
        })
    }

    fn class(&self, pair: Pair<'_, Rule>) -> Result<Expr, GrammarError> {
        let mut negated = false;
        let mut ranges = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::negate => negated = true,
                Rule::class_item => {
                    let mut ends = Vec::with_capacity(2);
                    for c in p.into_inner() {
                        let offset = c.as_span().start();
                        let cp = match c.as_rule() {
                            Rule::escape => self.escape(&c)?,
                            _ => c.as_str().chars().next().map_or(0, u32::from),
                        };
                        ends.push((cp, offset));
                    }
                    match ends.as_slice() {
                        [(cp, offset)] => {
                            let c = self.scalar(*cp, *offset)?;
                            ranges.push(ClassUnicodeRange::new(c, c));
                        }
                        [(lo, _), (hi, _)] => ranges.extend(scalar_range(*lo, *hi)),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        let mut class = ClassUnicode::new(ranges);
        if negated {
            class.negate();
        }
        Ok(Expr::regex(Hir::class(Class::Unicode(class))))
    }

    /// The code point an escape stands for.
    fn escape(&self, pair: &Pair<'_, Rule>) -> Result<u32, GrammarError> {
        let offset = pair.as_span().start();
        let s = pair.as_str();
        let mut chars = s.chars();
        chars.next(); // the backslash
        let Some(kind) = chars.next() else {
            return Err(self.syntax(offset, "expected a character after `\\`"));
        };
        let digits = chars.as_str();
        let hex = |n: usize| -> Result<u32, GrammarError> {
            if digits.len() != n {
                return Err(self.syntax(
                    offset,
                    format!(
                        "expected {n} hex digits after `\\{kind}`, found {}",
                        digits.len()
                    ),
                ));
            }
            u32::from_str_radix(digits, 16)
                .map_err(|_| self.syntax(offset, format!("invalid hex digits in `{s}`")))
        };
        match kind {
            'x' => hex(2),
            'u' => hex(4),
            'U' => hex(8),
            'n' => Ok(u32::from('\n')),
            'r' => Ok(u32::from('\r')),
            't' => Ok(u32::from('\t')),
            c if c.is_ascii_punctuation() => Ok(u32::from(c)),
            c => Err(self.syntax(
                offset,
                format!(
                    "unknown escape `\\{c}` (known: \\x, \\u, \\U, \\n, \\r, \\t, and \\ before \
                     punctuation)"
                ),
            )),
        }
    }

    fn scalar(&self, cp: u32, offset: usize) -> Result<char, GrammarError> {
        char::from_u32(cp).ok_or_else(|| GrammarError::Unsupported {
            message: format!("U+{cp:04X} is not a Unicode scalar value"),
            location: Location::at(self.src, offset),
        })
    }
}

/// The scalar values in `lo..=hi` as a class range (none if empty). Ends
/// outside the scalar values are clamped.
fn scalar_range(lo: u32, hi: u32) -> Option<ClassUnicodeRange> {
    const SURROGATES: std::ops::RangeInclusive<u32> = 0xD800..=0xDFFF;
    let lo = if SURROGATES.contains(&lo) { 0xE000 } else { lo };
    let hi = hi.min(0x10FFFF);
    let hi = if SURROGATES.contains(&hi) { 0xD7FF } else { hi };
    if lo > hi {
        return None;
    }
    Some(ClassUnicodeRange::new(
        char::from_u32(lo)?,
        char::from_u32(hi)?,
    ))
}

/// Checks what pest reports badly or could overflow on: nesting depth,
/// unbalanced parentheses and unterminated literals and classes.
fn prescan(src: &str, config: &Config) -> Result<(), GrammarError> {
    let syntax = |offset: usize, message: &str| GrammarError::Syntax {
        message: message.into(),
        location: Location::at(src, offset),
    };
    let mut open: Vec<usize> = Vec::new();
    let mut it = src.char_indices();
    while let Some((i, c)) = it.next() {
        match c {
            '#' => {
                for (_, c) in it.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' | '[' => {
                let close = if c == '"' { '"' } else { ']' };
                let mut closed = false;
                while let Some((_, d)) = it.next() {
                    if d == '\\' {
                        it.next();
                    } else if d == close {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(syntax(
                        i,
                        if c == '"' {
                            "unterminated string literal: expected a closing `\"`"
                        } else {
                            "unterminated character class: expected a closing `]`"
                        },
                    ));
                }
            }
            '(' => {
                if open.len() >= config.max_nesting as usize {
                    return Err(GrammarError::Limit {
                        what: "nesting depth of parentheses".into(),
                        value: open.len() as u64 + 1,
                        limit: config.max_nesting.into(),
                    });
                }
                open.push(i);
            }
            ')' => {
                let Some(_) = open.pop() else {
                    return Err(syntax(i, "unmatched `)`"));
                };
            }
            _ => {}
        }
    }
    match open.last() {
        Some(&i) => Err(syntax(i, "unclosed `(`")),
        None => Ok(()),
    }
}

/// Words for what the parser expected, instead of pest's rule names.
fn describe(r: Rule) -> &'static str {
    match r {
        Rule::EOI => "end of input",
        Rule::grammar | Rule::rule | Rule::rule_head => "a rule definition (`name ::= ...`)",
        Rule::name => "a rule name",
        Rule::assign => "`::=`",
        Rule::bar => "`|`",
        Rule::open => "`(`",
        Rule::close => "`)`",
        Rule::postfix | Rule::star | Rule::plus | Rule::question | Rule::braces => {
            "a repetition operator"
        }
        Rule::comma => "`,`",
        Rule::rep_min | Rule::rep_max => "a number",
        Rule::quote => "`\"`",
        Rule::lit_text => "a character",
        Rule::escape => "an escape",
        Rule::negate | Rule::class_item | Rule::class_text => "a character",
        _ => "an expression",
    }
}

fn pest_error(src: &str, e: &pest::error::Error<Rule>) -> GrammarError {
    let offset = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let message = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<&str> = Vec::new();
            for &r in positives {
                let w = describe(r);
                if !words.contains(&w) {
                    words.push(w);
                }
            }
            let expected = match words.as_slice() {
                [] => String::from("unexpected input"),
                [one] => format!("expected {one}"),
                [init @ .., last] => format!("expected {} or {last}", init.join(", ")),
            };
            let found = match src.get(offset..).and_then(|s| s.chars().next()) {
                None => "end of input".to_string(),
                Some(c) if c.is_whitespace() => format!("{c:?}"),
                Some(c) => format!("`{c}`"),
            };
            format!("{expected}, found {found}")
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    GrammarError::Syntax {
        message,
        location: Location::at(src, offset),
    }
}

#[cfg(test)]
mod tests;
