//! Arbitrary JSON as a schema: compiling never panics.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use rein_grammar::json_schema::{compile, Options};

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(g) = compile(&schema, &Options::default()) {
        common::exercise(&g, 8);
    }
});
