//! Disposable mailbox domains: the shipped list and the configuration's overrides, from
//! `test_data/disposable.tsv`, and the list's own invariants.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

#[path = "support/table.rs"]
mod table;

use handoff_core::disposable::{is_shipped, shipped_len, EmailRules};
use handoff_core::email;
use table::rows;

fn list(cell: &str) -> Vec<String> {
    cell.split(',')
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn disposable_table() {
    let mut failures = Vec::new();
    for (line, cells) in rows("disposable.tsv") {
        let [host, block, allow, want] = &cells[..] else {
            panic!("disposable.tsv:{line}: expected 4 cells, got {cells:?}");
        };
        let rules = EmailRules {
            disposable_block: list(block),
            disposable_allow: list(allow),
            ..EmailRules::default()
        };
        let got = if rules.is_disposable(host) {
            "yes"
        } else {
            "no"
        };
        if got != want {
            failures.push(format!(
                "disposable.tsv:{line}: {host:?} is {got}, want {want}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn shipped_list_is_sorted_unique_and_keeps_providers_out() {
    let data = include_str!("../data/disposable.txt");
    let domains: Vec<&str> = data.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(
        domains.windows(2).all(|w| w[0] < w[1]),
        "sorted, no repeats"
    );
    assert_eq!(domains.len(), shipped_len());
    assert!(shipped_len() > 5_000, "the whole list is embedded");
    assert!(domains.iter().all(|d| is_shipped(d)));
    // A provider people really use is never a throwaway mailbox.
    for provider in [
        "gmail.com",
        "yahoo.com",
        "outlook.com",
        "gmx.de",
        "web.de",
        "yandex.ru",
    ] {
        assert!(email::is_free_mail(provider), "{provider} is a provider");
        assert!(!is_shipped(provider), "{provider} must not be disposable");
    }
}
