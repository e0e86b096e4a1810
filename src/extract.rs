//! Typed extraction: a Rust type's JSON Schema constrains generation, and the output is
//! deserialized into the type.

// `ExtractError` carries the generator's error by value; it is returned
// once per call, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::marker::PhantomData;
use std::sync::Arc;

use rein_candle::{Finish, GenerateConfig, GenerateError, Generation, Generator, Prompt};
use rein_engine::CompiledGrammar;
use rein_grammar::json_schema::{self, Options, Whitespace};
use rein_grammar::GrammarError;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Options of an extraction.
///
/// Defaults: greedy decoding of at most 512 tokens, the schema shown to the model in the
/// prompt (instruct models only), no system message.
#[derive(Clone, Debug)]
pub struct ExtractOptions {
    config: GenerateConfig,
    schema_in_prompt: bool,
    system: Option<String>,
    chat: bool,
}

impl Default for ExtractOptions {
    fn default() -> ExtractOptions {
        ExtractOptions {
            config: GenerateConfig::new().max_tokens(512),
            schema_in_prompt: true,
            system: None,
            chat: true,
        }
    }
}

impl ExtractOptions {
    /// The defaults.
    pub fn new() -> ExtractOptions {
        ExtractOptions::default()
    }

    /// Sampling and length options.
    pub fn generate(mut self, config: GenerateConfig) -> ExtractOptions {
        self.config = config;
        self
    }

    /// Show the JSON Schema to the model in the prompt (default `true`; applies when the
    /// model has a chat template). Small models follow the constraint far better when they
    /// also see it.
    pub fn schema_in_prompt(mut self, yes: bool) -> ExtractOptions {
        self.schema_in_prompt = yes;
        self
    }

    /// A system message.
    pub fn system(mut self, text: impl Into<String>) -> ExtractOptions {
        self.system = Some(text.into());
        self
    }

    /// Apply the model's chat template (default `true`); `false` completes the raw text.
    pub fn chat(mut self, yes: bool) -> ExtractOptions {
        self.chat = yes;
        self
    }
}

/// An error of [`extract`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The type's JSON Schema cannot be compiled into a constraint.
    #[error("the JSON Schema of {type_name} cannot be used: {source}")]
    Schema {
        /// The Rust type.
        type_name: &'static str,
        /// Why.
        source: GrammarError,
    },
    /// Generation failed.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// The output was cut at the token limit before the value was complete.
    #[error("the output reached the limit of {max_tokens} tokens before the value was complete: {text:?}")]
    Truncated {
        /// The limit.
        max_tokens: usize,
        /// The incomplete output.
        text: String,
    },
    /// The output is a valid instance of the schema but the type rejected it (a schema
    /// that does not capture every rule of the type's `Deserialize`).
    #[error("the output does not deserialize into {type_name}: {source}: {text:?}")]
    Deserialize {
        /// The Rust type.
        type_name: &'static str,
        /// The output.
        text: String,
        /// The error of `serde_json`.
        source: serde_json::Error,
    },
}

/// A value and the generation that produced it.
#[derive(Clone, Debug)]
pub struct Extraction<T> {
    /// The value.
    pub value: T,
    /// The output text and its statistics.
    pub generation: Generation,
}

/// Extracts values of type `T` with one generator: the schema is compiled once, for
/// repeated calls.
///
/// ```no_run
/// use rein::{Extractor, Generator};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct City {
///     name: String,
///     country: String,
/// }
///
/// let mut g = Generator::load("smollm2-135m-instruct", None)?;
/// let cities = Extractor::<City>::new(&g)?;
/// let c = cities.extract(&mut g, "Paris is the capital of France.")?;
/// println!("{} ({})", c.name, c.country);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Extractor<T> {
    schema_text: String,
    compiled: Arc<CompiledGrammar>,
    _type: PhantomData<fn() -> T>,
}

impl<T: JsonSchema + DeserializeOwned> Extractor<T> {
    /// Compiles `T`'s JSON Schema (from `schemars`) for `generator`'s vocabulary. The output
    /// is compact JSON and objects have only the declared properties.
    ///
    /// # Errors
    /// [`ExtractError::Schema`] when the schema uses something rein cannot compile.
    pub fn new(generator: &Generator) -> Result<Extractor<T>, ExtractError> {
        let schema = schemars::schema_for!(T).to_value();
        let schema_err = |source| ExtractError::Schema {
            type_name: std::any::type_name::<T>(),
            source,
        };
        let opts = Options::default()
            .with_whitespace(Whitespace::Compact)
            .with_strict(true)
            .with_trailing_zeros(false);
        let grammar = json_schema::compile(&schema, &opts).map_err(schema_err)?;
        let compiled = generator.compiler().grammar(&grammar).map_err(schema_err)?;
        Ok(Extractor {
            schema_text: schema.to_string(),
            compiled: Arc::new(compiled),
            _type: PhantomData,
        })
    }

    /// The JSON Schema shown to the model.
    pub fn schema(&self) -> &str {
        &self.schema_text
    }

    /// Extracts a `T` from `text` (the user message) with the default options.
    ///
    /// # Errors
    /// See [`ExtractError`].
    pub fn extract(&self, generator: &mut Generator, text: &str) -> Result<T, ExtractError> {
        self.extract_with(generator, text, &ExtractOptions::new())
            .map(|e| e.value)
    }

    /// Extracts a `T` with `options`, returning the generation's statistics too.
    ///
    /// # Errors
    /// See [`ExtractError`].
    pub fn extract_with(
        &self,
        generator: &mut Generator,
        text: &str,
        options: &ExtractOptions,
    ) -> Result<Extraction<T>, ExtractError> {
        let mut prompt = if options.chat {
            Prompt::chat(text)
        } else {
            Prompt::raw(text)
        };
        if let Some(s) = &options.system {
            prompt = prompt.with_system(s.clone());
        }
        if options.schema_in_prompt {
            prompt = prompt.with_schema(self.schema_text.clone());
        }
        let generation = generator.generate(&prompt, Some(&self.compiled), &options.config)?;
        if generation.finish == Finish::Length {
            return Err(ExtractError::Truncated {
                max_tokens: options.config.get_max_tokens(),
                text: generation.text,
            });
        }
        let parsed = serde_json::from_str(&generation.text)
            .map(integral_numbers_as_integers)
            .and_then(serde_json::from_value);
        match parsed {
            Ok(value) => Ok(Extraction { value, generation }),
            Err(source) => Err(ExtractError::Deserialize {
                type_name: std::any::type_name::<T>(),
                text: generation.text,
                source,
            }),
        }
    }
}

/// JSON Schema counts `193.0` as an integer, serde's integer types do not: numbers with a
/// zero fraction become integers (when they fit in 64 bits).
fn integral_numbers_as_integers(v: Value) -> Value {
    match v {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => {
                Value::from(f as i64)
            }
            Some(f) if f.fract() == 0.0 && f >= 0.0 && f < u64::MAX as f64 => Value::from(f as u64),
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(integral_numbers_as_integers).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, integral_numbers_as_integers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Extracts a value of type `T` from `text`: generation is constrained by `T`'s JSON
/// Schema, the schema is also shown to instruct models, and the output is deserialized.
///
/// ```no_run
/// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
/// struct Person {
///     name: String,
///     age: u8,
/// }
///
/// let mut g = rein::Generator::load("smollm2-135m-instruct", None)?;
/// let p: Person = rein::extract(&mut g, "Ada Lovelace died at 36.")?;
/// println!("{p:?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// See [`ExtractError`].
pub fn extract<T: JsonSchema + DeserializeOwned>(
    generator: &mut Generator,
    text: &str,
) -> Result<T, ExtractError> {
    Extractor::<T>::new(generator)?.extract(generator, text)
}
