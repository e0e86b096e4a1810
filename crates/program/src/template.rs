//! The template language (parsed with pest; see `template.pest`).
//!
//! ```text
//! The hero's name is {{gen "name" regex="[A-Z][a-z]+"}}.
//! Class: {{select "class" options=["warrior", "mage", "rogue"]}}
//! Stats: {{json "stats" schema={"type": "object", "properties": {"hp": {"type": "integer"}}}}}
//! Motto: "{{gen "motto" stop="\"" max_tokens=24}}"
//! {{name}} says hi.
//! ```
//!
//! Holes:
//! - `gen "name"` with `regex="..."`, `stop="..."` or `stop=["..", ".."]`,
//!   `max_tokens=N`, or `grammar="file.gbnf"` (GBNF);
//! - `select "name" options=["a", "b", ...]`;
//! - `json "name" schema="file.json"` or `schema={...}` (inline JSON);
//! - `{{name}}`: a variable passed in, or an earlier capture.
//!
//! Strings take the escapes `\"`, `\\`, `\n`, `\t`, `\r` and `\u{...}`;
//! any other backslash sequence is kept as written, so regexes read
//! naturally (`regex="\d+\.\d*"`).

use std::path::{Path, PathBuf};

use pest::iterators::Pair;
use pest::Parser as _;
use rein_grammar::Location;
use serde_json::Value;

use crate::error::ProgramError;
use crate::program::{Gen, Hole, HoleKind, Node, Program, ProgramBuilder};

mod parser {
    #[derive(pest_derive::Parser)]
    #[grammar = "template.pest"]
    pub(super) struct TemplateParser;
}
use parser::{Rule, TemplateParser};

/// Options for [`Program::parse_with`].
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    /// Where files named in holes (`schema="x.json"`, `grammar="x.gbnf"`)
    /// are looked up; the current directory when `None`.
    pub base_dir: Option<PathBuf>,
}

/// Templates longer than this are rejected (the parser recurses on nested
/// inline JSON).
const MAX_TEMPLATE_BYTES: usize = 1 << 24;
/// Deepest nesting of inline JSON objects in a hole.
const MAX_OBJECT_DEPTH: usize = 64;
/// Files named in holes larger than this are rejected.
const MAX_FILE_BYTES: u64 = 1 << 24;

/// The text of a regular file of at most `limit` bytes. Anything else
/// (`/dev/zero`, a pipe, a file that grows while it is read) is an error
/// rather than an endless read.
fn read_limited(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(Error::new(
            ErrorKind::FileTooLarge,
            format!("larger than the limit of {limit} bytes"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidData,
            format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        )
    })
}

impl Program {
    /// Parses a template (files named in holes are read relative to the
    /// current directory).
    ///
    /// ```
    /// use rein_program::Program;
    /// let p = Program::parse(r#"Name: {{gen "name" regex="[A-Z][a-z]+" max_tokens=5}}"#).unwrap();
    /// assert_eq!(p.hole_names(), vec!["name"]);
    /// let err = Program::parse(r#"x {{gen "a" colour="red"}}"#).unwrap_err();
    /// assert!(err.to_string().contains("1:13"), "{err}");
    /// ```
    ///
    /// # Errors
    /// Syntax errors, unknown hole kinds or options, bad values, regexes,
    /// grammars or schemas, unreadable files; all located in the template.
    pub fn parse(src: &str) -> Result<Program, ProgramError> {
        Program::parse_with(src, &ParseOptions::default())
    }

    /// Parses a template with options.
    ///
    /// # Errors
    /// As [`Program::parse`].
    pub fn parse_with(src: &str, options: &ParseOptions) -> Result<Program, ProgramError> {
        if src.len() > MAX_TEMPLATE_BYTES {
            return Err(ProgramError::Syntax {
                message: format!(
                    "the template is {} bytes, the limit is {MAX_TEMPLATE_BYTES}",
                    src.len()
                ),
                location: Location::at(src, 0),
            });
        }
        check_nesting(src)?;
        let mut pairs =
            TemplateParser::parse(Rule::template, src).map_err(|e| syntax_error(src, &e))?;
        let top = pairs.next().ok_or_else(|| ProgramError::Syntax {
            message: "empty parse".into(),
            location: Location::at(src, 0),
        })?;
        let cx = Cx { src, options };
        let mut b = ProgramBuilder::default();
        for p in top.into_inner() {
            match p.as_rule() {
                Rule::text => b.push_node(Node::Text(p.as_str().to_string())),
                Rule::hole => {
                    let inner = p.into_inner().next();
                    match inner {
                        Some(x) if x.as_rule() == Rule::var => {
                            let name = x.as_str();
                            if KINDS.contains(&name) {
                                return Err(cx.hole_err(
                                    &x,
                                    format!("`{name}` needs a name: {{{{{name} \"name\" ...}}}}"),
                                ));
                            }
                            b.push_node(Node::Var {
                                name: name.to_string(),
                                at: Some(cx.loc(&x)),
                            })
                        }
                        Some(x) => b.push_node(Node::Hole(cx.call(x)?)),
                        None => {}
                    }
                }
                _ => {}
            }
        }
        b.build()
    }
}

const KINDS: &[&str] = &["gen", "select", "json"];

struct Cx<'a> {
    src: &'a str,
    options: &'a ParseOptions,
}

/// An option of a hole, parsed.
enum Val {
    Str(String),
    List(Vec<String>),
    Object(Value),
    Int(i64),
    Bool,
}

impl Val {
    fn what(&self) -> &'static str {
        match self {
            Val::Str(_) => "a string",
            Val::List(_) => "a list",
            Val::Object(_) => "a JSON object",
            Val::Int(_) => "a number",
            Val::Bool => "a boolean",
        }
    }
}

impl Cx<'_> {
    fn loc(&self, p: &Pair<Rule>) -> Location {
        Location::at(self.src, p.as_span().start())
    }

    fn hole_err(&self, p: &Pair<Rule>, message: String) -> ProgramError {
        ProgramError::Hole {
            message,
            location: Some(self.loc(p)),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        match &self.options.base_dir {
            Some(d) => d.join(name),
            None => Path::new(name).to_path_buf(),
        }
    }

    fn read(&self, p: &Pair<Rule>, name: &str) -> Result<String, ProgramError> {
        let path = self.path(name);
        read_limited(&path, MAX_FILE_BYTES).map_err(|source| ProgramError::Io {
            path: path.display().to_string(),
            source,
            location: Some(self.loc(p)),
        })
    }

    fn value(&self, p: &Pair<Rule>) -> Result<Val, ProgramError> {
        Ok(match p.as_rule() {
            Rule::string => Val::Str(unescape(p.as_str()).map_err(|m| self.hole_err(p, m))?),
            Rule::list => {
                let mut v = Vec::new();
                for s in p.clone().into_inner() {
                    v.push(unescape(s.as_str()).map_err(|m| self.hole_err(&s, m))?);
                }
                Val::List(v)
            }
            Rule::object => Val::Object(
                serde_json::from_str(p.as_str())
                    .map_err(|e| self.hole_err(p, format!("invalid inline JSON: {e}")))?,
            ),
            Rule::number => Val::Int(p.as_str().parse().map_err(|_| {
                self.hole_err(p, format!("the number {} is too large", p.as_str()))
            })?),
            Rule::boolean => Val::Bool,
            r => return Err(self.hole_err(p, format!("unexpected {r:?}"))),
        })
    }

    fn call(&self, p: Pair<Rule>) -> Result<Hole, ProgramError> {
        let at = self.loc(&p);
        let mut it = p.into_inner();
        let (Some(kind), Some(name)) = (it.next(), it.next()) else {
            return Err(ProgramError::Hole {
                message: "malformed hole".into(),
                location: Some(at),
            });
        };
        let name_s = unescape(name.as_str()).map_err(|m| self.hole_err(&name, m))?;
        if name_s.is_empty() {
            return Err(self.hole_err(&name, "a hole's name may not be empty".into()));
        }
        let mut options: Vec<(Pair<Rule>, Pair<Rule>, Val)> = Vec::new();
        for opt in it {
            let mut kv = opt.into_inner();
            let (Some(k), Some(v)) = (kv.next(), kv.next()) else {
                continue;
            };
            if options.iter().any(|(k2, _, _)| k2.as_str() == k.as_str()) {
                return Err(self.hole_err(&k, format!("option `{}` is given twice", k.as_str())));
            }
            let val = self.value(&v)?;
            options.push((k, v, val));
        }
        let allowed: &[&str] = match kind.as_str() {
            "gen" => &["regex", "stop", "max_tokens", "grammar"],
            "select" => &["options"],
            "json" => &["schema"],
            other => {
                return Err(self.hole_err(
                    &kind,
                    format!("unknown hole kind `{other}` (known: gen, select, json)"),
                ))
            }
        };
        for (k, _, _) in &options {
            if !allowed.contains(&k.as_str()) {
                return Err(self.hole_err(
                    k,
                    format!(
                        "unknown option `{}` for {} (known: {})",
                        k.as_str(),
                        kind.as_str(),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let wrong = |k: &Pair<Rule>, v: &Val, want: &str| {
            self.hole_err(
                k,
                format!("option `{}` must be {want}, not {}", k.as_str(), v.what()),
            )
        };
        let kind = match kind.as_str() {
            "gen" => {
                // Conflicts first: no file is read for a hole that is wrong anyway.
                let has = |n: &str| options.iter().any(|(k, _, _)| k.as_str() == n);
                if has("regex") && has("grammar") {
                    return Err(ProgramError::Hole {
                        message: format!("gen `{name_s}` takes a regex or a grammar, not both"),
                        location: Some(at),
                    });
                }
                if has("grammar") && has("stop") {
                    return Err(ProgramError::Hole {
                        message: format!(
                            "gen `{name_s}`: stop strings cannot be combined with a grammar"
                        ),
                        location: Some(at),
                    });
                }
                let mut gen = Gen::text();
                let mut stops = Vec::new();
                let mut max_tokens = None;
                for (k, v, val) in &options {
                    match (k.as_str(), val) {
                        ("regex", Val::Str(re)) => {
                            gen = Gen::regex(re).map_err(|e| {
                                self.hole_err(v, format!("bad regex in gen `{name_s}`: {e}"))
                            })?;
                        }
                        ("grammar", Val::Str(file)) => {
                            let src = self.read(v, file)?;
                            let g = rein_grammar::gbnf::parse(&src).map_err(|e| {
                                self.hole_err(v, format!("bad grammar {file:?}: {e}"))
                            })?;
                            gen = Gen::grammar(g);
                        }
                        ("stop", Val::Str(s)) => stops.push(s.clone()),
                        ("stop", Val::List(l)) => stops.extend(l.iter().cloned()),
                        ("max_tokens", Val::Int(n)) => {
                            let n = u32::try_from(*n).ok().filter(|&n| n > 0).ok_or_else(|| {
                                self.hole_err(
                                    v,
                                    format!(
                                        "max_tokens must be between 1 and {}, not {n}",
                                        u32::MAX
                                    ),
                                )
                            })?;
                            max_tokens = Some(n);
                        }
                        ("stop", val) => return Err(wrong(k, val, "a string or list of strings")),
                        ("max_tokens", val) => return Err(wrong(k, val, "a number")),
                        (_, val) => return Err(wrong(k, val, "a string")),
                    }
                }
                if stops.iter().any(String::is_empty) {
                    return Err(ProgramError::Hole {
                        message: format!("gen `{name_s}`: a stop string may not be empty"),
                        location: Some(at),
                    });
                }
                for s in stops {
                    gen = gen.stop(s);
                }
                if let Some(n) = max_tokens {
                    gen = gen.max_tokens(n);
                }
                HoleKind::Gen(gen)
            }
            "select" => {
                let Some((k, v, val)) = options.first() else {
                    return Err(ProgramError::Hole {
                        message: format!("select `{name_s}` needs options=[...]"),
                        location: Some(at),
                    });
                };
                match val {
                    Val::List(l) if !l.is_empty() => HoleKind::Select(l.clone()),
                    Val::List(_) => {
                        return Err(self.hole_err(v, format!("select `{name_s}` has no options")))
                    }
                    val => return Err(wrong(k, val, "a list of strings")),
                }
            }
            _ => {
                let Some((k, v, val)) = options.first() else {
                    return Err(ProgramError::Hole {
                        message: format!(
                            "json `{name_s}` needs schema=\"file.json\" or schema={{...}}"
                        ),
                        location: Some(at),
                    });
                };
                let schema = match val {
                    Val::Object(o) => o.clone(),
                    Val::Str(file) => {
                        let text = self.read(v, file)?;
                        serde_json::from_str(&text).map_err(|e| {
                            self.hole_err(v, format!("schema file {file:?} is not JSON: {e}"))
                        })?
                    }
                    val => return Err(wrong(k, val, "a file name or a JSON object")),
                };
                let g = crate::program::compile_schema(&schema)
                    .map_err(|e| self.hole_err(v, format!("bad schema in json `{name_s}`: {e}")))?;
                HoleKind::Json(Box::new(g))
            }
        };
        Ok(Hole {
            name: name_s,
            kind,
            at: Some(at),
        })
    }
}

/// The text of a quoted string (with its quotes).
fn unescape(quoted: &str) -> Result<String, String> {
    let inner = quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(|| format!("expected a quoted string, found {quoted}"))?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('u') => {
                let rest: String = chars.clone().collect();
                let body = rest
                    .strip_prefix('{')
                    .and_then(|r| r.split_once('}'))
                    .map(|(hex, _)| hex.to_string())
                    .ok_or("\\u must be followed by {hex}")?;
                let c = u32::from_str_radix(&body, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("\\u{{{body}}} is not a character"))?;
                out.push(c);
                for _ in 0..body.len() + 2 {
                    chars.next();
                }
            }
            // Other sequences stay as written, so that regexes read
            // naturally: `regex="\d+\.\d+"`.
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => return Err("a string ends with a lone backslash".into()),
        }
    }
    Ok(out)
}

/// Rejects inline JSON nested too deep for the recursive parser.
fn check_nesting(src: &str) -> Result<(), ProgramError> {
    let mut depth = 0usize;
    for (i, b) in src.bytes().enumerate() {
        match b {
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_OBJECT_DEPTH + 2 {
                    return Err(ProgramError::Syntax {
                        message: format!("nested deeper than {MAX_OBJECT_DEPTH} levels"),
                        location: Location::at(src, i),
                    });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn syntax_error(src: &str, e: &pest::error::Error<Rule>) -> ProgramError {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let message = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<&str> = positives.iter().map(|r| word(*r)).collect();
            words.sort_unstable();
            words.dedup();
            if words.is_empty() {
                "unexpected input".to_string()
            } else {
                format!("expected {}", words.join(" or "))
            }
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    let (before, after) = src.split_at(floor_char_boundary(src, pos));
    if after.starts_with("{{") {
        return ProgramError::Syntax {
            message: "malformed or unclosed hole: expected `{{kind \"name\" option=value ...}}` or `{{variable}}`".into(),
            location: Location::at(src, pos),
        };
    }
    // An unclosed hole is the likeliest cause of a failure inside one.
    let message = if before.rfind("{{") > before.rfind("}}") {
        format!("{message} (in a hole: `{{{{kind \"name\" option=value}}}}` or `{{{{variable}}}}`)")
    } else {
        message
    };
    ProgramError::Syntax {
        message,
        location: Location::at(src, pos),
    }
}

/// The largest character boundary of `s` at or before `i`.
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn word(r: Rule) -> &'static str {
    match r {
        Rule::text => "text",
        Rule::hole => "`{{`",
        Rule::call | Rule::kind => "a hole kind",
        Rule::var | Rule::ident | Rule::key => "a name",
        Rule::ws => "whitespace",
        Rule::value => "a value",
        Rule::option => "an option",
        Rule::string | Rule::jstring => "a quoted string",
        Rule::list => "a list",
        Rule::object => "a JSON object",
        Rule::number => "a number",
        Rule::boolean => "`true` or `false`",
        Rule::template => "a template",
        Rule::EOI => "the end of the template",
    }
}
