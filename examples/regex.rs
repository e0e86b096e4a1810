//! Generation constrained by a regex: a date, an email address and a yes/no answer.
//!
//! ```text
//! cargo run --release --example regex
//! ```
//!
//! Uses the default model (SmolLM2-135M-Instruct, fetched and cached on first use).

use std::sync::Arc;

use rein::{GenerateConfig, Generator, Prompt};

fn main() -> anyhow::Result<()> {
    let mut g = Generator::load("smollm2-135m-instruct", None)?;
    let cases = [
        (
            "When did the Apollo 11 mission land on the Moon? Give the date as YYYY-MM-DD.",
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
        ),
        (
            "Make up an email address for Jane Doe who works at Example Corp.",
            r"[a-z]+(\.[a-z]+)?@[a-z]+\.(com|org|net)",
        ),
        (
            "Is the Pacific the largest ocean? Answer yes or no.",
            r"(yes|no)",
        ),
    ];
    for (question, pattern) in cases {
        let constraint = Arc::new(g.compiler().regex(pattern)?);
        let out = g.generate(
            &Prompt::chat(question),
            Some(&constraint),
            &GenerateConfig::new(),
        )?;
        // The output always matches the whole regex.
        let re = regex::Regex::new(&format!("^(?:{pattern})$"))?;
        assert!(re.is_match(&out.text));
        println!(
            "{question}\n  /{pattern}/ -> {:?} ({} sampled, {} forced tokens)\n",
            out.text, out.sampled, out.forced
        );
    }
    Ok(())
}
