//! Durations as configurations write them (`5m`, `2h30m`, `1d`): SLA targets and ladders, merge
//! windows, experiment arms.

/// The longest duration accepted: a year.
const MAX_DURATION_MS: i64 = 366 * 86_400_000;

/// Reads a duration: whole numbers with units `d` (24 hours), `h`, `m`, `s`, largest first, each
/// at most once, no spaces: `90s`, `5m`, `2h30m`, `1d`. At most a year.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "\"{text}\" is not a duration; write whole numbers with d, h, m or s, largest first, \
             such as \"5m\", \"2h30m\" or \"1d\""
        )
    };
    let units = [
        ('d', 86_400_000i64),
        ('h', 3_600_000),
        ('m', 60_000),
        ('s', 1_000),
    ];
    let mut total: i64 = 0;
    let mut next_unit = 0;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return Err(bad());
        }
        let number: i64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = rest[digits..].chars().next().ok_or_else(bad)?;
        let offset = units[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(bad)?;
        total = total.saturating_add(number.saturating_mul(units[next_unit + offset].1));
        next_unit += offset + 1;
        rest = &rest[digits + 1..];
    }
    if total > MAX_DURATION_MS {
        return Err(format!("\"{text}\" is longer than a year"));
    }
    Ok(total)
}
