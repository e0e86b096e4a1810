//! Hand-made vocabularies: trie layout, duplicates, walks, mask width, and
//! errors on bad input.

use rein_vocab::{TokenId, VocabError, Vocabulary};

fn t(i: u32) -> TokenId {
    TokenId(i)
}

/// ids: 0 "a", 1 "ab", 2 "abc", 3 "b", 4 <special>, 5 "ab" (duplicate of
/// 1), 6 "ba", 7 "ab" (another duplicate), 8 "\xff"
fn tiny() -> Vocabulary {
    Vocabulary::from_token_bytes(
        vec![
            b"a".to_vec(),
            b"ab".to_vec(),
            b"abc".to_vec(),
            b"b".to_vec(),
            vec![],
            b"ab".to_vec(),
            b"ba".to_vec(),
            b"ab".to_vec(),
            vec![0xff],
        ],
        vec![t(4)],
    )
}

#[test]
fn basic_accessors() {
    let v = tiny();
    assert_eq!(v.len(), 9);
    assert_eq!(v.token_bytes(t(2)), b"abc");
    assert_eq!(v.token_bytes(t(4)), b"");
    assert_eq!(v.token_bytes(t(99)), b"", "unknown ids have no bytes");
    assert!(v.is_special(t(4)) && !v.is_special(t(0)) && !v.is_special(t(99)));
    assert_eq!(v.eos_tokens(), [t(4)]);
    assert!(v.is_eos(t(4)) && !v.is_eos(t(0)));
    assert!(v.tokenizer().is_none());
    assert_eq!(v.special_tokens().collect::<Vec<_>>(), [t(4)]);
}

#[test]
fn trie_is_flat_preorder_with_subtree_ends() {
    let v = tiny();
    let trie = v.trie();
    // root, a, ab, abc, b, ba, \xff
    assert_eq!(trie.num_nodes(), 7);
    let bytes: Vec<u8> = (1..7).map(|i| trie.node_byte(i)).collect();
    assert_eq!(bytes, [b'a', b'b', b'c', b'b', b'a', 0xff]);
    let ends: Vec<usize> = (0..7).map(|i| trie.subtree_end(i)).collect();
    assert_eq!(ends, [7, 4, 4, 4, 6, 6, 7]);
    let tokens: Vec<Option<TokenId>> = (0..7).map(|i| trie.node_token(i)).collect();
    assert_eq!(
        tokens,
        [
            None,
            Some(t(0)),
            Some(t(1)),
            Some(t(2)),
            Some(t(3)),
            Some(t(6)),
            Some(t(8))
        ]
    );
    assert_eq!(trie.child(0, b'b'), Some(4));
    assert_eq!(trie.child(0, b'c'), None);
    assert_eq!(trie.child(1, b'b'), Some(2));
    assert_eq!(trie.children(0).collect::<Vec<_>>(), [1, 4, 6]);
    assert_eq!(trie.find(b""), Some(0));
    assert_eq!(trie.find(b"abc"), Some(3));
    assert_eq!(trie.find(b"abd"), None);
    assert_eq!(trie.find(&[0xff]), Some(6));
}

#[test]
fn duplicates_are_all_reachable() {
    let v = tiny();
    let trie = v.trie();
    let ab = trie.find(b"ab").unwrap();
    assert_eq!(trie.node_token(ab), Some(t(1)));
    assert_eq!(trie.node_duplicates(ab), [t(5), t(7)]);
    for i in 0..trie.num_nodes() {
        if i != ab {
            assert!(trie.node_duplicates(i).is_empty());
        }
    }
}

#[test]
fn every_token_is_in_the_trie_under_its_id() {
    let v = tiny();
    let trie = v.trie();
    let mut seen = 0;
    for i in 0..v.len() as u32 {
        let bytes = v.token_bytes(t(i));
        if bytes.is_empty() {
            continue;
        }
        let n = trie.find(bytes).unwrap();
        assert!(trie.node_token(n) == Some(t(i)) || trie.node_duplicates(n).contains(&t(i)));
        seen += 1;
    }
    let in_trie: usize = (0..trie.num_nodes())
        .map(|i| usize::from(trie.node_token(i).is_some()) + trie.node_duplicates(i).len())
        .sum();
    assert_eq!(in_trie, seen);
}

/// The walk documented on `TokenTrie`: allow tokens whose bytes are a
/// prefix of `target`, skipping dead subtrees.
#[test]
fn walk_with_subtree_skipping() {
    let v = tiny();
    let trie = v.trie();
    let target = b"abx";
    let mut allowed = Vec::new();
    let mut visited = 0;
    // Stack of (depth, subtree_end).
    let mut stack: Vec<(usize, usize)> = vec![(0, trie.num_nodes())];
    let mut i = 1;
    while i < trie.num_nodes() {
        while stack.last().is_some_and(|&(_, end)| i >= end) {
            stack.pop();
        }
        visited += 1;
        let depth = stack.last().map_or(0, |s| s.0);
        if target.get(depth) != Some(&trie.node_byte(i)) {
            i = trie.subtree_end(i);
            continue;
        }
        if let Some(tok) = trie.node_token(i) {
            allowed.push(tok);
            allowed.extend_from_slice(trie.node_duplicates(i));
        }
        stack.push((depth + 1, trie.subtree_end(i)));
        i += 1;
    }
    allowed.sort();
    assert_eq!(allowed, [t(0), t(1), t(5), t(7)]);
    // a, ab, abc (dead), b (dead, skipped with "ba"), \xff (dead)
    assert_eq!(visited, 5);
}

#[test]
fn mask_width_smaller_drops_ids_and_their_trie_entries() {
    let v = tiny().with_mask_width(6);
    assert_eq!(v.len(), 6);
    assert_eq!(v.token_bytes(t(6)), b"");
    assert_eq!(v.token_bytes(t(7)), b"");
    assert!(v.trie().find(b"ba").is_none());
    assert!(v.trie().find(&[0xff]).is_none());
    let ab = v.trie().find(b"ab").unwrap();
    assert_eq!(v.trie().node_duplicates(ab), [t(5)]);
    assert_eq!(v.eos_tokens(), [t(4)]);
    let v = v.with_mask_width(4);
    assert!(v.eos_tokens().is_empty(), "the EOS id is gone");
}

#[test]
fn mask_width_larger_adds_ids_that_are_never_allowed() {
    let v = tiny().with_mask_width(12);
    assert_eq!(v.len(), 12);
    for i in 9..12 {
        assert_eq!(v.token_bytes(t(i)), b"");
    }
    assert_eq!(v.token_bytes(t(8)), [0xff]);
    assert_eq!(v.trie().num_nodes(), tiny().trie().num_nodes());
    assert_eq!(v.trie(), tiny().trie());
}

#[test]
fn greedy_encode_without_tokenizer() {
    let v = tiny();
    assert_eq!(v.encode("abcab").unwrap(), [t(2), t(1)]);
    assert_eq!(v.encode("").unwrap(), []);
    let err = v.encode("abz").unwrap_err();
    assert!(matches!(
        err,
        VocabError::NoTokenForByte {
            offset: 2,
            byte: b'z'
        }
    ));
    assert_eq!(
        err.to_string(),
        "cannot encode text: no token starts with the byte 0x7a at offset 2"
    );
}

#[test]
fn empty_vocabulary() {
    let v = Vocabulary::from_token_bytes(vec![], vec![]);
    assert!(v.is_empty());
    assert_eq!(v.trie().num_nodes(), 1);
    assert_eq!(v.trie().subtree_end(0), 1);
    assert_eq!(v.trie().find(b"a"), None);
}

fn tmp_file(name: &str, data: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, data).unwrap();
    (dir, p)
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let err = Vocabulary::from_tokenizer_file("/nonexistent/dir/tokenizer.json").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("cannot read /nonexistent/dir/tokenizer.json: "),
        "{msg}"
    );
    #[cfg(feature = "gguf")]
    {
        let err = Vocabulary::from_gguf_file("/nonexistent/model.gguf").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/model.gguf"));
    }
}

#[test]
fn malformed_tokenizer_json_is_an_error_naming_the_file() {
    for bad in [
        &b""[..],
        b"not json",
        b"{\"model\": 5}",
        b"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}}",
        b"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": [{\"id\": -1}]}",
        b"[1, 2, 3]",
        b"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0",
    ] {
        let (_dir, p) = tmp_file("tokenizer.json", bad);
        let err = Vocabulary::from_tokenizer_file(&p).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{}: not a valid tokenizer.json: ", p.display())),
            "{msg}"
        );
        let err = Vocabulary::from_tokenizer_json(bad, "inline").unwrap_err();
        assert!(err.to_string().starts_with("inline: "), "{err}");
    }
}

#[test]
fn minimal_tokenizer_json_loads() {
    let json = br#"{
        "version": "1.0",
        "added_tokens": [{"id": 3, "content": "<eos>", "special": true,
                          "single_word": false, "lstrip": false, "rstrip": false, "normalized": false}],
        "normalizer": null, "post_processor": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                  "vocab": {"a": 0, "\u0120": 1, "\u0120a": 2}, "merges": ["\u0120 a"]}
    }"#;
    let v = Vocabulary::from_tokenizer_json(json, "inline").unwrap();
    assert_eq!(v.len(), 4);
    assert_eq!(v.token_bytes(t(1)), b" ");
    assert_eq!(v.token_bytes(t(2)), b" a");
    assert_eq!(v.eos_tokens(), [t(3)]);
    assert_eq!(v.token_by_text("<eos>"), Some(t(3)));
    assert_eq!(v.encode(" a a").unwrap(), [t(2), t(2)]);
}

#[test]
fn malformed_tokenizer_config_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let tok = dir.path().join("tokenizer.json");
    std::fs::write(
        &tok,
        br#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#,
    )
    .unwrap();
    let cfg = dir.path().join("tokenizer_config.json");
    std::fs::write(&cfg, b"{oops").unwrap();
    let err = Vocabulary::from_tokenizer_file(&tok).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!("{}: ", cfg.display())),
        "{err}"
    );
}

#[cfg(feature = "gguf")]
#[test]
fn malformed_gguf_is_an_error_naming_the_file() {
    for bad in [
        &b""[..],
        b"GGUF",
        b"GGUF\x03\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff",
        b"not a gguf file at all",
    ] {
        let (_dir, p) = tmp_file("model.gguf", bad);
        let err = Vocabulary::from_gguf_file(&p).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{}: not a valid GGUF file: ", p.display())),
            "{msg}"
        );
    }
}

#[test]
fn unknown_name_is_an_error_listing_known_names() {
    let err = Vocabulary::load("no-such-model").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("no-such-model"), "{msg}");
    assert!(msg.contains("llama3, qwen3, gemma3"), "{msg}");
    assert!(msg.contains("smollm2-135m-instruct"), "{msg}");
    assert!(matches!(err, VocabError::UnknownName { .. }));
    // A path that does not exist gets the same error.
    let err = Vocabulary::load("/nonexistent/tokenizer.json").unwrap_err();
    assert!(err
        .to_string()
        .starts_with("'/nonexistent/tokenizer.json' is neither an existing file"));
}

#[test]
fn errors_only_the_tokenizers_crate_sees_surface_at_first_use() {
    // Readable token table, but a pre-tokenizer `tokenizers` rejects: the
    // byte table loads, encoding reports the problem.
    let json = br#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                    "pre_tokenizer": {"type": "NoSuchPreTokenizer"}}"#;
    let v = Vocabulary::from_tokenizer_json(json, "inline").unwrap();
    assert_eq!(v.token_bytes(t(0)), b"a");
    let err = v.encode("a").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("inline: not a valid tokenizer.json: "),
        "{err}"
    );
    assert!(v.tokenizer().is_none());
    assert!(v.try_tokenizer().is_err());
}
