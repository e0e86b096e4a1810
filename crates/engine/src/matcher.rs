//! The per-sequence matcher: token masks, commits, rollback, fast-forward.

use std::sync::Arc;

use rein_vocab::{TokenId, TokenTrie, Vocabulary};

use crate::compiler::CompiledGrammar;
use crate::error::MaskError;
use crate::lexer::{frontier_trie, Allowed, LexerCache, DEAD};
use crate::mask::TokenMask;
use crate::parser::{Chart, Scan};
use crate::slices::TrieIndex;

/// The state before one committed token, to roll back to.
#[derive(Clone, Debug)]
struct Snapshot {
    rows: usize,
    live: Vec<Scan>,
    accepting: bool,
    pos: usize,
}

/// Matches one output sequence against a [`CompiledGrammar`].
///
/// The sampling loop calls, per step:
/// 1. [`forced_tokens`](Matcher::forced_tokens) — if the grammar forces
///    the next bytes, feed these tokens without sampling (commit each);
/// 2. [`compute_mask`](Matcher::compute_mask) — the allowed tokens (the hot
///    path: a depth-first walk of the token trie, skipping every subtree
///    the lexer rules out);
/// 3. [`commit`](Matcher::commit) the sampled token (an error, with the
///    state unchanged, if the token was not allowed);
/// 4. stop when [`is_finished`](Matcher::is_finished).
///
/// [`rollback`](Matcher::rollback) undoes committed tokens (speculative
/// decoding, token healing). A matcher is cheap to create and owns its lexer
/// cache, so matchers of one grammar never contend.
#[derive(Clone, Debug)]
pub struct Matcher {
    g: Arc<CompiledGrammar>,
    cache: LexerCache,
    chart: Chart,
    /// Live scans are `chart.scans[..live]`.
    live: usize,
    accepting: bool,
    finished: bool,
    pos: usize,
    history: Vec<Snapshot>,
    /// Byte offset where each row of the chart starts (rows made by
    /// committed tokens and bytes).
    row_pos: Vec<usize>,
    /// Scratch stack of the trie walk.
    frames: Vec<Frame>,
    stats: MatcherStats,
}

/// Where a matcher's mask time went: counters since it was created (for
/// profiling; cheap to keep).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatcherStats {
    /// Calls to [`Matcher::compute_mask`] that walked anything.
    pub masks: u64,
    /// Masks with one live lexer scan whose token table was already built.
    pub table_hits: u64,
    /// Token tables built (a walk of the trie by the lexer alone, minus the
    /// slices of ordinary text the state lets through whole).
    pub table_builds: u64,
    /// Trie nodes visited by walks with the parser.
    pub walk_nodes: u64,
    /// Frontier subtrees walked with the parser after a table.
    pub frontier_walks: u64,
}

impl Drop for Matcher {
    /// Hands the lexer cache back to the grammar if it learned more than the
    /// one there, so that later matchers start warm.
    fn drop(&mut self) {
        if let Ok(mut w) = self.g.warm.lock() {
            let better = w
                .as_ref()
                .is_none_or(|c| c.learned() < self.cache.learned());
            if better && self.cache.learned() > self.g.initial.cache.learned() {
                *w = Some(std::mem::take(&mut self.cache));
            }
        }
    }
}

/// A trie node on the walk's path: its scans, the rows before it, and the
/// end of its subtree.
#[derive(Clone, Copy, Debug)]
struct Frame {
    scans: (usize, usize),
    rows: usize,
    end: usize,
}

impl Matcher {
    /// A matcher at the start of the output.
    pub fn new(g: Arc<CompiledGrammar>) -> Matcher {
        let warm = g.warm.lock().ok().and_then(|w| w.clone());
        let cache = warm.unwrap_or_else(|| g.initial.cache.clone());
        let mut chart = g.initial.chart.clone();
        let accepting = chart.rows.first().is_some_and(|r| r.accepting);
        chart.scans.clear();
        let first = chart.initial_scan().filter(|s| cache.can_advance(s.state));
        chart.scans.extend(first);
        let live = chart.scans.len();
        let row_pos = vec![0; chart.rows.len()];
        Matcher {
            g,
            cache,
            chart,
            live,
            accepting,
            finished: false,
            pos: 0,
            history: Vec::new(),
            row_pos,
            frames: Vec::new(),
            stats: MatcherStats::default(),
        }
    }

    /// The compiled grammar.
    pub fn grammar(&self) -> &Arc<CompiledGrammar> {
        &self.g
    }

    fn vocab(&self) -> &Vocabulary {
        &self.g.vocab
    }

    /// True when the output so far is a complete sentence of the grammar
    /// (so EOS is allowed).
    pub fn is_accepting(&self) -> bool {
        self.accepting
    }

    /// True when nothing more can be generated: an EOS token was committed,
    /// or the output is complete and the grammar allows no continuation.
    pub fn is_finished(&self) -> bool {
        self.finished || (self.accepting && self.live == 0)
    }

    /// Counters of the mask computations so far.
    pub fn stats(&self) -> MatcherStats {
        self.stats
    }

    /// Number of committed tokens.
    pub fn num_tokens(&self) -> usize {
        self.history.len()
    }

    /// Bytes of output committed so far.
    pub fn num_bytes(&self) -> usize {
        self.pos
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            rows: self.chart.rows.len(),
            live: self.chart.scans[..self.live].to_vec(),
            accepting: self.accepting,
            pos: self.pos,
        }
    }

    fn restore(&mut self, s: &Snapshot) {
        self.chart.end_memo();
        self.chart.truncate(s.rows, 0);
        self.chart.scans.extend_from_slice(&s.live);
        self.live = s.live.len();
        self.accepting = s.accepting;
        self.pos = s.pos;
        self.row_pos.truncate(s.rows);
    }

    /// Reads bytes into the live state. On failure returns the index of the
    /// first byte that does not fit, with the state partly advanced (the
    /// caller restores a snapshot).
    fn feed(&mut self, bytes: &[u8]) -> Result<Result<(), usize>, MaskError> {
        let g = &*self.g;
        let budget = g.limits.max_items_per_step;
        let work0 = self.chart.work;
        self.chart.set_budget(budget);
        self.chart.end_memo();
        for (i, &b) in bytes.iter().enumerate() {
            let from = (0, self.live);
            let step = self
                .chart
                .step(&g.cfg, &g.lexer, &mut self.cache, from, b)?;
            self.chart.scans.drain(..self.live);
            self.live = self.chart.scans.len();
            self.accepting = step.accepting;
            self.pos += 1;
            if step.new_row {
                self.row_pos.push(self.pos);
            }
            if self.live == 0 && !(step.accepting && i + 1 == bytes.len()) {
                return Ok(Err(i));
            }
            if self.chart.work - work0 > budget {
                return Err(MaskError::WorkBudget { limit: budget });
            }
        }
        Ok(Ok(()))
    }

    /// Advances by token `t`. If `t` is not allowed, returns an error and
    /// leaves the matcher unchanged.
    pub fn commit(&mut self, t: TokenId) -> Result<(), MaskError> {
        if self.finished {
            return Err(MaskError::Finished);
        }
        let n = self.vocab().len();
        if t.0 as usize >= n {
            return Err(MaskError::TokenOutOfRange {
                token: t.0,
                vocab_size: n,
            });
        }
        let snap = self.snapshot();
        if self.vocab().is_eos(t) {
            if !self.accepting {
                return Err(self.not_allowed(t, self.pos));
            }
            self.history.push(snap);
            self.finished = true;
            return Ok(());
        }
        let g = self.g.clone();
        let bytes = g.vocab.token_bytes(t);
        if bytes.is_empty() || g.vocab.is_special(t) {
            return Err(self.not_allowed(t, self.pos));
        }
        match self.feed(bytes) {
            Ok(Ok(())) => {
                self.history.push(snap);
                if !g.cfg.limited.is_empty() {
                    if let Err(e) = self.apply_limits() {
                        let snap = self.history.pop().unwrap_or_else(|| self.snapshot());
                        self.restore(&snap);
                        return Err(e);
                    }
                    if self.live == 0 && !self.accepting {
                        // The token overran a token limit: nothing can follow.
                        let snap = self.history.pop().unwrap_or_else(|| self.snapshot());
                        self.restore(&snap);
                        return Err(self.not_allowed(t, snap.pos + bytes.len() - 1));
                    }
                }
                Ok(())
            }
            Ok(Err(i)) => {
                self.restore(&snap);
                Err(self.not_allowed(t, snap.pos + i))
            }
            Err(e) => {
                self.restore(&snap);
                Err(e)
            }
        }
    }

    /// Advances by text (bytes) that is not tied to tokens, e.g. to check a
    /// whole document. On failure returns the byte offset (in the whole
    /// output) of the first byte that does not fit; the matcher is left
    /// unchanged. Cannot be rolled back token by token.
    pub fn commit_bytes(&mut self, bytes: &[u8]) -> Result<Result<(), usize>, MaskError> {
        if self.finished {
            return Err(MaskError::Finished);
        }
        let snap = self.snapshot();
        match self.feed(bytes) {
            Ok(Ok(())) => {
                self.history.clear();
                Ok(Ok(()))
            }
            Ok(Err(i)) => {
                self.restore(&snap);
                Ok(Err(snap.pos + i))
            }
            Err(e) => {
                self.restore(&snap);
                Err(e)
            }
        }
    }

    fn not_allowed(&self, t: TokenId, offset: usize) -> MaskError {
        MaskError::TokenNotAllowed {
            token: t.0,
            text: String::from_utf8_lossy(self.vocab().token_bytes(t)).into_owned(),
            offset,
        }
    }

    /// Undoes the last `n` committed tokens.
    pub fn rollback(&mut self, n: usize) -> Result<(), MaskError> {
        if n > self.history.len() {
            return Err(MaskError::Rollback {
                requested: n,
                available: self.history.len(),
            });
        }
        if n == 0 {
            return Ok(());
        }
        let at = self.history.len() - n;
        let snap = self.history[at].clone();
        self.history.truncate(at);
        self.restore(&snap);
        self.finished = false;
        Ok(())
    }

    /// Computes the set of allowed tokens into `mask` (whose width must be
    /// the vocabulary's length; a wider or narrower mask is resized).
    ///
    /// Cost: one lexer transition per trie node visited (dead subtrees are
    /// skipped whole), plus Earley work where a token crosses a lexeme
    /// boundary.
    pub fn compute_mask(&mut self, mask: &mut TokenMask) -> Result<(), MaskError> {
        let g = self.g.clone();
        let vocab = &*g.vocab;
        if mask.len() != vocab.len() {
            *mask = TokenMask::new(vocab.len());
        } else {
            mask.clear();
        }
        if self.finished {
            return Ok(());
        }
        if self.accepting {
            for &e in vocab.eos_tokens() {
                mask.allow(e);
            }
        }
        if self.live == 0 {
            return Ok(());
        }
        let base_rows = self.chart.rows.len();
        self.chart.set_budget(g.limits.max_items_per_step);
        self.chart.begin_memo(base_rows);
        let result = self.mask_walks(&g, mask);
        self.chart.truncate(base_rows, self.live);
        self.chart.end_memo();
        result
    }

    /// The trie walks of `compute_mask`.
    ///
    /// Live scans are alternative lexings of the output so far, and the
    /// parser's future from each depends on that scan alone (rows merged
    /// later only hold the union of their derivations), so the mask is the
    /// union of the masks of each scan on its own. Per scan, the tokens its
    /// lexer state decides alone come from a cached table, and only the
    /// subtrees where a lexeme completes are walked with the parser.
    fn mask_walks(&mut self, g: &CompiledGrammar, mask: &mut TokenMask) -> Result<(), MaskError> {
        let vocab = &*g.vocab;
        let trie = vocab.trie();
        let work0 = self.chart.work;
        self.stats.masks += 1;
        for k in 0..self.live {
            let sc = self.chart.scans[k];
            if self.at_risk(g, sc) {
                // One token from a token limit: the tables know nothing of
                // limits, so walk the whole trie with the parser.
                let top = self.chart.scans.len();
                self.chart.scans.push(sc);
                self.walk(g, trie, mask, (top, top + 1), 1, trie.num_nodes(), work0)?;
                self.chart.truncate(self.chart.rows.len(), top);
                continue;
            }
            if self.cache.has_state_tokens(sc.state) {
                self.stats.table_hits += 1;
            } else {
                self.stats.table_builds += 1;
            }
            let st = self
                .cache
                .state_tokens(&g.lexer, vocab, g.slices(), sc.state)?;
            // Each walk below runs from a copy of one scan pushed past the
            // live ones, and truncates back to it.
            let top = self.chart.scans.len();
            if let (Some(sl), Some(k)) = (g.slices(), st.groups.checked_sub(1)) {
                mask.or_words(&sl.prefix_bits[k]);
            }
            match &st.allowed {
                Allowed::Bits(words) => mask.or_words(words),
                Allowed::List(ids) => {
                    for &t in ids {
                        mask.allow(TokenId(t));
                    }
                }
            }
            self.stats.frontier_walks += st.frontier.len() as u64;
            let trie_of = |which: TrieIndex| frontier_trie(vocab, g.slices(), which);
            // Where a lexeme may complete inside a token: one Earley step
            // per run of nodes with the same parent state and byte class
            // (they complete alike), then the children of each node from
            // the row after the completion. The token ending at the node
            // and the lexeme going on are in the table already.
            let fr = &st.frontier;
            let mut i = 0;
            while i < fr.len() {
                let (which, node, parent) = fr[i];
                let byte = trie_of(which).node_byte(node as usize);
                let class = g.lexer.class(byte);
                let mut j = i + 1;
                while j < fr.len()
                    && fr[j].2 == parent
                    && g.lexer.class(trie_of(fr[j].0).node_byte(fr[j].1 as usize)) == class
                {
                    j += 1;
                }
                let rows0 = self.chart.rows.len();
                self.chart.scans.push(Scan {
                    row: sc.row,
                    state: parent,
                });
                self.chart
                    .step(&g.cfg, &g.lexer, &mut self.cache, (top, top + 1), byte)?;
                let end = self.chart.scans.len();
                // The scans of the new row (after the lexeme going on).
                let first = (top + 1..end)
                    .find(|&k| self.chart.scans[k].row as usize == rows0)
                    .unwrap_or(end);
                if first < end {
                    for &(which, node, _) in &fr[i..j] {
                        let trie = trie_of(which);
                        let node = node as usize;
                        let stop = trie.subtree_end(node);
                        // Most children die on their first byte (a digit
                        // after a number): look before setting up a walk.
                        let mut live = false;
                        'children: for c in trie.children(node) {
                            let b = trie.node_byte(c);
                            for k in first..end {
                                let state = self.chart.scans[k].state;
                                if self.cache.next(&g.lexer, state, b)? != DEAD {
                                    live = true;
                                    break 'children;
                                }
                            }
                        }
                        if live {
                            self.walk(g, trie, mask, (first, end), node + 1, stop, work0)?;
                        }
                    }
                }
                self.chart.truncate(rows0, top);
                i = j;
            }
        }
        Ok(())
    }

    /// Walks trie nodes `first..end` (a run of sibling subtrees) from the
    /// scans `root`, allowing the tokens after which the output is viable.
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &mut self,
        g: &CompiledGrammar,
        trie: &TokenTrie,
        mask: &mut TokenMask,
        root: (usize, usize),
        first: usize,
        end: usize,
        work0: u64,
    ) -> Result<(), MaskError> {
        let base_rows = self.chart.rows.len();
        let mut frames = std::mem::take(&mut self.frames);
        frames.clear();
        frames.push(Frame {
            scans: root,
            rows: base_rows,
            end,
        });
        let res = self.walk_frames(g, trie, mask, &mut frames, first, end, work0);
        self.frames = frames;
        // Frames still open hold scans and rows past the root's.
        self.chart.truncate(base_rows, root.1);
        res
    }

    #[allow(clippy::too_many_arguments)]
    fn walk_frames(
        &mut self,
        g: &CompiledGrammar,
        trie: &TokenTrie,
        mask: &mut TokenMask,
        frames: &mut Vec<Frame>,
        first: usize,
        end: usize,
        work0: u64,
    ) -> Result<(), MaskError> {
        let budget = g.limits.max_items_per_step;
        let mut i = first;
        while i < end {
            while frames.last().is_some_and(|t| i >= t.end) {
                if let Some(top) = frames.pop() {
                    self.chart.truncate(top.rows, top.scans.0);
                }
            }
            let Some(&parent) = frames.last() else { break };
            let b = trie.node_byte(i);
            self.stats.walk_nodes += 1;
            let start = self.chart.scans.len();
            let rows = self.chart.rows.len();
            let step = self
                .chart
                .step(&g.cfg, &g.lexer, &mut self.cache, parent.scans, b)?;
            let alive = self.chart.scans.len() > start;
            let fits =
                alive && (g.cfg.limited.is_empty() || self.survives(g, start, step.new_row)?);
            if fits || step.accepting {
                if let Some(t) = trie.node_token(i) {
                    mask.allow(t);
                    for &d in trie.node_duplicates(i) {
                        mask.allow(d);
                    }
                }
            }
            if alive {
                frames.push(Frame {
                    scans: (start, self.chart.scans.len()),
                    rows,
                    end: trie.subtree_end(i),
                });
                i += 1;
            } else {
                self.chart.truncate(rows, start);
                i = trie.subtree_end(i);
            }
            if self.chart.work - work0 > budget {
                return Err(MaskError::WorkBudget { limit: budget });
            }
        }
        Ok(())
    }

    /// Bytes the grammar forces next (up to `max` of them): while exactly
    /// one byte can follow and the output is not complete, that byte.
    pub fn forced_bytes(&mut self, max: usize) -> Result<Vec<u8>, MaskError> {
        let snap = self.snapshot();
        let mut out = Vec::new();
        let res = (|| {
            while out.len() < max && !self.accepting && self.live > 0 {
                self.chart.set_budget(self.g.limits.max_items_per_step);
                let mut only = None;
                for b in 0..=255u8 {
                    let start = self.chart.scans.len();
                    let rows = self.chart.rows.len();
                    let g = &*self.g;
                    let step =
                        self.chart
                            .step(&g.cfg, &g.lexer, &mut self.cache, (0, self.live), b)?;
                    let ok = self.chart.scans.len() > start || step.accepting;
                    self.chart.truncate(rows, start);
                    if ok {
                        if only.is_some() {
                            only = None;
                            break;
                        }
                        only = Some(b);
                    }
                }
                let Some(b) = only else { break };
                match self.feed(&[b])? {
                    Ok(()) => out.push(b),
                    Err(_) => break,
                }
            }
            Ok(())
        })();
        self.restore(&snap);
        res.map(|()| out)
    }

    /// Tokens to feed without sampling because the grammar forces their
    /// bytes, tokenized as the model's tokenizer would. The last token of
    /// the forced text is held back unless the grammar ends right there,
    /// since the free text after it could merge with it into another token.
    /// `None` when nothing is forced (or on an internal limit: not
    /// fast-forwarding is always safe).
    pub fn forced_tokens(&mut self) -> Option<Vec<TokenId>> {
        let bytes = self.forced_bytes(1024).ok()?;
        if bytes.is_empty() {
            return None;
        }
        let valid = match std::str::from_utf8(&bytes) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok()?,
        };
        let mut toks = self.vocab().encode(valid).ok()?;
        // Does the grammar end right after the forced bytes?
        let ends = valid.len() == bytes.len() && {
            let snap = self.snapshot();
            let ok = matches!(self.feed(&bytes), Ok(Ok(()))) && self.accepting && self.live == 0;
            self.restore(&snap);
            ok
        };
        if !ends {
            toks.pop();
        }
        // Keep the prefix that the matcher accepts token by token.
        let mut keep = 0;
        for &t in &toks {
            if self.commit(t).is_err() {
                break;
            }
            keep += 1;
        }
        let _ = self.rollback(keep);
        toks.truncate(keep);
        (!toks.is_empty()).then_some(toks)
    }
}

/// Computes the masks of a batch of sequences at once, spread over the
/// threads of rayon's pool: `masks[i]` gets the mask of `matchers[i]`.
///
/// The matchers are independent (each owns its lexer cache), so the work
/// scales with the number of cores. Returns one result per matcher; a
/// length mismatch between the two slices is an error for the extra ones.
///
/// ```
/// use std::sync::Arc;
/// use rein_engine::{compute_masks, Compiler, Matcher, TokenMask};
/// use rein_vocab::{TokenId, Vocabulary};
///
/// let vocab = Arc::new(Vocabulary::from_token_bytes(
///     vec![b"a".to_vec(), b"b".to_vec(), Vec::new()],
///     vec![TokenId(2)],
/// ));
/// let g = Arc::new(Compiler::new(&vocab).regex("a*b").unwrap());
/// let mut matchers: Vec<Matcher> = (0..4).map(|_| Matcher::new(g.clone())).collect();
/// let mut masks = vec![TokenMask::new(vocab.len()); 4];
/// for r in compute_masks(&mut matchers, &mut masks) {
///     r.unwrap();
/// }
/// assert!(masks.iter().all(|m| m.is_allowed(TokenId(0)) && !m.is_allowed(TokenId(2))));
/// ```
pub fn compute_masks(
    matchers: &mut [Matcher],
    masks: &mut [TokenMask],
) -> Vec<Result<(), MaskError>> {
    use rayon::prelude::*;
    let n = matchers.len();
    let mut out: Vec<Result<(), MaskError>> = matchers
        .par_iter_mut()
        .zip(masks.par_iter_mut())
        .map(|(m, mask)| m.compute_mask(mask))
        .collect();
    let have = masks.len().min(n);
    out.extend((have..n).map(|_| {
        Err(MaskError::BatchMismatch {
            matchers: n,
            masks: masks.len(),
        })
    }));
    out
}

/// Token limits (`max_tokens` of rules): a limited lexeme's text may
/// overlap at most that many tokens, counting a token that crosses either
/// end of the text. After each committed token, a scan whose limited
/// lexeme has used up its tokens loses that lexeme (its NFA states are
/// removed from the scan's lexer state), so the lexeme must have ended
/// within the last token; the mask walk allows a token only if some scan
/// survives that same pruning after it.
impl Matcher {
    /// Committed tokens whose bytes end after byte `p` (the tokens that
    /// overlap a lexeme starting at `p`).
    fn tokens_since(&self, p: usize) -> usize {
        let n = self.history.len();
        if n == 0 || self.pos <= p {
            return 0;
        }
        // Token k ends where token k+1 starts (the last one at `pos`).
        let ended = self.history[1..].partition_point(|s| s.pos <= p);
        n - ended
    }

    /// The limited lexemes whose text may not go on once it overlaps
    /// `used` tokens.
    fn exhausted(&self, g: &CompiledGrammar, used: usize) -> Vec<u32> {
        g.cfg
            .limited
            .iter()
            .copied()
            .filter(|&l| g.cfg.lex_max_tokens[l as usize].is_some_and(|n| used >= n as usize))
            .collect()
    }

    /// Whether the single live scan `sc` is one token away from a limit (so
    /// the per-state token tables, which know nothing of limits, do not
    /// apply).
    fn at_risk(&self, g: &CompiledGrammar, sc: Scan) -> bool {
        if g.cfg.limited.is_empty() {
            return false;
        }
        let p = self
            .row_pos
            .get(sc.row as usize)
            .copied()
            .unwrap_or(self.pos);
        !self.exhausted(g, self.tokens_since(p) + 1).is_empty()
    }

    /// Prunes the live scans after a commit.
    fn apply_limits(&mut self) -> Result<(), MaskError> {
        let g = self.g.clone();
        let mut k = 0;
        while k < self.live {
            let sc = self.chart.scans[k];
            let p = self
                .row_pos
                .get(sc.row as usize)
                .copied()
                .unwrap_or(self.pos);
            let drop = self.exhausted(&g, self.tokens_since(p));
            let s = self.cache.without(&g.lexer, sc.state, &drop)?;
            if s == DEAD || !self.cache.can_advance(s) {
                self.chart.scans.remove(k);
                self.live -= 1;
                continue;
            }
            self.chart.scans[k].state = s;
            k += 1;
        }
        Ok(())
    }

    /// During the mask walk, at the end of a token: whether some scan of
    /// `self.chart.scans[start..]` survives the pruning that committing
    /// the token would do. `new_row`: the last byte made the newest row.
    fn survives(
        &mut self,
        g: &CompiledGrammar,
        start: usize,
        new_row: bool,
    ) -> Result<bool, MaskError> {
        let committed = self.row_pos.len();
        let newest = self.chart.rows.len().saturating_sub(1);
        for k in start..self.chart.scans.len() {
            let sc = self.chart.scans[k];
            let r = sc.row as usize;
            let used = if r < committed {
                self.tokens_since(self.row_pos[r]) + 1
            } else if new_row && r == newest {
                0
            } else {
                1
            };
            let drop = self.exhausted(g, used);
            let s = self.cache.without(&g.lexer, sc.state, &drop)?;
            if s != DEAD && self.cache.can_advance(s) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
