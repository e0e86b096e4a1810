//! SmolLM2-135M against candle-transformers' `quantized_llama`, both with f32 weights.
//! The model comes from `rein-assets`. Alone in its test binary because it sets
//! `CANDLE_DEQUANTIZE_ALL`, which candle reads per thread when building a `QMatMul`.

mod common;

use candle_core::quantized::gguf_file;
use candle_core::Tensor;
use candle_transformers::models::quantized_llama::ModelWeights;
use common::{max_abs_diff, model_path};
use rein_candle::{Device, LoadConfig, Model};

#[test]
fn smollm2_matches_candle_transformers_quantized_llama() {
    let path = model_path("smollm2-135m-instruct");
    // With quantized kernels both implementations are chaotic at the 8-bit activation
    // rounding level on this model (differences ~1 logit), so compare in f32.
    std::env::set_var("CANDLE_DEQUANTIZE_ALL", "1");
    let mut ours =
        Model::load_gguf_with(&path, &Device::Cpu, LoadConfig::new().dequantize(true)).unwrap();
    let mut f = std::fs::File::open(&path).unwrap();
    let ct = gguf_file::Content::read(&mut f).unwrap();
    let mut theirs = ModelWeights::from_gguf(ct, &mut f, &candle_core::Device::Cpu).unwrap();
    let mut run = |t: &[u32], p: usize| -> Vec<f32> {
        let x = Tensor::new(t, &candle_core::Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        theirs
            .forward(&x, p)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    // "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    let prompt = [
        1u32, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198,
    ];
    let a = ours.forward(&prompt, 0).unwrap();
    let b = run(&prompt, 0);
    let d0 = max_abs_diff(&a, &b);
    let a = ours.forward(&[504], prompt.len()).unwrap();
    let b = run(&[504], prompt.len());
    let d1 = max_abs_diff(&a, &b);
    eprintln!("vs quantized_llama (f32 weights): prefill {d0}, decode {d1}");
    // f32 summation order and f32-vs-f64 rotary angles only; logits are O(10-30).
    assert!(d0 < 1e-3 && d1 < 1e-3, "prefill {d0}, decode {d1}");
}
