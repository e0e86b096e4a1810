//! Loading GGUF files written by the tests: the error cases.

mod common;

use candle_core::quantized::gguf_file::Value;
use candle_core::Device;
use common::{scratch, write_gguf, write_tiny_gguf};
use rein_candle::{Model, ModelError};

#[test]
fn unknown_architecture_is_an_error_listing_supported_ones() {
    let path = scratch("mamba.gguf");
    let md = [("general.architecture", Value::String("mamba".to_string()))];
    write_gguf(&path, &md, &[]);
    let err = Model::load_gguf(&path, &Device::Cpu).unwrap_err();
    match &err {
        ModelError::UnsupportedArchitecture { path: p, found } => {
            assert_eq!(p, &path);
            assert_eq!(found, "mamba");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("mamba.gguf"), "{msg}");
    assert!(msg.contains("llama, qwen2, qwen3, gemma3"), "{msg}");
}

#[test]
fn truncated_gguf_is_an_error_naming_the_file() {
    let full = scratch("full.gguf");
    write_tiny_gguf(&full, "llama", 1);
    let bytes = std::fs::read(&full).unwrap();
    // Cut in the tensor data, in the tensor table, and in the header.
    for keep in [bytes.len() - 100, bytes.len() / 2, 600, 40, 3, 0] {
        let path = scratch(&format!("truncated-{keep}.gguf"));
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let err = Model::load_gguf(&path, &Device::Cpu).unwrap_err();
        assert!(
            matches!(err, ModelError::InvalidGguf { .. }),
            "cut at {keep}: {err:?}"
        );
        assert!(
            err.to_string().contains(&format!("truncated-{keep}.gguf")),
            "{err}"
        );
    }
}

#[test]
fn not_a_gguf_and_missing_file_are_errors() {
    let path = scratch("text.gguf");
    std::fs::write(
        &path,
        "this is not a model, just some text that is long enough",
    )
    .unwrap();
    let err = Model::load_gguf(&path, &Device::Cpu).unwrap_err();
    assert!(matches!(err, ModelError::InvalidGguf { .. }), "{err:?}");

    let missing = scratch("does-not-exist.gguf");
    let err = Model::load_gguf(&missing, &Device::Cpu).unwrap_err();
    assert!(matches!(err, ModelError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("does-not-exist.gguf"), "{err}");
}

#[test]
fn missing_tensor_is_an_error_naming_it() {
    let path = scratch("no-tensors.gguf");
    let md = [
        ("general.architecture", Value::String("llama".to_string())),
        ("llama.context_length", Value::U32(64)),
        ("llama.embedding_length", Value::U32(64)),
        ("llama.block_count", Value::U32(1)),
        ("llama.attention.head_count", Value::U32(4)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
    ];
    write_gguf(&path, &md, &[]);
    let err = Model::load_gguf(&path, &Device::Cpu).unwrap_err();
    match &err {
        ModelError::Tensor { name, .. } => assert_eq!(name, "token_embd.weight"),
        other => panic!("unexpected error {other:?}"),
    }
}
