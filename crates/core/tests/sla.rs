//! SLA policies, table-driven: `test_data/sla.tsv` computes deadlines, due steps, standings,
//! recipients, policy choice, clock starts, suppression and durations against
//! `test_data/sla.toml`, and the demo configuration's policies. The `[sla]` checks' codes and
//! positions are fixtures in `test_data/config_errors/sla-*`.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::routing::{Assignee, CompiledRouting, RouteInput};
use handoff_core::sla::{
    clock, clock_hours, due_steps, next_due, parse_duration, parse_span, standing, suppress, Clock,
    CompiledSla, Deadline, Span, StepDue, SuppressionFacts,
};
use handoff_core::{AnswerValue, Bundle};

#[path = "support/table.rs"]
mod table;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/test_data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn instant(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn show(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

fn assignee(text: &str) -> Assignee {
    match text.split_once(':').unwrap() {
        ("owner", id) => Assignee::Owner(id.to_owned()),
        ("queue", id) => Assignee::Queue(id.to_owned()),
        other => panic!("not an assignee: {other:?}"),
    }
}

fn show_assignee(a: &Assignee) -> String {
    match a {
        Assignee::Owner(id) => format!("owner:{id}"),
        Assignee::Queue(id) => format!("queue:{id}"),
    }
}

/// `lifecycle=sql;score=95;utm_source=ads;country=Germany`: known attributes, else answers.
fn lead(text: &str) -> RouteInput {
    let mut lead = RouteInput::default();
    for pair in text.split(';') {
        let (key, value) = pair.split_once('=').unwrap();
        let value = value.to_owned();
        match key {
            "lifecycle" => lead.lifecycle = Some(value),
            "grade" => lead.grade = Some(value),
            "score" => lead.score = Some(value.parse().unwrap()),
            "utm_source" => lead.utm.source = Some(value),
            "email" => lead.email = Some(value),
            _ => {
                lead.answers
                    .insert(key.to_owned(), AnswerValue::Text(value));
            }
        }
    }
    lead
}

/// `-`, or a comma-separated list of `merged`, `active_deal`, `in_sequence`, `last=INSTANT`.
fn facts(text: &str) -> (SuppressionFacts, bool) {
    let mut facts = SuppressionFacts::default();
    let mut merged = false;
    for fact in text.split(',').filter(|f| *f != "-") {
        match fact.split_once('=') {
            Some(("last", at)) => facts.last_contacted_ms = Some(instant(at)),
            _ => match fact {
                "merged" => merged = true,
                "active_deal" => facts.active_deal = true,
                "in_sequence" => facts.in_sequence = true,
                other => panic!("unknown fact {other}"),
            },
        }
    }
    (facts, merged)
}

fn show_clock(c: &Clock) -> String {
    let mut out = show(c.first_touch_due_ms);
    if let Some(accept) = c.accept_due_ms {
        out.push_str(&format!(" accept={}", show(accept)));
    }
    for s in &c.steps {
        let mark = if s.deadline == Deadline::Accept {
            "/accept"
        } else {
            ""
        };
        out.push_str(&format!(" {}={}{mark}", s.level, show(s.due_ms)));
    }
    out
}

struct Fixture {
    bundle: Bundle,
}

impl Fixture {
    fn sla(&self) -> &CompiledSla {
        self.bundle.sla()
    }

    fn routing(&self) -> &CompiledRouting {
        self.bundle.routing().unwrap()
    }

    /// The clock of a lead held by `who` under policy `id`, assigned at `at`.
    fn clock(&self, id: &str, who: &str, at: &str) -> Clock {
        let policy = self.sla().policies().iter().find(|p| p.id == id).unwrap();
        let hours = clock_hours(self.routing(), &assignee(who));
        clock(policy, hours.as_ref(), instant(at))
    }
}

/// `done=N` or `touched`.
fn state(text: &str) -> (u32, bool) {
    match text {
        "touched" => (0, true),
        _ => (text.strip_prefix("done=").unwrap().parse().unwrap(), false),
    }
}

#[test]
fn sla_table() {
    let fixture = Fixture {
        bundle: Bundle::from_toml(&data("sla.toml")).unwrap(),
    };
    let rows = table::rows("sla.tsv");
    assert!(rows.len() > 80, "the table lost rows");
    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (line, cols) in rows {
        let (op, args) = cols.split_first().unwrap();
        let (want, args) = args.split_last().unwrap();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        seen.insert(op.clone());
        let got = match (op.as_str(), &args[..]) {
            ("clock", [id, who, at]) => show_clock(&fixture.clock(id, who, at)),
            ("due", [id, who, at, st, now]) => {
                let (done, touched) = state(st);
                let due = due_steps(&fixture.clock(id, who, at), done, touched, instant(now));
                let levels: Vec<String> = due.iter().map(|s| s.level.to_string()).collect();
                if levels.is_empty() {
                    "-".to_owned()
                } else {
                    levels.join(" ")
                }
            }
            ("next", [id, who, at, st, now]) => {
                let (done, touched) = state(st);
                next_due(&fixture.clock(id, who, at), done, touched, instant(now))
                    .map_or("none".to_owned(), |s| {
                        format!("{}={}", s.level, show(s.due_ms))
                    })
            }
            ("standing", [id, who, at, st, now]) => {
                let (_, touched) = state(st);
                let c = fixture.clock(id, who, at);
                standing(&c, touched, instant(now), 10 * 60_000)
                    .code()
                    .to_owned()
            }
            ("recipient", [id, who, pool, level]) => {
                let c = fixture.clock(id, who, "2026-03-06T21:58:00Z");
                let step: &StepDue = c
                    .steps
                    .iter()
                    .find(|s| s.level.to_string() == *level)
                    .unwrap();
                let pool = (*pool != "-").then_some(*pool);
                let r = CompiledSla::recipient(fixture.routing(), step, &assignee(who), pool);
                match r.reassign_in {
                    Some(p) => format!("{} reassign:{p}", show_assignee(&r.notify)),
                    None => show_assignee(&r.notify),
                }
            }
            ("policy", [attrs]) => fixture
                .sla()
                .policy_for(&lead(attrs), Some(fixture.routing()))
                .map_or("none".to_owned(), |p| p.id.clone()),
            ("start", [attrs, who, at, facts_text]) => {
                let (facts, merged) = facts(facts_text);
                let started = fixture.sla().start(
                    Some(fixture.routing()),
                    &lead(attrs),
                    &assignee(who),
                    &facts,
                    merged,
                    instant(at),
                );
                match started {
                    Ok(c) => format!("{} {}", c.policy, show(c.first_touch_due_ms)),
                    Err(no) => no.code().to_owned(),
                }
            }
            ("suppress", [facts_text, window, now]) => {
                let (facts, _) = facts(facts_text);
                let window = parse_duration(window).unwrap();
                suppress(&facts, window, instant(now))
                    .map_or("none".to_owned(), |r| r.code().to_owned())
            }
            ("span", [text]) => match parse_span(text) {
                Ok(Span::Time(ms)) => format!("{ms}ms"),
                Ok(Span::BusinessDays(days)) => format!("{days}bd"),
                Err(_) => "error".to_owned(),
            },
            ("duration", [text]) => {
                parse_duration(text).map_or("error".to_owned(), |ms| ms.to_string())
            }
            _ => panic!("sla.tsv:{line}: unknown row {cols:?}"),
        };
        if got != *want {
            failures.push(format!(
                "sla.tsv:{line}: {op} {args:?} -> {got}, want {want}"
            ));
        }
    }
    let ops = [
        "clock",
        "due",
        "duration",
        "next",
        "policy",
        "recipient",
        "span",
        "standing",
        "start",
        "suppress",
    ];
    assert_eq!(seen.iter().map(String::as_str).collect::<Vec<_>>(), ops);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn results_serialize_with_stable_codes() {
    let bundle = Bundle::from_toml(&data("sla.toml")).unwrap();
    let routing = bundle.routing().unwrap();
    let policy = &bundle.sla().policies()[0];
    let hours = clock_hours(routing, &assignee("owner:ny"));
    let c = clock(policy, hours.as_ref(), instant("2026-03-06T21:58:00Z"));
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["policy"], "hot");
    assert_eq!(json["kind"], "calendar");
    assert_eq!(json["working_hours"], false);
    assert_eq!(json["steps"][0]["to"], "queue:triage");
    assert_eq!(json["steps"][0]["notify"], "A hot lead is waiting");
    assert_eq!(json["steps"][2]["to"], "team_lead");
    assert_eq!(json["steps"][2]["reassign"], true);
    // The Worker stores a clock's steps and reads them back: the same steps, every target kind.
    let steps: Vec<StepDue> = serde_json::from_value(json["steps"].clone()).unwrap();
    assert_eq!(steps, c.steps);
    for bad in [
        r#"[{"level":1,"due_ms":0,"to":"boss","reassign":false}]"#,
        r#"[{"level":1}]"#,
    ] {
        assert!(serde_json::from_str::<Vec<StepDue>>(bad).is_err(), "{bad}");
    }
    let no = bundle
        .sla()
        .start(
            Some(routing),
            &lead("lifecycle=nurture"),
            &assignee("owner:ny"),
            &SuppressionFacts::default(),
            false,
            0,
        )
        .unwrap_err();
    assert_eq!(serde_json::to_value(no).unwrap(), "no_policy");
    let facts: SuppressionFacts =
        serde_json::from_str(r#"{"in_sequence": true, "last_contacted_ms": 5}"#).unwrap();
    let reason = suppress(&facts, 1, 5).unwrap();
    assert_eq!(serde_json::to_value(reason).unwrap(), "in_sequence");
}

#[test]
fn configurations_without_sla_keep_their_bundle_version() {
    let plain = data("sla.toml");
    let without = &plain[..plain.find("[sla]").unwrap()];
    let bundle = Bundle::from_toml(without).unwrap();
    assert!(bundle.sla().policies().is_empty());
    assert!(!bundle.to_json().contains("\"sla\""));
    let with = Bundle::from_toml(&plain).unwrap();
    assert_ne!(with.version, bundle.version);
    let again = Bundle::from_json(&with.to_json()).unwrap();
    assert_eq!(again.version, with.version);
    assert_eq!(again.sla(), with.sla());
    assert_eq!(again.sla().recent_contact_window_ms(), 14 * 86_400_000);
}

#[test]
fn demo_sla_escalates_an_sql_to_the_team_lead_then_the_head_of_sales() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo.toml");
    let bundle = Bundle::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap();
    let routing = bundle.routing().unwrap();
    let sla = bundle.sla();
    let sql = sla
        .policy_for(&lead("lifecycle=sql"), Some(routing))
        .unwrap();
    assert_eq!(
        (sql.id.as_str(), sql.first_touch),
        ("sql", Span::Time(5 * 60_000))
    );
    let mql = sla
        .policy_for(&lead("lifecycle=mql"), Some(routing))
        .unwrap();
    assert_eq!(
        (mql.id.as_str(), mql.first_touch),
        ("mql", Span::Time(3_600_000))
    );
    assert!(sla
        .policy_for(&lead("lifecycle=nurture"), Some(routing))
        .is_none());
    // Maya (New York, 09:00-17:30) gets an SQL on Monday 2026-11-23 at 17:00 EST.
    let maya = assignee("owner:maya");
    let c = sla
        .start(
            Some(routing),
            &lead("lifecycle=sql"),
            &maya,
            &SuppressionFacts::default(),
            false,
            instant("2026-11-23T22:00:00Z"),
        )
        .unwrap();
    // 5 working minutes: 17:05; then 2 and 4 working hours later, 25 minutes of them on Monday.
    assert_eq!(show(c.first_touch_due_ms), "2026-11-23T22:05:00Z");
    let steps: Vec<String> = c.steps.iter().map(|s| show(s.due_ms)).collect();
    assert_eq!(steps, ["2026-11-24T15:35:00Z", "2026-11-24T17:35:00Z"]);
    let who: Vec<String> = c
        .steps
        .iter()
        .map(|s| show_assignee(&CompiledSla::recipient(routing, s, &maya, Some("na_ae")).notify))
        .collect();
    assert_eq!(who, ["owner:jordan", "owner:morgan"]);
}
