//! The `rein` command line.
//!
//! Each subcommand lives in its own module with its own `Args` and `run`.
//! Exit codes: 0 success, 1 "rejected" / truncated output, 2 bad input
//! (a grammar, schema or file that cannot be used), as each command
//! documents.

/// mimalloc: compiling a grammar allocates and frees many small trees
/// (regexes, grammar rules); in a long MaskBench run the median compile
/// took 1.6 ms with the system allocator and 0.86 ms with this one
/// (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod generate;
mod json_suite;
mod mask_bench;
mod run;

/// Constrained generation: regexes, GBNF grammars, JSON Schemas and
/// templated programs turned into token masks.
#[derive(Parser, Debug)]
#[command(name = "rein", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compile a constraint and optionally check a file against it.
    Check(check::Args),
    /// Generate text with a model under a constraint.
    Generate(generate::Args),
    /// Run a templated program (fixed text with constrained holes) with a model.
    Run(run::Args),
    /// Run MaskBench cases (JSON Schemas with valid and invalid instances).
    MaskBench(mask_bench::Args),
    /// Run files of the official JSON Schema Test Suite through the masks.
    JsonSuite(json_suite::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(a) => check::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Run(a) => run::run(a),
        Command::MaskBench(a) => mask_bench::run(a),
        Command::JsonSuite(a) => json_suite::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
