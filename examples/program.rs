//! A templated program: fixed text with constrained holes, captured into a Rust struct.
//!
//! ```text
//! cargo run --release --example program
//! ```
//!
//! Runs `examples/character.program` (the same file `rein run` takes), then builds a
//! small program in code. Uses the default model (SmolLM2-135M-Instruct, fetched and
//! cached on first use).

use rein::program::{Gen, ParseOptions, Program, RunConfig, Vars};
use rein::{GenerateConfig, Generator};

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Stats {
    strength: u8,
    dexterity: u8,
    wisdom: u8,
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Character {
    name: String,
    class: String,
    stats: Stats,
    motto: String,
}

fn main() -> anyhow::Result<()> {
    let mut g = Generator::load("smollm2-135m-instruct", None)?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let src = std::fs::read_to_string(dir.join("character.program"))?;
    let program = Program::parse_with(
        &src,
        &ParseOptions {
            base_dir: Some(dir),
        },
    )?;
    let vars = Vars::from([("author".to_string(), "a bard".to_string())]);
    let config = RunConfig::new().generate(GenerateConfig::new().temperature(0.7).seed(1));
    let out = program.run(&mut g, &vars, &config)?;
    println!("{}\n", out.text);
    let hero: Character = out.captures.deserialize()?;
    println!("{hero:#?}\n");

    // The same kind of program, built in code.
    let quiz = Program::builder()
        .text("Q: What is the capital of France?\nA: The capital of France is ")
        .gen("city", Gen::regex("[A-Z][a-z]+")?.max_tokens(4))
        .text(".\nQ: Is it in Europe?\nA: ")
        .select("europe", ["yes", "no"])
        .text(".")
        .build()?;
    let out = quiz.run(&mut g, &Vars::new(), &RunConfig::new())?;
    println!("{}\ncaptures: {}", out.text, out.captures.to_json());
    Ok(())
}
