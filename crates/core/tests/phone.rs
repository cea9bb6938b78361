//! Phone parsing against its table (`test_data/phone.tsv`, libphonenumber-js's verdicts), and the
//! properties every result must have: parsing the E.164 output again gives the same result.

// Tests read their tables from files and fail loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::phone::{self, parse_phone, Phone};
use handoff_core::IssueCode;

#[path = "support/table.rs"]
mod table;

use table::rows;

fn render(result: &Result<Phone, IssueCode>) -> String {
    match result {
        Ok(phone) => phone.to_rfc3966(),
        Err(code) => format!("!{}", code.as_str()),
    }
}

fn default_country(cell: &str) -> Option<&str> {
    (cell != "-").then_some(cell)
}

#[test]
fn phone_table() {
    let rows = rows("phone.tsv");
    assert!(rows.len() >= 150, "phone.tsv has only {} rows", rows.len());
    let mut failures = Vec::new();
    for (line, cols) in rows {
        let got = render(&parse_phone(&cols[0], default_country(&cols[1])));
        if got != cols[2] {
            failures.push(format!(
                "phone.tsv:{line}: {:?} ({}) -> {got:?}, want {:?}",
                cols[0], cols[1], cols[2]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn parsing_the_output_again_changes_nothing() {
    let mut failures = Vec::new();
    for (line, cols) in rows("phone.tsv") {
        let Ok(first) = parse_phone(&cols[0], default_country(&cols[1])) else {
            continue;
        };
        // With no default country and with the number's own country, the E.164 form stands alone.
        for default in [None, Some(first.country)] {
            let again = parse_phone(&first.to_rfc3966(), default);
            if again.as_ref() != Ok(&first) {
                failures.push(format!(
                    "phone.tsv:{line}: {first:?} parses again ({default:?}) as {again:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hostile_input_is_refused_without_panicking() {
    let long = format!("+1 415 555 0100{}", " ".repeat(phone::MAX_INPUT_BYTES));
    let weird = [
        long.as_str(),
        "\u{0}",
        "\u{feff}",
        "+\u{301}\u{301}",
        ";phone-context=",
        "tel:;phone-context=+1",
        "x1",
        "ext=",
        "((((((((((((((((((((((((((((((((",
        "1 x 2 x 3 x 4 x 5 x 6",
        "+٠٠",
    ];
    for input in weird {
        for default in [None, Some("US"), Some("DE"), Some(""), Some("\u{0}")] {
            assert_eq!(
                parse_phone(input, default),
                Err(IssueCode::PhoneSyntax),
                "{input:?}"
            );
        }
    }
    // Just at the limit is still parsed.
    let padded = format!(
        "{:>width$}",
        "+1 415 555 0100",
        width = phone::MAX_INPUT_BYTES
    );
    assert_eq!(
        parse_phone(&padded, None).map(|p| p.e164),
        Ok("+14155550100".to_owned())
    );
}
