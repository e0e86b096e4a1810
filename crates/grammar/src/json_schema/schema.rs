//! The normalized schema: what a JSON Schema means, one type at a time.
//!
//! A JSON Schema object mixes keywords for every type and combinators. The
//! compiler first turns it into a [`Schema`]: a union of per-type
//! constraint records (`Number`, `String`, ...), finite value sets and
//! references to definitions. Every keyword rein supports is represented
//! exactly; `allOf` is computed as an intersection of these records, `not`
//! as their complement, so that the grammar built from a `Schema` accepts
//! exactly the valid instances (up to the documented subsets of formats
//! and number spellings).

use std::rc::Rc;

use regex_syntax::hir::Hir;
use serde_json::Value;

use super::decimal::Decimal;
use super::number::Bound;

/// Index of a definition (the target of a `$ref`).
pub(crate) type DefId = usize;

/// A set of JSON values.
#[derive(Clone, Debug)]
pub(crate) enum Schema {
    /// Every value.
    Any,
    /// No value.
    Nothing,
    /// `null`.
    Null,
    /// `true` and `false`.
    Boolean,
    Number(Box<Num>),
    String(Box<Str>),
    Array(Box<Arr>),
    Object(Box<Obj>),
    /// Exactly these values (distinct, at least one).
    Values(Vec<Value>),
    /// The union.
    AnyOf(Vec<Schema>),
    /// The value set of a definition (which may be recursive).
    Ref(DefId),
    /// The intersection of these schemas, computed once every definition
    /// they refer to is built (a definition reached again through `allOf`
    /// while it is being built).
    Lazy(Vec<Schema>),
}

/// Numbers.
#[derive(Clone, Debug)]
pub(crate) struct Num {
    /// Only integers (written without fraction or exponent).
    pub(crate) integer: bool,
    pub(crate) lo: Option<Bound>,
    pub(crate) hi: Option<Bound>,
    /// The number must be a multiple of each.
    pub(crate) multiple_of: Vec<Decimal>,
    /// JSON pointer of the schema, for messages.
    pub(crate) at: Rc<str>,
}

/// A regex over the decoded string.
#[derive(Clone, Debug)]
pub(crate) struct StrRegex {
    /// Shared: schemas are cloned and merged often (`allOf`, `oneOf`).
    pub(crate) hir: std::sync::Arc<Hir>,
    /// `pattern`, `format`, `propertyNames` or `not`.
    pub(crate) keyword: &'static str,
    pub(crate) at: Rc<str>,
    /// The pattern or format name as written.
    pub(crate) source: String,
}

/// Strings.
#[derive(Clone, Debug)]
pub(crate) struct Str {
    /// Length bounds, in characters.
    pub(crate) min: u64,
    pub(crate) max: Option<u64>,
    /// The string must match every one of these (as a whole).
    pub(crate) regexes: Vec<StrRegex>,
    pub(crate) at: Rc<str>,
}

/// `contains` with its count bounds.
#[derive(Clone, Debug)]
pub(crate) struct Contains {
    pub(crate) schema: Schema,
    pub(crate) min: u64,
    pub(crate) max: Option<u64>,
}

/// Arrays.
#[derive(Clone, Debug)]
pub(crate) struct Arr {
    pub(crate) min: u64,
    pub(crate) max: Option<u64>,
    /// Schemas of the first items, by position.
    pub(crate) prefix: Vec<Schema>,
    /// Schema of the items after the prefix.
    pub(crate) items: Schema,
    pub(crate) contains: Vec<Contains>,
    pub(crate) unique: bool,
    pub(crate) at: Rc<str>,
}

/// A `patternProperties` entry.
#[derive(Clone, Debug)]
pub(crate) struct PatternProp {
    /// Decoded-level regex of the keys it applies to (search semantics
    /// already applied).
    pub(crate) hir: Hir,
    #[allow(dead_code)]
    pub(crate) source: String,
    pub(crate) schema: Schema,
}

/// Objects.
///
/// A declared property's schema already includes every pattern property
/// whose pattern matches its name and `propertyNames`; an undeclared key
/// must satisfy `names`, and its value the schemas of every pattern that
/// matches it, or `additional` when none does.
#[derive(Clone, Debug)]
pub(crate) struct Obj {
    pub(crate) props: Vec<(String, Schema)>,
    pub(crate) required: Vec<String>,
    pub(crate) patterns: Vec<PatternProp>,
    pub(crate) additional: Schema,
    pub(crate) min: u64,
    pub(crate) max: Option<u64>,
    /// `propertyNames`, as a schema of strings.
    pub(crate) names: Option<Schema>,
    /// Keys of `props` that no `properties` keyword declares (only
    /// `required` does): they have no position and may come anywhere.
    pub(crate) floating: Vec<String>,
    pub(crate) at: Rc<str>,
}

impl Schema {
    /// A measure of the work of copying this schema (its nodes and the
    /// nodes of its regexes), counted up to `cap`.
    pub(crate) fn weight(&self, cap: usize) -> usize {
        fn hir_nodes(h: &Hir, n: &mut usize, cap: usize) {
            let mut stack = vec![h];
            while let Some(h) = stack.pop() {
                *n += 1;
                if *n > cap {
                    return;
                }
                stack.extend(h.kind().subs());
            }
        }
        let mut n = 0;
        let mut stack = vec![self];
        while let Some(s) = stack.pop() {
            n += 1;
            if n > cap {
                break;
            }
            match s {
                Schema::String(st) => {
                    for r in &st.regexes {
                        hir_nodes(&r.hir, &mut n, cap);
                    }
                }
                Schema::Array(a) => {
                    stack.extend(&a.prefix);
                    stack.push(&a.items);
                }
                Schema::Object(o) => {
                    stack.extend(o.props.iter().map(|(_, s)| s));
                    stack.extend(o.patterns.iter().map(|p| &p.schema));
                    stack.push(&o.additional);
                    n += o.patterns.len();
                }
                Schema::Values(v) => n += v.len(),
                Schema::AnyOf(v) | Schema::Lazy(v) => stack.extend(v),
                _ => {}
            }
        }
        n.min(cap)
    }

    pub(crate) fn is_nothing(&self) -> bool {
        matches!(self, Schema::Nothing)
    }

    pub(crate) fn is_any(&self) -> bool {
        matches!(self, Schema::Any)
    }

    /// Every number (integers when `integer`).
    pub(crate) fn number(integer: bool, at: &Rc<str>) -> Schema {
        Schema::Number(Box::new(Num {
            integer,
            lo: None,
            hi: None,
            multiple_of: Vec::new(),
            at: at.clone(),
        }))
    }

    pub(crate) fn string(at: &Rc<str>) -> Schema {
        Schema::String(Box::new(Str {
            min: 0,
            max: None,
            regexes: Vec::new(),
            at: at.clone(),
        }))
    }

    pub(crate) fn array(at: &Rc<str>) -> Schema {
        Schema::Array(Box::new(Arr {
            min: 0,
            max: None,
            prefix: Vec::new(),
            items: Schema::Any,
            contains: Vec::new(),
            unique: false,
            at: at.clone(),
        }))
    }

    pub(crate) fn object(at: &Rc<str>) -> Schema {
        Schema::Object(Box::new(Obj::any(at)))
    }

    /// A shallow simplification: flattens unions, drops empty branches,
    /// merges value sets, detects empty records.
    pub(crate) fn normalize(self) -> Schema {
        match self {
            Schema::AnyOf(v) => {
                let mut out: Vec<Schema> = Vec::new();
                let mut values: Vec<Value> = Vec::new();
                let mut stack: Vec<Schema> = v.into_iter().rev().collect();
                while let Some(s) = stack.pop() {
                    match s.normalize() {
                        Schema::Any => return Schema::Any,
                        Schema::Nothing => {}
                        Schema::AnyOf(inner) => stack.extend(inner.into_iter().rev()),
                        Schema::Values(vs) => values.extend(vs),
                        s => out.push(s),
                    }
                }
                if !values.is_empty() {
                    let mut distinct = Vec::with_capacity(values.len());
                    super::accept::dedup_json(values, &mut distinct);
                    out.push(Schema::Values(distinct));
                }
                // Every type, unconstrained: any value.
                let mut kinds = [false; 6];
                for s in &out {
                    if let Some(k) = s.unconstrained_kind() {
                        kinds[k] = true;
                    }
                }
                if kinds.iter().all(|&k| k) {
                    return Schema::Any;
                }
                match out.len() {
                    0 => Schema::Nothing,
                    1 => out.pop().unwrap_or(Schema::Nothing),
                    _ => Schema::AnyOf(out),
                }
            }
            Schema::Values(v) if v.is_empty() => Schema::Nothing,
            Schema::Values(v) => {
                let mut out: Vec<Value> = Vec::with_capacity(v.len());
                super::accept::dedup_json(v, &mut out);
                Schema::Values(out)
            }
            Schema::Number(n) => {
                if let (Some(lo), Some(hi)) = (&n.lo, &n.hi) {
                    if lo.value > hi.value
                        || (lo.value == hi.value && (lo.exclusive || hi.exclusive))
                    {
                        return Schema::Nothing;
                    }
                }
                Schema::Number(n)
            }
            Schema::String(s) => {
                if s.max.is_some_and(|m| m < s.min) {
                    return Schema::Nothing;
                }
                if s.regexes.iter().any(|r| super::rx::matches_nothing(&r.hir)) {
                    return Schema::Nothing;
                }
                Schema::String(s)
            }
            Schema::Array(a) => {
                if a.max.is_some_and(|m| m < a.min) {
                    return Schema::Nothing;
                }
                // A required position that cannot hold anything.
                let needed = a.min as usize;
                if a.prefix.iter().take(needed).any(Schema::is_nothing)
                    || (needed > a.prefix.len() && a.items.is_nothing())
                {
                    return Schema::Nothing;
                }
                if a.contains.iter().any(|c| c.max.is_some_and(|m| m < c.min)) {
                    return Schema::Nothing;
                }
                if a.contains
                    .iter()
                    .any(|c| c.min > 0 && c.schema.is_nothing())
                {
                    return Schema::Nothing;
                }
                if a.max.is_some_and(|m| a.contains.iter().any(|c| c.min > m)) {
                    return Schema::Nothing;
                }
                Schema::Array(a)
            }
            Schema::Object(o) => {
                if o.max
                    .is_some_and(|m| m < o.min || (o.required.len() as u64) > m)
                {
                    return Schema::Nothing;
                }
                for r in &o.required {
                    if let Some((_, s)) = o.props.iter().find(|(k, _)| k == r) {
                        if s.is_nothing() {
                            return Schema::Nothing;
                        }
                    }
                }
                Schema::Object(o)
            }
            s => s,
        }
    }
}

impl Schema {
    /// For a schema that is every value of one type, that type's index.
    fn unconstrained_kind(&self) -> Option<usize> {
        match self {
            Schema::Null => Some(0),
            Schema::Boolean => Some(1),
            Schema::Number(n)
                if !n.integer && n.lo.is_none() && n.hi.is_none() && n.multiple_of.is_empty() =>
            {
                Some(2)
            }
            Schema::String(s) if s.min == 0 && s.max.is_none() && s.regexes.is_empty() => Some(3),
            Schema::Array(a)
                if a.min == 0
                    && a.max.is_none()
                    && a.prefix.iter().all(Schema::is_any)
                    && a.items.is_any()
                    && a.contains.is_empty()
                    && !a.unique =>
            {
                Some(4)
            }
            Schema::Object(o)
                if o.props.iter().all(|(_, s)| s.is_any())
                    && o.required.is_empty()
                    && o.patterns.iter().all(|p| p.schema.is_any())
                    && o.additional.is_any()
                    && o.min == 0
                    && o.max.is_none()
                    && o.names.is_none() =>
            {
                Some(5)
            }
            _ => None,
        }
    }
}

impl Obj {
    /// Every object.
    pub(crate) fn any(at: &Rc<str>) -> Obj {
        Obj {
            props: Vec::new(),
            required: Vec::new(),
            patterns: Vec::new(),
            additional: Schema::Any,
            min: 0,
            max: None,
            names: None,
            floating: Vec::new(),
            at: at.clone(),
        }
    }

    /// Whether `k` is declared with a position (by `properties`).
    pub(crate) fn is_positional(&self, k: &str) -> bool {
        self.prop(k).is_some() && !self.floating.iter().any(|f| f == k)
    }

    pub(crate) fn prop(&self, k: &str) -> Option<&Schema> {
        self.props.iter().find(|(n, _)| n == k).map(|(_, s)| s)
    }

    pub(crate) fn is_required(&self, k: &str) -> bool {
        self.required.iter().any(|r| r == k)
    }
}
