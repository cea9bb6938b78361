//! Company names and registrable domains against their tables (`test_data/company.tsv`,
//! `domain.tsv`), normalizing twice changes nothing, and junk never panics.

// Tests read their tables from files and fail loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::company::{self, normalize_company, registrable_domain, Company};
use handoff_core::IssueCode;

#[path = "support/rng.rs"]
mod rng;
#[path = "support/table.rs"]
mod table;

use rng::XorShift;

use table::rows;

/// A result as the tables write it: display and key, or `!code`.
fn render_company(result: &Result<Company, IssueCode>) -> Vec<String> {
    match result {
        Ok(c) => vec![c.display.clone(), c.match_key.clone()],
        Err(code) => vec![format!("!{}", code.as_str())],
    }
}

fn render_domain(result: Option<String>) -> String {
    result.unwrap_or_else(|| "-".to_owned())
}

#[test]
fn company_table() {
    let rows = rows("company.tsv");
    assert!(
        rows.len() >= 120,
        "company.tsv has only {} rows",
        rows.len()
    );
    let mut failures = Vec::new();
    for (line, cols) in rows {
        let result = normalize_company(&cols[0]);
        let got = render_company(&result);
        if got[..] != cols[1..] {
            failures.push(format!(
                "company.tsv:{line}: {:?} -> {got:?}, want {:?}",
                cols[0],
                &cols[1..]
            ));
        }
        if let Ok(c) = result {
            check_company_idempotent(&c, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The display name normalizes to itself and the same key, and a key is its own key.
fn check_company_idempotent(c: &Company, failures: &mut Vec<String>) {
    match normalize_company(&c.display) {
        Ok(again) if again == *c => {}
        other => failures.push(format!("{c:?}: display again gives {other:?}")),
    }
    match normalize_company(&c.match_key) {
        Ok(again) if again.match_key == c.match_key => {}
        other => failures.push(format!("{c:?}: key again gives {other:?}")),
    }
}

#[test]
fn domain_table() {
    let rows = rows("domain.tsv");
    assert!(rows.len() >= 120, "domain.tsv has only {} rows", rows.len());
    let mut failures = Vec::new();
    for (line, cols) in rows {
        let got = render_domain(registrable_domain(&cols[0]));
        if got != cols[1] {
            failures.push(format!(
                "domain.tsv:{line}: {:?} -> {got:?}, want {:?}",
                cols[0], cols[1]
            ));
        }
        check_domain_idempotent(&cols[0], &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A registrable domain is its own registrable domain.
fn check_domain_idempotent(input: &str, failures: &mut Vec<String>) {
    if let Some(domain) = registrable_domain(input) {
        let again = registrable_domain(&domain);
        if again.as_deref() != Some(domain.as_str()) {
            failures.push(format!("{input:?} -> {domain:?} -> {again:?}"));
        }
        // Every way of typing the same site finds it too.
        // Uppercase is tried on ASCII only: "ß" uppercases to "SS", which is another name.
        let upper = if domain.is_ascii() {
            domain.to_ascii_uppercase()
        } else {
            domain.clone()
        };
        for typed in [
            format!("https://{domain}:443/path?q=1"),
            format!("someone@{upper}"),
            format!("{domain}."),
        ] {
            let got = registrable_domain(&typed);
            if got.as_deref() != Some(domain.as_str()) {
                failures.push(format!("{typed:?} -> {got:?}, want {domain:?}"));
            }
        }
    }
}

#[test]
fn every_public_suffix_is_no_registrable_domain_but_one_label_more_is() {
    let data = include_str!("../data/public_suffixes.txt");
    // Rules that have a longer rule under them ("jp" has "*.kobe.jp"), by their text.
    let parents: std::collections::HashSet<&str> = data
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.match_indices('.').map(move |(i, _)| &l[i + 1..]))
        .collect();
    let mut failures = Vec::new();
    let mut seen = 0;
    for rule in data.lines().filter(|l| !l.starts_with('#')) {
        seen += 1;
        // A wildcard's parent ("ck" of "*.ck") is a suffix too; an exception is registrable.
        let (suffix, registrable) = match (rule.strip_prefix("*."), rule.strip_prefix('!')) {
            (Some(parent), _) => (format!("x.{parent}"), format!("acme.x.{parent}")),
            (_, Some(exception)) => {
                if registrable_domain(exception).as_deref() != Some(exception) {
                    failures.push(format!("exception {rule}"));
                }
                continue;
            }
            _ => (rule.to_owned(), format!("acme.{rule}")),
        };
        if registrable_domain(&suffix).is_some() {
            failures.push(format!("{suffix:?} -> {:?}", registrable_domain(&suffix)));
        }
        let deeper = format!("www.shop.{registrable}");
        for input in [&registrable, &deeper] {
            // A rule may have a longer rule under it ("*.kobe.jp" under "jp"), so only the
            // plain case is checked exactly, the rest for being found at all.
            let got = registrable_domain(input);
            let exact = !parents.contains(rule);
            if got.is_none() || (exact && got.as_deref() != Some(registrable.as_str())) {
                failures.push(format!("{input:?} -> {got:?}, want {registrable:?}"));
            }
        }
    }
    assert!(seen > 6000, "{seen}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn junk_never_panics_and_normalizes_stably() {
    // Pieces that exercise every branch: separators, legal forms, hosts, marks, wide characters.
    let pieces = [
        "a",
        "Z",
        "0",
        "9",
        ".",
        "..",
        "-",
        "@",
        ":",
        "/",
        "//",
        "://",
        "?",
        "#",
        "[",
        "]",
        "&",
        "'",
        " ",
        "\t",
        "\n",
        "\u{0}",
        "\u{300}",
        "\u{308}",
        "İ",
        "ß",
        "ü",
        "Σ",
        "\u{3002}",
        "\u{ff0e}",
        "例",
        "рф",
        "co.uk",
        "com",
        "ck",
        "www",
        "!",
        "*",
        "Inc",
        "GmbH & Co. KG",
        "S.à r.l.",
        "The",
        "Ltd",
        "A/S",
        "xn--",
        "https",
        "mailto:",
        "8080",
        "\u{fe0f}",
        "😀",
        "\u{202e}",
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut failures = Vec::new();
    for _ in 0..20_000 {
        let len = (rng.next() % 12) as usize;
        let input: String = (0..len)
            .map(|_| pieces[(rng.next() % pieces.len() as u64) as usize])
            .collect();
        if let Ok(c) = normalize_company(&input) {
            check_company_idempotent(&c, &mut failures);
        }
        check_domain_idempotent(&input, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{}",
        failures[..failures.len().min(20)].join("\n")
    );
}

#[test]
fn hostile_input_is_bounded() {
    let long = "a".repeat(company::MAX_COMPANY_CHARS + 1);
    assert_eq!(normalize_company(&long), Err(IssueCode::TooLong));
    let at_limit = "a".repeat(company::MAX_COMPANY_CHARS);
    assert_eq!(normalize_company(&at_limit).unwrap().match_key, at_limit);
    let host = format!("{}.com", "a".repeat(company::MAX_INPUT_BYTES));
    assert_eq!(registrable_domain(&host), None);
    let labels = format!("{}acme.com", "a.".repeat(100));
    assert_eq!(registrable_domain(&labels), Some("acme.com".to_owned()));
    let too_many = format!("{}acme.com", "a.".repeat(130));
    assert_eq!(registrable_domain(&too_many), None);
}
