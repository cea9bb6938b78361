//! Table-driven tests for handoff-core: each `test_data/*.tsv` row is an input and its expected
//! output, checked by one helper per feature.

// Tests read their tables from files and fail loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::email;
use handoff_core::text;
use handoff_core::{check_submission, AnswerMap, Bundle, IssueCode};

#[path = "support/table.rs"]
mod table;

use table::rows;

fn render(result: Result<String, IssueCode>) -> String {
    match result {
        Ok(value) => value,
        Err(code) => format!("!{}", code.as_str()),
    }
}

#[test]
fn email_table() {
    let mut failures = Vec::new();
    for (line, cols) in rows("email.tsv") {
        let got = render(email::normalize(&cols[0]));
        if got != cols[1] {
            failures.push(format!(
                "email.tsv:{line}: {:?} -> {got:?}, want {:?}",
                cols[0], cols[1]
            ));
        }
        // Normalizing a normalized address changes nothing.
        if let Ok(once) = email::normalize(&cols[0]) {
            assert_eq!(
                email::normalize(&once),
                Ok(once.clone()),
                "email.tsv:{line}: not idempotent"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn email_domain_table() {
    let mut failures = Vec::new();
    for (line, cols) in rows("email_domain.tsv") {
        let browser = render(email::normalize(&cols[0]));
        let worker = render(email::normalize_full(&cols[0]));
        if browser != cols[1] || worker != cols[2] {
            failures.push(format!(
                "email_domain.tsv:{line}: {:?} -> browser {browser:?}, worker {worker:?}; want {:?}, {:?}",
                cols[0], cols[1], cols[2]
            ));
        }
        // The browser never refuses what the Worker takes.
        assert!(
            worker.starts_with('!') || browser == worker,
            "email_domain.tsv:{line}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn text_table() {
    let mut failures = Vec::new();
    for (line, cols) in rows("text.tsv") {
        let max: usize = cols[1].parse().unwrap();
        let want = cols.get(2).cloned().unwrap_or_default();
        let got = render(text::clean_line(&cols[0], max));
        if got != want {
            failures.push(format!(
                "text.tsv:{line}: {:?} -> {got:?}, want {want:?}",
                cols[0]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn demo_bundle() -> Bundle {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo.toml");
    Bundle::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn submissions_against_the_demo_form() {
    let bundle = demo_bundle();
    let form = bundle.form("demo").unwrap();
    // (answers as JSON, expected normalized answers as JSON or the issues as "field:code")
    let cases: &[(&str, Result<&str, &[&str]>)] = &[
        (
            r#"{"email": " Maria@Example.COM ", "company": "  Acme   Inc ", "interest": "Pricing", "consent": true}"#,
            Ok(
                r#"{"company": "Acme Inc", "consent": true, "email": "Maria@example.com", "interest": "Pricing"}"#,
            ),
        ),
        // team_size is shown only to people who want a demo or pricing: dropped here.
        (
            r#"{"email": "maria@example.com", "interest": "Just exploring", "consent": "on", "team_size": "12"}"#,
            Ok(r#"{"consent": true, "email": "maria@example.com", "interest": "Just exploring"}"#),
        ),
        (
            r#"{"email": "maria@example.com", "company": "", "favourite_colour": "teal", "interest": "A demo", "team_size": " 12 ", "consent": "yes"}"#,
            Ok(
                r#"{"consent": true, "email": "maria@example.com", "interest": "A demo", "team_size": "12"}"#,
            ),
        ),
        (
            r#"{}"#,
            Err(&["email:required", "interest:required", "consent:required"]),
        ),
        (
            r#"{"email": "   ", "interest": "Pricing", "consent": false}"#,
            Err(&["email:required", "consent:required"]),
        ),
        (
            r#"{"email": "maria@", "interest": "Pricing", "team_size": "lots", "consent": true}"#,
            Err(&["email:email.syntax", "team_size:number.syntax"]),
        ),
        (
            r#"{"email": "maria@localhost", "company": ["x"], "company_size": "huge", "phone": "call me", "interest": "Money", "consent": "maybe"}"#,
            Err(&[
                "email:email.domain",
                "company:answer.wrong_type",
                "company_size:choice.unknown",
                "phone:phone.syntax",
                "interest:choice.unknown",
                "consent:answer.wrong_type",
            ]),
        ),
        (
            r#"{"email": "a@b.co", "company": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "interest": "Pricing", "consent": true}"#,
            Err(&["company:text.too_long"]),
        ),
    ];
    for (answers, want) in cases {
        let parsed: AnswerMap = serde_json::from_str(answers).unwrap();
        match (check_submission(form, &parsed), want) {
            (Ok(sub), Ok(want)) => {
                let want: AnswerMap = serde_json::from_str(want).unwrap();
                assert_eq!(sub.answers, want, "{answers}");
                assert_eq!(sub.form_id, "demo");
            }
            (Err(issues), Err(want)) => {
                let got: Vec<String> = issues
                    .iter()
                    .map(|i| format!("{}:{}", i.field, i.code.as_str()))
                    .collect();
                assert_eq!(got, *want, "{answers}");
                assert!(issues.iter().all(|i| i.message == i.code.message()));
            }
            (got, want) => panic!("{answers}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn bundle_version_is_a_content_hash() {
    let bundle = demo_bundle();
    assert!(bundle.version.starts_with("sha256:") && bundle.version.len() == 23);
    let json = bundle.to_json();
    assert_eq!(Bundle::from_json(&json).unwrap(), bundle);
    // Any change to the content must change the version, and a stale version is refused.
    let tampered = json.replace("Work email", "Email");
    assert_eq!(
        Bundle::from_json(&tampered).unwrap_err().code,
        "bundle.version_mismatch"
    );
    // A stored bundle is compiled again when read: a broken condition never reaches evaluation.
    let broken = json.replace("team_size >= 5", "team_size >= true");
    assert_ne!(broken, json);
    assert_eq!(
        Bundle::from_json(&broken).unwrap_err().code,
        "condition.type_mismatch"
    );
}

#[test]
fn email_suggestion_table() {
    let mut failures = Vec::new();
    let mut business = 0;
    for (line, cols) in rows("email_suggest.tsv") {
        let got = email::suggest_domain(&cols[0]).unwrap_or_else(|| "-".to_owned());
        if got != cols[1] {
            failures.push(format!(
                "email_suggest.tsv:{line}: {:?} -> {got}, want {}",
                cols[0], cols[1]
            ));
        }
        business += usize::from(cols[1] == "-" && !email::is_free_mail(&cols[0]));
        // A suggestion is a provider, or the typed domain with a top-level domain that exists in
        // place of one that does not; it is a valid address's domain, and never corrected again.
        if let Some(fixed) = email::suggest_domain(&cols[0]) {
            let same_name = cols[0].rsplit_once('.').map(|(name, _)| name)
                == fixed.rsplit_once('.').map(|(name, _)| name);
            assert!(email::is_free_mail(&fixed) || same_name, "{fixed}");
            assert!(
                email::normalize_full(&format!("a@{fixed}")).is_ok(),
                "{fixed}"
            );
            assert_eq!(email::suggest_domain(&fixed), None, "{fixed}");
        }
    }
    assert!(
        business >= 60,
        "only {business} look-alike business domains"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        email::suggest(" Maria@GMAL.com").as_deref(),
        Some("Maria@gmail.com")
    );
    assert_eq!(email::suggest("maria@acme.com"), None);
    assert_eq!(
        email::suggest("Maria@COMCAST.TEN").as_deref(),
        Some("Maria@comcast.net")
    );
    assert_eq!(
        email::suggest("maria@Web.ED").as_deref(),
        Some("maria@web.de")
    );
}

#[test]
fn role_accounts_are_flagged() {
    // (address, is a role account)
    let cases = [
        ("info@acme.com", true),
        ("Sales@acme.com", true),
        ("no-reply@acme.com", true),
        ("maria@acme.com", false),
        ("information.desk@acme.com", false),
        ("not-an-address", false),
    ];
    for (address, role) in cases {
        assert_eq!(email::is_role_account(address), role, "{address}");
    }
}
