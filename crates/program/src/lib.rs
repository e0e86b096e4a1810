//! Guidance-style templated programs for rein: fixed text interleaved with
//! constrained *holes*, whose generated text is captured into named
//! variables.
//!
//! A program is written as a template ([`Program::parse`]) or built in code
//! ([`Program::builder`]). It compiles to **one grammar** in which every hole
//! is a named capture ([`Program::grammar`]); running it on a model
//! ([`Program::run`], feature `candle`) fast-forwards the fixed text, samples
//! only the holes, enforces each hole's `max_tokens` in the grammar, heals
//! tokens at text/hole boundaries, and reads the captures off the output.
//! [`Captures::deserialize`] turns them into a user's struct.
//!
//! ```
//! use rein_program::{Gen, Program, Vars};
//!
//! let p = Program::parse(concat!(
//!     "The hero's name is {{gen \"name\" regex=\"[A-Z][a-z]+\" max_tokens=6}}.\n",
//!     "Class: {{select \"class\" options=[\"warrior\", \"mage\", \"rogue\"]}}\n",
//!     "Stats: {{json \"stats\" schema={\"type\": \"object\", \"properties\": {\"hp\": {\"type\": \"integer\"}}}}}\n",
//! )).unwrap();
//! assert_eq!(p.hole_names(), vec!["name", "class", "stats"]);
//!
//! // The same program in code.
//! let q = Program::builder()
//!     .text("The hero's name is ")
//!     .gen("name", Gen::regex("[A-Z][a-z]+").unwrap().max_tokens(6))
//!     .text(".\nClass: ")
//!     .select("class", ["warrior", "mage", "rogue"])
//!     .build()
//!     .unwrap();
//! let grammar = q.grammar(&Vars::new()).unwrap();
//! assert!(grammar.validate().is_ok());
//! ```
//!
//! [`tools`] builds tool-call programs for agents: the model picks one of
//! several tools and writes arguments valid for that tool's JSON Schema.
//!
//! # Features
//! - `candle` (default): [`Program::run`] on a `rein-candle` generator.
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod captures;
mod error;
mod program;
#[cfg(feature = "candle")]
mod run;
mod template;
pub mod tools;

pub use captures::Captures;
pub use error::{Location, ProgramError};
pub use program::{Gen, Program, ProgramBuilder, Vars};
#[cfg(feature = "candle")]
pub use run::{Output, RunConfig};
pub use template::ParseOptions;
