//! What erasing a person leaves of their data (`DELETE /v1/people/{email}`): the rules that say
//! which parts of a stored lead, event, archived line or attribution are personal, and what each
//! looks like once anonymized. The Worker reads the copies and writes these results back; it
//! decides nothing itself, so the live rows and the archive's lines are anonymized alike.
//!
//! What stays is what the reports, routing counts and SLA history read, none of which names the
//! person: status, owner, form, score and its breakdown, grade, lifecycle, times, outcomes and
//! deal values, the coarse place (country and region codes, job function and seniority) and the
//! campaign (UTM source, medium and campaign, the referring site's origin). Everything the
//! visitor typed or the browser observed of them goes: every answer, free text, the email, the
//! visitor token, pages viewed, consent text, the CRM's facts about them, sales notes.

use serde_json::{Map, Value};

use crate::attribution::{Attribution, Utm};
use crate::metrics::READS;

/// What replaces a text that held the person's data.
pub const ERASED: &str = "[erased]";

/// The shortest answer searched for in free text: shorter ones ("no", "DE") are not personal on
/// their own and would match everywhere.
pub const MIN_NEEDLE_CHARS: usize = 4;

/// Keys whose values are personal wherever they appear in an event's detail or a message: the
/// answers and what was observed of the visitor, and the free text people write about them.
pub const PERSONAL_KEYS: [&str; 18] = [
    "answers",
    "attribution",
    "consent",
    "email",
    "name",
    "phone",
    "company",
    "note",
    "unknown",
    "visitor",
    "activity",
    "referrer",
    "landing_page",
    "pages",
    "company_key",
    "learned",
    "inputs",
    "summary",
];

/// The keys of a lead's stored evaluation that are personal: answers to questions the form does
/// not have (as sent), the company's match key (from the company answer), and which earlier lead
/// each answer was learned from. The rest (score, disqualification, visible fields, email flags,
/// country, region, function, seniority) is what the reports group by.
pub const EVALUATION_KEYS: [&str; 3] = ["unknown", "company_key", "learned"];

/// The texts to search a person's free text for: their email, and each text answer of at least
/// [`MIN_NEEDLE_CHARS`] characters, lowercased (`answers`: the stored answers object). Choices and
/// yes/no answers are the form's own words, not the person's.
pub fn needles(email: Option<&str>, answers: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let texts = answers
        .as_object()
        .into_iter()
        .flat_map(Map::values)
        .filter_map(Value::as_str);
    for text in email.into_iter().chain(texts) {
        let text = text.trim().to_lowercase();
        if text.chars().count() >= MIN_NEEDLE_CHARS && !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

/// Removes the personal keys of `value` at any depth and, when `texts`, replaces every string
/// holding one of `needles` by [`ERASED`]. Whether anything changed.
pub fn scrub(value: &mut Value, needles: &[String], texts: bool) -> bool {
    match value {
        Value::Object(map) => {
            let before = map.len();
            map.retain(|k, _| !PERSONAL_KEYS.contains(&k.as_str()));
            let mut changed = map.len() != before;
            for v in map.values_mut() {
                changed |= scrub(v, needles, texts);
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| scrub(v, needles, texts) | changed),
        Value::String(s) if texts && s != ERASED => {
            let lower = s.to_lowercase();
            if needles.iter().any(|n| lower.contains(n.as_str())) {
                *s = ERASED.to_owned();
                true
            } else {
                false
            }
        }
        _ => false,
    }
}

/// An event's detail anonymized; whether it changed. The kinds the reports read
/// ([`READS`]: outcomes, status changes, clocks) keep their codes, amounts and times and lose
/// only their personal keys (a note); every other kind also loses each text that holds the
/// person's data.
pub fn event_detail(kind: &str, detail: &mut Value, needles: &[String]) -> bool {
    let counted = READS.iter().any(|k| k.as_str() == kind);
    scrub(detail, needles, !counted)
}

/// A lead's attribution anonymized: the campaign (UTM source, medium, campaign) and the
/// referring site's origin, which the reports group by; no pages, landing page, consent, visits
/// or times.
pub fn attribution(a: &Attribution) -> Attribution {
    Attribution {
        utm: Utm {
            source: a.utm.source.clone(),
            medium: a.utm.medium.clone(),
            campaign: a.utm.campaign.clone(),
            term: None,
            content: None,
        },
        referrer: a.referrer.as_deref().and_then(origin),
        ..Attribution::default()
    }
}

/// `scheme://host/` of a URL (no credentials, port kept), or `None` if it has no host.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    (!scheme.is_empty() && !host.is_empty()).then(|| format!("{scheme}://{host}/"))
}

/// A lead's stored evaluation without its personal keys ([`EVALUATION_KEYS`]); whether it
/// changed.
pub fn evaluation(value: &mut Value) -> bool {
    let Some(map) = value.as_object_mut() else {
        return false;
    };
    let before = map.len();
    map.retain(|k, _| !EVALUATION_KEYS.contains(&k.as_str()));
    map.len() != before
}

/// A stored attribution's JSON text anonymized (`None`, or text this Worker did not write: none).
pub fn attribution_text(text: Option<&str>) -> Option<String> {
    let a: Attribution = serde_json::from_str(text?).ok()?;
    serde_json::to_string(&attribution(&a)).ok()
}

/// One line of the archive's `leads/` files (the replayable export's line) anonymized: no
/// answers, activity, visitor or CRM facts, the attribution as [`attribution`] leaves it; the
/// outcome stays. Whether it changed.
pub fn export_line(line: &mut Value) -> bool {
    let Some(map) = line.as_object_mut() else {
        return false;
    };
    let before = map.clone();
    map.insert("answers".into(), Value::Object(Map::new()));
    map.insert("activity".into(), Value::Array(Vec::new()));
    map.insert("visitor".into(), Value::Null);
    map.insert("facts".into(), Value::Null);
    let redacted = serde_json::from_value::<Attribution>(map["attribution"].clone())
        .ok()
        .and_then(|a| serde_json::to_value(attribution(&a)).ok())
        .unwrap_or_else(|| Value::Object(Map::new()));
    map.insert("attribution".into(), redacted);
    *map != before
}

/// One line of the archive's `events/` files (a metrics record, `{…, events: [{kind, detail}]}`)
/// anonymized event by event as [`event_detail`] says; whether it changed.
pub fn record_line(line: &mut Value, needles: &[String]) -> bool {
    let Some(events) = line.get_mut("events").and_then(Value::as_array_mut) else {
        return false;
    };
    let mut changed = false;
    for event in events {
        let kind = event["kind"].as_str().unwrap_or_default().to_owned();
        if let Some(detail) = event.get_mut("detail") {
            changed |= event_detail(&kind, detail, needles);
        }
    }
    changed
}

/// One line of the archive's `log/` files (`{lead_id, seq, at, kind, actor, detail}`)
/// anonymized as [`event_detail`] says; whether it changed.
pub fn log_line(line: &mut Value, needles: &[String]) -> bool {
    let kind = line["kind"].as_str().unwrap_or_default().to_owned();
    line.get_mut("detail")
        .is_some_and(|detail| event_detail(&kind, detail, needles))
}

/// The archive index's name for a person (`person_key`: `crm::person_subject` of their email):
/// HMAC-SHA-256 under the Worker's key, hex, so the index names nobody to whoever reads it.
pub fn person_hash(key: &[u8], person_key: &str) -> String {
    crate::encode::hex(&crate::client::hmac(key, person_key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn needles_are_the_email_and_long_text_answers_lowercased() {
        let answers = json!({"name": "Ana Souza", "size": "51-200", "country": "BR",
            "topics": ["pricing"], "consent": true, "email": "Ana@Example.com"});
        assert_eq!(
            needles(Some("ana@example.com"), &answers),
            ["ana@example.com", "ana souza", "51-200"]
        );
        assert!(needles(None, &json!(null)).is_empty());
    }

    /// (kind, detail before, detail after): reports' kinds keep their codes and texts, others
    /// lose every text naming the person; personal keys go from both.
    #[test]
    fn event_details_lose_personal_keys_and_texts() {
        let needles = vec!["ana@example.com".to_owned(), "ana souza".to_owned()];
        let table = [
            (
                "created",
                json!({"answers": {"name": "Ana Souza"}, "bundle_version": "v1", "score": 40}),
                json!({"bundle_version": "v1", "score": 40}),
            ),
            (
                "routed",
                json!({"why": "Ana Souza matched rule enterprise", "rule": "enterprise"}),
                json!({"why": ERASED, "rule": "enterprise"}),
            ),
            (
                "outcome",
                json!({"outcome": "won", "amount": 10.0, "currency": "EUR",
                       "note": "called ana@example.com", "actor": "maria"}),
                json!({"outcome": "won", "amount": 10.0, "currency": "EUR", "actor": "maria"}),
            ),
            (
                "status_changed",
                json!({"from": "new", "to": "accepted", "via": "link"}),
                json!({"from": "new", "to": "accepted", "via": "link"}),
            ),
            (
                "notified",
                json!({"channel": "sales", "items": [{"email": "ana@example.com"}]}),
                json!({"channel": "sales", "items": [{}]}),
            ),
        ];
        for (kind, mut detail, expected) in table {
            let changed = event_detail(kind, &mut detail, &needles);
            assert_eq!(detail, expected, "{kind}");
            assert_eq!(changed, kind != "status_changed", "{kind}");
        }
    }

    #[test]
    fn attribution_keeps_the_campaign_and_the_referring_origin() {
        let a: Attribution = serde_json::from_value(json!({
            "utm": {"source": "google", "medium": "cpc", "campaign": "spring", "term": "ana",
                    "content": "x"},
            "referrer": "https://user:pw@www.news.example:8443/a/ana?q=ana#top",
            "landing_page": "https://acme.example/?email=ana@example.com",
            "pages": [{"url": "https://acme.example/pricing", "at_ms": 1}],
            "visits": 3, "first_seen_ms": 5,
            "consent": {"field": "c", "text": "I agree", "version": "1", "given": true}
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(attribution(&a)).unwrap(),
            json!({"utm": {"source": "google", "medium": "cpc", "campaign": "spring"},
                   "referrer": "https://www.news.example:8443/"})
        );
        assert_eq!(attribution_text(Some("not json")), None);
        assert_eq!(attribution_text(Some("{}")).as_deref(), Some("{}"));
    }

    #[test]
    fn origins() {
        let table = [
            ("https://a.example/x?y", Some("https://a.example/")),
            ("http://a.example", Some("http://a.example/")),
            ("https://u@a.example#f", Some("https://a.example/")),
            ("a.example/x", None),
            ("https:///x", None),
        ];
        for (url, expected) in table {
            assert_eq!(origin(url).as_deref(), expected, "{url}");
        }
    }

    #[test]
    fn evaluations_keep_what_reports_read() {
        let mut v = json!({"score": {"total": 40}, "country_code": "BR", "function": "it",
            "company_key": "acme", "learned": {"name": {}}, "unknown": {"x": "y"}});
        assert!(evaluation(&mut v));
        assert_eq!(
            v,
            json!({"score": {"total": 40}, "country_code": "BR", "function": "it"})
        );
        assert!(!evaluation(&mut v));
    }

    #[test]
    fn archived_lines_are_anonymized_and_stay_so() {
        let mut line = json!({"id": "l1", "form": "demo", "answers": {"name": "Ana Souza"},
            "activity": [{"kind": "page"}], "context": {"fill_ms": 3000}, "visitor": "v1",
            "attribution": {"utm": {"source": "google"}, "pages": [{"url": "u", "at_ms": 1}]},
            "facts": {"active_deal": true}, "outcome": {"status": "won"}});
        assert!(export_line(&mut line));
        assert_eq!(
            line,
            json!({"id": "l1", "form": "demo", "answers": {}, "activity": [],
                "context": {"fill_ms": 3000}, "visitor": null,
                "attribution": {"utm": {"source": "google"}}, "facts": null,
                "outcome": {"status": "won"}})
        );
        assert!(!export_line(&mut line), "a second erasure changes nothing");

        let needles = vec!["ana souza".to_owned()];
        let mut record = json!({"lead_id": "l1", "source": "google", "events": [
            {"at_ms": 1, "kind": "outcome", "detail": {"outcome": "won", "note": "Ana Souza"}},
            {"at_ms": 2, "kind": "returned", "detail": {"lead": "Ana Souza"}}]});
        assert!(record_line(&mut record, &needles));
        assert_eq!(record["events"][0]["detail"], json!({"outcome": "won"}));
        assert_eq!(record["events"][1]["detail"], json!({"lead": ERASED}));
        let mut log = json!({"lead_id": "l1", "seq": 3, "kind": "created",
            "detail": {"answers": {"a": 1}}});
        assert!(log_line(&mut log, &needles));
        assert_eq!(log["detail"], json!({}));
        assert!(!log_line(&mut log, &needles));
    }

    #[test]
    fn person_hashes_depend_on_the_key() {
        let a = person_hash(b"k1", "email:ana@example.com");
        assert_eq!(a.len(), 64);
        assert_eq!(a, person_hash(b"k1", "email:ana@example.com"));
        assert_ne!(a, person_hash(b"k2", "email:ana@example.com"));
        assert_ne!(a, person_hash(b"k1", "email:bo@example.com"));
    }
}
