//! From a normalized [`Schema`] to grammar rules.
//!
//! Scalars become regexes (the engine turns regular parts into lexer
//! DFAs); objects and arrays become small state machines expressed as
//! rules, linear in the number of properties (optional properties never
//! multiply); definitions become shared rules, so recursion is plain
//! grammar recursion.

use std::sync::Arc;

use regex_syntax::hir::Hir;
use serde_json::Value;

use super::decimal::Decimal;
use super::number;
use super::rx::{self, alt, concat, lit, rep};
use super::schema::{Arr, Num, Obj, Schema, Str};
use super::{Compiler, KeyOrder, Whitespace};
use crate::ir::{Expr, RuleId};
use crate::GrammarError;

/// Budget of regex nodes for one length-restricted string.
const LENGTH_BUDGET: usize = 50_000;

/// Most object members tracked by a bit set (any position, at most once):
/// `k` of them give `k!` orders, and the engine turns regular parts of the
/// grammar into regexes, which spell out every path.
const MAX_FLOATING: usize = 4;

/// Most weight ([`Compiler::expr_weight`]) of the copies of tracked
/// members in one object.
const TRACKED_WEIGHT_BUDGET: u64 = 40_000;

/// How often each of `k` tracked members occurs once the subset states
/// are spelled out as a tree: the paths of length `m` are `k!/(k-m)!`.
fn copies_per_member(k: usize) -> u64 {
    if k == 0 {
        return 0;
    }
    let mut nodes = 0u64;
    let mut paths = 1u64;
    for m in 0..k {
        paths = paths.saturating_mul((k - m) as u64);
        nodes = nodes.saturating_add(paths);
    }
    nodes / k as u64
}

/// A rough automaton size of a regex, at most `cap + 1`.
fn hir_weight(h: &Hir, cap: u64) -> u64 {
    use regex_syntax::hir::HirKind;
    let w = match h.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(l) => l.0.len() as u64,
        HirKind::Class(_) => 4,
        HirKind::Repetition(r) => {
            let m = r.max.unwrap_or(r.min).max(1) as u64;
            hir_weight(&r.sub, cap).saturating_mul(m)
        }
        HirKind::Capture(c) => hir_weight(&c.sub, cap),
        HirKind::Concat(xs) | HirKind::Alternation(xs) => {
            let mut t = 0u64;
            for x in xs {
                t = t.saturating_add(hir_weight(x, cap));
                if t > cap {
                    break;
                }
            }
            t
        }
    };
    w.min(cap + 1)
}

/// Most states (positions × counts × tracked members) of one object.
const OBJECT_STATE_BUDGET: u64 = 20_000;

impl<'a> Compiler<'a> {
    fn pretty(&self) -> Option<u32> {
        match self.opts.whitespace {
            Whitespace::Pretty { indent } => Some(indent),
            _ => None,
        }
    }

    /// The depth key of rules: only pretty printing depends on depth.
    fn depth_key(&self, d: u32) -> u32 {
        if self.pretty().is_some() {
            d
        } else {
            0
        }
    }

    /// JSON whitespace. One shared regex: the engine recognizes the
    /// lexemes built from the same regexes without building them again.
    fn ws() -> Expr {
        static WS: std::sync::OnceLock<Arc<Hir>> = std::sync::OnceLock::new();
        Expr::Regex(
            WS.get_or_init(|| {
                Arc::new(rx::rep(
                    rx::class(&[(' ', ' '), ('\t', '\t'), ('\n', '\n'), ('\r', '\r')]),
                    0,
                    None,
                ))
            })
            .clone(),
        )
    }

    fn newline_indent(&self, d: u32) -> Expr {
        let n = self.pretty().unwrap_or(0) as usize * d as usize;
        Expr::literal(format!("\n{}", " ".repeat(n)))
    }

    /// Separator between members/items of a container at depth `d`.
    fn comma(&self, d: u32) -> Expr {
        match self.opts.whitespace {
            Whitespace::Flexible => Expr::seq(vec![Self::ws(), Expr::literal(","), Self::ws()]),
            Whitespace::Compact => Expr::literal(","),
            Whitespace::Pretty { .. } => {
                Expr::seq(vec![Expr::literal(","), self.newline_indent(d + 1)])
            }
        }
    }

    fn colon(&self) -> Expr {
        match self.opts.whitespace {
            Whitespace::Flexible => Expr::seq(vec![Self::ws(), Expr::literal(":"), Self::ws()]),
            Whitespace::Compact => Expr::literal(":"),
            Whitespace::Pretty { .. } => Expr::literal(": "),
        }
    }

    /// `open` + body + `close` for a non-empty container, or the empty one.
    fn container(
        &self,
        open: char,
        close: char,
        d: u32,
        empty_ok: bool,
        body: Option<Expr>,
    ) -> Expr {
        let (o, c) = (open.to_string(), close.to_string());
        let mut alts = Vec::new();
        if empty_ok {
            alts.push(match self.opts.whitespace {
                Whitespace::Flexible => Expr::seq(vec![
                    Expr::literal(o.clone()),
                    Self::ws(),
                    Expr::literal(c.clone()),
                ]),
                _ => Expr::literal(format!("{o}{c}")),
            });
        }
        if let Some(body) = body {
            alts.push(match self.opts.whitespace {
                Whitespace::Flexible => Expr::seq(vec![
                    Expr::literal(o),
                    Self::ws(),
                    body,
                    Self::ws(),
                    Expr::literal(c),
                ]),
                Whitespace::Compact => Expr::seq(vec![Expr::literal(o), body, Expr::literal(c)]),
                Whitespace::Pretty { .. } => Expr::seq(vec![
                    Expr::literal(o),
                    self.newline_indent(d + 1),
                    body,
                    self.newline_indent(d),
                    Expr::literal(c),
                ]),
            });
        }
        Expr::alt(alts)
    }

    /// The whole document: the root schema, with whitespace around it in
    /// flexible mode (RFC 8259 `JSON-text = ws value ws`).
    pub(crate) fn emit_root(&mut self, s: &Schema) -> Result<Expr, GrammarError> {
        let v = self.emit(s, 0)?;
        Ok(match self.opts.whitespace {
            Whitespace::Flexible => Expr::seq(vec![Self::ws(), v, Self::ws()]),
            _ => v,
        })
    }

    /// The expression for values of `s` at nesting depth `d`.
    pub(crate) fn emit(&mut self, s: &Schema, d: u32) -> Result<Expr, GrammarError> {
        self.tick(1)?;
        if self.pretty().is_some() && d > self.opts.max_pretty_depth {
            // Pretty printing needs a rule per depth; deeper values are not
            // produced.
            return Ok(Expr::Nothing);
        }
        Ok(match s {
            Schema::Any => Expr::Rule(self.any_rule(d)?),
            Schema::Nothing => Expr::Nothing,
            Schema::Null => Expr::literal("null"),
            Schema::Boolean => Expr::alt(vec![Expr::literal("true"), Expr::literal("false")]),
            Schema::Number(n) => {
                let key = format!("n{:?} {:?} {:?} {:?}", n.integer, n.lo, n.hi, n.multiple_of);
                Expr::Regex(self.shared_regex(key, |c| c.number_hir(n))?)
            }
            // Strings without patterns or formats (by far the most common)
            // are shared: one regex for each pair of length bounds.
            Schema::String(st) if st.regexes.is_empty() => {
                // The note about a lowered maxLength names each place
                // (notes are kept once each).
                self.cap_bounds(&st.at, "maxLength", "minLength", st.min, st.max)?;
                let key = format!("s{} {:?}", st.min, st.max);
                Expr::Regex(self.shared_regex(key, |c| c.string_hir(st))?)
            }
            // Equal patterns share one parsed regex: the same pattern
            // under the same bounds is restricted and encoded once.
            Schema::String(st) => {
                let key = (
                    st.regexes
                        .iter()
                        .map(|r| Arc::as_ptr(&r.hir) as usize)
                        .collect(),
                    st.min,
                    st.max,
                );
                if let Some((_, h)) = self.string_regexes.get(&key) {
                    return Ok(Expr::Regex(h.clone()));
                }
                let notes = self.notes_asked;
                let h = Arc::new(self.string_hir(st)?);
                // A note names its place: one that needed a note is built
                // again at every place.
                if self.notes_asked == notes {
                    let alive = st.regexes.iter().map(|r| r.hir.clone()).collect();
                    self.string_regexes.insert(key, (alive, h.clone()));
                }
                Expr::Regex(h)
            }
            Schema::Values(vs) => {
                let mut alts = Vec::with_capacity(vs.len());
                for v in vs {
                    alts.push(self.value_expr(v, d)?);
                }
                Expr::alt(alts)
            }
            Schema::AnyOf(bs) => {
                let mut alts = Vec::with_capacity(bs.len());
                for b in bs {
                    alts.push(self.emit(b, d)?);
                }
                Expr::alt(alts)
            }
            Schema::Ref(id) => Expr::Rule(self.def_rule(*id, d)?),
            Schema::Lazy(parts) => Expr::Rule(self.lazy_rule(parts, d)?),
            Schema::Array(a) => {
                let e = self.emit_array(a, d)?;
                self.shared(e, "array")
            }
            Schema::Object(o) => {
                let e = self.emit_object(o, d)?;
                self.shared(e, "object")
            }
        })
    }

    /// `e`, or a reference to a new rule holding it when it is large:
    /// containers repeat their members' expressions (first item, then
    /// `, item` ...), so nested containers would otherwise grow
    /// exponentially with depth.
    fn shared(&mut self, e: Expr, name: &str) -> Expr {
        const LARGE: usize = 200;
        let mut n = 0;
        let mut stack = vec![&e];
        while let Some(x) = stack.pop() {
            n += 1;
            if n > LARGE {
                break;
            }
            stack.extend(x.children());
        }
        if n <= LARGE {
            return e;
        }
        Expr::Rule(self.grammar.add_rule(name, e))
    }

    fn def_rule(&mut self, id: usize, d: u32) -> Result<RuleId, GrammarError> {
        let key = (id, self.depth_key(d));
        if let Some(&r) = self.def_rules.get(&key) {
            return Ok(r);
        }
        let name = format!("def:{}", self.defs[id].ptr);
        let r = self.grammar.add_rule(name, Expr::Nothing);
        self.def_rules.insert(key, r);
        let s = self.resolved(id, "$ref")?;
        let e = self.emit(&s, d)?;
        self.grammar.rules[r.index()].expr = e;
        Ok(r)
    }

    /// A rule for a pending intersection, shared by equal ones (so that a
    /// definition that includes itself through `allOf` and recurses through
    /// its properties gives a finite grammar).
    fn lazy_rule(&mut self, parts: &[Schema], d: u32) -> Result<RuleId, GrammarError> {
        let key = (format!("{parts:?}"), self.depth_key(d));
        if let Some(&r) = self.lazy_rules.get(&key) {
            return Ok(r);
        }
        let r = self.grammar.add_rule("allOf", Expr::Nothing);
        self.lazy_rules.insert(key, r);
        let s = self.force(parts.to_vec(), "allOf")?;
        let e = self.emit(&s, d)?;
        self.grammar.rules[r.index()].expr = e;
        Ok(r)
    }

    /// A rule for any JSON value.
    fn any_rule(&mut self, d: u32) -> Result<RuleId, GrammarError> {
        let key = self.depth_key(d);
        if let Some(&r) = self.any_rules.get(&key) {
            return Ok(r);
        }
        let r = self.grammar.add_rule("any", Expr::Nothing);
        self.any_rules.insert(key, r);
        let deeper = self.pretty().is_none() || d < self.opts.max_pretty_depth;
        let mut alts = vec![
            Expr::literal("null"),
            Expr::alt(vec![Expr::literal("true"), Expr::literal("false")]),
            Expr::regex(number_any()),
            Expr::regex(string_any()),
        ];
        if deeper {
            let item = Expr::Rule(self.any_rule(d + 1)?);
            let items = Expr::seq(vec![
                item.clone(),
                Expr::repeat(Expr::seq(vec![self.comma(d), item.clone()]), 0, None),
            ]);
            alts.push(self.container('[', ']', d, true, Some(items)));
            let member = Expr::seq(vec![Expr::regex(string_any()), self.colon(), item]);
            let members = Expr::seq(vec![
                member.clone(),
                Expr::repeat(Expr::seq(vec![self.comma(d), member]), 0, None),
            ]);
            alts.push(self.container('{', '}', d, true, Some(members)));
        } else {
            alts.push(self.container('[', ']', d, true, None));
            alts.push(self.container('{', '}', d, true, None));
        }
        self.grammar.rules[r.index()].expr = Expr::alt(alts);
        Ok(r)
    }

    /// A JSON value as text.
    fn value_expr(&mut self, v: &Value, d: u32) -> Result<Expr, GrammarError> {
        Ok(match v {
            Value::Null => Expr::literal("null"),
            Value::Bool(b) => Expr::literal(b.to_string()),
            Value::Number(n) => match Decimal::from_json(n) {
                Some(x) => Expr::regex(number_literal(&x, self.opts.trailing_zeros)),
                None => Expr::literal(n.to_string()),
            },
            Value::String(s) => Expr::regex(quoted(&rx::lit(s))),
            Value::Array(xs) => {
                if xs.is_empty() {
                    return Ok(self.container('[', ']', d, true, None));
                }
                let mut parts = Vec::new();
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        parts.push(self.comma(d));
                    }
                    parts.push(self.value_expr(x, d + 1)?);
                }
                self.container('[', ']', d, false, Some(Expr::seq(parts)))
            }
            Value::Object(m) => {
                if m.is_empty() {
                    return Ok(self.container('{', '}', d, true, None));
                }
                let mut members = Vec::with_capacity(m.len());
                for (k, x) in m {
                    members.push(Expr::seq(vec![
                        Expr::regex(quoted(&rx::lit(k))),
                        self.colon(),
                        self.value_expr(x, d + 1)?,
                    ]));
                }
                // Key order does not matter for equality: small objects are
                // accepted in every order, larger ones in the order given.
                let orders = if members.len() <= 4 {
                    permutations(members.len())
                } else {
                    vec![(0..members.len()).collect()]
                };
                let mut alts = Vec::with_capacity(orders.len());
                for order in orders {
                    let mut parts = Vec::new();
                    for (i, &j) in order.iter().enumerate() {
                        if i > 0 {
                            parts.push(self.comma(d));
                        }
                        parts.push(members[j].clone());
                    }
                    alts.push(Expr::seq(parts));
                }
                self.container('{', '}', d, false, Some(Expr::alt(alts)))
            }
        })
    }

    fn number_hir(&mut self, n: &Num) -> Result<Hir, GrammarError> {
        let mut integer = n.integer;
        let mut max_frac: Option<usize> = None;
        let mut int_multiple: Option<Decimal> = None;
        for k in &n.multiple_of {
            if let Some(p) = integer_step(k) {
                if !k.is_integer() && !integer {
                    // Multiples of 0.01 and the like: a fraction digit limit.
                    if let Some(j) = power_of_ten_fraction(k) {
                        if max_frac.is_none_or(|m| m > j) {
                            max_frac = Some(j);
                        }
                        continue;
                    }
                    return Err(self.err(
                        &n.at,
                        "multipleOf",
                        format!("multipleOf {k} for non-integers is only supported for powers of ten (0.1, 0.01, ...)"),
                    ));
                }
                // Integers (or integer steps): multiples of p.
                integer = true;
                int_multiple = Some(match int_multiple {
                    None => p,
                    Some(q) => lcm(&q, &p).ok_or_else(|| {
                        self.err(
                            &n.at,
                            "multipleOf",
                            "the multipleOf values are too large to combine",
                        )
                    })?,
                });
            } else {
                return Err(self.err(
                    &n.at,
                    "multipleOf",
                    format!("multipleOf {k} is not supported"),
                ));
            }
        }
        if integer {
            let lo = n.lo.as_ref().map(|b| {
                if b.exclusive {
                    b.value.floor().add_int(1)
                } else {
                    b.value.ceil()
                }
            });
            let hi = n.hi.as_ref().map(|b| {
                if b.exclusive {
                    b.value.ceil().add_int(-1)
                } else {
                    b.value.floor()
                }
            });
            if let Some(k) = int_multiple.filter(|k| *k != Decimal::from_i64(1)) {
                let (Some(lo), Some(hi)) = (&lo, &hi) else {
                    return Err(self.err(
                        &n.at,
                        "multipleOf",
                        format!("multipleOf {k} is only supported with both minimum and maximum"),
                    ));
                };
                let h = number::int_multiples(&k, lo, hi, 10_000).ok_or_else(|| {
                    self.err(
                        &n.at,
                        "multipleOf",
                        format!("multipleOf {k} between {lo} and {hi}: too many values (more than 10000)"),
                    )
                })?;
                return Ok(self.integral_float(h));
            }
            let h = number::int_range(lo.as_ref(), hi.as_ref());
            return Ok(self.integral_float(h));
        }
        let lo = n.lo.as_ref().map(|b| number::f64_safe(b, true));
        let hi = n.hi.as_ref().map(|b| number::f64_safe(b, false));
        Ok(number::number_range(lo.as_ref(), hi.as_ref(), max_frac))
    }

    /// From draft 6 on, `1.0` is an integer too: integers may end in `.0`
    /// (unless [`super::Options::trailing_zeros`] is off).
    fn integral_float(&self, h: Hir) -> Hir {
        if self.draft == super::Draft::Draft4 || !self.opts.trailing_zeros {
            return h;
        }
        concat(vec![
            h,
            rep(concat(vec![lit("."), rep(lit("0"), 1, None)]), 0, Some(1)),
        ])
    }

    /// The regex of a value schema described by `key`, built once per
    /// compile and shared by every place that uses it.
    fn shared_regex(
        &mut self,
        key: String,
        build: impl FnOnce(&mut Self) -> Result<Hir, GrammarError>,
    ) -> Result<Arc<Hir>, GrammarError> {
        if let Some(h) = self.value_regexes.get(&key) {
            return Ok(h.clone());
        }
        let h = Arc::new(build(self)?);
        self.value_regexes.insert(key, h.clone());
        Ok(h)
    }

    /// The regex of a string's JSON text, quotes included.
    pub(crate) fn string_hir(&mut self, s: &Str) -> Result<Hir, GrammarError> {
        let (min, max) = self.cap_bounds(&s.at, "maxLength", "minLength", s.min, s.max)?;
        if (min, max) != (s.min, s.max) {
            let mut capped = s.clone();
            capped.max = max;
            return self.string_hir(&capped);
        }
        let base = match s.regexes.len() {
            0 => None,
            1 => Some((*s.regexes[0].hir).clone()),
            _ => {
                let all: Vec<&Hir> = s.regexes.iter().map(|r| &*r.hir).collect();
                match self.combine(&all, &[])? {
                    Ok(Some(h)) => Some(h),
                    Ok(None) => Some(Hir::fail()),
                    Err(_) => {
                        let (a, b) = (&s.regexes[0], &s.regexes[1]);
                        return Err(self.err(
                            &b.at,
                            b.keyword,
                            format!(
                                "a string must match both {} {:?} and {} {:?}: their intersection \
                                 is too large an automaton",
                                a.keyword, a.source, b.keyword, b.source
                            ),
                        ));
                    }
                }
            }
        };
        let content = match base {
            None => rep(rx::any_char(), clamp(s.min), s.max.map(clamp)),
            Some(h) if s.min == 0 && s.max.is_none() => h,
            Some(h) => match rx::restrict_len(&h, s.min, s.max, LENGTH_BUDGET) {
                Ok(x) => x,
                Err(_) => self.capped_length(s, &h)?,
            },
        };
        Ok(quoted(&content))
    }

    /// When the exact length restriction of a pattern or format is too
    /// large: a subset of the strings (repetitions bounded so that every
    /// string fits `maxLength`), with a note.
    fn capped_length(&mut self, s: &Str, h: &Hir) -> Result<Hir, GrammarError> {
        let r = &s.regexes[0];
        let fail = |this: &Self| {
            this.err(
                &s.at,
                if s.max.is_some() {
                    "maxLength"
                } else {
                    "minLength"
                },
                format!(
                    "combining the length bounds {}..{} with {} {:?} gives too large a grammar",
                    s.min,
                    s.max.map(|m| m.to_string()).unwrap_or_default(),
                    r.keyword,
                    r.source
                ),
            )
        };
        let Some(hi) = s.max else {
            return Err(fail(self));
        };
        let Some(capped) = rx::cap_len(h, hi) else {
            return Err(fail(self));
        };
        let exact =
            rx::restrict_len(&capped, s.min, Some(hi), LENGTH_BUDGET).map_err(|_| fail(self))?;
        self.note(format!(
            "{}: strings matching {} {:?} with at most {hi} characters are produced with their \
             repetitions bounded (a subset of the valid strings)",
            Self::display_pointer(&s.at),
            r.keyword,
            r.source
        ));
        Ok(exact)
    }

    /// Bounds with the upper one lowered to [`Options::max_repeat`] (with a
    /// note); an error when the lower one is above it.
    ///
    /// [`Options::max_repeat`]: super::Options::max_repeat
    fn cap_bounds(
        &mut self,
        at: &str,
        max_kw: &str,
        min_kw: &str,
        min: u64,
        max: Option<u64>,
    ) -> Result<(u64, Option<u64>), GrammarError> {
        let limit = self.opts.max_repeat as u64;
        if min > limit {
            return Err(GrammarError::Limit {
                what: format!("`{min_kw}` at {}", Self::display_pointer(at)),
                value: min,
                limit,
            });
        }
        match max {
            Some(m) if m > limit => {
                self.note(format!(
                    "{}: `{max_kw}` {m} is lowered to {limit} (the max_repeat option): longer \
                     values are valid but not produced",
                    Self::display_pointer(at)
                ));
                Ok((min, Some(limit)))
            }
            _ => Ok((min, max)),
        }
    }

    fn emit_array(&mut self, a: &Arr, d: u32) -> Result<Expr, GrammarError> {
        let (min, max) = self.cap_bounds(&a.at, "maxItems", "minItems", a.min, a.max)?;
        if (min, max) != (a.min, a.max) {
            let mut capped = a.clone();
            capped.max = max;
            return self.emit_array(&capped, d);
        }
        if a.unique && a.max.is_none_or(|m| m > 1) {
            return self.emit_unique_array(a, d);
        }
        if !a.contains.is_empty() {
            return self.emit_contains_array(a, d);
        }
        let mut elems: Vec<Expr> = Vec::with_capacity(a.prefix.len());
        for p in &a.prefix {
            elems.push(self.emit(p, d + 1)?);
        }
        let item = self.emit(&a.items, d + 1)?;
        let items_nothing = a.items.is_nothing();
        // tail(j): items from position j on (j >= 1), each preceded by a comma.
        let max = a.max;
        let min = a.min;
        let n = a.prefix.len() as u64;
        let mut tail = if items_nothing || max.is_some_and(|m| m <= n) {
            Expr::Empty
        } else {
            let lo = min.saturating_sub(n.max(1));
            let hi = max.map(|m| m - n.max(1));
            let step = Expr::seq(vec![self.comma(d), item.clone()]);
            Expr::repeat(step, clamp(lo), hi.map(clamp))
        };
        if n == 0 {
            // Repeat {lo, hi} computed from position 1 on.
            let body = Expr::seq(vec![item, tail]);
            let empty_ok = min == 0;
            let has_body = !items_nothing && max.is_none_or(|m| m >= 1) && !a.items.is_nothing();
            return Ok(self.container('[', ']', d, empty_ok, has_body.then_some(body)));
        }
        // Positions n-1 .. 1 of the prefix, innermost first.
        for j in (1..n).rev() {
            if max.is_some_and(|m| j >= m) || a.prefix[j as usize].is_nothing() {
                tail = if j < min { Expr::Nothing } else { Expr::Empty };
                continue;
            }
            let step = Expr::seq(vec![self.comma(d), elems[j as usize].clone(), tail]);
            tail = if j >= min { Expr::optional(step) } else { step };
        }
        let body = Expr::seq(vec![elems[0].clone(), tail]);
        let has_body = max.is_none_or(|m| m >= 1) && !a.prefix[0].is_nothing();
        Ok(self.container('[', ']', d, min == 0, has_body.then_some(body)))
    }

    /// Arrays with `contains`: items counted when they match the contained
    /// schema.
    fn emit_contains_array(&mut self, a: &Arr, d: u32) -> Result<Expr, GrammarError> {
        if a.contains.len() > 1 || !a.prefix.is_empty() {
            return Err(self.err(
                &a.at,
                "contains",
                "contains together with prefixItems or several contains is not supported",
            ));
        }
        let c = &a.contains[0];
        let hit = self.intersect(a.items.clone(), c.schema.clone())?;
        let miss = match c.max {
            None => a.items.clone(),
            Some(_) => {
                let n = self.negate(c.schema.clone(), &a.at, "maxContains")?;
                self.intersect(a.items.clone(), n)?
            }
        };
        let hit = self.emit(&hit, d + 1)?;
        let miss = self.emit(&miss, d + 1)?;
        // States: (length capped, count capped).
        let len_cap = a.max.unwrap_or(a.min);
        let cnt_cap = c.max.unwrap_or(c.min);
        if (len_cap + 1) * (cnt_cap + 1) > 10_000 {
            return Err(GrammarError::Limit {
                what: format!(
                    "array states for contains at {}",
                    Self::display_pointer(&a.at)
                ),
                value: (len_cap + 1) * (cnt_cap + 1),
                limit: 10_000,
            });
        }
        let mut memo = std::collections::HashMap::new();
        let body = self.contains_state(a, c.min, c.max, &hit, &miss, 0, 0, d, &mut memo)?;
        let empty_ok = a.min == 0 && c.min == 0;
        Ok(self.container('[', ']', d, empty_ok, Some(body)))
    }

    /// Non-empty item sequences from state (len, count).
    #[allow(clippy::too_many_arguments)]
    fn contains_state(
        &mut self,
        a: &Arr,
        cmin: u64,
        cmax: Option<u64>,
        hit: &Expr,
        miss: &Expr,
        len: u64,
        cnt: u64,
        d: u32,
        memo: &mut std::collections::HashMap<(u64, u64), RuleId>,
    ) -> Result<Expr, GrammarError> {
        if let Some(&r) = memo.get(&(len, cnt)) {
            return Ok(Expr::Rule(r));
        }
        let r = self.grammar.add_rule("contains", Expr::Nothing);
        memo.insert((len, cnt), r);
        let cnt_cap = cmax.unwrap_or(cmin);
        let sep = if len > 0 { Some(self.comma(d)) } else { None };
        let mut alts = Vec::new();
        // Lengths beyond the minimum only matter up to maxItems.
        let next_len = if a.max.is_some() {
            len + 1
        } else {
            (len + 1).min(a.min.max(1))
        };
        let can_add = a.max.is_none_or(|m| len < m);
        if can_add {
            // A counted item.
            if cmax.is_none_or(|m| cnt < m) {
                let nc = if cmax.is_none() {
                    (cnt + 1).min(cnt_cap)
                } else {
                    cnt + 1
                };
                let rest =
                    self.contains_continue(a, cmin, cmax, hit, miss, next_len, nc, d, memo)?;
                let mut seq: Vec<Expr> = sep.iter().cloned().collect();
                seq.push(hit.clone());
                seq.push(rest);
                alts.push(Expr::seq(seq));
            }
            let rest = self.contains_continue(a, cmin, cmax, hit, miss, next_len, cnt, d, memo)?;
            let mut seq: Vec<Expr> = sep.iter().cloned().collect();
            seq.push(miss.clone());
            seq.push(rest);
            alts.push(Expr::seq(seq));
        }
        self.grammar.rules[r.index()].expr = Expr::alt(alts);
        Ok(Expr::Rule(r))
    }

    /// After an item: stop here (if the counts allow) or add more.
    #[allow(clippy::too_many_arguments)]
    fn contains_continue(
        &mut self,
        a: &Arr,
        cmin: u64,
        cmax: Option<u64>,
        hit: &Expr,
        miss: &Expr,
        len: u64,
        cnt: u64,
        d: u32,
        memo: &mut std::collections::HashMap<(u64, u64), RuleId>,
    ) -> Result<Expr, GrammarError> {
        let more = self.contains_state(a, cmin, cmax, hit, miss, len, cnt, d, memo)?;
        let done = len >= a.min && cnt >= cmin;
        Ok(if done { Expr::optional(more) } else { more })
    }

    /// `uniqueItems` over a finite item domain.
    fn emit_unique_array(&mut self, a: &Arr, d: u32) -> Result<Expr, GrammarError> {
        let domain: Vec<Value> = match &a.items {
            Schema::Values(vs) if a.prefix.is_empty() => vs.clone(),
            Schema::Boolean if a.prefix.is_empty() => vec![Value::Bool(false), Value::Bool(true)],
            Schema::Null if a.prefix.is_empty() => vec![Value::Null],
            _ => {
                return Err(self.err(
                    &a.at,
                    "uniqueItems",
                    "uniqueItems is only supported when the items are drawn from a finite set (enum, const, boolean)",
                ))
            }
        };
        if !a.contains.is_empty() {
            return Err(self.err(
                &a.at,
                "uniqueItems",
                "uniqueItems together with contains is not supported",
            ));
        }
        let k = domain.len();
        let max = a.max.map_or(k, |m| (m as usize).min(k));
        if (a.min as usize) > max {
            return Ok(Expr::Nothing);
        }
        // One state per subset of used values: 2^k states.
        if k > 12 {
            return Err(GrammarError::Limit {
                what: format!(
                    "distinct values for uniqueItems at {}",
                    Self::display_pointer(&a.at)
                ),
                value: k as u64,
                limit: 12,
            });
        }
        let mut vals = Vec::with_capacity(k);
        for v in &domain {
            vals.push(self.value_expr(v, d + 1)?);
        }
        let mut memo: std::collections::HashMap<u32, RuleId> = std::collections::HashMap::new();
        let body = self.unique_state(0, &vals, a.min as usize, max, d, &mut memo);
        Ok(self.container('[', ']', d, a.min == 0, body))
    }

    /// Non-empty continuations after the values in `used` (a bit set).
    fn unique_state(
        &mut self,
        used: u32,
        vals: &[Expr],
        min: usize,
        max: usize,
        d: u32,
        memo: &mut std::collections::HashMap<u32, RuleId>,
    ) -> Option<Expr> {
        if let Some(&r) = memo.get(&used) {
            return Some(Expr::Rule(r));
        }
        let n = used.count_ones() as usize;
        if n >= max {
            return None;
        }
        let r = self.grammar.add_rule("unique", Expr::Nothing);
        memo.insert(used, r);
        let mut alts = Vec::new();
        for (i, v) in vals.iter().enumerate() {
            if used & (1 << i) != 0 {
                continue;
            }
            let next = used | (1 << i);
            let mut seq = Vec::new();
            if n > 0 {
                seq.push(self.comma(d));
            }
            seq.push(v.clone());
            let more = self.unique_state(next, vals, min, max, d, memo);
            let done = n + 1 >= min;
            match (more, done) {
                (Some(m), true) => seq.push(Expr::optional(m)),
                (Some(m), false) => seq.push(m),
                (None, true) => {}
                (None, false) => continue,
            }
            alts.push(Expr::seq(seq));
        }
        self.grammar.rules[r.index()].expr = Expr::alt(alts);
        Some(Expr::Rule(r))
    }

    fn emit_object(&mut self, o: &Obj, d: u32) -> Result<Expr, GrammarError> {
        // Required keys are declared by construction; make sure.
        if o.required.iter().any(|r| o.prop(r).is_none()) {
            let mut o2 = o.clone();
            for r in &o.required {
                if o2.prop(r).is_none() {
                    let s = self.value_schema(&o2, r)?;
                    o2.props.push((r.clone(), s));
                    o2.floating.push(r.clone());
                }
            }
            return self.emit_object(&o2, d);
        }
        let declared: Vec<&str> = o.props.iter().map(|(k, _)| k.as_str()).collect();
        let mut entries = Vec::new();
        for (k, s) in &o.props {
            if s.is_nothing() {
                continue;
            }
            let v = self.emit(s, d + 1)?;
            let e = Expr::seq(vec![Expr::regex(quoted(&rx::lit(k))), self.colon(), v]);
            entries.push((k.as_str(), e, o.is_required(k)));
        }
        let (_, omax) = self.cap_bounds(&o.at, "maxProperties", "minProperties", o.min, o.max)?;
        let cap = omax.unwrap_or(o.min);
        let (layouts, free) = self.place_members(o, entries);
        let extra = self.extra_member(o, &declared, d)?;
        let extra = match (extra, free.is_empty()) {
            (None, true) => None,
            (e, _) => {
                let mut alts: Vec<Expr> = e.into_iter().collect();
                alts.extend(free);
                let r = self.grammar.add_rule("extra", Expr::alt(alts));
                Some(Expr::Rule(r))
            }
        };
        // Every layout holds the same members: the same ones are required.
        let empty_ok = o.min == 0
            && layouts.first().is_none_or(|(members, floating)| {
                !floating.iter().any(|(_, req)| *req) && !members.iter().any(|(_, req)| *req)
            });
        let mut bodies = Vec::with_capacity(layouts.len());
        for (members, floating) in layouts {
            let n = members.len();
            let states = ((n as u64 + 1) * (cap + 1)) << floating.len();
            if states > OBJECT_STATE_BUDGET {
                return Err(GrammarError::Limit {
                    what: format!(
                        "object states (properties × counts) at {}",
                        Self::display_pointer(&o.at)
                    ),
                    value: states,
                    limit: OBJECT_STATE_BUDGET,
                });
            }
            let required_mask = floating
                .iter()
                .enumerate()
                .filter(|(_, (_, req))| *req)
                .fold(0u32, |m, (j, _)| m | (1 << j));
            let mut st = ObjStates {
                members,
                floating,
                required_mask,
                extra: extra.clone(),
                min: o.min,
                max: omax,
                cap,
                d,
                f: std::collections::HashMap::new(),
                g: std::collections::HashMap::new(),
            };
            bodies.push(self.obj_f(&mut st, 0, 0, false, 0)?);
        }
        Ok(self.container('{', '}', d, empty_ok, Some(Expr::alt(bodies))))
    }

    /// Lays out the declared members (key, `"key": value`, required):
    /// one or more layouts, each of positional members (in order, with
    /// whether each is required) and floating ones (anywhere, each at
    /// most once, with whether each is required), and the free members
    /// (anywhere, any number of times, like undeclared keys).
    ///
    /// With [`KeyOrder::Declared`]: one layout, in which only required
    /// keys that `properties` does not declare float (at most four).
    ///
    /// With [`KeyOrder::Any`]: up to four required keys float (every
    /// order); optional keys float too when the whole object has at most
    /// four members, and are free otherwise. More required keys than four
    /// would cost `k!` paths once the engine turns the (regular) states
    /// into one regex, so they keep an order: two layouts, the order of
    /// `properties` and the order of `required`. When `minProperties`
    /// exceeds what `required` guarantees, counts must be exact (a
    /// repeated key must not count twice): then nothing is free, and
    /// optional keys keep the order of `properties`.
    #[allow(clippy::type_complexity)]
    fn place_members(
        &self,
        o: &Obj,
        entries: Vec<(&str, Expr, bool)>,
    ) -> (Vec<(Vec<(Expr, bool)>, Vec<(Expr, bool)>)>, Vec<Expr>) {
        let mut positional = Vec::new();
        let mut floating = Vec::new();
        let mut free = Vec::new();
        let required = entries.iter().filter(|(_, _, r)| *r).count();
        let counts_exact = o.min <= required as u64;
        if self.opts.key_order == KeyOrder::Declared || (required > MAX_FLOATING && !counts_exact) {
            for (k, e, req) in entries {
                if req && o.floating.iter().any(|f| f == k) && floating.len() < MAX_FLOATING {
                    floating.push((e, true));
                } else {
                    positional.push((e, req));
                }
            }
            return (vec![(positional, floating)], free);
        }
        // Tracked members are copied once per path through the subsets
        // when the engine turns the object into a regex: keep the copies
        // of big values (long strings, formats) within a budget.
        let weights: Vec<u64> = entries
            .iter()
            .map(|(_, e, _)| self.expr_weight(e, TRACKED_WEIGHT_BUDGET))
            .collect();
        let tracked_cost = |pick: &dyn Fn(usize) -> bool| {
            let k = (0..entries.len()).filter(|&i| pick(i)).count();
            let w: u64 = (0..entries.len())
                .filter(|&i| pick(i))
                .map(|i| weights[i])
                .sum();
            w.saturating_mul(copies_per_member(k))
        };
        let req_fit = tracked_cost(&|i| entries[i].2) <= TRACKED_WEIGHT_BUDGET;
        if required <= MAX_FLOATING && req_fit {
            let small =
                entries.len() <= MAX_FLOATING && tracked_cost(&|_| true) <= TRACKED_WEIGHT_BUDGET;
            for (_, e, req) in entries {
                if req || small {
                    floating.push((e, req));
                } else if counts_exact {
                    free.push(e);
                } else {
                    positional.push((e, false));
                }
            }
            return (vec![(positional, floating)], free);
        }
        if !counts_exact {
            // Optional keys must keep their order (exact counts), and the
            // required ones cannot all float: the declared order.
            for (_, e, req) in entries {
                positional.push((e, req));
            }
            return (vec![(positional, floating)], free);
        }
        // Many (or big) required keys, optional ones free: in the order of
        // `properties`, or in the order of `required`.
        let mut by_decl = Vec::new();
        for (k, e, req) in entries {
            if req {
                by_decl.push((k, e));
            } else {
                free.push(e);
            }
        }
        let rank = |k: &str| o.required.iter().position(|r| r == k);
        let mut by_req = by_decl.clone();
        by_req.sort_by_key(|(k, _)| rank(k));
        let mut layouts = vec![by_decl
            .iter()
            .map(|(_, e)| (e.clone(), true))
            .collect::<Vec<_>>()];
        if by_req
            .iter()
            .map(|(k, _)| *k)
            .ne(by_decl.iter().map(|(k, _)| *k))
        {
            layouts.push(by_req.into_iter().map(|(_, e)| (e, true)).collect());
        }
        (layouts.into_iter().map(|m| (m, Vec::new())).collect(), free)
    }

    /// A rough size of the automaton for `e` (regex nodes, counted
    /// repetitions multiplied out, through regular rules), at most `cap`.
    fn expr_weight(&self, e: &Expr, cap: u64) -> u64 {
        self.expr_weight_at(e, cap, 0)
    }

    /// [`Compiler::expr_weight`], `nesting` rules deep: a rule's weight is
    /// computed once and remembered, up to a nesting bound (deeper rules
    /// are walked like any expression).
    fn expr_weight_at(&self, e: &Expr, cap: u64, nesting: usize) -> u64 {
        let mut total = 0u64;
        let mut stack = vec![(e, 1u64)];
        let mut steps = 0usize;
        // Each rule once: recursion (never part of a regex) stops here.
        let mut seen = std::collections::HashSet::new();
        while let Some((e, mult)) = stack.pop() {
            steps += 1;
            if total > cap || steps > 100_000 {
                return cap + 1;
            }
            match e {
                Expr::Empty | Expr::Nothing => {}
                Expr::Literal(l) => {
                    total = total.saturating_add(mult.saturating_mul(l.len() as u64))
                }
                Expr::Regex(h) => {
                    total = total.saturating_add(mult.saturating_mul(hir_weight(h, cap)))
                }
                Expr::Except { expr, except } => {
                    let w = hir_weight(expr, cap).saturating_add(hir_weight(except, cap));
                    total = total.saturating_add(mult.saturating_mul(w))
                }
                Expr::Seq(xs) | Expr::Alt(xs) => stack.extend(xs.iter().map(|x| (x, mult))),
                Expr::Repeat { expr, min, max } => {
                    let m = max.unwrap_or(*min).max(1) as u64;
                    stack.push((expr, mult.saturating_mul(m)));
                }
                Expr::Rule(r) => {
                    if !seen.insert(r.index()) {
                        continue;
                    }
                    let Some(rule) = self.grammar.rules.get(r.index()) else {
                        continue;
                    };
                    let known = self.rule_weights.borrow().get(&r.0).copied();
                    if let Some(w) = known {
                        total = total.saturating_add(mult.saturating_mul(w));
                    } else if nesting < 32 && !matches!(rule.expr, Expr::Nothing) {
                        // (A rule still `Nothing` may be one being built.)
                        self.rule_weights.borrow_mut().insert(r.0, 0);
                        let w = self.expr_weight_at(&rule.expr, cap, nesting + 1);
                        self.rule_weights.borrow_mut().insert(r.0, w);
                        total = total.saturating_add(mult.saturating_mul(w));
                    } else {
                        stack.push((&rule.expr, mult));
                    }
                }
                Expr::Capture { expr, .. } => stack.push((expr, mult)),
            }
        }
        total.min(cap + 1)
    }

    /// One undeclared member (`key: value`), if any may appear.
    ///
    /// Undeclared keys fall into regions by the patterns they match: keys
    /// matching exactly the patterns of a set T take the intersection of
    /// their schemas; keys matching none take `additionalProperties`. Each
    /// region's key language is computed exactly (minus the declared keys,
    /// within `propertyNames`).
    fn extra_member(
        &mut self,
        o: &Obj,
        declared: &[&str],
        d: u32,
    ) -> Result<Option<Expr>, GrammarError> {
        if o.max == Some(0) {
            return Ok(None);
        }
        let k = o.patterns.len();
        if k > 4 {
            return Err(self.err(
                &o.at,
                "patternProperties",
                format!("{k} patternProperties: at most 4 are supported (keys may match several)"),
            ));
        }
        // Finite property names: each allowed key on its own.
        if let Some(Schema::Values(names)) = &o.names {
            let mut alts = Vec::new();
            for n in names {
                let Some(key) = n.as_str() else { continue };
                if declared.contains(&key) {
                    continue;
                }
                let s = self.value_schema(o, key)?;
                if s.is_nothing() {
                    continue;
                }
                let v = self.emit(&s, d + 1)?;
                alts.push(Expr::seq(vec![
                    Expr::regex(quoted(&rx::lit(key))),
                    self.colon(),
                    v,
                ]));
            }
            return Ok((!alts.is_empty()).then(|| Expr::alt(alts)));
        }
        // Property names as regexes (with length bounds applied at the end).
        let (name_regexes, name_len): (Vec<Hir>, Option<(u64, Option<u64>)>) = match &o.names {
            None => (Vec::new(), None),
            Some(Schema::String(st)) => (
                st.regexes.iter().map(|r| (*r.hir).clone()).collect(),
                (st.min > 0 || st.max.is_some()).then_some((st.min, st.max)),
            ),
            Some(Schema::Nothing) => return Ok(None),
            Some(_) => {
                return Err(self.err(
                    &o.at,
                    "propertyNames",
                    "only propertyNames schemas of strings (pattern, length, format) or of a finite set are supported",
                ))
            }
        };
        let mut alts = Vec::new();
        for t in 0..(1usize << k) {
            // The value schema of region T.
            let value = if t == 0 {
                o.additional.clone()
            } else {
                let mut v = Schema::Any;
                for (i, p) in o.patterns.iter().enumerate() {
                    if t & (1 << i) != 0 {
                        v = self.intersect(v, p.schema.clone())?;
                    }
                }
                v
            };
            if value.is_nothing() {
                continue;
            }
            let mut pos: Vec<Hir> = name_regexes.clone();
            let mut neg: Vec<Hir> = Vec::new();
            for (i, p) in o.patterns.iter().enumerate() {
                if t & (1 << i) != 0 {
                    pos.push(p.hir.clone());
                } else {
                    neg.push(p.hir.clone());
                }
            }
            // Declared keys that could fall in this region must be left out.
            let mut excluded = Vec::new();
            for w in declared {
                let mut inside = true;
                for h in &pos {
                    if !self.regex_matches(h, w)? {
                        inside = false;
                        break;
                    }
                }
                if inside {
                    excluded.push(*w);
                }
            }
            let keys = if pos.is_empty() && neg.is_empty() {
                if excluded.is_empty() {
                    rx::rep(rx::any_char(), 0, None)
                } else if name_len.is_none() {
                    // The common case: any key but the declared ones.
                    let keys = self.other_keys(&excluded);
                    let v = self.emit(&value, d + 1)?;
                    alts.push(Expr::seq(vec![keys, self.colon(), v]));
                    continue;
                } else {
                    rx::not_in(&excluded).map_err(|e| self.long_key_err(&o.at, e))?
                }
            } else if pos.len() == 1 && neg.is_empty() && excluded.is_empty() {
                pos[0].clone()
            } else {
                // Declared keys are left out by the lexer when the
                // region's keys are unbounded (see `Expr::Except`), else
                // by the automaton.
                let words = (!excluded.is_empty()).then(|| rx::any_of(&excluded));
                let leave_out = words.is_some() && name_len.is_none();
                let mut neg = neg;
                if let (Some(w), false) = (&words, leave_out) {
                    neg.push(w.clone());
                }
                let Some(h) = self.region_keys(&o.at, &pos, &neg)? else {
                    continue;
                };
                match words {
                    Some(w) if leave_out => {
                        if h.properties().maximum_len().is_none() {
                            let v = self.emit(&value, d + 1)?;
                            let keys = Expr::Except {
                                expr: Arc::new(quoted(&h)),
                                except: Arc::new(quoted(&w)),
                            };
                            alts.push(Expr::seq(vec![keys, self.colon(), v]));
                            continue;
                        }
                        neg.push(w);
                        let Some(h) = self.region_keys(&o.at, &pos, &neg)? else {
                            continue;
                        };
                        h
                    }
                    _ => h,
                }
            };
            let keys = match name_len {
                None => keys,
                Some((lo, hi)) => rx::restrict_len(&keys, lo, hi, LENGTH_BUDGET).map_err(|_| {
                    self.err(
                        &o.at,
                        "propertyNames",
                        "the key length bounds give too large a grammar",
                    )
                })?,
            };
            let v = self.emit(&value, d + 1)?;
            alts.push(Expr::seq(vec![Expr::regex(quoted(&keys)), self.colon(), v]));
        }
        Ok((!alts.is_empty()).then(|| Expr::alt(alts)))
    }

    /// The keys matched by every regex of `pos` and none of `neg`, or
    /// `None` when there are none.
    fn region_keys(
        &mut self,
        at: &str,
        pos: &[Hir],
        neg: &[Hir],
    ) -> Result<Option<Hir>, GrammarError> {
        let pos: Vec<&Hir> = pos.iter().collect();
        let neg: Vec<&Hir> = neg.iter().collect();
        self.combine(&pos, &neg)?.map_err(|_| {
            self.err(
                at,
                "patternProperties",
                "the keys allowed besides the declared properties (patterns, their \
                 complements, propertyNames) give too large an automaton",
            )
        })
    }

    /// The JSON text of any key but these: any JSON string except the
    /// declared keys (cached: objects of one definition are often emitted
    /// many times).
    fn other_keys(&mut self, declared: &[&str]) -> Expr {
        static ANY_KEY: std::sync::OnceLock<Arc<Hir>> = std::sync::OnceLock::new();
        let key: Vec<String> = declared.iter().map(|s| s.to_string()).collect();
        if let Some(e) = self.key_cache.get(&key) {
            return e.clone();
        }
        let e = Expr::Except {
            expr: ANY_KEY.get_or_init(|| Arc::new(string_any())).clone(),
            except: Arc::new(quoted(&rx::any_of(declared))),
        };
        self.key_cache.insert(key, e.clone());
        e
    }

    /// Keys besides the declared ones need a regex of "any key but these",
    /// which long property names make too deep.
    fn long_key_err(&self, at: &str, e: rx::TooBig) -> GrammarError {
        self.err(
            at,
            "properties",
            format!(
                "a property name longer than {} characters cannot be told apart from other keys \
                 (set \"additionalProperties\": false, or shorten it)",
                e.limit
            ),
        )
    }

    /// F(i, c, started, used): members from slot i on (extras and
    /// floating members allowed first); `c` members so far (capped),
    /// `used` the floating members already written.
    fn obj_f(
        &mut self,
        st: &mut ObjStates,
        i: usize,
        c: u64,
        started: bool,
        used: u32,
    ) -> Result<Expr, GrammarError> {
        let key = (i, c, started, used);
        if let Some(&r) = st.f.get(&key) {
            return Ok(Expr::Rule(r));
        }
        let r = self.grammar.add_rule("members", Expr::Nothing);
        st.f.insert(key, r);
        let mut alts = vec![self.obj_g(st, i, c, started, used)?];
        let d = st.d;
        let sep = |this: &Self| {
            if started {
                vec![this.comma(d)]
            } else {
                vec![]
            }
        };
        let room = st.max.is_none_or(|m| c < m);
        let next_c = if st.max.is_some() {
            c + 1
        } else {
            (c + 1).min(st.cap)
        };
        if room {
            for j in 0..st.floating.len() {
                if used & (1 << j) != 0 {
                    continue;
                }
                let mut seq = sep(self);
                seq.push(st.floating[j].0.clone());
                seq.push(self.obj_f(st, i, next_c, true, used | (1 << j))?);
                alts.push(Expr::seq(seq));
            }
        }
        if let Some(e) = st.extra.clone() {
            if st.max.is_none() && c == st.cap && st.floating.is_empty() {
                // Saturated count: any number of extras, then G.
                let mut seq = sep(self);
                seq.push(e.clone());
                seq.push(Expr::repeat(Expr::seq(vec![self.comma(st.d), e]), 0, None));
                seq.push(self.obj_g(st, i, c, true, used)?);
                alts.push(Expr::seq(seq));
            } else if room && !(st.max.is_none() && c == st.cap) {
                let mut seq = sep(self);
                seq.push(e);
                seq.push(self.obj_f(st, i, next_c, true, used)?);
                alts.push(Expr::seq(seq));
            } else if room {
                // Saturated with floating members left: extras one by one
                // would loop; allow a run of them, then F without extras
                // first (the run may be followed by floating members).
                let mut seq = sep(self);
                seq.push(e.clone());
                seq.push(Expr::repeat(Expr::seq(vec![self.comma(st.d), e]), 0, None));
                seq.push(self.obj_f_no_extra(st, i, c, used)?);
                alts.push(Expr::seq(seq));
            }
        }
        self.grammar.rules[r.index()].expr = Expr::alt(alts);
        Ok(Expr::Rule(r))
    }

    /// F after a run of extras at a saturated count: G, or a floating
    /// member (then F again).
    fn obj_f_no_extra(
        &mut self,
        st: &mut ObjStates,
        i: usize,
        c: u64,
        used: u32,
    ) -> Result<Expr, GrammarError> {
        let mut alts = vec![self.obj_g(st, i, c, true, used)?];
        for j in 0..st.floating.len() {
            if used & (1 << j) != 0 {
                continue;
            }
            alts.push(Expr::seq(vec![
                self.comma(st.d),
                st.floating[j].0.clone(),
                self.obj_f(st, i, c, true, used | (1 << j))?,
            ]));
        }
        Ok(Expr::alt(alts))
    }

    /// G(i, c, started, used): declared member i (or skip it), then F(i+1).
    fn obj_g(
        &mut self,
        st: &mut ObjStates,
        i: usize,
        c: u64,
        started: bool,
        used: u32,
    ) -> Result<Expr, GrammarError> {
        if i == st.members.len() {
            // The end: non-empty bodies only (the empty object is separate).
            let all = used & st.required_mask == st.required_mask;
            return Ok(if started && c >= st.min && all {
                Expr::Empty
            } else {
                Expr::Nothing
            });
        }
        let key = (i, c, started, used);
        if let Some(&r) = st.g.get(&key) {
            return Ok(Expr::Rule(r));
        }
        let r = self.grammar.add_rule("member", Expr::Nothing);
        st.g.insert(key, r);
        let (m, required) = st.members[i].clone();
        let mut alts = Vec::new();
        if st.max.is_none_or(|mx| c < mx) {
            let mut seq = if started {
                vec![self.comma(st.d)]
            } else {
                vec![]
            };
            seq.push(m);
            let nc = if st.max.is_some() {
                c + 1
            } else {
                (c + 1).min(st.cap)
            };
            seq.push(self.obj_f(st, i + 1, nc, true, used)?);
            alts.push(Expr::seq(seq));
        }
        if !required {
            alts.push(self.obj_f(st, i + 1, c, started, used)?);
        }
        self.grammar.rules[r.index()].expr = Expr::alt(alts);
        Ok(Expr::Rule(r))
    }
}

struct ObjStates {
    /// Positional members (`"key": value`) and whether each is required.
    members: Vec<(Expr, bool)>,
    /// Members without a position, each at most once, and whether each
    /// is required (`required_mask`).
    floating: Vec<(Expr, bool)>,
    required_mask: u32,
    extra: Option<Expr>,
    min: u64,
    max: Option<u64>,
    cap: u64,
    d: u32,
    f: std::collections::HashMap<(usize, u64, bool, u32), RuleId>,
    g: std::collections::HashMap<(usize, u64, bool, u32), RuleId>,
}

/// All orders of `0..n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

fn clamp(x: u64) -> u32 {
    x.min(u32::MAX as u64) as u32
}

/// `"` + encoded content + `"`.
fn quoted(decoded: &Hir) -> Hir {
    concat(vec![lit("\""), rx::encode(decoded), lit("\"")])
}

/// Any JSON string.
fn string_any() -> Hir {
    concat(vec![lit("\""), rep(rx::json_char(), 0, None), lit("\"")])
}

/// Any JSON number.
fn number_any() -> Hir {
    number::number_range(None, None, None)
}

/// The spellings of one number: plain decimal with optional trailing
/// zeros (`1`, `1.0`, `1.50`; only `1` and `1.5` without `trailing_zeros`),
/// and Python's `repr` for very large or small magnitudes (`1e+16`,
/// `1e-05`).
fn number_literal(x: &Decimal, trailing_zeros: bool) -> Hir {
    if x.is_extreme() {
        return lit(&x.to_string());
    }
    let plain = x.to_plain();
    let mut alts = vec![if !trailing_zeros {
        lit(&plain)
    } else if x.is_integer() {
        concat(vec![
            lit(&plain),
            rep(concat(vec![lit("."), rep(lit("0"), 1, None)]), 0, Some(1)),
        ])
    } else {
        concat(vec![lit(&plain), rep(lit("0"), 0, None)])
    }];
    if let Some(m) = x.magnitude() {
        if !(-4..16).contains(&m) {
            // Normalized scientific notation with a two-digit exponent.
            let (i, f) = x.abs().int_frac();
            let digits: String = format!("{i}{f}")
                .trim_start_matches('0')
                .trim_end_matches('0')
                .to_string();
            let (head, tail) = digits.split_at(1.min(digits.len()));
            let mant = if tail.is_empty() {
                head.to_string()
            } else {
                format!("{head}.{tail}")
            };
            let sign = if x.is_negative() { "-" } else { "" };
            let es = if m < 0 { "-" } else { "+" };
            alts.push(lit(&format!("{sign}{mant}e{es}{:02}", m.abs())));
        }
    }
    alt(alts)
}

/// For `k` = p/q (lowest terms), `Some(p)`: integer multiples of `k` are
/// the multiples of `p`.
fn integer_step(k: &Decimal) -> Option<Decimal> {
    if k.is_integer() {
        return Some(k.clone());
    }
    let (i, f) = k.int_frac();
    let num: u128 = format!("{i}{f}").parse().ok()?;
    let den: u128 = 10u128.checked_pow(f.len() as u32)?;
    let g = gcd(num, den);
    Decimal::parse(&(num / g).to_string())
}

/// `j` when `k` is `10^-j`.
fn power_of_ten_fraction(k: &Decimal) -> Option<usize> {
    if k.is_power_of_ten() {
        let m = k.magnitude()?;
        if m < 0 {
            return Some((-m) as usize);
        }
    }
    None
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn lcm(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    let x: u128 = a.to_plain().parse().ok()?;
    let y: u128 = b.to_plain().parse().ok()?;
    let l = (x / gcd(x, y)).checked_mul(y)?;
    Decimal::parse(&l.to_string())
}
