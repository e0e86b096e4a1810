//! A flat byte trie over token byte strings, laid out for depth-first walks.

use crate::TokenId;

/// The largest number of nodes a [`TokenTrie`] can hold (2^31 - 1).
pub const MAX_TRIE_NODES: usize = (1 << 31) - 1;

const NO_TOKEN: u32 = TokenId::MAX.0 + 1;
const DUP_FLAG: u32 = 1 << 31;

/// One trie node, 8 bytes.
///
/// `tok_byte` packs the token id ending here (or `NO_TOKEN`) in the upper
/// 24 bits and the node's byte in the lower 8; `end` holds the index one
/// past the node's subtree, with the top bit set when other tokens share
/// this node's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
struct Node {
    tok_byte: u32,
    end: u32,
}

/// A byte trie over all non-special, non-empty token byte strings, stored
/// flat in preorder for fast depth-first walks.
///
/// Node `0` is the root (the empty string; its byte is meaningless). Every
/// other node is one byte; the bytes on the path from the root spell a
/// prefix of at least one token. Children appear in increasing byte order
/// right after their parent, and each node's subtree occupies the index
/// range `i..subtree_end(i)`. A node takes 8 bytes, so a walk reads memory
/// sequentially.
///
/// Several token ids may share the same bytes (e.g. a normal token and an
/// added token with the same text): the smallest id is [`node_token`], the
/// others are [`node_duplicates`].
///
/// # Walking the trie
///
/// The typical walk carries some state (e.g. a lexer state) along the
/// path, and skips the whole subtree below a node where the state dies:
///
/// ```
/// use rein_vocab::{TokenId, Vocabulary};
///
/// let vocab = Vocabulary::from_token_bytes(
///     vec![b"a".to_vec(), b"ab".to_vec(), b"abc".to_vec(), b"b".to_vec(), b"ba".to_vec()],
///     vec![],
/// );
/// let trie = vocab.trie();
///
/// // Allow only tokens made of 'a's and 'b's that never contain "bb" or "c":
/// // the state is the previous byte.
/// let mut allowed = Vec::new();
/// let mut stack: Vec<(u8, usize)> = vec![(0, trie.num_nodes())]; // (state, subtree_end)
/// let mut i = 1; // skip the root
/// while i < trie.num_nodes() {
///     // Pop the nodes whose subtree we have left.
///     while stack.last().is_some_and(|&(_, end)| i >= end) {
///         stack.pop();
///     }
///     let prev = stack.last().map_or(0, |&(s, _)| s);
///     let b = trie.node_byte(i);
///     if b == b'c' || (prev == b'b' && b == b'b') {
///         i = trie.subtree_end(i); // dead: skip everything below
///         continue;
///     }
///     if let Some(t) = trie.node_token(i) {
///         allowed.push(t);
///         allowed.extend_from_slice(trie.node_duplicates(i));
///     }
///     stack.push((b, trie.subtree_end(i)));
///     i += 1;
/// }
/// allowed.sort();
/// assert_eq!(allowed, [TokenId(0), TokenId(1), TokenId(3), TokenId(4)]);
/// ```
///
/// [`node_token`]: TokenTrie::node_token
/// [`node_duplicates`]: TokenTrie::node_duplicates
#[derive(Clone, PartialEq, Eq)]
pub struct TokenTrie {
    nodes: Vec<Node>,
    /// Node indices with duplicates, sorted, and the start of each one's
    /// range in `dup_ids` (one more entry than `dup_nodes`).
    dup_nodes: Vec<u32>,
    dup_starts: Vec<u32>,
    dup_ids: Vec<TokenId>,
}

impl std::fmt::Debug for TokenTrie {
    /// A summary; walk the trie to see its contents.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenTrie")
            .field("num_nodes", &self.num_nodes())
            .field("duplicates", &self.dup_ids.len())
            .finish()
    }
}

impl TokenTrie {
    /// Builds the trie from (token id, bytes) pairs. Empty byte strings are
    /// ignored. Returns `Err(nodes)` when more than [`MAX_TRIE_NODES`] nodes
    /// would be needed.
    ///
    /// Ids must be at most [`TokenId::MAX`]; larger ids are ignored.
    pub(crate) fn build<'a>(
        tokens: impl IntoIterator<Item = (TokenId, &'a [u8])>,
    ) -> Result<TokenTrie, usize> {
        let mut entries: Vec<(&[u8], TokenId)> = tokens
            .into_iter()
            .filter(|(t, b)| !b.is_empty() && *t <= TokenId::MAX)
            .map(|(t, b)| (b, t))
            .collect();
        entries.sort_unstable();
        // Upper bound on the node count: 1 + total bytes; exact count below.
        let mut count = 1usize;
        let mut prev: &[u8] = &[];
        for &(b, _) in &entries {
            count += b.len() - common_prefix(prev, b);
            prev = b;
        }
        if count > MAX_TRIE_NODES {
            return Err(count);
        }
        let mut nodes: Vec<Node> = Vec::with_capacity(count);
        nodes.push(Node {
            tok_byte: NO_TOKEN << 8,
            end: 0,
        });
        // stack[d] = index of the node at depth d on the current path.
        let mut stack: Vec<u32> = vec![0];
        let mut dups: Vec<(u32, TokenId)> = Vec::new();
        let mut prev: &[u8] = &[];
        for &(bytes, id) in &entries {
            if bytes == prev {
                // Same bytes as the previous entry: the node exists and
                // already holds a smaller id.
                let last = stack[stack.len() - 1];
                nodes[last as usize].end |= DUP_FLAG;
                dups.push((last, id));
                continue;
            }
            let lcp = common_prefix(prev, bytes);
            // Close the nodes below the common prefix.
            let here = nodes.len() as u32;
            while stack.len() > lcp + 1 {
                if let Some(n) = stack.pop() {
                    nodes[n as usize].end |= here;
                }
            }
            for &b in &bytes[lcp..] {
                stack.push(nodes.len() as u32);
                nodes.push(Node {
                    tok_byte: (NO_TOKEN << 8) | u32::from(b),
                    end: 0,
                });
            }
            let last = nodes.len() - 1;
            nodes[last].tok_byte = (id.0 << 8) | (nodes[last].tok_byte & 0xff);
            prev = bytes;
        }
        let here = nodes.len() as u32;
        for n in stack {
            nodes[n as usize].end |= here;
        }
        dups.sort_unstable();
        let mut dup_nodes = Vec::new();
        let mut dup_starts = Vec::new();
        let mut dup_ids = Vec::with_capacity(dups.len());
        for (n, id) in dups {
            if dup_nodes.last() != Some(&n) {
                dup_nodes.push(n);
                dup_starts.push(dup_ids.len() as u32);
            }
            dup_ids.push(id);
        }
        dup_starts.push(dup_ids.len() as u32);
        Ok(TokenTrie {
            nodes,
            dup_nodes,
            dup_starts,
            dup_ids,
        })
    }

    /// A trie over some (token id, bytes) pairs, e.g. a subset of a
    /// vocabulary. Empty byte strings are ignored; several ids may share
    /// bytes. Returns `Err(nodes)` when more than [`MAX_TRIE_NODES`] nodes
    /// would be needed.
    pub fn from_tokens<'a>(
        tokens: impl IntoIterator<Item = (TokenId, &'a [u8])>,
    ) -> Result<TokenTrie, usize> {
        TokenTrie::build(tokens)
    }

    /// The number of nodes, including the root.
    #[inline]
    pub fn num_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The byte of node `i` (0 for the root).
    ///
    /// # Panics
    ///
    /// When `i >= num_nodes()`.
    #[inline]
    pub fn node_byte(&self, i: usize) -> u8 {
        (self.nodes[i].tok_byte & 0xff) as u8
    }

    /// The smallest token id whose bytes end at node `i`, if any.
    ///
    /// # Panics
    ///
    /// When `i >= num_nodes()`.
    #[inline]
    pub fn node_token(&self, i: usize) -> Option<TokenId> {
        let t = self.nodes[i].tok_byte >> 8;
        (t != NO_TOKEN).then_some(TokenId(t))
    }

    /// The other token ids with exactly the same bytes as
    /// [`node_token(i)`](TokenTrie::node_token), in increasing order; empty
    /// for almost all nodes.
    ///
    /// # Panics
    ///
    /// When `i >= num_nodes()`.
    #[inline]
    pub fn node_duplicates(&self, i: usize) -> &[TokenId] {
        if self.nodes[i].end & DUP_FLAG == 0 {
            return &[];
        }
        match self.dup_nodes.binary_search(&(i as u32)) {
            Ok(k) => &self.dup_ids[self.dup_starts[k] as usize..self.dup_starts[k + 1] as usize],
            Err(_) => &[],
        }
    }

    /// The index one past the last node of `i`'s subtree: the next node
    /// that is not a descendant of `i`. Jumping there skips the subtree.
    ///
    /// # Panics
    ///
    /// When `i >= num_nodes()`.
    #[inline]
    pub fn subtree_end(&self, i: usize) -> usize {
        (self.nodes[i].end & !DUP_FLAG) as usize
    }

    /// The child of node `i` for `byte`, if any.
    ///
    /// # Panics
    ///
    /// When `i >= num_nodes()`.
    pub fn child(&self, i: usize, byte: u8) -> Option<usize> {
        let end = self.subtree_end(i);
        let mut j = i + 1;
        while j < end {
            let b = self.node_byte(j);
            if b == byte {
                return Some(j);
            }
            if b > byte {
                return None;
            }
            j = self.subtree_end(j);
        }
        None
    }

    /// The children of node `i`, in increasing byte order.
    ///
    /// # Panics
    ///
    /// When `i >= num_nodes()`.
    pub fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let end = self.subtree_end(i);
        let mut j = i + 1;
        std::iter::from_fn(move || {
            if j >= end {
                return None;
            }
            let c = j;
            j = self.subtree_end(j);
            Some(c)
        })
    }

    /// The node spelling exactly `bytes` (the root for the empty string),
    /// whether or not a token ends there.
    pub fn find(&self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        for &b in bytes {
            i = self.child(i, b)?;
        }
        Some(i)
    }

    /// The longest token that is a prefix of `bytes`, with its length.
    pub fn longest_prefix(&self, bytes: &[u8]) -> Option<(TokenId, usize)> {
        let mut best = None;
        let mut i = 0;
        for (k, &b) in bytes.iter().enumerate() {
            match self.child(i, b) {
                Some(c) => i = c,
                None => break,
            }
            if let Some(t) = self.node_token(i) {
                best = Some((t, k + 1));
            }
        }
        best
    }

    /// The heap memory used, in bytes.
    pub fn memory_usage(&self) -> usize {
        self.nodes.len() * std::mem::size_of::<Node>()
            + (self.dup_nodes.len() + self.dup_starts.len()) * 4
            + self.dup_ids.len() * std::mem::size_of::<TokenId>()
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}
