//! GGUF metadata: small hand-written files (good and bad) and truncated
//! copies of a real model.
#![cfg(feature = "gguf")]

use candle_core::quantized::gguf_file::{self, Value};
use rein_vocab::{TokenId, VocabError, Vocabulary};

fn strings(v: &[&str]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.to_string())).collect())
}

fn write_gguf(meta: &[(&str, Value)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    let mut f = std::fs::File::create(&path).unwrap();
    let refs: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (*k, v)).collect();
    gguf_file::write(&mut f, &refs, &[]).unwrap();
    (dir, path)
}

/// A tiny byte-level BPE vocabulary: a, b, ab, Ġ (space), Ġab, and a
/// control token.
fn gpt2_meta() -> Vec<(&'static str, Value)> {
    vec![
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        (
            "tokenizer.ggml.tokens",
            strings(&["a", "b", "ab", "\u{120}", "\u{120}ab", "<|end|>"]),
        ),
        (
            "tokenizer.ggml.token_type",
            Value::Array([1, 1, 1, 1, 1, 3].map(Value::I32).to_vec()),
        ),
        ("tokenizer.ggml.merges", strings(&["a b", "\u{120} ab"])),
        ("tokenizer.ggml.eos_token_id", Value::U32(5)),
    ]
}

fn load_err(meta: &[(&str, Value)]) -> (String, VocabError) {
    let (_dir, path) = write_gguf(meta);
    let err = Vocabulary::from_gguf_file(&path).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
    (msg, err)
}

#[test]
fn tiny_gpt2_gguf() {
    let (_dir, path) = write_gguf(&gpt2_meta());
    let v = Vocabulary::from_gguf_file(&path).unwrap();
    assert_eq!(v.len(), 6);
    assert_eq!(v.token_bytes(TokenId(3)), b" ");
    assert_eq!(v.token_bytes(TokenId(4)), b" ab");
    assert!(v.is_special(TokenId(5)));
    assert_eq!(v.eos_tokens(), [TokenId(5)]);
    assert_eq!(v.encode("ab ab").unwrap(), [TokenId(2), TokenId(4)]);
    assert_eq!(v.encode("ab<|end|>").unwrap(), [TokenId(2), TokenId(5)]);
}

#[test]
fn tiny_llama_gguf() {
    let meta = vec![
        ("tokenizer.ggml.model", Value::String("llama".into())),
        (
            "tokenizer.ggml.tokens",
            strings(&[
                "<unk>",
                "<s>",
                "</s>",
                "<0x0A>",
                "\u{2581}hi",
                "x",
                "<unused0>",
            ]),
        ),
        (
            "tokenizer.ggml.token_type",
            Value::Array([2, 3, 3, 6, 1, 1, 5].map(Value::I32).to_vec()),
        ),
        ("tokenizer.ggml.eos_token_id", Value::U32(2)),
    ];
    let (_dir, path) = write_gguf(&meta);
    let v = Vocabulary::from_gguf_file(&path).unwrap();
    assert_eq!(v.len(), 7);
    assert!(v.is_special(TokenId(0)) && v.is_special(TokenId(1)));
    assert_eq!(v.eos_tokens(), [TokenId(2)]);
    assert_eq!(v.token_bytes(TokenId(3)), b"\n");
    assert_eq!(v.token_bytes(TokenId(4)), b" hi");
    assert_eq!(v.token_bytes(TokenId(6)), b"", "unused");
    assert!(v.tokenizer().is_none());
    assert_eq!(
        v.encode(" hi\nx").unwrap(),
        [TokenId(4), TokenId(3), TokenId(5)]
    );
}

#[test]
fn missing_model_key() {
    let mut meta = gpt2_meta();
    meta.remove(0);
    let (msg, err) = load_err(&meta);
    assert!(matches!(
        err,
        VocabError::GgufMetadata {
            key: "tokenizer.ggml.model",
            ..
        }
    ));
    assert!(
        msg.ends_with("GGUF metadata key tokenizer.ggml.model: missing"),
        "{msg}"
    );
}

#[test]
fn unsupported_model() {
    let mut meta = gpt2_meta();
    meta[0].1 = Value::String("bert".into());
    let (msg, _) = load_err(&meta);
    assert!(
        msg.contains("unsupported tokenizer: GGUF tokenizer model 'bert'"),
        "{msg}"
    );
}

#[test]
fn wrong_types_and_lengths() {
    let mut meta = gpt2_meta();
    meta[1].1 = Value::U32(3);
    let (msg, _) = load_err(&meta);
    assert!(
        msg.contains("tokenizer.ggml.tokens: expected an array"),
        "{msg}"
    );

    let mut meta = gpt2_meta();
    meta[2].1 = Value::Array(vec![Value::I32(1)]);
    let (msg, _) = load_err(&meta);
    assert!(
        msg.contains("tokenizer.ggml.token_type: 1 entries for 6 tokens"),
        "{msg}"
    );

    let mut meta = gpt2_meta();
    meta[4].1 = Value::U32(99);
    let (msg, _) = load_err(&meta);
    assert!(
        msg.contains("tokenizer.ggml.eos_token_id: 99 is not a token id (0..6)"),
        "{msg}"
    );

    let mut meta = gpt2_meta();
    meta[3].1 = strings(&["nospace"]);
    let (msg, _) = load_err(&meta);
    assert!(msg.contains("merge 0 ('nospace') has no space"), "{msg}");

    let mut meta = gpt2_meta();
    meta.remove(3);
    let (msg, _) = load_err(&meta);
    assert!(msg.contains("tokenizer.ggml.merges: missing"), "{msg}");
}

#[test]
fn truncated_real_gguf_is_an_error_not_a_panic() {
    let src = rein_assets::resolve_model("smollm2-135m-instruct").unwrap();
    let data = std::fs::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.gguf");
    for len in [0, 3, 4, 8, 20, 24, 100, 1_000, 10_000, 100_000, 1_000_000] {
        std::fs::write(&path, &data[..len]).unwrap();
        let err = Vocabulary::from_gguf_file(&path).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{}: not a valid GGUF file: ", path.display())),
            "{len}: {msg}"
        );
    }
}
