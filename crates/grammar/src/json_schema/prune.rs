//! A last pass over the produced grammar: references to rules that derive
//! nothing, regexes that match nothing and the alternatives built on them
//! are removed, so that every remaining alternative can produce a value.

use std::collections::HashSet;
use std::sync::Arc;

use super::rx;
use crate::ir::{Expr, Grammar};

/// Prunes `g` in place; returns false when the start rule derives nothing.
pub(crate) fn prune(g: &mut Grammar) -> bool {
    let productive = productive_rules(g);
    let dead: HashSet<u32> = (0..g.rules.len() as u32)
        .filter(|&i| !productive[i as usize])
        .collect();
    for rule in &mut g.rules {
        let e = std::mem::replace(&mut rule.expr, Expr::Empty);
        rule.expr = simplify(e, &dead);
    }
    productive.get(g.start.index()).copied().unwrap_or(false)
}

/// Which rules derive some string: a least fixpoint, like
/// `analysis::unproductive_rules`, with the cheap regex test first.
fn productive_rules(g: &Grammar) -> Vec<bool> {
    let n = g.rules.len();
    let mut flags = vec![false; n];
    // Rules that refer to each rule, to re-check when it changes.
    let mut users: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (i, r) in g.rules.iter().enumerate() {
        crate::ir::visit(&r.expr, &mut |e| {
            if let Expr::Rule(t) = e {
                if let Some(u) = users.get_mut(t.index()) {
                    u.push(i as u32);
                }
            }
        });
    }
    let mut work: Vec<u32> = (0..n as u32).collect();
    while let Some(i) = work.pop() {
        let i = i as usize;
        if flags[i] {
            continue;
        }
        if produces(&g.rules[i].expr, &flags) {
            flags[i] = true;
            work.extend(users[i].iter().copied());
        }
    }
    flags
}

fn produces(e: &Expr, flags: &[bool]) -> bool {
    match e {
        Expr::Empty | Expr::Literal(_) => true,
        Expr::Nothing => false,
        Expr::Regex(h) => !rx::matches_nothing(h),
        Expr::Except { expr, .. } => !rx::matches_nothing(expr),
        Expr::Rule(r) => flags.get(r.index()).copied().unwrap_or(false),
        Expr::Seq(v) => v.iter().all(|x| produces(x, flags)),
        Expr::Alt(v) => v.iter().any(|x| produces(x, flags)),
        Expr::Repeat { expr, min, .. } => *min == 0 || produces(expr, flags),
        Expr::Capture { expr, .. } => produces(expr, flags),
    }
}

fn simplify(e: Expr, dead: &HashSet<u32>) -> Expr {
    match e {
        Expr::Rule(r) if dead.contains(&r.0) => Expr::Nothing,
        Expr::Regex(h) => {
            if rx::matches_nothing(&h) {
                Expr::Nothing
            } else if h.properties().minimum_len().is_some() {
                // Clean already (see `rx::clean`); often shared.
                Expr::Regex(h)
            } else {
                Expr::regex(rx::clean(Arc::unwrap_or_clone(h)))
            }
        }
        Expr::Alt(v) => {
            let mut out = Vec::with_capacity(v.len());
            for x in v {
                match simplify(x, dead) {
                    Expr::Nothing => {}
                    Expr::Alt(inner) => out.extend(inner),
                    x => out.push(x),
                }
            }
            Expr::alt(out)
        }
        Expr::Seq(v) => {
            let mut out = Vec::with_capacity(v.len());
            for x in v {
                match simplify(x, dead) {
                    Expr::Nothing => return Expr::Nothing,
                    Expr::Empty => {}
                    x => out.push(x),
                }
            }
            Expr::seq(out)
        }
        Expr::Repeat { expr, min, max } => match simplify(*expr, dead) {
            Expr::Nothing if min == 0 => Expr::Empty,
            Expr::Nothing => Expr::Nothing,
            Expr::Empty => Expr::Empty,
            x => Expr::Repeat {
                expr: Box::new(x),
                min,
                max,
            },
        },
        Expr::Capture { name, expr } => match simplify(*expr, dead) {
            Expr::Nothing => Expr::Nothing,
            x => Expr::Capture {
                name,
                expr: Box::new(x),
            },
        },
        e => e,
    }
}
