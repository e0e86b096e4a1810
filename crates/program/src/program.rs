//! Programs: fixed text and holes, built in code or parsed from a template,
//! compiled into grammars with one named capture per hole.

use std::collections::{BTreeMap, HashSet};

use rein_grammar::{Expr, Grammar, GrammarError, Location, RuleId};
use serde_json::Value;

use crate::error::ProgramError;

/// Variables passed into a program: `{{name}}` in a template (or
/// [`ProgramBuilder::var`]) becomes the variable's text.
pub type Vars = BTreeMap<String, String>;

/// What a `gen` hole may produce.
///
/// ```
/// use rein_program::Gen;
/// let g = Gen::regex("[0-9]+").unwrap().max_tokens(4);
/// let s = Gen::text().stop("\n");
/// # let _ = (g, s);
/// ```
#[derive(Clone, Debug)]
pub struct Gen {
    body: Option<Grammar>,
    regex: Option<rein_grammar::Hir>,
    stops: Vec<String>,
    max_tokens: Option<u32>,
}

impl Gen {
    /// Any text (bound it with [`Gen::stop`] or [`Gen::max_tokens`]).
    pub fn text() -> Gen {
        Gen {
            body: None,
            regex: None,
            stops: Vec::new(),
            max_tokens: None,
        }
    }

    /// Text matched as a whole by a regex (Rust syntax).
    ///
    /// # Errors
    /// A syntax error in the pattern.
    pub fn regex(pattern: &str) -> Result<Gen, GrammarError> {
        let hir = rein_grammar::regex::parse_hir(pattern, &Default::default())?;
        Ok(Gen {
            regex: Some(hir),
            ..Gen::text()
        })
    }

    /// Text of a grammar (its start rule), e.g. from
    /// [`rein_grammar::gbnf::parse`].
    pub fn grammar(g: Grammar) -> Gen {
        Gen {
            body: Some(g),
            ..Gen::text()
        }
    }

    /// Ends the text at a stop string: the captured text contains none of
    /// the stop strings, and one of them follows it in the output (taken
    /// from the template's text right after the hole when that text starts
    /// with a stop string, written after the hole otherwise).
    pub fn stop(mut self, s: impl Into<String>) -> Gen {
        self.stops.push(s.into());
        self
    }

    /// At most `n` tokens for the hole's text (a token that crosses the
    /// hole's end counts). Needs a regular constraint (a regex, stop
    /// strings or any text; not a recursive grammar).
    pub fn max_tokens(mut self, n: u32) -> Gen {
        self.max_tokens = Some(n);
        self
    }
}

/// A hole's kind and constraint.
#[derive(Clone, Debug)]
pub(crate) enum HoleKind {
    Gen(Gen),
    Select(Vec<String>),
    Json(Box<Grammar>),
    /// One of several tool calls: built by [`crate::tools`].
    Grammar(Box<Grammar>),
}

/// A hole: a named, constrained piece of generated text.
#[derive(Clone, Debug)]
pub(crate) struct Hole {
    pub(crate) name: String,
    pub(crate) kind: HoleKind,
    pub(crate) at: Option<Location>,
}

impl Hole {
    /// Whether the captured text is JSON (and its value is parsed).
    pub(crate) fn is_json(&self) -> bool {
        matches!(self.kind, HoleKind::Json(_) | HoleKind::Grammar(_))
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Text(String),
    Var { name: String, at: Option<Location> },
    Hole(Hole),
}

/// A templated program: fixed text, variables and holes.
///
/// Build one in code with [`Program::builder`] or parse a template with
/// [`Program::parse`].
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub(crate) nodes: Vec<Node>,
}

/// Builds a [`Program`] piece by piece (the code equivalent of a template).
///
/// ```
/// use rein_program::{Gen, Program};
/// let p = Program::builder()
///     .text("Name: ")
///     .gen("name", Gen::regex("[A-Z][a-z]+").unwrap())
///     .text("\nClass: ")
///     .select("class", ["warrior", "mage"])
///     .build()
///     .unwrap();
/// assert_eq!(p.hole_names(), vec!["name", "class"]);
/// ```
#[derive(Debug, Default)]
pub struct ProgramBuilder {
    nodes: Vec<Node>,
    error: Option<ProgramError>,
}

impl ProgramBuilder {
    /// Fixed text.
    pub fn text(mut self, s: impl Into<String>) -> Self {
        let s = s.into();
        if !s.is_empty() {
            self.nodes.push(Node::Text(s));
        }
        self
    }

    /// The text of a variable passed in, or of an earlier capture.
    pub fn var(mut self, name: impl Into<String>) -> Self {
        self.nodes.push(Node::Var {
            name: name.into(),
            at: None,
        });
        self
    }

    /// A generated piece of text, captured as a string.
    pub fn gen(mut self, name: impl Into<String>, gen: Gen) -> Self {
        self.push_hole(name.into(), HoleKind::Gen(gen));
        self
    }

    /// One of `options`, captured as a string.
    pub fn select<S: Into<String>>(
        mut self,
        name: impl Into<String>,
        options: impl IntoIterator<Item = S>,
    ) -> Self {
        let options: Vec<String> = options.into_iter().map(Into::into).collect();
        let name = name.into();
        if options.is_empty() {
            self.fail(ProgramError::Hole {
                message: format!("select `{name}` has no options"),
                location: None,
            });
        }
        self.push_hole(name, HoleKind::Select(options));
        self
    }

    /// A JSON value valid for `schema`, captured as its JSON value.
    pub fn json(mut self, name: impl Into<String>, schema: &Value) -> Self {
        let name = name.into();
        match crate::program::compile_schema(schema) {
            Ok(g) => self.push_hole(name, HoleKind::Json(Box::new(g))),
            Err(e) => self.fail(ProgramError::Hole {
                message: format!("the schema of json `{name}`: {e}"),
                location: None,
            }),
        }
        self
    }

    /// A hole with a grammar of its own whose text is JSON (captured as its
    /// JSON value); tool calls use this.
    pub fn json_grammar(mut self, name: impl Into<String>, g: Grammar) -> Self {
        self.push_hole(name.into(), HoleKind::Grammar(Box::new(g)));
        self
    }

    /// The program, or the first error met while building it.
    ///
    /// # Errors
    /// A bad hole or a name captured twice.
    pub fn build(self) -> Result<Program, ProgramError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let p = Program { nodes: self.nodes };
        p.check_names()?;
        Ok(p)
    }

    pub(crate) fn push_node(&mut self, n: Node) {
        self.nodes.push(n);
    }

    fn push_hole(&mut self, name: String, kind: HoleKind) {
        self.nodes.push(Node::Hole(Hole {
            name,
            kind,
            at: None,
        }));
    }

    fn fail(&mut self, e: ProgramError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }
}

/// A piece of a program once variables are known.
#[derive(Clone, Debug)]
pub(crate) enum Item<'p> {
    Text(String),
    Hole(&'p Hole),
    /// An earlier capture, known only once it is generated.
    CaptureRef(String),
}

impl Program {
    /// A builder for a program.
    pub fn builder() -> ProgramBuilder {
        ProgramBuilder::default()
    }

    /// The names of the holes, in order.
    pub fn hole_names(&self) -> Vec<&str> {
        self.holes().map(|h| h.name.as_str()).collect()
    }

    pub(crate) fn holes(&self) -> impl Iterator<Item = &Hole> {
        self.nodes.iter().filter_map(|n| match n {
            Node::Hole(h) => Some(h),
            _ => None,
        })
    }

    pub(crate) fn check_names(&self) -> Result<(), ProgramError> {
        let mut seen = HashSet::new();
        for h in self.holes() {
            if !seen.insert(h.name.as_str()) {
                return Err(ProgramError::DuplicateName {
                    name: h.name.clone(),
                    location: h.at.clone(),
                });
            }
        }
        Ok(())
    }

    /// The program with variables substituted: texts, holes and references
    /// to earlier captures.
    pub(crate) fn items(&self, vars: &Vars) -> Result<Vec<Item<'_>>, ProgramError> {
        let mut captured: HashSet<&str> = HashSet::new();
        let mut out: Vec<Item> = Vec::new();
        let push_text = |out: &mut Vec<Item>, s: &str| match out.last_mut() {
            Some(Item::Text(t)) => t.push_str(s),
            _ => out.push(Item::Text(s.to_string())),
        };
        for n in &self.nodes {
            match n {
                Node::Text(s) => push_text(&mut out, s),
                Node::Var { name, at } => {
                    if captured.contains(name.as_str()) {
                        out.push(Item::CaptureRef(name.clone()));
                    } else if let Some(v) = vars.get(name) {
                        push_text(&mut out, v);
                    } else {
                        return Err(ProgramError::UnknownVariable {
                            name: name.clone(),
                            location: at.clone(),
                        });
                    }
                }
                Node::Hole(h) => {
                    if vars.contains_key(&h.name) {
                        return Err(ProgramError::DuplicateName {
                            name: h.name.clone(),
                            location: h.at.clone(),
                        });
                    }
                    captured.insert(&h.name);
                    out.push(Item::Hole(h));
                }
            }
        }
        Ok(out)
    }

    /// Checks that every `{{name}}` is a variable in `vars` or an earlier
    /// capture, and that no capture shadows a variable.
    ///
    /// # Errors
    /// [`ProgramError::UnknownVariable`], [`ProgramError::DuplicateName`].
    pub fn check_vars(&self, vars: &Vars) -> Result<(), ProgramError> {
        self.items(vars).map(|_| ())
    }

    /// The whole program as one grammar with one capture per hole (named
    /// after the hole), given the variables. Fails when the program reuses
    /// a capture later (such programs run in stages, see
    /// [`Program::run`](crate::Program::run)).
    ///
    /// ```
    /// use rein_program::{Program, Vars};
    /// let p = Program::parse(r#"Hi {{who}}! {{select "mood" options=["ok", "great"]}}."#).unwrap();
    /// let vars = Vars::from([("who".to_string(), "Ada".to_string())]);
    /// let g = p.grammar(&vars).unwrap();
    /// assert!(g.validate().is_ok());
    /// ```
    ///
    /// # Errors
    /// Unknown variables, capture reuse, limits.
    pub fn grammar(&self, vars: &Vars) -> Result<Grammar, ProgramError> {
        let items = self.items(vars)?;
        if let Some(Item::CaptureRef(name)) =
            items.iter().find(|i| matches!(i, Item::CaptureRef(_)))
        {
            return Err(ProgramError::Hole {
                message: format!(
                    "the program reuses capture `{name}`, so it cannot be one grammar; run it instead"
                ),
                location: None,
            });
        }
        stage_grammar("", &items)
    }
}

/// Compiles a JSON Schema for a hole: compact JSON (no whitespace) and no
/// zero fractions on integers (`7.000…`), so that a hole cannot run away.
pub(crate) fn compile_schema(schema: &Value) -> Result<Grammar, GrammarError> {
    let options = rein_grammar::json_schema::Options::default()
        .with_whitespace(rein_grammar::json_schema::Whitespace::Compact)
        .with_trailing_zeros(false);
    rein_grammar::json_schema::compile(schema, &options)
}

/// The grammar of a run of items (texts and holes), after `prefix`.
pub(crate) fn stage_grammar(prefix: &str, items: &[Item]) -> Result<Grammar, ProgramError> {
    let mut g = Grammar::new();
    let mut parts = Vec::new();
    if !prefix.is_empty() {
        parts.push(Expr::literal(prefix));
    }
    for (k, item) in items.iter().enumerate() {
        match item {
            Item::Text(s) => parts.push(Expr::literal(s.clone())),
            Item::CaptureRef(name) => {
                return Err(ProgramError::Hole {
                    message: format!("capture `{name}` is used before it is known"),
                    location: None,
                })
            }
            Item::Hole(h) => {
                let next_text = match items.get(k + 1) {
                    Some(Item::Text(t)) => Some(t.as_str()),
                    _ => None,
                };
                parts.extend(hole_exprs(&mut g, h, next_text)?);
            }
        }
    }
    g.start = g.add_rule("program", Expr::seq(parts));
    Ok(g)
}

/// The expressions of one hole: its capture, and for `gen` with stop
/// strings, the stop that ends it.
fn hole_exprs(
    g: &mut Grammar,
    h: &Hole,
    next_text: Option<&str>,
) -> Result<Vec<Expr>, ProgramError> {
    let located = |message: String| ProgramError::Hole {
        message,
        location: h.at.clone(),
    };
    let capture = |e: Expr| Expr::Capture {
        name: h.name.clone(),
        expr: Box::new(e),
    };
    Ok(match &h.kind {
        HoleKind::Select(options) => {
            vec![capture(Expr::alt(
                options.iter().map(|o| Expr::literal(o.clone())).collect(),
            ))]
        }
        HoleKind::Json(schema) | HoleKind::Grammar(schema) => {
            let r = embed(g, schema);
            vec![capture(Expr::Rule(r))]
        }
        HoleKind::Gen(gen) => {
            let stops: Vec<&str> = gen.stops.iter().map(String::as_str).collect();
            let rule = match &gen.body {
                Some(body) => {
                    if !stops.is_empty() {
                        return Err(located(format!(
                            "gen `{}`: stop strings cannot be combined with a grammar",
                            h.name
                        )));
                    }
                    embed(g, body)
                }
                None => {
                    let hir = rein_grammar::regex::without_substrings(gen.regex.as_ref(), &stops)
                        .map_err(|e| located(format!("gen `{}`: {e}", h.name)))?
                        .ok_or_else(|| {
                            located(format!(
                                "gen `{}`: every text its regex allows contains a stop string",
                                h.name
                            ))
                        })?;
                    g.add_rule(format!("gen:{}", h.name), Expr::regex(hir))
                }
            };
            if let Some(n) = gen.max_tokens {
                g.rules[rule.index()].max_tokens = Some(n);
            }
            let mut v = vec![capture(Expr::Rule(rule))];
            let stop_follows = next_text.is_some_and(|t| stops.iter().any(|s| t.starts_with(s)));
            if !stops.is_empty() && !stop_follows {
                v.push(Expr::alt(stops.iter().map(|s| Expr::literal(*s)).collect()));
            }
            v
        }
    })
}

/// Appends the rules of `src` to `dst` (references renumbered); returns
/// the id of `src`'s start rule in `dst`.
pub(crate) fn embed(dst: &mut Grammar, src: &Grammar) -> RuleId {
    let base = dst.rules.len() as u32;
    for r in &src.rules {
        let mut r = r.clone();
        shift(&mut r.expr, base);
        dst.rules.push(r);
    }
    RuleId(src.start.0 + base)
}

fn shift(e: &mut Expr, base: u32) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Rule(r) => r.0 += base,
            Expr::Seq(v) | Expr::Alt(v) => stack.extend(v.iter_mut()),
            Expr::Repeat { expr, .. } | Expr::Capture { expr, .. } => stack.push(expr),
            Expr::Empty
            | Expr::Nothing
            | Expr::Literal(_)
            | Expr::Regex(_)
            | Expr::Except { .. } => {}
        }
    }
}
