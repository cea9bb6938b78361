//! What a submission is answered (`Evaluation::reply`) and the small shapes the Worker checks
//! requests against (`check::valid_id`, the one id check the configuration shares,
//! `Stage::parse`, `Assignee::kind`/`id`, `lead::valid_visitor`), as tables.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::check::valid_id;
use handoff_core::lead::valid_visitor;
use handoff_core::routing::Assignee;
use handoff_core::scoring::Stage;
use handoff_core::{evaluate, Bundle, LeadInput};
use serde_json::json;

fn demo_bundle() -> Bundle {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo.toml");
    Bundle::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A bot (here, a filled honeypot) is answered like a person's ordinary request, so that it learns
/// nothing about what gave it away; everyone else gets their stage's next step.
#[test]
fn a_bot_is_answered_like_an_ordinary_request_and_a_person_by_their_stage() {
    let bundle = demo_bundle();
    let form = &bundle.form("demo").unwrap().spec;
    let sql = json!({"email": "maria@customer.example", "company_size": "201-1000", "role": "Data",
        "country": "Germany", "interest": "A demo", "team_size": "8", "consent": true});
    let nurture =
        json!({"email": "sam@customer.example", "interest": "Just exploring", "consent": true});
    let table = [
        // (answers, honeypot, stage, link label)
        (&sql, "", Stage::Sql, "Book a meeting"),
        (&sql, "http://spam.example", Stage::Nurture, ""),
        (&nurture, "", Stage::Nurture, "Read customer stories"),
    ];
    for (answers, honeypot, stage, label) in table {
        let lead: LeadInput = serde_json::from_value(json!({
            "form": "demo", "answers": answers, "context": {"honeypot": honeypot, "fill_ms": 60_000}
        }))
        .unwrap();
        let evaluation = evaluate(&bundle, &lead, 1_800_000_000_000).unwrap();
        assert!(evaluation.valid, "{:?}", evaluation.issues);
        let reply = evaluation.reply(form);
        assert_eq!(
            (reply.stage, reply.link_label),
            (stage, label),
            "{honeypot:?}"
        );
        assert_eq!(evaluation.is_bot(), !honeypot.is_empty());
        if evaluation.is_bot() {
            assert_eq!(
                (reply.message, reply.link_url),
                (form.success_message.as_str(), "")
            );
        }
    }
}

#[test]
fn stages_parse_from_their_codes_only() {
    for stage in Stage::ALL {
        assert_eq!(Stage::parse(stage.as_str()), Some(stage));
    }
    for junk in ["", "SQL", "lead", "sql "] {
        assert_eq!(Stage::parse(junk), None, "{junk:?}");
    }
}

#[test]
fn an_assignee_is_stored_as_its_kind_and_id() {
    assert_eq!(
        (
            Assignee::Owner("ana".into()).kind(),
            Assignee::Owner("ana".into()).id()
        ),
        ("owner", "ana")
    );
    assert_eq!(
        (
            Assignee::Queue("sdr".into()).kind(),
            Assignee::Queue("sdr".into()).id()
        ),
        ("queue", "sdr")
    );
}

#[test]
fn visitor_tokens_are_16_to_64_letters_digits_dashes_or_underscores() {
    let long = "a".repeat(64);
    let too_long = "a".repeat(65);
    let table: [(&str, bool); 7] = [
        ("0b9a6f0c-1d2e-4f30-8a4b-5c6d7e8f9a0b", true),
        ("abcdefghijklmnop", true),
        ("abcdefghijklmno", false),
        (&long, true),
        (&too_long, false),
        ("abcdefghijklmnop<", false),
        ("abcdefghijklmnöp", false),
    ];
    for (token, ok) in table {
        assert_eq!(valid_visitor(token), ok, "{token:?}");
    }
}

#[test]
fn ids_are_a_lowercase_letter_then_up_to_63_of_a_z_0_9_dash_underscore() {
    let long = "a".repeat(64);
    let too_long = "a".repeat(65);
    let table: [(&str, bool); 10] = [
        ("ana", true),
        ("emea-queue_2", true),
        ("a", true),
        (&long, true),
        (&too_long, false),
        ("", false),
        ("1ana", false),
        ("Ana", false),
        ("ana lopez", false),
        ("ana;drop", false),
    ];
    for (id, ok) in table {
        assert_eq!(valid_id(id), ok, "{id:?}");
    }
}
