//! Llama / Qwen 2 / Qwen 3 checked against candle-transformers' implementations on tiny
//! random-weight GGUF files written by the test, both sides with f32 weights (quantized
//! kernels add 8-bit activation rounding noise of ~0.2 logits on these files).
//!
//! Alone in its test binary because it sets `CANDLE_DEQUANTIZE_ALL`, which candle reads per
//! thread when building a `QMatMul`.

mod common;

use std::path::Path;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use common::{max_abs_diff, scratch, write_tiny_gguf, TINY_VOCAB};
use rein_candle::{Architecture, ChatTemplate, LoadConfig, Model};

/// candle-transformers' model for `arch`, as a `forward(tokens, pos) -> logits` closure.
type Reference = Box<dyn FnMut(&[u32], usize) -> Vec<f32>>;

fn reference(arch: &str, path: &Path) -> Reference {
    use candle_transformers::models::{quantized_llama, quantized_qwen2, quantized_qwen3};
    let mut file = std::fs::File::open(path).unwrap();
    let ct = gguf_file::Content::read(&mut file).unwrap();
    let dev = Device::Cpu;
    let input = |t: &[u32]| Tensor::new(t, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    let out = |t: Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    match arch {
        "llama" => {
            let mut m = quantized_llama::ModelWeights::from_gguf(ct, &mut file, &dev).unwrap();
            Box::new(move |t, p| out(m.forward(&input(t), p).unwrap()))
        }
        "qwen2" => {
            let mut m = quantized_qwen2::ModelWeights::from_gguf(ct, &mut file, &dev).unwrap();
            Box::new(move |t, p| out(m.forward(&input(t), p).unwrap()))
        }
        "qwen3" => {
            let mut m = quantized_qwen3::ModelWeights::from_gguf(ct, &mut file, &dev).unwrap();
            Box::new(move |t, p| out(m.forward(&input(t), p).unwrap()))
        }
        _ => unreachable!(),
    }
}

/// Our forward pass matches candle-transformers' on a prefill followed by two one-token
/// decodes (the paths of theirs that are correct), and our chunked feeding matches ours
/// token by token.
fn check_against_candle_transformers(arch: &str, expected: Architecture) {
    let path = scratch(&format!("tiny-{arch}.gguf"));
    write_tiny_gguf(&path, arch, 42);
    std::env::set_var("CANDLE_DEQUANTIZE_ALL", "1");
    let config = LoadConfig::new().dequantize(true);
    let mut ours = Model::load_gguf_with(&path, &Device::Cpu, config).unwrap();
    assert_eq!(ours.architecture(), expected);
    assert_eq!(ours.vocab_size(), TINY_VOCAB);
    assert_eq!(ours.context_length(), 256);
    assert_eq!(ours.chat_template(), Some(ChatTemplate::ChatMl));
    let mut theirs = reference(arch, &path);

    let prompt: Vec<u32> = vec![3, 141, 59, 26, 5, 35, 89, 79, 32, 38, 46];
    // f32 everywhere: differences are summation order only (logits here are O(1..20)).
    // Measured: llama, qwen2 < 1e-4; qwen3 2.7e-3 (its CPU path uses candle-nn's
    // flash-attention kernel with an online softmax). With quantized kernels the two sides
    // round activations differently and drift apart by ~0.2 here.
    let tol = 1e-2;
    let a = ours.forward(&prompt, 0).unwrap();
    let b = theirs(&prompt, 0);
    eprintln!("{arch} prefill: max abs diff {}", max_abs_diff(&a, &b));
    assert!(
        max_abs_diff(&a, &b) < tol,
        "{arch} prefill: {}",
        max_abs_diff(&a, &b)
    );
    let mut pos = prompt.len();
    for t in [7u32, 300] {
        let a = ours.forward(&[t], pos).unwrap();
        let b = theirs(&[t], pos);
        assert!(
            max_abs_diff(&a, &b) < tol,
            "{arch} decode at {pos}: {}",
            max_abs_diff(&a, &b)
        );
        pos += 1;
    }

    // Multi-token forward after the prefill and a decode == one token at a time.
    let forced = [11u32, 12, 13, 14];
    let chunked = ours.forward(&forced, pos).unwrap();
    ours.truncate_cache(pos).unwrap();
    let mut single = Vec::new();
    for (i, &t) in forced.iter().enumerate() {
        single = ours.forward(&[t], pos + i).unwrap();
    }
    assert!(
        max_abs_diff(&chunked, &single) < 1e-4,
        "{arch}: {}",
        max_abs_diff(&chunked, &single)
    );
}

#[test]
fn llama_matches_candle_transformers() {
    check_against_candle_transformers("llama", Architecture::Llama);
}

#[test]
fn qwen2_matches_candle_transformers() {
    check_against_candle_transformers("qwen2", Architecture::Qwen2);
}

#[test]
fn qwen3_matches_candle_transformers() {
    check_against_candle_transformers("qwen3", Architecture::Qwen3);
}
