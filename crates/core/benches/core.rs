//! Criterion benchmarks of handoff-core's hot paths: what the form runs per keystroke and what the
//! Worker runs per lead. Budgets and results live in docs/BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use handoff_core::attribution::Utm;
use handoff_core::routing::{route, RotationState, RouteInput};
use handoff_core::visibility::Known;
use handoff_core::{
    check_answer, email, evaluate, phone, AnswerMap, AnswerValue, Bundle, LeadInput,
};

/// 2026-11-22T10:00:00Z.
const NOW_MS: i64 = 1_795_341_600_000;

fn demo_bundle() -> Bundle {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo.toml");
    Bundle::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A typical lead: most fields answered, a few page views and a download, a known visitor.
fn typical_lead() -> LeadInput {
    serde_json::from_str(
        r#"{"form": "demo",
            "answers": {"email": " Maria.Lopez@Northwind-Customer.COM ", "company": "  Acme   Analytics GmbH ",
                        "company_size": "201-1000", "role": "Data", "country": "Germany",
                        "interest": "A demo", "team_size": "8", "consent": true},
            "activity": [{"kind": "page_view", "at_ms": 1795300000000, "detail": "/pricing"},
                         {"kind": "page_view", "at_ms": 1795200000000, "detail": "/blog/observability"},
                         {"kind": "page_view", "at_ms": 1795100000000, "detail": "/customers/acme"},
                         {"kind": "download", "at_ms": 1794000000000, "detail": "whitepaper"}],
            "known": {"phone": 1790000000000},
            "context": {"fill_ms": 41000}}"#,
    )
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let bundle = demo_bundle();
    let form = bundle.form("demo").unwrap();
    let lead = typical_lead();

    // Per keystroke: the form re-checks the field being typed and re-plans which fields show.
    let typed = AnswerValue::Text("maria.lopez@northwind-custo".to_owned());
    c.bench_function("keystroke/check_email_answer", |b| {
        b.iter(|| check_answer(black_box(&form.spec.fields[0]), black_box(Some(&typed))))
    });
    let known = Known::new();
    let answers: AnswerMap = lead.answers.clone();
    c.bench_function("keystroke/visibility_and_profiling", |b| {
        b.iter(|| form.plan(black_box(&answers), black_box(&known), NOW_MS))
    });
    c.bench_function("email/normalize", |b| {
        b.iter(|| email::normalize(black_box("  Maria.Lopez@Northwind-Example.COM ")))
    });

    // Per lead: check and normalize every answer, plan, disqualify, score, grade, stage.
    c.bench_function("lead/evaluate_typical", |b| {
        b.iter(|| evaluate(black_box(&bundle), black_box(&lead), NOW_MS))
    });

    // Per lead at the edge: evaluate, then route with a pool's rotation state (the demo's routing,
    // a lead its rules send to a pool, members with counts and open leads).
    let routing = bundle.routing().unwrap();
    let mut state = RotationState::default();
    for pool in routing.pools() {
        for (i, m) in pool.members.iter().enumerate() {
            let counts = state.assigned.entry(pool.id.clone()).or_default();
            counts.insert(m.owner.clone(), 40 + i as u64);
            state.open.insert(m.owner.clone(), 3);
        }
    }
    let utm = Utm::default();
    // Tuesday 2026-11-24 15:00 UTC: working hours on both sides of the Atlantic, so the pool's
    // members are all weighed (on a weekend the lead would fall through to a queue at once).
    let tuesday = NOW_MS + 2 * 86_400_000 + 5 * 3_600_000;
    let evaluation = evaluate(&bundle, &lead, tuesday).unwrap();
    let decision = route(
        routing,
        &RouteInput::from_evaluation(&bundle, &evaluation, &utm),
        &state,
        tuesday,
    );
    assert!(decision.pool.is_some(), "{}", decision.explain());
    c.bench_function("lead/evaluate_and_route", |b| {
        b.iter(|| {
            let evaluation = evaluate(black_box(&bundle), black_box(&lead), tuesday).unwrap();
            let input = RouteInput::from_evaluation(&bundle, &evaluation, &utm);
            route(routing, &input, black_box(&state), tuesday)
        })
    });

    // Per phone answer, after the first: six numbers of five countries, national and international.
    let phones = [
        ("(415) 555-0100", "US"),
        ("+44 20 7946 0958", "GB"),
        ("030 1234567", "DE"),
        ("06 12 34 56 78", "FR"),
        ("+1 613 555 0123", "US"),
        ("0412 345 678", "AU"),
    ];
    for (input, country) in phones {
        let _ = phone::parse_phone(input, Some(country));
    }
    c.bench_function("phone/parse_each_of_6", |b| {
        b.iter(|| {
            phones
                .iter()
                .filter(|(input, country)| {
                    phone::parse_phone(black_box(input), Some(country)).is_ok()
                })
                .count()
        })
    });

    // Once per Worker request today: reading, verifying and compiling the bundle from KV.
    let json = bundle.to_json();
    c.bench_function("bundle/from_json_verified", |b| {
        b.iter(|| Bundle::from_json(black_box(&json)))
    });
}

/// 100,000 leads with realistic logs (deterministic): notified, most accepted within minutes, two
/// in three of those contacted later (status changes alongside), some meetings, opportunities with
/// amounts in EUR or USD won or lost, rejections, half with an SLA clock with an accept target,
/// five sources.
fn metrics_records() -> Vec<handoff_core::metrics::LeadRecord> {
    use handoff_core::metrics::{EventRecord, LeadRecord};
    use serde_json::{json, Value};
    let sources = ["google", "linkedin", "newsletter", "partner", "direct"];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let at = |at_ms: i64, kind: &str, detail: Value| EventRecord {
        at_ms,
        kind: kind.into(),
        detail,
    };
    (0..100_000)
        .map(|i| {
            let created = 1_790_000_000_000 + i64::from(i) * 25_000;
            let mut events = vec![at(created + 1_500, "notified", json!({"channel": "sales"}))];
            if i % 2 == 0 {
                let due = json!({"first_touch_due_ms": created + 1_800_000, "accept_due_ms": created + 300_000});
                events.push(at(created, "sla_started", due));
            }
            let r = next();
            if r % 7 != 0 {
                let accepted = created + (r % 1_200_000) as i64;
                events.push(at(accepted, "accepted", json!({"type": "accept", "via": "link"})));
                let moved = json!({"from": "new", "to": "accepted", "via": "link"});
                events.push(at(accepted, "status_changed", moved));
            }
            if r % 7 != 0 && r % 3 != 0 {
                let touch = created + 1_200_000 + (r % 20_000_000) as i64;
                events.push(at(touch, "first_touch", json!({"via": "events"})));
                events.push(at(touch, "touch", json!({"channel": "call"})));
                let moved = json!({"from": "accepted", "to": "working", "via": "events"});
                events.push(at(touch, "status_changed", moved));
                if r % 5 == 0 {
                    events.push(at(touch + 1, "touch", json!({"channel": "meeting_booked"})));
                }
                if r % 11 == 0 {
                    let currency = if r % 2 == 0 { "EUR" } else { "USD" };
                    let amount = 1_000 + (r % 50) * 500;
                    let deal = |outcome: &str| json!({"outcome": outcome, "amount": amount, "currency": currency});
                    events.push(at(touch + 2, "outcome", deal("opportunity")));
                    if r % 4 == 0 {
                        events.push(at(touch + 3, "outcome", deal("won")));
                    } else if r % 4 == 1 {
                        events.push(at(touch + 3, "outcome", deal("lost")));
                    }
                }
            }
            if r % 13 == 0 {
                events.push(at(
                    created + 9_000_000,
                    "outcome",
                    json!({"outcome": "rejected", "reason": "not_a_fit"}),
                ));
            }
            LeadRecord {
                lead_id: format!("lead-{i}"),
                created_ms: created,
                source: Some(sources[(r % 5) as usize].into()),
                owner: Some(format!("owner{}", r % 8)),
                lifecycle: "sql".into(),
                rules: vec!["size-midmarket".into()],
                events,
                ..LeadRecord::default()
            }
        })
        .collect()
}

fn metrics(c: &mut Criterion) {
    use handoff_core::metrics::{compute, GroupBy, Query};
    let records = metrics_records();
    let query = Query {
        from_ms: i64::MIN,
        to_ms: i64::MAX,
        group_by: GroupBy::Source,
    };
    let mut group = c.benchmark_group("metrics");
    group.sample_size(10);
    group.bench_function("compute_100k_by_source", |b| {
        b.iter(|| compute(black_box(&records), &query))
    });
    group.finish();
}

criterion_group!(core, benches, metrics);
criterion_main!(core);
