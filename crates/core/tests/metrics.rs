//! Speed-to-lead metrics on hand-made event logs with known answers: facts per lead, tiers at
//! their boundaries, groups (empty ones too), delays (a touch before the notification), the SLA
//! share, rejects by reason and by rule, the date range, and the significance test.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::metrics::{
    compute, normal_cdf, read_jsonl, summarize, tier, two_proportion_test, EventRecord, GroupBy,
    LeadRecord, Query,
};
use serde_json::json;

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
        // Notified after 1 min, touched at 3 (SLA 5): within, 0-5m, a meeting booked.
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
            )
        })
        .collect();
    assert_eq!(got, [
        "a notified=Some(60) touch=Some(180) within=Some(true) c=1 m=1 o=0 rejected=None",
        "b notified=Some(30) touch=Some(300) within=Some(true) c=1 m=0 o=1 rejected=None",
        "c notified=Some(2700) touch=Some(2400) within=None c=1 m=0 o=0 rejected=Some(\"student\")",
        "d notified=Some(60) touch=None within=Some(false) c=0 m=0 o=0 rejected=Some(\"not_a_fit\")",
        "e notified=None touch=Some(14400) within=Some(false) c=1 m=1 o=0 rejected=None",
        "z notified=None touch=Some(86460) within=None c=1 m=0 o=0 rejected=None",
    ]);
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
    // First touch after 3, 5, 40 and 240 minutes: median (nearest rank) 5 min, p90 240 min.
    assert_eq!(
        (
            t.first_touch_ms.n,
            t.first_touch_ms.median,
            t.first_touch_ms.p90
        ),
        (4, Some(5 * MIN), Some(240 * MIN))
    );
    // Notified after 1, 0.5, 45 and 1 minutes.
    assert_eq!(
        (
            t.system_delay_ms.n,
            t.system_delay_ms.median,
            t.system_delay_ms.p90
        ),
        (4, Some(MIN), Some(45 * MIN))
    );
    // Human delay: a 2 min, b 4.5 min, c −5 min (touched before notified).
    assert_eq!(
        (t.human_delay_ms.n, t.human_delay_ms.median),
        (3, Some(2 * MIN))
    );
    assert_eq!(t.touched_before_notified, 1);
    assert_eq!(
        (t.sla.with_sla, t.sla.within, t.sla.share),
        (4, 2, Some(0.5))
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
            ("0-5m", 1, 1),
            ("5-30m", 1, 0),
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
