//! The lexer: one lazily built DFA over all lexemes of a grammar.
//!
//! All lexemes are compiled into one multi-pattern Thompson NFA
//! (regex-automata). A DFA state is a set of NFA states, so it knows by
//! construction which lexemes are still alive: a scan started for the set
//! of lexemes the parser allows at some point contains only their NFA
//! states, and the *dead* state (the empty set) means no allowed lexeme can
//! be completed. DFA states and transitions are built on demand and cached
//! in a [`LexerCache`] owned by each matcher, so compiling a grammar never
//! determinizes anything up front.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

use rein_vocab::{TokenTrie, Vocabulary};

use regex_automata::nfa::thompson::{self, State, WhichCaptures, NFA};
use regex_automata::util::primitives::StateID;
use regex_syntax::hir::Hir;

use rein_grammar::GrammarError;

use crate::compiler::Limits;
use crate::error::MaskError;
use crate::slices::{ordinary_between, Slices, TrieIndex, MAX_BOUNDED};

/// The frontier entries of a table walked over the vocabulary's own trie.
pub(crate) const FULL_TRIE: TrieIndex = TrieIndex::MAX;

/// The trie a frontier entry's node is in: one of the slices' tries, or
/// the vocabulary's own ([`FULL_TRIE`]).
pub(crate) fn frontier_trie<'a>(
    vocab: &'a Vocabulary,
    slices: Option<&'a Slices>,
    which: TrieIndex,
) -> &'a TokenTrie {
    match (which, slices) {
        (FULL_TRIE, _) | (_, None) => vocab.trie(),
        (w, Some(sl)) => sl.trie(w),
    }
}

/// The dead state: no lexeme can match.
pub(crate) const DEAD: u32 = 0;
const UNKNOWN: u32 = u32::MAX;
/// Set in a transition-table entry when some lexeme matches in the target
/// state (state ids stay below it: see `Limits::max_dfa_states`).
const ACCEPTS: u32 = 1 << 30;

/// The immutable part of the lexer, shared by every matcher.
#[derive(Debug)]
pub(crate) struct Lexer {
    nfa: NFA,
    classes: [u8; 256],
    stride: usize,
    max_states: usize,
    /// Per NFA state: the lexeme it belongs to (see `state_lexemes`).
    state_lexeme: Vec<u32>,
    max_cache_bytes: usize,
    /// Lexemes with texts left out (`Expr::Except`): the automaton of the
    /// left-out texts of lexeme `l` is pattern `shadow[l]` (`NO_SHADOW`
    /// if none), after the lexemes' own patterns. Shadow patterns never
    /// match on their own: where one matches, its owner's match is
    /// dropped, and where its owner has no NFA state left, it goes too.
    shadow: Vec<u32>,
    /// The owner of each shadow pattern (indexed by pattern - lexemes).
    owner: Vec<u32>,
    /// The number of lexemes (patterns before the shadows).
    num_lexemes: usize,
    /// Per NFA state: what [`Tag`] it has.
    tag: Vec<Tag>,
    /// Per NFA state of an owner: some text of unbounded length leads
    /// from it to a match (see `infinite_states`).
    infinite: Vec<bool>,
    /// One byte of each byte class.
    class_bytes: Vec<u8>,
}

/// `Lexer::shadow` of a lexeme without left-out texts.
const NO_SHADOW: u32 = u32::MAX;

/// The part an NFA state plays with respect to left-out texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    /// A state of a lexeme without left-out texts.
    Plain,
    /// A state of a lexeme with left-out texts.
    Owner,
    /// A state of a shadow pattern, not its match.
    Shadow,
    /// The match state of a shadow pattern.
    ShadowMatch,
}

impl Lexer {
    /// The lexer of `lexemes`, lexeme `l` leaving out the texts of
    /// `except[l]` if any (`except` may be shorter than `lexemes`).
    pub(crate) fn new(
        lexemes: &[Hir],
        except: &[Option<Hir>],
        limits: &Limits,
    ) -> Result<Lexer, GrammarError> {
        let mut shadow = vec![NO_SHADOW; lexemes.len()];
        let mut owner = Vec::new();
        let mut patterns: Vec<&Hir> = lexemes.iter().collect();
        for (l, h) in except.iter().enumerate() {
            if let Some(h) = h {
                shadow[l] = patterns.len() as u32;
                owner.push(l as u32);
                patterns.push(h);
            }
        }
        let config = thompson::Config::new()
            .which_captures(WhichCaptures::None)
            .nfa_size_limit(Some(limits.nfa_bytes))
            .shrink(false);
        // A compiler allocates large scratch tables (UTF-8 suffix maps)
        // when created: each thread keeps one for all its grammars.
        thread_local! {
            static COMPILER: std::cell::RefCell<thompson::Compiler> =
                std::cell::RefCell::new(thompson::Compiler::new());
        }
        let nfa = COMPILER.with(|c| {
            c.borrow_mut()
                .configure(config)
                .build_many_from_hir(&patterns)
                .map_err(|e| match e.size_limit() {
                    Some(limit) => GrammarError::Limit {
                        what: "heap size of the lexer automaton in bytes".into(),
                        value: limit as u64 + 1,
                        limit: limit as u64,
                    },
                    None => {
                        GrammarError::Invalid(format!("building the lexer automaton failed: {e}"))
                    }
                })
        })?;
        if !nfa.look_set_any().is_empty() {
            return Err(GrammarError::Invalid(
                "lexemes may not contain look-around assertions".into(),
            ));
        }
        let bc = nfa.byte_classes();
        let mut classes = [0u8; 256];
        for b in 0..=255u8 {
            classes[b as usize] = bc.get(b);
        }
        let stride = bc.alphabet_len();
        let mut class_bytes = vec![0u8; stride];
        for b in (0..=255u8).rev() {
            class_bytes[classes[b as usize] as usize] = b;
        }
        let state_lexeme = state_lexemes(&nfa, patterns.len());
        let n = lexemes.len();
        let mut tag = vec![Tag::Plain; state_lexeme.len()];
        let mut infinite = Vec::new();
        if !owner.is_empty() {
            infinite = vec![false; state_lexeme.len()];
            for (x, &l) in state_lexeme.iter().enumerate() {
                tag[x] = match l {
                    SHARED => continue,
                    l if (l as usize) < n && shadow[l as usize] == NO_SHADOW => Tag::Plain,
                    l if (l as usize) < n => Tag::Owner,
                    _ => match nfa.state(StateID::new_unchecked(x)) {
                        State::Match { .. } => Tag::ShadowMatch,
                        _ => Tag::Shadow,
                    },
                };
            }
            // Telling owners and shadows apart needs states of one pattern
            // each: no shared state reachable from them (one walk for all).
            let mut seen = vec![false; state_lexeme.len()];
            let mut stack: Vec<StateID> = owner
                .iter()
                .map(|&o| o as usize)
                .chain(n..patterns.len())
                .filter_map(|p| nfa.start_pattern(regex_automata::PatternID::new_unchecked(p)))
                .collect();
            while let Some(id) = stack.pop() {
                if std::mem::replace(&mut seen[id.as_usize()], true) {
                    continue;
                }
                if state_lexeme[id.as_usize()] == SHARED {
                    return Err(GrammarError::Invalid(
                        "internal: a lexeme with left-out texts shares its automaton".into(),
                    ));
                }
                successors(&nfa, id, &mut stack);
            }
            for &o in &owner {
                let pid = regex_automata::PatternID::new_unchecked(o as usize);
                infinite_states(&nfa, nfa.start_pattern(pid), &mut infinite);
            }
        }
        Ok(Lexer {
            nfa,
            classes,
            stride,
            max_states: limits.max_dfa_states.min(ACCEPTS as usize - 1),
            state_lexeme,
            max_cache_bytes: limits.max_lexer_cache_bytes,
            shadow,
            owner,
            num_lexemes: n,
            tag,
            infinite,
            class_bytes,
        })
    }

    /// True if some lexeme leaves texts out (so DFA states are normalized).
    #[inline]
    fn has_shadows(&self) -> bool {
        !self.owner.is_empty()
    }

    /// The owner lexeme of the shadow pattern NFA state `x` belongs to.
    #[inline]
    fn owner_of(&self, x: u32) -> u32 {
        self.owner[self.state_lexeme[x as usize] as usize - self.num_lexemes]
    }

    /// Whether lexeme `l`'s NFA states belong to it alone, so that it can
    /// be removed from a DFA state ([`LexerCache::without`]).
    pub(crate) fn is_isolated(&self, l: u32) -> bool {
        !self.state_lexeme.contains(&SHARED) || {
            // Only a shared state reachable from `l` would be a problem.
            let pid = regex_automata::PatternID::new_unchecked(l as usize);
            let mut seen = vec![false; self.state_lexeme.len()];
            let mut stack: Vec<StateID> = self.nfa.start_pattern(pid).into_iter().collect();
            let mut ok = true;
            while let Some(id) = stack.pop() {
                if std::mem::replace(&mut seen[id.as_usize()], true) {
                    continue;
                }
                ok &= self.state_lexeme[id.as_usize()] != SHARED;
                successors(&self.nfa, id, &mut stack);
            }
            ok
        }
    }

    /// The byte class of `b`: bytes of one class move every state alike.
    #[inline]
    pub(crate) fn class(&self, b: u8) -> u8 {
        self.classes[b as usize]
    }

    /// Approximate heap size of the automaton, in bytes.
    pub(crate) fn memory_usage(&self) -> usize {
        self.nfa.memory_usage()
    }

    pub(crate) fn num_nfa_states(&self) -> usize {
        self.nfa.states().len()
    }
}

/// True if NFA state `x` has a transition on every byte of `first` (the
/// slice automaton's transitions between characters, one byte per lexer
/// byte class): only such a state can survive a character on its own.
fn covers_first_bytes(lexer: &Lexer, first: &[(u8, u8)], x: u32) -> bool {
    let id = StateID::new_unchecked(x as usize);
    first.iter().all(|&(b, _)| match lexer.nfa.state(id) {
        State::ByteRange { trans } => trans.matches_byte(b),
        State::Sparse(t) => t.matches_byte(b).is_some(),
        State::Dense(t) => t.matches_byte(b).is_some(),
        _ => false,
    })
}

/// Marks an NFA state reachable from the starts of several lexemes.
const SHARED: u32 = u32::MAX;

/// True for NFA states that left-out texts cannot take out of a DFA
/// state: those of lexemes without any, and those with unbounded texts
/// ahead (see `Lexer::shadow`). Shadow states keep nothing alive.
#[inline]
fn lasting(lexer: &Lexer, x: u32) -> bool {
    match lexer.tag[x as usize] {
        Tag::Plain => true,
        Tag::Owner => lexer.infinite[x as usize],
        Tag::Shadow | Tag::ShadowMatch => false,
    }
}

/// The targets of NFA state `id`'s transitions on ordinary bytes.
fn ordinary_targets(nfa: &NFA, id: StateID, out: &mut Vec<StateID>) {
    match nfa.state(id) {
        State::ByteRange { trans } if ordinary_between(trans.start, trans.end) => {
            out.push(trans.next)
        }
        State::Sparse(t) => out.extend(
            t.transitions
                .iter()
                .filter(|r| ordinary_between(r.start, r.end))
                .map(|r| r.next),
        ),
        State::Dense(t) => out.extend(
            t.transitions
                .iter()
                .enumerate()
                .filter(|&(b, n)| ordinary_between(b as u8, b as u8) && *n != StateID::ZERO)
                .map(|(_, &n)| n),
        ),
        _ => {}
    }
}

/// True for NFA state `x` if it is a match state.
#[inline]
fn is_match(lexer: &Lexer, x: u32) -> bool {
    matches!(
        lexer.nfa.state(StateID::new_unchecked(x as usize)),
        State::Match { .. }
    )
}

/// True for NFA states that read a byte.
#[inline]
fn is_consuming(s: &State) -> bool {
    matches!(
        s,
        State::ByteRange { .. } | State::Sparse(_) | State::Dense(_)
    )
}

/// Marks in `out` the NFA states reachable from `start` from which texts
/// of unbounded length lead to a match: those that reach a cycle reading
/// at least one byte (every state of a regex's automaton reaches its
/// match). Strongly connected components by Tarjan's algorithm, without
/// recursion.
fn infinite_states(nfa: &NFA, start: Option<StateID>, out: &mut [bool]) {
    // The reachable states, numbered locally, and their successors.
    let mut local: HashMap<u32, usize> = HashMap::default();
    let mut nodes: Vec<StateID> = Vec::new();
    let mut stack: Vec<StateID> = start.into_iter().collect();
    while let Some(id) = stack.pop() {
        if local.contains_key(&id.as_u32()) {
            continue;
        }
        local.insert(id.as_u32(), nodes.len());
        nodes.push(id);
        successors(nfa, id, &mut stack);
    }
    let n = nodes.len();
    let mut succ: Vec<Vec<usize>> = Vec::with_capacity(n);
    let mut buf = Vec::new();
    for &id in &nodes {
        buf.clear();
        successors(nfa, id, &mut buf);
        succ.push(buf.iter().map(|s| local[&s.as_u32()]).collect());
    }
    // Tarjan: `index`, `low`, the component stack, and a call stack of
    // (node, next successor to visit).
    const NONE: usize = usize::MAX;
    let mut index = vec![NONE; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut comp = vec![NONE; n];
    let mut comps = 0;
    let mut order = 0;
    let mut cstack: Vec<usize> = Vec::new();
    let mut calls: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != NONE {
            continue;
        }
        calls.push((root, 0));
        index[root] = order;
        low[root] = order;
        order += 1;
        cstack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut k)) = calls.last_mut() {
            if let Some(&w) = succ[v].get(*k) {
                *k += 1;
                if index[w] == NONE {
                    index[w] = order;
                    low[w] = order;
                    order += 1;
                    cstack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(u, _)) = calls.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = cstack.pop() {
                    on_stack[w] = false;
                    comp[w] = comps;
                    if w == v {
                        break;
                    }
                }
                comps += 1;
            }
        }
    }
    // Components with a byte-reading edge inside, then what reaches them.
    let mut pumps = vec![false; comps];
    for v in 0..n {
        if is_consuming(nfa.state(nodes[v])) && succ[v].iter().any(|&w| comp[w] == comp[v]) {
            pumps[comp[v]] = true;
        }
    }
    let mut pred: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (v, ws) in succ.iter().enumerate() {
        for &w in ws {
            pred[w].push(v);
        }
    }
    let mut inf = vec![false; n];
    let mut work: Vec<usize> = (0..n).filter(|&v| pumps[comp[v]]).collect();
    while let Some(v) = work.pop() {
        if std::mem::replace(&mut inf[v], true) {
            continue;
        }
        work.extend(pred[v].iter().copied().filter(|&u| !inf[u]));
    }
    for (id, &f) in nodes.iter().zip(&inf) {
        out[id.as_usize()] = f;
    }
}

/// The NFA states directly after `id`.
fn successors(nfa: &NFA, id: StateID, out: &mut Vec<StateID>) {
    match nfa.state(id) {
        State::ByteRange { trans } => out.push(trans.next),
        State::Sparse(t) => out.extend(t.transitions.iter().map(|t| t.next)),
        State::Dense(t) => out.extend(t.transitions.iter().copied()),
        State::Union { alternates } => out.extend(alternates.iter().copied()),
        State::BinaryUnion { alt1, alt2 } => out.extend([*alt1, *alt2]),
        State::Capture { next, .. } => out.push(*next),
        State::Look { next, .. } => out.push(*next),
        State::Match { .. } | State::Fail => {}
    }
}

/// Labels every NFA state with the one lexeme whose start reaches it
/// (`SHARED` if several do; unreachable states are `SHARED` too).
fn state_lexemes(nfa: &NFA, n: usize) -> Vec<u32> {
    const NONE: u32 = u32::MAX - 1;
    let mut label = vec![NONE; nfa.states().len()];
    let mut stack = Vec::new();
    for l in 0..n {
        let pid = regex_automata::PatternID::new_unchecked(l);
        stack.extend(nfa.start_pattern(pid));
        while let Some(id) = stack.pop() {
            let x = &mut label[id.as_usize()];
            if *x == l as u32 || *x == SHARED {
                continue;
            }
            *x = if *x == NONE { l as u32 } else { SHARED };
            successors(nfa, id, &mut stack);
        }
    }
    for x in &mut label {
        if *x == NONE {
            *x = SHARED;
        }
    }
    label
}

/// A DFA state's data.
#[derive(Clone, Debug)]
struct DState {
    /// Range into `LexerCache::pool`: the sorted NFA states of this state.
    set: (u32, u32),
    /// Range into `LexerCache::pool`: the sorted lexemes that match here.
    accepts: (u32, u32),
    /// Some byte can follow (the set holds a consuming NFA state).
    can_advance: bool,
    /// Interned id of the `accepts` set (equal sets, equal ids).
    accept_id: u32,
}

/// The tokens a lexer state decides on its own, for the mask fast path.
///
/// Walking the token trie from DFA state `s` with lexer transitions only,
/// a token whose bytes keep the DFA alive is allowed whatever the parser
/// state (the parser allowed every lexeme still alive in `s`, and every
/// rule is productive, so continuing or completing one is viable). Where a
/// lexeme may complete, what follows the completion is the parser's
/// business: those trie nodes are listed with the DFA state before them,
/// for the caller to walk their children from the row after the
/// completion.
#[derive(Debug)]
pub(crate) struct StateTokens {
    /// The first this many slice groups are allowed whole (see
    /// [`Slices::prefix_bits`]).
    pub(crate) groups: usize,
    /// The other tokens allowed by the lexer alone.
    pub(crate) allowed: Allowed,
    /// Trie nodes where a lexeme completes: the trie they are in (see
    /// [`Slices::trie`], or [`FULL_TRIE`]), the node, and the DFA state of
    /// the node's parent; sorted by that state and the byte class of the
    /// node, so that nodes completing alike are adjacent.
    pub(crate) frontier: Vec<(TrieIndex, u32, u32)>,
}

/// A set of tokens: a list when it is small, else mask words.
#[derive(Debug)]
pub(crate) enum Allowed {
    /// Token ids (duplicates possible).
    List(Vec<u32>),
    /// Mask words.
    Bits(Vec<u32>),
}

impl Allowed {
    fn memory_usage(&self) -> usize {
        match self {
            Allowed::List(v) | Allowed::Bits(v) => v.capacity() * 4,
        }
    }
}

/// Heap bytes of [`StateTokens`] one cache keeps; past this, the tables
/// are dropped and rebuilt on demand.
const MAX_STATE_TOKENS_BYTES: usize = 24 << 20;

/// The distinct sets of NFA states one NFA state leads to after each
/// ordinary character (see `LexerCache::ends_of`).
type CharEnds = Arc<[Box<[u32]>]>;

/// A set of (lexer state, slice state) pairs, emptied in O(1): a stamp per
/// pair, the set holding the pairs stamped with the current round.
#[derive(Debug, Default)]
struct PairSet {
    stamps: Vec<u32>,
    round: u32,
}

/// Scratch space: a clone starts empty (caches are cloned for every new
/// matcher).
impl Clone for PairSet {
    fn clone(&self) -> PairSet {
        PairSet::default()
    }
}

impl PairSet {
    fn next_round(&mut self) {
        self.round = self.round.wrapping_add(1);
        if self.round == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.round = 1;
        }
    }

    /// Adds the pair of lexer state `p` (with or without [`ACCEPTS`]) and
    /// slice state `q` of `nq`; false if it was there.
    #[inline]
    fn insert(&mut self, p: u32, q: u8, nq: usize) -> bool {
        let i = (p & !ACCEPTS) as usize * nq + q as usize;
        if i >= self.stamps.len() {
            self.stamps.resize((i + 1).next_power_of_two(), 0);
        }
        std::mem::replace(&mut self.stamps[i], self.round) != self.round
    }
}

/// The mutable, lazily filled transition table of the lexer DFA.
#[derive(Clone, Debug, Default)]
pub(crate) struct LexerCache {
    trans: Vec<u32>,
    states: Vec<DState>,
    pool: Vec<u32>,
    map: HashMap<Box<[u32]>, u32>,
    starts: HashMap<Box<[u32]>, u32>,
    state_tokens: HashMap<u32, Arc<StateTokens>>,
    state_tokens_bytes: usize,
    /// Scratch list of allowed tokens while building a table.
    scratch: Vec<u32>,
    /// The slice automaton's transitions, one byte per lexer byte class.
    slice_trans: Vec<Vec<(u8, u8)>>,
    /// Scratch set of (lexer state, slice state) pairs of `slice_depth`.
    pairs: PairSet,
    /// Per NFA state: 1 if it survives any ordinary text on its own, 2 if
    /// not, 0 if not known yet (see `is_immortal`).
    immortal: Vec<u8>,
    /// Per NFA state: the most ordinary characters it is known to survive
    /// on its own, and the fewest it is known not to (see `lives`).
    life: Vec<(u8, u8)>,
    /// Sets of NFA states known to survive any ordinary text together, or
    /// not to (see `immortal_together`).
    immortal_sets: HashMap<Box<[u32]>, bool>,
    /// Per NFA state: 1 if an immortal state is near, 2 if not, 0 if not
    /// known yet (see `near_immortal`).
    near: Vec<u8>,
    /// What is left of the work allowed to one `threads_depth`.
    thread_budget: usize,
    /// See `ends_of`.
    char_ends: HashMap<u32, Option<CharEnds>>,
    /// Heap bytes of `char_ends` (approximate).
    char_ends_bytes: usize,
    accept_ids: HashMap<Box<[u32]>, u32>,
    /// `without` results: (state, removed lexemes) → state.
    without: HashMap<(u32, Box<[u32]>), u32>,
    /// Heap bytes of states, transitions and token tables (approximate).
    bytes: usize,
    // Scratch for closures.
    seen: Vec<u32>,
    stamp: u32,
    stack: Vec<StateID>,
    set: Vec<u32>,
}

impl LexerCache {
    pub(crate) fn new(lexer: &Lexer) -> LexerCache {
        let mut c = LexerCache {
            trans: Vec::new(),
            states: Vec::new(),
            pool: Vec::new(),
            map: HashMap::default(),
            starts: HashMap::default(),
            state_tokens: HashMap::default(),
            state_tokens_bytes: 0,
            scratch: Vec::new(),
            slice_trans: Vec::new(),
            pairs: PairSet::default(),
            immortal: Vec::new(),
            life: Vec::new(),
            immortal_sets: HashMap::default(),
            near: Vec::new(),
            thread_budget: 0,
            char_ends: HashMap::default(),
            char_ends_bytes: 0,
            accept_ids: HashMap::default(),
            without: HashMap::default(),
            bytes: 0,
            seen: vec![0; lexer.nfa.states().len()],
            stamp: 0,
            stack: Vec::new(),
            set: Vec::new(),
        };
        // State 0 is the dead state; its transitions all lead back to it.
        c.add_state(lexer, Vec::new());
        c
    }

    /// Heap bytes used by this cache.
    pub(crate) fn memory_usage(&self) -> usize {
        self.trans.capacity() * 4
            + self.pool.capacity() * 4
            + self.states.capacity() * std::mem::size_of::<DState>()
            + self.map.len() * 48
            + self.starts.len() * 48
            + self.state_tokens_bytes
            + self.immortal.capacity()
            + self.life.capacity() * 2
            + self.char_ends_bytes
            + self.char_ends.len() * 24
            + self.near.capacity()
            + self
                .immortal_sets
                .keys()
                .map(|k| k.len() * 4 + 32)
                .sum::<usize>()
            + self.pairs.stamps.capacity() * 4
    }

    /// True if state `s` has a token table.
    pub(crate) fn has_state_tokens(&self, s: u32) -> bool {
        self.state_tokens.contains_key(&s)
    }

    /// The tokens state `s` decides on its own (built on first use; the
    /// tables are dropped when they exceed the per-cache memory budget).
    ///
    /// With `slices`, groups of ordinary-text tokens that state `s` lets
    /// through whole are added without a walk; the other groups and the
    /// rest of the vocabulary are walked.
    pub(crate) fn state_tokens(
        &mut self,
        lexer: &Lexer,
        vocab: &Vocabulary,
        slices: Option<&Slices>,
        s: u32,
    ) -> Result<Arc<StateTokens>, MaskError> {
        if let Some(t) = self.state_tokens.get(&s) {
            return Ok(t.clone());
        }
        let mut list = std::mem::take(&mut self.scratch);
        list.clear();
        let mut frontier = Vec::new();
        let mut groups = 0;
        let res = match slices {
            None => self.walk_lexer(lexer, vocab.trie(), FULL_TRIE, s, &mut list, &mut frontier),
            Some(sl) => (|| {
                let depth = self.slice_depth(lexer, sl, s)?;
                let whole = sl
                    .groups
                    .iter()
                    .take_while(|g| depth == usize::MAX || g.max_len < depth)
                    .count();
                // The groups' tries repeat the prefixes they share, so
                // when few groups are let through whole, one walk of the
                // vocabulary's own trie visits fewer nodes.
                let walked: usize = sl.groups[whole..]
                    .iter()
                    .map(|g| g.trie.num_nodes())
                    .sum::<usize>()
                    + sl.rest.num_nodes();
                if walked > vocab.trie().num_nodes() {
                    return self.walk_lexer(
                        lexer,
                        vocab.trie(),
                        FULL_TRIE,
                        s,
                        &mut list,
                        &mut frontier,
                    );
                }
                groups = whole;
                for (j, g) in sl.groups.iter().enumerate().skip(whole) {
                    self.walk_lexer(lexer, &g.trie, j as u32, s, &mut list, &mut frontier)?;
                }
                self.walk_lexer(
                    lexer,
                    &sl.rest,
                    sl.rest_index(),
                    s,
                    &mut list,
                    &mut frontier,
                )
            })(),
        };
        frontier.sort_by_key(|&(which, node, parent)| {
            let byte = frontier_trie(vocab, slices, which).node_byte(node as usize);
            (parent, lexer.class(byte), node)
        });
        let words = vocab.len().div_ceil(32);
        let allowed = if list.len() > words {
            let mut bits = vec![0u32; words];
            for &t in &list {
                bits[t as usize / 32] |= 1 << (t % 32);
            }
            Allowed::Bits(bits)
        } else {
            Allowed::List(list.clone())
        };
        self.scratch = list;
        res?;
        let t = Arc::new(StateTokens {
            groups,
            allowed,
            frontier,
        });
        let bytes = t.allowed.memory_usage() + t.frontier.capacity() * 12 + 64;
        if self.state_tokens_bytes + bytes > MAX_STATE_TOKENS_BYTES {
            self.state_tokens.clear();
            self.state_tokens_bytes = 0;
        }
        self.state_tokens_bytes += bytes;
        self.state_tokens.insert(s, t.clone());
        Ok(t)
    }

    /// Walks `trie` from state `s` with lexer transitions only: tokens that
    /// keep the DFA alive go to `allowed` (also those ending where a
    /// lexeme matches: the parser allowed every lexeme alive in `s`, so
    /// completing one is viable); nodes where a lexeme matches also go to
    /// `frontier`, for the parser to walk their children after the
    /// completion.
    fn walk_lexer(
        &mut self,
        lexer: &Lexer,
        trie: &TokenTrie,
        which: TrieIndex,
        s: u32,
        allowed: &mut Vec<u32>,
        frontier: &mut Vec<(TrieIndex, u32, u32)>,
    ) -> Result<(), MaskError> {
        let n = trie.num_nodes();
        // (subtree end, DFA state) of the nodes on the current path.
        let mut stack: Vec<(usize, u32)> = vec![(n, s)];
        let mut i = 1;
        while i < n {
            while stack.last().is_some_and(|&(end, _)| i >= end) {
                stack.pop();
            }
            let Some(&(_, parent)) = stack.last() else {
                break;
            };
            let t = self.next_flagged(lexer, parent, trie.node_byte(i))?;
            if t == DEAD {
                i = trie.subtree_end(i);
                continue;
            }
            if t & ACCEPTS != 0 {
                // A lexeme may end here: the parser walks what follows
                // the completion (the node's children, from the row after
                // it); the lexeme going on is walked here.
                frontier.push((which, i as u32, parent));
            }
            let t = t & !ACCEPTS;
            if let Some(tok) = trie.node_token(i) {
                allowed.push(tok.0);
                allowed.extend(trie.node_duplicates(i).iter().map(|d| d.0));
            }
            stack.push((trie.subtree_end(i), t));
            i += 1;
        }
        Ok(())
    }

    /// The shortest byte length of ordinary text (see [`Slices`]) that,
    /// read from state `s`, kills the DFA or completes a lexeme:
    /// `usize::MAX` if none does. Lengths above [`MAX_BOUNDED`] are
    /// reported as a lower bound (at least `MAX_BOUNDED + 1`), not exactly.
    fn slice_depth(&mut self, lexer: &Lexer, sl: &Slices, s: u32) -> Result<usize, MaskError> {
        /// Product states explored beyond the bounded depths. Keys of
        /// objects with many declared properties need a few hundred (every
        /// prefix of a declared key is its own DFA state); proving their
        /// text unbounded skips a walk of nearly the whole vocabulary.
        const CLOSURE_CAP: usize = 1024;
        /// Product states expanded in all: past this, the depth reached
        /// so far is reported (exact for every shorter text).
        const WORK_CAP: usize = 4096;
        if self.slice_trans.is_empty() {
            // One byte per (slice target, lexer byte class): bytes of one
            // class move the lexer alike.
            self.slice_trans = (0..sl.num_states())
                .map(|q| {
                    let mut seen = HashSet::default();
                    sl.transitions(q as u8)
                        .iter()
                        .copied()
                        .filter(|&(b, q2)| seen.insert((q2, lexer.classes[b as usize])))
                        .collect()
                })
                .collect();
        }
        let trans = std::mem::take(&mut self.slice_trans);
        let longest = sl.groups.last().map_or(MAX_BOUNDED, |g| g.max_len);
        let res = self
            .threads_depth(lexer, &trans, s, longest)
            .and_then(|fast| {
                if fast > MAX_BOUNDED {
                    Ok(fast)
                } else {
                    self.slice_depth_with(lexer, &trans, s, CLOSURE_CAP, WORK_CAP)
                        .map(|d| d.max(fast))
                }
            });
        self.slice_trans = trans;
        res
    }

    /// A lower bound of [`LexerCache::slice_depth`] from single NFA
    /// states, without exploring the DFA: ordinary text shorter than the
    /// bound cannot complete a lexeme (no NFA state of `s` reaches a match
    /// with fewer ordinary bytes, [`LexerCache::match_distance`]), nor kill the DFA
    /// (some NFA state of `s` survives that many ordinary characters on
    /// its own, [`LexerCache::lives`]). `usize::MAX` when neither can ever
    /// happen. Inside strings this is the answer: their character loop
    /// survives any text and only a quote completes them.
    fn threads_depth(
        &mut self,
        lexer: &Lexer,
        trans: &[Vec<(u8, u8)>],
        s: u32,
        sl_longest: usize,
    ) -> Result<usize, MaskError> {
        const NEED: u8 = MAX_BOUNDED as u8;
        // Characters of the longest ordinary token (bytes bound them).
        let longest = sl_longest.clamp(MAX_BOUNDED, u8::MAX as usize - 1) as u8;
        /// NFA states stepped and reached per call (some microseconds of
        /// work for each thousand).
        const THREAD_BUDGET: usize = 20_000;
        self.thread_budget = THREAD_BUDGET;
        let n = lexer.nfa.states().len();
        if self.immortal.len() != n {
            self.immortal = vec![0; n];
            self.life = vec![(0, u8::MAX); n];
            self.near = vec![0; n];
        }
        // Survival: an immortal state, else the longest bounded life.
        let (a, b) = self.states[s as usize].set;
        let mut life = 0u8;
        for k in a..b {
            let x = self.pool[k as usize];
            if !covers_first_bytes(lexer, &trans[Slices::START as usize], x) {
                continue;
            }
            // Shadows keep nothing alive, and an owner's thread outlives
            // its left-out texts (which are bounded) only while it has
            // unbounded texts ahead: `lives` only counts such states.
            if !lasting(lexer, x) {
                continue;
            }
            if self.is_immortal(lexer, trans, x) {
                life = u8::MAX;
                break;
            }
            // The group bounds that matter most: every group (the long
            // tokens of a `maxLength: 32767` string), all bounded groups,
            // or the shorter half.
            for need in [longest, NEED, NEED / 2, NEED / 4] {
                if need <= life {
                    break;
                }
                if self.lives(lexer, trans, x, need) {
                    life = need;
                    break;
                }
            }
        }
        if life != u8::MAX && self.immortal_together(lexer, trans, s) {
            life = u8::MAX;
        }
        if life == 0 {
            // Nothing proven: the first character may kill it.
            return Ok(1);
        }
        let to_match = self.match_distance(lexer, s);
        let kill = if life == u8::MAX {
            usize::MAX
        } else {
            life as usize + 1
        };
        let complete = if to_match == u8::MAX {
            usize::MAX
        } else {
            to_match as usize
        };
        Ok(kill.min(complete))
    }

    /// The fewest ordinary bytes (see [`Slices`]) read from state `s`
    /// before some lexeme matches, ignoring which byte sequences are valid
    /// UTF-8 (so never more than the truth), or a lower bound of it when
    /// the search gives up (at most 254); `u8::MAX` if no match can be
    /// reached. The search goes on past [`MAX_BOUNDED`] bytes (each NFA
    /// state is reached once) to tell the two apart: the long literal keys
    /// of an object are far from their match but never reach it on
    /// ordinary text, since their closing quote is not.
    fn match_distance(&mut self, lexer: &Lexer, s: u32) -> u8 {
        /// NFA states reached past `MAX_BOUNDED` bytes before giving up.
        const FAR_STATES: usize = 4096;
        self.next_stamp();
        let (a, b) = self.states[s as usize].set;
        let mut level: Vec<StateID> = Vec::new();
        for k in a..b {
            let x = self.pool[k as usize];
            // Shadows never match (their states lead only to their own).
            if matches!(lexer.tag[x as usize], Tag::Shadow | Tag::ShadowMatch) {
                continue;
            }
            self.seen[x as usize] = self.stamp;
            level.push(StateID::new_unchecked(x as usize));
        }
        let mut next: Vec<StateID> = Vec::new();
        let mut consuming: Vec<StateID> = Vec::new();
        let mut far = 0;
        let mut depth = 0;
        loop {
            // No match closer than `depth`: a lower bound past 254.
            depth = (depth + 1).min(u8::MAX as usize - 1);
            let d = depth as u8;
            if d as usize > MAX_BOUNDED {
                far += level.len();
                if far > FAR_STATES {
                    return d;
                }
            }
            // The targets of ordinary bytes, then their epsilon closure.
            consuming.clear();
            consuming.append(&mut level);
            for &x in &consuming {
                ordinary_targets(&lexer.nfa, x, &mut self.stack);
            }
            while let Some(id) = self.pop_unseen() {
                match lexer.nfa.state(id) {
                    State::Match { .. } => {
                        self.stack.clear();
                        return d;
                    }
                    State::ByteRange { .. } | State::Sparse(_) | State::Dense(_) => next.push(id),
                    State::Union { alternates } => self.stack.extend(alternates.iter()),
                    State::BinaryUnion { alt1, alt2 } => self.stack.extend([*alt1, *alt2]),
                    State::Capture { next, .. } | State::Look { next, .. } => {
                        self.stack.push(*next)
                    }
                    State::Fail => {}
                }
            }
            if next.is_empty() {
                return u8::MAX;
            }
            std::mem::swap(&mut level, &mut next);
        }
    }

    /// True if reading any one ordinary character from NFA state `x`
    /// alone leads to a set that holds `x` again: by induction, `x`'s
    /// thread survives any ordinary text (within a character, the set
    /// stays non-empty on the way).
    fn is_immortal(&mut self, lexer: &Lexer, trans: &[Vec<(u8, u8)>], x: u32) -> bool {
        match self.immortal[x as usize] {
            1 => return true,
            2 => return false,
            _ => {}
        }
        let ok = self
            .ends_of(lexer, trans, x)
            .is_some_and(|ends| ends.iter().all(|set| set.contains(&x)));
        // Out of budget proves nothing: decided again next time.
        if ok || self.thread_budget > 0 {
            self.immortal[x as usize] = if ok { 1 } else { 2 };
        }
        ok
    }

    /// True if the NFA states of `s` together survive any ordinary text:
    /// any ordinary character read from them leaves an
    /// [immortal](LexerCache::is_immortal) state, or (twice more at most)
    /// states that do so again. The first characters of keys split by a
    /// pattern (`^x-` and its complement: `x`, then `-` or not) are spread
    /// over states none of which reads every character on its own, and
    /// over two lexemes; two characters later, a string's character loop
    /// is reached. Only states that left-out texts cannot end count (see
    /// `Lexer::shadow`), and of those only the ones near an immortal state
    /// (keys merged with their values are many states, and none is): a
    /// subset that survives proves the whole set survives.
    fn immortal_together(&mut self, lexer: &Lexer, trans: &[Vec<(u8, u8)>], s: u32) -> bool {
        let (a, b) = self.states[s as usize].set;
        let mut set = Vec::new();
        for k in a..b {
            let x = self.pool[k as usize];
            if lasting(lexer, x)
                && is_consuming(lexer.nfa.state(StateID::new_unchecked(x as usize)))
                && self.near_immortal(lexer, trans, x)
            {
                set.push(x);
            }
        }
        if set.len() < 2 {
            // A single state was asked on its own.
            return false;
        }
        if let Some(&known) = self.immortal_sets.get(set.as_slice()) {
            return known;
        }
        let key = set.clone().into_boxed_slice();
        let ok = self.survives(lexer, trans, set, 2);
        // Out of budget proves nothing: decided again next time.
        if ok || self.thread_budget > 0 {
            self.immortal_sets.insert(key, ok);
        }
        ok
    }

    /// True if an immortal state that reads every first byte is reached
    /// from NFA state `x` within 8 ordinary bytes (two characters of up to
    /// four). Remembered per state.
    fn near_immortal(&mut self, lexer: &Lexer, trans: &[Vec<(u8, u8)>], x: u32) -> bool {
        match self.near[x as usize] {
            1 => return true,
            2 => return false,
            _ => {}
        }
        let mut level = vec![x];
        let mut seen: HashSet<u32> = HashSet::default();
        seen.insert(x);
        let mut found = false;
        let mut targets = Vec::new();
        for _ in 0..=8 {
            if level.iter().any(|&y| {
                covers_first_bytes(lexer, &trans[Slices::START as usize], y)
                    && self.is_immortal(lexer, trans, y)
            }) {
                found = true;
                break;
            }
            // The consuming states after one more ordinary byte.
            targets.clear();
            for &y in &level {
                ordinary_targets(&lexer.nfa, StateID::new_unchecked(y as usize), &mut targets);
            }
            self.next_stamp();
            let saved = std::mem::take(&mut self.set);
            for &t in &targets {
                self.closure(lexer, t);
            }
            let reached = std::mem::replace(&mut self.set, saved);
            level = reached
                .into_iter()
                .filter(|&z| {
                    is_consuming(lexer.nfa.state(StateID::new_unchecked(z as usize)))
                        && seen.insert(z)
                })
                .collect();
            if level.is_empty() {
                break;
            }
        }
        // Out of budget proves nothing: decided again next time.
        if found || self.thread_budget > 0 {
            self.near[x as usize] = if found { 1 } else { 2 };
        }
        found
    }

    /// See [`LexerCache::immortal_together`]: `set` holds only states
    /// that left-out texts cannot end, and `more` characters may pass
    /// before an immortal state must be reached.
    fn survives(
        &mut self,
        lexer: &Lexer,
        trans: &[Vec<(u8, u8)>],
        set: Vec<u32>,
        more: u8,
    ) -> bool {
        let mut ends = Vec::new();
        if !self.char_ends(lexer, trans, Slices::START, set, &mut ends) {
            return false;
        }
        for end in ends {
            // States on the way to a lasting state last too (for an owner,
            // they reach its unbounded texts), so only the ends are
            // filtered.
            let end: Vec<u32> = end.iter().copied().filter(|&x| lasting(lexer, x)).collect();
            if end.iter().any(|&y| {
                covers_first_bytes(lexer, &trans[Slices::START as usize], y)
                    && self.is_immortal(lexer, trans, y)
            }) {
                continue;
            }
            if more == 0 || end.is_empty() || !self.survives(lexer, trans, end, more - 1) {
                return false;
            }
        }
        true
    }

    /// True if `x`'s thread alone survives any ordinary text of `need`
    /// characters: each character leaves some NFA state that survives
    /// `need - 1` more. States of a lexeme with left-out texts count only
    /// with unbounded texts ahead, which the left-out texts cannot use up.
    fn lives(&mut self, lexer: &Lexer, trans: &[Vec<(u8, u8)>], x: u32, need: u8) -> bool {
        let (proven, refuted) = self.life[x as usize];
        if need <= proven {
            return true;
        }
        if need >= refuted {
            return false;
        }
        // Refuted while in progress: a cycle back to `x` proves nothing.
        self.life[x as usize].1 = need;
        let ends = self.ends_of(lexer, trans, x);
        let mut ok = ends.is_some();
        if let Some(ends) = ends {
            'chars: for set in ends.iter() {
                for &y in set.iter() {
                    if lasting(lexer, y)
                        && covers_first_bytes(lexer, &trans[Slices::START as usize], y)
                        && self.lives(lexer, trans, y, need - 1)
                    {
                        continue 'chars;
                    }
                }
                ok = false;
                break;
            }
        }
        let out_of_budget = self.thread_budget == 0;
        let e = &mut self.life[x as usize];
        if ok {
            e.0 = e.0.max(need);
            e.1 = refuted;
        } else if out_of_budget {
            e.1 = refuted;
        } else {
            e.1 = refuted.min(need);
        }
        ok
    }

    /// Reads every ordinary character (one byte per lexer byte class)
    /// from `set` in slice state `q`, adding to `out` each distinct set
    /// reached after a whole character: false if some prefix of a
    /// character kills the set.
    fn char_ends(
        &mut self,
        lexer: &Lexer,
        trans: &[Vec<(u8, u8)>],
        q: u8,
        set: Vec<u32>,
        out: &mut Vec<Box<[u32]>>,
    ) -> bool {
        for &(b, q2) in &trans[q as usize] {
            let mut next = self.step_set(lexer, &set, b);
            if next.is_empty() {
                return false;
            }
            if q2 != Slices::START {
                if !self.char_ends(lexer, trans, q2, next, out) {
                    return false;
                }
            } else {
                next.sort_unstable();
                if !out.iter().any(|o| **o == *next) {
                    out.push(next.into_boxed_slice());
                }
            }
        }
        true
    }

    /// The distinct sets of consuming NFA states reached from `x` alone
    /// after each ordinary character; `None` if some prefix of a character
    /// kills it. Kept per NFA state: bounded repetitions ask again for
    /// every position.
    fn ends_of(&mut self, lexer: &Lexer, trans: &[Vec<(u8, u8)>], x: u32) -> Option<CharEnds> {
        if let Some(e) = self.char_ends.get(&x) {
            return e.clone();
        }
        let mut out: Vec<Box<[u32]>> = Vec::new();
        let ok = self.char_ends(lexer, trans, Slices::START, vec![x], &mut out);
        let e: Option<CharEnds> = ok.then(|| out.into());
        // Out of budget proves nothing: not kept.
        if ok || self.thread_budget > 0 {
            /// Past this, the sets are dropped and found again on demand.
            const MAX_CHAR_ENDS_BYTES: usize = 8 << 20;
            if self.char_ends_bytes > MAX_CHAR_ENDS_BYTES {
                self.char_ends.clear();
                self.char_ends_bytes = 0;
            }
            self.char_ends_bytes += e.as_ref().map_or(0, |e| {
                e.iter().map(|s| s.len() * 4 + 16).sum::<usize>() + 32
            });
            self.char_ends.insert(x, e.clone());
        }
        e
    }

    /// [`LexerCache::step_all`] within the thread budget.
    fn step_set(&mut self, lexer: &Lexer, from: &[u32], byte: u8) -> Vec<u32> {
        // Out of budget: as if the thread died (a weaker bound, never a
        // wrong one).
        if self.thread_budget == 0 {
            return Vec::new();
        }
        let out = self.step_all(lexer, from, byte);
        self.thread_budget = self
            .thread_budget
            .saturating_sub(1 + from.len() + out.len());
        out
    }

    fn slice_depth_with(
        &mut self,
        lexer: &Lexer,
        trans: &[Vec<(u8, u8)>],
        s: u32,
        closure_cap: usize,
        work_cap: usize,
    ) -> Result<usize, MaskError> {
        let nq = trans.len();
        let mut pairs = std::mem::take(&mut self.pairs);
        let res = (|| {
            let mut work = 0;
            let mut level: Vec<(u8, u32)> = vec![(Slices::START, s)];
            let mut next: Vec<(u8, u32)> = Vec::new();
            for d in 1..=MAX_BOUNDED {
                next.clear();
                pairs.next_round();
                work += level.len();
                if work > work_cap {
                    return Ok(d);
                }
                for &(q, p) in &level {
                    for &(b, q2) in &trans[q as usize] {
                        let p2 = self.next_flagged(lexer, p, b)?;
                        if p2 == DEAD || p2 & ACCEPTS != 0 {
                            return Ok(d);
                        }
                        if pairs.insert(p2, q2, nq) {
                            next.push((q2, p2));
                        }
                    }
                }
                std::mem::swap(&mut level, &mut next);
            }
            // Longer texts all pass through `level`: explore everything
            // reachable from it.
            pairs.next_round();
            let mut seen = 0;
            for &(q, p) in &level {
                pairs.insert(p, q, nq);
                seen += 1;
            }
            while let Some((q, p)) = level.pop() {
                for &(b, q2) in &trans[q as usize] {
                    let p2 = self.next_flagged(lexer, p, b)?;
                    if p2 == DEAD || p2 & ACCEPTS != 0 {
                        return Ok(MAX_BOUNDED + 1);
                    }
                    if pairs.insert(p2, q2, nq) {
                        seen += 1;
                        if seen > closure_cap {
                            return Ok(MAX_BOUNDED + 1);
                        }
                        level.push((q2, p2));
                    }
                }
            }
            Ok(usize::MAX)
        })();
        self.pairs = pairs;
        res
    }

    fn add_state(&mut self, lexer: &Lexer, set: Vec<u32>) -> u32 {
        let id = self.states.len() as u32;
        let s0 = self.pool.len() as u32;
        self.pool.extend_from_slice(&set);
        let s1 = self.pool.len() as u32;
        let mut acc: Vec<u32> = set
            .iter()
            .filter_map(
                |&s| match lexer.nfa.state(StateID::new_unchecked(s as usize)) {
                    State::Match { pattern_id } => Some(pattern_id.as_u32()),
                    _ => None,
                },
            )
            .collect();
        acc.sort_unstable();
        acc.dedup();
        let next_id = self.accept_ids.len() as u32;
        let accept_id = *self
            .accept_ids
            .entry(acc.as_slice().into())
            .or_insert(next_id);
        self.pool.extend_from_slice(&acc);
        let s2 = self.pool.len() as u32;
        // Shadow states are never matched on their own: only the
        // lexemes' states can take the lexing further.
        let can_advance = set.iter().any(|&s| {
            lexer.tag[s as usize] != Tag::Shadow
                && is_consuming(lexer.nfa.state(StateID::new_unchecked(s as usize)))
        });
        self.states.push(DState {
            set: (s0, s1),
            accepts: (s1, s2),
            can_advance,
            accept_id,
        });
        // Transitions, the set and accepts in the pool, the map's key.
        self.bytes +=
            (lexer.stride + 2 * set.len() + acc.len()) * 4 + std::mem::size_of::<DState>() + 48;
        let fill = if id == DEAD { DEAD } else { UNKNOWN };
        self.trans.extend(std::iter::repeat_n(fill, lexer.stride));
        self.map.insert(set.into_boxed_slice(), id);
        id
    }

    /// Adds to `self.set` the closure of where NFA state `x` goes on `byte`.
    #[inline]
    fn step_into_set(&mut self, lexer: &Lexer, x: u32, byte: u8) {
        let next = match lexer.nfa.state(StateID::new_unchecked(x as usize)) {
            State::ByteRange { trans } => trans.matches_byte(byte).then_some(trans.next),
            State::Sparse(t) => t.matches_byte(byte),
            State::Dense(t) => t.matches_byte(byte),
            _ => None,
        };
        if let Some(n) = next {
            self.closure(lexer, n);
        }
    }

    /// Pops the next state of `self.stack` not yet seen since the last
    /// `next_stamp`, marking it seen.
    #[inline]
    fn pop_unseen(&mut self) -> Option<StateID> {
        while let Some(id) = self.stack.pop() {
            let seen = &mut self.seen[id.as_usize()];
            if *seen != self.stamp {
                *seen = self.stamp;
                return Some(id);
            }
        }
        None
    }

    /// Adds the epsilon closure of `start` to `self.set`.
    fn closure(&mut self, lexer: &Lexer, start: StateID) {
        self.stack.push(start);
        while let Some(id) = self.pop_unseen() {
            let i = id.as_usize();
            match lexer.nfa.state(id) {
                State::ByteRange { .. }
                | State::Sparse(_)
                | State::Dense(_)
                | State::Match { .. } => self.set.push(i as u32),
                State::Union { alternates } => self.stack.extend(alternates.iter().rev()),
                State::BinaryUnion { alt1, alt2 } => {
                    self.stack.push(*alt2);
                    self.stack.push(*alt1);
                }
                State::Capture { next, .. } => self.stack.push(*next),
                // Looks are rejected when the lexer is built.
                State::Look { .. } | State::Fail => {}
            }
        }
    }

    fn next_stamp(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.stamp = 1;
        }
    }

    fn intern(&mut self, lexer: &Lexer) -> Result<u32, MaskError> {
        let mut set = std::mem::take(&mut self.set);
        if lexer.has_shadows() {
            self.normalize(lexer, &mut set);
        }
        set.sort_unstable();
        if let Some(&id) = self.map.get(set.as_slice()) {
            set.clear();
            self.set = set;
            return Ok(id);
        }
        if self.states.len() >= lexer.max_states {
            self.set = Vec::new();
            return Err(MaskError::LexerLimit {
                states: self.states.len(),
                limit: lexer.max_states,
            });
        }
        if self.bytes > lexer.max_cache_bytes {
            self.set = Vec::new();
            return Err(MaskError::MemoryLimit {
                what: "lexer cache".into(),
                value: self.bytes,
                limit: lexer.max_cache_bytes,
            });
        }
        let id = self.add_state(lexer, set);
        Ok(id)
    }

    /// Applies left-out texts to a new set of NFA states: an owner's match
    /// is dropped where its shadow matches, shadow matches are dropped,
    /// and an owner with no text left to match outside its shadow loses
    /// its states, the shadow with them. So a DFA state is dead exactly
    /// when no allowed text can be completed, as without shadows.
    fn normalize(&mut self, lexer: &Lexer, set: &mut Vec<u32>) {
        /// What one pass over a set finds about one owner.
        #[derive(Clone, Copy, Default)]
        struct Seen {
            owner: u32,
            /// Owner states other than its match.
            states: bool,
            /// The owner's match, and whether its shadow matched too.
            matches: bool,
            excluded: bool,
            /// Some owner state has unbounded texts ahead.
            unbounded: bool,
            /// The shadow has states other than its match.
            shadow: bool,
        }
        // Few owners are alive in one state: a short list.
        let mut seen: Vec<Seen> = Vec::new();
        for &x in set.iter() {
            let tag = lexer.tag[x as usize];
            let owner = match tag {
                Tag::Plain => continue,
                Tag::Owner => lexer.state_lexeme[x as usize],
                Tag::Shadow | Tag::ShadowMatch => lexer.owner_of(x),
            };
            let i = match seen.iter().position(|e| e.owner == owner) {
                Some(i) => i,
                None => {
                    seen.push(Seen {
                        owner,
                        ..Seen::default()
                    });
                    seen.len() - 1
                }
            };
            let e = &mut seen[i];
            match tag {
                Tag::Owner => {
                    if is_match(lexer, x) {
                        e.matches = true;
                    } else {
                        e.states = true;
                        e.unbounded |= lexer.infinite[x as usize];
                    }
                }
                Tag::Shadow => e.shadow = true,
                Tag::ShadowMatch => e.excluded = true,
                Tag::Plain => {}
            }
        }
        if seen.is_empty() {
            return;
        }
        // Per owner: keep its match? keep its states? keep its shadow's?
        let mut keep: Vec<(u32, bool, bool, bool)> = Vec::with_capacity(seen.len());
        let mut changed = false;
        for e in &seen {
            let keeps_match = e.matches && !e.excluded;
            let continues = e.states
                && (e.unbounded || !e.shadow || {
                    // Only bounded texts ahead, some of them left out: is
                    // any text not left out?
                    let own: Vec<u32> = set
                        .iter()
                        .copied()
                        .filter(|&x| lexer.state_lexeme[x as usize] == e.owner)
                        .collect();
                    let shadow: Vec<u32> = set
                        .iter()
                        .copied()
                        .filter(|&x| {
                            lexer.tag[x as usize] == Tag::Shadow && lexer.owner_of(x) == e.owner
                        })
                        .collect();
                    self.escapes(lexer, own, shadow)
                });
            let keeps_shadow = continues && e.shadow;
            changed |= e.excluded
                || (e.states && !continues)
                || (e.shadow && !keeps_shadow)
                || (e.matches && !keeps_match);
            keep.push((e.owner, keeps_match, continues, keeps_shadow));
        }
        if !changed {
            return;
        }
        set.retain(|&x| {
            let tag = lexer.tag[x as usize];
            let owner = match tag {
                Tag::Plain => return true,
                Tag::ShadowMatch => return false,
                Tag::Owner => lexer.state_lexeme[x as usize],
                Tag::Shadow => lexer.owner_of(x),
            };
            let Some(&(_, keep_match, keep_states, keep_shadow)) =
                keep.iter().find(|k| k.0 == owner)
            else {
                return true;
            };
            match tag {
                Tag::Shadow => keep_shadow,
                _ if is_match(lexer, x) => keep_match,
                _ => keep_states,
            }
        });
    }

    /// Whether the owner's NFA states `own`, all of finitely many texts,
    /// match some non-empty text that its shadow's states `shadow` do not:
    /// a search over pairs of sets, byte class by byte class, which ends
    /// because the owner's texts are bounded.
    fn escapes(&mut self, lexer: &Lexer, own: Vec<u32>, shadow: Vec<u32>) -> bool {
        let mut seen: HashSet<(Vec<u32>, Vec<u32>)> = HashSet::default();
        let mut work = vec![(own, shadow)];
        while let Some((own, shadow)) = work.pop() {
            for &b in &lexer.class_bytes {
                let own2 = self.step_all(lexer, &own, b);
                if own2.is_empty() {
                    continue;
                }
                let shadow2 = self.step_all(lexer, &shadow, b);
                let matches = |set: &[u32]| set.iter().any(|&x| is_match(lexer, x));
                if own2.iter().any(|x| lexer.infinite[*x as usize])
                    || (matches(&own2) && !matches(&shadow2))
                    || shadow2.is_empty()
                {
                    return true;
                }
                if seen.insert((own2.clone(), shadow2.clone())) {
                    work.push((own2, shadow2));
                }
            }
        }
        false
    }

    /// The NFA states (consuming or matching, sorted) after reading
    /// `byte` from `from`, outside the DFA.
    fn step_all(&mut self, lexer: &Lexer, from: &[u32], byte: u8) -> Vec<u32> {
        self.next_stamp();
        let saved = std::mem::take(&mut self.set);
        for &x in from {
            self.step_into_set(lexer, x, byte);
        }
        let mut out = std::mem::replace(&mut self.set, saved);
        out.sort_unstable();
        out
    }

    /// The DFA state at the start of a lexeme, when the parser allows
    /// exactly `lexemes` (sorted, deduplicated).
    pub(crate) fn start(&mut self, lexer: &Lexer, lexemes: &[u32]) -> Result<u32, MaskError> {
        if let Some(&id) = self.starts.get(lexemes) {
            return Ok(id);
        }
        self.next_stamp();
        self.set.clear();
        for &l in lexemes {
            let shadow = lexer.shadow.get(l as usize).copied().unwrap_or(NO_SHADOW);
            for p in [l, shadow] {
                if p == NO_SHADOW {
                    continue;
                }
                let pid = regex_automata::PatternID::new_unchecked(p as usize);
                if let Some(s) = lexer.nfa.start_pattern(pid) {
                    self.closure(lexer, s);
                }
            }
        }
        let id = self.intern(lexer)?;
        self.starts.insert(lexemes.into(), id);
        Ok(id)
    }

    /// The state after reading `byte` in state `s`.
    #[inline]
    pub(crate) fn next(&mut self, lexer: &Lexer, s: u32, byte: u8) -> Result<u32, MaskError> {
        Ok(self.next_flagged(lexer, s, byte)? & !ACCEPTS)
    }

    /// [`LexerCache::next`] with the [`ACCEPTS`] bit set when some lexeme
    /// matches in the state reached (one memory read for both, in walks).
    #[inline]
    fn next_flagged(&mut self, lexer: &Lexer, s: u32, byte: u8) -> Result<u32, MaskError> {
        let i = s as usize * lexer.stride + lexer.classes[byte as usize] as usize;
        let t = self.trans[i];
        if t != UNKNOWN {
            return Ok(t);
        }
        let t = self.compute(lexer, s, byte)?;
        let t = if self.accepts(t).is_empty() {
            t
        } else {
            t | ACCEPTS
        };
        self.trans[i] = t;
        Ok(t)
    }

    fn compute(&mut self, lexer: &Lexer, s: u32, byte: u8) -> Result<u32, MaskError> {
        self.next_stamp();
        self.set.clear();
        let (a, b) = self.states[s as usize].set;
        for k in a..b {
            self.step_into_set(lexer, self.pool[k as usize], byte);
        }
        self.intern(lexer)
    }

    /// State `s` with the NFA states of the lexemes `drop` (sorted) removed:
    /// the same lexing, except that those lexemes can no longer continue
    /// or match. Only exact for lexemes that are
    /// [isolated](Lexer::is_isolated).
    pub(crate) fn without(
        &mut self,
        lexer: &Lexer,
        s: u32,
        drop: &[u32],
    ) -> Result<u32, MaskError> {
        if s == DEAD || drop.is_empty() {
            return Ok(s);
        }
        let key = (s, Box::<[u32]>::from(drop));
        if let Some(&t) = self.without.get(&key) {
            return Ok(t);
        }
        let (a, b) = self.states[s as usize].set;
        let mut set = std::mem::take(&mut self.set);
        set.clear();
        set.extend(
            self.pool[a as usize..b as usize]
                .iter()
                .copied()
                .filter(|&x| {
                    // A shadow goes with its owner.
                    let l = match lexer.tag[x as usize] {
                        Tag::Shadow | Tag::ShadowMatch => lexer.owner_of(x),
                        _ => lexer.state_lexeme[x as usize],
                    };
                    drop.binary_search(&l).is_err()
                }),
        );
        let t = if set.len() == (b - a) as usize {
            set.clear();
            self.set = set;
            s
        } else {
            self.set = set;
            self.intern(lexer)?
        };
        self.without.insert(key, t);
        Ok(t)
    }

    /// The lexemes that match completely in state `s` (sorted).
    #[inline]
    pub(crate) fn accepts(&self, s: u32) -> &[u32] {
        let (a, b) = self.states[s as usize].accepts;
        &self.pool[a as usize..b as usize]
    }

    /// A measure of how much this cache has learned (to keep the larger of
    /// two caches that grew from the same one).
    pub(crate) fn learned(&self) -> usize {
        self.states.len() + 64 * self.state_tokens.len()
    }

    /// An id of the set of lexemes that match in state `s`: states with
    /// equal sets have equal ids.
    #[inline]
    pub(crate) fn accept_id(&self, s: u32) -> u32 {
        self.states[s as usize].accept_id
    }

    /// True if some byte can follow in state `s`.
    #[inline]
    pub(crate) fn can_advance(&self, s: u32) -> bool {
        self.states[s as usize].can_advance
    }
}
