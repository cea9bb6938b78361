//! Reports from rollups against the exact computation: random leads folded into rollup rows (in
//! several folds, some leads changed after they were folded, some changed and not folded yet),
//! then gathered for random ranges as the Worker gathers them (the rows of the plan's whole days
//! and hours, the changed leads' folded entries out and live records in, the rest's records in).
//! For every grouping the report equals `compute`'s in every field but the percentiles, which are
//! within the stated bound. Plans of ranges are a table.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use handoff_core::metrics::rollup::{deltas, plan, rows_for, Entry, Gather, Partial, Plan, RowKey};
use handoff_core::metrics::{compute, EventRecord, GroupBy, LeadRecord, Query};
use serde_json::{json, Value};

#[path = "support/rng.rs"]
mod rng;
use rng::XorShift;

const T0: i64 = 1_795_000_000_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

#[test]
fn ranges_split_into_days_hours_and_the_rest() {
    let d = T0 - T0.rem_euclid(DAY);
    let cases: [(&str, i64, i64, Plan); 4] = [
        (
            "within an hour: all rest",
            d + 10,
            d + 20,
            Plan {
                rest: vec![(d + 10, d + 20)],
                ..Plan::default()
            },
        ),
        (
            "whole hours of one day",
            d + 5,
            d + 3 * HOUR + 7,
            Plan {
                hours: vec![(d + HOUR, d + 3 * HOUR)],
                rest: vec![(d + 5, d + HOUR), (d + 3 * HOUR, d + 3 * HOUR + 7)],
                rolled: Some((d + HOUR, d + 3 * HOUR)),
                ..Plan::default()
            },
        ),
        (
            "30 days from mid-day: days, hours at both ends, rest under an hour",
            d + 10 * HOUR + 30,
            d + 30 * DAY + 10 * HOUR + 30,
            Plan {
                days: Some((d + DAY, d + 30 * DAY)),
                hours: vec![
                    (d + 11 * HOUR, d + DAY),
                    (d + 30 * DAY, d + 30 * DAY + 10 * HOUR),
                ],
                rest: vec![
                    (d + 10 * HOUR + 30, d + 11 * HOUR),
                    (d + 30 * DAY + 10 * HOUR, d + 30 * DAY + 10 * HOUR + 30),
                ],
                rolled: Some((d + 11 * HOUR, d + 30 * DAY + 10 * HOUR)),
            },
        ),
        (
            "whole days exactly",
            d,
            d + 2 * DAY,
            Plan {
                days: Some((d, d + 2 * DAY)),
                rolled: Some((d, d + 2 * DAY)),
                ..Plan::default()
            },
        ),
    ];
    for (name, from, to, expected) in cases {
        assert_eq!(plan(from, to), expected, "{name}");
    }
}

fn event(at_ms: i64, kind: &str, detail: Value) -> EventRecord {
    EventRecord {
        at_ms,
        kind: kind.into(),
        detail,
    }
}

/// A lead created somewhere in ten days, with attributes from small pools and a random log.
fn lead(rng: &mut XorShift, i: usize) -> LeadRecord {
    let created = T0 + (rng.next() % (10 * DAY as u64)) as i64;
    let opt = |rng: &mut XorShift, pool: &[&str]| {
        let v = rng.pick(pool);
        (!v.is_empty()).then(|| v.to_owned())
    };
    let mut r = LeadRecord {
        lead_id: format!("l{i}"),
        created_ms: created,
        source: opt(rng, &["google", "linkedin", "direct", ""]),
        campaign: opt(rng, &["fall", "spring", ""]),
        segment: opt(rng, &["A", "B", "C", "D"]),
        owner: opt(rng, &["maya", "diego", "ana", ""]),
        lifecycle: rng.pick(&["mql", "sql", "nurture", ""]).to_owned(),
        arm: opt(rng, &["x/a", "x/b", ""]),
        country: opt(rng, &["US", "FR", ""]),
        region: opt(rng, &["CA", ""]),
        function: opt(rng, &["engineering", ""]),
        seniority: opt(rng, &["vp", "ic", ""]),
        rules: ["size", "demo", "title"]
            .iter()
            .filter(|_| rng.below(2) == 0)
            .map(|s| (*s).to_owned())
            .collect(),
        events: Vec::new(),
    };
    add_events(rng, &mut r);
    r
}

/// Appends a few random events of the kinds the metrics read (times spread from seconds to days).
fn add_events(rng: &mut XorShift, r: &mut LeadRecord) {
    let c = r.created_ms;
    let later = |rng: &mut XorShift| {
        c + [1_000, 120_000, 3 * HOUR, 2 * DAY][rng.below(4)] * (1 + rng.below(1000) as i64) / 100
            - 5_000
    };
    for _ in 0..rng.below(6) {
        let at = later(rng);
        let e = match rng.below(9) {
            0 => event(at, "notified", json!({"channel": "sales"})),
            1 => event(
                c,
                "sla_started",
                json!({"first_touch_due_ms": c + 1_800_000, "accept_due_ms": c + 300_000}),
            ),
            2 => event(at, "accepted", json!({})),
            3 => event(
                at,
                "first_touch",
                json!({"via": rng.pick(&["link", "events"])}),
            ),
            4 => event(
                at,
                "touch",
                json!({"channel": rng.pick(&["call", "meeting_booked"])}),
            ),
            5 => event(
                at,
                "outcome",
                json!({"outcome": rng.pick(&["won", "lost", "opportunity"]),
                "amount": (rng.below(100_000) as f64) / 100.0, "currency": rng.pick(&["EUR", "USD"])}),
            ),
            6 => event(
                at,
                "outcome",
                json!({"outcome": "rejected", "reason": rng.pick(&["student", "price"])}),
            ),
            7 => event(
                at,
                "status_changed",
                json!({"to": rng.pick(&["working", "recycled", "rejected", "won"])}),
            ),
            _ => event(
                at,
                "lifecycle_raised",
                json!({"to": rng.pick(&["mql", "sql"])}),
            ),
        };
        r.events.push(e);
    }
    r.events.sort_by_key(|e| e.at_ms);
}

/// The rollup rows, as the Worker keeps them.
type Rows = BTreeMap<RowKey, Partial>;

fn fold(rows: &mut Rows, folded: &mut [Option<Entry>], records: &[LeadRecord], which: &[usize]) {
    let news: Vec<(usize, Entry)> = which
        .iter()
        .map(|i| (*i, Entry::of(records[*i].clone())))
        .collect();
    let changes = news.iter().map(|(i, new)| (folded[*i].as_ref(), Some(new)));
    for (key, delta) in deltas(changes) {
        let row = rows.entry(key.clone()).or_default();
        row.merge(&delta, 1);
        if row.leads() == 0 {
            rows.remove(&key);
        }
    }
    for (i, new) in news {
        folded[i] = Some(new);
    }
}

/// The report as the Worker gathers it.
fn gathered(rows: &Rows, folded: &[Option<Entry>], records: &[LeadRecord], query: &Query) -> Value {
    let plan = plan(query.from_ms, query.to_ms);
    let mut gather = Gather::new(query.group_by);
    let spans = plan
        .days
        .iter()
        .map(|s| (DAY, *s))
        .chain(plan.hours.iter().map(|s| (HOUR, *s)));
    for (width, (a, b)) in spans {
        for (key, partial) in rows {
            if key.group_by == rows_for(query.group_by)
                && key.width == width
                && key.start >= a
                && key.start < b
            {
                gather.row(key.start, &key.key, partial);
            }
        }
    }
    let in_span = |t: i64, (a, b): (i64, i64)| t >= a && t < b;
    for (r, entry) in records.iter().zip(folded) {
        let live = Entry::of(r.clone());
        if plan.rolled.is_some_and(|s| in_span(r.created_ms, s)) {
            match entry {
                Some(old) if *old == live => {}
                Some(old) => {
                    gather.entry(old, -1);
                    gather.entry(&live, 1);
                }
                None => gather.entry(&live, 1),
            }
        } else if plan.rest.iter().any(|s| in_span(r.created_ms, *s)) {
            gather.entry(&live, 1);
        }
    }
    serde_json::to_value(gather.report(query)).unwrap()
}

/// The stated bound: within 1% of the exact value, exact below 100 ms.
fn close(exact: &Value, estimate: &Value) -> bool {
    match (exact.as_i64(), estimate.as_i64()) {
        (Some(x), Some(y)) if x.abs() < 100 => x == y,
        (Some(x), Some(y)) => (x - y).abs() as f64 <= 0.01 * x.abs() as f64,
        _ => exact == estimate,
    }
}

/// Checks the percentiles within the bound and blanks them; the rest must then be equal.
fn blank_percentiles(exact: &mut Value, estimate: &mut Value, at: &str) {
    let groups = |v: &mut Value| {
        let mut all = vec![v["total"].take()];
        all.extend(
            v["groups"]
                .as_array_mut()
                .map(std::mem::take)
                .unwrap_or_default(),
        );
        all
    };
    let (mut xs, mut ys) = (groups(exact), groups(estimate));
    for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
        for stat in [
            "first_touch_ms",
            "system_delay_ms",
            "human_delay_ms",
            "accept_ms",
        ] {
            for p in ["median", "p90"] {
                assert!(
                    close(&x[stat][p], &y[stat][p]),
                    "{at} {} {stat}.{p}: {} vs {}",
                    x["key"],
                    x[stat][p],
                    y[stat][p]
                );
                x[stat][p] = Value::Null;
                y[stat][p] = Value::Null;
            }
        }
    }
    assert_eq!(xs.len(), ys.len(), "{at}: groups");
    exact["groups"] = Value::Array(xs);
    estimate["groups"] = Value::Array(ys);
}

#[test]
fn reports_from_rollups_equal_the_exact_computation() {
    let mut rng = XorShift(0x0011_2233_4455);
    for round in 0..6 {
        let n = [40, 400, 1500][round % 3];
        let mut records: Vec<LeadRecord> = (0..n).map(|i| lead(&mut rng, i)).collect();
        let mut rows = Rows::new();
        let mut folded: Vec<Option<Entry>> = vec![None; n];
        // Folded in chunks, as the cron does.
        let all: Vec<usize> = (0..n).collect();
        for chunk in all.chunks(97) {
            fold(&mut rows, &mut folded, &records, chunk);
        }
        // Weeks later: some leads won, moved or raised; half of them folded again.
        let changed: Vec<usize> = (0..n).filter(|_| rng.below(5) == 0).collect();
        for i in &changed {
            add_events(&mut rng, &mut records[*i]);
            if rng.below(3) == 0 {
                records[*i].owner = Some("late".to_owned());
            }
        }
        let refolded: Vec<usize> = changed
            .iter()
            .copied()
            .filter(|_| rng.below(2) == 0)
            .collect();
        fold(&mut rows, &mut folded, &records, &refolded);
        // A fold repeated changes nothing.
        let before = rows.clone();
        fold(&mut rows, &mut folded, &records, &refolded);
        assert_eq!(rows, before, "a repeated fold");
        for _ in 0..4 {
            let from = T0 - DAY + (rng.next() % (5 * DAY as u64)) as i64;
            let to = from + 1 + (rng.next() % (8 * DAY as u64)) as i64;
            for group_by in GroupBy::ALL {
                let query = Query {
                    from_ms: from,
                    to_ms: to,
                    group_by,
                };
                let mut exact = serde_json::to_value(compute(&records, &query)).unwrap();
                let mut estimate = gathered(&rows, &folded, &records, &query);
                let at = format!("round {round}, {from}..{to} by {}", group_by.as_str());
                blank_percentiles(&mut exact, &mut estimate, &at);
                assert_eq!(exact, estimate, "{at}");
            }
        }
    }
}
