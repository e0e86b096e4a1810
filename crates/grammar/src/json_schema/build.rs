//! From a schema document to a normalized [`Schema`].

use std::rc::Rc;
use std::sync::Arc;

use regex_syntax::hir::Hir;
use serde_json::{Map, Value};

use super::decimal::Decimal;
use super::formats::{self, Format};
use super::number::Bound;
use super::schema::{Arr, Contains, Num, Obj, PatternProp, Schema, Str, StrRegex};
use super::{pattern, Compiler, Draft, UnknownFormats};
use crate::GrammarError;

/// Which of the six types (with `integer` apart from `number`) a schema
/// allows.
#[derive(Clone, Copy, Debug, Default)]
struct Types {
    null: bool,
    boolean: bool,
    integer: bool,
    number: bool,
    string: bool,
    array: bool,
    object: bool,
}

impl Types {
    fn all() -> Types {
        Types {
            null: true,
            boolean: true,
            integer: true,
            number: true,
            string: true,
            array: true,
            object: true,
        }
    }
}

impl<'a> Compiler<'a> {
    /// The normalized schema of the schema object `node` at `ptr`.
    pub(crate) fn build(
        &mut self,
        node: &'a Value,
        ptr: &str,
        base: &str,
    ) -> Result<Schema, GrammarError> {
        self.tick(1)?;
        self.depth += 1;
        if self.depth > self.opts.max_depth {
            self.depth -= 1;
            return Err(GrammarError::Limit {
                what: "schema nesting depth".into(),
                value: self.depth as u64 + 1,
                limit: self.opts.max_depth as u64,
            });
        }
        let r = self.build_inner(node, ptr, base);
        self.depth -= 1;
        r
    }

    fn build_inner(
        &mut self,
        node: &'a Value,
        ptr: &str,
        base: &str,
    ) -> Result<Schema, GrammarError> {
        let m = match node {
            Value::Bool(true) => return Ok(Schema::Any),
            Value::Bool(false) => return Ok(Schema::Nothing),
            Value::Object(m) => m,
            _ => return Err(self.err(ptr, "", "a schema must be an object or a boolean")),
        };
        let base = self.base_of(m, base);
        self.check_keywords(m, ptr)?;
        if let Some(r) = m.get("$ref") {
            let r = r
                .as_str()
                .ok_or_else(|| self.err(ptr, "$ref", "must be a string"))?;
            let target = self.reference(r, ptr, &base)?;
            if self.draft <= Draft::Draft7 {
                // Before 2019-09, `$ref` overrides its siblings.
                return Ok(target);
            }
            let rest = self.build_map(node, m, ptr, &base, true)?;
            return self.intersect(target, rest);
        }
        self.build_map(node, m, ptr, &base, false)
    }

    /// `Ref` to the definition at `reference`, building it on first use.
    pub(crate) fn reference(
        &mut self,
        reference: &str,
        ptr: &str,
        base: &str,
    ) -> Result<Schema, GrammarError> {
        let t = self
            .index
            .resolve(self.root, base, reference)
            .map_err(|e| self.err(ptr, "$ref", e))?;
        if let Some(&id) = self.def_ids.get(&t.pointer) {
            return Ok(Schema::Ref(id));
        }
        let id = self.defs.len();
        self.defs.push(super::Def {
            ptr: t.pointer.as_str().into(),
            schema: None,
        });
        self.def_ids.insert(t.pointer.clone(), id);
        let s = self.build(t.node, &t.pointer, &t.base)?;
        self.defs[id].schema = Some(s);
        Ok(Schema::Ref(id))
    }

    /// The schema of a definition; an error while it is still being built
    /// (a recursive reference inside a combinator).
    pub(crate) fn resolved(&mut self, id: usize, keyword: &str) -> Result<Schema, GrammarError> {
        match self.defs.get(id).and_then(|d| d.schema.clone()) {
            Some(s) => Ok(s),
            None => {
                let ptr = self.defs.get(id).map(|d| d.ptr.clone()).unwrap_or_default();
                Err(self.err(
                    &ptr,
                    keyword,
                    "this definition refers to itself through allOf, not, oneOf, if or a sibling \
                     of $ref, which is not supported (recursion through properties and items is)",
                ))
            }
        }
    }

    /// The values of `enum`/`const` that constrain this schema object (or
    /// its `allOf` branches and references), if any.
    fn finite_values(
        &mut self,
        m: &'a Map<String, Value>,
        ptr: &str,
        base: &str,
        depth: u32,
    ) -> Result<Option<Vec<Value>>, GrammarError> {
        if depth > 16 {
            return Ok(None);
        }
        if m.contains_key("$ref") && self.draft <= Draft::Draft7 {
            // Siblings of `$ref` do not apply before 2019-09.
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                if let Ok(t) = self.index.resolve(self.root, base, r) {
                    if let Some(tm) = t.node.as_object() {
                        let tb = self.base_of(tm, &t.base);
                        return self.finite_values(tm, &t.pointer, &tb, depth + 1);
                    }
                }
            }
            return Ok(None);
        }
        if let Some(c) = m.get("const") {
            return Ok(Some(vec![c.clone()]));
        }
        if let Some(e) = m.get("enum") {
            let e = e
                .as_array()
                .ok_or_else(|| self.err(ptr, "enum", "must be an array"))?;
            return Ok(Some(e.clone()));
        }
        match m.get("type").and_then(Value::as_str) {
            Some("boolean") => return Ok(Some(vec![Value::Bool(false), Value::Bool(true)])),
            Some("null") => return Ok(Some(vec![Value::Null])),
            _ => {}
        }
        if let Some(all) = m.get("allOf").and_then(Value::as_array) {
            for (i, b) in all.iter().enumerate() {
                if let Some(bm) = b.as_object() {
                    let p = format!("{ptr}/allOf/{i}");
                    let bb = self.base_of(bm, base);
                    if let Some(v) = self.finite_values(bm, &p, &bb, depth + 1)? {
                        return Ok(Some(v));
                    }
                }
            }
        }
        if let Some(r) = m.get("$ref").and_then(Value::as_str) {
            if let Ok(t) = self.index.resolve(self.root, base, r) {
                if let Some(tm) = t.node.as_object() {
                    let tb = self.base_of(tm, &t.base);
                    if let Some(v) = self.finite_values(tm, &t.pointer, &tb, depth + 1)? {
                        return Ok(Some(v));
                    }
                }
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(bs) = m.get(key).and_then(Value::as_array) {
                let mut all = Vec::new();
                let mut finite = !bs.is_empty();
                for (i, b) in bs.iter().enumerate() {
                    match b.as_object() {
                        Some(bm) => {
                            let p = format!("{ptr}/{key}/{i}");
                            let bb = self.base_of(bm, base);
                            match self.finite_values(bm, &p, &bb, depth + 1)? {
                                Some(v) => all.extend(v),
                                None => finite = false,
                            }
                        }
                        None => finite = b == &Value::Bool(false) && finite,
                    }
                    if !finite {
                        break;
                    }
                }
                if finite {
                    return Ok(Some(all));
                }
            }
        }
        Ok(None)
    }

    fn build_map(
        &mut self,
        node: &'a Value,
        m: &'a Map<String, Value>,
        ptr: &str,
        base: &str,
        skip_ref: bool,
    ) -> Result<Schema, GrammarError> {
        let at: Rc<str> = ptr.into();
        if let Some(values) = self.finite_values(m, ptr, base, 0)? {
            // The whole schema object decides which values stay.
            let mut keep = Vec::new();
            for v in values {
                if self.validate(&v, node, ptr, base)? {
                    keep.push(v);
                }
            }
            return Ok(Schema::Values(keep).normalize());
        }
        let _ = skip_ref;
        let types = self.types(m, ptr)?;
        let mut parts = Vec::new();
        if types.null {
            parts.push(Schema::Null);
        }
        if types.boolean {
            parts.push(Schema::Boolean);
        }
        if types.number || types.integer {
            parts.push(self.build_number(m, ptr, !types.number)?);
        }
        if types.string {
            parts.push(self.build_string(m, ptr)?);
        }
        if types.array {
            parts.push(self.build_array(m, ptr, base)?);
        }
        if types.object {
            parts.push(self.build_object(m, ptr, base)?);
        }
        let mut s = Schema::AnyOf(parts).normalize();
        if let Some(all) = m.get("allOf") {
            for (i, b) in self.schema_array(all, ptr, "allOf")?.iter().enumerate() {
                let x = self.build(b, &format!("{ptr}/allOf/{i}"), base)?;
                s = self.intersect(s, x)?;
            }
        }
        if let Some(any) = m.get("anyOf") {
            let mut bs = Vec::new();
            for (i, b) in self.schema_array(any, ptr, "anyOf")?.iter().enumerate() {
                bs.push(self.build(b, &format!("{ptr}/anyOf/{i}"), base)?);
            }
            s = self.intersect(s, Schema::AnyOf(bs))?;
        }
        if let Some(one) = m.get("oneOf") {
            let mut bs = Vec::new();
            for (i, b) in self.schema_array(one, ptr, "oneOf")?.iter().enumerate() {
                let x = self.build(b, &format!("{ptr}/oneOf/{i}"), base)?;
                // Siblings first: they often make the branches disjoint.
                bs.push(self.intersect(s.clone(), x)?);
            }
            s = self.one_of(bs, &at)?;
        }
        if let Some(not) = m.get("not") {
            let x = self.build(not, &format!("{ptr}/not"), base)?;
            let n = self.negate(x, &at, "not")?;
            s = self.intersect(s, n)?;
        }
        if let Some(cond) = m.get("if") {
            let then = m.get("then");
            let els = m.get("else");
            if then.is_some() || els.is_some() {
                let c = self.build(cond, &format!("{ptr}/if"), base)?;
                let t = match then {
                    Some(t) => self.build(t, &format!("{ptr}/then"), base)?,
                    None => Schema::Any,
                };
                let e = match els {
                    Some(e) => self.build(e, &format!("{ptr}/else"), base)?,
                    None => Schema::Any,
                };
                let yes = self.intersect(c.clone(), t)?;
                let nc = self.negate(c, &at, "if")?;
                let no = self.intersect(nc, e)?;
                s = self.intersect(s, Schema::AnyOf(vec![yes, no]))?;
            }
        }
        Ok(s)
    }

    fn types(&mut self, m: &Map<String, Value>, ptr: &str) -> Result<Types, GrammarError> {
        let Some(t) = m.get("type") else {
            return Ok(Types::all());
        };
        let mut ts = Types::default();
        let mut add = |this: &Self, name: &str| -> Result<(), GrammarError> {
            match name {
                "null" => ts.null = true,
                "boolean" => ts.boolean = true,
                "integer" => ts.integer = true,
                "number" => ts.number = true,
                "string" => ts.string = true,
                "array" => ts.array = true,
                "object" => ts.object = true,
                "any" => ts = Types::all(),
                _ => return Err(this.err(ptr, "type", format!("unknown type {name:?}"))),
            }
            Ok(())
        };
        match t {
            Value::String(s) => add(self, s)?,
            Value::Array(v) => {
                for x in v {
                    let s = x.as_str().ok_or_else(|| {
                        self.err(ptr, "type", "must be a string or an array of strings")
                    })?;
                    add(self, s)?;
                }
            }
            _ => return Err(self.err(ptr, "type", "must be a string or an array of strings")),
        }
        if m.get("nullable") == Some(&Value::Bool(true)) {
            if self.opts.openapi_nullable {
                ts.null = true;
            } else {
                self.note(format!(
                    "{}: `nullable` is an OpenAPI keyword that JSON Schema validators ignore; so \
                     does rein (see the openapi_nullable option)",
                    Self::display_pointer(ptr)
                ));
            }
        }
        Ok(ts)
    }

    fn number_kw(
        &self,
        m: &Map<String, Value>,
        ptr: &str,
        k: &str,
    ) -> Result<Option<Decimal>, GrammarError> {
        match m.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => Decimal::from_json(n)
                .filter(|d| !d.is_extreme())
                .map(Some)
                .ok_or_else(|| {
                    self.err(
                        ptr,
                        k,
                        format!("{n} is out of the supported range (|exponent| <= 400)"),
                    )
                }),
            Some(_) => Err(self.err(ptr, k, "must be a number")),
        }
    }

    fn build_number(
        &mut self,
        m: &Map<String, Value>,
        ptr: &str,
        integer: bool,
    ) -> Result<Schema, GrammarError> {
        let flag = |k: &str| m.get(k) == Some(&Value::Bool(true));
        let mut lo: Option<Bound> = None;
        let mut hi: Option<Bound> = None;
        if let Some(v) = self.number_kw(m, ptr, "minimum")? {
            lo = Some(Bound {
                value: v,
                exclusive: flag("exclusiveMinimum"),
            });
        }
        if let Some(v) = self.number_kw(m, ptr, "maximum")? {
            hi = Some(Bound {
                value: v,
                exclusive: flag("exclusiveMaximum"),
            });
        }
        for (k, is_lo) in [("exclusiveMinimum", true), ("exclusiveMaximum", false)] {
            match m.get(k) {
                None | Some(Value::Bool(_)) => {}
                Some(_) => {
                    let v = self.number_kw(m, ptr, k)?;
                    let b = v.map(|value| Bound {
                        value,
                        exclusive: true,
                    });
                    let n = Num {
                        integer,
                        lo: if is_lo { b.clone() } else { None },
                        hi: if is_lo { None } else { b },
                        multiple_of: Vec::new(),
                        at: ptr.into(),
                    };
                    let cur = Num {
                        integer,
                        lo: lo.take(),
                        hi: hi.take(),
                        multiple_of: Vec::new(),
                        at: ptr.into(),
                    };
                    let merged = super::ops::merge_num(cur, n);
                    lo = merged.lo;
                    hi = merged.hi;
                }
            }
        }
        let mut multiple_of = Vec::new();
        if let Some(k) = self.number_kw(m, ptr, "multipleOf")? {
            if k.is_zero() || k.is_negative() {
                return Err(self.err(ptr, "multipleOf", "must be greater than 0"));
            }
            multiple_of.push(k);
        }
        Ok(Schema::Number(Box::new(Num {
            integer,
            lo,
            hi,
            multiple_of,
            at: ptr.into(),
        }))
        .normalize())
    }

    fn build_string(&mut self, m: &Map<String, Value>, ptr: &str) -> Result<Schema, GrammarError> {
        let at: Rc<str> = ptr.into();
        let min = self.count(m, ptr, "minLength")?.unwrap_or(0);
        let max = self.count(m, ptr, "maxLength")?;
        let mut regexes = Vec::new();
        if let Some(p) = m.get("pattern") {
            let p = p
                .as_str()
                .ok_or_else(|| self.err(ptr, "pattern", "must be a string"))?;
            let key = format!("p{p}");
            let hir = match self.parsed_regexes.get(&key) {
                Some(h) => h.clone(),
                None => {
                    let h: Arc<Hir> = pattern::search_regex(p)
                        .map_err(|e| self.err(ptr, "pattern", format!("{p:?}: {}", e.message)))?
                        .into();
                    self.parsed_regexes.insert(key, h.clone());
                    h
                }
            };
            regexes.push(StrRegex {
                hir,
                keyword: "pattern",
                at: at.clone(),
                source: p.to_string(),
            });
        }
        if let Some(f) = m.get("format") {
            let f = f
                .as_str()
                .ok_or_else(|| self.err(ptr, "format", "must be a string"))?;
            match formats::lookup(f).map_err(GrammarError::Invalid)? {
                Format::Regex(hir) => regexes.push(StrRegex {
                    hir: self
                        .parsed_regexes
                        .entry(format!("f{f}"))
                        .or_insert_with(|| hir.into())
                        .clone(),
                    keyword: "format",
                    at: at.clone(),
                    source: f.to_string(),
                }),
                Format::Unsupported => {
                    return Err(self.err(
                        ptr,
                        "format",
                        format!(
                            "the format {f:?} is not supported (supported: {})",
                            formats::SUPPORTED.join(", ")
                        ),
                    ))
                }
                Format::Unknown => match self.opts.unknown_formats {
                    UnknownFormats::Error => {
                        return Err(self.err(
                            ptr,
                            "format",
                            format!("{f:?} is not a format of the JSON Schema specification"),
                        ))
                    }
                    UnknownFormats::Ignore => self.note(format!(
                        "{}: format {f:?} is not a JSON Schema format; validators ignore it, so \
                         does rein",
                        Self::display_pointer(ptr)
                    )),
                },
            }
        }
        Ok(Schema::String(Box::new(Str {
            min,
            max,
            regexes,
            at,
        }))
        .normalize())
    }

    fn build_array(
        &mut self,
        m: &'a Map<String, Value>,
        ptr: &str,
        base: &str,
    ) -> Result<Schema, GrammarError> {
        let at: Rc<str> = ptr.into();
        let min = self.count(m, ptr, "minItems")?.unwrap_or(0);
        let max = self.count(m, ptr, "maxItems")?;
        let (prefix_nodes, prefix_key, rest_node, rest_key) = self.item_schemas(m, ptr)?;
        let mut prefix = Vec::with_capacity(prefix_nodes.len());
        for (i, p) in prefix_nodes.iter().enumerate() {
            prefix.push(self.build(p, &format!("{ptr}/{prefix_key}/{i}"), base)?);
        }
        let items = match rest_node {
            Some(r) => self.build(r, &format!("{ptr}/{rest_key}"), base)?,
            None => Schema::Any,
        };
        let mut contains = Vec::new();
        if let Some(c) = m.get("contains") {
            let schema = self.build(c, &format!("{ptr}/contains"), base)?;
            let cmin = self.count(m, ptr, "minContains")?.unwrap_or(1);
            let cmax = self.count(m, ptr, "maxContains")?;
            contains.push(Contains {
                schema,
                min: cmin,
                max: cmax,
            });
        }
        let unique = match m.get("uniqueItems") {
            None | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(_) => return Err(self.err(ptr, "uniqueItems", "must be a boolean")),
        };
        Ok(Schema::Array(Box::new(Arr {
            min,
            max,
            prefix,
            items,
            contains,
            unique,
            at,
        }))
        .normalize())
    }

    fn build_object(
        &mut self,
        m: &'a Map<String, Value>,
        ptr: &str,
        base: &str,
    ) -> Result<Schema, GrammarError> {
        let at: Rc<str> = ptr.into();
        let mut o = Obj::any(&at);
        if let Some(p) = m.get("properties") {
            let p = p
                .as_object()
                .ok_or_else(|| self.err(ptr, "properties", "must be an object"))?;
            for (k, s) in p {
                let sp = format!("{ptr}/properties/{}", super::resolve::escape_token(k));
                let x = self.build(s, &sp, base)?;
                o.props.push((k.clone(), x));
            }
        }
        if let Some(pp) = m.get("patternProperties") {
            let pp = pp
                .as_object()
                .ok_or_else(|| self.err(ptr, "patternProperties", "must be an object"))?;
            for (p, s) in pp {
                let sp = format!(
                    "{ptr}/patternProperties/{}",
                    super::resolve::escape_token(p)
                );
                let hir = pattern::search_regex(p).map_err(|e| {
                    self.err(ptr, "patternProperties", format!("{p:?}: {}", e.message))
                })?;
                let schema = self.build(s, &sp, base)?;
                o.patterns.push(PatternProp {
                    hir,
                    source: p.clone(),
                    schema,
                });
            }
        }
        o.additional = match m.get("additionalProperties") {
            Some(a) => self.build(a, &format!("{ptr}/additionalProperties"), base)?,
            None if self.opts.strict => Schema::Nothing,
            None => Schema::Any,
        };
        if let Some(n) = m.get("propertyNames") {
            let names = self.build(n, &format!("{ptr}/propertyNames"), base)?;
            let strings = Schema::string(&at);
            o.names = Some(self.intersect(names, strings)?);
        }
        // Declared properties get the pattern properties that match them
        // and are forbidden when propertyNames rejects them.
        let props = std::mem::take(&mut o.props);
        for (k, mut s) in props {
            for p in o.patterns.clone() {
                if self.regex_matches(&p.hir, &k)? {
                    s = self.intersect(s, p.schema)?;
                }
            }
            if let Some(names) = o.names.clone() {
                if !self.accepts(&names, &Value::String(k.clone()))? {
                    s = Schema::Nothing;
                }
            }
            o.props.push((k, s));
        }
        if let Some(r) = m.get("required") {
            for k in self.string_array(r, ptr, "required")? {
                if !o.required.iter().any(|x| x == k) {
                    o.required.push(k.to_string());
                }
                if o.prop(k).is_none() {
                    let s = self.value_schema(&o, k)?;
                    o.props.push((k.to_string(), s));
                    o.floating.push(k.to_string());
                }
            }
        }
        o.min = self.count(m, ptr, "minProperties")?.unwrap_or(0);
        o.max = self.count(m, ptr, "maxProperties")?;
        let mut s = Schema::Object(Box::new(o)).normalize();
        // Dependencies: "if k is present, then ...", per key.
        for key in ["dependentRequired", "dependentSchemas", "dependencies"] {
            let Some(d) = m.get(key) else { continue };
            let d = d
                .as_object()
                .ok_or_else(|| self.err(ptr, key, "must be an object"))?;
            for (k, dep) in d {
                let mut absent = Obj::any(&at);
                absent.props.push((k.clone(), Schema::Nothing));
                let mut present = Obj::any(&at);
                present.required.push(k.clone());
                let mut then = Schema::Object(Box::new(present));
                match dep {
                    Value::Array(_) => {
                        let mut req = Obj::any(&at);
                        for r in self.string_array(dep, ptr, key)? {
                            req.required.push(r.to_string());
                        }
                        then = self.intersect(then, Schema::Object(Box::new(req)))?;
                    }
                    _ => {
                        let sp = format!("{ptr}/{key}/{}", super::resolve::escape_token(k));
                        let x = self.build(dep, &sp, base)?;
                        then = self.intersect(then, x)?;
                    }
                }
                let either = Schema::AnyOf(vec![Schema::Object(Box::new(absent)), then]);
                s = self.intersect(s, either)?;
            }
        }
        Ok(s)
    }
}
