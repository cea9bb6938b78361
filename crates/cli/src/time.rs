//! RFC 3339 timestamps for `--now`, `--from` and `--to` (read by jiff), and the system clock: the
//! CLI's only source of time, so that handoff-core never reads a clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into milliseconds since the epoch. jiff reads
/// the value; the shape is checked first because jiff also takes forms that `--now` never has
/// (offsets without a colon, bracketed time zone names).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    if !has_rfc3339_shape(text.as_bytes()) {
        return None;
    }
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_millisecond)
}

/// `YYYY-MM-DD`, `T` (or `t` or a space), `HH:MM:SS`, an optional fraction, then `Z` or `±HH:MM`.
fn has_rfc3339_shape(b: &[u8]) -> bool {
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let at = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    let date_time = digits(0..4)
        && at(4, b"-")
        && digits(5..7)
        && at(7, b"-")
        && digits(8..10)
        && at(10, b"Tt ")
        && digits(11..13)
        && at(13, b":")
        && digits(14..16)
        && at(16, b":")
        && digits(17..19);
    if !date_time {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339;

    #[test]
    fn parses_rfc3339_table() {
        // (input, expected ms since the epoch)
        let cases: &[(&str, Option<i64>)] = &[
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2026-11-22T10:00:00Z", Some(1_795_341_600_000)),
            ("2026-11-22T10:00:00.5Z", Some(1_795_341_600_500)),
            ("2026-11-22T11:00:00+01:00", Some(1_795_341_600_000)),
            ("2024-02-29T00:00:00-00:30", Some(1_709_166_600_000)),
            ("2026-13-01T00:00:00Z", None),
            ("2026-11-22 10:00:00", None),
            ("yesterday", None),
            ("2026-11-22T10:00:00+0100", None),
            ("2026-11-22t10:00:00.123456z", Some(1_795_341_600_123)),
            ("2026-11-22 10:00:00Z", Some(1_795_341_600_000)),
            ("2026-11-22T10:00:00.Z", None),
            ("2026-11-22T10:00:00Z[Europe/Paris]", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_rfc3339(input), *want, "{input}");
        }
    }
}
