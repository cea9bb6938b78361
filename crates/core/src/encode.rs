//! Small text encodings that core, the CLI and the Worker share: lowercase hex and RFC 3339
//! timestamps with milliseconds (through jiff, never a hand-written calendar).

use std::fmt::Write as _;

use jiff::Timestamp;

/// Lowercase hexadecimal, two digits per byte: `[0xab, 0x01]` → `ab01`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The bytes of hexadecimal text, two digits per byte (either case); `None` for an odd length or a
/// character that is not a hex digit.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `2026-11-22T10:00:00.000Z` from milliseconds since the epoch (proleptic Gregorian, UTC, always
/// three decimals). Instants beyond jiff's range (years -9999 to 9999) are clamped to it.
pub fn rfc3339(ms: i64) -> String {
    let at = Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// [`rfc3339`] with the milliseconds left out when they are zero: `2026-11-22T10:00:00Z`, but
/// `2026-11-22T10:00:00.500Z`. The replayable export writes its times so.
pub fn rfc3339_short(ms: i64) -> String {
    let mut text = rfc3339(ms);
    if text.ends_with(".000Z") {
        text.truncate(text.len() - ".000Z".len());
        text.push('Z');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{hex, rfc3339, rfc3339_short};

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
    }

    #[test]
    fn rfc3339_table() {
        // (ms since the epoch, expected)
        let cases: &[(i64, &str)] = &[
            (0, "1970-01-01T00:00:00.000Z"),
            (1_795_341_600_000, "2026-11-22T10:00:00.000Z"),
            (1_795_341_600_500, "2026-11-22T10:00:00.500Z"),
            (1_709_164_800_001, "2024-02-29T00:00:00.001Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
            (253_402_128_000_000, "9999-12-30T00:00:00.000Z"),
        ];
        for (ms, want) in cases {
            assert_eq!(rfc3339(*ms), *want, "{ms}");
        }
    }

    #[test]
    fn rfc3339_short_drops_only_zero_milliseconds() {
        let cases: &[(i64, &str)] = &[
            (0, "1970-01-01T00:00:00Z"),
            (1_795_341_600_000, "2026-11-22T10:00:00Z"),
            (1_795_341_600_500, "2026-11-22T10:00:00.500Z"),
            (1_709_164_800_001, "2024-02-29T00:00:00.001Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
        ];
        for (ms, want) in cases {
            assert_eq!(rfc3339_short(*ms), *want, "{ms}");
        }
    }
}
