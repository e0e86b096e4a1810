//! Mapping token strings to the bytes they contribute to the output.
//!
//! Two schemes are in use:
//!
//! - **byte-level BPE** (GPT-2, Llama 3, Qwen, SmolLM2): every byte is
//!   written as one printable character (`Ġ` for a space, `Ċ` for a
//!   newline); the map is inverted here;
//! - **SentencePiece** (Gemma, Llama 2): `▁` stands for a space, and with
//!   byte fallback the pieces `<0x00>`..`<0xFF>` stand for single bytes.

use serde_json::Value;

/// How a tokenizer writes bytes as token strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decoding {
    /// GPT-2 byte-to-unicode map.
    ByteLevel,
    /// `▁` for space; `<0xNN>` pieces are bytes when `byte_fallback`.
    SentencePiece {
        /// Whether `<0xNN>` pieces stand for bytes.
        byte_fallback: bool,
    },
    /// The token string's UTF-8 bytes, as is.
    Raw,
}

/// The character the GPT-2 byte-level scheme uses for each byte.
#[cfg(test)]
pub(crate) fn byte_to_char(b: u8) -> char {
    BYTE_TO_CHAR[b as usize]
}

const fn is_printable(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

const BYTE_TO_CHAR_U32: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0u32;
    let mut b = 0usize;
    while b < 256 {
        if is_printable(b as u8) {
            table[b] = b as u32;
        } else {
            table[b] = 256 + n;
            n += 1;
        }
        b += 1;
    }
    table
};

/// Chars `0..CHAR_LIMIT` cover the whole map (the largest is U+0143).
const CHAR_LIMIT: usize = 324;

/// Inverse map: `CHAR_TO_BYTE[c] = b + 1`, or 0 when `c` is not in the map.
const CHAR_TO_BYTE: [u16; CHAR_LIMIT] = {
    let mut table = [0u16; CHAR_LIMIT];
    let mut b = 0usize;
    while b < 256 {
        table[BYTE_TO_CHAR_U32[b] as usize] = b as u16 + 1;
        b += 1;
    }
    table
};

#[cfg(test)]
static BYTE_TO_CHAR: [char; 256] = {
    let mut table = ['\0'; 256];
    let mut b = 0usize;
    while b < 256 {
        table[b] = match char::from_u32(BYTE_TO_CHAR_U32[b]) {
            Some(c) => c,
            None => '\0',
        };
        b += 1;
    }
    table
};

/// The byte a GPT-2 byte-level character stands for.
#[inline]
pub(crate) fn char_to_byte(c: char) -> Option<u8> {
    let k = c as usize;
    if k < CHAR_LIMIT && CHAR_TO_BYTE[k] != 0 {
        Some((CHAR_TO_BYTE[k] - 1) as u8)
    } else {
        None
    }
}

/// The `NN` of a `<0xNN>` byte-fallback piece.
pub(crate) fn byte_piece(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

impl Decoding {
    /// Appends the bytes `text` contributes to the output.
    ///
    /// Like the `tokenizers` byte-level decoder, a string with a character
    /// outside the byte map contributes its UTF-8 bytes unchanged.
    pub(crate) fn push_bytes(self, text: &str, out: &mut Vec<u8>) {
        match self {
            Decoding::ByteLevel => {
                let start = out.len();
                for c in text.chars() {
                    match char_to_byte(c) {
                        Some(b) => out.push(b),
                        None => {
                            out.truncate(start);
                            out.extend_from_slice(text.as_bytes());
                            return;
                        }
                    }
                }
            }
            Decoding::SentencePiece { byte_fallback } => {
                if byte_fallback {
                    if let Some(b) = byte_piece(text) {
                        out.push(b);
                        return;
                    }
                }
                let mut rest = text;
                while let Some(k) = rest.find('\u{2581}') {
                    out.extend_from_slice(&rest.as_bytes()[..k]);
                    out.push(b' ');
                    rest = &rest[k + '\u{2581}'.len_utf8()..];
                }
                out.extend_from_slice(rest.as_bytes());
            }
            Decoding::Raw => out.extend_from_slice(text.as_bytes()),
        }
    }

    /// Works out the scheme from a tokenizer.json's `decoder` and
    /// `pre_tokenizer` sections and the model's `byte_fallback` flag.
    /// Returns an error message for decoders whose output is not a plain
    /// concatenation of tokens (WordPiece, CTC).
    pub(crate) fn detect(
        decoder: Option<&Value>,
        pre_tokenizer: Option<&Value>,
        model_byte_fallback: bool,
    ) -> Result<Decoding, String> {
        let mut found = Found::default();
        if let Some(d) = decoder {
            scan(d, "decoders", &mut found);
        }
        if let Some(unsupported) = found.unsupported {
            return Err(format!(
                "the {unsupported} decoder does not decode tokens independently"
            ));
        }
        if !found.byte_level && !found.metaspace {
            // No telling decoder: fall back on the pre-tokenizer.
            if let Some(p) = pre_tokenizer {
                let mut pre = Found::default();
                scan(p, "pretokenizers", &mut pre);
                found.byte_level |= pre.byte_level;
                found.metaspace |= pre.metaspace;
            }
        }
        let byte_fallback = found.byte_fallback || model_byte_fallback;
        Ok(if found.byte_level {
            Decoding::ByteLevel
        } else if found.metaspace || byte_fallback {
            Decoding::SentencePiece { byte_fallback }
        } else {
            Decoding::Raw
        })
    }
}

#[derive(Default)]
struct Found {
    byte_level: bool,
    metaspace: bool,
    byte_fallback: bool,
    unsupported: Option<String>,
}

fn scan(v: &Value, list_key: &str, found: &mut Found) {
    let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
    match ty {
        "ByteLevel" => found.byte_level = true,
        "Metaspace" => found.metaspace = true,
        "ByteFallback" => found.byte_fallback = true,
        "Replace" => {
            let pattern = v
                .get("pattern")
                .and_then(|p| p.get("String"))
                .and_then(Value::as_str);
            let content = v.get("content").and_then(Value::as_str);
            if pattern == Some("\u{2581}") && content == Some(" ") {
                found.metaspace = true;
            }
        }
        "WordPiece" | "CTC" | "BPEDecoder" => found.unsupported = Some(ty.to_string()),
        "Sequence" => {
            if let Some(items) = v.get(list_key).and_then(Value::as_array) {
                for item in items {
                    scan(item, list_key, found);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_map_is_a_bijection() {
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = byte_to_char(b);
            assert!(seen.insert(c));
            assert_eq!(char_to_byte(c), Some(b));
        }
        assert_eq!(byte_to_char(b' '), '\u{120}');
        assert_eq!(byte_to_char(b'\n'), '\u{10a}');
        assert_eq!(byte_to_char(b'A'), 'A');
        assert_eq!(char_to_byte('\u{2581}'), None);
    }

    #[test]
    fn sentencepiece_pieces() {
        let d = Decoding::SentencePiece {
            byte_fallback: true,
        };
        let mut out = Vec::new();
        d.push_bytes("\u{2581}hello\u{2581}\u{2581}", &mut out);
        assert_eq!(out, b" hello  ");
        out.clear();
        d.push_bytes("<0x0A>", &mut out);
        assert_eq!(out, b"\n");
        out.clear();
        d.push_bytes("<0xZZ>", &mut out);
        assert_eq!(out, b"<0xZZ>");
    }
}
