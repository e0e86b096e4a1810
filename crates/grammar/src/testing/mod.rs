//! Test support: a reference [`Recognizer`] and a random [`Sampler`] over
//! the IR (feature `testing`).
//!
//! Both work on a plain BNF lowering of the [`Grammar`](crate::Grammar) that
//! shares no code with the engine, so engines can be tested against them:
//! the recognizer decides membership and prefixes, the sampler produces
//! members.
//!
//! ```
//! use rein_grammar::testing::{Recognizer, Sampler};
//!
//! let g = rein_grammar::gbnf::parse(r#"root ::= [a-z]+ "b""#).unwrap();
//! let r = Recognizer::new(&g);
//! assert!(r.accepts("ab") && r.accepts("aab") && r.accepts("bb"));
//! assert!(!r.accepts("a") && r.is_prefix("a"));
//! let text = Sampler::new(&g).sample(&mut rand::rng(), 10).unwrap();
//! assert!(r.accepts(&text));
//! ```

mod bnf;
mod recognizer;
mod sampler;

pub use recognizer::Recognizer;
pub use sampler::Sampler;

#[cfg(test)]
mod tests;
