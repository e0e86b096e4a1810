//! JSON Schema `pattern`s: ECMA-262 regexes, searched (not anchored) in the
//! decoded string.
//!
//! Validators disagree on details of regex syntax: the spec says ECMA-262,
//! Python validators use `re` (Unicode `\d`, a `$` that also matches before
//! a final newline), Rust ones use `regex`/`fancy-regex`. A grammar must
//! produce only strings that are valid, so where dialects differ we take the
//! *intersection* of their meanings:
//!
//! - `\d` is `[0-9]` and `\w` is `[A-Za-z0-9_]` (ECMA's ASCII classes, a
//!   subset of the Unicode ones); `\D` and `\W` are the Unicode complements
//!   (a subset of ECMA's);
//! - `\s` is the whitespace every dialect agrees on; `\S` excludes all
//!   whitespace any dialect knows (`U+FEFF`, `U+1C..U+1F` included);
//! - `.` matches anything but `\n`, `\r`, `U+2028` and `U+2029`;
//! - `$` matches only at the very end.
//!
//! Constructs with no regular meaning (look-around, backreferences, word
//! boundaries, anchors in the middle) are errors.

use regex_syntax::hir::{Hir, HirKind, Look};

use super::rx;

/// ECMA `\s` intersected with Unicode `White_Space` (Rust, Python).
const SPACE_ITEMS: &str =
    r"\t\n\x0B\x0C\r\x20\xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}";
/// Not whitespace in any dialect.
const NON_SPACE_CLASS: &str = r"[\S&&[^\x1C-\x1F\x{85}\x{FEFF}]]";
const DOT_CLASS: &str = r"[^\n\r\x{2028}\x{2029}]";

/// An error translating a pattern; `unsupported` when the pattern is valid
/// but has no regular meaning.
#[derive(Debug)]
pub(crate) struct PatternError {
    pub(crate) message: String,
}

fn err<T>(message: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError {
        message: message.into(),
    })
}

/// Rewrites an ECMA-262 pattern into Rust regex syntax with the meanings
/// described in the module docs.
pub(crate) fn ecma_to_rust(p: &str) -> Result<String, PatternError> {
    let cs: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    // Output length right after `[` / `[^` of the open class.
    let mut class_body_start = 0;
    let mut class_negated = false;
    while i < cs.len() {
        let c = cs[i];
        i += 1;
        if c == '\\' {
            let Some(&n) = cs.get(i) else {
                return err("the pattern ends with a lone backslash");
            };
            i += 1;
            match n {
                'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                'w' => out.push_str(if in_class {
                    "A-Za-z0-9_"
                } else {
                    "[A-Za-z0-9_]"
                }),
                's' => {
                    if in_class {
                        out.push_str(SPACE_ITEMS);
                    } else {
                        out.push('[');
                        out.push_str(SPACE_ITEMS);
                        out.push(']');
                    }
                }
                'S' => out.push_str(NON_SPACE_CLASS),
                'D' | 'W' | 'n' | 'r' | 't' | 'f' | 'v' | 'p' | 'P' => {
                    out.push('\\');
                    out.push(n);
                }
                'b' if in_class => out.push_str(r"\x08"),
                'b' | 'B' => {
                    return err("word boundaries (`\\b`, `\\B`) are look-around assertions, which have no regular meaning here");
                }
                'c' => match cs.get(i) {
                    Some(&x) if x.is_ascii_alphabetic() => {
                        i += 1;
                        out.push_str(&format!("\\x{:02X}", (x as u8) % 32));
                    }
                    _ => return err("`\\c` must be followed by a letter"),
                },
                '0' if !cs.get(i).is_some_and(|d| d.is_ascii_digit()) => out.push_str(r"\x00"),
                '0'..='9' => {
                    return err("backreferences and octal escapes are not supported");
                }
                'k' => return err("named backreferences (`\\k<name>`) are not supported"),
                'x' => {
                    out.push_str("\\x");
                }
                'u' => {
                    if cs.get(i) == Some(&'{') {
                        out.push_str("\\u");
                        continue;
                    }
                    let hex: String = cs.iter().skip(i).take(4).collect();
                    let Ok(v) = u32::from_str_radix(&hex, 16) else {
                        return err("`\\u` must be followed by four hex digits");
                    };
                    if hex.len() != 4 {
                        return err("`\\u` must be followed by four hex digits");
                    }
                    i += 4;
                    let mut code = v;
                    if (0xD800..0xDC00).contains(&v) {
                        // A surrogate pair spelled as two escapes.
                        let next: String = cs.iter().skip(i).take(6).collect();
                        let low = next
                            .strip_prefix("\\u")
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .filter(|l| (0xDC00..0xE000).contains(l));
                        match low {
                            Some(l) => {
                                i += 6;
                                code = 0x10000 + ((v - 0xD800) << 10) + (l - 0xDC00);
                            }
                            None => return err("a lone surrogate escape matches no character"),
                        }
                    } else if (0xDC00..0xE000).contains(&v) {
                        return err("a lone surrogate escape matches no character");
                    }
                    out.push_str(&format!("\\x{{{code:X}}}"));
                }
                '/' => out.push('/'),
                n if n.is_ascii_punctuation() || n == ' ' => {
                    let meta = if in_class {
                        matches!(n, '&' | '~' | '-' | '[' | ']' | '^' | '\\')
                    } else {
                        "\\.+*?()|[]{}^$#&-~".contains(n)
                    };
                    if meta {
                        out.push('\\');
                        out.push(n);
                    } else {
                        out.push_str(&regex_syntax::escape(&n.to_string()));
                    }
                }
                n => {
                    return err(format!(
                        "the escape `\\{n}` means different things in ECMA-262 and other regex dialects"
                    ));
                }
            }
            continue;
        }
        if in_class {
            match c {
                ']' if out.len() == class_body_start => {
                    // ECMA `[]` matches nothing, `[^]` matches anything.
                    let open = if class_negated { 2 } else { 1 };
                    out.truncate(out.len() - open);
                    if class_negated {
                        out.push_str(r"[\x00-\x{10FFFF}]");
                    } else {
                        out.push_str(r"[^\x00-\x{10FFFF}]");
                    }
                    in_class = false;
                }
                ']' => {
                    out.push(']');
                    in_class = false;
                }
                '[' => out.push_str("\\["),
                '&' => out.push_str("\\&"),
                '~' => out.push_str("\\~"),
                '-' if cs.get(i) == Some(&'-') => out.push_str("\\-"),
                c => out.push(c),
            }
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                class_negated = cs.get(i) == Some(&'^');
                if class_negated {
                    out.push('^');
                    i += 1;
                }
                class_body_start = out.len();
            }
            '{' => {
                // A quantifier `{n}`, `{n,}` or `{n,m}`; otherwise a literal.
                let mut j = i;
                let mut digits1 = 0;
                while cs.get(j).is_some_and(|d| d.is_ascii_digit()) {
                    j += 1;
                    digits1 += 1;
                }
                let mut ok = digits1 > 0;
                if ok && cs.get(j) == Some(&',') {
                    j += 1;
                    while cs.get(j).is_some_and(|d| d.is_ascii_digit()) {
                        j += 1;
                    }
                }
                ok = ok && cs.get(j) == Some(&'}');
                if ok {
                    out.extend(&cs[i - 1..=j]);
                    i = j + 1;
                } else {
                    out.push_str("\\{");
                }
            }
            '}' => out.push_str("\\}"),
            '.' => out.push_str(DOT_CLASS),
            c => out.push(c),
        }
    }
    if in_class {
        return err("unclosed character class");
    }
    Ok(out)
}

/// Parses an ECMA pattern into a decoded-level regex with its anchors.
fn parse_ecma(p: &str) -> Result<Hir, PatternError> {
    let rust = ecma_to_rust(p)?;
    regex_syntax::ParserBuilder::new()
        .unicode(true)
        .utf8(true)
        .octal(false)
        .nest_limit(200)
        .build()
        .parse(&rust)
        .map_err(|e| PatternError {
            message: match &e {
                regex_syntax::Error::Parse(pe) => pe.kind().to_string(),
                regex_syntax::Error::Translate(te) => te.kind().to_string(),
                _ => e.to_string(),
            },
        })
}

/// The decoded-level regex of the strings in which `p` finds a match
/// (JSON Schema's unanchored semantics), free of look-around.
pub(crate) fn search_regex(p: &str) -> Result<Hir, PatternError> {
    let h = parse_ecma(p)?;
    let out = search(h);
    if !out.properties().look_set().is_empty() {
        return err(
            "anchors (`^`, `$`) are only supported at the start and end of the pattern or of \
             its top-level alternatives",
        );
    }
    Ok(out)
}

/// `.*(?:h).*`, dropping the `.*` on sides anchored by `^` / `$`, branch by
/// branch for top-level alternations.
fn search(h: Hir) -> Hir {
    let anything = || rx::rep(rx::any_char(), 0, None);
    match h.kind() {
        HirKind::Alternation(v) if h.properties().look_set().is_empty() => {
            // No anchors anywhere: `.*(?:a|b).*` has one `.*` on each side
            // where `.*a.*|.*b.*` had one per branch (a DFA state inside
            // the string carried every branch's loop).
            let branches = v
                .iter()
                .map(|b| {
                    let mut parts = match b.kind() {
                        HirKind::Concat(p) => p.clone(),
                        _ => vec![b.clone()],
                    };
                    shorten(&mut parts, false, false);
                    rx::concat(parts)
                })
                .collect();
            return rx::concat(vec![anything(), rx::alt(branches), anything()]);
        }
        HirKind::Alternation(v) => return rx::alt(v.iter().cloned().map(search).collect()),
        HirKind::Capture(c) => return search((*c.sub).clone()),
        _ => {}
    }
    let mut parts: Vec<Hir> = match h.into_kind() {
        HirKind::Concat(v) => v,
        k => vec![rebuild(k)],
    };
    let is_start = |h: &Hir| matches!(h.kind(), HirKind::Look(Look::Start));
    let is_end = |h: &Hir| matches!(h.kind(), HirKind::Look(Look::End));
    let mut start = false;
    while parts.first().is_some_and(is_start) {
        parts.remove(0);
        start = true;
    }
    let mut end = false;
    while parts.last().is_some_and(is_end) {
        parts.pop();
        end = true;
    }
    // `^(a|b)$`: a single group left over between anchors.
    if parts.len() == 1 && (start || end) {
        if let HirKind::Capture(c) = parts[0].kind() {
            if let HirKind::Alternation(v) = c.sub.kind() {
                let anchored: Vec<Hir> = v
                    .iter()
                    .map(|b| {
                        let mut x = Vec::new();
                        if start {
                            x.push(Hir::look(Look::Start));
                        }
                        x.push(b.clone());
                        if end {
                            x.push(Hir::look(Look::End));
                        }
                        search(rx::concat(x))
                    })
                    .collect();
                return rx::alt(anchored);
            }
        }
    }
    shorten(&mut parts, start, end);
    let mut out = Vec::new();
    if !start {
        out.push(anything());
    }
    out.extend(parts);
    if !end {
        out.push(anything());
    }
    rx::concat(out)
}

/// Next to an unanchored side, a repetition `y{m,n}` finds a match
/// exactly where `y{m}` does (the other copies belong to the `.*`), and
/// `y{0,n}` can go: `[A-z]+` searches like `[A-z]`. Restricting the lengths
/// of `.*[A-z]+.*` enumerated the length of every part (over a million NFA
/// states for lengths up to 64); `.*[A-z].*` has one part to enumerate.
fn shorten(parts: &mut Vec<Hir>, start: bool, end: bool) {
    if !start {
        while let Some(p) = parts.first() {
            match shortest_repeat(p) {
                Some(None) => {
                    parts.remove(0);
                }
                Some(Some(h)) => {
                    parts[0] = h;
                    break;
                }
                None => break,
            }
        }
    }
    if !end {
        while let Some(p) = parts.last() {
            match shortest_repeat(p) {
                Some(None) => {
                    parts.pop();
                }
                Some(Some(h)) => {
                    let n = parts.len() - 1;
                    parts[n] = h;
                    break;
                }
                None => break,
            }
        }
    }
}

/// For a repetition `y{m,n}` (inside captures): `Some(Some(y{m}))`, or
/// `Some(None)` when `m` is 0; `None` for anything else.
fn shortest_repeat(h: &Hir) -> Option<Option<Hir>> {
    match h.kind() {
        HirKind::Capture(c) => shortest_repeat(&c.sub),
        HirKind::Repetition(r) if r.max.is_none_or(|max| max >= r.min) => {
            Some((r.min > 0).then(|| rx::rep((*r.sub).clone(), r.min, Some(r.min))))
        }
        _ => None,
    }
}

fn rebuild(kind: HirKind) -> Hir {
    match kind {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(l) => Hir::literal(l.0),
        HirKind::Class(c) => Hir::class(c),
        HirKind::Look(l) => Hir::look(l),
        HirKind::Repetition(r) => Hir::repetition(r),
        HirKind::Capture(c) => Hir::capture(c),
        HirKind::Concat(v) => Hir::concat(v),
        HirKind::Alternation(v) => Hir::alternation(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::meta::Regex;

    fn matcher(p: &str) -> impl Fn(&str) -> bool {
        let h = rx::concat(vec![
            Hir::look(Look::Start),
            search_regex(p).unwrap(),
            Hir::look(Look::End),
        ]);
        let re = Regex::builder().build_from_hir(&h).unwrap();
        move |s| re.is_match(s)
    }

    #[test]
    fn unanchored_search() {
        let m = matcher("ab");
        assert!(m("ab") && m("xaby") && !m("a b"));
        let m = matcher("^ab");
        assert!(m("abx") && !m("xab"));
        let m = matcher("ab$");
        assert!(m("xab") && !m("abx"));
        let m = matcher("^a$|b");
        assert!(m("a") && m("xbx") && !m("ax"));
        let m = matcher("^(a|bc)$");
        assert!(m("a") && m("bc") && !m("abc"));
        let m = matcher("");
        assert!(m("") && m("anything"));
    }

    /// Repetitions next to an unanchored side are shortened to their
    /// minimum (the language stays the same): compared with the pattern
    /// searched by a regex engine on every string up to 5 characters.
    #[test]
    fn repetitions_at_unanchored_sides_keep_the_language() {
        let patterns = [
            "[ab]+",
            "a*",
            "a*b",
            "ba*",
            "^a+",
            "a+$",
            "(ab){2,}",
            "a{2,3}b+",
            "^(a)+b*",
            "a?b?",
            "(a|b)+c*",
            "^a{0,2}$",
            "b{1,2}a{3}",
            "a+|b{2,}",
            "ab|ba|c",
            "(ab|bc|ca)",
            "a*|b",
            "ab|^c",
            "(a|b)c|d+",
            "ab$|b+",
            "|a",
        ];
        let alphabet = ['a', 'b', 'c'];
        let strings = rx::all_strings(&alphabet, 5);
        for p in patterns {
            let m = matcher(p);
            let reference = Regex::new(p).unwrap();
            for s in &strings {
                assert_eq!(m(s), reference.is_match(s), "{p:?} on {s:?}");
            }
        }
    }

    #[test]
    fn ecma_classes_are_the_intersection() {
        let m = matcher(r"^\d+$");
        assert!(m("123") && !m("١٢٣"));
        let m = matcher(r"^\w+$");
        assert!(m("a_1") && !m("é"));
        let m = matcher(r"^\S+$");
        assert!(m("ab") && !m("a\u{feff}") && !m("a\u{1c}"));
        let m = matcher(r"^.$");
        assert!(m("a") && !m("\r") && !m("\u{2028}"));
        let m = matcher(r"^[\d.]+$");
        assert!(m("1.5") && !m("1,5"));
    }

    #[test]
    fn ecma_syntax_quirks() {
        let m = matcher(r"^a{$");
        assert!(m("a{"));
        let m = matcher(r"^\{\{.+}}$");
        assert!(m("{{x}}"));
        let m = matcher(r"^[[a]$");
        assert!(m("[") && m("a"));
        let m = matcher(r"^\/\u00e1\uD83D\uDE00$");
        assert!(m("/á😀"));
        let m = matcher(r"^[^]$");
        assert!(m("\n"));
        let m = matcher(r"^a[]$");
        assert!(!m("a"));
        let m = matcher(r"^\cJ$");
        assert!(m("\n"));
    }

    #[test]
    fn unsupported_constructs_are_errors() {
        for p in [r"a\b", r"(a)\1", r"a(?=b)", r"a^b", r"\e", r"\k<x>"] {
            assert!(search_regex(p).is_err(), "{p}");
        }
    }
}
