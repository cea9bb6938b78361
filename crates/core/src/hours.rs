//! Working hours: a time zone, a weekly schedule in local wall-clock time, holidays and absences,
//! and the arithmetic on them that routing (is this rep working now?) and SLA clocks (what instant
//! is four working hours after this one?) need. Pure: every instant is an argument, in ms since the
//! epoch, and the time zone database is compiled into the crate (jiff's bundled copy of the IANA
//! database), so the answer never depends on the machine it runs on.
//!
//! Shifts are wall-clock times: a rep who works 09:00–17:30 in America/New_York works 09:00–17:30
//! on the day the clocks change too. A shift that starts in the hour skipped in spring starts at
//! the first wall-clock time that exists after it; in the hour repeated in autumn, a shift boundary
//! is its first occurrence. Shifts never cross midnight (`22:00-06:00` is refused: write
//! `mon-fri 22:00-24:00; tue-sat 00:00-06:00`), so each belongs to exactly one local date, which is
//! what makes holidays unambiguous.

use std::fmt::Write as _;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// The weekday names the schedule syntax uses, Monday first.
pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const MINUTES_PER_DAY: u16 = 24 * 60;

/// A weekly schedule in local wall-clock time: for each weekday, Monday first, the shifts as
/// minutes since midnight (`start..end`, end exclusive, at most 24:00), sorted, not overlapping
/// and not touching (touching shifts are merged).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Week {
    days: [Vec<(u16, u16)>; 7],
}

impl Week {
    /// Every day, all day.
    pub fn always() -> Week {
        Week {
            days: std::array::from_fn(|_| vec![(0, MINUTES_PER_DAY)]),
        }
    }

    /// Reads a schedule such as `mon-fri 09:00-17:30` or
    /// `mon-thu 08:30-12:00, 13:00-17:00; fri 08:30-13:00`:
    ///
    /// ```text
    /// week  = group { ";" group } ;
    /// group = days shift { [","] shift } ;
    /// days  = "daily" | span { "," span } ;     (daily: mon-sun)
    /// span  = day [ "-" day ] ;                 (fri-mon wraps over the weekend)
    /// day   = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun" ;
    /// shift = HH ":" MM "-" HH ":" MM ;         (00:00 to 24:00, start before end)
    /// ```
    ///
    /// The error is a plain sentence saying what is wrong.
    pub fn parse(text: &str) -> Result<Week, String> {
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        if text.trim().is_empty() {
            return Err("the schedule is empty; write e.g. \"mon-fri 09:00-17:30\"".to_owned());
        }
        for group in text.split(';') {
            let group = group.trim();
            let (day_part, rest) = group
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("\"{group}\" needs days and at least one shift, such as \"mon-fri 09:00-17:30\""))?;
            let which = parse_days(day_part)?;
            let mut any = false;
            for token in rest.split(|c: char| c == ',' || c.is_whitespace()) {
                if token.is_empty() {
                    continue;
                }
                let shift = parse_shift(token)?;
                any = true;
                for (d, on) in which.iter().enumerate() {
                    if *on {
                        days[d].push(shift);
                    }
                }
            }
            if !any {
                return Err(format!("\"{group}\" lists no shift"));
            }
        }
        for (d, shifts) in days.iter_mut().enumerate() {
            shifts.sort_unstable();
            let mut merged: Vec<(u16, u16)> = Vec::with_capacity(shifts.len());
            for &(start, end) in shifts.iter() {
                match merged.last_mut() {
                    Some(last) if start < last.1 => {
                        return Err(format!(
                            "shifts overlap on {}: {} and {}",
                            DAY_NAMES[d],
                            show_shift(*last),
                            show_shift((start, end))
                        ));
                    }
                    Some(last) if start == last.1 => last.1 = end,
                    _ => merged.push((start, end)),
                }
            }
            *shifts = merged;
        }
        Ok(Week { days })
    }

    /// Whether no day has a shift: nobody is ever at work.
    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    /// The shifts of a weekday (0 = Monday), as minutes since midnight.
    pub fn shifts(&self, weekday: usize) -> &[(u16, u16)] {
        self.days.get(weekday).map_or(&[], |d| &d[..])
    }
}

fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let mut on = [false; 7];
    if text == "daily" {
        return Ok([true; 7]);
    }
    for span in text.split(',') {
        let (first, last) = span.split_once('-').unwrap_or((span, span));
        let index = |name: &str| {
            DAY_NAMES.iter().position(|d| *d == name).ok_or_else(|| {
                format!("\"{name}\" is not a day; use mon, tue, wed, thu, fri, sat, sun or daily")
            })
        };
        let (mut d, last) = (index(first)?, index(last)?);
        loop {
            on[d] = true;
            if d == last {
                break;
            }
            d = (d + 1) % 7;
        }
    }
    Ok(on)
}

fn parse_shift(text: &str) -> Result<(u16, u16), String> {
    let bad = || format!("\"{text}\" is not a shift; write it as HH:MM-HH:MM, such as 09:00-17:30");
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let start = parse_clock(start).ok_or_else(bad)?;
    let end = parse_clock(end).ok_or_else(bad)?;
    if start == MINUTES_PER_DAY {
        return Err(bad());
    }
    if end < start {
        return Err(format!(
            "the shift {text} crosses midnight; split it into two, such as \"mon-fri {}-24:00; \
             tue-sat 00:00-{}\"",
            show_clock(start),
            show_clock(end)
        ));
    }
    if end == start {
        return Err(format!("the shift {text} is empty"));
    }
    Ok((start, end))
}

/// `HH:MM` as minutes since midnight, 00:00 to 24:00.
fn parse_clock(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = h * 60 + m;
    (m < 60 && minutes <= MINUTES_PER_DAY).then_some(minutes)
}

fn show_clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn show_shift((start, end): (u16, u16)) -> String {
    format!("{}-{}", show_clock(start), show_clock(end))
}

/// Why a schedule is closed at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Absent (an `away` period) until `until_ms`.
    Away { until_ms: i64 },
    /// A holiday in the schedule's time zone.
    Holiday,
    /// A working day, but not within a shift (or not a working day).
    OutsideHours,
}

/// Working hours: a time zone, a weekly schedule, holidays (local dates) and absences (instants).
#[derive(Debug, Clone, PartialEq)]
pub struct Hours {
    zone: TimeZone,
    zone_name: String,
    week: Week,
    /// Sorted, without repeats.
    holidays: Vec<Date>,
    /// Half-open `[from, to)` in ms, sorted and merged.
    away: Vec<(i64, i64)>,
}

impl Hours {
    /// Working hours in the IANA time zone `timezone` (such as `Europe/Berlin`, or `UTC`).
    pub fn new(timezone: &str, week: Week) -> Result<Hours, String> {
        let zone = zone(timezone)?;
        Ok(Hours {
            zone,
            zone_name: timezone.to_owned(),
            week,
            holidays: Vec::new(),
            away: Vec::new(),
        })
    }

    pub fn timezone(&self) -> &str {
        &self.zone_name
    }

    pub fn week(&self) -> &Week {
        &self.week
    }

    /// Adds a holiday, a local date written `YYYY-MM-DD`: no shift that day.
    pub fn add_holiday(&mut self, date: &str) -> Result<(), String> {
        let date = parse_date(date)?;
        if let Err(i) = self.holidays.binary_search(&date) {
            self.holidays.insert(i, date);
        }
        Ok(())
    }

    /// Adds an absence. `from` and `to` are each a local date (`2026-12-21`: `from` at the start
    /// of that day, `to` through the end of that day) or an instant with its offset
    /// (`2026-12-21T13:00:00Z`, `2026-12-21T13:00:00+01:00`: `to` exclusive). Returns the period
    /// in ms; refuses one that ends before it starts.
    pub fn add_away(&mut self, from: &str, to: &str) -> Result<(i64, i64), String> {
        let start = self.boundary(from, false)?;
        let end = self.boundary(to, true)?;
        if end <= start {
            return Err(format!(
                "the absence from {from} to {to} ends before it starts"
            ));
        }
        self.add_away_ms(start, end);
        Ok((start, end))
    }

    /// Adds an absence `[from_ms, to_ms)`; an empty or reversed one is ignored.
    pub fn add_away_ms(&mut self, from_ms: i64, to_ms: i64) {
        if to_ms <= from_ms {
            return;
        }
        self.away.push((from_ms, to_ms));
        self.away.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(self.away.len());
        for &(a, b) in &self.away {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.away = merged;
    }

    /// The same schedule and holidays without the absences: what an SLA clock counts, so that a
    /// lead held by an absent owner still escalates instead of waiting out the absence.
    pub fn without_absences(&self) -> Hours {
        Hours {
            away: Vec::new(),
            ..self.clone()
        }
    }

    fn boundary(&self, text: &str, end: bool) -> Result<i64, String> {
        if text.len() == 10 {
            let date = parse_date(text)?;
            let date = if end {
                date.tomorrow()
                    .map_err(|_| format!("{text} is out of range"))?
            } else {
                date
            };
            self.instant(date, 0)
                .ok_or_else(|| format!("{text} is out of range"))
        } else {
            text.parse::<Timestamp>()
                .map(Timestamp::as_millisecond)
                .map_err(|_| {
                    format!(
                        "\"{text}\" is neither a date (2026-12-24) nor an instant with its offset \
                         (2026-12-24T13:00:00Z)"
                    )
                })
        }
    }

    /// Whether `at_ms` is working time: within a shift, not a holiday, not away.
    pub fn is_open(&self, at_ms: i64) -> bool {
        self.closed(at_ms).is_none()
    }

    /// Why `at_ms` is not working time, or `None` when it is. Away wins over holiday, holiday over
    /// outside hours.
    pub fn closed(&self, at_ms: i64) -> Option<Closed> {
        let i = self.away.partition_point(|&(_, b)| b <= at_ms);
        if let Some(&(a, b)) = self.away.get(i) {
            if a <= at_ms {
                return Some(Closed::Away { until_ms: b });
            }
        }
        let date = self.zone.to_datetime(timestamp(at_ms)).date();
        if self.holidays.binary_search(&date).is_ok() {
            return Some(Closed::Holiday);
        }
        let weekday = usize::from(date.weekday().to_monday_zero_offset().unsigned_abs());
        let open = self.week.shifts(weekday).iter().any(|&(s, e)| {
            matches!(
                (self.instant(date, s), self.instant(date, e)),
                (Some(s), Some(e)) if s <= at_ms && at_ms < e
            )
        });
        (!open).then_some(Closed::OutsideHours)
    }

    /// The first working instant at or after `at_ms`; `None` if there is none (an empty schedule,
    /// or none before the end of year 9999).
    pub fn next_open(&self, at_ms: i64) -> Option<i64> {
        let mut first = None;
        self.scan(at_ms, |a, _| {
            first = Some(a);
            false
        });
        first
    }

    /// The instant `duration_ms` of working time after `start_ms`: business-time addition, as an
    /// SLA clock counts. Time outside shifts, on holidays and while away does not count. A
    /// duration that runs out exactly at the end of a shift gives that end, not the next opening.
    /// A duration of zero or less gives `start_ms`; one that cannot be completed (an empty
    /// schedule) gives `i64::MAX`.
    pub fn add_working(&self, start_ms: i64, duration_ms: i64) -> i64 {
        if duration_ms <= 0 {
            return start_ms;
        }
        let mut remaining = duration_ms;
        let mut end = i64::MAX;
        self.scan(start_ms, |a, b| {
            if remaining <= b - a {
                end = a + remaining;
                false
            } else {
                remaining -= b - a;
                true
            }
        });
        end
    }

    /// The instant `days` business days after `start_ms`, as an SLA target such as "1 business
    /// day" counts. The clock starts at the first working instant at or after `start_ms`; the
    /// deadline is the same local wall-clock time on the `days`-th working day after that one (a
    /// working day has a shift and is not a holiday). Where that day's shifts do not hold that
    /// time, the deadline moves to the start of the day's next shift, or, past its last shift, to
    /// the end of it: a deadline never leaves its day. So a lead assigned on Friday at 15:00 is due
    /// on Monday at 15:00, one assigned on Saturday or on Monday at 20:00 is due at the opening of
    /// the second working day after. Absences count as working days here as they do for
    /// [`Hours::add_working`]; an SLA clock passes hours without absences. `i64::MAX` when the
    /// schedule has no working time left.
    pub fn add_business_days(&self, start_ms: i64, days: u32) -> i64 {
        let Some(start) = self.next_open(start_ms) else {
            return i64::MAX;
        };
        if days == 0 {
            return start;
        }
        let local = self.zone.to_datetime(timestamp(start));
        let mut date = local.date();
        let mut left = days;
        // A schedule with a shift has a working day every week unless holidays fill them all:
        // holidays are finite, so a bounded walk finds the day or proves there is none.
        let bound = u64::from(days) * 7 + self.holidays.len() as u64 + 7;
        for _ in 0..bound {
            let Ok(next) = date.tomorrow() else {
                return i64::MAX;
            };
            date = next;
            if self.holidays.binary_search(&date).is_err() && !self.day_shifts(date).is_empty() {
                left -= 1;
                if left == 0 {
                    return self.on_day(date, local.time());
                }
            }
        }
        i64::MAX
    }

    /// The shifts of a local date by its weekday, as minutes since midnight.
    fn day_shifts(&self, date: Date) -> &[(u16, u16)] {
        let weekday = usize::from(date.weekday().to_monday_zero_offset().unsigned_abs());
        self.week.shifts(weekday)
    }

    /// The first working instant of `date` at or after its wall-clock `time`, else the end of
    /// its last shift.
    fn on_day(&self, date: Date, time: jiff::civil::Time) -> i64 {
        let target = self
            .zone
            .to_ambiguous_timestamp(date.to_datetime(time))
            .compatible()
            .map_or(i64::MAX, Timestamp::as_millisecond);
        let mut last_end = i64::MAX;
        for &(s, e) in self.day_shifts(date) {
            let (Some(s), Some(e)) = (self.instant(date, s), self.instant(date, e)) else {
                return i64::MAX;
            };
            if target < e {
                return target.max(s);
            }
            last_end = e;
        }
        last_end
    }

    /// The working time between `from_ms` and `to_ms` (0 when `to_ms <= from_ms`): how much of an
    /// SLA clock has run.
    pub fn working_between(&self, from_ms: i64, to_ms: i64) -> i64 {
        let mut total = 0i64;
        if to_ms <= from_ms {
            return 0;
        }
        self.scan(from_ms, |a, b| {
            if a >= to_ms {
                return false;
            }
            total += b.min(to_ms) - a;
            b < to_ms
        });
        total
    }

    /// The start of the local calendar day that holds `at_ms` (midnight, or the day's first
    /// instant where a time change skips midnight), in ms since the epoch.
    pub fn day_start(&self, at_ms: i64) -> i64 {
        let date = self.zone.to_datetime(timestamp(at_ms)).date();
        date.to_zoned(self.zone.clone())
            .and_then(|z| z.start_of_day())
            .map_or(at_ms - at_ms.rem_euclid(86_400_000), |z| {
                z.timestamp().as_millisecond()
            })
    }

    /// The local wall-clock time at `at_ms`, such as `Sat 2026-11-21 10:15`, for explanations.
    pub fn local_time(&self, at_ms: i64) -> String {
        let dt = self.zone.to_datetime(timestamp(at_ms));
        let day = DAY_NAMES[usize::from(dt.weekday().to_monday_zero_offset().unsigned_abs())];
        let mut out = String::new();
        let mut chars = day.chars();
        if let Some(c) = chars.next() {
            out.push(c.to_ascii_uppercase());
            out.push_str(chars.as_str());
        }
        let _ = write!(
            out,
            " {:04}-{:02}-{:02} {:02}:{:02}",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute()
        );
        out
    }

    /// Calls `visit(a, b)` for each stretch of working time `[a, b)` that ends after `from_ms`, in
    /// order, the first clipped to start at `from_ms`, until `visit` returns false or the
    /// calendar ends. Terminates: the weekly schedule has a shift (or nothing is visited), and
    /// holidays and absences are finite, with long absences skipped a day at a time at most.
    fn scan(&self, from_ms: i64, mut visit: impl FnMut(i64, i64) -> bool) {
        if self.week.is_empty() {
            return;
        }
        let mut date = self.zone.to_datetime(timestamp(from_ms)).date();
        loop {
            if self.holidays.binary_search(&date).is_err() {
                let weekday = usize::from(date.weekday().to_monday_zero_offset().unsigned_abs());
                for &(s, e) in self.week.shifts(weekday) {
                    let (Some(s), Some(e)) = (self.instant(date, s), self.instant(date, e)) else {
                        return;
                    };
                    if e <= from_ms {
                        continue;
                    }
                    let mut cur = s.max(from_ms);
                    let mut i = self.away.partition_point(|&(_, b)| b <= cur);
                    while let Some(&(a, b)) = self.away.get(i) {
                        if a >= e {
                            break;
                        }
                        if a > cur && !visit(cur, a) {
                            return;
                        }
                        cur = cur.max(b);
                        i += 1;
                    }
                    if cur < e && !visit(cur, e) {
                        return;
                    }
                }
            }
            let Ok(next) = date.tomorrow() else { return };
            date = next;
            // A long absence is skipped at once rather than a day at a time.
            let Some(start) = self.instant(date, 0) else {
                return;
            };
            let i = self.away.partition_point(|&(_, b)| b <= start);
            if let Some(&(a, b)) = self.away.get(i) {
                if a <= start {
                    let until = self.zone.to_datetime(timestamp(b)).date();
                    if until > date {
                        date = until;
                    }
                }
            }
        }
    }

    /// The instant of a local date and wall-clock minute (24:00 is the next day's midnight). In a
    /// gap (spring forward) the later offset applies; in a fold (autumn) the earlier.
    fn instant(&self, date: Date, minutes: u16) -> Option<i64> {
        let (date, minutes) = if minutes >= MINUTES_PER_DAY {
            (date.tomorrow().ok()?, minutes - MINUTES_PER_DAY)
        } else {
            (date, minutes)
        };
        let hour = i8::try_from(minutes / 60).ok()?;
        let minute = i8::try_from(minutes % 60).ok()?;
        let dt: DateTime = date.at(hour, minute, 0, 0);
        let ts = self.zone.to_ambiguous_timestamp(dt).compatible().ok()?;
        Some(ts.as_millisecond())
    }
}

/// The time zone named `name` from the bundled IANA database.
fn zone(name: &str) -> Result<TimeZone, String> {
    // jiff also accepts POSIX TZ strings and fixed offsets in places; only IANA names are meant.
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ',') {
        return Err(format!("\"{name}\" is not an IANA time zone name"));
    }
    TimeZone::get(name).map_err(|_| {
        let zones: Vec<_> = jiff::tz::db().available().collect();
        let names = zones.iter().map(|z| z.as_str());
        match crate::suggest::closest(name, names) {
            Some(zone) => {
                format!("\"{name}\" is not an IANA time zone name; did you mean \"{zone}\"?")
            }
            None => format!(
                "\"{name}\" is not an IANA time zone name, such as \"Europe/Berlin\" or \"UTC\""
            ),
        }
    })
}

/// Checks an IANA time zone name against the bundled database.
pub fn timezone_problem(name: &str) -> Option<String> {
    zone(name).err()
}

/// A local date written `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Result<Date, String> {
    let shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let bad = || format!("\"{text}\" is not a date written YYYY-MM-DD");
    if !shape {
        return Err(bad());
    }
    text.parse::<Date>().map_err(|_| bad())
}

/// An instant in ms as a timestamp, clamped to the range the calendar covers.
fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}
