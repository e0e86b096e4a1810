//! Where lowering puts lexeme boundaries, seen from the compiled grammar's
//! size: large regexes are compiled once however often they are used.

use std::sync::Arc;

use rein_engine::{Compiler, TokenId, Vocabulary};
use rein_grammar::json_schema::{self, Options};

/// One token per byte, then EOS.
fn bytes_vocab() -> Arc<Vocabulary> {
    let mut toks: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    toks.push(Vec::new());
    Arc::new(Vocabulary::from_token_bytes(toks, vec![TokenId(256)]))
}

fn nfa_states(schema: serde_json::Value) -> usize {
    let ir = json_schema::compile(&schema, &Options::default()).unwrap();
    Compiler::new(&bytes_vocab())
        .grammar(&ir)
        .unwrap()
        .stats()
        .nfa_states
}

/// An object with `n` properties, each a string of at most 255 characters.
fn bounded_strings(n: usize) -> serde_json::Value {
    let props: serde_json::Map<String, serde_json::Value> = (0..n)
        .map(|i| {
            (
                format!("p{i}"),
                serde_json::json!({"type": "string", "maxLength": 255}),
            )
        })
        .collect();
    serde_json::json!({"type": "object", "properties": props, "additionalProperties": false})
}

#[test]
fn a_bounded_string_used_by_many_properties_is_compiled_once() {
    let one = nfa_states(bounded_strings(1));
    let twenty = nfa_states(bounded_strings(20));
    // 255 positions of a JSON string character: thousands of states. Each
    // property copying them would make twenty properties 20x one.
    assert!(one > 2_000, "{one}");
    assert!(twenty < one + one / 2, "one: {one}, twenty: {twenty}");
}
