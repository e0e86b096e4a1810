//! Runtime errors of the matcher.

/// An error while computing masks or advancing a [`Matcher`](crate::Matcher).
///
/// Build-time problems are [`GrammarError`](rein_grammar::GrammarError)s;
/// these are the errors of the sampling loop.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MaskError {
    /// `commit` was given a token the mask does not allow. The matcher is
    /// left as it was.
    #[error(
        "token {token} ({text:?}) is not allowed here: the output stops matching at byte {offset}"
    )]
    TokenNotAllowed {
        /// The token id.
        token: u32,
        /// The token's bytes, lossily decoded.
        text: String,
        /// Byte offset in the whole output where the first byte that does
        /// not fit would have been written.
        offset: usize,
    },
    /// A token id outside the vocabulary.
    #[error("token {token} is outside the vocabulary of {vocab_size} tokens")]
    TokenOutOfRange {
        /// The token id.
        token: u32,
        /// The mask width.
        vocab_size: usize,
    },
    /// The matcher already accepted an end-of-sequence token.
    #[error("the output is already finished (an end-of-sequence token was committed)")]
    Finished,
    /// `rollback` asked for more tokens than were committed.
    #[error("cannot roll back {requested} tokens: only {available} were committed")]
    Rollback {
        /// Tokens asked for.
        requested: usize,
        /// Tokens committed.
        available: usize,
    },
    /// The lexer automaton grew past its configured number of states.
    #[error("the lexer automaton reached {states} states, the limit is {limit}")]
    LexerLimit {
        /// States built.
        states: usize,
        /// The configured limit.
        limit: usize,
    },
    /// [`compute_masks`](crate::compute_masks) got fewer masks than
    /// matchers (reported for the matchers without a mask).
    #[error("{matchers} matchers but {masks} masks: one mask per matcher is needed")]
    BatchMismatch {
        /// Matchers given.
        matchers: usize,
        /// Masks given.
        masks: usize,
    },
    /// A matcher's memory grew past its configured limit.
    #[error("the {what} reached {value} bytes, the limit is {limit}")]
    MemoryLimit {
        /// What grew.
        what: String,
        /// Its size in bytes (at least).
        value: usize,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// One step took more parser work than the configured budget.
    #[error("the mask computation exceeded its work budget of {limit} steps")]
    WorkBudget {
        /// The configured limit.
        limit: u64,
    },
}
