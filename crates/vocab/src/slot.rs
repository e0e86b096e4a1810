//! A tokenizer that may still be being built on another thread.

use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;

type Built = Result<tokenizers::Tokenizer, String>;

/// Holds a [`tokenizers::Tokenizer`], either ready or being built by a
/// background thread that is joined on first use.
///
/// Building a `tokenizers::Tokenizer` from a large `tokenizer.json` takes
/// most of the load time (measured: 0.5 s for Llama 3, 1.3 s for Gemma 3),
/// yet the byte table and trie do not need it. So the
/// build runs in the background and a mask-only user never waits for it.
pub(crate) struct TokenizerSlot {
    ready: OnceLock<Built>,
    pending: Mutex<Option<JoinHandle<Built>>>,
}

impl TokenizerSlot {
    pub(crate) fn ready(tok: tokenizers::Tokenizer) -> Self {
        TokenizerSlot {
            ready: OnceLock::from(Ok(tok)),
            pending: Mutex::new(None),
        }
    }

    /// Runs `build` on a new thread. If no thread can be spawned, runs it
    /// right away.
    pub(crate) fn background(build: impl FnOnce() -> Built + Send + 'static) -> Self {
        let slot = TokenizerSlot {
            ready: OnceLock::new(),
            pending: Mutex::new(None),
        };
        let build = std::sync::Arc::new(Mutex::new(Some(build)));
        let job = build.clone();
        let spawned = std::thread::Builder::new()
            .name("rein-tokenizer".into())
            .spawn(
                move || match job.lock().unwrap_or_else(PoisonError::into_inner).take() {
                    Some(f) => f(),
                    None => Err("the tokenizer build did not run".into()),
                },
            );
        match spawned {
            Ok(handle) => {
                *slot.pending.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle)
            }
            Err(_) => {
                let f = build.lock().unwrap_or_else(PoisonError::into_inner).take();
                let _ = slot.ready.set(match f {
                    Some(f) => f(),
                    None => Err("the tokenizer build did not run".into()),
                });
            }
        }
        slot
    }

    /// The tokenizer, waiting for the background build if needed, or the
    /// reason it could not be built.
    pub(crate) fn get(&self) -> Result<&tokenizers::Tokenizer, &str> {
        self.ready
            .get_or_init(|| {
                let handle = self
                    .pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                match handle {
                    Some(h) => h
                        .join()
                        .unwrap_or_else(|_| Err("the tokenizer parser panicked".into())),
                    None => Err("the tokenizer build did not run".into()),
                }
            })
            .as_ref()
            .map_err(String::as_str)
    }
}
