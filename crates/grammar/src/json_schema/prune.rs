//! A last pass over the produced grammar: references to rules that derive
//! nothing, regexes that match nothing and the alternatives built on them
//! are removed, so that every remaining alternative can produce a value.

use std::collections::HashSet;

use super::rx;
use crate::analysis;
use crate::ir::{Expr, Grammar};

pub(crate) fn prune(g: &mut Grammar) {
    let dead: HashSet<u32> = analysis::unproductive_rules(g)
        .into_iter()
        .map(|r| r.0)
        .collect();
    for rule in &mut g.rules {
        let e = std::mem::replace(&mut rule.expr, Expr::Empty);
        rule.expr = simplify(e, &dead);
    }
}

fn simplify(e: Expr, dead: &HashSet<u32>) -> Expr {
    match e {
        Expr::Rule(r) if dead.contains(&r.0) => Expr::Nothing,
        Expr::Regex(h) => {
            if rx::matches_nothing(&h) {
                Expr::Nothing
            } else {
                Expr::Regex(Box::new(rx::clean(*h)))
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
