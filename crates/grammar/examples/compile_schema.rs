//! Compiles JSON Schemas (files, or MaskBench cases with a "schema" key) to
//! the grammar IR and prints the time and the size of each grammar.
//!
//! ```text
//! cargo run --release -p rein-grammar --example compile_schema -- FILE...
//! ```

use std::time::Instant;

use rein_grammar::json_schema::{compile, Options};
use serde_json::Value;

fn main() {
    let mut total = 0.0;
    for path in std::env::args().skip(1) {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let v: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let schema = v
            .get("schema")
            .filter(|_| v.get("tests").is_some())
            .unwrap_or(&v);
        let t = Instant::now();
        let r = compile(schema, &Options::default());
        let ms = t.elapsed().as_secs_f64() * 1e3;
        total += ms;
        match r {
            Ok(g) => println!("{path}: {ms:.2} ms, {} rules", g.rules.len()),
            Err(e) => println!("{path}: {ms:.2} ms, error: {e}"),
        }
    }
    println!("total {total:.1} ms");
}
