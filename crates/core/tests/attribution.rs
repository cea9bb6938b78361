//! Attribution as the Worker stores it: every string bounded and cleaned, the latest pages kept,
//! and cleaning twice changes nothing.

#![allow(clippy::unwrap_used)]

#[path = "support/rng.rs"]
mod rng;

use handoff_core::attribution::{
    check_consent, Attribution, Consent, ConsentError, PageView, MAX_PAGES, MAX_URL_CHARS,
    MAX_UTM_CHARS,
};
use handoff_core::{AnswerMap, AnswerValue, Bundle};
use rng::XorShift;

fn cleaned(json: &str) -> serde_json::Value {
    let a: Attribution = serde_json::from_str(json).unwrap();
    serde_json::to_value(a.clean()).unwrap()
}

#[test]
fn attribution_table() {
    let long_url = format!("https://example.com/{}", "a".repeat(3 * MAX_URL_CHARS));
    let cases: Vec<(String, serde_json::Value)> = vec![
        (
            r#"{"utm": {"source": " news\u0000letter ", "medium": "email", "campaign": ""}, "referrer": "https://search.example/?q=x"}"#.into(),
            serde_json::json!({"utm": {"source": "newsletter", "medium": "email"}, "referrer": "https://search.example/?q=x"}),
        ),
        (
            r#"{"landing_page": "https://northwind.example/pricing?utm_source=ads\n\tnext"}"#.into(),
            serde_json::json!({"landing_page": "https://northwind.example/pricing?utm_source=ads next"}),
        ),
        (
            r#"{"consent": {"field": "consent", "text": "", "version": "2026-11-01", "given": true}}"#.into(),
            serde_json::json!({}),
        ),
        (
            r#"{"consent": {"field": "consent", "text": "I agree to be contacted.", "version": "2026-11-01", "given": true}, "visits": 3, "first_seen_ms": 1795000000000}"#.into(),
            serde_json::json!({"consent": {"field": "consent", "text": "I agree to be contacted.", "version": "2026-11-01", "given": true}, "visits": 3, "first_seen_ms": 1795000000000_i64}),
        ),
        (
            format!(r#"{{"referrer": "{long_url}"}}"#),
            serde_json::json!({"referrer": long_url.chars().take(MAX_URL_CHARS).collect::<String>()}),
        ),
        (r#"{}"#.into(), serde_json::json!({})),
    ];
    for (input, want) in cases {
        assert_eq!(cleaned(&input), want, "{input}");
    }
}

#[test]
fn only_the_latest_pages_are_kept() {
    let pages = (0..MAX_PAGES as i64 + 20)
        .map(|i| PageView {
            url: format!("/p{i}"),
            at_ms: i,
        })
        .collect();
    let a = Attribution {
        pages,
        ..Attribution::default()
    }
    .clean();
    assert_eq!(a.pages.len(), MAX_PAGES);
    assert_eq!(a.pages[0].url, "/p20");
}

#[test]
fn cleaning_is_bounded_and_idempotent_on_junk() {
    let mut rng = XorShift(0x5eed_a77e);
    let alphabet: Vec<char> = "ab \t\n\u{0}\u{7f}\u{200b}é😀/?=&%".chars().collect();
    let mut junk = |max: u64| -> String {
        let len = rng.next() % max;
        (0..len)
            .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
            .collect()
    };
    for _ in 0..500 {
        let a = Attribution {
            referrer: Some(junk(5_000)),
            landing_page: Some(junk(50)),
            pages: (0..3)
                .map(|i| PageView {
                    url: junk(30),
                    at_ms: i,
                })
                .collect(),
            consent: Some(Consent {
                field: junk(10),
                text: junk(3_000),
                version: junk(10),
                given: true,
                at_ms: Some(7),
            }),
            ..Attribution::default()
        };
        let once = a.clean();
        assert_eq!(once.clean(), once);
        assert!(once
            .referrer
            .iter()
            .all(|r| r.chars().count() <= MAX_URL_CHARS));
        assert!(once
            .utm
            .source
            .iter()
            .all(|s| s.chars().count() <= MAX_UTM_CHARS));
        let text = serde_json::to_string(&once).unwrap();
        assert!(!text.contains("\\u0000"), "{text}");
    }
}

/// A consent case: what, the record sent (JSON), whether the consent field is shown, and the
/// stored record (JSON, `null` for none) or the refusal's code.
type Case = (
    &'static str,
    Option<serde_json::Value>,
    bool,
    Result<serde_json::Value, &'static str>,
);

/// The Worker's check of a lead's consent record against the form that showed it: each case a
/// record (as JSON, cleaned as the Worker cleans it, or none), whether the consent field is shown,
/// and the stored record or the refusal's code.
#[test]
fn consent_table() {
    let bundle = Bundle::from_toml(include_str!("../../../config/demo.toml")).unwrap();
    let form = &bundle.form("demo").unwrap().spec;
    let text = "I agree to be contacted by Northwind Cloud about this request.";
    let record = |field: &str, text: &str, version: &str, given: bool, at: Option<i64>| serde_json::json!({"field": field, "text": text, "version": version, "given": given, "at_ms": at});
    let exact = record("consent", text, "2026-11-01", true, None);
    let cases: Vec<Case> = vec![
        (
            "the text and version shown",
            Some(exact.clone()),
            true,
            Ok(record("consent", text, "2026-11-01", true, Some(1_000))),
        ),
        (
            "the browser's time is never kept",
            Some(record("consent", text, "2026-11-01", true, Some(5))),
            true,
            Ok(record("consent", text, "2026-11-01", true, Some(1_000))),
        ),
        (
            "`given` comes from the checked answer",
            Some(record("consent", text, "2026-11-01", false, None)),
            true,
            Ok(record("consent", text, "2026-11-01", true, Some(1_000))),
        ),
        (
            "the same text with a zero-width space (cleaned away)",
            Some(record(
                "consent",
                &format!("I agree\u{200b} to{}", &text[10..]),
                "2026-11-01",
                true,
                None,
            )),
            true,
            Ok(record("consent", text, "2026-11-01", true, Some(1_000))),
        ),
        ("no record", None, true, Err("consent_missing")),
        (
            "a text the form never showed",
            Some(record(
                "consent",
                "I agree that Northwind may contact me.",
                "2026-11-01",
                true,
                None,
            )),
            true,
            Err("consent_mismatch"),
        ),
        (
            "another version",
            Some(record("consent", text, "2025-01-01", true, None)),
            true,
            Err("consent_mismatch"),
        ),
        (
            "a field that is no consent field",
            Some(record("email", text, "2026-11-01", true, None)),
            true,
            Err("consent_mismatch"),
        ),
        (
            "no consent field shown: a record proves nothing and is dropped",
            Some(exact.clone()),
            false,
            Ok(serde_json::Value::Null),
        ),
        (
            "no consent field shown, no record",
            None,
            false,
            Ok(serde_json::Value::Null),
        ),
    ];
    let mut answers = AnswerMap::new();
    answers.insert("consent".to_owned(), AnswerValue::Flag(true));
    for (case, sent, shown, want) in cases {
        let visible: Vec<String> = ["email", "interest"]
            .iter()
            .chain(shown.then_some(&"consent"))
            .map(|s| (*s).to_owned())
            .collect();
        let sent = sent.map(|json| {
            let a: Attribution =
                serde_json::from_value(serde_json::json!({"consent": json})).unwrap();
            a.clean().consent.unwrap()
        });
        let got = check_consent(form, &visible, &answers, sent.as_ref(), 1_000);
        match (got, want) {
            (Ok(kept), Ok(want)) => {
                let want: Option<Consent> = serde_json::from_value(want).unwrap();
                assert_eq!(kept, want, "{case}");
            }
            (Err(e), Err(code)) => {
                assert_eq!(e.code(), code, "{case}");
                let field = match &e {
                    ConsentError::Missing { field } | ConsentError::Mismatch { field } => field,
                };
                assert_eq!(
                    (field.as_str(), e.issue().field.as_str()),
                    ("consent", "consent"),
                    "{case}"
                );
            }
            (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
        }
    }
}
