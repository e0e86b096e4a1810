//! Regexes for JSON numbers within bounds.
//!
//! Bounds are exact decimals. Integers are written without exponent (as
//! every JSON encoder writes integers); other numbers may use plain
//! decimal notation (exact for any bounds) or normalized scientific
//! notation `d.ddd e±n` (as Python's `repr` writes very large and very
//! small floats), the latter for the decades `[10^n, 10^(n+1))` that lie
//! entirely within the bounds. Negative zero is never produced. Every
//! regex is linear in the number of digits of the bounds.

use regex_syntax::hir::Hir;

use super::decimal::Decimal;
use super::rx::{alt, class, concat, lit, rep};

/// A bound: the value and whether it is exclusive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bound {
    pub(crate) value: Decimal,
    pub(crate) exclusive: bool,
}

fn digit() -> Hir {
    class(&[('0', '9')])
}

fn digits(min: u32, max: Option<u32>) -> Hir {
    rep(digit(), min, max)
}

fn digit_class(lo: u8, hi: u8) -> Hir {
    class(&[(lo as char, hi as char)])
}

/// Digit strings of `a.len()` characters between `a` and `b` inclusive
/// (lexicographic = numeric for equal lengths).
fn digits_range(a: &[u8], b: &[u8]) -> Hir {
    debug_assert_eq!(a.len(), b.len());
    if a.is_empty() {
        return Hir::empty();
    }
    if a[0] == b[0] {
        return concat(vec![
            lit(&(a[0] as char).to_string()),
            digits_range(&a[1..], &b[1..]),
        ]);
    }
    let n = a.len() as u32 - 1;
    let mut alts = Vec::new();
    if a[1..].iter().all(|&d| d == b'0') {
        // From a[0]000 on: merge into the middle class.
        if b[1..].iter().all(|&d| d == b'9') {
            return concat(vec![digit_class(a[0], b[0]), digits(n, Some(n))]);
        }
        if a[0] < b[0] {
            alts.push(concat(vec![
                digit_class(a[0], b[0] - 1),
                digits(n, Some(n)),
            ]));
        }
    } else {
        alts.push(concat(vec![
            lit(&(a[0] as char).to_string()),
            digits_range(&a[1..], &vec![b'9'; a.len() - 1]),
        ]));
        if a[0] + 1 < b[0] {
            alts.push(concat(vec![
                digit_class(a[0] + 1, b[0] - 1),
                digits(n, Some(n)),
            ]));
        }
    }
    alts.push(concat(vec![
        lit(&(b[0] as char).to_string()),
        digits_range(&vec![b'0'; b.len() - 1], &b[1..]),
    ]));
    alt(alts)
}

/// Natural numbers (no leading zeros) in `[a, b]`, `b = None` unbounded.
/// `a` and `b` are plain digit strings without leading zeros ("0" for 0).
pub(crate) fn nat_range(a: &str, b: Option<&str>) -> Hir {
    if let Some(b) = b {
        if (a.len(), a) > (b.len(), b) {
            return Hir::fail();
        }
    }
    let mut alts = Vec::new();
    let mut a = a.to_string();
    if a == "0" {
        alts.push(lit("0"));
        if b == Some("0") {
            return alt(alts);
        }
        a = "1".into();
    }
    let la = a.len();
    let lb = b.map(str::len);
    // Length la.
    let top_a = match b {
        Some(b) if b.len() == la => b.to_string(),
        _ => "9".repeat(la),
    };
    alts.push(digits_range(a.as_bytes(), top_a.as_bytes()));
    match lb {
        None => alts.push(concat(vec![
            digit_class(b'1', b'9'),
            digits(la as u32, None),
        ])),
        Some(lb) if lb > la => {
            if lb > la + 1 {
                alts.push(concat(vec![
                    digit_class(b'1', b'9'),
                    digits(la as u32, Some(lb as u32 - 2)),
                ]));
            }
            let low = format!("1{}", "0".repeat(lb - 1));
            alts.push(digits_range(
                low.as_bytes(),
                b.unwrap_or_default().as_bytes(),
            ));
        }
        _ => {}
    }
    alt(alts)
}

/// Integers in `[lo, hi]` (inclusive, integer-valued bounds).
pub(crate) fn int_range(lo: Option<&Decimal>, hi: Option<&Decimal>) -> Hir {
    if let (Some(l), Some(h)) = (lo, hi) {
        if l > h {
            return Hir::fail();
        }
    }
    let zero = Decimal::zero();
    let mut alts = Vec::new();
    // Non-negative part.
    if hi.is_none_or(|h| *h >= zero) {
        let a = match lo {
            Some(l) if *l > zero => l.int_frac().0,
            _ => "0".into(),
        };
        let b = hi.map(|h| h.int_frac().0);
        alts.push(nat_range(&a, b.as_deref()));
    }
    // Negative part: magnitudes in [max(1, -hi), -lo].
    if lo.is_none_or(|l| *l < zero) {
        let a = match hi {
            Some(h) if *h < zero => h.abs().int_frac().0,
            _ => "1".into(),
        };
        let b = lo.map(|l| l.abs().int_frac().0);
        alts.push(concat(vec![lit("-"), nat_range(&a, b.as_deref())]));
    }
    alt(alts)
}

type FracBound<'a> = Option<(&'a [u8], bool)>;

/// The state of one fraction bound after reading a digit.
#[derive(Clone, Copy, PartialEq)]
enum St<'a> {
    /// The bound is satisfied whatever follows.
    Free,
    /// Still bound by the rest of the digits.
    Bound(&'a [u8], bool),
}

impl<'a> St<'a> {
    fn bound(self) -> FracBound<'a> {
        match self {
            St::Free => None,
            St::Bound(r, excl) => Some((r, excl)),
        }
    }
}

/// Fraction digit strings `D` (empty allowed when `allow_empty`) with
/// `x <= 0.D <= y`, where `x`, `y` are fraction digits (no trailing zeros)
/// with exclusiveness flags; `None` is no bound. `max_len` limits the
/// digits that may be non-zero (for `multipleOf` 10^-k); zeros may follow.
fn frac(x: FracBound, y: FracBound, allow_empty: bool, max_len: Option<usize>) -> Hir {
    // An inclusive lower bound of 0 is no bound.
    let x = match x {
        Some((&[], false)) => None,
        o => o,
    };
    if let Some((r, true)) = y {
        if r.is_empty() {
            return Hir::fail();
        }
    }
    let tail_zeros = |allow_empty: bool| rep(lit("0"), if allow_empty { 0 } else { 1 }, None);
    if max_len == Some(0) {
        // Only zeros may follow: the value of the rest is 0.
        return if x.is_none() {
            tail_zeros(allow_empty)
        } else {
            Hir::fail()
        };
    }
    let any_digits = |allow_empty: bool| match max_len {
        None => digits(if allow_empty { 0 } else { 1 }, None),
        Some(m) => concat(vec![
            digits(if allow_empty { 0 } else { 1 }, Some(m as u32)),
            tail_zeros(true),
        ]),
    };
    match (x, y) {
        (None, None) => return any_digits(allow_empty),
        (Some((&[], true)), None) => {
            // 0.D > 0: some non-zero digit (within max_len).
            return match max_len {
                None => concat(vec![
                    rep(lit("0"), 0, None),
                    digit_class(b'1', b'9'),
                    digits(0, None),
                ]),
                Some(m) => alt((0..m)
                    .map(|p| {
                        concat(vec![
                            rep(lit("0"), p as u32, Some(p as u32)),
                            digit_class(b'1', b'9'),
                            digits(0, Some((m - p - 1) as u32)),
                            tail_zeros(true),
                        ])
                    })
                    .collect()),
            };
        }
        (None, Some((&[], false))) => return tail_zeros(allow_empty),
        (Some((rx, true)), Some((ry, _))) if rx.is_empty() && ry.is_empty() => return Hir::fail(),
        _ => {}
    }
    let mut alts = Vec::new();
    if allow_empty && x.is_none() {
        alts.push(Hir::empty());
    }
    // Next states per digit; None inside Some(..) = bound satisfied.
    let step_x = |d: u8| -> Option<St<'_>> {
        match x {
            None => Some(St::Free),
            Some((r, excl)) => {
                let xd = r.first().copied().unwrap_or(b'0');
                if d > xd {
                    Some(St::Free)
                } else if d == xd {
                    Some(St::Bound(if r.is_empty() { r } else { &r[1..] }, excl))
                } else {
                    None
                }
            }
        }
    };
    let step_y = |d: u8| -> Option<St<'_>> {
        match y {
            None => Some(St::Free),
            Some((r, excl)) => {
                let yd = r.first().copied().unwrap_or(b'0');
                if d < yd {
                    Some(St::Free)
                } else if d == yd {
                    Some(St::Bound(if r.is_empty() { r } else { &r[1..] }, excl))
                } else {
                    None
                }
            }
        }
    };
    let mut d = b'0';
    while d <= b'9' {
        let (sx, sy) = (step_x(d), step_y(d));
        let mut e = d;
        while e < b'9' && step_x(e + 1) == sx && step_y(e + 1) == sy {
            e += 1;
        }
        if let (Some(sx), Some(sy)) = (sx, sy) {
            let rest = frac(sx.bound(), sy.bound(), true, max_len.map(|m| m - 1));
            alts.push(concat(vec![digit_class(d, e), rest]));
        }
        d = e + 1;
    }
    alt(alts)
}

/// Non-negative numbers in plain decimal notation within `[lo, hi]`
/// (`lo.value >= 0`).
fn nonneg_plain(lo: &Bound, hi: Option<&Bound>, max_frac: Option<usize>) -> Hir {
    let (a, fa) = lo.value.int_frac();
    let bh = hi.map(|h| h.value.int_frac());
    let any_frac = match max_frac {
        Some(0) => rep(concat(vec![lit("."), rep(lit("0"), 1, None)]), 0, Some(1)),
        _ => rep(
            concat(vec![lit("."), frac(None, None, false, max_frac)]),
            0,
            Some(1),
        ),
    };
    let fracset = |x: FracBound, y: FracBound| -> Hir {
        let mut alts = Vec::new();
        let zero_ok = x.is_none_or(|(r, excl)| r.is_empty() && !excl)
            && y.is_none_or(|(r, excl)| !(r.is_empty() && excl));
        if zero_ok {
            alts.push(Hir::empty());
        }
        let f = frac(x, y, false, max_frac);
        if !super::rx::matches_nothing(&f) {
            alts.push(concat(vec![lit("."), f]));
        }
        alt(alts)
    };
    let xa: FracBound = Some((fa.as_bytes(), lo.exclusive));
    let mut alts = Vec::new();
    match &bh {
        None => {
            alts.push(concat(vec![lit(&a), fracset(xa, None)]));
            let a1 = Decimal::parse(&a).map(|d| d.add_int(1).int_frac().0);
            if let Some(a1) = a1 {
                alts.push(concat(vec![nat_range(&a1, None), any_frac]));
            }
        }
        Some((b, fb)) => {
            let hib = hi.map(|h| h.exclusive).unwrap_or(false);
            let yb: FracBound = Some((fb.as_bytes(), hib));
            if a == *b {
                alts.push(concat(vec![lit(&a), fracset(xa, yb)]));
            } else {
                alts.push(concat(vec![lit(&a), fracset(xa, None)]));
                let a1 = Decimal::parse(&a).map(|d| d.add_int(1));
                let b1 = Decimal::parse(b).map(|d| d.add_int(-1));
                if let (Some(a1), Some(b1)) = (a1, b1) {
                    if a1 <= b1 {
                        alts.push(concat(vec![
                            nat_range(&a1.int_frac().0, Some(&b1.int_frac().0)),
                            any_frac,
                        ]));
                    }
                }
                alts.push(concat(vec![lit(b), fracset(None, yb)]));
            }
        }
    }
    alt(alts)
}

/// Scientific exponents stay within ±300: every such number is a normal
/// `f64`, as most validators read numbers.
const MAX_SCI_EXP: i64 = 300;

/// Exponents `e` (as `[eE]` + text) with `[10^e, 10^(e+1))` inside the
/// non-negative range `[lo, hi]`.
fn sci_exponents(lo: &Bound, hi: Option<&Bound>) -> Option<Hir> {
    let e_lo: Option<i64> = lo.value.magnitude().map(|m| {
        if lo.value.is_power_of_ten() && !lo.exclusive {
            m
        } else {
            m + 1
        }
    });
    let e_hi: Option<i64> = match hi {
        None => None,
        Some(h) => Some(h.value.magnitude()? - 1),
    };
    let e_lo = e_lo.unwrap_or(-MAX_SCI_EXP).max(-MAX_SCI_EXP);
    let e_hi = e_hi.unwrap_or(MAX_SCI_EXP - 1).min(MAX_SCI_EXP - 1);
    if e_lo > e_hi {
        return None;
    }
    let mut alts = Vec::new();
    // Non-negative exponents, optional `+`, leading zeros allowed.
    if e_hi >= 0 {
        let a = e_lo.max(0).to_string();
        let b = e_hi.to_string();
        alts.push(concat(vec![
            rep(lit("+"), 0, Some(1)),
            rep(lit("0"), 0, None),
            nat_range(&a, Some(&b)),
        ]));
    }
    // Negative exponents: magnitudes in [max(1, -e_hi), -e_lo].
    if e_lo < 0 {
        let a = if e_hi < 0 {
            (-e_hi).to_string()
        } else {
            "1".into()
        };
        let b = (-e_lo).to_string();
        alts.push(concat(vec![
            lit("-"),
            rep(lit("0"), 0, None),
            nat_range(&a, Some(&b)),
        ]));
    }
    Some(concat(vec![class(&[('e', 'e'), ('E', 'E')]), alt(alts)]))
}

/// Non-negative numbers within `[lo, hi]`, plain or scientific.
fn nonneg(lo: &Bound, hi: Option<&Bound>, max_frac: Option<usize>) -> Hir {
    let mut alts = vec![nonneg_plain(lo, hi, max_frac)];
    if max_frac.is_none() {
        if let Some(e) = sci_exponents(lo, hi) {
            alts.push(concat(vec![
                digit_class(b'1', b'9'),
                rep(concat(vec![lit("."), digits(1, None)]), 0, Some(1)),
                e,
            ]));
        }
    }
    alt(alts)
}

/// An exclusive bound as an inclusive one slightly inside it, so that no
/// number that validators read as a binary `f64` rounds onto the bound:
/// the margin is 10^-15 of the bound's magnitude (about five units in the
/// last place of an `f64`), or 10^-30 for a bound of zero.
pub(crate) fn f64_safe(b: &Bound, is_lower: bool) -> Bound {
    if !b.exclusive {
        return b.clone();
    }
    let margin = match b.value.magnitude() {
        Some(m) => Decimal::pow10(m - 15),
        None => Decimal::pow10(-30),
    };
    let value = if is_lower {
        b.value.add(&margin)
    } else {
        b.value.add(&margin.neg())
    };
    Bound {
        value,
        exclusive: false,
    }
}

/// Numbers within the bounds. `max_frac` limits the significant fraction
/// digits (`multipleOf: 0.01` is `Some(2)`), and disables scientific
/// notation.
pub(crate) fn number_range(lo: Option<&Bound>, hi: Option<&Bound>, max_frac: Option<usize>) -> Hir {
    let zero = Decimal::zero();
    let mut alts = Vec::new();
    let nonneg_allowed = hi.is_none_or(|h| h.value > zero || (h.value == zero && !h.exclusive));
    if nonneg_allowed {
        let nl = match lo {
            Some(l) if l.value >= zero => l.clone(),
            _ => Bound {
                value: zero.clone(),
                exclusive: false,
            },
        };
        alts.push(nonneg(&nl, hi, max_frac));
    }
    if lo.is_none_or(|l| l.value < zero) {
        let mag_lo = match hi {
            Some(h) if h.value < zero => Bound {
                value: h.value.abs(),
                exclusive: h.exclusive,
            },
            _ => Bound {
                value: zero.clone(),
                exclusive: true,
            },
        };
        let mag_hi = lo.map(|l| Bound {
            value: l.value.abs(),
            exclusive: l.exclusive,
        });
        alts.push(concat(vec![
            lit("-"),
            nonneg(&mag_lo, mag_hi.as_ref(), max_frac),
        ]));
    }
    alt(alts)
}

/// Integer multiples of `k` in `[lo, hi]`, when there are at most `limit`
/// of them (`None` otherwise).
pub(crate) fn int_multiples(k: &Decimal, lo: &Decimal, hi: &Decimal, limit: usize) -> Option<Hir> {
    // First multiple >= lo.
    let q_lo = ceil_div(lo, k)?;
    let q_hi = floor_div(hi, k)?;
    if q_hi < q_lo {
        return Some(Hir::fail());
    }
    if (q_hi - q_lo) as u128 >= limit as u128 {
        return None;
    }
    let mut alts = Vec::new();
    for q in q_lo..=q_hi {
        alts.push(lit(&k.times(q).to_plain()));
    }
    Some(alt(alts))
}

fn ceil_div(a: &Decimal, k: &Decimal) -> Option<i128> {
    let q = (a.to_f64() / k.to_f64()).floor();
    if !q.is_finite() || q.abs() > 1e15 {
        return None;
    }
    let mut q = q as i128 - 1;
    while k.times(q) < *a {
        q += 1;
    }
    Some(q)
}

fn floor_div(a: &Decimal, k: &Decimal) -> Option<i128> {
    let q = (a.to_f64() / k.to_f64()).ceil();
    if !q.is_finite() || q.abs() > 1e15 {
        return None;
    }
    let mut q = q as i128 + 1;
    while k.times(q) > *a {
        q -= 1;
    }
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::meta::Regex;
    use regex_syntax::hir::Look;

    fn full(h: Hir) -> Regex {
        let h = concat(vec![Hir::look(Look::Start), h, Hir::look(Look::End)]);
        Regex::builder().build_from_hir(&h).unwrap()
    }

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    fn b(s: &str, exclusive: bool) -> Bound {
        Bound {
            value: d(s),
            exclusive,
        }
    }

    #[test]
    fn natural_ranges_exhaustive() {
        for (a, bb) in [
            (0, 0),
            (0, 9),
            (3, 17),
            (10, 99),
            (7, 1234),
            (99, 101),
            (0, 100),
            (5, 5),
        ] {
            let re = full(nat_range(&a.to_string(), Some(&bb.to_string())));
            for n in 0..1500 {
                assert_eq!(
                    re.is_match(&n.to_string()),
                    (a..=bb).contains(&n),
                    "{a}..{bb}: {n}"
                );
            }
            assert!(!re.is_match(&format!("0{a}")));
        }
        let re = full(nat_range("42", None));
        for n in 0..2000 {
            assert_eq!(re.is_match(&n.to_string()), n >= 42, "{n}");
        }
    }

    #[test]
    fn integer_ranges_exhaustive() {
        let cases: [(Option<i64>, Option<i64>); 6] = [
            (Some(-15), Some(27)),
            (Some(-100), Some(-7)),
            (None, Some(-3)),
            (Some(-3), None),
            (Some(0), None),
            (None, None),
        ];
        for (lo, hi) in cases {
            let (l, h) = (lo.map(Decimal::from_i64), hi.map(Decimal::from_i64));
            let re = full(int_range(l.as_ref(), h.as_ref()));
            for n in -300i64..300 {
                let want = lo.is_none_or(|l| n >= l) && hi.is_none_or(|h| n <= h);
                assert_eq!(re.is_match(&n.to_string()), want, "{lo:?}..{hi:?}: {n}");
            }
            assert!(!re.is_match("-0") && !re.is_match("1.0") && !re.is_match("01"));
        }
    }

    fn check_range(lo: Option<Bound>, hi: Option<Bound>, samples: &[&str]) {
        let re = full(number_range(lo.as_ref(), hi.as_ref(), None));
        for s in samples {
            let v = d(s);
            let want = lo.as_ref().is_none_or(|l| {
                if l.exclusive {
                    v > l.value
                } else {
                    v >= l.value
                }
            }) && hi.as_ref().is_none_or(|h| {
                if h.exclusive {
                    v < h.value
                } else {
                    v <= h.value
                }
            });
            let got = re.is_match(s);
            // Scientific forms are allowed only inside whole decades; check
            // that anything accepted is in range, and plain forms exactly.
            if s.contains(['e', 'E']) {
                assert!(!got || want, "{lo:?}..{hi:?}: {s} accepted");
            } else if !(s.starts_with("-0") && v.is_zero()) {
                assert_eq!(got, want, "{lo:?}..{hi:?}: {s}");
            }
        }
    }

    const SAMPLES: &[&str] = &[
        "0", "0.0", "0.5", "0.05", "0.50", "1", "1.0", "1.5", "1.25", "1.2500", "2", "2.4999",
        "2.5", "2.5001", "3", "9.99", "10", "10.0", "10.01", "99", "100", "101", "-0.5", "-1",
        "-1.5", "-2.5", "-2.51", "-10", "-100.5", "1e2", "1.5e1", "1e-3", "2.5e+1", "1E5", "-1e2",
        "5e-1", "1e0", "9e0",
    ];

    #[test]
    fn number_ranges() {
        check_range(Some(b("0", false)), Some(b("10", false)), SAMPLES);
        check_range(Some(b("0", true)), Some(b("10", true)), SAMPLES);
        check_range(Some(b("1.25", false)), Some(b("2.5", true)), SAMPLES);
        check_range(Some(b("-2.5", false)), Some(b("1.5", false)), SAMPLES);
        check_range(Some(b("-2.5", true)), None, SAMPLES);
        check_range(None, Some(b("-1", false)), SAMPLES);
        check_range(Some(b("0.05", false)), Some(b("0.5", false)), SAMPLES);
        check_range(Some(b("2.5", false)), Some(b("2.5", false)), SAMPLES);
        check_range(Some(b("10", true)), None, SAMPLES);
        check_range(None, None, SAMPLES);
    }

    #[test]
    fn scientific_forms_inside_decades() {
        let re = full(number_range(
            Some(&b("0", false)),
            Some(&b("100", false)),
            None,
        ));
        assert!(re.is_match("1e1") && re.is_match("9.9e1") && re.is_match("1e-05"));
        assert!(!re.is_match("1e2") && !re.is_match("1e+02"));
        let re = full(number_range(Some(&b("0", false)), None, None));
        assert!(re.is_match("1e+16") && re.is_match("1.5e-07"));
        assert!(!re.is_match("-1e5"));
    }

    #[test]
    fn fraction_digit_limit() {
        let re = full(number_range(
            Some(&b("0", false)),
            Some(&b("1", false)),
            Some(2),
        ));
        for s in ["0", "0.5", "0.25", "0.250", "1", "1.00"] {
            assert!(re.is_match(s), "{s}");
        }
        for s in ["0.255", "1.01", "1.5", "0.001"] {
            assert!(!re.is_match(s), "{s}");
        }
    }

    #[test]
    fn multiples() {
        let re = full(int_multiples(&d("5"), &d("-12"), &d("20"), 100).unwrap());
        for n in -20..30 {
            assert_eq!(
                re.is_match(&n.to_string()),
                n % 5 == 0 && (-12..=20).contains(&n),
                "{n}"
            );
        }
        assert!(int_multiples(&d("1"), &d("0"), &d("1e9"), 100).is_none());
    }
}
