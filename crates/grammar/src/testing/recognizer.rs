//! A character-level Earley recognizer over the BNF lowering.

use std::collections::{HashMap, HashSet};

use super::bnf::{Bnf, Sym};
use crate::ir::Grammar;

/// A reference recognizer: decides membership in a grammar's language and
/// whether a text can still be extended into a member.
///
/// It is written to be obviously correct rather than fast: the grammar is
/// lowered to plain BNF over sets of characters (regex leaves included,
/// node by node) and run through a textbook Earley recognizer with the
/// Aycock–Horspool treatment of nullable symbols. Any context-free grammar
/// works, including left-recursive, ambiguous and nullable ones. The cost
/// is up to cubic in the text's length; meant for texts of a few hundred
/// characters in tests. Bounded repetitions are expanded, so building one
/// costs time linear in the bounds (`x{0,10000}` is fine, `x{0,u32::MAX}`
/// is not).
///
/// ```
/// use rein_grammar::testing::Recognizer;
///
/// let g = rein_grammar::gbnf::parse(r#"root ::= root "+" [0-9] | [0-9]"#).unwrap();
/// let r = Recognizer::new(&g);
/// assert!(r.accepts("1+2+3"));
/// assert!(!r.accepts("1+"));
/// assert!(r.is_prefix("1+"));
/// assert!(!r.is_prefix("+"));
/// ```
#[derive(Clone, Debug)]
pub struct Recognizer {
    bnf: Bnf,
}

/// An Earley item: production, position of the dot, origin set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Item {
    prod: u32,
    dot: u32,
    origin: u32,
}

/// One Earley set, with items indexed by the nonterminal after their dot.
#[derive(Default)]
struct Set {
    items: Vec<Item>,
    seen: HashSet<Item>,
    waiting: HashMap<u32, Vec<usize>>,
}

impl Recognizer {
    /// A recognizer for `g`'s language. References to missing rules (and
    /// look-around assertions in regexes, which the IR does not allow)
    /// match nothing.
    pub fn new(g: &Grammar) -> Recognizer {
        Recognizer { bnf: Bnf::new(g) }
    }

    /// Whether the whole of `text` is in the language.
    pub fn accepts(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let Some(sets) = self.run(&chars) else {
            return false;
        };
        let n = chars.len();
        sets.get(n).is_some_and(|set| {
            set.items.iter().any(|it| {
                let p = &self.bnf.prods[it.prod as usize];
                it.origin == 0 && p.lhs == self.bnf.start && it.dot as usize == p.rhs.len()
            })
        })
    }

    /// Whether some extension of `text` (possibly `text` itself) is in the
    /// language. The empty text is a prefix exactly when the language is
    /// not empty.
    pub fn is_prefix(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        // Every kept production is productive, so any item that survives
        // the whole text can be completed.
        self.run(&chars)
            .is_some_and(|sets| sets.get(chars.len()).is_some_and(|s| !s.items.is_empty()))
    }

    /// The Earley sets for `chars`, or `None` if some set is empty.
    fn run(&self, chars: &[char]) -> Option<Vec<Set>> {
        let bnf = &self.bnf;
        if !bnf.is_productive() {
            return None;
        }
        let mut sets: Vec<Set> = (0..=chars.len()).map(|_| Set::default()).collect();
        for &p in &bnf.by_lhs[bnf.start as usize] {
            add(
                bnf,
                &mut sets[0],
                Item {
                    prod: p,
                    dot: 0,
                    origin: 0,
                },
            );
        }
        for i in 0..=chars.len() {
            if sets[i].items.is_empty() {
                return None;
            }
            let mut k = 0;
            while k < sets[i].items.len() {
                let item = sets[i].items[k];
                k += 1;
                let prod = &bnf.prods[item.prod as usize];
                match prod.rhs.get(item.dot as usize) {
                    Some(&Sym::N(b)) => {
                        for &p in &bnf.by_lhs[b as usize] {
                            add(
                                bnf,
                                &mut sets[i],
                                Item {
                                    prod: p,
                                    dot: 0,
                                    origin: i as u32,
                                },
                            );
                        }
                        if bnf.nullable[b as usize] {
                            add(
                                bnf,
                                &mut sets[i],
                                Item {
                                    dot: item.dot + 1,
                                    ..item
                                },
                            );
                        }
                    }
                    Some(&Sym::T(t)) => {
                        if let Some(&c) = chars.get(i) {
                            if bnf.terms[t as usize].contains(c) {
                                add(
                                    bnf,
                                    &mut sets[i + 1],
                                    Item {
                                        dot: item.dot + 1,
                                        ..item
                                    },
                                );
                            }
                        }
                    }
                    None => {
                        // Complete: advance the items of the origin set
                        // that wait for this production's left-hand side.
                        let j = item.origin as usize;
                        let parents: Vec<Item> = sets[j]
                            .waiting
                            .get(&prod.lhs)
                            .map(|ix| ix.iter().map(|&x| sets[j].items[x]).collect())
                            .unwrap_or_default();
                        for parent in parents {
                            add(
                                bnf,
                                &mut sets[i],
                                Item {
                                    dot: parent.dot + 1,
                                    ..parent
                                },
                            );
                        }
                    }
                }
            }
        }
        Some(sets)
    }
}

fn add(bnf: &Bnf, set: &mut Set, item: Item) {
    if !set.seen.insert(item) {
        return;
    }
    let idx = set.items.len();
    set.items.push(item);
    if let Some(&Sym::N(b)) = bnf.prods[item.prod as usize].rhs.get(item.dot as usize) {
        set.waiting.entry(b).or_default().push(idx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gbnf;

    fn rec(src: &str) -> Recognizer {
        Recognizer::new(&gbnf::parse(src).unwrap())
    }

    #[test]
    fn nullable_and_completion_in_the_same_set() {
        // b is nullable and completes in the set where a waits for it.
        let r = rec("root ::= a\na ::= b b \"x\"\nb ::= \"\" | \"y\"");
        for s in ["x", "yx", "yyx"] {
            assert!(r.accepts(s), "{s}");
        }
        assert!(!r.accepts("yyyx"));
        assert!(r.is_prefix("yy"));
        assert!(!r.is_prefix("yyy"));
    }

    #[test]
    fn left_recursion_and_ambiguity() {
        let r = rec("root ::= root root | \"a\"");
        assert!(r.accepts("aaaaaaa"));
        assert!(!r.accepts(""));
        assert!(r.is_prefix(""));
        let r = rec("root ::= root \"-\" n | n\nn ::= [0-9]+");
        assert!(r.accepts("12-3-45"));
        assert!(!r.accepts("12--3"));
        assert!(!r.is_prefix("12--"));
    }

    #[test]
    fn bounded_repetition() {
        let r = rec(r#"root ::= ("ab"{2,3}){1,2}"#);
        for n in [2, 3, 4, 5, 6] {
            assert!(r.accepts(&"ab".repeat(n)), "{n}");
        }
        for n in [0, 1, 7] {
            assert!(!r.accepts(&"ab".repeat(n)), "{n}");
        }
        assert!(!r.is_prefix(&"ab".repeat(7)));
        assert!(r.is_prefix("aba"));
        assert!(!r.is_prefix("abb"));
    }

    #[test]
    fn unproductive_branches_are_not_prefixes() {
        let config = gbnf::Config {
            allow_unproductive: true,
            ..Default::default()
        };
        let g =
            gbnf::parse_with("root ::= \"a\" | \"b\" loop\nloop ::= \"c\" loop", &config).unwrap();
        let r = Recognizer::new(&g);
        assert!(r.accepts("a"));
        assert!(!r.is_prefix("b"));
        assert!(!r.is_prefix("bc"));
    }

    #[test]
    fn empty_language() {
        let r = Recognizer::new(&Grammar::from_expr(crate::Expr::Nothing));
        assert!(!r.accepts(""));
        assert!(!r.is_prefix(""));
        let r = Recognizer::new(&Grammar::new());
        assert!(!r.is_prefix(""));
    }
}
