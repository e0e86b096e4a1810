//! Gemma 3 270M (Q4_K_M, from `rein-assets`) against an independent f32 reference, chunked
//! prefill, and the sliding window.

mod common;

use std::time::Instant;

use common::{argmax, max_abs_diff, model_path, top_k};
use rein_candle::{Architecture, ChatTemplate, Device, LoadConfig, Model};

/// The default configuration: quantized weights, f32 arithmetic. Chunked and one-token
/// feeding then differ only in f32 summation order.
fn load() -> Model {
    load_with(LoadConfig::new())
}

fn load_with(config: LoadConfig) -> Model {
    let path = model_path("gemma3-270m");
    let t = Instant::now();
    let m = Model::load_gguf_with(&path, &Device::Cpu, config).unwrap();
    eprintln!("loaded {} in {:.2?}", path.display(), t.elapsed());
    m
}

struct Reference {
    prompt: Vec<u32>,
    top: Vec<(usize, f32)>,
}

fn reference() -> Reference {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gemma3-270m-logits.json"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let prompt = json["prompt_token_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let top = json["top20"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_u64().unwrap() as usize,
                e["logit"].as_f64().unwrap() as f32,
            )
        })
        .collect();
    Reference { prompt, top }
}

/// Tolerance with f32 weights ([`LoadConfig::dequantize`]): the reference is a float32
/// numpy pass over the same dequantized weights, printed with 4 decimals (rounding error
/// 5e-5); what remains is f32 summation order over 18 layers. Measured max abs diff on the
/// top 20: 6e-5. 1e-3 leaves >10x margin.
const F32_TOL: f32 = 1e-3;

/// Tolerance with quantized weights (the default): the same f32 arithmetic as with f32
/// weights, grouped differently (`d·Σq·x + m·Σx` per block instead of `Σ(d·q + m)·x`), so the
/// same summation-order argument as [`F32_TOL`] applies; measured max abs diff 6e-5.
/// (candle's quantized kernels, which round activations to 8 bits, were off by 0.45 here.)
const QUANTIZED_TOL: f32 = 1e-3;

/// Tolerance between two ways of feeding the same tokens with f32 weights: only the f32
/// summation order differs (matrix shapes differ). Measured max 2e-5 over the full
/// 262,144 logits (|logit| < 30).
const TIGHT_TOL: f32 = 1e-3;

/// Max abs diff between our logits and the reference top 20; prints them.
fn compare(logits: &[f32], r: &Reference) -> f32 {
    let mut max_diff = 0f32;
    for &(id, want) in &r.top {
        max_diff = max_diff.max((logits[id] - want).abs());
    }
    max_diff
}

#[test]
fn gemma3_f32_matches_independent_reference_exactly() {
    let mut m = load_with(LoadConfig::new().dequantize(true));
    let r = reference();
    let logits = m.forward(&r.prompt, 0).unwrap();
    let max_diff = compare(&logits, &r);
    eprintln!("f32 weights: max abs diff on the reference top 20: {max_diff}");
    let want: Vec<usize> = r.top.iter().map(|&(id, _)| id).collect();
    assert_eq!(top_k(&logits, 20), want);
    assert!(max_diff < F32_TOL, "max abs diff {max_diff}");
}

#[test]
fn gemma3_quantized_matches_independent_reference() {
    let mut m = load();
    assert_eq!(m.architecture(), Architecture::Gemma3);
    assert_eq!(m.vocab_size(), 262_144);
    assert_eq!(m.context_length(), 32_768);
    assert_eq!(m.chat_template(), Some(ChatTemplate::Gemma));
    assert_eq!(m.bos_token(), Some(2));
    assert!(
        m.eos_tokens().contains(&1) && m.eos_tokens().contains(&106),
        "{:?}",
        m.eos_tokens()
    );
    // Quantized weights stay small: 294 MB in memory (f32: 1.07 GB).
    assert!(
        m.weights_bytes() < 320_000_000,
        "{} bytes",
        m.weights_bytes()
    );

    let r = reference();
    let logits = m.forward(&r.prompt, 0).unwrap();
    let max_diff = compare(&logits, &r);
    eprintln!("quantized: max abs diff on the reference top 20: {max_diff}");
    let want: Vec<usize> = r.top.iter().map(|&(id, _)| id).collect();
    assert_eq!(top_k(&logits, 20), want);
    assert!(max_diff < QUANTIZED_TOL, "max abs diff {max_diff}");

    // Logits of a few tokens only (the masked output projection) equal the full ones.
    m.clear_cache();
    let h = m.forward_hidden(&r.prompt, 0).unwrap();
    let ids: Vec<u32> = want.iter().map(|&i| i as u32).chain([0, 262_143]).collect();
    let mut some = vec![0f32; ids.len()];
    m.logits_of(&h, &ids, &mut some).unwrap();
    for (&id, &v) in ids.iter().zip(&some) {
        assert_eq!(v, logits[id as usize], "token {id}");
    }
}

#[test]
fn gemma3_chunked_prefill_equals_one_prefill() {
    let mut m = load();
    let prompt = reference().prompt;
    let whole = m.forward(&prompt, 0).unwrap();
    for chunk in [1, 2, 3] {
        m.clear_cache();
        let mut last = Vec::new();
        let mut pos = 0;
        for c in prompt.chunks(chunk) {
            last = m.forward(c, pos).unwrap();
            pos += c.len();
        }
        let d = max_abs_diff(&whole, &last);
        eprintln!("chunks of {chunk}: max abs diff {d}");
        // f32 summation order only (different matrix shapes): measured <= 1e-4.
        assert!(d < TIGHT_TOL, "chunks of {chunk}: max abs diff {d}");
        assert_eq!(argmax(&whole), argmax(&last));
    }
}

#[test]
fn gemma3_multi_token_forward_after_prefill_and_rollback() {
    let mut m = load();
    let prompt = reference().prompt;
    m.forward(&prompt, 0).unwrap();
    let forced = [506u32, 5279, 529, 7001, 563]; // " the capital of France is"
    let n = prompt.len();
    let multi = m.forward(&forced, n).unwrap();
    // Roll back the forced tokens and feed them one at a time.
    m.truncate_cache(n).unwrap();
    let mut single = Vec::new();
    for (i, &t) in forced.iter().enumerate() {
        single = m.forward(&[t], n + i).unwrap();
    }
    let d = max_abs_diff(&multi, &single);
    eprintln!("multi-token vs one at a time: max abs diff {d}");
    assert!(d < TIGHT_TOL, "max abs diff {d}");
    assert_eq!(argmax(&multi), argmax(&single));
}

#[test]
fn gemma3_sliding_window_decode_matches_re_prefill() {
    let mut m = load();
    // 600 positions: local layers (window 512) must drop the oldest keys.
    let n = 600;
    let tokens: Vec<u32> = (0..n as u32)
        .map(|i| if i == 0 { 2 } else { 1000 + (i * 7919) % 5000 })
        .collect();
    let t = Instant::now();
    m.forward(&tokens[..n - 1], 0).unwrap();
    let decoded = m.forward(&tokens[n - 1..], n - 1).unwrap();
    m.clear_cache();
    let prefilled = m.forward(&tokens, 0).unwrap();
    eprintln!("two {n}-token passes in {:.2?}", t.elapsed());
    let d = max_abs_diff(&decoded, &prefilled);
    eprintln!("decode at {} vs re-prefill: max abs diff {d}", n - 1);
    assert!(d < TIGHT_TOL, "max abs diff {d}");
    assert_eq!(argmax(&decoded), argmax(&prefilled));
}
