//! Property tests: the trie against a plain map from bytes to ids.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rein_vocab::{TokenId, Vocabulary};

/// Small alphabets make shared prefixes and duplicates likely.
fn token() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![b'a', b'b', b'c', 0x00, 0xff]),
        0..5,
    )
}

proptest! {
    #[test]
    fn trie_matches_a_reference_map(tokens in prop::collection::vec(token(), 0..60)) {
        let v = Vocabulary::from_token_bytes(tokens.clone(), vec![]);
        let trie = v.trie();
        // Reference: bytes -> sorted ids (empty tokens are special).
        let mut reference: BTreeMap<Vec<u8>, Vec<TokenId>> = BTreeMap::new();
        for (i, t) in tokens.iter().enumerate() {
            if !t.is_empty() {
                reference.entry(t.clone()).or_default().push(TokenId(i as u32));
            }
        }
        // Every node spells a prefix of some token; count the nodes.
        let mut prefixes = std::collections::BTreeSet::new();
        for t in reference.keys() {
            for k in 0..=t.len() {
                prefixes.insert(t[..k].to_vec());
            }
        }
        prefixes.insert(Vec::new());
        prop_assert_eq!(trie.num_nodes(), prefixes.len());
        // Each token string is found with all its ids.
        for (bytes, ids) in &reference {
            let n = trie.find(bytes).unwrap();
            let mut got = vec![trie.node_token(n).unwrap()];
            got.extend_from_slice(trie.node_duplicates(n));
            prop_assert_eq!(&got, ids);
        }
        // A depth-first walk in preorder visits the prefixes in sorted
        // order, and subtree_end brackets exactly the extensions.
        let mut path: Vec<(Vec<u8>, usize)> = vec![(Vec::new(), trie.num_nodes())];
        let mut seen = vec![Vec::new()];
        for i in 1..trie.num_nodes() {
            while path.last().is_some_and(|&(_, end)| i >= end) {
                path.pop();
            }
            let mut s = path.last().unwrap().0.clone();
            s.push(trie.node_byte(i));
            let end = trie.subtree_end(i);
            prop_assert!(end > i && end <= path.last().unwrap().1);
            let below = prefixes.iter().filter(|p| p.starts_with(&s)).count();
            prop_assert_eq!(end - i, below);
            prop_assert_eq!(
                trie.node_token(i).is_some(),
                reference.contains_key(&s)
            );
            seen.push(s.clone());
            path.push((s, end));
        }
        prop_assert_eq!(seen, prefixes.into_iter().collect::<Vec<_>>());
        // Greedy encoding of the concatenation of all tokens round-trips;
        // it may only get stuck (a longest match leaving bytes no token
        // starts with) when some byte has no token of its own.
        let text: Vec<u8> = reference.keys().flatten().copied().collect();
        if let Ok(s) = std::str::from_utf8(&text) {
            match v.encode(s) {
                Ok(ids) => prop_assert_eq!(v.decode_bytes(&ids), text),
                Err(_) => prop_assert!(!text.iter().all(|&b| reference.contains_key(&vec![b]))),
            }
        }
    }

    #[test]
    fn mask_width_keeps_exactly_the_ids_below(tokens in prop::collection::vec(token(), 0..40), width in 0usize..50) {
        let full = Vocabulary::from_token_bytes(tokens.clone(), vec![]);
        let cut = full.clone().with_mask_width(width);
        prop_assert_eq!(cut.len(), width);
        let kept: Vec<Vec<u8>> = (0..width)
            .map(|i| tokens.get(i).cloned().unwrap_or_default())
            .collect();
        let expected = Vocabulary::from_token_bytes(kept, vec![]);
        prop_assert_eq!(cut.trie(), expected.trie());
        for i in 0..width as u32 {
            prop_assert_eq!(cut.token_bytes(TokenId(i)), expected.token_bytes(TokenId(i)));
        }
    }
}
