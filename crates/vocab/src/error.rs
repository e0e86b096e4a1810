//! The error type of this crate.

/// Everything that can go wrong while loading a vocabulary or encoding text.
///
/// Messages are lowercase and name the file (or origin) and what is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VocabError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A tokenizer.json could not be parsed.
    #[error("{origin}: not a valid tokenizer.json: {message}")]
    Tokenizer {
        /// The file or other origin of the tokenizer.
        origin: String,
        /// What the parser said.
        message: String,
    },
    /// A GGUF file could not be parsed.
    #[error("{origin}: not a valid GGUF file: {message}")]
    Gguf {
        /// The file.
        origin: String,
        /// What the reader said.
        message: String,
    },
    /// A GGUF file lacks a required metadata key or has one of the wrong
    /// type.
    #[error("{origin}: GGUF metadata key {key}: {message}")]
    GgufMetadata {
        /// The file.
        origin: String,
        /// The metadata key.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The tokenizer uses a model or decoder this crate cannot map to bytes.
    #[error("{origin}: unsupported tokenizer: {message}")]
    Unsupported {
        /// The file or other origin.
        origin: String,
        /// What is not supported.
        message: String,
    },
    /// A token id is too large for [`TokenId`](crate::TokenId).
    #[error("{origin}: {count} token ids exceed the limit of {limit}")]
    TooManyTokens {
        /// The file or other origin.
        origin: String,
        /// The number of ids.
        count: usize,
        /// The maximum number of ids.
        limit: usize,
    },
    /// The token trie would exceed its node limit.
    #[error("{origin}: the token trie needs {nodes} nodes, more than the limit of {limit}")]
    TrieTooLarge {
        /// The file or other origin.
        origin: String,
        /// The number of nodes needed.
        nodes: usize,
        /// The maximum number of nodes.
        limit: usize,
    },
    /// [`Vocabulary::load`](crate::Vocabulary::load) got neither a file nor
    /// a known name.
    #[error("'{input}' is neither an existing file nor a known tokenizer or model name (known tokenizers: {tokenizers}; known models: {models})")]
    UnknownName {
        /// What the caller passed.
        input: String,
        /// The known tokenizer names, comma separated.
        tokenizers: String,
        /// The known model names, comma separated.
        models: String,
    },
    /// A name or path could not be resolved to a file.
    #[error(transparent)]
    Asset(#[from] rein_assets::AssetError),
    /// Encoding text failed.
    #[error("cannot encode text: {message}")]
    Encode {
        /// What went wrong.
        message: String,
    },
    /// The text contains bytes no token can produce (only for vocabularies
    /// without a tokenizer, which encode by greedy longest match).
    #[error("cannot encode text: no token starts with the byte 0x{byte:02x} at offset {offset}")]
    NoTokenForByte {
        /// The byte offset in the text.
        offset: usize,
        /// The byte.
        byte: u8,
    },
}
