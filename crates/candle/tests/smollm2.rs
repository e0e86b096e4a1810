//! SmolLM2-135M-Instruct (Llama architecture, Q4_1, from `rein-assets`).

mod common;

use std::path::Path;
use std::time::Instant;

use candle_core::quantized::gguf_file::{self, Value};
use common::{argmax, max_abs_diff, model_path};
use rein_candle::{Architecture, ChatTemplate, Device, LoadConfig, Model};

/// ChatML prompt "What is the capital of France?" with the GGUF chat template's default
/// system message:
/// `<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging
/// Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n`.
/// Obtained once with a 40-line Python byte-level BPE over the GGUF's own
/// `tokenizer.ggml.tokens` / `tokenizer.ggml.merges` (GPT-2 pre-tokenization), so this test
/// depends on no tokenizer crate.
const PROMPT: [u32; 37] = [
    1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407,
    19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531,
    198,
];

fn load(path: &Path, config: LoadConfig) -> Model {
    let t = Instant::now();
    let m = Model::load_gguf_with(path, &Device::Cpu, config).unwrap();
    eprintln!("loaded {} in {:.2?}", path.display(), t.elapsed());
    m
}

/// Token id -> text for ASCII byte-level BPE tokens (Ġ is a space, Ċ a newline).
fn detokenizer(path: &Path) -> impl Fn(&[u32]) -> String {
    let mut f = std::fs::File::open(path).unwrap();
    let ct = gguf_file::Content::read(&mut f).unwrap();
    let tokens: Vec<String> = match &ct.metadata["tokenizer.ggml.tokens"] {
        Value::Array(a) => a.iter().map(|v| v.to_string().unwrap().clone()).collect(),
        _ => panic!("no tokens"),
    };
    move |ids: &[u32]| {
        ids.iter()
            .map(|&i| tokens[i as usize].replace('Ġ', " ").replace('Ċ', "\n"))
            .collect()
    }
}

#[test]
fn smollm2_greedy_answer_mentions_paris() {
    let path = model_path("smollm2-135m-instruct");
    // Default config: quantized weights, f32 arithmetic.
    let mut m = load(&path, LoadConfig::new());
    // Quantized weights stay small: 111 MB in memory (f32: 538 MB).
    assert!(
        m.weights_bytes() < 120_000_000,
        "{} bytes",
        m.weights_bytes()
    );
    assert_eq!(m.architecture(), Architecture::Llama);
    assert_eq!(m.vocab_size(), 49_152);
    assert_eq!(m.context_length(), 8192);
    assert_eq!(m.chat_template(), Some(ChatTemplate::ChatMl));
    assert_eq!(m.bos_token(), None);
    assert!(m.eos_tokens().contains(&2), "{:?}", m.eos_tokens());

    let mut logits = m.forward(&PROMPT, 0).unwrap();
    let mut out = Vec::new();
    let t = Instant::now();
    for _ in 0..24 {
        let next = argmax(&logits) as u32;
        if m.eos_tokens().contains(&next) {
            break;
        }
        out.push(next);
        logits = m.forward(&[next], m.cache_len()).unwrap();
    }
    let text = detokenizer(&path)(&out);
    eprintln!("{} tokens in {:.2?}: {text:?}", out.len(), t.elapsed());
    assert!(text.contains("Paris"), "{text:?}");
}

/// Quantized weights with f32 activations compute what f32 weights compute (candle's
/// quantized kernels, which round activations to 8 bits, lose the answer on this model).
#[test]
fn smollm2_quantized_weights_equal_f32_weights() {
    let path = model_path("smollm2-135m-instruct");
    let mut q = load(&path, LoadConfig::new());
    let mut f = load(&path, LoadConfig::new().dequantize(true));
    let a = q.forward(&PROMPT, 0).unwrap();
    let b = f.forward(&PROMPT, 0).unwrap();
    let d = max_abs_diff(&a, &b);
    eprintln!("quantized vs f32 weights: max abs logit diff {d}");
    // f32 summation order only; logits are O(10-30).
    assert!(d < 1e-3, "max abs diff {d}");
    assert_eq!(argmax(&a), argmax(&b));
}

#[test]
fn smollm2_chunked_prefill_and_multi_token_forward() {
    let path = model_path("smollm2-135m-instruct");
    // Chunking changes only the f32 summation order (see gemma3.rs).
    let mut m = load(&path, LoadConfig::new());
    let whole = m.forward(&PROMPT, 0).unwrap();
    for chunk in [1, 2, 3] {
        m.clear_cache();
        let mut last = Vec::new();
        let mut pos = 0;
        for c in PROMPT.chunks(chunk) {
            last = m.forward(c, pos).unwrap();
            pos += c.len();
        }
        let d = max_abs_diff(&whole, &last);
        eprintln!("chunks of {chunk}: max abs diff {d}");
        assert!(d < 1e-3, "chunks of {chunk}: max abs diff {d}");
    }
    // Prefill, decode one token, then fast-forward four forced tokens in one pass.
    let n = PROMPT.len();
    m.forward(&[504], n).unwrap();
    let forced = [3575u32, 282, 4649, 314]; // " capital of France is"
    let multi = m.forward(&forced, n + 1).unwrap();
    m.truncate_cache(n + 1).unwrap();
    let mut single = Vec::new();
    for (i, &t) in forced.iter().enumerate() {
        single = m.forward(&[t], n + 1 + i).unwrap();
    }
    let d = max_abs_diff(&multi, &single);
    eprintln!("multi-token vs one at a time: max abs diff {d}");
    assert!(d < 1e-3, "max abs diff {d}");
}
