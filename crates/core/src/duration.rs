//! Durations as configurations write them (`5m`, `2h30m`, `1d`): SLA targets and ladders, merge
//! windows, experiment arms.

use serde::Serialize;

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

/// The most business days a target or step may name: about a working year.
const MAX_BUSINESS_DAYS: u32 = 260;

/// How long an SLA target or ladder step is: time counted on the policy's clock, or whole business
/// days on the assignee's working days (see [`crate::hours::Hours::add_business_days`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// Milliseconds of the clock's time (working time on a `working_hours` clock).
    Time(i64),
    /// Business days: the same local time on the N-th working day after the clock starts.
    BusinessDays(u32),
}

/// Reads an SLA duration: one [`parse_duration`] understands, or whole business days written
/// `1 business day`, `3 business days` or `2bd`, from 1 to 260.
pub fn parse_span(text: &str) -> Result<Span, String> {
    let days = text
        .strip_suffix("bd")
        .or_else(|| text.strip_suffix(" business days"))
        .or_else(|| text.strip_suffix(" business day"));
    if let Some(number) = days {
        let valid =
            !number.is_empty() && number.len() <= 9 && number.bytes().all(|b| b.is_ascii_digit());
        return match number.parse::<u32>() {
            Ok(n) if valid && (1..=MAX_BUSINESS_DAYS).contains(&n) => Ok(Span::BusinessDays(n)),
            Ok(_) if valid => Err(format!(
                "\"{text}\": business days must be a whole number from 1 to {MAX_BUSINESS_DAYS}"
            )),
            _ => Err(span_error(text)),
        };
    }
    parse_duration(text).map(Span::Time).map_err(|message| {
        if message.ends_with("than a year") {
            message
        } else {
            span_error(text)
        }
    })
}

fn span_error(text: &str) -> String {
    format!(
        "\"{text}\" is not a duration; write whole numbers with d, h, m or s, largest first, such \
         as \"5m\", \"2h30m\" or \"1d\", or whole business days, such as \"1 business day\""
    )
}
