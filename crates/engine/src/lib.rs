//! rein's constraint engine: token masks from grammars.
//!
//! A [`Compiler`] turns a [`Grammar`](rein_grammar::Grammar) (from a regex,
//! GBNF or any other front-end) and a [`Vocabulary`](rein_vocab::Vocabulary)
//! into an immutable [`CompiledGrammar`], shared by many [`Matcher`]s, one
//! per output sequence. At every decoding step the matcher computes a
//! [`TokenMask`]: exactly the tokens after which the output can still be
//! completed to a string of the grammar's language (sound and complete,
//! including non-canonical tokenizations). EOS is allowed exactly when the
//! output so far is complete.
//!
//! ```
//! use std::sync::Arc;
//! use rein_engine::{Compiler, Matcher, TokenMask};
//! use rein_vocab::{TokenId, Vocabulary};
//!
//! // A tiny vocabulary: "a", "b", "ab", and EOS (empty bytes) as id 3.
//! let vocab = Arc::new(Vocabulary::from_token_bytes(
//!     vec![b"a".to_vec(), b"b".to_vec(), b"ab".to_vec(), Vec::new()],
//!     vec![TokenId(3)],
//! ));
//! let g = Arc::new(Compiler::new(&vocab).regex("a+b").unwrap());
//! let mut m = Matcher::new(g);
//! let mut mask = TokenMask::new(vocab.len());
//! m.compute_mask(&mut mask).unwrap();
//! assert!(mask.is_allowed(TokenId(0)) && mask.is_allowed(TokenId(2)));
//! assert!(!mask.is_allowed(TokenId(1)) && !mask.is_allowed(TokenId(3)));
//! m.commit(TokenId(2)).unwrap(); // "ab"
//! assert!(m.is_accepting() && m.is_finished());
//! ```
//!
//! # How it works
//! Lowering finds the regular parts of the grammar and makes each a lexeme;
//! the lexer is one lazily built DFA over all lexemes, its states sets of
//! NFA states; an Earley parser over lexemes handles recursion, left recursion
//! and ambiguity; the mask is a depth-first walk of the vocabulary's token
//! trie that carries the lexer state and skips dead subtrees.
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod captures;
mod cfg;
mod compiler;
mod error;
mod lexer;
mod lower;
mod mask;
mod matcher;
mod parser;
mod slices;

pub use captures::{Capture, CaptureError};
pub use compiler::{CompiledGrammar, Compiler, Config, GrammarStats, Limits};
pub use error::MaskError;
pub use mask::TokenMask;
pub use matcher::{compute_masks, Matcher, MatcherStats};
pub use rein_grammar::GrammarError;
pub use rein_vocab::{TokenId, Vocabulary};
