//! Random strings of a grammar's language.

use rand::Rng;

use super::bnf::{Bnf, CharSet, Sym};
use crate::ir::Grammar;

/// Draws random strings from a grammar's language.
///
/// Works on the same BNF lowering as [`Recognizer`](super::Recognizer):
/// at each nonterminal it picks a production at random, until the
/// derivation is `max_depth` deep; past that (or once the output is long)
/// it picks a production of least height, which always terminates.
/// Characters are drawn from whole classes, multi-byte ones included, with
/// a bias toward the ends of ranges.
///
/// ```
/// use rein_grammar::testing::{Recognizer, Sampler};
///
/// let g = rein_grammar::gbnf::parse(r#"root ::= "[" [0-9]+ ("," [0-9]+)* "]""#).unwrap();
/// let (s, r) = (Sampler::new(&g), Recognizer::new(&g));
/// let mut rng = rand::rng();
/// for _ in 0..10 {
///     let text = s.sample(&mut rng, 8).unwrap();
///     assert!(r.accepts(&text), "{text}");
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Sampler {
    bnf: Bnf,
    /// Least derivation height of each nonterminal (`u32::MAX` if none).
    height: Vec<u32>,
    /// Least height of each production.
    prod_height: Vec<u32>,
}

/// Past this many output characters, every choice heads for the end.
const SOFT_MAX_LEN: usize = 4096;

impl Sampler {
    /// A sampler for `g`'s language.
    pub fn new(g: &Grammar) -> Sampler {
        let bnf = Bnf::new(g);
        let mut height = vec![u32::MAX; bnf.n_nonterminals()];
        let mut prod_height = vec![u32::MAX; bnf.prods.len()];
        loop {
            let mut changed = false;
            for (i, p) in bnf.prods.iter().enumerate() {
                let mut h = 1u32;
                for s in &p.rhs {
                    if let Sym::N(x) = *s {
                        h = h.max(height[x as usize].saturating_add(1));
                    }
                }
                if h < prod_height[i] {
                    prod_height[i] = h;
                }
                if h < height[p.lhs as usize] {
                    height[p.lhs as usize] = h;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Sampler {
            bnf,
            height,
            prod_height,
        }
    }

    /// A random string of the language, or `None` if the language is
    /// empty. Recursion deeper than `max_depth` is avoided where the
    /// grammar allows (the shortest way out is taken); the result is always
    /// in the language.
    pub fn sample(&self, rng: &mut impl Rng, max_depth: u32) -> Option<String> {
        let bnf = &self.bnf;
        if !bnf.is_productive() {
            return None;
        }
        let mut out = String::new();
        let mut stack: Vec<(Sym, u32)> = vec![(Sym::N(bnf.start), 0)];
        while let Some((sym, depth)) = stack.pop() {
            match sym {
                Sym::T(t) => out.push(random_char(&bnf.terms[t as usize], rng)),
                Sym::N(x) => {
                    let prods = &bnf.by_lhs[x as usize];
                    let wind_down = depth >= max_depth || out.len() > SOFT_MAX_LEN;
                    // Half-way down, lean toward the shortest productions.
                    let lean = depth >= max_depth / 2 && rng.random_bool(0.5);
                    let choice = if wind_down || lean {
                        let best = prods
                            .iter()
                            .map(|&p| self.prod_height[p as usize])
                            .min()
                            .unwrap_or(u32::MAX);
                        let shortest: Vec<u32> = prods
                            .iter()
                            .copied()
                            .filter(|&p| self.prod_height[p as usize] == best)
                            .collect();
                        pick(&shortest, rng)
                    } else {
                        pick(prods, rng)
                    };
                    let p = choice?;
                    for &s in bnf.prods[p as usize].rhs.iter().rev() {
                        stack.push((s, depth + 1));
                    }
                }
            }
        }
        debug_assert!(self.height.len() == bnf.n_nonterminals());
        Some(out)
    }
}

fn pick(xs: &[u32], rng: &mut impl Rng) -> Option<u32> {
    if xs.is_empty() {
        return None;
    }
    xs.get(rng.random_range(0..xs.len())).copied()
}

/// A character from the set: a random range, then one of its ends or any
/// character inside it.
fn random_char(set: &CharSet, rng: &mut impl Rng) -> char {
    let Some(&(lo, hi)) = set.0.get(rng.random_range(0..set.0.len().max(1))) else {
        return '\0';
    };
    match rng.random_range(0..4) {
        0 => lo,
        1 => hi,
        _ => {
            let c = rng.random_range(u32::from(lo)..=u32::from(hi));
            char::from_u32(c).unwrap_or(lo)
        }
    }
}
