//! The default model (SmolLM2-135M-Instruct, from `rein-assets`) under 20 JSON Schemas of
//! our own: every output is complete and valid per the `jsonschema` crate (an independent
//! validator), and greedy runs are deterministic.

use std::sync::Arc;

use rein_candle::{Finish, GenerateConfig, Generator, Prompt};
use rein_grammar::json_schema::{self, Options, Whitespace};
use serde_json::{json, Value};

fn cases() -> Vec<(&'static str, Value)> {
    let s = |n: u64| json!({"type": "string", "maxLength": n});
    vec![
        (
            "Extract the person: Ada Lovelace was born in London in 1815.",
            json!({"type": "object", "properties": {"name": s(40), "city": s(30), "year": {"type": "integer", "minimum": 1000, "maximum": 2100}}, "required": ["name", "city", "year"]}),
        ),
        (
            "Is water wet? Answer with a boolean and a short reason.",
            json!({"type": "object", "properties": {"answer": {"type": "boolean"}, "reason": s(60)}, "required": ["answer", "reason"]}),
        ),
        (
            "Classify the sentiment of: 'I love this phone, the battery lasts forever.'",
            json!({"type": "object", "properties": {"sentiment": {"enum": ["positive", "negative", "neutral"]}}, "required": ["sentiment"]}),
        ),
        (
            "List three primary colors.",
            json!({"type": "array", "items": {"enum": ["red", "green", "blue", "yellow", "cyan", "magenta"]}, "minItems": 3, "maxItems": 3}),
        ),
        (
            "Give the coordinates of Paris.",
            json!({"type": "object", "properties": {"lat": {"type": "number", "minimum": -90, "maximum": 90}, "lon": {"type": "number", "minimum": -180, "maximum": 180}}, "required": ["lat", "lon"]}),
        ),
        (
            "Extract the product: The XPhone 12 costs 799 dollars and comes in black.",
            json!({"type": "object", "properties": {"product": s(30), "price": {"type": "integer", "minimum": 0, "maximum": 100000}, "color": s(20)}, "required": ["product", "price", "color"], "additionalProperties": false}),
        ),
        (
            "What is 7 times 6?",
            json!({"type": "integer", "minimum": 0, "maximum": 1000}),
        ),
        (
            "Name a fruit.",
            json!({"type": "string", "maxLength": 20, "pattern": "^[A-Za-z ]+$"}),
        ),
        (
            "Describe a cat with a name and an age.",
            json!({"type": "object", "properties": {"name": s(20), "age": {"type": "integer", "minimum": 0, "maximum": 30}, "indoor": {"type": "boolean"}}, "required": ["name", "age"]}),
        ),
        (
            "Give today's weather in Berlin: temperature in Celsius and conditions.",
            json!({"type": "object", "properties": {"city": {"const": "Berlin"}, "celsius": {"type": "integer", "minimum": -50, "maximum": 50}, "conditions": {"enum": ["sunny", "cloudy", "rainy", "snowy"]}}, "required": ["city", "celsius", "conditions"]}),
        ),
        (
            "Extract the date from: The meeting is on March 3rd, 2024.",
            json!({"type": "object", "properties": {"date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}}, "required": ["date"]}),
        ),
        (
            "Write a to-do list with up to three items.",
            json!({"type": "object", "properties": {"todo": {"type": "array", "items": {"type": "object", "properties": {"task": s(30), "done": {"type": "boolean"}}, "required": ["task", "done"]}, "minItems": 1, "maxItems": 3}}, "required": ["todo"]}),
        ),
        (
            "Give an HTTP status code for 'not found' and its message.",
            json!({"type": "object", "properties": {"code": {"type": "integer", "minimum": 100, "maximum": 599}, "message": s(30)}, "required": ["code", "message"]}),
        ),
        (
            "Translate 'hello' into French and Spanish.",
            json!({"type": "object", "properties": {"fr": s(20), "es": s(20)}, "required": ["fr", "es"]}),
        ),
        (
            "Rate the movie Inception from 1 to 5 stars.",
            json!({"type": "object", "properties": {"stars": {"type": "integer", "minimum": 1, "maximum": 5}, "summary": s(50)}, "required": ["stars"]}),
        ),
        (
            "Is 17 a prime number?",
            json!({"anyOf": [{"type": "boolean"}, {"enum": ["yes", "no"]}]}),
        ),
        (
            "Extract the email address from: Contact me at jane.doe@example.com.",
            json!({"type": "object", "properties": {"email": {"type": "string", "maxLength": 40, "pattern": "^[a-z.]+@[a-z]+\\.[a-z]{2,3}$"}}, "required": ["email"]}),
        ),
        (
            "Give two tags for an article about Rust programming.",
            json!({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string", "maxLength": 15}, "minItems": 2, "maxItems": 2}}, "required": ["tags"]}),
        ),
        (
            "Describe a book: title, author and page count.",
            json!({"type": "object", "properties": {"title": s(40), "author": s(30), "pages": {"type": "integer", "minimum": 1, "maximum": 5000}, "genre": {"enum": ["fiction", "non-fiction", "poetry"]}}, "required": ["title", "author", "pages", "genre"]}),
        ),
        (
            "Give the price of a coffee in euros.",
            json!({"type": "object", "properties": {"item": {"const": "coffee"}, "price": {"type": "number", "minimum": 0, "maximum": 20}, "currency": {"const": "EUR"}}, "required": ["item", "price", "currency"]}),
        ),
    ]
}

#[test]
fn smollm2_outputs_are_valid_for_20_schemas_and_greedy_is_deterministic() {
    let mut g = Generator::load("smollm2-135m-instruct", None).unwrap();
    let opts = Options::default()
        .with_whitespace(Whitespace::Compact)
        .with_strict(true)
        .with_trailing_zeros(false);
    let cfg = GenerateConfig::new().max_tokens(200);
    let cases = cases();
    assert_eq!(cases.len(), 20);
    let mut failures = Vec::new();
    for (i, (text, schema)) in cases.iter().enumerate() {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .unwrap_or_else(|e| panic!("case {i}: the jsonschema crate rejects the schema: {e}"));
        let grammar =
            json_schema::compile(schema, &opts).unwrap_or_else(|e| panic!("case {i}: {e}"));
        let c = Arc::new(g.compiler().grammar(&grammar).unwrap());
        let prompt = Prompt::chat(*text).with_schema(schema.to_string());
        let out = g.generate(&prompt, Some(&c), &cfg).unwrap();
        eprintln!(
            "case {i}: {:?} ({} sampled, {} forced, {})",
            out.text,
            out.sampled,
            out.forced,
            out.finish.as_str()
        );
        if out.finish == Finish::Length {
            failures.push(format!("case {i}: truncated {:?}", out.text));
            continue;
        }
        match serde_json::from_str::<Value>(&out.text) {
            Ok(v) if validator.is_valid(&v) => {}
            Ok(_) => failures.push(format!(
                "case {i}: {:?} is not valid for {schema}",
                out.text
            )),
            Err(e) => failures.push(format!("case {i}: not JSON: {e}: {:?}", out.text)),
        }
        // Greedy decoding is deterministic: the same prompt gives the same tokens.
        if i % 5 == 0 {
            let again = g.generate(&prompt, Some(&c), &cfg).unwrap();
            assert_eq!(again.tokens, out.tokens, "case {i}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
