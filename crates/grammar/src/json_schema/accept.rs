//! Deciding whether a JSON value belongs to a [`Schema`] (used to filter
//! `enum` values through sibling constraints, to apply `propertyNames` and
//! `patternProperties` to declared keys, and by `uniqueItems`).

use regex_automata::meta::Regex;
use regex_syntax::hir::{Hir, Look};
use serde_json::Value;

use super::decimal::Decimal;
use super::rx;
use super::schema::Schema;
use super::Compiler;
use crate::GrammarError;

/// JSON equality as JSON Schema defines it: numbers by value (`1 == 1.0`),
/// objects regardless of key order.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (Decimal::from_json(x), Decimal::from_json(y)) {
                (Some(x), Some(y)) => x == y,
                _ => x == y,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A hash consistent with [`json_eq`]: equal values hash equally.
pub(crate) fn json_hash(v: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match v {
        Value::Number(n) => match Decimal::from_json(n) {
            Some(d) => (0u8, d).hash(&mut h),
            None => (1u8, n.to_string()).hash(&mut h),
        },
        Value::Array(xs) => {
            2u8.hash(&mut h);
            for x in xs {
                json_hash(x).hash(&mut h);
            }
        }
        Value::Object(m) => {
            // Key order does not matter: combine the entries' hashes with
            // a commutative operation.
            let mut sum = 0u64;
            for (k, x) in m {
                let mut e = std::collections::hash_map::DefaultHasher::new();
                (k, json_hash(x)).hash(&mut e);
                sum = sum.wrapping_add(e.finish());
            }
            (3u8, m.len(), sum).hash(&mut h);
        }
        other => (4u8, other.to_string()).hash(&mut h),
    }
    h.finish()
}

/// Keeps the first of each group of [`json_eq`] values, in order (linear
/// time for distinct values, where pairwise comparison is quadratic).
pub(crate) fn dedup_json(values: impl IntoIterator<Item = Value>, out: &mut Vec<Value>) {
    let mut buckets: std::collections::HashMap<u64, Vec<usize>> = std::collections::HashMap::new();
    for (i, y) in out.iter().enumerate() {
        buckets.entry(json_hash(y)).or_default().push(i);
    }
    for x in values {
        let b = buckets.entry(json_hash(&x)).or_default();
        if !b
            .iter()
            .any(|&i| out.get(i).is_some_and(|y| json_eq(&x, y)))
        {
            b.push(out.len());
            out.push(x);
        }
    }
}

/// True if two of `xs` are [`json_eq`].
pub(crate) fn has_duplicates(xs: &[Value]) -> bool {
    let mut buckets: std::collections::HashMap<u64, Vec<&Value>> = std::collections::HashMap::new();
    for x in xs {
        let b = buckets.entry(json_hash(x)).or_default();
        if b.iter().any(|y| json_eq(x, y)) {
            return true;
        }
        b.push(x);
    }
    false
}

impl<'a> Compiler<'a> {
    /// Whether `s` matches `h` as a whole.
    pub(crate) fn regex_matches(&mut self, h: &Hir, s: &str) -> Result<bool, GrammarError> {
        let key = h.to_string();
        if !self.regexes.contains_key(&key) {
            let full = rx::concat(vec![
                Hir::look(Look::Start),
                h.clone(),
                Hir::look(Look::End),
            ]);
            let re = Regex::builder()
                .build_from_hir(&full)
                .map_err(|e| GrammarError::Invalid(format!("building a regex matcher: {e}")))?;
            self.regexes.insert(key.clone(), re);
        }
        Ok(self.regexes.get(&key).is_some_and(|re| re.is_match(s)))
    }

    /// Whether `v` belongs to `s`.
    pub(crate) fn accepts(&mut self, s: &Schema, v: &Value) -> Result<bool, GrammarError> {
        self.tick(1)?;
        self.depth += 1;
        if self.depth > self.opts.max_depth {
            self.depth -= 1;
            return Err(GrammarError::Limit {
                what: "nesting depth while checking a value against the schema".into(),
                value: self.depth as u64 + 1,
                limit: self.opts.max_depth as u64,
            });
        }
        let r = self.accepts_inner(s, v);
        self.depth -= 1;
        r
    }

    fn accepts_inner(&mut self, s: &Schema, v: &Value) -> Result<bool, GrammarError> {
        Ok(match s {
            Schema::Any => true,
            Schema::Nothing => false,
            Schema::Null => v.is_null(),
            Schema::Boolean => v.is_boolean(),
            Schema::Values(vs) => vs.iter().any(|x| json_eq(x, v)),
            Schema::AnyOf(bs) => {
                for b in bs {
                    if self.accepts(b, v)? {
                        return Ok(true);
                    }
                }
                false
            }
            Schema::Ref(i) => {
                let r = self.resolved(*i, "$ref")?;
                self.accepts(&r, v)?
            }
            Schema::Lazy(parts) => {
                let r = self.force(parts.clone(), "allOf")?;
                self.accepts(&r, v)?
            }
            Schema::Number(n) => {
                let Some(x) = v.as_number().and_then(Decimal::from_json) else {
                    return Ok(false);
                };
                if n.integer && !x.is_integer() {
                    return Ok(false);
                }
                if let Some(lo) = &n.lo {
                    if x < lo.value || (lo.exclusive && x == lo.value) {
                        return Ok(false);
                    }
                }
                if let Some(hi) = &n.hi {
                    if x > hi.value || (hi.exclusive && x == hi.value) {
                        return Ok(false);
                    }
                }
                for m in &n.multiple_of {
                    match x.is_multiple_of(m) {
                        Some(true) => {}
                        Some(false) => return Ok(false),
                        None => {
                            return Err(self.err(
                                &n.at,
                                "multipleOf",
                                format!("cannot decide whether {x} is a multiple of {m}"),
                            ))
                        }
                    }
                }
                true
            }
            Schema::String(st) => {
                let Some(x) = v.as_str() else {
                    return Ok(false);
                };
                let n = x.chars().count() as u64;
                if n < st.min || st.max.is_some_and(|m| n > m) {
                    return Ok(false);
                }
                for r in &st.regexes {
                    if !self.regex_matches(&r.hir, x)? {
                        return Ok(false);
                    }
                }
                true
            }
            Schema::Array(a) => {
                let Some(xs) = v.as_array() else {
                    return Ok(false);
                };
                let n = xs.len() as u64;
                if n < a.min || a.max.is_some_and(|m| n > m) {
                    return Ok(false);
                }
                for (i, x) in xs.iter().enumerate() {
                    let item = a.prefix.get(i).unwrap_or(&a.items);
                    if !self.accepts(item, x)? {
                        return Ok(false);
                    }
                }
                for c in &a.contains {
                    let mut k = 0;
                    for x in xs {
                        if self.accepts(&c.schema, x)? {
                            k += 1;
                        }
                    }
                    if k < c.min || c.max.is_some_and(|m| k > m) {
                        return Ok(false);
                    }
                }
                if a.unique && has_duplicates(xs) {
                    return Ok(false);
                }
                true
            }
            Schema::Object(o) => {
                let Some(m) = v.as_object() else {
                    return Ok(false);
                };
                let n = m.len() as u64;
                if n < o.min || o.max.is_some_and(|x| n > x) {
                    return Ok(false);
                }
                if o.required.iter().any(|r| !m.contains_key(r)) {
                    return Ok(false);
                }
                for (k, x) in m {
                    let vs = self.value_schema(o, k)?;
                    if !self.accepts(&vs, x)? {
                        return Ok(false);
                    }
                }
                true
            }
        })
    }
}
