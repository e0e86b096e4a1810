//! Programs on the real default model (SmolLM2-135M-Instruct, greedy):
//! every capture satisfies its constraint, fixed text is verbatim, tool
//! calls name a tool and carry arguments valid for its schema.

use std::sync::Mutex;
use std::sync::OnceLock;

use rein_candle::{Generator, Prompt};
use rein_program::tools::{Tool, ToolCall, ToolChoice};
use rein_program::{ParseOptions, Program, RunConfig, Vars};
use serde_json::json;

fn generator() -> &'static Mutex<Generator> {
    static G: OnceLock<Mutex<Generator>> = OnceLock::new();
    G.get_or_init(|| {
        Mutex::new(Generator::load("smollm2-135m-instruct", None).expect("SmolLM2 model"))
    })
}

#[test]
fn character_program_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let src = std::fs::read_to_string(dir.join("character.program")).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("character.schema.json")).unwrap())
            .unwrap();
    let p = Program::parse_with(
        &src,
        &ParseOptions {
            base_dir: Some(dir),
        },
    )
    .unwrap();
    let vars = Vars::from([("author".to_string(), "a bard".to_string())]);
    let mut g = generator().lock().unwrap();
    let name_re = regex::Regex::new("^[A-Z][a-z]{2,10}$").unwrap();
    for healing in [true, false] {
        let out = p
            .run(&mut g, &vars, &RunConfig::new().healing(healing))
            .unwrap();
        let name = out.captures.text("name").unwrap();
        let class = out.captures.text("class").unwrap();
        let motto = out.captures.text("motto").unwrap();
        let stats = out.captures.get("stats").unwrap();
        assert!(name_re.is_match(name), "{name:?}");
        assert!(["warrior", "mage", "rogue", "ranger"].contains(&class));
        assert!(!motto.contains('"'));
        assert!(
            jsonschema::validator_for(&schema).unwrap().is_valid(stats),
            "{stats}"
        );
        let stats_text = &out.text[out
            .spans
            .iter()
            .find(|(n, _)| n == "stats")
            .unwrap()
            .1
            .clone()];
        let want = format!(
            "Here is a character for a fantasy game, written by a bard.\n\nThe hero's name is {name}.\nClass: {class}\nStats: {stats_text}\nMotto: \"{motto}\"\n\n{name} the {class} sets out at dawn.\n"
        );
        assert_eq!(out.text, want);
    }
}

#[test]
fn tool_calls_are_valid_for_the_chosen_tool() {
    let weather = json!({"type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"], "additionalProperties": false});
    let add = json!({"type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"], "additionalProperties": false});
    let tools = ToolChoice::new(vec![
        Tool::new("get_weather", weather.clone()).with_description("current weather in a city"),
        Tool::new("add", add.clone()).with_description("adds two numbers"),
    ])
    .allow_answer(true);
    let mut g = generator().lock().unwrap();
    let mut names = Vec::new();
    for q in [
        "What's the weather like in Paris right now?",
        "What is 17 plus 25?",
    ] {
        let program = tools.program("Thought: ").unwrap();
        let prompt = Prompt::chat(format!("{}\nQuestion: {q}", tools.describe()));
        let out = program
            .run(&mut g, &Vars::new(), &RunConfig::new().prompt(prompt))
            .unwrap();
        let call = ToolCall::from_value(out.captures.get("call").unwrap()).unwrap();
        match call.name.as_deref() {
            Some("get_weather") => {
                assert!(jsonschema::validator_for(&weather)
                    .unwrap()
                    .is_valid(&call.arguments))
            }
            Some("add") => {
                assert!(jsonschema::validator_for(&add)
                    .unwrap()
                    .is_valid(&call.arguments))
            }
            None => assert!(call.answer.is_some()),
            Some(other) => panic!("unknown tool {other}"),
        }
        assert!(!out.captures.text("thought").unwrap().contains('\n'));
        names.push(call.name);
    }
    eprintln!("tools chosen: {names:?}");
}
