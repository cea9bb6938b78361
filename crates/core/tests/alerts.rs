//! Who hears of a lead, and with what: the channels whose `when` holds, the owner or each member of
//! the queue personally (Slack or email, as configured), the buttons and signed links each may
//! use, and an escalation step's named person. The bundle is the one the Worker's Slack tests run
//! (`tests/fixtures/slack.toml`); its located configuration errors are fixtures in
//! `test_data/config_errors/notify-*`.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

use handoff_core::alerts::{escalation_alerts, lead_alerts, medium, Context, Medium, Signer};
use handoff_core::notify::{Escalation, LeadSummary, Owner, OwnerKind};
use handoff_core::routing::{Assignee, By, Decision, RouteInput};
use handoff_core::Bundle;
use serde_json::Value;

fn bundle() -> Bundle {
    Bundle::from_toml(include_str!("../../../tests/fixtures/slack.toml")).unwrap()
}

fn decision(assignee: Assignee, pool: Option<&str>, rule: &str) -> Decision {
    Decision {
        assignee,
        pool: pool.map(str::to_owned),
        by: By::Rule { rule: rule.into() },
        account: None,
        unmatched_rules: vec![],
        attempts: vec![],
        changes: vec![],
        summary: String::new(),
    }
}

fn input(lifecycle: &str) -> RouteInput {
    RouteInput {
        lifecycle: Some(lifecycle.into()),
        email: Some("ada@buyer.example".into()),
        ..RouteInput::default()
    }
}

const SIGNER: Signer<'static> = Signer {
    base: "https://h.example",
    secret: b"k",
    expires_ms: 1_000,
};

fn context(bundle: &Bundle) -> Context<'_> {
    Context {
        notify: &bundle.rules.notify,
        routing: bundle.routing(),
        reasons: &bundle.rules.feedback.reject_reasons,
        signer: Some(SIGNER),
    }
}

/// Each message as `(channel, kind, the ids of its Slack buttons or the labels of its links)`.
fn shape(messages: &[handoff_core::alerts::Outgoing]) -> Vec<(String, &'static str, Vec<String>)> {
    messages
        .iter()
        .map(|m| {
            let slack = m.payload.get("message").unwrap_or(&m.payload);
            let buttons: Vec<String> = match slack["blocks"].as_array() {
                Some(blocks) => blocks
                    .iter()
                    .filter(|b| b["type"] == "actions")
                    .flat_map(|b| b["elements"].as_array().unwrap().clone())
                    .map(|e| e["action_id"].as_str().unwrap().to_owned())
                    .collect(),
                None => m.payload["mail"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| {
                        l.split_once(": https://")
                            .map(|(label, _)| label.to_owned())
                    })
                    .collect(),
            };
            (m.channel.clone(), m.kind, buttons)
        })
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_routed_lead_reaches_the_channels_that_hear_it_and_its_people() {
    let b = bundle();
    let cases: &[(&str, Decision, &str, Vec<(&str, &str, Vec<&str>)>)] = &[
        (
            "an SQL for Dana: the sales floor, and Dana by Slack (looked up by email)",
            decision(Assignee::Owner("dana".into()), Some("team"), "team"),
            "sql",
            vec![
                ("sales-floor", "slack_app", vec!["accept", "reject"]),
                ("owner:dana", "slack_dm", vec!["accept", "reject"]),
            ],
        ),
        (
            "an SQL for Erin, who reads email: her links",
            decision(Assignee::Owner("erin".into()), None, "emea"),
            "sql",
            vec![
                ("sales-floor", "slack_app", vec!["accept", "reject"]),
                ("owner:erin", "email", vec!["Accept", "Not a fit"]),
            ],
        ),
        (
            "an MQL in the inbound queue: both channels, each member with Take it",
            decision(Assignee::Queue("inbound".into()), None, "inbound"),
            "mql",
            vec![
                ("sales-floor", "slack_app", vec!["take"]),
                ("inbound", "slack_app", vec!["take"]),
                ("owner:dana", "slack_dm", vec!["take"]),
                ("owner:eli", "slack_dm", vec!["take"]),
            ],
        ),
        (
            "a nurture lead in a queue nobody works: nothing",
            decision(Assignee::Queue("nurture".into()), None, "nurture"),
            "nurture",
            vec![],
        ),
    ];
    for (name, decision, lifecycle, want) in cases {
        let hearing = b.hearing(&input(lifecycle), decision);
        let lead = LeadSummary {
            lead_id: "L1".into(),
            lifecycle: (*lifecycle).into(),
            ..LeadSummary::default()
        };
        let got = shape(&lead_alerts(
            &context(&b),
            &lead,
            &hearing,
            &decision.assignee,
            0,
        ));
        let want: Vec<(String, &str, Vec<String>)> = want
            .iter()
            .map(|(c, k, buttons)| ((*c).to_owned(), *k, strings(buttons)))
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn personal_links_are_signed_for_their_recipient() {
    let b = bundle();
    let d = decision(Assignee::Owner("erin".into()), None, "emea");
    let lead = LeadSummary {
        lead_id: "L1".into(),
        ..LeadSummary::default()
    };
    let messages = lead_alerts(&context(&b), &lead, &[], &d.assignee, 0);
    let text = messages[0].payload["mail"]["text"].as_str().unwrap();
    assert!(
        text.contains("Accept: https://h.example/v1/leads/L1/claim?owner=erin&exp=1000&sig="),
        "{text}"
    );
    assert!(
        text.contains("Not a fit: https://h.example/v1/leads/L1/reject?owner=erin&"),
        "{text}"
    );
    assert_eq!(messages[0].payload["to"], "erin@sales.example");
    // Without a link secret, an email has no links and a DM still has its buttons.
    let mut cx = context(&b);
    cx.signer = None;
    let messages = lead_alerts(&cx, &lead, &[], &d.assignee, 0);
    assert!(!messages[0].payload["mail"]["text"]
        .as_str()
        .unwrap()
        .contains("https://"));
    let dm = lead_alerts(&cx, &lead, &[], &Assignee::Owner("dana".into()), 0);
    assert_eq!(
        dm[0].payload["user"],
        Value::Null,
        "Dana's id is looked up by email"
    );
    assert_eq!(dm[0].payload["email"], "dana@sales.example");
}

#[test]
fn an_escalation_reaches_the_named_person_who_may_act_only_if_they_hold_the_lead() {
    let b = bundle();
    let holder = Assignee::Owner("dana".into());
    let cases: &[(&str, OwnerKind, Vec<(&str, &str, Vec<&str>)>)] = &[
        (
            "dana",
            OwnerKind::Person,
            vec![("owner:dana", "slack_dm", vec!["accept", "reject"])],
        ),
        (
            "tom",
            OwnerKind::Person,
            vec![("owner:tom", "slack_dm", vec![])],
        ),
        (
            "hana",
            OwnerKind::Person,
            vec![("owner:hana", "slack_dm", vec![])],
        ),
        (
            "erin",
            OwnerKind::Person,
            vec![("owner:erin", "email", vec![])],
        ),
        ("inbound", OwnerKind::Queue, vec![]),
    ];
    for (to, kind, want) in cases {
        let e = Escalation {
            lead_id: "L1".into(),
            level: 2,
            to: Owner {
                id: (*to).into(),
                name: (*to).into(),
                kind: *kind,
            },
            ..Escalation::default()
        };
        let got = shape(&escalation_alerts(&context(&b), &e, &[], &holder, 0));
        let want: Vec<(String, &str, Vec<String>)> = want
            .iter()
            .map(|(c, k, buttons)| ((*c).to_owned(), *k, strings(buttons)))
            .collect();
        assert_eq!(got, want, "{to}");
    }
}

#[test]
fn how_an_owner_hears() {
    let b = bundle();
    let routing = b.routing().unwrap();
    let mut slack_only = b.rules.notify.clone();
    slack_only.email = None;
    let mut email_only = b.rules.notify.clone();
    email_only.slack = None;
    let cases = [
        ("dana", &b.rules.notify, Some(Medium::Slack)),
        ("erin", &b.rules.notify, Some(Medium::Email)),
        ("erin", &slack_only, None),
        ("dana", &email_only, Some(Medium::Email)),
        ("tom", &email_only, None),
    ];
    for (owner, notify, want) in cases {
        assert_eq!(
            medium(notify, routing.owner_spec(owner).unwrap()),
            want,
            "{owner}"
        );
    }
}
