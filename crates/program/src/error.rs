//! Errors of templates, programs and runs.

pub use rein_grammar::Location;

/// An error parsing, building, compiling or running a program.
///
/// Errors found in a template carry its line:col and render the line with a
/// caret under the problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProgramError {
    /// The template does not follow the template syntax.
    #[error("template syntax error at {}:{}: {message}\n{location}", location.line, location.col)]
    Syntax {
        /// What is wrong.
        message: String,
        /// Where.
        location: Location,
    },
    /// A hole is wrong: an unknown kind or option, a bad option value, or a
    /// regex, grammar or schema inside it that does not compile.
    #[error("{message}{}", at(location))]
    Hole {
        /// What is wrong.
        message: String,
        /// Where, for holes written in a template.
        location: Option<Location>,
    },
    /// `{{name}}` names neither a variable passed in nor an earlier capture.
    #[error(
        "unknown variable `{name}`: pass it in or capture it earlier{}",
        at(location)
    )]
    UnknownVariable {
        /// The variable's name.
        name: String,
        /// Where it is used, for templates.
        location: Option<Location>,
    },
    /// Two holes capture into the same name, or a capture shadows a
    /// variable passed in.
    #[error(
        "the name `{name}` is captured twice or also passed in as a variable{}",
        at(location)
    )]
    DuplicateName {
        /// The name.
        name: String,
        /// Where the second one is, for templates.
        location: Option<Location>,
    },
    /// A file named in a hole could not be read.
    #[error("cannot read {path}: {source}{}", at(location))]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
        /// The hole naming it.
        location: Option<Location>,
    },
    /// The compiled program does not fit the engine (limits, an empty
    /// language).
    #[error("compiling the program: {0}")]
    Compile(#[from] rein_grammar::GrammarError),
    /// Generation failed.
    #[cfg(feature = "candle")]
    #[error(transparent)]
    Generate(Box<rein_candle::GenerateError>),
    /// The model ran out of tokens (or context) before the program was
    /// complete.
    #[error("generation stopped after {tokens} tokens before the program was complete; output so far: {text:?}")]
    Truncated {
        /// Tokens generated.
        tokens: usize,
        /// The output so far.
        text: String,
    },
    /// Captures could not be read off the output.
    #[error("extracting captures: {0}")]
    Capture(#[from] rein_engine::CaptureError),
    /// The captures do not deserialize into the requested type.
    #[error("captures do not fit the requested type: {0}")]
    Deserialize(#[from] serde_json::Error),
}

#[cfg(feature = "candle")]
impl From<rein_candle::GenerateError> for ProgramError {
    fn from(e: rein_candle::GenerateError) -> ProgramError {
        ProgramError::Generate(Box::new(e))
    }
}

fn at(location: &Option<Location>) -> String {
    match location {
        Some(l) => format!(" at {}:{}\n{l}", l.line, l.col),
        None => String::new(),
    }
}
