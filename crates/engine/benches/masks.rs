//! Compile time and time per mask for the JSON GBNF grammar
//! (`grammars/json.gbnf`) at named states, on the llama3 and gemma3
//! vocabularies.
//!
//! ```text
//! cargo bench -p rein-engine --bench masks
//! ```
//!
//! Each state is the matcher after committing a prefix; the measured
//! operation is one `compute_mask` there, on a fresh copy of the matcher
//! per iteration: the lexer's caches are warm (as during generation after
//! a few steps) but nothing of an earlier mask at the same state is reused.

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use rein_engine::{Compiler, Matcher, TokenMask, Vocabulary};

const STATES: &[(&str, &str)] = &[
    ("start", ""),
    ("inside a string", "{\"name\": \"Ada Lov"),
    ("between values", "{\"name\": \"Ada\", \"tags\": [1, 2"),
    ("after a key", "{\"name\""),
    ("inside a number", "{\"n\": [-12.5"),
    ("nested", "[[[{\"a\": [{\"b\": "),
];

fn json_gbnf() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../grammars/json.gbnf");
    std::fs::read_to_string(path).expect("grammars/json.gbnf")
}

fn bench(c: &mut Criterion) {
    let src = json_gbnf();
    for name in ["llama3", "gemma3"] {
        let vocab = Arc::new(Vocabulary::load(name).expect("vocabulary"));
        let mut group = c.benchmark_group(format!("json-gbnf/{name}"));
        group.bench_function("compile", |b| {
            b.iter(|| Compiler::new(&vocab).gbnf(&src).unwrap());
        });
        let g = Arc::new(Compiler::new(&vocab).gbnf(&src).unwrap());
        let mut mask = TokenMask::new(vocab.len());
        for (state, prefix) in STATES {
            let mut m = Matcher::new(g.clone());
            m.commit_bytes(prefix.as_bytes()).unwrap().unwrap();
            // Warm the lexer caches, then drop what the mask memoized.
            m.compute_mask(&mut mask).unwrap();
            m.commit_bytes(b"").unwrap().unwrap();
            group.bench_with_input(BenchmarkId::new("mask", state), state, |b, _| {
                b.iter_batched_ref(
                    || m.clone(),
                    |m| m.compute_mask(&mut mask).unwrap(),
                    BatchSize::SmallInput,
                );
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
