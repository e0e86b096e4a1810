//! Boolean operations on decoded-level regexes, through small DFAs.
//!
//! `pattern` together with `format`, `patternProperties` minus the declared
//! property names, keys matching none of the patterns, `not: {pattern}`:
//! each needs the intersection or complement of regexes, which regex
//! syntax cannot express directly. [`combine`] builds DFAs for the regexes
//! (over a partition of Unicode into the intervals the regexes
//! distinguish), takes the product, minimizes it and turns it back into a
//! regex by state elimination. Every step has a budget; past it the caller
//! gets [`TooBig`] and reports an error naming the keyword.

use std::collections::{BTreeSet, HashMap};

use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind};

use super::rx::{self, TooBig};

/// The work of automata operations, in transitions (and regex nodes)
/// built, charged to the schema compiler's work limit: one intersection is
/// bounded by the sizes below, but a schema can ask for thousands of them
/// (`not` of `allOf` of patterns, nested), and Moore's minimization is
/// quadratic in the states.
#[derive(Debug)]
pub(crate) struct Budget {
    left: usize,
    /// Work done so far.
    pub(crate) used: usize,
}

impl Budget {
    /// A budget of `left` units.
    pub(crate) fn new(left: usize) -> Budget {
        Budget { left, used: 0 }
    }

    fn spend(&mut self, n: usize) -> Result<(), TooBig> {
        self.used = self.used.saturating_add(n);
        if self.used > self.left {
            return Err(TooBig::new("automata work", self.left));
        }
        Ok(())
    }
}

/// Budgets of one [`combine`].
const MAX_NFA_STATES: usize = 20_000;
const MAX_DFA_STATES: usize = 4_000;
const MAX_SYMBOLS: usize = 2_000;
const MAX_REGEX_NODES: usize = 30_000;

/// Disjoint intervals of code points, each treated as one symbol.
struct Alphabet {
    /// Start of each interval; interval `i` ends before `starts[i + 1]`
    /// (the last one at U+10FFFF).
    starts: Vec<u32>,
}

impl Alphabet {
    fn new(hirs: &[&Hir]) -> Alphabet {
        let mut cuts: BTreeSet<u32> = BTreeSet::new();
        cuts.insert(0);
        let mut stack: Vec<&Hir> = hirs.to_vec();
        while let Some(h) = stack.pop() {
            match h.kind() {
                HirKind::Literal(l) => {
                    for c in String::from_utf8_lossy(&l.0).chars() {
                        cuts.insert(c as u32);
                        cuts.insert(c as u32 + 1);
                    }
                }
                HirKind::Class(Class::Unicode(c)) => {
                    for r in c.ranges() {
                        cuts.insert(r.start() as u32);
                        cuts.insert(r.end() as u32 + 1);
                    }
                }
                _ => stack.extend(h.kind().subs()),
            }
        }
        cuts.retain(|&c| c <= 0x10FFFF);
        Alphabet {
            starts: cuts.into_iter().collect(),
        }
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    fn symbol(&self, c: u32) -> usize {
        self.starts.partition_point(|&s| s <= c) - 1
    }

    fn interval(&self, i: usize) -> (u32, u32) {
        let end = self.starts.get(i + 1).map_or(0x10FFFF, |s| s - 1);
        (self.starts[i], end)
    }

    /// The symbols of a class (each interval is inside or outside it).
    fn class_symbols(&self, c: &ClassUnicode) -> Vec<u32> {
        let mut out = Vec::new();
        for r in c.ranges() {
            let (a, b) = (self.symbol(r.start() as u32), self.symbol(r.end() as u32));
            out.extend((a..=b).map(|x| x as u32));
        }
        out
    }

    /// The class of a set of symbols (surrogates skipped).
    fn class(&self, syms: &[u32]) -> Hir {
        let mut ranges = Vec::new();
        for &s in syms {
            let (a, b) = self.interval(s as usize);
            // Drop the surrogate gap, which holds no characters.
            for (x, y) in [(a, b.min(0xD7FF)), (a.max(0xE000), b)] {
                if x <= y {
                    if let (Some(x), Some(y)) = (char::from_u32(x), char::from_u32(y)) {
                        ranges.push(ClassUnicodeRange::new(x, y));
                    }
                }
            }
        }
        Hir::class(Class::Unicode(ClassUnicode::new(ranges)))
    }
}

/// A Thompson NFA over symbols.
struct Nfa {
    eps: Vec<Vec<u32>>,
    edges: Vec<Vec<(u32, u32)>>,
}

impl Nfa {
    fn new_state(&mut self) -> Result<u32, TooBig> {
        if self.eps.len() >= MAX_NFA_STATES {
            return Err(TooBig::new("NFA states", MAX_NFA_STATES));
        }
        self.eps.push(Vec::new());
        self.edges.push(Vec::new());
        Ok(self.eps.len() as u32 - 1)
    }

    /// Adds `h` between two new states; returns (start, end).
    fn add(&mut self, h: &Hir, alpha: &Alphabet) -> Result<(u32, u32), TooBig> {
        let s = self.new_state()?;
        let e = self.new_state()?;
        self.build(h, s, e, alpha)?;
        Ok((s, e))
    }

    fn build(&mut self, h: &Hir, s: u32, e: u32, alpha: &Alphabet) -> Result<(), TooBig> {
        match h.kind() {
            HirKind::Empty => self.eps[s as usize].push(e),
            // Front-ends reject look-around before building automata.
            HirKind::Look(_) => return Err(TooBig::new("look-around assertions", 0)),
            HirKind::Literal(l) => {
                let chars: Vec<char> = String::from_utf8_lossy(&l.0).chars().collect();
                let mut cur = s;
                for (i, c) in chars.iter().enumerate() {
                    let next = if i + 1 == chars.len() {
                        e
                    } else {
                        self.new_state()?
                    };
                    let sym = alpha.symbol(*c as u32) as u32;
                    self.edges[cur as usize].push((sym, next));
                    cur = next;
                }
                if chars.is_empty() {
                    self.eps[s as usize].push(e);
                }
            }
            HirKind::Class(Class::Unicode(c)) => {
                for sym in alpha.class_symbols(c) {
                    self.edges[s as usize].push((sym, e));
                }
            }
            HirKind::Class(Class::Bytes(_)) => return Err(TooBig::new("byte classes", 0)),
            HirKind::Capture(c) => self.build(&c.sub, s, e, alpha)?,
            HirKind::Concat(v) => {
                let mut cur = s;
                for (i, x) in v.iter().enumerate() {
                    let next = if i + 1 == v.len() {
                        e
                    } else {
                        self.new_state()?
                    };
                    self.build(x, cur, next, alpha)?;
                    cur = next;
                }
                if v.is_empty() {
                    self.eps[s as usize].push(e);
                }
            }
            HirKind::Alternation(v) => {
                for x in v {
                    let (a, b) = self.add(x, alpha)?;
                    self.eps[s as usize].push(a);
                    self.eps[b as usize].push(e);
                }
            }
            HirKind::Repetition(r) => {
                let mut cur = s;
                for _ in 0..r.min {
                    let next = self.new_state()?;
                    self.build(&r.sub, cur, next, alpha)?;
                    cur = next;
                }
                match r.max {
                    None => {
                        // cur -> sub -> cur, cur -> e
                        let (a, b) = self.add(&r.sub, alpha)?;
                        self.eps[cur as usize].push(a);
                        self.eps[b as usize].push(cur);
                        self.eps[cur as usize].push(e);
                    }
                    Some(max) => {
                        self.eps[cur as usize].push(e);
                        for _ in r.min..max {
                            let next = self.new_state()?;
                            self.build(&r.sub, cur, next, alpha)?;
                            self.eps[next as usize].push(e);
                            cur = next;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds the states reachable by empty moves to the sorted, deduplicated
    /// `set`; `seen` is scratch space of one flag per state, all false
    /// (left so).
    fn closure(&self, set: &mut Vec<u32>, seen: &mut [bool]) {
        for &x in set.iter() {
            seen[x as usize] = true;
        }
        let mut stack = set.clone();
        while let Some(x) = stack.pop() {
            for &y in &self.eps[x as usize] {
                if !seen[y as usize] {
                    seen[y as usize] = true;
                    set.push(y);
                    stack.push(y);
                }
            }
        }
        for &x in set.iter() {
            seen[x as usize] = false;
        }
        set.sort_unstable();
    }
}

/// A complete DFA: `trans[state * n + symbol]`.
#[derive(Clone)]
struct Dfa {
    n: usize,
    trans: Vec<u32>,
    accept: Vec<bool>,
}

impl Dfa {
    fn states(&self) -> usize {
        self.accept.len()
    }

    fn next(&self, s: u32, a: usize) -> u32 {
        self.trans[s as usize * self.n + a]
    }

    fn from_hir(h: &Hir, alpha: &Alphabet, b: &mut Budget) -> Result<Dfa, TooBig> {
        let mut nfa = Nfa {
            eps: Vec::new(),
            edges: Vec::new(),
        };
        let (s, e) = nfa.add(h, alpha)?;
        let n = alpha.len();
        let mut start = vec![s];
        let mut seen = vec![false; nfa.eps.len()];
        nfa.closure(&mut start, &mut seen);
        let mut ids: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut sets: Vec<Vec<u32>> = Vec::new();
        ids.insert(start.clone(), 0);
        sets.push(start);
        let mut trans: Vec<u32> = Vec::new();
        let mut accept = Vec::new();
        let mut i = 0;
        while i < sets.len() {
            let set = sets[i].clone();
            b.spend(n + set.len())?;
            accept.push(set.contains(&e));
            let mut by_sym: Vec<Vec<u32>> = vec![Vec::new(); n];
            for &x in &set {
                for &(a, t) in &nfa.edges[x as usize] {
                    by_sym[a as usize].push(t);
                }
            }
            for mut t in by_sym {
                t.sort_unstable();
                t.dedup();
                nfa.closure(&mut t, &mut seen);
                b.spend(t.len())?;
                let id = match ids.get(&t) {
                    Some(&id) => id,
                    None => {
                        if sets.len() >= MAX_DFA_STATES {
                            return Err(TooBig::new("DFA states", MAX_DFA_STATES));
                        }
                        let id = sets.len() as u32;
                        ids.insert(t.clone(), id);
                        sets.push(t);
                        id
                    }
                };
                trans.push(id);
            }
            i += 1;
        }
        Ok(Dfa { n, trans, accept })
    }

    /// The product automaton accepting where `f(accept_a, accept_b)`.
    fn product(
        &self,
        o: &Dfa,
        f: impl Fn(bool, bool) -> bool,
        b: &mut Budget,
    ) -> Result<Dfa, TooBig> {
        let n = self.n;
        let mut ids: HashMap<(u32, u32), u32> = HashMap::new();
        let mut pairs = vec![(0u32, 0u32)];
        ids.insert((0, 0), 0);
        let mut trans = Vec::new();
        let mut accept = Vec::new();
        let mut i = 0;
        while i < pairs.len() {
            let (p, q) = pairs[i];
            b.spend(n)?;
            accept.push(f(self.accept[p as usize], o.accept[q as usize]));
            for a in 0..n {
                let t = (self.next(p, a), o.next(q, a));
                let id = match ids.get(&t) {
                    Some(&id) => id,
                    None => {
                        if pairs.len() >= MAX_DFA_STATES {
                            return Err(TooBig::new("DFA states", MAX_DFA_STATES));
                        }
                        let id = pairs.len() as u32;
                        ids.insert(t, id);
                        pairs.push(t);
                        id
                    }
                };
                trans.push(id);
            }
            i += 1;
        }
        Ok(Dfa { n, trans, accept })
    }

    fn complement(mut self) -> Dfa {
        for a in &mut self.accept {
            *a = !*a;
        }
        self
    }

    /// States from which an accepting state is reachable.
    fn live(&self) -> Vec<bool> {
        let k = self.states();
        let mut rev: Vec<Vec<u32>> = vec![Vec::new(); k];
        for s in 0..k {
            for a in 0..self.n {
                rev[self.next(s as u32, a) as usize].push(s as u32);
            }
        }
        let mut live = self.accept.clone();
        let mut stack: Vec<u32> = (0..k as u32).filter(|&s| live[s as usize]).collect();
        while let Some(s) = stack.pop() {
            for &p in &rev[s as usize] {
                if !live[p as usize] {
                    live[p as usize] = true;
                    stack.push(p);
                }
            }
        }
        live
    }

    fn is_empty(&self) -> bool {
        !self.live()[0]
    }

    /// Moore's partition refinement.
    fn minimize(&self, b: &mut Budget) -> Result<Dfa, TooBig> {
        let k = self.states();
        let mut class: Vec<u32> = self.accept.iter().map(|&a| a as u32).collect();
        let mut count = 0;
        loop {
            b.spend(k * (self.n + 1))?;
            let mut ids: HashMap<Vec<u32>, u32> = HashMap::new();
            let mut next = Vec::with_capacity(k);
            for s in 0..k {
                let mut sig = Vec::with_capacity(self.n + 1);
                sig.push(class[s]);
                for a in 0..self.n {
                    sig.push(class[self.next(s as u32, a) as usize]);
                }
                let l = ids.len() as u32;
                next.push(*ids.entry(sig).or_insert(l));
            }
            let c = ids.len();
            class = next;
            if c == count {
                break;
            }
            count = c;
        }
        // Renumber so that the start state's class is 0.
        let mut order: HashMap<u32, u32> = HashMap::new();
        let mut reps: Vec<usize> = Vec::new();
        let mut queue = vec![0u32];
        order.insert(class[0], 0);
        reps.push(0);
        let mut i = 0;
        while i < queue.len() {
            let s = reps[queue[i] as usize];
            for a in 0..self.n {
                let t = self.next(s as u32, a) as usize;
                if !order.contains_key(&class[t]) {
                    let id = order.len() as u32;
                    order.insert(class[t], id);
                    reps.push(t);
                    queue.push(id);
                }
            }
            i += 1;
        }
        let mut trans = Vec::with_capacity(reps.len() * self.n);
        let mut accept = Vec::with_capacity(reps.len());
        for &s in &reps {
            accept.push(self.accept[s]);
            for a in 0..self.n {
                trans.push(order[&class[self.next(s as u32, a) as usize]]);
            }
        }
        Ok(Dfa {
            n: self.n,
            trans,
            accept,
        })
    }

    /// A regex for the language, by state elimination.
    fn to_hir(&self, alpha: &Alphabet, w: &mut Budget) -> Result<Hir, TooBig> {
        let live = self.live();
        if !live[0] {
            return Ok(Hir::fail());
        }
        let k = self.states();
        // Node ids: states 0..k, start k, final k+1.
        let (start, fin) = (k, k + 1);
        let mut edges: HashMap<(usize, usize), (Hir, usize)> = HashMap::new();
        let mut succ: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); k + 2];
        let mut pred: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); k + 2];
        let mut add = |edges: &mut HashMap<(usize, usize), (Hir, usize)>,
                       p: usize,
                       q: usize,
                       h: Hir,
                       size: usize| {
            succ[p].insert(q);
            pred[q].insert(p);
            match edges.remove(&(p, q)) {
                Some((old, n)) => {
                    edges.insert((p, q), (rx::alt(vec![old, h]), n + size + 1));
                }
                None => {
                    edges.insert((p, q), (h, size));
                }
            }
        };
        add(&mut edges, start, 0, Hir::empty(), 1);
        for s in 0..k {
            if !live[s] {
                continue;
            }
            w.spend(self.n)?;
            if self.accept[s] {
                add(&mut edges, s, fin, Hir::empty(), 1);
            }
            let mut by_target: HashMap<usize, Vec<u32>> = HashMap::new();
            for a in 0..self.n {
                let t = self.next(s as u32, a) as usize;
                if live[t] {
                    by_target.entry(t).or_default().push(a as u32);
                }
            }
            for (t, syms) in by_target {
                add(&mut edges, s, t, alpha.class(&syms), 1);
            }
        }
        let mut remaining: BTreeSet<usize> = (0..k).filter(|&s| live[s]).collect();
        while !remaining.is_empty() {
            // Choosing the state visits every remaining state's edges.
            w.spend(
                remaining
                    .iter()
                    .map(|&s| pred[s].len() + succ[s].len())
                    .sum(),
            )?;
            // The state with the fewest paths through it.
            let &x = remaining
                .iter()
                .min_by_key(|&&s| {
                    let i = pred[s].iter().filter(|&&p| p != s).count();
                    let o = succ[s].iter().filter(|&&q| q != s).count();
                    i * o
                })
                .ok_or(TooBig::new("regex nodes", MAX_REGEX_NODES))?;
            remaining.remove(&x);
            let self_loop = edges.remove(&(x, x));
            let ps: Vec<usize> = pred[x].iter().copied().filter(|&p| p != x).collect();
            let qs: Vec<usize> = succ[x].iter().copied().filter(|&q| q != x).collect();
            for &p in &ps {
                for &q in &qs {
                    let (a, na) = edges
                        .get(&(p, x))
                        .cloned()
                        .ok_or(TooBig::new("regex nodes", MAX_REGEX_NODES))?;
                    let (b, nb) = edges
                        .get(&(x, q))
                        .cloned()
                        .ok_or(TooBig::new("regex nodes", MAX_REGEX_NODES))?;
                    let mut parts = vec![a];
                    let mut size = na + nb + 1;
                    if let Some((l, nl)) = &self_loop {
                        parts.push(rx::rep(l.clone(), 0, None));
                        size += nl + 1;
                    }
                    parts.push(b);
                    if size > MAX_REGEX_NODES {
                        return Err(TooBig::new("regex nodes", MAX_REGEX_NODES));
                    }
                    w.spend(size)?;
                    let h = rx::concat(parts);
                    succ[p].insert(q);
                    pred[q].insert(p);
                    match edges.remove(&(p, q)) {
                        Some((old, n)) => {
                            if n + size > MAX_REGEX_NODES {
                                return Err(TooBig::new("regex nodes", MAX_REGEX_NODES));
                            }
                            edges.insert((p, q), (rx::alt(vec![old, h]), n + size + 1));
                        }
                        None => {
                            edges.insert((p, q), (h, size));
                        }
                    }
                }
            }
            for &p in &ps {
                edges.remove(&(p, x));
                succ[p].remove(&x);
            }
            for &q in &qs {
                edges.remove(&(x, q));
                pred[q].remove(&x);
            }
            pred[x].clear();
            succ[x].clear();
        }
        Ok(edges
            .remove(&(start, fin))
            .map_or_else(Hir::fail, |(h, _)| h))
    }
}

/// The strings matched by every regex of `pos` and by none of `neg`
/// (`pos` empty: every string), as a regex; `None` when there are none.
pub(crate) fn combine(pos: &[&Hir], neg: &[&Hir], b: &mut Budget) -> Result<Option<Hir>, TooBig> {
    let all: Vec<&Hir> = pos.iter().chain(neg).copied().collect();
    let alpha = Alphabet::new(&all);
    if alpha.len() > MAX_SYMBOLS {
        return Err(TooBig::new("alphabet symbols", MAX_SYMBOLS));
    }
    let mut acc: Option<Dfa> = None;
    for h in pos {
        let d = Dfa::from_hir(h, &alpha, b)?.minimize(b)?;
        acc = Some(match acc {
            None => d,
            Some(a) => a.product(&d, |x, y| x && y, b)?.minimize(b)?,
        });
    }
    let mut acc = match acc {
        Some(a) => a,
        None => Dfa::from_hir(&rx::rep(rx::any_char(), 0, None), &alpha, b)?,
    };
    for h in neg {
        let d = Dfa::from_hir(h, &alpha, b)?.minimize(b)?.complement();
        acc = acc.product(&d, |x, y| x && y, b)?.minimize(b)?;
    }
    if acc.is_empty() {
        return Ok(None);
    }
    acc.to_hir(&alpha, b).map(Some)
}

/// Whether some string matches both regexes.
#[cfg(test)]
pub(crate) fn intersects(a: &Hir, b: &Hir) -> Result<bool, TooBig> {
    let alpha = Alphabet::new(&[a, b]);
    if alpha.len() > MAX_SYMBOLS {
        return Err(TooBig::new("alphabet symbols", MAX_SYMBOLS));
    }
    let mut budget = Budget::new(usize::MAX);
    let w = &mut budget;
    let x = Dfa::from_hir(a, &alpha, w)?.minimize(w)?;
    let y = Dfa::from_hir(b, &alpha, w)?.minimize(w)?;
    Ok(!x.product(&y, |p, q| p && q, w)?.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::meta::Regex;
    use regex_syntax::hir::Look;

    fn comb(pos: &[&Hir], neg: &[&Hir]) -> Result<Option<Hir>, TooBig> {
        combine(pos, neg, &mut Budget::new(usize::MAX))
    }

    fn p(s: &str) -> Hir {
        rx::parse_fixed(s).unwrap()
    }

    fn matcher(h: &Hir) -> impl Fn(&str) -> bool {
        let h = rx::concat(vec![
            Hir::look(Look::Start),
            h.clone(),
            Hir::look(Look::End),
        ]);
        let re = Regex::builder().build_from_hir(&h).unwrap();
        move |s| re.is_match(s)
    }

    #[test]
    fn intersection_of_patterns() {
        let h = comb(&[&p("[a-z]+[0-9]*"), &p(".*[0-9]")], &[])
            .unwrap()
            .unwrap();
        let m = matcher(&h);
        for s in ["a1", "abc123"] {
            assert!(m(s), "{s}");
        }
        for s in ["abc", "1", "a1b", ""] {
            assert!(!m(s), "{s}");
        }
    }

    #[test]
    fn difference_with_words() {
        let h = comb(&[&p("[a-z]{1,4}")], &[&p("foo|ba")]).unwrap().unwrap();
        let m = matcher(&h);
        for s in ["fo", "fooo", "b", "bar", "x"] {
            assert!(m(s), "{s}");
        }
        for s in ["foo", "ba", "", "abcde", "A"] {
            assert!(!m(s), "{s}");
        }
    }

    #[test]
    fn complement_keeps_unicode() {
        let h = comb(&[], &[&p("x-.*")]).unwrap().unwrap();
        let m = matcher(&h);
        for s in ["", "x", "xy", "é", "😀x-", "y-x"] {
            assert!(m(s), "{s}");
        }
        for s in ["x-", "x-é"] {
            assert!(!m(s), "{s}");
        }
    }

    #[test]
    fn empty_results() {
        assert!(comb(&[&p("[a-z]+")], &[&p(".*")]).unwrap().is_none());
        assert!(!intersects(&p("[0-9]+"), &p("[a-z]+")).unwrap());
        assert!(intersects(&p("a.*"), &p(".*b")).unwrap());
    }

    #[test]
    fn budgets_end_in_errors() {
        // (a|b)^n followed by a bounded copy: the DFA for "the 20th
        // character from the end is a" has 2^20 states.
        let h = p("[ab]*a[ab]{19}");
        assert!(comb(&[&h], &[&p("b*")]).is_err());
    }

    #[test]
    fn work_is_counted_and_bounded() {
        let (a, b) = (p("[a-z0-9]{1,6}"), p(".*[0-9]{2}.*"));
        let mut budget = Budget::new(usize::MAX);
        assert!(combine(&[&a], &[&b], &mut budget).unwrap().is_some());
        let used = budget.used;
        assert!(used > 100, "{used}");
        // The same operation with less than it needs stops with an error.
        assert!(combine(&[&a], &[&b], &mut Budget::new(used / 2)).is_err());
        assert!(combine(&[&a], &[&b], &mut Budget::new(used)).is_ok());
    }
}
