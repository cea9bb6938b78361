//! Attribution as the Worker stores it: every string bounded and cleaned, the latest pages kept,
//! and cleaning twice changes nothing.

#![allow(clippy::unwrap_used)]

#[path = "support/rng.rs"]
mod rng;

use handoff_core::attribution::{
    Attribution, Consent, PageView, MAX_PAGES, MAX_URL_CHARS, MAX_UTM_CHARS,
};
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
