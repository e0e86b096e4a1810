//! String `format`s as decoded-level regexes.
//!
//! Validators differ on how strictly they check formats (Python's
//! `jsonschema` checks `email` with `"@" in s`, others follow the RFCs).
//! A grammar must only produce strings that every strict validator
//! accepts, so each regex here is a *subset* of its RFC: upper-case `T`
//! and `Z` in date-times, no leap seconds, hostnames and e-mail addresses
//! within the RFC length limits, URIs whose host has no percent-encoding.
//! They accept what `json.dumps` of real data usually holds.

use regex_syntax::hir::Hir;

use super::rx;

/// What rein does with a format.
pub(crate) enum Format {
    /// A regex every value must match (decoded level, anchored).
    Regex(Hir),
    /// A format from the JSON Schema spec that rein cannot express.
    Unsupported,
    /// Not a format of the JSON Schema spec (validators ignore it).
    Unknown,
}

const DATE: &str = concat!(
    r"(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])",
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)",
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))",
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
);
const TIME: &str = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?";
const OFFSET: &str = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";

const DURATION: &str = concat!(
    r"P(?:(?:[0-9]+D|[0-9]+M(?:[0-9]+D)?|[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?)",
    r"(?:T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S))?",
    r"|T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)",
    r"|[0-9]+W)"
);

const IPV4: &str = r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";

fn ipv6() -> String {
    let h = "[0-9a-fA-F]{1,4}";
    let ls32 = format!("(?:{h}:{h}|{IPV4})");
    let upto = |n: usize| {
        if n == 0 {
            String::new()
        } else {
            format!("(?:(?:{h}:){{0,{}}}{h})?", n - 1)
        }
    };
    let alts = [
        format!("(?:{h}:){{6}}{ls32}"),
        format!("::(?:{h}:){{5}}{ls32}"),
        format!("(?:{h})?::(?:{h}:){{4}}{ls32}"),
        format!("{}::(?:{h}:){{3}}{ls32}", upto(2)),
        format!("{}::(?:{h}:){{2}}{ls32}", upto(3)),
        format!("{}::{h}:{ls32}", upto(4)),
        format!("{}::{ls32}", upto(5)),
        format!("{}::{h}", upto(6)),
        format!("{}::", upto(7)),
    ];
    format!("(?:{})", alts.join("|"))
}

/// A DNS label of at most `n` characters, without consecutive hyphens
/// (`ab--x` would have to be a valid punycode A-label).
fn label(n: usize) -> String {
    format!("[A-Za-z0-9](?:-?[A-Za-z0-9]){{0,{}}}", (n - 1) / 2)
}

/// Host names of at most 253 characters: up to three labels of 63, or up
/// to twelve of 20.
fn hostname() -> String {
    let (l63, l20) = (label(63), label(20));
    format!("(?:{l63}(?:\\.{l63}){{0,2}}|{l20}(?:\\.{l20}){{3,11}})")
}

fn email() -> String {
    let atom = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}";
    let l = label(40);
    format!(r"{atom}(?:\.{atom}){{0,2}}@(?:{l}\.){{1,3}}[A-Za-z]{{2,20}}")
}

const UNRESERVED: &str = r"A-Za-z0-9._~\-";
const SUB_DELIMS: &str = r"!$&'()*+,;=";
const PCT: &str = r"%[0-9A-Fa-f]{2}";
const PORT: &str =
    r"(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

fn uri_parts() -> (String, String, String, String) {
    let pchar = format!("(?:[{UNRESERVED}{SUB_DELIMS}:@]|{PCT})");
    let userinfo = format!("(?:[{UNRESERVED}{SUB_DELIMS}:]|{PCT})*");
    let host = format!(
        r"(?:\[{}\]|{IPV4}|[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?)",
        ipv6()
    );
    let authority = format!("(?:{userinfo}@)?{host}(?::{PORT})?");
    let tail = format!(r"(?:\?(?:{pchar}|[/?])*)?(?:#(?:{pchar}|[/?])*)?");
    (pchar, authority, tail, userinfo)
}

fn uri() -> String {
    let (pchar, authority, tail, _) = uri_parts();
    let hier = format!(
        "(?://{authority}(?:/{pchar}*)*|/(?:{pchar}+(?:/{pchar}*)*)?|{pchar}+(?:/{pchar}*)*)"
    );
    format!("[A-Za-z][A-Za-z0-9+.\\-]*:{hier}{tail}")
}

fn uri_reference() -> String {
    let (pchar, authority, tail, _) = uri_parts();
    let seg_nc = format!("(?:[{UNRESERVED}{SUB_DELIMS}@]|{PCT})");
    let relative = format!(
        "(?://{authority}(?:/{pchar}*)*|/(?:{pchar}+(?:/{pchar}*)*)?|{seg_nc}+(?:/{pchar}*)*|)"
    );
    format!("(?:{}|{relative}{tail})", uri())
}

const JSON_POINTER: &str = r"(?:/(?:[^/~]|~[01])*)*";

/// The format `name`, for strings.
pub(crate) fn lookup(name: &str) -> Result<Format, String> {
    let re = match name {
        "date-time" => format!("{DATE}T{TIME}{OFFSET}"),
        "date" => DATE.to_string(),
        "time" => format!("{TIME}{OFFSET}"),
        "duration" => DURATION.to_string(),
        "email" => email(),
        "hostname" => hostname(),
        "ipv4" => IPV4.to_string(),
        "ipv6" => ipv6(),
        "uuid" => {
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}".into()
        }
        "uri" => uri(),
        "uri-reference" => uri_reference(),
        "json-pointer" => JSON_POINTER.to_string(),
        "relative-json-pointer" => format!("(?:0|[1-9][0-9]*)(?:#|{JSON_POINTER})"),
        "idn-email" | "idn-hostname" | "iri" | "iri-reference" | "uri-template" | "regex" => {
            return Ok(Format::Unsupported)
        }
        _ => return Ok(Format::Unknown),
    };
    rx::parse_fixed(&re).map(Format::Regex)
}

/// The formats [`lookup`] turns into regexes.
pub(crate) const SUPPORTED: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
    "uri",
    "uri-reference",
    "json-pointer",
    "relative-json-pointer",
];

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::meta::Regex;
    use regex_syntax::hir::Look;

    fn matcher(name: &str) -> impl Fn(&str) -> bool {
        let Ok(Format::Regex(h)) = lookup(name) else {
            panic!("{name}")
        };
        let h = rx::concat(vec![Hir::look(Look::Start), h, Hir::look(Look::End)]);
        let re = Regex::builder().build_from_hir(&h).unwrap();
        move |s| re.is_match(s)
    }

    #[test]
    fn every_supported_format_parses() {
        for f in SUPPORTED {
            assert!(matches!(lookup(f), Ok(Format::Regex(_))), "{f}");
        }
        assert!(matches!(lookup("iri"), Ok(Format::Unsupported)));
        assert!(matches!(lookup("int32"), Ok(Format::Unknown)));
    }

    #[test]
    fn dates() {
        let m = matcher("date");
        assert!(m("2024-02-29") && m("2000-02-29") && m("2023-12-31"));
        assert!(!m("2023-02-29") && !m("1900-02-29") && !m("2023-04-31") && !m("2023-13-01"));
        let m = matcher("date-time");
        assert!(m("2024-01-02T03:04:05Z") && m("2024-01-02T03:04:05.123+05:30"));
        assert!(
            !m("2024-01-02 03:04:05Z") && !m("2024-01-02T24:00:00Z") && !m("2024-01-02T03:04:05")
        );
        let m = matcher("time");
        assert!(m("23:59:59Z") && !m("23:59:60Z"));
        let m = matcher("duration");
        assert!(m("P1Y2M3DT4H5M6S") && m("PT1H") && m("P2W") && m("P1D"));
        assert!(!m("P") && !m("PT") && !m("P1Y3D") && !m("P1W2D"));
    }

    #[test]
    fn network() {
        let m = matcher("ipv4");
        assert!(m("192.168.0.1") && !m("256.1.1.1") && !m("01.1.1.1"));
        let m = matcher("ipv6");
        for s in [
            "::",
            "::1",
            "fe80::1",
            "2001:db8::8a2e:370:7334",
            "1:2:3:4:5:6:7:8",
            "::ffff:1.2.3.4",
        ] {
            assert!(m(s), "{s}");
        }
        for s in ["1:2:3:4:5:6:7:8:9", ":::", "1::2::3", "12345::"] {
            assert!(!m(s), "{s}");
        }
        let m = matcher("hostname");
        assert!(m("example.com") && m("localhost") && m("a-b.c"));
        assert!(!m("-a.com") && !m("a_b.com") && !m("a..b"));
        let m = matcher("email");
        assert!(m("first.last@example.com") && m("x+y@sub.example.org"));
        assert!(!m("no-at-sign") && !m("a@b") && !m(".a@b.com"));
        let m = matcher("uri");
        assert!(m("https://example.com/path?q=1#f") && m("mailto:a@b.c") && m("urn:isbn:123"));
        assert!(!m("not a uri") && !m("invalid_url") && !m("//example.com") && !m("://"));
        let m = matcher("uri-reference");
        assert!(m("../a/b") && m("#frag") && m("") && m("http://x.y"));
        assert!(!m("a b"));
        let m = matcher("uuid");
        assert!(
            m("123e4567-e89b-12d3-a456-426614174000") && !m("123e4567e89b12d3a456426614174000")
        );
        let m = matcher("json-pointer");
        assert!(m("") && m("/a/b~0c") && !m("a") && !m("/~2"));
        let m = matcher("relative-json-pointer");
        assert!(m("0") && m("1/a") && m("2#") && !m("01") && !m("/a"));
    }
}
