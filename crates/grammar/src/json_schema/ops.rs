//! Set operations on [`Schema`]s: intersection (`allOf`, sibling keywords),
//! complement (`not`, `if`/`else`, exact `oneOf`) and disjointness.
//!
//! Both are exact or fail with an error naming the keyword: an operation
//! rein cannot express is never approximated.

use std::rc::Rc;

use serde_json::Value;

use super::number::Bound;
use super::schema::{Arr, Num, Obj, Schema, Str};
use super::Compiler;
use crate::GrammarError;

impl<'a> Compiler<'a> {
    /// The intersection of two schemas.
    pub(crate) fn intersect(&mut self, a: Schema, b: Schema) -> Result<Schema, GrammarError> {
        // Intersections of recursive definitions can nest without end
        // (each level merges objects whose members intersect again):
        // bounded like schema nesting, an error rather than a stack
        // overflow.
        self.depth += 1;
        if self.depth > self.opts.max_depth {
            self.depth -= 1;
            return Err(GrammarError::Limit {
                what: "nesting of intersections (allOf, $ref siblings)".into(),
                value: self.depth as u64 + 1,
                limit: self.opts.max_depth as u64,
            });
        }
        let r = self.intersect_inner(a, b);
        self.depth -= 1;
        r
    }

    fn intersect_inner(&mut self, a: Schema, b: Schema) -> Result<Schema, GrammarError> {
        /// Copies are weighed up to this (the work limit ends larger ones).
        const COPY_CAP: usize = 1 << 20;
        self.tick(1)?;
        use Schema as S;
        let r = match (a, b) {
            (S::Any, x) | (x, S::Any) => x,
            (S::Nothing, _) | (_, S::Nothing) => S::Nothing,
            (S::Ref(i), S::Ref(j)) if i == j => S::Ref(i),
            (S::Lazy(mut v), x) | (x, S::Lazy(mut v)) => {
                v.push(x);
                S::Lazy(v)
            }
            (S::Ref(i), x) | (x, S::Ref(i)) => {
                if self.defs.get(i).is_some_and(|d| d.schema.is_none()) {
                    // Still being built: intersect later.
                    S::Lazy(vec![S::Ref(i), x])
                } else {
                    let s = self.resolved(i, "allOf")?;
                    self.intersect(s, x)?
                }
            }
            (S::Values(v), x) | (x, S::Values(v)) => {
                let mut keep = Vec::new();
                for val in v {
                    if self.accepts(&x, &val)? {
                        keep.push(val);
                    }
                }
                S::Values(keep)
            }
            // Operands keep their order: it decides the order of merged
            // object properties.
            (S::AnyOf(v), x) => {
                // One copy of `x` per branch.
                self.tick(x.weight(COPY_CAP).saturating_mul(v.len()))?;
                let mut out = Vec::with_capacity(v.len());
                for s in v {
                    let r = self.intersect(s, x.clone())?;
                    if !r.is_nothing() {
                        out.push(r);
                    }
                }
                S::AnyOf(out)
            }
            (x, S::AnyOf(v)) => {
                self.tick(x.weight(COPY_CAP).saturating_mul(v.len()))?;
                let mut out = Vec::with_capacity(v.len());
                for s in v {
                    let r = self.intersect(x.clone(), s)?;
                    if !r.is_nothing() {
                        out.push(r);
                    }
                }
                S::AnyOf(out)
            }
            (S::Null, S::Null) => S::Null,
            (S::Boolean, S::Boolean) => S::Boolean,
            (S::Number(a), S::Number(b)) => S::Number(Box::new(merge_num(*a, *b))),
            (S::String(a), S::String(b)) => {
                let mut a = *a;
                self.tick(a.regexes.len().saturating_mul(b.regexes.len()))?;
                a.min = a.min.max(b.min);
                a.max = min_opt(a.max, b.max);
                for r in b.regexes {
                    if !a.regexes.iter().any(|x| x.hir == r.hir) {
                        a.regexes.push(r);
                    }
                }
                S::String(Box::new(a))
            }
            (S::Array(a), S::Array(b)) => S::Array(Box::new(self.merge_arr(*a, *b)?)),
            (S::Object(a), S::Object(b)) => S::Object(Box::new(self.merge_obj(*a, *b)?)),
            _ => S::Nothing,
        };
        Ok(r.normalize())
    }

    fn merge_arr(&mut self, a: Arr, b: Arr) -> Result<Arr, GrammarError> {
        let n = a.prefix.len().max(b.prefix.len());
        let mut prefix = Vec::with_capacity(n);
        for i in 0..n {
            let x = a.prefix.get(i).cloned().unwrap_or_else(|| a.items.clone());
            let y = b.prefix.get(i).cloned().unwrap_or_else(|| b.items.clone());
            prefix.push(self.intersect(x, y)?);
        }
        let items = self.intersect(a.items, b.items)?;
        let mut contains = a.contains;
        contains.extend(b.contains);
        Ok(Arr {
            min: a.min.max(b.min),
            max: min_opt(a.max, b.max),
            prefix,
            items,
            contains,
            unique: a.unique || b.unique,
            at: a.at,
        })
    }

    /// The schema an object puts on the value of key `k`.
    pub(crate) fn value_schema(&mut self, o: &Obj, k: &str) -> Result<Schema, GrammarError> {
        if let Some(s) = o.prop(k) {
            return Ok(s.clone());
        }
        if let Some(names) = &o.names {
            if !self.accepts(names, &Value::String(k.to_string()))? {
                return Ok(Schema::Nothing);
            }
        }
        let mut s = Schema::Any;
        let mut matched = false;
        for p in &o.patterns {
            if self.regex_matches(&p.hir, k)? {
                matched = true;
                s = self.intersect(s, p.schema.clone())?;
            }
        }
        if !matched {
            s = o.additional.clone();
        }
        Ok(s)
    }

    fn merge_obj(&mut self, a: Obj, b: Obj) -> Result<Obj, GrammarError> {
        // Declared keys of both sides, then required ones declared by
        // neither (every required key gets a declared schema).
        let mut keys: Vec<String> = a.props.iter().map(|(k, _)| k.clone()).collect();
        let more = b
            .props
            .iter()
            .map(|(k, _)| k)
            .chain(&a.required)
            .chain(&b.required);
        for k in more {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        let floating: Vec<String> = keys
            .iter()
            .filter(|k| !a.is_positional(k) && !b.is_positional(k))
            .cloned()
            .collect();
        let mut props = Vec::with_capacity(keys.len());
        for k in keys {
            let x = self.value_schema(&a, &k)?;
            let y = self.value_schema(&b, &k)?;
            props.push((k, self.intersect(x, y)?));
        }
        let Obj {
            mut required,
            patterns: pa,
            additional: aa,
            min: amin,
            max: amax,
            names: an,
            at,
            ..
        } = a;
        let Obj {
            required: rb,
            patterns: pb,
            additional: ab,
            min: bmin,
            max: bmax,
            names: bn,
            ..
        } = b;
        let (patterns, additional) = if pa.is_empty() && aa.is_any() {
            (pb, ab)
        } else if pb.is_empty() && ab.is_any() {
            (pa, aa)
        } else if pa.is_empty() && pb.is_empty() {
            (Vec::new(), self.intersect(aa, ab)?)
        } else if pa.is_empty() || pb.is_empty() {
            let (plain, pats, pat_add) = if pa.is_empty() {
                (aa, pb, ab)
            } else {
                (ab, pa, aa)
            };
            let mut patterns = Vec::with_capacity(pats.len());
            for mut p in pats {
                p.schema = self.intersect(p.schema, plain.clone())?;
                patterns.push(p);
            }
            (patterns, self.intersect(plain, pat_add)?)
        } else {
            return Err(self.err(
                &at,
                "patternProperties",
                "combining (allOf) two object schemas that both have patternProperties and \
                 additionalProperties is not supported",
            ));
        };
        for r in rb {
            if !required.contains(&r) {
                required.push(r);
            }
        }
        let names = match (an, bn) {
            (None, x) | (x, None) => x,
            (Some(x), Some(y)) => Some(self.intersect(x, y)?),
        };
        Ok(Obj {
            props,
            required,
            patterns,
            additional,
            min: amin.max(bmin),
            max: min_opt(amax, bmax),
            names,
            floating,
            at,
        })
    }

    /// Computes a pending intersection ([`Schema::Lazy`]).
    pub(crate) fn force(&mut self, v: Vec<Schema>, keyword: &str) -> Result<Schema, GrammarError> {
        self.forcing += 1;
        if self.forcing > 64 {
            self.forcing -= 1;
            let ptr = match v.first() {
                Some(Schema::Ref(i)) => {
                    self.defs.get(*i).map(|d| d.ptr.clone()).unwrap_or_default()
                }
                _ => Rc::from(""),
            };
            return Err(self.err(
                &ptr,
                keyword,
                "definitions that include each other through allOf (or siblings of $ref) without end",
            ));
        }
        let mut acc = Schema::Any;
        let mut res = Ok(());
        for s in v {
            let s = match s {
                Schema::Ref(i) => match self.resolved(i, keyword) {
                    Ok(s) => s,
                    Err(e) => {
                        res = Err(e);
                        break;
                    }
                },
                s => s,
            };
            match self.intersect(acc, s) {
                Ok(x) => acc = x,
                Err(e) => {
                    res = Err(e);
                    acc = Schema::Nothing;
                    break;
                }
            }
        }
        self.forcing -= 1;
        res?;
        match acc {
            Schema::Lazy(v) => self.force(v, keyword),
            s => Ok(s),
        }
    }

    /// True when no value is in both schemas (as far as rein can prove).
    /// Only limit errors are errors: anything else that stops the
    /// intersection leaves the question open (not disjoint).
    pub(crate) fn disjoint(&mut self, a: &Schema, b: &Schema) -> Result<bool, GrammarError> {
        match self.intersect(a.clone(), b.clone()) {
            Ok(s) => self.proven_empty(&s),
            Err(e @ GrammarError::Limit { .. }) => Err(e),
            Err(_) => Ok(false),
        }
    }

    /// True when the schema holds no value: empty already, or strings
    /// whose regexes have no common string.
    fn proven_empty(&mut self, s: &Schema) -> Result<bool, GrammarError> {
        Ok(match s {
            Schema::Nothing => true,
            Schema::AnyOf(v) => {
                for x in v {
                    if !self.proven_empty(x)? {
                        return Ok(false);
                    }
                }
                true
            }
            Schema::String(st) if st.regexes.len() > 1 => {
                let all: Vec<&regex_syntax::hir::Hir> =
                    st.regexes.iter().map(|r| &*r.hir).collect();
                matches!(self.combine(&all, &[])?, Ok(None))
            }
            _ => false,
        })
    }

    /// Every value not in `s`.
    pub(crate) fn negate(
        &mut self,
        s: Schema,
        at: &Rc<str>,
        keyword: &str,
    ) -> Result<Schema, GrammarError> {
        // Complements of recursive definitions can nest without end (each
        // level negates the members of an object again): bounded like
        // intersections, an error rather than a stack overflow.
        self.depth += 1;
        if self.depth > self.opts.max_depth {
            self.depth -= 1;
            return Err(GrammarError::Limit {
                what: format!("nesting of complements (`{keyword}` over recursive definitions)"),
                value: self.depth as u64 + 1,
                limit: self.opts.max_depth as u64,
            });
        }
        let r = self.negate_inner(s, at, keyword);
        self.depth -= 1;
        r
    }

    fn negate_inner(
        &mut self,
        s: Schema,
        at: &Rc<str>,
        keyword: &str,
    ) -> Result<Schema, GrammarError> {
        self.tick(1)?;
        use Schema as S;
        let r = match s {
            S::Any => S::Nothing,
            S::Nothing => S::Any,
            S::Null => all_but(Kind::Null, at),
            S::Boolean => all_but(Kind::Boolean, at),
            S::Ref(i) => {
                let r = self.resolved(i, keyword)?;
                self.negate(r, at, keyword)?
            }
            S::Lazy(v) => {
                let r = self.force(v, keyword)?;
                self.negate(r, at, keyword)?
            }
            S::AnyOf(v) => {
                let mut acc = S::Any;
                for x in v {
                    let n = self.negate(x, at, keyword)?;
                    acc = self.intersect(acc, n)?;
                    if acc.is_nothing() {
                        break;
                    }
                }
                acc
            }
            S::Values(v) => self.negate_values(v, at, keyword)?,
            S::Number(n) => {
                let mut parts = vec![all_but(Kind::Number, at)];
                parts.extend(self.negate_num(*n, keyword)?);
                S::AnyOf(parts)
            }
            S::String(st) => {
                let mut parts = vec![all_but(Kind::String, at)];
                parts.extend(self.negate_str(*st, keyword)?);
                S::AnyOf(parts)
            }
            S::Array(a) => {
                let mut parts = vec![all_but(Kind::Array, at)];
                parts.extend(self.negate_arr(*a, keyword)?);
                S::AnyOf(parts)
            }
            S::Object(o) => {
                let mut parts = vec![all_but(Kind::Object, at)];
                parts.extend(self.negate_obj(*o, keyword)?);
                S::AnyOf(parts)
            }
        };
        Ok(r.normalize())
    }

    /// Numbers outside `n` (given that `n` is a number schema).
    fn negate_num(&mut self, n: Num, keyword: &str) -> Result<Vec<Schema>, GrammarError> {
        if !n.multiple_of.is_empty() {
            return Err(self.err(
                &n.at,
                keyword,
                "the complement of `multipleOf` is not supported",
            ));
        }
        if n.integer {
            return Err(self.err(
                &n.at,
                keyword,
                "the complement of type `integer` (numbers with a fraction) is not supported",
            ));
        }
        let mut out = Vec::new();
        let flip = |b: &Bound| Bound {
            value: b.value.clone(),
            exclusive: !b.exclusive,
        };
        if let Some(lo) = &n.lo {
            out.push(Schema::Number(Box::new(Num {
                integer: false,
                lo: None,
                hi: Some(flip(lo)),
                multiple_of: Vec::new(),
                at: n.at.clone(),
            })));
        }
        if let Some(hi) = &n.hi {
            out.push(Schema::Number(Box::new(Num {
                integer: false,
                lo: Some(flip(hi)),
                hi: None,
                multiple_of: Vec::new(),
                at: n.at.clone(),
            })));
        }
        Ok(out)
    }

    fn negate_str(&mut self, s: Str, keyword: &str) -> Result<Vec<Schema>, GrammarError> {
        let mut out = Vec::new();
        // Not matching any one regex is enough.
        for r in &s.regexes {
            match self.combine(&[], &[&r.hir])? {
                Ok(Some(h)) => out.push(Schema::String(Box::new(Str {
                    min: 0,
                    max: None,
                    regexes: vec![super::schema::StrRegex {
                        hir: h.into(),
                        keyword: r.keyword,
                        at: r.at.clone(),
                        source: format!("not {}", r.source),
                    }],
                    at: s.at.clone(),
                }))),
                Ok(None) => {}
                Err(_) => {
                    return Err(self.err(
                        &r.at,
                        keyword,
                        format!(
                            "the complement of `{}` {:?} is too large an automaton",
                            r.keyword, r.source
                        ),
                    ))
                }
            }
        }
        if s.min > 0 {
            out.push(Schema::String(Box::new(Str {
                min: 0,
                max: Some(s.min - 1),
                regexes: Vec::new(),
                at: s.at.clone(),
            })));
        }
        if let Some(m) = s.max {
            out.push(Schema::String(Box::new(Str {
                min: m + 1,
                max: None,
                regexes: Vec::new(),
                at: s.at.clone(),
            })));
        }
        Ok(out)
    }

    fn negate_arr(&mut self, a: Arr, keyword: &str) -> Result<Vec<Schema>, GrammarError> {
        let plain = a.prefix.iter().all(Schema::is_any) && a.items.is_any();
        if !plain || !a.contains.is_empty() || a.unique {
            return Err(self.err(
                &a.at,
                keyword,
                "the complement of array item constraints (items, prefixItems, contains, \
                 uniqueItems) is not supported",
            ));
        }
        let mut out = Vec::new();
        let arr = |min: u64, max: Option<u64>| {
            Schema::Array(Box::new(Arr {
                min,
                max,
                prefix: Vec::new(),
                items: Schema::Any,
                contains: Vec::new(),
                unique: false,
                at: a.at.clone(),
            }))
        };
        if a.min > 0 {
            out.push(arr(0, Some(a.min - 1)));
        }
        if let Some(m) = a.max {
            out.push(arr(m + 1, None));
        }
        Ok(out)
    }

    /// Objects outside `o`: the union of the complements of each of its
    /// constraints.
    fn negate_obj(&mut self, o: Obj, keyword: &str) -> Result<Vec<Schema>, GrammarError> {
        if !o.patterns.is_empty() || !o.additional.is_any() || o.names.is_some() {
            return Err(self.err(
                &o.at,
                keyword,
                "the complement of patternProperties, additionalProperties or propertyNames is \
                 not supported",
            ));
        }
        let mut out = Vec::new();
        let at = o.at.clone();
        for r in &o.required {
            let mut x = Obj::any(&at);
            x.props.push((r.clone(), Schema::Nothing));
            out.push(Schema::Object(Box::new(x)));
        }
        for (k, s) in o.props {
            if s.is_any() {
                continue;
            }
            let n = self.negate(s, &at, keyword)?;
            if n.is_nothing() {
                continue;
            }
            let mut x = Obj::any(&at);
            x.props.push((k.clone(), n));
            x.required.push(k);
            out.push(Schema::Object(Box::new(x)));
        }
        if o.min > 0 {
            let mut x = Obj::any(&at);
            x.max = Some(o.min - 1);
            out.push(Schema::Object(Box::new(x)));
        }
        if let Some(m) = o.max {
            let mut x = Obj::any(&at);
            x.min = m + 1;
            out.push(Schema::Object(Box::new(x)));
        }
        Ok(out)
    }

    /// Every value except these.
    fn negate_values(
        &mut self,
        v: Vec<Value>,
        at: &Rc<str>,
        keyword: &str,
    ) -> Result<Schema, GrammarError> {
        let mut parts = Vec::new();
        let has = |f: fn(&Value) -> bool| v.iter().any(f);
        if !has(Value::is_null) {
            parts.push(Schema::Null);
        }
        let bools: Vec<bool> = v.iter().filter_map(Value::as_bool).collect();
        match (bools.contains(&true), bools.contains(&false)) {
            (false, false) => parts.push(Schema::Boolean),
            (true, false) => parts.push(Schema::Values(vec![Value::Bool(false)])),
            (false, true) => parts.push(Schema::Values(vec![Value::Bool(true)])),
            (true, true) => {}
        }
        // Numbers: the open intervals between the excluded values.
        let mut nums: Vec<super::decimal::Decimal> = v
            .iter()
            .filter_map(Value::as_number)
            .filter_map(super::decimal::Decimal::from_json)
            .collect();
        nums.sort();
        nums.dedup();
        let mut lo: Option<Bound> = None;
        for x in nums {
            let hi = Bound {
                value: x.clone(),
                exclusive: true,
            };
            parts.push(Schema::Number(Box::new(Num {
                integer: false,
                lo: lo.take(),
                hi: Some(hi),
                multiple_of: Vec::new(),
                at: at.clone(),
            })));
            lo = Some(Bound {
                value: x,
                exclusive: true,
            });
        }
        parts.push(Schema::Number(Box::new(Num {
            integer: false,
            lo,
            hi: None,
            multiple_of: Vec::new(),
            at: at.clone(),
        })));
        let strs: Vec<&str> = v.iter().filter_map(Value::as_str).collect();
        if strs.is_empty() {
            parts.push(Schema::string(at));
        } else {
            let mut s = Str {
                min: 0,
                max: None,
                regexes: Vec::new(),
                at: at.clone(),
            };
            s.regexes.push(super::schema::StrRegex {
                hir: super::rx::not_in(&strs).map(Into::into).map_err(|e| {
                    self.err(
                        at,
                        keyword,
                        format!(
                            "excluding a string longer than {} characters is not supported",
                            e.limit
                        ),
                    )
                })?,
                keyword: "not",
                at: at.clone(),
                source: format!("not one of {} strings", strs.len()),
            });
            parts.push(Schema::String(Box::new(s)));
        }
        if v.iter().any(|x| x.is_array() || x.is_object()) {
            return Err(self.err(
                at,
                keyword,
                "the complement of a set of arrays or objects is not supported",
            ));
        }
        parts.push(Schema::array(at));
        parts.push(Schema::object(at));
        Ok(Schema::AnyOf(parts))
    }

    /// `oneOf`: exactly one branch matches.
    pub(crate) fn one_of(
        &mut self,
        branches: Vec<Schema>,
        at: &Rc<str>,
    ) -> Result<Schema, GrammarError> {
        let branches: Vec<Schema> = branches.into_iter().filter(|b| !b.is_nothing()).collect();
        let n = branches.len();
        let mut overlapping = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                if !self.disjoint(&branches[i], &branches[j])? {
                    overlapping.push((i, j));
                }
            }
        }
        if overlapping.is_empty() {
            return Ok(Schema::AnyOf(branches).normalize());
        }
        // Exact: branch i and none of the branches it overlaps with.
        let exact = (|| -> Result<Schema, GrammarError> {
            let mut out = Vec::new();
            for i in 0..n {
                let mut s = branches[i].clone();
                for &(x, y) in &overlapping {
                    let other = if x == i {
                        y
                    } else if y == i {
                        x
                    } else {
                        continue;
                    };
                    let neg = self.negate(branches[other].clone(), at, "oneOf")?;
                    s = self.intersect(s, neg)?;
                    if s.is_nothing() {
                        break;
                    }
                }
                out.push(s);
            }
            Ok(Schema::AnyOf(out).normalize())
        })();
        match exact {
            Ok(s) => Ok(s),
            Err(e) if self.opts.oneof_as_anyof => {
                self.note(format!(
                    "{}: oneOf branches {overlapping:?} may overlap and are treated as anyOf ({e})",
                    Self::display_pointer(at)
                ));
                Ok(Schema::AnyOf(branches).normalize())
            }
            Err(GrammarError::Schema { message, .. }) => Err(self.err(
                at,
                "oneOf",
                format!(
                    "branches {} may overlap and their complement cannot be expressed ({message}); \
                     the option to treat oneOf as anyOf would accept values matching several branches",
                    overlapping
                        .iter()
                        .map(|(a, b)| format!("{a}&{b}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Err(e) => Err(e),
        }
    }
}

/// The six JSON types.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

/// Every value whose type is not `k`.
fn all_but(k: Kind, at: &Rc<str>) -> Schema {
    let mut v = Vec::new();
    if k != Kind::Null {
        v.push(Schema::Null);
    }
    if k != Kind::Boolean {
        v.push(Schema::Boolean);
    }
    if k != Kind::Number {
        v.push(Schema::number(false, at));
    }
    if k != Kind::String {
        v.push(Schema::string(at));
    }
    if k != Kind::Array {
        v.push(Schema::array(at));
    }
    if k != Kind::Object {
        v.push(Schema::object(at));
    }
    Schema::AnyOf(v)
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) | (None, x) => x,
    }
}

fn tighter_lo(a: Option<Bound>, b: Option<Bound>) -> Option<Bound> {
    match (a, b) {
        (Some(x), Some(y)) => Some(
            if x.value > y.value || (x.value == y.value && x.exclusive) {
                x
            } else {
                y
            },
        ),
        (x, None) | (None, x) => x,
    }
}

fn tighter_hi(a: Option<Bound>, b: Option<Bound>) -> Option<Bound> {
    match (a, b) {
        (Some(x), Some(y)) => Some(
            if x.value < y.value || (x.value == y.value && x.exclusive) {
                x
            } else {
                y
            },
        ),
        (x, None) | (None, x) => x,
    }
}

pub(crate) fn merge_num(a: Num, b: Num) -> Num {
    let mut multiple_of = a.multiple_of;
    for m in b.multiple_of {
        if !multiple_of.contains(&m) {
            multiple_of.push(m);
        }
    }
    Num {
        integer: a.integer || b.integer,
        lo: tighter_lo(a.lo, b.lo),
        hi: tighter_hi(a.hi, b.hi),
        multiple_of,
        at: a.at,
    }
}
