//! Notifications: Standard Webhooks signatures (the specification's published vector), the retry
//! schedule and its dead-letter horizon, Slack escaping, the routed-lead and SLA escalation
//! messages, signed claim links, and the `[notify]` defaults (its located errors are fixtures in
//! `test_data/config_errors/notify-*`).

#![allow(clippy::unwrap_used, clippy::type_complexity)]

use handoff_core::notify::{
    claim_link, claim_token, escape_mrkdwn, human_duration, next_attempt, rfc3339, sign,
    slack_escalation, slack_message, source_line, verify_claim, visitor_mrkdwn, webhook_escalation,
    webhook_payload, Asked, ChannelKind, CrmLink, Escalation, LeadSummary, NotifyError, Owner,
    OwnerKind, Retry, ScoreLine, LEAD_SLA_ESCALATED,
};
use handoff_core::Bundle;

#[test]
fn signatures() {
    // (secret, msg id, timestamp, body, expected). The first row is the Standard Webhooks
    // specification's test vector, as its reference libraries check it.
    let vector = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    let cases: &[(&str, &str, i64, &str, Result<&str, NotifyError>)] = &[
        (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
            Ok(vector),
        ),
        // The prefix is optional, as in the reference libraries.
        (
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
            Ok(vector),
        ),
        (
            "whsec_not base64!",
            "msg_1",
            1,
            "{}",
            Err(NotifyError::SecretInvalid),
        ),
        ("whsec_", "msg_1", 1, "{}", Err(NotifyError::SecretInvalid)),
    ];
    for (secret, id, ts, body, want) in cases {
        assert_eq!(
            sign(secret, id, *ts, body).as_deref().map_err(|e| *e),
            *want,
            "{secret} {id}"
        );
    }
    // Each part of the signed text matters.
    let base = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        r#"{"test": 2432232314}"#,
    )
    .unwrap();
    for (id, ts, body) in [
        (
            "msg_p5jXN8AQM9LWM0D4loKWxJeK",
            1614265330,
            r#"{"test": 2432232314}"#,
        ),
        (
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265331,
            r#"{"test": 2432232314}"#,
        ),
        (
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232315}"#,
        ),
    ] {
        assert_ne!(
            sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id, ts, body).unwrap(),
            base
        );
    }
}

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

#[test]
fn backoff_schedule() {
    // (attempts so far, created, now, horizon, expected)
    let t0 = 1_795_000_000_000;
    let cases = [
        (1, t0, t0, 24 * HOUR, Retry::At(t0 + 30_000)),
        (2, t0, t0 + 30_000, 24 * HOUR, Retry::At(t0 + 90_000)),
        (3, t0, t0 + 90_000, 24 * HOUR, Retry::At(t0 + 210_000)),
        (4, t0, t0, 24 * HOUR, Retry::At(t0 + 240_000)),
        (7, t0, t0, 24 * HOUR, Retry::At(t0 + 1_920_000)),
        // Capped at an hour from the eighth attempt on, however many there were.
        (8, t0, t0, 24 * HOUR, Retry::At(t0 + HOUR)),
        (40, t0, t0, 24 * HOUR, Retry::At(t0 + HOUR)),
        (u32::MAX, t0, t0, 24 * HOUR, Retry::At(t0 + HOUR)),
        // The horizon: a retry landing exactly on it is still made, one past it is not.
        (1, t0, t0 + HOUR - 30_000, HOUR, Retry::At(t0 + HOUR)),
        (1, t0, t0 + HOUR - 29_999, HOUR, Retry::Dead),
        (8, t0, t0 + 23 * HOUR + 1, 24 * HOUR, Retry::Dead),
        (8, t0, t0 + 23 * HOUR, 24 * HOUR, Retry::At(t0 + 24 * HOUR)),
    ];
    for (attempts, created, now, horizon, want) in cases {
        assert_eq!(
            next_attempt(attempts, created, now, horizon),
            want,
            "attempts {attempts} now +{}",
            now - created
        );
    }
}

#[test]
fn dead_horizon_walk() {
    // A receiver that always fails, retried on time: the attempts' times and where it dies.
    let t0 = 0;
    let mut now = t0;
    let mut times = vec![now];
    let mut attempts = 1;
    while let Retry::At(next) = next_attempt(attempts, t0, now, HOUR) {
        now = next;
        times.push(now);
        attempts += 1;
    }
    let secs: Vec<i64> = times.iter().map(|t| t / 1000).collect();
    assert_eq!(secs, [0, 30, 90, 210, 450, 930, 1890]);
    // A day's horizon: 8 attempts in the first 64 minutes, then hourly: 30 in all, the last
    // 23 h 3.5 min after the first.
    let (mut now, mut attempts) = (0, 1);
    while let Retry::At(next) = next_attempt(attempts, 0, now, 24 * HOUR) {
        now = next;
        attempts += 1;
    }
    assert_eq!((attempts, now), (30, 83_010_000));
}

fn lead() -> LeadSummary {
    LeadSummary {
        lead_id: "0b5d2f6e-1111-4222-8333-944455556666".into(),
        name: Some("Maria <@U123> López".into()),
        email: Some("maria@acme.example".into()),
        company: Some("Acme & Sons <!channel>".into()),
        source: Some("newsletter / <https://evil.example|spring>".into()),
        asked: vec![Asked {
            label: "Interest".into(),
            value: "A demo > a call".into(),
        }],
        score: 80,
        breakdown: vec![
            ScoreLine {
                label: "Company of 201–1000 people".into(),
                points: 25,
            },
            ScoreLine {
                label: "Asked for a demo".into(),
                points: 30,
            },
            ScoreLine {
                label: "cap".into(),
                points: -5,
            },
        ],
        lifecycle: "sql".into(),
        owner: Owner {
            id: "ana".into(),
            name: "Ana Silva".into(),
            kind: OwnerKind::Person,
        },
        why: "Acme is Ana's account.".into(),
        claim_url: "https://handoff.example/v1/leads/x/claim?owner=ana&exp=1&sig=abc".into(),
        reject_url: String::new(),
        take_url: String::new(),
        lead_url: None,
        crm: Vec::new(),
    }
}

#[test]
fn escaping() {
    let cases = [
        ("plain text", "plain text"),
        ("<@U123>", "&lt;@U123&gt;"),
        (
            "<!channel> & <https://evil.example|click>",
            "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;",
        ),
        ("&amp;", "&amp;amp;"),
        ("*bold* _it_", "*bold* _it_"),
    ];
    for (input, want) in cases {
        assert_eq!(escape_mrkdwn(input), want);
    }
}

/// Visitor text can neither link nor ping in Slack: escaped, then URL schemes and domains
/// defanged; dots that end a sentence or an abbreviation stay.
#[test]
fn visitor_text_is_defanged() {
    let cases = [
        ("Acme Inc.", "Acme Inc."),
        ("evil.example/login", "evil[.]example/login"),
        ("https://evil.example", "https[:]//evil[.]example"),
        ("see www.evil.example.", "see www[.]evil[.]example."),
        ("<https://a.b|c>", "&lt;https[:]//a[.]b|c&gt;"),
        ("@channel <!here>", "@channel &lt;!here&gt;"),
        ("v2.1 & 3 . 4", "v2[.]1 &amp; 3 . 4"),
        ("mailto:x@y.z", "mailto:x@y[.]z"),
    ];
    for (input, want) in cases {
        assert_eq!(visitor_mrkdwn(input), want, "{input:?}");
    }
}

/// Every text object that carries visitor text is `verbatim`: Slack neither links nor mentions.
#[test]
fn visitor_text_objects_are_verbatim() {
    let message = slack_message(&lead());
    let blocks = message["blocks"].as_array().unwrap();
    for field in blocks[1]["fields"].as_array().unwrap() {
        assert_eq!(field["verbatim"], true, "{field}");
    }
    assert_eq!(blocks[2]["text"]["verbatim"], true);
}

#[test]
fn slack_message_shape() {
    let message = slack_message(&lead());
    let blocks = message["blocks"].as_array().unwrap();
    let kinds: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["header", "section", "section", "context", "context", "actions"]
    );
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(
        blocks[0]["text"]["text"],
        "New lead: Maria <@U123> López (Acme & Sons <!channel>)"
    );
    let fields: Vec<&str> = blocks[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "*Email*\nmaria@acme.example",
            "*Company*\nAcme &amp; Sons &lt;!channel&gt;",
            "*Source*\nnewsletter / &lt;https[:]//evil[.]example|spring&gt;",
            "*Score*\n80 (sql)",
            "*Owner*\nAna Silva",
        ]
    );
    assert_eq!(
        blocks[2]["text"]["text"],
        "*What they asked*\n*Interest:* A demo &gt; a call"
    );
    assert_eq!(
        blocks[3]["elements"][0]["text"],
        "Score breakdown: +25 Company of 201–1000 people · +30 Asked for a demo · -5 cap"
    );
    assert_eq!(
        blocks[4]["elements"][0]["text"],
        "Why Ana Silva: Acme is Ana's account."
    );
    let button = &blocks[5]["elements"][0];
    assert_eq!(button["text"]["text"], "I've got it");
    assert_eq!(button["url"], lead().claim_url);
    // No mrkdwn text anywhere carries a visitor's raw `<`.
    for block in &blocks[1..] {
        assert!(
            !block.to_string().contains("<@U123>") && !block.to_string().contains("<!channel>"),
            "{block}"
        );
    }
    assert_eq!(
        message["text"],
        "New lead: Maria &lt;@U123&gt; López (Acme &amp; Sons &lt;!channel&gt;)"
    );
    // A queue owner says so; an admin link adds a second button.
    let mut queued = lead();
    queued.owner.kind = OwnerKind::Queue;
    queued.lead_url = Some("https://admin.example/leads/x".into());
    let message = slack_message(&queued);
    let blocks = message["blocks"].as_array().unwrap();
    assert_eq!(blocks[1]["fields"][4]["text"], "*Owner*\nAna Silva (queue)");
    assert_eq!(
        blocks.last().unwrap()["elements"][1]["url"],
        "https://admin.example/leads/x"
    );
    // Without a claim link (no LINK_SECRET) there is no button, and no empty actions block.
    let mut unlinked = lead();
    unlinked.claim_url.clear();
    let message = slack_message(&unlinked);
    let blocks = message["blocks"].as_array().unwrap();
    assert_ne!(blocks.last().unwrap()["type"], "actions");
    assert!(!message.to_string().contains("I've got it"));
    // With reject reasons configured, "Not a fit" follows "I've got it".
    let mut rejectable = lead();
    rejectable.reject_url =
        "https://handoff.example/v1/leads/x/reject?owner=ana&exp=1&sig=def".into();
    let message = slack_message(&rejectable);
    let actions = &message["blocks"].as_array().unwrap().last().unwrap()["elements"];
    assert_eq!(actions[0]["text"]["text"], "I've got it");
    assert_eq!(actions[1]["text"]["text"], "Not a fit");
    assert_eq!(actions[1]["style"], "danger");
    assert_eq!(actions[1]["url"], rejectable.reject_url);
    assert!(!slack_message(&lead()).to_string().contains("Not a fit"));
    // Each CRM the lead is pushed to adds "Open in …", after the lead's own buttons.
    let mut pushed = lead();
    pushed.crm = vec![
        CrmLink {
            name: "HubSpot".into(),
            url: "https://handoff.example/v1/leads/x/crm?push=hubspot".into(),
        },
        CrmLink {
            name: "Salesforce".into(),
            url: "https://handoff.example/v1/leads/x/crm?push=sf".into(),
        },
    ];
    let message = slack_message(&pushed);
    let actions = &message["blocks"].as_array().unwrap().last().unwrap()["elements"];
    let buttons: Vec<(&str, &str)> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["text"]["text"].as_str().unwrap(),
                b["url"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        buttons,
        [
            ("I've got it", pushed.claim_url.as_str()),
            ("Open in HubSpot", pushed.crm[0].url.as_str()),
            ("Open in Salesforce", pushed.crm[1].url.as_str()),
        ]
    );
}

#[test]
fn a_link_signed_for_one_purpose_opens_no_other() {
    use handoff_core::notify::{action_link, link_token, verify_link, LinkPurpose};
    let secret = b"k";
    let claim = link_token(LinkPurpose::Claim, secret, "lead", "ana", 10);
    let reject = link_token(LinkPurpose::Reject, secret, "lead", "ana", 10);
    assert_ne!(claim, reject);
    assert!(verify_link(LinkPurpose::Reject, secret, "lead", "ana", 10, &reject, 5).is_ok());
    assert!(verify_link(LinkPurpose::Reject, secret, "lead", "ana", 10, &claim, 5).is_err());
    assert!(verify_link(LinkPurpose::Claim, secret, "lead", "ana", 10, &reject, 5).is_err());
    assert!(action_link(
        LinkPurpose::Reject,
        "https://h.example/",
        secret,
        "lead",
        "ana",
        10
    )
    .starts_with("https://h.example/v1/leads/lead/reject?owner=ana&exp=10&sig="));
}

#[test]
fn webhook_payload_shape() {
    let payload = webhook_payload(&lead(), "lead.routed", 1_795_312_800_123);
    assert_eq!(payload["type"], "lead.routed");
    assert_eq!(payload["timestamp"], "2026-11-22T02:00:00.123Z");
    assert_eq!(payload["data"]["lead_id"], lead().lead_id);
    // The webhook carries the data unescaped: its receiver is a program, not Slack.
    assert_eq!(payload["data"]["company"], "Acme & Sons <!channel>");
    assert_eq!(
        payload["data"]["owner"],
        serde_json::json!({"id": "ana", "name": "Ana Silva", "kind": "person"})
    );
    assert_eq!(
        payload["data"]["breakdown"][1],
        serde_json::json!({"label": "Asked for a demo", "points": 30})
    );
}

#[test]
fn human_durations() {
    let cases = [
        (-5 * MIN, "under 1m"),
        (0, "under 1m"),
        (MIN - 1, "under 1m"),
        (MIN, "1m"),
        (45 * MIN + 59_999, "45m"),
        (HOUR - 1, "59m"),
        (HOUR, "1h 00m"),
        (2 * HOUR + 5 * MIN, "2h 05m"),
        (2 * HOUR + 5 * MIN + 59_999, "2h 05m"),
        (23 * HOUR + 59 * MIN, "23h 59m"),
        (24 * HOUR, "1d 0h"),
        (3 * 24 * HOUR + 4 * HOUR + 59 * MIN, "3d 4h"),
        (i64::MAX, "106751991167d 7h"),
    ];
    for (ms, want) in cases {
        assert_eq!(human_duration(ms), want, "{ms}");
    }
}

fn person(id: &str, name: &str) -> Owner {
    Owner {
        id: id.into(),
        name: name.into(),
        kind: OwnerKind::Person,
    }
}

/// An escalation whose visitor-typed fields and configured message all try to ping a channel.
fn escalation() -> Escalation {
    Escalation {
        lead_id: "0b5d2f6e-1111-4222-8333-944455556666".into(),
        name: Some("Ada <!channel> Lovelace".into()),
        email: Some("ada@acme.example".into()),
        company: Some("Acme & Co <@U123>".into()),
        lifecycle: "sql".into(),
        score: 85,
        policy: "sql".into(),
        level: 1,
        to: person("kim", "Kim Lee"),
        owner: person("ana", "Ana Silva"),
        reassigned_to: None,
        first_touch_due_ms: 1_795_312_800_000,
        overdue_ms: 2 * HOUR + 5 * MIN + 30_000,
        message: Some("An SQL has waited 2 working hours <!here>".into()),
        claim_url: "https://handoff.example/v1/leads/x/claim?owner=ana&exp=1&sig=abc".into(),
        reject_url: String::new(),
        take_url: String::new(),
        lead_url: None,
    }
}

#[test]
fn slack_escalation_shape() {
    let due = "Policy sql, level 1: first touch was due \
               <!date^1795312800^{date_short_pretty} {time}|2026-11-22T02:00:00.000Z>";
    let full_fields = [
        "*Email*\nada@acme.example",
        "*Company*\nAcme &amp; Co &lt;@U123&gt;",
        "*Score*\n85 (sql)",
        "*Owner*\nAna Silva",
        "*Escalated to*\nKim Lee",
        "*Late by*\n2h 05m",
    ];
    let reassigned = Escalation {
        level: 2,
        reassigned_to: Some(person("ben", "Ben Ode")),
        message: None,
        ..escalation()
    };
    let bare = Escalation {
        name: None,
        email: None,
        company: None,
        level: 3,
        to: Owner {
            id: "unassigned".into(),
            name: "Unassigned".into(),
            kind: OwnerKind::Queue,
        },
        overdue_ms: 20_000,
        message: Some(String::new()),
        claim_url: String::new(),
        lead_url: Some("https://admin.example/leads/x".into()),
        ..escalation()
    };
    let by_email = Escalation {
        name: None,
        company: None,
        claim_url: String::new(),
        ..escalation()
    };
    // (case, escalation, block kinds, header, fields, the blocks' texts after the fields, buttons)
    let level = |n: &str| due.replace("level 1", n);
    let cases: Vec<(
        &str,
        Escalation,
        &[&str],
        &str,
        Vec<&str>,
        Vec<String>,
        &[&str],
    )> = vec![
        (
            "everything, injection attempts inert",
            escalation(),
            &["header", "section", "section", "context", "actions"],
            "SLA missed: Ada <!channel> Lovelace (Acme & Co <@U123>) — level 1",
            full_fields.to_vec(),
            vec![
                "An SQL has waited 2 working hours &lt;!here&gt;".into(),
                due.into(),
            ],
            &["I've got it"],
        ),
        (
            "reassigned by the step",
            reassigned,
            &["header", "section", "section", "context", "actions"],
            "SLA missed: Ada <!channel> Lovelace (Acme & Co <@U123>) — level 2",
            full_fields.to_vec(),
            vec![
                "Reassigned from Ana Silva to Ben Ode, who has the lead now.".into(),
                level("level 2"),
            ],
            &["I've got it"],
        ),
        (
            "nothing known about the lead, a queue alerted, no claim link",
            bare,
            &["header", "section", "context", "actions"],
            "SLA missed: A lead — level 3",
            vec![
                "*Score*\n85 (sql)",
                "*Owner*\nAna Silva",
                "*Escalated to*\nUnassigned (queue)",
                "*Late by*\nunder 1m",
            ],
            vec![level("level 3")],
            &["Open lead"],
        ),
        (
            "known by email only, no claim link: no actions at all",
            by_email,
            &["header", "section", "section", "context"],
            "SLA missed: ada@acme.example — level 1",
            vec![
                "*Email*\nada@acme.example",
                "*Score*\n85 (sql)",
                "*Owner*\nAna Silva",
                "*Escalated to*\nKim Lee",
                "*Late by*\n2h 05m",
            ],
            vec![
                "An SQL has waited 2 working hours &lt;!here&gt;".into(),
                due.into(),
            ],
            &[],
        ),
    ];
    for (case, e, kinds, header, fields, texts, buttons) in cases {
        let message = slack_escalation(&e);
        let blocks = message["blocks"].as_array().unwrap();
        let got: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(got, kinds, "{case}");
        assert_eq!(blocks[0]["text"]["type"], "plain_text", "{case}");
        assert_eq!(blocks[0]["text"]["text"], header, "{case}");
        assert_eq!(message["text"], escape_mrkdwn(header), "{case}");
        let got: Vec<&str> = blocks[1]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["text"].as_str().unwrap())
            .collect();
        assert_eq!(got, fields, "{case}");
        let got: Vec<&str> = blocks[2..]
            .iter()
            .filter(|b| b["type"] != "actions")
            .map(|b| {
                b["text"]["text"]
                    .as_str()
                    .or(b["elements"][0]["text"].as_str())
                    .unwrap()
            })
            .collect();
        assert_eq!(got, texts, "{case}");
        let got: Vec<&str> = blocks
            .iter()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().unwrap())
            .map(|b| b["text"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(got, buttons, "{case}");
        // No mrkdwn text carries a visitor's or the configuration's raw `<`.
        for block in &blocks[1..] {
            let text = block.to_string();
            for raw in ["<!channel>", "<@U123>", "<!here>"] {
                assert!(!text.contains(raw), "{case}: {text}");
            }
        }
        assert!(!message.to_string().contains(r#""url":"""#), "{case}");
    }
    // A very long name gives way in the header; the level stays.
    let long = Escalation {
        name: Some("Ada ".repeat(60)),
        level: 12,
        ..escalation()
    };
    let header = slack_escalation(&long)["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(header.chars().count(), 150);
    assert!(header.starts_with("SLA missed: Ada Ada") && header.ends_with("… — level 12"));
}

#[test]
fn webhook_escalation_shape() {
    let e = Escalation {
        reassigned_to: Some(person("ben", "Ben Ode")),
        ..escalation()
    };
    let payload = webhook_escalation(&e, 1_795_312_800_123);
    assert_eq!(LEAD_SLA_ESCALATED, "lead.sla_escalated");
    assert_eq!(payload["type"], LEAD_SLA_ESCALATED);
    assert_eq!(payload["timestamp"], "2026-11-22T02:00:00.123Z");
    let data = &payload["data"];
    // Unescaped: the receiver is a program, not Slack.
    assert_eq!(data["name"], "Ada <!channel> Lovelace");
    assert_eq!(data["message"], "An SQL has waited 2 working hours <!here>");
    assert_eq!(
        (&data["policy"], &data["level"], &data["overdue_ms"]),
        (
            &serde_json::json!("sql"),
            &serde_json::json!(1),
            &serde_json::json!(7_530_000)
        )
    );
    assert_eq!(
        data["reassigned_to"],
        serde_json::json!({"id": "ben", "name": "Ben Ode", "kind": "person"})
    );
    assert_eq!(data["to"]["id"], "kim");
    assert_eq!(data["first_touch_due_ms"], 1_795_312_800_000_i64);
    // The body reads back as the escalation; a missing field is empty.
    let back: Escalation = serde_json::from_value(data.clone()).unwrap();
    assert_eq!(back, e);
    let unmoved = webhook_escalation(&escalation(), 0);
    assert!(unmoved["data"]["reassigned_to"].is_null());
    let empty: Escalation = serde_json::from_str(r#"{"lead_id": "x", "level": 2}"#).unwrap();
    assert_eq!(
        empty,
        Escalation {
            lead_id: "x".into(),
            level: 2,
            ..Escalation::default()
        }
    );
}

#[test]
fn timestamps() {
    let cases = [
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_614_265_330_000, "2021-02-25T15:02:10.000Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
    ];
    for (ms, want) in cases {
        assert_eq!(rfc3339(ms), want);
    }
}

#[test]
fn sources() {
    let cases = [
        (
            r#"{"utm": {"source": "newsletter", "campaign": "spring"}, "referrer": "https://r.example/"}"#,
            Some("newsletter / spring"),
        ),
        (r#"{"utm": {"source": "ads"}}"#, Some("ads")),
        (
            r#"{"referrer": "https://r.example/", "landing_page": "https://l.example/"}"#,
            Some("https://r.example/"),
        ),
        (
            r#"{"landing_page": "https://l.example/pricing"}"#,
            Some("https://l.example/pricing"),
        ),
        ("{}", None),
    ];
    for (json, want) in cases {
        let a = serde_json::from_str(json).unwrap();
        assert_eq!(source_line(&a).as_deref(), want, "{json}");
    }
}

#[test]
fn claim_links() {
    let secret = b"link-secret-for-tests";
    let (lead, owner, exp) = ("lead-1", "ana", 1_000_000);
    let token = claim_token(secret, lead, owner, exp);
    assert_eq!(token.len(), 43, "base64url of 32 bytes, no padding");
    let cases: &[(&[u8], &str, &str, i64, &str, i64, Result<(), NotifyError>)] = &[
        (secret, lead, owner, exp, &token, exp - 1, Ok(())),
        (secret, lead, owner, exp, &token, exp, Ok(())),
        (
            secret,
            lead,
            owner,
            exp,
            &token,
            exp + 1,
            Err(NotifyError::LinkExpired),
        ),
        // Tampered: another lead, owner, expiry, key, or signature.
        (
            secret,
            "lead-2",
            owner,
            exp,
            &token,
            0,
            Err(NotifyError::LinkInvalid),
        ),
        (
            secret,
            lead,
            "bob",
            exp,
            &token,
            0,
            Err(NotifyError::LinkInvalid),
        ),
        (
            secret,
            lead,
            owner,
            exp + 86_400_000,
            &token,
            0,
            Err(NotifyError::LinkInvalid),
        ),
        (
            b"another-secret",
            lead,
            owner,
            exp,
            &token,
            0,
            Err(NotifyError::LinkInvalid),
        ),
        (
            secret,
            lead,
            owner,
            exp,
            &token[..42],
            0,
            Err(NotifyError::LinkInvalid),
        ),
        (
            secret,
            lead,
            owner,
            exp,
            "",
            0,
            Err(NotifyError::LinkInvalid),
        ),
        (
            secret,
            lead,
            owner,
            exp,
            "!!!",
            0,
            Err(NotifyError::LinkInvalid),
        ),
        // Shifting text between the ids changes the signature (the fields are length-prefixed).
        (
            secret,
            "lead-1:3",
            "na",
            exp,
            &token,
            0,
            Err(NotifyError::LinkInvalid),
        ),
    ];
    for (key, lead, owner, exp, token, now, want) in cases {
        assert_eq!(
            verify_claim(key, lead, owner, *exp, token, *now),
            *want,
            "{lead} {owner} {exp} {token} {now}"
        );
    }
    let link = claim_link("https://h.example/", secret, "lead 1", "ana&bob", exp);
    let sig = claim_token(secret, "lead 1", "ana&bob", exp);
    assert_eq!(
        link,
        format!("https://h.example/v1/leads/lead%201/claim?owner=ana%26bob&exp=1000000&sig={sig}")
    );
}

const BASE: &str = r#"[[forms]]
id = "f"
title = "T"
submit_label = "Go"
success_message = "Thanks"

[[forms.fields]]
id = "email"
label = "Email"
type = "email"
required = true
"#;

#[test]
fn notify_config() {
    // The section's problems with their places: test_data/config_errors/notify-*.
    // A configuration without [notify] keeps its bundle version: the defaults are not serialized.
    let plain = Bundle::from_toml(BASE).unwrap();
    let explicit =
        Bundle::from_toml(&format!("{BASE}\n[notify]\ndead_after_hours = 24\n")).unwrap();
    assert_eq!(plain.version, explicit.version);
    assert!(!plain.to_json().contains("notify"));
    let with = Bundle::from_toml(&format!(
        "{BASE}\n[[notify.channels]]\nid = \"a\"\nkind = \"slack\"\nurl_secret = \"S\"\n"
    ))
    .unwrap();
    assert_ne!(with.version, plain.version);
    assert_eq!(with.rules.notify.channels[0].kind, ChannelKind::Slack);
    assert_eq!(
        Bundle::from_json(&with.to_json()).unwrap().rules.notify,
        with.rules.notify
    );
}
