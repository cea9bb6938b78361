//! Back from the CRM as tables: HubSpot's v3 request signature (HubSpot's documented example
//! inputs, the expected values computed apart from this code with `openssl dgst -sha256 -hmac`),
//! the URI decoding it signs, the HubSpot and Salesforce presets' bodies read into changes (or
//! skipped with a code), the closed deals' batch reads (bodies, batches of 100, answers read or
//! refused), and the small rules they share: reason codes, Salesforce's 15- and 18-character
//! ids, which of a contact's leads a change is about. The presets' configuration problems are
//! fixtures in `test_data/config_errors/crm-07` on.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::crm::back::{current, in_order, our_owner, reason_code, Change, Item, Subject};
use handoff_core::crm::hubspot::{self, DealEvent, SignatureError};
use handoff_core::crm::{salesforce, Preset, Skipped};
use handoff_core::status::{advance, LeadStatus};
use handoff_core::Bundle;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[forms]]
id = "contact"
title = "Contact"
submit_label = "Send"
success_message = "Thanks"
[[forms.fields]]
id = "email"
label = "Email"
type = "email"

[routing]
fallback = "queue:inbox"
[[routing.owners]]
id = "ana"
name = "Ana"
timezone = "UTC"
[[routing.owners]]
id = "ben"
name = "Ben"
timezone = "UTC"
[[routing.queues]]
id = "inbox"
name = "Inbox"

[[crm.push]]
id = "hubspot"
target = "hubspot"
secrets = { token = "HUBSPOT_TOKEN" }
owners = { ana = "101", ben = "102", inbox = "900" }

[[crm.push]]
id = "salesforce"
target = "salesforce"
secrets = { instance_url = "SALESFORCE_URL", client_id = "SALESFORCE_ID", client_secret = "SALESFORCE_SECRET" }
owners = { ana = "005000000000001", ben = "005000000000002AAA", inbox = "00G000000000009" }
fields = { LastName = "email", Company = "email" }

[[crm.intakes]]
id = "hubspot"
preset = "hubspot"
push = "hubspot"
secret = "HUBSPOT_CLIENT_SECRET"
statuses = { IN_PROGRESS = "working", UNQUALIFIED = "rejected", customer = "won" }

[[crm.intakes]]
id = "salesforce"
preset = "salesforce"
push = "salesforce"
secret = "SALESFORCE_FLOW_TOKEN"
statuses = { "Working - Contacted" = "working", "Closed - Not Converted" = "rejected" }
"#;

const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
const BODY: &str = r#"{"example_field":"example_value"}"#;

#[test]
fn the_v3_signature_of_a_request() {
    // (secret, method, uri as called, body, timestamp, X-HubSpot-Signature-v3)
    let table = [
        // The inputs of HubSpot's v2 example (its guide gives no v3 vector), with a timestamp.
        (
            SECRET,
            "POST",
            "https://www.example.com/webhook_uri",
            BODY,
            "1564113600000",
            "eT0ip2TKVpsIi1vb5C2Uu42eNdHL+oTE3NRZOF67O2U=",
        ),
        (
            SECRET,
            "GET",
            "https://www.example.com/webhook_uri",
            "",
            "1564113600000",
            "Gkm1X/9XKW8USz3+Zmf3yrn0IrT/aQ596p5Jt9o7xsY=",
        ),
        // The twelve characters HubSpot decodes are signed decoded (either case of hex digit);
        // `%20` is not one of them and is signed as sent.
        (
            "client-secret",
            "POST",
            "https://handoff.example/v1/crm/hubspot?next=https%3A%2f%2Fx.example%2Fa%28b%29%2A%2Cc%3Bd%40e%21%24f%20g",
            r#"[{"objectId":1}]"#,
            "1795300000000",
            "5SLJ6LlbXlImS5T40qNpBjvujJk9XOIiDaSRcVU5ZYA=",
        ),
    ];
    for (secret, method, uri, body, timestamp, expected) in table {
        let got = hubspot::signature(secret.as_bytes(), method, uri, body, timestamp);
        assert_eq!(got, expected, "{method} {uri}");
        let now = timestamp.parse::<i64>().unwrap();
        let ok = hubspot::verify(
            secret.as_bytes(),
            method,
            uri,
            body,
            Some(timestamp),
            Some(expected),
            now,
        );
        assert_eq!(ok, Ok(()), "{method} {uri}");
    }
}

#[test]
fn the_uri_decodes_only_what_hubspot_decodes() {
    let table = [
        ("https://a.example/x", "https://a.example/x"),
        (
            "https://a.example/x?u=%3A%2F%3F%40",
            "https://a.example/x?u=:/?@",
        ),
        ("%21%24%27%28%29%2A%2C%3B", "!$'()*,;"),
        ("%2a%2c%3b%3a", "*,;:"),
        ("%20%25%2B%3D%26", "%20%25%2B%3D%26"),
        // A decoded character never starts another encoding; a lone % stays.
        ("%253A", "%253A"),
        ("100%", "100%"),
        ("%3", "%3"),
    ];
    for (uri, decoded) in table {
        assert_eq!(hubspot::decode_uri(uri), decoded, "{uri}");
    }
}

#[test]
fn a_request_is_refused_when_unsigned_tampered_or_stale() {
    let uri = "https://handoff.example/v1/crm/hubspot";
    let at = 1_795_300_000_000_i64;
    let ts = at.to_string();
    let good = hubspot::signature(SECRET.as_bytes(), "POST", uri, BODY, &ts);
    let minutes = |m: i64| at + m * 60_000;
    // (secret, uri, body, timestamp, signature, now) → result
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        i64,
        Result<(), SignatureError>,
    );
    let table: [Case<'_>; 11] = [
        (SECRET, uri, BODY, Some(&ts), Some(&good), at, Ok(())),
        (
            SECRET,
            uri,
            BODY,
            Some(&ts),
            Some(&good),
            minutes(5),
            Ok(()),
        ),
        (
            SECRET,
            uri,
            BODY,
            Some(&ts),
            Some(&good),
            minutes(-5),
            Ok(()),
        ),
        (
            SECRET,
            uri,
            BODY,
            Some(&ts),
            Some(&good),
            minutes(5) + 1,
            Err(SignatureError::Stale),
        ),
        (
            SECRET,
            uri,
            BODY,
            Some(&ts),
            Some(&good),
            minutes(-6),
            Err(SignatureError::Stale),
        ),
        (
            SECRET,
            uri,
            BODY,
            None,
            Some(&good),
            at,
            Err(SignatureError::Unsigned),
        ),
        (
            SECRET,
            uri,
            BODY,
            Some(&ts),
            None,
            at,
            Err(SignatureError::Unsigned),
        ),
        (
            "another-secret",
            uri,
            BODY,
            Some(&ts),
            Some(&good),
            at,
            Err(SignatureError::BadSignature),
        ),
        (
            SECRET,
            "https://handoff.example/v1/crm/other",
            BODY,
            Some(&ts),
            Some(&good),
            at,
            Err(SignatureError::BadSignature),
        ),
        (
            SECRET,
            uri,
            r#"{"example_field":"other"}"#,
            Some(&ts),
            Some(&good),
            at,
            Err(SignatureError::BadSignature),
        ),
        (
            SECRET,
            uri,
            BODY,
            Some(&ts),
            Some("not base64!"),
            at,
            Err(SignatureError::BadSignature),
        ),
    ];
    for (i, (secret, uri, body, timestamp, signature, now, expected)) in
        table.into_iter().enumerate()
    {
        let got = hubspot::verify(
            secret.as_bytes(),
            "POST",
            uri,
            body,
            timestamp,
            signature,
            now,
        );
        assert_eq!(got, expected, "case {i}");
    }
    // A timestamp moved with the signature left as it was no longer matches.
    let later = (at + 1).to_string();
    let got = hubspot::verify(
        SECRET.as_bytes(),
        "POST",
        uri,
        BODY,
        Some(&later),
        Some(&good),
        at,
    );
    assert_eq!(got, Err(SignatureError::BadSignature));
    let codes: Vec<&str> = SignatureError::ALL.iter().map(|e| e.code()).collect();
    assert_eq!(
        codes,
        ["hubspot.unsigned", "hubspot.bad_signature", "hubspot.stale"]
    );
}

/// An item as the tables below write it: `index@subject change`.
fn shown(item: &Item) -> String {
    let subject = match &item.subject {
        Subject::Record(id) => format!("record:{id}"),
        Subject::Lead(id) => format!("lead:{id}"),
    };
    let change = match &item.change {
        Change::Owner { ours, theirs } => format!("owner {ours} ({theirs})"),
        Change::Status { to, value, reason } => {
            format!("status {} ({value}, {reason})", to.as_str())
        }
        Change::Close {
            won,
            amount,
            reason,
        } => {
            let mut s = (if *won { "won" } else { "lost" }).to_owned();
            if let Some((a, c)) = amount {
                s.push_str(&format!(" {a}{c}"));
            }
            if let Some(r) = reason {
                s.push_str(&format!(" {r}"));
            }
            s
        }
    };
    format!("{}@{subject} {change}", item.index)
}

fn skipped(s: &[Skipped]) -> Vec<String> {
    s.iter()
        .map(|s| format!("{}!{}", s.index, s.code))
        .collect()
}

fn event(kind: &str, object: Value, property: &str, value: &str, at: i64) -> Value {
    json!({
        "eventId": 1, "subscriptionId": 2, "portalId": 3, "appId": 4, "occurredAt": at,
        "subscriptionType": kind, "attemptNumber": 0, "objectId": object,
        "propertyName": property, "propertyValue": value, "changeSource": "CRM_UI",
    })
}

#[test]
fn hubspot_events_become_changes_deals_to_read_or_skips() {
    let bundle = Bundle::from_toml(CONFIG).unwrap();
    let crm = &bundle.rules.crm;
    let intake = crm.intake("hubspot").unwrap();
    assert_eq!(intake.preset, Some(Preset::Hubspot));
    let push = intake.push_in(crm).unwrap();
    let c = "contact.propertyChange";
    let body = json!([
        event(c, json!(501), "hubspot_owner_id", "102", 30),
        event(c, json!(502), "hubspot_owner_id", "777", 10),
        event(c, json!(503), "hs_lead_status", "IN_PROGRESS", 20),
        event(c, json!(504), "hs_lead_status", "NEW", 40),
        event(c, json!(505), "lifecyclestage", "customer", 50),
        event(c, json!("506"), "hs_lead_status", "UNQUALIFIED", 5),
        event(c, json!(507), "firstname", "Ada", 60),
        event(
            "deal.propertyChange",
            json!(9001),
            "dealstage",
            "closedwon",
            70
        ),
        event(
            "deal.propertyChange",
            json!(9002),
            "dealstage",
            "closedlost",
            80
        ),
        event(
            "deal.propertyChange",
            json!(9003),
            "dealstage",
            "presentationscheduled",
            90
        ),
        event("contact.creation", json!(508), "", "", 100),
        event(c, json!(null), "hubspot_owner_id", "101", 110),
        event(c, json!("50x"), "hs_lead_status", "IN_PROGRESS", 120),
        json!("not an event"),
        json!({"objectId": 1}),
        event(c, json!(509), "hubspot_owner_id", "", 130),
    ]);
    let mut read = hubspot::read(intake, push, &body).unwrap();
    in_order(&mut read.items);
    let items: Vec<String> = read.items.iter().map(shown).collect();
    assert_eq!(
        items,
        [
            "5@record:506 status rejected (UNQUALIFIED, unqualified)",
            "2@record:503 status working (IN_PROGRESS, in_progress)",
            "0@record:501 owner ben (102)",
            "4@record:505 status won (customer, customer)",
        ]
    );
    assert_eq!(
        read.deals,
        [
            DealEvent {
                index: 7,
                occurred_at: 70,
                deal_id: "9001".into(),
                won: true
            },
            DealEvent {
                index: 8,
                occurred_at: 80,
                deal_id: "9002".into(),
                won: false
            },
        ]
    );
    assert_eq!(
        skipped(&read.skipped),
        [
            "1!crm.unmapped_owner",
            "3!crm.unmapped_status",
            "6!crm.unknown_event",
            "9!crm.unknown_event",
            "10!crm.unknown_event",
            "11!crm.missing_record",
            "12!crm.missing_record",
            "13!crm.not_an_object",
            "14!crm.missing_event",
            "15!crm.unmapped_owner",
        ]
    );
    // Another status property: hs_lead_status is then an ordinary property.
    let mut other = intake.clone();
    other.status_property = Some("lead_stage".into());
    let body = json!([
        event(c, json!(1), "lead_stage", "IN_PROGRESS", 0),
        event(c, json!(1), "hs_lead_status", "IN_PROGRESS", 0),
    ]);
    let read = hubspot::read(&other, push, &body).unwrap();
    assert_eq!(
        (read.items.len(), skipped(&read.skipped)),
        (1, vec!["1!crm.unknown_event".to_owned()])
    );
}

/// One deal as HubSpot's deals batch read answers it.
fn deal_result(id: &str, properties: Value) -> Value {
    json!({
        "id": id, "archived": false, "createdAt": "2026-12-01T10:00:00Z",
        "updatedAt": "2026-12-06T10:00:00Z", "properties": properties,
    })
}

/// One deal's contacts as HubSpot's v4 associations batch read answers them.
fn contacts_result(id: &str, contacts: &[&str]) -> Value {
    let to: Vec<Value> = contacts
        .iter()
        .map(|c| json!({"toObjectId": c, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3, "label": null}]}))
        .collect();
    json!({"from": {"id": id}, "to": to})
}

fn batch(results: Vec<Value>, errors: Vec<Value>) -> Value {
    let mut body = json!({
        "status": "COMPLETE", "results": results,
        "startedAt": "2026-12-06T10:00:00Z", "completedAt": "2026-12-06T10:00:01Z",
    });
    if !errors.is_empty() {
        body["numErrors"] = json!(errors.len());
        body["errors"] = json!(errors);
    }
    body
}

fn not_found(ids: &[&str]) -> Value {
    json!({"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get some DEAL objects, they may be deleted or not exist.", "context": {"ids": ids}, "errors": [], "links": {}})
}

fn deal_event(id: &str, won: bool) -> DealEvent {
    DealEvent {
        index: 0,
        occurred_at: 0,
        deal_id: id.into(),
        won,
    }
}

#[test]
fn a_closed_deal_closes_its_contacts_leads_with_its_value() {
    let two = ["502", "501", "502"];
    // (won, properties (None: HubSpot no longer has the deal), contacts) → `contacts change` or `!code`
    let table: [(bool, Option<Value>, &[&str], &str); 11] = [
        (
            true,
            Some(
                json!({"amount": "1200.50", "deal_currency_code": "EUR", "dealstage": "closedwon"}),
            ),
            &two,
            "501,502 won 1200.5EUR",
        ),
        (
            true,
            Some(json!({"amount": "1200", "deal_currency_code": null, "dealstage": "closedwon"})),
            &two,
            "501,502 won",
        ),
        (
            true,
            Some(json!({"amount": "", "deal_currency_code": "usd", "dealstage": "closedwon"})),
            &two,
            "501,502 won",
        ),
        (
            false,
            Some(json!({"amount": "300", "deal_currency_code": "usd", "dealstage": "closedlost"})),
            &["7"],
            "7 lost 300USD",
        ),
        (
            true,
            Some(json!({"dealstage": "closedwon"})),
            &two,
            "501,502 won",
        ),
        (
            true,
            Some(json!({"amount": "a lot", "deal_currency_code": "EUR"})),
            &two,
            "!crm.bad_amount",
        ),
        (
            true,
            Some(json!({"amount": "10", "deal_currency_code": "EUR", "dealstage": "contractsent"})),
            &two,
            "!crm.stale_event",
        ),
        (
            false,
            Some(json!({"amount": "10", "deal_currency_code": "EUR", "dealstage": "closedwon"})),
            &two,
            "!crm.stale_event",
        ),
        (
            true,
            Some(json!({"amount": "10", "deal_currency_code": "EUR"})),
            &[],
            "!crm.unknown_record",
        ),
        (true, None, &two, "!crm.unknown_deal"),
        (false, None, &[], "!crm.unknown_deal"),
    ];
    for (i, (won, properties, contacts, expected)) in table.into_iter().enumerate() {
        let mut read = hubspot::Deals::default();
        let (deals, errors) = match properties {
            Some(p) => (vec![deal_result("9001", p)], vec![]),
            None => (vec![], vec![not_found(&["9001"])]),
        };
        let status = if errors.is_empty() { 200 } else { 207 };
        hubspot::read_deals(status, &batch(deals, errors), &mut read).unwrap();
        let associations = if contacts.is_empty() {
            batch(vec![], vec![not_found(&["9001"])])
        } else {
            batch(vec![contacts_result("9001", contacts)], vec![])
        };
        hubspot::read_contacts(200, &associations, &mut read).unwrap();
        let got = match hubspot::closed_deal(&deal_event("9001", won), &read) {
            Ok((contacts, change)) => {
                let item = Item {
                    index: 0,
                    occurred_at: 0,
                    subject: Subject::Record(contacts.join(",")),
                    change,
                };
                shown(&item).trim_start_matches("0@record:").to_owned()
            }
            Err(code) => format!("!{code}"),
        };
        assert_eq!(got, expected, "case {i}");
    }
}

#[test]
fn closed_deals_are_read_in_batches_of_a_hundred() {
    let events: Vec<DealEvent> = (0..250)
        .map(|i| deal_event(&(9000 + i % 230).to_string(), i % 2 == 0))
        .collect();
    let batches = hubspot::deal_batches(&events);
    // 230 distinct deals (20 named twice): 100, 100, 30, each id once, in the order first named.
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        [100, 100, 30]
    );
    let all: Vec<&str> = batches.concat();
    let expected: Vec<String> = (9000..9230).map(|i| i.to_string()).collect();
    assert_eq!(all, expected);
    assert!(hubspot::deal_batches(&[]).is_empty());
    assert_eq!(
        hubspot::deal_batches(&[deal_event("1", true), deal_event("1", false)]),
        [vec!["1"]]
    );

    assert_eq!(hubspot::DEALS_READ, "/crm/v3/objects/0-3/batch/read");
    assert_eq!(
        hubspot::DEAL_CONTACTS_READ,
        "/crm/v4/associations/0-3/0-1/batch/read"
    );
    assert_eq!(
        hubspot::deals_read_body(&["9001", "9002"]),
        json!({
            "inputs": [{"id": "9001"}, {"id": "9002"}],
            "properties": ["amount", "deal_currency_code", "dealstage"],
            "propertiesWithHistory": [],
        })
    );
    assert_eq!(
        hubspot::contacts_read_body(&["9001", "9002"]),
        json!({"inputs": [{"id": "9001"}, {"id": "9002"}]})
    );
}

#[test]
fn batch_answers_are_read_or_refuse_the_request() {
    use hubspot::Unread;
    let found = || {
        batch(
            vec![deal_result(
                "9001",
                json!({"dealstage": "closedwon", "amount": null}),
            )],
            vec![],
        )
    };
    let other_error = json!({"status": "error", "category": "RATE_LIMITS", "message": "slow down", "context": {}, "errors": [], "links": {}});
    // (status, body) → the deals read, or why not.
    let table: Vec<(u16, Value, Result<&str, Unread>)> = vec![
        (200, found(), Ok("9001")),
        (
            207,
            batch(
                vec![deal_result("9001", json!({"dealstage": "closedwon"}))],
                vec![not_found(&["9404"])],
            ),
            Ok("9001"),
        ),
        (207, batch(vec![], vec![not_found(&["9404"])]), Ok("")),
        (
            404,
            json!({"status": "error", "category": "OBJECT_NOT_FOUND", "message": "not found"}),
            Ok(""),
        ),
        (
            404,
            json!({"status": "error", "category": "NOT_FOUND", "message": "no such path"}),
            Err(Unread::Status(404)),
        ),
        (
            401,
            json!({"category": "INVALID_AUTHENTICATION"}),
            Err(Unread::Status(401)),
        ),
        (429, Value::Null, Err(Unread::Status(429))),
        (500, found(), Err(Unread::Status(500))),
        (
            207,
            batch(vec![], vec![not_found(&["1"]), other_error.clone()]),
            Err(Unread::Error("RATE_LIMITS".into())),
        ),
        (
            207,
            batch(vec![], vec![json!({"message": "?"})]),
            Err(Unread::Malformed),
        ),
        (200, json!({"status": "COMPLETE"}), Err(Unread::Malformed)),
        (200, Value::Null, Err(Unread::Malformed)),
        (
            200,
            batch(vec![json!({"properties": {}})], vec![]),
            Err(Unread::Malformed),
        ),
    ];
    for (i, (status, body, expected)) in table.into_iter().enumerate() {
        let mut read = hubspot::Deals::default();
        let got = hubspot::read_deals(status, &body, &mut read).map(|()| {
            read.properties
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        });
        assert_eq!(got, expected.map(str::to_owned), "deals case {i}");
        // The associations read refuses the same answers.
        if got.is_err() {
            let mut read = hubspot::Deals::default();
            assert!(
                hubspot::read_contacts(status, &body, &mut read).is_err(),
                "contacts case {i}"
            );
        }
    }
    // Null properties are absent; batches add up.
    let mut read = hubspot::Deals::default();
    hubspot::read_deals(200, &found(), &mut read).unwrap();
    assert_eq!(read.properties["9001"].get("amount"), None);
    let two = batch(
        vec![
            contacts_result("9001", &["501"]),
            contacts_result("9002", &["7", "8"]),
        ],
        vec![],
    );
    hubspot::read_contacts(200, &two, &mut read).unwrap();
    hubspot::read_contacts(
        200,
        &batch(vec![contacts_result("9001", &["502"])], vec![]),
        &mut read,
    )
    .unwrap();
    let contacts = |id: &str| read.contacts[id].iter().cloned().collect::<Vec<_>>();
    assert_eq!(
        (contacts("9001"), contacts("9002")),
        (
            vec!["501".to_owned(), "502".to_owned()],
            vec!["7".to_owned(), "8".to_owned()]
        )
    );
    // An association without the deal's id is not HubSpot's shape.
    let bad = batch(vec![json!({"to": []})], vec![]);
    assert_eq!(
        hubspot::read_contacts(200, &bad, &mut read),
        Err(Unread::Malformed)
    );
}

#[test]
fn salesforce_flow_items_become_changes_or_skips() {
    let bundle = Bundle::from_toml(CONFIG).unwrap();
    let crm = &bundle.rules.crm;
    let intake = crm.intake("salesforce").unwrap();
    let push = intake.push_in(crm).unwrap();
    let lead = "3f1c9b1e-0000-4000-8000-000000000001";
    let body = json!([
        {"event": "owner_changed", "lead_id": lead, "owner_id": "005000000000001AAA"},
        {"event": "owner_changed", "lead_id": lead, "owner_id": "005000000000002"},
        {"event": "owner_changed", "lead_id": lead, "owner_id": "00G000000000009XYZ"},
        {"event": "owner_changed", "lead_id": lead, "owner_id": "005000000000003AAA"},
        {"event": "status_changed", "lead_id": lead, "status": "Working - Contacted"},
        {"event": "status_changed", "lead_id": lead, "status": "Closed - Not Converted"},
        {"event": "status_changed", "lead_id": lead, "status": "Open - Not Contacted"},
        {"event": "won", "lead_id": lead, "amount": 1200, "currency": "eur"},
        {"event": "won", "lead_id": lead},
        {"event": "lost", "lead_id": lead, "amount": "300", "currency": "USD", "reason": "no_budget"},
        {"event": "lost", "lead_id": lead, "reason": "Too expensive!"},
        {"event": "won", "lead_id": lead, "amount": 1200},
        {"event": "won", "lead_id": lead, "amount": -5, "currency": "EUR"},
        {"event": "converted", "lead_id": lead},
        {"lead_id": lead},
        {"event": "won"},
        {"event": "owner_changed", "lead_id": lead},
        [1, 2],
    ]);
    let (items, skips) = salesforce::read(intake, push, &body).unwrap();
    let items: Vec<String> = items.iter().map(shown).collect();
    let l = format!("lead:{lead}");
    assert_eq!(
        items,
        [
            format!("0@{l} owner ana (005000000000001AAA)"),
            format!("1@{l} owner ben (005000000000002)"),
            format!("2@{l} owner inbox (00G000000000009XYZ)"),
            format!("4@{l} status working (Working - Contacted, working_contacted)"),
            format!("5@{l} status rejected (Closed - Not Converted, closed_not_converted)"),
            format!("7@{l} won 1200EUR"),
            format!("8@{l} won"),
            format!("9@{l} lost 300USD no_budget"),
            format!("10@{l} lost"),
        ]
    );
    assert_eq!(
        skipped(&skips),
        [
            "3!crm.unmapped_owner",
            "6!crm.unmapped_status",
            "11!crm.bad_amount",
            "12!crm.bad_amount",
            "13!crm.unknown_event",
            "14!crm.missing_event",
            "15!crm.missing_lead",
            "16!crm.unmapped_owner",
            "17!crm.not_an_object",
        ]
    );
    // One object alone is one item; anything else is refused whole.
    let (one, _) = salesforce::read(intake, push, &body[7]).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(
        salesforce::read(intake, push, &json!(7)).unwrap_err().code,
        "crm.bad_body"
    );
}

#[test]
fn each_change_asks_the_state_machine_for_its_move() {
    let status = |to, value: &str| Change::Status {
        to,
        value: value.into(),
        reason: reason_code(value),
    };
    let close = |won, reason: Option<&str>| Change::Close {
        won,
        amount: None,
        reason: reason.map(Into::into),
    };
    // (change, the lead's status) → the status after, or the state machine's code; contact?
    let table = [
        (
            status(LeadStatus::Working, "IN_PROGRESS"),
            LeadStatus::New,
            "working",
            true,
        ),
        (
            status(LeadStatus::Working, "IN_PROGRESS"),
            LeadStatus::Meeting,
            "meeting",
            true,
        ),
        (
            status(LeadStatus::Accepted, "ATTEMPTED"),
            LeadStatus::New,
            "accepted",
            false,
        ),
        (
            status(LeadStatus::Rejected, "UNQUALIFIED"),
            LeadStatus::Working,
            "rejected",
            false,
        ),
        (
            status(LeadStatus::Rejected, "UNQUALIFIED"),
            LeadStatus::Won,
            "status.closed",
            false,
        ),
        (
            status(LeadStatus::Recycled, "Nurture"),
            LeadStatus::Rejected,
            "recycled",
            false,
        ),
        (
            status(LeadStatus::Won, "customer"),
            LeadStatus::Opportunity,
            "won",
            true,
        ),
        (close(true, None), LeadStatus::Accepted, "won", false),
        (
            close(false, Some("no_budget")),
            LeadStatus::New,
            "lost",
            false,
        ),
        (close(false, None), LeadStatus::Lost, "status.closed", false),
    ];
    for (i, (change, from, expected, contact)) in table.into_iter().enumerate() {
        let step = change.step().unwrap();
        let got = match advance(from, &step) {
            Ok(moved) => moved.to.as_str().to_owned(),
            Err(code) => code.as_str().to_owned(),
        };
        assert_eq!(
            (got.as_str(), change.is_contact()),
            (expected, contact),
            "case {i}"
        );
    }
    let owner = Change::Owner {
        ours: "ana".into(),
        theirs: "101".into(),
    };
    assert!(owner.step().is_none() && !owner.is_contact());
}

#[test]
fn reason_codes_ids_and_the_current_lead() {
    for (value, code) in [
        ("UNQUALIFIED", "unqualified"),
        ("Closed - Not Converted", "closed_not_converted"),
        ("  bad--fit  ", "bad_fit"),
        ("42", "unspecified"),
        ("", "unspecified"),
        ("Ünqualifiziert", "nqualifiziert"),
    ] {
        assert_eq!(reason_code(value), code, "{value:?}");
    }
    assert_eq!(reason_code(&"x".repeat(100)).len(), 64);
    let bundle = Bundle::from_toml(CONFIG).unwrap();
    let crm = &bundle.rules.crm;
    let sf = crm.intake("salesforce").unwrap().push_in(crm).unwrap();
    let hs = crm.intake("hubspot").unwrap().push_in(crm).unwrap();
    // Salesforce ids match on their case-sensitive 15 characters, in 15 or 18; HubSpot's exactly.
    for (push, theirs, ours) in [
        (sf, "005000000000001", Some("ana")),
        (sf, "005000000000001ZZZ", Some("ana")),
        (sf, "005000000000002", Some("ben")),
        (sf, "005000000000002AAA", Some("ben")),
        (sf, "005000000000002aaa", Some("ben")),
        (sf, "005000000000001A", None),
        (sf, "005O00000000001", None),
        (hs, "101", Some("ana")),
        (hs, "1010", None),
        (hs, "", None),
    ] {
        assert_eq!(our_owner(push, theirs), ours, "{theirs}");
    }
    // (status, created_at) of a contact's leads → the one a change is about.
    let open = |s| Some(s);
    for (leads, expected) in [
        (vec![], None),
        (vec![(open(LeadStatus::Won), 1.0)], Some(0)),
        (
            vec![
                (open(LeadStatus::Working), 1.0),
                (open(LeadStatus::Won), 2.0),
            ],
            Some(0),
        ),
        (
            vec![
                (open(LeadStatus::New), 1.0),
                (open(LeadStatus::Accepted), 2.0),
            ],
            Some(1),
        ),
        (
            vec![(open(LeadStatus::Lost), 1.0), (open(LeadStatus::Won), 2.0)],
            Some(1),
        ),
        (vec![(None, 3.0), (open(LeadStatus::Lost), 1.0)], Some(0)),
    ] {
        assert_eq!(current(&leads), expected, "{leads:?}");
    }
}

#[test]
fn intakes_written_before_presets_keep_their_bundle() {
    // A pointer intake serializes with none of the preset's keys, so its bundle (and version)
    // is what it was before presets existed.
    let text = r#"
[[forms]]
id = "contact"
title = "Contact"
submit_label = "Send"
success_message = "Thanks"
[[forms.fields]]
id = "email"
label = "Email"
type = "email"
[[crm.intakes]]
id = "crm"
secret = "CRM_TOKEN"
email = "/person/email"
event = "/type"
[crm.intakes.events]
"email.sent" = "contacted"
"#;
    let json = serde_json::to_value(&Bundle::from_toml(text).unwrap().rules).unwrap();
    assert_eq!(
        json["crm"]["intakes"][0],
        json!({"id": "crm", "secret": "CRM_TOKEN", "email": "/person/email", "event": "/type",
               "events": {"email.sent": "contacted"}})
    );
}
