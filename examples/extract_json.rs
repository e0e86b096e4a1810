//! Typed extraction: a record pulled out of a paragraph into a Rust struct, with generation
//! constrained by the struct's JSON Schema (derived by `schemars`).
//!
//! ```text
//! cargo run --release --example extract_json [MODEL]
//! ```
//!
//! `MODEL` defaults to `smollm2-135m-instruct`; `gemma3-270m` works too.

use rein::{ExtractOptions, Extractor, Generator};
use schemars::JsonSchema;
use serde::Deserialize;

/// A scientist, as described in a paragraph.
#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)] // the fields are read through Debug
struct Scientist {
    name: String,
    born: u16,
    died: u16,
    /// Fields of work.
    #[schemars(length(max = 3))]
    fields: Vec<String>,
    nobel_prizes: u8,
}

const TEXT: &str = "Marie Skłodowska-Curie (1867–1934) was a Polish and naturalised-French \
physicist and chemist who conducted pioneering research on radioactivity. She was the first \
woman to win a Nobel Prize, the first person to win a Nobel Prize twice, and the only person \
to win a Nobel Prize in two scientific fields.";

fn main() -> anyhow::Result<()> {
    let model = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "smollm2-135m-instruct".into());
    let mut g = Generator::load(&model, None)?;
    let extractor = Extractor::<Scientist>::new(&g)?;
    println!("schema shown to the model: {}\n", extractor.schema());
    let prompt = format!("Extract the scientist described in this text.\n\n{TEXT}");
    let e = extractor.extract_with(&mut g, &prompt, &ExtractOptions::new())?;
    println!("{:#?}", e.value);
    let out = &e.generation;
    println!(
        "\n{} tokens ({} sampled, {} forced by the schema) in {:.2} s",
        out.tokens.len(),
        out.sampled,
        out.forced,
        out.total_time.as_secs_f64()
    );
    Ok(())
}
