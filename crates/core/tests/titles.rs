//! Job-title classification against its table (`test_data/titles.tsv`), on generated junk (never
//! panics, bounded), and for determinism and case-insensitivity.

// Tests read their tables from files and fail loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use handoff_core::title::{self, classify, Function, Seniority, Title};

#[path = "support/rng.rs"]
mod rng;
#[path = "support/table.rs"]
mod table;

use rng::XorShift;

use table::rows;

#[test]
fn title_table() {
    let rows = rows("titles.tsv");
    assert!(rows.len() >= 200, "titles.tsv has only {} rows", rows.len());
    let functions: Vec<&str> = Function::ALL.iter().map(|f| f.as_str()).collect();
    let seniorities: Vec<&str> = Seniority::ALL.iter().map(|s| s.as_str()).collect();
    let mut failures = Vec::new();
    for (line, cols) in rows {
        let [input, function, seniority] = &cols[..] else {
            failures.push(format!("titles.tsv:{line}: want 3 columns, got {cols:?}"));
            continue;
        };
        if !functions.contains(&function.as_str()) || !seniorities.contains(&seniority.as_str()) {
            failures.push(format!("titles.tsv:{line}: unknown code in {cols:?}"));
            continue;
        }
        let got = classify(input);
        if got.function.as_str() != function || got.seniority.as_str() != seniority {
            failures.push(format!(
                "titles.tsv:{line}: {input:?} -> {}/{}, want {function}/{seniority}",
                got.function.as_str(),
                got.seniority.as_str()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn junk_never_panics() {
    // Pieces that exercise the tokenizer, phrases, compounds, the stop word and folding.
    let pieces = [
        "vp",
        "vice",
        "president",
        "of",
        "to",
        "the",
        "head",
        "leiter",
        "vertriebs",
        "chef",
        "de",
        "projet",
        "partner",
        "co",
        "-",
        ".",
        "&",
        "/",
        " ",
        "  ",
        "\t",
        "\n",
        "\u{0}",
        "\u{feff}",
        "\u{301}",
        "ß",
        "ẞ",
        "İ",
        "ǅ",
        "ﬃ",
        "Σ",
        "é",
        "ü",
        "\u{10ffff}",
        "🙂",
        "intern",
        "national",
        "sales",
        "engineer",
        "phd",
        "s",
        "in",
        "x",
        "123",
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let mut input = String::new();
        let len = rng.next() % 24;
        for _ in 0..len {
            let roll = rng.next();
            if roll.is_multiple_of(4) {
                // Any scalar value, including ones no table knows.
                let c = char::from_u32((roll >> 8) as u32 % 0x11_0000).unwrap_or('?');
                input.push(c);
            } else {
                input.push_str(pieces[(roll >> 8) as usize % pieces.len()]);
            }
        }
        let title = classify(&input);
        if input.len() > title::MAX_INPUT_BYTES {
            assert_eq!(title, Title::UNKNOWN, "{input:?}");
        }
    }
    // Over the limit is refused, at the limit still read.
    let long = format!("{:>width$}", "CEO", width = title::MAX_INPUT_BYTES + 1);
    assert_eq!(classify(&long), Title::UNKNOWN);
    let padded = format!("{:>width$}", "CEO", width = title::MAX_INPUT_BYTES);
    assert_eq!(classify(&padded).seniority, Seniority::CLevel);
}

#[test]
fn classification_is_deterministic_and_ignores_case() {
    for (_, cols) in rows("titles.tsv") {
        let input = &cols[0];
        let first = classify(input);
        assert_eq!(classify(input), first, "{input:?}");
        for variant in [input.to_uppercase(), input.to_lowercase()] {
            assert_eq!(classify(&variant), first, "{input:?} vs {variant:?}");
        }
    }
}

#[test]
fn a_title_serializes_as_its_codes() {
    let json = serde_json::to_string(&classify("Head of People")).unwrap();
    assert_eq!(
        json,
        r#"{"function":"human_resources","seniority":"director"}"#
    );
}
