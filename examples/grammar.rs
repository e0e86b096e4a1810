//! Generation constrained by a GBNF grammar: arithmetic expressions from
//! `grammars/arithmetic.gbnf`, streamed as they are generated.
//!
//! ```text
//! cargo run --release --example grammar
//! ```

use std::io::Write;
use std::sync::Arc;

use rein::{Finish, GenerateConfig, Generator, Prompt};

fn main() -> anyhow::Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/grammars/arithmetic.gbnf");
    let src = std::fs::read_to_string(path)?;
    let mut g = Generator::load("smollm2-135m-instruct", None)?;
    let constraint = Arc::new(g.compiler().gbnf(&src)?);
    // A checker independent of the engine: the reference recognizer of rein-grammar.
    let reference = rein::grammar::testing::Recognizer::new(&rein::grammar::gbnf::parse(&src)?);

    for (question, seed) in [
        ("Write an arithmetic expression whose value is 42.", 0),
        (
            "Write the arithmetic for: three apples at 1.25 each, plus a 4.50 bag.",
            0,
        ),
        ("Write a long arithmetic expression with parentheses.", 7),
    ] {
        println!("{question}");
        print!("  ");
        let config = GenerateConfig::new()
            .max_tokens(48)
            .temperature(0.7)
            .top_p(0.9)
            .seed(seed);
        let out = g.generate_streaming(
            &Prompt::chat(question),
            Some(&constraint),
            &config,
            |piece| {
                print!("{piece}");
                let _ = std::io::stdout().flush();
            },
        )?;
        match out.finish {
            Finish::Length => {
                assert!(reference.is_prefix(&out.text));
                println!("  … (truncated at {} tokens)\n", out.tokens.len());
            }
            _ => {
                assert!(reference.accepts(&out.text));
                println!("\n");
            }
        }
    }
    Ok(())
}
