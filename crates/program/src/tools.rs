//! Tool calls for agents: the model picks one of several tools and writes
//! arguments valid for that tool's JSON Schema.
//!
//! The call is one JSON object, `{"name": "<tool>", "arguments": {...}}`,
//! and its grammar is a union over the tools: after a tool's name only that
//! tool's arguments are possible. With [`ToolChoice::allow_answer`] the
//! model may instead answer without a tool: `{"answer": "..."}`.
//!
//! ```
//! use rein_program::tools::{Tool, ToolChoice};
//! use serde_json::json;
//!
//! let choice = ToolChoice::new(vec![
//!     Tool::new("get_weather", json!({"type": "object",
//!         "properties": {"city": {"type": "string"}}, "required": ["city"]})),
//!     Tool::new("add", json!({"type": "object",
//!         "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
//!         "required": ["a", "b"]})),
//! ]).allow_answer(true);
//! let program = choice
//!     .program("User: what's the weather in Paris?\nThought: ")
//!     .unwrap();
//! assert_eq!(program.hole_names(), vec!["thought", "call"]);
//! let call = rein_program::tools::ToolCall::from_value(
//!     &json!({"name": "add", "arguments": {"a": 1, "b": 2}})).unwrap();
//! assert_eq!(call.name.as_deref(), Some("add"));
//! ```

use rein_grammar::{Expr, Grammar};
use serde_json::Value;

use crate::error::ProgramError;
use crate::program::{embed, Gen, Program};

/// A tool: its name and the JSON Schema of its arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct Tool {
    /// The tool's name (written verbatim into the call).
    pub name: String,
    /// What the tool does (shown to the model by [`ToolChoice::describe`]).
    pub description: Option<String>,
    /// JSON Schema of the `arguments` object.
    pub parameters: Value,
}

impl Tool {
    /// A tool named `name` with arguments following `parameters`.
    pub fn new(name: impl Into<String>, parameters: Value) -> Tool {
        Tool {
            name: name.into(),
            description: None,
            parameters,
        }
    }

    /// Adds a description.
    pub fn with_description(mut self, d: impl Into<String>) -> Tool {
        self.description = Some(d.into());
        self
    }
}

/// A set of tools to choose from, and whether answering without a tool is
/// allowed.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolChoice {
    tools: Vec<Tool>,
    answer: bool,
    thought_stop: String,
    thought_max_tokens: u32,
}

/// A parsed tool call (or answer).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct ToolCall {
    /// The tool's name; `None` for an answer without a tool.
    #[serde(default)]
    pub name: Option<String>,
    /// The tool's arguments (`null` for an answer).
    #[serde(default)]
    pub arguments: Value,
    /// The answer, when no tool was called.
    #[serde(default)]
    pub answer: Option<String>,
}

impl ToolCall {
    /// Reads a call from its JSON value.
    ///
    /// # Errors
    /// When the value is not a call object.
    pub fn from_value(v: &Value) -> Result<ToolCall, ProgramError> {
        Ok(serde_json::from_value(v.clone())?)
    }
}

impl ToolChoice {
    /// A choice among `tools` (a tool call is required).
    pub fn new(tools: Vec<Tool>) -> ToolChoice {
        ToolChoice {
            tools,
            answer: false,
            thought_stop: "\n".into(),
            thought_max_tokens: 64,
        }
    }

    /// Also allow `{"answer": "..."}` instead of a tool call.
    pub fn allow_answer(mut self, yes: bool) -> ToolChoice {
        self.answer = yes;
        self
    }

    /// The tools.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// A plain-text list of the tools and the call format, to put in a
    /// prompt (models choose better when they see the tools).
    pub fn describe(&self) -> String {
        let mut s = String::from("Tools (call one as {\"name\": ..., \"arguments\": {...}}):\n");
        for t in &self.tools {
            s.push_str(&format!("- {}", t.name));
            if let Some(d) = &t.description {
                s.push_str(&format!(": {d}"));
            }
            s.push_str(&format!("; arguments: {}\n", t.parameters));
        }
        if self.answer {
            s.push_str("Or answer directly as {\"answer\": \"...\"}.\n");
        }
        s
    }

    /// The grammar of one call: a JSON object naming a tool and holding
    /// arguments valid for that tool's schema (or an answer, if allowed).
    ///
    /// # Errors
    /// No tools, a duplicate tool name, or a schema that does not compile
    /// (named by tool).
    pub fn grammar(&self) -> Result<Grammar, ProgramError> {
        if self.tools.is_empty() && !self.answer {
            return Err(ProgramError::Hole {
                message: "a tool choice needs at least one tool (or allow_answer)".into(),
                location: None,
            });
        }
        let mut g = Grammar::new();
        let mut alts = Vec::new();
        for (i, t) in self.tools.iter().enumerate() {
            if self.tools[..i].iter().any(|u| u.name == t.name) {
                return Err(ProgramError::Hole {
                    message: format!("tool `{}` is listed twice", t.name),
                    location: None,
                });
            }
            let args =
                crate::program::compile_schema(&t.parameters).map_err(|e| ProgramError::Hole {
                    message: format!("the parameters schema of tool `{}`: {e}", t.name),
                    location: None,
                })?;
            let args = embed(&mut g, &args);
            let name = serde_json::to_string(&t.name)?;
            alts.push(Expr::seq(vec![
                Expr::literal(format!("{{\"name\": {name}, \"arguments\": ")),
                Expr::Rule(args),
                Expr::literal("}"),
            ]));
        }
        if self.answer {
            let s = crate::program::compile_schema(&serde_json::json!({"type": "string"}))?;
            let s = embed(&mut g, &s);
            alts.push(Expr::seq(vec![
                Expr::literal("{\"answer\": "),
                Expr::Rule(s),
                Expr::literal("}"),
            ]));
        }
        g.start = g.add_rule("tool_call", Expr::alt(alts));
        Ok(g)
    }

    /// A program: `prefix`, then a free-text thought (up to a newline, at
    /// most 64 tokens) captured as `thought`, then `Call: ` and the call
    /// captured as `call` (its JSON value; read it with
    /// [`ToolCall::from_value`]).
    ///
    /// # Errors
    /// As [`ToolChoice::grammar`].
    pub fn program(&self, prefix: &str) -> Result<Program, ProgramError> {
        Program::builder()
            .text(prefix)
            .gen(
                "thought",
                Gen::text()
                    .stop(self.thought_stop.clone())
                    .max_tokens(self.thought_max_tokens),
            )
            .text("Call: ")
            .json_grammar("call", self.grammar()?)
            .build()
    }

    /// A program with only the call (no free text): `prefix`, then the call
    /// captured as `call`.
    ///
    /// # Errors
    /// As [`ToolChoice::grammar`].
    pub fn call_program(&self, prefix: &str) -> Result<Program, ProgramError> {
        Program::builder()
            .text(prefix)
            .json_grammar("call", self.grammar()?)
            .build()
    }
}
