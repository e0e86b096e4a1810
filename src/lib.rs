//! rein: constrained generation.
//!
//! The crates of the workspace, re-exported: [`grammar`] (the IR and the regex, GBNF and
//! JSON Schema front-ends), [`vocab`] (token vocabularies), [`engine`] (token masks),
//! [`candle`] (models and the sampling loop), [`program`] (templated programs with
//! captures, tool calls, token healing) and [`assets`] (fetching known models and
//! tokenizers). The sampling loop's main types are at the top level, with typed
//! extraction: [`extract`] fills a Rust type deriving `schemars::JsonSchema` and
//! `serde::Deserialize` from a model's output, constrained by the type's JSON Schema.

pub use rein_assets as assets;
pub use rein_candle as candle;
pub use rein_engine as engine;
pub use rein_grammar as grammar;
pub use rein_program as program;
pub use rein_vocab as vocab;

pub use rein_candle::{
    Finish, GenerateConfig, GenerateError, Generation, Generator, MaskOverlap, Prompt,
};

mod extract;

pub use extract::{extract, ExtractError, ExtractOptions, Extraction, Extractor};
