//! Tool calls for agents: the model picks a tool and writes arguments valid for that
//! tool's JSON Schema (one grammar: a union over the tools), after a free-text thought,
//! or answers without a tool.
//!
//! ```text
//! cargo run --release --example tool_call
//! ```
//!
//! Uses the default model (SmolLM2-135M-Instruct, fetched and cached on first use).

use rein::program::tools::{Tool, ToolCall, ToolChoice};
use rein::program::{RunConfig, Vars};
use rein::{Generator, Prompt};
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let mut g = Generator::load("smollm2-135m-instruct", None)?;
    let tools = vec![
        Tool::new(
            "get_weather",
            json!({"type": "object",
                   "properties": {"city": {"type": "string"},
                                  "unit": {"enum": ["celsius", "fahrenheit"]}},
                   "required": ["city", "unit"], "additionalProperties": false}),
        )
        .with_description("current weather in a city"),
        Tool::new(
            "add",
            json!({"type": "object",
                   "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                   "required": ["a", "b"], "additionalProperties": false}),
        )
        .with_description("adds two numbers"),
    ];
    // "required": the model must call one of the tools; "auto": it may also answer in
    // text. Either way the arguments fit the chosen tool's schema.
    let required = ToolChoice::new(tools.clone()).allow_answer(false);
    let auto = ToolChoice::new(tools).allow_answer(true);
    for (choice, mode, question) in [
        (
            &required,
            "required",
            "What's the weather like in Paris right now?",
        ),
        (&required, "required", "What is 17 plus 25?"),
        (&auto, "auto", "Who wrote Hamlet?"),
    ] {
        let program = choice.program("Thought: ")?;
        let prompt = Prompt::chat(format!("{}\nQuestion: {question}", choice.describe()));
        let out = program.run(&mut g, &Vars::new(), &RunConfig::new().prompt(prompt))?;
        let call = ToolCall::from_value(out.captures.get("call").unwrap_or(&json!(null)))?;
        println!("Q ({mode}): {question}\n{}\n=> {call:?}\n", out.text);
    }
    Ok(())
}
