//! Load time and one-token decoding speed of a GGUF model.
//!
//! ```text
//! cargo run --release -p rein-candle --example speed -- MODEL.gguf [quantized|f32] [TOKENS]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use rein_candle::{Device, LoadConfig, Model};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(
        args.next()
            .context("usage: speed MODEL.gguf [quantized|f32] [TOKENS]")?,
    );
    let config = match args.next().as_deref() {
        None | Some("quantized") => LoadConfig::new(),
        Some("f32") => LoadConfig::new().dequantize(true),
        Some(other) => anyhow::bail!("unknown mode {other:?}"),
    };
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(64);

    let t = Instant::now();
    let mut model = Model::load_gguf_with(&path, &Device::Cpu, config)?;
    println!(
        "load: {:.2?} ({}, vocab {}, weights {:.0} MB)",
        t.elapsed(),
        model.architecture(),
        model.vocab_size(),
        model.weights_bytes() as f64 / 1e6
    );

    let prompt: Vec<u32> = (0..32).map(|i| 100 + i * 13).collect();
    let t = Instant::now();
    let mut logits = model.forward(&prompt, 0)?;
    let prefill = t.elapsed();
    println!(
        "prefill: {} tokens in {:.2?} ({:.1} tok/s)",
        prompt.len(),
        prefill,
        prompt.len() as f64 / prefill.as_secs_f64()
    );

    let t = Instant::now();
    for _ in 0..n {
        let next = logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i as u32);
        logits = model.forward(&[next], model.cache_len())?;
    }
    let decode = t.elapsed();
    println!(
        "decode: {n} tokens in {:.2?} ({:.1} tok/s)",
        decode,
        n as f64 / decode.as_secs_f64()
    );
    Ok(())
}
