//! Reports from rollups: the numbers of [`compute`](super::compute) kept per UTC day and hour of
//! creation and per group, so that a report reads a few rows per day and group instead of every
//! lead and event of its range. A rollup row holds a [`Partial`]: every count of a
//! [`Group`](super::Group) (signed, so that a lead folded in before can be taken out when its log
//! changes) and each duration as a bounded [`Sketch`]. Each lead's contribution is an [`Entry`]
//! (its attributes and facts as they were folded), kept beside the rows so that a change takes the
//! old one out and puts the new one in. [`plan`] splits a range into whole days and hours (rows)
//! and the rest (leads read directly); [`Gather`] merges rows, entries and live records into the
//! [`Report`]. Counts, rates and money equal `compute`'s exactly; medians and p90s are within the
//! sketch's bound (docs/METRICS.md). Pure: the Worker reads and writes the rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{report, summarize, GroupBy, LeadFacts, LeadRecord, Query, Report, Sketch, Tally};

/// A group's numbers as a rollup row keeps them.
pub type Partial = Tally<Sketch>;

pub const DAY_MS: i64 = 86_400_000;
pub const HOUR_MS: i64 = 3_600_000;
/// The widths of rollup rows: days for the middle of a range, hours for its first and last days.
pub const WIDTHS: [i64; 2] = [DAY_MS, HOUR_MS];

/// The groupings kept as rollup rows: all but `day`, whose groups are the `all` rows' days.
pub fn rolled() -> impl Iterator<Item = GroupBy> {
    GroupBy::ALL.into_iter().filter(|g| *g != GroupBy::Day)
}

/// The grouping whose rows answer a query grouped by `group_by`.
pub fn rows_for(group_by: GroupBy) -> GroupBy {
    match group_by {
        GroupBy::Day => GroupBy::All,
        g => g,
    }
}

/// One rollup row's identity: its grouping, width, start (ms, a multiple of the width) and key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowKey {
    pub group_by: GroupBy,
    pub width: i64,
    pub start: i64,
    pub key: String,
}

/// What one lead adds to the rollups: its record without the log, and the facts of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub record: LeadRecord,
    pub facts: LeadFacts,
}

impl Entry {
    /// The lead's contribution as its log reads now.
    pub fn of(mut record: LeadRecord) -> Entry {
        let facts = summarize(&record);
        record.events = Vec::new();
        Entry { record, facts }
    }

    /// The rows the lead counts in: one per rolled grouping and width.
    pub fn rows(&self) -> impl Iterator<Item = RowKey> + '_ {
        let created = self.record.created_ms;
        rolled().flat_map(move |group_by| {
            let key = group_by.key(&self.record);
            WIDTHS.into_iter().map(move |width| RowKey {
                group_by,
                width,
                start: created - created.rem_euclid(width),
                key: key.clone(),
            })
        })
    }
}

/// The change a fold makes to the rows: for each lead, its old entry out and its new one in
/// (either may be missing: a new lead, a lead gone or no longer counted).
pub fn deltas<'a>(
    changes: impl IntoIterator<Item = (Option<&'a Entry>, Option<&'a Entry>)>,
) -> BTreeMap<RowKey, Partial> {
    let mut rows: BTreeMap<RowKey, Partial> = BTreeMap::new();
    for (old, new) in changes {
        if old == new {
            continue;
        }
        for (entry, sign) in [(old, -1), (new, 1)] {
            let Some(entry) = entry else { continue };
            for row in entry.rows() {
                rows.entry(row)
                    .or_default()
                    .add(&entry.record, &entry.facts, sign);
            }
        }
    }
    rows
}

/// How a range `[from, to)` is answered: the rows of whole `days` and of whole `hours` (before
/// and after the days), which together cover `rolled`, and the `rest` (under an hour at either
/// end), whose leads are read directly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub days: Option<(i64, i64)>,
    pub hours: Vec<(i64, i64)>,
    pub rest: Vec<(i64, i64)>,
    pub rolled: Option<(i64, i64)>,
}

fn ceil_to(t: i64, width: i64) -> i64 {
    let r = t.rem_euclid(width);
    if r == 0 {
        t
    } else {
        t - r + width
    }
}

fn floor_to(t: i64, width: i64) -> i64 {
    t - t.rem_euclid(width)
}

/// Splits `[from, to)` into whole days, whole hours and the rest (see [`Plan`]).
pub fn plan(from: i64, to: i64) -> Plan {
    let (h0, h1) = (ceil_to(from, HOUR_MS), floor_to(to, HOUR_MS));
    if h0 >= h1 {
        return Plan {
            rest: (from < to).then_some((from, to)).into_iter().collect(),
            ..Plan::default()
        };
    }
    let (d0, d1) = (ceil_to(from, DAY_MS), floor_to(to, DAY_MS));
    let (days, hours) = if d0 < d1 {
        (Some((d0, d1)), vec![(h0, d0), (d1, h1)])
    } else {
        (None, vec![(h0, h1)])
    };
    let keep = |(a, b): (i64, i64)| a < b;
    Plan {
        days,
        hours: hours.into_iter().filter(|p| keep(*p)).collect(),
        rest: [(from, h0), (h1, to)]
            .into_iter()
            .filter(|p| keep(*p))
            .collect(),
        rolled: Some((h0, h1)),
    }
}

/// A report's groups as the Worker gathers them: rollup rows, the folded entries of leads changed
/// since (taken out), and those leads' live records and the rest's (put in).
#[derive(Debug, Clone)]
pub struct Gather {
    group_by: GroupBy,
    groups: BTreeMap<String, Partial>,
}

impl Gather {
    pub fn new(group_by: GroupBy) -> Gather {
        Gather {
            group_by,
            groups: BTreeMap::new(),
        }
    }

    /// A rollup row of grouping [`rows_for`]`(group_by)` that starts at `start`.
    pub fn row(&mut self, start: i64, key: &str, partial: &Partial) {
        let key = match self.group_by {
            GroupBy::Day => crate::encode::rfc3339(start)[..10].to_owned(),
            _ => key.to_owned(),
        };
        self.groups.entry(key).or_default().merge(partial, 1);
    }

    /// A folded entry put in (`sign` 1) or taken out (`sign` −1).
    pub fn entry(&mut self, entry: &Entry, sign: i64) {
        let key = self.group_by.key(&entry.record);
        self.groups
            .entry(key)
            .or_default()
            .add(&entry.record, &entry.facts, sign);
    }

    /// The report: `compute`'s, with medians and p90s within the sketch's bound.
    pub fn report(&self, query: &Query) -> Report {
        report(query, &self.groups)
    }
}
