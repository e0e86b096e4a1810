//! Errors raised while turning constraint text into a [`Grammar`](crate::Grammar).

use std::fmt;

/// A position in a piece of source text, with the line shown and a caret
/// under the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
    /// The text of that line (without its newline), clipped around the
    /// column when the line is very long.
    pub line_text: String,
    /// 1-based column of the caret within `line_text`.
    pub caret: usize,
}

impl Location {
    /// The location of byte offset `offset` in `src` (clamped to its length
    /// and to a character boundary).
    pub fn at(src: &str, offset: usize) -> Location {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &src[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
        let col = src[line_start..offset].chars().count() + 1;
        let text = src[line_start..line_end].trim_end_matches('\r');
        // Keep messages readable for huge one-line inputs.
        let skip = col.saturating_sub(80);
        let line_text: String = text
            .chars()
            .skip(skip)
            .take(160)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        Location {
            line,
            col,
            line_text,
            caret: col - skip,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gutter = self.line.to_string().len();
        writeln!(f, "{:gutter$}--> {}:{}", "", self.line, self.col)?;
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{} | {}", self.line, self.line_text)?;
        write!(f, "{:gutter$} | {:>caret$}", "", "^", caret = self.caret)
    }
}

/// Constraint text from raw bytes (a file's contents): the text itself, or
/// a syntax error located at the first byte that is not valid UTF-8.
///
/// ```
/// let e = rein_grammar::text_from_bytes(b"root ::= \"a\xff\"").unwrap_err();
/// assert!(e.to_string().starts_with("syntax error at 1:12: invalid UTF-8 at byte 11 (\\xff)"), "{e}");
/// ```
pub fn text_from_bytes(bytes: &[u8]) -> Result<&str, GrammarError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let ok = e.valid_up_to();
        // The valid prefix locates the line and column.
        let before = std::str::from_utf8(bytes.get(..ok).unwrap_or_default()).unwrap_or_default();
        let location = Location::at(before, ok);
        let bad: String = bytes
            .get(ok..)
            .unwrap_or_default()
            .iter()
            .take(e.error_len().unwrap_or(1).max(1))
            .map(|b| format!("\\x{b:02x}"))
            .collect();
        GrammarError::Syntax {
            message: format!("invalid UTF-8 at byte {ok} ({bad})"),
            location,
        }
    })
}

/// An error building a grammar from constraint text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrammarError {
    /// The text does not follow the front-end's syntax.
    #[error("syntax error at {}:{}: {message}\n{location}", location.line, location.col)]
    Syntax {
        /// What is wrong.
        message: String,
        /// Where.
        location: Location,
    },
    /// A well-formed construct that rein does not support.
    #[error("unsupported at {}:{}: {message}\n{location}", location.line, location.col)]
    Unsupported {
        /// What is not supported.
        message: String,
        /// Where.
        location: Location,
    },
    /// A rule is used but never defined.
    #[error("undefined rule `{name}` at {}:{}\n{location}", location.line, location.col)]
    UndefinedRule {
        /// The rule's name.
        name: String,
        /// Where it is used.
        location: Location,
    },
    /// The grammar has no start rule.
    #[error("missing start rule `{name}`")]
    MissingStart {
        /// The expected name (`root` for GBNF).
        name: String,
    },
    /// A rule (or the whole grammar) derives no string at all.
    #[error("rule `{name}` can never finish: its language is empty{}", location.as_ref().map(|l| format!("\n{l}")).unwrap_or_default())]
    EmptyLanguage {
        /// The rule's name.
        name: String,
        /// Where it is defined, when known.
        location: Option<Location>,
    },
    /// A JSON Schema construct that is invalid or unsupported.
    #[error("schema error at {pointer:?}{}: {message}", in_keyword(keyword))]
    Schema {
        /// JSON pointer of the schema object.
        pointer: String,
        /// The keyword at fault (empty when the fault is the schema object
        /// itself).
        keyword: String,
        /// What is wrong.
        message: String,
    },
    /// A configured limit was exceeded.
    #[error("limit exceeded: {what} is {value}, the limit is {limit}")]
    Limit {
        /// What was measured.
        what: String,
        /// How much there was (at least).
        value: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The grammar's structure is invalid (for grammars built in code).
    #[error("invalid grammar: {0}")]
    Invalid(String),
}

/// ` (keyword `k`)`, or nothing for an empty keyword.
fn in_keyword(keyword: &str) -> String {
    if keyword.is_empty() {
        String::new()
    } else {
        format!(" (keyword `{keyword}`)")
    }
}
