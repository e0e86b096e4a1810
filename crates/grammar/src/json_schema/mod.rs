//! The JSON Schema front-end: a schema (drafts 4, 6, 7, 2019-09, 2020-12)
//! becomes a [`Grammar`] whose language is the JSON text of the valid
//! instances.
//!
//! ```
//! use rein_grammar::json_schema::{compile, Options};
//! use serde_json::json;
//!
//! let schema = json!({
//!     "type": "object",
//!     "properties": {
//!         "name": {"type": "string", "maxLength": 20},
//!         "age": {"type": "integer", "minimum": 0, "maximum": 150}
//!     },
//!     "required": ["name"],
//!     "additionalProperties": false
//! });
//! let g = compile(&schema, &Options::default()).unwrap();
//! assert!(g.validate().is_ok());
//!
//! // Unsupported keywords are errors that name the keyword and where it is.
//! let bad = json!({"properties": {"a": {"unevaluatedProperties": false}}});
//! let e = compile(&bad, &Options::default()).unwrap_err();
//! assert!(e.to_string().contains("#/properties/a"), "{e}");
//! assert!(e.to_string().contains("unevaluatedProperties"), "{e}");
//! ```
//!
//! # What the grammar accepts
//!
//! Exactly the valid instances, with these documented restrictions (each
//! only removes *spellings* or rare values, never lets an invalid value
//! through):
//!
//! - **Object keys** appear in the order of `properties` (with
//!   [`KeyOrder::Declared`], the default; [`KeyOrder::Any`] accepts every
//!   order); optional ones may be left out; other keys (allowed by
//!   `additionalProperties`, which defaults to `true` as the spec says, or
//!   `false` with [`Options::strict`]) may appear anywhere. Duplicate keys
//!   are not prevented for undeclared keys (nor, with [`KeyOrder::Any`],
//!   for optional declared keys of objects too large to track).
//! - **Strings** use the canonical JSON escapes (those of Python's
//!   `json.dumps(ensure_ascii=False)`): `\"`, `\\`, `\b`, `\f`, `\n`,
//!   `\r`, `\t`, `\u00XX` for other control characters, everything else
//!   raw. So every text has one decoding and key exclusions are exact.
//! - **Numbers**: integers without exponent, with a fraction only if it is
//!   zero (`1.0`, from draft 6 on); other numbers in plain notation, or in
//!   normalized scientific notation when the whole decade lies within the
//!   bounds; no `-0`. Values of `enum`/`const` also accept trailing zeros
//!   (`1.0`, `1.50`). [`Options::trailing_zeros`] turns zero fractions and
//!   trailing zeros off.
//! - **Regexes** (`pattern`, `patternProperties`) are ECMA-262, searched
//!   anywhere in the string; where regex dialects disagree (`\d`, `\w`,
//!   `\s`, `.`, `$`) the intersection of their meanings is used (see the
//!   `pattern` module).
//! - **Formats** use conservative regexes (see the `formats` module);
//!   formats that are not part of the JSON Schema specification
//!   (`int32`, `color`, ...) are annotations that validators ignore, so
//!   rein ignores them too and says so in [`Compiled::notes`] (or errors
//!   with [`UnknownFormats::Error`]).
//! - **`$ref` siblings** are ignored before draft 2019-09, as those
//!   drafts say; later drafts apply them.
//!
//! Everything else is a [`GrammarError::Schema`] naming the keyword and
//! the JSON pointer of the schema object: remote references, `$dynamicRef`,
//! `unevaluatedProperties`, regexes with look-around, `uniqueItems` over an
//! infinite item domain, `oneOf` whose branches may overlap and cannot be
//! made exact (unless [`Options::oneof_as_anyof`]), intersections of two
//! regexes, complements of regexes. Work is bounded ([`Options::max_work`]),
//! so huge or adversarial schemas end in an error, never a hang.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use regex_syntax::hir::Hir;
use serde_json::{Map, Value};

use crate::ir::{Expr, Grammar, RuleId};
use crate::GrammarError;

mod accept;
pub(crate) mod automata;
mod build;
mod decimal;
mod emit;
mod formats;
mod number;
mod ops;
mod pattern;
mod prune;
mod resolve;
pub(crate) mod rx;
mod schema;
mod validate;

use resolve::Index;
use schema::{DefId, Schema};

/// Where whitespace may appear in the produced JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Whitespace {
    /// Any JSON whitespace (`[ \t\n\r]*`) wherever RFC 8259 allows it,
    /// including around the whole value.
    #[default]
    Flexible,
    /// No whitespace at all.
    Compact,
    /// Python's `json.dumps(indent=N)`: a newline and `N` spaces per level
    /// before each member or item, `": "` after keys, `{}`/`[]` when empty.
    Pretty {
        /// Spaces per nesting level.
        indent: u32,
    },
}

/// The order in which the members of an object may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyOrder {
    /// Declared properties in the order of `properties` (optional ones may
    /// be left out); required keys that `properties` does not declare, and
    /// undeclared keys, anywhere. Producers emit their fields in a known
    /// order (a model can be made to write its reasoning first).
    #[default]
    Declared,
    /// Any order, as JSON Schema validators see objects, within limits
    /// that only remove spellings: up to four required keys are tracked
    /// (each appears exactly once, in every order); objects with more
    /// required keys list them in the order of `properties` or in the
    /// order of `required`. Optional keys of objects with at most four
    /// members are tracked too; in larger objects they may come anywhere
    /// and, like undeclared keys, are not tracked, so the text may repeat
    /// one (each value valid for the key; parsers keep one value per key).
    /// Objects whose `minProperties` exceeds what `required` guarantees
    /// keep optional keys in declared order (a repeat must not count).
    Any,
}

/// What to do with a `format` that is not part of the JSON Schema spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnknownFormats {
    /// Ignore it, as validators do, and record a note.
    #[default]
    Ignore,
    /// Refuse the schema.
    Error,
}

/// Options for [`compile`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Whitespace between tokens.
    pub whitespace: Whitespace,
    /// Treat a missing `additionalProperties` as `false` (the spec's
    /// default is `true`).
    pub strict: bool,
    /// Accept numbers spelled with zeros after the significant digits:
    /// integers written `1.0` or `1.000` (draft 6 and later count them as
    /// integers) and `enum`/`const` values written `1.50` (default `true`).
    /// Generation turns it off: a small model that starts a fraction after
    /// an integer may keep writing zeros until its token limit.
    pub trailing_zeros: bool,
    /// The order of object members.
    pub key_order: KeyOrder,
    /// Compile a `oneOf` whose branches may overlap as `anyOf` (accepting
    /// values that match several branches) instead of failing.
    pub oneof_as_anyof: bool,
    /// Formats outside the JSON Schema specification.
    pub unknown_formats: UnknownFormats,
    /// Honour OpenAPI 3.0's `nullable: true` (allow `null` besides the
    /// `type`). JSON Schema validators ignore `nullable`, so by default
    /// rein does too (and notes it).
    pub openapi_nullable: bool,
    /// Deepest nesting of schemas (and of values while checking `enum`s).
    /// The schema document itself may nest arrays and objects twice as
    /// deep; deeper documents are refused before anything walks them.
    pub max_depth: usize,
    /// With [`Whitespace::Pretty`], values nested deeper than this are not
    /// produced (each depth needs its own rules).
    pub max_pretty_depth: u32,
    /// Upper bounds (`maxLength`, `maxItems`, `maxProperties`) above this
    /// are lowered to it, so the grammar produces a subset of the valid
    /// values (and says so in the notes): every counted character or item
    /// costs lexer states, and `maxLength: 65535` would cost millions.
    /// Lower bounds above it are errors.
    pub max_repeat: u32,
    /// Bound on compilation work (schema operations and grammar
    /// expressions); beyond it compilation fails with a limit error.
    pub max_work: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            whitespace: Whitespace::Flexible,
            strict: false,
            trailing_zeros: true,
            key_order: KeyOrder::Declared,
            oneof_as_anyof: false,
            unknown_formats: UnknownFormats::Ignore,
            openapi_nullable: false,
            max_depth: 256,
            max_pretty_depth: 32,
            max_repeat: 1000,
            max_work: 2_000_000,
        }
    }
}

impl Options {
    /// Sets [`Options::whitespace`].
    pub fn with_whitespace(mut self, w: Whitespace) -> Options {
        self.whitespace = w;
        self
    }

    /// Sets [`Options::strict`].
    pub fn with_strict(mut self, strict: bool) -> Options {
        self.strict = strict;
        self
    }

    /// Sets [`Options::trailing_zeros`].
    pub fn with_trailing_zeros(mut self, yes: bool) -> Options {
        self.trailing_zeros = yes;
        self
    }

    /// Sets [`Options::key_order`].
    pub fn with_key_order(mut self, k: KeyOrder) -> Options {
        self.key_order = k;
        self
    }

    /// Sets [`Options::oneof_as_anyof`].
    pub fn with_oneof_as_anyof(mut self, yes: bool) -> Options {
        self.oneof_as_anyof = yes;
        self
    }

    /// Sets [`Options::openapi_nullable`].
    pub fn with_openapi_nullable(mut self, yes: bool) -> Options {
        self.openapi_nullable = yes;
        self
    }

    /// Sets [`Options::unknown_formats`].
    pub fn with_unknown_formats(mut self, u: UnknownFormats) -> Options {
        self.unknown_formats = u;
        self
    }
}

/// A compiled schema with the notes collected on the way.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The grammar of the valid instances.
    pub grammar: Grammar,
    /// Things rein did that a user may want to know (ignored unknown
    /// formats, `oneOf` relaxed to `anyOf`), one line each.
    pub notes: Vec<String>,
}

/// Compiles a JSON Schema into a grammar of its valid instances' JSON text.
pub fn compile(schema: &Value, options: &Options) -> Result<Grammar, GrammarError> {
    compile_with_notes(schema, options).map(|c| c.grammar)
}

/// [`compile`], also returning notes.
pub fn compile_with_notes(schema: &Value, options: &Options) -> Result<Compiled, GrammarError> {
    check_document_depth(schema, options.max_depth.saturating_mul(2))?;
    let draft = Draft::detect(schema)?;
    let index = Index::build(schema, draft);
    let mut c = Compiler {
        root: schema,
        opts: options,
        draft,
        index,
        defs: Vec::new(),
        def_ids: HashMap::new(),
        work: 0,
        depth: 0,
        forcing: 0,
        notes: Vec::new(),
        notes_asked: 0,
        regexes: HashMap::new(),
        grammar: Grammar::new(),
        def_rules: HashMap::new(),
        any_rules: HashMap::new(),
        lazy_rules: HashMap::new(),
        key_cache: HashMap::new(),
        value_regexes: HashMap::new(),
        string_regexes: HashMap::new(),
        parsed_regexes: HashMap::new(),
        rule_weights: std::cell::RefCell::new(HashMap::new()),
        enum_index: HashMap::new(),
    };
    let s = c.build(schema, "", resolve::DEFAULT_BASE)?;
    let root = c.grammar.add_rule("root", Expr::Nothing);
    let e = c.emit_root(&s)?;
    c.grammar.rules[root.index()].expr = e;
    c.grammar.start = root;
    if !prune::prune(&mut c.grammar) {
        return Err(GrammarError::Schema {
            pointer: "#".into(),
            keyword: String::new(),
            message: "no value satisfies this schema".into(),
        });
    }
    Ok(Compiled {
        grammar: c.grammar,
        notes: c.notes,
    })
}

/// Refuses documents nested deeper than `limit` (arrays and objects), before
/// anything walks them: pointers into deep documents grow quadratically,
/// and comparing or printing values recurses.
fn check_document_depth(doc: &Value, limit: usize) -> Result<(), GrammarError> {
    let mut stack = vec![(doc, 0usize)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(xs) => Box::new(xs.iter()),
            Value::Object(m) => Box::new(m.values()),
            _ => continue,
        };
        if d >= limit {
            return Err(GrammarError::Limit {
                what: "nesting depth of the schema document".into(),
                value: d as u64 + 1,
                limit: limit as u64,
            });
        }
        stack.extend(children.map(|c| (c, d + 1)));
    }
    Ok(())
}

/// The JSON Schema draft, from `$schema` (2020-12 when absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Draft {
    Draft4,
    Draft6,
    Draft7,
    Draft2019,
    Draft2020,
}

impl Draft {
    fn detect(schema: &Value) -> Result<Draft, GrammarError> {
        let Some(s) = schema.get("$schema").and_then(Value::as_str) else {
            return Ok(Draft::Draft2020);
        };
        Ok(if s.contains("draft-04") {
            Draft::Draft4
        } else if s.contains("draft-06") {
            Draft::Draft6
        } else if s.contains("draft-07") {
            Draft::Draft7
        } else if s.contains("2019-09") {
            Draft::Draft2019
        } else if s.contains("draft-03") || s.contains("draft-02") || s.contains("draft-01") {
            return Err(GrammarError::Schema {
                pointer: "#".into(),
                keyword: "$schema".into(),
                message: format!("{s:?}: drafts before 4 are not supported"),
            });
        } else {
            Draft::Draft2020
        })
    }
}

/// Keywords rein knows but cannot compile.
const UNSUPPORTED: &[&str] = &[
    "$dynamicRef",
    "$recursiveRef",
    "unevaluatedProperties",
    "unevaluatedItems",
];

/// A schema definition (the target of a `$ref`).
pub(crate) struct Def {
    pub(crate) ptr: Rc<str>,
    /// `None` while it is being built.
    pub(crate) schema: Option<Schema>,
}

/// See [`Compiler::string_regexes`]: regex addresses, minimum and maximum
/// length.
pub(crate) type StringRegexKey = (Vec<usize>, u64, Option<u64>);

/// The state of one compilation.
pub(crate) struct Compiler<'a> {
    pub(crate) root: &'a Value,
    pub(crate) opts: &'a Options,
    pub(crate) draft: Draft,
    pub(crate) index: Index,
    pub(crate) defs: Vec<Def>,
    pub(crate) def_ids: HashMap<String, DefId>,
    pub(crate) work: usize,
    pub(crate) depth: usize,
    /// Nesting of [`Compiler::force`].
    pub(crate) forcing: usize,
    pub(crate) notes: Vec<String>,
    /// Calls of [`Compiler::note`], repeated notes included.
    pub(crate) notes_asked: usize,
    pub(crate) regexes: HashMap<String, regex_automata::meta::Regex>,
    pub(crate) grammar: Grammar,
    pub(crate) def_rules: HashMap<(DefId, u32), RuleId>,
    pub(crate) any_rules: HashMap<u32, RuleId>,
    pub(crate) lazy_rules: HashMap<(String, u32), RuleId>,
    /// Regexes of the keys outside a set of declared keys.
    pub(crate) key_cache: HashMap<Vec<String>, Expr>,
    /// Regexes of number and plain string schemas, by their bounds (one
    /// shared regex for each distinct schema).
    pub(crate) value_regexes: HashMap<String, std::sync::Arc<regex_syntax::hir::Hir>>,
    /// Regexes of string schemas with patterns or formats, by the
    /// addresses of those regexes and the length bounds. The entry keeps
    /// the regexes alive, so an address cannot be reused by another one.
    pub(crate) string_regexes: HashMap<StringRegexKey, (Vec<Arc<Hir>>, Arc<Hir>)>,
    /// Parsed `pattern`s and `format`s by their text (`p` or `f` and the
    /// source), so that equal ones share one regex (and one entry above).
    pub(crate) parsed_regexes: HashMap<String, Arc<Hir>>,
    /// Weights of finished rules ([`Compiler::expr_weight`]): objects
    /// weigh their members, and nested objects would be weighed again at
    /// every level.
    pub(crate) rule_weights: std::cell::RefCell<HashMap<u32, u64>>,
    /// Hash indexes of long `enum` arrays, by address.
    pub(crate) enum_index: HashMap<usize, HashMap<u64, Vec<usize>>>,
}

impl<'a> Compiler<'a> {
    /// `#/a/b` for pointer `/a/b`.
    pub(crate) fn display_pointer(ptr: &str) -> String {
        format!("#{ptr}")
    }

    pub(crate) fn err(&self, ptr: &str, keyword: &str, message: impl Into<String>) -> GrammarError {
        GrammarError::Schema {
            pointer: Self::display_pointer(ptr),
            keyword: keyword.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn note(&mut self, n: String) {
        self.notes_asked += 1;
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    /// [`automata::combine`] with what is left of the work limit; the
    /// work it did is counted, so running out of it is the limit error.
    pub(crate) fn combine(
        &mut self,
        pos: &[&regex_syntax::hir::Hir],
        neg: &[&regex_syntax::hir::Hir],
    ) -> Result<Result<Option<regex_syntax::hir::Hir>, rx::TooBig>, GrammarError> {
        let mut budget = automata::Budget::new(self.opts.max_work.saturating_sub(self.work));
        let r = automata::combine(pos, neg, &mut budget);
        self.tick(budget.used)?;
        Ok(r)
    }

    /// Counts work; fails past [`Options::max_work`].
    pub(crate) fn tick(&mut self, n: usize) -> Result<(), GrammarError> {
        self.work += n;
        if self.work > self.opts.max_work {
            return Err(GrammarError::Limit {
                what: "schema compilation work".into(),
                value: self.work as u64,
                limit: self.opts.max_work as u64,
            });
        }
        Ok(())
    }

    /// The base URI inside schema object `m` seen under `base`.
    pub(crate) fn base_of(&self, m: &Map<String, Value>, base: &str) -> String {
        match resolve::id_of(m, self.draft) {
            Some(id) => {
                let full = resolve::resolve_uri(base, id);
                match full.find('#') {
                    Some(i) => full[..i].to_string(),
                    None => full,
                }
            }
            None => base.to_string(),
        }
    }

    /// Fails on keywords rein knows it cannot honour.
    pub(crate) fn check_keywords(
        &self,
        m: &Map<String, Value>,
        ptr: &str,
    ) -> Result<(), GrammarError> {
        for k in UNSUPPORTED {
            if let Some(v) = m.get(*k) {
                let trivial = v == &Value::Bool(true) || v.as_object().is_some_and(Map::is_empty);
                if !trivial {
                    return Err(self.err(ptr, k, format!("`{k}` is not supported")));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn schema_array(
        &self,
        v: &'a Value,
        ptr: &str,
        kw: &str,
    ) -> Result<&'a [Value], GrammarError> {
        match v.as_array() {
            Some(a) if !a.is_empty() => Ok(a),
            Some(_) => Err(self.err(ptr, kw, "must be a non-empty array of schemas")),
            None => Err(self.err(ptr, kw, "must be an array of schemas")),
        }
    }

    pub(crate) fn string_array(
        &self,
        v: &'a Value,
        ptr: &str,
        kw: &str,
    ) -> Result<Vec<&'a str>, GrammarError> {
        let a = v
            .as_array()
            .ok_or_else(|| self.err(ptr, kw, "must be an array of strings"))?;
        a.iter()
            .map(|x| {
                x.as_str()
                    .ok_or_else(|| self.err(ptr, kw, "must be an array of strings"))
            })
            .collect()
    }

    /// A non-negative integer keyword (`minLength`, `maxItems`, ...).
    pub(crate) fn count(
        &self,
        m: &Map<String, Value>,
        ptr: &str,
        kw: &str,
    ) -> Result<Option<u64>, GrammarError> {
        let Some(v) = m.get(kw) else {
            return Ok(None);
        };
        if let Some(n) = v.as_u64() {
            return Ok(Some(n));
        }
        if let Some(f) = v.as_f64() {
            if f >= 0.0 && f.fract() == 0.0 && f < 1e18 {
                return Ok(Some(f as u64));
            }
        }
        Err(self.err(ptr, kw, "must be a non-negative integer"))
    }

    /// Item schemas of an array schema: the positional prefix (with its
    /// keyword) and the schema of the rest (with its keyword).
    #[allow(clippy::type_complexity)]
    pub(crate) fn item_schemas(
        &self,
        m: &'a Map<String, Value>,
        ptr: &str,
    ) -> Result<(&'a [Value], &'static str, Option<&'a Value>, &'static str), GrammarError> {
        let items = m.get("items");
        if let Some(p) = m.get("prefixItems") {
            let p = p
                .as_array()
                .ok_or_else(|| self.err(ptr, "prefixItems", "must be an array of schemas"))?;
            if items.is_some_and(Value::is_array) {
                return Err(self.err(ptr, "items", "cannot be an array together with prefixItems"));
            }
            return Ok((p, "prefixItems", items, "items"));
        }
        match items {
            Some(Value::Array(a)) => Ok((a, "items", m.get("additionalItems"), "additionalItems")),
            Some(x) => Ok((&[], "items", Some(x), "items")),
            None => Ok((&[], "items", None, "items")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recursive_ref_compiles() {
        let s = json!({"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"], "additionalProperties": false}}, "$ref": "#/$defs/node"});
        let g = compile(&s, &Options::default().with_whitespace(Whitespace::Compact)).unwrap();
        assert!(g.validate().is_ok());
    }
}

/// A readable listing of a grammar, for debugging.
#[cfg(test)]
#[allow(dead_code)]
pub(crate) fn dump(g: &Grammar) -> String {
    fn e(x: &Expr) -> String {
        match x {
            Expr::Empty => "ε".into(),
            Expr::Nothing => "∅".into(),
            Expr::Literal(s) => format!("{s:?}"),
            Expr::Regex(h) => format!("/{h}/"),
            Expr::Except { expr, except } => format!("/{expr}/ - /{except}/"),
            Expr::Rule(r) => format!("#{}", r.0),
            Expr::Seq(v) => format!("({})", v.iter().map(e).collect::<Vec<_>>().join(" ")),
            Expr::Alt(v) => format!("({})", v.iter().map(e).collect::<Vec<_>>().join(" | ")),
            Expr::Repeat { expr, min, max } => format!("{}{{{min},{max:?}}}", e(expr)),
            Expr::Capture { name, expr } => format!("<{name}:{}>", e(expr)),
        }
    }
    g.rules
        .iter()
        .enumerate()
        .map(|(i, r)| format!("#{i} {} ::= {}\n", r.name, e(&r.expr)))
        .collect()
}

#[cfg(test)]
mod stack_tests {
    use super::*;
    use serde_json::json;

    fn on_small_stack(s: Value) {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let g = compile(&s, &Options::default()).unwrap();
                assert!(g.validate().is_ok());
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn long_format_fits_default_stack() {
        on_small_stack(json!({"type": "string", "format": "uri", "maxLength": 2000}));
    }

    #[test]
    fn pattern_and_format_fit_default_stack() {
        on_small_stack(json!({"type": "string", "pattern": "^a", "format": "email"}));
    }
}
