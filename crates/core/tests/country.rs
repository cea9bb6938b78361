//! Country and region normalization against its tables (`test_data/country.tsv`, `region.tsv`)
//! and against the data it embeds: every code round-trips and normalizing twice changes nothing.

// Tests read their tables from files and fail loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::country::{self, country_name, normalize_country, normalize_region};
use handoff_core::IssueCode;

#[path = "support/table.rs"]
mod table;

use table::rows;

fn render(result: Result<&str, IssueCode>) -> String {
    match result {
        Ok(code) => code.to_owned(),
        Err(code) => format!("!{}", code.as_str()),
    }
}

#[test]
fn country_table() {
    let rows = rows("country.tsv");
    assert!(
        rows.len() >= 250,
        "country.tsv has only {} rows",
        rows.len()
    );
    let mut failures = Vec::new();
    for (line, cols) in rows {
        let got = render(normalize_country(&cols[0]));
        if got != cols[1] {
            failures.push(format!(
                "country.tsv:{line}: {:?} -> {got:?}, want {:?}",
                cols[0], cols[1]
            ));
        }
        // A code normalizes to itself, and has an English name.
        if let Ok(code) = normalize_country(&cols[0]) {
            if normalize_country(code) != Ok(code) || country_name(code).is_none() {
                failures.push(format!("country.tsv:{line}: {code} is not idempotent"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn region_table() {
    let rows = rows("region.tsv");
    assert!(rows.len() >= 80, "region.tsv has only {} rows", rows.len());
    let mut failures = Vec::new();
    for (line, cols) in rows {
        let got = render(normalize_region(&cols[0], &cols[1]));
        if got != cols[2] {
            failures.push(format!(
                "region.tsv:{line}: {:?} {:?} -> {got:?}, want {:?}",
                cols[0], cols[1], cols[2]
            ));
        }
        // A region code normalizes to itself.
        if let Ok(code) = normalize_region(&cols[0], &cols[1]) {
            if normalize_region(&cols[0], code) != Ok(code) {
                failures.push(format!("region.tsv:{line}: {code} is not idempotent"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_country_in_the_data_round_trips() {
    let data = include_str!("../data/countries.tsv");
    let mut failures = Vec::new();
    let mut seen = 0;
    for line in data.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (alpha2, alpha3, name) = (cols[0], cols[1], cols[2]);
        seen += 1;
        for input in [
            alpha2.to_owned(),
            alpha2.to_lowercase(),
            alpha3.to_owned(),
            alpha3.to_lowercase(),
            name.to_owned(),
            name.to_uppercase(),
        ] {
            if normalize_country(&input) != Ok(alpha2) {
                failures.push(format!(
                    "{input:?} -> {:?}, want {alpha2}",
                    normalize_country(&input)
                ));
            }
        }
        if country_name(alpha2) != Some(name) || country_name(&alpha2.to_lowercase()) != Some(name)
        {
            failures.push(format!(
                "country_name({alpha2}) = {:?}",
                country_name(alpha2)
            ));
        }
        // Every other name in the data finds this country too, unless the data gives it to two.
        for other in cols
            .get(3)
            .unwrap_or(&"")
            .split('|')
            .filter(|n| !n.is_empty())
        {
            let got = normalize_country(other);
            if got != Ok(alpha2) && !matches!(other.to_lowercase().as_str(), "congo" | "kongo") {
                failures.push(format!("{other:?} -> {got:?}, want {alpha2}"));
            }
        }
    }
    assert_eq!(seen, 250);
    assert_eq!(country::countries().count(), seen);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_region_in_the_data_round_trips() {
    let data = include_str!("../data/regions.tsv");
    let mut count = [0usize; 2];
    for line in data.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (country, code) = (cols[0], cols[1]);
        count[usize::from(country == "CA")] += 1;
        for input in std::iter::once(code).chain(cols[2].split('|')) {
            assert_eq!(
                normalize_region(country, input),
                Ok(code),
                "{country} {input}"
            );
        }
    }
    // 50 states, DC and 5 territories; 10 provinces and 3 territories.
    assert_eq!(count, [56, 13]);
}

#[test]
fn names_and_codes_outside_the_data_are_none() {
    for code in ["", "D", "DEU", "ZZ", "Germany", "d\u{e9}"] {
        assert_eq!(country_name(code), None, "{code:?}");
    }
    assert_eq!(country_name(" de "), Some("Germany"));
    assert_eq!(country_name("us"), Some("United States of America"));
}

#[test]
fn hostile_input_is_refused_without_panicking() {
    let long = "a".repeat(country::MAX_INPUT_BYTES + 1);
    let weird = [
        long.as_str(),
        "\u{0}",
        "\u{feff}",
        "\u{10ffff}\u{10ffff}",
        "İstanbul",
        "ǅ",
        "ﬃ",
        "ΣΑΣ",
        "\u{301}\u{301}\u{301}",
    ];
    for input in weird {
        assert_eq!(
            normalize_country(input),
            Err(IssueCode::CountryUnknown),
            "{input:?}"
        );
        assert!(normalize_region("US", input).is_err(), "{input:?}");
        assert!(normalize_region(input, "CA").is_err(), "{input:?}");
    }
    // Just at the limit is still looked up.
    let padded = format!("{:>width$}", "DE", width = country::MAX_INPUT_BYTES);
    assert_eq!(normalize_country(&padded), Ok("DE"));
}
