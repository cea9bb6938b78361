//! Decimal numbers read exactly as `str::parse::<f64>` reads them, finite ones only, in a few
//! hundred bytes of code instead of the standard library's float parser and its tables.
//!
//! Number answers and condition literals go through [`parse_finite`], in the browser and natively
//! alike, so a number means the same `f64` everywhere. It accepts the standard library's grammar
//! (`[+-]` digits with an optional `.`, at least one digit, an optional `e`/`E` exponent; no
//! whitespace, no `_`) and rounds to the nearest `f64`, ties to even. `inf`, `infinity` and `nan`
//! parse in the standard library but are not finite, so here they are `None`, as is any number
//! that rounds to infinity. `tests::agrees_with_the_standard_library` holds the two together.

/// Significant digits kept. A value halfway between two adjacent `f64`s has at most 767 of them,
/// so the digits after these can only break a tie, and one sticky digit stands in for them.
const MAX_DIGITS: usize = 800;

/// The finite `f64` nearest to `text`, or `None` if `text` is not a number or rounds to infinity.
pub fn parse_finite(text: &str) -> Option<f64> {
    let mut bytes = text.as_bytes();
    let negative = bytes.first() == Some(&b'-');
    if matches!(bytes.first(), Some(b'-' | b'+')) {
        bytes = &bytes[1..];
    }
    // The value is `digits × 10^exp10`, `digits` without leading zeros.
    let mut digits: Vec<u8> = Vec::new();
    let mut exp10: i64 = 0;
    let mut sticky = false;
    let mut seen = 0usize;
    let mut fraction = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'0'..=b'9' => {
                seen += 1;
                let d = b - b'0';
                if fraction {
                    exp10 -= 1;
                }
                if digits.len() == MAX_DIGITS {
                    exp10 += 1;
                    sticky |= d != 0;
                } else if d != 0 || !digits.is_empty() {
                    digits.push(d);
                }
            }
            b'.' if !fraction => fraction = true,
            _ => break,
        }
        i += 1;
    }
    if seen == 0 {
        return None;
    }
    if let Some(b'e' | b'E') = bytes.get(i) {
        i += 1;
        let minus = bytes.get(i) == Some(&b'-');
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let start = i;
        let mut exp: i64 = 0;
        while let Some(&b @ b'0'..=b'9') = bytes.get(i) {
            // Far past any finite or non-zero value; saturating keeps the arithmetic exact.
            exp = (exp * 10 + i64::from(b - b'0')).min(1 << 40);
            i += 1;
        }
        if i == start {
            return None;
        }
        exp10 += if minus { -exp } else { exp };
    }
    if i != bytes.len() {
        return None;
    }
    if sticky {
        digits.push(1);
        exp10 -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
        exp10 += 1;
    }
    let magnitude = value(&digits, exp10)?;
    Some(if negative { -magnitude } else { magnitude })
}

/// The finite `f64` nearest to `digits × 10^exp10` (no leading or trailing zero digits).
fn value(digits: &[u8], exp10: i64) -> Option<f64> {
    let n = digits.len() as i64;
    // The value lies in [10^(point - 1), 10^point).
    let point = n + exp10;
    if n == 0 || point < -324 {
        // Below half the smallest subnormal (4.9e-324): zero.
        return Some(0.0);
    }
    if point > 309 {
        return None;
    }
    if n <= 15 && (-22..=22).contains(&exp10) {
        // Both the digits and the power of ten are exact `f64`s, so one rounding gives the answer.
        let mantissa = digits.iter().fold(0.0, |m, &d| m * 10.0 + f64::from(d));
        let power = (0..exp10.abs()).fold(1.0, |p, _| p * 10.0);
        return Some(if exp10 < 0 {
            mantissa / power
        } else {
            mantissa * power
        });
    }
    // Exactly: num / den = the value × 2^shift, with the quotient's 55th or 56th bit its top one.
    let mut num = Big(vec![0]);
    for &d in digits {
        num.mul_add(10, u32::from(d));
    }
    let mut den = Big(vec![1]);
    for _ in 0..exp10.unsigned_abs() {
        if exp10 < 0 { &mut den } else { &mut num }.mul_add(10, 0);
    }
    let shift = 55 - (num.bits() as i64 - den.bits() as i64);
    if shift > 0 {
        num.shl(shift as usize);
    } else {
        den.shl(shift.unsigned_abs() as usize);
    }
    // Long division, one quotient bit at a time: the quotient is below 2^56.
    den.shl(56);
    let mut quotient: u64 = 0;
    for _ in 0..57 {
        quotient <<= 1;
        if num.sub_if_at_least(&den) {
            quotient |= 1;
        }
        den.shr1();
    }
    round(quotient, -shift, !num.is_zero())
}

/// The `f64` nearest to `(quotient + a fraction) × 2^exp2`, where the fraction is non-zero exactly
/// when `inexact`; ties to even. `quotient` has at least 55 bits.
fn round(quotient: u64, exp2: i64, inexact: bool) -> Option<f64> {
    let bits = i64::from(64 - quotient.leading_zeros());
    // The exponent of the result's last mantissa bit: 53 bits, or fewer for a subnormal.
    let last = (bits + exp2 - 53).max(-1074);
    let drop = last - exp2;
    if drop > 57 {
        return Some(0.0);
    }
    let mut mantissa = quotient >> drop;
    let rest = quotient & ((1 << drop) - 1);
    let half = 1 << (drop - 1);
    if rest > half || (rest == half && (inexact || mantissa & 1 == 1)) {
        mantissa += 1;
    }
    // Rounding up may carry into a 54th bit; the value is the same one bit further left.
    let (mantissa, last) = if mantissa >> 53 == 1 {
        (mantissa >> 1, last + 1)
    } else {
        (mantissa, last)
    };
    if mantissa >> 52 == 0 {
        // Subnormal (or zero): the exponent field is zero and `last` is -1074.
        return Some(f64::from_bits(mantissa));
    }
    let biased = last + 52 + 1023;
    if biased > 2046 {
        return None;
    }
    Some(f64::from_bits(
        ((biased as u64) << 52) | (mantissa & ((1 << 52) - 1)),
    ))
}

/// An unsigned integer in 32-bit limbs, least significant first.
struct Big(Vec<u32>);

impl Big {
    /// `self × factor + add`.
    fn mul_add(&mut self, factor: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.0 {
            let wide = u64::from(*limb) * u64::from(factor) + carry;
            *limb = wide as u32;
            carry = wide >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    /// The position of the top set bit plus one; 0 for zero.
    fn bits(&self) -> usize {
        let top = self.0.iter().rposition(|&l| l != 0);
        top.map_or(0, |i| i * 32 + 32 - self.0[i].leading_zeros() as usize)
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }

    fn shl(&mut self, by: usize) {
        let (limbs, bits) = (by / 32, by % 32);
        if bits > 0 {
            self.0.push(0);
            for i in (0..self.0.len()).rev() {
                let low = if i > 0 {
                    self.0[i - 1] >> (32 - bits)
                } else {
                    0
                };
                self.0[i] = (self.0[i] << bits) | low;
            }
        }
        if limbs > 0 {
            let mut shifted = vec![0; limbs];
            shifted.extend_from_slice(&self.0);
            self.0 = shifted;
        }
    }

    fn shr1(&mut self) {
        let mut carry = 0;
        for limb in self.0.iter_mut().rev() {
            let next = *limb << 31;
            *limb = (*limb >> 1) | carry;
            carry = next;
        }
    }

    /// Subtracts `other` if it is not larger; says whether it did.
    fn sub_if_at_least(&mut self, other: &Big) -> bool {
        let len = self.0.len().max(other.0.len());
        let limb = |b: &Big, i: usize| b.0.get(i).copied().unwrap_or(0);
        for i in (0..len).rev() {
            let (a, b) = (limb(self, i), limb(other, i));
            if a != b {
                if a < b {
                    return false;
                }
                break;
            }
        }
        self.0.resize(len, 0);
        let mut borrow = false;
        for (i, slot) in self.0.iter_mut().enumerate() {
            let (d, b1) = slot.overflowing_sub(limb(other, i));
            let (d, b2) = d.overflowing_sub(u32::from(borrow));
            *slot = d;
            borrow = b1 || b2;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::parse_finite;

    fn std_finite(text: &str) -> Option<f64> {
        text.parse::<f64>().ok().filter(|n| n.is_finite())
    }

    fn check(text: &str) {
        let ours = parse_finite(text).map(f64::to_bits);
        assert_eq!(ours, std_finite(text).map(f64::to_bits), "{text:?}");
    }

    use crate::test_rng::XorShift as Rng;

    /// `a + b` for two non-negative decimals with the same number of fraction digits.
    fn add(a: &str, b: &str) -> String {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let width = a.len().max(b.len());
        let digit = |s: &[u8], i: usize| (i < s.len()).then(|| s[s.len() - 1 - i]);
        let mut out = Vec::new();
        let mut carry = 0;
        for i in 0..width {
            match (digit(a, i), digit(b, i)) {
                (Some(b'.'), _) | (_, Some(b'.')) => out.push(b'.'),
                (x, y) => {
                    let sum = x.map_or(0, |d| d - b'0') + y.map_or(0, |d| d - b'0') + carry;
                    out.push(b'0' + sum % 10);
                    carry = sum / 10;
                }
            }
        }
        if carry > 0 {
            out.push(b'0' + carry);
        }
        out.reverse();
        String::from_utf8(out).unwrap_or_default()
    }

    /// `a / 2` for a non-negative decimal; one more fraction digit.
    fn halve(a: &str) -> String {
        let mut out = String::new();
        let mut rest = 0;
        for c in a.chars().chain(['0']) {
            if c == '.' {
                out.push('.');
                continue;
            }
            let d = rest * 10 + (c as u8 - b'0');
            out.push(char::from(b'0' + d / 2));
            rest = d % 2;
        }
        out
    }

    /// A decimal a little below positive `a`: its last non-zero digit one less, then nines.
    fn just_below(a: &str) -> String {
        let mut digits = a.as_bytes().to_vec();
        let Some(last) = digits.iter().rposition(|&c| c != b'0' && c != b'.') else {
            return a.to_owned();
        };
        digits[last] -= 1;
        for c in &mut digits[last + 1..] {
            if *c == b'0' {
                *c = b'9';
            }
        }
        if !digits.contains(&b'.') {
            digits.push(b'.');
        }
        digits.push(b'9');
        String::from_utf8(digits).unwrap_or_default()
    }

    #[test]
    fn agrees_on_the_grammar_and_the_edges() {
        let cases = [
            "0",
            "-0",
            "+0",
            "00",
            "0.",
            ".0",
            "1",
            "+1",
            "-1",
            "1.",
            ".5",
            "-.5",
            "+.5e-3",
            ".",
            "",
            "-",
            "+",
            "e5",
            "1e",
            "1e+",
            "1e-",
            "1e5",
            "1E5",
            "1.e5",
            ".e5",
            "1e+5",
            "1e-5",
            "1e05",
            "1.5e",
            "1..5",
            "1.5.",
            "--1",
            "+-1",
            "1e5e5",
            "inf",
            "-inf",
            "Infinity",
            "NaN",
            "nan",
            "infinity",
            "1_000",
            " 1",
            "1 ",
            "0x10",
            "1,5",
            "١",
            "1e400",
            "1e-400",
            "-1e-400",
            "0e99999999999999999999",
            "1e99999999999999999999",
            "1e-99999999999999999999",
            "0.0000000000000000000000000000001e31",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "-1.7976931348623157e308",
            "4.9406564584124654e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "2.2250738585072011e-308",
            "2.2250738585072012e-308",
            "2.2250738585072014e-308",
            "9007199254740993",
            "9007199254740995",
            "9007199254740993.0000000000000000000001",
            "123456789012345678",
            "0.1",
            "0.2",
            "0.3",
            "1e22",
            "1e23",
            "123456789012345e-22",
            "1234567890123456e-22",
            "12.5",
            "49.5",
            "-3.5",
            "1e3",
            "50.0",
            "3.14159265358979323846264338327950288",
        ];
        for case in cases {
            check(case);
        }
    }

    #[test]
    fn agrees_on_very_long_numbers() {
        let ones = "1".repeat(1000);
        let zeros = "0".repeat(1000);
        for case in [
            ones.clone(),
            format!("0.{zeros}{ones}"),
            format!("{ones}e-1000"),
            format!("{ones}e-1300"),
            format!("{ones}e-1400"),
            format!("0.{zeros}{zeros}1e1000"),
            format!("{zeros}1"),
            format!("1{zeros}"),
            format!("1.{zeros}1"),
            format!("{}e-300", "9".repeat(1000)),
        ] {
            check(&case);
        }
    }

    #[test]
    fn agrees_on_random_numbers() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let mut text = String::new();
            if rng.below(3) == 0 {
                text.push('-');
            }
            let int_len = rng.below(22);
            let frac_len = rng.below(22);
            for _ in 0..int_len {
                text.push(char::from(b'0' + rng.below(10) as u8));
            }
            if frac_len > 0 || rng.below(4) == 0 {
                text.push('.');
                for _ in 0..frac_len {
                    text.push(char::from(b'0' + rng.below(10) as u8));
                }
            }
            if rng.below(2) == 0 {
                let exp = rng.below(700) as i64 - 350;
                text.push_str(&format!("e{exp}"));
            }
            check(&text);
        }
    }

    #[test]
    fn agrees_on_doubles_and_the_points_halfway_between_them() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut values = vec![f64::MIN_POSITIVE, f64::MAX, f64::from_bits(1), 1.0, 0.1];
        for _ in 0..600 {
            values.push(f64::from_bits(rng.next() >> 1));
            // Small exponents too, where the fast path and its edges are.
            let small = f64::from_bits(rng.next() >> 12) + f64::from(rng.below(1 << 20) as u32);
            values.push(small);
        }
        for x in values {
            if !x.is_finite() || x.next_up().is_infinite() {
                continue;
            }
            check(&format!("{x}"));
            check(&format!("{x:e}"));
            check(&format!("{x:.30e}"));
            let exact = format!("{x:.1100}");
            let half_ulp = halve(&format!("{:.1100}", x.next_up() - x));
            let exact = format!("{exact}0");
            let halfway = add(&exact, &half_ulp);
            check(&halfway);
            check(&format!("{halfway}1"));
            check(&just_below(&halfway));
        }
    }
}
