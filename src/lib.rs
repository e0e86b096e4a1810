//! rein: constrained generation.
pub use rein_assets as assets;
pub use rein_engine as engine;
pub use rein_grammar as grammar;
pub use rein_vocab as vocab;
