//! The grammar IR of rein and its front-ends.
//!
//! Every constraint rein understands (a regex, a GBNF grammar, a JSON Schema,
//! a templated program) is first turned into one [`Grammar`]: named rules
//! whose definitions are regular-expression-like [`Expr`] trees over text
//! literals, regexes and rule references. The engine (`rein-engine`) then
//! compiles that IR against a vocabulary into token masks.
//!
//! ```
//! use rein_grammar::{Expr, Grammar};
//!
//! // digits ::= [0-9]+ ; root ::= digits ("," digits)*
//! let mut g = Grammar::new();
//! let digits = g.add_rule("digits", Expr::regex(rein_grammar::regex::parse_hir(
//!     "[0-9]+", &Default::default()).unwrap()));
//! g.start = g.add_rule("root", Expr::seq(vec![
//!     Expr::Rule(digits),
//!     Expr::repeat(Expr::seq(vec![Expr::literal(","), Expr::Rule(digits)]), 0, None),
//! ]));
//! assert!(g.validate().is_ok());
//! ```
//!
//! Front-ends:
//! - [`regex`]: Rust regex syntax, matched against the whole output;
//! - [`gbnf`]: llama.cpp's GBNF grammar format.
//!
//! [`analysis`] holds checks over the IR shared by every front-end (which
//! rules can never finish, which derive the empty string, reachability).
//!
//! # Features
//!
//! - `testing` (off by default): the `testing` module, a reference
//!   recognizer and a random sampler over the IR, for testing engines.
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod analysis;
pub mod error;
pub mod gbnf;
pub mod ir;
pub mod json_schema;
pub mod regex;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{text_from_bytes, GrammarError, Location};
pub use ir::{Expr, Grammar, Rule, RuleId};
pub use regex_syntax::hir::Hir;
