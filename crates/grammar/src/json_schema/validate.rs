//! A JSON Schema validator over the raw schema document.
//!
//! `enum` and `const` make a schema's language finite; rather than turning
//! every sibling keyword into grammar, the compiler keeps the values the
//! whole schema object accepts, decided here. This covers keywords the
//! grammar builder cannot express in general (`not`, `uniqueItems` over
//! objects, `if`/`then`/`else` over anything): on a finite set they are
//! easy. Keywords are interpreted exactly as by [`super::build`]
//! (same drafts, same regex dialect, same formats).

use serde_json::{Map, Value};

use super::accept::{has_duplicates, json_eq, json_hash};
use super::decimal::Decimal;
use super::formats::{self, Format};
use super::{pattern, Compiler, Draft, UnknownFormats};
use crate::GrammarError;

impl<'a> Compiler<'a> {
    /// Whether `enum` array `e` holds `v`: a linear scan for short arrays,
    /// a hash index (built once per array) for long ones, since every
    /// value of a long `enum` is validated against its own schema.
    fn enum_contains(&mut self, e: &'a [Value], v: &Value) -> bool {
        if e.len() <= 32 {
            return e.iter().any(|x| json_eq(x, v));
        }
        let index = self
            .enum_index
            .entry(e.as_ptr() as usize)
            .or_insert_with(|| {
                let mut ix: std::collections::HashMap<u64, Vec<usize>> = Default::default();
                for (i, x) in e.iter().enumerate() {
                    ix.entry(json_hash(x)).or_default().push(i);
                }
                ix
            });
        index
            .get(&json_hash(v))
            .is_some_and(|b| b.iter().any(|&i| e.get(i).is_some_and(|x| json_eq(x, v))))
    }

    /// Whether `v` is valid against the schema `node` at `ptr`.
    pub(crate) fn validate(
        &mut self,
        v: &Value,
        node: &'a Value,
        ptr: &str,
        base: &str,
    ) -> Result<bool, GrammarError> {
        self.tick(1)?;
        self.depth += 1;
        if self.depth > self.opts.max_depth {
            self.depth -= 1;
            return Err(GrammarError::Limit {
                what: "nesting depth while validating a value".into(),
                value: self.depth as u64 + 1,
                limit: self.opts.max_depth as u64,
            });
        }
        let r = self.validate_inner(v, node, ptr, base);
        self.depth -= 1;
        r
    }

    fn validate_inner(
        &mut self,
        v: &Value,
        node: &'a Value,
        ptr: &str,
        base: &str,
    ) -> Result<bool, GrammarError> {
        let m = match node {
            Value::Bool(b) => return Ok(*b),
            Value::Object(m) => m,
            _ => return Err(self.err(ptr, "", "a schema must be an object or a boolean")),
        };
        let base = self.base_of(m, base);
        self.check_keywords(m, ptr)?;
        if let Some(r) = m.get("$ref") {
            let r = r
                .as_str()
                .ok_or_else(|| self.err(ptr, "$ref", "must be a string"))?;
            let t = self
                .index
                .resolve(self.root, &base, r)
                .map_err(|e| self.err(ptr, "$ref", e))?;
            let ok = self.validate(v, t.node, &t.pointer, &t.base)?;
            if self.draft <= Draft::Draft7 || !ok {
                return Ok(ok);
            }
        }
        let sub = |k: &str| format!("{ptr}/{k}");
        // Type.
        if let Some(t) = m.get("type") {
            let nullable = self.opts.openapi_nullable
                && m.get("nullable") == Some(&Value::Bool(true))
                && v.is_null();
            let ok = match t {
                Value::String(s) => type_ok(s, v),
                Value::Array(ts) => ts.iter().any(|t| t.as_str().is_some_and(|s| type_ok(s, v))),
                _ => return Err(self.err(ptr, "type", "must be a string or an array of strings")),
            };
            if !ok && !nullable {
                return Ok(false);
            }
        }
        if let Some(e) = m.get("enum") {
            let e = e
                .as_array()
                .ok_or_else(|| self.err(ptr, "enum", "must be an array"))?;
            if !self.enum_contains(e, v) {
                return Ok(false);
            }
        }
        if let Some(c) = m.get("const") {
            if !json_eq(c, v) {
                return Ok(false);
            }
        }
        let typed_ok = match v {
            Value::Number(n) => self.validate_number(n, m, ptr)?,
            Value::String(s) => self.validate_string(s, m, ptr)?,
            Value::Array(xs) => self.validate_array(xs, m, ptr, &base)?,
            Value::Object(o) => self.validate_object(o, m, ptr, &base)?,
            _ => true,
        };
        if !typed_ok {
            return Ok(false);
        }
        if let Some(all) = m.get("allOf") {
            for (i, s) in self.schema_array(all, ptr, "allOf")?.iter().enumerate() {
                if !self.validate(v, s, &format!("{}/{i}", sub("allOf")), &base)? {
                    return Ok(false);
                }
            }
        }
        if let Some(any) = m.get("anyOf") {
            let mut ok = false;
            for (i, s) in self.schema_array(any, ptr, "anyOf")?.iter().enumerate() {
                if self.validate(v, s, &format!("{}/{i}", sub("anyOf")), &base)? {
                    ok = true;
                    break;
                }
            }
            if !ok {
                return Ok(false);
            }
        }
        if let Some(one) = m.get("oneOf") {
            let mut n = 0;
            for (i, s) in self.schema_array(one, ptr, "oneOf")?.iter().enumerate() {
                if self.validate(v, s, &format!("{}/{i}", sub("oneOf")), &base)? {
                    n += 1;
                }
            }
            if n != 1 {
                return Ok(false);
            }
        }
        if let Some(not) = m.get("not") {
            if self.validate(v, not, &sub("not"), &base)? {
                return Ok(false);
            }
        }
        if let Some(cond) = m.get("if") {
            let branch = if self.validate(v, cond, &sub("if"), &base)? {
                "then"
            } else {
                "else"
            };
            if let Some(s) = m.get(branch) {
                if !self.validate(v, s, &sub(branch), &base)? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn validate_number(
        &mut self,
        n: &serde_json::Number,
        m: &Map<String, Value>,
        ptr: &str,
    ) -> Result<bool, GrammarError> {
        let Some(x) = Decimal::from_json(n) else {
            return Ok(false);
        };
        let num = |this: &Self, k: &str| -> Result<Option<Decimal>, GrammarError> {
            match m.get(k) {
                None | Some(Value::Bool(_)) => Ok(None),
                Some(Value::Number(n)) => Decimal::from_json(n)
                    .map(Some)
                    .ok_or_else(|| this.err(ptr, k, "must be a finite number")),
                Some(_) => Err(this.err(ptr, k, "must be a number")),
            }
        };
        let excl_flag = |k: &str| m.get(k) == Some(&Value::Bool(true));
        if let Some(lo) = num(self, "minimum")? {
            if x < lo || (excl_flag("exclusiveMinimum") && x == lo) {
                return Ok(false);
            }
        }
        if let Some(hi) = num(self, "maximum")? {
            if x > hi || (excl_flag("exclusiveMaximum") && x == hi) {
                return Ok(false);
            }
        }
        if let Some(lo) = num(self, "exclusiveMinimum")? {
            if x <= lo {
                return Ok(false);
            }
        }
        if let Some(hi) = num(self, "exclusiveMaximum")? {
            if x >= hi {
                return Ok(false);
            }
        }
        if let Some(k) = num(self, "multipleOf")? {
            match x.is_multiple_of(&k) {
                Some(true) => {}
                Some(false) => return Ok(false),
                None => {
                    return Err(self.err(
                        ptr,
                        "multipleOf",
                        format!("cannot decide whether {x} is a multiple of {k}"),
                    ))
                }
            }
        }
        Ok(true)
    }

    fn validate_string(
        &mut self,
        s: &str,
        m: &Map<String, Value>,
        ptr: &str,
    ) -> Result<bool, GrammarError> {
        let n = s.chars().count() as u64;
        if let Some(min) = self.count(m, ptr, "minLength")? {
            if n < min {
                return Ok(false);
            }
        }
        if let Some(max) = self.count(m, ptr, "maxLength")? {
            if n > max {
                return Ok(false);
            }
        }
        if let Some(p) = m.get("pattern") {
            let p = p
                .as_str()
                .ok_or_else(|| self.err(ptr, "pattern", "must be a string"))?;
            let h = pattern::search_regex(p)
                .map_err(|e| self.err(ptr, "pattern", format!("{p:?}: {}", e.message)))?;
            if !self.regex_matches(&h, s)? {
                return Ok(false);
            }
        }
        if let Some(f) = m.get("format") {
            let Some(f) = f.as_str() else {
                return Err(self.err(ptr, "format", "must be a string"));
            };
            match formats::lookup(f).map_err(GrammarError::Invalid)? {
                Format::Regex(h) => {
                    if !self.regex_matches(&h, s)? {
                        return Ok(false);
                    }
                }
                Format::Unsupported => {
                    return Err(self.err(
                        ptr,
                        "format",
                        format!("the format {f:?} is not supported"),
                    ))
                }
                Format::Unknown => {
                    if self.opts.unknown_formats == UnknownFormats::Error {
                        return Err(self.err(ptr, "format", format!("unknown format {f:?}")));
                    }
                }
            }
        }
        Ok(true)
    }

    fn validate_array(
        &mut self,
        xs: &[Value],
        m: &'a Map<String, Value>,
        ptr: &str,
        base: &str,
    ) -> Result<bool, GrammarError> {
        let n = xs.len() as u64;
        if self.count(m, ptr, "minItems")?.is_some_and(|min| n < min) {
            return Ok(false);
        }
        if self.count(m, ptr, "maxItems")?.is_some_and(|max| n > max) {
            return Ok(false);
        }
        let (prefix, prefix_key, rest, rest_key) = self.item_schemas(m, ptr)?;
        for (i, x) in xs.iter().enumerate() {
            let (s, p) = if i < prefix.len() {
                (Some(&prefix[i]), format!("{ptr}/{prefix_key}/{i}"))
            } else {
                (rest, format!("{ptr}/{rest_key}"))
            };
            if let Some(s) = s {
                if !self.validate(x, s, &p, base)? {
                    return Ok(false);
                }
            }
        }
        if let Some(c) = m.get("contains") {
            let mut k = 0;
            for x in xs {
                if self.validate(x, c, &format!("{ptr}/contains"), base)? {
                    k += 1;
                }
            }
            let min = self.count(m, ptr, "minContains")?.unwrap_or(1);
            if k < min {
                return Ok(false);
            }
            if self
                .count(m, ptr, "maxContains")?
                .is_some_and(|max| k > max)
            {
                return Ok(false);
            }
        }
        if m.get("uniqueItems") == Some(&Value::Bool(true)) && has_duplicates(xs) {
            return Ok(false);
        }
        Ok(true)
    }

    fn validate_object(
        &mut self,
        o: &Map<String, Value>,
        m: &'a Map<String, Value>,
        ptr: &str,
        base: &str,
    ) -> Result<bool, GrammarError> {
        let n = o.len() as u64;
        if self
            .count(m, ptr, "minProperties")?
            .is_some_and(|min| n < min)
        {
            return Ok(false);
        }
        if self
            .count(m, ptr, "maxProperties")?
            .is_some_and(|max| n > max)
        {
            return Ok(false);
        }
        if let Some(r) = m.get("required") {
            for k in self.string_array(r, ptr, "required")? {
                if !o.contains_key(k) {
                    return Ok(false);
                }
            }
        }
        let props = match m.get("properties") {
            Some(p) => Some(
                p.as_object()
                    .ok_or_else(|| self.err(ptr, "properties", "must be an object"))?,
            ),
            None => None,
        };
        let mut patterns = Vec::new();
        if let Some(pp) = m.get("patternProperties") {
            let pp = pp
                .as_object()
                .ok_or_else(|| self.err(ptr, "patternProperties", "must be an object"))?;
            for (p, s) in pp {
                let h = pattern::search_regex(p).map_err(|e| {
                    self.err(ptr, "patternProperties", format!("{p:?}: {}", e.message))
                })?;
                patterns.push((h, p, s));
            }
        }
        for (k, x) in o {
            let mut matched = false;
            if let Some(s) = props.and_then(|p| p.get(k)) {
                matched = true;
                let p = format!("{ptr}/properties/{}", super::resolve::escape_token(k));
                if !self.validate(x, s, &p, base)? {
                    return Ok(false);
                }
            }
            for (h, p, s) in &patterns {
                if self.regex_matches(h, k)? {
                    matched = true;
                    let pp = format!(
                        "{ptr}/patternProperties/{}",
                        super::resolve::escape_token(p)
                    );
                    if !self.validate(x, s, &pp, base)? {
                        return Ok(false);
                    }
                }
            }
            if !matched {
                if let Some(s) = m.get("additionalProperties") {
                    if !self.validate(x, s, &format!("{ptr}/additionalProperties"), base)? {
                        return Ok(false);
                    }
                }
            }
            if let Some(s) = m.get("propertyNames") {
                if !self.validate(
                    &Value::String(k.clone()),
                    s,
                    &format!("{ptr}/propertyNames"),
                    base,
                )? {
                    return Ok(false);
                }
            }
        }
        for key in ["dependentRequired", "dependentSchemas", "dependencies"] {
            let Some(d) = m.get(key) else { continue };
            let d = d
                .as_object()
                .ok_or_else(|| self.err(ptr, key, "must be an object"))?;
            for (k, dep) in d {
                if !o.contains_key(k) {
                    continue;
                }
                match dep {
                    Value::Array(_) => {
                        for r in self.string_array(dep, ptr, key)? {
                            if !o.contains_key(r) {
                                return Ok(false);
                            }
                        }
                    }
                    _ => {
                        let p = format!("{ptr}/{key}/{}", super::resolve::escape_token(k));
                        if !self.validate(&Value::Object(o.clone()), dep, &p, base)? {
                            return Ok(false);
                        }
                    }
                }
            }
        }
        Ok(true)
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "number" => v.is_number(),
        "integer" => v
            .as_number()
            .and_then(Decimal::from_json)
            .is_some_and(|d| d.is_integer()),
        _ => false,
    }
}
