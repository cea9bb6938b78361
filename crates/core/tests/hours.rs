//! Working-hours arithmetic, table-driven: `test_data/hours.tsv` gives a time zone, a weekly
//! schedule, holidays and absences, an operation and its expected result, across time zones and
//! daylight-saving changes.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::hours::{Closed, Hours, Week};

#[path = "support/table.rs"]
mod table;

fn instant(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn show(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

/// `1h30m`, `45m`, `10s`, `0` as ms.
fn duration(text: &str) -> i64 {
    let mut total = 0;
    let mut number = 0;
    for c in text.chars() {
        match c {
            '0'..='9' => number = number * 10 + i64::from(c.to_digit(10).unwrap()),
            'h' => (total, number) = (total + number * 3_600_000, 0),
            'm' => (total, number) = (total + number * 60_000, 0),
            's' => (total, number) = (total + number * 1_000, 0),
            _ => panic!("bad duration {text}"),
        }
    }
    total + number
}

fn hours(zone: &str, week: &str, extras: &str) -> Hours {
    let week = if week == "-" {
        Week::always()
    } else {
        Week::parse(week).unwrap()
    };
    let mut hours = Hours::new(zone, week).unwrap();
    for extra in extras.split_whitespace() {
        match extra.split_once(':').unwrap() {
            ("holiday", date) => hours.add_holiday(date).unwrap(),
            ("away", period) => {
                let (from, to) = period.split_once('/').unwrap();
                hours.add_away(from, to).unwrap();
            }
            other => panic!("unknown extra {other:?}"),
        }
    }
    hours
}

#[test]
fn hours_table() {
    let mut failures = Vec::new();
    let rows = table::rows("hours.tsv");
    assert!(rows.len() > 60, "the table lost rows");
    for (line, cols) in rows {
        let [zone, week, extras, op, at, arg, want] = &cols[..] else {
            panic!("hours.tsv:{line}: want 7 columns, got {}", cols.len());
        };
        let got = match op.as_str() {
            "week" => match Week::parse(at) {
                Ok(_) => "ok".to_owned(),
                Err(e) => e,
            },
            _ => {
                let h = hours(zone, week, extras);
                match op.as_str() {
                    "is_open" => h.is_open(instant(at)).to_string(),
                    "closed" => match h.closed(instant(at)) {
                        None => "open".to_owned(),
                        Some(Closed::OutsideHours) => "outside_hours".to_owned(),
                        Some(Closed::Holiday) => "holiday".to_owned(),
                        Some(Closed::Away { .. }) => "away".to_owned(),
                    },
                    "next_open" => h.next_open(instant(at)).map_or("none".to_owned(), show),
                    "add_working" => show(h.add_working(instant(at), duration(arg))),
                    "working_between" => {
                        let got = h.working_between(instant(at), instant(arg));
                        if got == duration(want) {
                            want.clone()
                        } else {
                            format!("{got} ms")
                        }
                    }
                    other => panic!("hours.tsv:{line}: unknown operation {other}"),
                }
            }
        };
        let ok = if op == "week" {
            got.starts_with(want.as_str())
        } else {
            got == *want
        };
        if !ok {
            failures.push(format!(
                "hours.tsv:{line}: {op} {at} {arg} in {zone} [{week}] {extras} -> {got}, want {want}"
            ));
        }
        // Consistency that holds for every schedule: next_open is open and nothing before it is.
        if op == "next_open" && want != "none" {
            let h = hours(zone, week, extras);
            let next = instant(want);
            let at = instant(at);
            if !(h.is_open(next) && (next == at || !h.is_open(next - 1))) {
                failures.push(format!(
                    "hours.tsv:{line}: {want} is not the first open instant"
                ));
            }
            if h.working_between(at, next) != 0 {
                failures.push(format!("hours.tsv:{line}: working time before next_open"));
            }
        }
        if op == "add_working" {
            // Adding then measuring gives back the duration.
            let h = hours(zone, week, extras);
            let (start, d) = (instant(at), duration(arg));
            let end = h.add_working(start, d);
            if h.working_between(start, end) != d {
                failures.push(format!("hours.tsv:{line}: working_between disagrees"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_time_zones_and_dates_are_refused() {
    for zone in [
        "Mars/Olympus",
        "",
        "EST5EDT,M3.2.0,M11.1.0",
        "america/new york",
    ] {
        assert!(Hours::new(zone, Week::always()).is_err(), "{zone:?}");
    }
    let mut h = Hours::new("Europe/Berlin", Week::always()).unwrap();
    assert!(h.add_holiday("2026-02-30").is_err());
    assert!(h.add_holiday("26-12-25").is_err());
    assert!(h.add_away("2026-12-24", "2026-12-20").is_err());
    assert!(h.add_away("2026-12-24", "tomorrow").is_err());
    assert!(h.add_away("2026-12-24T10:00:00", "2026-12-25").is_err());
    assert_eq!(
        h.add_away("2026-12-24", "2026-12-24"),
        Ok((
            instant("2026-12-23T23:00:00Z"),
            instant("2026-12-24T23:00:00Z")
        ))
    );
}

#[test]
fn local_time_reads_the_wall_clock() {
    let h = Hours::new("America/Los_Angeles", Week::always()).unwrap();
    assert_eq!(
        h.local_time(instant("2026-11-21T18:15:00Z")),
        "Sat 2026-11-21 10:15"
    );
}
