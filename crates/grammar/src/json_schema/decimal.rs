//! Exact decimal numbers for schema bounds, `multipleOf` and `enum` values.
//!
//! JSON Schema compares numbers mathematically (`1.0` equals `1`), and
//! bounds such as `0.1` must be honoured exactly: converting them to binary
//! floating point would move them. [`Decimal`] keeps the decimal digits of
//! a JSON number as written (serde_json hands us the shortest round-trip
//! form of floats, which is the number the schema author wrote).

use std::cmp::Ordering;

/// An exact decimal: `(-1)^neg × digits × 10^exp`.
///
/// Normalized: `digits` has no leading or trailing zeros; zero is the empty
/// digit string with `neg == false` and `exp == 0`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Decimal {
    neg: bool,
    /// ASCII digits.
    digits: Vec<u8>,
    exp: i64,
}

/// Exponents beyond this are refused (a bound like `1e100000` would
/// otherwise produce a regex with 100,000 digits).
const MAX_EXP: i64 = 400;

impl Decimal {
    pub(crate) fn zero() -> Decimal {
        Decimal {
            neg: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    pub(crate) fn from_i64(v: i64) -> Decimal {
        Decimal::parse(&v.to_string()).unwrap_or_else(Decimal::zero)
    }

    /// Parses JSON number syntax (also accepts a leading `+` and missing
    /// integer digits, as Rust's float formatting never produces them).
    pub(crate) fn parse(s: &str) -> Option<Decimal> {
        let b = s.as_bytes();
        let mut i = 0;
        let mut neg = false;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            neg = b[i] == b'-';
            i += 1;
        }
        let mut digits = Vec::new();
        let mut exp: i64 = 0;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            digits.push(b[i]);
            i += 1;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                digits.push(b[i]);
                exp -= 1;
                i += 1;
            }
        }
        if digits.is_empty() || i == start {
            return None;
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let e: i64 = s.get(i..)?.parse().ok()?;
            if e.abs() > 100_000 {
                return None;
            }
            exp += e;
            i = b.len();
        }
        if i != b.len() {
            return None;
        }
        Some(Decimal::normalized(neg, digits, exp))
    }

    /// A JSON number from serde_json.
    pub(crate) fn from_json(n: &serde_json::Number) -> Option<Decimal> {
        if let Some(i) = n.as_i64() {
            return Some(Decimal::from_i64(i));
        }
        if let Some(u) = n.as_u64() {
            return Decimal::parse(&u.to_string());
        }
        let f = n.as_f64()?;
        if !f.is_finite() {
            return None;
        }
        // `{:e}` is the shortest representation that round-trips, in
        // scientific notation (`1e30`, `1.5e-7`), so huge exponents stay
        // short.
        Decimal::parse(&format!("{f:e}"))
    }

    fn normalized(neg: bool, mut digits: Vec<u8>, mut exp: i64) -> Decimal {
        let lead = digits.iter().take_while(|&&d| d == b'0').count();
        digits.drain(..lead);
        while digits.last() == Some(&b'0') {
            digits.pop();
            exp += 1;
        }
        if digits.is_empty() {
            return Decimal::zero();
        }
        Decimal { neg, digits, exp }
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.neg
    }

    pub(crate) fn is_integer(&self) -> bool {
        self.exp >= 0
    }

    /// True when the magnitude is too large or too precise to turn into
    /// digit strings (exponent beyond ±400).
    pub(crate) fn is_extreme(&self) -> bool {
        self.exp > MAX_EXP || self.exp < -MAX_EXP
    }

    pub(crate) fn abs(&self) -> Decimal {
        Decimal {
            neg: false,
            ..self.clone()
        }
    }

    pub(crate) fn neg(&self) -> Decimal {
        if self.is_zero() {
            return self.clone();
        }
        Decimal {
            neg: !self.neg,
            ..self.clone()
        }
    }

    /// Position of the most significant digit: the value's magnitude is in
    /// `[10^m, 10^(m+1))`. `None` for zero.
    pub(crate) fn magnitude(&self) -> Option<i64> {
        if self.is_zero() {
            None
        } else {
            Some(self.exp + self.digits.len() as i64 - 1)
        }
    }

    /// True when the value is exactly a power of ten (magnitude only).
    pub(crate) fn is_power_of_ten(&self) -> bool {
        self.digits == b"1"
    }

    /// The integer part and fraction digits of the magnitude, as ASCII
    /// digit strings: `12.034` is `("12", "034")`; the integer part is
    /// `"0"` below one, the fraction is empty for integers. Callers check
    /// [`is_extreme`](Self::is_extreme) first.
    pub(crate) fn int_frac(&self) -> (String, String) {
        let d = String::from_utf8_lossy(&self.digits).into_owned();
        if self.is_zero() {
            return ("0".into(), String::new());
        }
        if self.exp >= 0 {
            return (d + &"0".repeat(self.exp as usize), String::new());
        }
        let frac_len = (-self.exp) as usize;
        if d.len() > frac_len {
            let (i, f) = d.split_at(d.len() - frac_len);
            (i.to_string(), f.to_string())
        } else {
            ("0".into(), "0".repeat(frac_len - d.len()) + &d)
        }
    }

    /// The smallest integer `>= self`.
    pub(crate) fn ceil(&self) -> Decimal {
        if self.is_integer() {
            return self.clone();
        }
        let (i, _) = self.int_frac();
        let t = Decimal::parse(&i).unwrap_or_else(Decimal::zero);
        if self.neg {
            t.neg()
        } else {
            t.add_int(1)
        }
    }

    /// The largest integer `<= self`.
    pub(crate) fn floor(&self) -> Decimal {
        self.neg().ceil().neg()
    }

    /// `self + k` for an integer `self`.
    pub(crate) fn add_int(&self, k: i64) -> Decimal {
        debug_assert!(self.is_integer());
        if self.is_extreme() {
            return self.clone();
        }
        let (i, _) = self.int_frac();
        let a = BigInt::from_signed(self.neg, &i);
        let r = a.add(&BigInt::from_i64(k));
        Decimal::parse(&r.to_string()).unwrap_or_else(Decimal::zero)
    }

    /// `10^k`.
    pub(crate) fn pow10(k: i64) -> Decimal {
        Decimal {
            neg: false,
            digits: b"1".to_vec(),
            exp: k,
        }
    }

    /// The exact sum.
    pub(crate) fn add(&self, o: &Decimal) -> Decimal {
        if self.is_zero() {
            return o.clone();
        }
        if o.is_zero() {
            return self.clone();
        }
        let e = self.exp.min(o.exp);
        let widen = |d: &Decimal| {
            let mut s = String::from_utf8_lossy(&d.digits).into_owned();
            s.push_str(&"0".repeat((d.exp - e) as usize));
            BigInt::from_signed(d.neg, &s)
        };
        let r = widen(self).add(&widen(o));
        let t = r.to_string();
        let (neg, digits) = match t.strip_prefix('-') {
            Some(x) => (true, x),
            None => (false, t.as_str()),
        };
        Decimal::normalized(neg, digits.as_bytes().to_vec(), e)
    }

    /// True when `self` is an integer multiple of `m` (`m > 0`).
    pub(crate) fn is_multiple_of(&self, m: &Decimal) -> Option<bool> {
        if self.is_zero() {
            return Some(true);
        }
        if m.is_zero() {
            return None;
        }
        // self = a × 10^e1, m = b × 10^e2; self/m = (a/b) × 10^(e1-e2).
        let e = self.exp - m.exp;
        if e.abs() > 2 * MAX_EXP {
            return None;
        }
        let b = u128_of(&m.digits)?;
        let mut digits = self.digits.clone();
        if e >= 0 {
            digits.extend(std::iter::repeat_n(b'0', e as usize));
            Some(rem(&digits, b) == 0)
        } else {
            // a / (b × 10^-e) must be an integer.
            let b10 = 10u128
                .checked_pow((-e) as u32)
                .and_then(|p| p.checked_mul(b));
            match b10 {
                Some(b10) => Some(rem(&digits, b10) == 0),
                None => {
                    // a must end in -e zeros (it has none: normalized), so
                    // unless the divisor fits, it is not a multiple.
                    Some(false)
                }
            }
        }
    }

    /// The value of `m × k` for an integer `k`.
    pub(crate) fn times(&self, k: i128) -> Decimal {
        let a = BigInt::from_signed(self.neg, &String::from_utf8_lossy(&self.digits));
        let r = a.mul_small(k);
        let mut d = Decimal::parse(&r.to_string()).unwrap_or_else(Decimal::zero);
        if !d.is_zero() {
            d.exp += self.exp;
        }
        d
    }

    pub(crate) fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// A plain decimal string (no exponent) when the exponent is modest,
    /// else scientific notation.
    pub(crate) fn to_plain(&self) -> String {
        let (i, f) = self.int_frac();
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        s.push_str(&i);
        if !f.is_empty() {
            s.push('.');
            s.push_str(&f);
        }
        s
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_zero() {
            return write!(f, "0");
        }
        if self.exp.abs() <= 30 {
            return write!(f, "{}", self.to_plain());
        }
        let d = String::from_utf8_lossy(&self.digits);
        let sign = if self.neg { "-" } else { "" };
        let m = self.magnitude().unwrap_or(0);
        if d.len() == 1 {
            write!(f, "{sign}{d}e{m}")
        } else {
            write!(f, "{sign}{}.{}e{m}", &d[..1], &d[1..])
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if other.neg {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, true) => {
                return if self.neg {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            _ => {}
        }
        if self.neg != other.neg {
            return if self.neg {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let mag = cmp_magnitude(self, other);
        if self.neg {
            mag.reverse()
        } else {
            mag
        }
    }
}

fn cmp_magnitude(a: &Decimal, b: &Decimal) -> Ordering {
    let (ma, mb) = (a.magnitude(), b.magnitude());
    if ma != mb {
        return ma.cmp(&mb);
    }
    // Same magnitude: compare digit strings left-aligned.
    let n = a.digits.len().max(b.digits.len());
    for i in 0..n {
        let x = a.digits.get(i).copied().unwrap_or(b'0');
        let y = b.digits.get(i).copied().unwrap_or(b'0');
        if x != y {
            return x.cmp(&y);
        }
    }
    Ordering::Equal
}

fn u128_of(digits: &[u8]) -> Option<u128> {
    let mut v: u128 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u128)?;
    }
    Some(v)
}

fn rem(digits: &[u8], m: u128) -> u128 {
    let mut r: u128 = 0;
    for &d in digits {
        // r < m <= u128::MAX / 10 is not guaranteed; fall back to wide math.
        r = mulmod10(r, m) + (d - b'0') as u128;
        r %= m;
    }
    r
}

/// `(r * 10) % m` without overflow.
fn mulmod10(r: u128, m: u128) -> u128 {
    match r.checked_mul(10) {
        Some(x) => x % m,
        None => {
            let mut acc = 0u128;
            for _ in 0..10 {
                acc = (acc + r) % m;
            }
            acc
        }
    }
}

/// A minimal signed big integer in base 10, for bound arithmetic.
#[derive(Clone, Debug)]
struct BigInt {
    neg: bool,
    /// Little-endian decimal digits (values 0..=9), no trailing zeros.
    d: Vec<u8>,
}

impl BigInt {
    fn from_signed(neg: bool, digits: &str) -> BigInt {
        let mut d: Vec<u8> = digits.bytes().rev().map(|c| c - b'0').collect();
        while d.last() == Some(&0) {
            d.pop();
        }
        BigInt {
            neg: neg && !d.is_empty(),
            d,
        }
    }

    fn from_i64(v: i64) -> BigInt {
        BigInt::from_signed(v < 0, &v.unsigned_abs().to_string())
    }

    fn cmp_mag(a: &[u8], b: &[u8]) -> Ordering {
        if a.len() != b.len() {
            return a.len().cmp(&b.len());
        }
        for i in (0..a.len()).rev() {
            if a[i] != b[i] {
                return a[i].cmp(&b[i]);
            }
        }
        Ordering::Equal
    }

    fn add_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
        let mut carry = 0;
        for i in 0..a.len().max(b.len()) {
            let s = a.get(i).copied().unwrap_or(0) + b.get(i).copied().unwrap_or(0) + carry;
            out.push(s % 10);
            carry = s / 10;
        }
        if carry > 0 {
            out.push(carry);
        }
        out
    }

    /// `a - b` for `|a| >= |b|`.
    fn sub_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(a.len());
        let mut borrow = 0i8;
        for (i, &x) in a.iter().enumerate() {
            let mut s = x as i8 - b.get(i).copied().unwrap_or(0) as i8 - borrow;
            if s < 0 {
                s += 10;
                borrow = 1;
            } else {
                borrow = 0;
            }
            out.push(s as u8);
        }
        while out.last() == Some(&0) {
            out.pop();
        }
        out
    }

    fn add(&self, o: &BigInt) -> BigInt {
        let (neg, d) = if self.neg == o.neg {
            (self.neg, BigInt::add_mag(&self.d, &o.d))
        } else if BigInt::cmp_mag(&self.d, &o.d) != Ordering::Less {
            (self.neg, BigInt::sub_mag(&self.d, &o.d))
        } else {
            (o.neg, BigInt::sub_mag(&o.d, &self.d))
        };
        BigInt {
            neg: neg && !d.is_empty(),
            d,
        }
    }

    fn mul_small(&self, k: i128) -> BigInt {
        let neg = self.neg != (k < 0);
        let k = k.unsigned_abs();
        let mut out = Vec::new();
        let mut carry: u128 = 0;
        for &x in &self.d {
            let v = x as u128 * k + carry;
            out.push((v % 10) as u8);
            carry = v / 10;
        }
        while carry > 0 {
            out.push((carry % 10) as u8);
            carry /= 10;
        }
        while out.last() == Some(&0) {
            out.pop();
        }
        BigInt {
            neg: neg && !out.is_empty(),
            d: out,
        }
    }
}

impl std::fmt::Display for BigInt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.d.is_empty() {
            return write!(f, "0");
        }
        if self.neg {
            write!(f, "-")?;
        }
        for &x in self.d.iter().rev() {
            write!(f, "{}", (x + b'0') as char)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn parse_and_normalize() {
        assert_eq!(d("1.0"), d("1"));
        assert_eq!(d("100"), d("1e2"));
        assert_eq!(d("-0"), Decimal::zero());
        assert_eq!(d("0.10").int_frac(), ("0".into(), "1".into()));
        assert_eq!(d("12.034").int_frac(), ("12".into(), "034".into()));
        assert_eq!(d("1e3").int_frac(), ("1000".into(), "".into()));
        assert!(Decimal::parse("1.").is_none() || Decimal::parse("1.").is_some());
        assert!(Decimal::parse("abc").is_none());
        assert!(Decimal::parse("").is_none());
    }

    #[test]
    fn ordering() {
        assert!(d("0.1") < d("0.11"));
        assert!(d("-2") < d("-1.5"));
        assert!(d("-0.5") < d("0"));
        assert!(d("10") > d("9.999"));
        assert!(d("1e30") > d("99999"));
    }

    #[test]
    fn floor_and_ceil() {
        assert_eq!(d("1.5").ceil(), d("2"));
        assert_eq!(d("1.5").floor(), d("1"));
        assert_eq!(d("-1.5").ceil(), d("-1"));
        assert_eq!(d("-1.5").floor(), d("-2"));
        assert_eq!(d("-0.5").ceil(), Decimal::zero());
        assert_eq!(d("3").ceil(), d("3"));
        assert_eq!(d("99").add_int(1), d("100"));
        assert_eq!(d("-1").add_int(1), Decimal::zero());
    }

    #[test]
    fn multiples() {
        assert_eq!(d("0.3").is_multiple_of(&d("0.1")), Some(true));
        assert_eq!(d("0.07").is_multiple_of(&d("0.01")), Some(true));
        assert_eq!(d("0.075").is_multiple_of(&d("0.01")), Some(false));
        assert_eq!(d("35").is_multiple_of(&d("7")), Some(true));
        assert_eq!(d("36").is_multiple_of(&d("7")), Some(false));
        assert_eq!(d("7.5").is_multiple_of(&d("2.5")), Some(true));
        assert_eq!(d("1e20").is_multiple_of(&d("3")), Some(false));
        assert_eq!(d("3").times(4), d("12"));
        assert_eq!(d("0.25").times(3), d("0.75"));
    }

    #[test]
    fn from_json_floats() {
        let v: serde_json::Value = serde_json::from_str("[1e30, 0.1, 1.5e-7, 3]").unwrap();
        let xs: Vec<Decimal> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| Decimal::from_json(x.as_number().unwrap()).unwrap())
            .collect();
        assert_eq!(xs[0], d("1e30"));
        assert_eq!(xs[1], d("0.1"));
        assert_eq!(xs[2], d("0.00000015"));
        assert_eq!(xs[3], d("3"));
    }
}
