//! Analyses over the IR that every front-end (and the engine) can use.
//!
//! ```
//! use rein_grammar::{analysis, Expr, Grammar};
//!
//! // root ::= "x" | loop ; loop ::= "y" loop   (`loop` can never finish)
//! let mut g = Grammar::new();
//! let root = g.add_rule("root", Expr::Nothing);
//! let lp = g.add_rule("loop", Expr::Nothing);
//! g.rules[root.index()].expr = Expr::alt(vec![Expr::literal("x"), Expr::Rule(lp)]);
//! g.rules[lp.index()].expr = Expr::seq(vec![Expr::literal("y"), Expr::Rule(lp)]);
//! assert_eq!(analysis::unproductive_rules(&g), vec![lp]);
//! assert_eq!(analysis::nullable_rules(&g), vec![]);
//! ```
//!
//! Every function here walks expressions with an explicit stack, so deeply
//! nested grammars cannot overflow the call stack.

use std::collections::VecDeque;

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::ir::{Expr, Grammar, RuleId};

/// The rules that derive no string at all (their language is empty), in
/// increasing id order.
///
/// A rule is productive when some alternative of its definition consists of
/// productive parts only: literals, the empty string, regexes that match
/// something (see [`hir_matches_nothing`]), productive rules, repetitions
/// with a minimum of zero. References to rules that do not exist are
/// unproductive.
pub fn unproductive_rules(g: &Grammar) -> Vec<RuleId> {
    let productive = fixpoint(g, |e, known| {
        eval(e, &mut |leaf| match leaf {
            Expr::Empty | Expr::Literal(_) => true,
            Expr::Nothing => false,
            Expr::Regex(h) => !hir_matches_nothing(h),
            // Unbounded texts minus bounded ones: never empty.
            Expr::Except { expr, .. } => !hir_matches_nothing(expr),
            Expr::Rule(r) => known.get(r.index()).copied().unwrap_or(false),
            _ => false,
        })
    });
    ids_where(&productive, false)
}

/// The rules that derive the empty string, in increasing id order.
pub fn nullable_rules(g: &Grammar) -> Vec<RuleId> {
    let nullable = fixpoint(g, |e, known| {
        eval(e, &mut |leaf| match leaf {
            Expr::Empty => true,
            Expr::Literal(s) => s.is_empty(),
            Expr::Nothing => false,
            Expr::Regex(h) => hir_matches_empty(h),
            Expr::Except { expr, except } => hir_matches_empty(expr) && !hir_matches_empty(except),
            Expr::Rule(r) => known.get(r.index()).copied().unwrap_or(false),
            _ => false,
        })
    });
    ids_where(&nullable, true)
}

/// The rules reachable from `from` (itself included), in breadth-first
/// order, following references in the order they appear in definitions.
/// References to rules that do not exist are skipped.
pub fn reachable_rules(g: &Grammar, from: RuleId) -> Vec<RuleId> {
    let mut seen = vec![false; g.rules.len()];
    let mut order = Vec::new();
    let mut queue = VecDeque::new();
    if let Some(s) = seen.get_mut(from.index()) {
        *s = true;
        queue.push_back(from);
    }
    while let Some(r) = queue.pop_front() {
        order.push(r);
        let Some(rule) = g.rule(r) else { continue };
        for next in referenced_rules(&rule.expr) {
            if let Some(s) = seen.get_mut(next.index()) {
                if !*s {
                    *s = true;
                    queue.push_back(next);
                }
            }
        }
    }
    order
}

/// The rules `e` refers to, each once, in the order they first appear.
pub fn referenced_rules(e: &Expr) -> Vec<RuleId> {
    let mut out = Vec::new();
    // Children are pushed in reverse so they are visited left to right.
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        if let Expr::Rule(r) = e {
            if !out.contains(r) {
                out.push(*r);
            }
        }
        stack.extend(e.children().iter().rev());
    }
    out
}

/// Whether the regex matches no string at all (for example an empty class,
/// or a concatenation containing one).
pub fn hir_matches_nothing(h: &Hir) -> bool {
    // The parser's properties give the minimum length of a match, `None`
    // for no match at all or a length past `usize` (then walk the tree).
    if h.properties().minimum_len().is_some() {
        return false;
    }
    !eval_hir(h, &mut |leaf| match leaf.kind() {
        HirKind::Class(Class::Unicode(c)) => !c.ranges().is_empty(),
        HirKind::Class(Class::Bytes(c)) => !c.ranges().is_empty(),
        _ => true,
    })
}

/// Whether the regex matches the empty string.
pub fn hir_matches_empty(h: &Hir) -> bool {
    if let Some(n) = h.properties().minimum_len() {
        return n == 0;
    }
    eval_hir(h, &mut |leaf| match leaf.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(l) => l.0.is_empty(),
        _ => false,
    })
}

/// Rule ids whose flag equals `value`.
fn ids_where(flags: &[bool], value: bool) -> Vec<RuleId> {
    flags
        .iter()
        .enumerate()
        .filter(|&(_, &f)| f == value)
        .map(|(i, _)| RuleId(i as u32))
        .collect()
}

/// The least fixpoint of a monotone property of rules: starts with every
/// rule `false` and sets a rule `true` when `holds(its expr, current flags)`,
/// re-checking the rules that refer to a rule whenever it changes.
fn fixpoint(g: &Grammar, holds: impl Fn(&Expr, &[bool]) -> bool) -> Vec<bool> {
    let n = g.rules.len();
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, rule) in g.rules.iter().enumerate() {
        for r in referenced_rules(&rule.expr) {
            if let Some(u) = users.get_mut(r.index()) {
                u.push(i);
            }
        }
    }
    let mut flags = vec![false; n];
    let mut queue: VecDeque<usize> = (0..n).collect();
    let mut queued = vec![true; n];
    while let Some(i) = queue.pop_front() {
        queued[i] = false;
        if flags[i] || !holds(&g.rules[i].expr, &flags) {
            continue;
        }
        flags[i] = true;
        for &u in &users[i] {
            if !flags[u] && !queued[u] {
                queued[u] = true;
                queue.push_back(u);
            }
        }
    }
    flags
}

/// Evaluates a boolean property bottom-up: `leaf` decides the leaves;
/// sequences need all parts, alternations one, repetitions with a minimum
/// of zero are always true, captures pass through.
fn eval(e: &Expr, leaf: &mut impl FnMut(&Expr) -> bool) -> bool {
    enum Step<'a> {
        Enter(&'a Expr),
        Exit(&'a Expr),
    }
    let mut steps = vec![Step::Enter(e)];
    let mut values: Vec<bool> = Vec::new();
    while let Some(step) = steps.pop() {
        match step {
            Step::Enter(e) => match e {
                Expr::Seq(_) | Expr::Alt(_) | Expr::Repeat { .. } | Expr::Capture { .. } => {
                    steps.push(Step::Exit(e));
                    steps.extend(e.children().iter().map(Step::Enter));
                }
                _ => values.push(leaf(e)),
            },
            Step::Exit(e) => {
                let n = match e {
                    Expr::Seq(v) | Expr::Alt(v) => v.len(),
                    _ => 1,
                };
                let kids = values.split_off(values.len().saturating_sub(n));
                values.push(match e {
                    Expr::Seq(_) => kids.iter().all(|&b| b),
                    Expr::Alt(_) => kids.iter().any(|&b| b),
                    Expr::Repeat { min, .. } => *min == 0 || kids.iter().all(|&b| b),
                    _ => kids.iter().all(|&b| b),
                });
            }
        }
    }
    values.pop().unwrap_or(false)
}

/// [`eval`] for regexes: `leaf` decides empty, literal, class and look
/// nodes.
fn eval_hir(h: &Hir, leaf: &mut impl FnMut(&Hir) -> bool) -> bool {
    enum Step<'a> {
        Enter(&'a Hir),
        Exit(&'a Hir),
    }
    let mut steps = vec![Step::Enter(h)];
    let mut values: Vec<bool> = Vec::new();
    while let Some(step) = steps.pop() {
        match step {
            Step::Enter(h) => match h.kind() {
                HirKind::Concat(v) | HirKind::Alternation(v) => {
                    steps.push(Step::Exit(h));
                    steps.extend(v.iter().map(Step::Enter));
                }
                HirKind::Repetition(r) => {
                    steps.push(Step::Exit(h));
                    steps.push(Step::Enter(&r.sub));
                }
                HirKind::Capture(c) => {
                    steps.push(Step::Exit(h));
                    steps.push(Step::Enter(&c.sub));
                }
                _ => values.push(leaf(h)),
            },
            Step::Exit(h) => {
                let n = match h.kind() {
                    HirKind::Concat(v) | HirKind::Alternation(v) => v.len(),
                    _ => 1,
                };
                let kids = values.split_off(values.len().saturating_sub(n));
                values.push(match h.kind() {
                    HirKind::Alternation(_) => kids.iter().any(|&b| b),
                    HirKind::Repetition(r) => r.min == 0 || kids.iter().all(|&b| b),
                    _ => kids.iter().all(|&b| b),
                });
            }
        }
    }
    values.pop().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ranges: &[(char, char)]) -> Expr {
        use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
        Expr::regex(Hir::class(Class::Unicode(ClassUnicode::new(
            ranges.iter().map(|&(a, b)| ClassUnicodeRange::new(a, b)),
        ))))
    }

    #[test]
    fn empty_class_is_unproductive_but_its_star_is_not() {
        let mut g = Grammar::new();
        let a = g.add_rule("a", class(&[]));
        let b = g.add_rule("b", Expr::repeat(class(&[]), 0, None));
        let c = g.add_rule("c", Expr::repeat(class(&[]), 1, None));
        g.start = a;
        assert_eq!(unproductive_rules(&g), vec![a, c]);
        assert_eq!(nullable_rules(&g), vec![b]);
    }

    #[test]
    fn mutual_recursion_with_exit_is_productive() {
        // a ::= "(" b ")" | "x" ; b ::= a a
        let mut g = Grammar::new();
        let a = g.add_rule("a", Expr::Nothing);
        let b = g.add_rule("b", Expr::seq(vec![Expr::Rule(a), Expr::Rule(a)]));
        g.rules[a.index()].expr = Expr::alt(vec![
            Expr::seq(vec![Expr::literal("("), Expr::Rule(b), Expr::literal(")")]),
            Expr::literal("x"),
        ]);
        assert!(unproductive_rules(&g).is_empty());
        // Defined in the "wrong" order, with a chain.
        let mut g = Grammar::new();
        let ids: Vec<RuleId> = (0..50)
            .map(|i| g.add_rule(format!("r{i}"), Expr::Nothing))
            .collect();
        for i in 0..49 {
            g.rules[i].expr = Expr::Rule(ids[i + 1]);
        }
        g.rules[49].expr = Expr::literal("z");
        assert!(unproductive_rules(&g).is_empty());
    }

    #[test]
    fn dangling_reference_is_unproductive() {
        let mut g = Grammar::new();
        let a = g.add_rule("a", Expr::Rule(RuleId(7)));
        assert_eq!(unproductive_rules(&g), vec![a]);
        assert_eq!(reachable_rules(&g, a), vec![a]);
        assert_eq!(reachable_rules(&g, RuleId(9)), vec![]);
    }

    #[test]
    fn references_in_order() {
        let e = Expr::seq(vec![
            Expr::Rule(RuleId(3)),
            Expr::alt(vec![Expr::Rule(RuleId(1)), Expr::Rule(RuleId(3))]),
            Expr::repeat(Expr::Rule(RuleId(2)), 0, None),
        ]);
        assert_eq!(referenced_rules(&e), vec![RuleId(3), RuleId(1), RuleId(2)]);
    }

    #[test]
    fn deep_expression_does_not_overflow() {
        let mut e = Expr::literal("a");
        for _ in 0..100_000 {
            e = Expr::Seq(vec![e, Expr::Empty]);
        }
        let g = Grammar::from_expr(e);
        assert!(unproductive_rules(&g).is_empty());
        assert!(nullable_rules(&g).is_empty());
        // Dropping a deep tree recurses; leak it rather than overflow.
        std::mem::forget(g);
    }
}
