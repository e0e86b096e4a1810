//! The regex front-end: Rust regex syntax, matched against the whole output.
//!
//! ```
//! let g = rein_grammar::regex::parse(r"[0-9]{3}-[0-9]{4}").unwrap();
//! assert_eq!(g.rules.len(), 1);
//! ```
//!
//! Anchors at the very start (`^`, `\A`) and end (`$`, `\z`) are accepted and
//! mean nothing more, since the whole output is matched anyway. Any other
//! look-around (word boundaries, anchors in the middle) and the constructs
//! the `regex` crate rejects (look-ahead, backreferences) are errors with the
//! position of the construct.

use regex_syntax::ast::{self, Ast};
use regex_syntax::hir::{Hir, HirKind, Look};

use crate::error::{GrammarError, Location};
use crate::ir::{Expr, Grammar};

/// Options for [`parse_with`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Maximum nesting depth of the pattern (guards the parser's stack).
    pub nest_limit: u32,
    /// Maximum length of the pattern in bytes (checked before parsing).
    pub max_len: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            nest_limit: 250,
            max_len: 4 << 20,
        }
    }
}

/// Parses `pattern` into a grammar whose start rule matches exactly the
/// strings the regex matches as a whole.
pub fn parse(pattern: &str) -> Result<Grammar, GrammarError> {
    parse_with(pattern, &Config::default())
}

/// [`parse`] with options.
pub fn parse_with(pattern: &str, config: &Config) -> Result<Grammar, GrammarError> {
    let hir = parse_hir(pattern, config)?;
    Ok(Grammar::from_expr(Expr::regex(hir)))
}

/// Parses `pattern` into an anchored HIR (see the module docs on anchors).
pub fn parse_hir(pattern: &str, config: &Config) -> Result<Hir, GrammarError> {
    if pattern.len() > config.max_len {
        return Err(GrammarError::Limit {
            what: "length of the regex in bytes".into(),
            value: pattern.len() as u64,
            limit: config.max_len as u64,
        });
    }
    let ast = ast::parse::ParserBuilder::new()
        .nest_limit(config.nest_limit)
        .build()
        .parse(pattern)
        .map_err(|e| ast_error(pattern, &e))?;
    let hir = regex_syntax::hir::translate::TranslatorBuilder::new()
        .unicode(true)
        .utf8(true)
        .build()
        .translate(pattern, &ast)
        .map_err(|e| {
            syntax_error(
                pattern,
                e.span().start.offset,
                e.kind().to_string(),
                is_unsupported_hir(e.kind()),
            )
        })?;
    let hir = strip_outer_anchors(hir);
    if !hir.properties().look_set().is_empty() {
        let offset = first_assertion(&ast, pattern.len()).unwrap_or(0);
        return Err(GrammarError::Unsupported {
            message: "look-around assertions (word boundaries, anchors not at the very start \
                      or end) are not supported: the regex is matched against the whole output"
                .into(),
            location: Location::at(pattern, offset),
        });
    }
    Ok(hir)
}

fn ast_error(pattern: &str, e: &ast::Error) -> GrammarError {
    use ast::ErrorKind as K;
    let unsupported = matches!(
        e.kind(),
        K::UnsupportedLookAround | K::UnsupportedBackreference
    );
    syntax_error(
        pattern,
        e.span().start.offset,
        e.kind().to_string(),
        unsupported,
    )
}

fn is_unsupported_hir(kind: &regex_syntax::hir::ErrorKind) -> bool {
    use regex_syntax::hir::ErrorKind as K;
    matches!(kind, K::UnicodeNotAllowed | K::InvalidUtf8)
}

fn syntax_error(pattern: &str, offset: usize, message: String, unsupported: bool) -> GrammarError {
    let location = Location::at(pattern, offset);
    if unsupported {
        GrammarError::Unsupported { message, location }
    } else {
        GrammarError::Syntax { message, location }
    }
}

fn is_start(l: &Look) -> bool {
    matches!(l, Look::Start | Look::StartLF | Look::StartCRLF)
}

fn is_end(l: &Look) -> bool {
    matches!(l, Look::End | Look::EndLF | Look::EndCRLF)
}

/// Removes start anchors at the beginning and end anchors at the end of the
/// pattern (also inside top-level alternatives and groups).
fn strip_outer_anchors(hir: Hir) -> Hir {
    strip(hir, true, true)
}

fn strip(hir: Hir, at_start: bool, at_end: bool) -> Hir {
    match hir.into_kind() {
        HirKind::Look(l) if (at_start && is_start(&l)) || (at_end && is_end(&l)) => Hir::empty(),
        HirKind::Concat(subs) => {
            let n = subs.len();
            let subs = subs
                .into_iter()
                .enumerate()
                .map(|(i, h)| {
                    // An anchor after another anchor or an empty piece is
                    // still at the start; keep it simple and only look at
                    // the first and last pieces.
                    strip(h, at_start && i == 0, at_end && i + 1 == n)
                })
                .collect();
            Hir::concat(subs)
        }
        HirKind::Alternation(subs) => Hir::alternation(
            subs.into_iter()
                .map(|h| strip(h, at_start, at_end))
                .collect(),
        ),
        HirKind::Capture(mut c) => {
            let sub = std::mem::replace(&mut c.sub, Box::new(Hir::empty()));
            c.sub = Box::new(strip(*sub, at_start, at_end));
            Hir::capture(c)
        }
        kind => rebuild(kind),
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

/// Byte offset of the first assertion that is not at either end of the
/// pattern (those were stripped), for error messages.
fn first_assertion(ast: &Ast, len: usize) -> Option<usize> {
    let mut stack = vec![ast];
    let mut spans = Vec::new();
    while let Some(a) = stack.pop() {
        match a {
            Ast::Assertion(x) => spans.push((x.span.start.offset, x.span.end.offset)),
            Ast::Repetition(r) => stack.push(&r.ast),
            Ast::Group(g) => stack.push(&g.ast),
            Ast::Alternation(alt) => stack.extend(alt.asts.iter()),
            Ast::Concat(c) => stack.extend(c.asts.iter()),
            _ => {}
        }
    }
    spans.sort_unstable();
    spans
        .iter()
        .find(|&&(s, e)| s != 0 && e != len)
        .or(spans.first())
        .map(|&(s, _)| s)
}

/// The strings matched by `hir` (every string when `None`) that contain
/// none of `words` as a substring, as a regex; `None` when there are none.
/// Used for stop strings: a generated piece of text ends where a stop
/// string starts, so it never contains one.
///
/// ```
/// let h = rein_grammar::regex::without_substrings(None, &["END", "\n"]).unwrap().unwrap();
/// let g = rein_grammar::Grammar::from_expr(rein_grammar::Expr::regex(h));
/// assert!(g.validate().is_ok());
/// ```
///
/// # Errors
/// [`GrammarError::Limit`] when the automata needed grow too large.
pub fn without_substrings(hir: Option<&Hir>, words: &[&str]) -> Result<Option<Hir>, GrammarError> {
    use crate::json_schema::{automata, rx};
    let words: Vec<&str> = words.iter().copied().filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return Ok(Some(
            hir.cloned()
                .unwrap_or_else(|| rx::rep(rx::any_char(), 0, None)),
        ));
    }
    let any = rx::rep(rx::any_char(), 0, None);
    let containing = rx::concat(vec![any.clone(), rx::any_of(&words), any]);
    let pos: Vec<&Hir> = hir.into_iter().collect();
    // The same bound as a JSON Schema's default work limit.
    let mut budget = automata::Budget::new(2_000_000);
    automata::combine(&pos, &[&containing], &mut budget).map_err(|e| GrammarError::Limit {
        what: format!("{} of the text without the stop strings", e.what),
        value: e.limit as u64 + 1,
        limit: e.limit as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_at_ends_are_accepted() {
        assert!(parse("^abc$").is_ok());
        assert!(parse(r"\Aabc\z").is_ok());
        assert!(parse("^a|^b$").is_ok());
    }

    #[test]
    fn word_boundary_is_located() {
        let e = parse(r"ab\bc").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("1:3"), "{msg}");
        assert!(msg.contains("look-around"), "{msg}");
    }

    #[test]
    fn lookahead_is_unsupported_with_position() {
        let e = parse(r"a(?=b)").unwrap_err();
        assert!(matches!(e, GrammarError::Unsupported { .. }), "{e}");
        assert!(e.to_string().contains("1:2"), "{e}");
    }

    #[test]
    fn backreference_is_unsupported() {
        let e = parse(r"(a)\1").unwrap_err();
        assert!(matches!(e, GrammarError::Unsupported { .. }), "{e}");
    }

    #[test]
    fn syntax_error_has_caret() {
        let e = parse("ab(c").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains('^'), "{msg}");
        assert!(matches!(e, GrammarError::Syntax { .. }));
    }

    #[test]
    fn error_messages() {
        let look = "look-around assertions (word boundaries, anchors not at the very start or \
                    end) are not supported: the regex is matched against the whole output";
        let cases: &[(&str, &str, &str)] = &[
            ("ab(c", "syntax error at 1:3", "unclosed group"),
            (
                "a{2,1}",
                "syntax error at 1:2",
                "invalid repetition count range, the start must be <= the end",
            ),
            (
                r"\p{Nope}",
                "syntax error at 1:1",
                "Unicode property not found",
            ),
            (
                "a(?=b)",
                "unsupported at 1:2",
                "look-around, including look-ahead and look-behind, is not supported",
            ),
            (
                "a(?<!b)",
                "unsupported at 1:2",
                "look-around, including look-ahead and look-behind, is not supported",
            ),
            (
                r"(a)\1",
                "unsupported at 1:4",
                "backreferences are not supported",
            ),
            (
                r"(?-u:\xFF)",
                "unsupported at 1:6",
                "pattern can match invalid UTF-8",
            ),
            (r"ab\bc", "unsupported at 1:3", look),
            ("a^b", "unsupported at 1:2", look),
        ];
        for &(p, at, want) in cases {
            let e = parse(p).unwrap_err().to_string();
            let first = e.lines().next().unwrap_or_default();
            assert_eq!(first, format!("{at}: {want}"), "{p}");
        }
        let config = Config {
            max_len: 3,
            ..Config::default()
        };
        let e = parse_with("abcd", &config).unwrap_err();
        assert_eq!(
            e.to_string(),
            "limit exceeded: length of the regex in bytes is 4, the limit is 3"
        );
        let config = Config {
            nest_limit: 2,
            ..Config::default()
        };
        let e = parse_with("(((a)))", &config).unwrap_err().to_string();
        assert!(
            e.starts_with("syntax error at 1:3: exceed the maximum number of nested"),
            "{e}"
        );
    }

    /// `n` distinct stop strings of `len` lowercase letters.
    fn stops(n: usize, len: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                (0..len)
                    .map(|j| char::from(b'a' + ((i * 7 + j * 3 + j / 5) % 26) as u8))
                    .collect()
            })
            .collect()
    }

    /// Regression: stop strings past the automata budgets were reported as
    /// "automaton states for stop strings is 1000, the limit is 1000"
    /// (the number of stop strings, twice) whatever ran out; the error
    /// names the budget now.
    #[test]
    fn stop_strings_past_the_automata_budgets_name_the_budget() {
        let one = stops(1, 100);
        let words: Vec<&str> = one.iter().map(String::as_str).collect();
        assert!(without_substrings(None, &words).unwrap().is_some());
        let work = ("automata work", 2_000_000);
        let cases = [
            (1000, 3, work),
            (100, 50, work),
            (1000, 20, ("NFA states", 20_000)),
            (10, 10, ("regex nodes", 30_000)),
        ];
        for (n, len, (what, limit)) in cases {
            let s = stops(n, len);
            let words: Vec<&str> = s.iter().map(String::as_str).collect();
            let e = without_substrings(None, &words).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "limit exceeded: {what} of the text without the stop strings is {}, the \
                     limit is {limit}",
                    limit + 1
                ),
                "{n} stop strings of {len}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let p = "(".repeat(100_000) + &")".repeat(100_000);
        assert!(parse(&p).is_err());
    }
}
