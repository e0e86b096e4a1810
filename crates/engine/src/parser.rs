//! An Earley parser over lexemes, driven one byte at a time.
//!
//! The parse state is a stack of Earley *rows*, one per lexeme boundary, and
//! a small set of *scans*: lexemes in progress, each a (row where it
//! started, lexer DFA state) pair. Reading a byte advances every scan; a
//! scan whose DFA state now matches some of its lexemes completes them,
//! which creates a new row (Earley completion and prediction), and the new
//! row starts a scan of its own for the lexemes it expects. Scans that
//! could still go on are kept as well, so lexing is non-deterministic: the
//! language accepted is exactly the grammar's, with no longest-match
//! surprises.
//!
//! Rows and items live in flat vectors that only grow at the end, so
//! undoing work (rollback, and backtracking in the token-trie walk) is a
//! truncation.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::cfg::{Cfg, Next};
use crate::compiler::Limits;
use crate::error::MaskError;
use crate::lexer::{Lexer, LexerCache, DEAD};

/// An Earley item: a dotted rule and the row where its production started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Item {
    pub(crate) dot: u32,
    pub(crate) origin: u32,
}

/// A row of the Earley chart (the items at one lexeme boundary).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row {
    /// The row's items: a range of `Chart::items`, or of `Chart::memo_items`
    /// for a memoized row.
    pub(crate) items: (u32, u32),
    pub(crate) memo: bool,
    /// Length of `Chart::items` before this row was pushed (to truncate).
    pub(crate) mark: u32,
    /// The row's items that wait for a nonterminal, sorted by it (for
    /// completion): a range of `Chart::waits`, or of `Chart::memo_waits`
    /// for a memoized row.
    pub(crate) waits: (u32, u32),
    /// Length of `Chart::waits` before this row was pushed.
    pub(crate) wait_mark: u32,
    /// Identity for memoization: the row's index for rows outside a mask
    /// computation, `MEMO_BIT | n` for the `n`-th memoized row.
    pub(crate) id: u32,
    /// Lexer state at the start of a lexeme here, or `DEAD` if the row
    /// expects no lexeme.
    pub(crate) start: u32,
    /// The whole input so far is a sentence of the grammar.
    pub(crate) accepting: bool,
}

/// A lexeme in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Scan {
    pub(crate) row: u32,
    pub(crate) state: u32,
}

/// The chart: rows, items and scans, plus scratch space.
#[derive(Clone, Debug, Default)]
pub(crate) struct Chart {
    pub(crate) rows: Vec<Row>,
    pub(crate) items: Vec<Item>,
    /// Scans; callers keep the live ones as a range of this vector.
    pub(crate) scans: Vec<Scan>,
    seen: HashSet<Item>,
    predicted: Vec<u32>,
    predicted_stamp: u32,
    allowed: Vec<u32>,
    completions: Vec<Scan>,
    kernel: Vec<Item>,
    /// Rows below this index are fixed while memoization is on (0: off).
    stable_rows: u32,
    /// The memoized rows were built on top of this many rows (which have
    /// not changed since).
    memo_rows: u32,
    /// Rows built during a mask computation, keyed by the row index and the
    /// completions that made them (the identity of each completed scan's
    /// row, and the set of lexemes it completed): many tokens end the same lexeme from the
    /// same row, and all get the same row. A row's items only refer to rows
    /// its key determines, so a memoized row is valid wherever its key
    /// matches.
    memo: HashMap<Box<[(u32, u32)]>, MemoRow>,
    memo_key: Vec<(u32, u32)>,
    memo_count: u32,
    memo_items: Vec<Item>,
    /// (nonterminal, item) for the items of each row whose dot is before a
    /// nonterminal, sorted per row.
    waits: Vec<(u32, Item)>,
    memo_waits: Vec<(u32, Item)>,
    /// Earley work so far: items created plus parent items scanned while
    /// completing.
    pub(crate) work: u64,
    /// `work` may not pass this (set per step by [`Chart::set_budget`]).
    work_limit: u64,
    budget: u64,
    /// The most bytes items and their indexes may take.
    max_bytes: usize,
}

const MEMO_BIT: u32 = 1 << 31;

#[derive(Clone, Copy, Debug)]
struct MemoRow {
    id: u32,
    items: (u32, u32),
    waits: (u32, u32),
    start: u32,
    accepting: bool,
}

/// Memoized items are dropped past this many (checked between mask
/// computations).
const MEMO_ITEMS_LIMIT: usize = 1 << 22;

/// What happened when a byte was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// A new row was pushed at this byte.
    pub(crate) new_row: bool,
    /// ... and it is accepting.
    pub(crate) accepting: bool,
}

impl Chart {
    /// A chart holding the start row; returns it with the start scans
    /// pushed.
    pub(crate) fn new(
        cfg: &Cfg,
        lexer: &Lexer,
        cache: &mut LexerCache,
        limits: &Limits,
    ) -> Result<Chart, MaskError> {
        let mut c = Chart {
            predicted: vec![0; cfg.num_nts()],
            work_limit: u64::MAX,
            budget: u64::MAX,
            max_bytes: limits.max_chart_bytes,
            ..Chart::default()
        };
        let kernel = [Item {
            dot: cfg.start_dot(),
            origin: 0,
        }];
        c.push_row(cfg, lexer, cache, &kernel)?;
        Ok(c)
    }

    /// Heap bytes of the items (in rows and memoized) and their indexes.
    fn memory_usage(&self) -> usize {
        (self.items.len() + self.memo_items.len()) * std::mem::size_of::<Item>()
            + (self.waits.len() + self.memo_waits.len()) * std::mem::size_of::<(u32, Item)>()
    }

    /// Allows `budget` more units of work (see [`Chart::work`]) before
    /// parsing fails with [`MaskError::WorkBudget`].
    pub(crate) fn set_budget(&mut self, budget: u64) {
        self.budget = budget;
        self.work_limit = self.work.saturating_add(budget);
    }

    /// The live scans at the start of the chart (before any byte).
    pub(crate) fn initial_scan(&self) -> Option<Scan> {
        let row = self.rows.first()?;
        (row.start != DEAD).then_some(Scan {
            row: 0,
            state: row.start,
        })
    }

    fn row_items(&self, row: u32) -> &[Item] {
        let r = &self.rows[row as usize];
        let (a, b) = r.items;
        if r.memo {
            &self.memo_items[a as usize..b as usize]
        } else {
            &self.items[a as usize..b as usize]
        }
    }

    /// Turns memoization on for rows built on top of the first
    /// `stable_rows` rows, which must not change until
    /// [`end_memo`](Chart::end_memo).
    ///
    /// Memoized rows depend only on the first `stable_rows` rows, so they
    /// are kept across mask computations (commits inside a lexeme add no
    /// row) until a truncation below them or a different `stable_rows`.
    pub(crate) fn begin_memo(&mut self, stable_rows: usize) {
        if self.memo_rows != stable_rows as u32 || self.memo_items.len() > MEMO_ITEMS_LIMIT {
            self.clear_memo();
        }
        self.stable_rows = stable_rows as u32;
        self.memo_rows = stable_rows as u32;
    }

    /// Turns memoization off (rows beyond the stable ones must have been
    /// truncated).
    pub(crate) fn end_memo(&mut self) {
        self.stable_rows = 0;
    }

    fn clear_memo(&mut self) {
        self.memo.clear();
        self.memo_items.clear();
        self.memo_waits.clear();
        self.memo_count = 0;
        self.memo_rows = 0;
    }

    /// Closes `kernel` into a new row (prediction and completion).
    fn push_row(
        &mut self,
        cfg: &Cfg,
        lexer: &Lexer,
        cache: &mut LexerCache,
        kernel: &[Item],
    ) -> Result<Row, MaskError> {
        let row = self.build_row(cfg, lexer, cache, kernel)?;
        self.rows.push(row);
        Ok(row)
    }

    /// The row closing `kernel`, its items and waits pushed (but not the
    /// row itself); on error nothing is left pushed.
    fn build_row(
        &mut self,
        cfg: &Cfg,
        lexer: &Lexer,
        cache: &mut LexerCache,
        kernel: &[Item],
    ) -> Result<Row, MaskError> {
        let first = self.items.len();
        let w0 = self.waits.len();
        let r = self.build_row_inner(cfg, lexer, cache, kernel);
        if r.is_err() {
            self.items.truncate(first);
            self.waits.truncate(w0);
        }
        r
    }

    fn build_row_inner(
        &mut self,
        cfg: &Cfg,
        lexer: &Lexer,
        cache: &mut LexerCache,
        kernel: &[Item],
    ) -> Result<Row, MaskError> {
        let j = self.rows.len() as u32;
        let first = self.items.len();
        self.seen.clear();
        self.allowed.clear();
        self.predicted_stamp = self.predicted_stamp.wrapping_add(1);
        if self.predicted_stamp == 0 {
            self.predicted.iter_mut().for_each(|p| *p = 0);
            self.predicted_stamp = 1;
        }
        for &it in kernel {
            if self.seen.insert(it) {
                self.items.push(it);
            }
        }
        let accept_dot = cfg.accept_dot();
        let mut accepting = false;
        let mut i = first;
        while i < self.items.len() {
            let it = self.items[i];
            i += 1;
            self.work += 1;
            if self.work > self.work_limit {
                return Err(MaskError::WorkBudget { limit: self.budget });
            }
            let bytes = self.memory_usage();
            if bytes > self.max_bytes {
                return Err(MaskError::MemoryLimit {
                    what: "Earley chart".into(),
                    value: bytes,
                    limit: self.max_bytes,
                });
            }
            match cfg.dot_next[it.dot as usize] {
                Next::Nt(a) => {
                    if self.predicted[a as usize] != self.predicted_stamp {
                        self.predicted[a as usize] = self.predicted_stamp;
                        for p in cfg.prods_of(a) {
                            let new = Item {
                                dot: cfg.prods[p].dot_base,
                                origin: j,
                            };
                            if self.seen.insert(new) {
                                self.items.push(new);
                            }
                        }
                    }
                    if cfg.nt_nullable[a as usize] {
                        let new = Item {
                            dot: it.dot + 1,
                            origin: it.origin,
                        };
                        if self.seen.insert(new) {
                            self.items.push(new);
                        }
                    }
                }
                Next::Lex(l) => {
                    self.allowed.push(l);
                    if cfg.lex_nullable[l as usize] {
                        let new = Item {
                            dot: it.dot + 1,
                            origin: it.origin,
                        };
                        if self.seen.insert(new) {
                            self.items.push(new);
                        }
                    }
                }
                Next::Complete => {
                    if it.dot == accept_dot && it.origin == 0 {
                        accepting = true;
                    }
                    if it.origin == j {
                        // An empty derivation within this row: the nullable
                        // rule above already advanced its users.
                        continue;
                    }
                    let lhs = cfg.dot_lhs[it.dot as usize];
                    let r = self.rows[it.origin as usize];
                    let (a, b) = r.waits;
                    let waits = if r.memo {
                        &self.memo_waits[a as usize..b as usize]
                    } else {
                        &self.waits[a as usize..b as usize]
                    };
                    let lo = waits.partition_point(|w| w.0 < lhs);
                    for &(nt, parent) in &waits[lo..] {
                        if nt != lhs {
                            break;
                        }
                        self.work += 1;
                        let new = Item {
                            dot: parent.dot + 1,
                            origin: parent.origin,
                        };
                        if self.seen.insert(new) {
                            self.items.push(new);
                        }
                    }
                }
            }
        }
        let w0 = self.waits.len();
        for it in &self.items[first..] {
            if let Next::Nt(a) = cfg.dot_next[it.dot as usize] {
                self.waits.push((a, *it));
            }
        }
        self.waits[w0..].sort_unstable_by_key(|w| w.0);
        self.allowed.sort_unstable();
        self.allowed.dedup();
        let start = if self.allowed.is_empty() {
            DEAD
        } else {
            cache.start(lexer, &self.allowed)?
        };
        Ok(Row {
            items: (first as u32, self.items.len() as u32),
            memo: false,
            mark: first as u32,
            waits: (w0 as u32, self.waits.len() as u32),
            wait_mark: w0 as u32,
            id: j,
            start,
            accepting,
        })
    }

    /// Reads `byte` in the scans `self.scans[from.0..from.1]`, pushing the
    /// resulting scans at the end of `self.scans` (and a row, if some
    /// lexeme completed).
    pub(crate) fn step(
        &mut self,
        cfg: &Cfg,
        lexer: &Lexer,
        cache: &mut LexerCache,
        from: (usize, usize),
        byte: u8,
    ) -> Result<Step, MaskError> {
        self.completions.clear();
        for i in from.0..from.1 {
            let sc = self.scans[i];
            let s = cache.next(lexer, sc.state, byte)?;
            if s == DEAD {
                continue;
            }
            let next = Scan {
                row: sc.row,
                state: s,
            };
            if cache.can_advance(s) {
                self.scans.push(next);
            }
            if !cache.accepts(s).is_empty() {
                self.completions.push(next);
            }
        }
        if self.completions.is_empty() {
            return Ok(Step {
                new_row: false,
                accepting: false,
            });
        }
        let j = self.rows.len() as u32;
        let memoize = self.stable_rows > 0;
        let hit = if memoize {
            self.memo_key.clear();
            self.memo_key.push((j, 0));
            for c in &self.completions {
                self.memo_key
                    .push((self.rows[c.row as usize].id, cache.accept_id(c.state)));
            }
            self.memo.get(self.memo_key.as_slice()).copied()
        } else {
            None
        };
        let row = match hit {
            Some(m) => {
                let row = Row {
                    items: m.items,
                    memo: true,
                    mark: self.items.len() as u32,
                    waits: m.waits,
                    wait_mark: self.waits.len() as u32,
                    id: m.id,
                    start: m.start,
                    accepting: m.accepting,
                };
                self.rows.push(row);
                row
            }
            _ => {
                let mut kernel = std::mem::take(&mut self.kernel);
                kernel.clear();
                for c in 0..self.completions.len() {
                    let sc = self.completions[c];
                    let acc = cache.accepts(sc.state);
                    for it in self.row_items(sc.row) {
                        if let Next::Lex(l) = cfg.dot_next[it.dot as usize] {
                            if acc.binary_search(&l).is_ok() {
                                kernel.push(Item {
                                    dot: it.dot + 1,
                                    origin: it.origin,
                                });
                            }
                        }
                    }
                }
                let res = self.build_row(cfg, lexer, cache, &kernel);
                self.kernel = kernel;
                let mut row = res?;
                if memoize {
                    // Move the row's items to the memo arena.
                    let r = &mut row;
                    let (a, b) = r.items;
                    let m0 = self.memo_items.len() as u32;
                    self.memo_items
                        .extend_from_slice(&self.items[a as usize..b as usize]);
                    self.items.truncate(a as usize);
                    r.items = (m0, self.memo_items.len() as u32);
                    let (wa, wb) = r.waits;
                    let w0 = self.memo_waits.len() as u32;
                    self.memo_waits
                        .extend_from_slice(&self.waits[wa as usize..wb as usize]);
                    self.waits.truncate(wa as usize);
                    r.waits = (w0, self.memo_waits.len() as u32);
                    r.memo = true;
                    r.id = MEMO_BIT | self.memo_count;
                    self.memo_count += 1;
                    self.memo.insert(
                        self.memo_key.as_slice().into(),
                        MemoRow {
                            id: r.id,
                            items: r.items,
                            waits: r.waits,
                            start: r.start,
                            accepting: r.accepting,
                        },
                    );
                }
                self.rows.push(row);
                row
            }
        };
        if row.start != DEAD && cache.can_advance(row.start) {
            self.scans.push(Scan {
                row: j,
                state: row.start,
            });
        }
        Ok(Step {
            new_row: true,
            accepting: row.accepting,
        })
    }

    /// Drops rows, items and scans beyond the given lengths.
    pub(crate) fn truncate(&mut self, rows: usize, scans: usize) {
        if rows < self.memo_rows as usize {
            self.clear_memo();
        }
        if rows < self.rows.len() {
            let items = self.rows[rows].mark as usize;
            self.items.truncate(items);
            let waits = self.rows[rows].wait_mark as usize;
            self.waits.truncate(waits);
            self.rows.truncate(rows);
        }
        self.scans.truncate(scans);
    }
}
