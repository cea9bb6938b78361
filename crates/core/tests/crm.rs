//! The CRM intake as tables: posted items read with a `[[crm.intakes]]` mapping into facts (or
//! skipped with a code), and a configuration without `[crm]`. The `[crm]` checks' codes and
//! places are fixtures in `test_data/config_errors/crm-*`.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::crm::{lead_subjects, person_subject, read, FactChange, Meaning, MAX_ITEMS};
use handoff_core::Bundle;
use serde_json::{json, Value};

const FORM: &str = r#"
[[forms]]
id = "contact"
title = "Contact"
submit_label = "Send"
success_message = "Thanks"
[[forms.fields]]
id = "email"
label = "Email"
type = "email"
"#;

const CRM: &str = r#"
[[crm.intakes]]
id = "hubspot"
secret = "CRM_HUBSPOT_TOKEN"
email = "/contact/email"
domain = "/company/domain"
event = "/type"
amount = "/deal/amount"
currency = "/deal/currency"
reason = "/deal/reason"
[crm.intakes.events]
"deal.created" = "deal_opened"
"deal.closed" = "deal_closed"
"sequence.enrolled" = "sequence_started"
"sequence.finished" = "sequence_ended"
"email.sent" = "contacted"
"deal.won" = "deal_won"
"deal.lost" = "deal_lost"
"#;

fn item(kind: Value, email: Value, domain: Value) -> Value {
    json!({"type": kind, "contact": {"email": email}, "company": {"domain": domain}})
}

fn deal(kind: Value, deal: Value) -> Value {
    json!({"type": kind, "contact": {"email": "ada@acme.example"}, "deal": deal})
}

#[test]
fn posted_items_become_facts_or_are_skipped_with_a_code() {
    let bundle = Bundle::from_toml(&format!("{FORM}{CRM}")).unwrap();
    let intake = bundle.rules.crm.intake("hubspot").unwrap();
    // (item, expected): `meaning email domain` or `!code`.
    let cases = [
        (
            item(
                json!("deal.created"),
                json!("Ada@Acme.Example"),
                json!("WWW.Acme.Example."),
            ),
            "deal_opened ada@acme.example acme.example",
        ),
        (
            item(json!("deal.closed"), json!("ada@acme.example"), json!(null)),
            "deal_closed ada@acme.example -",
        ),
        (
            item(json!("deal.closed"), json!("ADA@ACME.EXAMPLE"), json!(42)),
            "deal_closed ada@acme.example -",
        ),
        (
            item(
                json!("sequence.enrolled"),
                json!("ada@acme.example"),
                json!("not a domain"),
            ),
            "sequence_started ada@acme.example -",
        ),
        (
            item(
                json!("sequence.finished"),
                json!("ada@acme.example"),
                json!("acme.example"),
            ),
            "sequence_ended ada@acme.example acme.example",
        ),
        (
            item(
                json!("email.sent"),
                json!(" ada@acme.example "),
                json!("acme.example"),
            ),
            "contacted ada@acme.example acme.example",
        ),
        (
            item(
                json!("meeting.booked"),
                json!("ada@acme.example"),
                json!(null),
            ),
            "!crm.unknown_event",
        ),
        (
            item(json!(7), json!("ada@acme.example"), json!(null)),
            "!crm.missing_event",
        ),
        (
            json!({"contact": {"email": "ada@acme.example"}}),
            "!crm.missing_event",
        ),
        (
            item(json!("deal.created"), json!(null), json!(null)),
            "!crm.missing_email",
        ),
        (
            item(json!("deal.created"), json!("ada@acme"), json!(null)),
            "!crm.bad_email",
        ),
        (json!("deal.created"), "!crm.not_an_object"),
        // Won and lost deals, with their value (a number, or a numeric string) and currency.
        (
            deal(
                json!("deal.won"),
                json!({"amount": 48000, "currency": "eur"}),
            ),
            "deal_won ada@acme.example - 48000EUR",
        ),
        (
            deal(
                json!("deal.won"),
                json!({"amount": "1250.50", "currency": "USD"}),
            ),
            "deal_won ada@acme.example - 1250.5USD",
        ),
        (
            deal(json!("deal.won"), json!({})),
            "deal_won ada@acme.example -",
        ),
        (
            deal(
                json!("deal.lost"),
                json!({"reason": "price", "amount": 0, "currency": "GBP"}),
            ),
            "deal_lost ada@acme.example - 0GBP price",
        ),
        (
            deal(json!("deal.lost"), json!({"reason": "Too expensive!"})),
            "deal_lost ada@acme.example -",
        ),
        (
            deal(json!("deal.won"), json!({"amount": -1, "currency": "EUR"})),
            "!crm.bad_amount",
        ),
        (
            deal(json!("deal.won"), json!({"amount": 10, "currency": "euro"})),
            "!crm.bad_amount",
        ),
        (
            deal(json!("deal.won"), json!({"amount": 10})),
            "!crm.bad_amount",
        ),
        (
            deal(
                json!("deal.won"),
                json!({"amount": "lots", "currency": "EUR"}),
            ),
            "!crm.bad_amount",
        ),
    ];
    let body = Value::Array(cases.iter().map(|(i, _)| i.clone()).collect());
    let (facts, skipped) = read(intake, &body).unwrap();
    let mut facts = facts.into_iter();
    let mut skipped = skipped.into_iter().peekable();
    for (index, (_, expected)) in cases.iter().enumerate() {
        let got = match skipped.peek() {
            Some(s) if s.index == index => format!("!{}", skipped.next().unwrap().code),
            _ => {
                let f = facts.next().unwrap();
                let mut shown = format!(
                    "{} {} {}",
                    f.meaning.as_str(),
                    f.email,
                    f.domain.as_deref().unwrap_or("-")
                );
                if let Some((amount, currency)) = &f.amount {
                    shown.push_str(&format!(" {amount}{currency}"));
                }
                if let Some(reason) = &f.reason {
                    shown.push_str(&format!(" {reason}"));
                }
                shown
            }
        };
        assert_eq!(&got, expected, "item {index}");
    }
    // One object alone is one item; anything else is refused whole.
    let (one, none) = read(intake, &cases[0].0).unwrap();
    assert_eq!((one.len(), none.len()), (1, 0));
    assert_eq!(read(intake, &json!("x")).unwrap_err().code, "crm.bad_body");
    let many = Value::Array(vec![cases[0].0.clone(); MAX_ITEMS + 1]);
    assert_eq!(read(intake, &many).unwrap_err().code, "crm.too_many");
}

#[test]
fn configurations_without_crm_keep_their_bundle_version() {
    // The section's problems with their places: test_data/config_errors/crm-*.
    // A configuration without [crm] keeps its bundle version.
    let without = Bundle::from_toml(FORM).unwrap();
    assert!(!serde_json::to_string(&without.rules)
        .unwrap()
        .contains("crm"));
}

/// Regression: the person key was lowercased with Unicode rules here and with SQLite's ASCII-only
/// `lower()` in D1, so `Åsa@…` from a form never matched the CRM's `åsa@…`. One function computes
/// it, for the CRM's items and for the lead (stored with it) alike.
#[test]
fn one_person_key_for_a_lead_and_a_crm_item_whatever_the_case_of_any_letter() {
    let table = [
        // (the lead's normalized email, the CRM's spelling, person key, account key)
        (
            "Åsa@Example.com",
            "åsa@example.com",
            "email:åsa@example.com",
            Some("domain:example.com"),
        ),
        (
            "ÉLODIE@müller.de",
            "élodie@müller.de",
            "email:élodie@müller.de",
            Some("domain:müller.de"),
        ),
        (
            "Ana@northwind.example",
            "ANA@northwind.example",
            "email:ana@northwind.example",
            Some("domain:northwind.example"),
        ),
        ("nobody", "NOBODY", "email:nobody", None),
        // A free mailbox provider's domain is nobody's account.
        (
            "ana@gmail.com",
            "Ana@Gmail.com",
            "email:ana@gmail.com",
            None,
        ),
        (
            "ana@GMAIL.COM",
            "ana@gmail.com",
            "email:ana@gmail.com",
            None,
        ),
        (
            "bo@outlook.com",
            "bo@outlook.com",
            "email:bo@outlook.com",
            None,
        ),
    ];
    for (lead, crm, person, account) in table {
        let (p, a) = lead_subjects(lead);
        assert_eq!((p.as_str(), a.as_deref()), (person, account), "{lead}");
        assert_eq!(person_subject(crm), person, "{crm}");
    }
}

/// Regression: in a CRM batch every item about a contacted person was logged as a touch of their
/// lead, so a deal listed before the contact became the first touch. Only a contact touches.
#[test]
fn only_a_contact_touches_and_each_meaning_changes_its_own_facts() {
    let change = |active_deal, in_sequence, contacted| FactChange {
        active_deal,
        in_sequence,
        contacted,
    };
    let table = [
        (Meaning::DealOpened, change(Some(true), None, false)),
        (Meaning::DealClosed, change(Some(false), None, false)),
        (Meaning::SequenceStarted, change(None, Some(true), false)),
        (Meaning::SequenceEnded, change(None, Some(false), false)),
        (Meaning::Contacted, change(None, None, true)),
        (Meaning::DealWon, change(Some(false), None, false)),
        (Meaning::DealLost, change(Some(false), None, false)),
    ];
    for (meaning, expected) in table {
        assert_eq!(meaning.change(), expected, "{}", meaning.as_str());
        assert_eq!(
            meaning.is_contact(),
            expected.contacted,
            "{}",
            meaning.as_str()
        );
    }
}
