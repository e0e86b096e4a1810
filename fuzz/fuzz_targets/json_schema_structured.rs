//! Schema-like JSON generated from structure (types, bounds, combinators,
//! references): compiling never panics, and a matcher can walk the result.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rein_grammar::json_schema::{compile, Options, Whitespace};
use serde_json::{json, Map, Value};

#[derive(Arbitrary, Debug)]
enum S {
    Bool(bool),
    Keywords(Vec<Kw>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Ty {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

#[derive(Arbitrary, Debug)]
enum Num {
    Int(i32),
    /// `m / 10^k`.
    Frac(i16, u8),
    Huge(bool),
}

#[derive(Arbitrary, Debug)]
enum Lit {
    Null,
    Bool(bool),
    Num(Num),
    Str(u8),
    Arr(Vec<Lit>),
}

#[derive(Arbitrary, Debug)]
enum Kw {
    Type(Ty),
    Types(Vec<Ty>),
    Properties(Vec<(u8, S)>),
    Required(Vec<u8>),
    AdditionalProperties(Box<S>),
    PropertyNames(Box<S>),
    PatternProperties(Vec<(u8, S)>),
    MinProperties(u16),
    MaxProperties(u16),
    Items(Box<S>),
    PrefixItems(Vec<S>),
    Contains(Box<S>),
    MinItems(u16),
    MaxItems(u16),
    UniqueItems(bool),
    MinLength(u32),
    MaxLength(u32),
    Pattern(u8),
    Format(u8),
    Minimum(Num),
    Maximum(Num),
    ExclusiveMinimum(Num),
    ExclusiveMaximum(Num),
    MultipleOf(Num),
    Enum(Vec<Lit>),
    Const(Lit),
    AnyOf(Vec<S>),
    OneOf(Vec<S>),
    AllOf(Vec<S>),
    Not(Box<S>),
    If(Box<S>),
    Then(Box<S>),
    Else(Box<S>),
    Ref(u8),
    Defs(Vec<(u8, S)>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    schema: S,
    whitespace: u8,
    strict: bool,
}

const NAMES: &[&str] = &["a", "b", "c", "d", "", "a b", "\"", "é"];
const PATTERNS: &[&str] = &[
    "^a", "b$", "[0-9]+", "^[a-z]{2,5}$", ".*", "(ab)*c", "\\d{3}", "^$", "x|y", "\\w+@\\w+",
];
const FORMATS: &[&str] = &[
    "date", "date-time", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname", "int32",
];
const REFS: &[&str] = &["#", "#/$defs/a", "#/$defs/b", "#/properties/a", "#/definitions/c"];

fn pick<'a>(xs: &[&'a str], i: u8) -> &'a str {
    xs[i as usize % xs.len()]
}

fn num(n: &Num) -> Value {
    match n {
        Num::Int(i) => json!(i),
        Num::Frac(m, k) => {
            let x = f64::from(*m) / 10f64.powi(i32::from(*k % 6));
            json!(x)
        }
        Num::Huge(neg) => json!(if *neg { -1e308 } else { 1e308 }),
    }
}

fn lit(l: &Lit) -> Value {
    match l {
        Lit::Null => Value::Null,
        Lit::Bool(b) => json!(b),
        Lit::Num(n) => num(n),
        Lit::Str(i) => json!(pick(NAMES, *i)),
        Lit::Arr(xs) => Value::Array(xs.iter().map(lit).collect()),
    }
}

fn ty(t: Ty) -> Value {
    json!(match t {
        Ty::Null => "null",
        Ty::Boolean => "boolean",
        Ty::Integer => "integer",
        Ty::Number => "number",
        Ty::String => "string",
        Ty::Array => "array",
        Ty::Object => "object",
    })
}

fn map(xs: &[(u8, S)], names: &[&str]) -> Value {
    let mut m = Map::new();
    for (k, s) in xs {
        m.insert(pick(names, *k).to_string(), schema(s));
    }
    Value::Object(m)
}

fn schema(s: &S) -> Value {
    let kws = match s {
        S::Bool(b) => return json!(b),
        S::Keywords(k) => k,
    };
    let mut m = Map::new();
    for k in kws {
        let (key, v) = match k {
            Kw::Type(t) => ("type", ty(*t)),
            Kw::Types(ts) => ("type", Value::Array(ts.iter().map(|t| ty(*t)).collect())),
            Kw::Properties(ps) => ("properties", map(ps, NAMES)),
            Kw::Required(r) => (
                "required",
                Value::Array(r.iter().map(|i| json!(pick(NAMES, *i))).collect()),
            ),
            Kw::AdditionalProperties(s) => ("additionalProperties", schema(s)),
            Kw::PropertyNames(s) => ("propertyNames", schema(s)),
            Kw::PatternProperties(ps) => ("patternProperties", map(ps, PATTERNS)),
            Kw::MinProperties(n) => ("minProperties", json!(n)),
            Kw::MaxProperties(n) => ("maxProperties", json!(n)),
            Kw::Items(s) => ("items", schema(s)),
            Kw::PrefixItems(xs) => ("prefixItems", Value::Array(xs.iter().map(schema).collect())),
            Kw::Contains(s) => ("contains", schema(s)),
            Kw::MinItems(n) => ("minItems", json!(n)),
            Kw::MaxItems(n) => ("maxItems", json!(n)),
            Kw::UniqueItems(b) => ("uniqueItems", json!(b)),
            Kw::MinLength(n) => ("minLength", json!(n)),
            Kw::MaxLength(n) => ("maxLength", json!(n)),
            Kw::Pattern(i) => ("pattern", json!(pick(PATTERNS, *i))),
            Kw::Format(i) => ("format", json!(pick(FORMATS, *i))),
            Kw::Minimum(n) => ("minimum", num(n)),
            Kw::Maximum(n) => ("maximum", num(n)),
            Kw::ExclusiveMinimum(n) => ("exclusiveMinimum", num(n)),
            Kw::ExclusiveMaximum(n) => ("exclusiveMaximum", num(n)),
            Kw::MultipleOf(n) => ("multipleOf", num(n)),
            Kw::Enum(xs) => ("enum", Value::Array(xs.iter().map(lit).collect())),
            Kw::Const(l) => ("const", lit(l)),
            Kw::AnyOf(xs) => ("anyOf", Value::Array(xs.iter().map(schema).collect())),
            Kw::OneOf(xs) => ("oneOf", Value::Array(xs.iter().map(schema).collect())),
            Kw::AllOf(xs) => ("allOf", Value::Array(xs.iter().map(schema).collect())),
            Kw::Not(s) => ("not", schema(s)),
            Kw::If(s) => ("if", schema(s)),
            Kw::Then(s) => ("then", schema(s)),
            Kw::Else(s) => ("else", schema(s)),
            Kw::Ref(i) => ("$ref", json!(pick(REFS, *i))),
            Kw::Defs(ds) => ("$defs", map(ds, NAMES)),
        };
        m.insert(key.to_string(), v);
    }
    Value::Object(m)
}

fuzz_target!(|input: Input| {
    let value = schema(&input.schema);
    let ws = match input.whitespace % 3 {
        0 => Whitespace::Flexible,
        1 => Whitespace::Compact,
        _ => Whitespace::Pretty { indent: 2 },
    };
    let mut opts = Options::default()
        .with_whitespace(ws)
        .with_strict(input.strict);
    // Pretty whitespace builds rules per nesting depth (33 by default, 25 ms
    // to compile natively, far more instrumented): a few keep inputs quick.
    opts.max_pretty_depth = 4;
    if let Ok(g) = compile(&value, &opts) {
        common::exercise(&g, 6);
    }
});
