//! Every set of codes is documented: each `config.*` code (`ConfigCode`) is in docs/CONFIG.md's
//! codes section, each event kind (`EventKind`) in docs/METRICS.md's event kinds, each issue code
//! (`IssueCode`) in README.md's `validation_failed` row, and nothing the docs list there is
//! missing from the enum; the kinds the metrics read are the ones the docs say.

use handoff_core::crm::SkipCode;
use handoff_core::events::EventKind;
use handoff_core::status::{LeadStatus, StatusCode};
use handoff_core::{ConfigCode, IssueCode};

const CONFIG_MD: &str = include_str!("../../../docs/CONFIG.md");
const METRICS_MD: &str = include_str!("../../../docs/METRICS.md");
const STATUS_MD: &str = include_str!("../../../docs/STATUS.md");
const README_MD: &str = include_str!("../../../README.md");

/// The text of the section that starts with the heading `title`, up to the next heading.
fn section(text: &str, title: &str) -> String {
    let start = text
        .find(title)
        .unwrap_or_else(|| panic!("no section {title}"));
    let body = &text[start + title.len()..];
    let end = body.find("\n## ").unwrap_or(body.len());
    body[..end].to_owned()
}

/// Every backquoted word in `text` that starts with `prefix`, such as `config.syntax`.
fn quoted(text: &str, prefix: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| w.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn config_md_lists_every_config_code_and_no_other() {
    let codes = section(CONFIG_MD, "## Codes `handoff check` reports");
    let listed = quoted(&codes, "config.");
    for code in ConfigCode::ALL {
        assert!(
            listed.iter().any(|l| l == code.as_str()),
            "docs/CONFIG.md does not list {code}"
        );
    }
    for word in &listed {
        assert!(
            ConfigCode::ALL.iter().any(|c| c.as_str() == word),
            "docs/CONFIG.md lists {word}, which is no ConfigCode"
        );
    }
}

#[test]
fn readme_lists_every_issue_code_and_no_other() {
    let row = README_MD
        .lines()
        .find(|l| l.starts_with("| 422 | `validation_failed` |"))
        .unwrap_or_else(|| panic!("README.md has no validation_failed row"));
    let listed: Vec<String> = quoted(row, "")
        .into_iter()
        .filter(|w| {
            w.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_')
        })
        .filter(|w| w != "validation_failed" && w != "issues")
        .collect();
    for code in IssueCode::ALL {
        assert!(
            listed.iter().any(|l| l == code.as_str()),
            "README.md does not list the issue code {}",
            code.as_str()
        );
    }
    for word in &listed {
        assert!(
            IssueCode::ALL.iter().any(|c| c.as_str() == word),
            "README.md lists {word}, which is no IssueCode"
        );
    }
}

#[test]
fn config_codes_are_distinct_and_stable() {
    let mut seen = std::collections::HashSet::new();
    for code in ConfigCode::ALL {
        let s = code.as_str();
        assert!(seen.insert(s), "{s} twice");
        assert!(
            s.starts_with("config.") && s[7..].bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        );
    }
    assert_eq!(ConfigCode::DuplicateId.as_str(), "config.duplicate_id");
}

#[test]
fn metrics_md_lists_every_event_kind_and_no_other() {
    let kinds = section(METRICS_MD, "## Event kinds");
    let rows: Vec<String> = kinds
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(k, _)| k.to_owned()))
        .collect();
    for kind in EventKind::ALL {
        assert!(
            rows.iter().any(|r| r == kind.as_str()),
            "docs/METRICS.md does not list the event kind {}",
            kind.as_str()
        );
        assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
    }
    for row in &rows {
        assert!(
            EventKind::parse(row).is_some(),
            "docs/METRICS.md lists {row}, which is no EventKind"
        );
    }
    assert_eq!(rows.len(), EventKind::ALL.len());
}

#[test]
fn status_md_lists_every_status_and_status_code_and_no_other() {
    let codes = quoted(&section(STATUS_MD, "## Codes"), "status.");
    let want: Vec<&str> = StatusCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(codes, want, "docs/STATUS.md's codes");
    let table = section(STATUS_MD, "## Statuses");
    let statuses: Vec<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next().map(str::to_owned))
        .collect();
    let want: Vec<&str> = LeadStatus::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(statuses, want, "docs/STATUS.md's statuses");
}

#[test]
fn metrics_md_names_the_kinds_the_metrics_read() {
    let kinds = section(METRICS_MD, "## Event kinds");
    let Some(start) = kinds.find("The metrics read") else {
        panic!("docs/METRICS.md does not say which kinds the metrics read")
    };
    let end = kinds[start..].find(';').map_or(kinds.len(), |e| start + e);
    let sentence = &kinds[start..end];
    let named: Vec<String> = sentence
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    let read: Vec<&str> = handoff_core::metrics::READS
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(named, read, "docs/METRICS.md's kinds the metrics read");
}

#[test]
fn config_md_lists_every_crm_skip_code_in_its_crm_section() {
    let crm = section(CONFIG_MD, "## CRM intake");
    let listed = quoted(&crm, "crm.");
    for code in SkipCode::ALL {
        assert!(
            listed.iter().any(|l| l == code.as_str()),
            "docs/CONFIG.md's CRM section does not list {code}"
        );
    }
    // Codes are `crm.` and one word; HubSpot's scope `crm.objects.deals.read` is not one.
    let codes = listed
        .iter()
        .filter(|w| w.matches('.').count() == 1 && !w.contains(' '));
    for word in codes {
        assert!(
            SkipCode::ALL.iter().any(|c| c.as_str() == word)
                || ["crm.bad_body", "crm.too_many"].contains(&word.as_str()),
            "docs/CONFIG.md's CRM section lists {word}, which is no SkipCode"
        );
    }
}
