//! Regex building blocks over [`Hir`]: construction helpers, lengths in
//! characters, exact length restriction, JSON string encoding and the
//! complement of a finite set of strings.
//!
//! Two levels of regex meet here. Schema keywords about strings (`pattern`,
//! `format`, `minLength`, `enum` of strings) speak about the *decoded*
//! string; the grammar produces its JSON text. Every string constraint is
//! first built as a decoded-level regex (one regex character = one string
//! character), restricted in length at that level, and only then turned
//! into text by [`encode`], which maps each character to its canonical
//! JSON encoding.

use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Repetition};

/// A literal.
pub(crate) fn lit(s: &str) -> Hir {
    Hir::literal(s.as_bytes())
}

/// A class of characters from inclusive ranges.
pub(crate) fn class(ranges: &[(char, char)]) -> Hir {
    Hir::class(Class::Unicode(ClassUnicode::new(
        ranges.iter().map(|&(a, b)| ClassUnicodeRange::new(a, b)),
    )))
}

/// Any character at all (including newlines).
pub(crate) fn any_char() -> Hir {
    class(&[('\0', char::MAX)])
}

/// A concatenation (that matches nothing if a part matches nothing).
pub(crate) fn concat(v: Vec<Hir>) -> Hir {
    if v.iter().any(matches_nothing) {
        return Hir::fail();
    }
    Hir::concat(v)
}

/// An alternation without the branches that match nothing (regex-syntax
/// would otherwise report the whole alternation as matching nothing).
pub(crate) fn alt(v: Vec<Hir>) -> Hir {
    let v: Vec<Hir> = v.into_iter().filter(|h| !matches_nothing(h)).collect();
    if v.is_empty() {
        return Hir::fail();
    }
    Hir::alternation(v)
}

/// Exactly one of these texts.
pub(crate) fn any_of(words: &[&str]) -> Hir {
    alt(words.iter().map(|w| lit(w)).collect())
}

pub(crate) fn rep(h: Hir, min: u32, max: Option<u32>) -> Hir {
    Hir::repetition(Repetition {
        min,
        max,
        greedy: true,
        sub: Box::new(h),
    })
}

/// Parses one of rein's own fixed regexes (formats, number syntax).
pub(crate) fn parse_fixed(re: &str) -> Result<Hir, String> {
    regex_syntax::ParserBuilder::new()
        .unicode(true)
        .utf8(true)
        .build()
        .parse(re)
        .map_err(|e| format!("internal regex {re:?} does not parse: {e}"))
}

/// True when the regex matches no string at all.
///
/// regex-syntax reports no minimum length for an alternation as soon as
/// one branch matches nothing, so that case is checked by walking the tree.
pub(crate) fn matches_nothing(h: &Hir) -> bool {
    crate::analysis::hir_matches_nothing(h)
}

/// `h` without alternation branches that match nothing (they would make
/// regex-syntax, and engines trusting its properties, think the whole
/// regex matches nothing).
pub(crate) fn clean(h: Hir) -> Hir {
    if h.properties().minimum_len().is_some() || matches_nothing(&h) {
        return h;
    }
    match h.into_kind() {
        HirKind::Alternation(v) => alt(v.into_iter().map(clean).collect()),
        HirKind::Concat(v) => concat(v.into_iter().map(clean).collect()),
        HirKind::Repetition(r) => rep(clean(*r.sub), r.min, r.max),
        HirKind::Capture(c) => clean(*c.sub),
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(l) => Hir::literal(l.0),
        HirKind::Class(c) => Hir::class(c),
        HirKind::Look(l) => Hir::look(l),
    }
}

/// The least and greatest number of *characters* of a match (`None` for
/// no upper bound). Meaningless for regexes that match nothing.
pub(crate) fn char_len(h: &Hir) -> (u64, Option<u64>) {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => (0, Some(0)),
        HirKind::Literal(l) => {
            let n = std::str::from_utf8(&l.0).map_or(l.0.len(), |s| s.chars().count()) as u64;
            (n, Some(n))
        }
        HirKind::Class(_) => (1, Some(1)),
        HirKind::Repetition(r) => {
            let (a, b) = char_len(&r.sub);
            let min = a.saturating_mul(r.min as u64);
            let max = match (b, r.max) {
                (Some(0), _) => Some(0),
                (Some(b), Some(m)) => Some(b.saturating_mul(m as u64)),
                _ => None,
            };
            (min, if r.max == Some(0) { Some(0) } else { max })
        }
        HirKind::Capture(c) => char_len(&c.sub),
        HirKind::Concat(v) => v.iter().fold((0, Some(0)), |(a, b), h| {
            let (x, y) = char_len(h);
            (
                a.saturating_add(x),
                b.zip(y).map(|(b, y)| b.saturating_add(y)),
            )
        }),
        HirKind::Alternation(v) => {
            let mut min = u64::MAX;
            let mut max = Some(0);
            for h in v {
                if matches_nothing(h) {
                    continue;
                }
                let (x, y) = char_len(h);
                min = min.min(x);
                max = max.zip(y).map(|(a, b): (u64, u64)| a.max(b));
            }
            if min == u64::MAX {
                (0, Some(0))
            } else {
                (min, max)
            }
        }
    }
}

/// Counts nodes of a regex tree.
pub(crate) fn size(h: &Hir) -> usize {
    let mut n = 0;
    let mut stack = vec![h];
    while let Some(h) = stack.pop() {
        n += 1;
        stack.extend(h.kind().subs());
    }
    n
}

/// A budget of a regex or automaton construction ran out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TooBig {
    /// What was counted (`"DFA states"`, `"regex nodes"`, ...).
    pub(crate) what: &'static str,
    /// The budget.
    pub(crate) limit: usize,
}

impl TooBig {
    pub(crate) fn new(what: &'static str, limit: usize) -> TooBig {
        TooBig { what, limit }
    }
}

/// The strings of `h` whose length in characters lies in `[lo, hi]`,
/// exactly, as a regex built from `h`'s structure. Fails with [`TooBig`]
/// when the result would exceed `budget` regex nodes.
pub(crate) fn restrict_len(
    h: &Hir,
    lo: u64,
    hi: Option<u64>,
    budget: usize,
) -> Result<Hir, TooBig> {
    let mut r = Restrict {
        budget,
        total: budget,
        depth: 0,
    };
    r.go(h, lo, hi)
}

struct Restrict {
    budget: usize,
    total: usize,
    depth: usize,
}

impl Restrict {
    fn spend(&mut self, h: &Hir) -> Result<(), TooBig> {
        let n = size(h);
        if n > self.budget {
            return Err(TooBig::new("regex nodes", self.total));
        }
        self.budget -= n;
        Ok(())
    }

    fn go(&mut self, h: &Hir, lo: u64, hi: Option<u64>) -> Result<Hir, TooBig> {
        self.depth += 1;
        if self.depth > 200 {
            return Err(TooBig::new("regex nesting depth", 200));
        }
        let r = self.go_inner(h, lo, hi);
        self.depth -= 1;
        r
    }

    fn go_inner(&mut self, h: &Hir, lo: u64, hi: Option<u64>) -> Result<Hir, TooBig> {
        if matches_nothing(h) {
            return Ok(Hir::fail());
        }
        let (mn, mx) = char_len(h);
        if hi.is_some_and(|hi| hi < lo) {
            return Ok(Hir::fail());
        }
        let inside = lo <= mn && hi.is_none_or(|hi| mx.is_some_and(|mx| mx <= hi));
        if inside {
            self.spend(h)?;
            return Ok(h.clone());
        }
        if hi.is_some_and(|hi| hi < mn) || mx.is_some_and(|mx| mx < lo) {
            return Ok(Hir::fail());
        }
        match h.kind() {
            // Fixed lengths are either inside or outside, handled above.
            HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {
                Ok(Hir::fail())
            }
            HirKind::Capture(c) => self.go(&c.sub, lo, hi),
            HirKind::Alternation(v) => {
                let mut out = Vec::new();
                for b in v {
                    let r = self.go(b, lo, hi)?;
                    if !matches_nothing(&r) {
                        out.push(r);
                    }
                }
                Ok(alt(out))
            }
            HirKind::Repetition(r) => self.repetition(r, lo, hi),
            HirKind::Concat(v) => self.concat(v, lo, hi),
        }
    }

    fn repetition(&mut self, r: &Repetition, lo: u64, hi: Option<u64>) -> Result<Hir, TooBig> {
        let (smin, smax) = char_len(&r.sub);
        if smax == Some(smin) {
            // Fixed width w > 0 (w == 0 would have fixed total length 0).
            let w = smin.max(1);
            let k_lo = (r.min as u64).max(lo.div_ceil(w));
            let k_hi = match (r.max, hi) {
                (Some(m), Some(h)) => Some((m as u64).min(h / w)),
                (Some(m), None) => Some(m as u64),
                (None, Some(h)) => Some(h / w),
                (None, None) => None,
            };
            if k_hi.is_some_and(|k| k < k_lo) {
                return Ok(Hir::fail());
            }
            let to_u32 = |x: u64| {
                u32::try_from(x).map_err(|_| TooBig::new("repetition count", u32::MAX as usize))
            };
            let out = rep(
                (*r.sub).clone(),
                to_u32(k_lo)?,
                k_hi.map(to_u32).transpose()?,
            );
            self.spend(&out)?;
            return Ok(out);
        }
        // Variable width: peel one repetition off.
        // sub{m,M} = sub · sub{m-1,M-1} (m > 0) or ε | sub+ · sub{0,M-1}.
        let rest_max = r.max.map(|m| m.saturating_sub(1));
        if r.min > 0 {
            let rest = rep((*r.sub).clone(), r.min - 1, rest_max);
            return self.concat(&[(*r.sub).clone(), rest], lo, hi);
        }
        if r.max == Some(0) {
            return Ok(if lo == 0 { Hir::empty() } else { Hir::fail() });
        }
        let sub_ne = self.go(&r.sub, 1, hi)?;
        let mut out = Vec::new();
        if lo == 0 {
            out.push(Hir::empty());
        }
        let rest = rep(sub_ne.clone(), 0, rest_max);
        let more = self.concat(&[sub_ne, rest], lo.max(1), hi)?;
        if !matches_nothing(&more) {
            out.push(more);
        }
        Ok(alt(out))
    }

    fn concat(&mut self, v: &[Hir], lo: u64, hi: Option<u64>) -> Result<Hir, TooBig> {
        if let Some(h) = contains_class_within(v, lo, hi) {
            self.spend(&h)?;
            return Ok(h);
        }
        let lens: Vec<(u64, Option<u64>)> = v.iter().map(char_len).collect();
        let variable: Vec<usize> = (0..v.len())
            .filter(|&i| lens[i].1 != Some(lens[i].0))
            .collect();
        let fixed_total: u64 = (0..v.len())
            .filter(|i| !variable.contains(i))
            .map(|i| lens[i].0)
            .sum();
        if variable.is_empty() {
            return Ok(
                if fixed_total >= lo && hi.is_none_or(|h| fixed_total <= h) {
                    concat(v.to_vec())
                } else {
                    Hir::fail()
                },
            );
        }
        if variable.len() == 1 {
            let i = variable[0];
            let inner_lo = lo.saturating_sub(fixed_total);
            let inner_hi = match hi {
                Some(h) if h < fixed_total => return Ok(Hir::fail()),
                Some(h) => Some(h - fixed_total),
                None => None,
            };
            let mid = self.go(&v[i], inner_lo, inner_hi)?;
            if matches_nothing(&mid) {
                return Ok(Hir::fail());
            }
            let mut parts = v.to_vec();
            parts[i] = mid;
            return Ok(concat(parts));
        }
        // Split at the first variable part: enumerate its length.
        let i = variable[0];
        let prefix_len: u64 = lens[..i].iter().map(|l| l.0).sum();
        let rest = concat(v[i + 1..].to_vec());
        let (rest_min, _) = char_len(&rest);
        let (amin, amax) = lens[i];
        let lo2 = lo.saturating_sub(prefix_len);
        let hi2 = match hi {
            Some(h) if h < prefix_len => return Ok(Hir::fail()),
            Some(h) => Some(h - prefix_len),
            None => None,
        };
        let mut out = Vec::new();
        let mut push = |this: &mut Restrict, a: Hir, r: Hir| -> Result<(), TooBig> {
            if matches_nothing(&a) || matches_nothing(&r) {
                return Ok(());
            }
            let mut parts = v[..i].to_vec();
            parts.push(a);
            parts.push(r);
            let h = concat(parts);
            this.spend(&h)?;
            out.push(h);
            Ok(())
        };
        match hi2 {
            Some(h2) => {
                let top = match amax {
                    Some(m) => m.min(h2.saturating_sub(rest_min)),
                    None => h2.saturating_sub(rest_min),
                };
                if top >= amin && top - amin > 4_096 {
                    return Err(TooBig::new("lengths enumerated", 4_096));
                }
                for k in amin..=top {
                    let a = self.go(&v[i], k, Some(k))?;
                    let r = self.go(&rest, lo2.saturating_sub(k), Some(h2 - k))?;
                    push(self, a, r)?;
                }
            }
            None => {
                // Lengths of the variable part below lo2 are enumerated;
                // from lo2 on, the rest is unconstrained.
                if lo2 > amin && lo2 - amin > 4_096 {
                    return Err(TooBig::new("lengths enumerated", 4_096));
                }
                for k in amin..lo2 {
                    if amax.is_some_and(|m| k > m) {
                        break;
                    }
                    let a = self.go(&v[i], k, Some(k))?;
                    let r = self.go(&rest, lo2 - k, None)?;
                    push(self, a, r)?;
                }
                if amax.is_none_or(|m| m >= lo2) {
                    let a = self.go(&v[i], lo2.max(amin), None)?;
                    push(self, a, rest.clone())?;
                }
            }
        }
        Ok(alt(out))
    }
}

/// A *subset* of `h`'s language whose strings have at most `hi`
/// characters: every repetition is limited to at most `max(min, b)`
/// rounds, for the largest `b` that keeps every match within `hi`. `None`
/// when even `b = 0` is too long. Used when the exact length restriction
/// is too large a regex (a `format: uri` with `maxLength: 2000`).
pub(crate) fn cap_len(h: &Hir, hi: u64) -> Option<Hir> {
    fn bound(h: &Hir, b: u32) -> Hir {
        match h.kind() {
            HirKind::Repetition(r) => {
                let cap = r.min.max(b);
                let max = Some(r.max.map_or(cap, |m| m.min(cap)));
                rep(bound(&r.sub, b), r.min, max)
            }
            HirKind::Capture(c) => bound(&c.sub, b),
            HirKind::Concat(v) => concat(v.iter().map(|x| bound(x, b)).collect()),
            HirKind::Alternation(v) => alt(v.iter().map(|x| bound(x, b)).collect()),
            _ => h.clone(),
        }
    }
    let fits = |b: u32| char_len(&bound(h, b)).1.is_some_and(|m| m <= hi);
    if !fits(0) {
        return None;
    }
    let (mut lo, mut up) = (0u32, hi.min(1 << 20) as u32);
    if fits(up) {
        return Some(bound(h, up));
    }
    // fits(lo) && !fits(up)
    while up - lo > 1 {
        let mid = lo + (up - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            up = mid;
        }
    }
    Some(bound(h, lo))
}

/// Characters that appear raw inside a JSON string: everything but `"`,
/// `\` and the control characters U+0000..U+001F.
fn raw_ok() -> ClassUnicode {
    ClassUnicode::new([
        ClassUnicodeRange::new('\u{20}', '\u{21}'),
        ClassUnicodeRange::new('\u{23}', '\u{5B}'),
        ClassUnicodeRange::new('\u{5D}', char::MAX),
    ])
}

/// The canonical JSON encoding of one character (as `json.dumps` with
/// `ensure_ascii=False` writes it): raw, or `\"`, `\\`, `\b`, `\f`, `\n`,
/// `\r`, `\t`, or `\u00XX` for the other control characters.
pub(crate) fn escape_char(c: char) -> String {
    match c {
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\u{08}' => "\\b".into(),
        '\u{0C}' => "\\f".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32),
        c => c.to_string(),
    }
}

/// A string's canonical JSON text, quotes included.
#[cfg(test)]
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        out.push_str(&escape_char(c));
    }
    out.push('"');
    out
}

/// The regex for the encodings of one special character (hex digits of a
/// `\u00XX` escape in either case).
fn escape_regex(c: char) -> Hir {
    let e = escape_char(c);
    if let Some(hex) = e.strip_prefix("\\u00") {
        let mut parts = vec![lit("\\u00")];
        for h in hex.chars() {
            if h.is_ascii_alphabetic() {
                let u = h.to_ascii_uppercase();
                parts.push(class(&[(h, h), (u, u)]));
            } else {
                parts.push(lit(&h.to_string()));
            }
        }
        return concat(parts);
    }
    lit(&e)
}

/// The encodings of the characters of a class, factored: the raw ones as
/// one class, the short escapes as `\[...]`, the `\u00XX` escapes by
/// their third hex digit.
fn encode_class(c: &ClassUnicode) -> Hir {
    let mut raw = c.clone();
    raw.intersect(&raw_ok());
    let mut special = c.clone();
    special.difference(&raw_ok());
    let mut alts = Vec::new();
    if raw.ranges().iter().next().is_some() {
        alts.push(Hir::class(Class::Unicode(raw)));
    }
    let mut short: Vec<(char, char)> = Vec::new();
    let mut hex: [Vec<(char, char)>; 2] = [Vec::new(), Vec::new()];
    for r in special.ranges() {
        for x in r.start()..=r.end() {
            let e = escape_char(x);
            if let Some(h) = e.strip_prefix("\\u00") {
                let hi = usize::from(h.as_bytes()[0] == b'1');
                let lo = h.as_bytes()[1] as char;
                hex[hi].push((lo, lo));
                if lo.is_ascii_alphabetic() {
                    let u = lo.to_ascii_uppercase();
                    hex[hi].push((u, u));
                }
            } else if let Some(ch) = e.strip_prefix('\\').and_then(|t| t.chars().next()) {
                short.push((ch, ch));
            }
        }
    }
    if !short.is_empty() {
        alts.push(concat(vec![lit("\\"), class(&short)]));
    }
    for (i, digits) in hex.iter().enumerate() {
        if !digits.is_empty() {
            alts.push(concat(vec![
                lit(if i == 0 { "\\u000" } else { "\\u001" }),
                class(digits),
            ]));
        }
    }
    alt(alts)
}

/// Turns a decoded-level regex into the regex of its JSON string contents
/// (without quotes): each character becomes its canonical encoding.
pub(crate) fn encode(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Empty => Hir::empty(),
        HirKind::Look(l) => Hir::look(*l),
        HirKind::Literal(l) => match std::str::from_utf8(&l.0) {
            Ok(s) => {
                if s.chars().all(|c| c >= '\u{20}' && c != '"' && c != '\\') {
                    Hir::literal(l.0.clone())
                } else {
                    concat(
                        s.chars()
                            .map(|c| {
                                let e = escape_char(c);
                                if e.len() > c.len_utf8() {
                                    escape_regex(c)
                                } else {
                                    lit(&e)
                                }
                            })
                            .collect(),
                    )
                }
            }
            Err(_) => Hir::fail(),
        },
        HirKind::Class(Class::Unicode(c)) if *c == any_class() => json_char(),
        HirKind::Class(Class::Unicode(c)) => encode_class(c),
        // Byte classes only arise from non-Unicode patterns, which the
        // pattern translator never produces.
        HirKind::Class(Class::Bytes(_)) => Hir::fail(),
        HirKind::Repetition(r) => rep(encode(&r.sub), r.min, r.max),
        HirKind::Capture(c) => encode(&c.sub),
        HirKind::Concat(v) => concat(v.iter().map(encode).collect()),
        HirKind::Alternation(v) => alt(v.iter().map(encode).collect()),
    }
}

/// Any one character of a JSON string's contents, canonically encoded.
pub(crate) fn json_char() -> Hir {
    static CHAR: std::sync::OnceLock<Hir> = std::sync::OnceLock::new();
    CHAR.get_or_init(|| encode_class(&any_class())).clone()
}

fn any_class() -> ClassUnicode {
    ClassUnicode::new([ClassUnicodeRange::new('\0', char::MAX)])
}

/// Strings of `lo..=hi` characters that contain a character of class `C`,
/// when `v` is `.*[C].*` and `hi` is small, as a regex whose automaton
/// stays small: `R_k = [C] .{lo-k-1, hi-k-1} | [^C] R_{k+1}` decides on
/// the *first* character of the class, so after any input only one branch
/// is alive. Enumerating the length of the leading `.*` instead gave the
/// same language with every split alive at once: a lexer state inside
/// such a string (`"pattern": "[A-z]+"` with `maxLength: 64`) carried
/// thousands of NFA states, and its first masks took 0.1-0.5 s.
fn contains_class_within(v: &[Hir], lo: u64, hi: Option<u64>) -> Option<Hir> {
    /// Nesting grows by two per character: stay well inside the engine's
    /// regex depth limit.
    const MAX_HI: u64 = 96;
    let hi = hi.filter(|&h| h <= MAX_HI && lo <= h)?;
    let is_any_star = |h: &Hir| match h.kind() {
        HirKind::Repetition(r) => {
            r.min == 0
                && r.max.is_none()
                && matches!(r.sub.kind(), HirKind::Class(Class::Unicode(c)) if *c == any_class())
        }
        _ => false,
    };
    let [first, mid, last] = v else { return None };
    if !is_any_star(first) || !is_any_star(last) {
        return None;
    }
    let HirKind::Class(Class::Unicode(c)) = mid.kind() else {
        return None;
    };
    let mut not_c = c.clone();
    not_c.negate();
    let mut r = Hir::fail();
    for k in (0..hi).rev() {
        let rest = rep(
            any_char(),
            lo.saturating_sub(k + 1) as u32,
            Some((hi - k - 1) as u32),
        );
        r = alt(vec![
            concat(vec![mid.clone(), rest]),
            concat(vec![Hir::class(Class::Unicode(not_c.clone())), r]),
        ]);
    }
    Some(r)
}

/// Every string of at most `max_len` characters over `alphabet` (for
/// exhaustive tests of regex constructions).
#[cfg(test)]
pub(crate) fn all_strings(alphabet: &[char], max_len: usize) -> Vec<String> {
    let mut strings = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..max_len {
        let next: Vec<String> = last
            .iter()
            .flat_map(|s| alphabet.iter().map(move |&c| format!("{s}{c}")))
            .collect();
        strings.extend(next.iter().cloned());
        last = next;
    }
    strings
}

/// The decoded-level regex of every string *not* in `words`.
///
/// A string is not a word when it ends at a trie node that ends no word,
/// or leaves the trie: a prefix that follows the trie, then a character
/// that is not a child of the node reached, then anything. The characters
/// that leave a node are split in two: those of `S`, the characters on the
/// trie's edges, that are not the node's children (a small class per
/// node), and those outside `S` (one large class, the same at every node).
/// The large class and the tail `any*` appear once, after a copy of the
/// trie where every node may end: repeating them at each node made the
/// regex (and the lexer automaton of every object that allows keys besides
/// its properties) grow by a Unicode class and a JSON character loop per
/// trie node.
///
/// The regex nests two levels per character of the longest word (and is
/// built recursively): words longer than [`MAX_EXCLUDED_CHARS`] are
/// refused with [`TooBig`] (a 200,000-character key overflowed the stack).
pub(crate) fn not_in(words: &[&str]) -> Result<Hir, TooBig> {
    if words.iter().any(|w| w.chars().count() > MAX_EXCLUDED_CHARS) {
        return Err(TooBig::new(
            "characters in an excluded string",
            MAX_EXCLUDED_CHARS,
        ));
    }
    #[derive(Default)]
    struct Node {
        end: bool,
        kids: std::collections::BTreeMap<char, Node>,
    }
    let mut root = Node::default();
    for w in words {
        let mut n = &mut root;
        for c in w.chars() {
            n = n.kids.entry(c).or_default();
        }
        n.end = true;
    }
    /// The trie as a regex: at each node, `here(node)`'s branches, then
    /// each child's character followed by the child's regex.
    fn trie(n: &Node, here: &dyn Fn(&Node) -> Option<Hir>) -> Hir {
        let mut alts: Vec<Hir> = here(n).into_iter().collect();
        for (c, k) in &n.kids {
            alts.push(concat(vec![lit(&c.to_string()), trie(k, here)]));
        }
        alt(alts)
    }
    fn edge_chars(n: &Node, out: &mut Vec<ClassUnicodeRange>) {
        for (&c, k) in &n.kids {
            out.push(ClassUnicodeRange::new(c, c));
            edge_chars(k, out);
        }
    }
    let mut ranges = Vec::new();
    edge_chars(&root, &mut ranges);
    let on_edges = ClassUnicode::new(ranges);
    let kids = |n: &Node| ClassUnicode::new(n.kids.keys().map(|&c| ClassUnicodeRange::new(c, c)));
    // Strings that end inside the trie at a node that ends no word.
    let unfinished = trie(&root, &|n| (!n.end).then(Hir::empty));
    // A prefix in the trie, then an edge character that is not a child.
    let off_edge = trie(&root, &|n| {
        let mut other = on_edges.clone();
        other.difference(&kids(n));
        other
            .ranges()
            .iter()
            .next()
            .is_some()
            .then(|| Hir::class(Class::Unicode(other)))
    });
    // Any prefix in the trie, then a character on no edge.
    let mut elsewhere = any_class();
    elsewhere.difference(&on_edges);
    let off_trie = if elsewhere.ranges().iter().next().is_some() {
        concat(vec![
            trie(&root, &|_| Some(Hir::empty())),
            Hir::class(Class::Unicode(elsewhere)),
        ])
    } else {
        Hir::fail()
    };
    Ok(alt(vec![
        unfinished,
        concat(vec![
            alt(vec![off_edge, off_trie]),
            rep(any_char(), 0, None),
        ]),
    ]))
}

/// The longest string [`not_in`] excludes, in characters.
pub(crate) const MAX_EXCLUDED_CHARS: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::meta::Regex;

    fn full(h: &Hir) -> Regex {
        let h = concat(vec![
            Hir::look(regex_syntax::hir::Look::Start),
            h.clone(),
            Hir::look(regex_syntax::hir::Look::End),
        ]);
        Regex::builder().build_from_hir(&h).unwrap()
    }

    fn p(s: &str) -> Hir {
        parse_fixed(s).unwrap()
    }

    #[test]
    fn char_lengths() {
        assert_eq!(char_len(&p("abc")), (3, Some(3)));
        assert_eq!(char_len(&p("é[a-z]{2,4}")), (3, Some(5)));
        assert_eq!(char_len(&p("a*")), (0, None));
        assert_eq!(char_len(&p("a|bcd")), (1, Some(3)));
    }

    #[test]
    fn restrict_simple_repetition() {
        let h = restrict_len(&p("[a-z]+"), 3, Some(5), 10_000).unwrap();
        let re = full(&h);
        assert!(!re.is_match("ab"));
        assert!(re.is_match("abc") && re.is_match("abcde"));
        assert!(!re.is_match("abcdef"));
    }

    #[test]
    fn restrict_concat_with_two_variable_parts() {
        let h = restrict_len(&p("[a-z]+@[a-z]*"), 0, Some(4), 100_000).unwrap();
        let re = full(&h);
        for s in ["a@", "ab@c", "a@bc", "abc@"] {
            assert!(re.is_match(s), "{s}");
        }
        for s in ["abcd@", "ab@cd", "@a", "a@bcd"] {
            assert!(!re.is_match(s), "{s}");
        }
    }

    #[test]
    fn restrict_variable_repetition() {
        let h = restrict_len(&p("(ab|c)*"), 2, Some(3), 100_000).unwrap();
        let re = full(&h);
        for s in ["ab", "cc", "abc", "cab", "ccc"] {
            assert!(re.is_match(s), "{s}");
        }
        for s in ["c", "", "abab", "cccc"] {
            assert!(!re.is_match(s), "{s}");
        }
    }

    /// `.*[C].*` with length bounds (the first-match construction) against
    /// the definition, on every string up to 6 characters over an alphabet
    /// with a class character, two others and a multi-byte one.
    #[test]
    fn restrict_contains_a_class_character() {
        let alphabet = ['a', 'B', '1', '\u{e9}'];
        let strings = all_strings(&alphabet, 6);
        let h = p("(?s:.)*[A-Z](?s:.)*");
        for (lo, hi) in [
            (0, Some(0)),
            (0, Some(3)),
            (2, Some(2)),
            (3, Some(5)),
            (1, Some(6)),
            (4, None),
        ] {
            let re = full(&restrict_len(&h, lo, hi, 100_000).unwrap());
            for s in &strings {
                let n = s.chars().count() as u64;
                let want = s.contains('B') && n >= lo && hi.is_none_or(|h| n <= h);
                assert_eq!(re.is_match(s), want, "{s:?} in [{lo}, {hi:?}]");
            }
        }
    }

    #[test]
    fn restrict_min_only() {
        let h = restrict_len(&p("x[a-z]*y[0-9]*"), 5, None, 100_000).unwrap();
        let re = full(&h);
        assert!(re.is_match("xaaay") && re.is_match("xy123") && re.is_match("xay12"));
        assert!(!re.is_match("xay1") && !re.is_match("xy"));
    }

    #[test]
    fn encoding_escapes_specials() {
        let re = full(&encode(&p("[\"a\\n]")));
        assert!(re.is_match("a") && re.is_match("\\\"") && re.is_match("\\n"));
        assert!(!re.is_match("\"") && !re.is_match("\n"));
        let any = full(&rep(json_char(), 0, None));
        assert!(any.is_match("ab\\u001fc\\u001F\\\\"));
        assert!(!any.is_match("\\u0041"));
        assert!(!any.is_match("\\/"));
        assert_eq!(quote("a\"b\u{1}"), "\"a\\\"b\\u0001\"");
    }

    /// `not_in` against membership, on every string up to 4 characters
    /// over an alphabet with ASCII, a two-byte and a four-byte character,
    /// for word sets drawn from the same strings.
    #[test]
    fn complement_matches_membership() {
        let alphabet = ['a', 'b', '\u{e9}', '\u{1F600}'];
        let strings = all_strings(&alphabet, 4);
        let sets: Vec<Vec<&str>> = vec![
            vec![],
            vec![""],
            vec!["a"],
            vec!["ab", "a", "b\u{e9}"],
            vec!["", "aaaa", "\u{1F600}b"],
            vec!["ab", "ba", "abab", "\u{e9}\u{e9}", "b"],
            vec!["a", "b", "\u{e9}", "\u{1F600}"],
        ];
        for words in &sets {
            let re = full(&not_in(words).unwrap());
            for s in strings
                .iter()
                .chain([&"c".to_string(), &"a\u{10FFFF}".to_string()])
            {
                assert_eq!(
                    re.is_match(s),
                    !words.contains(&s.as_str()),
                    "{s:?} with words {words:?}"
                );
            }
        }
    }

    #[test]
    fn finite_complement() {
        let re = full(&not_in(&["ab", "a", "b\u{e9}"]).unwrap());
        for s in ["", "abc", "c", "aa", "b", "bé!"] {
            assert!(re.is_match(s), "{s:?}");
        }
        for s in ["a", "ab", "bé"] {
            assert!(!re.is_match(s), "{s:?}");
        }
    }
}
