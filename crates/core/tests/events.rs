//! Events sales reports about a lead, as one table: the JSON the events API takes, and what it
//! means (its log kind, whether it is a contact, whether it rejects the lead, the facts it sets)
//! or the code it is refused with.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::events::LeadEvent;

/// `(json, expected)`: `kind contact rejects deal sequence actor step amount` (`-` for no fact,
/// no status move, no amount), or `!code`.
const CASES: &[(&str, &str)] = &[
    (
        r#"{"type":"touch","channel":"call","actor":"maya"}"#,
        "touch yes no - - maya working -",
    ),
    (
        r#"{"type":"touch","channel":"meeting_booked","actor":"  Maya   Chen ","note":"Tue 10:00"}"#,
        "touch yes no - - Maya Chen working -",
    ),
    (
        r#"{"type":"touch","channel":"email","actor":"maya"}"#,
        "touch yes no - - maya working -",
    ),
    (
        r#"{"type":"outcome","outcome":"contacted","actor":"maya"}"#,
        "outcome yes no - - maya working -",
    ),
    (
        r#"{"type":"outcome","outcome":"meeting_held","actor":"maya"}"#,
        "outcome yes no - - maya meeting -",
    ),
    (
        r#"{"type":"outcome","outcome":"opportunity","actor":"maya"}"#,
        "outcome yes no - - maya opportunity -",
    ),
    (
        r#"{"type":"outcome","outcome":"opportunity","amount":48000,"currency":"EUR","actor":"maya"}"#,
        "outcome yes no - - maya opportunity 48000EUR",
    ),
    (
        r#"{"type":"outcome","outcome":"won","amount":51000.5,"currency":"USD","actor":"maya"}"#,
        "outcome yes no - - maya won 51000.5USD",
    ),
    (
        r#"{"type":"outcome","outcome":"won","actor":"maya"}"#,
        "outcome yes no - - maya won -",
    ),
    (
        r#"{"type":"outcome","outcome":"lost","reason":"price","amount":0,"currency":"GBP","actor":"maya"}"#,
        "outcome no no - - maya lost 0GBP",
    ),
    (
        r#"{"type":"outcome","outcome":"recycled","reason":"no_budget_yet","actor":"maya"}"#,
        "outcome no no - - maya recycled -",
    ),
    (
        r#"{"type":"accept","actor":"maya"}"#,
        "accepted no no - - maya accepted -",
    ),
    (
        r#"{"type":"outcome","outcome":"rejected","reason":"student","actor":"maya"}"#,
        "outcome no yes - - maya rejected -",
    ),
    (
        r#"{"type":"deal","active":true}"#,
        "deal_opened no no true - system - -",
    ),
    (
        r#"{"type":"deal","active":false,"actor":"crm"}"#,
        "deal_closed no no false - crm - -",
    ),
    (
        r#"{"type":"sequence","active":true}"#,
        "sequence_started no no - true system - -",
    ),
    (
        r#"{"type":"sequence","active":false}"#,
        "sequence_ended no no - false system - -",
    ),
    // Refused, each with its code.
    (
        r#"{"type":"outcome","outcome":"rejected","actor":"maya"}"#,
        "!event.reason_required",
    ),
    (
        r#"{"type":"outcome","outcome":"rejected","reason":"Not a fit","actor":"maya"}"#,
        "!event.bad_reason",
    ),
    (
        r#"{"type":"outcome","outcome":"contacted","reason":"student","actor":"maya"}"#,
        "!event.unexpected_reason",
    ),
    (
        r#"{"type":"outcome","outcome":"lost","actor":"maya"}"#,
        "!event.reason_required",
    ),
    (
        r#"{"type":"outcome","outcome":"recycled","actor":"maya"}"#,
        "!event.reason_required",
    ),
    (
        r#"{"type":"outcome","outcome":"won","amount":100,"actor":"maya"}"#,
        "!event.bad_currency",
    ),
    (
        r#"{"type":"outcome","outcome":"won","amount":100,"currency":"eur","actor":"maya"}"#,
        "!event.bad_currency",
    ),
    (
        r#"{"type":"outcome","outcome":"won","currency":"EUR","actor":"maya"}"#,
        "!event.bad_amount",
    ),
    (
        r#"{"type":"outcome","outcome":"won","amount":-5,"currency":"EUR","actor":"maya"}"#,
        "!event.bad_amount",
    ),
    (
        r#"{"type":"outcome","outcome":"won","amount":1e13,"currency":"EUR","actor":"maya"}"#,
        "!event.bad_amount",
    ),
    (
        r#"{"type":"outcome","outcome":"contacted","amount":5,"currency":"EUR","actor":"maya"}"#,
        "!event.unexpected_amount",
    ),
    (
        r#"{"type":"outcome","outcome":"won","amount":"5","currency":"EUR","actor":"maya"}"#,
        "!event.bad_json",
    ),
    (r#"{"type":"accept"}"#, "!event.bad_json"),
    (
        r#"{"type":"touch","channel":"call","actor":"   "}"#,
        "!event.bad_actor",
    ),
    (r#"{"type":"touch","channel":"call"}"#, "!event.bad_json"),
    (
        r#"{"type":"touch","channel":"fax","actor":"maya"}"#,
        "!event.bad_json",
    ),
    (
        r#"{"type":"touch","channel":"call","actor":"maya","at":5}"#,
        "!event.bad_json",
    ),
    (r#"{"type":"wave","actor":"maya"}"#, "!event.bad_json"),
    (r#"{"type":"deal"}"#, "!event.bad_json"),
    (r#"[{"type":"deal","active":true}]"#, "!event.bad_json"),
    ("not json", "!event.bad_json"),
];

fn show(fact: Option<bool>) -> String {
    fact.map_or("-".to_owned(), |b| b.to_string())
}

#[test]
fn events_table() {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let mut failures = Vec::new();
    for (json, expected) in CASES {
        let got = match LeadEvent::parse(json) {
            Ok(e) => {
                let (deal, sequence) = e.facts();
                format!(
                    "{} {} {} {} {} {} {} {}",
                    e.kind(),
                    yes(e.is_contact()),
                    yes(e.rejects()),
                    show(deal),
                    show(sequence),
                    e.actor(),
                    e.step().map_or("-", |m| m.target().as_str()),
                    e.amount()
                        .map_or("-".to_owned(), |(a, c)| format!("{a}{c}")),
                )
            }
            Err(e) => format!("!{}", e.code),
        };
        if got != *expected {
            failures.push(format!("{json}\n  expected {expected}\n  got      {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn notes_are_bounded_and_kept_on_one_line() {
    let long = "x".repeat(1001);
    let json = format!(r#"{{"type":"touch","channel":"call","actor":"maya","note":"{long}"}}"#);
    assert_eq!(LeadEvent::parse(&json).unwrap_err().code, "event.bad_note");
    let event = LeadEvent::parse(
        r#"{"type":"touch","channel":"call","actor":"maya","note":"left\na voicemail"}"#,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        serde_json::json!({"type": "touch", "channel": "call", "actor": "maya", "note": "left a voicemail"})
    );
}

const FEEDBACK: &str = r#"
[[forms]]
id = "contact"
title = "Contact"
submit_label = "Send"
success_message = "Thanks"
[[forms.fields]]
id = "email"
label = "Email"
type = "email"

[[feedback.reject_reasons]]
id = "not_a_fit"
label = "Not a fit"

[[feedback.reject_reasons]]
id = "student"
label = "Student"
"#;

#[test]
fn configured_reasons_are_the_only_ones_accepted() {
    let bundle = handoff_core::Bundle::from_toml(FEEDBACK).unwrap();
    let feedback = &bundle.rules.feedback;
    let reject = |reason: &str| {
        LeadEvent::parse(&format!(
            r#"{{"type":"outcome","outcome":"rejected","reason":"{reason}","actor":"maya"}}"#
        ))
        .unwrap()
    };
    assert!(reject("student").check_reason(feedback).is_ok());
    let refused = reject("no_budget").check_reason(feedback).unwrap_err();
    assert_eq!(refused.code, "event.unknown_reason");
    assert!(
        refused.message.contains("not_a_fit, student"),
        "{}",
        refused.message
    );
    // Without a list, any code is accepted; other events are never about reasons.
    assert!(reject("no_budget")
        .check_reason(&Default::default())
        .is_ok());
    let touch = LeadEvent::parse(r#"{"type":"touch","channel":"call","actor":"maya"}"#).unwrap();
    assert!(touch.check_reason(feedback).is_ok());
}
