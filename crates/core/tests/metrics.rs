//! Speed-to-lead metrics on hand-made event logs with known answers: facts per lead as a table
//! (`test_data/metrics_facts.jsonl`: acceptance apart from contact, legacy link first touches,
//! targets, deals, statuses, lifecycle raises), tiers at their boundaries, groups (empty ones
//! too), delays (a touch before the notification), the SLA share, acceptance, revenue per currency,
//! the funnel, rejects by reason and by rule, the date range, and the significance test.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::metrics::{
    compute, normal_cdf, read_jsonl, summarize, tier, two_proportion_test, EventRecord, GroupBy,
    LeadRecord, Query,
};
use serde_json::{json, Value};

const MIN: i64 = 60_000;
const T0: i64 = 1_795_000_000_000; // 2026-11-18T…Z

fn ev(at_min: f64, kind: &str, detail: serde_json::Value) -> EventRecord {
    EventRecord {
        at_ms: T0 + (at_min * MIN as f64) as i64,
        kind: kind.into(),
        detail,
    }
}

/// A lead created at T0 + `created_min`, from `source`, owned by `owner`, with `events` (times in
/// minutes after T0).
fn lead(
    id: &str,
    created_min: i64,
    source: &str,
    owner: &str,
    events: Vec<EventRecord>,
) -> LeadRecord {
    LeadRecord {
        lead_id: id.into(),
        created_ms: T0 + created_min * MIN,
        source: Some(source.into()),
        owner: Some(owner.into()),
        lifecycle: "sql".into(),
        segment: Some("A".into()),
        events,
        ..LeadRecord::default()
    }
}

fn sample() -> Vec<LeadRecord> {
    vec![
        // Notified after 1 min, accepted by the legacy link at 3, first contact (a meeting
        // booked) at 10: past its 5-min SLA, 5-30m.
        lead(
            "a",
            0,
            "google",
            "maya",
            vec![
                ev(
                    0.0,
                    "sla_started",
                    json!({"first_touch_due_ms": T0 + 5 * MIN}),
                ),
                ev(1.0, "notified", json!({"channel": "sales"})),
                ev(2.0, "notified", json!({"channel": "crm"})),
                ev(3.0, "first_touch", json!({"via": "link"})),
                ev(10.0, "touch", json!({"channel": "meeting_booked"})),
            ],
        ),
        // Touched exactly at 5 min (tier 5-30m), after its 5-min deadline? due at 5: within.
        lead(
            "b",
            0,
            "google",
            "diego",
            vec![
                ev(
                    0.0,
                    "sla_started",
                    json!({"first_touch_due_ms": T0 + 5 * MIN}),
                ),
                ev(0.5, "notified", json!({})),
                ev(5.0, "first_touch", json!({"via": "events"})),
                ev(6.0, "outcome", json!({"outcome": "opportunity"})),
            ],
        ),
        // Touched before the notification arrived (human delay negative), no SLA clock, 30-60m.
        lead(
            "c",
            0,
            "linkedin",
            "maya",
            vec![
                ev(40.0, "first_touch", json!({"via": "crm"})),
                ev(45.0, "notified", json!({})),
                ev(
                    50.0,
                    "outcome",
                    json!({"outcome": "rejected", "reason": "student"}),
                ),
            ],
        ),
        // Untouched, past its deadline; rejected without contact.
        lead(
            "d",
            0,
            "linkedin",
            "priya",
            vec![
                ev(
                    0.0,
                    "sla_started",
                    json!({"first_touch_due_ms": T0 + 5 * MIN}),
                ),
                ev(1.0, "notified", json!({})),
                ev(
                    300.0,
                    "outcome",
                    json!({"outcome": "rejected", "reason": "not_a_fit"}),
                ),
            ],
        ),
        // 4h exactly: tier 4h+; late for its SLA; meeting held.
        lead(
            "e",
            0,
            "google",
            "maya",
            vec![
                ev(
                    0.0,
                    "sla_started",
                    json!({"first_touch_due_ms": T0 + 5 * MIN}),
                ),
                ev(240.0, "first_touch", json!({})),
                ev(300.0, "outcome", json!({"outcome": "meeting_held"})),
            ],
        ),
        // Outside the range (created the next day).
        lead(
            "z",
            24 * 60,
            "google",
            "maya",
            vec![ev(24.0 * 60.0 + 1.0, "first_touch", json!({}))],
        ),
    ]
}

fn query(group_by: GroupBy) -> Query {
    Query {
        from_ms: T0,
        to_ms: T0 + 24 * 60 * MIN,
        group_by,
    }
}

#[test]
fn each_lead_reads_as_facts() {
    let s = sample();
    let got: Vec<String> = s
        .iter()
        .map(|r| {
            let f = summarize(r);
            format!(
                "{} notified={:?} touch={:?} within={:?} c={} m={} o={} rejected={:?}",
                r.lead_id,
                f.notified_ms.map(|t| (t - T0) / 1000),
                f.first_touch_ms.map(|t| (t - T0) / 1000),
                f.within_sla,
                f.contacted as u8,
                f.meeting as u8,
                f.opportunity as u8,
                f.rejected
            ) + &format!(" accepted={:?}", f.accepted_ms.map(|t| (t - T0) / 1000))
        })
        .collect();
    assert_eq!(got, [
        "a notified=Some(60) touch=Some(600) within=Some(false) c=1 m=1 o=0 rejected=None accepted=Some(180)",
        "b notified=Some(30) touch=Some(300) within=Some(true) c=1 m=0 o=1 rejected=None accepted=Some(300)",
        "c notified=Some(2700) touch=Some(2400) within=None c=1 m=0 o=0 rejected=Some(\"student\") accepted=Some(2400)",
        "d notified=Some(60) touch=None within=Some(false) c=0 m=0 o=0 rejected=Some(\"not_a_fit\") accepted=None",
        "e notified=None touch=Some(14400) within=Some(false) c=1 m=1 o=0 rejected=None accepted=Some(14400)",
        "z notified=None touch=Some(86460) within=None c=1 m=0 o=0 rejected=None accepted=Some(86460)",
    ]);
}

/// Minutes after T0 as ms since the epoch, in every `*_ms` number of `value` (a fixture's detail
/// or expected facts), so that the table reads in minutes; `5.0` stays a float.
fn minutes_to_ms(value: &mut Value) {
    if let Value::Object(map) = value {
        for (key, v) in map.iter_mut() {
            if key.ends_with("_ms") {
                // A float stays a float (as D1's JSON functions may write a time).
                if let Some(m) = v.as_f64() {
                    let at = T0 + (m * MIN as f64) as i64;
                    *v = if v.is_f64() {
                        json!(at as f64)
                    } else {
                        json!(at)
                    };
                }
            } else {
                minutes_to_ms(v);
            }
        }
    }
}

/// Every number as a float, so that `800` in a table equals the `800.0` of an amount.
fn floats(value: Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.into_iter().map(floats).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, floats(v))).collect()),
        other => other,
    }
}

/// `test_data/metrics_facts.jsonl`: a lead's log (times in minutes after its creation) and the
/// facts it must read as; a fact the row does not name must have its default (none, false).
#[test]
fn each_log_reads_as_the_table_says() {
    let text = include_str!("../test_data/metrics_facts.jsonl");
    let defaults = serde_json::to_value(handoff_core::metrics::LeadFacts::default()).unwrap();
    let mut failures = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let case: Value = serde_json::from_str(line).unwrap();
        let name = case["name"].as_str().unwrap();
        let events = case["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let mut detail = e[2].clone();
                minutes_to_ms(&mut detail);
                ev(e[0].as_f64().unwrap(), e[1].as_str().unwrap(), detail)
            })
            .collect();
        let mut record = lead("l-1", 0, "google", "maya", events);
        record.lifecycle = case["lifecycle"].as_str().unwrap_or("").into();
        let mut expected = defaults.clone();
        let mut want = case["expect"].clone();
        minutes_to_ms(&mut want);
        for (k, v) in want.as_object().unwrap() {
            assert!(expected.get(k).is_some(), "line {}: no fact {k}", i + 1);
            expected[k] = v.clone();
        }
        let got = floats(serde_json::to_value(summarize(&record)).unwrap());
        let expected = floats(expected);
        if got != expected {
            failures.push(format!(
                "line {} ({name}):\n   got {got}\n  want {expected}",
                i + 1
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn tiers_have_inclusive_lower_bounds() {
    for (after, expected) in [
        (None, "untouched"),
        (Some(-1_000), "0-5m"),
        (Some(0), "0-5m"),
        (Some(5 * MIN - 1), "0-5m"),
        (Some(5 * MIN), "5-30m"),
        (Some(30 * MIN), "30-60m"),
        (Some(60 * MIN - 1), "30-60m"),
        (Some(60 * MIN), "1-4h"),
        (Some(240 * MIN), "4h+"),
        (Some(10_000 * MIN), "4h+"),
    ] {
        assert_eq!(tier(after), expected, "{after:?}");
    }
}

#[test]
fn the_total_over_the_range() {
    let report = compute(&sample(), &query(GroupBy::All));
    let t = &report.total;
    assert_eq!(
        (t.leads, t.touched, t.untouched),
        (5, 4, 1),
        "z is outside the range"
    );
    // First contact after 10 (a's legacy link click at 3 is no contact), 5, 40 and 240
    // minutes: median (nearest rank) 10 min, p90 240 min.
    assert_eq!(
        (
            t.first_touch_ms.n,
            t.first_touch_ms.median,
            t.first_touch_ms.p90
        ),
        (4, Some(10 * MIN), Some(240 * MIN))
    );
    // Accepted after 3 (the link), 5, 40 and 240 (taken by working them); d never.
    assert_eq!((t.routed, t.accepted, t.acceptance_rate), (5, 4, Some(0.8)));
    assert_eq!(
        (t.accept_ms.n, t.accept_ms.median, t.accept_ms.p90),
        (4, Some(5 * MIN), Some(240 * MIN))
    );
    assert_eq!(t.accept_sla.with_sla, 0, "no clock had an accept target");
    // Notified after 1, 0.5, 45 and 1 minutes.
    assert_eq!(
        (
            t.system_delay_ms.n,
            t.system_delay_ms.median,
            t.system_delay_ms.p90
        ),
        (4, Some(MIN), Some(45 * MIN))
    );
    // Human delay: a 9 min, b 4.5 min, c −5 min (touched before notified).
    assert_eq!(
        (t.human_delay_ms.n, t.human_delay_ms.median),
        (3, Some(MIN * 9 / 2))
    );
    assert_eq!(t.touched_before_notified, 1);
    assert_eq!(
        (t.sla.with_sla, t.sla.within, t.sla.share),
        (4, 1, Some(0.25))
    );
    assert_eq!(
        (t.contacted, t.meetings, t.opportunities, t.rejected),
        (4, 2, 1, 2)
    );
    assert_eq!(t.contact_rate, Some(0.8));
    assert_eq!(t.reject_rate, Some(0.4));
    let reasons: Vec<(String, u32)> = t
        .rejects_by_reason
        .iter()
        .map(|c| (c.key.clone(), c.n))
        .collect();
    assert_eq!(reasons, [("not_a_fit".into(), 1), ("student".into(), 1)]);
    let tiers: Vec<(&str, u32, u32)> = t
        .tiers
        .iter()
        .map(|x| (x.tier, x.leads, x.meetings))
        .collect();
    assert_eq!(
        tiers,
        [
            ("0-5m", 0, 0),
            ("5-30m", 2, 1),
            ("30-60m", 1, 0),
            ("1-4h", 0, 0),
            ("4h+", 1, 1),
            ("untouched", 1, 0)
        ]
    );
    assert_eq!(t.tiers[3].meeting_rate, None, "an empty tier has no rate");
    assert!(report.significance.is_none());
}

#[test]
fn groups_by_each_attribute() {
    let shape = |g: GroupBy| {
        compute(&sample(), &query(g))
            .groups
            .iter()
            .map(|x| format!("{}:{}", x.key, x.leads))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(shape(GroupBy::Source), "google:3 linkedin:2");
    assert_eq!(shape(GroupBy::Owner), "maya:3 diego:1 priya:1");
    assert_eq!(shape(GroupBy::Campaign), "(none):5");
    assert_eq!(shape(GroupBy::Segment), "A:5");
    assert_eq!(shape(GroupBy::Lifecycle), "sql:5");
    assert_eq!(shape(GroupBy::All), "all:5");
    // Days are UTC dates; the range's end is exclusive.
    let mut two_days = sample();
    two_days[0].created_ms = T0 - 1; // the day before T0's date? T0 is mid-day: same date
    let q = Query {
        from_ms: T0 - 10 * MIN,
        to_ms: T0 + 2 * 24 * 60 * MIN,
        group_by: GroupBy::Day,
    };
    let days: Vec<(String, u32)> = compute(&two_days, &q)
        .groups
        .iter()
        .map(|g| (g.key.clone(), g.leads))
        .collect();
    assert_eq!(days, [("2026-11-18".into(), 5), ("2026-11-19".into(), 1)]);
    // Nothing in range: zero leads, no rates.
    let empty = compute(
        &sample(),
        &Query {
            from_ms: 0,
            to_ms: 1,
            group_by: GroupBy::Source,
        },
    );
    assert_eq!(
        (
            empty.total.leads,
            empty.total.contact_rate,
            empty.groups.len()
        ),
        (0, None, 0)
    );
    assert_eq!(empty.total.first_touch_ms.median, None);
}

#[test]
fn rejects_by_the_rules_that_let_them_through() {
    let mut s = sample();
    s[2].rules = vec!["role_data".into(), "size_mid".into()];
    s[3].rules = vec!["size_mid".into()];
    s[0].rules = vec!["role_data".into()]; // not rejected: not counted
    let r = compute(&s, &query(GroupBy::All));
    let by_rule: Vec<(String, u32)> = r
        .rejects_by_rule
        .iter()
        .map(|c| (c.key.clone(), c.n))
        .collect();
    assert_eq!(by_rule, [("size_mid".into(), 2), ("role_data".into(), 1)]);
}

#[test]
fn arms_are_compared_with_a_two_proportion_test() {
    // Hand-computed: 30/100 against 45/100: pooled 0.375, se 0.068465, z 2.1909, p 0.02846.
    let (z, p) = two_proportion_test(30, 100, 45, 100).unwrap();
    assert!((z - 2.1909).abs() < 1e-3, "{z}");
    assert!((p - 0.02846).abs() < 1e-3, "{p}");
    assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
    assert_eq!(two_proportion_test(0, 0, 1, 2), None);
    assert_eq!(two_proportion_test(0, 10, 0, 10), None, "nothing varies");
    // 100 leads per arm, contacted 30 and 45.
    let mut records = Vec::new();
    for (arm, contacted) in [("sla/fast", 45), ("sla/relaxed", 30)] {
        for i in 0..100 {
            let mut r = lead(&format!("{arm}{i}"), 0, "google", "maya", vec![]);
            r.arm = Some(arm.into());
            if i < contacted {
                r.events.push(ev(1.0, "first_touch", json!({})));
            }
            records.push(r);
        }
    }
    let report = compute(&records, &query(GroupBy::Arm));
    let s = report.significance.unwrap();
    assert_eq!(s.baseline, "sla/fast");
    let contact = &s.comparisons[0];
    assert_eq!(
        (
            contact.arm.as_str(),
            contact.metric,
            contact.baseline_n,
            contact.arm_n
        ),
        ("sla/relaxed", "contact_rate", 100, 100)
    );
    assert!((contact.z.unwrap() + 2.1909).abs() < 1e-3);
    assert!(contact.significant);
    let meeting = &s.comparisons[1];
    assert_eq!(
        (meeting.metric, meeting.z, meeting.significant),
        ("meeting_rate", None, false)
    );
}

#[test]
fn an_export_reads_back() {
    let s = sample();
    let text: String = s
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n\n")
        .collect();
    assert_eq!(read_jsonl(&text).unwrap(), s);
    let (line, _) = read_jsonl("{\"lead_id\": \"a\"}\n{oops}\n").unwrap_err();
    assert_eq!(line, 2);
}

/// A deal's life in one lead: accepted at `accept` min (if any), first contact at `contact`, then
/// the outcomes given as (minutes, detail).
fn deal(
    id: &str,
    source: &str,
    owner: Option<&str>,
    lifecycle: &str,
    outcomes: &[(f64, Value)],
) -> LeadRecord {
    let mut r = lead(id, 0, source, owner.unwrap_or(""), vec![]);
    r.owner = owner.map(Into::into);
    r.lifecycle = lifecycle.into();
    for (at, detail) in outcomes {
        r.events.push(ev(*at, "outcome", detail.clone()));
    }
    r
}

/// Revenue per currency (never EUR + USD), won, lost and win rate, and the funnel, by source.
#[test]
fn revenue_per_currency_and_the_funnel() {
    let opp = |amount: f64, currency: &str| json!({"outcome": "opportunity", "amount": amount, "currency": currency});
    let won = |amount: f64, currency: &str| json!({"outcome": "won", "amount": amount, "currency": currency});
    let lost = json!({"outcome": "lost", "reason": "price", "amount": 50, "currency": "EUR"});
    let records = vec![
        // google: two won (EUR, USD), one open opportunity (EUR), one lost (EUR).
        deal(
            "g1",
            "google",
            Some("maya"),
            "sql",
            &[(10.0, opp(1000.0, "EUR")), (90.0, won(1200.1, "EUR"))],
        ),
        deal(
            "g2",
            "google",
            Some("maya"),
            "mql",
            &[(10.0, opp(300.0, "USD")), (90.0, won(300.0, "USD"))],
        ),
        deal(
            "g3",
            "google",
            Some("diego"),
            "sql",
            &[(10.0, opp(0.2, "EUR"))],
        ),
        deal(
            "g4",
            "google",
            Some("diego"),
            "sql",
            &[(10.0, opp(700.0, "EUR")), (20.0, lost.clone())],
        ),
        // linkedin: an MQL raised to SQL by a returning person, one nurture, one unrouted.
        {
            let mut r = deal("l1", "linkedin", Some("maya"), "mql", &[]);
            r.events.push(ev(
                900.0,
                "lifecycle_raised",
                json!({"from": "mql", "to": "sql", "lead": "l9"}),
            ));
            r
        },
        deal("l2", "linkedin", Some("maya"), "nurture", &[]),
        deal("l3", "linkedin", None, "disqualified", &[]),
    ];
    let report = compute(&records, &query(GroupBy::Source));
    let t = &report.total;
    assert_eq!((t.won, t.lost, t.win_rate), (2, 1, Some(2.0 / 3.0)));
    // Pipeline: g1 at its won amount, g2, g3 (open); not g4 (lost). Hundredths, exactly.
    assert_eq!(
        serde_json::to_value(&t.pipeline).unwrap(),
        json!({"EUR": 1200.3, "USD": 300.0})
    );
    assert_eq!(
        serde_json::to_value(&t.won_revenue).unwrap(),
        json!({"EUR": 1200.1, "USD": 300.0})
    );
    // MQL or better: g1-g4 (sql or an opportunity), l1; SQL: g1-g4 (g2 is an MQL that reached
    // opportunity) and l1 (raised); opportunities g1-g4; won g1, g2.
    let f = &t.funnel;
    assert_eq!((f.mql, f.sql, f.opportunity, f.won), (5, 5, 4, 2));
    assert_eq!(
        (
            f.lead_to_mql,
            f.mql_to_sql,
            f.sql_to_opportunity,
            f.opportunity_to_won
        ),
        (Some(5.0 / 7.0), Some(1.0), Some(0.8), Some(0.5))
    );
    // l3 has no owner: not counted for acceptance. Those with an opportunity were taken.
    assert_eq!((t.routed, t.accepted), (6, 4));
    let google = &report.groups[0];
    assert_eq!(
        (google.key.as_str(), google.won, google.lost),
        ("google", 2, 1)
    );
    let linkedin = &report.groups[1];
    assert_eq!(linkedin.key, "linkedin");
    assert!(linkedin.pipeline.is_empty() && linkedin.won_revenue.is_empty());
    assert_eq!(
        (linkedin.win_rate, linkedin.funnel.mql_to_sql),
        (None, Some(1.0))
    );
    assert_eq!(
        (
            linkedin.funnel.mql,
            linkedin.funnel.sql_to_opportunity,
            linkedin.acceptance_rate
        ),
        (1, Some(0.0), Some(0.0))
    );
    // The same by owner: maya won both deals.
    let by_owner = compute(&records, &query(GroupBy::Owner));
    let maya = by_owner.groups.iter().find(|g| g.key == "maya").unwrap();
    assert_eq!((maya.won, maya.funnel.won, maya.routed), (2, 2, 4));
    let none = by_owner.groups.iter().find(|g| g.key == "(none)").unwrap();
    assert_eq!(
        (none.leads, none.routed, none.acceptance_rate),
        (1, 0, None)
    );
}

/// The accept target's share counts only routed leads whose clock had one.
#[test]
fn accepted_in_time_of_the_leads_with_an_accept_target() {
    let clock = |accept_due: i64| {
        ev(
            0.0,
            "sla_started",
            json!({"first_touch_due_ms": T0 + 60 * MIN, "accept_due_ms": T0 + accept_due * MIN}),
        )
    };
    let records = vec![
        lead(
            "a",
            0,
            "google",
            "maya",
            vec![clock(5), ev(2.0, "accepted", json!({}))],
        ),
        lead(
            "b",
            0,
            "google",
            "maya",
            vec![clock(5), ev(9.0, "accepted", json!({}))],
        ),
        lead("c", 0, "google", "maya", vec![clock(5)]),
        lead(
            "d",
            0,
            "google",
            "maya",
            vec![ev(1.0, "accepted", json!({}))],
        ),
    ];
    let t = compute(&records, &query(GroupBy::All)).total;
    assert_eq!((t.accept_sla.with_sla, t.accept_sla.within), (3, 1));
    assert_eq!(
        (t.accepted, t.contacted, t.touched),
        (3, 0, 0),
        "accepting is not contact"
    );
    assert_eq!(
        (t.accept_ms.median, t.accept_ms.p90),
        (Some(2 * MIN), Some(9 * MIN))
    );
}
