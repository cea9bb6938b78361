//! Evaluation tables: profiling, scoring, qualification and disqualification on the demo
//! configuration, one JSON line per case in `test_data/evaluate.jsonl`, plus a property test over
//! generated leads.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::scoring::{LiveScoring, Stage, Thresholds};
use handoff_core::{evaluate, Bundle, Evaluation, LeadInput};
use serde_json::Value;

/// 2026-11-22T10:00:00Z, the clock every case runs at.
const NOW_MS: i64 = 1_795_341_600_000;

fn demo_bundle() -> Bundle {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo.toml");
    Bundle::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The facts a case may pin down, drawn from an evaluation; a case compares only the keys it names.
fn facts(e: &Evaluation) -> Value {
    let v = serde_json::to_value(e).unwrap();
    serde_json::json!({
        "lifecycle": v["lifecycle"],
        "grade": v["grade"],
        "fit": e.score.fit,
        "engagement": e.score.engagement,
        "intent": e.score.intent,
        "total": e.score.total,
        "rules": e.score.breakdown.iter().map(|c| c.rule.clone()).collect::<Vec<_>>(),
        "disqualification": e.disqualification.as_ref().map(|d| d.rule.clone()),
        "reason": v["disqualification"]["reason"],
        "visible": e.visible,
        "valid": e.valid,
        "issues": e.issues.iter().map(|i| format!("{}:{}", i.field, i.code.as_str())).collect::<Vec<_>>(),
        "phone": v["answers"]["phone"],
        "email": v["email"],
        "learned": v["learned"].as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default(),
        "answers": v["answers"],
    })
}

#[test]
fn evaluation_table() {
    let bundle = demo_bundle();
    let live = served_live(&bundle, "demo");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/evaluate.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let mut failures = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let case: Value = serde_json::from_str(line).unwrap();
        let lead: LeadInput = serde_json::from_value(case["lead"].clone()).unwrap();
        let evaluation = evaluate(&bundle, &lead, NOW_MS).unwrap();
        let got = facts(&evaluation);
        for (key, want) in case["expect"].as_object().unwrap() {
            if &got[key] != want {
                failures.push(format!(
                    "evaluate.jsonl:{}: {}: {key} is {}, want {want}",
                    n + 1,
                    case["name"],
                    got[key]
                ));
            }
        }
        check_invariants(&evaluation, &format!("evaluate.jsonl:{}", n + 1));
        check_live(&live, &evaluation, &format!("evaluate.jsonl:{}", n + 1));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What holds for every evaluation: the breakdown adds up, every dimension stays in range.
fn check_invariants(e: &Evaluation, what: &str) {
    let sum: i32 = e.score.breakdown.iter().map(|c| c.points).sum();
    assert_eq!(
        sum, e.score.total,
        "{what}: breakdown {:?}",
        e.score.breakdown
    );
    assert_eq!(
        e.score.fit + e.score.engagement + e.score.intent,
        e.score.total,
        "{what}"
    );
    assert!(
        (0..=100).contains(&e.score.total),
        "{what}: total {}",
        e.score.total
    );
    assert!(
        e.score.fit >= 0 && e.score.engagement >= 0 && e.score.intent >= 0,
        "{what}"
    );
}

/// A small deterministic generator (xorshift64*), so the property test needs no extra crate and
/// every failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn evaluation_never_panics_and_the_breakdown_always_adds_up() {
    let bundle = demo_bundle();
    let fields = [
        "email",
        "company",
        "company_size",
        "role",
        "country",
        "phone",
        "interest",
        "team_size",
        "consent",
        "unknown",
    ];
    let values = [
        "",
        " ",
        "maria@example.com",
        "x@southwind.example",
        "1000+",
        "51-200",
        "Student",
        "Data",
        "Germany",
        "A demo",
        "Pricing",
        "12",
        "-1",
        "1e308",
        "NaN",
        "true",
        "false",
        "<b>",
        "💥",
        "+1 415 555 0100",
        "\u{0}",
        "201-1000",
    ];
    let kinds = ["page_view", "download", "visit", "", "webinar"];
    let live = served_live(&bundle, "demo");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..5_000 {
        let mut answers = serde_json::Map::new();
        for _ in 0..rng.next() % 10 {
            let value = match rng.next() % 4 {
                0 => Value::Bool(rng.next().is_multiple_of(2)),
                1 => Value::Array(vec![rng.pick(&values).into(), rng.pick(&values).into()]),
                _ => rng.pick(&values).into(),
            };
            answers.insert(rng.pick(&fields).to_owned(), value);
        }
        let activity: Vec<Value> = (0..rng.next() % 30)
            .map(|_| {
                let at = NOW_MS - (rng.next() % 400) as i64 * 86_400_000 + (rng.next() % 1000) as i64;
                serde_json::json!({"kind": rng.pick(&kinds), "at_ms": at, "detail": rng.pick(&["/pricing", "/blog", ""])})
            })
            .collect();
        let lead = serde_json::json!({
            "form": "demo",
            "answers": answers,
            "activity": activity,
            "known": { rng.pick(&fields): NOW_MS - (rng.next() % 800) as i64 * 86_400_000 },
            "context": { "honeypot": rng.pick(&["", "", "spam"]), "fill_ms": (rng.next() % 10_000) as i64 },
        });
        let lead: LeadInput = serde_json::from_value(lead).unwrap();
        let evaluation = evaluate(&bundle, &lead, NOW_MS).unwrap();
        check_invariants(&evaluation, &format!("generated case {case}"));
        // A disqualified lead is always in the disqualified stage, and only then.
        assert_eq!(
            evaluation.disqualification.is_some(),
            evaluation.lifecycle == Stage::Disqualified
        );
        check_live(&live, &evaluation, &format!("generated case {case}"));
    }
}

/// The browser's live qualification for `form`, read back from what the Worker serves, as the
/// form module reads it.
fn served_live(bundle: &Bundle, form: &str) -> LiveScoring {
    let compiled = bundle.form(form).unwrap();
    let served = compiled.for_browser(&bundle.version, bundle.scoring(), bundle.rules.lifecycle);
    let served = serde_json::to_value(&served).unwrap();
    let q = &served["qualify"];
    let number = |key: &str| u32::try_from(q[key].as_u64().unwrap()).unwrap();
    let rules = q["rules"].as_array().unwrap().iter().map(|r| {
        let when = r["when"].as_str().unwrap();
        let when = LiveScoring::read_rule(when, &|id| compiled.spec.field_type(id)).unwrap();
        let points = i32::try_from(r["points"].as_i64().unwrap()).unwrap();
        (r["fit"].as_bool().unwrap(), points, when)
    });
    LiveScoring {
        fit_max: number("fit_max"),
        intent_max: number("intent_max"),
        thresholds: Thresholds {
            mql: number("mql"),
            sql: number("sql"),
        },
        rules: rules.collect(),
    }
}

/// The live score is the Worker's fit plus intent for the same answers, and its stage is the
/// Worker's unless engagement lifted the lead or a rule disqualified it.
fn check_live(live: &LiveScoring, e: &Evaluation, what: &str) {
    let (total, stage) = live.assess(&e.answers);
    assert_eq!(total, e.score.fit + e.score.intent, "{what}");
    let rank = |s: Stage| {
        [Stage::Nurture, Stage::Mql, Stage::Sql]
            .iter()
            .position(|&x| x == s)
    };
    if e.disqualification.is_none() {
        assert!(
            rank(stage) <= rank(e.lifecycle),
            "{what}: {stage:?} vs {:?}",
            e.lifecycle
        );
        if e.score.engagement == 0 {
            assert_eq!(stage, e.lifecycle, "{what}");
        }
    }
}

#[test]
fn an_unknown_form_is_an_error_with_a_code() {
    let lead: LeadInput = serde_json::from_str(r#"{"form": "nope"}"#).unwrap();
    assert_eq!(
        evaluate(&demo_bundle(), &lead, NOW_MS).unwrap_err().code,
        "unknown_form"
    );
}
